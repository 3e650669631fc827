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
//! # Layout
//!
//! ```text
//! offset  size        field
//! 0       8           u64 write_pos      producer line
//! 8       8           u64 claim
//! 16      8           u64 producer       role: pid << 40 | start time, 0 when free
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

/// Live state for `inspect`: positions, role holders and waiter counts, read once and never
/// trusted (impossible positions are reported in `problems`; the length is clamped).
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> RingState {
    use Holder;
    let word = |f: u64| region.u64_at(f).load(Acquire);
    // In the order that keeps a consistent ring consistent while it moves: `missed` only grows
    // with `read_pos`, `read_pos` never passes `write_pos`, `claim` never falls below it.
    let missed = word(field::MISSED);
    let lost = word(field::LOST);
    let read_pos = word(field::READ_POS);
    let write_pos = word(field::WRITE_POS);
    let claim = word(field::CLAIM);
    let capacity = desc.capacity;
    let overwrite = desc.flags & flags::RING_OVERWRITE != 0;
    if write_pos > MAX_POSITION {
        problems.push(format!("write_pos {write_pos} is beyond {MAX_POSITION}"));
    }
    if read_pos > write_pos {
        problems.push(format!("read_pos {read_pos} is ahead of write_pos {write_pos}"));
    } else if !overwrite && write_pos - read_pos > capacity {
        problems.push(format!("write_pos {write_pos} is more than the capacity ahead of read_pos {read_pos}"));
    }
    if missed > read_pos || (!overwrite && missed != 0) {
        let mode = if overwrite { "overwrite" } else { "lossless" };
        problems.push(format!("missed {missed} is impossible with read_pos {read_pos} in {mode} mode"));
    }
    if claim < write_pos {
        problems.push(format!("claim {claim} is behind write_pos {write_pos}"));
    }
    let waiters = |at: u64| region.u32_at(at + 4).load(Relaxed); // `u32 epoch, u32 waiters`
    RingState {
        overwrite,
        capacity,
        len: write_pos.saturating_sub(read_pos).min(capacity),
        write_pos,
        read_pos,
        claim,
        missed,
        lost,
        producer: Holder::from_tag(word(field::PRODUCER)),
        consumer: Holder::from_tag(word(field::CONSUMER)),
        waiting_consumers: waiters(field::DATA_READY),
        waiting_producers: waiters(field::SPACE_READY),
    }
}

// ---------------------------------------------------------------------------------------------
// The algorithm, on loom-switchable atomics
// ---------------------------------------------------------------------------------------------

/// The producer's hot words (offset 0).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ProducerSide {
    write_pos: AtomicU64,
    claim: AtomicU64,
}

/// The consumer's hot words (offset 128). `role` is the consumer role word, which the algorithm
/// does not use (`role.rs` does).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ConsumerSide {
    read_pos: AtomicU64,
    missed: AtomicU64,
    role: AtomicU64,
    reading: AtomicU64,
    lost: AtomicU64,
}

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::size_of::<ProducerSide>() == 16);
    assert!(std::mem::size_of::<ConsumerSide>() == 40);
    assert!(std::mem::offset_of!(ConsumerSide, reading) as u64 == field::READING - field::READ_POS);
    assert!(std::mem::offset_of!(ConsumerSide, lost) as u64 == field::LOST - field::READ_POS);
    assert!(std::mem::offset_of!(ConsumerSide, role) as u64 == field::CONSUMER - field::READ_POS);
    assert!(field::SPACE_READY - field::DATA_READY == crate::sys::event_count::SIZE);
};

/// The ring's slots: `capacity` elements, copied in and out in contiguous runs.
///
/// Caller buffers are slices of `Elem`, `per_elem()` of them per element: one `T` per element for
/// the typed [`Ring`], `elem_size` bytes per element for `zipc::dynamic`, so both run the same
/// algorithm (for the typed ring every scaling below is by the constant 1).
pub(crate) trait Slots {
    /// The unit of caller buffers.
    type Elem: Copy;
    /// Buffer units per element.
    #[inline(always)]
    fn per_elem(&self) -> usize {
        1
    }
    /// Copies `src` (whole elements) into slots `first..`.
    fn store(&self, first: usize, src: &[Self::Elem]);
    /// Copies slots `first..` into `dst` (whole elements). May race with `store`: the caller
    /// validates what it read.
    fn load(&self, first: usize, dst: &mut [Self::Elem]);
}

impl ConsumerState {
    /// Elements skipped so far because they were overwritten.
    pub(crate) fn missed(&self) -> u64 {
        self.missed
    }

    /// Elements delivered so far (missed and lost ones excluded).
    pub(crate) fn delivered(&self) -> u64 {
        self.read - self.missed - self.lost
    }

    /// Elements a dead predecessor's pop had in flight when this consumer took over.
    pub(crate) fn lost_on_takeover(&self) -> u64 {
        self.lost_on_takeover
    }
}

