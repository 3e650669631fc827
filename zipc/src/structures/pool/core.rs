//! The pool's algorithm on loom-switchable atomics: a tagged Treiber stack of free slots
//! ([`PoolCore`]), generation-checked acquire and release, owner words (see the module docs of
//! `pool`).

use super::*;

/// The free-list head and the allocation count (offset 0).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct PoolHead {
    pub(super) head: AtomicU64,
    pub(super) allocated: AtomicU64,
}

/// One slot-table entry.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct SlotMeta {
    pub(super) generation: AtomicU32,
    pub(super) next: AtomicU32,
    pub(super) owner: AtomicU64,
}

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::size_of::<PoolHead>() == 16);
    assert!(std::mem::size_of::<SlotMeta>() as u64 == SLOT_SIZE);
};

#[cfg(all(test, loom))]
impl PoolHead {
    pub(crate) fn new() -> Self {
        PoolHead { head: AtomicU64::new(0), allocated: AtomicU64::new(0) }
    }
}

#[cfg(all(test, loom))]
impl SlotMeta {
    pub(crate) fn new() -> Self {
        SlotMeta { generation: AtomicU32::new(0), next: AtomicU32::new(0), owner: AtomicU64::new(0) }
    }
}

pub(super) use crate::sys::tagged_list::{self, pack};

// The pool's format names the list's end with the list's own end-of-list index.
const _: () = assert!(NIL == tagged_list::NIL);

/// Why a handle was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The slot is at another generation.
    Stale { current: u32 },
    /// The index is not a slot of this pool.
    OutOfRange,
}

/// The pool algorithm over a head, a slot table and an event count that live wherever the owner
/// put them: a segment in a build, the heap in a loom model.
pub(crate) struct PoolCore {
    pub(super) head: NonNull<PoolHead>,
    pub(super) slots: NonNull<SlotMeta>,
    pub(super) freed: NonNull<EventCount>,
    pub(super) capacity: u32,
    /// Tag increment per head update: 1; loom models set 0 to show the tag is needed.
    pub(super) tag_step: u32,
}

// SAFETY: the pointers are to atomics in shared memory (shared by design).
unsafe impl Send for PoolCore {}
// SAFETY: as above; every method takes `&self` and uses only atomics.
unsafe impl Sync for PoolCore {}

impl Clone for PoolCore {
    fn clone(&self) -> Self {
        PoolCore { ..*self }
    }
}

impl PoolCore {
    /// # Safety
    ///
    /// The pointers are valid and aligned (`slots` for `capacity` entries) while the core and its
    /// clones live; `1 <= capacity < NIL`.
    pub(crate) unsafe fn new(
        head: NonNull<PoolHead>,
        slots: NonNull<SlotMeta>,
        freed: NonNull<EventCount>,
        capacity: u32,
    ) -> Self {
        assert!((1..NIL).contains(&capacity));
        PoolCore { head, slots, freed, capacity, tag_step: 1 }
    }

    /// Number of slots.
    pub(crate) fn capacity(&self) -> u32 {
        self.capacity
    }

    pub(super) fn h(&self) -> &PoolHead {
        // SAFETY: valid while `self` lives (constructor contract).
        unsafe { self.head.as_ref() }
    }

    pub(super) fn freed(&self) -> &EventCount {
        // SAFETY: as for `h`.
        unsafe { self.freed.as_ref() }
    }

    /// Slot `index`'s entry; `index < capacity`.
    pub(super) fn meta(&self, index: u32) -> &SlotMeta {
        assert!(index < self.capacity, "zipc bug: slot index not range-checked");
        // SAFETY: in bounds (checked); valid while `self` lives.
        unsafe { &*self.slots.as_ptr().add(index as usize) }
    }

    /// Initialises an unpublished pool: every slot free (generation 0), linked in index order.
    pub(crate) fn init(&self) {
        for i in 0..self.capacity {
            let next = if i + 1 == self.capacity { NIL } else { i + 1 };
            self.meta(i).next.store(next, Relaxed);
        }
        self.h().head.store(pack(0, 0), Release);
    }

    /// Pops a free slot and marks it acquired by `owner`: `Ok(Some((index, generation)))`,
    /// `Ok(None)` if none is free, `Err` if the free list is corrupt.
    pub(crate) fn try_acquire(&self, owner: u64) -> std::result::Result<Option<(u32, u32)>, String> {
        match tagged_list::pop(&self.h().head, |i| &self.meta(i).next, self.capacity, self.tag_step)? {
            None => Ok(None),
            Some(index) => self.take(index, owner).map(Some),
        }
    }

