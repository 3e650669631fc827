//! [`DynRing`]: a ring of any element type, and its producer and consumer roles.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::Kind;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::ring::{self, ByteSlots, Closed, ConsumerState, Core, ProducerState, RingMode};
use crate::sys::futex::Deadline;
use crate::sys::role;

use super::{one, open_entry, whole, ElementSpec};

/// A [`Ring`](crate::Ring) of any element type, opened by name. This handle observes; claim
/// [`producer`](Self::producer) and [`consumer`](Self::consumer) to move data.
#[derive(Clone)]
pub struct DynRing {
    segment: Segment,
    region: Region,
    core: Core<ByteSlots>,
    size: usize,
}

impl DynRing {
    /// Opens ring `name`, checking that its elements are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, Kind::Ring, &elem)?;
        let size = elem.size;
        let core =
            ring::core_on(&region, desc.capacity, desc.flags, size, |base| ring::byte_slots(base, desc.capacity, size));
        Ok(DynRing { segment: segment.clone(), region, core, size })
    }

    /// The ring's name.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment the ring is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Bytes per element.
    pub fn elem_size(&self) -> usize {
        self.size
    }

    /// Number of slots.
    pub fn capacity(&self) -> u64 {
        self.core.capacity()
    }

    /// Lossless or overwrite.
    pub fn mode(&self) -> RingMode {
        if self.core.is_overwrite() {
            RingMode::Overwrite
        } else {
            RingMode::Lossless
        }
    }

    /// Elements pushed since the ring was created.
    pub fn total_written(&self) -> u64 {
        self.core.total_written()
    }

    /// Elements the consumer has skipped because they were overwritten first.
    pub fn total_missed(&self) -> u64 {
        self.core.missed()
    }

    /// Elements lost because a consumer died in the middle of a pop.
    pub fn total_lost(&self) -> u64 {
        self.core.lost()
    }

    /// Elements the consumer has returned (missed and lost ones excluded), approximately.
    pub fn total_read(&self) -> u64 {
        let skipped = self.core.missed() + self.core.lost();
        self.core.read_pos().saturating_sub(skipped)
    }

    /// Elements written and not yet passed by the consumer, at most the capacity.
    pub fn len(&self) -> u64 {
        let r = self.core.read_pos();
        self.core.total_written().saturating_sub(r).min(self.core.capacity())
    }

    /// Whether the consumer has caught up, approximately.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the newest elements — as many as `dst` holds (whole elements), fewer if fewer were
    /// written — into the front of `dst`, oldest first; returns how many. Every element returned
    /// is intact (see [`Ring::get_last_n`](crate::Ring::get_last_n)).
    pub fn get_last_n(&self, dst: &mut [u8]) -> Result<usize> {
        whole("ring read", self.size, dst.len())?;
        Ok(self.core.last_n(dst))
    }

    /// Whether the producer has closed the ring (see [`RingProducer::close`](crate::RingProducer::close)).
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    fn closed<T>(&self, r: std::result::Result<T, Closed>) -> Result<T> {
        r.map_err(|Closed| Error::Closed { structure: self.name().to_owned() })
    }

    /// Claims the producer role ([`Error::RoleTaken`](crate::Error::RoleTaken) while another handle holds it).
    pub fn producer(&self) -> Result<DynRingProducer> {
        let (state, claim) = ring::claim_producer(&self.region, &self.core)?;
        Ok(DynRingProducer { ring: self.clone(), state, claim })
    }

    /// Claims the consumer role ([`Error::RoleTaken`](crate::Error::RoleTaken) while another handle holds it).
    pub fn consumer(&self) -> Result<DynRingConsumer> {
        let (state, claim) = ring::claim_consumer(&self.region, &self.core)?;
        Ok(DynRingConsumer { ring: self.clone(), state, claim })
    }
}

impl std::fmt::Debug for DynRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynRing")
            .field("name", &self.name())
            .field("elem_size", &self.size)
            .field("capacity", &self.capacity())
            .field("mode", &self.mode())
            .finish()
    }
}

/// The producer of a [`DynRing`]. Releases the role when dropped.
pub struct DynRingProducer {
    ring: DynRing,
    state: ProducerState,
    claim: role::Claim,
}

impl DynRingProducer {
    /// The ring's write position: elements pushed since creation, the index of the next one.
    pub fn position(&self) -> u64 {
        self.ring.core.total_written()
    }

    /// Pushes the element in `src` if there is room (always, in overwrite mode).
    /// [`Error::Closed`] (not pushed) once the ring is closed, as for every push below.
    pub fn try_push(&mut self, src: &[u8]) -> Result<bool> {
        one("push", self.ring.size, src.len())?;
        let r = self.ring.core.try_push(&mut self.state, src);
        self.ring.closed(r).map(|n| n == 1)
    }

    /// Pushes as many of the elements in `src` as there is room for, in one batch; returns how
    /// many (all of them in overwrite mode).
    pub fn try_push_bulk(&mut self, src: &[u8]) -> Result<usize> {
        whole("push", self.ring.size, src.len())?;
        let r = self.ring.core.try_push(&mut self.state, src);
        self.ring.closed(r)
    }

    /// Pushes the element in `src`, waiting at most `timeout` (`None`: forever) for room.
    pub fn push(&mut self, src: &[u8], timeout: Option<Duration>) -> Result<()> {
        self.push_bulk(src, timeout).map(|_| ())
    }

