//! One-time initialisations (`zipc_once`): begin, run it if told to, then complete or abandon.

use std::ffi::{c_char, c_int};

use super::args::{free, hand_out, obj, open_args, out, timeout};
use super::handles::*;
use super::shell::{abi, c_types};
use super::status::Status;
use crate::Once;

/// `zipc_once`.
pub struct OnceHandle(pub(super) Once);

c_types! {
    OnceHandle => "zipc_once",
}

abi! {
    /// Opens once `name`.
    unsafe fn zipc_once_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        out: *mut *mut OnceHandle,
    ) -> Status {
        let (seg, name, out) = open_args(seg, name, out)?;
        hand_out(out, OnceHandle(Once::open(seg, name)?))
    }

    /// Closes the handle (NULL is fine). A hold it began stays the process's: end it first.
    unsafe fn zipc_once_close(h: *mut OnceHandle) {
        free(h)
    }

    /// Begins the initialisation: `*must_run` 1 if the calling process now holds it (it runs the
    /// initialisation, then calls `zipc_once_complete`, or `zipc_once_abandon` if it failed), 0 if
    /// it is complete. Waits at most `timeout_ns` while another process runs it
    /// (`ZIPC_ERR_TIMEOUT`, `*must_run` 0); if that process dies, this caller takes it over and
    /// must run it.
    unsafe fn zipc_once_begin(o: *const OnceHandle, timeout_ns: i64, must_run: *mut c_int) -> Status {
        let (o, must_run) = (obj(o, "o")?, out(must_run, "must_run")?);
        *must_run = 0;
        *must_run = c_int::from(o.0.begin_unguarded(timeout(timeout_ns))?);
        Ok(Status::Ok)
    }

    /// Marks the initialisation the calling process holds complete and wakes every waiter; an
    /// error (`ZIPC_ERR_INVALID_ARGUMENT`) if it holds none.
    unsafe fn zipc_once_complete(o: *const OnceHandle) -> Status {
        let o = obj(o, "o")?;
        o.0.end_unguarded(true)?;
        Ok(Status::Ok)
    }

    /// Gives up the initialisation the calling process holds: the next caller runs it; an error
    /// (`ZIPC_ERR_INVALID_ARGUMENT`) if it holds none.
    unsafe fn zipc_once_abandon(o: *const OnceHandle) -> Status {
        let o = obj(o, "o")?;
        o.0.end_unguarded(false)?;
        Ok(Status::Ok)
    }

    /// Waits until the initialisation is complete, at most `timeout_ns`, without running it.
    unsafe fn zipc_once_wait(o: *const OnceHandle, timeout_ns: i64) -> Status {
        let o = obj(o, "o")?;
        o.0.wait(timeout(timeout_ns))?;
        Ok(Status::Ok)
    }

    /// 1 if the initialisation is complete (0 for NULL).
    unsafe fn zipc_once_is_completed(o: *const OnceHandle) -> c_int {
        o.as_ref().map(|o| c_int::from(o.0.is_completed()))
    }

    /// Initialisations taken over from a dead initialiser, ever (0 for NULL).
    unsafe fn zipc_once_takeovers(o: *const OnceHandle) -> u32 {
        o.as_ref().map(|o| o.0.takeovers())
    }
}
