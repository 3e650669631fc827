//! Closing rings and topics across languages, through libzipc and the code zipc-schema
//! generates. A Rust process creates a ring and a topic, then:
//!
//! * **C closes a ring, Python drains it**: a C producer pushes N elements into `c_to_py` and
//!   closes the stream (twice: idempotent); the Python consumer, popping (single and bulk) with no
//!   timeout, receives exactly N in order, then `ClosedError` — from `try_pop` and `peek` too. C's
//!   pushes after the close return `ZIPC_ERR_CLOSED` and push nothing.
//! * **Python closes a topic, C drains it**: the C subscriber joins `py_to_c` first; the Python
//!   publisher sends N (loans and copies) and closes the stream; C, receiving in place and by copy
//!   with no timeout, receives exactly N in order, then `ZIPC_ERR_CLOSED` — from the `try_` call
//!   too. Python's sends and loans after the close raise `ClosedError`.
//!
//! Nothing depends on timing: the only handshake is an atomic the C peer sets once subscribed,
//! and every wait has a generous hang guard.

use std::process::Command;

use zipc::inspect::State;
use zipc::{Atomic, Lossless, Ring, RingMode, Topic};
use zipc_schema::{Arena, Schema};
use zipc_tests::native::{compile_c, finish, python_command, scratch, spawn, write_generated, Link};
use zipc_tests::{numpy_python, ShmName};

const SCHEMA: &str = r#"
[segment]
name = "/zipc_closing"
max_entries = 8

[[structures]]
name = "c_to_py"
kind = "ring"
type = "u64"
capacity = 16

[[structures]]
name = "py_to_c"
kind = "topic"
type = "u64"
capacity = 16
max_subscribers = 1
history = 0

[[structures]]
name = "c_joined"
kind = "atomic"
type = "u64"
doc = "Set by the C peer once it subscribed to `py_to_c`."
"#;

/// Elements each way.
const N: u64 = 5000;

/// Hang guard, seconds.
const LIMIT_S: u64 = 240;

const C_PEER: &str = r#"#include "closing.h"
#include <stdio.h>
#include <string.h>

#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)
#define EXPECT(cond, ...) do { if (!(cond)) { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); return 1; } } while (0)

int main(int argc, char **argv) {
    zipc_segment *seg = NULL;
    zipc_ring *ring = NULL;
    zipc_ring_producer *tx = NULL;
    zipc_topic *topic = NULL;
    zipc_topic_subscriber *sub = NULL;
    zipc_atomic *joined = NULL;
    const uint64_t n = N_ELEMS;
    uint64_t i, v;
    size_t pushed = 7;
    zipc_status st;
    EXPECT(argc == 2, "usage: closing_peer SEGMENT");
    CHECK(closing_segment_open(argv[1], &seg, NULL));
    CHECK(closing_c_to_py_open(seg, &ring));
    CHECK(closing_py_to_c_open(seg, &topic));
    CHECK(zipc_atomic_open(seg, "c_joined", &joined));
    CHECK(zipc_topic_subscribe(topic, &sub));
    CHECK(zipc_atomic_store(joined, 1));

    /* The ring: push N, close, then every push fails. */
    CHECK(zipc_ring_open_producer(ring, &tx));
    for (i = 0; i < n; i++) CHECK(zipc_ring_push(tx, &i, sizeof i, -1));
    EXPECT(zipc_ring_is_closed(ring) == 0, "open before the close");
    CHECK(zipc_ring_producer_close_stream(tx));
    CHECK(zipc_ring_producer_close_stream(tx));
    EXPECT(zipc_ring_is_closed(ring) == 1, "closed after the close");
    v = n;
    st = zipc_ring_push(tx, &v, sizeof v, -1);
    EXPECT(st == ZIPC_ERR_CLOSED, "push after the close: %s", zipc_status_name(st));
    st = zipc_ring_try_push(tx, &v, sizeof v);
    EXPECT(st == ZIPC_ERR_CLOSED, "try_push after the close: %s", zipc_status_name(st));
    st = zipc_ring_push_bulk(tx, &v, 1, sizeof v, 0, &pushed);
    EXPECT(st == ZIPC_ERR_CLOSED && pushed == 0, "push_bulk after the close: %s, %zu", zipc_status_name(st), pushed);
    EXPECT(zipc_ring_total_written(ring) == n, "written %llu", (unsigned long long)zipc_ring_total_written(ring));
    EXPECT(zipc_ring_producer_close_stream(NULL) == ZIPC_ERR_NULL && zipc_ring_is_closed(NULL) == 0, "NULL");

    /* The topic: receive in place and by copy with no timeout until the end. */
    for (i = 0;; i++) {
        if (i % 2 == 0) {
            const void *s = NULL;
            st = zipc_topic_receive(sub, -1, &s);
            if (st == ZIPC_ERR_CLOSED) break;
            CHECK(st);
            memcpy(&v, s, sizeof v);
            CHECK(zipc_topic_release(sub));
        } else {
            st = zipc_topic_receive_copy(sub, &v, sizeof v, -1);
            if (st == ZIPC_ERR_CLOSED) break;
            CHECK(st);
        }
        EXPECT(v == i, "sample %llu is %llu", (unsigned long long)i, (unsigned long long)v);
    }
    EXPECT(i == n, "received %llu", (unsigned long long)i);
    EXPECT(zipc_topic_subscriber_is_finished(sub) == 1 && zipc_topic_is_closed(topic) == 1, "finished");
    st = zipc_topic_try_receive_copy(sub, &v, sizeof v);
    EXPECT(st == ZIPC_ERR_CLOSED, "try_receive_copy at the end: %s", zipc_status_name(st));
    EXPECT(zipc_topic_publisher_close_stream(NULL) == ZIPC_ERR_NULL && zipc_topic_is_closed(NULL) == 0, "NULL");
    printf("C ok %llu\n", (unsigned long long)i);
    zipc_topic_subscriber_close(sub);
    zipc_ring_producer_close(tx);
    zipc_atomic_close(joined);
    zipc_topic_close(topic);
    zipc_ring_close(ring);
    zipc_segment_close(seg);
    return 0;
}
"#;

