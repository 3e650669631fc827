//! What travels on Zenoh: one Zenoh sample per batch of elements, on key `<prefix>/<stream>`,
//! and acknowledgements back, on `<prefix>/<stream>/ack`. A batch's payload is the elements'
//! bytes, back to back, exactly as they sit in the segment; its attachment is a [`Header`] that
//! says what they are and where they belong in the stream. An [`Ack`] is a 24-byte payload.
//!
//! ```text
//! attachment (little-endian)                         payload
//! off size
//!   0   4  magic 0x4250_495A ("ZIPB")                 count × elem_size bytes: the elements,
//!   4   2  version (2)                                oldest first
//!   6   1  kind: 1 queue, 2 ring, 3 topic
//!   7   1  flags: bit 0 lossy
//!   8   4  elem_size
//!  12   4  count (0: an announcement, no payload)
//!  16   8  fingerprint of the element's canonical layout (FORMAT.md)
//!  24   8  incarnation: names one life of the exported structure
//!  32   8  origin: the stream index the incarnation started at
//!  40   8  first: the stream index of the first element in the payload
//!  48   8  replay_floor: the oldest index the exporter can still send again
//!  56   2  layout_len (≤ 4096)
//!  58   …  the canonical layout string, UTF-8
//!
//! ack (payload, little-endian)
//!   0   4  magic 0x4150_495A ("ZIPA")
//!   4   2  version (2)
//!   6   1  flags: bit 0 resume (send again everything from `next` on)
//!   7   1  0
//!   8   8  incarnation the importer follows
//!  16   8  next: the index of the first element the importer has not written
//! ```
//!
//! A batch of no elements is an *announcement*: `first` is the index of the next element the
//! exporter will send, and `replay_floor` the oldest it still holds. The exporter sends one when
//! an importer appears and every [`ANNOUNCE_EVERY`] while it has nothing to send, so that an
//! importer learns of elements at the end of the stream that it never received — sent by an
//! exporter that died, or lost with a link — without waiting for a next element that may never
//! come: it asks for them again or counts them as dropped, as for any batch.
//!
//! The stream index of an element is its position in the exported structure (the queue's read
//! position, the topic subscriber's cursor, the ring's read position), which lives in the
//! segment: it survives a restart of either bridge, so an importer tells a gap (elements that
//! never arrived: counted as dropped) from a repeat (skipped) exactly. Everything here comes off
//! the network and is checked before use: [`Header::decode`] refuses any attachment or payload
//! that does not add up, and the importer counts what it refuses.

use std::fmt;

/// `"ZIPB"` as a little-endian `u32`.
pub const MAGIC: u32 = u32::from_le_bytes(*b"ZIPB");
/// `"ZIPA"` as a little-endian `u32`.
pub const ACK_MAGIC: u32 = u32::from_le_bytes(*b"ZIPA");
/// The version of this format.
pub const VERSION: u16 = 2;
/// Bytes before the layout string.
pub const FIXED_LEN: usize = 58;
/// Bytes of an [`Ack`].
pub const ACK_LEN: usize = 24;
/// How often an idle exporter announces its position (an empty batch).
pub const ANNOUNCE_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// Longest layout string accepted.
pub const MAX_LAYOUT_LEN: usize = 4096;

/// The kind of structure a stream comes from (and goes into).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// A queue of any policy.
    Queue,
    /// A ring.
    Ring,
    /// A topic.
    Topic,
}

impl StreamKind {
    fn code(self) -> u8 {
        match self {
            StreamKind::Queue => 1,
            StreamKind::Ring => 2,
            StreamKind::Topic => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(StreamKind::Queue),
            2 => Some(StreamKind::Ring),
            3 => Some(StreamKind::Topic),
            _ => None,
        }
    }

    /// `"queue"`, `"ring"` or `"topic"`.
    pub fn label(self) -> &'static str {
        match self {
            StreamKind::Queue => "queue",
            StreamKind::Ring => "ring",
            StreamKind::Topic => "topic",
        }
    }
}

