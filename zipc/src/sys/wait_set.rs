//! [`WaitSet`]: one thread sleeping on many structures at once, woken when any becomes ready.
//!
//! ```no_run
//! # fn main() -> zipc::Result<()> {
//! use std::time::Duration;
//! use zipc::{Event, Latch, Mpmc, Queue, ResetMode, Segment, WaitSet};
//!
//! let seg = Segment::create("/waitset-doc", 1 << 20)?;
//! let tasks = Queue::<u64, Mpmc>::create(&seg, "tasks", 64)?;
//! let control = Event::create(&seg, "control", ResetMode::Auto, false)?;
//! let shutdown = Latch::create(&seg, "shutdown", 1)?;
//! let mut rx = tasks.consumer()?;
//!
//! let mut set = WaitSet::new();
//! let task = set.attach(&rx);
//! let ctl = set.attach(&control);
//! let stop = set.attach(&shutdown);
//! loop {
//!     let ready = match set.wait(Some(Duration::from_secs(1))) {
//!         Err(zipc::Error::Timeout) => continue, // nothing for a second: housekeeping here
//!         r => r?,
//!     };
//!     if ready.contains(&stop) {
//!         break;
//!     }
//!     if ready.contains(&ctl) {
//!         control.try_wait(); // take the auto-reset event
//!     }
//!     if ready.contains(&task) {
//!         while let Some(t) = rx.try_pop()? { /* run task t */ }
//!     }
//! }
//! # drop(set); Segment::unlink("/waitset-doc") }
//! ```
//!
//! # How it sleeps
//!
//! Every blocking structure already sleeps the same way (`event_count.rs`, `waiting.rs`): a
//! waiter counts itself in the structure's `waiters` word, issues a barrier, then loops — read
//! the futex word, test readiness, sleep while the word still holds what it read. A notifier
//! makes its change, issues its barrier, and wakes the futex word only if `waiters` is non-zero.
//! A [`Readiness`] source names those two words and its test. [`WaitSet::wait`] does for all of
//! its sources at once what one blocking call does for one:
//!
//! 1. test every source; if one is ready, return at once (no read-modify-write at all);
//! 2. increment every source's `waiters`, then one barrier (the heavy, `membarrier` one if any
//!    source's notifiers use the light side of the asymmetric pair);
//! 3. loop: for each source read its futex word, then test it; if any is ready, stop; otherwise
//!    sleep on all the words at once, each expected to hold what was read, with `futex_waitv`
//!    (which names the word whose wake-up ended the sleep: the sources on that word are tested
//!    first, and if one is ready the wait stops with them without testing the rest);
//! 4. decrement every `waiters`.
//!
//! No wake-up is lost, by the single-structure argument applied to each source: a source that
//! becomes ready after its test in step 3 changed its futex word after the read before that
//! test, and its notifier saw `waiters > 0` (the barrier pairing) and wakes the word. If the
//! kernel compares the word after the change, `futex_waitv` refuses to sleep (`EAGAIN`); if
//! before, the thread is queued on that word and the wake reaches it. Any return from the sleep
//! — woken, refused, a signal, a wake meant for another waiter of the same structure — leads
//! back to step 3, which absorbs the spurious ones. The loom model `loom_wait_set_*` checks
//! this with two sources and racing notifiers.
//!
//! `waiters` stays raised only while a thread is inside `wait`: between waits the notifiers of
//! attached structures make no system call.
//!
//! # More than 128 sources, or a kernel before 5.16
//!
//! `futex_waitv` takes at most 128 words and exists from Linux 5.16. Beyond either limit the
//! wait *fans in*: helper threads (scoped to the call) each sleep on up to 127 of the words —
//! or, without `futex_waitv`, on one word with `FUTEX_WAIT` — and ring a process-local bell
//! word that the waiting thread sleeps on. A helper woken for any reason rings the bell and
//! stops; the waiter then stops the other helpers, and goes back to step 3. Nothing ever sleeps
//! for a fixed interval: every sleep ends by a wake-up of one of the words, or by the deadline.
//! The fan-in costs a thread start per round, so it is a fallback, not a fast path.

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::sys::asymmetric_fence;
use crate::sys::atomics::{fence, futex_wait, futex_waitv, AtomicU32};
use crate::sys::futex::{self, Deadline};

