//! The format of a Map (and of a Set, which is a map without values): a header, then a table of
//! slots probed linearly from a key's hash (see `structures/map` for the algorithm).
//!
//! A map's element type is its *entry*, the struct `{ key: K, value: V }` that
//! [`entry_fields`] and [`entry_struct`] define — the one definition the derive (`Map<K, V>`),
//! the TOML schema (`key = ..., value = ...`) and every generator use, so the element
//! fingerprint covers both types and a map opened with another key or value type is refused. A
//! set's element type is its key.
//!
//! The region's size depends only on the capacity and the element's size (what the descriptor
//! records): a *slot table* that lookups read — per slot a 16-byte header and an *entry span* of
//! `align_up(entry size, 8)` bytes holding the key and the value — then a *lock table* that only
//! writers touch — per slot the lock's owner word and, in a map, an entry span for the *undo
//! copy* of the value a write is replacing. The value's offset and size are in the region header,
//! checked at every open.

use super::prelude::*;
use crate::layout::types::{FieldLayout, StructLayout};

/// What a Map is: a fixed-capacity hash map with lock-free lookups.
pub const SPEC: KindSpec = KindSpec { name: "Map", article: "a", has_element: true, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] = &[param(
    "capacity",
    Slot::Capacity,
    ParamValue::Unsigned { min: 1 },
    true,
    "number of entries it holds (its table has twice as many slots, rounded up to a power of two)",
)];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    match slots_for(d.capacity) {
        Some(slots) => format!("{} ({slots} slots)", d.capacity),
        None => d.capacity.to_string(),
    }
}

/// Region offsets of the header's fields.
pub mod field {
    /// `u64 len`: entries present (the counter inserts and removes keep; its own line).
    pub const LEN: u64 = 0;
    /// `u64 reclaimed`: slots given back from dead processes, ever.
    pub const RECLAIMED: u64 = 64;
    /// `u64 capacity`: entries it holds.
    pub const CAPACITY: u64 = 72;
    /// `u64 slots`: slots in the table (a power of two, at least twice the capacity).
    pub const SLOTS: u64 = 80;
    /// `u32 entry_size`: the element's size.
    pub const ENTRY_SIZE: u64 = 88;
    /// `u32 key_size`: the key's size (at entry offset 0).
    pub const KEY_SIZE: u64 = 92;
    /// `u32 value_offset`: the value's offset in an entry span (0 in a set).
    pub const VALUE_OFFSET: u64 = 96;
    /// `u32 value_size`: the value's size (0 in a set).
    pub const VALUE_SIZE: u64 = 100;
    /// The slot table.
    pub const TABLE: u64 = 128;
}

/// Offsets in a slot of the slot table.
pub mod slot {
    /// `u64 state`: `version << 32 | tag << 8 | phase` (see [`super::phase`]).
    pub const STATE: u64 = 0;
    /// `u32 seq`: the value's sequence word, `2 × writes + (1 while a write is in progress)`;
    /// while it is odd the value is read from the undo copy.
    pub const SEQ: u64 = 8;
    /// `u32 bound`: the largest probe distance of any key whose home is this slot.
    pub const BOUND: u64 = 12;
    /// The entry span: the key at 0, the value at `value_offset`.
    pub const ENTRY: u64 = 16;
}

/// Offsets in a slot's entry of the lock table.
pub mod lock {
    /// `u64 owner`: `pid << 40 | start time` of the process holding the slot's lock, or 0.
    pub const OWNER: u64 = 0;
    /// A map's undo span: the value being replaced, at `value_offset`.
    pub const UNDO: u64 = 8;
}

/// The phases of a slot (the low byte of its state word).
pub mod phase {
    /// Never used.
    pub const EMPTY: u8 = 0;
    /// Claimed by an inserter writing the key and value.
    pub const BUSY: u8 = 1;
    /// Key and value written; the inserter is checking for a concurrent insert of the same key.
    pub const INSERTING: u8 = 2;
    /// Holds an entry.
    pub const MEMBER: u8 = 3;
    /// An insert that lost to a concurrent insert of the same key; its inserter frees it.
    pub const COLLIDED: u8 = 4;
    /// Held an entry that was removed; free to claim.
    pub const DELETED: u8 = 5;
}

/// Alignment of a map's region.
pub const ALIGN: u64 = 128;

/// Largest capacity (the table then has 2³¹ slots).
pub const MAX_CAPACITY: u64 = 1 << 30;

