//! [`Topic<T, M>`]: publish–subscribe. One publisher writes a stream of samples; any number of
//! subscribers, up to the `max_subscribers` fixed at creation, each read all of it at their own
//! pace, joining and leaving at any time. In lossless mode samples are written and read in
//! place, never copied: a camera frame of megabytes costs what an integer costs.
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use std::time::Duration;
//! use zipc::{Lossless, Segment, Topic};
//!
//! let seg = Segment::create("/topic-doc", 1 << 20)?;
//! // 8 samples in flight, up to 3 subscribers, a late joiner gets the newest 2.
//! let frames = Topic::<[u32; 64], Lossless>::create(&seg, "frames", 8, 3, 2)?;
//! let mut rx = frames.subscriber()?;
//! let mut tx = frames.publisher()?;
//!
//! let mut loan = tx.loan(None)?;   // a slot in shared memory, written in place
//! loan[0] = 7;
//! loan.send();
//!
//! let sample = rx.receive(Some(Duration::from_secs(1)))?; // read in place
//! assert_eq!(sample[0], 7);
//! drop(sample);                     // the slot is free once every subscriber is done
//! # Segment::unlink("/topic-doc") }
//! ```
//!
//! # Modes
//!
//! **Lossless** ([`Lossless`], the default): the publisher writes position `w` only once every
//! subscriber has released position `w - capacity`, so each subscriber receives every sample
//! published after it joined, exactly once, in order; [`Publisher::loan`] waits (or
//! [`try_loan`](Publisher::try_loan) fails) while the slowest live subscriber is a full capacity
//! behind. Loans ([`Loan`]) and received samples ([`Sample`]) are references into the slot:
//! the protocol gives the publisher the slot alone while it is loaned, and the subscribers
//! alone (to read) until the last one releases it, so no other process writes the bytes a
//! reference covers.
//!
//! **Lossy** ([`Lossy`]): the publisher never waits and never reads the subscribers' state. A
//! subscriber that falls a capacity behind skips what was overwritten, learns exactly how many
//! samples it missed ([`Subscriber::missed`]: `received + missed` is what was published since it
//! joined), and never sees a torn sample: each slot is a seqlock (the sequence word gets a busy
//! bit before the payload changes), and samples are copied in and out with relaxed atomic units,
//! validated after the copy. Lossy mode therefore offers copies only
//! ([`Publisher::send_copy`], [`Subscriber::receive_copy`]): a reference into a slot the
//! publisher may overwrite at any moment would be a reference to bytes another process writes.
//! Zero-copy lossy reading would need a pool of buffers behind the slots, an extra cache line
//! and indirection per sample; lossy topics are for small, frequent samples, where a copy is
//! what the seqlock costs anyway.
//!
//! # Positions, slots and sequence words
//!
//! Sample number `p` (from 0, since the topic was created) lives in slot `p mod capacity`. A
//! slot is a `u64` sequence word and the payload; the word is `p + 1` once sample `p` is
//! published there. The publisher writes the payload, then stores the word (release); a
//! subscriber at cursor `c` reads the word (acquire) and finds `c + 1` (ready), less (nothing
//! yet), or more (lapped: lossy mode, or a corrupted topic, which is treated the same and never
//! hangs). `write_pos` (release-stored after each sample) is for joiners, inspectors and a
//! publisher taking over.
//!
//! Each subscriber has a record of its own: owner, `cursor` (every position below it is released),
//! `missed`, `active`, the position it `joined` at. The lossless publisher keeps `limit`, the
//! smallest active cursor plus the capacity as it last scanned them, and writes without looking
//! at any record while below it: the fast path of both sides touches only its own line pair and
//! the slot, and makes no system call.
//!
//! # Joining
//!
//! A subscriber joins by claiming a free record (compare-and-swap of its owner word; a record
//! whose owner died is reclaimed) and starting at `write_pos - history`: the newest `history`
//! samples are kept for it, because the publisher never overwrites a position in the newest
//! `history` (its scans count `write_pos - history` as one more cursor). A joiner that read an
//! old `write_pos` could still start at a slot already overwritten, or be missed by a scan in
//! progress; the `floor` closes both. The publisher's scan:
//!
//! ```text
//! publisher (slow path)                        joiner
//! m = min(active cursors, write - history)     claim a record; active = 0
//! floor = max(floor, m)                        cursor = max(write_pos - history, floor)
//! fence(SeqCst)                                active = 1 (release)
//! m = min(m, active cursors)                   fence(SeqCst)
//! limit = m + capacity                         cursor = max(cursor, floor)
//! ```
//!
//! Of the two fences one comes first. If the joiner's is first, the publisher's second pass sees
//! the record active (with a cursor at least the one stored before `active`), so `m` is at most
//! the joiner's cursor. If the publisher's is first, the joiner's last load sees the floor the
//! scan stored, and moves its cursor up to it. Either way the publisher overwrites only
//! positions below the joiner's final cursor. The floor only grows, and is at most every
//! active cursor when stored, so it never passes a subscriber by.
//!
//! # Crashes
//!
//! A lossless publisher blocked by a subscriber checks whether that subscriber's process is
//! alive (at every wake-up, and every [`LIVENESS_INTERVAL`] while it waits: a dead process never
//! notifies); a dead subscriber's record is freed (its owner word compare-and-swapped to 0,
//! counted in [`Topic::released`]) and stops counting, whatever it held. Only a record's holder
//! writes its cursor and `active`; a releaser writes only the owner, and a joiner that reclaims
//! a record first clears `active`, so a release and a reclaim of one record cannot interleave
//! badly: the owner's compare-and-swap picks one.
//!
//! The publisher is a role ([`Topic::publisher`]), taken over when its holder dies. A publisher
//! killed with a loan open had not stamped the slot: its successor writes that position again.
//! One killed between stamping a slot and storing `write_pos` left a published sample past
//! `write_pos`: the successor steps over slots already stamped for the positions it would write.
//! In lossy mode a publisher killed mid-write leaves the slot busy; its successor rewrites it.
//!
//! # One publisher
//!
//! A topic has one publisher at a time; a second [`publisher`](Topic::publisher) fails with
//! [`Error::RoleTaken`]. Several writers funnel into one topic through a
//! [`Queue`](crate::Queue) (MPSC) drained by the publishing process: a multi-publisher topic
//! would put a compare-and-swap on the fast path and give up the in-place loan.
//!
//! # Closing
//!
//! The publisher closes the topic ([`Publisher::close`]; ZeroIPC's `stream` end). A topic has
//! one publisher, the one writer of samples, so the close is exact with two stores, as a ring's:
//! `end = write_pos`, then `closed = 1` (release), then every sleeper of both event counts is
//! woken unconditionally. From then on loans and sends fail with [`Error::Closed`] (nothing is
//! published: a byte-level loan open at the close is given back and its send fails; a typed
//! [`Loan`] borrows the publisher, so none can be open). The publisher caches the flag (its
//! cached limit drops to 0, so the check stays off the fast path), and a publisher that claims
//! the role later reads it. A subscriber looks at the flag only when it finds nothing at its
//! cursor; set (acquire: every sample published before is visible) with its cursor at `end`, it
//! gets [`Error::Closed`] from [`receive`](Subscriber::receive) and
//! [`receive_copy`](Subscriber::receive_copy) (and from the `try_` receives of `zipc::dynamic`,
//! the C ABI and Python; the typed `try_` receives return `None` and
//! [`Subscriber::is_finished`] says it is the end). Before that it receives everything
//! published before the close (lossy: what was not overwritten, counting the rest as missed).
//! Joining a closed topic is allowed: the joiner receives the history, then `Closed`. A
//! publisher killed between the two stores leaves the topic open: the close did not happen.
//!
//! # Layout
//!
//! ```text
//! offset        size               field
//! 0             8                  u64 capacity              header: constants
//! 8             4                  u32 elem_size
//! 12            4                  u32 flags                 bit 0: lossy
//! 16            4                  u32 max_subscribers
//! 20            4                  u32 slot_size             8 + elem_size, padded to 8
//! 24            8                  u64 history
//! 128           8                  u64 publisher             role: pid << 40 | start time
//! 136           8                  u64 publisher_takeovers
//! 144           8                  u64 end                   write_pos at the close
//! 152           8                  u64 closed                0 open, 1 closed (see Closing)
//! 256           8                  u64 write_pos             publisher line
//! 384           8                  u64 floor                 control line (slow paths only)
//! 392           8                  data_ready                event count
//! 400           8                  space_ready               event count
//! 408           8                  u64 released              dead subscribers freed
//! 512           128 × subscribers  records: u64 owner, cursor, missed, active, joined
//! 512 + 128 n   cap × slot_size    slots: u64 seq, payload
//! ```

