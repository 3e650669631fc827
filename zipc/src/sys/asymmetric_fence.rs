//! Asymmetric fences: a free barrier on the fast path, paid for by an expensive one on the rare
//! path. This is how a queue push can wake a sleeping consumer without a full fence per push.
//!
//! A blocking structure is a Dekker-style handshake (see [`EventCount`](crate::sys::event_count)): the
//! side making progress *stores* its progress and then *loads* the waiter count; a waiter *stores*
//! its registration and then *loads* the progress. Each side needs its store ordered before its
//! load (StoreLoad), which on x86 and ARM takes a full fence (`mfence`/`dmb ish`). On the fast path
//! that fence waits for the store to the index line to leave the store buffer, i.e. for a
//! cross-core cache-line round trip on every push: measured on this project's build machine, an
//! SPSC queue drops from ~230-340 M to ~64 M messages/s with a `fence(SeqCst)` after each push.
//!
//! Linux's `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)` makes the order one-sided. It executes a
//! full barrier on every CPU currently running a thread of a process registered with
//! `MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED` (a thread that is not running is past a context
//! switch, itself a full barrier). So:
//!
//! * the fast side, in a registered process, needs only a *compiler* fence between its store and
//!   its load ([`light`]): the hardware may still reorder them, but
//! * the slow side calls [`heavy`] — `fence(SeqCst)` then the membarrier — between its store and
//!   its load. Whatever point of the fast side's execution the membarrier's barrier lands on,
//!   either the fast side's store was before it (and is visible to the slow side's load, which
//!   follows the system call), or the fast side's load is after it (and sees the slow side's
//!   store, which preceded the system call).
//!
//! The same construction is folly's `asymmetricLightBarrier`/`asymmetricHeavyBarrier`. It costs a
//! waiter about a microsecond (measured: 0.6 µs) before it sleeps, nothing on the fast path.
//!
//! A process that could not register (old kernel, seccomp, `ZIPC_NO_MEMBARRIER=1`) uses a real
//! `fence(SeqCst)` in [`light`], which pairs with either kind of waiter. A waiter whose membarrier
//! fails even though some peer may have registered (only possible if seccomp filters differ
//! between the processes) cannot rely on the handshake: [`heavy`] reports it and the waiter caps
//! each sleep at [`DEGRADED_POLL`] instead of missing a wake-up.
//!
//! Under `--cfg loom` both barriers are `fence(SeqCst)`: the models check the algorithms on the
//! guarantee the kernel provides (a full barrier on both sides), which loom models exactly.

use std::time::Duration;

/// Longest single sleep of a waiter whose membarrier failed (see the module docs).
pub(crate) const DEGRADED_POLL: Duration = Duration::from_millis(1);

/// Environment variable that, when set to anything but `0`, keeps this process from registering:
/// its fast paths then use full fences (for testing the fallback, or for systems where the
/// membarrier IPIs are unwelcome).
#[cfg_attr(loom, allow(dead_code))]
pub(crate) const NO_MEMBARRIER_VAR: &str = "ZIPC_NO_MEMBARRIER";

#[cfg(not(loom))]
mod imp {
    use std::sync::atomic::{compiler_fence, fence, AtomicU8, Ordering};

    const UNKNOWN: u8 = 0;
    /// Registered: light barriers are compiler fences.
    const LIGHT: u8 = 1;
    /// Not registered: light barriers are full fences.
    const FULL: u8 = 2;

    static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);

    const CMD_QUERY: libc::c_int = 0;
    const CMD_GLOBAL_EXPEDITED: libc::c_int = 1 << 1;
    const CMD_REGISTER_GLOBAL_EXPEDITED: libc::c_int = 1 << 2;

    fn membarrier(cmd: libc::c_int) -> Result<libc::c_long, i32> {
        // SAFETY: membarrier takes two integers and touches no user memory.
        crate::sys::futex::count_syscall();
        let r = unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_uint, 0 as libc::c_int) };
        if r < 0 {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        } else {
            Ok(r)
        }
    }

    /// Registers this process for global expedited membarriers, once. Until it has, [`light`] is
    /// a full fence, so calling it late is only slower, never wrong.
    pub(crate) fn register() {
        if MODE.load(Ordering::Relaxed) != UNKNOWN {
            return;
        }
        let disabled = std::env::var_os(super::NO_MEMBARRIER_VAR).is_some_and(|v| v != "0");
        let supported = !disabled
            && membarrier(CMD_QUERY).is_ok_and(|cmds| cmds & CMD_GLOBAL_EXPEDITED as libc::c_long != 0)
            && membarrier(CMD_REGISTER_GLOBAL_EXPEDITED).is_ok();
        // Registration is complete (the kernel marks our runqueues) before any light barrier of
        // ours relies on it.
        fence(Ordering::SeqCst);
        MODE.store(if supported { LIGHT } else { FULL }, Ordering::Relaxed);
    }

    /// Whether this process's light barriers are compiler fences.
    pub(crate) fn is_registered() -> bool {
        MODE.load(Ordering::Relaxed) == LIGHT
    }

    /// The fast side's barrier, between publishing progress and loading a waiter count.
    #[inline(always)]
    pub(crate) fn light() {
        if MODE.load(Ordering::Relaxed) == LIGHT {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// The slow side's barrier, between registering as a waiter and re-checking the condition.
    /// Returns `false` if the membarrier was refused although peers may rely on it: the caller
    /// must then not sleep unboundedly.
    pub(crate) fn heavy() -> bool {
        fence(Ordering::SeqCst);
        match membarrier(CMD_GLOBAL_EXPEDITED) {
            Ok(_) => true,
            // Not supported by this kernel: no process can have registered either.
            Err(libc::ENOSYS | libc::EINVAL) => true,
            Err(_) => false,
        }
    }
}

#[cfg(loom)]
mod imp {
    use crate::sys::atomics::fence;
    use std::sync::atomic::Ordering;

    pub(crate) fn register() {}

    pub(crate) fn is_registered() -> bool {
        false
    }

    pub(crate) fn light() {
        fence(Ordering::SeqCst);
    }

    pub(crate) fn heavy() -> bool {
        fence(Ordering::SeqCst);
        true
    }
}

pub(crate) use imp::{heavy, is_registered, light, register};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn registration_is_idempotent_and_barriers_run() {
        register();
        let first = is_registered();
        register();
        assert_eq!(is_registered(), first);
        light();
        assert!(heavy(), "this kernel either supports the membarrier or has none");
    }
}
