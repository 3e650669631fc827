//! The condition variable: waits that time out and hold the mutex after, no memory of earlier
//! notifications, `wait_while`, the counters, open checks and inspect; across processes a
//! bounded buffer (mutex + two condvars) that loses no notification; a waiter killed asleep.
//!
//! `ZIPC_SOAK=1` runs the multi-process tests 20 times longer.

use std::process::Child;
use std::time::{Duration, Instant};

use zipc::inspect::State;
use zipc::{Array, Atomic, Condvar, Error, Event, Mutex, MutexGuard, Segment, Structure};
use zipc_tests::{child_args, spawn_role, until, wait_bounded, ShmName};

/// Hang guard for children and test-side polls (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);
/// Hang guard for one condvar wait whose notification must come: exceeding it fails the test
/// (a lost notification would otherwise hang it). Never reached when things work.
const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// `n`, or 20 × `n` with `ZIPC_SOAK` set (a longer run of the same checks).
fn soak<T: From<u8> + std::ops::Mul<Output = T>>(n: T) -> T {
    if std::env::var_os("ZIPC_SOAK").is_some() {
        n * T::from(20)
    } else {
        n
    }
}

/// The calling thread holds `m` (a second `lock` is refused instead of deadlocking; another
/// thread's `try_lock` finds it held).
fn held_by_me(m: &Mutex) {
    assert!(m.is_locked());
    assert_eq!(m.holder().unwrap().tid, zipc::process::current_thread().tid);
    assert!(matches!(m.lock(), Err(Error::WouldDeadlock { .. })));
    std::thread::scope(|s| {
        s.spawn(|| assert!(m.try_lock().unwrap().is_none(), "another thread finds the mutex held"));
    });
}

