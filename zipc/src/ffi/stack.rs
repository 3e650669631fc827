//! Stacks (`zipc_stack`): values pushed and popped last in, first out.

use std::ffi::{c_char, c_void};

use super::args::{free, hand_out, input, obj, open_args, output, spec, timeout};
use super::handles::*;
use super::shell::abi;
use super::status::Status;
use crate::dynamic::DynStack;

abi! {
    /// Opens stack `name` (values as for `zipc_queue_open`'s elements).
    unsafe fn zipc_stack_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut StackHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, StackHandle(DynStack::open(seg, name, spec)?))
    }

    /// Closes a stack handle (NULL is fine).
    unsafe fn zipc_stack_close(s: *mut StackHandle) {
        free(s)
    }

    /// Number of values it holds when full (0 for NULL).
    unsafe fn zipc_stack_capacity(s: *const StackHandle) -> u64 {
        s.as_ref().map(|s| s.0.capacity())
    }

    /// Values on the stack, approximately (0 for NULL).
    unsafe fn zipc_stack_len(s: *const StackHandle) -> u64 {
        s.as_ref().map(|s| s.0.len())
    }

    /// Pushes `elem` (`size` must be the value size): `ZIPC_OK`, or `ZIPC_AGAIN` when full.
    unsafe fn zipc_stack_try_push(s: *const StackHandle, elem: *const c_void, size: usize) -> Status {
        let (s, src) = (obj(s, "s")?, input(elem, size, "elem")?);
        Ok(if s.0.try_push(src)? { Status::Ok } else { Status::Again })
    }

    /// Pushes `elem`, waiting at most `timeout_ns` for room.
    unsafe fn zipc_stack_push(s: *const StackHandle, elem: *const c_void, size: usize, timeout_ns: i64) -> Status {
        let (s, src) = (obj(s, "s")?, input(elem, size, "elem")?);
        s.0.push(src, timeout(timeout_ns))?;
        Ok(Status::Ok)
    }

    /// Pops the top value into `out`: `ZIPC_OK`, or `ZIPC_AGAIN` when empty.
    unsafe fn zipc_stack_try_pop(s: *const StackHandle, out: *mut c_void, size: usize) -> Status {
        let (s, dst) = (obj(s, "s")?, output(out, size, "out")?);
        Ok(if s.0.try_pop(dst)? { Status::Ok } else { Status::Again })
    }

    /// Pops the top value into `out`, waiting at most `timeout_ns` for one.
    unsafe fn zipc_stack_pop(s: *const StackHandle, out: *mut c_void, size: usize, timeout_ns: i64) -> Status {
        let (s, dst) = (obj(s, "s")?, output(out, size, "out")?);
        s.0.pop(dst, timeout(timeout_ns))?;
        Ok(Status::Ok)
    }

    /// Gives back the nodes dead pushers were filling; returns how many (0 for NULL).
    unsafe fn zipc_stack_reclaim_dead(s: *const StackHandle) -> u64 {
        s.as_ref().map(|s| s.0.reclaim_dead())
    }

}