/// The most words one `futex_waitv` call takes (`FUTEX_WAITV_MAX`).
pub(crate) const WAITV_MAX: usize = 128;

/// Where waiters for one readiness sleep: a structure's futex word and its waiter count.
///
/// Built only by zipc's structures, from words in their own regions; the pointers stay valid for
/// as long as the structure handle that made it is alive.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct SleepPoint {
    word: *const AtomicU32,
    waiters: *const AtomicU32,
    /// Whether the notifiers use the light side of the asymmetric fence pair.
    asymmetric: bool,
}

impl SleepPoint {
    /// The futex word `word`, with waiters counted in `waiters`; `asymmetric` if the notifiers
    /// pair with [`asymmetric_fence::heavy`].
    pub(crate) fn new(word: &AtomicU32, waiters: &AtomicU32, asymmetric: bool) -> Self {
        SleepPoint { word, waiters, asymmetric }
    }

    /// [`new`](Self::new) for a futex word that is the upper half of a 64-bit atomic.
    ///
    /// # Safety
    ///
    /// `word` must point to a 4-aligned u32 that stays valid as long as `waiters` does.
    #[cfg_attr(loom, allow(dead_code))] // the barrier's source is not built under loom
    pub(crate) unsafe fn at(word: *const u32, waiters: &AtomicU32, asymmetric: bool) -> Self {
        SleepPoint { word: word.cast(), waiters, asymmetric }
    }

    fn waiters(&self) -> &AtomicU32 {
        // SAFETY: built from a word of a live structure's region (see the type's docs), whose
        // mapping the `Source` holding this point keeps alive; atomics only.
        unsafe { &*self.waiters }
    }
}

/// What one look at a source found.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The source is ready.
    Ready,
    /// Not ready; the futex word held this value when read before the test.
    Pending(u32),
    /// Not ready, but perhaps only because a process died in the middle of an operation, which
    /// wakes nobody: as [`Pending`](Probe::Pending), and look again within [`RECHECK`] (a
    /// blocking call on the structure does the same).
    Stalled(u32),
}

/// How soon a wait set looks again at a [`Probe::Stalled`] source (the queues'
/// `RECOVERY_INTERVAL`).
pub const RECHECK: Duration = Duration::from_millis(100);

/// A structure that a [`WaitSet`] can wait on: a queue's consumer (data to pop) or producer
/// (room to push), a ring's consumer or producer, a topic subscriber (a sample to receive) or
/// lossless publisher (a slot to loan), a
/// semaphore (a permit), an event (set), a latch (open), a barrier's next generation
/// ([`Barrier::next_generation`](crate::Barrier::next_generation)), an atomic changing from a
/// value ([`Atomic::changed_from`](crate::Atomic::changed_from)).
///
/// Attaching does not borrow the handle: the wait set keeps its own view of the structure (and
/// the segment mapped), so the handle stays free for its `try_*` calls. Readiness is a hint, as
/// with `poll(2)`: another process may take what made a source ready before this one does, so
/// act on it with the non-blocking calls (`try_pop`, `try_acquire`, ...) and wait again when they
/// find nothing.
pub trait Readiness {
    /// This structure's readiness as a wait set keeps it.
    #[doc(hidden)]
    fn wait_source(&self) -> Source;
}

/// One attached readiness: where its waiters sleep, and how to look at it. Keeps the structure's
/// mapping alive.
#[doc(hidden)]
#[derive(Clone)]
pub struct Source {
    point: SleepPoint,
    probe: std::sync::Arc<dyn Fn() -> Probe + Send + Sync>,
}

