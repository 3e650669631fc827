//! Rust, C and Python as peers on one segment, through libzipc (zipc's C ABI) and the code
//! zipc-schema generates for C and Python:
//!
//! * a three-language matrix: every ordered pair of languages exchanges 100 000 messages over a
//!   queue and over a ring (12 flows at once, all policies), each delivered exactly once, in
//!   order, checked field by field by the receiver;
//! * a semaphore and a barrier shared by a Rust, a C and a Python process keep the guarantees
//!   they have in Rust alone: mutual exclusion without lost updates, no participant passing a
//!   barrier early, one leader per generation;
//! * errors cross the boundary intact: a wrong element size, a missing structure and a timeout
//!   give the status and the very message Rust gives, in C, and a typed exception in Python;
//! * C and Python processes are registered in the segment like Rust ones, and register for the
//!   membarrier that keeps queue fast paths fence-free;
//! * pools (handles travelling through a queue), endpoints, overwrite rings, latches, robust
//!   mutexes, events and waited-on atomics work from C and Python too.
//!
//! `ZIPC_SOAK=1` runs the matrix with 20 times more messages.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use zipc::{Error, Mpmc, Mpsc, Policy, Queue, Ring, Segment, ShmType, Spsc};
use zipc_schema::{Arena, Schema};
use zipc_tests::native::{check, compile_c, finish, python_command, scratch, spawn, write_generated, Link};
use zipc_tests::{numpy_python, ShmName};

/// Hang guard for every process (never reached when things work).
const LIMIT: Duration = Duration::from_secs(240);

fn messages() -> u64 {
    if std::env::var_os("ZIPC_SOAK").is_some() {
        2_000_000
    } else {
        100_000
    }
}

const MATRIX: &str = r#"
# The cross-language matrix: a queue and a ring for every ordered pair of languages.
[segment]
name = "/zipc_matrix"
max_entries = 16

[types.Msg]
doc = "A message: every field is checked by the receiver."
fields = [
    { name = "seq", type = "u64" },
    { name = "src", type = "u32" },
    { name = "check", type = "u32" },
    { name = "value", type = "f64" },
    { name = "vec", type = "[f32; 3]" },
    { name = "tag", type = "i16" },
    { name = "small", type = "u8" },
    { name = "_pad", type = "u8" },
]
"#;

/// The channels: (structure, kind, policy, from, to). Languages: R(ust), C, P(ython).
const CHANNELS: [(&str, &str, &str, char, char); 12] = [
    ("q_rc", "queue", "spsc", 'R', 'C'),
    ("q_cp", "queue", "mpsc", 'C', 'P'),
    ("q_pr", "queue", "mpmc", 'P', 'R'),
    ("q_cr", "queue", "spsc", 'C', 'R'),
    ("q_pc", "queue", "mpmc", 'P', 'C'),
    ("q_rp", "queue", "mpsc", 'R', 'P'),
    ("r_rc", "ring", "", 'R', 'C'),
    ("r_cp", "ring", "", 'C', 'P'),
    ("r_pr", "ring", "", 'P', 'R'),
    ("r_cr", "ring", "", 'C', 'R'),
    ("r_pc", "ring", "", 'P', 'C'),
    ("r_rp", "ring", "", 'R', 'P'),
];

const CAPACITY: u64 = 1024;

fn matrix_schema_text() -> String {
    let mut s = MATRIX.to_owned();
    for (name, kind, policy, _, _) in CHANNELS {
        let _ = write!(
            s,
            "\n[[structures]]\nname = \"{name}\"\nkind = \"{kind}\"\ntype = \"Msg\"\ncapacity = {CAPACITY}\n"
        );
        if !policy.is_empty() {
            let _ = writeln!(s, "policy = \"{policy}\"");
        }
    }
    s
}

/// The Rust side of `Msg`, which must lay out exactly as the schema's.
#[derive(
    Clone, Copy, Debug, PartialEq, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout, zipc::ShmType,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Msg {
    seq: u64,
    src: u32,
    check: u32,
    value: f64,
    vec: [f32; 3],
    tag: i16,
    small: u8,
    _pad: u8,
}

/// Message `i` of channel `ch`; C and Python compute the same (see their sources).
fn msg(i: u64, ch: u32) -> Msg {
    Msg {
        seq: i,
        src: ch,
        check: (i.wrapping_mul(2_654_435_761).wrapping_add(u64::from(ch) * 97)) as u32,
        value: i as f64 * 0.5 + f64::from(ch),
        vec: [i as f32, -(i as f32), ch as f32],
        tag: ((i % 30_000) as i64 - 15_000) as i16,
        small: ((i * 7 + u64::from(ch)) % 251) as u8,
        _pad: 0,
    }
}

/// Generated files for the matrix, built once per test binary: the scratch directory (headers,
/// Python modules), the C program.
struct Matrix {
    dir: PathBuf,
    c_exe: PathBuf,
}

fn matrix_build() -> &'static Matrix {
    static BUILT: OnceLock<Matrix> = OnceLock::new();
    BUILT.get_or_init(|| {
        let text = matrix_schema_text();
        let arena = Arena::new();
        let schema = Schema::parse("matrix.toml", &text, &arena).unwrap_or_else(|d| panic!("{d}"));
        let fp = schema.layout.structures[0].elem.map(|t| zipc::layout::fingerprint(&t));
        assert_eq!(fp, Some(zipc::layout::fingerprint(&Msg::SHM_LAYOUT)), "the Rust Msg matches the schema's");
        let dir = scratch("matrix");
        write_generated(&schema, &dir);
        let c_exe = compile_c(&dir, "matrix", &c_matrix_program(), Link::Shared);
        std::fs::write(dir.join("matrix_peer.py"), PY_MATRIX).unwrap();
        Matrix { dir, c_exe }
    })
}

fn python() -> PathBuf {
    numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"))
}

