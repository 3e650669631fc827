//! The future: its region and descriptor, `set` once (a second set changes nothing), `try_get`
//! and `wait` (with a timeout), a struct value, `get_or_init` computing once, a failed or
//! panicking computation leaving it to the next caller, threads asleep released by a set, open
//! checks and a damaged header, inspect, the TOML rules; across processes four setters racing
//! on a go flag (one wins, everyone sees its whole value, never a mix), four lazy callers
//! computing it once, and a setter SIGKILLed while computing it taken over by a waiter.
//!
//! Every wait for another thread or process goes through the segment (an `Atomic` the other side
//! sets) or polls `inspect` with a hang guard; no sleep is a synchronisation.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use zipc::future::ELEM_SIZE_OFFSET;
use zipc::inspect::State;
use zipc::zerocopy::IntoBytes;
use zipc::{Array, Atomic, Barrier, Error, Future, Mutex, Once, Segment, ShmType, Structure};
use zipc_tests::{child_args, poke, spawn_role, until, wait_bounded, ShmName};

/// Hang guard for children and test-side polls (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);

/// The future's live state, as inspect reads it, with its report text and JSON.
fn inspected(seg: &Segment, name: &str) -> (zipc::inspect::FutureState, String, serde_json::Value) {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let entry = snap.entries.iter().find(|e| e.name == name).unwrap();
    assert!(entry.problems.is_empty(), "{:?}", entry.problems);
    let Some(State::Future(st)) = &entry.state else { panic!("future state: {:?}", entry.state) };
    let json: serde_json::Value = serde_json::from_str(&snap.to_json()).unwrap();
    let e = json["entries"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone();
    assert_eq!(e["kind"], "future");
    assert!(e["element"].is_object(), "a future has an element: {e}");
    (st.clone(), snap.to_string(), e["state"].clone())
}

/// Threads asleep waiting for the future (in `wait`, or in a setter waiting for another's).
fn waiters(seg: &Segment, name: &str) -> u32 {
    inspected(seg, name).0.waiters
}

/// A value with several fields, no padding.
#[derive(
    Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
pub struct Reading {
    /// Sequence number.
    pub seq: u64,
    /// The temperature.
    pub celsius: f64,
    /// Where.
    pub station: u32,
    /// Bits.
    pub flags: u16,
    /// Which sensor.
    pub sensor: i16,
}

/// The little-endian hex of a u64, as inspect prints a value.
fn hex_u64(v: u64) -> String {
    v.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn region_and_descriptor() {
    let name = ShmName::new("future-region");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    Future::<u64>::create(&seg, "u64").unwrap();
    Future::<u8>::create(&seg, "u8").unwrap();
    Future::<[u8; 128]>::create(&seg, "u8x128").unwrap();
    Future::<[u8; 129]>::create(&seg, "u8x129").unwrap();
    Future::<Reading>::create(&seg, "reading").unwrap();
    Future::<[u64; 512]>::create(&seg, "big").unwrap();
    // A 128-byte header, then the value, rounded up to 128 bytes; 128-aligned.
    for (n, elem, size) in [
        ("u64", 8, 256),
        ("u8", 1, 256),
        ("u8x128", 128, 256),
        ("u8x129", 129, 384),
        ("reading", 24, 256),
        ("big", 4096, 128 + 4096),
    ] {
        let e = seg.entry(n).unwrap().unwrap();
        assert_eq!((e.size, e.offset % 128), (size, 0), "{n}");
        let d = e.descriptor.as_ref().unwrap();
        assert_eq!(
            (d.kind, d.capacity, d.flags, d.initial, d.maximum),
            (zipc::layout::Kind::Future, 0, 0, 0, 0),
            "{n}"
        );
        assert_eq!(d.elem_size, elem, "{n}");
        assert_eq!(zipc::layout::Kind::Future.code(), 19);
    }
    let d = seg.entry("reading").unwrap().unwrap().descriptor.unwrap();
    assert_eq!((d.elem_size, d.elem_align), (24, 8));
}

#[test]
fn future_in_one_process() {
    let name = ShmName::new("future-one");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let answer = Future::<u64>::create(&seg, "answer").unwrap();
    assert_eq!(answer.name(), "answer");
    assert!(!answer.is_ready());
    assert_eq!(answer.takeovers(), 0);

    // Not set: inspect says so, try_get has nothing and a wait times out.
    let (st, text, json) = inspected(&seg, "answer");
    assert_eq!(
        (st.ready, st.setter.is_none(), st.waiters, st.takeovers, st.value.is_none()),
        (false, true, 0, 0, true)
    );
    assert!(text.contains("not set, 0 waiting, 0 taken over"), "{text}");
    assert_eq!(
        json,
        serde_json::json!({"ready": false, "setter": null, "waiters": 0, "takeovers": 0, "value_hex": null})
    );
    assert_eq!(answer.try_get(), None);
    let t = Instant::now();
    assert!(matches!(answer.wait(Some(Duration::from_millis(30))), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert!(matches!(answer.wait(Some(Duration::ZERO)), Err(Error::Timeout)));
    assert!(!answer.is_ready());

    // Set: the first set sets it, the second changes nothing.
    assert!(answer.set(42).unwrap());
    assert!(answer.is_ready());
    assert!(!answer.set(7).unwrap(), "already set");
    assert!(!answer.set_timeout(9, Duration::from_millis(1)).unwrap());
    assert_eq!(answer.try_get(), Some(42));
    assert_eq!(answer.wait(None).unwrap(), 42);
    assert_eq!(answer.wait(Some(Duration::ZERO)).unwrap(), 42);
    assert_eq!(answer.get_or_init(|| panic!("set: nothing to compute")).unwrap(), 42);
    assert_eq!(Future::<u64>::open(&seg, "answer").unwrap().try_get(), Some(42), "another handle");
    assert_eq!(answer.takeovers(), 0);
    assert!(format!("{answer:?}").contains("42"), "{answer:?}");

    // Ready: inspect shows the value's bytes.
    let (st, text, json) = inspected(&seg, "answer");
    assert_eq!((st.ready, st.setter.is_none(), st.waiters, st.takeovers), (true, true, 0, 0));
    assert_eq!(st.value.as_deref(), Some(&42u64.to_le_bytes()[..]));
    assert!(text.contains(&format!("ready: {}, 0 waiting, 0 taken over", hex_u64(42))), "{text}");
    assert_eq!(
        json,
        serde_json::json!({"ready": true, "setter": null, "waiters": 0, "takeovers": 0, "value_hex": hex_u64(42)})
    );

    // A struct value round-trips, through this handle and another.
    let reading = Future::<Reading>::create(&seg, "reading").unwrap();
    let r = Reading { seq: 0x0102_0304_0506_0708, celsius: -17.25, station: 70_000, flags: 0xbeef, sensor: -3 };
    assert!(reading.set(r).unwrap());
    assert!(!reading.set(Reading { seq: 1, celsius: 0.0, station: 0, flags: 0, sensor: 0 }).unwrap());
    assert_eq!(reading.try_get(), Some(r));
    assert_eq!(Future::<Reading>::open(&seg, "reading").unwrap().wait(Some(LIMIT)).unwrap(), r);
    let (st, text, json) = inspected(&seg, "reading");
    assert_eq!(st.value.as_deref(), Some(r.as_bytes()));
    let hex: String = r.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(json["value_hex"], hex.as_str());
    assert!(text.contains(&format!("ready: {hex}, 0 waiting")), "{text}");
    // A value over 32 bytes is cut short in the text, whole in the JSON.
    let big = Future::<[u64; 8]>::create(&seg, "big").unwrap();
    assert!(big.set([0x1111_1111_1111_1111; 8]).unwrap());
    let (_, text, json) = inspected(&seg, "big");
    assert!(text.contains(&format!("ready: {}…, 0 waiting", "11".repeat(32))), "{text}");
    assert_eq!(json["value_hex"], "11".repeat(64));
}

#[test]
fn get_or_init_computes_once() {
    let name = ShmName::new("future-lazy");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let me = std::process::id();

    // The first caller computes; while it does, inspect names this process as the setter and
    // another setter (here another thread) waits for it.
    let lazy = Future::<u64>::create(&seg, "lazy").unwrap();
    let mut runs = 0;
    let v = lazy
        .get_or_init(|| {
            runs += 1;
            let (st, text, json) = inspected(&seg, "lazy");
            let h = st.setter.as_ref().expect("this process sets it");
            assert_eq!((h.pid, h.alive, st.ready), (me, true, false));
            assert!(text.contains(&format!("being set by pid {me}, 0 waiting, 0 taken over")), "{text}");
            assert_eq!(json["setter"]["pid"], me);
            assert_eq!(json["setter"]["alive"], true);
            assert_eq!((json["ready"].clone(), json["value_hex"].clone()), (false.into(), serde_json::Value::Null));
            assert_eq!(lazy.try_get(), None, "not set while it is computed");
            std::thread::scope(|s| {
                s.spawn(|| {
                    let set = lazy.set_timeout(1, Duration::from_millis(20));
                    assert!(matches!(set, Err(Error::Timeout)), "{set:?}");
                    assert!(matches!(lazy.wait(Some(Duration::from_millis(5))), Err(Error::Timeout)));
                });
            });
            5
        })
        .unwrap();
    assert_eq!((v, runs), (5, 1));
    // The second call does not run its closure.
    assert_eq!(lazy.get_or_init(|| panic!("computed twice")).unwrap(), 5);
    assert_eq!(lazy.get_or_try_init(|| Err::<u64, &str>("computed twice")).unwrap(), Ok(5));
    assert!(!lazy.set(6).unwrap());
    assert_eq!(lazy.try_get(), Some(5));

    // A failed computation sets nothing and is returned; the next caller computes.
    let fallible = Future::<u64>::create(&seg, "fallible").unwrap();
    assert_eq!(
        fallible.get_or_try_init(|| Err::<u64, String>("no data yet".into())).unwrap(),
        Err("no data yet".into())
    );
    assert!(!fallible.is_ready());
    let (st, text, _) = inspected(&seg, "fallible");
    assert!(st.setter.is_none() && !st.ready, "the failed setting is released: {st:?}");
    assert!(text.contains("not set, 0 waiting, 0 taken over"), "{text}");
    assert_eq!(fallible.get_or_try_init(|| Ok::<u64, String>(8)).unwrap(), Ok(8));
    assert_eq!(fallible.get_or_try_init(|| Err::<u64, String>("computed twice".into())).unwrap(), Ok(8));
    assert_eq!(fallible.try_get(), Some(8));

    // A panic abandons the computation, and the panic goes on; the next caller computes.
    let panicky = Future::<u64>::create(&seg, "panicky").unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| panicky.get_or_init(|| panic!("the computation failed"))));
    assert!(panicked.is_err());
    assert!(!panicky.is_ready());
    assert!(inspected(&seg, "panicky").0.setter.is_none(), "the abandoned setting is released");
    assert_eq!(panicky.get_or_init(|| 11).unwrap(), 11);
    assert_eq!(panicky.takeovers(), 0, "nobody died");

    // A caller arriving while another thread computes waits for its value (asleep: inspect
    // counts it) and does not compute.
    let shared = Future::<u64>::create(&seg, "shared").unwrap();
    let computing = AtomicBool::new(false);
    let release = AtomicBool::new(false);
    std::thread::scope(|s| {
        let first = s.spawn(|| {
            shared
                .get_or_init(|| {
                    computing.store(true, Relaxed);
                    until("the test to release the computation", || release.load(Relaxed));
                    21
                })
                .unwrap()
        });
        until("the first caller to compute", || computing.load(Relaxed));
        let second = s.spawn(|| shared.get_or_init(|| panic!("computed by the second caller too")).unwrap());
        until("the second caller to sleep", || waiters(&seg, "shared") == 1);
        let (st, _, _) = inspected(&seg, "shared");
        assert_eq!((st.setter.as_ref().map(|h| (h.pid, h.alive)), st.ready), (Some((me, true)), false));
        release.store(true, Relaxed);
        assert_eq!((first.join().unwrap(), second.join().unwrap()), (21, 21));
    });
    assert_eq!(waiters(&seg, "shared"), 0);
}

#[test]
fn waiting_threads_are_released_by_a_set() {
    let name = ShmName::new("future-wake");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let later = Future::<u64>::create(&seg, "later").unwrap();
    const THREADS: u32 = 3;
    std::thread::scope(|s| {
        let waiting: Vec<_> = (0..THREADS).map(|_| s.spawn(|| later.wait(Some(LIMIT)).unwrap())).collect();
        until("every waiter to sleep", || waiters(&seg, "later") == THREADS);
        let (st, text, _) = inspected(&seg, "later");
        assert!(!st.ready && st.setter.is_none());
        assert!(text.contains(&format!("not set, {THREADS} waiting, 0 taken over")), "{text}");
        // Set from another thread than the waiters'.
        assert!(s.spawn(|| later.set(99).unwrap()).join().unwrap());
        for w in waiting {
            assert_eq!(w.join().unwrap(), 99);
        }
    });
    let (st, _, json) = inspected(&seg, "later");
    assert_eq!((st.ready, st.waiters), (true, 0));
    assert_eq!(json["waiters"], 0);
}

#[test]
fn open_checks() {
    let name = ShmName::new("future-open");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let f = Future::<u64>::create(&seg, "f").unwrap();
    assert!(f.set(3).unwrap());
    // By name; open_or_create opens the existing one or creates a new one.
    assert_eq!(Future::<u64>::open(&seg, "f").unwrap().try_get(), Some(3));
    assert_eq!(Future::<u64>::open_or_create(&seg, "f").unwrap().try_get(), Some(3));
    let fresh = Future::<u64>::open_or_create(&seg, "fresh").unwrap();
    assert!(!fresh.is_ready());
    assert!(!Future::<u64>::open(&seg, "fresh").unwrap().is_ready());
    assert!(matches!(Future::<u64>::create(&seg, "f"), Err(Error::AlreadyExists { .. })));
    // Another element type: another size, or the same size.
    for err in [
        Future::<u32>::open(&seg, "f").map(drop).unwrap_err(),
        Future::<i64>::open(&seg, "f").map(drop).unwrap_err(),
        Future::<f64>::open_or_create(&seg, "f").map(drop).unwrap_err(),
        Future::<Reading>::open(&seg, "f").map(drop).unwrap_err(),
    ] {
        match &err {
            Error::LayoutMismatch { structure, found, .. } => {
                assert_eq!((structure.as_str(), found.as_str()), ("f", "u64"), "{err}");
            }
            other => panic!("expected a layout mismatch: {other:?}"),
        }
    }
    // Wrong kinds, both ways; missing.
    Once::create(&seg, "once").unwrap();
    Mutex::create(&seg, "m").unwrap();
    Array::<u64>::create(&seg, "arr", 1).unwrap();
    Atomic::<u64>::create(&seg, "atomic", 0).unwrap();
    for other in ["once", "m", "arr", "atomic"] {
        assert!(matches!(Future::<u64>::open(&seg, other), Err(Error::KindMismatch { .. })), "{other}");
        assert!(matches!(Future::<u64>::open_or_create(&seg, other), Err(Error::KindMismatch { .. })), "{other}");
    }
    assert!(matches!(Once::open(&seg, "f"), Err(Error::KindMismatch { .. })));
    assert!(matches!(Mutex::open(&seg, "f"), Err(Error::KindMismatch { .. })));
    assert!(matches!(Array::<u64>::open(&seg, "f"), Err(Error::KindMismatch { .. })));
    assert!(matches!(Atomic::<u64>::open(&seg, "f"), Err(Error::KindMismatch { .. })));
    assert!(matches!(Future::<u64>::open(&seg, "missing"), Err(Error::NotFound { .. })));
    // Through the Structure trait: a future takes no parameters.
    assert!(Future::<u64>::open_in(&seg, &Future::<u64>::declaration("f")).is_ok());
    for bad in [
        zipc::layout::StructureLayout { capacity: 1, ..Future::<u64>::declaration("bad") },
        zipc::layout::StructureLayout { flags: 1, ..Future::<u64>::declaration("bad") },
        zipc::layout::StructureLayout { initial: 1, ..Future::<u64>::declaration("bad") },
        zipc::layout::StructureLayout { maximum: 1, ..Future::<u64>::declaration("bad") },
        zipc::layout::StructureLayout { elem: None, ..Future::<u64>::declaration("bad") },
    ] {
        assert!(matches!(Future::<u64>::create_in(&seg, &bad), Err(Error::InvalidArgument { .. })), "{bad:?}");
    }
    assert!(seg.entry("bad").unwrap().is_none(), "nothing was created");
}

/// The header repeats the value's size; a header that disagrees with the descriptor is refused
/// at open with a typed error (nothing is touched).
#[test]
fn a_damaged_header_is_refused_at_open() {
    let name = ShmName::new("future-damaged");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    drop(Future::<u64>::create(&seg, "f").unwrap());
    let at = seg.entry("f").unwrap().unwrap().offset;
    drop(seg);
    poke(&name, at + ELEM_SIZE_OFFSET, &5000u32.to_le_bytes());
    let seg = Segment::open(&name);
    let err = match seg {
        Ok(seg) => Future::<u64>::open(&seg, "f").unwrap_err(),
        Err(e) => e,
    };
    match &err {
        Error::Corrupt { detail, .. } => {
            assert!(detail.contains("5000") && detail.contains('8'), "{detail}");
        }
        other => panic!("expected Corrupt: {other:?}"),
    }
    assert!(err.to_string().contains("future"), "{err}");
}

/// `kind = "future"` in a schema: a `type`, nothing else; each mistake is reported at its
/// file:line:column.
#[test]
fn toml_future_rules() {
    let arena = zipc_schema::Arena::new();
    let ok = "[[structures]]\nname = \"answer\"\nkind = \"future\"\ntype = \"u64\"\ndoc = \"The answer.\"\n";
    let schema = zipc_schema::Schema::parse("ok.toml", ok, &arena).unwrap_or_else(|d| panic!("{d}"));
    let s = schema.layout.structure("answer").unwrap();
    assert_eq!((s.kind, s.capacity, s.flags, s.initial, s.maximum), (zipc::layout::Kind::Future, 0, 0, 0, 0));
    assert_eq!(s.elem.as_ref().map(|e| e.size()), Some(8));

    let cases: &[zipc_tests::schemas::Refusal<'_>] = &[
        ("future_untyped.toml", "", (1, 1), "type"),
        ("future_capacity.toml", "type = \"u64\"\ncapacity = 4\n", (5, 1), "a future takes no parameters"),
        ("future_max_readers.toml", "type = \"u64\"\nmax_readers = 4\n", (5, 1), "max_readers"),
        ("future_manual_reset.toml", "type = \"u64\"\nmanual_reset = true\n", (5, 1), "manual_reset"),
        ("future_bad_type.toml", "type = \"u65\"\n", (4, 9), "u65"),
    ];
    let problems = zipc_tests::schemas::refusals("f", "future", cases);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

const SETTERS: u32 = 4;
const WORDS: usize = 512;

/// Every word of a value equal to the first, which is a setter's id (1..=SETTERS).
fn uniform(v: &[u64; WORDS]) -> u64 {
    assert!((1..=u64::from(SETTERS)).contains(&v[0]), "not a setter's id: {}", v[0]);
    assert!(v.iter().all(|&w| w == v[0]), "a mixed value: {:?}", v.iter().filter(|&&w| w != v[0]).count());
    v[0]
}

/// Waits for every child to be ready (`go == n`), then releases them together.
fn release_children(go: &Atomic<u32>, n: u32) {
    until("every child to be ready", || go.load() == n);
    go.store(n + 1);
    go.wake_all();
}

/// In a child: says it is ready and waits for the parent's go.
fn ready_and_wait_for_go(go: &Atomic<u32>, n: u32) {
    go.fetch_add(1);
    go.wake_all();
    let start = Instant::now();
    while go.load() <= n {
        assert!(start.elapsed() < LIMIT, "no go");
        let _ = go.wait(go.load(), Some(Duration::from_millis(100)));
    }
}

/// Futures the setters race on, one after the other.
const ROUNDS: usize = 24;

/// Four processes `set` 4 KiB values (every word their id) together, released by a go flag, on
/// `ROUNDS` futures one after the other, while a thread of the parent polls them with `try_get`:
/// on each exactly one set returns true, every setter then waits and sees the winner's value, and
/// nobody ever sees a mixed one.
#[test]
fn four_processes_race_to_set() {
    const TEST: &str = "four_processes_race_to_set";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let id: u64 = args[1].parse().unwrap();
        let futures: Vec<_> =
            (0..ROUNDS).map(|r| Future::<[u64; WORDS]>::open(&seg, &format!("big{r}")).unwrap()).collect();
        let won = Array::<u64>::open(&seg, "won").unwrap();
        let seen = Array::<u64>::open(&seg, "seen").unwrap();
        let round = Barrier::open(&seg, "round").unwrap();
        ready_and_wait_for_go(&Atomic::<u32>::open(&seg, "go").unwrap(), SETTERS);
        for (r, f) in futures.iter().enumerate() {
            round.wait_timeout(LIMIT).unwrap(); // every setter starts each round together
            let at = r * SETTERS as usize + id as usize - 1;
            if let Some(v) = f.try_get() {
                uniform(&v);
            }
            if f.set([id; WORDS]).unwrap() {
                won.set(at, 1).unwrap();
            }
            let v = uniform(&f.wait(Some(LIMIT)).unwrap());
            assert_eq!(uniform(&f.try_get().unwrap()), v);
            assert!(!f.set([id; WORDS]).unwrap(), "set twice");
            seen.set(at, v).unwrap();
        }
        return;
    }
    let name = ShmName::new("future-race");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let futures: Vec<_> =
        (0..ROUNDS).map(|r| Future::<[u64; WORDS]>::create(&seg, &format!("big{r}")).unwrap()).collect();
    let slots = ROUNDS as u64 * u64::from(SETTERS);
    let won = Array::<u64>::create(&seg, "won", slots).unwrap();
    let seen = Array::<u64>::create(&seg, "seen", slots).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    Barrier::create(&seg, "round", SETTERS).unwrap();

    let polled = std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let start = Instant::now();
            let mut polled = vec![None; ROUNDS];
            while polled.iter().any(Option::is_none) {
                assert!(start.elapsed() < LIMIT, "never set");
                for (f, p) in futures.iter().zip(&mut polled) {
                    if let Some(v) = f.try_get() {
                        let v = uniform(&v);
                        assert!(p.is_none_or(|p| p == v), "the value changed");
                        *p = Some(v);
                    }
                }
            }
            polled
        });
        let ids: Vec<String> = (1..=SETTERS).map(|i| i.to_string()).collect();
        let mut children: Vec<_> = ids.iter().map(|id| spawn_role(TEST, &[&name, id])).collect();
        release_children(&go, SETTERS);
        for c in &mut children {
            assert!(wait_bounded(c, LIMIT), "a setter failed");
        }
        poller.join().unwrap()
    });
    let mut winners = Vec::new();
    for (r, f) in futures.iter().enumerate() {
        let at = |id: u32| r * SETTERS as usize + id as usize - 1;
        let won: Vec<u64> = (1..=SETTERS).filter(|&id| won.get(at(id)) == Some(1)).map(u64::from).collect();
        assert_eq!(won.len(), 1, "round {r}: exactly one set returned true: {won:?}");
        let w = won[0];
        winners.push(w);
        assert_eq!(polled[r], Some(w), "round {r}: the poller saw the winner's value");
        for id in 1..=SETTERS {
            assert_eq!(seen.get(at(id)), Some(w), "round {r}: setter {id} saw another value");
        }
        assert_eq!(uniform(&f.wait(None).unwrap()), w);
        assert_eq!(f.takeovers(), 0);
        let (st, _, json) = inspected(&seg, &format!("big{r}"));
        assert_eq!((st.ready, st.setter.is_none(), st.waiters, st.takeovers), (true, true, 0, 0));
        assert_eq!(st.value.as_ref().map(Vec::len), Some(WORDS * 8));
        assert_eq!(json["value_hex"].as_str().unwrap(), hex_u64(w).repeat(WORDS));
    }
    eprintln!("winners by round: {winners:?}"); // which setter wins varies: a real race
}

