//! [`Mutex`]: a robust, process-shared lock. When its holder dies inside the critical section,
//! the next locker gets the lock *and* an owner-died indication, restores the invariants of what
//! the lock protects and marks the mutex consistent — or, if it does not, the mutex becomes
//! permanently unusable ([`Error::NotRecoverable`]). These are glibc's `PTHREAD_MUTEX_ROBUST`
//! semantics, on a layout zipc documents byte for byte.
//!
//! ```text
//! offset  size  field
//! 0       4     u32 word          the lock: a Linux priority-inheritance (PI) futex word —
//!                                 holder's thread id | 0x8000_0000 FUTEX_WAITERS
//!                                 | 0x4000_0000 FUTEX_OWNER_DIED (the kernel's bits); 0 = free
//! 4       4     u32 state         0 consistent, 1 inconsistent (a holder died; the current
//!                                 holder has not marked it consistent), 2 not recoverable
//! 8       4     u32 holder_tid    thread id of the holder inside its critical section, else 0
//! 12      4     u32 holder_pid    that thread's process id (informational)
//! 16      8     u64 holder_start  that thread's start time, clock ticks since boot (40 bits)
//! 24      4     u32 owner_deaths  how many times a holder died inside the critical section
//! 28      100   reserved (zero)
//! ```
//!
//! The region is 128 bytes, 128-aligned (the lock word shares its cache lines with nothing).
//!
//! # Algorithm
//!
//! The lock word follows the kernel's PI-futex protocol (futex(2)): lock is a compare-and-swap
//! `0 → tid` in user space, and only on contention `FUTEX_LOCK_PI`, which queues the caller in
//! the kernel; unlock is a compare-and-swap `tid → 0`, and only if the kernel marked waiters
//! `FUTEX_UNLOCK_PI`, which hands the lock to a waiter. No system call without contention. The
//! kernel knows the owner of a PI futex, which gives death detection without polling:
//!
//! * if the holder dies while others are queued, the kernel hands the lock to one of them at
//!   once (as part of the holder's exit);
//! * if it dies with nobody queued, its thread id stays in the word, and the next locker's
//!   `FUTEX_LOCK_PI` (or `FUTEX_TRYLOCK_PI`) fails with `ESRCH` ("no such thread"): that locker
//!   confirms the thread is gone and takes the lock over with a compare-and-swap on the word.
//!
//! Whether the previous holder died *inside the critical section* is told by `holder_tid`: a
//! locker writes it right after acquiring the word, and the unlock clears it right before
//! releasing the word. Finding it non-zero on acquisition means the previous holder never
//! unlocked: the new holder gets owner-died, `state` becomes inconsistent and `owner_deaths`
//! is incremented. `mark_consistent` sets `state` back to 0; dropping the guard while still
//! inconsistent sets it to 2, after which every lock fails with `NotRecoverable`.
//!
//! A thread id can be reused by a new thread after its owner died. To not mistake an unrelated
//! thread for the holder, blocked lockers wake every [`RECHECK`] and compare the thread's start
//! time (`/proc/TID/stat`) with `holder_start`; a mismatch is a dead holder, taken over as above.
//! If others were queued on the kernel's record of that thread, the record stays stale until
//! their slices end: the kernel then answers `EINVAL`, which lockers meet by retrying after
//! 10 ms and an unlock by freeing the word itself. Participants must share one pid namespace,
//! as for any thread-id-based lock.

