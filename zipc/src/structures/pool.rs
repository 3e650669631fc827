//! [`Pool<T>`]: a fixed number of objects handed out by [`Handle`]s that are valid in every
//! process — plain data, to be sent through a queue or stored in an array.
//!
//! # Slots, generations and handles
//!
//! Every slot has a 32-bit **generation**: even while the slot is free, odd while it is
//! acquired. Acquiring makes it odd (`g + 1`), releasing makes it even again; a [`Handle`] is
//! the slot's index and the (odd) generation it was acquired at. Every use of a handle compares
//! generations, so a handle used after its release — a stale handle, a double release, a
//! handle from another pool — is [`Error::StaleHandle`], never a second owner. Releasing is a
//! compare-and-swap of the generation, so of two processes releasing the same handle exactly
//! one succeeds. (Generations wrap after 2^31 acquisitions of one slot; a handle kept that
//! long could then match again.)
//!
//! # The free list
//!
//! Free slots form a Treiber stack linked through each slot's `next` index. The `head` word
//! packs the top index with a 32-bit **tag** that every successful push and pop increments, so
//! a pop that read `head = (tag, i)` and `next(i) = j` cannot install `j` after other processes
//! popped `i` and `j` and pushed `i` back (the ABA problem): the tag has moved on. Slots are
//! never freed memory, so reading a stale `next` is harmless — the compare-and-swap fails.
//! Popping also checks that the slot's generation is even (free), so a corrupted list is
//! reported instead of handing a slot out twice.
//!
//! # Objects
//!
//! An object holds whatever its previous occupant left: write it after acquiring. The pool does
//! not synchronise object contents between holders of the same handle (like an
//! [`Array`](crate::Array) element, coordinate through whatever passed the handle on — a queue
//! gives release/acquire ordering). [`Pool::read`] and [`Pool::write`] copy with relaxed atomic
//! units (`atomic_copy.rs`), so racing accesses are never undefined behaviour; `read`
//! re-checks the generation after copying and fails if the handle was released meanwhile. A
//! `write` racing with a release by another holder may land in the slot's next occupant: it is
//! reported as stale afterwards, but the bytes are written — release a handle only when no other
//! process writes through it.
//!
//! # Owners (dead-process recovery)
//!
//! Each slot records its owner (`pid << 40 | start time`, see [`crate::sys::process`]): the acquirer,
//! stored before the generation turns odd, cleared on release. [`Pool::reclaim_dead`] releases
//! every object whose owner has died — first a compare-and-swap of the owner from the dead tag
//! to 0, then the generation compare-and-swap a release makes — so an object is reclaimed once,
//! and its stale handles fail everywhere afterwards. A process that receives a handle from
//! another should [`adopt`](Pool::adopt) it (a compare-and-swap of the owner to itself): the
//! object then survives its sender's death and is reclaimed if the adopter dies instead. Of an
//! adoption and a reclamation racing for a dead sender's object, exactly one wins the owner word.
//!
//! A process killed inside `acquire` between popping the free list and recording itself as owner
//! (two instructions) leaks that one object: it is neither free nor owned.
//!
//! # Layout
//!
//! ```text
//! offset  size          field
//! 0       8             u64 head        tag << 32 | index of the first free slot (0xFFFFFFFF: none)
//! 8       8             u64 allocated   objects acquired and not released
//! 128     8             u64 capacity    constants, then the event count
//! 136     4             u32 elem_size
//! 140     4             reserved (0)
//! 144     8             freed           event count (u32 epoch, u32 waiters)
//! 256     16 × cap      slot table: u32 generation, u32 next, u64 owner
//! O       elem × cap    objects, O = align_up(256 + 16 × cap, 128)
//! ```

