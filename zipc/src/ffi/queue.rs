//! Queues (`zipc_queue`) and their producer and consumer roles.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use super::args::{self, byte_len, check_size, free, hand_out, input, obj, open_args, output, spec, timeout};
use super::bulk::{bulk_in, bulk_out, bulk_status, Step};
use super::handles::*;
use super::shell::{abi, again};
use super::status::Status;
use crate::dynamic::DynQueue;

abi! {
    /// Opens queue `name` whose elements are `elem_size` bytes with canonical layout `layout`
    /// (NULL: only the size is checked).
    unsafe fn zipc_queue_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut QueueHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, QueueHandle(DynQueue::open(seg, name, spec)?))
    }

    /// Closes a queue handle (NULL is fine).
    unsafe fn zipc_queue_close(q: *mut QueueHandle) {
        free(q)
    }

    /// Number of slots (0 for NULL).
    unsafe fn zipc_queue_capacity(q: *const QueueHandle) -> u64 {
        q.as_ref().map(|q| q.0.capacity())
    }

    /// Number of elements, approximately (0 for NULL).
    unsafe fn zipc_queue_len(q: *const QueueHandle) -> u64 {
        q.as_ref().map(|q| q.0.len())
    }

    /// Messages lost to processes that died mid-operation (0 for NULL).
    unsafe fn zipc_queue_lost(q: *const QueueHandle) -> u64 {
        q.as_ref().map(|q| q.0.lost())
    }

    /// Settles the operations on this queue that dead processes left half-done; returns the
    /// messages found lost (0 for NULL).
    unsafe fn zipc_queue_recover(q: *const QueueHandle) -> u64 {
        q.as_ref().map(|q| q.0.recover())
    }

    /// The policy flags (`ZIPC_POLICY_*`; 0 for NULL).
    unsafe fn zipc_queue_policy(q: *const QueueHandle) -> u32 {
        let q = q.as_ref()?;
        Some(crate::layout::POLICIES.iter().find(|(n, _)| *n == q.0.policy()).map_or(0, |p| p.1))
    }

    /// Closes the queue itself (not the handle): pushes then fail with `ZIPC_ERR_CLOSED`, pops
    /// drain what is left and then fail with it, and blocked calls wake. An spsc queue is closed
    /// through its producer role, taken for the call: `ZIPC_ERR_ROLE_TAKEN` while a live producer
    /// holds it (close through it with `zipc_producer_close_stream`).
    unsafe fn zipc_queue_close_stream(q: *const QueueHandle) -> Status {
        obj(q, "q")?.0.close()?;
        Ok(Status::Ok)
    }

    /// 1 if the queue is closed (0 for NULL).
    unsafe fn zipc_queue_is_closed(q: *const QueueHandle) -> c_int {
        q.as_ref().map(|q| c_int::from(q.0.is_closed()))
    }

    /// A producer handle (claims the producer role of an spsc queue).
    unsafe fn zipc_queue_open_producer(q: *const QueueHandle, out: *mut *mut ProducerHandle) -> Status {
        let (q, out) = (obj(q, "q")?, args::out(out, "out")?);
        *out = ptr::null_mut();
        hand_out(out, ProducerHandle(Exclusive::new(q.0.producer()?, "queue producer")))
    }

    /// A consumer handle (claims the consumer role of an spsc or mpsc queue).
    unsafe fn zipc_queue_open_consumer(q: *const QueueHandle, out: *mut *mut ConsumerHandle) -> Status {
        let (q, out) = (obj(q, "q")?, args::out(out, "out")?);
        *out = ptr::null_mut();
        hand_out(out, ConsumerHandle(Exclusive::new(q.0.consumer()?, "queue consumer")))
    }

    /// Closes a producer, releasing its role (NULL is fine).
    unsafe fn zipc_producer_close(p: *mut ProducerHandle) {
        free(p)
    }

    /// Closes a consumer, releasing its role (NULL is fine).
    unsafe fn zipc_consumer_close(c: *mut ConsumerHandle) {
        free(c)
    }

    /// Pushes one element if there is room: `ZIPC_OK`, or `ZIPC_AGAIN` if the queue is full.
    unsafe fn zipc_producer_try_push(p: *mut ProducerHandle, elem: *const c_void, size: usize) -> Status {
        let (p, src) = (obj(p, "p")?, input(elem, size, "elem")?);
        p.0.with(|p| again(p.try_push(src)?))
    }

    /// Pushes one element, waiting at most `timeout_ns` for room.
    unsafe fn zipc_producer_push(
        p: *mut ProducerHandle,
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

    /// Pushes up to `count` elements in order: as many as fit at once; if none fits and
    /// `timeout_ns` is not 0, waits at most that long for room for the first. `*pushed` says how
    /// many; `ZIPC_AGAIN` if none and `timeout_ns` is 0.
    unsafe fn zipc_producer_push_bulk(
        p: *mut ProducerHandle,
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
            check_size(size, p.elem_size())?;
            *pushed = bulk_in(src, size, timeout_ns, |s, step| match step {
                Step::Bulk => p.push_bulk(s),
                Step::One(t) => p.push(s, t).map(|()| 1),
            })?;
            bulk_status(*pushed, count, timeout_ns)
        })
    }

    /// Closes the producer's queue, for any policy (as `zipc_queue_close_stream`; the handle stays
    /// open until `zipc_producer_close`).
    unsafe fn zipc_producer_close_stream(p: *mut ProducerHandle) -> Status {
        obj(p, "p")?.0.with(|p| {
            p.close();
            Ok(Status::Ok)
        })
    }

    /// 1 if the producer's queue is closed (0 for NULL, or while another thread uses the handle).
    unsafe fn zipc_producer_is_closed(p: *mut ProducerHandle) -> c_int {
        p.as_ref().map(|p| p.0.with(|p| Ok(c_int::from(p.is_closed()))).unwrap_or(0))
    }

    /// 1 if the consumer's queue is closed — pops still drain what was pushed before (0 for
    /// NULL, or while another thread uses the handle).
    unsafe fn zipc_consumer_is_closed(c: *mut ConsumerHandle) -> c_int {
        c.as_ref().map(|c| c.0.with(|c| Ok(c_int::from(c.is_closed()))).unwrap_or(0))
    }

    /// Pops one element into `out` if there is one: `ZIPC_OK`, or `ZIPC_AGAIN` if the queue is
    /// empty.
    unsafe fn zipc_consumer_try_pop(c: *mut ConsumerHandle, out: *mut c_void, size: usize) -> Status {
        let (c, dst) = (obj(c, "c")?, output(out, size, "out")?);
        c.0.with(|c| again(c.try_pop(dst)?))
    }

    /// Pops one element into `out`, waiting at most `timeout_ns` for one.
    unsafe fn zipc_consumer_pop(c: *mut ConsumerHandle, out: *mut c_void, size: usize, timeout_ns: i64) -> Status {
        let (c, dst) = (obj(c, "c")?, output(out, size, "out")?);
        c.0.with(|c| {
            c.pop(dst, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    }

    /// Pops up to `max` elements into `out`: as many as are there; if none and `timeout_ns` is not
    /// 0, waits at most that long for the first. `*popped` says how many; `ZIPC_AGAIN` if none and
    /// `timeout_ns` is 0.
    unsafe fn zipc_consumer_pop_bulk(
        c: *mut ConsumerHandle,
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
            check_size(size, c.elem_size())?;
            *popped = bulk_out(dst, size, timeout_ns, |d, step| match step {
                Step::Bulk => c.pop_bulk(d),
                Step::One(t) => c.pop(d, t).map(|()| 1),
            })?;
            bulk_status(*popped, max, timeout_ns)
        })
    }

    /// For a single consumer that took the role over from a process that died in a pop: the
    /// elements that pop held, skipped and counted lost (0 otherwise, for NULL, or while another
    /// thread uses the handle).
    unsafe fn zipc_consumer_lost_on_takeover(c: *mut ConsumerHandle) -> u64 {
        c.as_ref().map(|c| c.0.with(|c| Ok(c.lost_on_takeover())).unwrap_or(0))
    }
}
