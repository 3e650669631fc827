//! Latches (`zipc_latch`).

#![allow(clippy::missing_safety_doc)] // the contract in `args` covers every function

use std::ffi::c_char;

use super::args::{free, hand_out, obj, open_args, opt_out, timeout};
use super::handles::*;
use super::shell::{again, call, opener, value};
use super::status::Status;
use crate::Latch;

opener!(
    /// Opens latch `name`.
    zipc_latch_open, zipc_latch_close, LatchHandle, Latch
);

/// Counts down by `n` (saturating at 0); the count after goes to `*remaining` unless NULL.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_latch_count_down(l: *const LatchHandle, n: u32, remaining: *mut u32) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (l, rem) = unsafe { (obj(l, "l")?, opt_out(remaining)) };
        let r = l.0.count_down(n);
        if let Some(rem) = rem {
            *rem = r;
        }
        Ok(Status::Ok)
    })
}

/// Waits until the count is 0, at most `timeout_ns`.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_latch_wait(l: *const LatchHandle, timeout_ns: i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let l = unsafe { obj(l, "l") }?;
        match timeout(timeout_ns) {
            None => l.0.wait()?,
            Some(t) => l.0.wait_timeout(t)?,
        }
        Ok(Status::Ok)
    })
}

/// `ZIPC_OK` if the count is 0, `ZIPC_AGAIN` otherwise.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_latch_try_wait(l: *const LatchHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let l = unsafe { obj(l, "l") }?;
        again(l.0.try_wait())
    })
}

/// The count now (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_latch_count(l: *const LatchHandle) -> u32 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { l.as_ref() }.map(|l| l.0.count())
    })
}