/// Four processes call `get_or_init` together, released by a go flag; the computation takes a
/// while (so the others wait for it) and counts its runs in an `Atomic`. It runs exactly once
/// and every caller gets the value it computed.
#[test]
fn lazy_across_four_processes() {
    const TEST: &str = "lazy_across_four_processes";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let id: u64 = args[1].parse().unwrap();
        let f = Future::<u64>::open(&seg, "lazy").unwrap();
        let runs = Atomic::<u32>::open(&seg, "runs").unwrap();
        let seen = Array::<u64>::open(&seg, "seen").unwrap();
        ready_and_wait_for_go(&Atomic::<u32>::open(&seg, "go").unwrap(), SETTERS);
        let v = f
            .get_or_init(|| {
                runs.fetch_add(1);
                // Widens the window in which the others find it being computed (not a
                // synchronisation: the result is the same without it).
                std::thread::sleep(Duration::from_millis(50));
                1000 + id
            })
            .unwrap();
        assert_eq!(runs.load(), 1, "returned before the value was set, or computed it again");
        assert_eq!(f.try_get(), Some(v));
        seen.set(id as usize - 1, v).unwrap();
        return;
    }
    let name = ShmName::new("future-lazy4");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let f = Future::<u64>::create(&seg, "lazy").unwrap();
    let runs = Atomic::<u32>::create(&seg, "runs", 0).unwrap();
    let seen = Array::<u64>::create(&seg, "seen", u64::from(SETTERS)).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let ids: Vec<String> = (1..=SETTERS).map(|i| i.to_string()).collect();
    let mut children: Vec<_> = ids.iter().map(|id| spawn_role(TEST, &[&name, id])).collect();
    release_children(&go, SETTERS);
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a caller failed");
    }
    assert_eq!(runs.load(), 1, "computed more than once");
    let v = f.try_get().expect("set");
    assert!((1001..=1000 + u64::from(SETTERS)).contains(&v), "{v}");
    for i in 0..SETTERS as usize {
        assert_eq!(seen.get(i).unwrap(), v, "caller {} got another value", i + 1);
    }
    assert_eq!(f.get_or_init(|| panic!("computed again")).unwrap(), v);
    assert_eq!(f.takeovers(), 0);
}

