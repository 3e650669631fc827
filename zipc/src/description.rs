//! zipc's self-description: the reserved table entry `__zipc`, always entry 0 of a segment zipc
//! made.
//!
//! It records, for every table entry, what the entry holds (kind, element size and alignment,
//! capacity, flags, layout fingerprint, a pointer to the element's type record), and it holds the
//! lock word that serialises table changes between processes, the process registry and the lanes
//! (`lane.rs`) in which threads record their multi-producer/consumer queue operations. ZeroIPC
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

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::lane;
use crate::layout::{self, Kind, Region};
use crate::mapping::Mapping;
use crate::table;

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
    /// Capacity (see [`layout::StructureLayout`] for its meaning per kind).
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

/// Where a segment's self-description lives, once validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Description {
    /// Segment offset of the reserved region.
    pub offset: u64,
    pub max_entries: u32,
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

/// Writes a fresh reserved region at `offset` (zero-filled, unpublished).
pub(crate) fn init(map: &Mapping, offset: u64, max_entries: u32, max_processes: u32) -> Description {
    let d = Description { offset, max_entries, max_processes };
    map.u32_at(d.field(header::VERSION)).store(FORMAT_VERSION, Ordering::Relaxed);
    map.u32_at(d.field(header::MAX_ENTRIES)).store(max_entries, Ordering::Relaxed);
    map.u32_at(d.field(header::MAX_PROCESSES)).store(max_processes, Ordering::Relaxed);
    map.u32_at(d.field(header::CREATOR_PID)).store(std::process::id(), Ordering::Relaxed);
    map.u32_at(d.field(header::LANES)).store(lane::lanes_for(max_processes), Ordering::Relaxed);
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|t| t.as_nanos() as u64).unwrap_or(0);
    map.u64_at(d.field(header::CREATED_NS)).store(now, Ordering::Relaxed);
    let end = offset + region(max_entries, max_processes).size;
    map.u64_at(d.field(header::DIRTY_END)).store(end, Ordering::Relaxed);
    map.u32_at(d.field(header::MAGIC)).store(MAGIC, Ordering::Release);
    d
}

/// Validates the reserved region described by table entry 0.
pub(crate) fn validate(map: &Mapping, table: &table::Header, entry: &table::Entry) -> Result<Description> {
    let name = map.name();
    let at = |f: u64| entry.offset + f;
    let fail = |field: &str, detail: String| Err(Error::corrupt(name, format!("{NAME}.{field}"), detail));
    if entry.offset % ALIGN != 0 || entry.size < REGISTRY_OFFSET {
        return fail("region", format!("region {}+{} is misaligned or too small", entry.offset, entry.size));
    }
    let magic = map.u32_at(at(header::MAGIC)).load(Ordering::Acquire);
    if magic != MAGIC {
        return fail("magic", format!("found {magic:#010x}, expected {MAGIC:#010x}"));
    }
    let version = map.u32_at(at(header::VERSION)).load(Ordering::Relaxed);
    if version != FORMAT_VERSION {
        return fail("format_version", format!("zipc format {version}; this zipc reads format {FORMAT_VERSION}"));
    }
    let max_entries = map.u32_at(at(header::MAX_ENTRIES)).load(Ordering::Relaxed);
    if max_entries != table.max_entries {
        return fail("max_entries", format!("{max_entries}, but the table holds {}", table.max_entries));
    }
    let max_processes = map.u32_at(at(header::MAX_PROCESSES)).load(Ordering::Relaxed);
    if max_processes == 0 || max_processes > MAX_PROCESSES {
        return fail("max_processes", format!("{max_processes} is outside 1..={MAX_PROCESSES}"));
    }
    let lanes = map.u32_at(at(header::LANES)).load(Ordering::Relaxed);
    if lanes != lane::lanes_for(max_processes) {
        return fail(
            "lanes",
            format!("{lanes}, but {max_processes} registry slots come with {}", lane::lanes_for(max_processes)),
        );
    }
    let expected = region(max_entries, max_processes).size;
    if entry.size != expected {
        return fail("region", format!("{} bytes, expected {expected}", entry.size));
    }
    Ok(Description { offset: entry.offset, max_entries, max_processes })
}

/// Writes the descriptor of entry `index` and its type record (not yet published).
pub(crate) fn write_descriptor(
    map: &Mapping,
    d: &Description,
    index: u32,
    decl: &layout::StructureLayout<'_>,
    placement: &layout::Placement,
) {
    let at = d.descriptor_offset(index);
    map.write_bytes(at, &[0u8; DESCRIPTOR_SIZE as usize]);
    map.u32_at(at + descriptor::KIND).store(decl.kind.code(), Ordering::Relaxed);
    map.u32_at(at + descriptor::FLAGS).store(decl.flags, Ordering::Relaxed);
    map.u64_at(at + descriptor::CAPACITY).store(decl.capacity, Ordering::Relaxed);
    map.u64_at(at + descriptor::INITIAL).store(decl.initial as u64, Ordering::Relaxed);
    map.u64_at(at + descriptor::MAXIMUM).store(decl.maximum as u64, Ordering::Relaxed);
    if let Some(t) = &decl.elem {
        let record = layout::type_record(t);
        debug_assert_eq!(record.len() as u64, placement.type_len);
        map.write_bytes(placement.type_offset, &record);
        map.u64_at(at + descriptor::FINGERPRINT).store(layout::fingerprint(t), Ordering::Relaxed);
        map.u32_at(at + descriptor::ELEM_SIZE).store(t.size() as u32, Ordering::Relaxed);
        map.u32_at(at + descriptor::ELEM_ALIGN).store(t.align() as u32, Ordering::Relaxed);
        map.u64_at(at + descriptor::TYPE_OFFSET).store(placement.type_offset, Ordering::Relaxed);
        map.u32_at(at + descriptor::TYPE_LEN).store(placement.type_len as u32, Ordering::Relaxed);
    }
}

