//! Latches (`zipc_latch`).

use std::ffi::c_char;

use super::args::{free, hand_out, obj, open_args, opt_out, timeout};
use super::handles::*;
use super::shell::{abi, again};
use super::status::Status;
use crate::Latch;

abi! {
    /// Opens latch `name`.
    unsafe fn zipc_latch_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        out: *mut *mut LatchHandle,
    ) -> Status {
        let (seg, name, out) = open_args(seg, name, out)?;
        hand_out(out, LatchHandle(Latch::open(seg, name)?))
    }

    /// Closes the handle (NULL is fine).
    unsafe fn zipc_latch_close(h: *mut LatchHandle) {
        free(h)
    }

    /// Counts down by `n` (saturating at 0); the count after goes to `*remaining` unless NULL.
    unsafe fn zipc_latch_count_down(l: *const LatchHandle, n: u32, remaining: *mut u32) -> Status {
        let (l, rem) = (obj(l, "l")?, opt_out(remaining));
        let r = l.0.count_down(n);
        if let Some(rem) = rem {
            *rem = r;
        }
        Ok(Status::Ok)
    }

    /// Waits until the count is 0, at most `timeout_ns`.
    unsafe fn zipc_latch_wait(l: *const LatchHandle, timeout_ns: i64) -> Status {
        let l = obj(l, "l")?;
        match timeout(timeout_ns) {
            None => l.0.wait()?,
            Some(t) => l.0.wait_timeout(t)?,
        }
        Ok(Status::Ok)
    }

    /// `ZIPC_OK` if the count is 0, `ZIPC_AGAIN` otherwise.
    unsafe fn zipc_latch_try_wait(l: *const LatchHandle) -> Status {
        let l = obj(l, "l")?;
        again(l.0.try_wait())
    }

    /// The count now (0 for NULL).
    unsafe fn zipc_latch_count(l: *const LatchHandle) -> u32 {
        l.as_ref().map(|l| l.0.count())
    }
}
