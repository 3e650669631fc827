//! Topics across languages, through libzipc and the code zipc-schema generates: a Rust publisher
//! and a C and a Python subscriber process on one segment.
//!
//! * lossless (`frames`): each subscriber receives every one of the samples exactly once, in
//!   order, intact — alternately read in place (the C typed `receive` wrapper, Python's
//!   `receive_view`) and copied;
//! * lossy (`ticks`): published without waiting while the subscribers are busy with `frames`;
//!   each subscriber's received + missed equals what was published, and every sample it got is
//!   intact and newer than the one before;
//! * the other way: C and Python publish through loans written in place (`from_c`, `from_py`) to
//!   a Rust subscriber, which checks every sample; a second subscriber on those topics of one is
//!   refused (`ZIPC_ERR_SUBSCRIBERS_FULL`, `SubscribersFullError`).
//!
//! `ZIPC_SOAK=1` publishes 20 times more.

use std::time::{Duration, Instant};

use zipc::{Lossless, Lossy, Topic};
use zipc_schema::{Arena, Schema};
use zipc_tests::native::{compile_c, finish, python_command, scratch, spawn, write_generated, Link};
use zipc_tests::{numpy_python, ShmName};

const LIMIT: Duration = Duration::from_secs(240);

fn samples() -> u64 {
    if std::env::var_os("ZIPC_SOAK").is_some() {
        2_000_000
    } else {
        100_000
    }
}

/// Samples each of C and Python publishes back to Rust.
const BACK: u64 = 10_000;

const SCHEMA: &str = r#"
[segment]
name = "/zipc_topics"
max_entries = 8

[types.Frame]
doc = "A sample: every field is derived from `seq`, so a torn or misplaced one shows."
fields = [
    { name = "seq", type = "u64" },
    { name = "check", type = "u64" },
    { name = "words", type = "[u32; 4]" },
]

[[structures]]
name = "frames"
kind = "topic"
type = "Frame"
capacity = 64
max_subscribers = 4
history = 0

[[structures]]
name = "ticks"
kind = "topic"
mode = "lossy"
type = "Frame"
capacity = 16
max_subscribers = 4
history = 0

[[structures]]
name = "from_c"
kind = "topic"
type = "Frame"
capacity = 8
max_subscribers = 1
history = 0

[[structures]]
name = "from_py"
kind = "topic"
type = "Frame"
capacity = 8
max_subscribers = 1
history = 0
"#;

#[derive(
    Clone, Copy, Debug, PartialEq, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout, zipc::ShmType,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Frame {
    seq: u64,
    check: u64,
    words: [u32; 4],
}

/// Sample `i`; C and Python compute the same (see their sources).
fn frame(i: u64) -> Frame {
    Frame {
        seq: i,
        check: i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        words: [i as u32, ((i >> 32) as u32) ^ 0xA5A5_A5A5, i.wrapping_mul(3) as u32, !(i as u32)],
    }
}

const C_PEER: &str = r#"#include "topics.h"
#include <stdio.h>
#include <stdlib.h>

#define T (INT64_C(240) * 1000000000)
#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)

static Frame frame(uint64_t i) {
    Frame f;
    f.seq = i;
    f.check = i * UINT64_C(0x9E3779B97F4A7C15);
    f.words[0] = (uint32_t)i;
    f.words[1] = (uint32_t)(i >> 32) ^ UINT32_C(0xA5A5A5A5);
    f.words[2] = (uint32_t)(i * 3);
    f.words[3] = ~(uint32_t)i;
    return f;
}

