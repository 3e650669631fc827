//! Readers–writer locks across languages, through libzipc and the code zipc-schema generates: a
//! Rust process creates an rwlock (`lock`) guarding two `u64` cells; a C, a Python and a Rust
//! process each do `ROUNDS` write-locked increments of both cells (the first one, then the
//! second: a reader or writer let in beside a writer would see them differ) and `ROUNDS`
//! read-locked checks that they are equal, with a `try_write` and a `try_read` every few rounds.
//! One that did its rounds goes on, napping between rounds, until all three have, so that they
//! overlap whatever their speeds. At the end both cells hold every increment the three
//! reported, and the lock is free.
//!
//! Then the kills: a C holder of `lock`'s write lock, SIGKILLed after it incremented only the
//! first cell, leaves the next Rust writer `writer_died()` with `writer_deaths() == 1` (it
//! repairs the cells and marks the lock consistent: later readers see it consistent); a C holder
//! of a read lock on `c_lock`, killed, has its slot freed by the next Rust writer
//! (`reader_deaths() == 1`, not a writer death); a Python holder of `py_lock`'s write lock,
//! killed, is taken over by a C writer, which sees the death, marks it consistent through
//! `zipc_rwlock_write_unlock`, and Rust sees it so.
//!
//! Before the race each peer walks its own lock (`c_lock`, `py_lock`) through the edges of its
//! API: NULL arguments, unlocks of locks it does not hold, `try_` calls refused by its own
//! readers or writer, a write that times out on its own read lock, the observers.
//!
//! Nothing depends on timing: peers start together on a `go` flag once all are ready, the holders
//! say they hold before they are killed, and every wait has a generous hang guard.

use std::process::Command;
use std::time::{Duration, Instant};

use zipc::inspect::State;
use zipc::{Array, Atomic, RwLock, Segment};
use zipc_schema::{Arena, Schema};
use zipc_tests::native::{compile_c, finish, python_command, scratch, spawn, write_generated, Link, Peer, PEER_LIMIT};
use zipc_tests::{child_args, numpy_python, role_command, ShmName};

const SCHEMA: &str = r#"
[segment]
name = "/zipc_rwlocks"
max_entries = 10

[[structures]]
name = "lock"
kind = "rwlock"
max_readers = 16
doc = "Guards `cells`: taken for writing and reading by every participant."

[[structures]]
name = "cells"
kind = "array"
type = "u64"
capacity = 2
doc = "Both incremented under `lock`'s write lock: always equal under its read lock."

[[structures]]
name = "c_lock"
kind = "rwlock"
max_readers = 4
doc = "The C peer's API walk, then a C reader killed holding it."

[[structures]]
name = "py_lock"
kind = "rwlock"
max_readers = 4
doc = "The Python peer's API walk, then a Python writer killed holding it."

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
name = "finished"
kind = "atomic"
type = "u64"
doc = "Participants that did their rounds (they go on, napping between rounds, until all have)."

[[structures]]
name = "holding"
kind = "atomic"
type = "u64"
doc = "Set by a holder once it holds the lock it will be killed holding."
"#;

/// Write-locked increments (and as many read-locked checks) of each participant, at least: one
/// that did them goes on, napping `NAP_US` between rounds, until every participant has, so that
/// all three overlap however fast each one is.
const ROUNDS: u64 = 2000;

/// The nap between a participant's rounds after its first `ROUNDS` (so the slowest one is not
/// starved by the fast ones), in microseconds.
const NAP_US: u64 = 200;

/// The participants of the race: C, Python and a Rust child.
const PARTICIPANTS: u64 = 3;

/// Every how many rounds a participant also tries `try_write` and `try_read`.
const TRY_EVERY: u64 = 16;

/// Hang guard of every wait of a peer, in seconds (never reached).
const LIMIT_S: u64 = 240;

const C_PEER: &str = r#"#include "rwlocks.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)
#define EXPECT(cond, ...) do { if (!(cond)) { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); return 1; } } while (0)
#define LIMIT_NS ((int64_t)LIMIT_S * 1000000000)

/* Sleeps 1 ms. */
static void nap(void) {
    struct timespec t = { 0, 1000000 };
    nanosleep(&t, NULL);
}

