//! [`Once`]: a one-time initialisation shared between processes — ZeroIPC's `once`. Of all the
//! processes that call [`Once::call_once`], one runs the initialisation and the others wait for
//! it; if the one running it dies, another runs it again.
//!
//! ```text
//! offset  size  field
//! 0       8     u64 state      0 new, 1 done, else the initialiser's pid << 40 | start time
//! 8       4     u32 epoch      incremented when an initialisation completes or is abandoned
//! 12      4     u32 waiters    threads asleep waiting for it
//! 16      4     u32 takeovers  initialisations taken over from a dead initialiser, ever
//! 20      108   reserved (zero)
//! ```
//!
//! # Algorithm
//!
//! To begin, a thread compare-and-swaps `state` from NEW to its own tag: one compare-and-swap
//! both claims the initialisation and names the claimant, so there is no instant at which a
//! claim has no owner. It then runs the initialisation and stores DONE (release: whoever sees
//! DONE sees what the initialisation wrote); abandoning it (the initialisation failed, or
//! panicked) stores NEW back. Either way it increments `epoch` and wakes the sleepers
//! (`sys/waiting.rs`: no system call while nobody sleeps).
//!
//! A thread that finds another's tag sleeps on `epoch`, waking at least every 100 ms to ask
//! whether the claimant lives. A dead claimant's tag is compare-and-swapped to the thread's own
//! (so one survivor takes over) and counted in `takeovers`; the survivor then runs the
//! initialisation from the start, so the initialisation must cope with the partial work of a
//! predecessor that died (as ZeroIPC's `once` leaves it to the user).

pub use crate::layout::kinds::once::{
    DONE, EPOCH_OFFSET, NEW, REGION_SIZE, STATE_OFFSET, TAKEOVERS_OFFSET, WAITERS_OFFSET,
};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::render::{Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::atomics::{AtomicU32, AtomicU64};
use crate::sys::futex::Deadline;
use crate::sys::role::{self, Holder};
use crate::sys::waiting;

/// How often a waiter asks whether the initialiser lives.
const LIVENESS_EVERY: Duration = Duration::from_millis(100);

/// Live state for `inspect`.
pub(crate) fn inspect(region: &Region, _: &crate::segment::description::Descriptor, _: &mut Vec<String>) -> OnceState {
    let state = region.u64_at(STATE_OFFSET).load(Acquire);
    OnceState {
        done: state == DONE,
        initialiser: if state == NEW || state == DONE { None } else { Holder::from_tag(state) },
        waiters: region.u32_at(WAITERS_OFFSET).load(Relaxed),
        takeovers: region.u32_at(TAKEOVERS_OFFSET).load(Relaxed),
    }
}

/// The shared state, as atomics (loom's in a model).
#[repr(C)]
pub(crate) struct Header {
    state: AtomicU64,
    epoch: AtomicU32,
    waiters: AtomicU32,
    takeovers: AtomicU32,
}

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::offset_of!(Header, epoch) as u64 == EPOCH_OFFSET);
    assert!(std::mem::offset_of!(Header, waiters) as u64 == WAITERS_OFFSET);
    assert!(std::mem::offset_of!(Header, takeovers) as u64 == TAKEOVERS_OFFSET);
};

/// What a look at the state found.
pub(crate) enum Look {
    /// Completed: nothing to do.
    Done,
    /// The caller now holds the initialisation.
    Mine,
}

