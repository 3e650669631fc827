//! The format of an Endpoint: two SPSC queues, A→B then B→A, in one region.

use super::prelude::*;

/// What an Endpoint is: a duplex channel of two SPSC queues.
pub const SPEC: KindSpec = KindSpec { name: "Endpoint", article: "an", has_element: true, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] = &[CAPACITY];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(d: &Descriptor) -> String {
    d.capacity.to_string()
}

/// Size of one direction's queue region.
const fn direction_region(elem_size: u64, capacity: u64) -> Result<RegionLayout, LayoutError> {
    super::queue::region_for(Kind::Endpoint, elem_size, capacity, super::queue::POLICY_SPSC)
}

/// The region of an endpoint declaration: two SPSC queue regions.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    let Some(elem) = &s.elem else {
        return Err(LayoutError::MissingElement { kind: Kind::Endpoint });
    };
    if s.flags != 0 || s.initial != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Endpoint,
            parameter: "flags",
            rule: "an endpoint takes only a capacity",
        });
    }
    let q = match direction_region(elem.size(), s.capacity) {
        Ok(q) => q,
        Err(e) => return Err(e),
    };
    match q.size.checked_mul(2) {
        Some(size) => Ok(RegionLayout { size, align: q.align }),
        None => Err(LayoutError::TooLarge),
    }
}

/// Offset of the B → A queue in the region.
pub(crate) fn second_offset(elem_size: u64, capacity: u64) -> u64 {
    direction_region(elem_size, capacity).map(|r| r.size).expect("validated endpoint layout")
}

/// Both queue headers must match the descriptor.
pub(crate) fn check_header(h: &dyn HeaderWords, desc: &Descriptor) -> std::result::Result<(), String> {
    let second = second_offset(desc.elem_size as u64, desc.capacity);
    for (base, dir) in [(0, "A → B"), (second, "B → A")] {
        super::queue::validate_queue_header(h, base, desc.capacity, super::queue::POLICY_SPSC, desc.elem_size)
            .map_err(|e| format!("{dir} queue: {e}"))?;
    }
    Ok(())
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
