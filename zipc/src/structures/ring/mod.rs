//! [`Ring<T>`]: a single-producer stream of elements — sensor readings, log lines, frames — with
//! an optional overwrite mode that keeps the newest data when the reader falls behind.
//!
//! # Roles
//!
//! One process at a time is the **producer** ([`Ring::producer`] → [`RingProducer`]) and one the
//! **consumer** ([`Ring::consumer`] → [`RingConsumer`]); each role is claimed in the segment and
//! refused to anyone else while its holder lives (a dead holder's role is taken over). Any
//! number of processes may **observe** the ring through a plain [`Ring`] handle: the newest
//! elements ([`Ring::get_last_n`], [`Ring::latest`]) and the counters, without disturbing either
//! side. A single consumer was chosen over per-reader cursors because a lossless ring must know
//! whose progress frees space; readers that want the newest data use the observer calls.
//!
//! # Positions
//!
//! Element number `p` (counting from 0 since the ring was created) lives in slot `p mod
//! capacity`. Three 64-bit positions in the segment drive everything:
//!
//! * `write_pos` — elements below it are written and visible (release-stored after a batch);
//! * `claim` — elements below it may be being written: the producer stores the end of a batch
//!   here *before* copying the batch in (never decreasing);
//! * `read_pos` — the consumer's next position (release-stored after a batch is copied out).
//!
//! **Lossless mode** (the default): the producer writes only while `write_pos - read_pos <
//! capacity`, so every element is delivered exactly once, in order; `push` blocks (or `try_push`
//! fails) while the ring is full.
//!
//! **Overwrite mode** ([`RingMode::Overwrite`]): the producer never waits and never reads or
//! writes the consumer's state. The reader copies the slots it wants and *then* checks the
//! writer's claim — the seqlock pattern, with one sequence number for the whole ring:
//!
//! ```text
//! producer                                    reader
//! claim.store(end, Relaxed)                   W = write_pos.load(Acquire)
//! fence(Release)                              copy slots of positions [start, start + m), start + m <= W
//! copy the batch in (relaxed atomic units)    fence(Acquire)
//! write_pos.store(end, Release)               C = claim.load(Relaxed)
//!                                             intact: positions >= C - capacity
//! ```
//!
//! The write of position `q` overwrites position `q - capacity`. If the reader's copy of
//! position `p` saw any byte of such a write, the fences order the claim of `q + 1 > p +
//! capacity` before the reader's claim load, so `p < C - capacity` and the copy is discarded.
//! Positions the reader passes over without delivering are *missed*: they are counted exactly,
//! so `delivered + missed = written` once the reader has caught up. Slots are copied with
//! relaxed atomic units (`atomic_copy.rs`), so a racing copy is a discarded value, never
//! a data race.
//!
//! # Observers under concurrent writes
//!
//! [`Ring::get_last_n`] and [`Ring::latest`] return elements `[W - k, W)` for a `write_pos` `W`
//! they loaded: every element intact and committed, in order, and they were the newest `k` at
//! that instant (newer ones may have arrived since). They validate like the overwrite reader,
//! in both modes (a lossless producer reuses consumed slots too); if the producer laps the copy
//! they retry, and after [`OBSERVER_ATTEMPTS`] laps they return the intact newest part only.
//!
//! # Blocking
//!
//! The consumer sleeps on the `data_ready` event count (`event_count.rs`), the lossless
//! producer on `space_ready`; the other side notifies after each batch, with no system call
//! unless someone sleeps, and with the asymmetric pairing of queues (`asymmetric_fence.rs`): no
//! fence on the fast path, a membarrier before a sleep.
//!
//! # Crashes
//!
//! Both roles are taken over from a holder that died (see *Roles*). A producer killed in the
//! middle of a batch had not published it (`write_pos` unchanged): its successor writes from
//! `write_pos` again, and `claim`, which never decreases, keeps readers' validation
//! conservative. A consumer stores `reading`, the end of the batch it is about to copy out,
//! before copying; a successor that finds `reading > read_pos` skips those elements and counts
//! them as **lost** (their pop never returned), so nothing is delivered twice: `delivered +
//! missed + lost = written` once the reader has caught up ([`RingConsumer::lost_on_takeover`],
//! [`Ring::total_lost`]).
//!
//! # Closing
//!
//! The producer closes the ring ([`RingProducer::close`]; ZeroIPC's `stream` end). It is the
//! one writer of `write_pos`, so the close is exact with two stores: `end = write_pos`, then
//! `closed = 1` (release), and then every sleeper of both event counts is woken
//! unconditionally. From then on pushes fail with [`Error::Closed`] (the element is not pushed);
//! the producer caches the flag, and a producer that claims the role later reads it. The
//! consumer looks at the flag only on its empty path (no cost while data flows): finding it set
//! (acquire, so every element pushed before is visible) and its position at `end`, it gets
//! [`Error::Closed`] from [`pop`](RingConsumer::pop) and [`pop_bulk`](RingConsumer::pop_bulk)
//! (and from the `try_` pops of `zipc::dynamic`, the C ABI and Python; the typed `try_` pops
//! return `None`/0 and [`RingConsumer::is_finished`] says it is the end). Before that it
//! receives everything pushed before the close — in overwrite mode, what was not overwritten,
//! counting the rest as missed. Observers are unaffected. A producer killed between the two
//! stores leaves the ring open: the close did not happen (`end` means nothing while `closed`
//! is 0).
//!
//! # Layout
//!
//! ```text
//! offset  size        field
//! 0       8           u64 write_pos      producer line
//! 8       8           u64 claim
//! 16      8           u64 producer       role: pid << 40 | start time, 0 when free
//! 24      8           u64 end            write_pos at the close (see Closing)
//! 32      8           u64 closed         0 open, 1 closed (release-stored after end)
//! 128     8           u64 read_pos       consumer line
//! 136     8           u64 missed         elements the consumer skipped (overwrite mode)
//! 144     8           u64 consumer       role
//! 152     8           u64 reading        end of the pop in flight (see Crashes)
//! 160     8           u64 lost           elements lost to consumers that died mid-pop
//! 256     8           u64 capacity       control line: constants, then the event counts
//! 264     4           u32 elem_size
//! 268     4           u32 flags          bit 0: overwrite
//! 272     8           data_ready         event count (u32 epoch, u32 waiters)
//! 280     8           space_ready        event count
//! 384     cap × elem  slots
//! ```
//!
//! The region is 128-aligned; the producer's and the consumer's hot words are on separate
//! 128-byte line pairs, and the control line is written only by sleepers.

