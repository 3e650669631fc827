//! zipc's futures on tokio, fed by other processes: thousands of tasks awaiting `pop_async` over
//! many queues receive every value exactly once; tasks whose waits are cancelled by timeouts and
//! `select!` under load lose nothing; the reactor lets go of every cancelled wait; and the other
//! `*_async` methods (ring, topic, semaphore, event, latch, stack, pool, atomic) wake on another
//! process's change.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zipc::{Atomic, Event, Latch, Mpmc, Pool, Queue, ResetMode, Ring, RingMode, Segment, Semaphore, Stack, Topic};
use zipc_tests::{child_args, spawn_role, wait_bounded, ShmName};

/// Hang guard for every wait (never reached when the code is right).
const LIMIT: Duration = Duration::from_secs(120);
const QUEUES: usize = 16;
const PRODUCERS: u64 = 2;
/// Marks the end: each task stops at the first it pops.
const STOP: u64 = u64::MAX;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
}

fn create_queues(seg: &Segment) -> Vec<Queue<u64, Mpmc>> {
    (0..QUEUES).map(|i| Queue::<u64, Mpmc>::create(seg, &format!("q{i}"), 64).unwrap()).collect()
}

/// A producer process: pushes `me * per .. (me + 1) * per` to pseudo-random queues, then its
/// share of the stop markers (`stops` per queue, split between the producers).
fn producer(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let me: u64 = args[1].parse().unwrap();
    let per: u64 = args[2].parse().unwrap();
    let stops: u64 = args[3].parse().unwrap();
    let queues: Vec<_> = (0..QUEUES).map(|i| Queue::<u64, Mpmc>::open(&seg, &format!("q{i}")).unwrap()).collect();
    Latch::open(&seg, "go").unwrap().wait_timeout(LIMIT).unwrap();
    let mut x = (me + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for v in me * per..(me + 1) * per {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        queues[(x % QUEUES as u64) as usize].push(v, Some(LIMIT)).unwrap();
    }
    for (i, q) in queues.iter().enumerate() {
        for k in 0..stops {
            if (i as u64 + k) % PRODUCERS == me {
                q.push(STOP, Some(LIMIT)).unwrap();
            }
        }
    }
}

fn spawn_producers(test: &str, name: &str, per: u64, stops: u64) -> Vec<std::process::Child> {
    (0..PRODUCERS).map(|me| spawn_role(test, &[name, &me.to_string(), &per.to_string(), &stops.to_string()])).collect()
}

/// Every value of `0 .. PRODUCERS * per` exactly once.
fn assert_exactly_once(mut got: Vec<u64>, per: u64) {
    got.sort_unstable();
    let n = got.len() as u64;
    let dup = got.windows(2).find(|w| w[0] == w[1]);
    assert!(dup.is_none(), "value {:?} received twice", dup);
    assert_eq!(n, PRODUCERS * per, "received {n} distinct values of {}", PRODUCERS * per);
    assert!(got.iter().copied().eq(0..PRODUCERS * per), "received values outside the range");
}

/// Waits (bounded) until the reactor watches nothing: every cancelled wait was let go.
fn reactor_lets_go() {
    let start = Instant::now();
    while zipc::reactor::reactor_watching() != 0 {
        assert!(start.elapsed() < LIMIT, "the reactor still watches {} sources", zipc::reactor::reactor_watching());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs the tasks `spawn` starts on a fresh runtime, lets the producers go once every task has
/// run to its first wait, joins the tasks and then the producer processes (hang guards only).
fn drive(go: &Latch, mut children: Vec<std::process::Child>, spawn: impl FnOnce() -> Vec<tokio::task::JoinHandle<()>>) {
    runtime().block_on(async {
        let tasks = spawn();
        // Every task is pending before the producers start.
        tokio::task::yield_now().await;
        go.count_down(1);
        for t in tasks {
            tokio::time::timeout(LIMIT, t).await.expect("a task hung").unwrap();
        }
    });
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a producer failed");
    }
}

#[test]
fn thousands_of_tasks_pop_exactly_once() {
    const TEST: &str = "thousands_of_tasks_pop_exactly_once";
    const TASKS: usize = 2048; // 128 per queue
    const PER: u64 = 100_000;
    if let Some(args) = child_args(TEST) {
        return producer(&args);
    }
    let name = ShmName::new("async-many");
    let seg = Segment::create(name.as_str(), 8 << 20).unwrap();
    let queues = create_queues(&seg);
    let go = Latch::create(&seg, "go", 1).unwrap();
    let children = spawn_producers(TEST, name.as_str(), PER, (TASKS / QUEUES) as u64);
    let got = Arc::new(Mutex::new(Vec::with_capacity((PRODUCERS * PER) as usize)));
    drive(&go, children, || {
        (0..TASKS)
            .map(|t| {
                let rx = queues[t % QUEUES].clone();
                let got = got.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        match rx.pop_async().await.unwrap() {
                            STOP => break,
                            v => mine.push(v),
                        }
                    }
                    got.lock().unwrap().extend(mine);
                })
            })
            .collect()
    });
    assert_exactly_once(std::mem::take(&mut *got.lock().unwrap()), PER);
    assert!(queues.iter().all(|q| q.is_empty()), "values left in a queue");
    reactor_lets_go();
}

