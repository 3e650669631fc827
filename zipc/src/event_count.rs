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

use std::sync::atomic::Ordering::SeqCst;

use crate::atomics::{fence, futex_wait, futex_wake, AtomicU32};
use crate::error::Result;
use crate::futex::Deadline;

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
    pub(crate) fn wait_until<R>(&self, deadline: Deadline, mut ready: impl FnMut() -> Option<R>) -> Result<R> {
        if let Some(r) = ready() {
            return Ok(r);
        }
        self.waiters.fetch_add(1, SeqCst);
        // Pairs with the notifier's fence (store-buffering: each side stores, fences, loads).
        fence(SeqCst);
        let result = loop {
            let epoch = self.epoch.load(SeqCst);
            if let Some(r) = ready() {
                break Ok(r);
            }
            match deadline.remaining() {
                Err(e) => break Err(e),
                Ok(left) => {
                    futex_wait(&self.epoch, epoch, left);
                }
            }
        };
        self.waiters.fetch_sub(1, SeqCst);
        result
    }

    /// Wakes every waiter, if there is any. Call after making progress visible.
    pub(crate) fn notify_all(&self) {
        self.notify(u32::MAX)
    }

    /// Wakes one waiter, if there is any. Only for conditions any single waiter can consume
    /// (a woken waiter that finds nothing goes back to sleep, so prefer `notify_all` when
    /// waiters wait for different things).
    pub(crate) fn notify_one(&self) {
        self.notify(1)
    }

    fn notify(&self, n: u32) {
        fence(SeqCst);
        if self.waiters.load(SeqCst) != 0 {
            self.epoch.fetch_add(1, SeqCst);
            futex_wake(&self.epoch, n);
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
