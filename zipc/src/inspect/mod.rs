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
//! ```

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::Ordering::{Acquire, Relaxed};

use crate::error::Result;
use crate::layout::Kind;
use crate::segment::description::{self, Descriptor};
use crate::segment::registry::Attached;
use crate::segment::table;
use crate::segment::Segment;
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

/// A process recorded in a segment word: a role's holder, a lock's owner, a pool object's
/// acquirer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Its pid.
    pub pid: u32,
    /// Its start time (clock ticks since boot, 40 bits), as recorded.
    pub start_time: u64,
    /// Whether that process is alive now (same pid and start time, not a zombie).
    pub alive: bool,
}

impl Holder {
    /// The holder a `pid << 40 | start_time` word names; `None` for 0.
    pub(crate) fn from_tag(word: u64) -> Option<Holder> {
        (word != 0).then(|| {
            let p = crate::sys::role::untag(word);
            Holder { pid: p.pid, start_time: p.start_time, alive: process::is_alive(p) }
        })
    }
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

/// The live state of one structure, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// An array.
    Array(ArrayState),
    /// An atomic.
    Atomic(AtomicState),
    /// A queue.
    Queue(QueueState),
    /// A ring.
    Ring(RingState),
    /// A pool.
    Pool(PoolState),
    /// A semaphore.
    Semaphore(SemaphoreState),
    /// A barrier.
    Barrier(BarrierState),
    /// A latch.
    Latch(LatchState),
    /// A mutex.
    Mutex(MutexState),
    /// An event.
    Event(EventState),
    /// An endpoint.
    Endpoint(EndpointState),
}

/// An array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayState {
    /// Number of elements.
    pub len: u64,
}

/// An atomic integer's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// A `u32` or `u64`.
    Unsigned(u64),
    /// An `i32` or `i64`.
    Signed(i64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unsigned(v) => write!(f, "{v}"),
            Value::Signed(v) => write!(f, "{v}"),
        }
    }
}

/// An atomic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtomicState {
    /// The value.
    pub value: Value,
    /// Processes asleep in `wait` (32-bit values only; `None` for 64-bit ones).
    pub waiters: Option<u32>,
}

/// A queue (or one direction of an endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueState {
    /// `"spsc"`, `"mpsc"` or `"mpmc"`.
    pub policy: &'static str,
    /// Slots.
    pub capacity: u64,
    /// Elements in the queue (`tail - head`, clamped to `0..=capacity`).
    pub len: u64,
    /// Next position to pop.
    pub head: u64,
    /// Next position to push.
    pub tail: u64,
    /// The producer role's holder (single-producer policies).
    pub producer: Option<Holder>,
    /// The consumer role's holder (single-consumer policies).
    pub consumer: Option<Holder>,
    /// Times the producer role was taken over from a dead holder.
    pub producer_takeovers: u32,
    /// Times the consumer role was taken over from a dead holder.
    pub consumer_takeovers: u32,
    /// Producers asleep in a blocking push.
    pub waiting_producers: u32,
    /// Consumers asleep in a blocking pop.
    pub waiting_consumers: u32,
    /// Messages lost to processes that died mid-operation.
    pub lost: u64,
}

/// A ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingState {
    /// Overwrite mode (else lossless).
    pub overwrite: bool,
    /// Slots.
    pub capacity: u64,
    /// Elements written and not yet passed by the consumer (clamped to `0..=capacity`).
    pub len: u64,
    /// Elements written (the producer's position).
    pub write_pos: u64,
    /// The consumer's position.
    pub read_pos: u64,
    /// Elements whose writing has begun.
    pub claim: u64,
    /// Elements the consumer skipped because they were overwritten.
    pub missed: u64,
    /// Elements lost to consumers that died mid-pop.
    pub lost: u64,
    /// The producer role's holder.
    pub producer: Option<Holder>,
    /// The consumer role's holder.
    pub consumer: Option<Holder>,
    /// Consumers asleep waiting for data.
    pub waiting_consumers: u32,
    /// Producers asleep waiting for space (lossless mode).
    pub waiting_producers: u32,
}

