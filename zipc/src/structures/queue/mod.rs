//! [`Queue<T, P>`]: a bounded lock-free FIFO queue in a segment, with a policy `P` that says how
//! many processes may push and pop: [`Spsc`], [`Mpsc`] or [`Mpmc`].
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use std::time::Duration;
//! use zipc::{Mpmc, Queue, Segment, Spsc};
//!
//! let seg = Segment::create("/queue-doc", 1 << 20)?;
//! // Any number of processes push and pop an MPMC queue directly.
//! let jobs = Queue::<u64, Mpmc>::create(&seg, "jobs", 1024)?;
//! jobs.push(7, None)?;
//! assert_eq!(jobs.try_pop()?, Some(7));
//! assert!(matches!(jobs.pop(Some(Duration::from_millis(10))), Err(zipc::Error::Timeout)));
//!
//! // An SPSC queue has one producer and one consumer: claim the role first.
//! let samples = Queue::<[f32; 4], Spsc>::create(&seg, "samples", 256)?;
//! let mut tx = samples.producer()?; // a second producer() fails until `tx` is dropped
//! let mut rx = samples.consumer()?;
//! tx.push_bulk(&[[1.0; 4], [2.0; 4]])?;
//! let mut buf = [[0.0; 4]; 8];
//! assert_eq!(rx.pop_bulk(&mut buf)?, 2);
//! # Segment::unlink("/queue-doc") }
//! ```
//!
//! # Region layout
//!
//! 128-aligned; every group of fields that one side writes on its fast path has a 128-byte line
//! pair of its own (the spatial prefetcher pulls lines in pairs), so a producer and a consumer
//! never write the same line except in slots.
//!
//! ```text
//! offset  size      field
//! 0       8         u64 capacity          slots, a power of two in 2..=2^32
//! 8       4         u32 policy            1 spsc, 2 mpsc, 3 mpmc (the descriptor's flags)
//! 12      4         u32 elem_size         the element's size
//! 16      4         u32 slot_size         bytes per slot (below)
//! 20      44        reserved (zero)
//! 64      8         u64 producer_owner    single-producer policies: pid << 40 | start time of the
//!                                         process holding the producer role, 0 if free
//! 72      8         u64 consumer_owner    single-consumer policies: the same for the consumer
//! 80      4         u32 producer_takeovers  times the producer role was taken from a dead holder
//! 84      4         u32 consumer_takeovers  the same for the consumer role
//! 88      40        reserved (zero)
//! 128     8         u64 tail              producer line: next position to push
//! 136     120       reserved
//! 256     8         u64 head              consumer line: next position to pop
//! 264     8         u64 reading           single consumer: end of the pop in flight (see Crashes)
//! 272     112       reserved
//! 384     8         not_empty             event count consumers sleep on (u32 epoch, u32 waiters)
//! 392     8         not_full              event count producers sleep on
//! 400     8         u64 lost              messages lost to processes that died mid-operation
//! 408     104       reserved
//! 512     cap×slot  slots                 slot i holds the positions p with p mod cap = i:
//!                                         u64 seq, then the element (padded to 8)
//! ```
//!
//! The region size is rounded up to a multiple of 128. Positions (`head`, `tail`, sequence
//! numbers) are u64 counters that wrap at 2^64; a position's slot is `position & (capacity - 1)`.
//!
//! # Algorithms
//!
//! Every policy has the same slots: a `u64 seq` then the element, padded to 8 (`slot_size =
//! align_up(8 + elem_size, 8)`).
//!
//! **SPSC**: the producer owns `tail`, the consumer `head`. A push writes the slot and
//! release-stores its `seq = p + 1` ("holds p"), then stores `tail` (for `len`, inspection and a
//! successor); the producer knows the free space from a *cached copy of `head`*, reloaded only
//! when the cache says the queue is full (Rigtorp's trick). A pop polls the slot's `seq` itself —
//! the line that also carries the element — reads the element, then release-stores `head`; the
//! consumer never reads `tail` and never writes a slot. So in steady state a message crosses
//! between the cores in the one line that holds it, each side writes only its own index line
//! (and the producer the slot), and a ping-pong costs what a bare cache-line ping-pong costs,
//! plus the instructions.
//!
//! **MPMC** (Vyukov's bounded queue, as in crossbeam's `ArrayQueue`). For position `p` in slot
//! `p mod cap`, `seq == p` means "free for p", `seq == p + 1` "holds p". A producer reads `tail`,
//! checks its slot's `seq == tail`, claims the position by compare-and-swap `tail → tail + 1`,
//! writes the element and release-stores `seq = tail + 1`. A consumer reads `head`, checks
//! `seq == head + 1`, claims by CAS `head → head + 1`, reads the element and release-stores
//! `seq = head + cap` (free for the next lap). A slot whose `seq` is behind means full (push) or
//! empty (pop); ahead means another process claimed the position first, and `tail`/`head` has
//! moved on — so rereading it must show a new value.
//!
//! **MPSC**: producers as MPMC; the single consumer needs no CAS: it keeps `head` in its handle,
//! reads `seq == head + 1`, reads the element, stamps `seq = head + cap` and stores `head` (for
//! [`len`](Queue::len) and for a successor after a takeover).
//!
//! **Bulk** operations claim a run of positions with one CAS (MPMC/MPSC) or one index store
//! (SPSC) and wake sleepers once per batch. A Vyukov producer scans the slots from `tail` for the
//! longest run that is free, then claims the run with one CAS; each slot's `seq` is still stamped.
//!
//! # Roles
//!
//! A single-producer (or single-consumer) policy needs one producer at a time in *all* processes
//! *and* threads. [`Queue::producer`] and [`Queue::consumer`] return role handles; for a single
//! role they claim it with a compare-and-swap of `producer_owner`/`consumer_owner` from 0 to this
//! process's tag, and fail with [`Error::RoleTaken`] while another handle — in this or another
//! live process — holds it. Dropping the handle releases the role; the role of a process that
//! died holding it is taken over by the next claimant (its pid is gone, a zombie, or reused with
//! another start time). Role handles push and pop through `&mut self`, so a handle is used by one
//! thread at a time; they are `Send`. For multi-producer (multi-consumer) policies the role
//! handles claim nothing, and [`Queue`] itself has `try_push`/`try_pop`/... on `&self`.
//!
//! A process that ignores the roles (another implementation, a bug, a forked child using its
//! parent's handle) can only garble or lose data: every index and sequence number read from the
//! segment is masked before use, and impossible states that are cheap to see (a head ahead of the
//! tail, a tail more than `capacity` ahead, a Vyukov index that does not move) are reported as
//! [`Error::Corrupt`].
//!
//! # Blocking
//!
//! [`push`](Queue::push) and [`pop`](Queue::pop) retry the non-blocking operation and sleep on an
//! event count (`zipc/src/event_count.rs`): consumers on `not_empty`, producers on `not_full`. A
//! successful push checks `not_empty`'s waiter count and makes a system call only if a consumer
//! sleeps (and a pop likewise for `not_full`). That check needs a store-load barrier on every
//! operation; zipc moves its cost to the sleeper with `membarrier` (see
//! `zipc/src/asymmetric_fence.rs`), so the fast path issues no fence at all. Set
//! `ZIPC_NO_MEMBARRIER=1` to make a process use full fences instead.
//!
//! # Approximate values
//!
//! [`len`](Queue::len), [`is_empty`](Queue::is_empty) and [`is_full`](Queue::is_full) read
//! `head` and `tail` one after the other while other processes move them: the result may be
//! stale by the time it is returned, and is clamped to `0..=capacity`.
//!
//! # Crashes
//!
//! A process can be killed at any instruction. Whatever it had *accepted* into the queue — a
//! position it claimed — is then delivered exactly once or counted as **lost** (in `lost`, and
//! [`Queue::lost`]); nothing is delivered twice or torn, and the queue never stalls on the dead
//! process. What it had not yet accepted (an SPSC push that did not publish `tail`) never existed.
//!
//! * **Multi-producer and multi-consumer sides** record each operation in a *lane* before
//!   claiming (`lane.rs`): a claimed but unstamped position is covered by its claimer's lane, so
//!   a survivor that meets one (a consumer at an unwritten slot that `tail` has passed, an MPMC
//!   producer at a slot a consumer claimed a lap ago) and finds only dead lanes covering it knows
//!   the claimer is gone. It resolves the position with a compare-and-swap of the sequence
//!   number: a dead producer's slot becomes a **tombstone** (`seq = p + 1 + 0xC000…0`, "holds
//!   `p`, lost"), which consumers claim and free like an element without returning it; a dead
//!   consumer's slot is freed for the next lap. Each resolution counts one loss. Survivors look
//!   only when an operation keeps failing (every 256th failure of a `try_` call on a thread), and
//!   blocked ones every [`RECOVERY_INTERVAL`].
//! * **Single roles** recover at takeover: the SPSC or MPSC consumer stores `reading`, the end of
//!   the pop it is about to copy, before it copies; a successor finding `reading > head` skips
//!   those positions (their slots freed) and counts them lost
//!   ([`Consumer::lost_on_takeover`]). An SPSC producer's successor simply resumes at `tail`.

pub(crate) mod element;
pub(crate) mod lanes;
pub mod recovery;

pub use crate::layout::kinds::queue::{
    header, policy_name, slot_size, tombstone, ALIGN, MAX_CAPACITY, MIN_CAPACITY, SEQ_SIZE, TOMBSTONE,
};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::time::Duration;

use crate::error::{Error, Object, Result};
use crate::layout::{flags, Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::lane::{op, Claimant, Lane, LaneTable};
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::ShmType;
use crate::structures::queue::element::{Element, Typed};
use crate::structures::render::{bar, holder, opt_holder_json, percent, plural, Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::asymmetric_fence;
use crate::sys::atomics::{spin_loop, AtomicU64, UnsafeCell};
use crate::sys::event_count::EventCount;
use crate::sys::futex::Deadline;
use crate::sys::role::Holder;
use zerocopy::IntoBytes;

/// How often a blocked multi-producer or multi-consumer operation wakes to look for a peer that
/// died mid-operation (a dead process wakes nobody).
pub const RECOVERY_INTERVAL: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

mod sealed {
    pub trait Sealed {}
}

/// How many processes may push and pop a [`Queue`]: [`Spsc`], [`Mpsc`] or [`Mpmc`]. Recorded in
/// the segment (the descriptor's flags), so a queue opened with another policy is refused.
pub trait Policy: sealed::Sealed + Send + Sync + 'static {
    /// The descriptor flags: one of `zipc::layout::flags::POLICY_*`.
    const FLAGS: u32;
    /// `"spsc"`, `"mpsc"` or `"mpmc"`, as in TOML schemas.
    const NAME: &'static str;
    /// Whether several producers may push at once.
    const MULTI_PRODUCER: bool;
    /// Whether several consumers may pop at once.
    const MULTI_CONSUMER: bool;
}

/// Policies whose [`Queue`] handle pushes directly: [`Mpsc`] and [`Mpmc`].
pub trait MultiProducer: Policy {}

/// Policies whose [`Queue`] handle pops directly: [`Mpmc`].
pub trait MultiConsumer: Policy {}

/// Single producer, single consumer: the fastest policy (no read-modify-write on the fast path).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Spsc;

/// Multiple producers, single consumer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Mpsc;

/// Multiple producers, multiple consumers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Mpmc;

impl sealed::Sealed for Spsc {}
impl sealed::Sealed for Mpsc {}
impl sealed::Sealed for Mpmc {}

impl Policy for Spsc {
    const FLAGS: u32 = flags::POLICY_SPSC;
    const NAME: &'static str = "spsc";
    const MULTI_PRODUCER: bool = false;
    const MULTI_CONSUMER: bool = false;
}

impl Policy for Mpsc {
    const FLAGS: u32 = flags::POLICY_MPSC;
    const NAME: &'static str = "mpsc";
    const MULTI_PRODUCER: bool = true;
    const MULTI_CONSUMER: bool = false;
}

impl Policy for Mpmc {
    const FLAGS: u32 = flags::POLICY_MPMC;
    const NAME: &'static str = "mpmc";
    const MULTI_PRODUCER: bool = true;
    const MULTI_CONSUMER: bool = true;
}

impl MultiProducer for Mpsc {}
impl MultiProducer for Mpmc {}
impl MultiConsumer for Mpmc {}

/// Whether this process's queue operations run without a store-load fence on their fast path
/// (it registered for `membarrier`, see the module docs). Decided when the process opens its
/// first queue or endpoint; `false` before that, or with `ZIPC_NO_MEMBARRIER=1`.
pub fn fence_free_fast_path() -> bool {
    asymmetric_fence::is_registered()
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

/// Live state for `inspect` of the queue whose region starts `base` bytes into `region`: the
/// indices, role holders and waiter counts, read once and never trusted (an impossible
/// `tail - head` is clamped and reported in `problems`, prefixed with `label`).
pub(crate) fn inspect_at(
    region: &Region,
    base: u64,
    capacity: u64,
    policy: u32,
    label: &str,
    problems: &mut Vec<String>,
) -> QueueState {
    use Holder;
    let word = |f: u64| region.u64_at(base + f).load(Acquire);
    let word32 = |f: u64| region.u32_at(base + f).load(Relaxed);
    // head before tail (both only grow): a stable head read on both sides of tail makes
    // `tail - head` a value the queue really had, even while others push and pop.
    let (mut head, mut tail) = (word(header::HEAD), 0);
    for _ in 0..3 {
        tail = word(header::TAIL);
        let again = word(header::HEAD);
        if again == head {
            break;
        }
        head = again;
    }
    let d = tail.wrapping_sub(head);
    let len = if (d as i64) < 0 {
        problems.push(format!("{label}head {head} is ahead of tail {tail}"));
        0
    } else if d > capacity {
        problems.push(format!("{label}tail {tail} is {d} positions ahead of head {head}, beyond the capacity"));
        capacity
    } else {
        d
    };
    let single_producer = policy == flags::POLICY_SPSC;
    let single_consumer = policy != flags::POLICY_MPMC;
    let event_waiters = |at: u64| word32(at + 4); // an event count is `u32 epoch, u32 waiters`
    QueueState {
        policy: policy_name(policy).unwrap_or("unknown"),
        capacity,
        len,
        head,
        tail,
        producer: if single_producer { Holder::from_tag(word(header::PRODUCER_OWNER)) } else { None },
        consumer: if single_consumer { Holder::from_tag(word(header::CONSUMER_OWNER)) } else { None },
        producer_takeovers: word32(header::PRODUCER_TAKEOVERS),
        consumer_takeovers: word32(header::CONSUMER_TAKEOVERS),
        waiting_producers: event_waiters(header::NOT_FULL),
        waiting_consumers: event_waiters(header::NOT_EMPTY),
        lost: word(header::LOST),
    }
}

/// Live state for `inspect` (see [`inspect_at`]).
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> QueueState {
    inspect_at(region, 0, desc.capacity, desc.flags, "", problems)
}

// ---------------------------------------------------------------------------------------------
// The algorithms, on a header that is segment bytes in a build and heap memory under loom
// ---------------------------------------------------------------------------------------------

/// Pads and aligns its value to 128 bytes: a cache-line pair of its own.
#[repr(C, align(128))]
#[derive(Debug, Default)]
pub(crate) struct CachePadded<T>(pub(crate) T);

/// The consumer's line: `head`, and a single consumer's `reading`.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct ConsumerLine {
    head: AtomicU64,
    reading: AtomicU64,
}

/// The part of the header the algorithms use, at region offset 128 (`header::TAIL`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Indices {
    tail: CachePadded<AtomicU64>,
    head: CachePadded<ConsumerLine>,
    not_empty: EventCount,
    not_full: EventCount,
    lost: AtomicU64,
}

