//! The layout model: one description of element types, structures and segments that the derives,
//! the TOML schemas and every code generator share.
//!
//! Everything here is `const`-constructible: `#[derive(ShmType)]` emits a
//! [`TypeLayout<'static>`](TypeLayout) per type, `#[derive(ShmSegment)]` a
//! [`SegmentLayout<'static>`](SegmentLayout), and the segment's exact size is computed at compile
//! time by [`SegmentLayout::size`]. `zipc-schema` builds the same values from TOML (borrowing from
//! an arena, hence the lifetime) and renders C and Python from them. No layout rule is written
//! anywhere else:
//!
//! * element layout — [`TypeLayout`], C's struct rules in [`repr_c`], padding in [`first_gap`];
//! * identity — the canonical string ([`canonical`]) and its 64-bit [`fingerprint`];
//! * structure regions — [`StructureLayout::region`], which asks each kind's module;
//! * placement in a segment — [`place`], used by the allocator at run time and by
//!   [`SegmentLayout::size`] at compile time.
//!
//! The byte-level format is specified in `docs/FORMAT.md`.

use std::fmt;

use crate::description;
pub use crate::message::Message;
use crate::table;

// ---------------------------------------------------------------------------------------------
// Primitives
// ---------------------------------------------------------------------------------------------

/// The ten fixed-width primitive element types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// `u8` ↔ `uint8_t` ↔ `'<u1'`
    U8,
    /// `i8` ↔ `int8_t` ↔ `'<i1'`
    I8,
    /// `u16` ↔ `uint16_t` ↔ `'<u2'`
    U16,
    /// `i16` ↔ `int16_t` ↔ `'<i2'`
    I16,
    /// `u32` ↔ `uint32_t` ↔ `'<u4'`
    U32,
    /// `i32` ↔ `int32_t` ↔ `'<i4'`
    I32,
    /// `u64` ↔ `uint64_t` ↔ `'<u8'`
    U64,
    /// `i64` ↔ `int64_t` ↔ `'<i8'`
    I64,
    /// `f32` ↔ `float` ↔ `'<f4'`
    F32,
    /// `f64` ↔ `double` ↔ `'<f8'`
    F64,
}

impl Primitive {
    /// All primitives, in declaration order.
    pub const ALL: [Primitive; 10] = [
        Primitive::U8,
        Primitive::I8,
        Primitive::U16,
        Primitive::I16,
        Primitive::U32,
        Primitive::I32,
        Primitive::U64,
        Primitive::I64,
        Primitive::F32,
        Primitive::F64,
    ];

    /// Size in bytes (also its alignment).
    pub const fn size(self) -> u64 {
        match self {
            Primitive::U8 | Primitive::I8 => 1,
            Primitive::U16 | Primitive::I16 => 2,
            Primitive::U32 | Primitive::I32 | Primitive::F32 => 4,
            Primitive::U64 | Primitive::I64 | Primitive::F64 => 8,
        }
    }

    /// The Rust name, which is also the name in TOML schemas and canonical strings.
    pub const fn name(self) -> &'static str {
        match self {
            Primitive::U8 => "u8",
            Primitive::I8 => "i8",
            Primitive::U16 => "u16",
            Primitive::I16 => "i16",
            Primitive::U32 => "u32",
            Primitive::I32 => "i32",
            Primitive::U64 => "u64",
            Primitive::I64 => "i64",
            Primitive::F32 => "f32",
            Primitive::F64 => "f64",
        }
    }

    /// The C type (`<stdint.h>` names).
    pub const fn c_type(self) -> &'static str {
        match self {
            Primitive::U8 => "uint8_t",
            Primitive::I8 => "int8_t",
            Primitive::U16 => "uint16_t",
            Primitive::I16 => "int16_t",
            Primitive::U32 => "uint32_t",
            Primitive::I32 => "int32_t",
            Primitive::U64 => "uint64_t",
            Primitive::I64 => "int64_t",
            Primitive::F32 => "float",
            Primitive::F64 => "double",
        }
    }

    /// The numpy type code, explicitly little-endian.
    pub const fn numpy(self) -> &'static str {
        match self {
            Primitive::U8 => "<u1",
            Primitive::I8 => "<i1",
            Primitive::U16 => "<u2",
            Primitive::I16 => "<i2",
            Primitive::U32 => "<u4",
            Primitive::I32 => "<i4",
            Primitive::U64 => "<u8",
            Primitive::I64 => "<i8",
            Primitive::F32 => "<f4",
            Primitive::F64 => "<f8",
        }
    }

    /// True for the eight integer types.
    pub const fn is_integer(self) -> bool {
        !matches!(self, Primitive::F32 | Primitive::F64)
    }

    /// True for the signed integer types.
    pub const fn is_signed(self) -> bool {
        matches!(self, Primitive::I8 | Primitive::I16 | Primitive::I32 | Primitive::I64)
    }

    /// Looks a primitive up by its Rust/TOML name (`"u32"`).
    pub fn from_name(name: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The code stored in a descriptor for an atomic's value type (1 = u8 ... 10 = f64).
    pub const fn code(self) -> u32 {
        match self {
            Primitive::U8 => 1,
            Primitive::I8 => 2,
            Primitive::U16 => 3,
            Primitive::I16 => 4,
            Primitive::U32 => 5,
            Primitive::I32 => 6,
            Primitive::U64 => 7,
            Primitive::I64 => 8,
            Primitive::F32 => 9,
            Primitive::F64 => 10,
        }
    }

    /// Inverse of [`Primitive::code`].
    pub const fn from_code(code: u32) -> Option<Primitive> {
        Some(match code {
            1 => Primitive::U8,
            2 => Primitive::I8,
            3 => Primitive::U16,
            4 => Primitive::I16,
            5 => Primitive::U32,
            6 => Primitive::I32,
            7 => Primitive::U64,
            8 => Primitive::I64,
            9 => Primitive::F32,
            10 => Primitive::F64,
            _ => return None,
        })
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------------------------
// Element types
// ---------------------------------------------------------------------------------------------

/// The layout of an element type: a primitive, a fixed array, or a `#[repr(C)]` struct.
#[derive(Clone, Copy, Debug)]
pub enum TypeLayout<'a> {
    /// One of the ten primitives.
    Primitive(Primitive),
    /// `[elem; len]`.
    Array {
        /// The element type.
        elem: &'a TypeLayout<'a>,
        /// Number of elements (at least 1).
        len: u64,
    },
    /// A struct with named fields at fixed offsets.
    Struct(&'a StructLayout<'a>),
}

/// A struct's layout: its fields in declaration (= offset) order, its size and alignment.
#[derive(Clone, Copy, Debug)]
pub struct StructLayout<'a> {
    /// The type's name (not part of the fingerprint: renaming a type keeps compatibility).
    pub name: &'a str,
    /// Documentation carried to generated code (may be empty).
    pub doc: &'a str,
    /// Size in bytes, including any trailing padding.
    pub size: u64,
    /// Alignment in bytes.
    pub align: u64,
    /// The fields, ordered by offset.
    pub fields: &'a [FieldLayout<'a>],
}

