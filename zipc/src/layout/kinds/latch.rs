//! The format of a Latch: ZeroIPC v2's one-shot countdown.

use super::prelude::*;

/// What a Latch is: a one-shot countdown latch (ZeroIPC v2 layout).
pub const SPEC: KindSpec = KindSpec { name: "Latch", article: "a", has_element: false, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] =
    &[param("count", Slot::Initial, ParamValue::Unsigned { min: 1 }, true, "count_down calls that release it")];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    format!("count {}", d.initial)
}

/// Size of a latch's region (ZeroIPC's header).
pub const REGION_SIZE: u64 = 16;

/// Alignment of a latch's region (ZeroIPC aligns every structure to 8).
pub const REGION_ALIGN: u64 = 8;

/// Offset of `i32 count`.
pub const COUNT_OFFSET: u64 = 0;

/// Offset of `i32 initial`.
pub const INITIAL_OFFSET: u64 = 4;

/// Offset of `u32 waiters`.
pub const WAITERS_OFFSET: u64 = 8;

/// The largest initial count (the field is `i32`).
pub const MAX_COUNT: u32 = i32::MAX as u32;

/// The region of a latch declaration: 16 bytes, 8-aligned; `initial` (the count) in
/// `1..=i32::MAX`.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    if s.initial < 1 || s.initial > MAX_COUNT as i64 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Latch,
            parameter: "count",
            rule: "must be between 1 and 2147483647",
        });
    }
    if s.capacity != 0 || s.flags != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Latch,
            parameter: "capacity",
            rule: "a latch takes only a count",
        });
    }
    Ok(RegionLayout { size: REGION_SIZE, align: REGION_ALIGN })
}

/// The header's `initial` must be the descriptor's.
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    let initial = h.u32(INITIAL_OFFSET) as i32 as i64;
    if initial != desc.initial {
        return Err(format!("the latch header says initial count {initial}, the descriptor {}", desc.initial));
    }
    Ok(())
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
