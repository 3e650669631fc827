//! Validation: the rules that can be read off the syntax, each reported at the tokens at fault.
//!
//! Everything else is proved by the generated code at compile time, through zipc's own layout
//! model: field types implement `ShmType` or `Structure` (trait bounds with zipc's
//! `on_unimplemented` messages), no implicit padding, structure parameters, names, table size
//! (constants that evaluate zipc's rules). The syntactic checks below exist for better messages
//! (`bool` gets "use u8", not just "not an element type") and for what the type system cannot
//! see (`#[repr(C)]`).

use syn::{GenericArgument, PathArguments, Type};

use crate::errors::Errors;
use crate::parse::{Body, Container, Derive};

/// Checks `c`, recording every problem in `errors`.
pub fn container(c: &Container<'_>, errors: &mut Errors) {
    let what = format!("#[derive({})]", c.derive.name());
    if !c.generics.params.is_empty() || c.generics.where_clause.is_some() {
        let message = match c.derive {
            Derive::ShmType => format!(
                "{what} does not support generic types: a shared element's layout is fixed, and C and Python \
                 see one concrete struct; declare a concrete struct (one per element type)"
            ),
            Derive::ShmSegment => format!(
                "{what} does not support generic types: a segment's layout is a constant; declare a concrete \
                 struct of structures"
            ),
        };
        errors.spanned(c.generics, message);
    }
    match &c.body {
        Body::Struct(fields) => {
            if fields.is_empty() && c.derive == Derive::ShmType {
                errors.spanned(
                    c.ident,
                    format!("`{}` has no fields: an element type needs at least one (C has no empty structs)", c.ident),
                );
            }
        }
        Body::Tuple(span) => errors.at(
            *span,
            format!("{what} needs named fields: the layout names every field (for C, Python and the fingerprint)"),
        ),
        Body::Unit(span) => errors.at(*span, format!("{what} needs a struct with named fields")),
        Body::Enum(span) => errors.at(
            *span,
            match c.derive {
                Derive::ShmType => format!(
                    "{what} does not support enums: not every bit pattern is a valid variant, so another process \
                     could write an invalid one; use an integer field (u8, u32, ...) with named constants"
                ),
                Derive::ShmSegment => format!("{what} needs a struct whose fields are structures"),
            },
        ),
        Body::Union(span) => errors.at(*span, format!("{what} does not support unions; use a struct")),
    }
    if c.derive == Derive::ShmType {
        element(c, errors);
    }
}

fn element(c: &Container<'_>, errors: &mut Errors) {
    if !c.repr.c && matches!(c.body, Body::Struct(_)) {
        errors.spanned(
            c.ident,
            format!(
                "`{}` needs #[repr(C)]: without it Rust may reorder and pad fields as it likes, and C and Python \
                 could not find them; add #[repr(C)] to the struct",
                c.ident
            ),
        );
    }
    for (name, span) in &c.repr.other {
        let why = match name.as_str() {
            "packed" => {
                "#[repr(packed)] puts fields at unaligned offsets, which C and Python do not reproduce and which \
                         cannot be accessed atomically; remove it and declare the padding as explicit fields instead"
            }
            "align" => {
                "#[repr(align(N))] adds alignment and trailing padding that the C and Python generators do not \
                        reproduce; remove it (the struct is aligned to its largest field)"
            }
            "transparent" => "#[repr(transparent)] is not a C layout; use #[repr(C)]",
            _ => "only #[repr(C)] is supported for shared element types",
        };
        errors.at(*span, why);
    }
    if let Body::Struct(fields) = &c.body {
        for f in fields {
            field_type(f.ty, errors);
        }
    }
}

/// Refuses the types that can never be shared, with what to use instead. Other types are left
/// to the `ShmType` bound the generated code puts on every field.
fn field_type(ty: &Type, errors: &mut Errors) {
    let why: Option<&str> = match ty {
        Type::Array(a) => return field_type(&a.elem, errors),
        Type::Paren(p) => return field_type(&p.elem, errors),
        Type::Group(g) => return field_type(&g.elem, errors),
        Type::Reference(_) => Some(
            "references cannot be shared: an address means nothing in another process; store an index or an \
             offset (u32/u64) instead",
        ),
        Type::Ptr(_) => Some(
            "pointers cannot be shared: an address means nothing in another process; store an index or an offset \
             (u32/u64) instead",
        ),
        Type::BareFn(_) => Some("function pointers cannot be shared: an address means nothing in another process"),
        Type::Slice(_) => Some("slices have no fixed size; use an array [T; N]"),
        Type::Tuple(t) if t.elems.is_empty() => Some("`()` has no bytes to share; remove the field"),
        Type::Tuple(_) => Some("tuples have no C layout; use a #[repr(C)] struct with #[derive(ShmType)]"),
        Type::TraitObject(_) | Type::ImplTrait(_) => Some("trait objects have no fixed layout; use a concrete type"),
        Type::Never(_) => Some("`!` has no values to share"),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last().expect("a path has a segment");
            let generic_arg_types = match &last.arguments {
                PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .count(),
                _ => 0,
            };
            match (last.ident.to_string().as_str(), generic_arg_types) {
                ("bool", 0) => Some(
                    "`bool` cannot be shared: only the bytes 0 and 1 are valid, and another process (or C) may \
                     write any byte; use `u8` (0 = false, 1 = true)",
                ),
                ("char", 0) => Some(
                    "`char` cannot be shared: most 32-bit values are not valid chars; use `u32` (a Unicode scalar \
                     value) and char::from_u32 when reading",
                ),
                ("usize", 0) => Some(
                    "`usize` cannot be shared: its width depends on the process (32 or 64 bits); use `u64` or `u32`",
                ),
                ("isize", 0) => Some(
                    "`isize` cannot be shared: its width depends on the process (32 or 64 bits); use `i64` or `i32`",
                ),
                ("u128" | "i128", 0) => {
                    Some("128-bit integers have no portable C layout; use two 64-bit fields ([u64; 2])")
                }
                ("str" | "String", 0) => Some(
                    "strings cannot be shared: a String points to memory of one process; use a fixed byte array \
                     `[u8; N]` (UTF-8, zero-padded)",
                ),
                ("Vec", _) => Some(
                    "`Vec` cannot be shared: it points to memory of one process; use a fixed array `[T; N]`, or an \
                     Array<T> structure in the segment",
                ),
                ("Box" | "Rc" | "Arc", _) => {
                    Some("smart pointers cannot be shared: they point to memory of one process; embed the value itself")
                }
                ("Option", _) => Some(
                    "`Option` cannot be shared: its layout is Rust's own; use a value with a separate flag field (u8)",
                ),
                ("Cell" | "RefCell" | "UnsafeCell", _) => {
                    Some("interior mutability cannot be declared in an element; the structures synchronise access")
                }
                _ => None,
            }
        }
        _ => None,
    };
    if let Some(why) = why {
        errors.spanned(ty, why);
    }
}
