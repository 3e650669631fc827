//! [`Barrier`]: a reusable barrier for a fixed number of processes, in ZeroIPC v2's layout.
//!
//! ```text
//! offset  size  field
//! 0       4     i32 arrived       participants counted in the current generation
//! 4       4     i32 generation    completed generations (wrapping); the futex word waiters sleep on
//! 8       4     i32 participants  fixed at creation
//! 12      4     u32 sleepers      processes asleep in wait (ZeroIPC: padding, 0 when idle)
//! ```
//!
//! The region is 16 bytes, 8-aligned, so ZeroIPC's `Barrier` opens it by name.
//!
//! # Algorithm
//!
//! `arrived` and `generation` are updated together, by one 64-bit compare-and-swap on bytes
//! 0..8 (`arrived` is the low half, `generation` the high half, little-endian), so every
//! decision sees a consistent pair:
//!
//! * *Arrive*: `(a, g) → (a + 1, g)`; the arrival that would make `a + 1 == participants`
//!   instead writes `(0, g + 1)` and is the generation's leader — exactly one per generation.
//! * *Wait*: the others sleep on the `generation` word (`FUTEX_WAIT` on bytes 4..8, expected
//!   `g`) until it changes. They count themselves in `sleepers` first, so the leader wakes them
//!   (`FUTEX_WAKE`, all) only if someone sleeps — the same store-buffering pairing as
//!   `waiting.rs`. The `sleepers` field is ZeroIPC's padding, which its code never reads.
//! * *Time out*: a waiter whose deadline passes withdraws its arrival with
//!   `(a, g) → (a - 1, g)`, which fails if the generation has completed meanwhile (the pair
//!   changed); then the waiter was released after all and returns success. So a timed-out
//!   waiter never undoes an arrival in a later generation, and `arrived` never goes negative —
//!   ZeroIPC's separate decrement can do both.
//!
//! An `arrived` outside `0..participants` (only a corrupted or misused segment has one) is
//! treated as complete: the next arrival leads and resets it.
//!
//! Mixing with ZeroIPC's own blocking `wait` is not supported (it polls and never calls
//! `FUTEX_WAKE`, so a ZeroIPC leader would not wake zipc's sleepers).

pub use crate::layout::kinds::barrier::{
    ARRIVED_OFFSET, GENERATION_OFFSET, MAX_PARTICIPANTS, PARTICIPANTS_OFFSET, REGION_ALIGN, REGION_SIZE,
    SLEEPERS_OFFSET,
};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, SeqCst};
use std::time::Duration;

use crate::error::Result;
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::render::{Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::atomics::{fence, futex_wait_hi, futex_wake_hi, AtomicU32, AtomicU64};
use crate::sys::futex::Deadline;

/// Live state for `inspect`: `arrived` and `generation` from one 64-bit load (a consistent
/// pair); an `arrived` outside `0..participants` is reported in `problems`.
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> BarrierState {
    let state = region.u64_at(ARRIVED_OFFSET).load(Acquire);
    let arrived = arrived_of(state) as i32;
    let participants = desc.capacity as u32; // validated: 1..=i32::MAX
    if arrived < 0 || arrived as u32 >= participants {
        problems.push(format!("arrived {arrived} is outside 0..{participants}"));
    }
    BarrierState {
        participants,
        arrived,
        generation: generation_of(state),
        sleepers: region.u32_at(SLEEPERS_OFFSET).load(Relaxed),
    }
}

const fn pack(arrived: u32, generation: u32) -> u64 {
    arrived as u64 | (generation as u64) << 32
}

const fn arrived_of(state: u64) -> u32 {
    state as u32
}

const fn generation_of(state: u64) -> u32 {
    (state >> 32) as u32
}

/// The shared state: ZeroIPC's header, with `arrived` and `generation` as one 64-bit atomic.
#[repr(C)]
pub(crate) struct Header {
    state: AtomicU64,
    #[allow(dead_code)] // fixed at creation; the handle keeps the validated descriptor's copy
    participants: AtomicU32,
    sleepers: AtomicU32,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Header>() as u64 == REGION_SIZE);

/// One arrival: the generation it joined and whether it completed it.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    generation: u32,
    leader: bool,
}

