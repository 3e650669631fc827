//! The format of a Set: a map's table without values (see [`super::map`]); its element type is
//! its key.

use super::prelude::*;

/// What a Set is: a fixed-capacity hash set with lock-free lookups.
pub const SPEC: KindSpec = KindSpec { name: "Set", article: "a", has_element: true, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] = &[param(
    "capacity",
    Slot::Capacity,
    ParamValue::Unsigned { min: 1 },
    true,
    "number of keys it holds (its table has twice as many slots, rounded up to a power of two)",
)];

/// The CAPACITY column of `inspect` and `layout`: as a map's.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    super::map::capacity_text(d)
}

/// The region of a set declaration: a map's, with one entry span per slot.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    super::map::region_for(Kind::Set, s, false)
}

/// The set header must repeat the descriptor, with no value.
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    super::map::check_header_for(h, desc, false)
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
