//! `Ring<T>`: the API within one process, then producer and consumer in separate processes —
//! a lossless ring delivering a million elements exactly once in order, an overwrite ring with a
//! slow reader that counts exactly what it missed, and roles across processes.

use std::time::{Duration, Instant};

use zipc::layout::Kind;
use zipc::ring::field;
use zipc::{Atomic, Error, Pool, Ring, RingMode, Segment};
use zipc_tests::{child_args, poke, spawn_role, wait_bounded, ShmName};

const LIMIT: Duration = Duration::from_secs(120);

fn segment(tag: &str) -> (ShmName, Segment) {
    let name = ShmName::new(tag);
    let seg = Segment::create(&name, 4 << 20).unwrap();
    (name, seg)
}

#[test]
fn lossless_push_pop_peek_and_counters() {
    let (_name, seg) = segment("ring-basic");
    let ring = Ring::<u64>::create(&seg, "r", 4, RingMode::Lossless).unwrap();
    assert_eq!((ring.capacity(), ring.mode(), ring.len(), ring.latest()), (4, RingMode::Lossless, 0, None));
    let mut tx = ring.producer().unwrap();
    let mut rx = ring.consumer().unwrap();
    assert_eq!(rx.try_pop(), None);
    assert_eq!(rx.peek(), None);

    assert!(tx.try_push(10));
    assert_eq!(tx.try_push_bulk(&[11, 12, 13, 14, 15]), 3, "only three fit");
    assert!(!tx.try_push(99), "full");
    assert_eq!((ring.len(), ring.total_written()), (4, 4));
    assert_eq!(rx.peek(), Some(10));
    assert_eq!(rx.peek(), Some(10), "peek does not consume");
    assert_eq!(rx.try_pop(), Some(10));
    let mut buf = [0; 8];
    assert_eq!(rx.try_pop_bulk(&mut buf[..2]), 2);
    assert_eq!(buf[..2], [11, 12]);
    // Wrap around the end of the slot array in one batch each way.
    assert_eq!(tx.try_push_bulk(&[14, 15, 16]), 3);
    assert_eq!(rx.try_pop_bulk(&mut buf), 4);
    assert_eq!(buf[..4], [13, 14, 15, 16]);
    assert_eq!((ring.total_written(), ring.total_read(), ring.total_missed()), (7, 7, 0));
    assert!(ring.is_empty());

    // The newest elements, consumed or not.
    let mut last = [0; 3];
    assert_eq!(ring.get_last_n(3, &mut last), 3);
    assert_eq!(last, [14, 15, 16]);
    assert_eq!(ring.get_last_n(10, &mut buf), 4, "at most the capacity");
    assert_eq!(buf[..4], [13, 14, 15, 16]);
    assert_eq!(ring.get_last_n(2, &mut buf), 2);
    assert_eq!(buf[..2], [15, 16]);
    assert_eq!(ring.latest(), Some(16));
    assert_eq!(tx.try_push_bulk(&[]), 0);
    assert_eq!(rx.try_pop_bulk(&mut []), 0);
}

#[test]
fn non_power_of_two_capacity_wraps_in_bulk() {
    let (_name, seg) = segment("ring-np2");
    let ring = Ring::<[u32; 3]>::create(&seg, "r", 5, RingMode::Lossless).unwrap();
    let mut tx = ring.producer().unwrap();
    let mut rx = ring.consumer().unwrap();
    let mut next_in = 0u32;
    let mut next_out = 0u32;
    let mut buf = [[0; 3]; 7];
    for round in 0..200 {
        let batch: Vec<[u32; 3]> = (0..(round % 7)).map(|i| [next_in + i, !(next_in + i), 7]).collect();
        let n = tx.try_push_bulk(&batch);
        next_in += n as u32;
        let m = rx.try_pop_bulk(&mut buf[..(round * 3 % 7) as usize]);
        for e in &buf[..m] {
            assert_eq!(*e, [next_out, !next_out, 7]);
            next_out += 1;
        }
    }
    assert!(next_out > 100, "data flowed: {next_out}");
}