impl Header {
    #[cfg(all(test, loom))]
    fn new(participants: u32) -> Self {
        Header { state: AtomicU64::new(0), participants: AtomicU32::new(participants), sleepers: AtomicU32::new(0) }
    }

    /// Counts this arrival; the one that completes the generation starts the next and wakes
    /// the sleepers.
    fn arrive(&self, participants: u32) -> Arrival {
        let mut s = self.state.load(Relaxed);
        loop {
            let (a, g) = (arrived_of(s), generation_of(s));
            // `participants >= 1`; an out-of-range `a` counts as complete.
            let leader = a >= participants - 1;
            let next = if leader { pack(0, g.wrapping_add(1)) } else { pack(a + 1, g) };
            // AcqRel: arrivals form a release sequence the leader acquires, and waiters acquire
            // the leader's write, so everything before every arrival happens before every return.
            match self.state.compare_exchange_weak(s, next, AcqRel, Relaxed) {
                Ok(_) => {
                    if leader {
                        fence(SeqCst); // pairs with the sleepers' fence
                        if self.sleepers.load(SeqCst) != 0 {
                            futex_wake_hi(&self.state, u32::MAX);
                        }
                    }
                    return Arrival { generation: g, leader };
                }
                Err(now) => s = now,
            }
        }
    }

    fn released(&self, generation: u32) -> bool {
        generation_of(self.state.load(Acquire)) != generation
    }

    /// Takes back an arrival in `generation`: `true` if withdrawn, `false` if the generation
    /// completed first (the arrival counted and the caller is released).
    fn withdraw(&self, generation: u32) -> bool {
        let mut s = self.state.load(Acquire);
        loop {
            if generation_of(s) != generation {
                return false;
            }
            let a = arrived_of(s);
            if a == 0 {
                return true; // cannot happen unless corrupted: nothing of ours left to undo
            }
            match self.state.compare_exchange_weak(s, pack(a - 1, generation), AcqRel, Acquire) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Arrives and waits for the generation to complete: `Ok(leader)`, or `Err(Timeout)` with
    /// the arrival withdrawn.
    fn wait(&self, participants: u32, deadline: &Deadline) -> Result<Arrival> {
        let arrival = self.arrive(participants);
        if arrival.leader || self.released(arrival.generation) {
            return Ok(arrival);
        }
        self.sleepers.fetch_add(1, SeqCst);
        fence(SeqCst); // pairs with the leader's fence
        let result = loop {
            if self.released(arrival.generation) {
                break Ok(arrival);
            }
            match deadline.remaining() {
                Err(e) => break if self.withdraw(arrival.generation) { Err(e) } else { Ok(arrival) },
                Ok(left) => {
                    futex_wait_hi(&self.state, arrival.generation, left);
                }
            }
        };
        self.sleepers.fetch_sub(1, SeqCst);
        result
    }
}

/// What [`Barrier::wait`] tells a participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
    generation: u32,
}

impl BarrierWaitResult {
    /// True for exactly one participant per generation: the one whose arrival completed it.
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// The generation this wait completed (counted from 0 at creation, wrapping at 2³²).
    pub fn generation(&self) -> u32 {
        self.generation
    }
}

/// A reusable barrier in a segment: `participants` processes meet, none continues until all
/// have arrived, and then it is ready for the next round.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Barrier, Segment};
/// let seg = Segment::open("/sim")?;
/// let step = Barrier::open(&seg, "step")?; // created with 4 participants
/// for _ in 0..100 {
///     // ... compute this process's part of the step ...
///     if step.wait()?.is_leader() {
///         // exactly one of the 4 gets here per step
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Barrier {
    segment: Segment,
    region: Region,
    header: NonNull<Header>,
    participants: u32,
}

// SAFETY: the handle keeps the mapping alive (through `region`) and touches the header only
// through atomics, which other processes may write concurrently.
unsafe impl Send for Barrier {}
// SAFETY: as above.
unsafe impl Sync for Barrier {}

impl Barrier {
    /// Creates barrier `name` for `participants` processes (1..=i32::MAX).
    pub fn create(segment: &Segment, name: &str, participants: u32) -> Result<Self> {
        Self::create_in(segment, &Self::declare(name, participants))
    }