/// The producer's private state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProducerState {
    /// Next position to write (= the published `write_pos`).
    write: u64,
    /// The highest claim stored (never decreases, also across producers).
    claim: u64,
    /// `read_pos` as last loaded (lossless mode).
    read_cache: u64,
}

/// The consumer's private state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConsumerState {
    /// Next position to read (= the published `read_pos`).
    read: u64,
    /// Elements skipped so far (= the published `missed`).
    missed: u64,
    /// Elements lost so far to consumers that died mid-pop (= the published `lost`).
    lost: u64,
    /// Of those, what this consumer found in flight when it took the role over.
    lost_on_takeover: u64,
    /// `write_pos` as last loaded.
    write_cache: u64,
}

/// The ring algorithm over a header and slots that live wherever the owner put them: a segment
/// in a build, the heap in a loom model.
pub(crate) struct Core<S> {
    producer: NonNull<ProducerSide>,
    consumer: NonNull<ConsumerSide>,
    data_ready: NonNull<EventCount>,
    space_ready: NonNull<EventCount>,
    slots: S,
    capacity: u64,
    pow2: bool,
    overwrite: bool,
    /// Loom only: accept copies without validating them, to show the models catch the bug.
    #[cfg(loom)]
    trust_copies: bool,
}

// SAFETY: the pointers are to atomics (shared by design); `S` is shared by the owner.
unsafe impl<S: Send> Send for Core<S> {}
// SAFETY: as above; every method takes `&self` and touches shared state only through atomics.
unsafe impl<S: Sync> Sync for Core<S> {}

impl<S: Clone> Clone for Core<S> {
    fn clone(&self) -> Self {
        Core { slots: self.slots.clone(), ..*self }
    }
}

impl<S: Slots> Core<S> {
    /// # Safety
    ///
    /// The four pointers are valid, aligned and stay valid while the core (and its clones)
    /// live; `slots` holds `capacity >= 1` elements.
    pub(crate) unsafe fn new(
        producer: NonNull<ProducerSide>,
        consumer: NonNull<ConsumerSide>,
        data_ready: NonNull<EventCount>,
        space_ready: NonNull<EventCount>,
        slots: S,
        capacity: u64,
        overwrite: bool,
    ) -> Self {
        assert!((1..=MAX_POSITION).contains(&capacity));
        Core {
            producer,
            consumer,
            data_ready,
            space_ready,
            slots,
            capacity,
            pow2: capacity.is_power_of_two(),
            overwrite,
            #[cfg(loom)]
            trust_copies: false,
        }
    }

    fn p(&self) -> &ProducerSide {
        // SAFETY: valid while `self` lives (constructor contract).
        unsafe { self.producer.as_ref() }
    }

    fn c(&self) -> &ConsumerSide {
        // SAFETY: as for `p`.
        unsafe { self.consumer.as_ref() }
    }

    fn data_ready(&self) -> &EventCount {
        // SAFETY: as for `p`.
        unsafe { self.data_ready.as_ref() }
    }

    fn space_ready(&self) -> &EventCount {
        // SAFETY: as for `p`.
        unsafe { self.space_ready.as_ref() }
    }

    /// Whole elements in a buffer of `len` units.
    #[inline(always)]
    fn count(&self, len: usize) -> usize {
        len / self.slots.per_elem()
    }

    /// Buffer units of `n` elements.
    #[inline(always)]
    fn span(&self, n: usize) -> usize {
        n * self.slots.per_elem()
    }

    fn slot(&self, pos: u64) -> usize {
        (if self.pow2 { pos & (self.capacity - 1) } else { pos % self.capacity }) as usize
    }

    /// Copies `src` (at most `capacity` elements) into the slots of positions `pos..`.
    fn copy_in(&self, pos: u64, src: &[S::Elem]) {
        let slot = self.slot(pos);
        let first = self.span(self.count(src.len()).min(self.capacity as usize - slot));
        self.slots.store(slot, &src[..first]);
        if first < src.len() {
            self.slots.store(0, &src[first..]);
        }
    }

    /// Copies the slots of positions `pos..pos + dst.len()` (at most `capacity`) into `dst`.
    fn copy_out(&self, pos: u64, dst: &mut [S::Elem]) {
        let slot = self.slot(pos);
        let first = self.span(self.count(dst.len()).min(self.capacity as usize - slot));
        let (a, b) = dst.split_at_mut(first);
        self.slots.load(slot, a);
        if !b.is_empty() {
            self.slots.load(0, b);
        }
    }

    /// After copying positions `[start, end)`: the first position whose copy is intact.
    /// Returns `end` or more if none is.
    fn intact_from(&self, start: u64) -> u64 {
        #[cfg(loom)]
        if self.trust_copies {
            return start;
        }
        fence(Acquire);
        let claim = self.p().claim.load(Relaxed);
        start.max(claim.saturating_sub(self.capacity))
    }