static int same(const Frame *a, const Frame *b) {
    return a->seq == b->seq && a->check == b->check && a->words[0] == b->words[0] && a->words[1] == b->words[1] &&
           a->words[2] == b->words[2] && a->words[3] == b->words[3];
}

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_topic *frames, *ticks, *back;
    zipc_topic_subscriber *fs, *ts;
    zipc_topic_publisher *bp;
    const Frame *in_place;
    Frame *loan, copy, want;
    uint64_t n, back_n, i, last = 0;
    int any = 0;
    if (argc != 4) return 64;
    n = strtoull(argv[2], NULL, 10);
    back_n = strtoull(argv[3], NULL, 10);
    CHECK(topics_segment_open(argv[1], &seg, NULL));
    CHECK(topics_frames_open(seg, &frames));
    CHECK(topics_ticks_open(seg, &ticks));
    CHECK(topics_from_c_open(seg, &back));
    CHECK(zipc_topic_subscribe(frames, &fs));
    CHECK(zipc_topic_open_publisher(back, &bp));
    if (zipc_topic_subscribe(back, &ts) != ZIPC_ERR_SUBSCRIBERS_FULL) { fprintf(stderr, "a second subscriber joined a topic of one\n"); return 1; }
    CHECK(zipc_topic_subscribe(ticks, &ts));

    /* Back to Rust: loans written in place. */
    for (i = 0; i < back_n; i++) {
        CHECK(topics_from_c_loan(bp, T, &loan));
        *loan = frame(i);
        CHECK(zipc_topic_send(bp));
    }

    /* Lossless: every sample, in order; even ones in place, odd ones copied. */
    for (i = 0; i < n; i++) {
        want = frame(i);
        if (i % 2 == 0) {
            CHECK(topics_frames_receive(fs, T, &in_place));
            if (!same(in_place, &want)) { fprintf(stderr, "frames: sample %llu torn or misplaced (seq %llu)\n", (unsigned long long)i, (unsigned long long)in_place->seq); return 1; }
            CHECK(zipc_topic_release(fs));
        } else {
            CHECK(topics_frames_receive_copy(fs, &copy, T));
            if (!same(&copy, &want)) { fprintf(stderr, "frames: copy %llu torn or misplaced (seq %llu)\n", (unsigned long long)i, (unsigned long long)copy.seq); return 1; }
        }
    }
    if (topics_frames_try_receive_copy(fs, &copy) != ZIPC_AGAIN) { fprintf(stderr, "frames: a sample past the last\n"); return 1; }
    if (zipc_topic_received(fs) != n) { fprintf(stderr, "frames: received %llu\n", (unsigned long long)zipc_topic_received(fs)); return 1; }

    /* Lossy: newer and intact every time, up to the last one published. */
    do {
        CHECK(topics_ticks_receive_copy(ts, &copy, T));
        want = frame(copy.seq);
        if (!same(&copy, &want)) { fprintf(stderr, "ticks: sample %llu torn\n", (unsigned long long)copy.seq); return 1; }
        if (any && copy.seq <= last) { fprintf(stderr, "ticks: %llu after %llu\n", (unsigned long long)copy.seq, (unsigned long long)last); return 1; }
        last = copy.seq;
        any = 1;
    } while (last + 1 < n);
    printf("C ok %llu %llu\n", (unsigned long long)zipc_topic_received(ts), (unsigned long long)zipc_topic_missed(ts));
    zipc_topic_publisher_close(bp);
    zipc_topic_subscriber_close(ts);
    zipc_topic_subscriber_close(fs);
    zipc_topic_close(back);
    zipc_topic_close(ticks);
    zipc_topic_close(frames);
    zipc_segment_close(seg);
    return 0;
}
"#;

const PY_PEER: &str = r#"
import sys
import numpy as np
import topics
import zipc_runtime

T = 240.0
seg = topics.open(sys.argv[1])
n, back_n = int(sys.argv[2]), int(sys.argv[3])
M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


def frame(i):
    return (i, (i * 0x9E3779B97F4A7C15) & M64,
            [i & M32, ((i >> 32) & M32) ^ 0xA5A5A5A5, (i * 3) & M32, ~i & M32])


def check(got, i):
    want = np.array(frame(i), dtype=topics.Frame)[()]
    assert got.tobytes() == want.tobytes(), "sample %d torn or misplaced: %r" % (i, got)


try:
    seg.from_py.subscribe()
    raise AssertionError("a second subscriber joined a topic of one")
except zipc_runtime.SubscribersFullError as e:
    assert "1" in str(e), str(e)
fs = seg.frames.subscribe()
ts = seg.ticks.subscribe()
with seg.from_py.publisher() as bp:
    for i in range(back_n):
        with bp.loan(timeout=T) as s:
            s.array[0] = frame(i)

for i in range(n):
    if i % 2 == 0:
        with fs.receive_view(timeout=T) as s:
            assert not s.array.flags.writeable, "a received sample is read-only"
            check(s.array[0], i)
    else:
        check(fs.receive(timeout=T), i)
