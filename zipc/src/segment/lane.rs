//! A segment's lanes (the format, and what they are for: [`crate::layout::lane`]): the table of
//! them, and which lane covers a claimed position.

use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

pub(crate) use crate::layout::lane::*;
use crate::sys::atomics::AtomicU64;
use crate::sys::role::{self, Holder};

/// One lane, as the algorithms see it (`#[repr(C)]`: mapped onto segment bytes, or allocated on
/// the heap by a loom model).
#[repr(C, align(128))]
#[derive(Debug)]
pub(crate) struct Lane {
    pub(crate) owner: AtomicU64,
    pub(crate) op: AtomicU64,
    pub(crate) pos: AtomicU64,
    pub(crate) count: AtomicU64,
    pub(crate) lost: AtomicU64,
}

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::size_of::<Lane>() as u64 == LANE_SIZE);
    assert!(std::mem::offset_of!(Lane, op) as u64 == field::OP);
    assert!(std::mem::offset_of!(Lane, pos) as u64 == field::POS);
    assert!(std::mem::offset_of!(Lane, count) as u64 == field::COUNT);
    assert!(std::mem::offset_of!(Lane, lost) as u64 == field::LOST);
};

impl Lane {
    /// A free lane, for loom models.
    #[cfg(all(test, loom))]
    pub(crate) fn new(owner: u64) -> Self {
        Lane {
            owner: AtomicU64::new(owner),
            op: AtomicU64::new(0),
            pos: AtomicU64::new(0),
            count: AtomicU64::new(0),
            lost: AtomicU64::new(0),
        }
    }

    /// Records an attempt to claim `count` positions from `pos` with operation `op` (the queue's
    /// offset | kind). Release stores: a survivor that sees a later value of this lane also sees
    /// what its owner did before (the stamps of its previous operation).
    #[inline(always)]
    pub(crate) fn begin(&self, op: u64, pos: u64, count: u64) {
        self.pos.store(pos, Release);
        self.count.store(count, Release);
        self.op.store(op, Release);
    }

    /// Marks the recorded attempt as having claimed its positions.
    #[inline(always)]
    pub(crate) fn claimed(&self, op: u64) {
        self.op.store(op | op::CLAIMED, Release);
    }

    /// Clears the record: the attempt claimed nothing.
    #[inline(always)]
    pub(crate) fn end(&self) {
        self.op.store(0, Release);
    }
}

/// Who holds a claimed, unstamped position, as far as the lanes tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claimant {
    /// A live process's lane covers it: wait for that process.
    Live,
    /// Only dead processes' lanes cover it; this one (index) claimed it, or is the best guess.
    Dead(u32),
    /// No lane covers it (a peer that does not follow the protocol): nothing to settle.
    Nobody,
}

/// A segment's lanes (or a loom model's), and how to tell whether an owner tag is alive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LaneTable {
    first: NonNull<Lane>,
    count: u32,
    alive: fn(u64) -> bool,
}

// SAFETY: the table points into memory shared by design (a segment mapping kept alive by the
// handle that holds the table, or a loom model's heap); every access is atomic.
unsafe impl Send for LaneTable {}
// SAFETY: as above.
unsafe impl Sync for LaneTable {}

impl LaneTable {
    /// # Safety
    ///
    /// `first` points to `count` lanes, aligned and valid (any bits are valid for them) for the
    /// lifetime of the returned value and every copy of it.
    pub(crate) unsafe fn new(first: *const Lane, count: u32, alive: fn(u64) -> bool) -> Self {
        LaneTable {
            // SAFETY: the caller passes a valid, hence non-null, pointer.
            first: unsafe { NonNull::new_unchecked(first.cast_mut()) },
            count,
            alive,
        }
    }

    /// A table of no lanes (a queue outside a zipc segment covers nothing).
    pub(crate) fn empty() -> Self {
        LaneTable { first: NonNull::dangling(), count: 0, alive: |_| false }
    }

    /// Number of lanes.
    pub(crate) fn len(&self) -> u32 {
        self.count
    }

    /// Lane `i` (`i < len()`).
    #[inline(always)]
    pub(crate) fn lane(&self, i: u32) -> &Lane {
        assert!(i < self.count, "zipc bug: lane {i} of {}", self.count);
        // SAFETY: in bounds (checked); valid for our lifetime (constructor contract); lanes hold
        // only atomics, which may alias writers in other processes.
        unsafe { &*self.first.as_ptr().add(i as usize) }
    }

    /// Whether the process with tag `owner` is alive.
    pub(crate) fn alive(&self, owner: u64) -> bool {
        (self.alive)(owner)
    }

