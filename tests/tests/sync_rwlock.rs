//! The robust readers–writer lock: many readers at once or one writer, `try_*` and timeouts,
//! the `max_readers` slots (one reader too many waits for a slot), open checks and a damaged
//! header, inspect, the TOML rules for `max_readers`; writers are not starved by readers that
//! keep re-acquiring; across four processes mixing reads and writes no torn state is ever seen
//! and the total is exact; a writer SIGKILLed holding the lock is reported (`writer_died`) until
//! a writer marks it consistent, and a reader SIGKILLed holding it has its slot freed.
//!
//! Every wait for another thread or process goes through the segment (an `Atomic` the other side
//! sets) or polls `inspect` with a hang guard; no sleep is a synchronisation.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use zipc::inspect::State;
use zipc::rwlock::MAX_READERS_OFFSET;
use zipc::{Array, Atomic, Error, Mutex, Once, RwLock, Segment, Structure};
use zipc_tests::{child_args, poke, spawn_role, until, wait_bounded, ShmName};

/// Hang guard for children and test-side polls (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);

/// The lock's live state, as inspect reads it, with its report text and JSON.
fn inspected(seg: &Segment, name: &str) -> (zipc::inspect::RwLockState, String, serde_json::Value) {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let entry = snap.entries.iter().find(|e| e.name == name).unwrap();
    assert!(entry.problems.is_empty(), "{:?}", entry.problems);
    let Some(State::RwLock(st)) = &entry.state else { panic!("rwlock state: {:?}", entry.state) };
    let json: serde_json::Value = serde_json::from_str(&snap.to_json()).unwrap();
    let e = json["entries"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone();
    assert_eq!(e["kind"], "rwlock");
    assert_eq!(e["element"], serde_json::Value::Null);
    (st.clone(), snap.to_string(), e["state"].clone())
}

/// Threads asleep in the lock (waiting for the writer, for readers to leave, or for a slot).
fn sleepers(seg: &Segment, name: &str) -> u32 {
    inspected(seg, name).0.sleepers
}

#[test]
fn rwlock_in_one_process() {
    let name = ShmName::new("rwlock-one");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let lock = RwLock::create(&seg, "rw", 4).unwrap();
    let e = seg.entry("rw").unwrap().unwrap();
    assert_eq!((e.size, e.offset % 128), (128 + 4 * 64, 0), "a 128-byte header and a 64-byte line per slot");
    let d = e.descriptor.as_ref().unwrap();
    assert_eq!((d.kind, d.capacity, d.flags), (zipc::layout::Kind::RwLock, 4, 0));
    assert_eq!((lock.name(), lock.max_readers(), lock.readers()), ("rw", 4, 0));
    assert!(!lock.is_write_locked() && !lock.writer_died());
    assert_eq!((lock.writer_deaths(), lock.reader_deaths()), (0, 0));

    // Free: inspect says so.
    let (st, text, json) = inspected(&seg, "rw");
    assert!(st.writer.is_none() && st.readers.is_empty());
    assert_eq!((st.max_readers, st.writer_died, st.writer_deaths, st.reader_deaths, st.sleepers), (4, false, 0, 0, 0));
    assert!(text.contains("no writer, no readers, 0 waiting"), "{text}");
    assert!(text.contains("consistent, 0 writer deaths, 0 dead readers freed"), "{text}");
    assert!(text.contains("4 readers"), "the capacity column: {text}");
    assert_eq!(
        json,
        serde_json::json!({"writer": null, "readers": [], "max_readers": 4, "writer_died": false,
                           "writer_deaths": 0, "reader_deaths": 0, "sleepers": 0})
    );

    // Many readers at once (guards of this thread, and of others); no writer meanwhile.
    let me = std::process::id();
    {
        let r1 = lock.read().unwrap();
        let r2 = lock.try_read().expect("readers share it");
        let r3 = lock.read_timeout(Duration::from_millis(10)).unwrap();
        assert!(!r1.writer_died() && !r2.writer_died() && !r3.writer_died());
        assert_eq!(lock.readers(), 3);
        std::thread::scope(|s| {
            s.spawn(|| {
                let r4 = lock.read_timeout(LIMIT).unwrap();
                assert_eq!(lock.readers(), 4);
                drop(r4);
            });
        });
        assert!(lock.try_write().is_none(), "try_write while read-held");
        let t = Instant::now();
        assert!(matches!(lock.write_timeout(Duration::from_millis(30)), Err(Error::Timeout)));
        assert!(t.elapsed() >= Duration::from_millis(30));
        std::thread::scope(|s| {
            s.spawn(|| assert!(matches!(lock.write_timeout(Duration::from_millis(20)), Err(Error::Timeout))));
        });
        // A writer that timed out withdrew: readers still get in.
        assert!(!lock.is_write_locked());
        drop(lock.try_read().expect("the timed-out writer withdrew"));
        let (st, text, json) = inspected(&seg, "rw");
        assert_eq!(st.readers.len(), 3);
        assert!(st.readers.iter().all(|h| h.pid == me && h.alive));
        assert!(st.writer.is_none());
        assert!(
            text.contains(&format!("no writer, 3 of 4 reader slots taken: pid {me}, pid {me}, pid {me}")),
            "{text}"
        );
        assert_eq!(json["readers"].as_array().unwrap().len(), 3);
        assert_eq!(json["readers"][0]["pid"], me);
        assert_eq!(json["readers"][0]["alive"], true);
        drop((r1, r2, r3));
    }
    assert_eq!(lock.readers(), 0);

    // One writer: no reader and no other writer meanwhile, from any thread.
    {
        let mut w = lock.write().unwrap();
        assert!(!w.writer_died());
        assert!(lock.is_write_locked());
        assert!(lock.try_read().is_none(), "try_read while write-held");
        assert!(lock.try_write().is_none());
        let t = Instant::now();
        assert!(matches!(lock.read_timeout(Duration::from_millis(30)), Err(Error::Timeout)));
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert!(matches!(lock.write_timeout(Duration::from_millis(10)), Err(Error::Timeout)));
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(lock.try_read().is_none() && lock.try_write().is_none());
                assert!(matches!(lock.read_timeout(Duration::from_millis(20)), Err(Error::Timeout)));
                assert!(matches!(lock.write_timeout(Duration::from_millis(20)), Err(Error::Timeout)));
            });
        });
        assert_eq!(lock.readers(), 0, "timed-out readers left no slot taken");
        let (st, text, json) = inspected(&seg, "rw");
        let h = st.writer.as_ref().expect("a writer");
        assert_eq!((h.pid, h.alive), (me, true));
        assert!(text.contains(&format!("write-locked by pid {me}, no readers, 0 waiting")), "{text}");
        assert_eq!(json["writer"]["pid"], me);
        assert_eq!(json["writer"]["alive"], true);
        w.mark_consistent(); // harmless when nobody died
        assert!(!w.writer_died());
    }
    assert!(!lock.is_write_locked());

    // A reader blocked by a writer is let in when the writer leaves.
    let w = lock.write().unwrap();
    std::thread::scope(|s| {
        let reader = s.spawn(|| drop(lock.read_timeout(LIMIT).unwrap()));
        until("the reader to wait for the writer", || sleepers(&seg, "rw") == 1);
        drop(w);
        reader.join().unwrap();
    });
    // A writer blocked by a reader is let in when the reader leaves.
    let r = lock.read().unwrap();
    std::thread::scope(|s| {
        let writer = s.spawn(|| assert!(!lock.write_timeout(LIMIT).unwrap().writer_died()));
        until("the writer to wait for the reader", || sleepers(&seg, "rw") == 1);
        assert!(lock.is_write_locked(), "a waiting writer is announced");
        assert!(lock.try_read().is_none(), "new readers give way to a waiting writer");
        drop(r);
        writer.join().unwrap();
    });
    assert!(!lock.is_write_locked() && lock.readers() == 0);
    assert_eq!(inspected(&seg, "rw").0.sleepers, 0);
    assert_eq!((lock.writer_deaths(), lock.reader_deaths(), lock.writer_died()), (0, 0, false));
}

