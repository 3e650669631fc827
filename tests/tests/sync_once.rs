//! The once: `call_once` runs the initialisation once and says who ran it, an abandoned
//! initialisation (a dropped guard, a panic) is run again by the next caller, waits that time
//! out, open checks and inspect; across processes four callers racing on a go flag run it once,
//! and an initialiser killed while it holds the initialisation is taken over.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use zipc::inspect::State;
use zipc::{Array, Atomic, Condvar, Error, Mutex, Once, Segment, Structure};
use zipc_tests::{child_args, spawn_role, until, wait_bounded, ShmName};

/// Hang guard for children and test-side polls (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);

/// The once's live state, as inspect reads it, with its report text and JSON.
fn inspected(seg: &Segment, name: &str) -> (zipc::inspect::OnceState, String, serde_json::Value) {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let entry = snap.entries.iter().find(|e| e.name == name).unwrap();
    assert!(entry.problems.is_empty(), "{:?}", entry.problems);
    let Some(State::Once(st)) = &entry.state else { panic!("once state: {:?}", entry.state) };
    let json: serde_json::Value = serde_json::from_str(&snap.to_json()).unwrap();
    let e = json["entries"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone();
    assert_eq!(e["kind"], "once");
    assert_eq!(e["element"], serde_json::Value::Null);
    (st.clone(), snap.to_string(), e["state"].clone())
}

#[test]
fn once_in_one_process() {
    let name = ShmName::new("once-one");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let once = Once::create(&seg, "init").unwrap();
    let e = seg.entry("init").unwrap().unwrap();
    assert_eq!((e.size, e.offset % 128), (zipc::once::REGION_SIZE, 0));
    assert_eq!(e.size, 128);
    let d = e.descriptor.as_ref().unwrap();
    assert_eq!((d.kind, d.capacity, d.flags), (zipc::layout::Kind::Once, 0, 0));
    assert!(!once.is_completed());
    assert_eq!(once.takeovers(), 0);

    // Not run: inspect says so, and a wait times out without running anything.
    let (st, text, json) = inspected(&seg, "init");
    assert_eq!((st.done, st.initialiser.is_none(), st.waiters, st.takeovers), (false, true, 0, 0));
    assert!(text.contains("not run, 0 waiting, 0 taken over"), "{text}");
    assert_eq!(json, serde_json::json!({"done": false, "initialiser": null, "waiters": 0, "takeovers": 0}));
    let t = Instant::now();
    assert!(matches!(once.wait(Some(Duration::from_millis(30))), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert!(!once.is_completed());

    // A guard dropped without completing abandons the initialisation: the next begin runs it.
    {
        let guard = once.begin(None).unwrap().expect("not run yet: this caller holds it");
        // Held by this process: inspect names it, alive.
        let (st, text, json) = inspected(&seg, "init");
        let h = st.initialiser.as_ref().expect("an initialiser");
        assert_eq!((h.pid, h.alive, st.done), (std::process::id(), true, false));
        assert!(text.contains(&format!("being run by pid {}, 0 waiting", std::process::id())), "{text}");
        assert_eq!(json["initialiser"]["pid"], std::process::id());
        assert_eq!(json["initialiser"]["alive"], true);
        assert_eq!(json["done"], false);
        // Another begin (this thread, or another thread of the process) waits for the holder.
        assert!(matches!(once.begin(Some(Duration::from_millis(20))), Err(Error::Timeout)));
        std::thread::scope(|s| {
            s.spawn(|| {
                let ran = once.call_once_timeout(Duration::from_millis(20), || panic!("run while held"));
                assert!(matches!(ran, Err(Error::Timeout)), "{ran:?}");
            });
        });
        drop(guard);
    }
    assert!(!once.is_completed());
    assert!(inspected(&seg, "init").0.initialiser.is_none(), "the abandoned hold is released");
    let guard = once.begin(None).unwrap().expect("abandoned: the next begin runs it");
    drop(guard);

    // A panic inside call_once abandons it too, and the panic goes on.
    let panicked = catch_unwind(AssertUnwindSafe(|| once.call_once(|| panic!("the initialisation failed"))));
    assert!(panicked.is_err());
    assert!(!once.is_completed());

    // The next call runs it; a second returns false without running it.
    let mut runs = 0;
    assert!(once.call_once(|| runs += 1).unwrap());
    assert_eq!(runs, 1);
    assert!(once.is_completed());
    assert!(!once.call_once(|| runs += 1).unwrap());
    assert!(!once.call_once_timeout(Duration::from_millis(1), || runs += 1).unwrap());
    assert!(once.begin(Some(Duration::ZERO)).unwrap().is_none(), "done: nothing to hold");
    assert_eq!(runs, 1);
    once.wait(Some(Duration::ZERO)).unwrap();
    once.wait(None).unwrap();
    assert_eq!(once.takeovers(), 0, "nobody died");

    // A thread waiting for an initialisation another thread runs: released when it completes.
    let later = Once::create(&seg, "later").unwrap();
    let guard = later.begin(None).unwrap().unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            later.wait(Some(LIMIT)).unwrap();
            assert!(!later.call_once(|| panic!("already done")).unwrap());
        });
        until("the waiter to sleep", || inspected(&seg, "later").0.waiters == 1);
        guard.complete();
        waiter.join().unwrap();
    });
    assert!(later.is_completed());
    assert_eq!(inspected(&seg, "later").0.waiters, 0);

    // Open checks: by name, as a wrong kind, and another kind as a once.
    let again = Once::open(&seg, "init").unwrap();
    assert!(again.is_completed());
    assert_eq!(again.name(), "init");
    assert!(Once::open_or_create(&seg, "init").unwrap().is_completed());
    assert!(!Once::open_or_create(&seg, "init_new").unwrap().is_completed());
    Mutex::create(&seg, "m").unwrap();
    assert!(matches!(Mutex::open(&seg, "init"), Err(Error::KindMismatch { .. })));
    assert!(matches!(Condvar::open(&seg, "init"), Err(Error::KindMismatch { .. })));
    assert!(matches!(Once::open(&seg, "m"), Err(Error::KindMismatch { .. })));
    Array::<u32>::create(&seg, "arr", 1).unwrap();
    assert!(matches!(Once::open(&seg, "arr"), Err(Error::KindMismatch { .. })));
    assert!(Once::open(&seg, "missing").is_err());
    // Through the Structure trait; a once takes no parameters.
    assert!(Once::open_in(&seg, &Once::declaration("init")).is_ok());
    for bad in [
        zipc::layout::StructureLayout { flags: 1, ..Once::declaration("bad") },
        zipc::layout::StructureLayout { initial: 1, ..Once::declaration("bad") },
        zipc::layout::StructureLayout { capacity: 1, ..Once::declaration("bad") },
    ] {
        assert!(matches!(Once::create_in(&seg, &bad), Err(Error::InvalidArgument { .. })));
    }

    // Inspect: done.
    let (st, text, json) = inspected(&seg, "init");
    assert_eq!((st.done, st.initialiser.is_none(), st.waiters, st.takeovers), (true, true, 0, 0));
    assert!(text.contains("done, 0 waiting, 0 taken over"), "{text}");
    assert_eq!(json, serde_json::json!({"done": true, "initialiser": null, "waiters": 0, "takeovers": 0}));
}