// SAFETY: `point` holds addresses of atomics in a shared mapping that `probe` keeps alive (it owns
// a handle of the structure); atomics may be used from any thread.
unsafe impl Send for Source {}
// SAFETY: as for `Send`; `&Source` only loads and read-modify-writes those atomics.
unsafe impl Sync for Source {}

impl Source {
    /// A source over `handle` (a clone of the structure's handle, which keeps its mapping), with
    /// its sleep point and its probe.
    pub(crate) fn new<H: Send + Sync + 'static>(
        handle: H,
        point: impl FnOnce(&H) -> SleepPoint,
        probe: impl Fn(&H) -> Probe + Send + Sync + 'static,
    ) -> Source {
        let point = point(&handle);
        Source { point, probe: std::sync::Arc::new(move || probe(&handle)) }
    }

    pub(crate) fn probe(&self) -> Probe {
        (self.probe)()
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("word", &self.point.word).finish()
    }
}

/// A source's position in its [`WaitSet`], returned by [`WaitSet::attach`] and reported by
/// [`WaitSet::wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(usize);

impl Key {
    #[cfg_attr(loom, allow(dead_code))] // the reactor is not built under loom
    pub(crate) fn at(index: usize) -> Key {
        Key(index)
    }

    /// The source's index: attachments are numbered 0, 1, 2, ... in order.
    pub fn index(self) -> usize {
        self.0
    }
}

/// A set of [`Readiness`] sources one thread waits on together. See the [module docs](self).
#[derive(Default)]
pub struct WaitSet {
    /// Attached sources by key; `None` once detached.
    sources: Vec<Option<Source>>,
    fan_in: bool,
}

impl std::fmt::Debug for WaitSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitSet").field("sources", &self.len()).finish()
    }
}

impl WaitSet {
    /// An empty wait set.
    pub fn new() -> Self {
        WaitSet::default()
    }

    /// Adds `source`; a source ready when attached is reported by the next wait.
    pub fn attach(&mut self, source: &dyn Readiness) -> Key {
        self.sources.push(Some(source.wait_source()));
        Key(self.sources.len() - 1)
    }

    /// Removes the source `key` (no later wait reports it; keys are not reused). Returns whether
    /// it was attached.
    pub fn detach(&mut self, key: Key) -> bool {
        self.sources.get_mut(key.0).and_then(Option::take).is_some()
    }

    /// Puts `source` in the place of `key` (attached or detached), e.g. an atomic watched from
    /// its new value. Returns whether `key` was ever handed out by this set.
    pub fn replace(&mut self, key: Key, source: &dyn Readiness) -> bool {
        match self.sources.get_mut(key.0) {
            Some(slot) => {
                *slot = Some(source.wait_source());
                true
            }
            None => false,
        }
    }

    /// Number of attached sources.
    pub fn len(&self) -> usize {
        self.sources.iter().flatten().count()
    }

