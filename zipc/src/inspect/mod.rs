//! Inspection: a structured snapshot of a live segment — its header, every entry with kind,
//! element type, capacity and region, the live state of every structure, and the processes
//! attached to it — for `zipc-schema inspect` and for monitoring code.
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! let snap = zipc::inspect::inspect("/telemetry")?; // opens the segment unattached
//! for e in &snap.entries {
//!     if let Some(zipc::inspect::State::Queue(q)) = &e.state {
//!         println!("{}: {} of {} slots used", e.name, q.len, q.capacity);
//!     }
//! }
//! print!("{snap}"); // the report `zipc-schema inspect` prints
//! println!("{}", snap.to_json()); // ... and `zipc-schema inspect --json`
//! # Ok(()) }
//! ```
//!
//! # What is trusted
//!
//! The segment is opened like any other (header, table, descriptors and structure headers are
//! validated, so a malformed segment is an [`Error::Corrupt`](crate::Error::Corrupt)), but
//! *unattached*: looking at a segment does not make it look used. The live words of each
//! structure (positions, counts, owners) are then read once, with relaxed loads, while other
//! processes may change them: each value is a snapshot, and values read from different words
//! may belong to slightly different moments. Nothing read is trusted: derived figures are
//! clamped (a queue never shows more than its capacity) and impossible values are reported in
//! the entry's `problems` instead of being hidden or causing a panic. Each kind reads its own
//! words in its own file (`queue::inspect`, `ring::inspect`, ...).
//!
//! Segments made by ZeroIPC have no self-description: their entries are shown untyped (name,
//! offset, size, no state), and they have no process registry.
//!
//! # JSON
//!
//! [`Snapshot::to_json`] renders the snapshot as one JSON object. Field names are stable; new
//! fields may be added (readers should ignore unknown ones); `"zipc_inspect"` is the format
//! version, bumped if a field changes meaning or disappears. 64-bit values are plain JSON
//! numbers (exact in languages with 64-bit integers; JavaScript loses precision above 2^53),
//! except the fingerprint, a hex string. `null` means "none" (no holder, no element type, an
//! untyped entry's kind and state).
//!
//! ```text
//! {
//!   "zipc_inspect": 1,
//!   "segment": "/telemetry",            name
//!   "file_size": 65536,                 bytes of the shared-memory object
//!   "typed": true,                      false: made by ZeroIPC (no self-description)
//!   "header": { "magic", "version", "entry_count", "max_entries", "memory_size", "next_offset" },
//!   "zipc": null | {                    the self-description (entry 0, `__zipc`)
//!     "format_version", "max_processes", "creator_pid", "created_ns", "dirty_end",
//!     "table_lock": { "holder": HOLDER | null, "waiters": bool, "recoveries" },
//!     "lanes", "lanes_in_use": [ { "index", "owner": HOLDER, "lost", "operation": null |
//!       { "queue_offset", "structure": "name"|null, "kind": "push"|"pop", "first", "count",
//!         "claimed", "settled", "tombstone" } } ] },
//!   "processes": [ { "pid", "start_time", "refs", "alive" } ],   attached, from the registry
//!   "entries": [ {
//!     "index", "name", "offset", "size",
//!     "kind": "array" | "atomic" | "queue" | ... | null (untyped),
//!     "element": null | { "name", "layout", "size", "align", "fingerprint": "0x..." },
//!     "capacity", "flags", "initial", "maximum",    the descriptor's numbers (null if untyped)
//!     "state": null | STATE,                        by kind, below
//!     "problems": [ "..." ] } ],
//!   "problems": [ "..." ]                           about the segment as a whole
//! }
//! HOLDER = { "pid", "start_time", "alive" }
//! STATE by kind:
//!   array      { "len" }
//!   atomic     { "value", "waiters" }                   waiters: null for 64-bit values
//!   queue      { "policy", "capacity", "len", "head", "tail", "producer": HOLDER|null,
//!                "consumer": HOLDER|null, "producer_takeovers", "consumer_takeovers",
//!                "waiting_producers", "waiting_consumers", "lost" }
//!   ring       { "mode": "lossless"|"overwrite", "capacity", "len", "write_pos", "read_pos",
//!                "claim", "missed", "lost", "producer", "consumer", "waiting_consumers",
//!                "waiting_producers" }
//!   pool       { "capacity", "allocated", "acquired", "scanned", "waiting",
//!                "owners": [ { "pid", "start_time", "alive", "objects" } ] }
//!   semaphore  { "count", "max": n|null (unbounded), "waiting" }
//!   barrier    { "participants", "arrived", "generation", "sleepers" }
//!   latch      { "initial", "count", "waiters" }
//!   mutex      { "locked", "word_tid", "word_tid_alive", "kernel_waiters", "holder": null | { "tid", "pid",
//!                "start_time", "alive" }, "consistency": "consistent"|"inconsistent"|
//!                "not recoverable", "state_code", "owner_deaths" }
//!   event      { "mode": "auto"|"manual", "set", "sets", "waiters" }
//!   endpoint   { "a_to_b": QUEUE, "b_to_a": QUEUE }    QUEUE = the queue state above
//!   topic      { "mode": "lossless"|"lossy", "capacity", "max_subscribers", "history",
//!                "published", "publisher": HOLDER|null, "publisher_takeovers", "released",
//!                "subscribers": [ { "index", "holder": HOLDER|null, "cursor", "lag", "missed",
//!                "received" } ], "waiting_subscribers", "waiting_publishers" }
//!   stack      { "capacity", "len", "stacked": n|null, "free": n|null, "filling", "reclaimed",
//!                "poppers_waiting", "pushers_waiting" }
//! ```

