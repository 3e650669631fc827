//! C's struct rules: where a field goes ([`repr_c`]) and where a struct has implicit padding
//! ([`first_gap`], [`gap_before`], [`check_struct`]), which a shared type must not have.

use super::message::Message;
use super::segment::align_up_sat;
use super::types::{StructLayout, TypeLayout};

/// A run of bytes in a struct that no field covers: implicit padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// Offset of the first padding byte.
    pub offset: u64,
    /// Number of padding bytes.
    pub len: u64,
}

impl Gap {
    /// The explicit field that would fill this gap, as Rust source: `_pad12: [u8; 4]`, or a
    /// single primitive when the gap is exactly one naturally aligned primitive (`_pad12: u32`).
    pub fn suggestion(&self) -> String {
        let mut m = Message::new();
        self.write_suggestion(&mut m);
        m.as_str().to_owned()
    }

    /// [`suggestion`](Self::suggestion), appended to a [`Message`] (usable in `const`).
    pub const fn write_suggestion(&self, m: &mut Message) {
        m.push_str("_pad");
        m.push_u64(self.offset);
        m.push_str(": ");
        match self.len {
            1 => m.push_str("u8"),
            2 if self.offset % 2 == 0 => m.push_str("u16"),
            4 if self.offset % 4 == 0 => m.push_str("u32"),
            8 if self.offset % 8 == 0 => m.push_str("u64"),
            n => {
                m.push_str("[u8; ");
                m.push_u64(n);
                m.push_str("]");
            }
        }
    }
}

/// Where a struct's layout breaks the sharing rules. Found by [`check_struct`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StructIssue {
    /// Implicit padding between fields or at the end.
    Padding(Gap),
    /// Field `index` starts before the previous field ends.
    Overlap {
        /// Index of the field in [`StructLayout::fields`].
        index: usize,
    },
    /// Field `index` is not aligned to its type's alignment.
    Misaligned {
        /// Index of the field.
        index: usize,
    },
    /// The struct has no fields.
    Empty,
    /// The size is not a multiple of the alignment, or the alignment is not the largest field
    /// alignment.
    BadSizeOrAlign,
}

/// Finds the first implicit padding in `s`, walking fields in order; `None` if the fields cover
/// every byte. `const`, so the derive can assert it at compile time.
pub const fn first_gap(s: &StructLayout<'_>) -> Option<Gap> {
    let mut i = 0;
    while i <= s.fields.len() {
        if let Some(g) = gap_before(s, i) {
            return Some(g);
        }
        i += 1;
    }
    None
}

/// The implicit padding right before field `index` of `s` (the bytes between the end of the
/// fields before it and its offset), or at the end of the struct when `index` is
/// `s.fields.len()`. The derive asks this for every field, to report each gap at its field.
pub const fn gap_before(s: &StructLayout<'_>, index: usize) -> Option<Gap> {
    let mut cursor = 0u64;
    let mut i = 0;
    while i < index && i < s.fields.len() {
        let f = &s.fields[i];
        let end = f.offset.saturating_add(f.ty.size());
        if end > cursor {
            cursor = end;
        }
        i += 1;
    }
    let start = if index < s.fields.len() { s.fields[index].offset } else { s.size };
    if start > cursor {
        Some(Gap { offset: cursor, len: start - cursor })
    } else {
        None
    }
}

/// Checks every sharing rule of a struct layout: fields in offset order without overlap, each
/// aligned, no implicit padding, size a multiple of the alignment. Returns every issue found.
pub fn check_struct(s: &StructLayout<'_>) -> Vec<StructIssue> {
    let mut issues = Vec::new();
    if s.fields.is_empty() {
        issues.push(StructIssue::Empty);
        return issues;
    }
    let mut cursor = 0u64;
    let mut max_align = 1u64;
    for (index, f) in s.fields.iter().enumerate() {
        let align = f.ty.align();
        max_align = max_align.max(align);
        if f.offset % align != 0 {
            issues.push(StructIssue::Misaligned { index });
        }
        if f.offset < cursor {
            issues.push(StructIssue::Overlap { index });
        } else if f.offset > cursor {
            issues.push(StructIssue::Padding(Gap { offset: cursor, len: f.offset - cursor }));
        }
        cursor = cursor.max(f.offset.saturating_add(f.ty.size()));
    }
    if s.size > cursor {
        issues.push(StructIssue::Padding(Gap { offset: cursor, len: s.size - cursor }));
    }
    if s.align != max_align || s.size % s.align != 0 || s.size < cursor {
        issues.push(StructIssue::BadSizeOrAlign);
    }
    issues
}

/// The C (`#[repr(C)]`) layout of fields of the given types, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReprC {
    /// Offset of each field.
    pub offsets: Vec<u64>,
    /// Total size, rounded up to the alignment.
    pub size: u64,
    /// The largest field alignment.
    pub align: u64,
    /// Implicit padding the C rules insert (before fields and at the end).
    pub gaps: Vec<Gap>,
}

/// Lays out fields of the given types by C's rules: each field at the next offset aligned to its
/// type, the struct aligned to its largest field and padded to a multiple of that. This is what
/// `#[repr(C)]` does, so a TOML schema and a derived struct agree.
pub fn repr_c<'a>(types: impl IntoIterator<Item = TypeLayout<'a>>) -> ReprC {
    let mut offsets = Vec::new();
    let mut gaps = Vec::new();
    let mut cursor = 0u64;
    let mut align = 1u64;
    for t in types {
        let a = t.align();
        align = align.max(a);
        let off = align_up_sat(cursor, a);
        if off > cursor {
            gaps.push(Gap { offset: cursor, len: off - cursor });
        }
        offsets.push(off);
        cursor = off.saturating_add(t.size());
    }
    let size = align_up_sat(cursor, align);
    if size > cursor {
        gaps.push(Gap { offset: cursor, len: size - cursor });
    }
    ReprC { offsets, size, align, gaps }
}
