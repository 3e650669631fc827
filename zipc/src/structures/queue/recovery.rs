//! Recovering from processes that died in the middle of an operation.
//!
//! zipc's structures are written so that a process killed at any instruction never leaves
//! another one stuck (see each kind's *Crashes* section): single roles are taken over from dead
//! holders (queues, rings, endpoints), the robust mutex and the table lock detect dead owners,
//! pool objects of dead processes can be reclaimed ([`Pool::reclaim_dead`](crate::Pool)), and a
//! multi-producer or multi-consumer queue operation cut short is settled through the dead
//! thread's lane (`layout/lane.rs`) by whichever survivor runs into it.
//!
//! This module holds the segment-wide part: [`Segment::recover_dead`] settles every lane of a
//! dead process at once, reports what each dead operation held and lost, and frees the lanes.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use super::raw::*;
use super::*;
use crate::error::Result;
use crate::layout::{flags, Kind};
use crate::segment::lane::{op, LaneTable};
use crate::segment::Segment;
use crate::structures::queue::element::Bytes;
use crate::structures::queue::QueueBytes;
use crate::sys::process::ProcessId;

pub use crate::segment::lane::Operation;

/// One queue operation a dead process left in its lane, as [`Segment::recover_dead`] found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadOperation {
    /// The process that died.
    pub process: ProcessId,
    /// The queue (its name), or `None` if the record names no queue of the segment.
    pub structure: Option<String>,
    /// Push or pop.
    pub operation: Operation,
    /// The first position it covered, and how many.
    pub first: u64,
    /// Positions covered.
    pub count: u64,
    /// Whether its claim had succeeded (the record's `CLAIMED` bit).
    pub claimed: bool,
    /// Whether it was a pop passing a tombstone (a position whose producer had died), which
    /// returns no element.
    pub tombstone: bool,
    /// Messages lost because of it — counted by whoever settled it, this call or a survivor
    /// before. A dead producer's claimed, unwritten positions; a dead consumer's claimed
    /// elements that it had not released. 0 if it completed, or never claimed anything.
    pub lost: u64,
}

/// What [`Segment::recover_dead`] found: every queue operation dead processes left recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// One per lane of a dead process that recorded an operation.
    pub operations: Vec<DeadOperation>,
}

impl Recovery {
    /// Messages lost in all of them.
    pub fn lost(&self) -> u64 {
        self.operations.iter().map(|o| o.lost).sum()
    }
}

/// The queue an operation word names: its name, and a byte-level handle on it. `None` if the
/// word names no multi-producer/consumer queue of the segment (damaged bytes, or a queue that was
/// never published).
fn queue_of(seg: &Segment, op_word: u64) -> Result<Option<(String, QueueBytes<Bytes>)>> {
    let base = op_word & !op::FLAGS;
    for e in seg.entries()? {
        let Some(d) = &e.descriptor else { continue };
        if e.offset != base || d.kind != Kind::Queue || d.flags == flags::POLICY_SPSC || d.elem_size == 0 {
            continue;
        }
        let found = seg.locate(&e.name)?;
        let q = QueueBytes::new(seg, found.region, 0, d.capacity, d.flags, Bytes::new(d.elem_size as usize));
        return Ok(Some((e.name, q)));
    }
    Ok(None)
}

/// Settles lane `i` of `table` (`seg`'s), whose owner is dead: its operation, if it recorded one,
/// is resolved on its queue. Returns whether the lane is settled now (it then covers nothing and
/// may be reused).
pub(crate) fn settle_lane(seg: &Segment, table: &LaneTable, i: u32) -> Result<bool> {
    let lane = table.lane(i);
    let o = lane.op.load(Acquire);
    if o == 0 || o & op::SETTLED != 0 {
        return Ok(true);
    }
    match queue_of(seg, o)? {
        Some((_, q)) => {
            q.raw().settle(i);
        }
        None => {
            // Names nothing: there is nothing to resolve.
            let _ = lane.op.compare_exchange(o, o | op::SETTLED, AcqRel, Relaxed);
        }
    }
    Ok(lane.op.load(Acquire) & op::SETTLED != 0)
}

