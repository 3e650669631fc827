//! Publish–subscribe, measured the same way for zipc's `Topic` (`topic.rs`) and iceoryx2
//! (`iceoryx2_bench.rs`): each library only supplies a `send` and a `receive` closure; the loops
//! that time them, the line-up of the processes and the figures are written once, here.
//!
//! * ping-pong (`pingpong_*_ns`, `*_latency_ns`): the parent loans a sample, stamps it with the
//!   round's number and sends it; the peer process receives it in place, checks the stamp and
//!   answers the number plus one on a return topic of `u64`; one-way latency is the round trip / 2.
//!   Both sides busy-poll (`try_receive`/`receive`, no wait set, no futex).
//! * throughput (`throughput_*_msgs`): the parent publishes `0..n` as u64 samples; each of 1 or 3
//!   subscriber processes receives every one and checks their count and sum. The figure is
//!   samples per second as published (what every subscriber got), from the start signal to the
//!   last subscriber's last sample.
//!
//! Samples of a payload size are `[u8; N]`, stamped in their first and last 8 bytes only: a
//! zero-copy transport's cost must not depend on the size, so nothing else is written or read.

use std::time::Duration;

use zipc::{Atomic, Segment};

use crate::machine::{monotonic_ns, Clock};
use crate::peer::BenchSegment;
use crate::report::{percentiles, Measurement};
use crate::Plan;

/// The payload sizes of `topic_latency_ns` and `iceoryx2_latency_ns`.
pub const PAYLOAD_SIZES: [usize; 5] = [8, 4096, 65536, 1 << 20, 4 << 20];
/// Subscriber counts of the throughput benchmarks.
pub const SUBSCRIBER_COUNTS: [usize; 2] = [1, 3];
/// Samples in flight of the 8-byte ping-pong topics (one is ever in flight).
pub const PINGPONG_CAPACITY: usize = 64;
/// Samples in flight of the payload-size ping-pong (one is ever in flight; 4 keeps a 4 MiB
/// topic at 16 MiB).
pub const LATENCY_CAPACITY: usize = 4;
/// Samples in flight of the throughput topics: the queues' and rings' capacity.
pub const THROUGHPUT_CAPACITY: usize = crate::throughput::CAPACITY;
/// Most subscriber processes of one benchmark (`end` atomics in the line-up segment).
const MAX_PEERS: usize = 4;

/// A sample the benchmarks can stamp with a number and read it back from.
pub trait Stamp {
    /// Writes `v` into the sample at `p` (first and last 8 bytes of a byte array), touching
    /// nothing else.
    ///
    /// # Safety
    /// `p` points to writable memory of the type's size.
    unsafe fn stamp(p: *mut Self, v: u64);
    /// Reads the stamp back; panics if the first and last 8 bytes disagree (a torn or stale
    /// sample).
    fn read(&self) -> u64;
}

impl Stamp for u64 {
    unsafe fn stamp(p: *mut Self, v: u64) {
        // SAFETY: the caller's promise.
        unsafe { p.write(v) }
    }
    fn read(&self) -> u64 {
        *self
    }
}

impl<const N: usize> Stamp for [u8; N] {
    unsafe fn stamp(p: *mut Self, v: u64) {
        const { assert!(N >= 8) };
        let b = v.to_le_bytes();
        let p = p.cast::<u8>();
        // SAFETY: the caller's promise: N writable bytes at p; 8 at the start and 8 at the end.
        unsafe {
            p.copy_from_nonoverlapping(b.as_ptr(), 8);
            p.add(N - 8).copy_from_nonoverlapping(b.as_ptr(), 8);
        }
    }
    fn read(&self) -> u64 {
        let first = u64::from_le_bytes(self[..8].try_into().unwrap());
        let last = u64::from_le_bytes(self[N - 8..].try_into().unwrap());
        assert_eq!(first, last, "a {N}-byte sample's first and last 8 bytes differ");
        first
    }
}

/// Busy polling: spin, and give the CPU away (sched_yield) after a long run of empty polls, so
/// that 4 spinning processes on 2 CPUs (publisher and 3 subscribers) hand over instead of
/// burning time slices. With one process per CPU `yield` returns at once.
pub struct Poll(u32);

impl Poll {
    pub fn new() -> Poll {
        Poll(0)
    }
    pub fn idle(&mut self) {
        self.0 += 1;
        if self.0 % 1024 == 0 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    pub fn reset(&mut self) {
        self.0 = 0;
    }
}

/// The line-up of a benchmark's processes, in a zipc segment of its own (never timed): peers
/// count themselves `ready` once subscribed, wait for `go`, and subscribers of a throughput run
/// store their CLOCK_MONOTONIC finishing time in `end{i}`.
pub struct LineUp {
    seg: Segment,
}

impl LineUp {
    /// The segment, for the parent (it is unlinked when the returned guard drops).
    pub fn create(tag: &str) -> (BenchSegment, LineUp) {
        let bench = BenchSegment::create(tag, 1 << 16);
        Atomic::<u32>::create(&bench.segment, "ready", 0).unwrap();
        Atomic::<u32>::create(&bench.segment, "go", 0).unwrap();
        for i in 0..MAX_PEERS {
            Atomic::<u64>::create(&bench.segment, &format!("end{i}"), 0).unwrap();
        }
        let seg = bench.segment.clone();
        (bench, LineUp { seg })
    }

    pub fn open(name: &str) -> LineUp {
        LineUp { seg: Segment::open(name).unwrap() }
    }

    /// Parent: waits (at most a minute) until `peers` peers are ready.
    pub fn wait_ready(&self, peers: u32) {
        let ready = Atomic::<u32>::open(&self.seg, "ready").unwrap();
        let t = std::time::Instant::now();
        loop {
            let r = ready.load();
            if r >= peers {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "{r} of {peers} peers ready after a minute");
            let _ = ready.wait(r, Some(Duration::from_secs(1)));
        }
    }

