//! [`DynTopic`]: a topic of any sample type and mode, its publisher and its subscribers, with
//! lossless samples loaned and received in place as pointers (for the C ABI) and copies both ways.

use std::ptr::NonNull;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::Kind;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::topic::{self, ByteCore, Closed, Next, Params, PubState, SubState, LIVENESS_INTERVAL};
use crate::sys::futex::Deadline;
use crate::sys::role;

use super::{one, open_entry, ElementSpec};

/// A [`Topic`](crate::Topic) of any sample type and mode, opened by name. This handle observes;
/// [`publisher`](Self::publisher) and [`subscriber`](Self::subscriber) move data.
#[derive(Clone)]
pub struct DynTopic {
    segment: Segment,
    region: Region,
    core: ByteCore,
}

impl DynTopic {
    /// Opens topic `name` whatever its parameters and mode, checking that its samples are as
    /// `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, Kind::Topic, &elem)?;
        let core = topic::byte_core(&region, &Params::of(&desc));
        Ok(DynTopic { segment: segment.clone(), region, core })
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment the topic is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Bytes per sample.
    pub fn elem_size(&self) -> usize {
        self.core.slots.size()
    }

    /// Whether the topic is lossy (else lossless).
    pub fn is_lossy(&self) -> bool {
        self.core.is_lossy()
    }

    /// Samples in flight.
    pub fn capacity(&self) -> u64 {
        self.core.capacity()
    }

    /// Subscribers it has room for.
    pub fn max_subscribers(&self) -> u32 {
        self.core.max_subscribers() as u32
    }

    /// Samples a subscriber receives on joining.
    pub fn history(&self) -> u64 {
        self.core.history()
    }

    /// Samples published since the topic was created.
    pub fn published(&self) -> u64 {
        self.core.write_pos()
    }

    /// Dead subscribers' records freed by survivors.
    pub fn released(&self) -> u64 {
        self.core.released()
    }

    /// Whether the publisher has closed the topic (see [`Publisher::close`](crate::Publisher::close)).
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    fn closed<T>(&self, r: std::result::Result<T, Closed>) -> Result<T> {
        r.map_err(|Closed| Error::Closed { structure: self.name().to_owned() })
    }

    /// Claims the publisher role ([`Error::RoleTaken`] while another handle holds it).
    pub fn publisher(&self) -> Result<DynPublisher> {
        let (state, claim) = topic::claim_publisher(&self.region, &self.core)?;
        Ok(DynPublisher { topic: self.clone(), state, claim, loaned: false })
    }

    /// Joins as a subscriber ([`Error::SubscribersFull`] while every record is held).
    pub fn subscriber(&self) -> Result<DynSubscriber> {
        match self.core.join() {
            Some(state) => Ok(DynSubscriber { topic: self.clone(), state, holding: None }),
            None => Err(Error::SubscribersFull { structure: self.name().to_owned(), max: self.max_subscribers() }),
        }
    }