/// `max_readers` threads read at once; the next reader waits for a slot (try_read fails, a
/// timed read times out, a blocking read sleeps) until one leaves.
#[test]
fn one_reader_too_many_waits_for_a_slot() {
    let name = ShmName::new("rwlock-slots");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let lock = RwLock::create(&seg, "rw", 2).unwrap();
    let held = AtomicU64::new(0);
    let leave = AtomicBool::new(false);
    let got = AtomicBool::new(false);
    std::thread::scope(|s| {
        let holders: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let g = lock.read_timeout(LIMIT).unwrap();
                    held.fetch_add(1, Relaxed);
                    until("the test to let a reader go", || leave.load(Relaxed));
                    drop(g);
                })
            })
            .collect();
        until("two readers to hold it", || held.load(Relaxed) == 2);
        assert_eq!(lock.readers(), 2);
        assert!(lock.try_read().is_none(), "every slot is taken");
        assert!(matches!(lock.read_timeout(Duration::from_millis(20)), Err(Error::Timeout)));
        let third = s.spawn(|| {
            let g = lock.read_timeout(LIMIT).unwrap();
            got.store(true, Relaxed);
            drop(g);
        });
        until("the third reader to sleep", || sleepers(&seg, "rw") == 1);
        assert!(!got.load(Relaxed), "a third reader got in with two slots taken");
        let (st, text, _) = inspected(&seg, "rw");
        assert_eq!(st.readers.len(), 2);
        assert!(text.contains("2 of 2 reader slots taken"), "{text}");
        leave.store(true, Relaxed);
        for h in holders {
            h.join().unwrap();
        }
        third.join().unwrap();
    });
    assert!(got.load(Relaxed));
    assert_eq!(lock.readers(), 0);

    // The bounds: 1 and 1024 slots; 0 and 1025 are refused.
    let one = RwLock::create(&seg, "one", 1).unwrap();
    let g = one.read().unwrap();
    assert!(one.try_read().is_none());
    drop(g);
    let most = RwLock::create(&seg, "most", zipc::rwlock::MAX_READERS as u32).unwrap();
    assert_eq!(seg.entry("most").unwrap().unwrap().size, 128 + 1024 * 64);
    let guards: Vec<_> = (0..1024).map(|_| most.try_read().expect("1024 slots")).collect();
    assert!(most.try_read().is_none());
    assert_eq!(most.readers(), 1024);
    drop(guards);
    assert_eq!(most.readers(), 0);
    for bad in [0, 1025] {
        let err = RwLock::create(&seg, "bad", bad).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{bad}: {err:?}");
        assert!(err.to_string().contains("max_readers"), "{err}");
    }
}