mod core;
mod shm;
mod state;
#[cfg(all(test, loom))]
mod tests;

pub(crate) use self::core::{Closed, ConsumerSide, ConsumerState, Core, ProducerSide, ProducerState, Slots};
pub(crate) use shm::{byte_slots, claim_consumer, claim_producer, core_on, ByteSlots, ShmSlots};
pub(crate) use state::inspect;
pub use state::RingState;

pub use crate::layout::kinds::ring::{field, ALIGN, HEADER_SIZE, MAX_POSITION};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

use crate::error::{Error, Object, Result};
use crate::layout::{flags, Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::ShmType;
use crate::structures::render::{bar, holder, opt_holder_json, percent, Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::atomics::{fence, AtomicU64};
use crate::sys::event_count::EventCount;
use crate::sys::futex::Deadline;
use crate::sys::role;
use crate::sys::role::Holder;

/// How many times an observer retries a copy the producer lapped before returning the intact
/// part only.
pub const OBSERVER_ATTEMPTS: u32 = 8;

/// What a full ring does: wait for the reader, or overwrite the oldest elements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RingMode {
    /// Every element is delivered exactly once; the producer waits (or `try_push` fails)
    /// while the ring is full.
    #[default]
    Lossless,
    /// The producer never waits: when the reader falls behind, the oldest elements are
    /// overwritten, and the reader learns how many it missed.
    Overwrite,
}

impl RingMode {
    /// The descriptor flags of this mode.
    pub const fn flags(self) -> u32 {
        match self {
            RingMode::Lossless => 0,
            RingMode::Overwrite => flags::RING_OVERWRITE,
        }
    }
}

/// A single-producer ring of `T` in a segment. This handle observes; claim
/// [`producer`](Ring::producer) and [`consumer`](Ring::consumer) to move data.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use std::time::Duration;
/// use zipc::{Ring, RingMode, Segment};
///
/// let seg = Segment::create("/ring-doc", 1 << 20)?;
/// let ring = Ring::<f64>::create(&seg, "imu", 1024, RingMode::Overwrite)?;
/// let mut tx = ring.producer()?;
/// tx.try_push_bulk(&[1.0, 2.0, 3.0]);
///
/// // Another process:
/// let ring = Ring::<f64>::open(&seg, "imu")?;
/// let mut newest = [0.0; 2];
/// assert_eq!(ring.get_last_n(2, &mut newest), 2);
/// assert_eq!(newest, [2.0, 3.0]);
/// let mut rx = ring.consumer()?;
/// assert_eq!(rx.pop(Some(Duration::from_secs(1)))?, 1.0);
/// assert_eq!(rx.missed(), 0);
/// # Segment::unlink("/ring-doc") }
/// ```
pub struct Ring<T: ShmType> {
    segment: Segment,
    region: Region,
    core: Core<ShmSlots<T>>,
}

impl<T: ShmType> Clone for Ring<T> {
    fn clone(&self) -> Self {
        Ring { segment: self.segment.clone(), region: self.region.clone(), core: self.core.clone() }
    }
}

impl<T: ShmType> Ring<T> {
    /// Creates ring `name` with `capacity` slots.
    pub fn create(segment: &Segment, name: &str, capacity: u64, mode: RingMode) -> Result<Self> {
        Self::create_in(segment, &Self::decl(name, capacity, mode))
    }

    /// Opens ring `name` whatever its capacity and mode, checking the element layout.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let decl = Self::declaration(name);
        structures::check_declaration::<Self>(&decl)?;
        let found = segment.locate(name)?;
        let Some(desc) = found.descriptor else {
            return Err(Error::KindMismatch { structure: name.to_owned(), expected: Kind::Ring, found: None });
        };
        // Capacity and mode are whatever the segment says; kind and element must match.
        let decl = StructureLayout { capacity: desc.capacity, flags: desc.flags, ..decl };
        crate::segment::check_descriptor(&decl, &desc, true)?;
        Ok(Self::from_region(segment, found.region, desc.capacity, desc.flags))
    }

    /// Opens ring `name`, or creates it. An existing ring must have this capacity and mode.
    pub fn open_or_create(segment: &Segment, name: &str, capacity: u64, mode: RingMode) -> Result<Self> {
        let decl = Self::decl(name, capacity, mode);
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

    fn decl(name: &str, capacity: u64, mode: RingMode) -> StructureLayout<'_> {
        StructureLayout { capacity, flags: mode.flags(), ..Self::declaration(name) }
    }

    /// A handle on a validated region of a ring of `cap` slots with descriptor flags `fl`.
    fn from_region(segment: &Segment, region: Region, cap: u64, fl: u32) -> Self {
        let elem = std::mem::size_of::<T>();
        let core = core_on(&region, cap, fl, elem, |base| ShmSlots {
            base,
            capacity: cap as usize,
            unit: crate::sys::atomic_copy::unit_for(elem),
            _elem: PhantomData,
        });
        Ring { segment: segment.clone(), region, core }
    }

    /// The ring's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Offset of the ring's region in the segment.
    pub fn offset(&self) -> u64 {
        self.region.offset()
    }

    /// The segment this ring is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Number of slots.
    pub fn capacity(&self) -> u64 {
        self.core.capacity
    }

    /// Lossless or overwrite.
    pub fn mode(&self) -> RingMode {
        if self.core.overwrite {
            RingMode::Overwrite
        } else {
            RingMode::Lossless
        }
    }

    /// Elements pushed since the ring was created (the producer's position).
    pub fn total_written(&self) -> u64 {
        self.core.total_written()
    }

    /// Elements the consumer has returned since the ring was created (missed and lost ones not
    /// included).
    /// Approximate while the consumer runs.
    pub fn total_read(&self) -> u64 {
        // missed and lost first: they only grow together with read_pos, so the difference
        // cannot go negative in a consistent segment.
        let skipped = self.core.missed() + self.core.lost();
        self.core.read_pos().saturating_sub(skipped)
    }

    /// Elements the consumer skipped because they were overwritten first (overwrite mode; always
    /// 0 in lossless mode). Approximate while the consumer runs.
    pub fn total_missed(&self) -> u64 {
        self.core.missed()
    }

    /// Elements lost because a consumer died in the middle of a pop (counted by its successor,
    /// see the module docs, *Crashes*). Approximate while the consumer runs.
    pub fn total_lost(&self) -> u64 {
        self.core.lost()
    }

    /// Elements written and not yet passed by the consumer, at most the capacity. Approximate
    /// under concurrency.
    pub fn len(&self) -> u64 {
        let r = self.core.read_pos();
        self.core.total_written().saturating_sub(r).min(self.core.capacity)
    }

    /// Whether the consumer has caught up. Approximate under concurrency.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the newest `n` elements (fewer if fewer were ever written, or `dst` is shorter, or
    /// `n` exceeds the capacity) into the front of `dst`, oldest first, and returns how many.
    /// Consumed elements still count: this is "the last `n` written", whoever has read them.
    /// Every element returned is intact; see the [module docs](self) for the guarantee under
    /// concurrent writes.
    pub fn get_last_n(&self, n: usize, dst: &mut [T]) -> usize {
        let len = n.min(dst.len());
        self.core.last_n(&mut dst[..len])
    }

    /// The newest element, if any was ever written.
    pub fn latest(&self) -> Option<T> {
        let mut v = [T::new_zeroed()];
        (self.core.last_n(&mut v) == 1).then_some(v[0])
    }

    /// Whether the producer has closed the ring ([`RingProducer::close`]). Once it has, the
    /// consumer still receives everything pushed before the close, then [`Error::Closed`].
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    fn closed(&self) -> Error {
        Error::Closed { structure: self.name().to_owned() }
    }

    /// Claims the producer role. Fails with [`Error::RoleTaken`] while another handle — in any
    /// process, this one included — holds it; the role of a process that died is taken over.
    /// The role of a closed ring can be claimed, but nothing can be pushed.
    pub fn producer(&self) -> Result<RingProducer<T>> {
        let (state, claim) = claim_producer(&self.region, &self.core)?;
        Ok(RingProducer { ring: self.clone(), state, claim })
    }

    /// Claims the consumer role. Fails with [`Error::RoleTaken`] while another handle holds it;
    /// the role of a process that died is taken over, continuing from its position.
    pub fn consumer(&self) -> Result<RingConsumer<T>> {
        let (state, claim) = claim_consumer(&self.region, &self.core)?;
        Ok(RingConsumer { ring: self.clone(), state, claim })
    }
}