const PY_PEER: &str = r#"
import sys
import time
import closing
import zipc_runtime

seg = closing.open(sys.argv[1])
n, limit = int(sys.argv[2]), float(sys.argv[3])


def closed(f, *args):
    try:
        f(*args)
    except zipc_runtime.ClosedError:
        return True
    return False


# The ring: pop (single and bulk) with no timeout until ClosedError.
ring = seg.c_to_py
rx = ring.consumer()
expected = 0
while True:
    try:
        vals = [rx.pop()] if expected % 2 == 0 else list(rx.pop_bulk(7, None))
    except zipc_runtime.ClosedError:
        break
    for v in vals:
        assert v == expected, (v, expected)
        expected += 1
assert expected == n, expected
assert ring.is_closed and rx.is_finished
assert closed(rx.try_pop) and closed(rx.peek) and closed(rx.pop, 1)

# The topic: once C subscribed, publish n (loans and copies), close, then sends fail.
end = time.monotonic() + limit
while seg.c_joined.load() == 0:
    assert time.monotonic() < end, "C never subscribed"
    time.sleep(0.001)
topic = seg.py_to_c
pub = topic.publisher()
for i in range(n):
    if i % 2 == 0:
        with pub.loan() as s:
            s.array[0] = i
    else:
        pub.send(i)
assert not topic.is_closed
pub.close_stream()
pub.close_stream()
assert topic.is_closed
assert closed(pub.send, n) and closed(pub.try_send, n) and closed(pub.loan) and closed(pub.try_loan)
assert topic.published == n
print("Python ok", expected)
"#;

#[test]
fn rings_and_topics_closed_in_c_and_python_are_drained_in_python_and_c() {
    let arena = Arena::new();
    let schema = Schema::parse("closing.toml", SCHEMA, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("closing");
    write_generated(&schema, &dir);
    let c_exe = compile_c(&dir, "closing_peer", &C_PEER.replace("N_ELEMS", &N.to_string()), Link::Shared);
    let py_script = dir.join("closing_peer.py");
    std::fs::write(&py_script, PY_PEER).unwrap();
    let py = numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"));

    let name = ShmName::new("closing");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    let ring = Ring::<u64>::create(&seg, "c_to_py", 16, RingMode::Lossless).unwrap();
    let topic = Topic::<u64, Lossless>::create(&seg, "py_to_c", 16, 1, 0).unwrap();
    let joined = Atomic::<u64>::create(&seg, "c_joined", 0).unwrap();

    let c = spawn(Command::new(&c_exe).arg(name.as_str()), "the C peer");
    let p = spawn(
        python_command(&py, &dir, &py_script).args([name.as_str(), &N.to_string(), &LIMIT_S.to_string()]),
        "the Python peer",
    );
    let (py_out, c_out) = (finish(p), finish(c));
    assert!(c_out.contains(&format!("C ok {N}")), "{c_out}");
    assert!(py_out.contains(&format!("Python ok {N}")), "{py_out}");

    assert!(ring.is_closed() && topic.is_closed());
    assert_eq!((ring.total_written(), ring.total_read(), topic.published()), (N, N, N));
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    for e in &snap.entries {
        assert!(e.problems.is_empty(), "{}: {:?}", e.name, e.problems);
        match &e.state {
            Some(State::Ring(r)) => assert!(r.closed && r.producer.is_none() && r.consumer.is_none(), "{r:?}"),
            Some(State::Topic(t)) => assert!(t.closed && t.subscribers.is_empty(), "{t:?}"),
            _ => {}
        }
    }
    drop((ring, topic, joined, seg));
    let _ = std::fs::remove_dir_all(&dir);
}
