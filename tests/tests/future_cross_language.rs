//! Futures across languages, through libzipc and the code zipc-schema generates. A Rust process
//! creates the futures and a few counters, then:
//!
//! * **A value set in C, awaited elsewhere**: a C peer sets `reading`, a struct of several fields
//!   (a u64, an `[f64; 4]`, a u32 and two u16), once Rust has seen the Python peer and a Rust
//!   child asleep waiting for it; both check every field. A second set from C is refused
//!   (`was_set` 0) and leaves the value. The Python peer sets `py_reading` from a tuple, which
//!   Rust checks field by field.
//! * **A lazy value raced**: the C, Python and Rust peers are released together on `lazy` (u64),
//!   C with `zipc_future_begin`/`_complete`, Python and Rust with `get_or_init`. The one told to
//!   compute it counts itself in `computed`, says so in `computing` and holds the setting until
//!   Rust sees the two others asleep in their begin (and its own zero-timeout set time out);
//!   then it completes with its own value. Exactly one computed, and all read that value.
//! * **A setter killed**: a C peer begins `orphan_py` and `orphan_rs` and is SIGKILLed holding
//!   both. A Python `get_or_init` (and a Rust `wait` beside it) asleep on `orphan_py`, and a Rust
//!   `set` asleep on `orphan_rs`, take over: `takeovers` is 1 on each, and the value is the
//!   survivor's own.
//! * **Edge cases of the C ABI** (on `edge` and `edge2`, before the race): NULLs are
//!   `ZIPC_ERR_NULL` (0 for the queries), a wrong size `ZIPC_ERR_INVALID_ARGUMENT`, complete and
//!   abandon without a begin are refused, an abandoned setting is begun again, and a second set
//!   gives `was_set` 0 and leaves the value. The Python peer walks `py_edge` the same way.
//!
//! Nothing depends on timing: every "is asleep" is a condition Rust polls through inspect, and
//! every wait has a generous hang guard.

use std::process::Command;
use std::time::{Duration, Instant};

use zipc::inspect::State;
use zipc::{Atomic, Error, Future, Segment};
use zipc_schema::{Arena, Schema};
use zipc_tests::native::{compile_c, finish, python_command, scratch, spawn, write_generated, Link, Peer, PEER_LIMIT};
use zipc_tests::{child_args, numpy_python, role_command, ShmName};

const SCHEMA: &str = r#"
[segment]
name = "/zipc_futures"
max_entries = 20

[types.Reading]
doc = "A sensor reading: every field is checked where it is read."
fields = [
    { name = "seq", type = "u64" },
    { name = "values", type = "[f64; 4]" },
    { name = "sensor", type = "u32" },
    { name = "flags", type = "u16" },
    { name = "unit", type = "u16" },
]

[[structures]]
name = "reading"
kind = "future"
type = "Reading"
doc = "Set by C; awaited by Python and a Rust child."

[[structures]]
name = "py_reading"
kind = "future"
type = "Reading"
doc = "Set by Python from a tuple; read by Rust."

[[structures]]
name = "lazy"
kind = "future"
type = "u64"
doc = "Computed on first demand by exactly one of C, Python and Rust."

[[structures]]
name = "orphan_py"
kind = "future"
type = "u64"
doc = "Begun by a C peer killed holding it; a Python get_or_init takes over."

[[structures]]
name = "orphan_rs"
kind = "future"
type = "u64"
doc = "Begun by a C peer killed holding it; a Rust set takes over."

[[structures]]
name = "edge"
kind = "future"
type = "u64"
doc = "The C peer's edge cases."

[[structures]]
name = "edge2"
kind = "future"
type = "u64"
doc = "The C peer's set-twice case, through the typed wrappers."

[[structures]]
name = "py_edge"
kind = "future"
type = "u64"
doc = "The Python peer's edge cases."

[[structures]]
name = "computed"
kind = "atomic"
type = "u64"
doc = "Incremented by whoever computes `lazy`."

[[structures]]
name = "ready"
kind = "atomic"
type = "u64"
doc = "Participants waiting for `go`."

[[structures]]
name = "go"
kind = "atomic"
type = "u64"
doc = "Set by Rust when every participant is ready."

[[structures]]
name = "computing"
kind = "atomic"
type = "u64"
doc = "Set by the one computing `lazy`."

[[structures]]
name = "release"
kind = "atomic"
type = "u64"
doc = "Set by Rust when the others are asleep in their begin: the computer completes."

[[structures]]
name = "publish"
kind = "atomic"
type = "u64"
doc = "Set by Rust when Python and the Rust child are asleep waiting for `reading`: C sets it."

