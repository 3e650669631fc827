//! Closing queues across languages, through libzipc and the code zipc-schema generates (the
//! close of ZeroIPC's channel and stream). A Rust process creates the queues and a few flags,
//! then:
//!
//! * **Rust to C** (`r2c`, mpsc, of a struct): Rust pushes `N` elements with blocking pushes, waits
//!   until the C consumer drained them and is asleep in a `zipc_consumer_pop` that waits forever,
//!   and closes the queue. The C consumer wakes with `ZIPC_ERR_CLOSED`, having popped exactly
//!   `0..N` in order; then every pop and push of C (bulk or not, waiting or not) says
//!   `ZIPC_ERR_CLOSED`, and closing again, through the queue or a producer, is fine. Rust's own
//!   pushes are refused with `Error::Closed` naming the queue, and a Rust consumer taking the role
//!   afterwards finds it closed and drained.
//! * **C to Python** (`c2p`, spsc, of a struct): C pushes `N` elements, closes through its
//!   producer (`zipc_producer_close_stream`), and its later pushes are refused. Python pops all
//!   but the last `REST` while C pushes, waits until C closed, and only then drains the `REST`
//!   left in the queue (a `pop_bulk` and blocking pops) until `ClosedError`: exactly `0..N` in
//!   order, and every pop after says `ClosedError`. On `c2p_one` Python sleeps in a `pop_bulk`
//!   that waits, on an empty queue (Rust sees it asleep), and C pushes one element and closes:
//!   the `pop_bulk` returns that element, the next raises `ClosedError`.
//! * **Python closes what Rust waits on** (`py_empty` and `py_full`, mpmc, of `u64`): a Rust
//!   thread asleep in `pop(None)` on the empty one and another asleep in `push(_, None)` on the
//!   full one (Rust sees both asleep before Python starts) both wake with `Error::Closed` when
//!   Python closes them; Python's pushes then raise `ClosedError`; C sees both closed
//!   (`zipc_queue_is_closed` 1); the full one still gives up its elements, then `Error::Closed`.
//! * **Edge cases** (`edge`, spsc, of `u64`): NULLs (`ZIPC_ERR_NULL`, 0 for `is_closed`); while a
//!   Rust producer holds the role, C's `zipc_queue_close_stream` is `ZIPC_ERR_ROLE_TAKEN` (so are
//!   Python's `close_stream` and Rust's own `Queue::close`) and the queue stays open; once the
//!   role is free, C closes it twice, and everything pushed before is still popped.
//! * **A close racing pushes** (`race`, mpmc, of a struct): two C producers (blocking pushes and
//!   waiting `push_bulk`s), a Python one and a Rust thread push until refused, a Rust consumer
//!   pops (blocking pops and `pop_bulk`s) until closed; Rust closes once each producer pushed
//!   `WARM`. What each producer says was accepted is exactly what the consumer got from it, in
//!   order, once each: the close refuses exactly what it does not deliver.
//!
//! Nothing depends on timing: every "is asleep" is a condition Rust polls, and every wait has a
//! generous hang guard.

use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use zipc::{Atomic, Error, Mpmc, Mpsc, Queue, Segment, Spsc};
use zipc_schema::{Arena, Schema};
use zipc_tests::native::{compile_c, finish, python_command, scratch, spawn, write_generated, Link, Peer, PEER_LIMIT};
use zipc_tests::{numpy_python, ShmName};

const SCHEMA: &str = r#"
[segment]
name = "/zipc_queue_close"
max_entries = 16

[types.Item]
doc = "An element: its position, a checksum of it and who pushed it."
fields = [
    { name = "seq", type = "u64" },
    { name = "check", type = "u32" },
    { name = "tag", type = "u32" },
]

[[structures]]
name = "r2c"
kind = "queue"
type = "Item"
policy = "mpsc"
capacity = 64
doc = "Rust pushes and closes; C pops until closed."

[[structures]]
name = "c2p"
kind = "queue"
type = "Item"
policy = "spsc"
capacity = 64
doc = "C pushes and closes through its producer; Python pops until closed."

[[structures]]
name = "c2p_one"
kind = "queue"
type = "Item"
policy = "spsc"
capacity = 8
doc = "One element from C to a Python pop_bulk asleep on it, then the close."

[[structures]]
name = "py_empty"
kind = "queue"
type = "u64"
policy = "mpmc"
capacity = 16
doc = "Empty, a Rust pop asleep on it; Python closes it."

[[structures]]
name = "py_full"
kind = "queue"
type = "u64"
policy = "mpmc"
capacity = 4
doc = "Full, a Rust push asleep on it; Python closes it."

[[structures]]
name = "edge"
kind = "queue"
type = "u64"
policy = "spsc"
capacity = 4
doc = "The edge cases: closed through the queue while a Rust producer holds the role, then not."

[[structures]]
name = "race"
kind = "queue"
type = "Item"
policy = "mpmc"
capacity = 64
doc = "Two C, a Python and a Rust producer push until Rust closes it; a Rust consumer pops."

[[structures]]
name = "started"
kind = "atomic"
type = "u64"
doc = "Producers of `race` that pushed `WARM` elements."

[[structures]]
name = "c_closed"
kind = "atomic"
type = "u64"
doc = "Set by C once it closed `c2p`."

[[structures]]
name = "py_bulk"
kind = "atomic"
type = "u64"
doc = "Set by Python just before its pop_bulk on `c2p_one`."

[[structures]]
name = "go_one"
kind = "atomic"
type = "u64"
doc = "Set by Rust once Python sleeps in its pop_bulk on `c2p_one`: C pushes one and closes."
"#;

#[derive(
    Clone, Copy, Debug, PartialEq, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout, zipc::ShmType,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Item {
    seq: u64,
    check: u32,
    tag: u32,
}

/// Elements sent over `r2c` and over `c2p`.
const N: u64 = 10_000;