mod core;
mod shm;
mod state;
#[cfg(all(test, loom))]
mod tests;

pub(crate) use self::core::Slots;
pub(crate) use self::core::{Closed, Next, PubState, SubState};
pub(crate) use shm::{byte_core, claim_publisher, ByteCore, Params, ShmCore};
pub(crate) use state::inspect;
pub use state::{SubscriberState, TopicState};

pub use crate::layout::kinds::topic::{header, MAX_SUBSCRIBERS};

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::{flags, Kind, StructureLayout, TypeLayout};
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::ShmType;
use crate::structures::{self, Structure};
use crate::sys::futex::Deadline;
use crate::sys::role;

/// How often a lossless publisher blocked by a subscriber checks that the subscriber's process
/// is still alive.
pub const LIVENESS_INTERVAL: Duration = Duration::from_millis(20);

mod sealed {
    pub trait Sealed {}
}

/// A topic's mode, fixed by its type: [`Lossless`] or [`Lossy`].
pub trait TopicMode: sealed::Sealed + Send + Sync + 'static {
    /// The descriptor flags of the mode.
    const FLAGS: u32;
    /// Its name in schemas and messages.
    const NAME: &'static str;
}

/// Lossless mode: every subscriber receives every sample; samples are loaned and read in place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Lossless;