pub use crate::layout::kinds::pool::{field, objects_offset, ALIGN, MAX_CAPACITY, NIL, SLOT_SIZE};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::time::Duration;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::error::{Error, Object, Result};
use crate::layout::{FieldLayout, Kind, Primitive, StructLayout, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::ShmType;
use crate::structures::render::{bar, holder, percent, Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::atomics::{fence, AtomicU32, AtomicU64};
use crate::sys::event_count::EventCount;
use crate::sys::futex::Deadline;
use crate::sys::process::ProcessId;
use crate::sys::role;
use crate::sys::role::Holder;

/// Live state for `inspect`: the header's count, and a scan of the slot table (its first
/// [`POOL_SCAN_LIMIT`](POOL_SCAN_LIMIT) slots) for acquired objects and their
/// owners. Nothing is trusted: a count beyond the capacity is reported in `problems`.
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> PoolState {
    const MAX_OWNERS: usize = 64;
    let capacity = desc.capacity;
    let allocated = region.u64_at(field::ALLOCATED).load(Relaxed);
    let scanned = capacity.min(POOL_SCAN_LIMIT);
    let mut acquired = 0;
    let mut owners = std::collections::HashMap::<u64, u64>::new();
    for i in 0..scanned {
        let slot = field::SLOTS + i * SLOT_SIZE;
        if region.u32_at(slot).load(Acquire) & 1 == 1 {
            acquired += 1;
            *owners.entry(region.u64_at(slot + 8).load(Relaxed)).or_default() += 1;
        }
    }
    if allocated > capacity {
        problems.push(format!("the header counts {allocated} objects acquired, more than the capacity"));
    } else if scanned == capacity && allocated != acquired {
        problems.push(format!(
            "the header counts {allocated} objects acquired, the slot table {acquired} (changing, or damaged)"
        ));
    }
    let mut counts: Vec<(u64, u64)> = owners.into_iter().collect();
    if counts.len() > MAX_OWNERS {
        counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        problems.push(format!("{} owners hold objects; the {MAX_OWNERS} holding most are listed", counts.len()));
        counts.truncate(MAX_OWNERS);
    }
    PoolState {
        capacity,
        allocated,
        acquired,
        scanned,
        owners: pool_owners(counts.into_iter().collect()),
        waiting: region.u32_at(field::FREED + 4).load(Relaxed), // `u32 epoch, u32 waiters`
    }
}

// ---------------------------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------------------------

/// A reference to an object in a [`Pool`]: its slot index and the generation it was acquired
/// at. Plain data, valid in every process that opens the pool; itself an element type
/// (`struct { uint32_t index; uint32_t generation; }` in C), so it can travel through a queue.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct Handle {
    /// The slot.
    pub index: u32,
    /// The slot's generation when acquired (odd).
    pub generation: u32,
}

const HANDLE_LAYOUT: StructLayout<'static> = StructLayout {
    name: "Handle",
    doc: "A pool handle: slot index and generation.",
    size: 8,
    align: 4,
    fields: &[
        FieldLayout { name: "index", doc: "", offset: 0, ty: TypeLayout::Primitive(Primitive::U32) },
        FieldLayout { name: "generation", doc: "", offset: 4, ty: TypeLayout::Primitive(Primitive::U32) },
    ],
};

// SAFETY: `Handle` is `#[repr(C)]` { u32 at 0, u32 at 4 }, size 8, alignment 4, as described.
unsafe impl ShmType for Handle {
    const SHM_LAYOUT: TypeLayout<'static> = TypeLayout::Struct(&HANDLE_LAYOUT);
}

impl Handle {
    /// The handle as one u64 (`generation << 32 | index`).
    pub const fn to_bits(self) -> u64 {
        ((self.generation as u64) << 32) | self.index as u64
    }

    /// Inverse of [`to_bits`](Self::to_bits).
    pub const fn from_bits(bits: u64) -> Handle {
        Handle { index: bits as u32, generation: (bits >> 32) as u32 }
    }
}

impl std::fmt::Display for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.index, self.generation)
    }
}

// ---------------------------------------------------------------------------------------------
// The algorithm, on loom-switchable atomics
// ---------------------------------------------------------------------------------------------

/// The free-list head and the allocation count (offset 0).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct PoolHead {
    head: AtomicU64,
    allocated: AtomicU64,
}

/// One slot-table entry.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct SlotMeta {
    generation: AtomicU32,
    next: AtomicU32,
    owner: AtomicU64,
}

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::size_of::<PoolHead>() == 16);
    assert!(std::mem::size_of::<SlotMeta>() as u64 == SLOT_SIZE);
};

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

