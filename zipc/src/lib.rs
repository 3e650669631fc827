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
//! A whole segment can be declared once, as a struct, with the derives (default `derive`
//! feature); mistakes such as padding, a missing capacity or a name too long are compile errors:
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use zipc::{Array, Atomic, ShmSegment};
//!
//! #[derive(ShmSegment)]
//! #[zipc(name = "/telemetry")]
//! struct Telemetry {
//!     #[zipc(capacity = 1024)]
//!     temps: Array<f32>,
//!     seq: Atomic<u64>,
//! }
//!
//! let t = Telemetry::create_default()?; // sized exactly, structures in place
//! let other = Telemetry::open_default()?; // checks kind, layout and capacity of each
//! # Telemetry::unlink_default() }
//! ```
//!
//! ## The structures
//!
//! | kind | type | |
//! |---|---|---|
//! | array | [`Array<T>`] | fixed-length elements, unsynchronised; atomic operations on integer elements |
//! | atomic | [`Atomic<T>`] | one `u32`/`i32`/`u64`/`i64`; 32-bit ones can be waited on |
//! | queue | [`Queue<T, P>`] | bounded lock-free FIFO, policy [`Spsc`], [`Mpsc`] or [`Mpmc`] |
//! | ring | [`Ring<T>`] | single-producer stream, lossless or overwrite, bulk operations, `get_last_n` |
//! | pool | [`Pool<T>`] | fixed set of objects with generation-checked [`Handle`]s |
//! | stack | [`Stack<T>`] | bounded lock-free LIFO, ABA-safe |
//! | map, set | [`Map<K, V>`], [`Set<K>`] | fixed-capacity hash map and set: lock-free lookups, values never torn |
//! | endpoint | [`Endpoint<T>`] | duplex channel of two SPSC queues |
//! | semaphore, barrier, latch | [`Semaphore`], [`Barrier`], [`Latch`] | ZeroIPC-compatible sync primitives |
//! | once | [`Once`] | one-time initialisation across processes; a dead initialiser's work is run again |
//! | future | [`Future<T>`] | a one-shot value set once and awaited by many; `get_or_init` computes it lazily |
//! | rwlock | [`RwLock`] | robust readers–writer lock: dead readers and writers are taken over, writers not starved |
//! | mutex, condvar, event | [`Mutex`], [`Condvar`], [`Event`] | a robust lock that reports a dead holder and its condition variable; auto/manual-reset events |
//!
//! Element types implement [`ShmType`] (`#[derive(ShmType)]`): fixed-width, `#[repr(C)]`, no
//! implicit padding, every bit pattern valid. Every structure has non-blocking `try_*`
//! operations and blocking ones with an optional timeout ([`Error::Timeout`]); blocking sleeps on
//! a futex and costs the other side no system call while nobody sleeps.
//!
//! The same declaration can be written as a TOML schema, from which the `zipc-schema` crate
//! generates this Rust (through `zipc_schema::Builder` and [`include_schema!`]), a C header and a
//! Python module. The `zipc-examples` package has a complete multi-process program for each
//! kind of use (`cargo run -p zipc-examples --bin producer_consumer`, ...).
//!
//! Processes that know their element types only at run time use [`dynamic`]: the same structures,
//! opened by name, with elements passed as bytes whose size and layout are checked. C and Python
//! use zipc through its C ABI, [`ffi`], built as `libzipc` (`docs/C.md`).
//!
//! The byte-level format is in `docs/FORMAT.md`, the architecture in `docs/ARCHITECTURE.md`.
//!
//! ## Safety model
//!
//! Segment bytes are written by other processes and are never trusted: opening validates the
//! header, every entry and every descriptor against the mapped size, and structures validate their
//! own headers. No `&T`/`&mut T` is formed over bytes another process may write, except atomics
//! and a lossless [`Topic`]'s loans and samples, whose protocol gives the slot to the publisher
//! alone while it is loaned and to readers alone until the last one releases it.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// The layers, each importing only those above it in this list (docs/ARCHITECTURE.md, "Layers";
// `tests/tests/layers.rs` checks it):
#[doc(hidden)]
pub mod derive_support;
pub mod dynamic;
pub mod error;
pub mod ffi;
#[doc(hidden)]
pub mod fuzzing;
pub mod inspect;
pub mod layout; // the format as const data: types, fingerprints, kinds, regions, the table
pub mod segment; // mapping, table, self-description, registry, lanes, `Segment`, /dev/shm
pub mod shm_type;
pub mod structures; // `Structure` and every kind: arrays, atomics, queues, rings, pools, sync
mod sys; // the OS and the memory model: futexes, fences, atomics, process identity, roles