/// Lossy mode: the publisher never waits; a subscriber that falls behind skips samples and
/// counts them. Copies only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Lossy;

impl sealed::Sealed for Lossless {}
impl sealed::Sealed for Lossy {}

impl TopicMode for Lossless {
    const FLAGS: u32 = 0;
    const NAME: &'static str = "lossless";
}

impl TopicMode for Lossy {
    const FLAGS: u32 = flags::TOPIC_LOSSY;
    const NAME: &'static str = "lossy";
}

/// A topic of `T` samples in a segment. This handle observes (positions, subscribers, counters);
/// [`publisher`](Topic::publisher) and [`subscriber`](Topic::subscriber) move data.
pub struct Topic<T: ShmType, M: TopicMode = Lossless> {
    segment: Segment,
    region: Region,
    core: ShmCore<T>,
    _mode: PhantomData<M>,
}

impl<T: ShmType, M: TopicMode> Clone for Topic<T, M> {
    fn clone(&self) -> Self {
        Topic {
            segment: self.segment.clone(),
            region: self.region.clone(),
            core: self.core.clone(),
            _mode: PhantomData,
        }
    }
}

impl<T: ShmType, M: TopicMode> Topic<T, M> {
    /// Creates topic `name`: `capacity` samples in flight (a power of two from 2 to 2^32), up to
    /// `max_subscribers` subscribers at once (1 to [`MAX_SUBSCRIBERS`]), the newest `history`
    /// samples (less than the capacity) given to each subscriber on joining.
    pub fn create(segment: &Segment, name: &str, capacity: u64, max_subscribers: u32, history: u64) -> Result<Self> {
        Self::create_in(segment, &Self::decl(name, capacity, max_subscribers, history))
    }

