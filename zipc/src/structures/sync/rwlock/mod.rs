//! [`RwLock`]: a robust readers–writer lock shared by processes — ZeroIPC's `rwlock`. Any number
//! of threads (up to `max_readers` at once) hold it for reading, or one for writing. A reader or
//! writer that dies holding it does not wedge it, and a waiting writer is not starved by readers.
//!
//! ```text
//! offset  size  field
//! 0       8     u64 writer           0, or the writer's pid << 40 | start time (holding or draining)
//! 8       4     u32 writer_epoch     incremented whenever `writer` becomes 0 (futex word)
//! 12      4     u32 writer_sleepers  threads asleep on writer_epoch
//! 16      4     u32 reader_epoch     incremented by a reader leaving while someone sleeps on it
//! 20      4     u32 reader_sleepers  threads asleep on reader_epoch
//! 24      4     u32 state            0 consistent, 1 a writer died holding it
//! 28      4     u32 writer_deaths    writers that died holding it, ever
//! 32      4     u32 reader_deaths    reader slots freed after their process died, ever
//! 36      4     u32 max_readers      number of reader slots
//! 40      88    reserved (zero)
//! 128     64×n  reader slots: u64 at the start of each 64-byte line, 0 or the reader's tag
//! ```
//!
//! # Algorithm
//!
//! Readers announce themselves in slots rather than in one shared counter: a reader
//! compare-and-swaps a free slot (its thread's own, usually) from 0 to its process's tag, so
//! readers on different cores write different lines, and a slot names who holds it — which is
//! what lets a dead reader be told from a slow one.
//!
//! The handshake between a reader and a writer is Dekker's: each writes its own word and then
//! reads the other's, all `SeqCst`.
//!
//! ```text
//! reader                               writer
//! CAS slot 0 → tag                     CAS writer 0 → tag
//! load writer:                         load each slot:
//!   0 → holds it for reading             wait until it is 0 (or its process is dead: free it)
//!   else → slot = 0, wait for writer     then holds it for writing
//!          to become 0, retry
//! ```
//!
//! In the single total order of `SeqCst` operations one of the two compare-and-swaps is first,
//! so either the reader sees the writer (and backs off) or the writer sees the reader's slot
//! (and waits for it): never both inside. Because a writer announces itself *before* it waits
//! for readers, and new readers back off while it is announced, a stream of readers cannot
//! starve a writer. (Writers are preferred: a stream of writers can delay readers.)
//!
//! Sleeping goes through `sys/waiting.rs` (no system call while nobody sleeps): readers and
//! writers waiting for the writer sleep on `writer_epoch`, which every release of the writer word
//! increments; a writer waiting for readers to leave, and a reader waiting for a free slot,
//! sleep on `reader_epoch`, which a leaving reader increments only if someone sleeps there.
//! Sleeps are capped at 100 ms to judge the holder: a dead writer's tag is compare-and-swapped
//! away (by one survivor; counted in `writer_deaths`, and `state` becomes 1, *writer died*: what
//! the lock protects may be half-written — every later guard reports it until a writer calls
//! [`RwLockWriteGuard::mark_consistent`]); a dead reader's slot is freed (counted in
//! `reader_deaths`; a reader changes nothing, so the lock stays consistent).
//!
//! Tags name processes: threads of one process share a tag, so a thread that holds the lock for
//! reading and asks for it for writing waits for itself (use the `_timeout` forms if that can
//! happen), as with `std::sync::RwLock`.

