//! Closing a queue — what ZeroIPC's `channel` and `stream` add over a queue: after
//! [`Queue::close`] pushes fail with [`Error::Closed`], consumers take everything pushed before
//! the close and then get [`Error::Closed`] too, and every sleeper wakes.
//!
//! The close is exact: a push either claimed its position before the close (and is delivered)
//! or fails. Two words on the event counts' line (read-mostly) hold the state: `closed`
//! ([`OPEN`], [`CLOSING`], [`CLOSED`]) and `end`, the position claims stopped at.
//!
//! **SPSC**: only the producer writes `tail`, so only the producer closes (a [`Queue::close`]
//! takes the producer role for the call): it stores `end = tail`, then release-stores
//! `CLOSED`. Its handle remembers that it closed, and a successor reads `closed` when it takes
//! the role, so pushes check nothing shared.
//!
//! **MPSC, MPMC** (any process closes): producers claim positions by compare-and-swap of
//! `tail`, so the closer stops claims by moving `tail` far ahead with a compare-and-swap of its
//! own:
//!
//! ```text
//! closer                                   producer
//! closed = CLOSING                         t = tail
//! CAS tail t → t + CLOSE_JUMP: end = t     seq(t) == t: CAS tail t → t + 1: claimed t < end
//! end = t; closed = CLOSED (release)       else "full": fence(acquire); closed != OPEN → Closed
//! wake every sleeper
//! ```
//!
//! In `tail`'s modification order every successful claim is before the jump (its position is
//! below `end`) or would have to follow it from the moved value — whose slot looks full
//! ([`CLOSE_JUMP`] keeps the difference negative), so the producer takes the full path, acquires
//! the jump and with it `CLOSING`, and fails. Nothing moves `tail` after the jump. Every reader of
//! `tail` subtracts the jump again ([`Raw::claimed_end`]: `tail - head` of at least
//! `CLOSE_JUMP / 2` is a moved tail; a live queue's is at most its capacity).
//!
//! A consumer at an empty slot at `head` returns `Closed` if `closed == CLOSED` and `head ==
//! end`; below `end` a claimed push is in flight (or its producer died: a survivor lays a
//! tombstone, as always), so it waits. Whoever finds `CLOSING` — a closer killed between its
//! stores — finishes the close itself: the jump, `end` and `CLOSED` are idempotent (a second
//! settler sees the moved tail and derives the same `end`).

use super::raw::*;
use super::*;
use crate::layout::kinds::queue::{CLOSED, CLOSE_JUMP, CLOSING, OPEN};
use crate::sys::atomics::fence;
use std::sync::atomic::Ordering::AcqRel;

/// `tail - head` at or beyond this: a close moved the tail.
const JUMPED: u64 = CLOSE_JUMP / 2;

impl<E: Element> Raw<E> {
    /// `tail`, without the jump a close adds. `head` was loaded before: it is at most `tail`.
    pub(crate) fn claimed_end(&self, head: u64) -> u64 {
        let t = self.idx().tail.0.load(Acquire);
        if t.wrapping_sub(head) >= JUMPED {
            t.wrapping_sub(CLOSE_JUMP)
        } else {
            t
        }
    }

    /// Whether the queue is closed. `vyukov` (MPSC, MPMC): a close found begun is finished first,
    /// so that no push succeeds after this returns true.
    pub(crate) fn is_closed(&self, vyukov: bool) -> bool {
        match self.idx().closed.load(Acquire) {
            CLOSED => true,
            CLOSING if vyukov => {
                self.settle_close();
                true
            }
            _ => false,
        }
    }

    /// Closes a multi-producer queue (any process, any handle). Idempotent.
    pub(crate) fn mp_close(&self) {
        if self.idx().closed.load(Acquire) == CLOSED {
            return;
        }
        // Ordered before the jump by the jump's release: a producer acquiring the moved tail
        // sees it.
        let _ = self.idx().closed.compare_exchange(OPEN, CLOSING, Relaxed, Relaxed);
        self.settle_close();
    }

    /// Finishes a close that has begun: stops claims by moving `tail` (once), records `end`,
    /// publishes `CLOSED` and wakes every sleeper. Idempotent and safe to run concurrently.
    #[cold]
    pub(super) fn settle_close(&self) {
        let head = self.idx().head.0.head.load(Acquire);
        let tail = &self.idx().tail.0;
        let mut t = tail.load(Acquire);
        let end = loop {
            if t.wrapping_sub(head) >= JUMPED {
                break t.wrapping_sub(CLOSE_JUMP); // moved already
            }
            match tail.compare_exchange(t, t.wrapping_add(CLOSE_JUMP), AcqRel, Acquire) {
                Ok(_) => break t,
                Err(now) => t = now,
            }
        };
        self.idx().end.store(end, Relaxed);
        self.idx().closed.store(CLOSED, Release);
        self.wake_all();
    }

    /// Closes an SPSC queue: called by its one producer, whose state is `tx`. Idempotent.
    pub(crate) fn spsc_close(&self, tx: &mut TxState) {
        if !tx.closed {
            self.idx().end.store(tx.tail, Relaxed);
            // Release: every slot below `end` was stamped before.
            self.idx().closed.store(CLOSED, Release);
            tx.closed = true;
        }
        self.wake_all();
    }

    /// Whether an SPSC queue was closed, for a producer taking the role.
    pub(super) fn spsc_closed(&self) -> bool {
        self.idx().closed.load(Acquire) == CLOSED
    }

    fn wake_all(&self) {
        self.idx().not_empty.notify_all();
        self.idx().not_full.notify_all();
    }

    /// On a multi-producer push's full path: whether a close has begun. The tail the producer
    /// read may be one a close moved (its slot looks full): the fence acquires the move, and with
    /// it `CLOSING`. A close found begun is finished first, so a refused push follows the close.
    /// Inlined: producers spinning on a full queue pay one load of a line they read anyway.
    #[inline(always)]
    pub(super) fn mp_closed(&self) -> bool {
        fence(Acquire);
        let c = self.idx().closed.load(Relaxed);
        c != OPEN && self.mp_closed_slow(c)
    }

    #[cold]
    #[inline(never)]
    fn mp_closed_slow(&self, c: u64) -> bool {
        if c != CLOSED {
            self.settle_close();
        }
        true
    }

    /// On a pop's empty path at `head`: whether the queue is closed and everything pushed before
    /// the close has been taken. `vyukov` (MPSC, MPMC): a close found begun is finished first.
    /// Inlined like [`mp_closed`](Self::mp_closed), for consumers spinning on an empty queue.
    #[inline(always)]
    pub(super) fn drained(&self, head: u64, vyukov: bool) -> bool {
        let c = self.idx().closed.load(Acquire);
        c != OPEN && self.drained_slow(c, head, vyukov)
    }

    #[cold]
    #[inline(never)]
    fn drained_slow(&self, mut c: u64, head: u64, vyukov: bool) -> bool {
        if c == CLOSING && vyukov {
            self.settle_close();
            c = CLOSED;
        }
        // `end` was stored before `CLOSED` (release, acquired above).
        c == CLOSED && (head.wrapping_sub(self.idx().end.load(Relaxed)) as i64) >= 0
    }
}
