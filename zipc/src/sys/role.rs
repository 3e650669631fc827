//! Exclusive roles: "the producer of this ring", held by one live process — and within it by one
//! handle — at a time.
//!
//! A role is a u64 word in the segment: 0 when free, otherwise `pid << 40 | start_time` of the
//! holder (the same encoding as the table lock's owner, see [`crate::sys::process`]). Claiming is a
//! compare-and-swap 0 → me. A word naming a process that has died (or whose pid now belongs to
//! a process with another start time) is taken over by a compare-and-swap old → me, so of several
//! claimants exactly one wins. A word naming a live process — this one included — is refused:
//! the handle that holds a role is the only one in the system that acts it, which is what makes
//! single-producer / single-consumer algorithms safe to expose to safe Rust.
//!
//! Releasing is a compare-and-swap me → 0 (so a holder that was wrongly presumed dead cannot
//! clear a successor's claim). A handle moved into a `fork`ed child still carries the parent's
//! claim: the child must not use it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::sys::process::{self, ProcessId, START_MASK};

/// The word value naming process `p`.
pub(crate) fn tag(p: ProcessId) -> u64 {
    ((p.pid as u64) << 40) | (p.start_time & START_MASK)
}

/// This process's tag, cached. `process::current()` asks the kernel for the pid on every call
/// (to notice a `fork`); here a `pthread_atfork` child handler clears the cache instead, so
/// that acquiring a pool object makes no system call.
pub(crate) fn my_tag() -> u64 {
    let t = MY_TAG.load(Ordering::Relaxed);
    if t != 0 {
        return t;
    }
    static ATFORK: std::sync::Once = std::sync::Once::new();
    ATFORK.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic (async-signal-safe).
        unsafe { libc::pthread_atfork(None, None, Some(forget_tag)) };
    });
    let t = tag(process::current());
    MY_TAG.store(t, Ordering::Relaxed);
    t
}

static MY_TAG: AtomicU64 = AtomicU64::new(0);

extern "C" fn forget_tag() {
    MY_TAG.store(0, Ordering::Relaxed);
}

/// The process a non-zero word names.
pub(crate) fn untag(word: u64) -> ProcessId {
    ProcessId { pid: (word >> 40) as u32, start_time: word & START_MASK }
}

/// Whether the process a non-zero word names is alive (same pid and start time, not a zombie).
pub(crate) fn alive(word: u64) -> bool {
    process::is_alive(untag(word))
}

/// A process recorded in a segment word: a role's holder, a lock's owner, a pool object's
/// acquirer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Its pid.
    pub pid: u32,
    /// Its start time (clock ticks since boot, 40 bits), as recorded.
    pub start_time: u64,
    /// Whether that process is alive now (same pid and start time, not a zombie).
    pub alive: bool,
}

impl Holder {
    /// The holder a `pid << 40 | start_time` word names; `None` for 0.
    pub(crate) fn from_tag(word: u64) -> Option<Holder> {
        (word != 0).then(|| {
            let p = untag(word);
            Holder { pid: p.pid, start_time: p.start_time, alive: process::is_alive(p) }
        })
    }
}

/// A role held by this process; release it with [`Claim::release`] (handles do so on drop).
#[derive(Debug)]
pub(crate) struct Claim {
    tag: u64,
    /// Whether the role was taken over from a dead holder.
    pub recovered: bool,
}

/// Claims the role in `word`; on refusal returns the live holder.
pub(crate) fn claim(word: &AtomicU64) -> Result<Claim, ProcessId> {
    let me = my_tag();
    let mut recovered = false;
    let mut cur = 0;
    loop {
        match word.compare_exchange(cur, me, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Ok(Claim { tag: me, recovered }),
            Err(0) => cur = 0,
            Err(holder) => {
                let p = untag(holder);
                if holder == me || process::is_alive(p) {
                    return Err(p);
                }
                // The holder is gone: try to take the role over from exactly that word.
                cur = holder;
                recovered = true;
            }
        }
    }
}

impl Claim {
    /// Gives the role back.
    pub(crate) fn release(&self, word: &AtomicU64) {
        let _ = word.compare_exchange(self.tag, 0, Ordering::AcqRel, Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_claim_at_a_time_and_dead_holders_are_replaced() {
        let word = AtomicU64::new(0);
        let c = claim(&word).unwrap();
        assert!(!c.recovered);
        assert_eq!(claim(&word).unwrap_err().pid, std::process::id(), "a second claim in this process fails");
        c.release(&word);
        assert_eq!(word.load(Ordering::Relaxed), 0);

        // A holder whose start time does not match its pid is dead (the pid was reused).
        let me = process::current();
        word.store(tag(ProcessId { pid: me.pid, start_time: me.start_time + 1 }), Ordering::Relaxed);
        let c = claim(&word).unwrap();
        assert!(c.recovered);
        assert_eq!(untag(word.load(Ordering::Relaxed)), me);

        // Releasing a claim someone else now holds leaves it alone.
        let other = tag(ProcessId { pid: 1, start_time: 0 });
        word.store(other, Ordering::Relaxed);
        c.release(&word);
        assert_eq!(word.load(Ordering::Relaxed), other);
    }
}
