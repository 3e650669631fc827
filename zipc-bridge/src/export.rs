//! The exporter: takes elements from a local structure and publishes them on Zenoh in batches.
//!
//! One thread per stream. It waits (a futex wait in the structure, at most 100 ms at a time so
//! that it sees a stop) for one element, then takes every element already there, up to one
//! batch: at a low rate each element travels at once, at a high rate they travel many per
//! Zenoh sample. A lossless stream (queue, lossless ring or topic) is published only while an
//! importer is subscribed: with nobody listening the exporter stops taking, the local
//! structure fills and its producers wait as they would for a slow local consumer — nothing
//! is taken to be thrown away. Lossless batches use Zenoh's blocking congestion control, so a
//! slow link or importer slows the exporter instead of dropping, and are kept until the
//! importer acknowledges them, to be sent again when it asks ([`Exporter::run`]). Lossy
//! streams use dropping congestion control, keep nothing and never wait.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use zenoh::bytes::ZBytes;
use zenoh::qos::CongestionControl;
use zenoh::Wait;

use crate::books::{Books, C};
use crate::local::{Source, StreamInfo};
use crate::wire::{before, Ack, Header, ANNOUNCE_EVERY};
use crate::{log, BridgeError};

/// How long a worker waits at a time before it looks at the stop flag again.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// Whether an importer is subscribed, as Zenoh's matching listener reports it.
#[derive(Default)]
struct Matching {
    now: Mutex<bool>,
    changed: Condvar,
}

impl Matching {
    fn set(&self, matching: bool) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = matching;
        self.changed.notify_all();
    }

    /// Waits at most `timeout` for a subscriber; returns whether there is one.
    fn wait(&self, timeout: Duration) -> bool {
        let now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        let (now, _) = self.changed.wait_timeout_while(now, timeout, |m| !*m).unwrap_or_else(|e| e.into_inner());
        *now
    }
}

/// A new incarnation number: distinct for each life of an exported structure.
fn new_incarnation() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    h.finish() | 1
}

/// Names the life of the exported structure in the books: the same as before while the
/// segment is the one the books saw, a new one (starting at the structure's current position)
/// when the segment was created anew.
pub(crate) fn settle_incarnation(books: &Books, source_created_ns: u64, position: u64) {
    if books.get(C::Incarnation) == 0 || books.get(C::SourceCreatedNs) != source_created_ns {
        books.set(C::Origin, position);
        books.set(C::SourceCreatedNs, source_created_ns);
        books.set(C::Incarnation, new_incarnation());
    }
}

/// What the importer last acknowledged, as the acknowledgement subscriber hands it over.
#[derive(Default)]
struct Acks {
    state: Mutex<AckState>,
    changed: Condvar,
}

#[derive(Default)]
struct AckState {
    /// The first index not yet written by the importer.
    next: Option<u64>,
    /// A request to send again from this index.
    resume: Option<u64>,
}

impl Acks {
    fn take(&self) -> (Option<u64>, Option<u64>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (s.next, s.resume.take())
    }

    fn wait(&self, timeout: Duration) {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self.changed.wait_timeout(s, timeout);
    }
}

/// A batch published and not yet acknowledged: kept to be sent again.
struct Sent {
    first: u64,
    count: u32,
    payload: ZBytes,
}

/// Everything an exporter thread owns.
pub(crate) struct Exporter {
    pub name: String,
    pub source: Source,
    pub info: StreamInfo,
    pub books: Arc<Books>,
    pub max_batch_bytes: usize,
    /// Most payload bytes published and not acknowledged (lossless streams).
    pub max_unacked_bytes: usize,
}

