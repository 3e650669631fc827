//! The topic's algorithm on loom-switchable atomics: [`Core`] over the publisher's line, the
//! control line, the subscriber records and a [`Slots`] implementation (segment slots, or a loom
//! model's heap), as the module docs of `topic` describe it.

use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

use crate::error::Result;
use crate::layout::kinds::topic::{BUSY, MAX_POSITION};
use crate::sys::atomics::{fence, AtomicU64};
use crate::sys::event_count::EventCount;
use crate::sys::futex::Deadline;

/// The publisher's hot word, alone on its line pair.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct PublisherLine {
    pub(crate) write_pos: AtomicU64,
}

/// The close (line 1, beside the publisher's role word): written once, by the publisher that
/// closes; read by subscribers on their empty path only.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct CloseLine {
    pub(crate) end: AtomicU64,
    pub(crate) closed: AtomicU64,
}

/// What a send or a receive returns on a closed topic (the handles turn it into
/// [`Error::Closed`](crate::Error::Closed) with the topic's name): a send, always; a receive,
/// once the subscriber has received everything published before the close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Closed;

/// Written only on slow paths: the floor (see *Joining* in the module docs), the two event counts
/// and the count of dead subscribers released.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ControlLine {
    pub(crate) floor: AtomicU64,
    pub(crate) data_ready: EventCount,
    pub(crate) space_ready: EventCount,
    pub(crate) released: AtomicU64,
}

/// One subscriber's record, on its own line pair: written by its subscriber (and, for `owner`,
/// by whoever releases it), read by the publisher on its slow path and by observers.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Record {
    /// 0 when free, else the holder's tag (`role::tag`).
    pub(crate) owner: AtomicU64,
    /// The next position this subscriber reads; every position below it is released.
    pub(crate) cursor: AtomicU64,
    /// Samples skipped because they were overwritten (lossy mode).
    pub(crate) missed: AtomicU64,
    /// 1 while the cursor counts (see *Joining*), 0 otherwise.
    pub(crate) active: AtomicU64,
    /// The cursor this subscriber joined at.
    pub(crate) joined: AtomicU64,
}

#[cfg(not(loom))]
const _: () = {
    use crate::layout::kinds::topic::{control, header, record};
    assert!(std::mem::size_of::<PublisherLine>() == 8);
    assert!(std::mem::offset_of!(CloseLine, closed) as u64 == header::CLOSED - header::END);
    assert!(std::mem::offset_of!(ControlLine, data_ready) as u64 == control::DATA_READY - control::FLOOR);
    assert!(std::mem::offset_of!(ControlLine, space_ready) as u64 == control::SPACE_READY - control::FLOOR);
    assert!(std::mem::offset_of!(ControlLine, released) as u64 == control::RELEASED - control::FLOOR);
    assert!(std::mem::offset_of!(Record, cursor) as u64 == record::CURSOR);
    assert!(std::mem::offset_of!(Record, missed) as u64 == record::MISSED);
    assert!(std::mem::offset_of!(Record, active) as u64 == record::ACTIVE);
    assert!(std::mem::offset_of!(Record, joined) as u64 == record::JOINED);
    assert!(std::mem::size_of::<Record>() as u64 <= record::SIZE);
};

/// The topic's slots: a sequence word and a payload each.
pub(crate) trait Slots {
    /// The unit of caller buffers for copies (`T`, or bytes for `zipc::dynamic`).
    type Elem: Copy;
    /// The sequence word of slot `slot`.
    fn seq(&self, slot: usize) -> &AtomicU64;
    /// Copies one element from `src` into slot `slot`'s payload with relaxed atomic units.
    fn store(&self, slot: usize, src: &[Self::Elem]);
    /// Copies slot `slot`'s payload into `dst` with relaxed atomic units. May race with `store`
    /// (lossy mode): the caller validates what it read.
    fn load(&self, slot: usize, dst: &mut [Self::Elem]);
}