/// Size of [`Indices`] in a segment: up to the first slot.
pub(crate) const INDICES_SIZE: u64 = header::SLOTS - header::TAIL;

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::size_of::<Indices>() as u64 == INDICES_SIZE);
    assert!(std::mem::align_of::<Indices>() as u64 == ALIGN);
    assert!(std::mem::offset_of!(Indices, head) as u64 == header::HEAD - header::TAIL);
    assert!(std::mem::offset_of!(Indices, not_empty) as u64 == header::NOT_EMPTY - header::TAIL);
    assert!(std::mem::offset_of!(Indices, not_full) as u64 == header::NOT_FULL - header::TAIL);
    assert!(std::mem::offset_of!(Indices, lost) as u64 == header::LOST - header::TAIL);
    assert!(std::mem::offset_of!(ConsumerLine, reading) as u64 == header::READING - header::HEAD);
};

impl Indices {
    /// Fresh indices on the heap, for loom models.
    #[cfg(all(test, loom))]
    pub(crate) fn new() -> Self {
        Indices {
            tail: CachePadded(AtomicU64::new(0)),
            head: CachePadded(ConsumerLine { head: AtomicU64::new(0), reading: AtomicU64::new(0) }),
            not_empty: EventCount::new(),
            not_full: EventCount::new(),
            lost: AtomicU64::new(0),
        }
    }
}

/// An MPSC/MPMC slot: the sequence number, then the element. `#[repr(C)]`, so its size is
/// [`slot_size`] (`T`'s alignment is at most 8). The typed algorithms address slots as this type
/// (and loom models allocate them), the byte-level ones by the same offsets (`element.rs`).
#[repr(C)]
pub(crate) struct Slot<T> {
    pub(crate) seq: AtomicU64,
    pub(crate) value: UnsafeCell<T>,
}

impl<T> Slot<T> {
    /// A slot for a loom model.
    #[cfg(all(test, loom))]
    pub(crate) fn new(value: T) -> Self {
        Slot { seq: AtomicU64::new(0), value: UnsafeCell::new(value) }
    }
}

/// An impossible queue state: another process broke the protocol, or the bytes are damaged.
#[derive(Debug)]
pub(crate) struct Corrupt {
    /// The field that holds the impossible value.
    pub(crate) field: &'static str,
    /// What is impossible about it.
    pub(crate) detail: String,
}

#[cold]
#[inline(never)]
fn corrupt(field: &'static str, detail: String) -> Corrupt {
    Corrupt { field, detail }
}

/// Failed attempts a blocking operation spins through before it sleeps: a peer about to make
/// progress is usually quicker than the membarrier and futex round trip of sleeping (a few
/// microseconds at most). None under loom, whose models check the sleeping path.
#[cfg(not(loom))]
const SPINS: u32 = 64;
#[cfg(loom)]
const SPINS: u32 = 0;

/// What went wrong in a blocking operation.
#[derive(Debug)]
pub(crate) enum Blocked {
    /// The deadline passed.
    Timeout,
    /// The queue's state is impossible.
    Corrupt(Corrupt),
}

/// No lane (`TxState::lane`, `RxState::lane`).
pub(crate) const NO_LANE: u32 = u32::MAX;

/// A producer handle's own state: for SPSC its position and its cached copy of `head`; for the
/// multi-producer policies the lane it took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TxState {
    tail: u64,
    cached_head: u64,
    pub(crate) lane: u32,
}

/// A consumer handle's own state: for a single consumer its position and what it found lost
/// when it took the role over; for MPMC the lane it took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RxState {
    head: u64,
    pub(crate) lane: u32,
    pub(crate) lost_on_takeover: u64,
}

impl TxState {
    fn with_lane(lane: u32) -> Self {
        TxState { tail: 0, cached_head: 0, lane }
    }
}

impl RxState {
    fn with_lane(lane: u32) -> Self {
        RxState { head: 0, lane, lost_on_takeover: 0 }
    }
}

/// One queue's algorithms over raw pointers to its indices and slots, for elements represented
/// by `E` (`element.rs`: a Rust type, or bytes of a run-time size). Elements are passed as byte
/// slices of `E::size()` bytes each: a single operation takes one element, a bulk operation as
/// many whole elements as the slice holds. Multi-producer and multi-consumer operations take the
/// caller's [`Lane`], in which they record what they are about to claim (`lane.rs`).
///
/// Whoever builds a `Raw` keeps the memory alive and mapped for as long as the `Raw` exists (a
/// handle holds the segment's mapping, a loom model its heap allocations).
pub(crate) struct Raw<E> {
    idx: NonNull<Indices>,
    slots: NonNull<u8>,
    cap: u64,
    mask: u64,
    elem: E,
    /// The segment's lanes.
    lanes: LaneTable,
    /// This queue in lane records: the segment offset of its region (a multiple of 128).
    id: u64,
}

impl<E: Copy> Clone for Raw<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E: Copy> Copy for Raw<E> {}

/// Failed `try_` operations a thread makes between two looks for a dead peer's stalled slot.
#[cfg(not(loom))]
const PATIENCE: u32 = 256;

/// Counts a failed operation of this thread; true every [`PATIENCE`]th time. Loom models call the
/// recovery explicitly instead.
#[inline]
fn patience_exhausted() -> bool {
    #[cfg(not(loom))]
    {
        thread_local! {
            static FAILS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
        }
        FAILS
            .try_with(|f| {
                let n = f.get().wrapping_add(1);
                f.set(n);
                n % PATIENCE == 0
            })
            .unwrap_or(false)
    }
    #[cfg(loom)]
    false
}

impl<E: Element> Raw<E> {
    /// # Safety
    ///
    /// `idx` points to an [`Indices`] and `slots` to `cap` slots (of `elem.slot_stride()` bytes,
    /// laid out as [`Slot`]), both aligned and
    /// valid (any bits are valid for them) for the lifetime of the returned value and every copy
    /// of it; `cap` is a power of two; `lanes` is the table of the memory's segment and `id` a
    /// multiple of 128 that no other queue of it uses.
    pub(crate) unsafe fn new(
        idx: *const Indices,
        slots: *mut u8,
        cap: u64,
        elem: E,
        lanes: LaneTable,
        id: u64,
    ) -> Self {
        debug_assert!(cap.is_power_of_two());
        debug_assert!(id % ALIGN == 0);
        Raw {
            // SAFETY: the caller passes valid, hence non-null, pointers.
            idx: unsafe { NonNull::new_unchecked(idx.cast_mut()) },
            // SAFETY: as above.
            slots: unsafe { NonNull::new_unchecked(slots) },
            cap,
            mask: cap - 1,
            elem,
            lanes,
            id,
        }
    }

    #[inline(always)]
    fn idx(&self) -> &Indices {
        // SAFETY: valid for our lifetime (constructor contract); `Indices` holds only atomics and
        // event counts, which may alias writers in other processes.
        unsafe { self.idx.as_ref() }
    }

    /// The start of the slot of position `pos` (masked: always in bounds).
    #[inline(always)]
    fn slot(&self, pos: u64) -> *mut u8 {
        // SAFETY: `pos & mask < cap`, and the slots span `cap` strides (constructor contract).
        unsafe { self.slots.as_ptr().add((pos & self.mask) as usize * self.elem.slot_stride()) }
    }

    /// The sequence number of the slot of position `pos`.
    #[inline(always)]
    fn seq(&self, pos: u64) -> &AtomicU64 {
        // SAFETY: every slot starts with an aligned `u64` sequence number (constructor contract),
        // an atomic that other processes may write while this reference exists.
        unsafe { &*self.slot(pos).cast::<AtomicU64>() }
    }

    /// The element cell of the slot of position `pos`.
    #[inline(always)]
    fn value(&self, pos: u64) -> *mut u8 {
        // SAFETY: the element lies inside the slot, at `value_offset` (Element contract).
        unsafe { self.slot(pos).add(self.elem.value_offset()) }
    }

    /// Whole elements in a caller buffer of `len` bytes.
    #[inline(always)]
    fn count(&self, len: usize) -> u64 {
        (len / self.elem.size()) as u64
    }

    /// Checks that a single operation's buffer holds an element: a short buffer is a zipc bug
    /// (the typed API passes `T`'s bytes, `zipc::dynamic` checks the length first).
    #[inline(always)]
    fn one(&self, len: usize) {
        assert!(len >= self.elem.size(), "zipc bug: a {len}-byte buffer for one {}-byte element", self.elem.size());
    }

    /// The lane `op` word of this queue's operations of `kind` (`lane::op::PUSH` or `POP`).
    #[inline(always)]
    fn op(&self, kind: u64) -> u64 {
        self.id | kind
    }

    /// Capacity in slots.
    pub(crate) fn capacity(&self) -> u64 {
        self.cap
    }

    /// The element representation.
    pub(crate) fn elem(&self) -> E {
        self.elem
    }

    /// The segment's lanes.
    pub(crate) fn lanes(&self) -> &LaneTable {
        &self.lanes
    }

    /// Writes the initial state: empty, with every index at `start` (tests start near the wrap
    /// point), every slot free for its first position. Only on memory nobody else sees yet.
    pub(crate) fn init(&self, start: u64) {
        self.idx().tail.0.store(start, Relaxed);
        self.idx().head.0.head.store(start, Relaxed);
        self.idx().head.0.reading.store(start, Relaxed);
        for i in 0..self.cap {
            let pos = start.wrapping_add(i);
            self.seq(pos).store(pos, Relaxed);
        }
    }

    /// Elements in the queue, approximately (see the module docs).
    pub(crate) fn len(&self) -> u64 {
        let head = self.idx().head.0.head.load(Acquire);
        let tail = self.idx().tail.0.load(Acquire);
        let d = tail.wrapping_sub(head);
        if (d as i64) < 0 {
            0
        } else {
            d.min(self.cap)
        }
    }

    /// Messages lost to processes that died mid-operation.
    pub(crate) fn lost(&self) -> u64 {
        self.idx().lost.load(Relaxed)
    }

    /// Consumers sleeping in a blocking pop (approximate).
    pub(crate) fn waiting_consumers(&self) -> u32 {
        self.idx().not_empty.waiters()
    }

    /// Producers sleeping in a blocking push (approximate).
    pub(crate) fn waiting_producers(&self) -> u32 {
        self.idx().not_full.waiters()
    }

    #[inline(always)]
    fn pushed(&self, n: u64, many_consumers: bool) {
        if n > 1 && many_consumers {
            self.idx().not_empty.notify_all_asymmetric();
        } else {
            self.idx().not_empty.notify_one_asymmetric();
        }
    }

    #[inline(always)]
    fn popped(&self, n: u64, many_producers: bool) {
        if n > 1 && many_producers {
            self.idx().not_full.notify_all_asymmetric();
        } else {
            self.idx().not_full.notify_one_asymmetric();
        }
    }

    // --- SPSC ------------------------------------------------------------------------------
    //
    // The producer stamps each slot's sequence number (`seq = p + 1`: "holds p") after writing
    // it, as a Vyukov producer does, so the consumer polls the slot itself — one line, which also
    // holds the element — and never reads `tail`. The consumer does not write slots; the producer
    // learns about free space from `head`, which it caches and reloads only when the cache says
    // the queue is full. In steady state each side writes its own index line and (the producer)
    // one slot, and a message crosses between the cores in the one line that carries it.

    /// Loads the shared indices into a new producer's state. A predecessor that died after
    /// stamping slots but before storing `tail` had those elements accepted (the consumer reads
    /// stamped slots): the new producer resumes after them. An unstamped write is overwritten.
    pub(crate) fn spsc_tx(&self) -> std::result::Result<TxState, Corrupt> {
        let mut tail = self.idx().tail.0.load(Acquire);
        let head = self.idx().head.0.head.load(Acquire);
        self.check_used(tail, head)?;
        for _ in 0..self.cap {
            if self.seq(tail).load(Acquire) != tail.wrapping_add(1) || tail.wrapping_sub(head) >= self.cap {
                break;
            }
            tail = tail.wrapping_add(1);
        }
        self.idx().tail.0.store(tail, Release);
        Ok(TxState { tail, cached_head: head, lane: NO_LANE })
    }

