//! Reading, validating and writing the ZeroIPC v2 header and table of a mapped segment. The
//! format — offsets, sizes, limits — is [`crate::layout::table`].

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
pub(crate) use crate::layout::table::*;
use crate::segment::mapping::Mapping;

/// The header as read and validated at open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub max_entries: u32,
    pub memory_size: u64,
}

/// One table entry, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Index in the table.
    pub index: u32,
    /// The structure's name.
    pub name: String,
    /// Offset of its region from the segment start.
    pub offset: u64,
    /// Size of its region.
    pub size: u64,
}

/// Writes a fresh header into a zero-filled, unpublished mapping.
pub(crate) fn init_header(map: &Mapping, max_entries: u32, next_offset: u64) {
    map.u32_at(header::VERSION).store(VERSION, Ordering::Relaxed);
    map.u32_at(header::ENTRY_COUNT).store(0, Ordering::Relaxed);
    map.u32_at(header::MAX_ENTRIES).store(max_entries, Ordering::Relaxed);
    map.u64_at(header::MEMORY_SIZE).store(map.len(), Ordering::Relaxed);
    map.u64_at(header::NEXT_OFFSET).store(next_offset, Ordering::Relaxed);
    map.u32_at(header::MAGIC).store(MAGIC, Ordering::Release);
}

/// Reads and validates the header: magic, version, table capacity, sizes against the mapping.
pub(crate) fn read_header(map: &Mapping) -> Result<Header> {
    let name = map.name();
    let magic = map.u32_at(header::MAGIC).load(Ordering::Acquire);
    if magic != MAGIC {
        return Err(Error::corrupt(
            name,
            "header.magic",
            format!("found {magic:#010x}, expected {MAGIC:#010x} (\"ZIPM\"): not a ZeroIPC/zipc segment"),
        ));
    }
    let version = map.u32_at(header::VERSION).load(Ordering::Relaxed);
    if version != VERSION {
        return Err(Error::corrupt(
            name,
            "header.version",
            format!("table format version {version}; this zipc reads version {VERSION}"),
        ));
    }
    let max_entries = map.u32_at(header::MAX_ENTRIES).load(Ordering::Relaxed);
    if !(MIN_ENTRIES..=MAX_ENTRIES).contains(&max_entries) {
        return Err(Error::corrupt(
            name,
            "header.max_entries",
            format!("{max_entries} is outside {MIN_ENTRIES}..={MAX_ENTRIES}"),
        ));
    }
    let memory_size = map.u64_at(header::MEMORY_SIZE).load(Ordering::Relaxed);
    if memory_size > map.len() {
        return Err(Error::corrupt(
            name,
            "header.memory_size",
            format!("claims {memory_size} bytes but the file has {}", map.len()),
        ));
    }
    if table_end(max_entries) > memory_size {
        return Err(Error::corrupt(
            name,
            "header.max_entries",
            format!(
                "a table of {max_entries} entries ends at byte {}, beyond the segment's {memory_size} bytes",
                table_end(max_entries)
            ),
        ));
    }
    Ok(Header { max_entries, memory_size })
}

/// The number of published entries, checked against the capacity.
pub(crate) fn entry_count(map: &Mapping, h: &Header) -> Result<u32> {
    let count = map.u32_at(header::ENTRY_COUNT).load(Ordering::Acquire);
    if count > h.max_entries {
        return Err(Error::corrupt(
            map.name(),
            "header.entry_count",
            format!("{count} entries in a table of {}", h.max_entries),
        ));
    }
    Ok(count)
}

/// The bump pointer, checked against the table and the segment size.
pub(crate) fn next_offset(map: &Mapping, h: &Header) -> Result<u64> {
    let next = map.u64_at(header::NEXT_OFFSET).load(Ordering::Acquire);
    if next < table_end(h.max_entries) || next > h.memory_size {
        return Err(Error::corrupt(
            map.name(),
            "header.next_offset",
            format!("{next} is outside the data area {}..={}", table_end(h.max_entries), h.memory_size),
        ));
    }
    Ok(next)
}

/// Reads entry `index` (which must be below a validated `entry_count`) and validates it: a
/// NUL-terminated, non-empty name, and a region inside the data area.
pub(crate) fn read_entry(map: &Mapping, h: &Header, index: u32) -> Result<Entry> {
    let base = entry_offset(index);
    let field = |f: &str| format!("entry[{index}].{f}");
    let raw = map.read_bytes(base + entry::NAME, NAME_FIELD as u64);
    let len = raw
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| Error::corrupt(map.name(), field("name"), "the name is not NUL-terminated within 32 bytes"))?;
    if len == 0 {
        return Err(Error::corrupt(map.name(), field("name"), "the name is empty"));
    }
    let name = String::from_utf8(raw[..len].to_vec())
        .map_err(|_| Error::corrupt(map.name(), field("name"), "the name is not UTF-8"))?;
    let offset = map.u64_at(base + entry::OFFSET).load(Ordering::Relaxed);
    let size = map.u64_at(base + entry::SIZE).load(Ordering::Relaxed);
    let data_start = table_end(h.max_entries);
    match offset.checked_add(size) {
        Some(end) if offset >= data_start && end <= h.memory_size => {}
        _ => {
            return Err(Error::corrupt(
                map.name(),
                field("offset"),
                format!(
                    "structure {name:?} claims bytes {offset}+{size}, outside the data area {data_start}..{}",
                    h.memory_size
                ),
            ))
        }
    }
    Ok(Entry { index, name, offset, size })
}

/// Writes entry `index` (not yet published: the caller release-stores `entry_count` after).
pub(crate) fn write_entry(map: &Mapping, index: u32, name: &str, offset: u64, size: u64) {
    let base = entry_offset(index);
    let mut field = [0u8; NAME_FIELD];
    field[..name.len()].copy_from_slice(name.as_bytes());
    map.write_bytes(base + entry::NAME, &field);
    map.u64_at(base + entry::OFFSET).store(offset, Ordering::Relaxed);
    map.u64_at(base + entry::SIZE).store(size, Ordering::Relaxed);
}

/// Publishes entries up to `count` and moves the bump pointer: `next_offset` first, then
/// `entry_count` with release ordering, so a reader that sees the count sees everything.
pub(crate) fn publish(map: &Mapping, count: u32, next_offset: u64) {
    map.u64_at(header::NEXT_OFFSET).store(next_offset, Ordering::Release);
    map.u32_at(header::ENTRY_COUNT).store(count, Ordering::Release);
}
