//! [`DynMap`] and [`DynSet`]: a map or a set of any key and value sizes.

use std::sync::atomic::Ordering::Relaxed;

use crate::error::{Error, Result};
use crate::layout::kinds::map::field;
use crate::layout::Kind;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::map::{self, Inserted, MapCore, Shape};
use crate::sys::role;

use super::{one, open_entry, whole, ElementSpec};

/// The table both handles share: the region, the core, and the sizes its header gives.
#[derive(Clone)]
struct Table {
    segment: Segment,
    region: Region,
    core: MapCore,
    entry_size: usize,
    key_size: usize,
    value_offset: usize,
    value_size: usize,
}

impl Table {
    /// Opens map or set `name` of `kind`, checking the entry against `elem` and taking the key
    /// and value sizes from its header (checked against the entry size at open, and again here).
    fn open(segment: &Segment, name: &str, kind: Kind, elem: &ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, kind, elem)?;
        let word = |f: u64| region.u32_at(f).load(Relaxed) as usize;
        let (key, voff, vsize) = (word(field::KEY_SIZE), word(field::VALUE_OFFSET), word(field::VALUE_SIZE));
        let entry = elem.size;
        // The header was checked when the segment was opened; another process could have
        // written it since, so check what `Shape::new` relies on before using it.
        let fits = match kind {
            Kind::Map => key >= 1 && vsize >= 1 && voff >= key && voff.checked_add(vsize).is_some_and(|e| e <= entry),
            _ => key == entry && voff == 0 && vsize == 0,
        };
        if !fits {
            return Err(Error::corrupt(
                segment.name(),
                format!("structure {name:?}"),
                format!(
                    "the header's {key}-byte key and {vsize}-byte value at {voff} do not fit its {entry}-byte entries"
                ),
            ));
        }
        let core = map::core_on(segment, &region, desc.capacity, Shape::new(entry, key, voff, vsize))?;
        Ok(Table {
            segment: segment.clone(),
            region,
            core,
            entry_size: entry,
            key_size: key,
            value_offset: voff,
            value_size: vsize,
        })
    }

    fn full(&self) -> Error {
        Error::MapFull { structure: self.region.name().to_owned(), capacity: self.core.capacity }
    }

    /// Copies entries into `keys` and `values` (whole keys and values, as many of each): how
    /// many it copied, and whether that was all of them.
    fn entries_into(&self, keys: &mut [u8], values: &mut [u8]) -> Result<(usize, bool)> {
        whole("map entries key", self.key_size, keys.len())?;
        let max = keys.len() / self.key_size;
        if self.value_size > 0 {
            whole("map entries value", self.value_size, values.len())?;
            if values.len() / self.value_size != max {
                return Err(Error::invalid(
                    "map entries buffers",
                    format!("room for {max} keys but {} values: pass as many of each", values.len() / self.value_size),
                ));
            }
        }
        let (mut k, mut v) = (vec![0u8; self.key_size], vec![0u8; self.value_size]);
        let (mut n, mut complete) = (0, true);
        self.core.for_each(&mut k, &mut v, |kb, vb| {
            if n == max {
                complete = false;
                return;
            }
            keys[n * kb.len()..(n + 1) * kb.len()].copy_from_slice(kb);
            values[n * vb.len()..(n + 1) * vb.len()].copy_from_slice(vb);
            n += 1;
        });
        Ok((n, complete))
    }

    fn for_each(&self, mut each: impl FnMut(&[u8], &[u8])) {
        let (mut k, mut v) = (vec![0u8; self.key_size], vec![0u8; self.value_size]);
        self.core.for_each(&mut k, &mut v, &mut each);
    }
}

/// A [`Map`](crate::Map) of any key and value types, opened by name: the same algorithm, keys
/// and values as bytes. Its element is the map's entry (`{ key, value }`, FORMAT.md); the key
/// and value sizes come from the map's header.
#[derive(Clone)]
pub struct DynMap {
    t: Table,
}

