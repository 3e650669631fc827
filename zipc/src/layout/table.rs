//! The segment header and metadata table, byte-compatible with ZeroIPC format v2.
//!
//! ```text
//! offset  size  field
//! 0       4     u32 magic        0x5A49504D ("ZIPM")
//! 4       4     u32 version      2
//! 8       4     u32 entry_count  published entries (release-stored last)
//! 12      4     u32 max_entries  table capacity
//! 16      8     u64 memory_size  segment size in bytes
//! 24      8     u64 next_offset  bump pointer: first free byte
//! 32      48×n  entries: char name[32] (NUL-terminated), u64 offset, u64 size
//! ```
//!
//! All integers little-endian. Entries are appended and never removed; an entry at index `i` is
//! visible once `entry_count > i`, and everything it describes was written before that store
//! (see `segment/mod.rs` for the publication protocol).

/// `"ZIPM"` as a little-endian u32.
pub const MAGIC: u32 = 0x5A49_504D;
/// ZeroIPC table format version.
pub const VERSION: u32 = 2;
/// Size of the header.
pub const HEADER_SIZE: u64 = 32;
/// Size of one table entry.
pub const ENTRY_SIZE: u64 = 48;
/// Size of the name field of an entry (names are NUL-terminated, so at most 31 bytes).
pub const NAME_FIELD: usize = 32;
/// Longest structure name.
pub const MAX_NAME_LEN: usize = NAME_FIELD - 1;
/// Smallest table (zipc's reserved entry counts).
pub const MIN_ENTRIES: u32 = 1;
/// Largest table.
pub const MAX_ENTRIES: u32 = 4096;
/// Table capacity when none is given.
pub const DEFAULT_MAX_ENTRIES: u32 = 64;

/// Byte offsets of the header fields.
pub mod header {
    /// `u32 magic`
    pub const MAGIC: u64 = 0;
    /// `u32 version`
    pub const VERSION: u64 = 4;
    /// `u32 entry_count`
    pub const ENTRY_COUNT: u64 = 8;
    /// `u32 max_entries`
    pub const MAX_ENTRIES: u64 = 12;
    /// `u64 memory_size`
    pub const MEMORY_SIZE: u64 = 16;
    /// `u64 next_offset`
    pub const NEXT_OFFSET: u64 = 24;
}

/// Byte offsets of the fields of an entry, from the entry's start.
pub mod entry {
    /// `char name[32]`
    pub const NAME: u64 = 0;
    /// `u64 offset`
    pub const OFFSET: u64 = 32;
    /// `u64 size`
    pub const SIZE: u64 = 40;
}

/// Offset of entry `index`.
pub const fn entry_offset(index: u32) -> u64 {
    HEADER_SIZE + index as u64 * ENTRY_SIZE
}

/// First byte after a table of `max_entries` entries.
pub const fn table_end(max_entries: u32) -> u64 {
    entry_offset(max_entries)
}