    /// Opens barrier `name`, whatever its number of participants.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let (region, desc) = segment.lookup(&Self::declaration(name), false)?;
        Ok(Self::from_region(segment, region, desc.capacity as u32))
    }

    /// Opens barrier `name` if it exists (it must have `participants`), or creates it.
    pub fn open_or_create(segment: &Segment, name: &str, participants: u32) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::declare(name, participants))
    }

    fn declare(name: &str, participants: u32) -> StructureLayout<'_> {
        StructureLayout { capacity: participants as u64, ..Self::declaration(name) }
    }

    /// `participants` comes from the validated descriptor (1..=i32::MAX), never the header.
    fn from_region(segment: &Segment, region: Region, participants: u32) -> Self {
        let p = region.typed::<Header>(0);
        Barrier { segment: segment.clone(), region, header: p, participants }
    }

    fn header(&self) -> &Header {
        // SAFETY: `header` points at the 16-byte, 8-aligned region, alive as long as `self`;
        // Header is atomics only, which other processes may write concurrently.
        unsafe { self.header.as_ref() }
    }

    /// Arrives and blocks until all participants of this generation have arrived.
    pub fn wait(&self) -> Result<BarrierWaitResult> {
        self.wait_until(&Deadline::after(None))
    }

    /// Like [`wait`](Self::wait), giving up after `timeout` with [`Error::Timeout`](crate::Error::Timeout). A waiter
    /// that times out has withdrawn its arrival: the barrier still waits for `participants`
    /// arrivals, and this process may arrive again. If the generation completes just as the
    /// timeout expires, the wait succeeds.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult> {
        self.wait_until(&Deadline::after(Some(timeout)))
    }

    fn wait_until(&self, deadline: &Deadline) -> Result<BarrierWaitResult> {
        let a = self.header().wait(self.participants, deadline)?;
        Ok(BarrierWaitResult { leader: a.leader, generation: a.generation })
    }

    /// The number of participants.
    pub fn participants(&self) -> u32 {
        self.participants
    }

    /// Participants waiting in the current generation (a snapshot).
    pub fn arrived(&self) -> u32 {
        arrived_of(self.header().state.load(Relaxed))
    }

    /// Generations completed so far, wrapping (a snapshot).
    pub fn generation(&self) -> u32 {
        generation_of(self.header().state.load(Relaxed))
    }

    /// Processes asleep in `wait` now (a snapshot; includes any that died asleep).
    pub fn sleepers(&self) -> u32 {
        self.header().sleepers.load(Relaxed)
    }

    /// The barrier's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this barrier is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

#[diagnostic::do_not_recommend]
impl Structure for Barrier {
    const KIND: Kind = Kind::Barrier;
    const ELEM: Option<TypeLayout<'static>> = None;
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let participants = decl.capacity as u32; // `region` checked 1..=i32::MAX
        let region = segment.allocate(decl, |r| {
            r.u32_at(PARTICIPANTS_OFFSET).store(participants, Relaxed);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, participants))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Ok(Self::from_region(segment, region, desc.capacity as u32))
    }
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("participants", &self.participants)
            .field("arrived", &self.arrived())
            .field("generation", &self.generation())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

/// A barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierState {
    /// Participants per generation.
    pub participants: u32,
    /// Arrivals in the current generation (as stored).
    pub arrived: i32,
    /// Completed generations (wrapping).
    pub generation: u32,
    /// Processes asleep in wait.
    pub sleepers: u32,
}

impl LiveState for BarrierState {
    fn report(&self, out: &mut Vec<String>) {
        let b = self;
        out.push(format!(
            "generation {}; {} of {} arrived; {} asleep",
            b.generation, b.arrived, b.participants, b.sleepers
        ));
    }