/// The number of slots of a map of `capacity` entries: twice the capacity rounded up to a power
/// of two (so the table is at most half full); `None` beyond [`MAX_CAPACITY`].
pub const fn slots_for(capacity: u64) -> Option<u64> {
    if capacity == 0 || capacity > MAX_CAPACITY {
        return None;
    }
    Some((capacity * 2).next_power_of_two())
}

/// Bytes of one entry span: the entry's size rounded up to 8.
pub const fn span_for(entry_size: u64) -> Option<u64> {
    align_up(entry_size, 8)
}

/// Bytes per slot of the slot table: the 16-byte header and one entry span.
pub const fn stride_for(entry_size: u64) -> Option<u64> {
    match span_for(entry_size) {
        Some(span) => span.checked_add(slot::ENTRY),
        None => None,
    }
}

/// Bytes per slot of the lock table: the owner word, and in a map an undo span.
pub const fn lock_stride_for(entry_size: u64, has_value: bool) -> Option<u64> {
    if !has_value {
        return Some(lock::UNDO);
    }
    match span_for(entry_size) {
        Some(span) => span.checked_add(lock::UNDO),
        None => None,
    }
}

/// Offset of the lock table in a region of `slots` slots of `stride` bytes.
pub const fn locks_offset(slots: u64, stride: u64) -> Option<u64> {
    match slots.checked_mul(stride) {
        Some(t) => field::TABLE.checked_add(t),
        None => None,
    }
}

/// The two fields of a map's entry: `key` at 0, `value` at the key's size rounded up to the
/// value's alignment.
pub const fn entry_fields<'a>(key: TypeLayout<'a>, value: TypeLayout<'a>) -> [FieldLayout<'a>; 2] {
    let value_offset = crate::layout::segment::align_up_sat(key.size(), value.align());
    [
        FieldLayout { name: "key", doc: "", offset: 0, ty: key },
        FieldLayout { name: "value", doc: "", offset: value_offset, ty: value },
    ]
}

/// The entry struct of a map over `fields` (from [`entry_fields`]): `{ key, value }`, aligned to
/// the stricter of the two, its size rounded up to that alignment as in C.
pub const fn entry_struct<'a>(fields: &'a [FieldLayout<'a>; 2]) -> StructLayout<'a> {
    let (key, value) = (&fields[0].ty, &fields[1].ty);
    let align = if key.align() > value.align() { key.align() } else { value.align() };
    let end = fields[1].offset.saturating_add(value.size());
    StructLayout { name: ENTRY_NAME, doc: "", size: crate::layout::segment::align_up_sat(end, align), align, fields }
}

/// The name of a map's entry type (not part of the fingerprint).
pub const ENTRY_NAME: &str = "MapEntry";

/// A map's key and value types, from its element (the entry struct): `None` if the element is
/// not a `{ key, value }` struct.
pub fn key_value<'a>(elem: &TypeLayout<'a>) -> Option<(&'a FieldLayout<'a>, &'a FieldLayout<'a>)> {
    match elem {
        TypeLayout::Struct(s) if s.fields.len() == 2 && s.fields[0].name == "key" && s.fields[1].name == "value" => {
            Some((&s.fields[0], &s.fields[1]))
        }
        _ => None,
    }
}

/// The region of a map (`has_value`) or set declaration of `kind`.
pub(crate) const fn region_for(
    kind: Kind,
    s: &StructureLayout<'_>,
    has_value: bool,
) -> Result<RegionLayout, LayoutError> {
    let Some(elem) = &s.elem else {
        return Err(LayoutError::MissingElement { kind });
    };
    if elem.size() == 0 || elem.size() > u32::MAX as u64 {
        return Err(LayoutError::UnsupportedElement { kind, allowed: "elements of 1 byte to 4 GiB" });
    }
    let Some(slots) = slots_for(s.capacity) else {
        return Err(LayoutError::InvalidParameter { kind, parameter: "capacity", rule: "must be between 1 and 2^30" });
    };
    if s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter { kind, parameter: "flags", rule: "takes only a capacity" });
    }
    let (Some(stride), Some(lock_stride)) = (stride_for(elem.size()), lock_stride_for(elem.size(), has_value)) else {
        return Err(LayoutError::TooLarge);
    };
    let (Some(locks), Some(lock_table)) = (locks_offset(slots, stride), lock_stride.checked_mul(slots)) else {
        return Err(LayoutError::TooLarge);
    };
    match locks.checked_add(lock_table) {
        Some(size) => Ok(RegionLayout { size, align: ALIGN }),
        None => Err(LayoutError::TooLarge),
    }
}

/// The region of a map declaration.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    region_for(Kind::Map, s, true)
}

