//! Recovering from processes that died in the middle of an operation.
//!
//! zipc's structures are written so that a process killed at any instruction never leaves
//! another one stuck (see each kind's *Crashes* section): single roles are taken over from dead
//! holders (queues, rings, endpoints), the robust mutex and the table lock detect dead owners,
//! pool objects of dead processes can be reclaimed ([`Pool::reclaim_dead`](crate::Pool)), and a
//! multi-producer or multi-consumer queue operation cut short is settled through the dead
//! thread's lane (`lane.rs`) by whichever survivor runs into it.
//!
//! This module holds the segment-wide part: [`Segment::recover_dead`] settles every lane of a
//! dead process at once, reports what each dead operation held and lost, and frees the lanes.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

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