/* Sleeps NAP_US microseconds. */
static void short_nap(void) {
    struct timespec t = { 0, NAP_US * 1000L };
    nanosleep(&t, NULL);
}

/* Polls `a` until it is nonzero (1 ms naps, a hang guard of LIMIT_S seconds). */
static int until_set(const zipc_atomic *a, const char *what) {
    int64_t v = 0;
    long i;
    for (i = 0; i < LIMIT_S * 1000L; i++) {
        if (zipc_atomic_load(a, &v) != ZIPC_OK) return 1;
        if (v != 0) return 0;
        nap();
    }
    fprintf(stderr, "no %s\n", what);
    return 1;
}

/* The API's edges, on `c_lock`, which nobody else uses meanwhile. */
static int walk(zipc_rwlock *l) {
    int died = 7;
    zipc_status st;
    EXPECT(zipc_rwlock_read(NULL, 0, &died) == ZIPC_ERR_NULL, "read NULL");
    EXPECT(zipc_rwlock_try_read(NULL, &died) == ZIPC_ERR_NULL, "try_read NULL");
    EXPECT(zipc_rwlock_read_unlock(NULL) == ZIPC_ERR_NULL, "read_unlock NULL");
    EXPECT(zipc_rwlock_write(NULL, 0, &died) == ZIPC_ERR_NULL, "write NULL");
    EXPECT(zipc_rwlock_try_write(NULL, &died) == ZIPC_ERR_NULL, "try_write NULL");
    EXPECT(zipc_rwlock_write_unlock(NULL, 0) == ZIPC_ERR_NULL, "write_unlock NULL");
    EXPECT(zipc_rwlock_readers(NULL) == 0 && zipc_rwlock_max_readers(NULL) == 0, "counts of NULL");
    EXPECT(zipc_rwlock_is_write_locked(NULL) == 0 && zipc_rwlock_writer_died(NULL) == 0, "flags of NULL");
    EXPECT(zipc_rwlock_writer_deaths(NULL) == 0 && zipc_rwlock_reader_deaths(NULL) == 0, "deaths of NULL");
    zipc_rwlock_close(NULL);

    EXPECT(zipc_rwlock_max_readers(l) == 4, "max_readers %u", zipc_rwlock_max_readers(l));
    EXPECT(zipc_rwlock_readers(l) == 0 && zipc_rwlock_is_write_locked(l) == 0, "free at first");
    st = zipc_rwlock_read_unlock(l);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "read_unlock without a read lock: %s", zipc_status_name(st));
    st = zipc_rwlock_write_unlock(l, 0);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "write_unlock without the write lock: %s", zipc_status_name(st));

    /* Two read locks of this process: writers are refused, or time out, on them. */
    CHECK(zipc_rwlock_read(l, 0, &died));
    EXPECT(died == 0, "read: writer died %d", died);
    CHECK(zipc_rwlock_try_read(l, NULL));
    EXPECT(zipc_rwlock_readers(l) == 2, "two readers: %u", zipc_rwlock_readers(l));
    st = zipc_rwlock_try_write(l, &died);
    EXPECT(st == ZIPC_AGAIN, "try_write beside readers: %s", zipc_status_name(st));
    st = zipc_rwlock_write(l, 0, &died);
    EXPECT(st == ZIPC_ERR_TIMEOUT, "write beside its own readers: %s", zipc_status_name(st));
    EXPECT(zipc_rwlock_is_write_locked(l) == 0, "a timed-out writer withdraws");
    CHECK(zipc_rwlock_read_unlock(l));
    CHECK(zipc_rwlock_read_unlock(l));
    EXPECT(zipc_rwlock_read_unlock(l) == ZIPC_ERR_INVALID_ARGUMENT, "a third read_unlock");
    EXPECT(zipc_rwlock_readers(l) == 0, "no readers left");

    /* The write lock: readers and other writers are refused. */
    died = 7;
    CHECK(zipc_rwlock_try_write(l, &died));
    EXPECT(died == 0, "try_write: writer died %d", died);
    EXPECT(zipc_rwlock_is_write_locked(l) == 1, "write locked");
    EXPECT(zipc_rwlock_try_read(l, NULL) == ZIPC_AGAIN, "try_read beside the writer");
    EXPECT(zipc_rwlock_try_write(l, NULL) == ZIPC_AGAIN, "try_write beside the writer");
    st = zipc_rwlock_read(l, 0, NULL);
    EXPECT(st == ZIPC_ERR_TIMEOUT, "read beside the writer: %s", zipc_status_name(st));
    CHECK(zipc_rwlock_write_unlock(l, 0));
    EXPECT(zipc_rwlock_write_unlock(l, 0) == ZIPC_ERR_INVALID_ARGUMENT, "write_unlock twice");
    CHECK(zipc_rwlock_write(l, LIMIT_NS, NULL));
    CHECK(zipc_rwlock_write_unlock(l, 1));
    EXPECT(zipc_rwlock_is_write_locked(l) == 0 && zipc_rwlock_writer_died(l) == 0, "free and consistent");
    EXPECT(zipc_rwlock_writer_deaths(l) == 0 && zipc_rwlock_reader_deaths(l) == 0, "nobody died");
    return 0;
}