[[structures]]
name = "holding"
kind = "atomic"
type = "u64"
doc = "Set by the C holder once it holds both orphans' settings."
"#;

#[derive(
    Clone, Copy, Debug, PartialEq, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout, zipc::ShmType,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Reading {
    seq: u64,
    values: [f64; 4],
    sensor: u32,
    flags: u16,
    unit: u16,
}

/// What C sets `reading` to (its source spells the same values).
const C_READING: Reading = Reading {
    seq: 0x0123_4567_89ab_cdef,
    values: [1.5, -2.25, 1e300, 0.1],
    sensor: 0xdead_beef,
    flags: 0xa5a5,
    unit: 7,
};

/// What Python sets `py_reading` to (its source spells the same values).
const PY_READING: Reading =
    Reading { seq: u64::MAX - 1, values: [-0.0, 3.75, -1e-300, 42.0], sensor: 1, flags: 0x8001, unit: 0xffff };

/// The value each participant computes for `lazy`.
const C_LAZY: u64 = 0xc0c0_c0c0_0000_0001;
const PY_LAZY: u64 = 0x9e7a_0000_0000_0002;
const RUST_LAZY: u64 = 0x5757_0000_0000_0003;

/// The values the survivors set after the C holder is killed.
const PY_TAKEOVER: u64 = 0x9e7a_0000_0000_0011;
const RUST_TAKEOVER: u64 = 0x5757_0000_0000_0012;

/// The participants of the race: C, Python and a Rust child.
const PARTICIPANTS: u64 = 3;

/// How long a peer polls a flag or waits before it gives up (a hang guard, never reached).
const LIMIT_S: u64 = 240;

const C_PEER: &str = r#"#include "futures.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)
#define EXPECT(cond, ...) do { if (!(cond)) { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); return 1; } } while (0)
#define LIMIT_NS ((int64_t)LIMIT_S * 1000000000)

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

static zipc_atomic *flag(const zipc_segment *seg, const char *name) {
    zipc_atomic *a = NULL;
    if (zipc_atomic_open(seg, name, &a) != ZIPC_OK) fprintf(stderr, "%s: %s\n", name, zipc_last_error());
    return a;
}

static Reading c_reading(void) {
    Reading r;
    memset(&r, 0, sizeof r);
    r.seq = UINT64_C(0x0123456789abcdef);
    r.values[0] = 1.5;
    r.values[1] = -2.25;
    r.values[2] = 1e300;
    r.values[3] = 0.1;
    r.sensor = 0xdeadbeefu;
    r.flags = 0xa5a5;
    r.unit = 7;
    return r;
}

static int same(const Reading *a, const Reading *b) {
    return a->seq == b->seq && a->values[0] == b->values[0] && a->values[1] == b->values[1]
        && a->values[2] == b->values[2] && a->values[3] == b->values[3] && a->sensor == b->sensor
        && a->flags == b->flags && a->unit == b->unit;
}