    /// Parent: starts the peers.
    pub fn go(&self) {
        let go = Atomic::<u32>::open(&self.seg, "go").unwrap();
        go.store(1);
        go.wake_all();
    }

    /// Peer: counts itself ready, then waits for `go`.
    pub fn ready_and_wait(&self) {
        let ready = Atomic::<u32>::open(&self.seg, "ready").unwrap();
        ready.fetch_add(1);
        ready.wake_all();
        Atomic::<u32>::open(&self.seg, "go").unwrap().wait(0, None).unwrap();
    }

    /// Subscriber `i` of a throughput run: its finishing time.
    pub fn set_end(&self, i: usize, ns: u64) {
        Atomic::<u64>::open(&self.seg, &format!("end{i}")).unwrap().store(ns);
    }

    pub fn end(&self, i: usize) -> u64 {
        Atomic::<u64>::open(&self.seg, &format!("end{i}")).unwrap().load()
    }
}

/// Round trips of a ping-pong run: warm-up (a tenth) and measured.
pub fn pingpong_rounds(plan: &Plan) -> (u64, u64) {
    let rounds = plan.latency_rounds as u64;
    (rounds / 10, rounds)
}

/// The parent's side of a ping-pong: `warmup + rounds` round trips, the measured ones timed.
/// `send(i)` loans, stamps and sends `i`, or returns `false` if it could not loan now;
/// `receive()` returns the peer's answer if one is there.
pub fn pingpong_parent(
    plan: &Plan,
    clock: &Clock,
    mut send: impl FnMut(u64) -> bool,
    mut receive: impl FnMut() -> Option<u64>,
) -> Vec<f64> {
    let (warmup, rounds) = pingpong_rounds(plan);
    let mut samples = Vec::with_capacity(rounds as usize);
    for i in 0..warmup + rounds {
        let t0 = clock.now();
        while !send(i) {
            std::hint::spin_loop();
        }
        let back = loop {
            if let Some(v) = receive() {
                break v;
            }
            std::hint::spin_loop();
        };
        let t1 = clock.now();
        assert_eq!(back, i + 1, "the peer's answer");
        if i >= warmup {
            samples.push(clock.ns(t1 - t0) / 2.0);
        }
    }
    samples
}

/// The peer's side of a ping-pong: answers each of `total` samples with its stamp plus one.
pub fn pingpong_peer(total: u64, mut receive: impl FnMut() -> Option<u64>, mut send: impl FnMut(u64) -> bool) {
    for i in 0..total {
        let v = loop {
            if let Some(v) = receive() {
                break v;
            }
            std::hint::spin_loop();
        };
        assert_eq!(v, i, "samples in order");
        while !send(v + 1) {
            std::hint::spin_loop();
        }
    }
}

/// A latency figure from one-way samples.
pub fn latency(name: &'static str, mut one_way_ns: Vec<f64>, payload: Option<usize>, how: String) -> Measurement {
    let n = one_way_ns.len();
    let (median, p99) = percentiles(&mut one_way_ns);
    let mut params = Vec::new();
    if let Some(bytes) = payload {
        params.push(("payload_bytes", bytes.to_string()));
    }
    params.extend([("p99_ns", format!("{p99:.1}")), ("round_trips", n.to_string()), ("mechanism", how)]);
    Measurement { name, unit: "ns", value: median, params }
}

/// The publisher's side of a throughput run: `0..n`, spinning (see [`Poll`]) while `send` finds
/// no room. Returns the start time (CLOCK_MONOTONIC), taken just before `go`.
pub fn publish_all(lineup: &LineUp, n: u64, mut send: impl FnMut(u64) -> bool) -> u64 {
    let t0 = monotonic_ns();
    lineup.go();
    let mut poll = Poll::new();
    for i in 0..n {
        while !send(i) {
            poll.idle();
        }
        poll.reset();
    }
    t0
}

/// A subscriber's side of a throughput run: receives `n` samples, checks they are `0..n` in
/// order, and stores its finishing time as subscriber `index`.
pub fn receive_all(lineup: &LineUp, index: usize, n: u64, mut receive: impl FnMut() -> Option<u64>) {
    lineup.ready_and_wait();
    let mut poll = Poll::new();
    let mut next = 0u64;
    while next < n {
        match receive() {
            Some(v) => {
                assert_eq!(v, next, "subscriber {index}: every sample once, in order");
                next += 1;
                poll.reset();
            }
            None => poll.idle(),
        }
    }
    lineup.set_end(index, monotonic_ns());
}

/// The throughput figure once the subscribers were joined: samples per second from `t0` to the
/// last subscriber's end.
pub fn throughput(
    name: &'static str,
    lineup: &LineUp,
    subscribers: usize,
    n: u64,
    t0: u64,
    how: String,
) -> Measurement {
    let end = (0..subscribers).map(|i| lineup.end(i)).max().unwrap();
    assert!(end > t0, "every subscriber finished");
    let secs = (end - t0) as f64 / 1e9;
    Measurement {
        name,
        unit: "msg/s",
        value: n as f64 / secs,
        params: vec![
            ("subscribers", subscribers.to_string()),
            ("messages", n.to_string()),
            ("capacity", THROUGHPUT_CAPACITY.to_string()),
            ("setup", how),
        ],
    }
}

/// CPUs for the subscriber processes of a throughput run: the publisher keeps the first CPU of
/// the pair, every subscriber goes to the second (3 subscribers share it, handing over with
/// `sched_yield` when they run dry).
pub fn subscriber_cpu(plan: &Plan) -> Option<usize> {
    plan.pair.map(|p| p.1)
}
