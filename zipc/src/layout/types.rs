//! Element types as the format sees them: the ten fixed-width [`Primitive`]s, and
//! [`TypeLayout`] — a primitive, an array of a type, or a `#[repr(C)]` struct of fields.

use std::fmt;

use super::fingerprint::{canonical, digits};

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