/// Whether the process a record's owner word names is alive: `role::alive` in a build, a
/// model's switch under loom.
pub(crate) trait Liveness {
    /// This process's owner word.
    fn me(&self) -> u64;
    /// Whether the process `owner` names is alive.
    fn alive(&self, owner: u64) -> bool;
}

/// The publisher's private state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PubState {
    /// The next position to write (= the published `write_pos`).
    pub(crate) write: u64,
    /// Lossless: positions below this may be written without a scan (`min cursor + capacity`
    /// as last scanned).
    pub(crate) limit: u64,
    /// The topic is closed (by this publisher, or a predecessor: read when claiming the role).
    pub(crate) closed: bool,
}

/// A subscriber's private state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SubState {
    /// The record it holds.
    pub(crate) record: usize,
    /// Its owner word.
    pub(crate) me: u64,
    /// The next position to read (= the published cursor, but for a sample held unreleased).
    pub(crate) cursor: u64,
    /// Samples skipped so far (= the published `missed`).
    pub(crate) missed: u64,
    /// The cursor it joined at.
    pub(crate) joined: u64,
}

impl SubState {
    /// Samples delivered so far.
    pub(crate) fn received(&self) -> u64 {
        self.cursor - self.joined - self.missed
    }
}

/// Why a lossless publisher cannot write now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blocked {
    /// The record whose cursor holds the publisher back, if a subscriber's (not the history).
    pub(crate) laggard: Option<usize>,
    /// Not blocked but closed: nothing may be written any more.
    pub(crate) closed: bool,
}

/// What a subscriber found at its cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// The sample at the cursor is published: it is in slot `slot`.
    Ready { slot: usize },
    /// Nothing new yet.
    Empty,
    /// The topic is closed and the cursor has passed everything published before the close.
    Closed,
}

/// The topic algorithm over a header, records and slots that live wherever the owner put them:
/// a segment in a build, the heap in a loom model.
pub(crate) struct Core<S, L> {
    publisher: NonNull<PublisherLine>,
    close: NonNull<CloseLine>,
    control: NonNull<ControlLine>,
    records: NonNull<u8>,
    record_stride: usize,
    max_subscribers: usize,
    pub(crate) slots: S,
    capacity: u64,
    history: u64,
    lossy: bool,
    pub(crate) liveness: L,
}

// SAFETY: the pointers are to atomics (shared by design); `S` and `L` are shared by the owner.
unsafe impl<S: Send, L: Send> Send for Core<S, L> {}
// SAFETY: as above; every method takes `&self` and touches shared state only through atomics.
unsafe impl<S: Sync, L: Sync> Sync for Core<S, L> {}

impl<S: Clone, L: Clone> Clone for Core<S, L> {
    fn clone(&self) -> Self {
        Core { slots: self.slots.clone(), liveness: self.liveness.clone(), ..*self }
    }
}

