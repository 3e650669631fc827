//! The one error type of the runtime.
//!
//! Every fallible operation returns [`Result<T>`]. Each variant carries what a user needs to act:
//! the names involved, what was expected and what was found, and its `Display` says what to do.
//!
//! ```
//! use std::time::Duration;
//! use zipc::{Array, Error, Mpmc, Queue, Segment};
//!
//! # fn main() -> zipc::Result<()> {
//! let name = format!("/zipc-doc-error-{}", std::process::id());
//! let seg = Segment::create(&name, 1 << 20)?;
//! Array::<f32>::create(&seg, "temps", 16)?;
//! let jobs = Queue::<u64, Mpmc>::create(&seg, "jobs", 8)?;
//!
//! // Opening with another element type: refused, with both layouts in the error.
//! match Array::<u32>::open(&seg, "temps") {
//!     Err(Error::LayoutMismatch { structure, expected, found }) => {
//!         assert_eq!((structure.as_str(), expected.as_str(), found.as_str()), ("temps", "u32", "f32"));
//!     }
//!     other => panic!("expected a layout mismatch, got {other:?}"),
//! }
//! // A name that is not in the table.
//! assert!(matches!(Array::<f32>::open(&seg, "pressures"), Err(Error::NotFound { .. })));
//! // A blocking operation that times out.
//! assert!(matches!(jobs.pop(Some(Duration::from_millis(1))), Err(Error::Timeout)));
//! // Every error says what to do about it.
//! let e = Segment::open("/zipc-doc-no-such-segment").unwrap_err();
//! assert!(e.to_string().contains("/zipc-doc-no-such-segment"));
//!
//! drop((seg, jobs));
//! Segment::unlink(&name)?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::io;

use crate::layout::Kind;

/// What a name refers to: a whole segment or one structure inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// A named POSIX shared-memory segment.
    Segment,
    /// A structure (array, queue, ...) in a segment's table.
    Structure,
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Object::Segment => "segment",
            Object::Structure => "structure",
        })
    }
}