pub use crate::layout::kinds::rwlock::{
    CONSISTENT, MAX_READERS, MAX_READERS_OFFSET, READER_DEATHS_OFFSET, READER_EPOCH_OFFSET, READER_SLEEPERS_OFFSET,
    SLOTS_OFFSET, SLOT_STRIDE, STATE_OFFSET, WRITER_DEATHS_OFFSET, WRITER_DIED, WRITER_EPOCH_OFFSET, WRITER_OFFSET,
    WRITER_SLEEPERS_OFFSET,
};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::render::{Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::atomics::{futex_wake, AtomicU32, AtomicU64};
use crate::sys::futex::Deadline;
use crate::sys::role::{self, Holder};
use crate::sys::waiting;

/// Where a `SeqCst` access must be ordered before the next `SeqCst` access to another word (the
/// reader/writer handshake). In a build nothing is needed: `SeqCst` accesses are in one total
/// order (on x86 each of them is a locked instruction or followed by one). Loom models `SeqCst`
/// accesses as acquire/release (its documented limitation) and the total order only through
/// fences, so a model states the same order with a fence.
#[inline(always)]
fn sc_order() {
    #[cfg(loom)]
    crate::sys::atomics::fence(SeqCst);
}

/// How often a waiter judges whether the holder it waits for lives.
const LIVENESS_EVERY: Duration = Duration::from_millis(100);

/// The header's words, as atomics (loom's in a model).
#[repr(C)]
pub(crate) struct Header {
    writer: AtomicU64,
    writer_epoch: AtomicU32,
    writer_sleepers: AtomicU32,
    reader_epoch: AtomicU32,
    reader_sleepers: AtomicU32,
    state: AtomicU32,
    writer_deaths: AtomicU32,
    reader_deaths: AtomicU32,
    max_readers: AtomicU32,
}

#[cfg(not(loom))]
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(Header, writer) as u64 == WRITER_OFFSET);
    assert!(offset_of!(Header, writer_epoch) as u64 == WRITER_EPOCH_OFFSET);
    assert!(offset_of!(Header, writer_sleepers) as u64 == WRITER_SLEEPERS_OFFSET);
    assert!(offset_of!(Header, reader_epoch) as u64 == READER_EPOCH_OFFSET);
    assert!(offset_of!(Header, reader_sleepers) as u64 == READER_SLEEPERS_OFFSET);
    assert!(offset_of!(Header, state) as u64 == STATE_OFFSET);
    assert!(offset_of!(Header, writer_deaths) as u64 == WRITER_DEATHS_OFFSET);
    assert!(offset_of!(Header, reader_deaths) as u64 == READER_DEATHS_OFFSET);
    assert!(offset_of!(Header, max_readers) as u64 == MAX_READERS_OFFSET);
};

/// Where the reader slots are: the segment's lines, or a loom model's vector.
pub(crate) trait Slots {
    /// How many.
    fn count(&self) -> u32;
    /// Slot `i < count()`.
    fn slot(&self, i: u32) -> &AtomicU64;
}

/// The algorithm, on a header and its slots. `alive` judges a tag (the real `role::alive`, or a
/// model's).
pub(crate) struct Core<'a, S: Slots, A: Fn(u64) -> bool> {
    h: &'a Header,
    slots: &'a S,
    alive: A,
}

