//! The algorithms' shared ground: the header as the algorithms see it ([`Indices`], one
//! [`CachePadded`] line pair per side), the slot ([`Slot`]), the per-role state handles keep
//! ([`TxState`], [`RxState`]), and [`Raw`] — a queue on memory that is segment bytes in a build
//! and heap memory under loom — with what every policy uses: slot addressing, counts, wake-ups
//! and blocking. The policies' operations are in `spsc.rs` and `vyukov.rs`, crash recovery in
//! `recovery.rs`.

use super::*;

/// Pads and aligns its value to 128 bytes: a cache-line pair of its own.
#[repr(C, align(128))]
#[derive(Debug, Default)]
pub(crate) struct CachePadded<T>(pub(crate) T);

/// The consumer's line: `head`, and a single consumer's `reading`.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct ConsumerLine {
    pub(super) head: AtomicU64,
    pub(super) reading: AtomicU64,
}

/// The part of the header the algorithms use, at region offset 128 (`header::TAIL`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Indices {
    pub(super) tail: CachePadded<AtomicU64>,
    pub(super) head: CachePadded<ConsumerLine>,
    pub(super) not_empty: EventCount,
    pub(super) not_full: EventCount,
    pub(super) lost: AtomicU64,
    pub(super) closed: AtomicU64,
    pub(super) end: AtomicU64,
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
    assert!(std::mem::offset_of!(Indices, closed) as u64 == header::CLOSED - header::TAIL);
    assert!(std::mem::offset_of!(Indices, end) as u64 == header::END - header::TAIL);
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
            closed: AtomicU64::new(0),
            end: AtomicU64::new(0),
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
pub(super) fn corrupt(field: &'static str, detail: String) -> Corrupt {
    Corrupt { field, detail }
}

/// Why an operation stopped without its result: an impossible state, or a closed queue (a push
/// after the close, a pop once everything before it was taken; `close.rs`).
#[derive(Debug)]
pub(crate) enum Halt {
    Corrupt(Corrupt),
    Closed,
}

impl From<Corrupt> for Halt {
    fn from(c: Corrupt) -> Self {
        Halt::Corrupt(c)
    }
}

/// Failed attempts a blocking operation spins through before it sleeps: a peer about to make
/// progress is usually quicker than the membarrier and futex round trip of sleeping (a few
/// microseconds at most). None under loom, whose models check the sleeping path.
#[cfg(not(loom))]
pub(super) const SPINS: u32 = 64;
#[cfg(loom)]
pub(super) const SPINS: u32 = 0;

/// What went wrong in a blocking operation.
#[derive(Debug)]
pub(crate) enum Blocked {
    /// The deadline passed.
    Timeout,
    /// The queue's state is impossible.
    Corrupt(Corrupt),
    /// The queue is closed (and, for a pop, drained).
    Closed,
}

impl From<Halt> for Blocked {
    fn from(h: Halt) -> Self {
        match h {
            Halt::Corrupt(c) => Blocked::Corrupt(c),
            Halt::Closed => Blocked::Closed,
        }
    }
}

/// No lane (`TxState::lane`, `RxState::lane`).
pub(crate) const NO_LANE: u32 = u32::MAX;

/// A producer handle's own state: for SPSC its position and its cached copy of `head`; for the
/// multi-producer policies the lane it took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TxState {
    pub(crate) tail: u64,
    pub(crate) cached_head: u64,
    pub(crate) lane: u32,
    /// SPSC: this producer (or a predecessor) closed the queue. The producer is the only one who
    /// closes an SPSC queue, so its own copy is the truth.
    pub(crate) closed: bool,
}

/// A consumer handle's own state: for a single consumer its position and what it found lost
/// when it took the role over; for MPMC the lane it took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RxState {
    pub(crate) head: u64,
    pub(crate) lane: u32,
    pub(crate) lost_on_takeover: u64,
}

impl TxState {
    pub(super) fn with_lane(lane: u32) -> Self {
        TxState { tail: 0, cached_head: 0, lane, closed: false }
    }
}

