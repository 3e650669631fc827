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

pub mod description;
mod fingerprint;
mod kind;
pub mod kinds;
pub mod lane;
pub mod message;
mod padding;
mod segment;
mod structure;
pub mod table;
mod types;

pub use fingerprint::*;
pub use kind::*;
pub use kinds::queue::POLICIES;
pub use kinds::{flags, Kind};
pub use message::Message;
pub use padding::*;
pub use segment::*;
pub use structure::*;
pub use types::*;

#[cfg(test)]
mod tests;
