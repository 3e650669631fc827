//! The atomics, cell and futex operations every lock-free algorithm is written against.
//!
//! In a normal build these are `core`'s atomics and real futexes. Under `--cfg loom` they are
//! loom's, and the futex is emulated with a loom mutex and condition variable (checking the
//! value and sleeping happen under the mutex, and waking takes it, so no wake-up is lost — the
//! same guarantee the kernel gives), and a wake-up of `n` releases at most `n` sleepers of that
//! word, as the kernel does. Algorithms keep their shared state in `#[repr(C)]` headers
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
pub(crate) fn futex_wait(
    word: &AtomicU32,
    expected: u32,
    timeout: Option<std::time::Duration>,
) -> crate::sys::futex::Wake {
    crate::sys::futex::wait(word, expected, timeout)
}

/// Wakes up to `n` waiters on `word`.
/// Sleeps on several words at once (`futex_waitv`); see [`crate::sys::futex::waitv`].
#[cfg(not(loom))]
#[inline]
pub(crate) fn futex_waitv(
    words: &[(&AtomicU32, u32)],
    timeout: Option<std::time::Duration>,
) -> (crate::sys::futex::Wake, Option<usize>) {
    crate::sys::futex::waitv(words, timeout)
}

#[cfg(not(loom))]
#[inline]
pub(crate) fn futex_wake(word: &AtomicU32, n: u32) -> usize {
    crate::sys::futex::wake(word, n)
}

/// Sleeps while the upper half of `word` (its bytes 4..8, little-endian: the second u32 in
/// memory) equals `expected`, at most `timeout` (ignored under loom). For two 32-bit fields that
/// an algorithm updates together with one 64-bit compare-and-swap.
#[cfg(not(loom))]
#[inline]
pub(crate) fn futex_wait_hi(
    word: &AtomicU64,
    expected: u32,
    timeout: Option<std::time::Duration>,
) -> crate::sys::futex::Wake {
    // SAFETY: bytes 4..8 of an aligned AtomicU64 are a valid, 4-aligned u32 address; only the
    // kernel reads it as a u32 (this process accesses the word only as a 64-bit atomic).
    unsafe { crate::sys::futex::wait_at(hi_half(word), expected, timeout) }
}

/// Wakes up to `n` waiters sleeping in [`futex_wait_hi`] on `word`.
#[cfg(not(loom))]
#[inline]
pub(crate) fn futex_wake_hi(word: &AtomicU64, n: u32) -> usize {
    crate::sys::futex::wake_at(hi_half(word), n)
}

#[cfg(not(loom))]
fn hi_half(word: &AtomicU64) -> *mut u32 {
    const _: () = assert!(cfg!(target_endian = "little"), "zipc's format is little-endian");
    // In bounds: an AtomicU64 is 8 bytes.
    word.as_ptr().cast::<u32>().wrapping_add(1)
}

#[cfg(loom)]
mod emulated {
    //! The kernel's futex, modelled: a list of sleepers, each with the address it sleeps on.
    //! `futex_wait` checks the value and enqueues under one mutex (the kernel's hash-bucket
    //! lock); `futex_wake(n)` dequeues up to `n` sleepers of that address, oldest first, and
    //! only those return. So a model whose algorithm wakes too few waiters deadlocks under loom,
    //! as it would hang for real.
    use super::{AtomicU32, AtomicU64};
    use crate::sys::futex::Wake;
    use loom::sync::{Condvar, Mutex};
    use std::sync::atomic::Ordering;

    #[derive(Default)]
    struct Sleepers {
        next_ticket: u64,
        queue: Vec<(usize, u64)>,
    }

    loom::lazy_static! {
        static ref PARK: (Mutex<Sleepers>, Condvar) = (Mutex::new(Sleepers::default()), Condvar::new());
    }

    fn sleep(addr: usize, still_expected: impl FnOnce() -> bool) -> Wake {
        sleep_many(&[addr], still_expected)
    }

    /// Sleeps on every address in `addrs` under one ticket: a wake of any of them wakes it.
    fn sleep_many(addrs: &[usize], still_expected: impl FnOnce() -> bool) -> Wake {
        let (lock, cv) = &*PARK;
        let mut guard = lock.lock().unwrap();
        if !still_expected() {
            return Wake::Changed;
        }
        let ticket = guard.next_ticket;
        guard.next_ticket += 1;
        for &a in addrs {
            guard.queue.push((a, ticket));
        }
        while guard.queue.iter().any(|&(_, t)| t == ticket) {
            guard = cv.wait(guard).unwrap();
        }
        Wake::Woken
    }

    fn wake(addr: usize, n: u32) -> usize {
        let (lock, cv) = &*PARK;
        let mut guard = lock.lock().unwrap();
        let mut woken: Vec<u64> = Vec::new();
        for &(a, t) in guard.queue.iter() {
            if a == addr && woken.len() < n as usize && !woken.contains(&t) {
                woken.push(t);
            }
        }
        // A ticket queued on several addresses (futex_waitv) leaves all of them.
        guard.queue.retain(|&(_, t)| !woken.contains(&t));
        let woken = woken.len();
        if woken > 0 {
            cv.notify_all();
        }
        woken
    }

    pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, _timeout: Option<std::time::Duration>) -> Wake {
        sleep(word as *const AtomicU32 as usize, || word.load(Ordering::SeqCst) == expected)
    }

    pub(crate) fn futex_wake(word: &AtomicU32, n: u32) -> usize {
        wake(word as *const AtomicU32 as usize, n)
    }

    /// Never names the word that woke it (the wait set then probes every source).
    pub(crate) fn futex_waitv(
        words: &[(&AtomicU32, u32)],
        _timeout: Option<std::time::Duration>,
    ) -> (Wake, Option<usize>) {
        let addrs: Vec<usize> = words.iter().map(|(w, _)| *w as *const AtomicU32 as usize).collect();
        (sleep_many(&addrs, || words.iter().all(|(w, v)| w.load(Ordering::SeqCst) == *v)), None)
    }

    // The upper half of a 64-bit word is its own futex address, 4 bytes in.
    pub(crate) fn futex_wait_hi(word: &AtomicU64, expected: u32, _timeout: Option<std::time::Duration>) -> Wake {
        sleep(word as *const AtomicU64 as usize + 4, || (word.load(Ordering::SeqCst) >> 32) as u32 == expected)
    }

    pub(crate) fn futex_wake_hi(word: &AtomicU64, n: u32) -> usize {
        wake(word as *const AtomicU64 as usize + 4, n)
    }
}

#[cfg(loom)]
pub(crate) use emulated::{futex_wait, futex_wait_hi, futex_waitv, futex_wake, futex_wake_hi};
