//! The process registry: which processes have a segment mapped.
//!
//! Each process that opens or creates a segment claims one slot of the registry in the
//! self-description (`max_processes` slots of 16 bytes: `u32 pid`, `u32 refs`, `u64 start_time`)
//! and counts its mappings in `refs`; the slot is freed when its last mapping is dropped. A slot
//! whose process has died (gone, a zombie, or its pid reused by a process that started later) is
//! *stale*: it is reclaimed by the next attacher, and a segment whose slots are all free or stale
//! is used by nobody alive (`zipc-schema list`, `rm --stale`).
//!
//! Claiming writes `pid` first (compare-and-swap from 0, or from a dead pid), then `start_time`,
//! then `refs = 1`. A reader that sees a pid with `start_time` 0 treats the slot as claimed by a
//! live process if that pid exists (the claimer is between its two stores).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::segment::description::{Description, REGISTRY_OFFSET, REGISTRY_SLOT_SIZE};
use crate::segment::mapping::Mapping;
use crate::sys::process::{self, ProcessId, START_MASK};

/// Byte offsets of a registry slot's fields.
pub mod slot {
    /// `u32 pid` (0 = free)
    pub const PID: u64 = 0;
    /// `u32 refs`: mappings of the segment in that process
    pub const REFS: u64 = 4;
    /// `u64 start_time` (clock ticks since boot, 40 bits; 0 while being claimed)
    pub const START_TIME: u64 = 8;
}

/// A process attached to a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attached {
    /// The process.
    pub process: ProcessId,
    /// How many mappings of the segment it holds.
    pub refs: u32,
    /// Whether it is still alive.
    pub alive: bool,
}

/// This process's claim on a registry slot, held by a [`Mapping`].
#[derive(Debug)]
pub(crate) struct Registration {
    pid: u32,
    slot_offset: u64,
}

struct Slot<'a> {
    pid: &'a AtomicU32,
    refs: &'a AtomicU32,
    start: &'a AtomicU64,
}

fn slot<'a>(map: &'a Mapping, d: &Description, index: u32) -> Slot<'a> {
    let at = d.offset + REGISTRY_OFFSET + REGISTRY_SLOT_SIZE * index as u64;
    Slot {
        pid: map.u32_at(at + slot::PID),
        refs: map.u32_at(at + slot::REFS),
        start: map.u64_at(at + slot::START_TIME),
    }
}

/// Whether the process recorded in a slot is alive. `start == 0`: being claimed, trust the pid.
fn slot_alive(pid: u32, start: u64) -> bool {
    match process::start_time(pid) {
        None => false,
        Some(actual) => start == 0 || actual == start & START_MASK,
    }
}

/// Registers this process: joins its existing slot, or claims a free or stale one.
pub(crate) fn attach(map: &Mapping, d: &Description) -> Result<Registration> {
    let me = process::current();
    let registration = |index: u32| Registration {
        pid: me.pid,
        slot_offset: d.offset + REGISTRY_OFFSET + REGISTRY_SLOT_SIZE * index as u64,
    };
    for i in 0..d.max_processes {
        let s = slot(map, d, i);
        if s.pid.load(Ordering::Acquire) == me.pid && s.start.load(Ordering::Acquire) == me.start_time {
            let mut refs = s.refs.load(Ordering::Relaxed);
            // refs == 0: the slot is being freed; claim another. (u32::MAX, only in damaged
            // bytes, cannot count one more: claim another too.)
            while refs != 0 && refs != u32::MAX {
                match s.refs.compare_exchange(refs, refs + 1, Ordering::AcqRel, Ordering::Relaxed) {
                    Ok(_) => return Ok(registration(i)),
                    Err(now) => refs = now,
                }
            }
        }
    }
    for i in 0..d.max_processes {
        let s = slot(map, d, i);
        let pid = s.pid.load(Ordering::Acquire);
        let free = pid == 0 || !slot_alive(pid, s.start.load(Ordering::Acquire));
        if free && s.pid.compare_exchange(pid, me.pid, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            s.start.store(me.start_time, Ordering::Release);
            s.refs.store(1, Ordering::Release);
            return Ok(registration(i));
        }
    }
    Err(Error::RegistryFull { segment: map.name().to_owned(), capacity: d.max_processes })
}

/// Drops one mapping's claim; frees the slot with the last one. A forked child inherits the
/// parent's mapping but not its registration: it detaches nothing.
pub(crate) fn detach(map: &Mapping, r: &Registration) {
    if std::process::id() != r.pid {
        return;
    }
    let pid = map.u32_at(r.slot_offset + slot::PID);
    let refs = map.u32_at(r.slot_offset + slot::REFS);
    let start = map.u64_at(r.slot_offset + slot::START_TIME);
    if pid.load(Ordering::Acquire) != r.pid {
        return; // reclaimed by someone who thought us dead: nothing of ours to free
    }
    if refs.fetch_sub(1, Ordering::AcqRel) == 1 {
        start.store(0, Ordering::Relaxed);
        let _ = pid.compare_exchange(r.pid, 0, Ordering::AcqRel, Ordering::Relaxed);
    }
}

/// Every claimed slot, with liveness.
pub(crate) fn attach_list(map: &Mapping, d: &Description) -> Vec<Attached> {
    (0..d.max_processes)
        .filter_map(|i| {
            let s = slot(map, d, i);
            let pid = s.pid.load(Ordering::Acquire);
            if pid == 0 {
                return None;
            }
            let start_time = s.start.load(Ordering::Acquire);
            Some(Attached {
                process: ProcessId { pid, start_time },
                refs: s.refs.load(Ordering::Relaxed),
                alive: slot_alive(pid, start_time),
            })
        })
        .collect()
}