impl Header {
    /// Whether the state is DONE (acquire: what the holder wrote before completing is visible).
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Acquire) == DONE
    }

    /// The state word: NEW, DONE or a holder's tag.
    pub(crate) fn state(&self) -> u64 {
        self.state.load(Acquire)
    }

    /// Takeovers from dead holders, ever.
    pub(crate) fn takeovers(&self) -> u32 {
        self.takeovers.load(Relaxed)
    }

    /// Waits until the state is DONE, without claiming it; [`Error::Timeout`] at the deadline.
    pub(crate) fn wait_done(&self, deadline: &Deadline) -> Result<()> {
        let done = || {
            let epoch = self.epoch.load(Acquire);
            if self.state.load(Acquire) == DONE {
                Ok(())
            } else {
                Err(epoch)
            }
        };
        waiting::wait_until(&self.epoch, &self.waiters, deadline, done)
    }

    #[cfg(all(test, loom))]
    fn new(state: u64) -> Self {
        Header {
            state: AtomicU64::new(state),
            epoch: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            takeovers: AtomicU32::new(0),
        }
    }

    /// One look: done, claimed (or taken over from a dead claimant) by `me`, or the epoch seen
    /// while someone alive holds it.
    fn try_begin(&self, me: u64, alive: impl Fn(u64) -> bool) -> std::result::Result<Look, u32> {
        loop {
            let epoch = self.epoch.load(Acquire);
            let s = self.state.load(Acquire);
            let next = match s {
                DONE => return Ok(Look::Done),
                NEW => NEW,
                holder if holder == me || alive(holder) => return Err(epoch),
                dead => dead,
            };
            if self.state.compare_exchange(next, me, AcqRel, Acquire).is_ok() {
                if next != NEW {
                    self.takeovers.fetch_add(1, Relaxed);
                }
                return Ok(Look::Mine);
            }
        }
    }

    /// Waits until the initialisation is done (`Look::Done`) or `me` holds it (`Look::Mine`),
    /// taking over from a dead holder; [`Error::Timeout`] at the deadline.
    pub(crate) fn begin(&self, me: u64, alive: impl Fn(u64) -> bool + Copy, deadline: &Deadline) -> Result<Look> {
        loop {
            match waiting::wait_until(&self.epoch, &self.waiters, &deadline.capped(LIVENESS_EVERY), || {
                self.try_begin(me, alive)
            }) {
                Ok(look) => return Ok(look),
                Err(Error::Timeout) => deadline.remaining().map(|_| ())?,
                Err(e) => return Err(e),
            }
        }
    }

    /// Ends `me`'s hold: DONE if `completed`, else NEW again for another to try.
    pub(crate) fn end(&self, me: u64, completed: bool) {
        let to = if completed { DONE } else { NEW };
        // Only the holder ends its hold; a holder presumed dead and taken over finds its tag gone.
        let _ = self.state.compare_exchange(me, to, Release, Relaxed);
        self.epoch.fetch_add(1, Release);
        waiting::wake(&self.epoch, &self.waiters, u32::MAX);
    }
}

/// A one-time initialisation in a segment.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Array, Once, Segment};
/// let seg = Segment::open_or_create("/once-doc", 1 << 20)?;
/// let table = Array::<u64>::open_or_create(&seg, "table", 1024)?;
/// let init = Once::open_or_create(&seg, "table_init")?;
/// // Every process: the first fills the table, the others wait for it to finish.
/// init.call_once(|| {
///     for i in 0..1024 {
///         table.set(i, i as u64 * 2).unwrap();
///     }
/// })?;
/// # Segment::unlink("/once-doc") }
/// ```
#[derive(Clone)]
pub struct Once {
    segment: Segment,
    region: Region,
    header: NonNull<Header>,
}

// SAFETY: the handle keeps the mapping alive (through `region`) and touches the header only
// through atomics and futex calls, which other processes may perform concurrently.
unsafe impl Send for Once {}
// SAFETY: as above.
unsafe impl Sync for Once {}

/// Holding a [`Once`]'s initialisation: [`complete`](Self::complete) when it is done; dropped
/// without completing (an error, a panic), it is abandoned and another caller runs it.
#[must_use = "dropping the guard abandons the initialisation"]
pub struct OnceGuard<'a> {
    once: &'a Once,
    me: u64,
    completed: bool,
}

impl OnceGuard<'_> {
    /// Marks the initialisation done and wakes everyone waiting for it.
    pub fn complete(mut self) {
        self.completed = true;
    }
}

impl Drop for OnceGuard<'_> {
    fn drop(&mut self) {
        self.once.header().end(self.me, self.completed);
    }
}

