//! A whole segment as declared ([`SegmentLayout`]) and where each structure goes in it
//! ([`place`]): the one placement rule the allocator and the derive's exact size share.

use super::description;
use super::structure::{LayoutError, Region, StructureLayout};
use super::table;

/// Where a structure goes when the segment's bump pointer is at some offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Offset of the region (the table entry's `offset`).
    pub offset: u64,
    /// Size of the region (the table entry's `size`).
    pub size: u64,
    /// Offset of the type record (0 when there is none).
    pub type_offset: u64,
    /// Length of the type record.
    pub type_len: u64,
    /// The bump pointer after this structure.
    pub end: u64,
}

/// Places a structure at bump offset `next`: the region at the next offset aligned for it, its
/// type record right after it. The one placement rule, used by the allocator and by
/// [`SegmentLayout::size`].
pub const fn place(next: u64, s: &StructureLayout<'_>) -> Result<Placement, LayoutError> {
    let region = match s.region() {
        Ok(r) => r,
        Err(e) => return Err(e),
    };
    place_region(next, region, s.type_record_len())
}

/// [`place`] for a region whose size is already known.
pub const fn place_region(next: u64, region: Region, type_len: u64) -> Result<Placement, LayoutError> {
    let offset = match align_up(next, region.align) {
        Some(o) => o,
        None => return Err(LayoutError::TooLarge),
    };
    let type_offset = match offset.checked_add(region.size) {
        Some(o) => o,
        None => return Err(LayoutError::TooLarge),
    };
    let end = match type_offset.checked_add(type_len) {
        Some(e) => e,
        None => return Err(LayoutError::TooLarge),
    };
    Ok(Placement { offset, size: region.size, type_offset: if type_len == 0 { 0 } else { type_offset }, type_len, end })
}

/// Rounds `x` up to a multiple of `align` (a power of two); `None` on overflow.
pub const fn align_up(x: u64, align: u64) -> Option<u64> {
    let mask = align - 1;
    match x.checked_add(mask) {
        Some(v) => Some(v & !mask),
        None => None,
    }
}

pub(crate) const fn align_up_sat(x: u64, align: u64) -> u64 {
    match align_up(x, align) {
        Some(v) => v,
        None => u64::MAX,
    }
}

/// A whole segment as declared: table capacity and its structures in creation order.
#[derive(Clone, Copy, Debug)]
pub struct SegmentLayout<'a> {
    /// The default segment name (`"/telemetry"`), if the declaration gives one.
    pub name: Option<&'a str>,
    /// Table capacity, including zipc's reserved entry.
    pub max_entries: u32,
    /// Slots in the process registry.
    pub max_processes: u32,
    /// The structures, in creation order.
    pub structures: &'a [StructureLayout<'a>],
}

impl<'a> SegmentLayout<'a> {
    /// Checks table capacity, names and every structure's parameters: [`check_table`] and
    /// [`check_structure`] for each structure.
    ///
    /// [`check_table`]: Self::check_table
    /// [`check_structure`]: Self::check_structure
    pub const fn validate(&self) -> Result<(), LayoutError> {
        if let Err(e) = self.check_table() {
            return Err(e);
        }
        let mut i = 0;
        while i < self.structures.len() {
            if let Err(e) = self.check_structure(i) {
                return Err(e);
            }
            i += 1;
        }
        Ok(())
    }

    /// The segment-wide rules: `max_entries` and `max_processes` in range, and a table entry for
    /// every structure plus zipc's own.
    pub const fn check_table(&self) -> Result<(), LayoutError> {
        if self.max_entries < table::MIN_ENTRIES || self.max_entries > table::MAX_ENTRIES {
            return Err(LayoutError::MaxEntries { value: self.max_entries });
        }
        if self.max_processes == 0 || self.max_processes > description::MAX_PROCESSES {
            return Err(LayoutError::MaxProcesses { value: self.max_processes });
        }
        let needed = self.structures.len() as u64 + 1;
        if needed > self.max_entries as u64 {
            return Err(LayoutError::TooManyStructures { needed, max_entries: self.max_entries });
        }
        Ok(())
    }

    /// The rules for structure `index`: its name and parameters ([`StructureLayout::region`]),
    /// and a name no earlier structure has. (The derive reports each structure's error at its
    /// field.) Panics if `index` is out of range.
    pub const fn check_structure(&self, index: usize) -> Result<(), LayoutError> {
        if let Err(e) = self.structures[index].region() {
            return Err(e);
        }
        match self.first_with_name(index) {
            Some(j) if j < index => Err(LayoutError::DuplicateName { index }),
            _ => Ok(()),
        }
    }

    /// Index of the first structure with the same name as structure `index` (possibly `index`
    /// itself). Panics if `index` is out of range.
    pub const fn first_with_name(&self, index: usize) -> Option<usize> {
        let mut j = 0;
        while j < self.structures.len() {
            if str_eq(self.structures[index].name, self.structures[j].name) {
                return Some(j);
            }
            j += 1;
        }
        None
    }

    /// The exact number of bytes the segment uses once every structure is created in order
    /// (the file is this rounded up to the page size). Computable at compile time.
    pub const fn size(&self) -> Result<u64, LayoutError> {
        if let Err(e) = self.validate() {
            return Err(e);
        }
        let mut next = description::first_free_offset(self.max_entries, self.max_processes);
        let mut i = 0;
        while i < self.structures.len() {
            match place(next, &self.structures[i]) {
                Ok(p) => next = p.end,
                Err(e) => return Err(e),
            }
            i += 1;
        }
        Ok(next)
    }

    /// The memory map: where each structure goes, in order. The reserved entry comes first.
    pub fn placements(&self) -> Result<Vec<(String, Placement)>, LayoutError> {
        self.validate()?;
        let desc = description::region(self.max_entries, self.max_processes);
        let first = place_region(table::table_end(self.max_entries), desc, 0)?;
        let mut out = vec![(description::NAME.to_owned(), first)];
        let mut next = first.end;
        for s in self.structures {
            let p = place(next, s)?;
            next = p.end;
            out.push((s.name.to_owned(), p));
        }
        Ok(out)
    }

    /// Looks a structure up by name.
    pub fn structure(&self, name: &str) -> Option<&StructureLayout<'a>> {
        self.structures.iter().find(|s| s.name == name)
    }
}

/// `a == b`, in `const`.
pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
