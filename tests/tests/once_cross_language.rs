//! One-time initialisations across languages, through libzipc and the code zipc-schema
//! generates: a Rust process creates a once (`init`) and counters; a C, a Python and a Rust
//! process each say they are ready, wait for the `go` flag, and begin `init` together. The one
//! told to run it increments `counter`, says it is `running` and holds the initialisation until
//! Rust sets `release`; then it completes it. Every participant then sees it completed, with the
//! counter at exactly 1, and a second begin tells none of them to run it.
//!
//! Nothing depends on timing: Rust releases the initialiser only once inspect counts the two
//! others asleep in their begin (a condition it polls, with a hang guard), and meanwhile checks
//! that a zero-timeout begin and wait of its own time out. Before the race the C peer walks a
//! second once (`retry`) through begin, abandon, begin again (it must run again), complete, and
//! the errors of ending a hold it does not have; the Python peer does the same with `call_once`
//! on `py_retry` (an exception abandons it).

use std::time::{Duration, Instant};

use zipc::inspect::State;
use zipc::{Atomic, Error, Once, Segment};
use zipc_schema::{Arena, Schema};
use zipc_tests::native::{compile_c, finish, python_command, scratch, spawn, write_generated, Link, Peer, PEER_LIMIT};
use zipc_tests::{child_args, numpy_python, role_command, ShmName};

const SCHEMA: &str = r#"
[segment]
name = "/zipc_onces"
max_entries = 10

[[structures]]
name = "init"
kind = "once"
doc = "Begun by every participant at once; run by exactly one."

[[structures]]
name = "retry"
kind = "once"
doc = "The C peer's abandon-and-begin-again case."

[[structures]]
name = "py_retry"
kind = "once"
doc = "The Python peer's abandon-and-begin-again case."

[[structures]]
name = "counter"
kind = "atomic"
type = "u64"
doc = "Incremented by whoever runs `init`."

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
name = "running"
kind = "atomic"
type = "u64"
doc = "Set by the one running `init`."

[[structures]]
name = "release"
kind = "atomic"
type = "u64"
doc = "Set by Rust when the others are asleep in their begin: the initialiser completes."
"#;

/// The participants: C, Python and a Rust child.
const PARTICIPANTS: u64 = 3;

/// How long a peer polls a flag before it gives up (a hang guard, never reached).
const POLL_LIMIT_S: u64 = 240;

const C_PEER: &str = r#"#include "onces.h"
#include <stdio.h>
#include <time.h>

#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)
#define EXPECT(cond, ...) do { if (!(cond)) { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); return 1; } } while (0)

