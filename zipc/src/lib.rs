//! # zipc — typed, lock-free data structures in named POSIX shared memory
//!
//! A *segment* is a named shared-memory object (`/dev/shm/NAME`) holding a table of named
//! *structures*: arrays, atomics, queues, rings, pools and synchronisation primitives, each with a
//! fixed-width element type. The table is byte-compatible with ZeroIPC format v2, and zipc adds
//! a self-description (kind, element layout fingerprint, capacity per entry) so that opening a
//! structure with the wrong type is an error instead of silent corruption.
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use zipc::{Array, Atomic, Segment};
//!
//! // Process A
//! let seg = Segment::create("/telemetry", 1 << 20)?;
//! let temps = Array::<f32>::create(&seg, "temps", 1024)?;
//! let seq = Atomic::<u64>::create(&seg, "seq", 0)?;
//! temps.set(0, 21.5)?;
//! seq.fetch_add(1);
//!
//! // Process B
//! let seg = Segment::open("/telemetry")?;
//! let temps = Array::<f32>::open(&seg, "temps")?;
//! assert_eq!(temps.get(0), Some(21.5));
//! assert!(Array::<u32>::open(&seg, "temps").is_err()); // wrong element type: refused
//! # Segment::unlink("/telemetry") }
//! ```
//!
//! The byte-level format is in `docs/FORMAT.md`, the architecture in `docs/ARCHITECTURE.md`.
//!
//! ## Safety model
//!
//! Segment bytes are written by other processes and are never trusted: opening validates the
//! header, every entry and every descriptor against the mapped size, and structures validate their
//! own headers. No `&T`/`&mut T` is formed over bytes another process may write, except atomics.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// The loom-switchable atomics; the queue, ring, pool and sync algorithms are written on them.
mod asymmetric_fence;
#[allow(dead_code, unused_imports)]
mod atomics;
#[allow(dead_code)] // used by the blocking structures
mod event_count;
mod futex;
mod mapping;
mod region;
mod robust_lock;

pub mod array;
pub mod atomic;
pub mod description;
pub mod endpoint;
pub mod error;
pub mod layout;
pub mod process;
pub mod queue;
pub mod segment;
pub mod shm_type;
pub mod structure;
pub mod table;

pub use array::Array;
pub use atomic::{Atomic, AtomicValue, Futex32};
pub use endpoint::{Endpoint, EndpointSide, Side};
pub use error::{Error, Object, Result};
pub use mapping::{check_segment_name, page_size, MAX_SEGMENT_NAME_LEN};
pub use queue::{Consumer, Mpmc, Mpsc, Policy, Producer, Queue, Spsc};
pub use segment::{EntryInfo, Segment, SegmentOptions};
pub use shm_type::{AtomicInt, ShmType};
pub use structure::Structure;

/// zerocopy, re-exported: [`ShmType`] builds on its traits, and element structs derive them
/// (with `#[zerocopy(crate = "zipc::zerocopy")]` when the crate has no zerocopy dependency).
pub use zerocopy;
pub use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