/// Threads of one process mixing reads and writes: writers change two cells in two steps,
/// readers always see them equal, and the total is exact.
#[test]
fn threads_never_see_a_torn_write() {
    let name = ShmName::new("rwlock-threads");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let lock = RwLock::create(&seg, "rw", 8).unwrap();
    let cells = Array::<u64>::create(&seg, "cells", 2).unwrap();
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 4000;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (lock, cells) = (&lock, &cells);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    if (i + t) % 4 == 0 {
                        let w = lock.write().unwrap();
                        assert!(!w.writer_died());
                        let v = cells.get(0).unwrap();
                        cells.set(0, v + 1).unwrap();
                        if i % 16 == 0 {
                            std::thread::yield_now(); // let readers run into the held lock
                        }
                        cells.set(1, v + 1).unwrap();
                    } else {
                        let _r = lock.read().unwrap();
                        let a = cells.get(0).unwrap();
                        std::hint::spin_loop();
                        assert_eq!(a, cells.get(1).unwrap(), "a reader saw a write half-done");
                    }
                }
            });
        }
    });
    assert_eq!(cells.to_vec(), vec![THREADS * ROUNDS / 4; 2]);
    assert!(!lock.is_write_locked() && lock.readers() == 0);
}

/// Several threads re-acquire the read lock continuously, their holds overlapping; a writer
/// still gets in each time (a generous hang guard, never a timing assertion).
#[test]
fn writers_are_not_starved_by_readers() {
    let name = ShmName::new("rwlock-starve");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let lock = RwLock::create(&seg, "rw", 16).unwrap();
    let stop = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                while !stop.load(Relaxed) {
                    let g = lock.read_timeout(LIMIT).unwrap();
                    reads.fetch_add(1, Relaxed);
                    for _ in 0..200 {
                        std::hint::spin_loop(); // hold it a little, so holds overlap
                    }
                    drop(g);
                }
            });
        }
        for round in 0..5 {
            let before = reads.load(Relaxed);
            until("the readers to read", || reads.load(Relaxed) > before + 100);
            let w = lock.write_timeout(Duration::from_secs(60));
            let w = w.unwrap_or_else(|e| panic!("round {round}: the writer starved: {e}"));
            assert_eq!(lock.readers(), 0, "a reader inside with the writer");
            drop(w);
        }
        stop.store(true, Relaxed);
    });
    assert!(!lock.is_write_locked() && lock.readers() == 0);
}