/* ROUNDS increments and checks of `cells` under `lock`; prints the increments made. */
static int race(zipc_segment *seg, zipc_rwlock *lock) {
    zipc_atomic *ready, *go, *finished;
    uint64_t *data, len = 0, done = 0, i;
    volatile uint64_t *cells;
    int died = 7;
    CHECK(rwlocks_ready_open(seg, &ready));
    CHECK(rwlocks_go_open(seg, &go));
    CHECK(rwlocks_finished_open(seg, &finished));
    CHECK(rwlocks_cells(seg, &data, &len));
    EXPECT(len == 2, "cells: %llu", (unsigned long long)len);
    cells = data;
    CHECK(zipc_atomic_fetch_add(ready, 1, NULL));
    if (until_set(go, "go")) return 1;
    for (i = 0;; i++) {
        uint64_t a, b;
        if (i == ROUNDS) CHECK(zipc_atomic_fetch_add(finished, 1, NULL));
        if (i >= ROUNDS) {
            int64_t f = 0;
            CHECK(zipc_atomic_load(finished, &f));
            if (f == PARTICIPANTS) break;
            EXPECT(i < (uint64_t)ROUNDS + (uint64_t)LIMIT_S * 1000000 / NAP_US, "the others never finished");
            short_nap();
        }
        CHECK(zipc_rwlock_write(lock, LIMIT_NS, &died));
        EXPECT(died == 0, "writer died in the race");
        a = cells[0];
        cells[0] = a + 1;
        b = cells[1];
        EXPECT(a == b, "round %llu: cells %llu and %llu under the write lock", (unsigned long long)i,
               (unsigned long long)a, (unsigned long long)b);
        cells[1] = b + 1;
        done++;
        CHECK(zipc_rwlock_write_unlock(lock, 0));

        CHECK(zipc_rwlock_read(lock, LIMIT_NS, &died));
        a = cells[0];
        b = cells[1];
        EXPECT(a == b && died == 0, "round %llu: cells %llu and %llu under a read lock", (unsigned long long)i,
               (unsigned long long)a, (unsigned long long)b);
        CHECK(zipc_rwlock_read_unlock(lock));

        if (i % TRY_EVERY == 0) {
            zipc_status st = zipc_rwlock_try_write(lock, NULL);
            EXPECT(st == ZIPC_OK || st == ZIPC_AGAIN, "try_write: %s", zipc_status_name(st));
            if (st == ZIPC_OK) {
                cells[0] += 1;
                cells[1] += 1;
                done++;
                CHECK(zipc_rwlock_write_unlock(lock, 0));
            }
            st = zipc_rwlock_try_read(lock, NULL);
            EXPECT(st == ZIPC_OK || st == ZIPC_AGAIN, "try_read: %s", zipc_status_name(st));
            if (st == ZIPC_OK) {
                EXPECT(cells[0] == cells[1], "cells differ under try_read");
                CHECK(zipc_rwlock_read_unlock(lock));
            }
        }
    }
    printf("C increments %llu\n", (unsigned long long)done);
    zipc_atomic_close(finished);
    zipc_atomic_close(go);
    zipc_atomic_close(ready);
    return 0;
}

/* Takes `l` (for reading or writing: `how`), half-writes `cells` if writing, says so in `holding`
 * and sleeps until killed. */