    /// Marks popped slot `index` acquired by `owner`.
    pub(super) fn take(&self, index: u32, owner: u64) -> std::result::Result<(u32, u32), String> {
        let m = self.meta(index);
        let g = m.generation.load(Relaxed);
        if g & 1 != 0 {
            return Err(format!("slot {index} is on the free list but acquired (generation {g})"));
        }
        // The owner first: a reclaimer looks at owners of acquired (odd) slots only, and must
        // never see an acquired slot without its owner. Release: whoever reads this owner
        // (an adopter's or reclaimer's compare-and-swap) also sees the release that freed the
        // slot before we popped it.
        m.owner.store(owner, Release);
        // Only this process holds the popped slot; stale releasers fail on the odd check.
        if m.generation.compare_exchange(g, g.wrapping_add(1), AcqRel, Relaxed).is_err() {
            return Err(format!("slot {index} is on the free list but acquired (generation {g})"));
        }
        self.h().allocated.fetch_add(1, Relaxed);
        Ok((index, g.wrapping_add(1)))
    }

    /// Releases every acquired object whose owner `alive` says is dead; returns how many.
    pub(crate) fn reclaim(&self, alive: impl Fn(u64) -> bool) -> u64 {
        let mut reclaimed = 0;
        for index in 0..self.capacity {
            let m = self.meta(index);
            let g = m.generation.load(Acquire);
            if g & 1 == 0 {
                continue;
            }
            let owner = m.owner.load(Acquire);
            if owner == 0 || alive(owner) {
                continue;
            }
            // Win the owner word against an adopter, then release as the owner would have, at the
            // generation the dead owner holds now (read by a read-modify-write: the latest).
            if m.owner.compare_exchange(owner, 0, AcqRel, Relaxed).is_err() {
                continue;
            }
            let now = m.generation.fetch_add(0, AcqRel);
            if now & 1 == 1 && self.release(index, now).is_ok() {
                reclaimed += 1;
            }
        }
        reclaimed
    }

    /// Makes `owner` the owner of the live object `index` acquired at `generation`.
    pub(crate) fn adopt(&self, index: u32, generation: u32, owner: u64) -> std::result::Result<(), Fault> {
        let m = self.check(index, generation)?;
        let current = m.owner.load(Acquire);
        if current == owner {
            return self.still_live(m, generation);
        }
        // 0: a reclaimer won the word (the previous owner died); the handle is about to go stale.
        if current == 0 || m.owner.compare_exchange(current, owner, AcqRel, Acquire).is_err() {
            return Err(Fault::Stale { current: m.generation.load(Relaxed) });
        }
        // The word we took may belong to a later acquirer, if the object was reclaimed and
        // handed out again since our check: the generation (read by a read-modify-write, after
        // acquiring that acquirer's owner store) tells. Then give the word back.
        let now = m.generation.fetch_add(0, AcqRel);
        if now != generation {
            let _ = m.owner.compare_exchange(owner, current, AcqRel, Relaxed);
            return Err(Fault::Stale { current: now });
        }
        Ok(())
    }

    /// Releases the object at `index` acquired at `generation`.
    pub(crate) fn release(&self, index: u32, generation: u32) -> std::result::Result<(), Fault> {
        if index >= self.capacity {
            return Err(Fault::OutOfRange);
        }
        let m = self.meta(index);
        if generation & 1 == 0 {
            return Err(Fault::Stale { current: m.generation.load(Relaxed) });
        }
        // Exactly one releaser of a handle gets past this.
        m.generation
            .compare_exchange(generation, generation.wrapping_add(1), AcqRel, Relaxed)
            .map_err(|current| Fault::Stale { current })?;
        m.owner.store(0, Relaxed);
        self.h().allocated.fetch_sub(1, Relaxed);
        tagged_list::push(&self.h().head, &m.next, index, self.tag_step);
        self.freed().notify_all();
        Ok(())
    }

    /// Checks that the handle is live; returns its slot entry.
    pub(crate) fn check(&self, index: u32, generation: u32) -> std::result::Result<&SlotMeta, Fault> {
        if index >= self.capacity {
            return Err(Fault::OutOfRange);
        }
        let m = self.meta(index);
        match m.generation.load(Acquire) {
            g if g == generation && g & 1 == 1 => Ok(m),
            current => Err(Fault::Stale { current }),
        }
    }

    /// After reading a slot's object: whether the handle was still live throughout.
    pub(crate) fn still_live(&self, m: &SlotMeta, generation: u32) -> std::result::Result<(), Fault> {
        fence(Acquire);
        match m.generation.load(Relaxed) {
            g if g == generation => Ok(()),
            current => Err(Fault::Stale { current }),
        }
    }

    /// Blocking [`try_acquire`](Self::try_acquire).
    pub(crate) fn acquire(&self, owner: u64, deadline: Deadline) -> Result<std::result::Result<(u32, u32), String>> {
        self.freed().wait_until(deadline, || match self.try_acquire(owner) {
            Ok(None) => None,
            Ok(Some(h)) => Some(Ok(h)),
            Err(e) => Some(Err(e)),
        })
    }

    pub(crate) fn allocated(&self) -> u64 {
        // A release may decrement before the matching acquire's increment lands: clamp.
        (self.h().allocated.load(Relaxed) as i64).clamp(0, self.capacity as i64) as u64
    }
}
