//! Rings (`zipc_ring`, observing) and their producer and consumer roles.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use super::args::{self, byte_len, check_size, free, hand_out, input, obj, open_args, output, spec, timeout};
use super::bulk::bulk_status;
use super::handles::*;
use super::shell::{abi, again};
use super::status::Status;
use crate::dynamic::DynRing;
use crate::structures::ring::RingMode;

abi! {
    /// Opens ring `name` (elements as for `zipc_queue_open`). The handle observes.
    unsafe fn zipc_ring_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut RingHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, RingHandle(DynRing::open(seg, name, spec)?))
    }

    /// Closes a ring handle (NULL is fine).
    unsafe fn zipc_ring_close(r: *mut RingHandle) {
        free(r)
    }

    /// Number of slots (0 for NULL).
    unsafe fn zipc_ring_capacity(r: *const RingHandle) -> u64 {
        r.as_ref().map(|r| r.0.capacity())
    }

    /// 1 if the ring overwrites when full, 0 if it is lossless (or for NULL).
    unsafe fn zipc_ring_overwrites(r: *const RingHandle) -> c_int {
        r.as_ref().map(|r| c_int::from(r.0.mode() == RingMode::Overwrite))
    }

    /// Elements pushed since creation (0 for NULL).
    unsafe fn zipc_ring_total_written(r: *const RingHandle) -> u64 {
        r.as_ref().map(|r| r.0.total_written())
    }

    /// Elements the consumer returned (0 for NULL).
    unsafe fn zipc_ring_total_read(r: *const RingHandle) -> u64 {
        r.as_ref().map(|r| r.0.total_read())
    }

    /// Elements the consumer skipped because they were overwritten (0 for NULL).
    unsafe fn zipc_ring_total_missed(r: *const RingHandle) -> u64 {
        r.as_ref().map(|r| r.0.total_missed())
    }

    /// Elements lost because a consumer died in the middle of a pop (0 for NULL).
    unsafe fn zipc_ring_total_lost(r: *const RingHandle) -> u64 {
        r.as_ref().map(|r| r.0.total_lost())
    }

    /// 1 if the producer has closed the ring (`zipc_ring_producer_close_stream`), 0 if it is open
    /// (or for NULL).
    unsafe fn zipc_ring_is_closed(r: *const RingHandle) -> c_int {
        r.as_ref().map(|r| c_int::from(r.0.is_closed()))
    }

    /// Elements written and not yet passed by the consumer (0 for NULL).
    unsafe fn zipc_ring_len(r: *const RingHandle) -> u64 {
        r.as_ref().map(|r| r.0.len())
    }

    /// Copies the newest elements, at most `max`, into `out` (oldest first); `*got` says how many.
    unsafe fn zipc_ring_get_last_n(
        r: *const RingHandle,
        out: *mut c_void,
        max: usize,
        size: usize,
        got: *mut usize,
    ) -> Status {
        let (r, got) = (obj(r, "r")?, args::out(got, "got")?);
        *got = 0;
        check_size(size, r.0.elem_size())?;
        let dst = output(out, byte_len(max, size)?, "out")?;
        *got = r.0.get_last_n(dst)?;
        Ok(Status::Ok)
    }

    /// Claims the producer role of a ring.
    unsafe fn zipc_ring_open_producer(r: *const RingHandle, out: *mut *mut RingProducerHandle) -> Status {
        let (r, out) = (obj(r, "r")?, args::out(out, "out")?);
        *out = ptr::null_mut();
        hand_out(out, RingProducerHandle(Exclusive::new(r.0.producer()?, "ring producer")))
    }

    /// Claims the consumer role of a ring.
    unsafe fn zipc_ring_open_consumer(r: *const RingHandle, out: *mut *mut RingConsumerHandle) -> Status {
        let (r, out) = (obj(r, "r")?, args::out(out, "out")?);
        *out = ptr::null_mut();
        hand_out(out, RingConsumerHandle(Exclusive::new(r.0.consumer()?, "ring consumer")))
    }

    /// Closes a ring producer, releasing the role (NULL is fine).
    unsafe fn zipc_ring_producer_close(p: *mut RingProducerHandle) {
        free(p)
    }

    /// Closes a ring consumer, releasing the role (NULL is fine).
    unsafe fn zipc_ring_consumer_close(c: *mut RingConsumerHandle) {
        free(c)
    }

    /// Closes the ring's stream (not the handle: `zipc_ring_producer_close` frees that):
    /// pushes return `ZIPC_ERR_CLOSED` from now on, and the consumer receives everything pushed
    /// before, then `ZIPC_ERR_CLOSED` from its pops. Wakes every sleeper; idempotent.
    unsafe fn zipc_ring_producer_close_stream(p: *mut RingProducerHandle) -> Status {
        let p = obj(p, "p")?;
        p.0.with(|p| {
            p.close_stream();
            Ok(Status::Ok)
        })
    }

    /// 1 if the ring is closed and this consumer has passed everything pushed before the close
    /// (every pop returns `ZIPC_ERR_CLOSED`), else 0 (also for NULL, or while another thread
    /// uses the handle).
    unsafe fn zipc_ring_consumer_is_finished(c: *mut RingConsumerHandle) -> c_int {
        c.as_ref().map(|c| c.0.with(|c| Ok(c_int::from(c.is_finished()))).unwrap_or(0))
    }

    /// Pushes one element if there is room (always, in overwrite mode): `ZIPC_OK` or `ZIPC_AGAIN`.
    unsafe fn zipc_ring_try_push(p: *mut RingProducerHandle, elem: *const c_void, size: usize) -> Status {
        let (p, src) = (obj(p, "p")?, input(elem, size, "elem")?);
        p.0.with(|p| again(p.try_push(src)?))
    }

    /// Pushes one element, waiting at most `timeout_ns` for room.
    unsafe fn zipc_ring_push(
        p: *mut RingProducerHandle,
        elem: *const c_void,
        size: usize,
        timeout_ns: i64,
    ) -> Status {
        let (p, src) = (obj(p, "p")?, input(elem, size, "elem")?);
        p.0.with(|p| {
            p.push(src, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    }

    /// Pushes up to `count` elements in one batch: as many as fit (all, in overwrite mode); if none
    /// fits and `timeout_ns` is not 0, waits at most that long for room. `*pushed` says how many;
    /// `ZIPC_AGAIN` if none and `timeout_ns` is 0.
    unsafe fn zipc_ring_push_bulk(
        p: *mut RingProducerHandle,
        elems: *const c_void,
        count: usize,
        size: usize,
        timeout_ns: i64,
        pushed: *mut usize,
    ) -> Status {
        let (p, pushed) = (obj(p, "p")?, args::out(pushed, "pushed")?);
        *pushed = 0;
        let src = input(elems, byte_len(count, size)?, "elems")?;
        p.0.with(|p| {
            check_size(size, p.ring().elem_size())?;
            *pushed = if timeout_ns == 0 { p.try_push_bulk(src)? } else { p.push_bulk(src, timeout(timeout_ns))? };
            bulk_status(*pushed, count, timeout_ns)
        })
    }

    /// Pops one element into `out` if there is one: `ZIPC_OK` or `ZIPC_AGAIN`.
    unsafe fn zipc_ring_try_pop(c: *mut RingConsumerHandle, out: *mut c_void, size: usize) -> Status {
        let (c, dst) = (obj(c, "c")?, output(out, size, "out")?);
        c.0.with(|c| again(c.try_pop(dst)?))
    }

    /// Pops one element into `out`, waiting at most `timeout_ns` for one.
    unsafe fn zipc_ring_pop(c: *mut RingConsumerHandle, out: *mut c_void, size: usize, timeout_ns: i64) -> Status {
        let (c, dst) = (obj(c, "c")?, output(out, size, "out")?);
        c.0.with(|c| {
            c.pop(dst, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    }

    /// Pops up to `max` elements in one batch into `out`; if none and `timeout_ns` is not 0, waits
    /// at most that long. `*popped` says how many; `ZIPC_AGAIN` if none and `timeout_ns` is 0.
    unsafe fn zipc_ring_pop_bulk(
        c: *mut RingConsumerHandle,
        out: *mut c_void,
        max: usize,
        size: usize,
        timeout_ns: i64,
        popped: *mut usize,
    ) -> Status {
        let (c, popped) = (obj(c, "c")?, args::out(popped, "popped")?);
        *popped = 0;
        let dst = output(out, byte_len(max, size)?, "out")?;
        c.0.with(|c| {
            check_size(size, c.ring().elem_size())?;
            *popped = if timeout_ns == 0 { c.try_pop_bulk(dst)? } else { c.pop_bulk(dst, timeout(timeout_ns))? };
            bulk_status(*popped, max, timeout_ns)
        })
    }

    /// Copies the element the next pop would return into `out` without consuming it: `ZIPC_OK` or
    /// `ZIPC_AGAIN`.
    unsafe fn zipc_ring_peek(c: *mut RingConsumerHandle, out: *mut c_void, size: usize) -> Status {
        let (c, dst) = (obj(c, "c")?, output(out, size, "out")?);
        c.0.with(|c| again(c.peek(dst)?))
    }

    /// Elements this consumer's ring skipped because they were overwritten (0 for NULL, or while
    /// another thread uses the handle).
    unsafe fn zipc_ring_missed(c: *mut RingConsumerHandle) -> u64 {
        c.as_ref().map(|c| c.0.with(|c| Ok(c.missed())).unwrap_or(0))
    }

    /// Elements a dead predecessor's pop held when this consumer took the role over (as
    /// `zipc_consumer_lost_on_takeover`).
    unsafe fn zipc_ring_lost_on_takeover(c: *mut RingConsumerHandle) -> u64 {
        c.as_ref().map(|c| c.0.with(|c| Ok(c.lost_on_takeover())).unwrap_or(0))
    }
}
