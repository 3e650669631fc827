//! Semaphores (`zipc_semaphore`).

#![allow(clippy::missing_safety_doc)] // the contract in `args` covers every function

use std::ffi::c_char;

use super::args::{free, hand_out, obj, open_args, timeout};
use super::handles::*;
use super::shell::{call, opener, value};
use super::status::Status;
use crate::Semaphore;

opener!(
    /// Opens semaphore `name`.
    zipc_semaphore_open, zipc_semaphore_close, SemaphoreHandle, Semaphore
);

/// Takes a permit, waiting at most `timeout_ns` for one. The permit is returned with
/// `zipc_semaphore_release`, by any thread or process.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_semaphore_acquire(s: *const SemaphoreHandle, timeout_ns: i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let s = unsafe { obj(s, "s") }?;
        let guard = match timeout(timeout_ns) {
            None => s.0.acquire()?,
            Some(t) => s.0.acquire_timeout(t)?,
        };
        guard.forget();
        Ok(Status::Ok)
    })
}

/// Takes a permit if one is free: `ZIPC_OK` or `ZIPC_AGAIN`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_semaphore_try_acquire(s: *const SemaphoreHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let s = unsafe { obj(s, "s") }?;
        match s.0.try_acquire() {
            Some(guard) => {
                guard.forget();
                Ok(Status::Ok)
            }
            None => Ok(Status::Again),
        }
    })
}

/// Returns a permit (`ZIPC_ERR_ABOVE_MAXIMUM` if that would exceed the maximum).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_semaphore_release(s: *const SemaphoreHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let s = unsafe { obj(s, "s") }?;
        s.0.release()?;
        Ok(Status::Ok)
    })
}

/// The free permits now (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_semaphore_count(s: *const SemaphoreHandle) -> u32 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { s.as_ref() }.map(|s| s.0.count())
    })
}
