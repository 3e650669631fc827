//! Condition variables across languages, through libzipc and the code zipc-schema generates: a
//! Rust process creates a mutex, condvars and two counters; a C and a Python process each wait
//! on `ready` (holding `lock`) until `go` reaches the value Rust sets under the lock before it
//! notifies every waiter, then increment `done` under the lock and notify `finished`, on which
//! Rust waits (its typed `Condvar::wait_while`) until both did.
//!
//! Nothing depends on timing: Rust notifies once both peers are counted asleep on `ready`
//! (a condition it polls, with a hang guard), first with a value that does not release them —
//! they wake and sleep again — then with the one that does. Before that each peer checks the
//! timeout case on `idle`, which nobody notifies: a 50 ms wait (and a 0 ns one) ends with
//! `ZIPC_ERR_TIMEOUT` / `False`, the mutex held again (its unlock succeeds, a second one fails),
//! and a wait by a thread that does not hold the mutex is refused without sleeping.

use std::time::{Duration, Instant};

use zipc::{Atomic, Condvar, Mutex};
use zipc_schema::{Arena, Schema};
use zipc_tests::native::{compile_c, finish, python_command, scratch, spawn, write_generated, Link, Peer, PEER_LIMIT};
use zipc_tests::{numpy_python, ShmName};

const SCHEMA: &str = r#"
[segment]
name = "/zipc_condvars"
max_entries = 8

[[structures]]
name = "lock"
kind = "mutex"
doc = "Protects `go` and `done`."

[[structures]]
name = "ready"
kind = "condvar"
doc = "Notified (all) after `go` changed."

[[structures]]
name = "finished"
kind = "condvar"
doc = "Notified after `done` changed."

[[structures]]
name = "idle"
kind = "condvar"
doc = "Never notified: the timeout case."

[[structures]]
name = "go"
kind = "atomic"
type = "u64"

[[structures]]
name = "done"
kind = "atomic"
type = "u64"
"#;

/// The value of `go` that releases the peers (Rust first sets a smaller one).
const GO: u64 = 3;

const C_PEER: &str = r#"#include "condvars.h"
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)
#define EXPECT(cond, ...) do { if (!(cond)) { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); return 1; } } while (0)

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_mutex *lock;
    zipc_condvar *ready, *finished, *idle;
    zipc_atomic *go, *done;
    int64_t v = 0, target;
    zipc_status st;
    int died = 0;
    unsigned wakeups = 0;
    if (argc != 3) return 64;
    target = atoll(argv[2]);
    CHECK(condvars_segment_open(argv[1], &seg, NULL));
    CHECK(condvars_lock_open(seg, &lock));
    CHECK(condvars_ready_open(seg, &ready));
    CHECK(condvars_finished_open(seg, &finished));
    CHECK(condvars_idle_open(seg, &idle));
    CHECK(condvars_go_open(seg, &go));
    CHECK(condvars_done_open(seg, &done));

    /* Bad arguments, and a wait without the mutex: refused, nothing sleeps. */
    EXPECT(zipc_condvar_wait(NULL, lock, 0, NULL) == ZIPC_ERR_NULL, "a NULL condvar");
    EXPECT(zipc_condvar_wait(idle, NULL, 0, NULL) == ZIPC_ERR_NULL, "a NULL mutex");
    EXPECT(zipc_condvar_notify_one(NULL) == ZIPC_ERR_NULL && zipc_condvar_notify_all(NULL) == ZIPC_ERR_NULL, "notify NULL");
    EXPECT(zipc_condvar_waiters(NULL) == 0, "waiters of NULL");
    EXPECT(zipc_condvar_wait(idle, lock, 0, NULL) == ZIPC_ERR_INVALID_ARGUMENT, "a wait without the mutex: %s", zipc_last_error());

    /* The timeout case: nobody notifies `idle`. */
    CHECK(zipc_mutex_lock(lock, -1, NULL));
    st = zipc_condvar_wait(idle, lock, 50000000, NULL);
    EXPECT(st == ZIPC_ERR_TIMEOUT, "50 ms on idle: %s", zipc_status_name(st));
    died = 7;
    st = zipc_condvar_wait(idle, lock, 0, &died);
    EXPECT(st == ZIPC_ERR_TIMEOUT, "0 ns on idle: %s", zipc_status_name(st));
    EXPECT(died == 0, "no holder died: %d", died);
    CHECK(zipc_mutex_unlock(lock)); /* held again after the timeouts */
    EXPECT(zipc_mutex_unlock(lock) == ZIPC_ERR_INVALID_ARGUMENT, "unlocked twice");

    /* Wait for go >= target, testing it under the mutex. */
    CHECK(zipc_mutex_lock(lock, -1, NULL));
    for (;;) {
        CHECK(zipc_atomic_load(go, &v));
        if (v >= target) break;
        CHECK(zipc_condvar_wait(ready, lock, -1, NULL));
        wakeups++;
    }
    CHECK(zipc_atomic_fetch_add(done, 1, NULL));
    CHECK(zipc_mutex_unlock(lock));
    CHECK(zipc_condvar_notify_all(finished));

    printf("C ok %lld %u\n", (long long)v, wakeups);
    zipc_atomic_close(done);
    zipc_atomic_close(go);
    zipc_condvar_close(idle);
    zipc_condvar_close(finished);
    zipc_condvar_close(ready);
    zipc_mutex_close(lock);
    zipc_segment_close(seg);
    return 0;
}
"#;