/// The C side: one thread per flow, through the generated typed wrappers.
fn c_matrix_program() -> String {
    let mut o = String::from(
        r#"#include "matrix.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t N;
static zipc_segment *seg;
static volatile int failed = 0;

static Msg msg(uint64_t i, uint32_t ch) {
    Msg m;
    memset(&m, 0, sizeof m);
    m.seq = i;
    m.src = ch;
    m.check = (uint32_t)(i * UINT64_C(2654435761) + (uint64_t)ch * 97u);
    m.value = (double)i * 0.5 + (double)ch;
    m.vec[0] = (float)i;
    m.vec[1] = -(float)i;
    m.vec[2] = (float)ch;
    m.tag = (int16_t)((int64_t)(i % 30000) - 15000);
    m.small = (uint8_t)((i * 7 + ch) % 251);
    return m;
}

static int same(const Msg *a, const Msg *b) {
    return a->seq == b->seq && a->src == b->src && a->check == b->check && a->value == b->value
        && a->vec[0] == b->vec[0] && a->vec[1] == b->vec[1] && a->vec[2] == b->vec[2] && a->tag == b->tag
        && a->small == b->small && a->_pad == b->_pad;
}

static void fail(const char *what, zipc_status st) {
    fprintf(stderr, "%s: %s: %s\n", what, zipc_status_name(st), zipc_last_error());
    failed = 1;
}

#define T (INT64_C(60) * 1000000000)
#define B 256
"#,
    );
    let mut threads = Vec::new();
    for (ch, (name, kind, _, from, to)) in CHANNELS.iter().enumerate() {
        let (role_open, close, handle) = match (*kind, *from == 'C') {
            ("queue", true) => ("zipc_queue_open_producer", "zipc_producer_close", "zipc_producer"),
            ("queue", false) => ("zipc_queue_open_consumer", "zipc_consumer_close", "zipc_consumer"),
            (_, true) => ("zipc_ring_open_producer", "zipc_ring_producer_close", "zipc_ring_producer"),
            (_, false) => ("zipc_ring_open_consumer", "zipc_ring_consumer_close", "zipc_ring_consumer"),
        };
        let (handle_ty, obj_close) =
            if *kind == "queue" { ("zipc_queue", "zipc_queue_close") } else { ("zipc_ring", "zipc_ring_close") };
        if *from != 'C' && *to != 'C' {
            continue;
        }
        threads.push(format!("run_{name}"));
        let _ = writeln!(o, "static void *run_{name}(void *arg) {{");
        let _ = writeln!(o, "    {handle_ty} *s = NULL;\n    {handle} *h = NULL;\n    Msg buf[B];\n    uint64_t i = 0;\n    zipc_status st;\n    (void)arg;");
        let _ = writeln!(
            o,
            "    if ((st = matrix_{name}_open(seg, &s)) != ZIPC_OK) {{ fail(\"open {name}\", st); return NULL; }}"
        );
        let _ = writeln!(o, "    if ((st = {role_open}(s, &h)) != ZIPC_OK) {{ fail(\"role {name}\", st); {obj_close}(s); return NULL; }}");
        if *from == 'C' {
            let _ = writeln!(
                o,
                r#"    while (i < N && !failed) {{
        size_t n = N - i < B ? (size_t)(N - i) : B, k, sent = 0;
        for (k = 0; k < n; k++) buf[k] = msg(i + k, {ch}u);
        while (sent < n) {{
            size_t done = 0;
            st = matrix_{name}_push_bulk(h, buf + sent, n - sent, T, &done);
            if (st != ZIPC_OK) {{ fail("push {name}", st); break; }}
            sent += done;
        }}
        if (st != ZIPC_OK) break;
        i += n;
    }}"#
            );
        } else {
            let _ = writeln!(
                o,
                r#"    while (i < N && !failed) {{
        size_t n = 0, k;
        st = matrix_{name}_pop_bulk(h, buf, B, T, &n);
        if (st != ZIPC_OK) {{ fail("pop {name}", st); break; }}
        for (k = 0; k < n; k++, i++) {{
            Msg want = msg(i, {ch}u);
            if (!same(&buf[k], &want)) {{
                fprintf(stderr, "{name}: message %llu differs (seq %llu)\n", (unsigned long long)i, (unsigned long long)buf[k].seq);
                failed = 1;
                break;
            }}
        }}
    }}"#
            );
        }
        let _ = writeln!(o, "    {close}(h);\n    {obj_close}(s);\n    return NULL;\n}}\n");
    }
    o.push_str("int main(int argc, char **argv) {\n    const char *which = NULL;\n    zipc_status st;\n");
    let _ = writeln!(o, "    pthread_t t[{}];\n    int k;", threads.len());
    o.push_str("    if (argc != 3) return 64;\n    N = strtoull(argv[2], NULL, 10);\n");
    o.push_str("    st = matrix_segment_open(argv[1], &seg, &which);\n");
    o.push_str("    if (st != ZIPC_OK) { fprintf(stderr, \"open: %s (%s)\\n\", zipc_last_error(), which ? which : \"-\"); return 2; }\n");
    for (k, t) in threads.iter().enumerate() {
        let _ = writeln!(o, "    pthread_create(&t[{k}], NULL, {t}, NULL);");
    }
    let _ = writeln!(o, "    for (k = 0; k < {}; k++) pthread_join(t[k], NULL);", threads.len());
    o.push_str("    zipc_segment_close(seg);\n    if (!failed) printf(\"C ok\\n\");\n    return failed ? 1 : 0;\n}\n");
    o
}

/// The Python side: one thread per flow; batches are built and checked with numpy.
const PY_MATRIX: &str = r#"
import sys, threading
import numpy as np
import matrix as m
import zipc_runtime as z

seg = m.open(sys.argv[1])
N = int(sys.argv[2])
B = 1024
CHANNELS = [c.split(":") for c in sys.argv[3].split(",")]
failures = []

