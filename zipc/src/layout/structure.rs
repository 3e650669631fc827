//! One structure as declared ([`StructureLayout`]): its region ([`StructureLayout::region`],
//! which asks the kind's format module), its name rule, and why a declaration can fail
//! ([`LayoutError`]).

use std::fmt;

use super::description;
use super::fingerprint::type_record_len;
use super::kind::{Arg, ParamValue, ParameterError, Slot};
use super::kinds::Kind;
use super::message::Message;
use super::segment::str_eq;
use super::table;
use super::types::TypeLayout;

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
        self.kind.region_of(self)
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
