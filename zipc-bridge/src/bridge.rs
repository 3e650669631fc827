//! [`Bridge`]: one Zenoh session, one thread per bridged stream.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zenoh::Wait;
use zipc::Segment;

use crate::books::{Books, Role, C};
use crate::config::BridgeConfig;
use crate::export::{settle_incarnation, Exporter};
use crate::import::Importer;
use crate::local::{Sink, Source};
use crate::wire::StreamKind;
use crate::{log, BridgeError};

/// What a stream's books say, with the local structure's fill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamStatus {
    /// The structure's name.
    pub name: String,
    /// Exported or imported.
    pub role: Role,
    /// The local structure's kind.
    pub kind: StreamKind,
    /// Elements moved.
    pub elements: u64,
    /// Payload bytes moved.
    pub bytes: u64,
    /// Zenoh samples moved.
    pub batches: u64,
    /// Elements lost (see [`Books::dropped`]).
    pub dropped: u64,
    /// Elements received twice and skipped.
    pub repeated: u64,
    /// Elements refused (another layout, malformed batches).
    pub refused: u64,
    /// Elements sent again because the importer asked (export).
    pub resent: u64,
    /// Elements waiting in the local structure: not yet exported, or not yet consumed here.
    pub lag: u64,
    /// Whether the stream's thread still runs (false after an error ended it).
    pub running: bool,
}

impl StreamStatus {
    /// Reads the books of a stream.
    pub fn from_books(name: &str, role: Role, kind: StreamKind, books: &Books, lag: u64, running: bool) -> Self {
        StreamStatus {
            name: name.to_owned(),
            role,
            kind,
            elements: books.get(C::Elements),
            bytes: books.get(C::Bytes),
            batches: books.get(C::Batches),
            dropped: books.dropped(role),
            repeated: books.get(C::Repeated),
            refused: books.get(C::Refused),
            resent: books.get(C::Resent),
            lag,
            running,
        }
    }
}

impl std::fmt::Display for StreamStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}: elements={} bytes={} batches={} dropped={} repeated={} refused={} resent={} lag={}{}",
            self.role.label(),
            self.kind.label(),
            self.name,
            self.elements,
            self.bytes,
            self.batches,
            self.dropped,
            self.repeated,
            self.refused,
            self.resent,
            self.lag,
            if self.running { "" } else { " (stopped)" }
        )
    }
}

struct Stream {
    name: String,
    role: Role,
    kind: StreamKind,
    books: Arc<Books>,
    /// The local structure, opened again without a role, to read its fill.
    lag: Box<dyn Fn() -> u64 + Send>,
    thread: Option<JoinHandle<Result<(), BridgeError>>>,
}

/// A running bridge: the local segment's exported structures published on Zenoh, the imported
/// ones written from it. Stops (cleanly, threads joined, session closed) on [`stop`](Self::stop)
/// or drop.
///
/// ```no_run
/// use zipc_bridge::{Bridge, BridgeConfig};
/// # fn main() -> Result<(), zipc_bridge::BridgeError> {
/// let bridge = Bridge::start(BridgeConfig::new("/hostA", "lab").export("jobs").listen("tcp/0.0.0.0:7447"))?;
/// for s in bridge.status() {
///     println!("{s}");
/// }
/// bridge.stop()?;
/// # Ok(()) }
/// ```
pub struct Bridge {
    session: Option<zenoh::Session>,
    stop: Arc<AtomicBool>,
    streams: Vec<Stream>,
}

fn open_segment(config: &BridgeConfig) -> Result<Segment, BridgeError> {
    let deadline = config.wait_for_segment.map(|d| Instant::now() + d);
    loop {
        match Segment::open(&config.segment) {
            Err(zipc::Error::NotFound { .. }) if deadline.is_some_and(|d| Instant::now() < d) => {
                // The local application has not created its segment yet.
                std::thread::sleep(Duration::from_millis(50));
            }
            r => return Ok(r?),
        }
    }
}

