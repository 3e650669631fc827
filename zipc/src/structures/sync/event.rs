//! [`Event`]: a set/reset signal shared between processes, auto-reset (each set releases one
//! waiter) or manual-reset (a set releases every waiter until reset).
//!
//! ```text
//! offset  size  field
//! 0       4     u32 state     bit 0: set; bits 1..31: set count (wrapping); the futex word
//! 4       4     u32 waiters   processes asleep in wait
//! 8       120   reserved (zero)
//! ```
//!
//! The region is 128 bytes, 128-aligned: the state word every participant writes shares its
//! cache lines with no other structure (the spatial prefetcher pulls lines in pairs). The reset
//! mode is the descriptor's flags bit 0 (`layout::flags::EVENT_MANUAL_RESET`).
//!
//! # Algorithm
//!
//! `set` turns bit 0 on with a compare-and-swap that also adds 2 (one to the set count), then
//! wakes waiters only if `waiters` is non-zero (`waiting.rs`): one for an auto-reset
//! event, all for a manual-reset one.
//!
//! * Auto-reset: a waiter *consumes* a set — compare-and-swap bit 0 from 1 to 0 — so each set
//!   releases exactly one waiter, and sets while the event is already set coalesce (as with
//!   Win32 events). A woken waiter that finds the set taken sleeps again.
//! * Manual-reset: a waiter returns when it sees bit 0, *or* a set count different from the one
//!   it saw when it started waiting: a set immediately followed by `reset` still releases every
//!   process that was waiting at the time (no lost pulses).
//!
//! `reset` clears bit 0. The sleep is a `FUTEX_WAIT` on the whole state word, so any set between
//! a waiter's check and its sleep makes the kernel refuse the sleep.

pub use crate::layout::kinds::event::{REGION_SIZE, STATE_OFFSET, STATE_SET, STATE_SET_COUNT_ONE, WAITERS_OFFSET};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

use crate::error::Result;
use crate::layout::{flags, Kind, StructureLayout, TypeLayout};
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::render::{Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::atomics::AtomicU32;
use crate::sys::futex::Deadline;
use crate::sys::waiting;

/// Live state for `inspect`: set or clear, how many sets, how many waiters.
pub(crate) fn inspect(
    region: &Region,
    desc: &crate::segment::description::Descriptor,
    _: &mut Vec<String>,
) -> EventState {
    let state = region.u32_at(STATE_OFFSET).load(Acquire);
    EventState {
        manual_reset: desc.flags & flags::EVENT_MANUAL_RESET != 0,
        set: state & STATE_SET != 0,
        sets: state >> 1,
        waiters: region.u32_at(WAITERS_OFFSET).load(Relaxed),
    }
}

/// How an [`Event`] resets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResetMode {
    /// Each set releases one waiter, which resets the event (consumes the set).
    Auto,
    /// A set releases every waiter, and the event stays set until [`Event::reset`].
    Manual,
}

impl ResetMode {
    fn flags(self) -> u32 {
        match self {
            ResetMode::Auto => 0,
            ResetMode::Manual => flags::EVENT_MANUAL_RESET,
        }
    }
}

/// The shared state, as atomics (loom's in a model).
#[repr(C)]
pub(crate) struct Header {
    state: AtomicU32,
    waiters: AtomicU32,
}

impl Header {
    #[cfg(all(test, loom))]
    fn new(set: bool) -> Self {
        Header { state: AtomicU32::new(set as u32), waiters: AtomicU32::new(0) }
    }

    fn set(&self, _mode: ResetMode) {
        let mut s = self.state.load(Relaxed);
        while s & STATE_SET == 0 {
            // Release: what the setter wrote before is visible to the waiter it releases.
            match self.state.compare_exchange_weak(s, s.wrapping_add(STATE_SET_COUNT_ONE) | STATE_SET, Release, Relaxed)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        // Wake even if it was set already: for an auto-reset event, the waiter the earlier set
        // woke may have died before consuming it. Wake every sleeper, in both modes: one woken
        // sleeper may be a watcher — a wait set, the async reactor, a readiness fd's helper —
        // that reports readiness and takes nothing, and a wake-one would then leave a blocked
        // `wait` asleep on a set event. The sleepers that lose the race sleep again.
        waiting::wake(&self.state, &self.waiters, u32::MAX);
    }

    fn reset(&self) {
        self.state.fetch_and(!STATE_SET, Relaxed);
    }

    /// Auto-reset: consumes the set, or returns the state seen (unset), for the futex.
    fn try_take(&self) -> std::result::Result<(), u32> {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & STATE_SET == 0 {
                return Err(s);
            }
            match self.state.compare_exchange_weak(s, s & !STATE_SET, Acquire, Relaxed) {
                Ok(_) => return Ok(()),
                Err(now) => s = now,
            }
        }
    }

    /// Manual-reset: set now, or set (and maybe reset) since the state was `start`.
    fn check_since(&self, start: u32) -> std::result::Result<(), u32> {
        let s = self.state.load(Acquire);
        if s & STATE_SET != 0 || s >> 1 != start >> 1 {
            Ok(())
        } else {
            Err(s)
        }
    }

