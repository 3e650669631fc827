//! Events (`zipc_event`).

#![allow(clippy::missing_safety_doc)] // the contract in `args` covers every function

use std::ffi::{c_char, c_int};

use super::args::{free, hand_out, obj, open_args, timeout};
use super::handles::*;
use super::shell::{again, call, opener, value};
use super::status::Status;
use crate::Event;

opener!(
    /// Opens event `name`.
    zipc_event_open, zipc_event_close, EventHandle, Event
);

/// Sets the event (wakes one waiter of an auto-reset event, every waiter of a manual one).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_set(e: *const EventHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let e = unsafe { obj(e, "e") }?;
        e.0.set();
        Ok(Status::Ok)
    })
}

/// Resets the event.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_reset(e: *const EventHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let e = unsafe { obj(e, "e") }?;
        e.0.reset();
        Ok(Status::Ok)
    })
}

/// Waits until the event is set, at most `timeout_ns` (an auto-reset event is consumed).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_wait(e: *const EventHandle, timeout_ns: i64) -> Status {
    call(|| {
        // SAFETY: module contract.
        let e = unsafe { obj(e, "e") }?;
        match timeout(timeout_ns) {
            None => e.0.wait()?,
            Some(t) => e.0.wait_timeout(t)?,
        }
        Ok(Status::Ok)
    })
}

/// `ZIPC_OK` if the event is set (consuming an auto-reset one), `ZIPC_AGAIN` otherwise.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_try_wait(e: *const EventHandle) -> Status {
    call(|| {
        // SAFETY: module contract.
        let e = unsafe { obj(e, "e") }?;
        again(e.0.try_wait())
    })
}

/// 1 if the event is set, 0 otherwise (or for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_event_is_set(e: *const EventHandle) -> c_int {
    value(0, || {
        // SAFETY: module contract.
        unsafe { e.as_ref() }.map(|e| c_int::from(e.0.is_set()))
    })
}
