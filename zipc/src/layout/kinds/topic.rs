//! The format of a Topic: header lines, one record per subscriber, sequenced slots. The
//! algorithm that runs on it is `structures::topic`.

use super::prelude::*;

/// What a Topic is: a publish–subscribe stream, one publisher and up to `max_subscribers`
/// subscribers, each with its own cursor.
pub const SPEC: KindSpec = KindSpec { name: "Topic", article: "a", has_element: true, parameters: PARAMETERS };

/// Flag: lossy mode (the publisher never waits; a subscriber that falls behind skips what was
/// overwritten and counts it). Without it the topic is lossless.
pub const TOPIC_LOSSY: u32 = 1;

/// Topic modes by name, for TOML's `mode = "lossy"`.
pub const MODES: &[(&str, u32)] = &[("lossless", 0), ("lossy", TOPIC_LOSSY)];

pub(crate) const PARAMETERS: &[Parameter] = &[
    param(
        "capacity",
        Slot::Capacity,
        ParamValue::Unsigned { min: 2 },
        true,
        "samples in flight, a power of two from 2 to 2^32",
    ),
    param("max_subscribers", Slot::Maximum, ParamValue::Unsigned { min: 1 }, true, "subscribers at once, 1 to 1024"),
    param(
        "history",
        Slot::Initial,
        ParamValue::Unsigned { min: 0 },
        false,
        "samples a late subscriber receives on joining, less than the capacity (default 0)",
    ),
    Parameter {
        name: "mode",
        slot: Slot::Flags,
        value: ParamValue::Choice(MODES),
        required: false,
        type_level: true,
        doc: "lossless (the publisher waits for the slowest subscriber; the default) or lossy",
    },
];

/// Smallest capacity.
pub const MIN_CAPACITY: u64 = 2;

/// Largest capacity.
pub const MAX_CAPACITY: u64 = 1 << 32;

/// Most subscribers a topic can be declared for.
pub const MAX_SUBSCRIBERS: u64 = 1024;

/// Positions are refused above this at open (2^62 samples is 146 years at a billion a second);
/// bit 63 of a sequence word is [`BUSY`].
pub const MAX_POSITION: u64 = 1 << 62;

/// Bit 63 of a lossy slot's sequence word: the slot is being written.
pub const BUSY: u64 = 1 << 63;

/// Offsets of the header's constants (line 0).
pub mod header {
    /// `u64 capacity`.
    pub const CAPACITY: u64 = 0;
    /// `u32 elem_size`.
    pub const ELEM_SIZE: u64 = 8;
    /// `u32 flags`.
    pub const FLAGS: u64 = 12;
    /// `u32 max_subscribers`.
    pub const MAX_SUBSCRIBERS: u64 = 16;
    /// `u32 slot_size`.
    pub const SLOT_SIZE: u64 = 20;
    /// `u64 history`.
    pub const HISTORY: u64 = 24;
    /// `u64 publisher` role word (line 1).
    pub const PUBLISHER: u64 = 128;
    /// `u64 publisher_takeovers`.
    pub const PUBLISHER_TAKEOVERS: u64 = 136;
    /// `u64 end`: the publisher's position when it closed the topic (meaningful once `CLOSED`
    /// is set).
    pub const END: u64 = 144;
    /// `u64 closed`: 0 while open (every topic made before closing existed reads so), 1 once
    /// the publisher closed it.
    pub const CLOSED: u64 = 152;
    /// `u64 write_pos`, alone on line 2.
    pub const WRITE_POS: u64 = 256;
}

/// Offsets of the control line (line 3): written only on slow paths.
pub mod control {
    /// `u64 floor`: positions below it may have been overwritten (lossless).
    pub const FLOOR: u64 = 384;
    /// The `data_ready` event count.
    pub const DATA_READY: u64 = 392;
    /// The `space_ready` event count.
    pub const SPACE_READY: u64 = 400;
    /// `u64 released`: records of dead subscribers freed by survivors.
    pub const RELEASED: u64 = 408;
}

/// The subscriber records, from [`RECORDS`], one per line pair.
pub mod record {
    /// `u64 owner`: 0 when free, else `pid << 40 | start time`.
    pub const OWNER: u64 = 0;
    /// `u64 cursor`: the next position this subscriber reads.
    pub const CURSOR: u64 = 8;
    /// `u64 missed`: samples it skipped (lossy).
    pub const MISSED: u64 = 16;
    /// `u64 active`: 1 while its cursor holds the publisher back.
    pub const ACTIVE: u64 = 24;
    /// `u64 joined`: the cursor it joined at.
    pub const JOINED: u64 = 32;
    /// Bytes per record.
    pub const SIZE: u64 = 128;
}

/// Where the subscriber records start.
pub const RECORDS: u64 = 512;

/// Alignment of a topic's region, and the granularity of its size.
pub const ALIGN: u64 = 128;

/// Size of the sequence word that starts each slot.
pub const SEQ_SIZE: u64 = 8;

/// Bytes per slot: `u64 seq` and the payload, padded to 8.
pub const fn slot_size(elem_size: u64) -> Option<u64> {
    match elem_size.checked_add(SEQ_SIZE + 7) {
        Some(s) => Some(s & !7),
        None => None,
    }
}

