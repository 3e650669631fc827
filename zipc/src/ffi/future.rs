//! Futures (`zipc_future`): a value set once and awaited by any number — set, try_get and wait,
//! or begin, complete or abandon to compute it on first demand.

use std::ffi::{c_char, c_int, c_void};

use super::args::{free, hand_out, input, obj, open_args, opt_out, out, output, spec, timeout};
use super::handles::*;
use super::shell::abi;
use super::status::Status;
use crate::dynamic::DynFuture;

abi! {
    /// Opens future `name` (its value as for `zipc_queue_open`'s elements).
    unsafe fn zipc_future_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut FutureHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, FutureHandle(DynFuture::open(seg, name, spec)?))
    }

    /// Closes the handle (NULL is fine). A setting it began stays the process's: end it first.
    unsafe fn zipc_future_close(f: *mut FutureHandle) {
        free(f)
    }

    /// Sets the value to `elem` (`size` must be the value size) unless it is set: `*was_set`
    /// (unless NULL) 1 if this call set it, 0 if it was set already (the value stays the first
    /// one). Waits at most `timeout_ns` while another process is setting it (`ZIPC_ERR_TIMEOUT`,
    /// nothing set, `*was_set` 0); if that process dies, this call sets its own value.
    unsafe fn zipc_future_set(
        f: *const FutureHandle,
        elem: *const c_void,
        size: usize,
        timeout_ns: i64,
        was_set: *mut c_int,
    ) -> Status {
        let (f, src, was_set) = (obj(f, "f")?, input(elem, size, "elem")?, opt_out(was_set));
        let set = f.0.set(src, timeout(timeout_ns));
        if let Some(w) = was_set {
            *w = c_int::from(matches!(set, Ok(true)));
        }
        set?;
        Ok(Status::Ok)
    }

    /// Copies the value into `out` (`size` must be the value size): `ZIPC_OK`, or `ZIPC_AGAIN`
    /// if it is not set yet (`out` unchanged). Never waits.
    unsafe fn zipc_future_try_get(f: *const FutureHandle, out: *mut c_void, size: usize) -> Status {
        let (f, dst) = (obj(f, "f")?, output(out, size, "out")?);
        Ok(if f.0.try_get(dst)? { Status::Ok } else { Status::Again })
    }

    /// Waits at most `timeout_ns` for the value (`ZIPC_ERR_TIMEOUT`) and copies it into `out`
    /// (`size` must be the value size). Never sets it, and never takes over a dead setter's.
    unsafe fn zipc_future_wait(f: *const FutureHandle, out: *mut c_void, size: usize, timeout_ns: i64) -> Status {
        let (f, dst) = (obj(f, "f")?, output(out, size, "out")?);
        f.0.wait(dst, timeout(timeout_ns))?;
        Ok(Status::Ok)
    }

    /// Begins setting the value, for a value computed on first demand: `*must_set` 1 if the
    /// calling process now holds the setting (it computes the value, then calls
    /// `zipc_future_complete` with it, or `zipc_future_abandon` if it failed), 0 if the value is
    /// set (read it with `zipc_future_try_get`). Waits at most `timeout_ns` while another process
    /// holds it (`ZIPC_ERR_TIMEOUT`, `*must_set` 0); if that process dies, this caller takes it
    /// over and must set it.
    unsafe fn zipc_future_begin(f: *const FutureHandle, timeout_ns: i64, must_set: *mut c_int) -> Status {
        let (f, must_set) = (obj(f, "f")?, out(must_set, "must_set")?);
        *must_set = 0;
        *must_set = c_int::from(f.0.begin(timeout(timeout_ns))?);
        Ok(Status::Ok)
    }

    /// Stores `elem` (`size` must be the value size) as the value of the setting the calling
    /// process began, and wakes every waiter; an error (`ZIPC_ERR_INVALID_ARGUMENT`) if it holds
    /// none.
    unsafe fn zipc_future_complete(f: *const FutureHandle, elem: *const c_void, size: usize) -> Status {
        let (f, src) = (obj(f, "f")?, input(elem, size, "elem")?);
        f.0.complete(src)?;
        Ok(Status::Ok)
    }

    /// Gives up the setting the calling process began: the next setter sets it; an error
    /// (`ZIPC_ERR_INVALID_ARGUMENT`) if it holds none.
    unsafe fn zipc_future_abandon(f: *const FutureHandle) -> Status {
        let f = obj(f, "f")?;
        f.0.abandon()?;
        Ok(Status::Ok)
    }

    /// 1 if the value is set (0 for NULL).
    unsafe fn zipc_future_is_ready(f: *const FutureHandle) -> c_int {
        f.as_ref().map(|f| c_int::from(f.0.is_ready()))
    }

    /// Settings taken over from a setter that died writing the value, ever (0 for NULL).
    unsafe fn zipc_future_takeovers(f: *const FutureHandle) -> u32 {
        f.as_ref().map(|f| f.0.takeovers())
    }

    /// Bytes of the value (0 for NULL).
    unsafe fn zipc_future_elem_size(f: *const FutureHandle) -> usize {
        f.as_ref().map(|f| f.0.elem_size())
    }
}