    /// Whether no source is attached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn attached(&self) -> impl Iterator<Item = (Key, &Source)> {
        self.sources.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|s| (Key(i), s)))
    }

    /// Makes every wait use the helper-thread fan-in, as beyond 128 sources or without
    /// `futex_waitv` (for testing that path).
    #[doc(hidden)]
    pub fn force_fan_in(&mut self, on: bool) {
        self.fan_in = on;
    }

    /// The sources ready now, without waiting.
    pub fn ready(&self) -> Vec<Key> {
        self.attached().filter(|(_, s)| s.probe() == Probe::Ready).map(|(k, _)| k).collect()
    }

    /// Waits until at least one source is ready, at most `timeout` (`None`: forever), and returns
    /// the sources found ready, in attachment order: every one ready when the wait began, or
    /// after a wake-up those sleeping on the word woken (the others ready then are reported by
    /// the next call, which looks at every source first). [`Error::Timeout`] if none became
    /// ready in time; [`Error::InvalidArgument`] if the set is empty and there is no timeout.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<Vec<Key>> {
        if self.is_empty() && timeout.is_none() {
            return Err(Error::invalid("wait set", "waiting forever with no source attached"));
        }
        self.wait_or(timeout, None).map(|(ready, _)| ready)
    }

    /// [`wait`](Self::wait), also returning when `bell` (a source outside the set, such as a
    /// helper thread's control word) is ready: then with `true` and whatever else was ready.
    pub(crate) fn wait_or(&self, timeout: Option<Duration>, bell: Option<&Source>) -> Result<(Vec<Key>, bool)> {
        let rung = || bell.is_some_and(|b| b.probe() == Probe::Ready);
        let ready = self.ready();
        if !ready.is_empty() || rung() {
            return Ok((ready, rung()));
        }
        let deadline = Deadline::after(timeout);
        let mut sources: Vec<(Option<Key>, &Source)> = self.attached().map(|(k, s)| (Some(k), s)).collect();
        sources.extend(bell.map(|b| (None, b)));
        if sources.is_empty() {
            // Nothing can wake us: sleep out the timeout on a private word.
            let alone = AtomicU32::new(0);
            while let Ok(Some(left)) = deadline.remaining() {
                futex_wait(&alone, 0, Some(left));
            }
            return Err(Error::Timeout);
        }
        let points: Vec<SleepPoint> = sources.iter().map(|(_, s)| s.point).collect();
        // One count per waiter word, however many sources share it (notifiers only test
        // `waiters != 0`): thousands of futures on a few queues cost a few increments.
        let counted = distinct_waiters(&points);
        for p in &counted {
            p.waiters().fetch_add(1, SeqCst);
        }
        // Pairs with every notifier's barrier (store-buffering, as in `event_count.rs`).
        let mut paired = true;
        fence(SeqCst);
        if points.iter().any(|p| p.asymmetric) {
            paired = asymmetric_fence::heavy();
        }
        let mut expected: Vec<(&AtomicU32, u32)> = Vec::with_capacity(points.len());
        let mut ready = Vec::new();
        // The word whose wake-up ended the last sleep, when the kernel says (`futex_waitv`).
        let mut woken: Option<*const AtomicU32> = None;
        let result = loop {
            // Woken on a word: look at its sources first, and return them if one is ready without
            // probing the others (they are reported by the next wait, which probes first).
            if let Some(w) = woken.take() {
                let mut rang = false;
                for (i, (key, s)) in sources.iter().enumerate() {
                    if std::ptr::eq(points[i].word, w) && s.probe() == Probe::Ready {
                        match key {
                            Some(key) => ready.push(*key),
                            None => rang = true,
                        }
                    }
                }
                if !ready.is_empty() || rang {
                    break Ok((ready, rang));
                }
            }
            expected.clear();
            let mut stalled = false;
            let mut rang = false;
            for (i, (key, s)) in sources.iter().enumerate() {
                // SAFETY: each word is in a mapping its source keeps alive.
                let word = unsafe { &*points[i].word };
                match (s.probe(), key) {
                    (Probe::Ready, Some(key)) => ready.push(*key),
                    (Probe::Ready, None) => rang = true,
                    (Probe::Pending(v), _) => expected.push((word, v)),
                    (Probe::Stalled(v), _) => {
                        stalled = true;
                        expected.push((word, v))
                    }
                }
            }
            if !ready.is_empty() || rang {
                break Ok((ready, rang));
            }
            let left = match deadline.remaining() {
                Err(e) => break Err(e),
                Ok(left) if paired => left,
                // The heavy barrier failed: bound each sleep, as a single waiter would.
                Ok(left) => {
                    Some(left.map_or(asymmetric_fence::DEGRADED_POLL, |l| l.min(asymmetric_fence::DEGRADED_POLL)))
                }
            };
            let left = if stalled { Some(left.map_or(RECHECK, |l| l.min(RECHECK))) } else { left };
            if dedup_words(&mut expected) {
                woken = sleep_on_any(&expected, left, self.fan_in);
            }
        };
        for p in &counted {
            p.waiters().fetch_sub(1, SeqCst);
        }
        result
    }

    /// Adds a source built already (the reactor and the readiness fd attach them).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn attach_source(&mut self, source: Source) -> Key {
        self.sources.push(Some(source));
        Key(self.sources.len() - 1)
    }

    /// Puts `source` in the place of `key`, which this set handed out (a slot reused by its
    /// owner, who keeps its own free list).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn replace_source(&mut self, key: Key, source: Source) {
        self.sources[key.0] = Some(source);
    }
}