#[test]
fn open_checks() {
    let name = ShmName::new("rwlock-open");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let lock = RwLock::create(&seg, "rw", 4).unwrap();
    // By name, whatever the number of slots; open_or_create with the same number.
    let again = RwLock::open(&seg, "rw").unwrap();
    assert_eq!((again.name(), again.max_readers()), ("rw", 4));
    let w = lock.write().unwrap();
    assert!(again.is_write_locked(), "both handles are the same lock");
    assert!(again.try_read().is_none());
    drop(w);
    assert_eq!(RwLock::open_or_create(&seg, "rw", 4).unwrap().max_readers(), 4);
    assert_eq!(RwLock::open_or_create(&seg, "rw_new", 7).unwrap().max_readers(), 7);
    assert_eq!(RwLock::open(&seg, "rw_new").unwrap().max_readers(), 7);
    // Another number of slots.
    match RwLock::open_or_create(&seg, "rw", 8) {
        Err(Error::CapacityMismatch { structure, expected, found }) => {
            assert_eq!((structure.as_str(), expected, found), ("rw", 8, 4));
        }
        other => panic!("expected a capacity mismatch: {other:?}"),
    }
    // Through the Structure trait: the declaration's max_readers is compared.
    let decl = zipc::layout::StructureLayout { capacity: 4, ..RwLock::declaration("rw") };
    assert!(RwLock::open_in(&seg, &decl).is_ok());
    let decl = zipc::layout::StructureLayout { capacity: 5, ..RwLock::declaration("rw") };
    assert!(matches!(RwLock::open_in(&seg, &decl), Err(Error::CapacityMismatch { .. })));
    for bad in [
        zipc::layout::StructureLayout { capacity: 4, flags: 1, ..RwLock::declaration("bad") },
        zipc::layout::StructureLayout { capacity: 4, initial: 1, ..RwLock::declaration("bad") },
        zipc::layout::StructureLayout { capacity: 4, maximum: 1, ..RwLock::declaration("bad") },
        zipc::layout::StructureLayout { capacity: 0, ..RwLock::declaration("bad") },
    ] {
        assert!(matches!(RwLock::create_in(&seg, &bad), Err(Error::InvalidArgument { .. })), "{bad:?}");
    }
    // Wrong kinds, both ways; missing.
    Mutex::create(&seg, "m").unwrap();
    Array::<u32>::create(&seg, "arr", 1).unwrap();
    for other in ["m", "arr"] {
        assert!(matches!(RwLock::open(&seg, other), Err(Error::KindMismatch { .. })), "{other}");
        assert!(matches!(RwLock::open_or_create(&seg, other, 4), Err(Error::KindMismatch { .. })), "{other}");
    }
    assert!(matches!(Mutex::open(&seg, "rw"), Err(Error::KindMismatch { .. })));
    assert!(matches!(Once::open(&seg, "rw"), Err(Error::KindMismatch { .. })));
    assert!(matches!(RwLock::open(&seg, "missing"), Err(Error::NotFound { .. })));
    assert!(RwLock::create(&seg, "rw", 4).is_err(), "the name is taken");
}