impl<S: Slots, A: Fn(u64) -> bool> Core<'_, S, A> {
    /// Whether holder `tag` counts as alive for `me` (a tag of our own process always does).
    fn lives(&self, tag: u64, me: u64) -> bool {
        tag == me || (self.alive)(tag)
    }

    /// Takes a dead writer's tag away (one survivor succeeds): marks the lock inconsistent,
    /// counts the death, and returns whether this call did it. The caller then holds the writer
    /// word as `me`.
    fn take_over_writer(&self, dead: u64, me: u64) -> bool {
        if self.h.writer.compare_exchange(dead, me, SeqCst, Relaxed).is_err() {
            return false;
        }
        sc_order();
        self.h.state.store(WRITER_DIED, Release);
        self.h.writer_deaths.fetch_add(1, Relaxed);
        true
    }

    /// Releases the writer word `me` holds and wakes everyone waiting for it.
    fn release_writer(&self, me: u64) {
        // A holder judged dead (impossible while it lives) would find its tag gone: leave it.
        let _ = self.h.writer.compare_exchange(me, 0, SeqCst, Relaxed);
        self.h.writer_epoch.fetch_add(1, Release);
        waiting::wake(&self.h.writer_epoch, &self.h.writer_sleepers, u32::MAX);
    }

    /// Frees slot `i`, which `me` claimed (a reader leaving or backing off), waking a writer
    /// draining the readers or a reader waiting for a slot.
    ///
    /// Slots carry a process's tag, not a thread's, and the C ABI's unlock frees *a* slot of the
    /// calling process (`RwLock::read_unlock_unguarded`), which may be the one this thread
    /// claimed: then the slot is freed by compare-and-swap only if it still holds `me` (it may
    /// be another process's by now), and otherwise one of the process's other slots is — the
    /// one that unlock meant — so the process holds exactly as many slots as holds.
    fn release_slot(&self, i: u32, me: u64) {
        if self.slots.slot(i).compare_exchange(me, 0, SeqCst, Relaxed).is_err() {
            let n = self.slots.count();
            let _ = (1..n)
                .map(|k| (i + k) % n)
                .find(|&j| self.slots.slot(j).compare_exchange(me, 0, SeqCst, Relaxed).is_ok());
        }
        sc_order();
        // Pairs with the sleepers' increment in `waiting::wait_until` (SeqCst, then a fence,
        // then their test of the slot): either they see the slot free or we see them.
        if self.h.reader_sleepers.load(SeqCst) != 0 {
            self.h.reader_epoch.fetch_add(1, Release);
            futex_wake(&self.h.reader_epoch, u32::MAX);
        }
    }

    /// Claims a free slot for `me`, looking from `start`; `None` if all are taken.
    fn claim_slot(&self, me: u64, start: u32) -> Option<u32> {
        let n = self.slots.count();
        (0..n).map(|k| (start + k) % n).find(|&i| {
            let s = self.slots.slot(i);
            s.load(Relaxed) == 0 && s.compare_exchange(0, me, SeqCst, Relaxed).is_ok() && {
                sc_order();
                true
            }
        })
    }

    /// Frees the slots of dead readers; returns how many.
    fn sweep_dead_readers(&self, me: u64) -> u32 {
        let mut freed = 0;
        for i in 0..self.slots.count() {
            let tag = self.slots.slot(i).load(Acquire);
            if tag != 0 && !self.lives(tag, me) && self.slots.slot(i).compare_exchange(tag, 0, SeqCst, Relaxed).is_ok()
            {
                self.h.reader_deaths.fetch_add(1, Relaxed);
                freed += 1;
                self.release_slot_wake();
            }
        }
        freed
    }

    /// Wakes the sleepers on `reader_epoch` after a slot was freed by someone not leaving it.
    fn release_slot_wake(&self) {
        self.h.reader_epoch.fetch_add(1, Release);
        waiting::wake(&self.h.reader_epoch, &self.h.reader_sleepers, u32::MAX);
    }

    /// Waits until no live writer holds the writer word (taking a dead one's away and releasing
    /// it), at most until `deadline`.
    fn wait_no_writer(&self, me: u64, deadline: &Deadline) -> Result<()> {
        loop {
            let mut judge = true;
            let round = waiting::wait_until(
                &self.h.writer_epoch,
                &self.h.writer_sleepers,
                &deadline.capped(LIVENESS_EVERY),
                || {
                    let epoch = self.h.writer_epoch.load(Acquire);
                    let w = self.h.writer.load(SeqCst);
                    if w == 0 {
                        return Ok(());
                    }
                    if std::mem::take(&mut judge) && !self.lives(w, me) && self.take_over_writer(w, me) {
                        self.release_writer(me);
                        return Ok(());
                    }
                    Err(epoch)
                },
            );
            match round {
                Err(Error::Timeout) => deadline.remaining().map(|_| ())?,
                other => return other,
            }
        }
    }

    /// Acquires a read slot: returns its index.
    pub(crate) fn read(&self, me: u64, start: u32, deadline: &Deadline) -> Result<u32> {
        loop {
            self.wait_no_writer(me, deadline)?;
            let Some(i) = self.claim_slot(me, start) else {
                if self.sweep_dead_readers(me) == 0 {
                    self.wait_free_slot(deadline)?;
                }
                continue;
            };
            if self.h.writer.load(SeqCst) == 0 {
                return Ok(i);
            }
            // A writer announced itself: give way to it.
            self.release_slot(i, me);
        }
    }

    /// One attempt at a read slot without waiting.
    pub(crate) fn try_read(&self, me: u64, start: u32) -> Option<u32> {
        let w = self.h.writer.load(SeqCst);
        if w != 0
            && !(!self.lives(w, me) && self.take_over_writer(w, me) && {
                self.release_writer(me);
                true
            })
        {
            return None;
        }
        let i = self
            .claim_slot(me, start)
            .or_else(|| (self.sweep_dead_readers(me) != 0).then(|| self.claim_slot(me, start)).flatten())?;
        if self.h.writer.load(SeqCst) == 0 {
            return Some(i);
        }
        self.release_slot(i, me);
        None
    }

    /// Sleeps until some slot is free (or a round of [`LIVENESS_EVERY`] passes).
    fn wait_free_slot(&self, deadline: &Deadline) -> Result<()> {
        let round = waiting::wait_until(
            &self.h.reader_epoch,
            &self.h.reader_sleepers,
            &deadline.capped(LIVENESS_EVERY),
            || {
                let epoch = self.h.reader_epoch.load(Acquire);
                let free = (0..self.slots.count()).any(|i| self.slots.slot(i).load(SeqCst) == 0);
                if free {
                    Ok(())
                } else {
                    Err(epoch)
                }
            },
        );
        match round {
            Err(Error::Timeout) => deadline.remaining().map(|_| ()),
            other => other,
        }
    }

    /// Leaves read slot `i`, which `me` holds.
    pub(crate) fn read_unlock(&self, i: u32, me: u64) {
        self.release_slot(i, me);
    }

    /// Takes the writer word for `me` (waiting while a live writer has it): whether a dead
    /// writer's was taken over.
    fn acquire_writer(&self, me: u64, deadline: &Deadline) -> Result<()> {
        loop {
            let mut judge = true;
            let round = waiting::wait_until(
                &self.h.writer_epoch,
                &self.h.writer_sleepers,
                &deadline.capped(LIVENESS_EVERY),
                || loop {
                    let epoch = self.h.writer_epoch.load(Acquire);
                    let w = self.h.writer.load(SeqCst);
                    if w == 0 {
                        if self.h.writer.compare_exchange(0, me, SeqCst, Relaxed).is_ok() {
                            sc_order();
                            return Ok(());
                        }
                        continue;
                    }
                    if std::mem::take(&mut judge) && !self.lives(w, me) {
                        if self.take_over_writer(w, me) {
                            return Ok(());
                        }
                        continue;
                    }
                    return Err(epoch);
                },
            );
            match round {
                Err(Error::Timeout) => deadline.remaining().map(|_| ())?,
                other => return other,
            }
        }
    }

    /// Waits until slot `i` is free (freeing it if its reader is dead).
    fn drain_slot(&self, i: u32, me: u64, deadline: &Deadline) -> Result<()> {
        let slot = self.slots.slot(i);
        loop {
            let mut judge = true;
            let round = waiting::wait_until(
                &self.h.reader_epoch,
                &self.h.reader_sleepers,
                &deadline.capped(LIVENESS_EVERY),
                || {
                    let epoch = self.h.reader_epoch.load(Acquire);
                    let tag = slot.load(SeqCst);
                    if tag == 0 {
                        return Ok(());
                    }
                    if std::mem::take(&mut judge)
                        && !self.lives(tag, me)
                        && slot.compare_exchange(tag, 0, SeqCst, Relaxed).is_ok()
                    {
                        self.h.reader_deaths.fetch_add(1, Relaxed);
                        self.release_slot_wake();
                        return Ok(());
                    }
                    Err(epoch)
                },
            );
            match round {
                Err(Error::Timeout) => deadline.remaining().map(|_| ())?,
                other => return other,
            }
        }
    }

    /// Acquires the lock for writing: announces `me` in the writer word, then waits for every
    /// reader to leave. On a timeout the announcement is withdrawn.
    pub(crate) fn write(&self, me: u64, deadline: &Deadline) -> Result<()> {
        self.acquire_writer(me, deadline)?;
        for i in 0..self.slots.count() {
            if let Err(e) = self.drain_slot(i, me, deadline) {
                self.release_writer(me);
                return Err(e);
            }
        }
        Ok(())
    }

    /// One attempt at the write lock without waiting for anyone.
    pub(crate) fn try_write(&self, me: u64) -> bool {
        let w = self.h.writer.load(SeqCst);
        let mine = match w {
            0 => {
                self.h.writer.compare_exchange(0, me, SeqCst, Relaxed).is_ok() && {
                    sc_order();
                    true
                }
            }
            w if !self.lives(w, me) => self.take_over_writer(w, me),
            _ => false,
        };
        if !mine {
            return false;
        }
        for i in 0..self.slots.count() {
            let slot = self.slots.slot(i);
            let tag = slot.load(SeqCst);
            let free = tag == 0
                || (!self.lives(tag, me) && slot.compare_exchange(tag, 0, SeqCst, Relaxed).is_ok() && {
                    self.h.reader_deaths.fetch_add(1, Relaxed);
                    self.release_slot_wake();
                    true
                });
            if !free {
                self.release_writer(me);
                return false;
            }
        }
        true
    }

    /// Releases the write lock `me` holds.
    pub(crate) fn write_unlock(&self, me: u64) {
        self.release_writer(me);
    }

    /// Whether a writer died holding the lock and no writer has marked it consistent since.
    pub(crate) fn writer_died(&self) -> bool {
        self.h.state.load(Acquire) != CONSISTENT
    }

    /// Marks what the lock protects consistent again (the write-lock holder only).
    pub(crate) fn mark_consistent(&self) {
        self.h.state.store(CONSISTENT, Release);
    }
}