/// What the header of a map (`has_value`) or set must say: the descriptor's capacity and entry
/// size, the slot count they imply, and a key and value that fit the entry.
pub(crate) fn check_header_for(h: &dyn HeaderWords, desc: &Descriptor, has_value: bool) -> Result<(), String> {
    let what = if has_value { "map" } else { "set" };
    let cap = h.u64(field::CAPACITY);
    let slots = h.u64(field::SLOTS);
    let entry = h.u32(field::ENTRY_SIZE);
    let key = h.u32(field::KEY_SIZE) as u64;
    let (voff, vsize) = (h.u32(field::VALUE_OFFSET) as u64, h.u32(field::VALUE_SIZE) as u64);
    if cap != desc.capacity {
        return Err(format!("the {what} header says capacity {cap}, the descriptor {}", desc.capacity));
    }
    if Some(slots) != slots_for(cap) {
        return Err(format!(
            "the {what} header says {slots} slots, not the {:?} its capacity {cap} implies",
            slots_for(cap)
        ));
    }
    if entry != desc.elem_size {
        return Err(format!("the {what} header says {entry}-byte entries, the descriptor {}", desc.elem_size));
    }
    let fits = if has_value {
        key >= 1 && vsize >= 1 && voff >= key && voff + vsize <= entry as u64
    } else {
        key == entry as u64 && voff == 0 && vsize == 0
    };
    if !fits {
        return Err(format!(
            "the {what} header's {key}-byte key and {vsize}-byte value at offset {voff} do not fit its {entry}-byte entries"
        ));
    }
    Ok(())
}

/// The map header must repeat the descriptor.
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> Result<(), String> {
    check_header_for(h, desc, true)
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}

/// The hash of a key's bytes, part of the format (every process and language must place a key
/// in the same slot): 8-byte little-endian words, the last zero-padded, each mixed in by
/// `h = (h ^ word) × K; h ^= h >> 32`, starting from `SEED ^ len`, then MurmurHash3's 64-bit
/// finaliser. A key's home slot is `hash % slots`; bits 40..64 are the tag kept in the slot's
/// state word, so most non-matching slots are skipped without reading their key.
pub fn key_hash(key: &[u8]) -> u64 {
    const SEED: u64 = 0x243f_6a88_85a3_08d3;
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = SEED ^ key.len() as u64;
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        h = (h ^ u64::from_le_bytes(c.try_into().expect("8-byte chunk"))).wrapping_mul(K);
        h ^= h >> 32;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K);
        h ^= h >> 32;
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The tag of a hash (bits 40..64), kept in the state word.
pub const fn tag_of(hash: u64) -> u32 {
    (hash >> 40) as u32
}

/// A state word.
pub const fn state(version: u32, tag: u32, phase: u8) -> u64 {
    ((version as u64) << 32) | (((tag & 0xff_ffff) as u64) << 8) | phase as u64
}

/// A state word's version, tag and phase.
pub const fn unpack(state: u64) -> (u32, u32, u8) {
    ((state >> 32) as u32, ((state >> 8) & 0xff_ffff) as u32, state as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_the_documented_function() {
        // Values the C and Python documentation quote (FORMAT.md): a change is a format change.
        assert_eq!(key_hash(&7u64.to_le_bytes()), key_hash(&[7, 0, 0, 0, 0, 0, 0, 0]));
        assert_ne!(key_hash(&[7]), key_hash(&[7, 0]), "the length is mixed in");
        let spread: std::collections::HashSet<u64> = (0..4096u64).map(|k| key_hash(&k.to_le_bytes()) & 4095).collect();
        assert!(spread.len() > 2400, "consecutive keys spread over the slots: {}", spread.len());
    }

    #[test]
    fn entry_layout_is_cs() {
        const U8: TypeLayout<'static> = TypeLayout::Primitive(Primitive::U8);
        const U64: TypeLayout<'static> = TypeLayout::Primitive(Primitive::U64);
        const F: [FieldLayout<'static>; 2] = entry_fields(U8, U64);
        const E: StructLayout<'static> = entry_struct(&F);
        assert_eq!((F[1].offset, E.size, E.align), (8, 16, 8));
        assert_eq!((stride_for(E.size), lock_stride_for(E.size, true)), (Some(32), Some(24)));
        assert_eq!((stride_for(4), lock_stride_for(4, false)), (Some(24), Some(8)));
        assert_eq!(locks_offset(8, 32), Some(128 + 256));
        assert_eq!(slots_for(1000), Some(2048));
        assert_eq!(slots_for(1024), Some(2048));
        assert_eq!(slots_for(0), None);
        assert_eq!(unpack(state(7, 0x1234567, phase::MEMBER)), (7, 0x234567, phase::MEMBER));
    }
}