assert fs.try_receive() is None, "a sample past the last"
assert fs.received == n

last = None
while last is None or last + 1 < n:
    s = ts.receive(timeout=T)
    seq = int(s["seq"])
    check(s, seq)
    assert last is None or seq > last, "%d after %d" % (seq, last)
    last = seq
print("Python ok %d %d" % (ts.received, ts.missed))
fs.close()
ts.close()
seg.close()
"#;

/// Reads `BACK` samples published by a peer on `topic`, each checked.
fn receive_back(topic: &Topic<Frame, Lossless>, lang: &str) -> std::thread::JoinHandle<()> {
    let mut sub = topic.subscriber().unwrap();
    let lang = lang.to_owned();
    std::thread::spawn(move || {
        for i in 0..BACK {
            let s = sub.receive(Some(LIMIT)).unwrap_or_else(|e| panic!("{lang}: sample {i}: {e}"));
            assert_eq!(*s, frame(i), "{lang}: sample {i} torn or misplaced");
        }
        assert!(sub.try_receive_copy().is_none(), "{lang}: a sample past the last");
    })
}

#[test]
fn c_and_python_subscribers_receive_every_sample_from_a_rust_publisher_and_publish_back() {
    let arena = Arena::new();
    let schema = Schema::parse("topics.toml", SCHEMA, &arena).unwrap_or_else(|d| panic!("{d}"));
    let fp = schema.layout.structures[0].elem.map(|t| zipc::layout::fingerprint(&t));
    assert_eq!(fp, Some(zipc::layout::fingerprint(&<Frame as zipc::ShmType>::SHM_LAYOUT)), "Frame matches the schema");
    let dir = scratch("topics");
    write_generated(&schema, &dir);
    let c_exe = compile_c(&dir, "topics_peer", C_PEER, Link::Shared);
    std::fs::write(dir.join("topics_peer.py"), PY_PEER).unwrap();
    let py = numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"));

    let name = ShmName::new("topics");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    let frames = Topic::<Frame, Lossless>::create(&seg, "frames", 64, 4, 0).unwrap();
    let ticks = Topic::<Frame, Lossy>::create(&seg, "ticks", 16, 4, 0).unwrap();
    let from_c = Topic::<Frame, Lossless>::create(&seg, "from_c", 8, 1, 0).unwrap();
    let from_py = Topic::<Frame, Lossless>::create(&seg, "from_py", 8, 1, 0).unwrap();
    let back = [receive_back(&from_c, "C"), receive_back(&from_py, "Python")];
    let mut frames_tx = frames.publisher().unwrap();
    let mut ticks_tx = ticks.publisher().unwrap();

    let n = samples();
    let args = [name.as_str().to_owned(), n.to_string(), BACK.to_string()];
    let c = spawn(std::process::Command::new(&c_exe).args(&args), "the C subscriber");
    let p = spawn(python_command(&py, &dir, &dir.join("topics_peer.py")).args(&args), "the Python subscriber");

    // Both have joined both topics before the first sample (history 0: a later joiner would
    // start later). The loop is a hang guard: a peer that failed is reported by `finish`.
    let start = Instant::now();
    while frames.subscribers() < 2 || ticks.subscribers() < 2 {
        assert!(start.elapsed() < LIMIT, "the peers never subscribed");
        std::thread::sleep(Duration::from_millis(1));
    }
    for i in 0..n {
        let mut loan = frames_tx.loan(Some(LIMIT)).expect("the subscribers keep up within the hang guard");
        loan.write(frame(i));
        loan.send();
        ticks_tx.send_copy(&frame(i), None).unwrap();
    }
    for (peer, lang) in [(c, "C"), (p, "Python")] {
        let out = finish(peer);
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(words[..2], [lang, "ok"], "{lang}: {out}");
        let (received, missed): (u64, u64) = (words[2].parse().unwrap(), words[3].parse().unwrap());
        assert!(received >= 1, "{lang} received the last tick at least");
        assert_eq!(received + missed, n, "{lang}: ticks received + missed = published");
    }
    for b in back {
        b.join().unwrap();
    }
    assert_eq!((frames.published(), ticks.published()), (n, n));
}