/// In a child: opens the future, computes it in `get_or_init` — says so through `computing`,
/// then blocks until killed.
fn compute_and_hang(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let f = Future::<u64>::open(&seg, "lazy").unwrap();
    let computing = Atomic::<u32>::open(&seg, "computing").unwrap();
    let _ = f.get_or_init(|| {
        computing.store(1);
        computing.wake_all();
        loop {
            std::thread::sleep(Duration::from_secs(1)); // until killed
        }
    });
    unreachable!("killed while computing");
}

/// Starts a child computing future "lazy" and waits until it says it is computing.
fn start_computing(test: &str) -> (ShmName, Segment, Future<u64>, std::process::Child) {
    let name = ShmName::new("future-kill");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let f = Future::<u64>::create(&seg, "lazy").unwrap();
    let computing = Atomic::<u32>::create(&seg, "computing", 0).unwrap();
    let child = spawn_role(test, &[&name]);
    until("the child to compute", || computing.load() == 1);
    (name, seg, f, child)
}

/// A child SIGKILLed inside `get_or_init`'s closure: before the kill inspect names it, alive,
/// and setters wait for it; after it, a caller of `get_or_init` already asleep in another thread
/// takes over, computes its own value and counts the takeover.
#[test]
fn a_killed_setter_is_taken_over_by_a_waiter() {
    const TEST: &str = "a_killed_setter_is_taken_over_by_a_waiter";
    if let Some(args) = child_args(TEST) {
        return compute_and_hang(&args);
    }
    let (_name, seg, f, mut doomed) = start_computing(TEST);
    let (st, text, json) = inspected(&seg, "lazy");
    let h = st.setter.as_ref().expect("the child is the setter");
    assert_eq!((h.pid, h.alive, st.ready), (doomed.id(), true, false));
    assert!(text.contains(&format!("being set by pid {}, 0 waiting, 0 taken over", doomed.id())), "{text}");
    assert_eq!(json["setter"]["pid"], doomed.id());
    assert_eq!(json["setter"]["alive"], true);
    // A live setter is waited for, not taken over.
    let set = f.set_timeout(1, Duration::from_millis(250));
    assert!(matches!(set, Err(Error::Timeout)), "{set:?}");
    assert_eq!((f.takeovers(), f.try_get()), (0, None));

    let runs = AtomicU32::new(0);
    std::thread::scope(|s| {
        let survivor = s.spawn(|| {
            f.get_or_init(|| {
                runs.fetch_add(1, Relaxed);
                77
            })
            .unwrap()
        });
        until("the survivor to sleep", || waiters(&seg, "lazy") == 1);
        assert!(inspected(&seg, "lazy").0.setter.unwrap().alive, "not taken over while alive");
        doomed.kill().unwrap();
        doomed.wait().unwrap();
        assert_eq!(survivor.join().unwrap(), 77, "the survivor computed its own value");
    });
    assert_eq!(runs.load(Relaxed), 1);
    assert_eq!((f.try_get(), f.takeovers()), (Some(77), 1));
    let (st, text, json) = inspected(&seg, "lazy");
    assert_eq!((st.ready, st.setter.is_none(), st.waiters, st.takeovers), (true, true, 0, 1));
    assert!(text.contains(&format!("ready: {}, 0 waiting, 1 taken over", hex_u64(77))), "{text}");
    assert_eq!(
        json,
        serde_json::json!({"ready": true, "setter": null, "waiters": 0, "takeovers": 1, "value_hex": hex_u64(77)})
    );
    assert!(!f.set(78).unwrap());
}

