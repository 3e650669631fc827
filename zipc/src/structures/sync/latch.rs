//! [`Latch`]: a one-shot countdown shared between processes, in ZeroIPC v2's layout.
//!
//! ```text
//! offset  size  field
//! 0       4     i32 count     remaining count_downs (the futex word waiters sleep on)
//! 4       4     i32 initial   the count at creation (fixed)
//! 8       4     u32 waiters   processes asleep in wait (ZeroIPC: pad[0], 0 when idle)
//! 12      4     i32 pad       0
//! ```
//!
//! The region is 16 bytes, 8-aligned, so ZeroIPC's `Latch` opens it by name.
//!
//! # Algorithm
//!
//! `count_down(n)` lowers `count` by `n` with a compare-and-swap, saturating at 0 (as
//! ZeroIPC's does). Waiters sleep on `count` while it is non-zero, counted in the `waiters`
//! field (ZeroIPC's first padding word, which its code never reads), as described in
//! `waiting.rs`. Only the count_down that reaches 0 wakes anyone — all sleepers, once —
//! and only if `waiters` is non-zero; intermediate count_downs make no system call, and a
//! sleeper is not disturbed by them (the kernel re-checks the word only when woken).
//!
//! A negative `count` (possible only if corrupted) counts as released.

pub use crate::layout::kinds::latch::{
    COUNT_OFFSET, INITIAL_OFFSET, MAX_COUNT, REGION_ALIGN, REGION_SIZE, WAITERS_OFFSET,
};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
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

/// Live state for `inspect`; a count above the initial one is reported in `problems` (a count
/// at or below 0 is simply released).
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> LatchState {
    let count = region.u32_at(COUNT_OFFSET).load(Acquire) as i32;
    let initial = desc.initial as u32; // validated: 1..=i32::MAX
    if count > 0 && count as u32 > initial {
        problems.push(format!("count {count} is above the initial count {initial}"));
    }
    LatchState { initial, count, waiters: region.u32_at(WAITERS_OFFSET).load(Relaxed) }
}

/// The shared state: ZeroIPC's header, as atomics (loom's in a model).
#[repr(C)]
pub(crate) struct Header {
    count: AtomicU32,
    #[allow(dead_code)] // fixed at creation; the handle keeps the validated descriptor's copy
    initial: AtomicU32,
    waiters: AtomicU32,
    #[allow(dead_code)] // layout only
    pad: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Header>() as u64 == REGION_SIZE);

impl Header {
    #[cfg(all(test, loom))]
    fn new(count: u32) -> Self {
        Header {
            count: AtomicU32::new(count),
            initial: AtomicU32::new(count),
            waiters: AtomicU32::new(0),
            pad: AtomicU32::new(0),
        }
    }

    /// `Ok` once the count is 0; otherwise the count seen, for the futex.
    fn check(&self) -> std::result::Result<(), u32> {
        let c = self.count.load(Acquire);
        if c as i32 <= 0 {
            Ok(())
        } else {
            Err(c)
        }
    }

    /// Lowers the count by `n`, saturating at 0; returns the count left. The call that reaches
    /// 0 wakes every sleeper.
    fn count_down(&self, n: u32) -> u32 {
        let mut c = self.count.load(Relaxed);
        loop {
            if c as i32 <= 0 {
                return 0; // already released: nothing to do, no one to wake
            }
            let next = c.saturating_sub(n);
            // AcqRel: each count_down's earlier writes are visible to whoever sees the count
            // reach 0 (the decrements form a release sequence).
            match self.count.compare_exchange_weak(c, next, AcqRel, Relaxed) {
                Ok(_) => {
                    if next == 0 {
                        waiting::wake(&self.count, &self.waiters, u32::MAX);
                    }
                    return next;
                }
                Err(now) => c = now,
            }
        }
    }

    fn wait(&self, deadline: &Deadline) -> Result<()> {
        waiting::wait_until(&self.count, &self.waiters, deadline, || self.check())
    }
}

