//! The segments on this machine: what each object in `/dev/shm` is, who uses it, and removing
//! the ones nobody alive uses (`zipc-schema list`, `rm`, `rm --stale`).
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use zipc::shm_dir::{self, What};
//! for obj in shm_dir::list()? {
//!     if let What::Zipc { processes, .. } = &obj.what {
//!         if !processes.iter().any(|p| p.alive) {
//!             shm_dir::remove(&obj.name, false)?; // refuses if someone attached meanwhile
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # When a segment is in use
//!
//! A zipc segment is in use while a live process is attached to it: the process registry in its
//! self-description records every process that opened or created it (pid and start time, so a
//! reused pid does not count), until the process drops its last mapping. Inspection tools,
//! including this module, open segments *unattached*. Readers generated for C and Python attach
//! unattached too, so they do not count.
//!
//! Segments made by ZeroIPC keep no registry: whether they are in use cannot be known. They are
//! never "unused" ([`Listed::in_use`] is `None`); [`remove`] removes one only when asked by name.
//!
//! # Removing without a race
//!
//! [`remove`] checks the registry, then removes the name — but a process may open the segment
//! just before the name goes and attach just after the check. So the removal first gives the
//! object a second, temporary name (`/.zipc-tmp-PID-N-T`), removes the real name, checks the
//! registry again, and if a live process attached meanwhile, puts the real name back (unless a
//! new segment took it meanwhile: that is reported) and fails with [`Error::InUse`]. What remains
//! is a process that opened the segment before the removal and attaches after the second check
//! (microseconds later): it works on a segment that no longer has a name.
//!
//! # Leftovers
//!
//! A segment is built under a temporary name and linked into place when complete. A creator
//! killed in between leaves the temporary object (`/.zipc-tmp-PID-N-T`) behind; it is a leftover
//! once process `PID` is gone. (A live process with that pid keeps it: a pid reused since then
//! only delays the cleanup.)

use crate::error::{Error, Object, Result};
use crate::segment::mapping::{self, SHM_DIR, TEMP_PREFIX};
use crate::segment::registry::Attached;
use crate::segment::Segment;
use crate::sys::process;

/// One object in `/dev/shm`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Its name, `/NAME` (the file `/dev/shm/NAME`).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// What it is.
    pub what: What,
}

/// What an object in `/dev/shm` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// A zipc segment.
    Zipc {
        /// User structures in its table.
        entries: u32,
        /// The processes attached to it, with liveness.
        processes: Vec<Attached>,
    },
    /// A segment made by ZeroIPC (no self-description, no process registry).
    ZeroIpc {
        /// Structures in its table.
        entries: u32,
    },
    /// It has the ZeroIPC/zipc magic number but does not validate; the error says why.
    Corrupt(String),
    /// A segment whose creation never finished: the temporary object of process `pid`.
    Leftover {
        /// The creator.
        pid: u32,
        /// Whether a process with that pid is alive (then it may still be building it).
        alive: bool,
    },
    /// Something else: another program's shared memory, a POSIX semaphore, ...
    Other,
    /// It could not be opened (typically another user's segment); the error says why.
    Unreadable(String),
}

impl Listed {
    /// Whether a live process uses it: `Some` for zipc segments (from the registry) and
    /// leftovers (their creator), `None` when it cannot be known (ZeroIPC segments, corrupt or
    /// unreadable objects) or does not apply.
    pub fn in_use(&self) -> Option<bool> {
        match &self.what {
            What::Zipc { processes, .. } => Some(processes.iter().any(|p| p.alive)),
            What::Leftover { alive, .. } => Some(*alive),
            _ => None,
        }
    }
}