#[test]
fn condvar_in_one_process() {
    let name = ShmName::new("condvar-one");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let m = Mutex::create(&seg, "m").unwrap();
    let cv = Condvar::create(&seg, "cv").unwrap();
    let e = seg.entry("cv").unwrap().unwrap();
    assert_eq!((e.size, e.offset % 128), (zipc::condvar::REGION_SIZE, 0));
    assert_eq!(e.size, 128);
    let d = e.descriptor.as_ref().unwrap();
    assert_eq!((d.kind, d.capacity, d.flags), (zipc::layout::Kind::Condvar, 0, 0));
    assert_eq!((cv.waiters(), cv.notifications()), (0, 0));

    // Nobody notifies: the wait times out, reports it, and the mutex is held again after.
    let g = m.lock().unwrap();
    let t = Instant::now();
    let (g, notified) = cv.wait_timeout(g, Duration::from_millis(30)).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert!(!notified);
    assert!(!g.owner_died());
    held_by_me(&m);
    assert_eq!(cv.waiters(), 0, "the timed-out waiter is no longer counted");
    drop(g);
    assert!(!m.is_locked());

    // No memory: notifications sent while nobody waits are counted but do not release a later
    // wait. Each notify advances the counter, waiter or not.
    cv.notify_one();
    cv.notify_all();
    assert_eq!(cv.notifications(), 2);
    let (g, notified) = cv.wait_timeout(m.lock().unwrap(), Duration::from_millis(20)).unwrap();
    assert!(!notified, "a notification before the wait is not remembered");
    // A condition already met: wait_while returns at once, even without a timeout.
    let t = Instant::now();
    let (g, met) = cv.wait_while(g, None, |_| false).unwrap();
    assert!(met && t.elapsed() < LIMIT);
    held_by_me(&m);
    // A condition that stays true: wait_while gives up at the timeout, the mutex held.
    let mut tests = 0;
    let t = Instant::now();
    let (g, met) = cv
        .wait_while(g, Some(Duration::from_millis(40)), |_| {
            tests += 1;
            true
        })
        .unwrap();
    assert!(!met && t.elapsed() >= Duration::from_millis(40));
    assert!(tests >= 2, "tested before the wait and after the timeout ({tests})");
    held_by_me(&m);
    drop(g);

    // A waiter in another thread: counted while asleep, released by a notification.
    let flag = Atomic::<u32>::create(&seg, "flag", 0).unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let (g, met) = cv.wait_while(m.lock().unwrap(), Some(WAIT_LIMIT), |_| flag.load() == 0).unwrap();
            assert!(met, "the notification was lost");
            assert_eq!(flag.load(), 1);
            drop(g);
        });
        until("the waiter to sleep", || cv.waiters() == 1);
        {
            let _g = m.lock().unwrap();
            flag.store(1);
        }
        cv.notify_one();
        waiter.join().unwrap();
    });
    assert_eq!((cv.waiters(), cv.notifications()), (0, 3));

    // notify_all releases every waiter; plain `wait` returns with the mutex.
    let released = Atomic::<u32>::create(&seg, "released", 0).unwrap();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let mut g = m.lock().unwrap();
                let start = Instant::now();
                while flag.load() != 2 {
                    assert!(start.elapsed() < WAIT_LIMIT, "notify_all lost a waiter");
                    g = cv.wait(g).unwrap();
                }
                released.fetch_add(1);
            });
        }
        until("three waiters to sleep", || cv.waiters() == 3);
        {
            let _g = m.lock().unwrap();
            flag.store(2);
        }
        cv.notify_all();
    });
    assert_eq!(released.load(), 3);
    assert_eq!((cv.waiters(), cv.notifications()), (0, 4));

    // Open checks: by name, as a wrong kind, and another kind as a condvar.
    let again = Condvar::open(&seg, "cv").unwrap();
    assert_eq!(again.notifications(), 4);
    assert_eq!(again.name(), "cv");
    assert!(Condvar::open_or_create(&seg, "cv").is_ok());
    assert_eq!(Condvar::open_or_create(&seg, "cv_new").unwrap().notifications(), 0);
    assert!(matches!(Mutex::open(&seg, "cv"), Err(Error::KindMismatch { .. })));
    assert!(matches!(Event::open(&seg, "cv"), Err(Error::KindMismatch { .. })));
    assert!(matches!(Condvar::open(&seg, "m"), Err(Error::KindMismatch { .. })));
    Array::<u32>::create(&seg, "arr", 1).unwrap();
    assert!(matches!(Condvar::open(&seg, "arr"), Err(Error::KindMismatch { .. })));
    assert!(Condvar::open(&seg, "missing").is_err());
    // Through the Structure trait; a condvar takes no parameters.
    assert!(Condvar::open_in(&seg, &Condvar::declaration("cv")).is_ok());
    for bad in [
        zipc::layout::StructureLayout { flags: 1, ..Condvar::declaration("bad") },
        zipc::layout::StructureLayout { initial: 1, ..Condvar::declaration("bad") },
        zipc::layout::StructureLayout { capacity: 1, ..Condvar::declaration("bad") },
    ] {
        assert!(matches!(Condvar::create_in(&seg, &bad), Err(Error::InvalidArgument { .. })));
    }

    // Inspect: the state, its report line and its JSON.
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let entry = snap.entries.iter().find(|e| e.name == "cv").unwrap();
    assert!(entry.problems.is_empty(), "{:?}", entry.problems);
    let Some(State::Condvar(st)) = &entry.state else { panic!("condvar state: {:?}", entry.state) };
    assert_eq!((st.notifications, st.waiters), (4, 0));
    let text = snap.to_string();
    assert!(text.contains("4 notifications sent, 0 waiting"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&snap.to_json()).unwrap();
    let e = json["entries"].as_array().unwrap().iter().find(|e| e["name"] == "cv").unwrap();
    assert_eq!(e["kind"], "condvar");
    assert_eq!(e["element"], serde_json::Value::Null);
    assert_eq!(e["state"], serde_json::json!({"notifications": 4, "waiters": 0}));
}

/// Slots in the bounded buffer's ring.
const SLOTS: u64 = 8;
const PRODUCERS: u64 = 2;
const CONSUMERS: u64 = 2;
/// Values each producer sends and each consumer receives.
fn per_process() -> u64 {
    soak(100_000)
}

/// The bounded buffer's shared parts, opened (or created) by name.
struct Buffer {
    lock: Mutex,
    not_empty: Condvar,
    not_full: Condvar,
    ring: Array<u64>,
    /// Values taken (the next slot to read is `head % SLOTS`).
    head: Atomic<u64>,
    /// Values put (the next slot to write is `tail % SLOTS`).
    tail: Atomic<u64>,
    /// One per value: set 0 → 1 by the consumer that receives it.
    received: Array<u32>,
}

