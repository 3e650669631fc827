//! `Topic<T, M>`: the API within one process, then a publisher and three subscriber processes — a
//! lossless topic delivering a million samples to each exactly once, in order, intact; a lossy
//! one with a deliberately slow subscriber whose received + missed = published — and crashes: a
//! subscriber killed holding a sample, a publisher killed holding a loan.

use std::time::{Duration, Instant};

use zipc::inspect::State;
use zipc::{Atomic, Error, Event, Lossless, Lossy, ResetMode, Segment, Topic};
use zipc_tests::{child_args, spawn_role, wait_bounded, ShmName};

const LIMIT: Duration = Duration::from_secs(120);

fn segment(tag: &str, size: u64) -> (ShmName, Segment) {
    let name = ShmName::new(tag);
    let seg = Segment::create(&name, size).unwrap();
    (name, seg)
}

/// A sample whose four words depend on its position, so a torn or misplaced one shows.
fn sample(p: u64) -> [u64; 4] {
    [p, p ^ 0x5A5A_5A5A_5A5A_5A5A, p.wrapping_mul(3), !p]
}

fn check(s: &[u64; 4], p: u64) {
    assert_eq!(*s, sample(p), "sample at position {p} is torn or misplaced");
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < LIMIT, "{what}: still waiting after {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn loans_samples_history_and_limits_in_one_process() {
    let (_name, seg) = segment("topic-basic", 1 << 20);
    let t = Topic::<[u64; 4], Lossless>::create(&seg, "t", 4, 2, 1).unwrap();
    assert_eq!((t.capacity(), t.max_subscribers(), t.history(), t.published()), (4, 2, 1, 0));
    let mut tx = t.publisher().unwrap();
    assert!(matches!(t.publisher(), Err(Error::RoleTaken { role: "publisher", .. })));

    // No subscriber: the publisher never waits, the newest sample is kept as history.
    for p in 0..6 {
        let mut loan = tx.try_loan().expect("no subscriber holds anything");
        assert_eq!(loan.position(), p);
        loan.write(sample(p));
        loan.send();
    }
    let mut a = t.subscriber().unwrap();
    assert_eq!(a.position(), 5, "history 1: the newest sample");
    {
        let s = a.try_receive().expect("the history sample");
        check(&s, 5);
        assert_eq!(s.position(), 5);
    }
    assert!(a.try_receive().is_none());

    // A loan dropped unsent publishes nothing; the next loan is the same position.
    {
        let _unsent = tx.try_loan().unwrap();
    }
    assert_eq!(tx.published(), 6);
    assert!(a.try_receive().is_none());

    // Lossless: the publisher waits for the slowest subscriber, a capacity behind.
    let mut b = t.subscriber().unwrap();
    assert_eq!(b.position(), 5);
    let err = t.subscriber().unwrap_err();
    assert!(matches!(err, Error::SubscribersFull { max: 2, .. }), "{err}");
    assert!(err.to_string().contains("2 live subscribers"), "{err}");
    // a is at 6, b at 5: positions below 5 + 4 fit.
    for p in 6..9 {
        assert!(tx.try_send_copy(&sample(p)), "space for position {p}");
    }
    assert!(tx.try_loan().is_none(), "b is a capacity behind");
    assert!(matches!(tx.loan(Some(Duration::from_millis(1))), Err(Error::Timeout)));
    for p in 6..9 {
        check(&a.receive(Some(LIMIT)).unwrap(), p);
    }
    assert!(tx.try_loan().is_none(), "b still holds position 5");
    // b reads in place and holds the sample: still no space until it drops.
    let held = b.receive(Some(LIMIT)).unwrap();
    check(&held, 5);
    drop(held);
    assert!(tx.try_send_copy(&sample(9)));
    for p in 6..10 {
        assert_eq!(b.receive_copy(Some(LIMIT)).unwrap(), sample(p));
    }
    assert_eq!((a.received(), b.received(), a.missed(), b.lag()), (4, 5, 0, 0));
    check(&a.receive(Some(LIMIT)).unwrap(), 9);

    // Leaving frees the record.
    drop(b);
    assert_eq!(t.subscribers(), 1);
    let c = t.subscriber().unwrap();
    assert_eq!(c.position(), 9);

    // inspect: the publisher, each subscriber's lag.
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let Some(State::Topic(ts)) = &snap.entries[0].state else { panic!("topic state") };
    assert_eq!((ts.published, ts.subscribers.len(), ts.history, ts.lossy), (10, 2, 1, false));
    assert_eq!(ts.subscribers[1].lag, 1);
    let report = snap.to_string();
    assert!(report.contains("lossless, published 10"), "{report}");
    assert!(report.contains("#1 lag"), "{report}");
}

