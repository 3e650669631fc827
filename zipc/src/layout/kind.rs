//! The kinds of structure ([`Kind`]) and the parameters each one's declaration takes
//! ([`Kind::parameters`]): the one table that the derive's attributes, the TOML keys and the
//! runtime's checks all read.

use std::fmt;

use super::kinds::Kind;
use super::message::Message;
use super::segment::str_eq;
#[cfg(doc)]
use super::structure::StructureLayout;

/// What a kind is, as data: declared by the kind's format module (`layout/kinds/NAME.rs`) and read
/// through [`Kind`]'s methods by the derive, the TOML reader, the generators and the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindSpec {
    /// The name used in messages, schemas (lower-cased) and generated code: `"Queue"`.
    pub name: &'static str,
    /// "a" or "an", for messages.
    pub article: &'static str,
    /// Whether structures of this kind hold elements of a declared type.
    pub has_element: bool,
    /// The parameters a declaration takes: derive attributes and TOML keys of these names.
    pub parameters: &'static [Parameter],
}

/// A structure's header words as the format's checks read them: relaxed loads of a region other
/// processes may write (`segment::region::Region` in a segment).
pub(crate) trait HeaderWords {
    /// The `u32` at `offset` into the region.
    fn u32(&self, offset: u64) -> u32;
    /// The `u64` at `offset` into the region.
    fn u64(&self, offset: u64) -> u64;
}

impl Kind {
    /// The name used in messages, schemas (lower-cased) and generated code.
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The number stored in the segment.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// Looks a kind up by name, ignoring case (`"queue"`).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// "a" or "an", for messages ("an Array", "a Queue").
    pub const fn article(self) -> &'static str {
        self.spec().article
    }

    /// Whether structures of this kind hold elements of a declared type.
    pub const fn has_element(self) -> bool {
        self.spec().has_element
    }
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

pub(crate) const fn param(
    name: &'static str,
    slot: Slot,
    value: ParamValue,
    required: bool,
    doc: &'static str,
) -> Parameter {
    Parameter { name, slot, value, required, type_level: false, doc }
}

/// The `capacity` of the kinds whose capacity is a number of slots.
pub(crate) const CAPACITY: Parameter =
    param("capacity", Slot::Capacity, ParamValue::Unsigned { min: 1 }, true, "number of slots");

impl Kind {
    /// The parameters a declaration of this kind takes.
    pub const fn parameters(self) -> &'static [Parameter] {
        self.spec().parameters
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