/// The attachment of one batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Kind of the exported structure.
    pub kind: StreamKind,
    /// Whether the stream is lossy (a ring, a lossy topic): the newest data wins.
    pub lossy: bool,
    /// Bytes per element.
    pub elem_size: u32,
    /// Elements in the payload.
    pub count: u32,
    /// Layout fingerprint of the element type.
    pub fingerprint: u64,
    /// The exported structure's incarnation.
    pub incarnation: u64,
    /// Stream index this incarnation started at.
    pub origin: u64,
    /// Stream index of the payload's first element.
    pub first: u64,
    /// The oldest stream index the exporter still holds and can send again (lossless streams;
    /// for lossy ones, `first`).
    pub replay_floor: u64,
    /// Canonical layout string of the element type.
    pub layout: String,
}

/// Why an attachment or payload was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed batch: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

impl Header {
    /// The attachment bytes.
    pub fn encode(&self) -> Vec<u8> {
        let layout = &self.layout.as_bytes()[..self.layout.len().min(MAX_LAYOUT_LEN)];
        let mut out = Vec::with_capacity(FIXED_LEN + layout.len());
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.push(self.kind.code());
        out.push(u8::from(self.lossy));
        out.extend_from_slice(&self.elem_size.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        out.extend_from_slice(&self.incarnation.to_le_bytes());
        out.extend_from_slice(&self.origin.to_le_bytes());
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.replay_floor.to_le_bytes());
        out.extend_from_slice(&(layout.len() as u16).to_le_bytes());
        out.extend_from_slice(layout);
        out
    }