/// A setter killed while computing that nobody waits for: inspect shows it dead; `wait` does not
/// take over (it has no value to set) and times out; the next setter takes over.
#[test]
fn a_dead_setter_seen_then_taken_over() {
    const TEST: &str = "a_dead_setter_seen_then_taken_over";
    if let Some(args) = child_args(TEST) {
        return compute_and_hang(&args);
    }
    let (_name, seg, f, mut doomed) = start_computing(TEST);
    assert!(inspected(&seg, "lazy").0.setter.unwrap().alive);
    let pid = doomed.id();
    doomed.kill().unwrap();
    doomed.wait().unwrap();

    let (st, text, json) = inspected(&seg, "lazy");
    let h = st.setter.as_ref().expect("the dead setter is still named");
    assert_eq!((h.pid, h.alive, st.ready, st.takeovers), (pid, false, false, 0));
    assert!(text.contains(&format!("being set by pid {pid} (dead: the next setter takes it over)")), "{text}");
    assert_eq!(json["setter"]["pid"], pid);
    assert_eq!(json["setter"]["alive"], false);
    assert!(matches!(f.wait(Some(Duration::from_millis(150))), Err(Error::Timeout)));
    assert_eq!((f.try_get(), f.takeovers()), (None, 0));

    assert!(f.set(5).unwrap(), "the next setter takes over");
    assert_eq!((f.try_get(), f.takeovers()), (Some(5), 1));
    assert_eq!(f.get_or_init(|| panic!("set")).unwrap(), 5);
    let (st, _, _) = inspected(&seg, "lazy");
    assert_eq!((st.ready, st.setter.is_none(), st.takeovers), (true, true, 1));
}