/// The points with distinct waiter words (the first of each), in their order when few.
fn distinct_waiters(points: &[SleepPoint]) -> Vec<SleepPoint> {
    let mut out: Vec<SleepPoint> = Vec::with_capacity(points.len().min(WAITV_MAX));
    if cfg!(loom) || points.len() <= 16 {
        for p in points {
            if !out.iter().any(|q| std::ptr::eq(q.waiters, p.waiters)) {
                out.push(*p);
            }
        }
        return out;
    }
    out.extend_from_slice(points);
    out.sort_unstable_by_key(|p| p.waiters);
    out.dedup_by(|b, a| std::ptr::eq(a.waiters, b.waiters));
    out
}

/// Keeps one entry per word: many sources may sleep on one word (thousands of futures on a few
/// queues), and `futex_waitv` then takes one entry for it. Returns `false` if a word was read
/// with two different values: it changed between two probes, so there is nothing to sleep on —
/// probe again. A few words keep their order (and the loom models their determinism); many are
/// sorted by address first.
fn dedup_words(words: &mut Vec<(&AtomicU32, u32)>) -> bool {
    let mut consistent = true;
    if cfg!(loom) || words.len() <= 16 {
        let mut kept = 0;
        for i in 0..words.len() {
            match words[..kept].iter().find(|(w, _)| std::ptr::eq(*w, words[i].0)) {
                Some((_, v)) => consistent &= *v == words[i].1,
                None => {
                    words.swap(kept, i);
                    kept += 1;
                }
            }
        }
        words.truncate(kept);
        return consistent;
    }
    words.sort_unstable_by_key(|(w, _)| *w as *const AtomicU32);
    words.dedup_by(|b, a| {
        let same = std::ptr::eq(a.0, b.0);
        consistent &= !same || a.1 == b.1;
        same
    });
    consistent
}

/// Sleeps until one of `words` is woken or does not hold its expected value, or `timeout`
/// passes; may return early. Returns the word woken, when the kernel names it.
fn sleep_on_any(words: &[(&AtomicU32, u32)], timeout: Option<Duration>, fan_in: bool) -> Option<*const AtomicU32> {
    if cfg!(loom) || (!fan_in && words.len() <= WAITV_MAX && futex::waitv_supported()) {
        let (_, index) = futex_waitv(words, timeout);
        return index.and_then(|i| words.get(i)).map(|(w, _)| *w as *const AtomicU32);
    }
    #[cfg(not(loom))]
    fan_in_sleep(words, timeout);
    None
}