    /// Loads the shared indices into a new consumer's state, and returns how many elements a
    /// predecessor that died copying them out took with it: `reading` past `head` names them
    /// (their slots are still stamped full). They are skipped and counted as lost.
    pub(crate) fn spsc_rx(&self) -> std::result::Result<(RxState, u64), Corrupt> {
        let mut head = self.idx().head.0.head.load(Acquire);
        let in_flight = self.idx().head.0.reading.load(Relaxed).wrapping_sub(head);
        let mut lost = 0;
        if in_flight != 0 && in_flight <= self.cap {
            let last = head.wrapping_add(in_flight - 1);
            if self.seq(last).load(Acquire) == last.wrapping_add(1) {
                head = head.wrapping_add(in_flight);
                self.idx().head.0.head.store(head, Release);
                self.count_lost(in_flight);
                self.popped(in_flight, false);
                lost = in_flight;
            }
        }
        Ok((RxState { head, lane: NO_LANE, lost_on_takeover: lost }, lost))
    }

    /// `tail - head` must be in `0..=cap`.
    #[inline(always)]
    fn check_used(&self, tail: u64, head: u64) -> std::result::Result<u64, Corrupt> {
        let used = tail.wrapping_sub(head);
        if used > self.cap {
            return Err(corrupt(
                "head",
                format!("tail {tail} and head {head} are {used} apart in a queue of {} slots", self.cap),
            ));
        }
        Ok(used)
    }

    /// Free slots as the producer sees them, reloading `head` only if the cache says fewer than
    /// `want` are free.
    #[inline(always)]
    fn spsc_free(&self, tx: &mut TxState, want: u64) -> std::result::Result<u64, Corrupt> {
        let free = self.cap - tx.tail.wrapping_sub(tx.cached_head);
        if free >= want {
            return Ok(free);
        }
        // Cache only a validated value: the fast path above trusts the cache.
        let head = self.idx().head.0.head.load(Acquire);
        let used = self.check_used(tx.tail, head)?;
        tx.cached_head = head;
        Ok(self.cap - used)
    }

    /// Writes the element at `src` into the free slot of position `pos` and stamps it.
    ///
    /// # Safety
    ///
    /// Position `pos` is free (the consumer's release of `head` past its previous lap was
    /// acquired) and this is the only producer; `src` holds an element.
    #[inline(always)]
    unsafe fn spsc_put(&self, pos: u64, src: *const u8) {
        // SAFETY: the slot is ours to write (caller's contract); the consumer reads it only
        // after acquiring the stamp below.
        unsafe { self.elem.put(self.value(pos), src) };
        self.seq(pos).store(pos.wrapping_add(1), Release);
    }

    /// Pushes the element in `src` if there is room.
    #[inline(always)]
    pub(crate) fn spsc_try_push(&self, tx: &mut TxState, src: &[u8]) -> std::result::Result<bool, Corrupt> {
        self.one(src.len());
        if self.spsc_free(tx, 1)? == 0 {
            return Ok(false);
        }
        // SAFETY: position `tail` is free (checked against `head` above); `src` holds an
        // element (checked).
        unsafe { self.spsc_put(tx.tail, src.as_ptr()) };
        tx.tail = tx.tail.wrapping_add(1);
        // For `len`, inspection and a successor: the consumer does not read it.
        self.idx().tail.0.store(tx.tail, Release);
        self.pushed(1, false);
        Ok(true)
    }

    /// How many of the `want` positions from `head` are stamped full (at most `want`).
    #[inline(always)]
    fn spsc_ready(&self, head: u64, want: u64) -> u64 {
        let mut n = 0;
        while n < want && self.seq(head.wrapping_add(n)).load(Acquire) == head.wrapping_add(n + 1) {
            n += 1;
        }
        n
    }

    /// Pops the oldest element into `dst` if there is one.
    #[inline(always)]
    pub(crate) fn spsc_try_pop(&self, rx: &mut RxState, dst: &mut [u8]) -> std::result::Result<bool, Corrupt> {
        self.one(dst.len());
        let head = rx.head;
        if self.seq(head).load(Acquire) != head.wrapping_add(1) {
            return Ok(false);
        }
        let next = head.wrapping_add(1);
        // Read only by a successor after our death (`spsc_rx`): our own line, no ordering needed.
        self.idx().head.0.reading.store(next, Relaxed);
        // SAFETY: position `head` holds an element (its stamp was acquired) and the producer
        // does not write it again before our release of `head` past it. `dst` has room for an
        // element (checked).
        unsafe { self.elem.get(dst.as_mut_ptr(), self.value(head)) };
        rx.head = next;
        self.idx().head.0.head.store(next, Release);
        self.popped(1, false);
        Ok(true)
    }

    pub(crate) fn spsc_push_bulk(&self, tx: &mut TxState, src: &[u8]) -> std::result::Result<usize, Corrupt> {
        let want = self.count(src.len()).min(self.cap);
        let n = self.spsc_free(tx, want)?.min(want);
        if n == 0 {
            return Ok(0);
        }
        let size = self.elem.size();
        for i in 0..n as usize {
            // SAFETY: as in `spsc_try_push`, for each of the `n` free positions from `tail`;
            // element `i < count` lies inside `src`.
            unsafe { self.spsc_put(tx.tail.wrapping_add(i as u64), src.as_ptr().add(i * size)) };
        }
        tx.tail = tx.tail.wrapping_add(n);
        self.idx().tail.0.store(tx.tail, Release);
        self.pushed(n, false);
        Ok(n as usize)
    }

    pub(crate) fn spsc_pop_bulk(&self, rx: &mut RxState, dst: &mut [u8]) -> std::result::Result<usize, Corrupt> {
        let want = self.count(dst.len()).min(self.cap);
        let n = self.spsc_ready(rx.head, want);
        if n == 0 {
            return Ok(0);
        }
        self.idx().head.0.reading.store(rx.head.wrapping_add(n), Relaxed);
        let size = self.elem.size();
        for i in 0..n as usize {
            // SAFETY: as in `spsc_try_pop`, for each of the `n` stamped positions from `head`;
            // element `i < count` lies inside `dst`.
            unsafe { self.elem.get(dst.as_mut_ptr().add(i * size), self.value(rx.head.wrapping_add(i as u64))) };
        }
        rx.head = rx.head.wrapping_add(n);
        self.idx().head.0.head.store(rx.head, Release);
        self.popped(n, false);
        Ok(n as usize)
    }

    // --- Vyukov: producers (MPSC, MPMC) ----------------------------------------------------

    /// A producer found the slot of `tail` ahead of it: another producer claimed `tail`, so the
    /// shared tail has moved (the claim's CAS happens before the stamp we acquired). Returns the
    /// new tail, or `Corrupt` if it has not moved.
    #[inline(always)]
    fn moved_on(&self, which: &AtomicU64, old: u64, field: &'static str) -> std::result::Result<u64, Corrupt> {
        let now = which.load(Relaxed);
        if now == old {
            return Err(corrupt(
                field,
                format!("the slot of position {old} is stamped ahead of it, but {field} has not moved past it"),
            ));
        }
        Ok(now)
    }

    /// Pushes the element in `src` if there is room, recording the attempt in `lane`.
    #[inline(always)]
    pub(crate) fn mp_try_push(
        &self,
        lane: &Lane,
        src: &[u8],
        many_consumers: bool,
    ) -> std::result::Result<bool, Corrupt> {
        self.one(src.len());
        let op = self.op(op::PUSH);
        let tail_word = &self.idx().tail.0;
        let mut tail = tail_word.load(Relaxed);
        loop {
            let seq = self.seq(tail).load(Acquire);
            let diff = seq.wrapping_sub(tail) as i64;
            if diff == 0 {
                // The record precedes the claim (release), so whoever sees the claim sees it.
                lane.begin(op, tail, 1);
                match tail_word.compare_exchange_weak(tail, tail.wrapping_add(1), Release, Relaxed) {
                    Ok(_) => {
                        lane.claimed(op);
                        // SAFETY: we claimed position `tail`, whose slot was free (`seq == tail`,
                        // acquired from the consumer that emptied it); nobody reads it before
                        // our release of `seq` below. `src` holds an element (checked).
                        unsafe { self.elem.put(self.value(tail), src.as_ptr()) };
                        self.seq(tail).store(tail.wrapping_add(1), Release);
                        self.pushed(1, many_consumers);
                        return Ok(true);
                    }
                    Err(t) => tail = t,
                }
            } else if diff < 0 {
                lane.end();
                self.full_at(tail, many_consumers);
                return Ok(false); // still holds the element from one lap ago: full
            } else {
                tail = self.moved_on(tail_word, tail, "tail").inspect_err(|_| lane.end())?;
            }
        }
    }

    pub(crate) fn mp_push_bulk(
        &self,
        lane: &Lane,
        src: &[u8],
        many_consumers: bool,
    ) -> std::result::Result<usize, Corrupt> {
        let want = self.count(src.len()).min(self.cap);
        if want == 0 {
            return Ok(0);
        }
        let size = self.elem.size();
        let op = self.op(op::PUSH);
        let tail_word = &self.idx().tail.0;
        let mut tail = tail_word.load(Relaxed);
        loop {
            // The longest run of free slots from `tail`. A slot free for its position stays free
            // until someone claims that position, which our CAS below would notice.
            let mut n = 0;
            while n < want && self.seq(tail.wrapping_add(n)).load(Acquire) == tail.wrapping_add(n) {
                n += 1;
            }
            if n == 0 {
                let diff = self.seq(tail).load(Acquire).wrapping_sub(tail) as i64;
                if diff < 0 {
                    lane.end();
                    self.full_at(tail, many_consumers);
                    return Ok(0);
                }
                if diff > 0 {
                    tail = self.moved_on(tail_word, tail, "tail").inspect_err(|_| lane.end())?;
                }
                continue;
            }
            lane.begin(op, tail, n);
            match tail_word.compare_exchange_weak(tail, tail.wrapping_add(n), Release, Relaxed) {
                Ok(_) => {
                    lane.claimed(op);
                    for i in 0..n as usize {
                        let pos = tail.wrapping_add(i as u64);
                        // SAFETY: as in `mp_try_push`: we claimed `pos`, whose slot was free;
                        // element `i < count` lies inside `src`.
                        unsafe { self.elem.put(self.value(pos), src.as_ptr().add(i * size)) };
                        self.seq(pos).store(pos.wrapping_add(1), Release);
                    }
                    self.pushed(n, many_consumers);
                    return Ok(n as usize);
                }
                Err(t) => tail = t,
            }
        }
    }

    // --- Vyukov: consumers (MPMC) ------------------------------------------------------------

    /// Claims position `head`, whose slot holds a tombstone, and frees it for the next lap:
    /// the loss was counted when the tombstone was laid. Returns the head to go on from.
    #[cold]
    fn mc_pass_tombstone(&self, lane: &Lane, head: u64) -> u64 {
        let op = self.op(op::POP) | op::TOMBSTONE;
        let next = head.wrapping_add(1);
        lane.begin(op, head, 1);
        match self.idx().head.0.head.compare_exchange(head, next, Release, Relaxed) {
            Ok(_) => {
                lane.claimed(op);
                self.seq(head).store(head.wrapping_add(self.cap), Release);
                self.popped(1, true);
                next
            }
            Err(h) => h,
        }
    }

    /// Pops the oldest element into `dst` if there is one, recording the attempt in `lane`.
    #[inline(always)]
    pub(crate) fn mc_try_pop(&self, lane: &Lane, dst: &mut [u8]) -> std::result::Result<bool, Corrupt> {
        self.one(dst.len());
        let op = self.op(op::POP);
        let head_word = &self.idx().head.0.head;
        let mut head = head_word.load(Relaxed);
        loop {
            let seq = self.seq(head).load(Acquire);
            let next = head.wrapping_add(1);
            let diff = seq.wrapping_sub(next) as i64;
            if diff == 0 {
                lane.begin(op, head, 1);
                match head_word.compare_exchange_weak(head, next, Release, Relaxed) {
                    Ok(_) => {
                        lane.claimed(op);
                        // SAFETY: we claimed position `head`, whose slot holds it (`seq == head +
                        // 1`, acquired from its producer); nobody writes it before our release of
                        // `seq` below. `dst` has room for an element (checked).
                        unsafe { self.elem.get(dst.as_mut_ptr(), self.value(head)) };
                        self.seq(head).store(head.wrapping_add(self.cap), Release);
                        self.popped(1, true);
                        return Ok(true);
                    }
                    Err(h) => head = h,
                }
            } else if seq == tombstone(head) {
                head = self.mc_pass_tombstone(lane, head);
            } else if diff < 0 {
                lane.end();
                self.empty_at(head);
                return Ok(false); // not yet written for this lap: empty
            } else {
                head = self.moved_on(head_word, head, "head").inspect_err(|_| lane.end())?;
            }
        }
    }