/// One field of a [`StructLayout`].
#[derive(Clone, Copy, Debug)]
pub struct FieldLayout<'a> {
    /// The field's name.
    pub name: &'a str,
    /// Documentation carried to generated code (may be empty).
    pub doc: &'a str,
    /// Offset from the start of the struct.
    pub offset: u64,
    /// The field's type.
    pub ty: TypeLayout<'a>,
}

impl<'a> TypeLayout<'a> {
    /// Size in bytes.
    pub const fn size(&self) -> u64 {
        match self {
            TypeLayout::Primitive(p) => p.size(),
            TypeLayout::Array { elem, len } => elem.size().saturating_mul(*len),
            TypeLayout::Struct(s) => s.size,
        }
    }

    /// Alignment in bytes.
    pub const fn align(&self) -> u64 {
        match self {
            TypeLayout::Primitive(p) => p.size(),
            TypeLayout::Array { elem, .. } => elem.align(),
            TypeLayout::Struct(s) => s.align,
        }
    }

    /// The primitive, if this is one.
    pub const fn primitive(&self) -> Option<Primitive> {
        match self {
            TypeLayout::Primitive(p) => Some(*p),
            _ => None,
        }
    }

    /// The name users write: `u32`, `[f32; 8]`, `Reading`.
    pub fn display_name(&self) -> String {
        let mut s = String::new();
        write_display_name(self, &mut s);
        s
    }

    /// Length of [`TypeLayout::display_name`], computable at compile time.
    pub const fn display_name_len(&self) -> u64 {
        match self {
            TypeLayout::Primitive(p) => p.name().len() as u64,
            // "[" elem "; " len "]"
            TypeLayout::Array { elem, len } => elem.display_name_len() + 4 + digits(*len),
            TypeLayout::Struct(s) => s.name.len() as u64,
        }
    }
}

fn write_display_name(t: &TypeLayout<'_>, out: &mut String) {
    match t {
        TypeLayout::Primitive(p) => out.push_str(p.name()),
        TypeLayout::Array { elem, len } => {
            out.push('[');
            write_display_name(elem, out);
            out.push_str("; ");
            out.push_str(&len.to_string());
            out.push(']');
        }
        TypeLayout::Struct(s) => out.push_str(s.name),
    }
}

impl PartialEq for TypeLayout<'_> {
    /// Two layouts are equal when their canonical strings are: same field names, primitive kinds,
    /// counts, offsets and sizes. Type names and docs do not matter.
    fn eq(&self, other: &Self) -> bool {
        canonical(self) == canonical(other)
    }
}

// ---------------------------------------------------------------------------------------------
// C struct rules and padding
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Canonical string and fingerprint
// ---------------------------------------------------------------------------------------------

/// The canonical, language-neutral layout string of a type: what the fingerprint hashes and what
/// mismatch errors show.
///
/// Grammar: a primitive is its name (`u32`); an array is `[T;N]`; a struct is
/// `{name:T@offset,...}#size`. Type names and docs are not part of it.
///
/// ```
/// use zipc::layout::{canonical, TypeLayout, Primitive};
/// const F32: TypeLayout<'static> = TypeLayout::Primitive(Primitive::F32);
/// let t = TypeLayout::Array { elem: &F32, len: 8 };
/// assert_eq!(canonical(&t), "[f32;8]");
/// ```
pub fn canonical(t: &TypeLayout<'_>) -> String {
    let mut s = String::with_capacity(canonical_len(t) as usize);
    write_canonical(t, &mut s);
    s
}

fn write_canonical(t: &TypeLayout<'_>, out: &mut String) {
    match t {
        TypeLayout::Primitive(p) => out.push_str(p.name()),
        TypeLayout::Array { elem, len } => {
            out.push('[');
            write_canonical(elem, out);
            out.push(';');
            out.push_str(&len.to_string());
            out.push(']');
        }
        TypeLayout::Struct(s) => {
            out.push('{');
            for (i, f) in s.fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(f.name);
                out.push(':');
                write_canonical(&f.ty, out);
                out.push('@');
                out.push_str(&f.offset.to_string());
            }
            out.push('}');
            out.push('#');
            out.push_str(&s.size.to_string());
        }
    }
}

/// Length in bytes of [`canonical`]`(t)`, computable at compile time (the segment stores the
/// string, so the derive needs its length for the segment's exact size).
pub const fn canonical_len(t: &TypeLayout<'_>) -> u64 {
    match t {
        TypeLayout::Primitive(p) => p.name().len() as u64,
        // "[" T ";" N "]"
        TypeLayout::Array { elem, len } => canonical_len(elem) + 3 + digits(*len),
        TypeLayout::Struct(s) => {
            // "{" fields "}#" size, fields joined by ","
            let mut n = 3 + digits(s.size);
            let mut i = 0;
            while i < s.fields.len() {
                let f = &s.fields[i];
                if i > 0 {
                    n += 1;
                }
                // name ":" T "@" offset
                n += f.name.len() as u64 + 2 + canonical_len(&f.ty) + digits(f.offset);
                i += 1;
            }
            n
        }
    }
}

/// 64-bit FNV-1a of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3). Chosen
/// because it is a few lines in C and Python too.
pub const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// The layout fingerprint of a type: [`fnv1a64`] of its [`canonical`] string.
pub fn fingerprint(t: &TypeLayout<'_>) -> u64 {
    fnv1a64(canonical(t).as_bytes())
}

/// The bytes a segment stores to describe an element type: its display name, a NUL, and its
/// canonical string.
pub fn type_record(t: &TypeLayout<'_>) -> Vec<u8> {
    let mut s = t.display_name();
    s.push('\0');
    write_canonical(t, &mut s);
    s.into_bytes()
}

/// Length of [`type_record`], at compile time.
pub const fn type_record_len(t: &TypeLayout<'_>) -> u64 {
    t.display_name_len() + 1 + canonical_len(t)
}

