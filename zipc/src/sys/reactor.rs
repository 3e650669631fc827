//! `async` waiting: [`until_ready`] and the process's reactor thread behind it.
//!
//! zipc's futures work on any executor (tokio, async-std, smol, `futures::executor`): they use
//! only `std::task::Waker`. A future that finds its structure not ready hands the structure's
//! wait-set [`Source`] and its waker to the *reactor*, one helper thread per process (started on
//! first use, named `zipc-reactor`), and returns `Pending`. The reactor sleeps in one
//! [`WaitSet`] over every source it was handed plus a process-local bell (`sys/bell.rs`); when a source is
//! ready it drops it from the set and wakes its waker; the task then retries its `try_*` call.
//! Nothing polls on a timer: the reactor sleeps in `futex_waitv` until a notifier wakes a word
//! (or, for a [`Probe::Stalled`](crate::wait_set::Probe) source, looks again within
//! [`RECHECK`](crate::wait_set::RECHECK)), and while no future waits the notifiers of the
//! structures make no system call.
//!
//! Registering rings the bell, so the reactor takes the new source into its set. Many futures
//! waiting on one structure sleep on one futex word ([`WaitSet`] keeps one `futex_waitv` entry
//! per word), so thousands of tasks over a handful of queues cost the reactor one system call per
//! wake-up.
//!
//! # Cancellation
//!
//! A future holds nothing while it is pending: the `*_async` methods take an element only in the
//! same poll that returns it. Dropping a pending future hands its registration back to the
//! reactor (and rings the bell), which drops the source before it sleeps again, so no waiter
//! count stays raised for it. So `tokio::time::timeout(d, rx.pop_async())` and `select!` lose
//! nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::error::{Error, Result};
use crate::sys::bell::Bell;
use crate::sys::wait_set::{Key, Probe, Readiness, Source, WaitSet};

/// A future that completes when `source` is ready (by its [`Readiness`] test; a hint, as with
/// [`WaitSet::wait`]: act on it with the `try_*` calls and wait again when they find nothing).
///
/// ```no_run
/// # async fn demo(rx: &mut zipc::Consumer<u64, zipc::Mpsc>) -> zipc::Result<()> {
/// loop {
///     while let Some(v) = rx.try_pop()? {
///         println!("{v}");
///     }
///     zipc::until_ready(rx).await?;
/// }
/// # }
/// ```
///
/// Fails with [`Error::Os`] only if the reactor thread could not be started.
pub fn until_ready(source: &dyn Readiness) -> Ready {
    Ready::new(source.wait_source())
}

/// The future of [`until_ready`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Ready {
    /// The source, until it is handed to the reactor.
    source: Option<Source>,
    /// The registration the reactor holds, while pending.
    registration: Option<Arc<Registration>>,
    done: bool,
}

impl Ready {
    pub(crate) fn new(source: Source) -> Ready {
        Ready { source: Some(source), registration: None, done: false }
    }
}