/// A one-shot countdown latch in a segment: waiters block until `count` count_downs happened.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Latch, Segment};
/// let seg = Segment::create("/latch-doc", 1 << 20)?;
/// let ready = Latch::create(&seg, "workers_ready", 3)?;
/// // each of 3 worker processes, once initialised:  ready.count_down(1);
/// // the coordinator:
/// ready.wait()?; // returns once all 3 have counted down
/// # Segment::unlink("/latch-doc") }
/// ```
#[derive(Clone)]
pub struct Latch {
    segment: Segment,
    region: Region,
    header: NonNull<Header>,
    initial: u32,
}

// SAFETY: the handle keeps the mapping alive (through `region`) and touches the header only
// through atomics, which other processes may write concurrently.
unsafe impl Send for Latch {}
// SAFETY: as above.
unsafe impl Sync for Latch {}

impl Latch {
    /// Creates latch `name` that opens after `count` count_downs (1..=i32::MAX).
    pub fn create(segment: &Segment, name: &str, count: u32) -> Result<Self> {
        Self::create_in(segment, &Self::declare(name, count))
    }

    /// Opens latch `name`, whatever its count.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let (region, desc) = segment.lookup(&Self::declaration(name), false)?;
        Ok(Self::from_region(segment, region, desc.initial as u32))
    }

    /// Opens latch `name` if it exists (it must have been created with `count`), or creates it.
    pub fn open_or_create(segment: &Segment, name: &str, count: u32) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::declare(name, count))
    }

    fn declare(name: &str, count: u32) -> StructureLayout<'_> {
        StructureLayout { initial: count as i64, ..Self::declaration(name) }
    }

    /// `initial` comes from the validated descriptor (1..=i32::MAX), never from the header.
    fn from_region(segment: &Segment, region: Region, initial: u32) -> Self {
        let p = region.typed::<Header>(0);
        Latch { segment: segment.clone(), region, header: p, initial }
    }

    fn header(&self) -> &Header {
        // SAFETY: `header` points at the 16-byte, 8-aligned region, alive as long as `self`;
        // Header is four atomics, which other processes may write concurrently.
        unsafe { self.header.as_ref() }
    }

    /// Lowers the count by `n` (saturating at 0) and returns what is left. The call that brings
    /// it to 0 releases every waiter; no system call unless someone waits. Everything this
    /// process wrote before counting down is visible to the waiters once they are released.
    pub fn count_down(&self, n: u32) -> u32 {
        self.header().count_down(n)
    }

    /// Blocks until the count is 0.
    pub fn wait(&self) -> Result<()> {
        self.header().wait(&Deadline::after(None))
    }

    /// Blocks until the count is 0, at most `timeout`; [`Error::Timeout`] otherwise (the latch
    /// is unaffected).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.header().wait(&Deadline::after(Some(timeout)))
    }

    /// True if the count is 0 (never blocks).
    pub fn try_wait(&self) -> bool {
        self.header().check().is_ok()
    }

    /// The count left (a snapshot).
    pub fn count(&self) -> u32 {
        (self.header().count.load(Relaxed) as i32).max(0) as u32
    }

    /// The count the latch was created with.
    pub fn initial(&self) -> u32 {
        self.initial
    }

    /// Processes asleep in `wait` now (a snapshot; includes any that died asleep).
    pub fn waiters(&self) -> u32 {
        self.header().waiters.load(Relaxed)
    }

    /// The latch's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this latch is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

#[diagnostic::do_not_recommend]
impl Structure for Latch {
    const KIND: Kind = Kind::Latch;
    const ELEM: Option<TypeLayout<'static>> = None;
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let count = decl.initial as u32; // `region` checked 1..=i32::MAX
        let region = segment.allocate(decl, |r| {
            r.u32_at(COUNT_OFFSET).store(count, Relaxed);
            r.u32_at(INITIAL_OFFSET).store(count, Relaxed);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, count))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, false)?;
        // Unlike a semaphore's count, a latch's initial count is fixed: it must match.
        if desc.initial != decl.initial {
            return Err(Error::ParameterMismatch {
                structure: decl.name.to_owned(),
                parameter: "count",
                expected: decl.initial.to_string(),
                found: desc.initial.to_string(),
            });
        }
        Ok(Self::from_region(segment, region, desc.initial as u32))
    }
}