impl DynMap {
    /// Opens map `name`, checking that its entries are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        Ok(DynMap { t: Table::open(segment, name, Kind::Map, &elem)? })
    }

    /// The map's name.
    pub fn name(&self) -> &str {
        self.t.region.name()
    }

    /// The segment it is in.
    pub fn segment(&self) -> &Segment {
        &self.t.segment
    }

    /// Bytes per entry (the element size).
    pub fn elem_size(&self) -> usize {
        self.t.entry_size
    }

    /// Bytes per key.
    pub fn key_size(&self) -> usize {
        self.t.key_size
    }

    /// Bytes per value.
    pub fn value_size(&self) -> usize {
        self.t.value_size
    }

    /// The value's offset in an entry.
    pub fn value_offset(&self) -> usize {
        self.t.value_offset
    }

    /// Entries it holds when full.
    pub fn capacity(&self) -> u64 {
        self.t.core.capacity
    }

    /// Slots in its table.
    pub fn slots(&self) -> u64 {
        self.t.core.slots()
    }

    /// Entries present, approximately.
    pub fn len(&self) -> u64 {
        self.t.core.len()
    }

    /// Whether the map is empty, approximately.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the value of `key` into `value`: `Ok(false)` if the key is absent. Lock-free.
    pub fn get(&self, key: &[u8], value: &mut [u8]) -> Result<bool> {
        one("map key", self.t.key_size, key.len())?;
        one("map value", self.t.value_size, value.len())?;
        Ok(self.t.core.get(key, value))
    }

    /// Whether `key` is there.
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        let mut v = vec![0u8; self.t.value_size];
        self.get(key, &mut v)
    }

    /// Sets `key` to `value`: `Ok(true)` if it replaced a value (copied into `old`, if given),
    /// `Ok(false)` if the key was new, [`Error::MapFull`] if it is new and the map holds its
    /// capacity.
    pub fn insert(&self, key: &[u8], value: &[u8], old: Option<&mut [u8]>) -> Result<bool> {
        one("map key", self.t.key_size, key.len())?;
        one("map value", self.t.value_size, value.len())?;
        let mut scratch = Vec::new();
        let old = match old {
            Some(o) => {
                one("map old value", self.t.value_size, o.len())?;
                o
            }
            None => {
                scratch.resize(self.t.value_size, 0);
                &mut scratch[..]
            }
        };
        match self.t.core.insert(key, value, old, role::my_tag()) {
            Inserted::New => Ok(false),
            Inserted::Replaced => Ok(true),
            Inserted::Full => Err(self.t.full()),
        }
    }

    /// Removes `key`: `Ok(true)` if it was there (its value copied into `old`, if given).
    pub fn remove(&self, key: &[u8], old: Option<&mut [u8]>) -> Result<bool> {
        one("map key", self.t.key_size, key.len())?;
        let mut scratch = Vec::new();
        let old = match old {
            Some(o) => {
                one("map old value", self.t.value_size, o.len())?;
                o
            }
            None => {
                scratch.resize(self.t.value_size, 0);
                &mut scratch[..]
            }
        };
        Ok(self.t.core.remove(key, old, role::my_tag()))
    }

    /// Changes `key`'s value in place with `f`, atomically with respect to other updates of the
    /// key ([`Map::update`](crate::Map::update)); the new value is copied into `value`.
    /// `Ok(false)` if the key is absent. `f` runs while the slot is locked: keep it short.
    pub fn update(&self, key: &[u8], value: &mut [u8], f: impl FnOnce(&mut [u8])) -> Result<bool> {
        one("map key", self.t.key_size, key.len())?;
        one("map value", self.t.value_size, value.len())?;
        let mut f = Some(f);
        Ok(self.t.core.update(key, value, role::my_tag(), &mut |bytes| {
            if let Some(f) = f.take() {
                f(bytes)
            }
        }))
    }

    /// Calls `each(key, value)` for every entry, each read whole (entries inserted or removed
    /// meanwhile may or may not be seen).
    pub fn for_each(&self, each: impl FnMut(&[u8], &[u8])) {
        self.t.for_each(each)
    }

    /// Copies entries into `keys` and `values`, room for as many keys as values: how many it
    /// copied, and whether that was every entry it met (`false`: the buffers were too small).
    pub fn entries_into(&self, keys: &mut [u8], values: &mut [u8]) -> Result<(usize, bool)> {
        self.t.entries_into(keys, values)
    }

    /// Every entry, as `(key, value)` byte vectors (see [`for_each`](Self::for_each)).
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        self.for_each(|k, v| out.push((k.to_vec(), v.to_vec())));
        out
    }

    /// Repairs the slots whose lock a dead process held ([`Map::reclaim_dead`](crate::Map::reclaim_dead));
    /// returns how many.
    pub fn reclaim_dead(&self) -> u64 {
        self.t.core.reclaim(role::my_tag())
    }

    /// Slots repaired after dead processes, ever.
    pub fn reclaimed(&self) -> u64 {
        self.t.core.reclaimed()
    }
}

