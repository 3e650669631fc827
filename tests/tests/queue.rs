//! Queues across processes: exactly-once delivery under every policy (≥ 1 000 000 messages
//! each, positions crossing the 2^64 wrap point), typed refusal of mismatched opens, blocking
//! with timeouts and cross-process wake-ups, role exclusivity and takeover, hostile bytes.
//!
//! Children are copies of this test binary started by `zipc_tests::spawn_role`; a message is
//! `[producer, sequence, checksum]`.

use std::time::{Duration, Instant};

use zipc::layout::Kind;
use zipc::{Array, Atomic, Error, Mpmc, Mpsc, Queue, Segment, Spsc};
use zipc_tests::{child_args, role_command, spawn_role, wait_bounded, ShmName};

type Msg = [u64; 3];

/// Messages per stress test (split between the producers): 1 000 000, or 50 000 000 with
/// `ZIPC_SOAK=1` (a soak run of a few minutes).
fn messages() -> u64 {
    if std::env::var_os("ZIPC_SOAK").is_some_and(|v| v != "0") {
        50_000_000
    } else {
        1_000_000
    }
}
/// Start positions for the stress tests: the run crosses 2^64.
const NEAR_WRAP: u64 = u64::MAX - 300_000;
/// Hang guard for children; never reached by a passing run.
const CHILD_LIMIT: Duration = Duration::from_secs(300);
/// Hang guard for blocking operations in children.
const OP_LIMIT: Option<Duration> = Some(Duration::from_secs(120));

fn checksum(producer: u64, seq: u64) -> u64 {
    // splitmix64 of both: any bit flip or mix-up of the two fields shows.
    let mut z = (producer << 40 ^ seq).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn msg(producer: u64, seq: u64) -> Msg {
    [producer, seq, checksum(producer, seq)]
}

const STOP: Msg = [u64::MAX, u64::MAX, u64::MAX];

fn check(m: &Msg, producers: u64, per_producer: u64) {
    assert!(m[0] < producers && m[1] < per_producer, "message out of range: {m:?}");
    assert_eq!(m[2], checksum(m[0], m[1]), "checksum of {m:?}");
}

fn segment(name: &ShmName, size: u64) -> Segment {
    Segment::create(name, size).unwrap()
}

fn wait_all(children: Vec<std::process::Child>) {
    for mut c in children {
        assert!(wait_bounded(&mut c, CHILD_LIMIT), "a child process failed (its output is above)");
    }
}

// ---------------------------------------------------------------------------------------------
// MPMC: 2 producers × 2 consumers
// ---------------------------------------------------------------------------------------------

/// Producers push their messages (one singly, one in bulk); consumers pop (one singly, one in
/// bulk) and mark each message in a shared `seen` array, failing on a duplicate. After the
/// producers exit, the parent pushes one STOP per consumer: every real message precedes them.
#[test]
fn mpmc_two_producers_two_consumers_exactly_once() {
    const PRODUCERS: u64 = 2;
    let messages = messages();
    let per = messages / PRODUCERS;
    if let Some(args) = child_args("mpmc_two_producers_two_consumers_exactly_once") {
        let seg = Segment::open(&args[0]).unwrap();
        let q = Queue::<Msg, Mpmc>::open(&seg, "q").unwrap();
        let id: u64 = args[2].parse().unwrap();
        match args[1].as_str() {
            "producer" => produce(&q, id, per, id == 1),
            _ => {
                let seen = Array::<u8>::open(&seg, "seen").unwrap();
                let mut buf = [[0; 3]; 32];
                'run: loop {
                    let n = if id == 1 { q.pop_bulk(&mut buf).unwrap() } else { 0 };
                    let n = if n == 0 {
                        buf[0] = q.pop(OP_LIMIT).unwrap();
                        1
                    } else {
                        n
                    };
                    for (i, m) in buf[..n].iter().enumerate() {
                        if *m == STOP {
                            // Only STOPs follow a STOP; leave the others to the other consumer.
                            for extra in &buf[i + 1..n] {
                                assert_eq!(*extra, STOP, "a message after STOP");
                                q.push(STOP, OP_LIMIT).unwrap();
                            }
                            break 'run;
                        }
                        check(m, PRODUCERS, per);
                        let previous = seen.fetch_add((m[0] * per + m[1]) as usize, 1).unwrap();
                        assert_eq!(previous, 0, "message {m:?} delivered twice");
                    }
                }
            }
        }
        return;
    }
    let name = ShmName::new("mpmc");
    let seg = segment(&name, messages + (1 << 20));
    let q = Queue::<Msg, Mpmc>::create_starting_at(&seg, "q", 1024, NEAR_WRAP).unwrap();
    let seen = Array::<u8>::create(&seg, "seen", messages).unwrap();
    let start = Instant::now();
    let child = |role: &str, id: &str| spawn_role("mpmc_two_producers_two_consumers_exactly_once", &[&name, role, id]);
    let consumers = vec![child("consumer", "0"), child("consumer", "1")];
    let producers = vec![child("producer", "0"), child("producer", "1")];
    wait_all(producers);
    q.push(STOP, None).unwrap();
    q.push(STOP, None).unwrap();
    wait_all(consumers);
    let elapsed = start.elapsed();
    let counts = seen.to_vec();
    let missing = counts.iter().filter(|&&c| c == 0).count();
    assert_eq!(missing, 0, "{missing} messages never delivered");
    assert!(counts.iter().all(|&c| c == 1), "a message was delivered twice");
    assert!(q.is_empty());
    assert!(q.try_pop().unwrap().is_none());
    println!("mpmc 2x2: {messages} messages in {elapsed:?} ({:.0} msg/s)", messages as f64 / elapsed.as_secs_f64());
}

