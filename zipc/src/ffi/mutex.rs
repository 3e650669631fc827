//! Robust mutexes (`zipc_mutex`).

use std::ffi::{c_char, c_int};

use super::args::{free, hand_out, obj, open_args, opt_out, timeout};
use super::handles::*;
use super::shell::abi;
use super::status::Status;
use crate::Mutex;

abi! {
    /// Opens mutex `name`.
    unsafe fn zipc_mutex_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        out: *mut *mut MutexHandle,
    ) -> Status {
        let (seg, name, out) = open_args(seg, name, out)?;
        hand_out(out, MutexHandle(Mutex::open(seg, name)?))
    }

    /// Closes the handle (NULL is fine).
    unsafe fn zipc_mutex_close(h: *mut MutexHandle) {
        free(h)
    }

    /// Locks, waiting at most `timeout_ns`. `*owner_died` (unless NULL) is 1 if the previous holder
    /// died inside its critical section: repair, then `zipc_mutex_mark_consistent`. Unlock with
    /// `zipc_mutex_unlock` from the same thread.
    unsafe fn zipc_mutex_lock(m: *const MutexHandle, timeout_ns: i64, owner_died: *mut c_int) -> Status {
        let (m, died) = (obj(m, "m")?, opt_out(owner_died));
        let guard = match timeout(timeout_ns) {
            None => m.0.lock()?,
            Some(t) => m.0.lock_timeout(t)?,
        };
        if let Some(d) = died {
            *d = c_int::from(guard.owner_died());
        }
        // Held until zipc_mutex_unlock (the guard is a Rust borrow; see Mutex::unlock_held).
        std::mem::forget(guard);
        Ok(Status::Ok)
    }

    /// Locks if possible without waiting: `ZIPC_OK` or `ZIPC_AGAIN`; `*owner_died` as for
    /// `zipc_mutex_lock`.
    unsafe fn zipc_mutex_try_lock(m: *const MutexHandle, owner_died: *mut c_int) -> Status {
        let (m, died) = (obj(m, "m")?, opt_out(owner_died));
        match m.0.try_lock()? {
            Some(guard) => {
                if let Some(d) = died {
                    *d = c_int::from(guard.owner_died());
                }
                std::mem::forget(guard);
                Ok(Status::Ok)
            }
            None => Ok(Status::Again),
        }
    }

    /// Declares the state a dead holder left repaired (the calling thread holds the mutex).
    unsafe fn zipc_mutex_mark_consistent(m: *const MutexHandle) -> Status {
        let m = obj(m, "m")?;
        m.0.mark_consistent_held()?;
        Ok(Status::Ok)
    }

    /// Unlocks the mutex the calling thread holds.
    unsafe fn zipc_mutex_unlock(m: *const MutexHandle) -> Status {
        let m = obj(m, "m")?;
        m.0.unlock_held()?;
        Ok(Status::Ok)
    }
}
