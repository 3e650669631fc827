//! The format of a Queue: its policy, header lines and sequenced slots (SPSC, MPSC, MPMC).

use super::prelude::*;

/// What a Queue is: a bounded lock-free queue (SPSC, MPSC or MPMC).
pub const SPEC: KindSpec = KindSpec { name: "Queue", article: "a", has_element: true, parameters: PARAMETERS };

/// Queue policy: single producer, single consumer.
pub const POLICY_SPSC: u32 = 1;
/// Queue policy: multiple producers, single consumer.
pub const POLICY_MPSC: u32 = 2;
/// Queue policy: multiple producers, multiple consumers.
pub const POLICY_MPMC: u32 = 3;

/// Queue policies by name, for TOML's `policy = "mpmc"`.
pub const POLICIES: &[(&str, u32)] = &[("spsc", POLICY_SPSC), ("mpsc", POLICY_MPSC), ("mpmc", POLICY_MPMC)];

pub(crate) const PARAMETERS: &[Parameter] = &[
    CAPACITY,
    Parameter {
        name: "policy",
        slot: Slot::Flags,
        value: ParamValue::Choice(POLICIES),
        required: true,
        type_level: true,
        doc: "spsc, mpsc or mpmc",
    },
];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    d.capacity.to_string()
}

/// Offsets of the queue header's fields, from the start of the queue's region.
pub mod header {
    /// `u64 capacity`.
    pub const CAPACITY: u64 = 0;
    /// `u32 policy`.
    pub const POLICY: u64 = 8;
    /// `u32 elem_size`.
    pub const ELEM_SIZE: u64 = 12;
    /// `u32 slot_size`.
    pub const SLOT_SIZE: u64 = 16;
    /// `u64 producer_owner`.
    pub const PRODUCER_OWNER: u64 = 64;
    /// `u64 consumer_owner`.
    pub const CONSUMER_OWNER: u64 = 72;
    /// `u32 producer_takeovers`.
    pub const PRODUCER_TAKEOVERS: u64 = 80;
    /// `u32 consumer_takeovers`.
    pub const CONSUMER_TAKEOVERS: u64 = 84;
    /// `u64 tail`, alone on its line pair.
    pub const TAIL: u64 = 128;
    /// `u64 head`, on the consumer's line pair.
    pub const HEAD: u64 = 256;
    /// `u64 reading`, beside `head`.
    pub const READING: u64 = 264;
    /// The `not_empty` event count (`u32 epoch`, `u32 waiters`).
    pub const NOT_EMPTY: u64 = 384;
    /// The `not_full` event count.
    pub const NOT_FULL: u64 = 392;
    /// `u64 lost`.
    pub const LOST: u64 = 400;
    /// `u64 closed`: [`OPEN`](super::OPEN), [`CLOSING`](super::CLOSING) or
    /// [`CLOSED`](super::CLOSED).
    pub const CLOSED: u64 = 408;
    /// `u64 end`: once `closed` is `CLOSED`, the position claims stopped at.
    pub const END: u64 = 416;
    /// The first slot.
    pub const SLOTS: u64 = 512;
}

/// Alignment of a queue's region, and the granularity of its size.
pub const ALIGN: u64 = 128;

/// Smallest capacity.
pub const MIN_CAPACITY: u64 = 2;

/// Largest capacity.
pub const MAX_CAPACITY: u64 = 1 << 32;

/// Size of the sequence number that starts each MPSC/MPMC slot.
pub const SEQ_SIZE: u64 = 8;

/// `closed`: the queue takes pushes.
pub const OPEN: u64 = 0;
/// `closed`: a close has begun (multi-producer policies) but may not have stopped pushes yet;
/// whoever finds this state finishes it (`structures/queue/close.rs`).
pub const CLOSING: u64 = 1;
/// `closed`: closed, and `end` holds the position claims stopped at.
pub const CLOSED: u64 = 2;

/// What a close adds to `tail` in a multi-producer queue, so that no producer's
/// compare-and-swap from an earlier value succeeds again: a multiple of every capacity, and far
/// enough from every live sequence number (and tombstone) that a producer reading the moved
/// `tail` finds its slot "full", never "ahead".
pub const CLOSE_JUMP: u64 = 1 << 61;

/// Added to `p + 1` to make the sequence number of a tombstone: "holds position `p`, whose
/// producer died before writing it". Never within 2^33 of a live sequence number.
pub const TOMBSTONE: u64 = 0xC000_0000_0000_0000;

/// The sequence number of a tombstone for position `p`.
pub const fn tombstone(p: u64) -> u64 {
    p.wrapping_add(1).wrapping_add(TOMBSTONE)
}

/// The name of a policy's flag value, for messages (`"mpmc"`), or `None` if it is not one.
pub fn policy_name(flags: u32) -> Option<&'static str> {
    POLICIES.iter().find(|(_, f)| *f == flags).map(|(n, _)| *n)
}

/// Bytes per slot, for every policy: `u64 seq` and the element, padded to 8. (`policy` is
/// accepted for the callers that pass it; it does not change the slot.)
pub const fn slot_size(elem_size: u64, policy: u32) -> Option<u64> {
    let _ = policy;
    match elem_size.checked_add(SEQ_SIZE + 7) {
        Some(s) => Some(s & !7),
        None => None,
    }
}

