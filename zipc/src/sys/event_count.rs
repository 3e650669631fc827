//! [`EventCount`]: how every blocking operation sleeps, and how the side that makes progress
//! wakes it without a system call when nobody sleeps.
//!
//! Two 32-bit words in shared memory: `epoch`, the futex word, and `waiters`, how many
//! processes are inside [`EventCount::wait_until`].
//!
//! * A waiter increments `waiters`, then loops: read `epoch`, test its condition, sleep on
//!   `epoch` while it still holds the value read.
//! * A notifier first makes the condition true (pushes an element, releases a permit), then
//!   issues a `SeqCst` fence and reads `waiters`. Only if someone waits does it bump `epoch` and
//!   call `FUTEX_WAKE`.
//!
//! Why no wake-up is lost: the waiter increments `waiters` then fences (`SeqCst`), the notifier
//! publishes its change then fences; of two such fences one is first, so either the notifier
//! sees the waiter (`waiters > 0`) or the waiter's condition test sees the change. Otherwise the notifier bumps `epoch`:
//! either the waiter read the old epoch and the kernel sees the new one (`EAGAIN`, no sleep) or
//! it is already asleep and `FUTEX_WAKE` wakes it; if it read the new epoch, the condition change
//! happened before the bump and its test sees it.
//!
//! The `*_asymmetric` variants move the cost of that pairing to the waiter: the notifier's fence
//! becomes a compiler fence and the waiter's a `membarrier` system call
//! ([`crate::sys::asymmetric_fence`]). Structures whose notifier runs on every operation (queues) use
//! them; an event count must use one pairing consistently.

use std::sync::atomic::Ordering::SeqCst;

use crate::error::Result;
use crate::sys::asymmetric_fence;
use crate::sys::atomics::{fence, futex_wait, futex_wake, AtomicU32};
use crate::sys::futex::Deadline;

/// Size of an [`EventCount`] in a segment: two u32 words.
pub(crate) const SIZE: u64 = 8;

/// A waiter-counted futex. `#[repr(C)]`: `epoch` at offset 0, `waiters` at 4.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct EventCount {
    epoch: AtomicU32,
    waiters: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<EventCount>() as u64 == SIZE);