/// Elements Python leaves in `c2p` until C closed it (fewer than its capacity, so C's pushes of
/// them do not wait).
const REST: u64 = 10;

/// Who pushed an element.
const TAG_RUST: u32 = 0x5257;
const TAG_C: u32 = 0x4343;
/// The producers of the race on `race`: two C processes, a Python one and a Rust thread.
const RACE_TAGS: [u32; 4] = [0x4331, 0x4332, 0x5059, 0x5253];

/// Elements each producer of the race pushes before Rust may close `race` (so that all of them
/// push while the others do, and the close meets them pushing).
const WARM: u64 = 2000;

/// Hang guard of every wait of a peer, in seconds (never reached).
const LIMIT_S: u64 = 240;

/// The checksum of position `i` (C and Python compute the same).
fn check_of(i: u64) -> u32 {
    (i.wrapping_mul(2_654_435_761) as u32) ^ 0x5a5a_5a5a
}

fn item(i: u64, tag: u32) -> Item {
    Item { seq: i, check: check_of(i), tag }
}

const C_PEER: &str = r#"#include "queue_close.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)
#define EXPECT(cond, ...) do { if (!(cond)) { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); return 1; } } while (0)
#define CLOSED(call) do { zipc_status st_ = (call); if (st_ != ZIPC_ERR_CLOSED) { fprintf(stderr, "%s: %s, not ZIPC_ERR_CLOSED\n", #call, zipc_status_name(st_)); return 1; } } while (0)
#define LIMIT_NS ((int64_t)LIMIT_S * 1000000000)

static uint32_t check_of(uint64_t i) {
    return (uint32_t)(i * UINT64_C(2654435761)) ^ UINT32_C(0x5a5a5a5a);
}

static Item item(uint64_t i, uint32_t tag) {
    Item it;
    memset(&it, 0, sizeof it);
    it.seq = i;
    it.check = check_of(i);
    it.tag = tag;
    return it;
}

/* Polls `a` until it is nonzero (1 ms naps, a hang guard of LIMIT_S seconds). */
static int until_set(const zipc_atomic *a, const char *what) {
    struct timespec nap = { 0, 1000000 };
    int64_t v = 0;
    long i;
    for (i = 0; i < LIMIT_S * 1000L; i++) {
        if (zipc_atomic_load(a, &v) != ZIPC_OK) return 1;
        if (v != 0) return 0;
        nanosleep(&nap, NULL);
    }
    fprintf(stderr, "no %s\n", what);
    return 1;
}

/* Pops `r2c` with pops that wait forever until ZIPC_ERR_CLOSED: exactly 0..n, in order. */
static int consume_r2c(const zipc_segment *seg, uint64_t n) {
    zipc_queue *q;
    zipc_consumer *c;
    zipc_producer *p;
    Item it, many[4];
    uint64_t got = 0;
    size_t done = 7;
    zipc_status st;
    CHECK(queue_close_r2c_open(seg, &q));
    CHECK(zipc_queue_open_consumer(q, &c));
    for (;;) {
        memset(&it, 0xff, sizeof it);
        st = queue_close_r2c_pop(c, &it, ZIPC_FOREVER);
        if (st == ZIPC_ERR_CLOSED) break;
        CHECK(st);
        EXPECT(it.seq == got && it.check == check_of(got) && it.tag == TAG_RUST,
               "element %llu: seq %llu check %x tag %x", (unsigned long long)got, (unsigned long long)it.seq,
               (unsigned)it.check, (unsigned)it.tag);
        got++;
        EXPECT(got <= n, "more than %llu elements", (unsigned long long)n);
    }
    EXPECT(got == n, "closed after %llu elements of %llu", (unsigned long long)got, (unsigned long long)n);
    EXPECT(zipc_queue_is_closed(q) == 1, "ZIPC_ERR_CLOSED, but not closed");

    /* Closed and drained: every pop says so, whether it waits or not. */
    CLOSED(queue_close_r2c_try_pop(c, &it));
    CLOSED(queue_close_r2c_pop(c, &it, 0));
    CLOSED(queue_close_r2c_pop(c, &it, LIMIT_NS));
    CLOSED(queue_close_r2c_pop(c, &it, ZIPC_FOREVER));
    done = 7;
    CLOSED(queue_close_r2c_pop_bulk(c, many, 4, 0, &done));
    EXPECT(done == 0, "pop_bulk on a closed queue: %zu", done);
    done = 7;
    CLOSED(queue_close_r2c_pop_bulk(c, many, 4, ZIPC_FOREVER, &done));
    EXPECT(done == 0, "a waiting pop_bulk on a closed queue: %zu", done);

    /* And a C producer's pushes (mpsc: no role to take). */
    CHECK(zipc_queue_open_producer(q, &p));
    it = item(n, TAG_C);
    many[0] = many[1] = many[2] = many[3] = it;
    CLOSED(queue_close_r2c_try_push(p, &it));
    CLOSED(queue_close_r2c_push(p, &it, 0));
    CLOSED(queue_close_r2c_push(p, &it, ZIPC_FOREVER));
    done = 7;
    CLOSED(queue_close_r2c_push_bulk(p, many, 4, 0, &done));
    EXPECT(done == 0, "push_bulk on a closed queue: %zu", done);
    done = 7;
    CLOSED(queue_close_r2c_push_bulk(p, many, 4, ZIPC_FOREVER, &done));
    EXPECT(done == 0, "a waiting push_bulk on a closed queue: %zu", done);

    /* Closing again is fine, from any handle of a multi-producer queue; nothing reappears. */
    CHECK(zipc_producer_close_stream(p));
    CHECK(zipc_queue_close_stream(q));
    EXPECT(zipc_queue_is_closed(q) == 1, "still closed");
    CLOSED(queue_close_r2c_pop(c, &it, ZIPC_FOREVER));
    EXPECT(zipc_queue_len(q) == 0, "len %llu", (unsigned long long)zipc_queue_len(q));
    printf("C popped %llu\n", (unsigned long long)got);
    zipc_producer_close(p);
    zipc_consumer_close(c);
    zipc_queue_close(q);
    return 0;
}

