//! [`DynQueue`]: a queue of any element type and policy, and its producer and consumer roles.

use std::time::Duration;

use crate::error::Result;
use crate::layout::Kind;
use crate::segment::Segment;
use crate::structures::queue::element::{Bytes, Element};
use crate::structures::queue::{self, QueueBytes, RxState, TxState};

use super::{one, open_entry, whole, ElementSpec};

/// A [`Queue`](crate::Queue) of any element type and policy, opened by name. Pushing and popping
/// go through [`producer`](Self::producer) and [`consumer`](Self::consumer), which claim the
/// roles a single-producer or single-consumer policy has (and nothing for the others).
#[derive(Clone)]
pub struct DynQueue {
    bytes: QueueBytes<Bytes>,
    policy: u32,
}

impl DynQueue {
    /// Opens queue `name`, checking that its elements are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, Kind::Queue, &elem)?;
        let bytes = QueueBytes::new(segment, region, 0, desc.capacity, desc.flags, Bytes::new(elem.size));
        Ok(DynQueue { bytes, policy: desc.flags })
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        self.bytes.name()
    }

    /// The policy: `"spsc"`, `"mpsc"` or `"mpmc"`.
    pub fn policy(&self) -> &'static str {
        policy_label(self.policy)
    }

    /// Bytes per element.
    pub fn elem_size(&self) -> usize {
        self.bytes.raw().elem().size()
    }

    /// Number of slots.
    pub fn capacity(&self) -> u64 {
        self.bytes.raw().capacity()
    }

    /// The queue's read and write positions, `(head, tail)`: how many pops and pushes have
    /// been claimed since the queue was created, wrapping at 2^64. `tail - head` is the fill.
    /// A process that is a queue's only consumer (or only producer) can use its position as
    /// the index of the next element it pops (pushes): the index survives a crash of the
    /// handle's process, since it lives in the segment. A claim whose process died before it
    /// completed is counted in [`lost`](Self::lost).
    pub fn positions(&self) -> (u64, u64) {
        self.bytes.raw().positions()
    }

    /// Number of elements, approximately (see [`Queue::len`](crate::Queue::len)).
    pub fn len(&self) -> u64 {
        self.bytes.raw().len()
    }

    /// Whether the queue is empty, approximately.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages lost to processes that died mid-operation ([`Queue::lost`](crate::Queue::lost)).
    pub fn lost(&self) -> u64 {
        self.bytes.raw().lost()
    }

    /// Settles every operation on this queue that a dead process left half-done; returns the
    /// losses found ([`Queue::recover`](crate::Queue::recover)).
    pub fn recover(&self) -> u64 {
        self.bytes.recover()
    }

    /// Closes the queue ([`Queue::close`](crate::Queue::close)): pushes fail with
    /// [`Error::Closed`](crate::Error::Closed), pops drain what is left and then fail with it.
    /// An spsc queue is closed through its producer role, taken for the call
    /// ([`Error::RoleTaken`](crate::Error::RoleTaken) while a live producer holds it: close
    /// through [`DynProducer::close`]).
    pub fn close(&self) -> Result<()> {
        self.bytes.close(self.policy)
    }

    /// Whether the queue is closed.
    pub fn is_closed(&self) -> bool {
        self.bytes.raw().is_closed(self.policy != crate::layout::flags::POLICY_SPSC)
    }

    /// A producer: for an spsc queue it claims the producer role until dropped
    /// ([`Error::RoleTaken`](crate::Error::RoleTaken) while another handle holds it).
    pub fn producer(&self) -> Result<DynProducer> {
        let (tx, claimed) = self.bytes.open_producer(self.policy)?;
        Ok(DynProducer { bytes: self.bytes.clone(), policy: self.policy, tx, claimed })
    }

    /// A consumer: for spsc and mpsc queues it claims the consumer role until dropped.
    pub fn consumer(&self) -> Result<DynConsumer> {
        let (rx, claimed) = self.bytes.open_consumer(self.policy)?;
        Ok(DynConsumer { bytes: self.bytes.clone(), policy: self.policy, rx, claimed })
    }
}

impl std::fmt::Debug for DynQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynQueue")
            .field("name", &self.name())
            .field("policy", &self.policy())
            .field("elem_size", &self.elem_size())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// The pushing end of a [`DynQueue`]. Operations take `&mut self`: one thread at a time.
pub struct DynProducer {
    bytes: QueueBytes<Bytes>,
    policy: u32,
    tx: TxState,
    claimed: bool,
}

impl DynProducer {
    fn size(&self) -> usize {
        self.bytes.raw().elem().size()
    }

    /// Pushes the element in `src` (exactly one element) if there is room: `Ok(false)` if full.
    pub fn try_push(&mut self, src: &[u8]) -> Result<bool> {
        one("push", self.size(), src.len())?;
        self.bytes.try_push(self.policy, &mut self.tx, src)
    }

