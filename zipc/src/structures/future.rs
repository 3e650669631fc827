//! [`Future<T>`]: a one-shot value — ZeroIPC's `future`. One process sets it, once; any number
//! wait for it and read it. With [`Future::get_or_init`] it is also ZeroIPC's `lazy`: the first
//! caller computes the value, the others wait for it.
//!
//! ```text
//! offset  size  field
//! 0       8     u64 state      0 empty, 1 ready, else the setter's pid << 40 | start time
//! 8       4     u32 epoch      incremented when the value is set or a setter gives up
//! 12      4     u32 waiters    threads asleep waiting for the value
//! 16      4     u32 takeovers  settings taken over from a setter that died writing, ever
//! 20      4     u32 elem_size  the value's size
//! 24      104   reserved (zero)
//! 128     size  the value
//! ```
//!
//! # Algorithm
//!
//! The header is a [`Once`](crate::Once)'s, and so is the protocol (`structures/sync/once.rs`):
//! setting the value is the one-time initialisation. A setter claims the state with one
//! compare-and-swap from empty to its tag, writes the value, and stores *ready* with release
//! ordering; whoever loads *ready* (acquire) then reads the whole value, which is never written
//! again. A setter that finds the state claimed by a live process waits for it (and then
//! reports that the value was already set); one claimed by a dead process is taken over, counted
//! in `takeovers`, and the survivor writes its own value from the start. A value is never torn:
//! it is read only after *ready*, and copied unit by unit with atomic loads
//! (`sys/atomic_copy.rs`), so even bytes a hostile process rewrites give a stale value, not a
//! data race.

pub use crate::layout::kinds::future::{
    ELEM_SIZE_OFFSET, EMPTY, EPOCH_OFFSET, HEADER_SIZE, READY, STATE_OFFSET, TAKEOVERS_OFFSET, VALUE_OFFSET,
    WAITERS_OFFSET,
};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::time::Duration;

use crate::error::Result;
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::ShmType;
use crate::structures::render::{Json, LiveState};
use crate::structures::sync::once::{Header, Look};
use crate::structures::{self, Structure};
use crate::sys::atomic_copy;
use crate::sys::futex::Deadline;
use crate::sys::role::{self, Holder};

/// The algorithm on a future's region, values as bytes (the typed and dynamic handles share it).
#[derive(Clone)]
pub(crate) struct FutureCore {
    header: NonNull<Header>,
    value: NonNull<u8>,
    size: usize,
    unit: usize,
}

// SAFETY: the pointers are into a mapping the handle holding this core keeps alive; the header
// is touched only through atomics and futex calls, the value only through atomic unit copies.
unsafe impl Send for FutureCore {}
// SAFETY: as above.
unsafe impl Sync for FutureCore {}

/// The core of the future in `region`, whose values are `size` bytes (checked at create/open).
pub(crate) fn core_on(region: &Region, size: usize) -> FutureCore {
    let header = region.typed::<Header>(STATE_OFFSET);
    let value = NonNull::new(region.ptr(VALUE_OFFSET, size as u64)).expect("a mapping is never at address 0");
    FutureCore { header, value, size, unit: atomic_copy::unit_for(size) }
}

/// Writes the header of a new future region.
pub(crate) fn init(region: &Region, size: usize) {
    region.u32_at(ELEM_SIZE_OFFSET).store(size as u32, Release);
}

impl FutureCore {
    fn header(&self) -> &Header {
        // SAFETY: `header` points at the future's 128-aligned region, alive as long as `self`
        // (the handle holding this core holds the region); Header is atomics only.
        unsafe { self.header.as_ref() }
    }

    /// Copies the value into `dst` if it is ready.
    pub(crate) fn try_get(&self, dst: &mut [u8]) -> bool {
        debug_assert_eq!(dst.len(), self.size);
        if !self.header().is_done() {
            return false;
        }
        // SAFETY: `value` is valid for `size` bytes, aligned to `unit` (the region is 128-aligned
        // and the value starts at 128); `dst` is local and `size` long (the handles check).
        unsafe { atomic_copy::load(dst.as_mut_ptr(), self.value.as_ptr(), self.size, self.unit) };
        true
    }