/// Every regular file in `/dev/shm`, sorted by name, each classified (see [`What`]). Objects
/// that vanish while being looked at are left out; so are directories, symbolic links and
/// names that are not UTF-8.
pub fn list() -> Result<Vec<Listed>> {
    let dir = std::fs::read_dir(SHM_DIR).map_err(|e| Error::os("read_dir", SHM_DIR, e))?;
    let mut out: Vec<Listed> = dir
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let file = entry.file_name().into_string().ok()?;
            examine(&format!("/{file}")).ok()
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Classifies the object `name` (`/NAME`). [`Error::NotFound`] if there is no regular file of
/// that name in `/dev/shm`.
pub fn examine(name: &str) -> Result<Listed> {
    let not_found = || Error::NotFound { object: Object::Segment, name: name.to_owned() };
    if !name.starts_with('/') || name[1..].contains('/') {
        return Err(not_found());
    }
    let meta = std::fs::symlink_metadata(mapping::shm_path(name)).map_err(|e| Error::os("stat", name, e))?;
    if !meta.file_type().is_file() {
        return Err(not_found());
    }
    let listed = |what| Ok(Listed { name: name.to_owned(), size: meta.len(), what });
    if name.starts_with(TEMP_PREFIX) {
        return match mapping::temp_owner(name) {
            Some(pid) => listed(What::Leftover { pid, alive: process::start_time(pid).is_some() }),
            None => listed(What::Other),
        };
    }
    if mapping::check_segment_name(name).is_err() {
        return listed(What::Other);
    }
    match Segment::open_unattached(name) {
        Ok(seg) => {
            let entries = match seg.entries() {
                Ok(e) => e.len() as u32,
                Err(e) => return listed(What::Corrupt(e.to_string())),
            };
            if seg.is_typed() {
                listed(What::Zipc { entries, processes: seg.attached_processes() })
            } else {
                listed(What::ZeroIpc { entries })
            }
        }
        Err(Error::NotFound { .. }) => Err(not_found()),
        Err(Error::Corrupt { field, .. }) if field == "header.magic" || field == "file size" => listed(What::Other),
        Err(e @ Error::Corrupt { .. }) => listed(What::Corrupt(e.to_string())),
        Err(e) => listed(What::Unreadable(e.to_string())),
    }
}

/// How [`remove`] went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removed {
    /// A zipc segment that no live process was attached to (`dead` processes were recorded).
    Unused {
        /// Attached processes that had died.
        dead: usize,
    },
    /// A zipc segment in use by these live processes, removed because forced.
    Forced {
        /// The live processes attached.
        pids: Vec<u32>,
    },
    /// A ZeroIPC segment: whether it was in use cannot be known.
    UsageUnknown,
    /// An object that is not a valid segment (corrupt, or not a segment at all), removed because
    /// forced; the text says what it was.
    NotASegment(String),
    /// A leftover of an unfinished creation.
    Leftover,
}

/// Removes segment `name` unless a live process is attached to it ([`Error::InUse`], unless
/// `force`), without the race described in the [module docs](self). A ZeroIPC segment (no
/// registry) is removed. A leftover temporary object (`/.zipc-tmp-...`) is removed if its
/// creator is gone (or if forced). An object that is not a valid segment is refused with the
/// error that says why, and removed only if `force`.
pub fn remove(name: &str, force: bool) -> Result<Removed> {
    if let Some(pid) = mapping::temp_owner(name) {
        if !force && process::start_time(pid).is_some() {
            return Err(Error::InUse { segment: name.to_owned(), pids: vec![pid] });
        }
        mapping::unlink_object(name)?;
        return Ok(Removed::Leftover);
    }
    match Segment::open_unattached(name) {
        Ok(seg) if seg.is_typed() => remove_zipc(&seg, force),
        Ok(seg) => {
            Segment::unlink(seg.name())?;
            Ok(Removed::UsageUnknown)
        }
        Err(e @ (Error::Corrupt { .. } | Error::Os { .. })) if force => {
            Segment::unlink(name)?;
            Ok(Removed::NotASegment(e.to_string()))
        }
        Err(e) => Err(e),
    }
}

fn live_pids(seg: &Segment) -> Vec<u32> {
    seg.attached_processes().iter().filter(|p| p.alive).map(|p| p.process.pid).collect()
}

fn remove_zipc(seg: &Segment, force: bool) -> Result<Removed> {
    let name = seg.name();
    let live = live_pids(seg);
    if !live.is_empty() {
        if !force {
            return Err(Error::InUse { segment: name.to_owned(), pids: live });
        }
        Segment::unlink(name)?;
        return Ok(Removed::Forced { pids: live });
    }
    let dead = seg.attached_processes().len();
    // A second name for the object while its real name goes, to restore it if someone
    // attached meanwhile (see the module docs). A removal killed half-way leaves it behind as a
    // leftover of this process, which `rm --stale` cleans.
    let hold = mapping::temp_name();
    let held = std::fs::hard_link(mapping::shm_path(name), mapping::shm_path(&hold)).is_ok();
    Segment::unlink(name)?;
    let late = live_pids(seg);
    let result = if late.is_empty() {
        Ok(Removed::Unused { dead })
    } else if held && std::fs::hard_link(mapping::shm_path(&hold), mapping::shm_path(name)).is_ok() {
        Err(Error::InUse { segment: name.to_owned(), pids: late })
    } else {
        Err(Error::invalid(
            format!("removal of segment {name:?}"),
            format!(
                "process(es) {late:?} attached while it was being removed, and its name could not be restored (a new segment of that name was created meanwhile?): they use a segment without a name"
            ),
        ))
    };
    if held {
        let _ = mapping::unlink_object(&hold);
    }
    result
}
