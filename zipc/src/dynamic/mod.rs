//! Byte-level handles: the structures of a segment opened by name, with elements passed as bytes
//! whose size (and, if the caller knows it, canonical layout) is checked against the segment.
//!
//! These run the very algorithms of the typed API — the same queue, ring and pool code, with the
//! element size as a run-time value instead of a type (`element.rs`) — so a process that knows
//! its element types only at run time, or is not written in Rust, is a full peer: the C ABI
//! (`zipc::ffi`, built as `libzipc`) and through it the generated C and Python code are thin
//! layers over this module. Rust code that knows its types should use the typed handles
//! ([`Queue`](crate::Queue), [`Ring`](crate::Ring), ...): same speed for their single-element
//! operations (an element is one typed copy instead of a `memcpy`), plus compile-time types.
//!
//! Opening checks the kind, the element size and — when [`ElementSpec::layout`] is given — the
//! fingerprint of the element's canonical layout string (FORMAT.md), with the same errors as
//! the typed API. Every operation checks the length of the buffers it is given: a single-element
//! operation wants exactly one element, a bulk operation whole elements.
//!
//! Sync primitives ([`Semaphore`](crate::Semaphore), [`Barrier`](crate::Barrier),
//! [`Latch`](crate::Latch), [`Mutex`](crate::Mutex), [`Event`](crate::Event)) have no element
//! type and are used as they are; [`DynAtomic`] opens an atomic whatever its value type.
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use zipc::dynamic::{DynQueue, ElementSpec};
//! use zipc::Segment;
//!
//! let seg = Segment::open("/telemetry")?;
//! // 48-byte readings; with the layout string the fingerprint is checked too.
//! let spec = ElementSpec::with_layout(48, "{ts:u64@0,vals:[f32;8]@8,id:u32@40,flags:u32@44}#48");
//! let readings = DynQueue::open(&seg, "readings", spec)?;
//! let mut rx = readings.consumer()?;
//! let mut buf = [0u8; 48];
//! if rx.try_pop(&mut buf)? {
//!     println!("got {:?}", &buf[..8]);
//! }
//! # Ok(()) }
//! ```

mod array;
mod atomic;
mod endpoint;
mod future;
mod map;
mod pool;
mod queue;
mod ring;
mod stack;
#[cfg(all(test, not(loom)))]
mod tests;
mod topic;

pub use array::DynArray;
pub use atomic::DynAtomic;
pub use endpoint::{DynEndpoint, DynEndpointSide};
pub use future::DynFuture;
pub use map::{DynMap, DynSet};
pub use pool::DynPool;
pub use queue::{DynConsumer, DynProducer, DynQueue};
pub use ring::{DynRing, DynRingConsumer, DynRingProducer};
pub use stack::DynStack;
pub use topic::{DynPublisher, DynSubscriber, DynTopic};

use crate::error::{Error, Result};
use crate::layout::{self, Kind};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::{check_parameters, Segment};
use crate::structures::locate_kind;

// ---------------------------------------------------------------------------------------------
// Element specifications and declarations
// ---------------------------------------------------------------------------------------------

/// What a caller knows about the elements it passes: their size, and optionally their canonical
/// layout string (FORMAT.md, "Canonical layout string"), whose fingerprint must then equal the
/// segment's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElementSpec<'a> {
    /// Bytes per element.
    pub size: usize,
    /// The canonical layout string, e.g. `{ts:u64@0,v:f32@8}#16`.
    pub layout: Option<&'a str>,
}

impl<'a> ElementSpec<'a> {
    /// Elements of `size` bytes; the layout is not checked.
    pub const fn new(size: usize) -> Self {
        ElementSpec { size, layout: None }
    }

    /// Elements of `size` bytes with canonical layout `layout`.
    pub const fn with_layout(size: usize, layout: &'a str) -> Self {
        ElementSpec { size, layout: Some(layout) }
    }

    /// Checks this spec against a structure's descriptor.
    fn check(&self, name: &str, desc: &Descriptor) -> Result<()> {
        if self.size == 0 {
            return Err(Error::invalid(format!("element size for {name:?}"), "elements have at least one byte"));
        }
        let found = || desc.canonical.clone().unwrap_or_default();
        if let Some(layout) = self.layout {
            if layout::fnv1a64(layout.as_bytes()) != desc.fingerprint {
                return Err(Error::LayoutMismatch {
                    structure: name.to_owned(),
                    expected: layout.to_owned(),
                    found: found(),
                });
            }
        }
        if desc.elem_size as usize != self.size {
            return Err(Error::LayoutMismatch {
                structure: name.to_owned(),
                expected: format!("{}-byte elements", self.size),
                found: format!("{}-byte elements {}", desc.elem_size, found()),
            });
        }
        Ok(())
    }
}

/// A structure as a declaration describes it, for [`check`]: what generated C and Python code
/// compare a segment with (their schema's structures).
#[derive(Clone, Copy, Debug)]
pub struct Declaration<'a> {
    /// The structure's name.
    pub name: &'a str,
    /// Its kind.
    pub kind: Kind,
    /// Its element, for kinds that have one.
    pub elem: Option<ElementSpec<'a>>,
    /// The capacity (see [`layout::StructureLayout`]).
    pub capacity: u64,
    /// Kind-specific flags.
    pub flags: u32,
    /// Kind-specific maximum.
    pub maximum: i64,
}

/// Checks that structure `decl.name` is what `decl` declares: kind, element (size and layout
/// fingerprint), capacity, flags and maximum, in that order, with the errors the typed API gives
/// for the same differences. Returns the segment's descriptor.
pub fn check(segment: &Segment, decl: &Declaration<'_>) -> Result<Descriptor> {
    let (_, desc) = locate_kind(segment, decl.name, decl.kind)?;
    let name = decl.name.to_owned();
    match (&decl.elem, desc.elem_size) {
        (Some(spec), _) => spec.check(decl.name, &desc)?,
        (None, 0) => {}
        (None, _) => return Err(Error::invalid(format!("declaration of {name:?}"), "it declares no element type")),
    }
    check_parameters(decl.name, decl.kind, Some(decl.capacity), decl.flags, decl.maximum, &desc)?;
    Ok(desc)
}

/// Finds structure `name`, checks that it is a `kind` holding elements as `spec` says, and
/// returns its region and descriptor.
fn open_entry(segment: &Segment, name: &str, kind: Kind, spec: &ElementSpec<'_>) -> Result<(Region, Descriptor)> {
    let (region, desc) = locate_kind(segment, name, kind)?;
    spec.check(name, &desc)?;
    Ok((region, desc))
}

/// Checks that `buf` holds exactly one element of `size` bytes.
fn one(what: &str, size: usize, len: usize) -> Result<()> {
    if len == size {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("{what} buffer"),
            format!("{len} bytes were passed for one {size}-byte element: pass exactly one element"),
        ))
    }
}

/// Checks that `buf` holds whole elements of `size` bytes.
fn whole(what: &str, size: usize, len: usize) -> Result<()> {
    if len % size == 0 {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("{what} buffer"),
            format!("{len} bytes are not a whole number of {size}-byte elements"),
        ))
    }
}