/* The C ABI's edge cases, on `edge` and `edge2`. */
static int edges(const zipc_segment *seg) {
    zipc_future *edge, *edge2, *reading, *f = NULL;
    uint64_t v = 0, w = 0;
    int flag_ = 7;
    zipc_status st;
    Reading r;
    memset(&r, 0, sizeof r);
    CHECK(futures_edge_open(seg, &edge));
    CHECK(futures_edge2_open(seg, &edge2));
    CHECK(futures_reading_open(seg, &reading));

    /* NULLs. */
    EXPECT(zipc_future_open(NULL, "edge", 8, NULL, &f) == ZIPC_ERR_NULL, "open NULL seg");
    EXPECT(zipc_future_open(seg, NULL, 8, NULL, &f) == ZIPC_ERR_NULL, "open NULL name");
    EXPECT(zipc_future_open(seg, "edge", 8, NULL, NULL) == ZIPC_ERR_NULL, "open NULL out");
    EXPECT(zipc_future_set(NULL, &v, 8, 0, &flag_) == ZIPC_ERR_NULL, "set NULL f");
    EXPECT(zipc_future_set(edge, NULL, 8, 0, &flag_) == ZIPC_ERR_NULL, "set NULL elem");
    EXPECT(zipc_future_try_get(NULL, &v, 8) == ZIPC_ERR_NULL, "try_get NULL f");
    EXPECT(zipc_future_try_get(edge, NULL, 8) == ZIPC_ERR_NULL, "try_get NULL out");
    EXPECT(zipc_future_wait(NULL, &v, 8, 0) == ZIPC_ERR_NULL, "wait NULL f");
    EXPECT(zipc_future_wait(edge, NULL, 8, 0) == ZIPC_ERR_NULL, "wait NULL out");
    EXPECT(zipc_future_begin(NULL, 0, &flag_) == ZIPC_ERR_NULL, "begin NULL f");
    EXPECT(zipc_future_begin(edge, 0, NULL) == ZIPC_ERR_NULL, "begin NULL must_set");
    EXPECT(zipc_future_complete(NULL, &v, 8) == ZIPC_ERR_NULL, "complete NULL f");
    EXPECT(zipc_future_complete(edge, NULL, 8) == ZIPC_ERR_NULL, "complete NULL elem");
    EXPECT(zipc_future_abandon(NULL) == ZIPC_ERR_NULL, "abandon NULL");
    EXPECT(zipc_future_is_ready(NULL) == 0 && zipc_future_takeovers(NULL) == 0 && zipc_future_elem_size(NULL) == 0,
           "queries of NULL");
    zipc_future_close(NULL);
    EXPECT(zipc_last_status() == ZIPC_ERR_NULL && strstr(zipc_last_error(), "NULL") != NULL, "last error: %s",
           zipc_last_error());

    /* Opening with the wrong value, or something that is not a future. */
    st = zipc_future_open(seg, "edge", 4, NULL, &f);
    EXPECT(st != ZIPC_OK && f == NULL, "a 4-byte open of an 8-byte future: %s", zipc_status_name(st));
    st = zipc_future_open(seg, "edge", 8, "f64", &f);
    EXPECT(st != ZIPC_OK && f == NULL, "an f64 open of a u64 future: %s", zipc_status_name(st));
    st = zipc_future_open(seg, "computed", 8, NULL, &f);
    EXPECT(st != ZIPC_OK && f == NULL, "an atomic opened as a future: %s", zipc_status_name(st));
    EXPECT(zipc_future_elem_size(edge) == 8, "elem_size %zu", zipc_future_elem_size(edge));
    EXPECT(zipc_future_elem_size(reading) == sizeof(Reading), "reading elem_size %zu",
           zipc_future_elem_size(reading));

    /* Wrong sizes. */
    v = 5;
    flag_ = 7;
    st = zipc_future_set(edge, &v, 4, 0, &flag_);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT && flag_ == 0, "set of 4 bytes: %s, was_set %d", zipc_status_name(st), flag_);
    st = zipc_future_try_get(edge, &r, sizeof r);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "try_get of %zu bytes: %s", sizeof r, zipc_status_name(st));
    st = zipc_future_wait(edge, &v, 0, 0);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "wait of 0 bytes: %s", zipc_status_name(st));
    st = zipc_future_wait(reading, &v, sizeof v, 0);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "wait of 8 bytes on a Reading: %s", zipc_status_name(st));
    st = zipc_future_complete(edge, &v, 9);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "complete of 9 bytes: %s", zipc_status_name(st));
    EXPECT(zipc_future_is_ready(edge) == 0, "nothing set by a refused call");

    /* Not set yet. */
    v = 77;
    EXPECT(zipc_future_try_get(edge, &v, 8) == ZIPC_AGAIN && v == 77, "try_get before the set");
    st = zipc_future_wait(edge, &v, 8, 0);
    EXPECT(st == ZIPC_ERR_TIMEOUT && v == 77, "wait before the set: %s", zipc_status_name(st));
    st = zipc_future_wait(edge, &v, 8, 1000000);
    EXPECT(st == ZIPC_ERR_TIMEOUT, "a 1 ms wait before the set: %s", zipc_status_name(st));

    /* Complete and abandon without a begin. */
    st = zipc_future_complete(edge, &v, 8);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "complete without a begin: %s", zipc_status_name(st));
    st = zipc_future_abandon(edge);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "abandon without a begin: %s", zipc_status_name(st));
    EXPECT(zipc_future_is_ready(edge) == 0, "complete without a begin set nothing");

    /* Begin, abandon, begin again, complete. */
    flag_ = 7;
    CHECK(zipc_future_begin(edge, 0, &flag_));
    EXPECT(flag_ == 1, "the first begin must set it: %d", flag_);
    EXPECT(zipc_future_is_ready(edge) == 0, "held, not set");
    CHECK(zipc_future_abandon(edge));
    EXPECT(zipc_future_abandon(edge) == ZIPC_ERR_INVALID_ARGUMENT, "abandoned twice");
    EXPECT(zipc_future_try_get(edge, &v, 8) == ZIPC_AGAIN, "abandoned, not set");
    flag_ = 7;
    CHECK(zipc_future_begin(edge, -1, &flag_));
    EXPECT(flag_ == 1, "after the abandon it must be set again: %d", flag_);
    st = zipc_future_complete(edge, &v, 4);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT && zipc_future_is_ready(edge) == 0, "a refused complete keeps the hold");
    v = 42;
    CHECK(zipc_future_complete(edge, &v, 8));
    EXPECT(zipc_future_is_ready(edge) == 1, "completed: ready");
    v = 43;
    st = zipc_future_complete(edge, &v, 8);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "complete twice: %s", zipc_status_name(st));
    EXPECT(zipc_future_abandon(edge) == ZIPC_ERR_INVALID_ARGUMENT, "abandon after completing");

    /* A second set: was_set 0, the value stays. */
    w = 99;
    flag_ = 7;
    CHECK(zipc_future_set(edge, &w, 8, 0, &flag_));
    EXPECT(flag_ == 0, "a set after the value: was_set %d", flag_);
    CHECK(zipc_future_set(edge, &w, 8, -1, NULL));
    v = 0;
    CHECK(zipc_future_try_get(edge, &v, 8));
    EXPECT(v == 42, "the value stays the first: %llu", (unsigned long long)v);
    v = 0;
    CHECK(zipc_future_wait(edge, &v, 8, 0));
    EXPECT(v == 42, "wait: %llu", (unsigned long long)v);
    flag_ = 7;
    CHECK(zipc_future_begin(edge, 0, &flag_));
    EXPECT(flag_ == 0, "set: nothing to begin");
    EXPECT(zipc_future_takeovers(edge) == 0, "no takeover");

    /* `edge2` through the typed wrappers: set, then set again. */
    v = 7;
    flag_ = 7;
    CHECK(futures_edge2_set(edge2, &v, 0, &flag_));
    EXPECT(flag_ == 1, "the first set sets it: %d", flag_);
    v = 8;
    CHECK(futures_edge2_set(edge2, &v, 0, &flag_));
    EXPECT(flag_ == 0, "the second set does not: %d", flag_);
    v = 0;
    CHECK(futures_edge2_try_get(edge2, &v));
    EXPECT(v == 7, "edge2 %llu", (unsigned long long)v);
    CHECK(futures_edge2_begin(edge2, 0, &flag_));
    EXPECT(flag_ == 0, "edge2 is set");
    st = futures_edge2_complete(edge2, &v);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "typed complete without a hold: %s", zipc_status_name(st));

    zipc_future_close(reading);
    zipc_future_close(edge2);
    zipc_future_close(edge);
    return 0;
}