const PY_PEER: &str = r#"
import sys
import condvars
import zipc_runtime

seg = condvars.open(sys.argv[1])
target = int(sys.argv[2])
lock, ready, finished, idle = seg.lock, seg.ready, seg.finished, seg.idle
assert isinstance(ready, zipc_runtime.Condvar), type(ready)

# A wait without the mutex is refused.
try:
    idle.wait(lock, 0)
    raise AssertionError("a wait without the mutex")
except zipc_runtime.InvalidArgumentError:
    pass

# The timeout case: nobody notifies `idle`; the mutex is held again afterwards.
with lock:
    assert idle.wait(lock, 0.05) is False
    assert idle.wait(lock, 0) is False
    assert idle.owner_died is False, "no holder died"
    assert idle.wait_for(lock, lambda: False, 0.05) is False
    assert idle.wait_for(lock, lambda: 7, 0) == 7  # true at once: no wait
try:
    lock.unlock()
    raise AssertionError("unlocked twice")
except zipc_runtime.InvalidArgumentError:
    pass

with lock:
    assert ready.wait_for(lock, lambda: seg.go.load() >= target)
    seg.done.fetch_add(1)
finished.notify_all()
print("Python ok %d" % seg.go.load())
seg.close()
"#;

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

#[test]
fn c_and_python_wait_on_a_rust_condvar_until_notified_and_time_out_on_one_nobody_notifies() {
    let arena = Arena::new();
    let schema = Schema::parse("condvars.toml", SCHEMA, &arena).unwrap_or_else(|d| panic!("{d}"));
    let dir = scratch("condvars");
    write_generated(&schema, &dir);
    let c_exe = compile_c(&dir, "condvars_peer", C_PEER, Link::Shared);
    std::fs::write(dir.join("condvars_peer.py"), PY_PEER).unwrap();
    let py = numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"));

    let name = ShmName::new("condvars");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    let lock = Mutex::create(&seg, "lock").unwrap();
    let ready = Condvar::create(&seg, "ready").unwrap();
    let finished = Condvar::create(&seg, "finished").unwrap();
    let idle = Condvar::create(&seg, "idle").unwrap();
    let go = Atomic::<u64>::create(&seg, "go", 0).unwrap();
    let done = Atomic::<u64>::create(&seg, "done", 0).unwrap();

    let args = [name.as_str().to_owned(), GO.to_string()];
    let mut peers = vec![
        spawn(std::process::Command::new(&c_exe).args(&args), "the C peer"),
        spawn(python_command(&py, &dir, &dir.join("condvars_peer.py")).args(&args), "the Python peer"),
    ];

    // Both asleep on `ready` (they test `go` under the lock first, so they sleep until told).
    let start = Instant::now();
    while ready.waiters() < 2 {
        check_peers(&mut peers);
        assert!(start.elapsed() < PEER_LIMIT, "the peers never both waited on ready ({} do)", ready.waiters());
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(idle.waiters(), 0, "the timeout waits are over");
    // A change that does not release them: they wake, test, and wait again.
    {
        let _g = lock.lock().unwrap();
        go.store(1);
    }
    ready.notify_all();
    {
        let _g = lock.lock().unwrap();
        go.store(GO);
    }
    ready.notify_all();

    // Rust waits on `finished` for both increments (bounded slices, checking the peers between).
    let start = Instant::now();
    loop {
        let (g, both) =
            finished.wait_while(lock.lock().unwrap(), Some(Duration::from_millis(200)), |_| done.load() < 2).unwrap();
        drop(g);
        if both {
            break;
        }
        check_peers(&mut peers);
        assert!(start.elapsed() < PEER_LIMIT, "done is {} after {PEER_LIMIT:?}", done.load());
    }
    let mut outputs = Vec::new();
    for peer in peers {
        outputs.push(finish(peer));
    }
    let (c, p) = (&outputs[0], &outputs[1]);
    assert!(c.starts_with(&format!("C ok {GO} ")), "C: {c}");
    let wakeups: u32 = c.trim().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(wakeups >= 1, "the C peer slept before it was released: {c}");
    assert_eq!(p.trim(), format!("Python ok {GO}"), "Python: {p}");
    assert_eq!(done.load(), 2, "each peer incremented once");
    assert_eq!(go.load(), GO);
    assert!(ready.notifications() >= 2 && finished.notifications() >= 2);
    assert_eq!(idle.notifications(), 0, "nobody notified idle");
    assert_eq!((ready.waiters(), finished.waiters(), idle.waiters()), (0, 0, 0));
    // Nobody holds the mutex.
    assert!(lock.try_lock().unwrap().is_some(), "the mutex is free");
    drop((lock, ready, finished, idle, go, done, seg));
    let _ = std::fs::remove_dir_all(&dir);
}
