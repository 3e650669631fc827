//! The ring in a segment: its slots over segment bytes (typed or bytes of a run-time size), its
//! [`Core`] over a validated region, and claiming its producer and consumer roles.

use super::*;

/// Slots in a segment, copied with relaxed atomic units.
pub(crate) struct ShmSlots<T> {
    pub(super) base: NonNull<u8>,
    pub(super) capacity: usize,
    pub(super) unit: usize,
    pub(super) _elem: PhantomData<T>,
}

impl<T> Clone for ShmSlots<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ShmSlots<T> {}

// SAFETY: the slots are shared memory accessed only atomically; T: ShmType is Send + Sync.
unsafe impl<T: ShmType> Send for ShmSlots<T> {}
// SAFETY: as above.
unsafe impl<T: ShmType> Sync for ShmSlots<T> {}

impl<T: ShmType> Slots for ShmSlots<T> {
    type Elem = T;

    fn store(&self, first: usize, src: &[T]) {
        assert!(first <= self.capacity && src.len() <= self.capacity - first, "zipc bug: ring slots out of range");
        let size = std::mem::size_of::<T>();
        // SAFETY: the run is inside the slot area (checked); slots start at multiples of the
        // element size from a 128-aligned base, so they are `unit`-aligned; `src` is local.
        unsafe {
            crate::sys::atomic_copy::store(
                self.base.as_ptr().add(first * size),
                src.as_ptr().cast(),
                std::mem::size_of_val(src),
                self.unit,
            )
        }
    }

    fn load(&self, first: usize, dst: &mut [T]) {
        assert!(first <= self.capacity && dst.len() <= self.capacity - first, "zipc bug: ring slots out of range");
        let size = std::mem::size_of::<T>();
        // SAFETY: as for `store`; `dst` is local, and T is valid for any bytes (ShmType).
        unsafe {
            crate::sys::atomic_copy::load(
                dst.as_mut_ptr().cast(),
                self.base.as_ptr().add(first * size),
                std::mem::size_of_val(dst),
                self.unit,
            )
        }
    }
}

/// Slots in a segment holding elements of a size known at run time, copied with relaxed atomic
/// units like [`ShmSlots`]; caller buffers are bytes (`zipc::dynamic`).
#[derive(Clone, Copy)]
pub(crate) struct ByteSlots {
    pub(super) base: NonNull<u8>,
    pub(super) capacity: usize,
    pub(super) size: usize,
    pub(super) unit: usize,
}

// SAFETY: the slots are shared memory accessed only atomically.
unsafe impl Send for ByteSlots {}
// SAFETY: as above.
unsafe impl Sync for ByteSlots {}

impl Slots for ByteSlots {
    type Elem = u8;

    #[inline]
    fn per_elem(&self) -> usize {
        self.size
    }

    fn store(&self, first: usize, src: &[u8]) {
        let n = src.len() / self.size;
        assert!(
            src.len() % self.size == 0 && first <= self.capacity && n <= self.capacity - first,
            "zipc bug: ring slots out of range"
        );
        // SAFETY: the run is inside the slot area (checked); slots start at multiples of the
        // element size from a 128-aligned base, so they are `unit`-aligned; `src` is local.
        unsafe {
            crate::sys::atomic_copy::store(
                self.base.as_ptr().add(first * self.size),
                src.as_ptr(),
                src.len(),
                self.unit,
            )
        }
    }

    fn load(&self, first: usize, dst: &mut [u8]) {
        let n = dst.len() / self.size;
        assert!(
            dst.len() % self.size == 0 && first <= self.capacity && n <= self.capacity - first,
            "zipc bug: ring slots out of range"
        );
        // SAFETY: as for `store`; `dst` is local.
        unsafe {
            crate::sys::atomic_copy::load(
                dst.as_mut_ptr(),
                self.base.as_ptr().add(first * self.size),
                dst.len(),
                self.unit,
            )
        }
    }
}

/// The ring algorithm on a validated region of a ring of `cap` slots of `elem_size`-byte
/// elements with descriptor flags `fl`; `slots` builds the slot accessor from the first slot's
/// address. The core must not outlive the region's mapping (handles keep both).
pub(crate) fn core_on<S: Slots>(
    region: &Region,
    cap: u64,
    fl: u32,
    elem_size: usize,
    slots: impl FnOnce(NonNull<u8>) -> S,
) -> Core<S> {
    if cfg!(loom) {
        panic!("shared-memory rings are not available in a loom build");
    }
    // Both sides notify after every batch with the asymmetric pairing (no fence on the fast path):
    // every process that touches a ring registers for the membarrier its waiters issue.
    crate::sys::asymmetric_fence::register();
    let ptr = |rel: u64, len: u64| NonNull::new(region.ptr(rel, len)).expect("mapping pointers are non-null");
    let data_len = cap * elem_size as u64; // the region's size was checked against this at open
    let slots = slots(ptr(HEADER_SIZE, data_len));
    // SAFETY: the pointers are aligned offsets inside the region (whose mapping `region` keeps
    // alive as long as the core, by the caller's contract); the header words are atomics.
    unsafe {
        Core::new(
            ptr(field::WRITE_POS, std::mem::size_of::<ProducerSide>() as u64).cast(),
            ptr(field::READ_POS, std::mem::size_of::<ConsumerSide>() as u64).cast(),
            ptr(field::DATA_READY, 8).cast(),
            ptr(field::SPACE_READY, 8).cast(),
            slots,
            cap,
            fl & flags::RING_OVERWRITE != 0,
        )
    }
}

/// Byte slots for a ring of `cap` elements of `size` bytes at `base`.
pub(crate) fn byte_slots(base: NonNull<u8>, cap: u64, size: usize) -> ByteSlots {
    ByteSlots { base, capacity: cap as usize, size, unit: crate::sys::atomic_copy::unit_for(size) }
}

/// Claims the producer role of the ring in `region` and loads the producer's state.
pub(crate) fn claim_producer<S: Slots>(region: &Region, core: &Core<S>) -> Result<(ProducerState, role::Claim)> {
    let word = region.u64_at(field::PRODUCER);
    let claim = role::claim(word).map_err(|p| role_taken(region, "producer", p.pid))?;
    match core.producer_state() {
        Ok(state) => Ok((state, claim)),
        Err(detail) => {
            claim.release(word);
            Err(ring_corrupt(region, detail))
        }
    }
}

/// Claims the consumer role of the ring in `region` and loads the consumer's state.
pub(crate) fn claim_consumer<S: Slots>(region: &Region, core: &Core<S>) -> Result<(ConsumerState, role::Claim)> {
    let word = region.u64_at(field::CONSUMER);
    let claim = role::claim(word).map_err(|p| role_taken(region, "consumer", p.pid))?;
    match core.consumer_state() {
        Ok(state) => Ok((state, claim)),
        Err(detail) => {
            claim.release(word);
            Err(ring_corrupt(region, detail))
        }
    }
}

fn role_taken(region: &Region, role: &'static str, pid: u32) -> Error {
    Error::RoleTaken { structure: region.name().to_owned(), role, pid }
}

fn ring_corrupt(region: &Region, detail: String) -> Error {
    Error::corrupt(region.segment_name(), format!("structure {:?}", region.name()), detail)
}
