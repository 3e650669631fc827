//! The format of an Event: an auto- or manual-reset flag with its waiters.

use super::prelude::*;

/// What an Event is: an auto- or manual-reset event.
pub const SPEC: KindSpec = KindSpec { name: "Event", article: "an", has_element: false, parameters: PARAMETERS };

/// Flag: the event stays set until reset (otherwise one waiter consumes it).
pub const EVENT_MANUAL_RESET: u32 = 1;

pub(crate) const PARAMETERS: &[Parameter] = &[
    param(
        "manual_reset",
        Slot::Flags,
        ParamValue::Bool { bit: EVENT_MANUAL_RESET },
        false,
        "stay set until reset (default: auto-reset, one waiter consumes it)",
    ),
    param("initially_set", Slot::Initial, ParamValue::Bool { bit: 1 }, false, "start set (default false)"),
];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(_d: &Descriptor) -> String {
    "-".to_owned()
}

/// Size and alignment of an event's region.
pub const REGION_SIZE: u64 = 128;

/// Offset of `u32 state`.
pub const STATE_OFFSET: u64 = 0;

/// Offset of `u32 waiters`.
pub const WAITERS_OFFSET: u64 = 4;

/// `state` bit: the event is set.
pub const STATE_SET: u32 = 1;

/// What a set adds to `state`'s set count (bits 1..31).
pub const STATE_SET_COUNT_ONE: u32 = 2;

/// The region of an event declaration: 128 bytes, 128-aligned; `flags` only
/// `EVENT_MANUAL_RESET`, `initial` 0 or 1 (initially set).
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    if s.flags & !EVENT_MANUAL_RESET != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Event,
            parameter: "manual_reset",
            rule: "the only event flag is bit 0, manual reset",
        });
    }
    if s.initial != 0 && s.initial != 1 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Event,
            parameter: "initially_set",
            rule: "must be true (1) or false (0)",
        });
    }
    if s.capacity != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Event,
            parameter: "capacity",
            rule: "an event takes only manual_reset and initially_set",
        });
    }
    Ok(RegionLayout { size: REGION_SIZE, align: REGION_SIZE })
}

/// Names the event's flags for mismatch messages.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    let mode = match flags {
        0 => "auto".to_owned(),
        EVENT_MANUAL_RESET => "manual".to_owned(),
        other => format!("{other:#x}"),
    };
    ("reset mode", mode)
}

/// Nothing in the header is fixed: all of it is live state.
pub(crate) fn check_header(_: &dyn HeaderWords, _: &Descriptor) -> Result<(), String> {
    Ok(())
}
