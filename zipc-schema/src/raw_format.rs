//! The numbers the library-free readers need: the generated C header's `zipc_raw_*` functions
//! (nothing but libc) and the generated Python's `open_mapped` (nothing but numpy) find an array
//! or an atomic in a segment they mapped themselves. They read the table, the self-description's
//! header and one descriptor; every offset, size and magic number they use is printed from the
//! zipc crate here, once for both languages (`docs/FORMAT.md` describes the fields).

use zipc::description as d;
use zipc::table as t;

/// One constant: its name without the language's prefix, its value, what it is, and whether it
/// reads best in hex.
pub(crate) struct Constant {
    pub name: &'static str,
    pub value: u64,
    pub doc: &'static str,
    pub hex: bool,
}

const fn c(name: &'static str, value: u64, doc: &'static str) -> Constant {
    Constant { name, value, doc, hex: false }
}

/// Every constant, in the order the readers use them.
pub(crate) fn constants() -> [Constant; 22] {
    [
        Constant { hex: true, ..c("TABLE_MAGIC", t::MAGIC as u64, "segment header: magic") },
        c("TABLE_VERSION", t::VERSION as u64, "segment header: version"),
        c("HEADER_SIZE", t::HEADER_SIZE, "segment header: bytes"),
        c("ENTRY_SIZE", t::ENTRY_SIZE, "table entry: bytes"),
        c("ENTRY_COUNT_AT", t::header::ENTRY_COUNT, "header field: u32 entry_count"),
        c("MAX_ENTRIES_AT", t::header::MAX_ENTRIES, "header field: u32 max_entries"),
        c("MEMORY_SIZE_AT", t::header::MEMORY_SIZE, "header field: u64 memory_size"),
        c("ENTRY_OFFSET_AT", t::entry::OFFSET, "entry field: u64 offset"),
        c("ENTRY_SIZE_AT", t::entry::SIZE, "entry field: u64 size"),
        Constant { hex: true, ..c("SELF_MAGIC", d::MAGIC as u64, "self-description: magic") },
        c("FORMAT_VERSION", d::FORMAT_VERSION as u64, "self-description: zipc's format"),
        c("SELF_VERSION_AT", d::header::VERSION, "self-description field: u32 format_version"),
        c("SELF_MAX_PROCESSES_AT", d::header::MAX_PROCESSES, "self-description field: u32 max_processes"),
        c("DESCRIPTOR_SIZE", d::DESCRIPTOR_SIZE, "descriptor: bytes"),
        c("KIND_AT", d::descriptor::KIND, "descriptor field: u32 kind"),
        c("CAPACITY_AT", d::descriptor::CAPACITY, "descriptor field: u64 capacity"),
        c("FINGERPRINT_AT", d::descriptor::FINGERPRINT, "descriptor field: u64 fingerprint"),
        c("ELEM_SIZE_AT", d::descriptor::ELEM_SIZE, "descriptor field: u32 elem_size"),
        c("ARRAY_DATA_AT", zipc::array::HEADER_SIZE, "array region: the elements (after u64 capacity)"),
        c("ATOMIC_SIZE", zipc::atomic::REGION_SIZE, "atomic region: bytes (the value at 0)"),
        c("ATOMIC_ALIGN", 8, "atomic region: alignment"),
        c("NAME_FIELD", t::NAME_FIELD as u64, "entry field: the NUL-terminated name's bytes"),
    ]
}

/// Where a segment's descriptors start in its self-description, for a registry of
/// `max_processes` (the generated code's `DESCRIPTORS_OFFSET`).
pub(crate) fn descriptors_offset(max_processes: u32) -> u64 {
    d::descriptors_offset(max_processes)
}