/// A pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolState {
    /// Objects.
    pub capacity: u64,
    /// The header's count of acquired objects.
    pub allocated: u64,
    /// Slots found acquired (odd generation) among the scanned ones.
    pub acquired: u64,
    /// Slots scanned (all of them, up to [`POOL_SCAN_LIMIT`]).
    pub scanned: u64,
    /// Who holds the acquired objects: one entry per process, most objects first.
    pub owners: Vec<PoolOwner>,
    /// Acquirers asleep waiting for a release.
    pub waiting: u32,
}

/// Pools larger than this are inspected on their first `POOL_SCAN_LIMIT` slots.
pub const POOL_SCAN_LIMIT: u64 = 1 << 20;

/// Pool objects held by one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOwner {
    /// The process (0 pid: acquired slots with no owner recorded).
    pub holder: Holder,
    /// How many objects it holds.
    pub objects: u64,
}

/// Groups acquired pool slots by owner word, liveness checked once per owner.
pub(crate) fn pool_owners(counts: HashMap<u64, u64>) -> Vec<PoolOwner> {
    let mut owners: Vec<PoolOwner> = counts
        .into_iter()
        .map(|(tag, objects)| PoolOwner {
            holder: Holder::from_tag(tag).unwrap_or(Holder { pid: 0, start_time: 0, alive: false }),
            objects,
        })
        .collect();
    owners.sort_by(|a, b| b.objects.cmp(&a.objects).then(a.holder.pid.cmp(&b.holder.pid)));
    owners
}

impl LiveState for PoolState {
    fn report(&self, out: &mut Vec<String>) {
        let p = self;
        out.push(format!(
            "{} {}/{} acquired ({})",
            bar(p.acquired, p.scanned),
            p.acquired,
            p.scanned,
            percent(p.acquired, p.scanned)
        ));
        if p.scanned < p.capacity {
            out.push(format!("(first {} of {} slots scanned)", p.scanned, p.capacity));
        }
        if !p.owners.is_empty() {
            let shown: Vec<String> =
                p.owners.iter().take(8).map(|o| format!("{} holds {}", holder(&Some(o.holder)), o.objects)).collect();
            let more = p.owners.len().saturating_sub(8);
            out.push(format!(
                "owners: {}{}",
                shown.join(", "),
                if more > 0 { format!(", and {more} more") } else { String::new() }
            ));
        }
        if p.waiting > 0 {
            out.push(format!("{} asleep in acquire", p.waiting));
        }
    }

    fn json(&self) -> Json {
        let p = self;
        let u = |v: u32| Json::U(v.into());
        Json::O(vec![
            ("capacity", Json::U(p.capacity)),
            ("allocated", Json::U(p.allocated)),
            ("acquired", Json::U(p.acquired)),
            ("scanned", Json::U(p.scanned)),
            ("waiting", u(p.waiting)),
            (
                "owners",
                Json::A(
                    p.owners
                        .iter()
                        .map(|o| {
                            Json::O(vec![
                                ("pid", u(o.holder.pid)),
                                ("start_time", Json::U(o.holder.start_time)),
                                ("alive", Json::Bool(o.holder.alive)),
                                ("objects", Json::U(o.objects)),
                            ])
                        })
                        .collect(),
                ),
            ),
        ])
    }
}

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

const fn pack(tag: u32, index: u32) -> u64 {
    ((tag as u64) << 32) | index as u64
}

const fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

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
    head: NonNull<PoolHead>,
    slots: NonNull<SlotMeta>,
    freed: NonNull<EventCount>,
    capacity: u32,
    /// Tag increment per head update: 1; loom models set 0 to show the tag is needed.
    tag_step: u32,
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

    fn h(&self) -> &PoolHead {
        // SAFETY: valid while `self` lives (constructor contract).
        unsafe { self.head.as_ref() }
    }

    fn freed(&self) -> &EventCount {
        // SAFETY: as for `h`.
        unsafe { self.freed.as_ref() }
    }

    /// Slot `index`'s entry; `index < capacity`.
    fn meta(&self, index: u32) -> &SlotMeta {
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
        let mut head = self.h().head.load(Acquire);
        loop {
            let (tag, index) = unpack(head);
            if index == NIL {
                return Ok(None);
            }
            if index >= self.capacity {
                return Err(format!("the free list starts at slot {index}, beyond the capacity {}", self.capacity));
            }
            let next = self.meta(index).next.load(Relaxed);
            if next != NIL && next >= self.capacity {
                // A concurrent pop and push can make `next` stale but never out of range.
                match self.h().head.load(Acquire) {
                    h if h == head => return Err(format!("free slot {index} links to slot {next}")),
                    h => {
                        head = h;
                        continue;
                    }
                }
            }
            let new = pack(tag.wrapping_add(self.tag_step), next);
            match self.h().head.compare_exchange(head, new, AcqRel, Acquire) {
                Ok(_) => break self.take(index, owner).map(Some),
                Err(h) => head = h,
            }
        }
    }

    /// Marks popped slot `index` acquired by `owner`.
    fn take(&self, index: u32, owner: u64) -> std::result::Result<(u32, u32), String> {
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
        let mut head = self.h().head.load(Relaxed);
        loop {
            let (tag, top) = unpack(head);
            m.next.store(top, Relaxed);
            let new = pack(tag.wrapping_add(self.tag_step), index);
            match self.h().head.compare_exchange(head, new, Release, Relaxed) {
                Ok(_) => break,
                Err(h) => head = h,
            }
        }
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

// ---------------------------------------------------------------------------------------------
// In a segment
// ---------------------------------------------------------------------------------------------

/// A fixed-capacity pool of `T` objects in a segment.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Pool, Segment};
///
/// let seg = Segment::create("/pool-doc", 1 << 20)?;
/// let frames = Pool::<[u8; 64]>::create(&seg, "frames", 16)?;
/// let h = frames.try_acquire()?.expect("a free frame");
/// frames.write(h, [7; 64])?;
/// // Send `h` to another process (it is 8 bytes of plain data); there:
/// let frames = Pool::<[u8; 64]>::open(&seg, "frames")?;
/// assert_eq!(frames.read(h)?[0], 7);
/// frames.release(h)?;
/// assert!(frames.release(h).is_err()); // a double release is an error, not corruption
/// # Segment::unlink("/pool-doc") }
/// ```
pub struct Pool<T: ShmType> {
    segment: Segment,
    region: Region,
    core: PoolCore,
    objects: NonNull<u8>,
    unit: usize,
    _elem: PhantomData<T>,
}

// SAFETY: the handle keeps the mapping alive; objects are accessed only with atomic units or
// through raw pointers the caller dereferences; T: ShmType is Send + Sync.
unsafe impl<T: ShmType> Send for Pool<T> {}
// SAFETY: as above.
unsafe impl<T: ShmType> Sync for Pool<T> {}

impl<T: ShmType> Clone for Pool<T> {
    fn clone(&self) -> Self {
        Pool {
            segment: self.segment.clone(),
            region: self.region.clone(),
            core: self.core.clone(),
            objects: self.objects,
            unit: self.unit,
            _elem: PhantomData,
        }
    }
}

impl<T: ShmType> Pool<T> {
    /// Creates pool `name` of `capacity` objects, all free.
    pub fn create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        Self::create_in(segment, &StructureLayout { capacity, ..Self::declaration(name) })
    }

    /// Opens pool `name` whatever its capacity, checking the object layout.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let decl = Self::declaration(name);
        structures::check_declaration::<Self>(&decl)?;
        let (region, desc) = segment.lookup(&decl, false)?;
        Ok(Self::from_region(segment, region, desc.capacity))
    }

    /// Opens pool `name`, or creates it. An existing pool must have this capacity.
    pub fn open_or_create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        let decl = StructureLayout { capacity, ..Self::declaration(name) };
        loop {
            match Self::open_in(segment, &decl) {
                Err(Error::NotFound { object: Object::Structure, .. }) => {}
                other => return other,
            }
            match Self::create_in(segment, &decl) {
                Err(Error::AlreadyExists { object: Object::Structure, .. }) => continue,
                other => return other,
            }
        }
    }

    /// A handle on a validated region of a pool of `capacity` objects.
    fn from_region(segment: &Segment, region: Region, capacity: u64) -> Self {
        let elem = std::mem::size_of::<T>();
        // The region's size was checked against the layout of `capacity` objects at open.
        let objects_at = objects_offset(capacity).expect("validated capacity");
        let objects = NonNull::new(region.ptr(objects_at, capacity * elem as u64)).expect("non-null mapping");
        let core = core_on(&region, capacity);
        Pool {
            segment: segment.clone(),
            region,
            core,
            objects,
            unit: crate::sys::atomic_copy::unit_for(elem),
            _elem: PhantomData,
        }
    }

    /// The pool's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Offset of the pool's region in the segment.
    pub fn offset(&self) -> u64 {
        self.region.offset()
    }

    /// The segment this pool is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Number of objects.
    pub fn capacity(&self) -> u64 {
        self.core.capacity as u64
    }

    /// Objects acquired and not yet released. Approximate under concurrency.
    pub fn num_allocated(&self) -> u64 {
        self.core.allocated()
    }

    /// Acquires a free object: `Ok(None)` when all are in use. Never blocks. The object holds
    /// whatever its previous occupant left.
    pub fn try_acquire(&self) -> Result<Option<Handle>> {
        let me = role::my_tag();
        match self.core.try_acquire(me) {
            Ok(h) => Ok(h.map(|(index, generation)| Handle { index, generation })),
            Err(detail) => Err(self.corrupt(detail)),
        }
    }

    /// Acquires a free object, waiting for a release at most `timeout` (`None`: forever);
    /// [`Error::Timeout`] if none is free then.
    pub fn acquire(&self, timeout: Option<Duration>) -> Result<Handle> {
        let me = role::my_tag();
        match self.core.acquire(me, Deadline::after(timeout))? {
            Ok((index, generation)) => Ok(Handle { index, generation }),
            Err(detail) => Err(self.corrupt(detail)),
        }
    }

    /// Releases the object: the handle becomes stale everywhere. A stale handle (released
    /// before, by any process) or one from another pool is [`Error::StaleHandle`] or
    /// [`Error::IndexOutOfBounds`], and changes nothing.
    pub fn release(&self, handle: Handle) -> Result<()> {
        self.core.release(handle.index, handle.generation).map_err(|f| self.fault(handle, f))
    }

    /// Whether `handle` names a live object right now.
    pub fn is_live(&self, handle: Handle) -> bool {
        self.core.check(handle.index, handle.generation).is_ok()
    }

    /// A copy of the object. Fails if the handle is stale before or after the copy.
    pub fn read(&self, handle: Handle) -> Result<T> {
        let mut v = T::new_zeroed();
        self.objects().read(handle, v.as_mut_bytes()).map_err(|f| self.fault(handle, f))?;
        Ok(v)
    }

    /// Overwrites the object. Fails without writing if the handle is stale; see the [module
    /// docs](self) for a write racing with a release by another holder.
    pub fn write(&self, handle: Handle, value: T) -> Result<()> {
        self.objects().write(handle, value.as_bytes()).map_err(|f| self.fault(handle, f))
    }

    fn objects(&self) -> Objects<'_> {
        Objects { core: &self.core, base: self.objects, size: std::mem::size_of::<T>(), unit: self.unit }
    }

    /// A raw pointer to the object, for code that manages access itself (zero-copy work on big
    /// objects, C interop). Checked live now; it stays a valid, aligned pointer into the mapping
    /// while this `Pool` lives, but the object is only *yours* while the handle is: another
    /// process may read or write it concurrently if it holds the handle too, and after a
    /// release it belongs to the next acquirer. Dereferencing it is `unsafe` for those reasons.
    pub fn as_ptr(&self, handle: Handle) -> Result<*mut T> {
        Ok(self.objects().as_ptr(handle).map_err(|f| self.fault(handle, f))?.cast())
    }

    /// Makes this process the owner of `handle`, which another process acquired and passed on:
    /// from now on the object is reclaimed if this process dies ([`reclaim_dead`](Self::reclaim_dead)),
    /// not if its acquirer does. Fails with [`Error::StaleHandle`] if the handle is stale — also
    /// if its previous owner died and the object was reclaimed before this call.
    pub fn adopt(&self, handle: Handle) -> Result<()> {
        self.core.adopt(handle.index, handle.generation, role::my_tag()).map_err(|f| self.fault(handle, f))
    }

    /// Releases every object whose owner (its acquirer, or the process that adopted it) has
    /// died, as that process would have; returns how many. Their handles are stale everywhere
    /// afterwards. Objects handed to live processes that did not [`adopt`](Self::adopt) them go
    /// too: adopt what you receive.
    ///
    /// ```no_run
    /// # fn main() -> zipc::Result<()> {
    /// let seg = zipc::Segment::open("/frames")?;
    /// let frames = zipc::Pool::<[u8; 4096]>::open(&seg, "frames")?;
    /// let freed = frames.reclaim_dead();
    /// eprintln!("{freed} frames of dead processes returned to the pool");
    /// # Ok(()) }
    /// ```
    pub fn reclaim_dead(&self) -> u64 {
        self.core.reclaim(crate::sys::role::alive)
    }

    /// The process that owns the object: its acquirer, or the process that adopted it.
    pub fn owner(&self, handle: Handle) -> Result<ProcessId> {
        let m = self.core.check(handle.index, handle.generation).map_err(|f| self.fault(handle, f))?;
        let owner = role::untag(m.owner.load(Relaxed));
        self.core.still_live(m, handle.generation).map_err(|f| self.fault(handle, f))?;
        Ok(owner)
    }

    fn fault(&self, handle: Handle, fault: Fault) -> Error {
        fault.error(self.name(), self.capacity(), handle)
    }

    fn corrupt(&self, detail: String) -> Error {
        Error::corrupt(self.segment.name(), format!("structure {:?}", self.name()), detail)
    }
}