pub use crate::layout::kinds::mutex::{
    HOLDER_PID_OFFSET, HOLDER_START_OFFSET, HOLDER_TID_OFFSET, OWNER_DEATHS_OFFSET, REGION_SIZE, STATE_CONSISTENT,
    STATE_INCONSISTENT, STATE_NOT_RECOVERABLE, STATE_OFFSET, WORD_OFFSET, WORD_OWNER_DIED, WORD_TID_MASK, WORD_WAITERS,
};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::render::{plural, Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::futex::{self, Deadline, PiLock, PI_TID_MASK, PI_WAITERS};
use crate::sys::process::{self, ThreadIdentity};

/// How often a blocked locker re-checks that the lock's holder is the thread it was (a thread
/// id reused after the holder died). Unlocks and a holder's death wake it at once regardless.
pub const RECHECK: Duration = Duration::from_secs(1);

/// How long a locker waits before retrying when the kernel's record of the owner is stale.
const INCONSISTENT_RETRY: Duration = Duration::from_millis(10);

/// Live state for `inspect`: the lock word, the recorded holder (with its thread's liveness:
/// same thread id and start time), consistency and owner deaths. An unknown `state` value is
/// reported in `problems` (the mutex treats it as not recoverable).
pub(crate) fn inspect(
    region: &Region,
    _: &crate::segment::description::Descriptor,
    problems: &mut Vec<String>,
) -> MutexState {
    use {Consistency, MutexHolderState};
    let w32 = |at: u64| region.u32_at(at).load(Acquire);
    let word = w32(WORD_OFFSET);
    let state = w32(STATE_OFFSET);
    let tid = w32(HOLDER_TID_OFFSET);
    let holder = (tid != 0).then(|| {
        let start_time = region.u64_at(HOLDER_START_OFFSET).load(Relaxed);
        let alive = match process::start_time(tid) {
            None => false,
            Some(now) => start_time == 0 || now == start_time & process::START_MASK,
        };
        MutexHolderState { tid, pid: w32(HOLDER_PID_OFFSET), start_time, alive }
    });
    let consistency = match state {
        STATE_CONSISTENT => Consistency::Consistent,
        STATE_INCONSISTENT => Consistency::Inconsistent,
        STATE_NOT_RECOVERABLE => Consistency::NotRecoverable,
        other => {
            problems.push(format!("unknown state {other} (treated as not recoverable)"));
            Consistency::NotRecoverable
        }
    };
    let word_tid = word & PI_TID_MASK;
    MutexState {
        locked: word_tid != 0,
        word_tid,
        word_tid_alive: word_tid != 0 && process::start_time(word_tid).is_some(),
        kernel_waiters: word & PI_WAITERS != 0,
        holder,
        consistency,
        state_code: state,
        owner_deaths: w32(OWNER_DEATHS_OFFSET),
    }
}

/// The lock's words (core atomics: the kernel protocol is not modelled under loom).
#[repr(C)]
struct Header {
    word: AtomicU32,
    state: AtomicU32,
    holder_tid: AtomicU32,
    holder_pid: AtomicU32,
    holder_start: AtomicU64,
    owner_deaths: AtomicU32,
}

/// The thread that holds (or last held without unlocking) a [`Mutex`], as recorded in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MutexHolder {
    /// Its kernel thread id.
    pub tid: u32,
    /// Its process id.
    pub pid: u32,
    /// Its start time, clock ticks since boot (0 if unknown).
    pub start_time: u64,
}

/// A robust mutex in a segment, shared by the threads of every process that opens it.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Array, Mutex, Segment};
/// let seg = Segment::open("/plant")?;
/// let lock = Mutex::open(&seg, "config_lock")?;
/// let config = Array::<u64>::open(&seg, "config")?;
/// let mut guard = lock.lock()?;
/// if guard.owner_died() {
///     // The previous holder died half-way through an update: repair `config`, then
///     config.write_from(&[0; 16])?;
///     guard.mark_consistent();
/// }
/// config.set(0, 42)?;
/// drop(guard); // unlocks
/// # Ok(()) }
/// ```
pub struct Mutex {
    segment: Segment,
    region: Region,
    header: NonNull<Header>,
}

// SAFETY: the handle keeps the mapping alive (through `region`) and touches the header only
// through atomics and futex calls, which other processes may perform concurrently.
unsafe impl Send for Mutex {}
// SAFETY: as above; threads of one process are distinct lock owners (distinct thread ids).
unsafe impl Sync for Mutex {}

impl Mutex {
    /// Creates mutex `name`, unlocked.
    pub fn create(segment: &Segment, name: &str) -> Result<Self> {
        Self::create_in(segment, &Self::declaration(name))
    }