    pub(crate) fn mc_pop_bulk(&self, lane: &Lane, dst: &mut [u8]) -> std::result::Result<usize, Corrupt> {
        let want = self.count(dst.len()).min(self.cap);
        if want == 0 {
            return Ok(0);
        }
        let size = self.elem.size();
        let op = self.op(op::POP);
        let head_word = &self.idx().head.0.head;
        let mut head = head_word.load(Relaxed);
        loop {
            let mut n = 0;
            while n < want && self.seq(head.wrapping_add(n)).load(Acquire) == head.wrapping_add(n + 1) {
                n += 1;
            }
            if n == 0 {
                let seq = self.seq(head).load(Acquire);
                if seq == tombstone(head) {
                    head = self.mc_pass_tombstone(lane, head);
                    continue;
                }
                let diff = seq.wrapping_sub(head.wrapping_add(1)) as i64;
                if diff < 0 {
                    lane.end();
                    self.empty_at(head);
                    return Ok(0);
                }
                if diff > 0 {
                    head = self.moved_on(head_word, head, "head").inspect_err(|_| lane.end())?;
                }
                continue;
            }
            lane.begin(op, head, n);
            match head_word.compare_exchange_weak(head, head.wrapping_add(n), Release, Relaxed) {
                Ok(_) => {
                    lane.claimed(op);
                    for i in 0..n as usize {
                        let pos = head.wrapping_add(i as u64);
                        // SAFETY: as in `mc_try_pop`: we claimed `pos`, whose slot holds it;
                        // element `i < count` lies inside `dst`.
                        unsafe { self.elem.get(dst.as_mut_ptr().add(i * size), self.value(pos)) };
                        self.seq(pos).store(pos.wrapping_add(self.cap), Release);
                    }
                    self.popped(n, true);
                    return Ok(n as usize);
                }
                Err(h) => head = h,
            }
        }
    }

    // --- Vyukov: the single consumer (MPSC) ----------------------------------------------------

    /// Loads the shared head into a new single consumer's state, and returns how many elements
    /// a predecessor that died in the middle of a pop took with it. Its `reading` past `head`
    /// names the positions it was copying out: all of them are lost (the pop never returned);
    /// those not yet stamped are freed. A predecessor that died between stamping slots free and
    /// storing `head` (after passing tombstones) left seqs one lap ahead (`head + cap`, or
    /// `head + cap + 1` if a producer refilled the slot since), never a state a live consumer
    /// leaves behind: those are skipped without a loss.
    pub(crate) fn sc_rx(&self) -> std::result::Result<(RxState, u64), Corrupt> {
        let start = self.idx().head.0.head.load(Acquire);
        let mut head = start;
        let in_flight = self.idx().head.0.reading.load(Relaxed).wrapping_sub(start);
        let mut lost = 0;
        if in_flight != 0 && in_flight <= self.cap {
            for i in 0..in_flight {
                let p = start.wrapping_add(i);
                let seq = self.seq(p).load(Acquire);
                let d = seq.wrapping_sub(p);
                if d == 1 {
                    self.seq(p).store(p.wrapping_add(self.cap), Release);
                } else if d != self.cap && d != self.cap + 1 {
                    return Err(corrupt(
                        "reading",
                        format!("position {p} of the pop in flight has sequence number {seq}"),
                    ));
                }
            }
            head = head.wrapping_add(in_flight);
            lost = in_flight;
        }
        for _ in 0..self.cap {
            let d = self.seq(head).load(Acquire).wrapping_sub(head);
            if d != self.cap && d != self.cap + 1 {
                break;
            }
            head = head.wrapping_add(1);
        }
        if head != start {
            self.idx().head.0.head.store(head, Release);
            self.popped(head.wrapping_sub(start), true);
        }
        if lost > 0 {
            self.count_lost(lost);
        }
        Ok((RxState { head, lane: NO_LANE, lost_on_takeover: lost }, lost))
    }

    /// A single consumer finding its slot stamped ahead: someone else consumed it.
    #[cold]
    fn sc_ahead(&self, head: u64, seq: u64) -> Corrupt {
        corrupt(
            "head",
            format!("the slot of position {head} is stamped {seq}: another process consumed it, but the queue has a single consumer"),
        )
    }

    /// The single consumer passes the tombstone at `rx.head`: frees it for the next lap.
    #[cold]
    fn sc_pass_tombstone(&self, rx: &mut RxState) {
        let head = rx.head;
        self.seq(head).store(head.wrapping_add(self.cap), Release);
        rx.head = head.wrapping_add(1);
        self.idx().head.0.head.store(rx.head, Release);
        self.popped(1, true);
    }

    /// Pops the oldest element into `dst` if there is one.
    #[inline(always)]
    pub(crate) fn sc_try_pop(&self, rx: &mut RxState, dst: &mut [u8]) -> std::result::Result<bool, Corrupt> {
        self.one(dst.len());
        loop {
            let head = rx.head;
            let seq = self.seq(head).load(Acquire);
            let diff = seq.wrapping_sub(head.wrapping_add(1)) as i64;
            if diff == 0 {
                let next = head.wrapping_add(1);
                // Read only by a successor after our death (`sc_rx`): no ordering needed.
                self.idx().head.0.reading.store(next, Relaxed);
                // SAFETY: as in `mc_try_pop`; being the only consumer, we need no claim.
                unsafe { self.elem.get(dst.as_mut_ptr(), self.value(head)) };
                self.seq(head).store(head.wrapping_add(self.cap), Release);
                rx.head = next;
                self.idx().head.0.head.store(next, Release);
                self.popped(1, true);
                return Ok(true);
            }
            if seq == tombstone(head) {
                self.sc_pass_tombstone(rx);
                continue;
            }
            if diff > 0 {
                return Err(self.sc_ahead(head, seq));
            }
            self.empty_at(head);
            return Ok(false);
        }
    }

    pub(crate) fn sc_pop_bulk(&self, rx: &mut RxState, dst: &mut [u8]) -> std::result::Result<usize, Corrupt> {
        let want = self.count(dst.len()).min(self.cap);
        if want == 0 {
            return Ok(0);
        }
        let size = self.elem.size();
        loop {
            let head = rx.head;
            let mut n = 0;
            while n < want && self.seq(head.wrapping_add(n)).load(Acquire) == head.wrapping_add(n + 1) {
                n += 1;
            }
            if n == 0 {
                let seq = self.seq(head).load(Acquire);
                if seq == tombstone(head) {
                    self.sc_pass_tombstone(rx);
                    continue;
                }
                if (seq.wrapping_sub(head.wrapping_add(1)) as i64) > 0 {
                    return Err(self.sc_ahead(head, seq));
                }
                self.empty_at(head);
                return Ok(0);
            }
            self.idx().head.0.reading.store(head.wrapping_add(n), Relaxed);
            for i in 0..n {
                let pos = head.wrapping_add(i);
                // SAFETY: as in `sc_try_pop`, for position `pos` (its slot was seen full above, and
                // only we free it); element `i < count` lies inside `dst`.
                unsafe { self.elem.get(dst.as_mut_ptr().add(i as usize * size), self.value(pos)) };
                self.seq(pos).store(pos.wrapping_add(self.cap), Release);
            }
            rx.head = head.wrapping_add(n);
            self.idx().head.0.head.store(rx.head, Release);
            self.popped(n, true);
            return Ok(n as usize);
        }
    }

    // --- Recovery from processes that died mid-operation (lane.rs) ---------------------------

    fn count_lost(&self, n: u64) {
        self.idx().lost.fetch_add(n, Relaxed);
    }

    /// A consumer found position `head` unwritten. Now and then, see whether its producer died.
    #[cold]
    #[inline(never)]
    fn empty_at(&self, head: u64) {
        if patience_exhausted() {
            self.check_pop_stall_at(head);
        }
    }

    /// A producer found the queue full at `tail`. Now and then (and only if consumers use lanes),
    /// see whether the consumer of the slot died.
    #[cold]
    #[inline(never)]
    fn full_at(&self, tail: u64, many_consumers: bool) {
        if many_consumers && patience_exhausted() {
            self.check_push_stall_at(tail);
        }
    }

    /// Settles the operation of a dead process that holds position `head` claimed but unwritten,
    /// if that is what stops consumers there.
    pub(crate) fn check_pop_stall(&self) {
        self.check_pop_stall_at(self.idx().head.0.head.load(Relaxed));
    }

    fn check_pop_stall_at(&self, head: u64) {
        if self.seq(head).load(Acquire) != head {
            return; // written, or a tombstone, or moved on
        }
        // Acquire: if the claim of `head` is visible, so is its claimer's lane record.
        let tail = self.idx().tail.0.load(Acquire);
        if (tail.wrapping_sub(head) as i64) <= 0 {
            return; // not claimed: just empty
        }
        self.recover(op::PUSH, head);
    }

    /// Settles the operation of a dead consumer that holds the slot a producer at `tail` needs,
    /// if that is what stops producers there (MPMC).
    pub(crate) fn check_push_stall(&self) {
        self.check_push_stall_at(self.idx().tail.0.load(Relaxed));
    }

    fn check_push_stall_at(&self, tail: u64) {
        let p = tail.wrapping_sub(self.cap);
        let seq = self.seq(p).load(Acquire);
        if seq != p.wrapping_add(1) && seq != tombstone(p) {
            return;
        }
        let head = self.idx().head.0.head.load(Acquire);
        if (head.wrapping_sub(p) as i64) <= 0 {
            return; // not claimed by a consumer: just full
        }
        self.recover(op::POP, p);
    }

    /// If only dead processes' lanes cover position `p` of operation `kind`, settles the
    /// claimant's lane.
    fn recover(&self, kind: u64, p: u64) {
        if let Claimant::Dead(i) = self.lanes.claimant(self.op(kind), p) {
            self.settle(i);
        }
    }

    /// Settles lane `i`, whose owner is dead, if it records an operation on this queue: resolves
    /// every position of it that is still claimed and unstamped (a push's becomes a tombstone, a
    /// pop's is freed), counts the losses in the queue and the lane, and marks the lane settled.
    /// Idempotent: concurrent settlers resolve each position once. Returns the losses this call
    /// counted.
    pub(crate) fn settle(&self, i: u32) -> u64 {
        let lane = self.lanes.lane(i);
        let o = lane.op.load(Acquire);
        if o & op::SETTLED != 0 || o & !op::FLAGS != self.id {
            return 0;
        }
        let kind = o & op::KIND;
        let first = lane.pos.load(Acquire);
        let count = lane.count.load(Acquire).min(self.cap);
        let mut lost = 0;
        let mut freed = 0;
        for k in 0..count {
            let p = first.wrapping_add(k);
            if kind == op::PUSH {
                let tail = self.idx().tail.0.load(Acquire);
                if (tail.wrapping_sub(p) as i64) <= 0 || self.seq(p).load(Acquire) != p {
                    continue; // not claimed, or stamped
                }
                if self.lanes.claimant(self.op(kind), p) == Claimant::Dead(i)
                    && self.seq(p).compare_exchange(p, tombstone(p), AcqRel, Relaxed).is_ok()
                {
                    lost += 1;
                }
            } else if kind == op::POP {
                let head = self.idx().head.0.head.load(Acquire);
                let seq = self.seq(p).load(Acquire);
                if (head.wrapping_sub(p) as i64) <= 0 || (seq != p.wrapping_add(1) && seq != tombstone(p)) {
                    continue; // not claimed, or stamped
                }
                if self.lanes.claimant(self.op(kind), p) == Claimant::Dead(i)
                    && self.seq(p).compare_exchange(seq, p.wrapping_add(self.cap), AcqRel, Relaxed).is_ok()
                {
                    freed += 1;
                    if seq == p.wrapping_add(1) {
                        lost += 1;
                    }
                }
            }
        }
        let _ = lane.op.compare_exchange(o, o | op::SETTLED, AcqRel, Relaxed);
        if lost > 0 {
            self.count_lost(lost);
            lane.lost.fetch_add(lost, Relaxed);
        }
        if kind == op::PUSH && lost > 0 {
            self.idx().not_empty.notify_all_asymmetric();
        }
        if freed > 0 {
            self.idx().not_full.notify_all_asymmetric();
        }
        lost
    }

    // --- Blocking ---------------------------------------------------------------------------

    /// Retries `attempt` until it pushes, sleeping on `not_full` between attempts. With
    /// `many_consumers`, a dead consumer's stalled slot is looked for every [`RECOVERY_INTERVAL`].
    pub(crate) fn push_blocking(
        &self,
        timeout: Option<Duration>,
        many_consumers: bool,
        attempt: impl FnMut() -> std::result::Result<bool, Corrupt>,
    ) -> std::result::Result<(), Blocked> {
        let stall = || self.check_push_stall();
        self.retry_blocking(&self.idx().not_full, timeout, attempt, many_consumers.then_some(&stall))
    }

    /// Retries `attempt` until it pops, sleeping on `not_empty` between attempts. With
    /// `many_producers`, a dead producer's stalled slot is looked for every [`RECOVERY_INTERVAL`].
    pub(crate) fn pop_blocking(
        &self,
        timeout: Option<Duration>,
        many_producers: bool,
        attempt: impl FnMut() -> std::result::Result<bool, Corrupt>,
    ) -> std::result::Result<(), Blocked> {
        let stall = || self.check_pop_stall();
        self.retry_blocking(&self.idx().not_empty, timeout, attempt, many_producers.then_some(&stall))
    }