#[diagnostic::do_not_recommend]
impl<T: ShmType> Structure for Ring<T> {
    const KIND: Kind = Kind::Ring;
    const ELEM: Option<TypeLayout<'static>> = Some(T::SHM_LAYOUT);
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (cap, fl) = (decl.capacity, decl.flags);
        let region = segment.allocate(decl, |r| {
            r.u64_at(field::CAPACITY).store(cap, Relaxed);
            r.u32_at(field::ELEM_SIZE).store(std::mem::size_of::<T>() as u32, Relaxed);
            r.u32_at(field::FLAGS).store(fl, Relaxed);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, cap, fl))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Ok(Self::from_region(segment, region, desc.capacity, desc.flags))
    }
}

impl<T: ShmType> std::fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("capacity", &self.capacity())
            .field("mode", &self.mode())
            .field("total_written", &self.total_written())
            .field("total_read", &self.total_read())
            .field("total_missed", &self.total_missed())
            .finish()
    }
}

/// The producer of a [`Ring`]: the one handle in the system that may push. Releases the role
/// when dropped. Derefs to the [`Ring`] for the observer calls.
pub struct RingProducer<T: ShmType> {
    ring: Ring<T>,
    state: ProducerState,
    claim: role::Claim,
}

impl<T: ShmType> RingProducer<T> {
    /// Pushes one element if there is room (always, in overwrite mode, unless the ring is
    /// closed). Never blocks. `false` if the ring is full or [closed](Self::close): the element
    /// was not pushed.
    #[must_use = "a lossless ring may be full: check the result"]
    pub fn try_push(&mut self, value: T) -> bool {
        self.ring.core.try_push(&mut self.state, std::slice::from_ref(&value)) == Ok(1)
    }