impl Segment {
    /// Settles every queue operation that processes which died attached to this segment left
    /// half-done, frees their lanes, and reports what each of them held and lost.
    ///
    /// Survivors settle such operations by themselves when they run into them (a consumer at a
    /// slot a dead producer claimed, a producer at one a dead consumer claimed), so this is not
    /// needed for progress: it is for operators and tests that want to know, right after a crash,
    /// what it cost. An operation is reported once; its lane is free afterwards. Single-role
    /// handles report their own takeovers ([`Consumer::lost_on_takeover`](crate::Consumer)).
    ///
    /// ```no_run
    /// # fn main() -> zipc::Result<()> {
    /// let seg = zipc::Segment::open("/jobs")?;
    /// for op in seg.recover_dead()?.operations {
    ///     eprintln!("pid {} died in a {:?} on {:?}: {} lost", op.process.pid, op.operation, op.structure, op.lost);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn recover_dead(&self) -> Result<Recovery> {
        let mut report = Recovery::default();
        let Some(table) = self.lanes() else {
            return Ok(report);
        };
        for i in 0..table.len() {
            let lane = table.lane(i);
            let owner = lane.owner.load(Acquire);
            if owner == 0 || table.alive(owner) {
                continue;
            }
            let o = lane.op.load(Acquire);
            if o != 0 {
                let structure = match queue_of(self, o)? {
                    Some((name, q)) => {
                        q.raw().settle(i);
                        Some(name)
                    }
                    None => None,
                };
                let _ = lane.op.compare_exchange(o, o | op::SETTLED, AcqRel, Relaxed);
                report.operations.push(DeadOperation {
                    process: crate::sys::role::untag(owner),
                    structure,
                    operation: if o & op::KIND == op::POP { Operation::Pop } else { Operation::Push },
                    first: lane.pos.load(Acquire),
                    count: lane.count.load(Acquire),
                    claimed: o & op::CLAIMED != 0,
                    tombstone: o & op::TOMBSTONE != 0,
                    lost: lane.lost.load(Acquire),
                });
            }
            // Free it. Its record stays, settled (covering nothing), until the next owner resets
            // it; clearing it here could clear the record of a thread that took the lane over
            // meanwhile.
            let _ = lane.owner.compare_exchange(owner, 0, AcqRel, Relaxed);
        }
        Ok(report)
    }
}

// ---------------------------------------------------------------------------------------------
// On one queue: resolving what a dead claimer left
// ---------------------------------------------------------------------------------------------

impl<E: Element> Raw<E> {
    // --- Recovery from processes that died mid-operation (layout/lane.rs) ------------------------

    pub(super) fn count_lost(&self, n: u64) {
        self.idx().lost.fetch_add(n, Relaxed);
    }

    /// A consumer found position `head` unwritten. Now and then, see whether its producer died.
    #[cold]
    #[inline(never)]
    pub(super) fn empty_at(&self, head: u64) {
        if patience_exhausted() {
            self.check_pop_stall_at(head);
        }
    }

    /// A producer found the queue full at `tail`. Now and then (and only if consumers use lanes),
    /// see whether the consumer of the slot died.
    #[cold]
    #[inline(never)]
    pub(super) fn full_at(&self, tail: u64, many_consumers: bool) {
        if many_consumers && patience_exhausted() {
            self.check_push_stall_at(tail);
        }
    }

    /// Settles the operation of a dead process that holds position `head` claimed but unwritten,
    /// if that is what stops consumers there.
    pub(crate) fn check_pop_stall(&self) {
        self.check_pop_stall_at(self.idx().head.0.head.load(Relaxed));
    }