    /// Waits at most `timeout` until at least one element of `src` fits, then pushes as many as
    /// fit; returns how many (0 only for an empty `src`).
    pub fn push_bulk(&mut self, src: &[u8], timeout: Option<Duration>) -> Result<usize> {
        whole("push", self.ring.size, src.len())?;
        let r = self.ring.core.push(&mut self.state, src, Deadline::after(timeout))?;
        self.ring.closed(r)
    }

    /// Closes the ring (idempotent; see [`RingProducer::close`](crate::RingProducer::close)):
    /// pushes fail with [`Error::Closed`] from now on; the consumer receives everything pushed
    /// before, then [`Error::Closed`]. Wakes every sleeper.
    pub fn close_stream(&mut self) {
        self.ring.core.close(&mut self.state);
    }

    /// The ring (for the observer calls).
    pub fn ring(&self) -> &DynRing {
        &self.ring
    }
}

impl Drop for DynRingProducer {
    fn drop(&mut self) {
        self.claim.release(self.ring.region.u64_at(ring::field::PRODUCER));
    }
}

impl std::fmt::Debug for DynRingProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynRingProducer").field("ring", &self.ring).finish()
    }
}

/// The consumer of a [`DynRing`]. Releases the role when dropped.
pub struct DynRingConsumer {
    ring: DynRing,
    state: ConsumerState,
    claim: role::Claim,
}

impl DynRingConsumer {
    /// Pops the oldest available element into `dst` (exactly one element): `Ok(false)` if none.
    /// [`Error::Closed`] once the ring is closed and everything pushed before the close was
    /// passed, as for every pop and peek below.
    pub fn try_pop(&mut self, dst: &mut [u8]) -> Result<bool> {
        one("pop", self.ring.size, dst.len())?;
        let r = self.ring.core.try_pop(&mut self.state, dst, true);
        self.ring.closed(r).map(|n| n == 1)
    }

    /// Pops up to as many elements as `dst` holds, in one batch, into its front; returns how many.
    pub fn try_pop_bulk(&mut self, dst: &mut [u8]) -> Result<usize> {
        whole("pop", self.ring.size, dst.len())?;
        let r = self.ring.core.try_pop(&mut self.state, dst, true);
        self.ring.closed(r)
    }

    /// Pops one element into `dst`, waiting at most `timeout` (`None`: forever).
    pub fn pop(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> Result<()> {
        one("pop", self.ring.size, dst.len())?;
        self.pop_bulk(dst, timeout).map(|_| ())
    }

    /// Waits at most `timeout` until an element is available, then pops up to as many as `dst`
    /// holds; returns how many (0 only for an empty `dst`).
    pub fn pop_bulk(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        whole("pop", self.ring.size, dst.len())?;
        let r = self.ring.core.pop(&mut self.state, dst, Deadline::after(timeout))?;
        self.ring.closed(r)
    }

    /// Copies the element [`try_pop`](Self::try_pop) would return next into `dst` without
    /// consuming it: `Ok(false)` if none.
    pub fn peek(&mut self, dst: &mut [u8]) -> Result<bool> {
        one("peek", self.ring.size, dst.len())?;
        let r = self.ring.core.try_pop(&mut self.state, dst, false);
        self.ring.closed(r).map(|n| n == 1)
    }

    /// Whether the ring is closed and this consumer has passed everything pushed before the
    /// close (see [`RingConsumer::is_finished`](crate::RingConsumer::is_finished)).
    pub fn is_finished(&self) -> bool {
        self.ring.core.finished(&self.state)
    }

    /// Elements skipped so far because they were overwritten first.
    pub fn missed(&self) -> u64 {
        self.state.missed()
    }

    /// Elements popped so far (missed and lost ones excluded).
    pub fn delivered(&self) -> u64 {
        self.state.delivered()
    }

    /// Elements a dead predecessor's pop had in flight when this consumer took the role over.
    pub fn lost_on_takeover(&self) -> u64 {
        self.state.lost_on_takeover()
    }

    /// The ring's read position: elements passed by the consumer role since creation (popped,
    /// missed or lost), the index of the next element [`try_pop`](Self::try_pop) can return.
    /// It lives in the segment, so a successor after a crash starts from it.
    pub fn position(&self) -> u64 {
        self.ring.core.read_pos()
    }

    /// The ring (for the observer calls).
    pub fn ring(&self) -> &DynRing {
        &self.ring
    }
}

impl Drop for DynRingConsumer {
    fn drop(&mut self) {
        self.claim.release(self.ring.region.u64_at(ring::field::CONSUMER));
    }
}

impl std::fmt::Debug for DynRingConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynRingConsumer").field("ring", &self.ring).finish()
    }
}

/// Ready when a [`try_pop`](DynRingConsumer::try_pop) would return an element (as for
/// [`RingConsumer`](crate::RingConsumer)).
#[cfg(not(loom))]
impl crate::sys::wait_set::Readiness for DynRingConsumer {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        crate::sys::wait_set::Source::new(self.ring.clone(), |r| r.core.sleep_point(false), |r| r.core.probe_data())
    }
}

/// Ready when a [`try_push`](DynRingProducer::try_push) would find room (always, in overwrite
/// mode; as for [`RingProducer`](crate::RingProducer)).
#[cfg(not(loom))]
impl crate::sys::wait_set::Readiness for DynRingProducer {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        crate::sys::wait_set::Source::new(self.ring.clone(), |r| r.core.sleep_point(true), |r| r.core.probe_space())
    }
}