impl Buffer {
    fn open(seg: &Segment) -> Self {
        Buffer {
            lock: Mutex::open(seg, "lock").unwrap(),
            not_empty: Condvar::open(seg, "not_empty").unwrap(),
            not_full: Condvar::open(seg, "not_full").unwrap(),
            ring: Array::open(seg, "ring").unwrap(),
            head: Atomic::open(seg, "head").unwrap(),
            tail: Atomic::open(seg, "tail").unwrap(),
            received: Array::open(seg, "received").unwrap(),
        }
    }

    fn len(&self, _: &MutexGuard<'_>) -> u64 {
        self.tail.load() - self.head.load()
    }

    /// Puts `v`, waiting while the ring is full. With `notify_locked`, notifies before letting
    /// the mutex go (both orders are correct).
    fn put(&self, v: u64, notify_locked: bool) {
        let g = self.lock.lock().unwrap();
        let (g, met) = self.not_full.wait_while(g, Some(WAIT_LIMIT), |g| self.len(g) == SLOTS).unwrap();
        assert!(met, "a producer waited {WAIT_LIMIT:?} for room: a notification was lost");
        let tail = self.tail.load();
        self.ring.set((tail % SLOTS) as usize, v).unwrap();
        self.tail.store(tail + 1);
        if notify_locked {
            self.not_empty.notify_one();
            drop(g);
        } else {
            drop(g);
            self.not_empty.notify_one();
        }
    }

    /// Takes a value, waiting while the ring is empty.
    fn take(&self) -> u64 {
        let g = self.lock.lock().unwrap();
        let (g, met) = self.not_empty.wait_while(g, Some(WAIT_LIMIT), |g| self.len(g) == 0).unwrap();
        assert!(met, "a consumer waited {WAIT_LIMIT:?} for a value: a notification was lost");
        let head = self.head.load();
        let v = self.ring.get((head % SLOTS) as usize).unwrap();
        self.head.store(head + 1);
        drop(g);
        self.not_full.notify_one();
        v
    }
}

/// Two producer and two consumer processes move 100 000 values each through an 8-slot ring
/// guarded by a mutex, waiting on `not_full` and `not_empty` and waking one waiter per change.
/// Every value is received exactly once, and no wait exceeds its (generous) hang guard — a lost
/// notification would leave a process asleep with the ring full or empty. One producer notifies
/// holding the mutex, the other after unlocking.
#[test]
fn bounded_buffer_across_processes() {
    const TEST: &str = "bounded_buffer_across_processes";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let b = Buffer::open(&seg);
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        go.fetch_add(1);
        go.wake_all();
        go.wait((PRODUCERS + CONSUMERS) as u32, Some(LIMIT)).unwrap(); // start together
        let n = per_process();
        match args[1].as_str() {
            "producer" => {
                let p: u64 = args[2].parse().unwrap();
                for i in 0..n {
                    b.put(p * n + i, p % 2 == 0);
                }
            }
            _ => {
                for _ in 0..n {
                    let v = b.take();
                    let first = b.received.compare_exchange(v as usize, 0, 1).unwrap();
                    assert_eq!(first, Ok(0), "value {v} received twice");
                }
            }
        }
        return;
    }
    let name = ShmName::new("condvar-buffer");
    let total = PRODUCERS * per_process();
    let seg = Segment::create(&name, (1 << 20) + 4 * total).unwrap();
    Mutex::create(&seg, "lock").unwrap();
    Condvar::create(&seg, "not_empty").unwrap();
    Condvar::create(&seg, "not_full").unwrap();
    Array::<u64>::create(&seg, "ring", SLOTS).unwrap();
    Atomic::<u64>::create(&seg, "head", 0).unwrap();
    Atomic::<u64>::create(&seg, "tail", 0).unwrap();
    Array::<u32>::create(&seg, "received", total).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let b = Buffer::open(&seg);

    let mut children: Vec<Child> = (0..PRODUCERS)
        .map(|p| spawn_role(TEST, &[&name, "producer", &p.to_string()]))
        .chain((0..CONSUMERS).map(|_| spawn_role(TEST, &[&name, "consumer"])))
        .collect();
    let mut ready = go.load();
    while ready < (PRODUCERS + CONSUMERS) as u32 {
        go.wait(ready, Some(LIMIT)).unwrap();
        ready = go.load();
    }
    go.store((PRODUCERS + CONSUMERS) as u32 + 1);
    go.wake_all();
    let start = Instant::now();
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT * soak(1)), "a producer or consumer failed");
    }
    let elapsed = start.elapsed();

    let received = b.received.to_vec();
    let missing = received.iter().filter(|&&r| r != 1).count();
    assert_eq!(missing, 0, "{missing} of {total} values not received exactly once");
    assert_eq!((b.head.load(), b.tail.load()), (total, total));
    assert!(!b.lock.is_locked());
    assert_eq!(b.lock.owner_deaths(), 0);
    assert_eq!((b.not_empty.waiters(), b.not_full.waiters()), (0, 0), "nobody left asleep");
    // One notification per put and per take (the counters wrap at 2³², far above this).
    assert_eq!(b.not_empty.notifications() as u64, total);
    assert_eq!(b.not_full.notifications() as u64, total);
    println!("{total} values through {SLOTS} slots in {elapsed:?}");
}