use std::sync::atomic::Ordering::{Acquire, Relaxed};

pub use crate::segment::lane::{LaneOperation, LaneState};
pub use crate::structures::array::ArrayState;
pub use crate::structures::atomic::{AtomicState, Value};
pub use crate::structures::endpoint::EndpointState;
pub use crate::structures::future::FutureState;
pub use crate::structures::map::MapState;
pub use crate::structures::pool::{PoolOwner, PoolState, POOL_SCAN_LIMIT};
pub use crate::structures::queue::QueueState;
pub use crate::structures::ring::RingState;
pub use crate::structures::stack::StackState;
pub use crate::structures::sync::barrier::BarrierState;
pub use crate::structures::sync::condvar::CondvarState;
pub use crate::structures::sync::event::EventState;
pub use crate::structures::sync::latch::LatchState;
pub use crate::structures::sync::mutex::{Consistency, MutexHolderState, MutexState};
pub use crate::structures::sync::once::OnceState;
pub use crate::structures::sync::rwlock::RwLockState;
pub use crate::structures::sync::semaphore::SemaphoreState;
pub use crate::structures::topic::{SubscriberState, TopicState};
pub use crate::structures::State;
pub use crate::sys::role::Holder;

mod json;
mod report;

use crate::error::Result;
use crate::layout::Kind;
use crate::segment::description::{self, Descriptor};
use crate::segment::registry::Attached;
use crate::segment::table;
use crate::segment::Segment;
use crate::structures::render::{holder, holder_json, opt_holder_json, percent, plural, Json};
use crate::sys::process;

/// Version of the JSON rendering (its `"zipc_inspect"` field).
pub const JSON_FORMAT: u32 = 1;

/// Everything `inspect` shows about a segment, read at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The segment's name.
    pub segment: String,
    /// Size of the shared-memory object in bytes.
    pub file_size: u64,
    /// The ZeroIPC v2 header, as stored.
    pub header: TableHeader,
    /// zipc's self-description; `None` for segments made by ZeroIPC.
    pub zipc: Option<SelfDescription>,
    /// The processes attached (from the registry), with liveness. Empty for ZeroIPC segments.
    pub processes: Vec<Attached>,
    /// The user structures, in table order (zipc's reserved entry left out).
    pub entries: Vec<EntrySnapshot>,
    /// Oddities about the segment as a whole.
    pub problems: Vec<String>,
}

/// The segment header (ZeroIPC v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableHeader {
    /// `0x5A49504D`.
    pub magic: u32,
    /// `2`.
    pub version: u32,
    /// Published entries, zipc's own included.
    pub entry_count: u32,
    /// Table capacity.
    pub max_entries: u32,
    /// Segment size recorded in the header.
    pub memory_size: u64,
    /// First free byte (the bump pointer).
    pub next_offset: u64,
}

/// zipc's self-description (the `__zipc` entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelfDescription {
    /// zipc's format version.
    pub format_version: u32,
    /// Process registry slots.
    pub max_processes: u32,
    /// The process that created the segment.
    pub creator_pid: u32,
    /// Creation time, Unix nanoseconds.
    pub created_ns: u64,
    /// Highest byte any structure creation has written.
    pub dirty_end: u64,
    /// The lock that serialises structure creation.
    pub table_lock: TableLock,
    /// Lanes in the segment (`zipc::lane`).
    pub lanes: u32,
    /// The lanes in use: which thread's process owns each, and the queue operation it records.
    pub lanes_in_use: Vec<crate::segment::lane::LaneState>,
}

/// The table lock's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableLock {
    /// The process holding it, if any.
    pub holder: Option<Holder>,
    /// Whether a waiter may be asleep on it.
    pub waiters: bool,
    /// Times it was taken over from a holder that died.
    pub recoveries: u32,
}