/// The slots of a lock in a segment.
struct ShmSlots {
    base: NonNull<u8>,
    count: u32,
}

impl Slots for ShmSlots {
    fn count(&self) -> u32 {
        self.count
    }

    fn slot(&self, i: u32) -> &AtomicU64 {
        assert!(i < self.count, "zipc bug: reader slot {i} of {}", self.count);
        // SAFETY: `base` is the first slot of a region with `count` slots of SLOT_STRIDE bytes
        // (the region was sized and checked for them at create or open), each 8-aligned; the
        // mapping lives as long as the handle holding these slots. Slots are written by other
        // processes only through atomics.
        unsafe { &*self.base.as_ptr().add(i as usize * SLOT_STRIDE as usize).cast::<AtomicU64>() }
    }
}

/// A robust readers–writer lock in a segment.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Array, RwLock, Segment};
/// let seg = Segment::open_or_create("/rwlock-doc", 1 << 20)?;
/// let config = Array::<u64>::open_or_create(&seg, "config", 16)?;
/// let lock = RwLock::open_or_create(&seg, "config_lock", 64)?;
/// {
///     let mut w = lock.write()?;
///     if w.writer_died() {
///         // A writer died half-way: restore what `config` must hold, then say so.
///         w.mark_consistent();
///     }
///     config.set(0, 42)?;
/// }
/// let r = lock.read()?; // many processes at once
/// assert_eq!(config.get(0), Some(42));
/// drop(r);
/// # Segment::unlink("/rwlock-doc") }
/// ```
#[derive(Clone)]
pub struct RwLock {
    segment: Segment,
    region: Region,
    header: NonNull<Header>,
    slots: NonNull<u8>,
    count: u32,
}

