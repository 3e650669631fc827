//! The format of a Future: a once's words (who sets the value, a futex word to wait on) and the
//! value. The algorithm that runs on it is `structures::future`.

use super::prelude::*;

/// What a Future is: a one-shot value, set once by one process and awaited by any number.
pub const SPEC: KindSpec = KindSpec { name: "Future", article: "a", has_element: true, parameters: &[] };

/// Size and alignment of the header, and the alignment of the region.
pub const HEADER_SIZE: u64 = 128;

/// Offset of `u64 state`: [`EMPTY`], [`READY`], or the setter's `pid << 40 | start time` while it
/// writes the value (the same word, with the same meanings, as a once's `state`).
pub const STATE_OFFSET: u64 = super::once::STATE_OFFSET;

/// Offset of `u32 epoch`: incremented when the value is set or a setter gives up (futex word).
pub const EPOCH_OFFSET: u64 = super::once::EPOCH_OFFSET;

/// Offset of `u32 waiters`: threads asleep waiting for the value.
pub const WAITERS_OFFSET: u64 = super::once::WAITERS_OFFSET;

/// Offset of `u32 takeovers`: settings taken over from a setter that died writing, ever.
pub const TAKEOVERS_OFFSET: u64 = super::once::TAKEOVERS_OFFSET;

/// Offset of `u32 elem_size`, the value's size (repeats the descriptor).
pub const ELEM_SIZE_OFFSET: u64 = 20;

/// Offset of the value.
pub const VALUE_OFFSET: u64 = HEADER_SIZE;

/// `state`: no value yet.
pub const EMPTY: u64 = super::once::NEW;

/// `state`: the value is set and never changes again.
pub const READY: u64 = super::once::DONE;

/// The CAPACITY column of `inspect` and `layout`.
pub(crate) fn capacity_text(_d: &Descriptor) -> String {
    "-".to_owned()
}

/// The region of a future declaration: the 128-byte header, then the value; 128-aligned.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    let Some(elem) = &s.elem else {
        return Err(LayoutError::MissingElement { kind: Kind::Future });
    };
    if elem.size() == 0 || elem.align() > HEADER_SIZE {
        return Err(LayoutError::UnsupportedElement {
            kind: Kind::Future,
            allowed: "values of at least one byte, aligned to at most 128",
        });
    }
    if s.capacity != 0 || s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Future,
            parameter: "capacity",
            rule: "a future takes no parameters",
        });
    }
    match align_up(HEADER_SIZE + elem.size(), HEADER_SIZE) {
        Some(size) => Ok(RegionLayout { size, align: HEADER_SIZE }),
        None => Err(LayoutError::TooLarge),
    }
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}

/// The header's value size must repeat the descriptor's.
pub(crate) fn check_header(h: &dyn HeaderWords, d: &Descriptor) -> Result<(), String> {
    let size = h.u32(ELEM_SIZE_OFFSET);
    if size != d.elem_size {
        return Err(format!("the future header says {size}-byte values, the descriptor {}", d.elem_size));
    }
    Ok(())
}