#[test]
fn open_checks_element_mode_and_parameters() {
    let (_name, seg) = segment("topic-open", 1 << 20);
    Topic::<u64, Lossy>::create(&seg, "t", 8, 3, 2).unwrap();
    let t = Topic::<u64, Lossy>::open(&seg, "t").unwrap();
    assert_eq!((t.capacity(), t.max_subscribers(), t.history()), (8, 3, 2));
    assert!(Topic::<u64, Lossy>::open_or_create(&seg, "t", 8, 3, 0).is_ok(), "history is adopted");
    let err = Topic::<u64, Lossless>::open(&seg, "t").unwrap_err();
    assert!(matches!(&err, Error::ParameterMismatch { parameter: "mode", .. }), "{err}");
    assert!(err.to_string().contains("lossy"), "{err}");
    let err = Topic::<u32, Lossy>::open(&seg, "t").unwrap_err();
    assert!(matches!(err, Error::LayoutMismatch { .. }), "{err}");
    let err = Topic::<u64, Lossy>::open_or_create(&seg, "t", 16, 3, 2).unwrap_err();
    assert!(matches!(err, Error::CapacityMismatch { expected: 16, found: 8, .. }), "{err}");
    let err = Topic::<u64, Lossy>::open_or_create(&seg, "t", 8, 4, 2).unwrap_err();
    assert!(matches!(err, Error::ParameterMismatch { .. }), "{err}");
    let err = zipc::Ring::<u64>::open(&seg, "t").unwrap_err();
    assert!(matches!(err, Error::KindMismatch { .. }), "{err}");
    for (cap, subs, hist) in [(6, 1, 0), (8, 0, 0), (8, 1025, 0), (8, 1, 8)] {
        let err = Topic::<u64, Lossless>::create(&seg, &format!("bad{cap}{subs}{hist}"), cap, subs, hist).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{cap} {subs} {hist}: {err}");
    }
}

/// Lossy, in one process: a subscriber lapped by the publisher skips to the oldest sample still
/// there and counts exactly what it missed.
#[test]
fn lossy_subscriber_counts_what_it_missed() {
    let (_name, seg) = segment("topic-lossy", 1 << 20);
    let t = Topic::<[u64; 4], Lossy>::create(&seg, "t", 4, 1, 0).unwrap();
    let mut rx = t.subscriber().unwrap();
    let mut tx = t.publisher().unwrap();
    for p in 0..10 {
        tx.send_copy(&sample(p), None).unwrap();
    }
    for p in 6..10 {
        assert_eq!(rx.try_receive_copy(), Some(sample(p)));
    }
    assert_eq!(rx.try_receive_copy(), None);
    assert_eq!((rx.received(), rx.missed()), (4, 6));
    assert!(matches!(rx.receive_copy(Some(Duration::from_millis(1))), Err(Error::Timeout)));
}

const TOTAL: u64 = 1_000_000;

/// One publisher, three subscriber processes, a million samples through 64 slots: every
/// subscriber receives every sample exactly once, in order, intact (two read in place, one
/// copies).
#[test]
fn lossless_three_subscriber_processes_receive_every_sample_once() {
    const TEST: &str = "lossless_three_subscriber_processes_receive_every_sample_once";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let t = Topic::<[u64; 4], Lossless>::open(&seg, "t").unwrap();
        let mut rx = t.subscriber().unwrap();
        Atomic::<u32>::open(&seg, "joined").unwrap().fetch_add(1);
        let copy = args[1] == "copy";
        for p in 0..TOTAL {
            if copy {
                check(&rx.receive_copy(Some(LIMIT)).unwrap(), p);
            } else {
                let s = rx.receive(Some(LIMIT)).unwrap();
                assert_eq!(s.position(), p);
                check(&s, p);
            }
        }
        assert_eq!((rx.received(), rx.missed()), (TOTAL, 0));
        assert!(rx.try_receive().is_none(), "nothing past the last sample");
        return;
    }
    let (name, seg) = segment("topic-lossless-procs", 8 << 20);
    let t = Topic::<[u64; 4], Lossless>::create(&seg, "t", 64, 3, 0).unwrap();
    let joined = Atomic::<u32>::create(&seg, "joined", 0).unwrap();
    let mut children: Vec<_> = ["place", "place", "copy"].iter().map(|how| spawn_role(TEST, &[&name, how])).collect();
    wait_for("three subscribers joining", || joined.load() == 3);
    let mut tx = t.publisher().unwrap();
    for p in 0..TOTAL {
        let mut loan = tx.loan(Some(LIMIT)).unwrap();
        *loan = sample(p);
        loan.send();
    }
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a subscriber failed");
    }
    assert_eq!((t.published(), t.released()), (TOTAL, 0));
}