impl RxState {
    pub(super) fn with_lane(lane: u32) -> Self {
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
    pub(super) idx: NonNull<Indices>,
    pub(super) slots: NonNull<u8>,
    pub(super) cap: u64,
    pub(super) mask: u64,
    pub(super) elem: E,
    /// The segment's lanes.
    pub(super) lanes: LaneTable,
    /// This queue in lane records: the segment offset of its region (a multiple of 128).
    pub(super) id: u64,
}

impl<E: Copy> Clone for Raw<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E: Copy> Copy for Raw<E> {}

/// Failed `try_` operations a thread makes between two looks for a dead peer's stalled slot.
#[cfg(not(loom))]
pub(super) const PATIENCE: u32 = 256;

/// Counts a failed operation of this thread; true every [`PATIENCE`]th time. Loom models call the
/// recovery explicitly instead.
#[inline]
pub(super) fn patience_exhausted() -> bool {
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
    pub(super) fn idx(&self) -> &Indices {
        // SAFETY: valid for our lifetime (constructor contract); `Indices` holds only atomics and
        // event counts, which may alias writers in other processes.
        unsafe { self.idx.as_ref() }
    }

    /// The start of the slot of position `pos` (masked: always in bounds).
    #[inline(always)]
    pub(super) fn slot(&self, pos: u64) -> *mut u8 {
        // SAFETY: `pos & mask < cap`, and the slots span `cap` strides (constructor contract).
        unsafe { self.slots.as_ptr().add((pos & self.mask) as usize * self.elem.slot_stride()) }
    }

    /// The sequence number of the slot of position `pos`.
    #[inline(always)]
    pub(super) fn seq(&self, pos: u64) -> &AtomicU64 {
        // SAFETY: every slot starts with an aligned `u64` sequence number (constructor contract),
        // an atomic that other processes may write while this reference exists.
        unsafe { &*self.slot(pos).cast::<AtomicU64>() }
    }

    /// The element cell of the slot of position `pos`.
    #[inline(always)]
    pub(super) fn value(&self, pos: u64) -> *mut u8 {
        // SAFETY: the element lies inside the slot, at `value_offset` (Element contract).
        unsafe { self.slot(pos).add(self.elem.value_offset()) }
    }

    /// Whole elements in a caller buffer of `len` bytes.
    #[inline(always)]
    pub(super) fn count(&self, len: usize) -> u64 {
        (len / self.elem.size()) as u64
    }

    /// Checks that a single operation's buffer holds an element: a short buffer is a zipc bug
    /// (the typed API passes `T`'s bytes, `zipc::dynamic` checks the length first).
    #[inline(always)]
    pub(super) fn one(&self, len: usize) {
        assert!(len >= self.elem.size(), "zipc bug: a {len}-byte buffer for one {}-byte element", self.elem.size());
    }

    /// The lane `op` word of this queue's operations of `kind` (`lane::op::PUSH` or `POP`).
    #[inline(always)]
    pub(super) fn op(&self, kind: u64) -> u64 {
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
        let (head, tail) = self.positions();
        let d = tail.wrapping_sub(head);
        if (d as i64) < 0 {
            0
        } else {
            d.min(self.cap)
        }
    }

    /// The queue's two positions, `(head, tail)`: how many pops and pushes have been claimed
    /// since creation (from the creation start, wrapping at 2^64). Acquire loads; a snapshot.
    /// (`tail` without the jump a close adds: `close.rs`.)
    pub(crate) fn positions(&self) -> (u64, u64) {
        let head = self.idx().head.0.head.load(Acquire);
        (head, self.claimed_end(head))
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
    pub(super) fn pushed(&self, n: u64, many_consumers: bool) {
        if n > 1 && many_consumers {
            self.idx().not_empty.notify_all_asymmetric();
        } else {
            self.idx().not_empty.notify_one_asymmetric();
        }
    }

    #[inline(always)]
    pub(super) fn popped(&self, n: u64, many_producers: bool) {
        if n > 1 && many_producers {
            self.idx().not_full.notify_all_asymmetric();
        } else {
            self.idx().not_full.notify_one_asymmetric();
        }
    }

    // --- Blocking ---------------------------------------------------------------------------

    /// Retries `attempt` until it pushes, sleeping on `not_full` between attempts. With
    /// `many_consumers`, a dead consumer's stalled slot is looked for every [`RECOVERY_INTERVAL`].
    pub(crate) fn push_blocking(
        &self,
        timeout: Option<Duration>,
        many_consumers: bool,
        attempt: impl FnMut() -> std::result::Result<bool, Halt>,
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
        attempt: impl FnMut() -> std::result::Result<bool, Halt>,
    ) -> std::result::Result<(), Blocked> {
        let stall = || self.check_pop_stall();
        self.retry_blocking(&self.idx().not_empty, timeout, attempt, many_producers.then_some(&stall))
    }

    /// Retries `attempt` until it succeeds: spinning a little, then sleeping on `ec` — at most
    /// [`RECOVERY_INTERVAL`] at a time if `stall` looks for dead peers (they wake nobody).
    pub(super) fn retry_blocking(
        &self,
        ec: &EventCount,
        timeout: Option<Duration>,
        mut attempt: impl FnMut() -> std::result::Result<bool, Halt>,
        stall: Option<&dyn Fn()>,
    ) -> std::result::Result<(), Blocked> {
        let mut spins = SPINS;
        loop {
            match attempt() {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(h) => return Err(h.into()),
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
            Err(h) => Some(Err(h.into())),
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