/// Everything that can go wrong in zipc.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No segment or structure of that name exists.
    NotFound {
        /// Segment or structure.
        object: Object,
        /// The name looked up.
        name: String,
    },
    /// A segment or structure of that name already exists.
    AlreadyExists {
        /// Segment or structure.
        object: Object,
        /// The name that is taken.
        name: String,
    },
    /// A segment or structure name breaks the naming rules.
    InvalidName {
        /// Segment or structure.
        object: Object,
        /// The offending name.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The segment's table has no free entry.
    TableFull {
        /// The segment.
        segment: String,
        /// How many entries the table holds (including zipc's reserved entry).
        capacity: u32,
    },
    /// Every slot of the segment's process registry is held by a live process.
    RegistryFull {
        /// The segment.
        segment: String,
        /// Registry slots (`max_processes`).
        capacity: u32,
    },
    /// Every lane of the segment (`layout/lane.rs`) belongs to a live process: more threads run
    /// multi-producer or multi-consumer queue operations on it at once than it has lanes.
    LanesFull {
        /// The segment.
        segment: String,
        /// Lanes in the segment (two per registry slot, at least 16).
        capacity: u32,
    },
    /// Every subscriber record of a topic is held by a live subscriber.
    SubscribersFull {
        /// The topic.
        structure: String,
        /// Subscribers it has room for (`max_subscribers`).
        max: u32,
    },
    /// A map or set holds its capacity of entries and the key inserted is not among them.
    MapFull {
        /// The map or set.
        structure: String,
        /// Entries it holds (its `capacity`).
        capacity: u64,
    },
    /// The segment has not enough free bytes for the structure.
    SegmentFull {
        /// The segment.
        segment: String,
        /// The structure that did not fit.
        structure: String,
        /// Bytes the structure needs (with alignment).
        needed: u64,
        /// Bytes still free at the end of the segment.
        free: u64,
    },
    /// The structure exists but is of another kind.
    KindMismatch {
        /// The structure.
        structure: String,
        /// The kind the caller declared.
        expected: Kind,
        /// The kind recorded in the segment (`None`: the segment records no kind).
        found: Option<Kind>,
    },
    /// The structure's element layout differs from the declared one.
    LayoutMismatch {
        /// The structure.
        structure: String,
        /// Canonical layout string of the declared element type.
        expected: String,
        /// Canonical layout string recorded in the segment.
        found: String,
    },
    /// The structure's capacity differs from the declared one.
    CapacityMismatch {
        /// The structure.
        structure: String,
        /// The declared capacity.
        expected: u64,
        /// The capacity recorded in the segment.
        found: u64,
    },
    /// A structure parameter other than kind, layout or capacity differs (a queue's policy, a
    /// ring's overwrite mode, an atomic's value type, ...).
    ParameterMismatch {
        /// The structure.
        structure: String,
        /// The parameter, for example `"policy"`.
        parameter: &'static str,
        /// The declared value.
        expected: String,
        /// The value recorded in the segment.
        found: String,
    },
    /// Several structures of a declared segment differ from what the segment holds; every
    /// difference is listed.
    Incompatible {
        /// The segment.
        segment: String,
        /// One error per difference.
        mismatches: Vec<Error>,
    },
    /// The segment's bytes are malformed. Nothing was touched beyond validation.
    Corrupt {
        /// The segment.
        segment: String,
        /// The field or structure at fault, for example `"header.entry_count"`.
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The operating system refused access to the segment.
    PermissionDenied {
        /// The segment.
        segment: String,
        /// The system call that failed.
        call: &'static str,
    },
    /// A declaration or argument is invalid (zero capacity, a size too small, ...).
    InvalidArgument {
        /// What is invalid.
        what: String,
        /// Why.
        detail: String,
    },
    /// An index or range is outside a structure.
    IndexOutOfBounds {
        /// The structure.
        structure: String,
        /// First index of the access.
        index: u64,
        /// Number of elements accessed.
        count: u64,
        /// The structure's length.
        len: u64,
    },
    /// A blocking operation reached its timeout.
    Timeout,
    /// The queue, ring or topic was closed: nothing more may be sent, and a receiver has taken
    /// everything that was sent before the close.
    Closed {
        /// The structure.
        structure: String,
    },
    /// A role that only one handle may hold at a time (a ring's or a single-producer/consumer
    /// queue's producer or consumer, a side of an endpoint) is held by another live handle.
    RoleTaken {
        /// The structure.
        structure: String,
        /// The role: `"producer"`, `"consumer"`, `"side A"`, ...
        role: &'static str,
        /// The process holding it (possibly this one).
        pid: u32,
    },
    /// A pool handle does not name a live object: it was released (perhaps twice), or it belongs
    /// to another pool.
    StaleHandle {
        /// The pool.
        structure: String,
        /// The handle's slot index.
        index: u32,
        /// The handle's generation.
        generation: u32,
        /// The slot's current generation.
        current: u32,
    },
    /// Releasing a semaphore would raise its count above its maximum.
    AboveMaximum {
        /// The semaphore.
        structure: String,
        /// Its maximum count.
        maximum: i64,
    },
    /// A robust mutex whose holder died was released without being marked consistent, so what
    /// it protects cannot be trusted: every lock fails from then on (glibc's `ENOTRECOVERABLE`).
    NotRecoverable {
        /// The mutex.
        structure: String,
    },
    /// The calling thread already holds the mutex; locking it again would never return.
    WouldDeadlock {
        /// The mutex.
        structure: String,
    },
    /// The segment cannot be removed: live processes are attached to it (or, for a leftover of
    /// a segment under construction, its creator is alive).
    InUse {
        /// The segment (or leftover) name.
        segment: String,
        /// The live processes using it.
        pids: Vec<u32>,
    },
    /// Any other operating-system error.
    Os {
        /// The system call that failed.
        call: &'static str,
        /// The segment it was applied to.
        name: String,
        /// The error the OS reported.
        source: io::Error,
    },
}

/// `Result` with zipc's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds a [`Error::Corrupt`].
    pub(crate) fn corrupt(segment: &str, field: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Corrupt { segment: segment.to_owned(), field: field.into(), detail: detail.into() }
    }

    /// Builds an [`Error::InvalidArgument`].
    pub(crate) fn invalid(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::InvalidArgument { what: what.into(), detail: detail.into() }
    }

    /// Maps an OS error from `call` on segment `name` to the matching variant.
    pub(crate) fn os(call: &'static str, name: &str, err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::NotFound => Error::NotFound { object: Object::Segment, name: name.to_owned() },
            io::ErrorKind::AlreadyExists => Error::AlreadyExists { object: Object::Segment, name: name.to_owned() },
            io::ErrorKind::PermissionDenied => Error::PermissionDenied { segment: name.to_owned(), call },
            _ => Error::Os { call, name: name.to_owned(), source: err },
        }
    }

    /// True for the mismatch variants that [`Error::Incompatible`] collects.
    pub fn is_mismatch(&self) -> bool {
        matches!(
            self,
            Error::KindMismatch { .. }
                | Error::LayoutMismatch { .. }
                | Error::CapacityMismatch { .. }
                | Error::ParameterMismatch { .. }
                | Error::NotFound { object: Object::Structure, .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { object: Object::Segment, name } => write!(
                f,
                "segment {name:?} does not exist: create it first, or check the name (`zipc-schema list` shows live segments)"
            ),
            Error::NotFound { object: Object::Structure, name } => write!(
                f,
                "structure {name:?} is not in the segment: create it first, or check the name (`zipc-schema inspect` lists the entries)"
            ),
            Error::AlreadyExists { object, name } => write!(
                f,
                "{object} {name:?} already exists: open it instead, use open_or_create, or remove the old one first"
            ),
            Error::InvalidName { object, name, reason } => {
                write!(f, "invalid {object} name {name:?}: {reason}")
            }
            Error::TableFull { segment, capacity } => write!(
                f,
                "the table of segment {segment:?} is full ({capacity} entries, one reserved for zipc): create the segment with a larger max_entries"
            ),
            Error::RegistryFull { segment, capacity } => write!(
                f,
                "segment {segment:?} already has {capacity} live processes attached, its max_processes: create it with a larger max_processes"
            ),
            Error::SubscribersFull { structure, max } => write!(
                f,
                "topic {structure:?} already has {max} live subscribers, its max_subscribers: drop a subscriber, or declare the topic with a larger max_subscribers"
            ),
            Error::MapFull { structure, capacity } => write!(
                f,
                "{structure:?} already holds {capacity} entries, its capacity: remove some, or declare it with a larger capacity"
            ),
            Error::LanesFull { segment, capacity } => write!(
                f,
                "all {capacity} lanes of segment {segment:?} belong to live threads (one per thread using its multi-producer or multi-consumer queues, one per such role handle): create the segment with a larger max_processes (two lanes each), or use fewer threads"
            ),
            Error::SegmentFull { segment, structure, needed, free } => write!(
                f,
                "segment {segment:?} has no room for structure {structure:?}: it needs {needed} bytes but only {free} are free; create the segment larger"
            ),
            Error::KindMismatch { structure, expected, found: Some(found) } => write!(
                f,
                "structure {structure:?} is a {found}, not a {expected}: open it as a {found} or fix the declaration"
            ),
            Error::KindMismatch { structure, expected, found: None } => write!(
                f,
                "structure {structure:?} has no zipc self-description (made by ZeroIPC?), so it cannot be opened as a {expected}"
            ),
            Error::LayoutMismatch { structure, expected, found } => write!(
                f,
                "structure {structure:?} holds elements of another layout:\n  declared: {expected}\n  in segment: {found}\nboth sides must declare the same element type"
            ),
            Error::CapacityMismatch { structure, expected, found } => write!(
                f,
                "structure {structure:?} has capacity {found}, but {expected} was declared: fix the declaration or recreate the segment"
            ),
            Error::ParameterMismatch { structure, parameter, expected, found } => write!(
                f,
                "structure {structure:?} has {parameter} {found}, but {expected} was declared: fix the declaration or recreate the segment"
            ),
            Error::Incompatible { segment, mismatches } => {
                write!(
                    f,
                    "segment {segment:?} does not match its declaration ({} difference{}):",
                    mismatches.len(),
                    if mismatches.len() == 1 { "" } else { "s" }
                )?;
                for m in mismatches {
                    write!(f, "\n  - {}", m.to_string().replace('\n', "\n    "))?;
                }
                Ok(())
            }
            Error::Corrupt { segment, field, detail } => write!(
                f,
                "segment {segment:?} is corrupt at {field}: {detail}; it was not made by a compatible zipc or ZeroIPC, or was damaged (remove it with `zipc-schema rm`)"
            ),
            Error::PermissionDenied { segment, call } => write!(
                f,
                "permission denied by {call} for segment {segment:?}: run as the segment's owner, or create it with a wider mode"
            ),
            Error::InvalidArgument { what, detail } => write!(f, "invalid {what}: {detail}"),
            Error::IndexOutOfBounds { structure, index, count: 1, len } => {
                write!(f, "index {index} is out of bounds for structure {structure:?} of length {len}")
            }
            Error::IndexOutOfBounds { structure, index, count, len } => write!(
                f,
                "elements {index}..{} are out of bounds for structure {structure:?} of length {len}",
                index.saturating_add(*count)
            ),
            Error::Timeout => f.write_str("the operation timed out"),
            Error::Closed { structure } => write!(
                f,
                "structure {structure:?} is closed: it takes nothing more, and everything sent before the close has been received"
            ),
            Error::RoleTaken { structure, role, pid } => {
                let who = if *pid == std::process::id() { format!("another handle in this process ({pid})") } else { format!("process {pid}") };
                write!(
                    f,
                    "the {role} of structure {structure:?} is held by {who}: only one handle may hold it at a time; drop the other handle (a dead holder's role is taken over automatically), or use a queue policy with multiple producers/consumers"
                )
            }
            Error::StaleHandle { structure, index, generation, current } => write!(
                f,
                "handle {index}:{generation} of pool {structure:?} is stale (the slot is at generation {current}): it was released already, or comes from another pool; do not use a handle after releasing it"
            ),
            Error::AboveMaximum { structure, maximum } => write!(
                f,
                "releasing semaphore {structure:?} would raise its count above its maximum {maximum}: release only permits that were acquired, or declare a larger max"
            ),
            Error::NotRecoverable { structure } => write!(
                f,
                "mutex {structure:?} is not recoverable: a holder died inside the critical section and the next holder released it without calling mark_consistent; the data it protects cannot be trusted, so recreate it (with the segment)"
            ),
            Error::WouldDeadlock { structure } => write!(
                f,
                "this thread already holds mutex {structure:?}: locking it again would deadlock; drop the guard first"
            ),
            Error::InUse { segment, pids } => {
                let list: Vec<String> = pids.iter().map(u32::to_string).collect();
                write!(
                    f,
                    "{segment:?} is in use by live process{} {}: stop {} first, or force the removal (processes that have it mapped keep using the removed segment, and new ones no longer find it)",
                    if pids.len() == 1 { "" } else { "es" },
                    list.join(", "),
                    if pids.len() == 1 { "it" } else { "them" }
                )
            }
            Error::Os { call, name, source } => write!(f, "{call} failed for {name:?}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Os { source, .. } => Some(source),
            _ => None,
        }
    }
}
