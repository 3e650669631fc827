//! [`ReadinessFd`]: a wait set as a file descriptor, for event loops — `poll`/`epoll`/mio in C
//! and Rust, `selectors` and `asyncio` in Python.
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use std::os::fd::AsRawFd;
//! use zipc::{Mpsc, Queue, ReadinessFd, Segment, WaitSet};
//!
//! let seg = Segment::create("/readiness-doc", 1 << 20)?;
//! let q = Queue::<u64, Mpsc>::create(&seg, "jobs", 64)?;
//! let mut rx = q.consumer()?;
//! let mut set = WaitSet::new();
//! let jobs = set.attach(&rx);
//! let fd = ReadinessFd::new(set)?;
//! // Register fd.as_raw_fd() for reading with the event loop; when it is readable:
//! for key in fd.take() {
//!     if key == jobs {
//!         while let Some(job) = rx.try_pop()? { /* ... */ }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # How it signals
//!
//! The descriptor is an `eventfd`. A helper thread (one per `ReadinessFd`, named `zipc-readiness`)
//! sleeps in [`WaitSet::wait`] over the sources; when one is ready it *disarms* and makes the
//! eventfd readable. [`take`](ReadinessFd::take) drains the eventfd, reports the sources ready
//! now and *re-arms*: the helper waits again, and signals again at once if a source is still
//! ready. So the descriptor is level-triggered, like `poll(2)` on a socket: readable while the
//! user has not taken since a source was found ready.
//!
//! The structures' notifiers do the signalling only when someone listens: the helper counts
//! itself as a waiter only while armed and asleep, so between a signal and the next `take` —
//! and whenever the sources are busy — a push or a release makes no system call. The signal
//! costs one wake-up of the helper and one `write` to the eventfd.
//!
//! The helper sleeps on a process-local control word beside the sources (a bell, `sys/bell.rs`), rung to
//! re-arm it, to let [`attach`](ReadinessFd::attach) and [`detach`](ReadinessFd::detach) change
//! the set, and to stop it when the `ReadinessFd` drops (which joins the helper and closes the
//! descriptor).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::sys::bell::Bell;
use crate::sys::wait_set::{Key, Readiness, WaitSet};

/// The helper may wait (and signal when a source is ready).
const ARMED: u32 = 1;
/// A thread is changing the set: the helper stays out of it.
const EDIT: u32 = 2;
/// The helper exits.
const STOP: u32 = 4;

/// A [`WaitSet`] whose readiness is a pollable file descriptor. See the [module docs](self).
#[derive(Debug)]
pub struct ReadinessFd {
    inner: Arc<Inner>,
    helper: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Inner {
    set: RwLock<WaitSet>,
    control: Bell,
    eventfd: OwnedFd,
}

impl ReadinessFd {
    /// A descriptor that becomes readable when a source of `set` is ready. Starts its helper
    /// thread; [`Error::Os`] if the eventfd or the thread cannot be made.
    pub fn new(set: WaitSet) -> Result<ReadinessFd> {
        // SAFETY: eventfd takes no pointers; a non-negative return is a new descriptor we own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(Error::os("eventfd", "readiness fd", std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` is a fresh descriptor nothing else owns.
        let eventfd = unsafe { OwnedFd::from_raw_fd(fd) };
        let inner = Arc::new(Inner { set: RwLock::new(set), control: Bell::new(ARMED), eventfd });
        let worker = inner.clone();
        let helper = std::thread::Builder::new()
            .name("zipc-readiness".into())
            .spawn(move || worker.run())
            .map_err(|e| Error::os("pthread_create", "zipc-readiness", e))?;
        Ok(ReadinessFd { inner, helper: Some(helper) })
    }

    /// Clears the descriptor, returns the sources ready now (in attachment order; possibly none,
    /// if another consumer took what made one ready), and re-arms: the descriptor becomes
    /// readable again as soon as a source is (at once, if one still is).
    pub fn take(&self) -> Vec<Key> {
        self.inner.drain();
        let ready = self.ready();
        self.inner.control.update(|w| w.fetch_or(ARMED, SeqCst));
        ready
    }