    /// Closes the ring: nothing more can be pushed ([`push`](Self::push) fails with
    /// [`Error::Closed`], [`try_push`](Self::try_push) returns `false`), and the consumer, once
    /// it has received every element pushed before the close, gets [`Error::Closed`] from its
    /// blocking pops ([`RingConsumer::is_finished`] says so for the non-blocking ones). Wakes
    /// every sleeper. Idempotent; a later producer of the ring finds it closed. Observers are
    /// unaffected: [`Ring::get_last_n`] still returns the newest elements.
    ///
    /// ```no_run
    /// # fn main() -> zipc::Result<()> {
    /// use zipc::{Error, Ring, RingMode, Segment};
    ///
    /// let seg = Segment::create("/ring-close-doc", 1 << 20)?;
    /// let ring = Ring::<u32>::create(&seg, "lines", 8, RingMode::Lossless)?;
    /// let (mut tx, mut rx) = (ring.producer()?, ring.consumer()?);
    /// tx.push(1, None)?;
    /// tx.close();
    /// assert!(matches!(tx.push(2, None), Err(Error::Closed { .. })));
    /// assert_eq!(rx.pop(None)?, 1); // pushed before the close: delivered
    /// assert!(matches!(rx.pop(None), Err(Error::Closed { .. }))); // then the end, no waiting
    /// assert!(ring.is_closed() && rx.is_finished());
    /// # Segment::unlink("/ring-close-doc") }
    /// ```
    ///
    /// A producer killed in the middle of `close` (between storing the end and the flag) leaves
    /// the ring open: the close did not happen, and a successor may push and close it.
    pub fn close(&mut self) {
        self.ring.core.close(&mut self.state);
    }

