//! The arguments C passes, checked: handles, strings and buffers (NULL is `ZIPC_ERR_NULL`, a
//! buffer's size must be the element size), output slots, timeouts.

use std::ffi::{c_char, c_void, CStr};
use std::ptr;
use std::time::Duration;

use super::handles::SegmentHandle;
use super::status::{Failure, Outcome, Status};
use crate::dynamic::ElementSpec;
use crate::error::Error;
use crate::Segment;

/// A timeout in nanoseconds as the Rust API takes it: negative is forever.
pub(crate) fn timeout(ns: i64) -> Option<Duration> {
    u64::try_from(ns).ok().map(Duration::from_nanos)
}

/// The object behind a handle argument.
///
/// # Safety
///
/// `p` is NULL or a pointer this library returned and that was not closed yet.
pub(crate) unsafe fn obj<'a, T>(p: *const T, arg: &'static str) -> Outcome<&'a T> {
    // SAFETY: non-null pointers are live handles (caller's contract).
    unsafe { p.as_ref() }.ok_or(Failure::Null(arg))
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string that stays valid for the call.
pub(crate) unsafe fn text<'a>(p: *const c_char, arg: &'static str) -> Outcome<&'a str> {
    if p.is_null() {
        return Err(Failure::Null(arg));
    }
    // SAFETY: a valid NUL-terminated string (caller's contract).
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| {
        Failure::Zipc(Error::InvalidArgument {
            what: format!("argument `{arg}`"),
            detail: format!("{:?} is not UTF-8", c.to_string_lossy()),
        })
    })
}

/// An optional NUL-terminated UTF-8 string argument (NULL is `None`).
///
/// # Safety
///
/// As for [`text`].
pub(crate) unsafe fn opt_text<'a>(p: *const c_char, arg: &'static str) -> Outcome<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: as for `text`.
        unsafe { text(p, arg) }.map(Some)
    }
}

/// `count` elements of `size` bytes each, as a byte length (overflow is an invalid argument).
pub(crate) fn byte_len(count: usize, size: usize) -> Outcome<usize> {
    count.checked_mul(size).ok_or_else(|| {
        Failure::Zipc(Error::InvalidArgument {
            what: "element count".to_owned(),
            detail: format!("{count} elements of {size} bytes overflow the address space"),
        })
    })
}

/// An input buffer of `len` bytes.
///
/// # Safety
///
/// `p` is NULL or valid for reads of `len` bytes for the call, and not written meanwhile.
pub(crate) unsafe fn input<'a>(p: *const c_void, len: usize, arg: &'static str) -> Outcome<&'a [u8]> {
    if p.is_null() {
        return Err(Failure::Null(arg));
    }
    // SAFETY: valid for `len` bytes (caller's contract); u8 has no alignment or validity
    // requirements.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// An output buffer of `len` bytes.
///
/// # Safety
///
/// `p` is NULL or valid for writes of `len` bytes for the call, and accessed by nothing else
/// meanwhile (in particular it is not another argument of the call).
pub(crate) unsafe fn output<'a>(p: *mut c_void, len: usize, arg: &'static str) -> Outcome<&'a mut [u8]> {
    if p.is_null() {
        return Err(Failure::Null(arg));
    }
    // SAFETY: valid and exclusive for `len` bytes (caller's contract); any bytes are valid u8.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) })
}

/// A required output value.
///
/// # Safety
///
/// `p` is NULL or valid for a write of a `T`, aligned, for the call.
pub(crate) unsafe fn out<'a, T>(p: *mut T, arg: &'static str) -> Outcome<&'a mut T> {
    // SAFETY: valid, aligned and exclusive (caller's contract).
    unsafe { p.as_mut() }.ok_or(Failure::Null(arg))
}

/// An optional output value (NULL: not wanted).
///
/// # Safety
///
/// As for [`out`], or NULL.
pub(crate) unsafe fn opt_out<'a, T>(p: *mut T) -> Option<&'a mut T> {
    // SAFETY: as for `out`.
    unsafe { p.as_mut() }
}

/// Hands a new handle to C.
pub(crate) fn hand_out<T>(slot: &mut *mut T, value: T) -> Outcome {
    *slot = Box::into_raw(Box::new(value));
    Ok(Status::Ok)
}

/// Takes back a handle from C and drops it (NULL is a no-op).
///
/// # Safety
///
/// `p` is NULL or a handle of this type that this library returned and that was not closed yet;
/// the caller does not use it again.
pub(crate) unsafe fn free<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: a live handle created by `hand_out` (caller's contract).
        drop(unsafe { Box::from_raw(p) });
    }
}

/// The element a caller passes: `elem_size` bytes, canonical layout `layout` (NULL: unchecked).
///
/// # Safety
///
/// `layout` is NULL or a NUL-terminated string valid for the call.
pub(super) unsafe fn spec<'a>(elem_size: usize, layout: *const c_char) -> Outcome<ElementSpec<'a>> {
    // SAFETY: forwarded contract.
    let layout = unsafe { opt_text(layout, "layout") }?;
    Ok(ElementSpec { size: elem_size, layout })
}

/// The segment and structure name of an `*_open` call, and its output slot.
///
/// # Safety
///
/// As for the module: `seg` a live segment handle or NULL, `name` a string or NULL, `out` NULL or
/// valid for a pointer write.
pub(super) unsafe fn open_args<'a, T>(
    seg: *const SegmentHandle,
    name: *const c_char,
    out: *mut *mut T,
) -> Outcome<(&'a Segment, &'a str, &'a mut *mut T)> {
    // SAFETY: forwarded contract.
    let (seg, name, out) = unsafe { (obj(seg, "seg")?, text(name, "name")?, self::out(out, "out")?) };
    *out = ptr::null_mut();
    Ok((&seg.segment, name, out))
}

/// A size argument of a bulk call must be the element size.
pub(super) fn check_size(size: usize, elem: usize) -> Outcome<()> {
    if size == elem {
        Ok(())
    } else {
        Err(Error::invalid(
            "element size",
            format!("{size} bytes were passed as the element size, but the structure holds {elem}-byte elements"),
        )
        .into())
    }
}
