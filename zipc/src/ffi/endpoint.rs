//! Endpoints (`zipc_endpoint`) and their claimed sides.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use super::args::{self, byte_len, check_size, free, hand_out, input, obj, open_args, output, spec, timeout};
use super::bulk::{bulk_in, bulk_out, bulk_status, Step};
use super::handles::*;
use super::shell::{abi, again};
use super::status::Status;
use crate::dynamic::DynEndpoint;
use crate::error::Error;
use crate::Side;

abi! {
    /// Opens endpoint `name` (elements as for `zipc_queue_open`).
    unsafe fn zipc_endpoint_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut EndpointHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, EndpointHandle(DynEndpoint::open(seg, name, spec)?))
    }

    /// Closes an endpoint handle (NULL is fine).
    unsafe fn zipc_endpoint_close(e: *mut EndpointHandle) {
        free(e)
    }

    /// Claims side `side` (`ZIPC_SIDE_A` = 0 or `ZIPC_SIDE_B` = 1) of an endpoint.
    unsafe fn zipc_endpoint_open_side(e: *const EndpointHandle, side: c_int, out: *mut *mut SideHandle) -> Status {
        let (e, out) = (obj(e, "e")?, args::out(out, "out")?);
        *out = ptr::null_mut();
        let side = match side {
            0 => Side::A,
            1 => Side::B,
            other => {
                return Err(
                    Error::invalid("side", format!("{other} is neither ZIPC_SIDE_A (0) nor ZIPC_SIDE_B (1)")).into()
                )
            }
        };
        hand_out(out, SideHandle(Exclusive::new(e.0.side(side)?, "endpoint side")))
    }

    /// Closes a side, releasing it (NULL is fine).
    unsafe fn zipc_side_close(s: *mut SideHandle) {
        free(s)
    }

    /// Sends one element if the outgoing queue has room: `ZIPC_OK` or `ZIPC_AGAIN`.
    unsafe fn zipc_side_try_send(s: *mut SideHandle, elem: *const c_void, size: usize) -> Status {
        let (s, src) = (obj(s, "s")?, input(elem, size, "elem")?);
        s.0.with(|s| again(s.try_send(src)?))
    }

    /// Sends one element, waiting at most `timeout_ns` for room.
    unsafe fn zipc_side_send(s: *mut SideHandle, elem: *const c_void, size: usize, timeout_ns: i64) -> Status {
        let (s, src) = (obj(s, "s")?, input(elem, size, "elem")?);
        s.0.with(|s| {
            s.send(src, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    }

    /// Sends up to `count` elements (as `zipc_producer_push_bulk`).
    unsafe fn zipc_side_send_bulk(
        s: *mut SideHandle,
        elems: *const c_void,
        count: usize,
        size: usize,
        timeout_ns: i64,
        sent: *mut usize,
    ) -> Status {
        let (s, sent) = (obj(s, "s")?, args::out(sent, "sent")?);
        *sent = 0;
        let src = input(elems, byte_len(count, size)?, "elems")?;
        s.0.with(|s| {
            check_size(size, s.elem_size())?;
            *sent = bulk_in(src, size, timeout_ns, |b, step| match step {
                Step::Bulk => s.send_bulk(b),
                Step::One(t) => s.send(b, t).map(|()| 1),
            })?;
            bulk_status(*sent, count, timeout_ns)
        })
    }

    /// Receives one element into `out` if there is one: `ZIPC_OK` or `ZIPC_AGAIN`.
    unsafe fn zipc_side_try_recv(s: *mut SideHandle, out: *mut c_void, size: usize) -> Status {
        let (s, dst) = (obj(s, "s")?, output(out, size, "out")?);
        s.0.with(|s| again(s.try_recv(dst)?))
    }

    /// Receives one element into `out`, waiting at most `timeout_ns` for one.
    unsafe fn zipc_side_recv(s: *mut SideHandle, out: *mut c_void, size: usize, timeout_ns: i64) -> Status {
        let (s, dst) = (obj(s, "s")?, output(out, size, "out")?);
        s.0.with(|s| {
            s.recv(dst, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    }

    /// Receives up to `max` elements (as `zipc_consumer_pop_bulk`).
    unsafe fn zipc_side_recv_bulk(
        s: *mut SideHandle,
        out: *mut c_void,
        max: usize,
        size: usize,
        timeout_ns: i64,
        received: *mut usize,
    ) -> Status {
        let (s, received) = (obj(s, "s")?, args::out(received, "received")?);
        *received = 0;
        let dst = output(out, byte_len(max, size)?, "out")?;
        s.0.with(|s| {
            check_size(size, s.elem_size())?;
            *received = bulk_out(dst, size, timeout_ns, |d, step| match step {
                Step::Bulk => s.recv_bulk(d),
                Step::One(t) => s.recv(d, t).map(|()| 1),
            })?;
            bulk_status(*received, max, timeout_ns)
        })
    }
}