impl std::fmt::Debug for Latch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latch")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("count", &self.count())
            .field("initial", &self.initial)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

/// A latch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatchState {
    /// The initial count.
    pub initial: u32,
    /// Count-downs still needed (as stored; ≤ 0 means released).
    pub count: i32,
    /// Processes asleep in wait.
    pub waiters: u32,
}

impl LiveState for LatchState {
    fn report(&self, out: &mut Vec<String>) {
        let l = self;
        out.push(if l.count <= 0 {
            format!("released (count {} of {}); {} asleep", l.count, l.initial, l.waiters)
        } else {
            format!("count {} of {}; {} asleep", l.count, l.initial, l.waiters)
        });
    }

    fn json(&self) -> Json {
        let l = self;
        let u = |v: u32| Json::U(v.into());
        Json::O(vec![("initial", u(l.initial)), ("count", Json::I(l.count.into())), ("waiters", u(l.waiters))])
    }
}

/// Ready once the latch is open (its count reached 0).
impl crate::sys::wait_set::Readiness for Latch {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        crate::sys::wait_set::Source::new(
            self.clone(),
            |s| crate::sys::wait_set::SleepPoint::new(&s.header().count, &s.header().waiters, false),
            |s| waiting::probe(&s.header().count, |c| c as i32 <= 0),
        )
    }
}

#[cfg(not(loom))]
impl Latch {
    /// Awaits the latch opening: the `async` [`wait`](Self::wait).
    pub async fn wait_async(&self) -> Result<()> {
        let source = crate::sys::wait_set::Readiness::wait_source(self);
        crate::sys::reactor::retry(source, || Ok(self.try_wait().then_some(()))).await
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::SeqCst;

    /// A latch of 2: a worker counts down once, a waiter waits, and the main thread counts down
    /// once and waits. Both waiters return only after both count_downs, and see what each
    /// counter wrote before its count_down.
    #[test]
    fn loom_latch_releases_at_zero() {
        loom::model(|| {
            let h = Arc::new(Header::new(2));
            let done = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
            let (h1, done1) = (h.clone(), done.clone());
            let worker = loom::thread::spawn(move || {
                done1[0].store(true, Relaxed);
                h1.count_down(1)
            });
            let (h2, done2) = (h.clone(), done.clone());
            let waiter = loom::thread::spawn(move || {
                h2.wait(&Deadline::after(None)).unwrap();
                assert!(done2[0].load(Relaxed) && done2[1].load(Relaxed), "released early");
            });
            done[1].store(true, Relaxed);
            let mine = h.count_down(1);
            h.wait(&Deadline::after(None)).unwrap();
            assert!(done[0].load(Relaxed) && done[1].load(Relaxed), "released early");
            let theirs = worker.join().unwrap();
            waiter.join().unwrap();
            assert_eq!(mine.min(theirs), 0);
            assert_eq!(mine.max(theirs), 1);
            assert_eq!(h.count.load(SeqCst), 0);
            assert_eq!(h.waiters.load(SeqCst), 0);
        });
    }

    /// A count_down larger than what is left saturates at 0 and releases.
    #[test]
    fn loom_latch_saturates() {
        loom::model(|| {
            let h = Arc::new(Header::new(3));
            let h2 = h.clone();
            let t = loom::thread::spawn(move || h2.count_down(5));
            h.wait(&Deadline::after(None)).unwrap();
            assert_eq!(t.join().unwrap(), 0);
            assert_eq!(h.count_down(1), 0);
            assert_eq!(h.count.load(SeqCst), 0);
        });
    }
}
