//! The structures: one module per kind (the [`sync`] primitives together), each implementing
//! [`Structure`] — what every kind implements, so that a declared segment (derive or TOML) can
//! create and open all of its fields the same way — and reporting its own live [`State`].
//!
//! A kind's format (header offsets, parameters, region) is `crate::layout::kinds`; its
//! algorithm, handles and live state are here. A kind imports `segment`, `sys`, `layout` and
//! `shm_type`, and no other kind (an endpoint is two queues, so it imports `queue`).

pub mod array;
pub mod atomic;
pub mod endpoint;
pub mod future;
pub mod map;
pub mod pool;
pub mod queue;
pub(crate) mod render;
pub mod ring;
pub mod set;
pub mod stack;
pub mod state;
pub mod sync;
pub mod topic;

pub use state::State;

use crate::error::{Error, Object, Result};
use crate::layout::{self, Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
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
    note = "segment fields are structures: Array<T>, Atomic<T>, Queue<T, P>, Ring<T>, Pool<T>, Semaphore, Barrier, Latch, Mutex, Event, Endpoint<T>, Topic<T, M>, Stack<T>, Map<K, V>, Set<K>, Condvar, Once, RwLock, Future<T>"
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

    /// Opens structure `decl.name` if it exists (checked against `decl` as
    /// [`open_in`](Structure::open_in) does), or creates it. Of processes racing to create it,
    /// one creates it and the others open what it made.
    fn open_or_create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        loop {
            match Self::open_in(segment, decl) {
                Err(Error::NotFound { object: Object::Structure, .. }) => {}
                other => return other,
            }
            match Self::create_in(segment, decl) {
                Err(Error::AlreadyExists { object: Object::Structure, .. }) => continue,
                other => return other,
            }
        }
    }
}

/// Checks that `decl` declares a structure of type `S` (kind, element layout and type-level
/// flags); a declaration built for another type is an error, never a mis-sized region.
///
/// Flags are compared outside [`Kind::value_flags`]: those bits come from declaration values
/// (a ring's `overwrite`, an event's `manual_reset`), which any handle of the type serves, and
/// are checked where values are — `StructureLayout::region` at creation, the descriptor at open.
/// Every kind's `create_in`/`open_in` calls this with the declaration as given.
pub(crate) fn check_declaration<S: Structure>(decl: &StructureLayout<'_>) -> Result<()> {
    let elem_matches = match (&decl.elem, &S::ELEM) {
        (None, None) => true,
        (Some(a), Some(b)) => layout::fingerprint(a) == layout::fingerprint(b) && a.size() == b.size(),
        _ => false,
    };
    let type_flags = decl.flags & !S::KIND.value_flags();
    if decl.kind != S::KIND || !elem_matches || type_flags != S::FLAGS {
        return Err(Error::invalid(
            format!("declaration of structure {:?}", decl.name),
            format!(
                "it declares {} {} (flags {:#x}) that the Rust type {} (flags {:#x}) does not match",
                decl.kind.article(),
                decl.kind,
                decl.flags,
                std::any::type_name::<S>(),
                S::FLAGS
            ),
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::flags;
    use crate::{Event, Mpmc, Queue, Ring, Spsc};

    #[test]
    fn value_flags_pass_type_flags_must_match() {
        // Ring: `overwrite` is a value; any other bit is not the type's.
        let ring = Ring::<u64>::declaration("r");
        assert!(check_declaration::<Ring<u64>>(&ring).is_ok());
        assert!(check_declaration::<Ring<u64>>(&StructureLayout { flags: flags::RING_OVERWRITE, ..ring }).is_ok());
        assert!(check_declaration::<Ring<u64>>(&StructureLayout { flags: 2, ..ring }).is_err());
        // Event: `manual_reset` likewise.
        let event = Event::declaration("e");
        assert!(check_declaration::<Event>(&StructureLayout { flags: flags::EVENT_MANUAL_RESET, ..event }).is_ok());
        assert!(check_declaration::<Event>(&StructureLayout { flags: 4, ..event }).is_err());
        // Queue: the policy is the type's; another policy is another type.
        let spsc = Queue::<u64, Spsc>::declaration("q");
        assert_eq!(spsc.flags, flags::POLICY_SPSC);
        assert!(check_declaration::<Queue<u64, Spsc>>(&spsc).is_ok());
        let err = check_declaration::<Queue<u64, Mpmc>>(&spsc).unwrap_err().to_string();
        assert!(err.contains("a Queue (flags 0x1)") && err.contains("(flags 0x3)"), "{err}");
        // Kind and element.
        assert!(check_declaration::<Ring<u32>>(&ring).is_err());
        assert!(check_declaration::<Queue<u64, Spsc>>(&ring).is_err());
    }
}
