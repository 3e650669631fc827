//! The importer: receives batches from Zenoh and writes them into a local structure, keeping
//! books that balance exactly.
//!
//! # Semantics: exactly once while the exporter lives, every loss counted
//!
//! Each element carries its stream index (`wire.rs`). The importer knows the index of the next
//! element it expects without any memory of its own: `base + position`, where `position` is the
//! local structure's write position (in the segment, moved by each write) and `base` a counter
//! in the books. For a batch starting at `first`:
//!
//! * `first == expected`: written as it is;
//! * `first < expected`: the front of the batch was written already; it is skipped and counted
//!   as repeated;
//! * `first > expected`, and the exporter still holds `expected` (the batch's replay floor is at
//!   or below it): the batch is discarded, and the importer asks the exporter to send again
//!   from `expected` (a resume); the elements come again, in order;
//! * `first > expected` below the replay floor: the elements in between were sent and will
//!   never come (an exporter died with them). The base moves up by the gap — one store,
//!   *before* any element after the gap is written — and that move is the count of dropped
//!   elements.
//!
//! An announcement (a batch of no elements, `wire.rs`) is handled the same way: it shows a gap
//! at the end of the stream, which no later element would show if none comes.
//!
//! A kill at any instant leaves `base + position` equal to the index of the first element not
//! yet written, so a restarted importer goes on exactly where the dead one stopped, and asks
//! for the rest: delivered + dropped = sent, to the element, and nothing is dropped unless the
//! exporter died. The importer acknowledges what it wrote (at most every 2 ms from the callback,
//! and from its thread 10 ms after the last write), which lets the exporter forget it.
//!
//! The importer writes in the subscriber's callback, on the Zenoh thread that read the batch
//! from the link: no hand-over to another thread, whose wake-up would add to every element's
//! latency. Back-pressure: when the local structure is full the callback waits for room, so
//! Zenoh stops reading from that link; the exporter's blocking publication then waits, and so
//! does the exporting host's producer. Nothing is buffered in the bridge beyond Zenoh's own
//! bounded link buffers. The local processes only ever see a full or an empty structure, never
//! an error from the network. (A full imported structure so holds up the other streams on the
//! same link too: give a stream that may stall a bridge of its own.)
//!
//! A batch whose element layout differs from the local structure's is refused — counted, with
//! the difference reported once as [`zipc::Error::LayoutMismatch`], the error `open` gives — and
//! the other streams go on.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use zenoh::Wait;

use crate::books::{Books, Role, C};
use crate::export::TICK;
use crate::local::{Sink, StreamInfo};
use crate::wire::{before, Ack, Header};
use crate::{log, BridgeError};

/// The error that ended a stream, handed from the callback to the stream's thread.
#[derive(Default)]
struct Ended {
    failed: AtomicBool,
    error: Mutex<Option<BridgeError>>,
    changed: Condvar,
}

impl Ended {
    fn fail(&self, error: BridgeError) {
        self.failed.store(true, Relaxed);
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
        self.changed.notify_all();
    }
}

/// How often the stream's thread looks at the importer: sends an acknowledgement of what was
/// written since the last one, or repeats a request to send again.
const ACK_TICK: Duration = Duration::from_millis(10);
/// Least time between two acknowledgements sent from the callback.
const ACK_EVERY: Duration = Duration::from_millis(2);
/// Least time between two requests to send again.
const RESUME_EVERY: Duration = Duration::from_millis(100);

/// Everything an importer owns.
pub(crate) struct Importer {
    name: String,
    sink: Sink,
    info: StreamInfo,
    books: Arc<Books>,
    /// The remote layout last refused, so each difference is reported once.
    refused_layout: Option<u64>,
    /// Where acknowledgements go (`<key>/ack`).
    acks: Option<zenoh::pubsub::Publisher<'static>>,
    /// The `next` of the last acknowledgement sent, and when.
    acked: (u64, Instant),
    /// Whether the importer waits for batches sent again (it restarted, or a batch arrived
    /// ahead of the next expected index while the exporter still held the ones between), and
    /// when it last asked.
    resuming: Option<Instant>,
    /// Whether the stream is lossy, as its last batch said (lossy streams are not acknowledged).
    lossy: bool,
}

