//! The latch: API, ZeroIPC byte layout, timeouts, and release exactly at zero across processes.

use std::time::{Duration, Instant};

use zipc::latch::{COUNT_OFFSET, INITIAL_OFFSET};
use zipc::{Array, Atomic, Error, Latch, Segment};
use zipc_tests::{child_args, peek, poke, spawn_role, wait_bounded, ShmName};

/// Hang guard (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn latch_api_and_layout() {
    let name = ShmName::new("latch-api");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let l = Latch::create(&seg, "l", 3).unwrap();
    let e = seg.entry("l").unwrap().unwrap();
    assert_eq!((e.size, e.offset % 8), (16, 0));
    assert_eq!(peek(&name, e.offset, 16), [3, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(!l.try_wait());
    assert_eq!(l.count_down(1), 2);
    assert_eq!((l.count(), l.initial()), (2, 3));
    let t = Instant::now();
    assert!(matches!(l.wait_timeout(Duration::from_millis(30)), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert_eq!((l.count(), l.waiters()), (2, 0), "a timeout changes nothing");
    assert_eq!(l.count_down(5), 0, "saturates at zero");
    assert!(l.try_wait());
    l.wait().unwrap();
    l.wait_timeout(Duration::ZERO).unwrap();
    assert_eq!(l.count_down(1), 0, "stays open");
    assert_eq!(peek(&name, e.offset + COUNT_OFFSET, 4), [0; 4]);
    assert_eq!(peek(&name, e.offset + INITIAL_OFFSET, 4), [3, 0, 0, 0], "initial is kept");

    assert_eq!(Latch::open(&seg, "l").unwrap().initial(), 3);
    assert!(Latch::open_or_create(&seg, "l", 3).is_ok());
    let err = Latch::open_or_create(&seg, "l", 4).unwrap_err();
    assert!(matches!(err, Error::ParameterMismatch { parameter: "count", .. }), "{err}");
    for bad in [0, 1 << 31] {
        let err = Latch::create(&seg, "bad", bad).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{bad}: {err}");
    }
    Array::<u32>::create(&seg, "arr", 1).unwrap();
    assert!(matches!(Latch::open(&seg, "arr"), Err(Error::KindMismatch { .. })));

    // A corrupted initial count is refused at open; a nonsense live count is not.
    poke(&name, e.offset + INITIAL_OFFSET, &9i32.to_le_bytes());
    assert!(matches!(Segment::open(&name), Err(Error::Corrupt { .. })));
    poke(&name, e.offset + INITIAL_OFFSET, &3i32.to_le_bytes());
    poke(&name, e.offset + COUNT_OFFSET, &(-2i32).to_le_bytes());
    let seg2 = Segment::open(&name).unwrap();
    assert!(Latch::open(&seg2, "l").unwrap().try_wait(), "a negative count counts as open");
}

const COUNTERS: u32 = 4;
const WAITERS: u32 = 3;

/// Three processes wait on a latch of 4 while four others count it down one at a time, in
/// turn. Each counter records its count_down in a shared counter first; a waiter, once
/// released, must see all four recorded (not released early), and every waiter is released
/// (not late: they all return once the count is 0). A fourth waiter arrives after the release
/// and passes at once.
#[test]
fn released_exactly_at_zero() {
    if let Some(args) = child_args("released_exactly_at_zero") {
        let seg = Segment::open(&args[0]).unwrap();
        let latch = Latch::open(&seg, "l").unwrap();
        let downs = Atomic::<u32>::open(&seg, "downs").unwrap();
        let turn = Atomic::<u32>::open(&seg, "turn").unwrap();
        let released = Atomic::<u32>::open(&seg, "released").unwrap();
        if args[1] == "wait" {
            latch.wait_timeout(LIMIT).unwrap();
            assert_eq!(downs.load(), COUNTERS, "released before the count reached zero");
            assert_eq!(latch.count(), 0);
            released.fetch_add(1);
            return;
        }
        let me: u32 = args[1].parse().unwrap();
        // Count down in turn: 0, 1, 2, 3.
        loop {
            let t = turn.load();
            if t == me {
                break;
            }
            turn.wait(t, Some(LIMIT)).unwrap();
        }
        assert_eq!(released.load(), 0, "a waiter left before count_down #{me}");
        downs.fetch_add(1);
        assert_eq!(latch.count_down(1), COUNTERS - 1 - me);
        turn.store(me + 1);
        turn.wake_all();
        return;
    }
    let name = ShmName::new("latch-zero");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let latch = Latch::create(&seg, "l", COUNTERS).unwrap();
    Atomic::<u32>::create(&seg, "downs", 0).unwrap();
    let turn = Atomic::<u32>::create(&seg, "turn", u32::MAX).unwrap();
    let released = Atomic::<u32>::create(&seg, "released", 0).unwrap();
    let mut waiters: Vec<_> = (0..WAITERS).map(|_| spawn_role("released_exactly_at_zero", &[&name, "wait"])).collect();
    // Start counting down once the waiters are asleep (not needed for correctness: it makes
    // the test exercise the wake-up rather than the fast path).
    let start = Instant::now();
    while latch.waiters() < WAITERS && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut counters: Vec<_> =
        (0..COUNTERS).map(|i| spawn_role("released_exactly_at_zero", &[&name, &i.to_string()])).collect();
    turn.store(0);
    turn.wake_all();
    for c in counters.iter_mut().chain(waiters.iter_mut()) {
        assert!(wait_bounded(c, LIMIT), "a child failed");
    }
    assert_eq!(released.load(), WAITERS);
    assert_eq!((latch.count(), latch.waiters()), (0, 0));
    let mut late = spawn_role("released_exactly_at_zero", &[&name, "wait"]);
    assert!(wait_bounded(&mut late, LIMIT));
    assert_eq!(released.load(), WAITERS + 1);
}
