//! [`Semaphore`]: a counting semaphore shared between processes, in ZeroIPC v2's layout.
//!
//! ```text
//! offset  size  field
//! 0       4     i32 count      permits available (the futex word waiters sleep on)
//! 4       4     i32 waiting    processes asleep in acquire
//! 8       4     i32 max_count  largest count, 0 = unbounded (fixed at creation)
//! 12      4     i32 pad        0
//! ```
//!
//! The region is 16 bytes, 8-aligned, so ZeroIPC's `Semaphore` opens it by name.
//!
//! # Algorithm
//!
//! `acquire` takes a permit with a compare-and-swap `count → count - 1` while `count > 0`.
//! When there is none it sleeps on `count` itself (a futex) with `waiting` counted, as
//! described in `waiting.rs`; `release` adds a permit with a compare-and-swap bounded by
//! the maximum and calls `FUTEX_WAKE` for one sleeper only if `waiting` is non-zero. A woken
//! sleeper that loses the permit to a faster acquirer sleeps again: every release adds exactly
//! one permit and wakes at most one sleeper, and a permit is never left unclaimed while someone
//! sleeps (the loom models below check this, with a futex model that wakes exactly as many
//! sleepers as asked).
//!
//! ZeroIPC's own semaphore polls instead of sleeping and never calls `FUTEX_WAKE`, so mixing
//! its blocking calls with zipc's on one semaphore is not supported (its releases would not wake
//! zipc's sleepers); reading the fields and `try_acquire`-style use interoperate.