const CALLERS: u32 = 4;

/// Four processes call `call_once` together, released by a go flag; the initialisation takes a
/// while (so the others wait for it) and counts its runs. It runs exactly once, exactly one
/// caller says it ran it, and every caller returns with it completed.
#[test]
fn four_processes_run_it_once() {
    const TEST: &str = "four_processes_run_it_once";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let once = Once::open(&seg, "init").unwrap();
        let runs = Atomic::<u32>::open(&seg, "runs").unwrap();
        let ran = Atomic::<u32>::open(&seg, "ran").unwrap();
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        go.fetch_add(1);
        go.wake_all();
        let start = Instant::now();
        while go.load() <= CALLERS {
            assert!(start.elapsed() < LIMIT, "no go");
            let _ = go.wait(go.load(), Some(Duration::from_millis(100)));
        }
        let me_ran = once
            .call_once(|| {
                runs.fetch_add(1);
                std::thread::sleep(Duration::from_millis(50));
            })
            .unwrap();
        assert!(once.is_completed());
        assert_eq!(runs.load(), 1, "returned before the initialisation completed, or ran it again");
        if me_ran {
            ran.fetch_add(1);
        }
        return;
    }
    let name = ShmName::new("once-four");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let once = Once::create(&seg, "init").unwrap();
    let runs = Atomic::<u32>::create(&seg, "runs", 0).unwrap();
    let ran = Atomic::<u32>::create(&seg, "ran", 0).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();

    let mut children: Vec<_> = (0..CALLERS).map(|_| spawn_role(TEST, &[&name])).collect();
    until("every caller to be ready", || go.load() == CALLERS);
    go.store(CALLERS + 1);
    go.wake_all();
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a caller failed");
    }
    assert_eq!(runs.load(), 1, "the initialisation ran more than once");
    assert_eq!(ran.load(), 1, "exactly one caller ran it");
    assert!(once.is_completed());
    assert_eq!(once.takeovers(), 0);
    let (st, _, json) = inspected(&seg, "init");
    assert_eq!((st.done, st.initialiser.is_none(), st.waiters, st.takeovers), (true, true, 0, 0));
    assert_eq!(json, serde_json::json!({"done": true, "initialiser": null, "waiters": 0, "takeovers": 0}));
}