/// Number of decimal digits of `n`.
const fn digits(mut n: u64) -> u64 {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

// ---------------------------------------------------------------------------------------------
// Structure kinds and their regions
// ---------------------------------------------------------------------------------------------

/// The kinds of structure a segment can hold. The numbers are stored in the self-description and
/// are part of the format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Kind {
    /// Fixed-length array (ZeroIPC v2 layout).
    Array = 1,
    /// One atomic integer.
    Atomic = 2,
    /// Bounded lock-free queue (SPSC, MPSC or MPMC).
    Queue = 3,
    /// Single-producer stream ring with optional overwrite.
    Ring = 4,
    /// Fixed-capacity object pool with generation-checked handles.
    Pool = 5,
    /// Counting semaphore (ZeroIPC v2 layout).
    Semaphore = 6,
    /// Reusable barrier (ZeroIPC v2 layout).
    Barrier = 7,
    /// One-shot countdown latch (ZeroIPC v2 layout).
    Latch = 8,
    /// Robust process-shared mutex.
    Mutex = 9,
    /// Auto- or manual-reset event.
    Event = 10,
    /// Duplex channel of two queues.
    Endpoint = 11,
}

impl Kind {
    /// All kinds, in format order.
    pub const ALL: [Kind; 11] = [
        Kind::Array,
        Kind::Atomic,
        Kind::Queue,
        Kind::Ring,
        Kind::Pool,
        Kind::Semaphore,
        Kind::Barrier,
        Kind::Latch,
        Kind::Mutex,
        Kind::Event,
        Kind::Endpoint,
    ];

    /// The name used in messages, schemas (lower-cased) and generated code.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Array => "Array",
            Kind::Atomic => "Atomic",
            Kind::Queue => "Queue",
            Kind::Ring => "Ring",
            Kind::Pool => "Pool",
            Kind::Semaphore => "Semaphore",
            Kind::Barrier => "Barrier",
            Kind::Latch => "Latch",
            Kind::Mutex => "Mutex",
            Kind::Event => "Event",
            Kind::Endpoint => "Endpoint",
        }
    }

    /// The number stored in the segment.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// Inverse of [`Kind::code`].
    pub const fn from_code(code: u32) -> Option<Kind> {
        Some(match code {
            1 => Kind::Array,
            2 => Kind::Atomic,
            3 => Kind::Queue,
            4 => Kind::Ring,
            5 => Kind::Pool,
            6 => Kind::Semaphore,
            7 => Kind::Barrier,
            8 => Kind::Latch,
            9 => Kind::Mutex,
            10 => Kind::Event,
            11 => Kind::Endpoint,
            _ => return None,
        })
    }

    /// Looks a kind up by name, ignoring case (`"queue"`).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// "a" or "an", for messages ("an Array", "a Queue").
    pub const fn article(self) -> &'static str {
        match self {
            Kind::Array | Kind::Atomic | Kind::Event | Kind::Endpoint => "an",
            _ => "a",
        }
    }

    /// Whether structures of this kind hold elements of a declared type.
    pub const fn has_element(self) -> bool {
        matches!(self, Kind::Array | Kind::Atomic | Kind::Queue | Kind::Ring | Kind::Pool | Kind::Endpoint)
    }
}

/// Flag values stored in [`StructureLayout::flags`] and descriptors.
pub mod flags {
    /// Queue policy: single producer, single consumer.
    pub const POLICY_SPSC: u32 = 1;
    /// Queue policy: multiple producers, single consumer.
    pub const POLICY_MPSC: u32 = 2;
    /// Queue policy: multiple producers, multiple consumers.
    pub const POLICY_MPMC: u32 = 3;
    /// Ring: the writer overwrites the oldest data when the reader falls behind.
    pub const RING_OVERWRITE: u32 = 1;
    /// Event: stays set until reset (otherwise one waiter consumes it).
    pub const EVENT_MANUAL_RESET: u32 = 1;
}

/// Which field of a [`StructureLayout`] a declaration parameter sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// [`StructureLayout::capacity`].
    Capacity,
    /// [`StructureLayout::initial`].
    Initial,
    /// [`StructureLayout::maximum`].
    Maximum,
    /// Sets bits of [`StructureLayout::flags`]: a boolean sets `bit`, a choice stores its value.
    Flags,
}

/// What values a declaration parameter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// An unsigned integer; at least `min`.
    Unsigned {
        /// The smallest value allowed.
        min: u64,
    },
    /// A signed integer.
    Signed,
    /// `true` or `false`; `true` sets these flag bits.
    Bool {
        /// The flag bits `true` sets.
        bit: u32,
    },
    /// One of the named values, each with its flag code.
    Choice(&'static [(&'static str, u32)]),
}

/// A parameter a structure declaration takes: a derive attribute and a TOML key of the same
/// name. This table is the one place that says which kind takes which parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// The attribute / key name (`capacity`, `participants`, ...).
    pub name: &'static str,
    /// The layout field it sets.
    pub slot: Slot,
    /// Its values.
    pub value: ParamValue,
    /// Whether a declaration must give it.
    pub required: bool,
    /// Whether Rust expresses it in the type instead (`Queue<T, Mpmc>`): the derive takes no
    /// attribute for it, the TOML schema a key.
    pub type_level: bool,
    /// One line for error messages and docs.
    pub doc: &'static str,
}

const fn param(name: &'static str, slot: Slot, value: ParamValue, required: bool, doc: &'static str) -> Parameter {
    Parameter { name, slot, value, required, type_level: false, doc }
}

const CAPACITY: Parameter = param("capacity", Slot::Capacity, ParamValue::Unsigned { min: 1 }, true, "number of slots");

/// Queue policies by name, for TOML's `policy = "mpmc"`.
pub const POLICIES: &[(&str, u32)] =
    &[("spsc", flags::POLICY_SPSC), ("mpsc", flags::POLICY_MPSC), ("mpmc", flags::POLICY_MPMC)];

const ARRAY_PARAMS: &[Parameter] =
    &[param("capacity", Slot::Capacity, ParamValue::Unsigned { min: 1 }, true, "number of elements")];
const ATOMIC_PARAMS: &[Parameter] =
    &[param("initial", Slot::Initial, ParamValue::Signed, false, "initial value (default 0)")];
