//! The topic in a segment: its parameters, its slots over segment bytes (typed or bytes of a
//! run-time size), its [`Core`] over a validated region, and claiming the publisher role.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::Relaxed;

use super::core::{CloseLine, ControlLine, Core, Liveness, PubState, PublisherLine, Slots};
use crate::error::{Error, Result};
use crate::layout::kinds::topic::{control, header, record, slot_size, slots_offset, SEQ_SIZE};
use crate::layout::{flags, StructureLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::shm_type::ShmType;
use crate::sys::atomics::AtomicU64;
use crate::sys::role;

/// A topic's parameters, as its descriptor (or the declaration that creates it) gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    pub(crate) capacity: u64,
    pub(crate) elem_size: u64,
    pub(crate) flags: u32,
    pub(crate) max_subscribers: u64,
    pub(crate) history: u64,
}

impl Params {
    /// From a validated descriptor (its numbers were range-checked with the header).
    pub(crate) fn of(d: &Descriptor) -> Params {
        Params {
            capacity: d.capacity,
            elem_size: d.elem_size as u64,
            flags: d.flags,
            max_subscribers: d.maximum as u64,
            history: d.initial as u64,
        }
    }

    /// From a declaration whose region was computed (so its numbers are in range).
    pub(crate) fn of_decl(decl: &StructureLayout<'_>) -> Params {
        Params {
            capacity: decl.capacity,
            elem_size: decl.elem.as_ref().map_or(0, |e| e.size()),
            flags: decl.flags,
            max_subscribers: decl.maximum as u64,
            history: decl.initial as u64,
        }
    }

    fn slot_size(&self) -> u64 {
        slot_size(self.elem_size).expect("a validated topic's slot size fits")
    }
}

/// Writes a new topic's header constants (the rest of the region is zero: positions 0, every
/// record free, every slot's sequence word 0 = "never written").
pub(crate) fn init(region: &Region, p: &Params) {
    region.u64_at(header::CAPACITY).store(p.capacity, Relaxed);
    region.u32_at(header::ELEM_SIZE).store(p.elem_size as u32, Relaxed);
    region.u32_at(header::FLAGS).store(p.flags, Relaxed);
    region.u32_at(header::MAX_SUBSCRIBERS).store(p.max_subscribers as u32, Relaxed);
    region.u32_at(header::SLOT_SIZE).store(p.slot_size() as u32, Relaxed);
    region.u64_at(header::HISTORY).store(p.history, Relaxed);
}

/// Record owners are process tags; liveness is `role::alive`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ProcessLiveness;

impl Liveness for ProcessLiveness {
    fn me(&self) -> u64 {
        role::my_tag()
    }
    fn alive(&self, owner: u64) -> bool {
        role::alive(owner)
    }
}

/// Slots in a segment holding `T` payloads.
pub(crate) struct ShmSlots<T> {
    base: NonNull<u8>,
    slot_size: usize,
    capacity: usize,
    unit: usize,
    _elem: PhantomData<T>,
}

impl<T> Clone for ShmSlots<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ShmSlots<T> {}

// SAFETY: the slots are shared memory accessed atomically or under the topic's protocol;
// T: ShmType is Send + Sync.
unsafe impl<T: ShmType> Send for ShmSlots<T> {}
// SAFETY: as above.
unsafe impl<T: ShmType> Sync for ShmSlots<T> {}

impl<T: ShmType> ShmSlots<T> {
    pub(crate) fn new(base: NonNull<u8>, p: &Params) -> Self {
        let elem = std::mem::size_of::<T>();
        ShmSlots {
            base,
            slot_size: p.slot_size() as usize,
            capacity: p.capacity as usize,
            unit: crate::sys::atomic_copy::unit_for(elem),
            _elem: PhantomData,
        }
    }

    /// The payload of slot `slot`: 8-aligned (slots are multiples of 8 from a 128-aligned base).
    pub(crate) fn payload(&self, slot: usize) -> NonNull<T> {
        assert!(slot < self.capacity, "zipc bug: topic slot {slot} out of range");
        // SAFETY: in range (checked), so inside the slot area the region was sized for.
        unsafe { NonNull::new_unchecked(self.base.as_ptr().add(slot * self.slot_size + SEQ_SIZE as usize)) }.cast()
    }
}

impl<T: ShmType> Slots for ShmSlots<T> {
    type Elem = T;

    fn seq(&self, slot: usize) -> &AtomicU64 {
        assert!(slot < self.capacity, "zipc bug: topic slot {slot} out of range");
        // SAFETY: in range, 8-aligned, a sequence word other processes access only atomically.
        unsafe { &*self.base.as_ptr().add(slot * self.slot_size).cast::<AtomicU64>() }
    }

    fn store(&self, slot: usize, src: &[T]) {
        assert!(src.len() == 1, "zipc bug: one sample per topic slot");
        // SAFETY: the payload is inside the region, `unit`-aligned (8-aligned, unit <= 8 divides
        // the size); `src` is local.
        unsafe {
            crate::sys::atomic_copy::store(
                self.payload(slot).as_ptr().cast(),
                src.as_ptr().cast(),
                std::mem::size_of::<T>(),
                self.unit,
            )
        }
    }

    fn load(&self, slot: usize, dst: &mut [T]) {
        assert!(dst.len() == 1, "zipc bug: one sample per topic slot");
        // SAFETY: as for `store`; `dst` is local and T is valid for any bytes (ShmType).
        unsafe {
            crate::sys::atomic_copy::load(
                dst.as_mut_ptr().cast(),
                self.payload(slot).as_ptr().cast(),
                std::mem::size_of::<T>(),
                self.unit,
            )
        }
    }
}