    /// Parses an attachment and checks it against the payload length: exactly `count` whole
    /// elements.
    pub fn decode(attachment: &[u8], payload_len: usize) -> Result<Header, Malformed> {
        let bad = |why: String| Err(Malformed(why));
        if attachment.len() < FIXED_LEN {
            return bad(format!(
                "an attachment of {} bytes is shorter than the {FIXED_LEN}-byte header",
                attachment.len()
            ));
        }
        let u16_at = |o: usize| u16::from_le_bytes([attachment[o], attachment[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes(attachment[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(attachment[o..o + 8].try_into().expect("8 bytes"));
        if u32_at(0) != MAGIC {
            return bad(format!("magic {:#010x} is not zipc-bridge's {MAGIC:#010x}", u32_at(0)));
        }
        if u16_at(4) != VERSION {
            return bad(format!("format version {} (this bridge speaks {VERSION})", u16_at(4)));
        }
        let Some(kind) = StreamKind::from_code(attachment[6]) else {
            return bad(format!("unknown structure kind {}", attachment[6]));
        };
        if attachment[7] > 1 {
            return bad(format!("unknown flags {:#04x}", attachment[7]));
        }
        let (elem_size, count) = (u32_at(8), u32_at(12));
        if elem_size == 0 {
            return bad(format!("{count} elements of 0 bytes: an element has at least 1"));
        }
        let layout_len = usize::from(u16_at(56));
        if layout_len > MAX_LAYOUT_LEN || FIXED_LEN + layout_len != attachment.len() {
            return bad(format!(
                "a layout string of {layout_len} bytes in an attachment of {} bytes",
                attachment.len()
            ));
        }
        let Ok(layout) = std::str::from_utf8(&attachment[FIXED_LEN..]) else {
            return bad("the layout string is not UTF-8".to_owned());
        };
        match (elem_size as usize).checked_mul(count as usize) {
            Some(n) if n == payload_len => {}
            _ => return bad(format!("a payload of {payload_len} bytes is not {count} elements of {elem_size} bytes")),
        }
        Ok(Header {
            kind,
            lossy: attachment[7] & 1 == 1,
            elem_size,
            count,
            fingerprint: u64_at(16),
            incarnation: u64_at(24),
            origin: u64_at(32),
            first: u64_at(40),
            replay_floor: u64_at(48),
            layout: layout.to_owned(),
        })
    }
}

/// An importer's acknowledgement: everything before `next` is written (the exporter may forget
/// it), and, with `resume`, a request to send again everything from `next` on (an importer that
/// restarted, or saw a batch arrive ahead of what it expects).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The incarnation the importer follows.
    pub incarnation: u64,
    /// The first index it has not written.
    pub next: u64,
    /// Send again from `next`.
    pub resume: bool,
}

impl Ack {
    /// The payload bytes.
    pub fn encode(&self) -> [u8; ACK_LEN] {
        let mut out = [0u8; ACK_LEN];
        out[0..4].copy_from_slice(&ACK_MAGIC.to_le_bytes());
        out[4..6].copy_from_slice(&VERSION.to_le_bytes());
        out[6] = u8::from(self.resume);
        out[8..16].copy_from_slice(&self.incarnation.to_le_bytes());
        out[16..24].copy_from_slice(&self.next.to_le_bytes());
        out
    }

    /// Parses an acknowledgement.
    pub fn decode(b: &[u8]) -> Result<Ack, Malformed> {
        if b.len() != ACK_LEN {
            return Err(Malformed(format!("an acknowledgement of {} bytes (they have {ACK_LEN})", b.len())));
        }
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        if u32::from_le_bytes(b[0..4].try_into().expect("4 bytes")) != ACK_MAGIC
            || u16::from_le_bytes([b[4], b[5]]) != VERSION
            || b[6] > 1
            || b[7] != 0
        {
            return Err(Malformed("not a zipc-bridge acknowledgement of this version".to_owned()));
        }
        Ok(Ack { incarnation: u64_at(8), next: u64_at(16), resume: b[6] == 1 })
    }
}

/// Whether stream index `a` comes before `b` (indices wrap at 2^64; streams are far shorter).
pub fn before(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) < 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            kind: StreamKind::Topic,
            lossy: true,
            elem_size: 16,
            count: 3,
            fingerprint: 0x0123_4567_89ab_cdef,
            incarnation: 42,
            origin: 7,
            first: u64::MAX - 1,
            replay_floor: u64::MAX - 9,
            layout: "{ts:u64@0,v:f64@8}#16".to_owned(),
        }
    }

    #[test]
    fn a_header_round_trips() {
        let h = sample();
        assert_eq!(Header::decode(&h.encode(), 48), Ok(h));
    }

    #[test]
    fn every_inconsistency_is_refused() {
        let good = sample().encode();
        assert!(Header::decode(&good, 47).is_err(), "payload not whole elements");
        assert!(Header::decode(&good, 64).is_err(), "payload longer than count");
        assert!(Header::decode(&good[..FIXED_LEN - 1], 48).is_err(), "short attachment");
        assert!(Header::decode(&good[..good.len() - 1], 48).is_err(), "truncated layout");
        let mut bad = good.clone();
        bad[0] ^= 1;
        assert!(Header::decode(&bad, 48).unwrap_err().0.contains("magic"));
        let mut bad = good.clone();
        bad[4] = 9;
        assert!(Header::decode(&bad, 48).unwrap_err().0.contains("version"));
        let mut bad = good.clone();
        bad[6] = 0;
        assert!(Header::decode(&bad, 48).unwrap_err().0.contains("kind"));
        let mut bad = good.clone();
        bad[12..16].copy_from_slice(&0u32.to_le_bytes());
        assert!(Header::decode(&bad, 48).is_err(), "an announcement carries no elements");
        assert_eq!(Header::decode(&bad, 0).map(|h| h.count), Ok(0), "an announcement");
        let mut bad = good.clone();
        bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Header::decode(&bad, 48).is_err(), "a product that overflows is refused, not wrapped");
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 1] = 0xff;
        assert!(Header::decode(&bad, 48).unwrap_err().0.contains("UTF-8"));
    }

    #[test]
    fn an_ack_round_trips_and_nothing_else_passes_for_one() {
        let a = Ack { incarnation: 7, next: u64::MAX, resume: true };
        assert_eq!(Ack::decode(&a.encode()), Ok(a));
        assert!(Ack::decode(&a.encode()[..23]).is_err());
        for i in 0..8 {
            let mut b = a.encode();
            b[i] ^= 0x40;
            assert!(Ack::decode(&b).is_err(), "byte {i} corrupted");
        }
        assert!(before(u64::MAX, 0) && !before(0, u64::MAX) && !before(5, 5));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic sweep: every prefix and every single-byte corruption.
        let good = sample().encode();
        for len in 0..good.len() {
            let _ = Header::decode(&good[..len], 48);
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = Header::decode(&b, 48);
            }
        }
    }
}
