//! Barriers (`zipc_barrier`).

#![allow(clippy::missing_safety_doc)] // the contract in `args` covers every function

use std::ffi::{c_char, c_int};

use super::args::{free, hand_out, obj, open_args, opt_out, timeout};
use super::handles::*;
use super::shell::{call, opener, value};
use super::status::Status;
use crate::Barrier;

opener!(
    /// Opens barrier `name`.
    zipc_barrier_open, zipc_barrier_close, BarrierHandle, Barrier
);

/// Waits until every participant has arrived, at most `timeout_ns` (a timed-out arrival is
/// withdrawn). `*is_leader` (unless NULL) is 1 for exactly one participant of each generation;
/// `*generation` (unless NULL) is the generation completed.
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_barrier_wait(
    b: *const BarrierHandle,
    timeout_ns: i64,
    is_leader: *mut c_int,
    generation: *mut u32,
) -> Status {
    call(|| {
        // SAFETY: module contract.
        let (b, leader, gen) = unsafe { (obj(b, "b")?, opt_out(is_leader), opt_out(generation)) };
        let r = match timeout(timeout_ns) {
            None => b.0.wait()?,
            Some(t) => b.0.wait_timeout(t)?,
        };
        if let Some(l) = leader {
            *l = c_int::from(r.is_leader());
        }
        if let Some(g) = gen {
            *g = r.generation();
        }
        Ok(Status::Ok)
    })
}

/// The number of participants (0 for NULL).
#[cfg_attr(feature = "ffi", no_mangle)]
pub unsafe extern "C" fn zipc_barrier_participants(b: *const BarrierHandle) -> u32 {
    value(0, || {
        // SAFETY: module contract.
        unsafe { b.as_ref() }.map(|b| b.0.participants())
    })
}
