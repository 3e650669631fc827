//! [`Segment`]: a named shared-memory segment with its table of structures.
//!
//! # Publication protocol
//!
//! *Segments* are built under a temporary name and published with `link(2)` (see
//! `mapping.rs`): nobody sees a half-built segment, and of concurrent creators one wins
//! and the others get [`Error::AlreadyExists`].
//!
//! *Structures* are added under the table lock (a robust lock, `robust_lock.rs`, in the
//! self-description, so a creator that dies holding it does not block the segment forever):
//!
//! 1. check the name is free, the table has an entry and the segment has room ([`layout::place`]);
//! 2. zero any bytes of the new region a crashed creator may have dirtied, and advance
//!    `dirty_end` past it before writing;
//! 3. initialise the structure's region, then its descriptor and type record, then the entry;
//! 4. store `next_offset`, then release-store `entry_count`.
//!
//! Readers load `entry_count` with acquire ordering and only look at entries below it, so they
//! never see a half-written entry or structure. A creator that dies before step 4 leaves nothing
//! visible; the next one reuses the space.

pub(crate) mod attachment;
pub(crate) mod description;
pub(crate) mod lane;
pub(crate) mod mapping;
pub(crate) mod region;
pub mod registry;
pub mod shm_dir;
pub(crate) mod table;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Object, Result};
use crate::layout::{self, Kind, SegmentLayout, StructureLayout};
use crate::segment::attachment::Attachment;
use crate::segment::description::{Description, Descriptor};
use crate::segment::mapping::Mapping;
use crate::segment::region::Region;
use crate::segment::table::Entry;
use crate::sys::robust_lock::{RobustGuard, RobustLock};

/// How long structure creation waits for the table lock held by a live process before giving up.
pub const TABLE_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Default segment size when none is given: 1 MiB.
pub const DEFAULT_SIZE: u64 = 1 << 20;

/// Options for creating a segment.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// let seg = zipc::Segment::options().size(4 << 20).max_entries(128).mode(0o660).create("/plant")?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentOptions {
    size: u64,
    max_entries: u32,
    max_processes: u32,
    mode: u32,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        SegmentOptions {
            size: DEFAULT_SIZE,
            max_entries: table::DEFAULT_MAX_ENTRIES,
            max_processes: description::DEFAULT_MAX_PROCESSES,
            mode: 0o600,
        }
    }
}

impl SegmentOptions {
    /// Defaults: 1 MiB, 64 table entries, 64 registry slots, mode 0600.
    pub fn new() -> Self {
        Self::default()
    }

    /// Options sized exactly for a declared segment.
    pub fn for_layout(layout: &SegmentLayout<'_>) -> Result<Self> {
        let size = layout.size().map_err(|e| Error::invalid("segment declaration", e.to_string()))?;
        Ok(SegmentOptions { size, max_entries: layout.max_entries, max_processes: layout.max_processes, mode: 0o600 })
    }

