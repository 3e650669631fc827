//! Events (`zipc_event`).

use std::ffi::{c_char, c_int};

use super::args::{free, hand_out, obj, open_args, timeout};
use super::handles::*;
use super::shell::{abi, again};
use super::status::Status;
use crate::Event;

abi! {
    /// Opens event `name`.
    unsafe fn zipc_event_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        out: *mut *mut EventHandle,
    ) -> Status {
        let (seg, name, out) = open_args(seg, name, out)?;
        hand_out(out, EventHandle(Event::open(seg, name)?))
    }

    /// Closes the handle (NULL is fine).
    unsafe fn zipc_event_close(h: *mut EventHandle) {
        free(h)
    }

    /// Sets the event (wakes one waiter of an auto-reset event, every waiter of a manual one).
    unsafe fn zipc_event_set(e: *const EventHandle) -> Status {
        let e = obj(e, "e")?;
        e.0.set();
        Ok(Status::Ok)
    }

    /// Resets the event.
    unsafe fn zipc_event_reset(e: *const EventHandle) -> Status {
        let e = obj(e, "e")?;
        e.0.reset();
        Ok(Status::Ok)
    }

    /// Waits until the event is set, at most `timeout_ns` (an auto-reset event is consumed).
    unsafe fn zipc_event_wait(e: *const EventHandle, timeout_ns: i64) -> Status {
        let e = obj(e, "e")?;
        match timeout(timeout_ns) {
            None => e.0.wait()?,
            Some(t) => e.0.wait_timeout(t)?,
        }
        Ok(Status::Ok)
    }

    /// `ZIPC_OK` if the event is set (consuming an auto-reset one), `ZIPC_AGAIN` otherwise.
    unsafe fn zipc_event_try_wait(e: *const EventHandle) -> Status {
        let e = obj(e, "e")?;
        again(e.0.try_wait())
    }

    /// 1 if the event is set, 0 otherwise (or for NULL).
    unsafe fn zipc_event_is_set(e: *const EventHandle) -> c_int {
        e.as_ref().map(|e| c_int::from(e.0.is_set()))
    }
}