/// Reads and validates the descriptor of published entry `entry`: a known kind, a sane element
/// size and alignment, a type record inside the segment whose hash is the fingerprint, and a
/// region size equal to what the layout model computes from the descriptor.
pub(crate) fn read_descriptor(
    map: &Mapping,
    table: &table::Header,
    d: &Description,
    entry: &table::Entry,
) -> Result<Descriptor> {
    let name = map.name();
    let at = d.descriptor_offset(entry.index);
    let field = |f: &str| format!("{NAME}.descriptor[{}].{f}", entry.index);
    let fail = |f: &str, detail: String| Err(Error::corrupt(name, field(f), detail));
    let code = map.u32_at(at + descriptor::KIND).load(Ordering::Relaxed);
    let Some(kind) = Kind::from_code(code) else {
        return fail("kind", format!("unknown kind code {code} for structure {:?}", entry.name));
    };
    let flags = map.u32_at(at + descriptor::FLAGS).load(Ordering::Relaxed);
    let capacity = map.u64_at(at + descriptor::CAPACITY).load(Ordering::Relaxed);
    let fingerprint = map.u64_at(at + descriptor::FINGERPRINT).load(Ordering::Relaxed);
    let elem_size = map.u32_at(at + descriptor::ELEM_SIZE).load(Ordering::Relaxed);
    let elem_align = map.u32_at(at + descriptor::ELEM_ALIGN).load(Ordering::Relaxed);
    let type_offset = map.u64_at(at + descriptor::TYPE_OFFSET).load(Ordering::Relaxed);
    let type_len = map.u32_at(at + descriptor::TYPE_LEN).load(Ordering::Relaxed) as u64;
    let initial = map.u64_at(at + descriptor::INITIAL).load(Ordering::Relaxed) as i64;
    let maximum = map.u64_at(at + descriptor::MAXIMUM).load(Ordering::Relaxed) as i64;

    let (mut type_name, mut canonical) = (None, None);
    if kind.has_element() {
        if !matches!(elem_align, 1 | 2 | 4 | 8) || elem_size == 0 || elem_size % elem_align != 0 {
            return fail("elem_size", format!("element size {elem_size} / alignment {elem_align} is impossible"));
        }
        let data_start = table::table_end(table.max_entries);
        let in_bounds =
            type_offset.checked_add(type_len).is_some_and(|end| type_offset >= data_start && end <= table.memory_size);
        if type_len == 0 || type_len > MAX_TYPE_RECORD || !in_bounds {
            return fail("type_offset", format!("type record {type_offset}+{type_len} is outside the segment"));
        }
        let bytes = map.read_bytes(type_offset, type_len);
        let Some(nul) = bytes.iter().position(|&b| b == 0) else {
            return fail("type_record", "the type record has no NUL separator".to_owned());
        };
        let (Ok(n), Ok(c)) = (std::str::from_utf8(&bytes[..nul]), std::str::from_utf8(&bytes[nul + 1..])) else {
            return fail("type_record", "the type record is not UTF-8".to_owned());
        };
        if layout::fnv1a64(c.as_bytes()) != fingerprint {
            return fail("fingerprint", format!("{fingerprint:#018x} is not the hash of the recorded layout {c:?}"));
        }
        type_name = Some(n.to_owned());
        canonical = Some(c.to_owned());
    } else if elem_size != 0 || type_len != 0 || fingerprint != 0 {
        return fail("elem_size", format!("a {kind} has no element type, but one is recorded"));
    }
    let desc = Descriptor {
        kind,
        flags,
        capacity,
        fingerprint,
        elem_size,
        elem_align,
        type_name,
        canonical,
        initial,
        maximum,
    };
    let expected = region_of(&desc, &entry.name)
        .map_err(|e| Error::corrupt(name, field("capacity"), format!("structure {:?}: {e}", entry.name)))?;
    if expected.size != entry.size || entry.offset % expected.align != 0 {
        return fail(
            "capacity",
            format!(
                "structure {:?} occupies {}+{} bytes, but its descriptor implies {} bytes aligned to {}",
                entry.name, entry.offset, entry.size, expected.size, expected.align
            ),
        );
    }
    Ok(desc)
}

/// The region a descriptor implies, computed by the layout model from the recorded numbers.
pub(crate) fn region_of(desc: &Descriptor, name: &str) -> std::result::Result<Region, layout::LayoutError> {
    // The model needs an element layout only for its size and alignment; stand in an array of
    // bytes with the recorded size when the element is a struct we cannot rebuild.
    let stand_in_elem;
    let stand_in_arr;
    let elem = if desc.kind.has_element() {
        // A primitive element is rebuilt exactly (atomics accept only some primitives).
        match desc.canonical.as_deref().and_then(layout::Primitive::from_name) {
            Some(p) => Some(layout::TypeLayout::Primitive(p)),
            None => {
                stand_in_elem = byte_elem(desc.elem_align);
                stand_in_arr =
                    layout::TypeLayout::Array { elem: &stand_in_elem, len: (desc.elem_size / desc.elem_align) as u64 };
                Some(stand_in_arr)
            }
        }
    } else {
        None
    };
    let decl = layout::StructureLayout {
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

fn byte_elem(align: u32) -> layout::TypeLayout<'static> {
    use layout::Primitive::*;
    layout::TypeLayout::Primitive(match align {
        1 => U8,
        2 => U16,
        4 => U32,
        _ => U64,
    })
}