    /// Total size in bytes, header and table included; rounded up to the page size.
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = bytes;
        self
    }

    /// Table capacity including zipc's reserved entry (1..=4096, default 64).
    pub fn max_entries(mut self, n: u32) -> Self {
        self.max_entries = n;
        self
    }

    /// Process registry slots (1..=65536, default 64).
    pub fn max_processes(mut self, n: u32) -> Self {
        self.max_processes = n;
        self
    }

    /// Permission bits of the segment file (default 0600; use 0660 or 0666 to share across
    /// users). Applied exactly, regardless of the umask.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// Creates segment `name`; fails with [`Error::AlreadyExists`] if it exists.
    pub fn create(&self, name: &str) -> Result<Segment> {
        Segment::create_with(name, self, |segment| Ok(segment.clone()))
    }

    /// Creates segment `name` and lets `populate` create its structures *before* the segment is
    /// published: other processes see no segment or one with every structure in place, never a
    /// half-populated one. Returns what `populate` returns (typically the structure handles, which
    /// stay valid after publication). If `populate` fails, or the name is taken meanwhile
    /// ([`Error::AlreadyExists`]), nothing is left behind. `#[derive(ShmSegment)]`'s `create`
    /// uses this.
    ///
    /// ```no_run
    /// # fn main() -> zipc::Result<()> {
    /// use zipc::{Array, Atomic, Segment};
    /// let (temps, seq) = Segment::options().size(1 << 16).create_populated("/plant", |seg| {
    ///     Ok((Array::<f32>::create(seg, "temps", 64)?, Atomic::<u64>::create(seg, "seq", 0)?))
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn create_populated<T>(&self, name: &str, populate: impl FnOnce(&Segment) -> Result<T>) -> Result<T> {
        Segment::create_with(name, self, populate)
    }

    /// Opens segment `name`, or creates it with these options if it does not exist.
    pub fn open_or_create(&self, name: &str) -> Result<Segment> {
        loop {
            match Segment::open(name) {
                Err(Error::NotFound { object: Object::Segment, .. }) => {}
                other => return other,
            }
            match self.create(name) {
                Err(Error::AlreadyExists { object: Object::Segment, .. }) => continue, // lost a race: open
                other => return other,
            }
        }
    }
}

/// A mapped segment. Cheap to clone; structures keep the mapping alive on their own.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Array, Segment};
/// let seg = Segment::create("/example", 1 << 20)?;
/// let temps = Array::<f32>::create(&seg, "temps", 1024)?;
/// temps.set(0, 21.5)?;
/// // another process:
/// let seg = Segment::open("/example")?;
/// let temps = Array::<f32>::open(&seg, "temps")?;
/// assert_eq!(temps.get(0), Some(21.5));
/// Segment::unlink("/example")?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Segment {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    map: Arc<Attachment>,
    header: table::Header,
    description: Option<Description>,
    /// Entries read and validated so far. Published entries never change, so each is read from
    /// the segment once (a hostile peer rewriting it later cannot make us see two versions).
    known: std::sync::Mutex<Known>,
}

/// The validated prefix of the table.
#[derive(Debug, Default)]
struct Known {
    entries: Vec<(Entry, Option<Descriptor>)>,
    by_name: std::collections::HashMap<String, u32>,
    /// Region start → (end, entry index), for the overlap check.
    spans: std::collections::BTreeMap<(u64, u32), u64>,
}

/// One table entry and, in a zipc segment, what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    /// Index in the table.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Offset of the region from the segment start.
    pub offset: u64,
    /// Size of the region.
    pub size: u64,
    /// The self-description's record of it; `None` in segments made by ZeroIPC.
    pub descriptor: Option<Descriptor>,
}

/// A structure found by name, validated.
pub(crate) struct Located {
    pub region: Region,
    pub descriptor: Option<Descriptor>,
}

impl Segment {
    /// Options builder; see [`SegmentOptions`].
    pub fn options() -> SegmentOptions {
        SegmentOptions::new()
    }

    /// Creates segment `name` of `size` bytes with default options. Fails with
    /// [`Error::AlreadyExists`] if the name exists.
    pub fn create(name: &str, size: u64) -> Result<Segment> {
        Segment::options().size(size).create(name)
    }

    /// Opens segment `name`, or creates it with `size` bytes if it does not exist.
    pub fn open_or_create(name: &str, size: u64) -> Result<Segment> {
        Segment::options().size(size).open_or_create(name)
    }