    /// Whether this producer took the role over from a process that died holding it.
    pub fn took_over(&self) -> bool {
        self.claim.recovered
    }

    /// Pushes as many elements of `src` as there is room for, in one batch (one index update),
    /// and returns how many. In overwrite mode all of them count as pushed; of a batch longer
    /// than the capacity only the last `capacity` elements are stored. 0 once the ring is closed.
    pub fn try_push_bulk(&mut self, src: &[T]) -> usize {
        self.ring.core.try_push(&mut self.state, src).unwrap_or(0)
    }

    /// Pushes one element, waiting for room at most `timeout` (`None`: forever);
    /// [`Error::Timeout`] if the ring is still full then, [`Error::Closed`] (not pushed) if it
    /// is closed.
    pub fn push(&mut self, value: T, timeout: Option<Duration>) -> Result<()> {
        self.push_bulk(std::slice::from_ref(&value), timeout).map(|_| ())
    }

    /// Waits until at least one element of `src` fits, at most `timeout`, then pushes as many as
    /// fit and returns how many (0 only for an empty `src`). Loop to push everything.
    /// [`Error::Closed`] (nothing pushed) if the ring is closed.
    pub fn push_bulk(&mut self, src: &[T], timeout: Option<Duration>) -> Result<usize> {
        self.ring.core.push(&mut self.state, src, Deadline::after(timeout))?.map_err(|Closed| self.ring.closed())
    }
}

