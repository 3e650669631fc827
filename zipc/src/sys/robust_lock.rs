//! A cross-process lock that survives its holder's death: the table lock.
//!
//! Two words in shared memory:
//!
//! * `word` (u32, a futex): 0 when free, else the holder's pid, with bit 31 set when a waiter may
//!   be sleeping (so an uncontended unlock makes no system call);
//! * `owner` (u64): `pid << 40 | start_time`, written right after acquiring, so a waiter can tell
//!   a live holder from a dead one whose pid was reused.
//!
//! A waiter sleeps on the futex, but never longer than [`POLL`] at a time: after each sleep it
//! checks whether the holder is still alive ([`crate::sys::process`]), and if not takes the lock over
//! with a compare-and-swap (so of several waiters exactly one does) and reports the recovery. An
//! unlock wakes a waiter at once; only the death of a holder is noticed by polling.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::error::Result;
use crate::sys::futex::{self, Deadline};
use crate::sys::process::{self, ProcessId, START_MASK};

/// Set in the lock word while a waiter may be sleeping.
pub(crate) const WAITERS: u32 = 1 << 31;
/// The pid part of the lock word.
pub(crate) const PID_MASK: u32 = (1 << 30) - 1;
/// Longest single sleep before re-checking the holder's liveness.
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// The words of a robust lock, wherever they live.
#[derive(Clone, Copy)]
pub(crate) struct RobustLock<'a> {
    pub word: &'a AtomicU32,
    pub owner: &'a AtomicU64,
    pub recoveries: &'a AtomicU32,
}

/// Proof of holding a [`RobustLock`]; unlocks on drop.
pub(crate) struct RobustGuard<'a> {
    lock: RobustLock<'a>,
}

fn tag(p: ProcessId) -> u64 {
    ((p.pid as u64) << 40) | (p.start_time & START_MASK)
}

impl<'a> RobustLock<'a> {
    /// Acquires the lock, waiting at most `timeout` (forever if `None`). If the previous holder
    /// died holding it, `recoveries` is incremented: whatever the lock protects may be
    /// half-changed, and the new holder must repair or ignore the leftovers.
    pub(crate) fn lock(self, timeout: Option<Duration>) -> Result<RobustGuard<'a>> {
        let me = process::current();
        let deadline = Deadline::after(timeout);
        let mut locked_value = me.pid;
        loop {
            let cur = self.word.load(Ordering::Relaxed);
            if cur == 0 {
                if self.word.compare_exchange(0, locked_value, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                    self.owner.store(tag(me), Ordering::Release);
                    return Ok(RobustGuard { lock: self });
                }
                continue;
            }
            let holder = cur & PID_MASK;
            if !self.holder_alive(holder, me) {
                // Take over from the dead holder; keep the waiters bit, others may sleep.
                if self.word.compare_exchange(cur, me.pid | WAITERS, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                    self.owner.store(tag(me), Ordering::Release);
                    self.recoveries.fetch_add(1, Ordering::Relaxed);
                    return Ok(RobustGuard { lock: self });
                }
                continue;
            }
            if cur & WAITERS == 0
                && self.word.compare_exchange(cur, cur | WAITERS, Ordering::Relaxed, Ordering::Relaxed).is_err()
            {
                continue;
            }
            let sleep = match deadline.remaining()? {
                Some(left) => left.min(POLL),
                None => POLL,
            };
            futex::wait(self.word, cur | WAITERS, Some(sleep));
            // Having slept, we may not be the only waiter: acquire with the waiters bit set so the
            // next unlock wakes whoever else sleeps.
            locked_value = me.pid | WAITERS;
        }
    }

    fn holder_alive(&self, holder: u32, me: ProcessId) -> bool {
        if holder == me.pid {
            return true; // another thread of this process
        }
        let Some(start) = process::start_time(holder) else {
            return false;
        };
        let owner = self.owner.load(Ordering::Acquire);
        // The holder may not have written `owner` yet; only a matching pid with a different
        // start time proves the pid was reused.
        !((owner >> 40) as u32 == holder && owner & START_MASK != start)
    }
}

impl Drop for RobustGuard<'_> {
    fn drop(&mut self) {
        self.lock.owner.store(0, Ordering::Relaxed);
        if self.lock.word.swap(0, Ordering::Release) & WAITERS != 0 {
            futex::wake(self.lock.word, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32 as Counter;
    use std::sync::Arc;

    struct Words {
        word: AtomicU32,
        owner: AtomicU64,
        recoveries: AtomicU32,
    }

    impl Words {
        fn lock(&self) -> RobustLock<'_> {
            RobustLock { word: &self.word, owner: &self.owner, recoveries: &self.recoveries }
        }
    }

    fn words() -> Arc<Words> {
        Arc::new(Words { word: AtomicU32::new(0), owner: AtomicU64::new(0), recoveries: AtomicU32::new(0) })
    }

    #[test]
    fn mutual_exclusion_between_threads() {
        let w = words();
        let inside = Arc::new(Counter::new(0));
        let total = Arc::new(Counter::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (w, inside, total) = (w.clone(), inside.clone(), total.clone());
                std::thread::spawn(move || {
                    for _ in 0..2000 {
                        let _g = w.lock().lock(None).unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        total.fetch_add(1, Ordering::Relaxed);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(total.load(Ordering::Relaxed), 8000);
        assert_eq!(w.word.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_dead_holder_is_recovered_from() {
        let w = words();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        // Pretend the exited child held the lock.
        w.word.store(pid, Ordering::Relaxed);
        w.owner.store((pid as u64) << 40 | 12345, Ordering::Relaxed);
        let g = w.lock().lock(Some(Duration::from_secs(30))).unwrap();
        assert_eq!(w.recoveries.load(Ordering::Relaxed), 1);
        drop(g);
        drop(w.lock().lock(None).unwrap());
        assert_eq!(w.recoveries.load(Ordering::Relaxed), 1, "a clean unlock needs no recovery");
    }

    #[test]
    fn a_live_holder_times_the_waiter_out() {
        let w = words();
        let held = w.lock().lock(None).unwrap();
        let w2 = w.clone();
        let r = std::thread::spawn(move || w2.lock().lock(Some(Duration::from_millis(50))).map(|_| ())).join().unwrap();
        assert!(matches!(r, Err(crate::Error::Timeout)));
        drop(held);
    }
}