    fn try_wait(&self, mode: ResetMode) -> bool {
        match mode {
            ResetMode::Auto => self.try_take().is_ok(),
            ResetMode::Manual => self.state.load(Acquire) & STATE_SET != 0,
        }
    }

    fn wait(&self, mode: ResetMode, deadline: &Deadline) -> Result<()> {
        match mode {
            ResetMode::Auto => waiting::wait_until(&self.state, &self.waiters, deadline, || self.try_take()),
            ResetMode::Manual => {
                let start = self.state.load(Acquire);
                waiting::wait_until(&self.state, &self.waiters, deadline, || self.check_since(start))
            }
        }
    }
}

/// An event in a segment: processes wait until another sets it.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Event, ResetMode, Segment};
/// let seg = Segment::create("/event-doc", 1 << 20)?;
/// let frame = Event::create(&seg, "frame_ready", ResetMode::Auto, false)?;
/// // producer process:  frame.set();
/// // consumer process:
/// frame.wait()?; // returns after a set, and consumes it
/// # Segment::unlink("/event-doc") }
/// ```
#[derive(Clone)]
pub struct Event {
    segment: Segment,
    region: Region,
    header: NonNull<Header>,
    mode: ResetMode,
}

// SAFETY: the handle keeps the mapping alive (through `region`) and touches the header only
// through atomics, which other processes may write concurrently.
unsafe impl Send for Event {}
// SAFETY: as above.
unsafe impl Sync for Event {}

impl Event {
    /// Creates event `name` with reset `mode`, set or not.
    pub fn create(segment: &Segment, name: &str, mode: ResetMode, initially_set: bool) -> Result<Self> {
        Self::create_in(segment, &Self::declare(name, mode, initially_set))
    }

    /// Opens event `name`, whatever its reset mode.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let (region, desc) = structures::locate_kind(segment, name, Kind::Event)?;
        Ok(Self::from_region(segment, region, desc.flags))
    }

    /// Opens event `name` if it exists (it must have reset `mode`), or creates it.
    pub fn open_or_create(segment: &Segment, name: &str, mode: ResetMode, initially_set: bool) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::declare(name, mode, initially_set))
    }

    fn declare(name: &str, mode: ResetMode, initially_set: bool) -> StructureLayout<'_> {
        StructureLayout { flags: mode.flags(), initial: initially_set as i64, ..Self::declaration(name) }
    }

    /// `flags` come from a validated descriptor or declaration.
    fn from_region(segment: &Segment, region: Region, flags: u32) -> Self {
        let p = region.typed::<Header>(0);
        let mode = if flags & flags::EVENT_MANUAL_RESET != 0 { ResetMode::Manual } else { ResetMode::Auto };
        Event { segment: segment.clone(), region, header: p, mode }
    }

    fn header(&self) -> &Header {
        // SAFETY: `header` points at the event's 128-aligned region, alive as long as `self`;
        // Header is two atomics, which other processes may write concurrently.
        unsafe { self.header.as_ref() }
    }

    /// Sets the event: releases one waiter (auto-reset; if none waits, the next `wait` returns
    /// at once) or every waiter until [`reset`](Self::reset) (manual-reset). No system call
    /// when nobody waits.
    pub fn set(&self) {
        self.header().set(self.mode)
    }

    /// Clears the event. Waiters that were waiting when it was set are released anyway.
    pub fn reset(&self) {
        self.header().reset()
    }

    /// Blocks until the event is set (consuming the set if auto-reset).
    pub fn wait(&self) -> Result<()> {
        self.header().wait(self.mode, &Deadline::after(None))
    }

    /// Like [`wait`](Self::wait), at most `timeout`; [`Error::Timeout`](crate::Error::Timeout) otherwise (the event is
    /// unaffected).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.header().wait(self.mode, &Deadline::after(Some(timeout)))
    }

    /// Returns at once: true if the event is set (and, if auto-reset, consumes the set).
    pub fn try_wait(&self) -> bool {
        self.header().try_wait(self.mode)
    }

    /// Whether the event is set now (a snapshot; consumes nothing).
    pub fn is_set(&self) -> bool {
        self.header().state.load(Acquire) & STATE_SET != 0
    }

    /// The reset mode.
    pub fn mode(&self) -> ResetMode {
        self.mode
    }

    /// Processes asleep in `wait` now (a snapshot; includes any that died asleep).
    pub fn waiters(&self) -> u32 {
        self.header().waiters.load(Relaxed)
    }

    /// The event's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this event is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