impl Importer {
    /// An importer writing into `sink`.
    pub fn new(name: &str, sink: Sink, info: StreamInfo, books: Arc<Books>) -> Importer {
        // An importer that followed the stream before (its books name an incarnation) restarts:
        // it asks the exporter for everything from the index it expects.
        let restarted = books.get(C::Incarnation) != 0;
        let now = Instant::now();
        Importer {
            name: name.to_owned(),
            sink,
            info,
            books,
            refused_layout: None,
            acks: None,
            acked: (0, now),
            resuming: restarted.then(|| now - RESUME_EVERY),
            lossy: false,
        }
    }
}

impl Importer {
    /// Writes what arrives until `stop` is set. Returns the error that ended the stream, if any.
    pub fn run(mut self, session: &zenoh::Session, key: String, stop: Arc<AtomicBool>) -> Result<(), BridgeError> {
        let acks = session
            .declare_publisher(format!("{key}/ack"))
            .express(true)
            .wait()
            .map_err(BridgeError::zenoh("declaring the acknowledgement publisher"))?;
        self.acks = Some(acks);
        // The callback writes; this thread sends the acknowledgements the callback did not.
        let ended = Arc::new(Ended::default());
        let importer = Arc::new(Mutex::new(self));
        let (e, s, i) = (Arc::clone(&ended), Arc::clone(&stop), Arc::clone(&importer));
        let subscriber = session
            .declare_subscriber(key)
            .callback(move |sample| {
                if e.failed.load(Relaxed) {
                    return;
                }
                let mut importer = i.lock().unwrap_or_else(|p| p.into_inner());
                if let Err(error) = importer.batch(&sample, &s) {
                    e.fail(error);
                }
            })
            .wait()
            .map_err(BridgeError::zenoh("declaring the subscriber"))?;
        let mut error = ended.error.lock().unwrap_or_else(|p| p.into_inner());
        while error.is_none() && !stop.load(Relaxed) {
            error = ended.changed.wait_timeout(error, ACK_TICK).unwrap_or_else(|p| p.into_inner()).0;
            // Not while the callback holds the importer (it may be waiting for room).
            if let Ok(mut importer) = importer.try_lock() {
                importer.tick();
            }
        }
        let error = error.take();
        // A callback still writing sees `stop` within a tick (`batch`). What it could not write
        // stays with the exporter, unacknowledged, for the next importer.
        let _ = subscriber.undeclare().wait();
        error.map_or(Ok(()), Err)
    }

    fn send_ack(&mut self, resume: bool) {
        let next = self.expected();
        let ack = Ack { incarnation: self.books.get(C::Incarnation), next, resume };
        if let Some(p) = &self.acks {
            if let Err(e) = p.put(ack.encode().to_vec()).wait() {
                log(&format!("stream {}: sending an acknowledgement failed: {e}", self.name));
            }
        }
        self.acked = (next, Instant::now());
    }

    /// Asks the exporter to send again from the next expected index (at most every
    /// [`RESUME_EVERY`]).
    fn ask_resume(&mut self) {
        let now = Instant::now();
        if self.resuming.is_none_or(|at| now.duration_since(at) >= RESUME_EVERY) {
            self.resuming = Some(now);
            self.send_ack(true);
        }
    }

    /// Acknowledges what was written since the last acknowledgement, or repeats a request to
    /// send again.
    fn tick(&mut self) {
        if self.books.get(C::Incarnation) == 0 || self.lossy {
            return;
        }
        if self.resuming.is_some() {
            self.ask_resume();
        } else if self.acked.0 != self.expected() {
            self.send_ack(false);
        }
    }