const QUEUE_PARAMS: &[Parameter] = &[
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
const RING_PARAMS: &[Parameter] = &[
    CAPACITY,
    param(
        "overwrite",
        Slot::Flags,
        ParamValue::Bool { bit: flags::RING_OVERWRITE },
        false,
        "keep the newest data when the reader falls behind (default false)",
    ),
];
const POOL_PARAMS: &[Parameter] =
    &[param("capacity", Slot::Capacity, ParamValue::Unsigned { min: 1 }, true, "number of objects")];
const SEMAPHORE_PARAMS: &[Parameter] = &[
    param("initial", Slot::Initial, ParamValue::Unsigned { min: 0 }, false, "initial count (default 0)"),
    param("max", Slot::Maximum, ParamValue::Unsigned { min: 0 }, false, "largest count, 0 for unbounded (default)"),
];
const BARRIER_PARAMS: &[Parameter] = &[param(
    "participants",
    Slot::Capacity,
    ParamValue::Unsigned { min: 1 },
    true,
    "processes that meet at the barrier",
)];
const LATCH_PARAMS: &[Parameter] =
    &[param("count", Slot::Initial, ParamValue::Unsigned { min: 1 }, true, "count_down calls that release it")];
const EVENT_PARAMS: &[Parameter] = &[
    param(
        "manual_reset",
        Slot::Flags,
        ParamValue::Bool { bit: flags::EVENT_MANUAL_RESET },
        false,
        "stay set until reset (default: auto-reset, one waiter consumes it)",
    ),
    param("initially_set", Slot::Initial, ParamValue::Bool { bit: 1 }, false, "start set (default false)"),
];
const ENDPOINT_PARAMS: &[Parameter] = &[CAPACITY];

impl Kind {
    /// The parameters a declaration of this kind takes.
    pub const fn parameters(self) -> &'static [Parameter] {
        match self {
            Kind::Array => ARRAY_PARAMS,
            Kind::Atomic => ATOMIC_PARAMS,
            Kind::Queue => QUEUE_PARAMS,
            Kind::Ring => RING_PARAMS,
            Kind::Pool => POOL_PARAMS,
            Kind::Semaphore => SEMAPHORE_PARAMS,
            Kind::Barrier => BARRIER_PARAMS,
            Kind::Latch => LATCH_PARAMS,
            Kind::Mutex => &[],
            Kind::Event => EVENT_PARAMS,
            Kind::Endpoint => ENDPOINT_PARAMS,
        }
    }

    /// The flag bits that declaration *values* set (a ring's `overwrite`, an event's
    /// `manual_reset`): the `Bool` bits of the kind's non-type-level `Flags` parameters. Every
    /// other flag bit is fixed by the Rust type (`Structure::FLAGS`, a queue's policy), so a
    /// declaration matches a Rust type when its flags equal the type's outside these bits.
    ///
    /// ```
    /// use zipc::layout::{flags, Kind};
    /// assert_eq!(Kind::Ring.value_flags(), flags::RING_OVERWRITE);
    /// assert_eq!(Kind::Event.value_flags(), flags::EVENT_MANUAL_RESET);
    /// assert_eq!(Kind::Queue.value_flags(), 0); // the policy is the type's
    /// ```
    pub const fn value_flags(self) -> u32 {
        let params = self.parameters();
        let mut bits = 0;
        let mut i = 0;
        while i < params.len() {
            if let (Slot::Flags, ParamValue::Bool { bit }, false) =
                (params[i].slot, params[i].value, params[i].type_level)
            {
                bits |= bit;
            }
            i += 1;
        }
        bits
    }

    /// Looks up parameter `name` of this kind.
    pub const fn parameter(self, name: &str) -> Option<&'static Parameter> {
        let params = self.parameters();
        let mut i = 0;
        while i < params.len() {
            if str_eq(params[i].name, name) {
                return Some(&params[i]);
            }
            i += 1;
        }
        None
    }

    /// Appends this kind's parameters to `m` for messages: `` `capacity`: number of slots;
    /// `overwrite`: ... ``, or `none`. `type_level` parameters are listed only if asked for (in
    /// Rust they are part of the type, not attributes).
    pub const fn write_parameters(self, m: &mut Message, with_type_level: bool) {
        let params = self.parameters();
        let mut listed = 0;
        let mut i = 0;
        while i < params.len() {
            let p = &params[i];
            if with_type_level || !p.type_level {
                if listed > 0 {
                    m.push_str("; ");
                }
                m.push_str("`");
                m.push_str(p.name);
                m.push_str("`: ");
                m.push_str(p.doc);
                listed += 1;
            }
            i += 1;
        }
        if listed == 0 {
            m.push_str("none");
        }
    }
}

impl Parameter {
    /// The integers this parameter accepts, inclusive (for `Unsigned` and `Signed` values).
    /// `Signed` values are stored as 64-bit two's complement, so a `u64` atomic's initial value
    /// may go up to `u64::MAX`.
    pub const fn range(&self) -> (i128, i128) {
        let slot_max = match self.slot {
            Slot::Capacity => u64::MAX as i128,
            Slot::Initial | Slot::Maximum => i64::MAX as i128,
            Slot::Flags => u32::MAX as i128,
        };
        match self.value {
            ParamValue::Unsigned { min } => (min as i128, slot_max),
            ParamValue::Signed => (i64::MIN as i128, u64::MAX as i128),
            ParamValue::Bool { .. } | ParamValue::Choice(_) => (0, 0),
        }
    }

    /// Appends what values the parameter takes: `an integer of at least 1`, `true or false`,
    /// `"spsc", "mpsc" or "mpmc"`.
    pub const fn write_expected(&self, m: &mut Message) {
        match self.value {
            ParamValue::Unsigned { min } => {
                m.push_str("an integer of at least ");
                m.push_u64(min);
            }
            ParamValue::Signed => m.push_str("an integer"),
            ParamValue::Bool { .. } => m.push_str("true or false"),
            ParamValue::Choice(choices) => {
                let mut i = 0;
                while i < choices.len() {
                    if i > 0 {
                        m.push_str(if i + 1 == choices.len() { " or " } else { ", " });
                    }
                    m.push_str("\"");
                    m.push_str(choices[i].0);
                    m.push_str("\"");
                    i += 1;
                }
            }
        }
    }
}

/// A value given to a declaration parameter: a derive attribute's literal or a TOML value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg<'a> {
    /// An integer (wide enough for every `u64` and `i64`).
    Int(i128),
    /// `true` or `false`.
    Bool(bool),
    /// A name, for [`ParamValue::Choice`] parameters (`"mpmc"`).
    Str(&'a str),
}