    fn create_with<T>(name: &str, o: &SegmentOptions, populate: impl FnOnce(&Segment) -> Result<T>) -> Result<T> {
        mapping::check_segment_name(name)?;
        if !(table::MIN_ENTRIES..=table::MAX_ENTRIES).contains(&o.max_entries) {
            return Err(Error::invalid(
                "max_entries",
                layout::LayoutError::MaxEntries { value: o.max_entries }.to_string(),
            ));
        }
        if o.max_processes == 0 || o.max_processes > description::MAX_PROCESSES {
            return Err(Error::invalid(
                "max_processes",
                layout::LayoutError::MaxProcesses { value: o.max_processes }.to_string(),
            ));
        }
        if o.mode & !0o777 != 0 {
            return Err(Error::invalid("mode", format!("{:#o} has bits beyond 0o777", o.mode)));
        }
        let desc_region = description::region(o.max_entries, o.max_processes);
        let first = layout::place_region(table::table_end(o.max_entries), desc_region, 0)
            .map_err(|e| Error::invalid("segment", e.to_string()))?;
        if o.size < first.end {
            return Err(Error::invalid(
                "size",
                format!(
                    "{} bytes cannot hold a table of {} entries and zipc's self-description: at least {} are needed",
                    o.size, o.max_entries, first.end
                ),
            ));
        }
        let page = mapping::page_size();
        let size = layout::align_up(o.size, page).ok_or_else(|| Error::invalid("size", "too large"))?;
        mapping::create_published(name, size, o.mode, |map| {
            description::init(&map, first.offset, o.max_entries, o.max_processes);
            table::write_entry(&map, 0, description::NAME, first.offset, first.size);
            table::init_header(&map, o.max_entries, first.end);
            table::publish(&map, 1, first.end);
            // Still unpublished: structures created here appear together with the segment.
            populate(&Segment::from_mapping(map, true)?)
        })
    }

    /// Opens an existing segment. Its size and table capacity are read from the segment, and
    /// every header field, entry and descriptor is validated before use.
    pub fn open(name: &str) -> Result<Segment> {
        let map = mapping::open_existing(name, table::HEADER_SIZE)?;
        Segment::from_mapping(map, true)
    }

    /// Opens an existing segment like [`open`](Self::open), but without joining its process
    /// registry: for tools that inspect a segment and must not count as its users.
    pub fn open_unattached(name: &str) -> Result<Segment> {
        let map = mapping::open_existing(name, table::HEADER_SIZE)?;
        Segment::from_mapping(map, false)
    }

    fn from_mapping(map: Mapping, register: bool) -> Result<Segment> {
        let map = Attachment::new(map);
        let header = table::read_header(&map)?;
        table::next_offset(&map, &header)?;
        let count = table::entry_count(&map, &header)?;
        let mut description = None;
        if count > 0 {
            let e0 = table::read_entry(&map, &header, 0)?;
            if e0.name == description::NAME {
                description = Some(description::validate(&map, &header, &e0)?);
            }
        }
        if let Some(d) = &description {
            map.set_lanes(d.lanes_offset(), d.lanes());
        }
        let known = std::sync::Mutex::new(Known::default());
        let seg = Segment { inner: Arc::new(Inner { map: Arc::new(map), header, description, known }) };
        drop(seg.refresh()?);
        if let (true, Some(d)) = (register, &seg.inner.description) {
            seg.inner.map.set_registration(crate::segment::registry::attach(&seg.inner.map, d)?);
        }
        Ok(seg)
    }