/// A pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolState {
    /// Objects.
    pub capacity: u64,
    /// The header's count of acquired objects.
    pub allocated: u64,
    /// Slots found acquired (odd generation) among the scanned ones.
    pub acquired: u64,
    /// Slots scanned (all of them, up to [`POOL_SCAN_LIMIT`]).
    pub scanned: u64,
    /// Who holds the acquired objects: one entry per process, most objects first.
    pub owners: Vec<PoolOwner>,
    /// Acquirers asleep waiting for a release.
    pub waiting: u32,
}

/// Pools larger than this are inspected on their first `POOL_SCAN_LIMIT` slots.
pub const POOL_SCAN_LIMIT: u64 = 1 << 20;

/// Pool objects held by one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOwner {
    /// The process (0 pid: acquired slots with no owner recorded).
    pub holder: Holder,
    /// How many objects it holds.
    pub objects: u64,
}

/// A semaphore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemaphoreState {
    /// Permits available (as stored; negative only if damaged).
    pub count: i32,
    /// The maximum; `None` if unbounded.
    pub max: Option<u32>,
    /// Processes asleep in acquire.
    pub waiting: u32,
}

/// A barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierState {
    /// Participants per generation.
    pub participants: u32,
    /// Arrivals in the current generation (as stored).
    pub arrived: i32,
    /// Completed generations (wrapping).
    pub generation: u32,
    /// Processes asleep in wait.
    pub sleepers: u32,
}

/// A latch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatchState {
    /// The initial count.
    pub initial: u32,
    /// Count-downs still needed (as stored; ≤ 0 means released).
    pub count: i32,
    /// Processes asleep in wait.
    pub waiters: u32,
}

/// A robust mutex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutexState {
    /// Whether the lock word names an owner.
    pub locked: bool,
    /// The thread id in the lock word (0 if free).
    pub word_tid: u32,
    /// Whether the thread in the lock word exists (a dead one is taken over by the next locker).
    pub word_tid_alive: bool,
    /// Whether the kernel has queued waiters (`FUTEX_WAITERS`).
    pub kernel_waiters: bool,
    /// The thread recorded inside the critical section (or one that died there).
    pub holder: Option<MutexHolderState>,
    /// Consistent, inconsistent (a holder died) or not recoverable.
    pub consistency: Consistency,
    /// The `state` word as stored.
    pub state_code: u32,
    /// Times a holder died inside the critical section.
    pub owner_deaths: u32,
}

/// A mutex holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MutexHolderState {
    /// Thread id.
    pub tid: u32,
    /// Its process.
    pub pid: u32,
    /// The thread's start time (0 if unknown).
    pub start_time: u64,
    /// Whether that thread is alive now.
    pub alive: bool,
}

/// A robust mutex's consistency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// Usable.
    Consistent,
    /// A holder died; the current holder has not marked it consistent.
    Inconsistent,
    /// Unusable: every lock fails.
    NotRecoverable,
}

impl Consistency {
    /// `"consistent"`, `"inconsistent"` or `"not recoverable"`.
    pub fn name(self) -> &'static str {
        match self {
            Consistency::Consistent => "consistent",
            Consistency::Inconsistent => "inconsistent",
            Consistency::NotRecoverable => "not recoverable",
        }
    }
}

/// An event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventState {
    /// Manual reset (else auto).
    pub manual_reset: bool,
    /// Whether it is set.
    pub set: bool,
    /// How many times it was set (wrapping at 2^31).
    pub sets: u32,
    /// Processes asleep in wait.
    pub waiters: u32,
}

/// An endpoint: its two queues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointState {
    /// Side A sends here, side B receives.
    pub a_to_b: QueueState,
    /// Side B sends here, side A receives.
    pub b_to_a: QueueState,
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
                Ok(found) => e.state = Some(read_state(&found.region, desc, &mut e.problems)),
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