/// The child role for the kill test: wait on the condvar for a flag that never comes, saying
/// when it holds the mutex just before the wait. With "released", instead wait until the flag
/// is set and exit.
fn waiter(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let m = Mutex::open(&seg, "m").unwrap();
    let cv = Condvar::open(&seg, "cv").unwrap();
    let flag = Atomic::<u32>::open(&seg, "flag").unwrap();
    let g = m.lock().unwrap();
    if args.get(1).map(String::as_str) == Some("released") {
        let (_g, met) = cv.wait_while(g, Some(WAIT_LIMIT), |_| flag.load() == 0).unwrap();
        assert!(met, "the notification was lost");
        return;
    }
    let mut g = g;
    loop {
        g = cv.wait(g).unwrap(); // until killed
    }
}

/// SIGKILL a process asleep in `wait`. It had unlocked the mutex before it slept, so the mutex
/// is free and no owner died; the only trace is `waiters`, one too high for good (checked
/// exactly: nothing decrements it). Notifying still works — `notify_one` wakes a live sleeper,
/// not the dead one, which the kernel no longer queues — and waits still block and return.
#[test]
fn a_waiter_killed_asleep() {
    const TEST: &str = "a_waiter_killed_asleep";
    if let Some(args) = child_args(TEST) {
        return waiter(&args);
    }
    let name = ShmName::new("condvar-kill");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let m = Mutex::create(&seg, "m").unwrap();
    let cv = Condvar::create(&seg, "cv").unwrap();
    let flag = Atomic::<u32>::create(&seg, "flag", 0).unwrap();

    let mut doomed = spawn_role(TEST, &[&name]);
    until("the child to sleep in wait", || cv.waiters() == 1);
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    assert_eq!(cv.waiters(), 1, "the dead waiter stays counted");

    // The mutex: free, and nobody is told of a death.
    let g = m.lock_timeout(LIMIT).unwrap();
    assert!(!g.owner_died());
    // A wait in this process still sleeps until its timeout (nothing notified)...
    let (g, notified) = cv.wait_timeout(g, Duration::from_millis(20)).unwrap();
    assert!(!notified);
    drop(g);
    assert_eq!(cv.waiters(), 1);

    // ... and a notification reaches a live waiter in another process, with the dead one
    // still counted.
    let mut live = spawn_role(TEST, &[&name, "released"]);
    until("the second child to sleep", || cv.waiters() == 2);
    {
        let _g = m.lock_timeout(LIMIT).unwrap();
        flag.store(1);
    }
    cv.notify_one();
    assert!(wait_bounded(&mut live, LIMIT), "the live waiter was not released");
    assert_eq!(cv.waiters(), 1);

    // A waiting thread here, released by notify_all.
    flag.store(0);
    std::thread::scope(|s| {
        let t = s.spawn(|| {
            let (_g, met) = cv.wait_while(m.lock().unwrap(), Some(WAIT_LIMIT), |_| flag.load() == 0).unwrap();
            assert!(met, "the notification was lost");
        });
        until("the thread to sleep", || cv.waiters() == 2);
        {
            let _g = m.lock_timeout(LIMIT).unwrap();
            flag.store(1);
        }
        cv.notify_all();
        t.join().unwrap();
    });
    assert_eq!(cv.waiters(), 1);
    assert_eq!(cv.notifications(), 2);
    assert_eq!(m.owner_deaths(), 0);
    assert!(!m.is_locked());
}
