//! The format of a Semaphore: ZeroIPC v2's counting semaphore words.

use super::prelude::*;

/// What a Semaphore is: a counting semaphore (ZeroIPC v2 layout).
pub const SPEC: KindSpec = KindSpec { name: "Semaphore", article: "a", has_element: false, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] = &[
    param("initial", Slot::Initial, ParamValue::Unsigned { min: 0 }, false, "initial count (default 0)"),
    param("max", Slot::Maximum, ParamValue::Unsigned { min: 0 }, false, "largest count, 0 for unbounded (default)"),
];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    if d.maximum > 0 {
        format!("max {}", d.maximum)
    } else {
        "-".to_owned()
    }
}

/// Size of a semaphore's region (ZeroIPC's header).
pub const REGION_SIZE: u64 = 16;

/// Alignment of a semaphore's region (ZeroIPC aligns every structure to 8).
pub const REGION_ALIGN: u64 = 8;

/// Offset of `i32 count`.
pub const COUNT_OFFSET: u64 = 0;

/// Offset of `i32 waiting`.
pub const WAITING_OFFSET: u64 = 4;

/// Offset of `i32 max_count`.
pub const MAX_COUNT_OFFSET: u64 = 8;

/// The largest count and maximum (the fields are `i32`).
pub const MAX_COUNT: u32 = i32::MAX as u32;

/// The region of a semaphore declaration: 16 bytes, 8-aligned; `initial` and `maximum` in
/// `0..=i32::MAX`, and `initial <= maximum` unless the maximum is 0 (unbounded).
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    const fn invalid(parameter: &'static str, rule: &'static str) -> Result<RegionLayout, LayoutError> {
        Err(LayoutError::InvalidParameter { kind: Kind::Semaphore, parameter, rule })
    }
    if s.capacity != 0 || s.flags != 0 {
        return invalid("capacity", "a semaphore takes only initial and max");
    }
    if s.initial < 0 || s.initial > MAX_COUNT as i64 {
        return invalid("initial", "must be between 0 and 2147483647");
    }
    if s.maximum < 0 || s.maximum > MAX_COUNT as i64 {
        return invalid("max", "must be between 0 (unbounded) and 2147483647");
    }
    if s.maximum != 0 && s.initial > s.maximum {
        return invalid("initial", "must not exceed max");
    }
    Ok(RegionLayout { size: REGION_SIZE, align: REGION_ALIGN })
}

/// The header's `max_count` must be the descriptor's maximum (the handle trusts the latter).
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    let max = h.u32(MAX_COUNT_OFFSET) as i32 as i64;
    if max != desc.maximum {
        return Err(format!("the semaphore header says max_count {max}, the descriptor {}", desc.maximum));
    }
    Ok(())
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