/// The per-kind dispatch: each kind reads its own words.
fn read_state(region: &crate::segment::region::Region, desc: &Descriptor, problems: &mut Vec<String>) -> State {
    match desc.kind {
        Kind::Array => State::Array(crate::structures::array::inspect(desc)),
        Kind::Atomic => State::Atomic(crate::structures::atomic::inspect(region, desc)),
        Kind::Queue => State::Queue(crate::structures::queue::inspect(region, desc, problems)),
        Kind::Ring => State::Ring(crate::structures::ring::inspect(region, desc, problems)),
        Kind::Pool => State::Pool(crate::structures::pool::inspect(region, desc, problems)),
        Kind::Semaphore => State::Semaphore(crate::structures::sync::semaphore::inspect(region, desc, problems)),
        Kind::Barrier => State::Barrier(crate::structures::sync::barrier::inspect(region, desc, problems)),
        Kind::Latch => State::Latch(crate::structures::sync::latch::inspect(region, desc, problems)),
        Kind::Mutex => State::Mutex(crate::structures::sync::mutex::inspect(region, problems)),
        Kind::Event => State::Event(crate::structures::sync::event::inspect(region, desc)),
        Kind::Endpoint => State::Endpoint(crate::structures::endpoint::inspect(region, desc, problems)),
    }
}

/// Groups acquired pool slots by owner word, liveness checked once per owner.
pub(crate) fn pool_owners(counts: HashMap<u64, u64>) -> Vec<PoolOwner> {
    let mut owners: Vec<PoolOwner> = counts
        .into_iter()
        .map(|(tag, objects)| PoolOwner {
            holder: Holder::from_tag(tag).unwrap_or(Holder { pid: 0, start_time: 0, alive: false }),
            objects,
        })
        .collect();
    owners.sort_by(|a, b| b.objects.cmp(&a.objects).then(a.holder.pid.cmp(&b.holder.pid)));
    owners
}

// ---------------------------------------------------------------------------------------------
// The human report
// ---------------------------------------------------------------------------------------------

const BAR_WIDTH: u64 = 20;

/// `[#####...............]`: `used` of `total`, rounded up so that any use shows.
fn bar(used: u64, total: u64) -> String {
    let filled =
        if total == 0 { 0 } else { (used.min(total) as u128 * BAR_WIDTH as u128).div_ceil(total as u128) as u64 };
    format!("[{}{}]", "#".repeat(filled as usize), ".".repeat((BAR_WIDTH - filled) as usize))
}

