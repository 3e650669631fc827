//! [`Attachment`]: a mapped segment as this process holds it — the mapping, the registry slot
//! this process claimed in it, and the lanes its threads took — released together when the last
//! handle lets go. Every structure handle keeps one alive through an `Arc`.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::segment::lane::{HeldLanes, Lane, LaneTable, LANE_SIZE};
use crate::segment::mapping::Mapping;
use crate::segment::registry::{self, Registration};

/// A mapping and what this process holds through it.
#[derive(Debug)]
pub(crate) struct Attachment {
    map: Mapping,
    /// This process's slot in the segment's process registry, freed on drop.
    registration: OnceLock<Registration>,
    /// Unique among this process's attachments, ever: what threads' lane caches are keyed by.
    id: u64,
    /// The segment's lanes, once the self-description is validated.
    lanes: OnceLock<LaneTable>,
    /// Lanes this process's threads took through this attachment, given back on drop.
    held_lanes: HeldLanes,
}

impl Attachment {
    /// Holds `map`, with no registry slot and no lanes yet.
    pub(crate) fn new(map: Mapping) -> Attachment {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Attachment {
            map,
            registration: OnceLock::new(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            lanes: OnceLock::new(),
            held_lanes: HeldLanes::default(),
        }
    }

    /// Records this process's registry slot, to be freed when the attachment is dropped.
    pub(crate) fn set_registration(&self, r: Registration) {
        if let Err(r) = self.registration.set(r) {
            registry::detach(&self.map, &r); // already registered: give the second claim back
        }
    }

    /// This attachment's process-wide unique id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Records where the segment's lanes are (once its self-description is validated).
    pub(crate) fn set_lanes(&self, offset: u64, count: u32) {
        let first = self.map.ptr(offset, LANE_SIZE * count as u64).cast::<Lane>();
        assert!(first.is_aligned(), "zipc bug: misaligned lanes");
        // SAFETY: `count` lanes lie inside the mapping (checked by `ptr`), aligned (checked); the
        // table is kept in this attachment and handed out by copy only to holders of an `Arc` of
        // it.
        let table = unsafe { LaneTable::new(first, count, crate::sys::role::alive) };
        let _ = self.lanes.set(table);
    }

    /// The segment's lanes; `None` for segments made by ZeroIPC.
    pub(crate) fn lanes(&self) -> Option<LaneTable> {
        self.lanes.get().copied()
    }

    /// The lanes this process took through this attachment.
    pub(crate) fn held_lanes(&self) -> &HeldLanes {
        &self.held_lanes
    }
}

impl Deref for Attachment {
    type Target = Mapping;

    fn deref(&self) -> &Mapping {
        &self.map
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if let Some(table) = self.lanes.get() {
            self.held_lanes.release_all(table);
        }
        if let Some(r) = self.registration.take() {
            registry::detach(&self.map, &r);
        }
    }
}