    /// Opens topic `name` whatever its capacity, subscriber count and history, checking the
    /// sample layout and the mode.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let decl = Self::declaration(name);
        let found = segment.locate(name)?;
        let Some(desc) = found.descriptor else {
            return Err(Error::KindMismatch { structure: name.to_owned(), expected: Kind::Topic, found: None });
        };
        let decl = StructureLayout { capacity: desc.capacity, maximum: desc.maximum, ..decl };
        crate::segment::check_descriptor(&decl, &desc, true)?;
        Ok(Self::from_region(segment, found.region, &Params::of(&desc)))
    }

    /// Opens topic `name`, or creates it. An existing topic must have these parameters (its
    /// history is adopted, like a semaphore's initial count).
    pub fn open_or_create(
        segment: &Segment,
        name: &str,
        capacity: u64,
        max_subscribers: u32,
        history: u64,
    ) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::decl(name, capacity, max_subscribers, history))
    }

    fn decl(name: &str, capacity: u64, max_subscribers: u32, history: u64) -> StructureLayout<'_> {
        StructureLayout {
            capacity,
            maximum: max_subscribers as i64,
            initial: i64::try_from(history).unwrap_or(i64::MAX),
            ..Self::declaration(name)
        }
    }

    fn from_region(segment: &Segment, region: Region, params: &Params) -> Self {
        let core = shm::core_on(&region, params, |base| shm::ShmSlots::<T>::new(base, params));
        Topic { segment: segment.clone(), region, core, _mode: PhantomData }
    }

    /// The topic's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this topic is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Samples in flight.
    pub fn capacity(&self) -> u64 {
        self.core.capacity()
    }

    /// Subscribers the topic has room for.
    pub fn max_subscribers(&self) -> u32 {
        self.core.max_subscribers() as u32
    }

    /// Samples a subscriber receives on joining (if that many were published).
    pub fn history(&self) -> u64 {
        self.core.history()
    }

    /// Samples published since the topic was created.
    pub fn published(&self) -> u64 {
        self.core.write_pos()
    }

    /// Subscriber records freed because their process died (by the publisher or a joiner).
    pub fn released(&self) -> u64 {
        self.core.released()
    }

    /// The subscribers now joined. Approximate under concurrency.
    pub fn subscribers(&self) -> u32 {
        (0..self.core.max_subscribers())
            .filter(|&i| self.core.record(i).owner.load(std::sync::atomic::Ordering::Relaxed) != 0)
            .count() as u32
    }

    /// Whether the publisher has closed the topic ([`Publisher::close`]). Subscribers still
    /// receive everything published before the close, then [`Error::Closed`].
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    fn closed(&self) -> Error {
        Error::Closed { structure: self.name().to_owned() }
    }

    /// Claims the publisher role. Fails with [`Error::RoleTaken`] while another handle — in any
    /// process, this one included — holds it; the role of a process that died is taken over.
    /// The role of a closed topic can be claimed, but nothing can be published.
    pub fn publisher(&self) -> Result<Publisher<T, M>> {
        let (state, claim) = claim_publisher(&self.region, &self.core)?;
        Ok(Publisher { topic: self.clone(), state, claim })
    }

    /// Joins as a subscriber, starting at the newest [`history`](Self::history) samples. Fails
    /// with [`Error::SubscribersFull`] while `max_subscribers` live subscribers are joined (the
    /// record of one whose process died is reclaimed). Joining a closed topic is allowed: the
    /// subscriber receives the history, then [`Error::Closed`].
    pub fn subscriber(&self) -> Result<Subscriber<T, M>> {
        match self.core.join() {
            Some(state) => Ok(Subscriber { topic: self.clone(), state }),
            None => Err(Error::SubscribersFull { structure: self.name().to_owned(), max: self.max_subscribers() }),
        }
    }
}

impl<T: ShmType, M: TopicMode> std::fmt::Debug for Topic<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.name())
            .field("mode", &M::NAME)
            .field("capacity", &self.capacity())
            .field("max_subscribers", &self.max_subscribers())
            .field("published", &self.published())
            .finish()
    }
}

#[diagnostic::do_not_recommend]
impl<T: ShmType, M: TopicMode> Structure for Topic<T, M> {
    const KIND: Kind = Kind::Topic;
    const ELEM: Option<TypeLayout<'static>> = Some(T::SHM_LAYOUT);
    const FLAGS: u32 = M::FLAGS;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let params = Params::of_decl(decl);
        let region = segment.allocate(decl, |region| {
            shm::init(region, &params);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, &params))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Ok(Self::from_region(segment, region, &Params::of(&desc)))
    }
}

// ---------------------------------------------------------------------------------------------
// Publisher
// ---------------------------------------------------------------------------------------------

/// The publisher of a topic (the one role; see [`Topic::publisher`]). Released on drop.
pub struct Publisher<T: ShmType, M: TopicMode = Lossless> {
    topic: Topic<T, M>,
    state: PubState,
    claim: role::Claim,
}

