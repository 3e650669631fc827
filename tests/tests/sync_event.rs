//! The event: auto-reset (each set consumed by exactly one waiter) and manual-reset (a set
//! releases every waiter), timeouts, across processes.
//!
//! `ZIPC_SOAK=1` runs the multi-process tests 20 times longer.

use std::time::{Duration, Instant};

use zipc::event::{STATE_OFFSET, STATE_SET};
use zipc::layout::{flags, StructureLayout};
use zipc::{Array, Atomic, Error, Event, ResetMode, Segment, Structure};
use zipc_tests::{child_args, peek, spawn_role, wait_bounded, ShmName};

/// Hang guard (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);

/// `n`, or 20 × `n` with `ZIPC_SOAK` set (a longer run of the same checks).
fn soak<T: From<u8> + std::ops::Mul<Output = T>>(n: T) -> T {
    if std::env::var_os("ZIPC_SOAK").is_some() {
        n * T::from(20)
    } else {
        n
    }
}

#[test]
fn event_api_and_layout() {
    let name = ShmName::new("event-api");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let auto = Event::create(&seg, "auto", ResetMode::Auto, false).unwrap();
    let e = seg.entry("auto").unwrap().unwrap();
    assert_eq!((e.size, e.offset % 128), (128, 0));
    assert_eq!(e.descriptor.as_ref().unwrap().flags, 0);
    assert!(!auto.is_set() && !auto.try_wait());
    auto.set();
    auto.set(); // coalesces: still one set
    assert!(auto.is_set());
    assert_eq!(peek(&name, e.offset + STATE_OFFSET, 4)[0] as u32 & STATE_SET, STATE_SET);
    assert!(auto.try_wait(), "consumes the set");
    assert!(!auto.is_set() && !auto.try_wait());
    auto.set();
    auto.wait().unwrap();
    assert!(!auto.is_set(), "wait consumed it");
    let t = Instant::now();
    assert!(matches!(auto.wait_timeout(Duration::from_millis(30)), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert_eq!(auto.waiters(), 0);
    auto.set();
    auto.wait_timeout(LIMIT).unwrap();

    let manual = Event::create(&seg, "manual", ResetMode::Manual, true).unwrap();
    assert_eq!(seg.entry("manual").unwrap().unwrap().descriptor.unwrap().flags, flags::EVENT_MANUAL_RESET);
    assert!(manual.is_set());
    manual.wait().unwrap();
    assert!(manual.try_wait() && manual.is_set(), "manual-reset waits consume nothing");
    manual.reset();
    assert!(!manual.is_set() && !manual.try_wait());
    assert!(matches!(manual.wait_timeout(Duration::from_millis(10)), Err(Error::Timeout)));
    manual.set();
    manual.wait_timeout(Duration::ZERO).unwrap();

    // Open adopts the mode; open_or_create checks it.
    assert_eq!(Event::open(&seg, "manual").unwrap().mode(), ResetMode::Manual);
    assert_eq!(Event::open(&seg, "auto").unwrap().mode(), ResetMode::Auto);
    assert!(Event::open_or_create(&seg, "manual", ResetMode::Manual, false).is_ok());
    let err = Event::open_or_create(&seg, "manual", ResetMode::Auto, false).unwrap_err();
    assert!(matches!(&err, Error::ParameterMismatch { parameter: "reset mode", .. }), "{err}");
    assert!(err.to_string().contains("manual") && err.to_string().contains("auto"), "{err}");
    Array::<u32>::create(&seg, "arr", 1).unwrap();
    assert!(matches!(Event::open(&seg, "arr"), Err(Error::KindMismatch { .. })));

    // Through the Structure trait, as a declared segment does; bad parameters are refused.
    let decl = StructureLayout { flags: flags::EVENT_MANUAL_RESET, initial: 1, ..Event::declaration("declared") };
    let d = Event::create_in(&seg, &decl).unwrap();
    assert_eq!((d.mode(), d.is_set()), (ResetMode::Manual, true));
    assert!(Event::open_in(&seg, &decl).is_ok());
    for bad in [
        StructureLayout { flags: 2, ..Event::declaration("bad") },
        StructureLayout { initial: 2, ..Event::declaration("bad") },
        StructureLayout { capacity: 1, ..Event::declaration("bad") },
    ] {
        assert!(matches!(Event::create_in(&seg, &bad), Err(Error::InvalidArgument { .. })));
    }
}

fn items() -> u32 {
    soak(2000)
}
const CONSUMERS: u32 = 2;

/// Auto-reset across processes: a producer sets the event 2000 times, each time only after the
/// previous set was consumed (acknowledged on a second event); two consumer processes compete.
/// Every set is consumed exactly once (a per-item counter), and stop signals reach both.
#[test]
fn auto_reset_each_set_consumed_once() {
    if let Some(args) = child_args("auto_reset_each_set_consumed_once") {
        let seg = Segment::open(&args[0]).unwrap();
        let ready = Event::open(&seg, "ready").unwrap();
        let ack = Event::open(&seg, "ack").unwrap();
        let item = Atomic::<u32>::open(&seg, "item").unwrap();
        let consumed = Array::<u32>::open(&seg, "consumed").unwrap();
        loop {
            ready.wait_timeout(LIMIT).unwrap();
            let i = item.load();
            if i == u32::MAX {
                ack.set();
                return; // stop
            }
            consumed.fetch_add(i as usize, 1).unwrap();
            ack.set();
        }
    }
    let name = ShmName::new("event-auto");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let ready = Event::create(&seg, "ready", ResetMode::Auto, false).unwrap();
    let ack = Event::create(&seg, "ack", ResetMode::Auto, false).unwrap();
    let item = Atomic::<u32>::create(&seg, "item", 0).unwrap();
    let consumed = Array::<u32>::create(&seg, "consumed", items() as u64).unwrap();
    let mut children: Vec<_> =
        (0..CONSUMERS).map(|_| spawn_role("auto_reset_each_set_consumed_once", &[&name])).collect();
    for i in 0..items() {
        item.store(i);
        ready.set();
        ack.wait_timeout(LIMIT).unwrap();
    }
    item.store(u32::MAX);
    for _ in 0..CONSUMERS {
        ready.set();
        ack.wait_timeout(LIMIT).unwrap();
    }
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a consumer failed");
    }
    assert!(consumed.to_vec().iter().all(|&n| n == 1), "every set consumed exactly once");
    assert!(!ready.is_set() && !ack.is_set());
}

const GATED: usize = 3;

/// Manual-reset across processes: three processes wait at a gate; one set releases all of them
/// (each reports through an auto-reset event), and the gate stays open for a latecomer until
/// reset. A set immediately followed by a reset still releases processes already waiting.
#[test]
fn manual_reset_releases_every_waiter() {
    if let Some(args) = child_args("manual_reset_releases_every_waiter") {
        let seg = Segment::open(&args[0]).unwrap();
        let gate = Event::open(&seg, "gate").unwrap();
        let pulse = Event::open(&seg, "pulse").unwrap();
        let through = Atomic::<u32>::open(&seg, "through").unwrap();
        gate.wait_timeout(LIMIT).unwrap();
        through.fetch_add(1);
        through.wake_all();
        if args.len() > 1 {
            pulse.wait_timeout(LIMIT).unwrap();
            through.fetch_add(100);
            through.wake_all();
        }
        return;
    }
    let name = ShmName::new("event-manual");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let gate = Event::create(&seg, "gate", ResetMode::Manual, false).unwrap();
    let pulse = Event::create(&seg, "pulse", ResetMode::Manual, false).unwrap();
    let through = Atomic::<u32>::create(&seg, "through", 0).unwrap();
    let test = "manual_reset_releases_every_waiter";
    let mut children: Vec<_> = (0..GATED).map(|_| spawn_role(test, &[&name, "pulse"])).collect();
    let start = Instant::now();
    while gate.waiters() < GATED as u32 {
        assert!(start.elapsed() < LIMIT, "the children never waited");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(through.load(), 0);
    gate.set();
    let mut seen = through.load();
    while seen != GATED as u32 {
        through.wait(seen, Some(LIMIT)).unwrap();
        seen = through.load();
    }
    // A latecomer passes the open gate at once.
    let mut late = spawn_role(test, &[&name]);
    assert!(wait_bounded(&mut late, LIMIT));
    assert_eq!(through.load(), GATED as u32 + 1);
    // The pulse: set then reset at once; the processes waiting on it all get through.
    while pulse.waiters() < GATED as u32 {
        assert!(start.elapsed() < LIMIT, "the children never waited for the pulse");
        std::thread::sleep(Duration::from_millis(1));
    }
    pulse.set();
    pulse.reset();
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a gated child failed");
    }
    assert_eq!(through.load(), GATED as u32 + 1 + 100 * GATED as u32);
    assert!(gate.is_set() && !pulse.is_set());
    gate.reset();
    assert!(!gate.is_set());
}
