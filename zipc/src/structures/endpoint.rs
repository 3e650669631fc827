//! [`Endpoint<T>`]: a duplex channel between two processes, sides A and B, made of two SPSC
//! [queues](crate::structures::queue) in one table entry (as the Join library's endpoints).
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use zipc::{Endpoint, Segment, Side};
//!
//! // Process A
//! let seg = Segment::create("/rpc", 1 << 20)?;
//! let rpc = Endpoint::<u64>::create(&seg, "rpc", 64)?;
//! let mut a = rpc.side(Side::A)?;
//! a.send(41, None)?;
//!
//! // Process B
//! let seg = Segment::open("/rpc")?;
//! let mut b = Endpoint::<u64>::open(&seg, "rpc")?.side(Side::B)?;
//! let x = b.recv(None)?;
//! b.send(x + 1, None)?;
//!
//! // Process A
//! assert_eq!(a.recv(None)?, 42);
//! # Segment::unlink("/rpc") }
//! ```
//!
//! # Region layout
//!
//! Two queue regions back to back, each exactly an SPSC [`Queue`](crate::Queue) region (header,
//! indices, slots; see `docs/FORMAT.md`) of `capacity` slots:
//!
//! ```text
//! offset  size  field
//! 0       Q     the A → B queue (A produces, B consumes)
//! Q       Q     the B → A queue (B produces, A consumes)
//! ```
//!
//! where `Q` is the size of an SPSC queue region of `capacity` slots of `T`. The endpoint's
//! descriptor has flags 0 and capacity = slots per direction; each queue header says policy spsc.
//!
//! # Sides
//!
//! [`Endpoint::side`] claims a side: the producer role of its outgoing queue and the consumer
//! role of its incoming one, both recorded in the queue headers with this process's identity.
//! While a handle holds a side, claiming it again — from this or any process — fails with
//! [`Error::RoleTaken`]; the side of a process that died is taken over. Side handles send and
//! receive through `&mut self`.

use std::time::Duration;

use crate::error::{Error, Object, Result};
use crate::layout::kinds::endpoint::second_offset;
use crate::layout::{flags, Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::ShmType;
use crate::structures::queue::element::{Element, Typed};
use crate::structures::queue::{self, queue_json, QueueBytes, QueueState, Role, RxState, TxState};
use crate::structures::render::{bar, holder, percent, Json, LiveState};
use crate::structures::{self, Structure};
use zerocopy::IntoBytes;

/// Live state for `inspect`: both queues.
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> EndpointState {
    let second = second_offset(desc.elem_size as u64, desc.capacity);
    let spsc = flags::POLICY_SPSC;
    EndpointState {
        a_to_b: queue::inspect_at(region, 0, desc.capacity, spsc, "A → B queue: ", problems),
        b_to_a: queue::inspect_at(region, second, desc.capacity, spsc, "B → A queue: ", problems),
    }
}

/// One of an endpoint's two sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Sends on the A → B queue, receives on B → A.
    A,
    /// Sends on the B → A queue, receives on A → B.
    B,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Side::A => "side A",
            Side::B => "side B",
        }
    }
}

/// A duplex channel of `T` between two sides, in a segment. See the [module docs](self).
pub struct Endpoint<T: ShmType> {
    a_to_b: QueueBytes<Typed<T>>,
    b_to_a: QueueBytes<Typed<T>>,
}

impl<T: ShmType> Clone for Endpoint<T> {
    fn clone(&self) -> Self {
        Endpoint { a_to_b: self.a_to_b.clone(), b_to_a: self.b_to_a.clone() }
    }
}