/* Pushes 0..n onto `c2p`, closes it through the producer; then one element onto `c2p_one`. */
static int produce_c2p(const zipc_segment *seg, uint64_t n) {
    zipc_queue *q, *one;
    zipc_producer *p, *p1;
    zipc_atomic *c_closed, *go_one;
    Item it, many[2];
    uint64_t i;
    size_t done = 7;
    zipc_status st;
    CHECK(queue_close_c2p_open(seg, &q));
    CHECK(queue_close_c2p_one_open(seg, &one));
    CHECK(queue_close_c_closed_open(seg, &c_closed));
    CHECK(queue_close_go_one_open(seg, &go_one));
    CHECK(zipc_queue_open_producer(q, &p));
    CHECK(zipc_queue_open_producer(one, &p1));
    for (i = 0; i < n; i++) {
        it = item(i, TAG_C);
        CHECK(queue_close_c2p_push(p, &it, LIMIT_NS));
    }
    EXPECT(zipc_queue_is_closed(q) == 0, "closed before the close");
    CHECK(zipc_producer_close_stream(p));
    EXPECT(zipc_queue_is_closed(q) == 1, "not closed by zipc_producer_close_stream");

    /* Every later push is refused. */
    it = item(n, TAG_C);
    many[0] = many[1] = it;
    CLOSED(queue_close_c2p_push(p, &it, LIMIT_NS));
    CLOSED(queue_close_c2p_push(p, &it, ZIPC_FOREVER));
    CLOSED(queue_close_c2p_try_push(p, &it));
    done = 7;
    CLOSED(queue_close_c2p_push_bulk(p, many, 2, 0, &done));
    EXPECT(done == 0, "push_bulk on a closed queue: %zu", done);
    done = 7;
    CLOSED(queue_close_c2p_push_bulk(p, many, 2, LIMIT_NS, &done));
    EXPECT(done == 0, "a waiting push_bulk on a closed queue: %zu", done);
    CHECK(zipc_producer_close_stream(p)); /* twice is fine */
    /* Closed already: the queue handle's close is fine too, beside the live producer. */
    st = zipc_queue_close_stream(q);
    EXPECT(st == ZIPC_OK, "zipc_queue_close_stream of a closed queue beside the producer: %s", zipc_status_name(st));
    EXPECT(zipc_producer_is_closed(p) == 1, "the producer sees it closed");
    EXPECT(zipc_queue_is_closed(q) == 1, "still closed");
    CHECK(zipc_atomic_store(c_closed, 1));

    /* One element to the Python pop_bulk asleep on `c2p_one`, then the close. */
    if (until_set(go_one, "go_one")) return 1;
    it = item(n, TAG_C);
    CHECK(queue_close_c2p_one_push(p1, &it, LIMIT_NS));
    CHECK(zipc_producer_close_stream(p1));
    CLOSED(queue_close_c2p_one_try_push(p1, &it));
    printf("C pushed %llu\n", (unsigned long long)n);
    zipc_producer_close(p1);
    zipc_producer_close(p);
    zipc_atomic_close(go_one);
    zipc_atomic_close(c_closed);
    zipc_queue_close(one);
    zipc_queue_close(q);
    return 0;
}

/* After Python closed `py_empty` and `py_full`: both are closed for C too. */
static int sees_closed(const zipc_segment *seg) {
    zipc_queue *e, *f;
    zipc_producer *p;
    zipc_consumer *c;
    uint64_t v = 99;
    CHECK(queue_close_py_empty_open(seg, &e));
    CHECK(queue_close_py_full_open(seg, &f));
    EXPECT(zipc_queue_is_closed(e) == 1 && zipc_queue_is_closed(f) == 1, "is_closed %d %d", zipc_queue_is_closed(e),
           zipc_queue_is_closed(f));
    CHECK(zipc_queue_close_stream(e)); /* again: fine */
    CHECK(zipc_queue_open_producer(e, &p));
    CLOSED(queue_close_py_empty_push(p, &v, ZIPC_FOREVER));
    CLOSED(queue_close_py_empty_try_push(p, &v));
    CHECK(zipc_queue_open_consumer(e, &c));
    CLOSED(queue_close_py_empty_pop(c, &v, ZIPC_FOREVER));
    CLOSED(queue_close_py_empty_try_pop(c, &v));
    EXPECT(v == 99, "a refused pop wrote %llu", (unsigned long long)v);
    printf("C sees closed %d %d\n", zipc_queue_is_closed(e), zipc_queue_is_closed(f));
    zipc_consumer_close(c);
    zipc_producer_close(p);
    zipc_queue_close(f);
    zipc_queue_close(e);
    return 0;
}

