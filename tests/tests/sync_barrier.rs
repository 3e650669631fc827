//! The barrier: API, ZeroIPC byte layout, generations across processes with no early release
//! and one leader each, and timeouts that leave it consistent even when racing completion.
//!
//! `ZIPC_SOAK=1` runs the multi-process tests 20 times longer.

use std::time::{Duration, Instant};

use zipc::barrier::{ARRIVED_OFFSET, GENERATION_OFFSET, PARTICIPANTS_OFFSET};
use zipc::{Array, Atomic, Barrier, Error, Segment};
use zipc_tests::{child_args, peek, poke, spawn_role, wait_bounded, ShmName};

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

fn i32_at(name: &ShmName, at: u64) -> i32 {
    i32::from_le_bytes(peek(name, at, 4).try_into().unwrap())
}

#[test]
fn barrier_api_and_layout() {
    let name = ShmName::new("barrier-api");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let b = Barrier::create(&seg, "b", 3).unwrap();
    assert_eq!((b.participants(), b.arrived(), b.generation()), (3, 0, 0));
    let e = seg.entry("b").unwrap().unwrap();
    assert_eq!((e.size, e.offset % 8), (16, 0));
    assert_eq!(peek(&name, e.offset, 16), [0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);

    // A barrier of one: every wait leads and completes a generation at once.
    let one = Barrier::create(&seg, "one", 1).unwrap();
    for g in 0..3 {
        let r = one.wait().unwrap();
        assert!(r.is_leader());
        assert_eq!(r.generation(), g);
    }
    assert_eq!(one.generation(), 3);

    // Threads of one process are participants like processes.
    let leaders = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let r = b.wait().unwrap();
                assert_eq!(r.generation(), 0);
                leaders.fetch_add(r.is_leader() as u32, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    assert_eq!(leaders.into_inner(), 1);
    assert_eq!((b.arrived(), b.generation()), (0, 1));
    assert_eq!(i32_at(&name, e.offset + GENERATION_OFFSET), 1);

    assert_eq!(Barrier::open(&seg, "b").unwrap().participants(), 3);
    assert!(Barrier::open_or_create(&seg, "b", 3).is_ok());
    let err = Barrier::open_or_create(&seg, "b", 4).unwrap_err();
    assert!(matches!(err, Error::CapacityMismatch { expected: 4, found: 3, .. }), "{err}");
    for bad in [0, 1 << 31] {
        let err = Barrier::create(&seg, "bad", bad).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{bad}: {err}");
    }
    Array::<u32>::create(&seg, "arr", 1).unwrap();
    assert!(matches!(Barrier::open(&seg, "arr"), Err(Error::KindMismatch { .. })));
}

#[test]
fn corrupted_participants_are_refused_at_open() {
    let name = ShmName::new("barrier-corrupt");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    Barrier::create(&seg, "b", 2).unwrap();
    let at = seg.entry("b").unwrap().unwrap().offset;
    poke(&name, at + PARTICIPANTS_OFFSET, &(-1i32).to_le_bytes());
    assert!(matches!(Segment::open(&name), Err(Error::Corrupt { .. })));
    // A nonsense live count (ZeroIPC's timeout can leave -1) does not block the segment, and
    // the next arrival heals it.
    poke(&name, at + PARTICIPANTS_OFFSET, &2i32.to_le_bytes());
    poke(&name, at + ARRIVED_OFFSET, &(-1i32).to_le_bytes());
    let seg = Segment::open(&name).unwrap();
    let b = Barrier::open(&seg, "b").unwrap();
    assert!(b.wait().unwrap().is_leader());
    assert_eq!((b.arrived(), b.generation()), (0, 1));
}

#[test]
fn timeout_withdraws_the_arrival() {
    let name = ShmName::new("barrier-timeout");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let b = Barrier::create(&seg, "b", 2).unwrap();
    let t = Instant::now();
    assert!(matches!(b.wait_timeout(Duration::from_millis(50)), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert_eq!((b.arrived(), b.generation()), (0, 0), "the arrival was withdrawn");
    let at = seg.entry("b").unwrap().unwrap().offset;
    assert_eq!(peek(&name, at + 12, 4), [0; 4], "no sleeper left counted");
    assert_eq!(b.sleepers(), 0);
    // Still a barrier of two: a lone arrival does not pass, two do.
    std::thread::scope(|s| {
        let other = s.spawn(|| b.wait_timeout(LIMIT).unwrap());
        let mine = b.wait_timeout(LIMIT).unwrap();
        let theirs = other.join().unwrap();
        assert!(mine.is_leader() ^ theirs.is_leader());
        assert_eq!((mine.generation(), theirs.generation()), (0, 0));
    });
    assert_eq!((b.arrived(), b.generation()), (0, 1));
}

const PROCS: u32 = 4;
fn generations() -> u32 {
    soak(1000)
}

/// Four processes pass a barrier 1000 times. Before each wait a process counts its arrival in
/// that generation's slot; after it, the slot must already hold all four (no early release),
/// the generation number must be the one it arrived in, and each generation has one leader.
#[test]
fn four_processes_thousand_generations() {
    if let Some(args) = child_args("four_processes_thousand_generations") {
        let seg = Segment::open(&args[0]).unwrap();
        let b = Barrier::open(&seg, "b").unwrap();
        let arrivals = Array::<u32>::open(&seg, "arrivals").unwrap();
        let leaders = Array::<u32>::open(&seg, "leaders").unwrap();
        for g in 0..generations() {
            arrivals.fetch_add(g as usize, 1).unwrap();
            let r = b.wait().unwrap();
            assert_eq!(r.generation(), g, "left in another generation");
            let n = arrivals.load(g as usize).unwrap();
            assert_eq!(n, PROCS, "released from generation {g} with {n} of {PROCS} arrived");
            if r.is_leader() {
                leaders.fetch_add(g as usize, 1).unwrap();
            }
        }
        return;
    }
    let name = ShmName::new("barrier-gens");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let b = Barrier::create(&seg, "b", PROCS).unwrap();
    let arrivals = Array::<u32>::create(&seg, "arrivals", generations() as u64).unwrap();
    let leaders = Array::<u32>::create(&seg, "leaders", generations() as u64).unwrap();
    let mut children: Vec<_> =
        (0..PROCS).map(|_| spawn_role("four_processes_thousand_generations", &[&name])).collect();
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a child failed");
    }
    assert!(arrivals.to_vec().iter().all(|&n| n == PROCS));
    assert!(leaders.to_vec().iter().all(|&n| n == 1), "one leader per generation");
    assert_eq!((b.arrived(), b.generation()), (0, generations()));
}

fn race_rounds() -> u32 {
    soak(1000)
}

/// Timeouts racing completion, across processes: one process waits with very short timeouts
/// (0 to 500 µs) and retries until it gets through, the other waits plainly. Each of 1000
/// generations is passed exactly once by each, whatever the interleaving of withdrawals and
/// completions, and the barrier ends empty.
#[test]
fn timeouts_racing_completion_keep_it_consistent() {
    if let Some(args) = child_args("timeouts_racing_completion_keep_it_consistent") {
        let seg = Segment::open(&args[0]).unwrap();
        let b = Barrier::open(&seg, "b").unwrap();
        let passes = Array::<u32>::open(&seg, "passes").unwrap();
        let timeouts = Atomic::<u64>::open(&seg, "timeouts").unwrap();
        let impatient = args[1] == "impatient";
        for g in 0..race_rounds() {
            let r = if impatient {
                let mut attempt = 0usize;
                loop {
                    attempt += 1;
                    // Down to zero: arrive, find it incomplete, withdraw — racing the other's arrival.
                    let timeout = Duration::from_micros([0, 5, 50, 500][attempt % 4]);
                    match b.wait_timeout(timeout) {
                        Ok(r) => break r,
                        Err(Error::Timeout) => {
                            timeouts.fetch_add(1);
                            assert!(b.arrived() <= 1, "arrived {} in a barrier of 2", b.arrived());
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            } else {
                // Arrive a little late now and then, so that the impatient one times out often
                // (how often does not matter for the result).
                std::thread::sleep(Duration::from_micros(100 * (g % 4) as u64));
                b.wait().unwrap()
            };
            assert_eq!(r.generation(), g);
            passes.fetch_add(g as usize, 1).unwrap();
        }
        return;
    }
    let name = ShmName::new("barrier-race");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let b = Barrier::create(&seg, "b", 2).unwrap();
    let passes = Array::<u32>::create(&seg, "passes", race_rounds() as u64).unwrap();
    let timeouts = Atomic::<u64>::create(&seg, "timeouts", 0).unwrap();
    let test = "timeouts_racing_completion_keep_it_consistent";
    let mut children = [spawn_role(test, &[&name, "impatient"]), spawn_role(test, &[&name, "patient"])];
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a child failed");
    }
    assert!(passes.to_vec().iter().all(|&n| n == 2), "every generation passed once by each");
    assert_eq!((b.arrived(), b.generation()), (0, race_rounds()));
    println!("{} timed-out waits withdrawn", timeouts.load());
}
