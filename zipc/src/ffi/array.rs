//! Arrays (`zipc_array`): unsynchronised shared elements.

use std::ffi::{c_char, c_void};

use super::args::{byte_len, check_size, free, hand_out, input, obj, open_args, output, spec};
use super::handles::*;
use super::shell::abi;
use super::status::Status;
use crate::dynamic::DynArray;

abi! {
    /// Opens array `name` (elements as for `zipc_queue_open`).
    unsafe fn zipc_array_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut ArrayHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, ArrayHandle(DynArray::open(seg, name, spec)?))
    }

    /// Closes an array handle (NULL is fine).
    unsafe fn zipc_array_close(a: *mut ArrayHandle) {
        free(a)
    }

    /// Number of elements (0 for NULL).
    unsafe fn zipc_array_len(a: *const ArrayHandle) -> u64 {
        a.as_ref().map(|a| a.0.len())
    }

    /// The first element's address, valid while the array's segment is mapped by this process
    /// (NULL for NULL). The memory is shared and unsynchronised.
    unsafe fn zipc_array_data(a: *const ArrayHandle) -> *mut c_void {
        a.as_ref().map(|a| a.0.as_ptr().cast())
    }

    /// Copies element `index` into `out`.
    unsafe fn zipc_array_get(a: *const ArrayHandle, index: u64, out: *mut c_void, size: usize) -> Status {
        let (a, dst) = (obj(a, "a")?, output(out, size, "out")?);
        a.0.get(index, dst)?;
        Ok(Status::Ok)
    }

    /// Overwrites element `index` with `elem`.
    unsafe fn zipc_array_set(a: *const ArrayHandle, index: u64, elem: *const c_void, size: usize) -> Status {
        let (a, src) = (obj(a, "a")?, input(elem, size, "elem")?);
        a.0.set(index, src)?;
        Ok(Status::Ok)
    }

    /// Copies `count` elements from `start` into `out`.
    unsafe fn zipc_array_read(
        a: *const ArrayHandle,
        start: u64,
        out: *mut c_void,
        count: usize,
        size: usize,
    ) -> Status {
        let a = obj(a, "a")?;
        check_size(size, a.0.elem_size())?;
        let dst = output(out, byte_len(count, size)?, "out")?;
        a.0.read_at(start, dst)?;
        Ok(Status::Ok)
    }

    /// Copies `count` elements from `elems` into the array from `start`.
    unsafe fn zipc_array_write(
        a: *const ArrayHandle,
        start: u64,
        elems: *const c_void,
        count: usize,
        size: usize,
    ) -> Status {
        let a = obj(a, "a")?;
        check_size(size, a.0.elem_size())?;
        let src = input(elems, byte_len(count, size)?, "elems")?;
        a.0.write_at(start, src)?;
        Ok(Status::Ok)
    }
}
