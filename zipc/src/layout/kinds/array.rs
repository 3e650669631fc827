//! The format of an Array: a ZeroIPC v2 array, `capacity` elements and nothing else.

use super::prelude::*;

/// What an Array is: a fixed-length array (ZeroIPC v2 layout).
pub const SPEC: KindSpec = KindSpec { name: "Array", article: "an", has_element: true, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] =
    &[param("capacity", Slot::Capacity, ParamValue::Unsigned { min: 1 }, true, "number of elements")];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    d.capacity.to_string()
}

/// Size of the array header (the `u64 capacity`).
pub const HEADER_SIZE: u64 = 8;

/// The region of an array declaration: `8 + capacity × elem` bytes, 8-aligned.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    let Some(elem) = &s.elem else {
        return Err(LayoutError::MissingElement { kind: Kind::Array });
    };
    if s.capacity == 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Array,
            parameter: "capacity",
            rule: "must be at least 1",
        });
    }
    if s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Array,
            parameter: "flags",
            rule: "an array takes only a capacity",
        });
    }
    let Some(data) = elem.size().checked_mul(s.capacity) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(size) = data.checked_add(HEADER_SIZE) else {
        return Err(LayoutError::TooLarge);
    };
    let align = if elem.align() > 8 { elem.align() } else { 8 };
    Ok(RegionLayout { size, align })
}

/// The header must state the capacity the descriptor records.
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    let cap = h.u64(0);
    if cap != desc.capacity {
        return Err(format!("the array header says {cap} elements, the descriptor {}", desc.capacity));
    }
    Ok(())
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
