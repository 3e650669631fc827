//! Byte-level handles: the structures of a segment opened by name, with elements passed as bytes
//! whose size (and, if the caller knows it, canonical layout) is checked against the segment.
//!
//! These run the very algorithms of the typed API — the same queue, ring and pool code, with the
//! element size as a run-time value instead of a type (`element.rs`) — so a process that knows
//! its element types only at run time, or is not written in Rust, is a full peer: the C ABI
//! (`zipc::ffi`, built as `libzipc`) and through it the generated C and Python code are thin
//! layers over this module. Rust code that knows its types should use the typed handles
//! ([`Queue`](crate::Queue), [`Ring`](crate::Ring), ...): same speed for their single-element
//! operations (an element is one typed copy instead of a `memcpy`), plus compile-time types.
//!
//! Opening checks the kind, the element size and — when [`ElementSpec::layout`] is given — the
//! fingerprint of the element's canonical layout string (FORMAT.md), with the same errors as
//! the typed API. Every operation checks the length of the buffers it is given: a single-element
//! operation wants exactly one element, a bulk operation whole elements.
//!
//! Sync primitives ([`Semaphore`](crate::Semaphore), [`Barrier`](crate::Barrier),
//! [`Latch`](crate::Latch), [`Mutex`](crate::Mutex), [`Event`](crate::Event)) have no element
//! type and are used as they are; [`DynAtomic`] opens an atomic whatever its value type.
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use zipc::dynamic::{DynQueue, ElementSpec};
//! use zipc::Segment;
//!
//! let seg = Segment::open("/telemetry")?;
//! // 48-byte readings; with the layout string the fingerprint is checked too.
//! let spec = ElementSpec::with_layout(48, "{ts:u64@0,vals:[f32;8]@8,id:u32@40,flags:u32@44}#48");
//! let readings = DynQueue::open(&seg, "readings", spec)?;
//! let mut rx = readings.consumer()?;
//! let mut buf = [0u8; 48];
//! if rx.try_pop(&mut buf)? {
//!     println!("got {:?}", &buf[..8]);
//! }
//! # Ok(()) }
//! ```

use std::ptr::NonNull;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::{self, flags, Kind, Primitive};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::atomic::AtomicValue;
use crate::structures::endpoint::{self, SideClaim};
use crate::structures::pool::{self, Handle, Objects, PoolCore};
use crate::structures::queue::element::{Bytes, Element};
use crate::structures::queue::{self, QueueBytes, RxState, TxState};
use crate::structures::ring::{self, ByteSlots, ConsumerState, Core, ProducerState, RingMode};
use crate::sys::futex::Deadline;
use crate::sys::role;
use crate::{Atomic, Side};

// ---------------------------------------------------------------------------------------------
// Element specifications and declarations
// ---------------------------------------------------------------------------------------------

/// What a caller knows about the elements it passes: their size, and optionally their canonical
/// layout string (FORMAT.md, "Canonical layout string"), whose fingerprint must then equal the
/// segment's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElementSpec<'a> {
    /// Bytes per element.
    pub size: usize,
    /// The canonical layout string, e.g. `{ts:u64@0,v:f32@8}#16`.
    pub layout: Option<&'a str>,
}

impl<'a> ElementSpec<'a> {
    /// Elements of `size` bytes; the layout is not checked.
    pub const fn new(size: usize) -> Self {
        ElementSpec { size, layout: None }
    }

    /// Elements of `size` bytes with canonical layout `layout`.
    pub const fn with_layout(size: usize, layout: &'a str) -> Self {
        ElementSpec { size, layout: Some(layout) }
    }

    /// Checks this spec against a structure's descriptor.
    fn check(&self, name: &str, desc: &Descriptor) -> Result<()> {
        if self.size == 0 {
            return Err(Error::invalid(format!("element size for {name:?}"), "elements have at least one byte"));
        }
        let found = || desc.canonical.clone().unwrap_or_default();
        if let Some(layout) = self.layout {
            if layout::fnv1a64(layout.as_bytes()) != desc.fingerprint {
                return Err(Error::LayoutMismatch {
                    structure: name.to_owned(),
                    expected: layout.to_owned(),
                    found: found(),
                });
            }
        }
        if desc.elem_size as usize != self.size {
            return Err(Error::LayoutMismatch {
                structure: name.to_owned(),
                expected: format!("{}-byte elements", self.size),
                found: format!("{}-byte elements {}", desc.elem_size, found()),
            });
        }
        Ok(())
    }
}

/// A structure as a declaration describes it, for [`check`]: what generated C and Python code
/// compare a segment with (their schema's structures).
#[derive(Clone, Copy, Debug)]
pub struct Declaration<'a> {
    /// The structure's name.
    pub name: &'a str,
    /// Its kind.
    pub kind: Kind,
    /// Its element, for kinds that have one.
    pub elem: Option<ElementSpec<'a>>,
    /// The capacity (see [`layout::StructureLayout`]).
    pub capacity: u64,
    /// Kind-specific flags.
    pub flags: u32,
    /// Kind-specific maximum.
    pub maximum: i64,
}