    /// Retries `attempt` until it succeeds: spinning a little, then sleeping on `ec` — at most
    /// [`RECOVERY_INTERVAL`] at a time if `stall` looks for dead peers (they wake nobody).
    fn retry_blocking(
        &self,
        ec: &EventCount,
        timeout: Option<Duration>,
        mut attempt: impl FnMut() -> std::result::Result<bool, Corrupt>,
        stall: Option<&dyn Fn()>,
    ) -> std::result::Result<(), Blocked> {
        let mut spins = SPINS;
        loop {
            match attempt() {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(c) => return Err(Blocked::Corrupt(c)),
            }
            if spins == 0 {
                break;
            }
            spins -= 1;
            spin_loop();
        }
        let mut ready = || match attempt() {
            Ok(true) => Some(Ok(())),
            Ok(false) => None,
            Err(c) => Some(Err(Blocked::Corrupt(c))),
        };
        let deadline = Deadline::after(timeout);
        loop {
            let slice = match stall {
                Some(_) if !cfg!(loom) => deadline.capped(RECOVERY_INTERVAL),
                _ => deadline,
            };
            match ec.wait_until_asymmetric(slice, &mut ready) {
                Ok(r) => return r,
                Err(_) => match stall {
                    Some(look) if !deadline.passed() => look(),
                    _ => return Err(Blocked::Timeout),
                },
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One queue in a segment: the shared plumbing of Queue, its role handles and Endpoint
// ---------------------------------------------------------------------------------------------

/// The roles a single-producer or single-consumer policy hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Producer,
    Consumer,
}

/// A queue's bytes in a segment: the mapping (kept alive), where the queue starts in its region,
/// and its algorithms, for elements represented by `E` (a Rust type for [`Queue`], bytes for
/// [`zipc::dynamic`](crate::dynamic)).
pub(crate) struct QueueBytes<E> {
    segment: Segment,
    region: Region,
    base: u64,
    raw: Raw<E>,
}

impl<E: Copy> Clone for QueueBytes<E> {
    fn clone(&self) -> Self {
        QueueBytes { segment: self.segment.clone(), region: self.region.clone(), base: self.base, raw: self.raw }
    }
}

// SAFETY: the handle owns an `Arc` of the mapping, so `raw`'s pointers stay valid wherever the
// handle goes; every access through them is atomic or to a slot the protocol hands to the caller,
// and elements are plain bytes (`Element: Send + Sync`). Single-role exclusivity is enforced by
// the role handles.
unsafe impl<E: Element> Send for QueueBytes<E> {}
// SAFETY: as above.
unsafe impl<E: Element> Sync for QueueBytes<E> {}

impl<E: Element> QueueBytes<E> {
    /// The queue of `capacity` slots of `elem` at `base` in `region` (validated by the caller: the
    /// region holds `region_for(.., elem.size(), capacity, policy)` bytes from `base`).
    ///
    /// Registers this process for the asymmetric fence first (`asymmetric_fence.rs`): every
    /// process that touches a queue — Rust, or C and Python through the C ABI — runs this.
    pub(crate) fn new(segment: &Segment, region: Region, base: u64, capacity: u64, policy: u32, elem: E) -> Self {
        asymmetric_fence::register();
        let stride = slot_size(elem.size() as u64, policy).expect("validated slot size");
        assert_eq!(elem.slot_stride() as u64, stride, "zipc bug: slot size");
        let idx = region.ptr(base + header::TAIL, INDICES_SIZE).cast::<Indices>();
        let slots = region.ptr(base + header::SLOTS, capacity * stride);
        assert!(idx.is_aligned() && slots.cast::<u64>().is_aligned(), "zipc bug: misaligned queue");
        // SAFETY: both pointers lie inside the region (checked by `ptr`), aligned (checked), in a
        // mapping that `region` keeps alive as long as this value; any bits are valid for atomics,
        // event counts and elements (plain bytes); the strides are FORMAT.md's (checked above);
        // `capacity` is a validated power of two; the lanes are the segment's and the id is the
        // queue's own 128-aligned offset.
        let lanes = segment.lanes().unwrap_or_else(LaneTable::empty);
        let raw = unsafe { Raw::new(idx, slots, capacity, elem, lanes, region.offset() + base) };
        QueueBytes { segment: segment.clone(), region, base, raw }
    }

    /// Writes a fresh queue's header into the (zeroed, unpublished) region.
    pub(crate) fn init(&self, policy: u32, start: u64) {
        let r = &self.region;
        r.u64_at(self.base + header::CAPACITY).store(self.raw.cap, Relaxed);
        r.u32_at(self.base + header::POLICY).store(policy, Relaxed);
        let elem = self.raw.elem().size() as u64;
        r.u32_at(self.base + header::ELEM_SIZE).store(elem as u32, Relaxed);
        let stride = slot_size(elem, policy).expect("validated slot size");
        r.u32_at(self.base + header::SLOT_SIZE).store(stride as u32, Relaxed);
        self.raw.init(start);
    }

    pub(crate) fn raw(&self) -> &Raw<E> {
        &self.raw
    }

    pub(crate) fn segment(&self) -> &Segment {
        &self.segment
    }

    pub(crate) fn name(&self) -> &str {
        self.region.name()
    }

    pub(crate) fn offset(&self) -> u64 {
        self.region.offset() + self.base
    }

    /// The error for an impossible state.
    #[cold]
    pub(crate) fn corrupt(&self, c: Corrupt) -> Error {
        Error::corrupt(self.segment.name(), format!("structure {:?}.{}", self.name(), c.field), c.detail)
    }

    /// The error for a failed blocking operation.
    #[cold]
    pub(crate) fn blocked(&self, b: Blocked) -> Error {
        match b {
            Blocked::Timeout => Error::Timeout,
            Blocked::Corrupt(c) => self.corrupt(c),
        }
    }

    fn role_words(&self, role: Role) -> (u64, u64) {
        match role {
            Role::Producer => (header::PRODUCER_OWNER, header::PRODUCER_TAKEOVERS),
            Role::Consumer => (header::CONSUMER_OWNER, header::CONSUMER_TAKEOVERS),
        }
    }

    /// Claims `role` for this process, or fails with [`Error::RoleTaken`] naming `label` if a
    /// live process (this one included) holds it. A dead holder's claim is taken over.
    pub(crate) fn claim(&self, role: Role, label: &'static str) -> Result<()> {
        let (owner_at, takeovers_at) = self.role_words(role);
        let owner = self.region.u64_at(self.base + owner_at);
        let me = crate::sys::process::current();
        let tag = ((me.pid as u64) << 40) | (me.start_time & crate::sys::process::START_MASK);
        let mut current = 0;
        loop {
            // Acquire: whatever the previous holder did before releasing happens before our use.
            match owner.compare_exchange(current, tag, Acquire, Acquire) {
                Ok(_) => {
                    if current != 0 {
                        self.region.u32_at(self.base + takeovers_at).fetch_add(1, Relaxed);
                    }
                    return Ok(());
                }
                Err(found) => {
                    let holder = crate::sys::process::ProcessId {
                        pid: (found >> 40) as u32,
                        start_time: found & crate::sys::process::START_MASK,
                    };
                    if found == tag || crate::sys::process::is_alive(holder) {
                        return Err(Error::RoleTaken {
                            structure: self.name().to_owned(),
                            role: label,
                            pid: holder.pid,
                        });
                    }
                    current = found; // dead: take it over (if nobody else does first)
                }
            }
        }
    }

    /// Releases a role this handle claimed.
    pub(crate) fn release(&self, role: Role) {
        let (owner_at, _) = self.role_words(role);
        let me = crate::sys::process::current();
        let tag = ((me.pid as u64) << 40) | (me.start_time & crate::sys::process::START_MASK);
        // Release: our last index store happens before the next holder's claim. If the word no
        // longer holds our tag, someone took the role over wrongly; leave theirs alone.
        let _ = self.region.u64_at(self.base + owner_at).compare_exchange(tag, 0, Release, Relaxed);
    }

    /// How many times `role` was taken over from a dead holder.
    pub(crate) fn takeovers(&self, role: Role) -> u32 {
        let (_, takeovers_at) = self.role_words(role);
        self.region.u32_at(self.base + takeovers_at).load(Relaxed)
    }

    // --- A role handle's operations, chosen by the policy ----------------------------------
    //
    // The typed handles pass their policy's constant flags, so the choice is made at compile
    // time; `zipc::dynamic` passes the flags the segment records. Elements are `E::size()` bytes.

    /// Pushes the element in `src` if there is room (producer of `policy`, state `tx`).
    #[inline(always)]
    pub(crate) fn try_push(&self, policy: u32, tx: &mut TxState, src: &[u8]) -> Result<bool> {
        let r = if policy == flags::POLICY_SPSC {
            self.raw.spsc_try_push(tx, src)
        } else {
            self.raw.mp_try_push(self.raw.lanes.lane(tx.lane), src, policy == flags::POLICY_MPMC)
        };
        r.map_err(|c| self.corrupt(c))
    }

    /// Pushes the element in `src`, waiting at most `timeout` for room.
    pub(crate) fn push(&self, policy: u32, tx: &mut TxState, src: &[u8], timeout: Option<Duration>) -> Result<()> {
        let raw = &self.raw;
        let many_consumers = policy == flags::POLICY_MPMC;
        let r = if policy == flags::POLICY_SPSC {
            raw.push_blocking(timeout, false, || raw.spsc_try_push(tx, src))
        } else {
            let lane = raw.lanes.lane(tx.lane);
            raw.push_blocking(timeout, many_consumers, || raw.mp_try_push(lane, src, many_consumers))
        };
        r.map_err(|b| self.blocked(b))
    }

    /// Pushes as many whole elements of `src` as there is room for; returns how many.
    pub(crate) fn push_bulk(&self, policy: u32, tx: &mut TxState, src: &[u8]) -> Result<usize> {
        let r = if policy == flags::POLICY_SPSC {
            self.raw.spsc_push_bulk(tx, src)
        } else {
            self.raw.mp_push_bulk(self.raw.lanes.lane(tx.lane), src, policy == flags::POLICY_MPMC)
        };
        r.map_err(|c| self.corrupt(c))
    }

    /// Pops the oldest element into `dst` if there is one (consumer of `policy`, state `rx`).
    #[inline(always)]
    pub(crate) fn try_pop(&self, policy: u32, rx: &mut RxState, dst: &mut [u8]) -> Result<bool> {
        let raw = &self.raw;
        let r = match policy {
            flags::POLICY_SPSC => raw.spsc_try_pop(rx, dst),
            flags::POLICY_MPSC => raw.sc_try_pop(rx, dst),
            _ => raw.mc_try_pop(raw.lanes.lane(rx.lane), dst),
        };
        r.map_err(|c| self.corrupt(c))
    }

    /// Pops the oldest element into `dst`, waiting at most `timeout` for one.
    pub(crate) fn pop(&self, policy: u32, rx: &mut RxState, dst: &mut [u8], timeout: Option<Duration>) -> Result<()> {
        let raw = &self.raw;
        let r = match policy {
            flags::POLICY_SPSC => raw.pop_blocking(timeout, false, || raw.spsc_try_pop(rx, dst)),
            flags::POLICY_MPSC => raw.pop_blocking(timeout, true, || raw.sc_try_pop(rx, dst)),
            _ => {
                let lane = raw.lanes.lane(rx.lane);
                raw.pop_blocking(timeout, true, || raw.mc_try_pop(lane, dst))
            }
        };
        r.map_err(|b| self.blocked(b))
    }

    /// Pops up to as many elements as `dst` holds; returns how many.
    pub(crate) fn pop_bulk(&self, policy: u32, rx: &mut RxState, dst: &mut [u8]) -> Result<usize> {
        let raw = &self.raw;
        let r = match policy {
            flags::POLICY_SPSC => raw.spsc_pop_bulk(rx, dst),
            flags::POLICY_MPSC => raw.sc_pop_bulk(rx, dst),
            _ => raw.mc_pop_bulk(raw.lanes.lane(rx.lane), dst),
        };
        r.map_err(|c| self.corrupt(c))
    }

    // --- The shared handle's operations (multi-producer/consumer policies) -----------------
    //
    // `Queue` pushes and pops through `&self` from any thread: each thread uses its own lane
    // (`lane::thread_lane`), taken on its first operation.

    #[inline(always)]
    fn thread_lane(&self) -> Result<&Lane> {
        let i = lanes::thread_lane(&self.segment)?;
        Ok(self.raw.lanes.lane(i))
    }

    /// `try_push` on the shared handle.
    #[inline(always)]
    pub(crate) fn shared_try_push(&self, src: &[u8], many_consumers: bool) -> Result<bool> {
        let lane = self.thread_lane()?;
        self.raw.mp_try_push(lane, src, many_consumers).map_err(|c| self.corrupt(c))
    }

    /// `push` on the shared handle.
    pub(crate) fn shared_push(&self, src: &[u8], many_consumers: bool, timeout: Option<Duration>) -> Result<()> {
        let lane = self.thread_lane()?;
        let raw = &self.raw;
        raw.push_blocking(timeout, many_consumers, || raw.mp_try_push(lane, src, many_consumers))
            .map_err(|b| self.blocked(b))
    }

    /// `push_bulk` on the shared handle.
    pub(crate) fn shared_push_bulk(&self, src: &[u8], many_consumers: bool) -> Result<usize> {
        let lane = self.thread_lane()?;
        self.raw.mp_push_bulk(lane, src, many_consumers).map_err(|c| self.corrupt(c))
    }

    /// `try_pop` on the shared handle (MPMC).
    #[inline(always)]
    pub(crate) fn shared_try_pop(&self, dst: &mut [u8]) -> Result<bool> {
        let lane = self.thread_lane()?;
        self.raw.mc_try_pop(lane, dst).map_err(|c| self.corrupt(c))
    }

    /// `pop` on the shared handle (MPMC).
    pub(crate) fn shared_pop(&self, dst: &mut [u8], timeout: Option<Duration>) -> Result<()> {
        let lane = self.thread_lane()?;
        let raw = &self.raw;
        raw.pop_blocking(timeout, true, || raw.mc_try_pop(lane, dst)).map_err(|b| self.blocked(b))
    }

    /// `pop_bulk` on the shared handle (MPMC).
    pub(crate) fn shared_pop_bulk(&self, dst: &mut [u8]) -> Result<usize> {
        let lane = self.thread_lane()?;
        self.raw.mc_pop_bulk(lane, dst).map_err(|c| self.corrupt(c))
    }

    /// Settles every lane of a dead process that records an operation on this queue; returns
    /// the losses found ([`Queue::recover`]).
    pub(crate) fn recover(&self) -> u64 {
        let lanes = self.raw.lanes();
        (0..lanes.len())
            .filter(|&i| {
                let owner = lanes.lane(i).owner.load(Acquire);
                owner != 0 && !lanes.alive(owner)
            })
            .map(|i| self.raw.settle(i))
            .sum()
    }

    // --- Opening and closing role handles ---------------------------------------------------

    /// Takes what a producer of `policy` needs — the role word for a single producer, a lane
    /// otherwise — and loads the producer's state. Returns whether a role was claimed. Undo with
    /// [`close_producer`](Self::close_producer).
    pub(crate) fn open_producer(&self, policy: u32) -> Result<(TxState, bool)> {
        if policy != flags::POLICY_SPSC {
            return Ok((TxState::with_lane(lanes::take(&self.segment)?), false));
        }
        self.claim(Role::Producer, "producer")?;
        match self.raw.spsc_tx() {
            Ok(tx) => Ok((tx, true)),
            Err(c) => {
                self.release(Role::Producer);
                Err(self.corrupt(c))
            }
        }
    }

    /// Takes what a consumer of `policy` needs — the role word for a single consumer (settling
    /// a dead predecessor's pop in flight), a lane for MPMC — and loads the consumer's state.
    /// Returns whether a role was claimed. Undo with [`close_consumer`](Self::close_consumer).
    pub(crate) fn open_consumer(&self, policy: u32) -> Result<(RxState, bool)> {
        if policy == flags::POLICY_MPMC {
            return Ok((RxState::with_lane(lanes::take(&self.segment)?), false));
        }
        self.claim(Role::Consumer, "consumer")?;
        let rx = if policy == flags::POLICY_MPSC { self.raw.sc_rx() } else { self.raw.spsc_rx() };
        match rx {
            Ok((rx, _)) => Ok((rx, true)),
            Err(c) => {
                self.release(Role::Consumer);
                Err(self.corrupt(c))
            }
        }
    }

    /// Gives back what [`open_producer`](Self::open_producer) took.
    pub(crate) fn close_producer(&self, tx: &TxState, claimed: bool) {
        if claimed {
            self.release(Role::Producer);
        }
        if tx.lane != NO_LANE {
            lanes::release(&self.segment, tx.lane);
        }
    }

    /// Gives back what [`open_consumer`](Self::open_consumer) took.
    pub(crate) fn close_consumer(&self, rx: &RxState, claimed: bool) {
        if claimed {
            self.release(Role::Consumer);
        }
        if rx.lane != NO_LANE {
            lanes::release(&self.segment, rx.lane);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------------------------------

/// A bounded lock-free FIFO queue of `T` in a segment, with policy `P` ([`Spsc`], [`Mpsc`] or
/// [`Mpmc`]). See the [module docs](self) for the algorithms, roles and layout.
///
/// The handle is cheap to clone and `Send + Sync`. For [`Mpmc`] it pushes and pops directly; for
/// [`Mpsc`] it pushes directly and pops through [`consumer`](Queue::consumer); for [`Spsc`] both
/// go through [`producer`](Queue::producer) and [`consumer`](Queue::consumer).
///
/// An SPSC queue cannot be pushed through the shared handle, nor a producer through a shared
/// reference — only through the one claimed, exclusively borrowed role handle:
///
/// ```compile_fail,E0599
/// fn push_shared(q: &zipc::Queue<u64, zipc::Spsc>) {
///     q.try_push(1);
/// }
/// ```
///
/// ```compile_fail,E0596
/// fn push_from_two_threads(p: &zipc::Producer<u64, zipc::Spsc>) {
///     p.try_push(1);
/// }
/// ```
pub struct Queue<T: ShmType, P: Policy> {
    bytes: QueueBytes<Typed<T>>,
    _policy: PhantomData<fn() -> P>,
}

impl<T: ShmType, P: Policy> Clone for Queue<T, P> {
    fn clone(&self) -> Self {
        Queue { bytes: self.bytes.clone(), _policy: PhantomData }
    }
}

impl<T: ShmType, P: Policy> Queue<T, P> {
    /// Creates queue `name` with `capacity` slots (a power of two from 2 to 2^32).
    pub fn create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        Self::create_in(segment, &StructureLayout { capacity, ..Self::declaration(name) })
    }

    /// Creates queue `name` whose positions start at `start` instead of 0, so that a test can
    /// cross the 2^64 wrap point quickly. Otherwise identical to [`create`](Self::create).
    #[doc(hidden)]
    pub fn create_starting_at(segment: &Segment, name: &str, capacity: u64, start: u64) -> Result<Self> {
        Self::create_with(segment, &StructureLayout { capacity, ..Self::declaration(name) }, start)
    }

    /// Opens queue `name` whatever its capacity, checking its element layout and policy.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        structures::check_declaration::<Self>(&Self::declaration(name))?;
        let (region, desc) = segment.lookup(&Self::declaration(name), false)?;
        Ok(Self::from_region(segment, region, desc.capacity))
    }

    /// Opens queue `name`, or creates it with `capacity` slots. An existing queue must have
    /// exactly `capacity` slots.
    pub fn open_or_create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        let decl = StructureLayout { capacity, ..Self::declaration(name) };
        loop {
            match Self::open_in(segment, &decl) {
                Err(Error::NotFound { object: Object::Structure, .. }) => {}
                other => return other,
            }
            match Self::create_in(segment, &decl) {
                Err(Error::AlreadyExists { object: Object::Structure, .. }) => continue,
                other => return other,
            }
        }
    }

    fn create_with(segment: &Segment, decl: &StructureLayout<'_>, start: u64) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let capacity = decl.capacity;
        let region = segment.allocate(decl, |r| {
            QueueBytes::new(segment, r.clone(), 0, capacity, P::FLAGS, Typed::<T>::new()).init(P::FLAGS, start);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, capacity))
    }

    fn from_region(segment: &Segment, region: Region, capacity: u64) -> Self {
        Queue { bytes: QueueBytes::new(segment, region, 0, capacity, P::FLAGS, Typed::new()), _policy: PhantomData }
    }

    /// The queue's name in the segment.
    pub fn name(&self) -> &str {
        self.bytes.name()
    }

    /// The segment this queue is in.
    pub fn segment(&self) -> &Segment {
        self.bytes.segment()
    }

    /// Offset of the queue's region in the segment.
    pub fn offset(&self) -> u64 {
        self.bytes.offset()
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.bytes.raw.capacity() as usize
    }

    /// Number of elements, approximately: other processes may push and pop during the call.
    pub fn len(&self) -> usize {
        self.bytes.raw.len() as usize
    }

    /// Whether the queue is empty, approximately (see [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue is full, approximately (see [`len`](Self::len)).
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Consumers currently sleeping in a blocking pop (approximate; for inspection and tests).
    pub fn waiting_consumers(&self) -> u32 {
        self.bytes.raw.waiting_consumers()
    }

    /// Producers currently sleeping in a blocking push (approximate; for inspection and tests).
    pub fn waiting_producers(&self) -> u32 {
        self.bytes.raw.waiting_producers()
    }

    /// Messages lost because processes died in the middle of an operation: positions a
    /// producer claimed but never wrote, elements a consumer claimed but never returned (see
    /// the module docs, *Crashes*). Every other accepted message is delivered exactly once.
    pub fn lost(&self) -> u64 {
        self.bytes.raw.lost()
    }

    /// Settles every operation on this queue that a dead process left half-done, now rather
    /// than when a survivor next runs into it; returns the messages it found lost. (The
    /// segment-wide [`Segment::recover_dead`] also reports whose they were.)
    pub fn recover(&self) -> u64 {
        self.bytes.recover()
    }

    /// How many times a single-producer role was taken over from a process that died holding it.
    pub fn producer_takeovers(&self) -> u32 {
        self.bytes.takeovers(Role::Producer)
    }

    /// How many times a single-consumer role was taken over from a process that died holding it.
    pub fn consumer_takeovers(&self) -> u32 {
        self.bytes.takeovers(Role::Consumer)
    }

    /// A producer handle. For [`Spsc`] it claims the queue's one producer role (in all
    /// processes) until dropped, and fails with [`Error::RoleTaken`] while another handle holds
    /// it; for multi-producer policies it claims nothing.
    pub fn producer(&self) -> Result<Producer<T, P>> {
        let bytes = self.bytes.clone();
        let (tx, claimed) = bytes.open_producer(P::FLAGS)?;
        Ok(Producer { bytes, tx, claimed, _policy: PhantomData })
    }

    /// A consumer handle. For single-consumer policies ([`Spsc`], [`Mpsc`]) it claims the
    /// queue's one consumer role until dropped, and fails with [`Error::RoleTaken`] while another
    /// handle holds it; for [`Mpmc`] it claims nothing.
    pub fn consumer(&self) -> Result<Consumer<T, P>> {
        let bytes = self.bytes.clone();
        let (rx, claimed) = bytes.open_consumer(P::FLAGS)?;
        Ok(Consumer { bytes, rx, claimed, _policy: PhantomData })
    }
}

impl<T: ShmType, P: MultiProducer> Queue<T, P> {
    /// Pushes `value` if there is room: `Ok(true)` if pushed, `Ok(false)` if the queue is full.
    #[inline]
    pub fn try_push(&self, value: T) -> Result<bool> {
        self.bytes.shared_try_push(value.as_bytes(), P::MULTI_CONSUMER)
    }

    /// Pushes `value`, waiting while the queue is full: at most `timeout` (`None`: forever),
    /// then [`Error::Timeout`] (the queue is unchanged).
    pub fn push(&self, value: T, timeout: Option<Duration>) -> Result<()> {
        self.bytes.shared_push(value.as_bytes(), P::MULTI_CONSUMER, timeout)
    }

    /// Pushes as many elements of `src` as there is room for, in order, claiming them with one
    /// compare-and-swap; returns how many. Does not wait.
    pub fn push_bulk(&self, src: &[T]) -> Result<usize> {
        self.bytes.shared_push_bulk(src.as_bytes(), P::MULTI_CONSUMER)
    }
}

impl<T: ShmType, P: MultiConsumer> Queue<T, P> {
    /// Pops the oldest element, or `Ok(None)` if the queue is empty.
    #[inline]
    pub fn try_pop(&self) -> Result<Option<T>> {
        let mut v = T::new_zeroed();
        let got = self.bytes.shared_try_pop(v.as_mut_bytes())?;
        Ok(got.then_some(v))
    }

    /// Pops the oldest element, waiting while the queue is empty: at most `timeout` (`None`:
    /// forever), then [`Error::Timeout`] (the queue is unchanged).
    pub fn pop(&self, timeout: Option<Duration>) -> Result<T> {
        let mut v = T::new_zeroed();
        self.bytes.shared_pop(v.as_mut_bytes(), timeout)?;
        Ok(v)
    }

    /// Pops up to `dst.len()` of the oldest elements into `dst`, claiming them with one
    /// compare-and-swap; returns how many. Does not wait.
    pub fn pop_bulk(&self, dst: &mut [T]) -> Result<usize> {
        self.bytes.shared_pop_bulk(dst.as_mut_bytes())
    }
}

#[diagnostic::do_not_recommend]
impl<T: ShmType, P: Policy> Structure for Queue<T, P> {
    const KIND: Kind = Kind::Queue;
    const ELEM: Option<TypeLayout<'static>> = Some(T::SHM_LAYOUT);
    const FLAGS: u32 = P::FLAGS;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        Self::create_with(segment, decl, 0)
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Ok(Self::from_region(segment, region, desc.capacity))
    }
}

impl<T: ShmType, P: Policy> std::fmt::Debug for Queue<T, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("segment", &self.segment().name())
            .field("name", &self.name())
            .field("policy", &P::NAME)
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Role handles
// ---------------------------------------------------------------------------------------------

/// The pushing end of a [`Queue`], from [`Queue::producer`]. For [`Spsc`] it holds the queue's
/// one producer role (released on drop) and keeps the producer's position and a cached copy of
/// the consumer's in its own memory; operations take `&mut self`, so one thread uses it at a time.
pub struct Producer<T: ShmType, P: Policy> {
    bytes: QueueBytes<Typed<T>>,
    tx: TxState,
    claimed: bool,
    _policy: PhantomData<fn() -> P>,
}

impl<T: ShmType, P: Policy> Producer<T, P> {
    /// Pushes `value` if there is room: `Ok(true)` if pushed, `Ok(false)` if the queue is full.
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<bool> {
        self.bytes.try_push(P::FLAGS, &mut self.tx, value.as_bytes())
    }

    /// Pushes `value`, waiting while the queue is full: at most `timeout` (`None`: forever),
    /// then [`Error::Timeout`] (the queue is unchanged).
    pub fn push(&mut self, value: T, timeout: Option<Duration>) -> Result<()> {
        self.bytes.push(P::FLAGS, &mut self.tx, value.as_bytes(), timeout)
    }

    /// Pushes as many elements of `src` as there is room for, in order, publishing them at once;
    /// returns how many. Does not wait.
    pub fn push_bulk(&mut self, src: &[T]) -> Result<usize> {
        self.bytes.push_bulk(P::FLAGS, &mut self.tx, src.as_bytes())
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.bytes.raw.capacity() as usize
    }

    /// Number of elements, approximately (see [`Queue::len`]).
    pub fn len(&self) -> usize {
        self.bytes.raw.len() as usize
    }

    /// Whether the queue is empty, approximately.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: ShmType, P: Policy> Drop for Producer<T, P> {
    fn drop(&mut self) {
        self.bytes.close_producer(&self.tx, self.claimed);
    }
}

impl<T: ShmType, P: Policy> std::fmt::Debug for Producer<T, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer").field("queue", &self.bytes.name()).field("policy", &P::NAME).finish()
    }
}

