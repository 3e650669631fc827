//! Barriers (`zipc_barrier`).

use std::ffi::{c_char, c_int};

use super::args::{free, hand_out, obj, open_args, opt_out, timeout};
use super::handles::*;
use super::shell::abi;
use super::status::Status;
use crate::Barrier;

abi! {
    /// Opens barrier `name`.
    unsafe fn zipc_barrier_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        out: *mut *mut BarrierHandle,
    ) -> Status {
        let (seg, name, out) = open_args(seg, name, out)?;
        hand_out(out, BarrierHandle(Barrier::open(seg, name)?))
    }

    /// Closes the handle (NULL is fine).
    unsafe fn zipc_barrier_close(h: *mut BarrierHandle) {
        free(h)
    }

    /// Waits until every participant has arrived, at most `timeout_ns` (a timed-out arrival is
    /// withdrawn). `*is_leader` (unless NULL) is 1 for exactly one participant of each generation;
    /// `*generation` (unless NULL) is the generation completed.
    unsafe fn zipc_barrier_wait(
        b: *const BarrierHandle,
        timeout_ns: i64,
        is_leader: *mut c_int,
        generation: *mut u32,
    ) -> Status {
        let (b, leader, gen) = (obj(b, "b")?, opt_out(is_leader), opt_out(generation));
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
    }

    /// The number of participants (0 for NULL).
    unsafe fn zipc_barrier_participants(b: *const BarrierHandle) -> u32 {
        b.as_ref().map(|b| b.0.participants())
    }
}