/// Why a parameter cannot be applied to a declaration; see [`StructureLayout::with_parameter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParameterError<'a> {
    /// The kind takes no parameter of that name.
    Unknown {
        /// The kind.
        kind: Kind,
        /// The name given.
        name: &'a str,
    },
    /// The value has the wrong type (a string where an integer is expected, ...).
    WrongType {
        /// The kind.
        kind: Kind,
        /// The parameter.
        parameter: &'static Parameter,
    },
    /// The integer is outside [`Parameter::range`].
    OutOfRange {
        /// The kind.
        kind: Kind,
        /// The parameter.
        parameter: &'static Parameter,
        /// The value given.
        value: i128,
    },
    /// The name is not one of the parameter's choices.
    UnknownChoice {
        /// The kind.
        kind: Kind,
        /// The parameter.
        parameter: &'static Parameter,
        /// The value given.
        value: &'a str,
    },
}

impl ParameterError<'_> {
    /// The error's text (usable in `const`; `Display` prints the same).
    pub const fn message(&self) -> Message {
        let mut m = Message::new();
        match *self {
            ParameterError::Unknown { kind, name } => {
                m.push_str(kind.name());
                m.push_str(" takes no parameter `");
                m.push_str(name);
                m.push_str("`; its parameters: ");
                kind.write_parameters(&mut m, true);
            }
            ParameterError::WrongType { kind, parameter } => {
                write_parameter_name(&mut m, kind, parameter);
                m.push_str(" takes ");
                parameter.write_expected(&mut m);
                write_parameter_doc(&mut m, parameter);
            }
            ParameterError::OutOfRange { kind, parameter, value } => {
                write_parameter_name(&mut m, kind, parameter);
                let (lo, hi) = parameter.range();
                if value < lo {
                    m.push_str(" must be at least ");
                    m.push_i128(lo);
                } else {
                    m.push_str(" must be at most ");
                    m.push_i128(hi);
                }
                m.push_str(", not ");
                m.push_i128(value);
                write_parameter_doc(&mut m, parameter);
            }
            ParameterError::UnknownChoice { kind, parameter, value } => {
                write_parameter_name(&mut m, kind, parameter);
                m.push_str(" cannot be \"");
                m.push_str(value);
                m.push_str("\": it is ");
                parameter.write_expected(&mut m);
                write_parameter_doc(&mut m, parameter);
            }
        }
        m
    }
}

/// `` Array `capacity` ``
const fn write_parameter_name(m: &mut Message, kind: Kind, p: &Parameter) {
    m.push_str(kind.name());
    m.push_str(" `");
    m.push_str(p.name);
    m.push_str("`");
}

/// `` (`capacity`: number of elements) ``
const fn write_parameter_doc(m: &mut Message, p: &Parameter) {
    m.push_str(" [`");
    m.push_str(p.name);
    m.push_str("`: ");
    m.push_str(p.doc);
    m.push_str("]");
}

impl fmt::Display for ParameterError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message().as_str())
    }
}

impl std::error::Error for ParameterError<'_> {}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Size and alignment of a structure's region in the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Bytes.
    pub size: u64,
    /// Alignment of the region's offset (a power of two).
    pub align: u64,
}

/// One structure as declared: name, kind, element type and parameters.
///
/// The meaning of the parameters per kind (unused ones are 0):
///
/// | kind      | `elem`                | `capacity`     | `flags`          | `initial`       | `maximum`   |
/// |-----------|-----------------------|----------------|------------------|-----------------|-------------|
/// | Array     | element type          | length         |                  |                 |             |
/// | Atomic    | `u32 i32 u64 i64`     |                |                  | initial value   |             |
/// | Queue     | element type          | slots          | policy           |                 |             |
/// | Ring      | element type          | slots          | overwrite mode   |                 |             |
/// | Pool      | element type          | objects        |                  |                 |             |
/// | Semaphore |                       |                |                  | initial count   | max (0 = ∞) |
/// | Barrier   |                       | participants   |                  |                 |             |
/// | Latch     |                       |                |                  | count           |             |
/// | Mutex     |                       |                |                  |                 |             |
/// | Event     |                       |                | manual reset     | initially set   |             |
/// | Endpoint  | element type          | slots per side |                  |                 |             |
#[derive(Clone, Copy, Debug)]
pub struct StructureLayout<'a> {
    /// Name in the segment's table (1 to 31 bytes, no NUL, not starting with `__zipc`).
    pub name: &'a str,
    /// Documentation carried to generated code (may be empty).
    pub doc: &'a str,
    /// The kind.
    pub kind: Kind,
    /// Element type, for kinds that have one.
    pub elem: Option<TypeLayout<'a>>,
    /// Size parameter (see the table above).
    pub capacity: u64,
    /// Kind-specific flags (see the table above).
    pub flags: u32,
    /// Kind-specific initial value.
    pub initial: i64,
    /// Kind-specific maximum.
    pub maximum: i64,
}

impl<'a> StructureLayout<'a> {
    /// A declaration with every parameter 0, to be filled in with struct-update syntax.
    pub const fn new(name: &'a str, kind: Kind, elem: Option<TypeLayout<'a>>) -> Self {
        StructureLayout { name, doc: "", kind, elem, capacity: 0, flags: 0, initial: 0, maximum: 0 }
    }

    /// Validates the declaration and computes the size and alignment of its region.
    pub const fn region(&self) -> Result<Region, LayoutError> {
        if let Err(e) = check_structure_name(self.name) {
            return Err(e);
        }
        match (self.kind.has_element(), &self.elem) {
            (true, None) => return Err(LayoutError::MissingElement { kind: self.kind }),
            (false, Some(_)) => return Err(LayoutError::UnexpectedElement { kind: self.kind }),
            _ => {}
        }
        match self.kind {
            Kind::Array => crate::array::region(self),
            Kind::Atomic => crate::atomic::region(self),
            Kind::Ring => crate::ring::region(self),
            Kind::Pool => crate::pool::region(self),
            Kind::Semaphore => crate::semaphore::region(self),
            Kind::Barrier => crate::barrier::region(self),
            Kind::Latch => crate::latch::region(self),
            Kind::Mutex => crate::mutex::region(self),
            Kind::Event => crate::event::region(self),
            Kind::Queue => crate::queue::region(self),
            Kind::Endpoint => crate::endpoint::region(self),
        }
    }

