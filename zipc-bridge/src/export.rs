//! The exporter: takes elements from a local structure and publishes them on Zenoh in batches.
//!
//! One thread per stream. It waits (a futex wait in the structure, at most 100 ms at a time so
//! that it sees a stop) for one element, then takes every element already there, up to one
//! batch: at a low rate each element travels at once, at a high rate they travel many per
//! Zenoh sample. A lossless stream (queue, lossless ring or topic) is published only while an
//! importer is subscribed: with nobody listening the exporter stops taking, the local
//! structure fills and its producers wait as they would for a slow local consumer — nothing
//! is taken to be thrown away. Lossless batches use Zenoh's blocking congestion control, so a
//! slow link or importer slows the exporter instead of dropping; lossy streams use dropping
//! congestion control and never wait.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use zenoh::qos::CongestionControl;
use zenoh::Wait;

use crate::books::{Books, C};
use crate::local::{Source, StreamInfo};
use crate::wire::Header;
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

/// Everything an exporter thread owns.
pub(crate) struct Exporter {
    pub name: String,
    pub source: Source,
    pub info: StreamInfo,
    pub books: Arc<Books>,
    pub max_batch_bytes: usize,
}

impl Exporter {
    /// Publishes until `stop` is set. Returns the error that ended the stream, if any.
    pub fn run(mut self, session: &zenoh::Session, key: String, stop: &AtomicBool) -> Result<(), BridgeError> {
        let lossless = !self.info.lossy;
        let publisher = session
            .declare_publisher(key)
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
        let size = self.info.elem_size;
        let per_batch = (self.max_batch_bytes / size).clamp(1, u32::MAX as usize);
        let mut buf = vec![0u8; per_batch * size];
        let mut header = Header {
            kind: self.info.kind,
            lossy: self.info.lossy,
            elem_size: size as u32,
            count: 0,
            fingerprint: self.info.fingerprint,
            incarnation: self.books.get(C::Incarnation),
            origin: self.books.get(C::Origin),
            first: 0,
            layout: self.info.layout.clone(),
        };
        let mut waiting = false;
        while !stop.load(Relaxed) {
            if lossless && !matching.wait(Duration::ZERO) {
                if !waiting {
                    waiting = true;
                    self.books.add(C::Paused, 1);
                }
                matching.wait(TICK);
                continue;
            }
            waiting = false;
            let (first, n) = self.source.take(&mut buf, TICK)?;
            if n == 0 {
                continue;
            }
            header.first = first;
            header.count = n as u32;
            let payload = buf[..n * size].to_vec();
            match publisher.put(payload).attachment(header.encode()).wait() {
                Ok(()) => {
                    self.books.add(C::Elements, n as u64);
                    self.books.add(C::Bytes, (n * size) as u64);
                    self.books.add(C::Batches, 1);
                }
                Err(e) => {
                    // Taken from the structure and not sent: the importer will see the gap;
                    // counted here too, so the exporter's own books say what it lost.
                    self.books.add(C::Dropped, n as u64);
                    log(&format!("stream {}: publishing {n} elements failed: {e}", self.name));
                }
            }
        }
        Ok(())
    }
}