// SAFETY: the handle keeps the mapping alive (through `region`) and touches the lock only
// through atomics and futex calls, which other processes may perform concurrently.
unsafe impl Send for RwLock {}
// SAFETY: as above.
unsafe impl Sync for RwLock {}

/// Holding an [`RwLock`] for reading; leaves it on drop.
#[must_use = "dropping the guard releases the read lock"]
pub struct RwLockReadGuard<'a> {
    lock: &'a RwLock,
    me: u64,
    slot: u32,
    writer_died: bool,
}

/// Holding an [`RwLock`] for writing; releases it on drop.
#[must_use = "dropping the guard releases the write lock"]
pub struct RwLockWriteGuard<'a> {
    lock: &'a RwLock,
    me: u64,
    writer_died: bool,
}

impl RwLockReadGuard<'_> {
    /// Whether a writer died holding the lock (and no writer has marked it consistent since):
    /// what the lock protects may be half-written.
    pub fn writer_died(&self) -> bool {
        self.writer_died
    }
}

impl Drop for RwLockReadGuard<'_> {
    fn drop(&mut self) {
        self.lock.with_core(|c| c.read_unlock(self.slot, self.me));
    }
}

impl RwLockWriteGuard<'_> {
    /// Whether a writer died holding the lock (perhaps the one this guard took it over from)
    /// and nobody has marked it consistent since.
    pub fn writer_died(&self) -> bool {
        self.writer_died
    }

    /// Declares what the lock protects consistent again, after repairing what a dead writer left:
    /// later guards no longer report [`writer_died`](Self::writer_died).
    pub fn mark_consistent(&mut self) {
        self.lock.with_core(|c| c.mark_consistent());
        self.writer_died = false;
    }
}