#[test]
fn cancellation_under_load_loses_nothing() {
    const TEST: &str = "cancellation_under_load_loses_nothing";
    const TASKS: usize = 256;
    const PER: u64 = 20_000;
    if let Some(args) = child_args(TEST) {
        return producer(&args);
    }
    let name = ShmName::new("async-cancel");
    let seg = Segment::create(name.as_str(), 8 << 20).unwrap();
    let queues = create_queues(&seg);
    let go = Latch::create(&seg, "go", 1).unwrap();
    let children = spawn_producers(TEST, name.as_str(), PER, (TASKS / QUEUES) as u64);
    let got = Arc::new(Mutex::new(Vec::new()));
    let cancelled = Arc::new(AtomicU64::new(0));
    drive(&go, children, || {
        (0..TASKS)
            .map(|t| {
                let rx = queues[t % QUEUES].clone();
                let (got, cancelled) = (got.clone(), cancelled.clone());
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    let mut turn = t as u64;
                    loop {
                        turn += 1;
                        // Every wait is raced against something that often wins: a timeout of
                        // 0–99 µs, or (every third turn) a short sleep in a `select!`.
                        let popped = if turn % 3 == 0 {
                            tokio::select! {
                                v = rx.pop_async() => Some(v.unwrap()),
                                _ = tokio::time::sleep(Duration::from_micros(turn % 50)) => None,
                            }
                        } else {
                            tokio::time::timeout(Duration::from_micros(turn % 100), rx.pop_async())
                                .await
                                .ok()
                                .map(|v| v.unwrap())
                        };
                        match popped {
                            Some(STOP) => break,
                            Some(v) => mine.push(v),
                            None => {
                                cancelled.fetch_add(1, SeqCst);
                            }
                        }
                    }
                    got.lock().unwrap().extend(mine);
                })
            })
            .collect()
    });
    let mut got = std::mem::take(&mut *got.lock().unwrap());
    // Anything a cancelled wait left behind is still in the queues.
    for q in &queues {
        while let Some(v) = q.try_pop().unwrap() {
            got.push(v);
        }
    }
    got.retain(|&v| v != STOP);
    println!("{} waits cancelled", cancelled.load(SeqCst));
    assert!(cancelled.load(SeqCst) > 0, "no wait was cancelled: the test tested nothing");
    assert_exactly_once(got, PER);
    reactor_lets_go();
}

/// `f`, with the hang guard.
async fn guard<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f).await.expect("a wait hung")
}