/* NULLs, and closing `edge` while a Rust producer holds its role. */
static int edge_held(const zipc_segment *seg) {
    zipc_queue *q;
    zipc_producer *p = NULL;
    zipc_status st;
    EXPECT(zipc_queue_close_stream(NULL) == ZIPC_ERR_NULL, "zipc_queue_close_stream(NULL)");
    EXPECT(zipc_last_status() == ZIPC_ERR_NULL && strstr(zipc_last_error(), "NULL") != NULL, "last error: %s",
           zipc_last_error());
    EXPECT(zipc_queue_is_closed(NULL) == 0, "zipc_queue_is_closed(NULL)");
    EXPECT(zipc_producer_is_closed(NULL) == 0 && zipc_consumer_is_closed(NULL) == 0, "is_closed(NULL) of a role handle");
    EXPECT(zipc_producer_close_stream(NULL) == ZIPC_ERR_NULL, "zipc_producer_close_stream(NULL)");
    EXPECT(zipc_last_status() == ZIPC_ERR_NULL && strstr(zipc_last_error(), "NULL") != NULL, "last error: %s",
           zipc_last_error());

    CHECK(queue_close_edge_open(seg, &q));
    EXPECT(zipc_queue_is_closed(q) == 0, "open at first");
    st = zipc_queue_close_stream(q);
    EXPECT(st == ZIPC_ERR_ROLE_TAKEN, "close_stream while Rust holds the producer: %s", zipc_status_name(st));
    EXPECT(zipc_queue_is_closed(q) == 0, "a refused close closes nothing");
    st = zipc_queue_close_stream(q);
    EXPECT(st == ZIPC_ERR_ROLE_TAKEN, "close_stream again: %s", zipc_status_name(st));
    st = zipc_queue_open_producer(q, &p);
    EXPECT(st == ZIPC_ERR_ROLE_TAKEN && p == NULL, "open_producer while Rust holds it: %s", zipc_status_name(st));
    EXPECT(zipc_queue_is_closed(q) == 0 && zipc_queue_len(q) == 2, "open, with Rust's 2: len %llu",
           (unsigned long long)zipc_queue_len(q));
    printf("C edge held ok\n");
    zipc_queue_close(q);
    return 0;
}

/* `edge` once its role is free: closed twice, then drained; a new producer is refused. */
static int edge_free(const zipc_segment *seg) {
    zipc_queue *q;
    zipc_producer *p;
    zipc_consumer *c;
    uint64_t v = 0, want;
    CHECK(queue_close_edge_open(seg, &q));
    EXPECT(zipc_queue_is_closed(q) == 0, "open at first");
    CHECK(zipc_queue_close_stream(q));
    EXPECT(zipc_queue_is_closed(q) == 1, "closed");
    CHECK(zipc_queue_close_stream(q)); /* twice is fine */
    EXPECT(zipc_queue_is_closed(q) == 1, "still closed");
    CHECK(zipc_queue_open_consumer(q, &c));
    for (want = 11; want <= 13; want++) {
        CHECK(queue_close_edge_pop(c, &v, LIMIT_NS));
        EXPECT(v == want, "popped %llu, not %llu", (unsigned long long)v, (unsigned long long)want);
    }
    CLOSED(queue_close_edge_pop(c, &v, ZIPC_FOREVER));
    CLOSED(queue_close_edge_try_pop(c, &v));
    /* The role is free: a producer takes it, and finds the queue closed. */
    CHECK(zipc_queue_open_producer(q, &p));
    CLOSED(queue_close_edge_try_push(p, &v));
    CLOSED(queue_close_edge_push(p, &v, ZIPC_FOREVER));
    CHECK(zipc_producer_close_stream(p)); /* closed already: fine */
    CLOSED(queue_close_edge_pop(c, &v, 0));
    printf("C edge closed ok\n");
    zipc_producer_close(p);
    zipc_consumer_close(c);
    zipc_queue_close(q);
    return 0;
}

/* Pushes tag's 0, 1, 2, ... onto `race` (blocking pushes, and every 7th a waiting push_bulk
 * of 3) until ZIPC_ERR_CLOSED; prints how many were accepted. */
static int race_push(const zipc_segment *seg, uint32_t tag, uint64_t warm) {
    zipc_queue *q;
    zipc_producer *p;
    zipc_atomic *started;
    Item it, many[3];
    uint64_t i = 0, bulks = 0;
    size_t done, j;
    int counted = 0;
    zipc_status st;
    CHECK(queue_close_race_open(seg, &q));
    CHECK(queue_close_started_open(seg, &started));
    CHECK(zipc_queue_open_producer(q, &p));
    for (;;) {
        if (i % 7 == 6) {
            for (j = 0; j < 3; j++) many[j] = item(i + j, tag);
            done = 7;
            st = queue_close_race_push_bulk(p, many, 3, LIMIT_NS, &done);
            if (st == ZIPC_ERR_CLOSED) {
                EXPECT(done == 0, "a refused push_bulk pushed %zu", done);
                break;
            }
            CHECK(st);
            EXPECT(done >= 1 && done <= 3, "a waiting push_bulk pushed %zu", done);
            i += done;
            bulks++;
        } else {
            it = item(i, tag);
            st = queue_close_race_push(p, &it, LIMIT_NS);
            if (st == ZIPC_ERR_CLOSED) break;
            CHECK(st);
            i++;
        }
        if (!counted && i >= warm) {
            CHECK(zipc_atomic_fetch_add(started, 1, NULL));
            counted = 1;
        }
    }
    EXPECT(counted, "closed after %llu, before %llu", (unsigned long long)i, (unsigned long long)warm);
    EXPECT(zipc_queue_is_closed(q) == 1, "ZIPC_ERR_CLOSED, but not closed");
    it = item(i, tag);
    CLOSED(queue_close_race_try_push(p, &it));
    CLOSED(queue_close_race_push(p, &it, ZIPC_FOREVER));
    printf("C accepted %llu in %llu bulks\n", (unsigned long long)i, (unsigned long long)bulks);
    zipc_producer_close(p);
    zipc_atomic_close(started);
    zipc_queue_close(q);
    return 0;
}

