//! The format of a Stack: the top and free-list heads, the counters, then a node table and the
//! values (see `structures/stack` for the algorithm).

use super::prelude::*;

/// What a Stack is: a bounded lock-free LIFO.
pub const SPEC: KindSpec = KindSpec { name: "Stack", article: "a", has_element: true, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] =
    &[param("capacity", Slot::Capacity, ParamValue::Unsigned { min: 1 }, true, "number of values")];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    d.capacity.to_string()
}

/// Region offsets of the stack's fields (see the layout table in `structures/stack`).
pub mod field {
    /// `u64 top`: `tag << 32 | index` of the top node.
    pub const TOP: u64 = 0;
    /// `u64 len`: values on the stack.
    pub const LEN: u64 = 8;
    /// `u64 free`: `tag << 32 | index` of the first free node.
    pub const FREE: u64 = 64;
    /// `u64 reclaimed`: nodes given back from dead processes, ever.
    pub const RECLAIMED: u64 = 72;
    /// `u64 capacity`.
    pub const CAPACITY: u64 = 128;
    /// `u32 elem_size`.
    pub const ELEM_SIZE: u64 = 136;
    /// The `pushed` event count (poppers wait on it).
    pub const PUSHED: u64 = 144;
    /// The `popped` event count (pushers wait on it).
    pub const POPPED: u64 = 152;
    /// The node table.
    pub const NODES: u64 = 256;
}

/// Size of one node-table entry: `u32 next, u32 reserved, u64 owner`.
pub const NODE_SIZE: u64 = 16;

/// Alignment of a stack's region and of its value array.
pub const ALIGN: u64 = 128;

/// The index that ends a list.
pub const NIL: u32 = u32::MAX;

/// Largest capacity: indices are 32-bit and `0xFFFFFFFF` means "none".
pub const MAX_CAPACITY: u64 = NIL as u64 - 1;

/// Offset of the value array in a stack of `capacity` values.
pub const fn values_offset(capacity: u64) -> Option<u64> {
    match NODE_SIZE.checked_mul(capacity) {
        Some(t) => match field::NODES.checked_add(t) {
            Some(end) => align_up(end, ALIGN),
            None => None,
        },
        None => None,
    }
}

/// The region of a stack declaration.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    let Some(elem) = &s.elem else {
        return Err(LayoutError::MissingElement { kind: Kind::Stack });
    };
    if elem.size() == 0 {
        return Err(LayoutError::UnsupportedElement { kind: Kind::Stack, allowed: "elements of at least one byte" });
    }
    if s.capacity == 0 || s.capacity > MAX_CAPACITY {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Stack,
            parameter: "capacity",
            rule: "must be between 1 and 4294967294",
        });
    }
    if s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Stack,
            parameter: "flags",
            rule: "a stack takes only a capacity",
        });
    }
    let Some(values) = values_offset(s.capacity) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(data) = elem.size().checked_mul(s.capacity) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(size) = values.checked_add(data) else {
        return Err(LayoutError::TooLarge);
    };
    Ok(RegionLayout { size, align: ALIGN })
}

/// The header's constants must repeat the descriptor's.
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    let cap = h.u64(field::CAPACITY);
    let elem = h.u32(field::ELEM_SIZE);
    if cap != desc.capacity {
        return Err(format!("the stack header says capacity {cap}, the descriptor {}", desc.capacity));
    }
    if elem != desc.elem_size {
        return Err(format!("the stack header says {elem}-byte values, the descriptor {}", desc.elem_size));
    }
    Ok(())
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
