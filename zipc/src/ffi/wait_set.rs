//! Wait sets (`zipc_waitset`): many structures waited on at once, as a set that is also a file
//! descriptor for `poll`/`epoll`/`select` (and Python's `selectors` and `asyncio`).
//!
//! A `zipc_waitset` holds a [`ReadinessFd`]: the sources attached to it ([`Readiness`]: queue and
//! ring consumers and producers, topic subscribers, stacks, pools, semaphores, events, latches,
//! barriers, 32-bit atomics changing from a value), and an eventfd that is readable while a
//! source is ready and the caller has not called `zipc_waitset_take` since — level-triggered,
//! like a socket. `take` clears it, reports the keys ready now and re-arms it. Attaching keeps a
//! view of the structure (and its segment mapped) in the set: the handle stays free for its
//! `try_*` calls, and may even be closed before the set. Readiness is a hint, as with `poll(2)`:
//! act on it with the non-blocking calls and wait again when they find nothing.

use std::ffi::c_int;
use std::os::fd::AsRawFd;

use super::args::{self, free, hand_out, obj, output};
use super::handles::*;
use super::shell::abi;
use super::status::{Outcome, Status};
use crate::dynamic::DynAtomic;
use crate::error::Error;
use crate::sys::futex::Deadline;
use crate::sys::wait_set::{Key, Readiness, Source};
use crate::{AtomicValue, ReadinessFd, WaitSet};

/// A source built already: attached as it is.
struct Built(Source);

impl Readiness for Built {
    fn wait_source(&self) -> Source {
        self.0.clone()
    }
}

impl WaitSetHandle {
    /// Attaches `source`, writing its key to `key`.
    fn attach(&self, source: &dyn Readiness, key: &mut u64) -> Outcome {
        *key = self.0.attach(source).index() as u64;
        Ok(Status::Ok)
    }

    /// Attaches the source a role handle builds: the role is used only to build it, so the
    /// handle is busy for no longer than that.
    fn attach_role<T: Readiness>(&self, role: &Exclusive<T>, key: &mut u64) -> Outcome {
        let source = role.with(|r| Ok(r.wait_source()))?;
        self.attach(&Built(source), key)
    }
}

/// Writes `ready` into `keys` (at most `keys.len() / 8` of them; native-endian `uint64_t`s)
/// and their number into `n`.
fn report(ready: &[Key], keys: &mut [u8], n: &mut usize) -> Outcome {
    let cells = keys.chunks_exact_mut(8);
    *n = 0;
    for (cell, key) in cells.zip(ready) {
        cell.copy_from_slice(&(key.index() as u64).to_ne_bytes());
        *n += 1;
    }
    Ok(Status::Ok)
}

/// Waits until `deadline` for `fd` to become readable: whether it did. Interrupted waits are
/// resumed.
fn readable(fd: c_int, deadline: &Deadline) -> crate::error::Result<bool> {
    loop {
        let left = match deadline.remaining() {
            Err(Error::Timeout) => return Ok(false),
            Err(e) => return Err(e),
            Ok(left) => left,
        };
        let ts = left.map(|d| libc::timespec {
            tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let tp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: one valid pollfd and a timespec (or NULL: no timeout) that live for the call;
        // no signal mask is passed.
        let r = unsafe { libc::ppoll(&mut p, 1, tp, std::ptr::null()) };
        if r > 0 {
            return Ok(true);
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::os("ppoll", "wait set", e));
            }
        }
    }
}