static int race(const zipc_segment *seg) {
    zipc_future *lazy, *reading;
    zipc_atomic *computed = flag(seg, "computed"), *ready = flag(seg, "ready"), *go = flag(seg, "go");
    zipc_atomic *computing = flag(seg, "computing"), *release = flag(seg, "release"), *publish = flag(seg, "publish");
    int must_set = 7, was_set = 7, mine = 0;
    uint64_t value = 0, again = 0;
    int64_t n = 0;
    Reading r = c_reading(), other = c_reading(), got;
    if (!computed || !ready || !go || !computing || !release || !publish) return 1;
    CHECK(futures_lazy_open(seg, &lazy));
    CHECK(futures_reading_open(seg, &reading));

    /* `lazy`, begun together with the others. */
    CHECK(zipc_atomic_fetch_add(ready, 1, NULL));
    if (until_set(go, "go")) return 1;
    CHECK(futures_lazy_begin(lazy, LIMIT_NS, &must_set));
    EXPECT(must_set == 0 || must_set == 1, "must_set %d", must_set);
    mine = must_set;
    if (mine) {
        CHECK(zipc_atomic_fetch_add(computed, 1, NULL));
        CHECK(zipc_atomic_store(computing, 1));
        if (until_set(release, "release")) return 1;
        value = UINT64_C(C_LAZY);
        CHECK(futures_lazy_complete(lazy, &value));
    }
    value = 0;
    CHECK(futures_lazy_wait(lazy, &value, LIMIT_NS));
    CHECK(futures_lazy_try_get(lazy, &again));
    EXPECT(value == again, "wait %llu, try_get %llu", (unsigned long long)value, (unsigned long long)again);
    CHECK(zipc_atomic_load(computed, &n));
    EXPECT(n == 1, "computed %lld", (long long)n);
    CHECK(futures_lazy_begin(lazy, 0, &must_set));
    EXPECT(must_set == 0, "a second begin sets nothing");
    EXPECT(mine == (value == UINT64_C(C_LAZY)), "C computed %d, read %llu", mine, (unsigned long long)value);
    printf("C lazy %llu computed %d\n", (unsigned long long)value, mine);

    /* `reading`, once the others wait for it. */
    if (until_set(publish, "publish")) return 1;
    CHECK(futures_reading_set(reading, &r, LIMIT_NS, &was_set));
    EXPECT(was_set == 1, "C sets the reading: was_set %d", was_set);
    other.seq = 1;
    other.values[2] = -1.0;
    CHECK(futures_reading_set(reading, &other, 0, &was_set));
    EXPECT(was_set == 0, "a second set is refused: was_set %d", was_set);
    memset(&got, 0, sizeof got);
    CHECK(futures_reading_wait(reading, &got, 0));
    EXPECT(same(&got, &r), "the reading stays the first");
    printf("C reading set\n");

    zipc_future_close(reading);
    zipc_future_close(lazy);
    zipc_atomic_close(publish);
    zipc_atomic_close(release);
    zipc_atomic_close(computing);
    zipc_atomic_close(go);
    zipc_atomic_close(ready);
    zipc_atomic_close(computed);
    return 0;
}

