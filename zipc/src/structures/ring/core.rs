//! The ring's algorithm on loom-switchable atomics: [`Core`] over the producer's and the
//! consumer's sides and a [`Slots`] implementation (segment slots of a type or of bytes, or a
//! loom model's heap), as the module docs of `ring` describe it.

use super::*;

/// The producer's hot words (offset 0), its role word (which the algorithm does not use) and
/// the close: `end` and `closed`, written once, by the producer that closes.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ProducerSide {
    pub(super) write_pos: AtomicU64,
    pub(super) claim: AtomicU64,
    pub(super) role: AtomicU64,
    pub(super) end: AtomicU64,
    pub(super) closed: AtomicU64,
}

/// What a send or a receive returns on a closed ring (the handles turn it into
/// [`Error::Closed`] with the ring's name): a sender, always; a receiver, once it has
/// received everything sent before the close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Closed;

/// The consumer's hot words (offset 128). `role` is the consumer role word, which the algorithm
/// does not use (`role.rs` does).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct ConsumerSide {
    pub(super) read_pos: AtomicU64,
    pub(super) missed: AtomicU64,
    pub(super) role: AtomicU64,
    pub(super) reading: AtomicU64,
    pub(super) lost: AtomicU64,
}

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::size_of::<ProducerSide>() == 40);
    assert!(std::mem::offset_of!(ProducerSide, role) as u64 == field::PRODUCER - field::WRITE_POS);
    assert!(std::mem::offset_of!(ProducerSide, end) as u64 == field::END - field::WRITE_POS);
    assert!(std::mem::offset_of!(ProducerSide, closed) as u64 == field::CLOSED - field::WRITE_POS);
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
    pub(super) write: u64,
    /// The highest claim stored (never decreases, also across producers).
    pub(super) claim: u64,
    /// `read_pos` as last loaded (lossless mode).
    pub(super) read_cache: u64,
    /// The ring is closed (by this producer, or by a predecessor: read when claiming the role).
    pub(super) closed: bool,
}

/// The consumer's private state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConsumerState {
    /// Next position to read (= the published `read_pos`).
    pub(super) read: u64,
    /// Elements skipped so far (= the published `missed`).
    pub(super) missed: u64,
    /// Elements lost so far to consumers that died mid-pop (= the published `lost`).
    pub(super) lost: u64,
    /// Of those, what this consumer found in flight when it took the role over.
    pub(super) lost_on_takeover: u64,
    /// `write_pos` as last loaded.
    pub(super) write_cache: u64,
}

/// The ring algorithm over a header and slots that live wherever the owner put them: a segment
/// in a build, the heap in a loom model.
pub(crate) struct Core<S> {
    pub(super) producer: NonNull<ProducerSide>,
    pub(super) consumer: NonNull<ConsumerSide>,
    pub(super) data_ready: NonNull<EventCount>,
    pub(super) space_ready: NonNull<EventCount>,
    pub(super) slots: S,
    pub(super) capacity: u64,
    pow2: bool,
    pub(super) overwrite: bool,
    /// Loom only: accept copies without validating them, to show the models catch the bug.
    #[cfg(loom)]
    pub(super) trust_copies: bool,
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

