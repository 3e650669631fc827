//! The format of a Barrier: ZeroIPC v2's reusable barrier words.

use super::prelude::*;

/// What a Barrier is: a reusable barrier (ZeroIPC v2 layout).
pub const SPEC: KindSpec = KindSpec { name: "Barrier", article: "a", has_element: false, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] = &[param(
    "participants",
    Slot::Capacity,
    ParamValue::Unsigned { min: 1 },
    true,
    "processes that meet at the barrier",
)];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    format!("{} parties", d.capacity)
}

/// Size of a barrier's region (ZeroIPC's header).
pub const REGION_SIZE: u64 = 16;

/// Alignment of a barrier's region (ZeroIPC aligns every structure to 8; the 64-bit
/// compare-and-swap on `arrived`/`generation` needs it too).
pub const REGION_ALIGN: u64 = 8;

/// Offset of `i32 arrived`.
pub const ARRIVED_OFFSET: u64 = 0;

/// Offset of `i32 generation`.
pub const GENERATION_OFFSET: u64 = 4;

/// Offset of `i32 participants`.
pub const PARTICIPANTS_OFFSET: u64 = 8;

/// Offset of `u32 sleepers`.
pub const SLEEPERS_OFFSET: u64 = 12;

/// The most participants a barrier can have (the field is `i32`).
pub const MAX_PARTICIPANTS: u32 = i32::MAX as u32;

/// The region of a barrier declaration: 16 bytes, 8-aligned; `capacity` (participants) in
/// `1..=i32::MAX`.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    if s.capacity == 0 || s.capacity > MAX_PARTICIPANTS as u64 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Barrier,
            parameter: "participants",
            rule: "must be between 1 and 2147483647",
        });
    }
    if s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Barrier,
            parameter: "flags",
            rule: "a barrier takes only participants",
        });
    }
    Ok(RegionLayout { size: REGION_SIZE, align: REGION_ALIGN })
}

/// The header's `participants` must be the descriptor's capacity (the handle trusts the latter).
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    let n = h.u32(PARTICIPANTS_OFFSET) as i32 as i64;
    if n as u64 != desc.capacity || n < 0 {
        return Err(format!("the barrier header says {n} participants, the descriptor {}", desc.capacity));
    }
    Ok(())
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