/* Begins both orphans and sleeps until killed. */
static int hold(const zipc_segment *seg) {
    zipc_future *orphan_py, *orphan_rs;
    zipc_atomic *holding = flag(seg, "holding");
    struct timespec nap = { 0, 1000000 };
    int must_set = 7;
    long i;
    if (!holding) return 1;
    CHECK(futures_orphan_py_open(seg, &orphan_py));
    CHECK(futures_orphan_rs_open(seg, &orphan_rs));
    CHECK(futures_orphan_py_begin(orphan_py, 0, &must_set));
    EXPECT(must_set == 1, "orphan_py: must_set %d", must_set);
    must_set = 7;
    CHECK(futures_orphan_rs_begin(orphan_rs, 0, &must_set));
    EXPECT(must_set == 1, "orphan_rs: must_set %d", must_set);
    CHECK(zipc_atomic_store(holding, 1));
    for (i = 0; i < LIMIT_S * 1000L; i++) nanosleep(&nap, NULL);
    fprintf(stderr, "not killed\n");
    return 1;
}

int main(int argc, char **argv) {
    zipc_segment *seg;
    int rc;
    if (argc != 3) return 64;
    CHECK(futures_segment_open(argv[1], &seg, NULL));
    if (strcmp(argv[2], "race") == 0) {
        rc = edges(seg);
        if (rc == 0) rc = race(seg);
    } else if (strcmp(argv[2], "hold") == 0) {
        rc = hold(seg);
    } else {
        rc = 64;
    }
    zipc_segment_close(seg);
    return rc;
}
"#;

const PY_PEER: &str = r#"
import sys
import time
import numpy as np
import futures
import zipc_runtime

seg = futures.open(sys.argv[1])
mode, limit = sys.argv[2], float(sys.argv[3])


def until_set(atomic, what):
    end = time.monotonic() + limit
    while atomic.load() == 0:
        assert time.monotonic() < end, "no " + what
        time.sleep(0.001)


def check_reading(r):
    assert r.dtype == futures.Reading, r.dtype
    assert r["seq"] == 0x0123456789ABCDEF, hex(int(r["seq"]))
    assert list(r["values"]) == [1.5, -2.25, 1e300, 0.1], r["values"]
    assert r["sensor"] == 0xDEADBEEF and r["flags"] == 0xA5A5 and r["unit"] == 7, r