impl Once {
    /// Creates once `name`, not yet run.
    pub fn create(segment: &Segment, name: &str) -> Result<Self> {
        Self::create_in(segment, &Self::declaration(name))
    }

    /// Opens once `name`.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_in(segment, &Self::declaration(name))
    }

    /// Opens once `name`, or creates it.
    pub fn open_or_create(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::declaration(name))
    }

    fn from_region(segment: &Segment, region: Region) -> Self {
        let p = region.typed::<Header>(0);
        Once { segment: segment.clone(), region, header: p }
    }

    fn header(&self) -> &Header {
        // SAFETY: `header` points at the once's 128-aligned region, alive as long as `self`;
        // Header is atomics only, which other processes may write concurrently.
        unsafe { self.header.as_ref() }
    }

    /// Runs `init` if no process has completed it: `Ok(true)` if this call ran it, `Ok(false)`
    /// if it was done (by another, perhaps after waiting for it). If the process running it dies,
    /// a waiting caller runs it again; if `init` panics, the initialisation is abandoned (the
    /// next caller runs it) and the panic goes on.
    pub fn call_once(&self, init: impl FnOnce()) -> Result<bool> {
        self.call_once_until(&Deadline::after(None), init)
    }

    /// [`call_once`](Self::call_once), waiting for another's initialisation at most `timeout`
    /// ([`Error::Timeout`]; `init` not run).
    pub fn call_once_timeout(&self, timeout: Duration, init: impl FnOnce()) -> Result<bool> {
        self.call_once_until(&Deadline::after(Some(timeout)), init)
    }

    fn call_once_until(&self, deadline: &Deadline, init: impl FnOnce()) -> Result<bool> {
        match self.begin_until(deadline)? {
            None => Ok(false),
            Some(guard) => {
                init();
                guard.complete();
                Ok(true)
            }
        }
    }

    /// The initialisation as a guard, for work that can fail: `None` if it is done, else the
    /// caller holds it (waiting at most `timeout` while another does: [`Error::Timeout`]) and
    /// [`OnceGuard::complete`]s or drops the guard.
    pub fn begin(&self, timeout: Option<Duration>) -> Result<Option<OnceGuard<'_>>> {
        self.begin_until(&Deadline::after(timeout))
    }

    fn begin_until(&self, deadline: &Deadline) -> Result<Option<OnceGuard<'_>>> {
        let me = role::my_tag();
        Ok(match self.header().begin(me, role::alive, deadline)? {
            Look::Done => None,
            Look::Mine => Some(OnceGuard { once: self, me, completed: false }),
        })
    }

    /// The C ABI's begin: `true` if the calling process now holds the initialisation (it runs
    /// it, then calls [`end_unguarded`](Self::end_unguarded)), `false` if it is done.
    pub(crate) fn begin_unguarded(&self, timeout: Option<Duration>) -> Result<bool> {
        Ok(self.begin(timeout)?.map(std::mem::forget).is_some())
    }

    /// The C ABI's end of a hold: completes (`completed`) or abandons the initialisation the
    /// calling process holds; an error if it holds none.
    pub(crate) fn end_unguarded(&self, completed: bool) -> Result<()> {
        let me = role::my_tag();
        if self.header().state() != me {
            return Err(Error::invalid(
                format!("end of once {:?}", self.name()),
                "the calling process does not hold its initialisation: begin it first (and end it once)",
            ));
        }
        self.header().end(me, completed);
        Ok(())
    }

    /// Waits until the initialisation is complete, at most `timeout` ([`Error::Timeout`]),
    /// without running it.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<()> {
        self.header().wait_done(&Deadline::after(timeout))
    }

    /// Whether the initialisation is complete.
    pub fn is_completed(&self) -> bool {
        self.header().is_done()
    }

    /// Initialisations taken over from a dead initialiser, ever.
    pub fn takeovers(&self) -> u32 {
        self.header().takeovers()
    }

    /// The once's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this once is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

