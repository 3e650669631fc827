//! [`Condvar`]: a condition variable shared between processes, paired with a [`Mutex`] —
//! ZeroIPC's `monitor`. A thread holding the mutex waits until another changes what the mutex
//! protects and notifies.
//!
//! ```text
//! offset  size  field
//! 0       4     u32 seq       notifications sent (wrapping); the futex word
//! 4       4     u32 waiters   threads asleep in wait
//! 8       120   reserved (zero)
//! ```
//!
//! # Algorithm
//!
//! `wait` reads `seq` while it still holds the mutex, unlocks, and sleeps (`sys/waiting.rs`:
//! counted in `waiters`, a `FUTEX_WAIT` on `seq` with the value it read) until `seq` differs,
//! then locks again. `notify_one` and `notify_all` increment `seq` and wake one or every sleeper
//! if any is counted. A notifier changes the condition under the mutex before it notifies, so a
//! waiter either sees the change when it tests the condition (holding the mutex) or has read
//! the old `seq` before the notifier could take the mutex — and then the increment makes its
//! sleep return or the kernel refuse it: no notification is lost. As with every condition
//! variable a wait may also return without a notification for it (another waiter's, a wrap of
//! `seq` after 2³² notifications is not one of them in practice): test the condition in a loop,
//! or use [`Condvar::wait_while`].
//!
//! Nothing is held in the condvar itself, so a process killed while waiting leaves only
//! `waiters` one too high (a notifier then makes a system call it could have skipped). A holder
//! of the mutex killed between notifications is the mutex's business: the next locker is told
//! ([`MutexGuard::owner_died`]).

pub use crate::layout::kinds::condvar::{REGION_SIZE, SEQ_OFFSET, WAITERS_OFFSET};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::structures::render::{Json, LiveState};
use crate::structures::sync::mutex::{Mutex, MutexGuard};
use crate::structures::{self, Structure};
use crate::sys::atomics::AtomicU32;
use crate::sys::futex::Deadline;
use crate::sys::waiting;

/// Live state for `inspect`: notifications sent and threads asleep.
pub(crate) fn inspect(
    region: &Region,
    _: &crate::segment::description::Descriptor,
    _: &mut Vec<String>,
) -> CondvarState {
    CondvarState {
        notifications: region.u32_at(SEQ_OFFSET).load(Acquire),
        waiters: region.u32_at(WAITERS_OFFSET).load(Relaxed),
    }
}

/// The shared state, as atomics (loom's in a model).
#[repr(C)]
pub(crate) struct Header {
    seq: AtomicU32,
    waiters: AtomicU32,
}

impl Header {
    #[cfg(all(test, loom))]
    fn new() -> Self {
        Header { seq: AtomicU32::new(0), waiters: AtomicU32::new(0) }
    }

    /// The value a waiter reads before it lets the mutex go.
    fn ticket(&self) -> u32 {
        self.seq.load(Acquire)
    }

