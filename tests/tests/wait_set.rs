//! `WaitSet` across processes: one thread waits on 32 structures of seven kinds while four other
//! processes make them ready in random order. Every readiness is reported and taken, none is
//! missed or reported without something to take, and the waiter uses no CPU while idle.

use std::time::{Duration, Instant};

use zipc::wait_set::Key;
use zipc::{Atomic, Event, Latch, Mpmc, Queue, ResetMode, Ring, RingMode, Segment, Semaphore, Spsc, Topic, WaitSet};
use zipc_tests::{child_args, role_command, ShmName};

/// Hang guard for every blocking call (never reached when the code is right).
const LIMIT: Duration = Duration::from_secs(120);
const SOURCES: usize = 32;
const WORKERS: usize = 4;
/// Readinesses per countable source (queues, rings, semaphores, atomics, topics).
const ROUNDS: u64 = 40;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Mpmc,
    Spsc,
    Ring,
    Semaphore,
    Atomic,
    Event,
    Latch,
    Topic,
}

const KINDS: [Kind; 8] =
    [Kind::Mpmc, Kind::Spsc, Kind::Ring, Kind::Semaphore, Kind::Atomic, Kind::Event, Kind::Latch, Kind::Topic];

fn kind(i: usize) -> Kind {
    KINDS[i % KINDS.len()]
}

/// How many readinesses source `i` goes through: events and latches once, the others ROUNDS.
fn rounds(i: usize) -> u64 {
    match kind(i) {
        Kind::Event | Kind::Latch => 1,
        _ => ROUNDS,
    }
}

fn create(seg: &Segment) {
    for i in 0..SOURCES {
        let n = format!("s{i}");
        match kind(i) {
            Kind::Mpmc => drop(Queue::<u64, Mpmc>::create(seg, &n, 4).unwrap()),
            Kind::Spsc => drop(Queue::<u64, Spsc>::create(seg, &n, 4).unwrap()),
            Kind::Ring => drop(Ring::<u64>::create(seg, &n, 4, RingMode::Lossless).unwrap()),
            Kind::Semaphore => drop(Semaphore::create(seg, &n, 0, ROUNDS as u32).unwrap()),
            Kind::Atomic => drop(Atomic::<u32>::create(seg, &n, 0).unwrap()),
            Kind::Event => drop(Event::create(seg, &n, ResetMode::Auto, false).unwrap()),
            Kind::Latch => drop(Latch::create(seg, &n, 1).unwrap()),
            Kind::Topic => drop(Topic::<u64>::create(seg, &n, 4, 2, 0).unwrap()),
        }
    }
}

/// A worker: the sources `i` with `i % WORKERS == me`, made ready one step at a time in an
/// order drawn from `seed` (each source's own steps stay in order: values 1, 2, 3, ...).
fn worker(name: &str, me: usize, seed: u64) {
    let seg = Segment::open(name).unwrap();
    let go = Latch::open(&seg, "go").unwrap();
    let mine: Vec<usize> = (0..SOURCES).filter(|i| i % WORKERS == me).collect();
    let mut spsc = Vec::new();
    let mut rings = Vec::new();
    let mut publishers = Vec::new();
    for &i in &mine {
        let n = format!("s{i}");
        match kind(i) {
            Kind::Spsc => spsc.push((i, Queue::<u64, Spsc>::open(&seg, &n).unwrap().producer().unwrap())),
            Kind::Ring => rings.push((i, Ring::<u64>::open(&seg, &n).unwrap().producer().unwrap())),
            Kind::Topic => publishers.push((i, Topic::<u64>::open(&seg, &n).unwrap().publisher().unwrap())),
            _ => {}
        }
    }
    let mut steps: Vec<usize> = mine.iter().flat_map(|&i| std::iter::repeat_n(i, rounds(i) as usize)).collect();
    let mut x = seed | 1;
    for k in (1..steps.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        steps.swap(k, (x % (k as u64 + 1)) as usize);
    }
    go.wait_timeout(LIMIT).unwrap();
    let mut done = vec![0u64; SOURCES];
    for i in steps {
        done[i] += 1;
        let v = done[i];
        let n = format!("s{i}");
        match kind(i) {
            Kind::Mpmc => Queue::<u64, Mpmc>::open(&seg, &n).unwrap().push(v, Some(LIMIT)).unwrap(),
            Kind::Spsc => spsc.iter_mut().find(|(j, _)| *j == i).unwrap().1.push(v, Some(LIMIT)).unwrap(),
            Kind::Ring => rings.iter_mut().find(|(j, _)| *j == i).unwrap().1.push(v, Some(LIMIT)).unwrap(),
            Kind::Semaphore => Semaphore::open(&seg, &n).unwrap().release().unwrap(),
            Kind::Atomic => {
                let a = Atomic::<u32>::open(&seg, &n).unwrap();
                a.store(v as u32);
                a.wake_all();
            }
            Kind::Event => Event::open(&seg, &n).unwrap().set(),
            Kind::Latch => drop(Latch::open(&seg, &n).unwrap().count_down(1)),
            Kind::Topic => publishers.iter_mut().find(|(j, _)| *j == i).unwrap().1.send_copy(&v, Some(LIMIT)).unwrap(),
        }
    }
}

