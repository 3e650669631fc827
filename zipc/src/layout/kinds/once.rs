//! The format of a Once: who runs the one-time initialisation, and a futex word to wait on.

use super::prelude::*;

/// What a Once is: a one-time initialisation shared by processes.
pub const SPEC: KindSpec = KindSpec { name: "Once", article: "a", has_element: false, parameters: &[] };

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(_d: &Descriptor) -> String {
    "-".to_owned()
}

/// Size and alignment of a once's region.
pub const REGION_SIZE: u64 = 128;

/// Offset of `u64 state`: [`NEW`], [`DONE`], or the running initialiser's `pid << 40 | start time`.
pub const STATE_OFFSET: u64 = 0;

/// Offset of `u32 epoch`: incremented when the initialisation completes or is abandoned (the
/// futex word waiters sleep on).
pub const EPOCH_OFFSET: u64 = 8;

/// Offset of `u32 waiters`: threads asleep waiting for the initialisation.
pub const WAITERS_OFFSET: u64 = 12;

/// Offset of `u32 takeovers`: initialisations taken over from a dead initialiser, ever.
pub const TAKEOVERS_OFFSET: u64 = 16;

/// `state`: nobody has run the initialisation (or every attempt was abandoned).
pub const NEW: u64 = 0;

/// `state`: the initialisation completed.
pub const DONE: u64 = 1;

/// The region of a once declaration: 128 bytes, 128-aligned, no parameters.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    if s.capacity != 0 || s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Once,
            parameter: "capacity",
            rule: "a once takes no parameters",
        });
    }
    Ok(RegionLayout { size: REGION_SIZE, align: REGION_SIZE })
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}

/// Nothing in the header is fixed: all of it is live state.
pub(crate) fn check_header(_: &dyn HeaderWords, _: &Descriptor) -> Result<(), String> {
    Ok(())
}
