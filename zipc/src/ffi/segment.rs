//! Segments (`zipc_segment`): open, close, unlink, recover, and the table (`zipc_find`, `zipc_check`).

#![allow(clippy::missing_safety_doc)] // the contract in `args` covers every function

use std::ffi::{c_char, CString};
use std::ptr;

use super::args::{self, free, hand_out, obj, spec, text};
use super::handles::*;
use super::shell::{call, value};
use super::status::{Failure, Status};
use crate::dynamic::{self, Declaration};
use crate::error::Error;
use crate::layout::Kind;
use crate::Segment;

/// Opens segment `name`, validating it, and joins its process registry.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_open(name: *const c_char, out: *mut *mut SegmentHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (name, out) = unsafe { (text(name, "name")?, args::out(out, "out")?) };
        *out = ptr::null_mut();
        let segment = Segment::open(name)?;
        let name = CString::new(name).map_err(|_| Failure::Null("name"))?;
        hand_out(out, SegmentHandle { segment, name })
    })
}

/// Closes a segment handle (NULL is fine). Structure handles opened from it stay valid.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_close(seg: *mut SegmentHandle) {
    value((), || {
        // SAFETY: module contract; the handle is not used again.
        unsafe { free(seg) };
        Some(())
    })
}

/// Removes segment `name` from the system (processes that have it open keep using it).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_unlink(name: *const c_char) -> Status {
    call(|| {
        // SAFETY: module contract.
        let name = unsafe { text(name, "name") }?;
        Segment::unlink(name)?;
        Ok(Status::Ok)
    })
}

/// The segment's name (valid while the handle is open; NULL for a NULL handle).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_name(seg: *const SegmentHandle) -> *const c_char {
    value(ptr::null(), || {
        // SAFETY: module contract.
        unsafe { seg.as_ref() }.map(|s| s.name.as_ptr())
    })
}

/// The segment's size in bytes (0 for a NULL handle).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_size(seg: *const SegmentHandle) -> u64 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { seg.as_ref() }.map(|s| s.segment.size())
    })
}

/// Settles every queue operation that dead processes left half-done and frees their lanes
/// (`Segment::recover_dead`): `*operations` dead operations were found, `*lost` messages lost
/// in them (either pointer may be NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_segment_recover_dead(
    seg: *const SegmentHandle,
    operations: *mut u64,
    lost: *mut u64,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let seg = unsafe { obj(seg, "seg") }?;
        let report = seg.segment.recover_dead()?;
        // SAFETY: module contract: NULL or valid for a write.
        if let Some(o) = unsafe { operations.as_mut() } {
            *o = report.operations.len() as u64;
        }
        // SAFETY: as above.
        if let Some(l) = unsafe { lost.as_mut() } {
            *l = report.lost();
        }
        Ok(Status::Ok)
    })
}

/// Finds structure `name` and fills `*out` with its entry and descriptor.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_find(seg: *const SegmentHandle, name: *const c_char, out: *mut Entry) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (seg, name, out) = unsafe { (obj(seg, "seg")?, text(name, "name")?, args::out(out, "out")?) };
        let Some(e) = seg.segment.entry(name)? else {
            return Err(Error::NotFound { object: crate::Object::Structure, name: name.to_owned() }.into());
        };
        let d = e.descriptor.unwrap_or(crate::segment::description::Descriptor {
            kind: Kind::Array,
            flags: 0,
            capacity: 0,
            fingerprint: 0,
            elem_size: 0,
            elem_align: 0,
            type_name: None,
            canonical: None,
            initial: 0,
            maximum: 0,
        });
        *out = Entry {
            index: e.index,
            kind: if seg.segment.is_typed() { d.kind.code() } else { 0 },
            offset: e.offset,
            size: e.size,
            flags: d.flags,
            elem_size: d.elem_size,
            capacity: d.capacity,
            fingerprint: d.fingerprint,
            elem_align: d.elem_align,
            reserved: 0,
            initial: d.initial,
            maximum: d.maximum,
        };
        Ok(Status::Ok)
    })
}

/// Checks structure `decl->name` against a declaration: kind, element size and layout,
/// capacity, flags and maximum (the first difference is the error).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_check(seg: *const SegmentHandle, decl: *const Decl) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (seg, d) = unsafe { (obj(seg, "seg")?, obj(decl, "decl")?) };
        // SAFETY: the declaration's strings follow the module contract.
        let name = unsafe { text(d.name, "decl->name") }?;
        let kind = Kind::from_code(d.kind).ok_or_else(|| {
            Failure::Zipc(Error::invalid("decl->kind", format!("{} is not a kind code (ZIPC_KIND_*)", d.kind)))
        })?;
        // SAFETY: as above.
        let elem = if kind.has_element() { Some(unsafe { spec(d.elem_size, d.layout) }?) } else { None };
        let decl = Declaration { name, kind, elem, capacity: d.capacity, flags: d.flags, maximum: d.maximum };
        dynamic::check(&seg.segment, &decl)?;
        Ok(Status::Ok)
    })
}