// The module paths of zipc 0.1, kept: each kind under its name, and the format's parts.
pub use layout::message;
pub use segment::{registry, shm_dir};
pub use structures as structure;
pub use structures::queue::recovery;
pub use structures::sync::{barrier, condvar, event, latch, mutex, once, rwlock, semaphore};
pub use structures::{array, atomic, endpoint, future, map, pool, queue, ring, set, stack, topic};
pub use sys::process;
#[cfg(not(loom))]
pub use sys::reactor;
#[cfg(not(loom))]
pub use sys::readiness_fd;
pub use sys::wait_set;

/// The ZeroIPC v2 header and metadata table ([`layout::table`]; the segment layer reads it).
pub mod table {
    pub use crate::layout::table::*;
    pub use crate::segment::table::Entry;
}

/// zipc's self-description, the `__zipc` entry ([`layout::description`]; the segment layer
/// reads and writes it).
pub mod description {
    pub use crate::layout::description::*;
}

/// Lanes: per-thread records of multi-producer/consumer queue operations in flight
/// ([`layout::lane`]; the segment holds them, the queues take them).
pub mod lane {
    pub use crate::layout::lane::*;
    pub use crate::segment::lane::{LaneOperation, LaneState};
}

pub use array::Array;
pub use atomic::{Atomic, AtomicValue, Futex32};
pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::Condvar;
pub use endpoint::{Endpoint, EndpointSide, Side};
pub use error::{Error, Object, Result};
pub use event::{Event, ResetMode};
pub use latch::Latch;
pub use map::Map;
pub use mutex::{Mutex, MutexGuard, MutexHolder};
pub use once::{Once, OnceGuard};
pub use pool::{Handle, Pool};
pub use queue::{Consumer, Mpmc, Mpsc, Policy, Producer, Queue, Spsc};
#[cfg(not(loom))]
pub use reactor::{until_ready, Ready};
pub use ring::{Ring, RingConsumer, RingMode, RingProducer};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use segment::mapping::{check_segment_name, page_size, MAX_SEGMENT_NAME_LEN};
pub use segment::{EntryInfo, Segment, SegmentOptions};
pub use semaphore::{Semaphore, SemaphoreGuard};
pub use set::Set;
pub use shm_type::{AtomicInt, ShmType};
pub use stack::Stack;
pub use structure::Structure;
pub use structures::future::Future;
#[cfg(not(loom))]
pub use sys::readiness_fd::ReadinessFd;
pub use topic::{Loan, Lossless, Lossy, Publisher, Sample, Subscriber, Topic, TopicMode};
pub use wait_set::{Readiness, WaitSet};
/// `#[derive(ShmType)]` and `#[derive(ShmSegment)]` (the default `derive` feature).
#[cfg(feature = "derive")]
pub use zipc_derive::{ShmSegment, ShmType};

/// zerocopy, re-exported: [`ShmType`] builds on its traits, and element structs derive them
/// (with `#[zerocopy(crate = "zipc::zerocopy")]` when the crate has no zerocopy dependency).
pub use zerocopy;

/// Futex and membarrier system calls this process has made through zipc so far: for tests of the
/// promise that an operation makes no system call when nobody waits. Not part of the API.
#[doc(hidden)]
pub fn blocking_syscalls() -> u64 {
    sys::futex::syscalls()
}
pub use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Includes the Rust module that `zipc_schema::Builder` generated from a TOML schema in the
/// build script: `zipc::include_schema!("telemetry")` includes `$OUT_DIR/telemetry.rs` (the
/// schema's file stem), which declares the element types and the segment struct with
/// `#[derive(ShmType)]` and `#[derive(ShmSegment)]`.
///
/// ```text
/// // build.rs (build-dependency zipc-schema):
/// zipc_schema::Builder::new().schema("schemas/telemetry.toml").compile()?;
///
/// // src/lib.rs:
/// mod telemetry {
///     zipc::include_schema!("telemetry");
/// }
/// let t = telemetry::Telemetry::create("/telemetry")?;
/// ```
#[macro_export]
macro_rules! include_schema {
    ($stem:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $stem, ".rs"));
    };
}
