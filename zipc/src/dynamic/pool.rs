//! [`DynPool`]: a pool of any object size.

use std::ptr::NonNull;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::Kind;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::pool::{self, Handle, Objects, PoolCore};
use crate::sys::futex::Deadline;
use crate::sys::role;

use super::{one, open_entry, ElementSpec};

/// A [`Pool`](crate::Pool) of any object type, opened by name.
#[derive(Clone)]
pub struct DynPool {
    segment: Segment,
    region: Region,
    core: PoolCore,
    objects: NonNull<u8>,
    size: usize,
    unit: usize,
}

// SAFETY: the handle keeps the mapping alive; objects are accessed only with atomic units or
// through raw pointers the caller dereferences.
unsafe impl Send for DynPool {}
// SAFETY: as above.
unsafe impl Sync for DynPool {}

impl DynPool {
    /// Opens pool `name`, checking that its objects are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, Kind::Pool, &elem)?;
        let capacity = desc.capacity;
        // The region's size was checked against the layout of `capacity` objects at open.
        let at = pool::objects_offset(capacity).expect("validated capacity");
        let objects = NonNull::new(region.ptr(at, capacity * elem.size as u64)).expect("non-null mapping");
        let core = pool::core_on(&region, capacity);
        let unit = crate::sys::atomic_copy::unit_for(elem.size);
        Ok(DynPool { segment: segment.clone(), region, core, objects, size: elem.size, unit })
    }

    fn objects(&self) -> Objects<'_> {
        Objects { core: &self.core, base: self.objects, size: self.size, unit: self.unit }
    }

    fn fault(&self, handle: Handle, f: pool::Fault) -> Error {
        f.error(self.name(), self.capacity(), handle)
    }

    fn corrupt(&self, detail: String) -> Error {
        Error::corrupt(self.segment.name(), format!("structure {:?}", self.name()), detail)
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Bytes per object.
    pub fn elem_size(&self) -> usize {
        self.size
    }

    /// Number of objects.
    pub fn capacity(&self) -> u64 {
        self.core.capacity() as u64
    }

    /// Objects acquired and not yet released, approximately.
    pub fn num_allocated(&self) -> u64 {
        self.core.allocated()
    }

    /// Acquires a free object: `Ok(None)` when all are in use. Never blocks.
    pub fn try_acquire(&self) -> Result<Option<Handle>> {
        match self.core.try_acquire(role::my_tag()) {
            Ok(h) => Ok(h.map(|(index, generation)| Handle { index, generation })),
            Err(detail) => Err(self.corrupt(detail)),
        }
    }

    /// Acquires a free object, waiting at most `timeout` (`None`: forever) for a release.
    pub fn acquire(&self, timeout: Option<Duration>) -> Result<Handle> {
        match self.core.acquire(role::my_tag(), Deadline::after(timeout))? {
            Ok((index, generation)) => Ok(Handle { index, generation }),
            Err(detail) => Err(self.corrupt(detail)),
        }
    }

    /// Releases the object ([`Error::StaleHandle`](crate::Error::StaleHandle) if it was released already).
    pub fn release(&self, handle: Handle) -> Result<()> {
        self.core.release(handle.index, handle.generation).map_err(|f| self.fault(handle, f))
    }

    /// Whether `handle` names a live object right now.
    pub fn is_live(&self, handle: Handle) -> bool {
        self.core.check(handle.index, handle.generation).is_ok()
    }

    /// Makes this process the owner of `handle` ([`Pool::adopt`](crate::Pool::adopt)).
    pub fn adopt(&self, handle: Handle) -> Result<()> {
        self.core.adopt(handle.index, handle.generation, role::my_tag()).map_err(|f| self.fault(handle, f))
    }

    /// Releases every object whose owner died; returns how many
    /// ([`Pool::reclaim_dead`](crate::Pool::reclaim_dead)).
    pub fn reclaim_dead(&self) -> u64 {
        self.core.reclaim(crate::sys::role::alive)
    }

    /// Copies the object into `dst` (exactly one object).
    pub fn read(&self, handle: Handle, dst: &mut [u8]) -> Result<()> {
        one("pool read", self.size, dst.len())?;
        self.objects().read(handle, dst).map_err(|f| self.fault(handle, f))
    }

    /// Overwrites the object with `src` (exactly one object).
    pub fn write(&self, handle: Handle, src: &[u8]) -> Result<()> {
        one("pool write", self.size, src.len())?;
        self.objects().write(handle, src).map_err(|f| self.fault(handle, f))
    }

    /// A raw pointer to the object (see [`Pool::as_ptr`](crate::Pool::as_ptr)).
    pub fn as_ptr(&self, handle: Handle) -> Result<*mut u8> {
        self.objects().as_ptr(handle).map_err(|f| self.fault(handle, f))
    }
}

impl std::fmt::Debug for DynPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynPool").field("name", &self.name()).field("elem_size", &self.size).finish()
    }
}

/// Ready when a [`try_acquire`](DynPool::try_acquire) would find a free object (as for
/// [`Pool`](crate::Pool)).
#[cfg(not(loom))]
impl crate::sys::wait_set::Readiness for DynPool {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        self.core.free_source(self.clone())
    }
}