    /// Sets parameter `name` (a derive attribute or TOML key: see [`Kind::parameters`]) to
    /// `value`, checking that the kind takes it and that the value has the right type and range.
    /// `const`, so the derive applies attributes at compile time through this one table; an
    /// error's [`message`](ParameterError::message) lists what the kind takes.
    ///
    /// ```
    /// use zipc::layout::{Arg, Kind, StructureLayout};
    /// let s = StructureLayout::new("xs", Kind::Array, None).with_parameter("capacity", Arg::Int(8)).unwrap();
    /// assert_eq!(s.capacity, 8);
    /// let e = s.with_parameter("initial", Arg::Int(1)).unwrap_err();
    /// assert_eq!(e.to_string(), "Array takes no parameter `initial`; its parameters: `capacity`: number of elements");
    /// ```
    pub const fn with_parameter<'b>(mut self, name: &'b str, value: Arg<'b>) -> Result<Self, ParameterError<'b>> {
        let kind = self.kind;
        let Some(parameter) = kind.parameter(name) else {
            return Err(ParameterError::Unknown { kind, name });
        };
        let v: i128 = match (parameter.value, value) {
            (ParamValue::Unsigned { .. } | ParamValue::Signed, Arg::Int(v)) => {
                let (lo, hi) = parameter.range();
                if v < lo || v > hi {
                    return Err(ParameterError::OutOfRange { kind, parameter, value: v });
                }
                v
            }
            (ParamValue::Bool { bit }, Arg::Bool(b)) => {
                if b {
                    bit as i128
                } else {
                    0
                }
            }
            (ParamValue::Choice(choices), Arg::Str(given)) => {
                let mut i = 0;
                loop {
                    if i == choices.len() {
                        return Err(ParameterError::UnknownChoice { kind, parameter, value: given });
                    }
                    if str_eq(choices[i].0, given) {
                        break choices[i].1 as i128;
                    }
                    i += 1;
                }
            }
            _ => return Err(ParameterError::WrongType { kind, parameter }),
        };
        match (parameter.slot, parameter.value) {
            (Slot::Capacity, _) => self.capacity = v as u64,
            // Two's complement bits: a u64 atomic's value above i64::MAX keeps its bits.
            (Slot::Initial, _) => self.initial = v as i64,
            (Slot::Maximum, _) => self.maximum = v as i64,
            (Slot::Flags, ParamValue::Bool { bit }) => {
                if v != 0 {
                    self.flags |= bit
                } else {
                    self.flags &= !bit
                }
            }
            (Slot::Flags, _) => self.flags = v as u32,
        }
        Ok(self)
    }

    /// Size of the type record the segment stores beside the region (0 without element).
    pub const fn type_record_len(&self) -> u64 {
        match &self.elem {
            Some(t) => type_record_len(t),
            None => 0,
        }
    }
}

/// Checks a structure name: 1..=31 bytes, no NUL, not reserved.
pub const fn check_structure_name(name: &str) -> Result<(), LayoutError> {
    let b = name.as_bytes();
    if b.is_empty() {
        return Err(LayoutError::NameEmpty);
    }
    if b.len() > table::MAX_NAME_LEN {
        return Err(LayoutError::NameTooLong { len: b.len() });
    }
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0 {
            return Err(LayoutError::NameHasNul);
        }
        i += 1;
    }
    let r = description::RESERVED_PREFIX.as_bytes();
    if b.len() >= r.len() {
        let mut j = 0;
        let mut same = true;
        while j < r.len() {
            if b[j] != r[j] {
                same = false;
            }
            j += 1;
        }
        if same {
            return Err(LayoutError::NameReserved);
        }
    }
    Ok(())
}

/// Why a declaration cannot be laid out. `const`-friendly: no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutError {
    /// The structure name is empty.
    NameEmpty,
    /// The structure name is longer than 31 bytes.
    NameTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The structure name contains a NUL byte.
    NameHasNul,
    /// The structure name starts with the reserved `__zipc`.
    NameReserved,
    /// A kind that holds elements was declared without an element type.
    MissingElement {
        /// The kind.
        kind: Kind,
    },
    /// A kind without elements was declared with an element type.
    UnexpectedElement {
        /// The kind.
        kind: Kind,
    },
    /// The element type is not allowed for this kind.
    UnsupportedElement {
        /// The kind.
        kind: Kind,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A parameter is out of range.
    InvalidParameter {
        /// The kind.
        kind: Kind,
        /// The parameter (`"capacity"`, `"initial"`, ...).
        parameter: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Sizes overflow 64 bits.
    TooLarge,
    /// More structures than the table holds.
    TooManyStructures {
        /// Structures declared, plus zipc's reserved entry.
        needed: u64,
        /// `max_entries`.
        max_entries: u32,
    },
    /// Two structures have the same name.
    DuplicateName {
        /// Index of the second one.
        index: usize,
    },
    /// `max_entries` outside 1..=4096 (at least 2 with zipc's reserved entry).
    MaxEntries {
        /// The value given.
        value: u32,
    },
    /// `max_processes` outside 1..=65536.
    MaxProcesses {
        /// The value given.
        value: u32,
    },
}

impl LayoutError {
    /// The error's text, built in `const` (the derives print it as a compile error; `Display`
    /// prints the same words).
    pub const fn message(&self) -> Message {
        let mut m = Message::new();
        self.write_message(&mut m);
        m
    }

    /// Appends [`message`](Self::message) to `m`.
    pub const fn write_message(&self, m: &mut Message) {
        match *self {
            LayoutError::NameEmpty => m.push_str("the name is empty"),
            LayoutError::NameTooLong { len } => {
                m.push_str("the name is ");
                m.push_u64(len as u64);
                m.push_str(" bytes long; the table holds at most ");
                m.push_u64(table::MAX_NAME_LEN as u64);
                m.push_str(" (shorten it)");
            }
            LayoutError::NameHasNul => m.push_str("the name contains a NUL byte"),
            LayoutError::NameReserved => {
                m.push_str("names starting with \"");
                m.push_str(description::RESERVED_PREFIX);
                m.push_str("\" are reserved for zipc");
            }
            LayoutError::MissingElement { kind } => {
                m.push_str(kind.article());
                m.push_str(" ");
                m.push_str(kind.name());
                m.push_str(" needs an element type");
            }
            LayoutError::UnexpectedElement { kind } => {
                m.push_str(kind.article());
                m.push_str(" ");
                m.push_str(kind.name());
                m.push_str(" has no element type");
            }
            LayoutError::UnsupportedElement { kind, allowed } => {
                m.push_str(kind.article());
                m.push_str(" ");
                m.push_str(kind.name());
                m.push_str(" holds only ");
                m.push_str(allowed);
            }
            LayoutError::InvalidParameter { kind, parameter, rule } => {
                m.push_str(kind.name());
                m.push_str(" ");
                m.push_str(parameter);
                m.push_str(": ");
                m.push_str(rule);
            }
            LayoutError::TooLarge => m.push_str("the declared sizes overflow 64 bits"),
            LayoutError::TooManyStructures { needed, max_entries } => {
                m.push_u64(needed);
                m.push_str(" table entries are needed (one is zipc's own) but max_entries is ");
                m.push_u64(max_entries as u64);
                m.push_str(": raise max_entries");
            }
            LayoutError::DuplicateName { index } => {
                m.push_str("structure #");
                m.push_u64(index as u64);
                m.push_str(" repeats the name of an earlier one");
            }
            LayoutError::MaxEntries { value } => {
                m.push_str("max_entries is ");
                m.push_u64(value as u64);
                m.push_str("; it must be between ");
                m.push_u64(table::MIN_ENTRIES as u64);
                m.push_str(" and ");
                m.push_u64(table::MAX_ENTRIES as u64);
            }
            LayoutError::MaxProcesses { value } => {
                m.push_str("max_processes is ");
                m.push_u64(value as u64);
                m.push_str("; it must be between 1 and ");
                m.push_u64(description::MAX_PROCESSES as u64);
            }
        }
    }
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message().as_str())
    }
}

