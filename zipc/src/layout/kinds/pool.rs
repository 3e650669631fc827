//! The format of a Pool: the free-list head and counters, then generation-checked objects.

use super::prelude::*;

/// What a Pool is: a fixed-capacity object pool with generation-checked handles.
pub const SPEC: KindSpec = KindSpec { name: "Pool", article: "a", has_element: true, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] =
    &[param("capacity", Slot::Capacity, ParamValue::Unsigned { min: 1 }, true, "number of objects")];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    d.capacity.to_string()
}

/// Region offsets of the pool's fields (see the module docs).
pub mod field {
    /// `u64 head`.
    pub const HEAD: u64 = 0;
    /// `u64 allocated`.
    pub const ALLOCATED: u64 = 8;
    /// `u64 capacity`.
    pub const CAPACITY: u64 = 128;
    /// `u32 elem_size`.
    pub const ELEM_SIZE: u64 = 136;
    /// The `freed` event count.
    pub const FREED: u64 = 144;
    /// The slot table.
    pub const SLOTS: u64 = 256;
}

/// Size of one slot-table entry.
pub const SLOT_SIZE: u64 = 16;

/// Alignment of a pool's region and of its object array.
pub const ALIGN: u64 = 128;

/// Largest capacity: indices are 32-bit and `0xFFFFFFFF` means "none".
pub const MAX_CAPACITY: u64 = NIL as u64 - 1;

/// The index that ends the free list.
pub const NIL: u32 = u32::MAX;

/// Offset of the object array in a pool of `capacity` objects.
pub const fn objects_offset(capacity: u64) -> Option<u64> {
    match SLOT_SIZE.checked_mul(capacity) {
        Some(t) => match field::SLOTS.checked_add(t) {
            Some(end) => align_up(end, ALIGN),
            None => None,
        },
        None => None,
    }
}

/// The region of a pool declaration.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    let Some(elem) = &s.elem else {
        return Err(LayoutError::MissingElement { kind: Kind::Pool });
    };
    if elem.size() == 0 {
        return Err(LayoutError::UnsupportedElement { kind: Kind::Pool, allowed: "elements of at least one byte" });
    }
    if s.capacity == 0 || s.capacity > MAX_CAPACITY {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Pool,
            parameter: "capacity",
            rule: "must be between 1 and 4294967294",
        });
    }
    if s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Pool,
            parameter: "flags",
            rule: "a pool takes only a capacity",
        });
    }
    let Some(objects) = objects_offset(s.capacity) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(data) = elem.size().checked_mul(s.capacity) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(size) = objects.checked_add(data) else {
        return Err(LayoutError::TooLarge);
    };
    Ok(RegionLayout { size, align: ALIGN })
}

/// The header's constants must repeat the descriptor's.
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    let cap = h.u64(field::CAPACITY);
    let elem = h.u32(field::ELEM_SIZE);
    if cap != desc.capacity {
        return Err(format!("the pool header says capacity {cap}, the descriptor {}", desc.capacity));
    }
    if elem != desc.elem_size {
        return Err(format!("the pool header says {elem}-byte objects, the descriptor {}", desc.elem_size));
    }
    Ok(())
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