/// This thread's CPU time so far, from the scheduler's own count (nanoseconds).
fn thread_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    Duration::from_nanos(s.split_whitespace().next().unwrap().parse().unwrap())
}

fn wait_on_32_sources_across_4_processes(test: &str, fan_in: bool) {
    if let Some(args) = child_args(test) {
        return worker(&args[0], args[1].parse().unwrap(), args[2].parse().unwrap());
    }
    let name = ShmName::new("waitset-mp");
    let seg = Segment::create(&name, 4 << 20).unwrap();
    create(&seg);
    let go = Latch::create(&seg, "go", 1).unwrap();

    // The waiter's handles and its wait set.
    let mut mpmc = Vec::new();
    let mut spsc = Vec::new();
    let mut rings = Vec::new();
    let mut sems = Vec::new();
    let mut atomics = Vec::new();
    let mut events = Vec::new();
    let mut latches = Vec::new();
    let mut subs = Vec::new();
    let mut set = WaitSet::new();
    set.force_fan_in(fan_in);
    let mut keys: Vec<Key> = Vec::new();
    for i in 0..SOURCES {
        let n = format!("s{i}");
        let key = match kind(i) {
            Kind::Mpmc => {
                mpmc.push((i, Queue::<u64, Mpmc>::open(&seg, &n).unwrap().consumer().unwrap()));
                set.attach(&mpmc.last().unwrap().1)
            }
            Kind::Spsc => {
                spsc.push((i, Queue::<u64, Spsc>::open(&seg, &n).unwrap().consumer().unwrap()));
                set.attach(&spsc.last().unwrap().1)
            }
            Kind::Ring => {
                rings.push((i, Ring::<u64>::open(&seg, &n).unwrap().consumer().unwrap()));
                set.attach(&rings.last().unwrap().1)
            }
            Kind::Semaphore => {
                sems.push((i, Semaphore::open(&seg, &n).unwrap()));
                set.attach(&sems.last().unwrap().1)
            }
            Kind::Atomic => {
                atomics.push((i, Atomic::<u32>::open(&seg, &n).unwrap()));
                set.attach(&atomics.last().unwrap().1.changed_from(0))
            }
            Kind::Event => {
                events.push((i, Event::open(&seg, &n).unwrap()));
                set.attach(&events.last().unwrap().1)
            }
            Kind::Latch => {
                latches.push((i, Latch::open(&seg, &n).unwrap()));
                set.attach(&latches.last().unwrap().1)
            }
            Kind::Topic => {
                subs.push((i, Topic::<u64>::open(&seg, &n).unwrap().subscriber().unwrap()));
                set.attach(&subs.last().unwrap().1)
            }
        };
        assert_eq!(key.index(), i);
        keys.push(key);
    }

    let mut children: Vec<_> = (0..WORKERS)
        .map(|w| {
            let seed = 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(w as u64 + 1) ^ std::process::id() as u64;
            role_command(test, &[&name, &w.to_string(), &seed.to_string()]).spawn().unwrap()
        })
        .collect();

    // Idle: nothing is ready until `go` opens, a second from now.
    let opener = {
        let go = Latch::open(&seg, "go").unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            go.count_down(1);
        })
    };
    let (cpu0, t0) = (thread_cpu(), Instant::now());
    let mut ready = set.wait(Some(LIMIT)).unwrap();
    let (idle_cpu, idle_wall) = (thread_cpu() - cpu0, t0.elapsed());
    opener.join().unwrap();
    drop(go);

    // Take every readiness; each reported source must have something to take.
    let mut taken = vec![0u64; SOURCES];
    let expected: u64 = (0..SOURCES).map(rounds).sum();
    let (mut total, mut waits, mut reports) = (0u64, 1u64, 0u64);
    loop {
        for key in ready {
            let i = key.index();
            reports += 1;
            let before = taken[i];
            let mut check = |v: u64| {
                taken[i] += 1;
                assert_eq!(v, taken[i], "source {i} ({:?}): values arrive in order, once", kind(i));
            };
            match kind(i) {
                Kind::Mpmc => {
                    let q = &mut mpmc.iter_mut().find(|(j, _)| *j == i).unwrap().1;
                    while let Some(v) = q.try_pop().unwrap() {
                        check(v)
                    }
                }
                Kind::Spsc => {
                    let q = &mut spsc.iter_mut().find(|(j, _)| *j == i).unwrap().1;
                    while let Some(v) = q.try_pop().unwrap() {
                        check(v)
                    }
                }
                Kind::Ring => {
                    let r = &mut rings.iter_mut().find(|(j, _)| *j == i).unwrap().1;
                    while let Some(v) = r.try_pop() {
                        check(v)
                    }
                }
                Kind::Topic => {
                    let s = &mut subs.iter_mut().find(|(j, _)| *j == i).unwrap().1;
                    while let Some(v) = s.try_receive_copy() {
                        check(v)
                    }
                }
                Kind::Semaphore => {
                    let s = &sems.iter().find(|(j, _)| *j == i).unwrap().1;
                    while let Some(g) = s.try_acquire() {
                        g.forget();
                        taken[i] += 1;
                    }
                }
                Kind::Atomic => {
                    let a = &atomics.iter().find(|(j, _)| *j == i).unwrap().1;
                    let v = a.load() as u64;
                    assert!(v > taken[i], "atomic {i} reported ready at its old value {v}");
                    taken[i] = v;
                    set.replace(key, &a.changed_from(v as u32));
                }
                Kind::Event => {
                    assert!(events.iter().find(|(j, _)| *j == i).unwrap().1.try_wait());
                    taken[i] += 1;
                    set.detach(key);
                }
                Kind::Latch => {
                    assert!(latches.iter().find(|(j, _)| *j == i).unwrap().1.try_wait());
                    taken[i] += 1;
                    set.detach(key);
                }
            }
            assert!(taken[i] > before, "source {i} ({:?}) reported ready with nothing to take", kind(i));
            assert!(taken[i] <= rounds(i), "source {i} delivered more than was made ready");
            total += taken[i] - before;
        }
        // Atomics and sources that are finished stay attached (a finished queue is never ready).
        if total == expected {
            break;
        }
        ready = match set.wait(Some(LIMIT)) {
            Ok(r) => r,
            Err(e) => panic!("{e}: taken {taken:?}, expected {:?}", (0..SOURCES).map(rounds).collect::<Vec<_>>()),
        };
        waits += 1;
    }
    for c in &mut children {
        assert!(zipc_tests::wait_bounded(c, LIMIT), "a worker failed");
    }
    println!(
        "{expected} readinesses of {SOURCES} sources from {WORKERS} processes taken in {waits} waits \
         ({reports} reports); idle wait: {idle_cpu:?} CPU over {idle_wall:?}"
    );
    assert!(idle_wall >= Duration::from_millis(900), "the first wait returned before anything was ready");
    assert!(
        idle_cpu < Duration::from_millis(50),
        "the waiter used {idle_cpu:?} of CPU while idle for {idle_wall:?}: it must sleep, not poll"
    );
    assert!(set.wait(Some(Duration::from_millis(1))).is_err(), "nothing is ready once all is taken");
}