impl<T: ShmType> std::ops::Deref for RingProducer<T> {
    type Target = Ring<T>;
    fn deref(&self) -> &Ring<T> {
        &self.ring
    }
}

impl<T: ShmType> Drop for RingProducer<T> {
    fn drop(&mut self) {
        self.claim.release(self.ring.region.u64_at(field::PRODUCER));
    }
}

impl<T: ShmType> std::fmt::Debug for RingProducer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingProducer").field("ring", &self.ring).field("written", &self.state.write).finish()
    }
}

/// The consumer of a [`Ring`]: the one handle in the system that may pop. Releases the role
/// when dropped (its position stays in the segment for the next consumer). Derefs to the
/// [`Ring`] for the observer calls.
///
/// In overwrite mode, elements overwritten before the consumer could copy them are skipped and
/// counted in [`missed`](RingConsumer::missed); every element returned is intact, and the
/// elements returned plus those missed are exactly those written, in order.
pub struct RingConsumer<T: ShmType> {
    ring: Ring<T>,
    state: ConsumerState,
    claim: role::Claim,
}

impl<T: ShmType> RingConsumer<T> {
    /// Whether this consumer took the role over from a process that died holding it.
    pub fn took_over(&self) -> bool {
        self.claim.recovered
    }

    /// Pops the oldest available element. Never blocks. `None` if there is none now — or ever
    /// again, if [`is_finished`](Self::is_finished).
    pub fn try_pop(&mut self) -> Option<T> {
        let mut v = [T::new_zeroed()];
        (self.ring.core.try_pop(&mut self.state, &mut v, true) == Ok(1)).then_some(v[0])
    }

    /// Pops up to `dst.len()` elements in one batch (one index update) into the front of `dst`,
    /// oldest first, and returns how many. Never blocks.
    pub fn try_pop_bulk(&mut self, dst: &mut [T]) -> usize {
        self.ring.core.try_pop(&mut self.state, dst, true).unwrap_or(0)
    }

    /// Pops one element, waiting at most `timeout` (`None`: forever); [`Error::Timeout`] if the
    /// ring is still empty then; [`Error::Closed`] once the ring is closed and every element
    /// pushed before the close was popped (at once: a pop waiting when the ring is closed wakes).
    pub fn pop(&mut self, timeout: Option<Duration>) -> Result<T> {
        let mut v = [T::new_zeroed()];
        self.pop_bulk(&mut v, timeout)?;
        Ok(v[0])
    }

    /// Waits until at least one element is available, at most `timeout`, then pops up to
    /// `dst.len()` into the front of `dst` and returns how many (0 only for an empty `dst`).
    /// [`Error::Closed`] as for [`pop`](Self::pop).
    pub fn pop_bulk(&mut self, dst: &mut [T], timeout: Option<Duration>) -> Result<usize> {
        self.ring.core.pop(&mut self.state, dst, Deadline::after(timeout))?.map_err(|Closed| self.ring.closed())
    }

    /// The element [`try_pop`](Self::try_pop) would return next, without consuming it. Elements
    /// found overwritten on the way are skipped and counted as missed. Never blocks.
    pub fn peek(&mut self) -> Option<T> {
        let mut v = [T::new_zeroed()];
        (self.ring.core.try_pop(&mut self.state, &mut v, false) == Ok(1)).then_some(v[0])
    }

