//! zipc-bridge: zipc's queues, rings and topics forwarded between hosts over
//! [Zenoh](https://zenoh.io), with element types checked end to end.
//!
//! A bridge runs beside the processes of one host and one segment. It *exports* structures —
//! reads them as their consumer and publishes what it takes on Zenoh, on key
//! `<prefix>/<structure>` — and *imports* structures — subscribes to a key and writes what
//! arrives into the local structure as its producer. The local processes keep using their
//! structures at shared-memory speed and never see the network: an exported queue that nobody
//! imports fills up as if its consumer were slow; an imported queue empties as if its producer
//! paused.
//!
//! ```text
//!  host A                                              host B
//!  producer ─▶ queue "jobs" ─▶ bridge A ══ Zenoh ══▶ bridge B ─▶ queue "jobs" ─▶ consumer
//!              (/hostA)        export jobs   tcp     import jobs   (/hostB)
//! ```
//!
//! * Types travel with the data: every batch carries the element size, the layout fingerprint
//!   and the canonical layout string (`wire.rs`); an importer whose structure holds another
//!   layout refuses the stream with the error `open` gives, and goes on with the others.
//! * Exactly once while the exporter lives, every loss counted: elements are numbered by their
//!   position in the exported structure, and an importer finds the next expected number from its
//!   own structure's position; the exporter keeps what the importer has not acknowledged and
//!   sends it again when asked (`export.rs`). The books (`books.rs`, a small segment per stream)
//!   balance exactly — delivered + dropped = sent — across a crash and restart of either bridge;
//!   only an exporter's crash drops anything (`import.rs`).
//! * Batching: an exporter takes everything waiting, up to
//!   [`max_batch_bytes`](BridgeConfig::max_batch_bytes), per Zenoh sample. Back-pressure: an
//!   importer's full structure stops the Zenoh link and, through it, the exporter; no buffer
//!   grows without bound.
//!
//! docs/BRIDGE.md has the topologies, the semantics and what happens when things fail.
//!
//! ```no_run
//! use zipc_bridge::{Bridge, BridgeConfig};
//! # fn main() -> Result<(), zipc_bridge::BridgeError> {
//! // Host B: import "jobs" from whoever publishes lab/jobs; connect to host A's bridge.
//! let bridge = Bridge::start(BridgeConfig::new("/hostB", "lab").import("jobs").connect("tcp/10.0.0.1:7447"))?;
//! std::thread::sleep(std::time::Duration::from_secs(10));
//! for stream in bridge.status() {
//!     println!("{stream}"); // import queue jobs: elements=... dropped=0 ...
//! }
//! bridge.stop()
//! # }
//! ```

#![deny(unsafe_code)]

pub mod books;
mod bridge;
pub mod config;
mod export;
mod import;
mod local;
pub mod wire;

use std::fmt;

pub use books::{Books, Role};
pub use bridge::{Bridge, StreamStatus};
pub use config::{BridgeConfig, Mode};

/// What can stop a bridge from starting or a stream from running.
#[derive(Debug)]
pub enum BridgeError {
    /// The local segment or structure: missing, of another kind, corrupt, its role taken, ...
    Zipc(zipc::Error),
    /// Zenoh refused something (opening the session, declaring a key).
    Zenoh {
        /// What the bridge was doing.
        doing: &'static str,
        /// Zenoh's message.
        message: String,
    },
    /// The configuration asks for something impossible.
    Config(String),
}

impl BridgeError {
    fn zenoh<E: fmt::Display>(doing: &'static str) -> impl FnOnce(E) -> BridgeError {
        move |e| BridgeError::Zenoh { doing, message: e.to_string() }
    }
}

impl From<zipc::Error> for BridgeError {
    fn from(e: zipc::Error) -> Self {
        BridgeError::Zipc(e)
    }
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::Zipc(e) => write!(f, "{e}"),
            BridgeError::Zenoh { doing, message } => write!(f, "Zenoh failed {doing}: {message}"),
            BridgeError::Config(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for BridgeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BridgeError::Zipc(e) => Some(e),
            _ => None,
        }
    }
}

/// One line on standard error, prefixed with the program's name.
pub(crate) fn log(line: &str) {
    eprintln!("zipc-bridge: {line}");
}