abi! {
    /// Makes an empty wait set with its descriptor (an eventfd) and the helper thread that
    /// signals it (`ZIPC_ERR_OS` if either cannot be made).
    unsafe fn zipc_waitset_open(out: *mut *mut WaitSetHandle) -> Status {
        let out = args::out(out, "out")?;
        *out = std::ptr::null_mut();
        hand_out(out, WaitSetHandle(ReadinessFd::new(WaitSet::new())?))
    }

    /// Closes a wait set: stops its helper thread and closes its descriptor (NULL is fine). The
    /// structures attached are not affected.
    unsafe fn zipc_waitset_close(ws: *mut WaitSetHandle) {
        free(ws)
    }

    /// Attaches a queue consumer, ready when `zipc_consumer_try_pop` would find an element; its
    /// key (0, 1, 2, ... in attachment order) goes to `*key`. `ZIPC_ERR_BUSY` if another thread
    /// is inside a call on the consumer.
    unsafe fn zipc_waitset_attach_consumer(ws: *const WaitSetHandle, c: *mut ConsumerHandle, key: *mut u64) -> Status {
        let (ws, c, key) = (obj(ws, "ws")?, obj(c, "c")?, args::out(key, "key")?);
        ws.attach_role(&c.0, key)
    }

    /// Attaches a queue producer, ready when `zipc_producer_try_push` would find room.
    unsafe fn zipc_waitset_attach_producer(ws: *const WaitSetHandle, p: *mut ProducerHandle, key: *mut u64) -> Status {
        let (ws, p, key) = (obj(ws, "ws")?, obj(p, "p")?, args::out(key, "key")?);
        ws.attach_role(&p.0, key)
    }

    /// Attaches a ring consumer, ready when `zipc_ring_try_pop` would return an element.
    unsafe fn zipc_waitset_attach_ring_consumer(
        ws: *const WaitSetHandle,
        c: *mut RingConsumerHandle,
        key: *mut u64,
    ) -> Status {
        let (ws, c, key) = (obj(ws, "ws")?, obj(c, "c")?, args::out(key, "key")?);
        ws.attach_role(&c.0, key)
    }

    /// Attaches a ring producer, ready when `zipc_ring_try_push` would find room (always, in
    /// overwrite mode).
    unsafe fn zipc_waitset_attach_ring_producer(
        ws: *const WaitSetHandle,
        p: *mut RingProducerHandle,
        key: *mut u64,
    ) -> Status {
        let (ws, p, key) = (obj(ws, "ws")?, obj(p, "p")?, args::out(key, "key")?);
        ws.attach_role(&p.0, key)
    }

    /// Attaches a topic subscriber, ready when a receive would find a sample without waiting.
    unsafe fn zipc_waitset_attach_subscriber(
        ws: *const WaitSetHandle,
        s: *mut TopicSubscriberHandle,
        key: *mut u64,
    ) -> Status {
        let (ws, s, key) = (obj(ws, "ws")?, obj(s, "s")?, args::out(key, "key")?);
        ws.attach_role(&s.0, key)
    }

    /// Attaches a stack, ready when `zipc_stack_try_pop` would find a value.
    unsafe fn zipc_waitset_attach_stack(ws: *const WaitSetHandle, s: *const StackHandle, key: *mut u64) -> Status {
        let (ws, s, key) = (obj(ws, "ws")?, obj(s, "s")?, args::out(key, "key")?);
        ws.attach(&s.0, key)
    }

    /// Attaches a pool, ready when `zipc_pool_try_acquire` would find a free object.
    unsafe fn zipc_waitset_attach_pool(ws: *const WaitSetHandle, p: *const PoolHandle, key: *mut u64) -> Status {
        let (ws, p, key) = (obj(ws, "ws")?, obj(p, "p")?, args::out(key, "key")?);
        ws.attach(&p.0, key)
    }

    /// Attaches a semaphore, ready while a permit is free.
    unsafe fn zipc_waitset_attach_semaphore(
        ws: *const WaitSetHandle,
        s: *const SemaphoreHandle,
        key: *mut u64,
    ) -> Status {
        let (ws, s, key) = (obj(ws, "ws")?, obj(s, "s")?, args::out(key, "key")?);
        ws.attach(&s.0, key)
    }

    /// Attaches an event, ready while it is set (take an auto-reset event with
    /// `zipc_event_try_wait`).
    unsafe fn zipc_waitset_attach_event(ws: *const WaitSetHandle, e: *const EventHandle, key: *mut u64) -> Status {
        let (ws, e, key) = (obj(ws, "ws")?, obj(e, "e")?, args::out(key, "key")?);
        ws.attach(&e.0, key)
    }

    /// Attaches a latch, ready once it is open (its count is 0).
    unsafe fn zipc_waitset_attach_latch(ws: *const WaitSetHandle, l: *const LatchHandle, key: *mut u64) -> Status {
        let (ws, l, key) = (obj(ws, "ws")?, obj(l, "l")?, args::out(key, "key")?);
        ws.attach(&l.0, key)
    }

    /// Attaches a barrier's next generation: ready once the generation current now completes
    /// (this only watches; participants arrive with `zipc_barrier_wait`).
    unsafe fn zipc_waitset_attach_barrier(ws: *const WaitSetHandle, b: *const BarrierHandle, key: *mut u64) -> Status {
        let (ws, b, key) = (obj(ws, "ws")?, obj(b, "b")?, args::out(key, "key")?);
        ws.attach(&b.0.next_generation(), key)
    }

    /// Attaches a 32-bit atomic, ready once its value differs from `value` (bits as for
    /// `zipc_atomic_load`; the condition of `zipc_atomic_wait`, woken by `zipc_atomic_wake`).
    /// `ZIPC_ERR_INVALID_ARGUMENT` for a 64-bit atomic. Attach it again (detaching the old key)
    /// to watch it from a new value.
    unsafe fn zipc_waitset_attach_atomic(
        ws: *const WaitSetHandle,
        a: *const AtomicHandle,
        value: i64,
        key: *mut u64,
    ) -> Status {
        let (ws, a, key) = (obj(ws, "ws")?, obj(a, "a")?, args::out(key, "key")?);
        match &a.0 {
            DynAtomic::U32(x) => ws.attach(&x.changed_from(AtomicValue::from_bits(value)), key),
            DynAtomic::I32(x) => ws.attach(&x.changed_from(AtomicValue::from_bits(value)), key),
            other => Err(Error::invalid(
                format!("wait set attach of atomic {:?}", other.name()),
                format!("only 32-bit atomics can be waited on; this one holds a {}", other.primitive().name()),
            )
            .into()),
        }
    }

    /// Removes the source `key` (keys are not reused): `ZIPC_ERR_INVALID_ARGUMENT` if it is not
    /// attached.
    unsafe fn zipc_waitset_detach(ws: *const WaitSetHandle, key: u64) -> Status {
        let ws = obj(ws, "ws")?;
        let index = usize::try_from(key).unwrap_or(usize::MAX);
        if index != usize::MAX && ws.0.detach(Key::at(index)) {
            Ok(Status::Ok)
        } else {
            Err(Error::invalid("wait set key", format!("key {key} is not attached to this wait set")).into())
        }
    }

    /// Number of attached sources (0 for NULL).
    unsafe fn zipc_waitset_len(ws: *const WaitSetHandle) -> u64 {
        ws.as_ref().map(|ws| ws.0.len() as u64)
    }

    /// The descriptor to register for reading with `poll`, `epoll` or `select` (0 for NULL, with
    /// `ZIPC_ERR_NULL` as the last status). It stays readable until `zipc_waitset_take`; the wait
    /// set owns it: do not close it, nor read it.
    unsafe fn zipc_waitset_fd(ws: *const WaitSetHandle) -> c_int {
        ws.as_ref().map(|ws| ws.0.as_raw_fd())
    }

    /// Clears the descriptor, writes the keys of the sources ready now (in attachment order; at
    /// most `cap`, into `keys`, which may be NULL if `cap` is 0) and their number to `*n`, and
    /// re-arms the descriptor: it becomes readable again as soon as a source is — at once if one
    /// still is, such as one left out for want of room. `*n` may be 0: another consumer may have
    /// taken what made a source ready.
    unsafe fn zipc_waitset_take(ws: *const WaitSetHandle, keys: *mut u64, cap: usize, n: *mut usize) -> Status {
        let (ws, n) = (obj(ws, "ws")?, args::out(n, "n")?);
        *n = 0;
        let keys = if cap == 0 { &mut [][..] } else { output(keys.cast(), args::byte_len(cap, 8)?, "keys")? };
        report(&ws.0.take(), keys, n)
    }

    /// The keys of the sources ready now, as `zipc_waitset_take` writes them, leaving the
    /// descriptor as it is.
    unsafe fn zipc_waitset_ready(ws: *const WaitSetHandle, keys: *mut u64, cap: usize, n: *mut usize) -> Status {
        let (ws, n) = (obj(ws, "ws")?, args::out(n, "n")?);
        *n = 0;
        let keys = if cap == 0 { &mut [][..] } else { output(keys.cast(), args::byte_len(cap, 8)?, "keys")? };
        report(&ws.0.ready(), keys, n)
    }

    /// Waits at most `timeout_ns` until a source is ready, then takes as `zipc_waitset_take`
    /// does (so `*n` is at least 1 on `ZIPC_OK`). `ZIPC_ERR_TIMEOUT` if none became ready in
    /// time; `ZIPC_ERR_INVALID_ARGUMENT` for waiting forever on an empty set.
    unsafe fn zipc_waitset_wait(
        ws: *const WaitSetHandle,
        timeout_ns: i64,
        keys: *mut u64,
        cap: usize,
        n: *mut usize,
    ) -> Status {
        let (ws, n) = (obj(ws, "ws")?, args::out(n, "n")?);
        *n = 0;
        let keys = if cap == 0 { &mut [][..] } else { output(keys.cast(), args::byte_len(cap, 8)?, "keys")? };
        let timeout = args::timeout(timeout_ns);
        if ws.0.is_empty() && timeout.is_none() {
            return Err(Error::invalid("wait set", "waiting forever with no source attached").into());
        }
        let deadline = Deadline::after(timeout);
        loop {
            let ready = ws.0.take();
            if !ready.is_empty() {
                return report(&ready, keys, n);
            }
            if !readable(ws.0.as_raw_fd(), &deadline)? {
                return Err(Error::Timeout.into());
            }
        }
    }
}