impl Drop for RwLockWriteGuard<'_> {
    fn drop(&mut self) {
        self.lock.with_core(|c| c.write_unlock(self.me));
    }
}

thread_local! {
    /// This thread's first reader slot to try: spread by thread id so that threads reading at
    /// once start on different lines.
    static START: u32 = {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        tid.wrapping_mul(0x9e37_79b9)
    };
}

impl RwLock {
    /// Creates rwlock `name` with `max_readers` reader slots (1 to [`MAX_READERS`]): that many
    /// threads can hold it for reading at once (more wait for a slot).
    pub fn create(segment: &Segment, name: &str, max_readers: u32) -> Result<Self> {
        Self::create_in(segment, &Self::decl(name, max_readers))
    }

    /// Opens rwlock `name`, whatever its number of reader slots.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let decl = Self::declaration(name);
        let found = segment.locate(name)?;
        let Some(desc) = found.descriptor else {
            return Err(Error::KindMismatch { structure: name.to_owned(), expected: Kind::RwLock, found: None });
        };
        let decl = StructureLayout { capacity: desc.capacity, ..decl };
        crate::segment::check_descriptor(&decl, &desc, true)?;
        Ok(Self::from_region(segment, found.region, desc.capacity))
    }

    /// Opens rwlock `name`, or creates it; an existing one must have `max_readers` slots.
    pub fn open_or_create(segment: &Segment, name: &str, max_readers: u32) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::decl(name, max_readers))
    }

    fn decl(name: &str, max_readers: u32) -> StructureLayout<'_> {
        StructureLayout { capacity: max_readers.into(), ..Self::declaration(name) }
    }

    fn from_region(segment: &Segment, region: Region, count: u64) -> Self {
        let header = region.typed::<Header>(0);
        let count = count as u32; // at most MAX_READERS: checked by the declaration rules
        let slots = region.typed::<u8>(SLOTS_OFFSET);
        // Bounds of the last slot (panics on a zipc bug, never on segment contents: the region's
        // size was checked against the descriptor).
        let _ = region.ptr(SLOTS_OFFSET + (count as u64 - 1) * SLOT_STRIDE, 8);
        RwLock { segment: segment.clone(), region, header, slots, count }
    }

    fn with_core<R>(&self, f: impl FnOnce(&Core<'_, ShmSlots, fn(u64) -> bool>) -> R) -> R {
        // SAFETY: `header` points at the lock's 128-aligned region, alive as long as `self`;
        // Header is atomics only, which other processes may write concurrently.
        let h = unsafe { self.header.as_ref() };
        let slots = ShmSlots { base: self.slots, count: self.count };
        f(&Core { h, slots: &slots, alive: role::alive })
    }

    fn start() -> u32 {
        START.with(|s| *s)
    }

    /// Acquires the lock for reading, waiting while a writer holds or waits for it.
    pub fn read(&self) -> Result<RwLockReadGuard<'_>> {
        self.read_until(&Deadline::after(None))
    }

    /// [`read`](Self::read), waiting at most `timeout` ([`Error::Timeout`]).
    pub fn read_timeout(&self, timeout: Duration) -> Result<RwLockReadGuard<'_>> {
        self.read_until(&Deadline::after(Some(timeout)))
    }

    /// The read lock if it can be had without waiting.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_>> {
        let me = role::my_tag();
        let slot = self.with_core(|c| c.try_read(me, Self::start()))?;
        Some(self.read_guard(me, slot))
    }

    fn read_until(&self, deadline: &Deadline) -> Result<RwLockReadGuard<'_>> {
        let me = role::my_tag();
        let slot = self.with_core(|c| c.read(me, Self::start(), deadline))?;
        Ok(self.read_guard(me, slot))
    }

    fn read_guard(&self, me: u64, slot: u32) -> RwLockReadGuard<'_> {
        RwLockReadGuard { lock: self, me, slot, writer_died: self.writer_died() }
    }

    /// Acquires the lock for writing, waiting for the writer before it and for every reader to
    /// leave; new readers wait meanwhile.
    pub fn write(&self) -> Result<RwLockWriteGuard<'_>> {
        self.write_until(&Deadline::after(None))
    }

    /// [`write`](Self::write), waiting at most `timeout` ([`Error::Timeout`]; readers that
    /// waited for this writer go on).
    pub fn write_timeout(&self, timeout: Duration) -> Result<RwLockWriteGuard<'_>> {
        self.write_until(&Deadline::after(Some(timeout)))
    }

    /// The write lock if it can be had without waiting.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_>> {
        let me = role::my_tag();
        self.with_core(|c| c.try_write(me)).then(|| self.write_guard(me))
    }

    fn write_until(&self, deadline: &Deadline) -> Result<RwLockWriteGuard<'_>> {
        let me = role::my_tag();
        self.with_core(|c| c.write(me, deadline))?;
        Ok(self.write_guard(me))
    }

    fn write_guard(&self, me: u64) -> RwLockWriteGuard<'_> {
        RwLockWriteGuard { lock: self, me, writer_died: self.writer_died() }
    }

    /// The C ABI's read lock: the slot, which [`read_unlock_unguarded`](Self::read_unlock_unguarded)
    /// does not need (it frees one of the calling process's slots).
    pub(crate) fn read_unguarded(&self, timeout: Option<Duration>) -> Result<bool> {
        let g = self.read_until(&Deadline::after(timeout))?;
        let died = g.writer_died;
        std::mem::forget(g);
        Ok(died)
    }

    /// The C ABI's read lock without waiting: `Some(writer died)` if it was had.
    pub(crate) fn try_read_unguarded(&self) -> Option<bool> {
        let g = self.try_read()?;
        let died = g.writer_died;
        std::mem::forget(g);
        Some(died)
    }

    /// The C ABI's read unlock: frees one slot the calling process holds (its threads' slots
    /// are interchangeable: they carry the same tag), looking from the thread's own.
    pub(crate) fn read_unlock_unguarded(&self) -> Result<()> {
        let me = role::my_tag();
        let found = self.with_core(|c| {
            let n = c.slots.count();
            let start = Self::start();
            let i = (0..n).map(|k| (start + k) % n).find(|&i| c.slots.slot(i).load(Relaxed) == me)?;
            c.read_unlock(i, me);
            Some(())
        });
        found.ok_or_else(|| {
            Error::invalid(
                format!("read unlock of rwlock {:?}", self.name()),
                "the calling process holds no read lock on it",
            )
        })
    }

    /// The C ABI's write lock: whether a writer died holding it.
    pub(crate) fn write_unguarded(&self, timeout: Option<Duration>) -> Result<bool> {
        let g = self.write_until(&Deadline::after(timeout))?;
        let died = g.writer_died;
        std::mem::forget(g);
        Ok(died)
    }

    /// The C ABI's write lock without waiting: `Some(writer died)` if it was had.
    pub(crate) fn try_write_unguarded(&self) -> Option<bool> {
        let g = self.try_write()?;
        let died = g.writer_died;
        std::mem::forget(g);
        Some(died)
    }

    /// The C ABI's write unlock (`consistent`: mark it consistent first); an error unless the
    /// calling process holds the write lock.
    pub(crate) fn write_unlock_unguarded(&self, consistent: bool) -> Result<()> {
        let me = role::my_tag();
        self.check_writer(me, "write unlock")?;
        self.with_core(|c| {
            if consistent {
                c.mark_consistent();
            }
            c.write_unlock(me)
        });
        Ok(())
    }

    fn check_writer(&self, me: u64, what: &str) -> Result<()> {
        if self.with_core(|c| c.h.writer.load(Acquire)) != me {
            return Err(Error::invalid(
                format!("{what} of rwlock {:?}", self.name()),
                "the calling process does not hold it for writing",
            ));
        }
        Ok(())
    }

    /// Whether a writer died holding the lock and no writer has marked it consistent since.
    pub fn writer_died(&self) -> bool {
        self.with_core(|c| c.writer_died())
    }

    /// Whether a writer holds the lock or waits for its readers to leave.
    pub fn is_write_locked(&self) -> bool {
        self.with_core(|c| c.h.writer.load(Acquire) != 0)
    }

    /// Reader slots taken now (threads holding it for reading, or about to).
    pub fn readers(&self) -> u32 {
        self.with_core(|c| (0..c.slots.count()).filter(|&i| c.slots.slot(i).load(Relaxed) != 0).count() as u32)
    }

    /// The number of reader slots.
    pub fn max_readers(&self) -> u32 {
        self.count
    }

    /// Writers that died holding the lock, ever.
    pub fn writer_deaths(&self) -> u32 {
        self.with_core(|c| c.h.writer_deaths.load(Relaxed))
    }

    /// Reader slots freed after their process died, ever.
    pub fn reader_deaths(&self) -> u32 {
        self.with_core(|c| c.h.reader_deaths.load(Relaxed))
    }

    /// The lock's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this lock is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

#[diagnostic::do_not_recommend]
impl Structure for RwLock {
    const KIND: Kind = Kind::RwLock;
    const ELEM: Option<TypeLayout<'static>> = None;
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let count = decl.capacity;
        let region = segment.allocate(decl, |region| {
            region.u32_at(MAX_READERS_OFFSET).store(count as u32, Release);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, count))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Ok(Self::from_region(segment, region, desc.capacity))
    }
}

impl std::fmt::Debug for RwLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RwLock")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("readers", &self.readers())
            .field("write_locked", &self.is_write_locked())
            .finish()
    }
}

mod state;
pub(crate) use state::inspect;
pub use state::RwLockState;
#[cfg(all(test, loom))]
mod tests;
