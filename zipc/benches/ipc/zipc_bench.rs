//! zipc's own structures across two processes: queue ping-pong latency, queue and ring
//! throughput, and the wake-up latency of a blocking pop, a wait set, an `async` pop on tokio and
//! `poll(2)` on a readiness fd.
//!
//! Every benchmark here has a parent side (which times) and a peer side (a copy of this binary,
//! see `peer.rs`). A `go` atomic lines the two up: the peer attaches, sets `ready`, and waits for
//! `go` before its first message, so process start-up is never timed.

use std::time::Instant;

use std::os::fd::AsRawFd;

use zipc::{Atomic, Consumer, Mpmc, Policy, Queue, ReadinessFd, Ring, RingMode, Segment, Spsc, WaitSet};

use crate::machine::{monotonic_ns, Clock};
use crate::peer::{self, BenchSegment};
use crate::report::{percentiles, Measurement};
use crate::throughput::{self, expected_sum, CAPACITY};
use crate::Plan;

/// Slots of the ping-pong queues: one message is ever in flight.
const PINGPONG_CAPACITY: u64 = 64;
/// Elements per bulk call in the ring bulk benchmark.
pub const BATCH: usize = 256;

fn handshake_parent(seg: &Segment) {
    let ready = Atomic::<u32>::open(seg, "ready").unwrap();
    ready.wait(0, Some(std::time::Duration::from_secs(60))).expect("peer did not attach");
}

fn go(seg: &Segment) {
    let go = Atomic::<u32>::open(seg, "go").unwrap();
    go.store(1);
    go.wake_all();
}

fn handshake_peer(seg: &Segment) {
    let ready = Atomic::<u32>::open(seg, "ready").unwrap();
    ready.store(1);
    ready.wake_all();
    let go = Atomic::<u32>::open(seg, "go").unwrap();
    go.wait(0, None).unwrap();
}

fn bench_segment(tag: &str, size: u64) -> BenchSegment {
    let seg = BenchSegment::create(tag, size);
    Atomic::<u32>::create(&seg.segment, "ready", 0).unwrap();
    Atomic::<u32>::create(&seg.segment, "go", 0).unwrap();
    seg
}

// ---------------------------------------------------------------------------------------------
// Ping-pong latency
// ---------------------------------------------------------------------------------------------

fn pingpong<P: Policy>(plan: &Plan, clock: &Clock, role: &str, name: &'static str, what: &str) -> Measurement {
    let seg = bench_segment(role, 1 << 20);
    let ping = Queue::<u64, P>::create(&seg.segment, "ping", PINGPONG_CAPACITY).unwrap();
    let pong = Queue::<u64, P>::create(&seg.segment, "pong", PINGPONG_CAPACITY).unwrap();
    let rounds = plan.latency_rounds;
    let warmup = rounds / 10;
    let child = peer::spawn(role, plan.pair.map(|p| p.1), &[seg.name.clone(), (rounds + warmup).to_string()]);
    let (mut tx, mut rx) = (ping.producer().unwrap(), pong.consumer().unwrap());
    handshake_parent(&seg.segment);
    go(&seg.segment);
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..(rounds + warmup) as u64 {
        let t0 = clock.now();
        while !tx.try_push(i).unwrap() {
            std::hint::spin_loop();
        }
        let back = loop {
            if let Some(v) = rx.try_pop().unwrap() {
                break v;
            }
            std::hint::spin_loop();
        };
        let t1 = clock.now();
        assert_eq!(back, i + 1);
        if i >= warmup as u64 {
            samples.push(clock.ns(t1 - t0) / 2.0);
        }
    }
    peer::join(child);
    let (median, p99) = percentiles(&mut samples);
    Measurement {
        name,
        unit: "ns",
        value: median,
        params: vec![
            ("p99_ns", format!("{p99:.1}")),
            ("round_trips", rounds.to_string()),
            ("mechanism", what.to_owned()),
        ],
    }
}

fn pingpong_peer<P: Policy>(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let total: u64 = args[1].parse().unwrap();
    let mut rx = Queue::<u64, P>::open(&seg, "ping").unwrap().consumer().unwrap();
    let mut tx = Queue::<u64, P>::open(&seg, "pong").unwrap().producer().unwrap();
    handshake_peer(&seg);
    for _ in 0..total {
        let v = loop {
            if let Some(v) = rx.try_pop().unwrap() {
                break v;
            }
            std::hint::spin_loop();
        };
        while !tx.try_push(v + 1).unwrap() {
            std::hint::spin_loop();
        }
    }
}