impl std::fmt::Debug for DynMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynMap")
            .field("name", &self.name())
            .field("key_size", &self.t.key_size)
            .field("value_size", &self.t.value_size)
            .finish()
    }
}

/// A [`Set`](crate::Set) of any key type, opened by name: keys as bytes.
#[derive(Clone)]
pub struct DynSet {
    t: Table,
}

impl DynSet {
    /// Opens set `name`, checking that its keys are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        Ok(DynSet { t: Table::open(segment, name, Kind::Set, &elem)? })
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        self.t.region.name()
    }

    /// The segment it is in.
    pub fn segment(&self) -> &Segment {
        &self.t.segment
    }

    /// Bytes per key (the element size).
    pub fn key_size(&self) -> usize {
        self.t.key_size
    }

    /// Keys it holds when full.
    pub fn capacity(&self) -> u64 {
        self.t.core.capacity
    }

    /// Slots in its table.
    pub fn slots(&self) -> u64 {
        self.t.core.slots()
    }

    /// Keys present, approximately.
    pub fn len(&self) -> u64 {
        self.t.core.len()
    }

    /// Whether the set is empty, approximately.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` is in the set. Lock-free.
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        one("set key", self.t.key_size, key.len())?;
        Ok(self.t.core.get(key, &mut []))
    }

    /// Adds `key`: `Ok(true)` if it was new, `Ok(false)` if it was there, [`Error::MapFull`] if
    /// it is new and the set holds its capacity.
    pub fn insert(&self, key: &[u8]) -> Result<bool> {
        one("set key", self.t.key_size, key.len())?;
        match self.t.core.insert(key, &[], &mut [], role::my_tag()) {
            Inserted::New => Ok(true),
            Inserted::Replaced => Ok(false),
            Inserted::Full => Err(self.t.full()),
        }
    }

    /// Removes `key`: whether it was there.
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        one("set key", self.t.key_size, key.len())?;
        Ok(self.t.core.remove(key, &mut [], role::my_tag()))
    }

    /// Calls `each(key)` for every key, each read whole.
    pub fn for_each(&self, mut each: impl FnMut(&[u8])) {
        self.t.for_each(|k, _| each(k))
    }

    /// Copies keys into `keys` (whole keys): how many, and whether that was every key it met.
    pub fn keys_into(&self, keys: &mut [u8]) -> Result<(usize, bool)> {
        self.t.entries_into(keys, &mut [])
    }

    /// Every key, as byte vectors.
    pub fn keys(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.for_each(|k| out.push(k.to_vec()));
        out
    }

    /// Repairs the slots whose lock a dead process held; returns how many.
    pub fn reclaim_dead(&self) -> u64 {
        self.t.core.reclaim(role::my_tag())
    }

    /// Slots repaired after dead processes, ever.
    pub fn reclaimed(&self) -> u64 {
        self.t.core.reclaimed()
    }
}

impl std::fmt::Debug for DynSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynSet").field("name", &self.name()).field("key_size", &self.t.key_size).finish()
    }
}