    /// Whether the ring is closed and this consumer has passed every element pushed before the
    /// close (delivered, or missed in overwrite mode): nothing will ever be popped again. Exact,
    /// unlike [`Ring::is_closed`] followed by a pop, which could miss an element pushed just
    /// before the close; the blocking pops return [`Error::Closed`] in this state.
    pub fn is_finished(&self) -> bool {
        self.ring.core.finished(&self.state)
    }

    /// Elements this ring's consumers have skipped since it was created because they were
    /// overwritten first (always 0 in lossless mode). Exact: compare before and after a pop to
    /// learn what that pop skipped.
    pub fn missed(&self) -> u64 {
        self.state.missed
    }

    /// Elements this ring's consumers have popped since it was created (missed and lost ones
    /// excluded).
    pub fn delivered(&self) -> u64 {
        self.state.delivered()
    }

    /// If this consumer took the role over from a process that died in the middle of a pop: how
    /// many elements that pop had taken (skipped, and counted in [`Ring::total_lost`]).
    pub fn lost_on_takeover(&self) -> u64 {
        self.state.lost_on_takeover()
    }
}

impl<T: ShmType> std::ops::Deref for RingConsumer<T> {
    type Target = Ring<T>;
    fn deref(&self) -> &Ring<T> {
        &self.ring
    }
}

impl<T: ShmType> Drop for RingConsumer<T> {
    fn drop(&mut self) {
        self.claim.release(self.ring.region.u64_at(field::CONSUMER));
    }
}

impl<T: ShmType> std::fmt::Debug for RingConsumer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingConsumer")
            .field("ring", &self.ring)
            .field("read", &self.state.read)
            .field("missed", &self.state.missed)
            .finish()
    }
}

/// Ready when [`try_pop`](RingConsumer::try_pop) would return an element.
impl<T: ShmType> crate::sys::wait_set::Readiness for RingConsumer<T> {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        crate::sys::wait_set::Source::new(self.ring.clone(), |r| r.core.sleep_point(false), |r| r.core.probe_data())
    }
}

/// Ready when [`try_push`](RingProducer::try_push) would find room (always, in overwrite mode).
impl<T: ShmType> crate::sys::wait_set::Readiness for RingProducer<T> {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        crate::sys::wait_set::Source::new(self.ring.clone(), |r| r.core.sleep_point(true), |r| r.core.probe_space())
    }
}

#[cfg(not(loom))]
impl<T: ShmType> RingConsumer<T> {
    /// Pops the oldest available element, awaiting one: the `async` [`pop`](Self::pop).
    /// Cancellation-safe (an element is taken only in the poll that returns it).
    /// [`Error::Closed`] as for [`pop`](Self::pop).
    pub async fn pop_async(&mut self) -> Result<T> {
        let source = crate::sys::wait_set::Readiness::wait_source(self);
        crate::sys::reactor::retry(source, || {
            let mut v = [T::new_zeroed()];
            match self.ring.core.try_pop(&mut self.state, &mut v, true) {
                Ok(1) => Ok(Some(v[0])),
                Ok(_) => Ok(None),
                Err(Closed) => Err(self.ring.closed()),
            }
        })
        .await
    }
}

#[cfg(not(loom))]
impl<T: ShmType> RingProducer<T> {
    /// Pushes one element, awaiting room: the `async` [`push`](Self::push) (completes at once in
    /// overwrite mode). Cancellation-safe (pushed only in the poll that completes).
    /// [`Error::Closed`] (not pushed) if the ring is closed.
    pub async fn push_async(&mut self, value: T) -> Result<()> {
        let source = crate::sys::wait_set::Readiness::wait_source(self);
        crate::sys::reactor::retry(source, || match self.ring.core.try_push(&mut self.state, &[value]) {
            Ok(1) => Ok(Some(())),
            Ok(_) => Ok(None),
            Err(Closed) => Err(self.ring.closed()),
        })
        .await
    }
}