static int hold(zipc_segment *seg, zipc_rwlock *l, const char *how) {
    zipc_atomic *holding;
    uint64_t *cells, len = 0;
    long i;
    CHECK(rwlocks_holding_open(seg, &holding));
    CHECK(rwlocks_cells(seg, &cells, &len));
    if (strcmp(how, "write") == 0) {
        CHECK(zipc_rwlock_write(l, LIMIT_NS, NULL));
        cells[0] += 1; /* and dies before cells[1] */
    } else {
        CHECK(zipc_rwlock_read(l, LIMIT_NS, NULL));
    }
    CHECK(zipc_atomic_store(holding, 1));
    for (i = 0; i < LIMIT_S * 1000L; i++) nap();
    fprintf(stderr, "not killed\n");
    return 1;
}

/* The next writer after a dead one: sees the death and marks the lock consistent. */
static int take_over(zipc_rwlock *l) {
    int died = 7;
    CHECK(zipc_rwlock_write(l, LIMIT_NS, &died));
    EXPECT(died == 1, "the writer before died: %d", died);
    EXPECT(zipc_rwlock_writer_died(l) == 1, "writer_died while held");
    EXPECT(zipc_rwlock_writer_deaths(l) == 1, "writer deaths %u", zipc_rwlock_writer_deaths(l));
    CHECK(zipc_rwlock_write_unlock(l, 1));
    EXPECT(zipc_rwlock_writer_died(l) == 0, "marked consistent");
    died = 7;
    CHECK(zipc_rwlock_read(l, 0, &died));
    EXPECT(died == 0, "a reader after the repair: %d", died);
    CHECK(zipc_rwlock_read_unlock(l));
    printf("C took over\n");
    return 0;
}

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_rwlock *lock, *c_lock, *py_lock;
    int rc = 64;
    if (argc < 3) return 64;
    CHECK(rwlocks_segment_open(argv[1], &seg, NULL));
    CHECK(rwlocks_lock_open(seg, &lock));
    CHECK(rwlocks_c_lock_open(seg, &c_lock));
    CHECK(rwlocks_py_lock_open(seg, &py_lock));
    if (strcmp(argv[2], "race") == 0) {
        rc = walk(c_lock);
        if (rc == 0) rc = race(seg, lock);
    } else if (strcmp(argv[2], "hold") == 0 && argc == 5) {
        rc = hold(seg, strcmp(argv[3], "lock") == 0 ? lock : c_lock, argv[4]);
    } else if (strcmp(argv[2], "take_over") == 0) {
        rc = take_over(py_lock);
    }
    zipc_rwlock_close(py_lock);
    zipc_rwlock_close(c_lock);
    zipc_rwlock_close(lock);
    zipc_segment_close(seg);
    return rc;
}
"#;

const PY_PEER: &str = r#"
import sys
import time
import rwlocks
import zipc_runtime

seg = rwlocks.open(sys.argv[1])
mode = sys.argv[2]
limit = float(sys.argv[3])
lock, cells, pl = seg.lock, seg.cells, seg.py_lock
assert isinstance(lock, zipc_runtime.RwLock), type(lock)

if mode == "hold":
    w = pl.write(limit)
    seg.holding.store(1)
    time.sleep(limit)
    sys.exit("not killed")

# The API's edges, on `py_lock`, which nobody else uses meanwhile.
assert pl.max_readers == 4 and pl.readers == 0, (pl.max_readers, pl.readers)
assert not pl.is_write_locked and not pl.writer_died
assert pl.writer_deaths == 0 and pl.reader_deaths == 0
for unlock in (zipc_runtime.RwLockReadGuard(pl, False).unlock, zipc_runtime.RwLockWriteGuard(pl, False).unlock):
    try:
        unlock()
        raise AssertionError("unlocked a lock it does not hold")
    except zipc_runtime.InvalidArgumentError:
        pass
try:
    pl.read(-1)
    raise AssertionError("a negative timeout")
except zipc_runtime.InvalidArgumentError:
    pass
