//! Lanes: where a thread records the multi-producer or multi-consumer queue operation it has in
//! flight, so that survivors can finish what a process killed in the middle of one left behind.
//!
//! # The problem
//!
//! A Vyukov queue producer (MPSC, MPMC) claims a position with a compare-and-swap of `tail`,
//! then writes the element and stamps the slot's sequence number. Killed in between, it leaves a
//! position that is claimed — `tail` has passed it — but never stamped, and consumers would wait
//! at it forever. An MPMC consumer killed between its claim of `head` and its stamp leaves the
//! slot full for the next lap's producers. Nothing in the slot says who claimed it, and a claimer
//! that is merely slow (preempted) looks exactly like a dead one.
//!
//! # Lanes
//!
//! A lane is a 128-byte record in the self-description (`lanes_for(max_processes)` of them),
//! owned by one thread of one process at a time, or by one role handle. Before a thread tries to
//! claim positions of a queue it writes its lane — which queue (the segment offset of its
//! region) and operation, the first position and how many — and it keeps that record until it
//! has stamped every position it claimed: only its next operation overwrites it, and an attempt
//! that claims nothing clears it. After a successful claim it also sets the record's `CLAIMED`
//! bit. So:
//!
//! > **a claimed but unstamped position `p` is covered by its claimer's lane.**
//!
//! The claim's compare-and-swap is a release and a survivor first acquire-loads the index that
//! shows the claim, so it sees the claimer's record. If no lane of a *live* process covers `p`,
//! the claimer is dead and will never stamp: the survivor *settles* the dead lane — every
//! position of it that is still claimed and unstamped is resolved by a compare-and-swap of the
//! slot's sequence number (a producer's becomes a *tombstone* that consumers skip, a consumer's
//! is freed for the next lap), each one counted as lost, in the queue and in the lane. The
//! compare-and-swaps make settling idempotent: several survivors may settle one lane at once, and
//! every position is resolved and counted exactly once. A settled lane gets the `SETTLED` bit and
//! covers nothing any more.
//!
//! A lane that a live process covers `p` with is never overruled, even if it did not claim `p`
//! (its compare-and-swap failed and it is about to retry): survivors wait for it. If only dead
//! lanes cover `p`, the one with the `CLAIMED` bit is the claimer; that decides which lane the
//! loss is attributed to (see [`Segment::recover_dead`](crate::Segment::recover_dead)).
//!
//! # Owners
//!
//! `owner` is the process tag (`pid << 40 | start time`, [`crate::sys::process`]) of the owning
//! process, 0 when free. A thread takes a free lane by compare-and-swap 0 → its tag; when no lane
//! is free it may take a dead process's lane, but only once that lane is settled — otherwise the
//! record proving what the dead process held would be lost. A lane is given back (record cleared,
//! then `owner` 0) when its thread exits, when the mapping it was taken through is dropped, or
//! when the role handle that took it is dropped. Threads take lanes lazily, on their first
//! multi-producer or multi-consumer operation on a segment, and keep them (a thread-local cache
//! per mapping), so the fast path costs a thread-local lookup and four stores to a line the
//! thread owns.
//!
//! # Layout (128 bytes per lane)
//!
//! ```text
//! offset  size  field
//! 0       8     u64 owner   process tag of the owner, 0 = free
//! 8       8     u64 op      0 = nothing in flight; else the queue's segment offset (a multiple
//!                           of 128) | kind (1 push, 2 pop) | 4 CLAIMED | 8 SETTLED
//!                           | 16 TOMBSTONE (a pop passing a tombstone, returning nothing)
//! 16      8     u64 pos     first position of the operation
//! 24      8     u64 count   positions it covers
//! 32      8     u64 lost    messages lost because of this operation (counted by settlers)
//! 40      88    reserved
//! ```

/// Bytes per lane.
pub const LANE_SIZE: u64 = 128;
/// Fewest lanes a segment has.
pub const MIN_LANES: u32 = 16;

/// Lanes in a segment whose registry has `max_processes` slots: two per process, at least
/// [`MIN_LANES`].
pub const fn lanes_for(max_processes: u32) -> u32 {
    let n = max_processes.saturating_mul(2);
    if n < MIN_LANES {
        MIN_LANES
    } else {
        n
    }
}

/// Byte offsets of a lane's fields.
pub mod field {
    /// `u64 owner`.
    pub const OWNER: u64 = 0;
    /// `u64 op`.
    pub const OP: u64 = 8;
    /// `u64 pos`.
    pub const POS: u64 = 16;
    /// `u64 count`.
    pub const COUNT: u64 = 24;
    /// `u64 lost`.
    pub const LOST: u64 = 32;
}

/// The bits of a lane's `op` word.
pub mod op {
    /// A push (producer side).
    pub const PUSH: u64 = 1;
    /// A pop (consumer side).
    pub const POP: u64 = 2;
    /// The kind bits.
    pub const KIND: u64 = 3;
    /// Set after the claim succeeded.
    pub const CLAIMED: u64 = 4;
    /// Set once the operation of a dead owner is settled: the lane covers nothing.
    pub const SETTLED: u64 = 8;
    /// A pop passing a tombstone: it claims a position but returns no element.
    pub const TOMBSTONE: u64 = 16;
    /// Every flag bit; the rest is the queue's segment offset.
    pub const FLAGS: u64 = 127;
}
