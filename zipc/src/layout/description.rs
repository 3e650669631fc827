//! zipc's self-description: the reserved table entry `__zipc`, always entry 0 of a segment zipc
//! made.
//!
//! It records, for every table entry, what the entry holds (kind, element size and alignment,
//! capacity, flags, layout fingerprint, a pointer to the element's type record), and it holds the
//! lock word that serialises table changes between processes, the process registry and the lanes
//! (`lane`) in which threads record their multi-producer/consumer queue operations. ZeroIPC
//! readers see it as one more named entry and skip it. A segment without it (made by ZeroIPC)
//! opens untyped.
//!
//! ```text
//! region offset  size  field
//! 0              4     u32 magic          0x6370697A ("zipc")
//! 4              4     u32 format_version 2
//! 8              4     u32 max_entries    equal to the table header's
//! 12             4     u32 max_processes  registry slots
//! 16             4     u32 creator_pid
//! 20             4     u32 lanes          lanes_for(max_processes)
//! 24             8     u64 created_ns     creation time, Unix nanoseconds
//! 32             8     u64 dirty_end      highest byte any allocation has written
//! 40             24    reserved
//! 64             4     u32 lock.word      0 free, else owner pid | 0x8000_0000 if waiters
//! 68             4     u32 lock.recoveries dead owners recovered from
//! 72             8     u64 lock.owner     owner pid << 40 | owner start time (40 bits)
//! 80             48    reserved
//! 128            16×p  process registry:  u32 pid, u32 refs, u64 start time
//! D              64×n  descriptors, D = align_up(128 + 16×p, 64), one per table entry
//! L              128×l lanes, L = align_up(D + 64×n, 128), l = lanes
//! ```
//!
//! A descriptor (64 bytes):
//!
//! ```text
//! 0   u32 kind         Kind::code, 0 for the reserved entry
//! 4   u32 flags        kind-specific (queue policy, ring overwrite, event reset mode)
//! 8   u64 capacity
//! 16  u64 fingerprint  FNV-1a 64 of the element's canonical layout string (0 if none)
//! 24  u32 elem_size
//! 28  u32 elem_align
//! 32  u64 type_offset  segment offset of the type record "Name\0canonical" (0 if none)
//! 40  u32 type_len
//! 44  u32 reserved
//! 48  i64 initial      kind-specific initial value
//! 56  i64 maximum      kind-specific maximum
//! ```

use super::kinds::Kind;
use super::structure::{LayoutError, Region, StructureLayout};
use super::types::{Primitive, TypeLayout};
use super::{lane, table};

/// Name of the reserved entry.
pub const NAME: &str = "__zipc";
/// Structure names may not start with this.
pub const RESERVED_PREFIX: &str = "__zipc";
/// `"zipc"` as a little-endian u32.
pub const MAGIC: u32 = 0x6370_697A;
/// zipc's own format version (the table's stays 2, for ZeroIPC's readers).
pub const FORMAT_VERSION: u32 = 2;
/// Alignment of the reserved region.
pub const ALIGN: u64 = 128;
/// Largest process registry.
pub const MAX_PROCESSES: u32 = 65536;
/// Process registry size when none is given.
pub const DEFAULT_MAX_PROCESSES: u32 = 64;
/// Longest type record accepted from a segment.
pub const MAX_TYPE_RECORD: u64 = 1 << 20;

/// Byte offsets of the region's header fields.
pub mod header {
    /// `u32 magic`
    pub const MAGIC: u64 = 0;
    /// `u32 format_version`
    pub const VERSION: u64 = 4;
    /// `u32 max_entries`
    pub const MAX_ENTRIES: u64 = 8;
    /// `u32 max_processes`
    pub const MAX_PROCESSES: u64 = 12;
    /// `u32 creator_pid`
    pub const CREATOR_PID: u64 = 16;
    /// `u32 lanes`
    pub const LANES: u64 = 20;
    /// `u64 created_ns`
    pub const CREATED_NS: u64 = 24;
    /// `u64 dirty_end`
    pub const DIRTY_END: u64 = 32;
    /// `u32 lock.word`
    pub const LOCK_WORD: u64 = 64;
    /// `u32 lock.recoveries`
    pub const LOCK_RECOVERIES: u64 = 68;
    /// `u64 lock.owner`
    pub const LOCK_OWNER: u64 = 72;
}

/// Offset of the process registry in the region.
pub const REGISTRY_OFFSET: u64 = 128;
/// Size of one registry slot.
pub const REGISTRY_SLOT_SIZE: u64 = 16;
/// Size of one descriptor.
pub const DESCRIPTOR_SIZE: u64 = 64;