    fn json(&self) -> Json {
        let b = self;
        let u = |v: u32| Json::U(v.into());
        Json::O(vec![
            ("participants", u(b.participants)),
            ("arrived", Json::I(b.arrived.into())),
            ("generation", u(b.generation)),
            ("sleepers", u(b.sleepers)),
        ])
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    fn forever() -> Deadline {
        Deadline::after(None)
    }

    /// Two participants, two generations: nobody leaves a generation before both arrived in
    /// it, and each generation has exactly one leader.
    #[test]
    fn loom_barrier_two_generations() {
        loom::model(|| {
            let h = Arc::new(Header::new(2));
            let arrivals = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
            let leaders = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
            let run = {
                let (h, arrivals, leaders) = (h.clone(), arrivals.clone(), leaders.clone());
                move || {
                    for g in 0..2 {
                        arrivals[g].fetch_add(1, Relaxed);
                        let a = h.wait(2, &forever()).unwrap();
                        assert_eq!(a.generation, g as u32);
                        assert_eq!(arrivals[g].load(Relaxed), 2, "released before everyone arrived");
                        leaders[g].fetch_add(a.leader as u32, Relaxed);
                    }
                }
            };
            let other = loom::thread::spawn(run.clone());
            run();
            other.join().unwrap();
            assert_eq!(leaders[0].load(Relaxed), 1);
            assert_eq!(leaders[1].load(Relaxed), 1);
            assert_eq!(h.state.load(Relaxed), pack(0, 2));
            assert_eq!(h.sleepers.load(Relaxed), 0);
        });
    }

    /// A participant times out (withdraws) while the other arrives: either the withdrawal wins
    /// and the barrier holds just the other's arrival, or the generation completes and the
    /// withdrawal reports it — never a lost or doubled arrival.
    #[test]
    fn loom_barrier_withdrawal_races_completion() {
        loom::model(|| {
            let h = Arc::new(Header::new(2));
            let h2 = h.clone();
            let timing_out = loom::thread::spawn(move || {
                let a = h2.arrive(2);
                (a.leader, !a.leader && h2.withdraw(a.generation))
            });
            let other = h.arrive(2);
            let (their_lead, withdrew) = timing_out.join().unwrap();
            let s = h.state.load(Relaxed);
            if withdrew {
                assert!(!other.leader && !their_lead);
                assert_eq!(s, pack(1, 0), "only the other arrival remains");
            } else {
                assert!(other.leader ^ their_lead, "exactly one leader");
                assert_eq!(s, pack(0, 1));
            }
        });
    }

    /// Three participants: two sleep, the third completes the generation and one wake-all
    /// releases both.
    #[test]
    fn loom_barrier_leader_wakes_all_sleepers() {
        loom::model(|| {
            let h = Arc::new(Header::new(3));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let h = h.clone();
                    loom::thread::spawn(move || h.wait(3, &forever()).unwrap().leader)
                })
                .collect();
            let mut leaders = h.wait(3, &forever()).unwrap().leader as u32;
            for t in threads {
                leaders += t.join().unwrap() as u32;
            }
            assert_eq!(leaders, 1);
            assert_eq!(h.state.load(Relaxed), pack(0, 1));
        });
    }
}

impl Barrier {
    /// A [`WaitSet`](crate::WaitSet) source that is ready once the current generation completes.
    /// Arrive with [`wait`](Self::wait) from the participants; this only watches.
    pub fn next_generation(&self) -> NextGeneration<'_> {
        NextGeneration { barrier: self, from: self.generation() }
    }
}

/// A [`Barrier`]'s next generation, as a [`WaitSet`](crate::WaitSet) source; from
/// [`Barrier::next_generation`].
#[cfg_attr(loom, allow(dead_code))] // the Readiness impl is not built under loom
#[derive(Debug)]
pub struct NextGeneration<'a> {
    barrier: &'a Barrier,
    from: u32,
}

#[cfg(not(loom))]
impl crate::sys::wait_set::Readiness for NextGeneration<'_> {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        let from = self.from;
        crate::sys::wait_set::Source::new(
            self.barrier.clone(),
            |b| {
                let h = b.header();
                // The generation is the upper half of `state`, the word the barrier's sleepers use.
                let generation = h.state.as_ptr().cast::<u32>().wrapping_add(1);
                // SAFETY: `state` is an 8-aligned u64 in the live mapping, so its upper half is a
                // 4-aligned u32 that lives as long as `sleepers` beside it.
                unsafe { crate::sys::wait_set::SleepPoint::at(generation, &h.sleepers, false) }
            },
            move |b| {
                let g = generation_of(b.header().state.load(SeqCst));
                if g != from {
                    crate::sys::wait_set::Probe::Ready
                } else {
                    crate::sys::wait_set::Probe::Pending(g)
                }
            },
        )
    }
}
