//! The readiness descriptor from C and Python (`zipc_waitset`, `zipc_runtime.WaitSet` and the
//! `*_async` methods), against a Rust process that feeds the structures in a random order:
//!
//! * C: a program attaches a queue consumer, a ring consumer, a topic subscriber, a stack and a
//!   semaphore to one `zipc_waitset`, `poll()`s its descriptor and drains what `take` reports.
//!   It receives every value exactly once (and every permit), the descriptor is not readable
//!   (poll times out, `zipc_waitset_wait` gives `ZIPC_ERR_TIMEOUT`) while nothing is ready, and
//!   it goes quiet again once everything is taken.
//! * Python: an asyncio program with concurrent tasks awaiting `pop_async` (two tasks on one
//!   consumer, a ring, a stack), `receive_async`, `acquire_async` (semaphore and pool),
//!   `wait_async` (event and latch) and `push_async` (back to Rust through a queue of two slots),
//!   with waits cancelled by `asyncio.wait_for` timeouts — one before anything is pushed, the
//!   others whenever the Rust side is slower than the timeout — and nothing lost; then
//!   `WaitSet.fileno()` with `selectors.DefaultSelector` and `select.select`.
//!
//! The order is random (the seed is printed on failure); timeouts are hang guards only.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zipc::{Event, Latch, Lossless, Pool, Queue, ResetMode, Ring, RingMode, Segment, Semaphore, Spsc, Stack, Topic};
use zipc_schema::{c, Arena, Schema};
use zipc_tests::native::{compile_c, finish, python_command, scratch, spawn, write_generated, Link};
use zipc_tests::{numpy_python, ShmName};

/// Hang guard for every blocking step (never reached when things work).
const LIMIT: Duration = Duration::from_secs(240);

/// A small deterministic generator (xorshift64*), seeded per run; the seed is in every message.
struct Rng(u64);