    /// Decodes and checks a sample; counts and reports what it refuses.
    fn accept(&mut self, sample: &zenoh::sample::Sample) -> Option<Header> {
        let payload_len = sample.payload().len();
        let header = match sample.attachment().map(|a| Header::decode(&a.to_bytes(), payload_len)) {
            Some(Ok(h)) => h,
            Some(Err(e)) => {
                self.books.add(C::Refused, (payload_len / self.info.elem_size.max(1)) as u64);
                log(&format!("stream {}: {e}", self.name));
                return None;
            }
            None => {
                self.books.add(C::Refused, (payload_len / self.info.elem_size.max(1)) as u64);
                log(&format!("stream {}: a sample without zipc-bridge's attachment was refused", self.name));
                return None;
            }
        };
        if header.fingerprint != self.info.fingerprint || header.elem_size as usize != self.info.elem_size {
            self.books.add(C::Refused, header.count as u64);
            if self.refused_layout != Some(header.fingerprint) {
                self.refused_layout = Some(header.fingerprint);
                let found = if self.info.layout.is_empty() {
                    format!("{}-byte elements", self.info.elem_size)
                } else {
                    self.info.layout.clone()
                };
                let e = zipc::Error::LayoutMismatch { structure: self.name.clone(), expected: header.layout, found };
                log(&format!("stream {}: refused, the other side's elements differ: {e}", self.name));
            }
            return None;
        }
        if header.incarnation != self.books.get(C::Incarnation) {
            // The first batch ever, or the exported structure was created anew: this life of the
            // stream starts at its origin. Drops of the previous life are kept.
            let position = self.sink.position();
            if self.books.get(C::Incarnation) != 0 {
                let before = self.books.dropped(Role::Import).wrapping_sub(self.books.get(C::Dropped));
                self.books.set(C::DroppedBefore, before);
            }
            let base = header.origin.wrapping_sub(position);
            self.books.set(C::Base0, base);
            self.books.set(C::Base, base);
            self.books.set(C::Incarnation, header.incarnation);
        }
        Some(header)
    }

    /// The index of the next element expected.
    fn expected(&self) -> u64 {
        self.books.get(C::Base).wrapping_add(self.sink.position())
    }

    /// Marks the stream up to `h.first + upto` as accounted for without writing it: a gap.
    fn skip_to(&self, h: &Header, upto: u64) {
        let target = h.first.wrapping_add(upto);
        let behind = target.wrapping_sub(self.expected()) as i64;
        if behind > 0 {
            self.books.set(C::Base, self.books.get(C::Base).wrapping_add(behind as u64));
        }
    }

    /// Writes one batch (the part of it not written before), waiting for room.
    fn batch(&mut self, sample: &zenoh::sample::Sample, stop: &AtomicBool) -> Result<(), BridgeError> {
        let Some(h) = self.accept(sample) else { return Ok(()) };
        self.lossy = h.lossy;
        let count = h.count as u64;
        let expected = self.expected();
        if before(expected, h.first) {
            // Ahead of what is expected. What the exporter still holds it will send again when
            // asked: wait for that. What it no longer holds is gone: a gap, counted by moving
            // the base before anything after it is written.
            let held = !h.lossy && !before(expected, h.replay_floor);
            if held {
                self.ask_resume();
                return Ok(());
            }
            let gone_until = if !h.lossy && before(h.replay_floor, h.first) { h.replay_floor } else { h.first };
            self.skip_to(&h, gone_until.wrapping_sub(h.first));
            if gone_until != h.first {
                self.ask_resume();
                return Ok(());
            }
        }
        self.resuming = None;
        let skip = self.expected().wrapping_sub(h.first).min(count);
        self.books.add(C::Repeated, skip);
        if skip < count {
            let payload = sample.payload().to_bytes();
            let size = self.info.elem_size;
            let mut done = skip as usize;
            while done < h.count as usize {
                if stop.load(Relaxed) {
                    // Shutting down with the local structure full: the rest is not written.
                    // A lossless exporter still holds it (unacknowledged) for the next
                    // importer; of a lossy stream, the next importer counts it as a gap.
                    return Ok(());
                }
                let n = self.sink.put(&payload[done * size..], TICK)?;
                done += n;
                self.books.add(C::Elements, n as u64);
                self.books.add(C::Bytes, (n * size) as u64);
            }
            self.books.add(C::Batches, 1);
        }
        if !h.lossy && self.acked.1.elapsed() >= ACK_EVERY {
            self.send_ack(false);
        }
        Ok(())
    }
}