impl<T: ShmType, M: TopicMode> Publisher<T, M> {
    /// The topic.
    pub fn topic(&self) -> &Topic<T, M> {
        &self.topic
    }

    /// Whether the role was taken over from a publisher whose process died.
    pub fn took_over(&self) -> bool {
        self.claim.recovered
    }

    /// Samples published so far (the position of the next one).
    pub fn published(&self) -> u64 {
        self.state.write
    }

    /// Closes the topic: nothing more can be published (loans, [`send_copy`](Self::send_copy)
    /// fail with [`Error::Closed`], the `try_` calls return `None`/`false`), and each subscriber,
    /// once it has received every sample published before the close, gets [`Error::Closed`]
    /// from its blocking receives ([`Subscriber::is_finished`] says so for the non-blocking
    /// ones). Wakes every sleeper. Idempotent; a later publisher of the topic finds it closed.
    ///
    /// ```no_run
    /// # fn main() -> zipc::Result<()> {
    /// use zipc::{Error, Lossless, Segment, Topic};
    ///
    /// let seg = Segment::create("/topic-close-doc", 1 << 20)?;
    /// let topic = Topic::<u64, Lossless>::create(&seg, "ticks", 8, 2, 0)?;
    /// let mut rx = topic.subscriber()?;
    /// let mut tx = topic.publisher()?;
    /// tx.send_copy(&1, None)?;
    /// tx.close();
    /// assert!(matches!(tx.send_copy(&2, None), Err(Error::Closed { .. })));
    /// assert_eq!(*rx.receive(None)?, 1); // published before the close: delivered
    /// assert!(matches!(rx.receive(None), Err(Error::Closed { .. }))); // then the end
    /// assert!(topic.is_closed() && rx.is_finished());
    /// # Segment::unlink("/topic-close-doc") }
    /// ```
    ///
    /// A publisher killed in the middle of `close` (between storing the end and the flag)
    /// leaves the topic open: the close did not happen, and a successor may publish and close.
    pub fn close(&mut self) {
        self.topic.core.close(&mut self.state);
    }
}

impl<T: ShmType> Publisher<T, Lossless> {
    /// Loans the next slot if every subscriber has released it: write the sample in place, then
    /// [`send`](Loan::send) it. `None` while the slowest subscriber is a capacity behind (a dead
    /// one is released). The slot holds an older sample's bytes (or zeros): every bit pattern is
    /// a valid `T`, so there is nothing to initialise — no `loan_uninit` is needed.
    #[inline]
    pub fn try_loan(&mut self) -> Option<Loan<'_, T>> {
        self.topic.core.try_reserve(&mut self.state, true).ok()?;
        Some(self.loan_reserved())
    }

    /// Loans the next slot, waiting at most `timeout` (`None`: forever) for the slowest
    /// subscriber to release it; [`Error::Timeout`] after that, [`Error::Closed`] if the topic
    /// is closed.
    pub fn loan(&mut self, timeout: Option<Duration>) -> Result<Loan<'_, T>> {
        self.reserve(timeout)?;
        Ok(self.loan_reserved())
    }

    fn reserve(&mut self, timeout: Option<Duration>) -> Result<()> {
        let r = self.topic.core.reserve(&mut self.state, Deadline::after(timeout), LIVENESS_INTERVAL)?;
        r.map_err(|Closed| self.topic.closed())
    }

    #[inline]
    fn loan_reserved(&mut self) -> Loan<'_, T> {
        let slot = self.topic.core.slot(self.state.write);
        let ptr = self.topic.core.slots.payload(slot);
        Loan { publisher: self, ptr }
    }
}

impl<T: ShmType, M: TopicMode> Publisher<T, M> {
    /// Publishes a copy of `value`. Lossless: waits at most `timeout` for space
    /// ([`Error::Timeout`]); lossy: never waits. [`Error::Closed`] (not published) if the topic
    /// is closed.
    pub fn send_copy(&mut self, value: &T, timeout: Option<Duration>) -> Result<()> {
        if M::FLAGS & flags::TOPIC_LOSSY != 0 {
            let r = self.topic.core.write_lossy(&mut self.state, std::slice::from_ref(value));
            return r.map_err(|Closed| self.topic.closed());
        }
        let r = self.topic.core.reserve(&mut self.state, Deadline::after(timeout), LIVENESS_INTERVAL)?;
        r.map_err(|Closed| self.topic.closed())?;
        self.write_reserved(value);
        Ok(())
    }