/// The header repeats the number of slots; a header that disagrees with the descriptor is
/// refused at open with a typed error (nothing is touched).
#[test]
fn a_damaged_header_is_refused_at_open() {
    let name = ShmName::new("rwlock-damaged");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    drop(RwLock::create(&seg, "rw", 4).unwrap());
    let at = seg.entry("rw").unwrap().unwrap().offset;
    drop(seg);
    poke(&name, at + MAX_READERS_OFFSET, &5000u32.to_le_bytes());
    let seg = Segment::open(&name);
    let err = match seg {
        Ok(seg) => RwLock::open(&seg, "rw").unwrap_err(),
        Err(e) => e,
    };
    match &err {
        Error::Corrupt { detail, .. } => {
            assert!(detail.contains("5000") && detail.contains("4"), "{detail}");
        }
        other => panic!("expected Corrupt: {other:?}"),
    }
    assert!(err.to_string().contains("rwlock"), "{err}");
}

/// `kind = "rwlock"` in a schema: `max_readers` is required, a number from 1 to 1024; each
/// mistake is reported at its file:line:column.
#[test]
fn toml_rwlock_rules() {
    let arena = zipc_schema::Arena::new();
    let ok = "[[structures]]\nname = \"rw\"\nkind = \"rwlock\"\nmax_readers = 16\ndoc = \"Guards the table.\"\n";
    let schema = zipc_schema::Schema::parse("ok.toml", ok, &arena).unwrap_or_else(|d| panic!("{d}"));
    let s = schema.layout.structure("rw").unwrap();
    assert_eq!((s.kind, s.capacity, s.flags, s.initial, s.maximum), (zipc::layout::Kind::RwLock, 16, 0, 0, 0));
    assert!(s.elem.is_none());

    let cases: &[zipc_tests::schemas::Refusal<'_>] = &[
        ("rw_missing.toml", "", (1, 1), "max_readers"),
        ("rw_zero.toml", "max_readers = 0\n", (4, 15), "at least 1"),
        ("rw_big.toml", "max_readers = 2000\n", (4, 15), "1 to 1024"),
        ("rw_negative.toml", "max_readers = -3\n", (4, 15), "max_readers"),
        ("rw_string.toml", "max_readers = \"four\"\n", (4, 15), "max_readers"),
        ("rw_float.toml", "max_readers = 4.5\n", (4, 15), "max_readers"),
        ("rw_capacity.toml", "max_readers = 4\ncapacity = 4\n", (5, 1), "capacity"),
        ("rw_typed.toml", "max_readers = 4\ntype = \"u64\"\n", (5, 8), "type"),
    ];
    let problems = zipc_tests::schemas::refusals("rw", "rwlock", cases);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

const PROCS: u32 = 4;

fn rounds() -> u64 {
    if std::env::var_os("ZIPC_SOAK").is_some() {
        400_000
    } else {
        20_000
    }
}

/// Four processes, started together, each doing `rounds()` iterations: one in four takes the
/// write lock and increments two cells in two steps (checking no reader or writer is inside);
/// the others take the read lock and check both cells are equal (and no writer is inside).
/// No torn state is ever seen, and the final value is exact.
#[test]
fn four_processes_mix_reads_and_writes() {
    const TEST: &str = "four_processes_mix_reads_and_writes";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let me: u64 = args[1].parse().unwrap();
        let lock = RwLock::open(&seg, "rw").unwrap();
        let cells = Array::<u64>::open(&seg, "cells").unwrap();
        let writers = Atomic::<u32>::open(&seg, "writers_inside").unwrap();
        let readers = Atomic::<u32>::open(&seg, "readers_inside").unwrap();
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        let contended = Atomic::<u64>::open(&seg, "contended").unwrap();
        go.fetch_add(1);
        go.wake_all();
        let start = Instant::now();
        while go.load() <= PROCS {
            assert!(start.elapsed() < LIMIT, "no go");
            let _ = go.wait(go.load(), Some(Duration::from_millis(100))); // start together
        }
        for i in 0..rounds() {
            if lock.is_write_locked() {
                contended.fetch_add(1);
            }
            if (i + me) % 4 == 0 {
                let w = lock.write().unwrap();
                assert!(!w.writer_died());
                assert_eq!(writers.fetch_add(1), 0, "two writers inside");
                assert_eq!(readers.load(), 0, "a reader inside with a writer");
                let v = cells.get(0).unwrap();
                cells.set(0, v + 1).unwrap();
                if i % 64 == 0 {
                    std::thread::yield_now(); // let readers run into the held lock
                }
                cells.set(1, v + 1).unwrap();
                writers.fetch_sub(1);
            } else {
                let r = lock.read().unwrap();
                assert!(!r.writer_died());
                readers.fetch_add(1);
                assert_eq!(writers.load(), 0, "a writer inside with a reader");
                let a = cells.get(0).unwrap();
                if i % 64 == 1 {
                    std::thread::yield_now();
                }
                let b = cells.get(1).unwrap();
                assert_eq!(a, b, "a reader saw a write half-done");
                readers.fetch_sub(1);
            }
        }
        return;
    }
    let name = ShmName::new("rwlock-four");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let lock = RwLock::create(&seg, "rw", 8).unwrap();
    let cells = Array::<u64>::create(&seg, "cells", 2).unwrap();
    Atomic::<u32>::create(&seg, "writers_inside", 0).unwrap();
    Atomic::<u32>::create(&seg, "readers_inside", 0).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let contended = Atomic::<u64>::create(&seg, "contended", 0).unwrap();
    let mut children: Vec<_> = (0..PROCS).map(|i| spawn_role(TEST, &[&name, &i.to_string()])).collect();
    let mut ready = go.load();
    while ready < PROCS {
        go.wait(ready, Some(LIMIT)).unwrap();
        ready = go.load();
    }
    go.store(PROCS + 1);
    go.wake_all();
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a child failed (see its output)");
    }
    let writes = PROCS as u64 * rounds() / 4;
    assert_eq!(cells.to_vec(), vec![writes, writes]);
    assert!(!lock.is_write_locked() && lock.readers() == 0);
    assert_eq!((lock.writer_deaths(), lock.reader_deaths(), lock.writer_died()), (0, 0, false));
    assert_eq!(inspected(&seg, "rw").0.sleepers, 0);
    println!("{} of {} acquisitions found a writer announced", contended.load(), PROCS as u64 * rounds());
}