impl Fault {
    /// The error for a refused `handle` of pool `name` of `capacity` objects.
    pub(crate) fn error(self, name: &str, capacity: u64, handle: Handle) -> Error {
        match self {
            Fault::Stale { current } => Error::StaleHandle {
                structure: name.to_owned(),
                index: handle.index,
                generation: handle.generation,
                current,
            },
            Fault::OutOfRange => Error::IndexOutOfBounds {
                structure: name.to_owned(),
                index: handle.index as u64,
                count: 1,
                len: capacity,
            },
        }
    }
}

/// A pool's object array as the protocol accesses it: objects of `size` bytes from `base`,
/// copied with relaxed atomic units of `unit` bytes, each access checked against the handle's
/// generation (before, and for reads after, the copy). Shared by [`Pool`] and `zipc::dynamic`.
pub(crate) struct Objects<'a> {
    pub(crate) core: &'a PoolCore,
    pub(crate) base: NonNull<u8>,
    pub(crate) size: usize,
    pub(crate) unit: usize,
}

impl Objects<'_> {
    /// Pointer to object `index` (`index < capacity`, checked by the caller).
    fn object(&self, index: u32) -> *mut u8 {
        debug_assert!(index < self.core.capacity);
        // SAFETY: `index < capacity`, and the array holds `capacity` objects of `size` bytes.
        unsafe { self.base.as_ptr().add(index as usize * self.size) }
    }

    /// Copies the object `handle` names into `dst` (`size` bytes).
    pub(crate) fn read(&self, handle: Handle, dst: &mut [u8]) -> std::result::Result<(), Fault> {
        assert_eq!(dst.len(), self.size, "zipc bug: pool object buffer size");
        let m = self.core.check(handle.index, handle.generation)?;
        // SAFETY: the index is in range (checked), so the object lies in the object array; it is
        // unit-aligned (128-aligned array, unit divides the size); `dst` is local, `size` bytes.
        unsafe { crate::sys::atomic_copy::load(dst.as_mut_ptr(), self.object(handle.index), self.size, self.unit) };
        self.core.still_live(m, handle.generation)
    }

    /// Overwrites the object `handle` names with `src` (`size` bytes).
    pub(crate) fn write(&self, handle: Handle, src: &[u8]) -> std::result::Result<(), Fault> {
        assert_eq!(src.len(), self.size, "zipc bug: pool object buffer size");
        let m = self.core.check(handle.index, handle.generation)?;
        // SAFETY: as for `read`, with `src` as the local source.
        unsafe { crate::sys::atomic_copy::store(self.object(handle.index), src.as_ptr(), self.size, self.unit) };
        self.core.still_live(m, handle.generation)
    }

    /// A raw pointer to the object `handle` names, checked live now.
    pub(crate) fn as_ptr(&self, handle: Handle) -> std::result::Result<*mut u8, Fault> {
        self.core.check(handle.index, handle.generation)?;
        Ok(self.object(handle.index))
    }
}

