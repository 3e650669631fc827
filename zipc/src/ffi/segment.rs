//! Segments (`zipc_segment`): open, close, unlink, recover, and the table (`zipc_find`, `zipc_check`).

use std::ffi::{c_char, CString};
use std::ptr;

use super::args::{self, free, hand_out, obj, opt_out, spec, text};
use super::handles::*;
use super::shell::abi;
use super::status::{Failure, Status};
use crate::dynamic::{self, Declaration};
use crate::error::Error;
use crate::layout::Kind;
use crate::Segment;

abi! {
    /// Opens segment `name`, validating it, and joins its process registry.
    unsafe fn zipc_segment_open(name: *const c_char, out: *mut *mut SegmentHandle) -> Status {
        let (name, out) = (text(name, "name")?, args::out(out, "out")?);
        *out = ptr::null_mut();
        let segment = Segment::open(name)?;
        let name = CString::new(name).map_err(|_| Failure::Null("name"))?;
        hand_out(out, SegmentHandle { segment, name })
    }

    /// Closes a segment handle (NULL is fine). Structure handles opened from it stay valid.
    unsafe fn zipc_segment_close(seg: *mut SegmentHandle) {
        free(seg)
    }

    /// Removes segment `name` from the system (processes that have it open keep using it).
    unsafe fn zipc_segment_unlink(name: *const c_char) -> Status {
        let name = text(name, "name")?;
        Segment::unlink(name)?;
        Ok(Status::Ok)
    }

    /// The segment's name (valid while the handle is open; NULL for a NULL handle).
    unsafe fn zipc_segment_name(seg: *const SegmentHandle) -> *const c_char {
        seg.as_ref().map(|s| s.name.as_ptr())
    }

    /// The segment's size in bytes (0 for a NULL handle).
    unsafe fn zipc_segment_size(seg: *const SegmentHandle) -> u64 {
        seg.as_ref().map(|s| s.segment.size())
    }

    /// Settles every queue operation that dead processes left half-done and frees their lanes
    /// (`Segment::recover_dead`): `*operations` dead operations were found, `*lost` messages lost
    /// in them (either pointer may be NULL).
    unsafe fn zipc_segment_recover_dead(seg: *const SegmentHandle, operations: *mut u64, lost: *mut u64) -> Status {
        let seg = obj(seg, "seg")?;
        let report = seg.segment.recover_dead()?;
        if let Some(o) = opt_out(operations) {
            *o = report.operations.len() as u64;
        }
        if let Some(l) = opt_out(lost) {
            *l = report.lost();
        }
        Ok(Status::Ok)
    }

    /// Finds structure `name` and fills `*out` with its entry and descriptor.
    unsafe fn zipc_find(seg: *const SegmentHandle, name: *const c_char, out: *mut Entry) -> Status {
        let (seg, name, out) = (obj(seg, "seg")?, text(name, "name")?, args::out(out, "out")?);
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
    }

    /// Checks structure `decl->name` against a declaration: kind, element size and layout,
    /// capacity, flags and maximum (the first difference is the error).
    unsafe fn zipc_check(seg: *const SegmentHandle, decl: *const Decl) -> Status {
        let (seg, d) = (obj(seg, "seg")?, obj(decl, "decl")?);
        let name = text(d.name, "decl->name")?;
        let kind = Kind::from_code(d.kind).ok_or_else(|| {
            Failure::Zipc(Error::invalid("decl->kind", format!("{} is not a kind code (ZIPC_KIND_*)", d.kind)))
        })?;
        let elem = if kind.has_element() { Some(spec(d.elem_size, d.layout)?) } else { None };
        let decl = Declaration { name, kind, elem, capacity: d.capacity, flags: d.flags, maximum: d.maximum };
        dynamic::check(&seg.segment, &decl)?;
        Ok(Status::Ok)
    }
}