impl std::error::Error for LayoutError {}

// ---------------------------------------------------------------------------------------------
// Placement in a segment
// ---------------------------------------------------------------------------------------------

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

const fn align_up_sat(x: u64, align: u64) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    const U8: TypeLayout<'static> = TypeLayout::Primitive(Primitive::U8);
    const U32: TypeLayout<'static> = TypeLayout::Primitive(Primitive::U32);
    const U64: TypeLayout<'static> = TypeLayout::Primitive(Primitive::U64);
    const F32: TypeLayout<'static> = TypeLayout::Primitive(Primitive::F32);
    const VALS: TypeLayout<'static> = TypeLayout::Array { elem: &F32, len: 8 };
    const READING: StructLayout<'static> = StructLayout {
        name: "Reading",
        doc: "",
        size: 48,
        align: 8,
        fields: &[
            FieldLayout { name: "ts", doc: "", offset: 0, ty: U64 },
            FieldLayout { name: "vals", doc: "", offset: 8, ty: VALS },
            FieldLayout { name: "id", doc: "", offset: 40, ty: U32 },
            FieldLayout { name: "flags", doc: "", offset: 44, ty: U32 },
        ],
    };
    const READING_T: TypeLayout<'static> = TypeLayout::Struct(&READING);

    #[test]
    fn canonical_string_and_len_agree() {
        let s = canonical(&READING_T);
        assert_eq!(s, "{ts:u64@0,vals:[f32;8]@8,id:u32@40,flags:u32@44}#48");
        assert_eq!(canonical_len(&READING_T), s.len() as u64);
        let nested = TypeLayout::Array { elem: &READING_T, len: 1234 };
        assert_eq!(canonical_len(&nested), canonical(&nested).len() as u64);
        assert_eq!(type_record_len(&nested), type_record(&nested).len() as u64);
        assert_eq!(nested.display_name(), "[Reading; 1234]");
    }

    #[test]
    fn fnv1a_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn gaps_are_found() {
        assert_eq!(first_gap(&READING), None);
        const PADDED: StructLayout<'static> = StructLayout {
            name: "P",
            doc: "",
            size: 16,
            align: 4,
            fields: &[
                FieldLayout { name: "a", doc: "", offset: 0, ty: U8 },
                FieldLayout { name: "b", doc: "", offset: 8, ty: U32 },
            ],
        };
        assert_eq!(first_gap(&PADDED), Some(Gap { offset: 1, len: 7 }));
        let issues = check_struct(&PADDED);
        assert_eq!(
            issues,
            vec![StructIssue::Padding(Gap { offset: 1, len: 7 }), StructIssue::Padding(Gap { offset: 12, len: 4 })]
        );
        assert_eq!(Gap { offset: 12, len: 4 }.suggestion(), "_pad12: u32");
        assert_eq!(Gap { offset: 1, len: 7 }.suggestion(), "_pad1: [u8; 7]");
    }

    #[test]
    fn repr_c_matches_rustc() {
        #[repr(C)]
        struct R {
            a: u8,
            b: u32,
            c: u64,
            d: u16,
        }
        let r = repr_c([U8, U32, U64, TypeLayout::Primitive(Primitive::U16)]);
        assert_eq!(
            r.offsets,
            vec![
                std::mem::offset_of!(R, a) as u64,
                std::mem::offset_of!(R, b) as u64,
                std::mem::offset_of!(R, c) as u64,
                std::mem::offset_of!(R, d) as u64
            ]
        );
        assert_eq!(r.size, std::mem::size_of::<R>() as u64);
        assert_eq!(r.align, std::mem::align_of::<R>() as u64);
        assert_eq!(r.gaps, vec![Gap { offset: 1, len: 3 }, Gap { offset: 18, len: 6 }]);
    }

    #[test]
    fn structure_names_are_checked() {
        assert_eq!(check_structure_name(""), Err(LayoutError::NameEmpty));
        assert_eq!(check_structure_name(&"x".repeat(32)), Err(LayoutError::NameTooLong { len: 32 }));
        assert!(check_structure_name(&"x".repeat(31)).is_ok());
        assert_eq!(check_structure_name("a\0b"), Err(LayoutError::NameHasNul));
        assert_eq!(check_structure_name("__zipc_x"), Err(LayoutError::NameReserved));
    }

    #[test]
    fn segment_size_is_the_sum_of_placements() {
        const S: &[StructureLayout<'static>] = &[
            StructureLayout { capacity: 100, ..StructureLayout::new("readings", Kind::Array, Some(READING_T)) },
            StructureLayout { initial: 7, ..StructureLayout::new("count", Kind::Atomic, Some(U64)) },
        ];
        const SEG: SegmentLayout<'static> =
            SegmentLayout { name: None, max_entries: 8, max_processes: 4, structures: S };
        const SIZE: u64 = match SEG.size() {
            Ok(s) => s,
            Err(_) => panic!("bad layout"),
        };
        let p = SEG.placements().unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p.last().unwrap().1.end, SIZE);
        assert_eq!(p[1].1.size, 8 + 100 * 48);
        assert_eq!(p[2].1.offset % 128, 0);
        let dup = SegmentLayout { structures: &[S[0], S[0]], ..SEG };
        assert_eq!(dup.validate(), Err(LayoutError::DuplicateName { index: 1 }));
        let full = SegmentLayout { max_entries: 2, ..SEG };
        assert_eq!(full.validate(), Err(LayoutError::TooManyStructures { needed: 3, max_entries: 2 }));
    }

    #[test]
    fn gaps_are_found_per_field() {
        const PADDED: StructLayout<'static> = StructLayout {
            name: "P",
            doc: "",
            size: 24,
            align: 8,
            fields: &[
                FieldLayout { name: "a", doc: "", offset: 0, ty: U8 },
                FieldLayout { name: "b", doc: "", offset: 4, ty: U32 },
                FieldLayout { name: "c", doc: "", offset: 8, ty: U64 },
                FieldLayout { name: "d", doc: "", offset: 16, ty: U8 },
            ],
        };
        assert_eq!(gap_before(&PADDED, 0), None);
        assert_eq!(gap_before(&PADDED, 1), Some(Gap { offset: 1, len: 3 }));
        assert_eq!(gap_before(&PADDED, 2), None);
        assert_eq!(gap_before(&PADDED, 3), None);
        assert_eq!(gap_before(&PADDED, 4), Some(Gap { offset: 17, len: 7 }), "trailing padding");
        assert_eq!(first_gap(&PADDED), Some(Gap { offset: 1, len: 3 }));
        assert_eq!(gap_before(&READING, 4), None);
        let mut m = Message::new();
        Gap { offset: 2, len: 2 }.write_suggestion(&mut m);
        assert_eq!(m.as_str(), "_pad2: u16");
    }

    #[test]
    fn parameters_apply_through_the_table() {
        let array = StructureLayout::new("xs", Kind::Array, Some(U32));
        assert_eq!(array.with_parameter("capacity", Arg::Int(10)).unwrap().capacity, 10);
        let e = array.with_parameter("capacity", Arg::Int(0)).unwrap_err();
        assert!(matches!(e, ParameterError::OutOfRange { value: 0, .. }));
        assert_eq!(e.to_string(), "Array `capacity` must be at least 1, not 0 [`capacity`: number of elements]");
        let e = array.with_parameter("capacity", Arg::Bool(true)).unwrap_err();
        assert_eq!(e.to_string(), "Array `capacity` takes an integer of at least 1 [`capacity`: number of elements]");
        assert!(matches!(
            array.with_parameter("initial", Arg::Int(1)),
            Err(ParameterError::Unknown { name: "initial", .. })
        ));

        // Signed values keep their 64-bit pattern: a u64 atomic may start at u64::MAX.
        let atomic = StructureLayout::new("n", Kind::Atomic, Some(U64));
        assert_eq!(atomic.with_parameter("initial", Arg::Int(-3)).unwrap().initial, -3);
        assert_eq!(atomic.with_parameter("initial", Arg::Int(u64::MAX as i128)).unwrap().initial, -1);
        assert!(atomic.with_parameter("initial", Arg::Int(u64::MAX as i128 + 1)).is_err());

        // Booleans set and clear flag bits; choices store their code.
        let ring = StructureLayout::new("r", Kind::Ring, Some(U32));
        let on = ring.with_parameter("overwrite", Arg::Bool(true)).unwrap();
        assert_eq!(on.flags, flags::RING_OVERWRITE);
        assert_eq!(on.with_parameter("overwrite", Arg::Bool(false)).unwrap().flags, 0);
        let queue = StructureLayout::new("q", Kind::Queue, Some(U32));
        assert_eq!(queue.with_parameter("policy", Arg::Str("mpsc")).unwrap().flags, flags::POLICY_MPSC);
        let e = queue.with_parameter("policy", Arg::Str("spmc")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Queue `policy` cannot be \"spmc\": it is \"spsc\", \"mpsc\" or \"mpmc\" [`policy`: spsc, mpsc or mpmc]"
        );
        let event = StructureLayout::new("e", Kind::Event, None);
        assert_eq!(event.with_parameter("initially_set", Arg::Bool(true)).unwrap().initial, 1);
        let latch = StructureLayout::new("l", Kind::Latch, None);
        assert!(latch.with_parameter("count", Arg::Int(i64::MAX as i128 + 1)).is_err(), "an i64 slot");
        let e = StructureLayout::new("m", Kind::Mutex, None).with_parameter("capacity", Arg::Int(1)).unwrap_err();
        assert_eq!(e.to_string(), "Mutex takes no parameter `capacity`; its parameters: none");

        // Every parameter of every kind is reachable by its name.
        for kind in Kind::ALL {
            for p in kind.parameters() {
                assert_eq!(kind.parameter(p.name), Some(p));
            }
        }
    }

    #[test]
    fn const_messages_match_display() {
        for e in [
            LayoutError::NameTooLong { len: 40 },
            LayoutError::NameReserved,
            LayoutError::TooManyStructures { needed: 9, max_entries: 8 },
            LayoutError::MaxEntries { value: 0 },
            LayoutError::InvalidParameter { kind: Kind::Array, parameter: "capacity", rule: "must be at least 1" },
        ] {
            assert_eq!(e.to_string(), e.message().as_str());
        }
        assert_eq!(
            LayoutError::NameTooLong { len: 40 }.to_string(),
            "the name is 40 bytes long; the table holds at most 31 (shorten it)"
        );
        assert_eq!(LayoutError::NameReserved.to_string(), "names starting with \"__zipc\" are reserved for zipc");
    }

    #[test]
    fn segment_checks_split_by_structure() {
        let a = StructureLayout { capacity: 4, ..StructureLayout::new("a", Kind::Array, Some(U8)) };
        let bad = StructureLayout::new("b", Kind::Array, Some(U8));
        let seg = SegmentLayout { name: None, max_entries: 8, max_processes: 4, structures: &[a, bad, a] };
        assert_eq!(seg.check_table(), Ok(()));
        assert_eq!(seg.check_structure(0), Ok(()));
        assert!(matches!(seg.check_structure(1), Err(LayoutError::InvalidParameter { .. })));
        assert_eq!(seg.check_structure(2), Err(LayoutError::DuplicateName { index: 2 }));
        assert_eq!(seg.first_with_name(2), Some(0));
        assert!(seg.validate().is_err());
    }
}