const fn valid_policy(flags: u32) -> bool {
    matches!(flags, POLICY_SPSC | POLICY_MPSC | POLICY_MPMC)
}

/// The region of a queue declaration.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    let Some(elem) = &s.elem else {
        return Err(LayoutError::MissingElement { kind: Kind::Queue });
    };
    if !valid_policy(s.flags) {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Queue,
            parameter: "policy",
            rule: "must be spsc, mpsc or mpmc",
        });
    }
    if s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Queue,
            parameter: "initial",
            rule: "a queue takes only a capacity and a policy",
        });
    }
    region_for(Kind::Queue, elem.size(), s.capacity, s.flags)
}

/// The region of one queue of `capacity` slots of `elem_size`-byte elements under `policy`
/// (checked: a power of two in `MIN_CAPACITY..=MAX_CAPACITY`). `kind` names the declaring kind
/// in errors (an endpoint is made of two queues).
pub(crate) const fn region_for(
    kind: Kind,
    elem_size: u64,
    capacity: u64,
    policy: u32,
) -> Result<RegionLayout, LayoutError> {
    if capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || !capacity.is_power_of_two() {
        return Err(LayoutError::InvalidParameter {
            kind,
            parameter: "capacity",
            rule: "must be a power of two from 2 to 2^32",
        });
    }
    let Some(slot) = slot_size(elem_size, policy) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(slots) = slot.checked_mul(capacity) else {
        return Err(LayoutError::TooLarge);
    };
    let Some(end) = slots.checked_add(header::SLOTS) else {
        return Err(LayoutError::TooLarge);
    };
    match align_up(end, ALIGN) {
        Some(size) => Ok(RegionLayout { size, align: ALIGN }),
        None => Err(LayoutError::TooLarge),
    }
}

/// Validates the header of a queue whose region starts `base` bytes into `region`: everything the
/// runtime reads from it and then trusts must equal what the descriptor says.
pub(crate) fn validate_queue_header(
    h: &dyn HeaderWords,
    base: u64,
    capacity: u64,
    policy: u32,
    elem_size: u32,
) -> std::result::Result<(), String> {
    let cap = h.u64(base + header::CAPACITY);
    if cap != capacity {
        return Err(format!("the queue header says {cap} slots, the descriptor {capacity}"));
    }
    let p = h.u32(base + header::POLICY);
    if p != policy {
        let name = |f| policy_name(f).map_or_else(|| format!("{f:#x}"), str::to_owned);
        return Err(format!("the queue header says policy {}, the descriptor {}", name(p), name(policy)));
    }
    let e = h.u32(base + header::ELEM_SIZE);
    if e != elem_size {
        return Err(format!("the queue header says {e}-byte elements, the descriptor {elem_size}"));
    }
    let s = h.u32(base + header::SLOT_SIZE) as u64;
    let expected = slot_size(elem_size as u64, policy);
    if Some(s) != expected {
        return Err(format!("the queue header says {s}-byte slots, the layout {}", expected.unwrap_or(0)));
    }
    Ok(())
}

/// The queue header must repeat the descriptor.
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    validate_queue_header(h, 0, desc.capacity, desc.flags, desc.elem_size)
}

/// `describe_flags` for kind Queue.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    ("policy", policy_name(flags).map_or_else(|| format!("{flags:#x} (no policy)"), str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_follow_the_policy() {
        let spsc = region_for(Kind::Queue, 8, 1024, POLICY_SPSC).unwrap();
        assert_eq!(spsc, RegionLayout { size: 512 + 1024 * 16, align: 128 }, "every policy has sequenced slots");
        let mpmc = region_for(Kind::Queue, 8, 1024, POLICY_MPMC).unwrap();
        assert_eq!(mpmc.size, 512 + 1024 * 16);
        // 12-byte elements: slots are 8 + 12 padded to 24; the size rounds up to 128.
        let odd = region_for(Kind::Queue, 12, 2, POLICY_MPSC).unwrap();
        assert_eq!(odd.size, 640);
        assert_eq!(slot_size(12, POLICY_MPSC), Some(24));
        for bad in [0, 1, 3, 1000, MAX_CAPACITY * 2] {
            assert!(
                matches!(
                    region_for(Kind::Queue, 8, bad, POLICY_SPSC),
                    Err(LayoutError::InvalidParameter { parameter: "capacity", .. })
                ),
                "capacity {bad}"
            );
        }
        assert_eq!(region_for(Kind::Queue, u64::MAX / 2, 4, POLICY_MPMC), Err(LayoutError::TooLarge));
        let decl = StructureLayout {
            capacity: 4,
            flags: 7,
            ..StructureLayout::new("q", Kind::Queue, Some(TypeLayout::Primitive(Primitive::U32)))
        };
        assert!(matches!(region(&decl), Err(LayoutError::InvalidParameter { parameter: "policy", .. })));
    }

    #[test]
    fn policy_names() {
        assert_eq!(describe_flags(POLICY_MPSC), ("policy", "mpsc".to_owned()));
        assert_eq!(describe_flags(0).1, "0x0 (no policy)");
    }
}