    /// The producer's state, from the segment. Fails if the positions are impossible.
    pub(crate) fn producer_state(&self) -> std::result::Result<ProducerState, String> {
        let write = self.p().write_pos.load(Acquire);
        let claim = self.p().claim.load(Relaxed);
        let read = self.c().read_pos.load(Acquire);
        if write > MAX_POSITION || claim > MAX_POSITION.saturating_add(self.capacity) {
            return Err(format!("positions beyond {MAX_POSITION}: write_pos {write}, claim {claim}"));
        }
        if !self.overwrite && (read > write || write - read > self.capacity) {
            return Err(format!(
                "read_pos {read} and write_pos {write} are impossible for a lossless ring of {}",
                self.capacity
            ));
        }
        Ok(ProducerState { write, claim: claim.max(write), read_cache: read })
    }

    /// The consumer's state, from the segment. Fails if the positions are impossible. A
    /// predecessor that died copying a batch out left `reading` past `read_pos`: the batch is
    /// skipped and counted as lost.
    pub(crate) fn consumer_state(&self) -> std::result::Result<ConsumerState, String> {
        let mut read = self.c().read_pos.load(Acquire);
        let missed = self.c().missed.load(Relaxed);
        let mut lost = self.c().lost.load(Relaxed);
        let write = self.p().write_pos.load(Acquire);
        if read > MAX_POSITION.saturating_add(self.capacity) || missed > read || lost > read - missed {
            return Err(format!("read_pos {read} / missed {missed} / lost {lost} are impossible"));
        }
        if !self.overwrite && (read > write || write - read > self.capacity || missed != 0) {
            return Err(format!(
                "read_pos {read}, write_pos {write} and missed {missed} are impossible for a lossless ring of {}",
                self.capacity
            ));
        }
        let reading = self.c().reading.load(Relaxed);
        let mut lost_on_takeover = 0;
        if reading > read && reading <= write && reading - read <= self.capacity {
            lost_on_takeover = reading - read;
            lost += lost_on_takeover;
            read = reading;
            self.c().lost.store(lost, Relaxed);
            self.c().read_pos.store(read, Release);
            if !self.overwrite {
                self.space_ready().notify_all_asymmetric();
            }
        }
        Ok(ConsumerState { read, missed, lost, lost_on_takeover, write_cache: read })
    }

    /// Pushes as much of `src` as fits (all of it in overwrite mode, where only the last
    /// `capacity` elements of an oversized batch land and the rest count as written and lost).
    /// Returns how many elements were consumed from `src`.
    pub(crate) fn try_push(&self, st: &mut ProducerState, src: &[S::Elem]) -> usize {
        let len = self.count(src.len());
        if len == 0 {
            return 0;
        }
        let cap = self.capacity;
        let (skip, n) = if self.overwrite {
            let skip = len.saturating_sub(cap as usize);
            (skip, len - skip)
        } else {
            let used = |r: u64| st.write - r.min(st.write);
            let mut free = cap.saturating_sub(used(st.read_cache));
            if free < len as u64 {
                st.read_cache = self.c().read_pos.load(Acquire);
                free = cap.saturating_sub(used(st.read_cache));
            }
            (0, (free.min(len as u64)) as usize)
        };
        if n == 0 {
            return 0;
        }
        let first = st.write + skip as u64;
        let end = first + n as u64;
        // Announce the overwrite before making it (see the module docs).
        st.claim = st.claim.max(end);
        self.p().claim.store(st.claim, Relaxed);
        fence(Release);
        self.copy_in(first, &src[self.span(skip)..self.span(skip + n)]);
        self.p().write_pos.store(end, Release);
        st.write = end;
        self.data_ready().notify_all_asymmetric();
        skip + n
    }