/// The child role of the kill tests: take the lock (`write` or `read`), half-update the pair if
/// writing, say so through `held`, and hang holding it until killed.
fn hold_and_hang(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let lock = RwLock::open(&seg, &args[2]).unwrap();
    let pair = Array::<u64>::open(&seg, "pair").unwrap();
    let held = Atomic::<u32>::open(&seg, "held").unwrap();
    let hang = || loop {
        std::thread::sleep(Duration::from_secs(3600)); // until killed
    };
    if args[1] == "write" {
        let _w = lock.write_timeout(LIMIT).unwrap();
        pair.set(0, 1).unwrap(); // the invariant pair[0] == pair[1] broken, and never restored
        held.store(1);
        held.wake_all();
        hang()
    } else {
        let _r = lock.read_timeout(LIMIT).unwrap();
        held.store(1);
        held.wake_all();
        hang()
    }
}

/// A segment with lock `name` (`max_readers` slots), the pair and `held`, and a child holding
/// the lock (`how`: "write" or "read") until killed.
fn start_holder(test: &str, how: &str, lock: &str, max_readers: u32) -> (ShmName, Segment, std::process::Child) {
    let name = ShmName::new("rwlock-kill");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    RwLock::create(&seg, lock, max_readers).unwrap();
    Array::<u64>::create(&seg, "pair", 2).unwrap();
    let held = Atomic::<u32>::create(&seg, "held", 0).unwrap();
    let child = spawn_role(test, &[&name, how, lock]);
    held.wait(0, Some(LIMIT)).unwrap();
    assert_eq!(held.load(), 1, "the child holds the lock");
    (name, seg, child)
}