/// A child begins the initialisation, says so and blocks; it is SIGKILLed holding it. Before
/// the kill inspect names it alive and callers wait; after it, dead, and a caller already asleep
/// in `call_once` takes it over (runs it: `true`) and counts the takeover.
#[test]
fn a_killed_initialiser_is_taken_over() {
    const TEST: &str = "a_killed_initialiser_is_taken_over";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let once = Once::open(&seg, "init").unwrap();
        let held = Atomic::<u32>::open(&seg, "held").unwrap();
        let _guard = once.begin(Some(LIMIT)).unwrap().expect("not run yet");
        held.store(1);
        held.wake_all();
        loop {
            std::thread::sleep(Duration::from_secs(1)); // until killed
        }
    }
    let name = ShmName::new("once-kill");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let once = Once::create(&seg, "init").unwrap();
    let held = Atomic::<u32>::create(&seg, "held", 0).unwrap();

    let mut doomed = spawn_role(TEST, &[&name]);
    until("the child to hold the initialisation", || held.load() == 1);
    let (st, text, json) = inspected(&seg, "init");
    let h = st.initialiser.as_ref().expect("the child is the initialiser");
    assert_eq!((h.pid, h.alive, st.done), (doomed.id(), true, false));
    assert!(text.contains(&format!("being run by pid {}, 0 waiting, 0 taken over", doomed.id())), "{text}");
    assert_eq!(json["initialiser"]["pid"], doomed.id());
    assert_eq!(json["initialiser"]["alive"], true);
    // A live initialiser is waited for, not taken over.
    let ran = once.call_once_timeout(Duration::from_millis(250), || panic!("taken from a live initialiser"));
    assert!(matches!(ran, Err(Error::Timeout)), "{ran:?}");
    assert_eq!(once.takeovers(), 0);

    let runs = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|s| {
        let survivor = s.spawn(|| {
            once.call_once(|| {
                runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .unwrap()
        });
        until("the survivor to wait", || inspected(&seg, "init").0.waiters == 1);
        doomed.kill().unwrap();
        doomed.wait().unwrap();
        assert!(survivor.join().unwrap(), "the survivor ran it");
    });
    assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert!(once.is_completed());
    assert_eq!(once.takeovers(), 1);
    let (st, text, json) = inspected(&seg, "init");
    assert_eq!((st.done, st.initialiser.is_none(), st.waiters, st.takeovers), (true, true, 0, 1));
    assert!(text.contains("done, 0 waiting, 1 taken over"), "{text}");
    assert_eq!(json, serde_json::json!({"done": true, "initialiser": null, "waiters": 0, "takeovers": 1}));
    assert!(!once.call_once(|| panic!("done")).unwrap());
}

/// A killed initialiser that nobody waits for: inspect shows it dead, and the next caller takes
/// it over.
#[test]
fn a_dead_initialiser_seen_then_taken_over() {
    const TEST: &str = "a_dead_initialiser_seen_then_taken_over";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let once = Once::open(&seg, "init").unwrap();
        let held = Atomic::<u32>::open(&seg, "held").unwrap();
        let _guard = once.begin(Some(LIMIT)).unwrap().expect("not run yet");
        held.store(1);
        loop {
            std::thread::sleep(Duration::from_secs(1)); // until killed
        }
    }
    let name = ShmName::new("once-dead");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let once = Once::create(&seg, "init").unwrap();
    let held = Atomic::<u32>::create(&seg, "held", 0).unwrap();
    let mut doomed = spawn_role(TEST, &[&name]);
    until("the child to hold the initialisation", || held.load() == 1);
    assert!(inspected(&seg, "init").0.initialiser.unwrap().alive);
    let pid = doomed.id();
    doomed.kill().unwrap();
    doomed.wait().unwrap();

    let (st, text, json) = inspected(&seg, "init");
    let h = st.initialiser.as_ref().expect("the dead initialiser is still named");
    assert_eq!((h.pid, h.alive, st.done, st.takeovers), (pid, false, false, 0));
    assert!(text.contains(&format!("being run by pid {pid} (dead: the next caller takes it over)")), "{text}");
    assert_eq!(json["initialiser"]["pid"], pid);
    assert_eq!(json["initialiser"]["alive"], false);
    assert!(!once.is_completed());

    let mut runs = 0;
    assert!(once.call_once(|| runs += 1).unwrap(), "the next caller runs it");
    assert_eq!((runs, once.takeovers()), (1, 1));
    assert!(once.is_completed());
    assert_eq!(inspected(&seg, "init").0.takeovers, 1);
}
