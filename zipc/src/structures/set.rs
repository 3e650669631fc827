//! [`Set<K>`]: a fixed-capacity hash set in shared memory — ZeroIPC's `set` — on the map's
//! table without values (see [`crate::structures::map`] for the algorithm and the layout).

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::ShmType;
use crate::structures::map::{self, Inserted, MapCore, Shape};
use crate::structures::{self, Structure};
use crate::sys::role;

/// A fixed-capacity hash set of `K` in a segment. Keys compare by their bytes.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Segment, Set};
///
/// let seg = Segment::create("/set-doc", 1 << 20)?;
/// let seen = Set::<u64>::create(&seg, "seen", 4096)?;
/// assert!(seen.insert(42)?); // new
/// assert!(!seen.insert(42)?); // already there
/// // In another process:
/// let seen = Set::<u64>::open(&seg, "seen")?;
/// assert!(seen.contains(&42));
/// assert!(seen.remove(&42));
/// # Segment::unlink("/set-doc") }
/// ```
pub struct Set<K: ShmType> {
    segment: Segment,
    region: Region,
    core: MapCore,
    _key: PhantomData<K>,
}

// SAFETY: the handle keeps the mapping alive; keys are accessed only with atomic copies;
// K: ShmType is Send + Sync.
unsafe impl<K: ShmType> Send for Set<K> {}
// SAFETY: as above.
unsafe impl<K: ShmType> Sync for Set<K> {}

impl<K: ShmType> Clone for Set<K> {
    fn clone(&self) -> Self {
        Set { segment: self.segment.clone(), region: self.region.clone(), core: self.core.clone(), _key: PhantomData }
    }
}

impl<K: ShmType> Set<K> {
    /// Creates set `name` holding up to `capacity` keys, empty.
    pub fn create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        Self::create_in(segment, &StructureLayout { capacity, ..Self::declaration(name) })
    }

    /// Opens set `name` whatever its capacity, checking the key layout.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let decl = Self::declaration(name);
        structures::check_declaration::<Self>(&decl)?;
        let (region, desc) = segment.lookup(&decl, false)?;
        Self::from_region(segment, region, &desc)
    }

    /// Opens set `name`, or creates it. An existing set must have this capacity.
    pub fn open_or_create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        Self::open_or_create_in(segment, &StructureLayout { capacity, ..Self::declaration(name) })
    }

    /// The shape of the set's slots, a constant.
    const SHAPE: Shape = Shape::new(std::mem::size_of::<K>(), std::mem::size_of::<K>(), 0, 0);

    fn from_region(segment: &Segment, region: Region, desc: &Descriptor) -> Result<Self> {
        let core = map::core_on(segment, &region, desc.capacity, Self::SHAPE)?;
        Ok(Set { segment: segment.clone(), region, core, _key: PhantomData })
    }

    /// The set's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Offset of the set's region in the segment.
    pub fn offset(&self) -> u64 {
        self.region.offset()
    }

    /// The segment this set is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Keys it holds when full.
    pub fn capacity(&self) -> u64 {
        self.core.capacity
    }

    /// Slots in its table (twice the capacity or more, a power of two).
    pub fn slots(&self) -> u64 {
        self.core.slots()
    }

    /// Keys present. Approximate under concurrency.
    pub fn len(&self) -> u64 {
        self.core.len()
    }

    /// Whether the set is empty (approximate under concurrency).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots repaired after dead processes, ever.
    pub fn reclaimed(&self) -> u64 {
        self.core.reclaimed()
    }

    /// Whether `key` is in the set. Lock-free: writes nothing, waits for nobody.
    pub fn contains(&self, key: &K) -> bool {
        self.core.get_with(&Self::SHAPE, key.as_bytes(), &mut [])
    }

    /// Adds `key`: `Ok(true)` if it was new, `Ok(false)` if it was there,
    /// [`Error::MapFull`] if it is new and the set holds its capacity.
    pub fn insert(&self, key: K) -> Result<bool> {
        match self.core.insert_with(&Self::SHAPE, key.as_bytes(), &[], &mut [], role::my_tag()) {
            Inserted::New => Ok(true),
            Inserted::Replaced => Ok(false),
            Inserted::Full => Err(Error::MapFull { structure: self.name().to_owned(), capacity: self.capacity() }),
        }
    }

    /// Removes `key`: whether it was there.
    pub fn remove(&self, key: &K) -> bool {
        self.core.remove_with(&Self::SHAPE, key.as_bytes(), &mut [], role::my_tag())
    }

    /// Every key, each read whole (keys added or removed during the walk may or may not be in
    /// it).
    pub fn keys(&self) -> Vec<K> {
        let mut k = K::new_zeroed();
        let mut out = Vec::new();
        self.core.for_each(k.as_mut_bytes(), &mut [], |kb, _| {
            let mut key = K::new_zeroed();
            key.as_mut_bytes().copy_from_slice(kb);
            out.push(key);
        });
        out
    }

    /// Repairs every slot whose lock a dead process held; returns how many.
    pub fn reclaim_dead(&self) -> u64 {
        self.core.reclaim(role::my_tag())
    }
}

#[diagnostic::do_not_recommend]
impl<K: ShmType> Structure for Set<K> {
    const KIND: Kind = Kind::Set;
    const ELEM: Option<TypeLayout<'static>> = Some(K::SHM_LAYOUT);
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let region = map::allocate(segment, decl, std::mem::size_of::<K>() as u64, Self::SHAPE)?;
        let core = map::core_on(segment, &region, decl.capacity, Self::SHAPE)?;
        Ok(Set { segment: segment.clone(), region, core, _key: PhantomData })
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Self::from_region(segment, region, &desc)
    }
}

impl<K: ShmType> std::fmt::Debug for Set<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Set")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}