    /// Copies up to `dst.len()` elements from the consumer's position into `dst`, skipping (and
    /// counting) elements overwritten before they could be copied intact. Advances the position
    /// past what it returns if `consume`; otherwise only past what it skipped.
    pub(crate) fn try_pop(&self, st: &mut ConsumerState, dst: &mut [S::Elem], consume: bool) -> usize {
        let len = self.count(dst.len());
        if len == 0 {
            return 0;
        }
        let cap = self.capacity;
        loop {
            let avail = |w: u64| w.saturating_sub(st.read);
            if avail(st.write_cache) < len as u64 {
                st.write_cache = self.p().write_pos.load(Acquire);
            }
            let avail = avail(st.write_cache);
            if avail == 0 {
                return 0;
            }
            // Lossless: never more than `capacity` (more would be a corrupt write_pos).
            // Overwrite: only the newest `capacity` can still be there.
            let start = st.read + avail.saturating_sub(cap);
            let m = (avail.min(cap)).min(len as u64);
            if consume {
                // Read only by a successor after our death: our own line, no ordering needed.
                self.c().reading.store(start + m, Relaxed);
            }
            self.copy_out(start, &mut dst[..self.span(m as usize)]);
            let from = if self.overwrite { self.intact_from(start) } else { start };
            let end = start + m;
            let k = end.saturating_sub(from);
            if from > start && k > 0 {
                dst.copy_within(self.span((from - start) as usize)..self.span(m as usize), 0);
            }
            // Positions [st.read, from) were overwritten (or never written, behind an oversized
            // batch): skipped and counted. `from >= start >= st.read`.
            let old = st.read;
            if from != old {
                st.missed += from - old;
                self.c().missed.store(st.missed, Relaxed);
            }
            st.read = if consume && k > 0 { end } else { from };
            if st.read != old {
                self.c().read_pos.store(st.read, Release);
                if !self.overwrite {
                    self.space_ready().notify_all_asymmetric();
                }
            }
            if k > 0 {
                return k as usize;
            }
            // Everything copied was overwritten meanwhile: try again from the new position.
        }
    }

    /// Copies the newest `min(dst.len(), written, capacity)` elements into `dst` (oldest first)
    /// and returns how many. See the module docs for what is guaranteed under concurrent writes.
    pub(crate) fn last_n(&self, dst: &mut [S::Elem]) -> usize {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let w = self.p().write_pos.load(Acquire);
            let k = (self.count(dst.len()) as u64).min(w).min(self.capacity);
            if k == 0 {
                return 0;
            }
            let start = w - k;
            self.copy_out(start, &mut dst[..self.span(k as usize)]);
            let from = self.intact_from(start);
            if from == start {
                return k as usize;
            }
            if attempt >= OBSERVER_ATTEMPTS {
                let intact = w.saturating_sub(from);
                dst.copy_within(self.span((k - intact) as usize)..self.span(k as usize), 0);
                return intact as usize;
            }
        }
    }

    /// Blocking [`try_push`](Self::try_push): waits until at least one element fits.
    pub(crate) fn push(&self, st: &mut ProducerState, src: &[S::Elem], deadline: Deadline) -> Result<usize> {
        if self.count(src.len()) == 0 {
            return Ok(0);
        }
        self.space_ready().wait_until_asymmetric(deadline, || {
            let n = self.try_push(st, src);
            (n > 0).then_some(n)
        })
    }

    /// Blocking [`try_pop`](Self::try_pop) (consuming): waits until at least one element arrives.
    pub(crate) fn pop(&self, st: &mut ConsumerState, dst: &mut [S::Elem], deadline: Deadline) -> Result<usize> {
        if self.count(dst.len()) == 0 {
            return Ok(0);
        }
        self.data_ready().wait_until_asymmetric(deadline, || {
            let n = self.try_pop(st, dst, true);
            (n > 0).then_some(n)
        })
    }

    pub(crate) fn total_written(&self) -> u64 {
        self.p().write_pos.load(Acquire)
    }

    pub(crate) fn read_pos(&self) -> u64 {
        self.c().read_pos.load(Acquire)
    }

    pub(crate) fn missed(&self) -> u64 {
        self.c().missed.load(Relaxed)
    }

    pub(crate) fn lost(&self) -> u64 {
        self.c().lost.load(Relaxed)
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    pub(crate) fn is_overwrite(&self) -> bool {
        self.overwrite
    }
}

// ---------------------------------------------------------------------------------------------
// In a segment
// ---------------------------------------------------------------------------------------------

/// Slots in a segment, copied with relaxed atomic units.
pub(crate) struct ShmSlots<T> {
    base: NonNull<u8>,
    capacity: usize,
    unit: usize,
    _elem: PhantomData<T>,
}

impl<T> Clone for ShmSlots<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ShmSlots<T> {}

// SAFETY: the slots are shared memory accessed only atomically; T: ShmType is Send + Sync.
unsafe impl<T: ShmType> Send for ShmSlots<T> {}
// SAFETY: as above.
unsafe impl<T: ShmType> Sync for ShmSlots<T> {}

impl<T: ShmType> Slots for ShmSlots<T> {
    type Elem = T;

    fn store(&self, first: usize, src: &[T]) {
        assert!(first <= self.capacity && src.len() <= self.capacity - first, "zipc bug: ring slots out of range");
        let size = std::mem::size_of::<T>();
        // SAFETY: the run is inside the slot area (checked); slots start at multiples of the
        // element size from a 128-aligned base, so they are `unit`-aligned; `src` is local.
        unsafe {
            crate::sys::atomic_copy::store(
                self.base.as_ptr().add(first * size),
                src.as_ptr().cast(),
                std::mem::size_of_val(src),
                self.unit,
            )
        }
    }

