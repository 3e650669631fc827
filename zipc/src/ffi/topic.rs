//! Topics (`zipc_topic`, observing), their publisher and their subscribers: lossless samples
//! loaned and received in place (pointers into the slot), copies both ways.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use super::args::{self, free, hand_out, input, obj, open_args, output, spec, timeout};
use super::handles::*;
use super::shell::{abi, again};
use super::status::Status;
use crate::dynamic::DynTopic;

abi! {
    /// Opens topic `name` (elements as for `zipc_queue_open`), whatever its capacity, subscriber
    /// count, history and mode. The handle observes.
    unsafe fn zipc_topic_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut TopicHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, TopicHandle(DynTopic::open(seg, name, spec)?))
    }

    /// Closes a topic handle (NULL is fine).
    unsafe fn zipc_topic_close(t: *mut TopicHandle) {
        free(t)
    }

    /// Samples in flight (0 for NULL).
    unsafe fn zipc_topic_capacity(t: *const TopicHandle) -> u64 {
        t.as_ref().map(|t| t.0.capacity())
    }

    /// Subscribers the topic has room for (0 for NULL).
    unsafe fn zipc_topic_max_subscribers(t: *const TopicHandle) -> u32 {
        t.as_ref().map(|t| t.0.max_subscribers())
    }

    /// Samples a subscriber receives on joining (0 for NULL).
    unsafe fn zipc_topic_history(t: *const TopicHandle) -> u64 {
        t.as_ref().map(|t| t.0.history())
    }

    /// 1 if the topic is lossy, 0 if it is lossless (or for NULL).
    unsafe fn zipc_topic_is_lossy(t: *const TopicHandle) -> c_int {
        t.as_ref().map(|t| c_int::from(t.0.is_lossy()))
    }

    /// Samples published since creation (0 for NULL).
    unsafe fn zipc_topic_published(t: *const TopicHandle) -> u64 {
        t.as_ref().map(|t| t.0.published())
    }

    /// Records of dead subscribers freed by survivors (0 for NULL).
    unsafe fn zipc_topic_released(t: *const TopicHandle) -> u64 {
        t.as_ref().map(|t| t.0.released())
    }

    /// 1 if the publisher has closed the topic (`zipc_topic_publisher_close_stream`), 0 if it is
    /// open (or for NULL).
    unsafe fn zipc_topic_is_closed(t: *const TopicHandle) -> c_int {
        t.as_ref().map(|t| c_int::from(t.0.is_closed()))
    }

    /// Claims the publisher role of a topic.
    unsafe fn zipc_topic_open_publisher(t: *const TopicHandle, out: *mut *mut TopicPublisherHandle) -> Status {
        let (t, out) = (obj(t, "t")?, args::out(out, "out")?);
        *out = ptr::null_mut();
        hand_out(out, TopicPublisherHandle(Exclusive::new(t.0.publisher()?, "topic publisher")))
    }

    /// Closes a publisher, releasing the role (an open loan is given back; NULL is fine).
    unsafe fn zipc_topic_publisher_close(p: *mut TopicPublisherHandle) {
        free(p)
    }

    /// Closes the topic's stream (not the handle: `zipc_topic_publisher_close` frees that):
    /// loans and sends return `ZIPC_ERR_CLOSED` from now on (a loan open now is given back:
    /// `zipc_topic_send` fails), and each subscriber receives everything published before, then
    /// `ZIPC_ERR_CLOSED` from its receives. Wakes every sleeper; idempotent.
    unsafe fn zipc_topic_publisher_close_stream(p: *mut TopicPublisherHandle) -> Status {
        let p = obj(p, "p")?;
        p.0.with(|p| {
            p.close_stream();
            Ok(Status::Ok)
        })
    }

    /// 1 if the topic is closed and this subscriber has passed everything published before the
    /// close (every receive returns `ZIPC_ERR_CLOSED`), else 0 (also for NULL, or while another
    /// thread uses the handle).
    unsafe fn zipc_topic_subscriber_is_finished(s: *mut TopicSubscriberHandle) -> c_int {
        s.as_ref().map(|s| s.0.with(|s| Ok(c_int::from(s.is_finished()))).unwrap_or(0))
    }

    /// Lossless: loans the next slot if every subscriber has released it: `*sample` points to its
    /// `elem_size` bytes (8-aligned), this publisher's alone until `zipc_topic_send` or
    /// `zipc_topic_unloan`. `ZIPC_OK`, or `ZIPC_AGAIN` while the slowest subscriber is a capacity
    /// behind. An open loan is returned again.
    unsafe fn zipc_topic_try_loan(p: *mut TopicPublisherHandle, sample: *mut *mut c_void) -> Status {
        let (p, sample) = (obj(p, "p")?, args::out(sample, "sample")?);
        *sample = ptr::null_mut();
        p.0.with(|p| match p.try_loan()? {
            Some(at) => {
                *sample = at.as_ptr().cast();
                Ok(Status::Ok)
            }
            None => again(false),
        })
    }

    /// `zipc_topic_try_loan`, waiting at most `timeout_ns` for the slot.
    unsafe fn zipc_topic_loan(p: *mut TopicPublisherHandle, timeout_ns: i64, sample: *mut *mut c_void) -> Status {
        let (p, sample) = (obj(p, "p")?, args::out(sample, "sample")?);
        *sample = ptr::null_mut();
        p.0.with(|p| {
            *sample = p.loan(timeout(timeout_ns))?.as_ptr().cast();
            Ok(Status::Ok)
        })
    }

    /// Publishes the open loan (`ZIPC_ERR_INVALID_ARGUMENT` if none is open).
    unsafe fn zipc_topic_send(p: *mut TopicPublisherHandle) -> Status {
        let p = obj(p, "p")?;
        p.0.with(|p| {
            p.send()?;
            Ok(Status::Ok)
        })
    }

    /// Gives the open loan back unpublished (nothing if none is open).
    unsafe fn zipc_topic_unloan(p: *mut TopicPublisherHandle) -> Status {
        let p = obj(p, "p")?;
        p.0.with(|p| {
            p.unloan();
            Ok(Status::Ok)
        })
    }

    /// Publishes a copy of one sample if there is space now (always, when lossy): `ZIPC_OK` or
    /// `ZIPC_AGAIN`.
    unsafe fn zipc_topic_try_send_copy(p: *mut TopicPublisherHandle, elem: *const c_void, size: usize) -> Status {
        let (p, src) = (obj(p, "p")?, input(elem, size, "elem")?);
        p.0.with(|p| again(p.try_send_copy(src)?))
    }

    /// Publishes a copy of one sample, waiting at most `timeout_ns` for space (lossy: never waits).
    unsafe fn zipc_topic_send_copy(
        p: *mut TopicPublisherHandle,
        elem: *const c_void,
        size: usize,
        timeout_ns: i64,
    ) -> Status {
        let (p, src) = (obj(p, "p")?, input(elem, size, "elem")?);
        p.0.with(|p| {
            p.send_copy(src, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    }

    /// Joins a topic as a subscriber (`ZIPC_ERR_SUBSCRIBERS_FULL` while every record is held by
    /// a live subscriber).
    unsafe fn zipc_topic_subscribe(t: *const TopicHandle, out: *mut *mut TopicSubscriberHandle) -> Status {
        let (t, out) = (obj(t, "t")?, args::out(out, "out")?);
        *out = ptr::null_mut();
        hand_out(out, TopicSubscriberHandle(Exclusive::new(t.0.subscriber()?, "topic subscriber")))
    }

    /// Closes a subscriber: it leaves the topic (a held sample is released; NULL is fine).
    unsafe fn zipc_topic_subscriber_close(s: *mut TopicSubscriberHandle) {
        free(s)
    }

    /// Lossless: the next sample, read in place: `*sample` points to its `elem_size` bytes, which
    /// stay unchanged until `zipc_topic_release`. `ZIPC_OK` or `ZIPC_AGAIN`. A held sample is
    /// returned again.
    unsafe fn zipc_topic_try_receive(s: *mut TopicSubscriberHandle, sample: *mut *const c_void) -> Status {
        let (s, sample) = (obj(s, "s")?, args::out(sample, "sample")?);
        *sample = ptr::null();
        s.0.with(|s| match s.try_receive()? {
            Some(at) => {
                *sample = at.as_ptr().cast_const().cast();
                Ok(Status::Ok)
            }
            None => again(false),
        })
    }

    /// `zipc_topic_try_receive`, waiting at most `timeout_ns` for a sample.
    unsafe fn zipc_topic_receive(s: *mut TopicSubscriberHandle, timeout_ns: i64, sample: *mut *const c_void) -> Status {
        let (s, sample) = (obj(s, "s")?, args::out(sample, "sample")?);
        *sample = ptr::null();
        s.0.with(|s| {
            *sample = s.receive(timeout(timeout_ns))?.as_ptr().cast_const().cast();
            Ok(Status::Ok)
        })
    }

    /// Releases the sample held in place (nothing if none is).
    unsafe fn zipc_topic_release(s: *mut TopicSubscriberHandle) -> Status {
        let s = obj(s, "s")?;
        s.0.with(|s| {
            s.release();
            Ok(Status::Ok)
        })
    }

    /// Copies the next sample into `out` if there is one: `ZIPC_OK` or `ZIPC_AGAIN`.
    unsafe fn zipc_topic_try_receive_copy(s: *mut TopicSubscriberHandle, out: *mut c_void, size: usize) -> Status {
        let (s, dst) = (obj(s, "s")?, output(out, size, "out")?);
        s.0.with(|s| again(s.try_receive_copy(dst)?))
    }

    /// Copies the next sample into `out`, waiting at most `timeout_ns` for one.
    unsafe fn zipc_topic_receive_copy(
        s: *mut TopicSubscriberHandle,
        out: *mut c_void,
        size: usize,
        timeout_ns: i64,
    ) -> Status {
        let (s, dst) = (obj(s, "s")?, output(out, size, "out")?);
        s.0.with(|s| {
            s.receive_copy(dst, timeout(timeout_ns))?;
            Ok(Status::Ok)
        })
    }

    /// Samples this subscriber received since joining (0 for NULL, or while another thread uses it).
    unsafe fn zipc_topic_received(s: *mut TopicSubscriberHandle) -> u64 {
        s.as_ref().map(|s| s.0.with(|s| Ok(s.received())).unwrap_or(0))
    }

    /// Samples this subscriber skipped because they were overwritten (lossy; 0 for NULL).
    unsafe fn zipc_topic_missed(s: *mut TopicSubscriberHandle) -> u64 {
        s.as_ref().map(|s| s.0.with(|s| Ok(s.missed())).unwrap_or(0))
    }
}