/// Byte offsets of a descriptor's fields.
pub mod descriptor {
    /// `u32 kind`
    pub const KIND: u64 = 0;
    /// `u32 flags`
    pub const FLAGS: u64 = 4;
    /// `u64 capacity`
    pub const CAPACITY: u64 = 8;
    /// `u64 fingerprint`
    pub const FINGERPRINT: u64 = 16;
    /// `u32 elem_size`
    pub const ELEM_SIZE: u64 = 24;
    /// `u32 elem_align`
    pub const ELEM_ALIGN: u64 = 28;
    /// `u64 type_offset`
    pub const TYPE_OFFSET: u64 = 32;
    /// `u32 type_len`
    pub const TYPE_LEN: u64 = 40;
    /// `i64 initial`
    pub const INITIAL: u64 = 48;
    /// `i64 maximum`
    pub const MAXIMUM: u64 = 56;
}

/// Offset of the descriptor array in the region.
pub const fn descriptors_offset(max_processes: u32) -> u64 {
    let end = REGISTRY_OFFSET + REGISTRY_SLOT_SIZE * max_processes as u64;
    end.div_ceil(DESCRIPTOR_SIZE) * DESCRIPTOR_SIZE
}

/// Offset of the lanes in the region.
pub const fn lanes_offset(max_entries: u32, max_processes: u32) -> u64 {
    let end = descriptors_offset(max_processes) + DESCRIPTOR_SIZE * max_entries as u64;
    end.div_ceil(lane::LANE_SIZE) * lane::LANE_SIZE
}

/// Size and alignment of the reserved region.
pub const fn region(max_entries: u32, max_processes: u32) -> Region {
    let lanes = lane::lanes_for(max_processes) as u64;
    Region { size: lanes_offset(max_entries, max_processes) + lane::LANE_SIZE * lanes, align: ALIGN }
}

/// The bump pointer of a fresh segment: the reserved region placed right after the table.
pub const fn first_free_offset(max_entries: u32, max_processes: u32) -> u64 {
    let start = table::table_end(max_entries);
    let align = ALIGN;
    let offset = start.div_ceil(align) * align;
    offset + region(max_entries, max_processes).size
}

/// What the self-description says about one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// The structure's kind.
    pub kind: Kind,
    /// Kind-specific flags.
    pub flags: u32,
    /// Capacity (see [`StructureLayout`] for its meaning per kind).
    pub capacity: u64,
    /// Layout fingerprint of the element type (0 without element).
    pub fingerprint: u64,
    /// Element size in bytes (0 without element).
    pub elem_size: u32,
    /// Element alignment (0 without element).
    pub elem_align: u32,
    /// The element type's name as declared (`"Reading"`), if any.
    pub type_name: Option<String>,
    /// The element type's canonical layout string, if any.
    pub canonical: Option<String>,
    /// Kind-specific initial value.
    pub initial: i64,
    /// Kind-specific maximum.
    pub maximum: i64,
}

/// Where a segment's self-description lives, once validated (crate-internal: the offsets of its parts).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Description {
    /// Segment offset of the reserved region.
    pub offset: u64,
    /// Table capacity.
    pub max_entries: u32,
    /// Registry slots.
    pub max_processes: u32,
}

impl Description {
    /// Segment offset of field `field` of the region header.
    pub fn field(&self, field: u64) -> u64 {
        self.offset + field
    }

    /// Segment offset of the descriptor of entry `index`.
    pub fn descriptor_offset(&self, index: u32) -> u64 {
        self.offset + descriptors_offset(self.max_processes) + DESCRIPTOR_SIZE * index as u64
    }

    /// Segment offset of the first lane.
    pub fn lanes_offset(&self) -> u64 {
        self.offset + lanes_offset(self.max_entries, self.max_processes)
    }

    /// Number of lanes.
    pub fn lanes(&self) -> u32 {
        lane::lanes_for(self.max_processes)
    }
}

/// The region a descriptor implies, computed by the layout model from the recorded numbers.
pub fn region_of(desc: &Descriptor, name: &str) -> std::result::Result<Region, LayoutError> {
    // The model needs an element layout only for its size and alignment; stand in an array of
    // bytes with the recorded size when the element is a struct we cannot rebuild.
    let stand_in_elem;
    let stand_in_arr;
    let elem = if desc.kind.has_element() {
        // A primitive element is rebuilt exactly (atomics accept only some primitives).
        match desc.canonical.as_deref().and_then(Primitive::from_name) {
            Some(p) => Some(TypeLayout::Primitive(p)),
            None => {
                stand_in_elem = byte_elem(desc.elem_align);
                stand_in_arr =
                    TypeLayout::Array { elem: &stand_in_elem, len: (desc.elem_size / desc.elem_align) as u64 };
                Some(stand_in_arr)
            }
        }
    } else {
        None
    };
    let decl = StructureLayout {
        name,
        doc: "",
        kind: desc.kind,
        elem,
        capacity: desc.capacity,
        flags: desc.flags,
        initial: desc.initial,
        maximum: desc.maximum,
    };
    decl.region()
}

fn byte_elem(align: u32) -> TypeLayout<'static> {
    use Primitive::*;
    TypeLayout::Primitive(match align {
        1 => U8,
        2 => U16,
        4 => U32,
        _ => U64,
    })
}
