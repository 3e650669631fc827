//! [`Map<K, V>`]: a fixed-capacity hash map in shared memory — ZeroIPC's `map` — with lock-free
//! lookups, inserts of distinct keys that never wait for each other, values that are never read
//! torn, and locks of dead processes taken over. [`Set<K>`](crate::Set) is the same table
//! without values.
//!
//! # The table
//!
//! The table has a power-of-two number of slots, at least twice the capacity, probed linearly
//! from a key's home slot (`key_hash(key) % slots`, a hash that is part of the format). Each slot
//! has a *state* word — a version that every claim increments, 24 bits of the key's hash (the
//! tag), and a phase — a value *sequence* word, the *bound* of its home (the largest probe
//! distance of any key whose home it is, so a lookup probes `bound + 1` slots and no more,
//! however many removals the table has seen), and the key and value. Writers also use a second
//! table, the *lock table*: per slot an *owner* word and an *undo copy* of the value. Lookups never
//! touch it, so the table they read is as small as it can be (32 bytes a slot for `u64 → u64`).
//!
//! * **get** probes for a MEMBER slot with the key's tag whose key compares equal, and then
//!   copies the value. Both copies are validated, never trusted: the key by the state word
//!   (unchanged, so the slot was not claimed again meanwhile), the value by the sequence word
//!   (the seqlock pattern). A get writes nothing to shared memory and waits for nobody.
//! * **insert** of a new key claims the first EMPTY or DELETED slot (a compare-and-swap of its
//!   state to BUSY), writes the key and the value, publishes INSERTING, raises its home's bound
//!   and then checks the probe sequence for another insert of the same key. Two inserts of one
//!   key can be in progress at once (each saw it absent); both raise the same bound, a
//!   read-modify-write, so the later of them sees the earlier. The rule is P. Purcell and
//!   T. Harris's (*Non-blocking hashtables with open addressing*, 2005): a MEMBER, or an insert
//!   nearer the home, wins; an insert further along is marked COLLIDED. The winner becomes a
//!   MEMBER by a compare-and-swap from INSERTING; the loser frees its slot and finds the winner.
//!   Inserts of different keys never touch each other's slots.
//! * **insert** of a key already there, **update** and **remove** take the slot's lock (a
//!   compare-and-swap of the owner word from 0 to the caller's `pid << 40 | start time`), check
//!   the state word has not changed, and write. A write first copies the value to the undo copy,
//!   then makes the sequence word odd, writes the value in place and makes the word even again.
//!   A reader reads the value in place while the word is even and the undo copy while it is odd,
//!   and retries only if the word changed meanwhile — so it never waits for a writer. Updates of
//!   one key wait for each other, briefly; lookups never do.
//!
//! # Dead processes
//!
//! A process killed holding a slot's lock leaves its pid in the owner word. A waiter for that
//! lock, [`Map::reclaim_dead`], or an insert that finds no free slot takes it over (a
//! compare-and-swap, so one survivor does it) and repairs the slot: an unfinished value write is
//! undone from the undo copy — the value is the one before it — and a claim that never became a
//! member is freed. A process killed in the instructions between
//! claiming a slot and taking its lock leaks that slot (inserts skip it); [`inspect`](crate::inspect)
//! counts such slots.
//!
//! # Capacity
//!
//! `capacity` entries always fit. An insert of a new key is refused with [`Error::MapFull`]
//! while the map holds `capacity` entries; concurrent inserts of new keys may each pass that
//! check, so the count can exceed the capacity by one less than the number of inserting
//! threads (the table has room for twice the capacity).
//!
//! # Layout
//!
//! ```text
//! offset  size            field
//! 0       8               u64 len           entries present
//! 64      8               u64 reclaimed     slots repaired after dead processes, ever
//! 72      8               u64 capacity      constants
//! 80      8               u64 slots
//! 88      4               u32 entry_size
//! 92      4               u32 key_size
//! 96      4               u32 value_offset  (0 in a set)
//! 100     4               u32 value_size    (0 in a set)
//! 128     stride × slots  the slot table; stride = 16 + span, span = align_up(entry_size, 8)
//! L       lstride × slots the lock table, L = 128 + stride × slots;
//!                         lstride = 8 + span in a map, 8 in a set
//!
//! slot:   0   u64 state   version << 32 | tag << 8 | phase (0 EMPTY, 1 BUSY, 2 INSERTING,
//!                         3 MEMBER, 4 COLLIDED, 5 DELETED)
//!         8   u32 seq     2 × writes (+1 while a write is in progress: read the undo copy)
//!         12  u32 bound   largest probe distance of the keys whose home is this slot
//!         16  span        the key at 0, the value at value_offset
//!
//! lock:   0   u64 owner   the lock holder's pid << 40 | start time, or 0
//!         8   span        the undo copy: the value at value_offset (a map only)
//! ```