with pl.read() as r:
    assert r.writer_died is False and pl.readers == 1
    r2 = pl.try_read()
    assert r2 is not None and pl.readers == 2
    r2.unlock()
    r2.unlock()  # once only
    assert pl.readers == 1
    assert pl.try_write() is None
    try:
        pl.write(0)
        raise AssertionError("a writer beside its own reader")
    except TimeoutError:
        pass
    assert not pl.is_write_locked
assert pl.readers == 0
w = pl.try_write()
assert w is not None and w.writer_died is False and pl.is_write_locked
assert pl.try_read() is None and pl.try_write() is None
try:
    pl.read(timeout=0)
    raise AssertionError("a reader beside its own writer")
except zipc_runtime.ZipcTimeoutError:
    pass
w.unlock()
w.unlock()
with pl.write(timeout=limit) as w:
    assert pl.is_write_locked and not w.writer_died
assert not pl.is_write_locked and pl.writer_deaths == 0

# The race.
rounds, every, nap, participants = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]) / 1e6, int(sys.argv[7])
seg.ready.fetch_add(1)
end = time.monotonic() + limit
while seg.go.load() == 0:
    assert time.monotonic() < end, "no go"
    time.sleep(0.001)
done = 0
i = 0
while True:
    if i == rounds:
        seg.finished.fetch_add(1)
    if i >= rounds:
        if seg.finished.load() == participants:
            break
        assert time.monotonic() < end + limit, "the others never finished"
        time.sleep(nap)
    with lock.write(limit) as w:
        assert not w.writer_died
        a = int(cells[0])
        cells[0] = a + 1
        b = int(cells[1])
        assert a == b, (i, a, b)
        cells[1] = b + 1
        done += 1
    with lock.read(limit) as r:
        a, b = int(cells[0]), int(cells[1])
        assert a == b and not r.writer_died, (i, a, b)
    if i % every == 0:
        w = lock.try_write()
        if w is not None:
            with w:
                cells[0] += 1
                cells[1] += 1
                done += 1
        r = lock.try_read()
        if r is not None:
            with r:
                assert cells[0] == cells[1]
    i += 1
print("Python increments %d" % done)
seg.close()
"#;

/// The Rust participant: the child role of the race.
fn rust_peer(name: &str) {
    let seg = Segment::open(name).unwrap();
    let lock = RwLock::open(&seg, "lock").unwrap();
    let cells = Array::<u64>::open(&seg, "cells").unwrap();
    let flag = |n: &str| Atomic::<u64>::open(&seg, n).unwrap();
    let (ready, go, finished) = (flag("ready"), flag("go"), flag("finished"));
    assert_eq!((lock.max_readers(), cells.len()), (16, 2));
    ready.fetch_add(1);
    let start = Instant::now();
    while go.load() == 0 {
        assert!(start.elapsed() < PEER_LIMIT, "no go");
        std::thread::sleep(Duration::from_millis(1));
    }
    let cell = |i| cells.get(i).unwrap();
    let mut done = 0u64;
    for i in 0.. {
        if i == ROUNDS {
            finished.fetch_add(1);
        }
        if i >= ROUNDS {
            if finished.load() == PARTICIPANTS {
                break;
            }
            assert!(start.elapsed() < 2 * PEER_LIMIT, "the others never finished");
            std::thread::sleep(Duration::from_micros(NAP_US));
        }
        {
            let w = lock.write_timeout(PEER_LIMIT).unwrap();
            assert!(!w.writer_died());
            let a = cell(0);
            cells.set(0, a + 1).unwrap();
            let b = cell(1);
            assert_eq!(a, b, "round {i}: the cells under the write lock");
            cells.set(1, b + 1).unwrap();
            done += 1;
        }
        {
            let r = lock.read_timeout(PEER_LIMIT).unwrap();
            assert!(!r.writer_died());
            assert_eq!(cell(0), cell(1), "round {i}: the cells under a read lock");
        }
        if i % TRY_EVERY == 0 {
            if let Some(_w) = lock.try_write() {
                cells.set(0, cell(0) + 1).unwrap();
                cells.set(1, cell(1) + 1).unwrap();
                done += 1;
            }
            if let Some(_r) = lock.try_read() {
                assert_eq!(cell(0), cell(1), "under try_read");
            }
        }
    }
    println!("Rust increments {done}");
}