    /// The sources ready now, leaving the descriptor as it is.
    pub fn ready(&self) -> Vec<Key> {
        read(&self.inner.set).ready()
    }

    /// Adds a source (as [`WaitSet::attach`]).
    pub fn attach(&self, source: &dyn Readiness) -> Key {
        self.edit(|set| set.attach(source))
    }

    /// Removes a source (as [`WaitSet::detach`]).
    pub fn detach(&self, key: Key) -> bool {
        self.edit(|set| set.detach(key))
    }

    /// Number of attached sources.
    pub fn len(&self) -> usize {
        read(&self.inner.set).len()
    }

    /// Whether no source is attached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn edit<R>(&self, f: impl FnOnce(&mut WaitSet) -> R) -> R {
        // Get the helper out of its wait (it holds the set for reading while it sleeps).
        self.inner.control.update(|w| w.fetch_or(EDIT, SeqCst));
        let r = f(&mut self.inner.set.write().unwrap_or_else(|p| p.into_inner()));
        self.inner.control.update(|w| w.fetch_and(!EDIT, SeqCst));
        r
    }
}

impl Inner {
    fn run(&self) {
        loop {
            let c = self.control.value();
            if c & STOP != 0 {
                return;
            }
            if c != ARMED {
                self.control.sleep_while(c, None);
                continue;
            }
            let set = read(&self.set);
            // With no timeout the wait ends with a source ready or the control word changed.
            if let Ok((ready, _)) = set.wait_or(None, Some(&self.control.source(ARMED))) {
                drop(set);
                if !ready.is_empty() {
                    // Disarm before signalling, so that a `take` that sees the signal re-arms
                    // after this.
                    self.control.update(|w| w.fetch_and(!ARMED, SeqCst));
                    self.signal();
                }
            }
        }
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd. It cannot fail short of the
        // counter reaching u64::MAX - 1, which one write per take never does.
        unsafe { libc::write(self.eventfd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn drain(&self) {
        let mut n: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our non-blocking eventfd (EAGAIN when clear).
        unsafe { libc::read(self.eventfd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
    }
}

fn read(set: &RwLock<WaitSet>) -> std::sync::RwLockReadGuard<'_, WaitSet> {
    set.read().unwrap_or_else(|p| p.into_inner())
}

impl AsRawFd for ReadinessFd {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.eventfd.as_raw_fd()
    }
}

impl AsFd for ReadinessFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.eventfd.as_fd()
    }
}

impl Drop for ReadinessFd {
    fn drop(&mut self) {
        self.inner.control.update(|w| w.fetch_or(STOP, SeqCst));
        if let Some(h) = self.helper.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Flag(Bell);
    impl Readiness for Flag {
        fn wait_source(&self) -> crate::sys::wait_set::Source {
            self.0.source(0)
        }
    }

    fn readable(fd: &ReadinessFd, timeout: Duration) -> bool {
        let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut p, 1, timeout.as_millis() as libc::c_int) };
        r == 1 && p.revents & libc::POLLIN != 0
    }

    #[test]
    fn readable_when_ready_level_triggered_and_editable() {
        let (a, b) = (Flag(Bell::new(0)), Flag(Bell::new(0)));
        let mut set = WaitSet::new();
        let _ka = set.attach(&a);
        let kb = set.attach(&b);
        let fd = ReadinessFd::new(set).unwrap();
        assert!(!readable(&fd, Duration::from_millis(20)));
        b.0.ring();
        assert!(readable(&fd, Duration::from_secs(60)));
        assert_eq!(fd.take(), vec![kb]);
        // Still ready: readable again after the take (level-triggered).
        assert!(readable(&fd, Duration::from_secs(60)));
        fd.detach(kb);
        assert!(fd.take().is_empty());
        assert!(!readable(&fd, Duration::from_millis(20)));
        let c = Flag(Bell::new(0));
        let kc = fd.attach(&c);
        c.0.ring();
        assert!(readable(&fd, Duration::from_secs(60)));
        assert_eq!(fd.take(), vec![kc]);
        assert_eq!(fd.len(), 2);
    }
}