    pub(super) fn check_pop_stall_at(&self, head: u64) {
        if self.seq(head).load(Acquire) != head {
            return; // written, or a tombstone, or moved on
        }
        // Acquire: if the claim of `head` is visible, so is its claimer's lane record.
        let tail = self.claimed_end(head);
        if (tail.wrapping_sub(head) as i64) <= 0 {
            return; // not claimed: just empty
        }
        self.recover(op::PUSH, head);
    }

    /// Settles the operation of a dead consumer that holds the slot a producer at `tail` needs,
    /// if that is what stops producers there (MPMC).
    pub(crate) fn check_push_stall(&self) {
        self.check_push_stall_at(self.idx().tail.0.load(Relaxed));
    }

    pub(super) fn check_push_stall_at(&self, tail: u64) {
        let p = tail.wrapping_sub(self.cap);
        let seq = self.seq(p).load(Acquire);
        if seq != p.wrapping_add(1) && seq != tombstone(p) {
            return;
        }
        let head = self.idx().head.0.head.load(Acquire);
        if (head.wrapping_sub(p) as i64) <= 0 {
            return; // not claimed by a consumer: just full
        }
        self.recover(op::POP, p);
    }

    /// If only dead processes' lanes cover position `p` of operation `kind`, settles the
    /// claimant's lane.
    pub(super) fn recover(&self, kind: u64, p: u64) {
        if let Claimant::Dead(i) = self.lanes.claimant(self.op(kind), p) {
            self.settle(i);
        }
    }

    /// Settles lane `i`, whose owner is dead, if it records an operation on this queue: resolves
    /// every position of it that is still claimed and unstamped (a push's becomes a tombstone, a
    /// pop's is freed), counts the losses in the queue and the lane, and marks the lane settled.
    /// Idempotent: concurrent settlers resolve each position once. Returns the losses this call
    /// counted.
    pub(crate) fn settle(&self, i: u32) -> u64 {
        let lane = self.lanes.lane(i);
        let o = lane.op.load(Acquire);
        if o & op::SETTLED != 0 || o & !op::FLAGS != self.id {
            return 0;
        }
        let kind = o & op::KIND;
        let first = lane.pos.load(Acquire);
        let count = lane.count.load(Acquire).min(self.cap);
        let mut lost = 0;
        let mut freed = 0;
        for k in 0..count {
            let p = first.wrapping_add(k);
            if kind == op::PUSH {
                // (A position at or past a close's `end` was never claimed.)
                let tail = self.claimed_end(p);
                if (tail.wrapping_sub(p) as i64) <= 0 || self.seq(p).load(Acquire) != p {
                    continue; // not claimed, or stamped
                }
                if self.lanes.claimant(self.op(kind), p) == Claimant::Dead(i)
                    && self.seq(p).compare_exchange(p, tombstone(p), AcqRel, Relaxed).is_ok()
                {
                    lost += 1;
                }
            } else if kind == op::POP {
                let head = self.idx().head.0.head.load(Acquire);
                let seq = self.seq(p).load(Acquire);
                if (head.wrapping_sub(p) as i64) <= 0 || (seq != p.wrapping_add(1) && seq != tombstone(p)) {
                    continue; // not claimed, or stamped
                }
                if self.lanes.claimant(self.op(kind), p) == Claimant::Dead(i)
                    && self.seq(p).compare_exchange(seq, p.wrapping_add(self.cap), AcqRel, Relaxed).is_ok()
                {
                    freed += 1;
                    if seq == p.wrapping_add(1) {
                        lost += 1;
                    }
                }
            }
        }
        let _ = lane.op.compare_exchange(o, o | op::SETTLED, AcqRel, Relaxed);
        if lost > 0 {
            self.count_lost(lost);
            lane.lost.fetch_add(lost, Relaxed);
        }
        if kind == op::PUSH && lost > 0 {
            self.idx().not_empty.notify_all_asymmetric();
        }
        if freed > 0 {
            self.idx().not_full.notify_all_asymmetric();
        }
        lost
    }
}