    /// Waits for the value (at most until `deadline`) and copies it into `dst`.
    pub(crate) fn wait(&self, dst: &mut [u8], deadline: &Deadline) -> Result<()> {
        self.header().wait_done(deadline)?;
        let ready = self.try_get(dst);
        debug_assert!(ready);
        Ok(())
    }

    /// Sets the value from what `make` writes into the value's bytes, unless it is set: `true`
    /// if this call set it. Waits while another live process is setting it (at most until
    /// `deadline`); takes over from one that died. If `make` fails (or panics), nothing is set
    /// and the next setter tries.
    pub(crate) fn set_with<E>(
        &self,
        deadline: &Deadline,
        make: impl FnOnce(&mut [u8]) -> std::result::Result<(), E>,
    ) -> Result<std::result::Result<bool, E>> {
        let me = role::my_tag();
        match self.header().begin(me, role::alive, deadline)? {
            Look::Done => Ok(Ok(false)),
            Look::Mine => {
                /// Ends the hold on every way out: completed only after the value is stored.
                struct Hold<'a>(&'a Header, u64, bool);
                impl Drop for Hold<'_> {
                    fn drop(&mut self) {
                        self.0.end(self.1, self.2);
                    }
                }
                let mut hold = Hold(self.header(), me, false);
                let mut local = vec![0u8; self.size];
                if let Err(e) = make(&mut local) {
                    return Ok(Err(e));
                }
                // SAFETY: as in `try_get`, with the roles swapped; only the holder writes the
                // value, and nobody reads it before the release store of READY in `end`.
                unsafe { atomic_copy::store(self.value.as_ptr(), local.as_ptr(), self.size, self.unit) };
                hold.2 = true;
                Ok(Ok(true))
            }
        }
    }

    /// The C ABI's begin of a setting: `true` if the calling process now holds it (it then
    /// calls [`complete_unguarded`](Self::complete_unguarded) with the value, or
    /// [`abandon_unguarded`](Self::abandon_unguarded)), `false` if the value is set.
    pub(crate) fn begin_unguarded(&self, deadline: &Deadline) -> Result<bool> {
        Ok(matches!(self.header().begin(role::my_tag(), role::alive, deadline)?, Look::Mine))
    }

    /// The C ABI's end of a setting the calling process holds: stores `src` and marks the value
    /// ready. An error if it holds none.
    pub(crate) fn complete_unguarded(&self, src: &[u8]) -> Result<()> {
        let me = self.check_holder("complete")?;
        debug_assert_eq!(src.len(), self.size);
        // SAFETY: as in `set_with`: the calling process holds the setting.
        unsafe { atomic_copy::store(self.value.as_ptr(), src.as_ptr(), self.size, self.unit) };
        self.header().end(me, true);
        Ok(())
    }

    /// The C ABI's give-up of a setting the calling process holds: the next setter tries.
    pub(crate) fn abandon_unguarded(&self) -> Result<()> {
        let me = self.check_holder("abandon")?;
        self.header().end(me, false);
        Ok(())
    }

    fn check_holder(&self, what: &str) -> Result<u64> {
        let me = role::my_tag();
        if self.header().state() != me {
            return Err(crate::Error::invalid(
                format!("{what} of a future's setting"),
                "the calling process does not hold its setting: begin it first (and end it once)",
            ));
        }
        Ok(me)
    }

    /// Whether the value is set.
    pub(crate) fn is_ready(&self) -> bool {
        self.header().is_done()
    }

    /// Settings taken over from a dead setter, ever.
    pub(crate) fn takeovers(&self) -> u32 {
        self.header().takeovers()
    }
}

