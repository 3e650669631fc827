//! Linux futexes on 32-bit words in shared memory.
//!
//! The operations are the *shared* (not `FUTEX_PRIVATE_FLAG`) variants, keyed by the physical
//! page, so a waiter in one process is woken by a waker in another. Waits take an optional
//! timeout and may return early (spuriously, on a signal, or because the value changed): every
//! caller re-checks its condition in a loop against a [`Deadline`].

use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Why a futex wait returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Woken, or returned early for any reason other than the two below.
    Woken,
    /// The word did not hold the expected value.
    Changed,
    /// The timeout elapsed.
    TimedOut,
}

/// Sleeps while `*word == expected`, at most `timeout`.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> Wake {
    // SAFETY: `word` is a valid, aligned u32 for the duration of the borrow.
    unsafe { wait_at(word.as_ptr(), expected, timeout) }
}

/// [`wait`] on the 32-bit word at `addr`, for futex words that Rust accesses as part of a wider
/// atomic (the kernel reads the word; this process never accesses it as a `u32`).
///
/// # Safety
///
/// `addr` must be a valid, 4-aligned address for the duration of the call.
pub(crate) unsafe fn wait_at(addr: *mut u32, expected: u32, timeout: Option<Duration>) -> Wake {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    count_syscall();
    // SAFETY: `addr` is valid and aligned (the caller's promise); FUTEX_WAIT only reads it; the
    // timespec outlives the call.
    let r = unsafe { libc::syscall(libc::SYS_futex, addr, libc::FUTEX_WAIT, expected, ts_ptr, 0usize, 0u32) };
    if r == 0 {
        return Wake::Woken;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => Wake::Changed,
        Some(libc::ETIMEDOUT) => Wake::TimedOut,
        _ => Wake::Woken, // EINTR: the caller re-checks.
    }
}

/// Wakes up to `n` waiters on `word`; returns how many were woken.
pub(crate) fn wake(word: &AtomicU32, n: u32) -> usize {
    wake_at(word.as_ptr(), n)
}

/// [`wake`] for the 32-bit word at `addr` (see [`wait_at`]).
pub(crate) fn wake_at(addr: *mut u32, n: u32) -> usize {
    let n = n.min(i32::MAX as u32) as libc::c_int;
    count_syscall();
    // SAFETY: FUTEX_WAKE does not access memory; an address no one waits on wakes no one.
    let r = unsafe { libc::syscall(libc::SYS_futex, addr, libc::FUTEX_WAKE, n, 0usize, 0usize, 0u32) };
    r.max(0) as usize
}

/// `FUTEX2_SIZE_U32`: a `futex_waitv` entry is a 32-bit word (shared, not private).
#[cfg_attr(loom, allow(dead_code))] // loom emulates futex_waitv
const FUTEX2_SIZE_U32: u32 = 0x02;

/// One entry of `futex_waitv`'s array (`struct futex_waitv` in linux/futex.h).
#[repr(C)]
struct WaitvEntry {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

/// Whether this kernel has `futex_waitv` (Linux 5.16); looked up once per process.
pub(crate) fn waitv_supported() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
    static KNOWN: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 yes, 2 no
    match KNOWN.load(Relaxed) {
        1 => true,
        2 => false,
        _ => {
            // An empty array is refused with EINVAL by a kernel that has the call.
            // SAFETY: a null array of length 0; the kernel reads nothing.
            let r = unsafe {
                libc::syscall(libc::SYS_futex_waitv, std::ptr::null::<WaitvEntry>(), 0u32, 0u32, 0usize, 0i32)
            };
            let yes = !(r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS));
            KNOWN.store(if yes { 1 } else { 2 }, Relaxed);
            yes
        }
    }
}