    fn load(&self, first: usize, dst: &mut [T]) {
        assert!(first <= self.capacity && dst.len() <= self.capacity - first, "zipc bug: ring slots out of range");
        let size = std::mem::size_of::<T>();
        // SAFETY: as for `store`; `dst` is local, and T is valid for any bytes (ShmType).
        unsafe {
            crate::sys::atomic_copy::load(
                dst.as_mut_ptr().cast(),
                self.base.as_ptr().add(first * size),
                std::mem::size_of_val(dst),
                self.unit,
            )
        }
    }
}

/// Slots in a segment holding elements of a size known at run time, copied with relaxed atomic
/// units like [`ShmSlots`]; caller buffers are bytes (`zipc::dynamic`).
#[derive(Clone, Copy)]
pub(crate) struct ByteSlots {
    base: NonNull<u8>,
    capacity: usize,
    size: usize,
    unit: usize,
}

// SAFETY: the slots are shared memory accessed only atomically.
unsafe impl Send for ByteSlots {}
// SAFETY: as above.
unsafe impl Sync for ByteSlots {}

impl Slots for ByteSlots {
    type Elem = u8;

    #[inline]
    fn per_elem(&self) -> usize {
        self.size
    }

    fn store(&self, first: usize, src: &[u8]) {
        let n = src.len() / self.size;
        assert!(
            src.len() % self.size == 0 && first <= self.capacity && n <= self.capacity - first,
            "zipc bug: ring slots out of range"
        );
        // SAFETY: the run is inside the slot area (checked); slots start at multiples of the
        // element size from a 128-aligned base, so they are `unit`-aligned; `src` is local.
        unsafe {
            crate::sys::atomic_copy::store(
                self.base.as_ptr().add(first * self.size),
                src.as_ptr(),
                src.len(),
                self.unit,
            )
        }
    }

    fn load(&self, first: usize, dst: &mut [u8]) {
        let n = dst.len() / self.size;
        assert!(
            dst.len() % self.size == 0 && first <= self.capacity && n <= self.capacity - first,
            "zipc bug: ring slots out of range"
        );
        // SAFETY: as for `store`; `dst` is local.
        unsafe {
            crate::sys::atomic_copy::load(
                dst.as_mut_ptr(),
                self.base.as_ptr().add(first * self.size),
                dst.len(),
                self.unit,
            )
        }
    }
}

/// The ring algorithm on a validated region of a ring of `cap` slots of `elem_size`-byte
/// elements with descriptor flags `fl`; `slots` builds the slot accessor from the first slot's
/// address. The core must not outlive the region's mapping (handles keep both).
pub(crate) fn core_on<S: Slots>(
    region: &Region,
    cap: u64,
    fl: u32,
    elem_size: usize,
    slots: impl FnOnce(NonNull<u8>) -> S,
) -> Core<S> {
    if cfg!(loom) {
        panic!("shared-memory rings are not available in a loom build");
    }
    // Both sides notify after every batch with the asymmetric pairing (no fence on the fast path):
    // every process that touches a ring registers for the membarrier its waiters issue.
    crate::sys::asymmetric_fence::register();
    let ptr = |rel: u64, len: u64| NonNull::new(region.ptr(rel, len)).expect("mapping pointers are non-null");
    let data_len = cap * elem_size as u64; // the region's size was checked against this at open
    let slots = slots(ptr(HEADER_SIZE, data_len));
    // SAFETY: the pointers are aligned offsets inside the region (whose mapping `region` keeps
    // alive as long as the core, by the caller's contract); the header words are atomics.
    unsafe {
        Core::new(
            ptr(field::WRITE_POS, 16).cast(),
            ptr(field::READ_POS, std::mem::size_of::<ConsumerSide>() as u64).cast(),
            ptr(field::DATA_READY, 8).cast(),
            ptr(field::SPACE_READY, 8).cast(),
            slots,
            cap,
            fl & flags::RING_OVERWRITE != 0,
        )
    }
}

/// Byte slots for a ring of `cap` elements of `size` bytes at `base`.
pub(crate) fn byte_slots(base: NonNull<u8>, cap: u64, size: usize) -> ByteSlots {
    ByteSlots { base, capacity: cap as usize, size, unit: crate::sys::atomic_copy::unit_for(size) }
}

/// Claims the producer role of the ring in `region` and loads the producer's state.
pub(crate) fn claim_producer<S: Slots>(region: &Region, core: &Core<S>) -> Result<(ProducerState, role::Claim)> {
    let word = region.u64_at(field::PRODUCER);
    let claim = role::claim(word).map_err(|p| role_taken(region, "producer", p.pid))?;
    match core.producer_state() {
        Ok(state) => Ok((state, claim)),
        Err(detail) => {
            claim.release(word);
            Err(ring_corrupt(region, detail))
        }
    }
}