    /// Publishes a copy of `value` if there is space now (always, in lossy mode, unless the
    /// topic is closed: then `false`, not published).
    pub fn try_send_copy(&mut self, value: &T) -> bool {
        if M::FLAGS & flags::TOPIC_LOSSY != 0 {
            return self.topic.core.write_lossy(&mut self.state, std::slice::from_ref(value)).is_ok();
        }
        if self.topic.core.try_reserve(&mut self.state, true).is_err() {
            return false;
        }
        self.write_reserved(value);
        true
    }

    fn write_reserved(&mut self, value: &T) {
        let slot = self.topic.core.slot(self.state.write);
        self.topic.core.slots.store(slot, std::slice::from_ref(value));
        self.topic.core.publish(&mut self.state);
    }
}

impl<T: ShmType, M: TopicMode> Drop for Publisher<T, M> {
    fn drop(&mut self) {
        self.claim.release(self.topic.region.u64_at(header::PUBLISHER));
    }
}

impl<T: ShmType, M: TopicMode> std::fmt::Debug for Publisher<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("topic", &self.topic.name()).field("published", &self.state.write).finish()
    }
}

/// A slot of a lossless topic loaned to its publisher ([`Publisher::loan`]): the sample is
/// written in place. [`send`](Self::send) publishes it; dropping the loan unsent gives the slot
/// back (nothing is published, the next loan gets the same slot).
pub struct Loan<'a, T: ShmType> {
    publisher: &'a mut Publisher<T, Lossless>,
    ptr: NonNull<T>,
}

impl<T: ShmType> Loan<'_, T> {
    /// Publishes the sample: subscribers can receive it from now on.
    #[inline]
    pub fn send(self) {
        self.publisher.topic.core.publish(&mut self.publisher.state);
    }

    /// Overwrites the whole sample with `value`.
    pub fn write(&mut self, value: T) {
        **self = value;
    }

    /// The position the sample will have.
    pub fn position(&self) -> u64 {
        self.publisher.state.write
    }
}

impl<T: ShmType> Deref for Loan<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the slot is reserved for this publisher: every subscriber released the sample
        // it held before (`try_reserve`), and none reads it again until `send` stamps its
        // sequence word, so no other process reads or writes these bytes while the loan lives.
        // The pointer is aligned for `T` (slots are 8-aligned; `ShmType`s align to at most 8)
        // inside the mapping the topic handle keeps; every bit pattern is a valid `T`.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ShmType> DerefMut for Loan<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; `&mut self` makes this the only reference in this process.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T: ShmType> std::fmt::Debug for Loan<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loan").field("position", &self.position()).finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Subscriber
// ---------------------------------------------------------------------------------------------

/// A subscriber of a topic ([`Topic::subscriber`]): its own cursor and record. Leaves on drop.
pub struct Subscriber<T: ShmType, M: TopicMode = Lossless> {
    topic: Topic<T, M>,
    state: SubState,
}

impl<T: ShmType, M: TopicMode> Subscriber<T, M> {
    /// The topic.
    pub fn topic(&self) -> &Topic<T, M> {
        &self.topic
    }

    /// Samples received since joining.
    pub fn received(&self) -> u64 {
        self.state.received()
    }

    /// Samples skipped because they were overwritten before this subscriber read them (lossy
    /// mode; 0 in lossless mode). `received + missed` = samples published since joining, once
    /// caught up.
    pub fn missed(&self) -> u64 {
        self.state.missed
    }

    /// The position of the next sample this subscriber reads.
    pub fn position(&self) -> u64 {
        self.state.cursor
    }

    /// Samples published and not yet read by this subscriber. Approximate under concurrency.
    pub fn lag(&self) -> u64 {
        self.topic.core.write_pos().saturating_sub(self.state.cursor)
    }

    /// Whether this subscriber still holds its record: `false` only if a survivor released it
    /// taking this process for dead (a recycled pid with a forged start time; never otherwise).
    pub fn is_joined(&self) -> bool {
        self.topic.core.holds(&self.state)
    }

