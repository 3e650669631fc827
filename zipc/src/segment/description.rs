//! Writing, reading and validating zipc's self-description (the `__zipc` entry) in a mapped
//! segment. Its format — fields, descriptors, offsets — is [`crate::layout::description`].

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
pub(crate) use crate::layout::description::*;
use crate::layout::{self, Kind};
use crate::segment::lane;
use crate::segment::mapping::Mapping;
use crate::segment::table;

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