/// Slots holding payloads of a size known at run time; buffers are bytes (`zipc::dynamic`).
#[derive(Clone, Copy)]
pub(crate) struct ByteSlots {
    base: NonNull<u8>,
    slot_size: usize,
    capacity: usize,
    size: usize,
    unit: usize,
}

// SAFETY: as for `ShmSlots`.
unsafe impl Send for ByteSlots {}
// SAFETY: as above.
unsafe impl Sync for ByteSlots {}

impl ByteSlots {
    /// The payload of slot `slot` (see [`ShmSlots::payload`]).
    pub(crate) fn payload(&self, slot: usize) -> NonNull<u8> {
        assert!(slot < self.capacity, "zipc bug: topic slot {slot} out of range");
        // SAFETY: in range (checked), so inside the slot area the region was sized for.
        unsafe { NonNull::new_unchecked(self.base.as_ptr().add(slot * self.slot_size + SEQ_SIZE as usize)) }
    }

    /// Bytes per sample.
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

impl Slots for ByteSlots {
    type Elem = u8;

    fn seq(&self, slot: usize) -> &AtomicU64 {
        assert!(slot < self.capacity, "zipc bug: topic slot {slot} out of range");
        // SAFETY: as for `ShmSlots::seq`.
        unsafe { &*self.base.as_ptr().add(slot * self.slot_size).cast::<AtomicU64>() }
    }

    fn store(&self, slot: usize, src: &[u8]) {
        assert!(src.len() == self.size, "zipc bug: one sample per topic slot");
        // SAFETY: as for `ShmSlots::store`.
        unsafe { crate::sys::atomic_copy::store(self.payload(slot).as_ptr(), src.as_ptr(), self.size, self.unit) }
    }

    fn load(&self, slot: usize, dst: &mut [u8]) {
        assert!(dst.len() == self.size, "zipc bug: one sample per topic slot");
        // SAFETY: as for `ShmSlots::load`.
        unsafe { crate::sys::atomic_copy::load(dst.as_mut_ptr(), self.payload(slot).as_ptr(), self.size, self.unit) }
    }
}

/// The typed topic's core.
pub(crate) type ShmCore<T> = Core<ShmSlots<T>, ProcessLiveness>;

/// The byte-level topic's core.
pub(crate) type ByteCore = Core<ByteSlots, ProcessLiveness>;

/// The topic algorithm on a validated region with parameters `p`; `slots` builds the slot
/// accessor from the first slot's address. The core must not outlive the region's mapping
/// (handles keep both).
pub(crate) fn core_on<S: Slots>(
    region: &Region,
    p: &Params,
    slots: impl FnOnce(NonNull<u8>) -> S,
) -> Core<S, ProcessLiveness> {
    if cfg!(loom) {
        panic!("shared-memory topics are not available in a loom build");
    }
    // Both sides notify with the asymmetric pairing (no fence on the fast path): every process
    // that touches a topic registers for the membarrier its waiters issue.
    crate::sys::asymmetric_fence::register();
    let ptr = |rel: u64, len: u64| NonNull::new(region.ptr(rel, len)).expect("mapping pointers are non-null");
    let records = slots_offset(p.max_subscribers) - slots_offset(0);
    let slots = slots(ptr(slots_offset(p.max_subscribers), p.capacity * p.slot_size()));
    // SAFETY: the pointers are aligned offsets inside the region (sized for these parameters
    // and kept mapped as long as the core, by the caller's contract); the words are atomics;
    // the parameters were range-checked (capacity a power of two, history below it).
    unsafe {
        Core::new(
            ptr(header::WRITE_POS, std::mem::size_of::<PublisherLine>() as u64).cast(),
            ptr(header::END, std::mem::size_of::<CloseLine>() as u64).cast(),
            ptr(control::FLOOR, std::mem::size_of::<ControlLine>() as u64).cast(),
            ptr(slots_offset(0), records),
            record::SIZE as usize,
            p.max_subscribers as usize,
            slots,
            p.capacity,
            p.history,
            p.flags & flags::TOPIC_LOSSY != 0,
            ProcessLiveness,
        )
    }
}

/// The byte-level core of a topic with parameters `p` in `region`.
pub(crate) fn byte_core(region: &Region, p: &Params) -> ByteCore {
    let (slot_size, capacity, size) = (p.slot_size() as usize, p.capacity as usize, p.elem_size as usize);
    core_on(region, p, |base| ByteSlots {
        base,
        slot_size,
        capacity,
        size,
        unit: crate::sys::atomic_copy::unit_for(size),
    })
}

/// Claims the publisher role of the topic in `region` and loads the publisher's state.
pub(crate) fn claim_publisher<S: Slots>(
    region: &Region,
    core: &Core<S, ProcessLiveness>,
) -> Result<(PubState, role::Claim)> {
    let word = region.u64_at(header::PUBLISHER);
    let claim = role::claim(word).map_err(|p| Error::RoleTaken {
        structure: region.name().to_owned(),
        role: "publisher",
        pid: p.pid,
    })?;
    if claim.recovered {
        region.u64_at(header::PUBLISHER_TAKEOVERS).fetch_add(1, Relaxed);
    }
    match core.publisher_state() {
        Ok(state) => Ok((state, claim)),
        Err(detail) => {
            claim.release(word);
            Err(Error::corrupt(region.segment_name(), format!("structure {:?}", region.name()), detail))
        }
    }
}