    /// Copies the next sample out, waiting at most `timeout` ([`Error::Timeout`]);
    /// [`Error::Closed`] once the topic is closed and every sample published before the close
    /// was received (at once: a receive waiting when the topic is closed wakes).
    pub fn receive_copy(&mut self, timeout: Option<Duration>) -> Result<T> {
        let mut v = [T::new_zeroed()];
        let deadline = Deadline::after(timeout);
        if M::FLAGS & flags::TOPIC_LOSSY != 0 {
            let r = self.topic.core.copy(&mut self.state, &mut v, deadline)?;
            r.map_err(|Closed| self.topic.closed())?;
        } else {
            let r = self.topic.core.wait_ready(&mut self.state, deadline)?;
            let slot = r.map_err(|Closed| self.topic.closed())?;
            self.topic.core.slots.load(slot, &mut v);
            self.topic.core.release(&mut self.state);
        }
        Ok(v[0])
    }

    /// Copies the next sample out if one is there. `None` if there is none now — or ever
    /// again, if [`is_finished`](Self::is_finished).
    pub fn try_receive_copy(&mut self) -> Option<T> {
        self.try_copy_or_closed().ok().flatten()
    }

    /// [`try_receive_copy`](Self::try_receive_copy), telling the end of a closed topic apart.
    fn try_copy_or_closed(&mut self) -> std::result::Result<Option<T>, Closed> {
        let mut v = [T::new_zeroed()];
        if M::FLAGS & flags::TOPIC_LOSSY != 0 {
            return Ok(self.topic.core.try_copy(&mut self.state, &mut v)?.then_some(v[0]));
        }
        match self.topic.core.peek(&mut self.state) {
            Next::Ready { slot } => {
                self.topic.core.slots.load(slot, &mut v);
                self.topic.core.release(&mut self.state);
                Ok(Some(v[0]))
            }
            Next::Empty => Ok(None),
            Next::Closed => Err(Closed),
        }
    }

    /// Whether the topic is closed and this subscriber has passed every sample published before
    /// the close (received, or missed in lossy mode): nothing will ever be received again. The
    /// blocking receives return [`Error::Closed`] in this state.
    pub fn is_finished(&self) -> bool {
        self.topic.core.finished(&self.state)
    }
}

impl<T: ShmType> Subscriber<T, Lossless> {
    /// The next sample, read in place, if one is there. It stays this subscriber's until the
    /// [`Sample`] drops (the publisher cannot reuse its slot until then).
    #[inline]
    pub fn try_receive(&mut self) -> Option<Sample<'_, T>> {
        match self.topic.core.peek(&mut self.state) {
            Next::Ready { slot } => Some(self.sample(slot)),
            Next::Empty | Next::Closed => None,
        }
    }

    /// The next sample, read in place, waiting at most `timeout` ([`Error::Timeout`]);
    /// [`Error::Closed`] as for [`receive_copy`](Self::receive_copy).
    pub fn receive(&mut self, timeout: Option<Duration>) -> Result<Sample<'_, T>> {
        let r = self.topic.core.wait_ready(&mut self.state, Deadline::after(timeout))?;
        let slot = r.map_err(|Closed| self.topic.closed())?;
        Ok(self.sample(slot))
    }

    #[inline]
    fn sample(&mut self, slot: usize) -> Sample<'_, T> {
        let ptr = self.topic.core.slots.payload(slot);
        Sample { subscriber: self, ptr }
    }
}

impl<T: ShmType, M: TopicMode> Drop for Subscriber<T, M> {
    fn drop(&mut self) {
        self.topic.core.leave(&self.state);
    }
}

impl<T: ShmType, M: TopicMode> std::fmt::Debug for Subscriber<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("topic", &self.topic.name())
            .field("position", &self.state.cursor)
            .field("missed", &self.state.missed)
            .finish()
    }
}

/// A sample of a lossless topic read in place ([`Subscriber::receive`]); released when dropped.
pub struct Sample<'a, T: ShmType> {
    subscriber: &'a mut Subscriber<T, Lossless>,
    ptr: NonNull<T>,
}