pub use crate::layout::kinds::semaphore::{
    COUNT_OFFSET, MAX_COUNT, MAX_COUNT_OFFSET, REGION_ALIGN, REGION_SIZE, WAITING_OFFSET,
};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::render::{Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::atomics::AtomicU32;
use crate::sys::futex::Deadline;
use crate::sys::waiting;

/// Live state for `inspect`; a count outside `0..=max` is reported in `problems`.
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> SemaphoreState {
    let count = region.u32_at(COUNT_OFFSET).load(Relaxed) as i32;
    let max = (desc.maximum > 0).then_some(desc.maximum as u32); // validated: 0..=i32::MAX
    if count < 0 || max.is_some_and(|m| count as u32 > m) {
        problems.push(format!("count {count} is outside 0..={}", max.unwrap_or(MAX_COUNT)));
    }
    SemaphoreState { count, max, waiting: region.u32_at(WAITING_OFFSET).load(Relaxed) }
}

/// The shared state: ZeroIPC's header, as atomics (loom's in a model).
#[repr(C)]
pub(crate) struct Header {
    count: AtomicU32,
    waiting: AtomicU32,
    #[allow(dead_code)] // fixed at creation; the handle keeps the validated descriptor's copy
    max_count: AtomicU32,
    #[allow(dead_code)] // layout only
    pad: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Header>() as u64 == REGION_SIZE);

impl Header {
    #[cfg(all(test, loom))]
    fn new(count: u32, max: u32) -> Self {
        Header {
            count: AtomicU32::new(count),
            waiting: AtomicU32::new(0),
            max_count: AtomicU32::new(max),
            pad: AtomicU32::new(0),
        }
    }

    /// Takes a permit if there is one; otherwise returns the count seen (≤ 0), for the futex.
    fn try_acquire(&self) -> std::result::Result<(), u32> {
        let mut c = self.count.load(Relaxed);
        loop {
            if c as i32 <= 0 {
                return Err(c); // none (a negative count, possible only if corrupted, is none too)
            }
            match self.count.compare_exchange_weak(c, c - 1, Acquire, Relaxed) {
                Ok(_) => return Ok(()),
                Err(now) => c = now,
            }
        }
    }

    fn acquire(&self, deadline: &Deadline) -> Result<()> {
        waiting::wait_until(&self.count, &self.waiting, deadline, || self.try_acquire())
    }

    /// Adds a permit unless the count is at `max` (0: at `i32::MAX`); `Err(count)` then.
    fn release(&self, max: u32) -> std::result::Result<(), u32> {
        let limit = if max == 0 { MAX_COUNT } else { max } as i32;
        let mut c = self.count.load(Relaxed);
        loop {
            if c as i32 >= limit {
                return Err(c);
            }
            match self.count.compare_exchange_weak(c, c.wrapping_add(1), Release, Relaxed) {
                Ok(_) => break,
                Err(now) => c = now,
            }
        }
        // Every sleeper, not one: a woken watcher (a wait set, the async reactor, a readiness
        // fd's helper) reports the permit and may take nothing, and a wake-one would then leave a
        // blocked `acquire` asleep beside a free permit. Those that lose the race sleep again.
        waiting::wake(&self.count, &self.waiting, u32::MAX);
        Ok(())
    }
}

/// A counting semaphore in a segment: at most `count` holders at a time, across processes.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Segment, Semaphore};
/// let seg = Segment::create("/sem-doc", 1 << 20)?;
/// let slots = Semaphore::create(&seg, "gpu_slots", 2, 2)?; // 2 permits, never more
/// {
///     let _permit = slots.acquire()?; // blocks while both are taken
///     // ... use the GPU ...
/// } // released here
/// assert!(slots.release().is_err()); // already at its maximum of 2
/// # Segment::unlink("/sem-doc") }
/// ```
#[derive(Clone)]
pub struct Semaphore {
    segment: Segment,
    region: Region,
    header: NonNull<Header>,
    max: u32,
}

// SAFETY: the handle keeps the mapping alive (through `region`) and touches the header only
// through atomics, which other processes may write concurrently.
unsafe impl Send for Semaphore {}
// SAFETY: as above.
unsafe impl Sync for Semaphore {}

impl Semaphore {
    /// Creates semaphore `name` holding `initial` permits, with at most `max` (0: unbounded;
    /// both at most `i32::MAX`).
    pub fn create(segment: &Segment, name: &str, initial: u32, max: u32) -> Result<Self> {
        Self::create_in(segment, &Self::declare(name, initial, max))
    }

    /// Opens semaphore `name`, whatever its maximum.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let (region, desc) = structures::locate_kind(segment, name, Kind::Semaphore)?;
        Ok(Self::from_region(segment, region, desc.maximum as u32))
    }

    /// Opens semaphore `name` if it exists (its maximum must be `max`), or creates it with
    /// `initial` permits.
    pub fn open_or_create(segment: &Segment, name: &str, initial: u32, max: u32) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::declare(name, initial, max))
    }

    fn declare(name: &str, initial: u32, max: u32) -> StructureLayout<'_> {
        StructureLayout { initial: initial as i64, maximum: max as i64, ..Self::declaration(name) }
    }

    /// `max` comes from the validated descriptor (0..=i32::MAX), never from the header.
    fn from_region(segment: &Segment, region: Region, max: u32) -> Self {
        let p = region.typed::<Header>(0);
        Semaphore { segment: segment.clone(), region, header: p, max }
    }

    fn header(&self) -> &Header {
        // SAFETY: `header` points at the 16-byte, 8-aligned region, alive as long as `self`;
        // Header is four atomics, which other processes may write concurrently.
        unsafe { self.header.as_ref() }
    }

    /// Takes a permit, blocking while there is none. The permit is released when the guard
    /// drops (or kept with [`SemaphoreGuard::forget`]).
    pub fn acquire(&self) -> Result<SemaphoreGuard<'_>> {
        self.acquire_until(&Deadline::after(None))
    }

    /// Takes a permit, blocking at most `timeout`; [`Error::Timeout`] if none came.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>> {
        self.acquire_until(&Deadline::after(Some(timeout)))
    }

    fn acquire_until(&self, deadline: &Deadline) -> Result<SemaphoreGuard<'_>> {
        self.header().acquire(deadline)?;
        Ok(SemaphoreGuard { semaphore: self })
    }

    /// Takes a permit if one is available right now.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.header().try_acquire().ok().map(|()| SemaphoreGuard { semaphore: self })
    }

    /// Adds a permit, waking one blocked process if there is any (no system call otherwise).
    /// [`Error::AboveMaximum`] if the count is already at the maximum: nothing changes then.
    pub fn release(&self) -> Result<()> {
        self.header().release(self.max).map_err(|_| Error::AboveMaximum {
            structure: self.name().to_owned(),
            maximum: if self.max == 0 { MAX_COUNT } else { self.max } as i64,
        })
    }

    /// Permits available now (a snapshot).
    pub fn count(&self) -> u32 {
        (self.header().count.load(Relaxed) as i32).max(0) as u32
    }

    /// Processes asleep in `acquire` now (a snapshot; includes any that died asleep).
    pub fn waiting(&self) -> u32 {
        self.header().waiting.load(Relaxed)
    }

    /// The maximum count, `None` if unbounded.
    pub fn max(&self) -> Option<u32> {
        (self.max != 0).then_some(self.max)
    }

    /// The semaphore's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this semaphore is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

/// A permit of a [`Semaphore`]; released when dropped.
#[must_use = "the permit is released at once if the guard is not kept"]
pub struct SemaphoreGuard<'a> {
    semaphore: &'a Semaphore,
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit: nothing is released (for a semaphore used as a signal, where another
    /// process releases).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // Fails only if other processes released permits nobody acquired and filled the
        // semaphore to its maximum meanwhile: the count is then already where a release would
        // take it.
        let _ = self.semaphore.release();
    }
}

impl std::fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemaphoreGuard").field("semaphore", &self.semaphore.name()).finish()
    }
}