def batch(i0, n, ch):
    i = np.arange(i0, i0 + n, dtype=np.uint64)
    a = np.zeros(n, dtype=m.Msg)
    a["seq"] = i
    a["src"] = ch
    a["check"] = ((i * np.uint64(2654435761) + np.uint64(ch * 97)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    a["value"] = i.astype(np.float64) * 0.5 + ch
    f = i.astype(np.float32)
    a["vec"][:, 0] = f
    a["vec"][:, 1] = -f
    a["vec"][:, 2] = ch
    a["tag"] = ((i % np.uint64(30000)).astype(np.int64) - 15000).astype(np.int16)
    a["small"] = ((i * np.uint64(7) + np.uint64(ch)) % np.uint64(251)).astype(np.uint8)
    return a

def send(name, ch):
    with getattr(seg, name).producer() as p:
        i = 0
        while i < N:
            n = min(B, N - i)
            a = batch(i, n, ch)
            sent = 0
            while sent < n:
                sent += p.push_bulk(a[sent:], timeout=60)
            i += n

def receive(name, ch):
    with getattr(seg, name).consumer() as c:
        i = 0
        while i < N:
            a = c.pop_bulk(B, timeout=60)
            want = batch(i, len(a), ch)
            for field in m.Msg.names:
                if not np.array_equal(a[field], want[field]):
                    bad = int(np.argmax(np.any((a[field] != want[field]).reshape(len(a), -1), axis=1)))
                    raise AssertionError("%s: message %d, field %s: %r != %r" % (name, i + bad, field, a[bad], want[bad]))
            i += len(a)

def run(fn, name, ch):
    try:
        fn(name, ch)
    except BaseException as e:
        failures.append("%s: %s: %s" % (name, type(e).__name__, e))

threads = [threading.Thread(target=run, args=(send if d == "send" else receive, n, int(ch))) for n, ch, d in CHANNELS]
for t in threads:
    t.start()
for t in threads:
    t.join()
seg.close()
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print("Python ok")
"#;

fn send_queue<P: Policy>(seg: &Segment, name: &str, ch: u32, n: u64) {
    let q = Queue::<Msg, P>::open(seg, name).unwrap();
    let mut p = q.producer().unwrap();
    let mut buf = Vec::with_capacity(256);
    let mut i = 0;
    while i < n {
        buf.clear();
        buf.extend((i..n.min(i + 256)).map(|k| msg(k, ch)));
        let mut sent = 0;
        while sent < buf.len() {
            let k = p.push_bulk(&buf[sent..]).unwrap();
            if k == 0 {
                p.push(buf[sent], Some(Duration::from_secs(60))).unwrap();
                sent += 1;
            }
            sent += k;
        }
        i += buf.len() as u64;
    }
}

fn receive_queue<P: Policy>(seg: &Segment, name: &str, ch: u32, n: u64) {
    let q = Queue::<Msg, P>::open(seg, name).unwrap();
    let mut c = q.consumer().unwrap();
    for i in 0..n {
        let m = c.pop(Some(Duration::from_secs(60))).unwrap_or_else(|e| panic!("{name}: message {i}: {e}"));
        assert_eq!(m, msg(i, ch), "{name}: message {i}");
    }
    assert!(c.try_pop().unwrap().is_none(), "{name}: nothing more than was sent");
}

fn send_ring(seg: &Segment, name: &str, ch: u32, n: u64) {
    let r = Ring::<Msg>::open(seg, name).unwrap();
    let mut p = r.producer().unwrap();
    let mut i = 0;
    while i < n {
        let buf: Vec<Msg> = (i..n.min(i + 256)).map(|k| msg(k, ch)).collect();
        let mut sent = 0;
        while sent < buf.len() {
            sent += p.push_bulk(&buf[sent..], Some(Duration::from_secs(60))).unwrap();
        }
        i += buf.len() as u64;
    }
}

fn receive_ring(seg: &Segment, name: &str, ch: u32, n: u64) {
    let r = Ring::<Msg>::open(seg, name).unwrap();
    let mut c = r.consumer().unwrap();
    let mut buf = vec![msg(0, 0); 512];
    let mut i = 0;
    while i < n {
        let k = c.pop_bulk(&mut buf, Some(Duration::from_secs(60))).unwrap();
        for m in &buf[..k] {
            assert_eq!(*m, msg(i, ch), "{name}: message {i}");
            i += 1;
        }
    }
    assert_eq!((c.missed(), c.delivered()), (0, n), "{name}: lossless, exactly once");
}

fn create_matrix(name: &ShmName) -> Segment {
    let seg = Segment::create(name, 8 << 20).unwrap();
    for (s, kind, policy, _, _) in CHANNELS {
        match (kind, policy) {
            ("queue", "spsc") => drop(Queue::<Msg, Spsc>::create(&seg, s, CAPACITY).unwrap()),
            ("queue", "mpsc") => drop(Queue::<Msg, Mpsc>::create(&seg, s, CAPACITY).unwrap()),
            ("queue", _) => drop(Queue::<Msg, Mpmc>::create(&seg, s, CAPACITY).unwrap()),
            _ => drop(Ring::<Msg>::create(&seg, s, CAPACITY, zipc::RingMode::Lossless).unwrap()),
        }
    }
    seg
}

#[test]
fn three_languages_exchange_every_message_exactly_once_over_queues_and_rings() {
    let built = matrix_build();
    let py = python();
    let n = messages();
    let name = ShmName::new("matrix");
    let seg = create_matrix(&name);

    let flows = |lang: char| -> String {
        let mut v = Vec::new();
        for (ch, (s, _, _, from, to)) in CHANNELS.iter().enumerate() {
            if *from == lang {
                v.push(format!("{s}:{ch}:send"));
            } else if *to == lang {
                v.push(format!("{s}:{ch}:receive"));
            }
        }
        v.join(",")
    };
    // Everyone runs at once: C and Python as processes, Rust as threads of this one.
    let c = spawn(Command::new(&built.c_exe).arg(name.as_str()).arg(n.to_string()), "the C peer");
    let p = spawn(
        python_command(&py, &built.dir, &built.dir.join("matrix_peer.py"))
            .arg(name.as_str())
            .arg(n.to_string())
            .arg(flows('P')),
        "the Python peer",
    );
    std::thread::scope(|s| {
        for (ch, (st, kind, policy, from, to)) in CHANNELS.iter().enumerate() {
            let (seg, ch) = (&seg, ch as u32);
            match (*from == 'R', *to == 'R', *kind, *policy) {
                (true, _, "queue", "spsc") => s.spawn(move || send_queue::<Spsc>(seg, st, ch, n)),
                (true, _, "queue", "mpsc") => s.spawn(move || send_queue::<Mpsc>(seg, st, ch, n)),
                (true, _, "queue", _) => s.spawn(move || send_queue::<Mpmc>(seg, st, ch, n)),
                (true, _, _, _) => s.spawn(move || send_ring(seg, st, ch, n)),
                (_, true, "queue", "spsc") => s.spawn(move || receive_queue::<Spsc>(seg, st, ch, n)),
                (_, true, "queue", "mpsc") => s.spawn(move || receive_queue::<Mpsc>(seg, st, ch, n)),
                (_, true, "queue", _) => s.spawn(move || receive_queue::<Mpmc>(seg, st, ch, n)),
                (_, true, _, _) => s.spawn(move || receive_ring(seg, st, ch, n)),
                _ => continue,
            };
        }
    });
    assert_eq!(finish(c).trim(), "C ok");
    assert_eq!(finish(p).trim(), "Python ok");
    // Every queue is drained and every ring passed exactly n elements.
    for (s, kind, policy, _, _) in CHANNELS {
        match (kind, policy) {
            ("queue", "spsc") => assert_eq!(Queue::<Msg, Spsc>::open(&seg, s).unwrap().len(), 0, "{s}"),
            ("queue", "mpsc") => assert_eq!(Queue::<Msg, Mpsc>::open(&seg, s).unwrap().len(), 0, "{s}"),
            ("queue", _) => assert_eq!(Queue::<Msg, Mpmc>::open(&seg, s).unwrap().len(), 0, "{s}"),
            _ => {
                let r = Ring::<Msg>::open(&seg, s).unwrap();
                assert_eq!((r.total_written(), r.total_read(), r.total_missed()), (n, n, 0), "{s}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A semaphore and a barrier shared by three languages
// ---------------------------------------------------------------------------------------------

const SYNC: &str = r#"
# A semaphore and a barrier shared by a Rust, a C and a Python process.
[segment]
name = "/zipc_sync"
max_entries = 8

[[structures]]
name = "sem"
kind = "semaphore"
initial = 1
max = 1

[[structures]]
name = "bar"
kind = "barrier"
participants = 3

[[structures]]
name = "inside"
kind = "atomic"
type = "u32"
doc = "Holders of the semaphore right now: never more than 1."

[[structures]]
name = "violations"
kind = "atomic"
type = "u32"

[[structures]]
name = "leaders"
kind = "atomic"
type = "u32"

[[structures]]
name = "counter"
kind = "array"
type = "u64"
capacity = 1
doc = "Incremented without atomics, under the semaphore: no update may be lost."

[[structures]]
name = "progress"
kind = "array"
type = "u32"
capacity = 3
doc = "The barrier round each participant has reached."
"#;

const SEM_ROUNDS: u32 = 300;
const BAR_ROUNDS: u32 = 150;

/// What every participant does, written once per language. `me` is 0 (Rust), 1 (C), 2 (Python).
///
/// 1. meet at the barrier (generation 0), so that all three contend from the start;
/// 2. SEM_ROUNDS times: take the semaphore (a mutex: initial 1, max 1), count itself `inside`
///    (a second holder is a violation), increment `counter` non-atomically, leave, release;
/// 3. BAR_ROUNDS times: publish the round in `progress[me]`, wait at the barrier, check that
///    everyone has published this round (nobody passed early, nobody is ahead), count a
///    leader, wait again (generations 1 + 2g and 2 + 2g).
fn rust_sync_participant(seg: &Segment) {
    use zipc::{Array, Atomic, Barrier, Semaphore};
    let sem = Semaphore::open(seg, "sem").unwrap();
    let bar = Barrier::open(seg, "bar").unwrap();
    let inside = Atomic::<u32>::open(seg, "inside").unwrap();
    let violations = Atomic::<u32>::open(seg, "violations").unwrap();
    let leaders = Atomic::<u32>::open(seg, "leaders").unwrap();
    let counter = Array::<u64>::open(seg, "counter").unwrap();
    let progress = Array::<u32>::open(seg, "progress").unwrap();
    let t = Duration::from_secs(60);
    let count_leader = |r: zipc::BarrierWaitResult| {
        if r.is_leader() {
            leaders.fetch_add(1);
        }
        r.generation()
    };
    assert_eq!(count_leader(bar.wait_timeout(t).unwrap()), 0);
    for _ in 0..SEM_ROUNDS {
        let guard = sem.acquire_timeout(t).unwrap();
        if inside.fetch_add(1) != 0 {
            violations.fetch_add(1);
        }
        counter.set(0, counter.get(0).unwrap() + 1).unwrap();
        inside.fetch_sub(1);
        drop(guard);
    }
    for g in 0..BAR_ROUNDS {
        progress.set(0, g).unwrap();
        assert_eq!(count_leader(bar.wait_timeout(t).unwrap()), 1 + 2 * g);
        for k in 0..3 {
            assert_eq!(progress.get(k), Some(g), "round {g}: participant {k} is elsewhere");
        }
        assert_eq!(count_leader(bar.wait_timeout(t).unwrap()), 2 + 2 * g);
    }
}

fn c_sync_program() -> String {
    format!(
        r#"#include "sync.h"
#include <stdio.h>

#define T (INT64_C(60) * 1000000000)
#define CHECK(call) do {{ zipc_status st_ = (call); if (st_ != ZIPC_OK) {{ fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; }} }} while (0)

static int wait(zipc_barrier *bar, zipc_atomic *leaders, uint32_t want) {{
    int leader = 0;
    uint32_t gen = 0;
    CHECK(zipc_barrier_wait(bar, T, &leader, &gen));
    if (leader) CHECK(zipc_atomic_fetch_add(leaders, 1, NULL));
    if (gen != want) {{ fprintf(stderr, "generation %u, expected %u\n", gen, want); return 1; }}
    return 0;
}}

int main(int argc, char **argv) {{
    zipc_segment *seg;
    const char *which = NULL;
    zipc_semaphore *sem;
    zipc_barrier *bar;
    zipc_atomic *inside, *violations, *leaders;
    uint64_t *counter, len;
    uint32_t *progress, g, k, i;
    int64_t prev;
    if (argc != 2) return 64;
    CHECK(sync_segment_open(argv[1], &seg, &which));
    CHECK(sync_sem_open(seg, &sem));
    CHECK(sync_bar_open(seg, &bar));
    CHECK(sync_inside_open(seg, &inside));
    CHECK(sync_violations_open(seg, &violations));
    CHECK(sync_leaders_open(seg, &leaders));
    CHECK(sync_counter(seg, &counter, &len));
    CHECK(sync_progress(seg, &progress, &len));
    if (wait(bar, leaders, 0)) return 1;
    for (i = 0; i < {SEM_ROUNDS}u; i++) {{
        CHECK(zipc_semaphore_acquire(sem, T));
        CHECK(zipc_atomic_fetch_add(inside, 1, &prev));
        if (prev != 0) CHECK(zipc_atomic_fetch_add(violations, 1, NULL));
        counter[0] = counter[0] + 1;
        CHECK(zipc_atomic_fetch_sub(inside, 1, NULL));
        CHECK(zipc_semaphore_release(sem));
    }}
    for (g = 0; g < {BAR_ROUNDS}u; g++) {{
        __atomic_store_n(&progress[1], g, __ATOMIC_RELAXED);
        if (wait(bar, leaders, 1 + 2 * g)) return 1;
        for (k = 0; k < 3; k++)
            if (__atomic_load_n(&progress[k], __ATOMIC_RELAXED) != g) {{
                fprintf(stderr, "round %u: participant %u is elsewhere\n", g, k);
                return 1;
            }}
        if (wait(bar, leaders, 2 + 2 * g)) return 1;
    }}
    zipc_semaphore_close(sem);
    zipc_barrier_close(bar);
    zipc_atomic_close(inside);
    zipc_atomic_close(violations);
    zipc_atomic_close(leaders);
    zipc_segment_close(seg);
    printf("C ok\n");
    return 0;
}}
"#
    )
}

fn py_sync_script() -> String {
    format!(
        r#"
import sys
import sync

seg = sync.open(sys.argv[1])
T = 60.0

def wait(want):
    r = seg.bar.wait(timeout=T)
    if r.is_leader:
        seg.leaders.fetch_add(1)
    assert r.generation == want, "generation %d, expected %d" % (r.generation, want)

wait(0)
for _ in range({SEM_ROUNDS}):
    with seg.sem:
        if seg.inside.fetch_add(1) != 0:
            seg.violations.fetch_add(1)
        seg.counter[0] += 1
        seg.inside.fetch_sub(1)
for g in range({BAR_ROUNDS}):
    seg.progress[2] = g
    wait(1 + 2 * g)
    assert list(seg.progress) == [g, g, g], "round %d: %r" % (g, list(seg.progress))
    wait(2 + 2 * g)
seg.close()
print("Python ok")
"#
    )
}

#[test]
fn a_semaphore_and_a_barrier_behave_across_three_languages_as_in_rust_alone() {
    use zipc::{Array, Atomic, Barrier, Semaphore};
    let arena = Arena::new();
    let schema = Schema::parse("sync.toml", SYNC, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("sync");
    write_generated(&schema, &dir);
    let c_exe = compile_c(&dir, "sync_peer", &c_sync_program(), Link::Static);
    std::fs::write(dir.join("sync_peer.py"), py_sync_script()).unwrap();
    let py = python();

    let name = ShmName::new("sync3");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    Semaphore::create(&seg, "sem", 1, 1).unwrap();
    let bar = Barrier::create(&seg, "bar", 3).unwrap();
    Atomic::<u32>::create(&seg, "inside", 0).unwrap();
    let violations = Atomic::<u32>::create(&seg, "violations", 0).unwrap();
    let leaders = Atomic::<u32>::create(&seg, "leaders", 0).unwrap();
    let counter = Array::<u64>::create(&seg, "counter", 1).unwrap();
    Array::<u32>::create(&seg, "progress", 3).unwrap();

    let c = spawn(Command::new(&c_exe).arg(name.as_str()), "the C participant");
    let p = spawn(python_command(&py, &dir, &dir.join("sync_peer.py")).arg(name.as_str()), "the Python participant");
    rust_sync_participant(&seg);
    assert_eq!(finish(c).trim(), "C ok");
    assert_eq!(finish(p).trim(), "Python ok");

    assert_eq!(violations.load(), 0, "the semaphore never had two holders");
    assert_eq!(counter.get(0), Some(3 * u64::from(SEM_ROUNDS)), "no update was lost");
    assert_eq!(leaders.load(), 1 + 2 * BAR_ROUNDS, "exactly one leader per generation");
    assert_eq!((bar.generation(), bar.arrived()), (1 + 2 * BAR_ROUNDS, 0));
    assert_eq!(Semaphore::open(&seg, "sem").unwrap().count(), 1, "every permit returned");
}

// ---------------------------------------------------------------------------------------------
// Errors across the boundary, registration, the membarrier
// ---------------------------------------------------------------------------------------------

const ERRORS: &str = r#"
[segment]
name = "/zipc_errors"
max_entries = 4

[types.Msg]
fields = [
    { name = "seq", type = "u64" },
    { name = "src", type = "u32" },
    { name = "check", type = "u32" },
    { name = "value", type = "f64" },
    { name = "vec", type = "[f32; 3]" },
    { name = "tag", type = "i16" },
    { name = "small", type = "u8" },
    { name = "_pad", type = "u8" },
]

[[structures]]
name = "q"
kind = "queue"
type = "Msg"
capacity = 8
policy = "spsc"

[[structures]]
name = "go"
kind = "event"
manual_reset = true
"#;

/// Each peer prints one record per case, `case \x1f status \x1f message \x1e`, then waits for
/// the `go` event so that the test can see it in the process registry.
const RS: char = '\x1e';
const US: char = '\x1f';

fn c_errors_program() -> String {
    r#"#include "errors.h"
#include <stdio.h>

static void report(const char *what, zipc_status st) {
    printf("%s\x1f%s\x1f%s\x1e", what, zipc_status_name(st), st == ZIPC_OK ? "" : zipc_last_error());
}

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_queue *q = NULL;
    zipc_consumer *c = NULL;
    zipc_producer *p = NULL;
    zipc_event *go = NULL;
    const char *which = NULL;
    Msg m = {0};
    uint64_t small = 7;
    if (argc != 2) return 64;
    report("open", errors_segment_open(argv[1], &seg, &which));
    report("wrong_size", zipc_queue_open(seg, "q", sizeof(Msg) - 8, NULL, &q));
    report("missing", zipc_queue_open(seg, "nope", sizeof(Msg), ERRORS_Q_CANONICAL, &q));
    report("typed_open", errors_q_open(seg, &q));
    report("consumer", zipc_queue_open_consumer(q, &c));
    report("timeout", errors_q_pop(c, &m, 10 * 1000000));
    report("producer", zipc_queue_open_producer(q, &p));
    report("wrong_push", zipc_producer_try_push(p, &small, sizeof small));
    printf("fence_free\x1f%d\x1f\x1e", zipc_fence_free_fast_path());
    fflush(stdout);
    errors_go_open(seg, &go);
    report("go", zipc_event_wait(go, INT64_C(60) * 1000000000));
    zipc_producer_close(p);
    zipc_consumer_close(c);
    zipc_queue_close(q);
    zipc_event_close(go);
    zipc_segment_close(seg);
    return 0;
}
"#
    .to_owned()
}

const PY_ERRORS: &str = r#"
import sys
import numpy as np
import errors
import zipc_runtime as z

def report(what, fn):
    try:
        fn()
        print("%s\x1fZIPC_OK\x1f\x1e" % what, end="")
    except z.ZipcError as e:
        print("%s\x1f%s\x1f%s:%s\x1e" % (what, e.status_name, type(e).__name__, e), end="")

seg = errors.open(sys.argv[1])
decl = errors.STRUCTURES[0]
short = np.dtype({"names": ["seq", "src", "check", "value"], "formats": ["<u8", "<u4", "<u4", "<f8"]})
wrong = z.Structure("q", decl.kind, short, z.canonical(short), 0, decl.capacity, decl.flags, 0, 0)
report("wrong_size", lambda: z.Queue(seg, wrong))
missing = z.Structure("nope", decl.kind, decl.dtype, decl.canonical, decl.fingerprint, decl.capacity, decl.flags, 0, 0)
report("missing", lambda: z.Queue(seg, missing))
c = seg.q.consumer()
report("timeout", lambda: c.pop(timeout=0.01))
p = seg.q.producer()
report("wrong_push", lambda: z._send(type("H", (), {"dtype": np.dtype("<u8"), "_p": p._p})(), "zipc_producer_try_push", 7))
print("fence_free\x1f%d\x1f\x1e" % int(z.fence_free_fast_path()), end="")
sys.stdout.flush()
report("go", lambda: seg.go.wait(timeout=60))
"#;

fn records(out: &str) -> Vec<(String, String, String)> {
    out.split(RS)
        .filter(|r| !r.is_empty())
        .map(|r| {
            let f: Vec<&str> = r.splitn(3, US).collect();
            (f[0].to_owned(), f[1].to_owned(), f.get(2).copied().unwrap_or("").to_owned())
        })
        .collect()
}

#[test]
fn errors_cross_the_boundary_intact_and_peers_register_like_rust() {
    use zipc::dynamic::{DynQueue, ElementSpec};
    use zipc::{Event, ResetMode};
    let arena = Arena::new();
    let schema = Schema::parse("errors.toml", ERRORS, &arena).unwrap_or_else(|d| panic!("{d}"));
    let canonical = zipc::layout::canonical(&schema.layout.structures[0].elem.unwrap());
    let dir = scratch("errors");
    write_generated(&schema, &dir);
    let c_exe = compile_c(&dir, "errors_peer", &c_errors_program(), Link::Shared);
    std::fs::write(dir.join("errors_peer.py"), PY_ERRORS).unwrap();
    let py = python();

    let name = ShmName::new("errors");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    Queue::<Msg, Spsc>::create(&seg, "q", 8).unwrap();
    let go = Event::create(&seg, "go", ResetMode::Manual, false).unwrap();
    // This process opened a queue: it registered for the membarrier (if the kernel has it).
    let fence_free = zipc::queue::fence_free_fast_path();

    // The messages Rust gives for the same mistakes.
    let wrong_size = DynQueue::open(&seg, "q", ElementSpec::new(32)).unwrap_err().to_string();
    let short_layout = "{seq:u64@0,src:u32@8,check:u32@12,value:f64@16}#24";
    let py_wrong_size = DynQueue::open(&seg, "q", ElementSpec::with_layout(24, short_layout)).unwrap_err().to_string();
    let missing = DynQueue::open(&seg, "nope", ElementSpec::with_layout(40, &canonical)).unwrap_err().to_string();
    let timeout = Error::Timeout.to_string();
    let wrong_push = {
        let q = DynQueue::open(&seg, "q", ElementSpec::new(40)).unwrap();
        let mut p = q.producer().unwrap();
        p.try_push(&7u64.to_le_bytes()).unwrap_err().to_string()
    };
    assert!(wrong_size.contains("32-byte elements"), "{wrong_size}");
    assert!(py_wrong_size.contains(short_layout), "{py_wrong_size}");

    for (lang, mut cmd) in
        [("C", Command::new(&c_exe)), ("Python", python_command(&py, &dir, &dir.join("errors_peer.py")))]
    {
        go.reset();
        let peer = spawn(cmd.arg(name.as_str()), if lang == "C" { "the C peer" } else { "the Python peer" });
        let pid = peer.0.as_ref().unwrap().id();
        // The peer waits for `go` while attached: it is in the registry like a Rust process.
        let start = std::time::Instant::now();
        while !seg.attached_processes().iter().any(|a| a.process.pid == pid && a.alive) {
            assert!(start.elapsed() < LIMIT, "{lang}: process {pid} never appeared in the registry");
            std::thread::sleep(Duration::from_millis(5));
        }
        go.set();
        let out = finish(peer);
        let got = records(&out);
        let find = |case: &str| {
            got.iter().find(|r| r.0 == case).unwrap_or_else(|| panic!("{lang}: no record {case:?} in {out:?}")).clone()
        };
        let expect = |case: &str, status: &str, class: &str, message: &str| {
            let (_, st, msg) = find(case);
            assert_eq!(st, status, "{lang} {case}: {msg}");
            let msg = if lang == "Python" && !msg.is_empty() {
                let (cls, text) = msg.split_once(':').unwrap_or_else(|| panic!("{lang} {case}: {msg}"));
                assert_eq!(cls, class, "{lang} {case}: the exception class");
                text.to_owned()
            } else {
                msg
            };
            assert_eq!(msg, message, "{lang} {case}: the message is Rust's");
        };
        if lang == "C" {
            expect("wrong_size", "ZIPC_ERR_LAYOUT", "", &wrong_size);
        } else {
            expect("wrong_size", "ZIPC_ERR_LAYOUT", "MismatchError", &py_wrong_size);
        }
        expect("missing", "ZIPC_ERR_NOT_FOUND", "NotFoundError", &missing);
        expect("timeout", "ZIPC_ERR_TIMEOUT", "ZipcTimeoutError", &timeout);
        expect("wrong_push", "ZIPC_ERR_INVALID_ARGUMENT", "InvalidArgumentError", &wrong_push);
        expect("go", "ZIPC_OK", "", "");
        assert_eq!(
            find("fence_free").1,
            if fence_free { "1" } else { "0" },
            "{lang} registers for the membarrier like Rust"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Every other kind from C and Python: pools, stacks, endpoints, overwrite rings, latches, mutexes,
// events, atomics that are waited on
// ---------------------------------------------------------------------------------------------

const KINDS: &str = r#"
[segment]
name = "/zipc_kinds"
max_entries = 12

[types.Obj]
fields = [
    { name = "id", type = "u64" },
    { name = "vals", type = "[f32; 4]" },
]

[types.H]
doc = "A pool handle, as plain data."
fields = [
    { name = "index", type = "u32" },
    { name = "generation", type = "u32" },
]

[[structures]]
name = "objs"
kind = "pool"
type = "Obj"
capacity = 4

[[structures]]
name = "handles"
kind = "queue"
type = "H"
capacity = 4
policy = "mpmc"

[[structures]]
name = "ep"
kind = "endpoint"
type = "u64"
capacity = 4

[[structures]]
name = "log"
kind = "ring"
type = "u32"
capacity = 4
overwrite = true

[[structures]]
name = "done"
kind = "latch"
count = 2

[[structures]]
name = "m"
kind = "mutex"

[[structures]]
name = "ev"
kind = "event"

[[structures]]
name = "flag"
kind = "atomic"
type = "u32"

[[structures]]
name = "undo"
kind = "stack"
type = "Obj"
capacity = 3
"#;

#[derive(
    Clone, Copy, Debug, PartialEq, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout, zipc::ShmType,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Obj {
    id: u64,
    vals: [f32; 4],
}

/// Each peer, given a base value `b`: acquires a pool object, writes `Obj { id: b, vals: [b, b+1,
/// b+2, b+3] }` and sends its handle through `handles`; pops the stack `undo` twice (the newest,
/// `b + 1`, first; then `b`) and pushes `b + 7` and `b + 8`, the last blocking with a timeout; receives `x` on endpoint side B and
/// answers `x + 1`; pushes `b .. b+10` into the overwrite ring `log` (cap 4) in one batch; locks
/// and unlocks the mutex (no owner died); consumes the auto-reset event `ev` (set by Rust);
/// counts the latch down once; stores `b` into `flag` and wakes its waiters.
fn c_kinds_program() -> String {
    r#"#include "kinds.h"
#include <stdio.h>
#include <stdlib.h>

#define T (INT64_C(60) * 1000000000)
#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_pool *objs;
    zipc_queue *handles;
    zipc_producer *tx;
    zipc_endpoint *ep;
    zipc_endpoint_side *b;
    zipc_ring *log;
    zipc_ring_producer *lp;
    zipc_latch *done;
    zipc_mutex *m;
    zipc_event *ev;
    zipc_atomic *flag;
    zipc_stack *undo;
    zipc_handle h;
    Obj o;
    H sent;
    uint64_t x, base;
    uint32_t vals[10], i, remaining;
    size_t n;
    int died = -1;
    if (argc != 3) return 64;
    base = strtoull(argv[2], NULL, 10);
    CHECK(kinds_segment_open(argv[1], &seg, NULL));
    CHECK(kinds_objs_open(seg, &objs));
    CHECK(zipc_pool_acquire(objs, T, &h));
    o.id = base;
    for (i = 0; i < 4; i++) o.vals[i] = (float)(base + i);
    CHECK(kinds_objs_write(objs, h, &o));
    CHECK(kinds_handles_open(seg, &handles));
    CHECK(zipc_queue_open_producer(handles, &tx));
    sent.index = h.index;
    sent.generation = h.generation;
    CHECK(kinds_handles_push(tx, &sent, T));
    CHECK(kinds_undo_open(seg, &undo));
    if (zipc_stack_capacity(undo) != 3 || zipc_stack_len(undo) != 2) { fprintf(stderr, "stack: capacity or len\n"); return 1; }
    CHECK(kinds_undo_try_pop(undo, &o));
    if (o.id != base + 1 || o.vals[3] != (float)(base + 4)) { fprintf(stderr, "stack: newest first, got %llu\n", (unsigned long long)o.id); return 1; }
    CHECK(kinds_undo_pop(undo, &o, T));
    if (o.id != base) { fprintf(stderr, "stack: then %llu\n", (unsigned long long)o.id); return 1; }
    if (kinds_undo_try_pop(undo, &o) != ZIPC_AGAIN) { fprintf(stderr, "stack: not empty\n"); return 1; }
    o.id = base + 7;
    CHECK(kinds_undo_try_push(undo, &o));
    o.id = base + 8;
    CHECK(kinds_undo_push(undo, &o, T));
    zipc_stack_close(undo);
    CHECK(kinds_ep_open(seg, &ep));
    CHECK(zipc_endpoint_open_side(ep, ZIPC_SIDE_B, &b));
    CHECK(kinds_ep_recv(b, &x, T));
    x += 1;
    CHECK(kinds_ep_send(b, &x, T));
    CHECK(kinds_log_open(seg, &log));
    CHECK(zipc_ring_open_producer(log, &lp));
    for (i = 0; i < 10; i++) vals[i] = (uint32_t)base + i;
    CHECK(kinds_log_push_bulk(lp, vals, 10, 0, &n));
    if (n != 10) { fprintf(stderr, "overwrite ring took %zu of 10\n", n); return 1; }
    CHECK(kinds_m_open(seg, &m));
    CHECK(zipc_mutex_lock(m, T, &died));
    if (died != 0) { fprintf(stderr, "owner died?\n"); return 1; }
    CHECK(zipc_mutex_unlock(m));
    CHECK(kinds_ev_open(seg, &ev));
    CHECK(zipc_event_wait(ev, T));
    if (zipc_event_try_wait(ev) != ZIPC_AGAIN) { fprintf(stderr, "auto-reset event still set\n"); return 1; }
    CHECK(kinds_done_open(seg, &done));
    CHECK(zipc_latch_count_down(done, 1, &remaining));
    CHECK(kinds_flag_open(seg, &flag));
    CHECK(zipc_atomic_store(flag, (int64_t)base));
    CHECK(zipc_atomic_wake(flag, 1));
    zipc_ring_producer_close(lp);
    zipc_side_close(b);
    zipc_producer_close(tx);
    zipc_pool_close(objs);
    zipc_queue_close(handles);
    zipc_endpoint_close(ep);
    zipc_ring_close(log);
    zipc_latch_close(done);
    zipc_mutex_close(m);
    zipc_event_close(ev);
    zipc_atomic_close(flag);
    zipc_segment_close(seg);
    printf("C ok %u\n", remaining);
    return 0;
}
"#
    .to_owned()
}

const PY_KINDS: &str = r#"
import sys
import numpy as np
import kinds

seg = kinds.open(sys.argv[1])
base = int(sys.argv[2])
T = 60.0
h = seg.objs.acquire(timeout=T)
seg.objs.write(h, (base, [base, base + 1, base + 2, base + 3]))
assert seg.objs.read(h)["id"] == base
with seg.handles.producer() as tx:
    tx.push((h.index, h.generation), timeout=T)
assert seg.undo.capacity == 3 and len(seg.undo) == 2
top = seg.undo.try_pop()
assert top["id"] == base + 1 and list(top["vals"]) == [base + 1, base + 2, base + 3, base + 4], top
assert seg.undo.pop(timeout=T)["id"] == base
assert seg.undo.try_pop() is None
assert seg.undo.try_push((base + 7, [0, 0, 0, 0])) is True
seg.undo.push((base + 8, [0, 0, 0, 0]), timeout=T)
assert seg.undo.reclaim_dead() == 0
with seg.ep.side("B") as b:
    x = b.recv(timeout=T)
    b.send(x + 1, timeout=T)
with seg.log.producer() as lp:
    assert lp.push_bulk(np.arange(base, base + 10, dtype=np.uint32)) == 10
    assert list(seg.log.get_last_n(2)) == [base + 8, base + 9]
assert seg.m.lock(timeout=T) is False
seg.m.unlock()
seg.ev.wait(timeout=T)
assert seg.ev.try_wait() is False, "auto-reset: consumed"
remaining = seg.done.count_down()
seg.flag.store(base)
seg.flag.wake()
seg.close()
# A structure outlives the segment object it came from (which is collected at once here).
log = kinds.open(sys.argv[1]).log
assert list(log.get_last_n(1)) == [base + 9]
print("Python ok %d" % remaining)
"#;

#[test]
fn c_and_python_use_pools_stacks_endpoints_rings_latches_mutexes_events_and_atomics() {
    use zipc::{Atomic, Endpoint, Event, Handle, Latch, Mutex, Pool, ResetMode, RingMode, Side, Stack};
    let arena = Arena::new();
    let schema = Schema::parse("kinds.toml", KINDS, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("kinds");
    write_generated(&schema, &dir);
    let c_exe = compile_c(&dir, "kinds_peer", &c_kinds_program(), Link::Shared);
    std::fs::write(dir.join("kinds_peer.py"), PY_KINDS).unwrap();
    let py = python();

    let name = ShmName::new("kinds");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    let objs = Pool::<Obj>::create(&seg, "objs", 4).unwrap();
    let handles = Queue::<Handle, Mpmc>::create(&seg, "handles", 4).unwrap();
    let ep = Endpoint::<u64>::create(&seg, "ep", 4).unwrap();
    let log = Ring::<u32>::create(&seg, "log", 4, RingMode::Overwrite).unwrap();
    let done = Latch::create(&seg, "done", 2).unwrap();
    let m = Mutex::create(&seg, "m").unwrap();
    let ev = Event::create(&seg, "ev", ResetMode::Auto, false).unwrap();
    let flag = Atomic::<u32>::create(&seg, "flag", 0).unwrap();
    let undo = Stack::<Obj>::create(&seg, "undo", 3).unwrap();
    let mut a = ep.side(Side::A).unwrap();
    let obj = |id: u32| {
        let b = id as f32;
        Obj { id: u64::from(id), vals: [b, b + 1.0, b + 2.0, b + 3.0] }
    };

    for (lang, base, remaining) in [("C", 100u32, 1), ("Python", 200, 0)] {
        a.send(u64::from(base) * 10, None).unwrap();
        assert!(undo.try_push(obj(base)).unwrap() && undo.try_push(obj(base + 1)).unwrap());
        ev.set();
        let mut cmd =
            if lang == "C" { Command::new(&c_exe) } else { python_command(&py, &dir, &dir.join("kinds_peer.py")) };
        let mut peer = spawn(
            cmd.arg(name.as_str()).arg(base.to_string()),
            if lang == "C" { "the C peer" } else { "the Python peer" },
        );
        // The peer stores `base` into `flag` last and wakes waiters: wait for it on the futex (in
        // slices, so that a peer that failed early is reported at once by `finish`).
        let start = std::time::Instant::now();
        while flag.load() != base && peer.0.as_mut().unwrap().try_wait().unwrap().is_none() {
            assert!(start.elapsed() < LIMIT, "{lang} never stored the flag");
            match flag.wait(flag.load(), Some(Duration::from_secs(1))) {
                Ok(()) | Err(Error::Timeout) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(finish(peer).trim(), format!("{lang} ok {remaining}"));

        let h = handles.try_pop().unwrap().expect("the peer sent a pool handle");
        let b = base as f32;
        assert_eq!(objs.read(h).unwrap(), Obj { id: u64::from(base), vals: [b, b + 1.0, b + 2.0, b + 3.0] }, "{lang}");
        objs.release(h).unwrap();
        assert_eq!(a.recv(Some(LIMIT)).unwrap(), u64::from(base) * 10 + 1, "{lang}: endpoint answer");
        let mut last = [0u32; 4];
        assert_eq!(log.get_last_n(4, &mut last), 4);
        assert_eq!(last, [base + 6, base + 7, base + 8, base + 9], "{lang}: the ring kept the newest");
        assert!(!ev.is_set(), "{lang} consumed the event");
        let popped = [undo.try_pop().unwrap().map(|o| o.id), undo.try_pop().unwrap().map(|o| o.id)];
        assert_eq!(popped, [Some(u64::from(base) + 8), Some(u64::from(base) + 7)], "{lang}'s pushes, newest first");
        assert!(undo.is_empty());
        assert_eq!(done.count(), remaining, "{lang} counted the latch down");
        assert!(!m.is_locked() && m.is_recoverable(), "{lang} unlocked the mutex");
    }
    assert!(done.try_wait(), "both peers counted down");
    assert_eq!(objs.num_allocated(), 0);
}

/// The Python runtime finds libzipc through `ZIPC_LIB` (a file or a directory) or beside the
/// module, and when it cannot, says what to set.
#[test]
fn python_finds_libzipc_or_says_what_to_set() {
    let arena = Arena::new();
    let schema = Schema::parse("kinds.toml", KINDS, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("libfind");
    write_generated(&schema, &dir);
    let py = python();
    let name = ShmName::new("libfind");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    // Only the latch is needed by the script; the segment check wants every structure, so open
    // the latch by hand through the runtime.
    zipc::Latch::create(&seg, "done", 2).unwrap();
    let script = dir.join("find.py");
    std::fs::write(
        &script,
        "import sys, kinds, zipc_runtime as z\ntry:\n    s = z.Segment(sys.argv[1])\n    l = z.Latch(s, kinds.STRUCTURES[4])\n    print('count', l.count)\nexcept z.LibraryNotFoundError as e:\n    print('notfound', e)\n",
    )
    .unwrap();
    let lib = zipc_tests::native::libzipc_dir();
    let run_with = |env: Option<&Path>| {
        let mut c = Command::new(&py);
        c.arg(&script)
            .arg(name.as_str())
            .env("PYTHONPATH", &dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("ZIPC_LIB")
            .env_remove("LD_LIBRARY_PATH"); // cargo's, which holds target/*/deps
        if let Some(p) = env {
            c.env("ZIPC_LIB", p);
        }
        let out = zipc_tests::native::run(&mut c, "python");
        check(&out, "python");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(run_with(Some(&lib.join("libzipc.so"))), "count 2", "ZIPC_LIB naming the file");
    assert_eq!(run_with(Some(&lib)), "count 2", "ZIPC_LIB naming its directory");
    let missing = run_with(Some(&dir.join("nowhere.so")));
    assert!(missing.starts_with("notfound"), "{missing}");
    for hint in ["ZIPC_LIB", "cargo build --release -p libzipc", "beside zipc_runtime.py", "nowhere.so (no such file)"]
    {
        assert!(missing.contains(hint), "the message says {hint:?}: {missing}");
    }
    std::fs::copy(lib.join("libzipc.so"), dir.join("libzipc.so")).unwrap();
    assert_eq!(run_with(None), "count 2", "libzipc.so beside zipc_runtime.py");
    let _ = std::fs::remove_dir_all(&dir);
}

const RECOVER: &str = r#"
[segment]
max_entries = 8
max_processes = 8

[[structures]]
name = "q"
kind = "queue"
policy = "mpmc"
type = "u64"
capacity = 8

[[structures]]
name = "p"
kind = "pool"
type = "u64"
capacity = 4
"#;

/// The state a dead process leaves behind, built in `seg` (see `recovery.rs`): the queue holds 5,
/// a position a killed producer claimed and never wrote, then 7; two pool objects belong to a
/// killed process.
fn leave_dead_state(name: &ShmName, seg: &Segment, q: &Queue<u64, Mpmc>, p: &zipc::Pool<u64>) {
    use zipc::lane::{self, op};
    use zipc::table::{self, entry};
    let dead = {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        (u64::from(pid) << 40) | 1
    };
    let word = |off: u64| u64::from_le_bytes(zipc_tests::peek(name, off, 8).try_into().unwrap());
    let put = |off: u64, v: u64| zipc_tests::poke(name, off, &v.to_le_bytes());
    q.push(5, None).unwrap();
    let tail_at = q.offset() + zipc::queue::header::TAIL;
    let first = word(tail_at);
    let desc = word(table::entry_offset(0) + entry::OFFSET);
    let lanes = desc + zipc::description::lanes_offset(8, 8);
    let free = (0..lane::lanes_for(8)).map(|i| lanes + lane::LANE_SIZE * i as u64).find(|&l| word(l) == 0).unwrap();
    put(free + lane::field::POS, first);
    put(free + lane::field::COUNT, 1);
    put(free + lane::field::OP, q.offset() | op::PUSH | op::CLAIMED);
    put(free + lane::field::OWNER, dead);
    put(tail_at, first + 1);
    q.push(7, None).unwrap();
    for _ in 0..2 {
        let h = p.try_acquire().unwrap().unwrap();
        put(p.offset() + zipc::pool::field::SLOTS + zipc::pool::SLOT_SIZE * h.index as u64 + 8, dead);
    }
    assert_eq!(seg.lock_recoveries(), 0);
}

fn c_recover_program() -> String {
    r#"#include "recover.h"
#include <stdio.h>

#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_queue *q;
    zipc_consumer *rx;
    zipc_pool *p;
    uint64_t got[2], v, ops = 0, lost = 0, reclaimed;
    int n = 0, tries;
    if (argc != 2) return 64;
    CHECK(recover_segment_open(argv[1], &seg, NULL));
    CHECK(recover_p_open(seg, &p));
    reclaimed = zipc_pool_reclaim_dead(p);
    CHECK(recover_q_open(seg, &q));
    CHECK(zipc_queue_open_consumer(q, &rx));
    for (tries = 0; tries < 100000 && n < 2; tries++)
        if (zipc_consumer_try_pop(rx, &v, sizeof v) == ZIPC_OK) got[n++] = v;
    if (n != 2) { fprintf(stderr, "popped %d\n", n); return 1; }
    CHECK(zipc_segment_recover_dead(seg, &ops, &lost));
    printf("C %llu %llu lost %llu; reclaimed %llu, allocated %llu; dead operations %llu lost %llu\n",
           (unsigned long long)got[0], (unsigned long long)got[1], (unsigned long long)zipc_queue_lost(q),
           (unsigned long long)reclaimed, (unsigned long long)zipc_pool_allocated(p),
           (unsigned long long)ops, (unsigned long long)lost);
    zipc_consumer_close(rx);
    zipc_queue_close(q);
    zipc_pool_close(p);
    zipc_segment_close(seg);
    return 0;
}
"#
    .to_owned()
}

const PY_RECOVER: &str = r#"
import sys
import recover

seg = recover.open(sys.argv[1])
reclaimed = seg.p.reclaim_dead()
rx = seg.q.consumer()
got = []
for _ in range(100000):
    v = rx.try_pop()
    if v is not None:
        got.append(int(v))
        if len(got) == 2:
            break
ops, lost = seg.recover_dead()
print("Python %d %d lost %d; reclaimed %d, allocated %d; dead operations %d lost %d"
      % (got[0], got[1], seg.q.lost, reclaimed, seg.p.allocated, ops, lost))
"#;

/// C and Python processes recover from dead peers like Rust ones: they pass a dead producer's
/// claimed position (counted lost), reclaim a dead process's pool objects, and settle and report
/// dead lanes.
#[test]
fn c_and_python_recover_from_dead_processes() {
    let arena = Arena::new();
    let schema = Schema::parse("recover.toml", RECOVER, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("recover");
    write_generated(&schema, &dir);
    let c_exe = compile_c(&dir, "recover_peer", &c_recover_program(), Link::Shared);
    std::fs::write(dir.join("recover_peer.py"), PY_RECOVER).unwrap();
    let py = python();
    for lang in ["C", "Python"] {
        let name = ShmName::new("recover");
        let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
        let q = Queue::<u64, Mpmc>::create(&seg, "q", 8).unwrap();
        let p = zipc::Pool::<u64>::create(&seg, "p", 4).unwrap();
        leave_dead_state(&name, &seg, &q, &p);
        let mut cmd =
            if lang == "C" { Command::new(&c_exe) } else { python_command(&py, &dir, &dir.join("recover_peer.py")) };
        let peer = spawn(cmd.arg(name.as_str()), "the recovering peer");
        assert_eq!(
            finish(peer).trim(),
            format!("{lang} 5 7 lost 1; reclaimed 2, allocated 0; dead operations 1 lost 1"),
            "{lang}"
        );
        assert_eq!((q.lost(), p.num_allocated()), (1, 0), "{lang}: seen from Rust too");
    }
}
