//! The format of a Condvar: a notification counter (the futex word) and its waiters.

use super::prelude::*;

/// What a Condvar is: a condition variable that pairs with a [`Mutex`](Kind::Mutex).
pub const SPEC: KindSpec = KindSpec { name: "Condvar", article: "a", has_element: false, parameters: &[] };

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(_d: &Descriptor) -> String {
    "-".to_owned()
}

/// Size and alignment of a condvar's region.
pub const REGION_SIZE: u64 = 128;

/// Offset of `u32 seq`: notifications sent, wrapping (the futex word).
pub const SEQ_OFFSET: u64 = 0;

/// Offset of `u32 waiters`: threads asleep in `wait`.
pub const WAITERS_OFFSET: u64 = 4;

/// The region of a condvar declaration: 128 bytes, 128-aligned, no parameters.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    if s.capacity != 0 || s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Condvar,
            parameter: "capacity",
            rule: "a condvar takes no parameters",
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
