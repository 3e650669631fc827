//! Condition variables (`zipc_condvar`), used with a `zipc_mutex` the calling thread holds.

use std::ffi::{c_char, c_int};

use super::args::{free, hand_out, obj, open_args, opt_out, timeout};
use super::handles::*;
use super::shell::{abi, c_types};
use super::status::Status;
use crate::error::Error;
use crate::Condvar;

/// `zipc_condvar`.
pub struct CondvarHandle(pub(super) Condvar);

c_types! {
    CondvarHandle => "zipc_condvar",
}

abi! {
    /// Opens condvar `name`.
    unsafe fn zipc_condvar_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        out: *mut *mut CondvarHandle,
    ) -> Status {
        let (seg, name, out) = open_args(seg, name, out)?;
        hand_out(out, CondvarHandle(Condvar::open(seg, name)?))
    }

    /// Closes the handle (NULL is fine).
    unsafe fn zipc_condvar_close(h: *mut CondvarHandle) {
        free(h)
    }

    /// Unlocks `m` (which the calling thread holds, locked with `zipc_mutex_lock`), sleeps until
    /// notified or `timeout_ns` passed, and locks `m` again: `ZIPC_ERR_TIMEOUT` if the time ran
    /// out, with `m` locked again all the same. Wake-ups may be spurious: test the condition in a
    /// loop. Errors: those of `zipc_mutex_unlock` (the thread does not hold `m`: nothing is
    /// changed) and of relocking (`ZIPC_ERR_NOT_RECOVERABLE`: `m` is then unlocked).
    /// `*owner_died` (unless NULL) is 1 if the relock found that a holder of `m` died meanwhile,
    /// as for `zipc_mutex_lock`: repair, then `zipc_mutex_mark_consistent`.
    unsafe fn zipc_condvar_wait(
        c: *const CondvarHandle,
        m: *const MutexHandle,
        timeout_ns: i64,
        owner_died: *mut c_int,
    ) -> Status {
        let (c, m, died) = (obj(c, "c")?, obj(m, "m")?, opt_out(owner_died));
        let (notified, relock_died) = c.0.wait_held(&m.0, timeout(timeout_ns))?;
        if let Some(d) = died {
            *d = c_int::from(relock_died);
        }
        if notified {
            Ok(Status::Ok)
        } else {
            Err(Error::Timeout.into())
        }
    }

    /// Wakes one waiting thread, if any.
    unsafe fn zipc_condvar_notify_one(c: *const CondvarHandle) -> Status {
        let c = obj(c, "c")?;
        c.0.notify_one();
        Ok(Status::Ok)
    }

    /// Wakes every waiting thread.
    unsafe fn zipc_condvar_notify_all(c: *const CondvarHandle) -> Status {
        let c = obj(c, "c")?;
        c.0.notify_all();
        Ok(Status::Ok)
    }

    /// The threads asleep in a wait now (0 for NULL).
    unsafe fn zipc_condvar_waiters(c: *const CondvarHandle) -> u32 {
        c.as_ref().map(|c| c.0.waiters())
    }
}