/// Pushes `count` messages as producer `id`: singly, or in batches of up to 16 with `push_bulk`.
fn produce<P: zipc::queue::MultiProducer>(q: &Queue<Msg, P>, id: u64, count: u64, bulk: bool) {
    let mut seq = 0;
    while seq < count {
        if bulk {
            let batch: Vec<Msg> = (seq..count.min(seq + 16)).map(|s| msg(id, s)).collect();
            let n = q.push_bulk(&batch).unwrap() as u64;
            if n > 0 {
                seq += n;
                continue;
            }
        }
        q.push(msg(id, seq), OP_LIMIT).unwrap();
        seq += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// SPSC and MPSC
// ---------------------------------------------------------------------------------------------

/// One producer process, the parent consumes: every message once, in order.
#[test]
fn spsc_exactly_once_in_order() {
    let messages = messages();
    if let Some(args) = child_args("spsc_exactly_once_in_order") {
        let seg = Segment::open(&args[0]).unwrap();
        let mut tx = Queue::<Msg, Spsc>::open(&seg, "q").unwrap().producer().unwrap();
        let mut seq = 0;
        while seq < messages {
            // Alternate single pushes and bulk pushes of up to 16.
            if seq % 1000 < 500 {
                tx.push(msg(0, seq), OP_LIMIT).unwrap();
                seq += 1;
            } else {
                let batch: Vec<Msg> = (seq..messages.min(seq + 16)).map(|s| msg(0, s)).collect();
                match tx.push_bulk(&batch).unwrap() as u64 {
                    0 => {
                        tx.push(batch[0], OP_LIMIT).unwrap();
                        seq += 1;
                    }
                    n => seq += n,
                }
            }
        }
        return;
    }
    let name = ShmName::new("spsc");
    let seg = segment(&name, 1 << 20);
    let q = Queue::<Msg, Spsc>::create_starting_at(&seg, "q", 1024, NEAR_WRAP).unwrap();
    let mut rx = q.consumer().unwrap();
    let start = Instant::now();
    let mut child = spawn_role("spsc_exactly_once_in_order", &[&name]);
    let mut expected = 0;
    let mut buf = [[0; 3]; 64];
    while expected < messages {
        let n = match rx.pop_bulk(&mut buf).unwrap() {
            0 => {
                buf[0] = rx.pop(OP_LIMIT).unwrap();
                1
            }
            n => n,
        };
        for m in &buf[..n] {
            check(m, 1, messages);
            assert_eq!(m[1], expected, "SPSC delivers in order");
            expected += 1;
        }
    }
    assert!(wait_bounded(&mut child, CHILD_LIMIT));
    let elapsed = start.elapsed();
    assert_eq!(rx.try_pop().unwrap(), None, "nothing beyond the last message");
    println!("spsc: {messages} messages in {elapsed:?} ({:.0} msg/s)", messages as f64 / elapsed.as_secs_f64());
}

/// Two producer processes, the parent is the single consumer: every message once, each
/// producer's in order.
#[test]
fn mpsc_exactly_once_in_producer_order() {
    const PRODUCERS: u64 = 2;
    let messages = messages();
    let per = messages / PRODUCERS;
    if let Some(args) = child_args("mpsc_exactly_once_in_producer_order") {
        let seg = Segment::open(&args[0]).unwrap();
        let q = Queue::<Msg, Mpsc>::open(&seg, "q").unwrap();
        let id: u64 = args[1].parse().unwrap();
        produce(&q, id, per, id == 1);
        return;
    }
    let name = ShmName::new("mpsc");
    let seg = segment(&name, 1 << 20);
    let q = Queue::<Msg, Mpsc>::create_starting_at(&seg, "q", 1024, NEAR_WRAP).unwrap();
    let mut rx = q.consumer().unwrap();
    let start = Instant::now();
    let children: Vec<_> =
        (0..PRODUCERS).map(|id| spawn_role("mpsc_exactly_once_in_producer_order", &[&name, &id.to_string()])).collect();
    let mut next = [0u64; PRODUCERS as usize];
    let mut buf = [[0; 3]; 64];
    let mut received = 0;
    while received < messages {
        let n = match rx.pop_bulk(&mut buf).unwrap() {
            0 => {
                buf[0] = rx.pop(OP_LIMIT).unwrap();
                1
            }
            n => n,
        };
        for m in &buf[..n] {
            check(m, PRODUCERS, per);
            assert_eq!(m[1], next[m[0] as usize], "producer {}'s messages arrive once and in order", m[0]);
            next[m[0] as usize] += 1;
            received += 1;
        }
    }
    wait_all(children);
    let elapsed = start.elapsed();
    assert_eq!(next, [per; PRODUCERS as usize]);
    assert_eq!(rx.try_pop().unwrap(), None);
    println!("mpsc 2x1: {messages} messages in {elapsed:?} ({:.0} msg/s)", messages as f64 / elapsed.as_secs_f64());
}

// ---------------------------------------------------------------------------------------------
// Wraparound
// ---------------------------------------------------------------------------------------------

/// Reads a queue's `tail` (region offset 128) behind the queue's back.
fn shared_tail(name: &ShmName, offset: u64) -> u64 {
    u64::from_le_bytes(zipc_tests::peek(name, offset + zipc::queue::header::TAIL, 8).try_into().unwrap())
}

#[test]
fn positions_wrap_at_u64_max_under_every_policy() {
    let name = ShmName::new("wrap");
    let seg = segment(&name, 1 << 16);
    let start = u64::MAX - 5;

    let mpmc = Queue::<u32, Mpmc>::create_starting_at(&seg, "mpmc", 4, start).unwrap();
    let mpsc = Queue::<u32, Mpsc>::create_starting_at(&seg, "mpsc", 4, start).unwrap();
    let spsc = Queue::<u32, Spsc>::create_starting_at(&seg, "spsc", 4, start).unwrap();
    let mut mpsc_rx = mpsc.consumer().unwrap();
    let (mut spsc_tx, mut spsc_rx) = (spsc.producer().unwrap(), spsc.consumer().unwrap());

    let mut next_in = 0u32;
    let mut next_out = 0u32;
    // Fill to capacity, drain partly, refill: 40 elements through 4 slots cross 2^64 early.
    while next_in < 40 {
        while mpmc.len() < 4 {
            assert!(mpmc.try_push(next_in).unwrap());
            assert!(mpsc.try_push(next_in).unwrap());
            assert!(spsc_tx.try_push(next_in).unwrap());
            next_in += 1;
        }
        assert!(mpmc.is_full() && !mpmc.try_push(99).unwrap());
        assert!(!mpsc.try_push(99).unwrap());
        assert!(!spsc_tx.try_push(99).unwrap());
        assert_eq!(spsc.len(), 4);
        for _ in 0..3 {
            assert_eq!(mpmc.try_pop().unwrap(), Some(next_out));
            assert_eq!(mpsc_rx.try_pop().unwrap(), Some(next_out));
            assert_eq!(spsc_rx.try_pop().unwrap(), Some(next_out));
            next_out += 1;
        }
        assert_eq!((mpmc.len(), mpsc.len(), spsc.len()), (1, 1, 1));
    }
    // Bulk across the wrap too.
    let mut out = [0u32; 8];
    assert_eq!(mpmc.pop_bulk(&mut out).unwrap(), 1);
    assert_eq!(mpsc_rx.pop_bulk(&mut out[1..]).unwrap(), 1);
    assert_eq!(spsc_rx.pop_bulk(&mut out[2..]).unwrap(), 1);
    assert_eq!(&out[..3], &[next_out; 3]);
    assert!(mpmc.is_empty() && mpsc.is_empty() && spsc.is_empty());
    for (q, off) in [("mpmc", mpmc.offset()), ("mpsc", mpsc.offset()), ("spsc", spsc.offset())] {
        assert_eq!(shared_tail(&name, off), start.wrapping_add(40), "{q}: tail wrapped past 2^64");
    }
}

// ---------------------------------------------------------------------------------------------
// Typed refusals
// ---------------------------------------------------------------------------------------------

/// The parent creates an MPMC queue of 64 `u64`; another process opens it with the wrong policy,
/// element type, capacity and kind, and gets typed errors that name both sides.
#[test]
fn mismatched_policy_type_or_capacity_is_refused_with_both_sides() {
    if let Some(args) = child_args("mismatched_policy_type_or_capacity_is_refused_with_both_sides") {
        check_mismatches(&Segment::open(&args[0]).unwrap());
        return;
    }
    let name = ShmName::new("mismatch");
    let seg = segment(&name, 1 << 16);
    let q = Queue::<u64, Mpmc>::create(&seg, "jobs", 64).unwrap();
    let mut child = spawn_role("mismatched_policy_type_or_capacity_is_refused_with_both_sides", &[&name]);
    assert!(wait_bounded(&mut child, Duration::from_secs(120)), "the other process's checks failed");
    check_mismatches(&seg); // and the same from here
    assert_eq!(q.capacity(), 64);
}

fn check_mismatches(other: &Segment) {
    let err = Queue::<u64, Spsc>::open(other, "jobs").unwrap_err();
    match &err {
        Error::ParameterMismatch { structure, parameter, expected, found } => {
            assert_eq!((structure.as_str(), *parameter), ("jobs", "policy"));
            assert_eq!((expected.as_str(), found.as_str()), ("spsc", "mpmc"));
        }
        e => panic!("wrong error: {e}"),
    }
    assert!(err.to_string().contains("policy mpmc") && err.to_string().contains("spsc was declared"), "{err}");
    assert!(matches!(Queue::<u64, Mpsc>::open(other, "jobs"), Err(Error::ParameterMismatch { .. })));

    let err = Queue::<u32, Mpmc>::open(other, "jobs").unwrap_err();
    match &err {
        Error::LayoutMismatch { expected, found, .. } => {
            assert_eq!((expected.as_str(), found.as_str()), ("u32", "u64"))
        }
        e => panic!("wrong error: {e}"),
    }
    let err = Queue::<[u64; 2], Mpmc>::open(other, "jobs").unwrap_err();
    assert!(matches!(err, Error::LayoutMismatch { .. }), "{err}");

    let err = Queue::<u64, Mpmc>::open_or_create(other, "jobs", 128).unwrap_err();
    match &err {
        Error::CapacityMismatch { expected, found, .. } => assert_eq!((*expected, *found), (128, 64)),
        e => panic!("wrong error: {e}"),
    }
    assert!(err.to_string().contains("capacity 64") && err.to_string().contains("128 was declared"), "{err}");

    let err = zipc::Endpoint::<u64>::open(other, "jobs").unwrap_err();
    assert!(matches!(err, Error::KindMismatch { expected: Kind::Endpoint, found: Some(Kind::Queue), .. }), "{err}");
    let err = Queue::<u64, Mpmc>::open(other, "nope").unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");

    // The right declaration opens, whatever way.
    let q = Queue::<u64, Mpmc>::open(other, "jobs").unwrap();
    assert_eq!(q.capacity(), 64);
    assert_eq!(Queue::<u64, Mpmc>::open_or_create(other, "jobs", 64).unwrap().capacity(), 64);
    let entry = other.entry("jobs").unwrap().unwrap();
    let d = entry.descriptor.unwrap();
    assert_eq!((d.kind, d.flags, d.capacity), (Kind::Queue, zipc::layout::flags::POLICY_MPMC, 64));
}

#[test]
fn capacities_must_be_powers_of_two() {
    let name = ShmName::new("cap");
    let seg = segment(&name, 1 << 16);
    for bad in [0, 1, 3, 1000] {
        let err = Queue::<u64, Mpmc>::create(&seg, "q", bad).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{bad}: {err}");
        assert!(err.to_string().contains("power of two"), "{err}");
    }
    let err = Queue::<u64, Spsc>::create(&seg, "big", 1 << 20).unwrap_err();
    assert!(matches!(err, Error::SegmentFull { .. }), "{err}");
    assert!(seg.entries().unwrap().is_empty(), "nothing was created");
}

// ---------------------------------------------------------------------------------------------
// Blocking
// ---------------------------------------------------------------------------------------------

#[test]
fn blocking_pop_and_push_time_out_and_leave_the_queue_usable() {
    let name = ShmName::new("timeout");
    let seg = segment(&name, 1 << 16);
    let limit = Duration::from_millis(150);
    let guard = Duration::from_secs(30); // "in time": far above the timeout, far below a hang

    let q = Queue::<u64, Mpmc>::create(&seg, "mpmc", 2).unwrap();
    let t = Instant::now();
    assert!(matches!(q.pop(Some(limit)), Err(Error::Timeout)));
    assert!((limit..guard).contains(&t.elapsed()), "{:?}", t.elapsed());
    assert_eq!(q.waiting_consumers(), 0, "the timed-out waiter unregistered");
    q.push(1, None).unwrap();
    q.push(2, None).unwrap();
    let t = Instant::now();
    assert!(matches!(q.push(3, Some(limit)), Err(Error::Timeout)));
    assert!((limit..guard).contains(&t.elapsed()));
    assert_eq!(q.waiting_producers(), 0);
    assert_eq!((q.pop(None).unwrap(), q.pop(None).unwrap()), (1, 2), "nothing lost or added");
    assert!(matches!(q.pop(Some(Duration::ZERO)), Err(Error::Timeout)));
    q.push(4, Some(Duration::ZERO)).unwrap();
    assert_eq!(q.pop(Some(Duration::ZERO)).unwrap(), 4);

    let s = Queue::<u64, Spsc>::create(&seg, "spsc", 2).unwrap();
    let (mut tx, mut rx) = (s.producer().unwrap(), s.consumer().unwrap());
    let t = Instant::now();
    assert!(matches!(rx.pop(Some(limit)), Err(Error::Timeout)));
    assert!((limit..guard).contains(&t.elapsed()));
    tx.push(5, None).unwrap();
    tx.push(6, None).unwrap();
    assert!(matches!(tx.push(7, Some(limit)), Err(Error::Timeout)));
    assert_eq!((rx.pop(None).unwrap(), rx.pop(None).unwrap()), (5, 6));
}

/// The child pushes (or pops) once it sees the parent asleep on the queue. `ZIPC_NO_MEMBARRIER`
/// in the child's environment exercises the full-fence side of the handshake.
#[test]
fn blocked_ops_wake_on_progress_from_another_process() {
    if let Some(args) = child_args("blocked_ops_wake_on_progress_from_another_process") {
        let seg = Segment::open(&args[0]).unwrap();
        let q = Queue::<u64, Mpmc>::open(&seg, "q").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let asleep = |n: &dyn Fn() -> u32| {
            while n() == 0 {
                assert!(Instant::now() < deadline, "the parent never blocked");
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        // 1. The parent blocks in pop: push.
        asleep(&|| q.waiting_consumers());
        q.try_push(42).unwrap().then_some(()).unwrap();
        // 2. The parent filled the queue and blocks in push: pop one.
        asleep(&|| q.waiting_producers());
        assert_eq!(q.try_pop().unwrap(), Some(1));
        return;
    }
    for no_membarrier in ["0", "1"] {
        let name = ShmName::new("wake");
        let seg = segment(&name, 1 << 16);
        let q = Queue::<u64, Mpmc>::create(&seg, "q", 2).unwrap();
        let mut child = role_command("blocked_ops_wake_on_progress_from_another_process", &[&name])
            .env("ZIPC_NO_MEMBARRIER", no_membarrier)
            .spawn()
            .unwrap();
        assert_eq!(q.pop(Some(Duration::from_secs(60))).unwrap(), 42, "woken by the other process's push");
        q.push(1, None).unwrap();
        q.push(2, None).unwrap();
        q.push(3, Some(Duration::from_secs(60))).unwrap(); // woken by the other process's pop
        assert_eq!((q.try_pop().unwrap(), q.try_pop().unwrap()), (Some(2), Some(3)));
        assert!(wait_bounded(&mut child, Duration::from_secs(120)));
    }
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

#[test]
fn single_roles_are_exclusive_across_threads() {
    let name = ShmName::new("roles");
    let seg = segment(&name, 1 << 16);
    let q = Queue::<u64, Spsc>::create(&seg, "q", 8).unwrap();
    let me = std::process::id();

    let tx = q.producer().unwrap();
    let q2 = q.clone();
    let from_thread = std::thread::spawn(move || q2.producer().map(drop)).join().unwrap();
    match from_thread {
        Err(Error::RoleTaken { role: "producer", pid, .. }) => assert_eq!(pid, me),
        other => panic!("a second producer in another thread: {other:?}"),
    }
    assert!(matches!(q.producer(), Err(Error::RoleTaken { .. })));
    let rx = q.consumer().unwrap();
    assert!(matches!(q.consumer(), Err(Error::RoleTaken { role: "consumer", .. })));
    drop(tx);
    let mut tx = q.producer().expect("released on drop");
    tx.push(5, None).unwrap();
    drop(rx);
    // The new consumer continues where the old one left off.
    assert_eq!(q.consumer().unwrap().try_pop().unwrap(), Some(5));

    let m = Queue::<u64, Mpsc>::create(&seg, "mpsc", 8).unwrap();
    let _p1 = m.producer().unwrap();
    let _p2 = m.producer().expect("many producers");
    let _c = m.consumer().unwrap();
    assert!(matches!(m.consumer(), Err(Error::RoleTaken { role: "consumer", .. })));
    let mm = Queue::<u64, Mpmc>::create(&seg, "mpmc", 8).unwrap();
    let (_a, _b) = (mm.consumer().unwrap(), mm.consumer().unwrap());
    assert_eq!((q.producer_takeovers(), q.consumer_takeovers()), (0, 0));
}

/// A child claims the producer role, pushes, and reports it; while it lives the parent is
/// refused; after it is killed with SIGKILL holding the role, the parent takes the role over and
/// continues the sequence.
#[test]
fn a_killed_processs_role_is_taken_over() {
    if let Some(args) = child_args("a_killed_processs_role_is_taken_over") {
        let seg = Segment::open(&args[0]).unwrap();
        let q = Queue::<u64, Spsc>::open(&seg, "q").unwrap();
        let step = Atomic::<u32>::open(&seg, "step").unwrap();
        let mut tx = q.producer().unwrap();
        tx.push(1, None).unwrap();
        step.store(1);
        step.wake_all();
        // Hold the role until killed (the wait is only a hang guard).
        let _ = step.wait(1, Some(Duration::from_secs(120)));
        panic!("not killed");
    }
    let name = ShmName::new("takeover");
    let seg = segment(&name, 1 << 16);
    let q = Queue::<u64, Spsc>::create(&seg, "q", 8).unwrap();
    let step = Atomic::<u32>::create(&seg, "step", 0).unwrap();
    let mut child = spawn_role("a_killed_processs_role_is_taken_over", &[&name]);
    step.wait(0, Some(Duration::from_secs(60))).unwrap();
    match q.producer() {
        Err(e @ Error::RoleTaken { .. }) => {
            assert!(matches!(e, Error::RoleTaken { pid, .. } if pid == child.id()), "{e}");
            assert!(e.to_string().contains(&format!("process {}", child.id())), "{e}");
        }
        other => panic!("the live child holds the role: {other:?}"),
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mut tx = q.producer().expect("taken over from the killed child");
    assert_eq!(q.producer_takeovers(), 1);
    tx.push(2, None).unwrap();
    let mut rx = q.consumer().unwrap();
    assert_eq!((rx.try_pop().unwrap(), rx.try_pop().unwrap()), (Some(1), Some(2)));
}

// ---------------------------------------------------------------------------------------------
// Hostile bytes
// ---------------------------------------------------------------------------------------------

fn poke_u64(name: &ShmName, offset: u64, v: u64) {
    zipc_tests::poke(name, offset, &v.to_le_bytes());
}

#[test]
fn impossible_indices_are_reported_not_trusted() {
    use zipc::queue::header;
    let name = ShmName::new("hostile");
    let seg = segment(&name, 1 << 16);

    // SPSC: a tail far ahead of the head. The consumer reads only stamped slots, so it sees an
    // empty queue; a producer refuses the positions.
    let s = Queue::<u64, Spsc>::create(&seg, "spsc", 8).unwrap();
    let mut rx = s.consumer().unwrap();
    poke_u64(&name, s.offset() + header::TAIL, 1 << 40);
    assert_eq!(rx.try_pop().unwrap(), None);
    assert!(matches!(rx.pop(Some(Duration::from_millis(10))), Err(Error::Timeout)));
    let err = s.producer().unwrap_err();
    assert!(matches!(&err, Error::Corrupt { field, .. } if field.contains("head")), "{err}");
    assert!(s.len() <= s.capacity(), "len is clamped");
    poke_u64(&name, s.offset() + header::TAIL, 0);
    let mut tx = s.producer().expect("repaired");
    tx.push(3, None).unwrap();
    assert_eq!(rx.try_pop().unwrap(), Some(3));
    // A head far ahead, seen by the producer when its cached copy says the queue is full.
    for v in 0..8 {
        tx.push(v, None).unwrap();
    }
    poke_u64(&name, s.offset() + header::HEAD, 1 << 40);
    assert!(matches!(tx.try_push(9), Err(Error::Corrupt { .. })));
    assert!(matches!(tx.push(9, Some(Duration::from_millis(10))), Err(Error::Corrupt { .. })));
    // A slot stamped with a garbage sequence number is not an element.
    poke_u64(&name, s.offset() + header::HEAD, 1);
    poke_u64(&name, s.offset() + header::SLOTS + 16, 12345);
    assert_eq!(rx.try_pop().unwrap(), None, "position 1's slot does not say it holds position 1");

    // MPMC: a slot stamped ahead of a head that does not move.
    let m = Queue::<u64, Mpmc>::create(&seg, "mpmc", 4).unwrap();
    poke_u64(&name, m.offset() + header::SLOTS, 1000);
    let err = m.try_pop().unwrap_err();
    assert!(matches!(&err, Error::Corrupt { field, .. } if field.contains("head")), "{err}");
    let err = m.try_push(1).unwrap_err();
    assert!(matches!(&err, Error::Corrupt { field, .. } if field.contains("tail")), "{err}");
    // Garbage heads: positions are masked, so the worst is a lost element or a Corrupt error,
    // never a wild access, a panic or a hang.
    poke_u64(&name, m.offset() + header::SLOTS, 0);
    for garbage in [1 << 40, u64::MAX - 12345, 3] {
        poke_u64(&name, m.offset() + header::HEAD, garbage);
        assert!(matches!(m.try_pop(), Ok(None) | Err(Error::Corrupt { .. })), "head {garbage}");
        let mut buf = [0; 4];
        assert!(matches!(m.pop_bulk(&mut buf), Ok(0) | Err(Error::Corrupt { .. })), "head {garbage}");
        assert!(m.len() <= m.capacity());
    }

    // MPSC: someone else consumed a slot the single consumer owns.
    let p = Queue::<u64, Mpsc>::create(&seg, "mpsc", 4).unwrap();
    let mut c = p.consumer().unwrap();
    poke_u64(&name, p.offset() + header::SLOTS, 4);
    assert!(matches!(c.try_pop(), Err(Error::Corrupt { .. })));
}

/// An MPSC consumer that died after stamping a slot free but before storing `head` (simulated by
/// writing that state): its successor skips the consumed element instead of reporting it.
#[test]
fn an_mpsc_consumer_takeover_skips_what_its_predecessor_consumed() {
    use zipc::queue::header;
    let name = ShmName::new("mpsc-takeover");
    let seg = segment(&name, 1 << 16);
    let q = Queue::<u64, Mpsc>::create(&seg, "q", 4).unwrap();
    q.push_bulk(&[10, 11, 12]).unwrap();
    // Slot 0 (position 0) stamped free for the next lap (0 + 4); head still 0.
    poke_u64(&name, q.offset() + header::SLOTS, 4);
    let mut c = q.consumer().unwrap();
    assert_eq!(q.len(), 2, "the successor advanced head past the consumed slot");
    assert_eq!((c.try_pop().unwrap(), c.try_pop().unwrap(), c.try_pop().unwrap()), (Some(11), Some(12), None));
    assert!(q.try_push(13).unwrap());
    assert_eq!(c.try_pop().unwrap(), Some(13));
}

#[test]
fn a_damaged_queue_header_is_refused_at_open() {
    use zipc::queue::header;
    for (field, value) in
        [(header::CAPACITY, 16u64), (header::POLICY, 1), (header::ELEM_SIZE, 4), (header::SLOT_SIZE, 9)]
    {
        let name = ShmName::new("header");
        let seg = segment(&name, 1 << 16);
        let q = Queue::<u64, Mpmc>::create(&seg, "q", 8).unwrap();
        let at = q.offset() + field;
        // Write the low 4 bytes only for the u32 fields.
        let bytes = value.to_le_bytes();
        let len = if field == header::CAPACITY { 8 } else { 4 };
        zipc_tests::poke(&name, at, &bytes[..len]);
        let err = Segment::open(&name).unwrap_err();
        assert!(matches!(&err, Error::Corrupt { field, .. } if field.contains("\"q\"")), "{err}");
    }
}