def edges():
    f = seg.py_edge
    assert isinstance(f, zipc_runtime.Future), type(f)
    assert f.dtype == np.dtype("<u8"), f.dtype
    assert f.try_get() is None and not f.is_ready
    try:
        f.wait(0)
        raise AssertionError("waited on a future not set")
    except TimeoutError:
        pass
    for end in (f.abandon, lambda: f.complete(1)):
        try:
            end()
            raise AssertionError("ended a setting it does not hold")
        except zipc_runtime.InvalidArgumentError:
            pass

    def fails():
        raise RuntimeError("compute failed")

    try:
        f.get_or_init(fails)
        raise AssertionError("the exception was swallowed")
    except RuntimeError as e:
        assert str(e) == "compute failed"
    assert not f.is_ready and f.try_get() is None, "a failed compute sets nothing"
    try:
        f.get_or_init(lambda: "not a number")
        raise AssertionError("a value that is not one was set")
    except ValueError:
        pass
    assert not f.is_ready, "a bad value is abandoned"
    assert f.begin(0) is True
    f.abandon()
    assert f.begin(0) is True
    f.complete(5)
    assert f.is_ready and f.try_get() == 5 and isinstance(f.try_get(), np.uint64)
    assert f.set(6) is False and f.set(7, timeout=0) is False
    assert f.try_get() == 5 and f.wait(0) == 5 and f.wait() == 5
    calls = []
    assert f.get_or_init(lambda: calls.append(1) or 8) == 5 and calls == []
    assert f.begin(0) is False
    assert f.takeovers == 0

    # A struct value from a tuple, read back field by field (and by Rust).
    p = seg.py_reading
    assert p.try_get() is None
    value = (2**64 - 2, [-0.0, 3.75, -1e-300, 42.0], 1, 0x8001, 0xFFFF)
    assert p.set(value) is True
    assert p.set((1, [0.0] * 4, 0, 0, 0)) is False
    got = p.wait(0)
    assert got["seq"] == 2**64 - 2 and list(got["values"]) == [-0.0, 3.75, -1e-300, 42.0], got
    assert got["sensor"] == 1 and got["flags"] == 0x8001 and got["unit"] == 0xFFFF, got


if mode == "race":
    edges()
    seg.ready.fetch_add(1)
    until_set(seg.go, "go")
    ran = []

    def compute():
        ran.append(1)
        seg.computed.fetch_add(1)
        seg.computing.store(1)
        until_set(seg.release, "release")
        return PY_LAZY

    value = seg.lazy.get_or_init(compute, timeout=limit)
    assert seg.lazy.is_ready and seg.lazy.try_get() == value and seg.lazy.wait(0) == value
    assert seg.computed.load() == 1, seg.computed.load()
    assert seg.lazy.begin(0) is False
    assert bool(ran) == (value == PY_LAZY), (ran, value)
    print("Python lazy %d computed %d" % (int(value), len(ran)))

    r = seg.reading.wait(limit)
    check_reading(r)
    check_reading(seg.reading.try_get())
    assert seg.reading.set(r) is False
    print("Python reading ok")
elif mode == "take_over":
    f = seg.orphan_py
    assert not f.is_ready and f.takeovers == 0
    ran = []
    value = f.get_or_init(lambda: ran.append(1) or PY_TAKEOVER, timeout=limit)
    assert ran == [1], "the survivor computes it"
    assert value == PY_TAKEOVER and f.try_get() == PY_TAKEOVER, value
    assert f.takeovers == 1, f.takeovers
    print("Python took over %d" % f.takeovers)
else:
    sys.exit("mode " + mode)
seg.close()
"#;