impl Bridge {
    /// Opens the local segment and every bridged structure (taking the consumer role of each
    /// export and the producer role of each import), joins Zenoh, and starts forwarding.
    /// Fails before anything is forwarded if any of that fails.
    pub fn start(config: BridgeConfig) -> Result<Bridge, BridgeError> {
        config.validate()?;
        let segment = open_segment(&config)?;
        let created_ns = zipc::inspect::snapshot(&segment)?.zipc.map_or(0, |z| z.created_ns);
        let session = zenoh::open(config.zenoh()?).wait().map_err(BridgeError::zenoh("opening the session"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut bridge = Bridge { session: Some(session), stop, streams: Vec::new() };
        for name in &config.exports {
            let (source, info) = Source::open(&segment, name)?;
            let books = Arc::new(Books::open_or_create(&config.segment, name, Role::Export)?);
            settle_incarnation(&books, created_ns, source.position());
            let lag = lag_reader(&segment, name)?;
            let exporter = Exporter {
                name: name.clone(),
                source,
                info: info.clone(),
                books: Arc::clone(&books),
                max_batch_bytes: config.max_batch_bytes,
                max_unacked_bytes: config.max_unacked_bytes,
            };
            let (session, stop, key) = bridge.thread_context(&config, name);
            let thread = spawn(name, move || exporter.run(&session, key, &stop));
            bridge.streams.push(Stream {
                name: name.clone(),
                role: Role::Export,
                kind: info.kind,
                books,
                lag,
                thread: Some(thread?),
            });
        }
        for name in &config.imports {
            let (sink, info) = Sink::open(&segment, name)?;
            let books = Arc::new(Books::open_or_create(&config.segment, name, Role::Import)?);
            let lag = lag_reader(&segment, name)?;
            let importer = Importer::new(name, sink, info.clone(), Arc::clone(&books));
            let (session, stop, key) = bridge.thread_context(&config, name);
            let thread = spawn(name, move || importer.run(&session, key, stop));
            bridge.streams.push(Stream {
                name: name.clone(),
                role: Role::Import,
                kind: info.kind,
                books,
                lag,
                thread: Some(thread?),
            });
        }
        Ok(bridge)
    }

    fn thread_context(&self, config: &BridgeConfig, name: &str) -> (zenoh::Session, Arc<AtomicBool>, String) {
        (self.session.clone().expect("open until stopped"), Arc::clone(&self.stop), config.key(name))
    }

    /// Every stream's books, now.
    pub fn status(&self) -> Vec<StreamStatus> {
        self.streams
            .iter()
            .map(|s| {
                let running = s.thread.as_ref().is_some_and(|t| !t.is_finished());
                StreamStatus::from_books(&s.name, s.role, s.kind, &s.books, (s.lag)(), running)
            })
            .collect()
    }

    /// Stops forwarding: every stream thread finishes its batch (accounting for what it cannot
    /// write) and is joined, then the Zenoh session closes. Returns the first error a stream
    /// ended with, if any.
    pub fn stop(mut self) -> Result<(), BridgeError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), BridgeError> {
        self.stop.store(true, Relaxed);
        let mut first = Ok(());
        for s in &mut self.streams {
            if let Some(t) = s.thread.take() {
                let r = t.join().unwrap_or_else(|_| Err(BridgeError::Config(format!("stream {} panicked", s.name))));
                if let Err(e) = r {
                    log(&format!("stream {}: {e}", s.name));
                    if first.is_ok() {
                        first = Err(e);
                    }
                }
            }
        }
        if let Some(session) = self.session.take() {
            let _ = session.close().wait();
        }
        first
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn spawn(
    name: &str,
    f: impl FnOnce() -> Result<(), BridgeError> + Send + 'static,
) -> Result<JoinHandle<Result<(), BridgeError>>, BridgeError> {
    let label = name.to_owned();
    std::thread::Builder::new()
        .name(format!("zipc-bridge {name}"))
        .spawn(move || {
            let r = f();
            if let Err(e) = &r {
                log(&format!("stream {label} stopped: {e}"));
            }
            r
        })
        .map_err(|e| BridgeError::Config(format!("cannot start the thread of stream {name}: {e}")))
}

/// A reader of a structure's fill that holds no role.
fn lag_reader(segment: &Segment, name: &str) -> Result<Box<dyn Fn() -> u64 + Send>, BridgeError> {
    use zipc::dynamic::{DynQueue, DynRing, DynTopic, ElementSpec};
    let desc = segment.entry(name)?.and_then(|e| e.descriptor).expect("opened as a stream just before");
    let spec = ElementSpec::new(desc.elem_size as usize);
    Ok(match desc.kind {
        zipc::layout::Kind::Queue => {
            let q = DynQueue::open(segment, name, spec)?;
            Box::new(move || q.len())
        }
        zipc::layout::Kind::Ring => {
            let r = DynRing::open(segment, name, spec)?;
            Box::new(move || r.len())
        }
        _ => {
            let t = DynTopic::open(segment, name, spec)?;
            // Published and not yet released by every subscriber (the exporter among them).
            Box::new(move || t.published().saturating_sub(t.released()))
        }
    })
}