pub use crate::layout::kinds::map::{
    field, key_hash, lock, lock_stride_for, locks_offset, phase, slot, slots_for, stride_for, ALIGN, MAX_CAPACITY,
};
mod core;
mod state;
#[cfg(all(test, loom))]
mod tests;

pub(crate) use self::core::{Inserted, MapCore, Shape};
pub(crate) use state::inspect;
pub use state::MapState;

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use crate::error::{Error, Result};
use crate::layout::kinds::map::{entry_fields, entry_struct, state, tag_of, unpack};
use crate::layout::{FieldLayout, StructLayout};
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::ShmType;
use crate::structures::render::{bar, percent, Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::atomics::{fence, spin_loop, AtomicU32, AtomicU64};
use crate::sys::role;

/// A fixed-capacity hash map from `K` to `V` in a segment. Keys compare by their bytes.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Map, Segment};
///
/// let seg = Segment::create("/map-doc", 1 << 20)?;
/// let prices = Map::<[u8; 8], f64>::create(&seg, "prices", 1024)?;
/// assert_eq!(prices.insert(*b"ACME\0\0\0\0", 12.5)?, None);
/// // In another process:
/// let prices = Map::<[u8; 8], f64>::open(&seg, "prices")?;
/// assert_eq!(prices.get(b"ACME\0\0\0\0"), Some(12.5));
/// prices.update(b"ACME\0\0\0\0", |p| p * 1.1);
/// assert!(prices.remove(b"ACME\0\0\0\0").is_some());
/// # Segment::unlink("/map-doc") }
/// ```
pub struct Map<K: ShmType, V: ShmType> {
    segment: Segment,
    region: Region,
    core: MapCore,
    _types: PhantomData<(K, V)>,
}

// SAFETY: the handle keeps the mapping alive; keys and values are accessed only with atomic
// copies; K, V: ShmType are Send + Sync.
unsafe impl<K: ShmType, V: ShmType> Send for Map<K, V> {}
// SAFETY: as above.
unsafe impl<K: ShmType, V: ShmType> Sync for Map<K, V> {}

impl<K: ShmType, V: ShmType> Clone for Map<K, V> {
    fn clone(&self) -> Self {
        Map { segment: self.segment.clone(), region: self.region.clone(), core: self.core.clone(), _types: PhantomData }
    }
}

impl<K: ShmType, V: ShmType> Map<K, V> {
    /// The entry's fields, `key` and `value`.
    const FIELDS: &'static [FieldLayout<'static>; 2] = &entry_fields(K::SHM_LAYOUT, V::SHM_LAYOUT);
    /// The entry, the map's element type.
    const ENTRY: &'static StructLayout<'static> = &entry_struct(Self::FIELDS);

    /// Creates map `name` holding up to `capacity` entries, empty.
    pub fn create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        Self::create_in(segment, &StructureLayout { capacity, ..Self::declaration(name) })
    }

    /// Opens map `name` whatever its capacity, checking the key and value layouts.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let decl = Self::declaration(name);
        structures::check_declaration::<Self>(&decl)?;
        let (region, desc) = segment.lookup(&decl, false)?;
        Self::from_region(segment, region, &desc)
    }

    /// Opens map `name`, or creates it. An existing map must have this capacity.
    pub fn open_or_create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        Self::open_or_create_in(segment, &StructureLayout { capacity, ..Self::declaration(name) })
    }

    /// The shape of the map's slots, a constant: the hot paths are compiled for it.
    const SHAPE: Shape = Shape::new(
        Self::ENTRY.size as usize,
        K::SHM_LAYOUT.size() as usize,
        Self::FIELDS[1].offset as usize,
        V::SHM_LAYOUT.size() as usize,
    );

    fn from_region(segment: &Segment, region: Region, desc: &Descriptor) -> Result<Self> {
        let core = core_on(segment, &region, desc.capacity, Self::SHAPE)?;
        Ok(Map { segment: segment.clone(), region, core, _types: PhantomData })
    }

    /// The map's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Offset of the map's region in the segment.
    pub fn offset(&self) -> u64 {
        self.region.offset()
    }

    /// The segment this map is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Entries it holds when full.
    pub fn capacity(&self) -> u64 {
        self.core.capacity
    }

    /// Slots in its table (twice the capacity or more, a power of two).
    pub fn slots(&self) -> u64 {
        self.core.slots()
    }

    /// Entries present. Approximate under concurrency.
    pub fn len(&self) -> u64 {
        self.core.len()
    }

    /// Whether the map is empty (approximate under concurrency).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots repaired after dead processes, ever.
    pub fn reclaimed(&self) -> u64 {
        self.core.reclaimed()
    }

    /// The value of `key`, if it is there. Lock-free: writes nothing, waits for nobody.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut v = V::new_zeroed();
        self.core.get_with(&Self::SHAPE, key.as_bytes(), v.as_mut_bytes()).then_some(v)
    }

    /// Whether `key` is there.
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Inserts `key` with `value`: `Ok(None)` if the key was new, `Ok(Some(old))` with the value
    /// it replaced, [`Error::MapFull`] if the key is new and the map holds its capacity.
    pub fn insert(&self, key: K, value: V) -> Result<Option<V>> {
        let mut old = V::new_zeroed();
        match self.core.insert_with(&Self::SHAPE, key.as_bytes(), value.as_bytes(), old.as_mut_bytes(), role::my_tag())
        {
            Inserted::New => Ok(None),
            Inserted::Replaced => Ok(Some(old)),
            Inserted::Full => Err(Error::MapFull { structure: self.name().to_owned(), capacity: self.capacity() }),
        }
    }

    /// Removes `key`, returning its value if it was there.
    pub fn remove(&self, key: &K) -> Option<V> {
        let mut old = V::new_zeroed();
        self.core.remove_with(&Self::SHAPE, key.as_bytes(), old.as_mut_bytes(), role::my_tag()).then_some(old)
    }

    /// Replaces `key`'s value with `f(value)`, atomically with respect to other updates of the
    /// key (they wait; lookups do not): the new value, or `None` if the key is not there. `f`
    /// runs while the key's slot is locked: keep it short.
    pub fn update(&self, key: &K, f: impl FnOnce(V) -> V) -> Option<V> {
        let mut v = V::new_zeroed();
        let mut f = Some(f);
        let found = self.core.update(key.as_bytes(), v.as_mut_bytes(), role::my_tag(), &mut |bytes| {
            let mut current = V::new_zeroed();
            current.as_mut_bytes().copy_from_slice(bytes);
            let f = f.take().expect("zipc bug: update's function called twice");
            bytes.copy_from_slice(f(current).as_bytes());
        });
        found.then_some(v)
    }

    /// Every entry, each read whole: a copy of each entry, not of the map at one instant
    /// (entries inserted or removed during the walk may or may not be in it).
    pub fn entries(&self) -> Vec<(K, V)> {
        let (mut k, mut v) = (K::new_zeroed(), V::new_zeroed());
        let mut out = Vec::new();
        self.core.for_each(k.as_mut_bytes(), v.as_mut_bytes(), |kb, vb| {
            let (mut key, mut value) = (K::new_zeroed(), V::new_zeroed());
            key.as_mut_bytes().copy_from_slice(kb);
            value.as_mut_bytes().copy_from_slice(vb);
            out.push((key, value));
        });
        out
    }

    /// Every key (as [`entries`](Self::entries)).
    pub fn keys(&self) -> Vec<K> {
        self.entries().into_iter().map(|(k, _)| k).collect()
    }

    /// Repairs every slot whose lock a dead process held (an insert it never finished is
    /// dropped, a value write it left half done is undone); returns how many.
    ///
    /// ```no_run
    /// # fn main() -> zipc::Result<()> {
    /// let seg = zipc::Segment::open("/sessions")?;
    /// let users = zipc::Map::<u64, u64>::open(&seg, "users")?;
    /// eprintln!("{} slots of dead processes repaired", users.reclaim_dead());
    /// # Ok(()) }
    /// ```
    pub fn reclaim_dead(&self) -> u64 {
        self.core.reclaim(role::my_tag())
    }
}