/// The other kinds' `*_async`, each woken by a change another process makes.
#[test]
fn every_kind_wakes_a_task() {
    const TEST: &str = "every_kind_wakes_a_task";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        Latch::open(&seg, "go").unwrap().wait_timeout(LIMIT).unwrap();
        let mut ring = Ring::<u64>::open(&seg, "ring").unwrap().producer().unwrap();
        let mut publisher = Topic::<u64>::open(&seg, "topic").unwrap().publisher().unwrap();
        let mut slow = Topic::<u64>::open(&seg, "full").unwrap().subscriber().unwrap();
        // One change at a time, each after the task is waiting for it (the parent says so).
        let step = Atomic::<u32>::open(&seg, "step").unwrap();
        let at = |n: u32| {
            let start = Instant::now();
            while step.load() < n {
                assert!(start.elapsed() < LIMIT);
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        at(1);
        ring.push(11, Some(LIMIT)).unwrap();
        at(2);
        publisher.send_copy(&22, Some(LIMIT)).unwrap();
        at(3);
        Semaphore::open(&seg, "sem").unwrap().release().unwrap();
        at(4);
        Event::open(&seg, "event").unwrap().set();
        at(5);
        Latch::open(&seg, "latch").unwrap().count_down(1);
        at(6);
        Stack::<u64>::open(&seg, "stack").unwrap().push(66, Some(LIMIT)).unwrap();
        at(7);
        let pool = Pool::<u64>::open(&seg, "pool").unwrap();
        let held = zipc::Handle { index: args[1].parse().unwrap(), generation: args[2].parse().unwrap() };
        pool.release(held).unwrap();
        at(8);
        let a = Atomic::<u32>::open(&seg, "atomic").unwrap();
        a.store(8);
        a.wake_all();
        at(9);
        assert_eq!(slow.try_receive_copy(), Some(90)); // frees a slot of the full topic
        return;
    }
    let name = ShmName::new("async-kinds");
    let seg = Segment::create(name.as_str(), 4 << 20).unwrap();
    let go = Latch::create(&seg, "go", 1).unwrap();
    let step = Atomic::<u32>::create(&seg, "step", 0).unwrap();
    let mut ring = Ring::<u64>::create(&seg, "ring", 4, RingMode::Lossless).unwrap().consumer().unwrap();
    let topic = Topic::<u64>::create(&seg, "topic", 4, 2, 0).unwrap();
    let mut sub = topic.subscriber().unwrap();
    let sem = Semaphore::create(&seg, "sem", 0, 1).unwrap();
    let event = Event::create(&seg, "event", ResetMode::Auto, false).unwrap();
    let latch = Latch::create(&seg, "latch", 1).unwrap();
    let stack = Stack::<u64>::create(&seg, "stack", 4).unwrap();
    let pool = Pool::<u64>::create(&seg, "pool", 1).unwrap();
    let held = pool.try_acquire().unwrap().unwrap();
    let atomic = Atomic::<u32>::create(&seg, "atomic", 0).unwrap();
    let full = Topic::<u64>::create(&seg, "full", 2, 1, 0).unwrap();
    let mut filler = full.publisher().unwrap();
    let mut child = spawn_role(TEST, &[name.as_str(), &held.index.to_string(), &held.generation.to_string()]);
    go.count_down(1);
    let rt = runtime();
    rt.block_on(async {
        let next = |n: u32| {
            step.store(n);
        };
        next(1);
        assert_eq!(guard(ring.pop_async()).await.unwrap(), 11);
        next(2);
        assert_eq!(guard(sub.receive_copy_async()).await.unwrap(), 22);
        next(3);
        guard(sem.acquire_async()).await.unwrap().forget();
        next(4);
        guard(event.wait_async()).await.unwrap();
        assert!(!event.try_wait(), "the auto-reset event was taken by the wait");
        next(5);
        guard(latch.wait_async()).await.unwrap();
        next(6);
        assert_eq!(guard(stack.pop_async()).await.unwrap(), 66);
        next(7);
        guard(pool.acquire_async()).await.unwrap();
        next(8);
        guard(atomic.wait_async(0)).await.unwrap();
        assert_eq!(atomic.load(), 8);
        // A lossless publisher a capacity ahead of the other process's subscriber.
        let start = Instant::now();
        while full.subscribers() == 0 {
            assert!(start.elapsed() < LIMIT, "the peer never subscribed");
            tokio::task::yield_now().await;
        }
        assert!(filler.try_send_copy(&90) && filler.try_send_copy(&91));
        assert!(filler.try_loan().is_none(), "the topic should be full");
        next(9);
        let loan = guard(filler.loan_async()).await.unwrap();
        loan.send();
        assert_eq!(filler.published(), 3);
    });
    assert!(wait_bounded(&mut child, LIMIT), "the peer failed");
    reactor_lets_go();
}