/// Checks that structure `decl.name` is what `decl` declares: kind, element (size and layout
/// fingerprint), capacity, flags and maximum, in that order, with the errors the typed API gives
/// for the same differences. Returns the segment's descriptor.
pub fn check(segment: &Segment, decl: &Declaration<'_>) -> Result<Descriptor> {
    let desc = descriptor(segment, decl.name, decl.kind)?;
    let name = decl.name.to_owned();
    match (&decl.elem, desc.elem_size) {
        (Some(spec), _) => spec.check(decl.name, &desc)?,
        (None, 0) => {}
        (None, _) => return Err(Error::invalid(format!("declaration of {name:?}"), "it declares no element type")),
    }
    if desc.capacity != decl.capacity {
        return Err(Error::CapacityMismatch { structure: name, expected: decl.capacity, found: desc.capacity });
    }
    if desc.flags != decl.flags {
        let (parameter, expected) = decl.kind.describe_flags(decl.flags);
        let (_, found) = decl.kind.describe_flags(desc.flags);
        return Err(Error::ParameterMismatch { structure: name, parameter, expected, found });
    }
    if desc.maximum != decl.maximum {
        return Err(Error::ParameterMismatch {
            structure: name,
            parameter: "maximum",
            expected: decl.maximum.to_string(),
            found: desc.maximum.to_string(),
        });
    }
    Ok(desc)
}

/// The descriptor of structure `name`, which must be a `kind`.
fn descriptor(segment: &Segment, name: &str, kind: Kind) -> Result<Descriptor> {
    let found = segment.locate(name)?;
    match found.descriptor {
        Some(desc) if desc.kind == kind => Ok(desc),
        other => Err(Error::KindMismatch { structure: name.to_owned(), expected: kind, found: other.map(|d| d.kind) }),
    }
}

/// Finds structure `name`, checks that it is a `kind` holding elements as `spec` says, and
/// returns its region and descriptor.
fn open_entry(segment: &Segment, name: &str, kind: Kind, spec: &ElementSpec<'_>) -> Result<(Region, Descriptor)> {
    let found = segment.locate(name)?;
    let desc = match found.descriptor {
        Some(desc) if desc.kind == kind => desc,
        other => {
            return Err(Error::KindMismatch {
                structure: name.to_owned(),
                expected: kind,
                found: other.map(|d| d.kind),
            })
        }
    };
    spec.check(name, &desc)?;
    Ok((found.region, desc))
}

/// Checks that `buf` holds exactly one element of `size` bytes.
fn one(what: &str, size: usize, len: usize) -> Result<()> {
    if len == size {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("{what} buffer"),
            format!("{len} bytes were passed for one {size}-byte element: pass exactly one element"),
        ))
    }
}

/// Checks that `buf` holds whole elements of `size` bytes.
fn whole(what: &str, size: usize, len: usize) -> Result<()> {
    if len % size == 0 {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("{what} buffer"),
            format!("{len} bytes are not a whole number of {size}-byte elements"),
        ))
    }
}

/// The name of a queue policy's flags.
fn policy_label(policy: u32) -> &'static str {
    queue::policy_name(policy).unwrap_or("unknown")
}

// ---------------------------------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------------------------------

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

    /// A producer: for an spsc queue it claims the producer role until dropped
    /// ([`Error::RoleTaken`] while another handle holds it).
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
    /// forever), then [`Error::Timeout`].
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
    /// (`None`: forever), then [`Error::Timeout`].
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

    /// Elements a dead predecessor's pop had in flight when this consumer took the role over
    /// ([`Consumer::lost_on_takeover`](crate::Consumer::lost_on_takeover)).
    pub fn lost_on_takeover(&self) -> u64 {
        self.rx.lost_on_takeover
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

// ---------------------------------------------------------------------------------------------
// Endpoint
// ---------------------------------------------------------------------------------------------

/// An [`Endpoint`](crate::Endpoint) of any element type, opened by name.
#[derive(Clone)]
pub struct DynEndpoint {
    a_to_b: QueueBytes<Bytes>,
    b_to_a: QueueBytes<Bytes>,
}

impl DynEndpoint {
    /// Opens endpoint `name`, checking that its elements are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, Kind::Endpoint, &elem)?;
        let (a_to_b, b_to_a) = endpoint::queues(segment, &region, desc.capacity, Bytes::new(elem.size));
        Ok(DynEndpoint { a_to_b, b_to_a })
    }

    /// Claims `side` until the returned handle is dropped ([`Error::RoleTaken`] while another
    /// handle holds it).
    pub fn side(&self, side: Side) -> Result<DynEndpointSide> {
        Ok(DynEndpointSide { claim: SideClaim::claim(&self.a_to_b, &self.b_to_a, side)? })
    }

    /// The endpoint's name.
    pub fn name(&self) -> &str {
        self.a_to_b.name()
    }

    /// Slots per direction.
    pub fn capacity(&self) -> u64 {
        self.a_to_b.raw().capacity()
    }

    /// Bytes per element.
    pub fn elem_size(&self) -> usize {
        self.a_to_b.raw().elem().size()
    }
}

impl std::fmt::Debug for DynEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynEndpoint").field("name", &self.name()).field("capacity", &self.capacity()).finish()
    }
}