    /// Sleeps until `seq` is no longer `ticket`: `false` if the deadline passed first.
    fn sleep(&self, ticket: u32, deadline: &Deadline) -> Result<bool> {
        let changed = || {
            let now = self.seq.load(Acquire);
            if now != ticket {
                Ok(())
            } else {
                Err(now)
            }
        };
        match waiting::wait_until(&self.seq, &self.waiters, deadline, changed) {
            Ok(()) => Ok(true),
            Err(Error::Timeout) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn notify(&self, n: u32) {
        // Release: a waiter that sees the new value sees what the notifier wrote before.
        self.seq.fetch_add(1, Release);
        waiting::wake(&self.seq, &self.waiters, n);
    }
}

/// A condition variable in a segment, used with a [`Mutex`] of the same or another segment.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Atomic, Condvar, Mutex, Segment};
/// let seg = Segment::create("/condvar-doc", 1 << 20)?;
/// let lock = Mutex::create(&seg, "jobs_lock")?;
/// let ready = Condvar::create(&seg, "jobs_ready")?;
/// let jobs = Atomic::<u64>::create(&seg, "jobs", 0)?; // what the mutex protects
/// // A producer process:
/// {
///     let _g = lock.lock()?;
///     jobs.fetch_add(1);
/// }
/// ready.notify_one();
/// // A consumer process:
/// let (g, notified) = ready.wait_while(lock.lock()?, None, |_| jobs.load() == 0)?;
/// assert!(notified);
/// jobs.fetch_sub(1);
/// drop(g);
/// # Segment::unlink("/condvar-doc") }
/// ```
#[derive(Clone)]
pub struct Condvar {
    segment: Segment,
    region: Region,
    header: NonNull<Header>,
}

// SAFETY: the handle keeps the mapping alive (through `region`) and touches the header only
// through atomics and futex calls, which other processes may perform concurrently.
unsafe impl Send for Condvar {}
// SAFETY: as above.
unsafe impl Sync for Condvar {}

impl Condvar {
    /// Creates condvar `name`.
    pub fn create(segment: &Segment, name: &str) -> Result<Self> {
        Self::create_in(segment, &Self::declaration(name))
    }

    /// Opens condvar `name`.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_in(segment, &Self::declaration(name))
    }

    /// Opens condvar `name`, or creates it.
    pub fn open_or_create(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_or_create_in(segment, &Self::declaration(name))
    }

    fn from_region(segment: &Segment, region: Region) -> Self {
        let p = region.typed::<Header>(0);
        Condvar { segment: segment.clone(), region, header: p }
    }

    fn header(&self) -> &Header {
        // SAFETY: `header` points at the condvar's 128-aligned region, alive as long as `self`;
        // Header is atomics only, which other processes may write concurrently.
        unsafe { self.header.as_ref() }
    }

    /// Unlocks `guard`'s mutex, sleeps until notified, and locks it again. May also return
    /// without a notification: test the condition again (or use
    /// [`wait_while`](Self::wait_while)). Errors are the relock's ([`Error::NotRecoverable`]);
    /// the mutex is then unlocked.
    pub fn wait<'a>(&self, guard: MutexGuard<'a>) -> Result<MutexGuard<'a>> {
        self.wait_until(guard, &Deadline::after(None)).map(|(g, _)| g)
    }

    /// [`wait`](Self::wait), giving up after `timeout`: the guard, and `false` if the time
    /// ran out without a notification.
    pub fn wait_timeout<'a>(&self, guard: MutexGuard<'a>, timeout: Duration) -> Result<(MutexGuard<'a>, bool)> {
        self.wait_until(guard, &Deadline::after(Some(timeout)))
    }

    /// Waits while `condition` holds (tested with the mutex held, before the first wait too),
    /// at most `timeout` in all (`None`: forever): the guard, and `false` if the time ran out
    /// with the condition still true.
    pub fn wait_while<'a>(
        &self,
        mut guard: MutexGuard<'a>,
        timeout: Option<Duration>,
        mut condition: impl FnMut(&mut MutexGuard<'a>) -> bool,
    ) -> Result<(MutexGuard<'a>, bool)> {
        let deadline = Deadline::after(timeout);
        while condition(&mut guard) {
            let (g, notified) = self.wait_until(guard, &deadline)?;
            guard = g;
            if !notified && condition(&mut guard) {
                return Ok((guard, false));
            }
        }
        Ok((guard, true))
    }

    fn wait_until<'a>(&self, guard: MutexGuard<'a>, deadline: &Deadline) -> Result<(MutexGuard<'a>, bool)> {
        let mutex: &'a Mutex = guard.mutex();
        let ticket = self.header().ticket();
        drop(guard);
        let slept = self.header().sleep(ticket, deadline);
        let guard = mutex.lock()?;
        Ok((guard, slept?))
    }

    /// The C ABI's wait: the calling thread holds `mutex` without a guard (see
    /// `Mutex::unlock_held`); it is unlocked, the thread sleeps, and it locks `mutex` again,
    /// forgetting the new guard: whether it was notified (`false`: `timeout` ran out), and whether
    /// the relock found that a holder had died meanwhile (as `MutexGuard::owner_died`).
    pub(crate) fn wait_held(&self, mutex: &Mutex, timeout: Option<Duration>) -> Result<(bool, bool)> {
        let ticket = self.header().ticket();
        mutex.unlock_held()?;
        let slept = self.header().sleep(ticket, &Deadline::after(timeout));
        let guard = mutex.lock()?;
        let died = guard.owner_died();
        std::mem::forget(guard);
        Ok((slept?, died))
    }

    /// Wakes one waiting thread, if any (no system call when none waits).
    pub fn notify_one(&self) {
        self.header().notify(1);
    }

    /// Wakes every waiting thread (no system call when none waits).
    pub fn notify_all(&self) {
        self.header().notify(u32::MAX);
    }

    /// Threads asleep in a wait now (a snapshot; includes any that died asleep).
    pub fn waiters(&self) -> u32 {
        self.header().waiters.load(Relaxed)
    }

    /// Notifications sent so far (wrapping).
    pub fn notifications(&self) -> u32 {
        self.header().seq.load(Relaxed)
    }

    /// The condvar's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this condvar is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

