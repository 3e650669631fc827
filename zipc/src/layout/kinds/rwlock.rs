//! The format of an RwLock: a writer word, two futex words, and one reader slot per line.
//! The algorithm that runs on it is `structures::sync::rwlock`.

use super::prelude::*;

/// What an RwLock is: a robust readers–writer lock shared by processes.
pub const SPEC: KindSpec = KindSpec { name: "RwLock", article: "an", has_element: false, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] = &[param(
    "max_readers",
    Slot::Capacity,
    ParamValue::Unsigned { min: 1 },
    true,
    "threads that can hold it for reading at once, 1 to 1024",
)];

/// Most reader slots an rwlock can be declared with.
pub const MAX_READERS: u64 = 1024;

/// Size and alignment of the header, and the alignment of the region.
pub const HEADER_SIZE: u64 = 128;

/// Bytes per reader slot: one `u64` on a 64-byte line of its own, so readers on different cores
/// share no line.
pub const SLOT_STRIDE: u64 = 64;

/// Offset of `u64 writer`: 0 when no writer holds or waits for the lock, else the writer's
/// `pid << 40 | start time`.
pub const WRITER_OFFSET: u64 = 0;

/// Offset of `u32 writer_epoch`: incremented whenever `writer` becomes 0 (the futex word that
/// readers and writers waiting for the writer sleep on).
pub const WRITER_EPOCH_OFFSET: u64 = 8;

/// Offset of `u32 writer_sleepers`: threads asleep on `writer_epoch`.
pub const WRITER_SLEEPERS_OFFSET: u64 = 12;

/// Offset of `u32 reader_epoch`: incremented by a reader leaving while a writer waits or a
/// reader waits for a slot (the futex word those sleep on).
pub const READER_EPOCH_OFFSET: u64 = 16;

/// Offset of `u32 reader_sleepers`: threads asleep on `reader_epoch`.
pub const READER_SLEEPERS_OFFSET: u64 = 20;

/// Offset of `u32 state`: [`CONSISTENT`], or [`WRITER_DIED`] once a writer died holding the
/// lock (until a later writer marks it consistent).
pub const STATE_OFFSET: u64 = 24;

/// Offset of `u32 writer_deaths`: writers that died holding the lock, ever.
pub const WRITER_DEATHS_OFFSET: u64 = 28;

/// Offset of `u32 reader_deaths`: reader slots freed after their process died, ever.
pub const READER_DEATHS_OFFSET: u64 = 32;

/// Offset of `u32 max_readers`, the number of reader slots (repeats the descriptor).
pub const MAX_READERS_OFFSET: u64 = 36;

/// Offset of the first reader slot: `u64`, 0 when free, else the reading process's tag.
pub const SLOTS_OFFSET: u64 = HEADER_SIZE;

/// `state`: what the lock protects is as its last writer left it.
pub const CONSISTENT: u32 = 0;

/// `state`: a writer died holding the lock; what it protects may be half-written.
pub const WRITER_DIED: u32 = 1;

/// The CAPACITY column of `inspect` and `layout`.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    format!("{} readers", d.capacity)
}

/// The region of an rwlock declaration: the 128-byte header, then `max_readers` slots of 64
/// bytes; 128-aligned.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    const fn invalid(parameter: &'static str, rule: &'static str) -> Result<RegionLayout, LayoutError> {
        Err(LayoutError::InvalidParameter { kind: Kind::RwLock, parameter, rule })
    }
    if s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return invalid("max_readers", "an rwlock takes only max_readers");
    }
    if s.capacity < 1 || s.capacity > MAX_READERS {
        return invalid("max_readers", "must be from 1 to 1024");
    }
    let size = HEADER_SIZE + s.capacity * SLOT_STRIDE;
    Ok(RegionLayout { size: size.div_ceil(HEADER_SIZE) * HEADER_SIZE, align: HEADER_SIZE })
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}

/// The header's slot count must repeat the descriptor's.
pub(crate) fn check_header(h: &dyn HeaderWords, d: &Descriptor) -> Result<(), String> {
    let n = h.u32(MAX_READERS_OFFSET) as u64;
    if n != d.capacity {
        return Err(format!("the rwlock header says {n} reader slots, the descriptor {}", d.capacity));
    }
    Ok(())
}
