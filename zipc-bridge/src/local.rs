//! The local end of a stream: the structure in this host's segment that an exporter reads
//! ([`Source`]) or an importer writes ([`Sink`]), through zipc's byte-level handles.
//!
//! Both ends work with *positions*, the structure's own counters in the segment: the queue's
//! read and write positions, the ring's, the topic subscriber's cursor and the topic's publish
//! count. An exporter numbers each element by the read position it was taken at; an importer
//! knows which stream index comes next from its write position. Because these live in shared
//! memory and move with the elements themselves, they stay right across a crash of the bridge:
//! that is what makes the books exact (see `import.rs`). The bridge must therefore be the only
//! consumer of an exported queue or ring and the only producer of an imported one (a topic may
//! have other subscribers; an imported topic must have no other publisher).

use std::time::Duration;

use zipc::dynamic::{
    DynConsumer, DynProducer, DynPublisher, DynQueue, DynRing, DynRingConsumer, DynRingProducer, DynSubscriber,
    DynTopic, ElementSpec,
};
use zipc::layout::Kind;
use zipc::{Error, Object, Result, RingMode, Segment};

use crate::BridgeError;

use crate::wire::StreamKind;

/// What a local structure holds, as the wire describes it.
#[derive(Clone, Debug)]
pub struct StreamInfo {
    /// The structure's kind.
    pub kind: StreamKind,
    /// Whether the newest data wins (overwrite ring, lossy topic).
    pub lossy: bool,
    /// Bytes per element.
    pub elem_size: usize,
    /// Layout fingerprint.
    pub fingerprint: u64,
    /// Canonical layout string ("" if the segment recorded none).
    pub layout: String,
}

/// Looks structure `name` up and describes it, refusing kinds that are not streams.
fn describe(segment: &Segment, name: &str) -> std::result::Result<StreamInfo, BridgeError> {
    let entry =
        segment.entry(name)?.ok_or_else(|| Error::NotFound { object: Object::Structure, name: name.to_owned() })?;
    let not_a_stream = |found: &str| {
        BridgeError::Config(format!(
            "structure {name:?} of {} is {found}: only queues, rings and topics are bridged",
            segment.name()
        ))
    };
    let Some(desc) = entry.descriptor else {
        return Err(not_a_stream("untyped (a segment made by ZeroIPC)"));
    };
    let kind = match desc.kind {
        Kind::Queue => StreamKind::Queue,
        Kind::Ring => StreamKind::Ring,
        Kind::Topic => StreamKind::Topic,
        other => return Err(not_a_stream(&format!("{} {}", other.spec().article, other.spec().name))),
    };
    let info = StreamInfo {
        kind,
        lossy: false,
        elem_size: desc.elem_size as usize,
        fingerprint: desc.fingerprint,
        layout: desc.canonical.clone().unwrap_or_default(),
    };
    Ok(info)
}

fn spec(info: &StreamInfo) -> ElementSpec<'_> {
    if info.layout.is_empty() {
        ElementSpec::new(info.elem_size)
    } else {
        ElementSpec::with_layout(info.elem_size, &info.layout)
    }
}

fn is_timeout(e: &Error) -> bool {
    matches!(e, Error::Timeout)
}

/// The structure an exporter reads, holding its consumer role (a subscriber, for a topic).
// One per exported stream, held for its life: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Source {
    /// A queue's consumer.
    Queue(DynConsumer),
    /// A ring's consumer.
    Ring(DynRingConsumer),
    /// A topic's subscriber; a lossy topic's element taken past a skip waits in `carry`.
    Topic { sub: DynSubscriber, topic: DynTopic, carry: Option<(u64, Vec<u8>)> },
}

impl Source {
    /// Opens structure `name` of `segment` and takes its consumer role.
    pub fn open(segment: &Segment, name: &str) -> std::result::Result<(Source, StreamInfo), BridgeError> {
        let mut info = describe(segment, name)?;
        let source = match info.kind {
            StreamKind::Queue => Source::Queue(DynQueue::open(segment, name, spec(&info))?.consumer()?),
            StreamKind::Ring => {
                let ring = DynRing::open(segment, name, spec(&info))?;
                info.lossy = ring.mode() == RingMode::Overwrite;
                Source::Ring(ring.consumer()?)
            }
            StreamKind::Topic => {
                let topic = DynTopic::open(segment, name, spec(&info))?;
                info.lossy = topic.is_lossy();
                Source::Topic { sub: topic.subscriber()?, topic, carry: None }
            }
        };
        Ok((source, info))
    }

    /// The stream index of the next element this source returns.
    pub fn position(&self) -> u64 {
        match self {
            Source::Queue(c) => c.position(),
            Source::Ring(c) => c.position(),
            Source::Topic { carry: Some((index, _)), .. } => *index,
            Source::Topic { sub, .. } => sub.position(),
        }
    }

