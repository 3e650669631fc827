//! [`Bell`]: a process-local futex word that a helper thread sleeping in a
//! [`WaitSet`](crate::WaitSet) also sleeps on, so that another thread of the process can get its
//! attention — to hand it new sources, take some away, or stop it.
//!
//! It is rung the way every structure notifies (`waiting.rs`): change the word, fence, and wake
//! only if the helper counted itself as waiting. A ring while the helper is busy costs no system
//! call.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::Duration;

use crate::sys::atomics::{fence, futex_wait, AtomicU32};
use crate::sys::wait_set::{Probe, SleepPoint, Source};
use crate::sys::waiting;

/// A word and its waiter count, shared by the threads of one process.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bell(Arc<Words>);

#[derive(Debug, Default)]
struct Words {
    word: AtomicU32,
    waiters: AtomicU32,
}

impl Bell {
    pub(crate) fn new(initial: u32) -> Self {
        Bell(Arc::new(Words { word: AtomicU32::new(initial), waiters: AtomicU32::new(0) }))
    }

    /// The word's value now.
    pub(crate) fn value(&self) -> u32 {
        self.0.word.load(SeqCst)
    }

    /// Changes the word with `f` (a read-modify-write returning the old value, such as
    /// `fetch_or`) and wakes whoever sleeps on it. Returns the old value.
    pub(crate) fn update(&self, f: impl FnOnce(&AtomicU32) -> u32) -> u32 {
        let old = f(&self.0.word);
        waiting::wake(&self.0.word, &self.0.waiters, u32::MAX);
        old
    }

    /// Adds one to the word and wakes whoever sleeps on it.
    pub(crate) fn ring(&self) {
        self.update(|w| w.fetch_add(1, SeqCst));
    }

    /// Sleeps while the word holds `value`, at most `timeout`; may return early.
    pub(crate) fn sleep_while(&self, value: u32, timeout: Option<Duration>) {
        self.0.waiters.fetch_add(1, SeqCst);
        fence(SeqCst); // pairs with the fence in `update`
        if self.0.word.load(SeqCst) == value {
            futex_wait(&self.0.word, value, timeout);
        }
        self.0.waiters.fetch_sub(1, SeqCst);
    }

    /// A wait-set source that is ready once the word no longer holds `value`.
    pub(crate) fn source(&self, value: u32) -> Source {
        Source::new(
            self.0.clone(),
            |w| SleepPoint::new(&w.word, &w.waiters, false),
            move |w| match w.word.load(SeqCst) {
                v if v == value => Probe::Pending(v),
                _ => Probe::Ready,
            },
        )
    }
}
