//! [`QueueBytes`]: one queue in a segment — the shared plumbing of [`Queue`], its role handles,
//! [`Endpoint`](crate::Endpoint)'s two directions and the byte-level API: claiming roles, taking
//! lanes, turning the algorithms' outcomes into [`Error`]s, blocking.

use super::raw::*;
use super::*;

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
    pub(super) segment: Segment,
    pub(super) region: Region,
    pub(super) base: u64,
    pub(super) raw: Raw<E>,
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

    /// The error for an operation that stopped.
    #[cold]
    pub(crate) fn halt(&self, h: Halt) -> Error {
        match h {
            Halt::Corrupt(c) => self.corrupt(c),
            Halt::Closed => self.closed(),
        }
    }

    /// The error for a push after the close, or a pop once the queue is closed and drained.
    #[cold]
    pub(crate) fn closed(&self) -> Error {
        Error::Closed { structure: self.name().to_owned() }
    }

    /// The error for a failed blocking operation.
    #[cold]
    pub(crate) fn blocked(&self, b: Blocked) -> Error {
        match b {
            Blocked::Timeout => Error::Timeout,
            Blocked::Corrupt(c) => self.corrupt(c),
            Blocked::Closed => self.closed(),
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
        r.map_err(|h| self.halt(h))
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
        r.map_err(|h| self.halt(h))
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
        r.map_err(|h| self.halt(h))
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
        r.map_err(|h| self.halt(h))
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
        self.raw.mp_try_push(lane, src, many_consumers).map_err(|h| self.halt(h))
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
        self.raw.mp_push_bulk(lane, src, many_consumers).map_err(|h| self.halt(h))
    }

    /// `try_pop` on the shared handle (MPMC).
    #[inline(always)]
    pub(crate) fn shared_try_pop(&self, dst: &mut [u8]) -> Result<bool> {
        let lane = self.thread_lane()?;
        self.raw.mc_try_pop(lane, dst).map_err(|h| self.halt(h))
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
        self.raw.mc_pop_bulk(lane, dst).map_err(|h| self.halt(h))
    }

    /// Closes the queue ([`Queue::close`]): a multi-producer queue directly; an SPSC queue through
    /// its producer role, taken for the call — [`Error::RoleTaken`] while a live producer holds
    /// it (close through that producer: [`Producer::close`]).
    pub(crate) fn close(&self, policy: u32) -> Result<()> {
        if policy != flags::POLICY_SPSC {
            self.raw.mp_close();
            return Ok(());
        }
        if self.raw.is_closed(false) {
            return Ok(()); // closed already: nothing to take the role for
        }
        let (mut tx, claimed) = self.open_producer(policy)?;
        self.raw.spsc_close(&mut tx);
        self.close_producer(&tx, claimed);
        Ok(())
    }

    /// Closes the queue through a producer of `policy` whose state is `tx` ([`Producer::close`]).
    pub(crate) fn close_as_producer(&self, policy: u32, tx: &mut TxState) {
        if policy == flags::POLICY_SPSC {
            self.raw.spsc_close(tx);
        } else {
            self.raw.mp_close();
        }
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