impl<S: Slots, L: Liveness> Core<S, L> {
    /// # Safety
    ///
    /// The pointers are valid and aligned and stay valid while the core (and its clones) live:
    /// `records` starts `max_subscribers` records `record_stride` bytes apart (a multiple of 8);
    /// `slots` holds `capacity` slots, a power of two; `history < capacity`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn new(
        publisher: NonNull<PublisherLine>,
        close: NonNull<CloseLine>,
        control: NonNull<ControlLine>,
        records: NonNull<u8>,
        record_stride: usize,
        max_subscribers: usize,
        slots: S,
        capacity: u64,
        history: u64,
        lossy: bool,
        liveness: L,
    ) -> Self {
        assert!(capacity.is_power_of_two() && history < capacity && max_subscribers >= 1);
        Core {
            publisher,
            close,
            control,
            records,
            record_stride,
            max_subscribers,
            slots,
            capacity,
            history,
            lossy,
            liveness,
        }
    }

    fn p(&self) -> &PublisherLine {
        // SAFETY: valid while `self` lives (constructor contract).
        unsafe { self.publisher.as_ref() }
    }

    fn cl(&self) -> &CloseLine {
        // SAFETY: as for `p`.
        unsafe { self.close.as_ref() }
    }

    fn ctl(&self) -> &ControlLine {
        // SAFETY: as for `p`.
        unsafe { self.control.as_ref() }
    }

    /// Record `i` (< `max_subscribers`).
    pub(crate) fn record(&self, i: usize) -> &Record {
        assert!(i < self.max_subscribers, "zipc bug: record {i} out of range");
        // SAFETY: in range (checked), so inside the record area (constructor contract), aligned.
        unsafe { &*self.records.as_ptr().add(i * self.record_stride).cast::<Record>() }
    }

    /// The slot of position `pos`.
    #[inline(always)]
    pub(crate) fn slot(&self, pos: u64) -> usize {
        (pos & (self.capacity - 1)) as usize
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    pub(crate) fn history(&self) -> u64 {
        self.history
    }

    pub(crate) fn max_subscribers(&self) -> usize {
        self.max_subscribers
    }

    pub(crate) fn is_lossy(&self) -> bool {
        self.lossy
    }

    pub(crate) fn write_pos(&self) -> u64 {
        self.p().write_pos.load(Acquire)
    }

    pub(crate) fn released(&self) -> u64 {
        self.ctl().released.load(Relaxed)
    }

    pub(crate) fn data_ready(&self) -> &EventCount {
        &self.ctl().data_ready
    }

    pub(crate) fn space_ready(&self) -> &EventCount {
        &self.ctl().space_ready
    }

    // -----------------------------------------------------------------------------------------
    // Publisher
    // -----------------------------------------------------------------------------------------

    /// The publisher's state, from the segment. A predecessor that died between stamping a slot
    /// and publishing `write_pos` left published slots past it: they are stepped over (their
    /// subscribers may have read them already). Fails if the position is impossible.
    pub(crate) fn publisher_state(&self) -> std::result::Result<PubState, String> {
        let mut write = self.p().write_pos.load(Acquire);
        if write > MAX_POSITION {
            return Err(format!("write_pos {write} is beyond {MAX_POSITION}"));
        }
        let start = write;
        while write - start < self.capacity && self.slots.seq(self.slot(write)).load(Acquire) == write + 1 {
            write += 1;
        }
        if write != start {
            self.p().write_pos.store(write, Release);
        }
        Ok(PubState { write, limit: 0, closed: self.is_closed() })
    }

    /// The cursor of record `i` if it counts: owned, active. Loads owner, then active, then the
    /// cursor (acquire), the order the joining argument needs.
    fn counted_cursor(&self, i: usize) -> Option<(u64, u64)> {
        let r = self.record(i);
        let owner = r.owner.load(Acquire);
        if owner == 0 || r.active.load(Acquire) == 0 {
            return None;
        }
        Some((r.cursor.load(Acquire), owner))
    }

    /// The smallest counted cursor and `write - history`, and the record holding it.
    fn min_cursor(&self, write: u64, mut min: (u64, Option<usize>)) -> (u64, Option<usize>) {
        for i in 0..self.max_subscribers {
            if let Some((c, _)) = self.counted_cursor(i) {
                // A cursor past the write position is impossible; read it as "caught up".
                let c = c.min(write);
                if c < min.0 {
                    min = (c, Some(i));
                }
            }
        }
        min
    }

    /// Lossless: scans the records and publishes the floor (see *Joining*). Returns the
    /// smallest cursor that counts and whose record it is.
    fn scan(&self, st: &mut PubState) -> (u64, Option<usize>) {
        let first = self.min_cursor(st.write, (st.write.saturating_sub(self.history), None));
        if first.0 > self.ctl().floor.load(Relaxed) {
            self.ctl().floor.store(first.0, Relaxed);
        }
        // A joiner that this second pass does not see active finds the floor just stored.
        fence(SeqCst);
        let min = self.min_cursor(st.write, first);
        st.limit = min.0 + self.capacity;
        min
    }

    /// Lossless: whether position `st.write` may be written now (its slot released by every
    /// subscriber, and not one of the newest `history`). Scans only when the cached limit says
    /// no; releases the laggard if it is dead and `check_liveness` (a system call).
    #[inline(always)]
    pub(crate) fn try_reserve(&self, st: &mut PubState, check_liveness: bool) -> std::result::Result<(), Blocked> {
        if st.write < st.limit {
            return Ok(());
        }
        self.try_reserve_slow(st, check_liveness)
    }

    /// [`try_reserve`](Self::try_reserve) once the cached limit says no.
    #[cold]
    #[inline(never)]
    fn try_reserve_slow(&self, st: &mut PubState, check_liveness: bool) -> std::result::Result<(), Blocked> {
        // A closed publisher's limit is 0: the check costs nothing on the fast path.
        if st.closed {
            return Err(Blocked { laggard: None, closed: true });
        }
        // At most one release per record.
        for _ in 0..=self.max_subscribers {
            let (_, laggard) = self.scan(st);
            if st.write < st.limit {
                return Ok(());
            }
            match laggard {
                Some(i) if check_liveness => {
                    if !self.release_if_dead(i) {
                        return Err(Blocked { laggard, closed: false });
                    }
                }
                _ => return Err(Blocked { laggard, closed: false }),
            }
        }
        Err(Blocked { laggard: None, closed: false })
    }

    /// Frees record `i` if its owner is dead, counting it; returns whether the record no longer
    /// counts. Only the owner word is written: a joiner re-initialises the rest (the owner
    /// compare-and-swap decides between a releaser and a joiner reclaiming the same record).
    pub(crate) fn release_if_dead(&self, i: usize) -> bool {
        let r = self.record(i);
        let owner = r.owner.load(Acquire);
        if owner == 0 {
            return true;
        }
        if self.liveness.alive(owner) {
            return false;
        }
        if r.owner.compare_exchange(owner, 0, AcqRel, Relaxed).is_ok() {
            self.ctl().released.fetch_add(1, Relaxed);
        }
        true
    }

    /// [`WaitSet`](crate::WaitSet) readiness of the lossless publisher: whether the published
    /// write position may be written now (every counted subscriber within a capacity of it).
    /// Only reads, unlike [`scan`](Self::scan), which publishes the floor. A laggard that blocks
    /// it may be dead, which wakes nobody: it is released if so (as `try_reserve` does), else
    /// the probe is `Stalled` and is looked at again within the wait set's recheck interval.
    #[cfg_attr(loom, allow(dead_code))] // the publisher's source is not built under loom
    pub(crate) fn probe_space(&self) -> crate::sys::wait_set::Probe {
        use crate::sys::wait_set::Probe;
        let mut laggard = None;
        let probe = self.space_ready().probe(|| {
            let write = self.p().write_pos.load(Acquire);
            let (min, who) = self.min_cursor(write, (write.saturating_sub(self.history), None));
            laggard = who;
            write < min + self.capacity
        });
        match (probe, laggard) {
            (Probe::Pending(v), Some(i)) if !self.release_if_dead(i) => Probe::Stalled(v),
            (Probe::Pending(_), Some(_)) => Probe::Ready, // the laggard was dead and is released
            (p, _) => p,
        }
    }

    /// Lossless: publishes the sample written in place at `st.write`'s slot (after
    /// [`try_reserve`](Self::try_reserve) succeeded).
    #[inline]
    pub(crate) fn publish(&self, st: &mut PubState) {
        let w = st.write;
        self.slots.seq(self.slot(w)).store(w + 1, Release);
        self.p().write_pos.store(w + 1, Release);
        st.write = w + 1;
        self.data_ready().notify_all_asymmetric();
    }

    /// Lossy: writes one element (seqlock on the slot's sequence word) and publishes it;
    /// [`Closed`] (nothing written) once the topic is closed.
    #[inline]
    pub(crate) fn write_lossy(&self, st: &mut PubState, src: &[S::Elem]) -> std::result::Result<(), Closed> {
        if st.closed {
            return Err(Closed);
        }
        let w = st.write;
        let seq = self.slots.seq(self.slot(w));
        // Announce the overwrite before making it: a reader that sees any byte of the new
        // sample sees BUSY (or the new number) in its validating load.
        seq.store((w + 1) | BUSY, Relaxed);
        fence(Release);
        self.slots.store(self.slot(w), src);
        seq.store(w + 1, Release);
        self.p().write_pos.store(w + 1, Release);
        st.write = w + 1;
        self.data_ready().notify_all_asymmetric();
        Ok(())
    }

    /// Closes the topic (idempotent): stores the end position, then the `closed` flag
    /// (release), then wakes every sleeper of both event counts unconditionally. Only the
    /// publisher, the one writer of samples, closes: everything published before is delivered,
    /// nothing after is accepted (a loan open at the close is given back unsent).
    pub(crate) fn close(&self, st: &mut PubState) {
        if !st.closed {
            self.cl().end.store(st.write, Relaxed);
            self.cl().closed.store(1, Release);
            st.closed = true;
            st.limit = 0;
        }
        self.data_ready().notify_all_unconditionally();
        self.space_ready().notify_all_unconditionally();
    }

    /// Whether the topic is closed (acquire: a subscriber that sees it sees every sample
    /// published before the close).
    pub(crate) fn is_closed(&self) -> bool {
        self.cl().closed.load(Acquire) != 0
    }

    /// On a subscriber's empty path: whether it is at the end of a closed topic. `Some(true)`:
    /// closed, everything before the end passed; `Some(false)`: closed with samples left (look
    /// again: they are visible now); `None`: open.
    fn at_end(&self, st: &SubState) -> Option<bool> {
        if !self.is_closed() {
            return None;
        }
        Some(st.cursor >= self.cl().end.load(Relaxed))
    }

    /// Whether the subscriber at `st` is at the end of a closed topic.
    pub(crate) fn finished(&self, st: &SubState) -> bool {
        self.at_end(st) == Some(true)
    }

    /// Lossless, blocking [`try_reserve`](Self::try_reserve): sleeps on `space_ready`, checking
    /// the laggard's liveness at every wake-up and every `liveness_interval` (a dead subscriber
    /// never notifies).
    pub(crate) fn reserve(
        &self,
        st: &mut PubState,
        deadline: Deadline,
        liveness_interval: std::time::Duration,
    ) -> Result<std::result::Result<(), Closed>> {
        if st.closed {
            return Ok(Err(Closed));
        }
        if self.try_reserve(st, false).is_ok() {
            return Ok(Ok(()));
        }
        loop {
            if self.try_reserve(st, true).is_ok() {
                return Ok(Ok(()));
            }
            let slice = deadline.capped(liveness_interval);
            match self.space_ready().wait_until_asymmetric(slice, || self.try_reserve(st, false).ok()) {
                Ok(()) => return Ok(Ok(())),
                Err(crate::Error::Timeout) if !deadline.passed() => continue,
                Err(e) => return Err(e),
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Subscribers
    // -----------------------------------------------------------------------------------------

    /// Joins: takes a free record (or one whose owner died), starts at the newest `history`
    /// samples (at the floor if those were overwritten meanwhile). `None` when every record is
    /// held by a live process.
    pub(crate) fn join(&self) -> Option<SubState> {
        let me = self.liveness.me();
        let record = (0..self.max_subscribers).find(|&i| {
            let r = self.record(i);
            let owner = r.owner.load(Acquire);
            (owner == 0 || !self.liveness.alive(owner))
                && r.owner.compare_exchange(owner, me, AcqRel, Relaxed).is_ok()
                && {
                    if owner != 0 {
                        self.ctl().released.fetch_add(1, Relaxed);
                    }
                    true
                }
        })?;
        let r = self.record(record);
        // A reclaimed record may still be active with its dead owner's cursor: stop it counting
        // before the cursor moves (it may move back).
        r.active.store(0, Release);
        r.missed.store(0, Relaxed);
        let w = self.p().write_pos.load(Acquire);
        let mut cursor = w - self.history.min(w);
        if !self.lossy {
            cursor = cursor.max(self.ctl().floor.load(Relaxed));
        }
        r.cursor.store(cursor, Relaxed);
        r.active.store(1, Release);
        if !self.lossy {
            // Either the publisher's next scan sees this record active, or this load sees the
            // floor that scan published (see *Joining*).
            fence(SeqCst);
            let floor = self.ctl().floor.load(Relaxed);
            if floor > cursor {
                cursor = floor;
                r.cursor.store(cursor, Release);
            }
        }
        r.joined.store(cursor, Relaxed);
        Some(SubState { record, me, cursor, missed: 0, joined: cursor })
    }

    /// Leaves: the record stops counting and is freed; a publisher waiting on it is woken.
    pub(crate) fn leave(&self, st: &SubState) {
        let r = self.record(st.record);
        r.active.store(0, Release);
        let _ = r.owner.compare_exchange(st.me, 0, AcqRel, Relaxed);
        if !self.lossy {
            self.space_ready().notify_all_asymmetric();
        }
    }

    /// Whether this subscriber still holds its record (a survivor may have released it, taking
    /// it for dead).
    pub(crate) fn holds(&self, st: &SubState) -> bool {
        self.record(st.record).owner.load(Relaxed) == st.me
    }

    /// Lossless: what is at the cursor. A sequence number ahead of the cursor (a topic whose
    /// state another process corrupted) is skipped like a lossy lap and counted as missed.
    /// On the empty path only, the close: [`Next::Closed`] at the end of a closed topic.
    ///
    /// Inlined are the two cases a spinning subscriber meets: a sample there, and nothing there
    /// on an open topic (one more load, of a line nobody writes until the close); the rest —
    /// a lap, a close — is out of line.
    #[inline(always)]
    pub(crate) fn peek(&self, st: &mut SubState) -> Next {
        let c = st.cursor;
        let slot = self.slot(c);
        let seq = self.slots.seq(slot).load(Acquire);
        if seq == c + 1 {
            return Next::Ready { slot };
        }
        if (seq <= c || seq & BUSY != 0) && !self.is_closed() {
            return Next::Empty;
        }
        self.peek_slow(st)
    }

    /// [`peek`](Self::peek) past its inlined cases.
    #[cold]
    #[inline(never)]
    fn peek_slow(&self, st: &mut SubState) -> Next {
        let mut closed = false;
        loop {
            let c = st.cursor;
            let slot = self.slot(c);
            let seq = self.slots.seq(slot).load(Acquire);
            if seq == c + 1 {
                return Next::Ready { slot };
            }
            if seq <= c || seq & BUSY != 0 {
                // Nothing at the cursor. If the topic is closed with samples left, they are
                // visible now: look once more (a second empty look is a corrupt topic: closed).
                match self.at_end(st) {
                    None => return Next::Empty,
                    Some(false) if !closed => closed = true,
                    Some(_) => return Next::Closed,
                }
                continue;
            }
            self.skip(st);
        }
    }

    /// The wait-set source of the subscriber holding `record`, over `keep` (a handle whose
    /// `core` gives this core and keeps the mapping): the typed [`Subscriber`](crate::Subscriber)
    /// and the byte-level one share it.
    pub(crate) fn subscriber_source<H: Send + Sync + 'static>(
        keep: H,
        core: fn(&H) -> &Self,
        record: usize,
    ) -> crate::sys::wait_set::Source
    where
        Self: 'static,
    {
        crate::sys::wait_set::Source::new(
            keep,
            move |h| core(h).data_ready().sleep_point(true),
            move |h| core(h).probe(record),
        )
    }

    /// [`WaitSet`](crate::WaitSet) readiness of the subscriber holding `record`, at its
    /// published cursor: a sample there (or a lap past it, which the next receive skips to).
    pub(crate) fn probe(&self, record: usize) -> crate::sys::wait_set::Probe {
        self.data_ready().probe(|| {
            let c = self.record(record).cursor.load(Acquire);
            let seq = self.slots.seq(self.slot(c)).load(Acquire);
            seq == c + 1 || (seq > c && seq & BUSY == 0) || self.is_closed()
        })
    }

    /// Lossless: releases the sample at the cursor (after [`peek`](Self::peek) found it and the
    /// caller is done reading it in place).
    #[inline]
    pub(crate) fn release(&self, st: &mut SubState) {
        st.cursor += 1;
        self.record(st.record).cursor.store(st.cursor, Release);
        self.space_ready().notify_all_asymmetric();
    }

    /// Lossy: copies the sample at the cursor into `dst` if one is there intact, skipping (and
    /// counting) what was overwritten first. Returns whether a sample was copied; [`Closed`] at
    /// the end of a closed topic (checked on the empty path only, as [`peek`](Self::peek) does).
    pub(crate) fn try_copy(&self, st: &mut SubState, dst: &mut [S::Elem]) -> std::result::Result<bool, Closed> {
        let mut closed = false;
        loop {
            let c = st.cursor;
            let slot = self.slot(c);
            let seq = self.slots.seq(slot);
            let s1 = seq.load(Acquire);
            let pos = s1 & !BUSY;
            if pos <= c || (pos == c + 1 && s1 & BUSY != 0) {
                match self.at_end(st) {
                    None => return Ok(false),
                    Some(false) if !closed => closed = true,
                    Some(_) => return Err(Closed),
                }
                continue;
            }
            if pos == c + 1 {
                self.slots.load(slot, dst);
                fence(Acquire);
                if seq.load(Relaxed) == s1 {
                    st.cursor = c + 1;
                    self.record(st.record).cursor.store(st.cursor, Release);
                    return Ok(true);
                }
            }
            // Lapped, before or during the copy.
            self.skip(st);
        }
    }

    /// Moves the cursor past samples that were overwritten before this subscriber read them:
    /// to the oldest that can still be there, counting every one skipped.
    fn skip(&self, st: &mut SubState) {
        let w = self.p().write_pos.load(Acquire).min(MAX_POSITION);
        let to = (st.cursor + 1).max(w.saturating_sub(self.capacity));
        st.missed += to - st.cursor;
        st.cursor = to;
        let r = self.record(st.record);
        r.missed.store(st.missed, Relaxed);
        r.cursor.store(st.cursor, Release);
    }

    /// Blocking [`peek`](Self::peek) (lossless): the slot of the next sample, or [`Closed`].
    pub(crate) fn wait_ready(
        &self,
        st: &mut SubState,
        deadline: Deadline,
    ) -> Result<std::result::Result<usize, Closed>> {
        self.data_ready().wait_until_asymmetric(deadline, || match self.peek(st) {
            Next::Ready { slot } => Some(Ok(slot)),
            Next::Empty => None,
            Next::Closed => Some(Err(Closed)),
        })
    }

    /// Blocking [`try_copy`](Self::try_copy) (lossy).
    pub(crate) fn copy(
        &self,
        st: &mut SubState,
        dst: &mut [S::Elem],
        deadline: Deadline,
    ) -> Result<std::result::Result<(), Closed>> {
        self.data_ready().wait_until_asymmetric(deadline, || match self.try_copy(st, dst) {
            Ok(true) => Some(Ok(())),
            Ok(false) => None,
            Err(Closed) => Some(Err(Closed)),
        })
    }
}

use std::sync::atomic::Ordering::AcqRel;