    /// Reads and validates the entries published since the last call: bounds, names (no
    /// repeats, no reserved prefix), descriptors, structure headers, and no overlapping regions.
    fn refresh(&self) -> Result<std::sync::MutexGuard<'_, Known>> {
        let mut known = self.inner.known.lock().unwrap_or_else(|e| e.into_inner());
        let count = table::entry_count(&self.inner.map, &self.inner.header)?;
        for i in known.entries.len() as u32..count {
            let e = table::read_entry(&self.inner.map, &self.inner.header, i)?;
            let field = |f: &str| format!("entry[{i}].{f}");
            if known.by_name.contains_key(&e.name) {
                return Err(Error::corrupt(self.name(), field("name"), format!("{:?} appears twice", e.name)));
            }
            let reserved = i == 0 && self.is_typed();
            if !reserved && e.name.starts_with(description::RESERVED_PREFIX) {
                return Err(Error::corrupt(
                    self.name(),
                    field("name"),
                    format!("{:?} uses the reserved prefix", e.name),
                ));
            }
            if e.size > 0 {
                let end = e.offset + e.size; // no overflow: read_entry checked it against memory_size
                let before = known.spans.range(..(e.offset, u32::MAX)).next_back();
                let after = known.spans.range((e.offset, 0)..).next();
                let clash = match (before, after) {
                    (Some((_, &prev_end)), _) if prev_end > e.offset => before.map(|(k, _)| k.1),
                    (_, Some((&(next_start, j), _))) if next_start < end => Some(j),
                    _ => None,
                };
                if let Some(j) = clash {
                    return Err(Error::corrupt(
                        self.name(),
                        field("offset"),
                        format!("the region overlaps entry {j}'s"),
                    ));
                }
            }
            let descriptor = if reserved { None } else { self.validate_structure(&e)? };
            if e.size > 0 {
                known.spans.insert((e.offset, i), e.offset + e.size);
            }
            known.by_name.insert(e.name.clone(), i);
            known.entries.push((e, descriptor));
        }
        Ok(known)
    }

    /// Validates one structure entry: its descriptor and its structure header.
    fn validate_structure(&self, e: &Entry) -> Result<Option<Descriptor>> {
        let Some(d) = &self.inner.description else {
            return Ok(None);
        };
        let desc = description::read_descriptor(&self.inner.map, &self.inner.header, d, e)?;
        let region = Region::new(self.inner.map.clone(), e.offset, e.size, &e.name);
        desc.kind
            .check_header(&region, &desc)
            .map_err(|detail| Error::corrupt(self.name(), format!("structure {:?}", e.name), detail))?;
        Ok(Some(desc))
    }

    /// Removes segment `name` from the system. Processes that have it open keep using it; new
    /// opens fail with [`Error::NotFound`].
    pub fn unlink(name: &str) -> Result<()> {
        mapping::unlink(name)
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        self.inner.map.name()
    }

    /// Size in bytes (the header's `memory_size`).
    pub fn size(&self) -> u64 {
        self.inner.header.memory_size
    }

    /// Table capacity, including zipc's reserved entry.
    pub fn max_entries(&self) -> u32 {
        self.inner.header.max_entries
    }

    /// Whether the segment carries zipc's self-description (false for ZeroIPC-made segments).
    pub fn is_typed(&self) -> bool {
        self.inner.description.is_some()
    }

    /// Bytes not yet allocated.
    pub fn free_bytes(&self) -> Result<u64> {
        let next = table::next_offset(&self.inner.map, &self.inner.header)?;
        Ok(self.size() - next)
    }

    /// How many times the table lock was taken over from a holder that died.
    pub fn lock_recoveries(&self) -> u32 {
        match &self.inner.description {
            Some(d) => self.inner.map.u32_at(d.field(description::header::LOCK_RECOVERIES)).load(Ordering::Relaxed),
            None => 0,
        }
    }

    /// The processes attached to this segment (each holding it mapped), with liveness. Empty for
    /// segments made by ZeroIPC, which keep no registry.
    pub fn attached_processes(&self) -> Vec<crate::segment::registry::Attached> {
        match &self.inner.description {
            Some(d) => crate::segment::registry::attach_list(&self.inner.map, d),
            None => Vec::new(),
        }
    }

    /// Whether any live process other than this one's unattached handles has the segment mapped.
    pub fn in_use(&self) -> bool {
        self.attached_processes().iter().any(|a| a.alive)
    }

    /// The mapping, for inspection (`inspect`) and the fuzz harness.
    pub(crate) fn mapping(&self) -> &Arc<Attachment> {
        &self.inner.map
    }

    /// The segment's lanes (`segment/lane.rs`); `None` in segments made by ZeroIPC.
    pub(crate) fn lanes(&self) -> Option<crate::segment::lane::LaneTable> {
        self.inner.map.lanes()
    }

    /// Where the self-description lives; `None` in segments made by ZeroIPC.
    pub(crate) fn description(&self) -> Option<Description> {
        self.inner.description
    }

    /// The user structures in the table (zipc's reserved entry is left out), validated.
    pub fn entries(&self) -> Result<Vec<EntryInfo>> {
        let known = self.refresh()?;
        let first = usize::from(self.is_typed());
        Ok(known.entries[first..].iter().map(|(e, d)| entry_info(e, d)).collect())
    }

    /// The entry named `name`, if there is one.
    pub fn entry(&self, name: &str) -> Result<Option<EntryInfo>> {
        let known = self.refresh()?;
        Ok(known.by_name.get(name).map(|&i| &known.entries[i as usize]).map(|(e, d)| entry_info(e, d)))
    }

    /// Finds and validates structure `name`.
    pub(crate) fn locate(&self, name: &str) -> Result<Located> {
        layout::check_structure_name(name).map_err(|e| Error::InvalidName {
            object: Object::Structure,
            name: name.to_owned(),
            reason: e.to_string(),
        })?;
        let known = self.refresh()?;
        let Some(&i) = known.by_name.get(name).filter(|&&i| !(i == 0 && self.is_typed())) else {
            return Err(Error::NotFound { object: Object::Structure, name: name.to_owned() });
        };
        let (e, descriptor) = &known.entries[i as usize];
        let region = Region::new(self.inner.map.clone(), e.offset, e.size, &e.name);
        if let Some(desc) = descriptor {
            // The structure's header holds live state next to its fixed fields: check the fixed
            // ones again for every handle made from it.
            desc.kind
                .check_header(&region, desc)
                .map_err(|detail| Error::corrupt(self.name(), format!("structure {name:?}"), detail))?;
        }
        Ok(Located { region, descriptor: descriptor.clone() })
    }

    /// Finds structure `decl.name` and checks it is what `decl` declares: kind, element layout,
    /// flags, maximum, and capacity if `check_capacity`. Untyped (ZeroIPC) entries are refused.
    pub(crate) fn lookup(&self, decl: &StructureLayout<'_>, check_capacity: bool) -> Result<(Region, Descriptor)> {
        let found = self.locate(decl.name)?;
        let Some(desc) = found.descriptor else {
            return Err(Error::KindMismatch { structure: decl.name.to_owned(), expected: decl.kind, found: None });
        };
        check_descriptor(decl, &desc, check_capacity)?;
        Ok((found.region, desc))
    }

    /// Creates structure `decl`: allocates and places its region, lets `init` write its initial
    /// state into the (zeroed) region, then publishes it. See the module docs for the protocol.
    pub(crate) fn allocate(
        &self,
        decl: &StructureLayout<'_>,
        init: impl FnOnce(&Region) -> Result<()>,
    ) -> Result<Region> {
        let invalid = |e: layout::LayoutError| Error::invalid(format!("structure {:?}", decl.name), e.to_string());
        let region_layout = decl.region().map_err(|e| match e {
            layout::LayoutError::NameEmpty
            | layout::LayoutError::NameTooLong { .. }
            | layout::LayoutError::NameHasNul
            | layout::LayoutError::NameReserved => {
                Error::InvalidName { object: Object::Structure, name: decl.name.to_owned(), reason: e.to_string() }
            }
            e => invalid(e),
        })?;
        let Some(d) = self.inner.description else {
            return Err(Error::invalid(
                format!("segment {:?}", self.name()),
                "it has no zipc self-description (made by ZeroIPC?): zipc reads its structures but creates none in it",
            ));
        };
        let map = &self.inner.map;
        let h = &self.inner.header;
        let _guard = self.lock_table(&d)?;
        let count = {
            let known = self.refresh()?;
            if known.by_name.contains_key(decl.name) {
                return Err(Error::AlreadyExists { object: Object::Structure, name: decl.name.to_owned() });
            }
            known.entries.len() as u32
        };
        if count >= h.max_entries {
            return Err(Error::TableFull { segment: self.name().to_owned(), capacity: h.max_entries });
        }
        let next = table::next_offset(map, h)?;
        let p = layout::place_region(next, region_layout, decl.type_record_len()).map_err(invalid)?;
        if p.end > h.memory_size {
            return Err(Error::SegmentFull {
                segment: self.name().to_owned(),
                structure: decl.name.to_owned(),
                needed: p.end - next,
                free: h.memory_size - next,
            });
        }
        // Bytes past `next` are zero unless an earlier creator died mid-way; clean what it dirtied
        // and record how far this one may dirty before writing anything.
        let dirty = map.u64_at(d.field(description::header::DIRTY_END));
        let dirty_end = dirty.load(Ordering::Relaxed).min(h.memory_size);
        if dirty_end > next {
            let len = dirty_end.min(p.end) - next;
            // SAFETY: `next..next+len` lies in the mapping (both bounded by memory_size) and is
            // unpublished free space that only the lock holder writes.
            unsafe { std::ptr::write_bytes(map.ptr(next, len), 0, len as usize) };
        }
        if p.end > dirty_end {
            dirty.store(p.end, Ordering::Relaxed);
        }
        let region = Region::new(map.clone(), p.offset, p.size, decl.name);
        init(&region)?;
        description::write_descriptor(map, &d, count, decl, &p);
        table::write_entry(map, count, decl.name, p.offset, p.size);
        table::publish(map, count + 1, p.end);
        Ok(region)
    }

    fn lock_table(&self, d: &Description) -> Result<RobustGuard<'_>> {
        let map = &self.inner.map;
        let lock = RobustLock {
            word: map.u32_at(d.field(description::header::LOCK_WORD)),
            owner: map.u64_at(d.field(description::header::LOCK_OWNER)),
            recoveries: map.u32_at(d.field(description::header::LOCK_RECOVERIES)),
        };
        // A recovered lock needs no repair: a dead creator published nothing (step 4 is last),
        // and `dirty_end` tells the next creator what to clean.
        lock.lock(Some(TABLE_LOCK_TIMEOUT))
    }
}