/// A one-shot value in a segment.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Future, Segment};
/// let seg = Segment::open_or_create("/future-doc", 1 << 20)?;
/// let answer = Future::<u64>::open_or_create(&seg, "answer")?;
/// // One process:
/// answer.set(42)?;
/// // Any number of others:
/// assert_eq!(answer.wait(None)?, 42);
/// # Segment::unlink("/future-doc") }
/// ```
pub struct Future<T: ShmType> {
    segment: Segment,
    region: Region,
    core: FutureCore,
    _t: PhantomData<T>,
}

impl<T: ShmType> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future { segment: self.segment.clone(), region: self.region.clone(), core: self.core.clone(), _t: PhantomData }
    }
}

impl<T: ShmType> Future<T> {
    /// Creates future `name`, without a value.
    pub fn create(segment: &Segment, name: &str) -> Result<Self> {
        Self::create_in(segment, &Self::declaration(name))
    }

    /// Opens future `name`, checking the value's layout.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_in(segment, &Self::declaration(name))
    }

    /// Opens future `name`, or creates it.
    pub fn open_or_create(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::declaration(name))
    }

    fn from_region(segment: &Segment, region: Region) -> Self {
        let core = core_on(&region, std::mem::size_of::<T>());
        Future { segment: segment.clone(), region, core, _t: PhantomData }
    }

    /// Sets the value, unless it is set: `Ok(true)` if this call set it, `Ok(false)` if another
    /// had (the value stays theirs). Waits while another process is setting it; if that process
    /// died writing, this call sets its own value.
    pub fn set(&self, value: T) -> Result<bool> {
        self.set_until(&Deadline::after(None), value)
    }

    /// [`set`](Self::set), waiting at most `timeout` for another setter ([`Error::Timeout`],
    /// nothing set).
    ///
    /// [`Error::Timeout`]: crate::Error::Timeout
    pub fn set_timeout(&self, value: T, timeout: Duration) -> Result<bool> {
        self.set_until(&Deadline::after(Some(timeout)), value)
    }

    fn set_until(&self, deadline: &Deadline, value: T) -> Result<bool> {
        let set = self.core.set_with(deadline, |bytes| {
            bytes.copy_from_slice(value.as_bytes());
            Ok::<(), std::convert::Infallible>(())
        })?;
        Ok(set.unwrap_or_else(|never| match never {}))
    }

    /// The value, if it is set. Never waits.
    pub fn try_get(&self) -> Option<T> {
        let mut v = T::new_zeroed();
        self.core.try_get(v.as_mut_bytes()).then_some(v)
    }

    /// Waits for the value, at most `timeout` ([`Error::Timeout`]; `None`: forever). A waiter
    /// never sets it: if the setter dies, the value comes from the next [`set`](Self::set) or
    /// [`get_or_init`](Self::get_or_init), which takes the dead setter's place — so wait with a
    /// timeout where nobody else may set it.
    ///
    /// [`Error::Timeout`]: crate::Error::Timeout
    pub fn wait(&self, timeout: Option<Duration>) -> Result<T> {
        let mut v = T::new_zeroed();
        self.core.wait(v.as_mut_bytes(), &Deadline::after(timeout))?;
        Ok(v)
    }

    /// The value, computing it with `init` if nobody has (ZeroIPC's `lazy`): the first caller
    /// runs `init` and sets the value, the others wait for it. If the computing process dies, a
    /// waiting caller computes it again; if `init` panics, the next caller does.
    pub fn get_or_init(&self, init: impl FnOnce() -> T) -> Result<T> {
        self.get_or_try_init(|| Ok::<T, std::convert::Infallible>(init()))?.map_err(|never| match never {})
    }

    /// [`get_or_init`](Self::get_or_init) for a computation that can fail: its error is returned
    /// (`Ok(Err(e))`), nothing is set, and the next caller computes it.
    pub fn get_or_try_init<E>(
        &self,
        init: impl FnOnce() -> std::result::Result<T, E>,
    ) -> Result<std::result::Result<T, E>> {
        if let Some(v) = self.try_get() {
            return Ok(Ok(v));
        }
        let set = self.core.set_with(&Deadline::after(None), |bytes| {
            let v = init()?;
            bytes.copy_from_slice(v.as_bytes());
            Ok(())
        })?;
        match set {
            Err(e) => Ok(Err(e)),
            Ok(_) => self.wait(None).map(Ok),
        }
    }

    /// Whether the value is set.
    pub fn is_ready(&self) -> bool {
        self.core.is_ready()
    }

    /// Settings taken over from a setter that died writing the value, ever.
    pub fn takeovers(&self) -> u32 {
        self.core.takeovers()
    }

    /// The future's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this future is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