impl Rng {
    fn new() -> (Rng, u64) {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        let seed =
            std::env::var("ZIPC_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(t ^ u64::from(std::process::id()));
        (Rng(seed | 1), seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Waits for `latch` to open, at most `LIMIT`.
fn wait_latch(latch: &Latch, what: &str) {
    latch.wait_timeout(LIMIT).unwrap_or_else(|e| panic!("{what} never counted down the latch: {e}"));
}

// ---------------------------------------------------------------------------------------------
// C and poll()
// ---------------------------------------------------------------------------------------------

const C_VALUES: u64 = 20_000;
const C_PERMITS: u64 = 2_000;

const C_PEER: &str = r#"#define _POSIX_C_SOURCE 200809L
#include "zipc.h"
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)
#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)
#define GUARD_MS 240000

static unsigned char *seen;
static uint64_t n_values, got;

/* Records value v: in range, and not seen before. */
static int mark(uint64_t v) {
    if (v >= n_values) { fprintf(stderr, "value %llu out of range\n", (unsigned long long)v); return 1; }
    if (seen[v]) { fprintf(stderr, "value %llu received twice\n", (unsigned long long)v); return 1; }
    seen[v] = 1;
    got++;
    return 0;
}

/* Drains one source with its try_ call: every OK is a value; AGAIN ends; anything else fails. */
#define DRAIN(call) do { zipc_status s_; while ((s_ = (call)) == ZIPC_OK) { if (mark(v)) return 1; } \
    if (s_ != ZIPC_AGAIN) FAIL("%s: %s: %s", #call, zipc_status_name(s_), zipc_last_error()); } while (0)

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_queue *q;
    zipc_consumer *qc;
    zipc_ring *r;
    zipc_ring_consumer *rc;
    zipc_topic *t;
    zipc_topic_subscriber *ts;
    zipc_stack *st;
    zipc_semaphore *sem;
    zipc_latch *attached;
    zipc_waitset *ws;
    uint64_t kq, kr, kt, ks, ksem, keys[8], v, permits = 0, n_permits, wakes = 0, empty_takes = 0;
    uint32_t remaining;
    size_t n, i;
    int rounds;
    struct pollfd p;
    if (argc != 4) return 64;
    n_values = strtoull(argv[2], NULL, 10);
    n_permits = strtoull(argv[3], NULL, 10);
    seen = calloc(n_values, 1);
    if (!seen) return 2;
    CHECK(zipc_segment_open(argv[1], &seg));
    CHECK(zipc_queue_open(seg, "q", 8, "u64", &q));
    CHECK(zipc_queue_open_consumer(q, &qc));
    CHECK(zipc_ring_open(seg, "r", 8, "u64", &r));
    CHECK(zipc_ring_open_consumer(r, &rc));
    CHECK(zipc_topic_open(seg, "t", 8, "u64", &t));
    CHECK(zipc_topic_subscribe(t, &ts));
    CHECK(zipc_stack_open(seg, "s", 8, "u64", &st));
    CHECK(zipc_semaphore_open(seg, "sem", &sem));
    CHECK(zipc_latch_open(seg, "attached", &attached));

    CHECK(zipc_waitset_open(&ws));
    CHECK(zipc_waitset_attach_consumer(ws, qc, &kq));
    CHECK(zipc_waitset_attach_ring_consumer(ws, rc, &kr));
    CHECK(zipc_waitset_attach_subscriber(ws, ts, &kt));
    CHECK(zipc_waitset_attach_stack(ws, st, &ks));
    CHECK(zipc_waitset_attach_semaphore(ws, sem, &ksem));
    if (zipc_waitset_len(ws) != 5) FAIL("len %llu", (unsigned long long)zipc_waitset_len(ws));
    p.fd = zipc_waitset_fd(ws);
    p.events = POLLIN;
    p.revents = 0;

    /* Nothing is ready before the Rust side starts: poll times out, and so does a wait. */
    if (poll(&p, 1, 50) != 0) FAIL("the descriptor is readable with nothing ready");
    if (zipc_waitset_wait(ws, 20000000, keys, 8, &n) != ZIPC_ERR_TIMEOUT || n != 0) FAIL("wait did not time out");
    CHECK(zipc_latch_count_down(attached, 1, &remaining));

    while (got < n_values || permits < n_permits) {
        int ready = poll(&p, 1, GUARD_MS);
        if (ready != 1 || !(p.revents & POLLIN)) FAIL("poll: %d after %llu values, %llu permits", ready, (unsigned long long)got, (unsigned long long)permits);
        wakes++;
        CHECK(zipc_waitset_take(ws, keys, 8, &n));
        if (n == 0) empty_takes++;
        for (i = 0; i < n; i++) {
            if (keys[i] == kq) DRAIN(zipc_consumer_try_pop(qc, &v, 8));
            else if (keys[i] == kr) DRAIN(zipc_ring_try_pop(rc, &v, 8));
            else if (keys[i] == kt) DRAIN(zipc_topic_try_receive_copy(ts, &v, 8));
            else if (keys[i] == ks) DRAIN(zipc_stack_try_pop(st, &v, 8));
            else if (keys[i] == ksem) { while (zipc_semaphore_try_acquire(sem) == ZIPC_OK) permits++; }
            else FAIL("unknown key %llu", (unsigned long long)keys[i]);
        }
    }
    if (permits != n_permits) FAIL("%llu permits, %llu released", (unsigned long long)permits, (unsigned long long)n_permits);
    for (v = 0; v < n_values; v++) if (!seen[v]) FAIL("value %llu missing", (unsigned long long)v);

    /* Everything taken: no key is ready any more, and the descriptor goes quiet (a signal the
     * helper sent for a source that was ready until just now may still arrive, once). */
    for (rounds = 0;; rounds++) {
        CHECK(zipc_waitset_take(ws, keys, 8, &n));
        if (n != 0) FAIL("key %llu ready after everything was received", (unsigned long long)keys[0]);
        if (poll(&p, 1, 50) == 0) break;
        if (rounds == 1000) FAIL("the descriptor stays readable with nothing ready");
    }
    printf("C ok %llu %llu %llu %llu\n", (unsigned long long)got, (unsigned long long)permits, (unsigned long long)wakes, (unsigned long long)empty_takes);
    zipc_waitset_close(ws);
    zipc_latch_close(attached);
    zipc_semaphore_close(sem);
    zipc_stack_close(st);
    zipc_topic_subscriber_close(ts);
    zipc_topic_close(t);
    zipc_ring_consumer_close(rc);
    zipc_ring_close(r);
    zipc_consumer_close(qc);
    zipc_queue_close(q);
    zipc_segment_close(seg);
    free(seen);
    return 0;
}
"#;

#[test]
fn a_c_program_polls_the_waitset_fd_and_receives_every_value_exactly_once() {
    let dir = scratch("readiness-fd-c");
    std::fs::write(dir.join(c::RUNTIME_HEADER), c::runtime_header()).unwrap();
    let exe = compile_c(&dir, "poller", C_PEER, Link::Shared);

    let name = ShmName::new("readiness-c");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let q = Queue::<u64, Spsc>::create(&seg, "q", 16).unwrap();
    let r = Ring::<u64>::create(&seg, "r", 16, RingMode::Lossless).unwrap();
    let t = Topic::<u64, Lossless>::create(&seg, "t", 16, 1, 0).unwrap();
    let s = Stack::<u64>::create(&seg, "s", 16).unwrap();
    let sem = Semaphore::create(&seg, "sem", 0, 0).unwrap();
    let attached = Latch::create(&seg, "attached", 1).unwrap();
    let (mut qtx, mut rtx, mut ttx) = (q.producer().unwrap(), r.producer().unwrap(), t.publisher().unwrap());

    let args = [name.as_str().to_owned(), C_VALUES.to_string(), C_PERMITS.to_string()];
    let peer = spawn(Command::new(&exe).args(&args), "the C poller");
    wait_latch(&attached, "the C poller");
    assert_eq!(t.subscribers(), 1, "the C poller subscribed before counting down");

    let (mut rng, seed) = Rng::new();
    let (mut value, mut permits) = (0, 0);
    while value < C_VALUES || permits < C_PERMITS {
        let which = rng.below(5);
        if which == 4 || value == C_VALUES {
            if permits < C_PERMITS {
                sem.release().unwrap();
                permits += 1;
            }
            continue;
        }
        let v = value;
        value += 1;
        let pushed = match which {
            0 => qtx.push(v, Some(LIMIT)),
            1 => rtx.push(v, Some(LIMIT)),
            2 => ttx.send_copy(&v, Some(LIMIT)),
            _ => s.push(v, Some(LIMIT)),
        };
        pushed.unwrap_or_else(|e| panic!("seed {seed}: push of {v}: {e}"));
    }
    let out = finish(peer);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words[..2], ["C", "ok"], "seed {seed}: {out}");
    assert_eq!(words[2..4], [C_VALUES.to_string(), C_PERMITS.to_string()], "seed {seed}: {out}");
    eprintln!("seed {seed}: {} (values, permits, wake-ups, empty takes)", out.trim());
    assert!(q.is_empty() && s.is_empty() && sem.count() == 0, "seed {seed}: everything was taken");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Python: asyncio and selectors
// ---------------------------------------------------------------------------------------------

const PY_SCHEMA: &str = r#"
[segment]
name = "/zipc_readiness"
max_entries = 16

[[structures]]
name = "jobs"
kind = "queue"
policy = "mpsc"
type = "u64"
capacity = 8

[[structures]]
name = "results"
kind = "queue"
policy = "spsc"
type = "u64"
capacity = 2

[[structures]]
name = "samples"
kind = "ring"
type = "u64"
capacity = 8

[[structures]]
name = "news"
kind = "topic"
type = "u64"
capacity = 8
max_subscribers = 1
history = 0

[[structures]]
name = "spare"
kind = "stack"
type = "u64"
capacity = 8

[[structures]]
name = "permits"
kind = "semaphore"
initial = 0

[[structures]]
name = "slots"
kind = "pool"
type = "u64"
capacity = 2

[[structures]]
name = "go"
kind = "event"

[[structures]]
name = "ready"
kind = "latch"
count = 1

[[structures]]
name = "gate"
kind = "latch"
count = 1
"#;

/// Values Rust sends through each of jobs, samples, news and spare.
const PY_VALUES: u64 = 3_000;
/// Permits Rust releases.
const PY_PERMITS: u64 = 500;

const PY_PEER: &str = r#"
import asyncio
import select
import selectors
import sys

import readiness
import zipc_runtime as zr

seg = readiness.open(sys.argv[1])
N, K = int(sys.argv[2]), int(sys.argv[3])
T = 240.0  # hang guard


def exactly_once(name, values):
    values = sorted(int(v) for v in values)
    assert values == list(range(N)), "%s: %d values, first wrong at %r" % (
        name, len(values), next((i for i, v in enumerate(values) if v != i), None))


async def drain(name, awaitable_of, count, timeout=None):
    """`count` results of awaitable_of(), each awaited with wait_for(timeout): a timeout cancels
    the wait, which must lose nothing, and the loop awaits again."""
    got, cancelled = [], 0
    while len(got) < count:
        try:
            got.append(await asyncio.wait_for(awaitable_of(), timeout if timeout is not None else T))
        except asyncio.TimeoutError:
            assert timeout is not None, "%s: hang guard after %d" % (name, len(got))
            cancelled += 1
    return got, cancelled


async def main():
    jobs = seg.jobs.consumer()
    results = seg.results.producer()
    samples = seg.samples.consumer()
    news = seg.news.subscribe()

    # A wait cancelled before anything is pushed takes nothing: every job arrives below.
    try:
        await asyncio.wait_for(jobs.pop_async(), 0.05)
        raise AssertionError("popped from an empty queue")
    except asyncio.TimeoutError:
        pass
    assert jobs.try_pop() is None
    seg.ready.count_down()

    shared = []

    async def job_worker(timeout):
        # Two of these share one consumer (and its wait set); each job goes back to Rust.
        n = 0
        while True:
            try:
                v = await asyncio.wait_for(jobs.pop_async(), timeout)
            except asyncio.TimeoutError:
                n += 1
                continue
            if int(v) == N:  # the end marker, one per worker
                return n
            shared.append(int(v))
            await results.push_async(v)

    async def permit_taker(count):
        for _ in range(count):
            await seg.permits.acquire_async()
        return count

    async def pool_taker():
        a = await seg.slots.acquire_async()
        b = await seg.slots.acquire_async()
        assert a != b
        return 2

    t0 = asyncio.create_task(job_worker(0.002))
    t1 = asyncio.create_task(job_worker(T))
    ring_t = asyncio.create_task(drain("samples", samples.pop_async, N, 0.001))
    news_t = asyncio.create_task(drain("news", news.receive_async, N, 0.003))
    stack_t = asyncio.create_task(drain("spare", seg.spare.pop_async, N))
    p0, p1 = asyncio.create_task(permit_taker(K // 2)), asyncio.create_task(permit_taker(K - K // 2))
    pool_t = asyncio.create_task(pool_taker())
    event_t = asyncio.create_task(asyncio.wait_for(seg.go.wait_async(), T))
    latch_t = asyncio.create_task(asyncio.wait_for(seg.gate.wait_async(), T))

    cancelled = (await t0) + (await t1)
    exactly_once("jobs", shared)
    for name, task in (("samples", ring_t), ("news", news_t), ("spare", stack_t)):
        got, c = await task
        exactly_once(name, got)
        cancelled += c
    assert (await p0) + (await p1) == K
    assert await pool_t == 2
    await event_t
    await latch_t
    assert not seg.go.try_wait(), "an auto-reset event is taken by wait_async"
    assert seg.permits.try_acquire() is False and seg.slots.try_acquire() is None
    for h in (jobs, results, samples, news):
        h.close()  # releases the roles (and the wait sets the *_async calls cached)
    return cancelled


cancelled = asyncio.run(main())

# selectors and select on WaitSet.fileno(); everything above is taken, so nothing is ready.
with zr.WaitSet() as ws:
    jobs = seg.jobs.consumer()
    kj = ws.attach(jobs)
    kg = ws.attach(seg.go)
    kl = ws.attach(seg.gate)  # open: ready for good
    assert (kj, kg, kl) == (0, 1, 2) and len(ws) == 3
    sel = selectors.DefaultSelector()
    sel.register(ws, selectors.EVENT_READ)
    assert [k.fileobj for k, _ in sel.select(timeout=T)] == [ws]
    assert ws.take() == [kl]
    ws.detach(kl)
    try:
        ws.detach(kl)
        raise AssertionError("detached twice")
    except zr.InvalidArgumentError:
        pass

    def quiet():
        # A signal for a source that was ready until just now may still arrive, once.
        for _ in range(1000):
            assert ws.take() == [], "a key ready with nothing ready"
            if not sel.select(timeout=0.05):
                return
        raise AssertionError("the descriptor stays readable with nothing ready")

    quiet()
    assert select.select([ws], [], [], 0) == ([], [], [])
    try:
        ws.wait(0.01)
        raise AssertionError("wait did not time out")
    except zr.ZipcTimeoutError:
        pass
    seg.go.set()
    assert select.select([ws], [], [], T)[0] == [ws]
    assert ws.take() == [kg]
    assert ws.wait(T) == [kg], "level-triggered: still set"
    assert seg.go.try_wait()
    quiet()
    sel.close()
    jobs.close()

print("Python ok %d" % cancelled)
seg.close()
"#;

#[test]
fn python_asyncio_tasks_await_the_readiness_fd_fed_by_rust_and_cancelled_waits_lose_nothing() {
    let arena = Arena::new();
    let schema = Schema::parse("readiness.toml", PY_SCHEMA, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("readiness-fd-py");
    write_generated(&schema, &dir);
    std::fs::write(dir.join("peer.py"), PY_PEER).unwrap();
    let py = numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"));

    let name = ShmName::new("readiness-py");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    let jobs = Queue::<u64, zipc::Mpsc>::create(&seg, "jobs", 8).unwrap();
    let results = Queue::<u64, Spsc>::create(&seg, "results", 2).unwrap();
    let samples = Ring::<u64>::create(&seg, "samples", 8, RingMode::Lossless).unwrap();
    let news = Topic::<u64, Lossless>::create(&seg, "news", 8, 1, 0).unwrap();
    let spare = Stack::<u64>::create(&seg, "spare", 8).unwrap();
    let permits = Semaphore::create(&seg, "permits", 0, 0).unwrap();
    let slots = Pool::<u64>::create(&seg, "slots", 2).unwrap();
    let go = Event::create(&seg, "go", ResetMode::Auto, false).unwrap();
    let ready = Latch::create(&seg, "ready", 1).unwrap();
    let gate = Latch::create(&seg, "gate", 1).unwrap();
    // Rust holds both pool objects until it releases them, in the random order below.
    let held = [slots.try_acquire().unwrap().unwrap(), slots.try_acquire().unwrap().unwrap()];

    let args = [name.as_str().to_owned(), PY_VALUES.to_string(), PY_PERMITS.to_string()];
    let peer = spawn(python_command(&py, &dir, &dir.join("peer.py")).args(&args), "the Python asyncio peer");
    wait_latch(&ready, "the Python peer");
    assert_eq!(news.subscribers(), 1, "the Python peer subscribed before counting down");

    // The jobs come back through `results` (two slots: the Python pushes await room).
    let mut results_rx = results.consumer().unwrap();
    let back = std::thread::spawn(move || {
        let mut seen = vec![false; PY_VALUES as usize];
        for _ in 0..PY_VALUES {
            let v = results_rx.pop(Some(LIMIT)).expect("a job back from Python within the hang guard");
            assert!(!std::mem::replace(&mut seen[v as usize], true), "job {v} came back twice");
        }
        results_rx
    });

    let (mut rng, seed) = Rng::new();
    let (mut jtx, mut stx, mut ntx) =
        (jobs.producer().unwrap(), samples.producer().unwrap(), news.publisher().unwrap());
    let mut next = [0u64; 4];
    let (mut released, mut freed, mut set, mut opened) = (0, 0, false, false);
    loop {
        let undone: Vec<u64> = (0..8u64)
            .filter(|&k| match k {
                0..=3 => next[k as usize] < PY_VALUES,
                4 => released < PY_PERMITS,
                5 => freed < 2,
                6 => !set,
                _ => !opened,
            })
            .collect();
        if undone.is_empty() {
            break;
        }
        let k = undone[rng.below(undone.len() as u64) as usize];
        let step = match k {
            0..=3 => {
                let v = next[k as usize];
                next[k as usize] += 1;
                match k {
                    0 => jtx.push(v, Some(LIMIT)),
                    1 => stx.push(v, Some(LIMIT)),
                    2 => ntx.send_copy(&v, Some(LIMIT)),
                    _ => spare.push(v, Some(LIMIT)),
                }
            }
            4 => {
                released += 1;
                permits.release()
            }
            5 => {
                freed += 1;
                slots.release(held[freed - 1])
            }
            6 => {
                set = true;
                go.set();
                Ok(())
            }
            _ => {
                opened = true;
                gate.count_down(1);
                Ok(())
            }
        };
        step.unwrap_or_else(|e| panic!("seed {seed}: step {k}: {e}"));
    }
    // One end marker per job worker.
    jtx.push(PY_VALUES, Some(LIMIT)).unwrap();
    jtx.push(PY_VALUES, Some(LIMIT)).unwrap();

    let out = finish(peer);
    assert!(out.trim().starts_with("Python ok"), "seed {seed}: {out}");
    eprintln!("seed {seed}: {} (waits cancelled by a timeout, after the first)", out.trim());
    let mut results_rx = back.join().unwrap_or_else(|_| panic!("seed {seed}: the jobs did not all come back once"));
    assert!(results_rx.try_pop().unwrap().is_none(), "seed {seed}: a job past the last");
    assert!(jobs.is_empty() && spare.is_empty() && permits.count() == 0, "seed {seed}: everything was taken");
    let _ = std::fs::remove_dir_all(&dir);
}