/// The popping end of a [`Queue`], from [`Queue::consumer`]. For [`Spsc`] and [`Mpsc`] it holds
/// the queue's one consumer role (released on drop) and keeps the consumer's position in its own
/// memory; operations take `&mut self`, so one thread uses it at a time.
pub struct Consumer<T: ShmType, P: Policy> {
    bytes: QueueBytes<Typed<T>>,
    rx: RxState,
    claimed: bool,
    _policy: PhantomData<fn() -> P>,
}

impl<T: ShmType, P: Policy> Consumer<T, P> {
    /// Pops the oldest element, or `Ok(None)` if the queue is empty.
    #[inline]
    pub fn try_pop(&mut self) -> Result<Option<T>> {
        let mut v = T::new_zeroed();
        let got = self.bytes.try_pop(P::FLAGS, &mut self.rx, v.as_mut_bytes())?;
        Ok(got.then_some(v))
    }

    /// Pops the oldest element, waiting while the queue is empty: at most `timeout` (`None`:
    /// forever), then [`Error::Timeout`] (the queue is unchanged).
    pub fn pop(&mut self, timeout: Option<Duration>) -> Result<T> {
        let mut v = T::new_zeroed();
        self.bytes.pop(P::FLAGS, &mut self.rx, v.as_mut_bytes(), timeout)?;
        Ok(v)
    }