/// One table entry and what it holds now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntrySnapshot {
    /// Index in the table.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Offset of the region from the segment start.
    pub offset: u64,
    /// Size of the region in bytes.
    pub size: u64,
    /// What the self-description records; `None` in segments made by ZeroIPC.
    pub descriptor: Option<Descriptor>,
    /// The live state; `None` for untyped entries (or if it could not be read: see `problems`).
    pub state: Option<State>,
    /// Oddities in the live state: impossible values, clamped for display.
    pub problems: Vec<String>,
}

impl EntrySnapshot {
    /// The kind, if the segment records one.
    pub fn kind(&self) -> Option<Kind> {
        self.descriptor.as_ref().map(|d| d.kind)
    }
}

/// Opens segment `name` unattached and takes a [`Snapshot`] of it.
pub fn inspect(name: &str) -> Result<Snapshot> {
    snapshot(&Segment::open_unattached(name)?)
}

/// Takes a [`Snapshot`] of an open segment. Fails only if an entry published since the segment
/// was opened is malformed ([`Error::Corrupt`](crate::Error::Corrupt)).
pub fn snapshot(segment: &Segment) -> Result<Snapshot> {
    let map = segment.mapping();
    let header = TableHeader {
        magic: map.u32_at(table::header::MAGIC).load(Relaxed),
        version: map.u32_at(table::header::VERSION).load(Relaxed),
        entry_count: map.u32_at(table::header::ENTRY_COUNT).load(Acquire),
        max_entries: map.u32_at(table::header::MAX_ENTRIES).load(Relaxed),
        memory_size: map.u64_at(table::header::MEMORY_SIZE).load(Relaxed),
        next_offset: map.u64_at(table::header::NEXT_OFFSET).load(Relaxed),
    };
    let mut problems = Vec::new();
    let infos = segment.entries()?;
    let queue_name = |offset: u64| {
        infos
            .iter()
            .find(|e| e.offset == offset && e.descriptor.as_ref().is_some_and(|d| d.kind == Kind::Queue))
            .map(|e| e.name.clone())
    };
    let zipc = segment.description().map(|d| {
        use description::header as h;
        let word = map.u32_at(d.field(h::LOCK_WORD)).load(Relaxed);
        let owner = map.u64_at(d.field(h::LOCK_OWNER)).load(Relaxed);
        let holder = match (word & crate::sys::robust_lock::PID_MASK, owner) {
            (0, _) => None,
            // Between the lock's two stores: the pid is known, the start time not yet.
            (pid, 0) => Some(Holder { pid, start_time: 0, alive: process::start_time(pid).is_some() }),
            (pid, owner) => {
                let h = Holder::from_tag(owner);
                if h.is_some_and(|h| h.pid != pid) {
                    problems.push(format!("the table lock word names pid {pid} but its owner field another process"));
                }
                h
            }
        };
        let dirty_end = map.u64_at(d.field(h::DIRTY_END)).load(Relaxed);
        if dirty_end > header.memory_size {
            problems.push(format!("dirty_end {dirty_end} lies beyond the segment's {} bytes", header.memory_size));
        }
        SelfDescription {
            format_version: map.u32_at(d.field(h::VERSION)).load(Relaxed),
            max_processes: d.max_processes,
            creator_pid: map.u32_at(d.field(h::CREATOR_PID)).load(Relaxed),
            created_ns: map.u64_at(d.field(h::CREATED_NS)).load(Relaxed),
            dirty_end,
            table_lock: TableLock {
                holder,
                waiters: word & crate::sys::robust_lock::WAITERS != 0,
                recoveries: map.u32_at(d.field(h::LOCK_RECOVERIES)).load(Relaxed),
            },
            lanes: d.lanes(),
            lanes_in_use: segment.lanes().map_or_else(Vec::new, |t| crate::segment::lane::inspect(&t, &queue_name)),
        }
    });
    let mut entries = Vec::new();
    for info in infos {
        let mut e = EntrySnapshot {
            index: info.index,
            name: info.name,
            offset: info.offset,
            size: info.size,
            descriptor: info.descriptor,
            state: None,
            problems: Vec::new(),
        };
        if let Some(desc) = &e.descriptor {
            match segment.locate(&e.name) {
                Ok(found) => e.state = Some(crate::structures::state::read(&found.region, desc, &mut e.problems)),
                Err(err) => e.problems.push(err.to_string()),
            }
        }
        entries.push(e);
    }
    Ok(Snapshot {
        segment: segment.name().to_owned(),
        file_size: map.len(),
        header,
        zipc,
        processes: segment.attached_processes(),
        entries,
        problems,
    })
}