impl Exporter {
    /// Publishes until `stop` is set. Returns the error that ended the stream, if any.
    ///
    /// A lossless stream keeps what it published until the importer acknowledges it (`replay`,
    /// at most `max_unacked_bytes`: when it is full the exporter stops taking, which bounds what
    /// is in flight end to end), and sends it again when the importer asks (`resume`): after
    /// the importer restarted, or when a batch arrived ahead of what it expected. Only an
    /// exporter's own death loses what it held.
    pub fn run(mut self, session: &zenoh::Session, key: String, stop: &AtomicBool) -> Result<(), BridgeError> {
        let lossless = !self.info.lossy;
        let publisher = session
            .declare_publisher(key.clone())
            .congestion_control(if lossless { CongestionControl::Block } else { CongestionControl::Drop })
            .express(true)
            .wait()
            .map_err(BridgeError::zenoh("declaring the publisher"))?;
        let matching = Arc::new(Matching::default());
        let m = Arc::clone(&matching);
        publisher
            .matching_listener()
            .callback(move |status| m.set(status.matching()))
            .background()
            .wait()
            .map_err(BridgeError::zenoh("declaring the matching listener"))?;
        if publisher.matching_status().wait().map(|s| s.matching()).unwrap_or(false) {
            matching.set(true);
        }
        let incarnation = self.books.get(C::Incarnation);
        let acks = Arc::new(Acks::default());
        let a = Arc::clone(&acks);
        let _ack_subscriber = session
            .declare_subscriber(format!("{key}/ack"))
            .callback(move |sample| {
                let Ok(ack) = Ack::decode(&sample.payload().to_bytes()) else { return };
                if ack.incarnation != incarnation {
                    return;
                }
                let mut s = a.state.lock().unwrap_or_else(|e| e.into_inner());
                if s.next.is_none_or(|n| before(n, ack.next)) {
                    s.next = Some(ack.next);
                }
                if ack.resume {
                    s.resume = Some(ack.next);
                }
                a.changed.notify_all();
            })
            .wait()
            .map_err(BridgeError::zenoh("declaring the acknowledgement subscriber"))?;
        let size = self.info.elem_size;
        let per_batch = (self.max_batch_bytes / size).clamp(1, u32::MAX as usize);
        let mut buf = vec![0u8; per_batch * size];
        let mut header = Header {
            kind: self.info.kind,
            lossy: self.info.lossy,
            elem_size: size as u32,
            count: 0,
            fingerprint: self.info.fingerprint,
            incarnation,
            origin: self.books.get(C::Origin),
            first: 0,
            replay_floor: 0,
            layout: self.info.layout.clone(),
        };
        let mut replay: VecDeque<Sent> = VecDeque::new();
        let mut unacked = 0usize;
        let mut waiting = false;
        // Whether to announce the position before the next take (an importer appeared, asked
        // to resume, or the stream has been idle for ANNOUNCE_EVERY), and when it last was: the
        // clock is read on the idle path only, never per batch.
        let (mut announce, mut announced) = (true, Instant::now());
        while !stop.load(Relaxed) {
            if lossless && !matching.wait(Duration::ZERO) {
                if !waiting {
                    waiting = true;
                    self.books.add(C::Paused, 1);
                }
                announce = true;
                matching.wait(TICK);
                continue;
            }
            waiting = false;
            if lossless {
                let (next, resume) = acks.take();
                // Forget what is acknowledged.
                while let (Some(next), Some(b)) = (next, replay.front()) {
                    if before(next, b.first.wrapping_add(u64::from(b.count))) {
                        break;
                    }
                    unacked -= b.payload.len();
                    replay.pop_front();
                }
                if let Some(from) = resume {
                    announce = true;
                    let floor = replay.front().map_or(from, |b| b.first);
                    for b in replay.iter().filter(|b| before(from, b.first.wrapping_add(u64::from(b.count)))) {
                        header.first = b.first;
                        header.count = b.count;
                        header.replay_floor = floor;
                        if let Err(e) = publisher.put(b.payload.clone()).attachment(header.encode()).wait() {
                            log(&format!("stream {}: sending {} elements again failed: {e}", self.name, b.count));
                        }
                        self.books.add(C::Resent, u64::from(b.count));
                    }
                }
                if unacked >= self.max_unacked_bytes {
                    // The importer is that far behind: wait for its acknowledgements.
                    acks.wait(TICK);
                    continue;
                }
            }
            if announce {
                self.announce(&publisher, &mut header, &replay);
                (announce, announced) = (false, Instant::now());
            }
            let (first, n) = self.source.take(&mut buf, TICK)?;
            if n == 0 {
                announce = announced.elapsed() >= ANNOUNCE_EVERY;
                continue;
            }
            let payload = ZBytes::from(buf[..n * size].to_vec());
            header.first = first;
            header.count = n as u32;
            header.replay_floor = if lossless { replay.front().map_or(first, |b| b.first) } else { first };
            let sent = publisher.put(payload.clone()).attachment(header.encode()).wait();
            if let Err(e) = &sent {
                log(&format!("stream {}: publishing {n} elements failed: {e}", self.name));
            }
            if lossless {
                // Kept until acknowledged, sent or not: the importer asks for it again.
                unacked += payload.len();
                replay.push_back(Sent { first, count: n as u32, payload });
            } else if sent.is_err() {
                // Lossy: taken, not sent, not kept: the importer will count the gap; counted
                // here too, so the exporter's own books say what it lost.
                self.books.add(C::Dropped, n as u64);
                continue;
            }
            if sent.is_ok() {
                self.books.add(C::Elements, n as u64);
                self.books.add(C::Bytes, (n * size) as u64);
                self.books.add(C::Batches, 1);
            }
        }
        Ok(())
    }

    /// Publishes an announcement (`wire.rs`): an empty batch saying the index of the next
    /// element and the oldest one still held. It is how an importer learns of elements at the
    /// end of the stream it never got — held by an exporter that died, or lost with a link —
    /// when no later element comes to show the gap.
    fn announce(&self, publisher: &zenoh::pubsub::Publisher<'_>, header: &mut Header, replay: &VecDeque<Sent>) {
        let next = self.source.position();
        header.first = next;
        header.count = 0;
        header.replay_floor = if self.info.lossy { next } else { replay.front().map_or(next, |b| b.first) };
        if let Err(e) = publisher.put(ZBytes::new()).attachment(header.encode()).wait() {
            log(&format!("stream {}: announcing the position failed: {e}", self.name));
        }
    }
}