/// Sleeps while every `word` holds its expected value, until one of them is woken, at most
/// `timeout`. At most [`WAITV_MAX`](crate::sys::wait_set::WAITV_MAX) words; requires
/// [`waitv_supported`]. When woken, also the index of the word whose wake-up did it.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn waitv(words: &[(&AtomicU32, u32)], timeout: Option<Duration>) -> (Wake, Option<usize>) {
    const EMPTY: WaitvEntry = WaitvEntry { val: 0, uaddr: 0, flags: 0, reserved: 0 };
    let mut array = [EMPTY; crate::sys::wait_set::WAITV_MAX];
    let n = words.len().min(array.len());
    for (e, (w, v)) in array.iter_mut().zip(words) {
        *e = WaitvEntry { val: *v as u64, uaddr: w.as_ptr() as u64, flags: FUTEX2_SIZE_U32, reserved: 0 };
    }
    let entries = &array[..n];
    let ts = timeout.map(|t| abs_timespec(libc::CLOCK_MONOTONIC, t));
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    count_syscall();
    // SAFETY: `entries` holds valid, aligned u32 addresses (borrowed for the call) that the kernel
    // only reads; the array and the timespec outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            entries.as_ptr(),
            entries.len() as libc::c_uint,
            0u32,
            ts_ptr,
            libc::CLOCK_MONOTONIC,
        )
    };
    if r >= 0 {
        return (Wake::Woken, Some(r as usize));
    }
    let why = match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => Wake::Changed,
        Some(libc::ETIMEDOUT) => Wake::TimedOut,
        _ => Wake::Woken,
    };
    (why, None)
}

// ---------------------------------------------------------------------------------------------
// Priority-inheritance futexes: the kernel's own lock protocol (futex(2), "Priority-inheritance
// futexes"). The word holds the owner's thread id; the kernel knows who owns the lock, so when
// the owner dies with waiters queued it hands the lock to one of them, and a waiter that finds
// a dead owner's id in the word gets ESRCH instead of sleeping forever.
// ---------------------------------------------------------------------------------------------

/// PI word bit: a waiter is queued in the kernel, so unlocking must go through the kernel.
pub(crate) const PI_WAITERS: u32 = 0x8000_0000;
/// PI word: the owner's thread id.
pub(crate) const PI_TID_MASK: u32 = 0x3fff_ffff;

const FUTEX_LOCK_PI: libc::c_int = 6;
const FUTEX_UNLOCK_PI: libc::c_int = 7;
const FUTEX_TRYLOCK_PI: libc::c_int = 8;
const FUTEX_LOCK_PI2: libc::c_int = 13;

/// What a kernel PI lock attempt did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PiLock {
    /// The calling thread now owns the lock.
    Acquired,
    /// The word names a thread that does not exist: its owner died without waiters queued.
    OwnerGone,
    /// The timeout elapsed (`lock_pi`), or the lock is held (`trylock_pi`).
    NotAcquired,
    /// The calling thread already owns the lock.
    Deadlock,
    /// Interrupted or raced with a change of the word: look again.
    Retry,
    /// `EINVAL`: the kernel's record of the owner disagrees with the word (user space changed
    /// the word while waiters were queued on the old owner). Lasts until those waiters leave.
    Inconsistent,
}

fn pi_result(r: libc::c_long) -> std::result::Result<PiLock, std::io::Error> {
    if r == 0 {
        return Ok(PiLock::Acquired);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ESRCH) => Ok(PiLock::OwnerGone),
        Some(libc::ETIMEDOUT) | Some(libc::EWOULDBLOCK) => Ok(PiLock::NotAcquired),
        Some(libc::EDEADLK) => Ok(PiLock::Deadlock),
        Some(libc::EINTR) | Some(libc::EBUSY) => Ok(PiLock::Retry),
        Some(libc::EINVAL) => Ok(PiLock::Inconsistent),
        _ => Err(e),
    }
}