#[diagnostic::do_not_recommend]
impl Structure for Once {
    const KIND: Kind = Kind::Once;
    const ELEM: Option<TypeLayout<'static>> = None;
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let region = segment.allocate(decl, |_| Ok(()))?;
        Ok(Self::from_region(segment, region))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, _) = segment.lookup(decl, false)?;
        Ok(Self::from_region(segment, region))
    }
}

impl std::fmt::Debug for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Once")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("completed", &self.is_completed())
            .finish()
    }
}

/// A once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnceState {
    /// Whether the initialisation completed.
    pub done: bool,
    /// The process running it now, if any.
    pub initialiser: Option<Holder>,
    /// Threads asleep waiting for it.
    pub waiters: u32,
    /// Initialisations taken over from a dead initialiser, ever.
    pub takeovers: u32,
}

impl LiveState for OnceState {
    fn report(&self, out: &mut Vec<String>) {
        let what = match (&self.initialiser, self.done) {
            (_, true) => "done".to_owned(),
            (Some(h), _) => format!(
                "being run by pid {}{}",
                h.pid,
                if h.alive { "" } else { " (dead: the next caller takes it over)" }
            ),
            (None, _) => "not run".to_owned(),
        };
        out.push(format!("{what}, {} waiting, {} taken over", self.waiters, self.takeovers));
    }

    fn json(&self) -> Json {
        let holder = match &self.initialiser {
            None => Json::Null,
            Some(h) => Json::O(vec![
                ("pid", Json::U(h.pid.into())),
                ("start_time", Json::U(h.start_time)),
                ("alive", Json::Bool(h.alive)),
            ]),
        };
        Json::O(vec![
            ("done", Json::Bool(self.done)),
            ("initialiser", holder),
            ("waiters", Json::U(self.waiters.into())),
            ("takeovers", Json::U(self.takeovers.into())),
        ])
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    const DEAD: u64 = 0xdead << 40;

    fn alive(tag: u64) -> bool {
        tag != DEAD
    }

    /// Two callers: exactly one runs the initialisation, and both return after it completed.
    #[test]
    fn loom_once_runs_exactly_once() {
        loom::model(|| {
            let h = Arc::new(Header::new(NEW));
            let runs = Arc::new(AtomicU32::new(0));
            let callers: Vec<_> = (1..=2u64)
                .map(|me| {
                    let (h, runs) = (h.clone(), runs.clone());
                    loom::thread::spawn(move || {
                        let me = me << 40;
                        if let Look::Mine = h.begin(me, alive, &Deadline::after(None)).unwrap() {
                            runs.fetch_add(1, Relaxed);
                            h.end(me, true);
                        }
                        assert_eq!(h.state.load(Acquire), DONE);
                    })
                })
                .collect();
            for c in callers {
                c.join().unwrap();
            }
            assert_eq!(runs.load(Relaxed), 1);
        });
    }

    /// An initialiser that abandons lets the other caller run it; one left by a dead process is
    /// taken over once.
    #[test]
    fn loom_once_abandoned_or_dead_is_run_again() {
        loom::model(|| {
            let h = Arc::new(Header::new(DEAD));
            let h2 = h.clone();
            let t = loom::thread::spawn(move || {
                let me = 2 << 40;
                match h2.begin(me, alive, &Deadline::after(None)).unwrap() {
                    Look::Mine => {
                        h2.end(me, false); // abandons
                        false
                    }
                    Look::Done => true,
                }
            });
            let me = 3 << 40;
            let mut ran = false;
            loop {
                match h.begin(me, alive, &Deadline::after(None)).unwrap() {
                    Look::Mine => {
                        ran = true;
                        h.end(me, true);
                    }
                    Look::Done => break,
                }
            }
            let other_saw_done = t.join().unwrap();
            assert!(ran || other_saw_done);
            assert_eq!(h.state.load(Acquire), DONE);
            assert!(h.takeovers.load(Relaxed) >= 1, "the dead claim was taken over");
        });
    }
}