int main(int argc, char **argv) {
    zipc_segment *seg;
    int rc = 64;
    if (argc < 3) return 64;
    CHECK(queue_close_segment_open(argv[1], &seg, NULL));
    if (strcmp(argv[2], "consume_r2c") == 0 && argc == 4) {
        rc = consume_r2c(seg, strtoull(argv[3], NULL, 10));
    } else if (strcmp(argv[2], "produce_c2p") == 0 && argc == 4) {
        rc = produce_c2p(seg, strtoull(argv[3], NULL, 10));
    } else if (strcmp(argv[2], "race_push") == 0 && argc == 5) {
        rc = race_push(seg, (uint32_t)strtoul(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    } else if (strcmp(argv[2], "sees_closed") == 0) {
        rc = sees_closed(seg);
    } else if (strcmp(argv[2], "edge_held") == 0) {
        rc = edge_held(seg);
    } else if (strcmp(argv[2], "edge_free") == 0) {
        rc = edge_free(seg);
    }
    zipc_segment_close(seg);
    return rc;
}
"#;

const PY_PEER: &str = r#"
import sys
import time
import numpy as np
import queue_close
import zipc_runtime

seg = queue_close.open(sys.argv[1])
mode, limit = sys.argv[2], float(sys.argv[3])


def until_set(atomic, what):
    end = time.monotonic() + limit
    while atomic.load() == 0:
        assert time.monotonic() < end, "no " + what
        time.sleep(0.001)


def check_of(i):
    return ((i * 2654435761) & 0xFFFFFFFF) ^ 0x5A5A5A5A


def check_item(it, i):
    assert it.dtype == queue_close.Item, it.dtype
    got = (int(it["seq"]), int(it["check"]), int(it["tag"]))
    assert got == (i, check_of(i), TAG_C), (i, got)


def closed(call, what):
    try:
        call()
    except zipc_runtime.ClosedError as e:
        assert isinstance(e, zipc_runtime.ZipcError), type(e)
        assert e.status_name == "ZIPC_ERR_CLOSED", (what, e.status_name)
        return
    raise AssertionError(what + ": no ClosedError")


if mode == "consume_c2p":
    n, rest = int(sys.argv[4]), int(sys.argv[5])
    q = seg.c2p
    c = q.consumer()
    assert not c.is_closed and not q.is_closed, "C cannot close before Python popped"
    i = 0
    while i < n - rest:
        check_item(c.pop(limit), i)
        i += 1
    # The rest stays in the queue until C has closed it.
    until_set(seg.c_closed, "close")
    assert c.is_closed and q.is_closed
    assert len(q) == rest, len(q)
    got = c.pop_bulk(4)
    assert len(got) == 4, len(got)
    for it in got:
        check_item(it, i)
        i += 1
    while True:
        try:
            it = c.pop(limit)
        except zipc_runtime.ClosedError as e:
            assert e.status_name == "ZIPC_ERR_CLOSED", e.status_name
            break
        check_item(it, i)
        i += 1
        assert i <= n, "more than %d elements" % n
    assert i == n, (i, n)
    assert c.is_closed and len(q) == 0
    closed(c.pop, "pop forever")
    closed(lambda: c.pop(0), "pop(0)")
    closed(lambda: c.pop(limit), "pop(limit)")
    closed(c.try_pop, "try_pop")
    closed(lambda: c.pop_bulk(8), "pop_bulk")
    closed(lambda: c.pop_bulk(8, timeout=None), "pop_bulk forever")
    closed(lambda: c.pop_bulk(8, timeout=limit), "pop_bulk(limit)")
    # Closed already: closing again through the queue is fine, although C still holds the
    # producer role (an open spsc queue is closed through that role: RoleTakenError).
    q.close_stream()
    assert q.is_closed and c.is_closed
    print("Python popped %d" % i)

    # One element from C to a pop_bulk asleep on an empty queue, then the close.
    one = seg.c2p_one.consumer()
    assert not one.is_closed
    seg.py_bulk.store(1)
    got = one.pop_bulk(8, timeout=None)
    assert len(got) == 1, got
    check_item(got[0], n)
    closed(lambda: one.pop_bulk(8, timeout=None), "pop_bulk forever after the one")
    closed(one.try_pop, "try_pop after the one")
    assert one.is_closed
    print("Python bulk got 1")
elif mode == "close":
    e, f = seg.py_empty, seg.py_full
    assert not e.is_closed and not f.is_closed
    assert len(e) == 0 and len(f) == f.capacity == 4, (len(e), len(f), f.capacity)
    e.close_stream()
    f.close_stream()
    e.close_stream()  # twice is fine
    assert e.is_closed and f.is_closed
    for q, name in ((e, "py_empty"), (f, "py_full")):
        p = q.producer()
        assert p.is_closed
        closed(lambda: p.push(7), name + " push forever")
        closed(lambda: p.push(7, timeout=0), name + " push(0)")
        closed(lambda: p.try_push(7), name + " try_push")
        closed(lambda: p.push_bulk(np.arange(3, dtype="<u8")), name + " push_bulk")
        closed(lambda: p.push_bulk(np.arange(3, dtype="<u8"), timeout=None), name + " push_bulk forever")
        p.close_stream()  # closed already: fine
        p.close()
    c = e.consumer()
    assert c.is_closed
    closed(c.try_pop, "py_empty try_pop")
    closed(c.pop, "py_empty pop forever")
    c.close()
    print("Python closed")
elif mode == "race_push":
    tag, warm = int(sys.argv[4]), int(sys.argv[5])
    p = seg.race.producer()
    i, counted = 0, False
    while True:
        try:
            if i % 5 == 4:
                batch = np.array([(j, check_of(j), tag) for j in (i, i + 1)], dtype=queue_close.Item)
                n = p.push_bulk(batch, timeout=limit)
                assert n in (1, 2), n
                i += n
            else:
                p.push((i, check_of(i), tag), limit)
                i += 1
        except zipc_runtime.ClosedError:
            break
        if not counted and i >= warm:
            seg.started.fetch_add(1)
            counted = True
    assert counted, (i, warm)
    assert p.is_closed
    closed(lambda: p.try_push((i, check_of(i), tag)), "try_push after the close")
    print("Python accepted %d" % i)
elif mode == "edge_held":
    q = seg.edge
    assert not q.is_closed
    try:
        q.close_stream()
        raise AssertionError("closed an spsc queue beside a live producer")
    except zipc_runtime.RoleTakenError as e:
        assert e.status_name == "ZIPC_ERR_ROLE_TAKEN", e.status_name
    assert not q.is_closed and len(q) == 2, len(q)
    try:
        q.producer()
        raise AssertionError("a second producer of an spsc queue")
    except zipc_runtime.RoleTakenError:
        pass
    print("Python edge held ok")
else:
    sys.exit("mode " + mode)
seg.close()
"#;

fn py_source() -> String {
    format!("TAG_C = {TAG_C:#x}\n{PY_PEER}")
}

/// What each test needs: the generated code, the C and Python peers and a segment holding every
/// structure of the schema, created (the peers' generated open checks them all).
struct Fixture {
    dir: std::path::PathBuf,
    c_exe: std::path::PathBuf,
    py: std::path::PathBuf,
    py_script: std::path::PathBuf,
    name: ShmName,
    seg: Segment,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let arena = Arena::new();
        let schema = Schema::parse("queue_close.toml", SCHEMA, &arena).unwrap_or_else(|d| panic!("{d}"));
        let dir = scratch(&format!("queue_close-{tag}"));
        write_generated(&schema, &dir);
        let c_source = C_PEER
            .replace("LIMIT_S", &LIMIT_S.to_string())
            .replace("TAG_RUST", &TAG_RUST.to_string())
            .replace("TAG_C", &TAG_C.to_string());
        let c_exe = compile_c(&dir, "queue_close_peer", &c_source, Link::Shared);
        let py_script = dir.join("queue_close_peer.py");
        std::fs::write(&py_script, py_source()).unwrap();
        let py = numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"));

        let name = ShmName::new(&format!("qclose_{tag}"));
        let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
        drop(Queue::<Item, Mpsc>::create(&seg, "r2c", 64).unwrap());
        drop(Queue::<Item, Spsc>::create(&seg, "c2p", 64).unwrap());
        drop(Queue::<Item, Spsc>::create(&seg, "c2p_one", 8).unwrap());
        drop(Queue::<u64, Mpmc>::create(&seg, "py_empty", 16).unwrap());
        drop(Queue::<u64, Mpmc>::create(&seg, "py_full", 4).unwrap());
        drop(Queue::<u64, Spsc>::create(&seg, "edge", 4).unwrap());
        drop(Queue::<Item, Mpmc>::create(&seg, "race", 64).unwrap());
        for flag in ["started", "c_closed", "py_bulk", "go_one"] {
            drop(Atomic::<u64>::create(&seg, flag, 0).unwrap());
        }
        Fixture { dir, c_exe, py, py_script, name, seg }
    }

    fn c(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.c_exe);
        cmd.arg(self.name.as_str()).args(args);
        cmd
    }

    fn python(&self, mode: &str, extra: &[&str]) -> Command {
        let mut cmd = python_command(&self.py, &self.dir, &self.py_script);
        cmd.args([self.name.as_str(), mode, &LIMIT_S.to_string()]).args(extra);
        cmd
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // The segment is unlinked by `name`'s drop (after this), even when the test failed.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Panics with its output if a peer already exited with a failure (one that succeeded is left
/// for `finish`).
fn check_peers(peers: &mut [Peer]) {
    for peer in peers.iter_mut() {
        let failed = peer.0.as_mut().is_some_and(|c| c.try_wait().unwrap().is_some_and(|s| !s.success()));
        if failed {
            let what = peer.1;
            finish(Peer(peer.0.take(), what));
        }
    }
}

/// Polls `cond` (checking the peers between), as a hang guard.
fn until(peers: &mut [Peer], what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        check_peers(peers);
        assert!(start.elapsed() < PEER_LIMIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Whether `r` is `Error::Closed` naming `structure`.
fn is_closed_error<T: std::fmt::Debug>(r: &zipc::Result<T>, structure: &str) -> bool {
    matches!(r, Err(Error::Closed { structure: s }) if s == structure)
}

#[test]
fn a_rust_producer_closes_an_mpsc_queue_under_a_c_consumer_asleep_in_a_pop_that_waits_forever() {
    let fx = Fixture::new("r2c");
    let q = Queue::<Item, Mpsc>::open(&fx.seg, "r2c").unwrap();
    let mut peers = vec![spawn(&mut fx.c(&["consume_r2c", &N.to_string()]), "the C consumer")];
    for i in 0..N {
        // A blocking push; the short timeout only lets a failed C consumer be noticed.
        loop {
            match q.push(item(i, TAG_RUST), Some(Duration::from_millis(50))) {
                Ok(()) => break,
                Err(Error::Timeout) => check_peers(&mut peers),
                Err(e) => panic!("push {i}: {e}"),
            }
        }
    }
    // The C consumer drained everything and sleeps in its pop: the close wakes it.
    until(&mut peers, "the C consumer to drain and sleep", || q.is_empty() && q.waiting_consumers() >= 1);
    assert!(!q.is_closed());
    q.close().unwrap();
    assert!(q.is_closed());
    q.close().unwrap(); // idempotent
    assert!(is_closed_error(&q.try_push(item(N, TAG_RUST)), "r2c"));
    assert!(is_closed_error(&q.push(item(N, TAG_RUST), None), "r2c"));
    assert!(is_closed_error(&q.push(item(N, TAG_RUST), Some(Duration::ZERO)), "r2c"));
    assert!(is_closed_error(&q.push_bulk(&[item(N, TAG_RUST); 3]), "r2c"));
    let out = finish(peers.pop().unwrap());
    assert!(out.contains(&format!("C popped {N}")), "{out}");

    // The consumer role is free again: a Rust consumer finds the queue closed and drained.
    let mut c = q.consumer().unwrap();
    assert!(c.is_closed() && c.is_empty());
    assert!(is_closed_error(&c.try_pop(), "r2c"));
    assert!(is_closed_error(&c.pop(None), "r2c"));
    assert!(is_closed_error(&c.pop_bulk(&mut [item(0, 0); 4]), "r2c"));
    let mut p = q.producer().unwrap();
    assert!(p.is_closed());
    p.close(); // closed already: fine
    assert!(is_closed_error(&p.try_push(item(N, TAG_RUST)), "r2c"));
    assert!(is_closed_error(&p.push(item(N, TAG_RUST), None), "r2c"));
    assert_eq!((q.len(), q.waiting_consumers(), q.waiting_producers(), q.lost()), (0, 0, 0, 0));
}

#[test]
fn a_c_producer_closes_an_spsc_queue_and_python_drains_it_then_gets_closed_error() {
    let fx = Fixture::new("c2p");
    let q = Queue::<Item, Spsc>::open(&fx.seg, "c2p").unwrap();
    let one = Queue::<Item, Spsc>::open(&fx.seg, "c2p_one").unwrap();
    let flag = |n: &str| Atomic::<u64>::open(&fx.seg, n).unwrap();
    let (py_bulk, go_one) = (flag("py_bulk"), flag("go_one"));
    let mut peers = vec![
        spawn(&mut fx.c(&["produce_c2p", &N.to_string()]), "the C producer"),
        spawn(&mut fx.python("consume_c2p", &[&N.to_string(), &REST.to_string()]), "the Python consumer"),
    ];
    // Python sleeps in its pop_bulk on the empty `c2p_one`: C pushes one element and closes.
    until(&mut peers, "Python to sleep in its pop_bulk", || py_bulk.load() == 1 && one.waiting_consumers() >= 1);
    assert!(!one.is_closed() && one.is_empty());
    go_one.store(1);
    let outputs: Vec<String> = peers.into_iter().map(finish).collect();
    assert!(outputs[0].contains(&format!("C pushed {N}")), "{}", outputs[0]);
    assert!(outputs[1].contains(&format!("Python popped {N}")), "{}", outputs[1]);
    assert!(outputs[1].contains("Python bulk got 1"), "{}", outputs[1]);

    // Both roles are free: Rust finds both queues closed and drained.
    for q in [&q, &one] {
        let name = q.name().to_owned();
        assert!(q.is_closed() && q.is_empty(), "{name}");
        let mut c = q.consumer().unwrap();
        assert!(c.is_closed());
        assert!(is_closed_error(&c.try_pop(), &name));
        assert!(is_closed_error(&c.pop(None), &name));
        let mut p = q.producer().unwrap();
        assert!(p.is_closed(), "a producer taking the role of a closed spsc queue knows it");
        assert!(is_closed_error(&p.try_push(item(0, TAG_RUST)), &name));
        assert!(is_closed_error(&p.push_bulk(&[item(0, TAG_RUST); 2]), &name));
        drop(p);
        q.close().unwrap(); // the role is free: closing again is fine
        assert_eq!((q.waiting_consumers(), q.waiting_producers(), q.lost()), (0, 0, 0), "{name}");
    }
}

#[test]
fn python_closes_mpmc_queues_a_rust_pop_and_a_rust_push_sleep_on_and_c_sees_them_closed() {
    let fx = Fixture::new("py");
    let empty = Queue::<u64, Mpmc>::open(&fx.seg, "py_empty").unwrap();
    let full = Queue::<u64, Mpmc>::open(&fx.seg, "py_full").unwrap();
    for v in 0..4 {
        assert!(full.try_push(v).unwrap());
    }
    assert!(!full.try_push(4).unwrap(), "full");

    // Detached threads (not scoped): if the close never comes, the test fails on its hang guard
    // rather than waiting for them forever.
    let (pop_tx, pop_rx) = mpsc::channel();
    let (push_tx, push_rx) = mpsc::channel();
    let e = empty.clone();
    std::thread::spawn(move || pop_tx.send(e.pop(None)).unwrap());
    let f = full.clone();
    std::thread::spawn(move || push_tx.send(f.push(99, None)).unwrap());
    until(&mut [], "the Rust pop and push to sleep", || {
        empty.waiting_consumers() >= 1 && full.waiting_producers() >= 1
    });
    assert!(!empty.is_closed() && !full.is_closed());

    let out = finish(spawn(&mut fx.python("close", &[]), "the Python closer"));
    assert!(out.contains("Python closed"), "{out}");
    let popped = pop_rx.recv_timeout(PEER_LIMIT).expect("the Rust pop never woke");
    assert!(is_closed_error(&popped, "py_empty"), "{popped:?}");
    let pushed = push_rx.recv_timeout(PEER_LIMIT).expect("the Rust push never woke");
    assert!(is_closed_error(&pushed, "py_full"), "{pushed:?}");
    assert!(empty.is_closed() && full.is_closed());

    let out = finish(spawn(&mut fx.c(&["sees_closed"]), "the C observer"));
    assert!(out.contains("C sees closed 1 1"), "{out}");

    // The full queue still gives what was pushed before the close (not the refused 99), then
    // says it is closed.
    for v in 0..4 {
        assert_eq!(full.pop(None).unwrap(), v);
    }
    assert!(is_closed_error(&full.pop(None), "py_full"));
    assert!(is_closed_error(&full.try_pop(), "py_full"));
    assert!(is_closed_error(&full.pop_bulk(&mut [0; 4]), "py_full"));
    assert!(is_closed_error(&empty.try_pop(), "py_empty"));
    assert!(is_closed_error(&empty.try_push(1), "py_empty"));
    for q in [&empty, &full] {
        assert_eq!((q.len(), q.waiting_consumers(), q.waiting_producers(), q.lost()), (0, 0, 0, 0), "{}", q.name());
    }
}

#[test]
fn an_spsc_queue_is_not_closed_beside_a_live_producer_and_closing_twice_is_fine() {
    let fx = Fixture::new("edge");
    let q = Queue::<u64, Spsc>::open(&fx.seg, "edge").unwrap();
    let mut p = q.producer().unwrap();
    assert!(p.try_push(11).unwrap() && p.try_push(12).unwrap());

    // While this producer holds the role, nobody closes the queue through it.
    let out = finish(spawn(&mut fx.c(&["edge_held"]), "the C edge cases"));
    assert!(out.contains("C edge held ok"), "{out}");
    let out = finish(spawn(&mut fx.python("edge_held", &[]), "the Python edge cases"));
    assert!(out.contains("Python edge held ok"), "{out}");
    assert!(matches!(q.close(), Err(Error::RoleTaken { .. })), "Rust's own Queue::close");
    assert!(!q.is_closed() && !p.is_closed());
    assert!(p.try_push(13).unwrap(), "still open");
    drop(p);

    // The role is free: C closes twice, drains what was pushed before and finds it closed.
    let out = finish(spawn(&mut fx.c(&["edge_free"]), "the C close"));
    assert!(out.contains("C edge closed ok"), "{out}");
    assert!(q.is_closed());
    q.close().unwrap(); // again, from Rust
    let mut p = q.producer().unwrap();
    assert!(p.is_closed());
    assert!(is_closed_error(&p.try_push(14), "edge"));
    p.close();
    drop(p);
    let mut c = q.consumer().unwrap();
    assert!(is_closed_error(&c.try_pop(), "edge"));
    assert_eq!((q.len(), q.lost()), (0, 0));
}

/// The accepted count a producer of the race reports (`<who> accepted N`).
fn accepted(out: &str, who: &str) -> u64 {
    let prefix = format!("{who} accepted ");
    let line = out.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{who}: {out}"));
    let n = line[prefix.len()..].split(' ').next().unwrap();
    n.parse().unwrap_or_else(|e| panic!("{who}: {line:?}: {e}"))
}

#[test]
fn a_close_racing_c_python_and_rust_producers_refuses_exactly_what_it_does_not_deliver() {
    let fx = Fixture::new("race");
    let q = Queue::<Item, Mpmc>::open(&fx.seg, "race").unwrap();
    let started = Atomic::<u64>::open(&fx.seg, "started").unwrap();
    let warm = WARM.to_string();
    let tag = |i: usize| RACE_TAGS[i].to_string();
    let mut peers = vec![
        spawn(&mut fx.c(&["race_push", &tag(0), &warm]), "the first C producer"),
        spawn(&mut fx.c(&["race_push", &tag(1), &warm]), "the second C producer"),
        spawn(&mut fx.python("race_push", &[&tag(2), &warm]), "the Python producer"),
    ];

    // The Rust producer: blocking pushes, and every 5th a push_bulk of 4, until refused.
    let (prod_tx, prod_rx) = mpsc::channel();
    let (p, s) = (q.clone(), started.clone());
    std::thread::spawn(move || {
        let tag = RACE_TAGS[3];
        let mut i = 0u64;
        let mut counted = false;
        let refused = loop {
            let r = if i % 5 == 4 {
                let batch: Vec<Item> = (i..i + 4).map(|j| item(j, tag)).collect();
                p.push_bulk(&batch).map(|n| i += n as u64)
            } else {
                p.push(item(i, tag), Some(PEER_LIMIT)).map(|()| i += 1)
            };
            match r {
                Ok(()) => {}
                Err(e) => break e,
            }
            if !counted && i >= WARM {
                s.fetch_add(1);
                counted = true;
            }
        };
        let after = p.try_push(item(i, tag));
        prod_tx.send((i, counted, refused, after)).unwrap();
    });

    // The consumer: blocking pops, and every 3rd a pop_bulk, until closed; every producer's
    // elements arrive in order, once each.
    let (cons_tx, cons_rx) = mpsc::channel();
    let c = q.clone();
    std::thread::spawn(move || {
        let mut next = [0u64; 4];
        let mut buf = [item(0, 0); 8];
        let mut k = 0u64;
        // Ok(the error the pops ended with), or Err(what was wrong with an element).
        let result: Result<Error, String> = loop {
            k += 1;
            let got = if k % 3 == 0 {
                c.pop_bulk(&mut buf).map(|n| buf[..n].to_vec())
            } else {
                c.pop(Some(PEER_LIMIT)).map(|it| vec![it])
            };
            let got = match got {
                Ok(got) => got,
                Err(e) => break Ok(e),
            };
            let wrong = got.iter().find_map(|it| {
                let Some(who) = RACE_TAGS.iter().position(|&t| t == it.tag) else {
                    return Some(format!("a stray element {it:?}"));
                };
                if it.seq != next[who] || it.check != check_of(it.seq) {
                    return Some(format!("producer {who}: {it:?}, expected seq {}", next[who]));
                }
                next[who] += 1;
                None
            });
            if let Some(wrong) = wrong {
                break Err(wrong);
            }
        };
        cons_tx.send((next, result)).unwrap();
    });

    until(&mut peers, "every producer to push its first elements", || started.load() == RACE_TAGS.len() as u64);
    q.close().unwrap();
    assert!(q.is_closed());

    let outputs: Vec<String> = peers.into_iter().map(finish).collect();
    let (rust_n, counted, refused, after) = prod_rx.recv_timeout(PEER_LIMIT).expect("the Rust producer never stopped");
    assert!(counted, "the Rust producer pushed its first elements before the close");
    assert!(is_closed_error(&Err::<(), _>(refused), "race"), "the Rust producer stopped on the close");
    assert!(is_closed_error(&after, "race"));
    let (next, result) = cons_rx.recv_timeout(PEER_LIMIT).expect("the consumer never saw the close");
    let err = result.unwrap_or_else(|wrong| panic!("the consumer: {wrong}"));
    assert!(matches!(&err, Error::Closed { structure } if structure == "race"), "the consumer: {err}");
    let accepted = [accepted(&outputs[0], "C"), accepted(&outputs[1], "C"), accepted(&outputs[2], "Python"), rust_n];
    assert!(accepted.iter().all(|&n| n >= WARM), "{accepted:?}");
    assert_eq!(next, accepted, "every accepted element was delivered, and nothing else");
    assert_eq!((q.len(), q.lost(), q.waiting_consumers(), q.waiting_producers()), (0, 0, 0, 0));
}