fn percent(used: u64, total: u64) -> String {
    if total == 0 {
        return "-".to_owned();
    }
    format!("{:.0}%", used.min(total) as f64 * 100.0 / total as f64)
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{bytes} bytes ({v:.1} {})", UNITS[u])
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn holder(h: &Option<Holder>) -> String {
    match h {
        None => "none".to_owned(),
        Some(h) => format!("pid {} ({})", h.pid, if h.alive { "alive" } else { "dead" }),
    }
}

/// `2026-05-01 12:00:00 UTC` from Unix nanoseconds.
fn utc(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (non-negative here).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn queue_lines(q: &QueueState, label: &str, out: &mut Vec<String>) {
    out.push(format!("{label}{} {}/{} ({})", bar(q.len, q.capacity), q.len, q.capacity, percent(q.len, q.capacity)));
    let mut roles = Vec::new();
    if q.policy != "mpmc" {
        if q.policy == "spsc" {
            roles.push(format!("producer {}", holder(&q.producer)));
        }
        roles.push(format!("consumer {}", holder(&q.consumer)));
    }
    roles.push(format!("head {}, tail {}", q.head, q.tail));
    out.push(roles.join("; "));
    let mut extra = Vec::new();
    if q.waiting_producers > 0 || q.waiting_consumers > 0 {
        extra.push(format!("asleep: {} producers, {} consumers", q.waiting_producers, q.waiting_consumers));
    }
    if q.producer_takeovers > 0 || q.consumer_takeovers > 0 {
        extra.push(format!(
            "roles taken over from dead holders: producer {}, consumer {}",
            q.producer_takeovers, q.consumer_takeovers
        ));
    }
    if q.lost > 0 {
        extra.push(format!("{} lost to processes that died mid-operation", plural(q.lost, "message", "messages")));
    }
    if !extra.is_empty() {
        out.push(extra.join("; "));
    }
}

impl State {
    /// The human report's lines for this state.
    fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            State::Array(a) => out.push(plural(a.len, "element", "elements")),
            State::Atomic(a) => out.push(match a.waiters {
                Some(w) if w > 0 => format!("value {}; {} asleep in wait", a.value, w),
                _ => format!("value {}", a.value),
            }),
            State::Queue(q) => queue_lines(q, &format!("{} ", q.policy), &mut out),
            State::Ring(r) => {
                let mode = if r.overwrite { "overwrite" } else { "lossless" };
                out.push(format!(
                    "{mode} {} {}/{} ({})",
                    bar(r.len, r.capacity),
                    r.len,
                    r.capacity,
                    percent(r.len, r.capacity)
                ));
                let lost = if r.lost > 0 { format!(", lost {}", r.lost) } else { String::new() };
                out.push(format!(
                    "written {}, read {}, missed {}{lost}; producer {}; consumer {}",
                    r.write_pos,
                    r.read_pos.saturating_sub(r.missed).saturating_sub(r.lost),
                    r.missed,
                    holder(&r.producer),
                    holder(&r.consumer)
                ));
                if r.waiting_consumers > 0 || r.waiting_producers > 0 {
                    out.push(format!("asleep: {} consumers, {} producers", r.waiting_consumers, r.waiting_producers));
                }
            }
            State::Pool(p) => {
                out.push(format!(
                    "{} {}/{} acquired ({})",
                    bar(p.acquired, p.scanned),
                    p.acquired,
                    p.scanned,
                    percent(p.acquired, p.scanned)
                ));
                if p.scanned < p.capacity {
                    out.push(format!("(first {} of {} slots scanned)", p.scanned, p.capacity));
                }
                if !p.owners.is_empty() {
                    let shown: Vec<String> = p
                        .owners
                        .iter()
                        .take(8)
                        .map(|o| format!("{} holds {}", holder(&Some(o.holder)), o.objects))
                        .collect();
                    let more = p.owners.len().saturating_sub(8);
                    out.push(format!(
                        "owners: {}{}",
                        shown.join(", "),
                        if more > 0 { format!(", and {more} more") } else { String::new() }
                    ));
                }
                if p.waiting > 0 {
                    out.push(format!("{} asleep in acquire", p.waiting));
                }
            }
            State::Semaphore(s) => out.push(format!(
                "count {}{}; {} asleep in acquire",
                s.count,
                s.max.map_or_else(|| " (unbounded)".to_owned(), |m| format!(" of max {m}")),
                s.waiting
            )),
            State::Barrier(b) => out.push(format!(
                "generation {}; {} of {} arrived; {} asleep",
                b.generation, b.arrived, b.participants, b.sleepers
            )),
            State::Latch(l) => out.push(if l.count <= 0 {
                format!("released (count {} of {}); {} asleep", l.count, l.initial, l.waiters)
            } else {
                format!("count {} of {}; {} asleep", l.count, l.initial, l.waiters)
            }),
            State::Mutex(m) => {
                let lock = match (&m.holder, m.locked) {
                    (Some(h), _) => format!(
                        "locked by thread {} of pid {} ({})",
                        h.tid,
                        h.pid,
                        if h.alive { "alive" } else { "dead: the next locker takes over" }
                    ),
                    (None, true) if m.word_tid_alive => {
                        format!("locked by thread {} (entering or leaving)", m.word_tid)
                    }
                    (None, true) => {
                        format!("locked by thread {}, which is gone: the next locker takes over", m.word_tid)
                    }
                    (None, false) => "unlocked".to_owned(),
                };
                out.push(format!(
                    "{lock}; {}; {}{}",
                    m.consistency.name(),
                    plural(u64::from(m.owner_deaths), "owner death", "owner deaths"),
                    if m.kernel_waiters { "; waiters queued" } else { "" }
                ));
            }
            State::Event(e) => out.push(format!(
                "{} ({} reset); sets: {}; {} asleep",
                if e.set { "set" } else { "clear" },
                if e.manual_reset { "manual" } else { "auto" },
                e.sets,
                e.waiters
            )),
            State::Endpoint(ep) => {
                let (ab, ba) = (&ep.a_to_b, &ep.b_to_a);
                for (q, label) in [(ab, "A → B"), (ba, "B → A")] {
                    out.push(format!(
                        "{label} {} {}/{} ({})",
                        bar(q.len, q.capacity),
                        q.len,
                        q.capacity,
                        percent(q.len, q.capacity)
                    ));
                }
                // A side holds its outgoing queue's producer role and its incoming one's consumer role.
                out.push(format!(
                    "side A {}; side B {}",
                    holder(&ab.producer.or(ba.consumer)),
                    holder(&ba.producer.or(ab.consumer))
                ));
            }
        }
        out
    }
}