/// The Rust participant of the race: the child role of the test.
fn rust_peer(name: &str) {
    let seg = Segment::open(name).unwrap();
    let lazy = Future::<u64>::open(&seg, "lazy").unwrap();
    let reading = Future::<Reading>::open(&seg, "reading").unwrap();
    let flag = |n: &str| Atomic::<u64>::open(&seg, n).unwrap();
    let (computed, ready, go, computing, release) =
        (flag("computed"), flag("ready"), flag("go"), flag("computing"), flag("release"));
    let until_set = |a: &Atomic<u64>, what: &str| {
        let start = Instant::now();
        while a.load() == 0 {
            assert!(start.elapsed() < PEER_LIMIT, "no {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    ready.fetch_add(1);
    until_set(&go, "go");
    let mut ran = false;
    let value = lazy
        .get_or_init(|| {
            ran = true;
            computed.fetch_add(1);
            computing.store(1);
            until_set(&release, "release");
            RUST_LAZY
        })
        .unwrap();
    assert!(lazy.is_ready());
    assert_eq!(lazy.try_get(), Some(value));
    assert_eq!(computed.load(), 1);
    assert_eq!(ran, value == RUST_LAZY);
    println!("Rust lazy {value} computed {}", u8::from(ran));

    let r = reading.wait(Some(PEER_LIMIT)).unwrap();
    assert_eq!(r, C_READING, "every field as C set it");
    assert!(!reading.set(Reading { seq: 9, ..r }).unwrap(), "set already");
    assert_eq!(reading.try_get(), Some(C_READING));
    println!("Rust reading ok");
}

/// The future's live state, as inspect reads it.
fn inspected(seg: &Segment, name: &str) -> zipc::inspect::FutureState {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let entry = snap.entries.iter().find(|e| e.name == name).expect("in the table");
    assert!(entry.problems.is_empty(), "{:?}", entry.problems);
    let Some(State::Future(st)) = &entry.state else { panic!("future state: {:?}", entry.state) };
    st.clone()
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

/// The value and computed flag a peer's output reports (`<who> lazy V computed 0|1`).
fn lazy_line(out: &str, who: &str) -> (u64, bool) {
    let prefix = format!("{who} lazy ");
    let line = out.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{who}: {out}"));
    let (value, computed) = line[prefix.len()..].split_once(" computed ").unwrap_or_else(|| panic!("{line:?}"));
    let computed = match computed {
        "0" => false,
        "1" => true,
        other => panic!("{who}: computed {other:?}"),
    };
    (value.parse().unwrap_or_else(|e| panic!("{line:?}: {e}")), computed)
}

/// The C sources with the constants the Rust side defines.
fn c_source() -> String {
    C_PEER.replace("UINT64_C(C_LAZY)", &format!("UINT64_C({C_LAZY:#x})")).replace("LIMIT_S", &LIMIT_S.to_string())
}

fn py_source() -> String {
    format!("PY_LAZY = {PY_LAZY:#x}\nPY_TAKEOVER = {PY_TAKEOVER:#x}\n{PY_PEER}")
}

#[test]
fn futures_are_set_awaited_computed_lazily_and_taken_over_across_c_python_and_rust() {
    const TEST: &str = "futures_are_set_awaited_computed_lazily_and_taken_over_across_c_python_and_rust";
    if let Some(args) = child_args(TEST) {
        return rust_peer(&args[0]);
    }
    let arena = Arena::new();
    let schema = Schema::parse("futures.toml", SCHEMA, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("futures");
    write_generated(&schema, &dir);
    let c_exe = compile_c(&dir, "futures_peer", &c_source(), Link::Shared);
    let py_script = dir.join("futures_peer.py");
    std::fs::write(&py_script, py_source()).unwrap();
    let py = numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"));
    let limit = LIMIT_S.to_string();

    let name = ShmName::new("futures");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    let reading = Future::<Reading>::create(&seg, "reading").unwrap();
    let py_reading = Future::<Reading>::create(&seg, "py_reading").unwrap();
    let lazy = Future::<u64>::create(&seg, "lazy").unwrap();
    let orphan_py = Future::<u64>::create(&seg, "orphan_py").unwrap();
    let orphan_rs = Future::<u64>::create(&seg, "orphan_rs").unwrap();
    let edge = Future::<u64>::create(&seg, "edge").unwrap();
    let edge2 = Future::<u64>::create(&seg, "edge2").unwrap();
    let py_edge = Future::<u64>::create(&seg, "py_edge").unwrap();
    let flag = |n: &str| Atomic::<u64>::create(&seg, n, 0).unwrap();
    let (computed, ready, go, computing, release, publish, holding) = (
        flag("computed"),
        flag("ready"),
        flag("go"),
        flag("computing"),
        flag("release"),
        flag("publish"),
        flag("holding"),
    );

    // The edge cases and the race.
    let mut peers = vec![
        spawn(Command::new(&c_exe).args([name.as_str(), "race"]), "the C peer"),
        spawn(python_command(&py, &dir, &py_script).args([name.as_str(), "race", &limit]), "the Python peer"),
        spawn(&mut role_command(TEST, &[name.as_str()]), "the Rust peer"),
    ];
    until(&mut peers, "every participant to be ready", || ready.load() == PARTICIPANTS);
    assert!(!lazy.is_ready() && computed.load() == 0, "nobody began before the go");
    // The peers' edge cases are done: their values are as they left them.
    assert_eq!((edge.try_get(), edge2.try_get(), py_edge.try_get()), (Some(42), Some(7), Some(5)));
    assert_eq!(py_reading.try_get(), Some(PY_READING), "Python's struct value, field by field");
    go.store(1);

    // One computes it and holds the setting: a set or a get that does not wait times out.
    until(&mut peers, "the computer to compute", || computing.load() == 1);
    assert!(matches!(lazy.set_timeout(1, Duration::ZERO), Err(Error::Timeout)));
    assert!(matches!(lazy.wait(Some(Duration::ZERO)), Err(Error::Timeout)));
    assert_eq!(lazy.try_get(), None);
    assert!(inspected(&seg, "lazy").setter.is_some_and(|h| h.alive), "a live participant holds it");
    // The other two are asleep in their begin before the computer completes.
    until(&mut peers, "the two others to wait", || inspected(&seg, "lazy").waiters == PARTICIPANTS as u32 - 1);
    assert!(!lazy.is_ready());
    release.store(1);

    // Python and the Rust child wait for `reading`; then C sets it.
    until(&mut peers, "Python and Rust to wait for the reading", || inspected(&seg, "reading").waiters == 2);
    assert!(!reading.is_ready());
    publish.store(1);

    let outputs: Vec<String> = peers.into_iter().map(finish).collect();
    let lines = [lazy_line(&outputs[0], "C"), lazy_line(&outputs[1], "Python"), lazy_line(&outputs[2], "Rust")];
    let value = lazy.try_get().expect("set");
    assert_eq!(lines.iter().filter(|(_, c)| *c).count(), 1, "exactly one computed it: {outputs:?}");
    assert!(lines.iter().all(|&(v, _)| v == value), "every participant read {value:#x}: {lines:?}");
    let mine = [C_LAZY, PY_LAZY, RUST_LAZY];
    let who = lines.iter().position(|(_, c)| *c).unwrap();
    assert_eq!(value, mine[who], "the value is the computer's own");
    assert_eq!(computed.load(), 1, "computed once");
    assert!(outputs[0].contains("C reading set"), "{}", outputs[0]);
    assert!(outputs[1].contains("Python reading ok"), "{}", outputs[1]);
    assert!(outputs[2].contains("Rust reading ok"), "{}", outputs[2]);
    assert_eq!(reading.try_get(), Some(C_READING));
    for f in ["reading", "py_reading", "lazy", "edge", "edge2", "py_edge"] {
        let st = inspected(&seg, f);
        assert_eq!((st.ready, st.setter.is_none(), st.waiters, st.takeovers), (true, true, 0, 0), "{f}");
    }
    let st = inspected(&seg, "reading");
    assert_eq!(st.value.as_deref(), Some(zipc::zerocopy::IntoBytes::as_bytes(&C_READING)));

    // A C setter killed holding both orphans.
    let mut holder = spawn(Command::new(&c_exe).args([name.as_str(), "hold"]), "the C holder");
    until(std::slice::from_mut(&mut holder), "the C holder to hold", || holding.load() == 1);
    assert!(!orphan_py.is_ready() && !orphan_rs.is_ready());
    assert!(matches!(orphan_rs.set_timeout(1, Duration::ZERO), Err(Error::Timeout)), "held by a live setter");
    std::thread::scope(|s| {
        // A Rust waiter on `orphan_py` (which never sets it) and a Rust setter on `orphan_rs`.
        let waiter = s.spawn(|| orphan_py.wait(Some(PEER_LIMIT)));
        let setter = s.spawn(|| orphan_rs.set_timeout(RUST_TAKEOVER, PEER_LIMIT));
        let mut peers = vec![holder];
        until(&mut peers, "the Rust waiter and setter to wait", || {
            inspected(&seg, "orphan_py").waiters == 1 && inspected(&seg, "orphan_rs").waiters == 1
        });
        peers.push(spawn(
            python_command(&py, &dir, &py_script).args([name.as_str(), "take_over", &limit]),
            "the Python take-over",
        ));
        until(&mut peers, "Python to wait too", || inspected(&seg, "orphan_py").waiters == 2);
        let st = inspected(&seg, "orphan_py");
        assert!(st.setter.is_some_and(|h| h.alive) && !st.ready, "{st:?}");

        let mut child = peers.remove(0).0.take().unwrap();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success(), "the C holder: {status}");

        let out = finish(peers.pop().unwrap());
        assert!(out.contains("Python took over 1"), "{out}");
        assert_eq!(waiter.join().unwrap().unwrap(), PY_TAKEOVER, "the waiter reads the survivor's value");
        assert!(setter.join().unwrap().unwrap(), "the Rust setter took over and set it");
    });
    assert_eq!((orphan_py.try_get(), orphan_py.takeovers()), (Some(PY_TAKEOVER), 1));
    assert_eq!((orphan_rs.try_get(), orphan_rs.takeovers()), (Some(RUST_TAKEOVER), 1));
    for f in ["orphan_py", "orphan_rs"] {
        let st = inspected(&seg, f);
        assert_eq!((st.ready, st.setter.is_none(), st.waiters, st.takeovers), (true, true, 0, 1), "{f}");
    }

    drop((reading, py_reading, lazy, orphan_py, orphan_rs, edge, edge2, py_edge));
    drop((computed, ready, go, computing, release, publish, holding, seg));
    let _ = std::fs::remove_dir_all(&dir);
}