impl EventCount {
    /// A fresh event count (both words zero; a zero-filled segment region is one too).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        EventCount { epoch: AtomicU32::new(0), waiters: AtomicU32::new(0) }
    }

    /// Returns the first `Some` that `ready` yields, sleeping between attempts until a notifier
    /// makes progress; [`Error::Timeout`](crate::Error::Timeout) at the deadline.
    pub(crate) fn wait_until<R>(&self, deadline: Deadline, ready: impl FnMut() -> Option<R>) -> Result<R> {
        self.wait_with(deadline, ready, || {
            fence(SeqCst);
            true
        })
    }

    /// [`wait_until`](Self::wait_until) for event counts whose notifiers use the asymmetric
    /// variants ([`notify_one_asymmetric`](Self::notify_one_asymmetric), ...): the waiter pays
    /// for the handshake with a heavy barrier (see [`crate::sys::asymmetric_fence`]).
    pub(crate) fn wait_until_asymmetric<R>(&self, deadline: Deadline, ready: impl FnMut() -> Option<R>) -> Result<R> {
        self.wait_with(deadline, ready, asymmetric_fence::heavy)
    }

    /// The waiter's side. `barrier` orders the `waiters` increment before the condition test; it
    /// returns `false` if it could not, and then no sleep may be unbounded.
    fn wait_with<R>(
        &self,
        deadline: Deadline,
        mut ready: impl FnMut() -> Option<R>,
        barrier: impl FnOnce() -> bool,
    ) -> Result<R> {
        if let Some(r) = ready() {
            return Ok(r);
        }
        self.waiters.fetch_add(1, SeqCst);
        // Pairs with the notifier's fence (store-buffering: each side stores, fences, loads).
        let paired = barrier();
        let result = loop {
            let epoch = self.epoch.load(SeqCst);
            if let Some(r) = ready() {
                break Ok(r);
            }
            match deadline.remaining() {
                Err(e) => break Err(e),
                Ok(left) => {
                    let left = if paired {
                        left
                    } else {
                        Some(left.map_or(asymmetric_fence::DEGRADED_POLL, |l| l.min(asymmetric_fence::DEGRADED_POLL)))
                    };
                    futex_wait(&self.epoch, epoch, left);
                }
            }
        };
        self.waiters.fetch_sub(1, SeqCst);
        result
    }

    /// Wakes every waiter, if there is any. Call after making progress visible.
    pub(crate) fn notify_all(&self) {
        fence(SeqCst);
        self.wake_if_waiting(u32::MAX)
    }

    /// Wakes one waiter, if there is any. Only for conditions any single waiter can consume
    /// (a woken waiter that finds nothing goes back to sleep, so prefer `notify_all` when
    /// waiters wait for different things).
    pub(crate) fn notify_one(&self) {
        fence(SeqCst);
        self.wake_if_waiting(1)
    }

    /// [`notify_all`](Self::notify_all) with the fast side's light barrier; pairs only with
    /// [`wait_until_asymmetric`](Self::wait_until_asymmetric).
    #[inline(always)]
    pub(crate) fn notify_all_asymmetric(&self) {
        asymmetric_fence::light();
        self.wake_if_waiting(u32::MAX)
    }

    /// [`notify_one`](Self::notify_one) with the fast side's light barrier; pairs only with
    /// [`wait_until_asymmetric`](Self::wait_until_asymmetric).
    #[inline(always)]
    pub(crate) fn notify_one_asymmetric(&self) {
        asymmetric_fence::light();
        self.wake_if_waiting(1)
    }

    /// Wakes every waiter whether or not `waiters` says there is one: bumps `epoch` and calls
    /// `FUTEX_WAKE` unconditionally (a system call). For rare events that must reach every
    /// sleeper, such as closing a ring or a topic; pairs with either `wait_until` variant without
    /// any fence: a waiter that read the epoch before the bump fails its futex wait (`EAGAIN`) or
    /// is woken, and one that read it after the bump sees, through the bump's read-modify-write,
    /// every store made before this call.
    #[cold]
    pub(crate) fn notify_all_unconditionally(&self) {
        self.wake(u32::MAX)
    }

    /// The notifier's side, after its barrier: a load, and a system call only if someone waits.
    #[inline(always)]
    fn wake_if_waiting(&self, n: u32) {
        if self.waiters.load(SeqCst) != 0 {
            self.wake(n);
        }
    }

    #[cold]
    #[inline(never)]
    fn wake(&self, n: u32) {
        self.epoch.fetch_add(1, SeqCst);
        futex_wake(&self.epoch, n);
    }

    /// Where a [`WaitSet`](crate::WaitSet) sleeps for this event count; `asymmetric` if its
    /// notifiers use the `*_asymmetric` variants.
    pub(crate) fn sleep_point(&self, asymmetric: bool) -> crate::sys::wait_set::SleepPoint {
        crate::sys::wait_set::SleepPoint::new(&self.epoch, &self.waiters, asymmetric)
    }

    /// One look for a [`WaitSet`](crate::WaitSet): reads the epoch, then tests `ready`, as a
    /// turn of [`wait_until`](Self::wait_until)'s loop does.
    pub(crate) fn probe(&self, ready: impl FnOnce() -> bool) -> crate::sys::wait_set::Probe {
        let epoch = self.epoch.load(SeqCst);
        if ready() {
            crate::sys::wait_set::Probe::Ready
        } else {
            crate::sys::wait_set::Probe::Pending(epoch)
        }
    }

    /// Number of processes currently waiting (for inspection; approximate under concurrency).
    pub(crate) fn waiters(&self) -> u32 {
        self.waiters.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::{Acquire, Release};

    /// A waiter and a notifier: the waiter always returns, having seen the flag.
    #[test]
    fn loom_event_count_no_lost_wakeup() {
        loom::model(|| {
            let ec = Arc::new(EventCount::new());
            let flag = Arc::new(AtomicBool::new(false));
            let (ec2, flag2) = (ec.clone(), flag.clone());
            let notifier = loom::thread::spawn(move || {
                flag2.store(true, Release);
                ec2.notify_all();
            });
            let seen = ec.wait_until(Deadline::after(None), || flag.load(Acquire).then_some(())).unwrap();
            assert_eq!(seen, ());
            notifier.join().unwrap();
        });
    }

    /// Two waiters, one notifier with notify_one per token: both tokens are consumed.
    #[test]
    fn loom_event_count_two_waiters() {
        loom::model(|| {
            let ec = Arc::new(EventCount::new());
            let tokens = Arc::new(AtomicU32::new(0));
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let (ec, tokens) = (ec.clone(), tokens.clone());
                    loom::thread::spawn(move || {
                        // Take a token; "no token" only when the count is really zero.
                        ec.wait_until(Deadline::after(None), || loop {
                            let t = tokens.load(Acquire);
                            if t == 0 {
                                return None;
                            }
                            if tokens.compare_exchange(t, t - 1, Acquire, Acquire).is_ok() {
                                return Some(());
                            }
                        })
                        .unwrap()
                    })
                })
                .collect();
            for _ in 0..2 {
                tokens.fetch_add(1, Release);
                ec.notify_all();
            }
            for w in waiters {
                w.join().unwrap();
            }
            assert_eq!(tokens.load(Acquire), 0);
        });
    }
}