/// The pool algorithm on a validated region of `capacity` objects. The core must not outlive
/// the region's mapping (handles keep both).
pub(crate) fn core_on(region: &Region, capacity: u64) -> PoolCore {
    if cfg!(loom) {
        panic!("shared-memory pools are not available in a loom build");
    }
    let ptr = |rel: u64, len: u64| NonNull::new(region.ptr(rel, len)).expect("non-null mapping");
    // SAFETY: aligned offsets inside the region (the slot table for `capacity` entries, checked
    // by `ptr`); the mapping outlives the core by the caller's contract; the words are atomics.
    unsafe {
        PoolCore::new(
            ptr(field::HEAD, 16).cast(),
            ptr(field::SLOTS, capacity * SLOT_SIZE).cast(),
            ptr(field::FREED, 8).cast(),
            capacity as u32,
        )
    }
}

#[diagnostic::do_not_recommend]
impl<T: ShmType> Structure for Pool<T> {
    const KIND: Kind = Kind::Pool;
    const ELEM: Option<TypeLayout<'static>> = Some(T::SHM_LAYOUT);
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let cap = decl.capacity;
        let region = segment.allocate(decl, |r| {
            r.u64_at(field::CAPACITY).store(cap, Relaxed);
            r.u32_at(field::ELEM_SIZE).store(std::mem::size_of::<T>() as u32, Relaxed);
            core_on(r, cap).init();
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, cap))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Ok(Self::from_region(segment, region, desc.capacity))
    }
}