fn clock_now(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer; both clocks zipc uses always exist on Linux.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

fn abs_timespec(clock: libc::clockid_t, timeout: Duration) -> libc::timespec {
    let at = clock_now(clock).saturating_add(timeout);
    libc::timespec {
        tv_sec: at.as_secs().min(i64::MAX as u64 / 2) as libc::time_t,
        tv_nsec: at.subsec_nanos() as libc::c_long,
    }
}

/// Acquires the PI lock `word` for the calling thread, sleeping in the kernel at most `timeout`
/// (forever if `None`). Call only after the user-space compare-and-swap 0 → tid failed.
pub(crate) fn lock_pi(word: &AtomicU32, timeout: Option<Duration>) -> std::result::Result<PiLock, std::io::Error> {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    // FUTEX_LOCK_PI2 (Linux 5.14) measures the timeout on CLOCK_MONOTONIC, as `Deadline` does;
    // older kernels only have FUTEX_LOCK_PI, which uses CLOCK_REALTIME.
    static NO_PI2: AtomicBool = AtomicBool::new(false);
    loop {
        let pi2 = !NO_PI2.load(Relaxed);
        let (op, clock) =
            if pi2 { (FUTEX_LOCK_PI2, libc::CLOCK_MONOTONIC) } else { (FUTEX_LOCK_PI, libc::CLOCK_REALTIME) };
        let ts = timeout.map(|t| abs_timespec(clock, t));
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        count_syscall();
        // SAFETY: `word` is a valid, aligned u32 in shared memory for the duration of the call;
        // the kernel reads and compare-and-swaps it; the timespec outlives the call.
        let r = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), op, 0, ts_ptr, 0usize, 0u32) };
        if r != 0 && pi2 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
            NO_PI2.store(true, Relaxed);
            continue;
        }
        return pi_result(r);
    }
}

/// Tries once to acquire the PI lock `word` in the kernel, which also detects a dead owner.
pub(crate) fn trylock_pi(word: &AtomicU32) -> std::result::Result<PiLock, std::io::Error> {
    count_syscall();
    // SAFETY: as for `lock_pi`; no timeout.
    let r = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), FUTEX_TRYLOCK_PI, 0, 0usize, 0usize, 0u32) };
    pi_result(r)
}

/// Releases the PI lock `word`, owned by the calling thread, handing it to the highest-priority
/// queued waiter. Fails with `EPERM` if the calling thread is not the owner.
pub(crate) fn unlock_pi(word: &AtomicU32) -> std::result::Result<(), std::io::Error> {
    count_syscall();
    // SAFETY: as for `lock_pi`.
    let r = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), FUTEX_UNLOCK_PI, 0, 0usize, 0usize, 0u32) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Futex and membarrier system calls this process made through zipc.
static SYSCALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts one system call on the blocking paths (a relaxed add beside a system call).
#[inline]
pub(crate) fn count_syscall() {
    SYSCALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Futex and membarrier system calls this process has made through zipc so far.
pub(crate) fn syscalls() -> u64 {
    SYSCALLS.load(std::sync::atomic::Ordering::Relaxed)
}

/// An optional point in time by which a blocking operation must give up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// `timeout` from now; `None` waits forever.
    pub(crate) fn after(timeout: Option<Duration>) -> Deadline {
        Deadline(timeout.map(|t| Instant::now().checked_add(t).unwrap_or_else(far_future)))
    }

    /// The earlier of this deadline and `cap` from now.
    pub(crate) fn capped(&self, cap: Duration) -> Deadline {
        let soon = Instant::now().checked_add(cap).unwrap_or_else(far_future);
        Deadline(Some(self.0.map_or(soon, |at| at.min(soon))))
    }

    /// Whether the deadline has passed (never, without one).
    pub(crate) fn passed(&self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }

    /// Time left: `Ok(None)` for no deadline, `Err(Timeout)` once it has passed.
    pub(crate) fn remaining(&self) -> Result<Option<Duration>> {
        match self.0 {
            None => Ok(None),
            Some(at) => {
                let now = Instant::now();
                if now >= at {
                    Err(Error::Timeout)
                } else {
                    Ok(Some(at - now))
                }
            }
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn wait_sees_changed_value_and_times_out() {
        let w = AtomicU32::new(1);
        assert_eq!(wait(&w, 0, None), Wake::Changed);
        let t = Instant::now();
        assert_eq!(wait(&w, 1, Some(Duration::from_millis(20))), Wake::TimedOut);
        assert!(t.elapsed() >= Duration::from_millis(20));
        assert_eq!(wake(&w, 1), 0);
    }

    #[test]
    fn wake_releases_a_waiter() {
        let w = std::sync::Arc::new(AtomicU32::new(0));
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            while w2.load(Ordering::Acquire) == 0 {
                wait(&w2, 0, Some(Duration::from_secs(30)));
            }
        });
        w.store(1, Ordering::Release);
        wake(&w, 1);
        t.join().unwrap();
    }
}