    /// Opens mutex `name`.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_in(segment, &Self::declaration(name))
    }

    /// Opens mutex `name`, or creates it.
    pub fn open_or_create(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::declaration(name))
    }

    fn from_region(segment: &Segment, region: Region) -> Self {
        let p = region.typed::<Header>(0);
        Mutex { segment: segment.clone(), region, header: p }
    }

    fn header(&self) -> &Header {
        // SAFETY: `header` points at the mutex's 128-aligned region, alive as long as `self`;
        // Header is atomics only, which other processes may write concurrently.
        unsafe { self.header.as_ref() }
    }

    /// Locks, blocking while another thread (of any process) holds it. If the previous holder
    /// died inside its critical section, this succeeds with
    /// [`MutexGuard::owner_died`] true: repair, then [`MutexGuard::mark_consistent`].
    /// [`Error::NotRecoverable`] if a holder died and was never repaired;
    /// [`Error::WouldDeadlock`] if this thread holds it already.
    pub fn lock(&self) -> Result<MutexGuard<'_>> {
        self.lock_until(&Deadline::after(None))
    }

    /// Like [`lock`](Self::lock), giving up after `timeout` with [`Error::Timeout`].
    pub fn lock_timeout(&self, timeout: Duration) -> Result<MutexGuard<'_>> {
        self.lock_until(&Deadline::after(Some(timeout)))
    }

    /// Locks if that is possible without waiting: `Ok(None)` if another thread holds it (or
    /// this one). A held mutex costs one system call here, which also detects a dead holder.
    pub fn try_lock(&self) -> Result<Option<MutexGuard<'_>>> {
        let me = process::current_thread();
        self.check_recoverable()?;
        let h = self.header();
        let mut gone = Gone::default();
        loop {
            let v = h.word.load(Relaxed);
            let owner = v & PI_TID_MASK;
            if owner == 0 {
                if self.take_word(v, me) {
                    return self.acquired(me).map(Some);
                }
                continue;
            }
            if owner == me.tid {
                return Ok(None);
            }
            match futex::trylock_pi(&h.word).map_err(|e| self.os_error(e))? {
                PiLock::Acquired => return self.acquired(me).map(Some),
                PiLock::NotAcquired | PiLock::Deadlock | PiLock::Inconsistent => return Ok(None),
                PiLock::Retry => {}
                PiLock::OwnerGone => {
                    if self.take_over_from_gone(owner, me, &mut gone) {
                        return self.acquired(me).map(Some);
                    }
                }
            }
        }
    }

    fn lock_until(&self, deadline: &Deadline) -> Result<MutexGuard<'_>> {
        let me = process::current_thread();
        self.check_recoverable()?;
        let h = self.header();
        if h.word.compare_exchange(0, me.tid, Acquire, Relaxed).is_ok() {
            return self.acquired(me); // the fast path: one compare-and-swap
        }
        let mut gone = Gone::default();
        loop {
            let v = h.word.load(Relaxed);
            let owner = v & PI_TID_MASK;
            if owner == 0 {
                if self.take_word(v, me) {
                    return self.acquired(me);
                }
                continue;
            }
            if owner == me.tid {
                return Err(Error::WouldDeadlock { structure: self.name().to_owned() });
            }
            let left = deadline.remaining()?;
            let slice = left.map_or(RECHECK, |l| l.min(RECHECK));
            match futex::lock_pi(&h.word, Some(slice)).map_err(|e| self.os_error(e))? {
                PiLock::Acquired => return self.acquired(me),
                PiLock::Deadlock => return Err(Error::WouldDeadlock { structure: self.name().to_owned() }),
                PiLock::Retry => {}
                PiLock::OwnerGone => {
                    if self.take_over_from_gone(owner, me, &mut gone) {
                        return self.acquired(me);
                    }
                }
                PiLock::Inconsistent => {
                    // Only after a takeover from a reused thread id while others were queued
                    // (or a peer scribbling on the word), until the stale waiters' slices end:
                    // look again shortly rather than fail.
                    futex::wait(&h.word, v, Some(slice.min(INCONSISTENT_RETRY)));
                }
                PiLock::NotAcquired => {
                    // A slice ended: is the word's thread still the holder that locked it?
                    let v = h.word.load(Relaxed);
                    let owner = v & PI_TID_MASK;
                    if owner != 0 && self.holder_dead(owner, me) && self.take_word(v, me) {
                        return self.acquired(me);
                    }
                    deadline.remaining()?;
                }
            }
        }
    }

    /// Replaces word value `v` (free, or naming a dead holder) with this thread, keeping the
    /// kernel's waiters bit so that the unlock goes through the kernel if others are queued.
    fn take_word(&self, v: u32, me: ThreadIdentity) -> bool {
        self.header().word.compare_exchange(v, me.tid | (v & PI_WAITERS), Acquire, Relaxed).is_ok()
    }

    /// After the kernel said the word names no live thread (`ESRCH`): take the lock over if the
    /// word still names `owner` and that thread is confirmed gone — by `/proc`, or, where
    /// `/proc` cannot tell, by the kernel saying so twice in a row.
    fn take_over_from_gone(&self, owner: u32, me: ThreadIdentity, gone: &mut Gone) -> bool {
        gone.note(owner);
        let v = self.header().word.load(Relaxed);
        if v & PI_TID_MASK != owner {
            return false; // it changed hands meanwhile: look again
        }
        (self.holder_dead(owner, me) || gone.count >= 2) && self.take_word(v, me)
    }

    /// Whether thread `tid`, found in the word, is certainly not the holder that locked it:
    /// gone (or a zombie), or alive with another start time than the recorded holder's (its
    /// thread id was reused). `false` when `/proc` is unreadable.
    fn holder_dead(&self, tid: u32, me: ThreadIdentity) -> bool {
        if me.start_time == 0 {
            return false; // no /proc here: no opinion
        }
        let h = self.header();
        match process::start_time(tid) {
            None => true,
            Some(start) => {
                let recorded = h.holder_start.load(Relaxed);
                h.holder_tid.load(Relaxed) == tid && recorded != 0 && recorded != start
            }
        }
    }

    /// Having acquired the word: decide owner-died and record this thread as the holder.
    fn acquired(&self, me: ThreadIdentity) -> Result<MutexGuard<'_>> {
        let h = self.header();
        let state = h.state.load(Relaxed);
        if state != STATE_CONSISTENT && state != STATE_INCONSISTENT {
            self.release_word(me.tid);
            return Err(Error::NotRecoverable { structure: self.name().to_owned() });
        }
        // A previous holder that never cleared `holder_tid` died inside its critical section
        // (and one that died while inconsistent left `state` at 1).
        let owner_died = h.holder_tid.load(Relaxed) != 0 || state == STATE_INCONSISTENT;
        if owner_died {
            h.state.store(STATE_INCONSISTENT, Relaxed);
            h.owner_deaths.fetch_add(1, Relaxed);
        }
        h.holder_pid.store(me.pid, Relaxed);
        h.holder_start.store(me.start_time, Relaxed);
        h.holder_tid.store(me.tid, Relaxed);
        Ok(MutexGuard { mutex: self, tid: me.tid, owner_died, consistent: !owner_died, _not_send: PhantomData })
    }

    fn release_word(&self, tid: u32) {
        let h = self.header();
        // Release: the holder's writes (its critical section, then the holder fields) are
        // visible to the next holder. With the kernel's bits set, the kernel hands over.
        if h.word.compare_exchange(tid, 0, Release, Relaxed).is_ok() || futex::unlock_pi(&h.word).is_ok() {
            return;
        }
        // The kernel refused: its record of the owner is another thread than the word names.
        // That happens when this thread took the lock over from a reused thread id while others
        // were queued on the kernel's record of that thread (or when a peer wrote the word).
        // Free the word here; lockers still queued on the stale record find it free when their
        // sleep slice ends (at most RECHECK).
        let mut v = h.word.load(Relaxed);
        while v & PI_TID_MASK == tid {
            match h.word.compare_exchange_weak(v, 0, Release, Relaxed) {
                Ok(_) => break,
                Err(now) => v = now,
            }
        }
    }

    fn check_recoverable(&self) -> Result<()> {
        if self.is_recoverable() {
            Ok(())
        } else {
            Err(Error::NotRecoverable { structure: self.name().to_owned() })
        }
    }

    fn os_error(&self, e: std::io::Error) -> Error {
        Error::Os { call: "futex", name: format!("{}:{}", self.segment.name(), self.name()), source: e }
    }

    /// False once a holder died and its successor released the mutex without repairing:
    /// every lock then fails with [`Error::NotRecoverable`].
    pub fn is_recoverable(&self) -> bool {
        matches!(self.header().state.load(Relaxed), STATE_CONSISTENT | STATE_INCONSISTENT)
    }

    /// Whether some thread holds the lock now (a snapshot).
    pub fn is_locked(&self) -> bool {
        self.header().word.load(Relaxed) & PI_TID_MASK != 0
    }

    /// The recorded holder: the thread inside the critical section, or one that died there and
    /// has not been succeeded yet (a snapshot, for inspection).
    pub fn holder(&self) -> Option<MutexHolder> {
        let h = self.header();
        let tid = h.holder_tid.load(Relaxed);
        (tid != 0).then(|| MutexHolder {
            tid,
            pid: h.holder_pid.load(Relaxed),
            start_time: h.holder_start.load(Relaxed),
        })
    }

    /// How many times a holder died inside the critical section (and a successor was told).
    pub fn owner_deaths(&self) -> u32 {
        self.header().owner_deaths.load(Relaxed)
    }

    /// The mutex's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this mutex is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