/// Lossy, one publisher and three subscriber processes, one of them deliberately slow (it
/// starts reading only once everything is published): each receives intact samples in order,
/// and received + missed = published; the slow one receives exactly the newest capacity.
#[test]
fn lossy_subscribers_balance_their_books() {
    const TEST: &str = "lossy_subscribers_balance_their_books";
    const CAP: u64 = 64;
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let t = Topic::<[u64; 4], Lossy>::open(&seg, "t").unwrap();
        let mut rx = t.subscriber().unwrap();
        Atomic::<u32>::open(&seg, "joined").unwrap().fetch_add(1);
        let done = Event::open(&seg, "done").unwrap();
        let slow = args[1] == "slow";
        if slow {
            done.wait_timeout(LIMIT).unwrap();
        }
        let mut last = None;
        while rx.position() < TOTAL {
            match rx.receive_copy(Some(Duration::from_millis(10))) {
                Ok(s) => {
                    let p = rx.position() - 1;
                    check(&s, p);
                    assert!(last.is_none_or(|l| p > l), "in order");
                    last = Some(p);
                }
                Err(Error::Timeout) => assert!(done.is_set() || !slow, "the slow subscriber reads after the end"),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(rx.received() + rx.missed(), TOTAL, "received + missed = published");
        if slow {
            assert_eq!((rx.received(), rx.missed()), (CAP, TOTAL - CAP), "the newest capacity, the rest missed");
        }
        return;
    }
    let (name, seg) = segment("topic-lossy-procs", 8 << 20);
    let t = Topic::<[u64; 4], Lossy>::create(&seg, "t", CAP, 3, 0).unwrap();
    let joined = Atomic::<u32>::create(&seg, "joined", 0).unwrap();
    let done = Event::create(&seg, "done", ResetMode::Manual, false).unwrap();
    let mut children: Vec<_> = ["fast", "fast", "slow"].iter().map(|how| spawn_role(TEST, &[&name, how])).collect();
    wait_for("three subscribers joining", || joined.load() == 3);
    let mut tx = t.publisher().unwrap();
    for p in 0..TOTAL {
        tx.send_copy(&sample(p), None).unwrap();
    }
    done.set();
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a subscriber failed");
    }
}

/// A subscriber process killed while holding a sample it read in place does not stall a
/// lossless publisher: its record is released (counted once) and the survivor receives everything.
#[test]
fn a_killed_subscriber_holding_a_sample_is_released() {
    const TEST: &str = "a_killed_subscriber_holding_a_sample_is_released";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let t = Topic::<[u64; 4], Lossless>::open(&seg, "t").unwrap();
        let mut rx = t.subscriber().unwrap();
        Atomic::<u32>::open(&seg, "joined").unwrap().fetch_add(1);
        let held = rx.receive(Some(LIMIT)).unwrap();
        check(&held, 0);
        Atomic::<u32>::open(&seg, "holding").unwrap().store(1);
        std::thread::sleep(LIMIT); // killed here, holding the sample
        return;
    }
    let (name, seg) = segment("topic-dead-sub", 1 << 20);
    let t = Topic::<[u64; 4], Lossless>::create(&seg, "t", 4, 2, 0).unwrap();
    let joined = Atomic::<u32>::create(&seg, "joined", 0).unwrap();
    let holding = Atomic::<u32>::create(&seg, "holding", 0).unwrap();
    let mut survivor = t.subscriber().unwrap();
    let mut child = spawn_role(TEST, &[&name]);
    wait_for("the subscriber joining", || joined.load() == 1);
    let mut tx = t.publisher().unwrap();
    tx.send_copy(&sample(0), Some(LIMIT)).unwrap();
    wait_for("the subscriber holding a sample", || holding.load() == 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let reader = std::thread::spawn(move || {
        for p in 0..20 {
            check(&survivor.receive(Some(LIMIT)).unwrap(), p);
        }
    });
    for p in 1..20 {
        tx.send_copy(&sample(p), Some(LIMIT)).unwrap();
    }
    reader.join().unwrap();
    assert_eq!(t.released(), 1, "the dead subscriber was released once");
    assert_eq!(t.subscribers(), 0);
}

/// A publisher process killed with a loan open leaks nothing: the next publisher takes the role
/// over and writes that position; the subscriber sees every published sample once, no gap.
#[test]
fn a_killed_publisher_with_an_open_loan_leaks_nothing() {
    const TEST: &str = "a_killed_publisher_with_an_open_loan_leaks_nothing";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let t = Topic::<[u64; 4], Lossless>::open(&seg, "t").unwrap();
        let mut tx = t.publisher().unwrap();
        for p in 0..3 {
            tx.send_copy(&sample(p), Some(LIMIT)).unwrap();
        }
        let mut loan = tx.loan(Some(LIMIT)).unwrap();
        *loan = [u64::MAX; 4]; // written, never sent
        Atomic::<u32>::open(&seg, "loaned").unwrap().store(1);
        std::thread::sleep(LIMIT);
        return;
    }
    let (name, seg) = segment("topic-dead-pub", 1 << 20);
    let t = Topic::<[u64; 4], Lossless>::create(&seg, "t", 8, 1, 0).unwrap();
    let loaned = Atomic::<u32>::create(&seg, "loaned", 0).unwrap();
    let mut rx = t.subscriber().unwrap();
    let mut child = spawn_role(TEST, &[&name]);
    wait_for("the publisher loaning", || loaned.load() == 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut tx = t.publisher().expect("the dead publisher's role is taken over");
    assert!(tx.took_over());
    for p in 3..6 {
        tx.send_copy(&sample(p), Some(LIMIT)).unwrap();
    }
    for p in 0..6 {
        check(&rx.receive(Some(LIMIT)).unwrap(), p);
    }
    assert!(rx.try_receive().is_none());
}
