//! Semaphores (`zipc_semaphore`).

use std::ffi::c_char;

use super::args::{free, hand_out, obj, open_args, timeout};
use super::handles::*;
use super::shell::abi;
use super::status::Status;
use crate::Semaphore;

abi! {
    /// Opens semaphore `name`.
    unsafe fn zipc_semaphore_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        out: *mut *mut SemaphoreHandle,
    ) -> Status {
        let (seg, name, out) = open_args(seg, name, out)?;
        hand_out(out, SemaphoreHandle(Semaphore::open(seg, name)?))
    }

    /// Closes the handle (NULL is fine).
    unsafe fn zipc_semaphore_close(h: *mut SemaphoreHandle) {
        free(h)
    }

    /// Takes a permit, waiting at most `timeout_ns` for one. The permit is returned with
    /// `zipc_semaphore_release`, by any thread or process.
    unsafe fn zipc_semaphore_acquire(s: *const SemaphoreHandle, timeout_ns: i64) -> Status {
        let s = obj(s, "s")?;
        let guard = match timeout(timeout_ns) {
            None => s.0.acquire()?,
            Some(t) => s.0.acquire_timeout(t)?,
        };
        guard.forget();
        Ok(Status::Ok)
    }

    /// Takes a permit if one is free: `ZIPC_OK` or `ZIPC_AGAIN`.
    unsafe fn zipc_semaphore_try_acquire(s: *const SemaphoreHandle) -> Status {
        let s = obj(s, "s")?;
        match s.0.try_acquire() {
            Some(guard) => {
                guard.forget();
                Ok(Status::Ok)
            }
            None => Ok(Status::Again),
        }
    }

    /// Returns a permit (`ZIPC_ERR_ABOVE_MAXIMUM` if that would exceed the maximum).
    unsafe fn zipc_semaphore_release(s: *const SemaphoreHandle) -> Status {
        let s = obj(s, "s")?;
        s.0.release()?;
        Ok(Status::Ok)
    }

    /// The free permits now (0 for NULL).
    unsafe fn zipc_semaphore_count(s: *const SemaphoreHandle) -> u32 {
        s.as_ref().map(|s| s.0.count())
    }
}