/// The human-readable report (`zipc-schema inspect`).
impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        match &self.zipc {
            Some(z) => writeln!(
                f,
                "segment {}: zipc format {} (ZeroIPC table v{})",
                self.segment, z.format_version, h.version
            )?,
            None => writeln!(
                f,
                "segment {}: ZeroIPC table v{}, no zipc self-description (entries untyped)",
                self.segment, h.version
            )?,
        }
        let used = h.next_offset.min(h.memory_size);
        writeln!(
            f,
            "  size        {}; {} used ({}), {} free",
            human_bytes(h.memory_size),
            used,
            percent(used, h.memory_size),
            h.memory_size - used
        )?;
        writeln!(
            f,
            "  table       {} of {} entries{}",
            h.entry_count,
            h.max_entries,
            if self.zipc.is_some() { " (1 is zipc's)" } else { "" }
        )?;
        if let Some(z) = &self.zipc {
            writeln!(f, "  created     {} by pid {}", utc(z.created_ns), z.creator_pid)?;
            let lock = &z.table_lock;
            writeln!(
                f,
                "  table lock  {}; taken over from dead holders {} times",
                match &lock.holder {
                    None => "free".to_owned(),
                    h => format!("held by {}", holder(h)),
                },
                lock.recoveries
            )?;
            let alive = self.processes.iter().filter(|p| p.alive).count();
            writeln!(
                f,
                "  processes   {} attached of {} slots: {} alive, {} dead{}",
                self.processes.len(),
                z.max_processes,
                alive,
                self.processes.len() - alive,
                if alive == 0 { " (nobody uses it: `zipc-schema rm --stale` removes it)" } else { "" }
            )?;
            for p in &self.processes {
                writeln!(
                    f,
                    "                pid {:<8} {:<6} {}",
                    p.process.pid,
                    if p.alive { "alive" } else { "dead" },
                    plural(u64::from(p.refs), "mapping", "mappings")
                )?;
            }
            let dead: Vec<_> = z.lanes_in_use.iter().filter(|l| !l.owner.alive).collect();
            writeln!(
                f,
                "  lanes       {} of {} in use{}",
                z.lanes_in_use.len(),
                z.lanes,
                if dead.is_empty() { String::new() } else { format!(", {} of dead processes", dead.len()) }
            )?;
            for l in dead {
                let what = match &l.operation {
                    None => "nothing in flight".to_owned(),
                    Some(o) => format!(
                        "{} on {} at {}{}: {}",
                        if o.operation == crate::structures::queue::recovery::Operation::Push { "push" } else { "pop" },
                        o.structure
                            .as_ref()
                            .map_or_else(|| format!("offset {:#x}", o.queue_offset), |n| format!("{n:?}")),
                        o.first,
                        if o.count > 1 { format!("..{}", o.first.wrapping_add(o.count)) } else { String::new() },
                        match (o.claimed, o.settled) {
                            (_, true) => format!("settled, {} lost", l.lost),
                            (true, false) => "claimed, to be settled by the next survivor that meets it".to_owned(),
                            (false, false) => "not claimed".to_owned(),
                        }
                    ),
                };
                writeln!(f, "                lane {:<4} pid {:<8} dead   {what}", l.index, l.owner.pid)?;
            }
        } else {
            writeln!(f, "  processes   unknown (ZeroIPC segments keep no registry)")?;
        }
        for p in &self.problems {
            writeln!(f, "  problem     {p}")?;
        }
        writeln!(f)?;
        if self.entries.is_empty() {
            return writeln!(f, "no structures");
        }
        let width = format!("{:#x}", h.memory_size).len().max(6);
        let rows: Vec<[String; 6]> = self
            .entries
            .iter()
            .map(|e| {
                let (kind, elem, cap) = match &e.descriptor {
                    None => ("untyped".to_owned(), "-".to_owned(), "-".to_owned()),
                    Some(d) => (
                        d.kind.name().to_owned(),
                        d.type_name.clone().unwrap_or_else(|| "-".to_owned()),
                        capacity_text(d),
                    ),
                };
                [e.index.to_string(), format!("{:#0width$x}", e.offset), e.size.to_string(), kind, elem, cap]
            })
            .collect();
        let head = ["#", "OFFSET", "SIZE", "KIND", "ELEMENT", "CAPACITY"];
        let w: Vec<usize> = (0..6)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([head[c].len()]).max().unwrap_or(0))
            .collect();
        let indent = w[..3].iter().sum::<usize>() + 6;
        let row = |f: &mut fmt::Formatter<'_>, cells: [&str; 6], name: &str| {
            writeln!(
                f,
                "{:>w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {:<w4$}  {:<w5$}  {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                cells[5],
                name,
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3],
                w4 = w[4],
                w5 = w[5]
            )
        };
        row(f, head, "NAME")?;
        for (e, r) in self.entries.iter().zip(&rows) {
            row(f, [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]], &e.name)?;
            if let Some(s) = &e.state {
                for line in s.lines() {
                    writeln!(f, "{:indent$}{line}", "")?;
                }
            }
            for p in &e.problems {
                writeln!(f, "{:indent$}problem: {p}", "")?;
            }
        }
        Ok(())
    }
}