impl Future for Ready {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.done {
            return Poll::Ready(Ok(()));
        }
        if let Some(reg) = &self.registration {
            let mut waker = lock(&reg.waker);
            if reg.fired.load(Acquire) {
                drop(waker);
                self.registration = None;
                self.done = true;
                return Poll::Ready(Ok(()));
            }
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        let Some(source) = self.source.take() else {
            return Poll::Ready(Ok(()));
        };
        if source.probe() == Probe::Ready {
            self.done = true;
            return Poll::Ready(Ok(()));
        }
        let reactor = match reactor() {
            Ok(r) => r,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let reg = Arc::new(Registration {
            fired: AtomicBool::new(false),
            waker: Mutex::new(Some(cx.waker().clone())),
            slot: AtomicUsize::new(usize::MAX),
        });
        reactor.submit(Command::Add(reg.clone(), source));
        self.registration = Some(reg);
        Poll::Pending
    }
}

impl Drop for Ready {
    fn drop(&mut self) {
        if let Some(reg) = self.registration.take() {
            if !reg.fired.load(Acquire) {
                if let Ok(r) = reactor() {
                    r.submit(Command::Remove(reg));
                }
            }
        }
    }
}

/// Runs `attempt` until it gives a value, awaiting `source` between attempts: the body of every
/// `*_async` method. Cancellation-safe when `attempt` takes something only when it returns it.
pub(crate) async fn retry<T>(source: Source, mut attempt: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    loop {
        if let Some(v) = attempt()? {
            return Ok(v);
        }
        Ready::new(source.clone()).await?;
    }
}

/// One pending future, as the reactor holds it.
#[derive(Debug)]
struct Registration {
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
    /// The reactor's key for it (`usize::MAX` until taken in).
    slot: AtomicUsize,
}

impl Registration {
    fn fire(&self) {
        let waker = {
            let mut w = lock(&self.waker);
            self.fired.store(true, Release);
            w.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

enum Command {
    Add(Arc<Registration>, Source),
    Remove(Arc<Registration>),
}

struct Reactor {
    commands: Mutex<Vec<Command>>,
    bell: Bell,
    watching: AtomicUsize,
}

impl Reactor {
    fn submit(&self, c: Command) {
        lock(&self.commands).push(c);
        self.bell.ring();
    }

    /// The reactor thread: take in commands, wait on the set and the bell, fire what is ready.
    fn run(&self) {
        let mut set = WaitSet::new();
        let mut held: Vec<Option<Arc<Registration>>> = Vec::new();
        let mut free: Vec<Key> = Vec::new();
        loop {
            let seen = self.bell.value();
            let commands = std::mem::take(&mut *lock(&self.commands));
            for c in commands {
                match c {
                    Command::Add(reg, source) => {
                        let key = match free.pop() {
                            Some(k) => {
                                set.replace_source(k, source);
                                k
                            }
                            None => set.attach_source(source),
                        };
                        if held.len() <= key.index() {
                            held.resize(key.index() + 1, None);
                        }
                        reg.slot.store(key.index(), Release);
                        held[key.index()] = Some(reg);
                    }
                    Command::Remove(reg) => {
                        let i = reg.slot.load(Acquire);
                        if held.get(i).and_then(Option::as_ref).is_some_and(|h| Arc::ptr_eq(h, &reg)) {
                            set.detach(Key::at(i));
                            held[i] = None;
                            free.push(Key::at(i));
                        }
                    }
                }
            }
            self.watching.store(set.len(), Release);
            // With no timeout the wait ends only with something ready or the bell rung.
            if let Ok((ready, _)) = set.wait_or(None, Some(&self.bell.source(seen))) {
                for key in ready {
                    set.detach(key);
                    free.push(key);
                    if let Some(reg) = held[key.index()].take() {
                        reg.fire();
                    }
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The process's reactor, started on first use.
fn reactor() -> Result<&'static Reactor> {
    static REACTOR: OnceLock<Reactor> = OnceLock::new();
    static STARTED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    let r = REACTOR.get_or_init(|| Reactor {
        commands: Mutex::new(Vec::new()),
        bell: Bell::new(0),
        watching: AtomicUsize::new(0),
    });
    let started = STARTED.get_or_init(|| {
        std::thread::Builder::new()
            .name("zipc-reactor".into())
            .spawn(move || r.run())
            .map(drop)
            .map_err(|e| e.to_string())
    });
    match started {
        Ok(()) => Ok(r),
        Err(e) => Err(Error::os("pthread_create", "zipc-reactor", std::io::Error::other(e.clone()))),
    }
}

/// How many sources the reactor is watching (pending futures, once it has taken in their
/// registrations): 0 when no future waits — for tests of cancellation.
#[doc(hidden)]
pub fn reactor_watching() -> usize {
    reactor().map_or(0, |r| r.watching.load(Acquire))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::atomics::AtomicU32;
    use std::sync::atomic::Ordering::SeqCst;
    use std::task::Wake;

    struct Flag(Bell);
    impl Readiness for Flag {
        fn wait_source(&self) -> Source {
            self.0.source(0)
        }
    }

    /// A waker that counts its wake-ups and unparks the test thread.
    struct Count(AtomicU32, std::thread::Thread);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
            self.1.unpark();
        }
    }

    fn block_on<F: Future>(f: F) -> (F::Output, u32) {
        let count = Arc::new(Count(AtomicU32::new(0), std::thread::current()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return (v, count.0.load(SeqCst));
            }
            std::thread::park();
        }
    }

    #[test]
    fn woken_by_the_reactor_and_cancellation_leaves_nothing() {
        let flag = Flag(Bell::new(0));
        let ringer = flag.0.clone();
        let t = std::thread::spawn(move || {
            while reactor_watching() == 0 {
                std::thread::yield_now();
            }
            ringer.ring();
        });
        let (r, wakes) = block_on(until_ready(&flag));
        r.unwrap();
        assert_eq!(wakes, 1);
        t.join().unwrap();

        // A pending future dropped: the reactor lets its source go.
        let idle = Flag(Bell::new(0));
        let waker = Waker::from(Arc::new(Count(AtomicU32::new(0), std::thread::current())));
        let mut fut = Box::pin(until_ready(&idle));
        assert!(fut.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        drop(fut);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while reactor_watching() != 0 {
            assert!(std::time::Instant::now() < deadline, "reactor still watches a dropped future");
            std::thread::yield_now();
        }
    }
}
