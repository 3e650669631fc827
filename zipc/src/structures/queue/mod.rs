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
//! 408     8         u64 closed            0 open, 1 closing, 2 closed (see Closing)
//! 416     8         u64 end               once closed: the position pushes stopped at
//! 424     88        reserved
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
//! event count (`sys/event_count.rs`): consumers on `not_empty`, producers on `not_full`. A
//! successful push checks `not_empty`'s waiter count and makes a system call only if a consumer
//! sleeps (and a pop likewise for `not_full`). That check needs a store-load barrier on every
//! operation; zipc moves its cost to the sleeper with `membarrier` (see
//! `sys/asymmetric_fence.rs`), so the fast path issues no fence at all. Set
//! `ZIPC_NO_MEMBARRIER=1` to make a process use full fences instead.
//!
//! # Closing
//!
//! [`Queue::close`] (or [`Producer::close`]) closes the queue for good, as ZeroIPC's `channel`
//! and `stream` do: pushes then fail with [`Error::Closed`], consumers pop everything pushed
//! before the close and then get [`Error::Closed`] as well, and every blocked push and pop wakes
//! up. The close is exact — a push racing it either claimed its position first (and is
//! delivered) or fails — and costs the fast paths nothing: producers look at the close only when
//! the queue looks full, consumers only when it looks empty (`close.rs` has the protocol). An
//! SPSC queue is closed by its producer (a [`Queue::close`] takes the producer role for the
//! call); a multi-producer queue by anyone.
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
//!   claiming (`layout/lane.rs`, `lanes.rs`): a claimed but unstamped position is covered by its
//!   claimer's lane, so a survivor that meets one (a consumer at an unwritten slot that `tail` has passed, an MPMC
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

mod bytes;
mod close;
pub(crate) mod element;
pub(crate) mod lanes;
mod raw;
mod readiness;
pub mod recovery;
mod spsc;
mod state;
#[cfg(all(test, loom))]
mod tests;
mod vyukov;

pub(crate) use bytes::{QueueBytes, Role};
pub(crate) use raw::{RxState, Slot, TxState};
pub use state::QueueState;
pub(crate) use state::{inspect, inspect_at, queue_json};

pub use crate::layout::kinds::queue::{
    header, policy_name, slot_size, tombstone, ALIGN, MAX_CAPACITY, MIN_CAPACITY, SEQ_SIZE, TOMBSTONE,
};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
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

    /// Closes the queue: later pushes fail with [`Error::Closed`]; consumers pop what was pushed
    /// before and then get [`Error::Closed`]; blocked pushes and pops wake up. Idempotent. A
    /// multi-producer queue is closed from any handle; an [`Spsc`] queue through its producer
    /// role, which this call takes for a moment — [`Error::RoleTaken`] while a live producer
    /// holds it (close through it: [`Producer::close`]).
    ///
    /// ```no_run
    /// # fn main() -> zipc::Result<()> {
    /// use zipc::{Error, Mpmc, Queue, Segment};
    ///
    /// let seg = Segment::create("/close-doc", 1 << 20)?;
    /// let jobs = Queue::<u32, Mpmc>::create(&seg, "jobs", 64)?;
    /// jobs.push(1, None)?;
    /// jobs.close()?;
    /// assert!(matches!(jobs.try_push(2), Err(Error::Closed { .. })));
    /// assert_eq!(jobs.pop(None)?, 1); // what was pushed before the close is still delivered
    /// assert!(matches!(jobs.pop(None), Err(Error::Closed { .. })));
    /// # Segment::unlink("/close-doc") }
    /// ```
    pub fn close(&self) -> Result<()> {
        self.bytes.close(P::FLAGS)
    }

    /// Whether the queue is closed (pushes are refused; pops still drain what is left).
    pub fn is_closed(&self) -> bool {
        self.bytes.raw.is_closed(P::FLAGS != flags::POLICY_SPSC)
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
    /// Pushes `value` if there is room: `Ok(true)` if pushed, `Ok(false)` if the queue is full,
    /// [`Error::Closed`] if it is closed.
    #[inline]
    pub fn try_push(&self, value: T) -> Result<bool> {
        self.bytes.shared_try_push(value.as_bytes(), P::MULTI_CONSUMER)
    }

    /// Pushes `value`, waiting while the queue is full: at most `timeout` (`None`: forever),
    /// then [`Error::Timeout`] (the queue is unchanged); [`Error::Closed`] if it is closed
    /// (before or while waiting).
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
    /// Pops the oldest element, or `Ok(None)` if the queue is empty; [`Error::Closed`] once it
    /// is closed and empty.
    #[inline]
    pub fn try_pop(&self) -> Result<Option<T>> {
        let mut v = T::new_zeroed();
        let got = self.bytes.shared_try_pop(v.as_mut_bytes())?;
        Ok(got.then_some(v))
    }

    /// Pops the oldest element, waiting while the queue is empty: at most `timeout` (`None`:
    /// forever), then [`Error::Timeout`] (the queue is unchanged); [`Error::Closed`] once it is
    /// closed and empty.
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
    /// Pushes `value` if there is room: `Ok(true)` if pushed, `Ok(false)` if the queue is full,
    /// [`Error::Closed`] if it is closed.
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<bool> {
        self.bytes.try_push(P::FLAGS, &mut self.tx, value.as_bytes())
    }

    /// Pushes `value`, waiting while the queue is full: at most `timeout` (`None`: forever),
    /// then [`Error::Timeout`] (the queue is unchanged); [`Error::Closed`] if it is closed
    /// (before or while waiting).
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

    /// Closes the queue ([`Queue::close`]), for any policy: this producer's later pushes, and
    /// everyone's, fail with [`Error::Closed`]; consumers drain what is left, then get
    /// [`Error::Closed`]. Idempotent.
    pub fn close(&mut self) {
        self.bytes.close_as_producer(P::FLAGS, &mut self.tx)
    }

    /// Whether the queue is closed.
    pub fn is_closed(&self) -> bool {
        self.tx.closed || self.bytes.raw.is_closed(P::FLAGS != flags::POLICY_SPSC)
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
    /// Pops the oldest element, or `Ok(None)` if the queue is empty; [`Error::Closed`] once it
    /// is closed and empty.
    #[inline]
    pub fn try_pop(&mut self) -> Result<Option<T>> {
        let mut v = T::new_zeroed();
        let got = self.bytes.try_pop(P::FLAGS, &mut self.rx, v.as_mut_bytes())?;
        Ok(got.then_some(v))
    }

    /// Pops the oldest element, waiting while the queue is empty: at most `timeout` (`None`:
    /// forever), then [`Error::Timeout`] (the queue is unchanged); [`Error::Closed`] once it is
    /// closed and empty.
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

    /// Whether the queue is closed ([`Queue::close`]); pops still return what was pushed before
    /// the close, then [`Error::Closed`].
    pub fn is_closed(&self) -> bool {
        self.bytes.raw.is_closed(P::FLAGS != flags::POLICY_SPSC)
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