    fn lossless(&self, what: &str) -> Result<()> {
        if self.is_lossy() {
            return Err(Error::invalid(
                format!("{what} on topic {:?}", self.name()),
                "a lossy topic offers copies only (send_copy, receive_copy): its slots may be overwritten at any time",
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for DynTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynTopic")
            .field("name", &self.name())
            .field("elem_size", &self.elem_size())
            .field("capacity", &self.capacity())
            .field("lossy", &self.is_lossy())
            .finish()
    }
}

/// The publisher of a [`DynTopic`]. Releases the role when dropped (an open loan is given back).
pub struct DynPublisher {
    topic: DynTopic,
    state: PubState,
    claim: role::Claim,
    loaned: bool,
}

impl DynPublisher {
    /// The topic.
    pub fn topic(&self) -> &DynTopic {
        &self.topic
    }

    /// Lossless: loans the next slot if every subscriber has released it, returning its payload
    /// (`elem_size` bytes, 8-aligned), which stays this publisher's until [`send`](Self::send) or
    /// [`unloan`](Self::unloan); `None` while the slowest subscriber is a capacity behind. A loan
    /// already open is returned again. [`Error::Closed`] once the topic is closed, as for every
    /// loan and send below.
    pub fn try_loan(&mut self) -> Result<Option<NonNull<u8>>> {
        self.topic.lossless("loan")?;
        if !self.loaned {
            match self.topic.core.try_reserve(&mut self.state, true) {
                Ok(()) => {}
                Err(b) if b.closed => return self.topic.closed(Err(Closed)),
                Err(_) => return Ok(None),
            }
            self.loaned = true;
        }
        Ok(Some(self.payload()))
    }

    /// [`try_loan`](Self::try_loan), waiting at most `timeout` ([`Error::Timeout`]).
    pub fn loan(&mut self, timeout: Option<Duration>) -> Result<NonNull<u8>> {
        self.topic.lossless("loan")?;
        if !self.loaned {
            self.reserve(timeout)?;
            self.loaned = true;
        }
        Ok(self.payload())
    }

    fn reserve(&mut self, timeout: Option<Duration>) -> Result<()> {
        let r = self.topic.core.reserve(&mut self.state, Deadline::after(timeout), LIVENESS_INTERVAL)?;
        self.topic.closed(r)
    }

    /// Closes the topic (idempotent; see [`Publisher::close`](crate::Publisher::close)): loans
    /// and sends fail with [`Error::Closed`] from now on — a loan open now is given back, and its
    /// [`send`](Self::send) fails; each subscriber receives everything published before, then
    /// [`Error::Closed`]. Wakes every sleeper.
    pub fn close_stream(&mut self) {
        self.loaned = false;
        self.topic.core.close(&mut self.state);
    }

    fn payload(&self) -> NonNull<u8> {
        self.topic.core.slots.payload(self.topic.core.slot(self.state.write))
    }

    /// Publishes the open loan. [`Error::Closed`] if the topic was closed since the loan (the
    /// slot is given back, nothing is published).
    pub fn send(&mut self) -> Result<()> {
        if self.state.closed {
            self.loaned = false;
            return self.topic.closed(Err(Closed));
        }
        if !self.loaned {
            return Err(Error::invalid(format!("send on topic {:?}", self.topic.name()), "no loan is open"));
        }
        self.loaned = false;
        self.topic.core.publish(&mut self.state);
        Ok(())
    }

    /// Gives the open loan back unpublished (nothing if none is open).
    pub fn unloan(&mut self) {
        self.loaned = false;
    }

    /// Publishes a copy of the sample in `src`. Lossless: waits at most `timeout` for space
    /// ([`Error::Timeout`]); lossy: never waits.
    pub fn send_copy(&mut self, src: &[u8], timeout: Option<Duration>) -> Result<()> {
        one("send", self.topic.elem_size(), src.len())?;
        if self.topic.is_lossy() {
            let r = self.topic.core.write_lossy(&mut self.state, src);
            return self.topic.closed(r);
        }
        if self.state.closed {
            self.loaned = false;
            return self.topic.closed(Err(Closed));
        }
        if !self.loaned {
            self.reserve(timeout)?;
        }
        self.write_reserved(src);
        Ok(())
    }

    /// Publishes a copy of the sample in `src` if there is space now (always, when lossy).
    pub fn try_send_copy(&mut self, src: &[u8]) -> Result<bool> {
        one("send", self.topic.elem_size(), src.len())?;
        if self.topic.is_lossy() {
            let r = self.topic.core.write_lossy(&mut self.state, src);
            return self.topic.closed(r).map(|()| true);
        }
        if self.state.closed {
            self.loaned = false;
            return self.topic.closed(Err(Closed));
        }
        if !self.loaned && self.topic.core.try_reserve(&mut self.state, true).is_err() {
            return Ok(false);
        }
        self.write_reserved(src);
        Ok(true)
    }

    fn write_reserved(&mut self, src: &[u8]) {
        use crate::structures::topic::Slots as _;
        self.loaned = false;
        self.topic.core.slots.store(self.topic.core.slot(self.state.write), src);
        self.topic.core.publish(&mut self.state);
    }

    /// Samples published so far.
    pub fn published(&self) -> u64 {
        self.state.write
    }
}

impl Drop for DynPublisher {
    fn drop(&mut self) {
        self.claim.release(self.topic.region.u64_at(topic::header::PUBLISHER));
    }
}

impl std::fmt::Debug for DynPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynPublisher").field("topic", &self.topic.name()).field("published", &self.state.write).finish()
    }
}

/// A subscriber of a [`DynTopic`]. Leaves when dropped (a held sample is released).
pub struct DynSubscriber {
    topic: DynTopic,
    state: SubState,
    holding: Option<usize>,
}

impl DynSubscriber {
    /// The topic.
    pub fn topic(&self) -> &DynTopic {
        &self.topic
    }