impl<T: ShmType> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("capacity", &self.capacity())
            .field("allocated", &self.num_allocated())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;
    use loom::thread;

    struct Mem {
        head: PoolHead,
        slots: Vec<SlotMeta>,
        freed: EventCount,
    }

    /// A pool of `cap` slots; `in_use` marks a slot while a test thread holds it.
    struct TestPool {
        core: PoolCore,
        in_use: Vec<AtomicBool>,
        _mem: Box<Mem>,
    }

    impl TestPool {
        fn acquire(&self) -> (u32, u32) {
            let (i, g) = self.core.try_acquire(7).unwrap().expect("a free slot");
            assert!(!self.in_use[i as usize].swap(true, Relaxed), "slot {i} handed out twice");
            (i, g)
        }

        fn release(&self, (i, g): (u32, u32)) {
            self.in_use[i as usize].store(false, Relaxed);
            self.core.release(i, g).unwrap();
        }
    }

    fn pool(cap: u32, tag_step: u32) -> Arc<TestPool> {
        let mem = Box::new(Mem {
            head: PoolHead::new(),
            slots: (0..cap).map(|_| SlotMeta::new()).collect(),
            freed: EventCount::new(),
        });
        // SAFETY: the pointers are into `mem`, owned by the same `TestPool` as the core.
        let mut core = unsafe {
            PoolCore::new(NonNull::from(&mem.head), NonNull::from(&mem.slots[0]), NonNull::from(&mem.freed), cap)
        };
        core.tag_step = tag_step;
        core.init();
        Arc::new(TestPool { core, in_use: (0..cap).map(|_| AtomicBool::new(false)).collect(), _mem: mem })
    }

    /// Thread A acquires and releases one object while thread B acquires two and releases them:
    /// the interleaving in which A reads `head = i, next(i) = j`, B pops `i` and `j` and pushes
    /// `i` back, and A then swaps in `j` (ABA) is within the bound. No slot is ever handed out
    /// twice, and afterwards all three are free and distinct.
    fn aba_model(tag_step: u32) {
        loom::model(move || {
            let p = pool(3, tag_step);
            let p2 = p.clone();
            let a = thread::spawn(move || {
                let h = p2.acquire();
                p2.release(h);
            });
            let h1 = p.acquire();
            let h2 = p.acquire();
            p.release(h1);
            p.release(h2);
            a.join().unwrap();
            assert_eq!(p.core.allocated(), 0);
            let mut all: Vec<u32> = (0..3).map(|_| p.acquire().0).collect();
            all.sort_unstable();
            assert_eq!(all, [0, 1, 2]);
            assert_eq!(p.core.try_acquire(7).unwrap(), None);
        });
    }

    #[test]
    fn loom_pool_free_list_is_aba_safe() {
        aba_model(1);
    }

    /// Without the tag the same model fails: the ABA interleaving is explored.
    #[test]
    #[should_panic]
    fn loom_pool_without_tag_is_caught() {
        aba_model(0);
    }

    /// Two threads release the same handle: exactly one succeeds, the other gets `Stale`, and
    /// the slot is on the free list once.
    #[test]
    fn loom_pool_racing_double_release() {
        loom::model(|| {
            let p = pool(2, 1);
            let (i, g) = p.core.try_acquire(7).unwrap().unwrap();
            let p2 = p.clone();
            let t = thread::spawn(move || p2.core.release(i, g));
            let mine = p.core.release(i, g);
            let theirs = t.join().unwrap();
            assert!(mine.is_ok() != theirs.is_ok(), "exactly one release wins: {mine:?} {theirs:?}");
            assert_eq!(mine.err().or(theirs.err()), Some(Fault::Stale { current: g + 1 }));
            let a = p.core.try_acquire(7).unwrap().unwrap();
            let b = p.core.try_acquire(7).unwrap().unwrap();
            assert_ne!(a.0, b.0);
            assert_eq!(p.core.try_acquire(7).unwrap(), None, "the slot was pushed once");
        });
    }

    /// A blocked acquire wakes when another thread releases, and gets the next generation.
    /// Process 7 acquired an object, passed the handle on, and died. The receiver (8) adopts it
    /// while a survivor reclaims dead processes' objects: exactly one of them wins — the object
    /// is either adopted and still held, or reclaimed, free and its handle stale — and a third
    /// thread acquiring meanwhile never gets it while it is adopted.
    #[test]
    fn loom_pool_reclaim_races_adoption() {
        loom::model(|| {
            let p = pool(2, 1);
            let h = p.core.try_acquire(7).unwrap().unwrap();
            let p2 = p.clone();
            let adopter = thread::spawn(move || p2.core.adopt(h.0, h.1, 8).is_ok());
            let p3 = p.clone();
            let other = thread::spawn(move || p3.core.try_acquire(9).unwrap());
            let reclaimed = p.core.reclaim(|tag| tag != 7);
            let adopted = adopter.join().unwrap();
            let got = other.join().unwrap();
            assert!(adopted != (reclaimed == 1), "exactly one of adoption and reclamation wins: {adopted} {reclaimed}");
            if adopted {
                assert!(p.core.check(h.0, h.1).is_ok(), "the adopted object is still held");
                assert_ne!(got.map(|g| g.0), Some(h.0), "an adopted object is not handed out");
            } else {
                assert!(p.core.check(h.0, h.1).is_err(), "the reclaimed object's handle is stale");
            }
        });
    }

    #[test]
    fn loom_pool_blocking_acquire_wakes() {
        loom::model(|| {
            let p = pool(1, 1);
            let (i, g) = p.core.try_acquire(7).unwrap().unwrap();
            let p2 = p.clone();
            let t = thread::spawn(move || p2.core.acquire(8, Deadline::after(None)).unwrap().unwrap());
            p.core.release(i, g).unwrap();
            assert_eq!(t.join().unwrap(), (i, g + 2));
            assert!(p.core.check(i, g).is_err(), "the old handle is stale");
        });
    }
}