#[diagnostic::do_not_recommend]
impl Structure for Semaphore {
    const KIND: Kind = Kind::Semaphore;
    const ELEM: Option<TypeLayout<'static>> = None;
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let region = segment.allocate(decl, |r| {
            // `region` validated both to lie in 0..=i32::MAX.
            r.u32_at(COUNT_OFFSET).store(decl.initial as u32, Relaxed);
            r.u32_at(MAX_COUNT_OFFSET).store(decl.maximum as u32, Relaxed);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, decl.maximum as u32))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        // The maximum is checked; the initial count is not a parameter to check (it has moved).
        let (region, desc) = segment.lookup(decl, false)?;
        Ok(Self::from_region(segment, region, desc.maximum as u32))
    }
}

impl std::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semaphore")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("count", &self.count())
            .field("max", &self.max())
            .field("waiting", &self.waiting())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

/// A semaphore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemaphoreState {
    /// Permits available (as stored; negative only if damaged).
    pub count: i32,
    /// The maximum; `None` if unbounded.
    pub max: Option<u32>,
    /// Processes asleep in acquire.
    pub waiting: u32,
}

impl LiveState for SemaphoreState {
    fn report(&self, out: &mut Vec<String>) {
        let s = self;
        out.push(format!(
            "count {}{}; {} asleep in acquire",
            s.count,
            s.max.map_or_else(|| " (unbounded)".to_owned(), |m| format!(" of max {m}")),
            s.waiting
        ));
    }

    fn json(&self) -> Json {
        let s = self;
        let u = |v: u32| Json::U(v.into());
        Json::O(vec![("count", Json::I(s.count.into())), ("max", Json::opt(s.max, u)), ("waiting", u(s.waiting))])
    }
}

/// Ready when a permit is free ([`try_acquire`](Semaphore::try_acquire) would take it).
impl crate::sys::wait_set::Readiness for Semaphore {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        crate::sys::wait_set::Source::new(
            self.clone(),
            |s| crate::sys::wait_set::SleepPoint::new(&s.header().count, &s.header().waiting, false),
            |s| waiting::probe(&s.header().count, |c| c as i32 > 0),
        )
    }
}

#[cfg(not(loom))]
impl Semaphore {
    /// Takes a permit, awaiting one: the `async` [`acquire`](Self::acquire). Cancellation-safe
    /// (a permit is taken only in the poll that returns its guard).
    pub async fn acquire_async(&self) -> Result<SemaphoreGuard<'_>> {
        let source = crate::sys::wait_set::Readiness::wait_source(self);
        crate::sys::reactor::retry(source, || Ok(self.try_acquire())).await
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::SeqCst;

    fn forever() -> Deadline {
        Deadline::after(None)
    }

    /// A binary semaphore as a lock between two threads: never both inside, and the permit is
    /// back at the end.
    #[test]
    fn loom_semaphore_excludes() {
        loom::model(|| {
            let h = Arc::new(Header::new(1, 1));
            let inside = Arc::new(AtomicU32::new(0));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let (h, inside) = (h.clone(), inside.clone());
                    loom::thread::spawn(move || {
                        h.acquire(&forever()).unwrap();
                        assert_eq!(inside.fetch_add(1, SeqCst), 0, "two holders of one permit");
                        inside.fetch_sub(1, SeqCst);
                        h.release(1).unwrap();
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(h.count.load(SeqCst), 1);
            assert_eq!(h.waiting.load(SeqCst), 0);
        });
    }

    /// Two acquirers block on an empty semaphore; two releases, each waking at most one
    /// sleeper, get both through (no release is absorbed without a permit reaching a sleeper).
    #[test]
    fn loom_semaphore_each_release_reaches_a_sleeper() {
        loom::model(|| {
            let h = Arc::new(Header::new(0, 0));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let h = h.clone();
                    loom::thread::spawn(move || h.acquire(&forever()).unwrap())
                })
                .collect();
            h.release(0).unwrap();
            h.release(0).unwrap();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(h.count.load(SeqCst), 0);
        });
    }

    /// Release is bounded by the maximum even when racing: of two releases into a semaphore
    /// one below its maximum, exactly one succeeds.
    #[test]
    fn loom_semaphore_release_respects_max() {
        loom::model(|| {
            let h = Arc::new(Header::new(1, 2));
            let h2 = h.clone();
            let t = loom::thread::spawn(move || h2.release(2).is_ok());
            let mine = h.release(2).is_ok();
            let theirs = t.join().unwrap();
            assert!(mine ^ theirs, "exactly one release fits");
            assert_eq!(h.count.load(SeqCst), 2);
            assert_eq!(h.max_count.load(SeqCst), 2);
            assert_eq!(h.pad.load(SeqCst), 0);
        });
    }
}
