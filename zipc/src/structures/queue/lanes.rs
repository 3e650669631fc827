//! Taking lanes for queue operations (the lanes themselves: `segment/lane.rs`, their format:
//! `layout/lane.rs`): a thread's lane for the shared handle of a multi-producer or
//! multi-consumer queue, taken on its first operation and cached thread-locally; a role handle's
//! lane, held while it lives. A dead process's lane is reused only once settled.

use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::Weak;

use crate::error::{Error, Result};
use crate::segment::attachment::Attachment;
use crate::segment::lane::{give_back, reset};
use crate::segment::Segment;
use crate::sys::role;

/// Takes a lane of `seg` for this process: a free one, else a dead process's lane once it is
/// settled. [`Error::LanesFull`] if every lane belongs to a live process.
pub(crate) fn take(seg: &Segment) -> Result<u32> {
    let table = seg.lanes().ok_or_else(|| Error::invalid("segment", "made by ZeroIPC: it has no lanes"))?;
    let me = role::my_tag();
    for i in 0..table.len() {
        let lane = table.lane(i);
        if lane.owner.load(Relaxed) == 0 && lane.owner.compare_exchange(0, me, AcqRel, Relaxed).is_ok() {
            reset(lane);
            return Ok(i);
        }
    }
    for i in 0..table.len() {
        let lane = table.lane(i);
        let owner = lane.owner.load(Acquire);
        if owner == 0 || owner == me || table.alive(owner) {
            continue;
        }
        if super::recovery::settle_lane(seg, &table, i)?
            && lane.owner.compare_exchange(owner, me, AcqRel, Relaxed).is_ok()
        {
            reset(lane);
            return Ok(i);
        }
    }
    Err(Error::LanesFull { segment: seg.name().to_owned(), capacity: table.len() })
}

/// Gives lane `i` back (a role handle's, on drop).
pub(crate) fn release(seg: &Segment, i: u32) {
    if let Some(table) = seg.lanes() {
        give_back(&table, i, role::my_tag());
    }
}

/// A lane taken for the calling thread through one mapping.
struct Held {
    mapping_id: u64,
    tag: u64,
    index: u32,
    mapping: Weak<Attachment>,
}

/// The calling thread's lanes, given back when it exits.
#[derive(Default)]
struct ThreadLanes(Vec<Held>);

impl Drop for ThreadLanes {
    fn drop(&mut self) {
        for h in self.0.drain(..) {
            if let Some(map) = h.mapping.upgrade() {
                if map.held_lanes().remove(h.index) {
                    if let Some(table) = map.lanes() {
                        give_back(&table, h.index, h.tag);
                    }
                }
            }
        }
    }
}

thread_local! {
    static LANES: RefCell<ThreadLanes> = RefCell::new(ThreadLanes::default());
    /// The last lane looked up (mapping id, process tag, index): the fast path, a plain
    /// thread-local read with no lazy initialisation or destructor of its own.
    static LAST: Cell<(u64, u64, u32)> = const { Cell::new((0, 0, 0)) };
}

/// The calling thread's lane in `seg`, taken on first use.
#[inline]
pub(crate) fn thread_lane(seg: &Segment) -> Result<u32> {
    let id = seg.mapping().id();
    let tag = role::my_tag();
    if let Ok((last_id, last_tag, i)) = LAST.try_with(Cell::get) {
        if last_id == id && last_tag == tag {
            return Ok(i);
        }
    }
    thread_lane_slow(seg, id, tag)
}

#[cold]
fn thread_lane_slow(seg: &Segment, id: u64, tag: u64) -> Result<u32> {
    let found = LANES.try_with(|l| {
        let l = l.borrow();
        l.0.iter().find(|h| h.mapping_id == id && h.tag == tag).map(|h| h.index)
    });
    let i = match found {
        Ok(Some(i)) => i,
        _ => take_for_thread(seg, id, tag)?,
    };
    let _ = LAST.try_with(|c| c.set((id, tag, i)));
    Ok(i)
}

#[cold]
fn take_for_thread(seg: &Segment, id: u64, tag: u64) -> Result<u32> {
    let index = take(seg)?;
    let map = seg.mapping();
    map.held_lanes().add(index, tag);
    let held = Held { mapping_id: id, tag, index, mapping: std::sync::Arc::downgrade(map) };
    let kept = LANES.try_with(|l| {
        let mut l = l.borrow_mut();
        // Forget lanes of mappings that are gone (their lanes were given back with them) and
        // of the process this one was forked from.
        l.0.retain(|h| h.tag == tag && h.mapping.strong_count() > 0);
        l.0.push(held);
    });
    if kept.is_err() {
        // The thread is exiting: use the lane once, give it back with the mapping.
    }
    Ok(index)
}