/// Consecutive `ESRCH` answers for one thread id.
#[derive(Default)]
struct Gone {
    tid: u32,
    count: u32,
}

impl Gone {
    fn note(&mut self, tid: u32) {
        if self.tid == tid {
            self.count = self.count.saturating_add(1);
        } else {
            *self = Gone { tid, count: 1 };
        }
    }
}

/// Holding a [`Mutex`]; unlocks when dropped. Belongs to the thread that locked (the kernel
/// checks the unlocking thread), hence not `Send`.
#[must_use = "the mutex is unlocked at once if the guard is not kept"]
pub struct MutexGuard<'a> {
    mutex: &'a Mutex,
    tid: u32,
    owner_died: bool,
    consistent: bool,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard only reads its own plain fields.
unsafe impl Sync for MutexGuard<'_> {}

impl MutexGuard<'_> {
    /// True if the previous holder died inside its critical section: what the mutex protects
    /// may be half-updated. Repair it, then call [`mark_consistent`](Self::mark_consistent);
    /// otherwise the unlock makes the mutex unrecoverable.
    pub fn owner_died(&self) -> bool {
        self.owner_died
    }

    /// Declares the protected state repaired: the mutex is consistent again, and this unlock
    /// leaves it usable (glibc's `pthread_mutex_consistent`). A no-op if the owner did not die.
    pub fn mark_consistent(&mut self) {
        if !self.consistent {
            self.mutex.header().state.store(STATE_CONSISTENT, Relaxed);
            self.consistent = true;
        }
    }

    /// False while an owner-died lock has not been marked consistent.
    pub fn is_consistent(&self) -> bool {
        self.consistent
    }
}