/* Polls `a` until it is nonzero (1 ms naps, a hang guard of POLL_LIMIT_S seconds). */
static int until_set(const zipc_atomic *a, const char *what) {
    struct timespec nap = { 0, 1000000 };
    int64_t v = 0;
    long i;
    for (i = 0; i < POLL_LIMIT_S * 1000L; i++) {
        if (zipc_atomic_load(a, &v) != ZIPC_OK) return 1;
        if (v != 0) return 0;
        nanosleep(&nap, NULL);
    }
    fprintf(stderr, "no %s\n", what);
    return 1;
}

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_once *init, *retry;
    zipc_atomic *counter, *ready, *go, *running, *release;
    int must_run = 7, again = 7;
    int64_t v = 0;
    zipc_status st;
    if (argc != 2) return 64;
    CHECK(onces_segment_open(argv[1], &seg, NULL));
    CHECK(onces_init_open(seg, &init));
    CHECK(onces_retry_open(seg, &retry));
    CHECK(onces_counter_open(seg, &counter));
    CHECK(onces_ready_open(seg, &ready));
    CHECK(onces_go_open(seg, &go));
    CHECK(onces_running_open(seg, &running));
    CHECK(onces_release_open(seg, &release));

    /* Bad arguments. */
    EXPECT(zipc_once_begin(NULL, 0, &must_run) == ZIPC_ERR_NULL, "begin NULL");
    EXPECT(zipc_once_begin(retry, 0, NULL) == ZIPC_ERR_NULL, "begin without must_run");
    EXPECT(zipc_once_complete(NULL) == ZIPC_ERR_NULL && zipc_once_abandon(NULL) == ZIPC_ERR_NULL, "end NULL");
    EXPECT(zipc_once_wait(NULL, 0) == ZIPC_ERR_NULL, "wait NULL");
    EXPECT(zipc_once_is_completed(NULL) == 0 && zipc_once_takeovers(NULL) == 0, "queries of NULL");

    /* `retry`: ending a hold this process does not have is refused; abandoned, it runs again. */
    st = zipc_once_complete(retry);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "complete without a hold: %s", zipc_status_name(st));
    st = zipc_once_abandon(retry);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "abandon without a hold: %s", zipc_status_name(st));
    st = zipc_once_wait(retry, 0);
    EXPECT(st == ZIPC_ERR_TIMEOUT, "wait on a once not run: %s", zipc_status_name(st));
    CHECK(zipc_once_begin(retry, -1, &must_run));
    EXPECT(must_run == 1, "the first begin runs it: %d", must_run);
    EXPECT(zipc_once_is_completed(retry) == 0, "held, not completed");
    CHECK(zipc_once_abandon(retry));
    EXPECT(zipc_once_is_completed(retry) == 0, "abandoned, not completed");
    EXPECT(zipc_once_abandon(retry) == ZIPC_ERR_INVALID_ARGUMENT, "abandoned twice");
    must_run = 7;
    CHECK(zipc_once_begin(retry, 0, &must_run));
    EXPECT(must_run == 1, "after the abandon it must run again: %d", must_run);
    CHECK(zipc_once_complete(retry));
    EXPECT(zipc_once_is_completed(retry) == 1, "completed");
    CHECK(zipc_once_wait(retry, 0));
    CHECK(zipc_once_begin(retry, 0, &must_run));
    EXPECT(must_run == 0, "completed: nothing to run");
    st = zipc_once_complete(retry);
    EXPECT(st == ZIPC_ERR_INVALID_ARGUMENT, "complete after completing: %s", zipc_status_name(st));
    EXPECT(zipc_once_takeovers(retry) == 0, "no takeover");

    /* `init`, begun together with the others. */
    CHECK(zipc_atomic_fetch_add(ready, 1, NULL));
    if (until_set(go, "go")) return 1;
    must_run = 7;
    CHECK(zipc_once_begin(init, -1, &must_run));
    EXPECT(must_run == 0 || must_run == 1, "must_run %d", must_run);
    if (must_run) {
        CHECK(zipc_atomic_fetch_add(counter, 1, NULL));
        CHECK(zipc_atomic_store(running, 1));
        if (until_set(release, "release")) return 1;
        CHECK(zipc_once_complete(init));
    }
    EXPECT(zipc_once_is_completed(init) == 1, "init completed after begin");
    CHECK(zipc_once_wait(init, 0));
    CHECK(zipc_atomic_load(counter, &v));
    EXPECT(v == 1, "counter %lld", (long long)v);
    CHECK(zipc_once_begin(init, 0, &again));
    EXPECT(again == 0, "a second begin runs nothing");

    printf("C ran %d\n", must_run);
    zipc_atomic_close(release);
    zipc_atomic_close(running);
    zipc_atomic_close(go);
    zipc_atomic_close(ready);
    zipc_atomic_close(counter);
    zipc_once_close(retry);
    zipc_once_close(init);
    zipc_segment_close(seg);
    return 0;
}
"#;

const PY_PEER: &str = r#"
import sys
import time
import onces
import zipc_runtime

seg = onces.open(sys.argv[1])
limit = float(sys.argv[2])
init, retry = seg.init, seg.py_retry
assert isinstance(init, zipc_runtime.Once), type(init)


def until_set(atomic, what):
    end = time.monotonic() + limit
    while atomic.load() == 0:
        assert time.monotonic() < end, "no " + what
        time.sleep(0.001)


# `py_retry`: ending a hold this process does not have is refused; an exception abandons it.
for end in (retry.complete, retry.abandon):
    try:
        end()
        raise AssertionError("ended a hold it does not have")
    except zipc_runtime.InvalidArgumentError:
        pass
try:
    retry.wait(0)
    raise AssertionError("waited on a once not run")
except TimeoutError:
    pass


def fails():
    raise RuntimeError("init failed")


try:
    retry.call_once(fails)
    raise AssertionError("the exception was swallowed")
except RuntimeError as e:
    assert str(e) == "init failed"
assert not retry.is_completed
runs = []
assert retry.call_once(lambda: runs.append(1)) is True
assert runs == [1] and retry.is_completed
assert retry.call_once(lambda: runs.append(2)) is False
assert runs == [1]
assert retry.begin(0) is False
retry.wait(0)
assert retry.takeovers == 0

# `init`, begun together with the others.
seg.ready.fetch_add(1)
until_set(seg.go, "go")


def run():
    seg.counter.fetch_add(1)
    seg.running.store(1)
    until_set(seg.release, "release")


ran = init.call_once(run)
assert init.is_completed
init.wait(0)
assert seg.counter.load() == 1, seg.counter.load()
assert init.begin(0) is False
print("Python ran %d" % int(ran))
seg.close()
"#;

