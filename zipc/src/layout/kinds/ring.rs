//! The format of a Ring: the producer's and consumer's lines, the control line, the slots.

use super::prelude::*;

/// What a Ring is: a single-producer stream ring with optional overwrite.
pub const SPEC: KindSpec = KindSpec { name: "Ring", article: "a", has_element: true, parameters: PARAMETERS };

/// Flag: the writer overwrites the oldest data when the reader falls behind.
pub const RING_OVERWRITE: u32 = 1;

pub(crate) const PARAMETERS: &[Parameter] = &[
    CAPACITY,
    param(
        "overwrite",
        Slot::Flags,
        ParamValue::Bool { bit: RING_OVERWRITE },
        false,
        "keep the newest data when the reader falls behind (default false)",
    ),
];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    d.capacity.to_string()
}

/// Region offsets of the ring's fields (see the module docs).
pub mod field {
    /// `u64 reading`.
    pub const READING: u64 = 152;
    /// `u64 lost`.
    pub const LOST: u64 = 160;
    /// `u64 write_pos`.
    pub const WRITE_POS: u64 = 0;
    /// `u64 claim`.
    pub const CLAIM: u64 = 8;
    /// `u64 producer` role word.
    pub const PRODUCER: u64 = 16;
    /// `u64 end`: the producer's position when it closed the ring (meaningful once `CLOSED`
    /// is set).
    pub const END: u64 = 24;
    /// `u64 closed`: 0 while open (every segment made before closing existed reads so), 1
    /// once the producer closed the ring.
    pub const CLOSED: u64 = 32;
    /// `u64 read_pos`.
    pub const READ_POS: u64 = 128;
    /// `u64 missed`.
    pub const MISSED: u64 = 136;
    /// `u64 consumer` role word.
    pub const CONSUMER: u64 = 144;
    /// `u64 capacity`.
    pub const CAPACITY: u64 = 256;
    /// `u32 elem_size`.
    pub const ELEM_SIZE: u64 = 264;
    /// `u32 flags`.
    pub const FLAGS: u64 = 268;
    /// The `data_ready` event count (`u32 epoch`, `u32 waiters`).
    pub const DATA_READY: u64 = 272;
    /// The `space_ready` event count.
    pub const SPACE_READY: u64 = 280;
}

/// Size of the ring header; the slots start here.
pub const HEADER_SIZE: u64 = 384;

/// Alignment of a ring's region.
pub const ALIGN: u64 = 128;

/// Positions are refused above this at open (they grow by one per element and never wrap in
/// practice: 2^62 elements is 146 years at a billion a second). It keeps all arithmetic on
/// positions read from the segment free of overflow.
pub const MAX_POSITION: u64 = 1 << 62;

/// The region of a ring declaration: a 384-byte header and `capacity` slots, 128-aligned.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    let Some(elem) = &s.elem else {
        return Err(LayoutError::MissingElement { kind: Kind::Ring });
    };
    if elem.size() == 0 {
        return Err(LayoutError::UnsupportedElement { kind: Kind::Ring, allowed: "elements of at least one byte" });
    }
    if s.capacity == 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Ring,
            parameter: "capacity",
            rule: "must be at least 1",
        });
    }
    if s.capacity > MAX_POSITION {
        return Err(LayoutError::TooLarge);
    }
    if s.flags & !RING_OVERWRITE != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Ring,
            parameter: "flags",
            rule: "only bit 0 (overwrite) is defined",
        });
    }
    if s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Ring,
            parameter: "initial",
            rule: "a ring takes only a capacity and the overwrite flag",
        });
    }
    let Some(data) = elem.size().checked_mul(s.capacity) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(size) = data.checked_add(HEADER_SIZE) else {
        return Err(LayoutError::TooLarge);
    };
    Ok(RegionLayout { size, align: ALIGN })
}

/// The header's constants must repeat the descriptor's (the handle uses the descriptor's
/// values; a mismatch means the bytes are not a ring zipc made).
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    let cap = h.u64(field::CAPACITY);
    let elem = h.u32(field::ELEM_SIZE);
    let fl = h.u32(field::FLAGS);
    if cap != desc.capacity {
        return Err(format!("the ring header says capacity {cap}, the descriptor {}", desc.capacity));
    }
    if elem != desc.elem_size {
        return Err(format!("the ring header says {elem}-byte elements, the descriptor {}", desc.elem_size));
    }
    if fl != desc.flags {
        return Err(format!("the ring header has flags {fl:#x}, the descriptor {:#x}", desc.flags));
    }
    Ok(())
}

/// Renders a ring's flags for mismatch messages.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    match flags {
        0 => ("overwrite", "false".to_owned()),
        RING_OVERWRITE => ("overwrite", "true".to_owned()),
        other => ("flags", format!("{other:#x}")),
    }
}
