//! The atomics, cell and futex operations every lock-free algorithm is written against.
//!
//! In a normal build these are `core`'s atomics and real futexes. Under `--cfg loom` they are
//! loom's, and the futex is emulated with a loom mutex and condition variable (checking the
//! value and sleeping happen under the mutex, and waking takes it, so no wake-up is lost — the
//! same guarantee the kernel gives). Algorithms keep their shared state in `#[repr(C)]` headers
//! of these types: a build maps them onto segment bytes, a loom model allocates them on the heap.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicU32, AtomicU64};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// A cell for data the algorithm hands from thread to thread (a queue slot's value), with loom's
/// API: access goes through `with`/`with_mut` closures, so that under loom every access is
/// checked against concurrent ones. `#[repr(transparent)]`: in a normal build it is exactly `T`'s
/// bytes and can be mapped onto a segment.
#[cfg(not(loom))]
#[repr(transparent)]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a pointer for reading the value.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a pointer for writing the value.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Tells the CPU we are spinning (a no-op under loom, which yields instead).
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Sleeps while `*word == expected`, at most `timeout` (ignored under loom).
#[cfg(not(loom))]
#[inline]
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<std::time::Duration>) -> crate::futex::Wake {
    crate::futex::wait(word, expected, timeout)
}

/// Wakes up to `n` waiters on `word`.
#[cfg(not(loom))]
#[inline]
pub(crate) fn futex_wake(word: &AtomicU32, n: u32) -> usize {
    crate::futex::wake(word, n)
}

#[cfg(loom)]
mod emulated {
    use super::AtomicU32;
    use crate::futex::Wake;
    use loom::sync::{Condvar, Mutex};
    use std::sync::atomic::Ordering;

    loom::lazy_static! {
        static ref PARK: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());
    }

    pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, _timeout: Option<std::time::Duration>) -> Wake {
        let (lock, cv) = &*PARK;
        let guard = lock.lock().unwrap();
        if word.load(Ordering::SeqCst) != expected {
            return Wake::Changed;
        }
        drop(cv.wait(guard).unwrap());
        Wake::Woken
    }

    pub(crate) fn futex_wake(_word: &AtomicU32, _n: u32) -> usize {
        let (lock, cv) = &*PARK;
        let mut guard = lock.lock().unwrap();
        *guard += 1;
        cv.notify_all();
        1
    }
}

#[cfg(loom)]
pub(crate) use emulated::{futex_wait, futex_wake};