    /// Lossless: the next sample, read in place: a pointer to its `elem_size` bytes that stay
    /// unchanged until [`release`](Self::release) (the publisher cannot reuse the slot before).
    /// `None` if nothing new is there. A sample already held is returned again.
    /// [`Error::Closed`] once the topic is closed and everything published before the close was
    /// received, as for every receive below.
    pub fn try_receive(&mut self) -> Result<Option<NonNull<u8>>> {
        self.topic.lossless("receive in place")?;
        if self.holding.is_none() {
            match self.topic.core.peek(&mut self.state) {
                Next::Ready { slot } => self.holding = Some(slot),
                Next::Empty => return Ok(None),
                Next::Closed => return self.topic.closed(Err(Closed)),
            }
        }
        Ok(self.holding.map(|slot| self.topic.core.slots.payload(slot)))
    }

    /// [`try_receive`](Self::try_receive), waiting at most `timeout` ([`Error::Timeout`]).
    pub fn receive(&mut self, timeout: Option<Duration>) -> Result<NonNull<u8>> {
        self.topic.lossless("receive in place")?;
        if self.holding.is_none() {
            let r = self.topic.core.wait_ready(&mut self.state, Deadline::after(timeout))?;
            self.holding = Some(self.topic.closed(r)?);
        }
        Ok(self.holding.map(|slot| self.topic.core.slots.payload(slot)).expect("held"))
    }

    /// Releases the sample held (nothing if none is).
    pub fn release(&mut self) {
        if self.holding.take().is_some() {
            self.topic.core.release(&mut self.state);
        }
    }

    /// Copies the next sample into `dst`, waiting at most `timeout` ([`Error::Timeout`]). A
    /// sample held in place is copied and released.
    pub fn receive_copy(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> Result<()> {
        one("receive", self.topic.elem_size(), dst.len())?;
        if self.topic.is_lossy() {
            let r = self.topic.core.copy(&mut self.state, dst, Deadline::after(timeout))?;
            return self.topic.closed(r);
        }
        let slot = match self.holding.take() {
            Some(slot) => slot,
            None => {
                let r = self.topic.core.wait_ready(&mut self.state, Deadline::after(timeout))?;
                self.topic.closed(r)?
            }
        };
        self.copy_out(slot, dst);
        Ok(())
    }

    /// Copies the next sample into `dst` if one is there.
    pub fn try_receive_copy(&mut self, dst: &mut [u8]) -> Result<bool> {
        one("receive", self.topic.elem_size(), dst.len())?;
        if self.topic.is_lossy() {
            let r = self.topic.core.try_copy(&mut self.state, dst);
            return self.topic.closed(r);
        }
        let slot = match self.holding.take() {
            Some(slot) => slot,
            None => match self.topic.core.peek(&mut self.state) {
                Next::Ready { slot } => slot,
                Next::Empty => return Ok(false),
                Next::Closed => return self.topic.closed(Err(Closed)),
            },
        };
        self.copy_out(slot, dst);
        Ok(true)
    }

    fn copy_out(&mut self, slot: usize, dst: &mut [u8]) {
        use crate::structures::topic::Slots as _;
        self.topic.core.slots.load(slot, dst);
        self.topic.core.release(&mut self.state);
    }

    /// Samples received since joining.
    pub fn received(&self) -> u64 {
        self.state.received()
    }

    /// Samples skipped because they were overwritten first (lossy).
    pub fn missed(&self) -> u64 {
        self.state.missed
    }

    /// The position of the next sample this subscriber reads.
    pub fn position(&self) -> u64 {
        self.state.cursor
    }

    /// Whether the topic is closed and this subscriber has passed everything published before
    /// the close (see [`Subscriber::is_finished`](crate::Subscriber::is_finished)).
    pub fn is_finished(&self) -> bool {
        self.topic.core.finished(&self.state)
    }
}

impl Drop for DynSubscriber {
    fn drop(&mut self) {
        self.topic.core.leave(&self.state);
    }
}

impl std::fmt::Debug for DynSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynSubscriber")
            .field("topic", &self.topic.name())
            .field("position", &self.state.cursor)
            .field("missed", &self.state.missed)
            .finish()
    }
}

/// Ready when a receive would find a sample without waiting (as for
/// [`Subscriber`](crate::Subscriber)).
#[cfg(not(loom))]
impl crate::sys::wait_set::Readiness for DynSubscriber {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        ByteCore::subscriber_source(self.topic.clone(), |t| &t.core, self.state.record)
    }
}