#[test]
fn wait_on_32_sources_across_4_processes_with_futex_waitv() {
    wait_on_32_sources_across_4_processes("wait_on_32_sources_across_4_processes_with_futex_waitv", false);
}

#[test]
fn wait_on_32_sources_across_4_processes_fanned_in() {
    wait_on_32_sources_across_4_processes("wait_on_32_sources_across_4_processes_fanned_in", true);
}

/// A watcher that reports readiness and takes nothing must not swallow the wake-up of a
/// blocked acquirer: a released permit (a set auto-reset event) wakes every sleeper, so the
/// blocked `acquire` (`wait`) returns although a wait set asleep on the same word woke first.
#[test]
fn a_watcher_does_not_swallow_a_blocked_waiters_wake_up() {
    let name = ShmName::new("waitset-wake-one");
    let seg = Segment::create(name.as_str(), 1 << 20).unwrap();
    let sem = Semaphore::create(&seg, "sem", 0, 1).unwrap();
    let event = Event::create(&seg, "event", ResetMode::Auto, false).unwrap();
    // Ends the watchers: they may find nothing left to report once the blocked waiters took it.
    let stop = Event::create(&seg, "stop", ResetMode::Manual, false).unwrap();
    let until = |f: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !f() {
            assert!(start.elapsed() < LIMIT, "hang guard");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    std::thread::scope(|s| {
        // The watchers go to sleep first (first in the futex queue), then the blocked waiters.
        let watch = |r: &'static str| {
            let (sem, event, stop) = (&sem, &event, &stop);
            move || {
                let mut set = WaitSet::new();
                set.attach(stop);
                if r == "sem" {
                    set.attach(sem);
                } else {
                    set.attach(event);
                }
                set.wait(Some(LIMIT)).unwrap()
            }
        };
        let watchers = [s.spawn(watch("sem")), s.spawn(watch("event"))];
        until(&|| sem.waiting() == 1 && event.waiters() == 1);
        let acquirer = s.spawn(|| sem.acquire_timeout(LIMIT).map(|g| g.forget()));
        let setwaiter = s.spawn(|| event.wait_timeout(LIMIT));
        until(&|| sem.waiting() == 2 && event.waiters() == 2);
        sem.release().unwrap();
        event.set();
        acquirer.join().unwrap().expect("the blocked acquire never got the permit");
        setwaiter.join().unwrap().expect("the blocked wait never saw the event");
        stop.set();
        for w in watchers {
            assert!(!w.join().unwrap().is_empty());
        }
    });
}