#[test]
fn overwrite_keeps_the_newest_and_counts_misses() {
    let (_name, seg) = segment("ring-ow");
    let ring = Ring::<u32>::create(&seg, "r", 4, RingMode::Overwrite).unwrap();
    let mut tx = ring.producer().unwrap();
    let mut rx = ring.consumer().unwrap();
    for v in 0..10 {
        assert!(tx.try_push(v), "overwrite never refuses");
    }
    assert_eq!(ring.len(), 4);
    assert_eq!(rx.peek(), Some(6), "the oldest still there");
    assert_eq!(rx.missed(), 6, "peek learned what was lost");
    assert_eq!(rx.try_pop(), Some(6));
    // A batch longer than the ring: only its last 4 land; the rest count as written and missed.
    assert_eq!(tx.try_push_bulk(&(100..110).collect::<Vec<_>>()), 10);
    assert_eq!(ring.total_written(), 20);
    let mut buf = [0; 8];
    assert_eq!(rx.try_pop_bulk(&mut buf), 4);
    assert_eq!(buf[..4], [106, 107, 108, 109]);
    assert_eq!(rx.missed(), 6 + 3 + 6);
    assert_eq!(rx.delivered(), 5);
    assert_eq!(rx.delivered() + rx.missed(), ring.total_written());
    assert_eq!((ring.total_read(), ring.total_missed()), (5, 15));
    assert_eq!(rx.try_pop(), None);
    let mut last = [0; 4];
    assert_eq!(ring.get_last_n(4, &mut last), 4);
    assert_eq!(last, [106, 107, 108, 109]);
}

#[test]
fn one_producer_and_one_consumer_at_a_time() {
    let (_name, seg) = segment("ring-roles");
    let ring = Ring::<u64>::create(&seg, "r", 8, RingMode::Lossless).unwrap();
    let again = Ring::<u64>::open(&seg, "r").unwrap();
    let tx = ring.producer().unwrap();
    let err = again.producer().unwrap_err();
    assert!(matches!(&err, Error::RoleTaken { role: "producer", pid, .. } if *pid == std::process::id()), "{err}");
    assert!(err.to_string().contains("only one handle may hold it"), "{err}");
    let rx = again.consumer().unwrap();
    assert!(matches!(ring.consumer(), Err(Error::RoleTaken { role: "consumer", .. })));
    drop(tx);
    drop(rx);
    let mut tx = again.producer().unwrap();
    assert!(!tx.took_over());
    assert!(tx.try_push(5));
    assert_eq!(ring.consumer().unwrap().try_pop(), Some(5));
}