impl<T: ShmType> Sample<'_, T> {
    /// The sample's position in the topic.
    pub fn position(&self) -> u64 {
        self.subscriber.state.cursor
    }
}

impl<T: ShmType> Deref for Sample<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the slot's sequence word said this sample is published (acquire), and this
        // subscriber's cursor, which the publisher must pass before it rewrites the slot, stays
        // at the sample until the guard drops: no process writes these bytes meanwhile. Aligned,
        // inside the mapping the topic handle keeps; every bit pattern is a valid `T`.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ShmType> Drop for Sample<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.subscriber.topic.core.release(&mut self.subscriber.state);
    }
}

impl<T: ShmType> std::fmt::Debug for Sample<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sample").field("position", &self.position()).finish()
    }
}

/// Ready when a receive would find a sample without waiting.
impl<T: ShmType, M: TopicMode> crate::sys::wait_set::Readiness for Subscriber<T, M> {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        ShmCore::<T>::subscriber_source(self.topic.clone(), |t| &t.core, self.state.record)
    }
}

#[cfg(not(loom))]
impl<T: ShmType, M: TopicMode> Subscriber<T, M> {
    /// Copies the next sample out, awaiting one: the `async` [`receive_copy`](Self::receive_copy).
    /// Cancellation-safe (a sample is taken only in the poll that returns it).
    /// [`Error::Closed`] as for [`receive_copy`](Self::receive_copy).
    pub async fn receive_copy_async(&mut self) -> Result<T> {
        let source = crate::sys::wait_set::Readiness::wait_source(self);
        crate::sys::reactor::retry(source, || self.try_copy_or_closed().map_err(|Closed| self.topic.closed())).await
    }
}

#[cfg(not(loom))]
impl<T: ShmType> Subscriber<T, Lossless> {
    /// The next sample, read in place, awaiting one: the `async` [`receive`](Self::receive).
    /// Cancellation-safe (the sample stays unread until a poll returns it).
    pub async fn receive_async(&mut self) -> Result<Sample<'_, T>> {
        let source = crate::sys::wait_set::Readiness::wait_source(self);
        loop {
            match self.topic.core.peek(&mut self.state) {
                Next::Ready { slot } => return Ok(self.sample(slot)),
                Next::Closed => return Err(self.topic.closed()),
                Next::Empty => {}
            }
            crate::sys::reactor::Ready::new(source.clone()).await?;
        }
    }
}

/// Ready when [`try_loan`](Publisher::try_loan) would find the next slot released by every
/// subscriber.
#[cfg(not(loom))]
impl<T: ShmType> crate::sys::wait_set::Readiness for Publisher<T, Lossless> {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        crate::sys::wait_set::Source::new(
            self.topic.clone(),
            |t| t.core.space_ready().sleep_point(true),
            |t| t.core.probe_space(),
        )
    }
}

#[cfg(not(loom))]
impl<T: ShmType> Publisher<T, Lossless> {
    /// Loans the next slot, awaiting its release by the slowest subscriber: the `async`
    /// [`loan`](Self::loan). Cancellation-safe (nothing is reserved until the poll that returns
    /// the loan; a loan dropped unsent gives the slot back).
    pub async fn loan_async(&mut self) -> Result<Loan<'_, T>> {
        let source = crate::sys::wait_set::Readiness::wait_source(self);
        loop {
            match self.topic.core.try_reserve(&mut self.state, true) {
                Ok(()) => return Ok(self.loan_reserved()),
                Err(b) if b.closed => return Err(self.topic.closed()),
                Err(_) => {}
            }
            crate::sys::reactor::Ready::new(source.clone()).await?;
        }
    }

    /// Publishes a copy of `value`, awaiting space: the `async` [`send_copy`](Self::send_copy).
    /// Cancellation-safe (published only in the poll that completes).
    /// [`Error::Closed`] (not published) if the topic is closed.
    pub async fn send_copy_async(&mut self, value: &T) -> Result<()> {
        let source = crate::sys::wait_set::Readiness::wait_source(self);
        crate::sys::reactor::retry(source, || {
            if self.state.closed {
                return Err(self.topic.closed());
            }
            Ok(self.try_send_copy(value).then_some(()))
        })
        .await
    }
}