/// One claimed side of a [`DynEndpoint`]. Releases the side when dropped.
pub struct DynEndpointSide {
    claim: SideClaim<Bytes>,
}

impl DynEndpointSide {
    fn size(&self) -> usize {
        self.claim.tx.raw().elem().size()
    }

    /// Which side this is.
    pub fn side(&self) -> Side {
        self.claim.side
    }

    /// Bytes per element.
    pub fn elem_size(&self) -> usize {
        self.size()
    }

    /// Sends the element in `src` if the outgoing queue has room: `Ok(false)` if full.
    pub fn try_send(&mut self, src: &[u8]) -> Result<bool> {
        one("send", self.size(), src.len())?;
        let c = &mut self.claim;
        c.tx.try_push(flags::POLICY_SPSC, &mut c.txs, src)
    }

    /// Sends the element in `src`, waiting at most `timeout` for room.
    pub fn send(&mut self, src: &[u8], timeout: Option<Duration>) -> Result<()> {
        one("send", self.size(), src.len())?;
        let c = &mut self.claim;
        c.tx.push(flags::POLICY_SPSC, &mut c.txs, src, timeout)
    }

    /// Sends as many of the elements in `src` as fit; returns how many.
    pub fn send_bulk(&mut self, src: &[u8]) -> Result<usize> {
        whole("send", self.size(), src.len())?;
        let c = &mut self.claim;
        c.tx.push_bulk(flags::POLICY_SPSC, &mut c.txs, src)
    }

    /// Receives the oldest message into `dst`: `Ok(false)` if there is none.
    pub fn try_recv(&mut self, dst: &mut [u8]) -> Result<bool> {
        one("receive", self.size(), dst.len())?;
        let c = &mut self.claim;
        c.rx.try_pop(flags::POLICY_SPSC, &mut c.rxs, dst)
    }

    /// Receives the oldest message into `dst`, waiting at most `timeout` for one.
    pub fn recv(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> Result<()> {
        one("receive", self.size(), dst.len())?;
        let c = &mut self.claim;
        c.rx.pop(flags::POLICY_SPSC, &mut c.rxs, dst, timeout)
    }

    /// Receives up to as many messages as `dst` holds; returns how many.
    pub fn recv_bulk(&mut self, dst: &mut [u8]) -> Result<usize> {
        whole("receive", self.size(), dst.len())?;
        let c = &mut self.claim;
        c.rx.pop_bulk(flags::POLICY_SPSC, &mut c.rxs, dst)
    }

    /// Messages waiting to be received, approximately.
    pub fn pending(&self) -> u64 {
        self.claim.rx.raw().len()
    }
}

impl std::fmt::Debug for DynEndpointSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynEndpointSide")
            .field("endpoint", &self.claim.tx.name())
            .field("side", &self.claim.side)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Ring
// ---------------------------------------------------------------------------------------------

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

    /// Claims the producer role ([`Error::RoleTaken`] while another handle holds it).
    pub fn producer(&self) -> Result<DynRingProducer> {
        let (state, claim) = ring::claim_producer(&self.region, &self.core)?;
        Ok(DynRingProducer { ring: self.clone(), state, claim })
    }

    /// Claims the consumer role ([`Error::RoleTaken`] while another handle holds it).
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
    /// Pushes the element in `src` if there is room (always, in overwrite mode).
    pub fn try_push(&mut self, src: &[u8]) -> Result<bool> {
        one("push", self.ring.size, src.len())?;
        Ok(self.ring.core.try_push(&mut self.state, src) == 1)
    }

    /// Pushes as many of the elements in `src` as there is room for, in one batch; returns how
    /// many (all of them in overwrite mode).
    pub fn try_push_bulk(&mut self, src: &[u8]) -> Result<usize> {
        whole("push", self.ring.size, src.len())?;
        Ok(self.ring.core.try_push(&mut self.state, src))
    }

    /// Pushes the element in `src`, waiting at most `timeout` (`None`: forever) for room.
    pub fn push(&mut self, src: &[u8], timeout: Option<Duration>) -> Result<()> {
        one("push", self.ring.size, src.len())?;
        self.ring.core.push(&mut self.state, src, Deadline::after(timeout)).map(|_| ())
    }