#[test]
fn timeouts_return_timeout_and_leave_the_ring_usable() {
    let (_name, seg) = segment("ring-timeout");
    let ring = Ring::<u64>::create(&seg, "r", 2, RingMode::Lossless).unwrap();
    let mut tx = ring.producer().unwrap();
    let mut rx = ring.consumer().unwrap();
    let t = Instant::now();
    assert!(matches!(rx.pop(Some(Duration::from_millis(30))), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    let mut buf = [0; 2];
    assert!(matches!(rx.pop_bulk(&mut buf, Some(Duration::ZERO)), Err(Error::Timeout)));
    tx.push_bulk(&[1, 2], Some(Duration::ZERO)).unwrap();
    let t = Instant::now();
    assert!(matches!(tx.push(3, Some(Duration::from_millis(30))), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert_eq!(rx.pop(Some(Duration::ZERO)).unwrap(), 1);
    tx.push(3, Some(Duration::ZERO)).unwrap();
    assert_eq!(rx.pop_bulk(&mut buf, None).unwrap(), 2);
    assert_eq!(buf, [2, 3]);
    assert_eq!(ring.total_written(), 3);

    // Overwrite mode never waits to push.
    let ow = Ring::<u64>::create(&seg, "ow", 2, RingMode::Overwrite).unwrap();
    let mut tx = ow.producer().unwrap();
    for v in 0..5 {
        tx.push(v, Some(Duration::ZERO)).unwrap();
    }
    assert_eq!(ow.consumer().unwrap().pop(Some(Duration::ZERO)).unwrap(), 3);
}

#[test]
fn a_blocked_pop_wakes_on_a_push_from_another_thread() {
    let (_name, seg) = segment("ring-wake");
    let ring = Ring::<u64>::create(&seg, "r", 4, RingMode::Lossless).unwrap();
    let mut rx = ring.consumer().unwrap();
    let mut tx = ring.producer().unwrap();
    let pusher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        tx.push(42, None).unwrap();
    });
    assert_eq!(rx.pop(Some(LIMIT)).unwrap(), 42);
    pusher.join().unwrap();
}

/// A consumer process asleep in a blocking pop (the ring's inspected state shows it waiting)
/// wakes when another process pushes.
#[test]
fn a_blocked_pop_wakes_on_a_push_from_another_process() {
    if let Some(args) = child_args("a_blocked_pop_wakes_on_a_push_from_another_process") {
        let seg = Segment::open(&args[0]).unwrap();
        let mut rx = Ring::<u64>::open(&seg, "r").unwrap().consumer().unwrap();
        assert_eq!(rx.pop(Some(LIMIT)).unwrap(), 42);
        return;
    }
    let (name, seg) = segment("ring-wake-proc");
    let ring = Ring::<u64>::create(&seg, "r", 4, RingMode::Lossless).unwrap();
    let mut tx = ring.producer().unwrap();
    let mut child = spawn_role("a_blocked_pop_wakes_on_a_push_from_another_process", &[&name]);
    let waiting = || match zipc::inspect::snapshot(&seg).unwrap().entries[0].state {
        Some(zipc::inspect::State::Ring(ref r)) => r.waiting_consumers,
        _ => panic!("ring state"),
    };
    let start = Instant::now();
    while waiting() == 0 {
        assert!(start.elapsed() < LIMIT, "the consumer never slept");
        std::thread::sleep(Duration::from_millis(1));
    }
    tx.push(42, None).unwrap();
    assert!(wait_bounded(&mut child, LIMIT), "the woken consumer got 42");
}

#[test]
fn open_checks_type_capacity_and_mode() {
    let (_name, seg) = segment("ring-open");
    Ring::<u64>::create(&seg, "r", 16, RingMode::Overwrite).unwrap();
    let r = Ring::<u64>::open(&seg, "r").unwrap();
    assert_eq!((r.capacity(), r.mode()), (16, RingMode::Overwrite));
    assert!(Ring::<u64>::open_or_create(&seg, "r", 16, RingMode::Overwrite).is_ok());
    let err = Ring::<u64>::open_or_create(&seg, "r", 16, RingMode::Lossless).unwrap_err();
    assert!(matches!(&err, Error::ParameterMismatch { parameter: "overwrite", .. }), "{err}");
    assert!(err.to_string().contains("overwrite true"), "{err}");
    let err = Ring::<u64>::open_or_create(&seg, "r", 8, RingMode::Overwrite).unwrap_err();
    assert!(matches!(err, Error::CapacityMismatch { expected: 8, found: 16, .. }), "{err}");
    let err = Ring::<u32>::open(&seg, "r").unwrap_err();
    assert!(matches!(err, Error::LayoutMismatch { .. }), "{err}");
    let err = Pool::<u64>::open(&seg, "r").unwrap_err();
    assert!(matches!(err, Error::KindMismatch { expected: Kind::Pool, found: Some(Kind::Ring), .. }), "{err}");
    assert!(matches!(Ring::<u64>::create(&seg, "r", 16, RingMode::Overwrite), Err(Error::AlreadyExists { .. })));
    let err = Ring::<u64>::create(&seg, "zero", 0, RingMode::Lossless).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let err = Ring::<u64>::create(&seg, "huge", 1 << 40, RingMode::Lossless).unwrap_err();
    assert!(matches!(err, Error::SegmentFull { .. }), "{err}");
    // open_or_create creates when missing.
    let c = Ring::<u8>::open_or_create(&seg, "new", 3, RingMode::Lossless).unwrap();
    assert_eq!(c.capacity(), 3);
}

#[test]
fn corrupt_headers_and_positions_are_errors_not_crashes() {
    let (name, seg) = segment("ring-corrupt");
    let ring = Ring::<u64>::create(&seg, "r", 8, RingMode::Lossless).unwrap();
    let at = seg.entry("r").unwrap().unwrap().offset;
    drop(ring);

    // The header's constants are checked against the descriptor at open.
    poke(&name, at + field::CAPACITY, &9u64.to_le_bytes());
    let err = Segment::open(&name).unwrap_err();
    assert!(matches!(&err, Error::Corrupt { .. }) && err.to_string().contains("capacity 9"), "{err}");
    poke(&name, at + field::CAPACITY, &8u64.to_le_bytes());

    // Impossible positions are refused when a role is claimed...
    let seg = Segment::open(&name).unwrap();
    let ring = Ring::<u64>::open(&seg, "r").unwrap();
    poke(&name, at + field::WRITE_POS, &100u64.to_le_bytes());
    assert!(matches!(ring.producer(), Err(Error::Corrupt { .. })));
    assert!(matches!(ring.consumer(), Err(Error::Corrupt { .. })));
    // ...and the refused claims were given back.
    poke(&name, at + field::WRITE_POS, &0u64.to_le_bytes());
    let mut tx = ring.producer().unwrap();
    let mut rx = ring.consumer().unwrap();
    assert!(tx.try_push(1));
    // Positions changed behind the roles' backs give garbage at worst, never a crash.
    for bad in [u64::MAX, 1 << 63, 3, 0] {
        poke(&name, at + field::WRITE_POS, &bad.to_le_bytes());
        poke(&name, at + field::READ_POS, &(!bad).to_le_bytes());
        poke(&name, at + field::CLAIM, &bad.wrapping_mul(3).to_le_bytes());
        let mut buf = [0; 16];
        let _ = rx.try_pop_bulk(&mut buf);
        let _ = rx.peek();
        let _ = tx.try_push_bulk(&[1, 2, 3]);
        let _ = ring.get_last_n(16, &mut buf);
        let _ = (ring.len(), ring.total_read(), ring.latest());
    }
}

// ---------------------------------------------------------------------------------------------
// Across processes
// ---------------------------------------------------------------------------------------------

/// Elements of the overwrite test: `[seq, a, b, check]`, a checksum over the other three, so a
/// torn element (words from two writes) fails the check.
fn sample(seq: u64) -> [u64; 4] {
    let a = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let b = !seq ^ (a >> 7);
    [seq, a, b, checksum(seq, a, b)]
}

fn checksum(seq: u64, a: u64, b: u64) -> u64 {
    seq.rotate_left(17) ^ a.rotate_left(31) ^ b ^ 0xC0FF_EE00_D15E_A5E5
}

fn check_sample(e: &[u64; 4]) -> u64 {
    assert_eq!(e[3], checksum(e[0], e[1], e[2]), "torn element {e:x?}");
    assert_eq!(*e, sample(e[0]), "element is not one that was written: {e:x?}");
    e[0]
}

const OW_TOTAL: u64 = 300_000;
const OW_CAP: u64 = 64;

/// A producer process writes 300 000 elements into a 64-slot overwrite ring as fast as it can
/// (mixed single and bulk pushes); this process reads them, more slowly (it starts only after
/// the first 10 laps, so misses are certain). Every element read is intact and is exactly the
/// one after those read before plus those reported missed; received + missed = written.
#[test]
fn overwrite_slow_reader_counts_exactly_what_it_missed() {
    if let Some(args) = child_args("overwrite_slow_reader_counts_exactly_what_it_missed") {
        let seg = Segment::open(&args[0]).unwrap();
        let ring = Ring::<[u64; 4]>::open(&seg, "samples").unwrap();
        let started = Atomic::<u32>::open(&seg, "started").unwrap();
        let mut tx = ring.producer().unwrap();
        let mut seq = 0;
        let mut batch = Vec::new();
        while seq < OW_TOTAL {
            if seq == 10 * OW_CAP {
                started.store(1);
                started.wake_all();
            }
            // Batches of 1 to 96, ending exactly at the head start.
            let mut n = (seq % 97).max(1).min(OW_TOTAL - seq);
            if seq < 10 * OW_CAP {
                n = n.min(10 * OW_CAP - seq);
            }
            if n == 1 {
                assert!(tx.try_push(sample(seq)));
            } else {
                batch.clear();
                batch.extend((seq..seq + n).map(sample));
                assert_eq!(tx.try_push_bulk(&batch), n as usize);
            }
            seq += n;
        }
        started.store(1);
        started.wake_all();
        return;
    }
    let (name, seg) = segment("ring-ow-mp");
    let ring = Ring::<[u64; 4]>::create(&seg, "samples", OW_CAP, RingMode::Overwrite).unwrap();
    let started = Atomic::<u32>::create(&seg, "started", 0).unwrap();
    let mut rx = ring.consumer().unwrap();
    let mut child = spawn_role("overwrite_slow_reader_counts_exactly_what_it_missed", &[&name]);
    started.wait(0, Some(LIMIT)).unwrap();

    let (mut next, mut received, mut pops) = (0u64, 0u64, 0u64);
    let mut buf = [[0u64; 4]; 16];
    let deadline = Instant::now() + LIMIT;
    while received + rx.missed() < OW_TOTAL {
        assert!(Instant::now() < deadline, "hang guard: received {received}, missed {}", rx.missed());
        let before = rx.missed();
        let n = match pops % 3 {
            0 => rx.try_pop().map(|e| {
                buf[0] = e;
                1
            }),
            1 => Some(rx.try_pop_bulk(&mut buf)),
            _ => match rx.pop_bulk(&mut buf[..5], Some(Duration::from_millis(50))) {
                Ok(n) => Some(n),
                Err(Error::Timeout) => None,
                Err(e) => panic!("{e}"),
            },
        }
        .unwrap_or(0);
        pops += 1;
        next += rx.missed() - before;
        for e in &buf[..n] {
            assert_eq!(check_sample(e), next, "after {received} received and {} missed", rx.missed());
            next += 1;
        }
        received += n as u64;
        if pops % 256 == 0 {
            // The slow reader: let the writer lap it now and then (how often does not matter
            // for the checks, only for how many elements are missed).
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    assert!(wait_bounded(&mut child, LIMIT), "producer failed");
    assert_eq!(received + rx.missed(), OW_TOTAL);
    assert_eq!(ring.total_written(), OW_TOTAL);
    assert_eq!((ring.total_read(), ring.total_missed()), (received, rx.missed()));
    assert!(rx.missed() >= 9 * OW_CAP, "the reader started 10 laps behind: missed {}", rx.missed());
    assert!(received >= OW_CAP, "received {received}");
    println!("overwrite ring: {received} received, {} missed of {OW_TOTAL}", rx.missed());
}

const LL_TOTAL: u64 = 1_000_000;

fn ll_elem(seq: u64) -> [u64; 2] {
    [seq, seq.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA5A5]
}

/// A producer process pushes 1 000 000 elements through a 256-slot lossless ring with blocking
/// pushes (batches of 1 to 63); this process pops them with blocking pops (single and bulk).
/// Every element arrives exactly once, in order, intact.
#[test]
fn lossless_blocking_delivers_a_million_in_order() {
    if let Some(args) = child_args("lossless_blocking_delivers_a_million_in_order") {
        let seg = Segment::open(&args[0]).unwrap();
        let ring = Ring::<[u64; 2]>::open(&seg, "stream").unwrap();
        let mut tx = ring.producer().unwrap();
        let mut seq = 0;
        let mut batch = Vec::with_capacity(64);
        while seq < LL_TOTAL {
            let n = (seq % 63 + 1).min(LL_TOTAL - seq);
            if n == 1 {
                tx.push(ll_elem(seq), Some(LIMIT)).unwrap();
                seq += 1;
                continue;
            }
            batch.clear();
            batch.extend((seq..seq + n).map(ll_elem));
            let mut rest = &batch[..];
            while !rest.is_empty() {
                let k = tx.push_bulk(rest, Some(LIMIT)).unwrap();
                rest = &rest[k..];
            }
            seq += n;
        }
        return;
    }
    let (name, seg) = segment("ring-ll-mp");
    let ring = Ring::<[u64; 2]>::create(&seg, "stream", 256, RingMode::Lossless).unwrap();
    let mut rx = ring.consumer().unwrap();
    let mut child = spawn_role("lossless_blocking_delivers_a_million_in_order", &[&name]);
    let mut next = 0u64;
    let mut buf = [[0u64; 2]; 100];
    while next < LL_TOTAL {
        if next % 7 == 0 {
            let e = rx.pop(Some(LIMIT)).unwrap();
            assert_eq!(e, ll_elem(next));
            next += 1;
            continue;
        }
        let n = rx.pop_bulk(&mut buf[..(next % 100 + 1) as usize], Some(LIMIT)).unwrap();
        for e in &buf[..n] {
            assert_eq!(*e, ll_elem(next), "element {next}");
            next += 1;
        }
    }
    assert!(wait_bounded(&mut child, LIMIT), "producer failed");
    assert_eq!(rx.try_pop(), None, "nothing extra");
    assert_eq!((ring.total_written(), ring.total_read(), ring.total_missed()), (LL_TOTAL, LL_TOTAL, 0));
}

/// A process holding a role keeps it from others; once it dies without releasing, the role is
/// taken over, and the new consumer continues where the dead one stopped.
#[test]
fn roles_across_processes_and_takeover_from_the_dead() {
    if let Some(args) = child_args("roles_across_processes_and_takeover_from_the_dead") {
        let seg = Segment::open(&args[0]).unwrap();
        let ring = Ring::<u64>::open(&seg, "r").unwrap();
        let step = Atomic::<u32>::open(&seg, "step").unwrap();
        let mut tx = ring.producer().unwrap();
        let mut rx = ring.consumer().unwrap();
        for v in 0..5 {
            assert!(tx.try_push(v));
        }
        assert_eq!(rx.try_pop(), Some(0));
        assert_eq!(rx.try_pop(), Some(1));
        step.store(1);
        step.wake_all();
        step.wait(1, Some(LIMIT)).unwrap();
        // Die holding both roles: no destructor runs.
        std::process::exit(0);
    }
    let (name, seg) = segment("ring-takeover");
    let ring = Ring::<u64>::create(&seg, "r", 8, RingMode::Lossless).unwrap();
    let step = Atomic::<u32>::create(&seg, "step", 0).unwrap();
    let mut child = spawn_role("roles_across_processes_and_takeover_from_the_dead", &[&name]);
    step.wait(0, Some(LIMIT)).unwrap();
    let pid = child.id();
    assert!(matches!(ring.producer(), Err(Error::RoleTaken { role: "producer", pid: p, .. }) if p == pid));
    assert!(matches!(ring.consumer(), Err(Error::RoleTaken { role: "consumer", pid: p, .. }) if p == pid));
    step.store(2);
    step.wake_all();
    assert!(wait_bounded(&mut child, LIMIT));
    let mut tx = ring.producer().unwrap();
    let mut rx = ring.consumer().unwrap();
    assert!(tx.took_over() && rx.took_over());
    assert_eq!(rx.try_pop(), Some(2), "continues after what the dead consumer took");
    assert!(tx.try_push(5));
    let mut buf = [0; 8];
    assert_eq!(rx.try_pop_bulk(&mut buf), 3);
    assert_eq!(buf[..3], [3, 4, 5]);
}