pub fn pingpong_spsc(plan: &Plan, clock: &Clock) -> Measurement {
    pingpong::<Spsc>(
        plan,
        clock,
        "spsc_pong",
        "pingpong_zipc_spsc_ns",
        "two zipc SPSC queues, try_push/try_pop spinning",
    )
}

pub fn pingpong_mpmc(plan: &Plan, clock: &Clock) -> Measurement {
    pingpong::<Mpmc>(
        plan,
        clock,
        "mpmc_pong",
        "pingpong_zipc_mpmc_ns",
        "two zipc MPMC queues, try_push/try_pop spinning",
    )
}

// ---------------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------------

fn queue_throughput<P: Policy>(plan: &Plan, role: &str, name: &'static str, what: &str) -> Measurement {
    let seg = bench_segment(role, 1 << 20);
    let q = Queue::<u64, P>::create(&seg.segment, "q", CAPACITY as u64).unwrap();
    let n = plan.messages;
    let child = peer::spawn(role, plan.pair.map(|p| p.1), &[seg.name.clone(), n.to_string()]);
    let mut rx = q.consumer().unwrap();
    handshake_parent(&seg.segment);
    let t0 = Instant::now();
    go(&seg.segment);
    let mut sum = 0u64;
    let mut got = 0;
    while got < n {
        match rx.try_pop().unwrap() {
            Some(v) => {
                sum = sum.wrapping_add(v);
                got += 1;
            }
            None => std::hint::spin_loop(),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    peer::join(child);
    assert_eq!(sum, expected_sum(n), "every message exactly once");
    throughput::measurement(name, n, secs, what)
}

fn queue_producer_peer<P: Policy>(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let n: u64 = args[1].parse().unwrap();
    let mut tx = Queue::<u64, P>::open(&seg, "q").unwrap().producer().unwrap();
    handshake_peer(&seg);
    for i in 0..n {
        while !tx.try_push(i).unwrap() {
            std::hint::spin_loop();
        }
    }
}

pub fn throughput_spsc(plan: &Plan) -> Measurement {
    queue_throughput::<Spsc>(
        plan,
        "spsc_produce",
        "throughput_zipc_spsc_msgs",
        "zipc SPSC queue, producer and consumer processes",
    )
}

pub fn throughput_mpmc(plan: &Plan) -> Measurement {
    queue_throughput::<Mpmc>(
        plan,
        "mpmc_produce",
        "throughput_zipc_mpmc_msgs",
        "zipc MPMC queue, 1 producer / 1 consumer process",
    )
}

fn ring_throughput(plan: &Plan, bulk: bool) -> Measurement {
    let role = if bulk { "ring_bulk_produce" } else { "ring_produce" };
    let seg = bench_segment(role, 1 << 20);
    let ring = Ring::<u64>::create(&seg.segment, "r", CAPACITY as u64, RingMode::Lossless).unwrap();
    let n = plan.messages;
    let child = peer::spawn(role, plan.pair.map(|p| p.1), &[seg.name.clone(), n.to_string()]);
    let mut rx = ring.consumer().unwrap();
    handshake_parent(&seg.segment);
    let t0 = Instant::now();
    go(&seg.segment);
    let (mut sum, mut got) = (0u64, 0u64);
    if bulk {
        let mut buf = vec![0u64; BATCH];
        while got < n {
            let k = rx.try_pop_bulk(&mut buf);
            for v in &buf[..k] {
                sum = sum.wrapping_add(*v);
            }
            got += k as u64;
            if k == 0 {
                std::hint::spin_loop();
            }
        }
    } else {
        while got < n {
            match rx.try_pop() {
                Some(v) => {
                    sum = sum.wrapping_add(v);
                    got += 1;
                }
                None => std::hint::spin_loop(),
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    peer::join(child);
    assert_eq!(sum, expected_sum(n), "every element exactly once");
    if bulk {
        throughput::measurement(
            "throughput_zipc_ring_bulk_msgs",
            n,
            secs,
            &format!("zipc ring, push_bulk/pop_bulk of {BATCH}, producer and consumer processes"),
        )
    } else {
        throughput::measurement(
            "throughput_zipc_ring_msgs",
            n,
            secs,
            "zipc ring, single push/pop, producer and consumer processes",
        )
    }
}

fn ring_producer_peer(args: &[String], bulk: bool) {
    let seg = Segment::open(&args[0]).unwrap();
    let n: u64 = args[1].parse().unwrap();
    let mut tx = Ring::<u64>::open(&seg, "r").unwrap().producer().unwrap();
    handshake_peer(&seg);
    if bulk {
        let mut next = 0u64;
        let mut buf = [0u64; BATCH];
        while next < n {
            let k = (n - next).min(BATCH as u64) as usize;
            for (j, slot) in buf[..k].iter_mut().enumerate() {
                *slot = next + j as u64;
            }
            let mut sent = 0;
            while sent < k {
                let m = tx.try_push_bulk(&buf[sent..k]);
                sent += m;
                if m == 0 {
                    std::hint::spin_loop();
                }
            }
            next += k as u64;
        }
    } else {
        for i in 0..n {
            while !tx.try_push(i) {
                std::hint::spin_loop();
            }
        }
    }
}

pub fn throughput_ring(plan: &Plan) -> Measurement {
    ring_throughput(plan, false)
}

pub fn throughput_ring_bulk(plan: &Plan) -> Measurement {
    ring_throughput(plan, true)
}

// ---------------------------------------------------------------------------------------------
// Wake-up latency
// ---------------------------------------------------------------------------------------------

/// A consumer asleep in a blocking `pop` on an SPSC queue; the producer process pauses long
/// enough for it to fall asleep, then pushes the CLOCK_MONOTONIC time. One-way: push to return.
pub fn wake(plan: &Plan) -> Measurement {
    wake_one_queue(
        plan,
        "wake_futex_ns",
        "blocking pop on a zipc SPSC queue woken by a push from another process",
        &mut |rx| rx.pop(None).unwrap(),
    )
}

/// As [`wake`], but the consumer is a tokio task (current-thread runtime) awaiting `pop_async`:
/// zipc's reactor thread wakes from the futex, wakes the task's waker, the runtime's thread
/// unparks and polls the task, which pops.
pub fn wake_async(plan: &Plan) -> Measurement {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    wake_one_queue(
        plan,
        "wake_async_ns",
        "tokio task (current-thread runtime) awaiting pop_async, woken through zipc's reactor thread",
        &mut |rx| rt.block_on(rx.pop_async()).unwrap(),
    )
}

/// As [`wake`], but the consumer sleeps in `poll(2)` on a [`ReadinessFd`] over the queue: the
/// fd's helper thread wakes from the futex and writes the eventfd; the consumer takes and pops.
pub fn wake_fd(plan: &Plan) -> Measurement {
    let mut fd: Option<ReadinessFd> = None;
    wake_one_queue(
        plan,
        "wake_fd_ns",
        "poll(2) on a ReadinessFd (eventfd) over the queue, signalled by its helper thread",
        &mut |rx| loop {
            if let Some(v) = rx.try_pop().unwrap() {
                return v;
            }
            let fd = fd.get_or_insert_with(|| {
                let mut set = WaitSet::new();
                set.attach(&*rx);
                ReadinessFd::new(set).unwrap()
            });
            let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd for the duration of the call.
            unsafe { libc::poll(&mut p, 1, -1) };
            fd.take();
        },
    )
}

/// The wake-up benchmarks over one SPSC queue: `receive` takes the next value however the
/// mechanism sleeps; the `wake_produce` peer pushes each once the consumer is counted asleep.
fn wake_one_queue(
    plan: &Plan,
    name: &'static str,
    mechanism: &str,
    receive: &mut dyn FnMut(&mut Consumer<u64, Spsc>) -> u64,
) -> Measurement {
    let seg = bench_segment("wake", 1 << 20);
    let q = Queue::<u64, Spsc>::create(&seg.segment, "q", 64).unwrap();
    let n = plan.wakeups;
    let child = peer::spawn("wake_produce", plan.pair.map(|p| p.1), &[seg.name.clone(), n.to_string()]);
    let mut rx = q.consumer().unwrap();
    handshake_parent(&seg.segment);
    go(&seg.segment);
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = receive(&mut rx);
        let now = monotonic_ns();
        samples.push(now.saturating_sub(sent) as f64);
    }
    peer::join(child);
    let (median, p99) = percentiles(&mut samples);
    Measurement {
        name,
        unit: "ns",
        value: median,
        params: vec![("p99_ns", format!("{p99:.1}")), ("wakeups", n.to_string()), ("mechanism", mechanism.into())],
    }
}

fn wake_peer(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let n: u64 = args[1].parse().unwrap();
    let q = Queue::<u64, Spsc>::open(&seg, "q").unwrap();
    let mut tx = q.producer().unwrap();
    handshake_peer(&seg);
    for _ in 0..n {
        // Let the consumer go to sleep: wait until it is counted as a sleeper (bounded).
        let t = Instant::now();
        while q.waiting_consumers() == 0 && t.elapsed().as_millis() < 100 {
            std::thread::yield_now();
        }
        std::thread::sleep(std::time::Duration::from_micros(50));
        tx.try_push(monotonic_ns()).unwrap();
    }
}

/// Sources in the wait-set wake-up benchmark.
const WAITSET_SOURCES: usize = 32;

/// As [`wake`], but the consumer sleeps in a [`WaitSet`] over 32 SPSC queues and the producer
/// pushes into one of them (a different one each time); timed from the push to the return of
/// `wait` and the pop of the value.
pub fn wake_waitset(plan: &Plan) -> Measurement {
    let seg = bench_segment("wakeset", 4 << 20);
    let queues: Vec<_> =
        (0..WAITSET_SOURCES).map(|i| Queue::<u64, Spsc>::create(&seg.segment, &format!("q{i}"), 64).unwrap()).collect();
    let n = plan.wakeups;
    let child = peer::spawn("wakeset_produce", plan.pair.map(|p| p.1), &[seg.name.clone(), n.to_string()]);
    let mut rxs: Vec<_> = queues.iter().map(|q| q.consumer().unwrap()).collect();
    let mut set = WaitSet::new();
    for rx in &rxs {
        set.attach(rx);
    }
    handshake_parent(&seg.segment);
    go(&seg.segment);
    let mut samples = Vec::with_capacity(n);
    while samples.len() < n {
        for key in set.wait(None).unwrap() {
            while let Some(sent) = rxs[key.index()].try_pop().unwrap() {
                samples.push(monotonic_ns().saturating_sub(sent) as f64);
            }
        }
    }
    peer::join(child);
    let (median, p99) = percentiles(&mut samples);
    Measurement {
        name: "wake_waitset_ns",
        unit: "ns",
        value: median,
        params: vec![
            ("p99_ns", format!("{p99:.1}")),
            ("wakeups", n.to_string()),
            ("sources", WAITSET_SOURCES.to_string()),
            ("mechanism", "WaitSet over 32 SPSC queues (futex_waitv) woken by a push to one of them".into()),
        ],
    }
}

fn wakeset_peer(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let n: u64 = args[1].parse().unwrap();
    let queues: Vec<_> =
        (0..WAITSET_SOURCES).map(|i| Queue::<u64, Spsc>::open(&seg, &format!("q{i}")).unwrap()).collect();
    let mut txs: Vec<_> = queues.iter().map(|q| q.producer().unwrap()).collect();
    handshake_peer(&seg);
    for i in 0..n as usize {
        let k = (i * 7) % WAITSET_SOURCES;
        // As in `wake_peer`: let the waiter fall asleep (it counts itself on every queue).
        let t = Instant::now();
        while queues[k].waiting_consumers() == 0 && t.elapsed().as_millis() < 100 {
            std::thread::yield_now();
        }
        std::thread::sleep(std::time::Duration::from_micros(50));
        txs[k].try_push(monotonic_ns()).unwrap();
    }
}

/// Peer roles of this module.
pub fn run_peer(role: &str, args: &[String]) -> bool {
    match role {
        "spsc_pong" => pingpong_peer::<Spsc>(args),
        "mpmc_pong" => pingpong_peer::<Mpmc>(args),
        "spsc_produce" => queue_producer_peer::<Spsc>(args),
        "mpmc_produce" => queue_producer_peer::<Mpmc>(args),
        "ring_produce" => ring_producer_peer(args, false),
        "ring_bulk_produce" => ring_producer_peer(args, true),
        "wake_produce" => wake_peer(args),
        "wakeset_produce" => wakeset_peer(args),
        _ => return false,
    }
    true
}