    /// Waits at most `timeout` for an element, then takes as many consecutive ones as fit in
    /// `buf` (whole elements): returns the stream index of the first and how many (0 when the
    /// wait timed out). Elements come back in stream order, with consecutive indices.
    pub fn take(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(u64, usize)> {
        match self {
            Source::Queue(c) => {
                let size = c.elem_size();
                match c.pop(&mut buf[..size], Some(timeout)) {
                    Err(e) if is_timeout(&e) => return Ok((c.position(), 0)),
                    r => r?,
                }
                let n = 1 + c.pop_bulk(&mut buf[size..])?;
                Ok((c.position().wrapping_sub(n as u64), n))
            }
            Source::Ring(c) => match c.pop_bulk(buf, Some(timeout)) {
                Err(e) if is_timeout(&e) => Ok((c.position(), 0)),
                Err(e) => Err(e),
                Ok(n) => Ok((c.position().wrapping_sub(n as u64), n)),
            },
            Source::Topic { sub, topic, carry } => {
                let size = topic.elem_size();
                let lossy = topic.is_lossy();
                let mut n = 0;
                let first;
                if let Some((index, bytes)) = carry.take() {
                    buf[..size].copy_from_slice(&bytes);
                    first = index;
                    n = 1;
                } else {
                    match sub.receive_copy(&mut buf[..size], Some(timeout)) {
                        Err(e) if is_timeout(&e) => return Ok((sub.position(), 0)),
                        r => r?,
                    }
                    first = sub.position().wrapping_sub(1);
                    n += 1;
                }
                while (n + 1) * size <= buf.len() {
                    let missed = sub.missed();
                    let slot = &mut buf[n * size..(n + 1) * size];
                    match sub.try_receive_copy(slot) {
                        Ok(true) => {}
                        // A closed topic's end: this batch is what was left; the next take
                        // reports the close.
                        Ok(false) | Err(Error::Closed { .. }) => break,
                        Err(e) => return Err(e),
                    }
                    let index = sub.position().wrapping_sub(1);
                    if lossy && (sub.missed() != missed || index != first.wrapping_add(n as u64)) {
                        // Samples were overwritten between the two: this one starts the next
                        // batch, so that every batch is consecutive.
                        *carry = Some((index, slot.to_vec()));
                        break;
                    }
                    n += 1;
                }
                Ok((first, n))
            }
        }
    }
}

/// The structure an importer writes, holding its producer role (the publisher, for a topic).
pub enum Sink {
    /// A queue's producer.
    Queue(DynProducer),
    /// A ring's producer.
    Ring(DynRingProducer),
    /// A topic's publisher.
    Topic(DynPublisher, DynTopic),
}

impl Sink {
    /// Opens structure `name` of `segment` and takes its producer role.
    pub fn open(segment: &Segment, name: &str) -> std::result::Result<(Sink, StreamInfo), BridgeError> {
        let mut info = describe(segment, name)?;
        let sink = match info.kind {
            StreamKind::Queue => Sink::Queue(DynQueue::open(segment, name, spec(&info))?.producer()?),
            StreamKind::Ring => {
                let ring = DynRing::open(segment, name, spec(&info))?;
                info.lossy = ring.mode() == RingMode::Overwrite;
                Sink::Ring(ring.producer()?)
            }
            StreamKind::Topic => {
                let topic = DynTopic::open(segment, name, spec(&info))?;
                info.lossy = topic.is_lossy();
                Sink::Topic(topic.publisher()?, topic)
            }
        };
        Ok((sink, info))
    }

    /// How many elements have been written into the structure since its creation: the stream
    /// index of the next one, less the importer's base.
    pub fn position(&self) -> u64 {
        match self {
            Sink::Queue(p) => p.position(),
            Sink::Ring(p) => p.position(),
            Sink::Topic(_, topic) => topic.published(),
        }
    }

    /// Writes the elements of `data` (whole elements) in order, waiting at most `timeout` for
    /// room if there is none: returns how many were written (0 only if the wait timed out).
    pub fn put(&mut self, data: &[u8], timeout: Duration) -> Result<usize> {
        match self {
            Sink::Queue(p) => {
                let n = p.push_bulk(data)?;
                if n > 0 {
                    return Ok(n);
                }
                let size = p.elem_size();
                match p.push(&data[..size], Some(timeout)) {
                    Err(e) if is_timeout(&e) => Ok(0),
                    Err(e) => Err(e),
                    Ok(()) => Ok(1),
                }
            }
            Sink::Ring(p) => match p.push_bulk(data, Some(timeout)) {
                Err(e) if is_timeout(&e) => Ok(0),
                r => r,
            },
            Sink::Topic(p, topic) => {
                let size = topic.elem_size();
                let mut n = 0;
                for element in data.chunks_exact(size) {
                    if !p.try_send_copy(element)? {
                        if n > 0 {
                            break;
                        }
                        match p.send_copy(element, Some(timeout)) {
                            Err(e) if is_timeout(&e) => return Ok(0),
                            r => r?,
                        }
                    }
                    n += 1;
                }
                Ok(n)
            }
        }
    }
}
