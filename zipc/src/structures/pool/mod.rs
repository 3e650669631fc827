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
mod core;
#[cfg(not(loom))]
mod readiness;
mod state;
#[cfg(all(test, loom))]
mod tests;

pub(crate) use self::core::{Fault, PoolCore};
pub(crate) use state::inspect;
pub use state::{PoolOwner, PoolState, POOL_SCAN_LIMIT};

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
