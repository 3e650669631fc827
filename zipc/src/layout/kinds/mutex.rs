//! The format of a Mutex: a futex word, its consistency state and its holder's identity.

use super::prelude::*;

/// What a Mutex is: a robust process-shared mutex.
pub const SPEC: KindSpec = KindSpec { name: "Mutex", article: "a", has_element: false, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] = &[];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(_d: &Descriptor) -> String {
    "-".to_owned()
}

/// Size and alignment of a mutex's region.
pub const REGION_SIZE: u64 = 128;

/// Offset of `u32 word`, the PI futex.
pub const WORD_OFFSET: u64 = 0;

/// Offset of `u32 state`.
pub const STATE_OFFSET: u64 = 4;

/// Offset of `u32 holder_tid`.
pub const HOLDER_TID_OFFSET: u64 = 8;

/// Offset of `u32 holder_pid`.
pub const HOLDER_PID_OFFSET: u64 = 12;

/// Offset of `u64 holder_start`.
pub const HOLDER_START_OFFSET: u64 = 16;

/// Offset of `u32 owner_deaths`.
pub const OWNER_DEATHS_OFFSET: u64 = 24;

/// `word` bit set by the kernel while a waiter is queued (`FUTEX_WAITERS`).
pub const WORD_WAITERS: u32 = 0x8000_0000; // FUTEX_WAITERS, futex(2)

/// `word` bit the kernel sets when it hands the lock over from a dead owner
/// (`FUTEX_OWNER_DIED`); zipc decides owner-died by `holder_tid` instead, and ignores it.
pub const WORD_OWNER_DIED: u32 = 0x4000_0000;

/// `word` bits holding the owner's thread id (`FUTEX_TID_MASK`).
pub const WORD_TID_MASK: u32 = 0x3FFF_FFFF; // FUTEX_TID_MASK, futex(2)

/// `state`: usable.
pub const STATE_CONSISTENT: u32 = 0;

/// `state`: a holder died inside; the current holder must repair and mark it consistent.
pub const STATE_INCONSISTENT: u32 = 1;

/// `state`: a holder died and its successor released without repairing: unusable for good.
pub const STATE_NOT_RECOVERABLE: u32 = 2;

/// The region of a mutex declaration: 128 bytes, 128-aligned, no parameters.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    if s.capacity != 0 || s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Mutex,
            parameter: "capacity",
            rule: "a mutex takes no parameters",
        });
    }
    Ok(RegionLayout { size: REGION_SIZE, align: REGION_SIZE })
}

/// Nothing in the header is fixed: all of it is live state.
pub(crate) fn check_header(_: &dyn HeaderWords, _: &Descriptor) -> Result<(), String> {
    Ok(())
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