    pub(super) fn c(&self) -> &ConsumerSide {
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
        let closed = self.is_closed();
        Ok(ProducerState { write, claim: claim.max(write), read_cache: read, closed })
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
    /// Returns how many elements were consumed from `src`; [`Closed`] (nothing pushed) once
    /// the ring is closed.
    pub(crate) fn try_push(&self, st: &mut ProducerState, src: &[S::Elem]) -> std::result::Result<usize, Closed> {
        if st.closed {
            return Err(Closed);
        }
        let len = self.count(src.len());
        if len == 0 {
            return Ok(0);
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
            return Ok(0);
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
        Ok(skip + n)
    }

    /// Closes the ring (idempotent): stores the end position, then the `closed` flag (release),
    /// then wakes every sleeper of both event counts unconditionally. Only the producer, the one
    /// writer of `write_pos`, closes, so the end is exact: everything pushed before is delivered,
    /// nothing after is accepted.
    pub(crate) fn close(&self, st: &mut ProducerState) {
        if !st.closed {
            self.p().end.store(st.write, Relaxed);
            self.p().closed.store(1, Release);
            st.closed = true;
        }
        self.data_ready().notify_all_unconditionally();
        self.space_ready().notify_all_unconditionally();
    }

    /// Whether the ring is closed (acquire: a consumer that sees it sees every element pushed
    /// before the close).
    pub(crate) fn is_closed(&self) -> bool {
        self.p().closed.load(Acquire) != 0
    }

    /// Whether the ring is closed and the consumer at `st` has passed everything pushed before.
    pub(crate) fn finished(&self, st: &ConsumerState) -> bool {
        self.left_before_end(st).is_err()
    }

    /// On the consumer's empty path: [`Closed`] if the ring is closed and the consumer has
    /// passed everything pushed before the close; `Ok(true)` if it is closed with elements left
    /// (which `write_pos`, reloaded, shows); `Ok(false)` while open.
    fn left_before_end(&self, st: &ConsumerState) -> std::result::Result<bool, Closed> {
        if !self.is_closed() {
            return Ok(false);
        }
        let end = self.p().end.load(Relaxed);
        if st.read >= end || self.p().write_pos.load(Acquire) <= st.read {
            // The second test holds only in a corrupt segment (an end past `write_pos`): closed.
            return Err(Closed);
        }
        Ok(true)
    }

    /// Copies up to `dst.len()` elements from the consumer's position into `dst`, skipping (and
    /// counting) elements overwritten before they could be copied intact. Advances the position
    /// past what it returns if `consume`; otherwise only past what it skipped. [`Closed`] when
    /// the ring is closed and everything pushed before the close was passed.
    pub(crate) fn try_pop(
        &self,
        st: &mut ConsumerState,
        dst: &mut [S::Elem],
        consume: bool,
    ) -> std::result::Result<usize, Closed> {
        let len = self.count(dst.len());
        if len == 0 {
            return Ok(0);
        }
        let cap = self.capacity;
        loop {
            let avail = |w: u64| w.saturating_sub(st.read);
            if avail(st.write_cache) < len as u64 {
                st.write_cache = self.p().write_pos.load(Acquire);
            }
            let mut avail = avail(st.write_cache);
            if avail == 0 {
                // The empty path only: is the ring closed, and this the end?
                if !self.left_before_end(st)? {
                    return Ok(0);
                }
                st.write_cache = self.p().write_pos.load(Acquire);
                avail = st.write_cache.saturating_sub(st.read);
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
                return Ok(k as usize);
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
    pub(crate) fn push(
        &self,
        st: &mut ProducerState,
        src: &[S::Elem],
        deadline: Deadline,
    ) -> Result<std::result::Result<usize, Closed>> {
        if st.closed || self.count(src.len()) == 0 {
            return Ok(self.try_push(st, src));
        }
        self.space_ready().wait_until_asymmetric(deadline, || match self.try_push(st, src) {
            Ok(0) => None,
            done => Some(done),
        })
    }

    /// Blocking [`try_pop`](Self::try_pop) (consuming): waits until at least one element arrives,
    /// or the ring is closed and drained.
    pub(crate) fn pop(
        &self,
        st: &mut ConsumerState,
        dst: &mut [S::Elem],
        deadline: Deadline,
    ) -> Result<std::result::Result<usize, Closed>> {
        if self.count(dst.len()) == 0 {
            return Ok(Ok(0));
        }
        self.data_ready().wait_until_asymmetric(deadline, || match self.try_pop(st, dst, true) {
            Ok(0) => None,
            done => Some(done),
        })
    }

    /// [`WaitSet`](crate::WaitSet) readiness of the consumer at the published `read_pos`: an
    /// element to pop.
    pub(crate) fn probe_data(&self) -> crate::sys::wait_set::Probe {
        self.data_ready()
            .probe(|| self.p().write_pos.load(Acquire) > self.c().read_pos.load(Acquire) || self.is_closed())
    }

    /// [`WaitSet`](crate::WaitSet) readiness of the producer at the published `write_pos`: room
    /// for an element (always, in overwrite mode).
    pub(crate) fn probe_space(&self) -> crate::sys::wait_set::Probe {
        self.space_ready().probe(|| {
            self.overwrite
                || self.p().write_pos.load(Acquire).saturating_sub(self.c().read_pos.load(Acquire)) < self.capacity
        })
    }

    /// Where a [`WaitSet`](crate::WaitSet) sleeps for data, or for room if `space`.
    pub(crate) fn sleep_point(&self, space: bool) -> crate::sys::wait_set::SleepPoint {
        if space {
            self.space_ready().sleep_point(true)
        } else {
            self.data_ready().sleep_point(true)
        }
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

#[cfg(all(test, loom))]
impl ProducerSide {
    pub(super) fn at(pos: u64) -> Self {
        ProducerSide {
            write_pos: AtomicU64::new(pos),
            claim: AtomicU64::new(pos),
            role: AtomicU64::new(0),
            end: AtomicU64::new(0),
            closed: AtomicU64::new(0),
        }
    }
}

#[cfg(all(test, loom))]
impl ConsumerSide {
    pub(super) fn at(pos: u64) -> Self {
        ConsumerSide {
            read_pos: AtomicU64::new(pos),
            missed: AtomicU64::new(0),
            role: AtomicU64::new(0),
            reading: AtomicU64::new(pos),
            lost: AtomicU64::new(0),
        }
    }
}