    /// Pops up to `dst.len()` of the oldest elements into `dst`, releasing their slots at once;
    /// returns how many. Does not wait.
    pub fn pop_bulk(&mut self, dst: &mut [T]) -> Result<usize> {
        self.bytes.pop_bulk(P::FLAGS, &mut self.rx, dst.as_mut_bytes())
    }

    /// For a single consumer ([`Spsc`], [`Mpsc`]) that took the role over from a process that
    /// died in the middle of a pop: how many elements that pop had claimed — skipped, and
    /// counted in [`Queue::lost`]. 0 otherwise.
    pub fn lost_on_takeover(&self) -> u64 {
        self.rx.lost_on_takeover
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.bytes.raw.capacity() as usize
    }

    /// Number of elements, approximately (see [`Queue::len`]).
    pub fn len(&self) -> usize {
        self.bytes.raw.len() as usize
    }

    /// Whether the queue is empty, approximately.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: ShmType, P: Policy> Drop for Consumer<T, P> {
    fn drop(&mut self) {
        self.bytes.close_consumer(&self.rx, self.claimed);
    }
}

impl<T: ShmType, P: Policy> std::fmt::Debug for Consumer<T, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer").field("queue", &self.bytes.name()).field("policy", &P::NAME).finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

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

pub(crate) fn queue_lines(q: &QueueState, label: &str, out: &mut Vec<String>) {
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

pub(crate) fn queue_json(q: &QueueState) -> Json {
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

impl LiveState for QueueState {
    fn report(&self, out: &mut Vec<String>) {
        let q = self;
        queue_lines(q, &format!("{} ", q.policy), out);
    }

    fn json(&self) -> Json {
        let q = self;
        queue_json(q)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn slots_are_the_format_s() {
        assert_eq!(std::mem::size_of::<Slot<[u32; 3]>>() as u64, slot_size(12, flags::POLICY_MPSC).unwrap());
        assert_eq!(std::mem::size_of::<Slot<u8>>() as u64, slot_size(1, flags::POLICY_MPMC).unwrap());
        assert_eq!((Spsc::NAME, Mpsc::NAME, Mpmc::NAME), ("spsc", "mpsc", "mpmc"));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Models of every algorithm on a tiny queue (2 slots) whose positions start just below the
    //! 2^64 wrap point, so that full, empty and wraparound are all crossed.
    use super::*;
    use loom::sync::Arc;
    use loom::thread;
    use std::sync::atomic::Ordering::SeqCst;

    struct Heap {
        _idx: Box<Indices>,
        _slots: Vec<Slot<u64>>,
        _lanes: Vec<Lane>,
        raw: U64Raw,
    }

    /// Lanes of a model: one per thread, owned by tags 1..=LANES. A model "kills" the owner of
    /// a lane after its thread has stopped by setting `DEAD` in the tag.
    const LANES: usize = 4;
    const DEAD: u64 = 1 << 63;

    fn alive(tag: u64) -> bool {
        tag & DEAD == 0
    }

    /// The algorithms on `u64` elements, passed by value (the models' view of `Raw`'s byte
    /// buffers, which the typed API converts the same way).
    struct U64Raw(Raw<Typed<u64>>);

    type R<T> = std::result::Result<T, Corrupt>;

    fn pop_one(pop: impl FnOnce(&mut [u8]) -> R<bool>) -> R<Option<u64>> {
        let mut v = 0u64;
        Ok(pop(v.as_mut_bytes())?.then_some(v))
    }

    impl U64Raw {
        fn init(&self, start: u64) {
            self.0.init(start)
        }
        fn idx(&self) -> &Indices {
            self.0.idx()
        }
        fn len(&self) -> u64 {
            self.0.len()
        }
        fn spsc_tx(&self) -> R<TxState> {
            self.0.spsc_tx()
        }
        fn lane(&self, i: usize) -> &Lane {
            self.0.lanes().lane(i as u32)
        }
        /// Marks the owner of lane `i` dead (its thread has stopped for good).
        fn kill(&self, i: usize) {
            let l = self.lane(i);
            l.owner.store(l.owner.load(Relaxed) | DEAD, SeqCst);
        }
        fn spsc_rx(&self) -> R<RxState> {
            Ok(self.0.spsc_rx()?.0)
        }
        fn sc_rx(&self) -> RxState {
            self.0.sc_rx().unwrap().0
        }
        fn spsc_try_push(&self, tx: &mut TxState, v: u64) -> R<bool> {
            self.0.spsc_try_push(tx, v.as_bytes())
        }
        fn spsc_try_pop(&self, rx: &mut RxState) -> R<Option<u64>> {
            pop_one(|b| self.0.spsc_try_pop(rx, b))
        }
        fn spsc_push_bulk(&self, tx: &mut TxState, src: &[u64]) -> R<usize> {
            self.0.spsc_push_bulk(tx, src.as_bytes())
        }
        fn spsc_pop_bulk(&self, rx: &mut RxState, dst: &mut [u64]) -> R<usize> {
            self.0.spsc_pop_bulk(rx, dst.as_mut_bytes())
        }
        fn mp_try_push(&self, lane: usize, v: u64, many_consumers: bool) -> R<bool> {
            self.0.mp_try_push(self.lane(lane), v.as_bytes(), many_consumers)
        }
        fn mp_push_bulk(&self, lane: usize, src: &[u64], many_consumers: bool) -> R<usize> {
            self.0.mp_push_bulk(self.lane(lane), src.as_bytes(), many_consumers)
        }
        fn mc_try_pop(&self, lane: usize) -> R<Option<u64>> {
            pop_one(|b| self.0.mc_try_pop(self.lane(lane), b))
        }
        fn mc_pop_bulk(&self, lane: usize, dst: &mut [u64]) -> R<usize> {
            self.0.mc_pop_bulk(self.lane(lane), dst.as_mut_bytes())
        }
        fn sc_try_pop(&self, rx: &mut RxState) -> R<Option<u64>> {
            pop_one(|b| self.0.sc_try_pop(rx, b))
        }
        fn sc_pop_bulk(&self, rx: &mut RxState, dst: &mut [u64]) -> R<usize> {
            self.0.sc_pop_bulk(rx, dst.as_mut_bytes())
        }
        fn push_blocking(
            &self,
            timeout: Option<Duration>,
            attempt: impl FnMut() -> R<bool>,
        ) -> std::result::Result<(), Blocked> {
            self.0.push_blocking(timeout, false, attempt)
        }
        fn pop_blocking(
            &self,
            timeout: Option<Duration>,
            mut attempt: impl FnMut() -> R<Option<u64>>,
        ) -> std::result::Result<u64, Blocked> {
            let mut out = 0;
            self.0.pop_blocking(timeout, false, || Ok(attempt()?.map(|v| out = v).is_some()))?;
            Ok(out)
        }
    }

    // SAFETY: the heap memory is shared exactly as a segment is between processes.
    unsafe impl Send for Heap {}
    // SAFETY: as above.
    unsafe impl Sync for Heap {}

    const START: u64 = u64::MAX - 1;

    /// A queue of `cap` slots on the heap (`vyukov` only documents which algorithms the model
    /// runs: every policy has the same slots).
    fn heap(cap: u64, vyukov: bool) -> Arc<Heap> {
        let _ = vyukov;
        let idx = Box::new(Indices::new());
        let mut slots: Vec<Slot<u64>> = (0..cap).map(|_| Slot::new(0)).collect();
        let base = slots.as_mut_ptr().cast::<u8>();
        let lanes: Vec<Lane> = (1..=LANES as u64).map(Lane::new).collect();
        // SAFETY: the boxes and vectors live as long as `raw` (same struct; their heap memory
        // does not move when the struct does).
        let table = unsafe { LaneTable::new(lanes.as_ptr(), LANES as u32, alive) };
        // SAFETY: as above.
        let raw = U64Raw(unsafe { Raw::new(&*idx, base, cap, Typed::new(), table, ALIGN) });
        raw.init(START);
        Arc::new(Heap { _idx: idx, _slots: slots, _lanes: lanes, raw })
    }

    fn push_spin(mut push: impl FnMut() -> std::result::Result<bool, Corrupt>) {
        while !push().unwrap() {
            thread::yield_now();
        }
    }

    fn pop_spin(mut pop: impl FnMut() -> std::result::Result<Option<u64>, Corrupt>) -> u64 {
        loop {
            if let Some(v) = pop().unwrap() {
                return v;
            }
            thread::yield_now();
        }
    }

    #[test]
    fn loom_queue_spsc_fifo_across_full_and_wrap() {
        loom::model(|| {
            let q = heap(2, false);
            let q2 = q.clone();
            let producer = thread::spawn(move || {
                let mut tx = q2.raw.spsc_tx().unwrap();
                for v in 1..=3 {
                    push_spin(|| q2.raw.spsc_try_push(&mut tx, v));
                }
            });
            let mut rx = q.raw.spsc_rx().unwrap();
            let got: Vec<u64> = (0..3).map(|_| pop_spin(|| q.raw.spsc_try_pop(&mut rx))).collect();
            producer.join().unwrap();
            assert_eq!(got, [1, 2, 3]);
            assert_eq!(q.raw.len(), 0);
            assert_eq!(q.raw.idx().tail.0.load(Relaxed), START.wrapping_add(3));
        });
    }

    #[test]
    fn loom_queue_spsc_bulk() {
        loom::model(|| {
            let q = heap(2, false);
            let q2 = q.clone();
            let producer = thread::spawn(move || {
                let mut tx = q2.raw.spsc_tx().unwrap();
                let src = [1, 2, 3];
                let mut sent = 0;
                while sent < src.len() {
                    let n = q2.raw.spsc_push_bulk(&mut tx, &src[sent..]).unwrap();
                    if n == 0 {
                        thread::yield_now();
                    }
                    sent += n;
                }
            });
            let mut rx = q.raw.spsc_rx().unwrap();
            let mut got = Vec::new();
            while got.len() < 3 {
                let mut buf = [0; 3];
                let n = q.raw.spsc_pop_bulk(&mut rx, &mut buf).unwrap();
                if n == 0 {
                    thread::yield_now();
                }
                got.extend_from_slice(&buf[..n]);
            }
            producer.join().unwrap();
            assert_eq!(got, [1, 2, 3]);
        });
    }

    /// Two producers race for positions (one of them may find the queue full) while the single
    /// consumer pops; every pushed element is popped exactly once, one producer's in order. No
    /// thread spins: loom cannot bound a search in which two threads wait for a third.
    #[test]
    fn loom_queue_mpsc_two_producers() {
        loom::model(|| {
            let q = heap(2, true);
            let producers: Vec<_> = [&[1u64, 2][..], &[10][..]]
                .into_iter()
                .enumerate()
                .map(|(lane, values)| {
                    let q = q.clone();
                    thread::spawn(move || {
                        values
                            .iter()
                            .filter(|&&v| q.raw.mp_try_push(lane, v, false).unwrap())
                            .copied()
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut rx = q.raw.sc_rx();
            let mut got: Vec<u64> = q.raw.sc_try_pop(&mut rx).unwrap().into_iter().collect();
            let mut pushed: Vec<u64> = producers.into_iter().flat_map(|p| p.join().unwrap()).collect();
            while let Some(v) = q.raw.sc_try_pop(&mut rx).unwrap() {
                got.push(v);
            }
            assert!(pushed.len() >= 2, "a push failed although the queue had room: {pushed:?}");
            if let (Some(a), Some(b)) = (got.iter().position(|&g| g == 1), got.iter().position(|&g| g == 2)) {
                assert!(a < b, "one producer's elements stay in order: {got:?}");
            }
            got.sort_unstable();
            pushed.sort_unstable();
            assert_eq!(got, pushed, "every pushed element popped exactly once");
            assert_eq!(q.raw.len(), 0);
        });
    }

    /// Two producers and two consumers race for the same positions; each element is popped by
    /// exactly one consumer.
    #[test]
    fn loom_queue_mpmc_two_producers_two_consumers() {
        loom::model(|| {
            let q = heap(2, true);
            let producers: Vec<_> = [1, 2]
                .into_iter()
                .map(|v| {
                    let q = q.clone();
                    thread::spawn(move || assert!(q.raw.mp_try_push(v as usize, v, true).unwrap(), "room for two"))
                })
                .collect();
            let q2 = q.clone();
            let consumer = thread::spawn(move || q2.raw.mc_try_pop(3).unwrap());
            let mut got: Vec<u64> = q.raw.mc_try_pop(0).unwrap().into_iter().collect();
            got.extend(consumer.join().unwrap());
            for p in producers {
                p.join().unwrap();
            }
            while let Some(v) = q.raw.mc_try_pop(0).unwrap() {
                got.push(v);
            }
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
        });
    }

    #[test]
    fn loom_queue_mpmc_fifo_across_full_and_wrap() {
        loom::model(|| {
            let q = heap(2, true);
            let q2 = q.clone();
            let producer = thread::spawn(move || {
                for v in 1..=3 {
                    push_spin(|| q2.raw.mp_try_push(1, v, true));
                }
            });
            let got: Vec<u64> = (0..3).map(|_| pop_spin(|| q.raw.mc_try_pop(0))).collect();
            producer.join().unwrap();
            assert_eq!(got, [1, 2, 3]);
            assert_eq!(q.raw.idx().head.0.head.load(Relaxed), START.wrapping_add(3));
        });
    }

    #[test]
    fn loom_queue_mpmc_bulk_with_a_racing_push() {
        loom::model(|| {
            let q = heap(4, true);
            let q2 = q.clone();
            let bulk = thread::spawn(move || {
                let src = [1, 2];
                let mut sent = 0;
                while sent < src.len() {
                    let n = q2.raw.mp_push_bulk(1, &src[sent..], true).unwrap();
                    if n == 0 {
                        thread::yield_now();
                    }
                    sent += n;
                }
            });
            let q3 = q.clone();
            let single = thread::spawn(move || push_spin(|| q3.raw.mp_try_push(2, 10, true)));
            let mut got = Vec::new();
            while got.len() < 3 {
                let mut buf = [0; 4];
                let n = q.raw.mc_pop_bulk(0, &mut buf).unwrap();
                if n == 0 {
                    thread::yield_now();
                }
                got.extend_from_slice(&buf[..n]);
            }
            bulk.join().unwrap();
            single.join().unwrap();
            let pos = |v| got.iter().position(|&g| g == v).unwrap();
            assert!(pos(1) < pos(2), "{got:?}");
            got.sort_unstable();
            assert_eq!(got, [1, 2, 10]);
        });
    }

    #[test]
    fn loom_queue_mpsc_bulk_pop() {
        loom::model(|| {
            let q = heap(2, true);
            let q2 = q.clone();
            let producer = thread::spawn(move || {
                for v in 1..=3 {
                    push_spin(|| q2.raw.mp_try_push(1, v, false));
                }
            });
            let mut rx = q.raw.sc_rx();
            let mut got = Vec::new();
            while got.len() < 3 {
                let mut buf = [0; 2];
                let n = q.raw.sc_pop_bulk(&mut rx, &mut buf).unwrap();
                if n == 0 {
                    thread::yield_now();
                }
                got.extend_from_slice(&buf[..n]);
            }
            producer.join().unwrap();
            assert_eq!(got, [1, 2, 3]);
        });
    }

    /// A bulk consumer and a single consumer race for the elements of two producers.
    #[test]
    fn loom_queue_mpmc_bulk_and_single_consumers() {
        loom::model(|| {
            let q = heap(4, true);
            let producers: Vec<_> = [1, 2]
                .into_iter()
                .map(|v| {
                    let q = q.clone();
                    thread::spawn(move || assert!(q.raw.mp_try_push(v as usize, v, true).unwrap()))
                })
                .collect();
            let q2 = q.clone();
            let bulk = thread::spawn(move || {
                let mut buf = [0; 4];
                let n = q2.raw.mc_pop_bulk(3, &mut buf).unwrap();
                buf[..n].to_vec()
            });
            let mut got: Vec<u64> = q.raw.mc_try_pop(0).unwrap().into_iter().collect();
            got.extend(bulk.join().unwrap());
            for p in producers {
                p.join().unwrap();
            }
            while let Some(v) = q.raw.mc_try_pop(0).unwrap() {
                got.push(v);
            }
            got.sort_unstable();
            assert_eq!(got, [1, 2]);
        });
    }

    /// An MPSC producer blocks on a full queue until the single consumer frees a slot.
    #[test]
    fn loom_queue_mpsc_blocking_push_and_pop() {
        loom::model(|| {
            let q = heap(2, true);
            let q2 = q.clone();
            let producer = thread::spawn(move || {
                for v in 1..=3 {
                    q2.raw.push_blocking(None, || q2.raw.mp_try_push(1, v, false)).unwrap();
                }
            });
            let mut rx = q.raw.sc_rx();
            let got: Vec<u64> =
                (0..3).map(|_| q.raw.pop_blocking(None, || q.raw.sc_try_pop(&mut rx)).unwrap()).collect();
            producer.join().unwrap();
            assert_eq!(got, [1, 2, 3]);
        });
    }

    /// The blocking handshake: a consumer sleeping on an empty SPSC queue is woken by a push.
    #[test]
    fn loom_queue_blocking_pop_wakes() {
        loom::model(|| {
            let q = heap(2, false);
            let q2 = q.clone();
            let consumer = thread::spawn(move || {
                let mut rx = q2.raw.spsc_rx().unwrap();
                q2.raw.pop_blocking(None, || q2.raw.spsc_try_pop(&mut rx)).unwrap()
            });
            let mut tx = q.raw.spsc_tx().unwrap();
            assert!(q.raw.spsc_try_push(&mut tx, 7).unwrap());
            assert_eq!(consumer.join().unwrap(), 7);
        });
    }

    /// Both directions: a producer blocks on a full MPMC queue and a consumer on an empty one;
    /// neither misses its wake-up.
    #[test]
    fn loom_queue_blocking_push_and_pop() {
        loom::model(|| {
            let q = heap(2, true);
            let q2 = q.clone();
            let producer = thread::spawn(move || {
                for v in 1..=3 {
                    q2.raw.push_blocking(None, || q2.raw.mp_try_push(1, v, true)).unwrap();
                }
            });
            let got: Vec<u64> = (0..3).map(|_| q.raw.pop_blocking(None, || q.raw.mc_try_pop(0)).unwrap()).collect();
            producer.join().unwrap();
            assert_eq!(got, [1, 2, 3]);
        });
    }

    // --- Recovery from dead processes ---------------------------------------------------------

    impl U64Raw {
        /// The first half of a push through lane `lane`: records and claims position `tail`,
        /// then stops for good (the process is killed before it writes the element). Returns
        /// whether the claim succeeded.
        fn push_claim_only(&self, lane: usize) -> bool {
            let raw = &self.0;
            let l = self.lane(lane);
            let op = raw.op(op::PUSH);
            let tail = raw.idx().tail.0.load(Relaxed);
            if raw.seq(tail).load(Acquire) != tail {
                return false;
            }
            l.begin(op, tail, 1);
            let ok = raw.idx().tail.0.compare_exchange(tail, tail.wrapping_add(1), Release, Relaxed).is_ok();
            if ok {
                l.claimed(op);
            }
            ok
        }
        /// The first half of an MPMC pop: claims position `head`, then stops for good.
        fn pop_claim_only(&self, lane: usize) -> bool {
            let raw = &self.0;
            let l = self.lane(lane);
            let op = raw.op(op::POP);
            let head = raw.idx().head.0.head.load(Relaxed);
            if raw.seq(head).load(Acquire) != head.wrapping_add(1) {
                return false;
            }
            l.begin(op, head, 1);
            let ok = raw.idx().head.0.head.compare_exchange(head, head.wrapping_add(1), Release, Relaxed).is_ok();
            if ok {
                l.claimed(op);
            }
            ok
        }
        fn lost(&self) -> u64 {
            self.0.lost()
        }
    }

    /// A producer dies between claiming a position and writing it, while a live producer pushes
    /// 7 (before or after the dead position). Two consumers race to pop until every claimed
    /// position is passed, each settling stalls it finds: the dead position becomes one
    /// tombstone, counted once, and 7 is delivered exactly once.
    #[test]
    fn loom_queue_dead_producer_is_settled_once() {
        loom::model(|| {
            let q = heap(2, true);
            let dying = {
                let q = q.clone();
                thread::spawn(move || q.raw.push_claim_only(0))
            };
            let q2 = q.clone();
            let live = thread::spawn(move || push_spin(|| q2.raw.mp_try_push(1, 7, true)));
            let claimed = dying.join().unwrap();
            q.raw.kill(0);
            live.join().unwrap();
            let got = Arc::new(AtomicU64::new(0));
            let consumer = |lane: usize| {
                let (q, got) = (q.clone(), got.clone());
                move || loop {
                    if let Some(v) = q.raw.mc_try_pop(lane).unwrap() {
                        assert_eq!(v, 7);
                        got.fetch_add(1, SeqCst);
                        return;
                    }
                    if got.load(SeqCst) > 0 && q.raw.len() == 0 {
                        return; // 7 taken, and every claimed position passed
                    }
                    q.raw.0.check_pop_stall();
                    thread::yield_now();
                }
            };
            let other = thread::spawn(consumer(3));
            consumer(2)();
            other.join().unwrap();
            assert_eq!(got.load(SeqCst), 1, "7 delivered exactly once");
            assert_eq!(q.raw.lost(), u64::from(claimed), "the dead claim counted once, if it was made");
            assert_eq!(q.raw.mc_try_pop(2).unwrap(), None);
        });
    }

    /// A consumer dies after claiming an element of a full queue. A producer that needs the slot
    /// settles it (one loss) while a live consumer pops the rest: nothing is delivered twice.
    #[test]
    fn loom_queue_dead_consumer_is_settled() {
        loom::model(|| {
            let q = heap(2, true);
            assert!(q.raw.mp_try_push(1, 1, true).unwrap());
            assert!(q.raw.mp_try_push(1, 2, true).unwrap());
            assert!(q.raw.pop_claim_only(0), "claims element 1");
            q.raw.kill(0);
            let q2 = q.clone();
            let producer = thread::spawn(move || loop {
                if q2.raw.mp_try_push(1, 3, true).unwrap() {
                    return;
                }
                q2.raw.0.check_push_stall();
                thread::yield_now();
            });
            let got: Vec<u64> = (0..2).map(|_| pop_spin(|| q.raw.mc_try_pop(2))).collect();
            producer.join().unwrap();
            assert_eq!(got, [2, 3]);
            assert_eq!(q.raw.lost(), 1);
        });
    }

    /// A dead lane still covers the position a live producer then claims (its owner recorded an
    /// attempt at it and died before its compare-and-swap). A consumer settling stalls must see
    /// the live claimer's record and leave the position to it: 5 arrives, nothing is lost.
    #[test]
    fn loom_queue_live_claimer_is_never_overruled() {
        loom::model(|| {
            let q = heap(2, true);
            q.raw.lane(2).begin(q.raw.0.op(op::PUSH), START, 1);
            q.raw.kill(2);
            let q2 = q.clone();
            let producer = thread::spawn(move || assert!(q2.raw.mp_try_push(1, 5, true).unwrap()));
            let v = loop {
                if let Some(v) = q.raw.mc_try_pop(0).unwrap() {
                    break v;
                }
                q.raw.0.check_pop_stall();
                thread::yield_now();
            };
            producer.join().unwrap();
            assert_eq!(v, 5);
            assert_eq!(q.raw.lost(), 0);
        });
    }

    /// An MPSC consumer dies while copying an element out (after `reading`, before its stamp);
    /// its successor counts that element lost and goes on with the next, while a producer
    /// keeps pushing.
    #[test]
    fn loom_queue_mpsc_consumer_takeover_counts_the_pop_in_flight() {
        loom::model(|| {
            let q = heap(2, true);
            assert!(q.raw.mp_try_push(1, 1, true).unwrap());
            assert!(q.raw.mp_try_push(1, 2, true).unwrap());
            let raw = &q.raw.0;
            raw.idx().head.0.reading.store(START.wrapping_add(1), Relaxed); // died copying 1
            let q2 = q.clone();
            let producer = thread::spawn(move || push_spin(|| q2.raw.mp_try_push(1, 3, false)));
            let (mut rx, lost) = raw.sc_rx().unwrap();
            assert_eq!(lost, 1);
            let got: Vec<u64> = (0..2).map(|_| pop_spin(|| q.raw.sc_try_pop(&mut rx))).collect();
            producer.join().unwrap();
            assert_eq!(got, [2, 3]);
            assert_eq!(q.raw.lost(), 1);
        });
    }

    /// An SPSC producer dies after stamping element 1 but before storing `tail`: the consumer
    /// may already have it, so the successor must resume after it, not overwrite it. While the
    /// consumer pops concurrently, the successor pushes 2: 1 and 2 arrive once each, in order.
    #[test]
    fn loom_queue_spsc_producer_takeover_keeps_a_stamped_element() {
        loom::model(|| {
            let q = heap(2, false);
            // SAFETY: position START is free and nobody else produces.
            unsafe { q.raw.0.spsc_put(START, 1u64.as_bytes().as_ptr()) };
            let q2 = q.clone();
            let consumer = thread::spawn(move || {
                let mut rx = q2.raw.spsc_rx().unwrap();
                (0..2).map(|_| pop_spin(|| q2.raw.spsc_try_pop(&mut rx))).collect::<Vec<_>>()
            });
            let mut tx = q.raw.spsc_tx().unwrap();
            push_spin(|| q.raw.spsc_try_push(&mut tx, 2));
            assert_eq!(consumer.join().unwrap(), [1, 2]);
        });
    }

    /// The same for an SPSC consumer: the successor skips the element in flight.
    #[test]
    fn loom_queue_spsc_consumer_takeover_counts_the_pop_in_flight() {
        loom::model(|| {
            let q = heap(2, false);
            let mut tx = q.raw.spsc_tx().unwrap();
            assert!(q.raw.spsc_try_push(&mut tx, 1).unwrap());
            q.raw.0.idx().head.0.reading.store(START.wrapping_add(1), Relaxed);
            let q2 = q.clone();
            let producer = thread::spawn(move || {
                for v in [2, 3] {
                    push_spin(|| q2.raw.spsc_try_push(&mut tx, v));
                }
            });
            let (mut rx, lost) = q.raw.0.spsc_rx().unwrap();
            assert_eq!(lost, 1);
            let got: Vec<u64> = (0..2).map(|_| pop_spin(|| q.raw.spsc_try_pop(&mut rx))).collect();
            producer.join().unwrap();
            assert_eq!(got, [2, 3]);
        });
    }
}