impl<T: ShmType> Endpoint<T> {
    /// Creates endpoint `name` with `capacity` slots per direction (a power of two from 2 to 2^32).
    pub fn create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        Self::create_in(segment, &StructureLayout { capacity, ..Self::declaration(name) })
    }

    /// Opens endpoint `name` whatever its capacity, checking its element layout.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let (region, desc) = segment.lookup(&Self::declaration(name), false)?;
        Ok(Self::from_region(segment, region, desc.capacity))
    }

    /// Opens endpoint `name`, or creates it with `capacity` slots per direction. An existing
    /// endpoint must have exactly `capacity`.
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

    fn queues(segment: &Segment, region: &Region, capacity: u64) -> (QueueBytes<Typed<T>>, QueueBytes<Typed<T>>) {
        queues(segment, region, capacity, Typed::new())
    }

    fn from_region(segment: &Segment, region: Region, capacity: u64) -> Self {
        let (a_to_b, b_to_a) = Self::queues(segment, &region, capacity);
        Endpoint { a_to_b, b_to_a }
    }

    /// Claims `side` until the returned handle is dropped. Fails with [`Error::RoleTaken`] while
    /// another handle, in this or another live process, holds it.
    pub fn side(&self, side: Side) -> Result<EndpointSide<T>> {
        Ok(EndpointSide { claim: SideClaim::claim(&self.a_to_b, &self.b_to_a, side)? })
    }

    /// The endpoint's name in the segment.
    pub fn name(&self) -> &str {
        self.a_to_b.name()
    }

    /// The segment this endpoint is in.
    pub fn segment(&self) -> &Segment {
        self.a_to_b.segment()
    }

    /// Slots per direction.
    pub fn capacity(&self) -> usize {
        self.a_to_b.raw().capacity() as usize
    }

    /// Messages waiting to be received by `side`, approximately.
    pub fn pending(&self, side: Side) -> usize {
        match side {
            Side::A => self.b_to_a.raw().len() as usize,
            Side::B => self.a_to_b.raw().len() as usize,
        }
    }

    /// Whether a process is sleeping in `side`'s blocking receive (approximate; for tests).
    pub fn is_receiving(&self, side: Side) -> bool {
        match side {
            Side::A => self.b_to_a.raw().waiting_consumers() > 0,
            Side::B => self.a_to_b.raw().waiting_consumers() > 0,
        }
    }
}

#[diagnostic::do_not_recommend]
impl<T: ShmType> Structure for Endpoint<T> {
    const KIND: Kind = Kind::Endpoint;
    const ELEM: Option<TypeLayout<'static>> = Some(T::SHM_LAYOUT);
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let capacity = decl.capacity;
        let region = segment.allocate(decl, |r| {
            let (a_to_b, b_to_a) = Self::queues(segment, r, capacity);
            a_to_b.init(flags::POLICY_SPSC, 0);
            b_to_a.init(flags::POLICY_SPSC, 0);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, capacity))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Ok(Self::from_region(segment, region, desc.capacity))
    }
}

impl<T: ShmType> std::fmt::Debug for Endpoint<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("segment", &self.segment().name())
            .field("name", &self.name())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// One claimed side of an [`Endpoint`]: sends to the other side and receives from it. Releases
/// the side when dropped.
pub struct EndpointSide<T: ShmType> {
    claim: SideClaim<Typed<T>>,
}

impl<T: ShmType> EndpointSide<T> {
    /// Which side this is.
    pub fn side(&self) -> Side {
        self.claim.side
    }

    /// Sends `value` if the outgoing queue has room: `Ok(true)` if sent, `Ok(false)` if full.
    #[inline]
    pub fn try_send(&mut self, value: T) -> Result<bool> {
        let c = &mut self.claim;
        c.tx.try_push(flags::POLICY_SPSC, &mut c.txs, value.as_bytes())
    }

    /// Sends `value`, waiting while the outgoing queue is full: at most `timeout` (`None`:
    /// forever), then [`Error::Timeout`] (nothing sent).
    pub fn send(&mut self, value: T, timeout: Option<Duration>) -> Result<()> {
        let c = &mut self.claim;
        c.tx.push(flags::POLICY_SPSC, &mut c.txs, value.as_bytes(), timeout)
    }

    /// Sends as many of `src` as fit, in order, publishing them at once; returns how many.
    pub fn send_bulk(&mut self, src: &[T]) -> Result<usize> {
        let c = &mut self.claim;
        c.tx.push_bulk(flags::POLICY_SPSC, &mut c.txs, src.as_bytes())
    }

    /// Receives the oldest message from the other side, or `Ok(None)` if there is none.
    #[inline]
    pub fn try_recv(&mut self) -> Result<Option<T>> {
        let c = &mut self.claim;
        let mut v = T::new_zeroed();
        Ok(c.rx.try_pop(flags::POLICY_SPSC, &mut c.rxs, v.as_mut_bytes())?.then_some(v))
    }

    /// Receives the oldest message, waiting while there is none: at most `timeout` (`None`:
    /// forever), then [`Error::Timeout`].
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<T> {
        let c = &mut self.claim;
        let mut v = T::new_zeroed();
        c.rx.pop(flags::POLICY_SPSC, &mut c.rxs, v.as_mut_bytes(), timeout)?;
        Ok(v)
    }

