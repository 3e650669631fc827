//! The format of an Atomic: one 32- or 64-bit integer.

use super::prelude::*;

/// What an Atomic is: one atomic integer.
pub const SPEC: KindSpec = KindSpec { name: "Atomic", article: "an", has_element: true, parameters: PARAMETERS };

pub(crate) const PARAMETERS: &[Parameter] =
    &[param("initial", Slot::Initial, ParamValue::Signed, false, "initial value (default 0)")];

/// The CAPACITY column of `inspect` and `layout`: what the descriptor's numbers mean here.
pub(crate) fn capacity_text(_d: &Descriptor) -> String {
    "-".to_owned()
}

/// Size and alignment of an atomic's region.
pub const REGION_SIZE: u64 = 128;

/// Offset of the waiter count.
pub const WAITERS_OFFSET: u64 = 8;

/// The region of an atomic declaration.
pub(crate) const fn region(s: &StructureLayout<'_>) -> Result<RegionLayout, LayoutError> {
    // `initial` holds the value's bits as an i64: 32-bit values must fit their type.
    let range = match s.elem {
        Some(TypeLayout::Primitive(Primitive::U32)) => Some((0, u32::MAX as i64, "must fit a u32 (0 to 4294967295)")),
        Some(TypeLayout::Primitive(Primitive::I32)) => {
            Some((i32::MIN as i64, i32::MAX as i64, "must fit an i32 (-2147483648 to 2147483647)"))
        }
        Some(TypeLayout::Primitive(Primitive::U64 | Primitive::I64)) => None,
        _ => return Err(LayoutError::UnsupportedElement { kind: Kind::Atomic, allowed: "u32, i32, u64 and i64" }),
    };
    if let Some((lo, hi, rule)) = range {
        if s.initial < lo || s.initial > hi {
            return Err(LayoutError::InvalidParameter { kind: Kind::Atomic, parameter: "initial", rule });
        }
    }
    if s.capacity != 0 || s.flags != 0 || s.maximum != 0 {
        return Err(LayoutError::InvalidParameter {
            kind: Kind::Atomic,
            parameter: "capacity",
            rule: "an atomic takes only an initial value",
        });
    }
    Ok(RegionLayout { size: REGION_SIZE, align: REGION_SIZE })
}

/// Nothing in the header is fixed: all of it is live state.
pub(crate) fn check_header(_: &dyn HeaderWords, _: &Descriptor) -> Result<(), String> {
    Ok(())
}

/// The kind has no flags of its own.
pub(crate) fn describe_flags(flags: u32) -> (&'static str, String) {
    super::plain_flags(flags)
}