    /// Pushes the element in `src`, waiting while the queue is full: at most `timeout` (`None`:
    /// forever), then [`Error::Timeout`](crate::Error::Timeout).
    pub fn push(&mut self, src: &[u8], timeout: Option<Duration>) -> Result<()> {
        one("push", self.size(), src.len())?;
        self.bytes.push(self.policy, &mut self.tx, src, timeout)
    }

    /// Pushes as many of the elements in `src` (whole elements) as there is room for, in order;
    /// returns how many. Does not wait.
    pub fn push_bulk(&mut self, src: &[u8]) -> Result<usize> {
        whole("push", self.size(), src.len())?;
        self.bytes.push_bulk(self.policy, &mut self.tx, src)
    }

    /// Number of slots.
    pub fn capacity(&self) -> u64 {
        self.bytes.raw().capacity()
    }

    /// Bytes per element.
    pub fn elem_size(&self) -> usize {
        self.size()
    }

    /// The queue's write position: pushes claimed since creation, wrapping at 2^64 (see
    /// [`DynQueue::positions`]).
    pub fn position(&self) -> u64 {
        self.bytes.raw().positions().1
    }

    /// Closes the queue, for any policy ([`Producer::close`](crate::Producer::close)).
    pub fn close(&mut self) {
        self.bytes.close_as_producer(self.policy, &mut self.tx)
    }

    /// Whether the queue is closed.
    pub fn is_closed(&self) -> bool {
        self.tx.closed || self.bytes.raw().is_closed(self.policy != crate::layout::flags::POLICY_SPSC)
    }
}

impl Drop for DynProducer {
    fn drop(&mut self) {
        self.bytes.close_producer(&self.tx, self.claimed);
    }
}

impl std::fmt::Debug for DynProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynProducer")
            .field("queue", &self.bytes.name())
            .field("policy", &policy_label(self.policy))
            .finish()
    }
}

/// The popping end of a [`DynQueue`]. Operations take `&mut self`: one thread at a time.
pub struct DynConsumer {
    bytes: QueueBytes<Bytes>,
    policy: u32,
    rx: RxState,
    claimed: bool,
}

impl DynConsumer {
    fn size(&self) -> usize {
        self.bytes.raw().elem().size()
    }

    /// Pops the oldest element into `dst` (exactly one element): `Ok(false)` if the queue is
    /// empty.
    pub fn try_pop(&mut self, dst: &mut [u8]) -> Result<bool> {
        one("pop", self.size(), dst.len())?;
        self.bytes.try_pop(self.policy, &mut self.rx, dst)
    }

    /// Pops the oldest element into `dst`, waiting while the queue is empty: at most `timeout`
    /// (`None`: forever), then [`Error::Timeout`](crate::Error::Timeout).
    pub fn pop(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> Result<()> {
        one("pop", self.size(), dst.len())?;
        self.bytes.pop(self.policy, &mut self.rx, dst, timeout)
    }

    /// Pops up to as many elements as `dst` holds (whole elements) into its front; returns how
    /// many. Does not wait.
    pub fn pop_bulk(&mut self, dst: &mut [u8]) -> Result<usize> {
        whole("pop", self.size(), dst.len())?;
        self.bytes.pop_bulk(self.policy, &mut self.rx, dst)
    }

    /// Number of elements, approximately.
    pub fn len(&self) -> u64 {
        self.bytes.raw().len()
    }

    /// Whether the queue is empty, approximately.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per element.
    pub fn elem_size(&self) -> usize {
        self.size()
    }

    /// The queue's read position: pops claimed since creation, wrapping at 2^64 (see
    /// [`DynQueue::positions`]).
    pub fn position(&self) -> u64 {
        self.bytes.raw().positions().0
    }

    /// Elements a dead predecessor's pop had in flight when this consumer took the role over
    /// ([`Consumer::lost_on_takeover`](crate::Consumer::lost_on_takeover)).
    pub fn lost_on_takeover(&self) -> u64 {
        self.rx.lost_on_takeover
    }

    /// Whether the queue is closed (pops still drain what was pushed before the close).
    pub fn is_closed(&self) -> bool {
        self.bytes.raw().is_closed(self.policy != crate::layout::flags::POLICY_SPSC)
    }
}

impl Drop for DynConsumer {
    fn drop(&mut self) {
        self.bytes.close_consumer(&self.rx, self.claimed);
    }
}

impl std::fmt::Debug for DynConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynConsumer")
            .field("queue", &self.bytes.name())
            .field("policy", &policy_label(self.policy))
            .finish()
    }
}

/// The name of a queue policy's flags.
fn policy_label(policy: u32) -> &'static str {
    queue::policy_name(policy).unwrap_or("unknown")
}

/// Ready when a [`try_pop`](DynConsumer::try_pop) would find an element (as for
/// [`Consumer`](crate::Consumer)).
#[cfg(not(loom))]
impl crate::sys::wait_set::Readiness for DynConsumer {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        self.bytes.data_source(self.policy)
    }
}

/// Ready when a [`try_push`](DynProducer::try_push) would find room (as for
/// [`Producer`](crate::Producer)).
#[cfg(not(loom))]
impl crate::sys::wait_set::Readiness for DynProducer {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        self.bytes.space_source(self.policy)
    }
}