    /// Waits at most `timeout` until at least one element of `src` fits, then pushes as many as
    /// fit; returns how many (0 only for an empty `src`).
    pub fn push_bulk(&mut self, src: &[u8], timeout: Option<Duration>) -> Result<usize> {
        whole("push", self.ring.size, src.len())?;
        self.ring.core.push(&mut self.state, src, Deadline::after(timeout))
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
    pub fn try_pop(&mut self, dst: &mut [u8]) -> Result<bool> {
        one("pop", self.ring.size, dst.len())?;
        Ok(self.ring.core.try_pop(&mut self.state, dst, true) == 1)
    }

    /// Pops up to as many elements as `dst` holds, in one batch, into its front; returns how many.
    pub fn try_pop_bulk(&mut self, dst: &mut [u8]) -> Result<usize> {
        whole("pop", self.ring.size, dst.len())?;
        Ok(self.ring.core.try_pop(&mut self.state, dst, true))
    }

    /// Pops one element into `dst`, waiting at most `timeout` (`None`: forever).
    pub fn pop(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> Result<()> {
        one("pop", self.ring.size, dst.len())?;
        self.ring.core.pop(&mut self.state, dst, Deadline::after(timeout)).map(|_| ())
    }

    /// Waits at most `timeout` until an element is available, then pops up to as many as `dst`
    /// holds; returns how many (0 only for an empty `dst`).
    pub fn pop_bulk(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        whole("pop", self.ring.size, dst.len())?;
        self.ring.core.pop(&mut self.state, dst, Deadline::after(timeout))
    }

    /// Copies the element [`try_pop`](Self::try_pop) would return next into `dst` without
    /// consuming it: `Ok(false)` if none.
    pub fn peek(&mut self, dst: &mut [u8]) -> Result<bool> {
        one("peek", self.ring.size, dst.len())?;
        Ok(self.ring.core.try_pop(&mut self.state, dst, false) == 1)
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

// ---------------------------------------------------------------------------------------------
// Pool
// ---------------------------------------------------------------------------------------------

/// A [`Pool`](crate::Pool) of any object type, opened by name.
#[derive(Clone)]
pub struct DynPool {
    segment: Segment,
    region: Region,
    core: PoolCore,
    objects: NonNull<u8>,
    size: usize,
    unit: usize,
}

// SAFETY: the handle keeps the mapping alive; objects are accessed only with atomic units or
// through raw pointers the caller dereferences.
unsafe impl Send for DynPool {}
// SAFETY: as above.
unsafe impl Sync for DynPool {}

impl DynPool {
    /// Opens pool `name`, checking that its objects are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, Kind::Pool, &elem)?;
        let capacity = desc.capacity;
        // The region's size was checked against the layout of `capacity` objects at open.
        let at = pool::objects_offset(capacity).expect("validated capacity");
        let objects = NonNull::new(region.ptr(at, capacity * elem.size as u64)).expect("non-null mapping");
        let core = pool::core_on(&region, capacity);
        let unit = crate::sys::atomic_copy::unit_for(elem.size);
        Ok(DynPool { segment: segment.clone(), region, core, objects, size: elem.size, unit })
    }

    fn objects(&self) -> Objects<'_> {
        Objects { core: &self.core, base: self.objects, size: self.size, unit: self.unit }
    }

    fn fault(&self, handle: Handle, f: pool::Fault) -> Error {
        f.error(self.name(), self.capacity(), handle)
    }

    fn corrupt(&self, detail: String) -> Error {
        Error::corrupt(self.segment.name(), format!("structure {:?}", self.name()), detail)
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Bytes per object.
    pub fn elem_size(&self) -> usize {
        self.size
    }

    /// Number of objects.
    pub fn capacity(&self) -> u64 {
        self.core.capacity() as u64
    }

    /// Objects acquired and not yet released, approximately.
    pub fn num_allocated(&self) -> u64 {
        self.core.allocated()
    }

    /// Acquires a free object: `Ok(None)` when all are in use. Never blocks.
    pub fn try_acquire(&self) -> Result<Option<Handle>> {
        match self.core.try_acquire(role::my_tag()) {
            Ok(h) => Ok(h.map(|(index, generation)| Handle { index, generation })),
            Err(detail) => Err(self.corrupt(detail)),
        }
    }

    /// Acquires a free object, waiting at most `timeout` (`None`: forever) for a release.
    pub fn acquire(&self, timeout: Option<Duration>) -> Result<Handle> {
        match self.core.acquire(role::my_tag(), Deadline::after(timeout))? {
            Ok((index, generation)) => Ok(Handle { index, generation }),
            Err(detail) => Err(self.corrupt(detail)),
        }
    }

    /// Releases the object ([`Error::StaleHandle`] if it was released already).
    pub fn release(&self, handle: Handle) -> Result<()> {
        self.core.release(handle.index, handle.generation).map_err(|f| self.fault(handle, f))
    }

    /// Whether `handle` names a live object right now.
    pub fn is_live(&self, handle: Handle) -> bool {
        self.core.check(handle.index, handle.generation).is_ok()
    }

    /// Makes this process the owner of `handle` ([`Pool::adopt`](crate::Pool::adopt)).
    pub fn adopt(&self, handle: Handle) -> Result<()> {
        self.core.adopt(handle.index, handle.generation, role::my_tag()).map_err(|f| self.fault(handle, f))
    }

    /// Releases every object whose owner died; returns how many
    /// ([`Pool::reclaim_dead`](crate::Pool::reclaim_dead)).
    pub fn reclaim_dead(&self) -> u64 {
        self.core.reclaim(crate::sys::role::alive)
    }

    /// Copies the object into `dst` (exactly one object).
    pub fn read(&self, handle: Handle, dst: &mut [u8]) -> Result<()> {
        one("pool read", self.size, dst.len())?;
        self.objects().read(handle, dst).map_err(|f| self.fault(handle, f))
    }

    /// Overwrites the object with `src` (exactly one object).
    pub fn write(&self, handle: Handle, src: &[u8]) -> Result<()> {
        one("pool write", self.size, src.len())?;
        self.objects().write(handle, src).map_err(|f| self.fault(handle, f))
    }

    /// A raw pointer to the object (see [`Pool::as_ptr`](crate::Pool::as_ptr)).
    pub fn as_ptr(&self, handle: Handle) -> Result<*mut u8> {
        self.objects().as_ptr(handle).map_err(|f| self.fault(handle, f))
    }
}

impl std::fmt::Debug for DynPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynPool").field("name", &self.name()).field("elem_size", &self.size).finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Array
// ---------------------------------------------------------------------------------------------

/// An [`Array`](crate::Array) of any element type, opened by name. Like the typed array it is not
/// synchronised: single elements are copied with volatile accesses of the widest unit (8, 4, 2
/// or 1 bytes) dividing the element size, so primitives are never torn; ranges with `memcpy`.
#[derive(Clone)]
pub struct DynArray {
    segment: Segment,
    region: Region,
    data: NonNull<u8>,
    len: u64,
    size: usize,
}

// SAFETY: the handle keeps the mapping alive; every access is volatile or a raw copy.
unsafe impl Send for DynArray {}
// SAFETY: as above.
unsafe impl Sync for DynArray {}

impl DynArray {
    /// Opens array `name`, checking that its elements are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, Kind::Array, &elem)?;
        let len = desc.capacity; // validated against the header and the entry size at locate
        let data = region.ptr(crate::structures::array::HEADER_SIZE, len * elem.size as u64);
        // SAFETY: `ptr` never returns null (it offsets a non-null mapping base).
        let data = unsafe { NonNull::new_unchecked(data) };
        Ok(DynArray { segment: segment.clone(), region, data, len, size: elem.size })
    }

    /// The array's name.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment the array is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes per element.
    pub fn elem_size(&self) -> usize {
        self.size
    }

    fn range(&self, index: u64, count: u64) -> Result<*mut u8> {
        if index.checked_add(count).is_some_and(|end| end <= self.len) {
            // SAFETY: `index <= len`, and the data holds `len` elements of `size` bytes.
            Ok(unsafe { self.data.as_ptr().add(index as usize * self.size) })
        } else {
            Err(Error::IndexOutOfBounds { structure: self.name().to_owned(), index, count, len: self.len })
        }
    }

    /// Copies element `index` into `dst` (exactly one element), with volatile unit loads.
    pub fn get(&self, index: u64, dst: &mut [u8]) -> Result<()> {
        one("array read", self.size, dst.len())?;
        let p = self.range(index, 1)?;
        // SAFETY: the element is in bounds (checked) and `dst` holds `size` bytes of local memory.
        unsafe { volatile_copy(dst.as_mut_ptr(), p, self.size) };
        Ok(())
    }

    /// Overwrites element `index` with `src` (exactly one element), with volatile unit stores.
    pub fn set(&self, index: u64, src: &[u8]) -> Result<()> {
        one("array write", self.size, src.len())?;
        let p = self.range(index, 1)?;
        // SAFETY: as for `get`, in the other direction.
        unsafe { volatile_copy(p, src.as_ptr(), self.size) };
        Ok(())
    }

    /// Copies elements `start..` into `dst` (whole elements).
    pub fn read_at(&self, start: u64, dst: &mut [u8]) -> Result<()> {
        whole("array read", self.size, dst.len())?;
        let p = self.range(start, (dst.len() / self.size) as u64)?;
        // SAFETY: the source range is in bounds (checked) and `dst` is a distinct local buffer;
        // a concurrent writer can only make the copy stale or mixed (bytes have no invalid values).
        unsafe { std::ptr::copy_nonoverlapping(p, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copies `src` (whole elements) into elements `start..`.
    pub fn write_at(&self, start: u64, src: &[u8]) -> Result<()> {
        whole("array write", self.size, src.len())?;
        let p = self.range(start, (src.len() / self.size) as u64)?;
        // SAFETY: the destination range is in bounds (checked) and distinct from `src`.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len()) };
        Ok(())
    }

    /// Raw pointer to the first element, valid while this handle (or its segment) lives; other
    /// processes may write through it.
    pub fn as_ptr(&self) -> *mut u8 {
        self.data.as_ptr()
    }
}

impl std::fmt::Debug for DynArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynArray")
            .field("name", &self.name())
            .field("len", &self.len)
            .field("elem_size", &self.size)
            .finish()
    }
}

/// Copies `len` bytes with volatile accesses of the widest unit dividing `len` (8, 4, 2, 1).
///
/// # Safety
///
/// `src` and `dst` are valid for `len` bytes and do not overlap; the side in shared memory is
/// aligned to the unit (array elements are, at multiples of the element size from an 8-aligned
/// start); the other side may be unaligned.
unsafe fn volatile_copy(dst: *mut u8, src: *const u8, len: usize) {
    macro_rules! by {
        ($t:ty) => {{
            let n = len / std::mem::size_of::<$t>();
            for i in 0..n {
                // SAFETY: unit `i` lies inside both ranges (caller's contract). Shared memory is
                // accessed volatile and aligned; local memory unaligned. Only one side is shared,
                // so one of the two accesses is a plain unaligned one.
                unsafe {
                    let s = src.cast::<$t>().add(i);
                    let d = dst.cast::<$t>().add(i);
                    let v = if s.is_aligned() { s.read_volatile() } else { s.read_unaligned() };
                    if d.is_aligned() {
                        d.write_volatile(v)
                    } else {
                        d.write_unaligned(v)
                    }
                }
            }
        }};
    }
    match crate::sys::atomic_copy::unit_for(len) {
        8 => by!(u64),
        4 => by!(u32),
        2 => by!(u16),
        _ => by!(u8),
    }
}

// ---------------------------------------------------------------------------------------------
// Atomic
// ---------------------------------------------------------------------------------------------

/// An [`Atomic`] of whatever value type the segment records (`u32`, `i32`, `u64`, `i64`), with
/// values passed as `i64` bits (a `u64` above `i64::MAX` is its two's-complement bits; a 32-bit
/// value is its sign- or zero-extended bits, and is truncated when stored).
#[derive(Debug)]
pub enum DynAtomic {
    /// A `u32`.
    U32(Atomic<u32>),
    /// An `i32`.
    I32(Atomic<i32>),
    /// A `u64`.
    U64(Atomic<u64>),
    /// An `i64`.
    I64(Atomic<i64>),
}

macro_rules! each {
    ($self:expr, $a:ident => $e:expr) => {
        match $self {
            DynAtomic::U32($a) => $e,
            DynAtomic::I32($a) => $e,
            DynAtomic::U64($a) => $e,
            DynAtomic::I64($a) => $e,
        }
    };
}

impl DynAtomic {
    /// Opens atomic `name` whatever its value type.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let desc = descriptor(segment, name, Kind::Atomic)?;
        let fp = |p: Primitive| layout::fingerprint(&layout::TypeLayout::Primitive(p));
        Ok(match desc.fingerprint {
            f if f == fp(Primitive::U32) => DynAtomic::U32(Atomic::open(segment, name)?),
            f if f == fp(Primitive::I32) => DynAtomic::I32(Atomic::open(segment, name)?),
            f if f == fp(Primitive::U64) => DynAtomic::U64(Atomic::open(segment, name)?),
            f if f == fp(Primitive::I64) => DynAtomic::I64(Atomic::open(segment, name)?),
            _ => {
                return Err(Error::corrupt(
                    segment.name(),
                    format!("structure {name:?}"),
                    "an atomic whose value type is not u32, i32, u64 or i64",
                ))
            }
        })
    }

    /// The value type.
    pub fn primitive(&self) -> Primitive {
        match self {
            DynAtomic::U32(_) => Primitive::U32,
            DynAtomic::I32(_) => Primitive::I32,
            DynAtomic::U64(_) => Primitive::U64,
            DynAtomic::I64(_) => Primitive::I64,
        }
    }

    /// The atomic's name.
    pub fn name(&self) -> &str {
        each!(self, a => a.name())
    }

    /// Loads the value (`Acquire`).
    pub fn load(&self) -> i64 {
        each!(self, a => a.load().to_bits())
    }

    /// Stores a value (`Release`).
    pub fn store(&self, bits: i64) {
        each!(self, a => a.store(AtomicValue::from_bits(bits)))
    }

    /// Adds (wrapping), returning the previous value.
    pub fn fetch_add(&self, bits: i64) -> i64 {
        each!(self, a => a.fetch_add(AtomicValue::from_bits(bits)).to_bits())
    }

    /// Subtracts (wrapping), returning the previous value.
    pub fn fetch_sub(&self, bits: i64) -> i64 {
        each!(self, a => a.fetch_sub(AtomicValue::from_bits(bits)).to_bits())
    }

    /// Replaces the value, returning the previous one.
    pub fn swap(&self, bits: i64) -> i64 {
        each!(self, a => a.swap(AtomicValue::from_bits(bits)).to_bits())
    }

    /// Replaces the value with `new` if it equals `current`: `Ok(previous)` or `Err(actual)`.
    pub fn compare_exchange(&self, current: i64, new: i64) -> std::result::Result<i64, i64> {
        each!(self, a => a
            .compare_exchange(AtomicValue::from_bits(current), AtomicValue::from_bits(new))
            .map(AtomicValue::to_bits)
            .map_err(AtomicValue::to_bits))
    }

    /// Blocks while the value equals `expected` (32-bit values only), at most `timeout`.
    pub fn wait(&self, expected: i64, timeout: Option<Duration>) -> Result<()> {
        match self {
            DynAtomic::U32(a) => a.wait(AtomicValue::from_bits(expected), timeout),
            DynAtomic::I32(a) => a.wait(AtomicValue::from_bits(expected), timeout),
            _ => Err(self.not_32()),
        }
    }

    /// Wakes one waiter (32-bit values only); returns how many were woken.
    pub fn wake_one(&self) -> Result<usize> {
        match self {
            DynAtomic::U32(a) => Ok(a.wake_one()),
            DynAtomic::I32(a) => Ok(a.wake_one()),
            _ => Err(self.not_32()),
        }
    }

    /// Wakes every waiter (32-bit values only); returns how many were woken.
    pub fn wake_all(&self) -> Result<usize> {
        match self {
            DynAtomic::U32(a) => Ok(a.wake_all()),
            DynAtomic::I32(a) => Ok(a.wake_all()),
            _ => Err(self.not_32()),
        }
    }

    fn not_32(&self) -> Error {
        Error::invalid(
            format!("wait on atomic {:?}", self.name()),
            format!("only 32-bit atomics can be waited on; this one holds a {}", self.primitive().name()),
        )
    }

    /// Pointer to the value in the segment (for C's `__atomic` builtins), valid while this handle
    /// or its segment lives.
    pub fn as_ptr(&self) -> *mut u8 {
        each!(self, a => a.as_ptr().cast())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::shm_type::ShmType;
    use crate::{Mpmc, Mpsc, Queue, Ring, Spsc};

    struct Name(String);
    impl Drop for Name {
        fn drop(&mut self) {
            let _ = Segment::unlink(&self.0);
        }
    }
    fn segment(tag: &str) -> (Name, Segment) {
        let name = format!("/zipc-unit-dynamic-{tag}-{}", std::process::id());
        let _ = Segment::unlink(&name);
        let seg = Segment::create(&name, 1 << 20).unwrap();
        (Name(name), seg)
    }

    #[test]
    fn dynamic_queues_interoperate_with_typed_ones_for_every_policy() {
        let (_n, seg) = segment("queue");
        let layout = layout::canonical(&<[u32; 3]>::SHM_LAYOUT);
        let spec = ElementSpec::with_layout(12, &layout);
        let spsc = Queue::<[u32; 3], Spsc>::create(&seg, "spsc", 4).unwrap();
        let mpsc = Queue::<[u32; 3], Mpsc>::create(&seg, "mpsc", 4).unwrap();
        let mpmc = Queue::<[u32; 3], Mpmc>::create(&seg, "mpmc", 4).unwrap();
        let b = |v: [u32; 3]| zerocopy::IntoBytes::as_bytes(&v).to_vec();

        // typed -> dynamic, across wrap-around
        let mut tx = spsc.producer().unwrap();
        let q = DynQueue::open(&seg, "spsc", spec).unwrap();
        assert_eq!(q.policy(), "spsc");
        let mut rx = q.consumer().unwrap();
        assert!(matches!(q.consumer(), Err(Error::RoleTaken { .. })), "the role is claimed");
        for round in 0..3u32 {
            for i in 0..4 {
                assert!(tx.try_push([round, i, 7]).unwrap());
            }
            assert!(!tx.try_push([0; 3]).unwrap(), "full");
            let mut buf = [0u8; 12];
            for i in 0..4 {
                assert!(rx.try_pop(&mut buf).unwrap());
                assert_eq!(buf.to_vec(), b([round, i, 7]));
            }
            assert!(!rx.try_pop(&mut buf).unwrap(), "empty");
        }
        // dynamic -> typed, bulk, for the Vyukov policies
        for (name, typed_pop) in [
            ("mpsc", Box::new(|| mpsc.consumer().unwrap().pop(None).unwrap()) as Box<dyn Fn() -> [u32; 3]>),
            ("mpmc", Box::new(|| mpmc.try_pop().unwrap().unwrap())),
        ] {
            let q = DynQueue::open(&seg, name, spec).unwrap();
            let mut tx = q.producer().unwrap();
            let src: Vec<u8> = (0..3u32).flat_map(|i| b([i, i + 1, i + 2])).collect();
            assert_eq!(tx.push_bulk(&src).unwrap(), 3);
            for i in 0..3 {
                assert_eq!(typed_pop(), [i, i + 1, i + 2]);
            }
        }
        // Buffers of the wrong length are refused, and change nothing.
        assert!(matches!(tx.try_push([1, 2, 3]), Ok(true)));
        assert!(matches!(rx.try_pop(&mut [0u8; 8]), Err(Error::InvalidArgument { .. })));
        assert!(matches!(rx.pop_bulk(&mut [0u8; 13]), Err(Error::InvalidArgument { .. })));
        let mut buf = [0u8; 12];
        assert!(rx.try_pop(&mut buf).unwrap());
        assert_eq!(buf.to_vec(), b([1, 2, 3]));
    }

    #[test]
    fn element_specs_are_checked_like_typed_declarations() {
        let (_n, seg) = segment("spec");
        Queue::<u64, Mpmc>::create(&seg, "q", 4).unwrap();
        crate::Semaphore::create(&seg, "sem", 1, 0).unwrap();
        let e = DynQueue::open(&seg, "q", ElementSpec::new(4)).unwrap_err();
        assert!(matches!(&e, Error::LayoutMismatch { .. }), "{e}");
        assert!(e.to_string().contains("4-byte elements") && e.to_string().contains("8-byte elements u64"), "{e}");
        let e = DynQueue::open(&seg, "q", ElementSpec::with_layout(8, "i64")).unwrap_err();
        let typed = Queue::<i64, Mpmc>::open(&seg, "q").unwrap_err();
        assert_eq!(e.to_string(), typed.to_string(), "the same error as the typed API");
        let e = DynQueue::open(&seg, "missing", ElementSpec::new(8)).unwrap_err();
        assert_eq!(e.to_string(), Queue::<u64, Mpmc>::open(&seg, "missing").unwrap_err().to_string());
        let e = DynRing::open(&seg, "q", ElementSpec::new(8)).unwrap_err();
        assert!(matches!(e, Error::KindMismatch { expected: Kind::Ring, found: Some(Kind::Queue), .. }));
        assert!(DynQueue::open(&seg, "q", ElementSpec::with_layout(8, "u64")).is_ok());

        let decl = |capacity, fl| Declaration {
            name: "q",
            kind: Kind::Queue,
            elem: Some(ElementSpec::with_layout(8, "u64")),
            capacity,
            flags: fl,
            maximum: 0,
        };
        assert!(check(&seg, &decl(4, flags::POLICY_MPMC)).is_ok());
        assert!(matches!(check(&seg, &decl(8, flags::POLICY_MPMC)), Err(Error::CapacityMismatch { .. })));
        let e = check(&seg, &decl(4, flags::POLICY_SPSC)).unwrap_err();
        assert_eq!(e.to_string(), Queue::<u64, Spsc>::open(&seg, "q").unwrap_err().to_string());
        let sem = Declaration { name: "sem", kind: Kind::Semaphore, elem: None, capacity: 0, flags: 0, maximum: 3 };
        assert!(matches!(check(&seg, &sem), Err(Error::ParameterMismatch { parameter: "maximum", .. })));
    }

    #[test]
    fn dynamic_rings_pools_arrays_and_atomics() {
        let (_n, seg) = segment("others");
        let ring = Ring::<u16>::create(&seg, "r", 3, RingMode::Lossless).unwrap();
        let dr = DynRing::open(&seg, "r", ElementSpec::with_layout(2, "u16")).unwrap();
        let mut tx = dr.producer().unwrap();
        assert_eq!(tx.try_push_bulk(&[1, 0, 2, 0, 3, 0, 4, 0]).unwrap(), 3, "lossless: 3 fit");
        let mut rx = ring.consumer().unwrap();
        assert_eq!(rx.try_pop(), Some(1));
        assert!(tx.try_push(&[5, 0]).unwrap());
        let mut last = [0u8; 4];
        assert_eq!(dr.get_last_n(&mut last).unwrap(), 2);
        assert_eq!(last, [3, 0, 5, 0]);
        assert!(matches!(tx.try_push(&[1, 2, 3]), Err(Error::InvalidArgument { .. })));

        let pool = crate::Pool::<u32>::create(&seg, "p", 2).unwrap();
        let dp = DynPool::open(&seg, "p", ElementSpec::new(4)).unwrap();
        let h = dp.try_acquire().unwrap().unwrap();
        dp.write(h, &7u32.to_le_bytes()).unwrap();
        assert_eq!(pool.read(h).unwrap(), 7);
        pool.release(h).unwrap();
        assert!(matches!(dp.release(h), Err(Error::StaleHandle { .. })));
        let mut out = [0u8; 4];
        assert!(matches!(dp.read(h, &mut out), Err(Error::StaleHandle { .. })));

        let arr = crate::Array::<[u16; 3]>::create(&seg, "a", 4).unwrap();
        let da = DynArray::open(&seg, "a", ElementSpec::new(6)).unwrap();
        da.set(3, &[1, 0, 2, 0, 3, 0]).unwrap();
        assert_eq!(arr.get(3), Some([1, 2, 3]));
        assert!(matches!(da.set(4, &[0; 6]), Err(Error::IndexOutOfBounds { .. })));
        let mut two = [0u8; 12];
        da.read_at(2, &mut two).unwrap();
        assert_eq!(two, [0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 0]);

        let a = Atomic::<i32>::create(&seg, "i", -5).unwrap();
        let d = DynAtomic::open(&seg, "i").unwrap();
        assert_eq!(d.primitive(), Primitive::I32);
        assert_eq!(d.load(), -5);
        assert_eq!(d.fetch_add(7), -5);
        assert_eq!(a.load(), 2);
        assert_eq!(d.compare_exchange(2, 9), Ok(2));
        assert_eq!(d.compare_exchange(2, 9), Err(9));
        assert!(matches!(d.wait(9, Some(Duration::from_millis(1))), Err(Error::Timeout)));
        let u = Atomic::<u64>::create(&seg, "u", u64::MAX).unwrap();
        let du = DynAtomic::open(&seg, "u").unwrap();
        assert_eq!(du.load(), -1, "u64::MAX as bits");
        du.store(5);
        assert_eq!(u.load(), 5);
        assert!(matches!(du.wait(5, None), Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn dynamic_endpoints_talk_to_typed_ones() {
        let (_n, seg) = segment("endpoint");
        let ep = crate::Endpoint::<u32>::create(&seg, "e", 4).unwrap();
        let mut a = ep.side(Side::A).unwrap();
        let de = DynEndpoint::open(&seg, "e", ElementSpec::with_layout(4, "u32")).unwrap();
        assert!(matches!(de.side(Side::A), Err(Error::RoleTaken { .. })));
        let mut b = de.side(Side::B).unwrap();
        assert!(a.try_send(0xdead_beef).unwrap());
        let mut buf = [0u8; 4];
        assert!(b.try_recv(&mut buf).unwrap());
        assert_eq!(u32::from_le_bytes(buf), 0xdead_beef);
        b.send(&7u32.to_le_bytes(), None).unwrap();
        assert_eq!(a.recv(None).unwrap(), 7);
    }
}