/// A child SIGKILLed holding the write lock while a reader of this process sleeps waiting for
/// it: the reader gets in (the dead writer's word taken away), told `writer_died`, and so is
/// every later guard — readers' and writers' — until a writer repairs the pair and marks it
/// consistent. One writer death is counted.
#[test]
fn a_killed_writer_is_reported_until_marked_consistent() {
    const TEST: &str = "a_killed_writer_is_reported_until_marked_consistent";
    if let Some(args) = child_args(TEST) {
        return hold_and_hang(&args);
    }
    let (_name, seg, mut doomed) = start_holder(TEST, "write", "rw", 4);
    let lock = RwLock::open(&seg, "rw").unwrap();
    let pair = Array::<u64>::open(&seg, "pair").unwrap();
    // A live writer is waited for, not taken over.
    let (st, text, json) = inspected(&seg, "rw");
    let h = st.writer.as_ref().expect("the child is the writer");
    assert_eq!((h.pid, h.alive, st.writer_died), (doomed.id(), true, false));
    assert!(text.contains(&format!("write-locked by pid {}, no readers", doomed.id())), "{text}");
    assert_eq!(
        (json["writer"]["pid"].as_u64(), json["writer"]["alive"].as_bool()),
        (Some(doomed.id().into()), Some(true))
    );
    assert!(lock.is_write_locked() && lock.try_read().is_none() && lock.try_write().is_none());
    assert!(matches!(lock.read_timeout(Duration::from_millis(150)), Err(Error::Timeout)));
    assert!(matches!(lock.write_timeout(Duration::from_millis(150)), Err(Error::Timeout)));
    assert_eq!(lock.writer_deaths(), 0);

    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let r = lock.read_timeout(LIMIT).unwrap();
            (r.writer_died(), pair.get(0).unwrap(), pair.get(1).unwrap())
        });
        until("the reader to wait for the writer", || sleepers(&seg, "rw") == 1);
        doomed.kill().unwrap();
        doomed.wait().unwrap();
        assert_eq!(reader.join().unwrap(), (true, 1, 0), "told the writer died, and saw its half-update");
    });
    assert_eq!(lock.writer_deaths(), 1);
    assert!(lock.writer_died() && !lock.is_write_locked());
    let (st, text, json) = inspected(&seg, "rw");
    assert!(st.writer.is_none() && st.writer_died);
    assert_eq!((st.writer_deaths, st.reader_deaths), (1, 0));
    assert!(
        text.contains("a writer died holding it (not marked consistent), 1 writer deaths, 0 dead readers freed"),
        "{text}"
    );
    assert_eq!((json["writer_died"].as_bool(), json["writer_deaths"].as_u64()), (Some(true), Some(1)));

    // Reported to every guard until marked consistent.
    assert!(lock.read().unwrap().writer_died());
    assert!(lock.try_read().unwrap().writer_died());
    let w = lock.write_timeout(LIMIT).unwrap();
    assert!(w.writer_died(), "not marked consistent yet");
    drop(w);
    let mut w = lock.try_write().expect("free");
    assert!(w.writer_died());
    pair.set(1, pair.get(0).unwrap()).unwrap(); // repair
    w.mark_consistent();
    assert!(!w.writer_died());
    drop(w);
    assert!(!lock.writer_died());
    for _ in 0..3 {
        assert!(!lock.write_timeout(LIMIT).unwrap().writer_died(), "repaired: later writers are not told");
        assert!(!lock.read_timeout(LIMIT).unwrap().writer_died(), "repaired: later readers are not told");
    }
    assert_eq!(pair.to_vec(), vec![1, 1]);
    assert_eq!((lock.writer_deaths(), lock.reader_deaths()), (1, 0));
    assert!(text_of(&seg).contains("consistent, 1 writer deaths, 0 dead readers freed"));
}

fn text_of(seg: &Segment) -> String {
    inspected(seg, "rw").1
}

/// A killed writer that nobody waits for: inspect shows it dead, and the next writer takes it
/// over with `try_write`, told `writer_died`.
#[test]
fn a_dead_writer_seen_then_taken_over() {
    const TEST: &str = "a_dead_writer_seen_then_taken_over";
    if let Some(args) = child_args(TEST) {
        return hold_and_hang(&args);
    }
    let (_name, seg, mut doomed) = start_holder(TEST, "write", "rw", 2);
    let lock = RwLock::open(&seg, "rw").unwrap();
    let pid = doomed.id();
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let (st, text, json) = inspected(&seg, "rw");
    let h = st.writer.as_ref().expect("the dead writer is still named");
    assert_eq!((h.pid, h.alive, st.writer_deaths), (pid, false, 0));
    assert!(text.contains(&format!("write-locked by pid {pid} (dead)")), "{text}");
    assert_eq!(json["writer"]["alive"], false);
    let mut w = lock.try_write().expect("a dead writer's lock is free to take");
    assert!(w.writer_died());
    assert_eq!(lock.writer_deaths(), 1);
    w.mark_consistent();
    drop(w);
    assert!(!lock.write().unwrap().writer_died());
    assert_eq!(lock.writer_deaths(), 1);
}