    /// The lane that holds position `pos` of operation `op` (a queue offset | kind) as claimed and
    /// unstamped. The caller has acquire-loaded the index that shows the claim, so the claimer's
    /// record is visible. Settled lanes cover nothing.
    pub(crate) fn claimant(&self, op: u64, pos: u64) -> Claimant {
        let mut best: Option<(u32, bool)> = None;
        for i in 0..self.count {
            let lane = self.lane(i);
            let o = lane.op.load(Acquire);
            if o & !(op::CLAIMED | op::TOMBSTONE) != op || o & op::SETTLED != 0 {
                continue;
            }
            let first = lane.pos.load(Acquire);
            let count = lane.count.load(Acquire);
            if pos.wrapping_sub(first) >= count {
                continue;
            }
            let owner = lane.owner.load(Acquire);
            if owner == 0 {
                continue; // being given back: its operation finished
            }
            if self.alive(owner) {
                return Claimant::Live;
            }
            let claimed = o & op::CLAIMED != 0;
            if best.is_none_or(|(_, c)| claimed && !c) {
                best = Some((i, claimed));
            }
        }
        best.map_or(Claimant::Nobody, |(i, _)| Claimant::Dead(i))
    }
}

// ---------------------------------------------------------------------------------------------
// Giving lanes back
// ---------------------------------------------------------------------------------------------

/// The lanes this process took through one attachment for its threads, given back when the
/// attachment is dropped (threads that exit give theirs back earlier). Taking them is the queues'
/// business (`structures/queue/lanes.rs`).
#[derive(Debug, Default)]
pub(crate) struct HeldLanes {
    held: std::sync::Mutex<Vec<(u32, u64)>>,
}

impl HeldLanes {
    /// Records that lane `index` was taken under process tag `tag`.
    pub(crate) fn add(&self, index: u32, tag: u64) {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).push((index, tag));
    }

    /// Forgets lane `index`; whether it was held.
    pub(crate) fn remove(&self, index: u32) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        match held.iter().position(|&(i, _)| i == index) {
            Some(at) => {
                held.swap_remove(at);
                true
            }
            None => false,
        }
    }

    /// Gives every lane back (the attachment is being dropped, so no operation is running on it).
    pub(crate) fn release_all(&self, table: &LaneTable) {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|e| e.into_inner()));
        for (i, tag) in held {
            give_back(table, i, tag);
        }
    }
}

/// Gives lane `i`, taken under process tag `tag`, back: its record cleared, then its owner.
pub(crate) fn give_back(table: &LaneTable, i: u32, tag: u64) {
    if tag != role::my_tag() {
        return; // taken by the process this one was forked from: not ours to free
    }
    let lane = table.lane(i);
    if lane.owner.load(Acquire) != tag {
        return; // taken over by someone who thought us dead
    }
    lane.op.store(0, Release);
    let _ = lane.owner.compare_exchange(tag, 0, AcqRel, Relaxed);
}

/// Clears a lane's record for its new owner.
pub(crate) fn reset(lane: &Lane) {
    lane.op.store(0, Relaxed);
    lane.lost.store(0, Relaxed);
    lane.count.store(0, Relaxed);
    lane.pos.store(0, Release);
}

// ---------------------------------------------------------------------------------------------
// Inspection
// ---------------------------------------------------------------------------------------------

/// What a lane's operation is (or a dead process was doing on a queue when it died).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Pushing (a producer).
    Push,
    /// Popping (a consumer).
    Pop,
}

/// A lane in use, as `inspect` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneState {
    /// Index in the lane table.
    pub index: u32,
    /// The owning process.
    pub owner: Holder,
    /// The operation recorded, if any (the last one the owner started; it may have completed).
    pub operation: Option<LaneOperation>,
    /// Messages lost because of the recorded operation (counted by settlers).
    pub lost: u64,
}

/// The operation a lane records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneOperation {
    /// The queue's segment offset.
    pub queue_offset: u64,
    /// The queue's name, if the offset is a queue's.
    pub structure: Option<String>,
    /// Push or pop.
    pub operation: Operation,
    /// First position covered.
    pub first: u64,
    /// Positions covered.
    pub count: u64,
    /// Whether the claim succeeded.
    pub claimed: bool,
    /// Whether a survivor settled it (its owner died).
    pub settled: bool,
    /// Whether it was a pop passing a tombstone.
    pub tombstone: bool,
}

/// The lanes in use, read once (values are untrusted: an unknown queue offset shows as `None`).
pub(crate) fn inspect(table: &LaneTable, names: &dyn Fn(u64) -> Option<String>) -> Vec<LaneState> {
    (0..table.len())
        .filter_map(|i| {
            let lane = table.lane(i);
            let owner = Holder::from_tag(lane.owner.load(Acquire))?;
            let o = lane.op.load(Acquire);
            let operation = (o != 0).then(|| LaneOperation {
                queue_offset: o & !op::FLAGS,
                structure: names(o & !op::FLAGS),
                operation: if o & op::KIND == op::POP { Operation::Pop } else { Operation::Push },
                first: lane.pos.load(Acquire),
                count: lane.count.load(Acquire),
                claimed: o & op::CLAIMED != 0,
                settled: o & op::SETTLED != 0,
                tombstone: o & op::TOMBSTONE != 0,
            });
            Some(LaneState { index: i, owner, operation, lost: lane.lost.load(Acquire) })
        })
        .collect()
}