impl<'a> MutexGuard<'a> {
    /// The mutex this guard holds (a [`Condvar`](crate::Condvar) unlocks and relocks it).
    pub(crate) fn mutex(&self) -> &'a Mutex {
        self.mutex
    }
}

impl Drop for MutexGuard<'_> {
    fn drop(&mut self) {
        if process::current_thread().tid != self.tid {
            return; // a copy in a forked child: the lock is the parent thread's to release
        }
        self.mutex.unlock_as(self.tid, self.consistent);
    }
}

/// Holding a mutex without a guard, for the C ABI (a [`MutexGuard`] is a Rust borrow and cannot
/// cross it): the locking thread forgets its guard and later unlocks with these, which check that
/// the calling thread holds the lock. The guard's `consistent` flag is the `state` word then:
/// owner-died sets it inconsistent, marking consistent clears it.
impl Mutex {
    /// Unlocks the mutex the calling thread holds (see [`MutexGuard`]'s drop).
    pub(crate) fn unlock_held(&self) -> Result<()> {
        let me = self.held_by_me("unlock")?;
        let consistent = self.header().state.load(Relaxed) == STATE_CONSISTENT;
        self.unlock_as(me, consistent);
        Ok(())
    }

    /// [`MutexGuard::mark_consistent`] for the mutex the calling thread holds.
    pub(crate) fn mark_consistent_held(&self) -> Result<()> {
        self.held_by_me("mark_consistent")?;
        self.header().state.store(STATE_CONSISTENT, Relaxed);
        Ok(())
    }

    fn held_by_me(&self, what: &str) -> Result<u32> {
        let me = process::current_thread().tid;
        if self.header().word.load(Relaxed) & PI_TID_MASK != me {
            return Err(Error::invalid(
                format!("{what} of mutex {:?}", self.name()),
                "the calling thread does not hold it: lock it first, and unlock it from the thread that locked it",
            ));
        }
        Ok(me)
    }

    /// The unlock protocol (FORMAT.md): a holder that got owner-died and did not repair makes
    /// the mutex unrecoverable; the holder fields are cleared, then the word released.
    fn unlock_as(&self, tid: u32, consistent: bool) {
        let h = self.header();
        if !consistent {
            h.state.store(STATE_NOT_RECOVERABLE, Relaxed);
        }
        h.holder_start.store(0, Relaxed);
        h.holder_pid.store(0, Relaxed);
        h.holder_tid.store(0, Relaxed);
        self.release_word(tid);
    }
}

