//! [`DynEndpoint`]: a request–response endpoint whose requests and responses are bytes.

use std::time::Duration;

use crate::error::Result;
use crate::layout::{flags, Kind};
use crate::segment::Segment;
use crate::structures::endpoint::{self, SideClaim};
use crate::structures::queue::element::{Bytes, Element};
use crate::structures::queue::QueueBytes;
use crate::Side;

use super::{one, open_entry, whole, ElementSpec};

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

    /// Claims `side` until the returned handle is dropped ([`Error::RoleTaken`](crate::Error::RoleTaken) while another
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
