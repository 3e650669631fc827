//! The books of a bridged stream: counters that survive the bridge, kept in a small zipc segment
//! of their own beside the bridged one, `/<segment>.bridge.<stream>` (for `/hostB` and stream
//! `jobs`: `/hostB.bridge.jobs`).
//!
//! Each counter is a zipc `Atomic<u64>`, so `zipc-schema inspect /hostB.bridge.jobs` shows them
//! by name, `zipc-bridge status /hostB` prints them, and a bridge restarted after a crash goes on
//! counting where its predecessor stopped. The counters that make the books balance exactly are
//! written *before* the elements they account for move (see `import.rs`), so a kill at any
//! instant leaves them right.

use zipc::{Atomic, Result, Segment};

/// The role a stream has on this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read from the local structure, published to Zenoh.
    Export,
    /// Subscribed on Zenoh, written into the local structure.
    Import,
}

impl Role {
    fn code(self) -> u64 {
        match self {
            Role::Export => 1,
            Role::Import => 2,
        }
    }

    /// `"export"` or `"import"`.
    pub fn label(self) -> &'static str {
        match self {
            Role::Export => "export",
            Role::Import => "import",
        }
    }
}

/// Every counter kept, in the order status lines show them.
pub const COUNTERS: &[(&str, &str)] = &[
    ("elements", "elements moved (exported: published; imported: written into the local structure)"),
    ("bytes", "payload bytes moved"),
    ("batches", "Zenoh samples moved"),
    (
        "dropped",
        "elements that were sent and never written here: gaps in the stream (import), failed publications (export)",
    ),
    ("repeated", "elements received twice and skipped (import)"),
    ("refused", "elements refused: a different element layout, or a malformed batch (import)"),
    ("incarnation", "the exported structure's life this stream follows"),
    ("origin", "the stream index that life started at"),
    ("base", "stream index minus the local structure's position (import)"),
    ("base0", "the base when this life started (import)"),
    ("dropped_before", "elements dropped in earlier lives (import)"),
    ("source_created_ns", "creation time of the exported segment (export)"),
    ("paused", "times the exporter waited for an importer to appear (export)"),
    ("role", "1: exported from this segment, 2: imported into it"),
    ("resent", "elements sent again because the importer asked (export)"),
];

/// Name of the books segment of `stream` bridged from or into `segment`.
pub fn books_name(segment: &str, stream: &str) -> String {
    format!("/{}.bridge.{stream}", segment.trim_start_matches('/'))
}

/// The books of one stream.
pub struct Books {
    segment: Segment,
    counters: Vec<Atomic<u64>>,
}

/// A counter, by its index in [`COUNTERS`].
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub enum C {
    Elements = 0,
    Bytes,
    Batches,
    Dropped,
    Repeated,
    Refused,
    Incarnation,
    Origin,
    Base,
    Base0,
    DroppedBefore,
    SourceCreatedNs,
    Paused,
    Role,
    Resent,
}

impl Books {
    /// Opens the books of `stream`, creating them (all zero) the first time, for `role`.
    pub fn open_or_create(segment: &str, stream: &str, role: Role) -> Result<Books> {
        let name = books_name(segment, stream);
        let seg = Segment::options().max_entries(COUNTERS.len() as u32 + 2).size(64 << 10).open_or_create(&name)?;
        let books = Books::from_segment(seg)?;
        books.set(C::Role, role.code());
        Ok(books)
    }

    /// The role these books were last kept for (`None` if never).
    pub fn role(&self) -> Option<Role> {
        match self.get(C::Role) {
            1 => Some(Role::Export),
            2 => Some(Role::Import),
            _ => None,
        }
    }

    /// Opens existing books (for `status`) without creating anything.
    pub fn open(name: &str) -> Result<Books> {
        Books::from_segment(Segment::open_unattached(name)?)
    }

    fn from_segment(segment: Segment) -> Result<Books> {
        let counters = COUNTERS
            .iter()
            .map(|(name, _)| Atomic::<u64>::open_or_create(&segment, name, 0))
            .collect::<Result<Vec<_>>>()?;
        Ok(Books { segment, counters })
    }

    /// The segment holding them.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Reads counter `c`.
    pub fn get(&self, c: C) -> u64 {
        self.counters[c as usize].load()
    }

    /// Sets counter `c`.
    pub fn set(&self, c: C, v: u64) {
        self.counters[c as usize].store(v)
    }

    /// Adds to counter `c`.
    pub fn add(&self, c: C, v: u64) {
        if v != 0 {
            self.counters[c as usize].fetch_add(v);
        }
    }

    /// Elements dropped, in every life of the stream. For an importer that is the earlier
    /// lives' drops plus how far the base has moved in this one: the base moves by exactly
    /// each gap, in one store, before the elements after the gap are written.
    pub fn dropped(&self, role: Role) -> u64 {
        match role {
            Role::Export => self.get(C::Dropped),
            Role::Import => self
                .get(C::DroppedBefore)
                .wrapping_add(self.get(C::Base).wrapping_sub(self.get(C::Base0)))
                .wrapping_add(self.get(C::Dropped)),
        }
    }

    /// Every counter, by name.
    pub fn all(&self) -> Vec<(&'static str, u64)> {
        COUNTERS.iter().zip(&self.counters).map(|((name, _), a)| (*name, a.load())).collect()
    }
}