/// An rwlock's live state, as inspect reads it.
fn inspected(seg: &Segment, name: &str) -> zipc::inspect::RwLockState {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let entry = snap.entries.iter().find(|e| e.name == name).expect("in the table");
    assert!(entry.problems.is_empty(), "{:?}", entry.problems);
    let Some(State::RwLock(st)) = &entry.state else { panic!("rwlock state: {:?}", entry.state) };
    st.clone()
}

/// The increments a peer's output reports (`<who> increments N`).
fn increments(out: &str, who: &str) -> u64 {
    let prefix = format!("{who} increments ");
    let line = out.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{who}: {out}"));
    line[prefix.len()..].parse().unwrap_or_else(|e| panic!("{who}: {line:?}: {e}"))
}

/// Waits for every peer (a hang guard of `PEER_LIMIT`): the first to fail panics with its output
/// at once (the others, dropped, are killed) rather than leaving the others to wait for it.
fn finish_all(mut peers: Vec<Peer>) -> Vec<String> {
    let start = Instant::now();
    loop {
        let mut running = false;
        for peer in peers.iter_mut() {
            match peer.0.as_mut().unwrap().try_wait().unwrap() {
                Some(status) if !status.success() => {
                    let what = peer.1;
                    finish(Peer(peer.0.take(), what));
                }
                Some(_) => {}
                None => running = true,
            }
        }
        if !running {
            return peers.into_iter().map(finish).collect();
        }
        assert!(start.elapsed() < PEER_LIMIT, "the peers still run after {PEER_LIMIT:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `cmd` as a holder, waits until it says it holds its lock, SIGKILLs it and reaps it.
fn kill_holding(holding: &Atomic<u64>, cmd: &mut Command, what: &'static str) {
    holding.store(0);
    let mut peer = spawn(cmd, what);
    let start = Instant::now();
    while holding.load() == 0 {
        let child = peer.0.as_mut().unwrap();
        if child.try_wait().unwrap().is_some() {
            // Exited without holding: `finish` panics with its output.
            finish(Peer(peer.0.take(), what));
            panic!("{what} exited without holding its lock");
        }
        assert!(start.elapsed() < PEER_LIMIT, "{what} never held its lock");
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut child = peer.0.take().unwrap();
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "{what}: {status}");
}

#[test]
fn c_python_and_rust_share_an_rwlock_and_dead_holders_are_taken_over() {
    const TEST: &str = "c_python_and_rust_share_an_rwlock_and_dead_holders_are_taken_over";
    if let Some(args) = child_args(TEST) {
        return rust_peer(&args[0]);
    }
    let arena = Arena::new();
    let schema = Schema::parse("rwlocks.toml", SCHEMA, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("rwlocks");
    write_generated(&schema, &dir);
    let c_source = C_PEER
        .replace("LIMIT_S", &LIMIT_S.to_string())
        .replace("TRY_EVERY", &TRY_EVERY.to_string())
        .replace("ROUNDS", &ROUNDS.to_string())
        .replace("NAP_US", &NAP_US.to_string())
        .replace("PARTICIPANTS", &PARTICIPANTS.to_string());
    let c_exe = compile_c(&dir, "rwlocks_peer", &c_source, Link::Shared);
    let py_script = dir.join("rwlocks_peer.py");
    std::fs::write(&py_script, PY_PEER).unwrap();
    let py = numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"));
    let limit = LIMIT_S.to_string();

    let name = ShmName::new("rwlocks");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    let lock = RwLock::create(&seg, "lock", 16).unwrap();
    let cells = Array::<u64>::create(&seg, "cells", 2).unwrap();
    let c_lock = RwLock::create(&seg, "c_lock", 4).unwrap();
    let py_lock = RwLock::create(&seg, "py_lock", 4).unwrap();
    let flag = |n: &str| Atomic::<u64>::create(&seg, n, 0).unwrap();
    let (ready, go, finished, holding) = (flag("ready"), flag("go"), flag("finished"), flag("holding"));
    let cell = |i| cells.get(i).unwrap();

    // The race.
    let peers = vec![
        spawn(Command::new(&c_exe).args([name.as_str(), "race"]), "the C peer"),
        spawn(
            python_command(&py, &dir, &py_script).args([
                name.as_str(),
                "race",
                &limit,
                &ROUNDS.to_string(),
                &TRY_EVERY.to_string(),
                &NAP_US.to_string(),
                &PARTICIPANTS.to_string(),
            ]),
            "the Python peer",
        ),
        spawn(&mut role_command(TEST, &[name.as_str()]), "the Rust peer"),
    ];
    let start = Instant::now();
    while ready.load() < PARTICIPANTS {
        assert!(start.elapsed() < PEER_LIMIT, "the peers never got ready");
        std::thread::sleep(Duration::from_millis(2));
    }
    go.store(1);
    let outputs = finish_all(peers);
    let counts = [increments(&outputs[0], "C"), increments(&outputs[1], "Python"), increments(&outputs[2], "Rust")];
    assert!(counts.iter().all(|&n| n >= ROUNDS), "{counts:?}");
    assert_eq!(finished.load(), PARTICIPANTS);
    let total: u64 = counts.iter().sum();
    assert_eq!((cell(0), cell(1)), (total, total), "every increment of {counts:?}, none lost");
    assert_eq!((lock.readers(), lock.is_write_locked(), lock.writer_died()), (0, false, false));
    assert_eq!((lock.writer_deaths(), lock.reader_deaths()), (0, 0));
    let st = inspected(&seg, "lock");
    assert!(st.writer.is_none() && st.readers.is_empty() && st.max_readers == 16, "{st:?}");

    // A C writer killed half-way through its write: the next Rust writer is told, and repairs.
    kill_holding(&holding, Command::new(&c_exe).args([name.as_str(), "hold", "lock", "write"]), "the C writer");
    // Not judged yet (a `try_read` would judge it dead and take it over, as any locker does).
    assert!(lock.is_write_locked() && !lock.writer_died(), "the dead writer's lock is still held");
    let st = inspected(&seg, "lock");
    assert!(st.writer.is_some_and(|w| !w.alive), "inspect sees a dead writer: {st:?}");
    {
        let mut w = lock.write_timeout(PEER_LIMIT).unwrap();
        assert!(w.writer_died(), "the next writer is told the writer before it died");
        assert_eq!(lock.writer_deaths(), 1);
        assert!(lock.writer_died());
        assert_eq!((cell(0), cell(1)), (total + 1, total), "the dead writer's half-write");
        cells.set(1, cell(0)).unwrap();
        w.mark_consistent();
        assert!(!w.writer_died());
    }
    {
        let r = lock.read().unwrap();
        assert!(!r.writer_died(), "marked consistent");
        assert_eq!((cell(0), cell(1)), (total + 1, total + 1));
    }
    assert_eq!((lock.writer_deaths(), lock.reader_deaths(), lock.writer_died()), (1, 0, false));

    // A C reader killed holding a read lock: the next Rust writer frees its slot.
    kill_holding(&holding, Command::new(&c_exe).args([name.as_str(), "hold", "c_lock", "read"]), "the C reader");
    assert_eq!((c_lock.readers(), c_lock.is_write_locked()), (1, false));
    assert!(c_lock.try_read().is_some(), "readers share it with a dead one");
    {
        let w = c_lock.write_timeout(PEER_LIMIT).unwrap();
        assert!(!w.writer_died(), "a reader's death changes nothing it protects");
        assert_eq!((c_lock.readers(), c_lock.reader_deaths(), c_lock.writer_deaths()), (0, 1, 0));
    }

    // A Python writer killed holding `py_lock`: a C writer takes it over and marks it consistent.
    kill_holding(
        &holding,
        python_command(&py, &dir, &py_script).args([name.as_str(), "hold", &limit]),
        "the Python writer",
    );
    assert!(py_lock.is_write_locked() && !py_lock.writer_died(), "held by a dead writer not yet judged");
    let out = finish(spawn(Command::new(&c_exe).args([name.as_str(), "take_over"]), "the C take-over"));
    assert!(out.contains("C took over"), "{out}");
    assert_eq!((py_lock.writer_deaths(), py_lock.writer_died(), py_lock.is_write_locked()), (1, false, false));
    let w = py_lock.try_write().expect("free again");
    assert!(!w.writer_died());
    drop(w);

    drop((lock, cells, c_lock, py_lock, ready, go, finished, holding, seg));
    let _ = std::fs::remove_dir_all(&dir);
}