#[diagnostic::do_not_recommend]
impl Structure for Event {
    const KIND: Kind = Kind::Event;
    const ELEM: Option<TypeLayout<'static>> = None;
    /// The reset mode is a declaration parameter, not part of the type.
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let initial = decl.initial as u32; // `region` checked 0 or 1
        let region = segment.allocate(decl, |r| {
            r.u32_at(STATE_OFFSET).store(initial, Relaxed);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, decl.flags))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        // The reset mode (flags) is checked; whether it started set is not (it has moved on).
        let (region, desc) = segment.lookup(decl, false)?;
        Ok(Self::from_region(segment, region, desc.flags))
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("mode", &self.mode)
            .field("set", &self.is_set())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

/// An event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventState {
    /// Manual reset (else auto).
    pub manual_reset: bool,
    /// Whether it is set.
    pub set: bool,
    /// How many times it was set (wrapping at 2^31).
    pub sets: u32,
    /// Processes asleep in wait.
    pub waiters: u32,
}

impl LiveState for EventState {
    fn report(&self, out: &mut Vec<String>) {
        let e = self;
        out.push(format!(
            "{} ({} reset); sets: {}; {} asleep",
            if e.set { "set" } else { "clear" },
            if e.manual_reset { "manual" } else { "auto" },
            e.sets,
            e.waiters
        ));
    }

    fn json(&self) -> Json {
        let e = self;
        let u = |v: u32| Json::U(v.into());
        Json::O(vec![
            ("mode", Json::s(if e.manual_reset { "manual" } else { "auto" })),
            ("set", Json::Bool(e.set)),
            ("sets", u(e.sets)),
            ("waiters", u(e.waiters)),
        ])
    }
}

/// Ready while the event is set (an auto-reset event stays set until a waiter takes it, e.g.
/// with [`try_wait`](Event::try_wait)).
impl crate::sys::wait_set::Readiness for Event {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        crate::sys::wait_set::Source::new(
            self.clone(),
            |s| crate::sys::wait_set::SleepPoint::new(&s.header().state, &s.header().waiters, false),
            |s| waiting::probe(&s.header().state, |s| s & STATE_SET != 0),
        )
    }
}

#[cfg(not(loom))]
impl Event {
    /// Awaits the event: the `async` [`wait`](Self::wait) (an auto-reset event is taken by the
    /// poll that completes, and only by it: cancellation-safe).
    pub async fn wait_async(&self) -> Result<()> {
        let source = crate::sys::wait_set::Readiness::wait_source(self);
        crate::sys::reactor::retry(source, || Ok(self.try_wait().then_some(()))).await
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

    /// Auto-reset: two waiters, two sets (the second once the first was consumed, so they do
    /// not coalesce): each set reaches a waiter, though each wakes at most one sleeper.
    #[test]
    fn loom_event_auto_each_set_releases_one() {
        loom::model(|| {
            let h = Arc::new(Header::new(false));
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let h = h.clone();
                    loom::thread::spawn(move || h.wait(ResetMode::Auto, &forever()).unwrap())
                })
                .collect();
            h.set(ResetMode::Auto);
            while h.state.load(SeqCst) & STATE_SET != 0 {
                loom::thread::yield_now();
            }
            h.set(ResetMode::Auto);
            for w in waiters {
                w.join().unwrap();
            }
            assert_eq!(h.state.load(SeqCst), 2 * STATE_SET_COUNT_ONE, "both sets consumed");
            assert_eq!(h.waiters.load(SeqCst), 0);
        });
    }

    /// Auto-reset: with one set, of a waiter and a `try_wait` exactly one gets it.
    #[test]
    fn loom_event_auto_set_is_consumed_once() {
        loom::model(|| {
            let h = Arc::new(Header::new(true));
            let h2 = h.clone();
            let t = loom::thread::spawn(move || h2.try_wait(ResetMode::Auto));
            let mine = h.try_wait(ResetMode::Auto);
            let theirs = t.join().unwrap();
            assert!(mine ^ theirs);
            assert_eq!(h.state.load(SeqCst) & STATE_SET, 0);
        });
    }

    /// Manual-reset: a set releases both waiters and stays set.
    #[test]
    fn loom_event_manual_releases_all() {
        loom::model(|| {
            let h = Arc::new(Header::new(false));
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let h = h.clone();
                    loom::thread::spawn(move || h.wait(ResetMode::Manual, &forever()).unwrap())
                })
                .collect();
            h.set(ResetMode::Manual);
            for w in waiters {
                w.join().unwrap();
            }
            assert_ne!(h.state.load(SeqCst) & STATE_SET, 0, "still set");
        });
    }

    /// Manual-reset: a set immediately followed by a reset still releases a process that was
    /// waiting when it was set.
    #[test]
    fn loom_event_manual_pulse_is_not_lost() {
        loom::model(|| {
            let h = Arc::new(Header::new(false));
            let h2 = h.clone();
            let waiter = loom::thread::spawn(move || h2.wait(ResetMode::Manual, &forever()).unwrap());
            // Wait until the waiter is registered (it counts itself after reading its start).
            while h.waiters.load(SeqCst) == 0 {
                loom::thread::yield_now();
            }
            h.set(ResetMode::Manual);
            h.reset();
            waiter.join().unwrap();
            assert_eq!(h.state.load(SeqCst), STATE_SET_COUNT_ONE);
        });
    }
}