/// The map algorithm on a validated region of a map or set of `capacity` entries, checking the
/// header's key and value against `shape` (what the handle's types say). The core must not
/// outlive the region's mapping (handles keep both).
pub(crate) fn core_on(segment: &Segment, region: &Region, capacity: u64, shape: Shape) -> Result<MapCore> {
    let header =
        [field::KEY_SIZE, field::VALUE_OFFSET, field::VALUE_SIZE].map(|f| region.u32_at(f).load(Relaxed) as usize);
    let expected = [shape.key_size, if shape.value_size == 0 { 0 } else { shape.value_offset }, shape.value_size];
    if header != expected {
        return Err(Error::corrupt(
            segment.name(),
            format!("structure {:?}", region.name()),
            format!(
                "the header says a {}-byte key and a {}-byte value at {}, its entry type a {}-byte key and a {}-byte value at {}",
                header[0], header[2], header[1], expected[0], expected[2], expected[1]
            ),
        ));
    }
    // The region's size was checked against the layout of `capacity` entries at open.
    let slots = crate::layout::kinds::map::slots_for(capacity).expect("validated capacity");
    let locks = locks_offset(slots, shape.stride as u64).expect("validated capacity");
    let ptr = |rel: u64, len: u64| NonNull::new(region.ptr(rel, len)).expect("non-null mapping");
    #[cfg(loom)]
    {
        let _ = (slots, ptr, locks);
        panic!("shared-memory maps are not available in a loom build");
    }
    // SAFETY: aligned offsets inside the region (checked by `ptr` for their lengths): the two
    // counters, the slot table of `slots` slots of `stride` bytes at 128 and the lock table of
    // `slots` entries of `lock_stride` bytes after it (8-aligned: strides are multiples of 8);
    // the mapping outlives the core by the caller's contract; header words are atomics, data is
    // atomically copied.
    #[cfg(not(loom))]
    Ok(unsafe {
        MapCore::new(
            ptr(field::LEN, 8).cast(),
            ptr(field::RECLAIMED, 8).cast(),
            ptr(field::TABLE, slots * shape.stride as u64),
            ptr(locks, slots * shape.lock_stride as u64),
            capacity,
            slots,
            shape,
            role::alive,
        )
    })
}