/// The fallback (module docs): helpers sleep on chunks of the words and ring `bell`.
#[cfg(not(loom))]
fn fan_in_sleep(words: &[(&AtomicU32, u32)], timeout: Option<Duration>) {
    let bell = AtomicU32::new(0);
    let stop = AtomicU32::new(0);
    let waitv = futex::waitv_supported();
    let chunk = if waitv { WAITV_MAX - 1 } else { 1 };
    std::thread::scope(|scope| {
        for part in words.chunks(chunk) {
            let (bell, stop) = (&bell, &stop);
            scope.spawn(move || {
                if stop.load(SeqCst) == 0 {
                    if waitv {
                        let mut with_stop: Vec<(&AtomicU32, u32)> = part.to_vec();
                        with_stop.push((stop, 0));
                        let _ = futex::waitv(&with_stop, timeout);
                    } else {
                        futex::wait(part[0].0, part[0].1, timeout);
                    }
                }
                bell.fetch_add(1, SeqCst);
                futex::wake(bell, 1);
            });
        }
        // Sleep until a helper rings (each rings once, when its sleep ends for any reason).
        // Any return ends the round; the caller re-tests every source.
        if bell.load(SeqCst) == 0 {
            futex::wait(&bell, 0, timeout);
        }
        // Stop the others: with futex_waitv they also sleep on `stop`; otherwise wake their word
        // (a spurious wake-up for that structure's other waiters, which they absorb).
        stop.store(1, SeqCst);
        futex::wake(&stop, u32::MAX);
        if !waitv {
            for (w, _) in words {
                futex::wake(w, u32::MAX);
            }
        }
    });
}

/// The source the unit tests and the loom models share.
#[cfg(test)]
mod test_flag {
    use super::*;
    #[cfg(loom)]
    use loom::sync::Arc;
    #[cfg(not(loom))]
    use std::sync::Arc;

    /// A source as the structures build them: ready when `word != 0`; the notifier stores,
    /// fences and wakes only if someone waits (`waiting.rs`).
    pub(super) struct Flag(pub(super) Arc<Words>);

    pub(super) struct Words {
        pub(super) word: AtomicU32,
        pub(super) waiters: AtomicU32,
    }

    impl std::ops::Deref for Flag {
        type Target = Words;
        fn deref(&self) -> &Words {
            &self.0
        }
    }

    impl Flag {
        pub(super) fn new() -> Self {
            Flag(Arc::new(Words { word: AtomicU32::new(0), waiters: AtomicU32::new(0) }))
        }
        pub(super) fn set(&self) {
            self.word.store(1, SeqCst);
            fence(SeqCst);
            if self.waiters.load(SeqCst) != 0 {
                crate::sys::atomics::futex_wake(&self.word, u32::MAX);
            }
        }
    }

