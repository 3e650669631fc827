//! [`Structure`]: what every kind of structure implements, so that a declared segment (derive or
//! TOML) can create and open all of its fields the same way; plus the per-kind dispatch of header
//! validation and flag descriptions.

use crate::description::Descriptor;
use crate::error::{Error, Result};
use crate::layout::{self, Kind, StructureLayout, TypeLayout};
use crate::region::Region;
use crate::segment::Segment;

/// A kind of structure that lives in a segment: [`Array`](crate::Array),
/// [`Atomic`](crate::Atomic), and the queues, rings, pools and sync primitives.
///
/// The associated constants are the parts of a declaration fixed by the Rust type (kind, element
/// type, type-level flags such as a queue's policy); the rest (name, capacity, initial values)
/// comes from the declaration. `#[derive(ShmSegment)]` builds one [`StructureLayout`] per field
/// from both and calls [`create_in`](Structure::create_in) / [`open_in`](Structure::open_in).
///
/// Implementations carry `#[diagnostic::do_not_recommend]`: the compile error for a segment
/// field that is not a structure then shows this trait's note (which lists the kinds), not a
/// list of implementations that grows with every kind.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a zipc structure kind",
    label = "not a structure",
    note = "segment fields are structures: Array<T>, Atomic<T>, Queue<T, P>, Ring<T>, Pool<T>, Semaphore, Barrier, Latch, Mutex, Event, Endpoint<T>"
)]
pub trait Structure: Sized + Send + Sync {
    /// The kind.
    const KIND: Kind;
    /// The element type, for kinds that have one.
    const ELEM: Option<TypeLayout<'static>>;
    /// Flags fixed by the type (0 unless the kind has type-level parameters).
    const FLAGS: u32;

    /// Creates the structure `decl` describes in `segment`.
    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self>;

    /// Opens structure `decl.name` in `segment`, checking kind, element layout, capacity and
    /// parameters against `decl`.
    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self>;

    /// The declaration of a structure of this type named `name`, with parameters 0.
    fn declaration(name: &str) -> StructureLayout<'_> {
        StructureLayout { flags: Self::FLAGS, ..StructureLayout::new(name, Self::KIND, Self::ELEM) }
    }
}

/// Checks that `decl` declares a structure of type `S` (kind, element layout and type-level
/// flags); a declaration built for another type is an error, never a mis-sized region.
pub(crate) fn check_declaration<S: Structure>(decl: &StructureLayout<'_>) -> Result<()> {
    let elem_matches = match (&decl.elem, &S::ELEM) {
        (None, None) => true,
        (Some(a), Some(b)) => layout::fingerprint(a) == layout::fingerprint(b) && a.size() == b.size(),
        _ => false,
    };
    if decl.kind != S::KIND || !elem_matches || decl.flags != S::FLAGS {
        return Err(Error::invalid(
            format!("declaration of structure {:?}", decl.name),
            format!("it declares a {} that the Rust type {} does not match", decl.kind, std::any::type_name::<S>()),
        ));
    }
    Ok(())
}

/// Validates a structure's own header against its descriptor (run at open on every entry):
/// whatever a kind reads from its header and then trusts must be checked here.
pub(crate) fn validate_header(region: &Region, desc: &Descriptor) -> std::result::Result<(), String> {
    match desc.kind {
        Kind::Array => crate::array::validate_header(region, desc),
        Kind::Atomic => Ok(()),
        Kind::Ring => crate::ring::validate_header(region, desc),
        Kind::Pool => crate::pool::validate_header(region, desc),
        Kind::Semaphore => crate::semaphore::validate_header(region, desc),
        Kind::Barrier => crate::barrier::validate_header(region, desc),
        Kind::Latch => crate::latch::validate_header(region, desc),
        Kind::Mutex => Ok(()), // nothing fixed in its header: all of it is lock state
        Kind::Event => Ok(()), // likewise; the reset mode lives in the descriptor's flags
        Kind::Queue => crate::queue::validate_header(region, desc),
        Kind::Endpoint => crate::endpoint::validate_header(region, desc),
    }
}

/// Names a kind's flags and renders a flags value for messages: `("policy", "Spsc")`.
pub(crate) fn describe_flags(kind: Kind, flags: u32) -> (&'static str, String) {
    match kind {
        Kind::Ring => crate::ring::describe_flags(flags),
        Kind::Event => crate::event::describe_flags(flags),
        Kind::Queue => crate::queue::describe_flags(flags),
        _ => ("flags", format!("{flags:#x}")),
    }
}

/// Finds structure `name` and checks only that it is a `kind`, adopting whatever parameters the
/// segment records: for the `open(segment, name)` conveniences of kinds whose parameters a
/// caller need not know (a semaphore's maximum, an event's reset mode).
pub(crate) fn locate_kind(segment: &Segment, name: &str, kind: Kind) -> Result<(Region, Descriptor)> {
    let found = segment.locate(name)?;
    match found.descriptor {
        Some(desc) if desc.kind == kind => Ok((found.region, desc)),
        other => Err(Error::KindMismatch { structure: name.to_owned(), expected: kind, found: other.map(|d| d.kind) }),
    }
}