    /// Receives up to `dst.len()` messages into `dst`; returns how many.
    pub fn recv_bulk(&mut self, dst: &mut [T]) -> Result<usize> {
        let c = &mut self.claim;
        c.rx.pop_bulk(flags::POLICY_SPSC, &mut c.rxs, dst.as_mut_bytes())
    }

    /// Messages waiting to be received, approximately.
    pub fn pending(&self) -> usize {
        self.claim.rx.raw().len() as usize
    }

    /// Slots per direction.
    pub fn capacity(&self) -> usize {
        self.claim.tx.raw().capacity() as usize
    }
}

/// The two queues of an endpoint at `region`, with `capacity` slots of `elem` each.
pub(crate) fn queues<E: Element>(
    segment: &Segment,
    region: &Region,
    capacity: u64,
    elem: E,
) -> (QueueBytes<E>, QueueBytes<E>) {
    let second = second_offset(elem.size() as u64, capacity);
    (
        QueueBytes::new(segment, region.clone(), 0, capacity, flags::POLICY_SPSC, elem),
        QueueBytes::new(segment, region.clone(), second, capacity, flags::POLICY_SPSC, elem),
    )
}

/// A claimed side: its outgoing queue's producer role and its incoming queue's consumer role,
/// with both states. Releases both roles when dropped. (Shared by [`EndpointSide`] and
/// `zipc::dynamic`.)
pub(crate) struct SideClaim<E: Element> {
    pub(crate) side: Side,
    pub(crate) tx: QueueBytes<E>,
    pub(crate) rx: QueueBytes<E>,
    pub(crate) txs: TxState,
    pub(crate) rxs: RxState,
}

impl<E: Element> SideClaim<E> {
    /// Claims `side` of the endpoint whose queues are `a_to_b` and `b_to_a`.
    pub(crate) fn claim(a_to_b: &QueueBytes<E>, b_to_a: &QueueBytes<E>, side: Side) -> Result<Self> {
        let (tx, rx) = match side {
            Side::A => (a_to_b.clone(), b_to_a.clone()),
            Side::B => (b_to_a.clone(), a_to_b.clone()),
        };
        tx.claim(Role::Producer, side.label())?;
        if let Err(e) = rx.claim(Role::Consumer, side.label()) {
            tx.release(Role::Producer);
            return Err(e);
        }
        let states = tx.raw().spsc_tx().map_err(|c| tx.corrupt(c)).and_then(|t| {
            let (r, _) = rx.raw().spsc_rx().map_err(|c| rx.corrupt(c))?;
            Ok((t, r))
        });
        match states {
            Ok((txs, rxs)) => Ok(SideClaim { side, tx, rx, txs, rxs }),
            Err(e) => {
                tx.release(Role::Producer);
                rx.release(Role::Consumer);
                Err(e)
            }
        }
    }
}

impl<E: Element> Drop for SideClaim<E> {
    fn drop(&mut self) {
        self.tx.release(Role::Producer);
        self.rx.release(Role::Consumer);
    }
}

impl<T: ShmType> std::fmt::Debug for EndpointSide<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointSide").field("endpoint", &self.claim.tx.name()).field("side", &self.claim.side).finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

/// An endpoint: its two queues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointState {
    /// Side A sends here, side B receives.
    pub a_to_b: QueueState,
    /// Side B sends here, side A receives.
    pub b_to_a: QueueState,
}

impl LiveState for EndpointState {
    fn report(&self, out: &mut Vec<String>) {
        let ep = self;
        let (ab, ba) = (&ep.a_to_b, &ep.b_to_a);
        for (q, label) in [(ab, "A → B"), (ba, "B → A")] {
            out.push(format!(
                "{label} {} {}/{} ({})",
                bar(q.len, q.capacity),
                q.len,
                q.capacity,
                percent(q.len, q.capacity)
            ));
        }
        // A side holds its outgoing queue's producer role and its incoming one's consumer role.
        out.push(format!(
            "side A {}; side B {}",
            holder(&ab.producer.or(ba.consumer)),
            holder(&ba.producer.or(ab.consumer))
        ));
    }

    fn json(&self) -> Json {
        let ep = self;
        Json::O(vec![("a_to_b", queue_json(&ep.a_to_b)), ("b_to_a", queue_json(&ep.b_to_a))])
    }
}