/// Where the slots of a topic for `max_subscribers` start.
pub const fn slots_offset(max_subscribers: u64) -> u64 {
    RECORDS + max_subscribers * record::SIZE
}

/// The CAPACITY column of `inspect` and `layout`.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    format!("{} ×{}", d.capacity, d.maximum)
}

const fn invalid(parameter: &'static str, rule: &'static str) -> LayoutError {
    LayoutError::InvalidParameter { kind: Kind::Topic, parameter, rule }
}

/// The region of a topic declaration: header lines, one record per subscriber, the slots.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    let Some(elem) = &s.elem else {
        return Err(LayoutError::MissingElement { kind: Kind::Topic });
    };
    if elem.size() == 0 {
        return Err(LayoutError::UnsupportedElement { kind: Kind::Topic, allowed: "elements of at least one byte" });
    }
    if s.capacity < MIN_CAPACITY || s.capacity > MAX_CAPACITY || !s.capacity.is_power_of_two() {
        return Err(invalid("capacity", "must be a power of two from 2 to 2^32"));
    }
    if s.maximum < 1 || s.maximum as u64 > MAX_SUBSCRIBERS {
        return Err(invalid("max_subscribers", "must be from 1 to 1024"));
    }
    if s.initial < 0 || s.initial as u64 >= s.capacity {
        return Err(invalid("history", "must be less than the capacity"));
    }
    if s.flags & !TOPIC_LOSSY != 0 {
        return Err(invalid("mode", "must be lossless or lossy"));
    }
    let Some(slot) = slot_size(elem.size()) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(slots) = slot.checked_mul(s.capacity) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(end) = slots.checked_add(slots_offset(s.maximum as u64)) else {
        return Err(LayoutError::TooLarge);
    };
    match align_up(end, ALIGN) {
        Some(size) => Ok(RegionLayout { size, align: ALIGN }),
        None => Err(LayoutError::TooLarge),
    }
}

/// The header's constants must repeat the descriptor's.
pub(crate) fn check_header(h: &dyn HeaderWords, d: &Descriptor) -> std::result::Result<(), String> {
    let cap = h.u64(header::CAPACITY);
    if cap != d.capacity {
        return Err(format!("the topic header says capacity {cap}, the descriptor {}", d.capacity));
    }
    let elem = h.u32(header::ELEM_SIZE);
    if elem != d.elem_size {
        return Err(format!("the topic header says {elem}-byte samples, the descriptor {}", d.elem_size));
    }
    let fl = h.u32(header::FLAGS);
    if fl != d.flags {
        return Err(format!("the topic header has flags {fl:#x}, the descriptor {:#x}", d.flags));
    }
    let subs = h.u32(header::MAX_SUBSCRIBERS) as i64;
    if subs != d.maximum {
        return Err(format!("the topic header says {subs} subscribers, the descriptor {}", d.maximum));
    }
    let slot = h.u32(header::SLOT_SIZE) as u64;
    if Some(slot) != slot_size(d.elem_size as u64) {
        return Err(format!("the topic header says {slot}-byte slots for {}-byte samples", d.elem_size));
    }
    let history = h.u64(header::HISTORY);
    if history as i64 != d.initial || history >= d.capacity {
        return Err(format!(
            "the topic header says history {history}, the descriptor {} (capacity {})",
            d.initial, d.capacity
        ));
    }
    Ok(())
}

/// Renders a topic's flags for mismatch messages.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    match flags {
        0 => ("mode", "lossless".to_owned()),
        TOPIC_LOSSY => ("mode", "lossy".to_owned()),
        other => ("flags", format!("{other:#x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(capacity: u64, subs: i64, history: i64) -> StructureLayout<'static> {
        StructureLayout {
            capacity,
            maximum: subs,
            initial: history,
            ..StructureLayout::new("t", Kind::Topic, Some(TypeLayout::Primitive(Primitive::U64)))
        }
    }

    #[test]
    fn regions_hold_the_records_and_the_slots() {
        // 512 header bytes, 3 records, 8 slots of 16 bytes.
        assert_eq!(region(&decl(8, 3, 0)), Ok(RegionLayout { size: 512 + 3 * 128 + 8 * 16, align: 128 }));
        assert_eq!(slot_size(12), Some(24));
        for (cap, subs, hist, parameter) in [
            (3, 1, 0, "capacity"),
            (1, 1, 0, "capacity"),
            (8, 0, 0, "max_subscribers"),
            (8, 1025, 0, "max_subscribers"),
            (8, 1, 8, "history"),
            (8, 1, -1, "history"),
        ] {
            assert!(
                matches!(region(&decl(cap, subs, hist)), Err(LayoutError::InvalidParameter { parameter: p, .. }) if p == parameter),
                "{cap} {subs} {hist}"
            );
        }
        let lossy = StructureLayout { flags: TOPIC_LOSSY, ..decl(4, 1, 3) };
        assert!(region(&lossy).is_ok());
        let bad = StructureLayout { flags: 2, ..decl(4, 1, 3) };
        assert!(matches!(region(&bad), Err(LayoutError::InvalidParameter { parameter: "mode", .. })));
    }

    #[test]
    fn flags_read_as_modes() {
        assert_eq!(describe_flags(0), ("mode", "lossless".to_owned()));
        assert_eq!(describe_flags(TOPIC_LOSSY), ("mode", "lossy".to_owned()));
    }
}