/// A child SIGKILLed holding a read lock while a writer of this process waits for it to leave:
/// the writer gets in (the dead reader's slot freed, counted), and nothing is reported
/// inconsistent — a reader changes nothing.
#[test]
fn a_killed_reader_does_not_block_a_writer() {
    const TEST: &str = "a_killed_reader_does_not_block_a_writer";
    if let Some(args) = child_args(TEST) {
        return hold_and_hang(&args);
    }
    let (_name, seg, mut doomed) = start_holder(TEST, "read", "rw", 4);
    let lock = RwLock::open(&seg, "rw").unwrap();
    let (st, text, _) = inspected(&seg, "rw");
    assert_eq!(st.readers.len(), 1);
    assert_eq!((st.readers[0].pid, st.readers[0].alive), (doomed.id(), true));
    assert!(text.contains(&format!("no writer, 1 of 4 reader slots taken: pid {}, 0 waiting", doomed.id())), "{text}");
    assert_eq!(lock.readers(), 1);
    // A live reader is waited for; other readers share it meanwhile.
    assert!(lock.try_write().is_none());
    assert!(matches!(lock.write_timeout(Duration::from_millis(150)), Err(Error::Timeout)));
    drop(lock.try_read().expect("readers share it with the child"));
    assert_eq!(lock.reader_deaths(), 0);

    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let w = lock.write_timeout(LIMIT).unwrap();
            (w.writer_died(), lock.readers())
        });
        until("the writer to wait for the reader", || sleepers(&seg, "rw") == 1);
        assert!(lock.is_write_locked(), "the waiting writer is announced");
        doomed.kill().unwrap();
        doomed.wait().unwrap();
        assert_eq!(writer.join().unwrap(), (false, 0), "the writer got in, and nothing is inconsistent");
    });
    assert_eq!((lock.reader_deaths(), lock.writer_deaths(), lock.writer_died()), (1, 0, false));
    assert_eq!(lock.readers(), 0);
    let (st, text, json) = inspected(&seg, "rw");
    assert!(st.readers.is_empty() && st.writer.is_none());
    assert!(text.contains("consistent, 0 writer deaths, 1 dead readers freed"), "{text}");
    assert_eq!(json["reader_deaths"], 1);
    assert!(!lock.write().unwrap().writer_died());
    assert!(!lock.read().unwrap().writer_died());
}

/// A killed reader holding the only slot, with nobody waiting: inspect shows it dead, and the
/// next `try_read` frees its slot and takes it.
#[test]
fn a_dead_reader_slot_is_freed_for_readers() {
    const TEST: &str = "a_dead_reader_slot_is_freed_for_readers";
    if let Some(args) = child_args(TEST) {
        return hold_and_hang(&args);
    }
    let (_name, seg, mut doomed) = start_holder(TEST, "read", "rw", 1);
    let lock = RwLock::open(&seg, "rw").unwrap();
    assert!(lock.try_read().is_none(), "the child holds the only slot");
    let pid = doomed.id();
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let (st, text, _) = inspected(&seg, "rw");
    assert_eq!((st.readers.len(), st.readers[0].pid, st.readers[0].alive), (1, pid, false));
    assert!(text.contains(&format!("1 of 1 reader slots taken: pid {pid} (dead)")), "{text}");
    let r = lock.try_read().expect("the dead reader's slot is freed");
    assert!(!r.writer_died());
    assert_eq!((lock.reader_deaths(), lock.readers()), (1, 1));
    drop(r);
    assert!(lock.try_write().is_some());
}