/// Claims the consumer role of the ring in `region` and loads the consumer's state.
pub(crate) fn claim_consumer<S: Slots>(region: &Region, core: &Core<S>) -> Result<(ConsumerState, role::Claim)> {
    let word = region.u64_at(field::CONSUMER);
    let claim = role::claim(word).map_err(|p| role_taken(region, "consumer", p.pid))?;
    match core.consumer_state() {
        Ok(state) => Ok((state, claim)),
        Err(detail) => {
            claim.release(word);
            Err(ring_corrupt(region, detail))
        }
    }
}

fn role_taken(region: &Region, role: &'static str, pid: u32) -> Error {
    Error::RoleTaken { structure: region.name().to_owned(), role, pid }
}

fn ring_corrupt(region: &Region, detail: String) -> Error {
    Error::corrupt(region.segment_name(), format!("structure {:?}", region.name()), detail)
}

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

    /// Claims the producer role. Fails with [`Error::RoleTaken`] while another handle — in any
    /// process, this one included — holds it; the role of a process that died is taken over.
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
    /// Pushes one element if there is room (always, in overwrite mode). Never blocks.
    #[must_use = "a lossless ring may be full: check the result"]
    pub fn try_push(&mut self, value: T) -> bool {
        self.ring.core.try_push(&mut self.state, std::slice::from_ref(&value)) == 1
    }

    /// Whether this producer took the role over from a process that died holding it.
    pub fn took_over(&self) -> bool {
        self.claim.recovered
    }

    /// Pushes as many elements of `src` as there is room for, in one batch (one index update),
    /// and returns how many. In overwrite mode all of them count as pushed; of a batch longer
    /// than the capacity only the last `capacity` elements are stored.
    pub fn try_push_bulk(&mut self, src: &[T]) -> usize {
        self.ring.core.try_push(&mut self.state, src)
    }

    /// Pushes one element, waiting for room at most `timeout` (`None`: forever);
    /// [`Error::Timeout`] if the ring is still full then.
    pub fn push(&mut self, value: T, timeout: Option<Duration>) -> Result<()> {
        self.push_bulk(std::slice::from_ref(&value), timeout).map(|_| ())
    }

    /// Waits until at least one element of `src` fits, at most `timeout`, then pushes as many as
    /// fit and returns how many (0 only for an empty `src`). Loop to push everything.
    pub fn push_bulk(&mut self, src: &[T], timeout: Option<Duration>) -> Result<usize> {
        self.ring.core.push(&mut self.state, src, Deadline::after(timeout))
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

    /// Pops the oldest available element. Never blocks.
    pub fn try_pop(&mut self) -> Option<T> {
        let mut v = [T::new_zeroed()];
        (self.ring.core.try_pop(&mut self.state, &mut v, true) == 1).then_some(v[0])
    }

    /// Pops up to `dst.len()` elements in one batch (one index update) into the front of `dst`,
    /// oldest first, and returns how many. Never blocks.
    pub fn try_pop_bulk(&mut self, dst: &mut [T]) -> usize {
        self.ring.core.try_pop(&mut self.state, dst, true)
    }

    /// Pops one element, waiting at most `timeout` (`None`: forever); [`Error::Timeout`] if the
    /// ring is still empty then.
    pub fn pop(&mut self, timeout: Option<Duration>) -> Result<T> {
        let mut v = [T::new_zeroed()];
        self.ring.core.pop(&mut self.state, &mut v, Deadline::after(timeout))?;
        Ok(v[0])
    }

    /// Waits until at least one element is available, at most `timeout`, then pops up to
    /// `dst.len()` into the front of `dst` and returns how many (0 only for an empty `dst`).
    pub fn pop_bulk(&mut self, dst: &mut [T], timeout: Option<Duration>) -> Result<usize> {
        self.ring.core.pop(&mut self.state, dst, Deadline::after(timeout))
    }

    /// The element [`try_pop`](Self::try_pop) would return next, without consuming it. Elements
    /// found overwritten on the way are skipped and counted as missed. Never blocks.
    pub fn peek(&mut self) -> Option<T> {
        let mut v = [T::new_zeroed()];
        (self.ring.core.try_pop(&mut self.state, &mut v, false) == 1).then_some(v[0])
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

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

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

impl LiveState for RingState {
    fn report(&self, out: &mut Vec<String>) {
        let r = self;
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

    fn json(&self) -> Json {
        let r = self;
        let u = |v: u32| Json::U(v.into());
        Json::O(vec![
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
        ])
    }
}

#[cfg(all(test, loom))]
impl ProducerSide {
    fn at(pos: u64) -> Self {
        ProducerSide { write_pos: AtomicU64::new(pos), claim: AtomicU64::new(pos) }
    }
}

#[cfg(all(test, loom))]
impl ConsumerSide {
    fn at(pos: u64) -> Self {
        ConsumerSide {
            read_pos: AtomicU64::new(pos),
            missed: AtomicU64::new(0),
            role: AtomicU64::new(0),
            reading: AtomicU64::new(pos),
            lost: AtomicU64::new(0),
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Models of the ring: elements are two words, `[seq, seq ^ CHECK]`, each copied with its own
    //! relaxed atomic, so a torn or overwritten copy is visible to the checks.

    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    const CHECK: u64 = 0x5A5A_5A5A_5A5A_5A5A;

    fn elem(seq: u64) -> [u64; 2] {
        [seq, seq ^ CHECK]
    }

    fn seq_of(e: [u64; 2]) -> u64 {
        assert_eq!(e[1], e[0] ^ CHECK, "torn element {e:?}");
        e[0]
    }

    struct HeapSlots(Vec<AtomicU64>);

    impl Slots for HeapSlots {
        type Elem = [u64; 2];
        fn store(&self, first: usize, src: &[[u64; 2]]) {
            for (i, e) in src.iter().enumerate() {
                self.0[2 * (first + i)].store(e[0], Relaxed);
                self.0[2 * (first + i) + 1].store(e[1], Relaxed);
            }
        }
        fn load(&self, first: usize, dst: &mut [[u64; 2]]) {
            for (i, e) in dst.iter_mut().enumerate() {
                *e = [self.0[2 * (first + i)].load(Relaxed), self.0[2 * (first + i) + 1].load(Relaxed)];
            }
        }
    }

    struct Mem {
        p: ProducerSide,
        c: ConsumerSide,
        data_ready: EventCount,
        space_ready: EventCount,
    }

    struct TestRing {
        core: Core<HeapSlots>,
        _mem: Box<Mem>,
    }

    /// A ring of `cap` slots whose positions start at `start` (so runs wrap at odd places).
    fn ring(cap: u64, overwrite: bool, start: u64) -> Arc<TestRing> {
        let mem = Box::new(Mem {
            p: ProducerSide::at(start),
            c: ConsumerSide::at(start),
            data_ready: EventCount::new(),
            space_ready: EventCount::new(),
        });
        let slots = HeapSlots((0..2 * cap).map(|_| AtomicU64::new(0)).collect());
        // SAFETY: the pointers are into `mem`, a box owned by the same `TestRing` as the core.
        let core = unsafe {
            Core::new(
                NonNull::from(&mem.p),
                NonNull::from(&mem.c),
                NonNull::from(&mem.data_ready),
                NonNull::from(&mem.space_ready),
                slots,
                cap,
                overwrite,
            )
        };
        Arc::new(TestRing { core, _mem: mem })
    }

    /// Lossless, blocking on both sides: 3 elements through 2 slots arrive exactly once, in order.
    #[test]
    fn loom_ring_lossless_blocking_exactly_once() {
        loom::model(|| {
            let r = ring(2, false, 0);
            let r2 = r.clone();
            let mut tx = r.core.producer_state().unwrap();
            let producer = thread::spawn(move || {
                r2.core.push(&mut tx, &[elem(0)], Deadline::after(None)).unwrap();
                let mut rest = &[elem(1), elem(2)][..];
                while !rest.is_empty() {
                    let n = r2.core.push(&mut tx, rest, Deadline::after(None)).unwrap();
                    rest = &rest[n..];
                }
            });
            let mut st = r.core.consumer_state().unwrap();
            for want in 0..3 {
                let mut v = [[0; 2]];
                assert_eq!(r.core.pop(&mut st, &mut v, Deadline::after(None)).unwrap(), 1);
                assert_eq!(seq_of(v[0]), want);
            }
            producer.join().unwrap();
            assert_eq!(st.missed, 0);
        });
    }

    /// A consumer dies copying element 0 out (after storing `reading`, before `read_pos`); its
    /// successor, taking over while the producer keeps pushing, skips element 0 as lost and
    /// delivers the rest exactly once, in order.
    #[test]
    fn loom_ring_consumer_takeover_skips_the_pop_in_flight() {
        loom::model(|| {
            let r = ring(2, false, 0);
            let mut tx = r.core.producer_state().unwrap();
            assert_eq!(r.core.try_push(&mut tx, &[elem(0)]), 1);
            r.core.c().reading.store(1, Relaxed); // the dead consumer's pop of position 0
            let r2 = r.clone();
            let producer = thread::spawn(move || {
                for seq in 1..3 {
                    r2.core.push(&mut tx, &[elem(seq)], Deadline::after(None)).unwrap();
                }
            });
            let mut st = r.core.consumer_state().unwrap();
            assert_eq!(st.lost_on_takeover(), 1);
            for want in 1..3 {
                let mut v = [[0; 2]];
                assert_eq!(r.core.pop(&mut st, &mut v, Deadline::after(None)).unwrap(), 1);
                assert_eq!(seq_of(v[0]), want);
            }
            producer.join().unwrap();
            assert_eq!((st.delivered(), r.core.lost()), (2, 1), "delivered + lost = written");
        });
    }

    /// Lossless bulk transfers through 3 slots starting at position 2 (runs split at the end of
    /// the slot array): 4 elements exactly once, in order, without blocking.
    #[test]
    fn loom_ring_lossless_bulk_wraps() {
        loom::model(|| {
            let r = ring(3, false, 2);
            let r2 = r.clone();
            let mut tx = r.core.producer_state().unwrap();
            let producer = thread::spawn(move || {
                let all = [elem(0), elem(1), elem(2), elem(3)];
                let mut rest = &all[..];
                while !rest.is_empty() {
                    let n = r2.core.try_push(&mut tx, rest);
                    rest = &rest[n..];
                    if n == 0 {
                        thread::yield_now();
                    }
                }
            });
            let mut st = r.core.consumer_state().unwrap();
            let mut got = Vec::new();
            while got.len() < 4 {
                let mut buf = [[0; 2]; 2];
                let n = r.core.try_pop(&mut st, &mut buf, true);
                got.extend(buf[..n].iter().map(|e| seq_of(*e)));
                if n == 0 {
                    thread::yield_now();
                }
            }
            producer.join().unwrap();
            assert_eq!(got, [0, 1, 2, 3]);
        });
    }

    /// Overwrite mode: a writer pushes 4 elements into 2 slots while the reader pops `batch` at
    /// a time. Every element the reader accepts is intact and exactly the next one after those
    /// it was told it missed; delivered + missed = written.
    fn overwrite_model(trust_copies: bool, batch: usize) {
        loom::model(move || {
            let mut r = ring(2, true, 0);
            Arc::get_mut(&mut r).unwrap().core.trust_copies = trust_copies;
            let r2 = r.clone();
            let mut tx = r.core.producer_state().unwrap();
            let writer = thread::spawn(move || {
                for seq in 0..4 {
                    assert_eq!(r2.core.try_push(&mut tx, &[elem(seq)]), 1, "overwrite never refuses");
                }
            });
            let mut st = r.core.consumer_state().unwrap();
            let (mut next, mut delivered) = (0, 0);
            while delivered + st.missed < 4 {
                let before = st.missed;
                let mut buf = [[0; 2]; 2];
                let n = r.core.try_pop(&mut st, &mut buf[..batch], true);
                if n == 0 {
                    assert_eq!(next + (st.missed - before), st.read, "missed counts what was skipped");
                    next = st.read;
                    thread::yield_now();
                    continue;
                }
                next += st.missed - before;
                for e in &buf[..n] {
                    assert_eq!(seq_of(*e), next, "accepted an overwritten element");
                    next += 1;
                }
                delivered += n as u64;
            }
            writer.join().unwrap();
            assert_eq!(delivered + st.missed, 4);
            assert_eq!(r.core.missed(), st.missed);
            assert_eq!(r.core.read_pos(), 4);
        });
    }

    #[test]
    fn loom_ring_overwrite_counts_misses_exactly() {
        overwrite_model(false, 1);
    }

    #[test]
    fn loom_ring_overwrite_bulk_counts_misses_exactly() {
        overwrite_model(false, 2);
    }

    /// The same model with the reader's validation switched off fails: the models can see a
    /// torn or overwritten copy, so the passing models above are meaningful.
    #[test]
    #[should_panic]
    fn loom_ring_overwrite_without_validation_is_caught() {
        overwrite_model(true, 1);
    }

    /// An observer's `last_n` during overwriting writes: consecutive, intact, committed elements.
    fn observer_model(trust_copies: bool) {
        loom::model(move || {
            let mut r = ring(2, true, 0);
            Arc::get_mut(&mut r).unwrap().core.trust_copies = trust_copies;
            let r2 = r.clone();
            let mut tx = r.core.producer_state().unwrap();
            let writer = thread::spawn(move || {
                for seq in 0..3 {
                    r2.core.try_push(&mut tx, &[elem(seq)]);
                }
            });
            let mut buf = [[0; 2]; 2];
            let k = r.core.last_n(&mut buf);
            let seqs: Vec<u64> = buf[..k].iter().map(|e| seq_of(*e)).collect();
            for w in seqs.windows(2) {
                assert_eq!(w[1], w[0] + 1, "consecutive");
            }
            writer.join().unwrap();
            if let Some(last) = seqs.last() {
                assert!(*last < 3);
            }
            // Quiescent: exactly the newest two.
            assert_eq!(r.core.last_n(&mut buf), 2);
            assert_eq!([seq_of(buf[0]), seq_of(buf[1])], [1, 2]);
        });
    }

    #[test]
    fn loom_ring_observer_last_n_is_intact() {
        observer_model(false);
    }

    /// Without validation the observer model fails too.
    #[test]
    #[should_panic]
    fn loom_ring_observer_without_validation_is_caught() {
        observer_model(true);
    }
}