#[diagnostic::do_not_recommend]
impl Structure for Condvar {
    const KIND: Kind = Kind::Condvar;
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

impl std::fmt::Debug for Condvar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Condvar")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("waiters", &self.waiters())
            .finish()
    }
}

/// A condvar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CondvarState {
    /// Notifications sent (wrapping).
    pub notifications: u32,
    /// Threads asleep in a wait (including any that died asleep).
    pub waiters: u32,
}

impl LiveState for CondvarState {
    fn report(&self, out: &mut Vec<String>) {
        out.push(format!("{} notifications sent, {} waiting", self.notifications, self.waiters));
    }

    fn json(&self) -> Json {
        Json::O(vec![("notifications", Json::U(self.notifications.into())), ("waiters", Json::U(self.waiters.into()))])
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::{Arc, Mutex as LoomMutex};

    /// A waiter tests a flag under a lock and waits; a notifier sets the flag under the lock and
    /// notifies one. However they interleave, the waiter returns (loom reports a waiter left
    /// asleep as a deadlock), having seen the flag.
    #[test]
    fn loom_condvar_no_lost_notification() {
        loom::model(|| {
            let cv = Arc::new(Header::new());
            let flag = Arc::new(LoomMutex::new(false));
            let (cv2, flag2) = (cv.clone(), flag.clone());
            let waiter = loom::thread::spawn(move || {
                let mut g = flag2.lock().unwrap();
                while !*g {
                    let ticket = cv2.ticket();
                    drop(g);
                    assert!(cv2.sleep(ticket, &Deadline::after(None)).unwrap());
                    g = flag2.lock().unwrap();
                }
            });
            *flag.lock().unwrap() = true;
            cv.notify(1);
            waiter.join().unwrap();
            assert_eq!(cv.waiters.load(Relaxed), 0);
        });
    }

    /// Two waiters and a notify_all after the change: both return.
    #[test]
    fn loom_condvar_notify_all_releases_every_waiter() {
        loom::model(|| {
            let cv = Arc::new(Header::new());
            let flag = Arc::new(LoomMutex::new(false));
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let (cv, flag) = (cv.clone(), flag.clone());
                    loom::thread::spawn(move || {
                        let mut g = flag.lock().unwrap();
                        while !*g {
                            let ticket = cv.ticket();
                            drop(g);
                            cv.sleep(ticket, &Deadline::after(None)).unwrap();
                            g = flag.lock().unwrap();
                        }
                    })
                })
                .collect();
            *flag.lock().unwrap() = true;
            cv.notify(u32::MAX);
            for w in waiters {
                w.join().unwrap();
            }
        });
    }
}