/// The Rust participant: the child role of the test.
fn rust_peer(name: &str) {
    let seg = Segment::open(name).unwrap();
    let init = Once::open(&seg, "init").unwrap();
    let flag = |n: &str| Atomic::<u64>::open(&seg, n).unwrap();
    let (counter, ready, go, running, release) =
        (flag("counter"), flag("ready"), flag("go"), flag("running"), flag("release"));
    let until_set = |a: &Atomic<u64>, what: &str| {
        let start = Instant::now();
        while a.load() == 0 {
            assert!(start.elapsed() < PEER_LIMIT, "no {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    ready.fetch_add(1);
    until_set(&go, "go");
    let ran = init
        .call_once(|| {
            counter.fetch_add(1);
            running.store(1);
            until_set(&release, "release");
        })
        .unwrap();
    assert!(init.is_completed());
    init.wait(Some(Duration::ZERO)).unwrap();
    assert_eq!(counter.load(), 1);
    assert!(init.begin(Some(Duration::ZERO)).unwrap().is_none(), "a second begin runs nothing");
    println!("Rust ran {}", u8::from(ran));
}

/// The once's live state, as inspect reads it.
fn inspected(seg: &Segment, name: &str) -> zipc::inspect::OnceState {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let entry = snap.entries.iter().find(|e| e.name == name).expect("in the table");
    assert!(entry.problems.is_empty(), "{:?}", entry.problems);
    let Some(State::Once(st)) = &entry.state else { panic!("once state: {:?}", entry.state) };
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

/// Whether `line` in a peer's output says it ran the initialisation (`<who> ran 1`).
fn ran(out: &str, who: &str) -> u64 {
    let prefix = format!("{who} ran ");
    let line = out.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{who}: {out}"));
    match &line[prefix.len()..] {
        "0" => 0,
        "1" => 1,
        other => panic!("{who}: ran {other:?}"),
    }
}

#[test]
fn c_python_and_rust_begin_a_once_together_and_exactly_one_runs_it() {
    const TEST: &str = "c_python_and_rust_begin_a_once_together_and_exactly_one_runs_it";
    if let Some(args) = child_args(TEST) {
        return rust_peer(&args[0]);
    }
    let arena = Arena::new();
    let schema = Schema::parse("onces.toml", SCHEMA, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("onces");
    write_generated(&schema, &dir);
    let c_source = C_PEER.replace("POLL_LIMIT_S", &POLL_LIMIT_S.to_string());
    let c_exe = compile_c(&dir, "onces_peer", &c_source, Link::Shared);
    std::fs::write(dir.join("onces_peer.py"), PY_PEER).unwrap();
    let py = numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"));

    let name = ShmName::new("onces");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    let init = Once::create(&seg, "init").unwrap();
    let retry = Once::create(&seg, "retry").unwrap();
    let py_retry = Once::create(&seg, "py_retry").unwrap();
    let flag = |n: &str| Atomic::<u64>::create(&seg, n, 0).unwrap();
    let (counter, ready, go, running, release) =
        (flag("counter"), flag("ready"), flag("go"), flag("running"), flag("release"));

    let mut peers = vec![
        spawn(std::process::Command::new(&c_exe).arg(name.as_str()), "the C peer"),
        spawn(
            python_command(&py, &dir, &dir.join("onces_peer.py")).args([name.as_str(), &POLL_LIMIT_S.to_string()]),
            "the Python peer",
        ),
        spawn(&mut role_command(TEST, &[name.as_str()]), "the Rust peer"),
    ];

    until(&mut peers, "every participant to be ready", || ready.load() == PARTICIPANTS);
    assert!(!init.is_completed() && counter.load() == 0, "nobody began before the go");
    go.store(1);

    // One runs it and holds it: begins and waits that do not wait time out, running nothing.
    until(&mut peers, "the initialiser to run", || running.load() == 1);
    assert!(matches!(init.wait(Some(Duration::ZERO)), Err(Error::Timeout)));
    let mine = init.call_once_timeout(Duration::ZERO, || panic!("held by another: not run here"));
    assert!(matches!(mine, Err(Error::Timeout)), "{mine:?}");
    assert!(inspected(&seg, "init").initialiser.is_some(), "a participant holds it");
    // The other two are asleep in their begin before the initialiser completes.
    until(&mut peers, "the two others to wait", || inspected(&seg, "init").waiters == PARTICIPANTS as u32 - 1);
    assert!(!init.is_completed());
    release.store(1);

    let outputs: Vec<String> = peers.into_iter().map(finish).collect();
    let runs = ran(&outputs[0], "C") + ran(&outputs[1], "Python") + ran(&outputs[2], "Rust");
    assert_eq!(runs, 1, "exactly one participant ran it: {outputs:?}");
    assert_eq!(counter.load(), 1, "the initialisation ran once");
    assert!(init.is_completed() && retry.is_completed() && py_retry.is_completed());
    assert_eq!((init.takeovers(), retry.takeovers(), py_retry.takeovers()), (0, 0, 0));
    for once in ["init", "retry", "py_retry"] {
        let st = inspected(&seg, once);
        assert_eq!((st.done, st.initialiser.is_none(), st.waiters), (true, true, 0), "{once}");
    }
    drop((init, retry, py_retry, counter, ready, go, running, release, seg));
    let _ = std::fs::remove_dir_all(&dir);
}
