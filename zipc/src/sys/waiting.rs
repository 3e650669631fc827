//! Sleeping directly on a structure's own 32-bit counter, with the sleepers counted: how the
//! semaphore, latch and event block.
//!
//! [`EventCount`](crate::sys::event_count) sleeps on a separate epoch word; the sync primitives do not
//! need one, because their state *is* a futex word (a semaphore's count, a latch's count, an
//! event's state), and ZeroIPC's layouts have a field beside it for the number of waiters.
//!
//! * A waiter tries its operation; if it cannot proceed it increments `waiters`, issues a
//!   `SeqCst` fence, and loops: try again, and if that fails sleep with `FUTEX_WAIT` while the
//!   word still holds the value the failed try saw.
//! * A notifier changes the word (releases a permit, counts down, sets), issues a `SeqCst`
//!   fence and reads `waiters`: only if someone waits does it call `FUTEX_WAKE`. So the common
//!   case — nobody waiting — makes no system call.
//!
//! Why no wake-up is lost: waiter and notifier each write one location, fence, and read the
//! other's (the store-buffering pattern), so at least one sees the other's write. Either the
//! notifier sees `waiters > 0` and wakes — a waiter already asleep is woken, and one about to
//! sleep finds the word changed and the kernel refuses to sleep (`EAGAIN`) — or the waiter's
//! retry after its fence sees the change.
//!
//! A killed waiter leaves `waiters` one too high for good: notifiers then make a (harmless)
//! system call they could have skipped.

use std::sync::atomic::Ordering::SeqCst;

use crate::error::Result;
use crate::sys::atomics::{fence, futex_wait, futex_wake, AtomicU32};
use crate::sys::futex::Deadline;

/// Returns the first `Ok` of `attempt`, sleeping on `word` between attempts; each failed attempt
/// returns the value of `word` it saw (the futex's expected value). [`Error::Timeout`] once the
/// deadline passes — checked only after a failed attempt, so a waiter woken at its deadline
/// still takes what it was woken for.
///
/// [`Error::Timeout`]: crate::Error::Timeout
pub(crate) fn wait_until<R>(
    word: &AtomicU32,
    waiters: &AtomicU32,
    deadline: &Deadline,
    mut attempt: impl FnMut() -> std::result::Result<R, u32>,
) -> Result<R> {
    if let Ok(r) = attempt() {
        return Ok(r); // fast path: no read-modify-write of `waiters`
    }
    waiters.fetch_add(1, SeqCst);
    fence(SeqCst); // pairs with the fence in `wake`
    let result = loop {
        match attempt() {
            Ok(r) => break Ok(r),
            Err(seen) => match deadline.remaining() {
                Err(e) => break Err(e),
                Ok(left) => {
                    futex_wait(word, seen, left);
                }
            },
        }
    };
    waiters.fetch_sub(1, SeqCst);
    result
}

/// Wakes up to `n` sleepers of [`wait_until`] on `word`; no system call when `waiters` is 0.
/// Call after making the change visible.
pub(crate) fn wake(word: &AtomicU32, waiters: &AtomicU32, n: u32) {
    fence(SeqCst); // pairs with the fence in `wait_until`
    if waiters.load(SeqCst) != 0 {
        futex_wake(word, n);
    }
}

/// One look for a [`WaitSet`](crate::WaitSet) at a source that sleeps on `word` itself:
/// ready if `test` accepts the value read.
pub(crate) fn probe(word: &AtomicU32, test: impl FnOnce(u32) -> bool) -> crate::sys::wait_set::Probe {
    let v = word.load(SeqCst);
    if test(v) {
        crate::sys::wait_set::Probe::Ready
    } else {
        crate::sys::wait_set::Probe::Pending(v)
    }
}