fn entry_info(e: &Entry, d: &Option<Descriptor>) -> EntryInfo {
    EntryInfo { index: e.index, name: e.name.clone(), offset: e.offset, size: e.size, descriptor: d.clone() }
}

/// Compares a declaration with what a segment records; the first difference is the error.
pub(crate) fn check_descriptor(decl: &StructureLayout<'_>, desc: &Descriptor, check_capacity: bool) -> Result<()> {
    let name = decl.name.to_owned();
    if desc.kind != decl.kind {
        return Err(Error::KindMismatch { structure: name, expected: decl.kind, found: Some(desc.kind) });
    }
    if let Some(t) = &decl.elem {
        if desc.fingerprint != layout::fingerprint(t) {
            return Err(Error::LayoutMismatch {
                structure: name,
                expected: layout::canonical(t),
                found: desc.canonical.clone().unwrap_or_default(),
            });
        }
    }
    check_parameters(decl.name, decl.kind, check_capacity.then_some(decl.capacity), decl.flags, decl.maximum, desc)
}

/// The parameter part of [`check_descriptor`], also what `dynamic::check` compares: the capacity
/// (when one is given), the flags and the maximum, in that order.
pub(crate) fn check_parameters(
    name: &str,
    kind: Kind,
    capacity: Option<u64>,
    flags: u32,
    maximum: i64,
    desc: &Descriptor,
) -> Result<()> {
    let name = name.to_owned();
    if let Some(expected) = capacity.filter(|&c| c != desc.capacity) {
        return Err(Error::CapacityMismatch { structure: name, expected, found: desc.capacity });
    }
    if desc.flags != flags {
        let (parameter, expected) = kind.describe_flags(flags);
        let (_, found) = kind.describe_flags(desc.flags);
        return Err(Error::ParameterMismatch { structure: name, parameter, expected, found });
    }
    if desc.maximum != maximum {
        // The declared parameter the maximum holds (a topic's `max_subscribers`); a semaphore's
        // `max` is its maximum, the word its messages always used.
        let parameter = match kind.parameters().iter().find(|p| p.slot == layout::Slot::Maximum) {
            Some(p) if p.name != "max" => p.name,
            _ => "maximum",
        };
        return Err(Error::ParameterMismatch {
            structure: name,
            parameter,
            expected: maximum.to_string(),
            found: desc.maximum.to_string(),
        });
    }
    Ok(())
}