/// Creates the region of a map or set (`decl`, element `elem_size` bytes) with `shape`.
pub(crate) fn allocate(segment: &Segment, decl: &StructureLayout<'_>, entry_size: u64, shape: Shape) -> Result<Region> {
    let cap = decl.capacity;
    segment.allocate(decl, |r| {
        r.u64_at(field::CAPACITY).store(cap, Relaxed);
        r.u64_at(field::SLOTS).store(crate::layout::kinds::map::slots_for(cap).expect("validated capacity"), Relaxed);
        r.u32_at(field::ENTRY_SIZE).store(entry_size as u32, Relaxed);
        r.u32_at(field::KEY_SIZE).store(shape.key_size as u32, Relaxed);
        let voff = if shape.value_size == 0 { 0 } else { shape.value_offset };
        r.u32_at(field::VALUE_OFFSET).store(voff as u32, Relaxed);
        r.u32_at(field::VALUE_SIZE).store(shape.value_size as u32, Relaxed);
        core_on(segment, r, cap, shape)?.init();
        Ok(())
    })
}

#[diagnostic::do_not_recommend]
impl<K: ShmType, V: ShmType> Structure for Map<K, V> {
    const KIND: Kind = Kind::Map;
    const ELEM: Option<TypeLayout<'static>> = Some(TypeLayout::Struct(Self::ENTRY));
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let region = allocate(segment, decl, Self::ENTRY.size, Self::SHAPE)?;
        let core = core_on(segment, &region, decl.capacity, Self::SHAPE)?;
        Ok(Map { segment: segment.clone(), region, core, _types: PhantomData })
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Self::from_region(segment, region, &desc)
    }
}

impl<K: ShmType, V: ShmType> std::fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}