/// The CAPACITY column: what the descriptor's capacity means for the kind.
fn capacity_text(d: &Descriptor) -> String {
    match d.kind {
        Kind::Array | Kind::Queue | Kind::Ring | Kind::Pool | Kind::Endpoint => d.capacity.to_string(),
        Kind::Barrier => format!("{} parties", d.capacity),
        Kind::Latch => format!("count {}", d.initial),
        Kind::Semaphore if d.maximum > 0 => format!("max {}", d.maximum),
        _ => "-".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

/// A JSON value, rendered with two-space indentation.
enum Json {
    Null,
    Bool(bool),
    U(u64),
    I(i64),
    S(String),
    A(Vec<Json>),
    O(Vec<(&'static str, Json)>),
}

impl Json {
    fn s(v: impl Into<String>) -> Json {
        Json::S(v.into())
    }

    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
        v.map_or(Json::Null, f)
    }

    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::U(v) => {
                let _ = write!(out, "{v}");
            }
            Json::I(v) => {
                let _ = write!(out, "{v}");
            }
            Json::S(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::A(items) if items.is_empty() => out.push_str("[]"),
            Json::A(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&"  ".repeat(indent + 1));
                    v.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
                out.push(']');
            }
            Json::O(fields) if fields.is_empty() => out.push_str("{}"),
            Json::O(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&"  ".repeat(indent + 1));
                    Json::s(*k).write(out, indent + 1);
                    out.push_str(": ");
                    v.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
        }
    }
}

fn holder_json(h: &Holder) -> Json {
    Json::O(vec![("pid", Json::U(h.pid.into())), ("start_time", Json::U(h.start_time)), ("alive", Json::Bool(h.alive))])
}

fn opt_holder_json(h: &Option<Holder>) -> Json {
    Json::opt(h.as_ref(), holder_json)
}

fn lane_json(l: &crate::segment::lane::LaneState) -> Json {
    Json::O(vec![
        ("index", Json::U(l.index.into())),
        ("owner", holder_json(&l.owner)),
        (
            "operation",
            Json::opt(l.operation.as_ref(), |o| {
                Json::O(vec![
                    ("queue_offset", Json::U(o.queue_offset)),
                    ("structure", Json::opt(o.structure.as_deref(), Json::s)),
                    (
                        "kind",
                        Json::s(if o.operation == crate::structures::queue::recovery::Operation::Push {
                            "push"
                        } else {
                            "pop"
                        }),
                    ),
                    ("first", Json::U(o.first)),
                    ("count", Json::U(o.count)),
                    ("claimed", Json::Bool(o.claimed)),
                    ("settled", Json::Bool(o.settled)),
                    ("tombstone", Json::Bool(o.tombstone)),
                ])
            }),
        ),
        ("lost", Json::U(l.lost)),
    ])
}

fn queue_json(q: &QueueState) -> Json {
    Json::O(vec![
        ("policy", Json::s(q.policy)),
        ("capacity", Json::U(q.capacity)),
        ("len", Json::U(q.len)),
        ("head", Json::U(q.head)),
        ("tail", Json::U(q.tail)),
        ("producer", opt_holder_json(&q.producer)),
        ("consumer", opt_holder_json(&q.consumer)),
        ("producer_takeovers", Json::U(q.producer_takeovers.into())),
        ("consumer_takeovers", Json::U(q.consumer_takeovers.into())),
        ("waiting_producers", Json::U(q.waiting_producers.into())),
        ("waiting_consumers", Json::U(q.waiting_consumers.into())),
        ("lost", Json::U(q.lost)),
    ])
}

impl State {
    fn json(&self) -> Json {
        let u = |v: u32| Json::U(v.into());
        match self {
            State::Array(a) => Json::O(vec![("len", Json::U(a.len))]),
            State::Atomic(a) => Json::O(vec![
                (
                    "value",
                    match a.value {
                        Value::Unsigned(v) => Json::U(v),
                        Value::Signed(v) => Json::I(v),
                    },
                ),
                ("waiters", Json::opt(a.waiters, u)),
            ]),
            State::Queue(q) => queue_json(q),
            State::Ring(r) => Json::O(vec![
                ("mode", Json::s(if r.overwrite { "overwrite" } else { "lossless" })),
                ("capacity", Json::U(r.capacity)),
                ("len", Json::U(r.len)),
                ("write_pos", Json::U(r.write_pos)),
                ("read_pos", Json::U(r.read_pos)),
                ("claim", Json::U(r.claim)),
                ("missed", Json::U(r.missed)),
                ("lost", Json::U(r.lost)),
                ("producer", opt_holder_json(&r.producer)),
                ("consumer", opt_holder_json(&r.consumer)),
                ("waiting_consumers", u(r.waiting_consumers)),
                ("waiting_producers", u(r.waiting_producers)),
            ]),
            State::Pool(p) => Json::O(vec![
                ("capacity", Json::U(p.capacity)),
                ("allocated", Json::U(p.allocated)),
                ("acquired", Json::U(p.acquired)),
                ("scanned", Json::U(p.scanned)),
                ("waiting", u(p.waiting)),
                (
                    "owners",
                    Json::A(
                        p.owners
                            .iter()
                            .map(|o| {
                                Json::O(vec![
                                    ("pid", u(o.holder.pid)),
                                    ("start_time", Json::U(o.holder.start_time)),
                                    ("alive", Json::Bool(o.holder.alive)),
                                    ("objects", Json::U(o.objects)),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ]),
            State::Semaphore(s) => Json::O(vec![
                ("count", Json::I(s.count.into())),
                ("max", Json::opt(s.max, u)),
                ("waiting", u(s.waiting)),
            ]),
            State::Barrier(b) => Json::O(vec![
                ("participants", u(b.participants)),
                ("arrived", Json::I(b.arrived.into())),
                ("generation", u(b.generation)),
                ("sleepers", u(b.sleepers)),
            ]),
            State::Latch(l) => {
                Json::O(vec![("initial", u(l.initial)), ("count", Json::I(l.count.into())), ("waiters", u(l.waiters))])
            }
            State::Mutex(m) => Json::O(vec![
                ("locked", Json::Bool(m.locked)),
                ("word_tid", u(m.word_tid)),
                ("word_tid_alive", Json::Bool(m.word_tid_alive)),
                ("kernel_waiters", Json::Bool(m.kernel_waiters)),
                (
                    "holder",
                    Json::opt(m.holder.as_ref(), |h| {
                        Json::O(vec![
                            ("tid", u(h.tid)),
                            ("pid", u(h.pid)),
                            ("start_time", Json::U(h.start_time)),
                            ("alive", Json::Bool(h.alive)),
                        ])
                    }),
                ),
                ("consistency", Json::s(m.consistency.name())),
                ("state_code", u(m.state_code)),
                ("owner_deaths", u(m.owner_deaths)),
            ]),
            State::Event(e) => Json::O(vec![
                ("mode", Json::s(if e.manual_reset { "manual" } else { "auto" })),
                ("set", Json::Bool(e.set)),
                ("sets", u(e.sets)),
                ("waiters", u(e.waiters)),
            ]),
            State::Endpoint(ep) => {
                Json::O(vec![("a_to_b", queue_json(&ep.a_to_b)), ("b_to_a", queue_json(&ep.b_to_a))])
            }
        }
    }
}

fn strings(v: &[String]) -> Json {
    Json::A(v.iter().map(|s| Json::s(s.clone())).collect())
}

impl Snapshot {
    /// The snapshot as a JSON object (`zipc-schema inspect --json`); the fields are listed in
    /// the [module docs](self).
    pub fn to_json(&self) -> String {
        let h = &self.header;
        let u = |v: u32| Json::U(v.into());
        let json = Json::O(vec![
            ("zipc_inspect", u(JSON_FORMAT)),
            ("segment", Json::s(self.segment.clone())),
            ("file_size", Json::U(self.file_size)),
            ("typed", Json::Bool(self.zipc.is_some())),
            (
                "header",
                Json::O(vec![
                    ("magic", u(h.magic)),
                    ("version", u(h.version)),
                    ("entry_count", u(h.entry_count)),
                    ("max_entries", u(h.max_entries)),
                    ("memory_size", Json::U(h.memory_size)),
                    ("next_offset", Json::U(h.next_offset)),
                ]),
            ),
            (
                "zipc",
                Json::opt(self.zipc.as_ref(), |z| {
                    Json::O(vec![
                        ("format_version", u(z.format_version)),
                        ("max_processes", u(z.max_processes)),
                        ("creator_pid", u(z.creator_pid)),
                        ("created_ns", Json::U(z.created_ns)),
                        ("dirty_end", Json::U(z.dirty_end)),
                        (
                            "table_lock",
                            Json::O(vec![
                                ("holder", opt_holder_json(&z.table_lock.holder)),
                                ("waiters", Json::Bool(z.table_lock.waiters)),
                                ("recoveries", u(z.table_lock.recoveries)),
                            ]),
                        ),
                        ("lanes", u(z.lanes)),
                        ("lanes_in_use", Json::A(z.lanes_in_use.iter().map(lane_json).collect())),
                    ])
                }),
            ),
            (
                "processes",
                Json::A(
                    self.processes
                        .iter()
                        .map(|p| {
                            Json::O(vec![
                                ("pid", u(p.process.pid)),
                                ("start_time", Json::U(p.process.start_time)),
                                ("refs", u(p.refs)),
                                ("alive", Json::Bool(p.alive)),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("entries", Json::A(self.entries.iter().map(entry_json).collect())),
            ("problems", strings(&self.problems)),
        ]);
        let mut out = String::new();
        json.write(&mut out, 0);
        out
    }
}

fn entry_json(e: &EntrySnapshot) -> Json {
    let d = e.descriptor.as_ref();
    Json::O(vec![
        ("index", Json::U(e.index.into())),
        ("name", Json::s(e.name.clone())),
        ("offset", Json::U(e.offset)),
        ("size", Json::U(e.size)),
        ("kind", Json::opt(d, |d| Json::s(d.kind.name().to_ascii_lowercase()))),
        (
            "element",
            Json::opt(d.filter(|d| d.kind.has_element()), |d| {
                Json::O(vec![
                    ("name", Json::s(d.type_name.clone().unwrap_or_default())),
                    ("layout", Json::s(d.canonical.clone().unwrap_or_default())),
                    ("size", Json::U(d.elem_size.into())),
                    ("align", Json::U(d.elem_align.into())),
                    ("fingerprint", Json::s(format!("{:#018x}", d.fingerprint))),
                ])
            }),
        ),
        ("capacity", Json::opt(d, |d| Json::U(d.capacity))),
        ("flags", Json::opt(d, |d| Json::U(d.flags.into()))),
        ("initial", Json::opt(d, |d| Json::I(d.initial))),
        ("maximum", Json::opt(d, |d| Json::I(d.maximum))),
        ("state", Json::opt(e.state.as_ref(), State::json)),
        ("problems", strings(&e.problems)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_dates() {
        assert_eq!(bar(0, 16), "[....................]");
        assert_eq!(bar(16, 16), "[####################]");
        assert_eq!(bar(1, 1000), "[#...................]", "any use shows");
        assert_eq!(bar(99, 0), "[....................]");
        assert_eq!(bar(u64::MAX, u64::MAX), "[####################]");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000_000_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_767_225_599_000_000_000), "2025-12-31 23:59:59 UTC");
        assert!(utc(u64::MAX).ends_with("UTC"));
    }

    #[test]
    fn json_escapes_strings() {
        let mut out = String::new();
        Json::O(vec![("a\"b", Json::s("x\\y\n\u{1}é")), ("e", Json::A(vec![]))]).write(&mut out, 0);
        assert_eq!(out, "{\n  \"a\\\"b\": \"x\\\\y\\n\\u0001é\",\n  \"e\": []\n}");
    }
}