    impl Readiness for Flag {
        fn wait_source(&self) -> Source {
            Source::new(
                self.0.clone(),
                |f| SleepPoint::new(&f.word, &f.waiters, false),
                |f| match f.word.load(SeqCst) {
                    0 => Probe::Pending(0),
                    _ => Probe::Ready,
                },
            )
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::test_flag::Flag;
    use super::*;

    fn woken_by_one_of(n: usize, which: usize, fan_in: bool) {
        let flags: Vec<Flag> = (0..n).map(|_| Flag::new()).collect();
        let mut set = WaitSet::new();
        set.force_fan_in(fan_in);
        for f in &flags {
            set.attach(f);
        }
        std::thread::scope(|s| {
            s.spawn(|| {
                // Wait until the waiter has counted itself everywhere, then set one flag.
                while flags[which].waiters.load(SeqCst) == 0 {
                    std::thread::yield_now();
                }
                flags[which].set();
            });
            let ready = set.wait(Some(Duration::from_secs(60))).unwrap();
            assert_eq!(ready, vec![Key(which)]);
        });
        assert!(flags.iter().all(|f| f.waiters.load(SeqCst) == 0), "waiters left raised");
    }

    #[test]
    fn one_of_many_wakes_the_set() {
        woken_by_one_of(32, 17, false);
        woken_by_one_of(3, 0, false);
    }

    #[test]
    fn fan_in_beyond_the_waitv_limit() {
        woken_by_one_of(300, 299, false);
        woken_by_one_of(5, 2, true);
    }

    #[test]
    fn many_sources_on_few_words_sleep_on_each_word_once() {
        let (a, b) = (Flag::new(), Flag::new());
        let mut set = WaitSet::new();
        let on_b: Vec<Key> = (0..200)
            .map(|i| if i % 2 == 0 { set.attach(&Flag(a.0.clone())) } else { set.attach(&Flag(b.0.clone())) })
            .filter(|k| k.index() % 2 == 1)
            .collect();
        let mut words = vec![(&a.word, 0), (&b.word, 0), (&a.word, 0), (&b.word, 0)];
        assert!(dedup_words(&mut words));
        assert_eq!(words.len(), 2);
        let mut changed = vec![(&a.word, 0), (&a.word, 1)];
        assert!(!dedup_words(&mut changed), "a word read with two values must not be slept on");
        std::thread::scope(|s| {
            s.spawn(|| {
                while b.waiters.load(SeqCst) == 0 {
                    std::thread::yield_now();
                }
                b.set();
            });
            // 200 sources, 2 words: one futex_waitv (no fan-in), every source on `b` reported.
            assert_eq!(set.wait(Some(Duration::from_secs(60))).unwrap(), on_b);
        });
        // Counted once per word while waiting, and not at all after.
        assert_eq!(a.waiters.load(SeqCst) + b.waiters.load(SeqCst), 0);
    }

    #[test]
    fn ready_when_attached_times_out_when_never() {
        let (a, b) = (Flag::new(), Flag::new());
        b.set();
        let mut set = WaitSet::new();
        let _ka = set.attach(&a);
        let kb = set.attach(&b);
        assert_eq!(set.wait(None).unwrap(), vec![kb]);
        let mut none = WaitSet::new();
        none.attach(&a);
        assert!(matches!(none.wait(Some(Duration::from_millis(20))), Err(Error::Timeout)));
        assert_eq!(a.waiters.load(SeqCst), 0);
        assert!(matches!(WaitSet::new().wait(None), Err(Error::InvalidArgument { .. })));
        assert!(matches!(WaitSet::new().wait(Some(Duration::from_millis(1))), Err(Error::Timeout)));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::test_flag::Flag;
    use super::*;

    /// One waiter on two sources, a notifier setting the second at any point (before the
    /// attach, between the probes, while asleep): the wait always returns it, and leaves no
    /// waiter counted.
    #[test]
    fn loom_wait_set_no_lost_wakeup() {
        loom::model(|| {
            let (a, b) = (Flag::new(), Flag::new());
            let b2 = Flag(b.0.clone());
            let notifier = loom::thread::spawn(move || b2.set());
            let mut set = WaitSet::new();
            set.attach(&a);
            let kb = set.attach(&b);
            assert_eq!(set.wait(None).unwrap(), vec![kb]);
            notifier.join().unwrap();
            assert_eq!(a.waiters.load(SeqCst) + b.waiters.load(SeqCst), 0);
        });
    }

    /// Two notifiers on two sources: waiting until both were seen never hangs, whichever order
    /// and interleaving the sets and wake-ups take.
    #[test]
    fn loom_wait_set_two_notifiers() {
        loom::model(|| {
            let (a, b) = (Flag::new(), Flag::new());
            let ts: Vec<_> =
                [a.0.clone(), b.0.clone()].into_iter().map(|f| loom::thread::spawn(move || Flag(f).set())).collect();
            let mut set = WaitSet::new();
            let ka = set.attach(&a);
            let kb = set.attach(&b);
            let mut seen = set.wait(None).unwrap();
            while !(seen.contains(&ka) && seen.contains(&kb)) {
                // Wait for the other: a set that is already ready returns at once.
                let rest: Vec<&Flag> = [&a, &b].into_iter().filter(|f| f.word.load(SeqCst) == 0).collect();
                let mut one = WaitSet::new();
                for f in rest {
                    one.attach(f);
                }
                if one.is_empty() {
                    break;
                }
                one.wait(None).unwrap();
                seen = set.ready();
            }
            for t in ts {
                t.join().unwrap();
            }
        });
    }
}