impl std::fmt::Debug for MutexGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MutexGuard")
            .field("mutex", &self.mutex.name())
            .field("owner_died", &self.owner_died)
            .field("consistent", &self.consistent)
            .finish()
    }
}

#[diagnostic::do_not_recommend]
impl Structure for Mutex {
    const KIND: Kind = Kind::Mutex;
    const ELEM: Option<TypeLayout<'static>> = None;
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        // All zero is an unlocked, consistent mutex: the allocator hands out zeroed bytes.
        let region = segment.allocate(decl, |_| Ok(()))?;
        Ok(Self::from_region(segment, region))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, _) = segment.lookup(decl, true)?;
        Ok(Self::from_region(segment, region))
    }
}

impl std::fmt::Debug for Mutex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mutex")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("locked", &self.is_locked())
            .field("holder", &self.holder())
            .field("recoverable", &self.is_recoverable())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

/// A robust mutex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutexState {
    /// Whether the lock word names an owner.
    pub locked: bool,
    /// The thread id in the lock word (0 if free).
    pub word_tid: u32,
    /// Whether the thread in the lock word exists (a dead one is taken over by the next locker).
    pub word_tid_alive: bool,
    /// Whether the kernel has queued waiters (`FUTEX_WAITERS`).
    pub kernel_waiters: bool,
    /// The thread recorded inside the critical section (or one that died there).
    pub holder: Option<MutexHolderState>,
    /// Consistent, inconsistent (a holder died) or not recoverable.
    pub consistency: Consistency,
    /// The `state` word as stored.
    pub state_code: u32,
    /// Times a holder died inside the critical section.
    pub owner_deaths: u32,
}

/// A mutex holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MutexHolderState {
    /// Thread id.
    pub tid: u32,
    /// Its process.
    pub pid: u32,
    /// The thread's start time (0 if unknown).
    pub start_time: u64,
    /// Whether that thread is alive now.
    pub alive: bool,
}

/// A robust mutex's consistency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// Usable.
    Consistent,
    /// A holder died; the current holder has not marked it consistent.
    Inconsistent,
    /// Unusable: every lock fails.
    NotRecoverable,
}

impl Consistency {
    /// `"consistent"`, `"inconsistent"` or `"not recoverable"`.
    pub fn name(self) -> &'static str {
        match self {
            Consistency::Consistent => "consistent",
            Consistency::Inconsistent => "inconsistent",
            Consistency::NotRecoverable => "not recoverable",
        }
    }
}

impl LiveState for MutexState {
    fn report(&self, out: &mut Vec<String>) {
        let m = self;
        let lock = match (&m.holder, m.locked) {
            (Some(h), _) => format!(
                "locked by thread {} of pid {} ({})",
                h.tid,
                h.pid,
                if h.alive { "alive" } else { "dead: the next locker takes over" }
            ),
            (None, true) if m.word_tid_alive => {
                format!("locked by thread {} (entering or leaving)", m.word_tid)
            }
            (None, true) => {
                format!("locked by thread {}, which is gone: the next locker takes over", m.word_tid)
            }
            (None, false) => "unlocked".to_owned(),
        };
        out.push(format!(
            "{lock}; {}; {}{}",
            m.consistency.name(),
            plural(u64::from(m.owner_deaths), "owner death", "owner deaths"),
            if m.kernel_waiters { "; waiters queued" } else { "" }
        ));
    }

    fn json(&self) -> Json {
        let m = self;
        let u = |v: u32| Json::U(v.into());
        Json::O(vec![
            ("locked", Json::Bool(m.locked)),
            ("word_tid", u(m.word_tid)),
            ("word_tid_alive", Json::Bool(m.word_tid_alive)),
            ("kernel_waiters", Json::Bool(m.kernel_waiters)),
            (
                "holder",
                Json::opt(m.holder.as_ref(), |h| {
                    Json::O(vec![
                        ("tid", u(h.tid)),
                        ("pid", u(h.pid)),
                        ("start_time", Json::U(h.start_time)),
                        ("alive", Json::Bool(h.alive)),
                    ])
                }),
            ),
            ("consistency", Json::s(m.consistency.name())),
            ("state_code", u(m.state_code)),
            ("owner_deaths", u(m.owner_deaths)),
        ])
    }
}