#[diagnostic::do_not_recommend]
impl<T: ShmType> Structure for Future<T> {
    const KIND: Kind = Kind::Future;
    const ELEM: Option<TypeLayout<'static>> = Some(T::SHM_LAYOUT);
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let region = segment.allocate(decl, |region| {
            init(region, std::mem::size_of::<T>());
            Ok(())
        })?;
        Ok(Self::from_region(segment, region))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, _) = segment.lookup(decl, false)?;
        Ok(Self::from_region(segment, region))
    }
}

impl<T: ShmType + std::fmt::Debug> std::fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Future")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("value", &self.try_get())
            .finish()
    }
}

/// Live state for `inspect`: ready or not, the setter at work, and the value's bytes once set.
pub(crate) fn inspect(
    region: &Region,
    desc: &crate::segment::description::Descriptor,
    _: &mut Vec<String>,
) -> FutureState {
    let state = region.u64_at(STATE_OFFSET).load(std::sync::atomic::Ordering::Acquire);
    let ready = state == READY;
    let size = desc.elem_size as usize;
    let value = ready.then(|| {
        let mut bytes = vec![0u8; size];
        core_on(region, size).try_get(&mut bytes);
        bytes
    });
    FutureState {
        ready,
        setter: if state == EMPTY || state == READY { None } else { Holder::from_tag(state) },
        waiters: region.u32_at(WAITERS_OFFSET).load(Relaxed),
        takeovers: region.u32_at(TAKEOVERS_OFFSET).load(Relaxed),
        value,
    }
}

/// A future.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FutureState {
    /// Whether the value is set.
    pub ready: bool,
    /// The process setting it now, if any.
    pub setter: Option<Holder>,
    /// Threads asleep waiting for it.
    pub waiters: u32,
    /// Settings taken over from a dead setter, ever.
    pub takeovers: u32,
    /// The value's bytes, once set.
    pub value: Option<Vec<u8>>,
}

impl LiveState for FutureState {
    fn report(&self, out: &mut Vec<String>) {
        let what = match (&self.setter, &self.value) {
            (_, Some(v)) => {
                let hex: String = v.iter().take(32).map(|b| format!("{b:02x}")).collect();
                format!("ready: {hex}{}", if v.len() > 32 { "…" } else { "" })
            }
            (Some(h), None) => format!(
                "being set by pid {}{}",
                h.pid,
                if h.alive { "" } else { " (dead: the next setter takes it over)" }
            ),
            (None, None) => "not set".to_owned(),
        };
        out.push(format!("{what}, {} waiting, {} taken over", self.waiters, self.takeovers));
    }

    fn json(&self) -> Json {
        let setter = match &self.setter {
            None => Json::Null,
            Some(h) => Json::O(vec![
                ("pid", Json::U(h.pid.into())),
                ("start_time", Json::U(h.start_time)),
                ("alive", Json::Bool(h.alive)),
            ]),
        };
        let value = match &self.value {
            None => Json::Null,
            Some(v) => Json::S(v.iter().map(|b| format!("{b:02x}")).collect()),
        };
        Json::O(vec![
            ("ready", Json::Bool(self.ready)),
            ("setter", setter),
            ("waiters", Json::U(self.waiters.into())),
            ("takeovers", Json::U(self.takeovers.into())),
            ("value_hex", value),
        ])
    }
}
