//! Closing rings and topics (ZeroIPC's `stream` end): in one process, every API's view of a
//! close (typed, byte-level, inspect); across processes, a producer that sends N elements and
//! closes while the consumer — asleep in a receive with no timeout — receives exactly N in order,
//! then `Closed`; a send after the close fails.
//!
//! Every wait for another process goes through the segment (inspect's sleeper counts, an
//! `Atomic`) with a generous hang guard; no sleep is a synchronisation.

use std::time::Duration;

use zipc::dynamic::{DynRing, DynTopic, ElementSpec};
use zipc::inspect::State;
use zipc::{Array, Atomic, Error, Lossless, Lossy, Ring, RingMode, Segment, Topic};
use zipc_tests::{child_args, spawn_role, until, wait_bounded, ShmName};

/// Hang guard for children and test-side polls (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);

/// Elements sent across processes.
const N: u64 = 20_000;

fn segment(tag: &str) -> (ShmName, Segment) {
    let name = ShmName::new(tag);
    let seg = Segment::create(&name, 1 << 20).unwrap();
    (name, seg)
}

fn is_closed_error<T: std::fmt::Debug>(r: zipc::Result<T>, structure: &str) -> bool {
    match r {
        Err(Error::Closed { structure: s }) => s == structure,
        other => panic!("expected Closed for {structure}, got {other:?}"),
    }
}

/// The entry `name`'s live state, its report text and its JSON state.
fn inspected(seg: &Segment, name: &str) -> (State, String, serde_json::Value) {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let entry = snap.entries.iter().find(|e| e.name == name).unwrap();
    assert!(entry.problems.is_empty(), "{:?}", entry.problems);
    let json: serde_json::Value = serde_json::from_str(&snap.to_json()).unwrap();
    let e = json["entries"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone();
    (entry.state.clone().unwrap(), snap.to_string(), e["state"].clone())
}

fn ring_state(seg: &Segment, name: &str) -> zipc::inspect::RingState {
    match inspected(seg, name).0 {
        State::Ring(r) => r,
        other => panic!("ring state: {other:?}"),
    }
}

#[test]
fn ring_close_in_one_process() {
    let (_name, seg) = segment("close-ring-one");
    for (ring_name, mode) in [("lossless", RingMode::Lossless), ("overwrite", RingMode::Overwrite)] {
        let ring = Ring::<u64>::create(&seg, ring_name, 4, mode).unwrap();
        let (mut tx, mut rx) = (ring.producer().unwrap(), ring.consumer().unwrap());
        for v in 0..3 {
            tx.push(v, None).unwrap();
        }
        assert!(!ring.is_closed() && !rx.is_finished());
        let (_, text, json) = inspected(&seg, ring_name);
        assert_eq!(json["closed"], false);
        assert!(!text.contains(&format!("{ring_name}, closed")), "{text}");

        tx.close();
        tx.close(); // idempotent
        assert!(ring.is_closed());
        // A send after the close fails, and nothing is sent.
        assert!(is_closed_error(tx.push(9, None), ring_name));
        assert!(is_closed_error(tx.push_bulk(&[9, 9], Some(Duration::ZERO)), ring_name));
        assert!(!tx.try_push(9));
        assert_eq!(tx.try_push_bulk(&[9]), 0);
        assert_eq!(ring.total_written(), 3);
        // Observers are unaffected.
        let mut newest = [0; 2];
        assert_eq!(ring.get_last_n(2, &mut newest), 2);
        assert_eq!(newest, [1, 2]);
        let (st, text, json) = inspected(&seg, ring_name);
        assert!(matches!(st, State::Ring(ref r) if r.closed), "{st:?}");
        assert_eq!(json["closed"], true);
        assert!(text.contains(&format!("{ring_name}, closed [")), "{text}");

        // The consumer drains what was sent before the close, then gets Closed, at once.
        assert_eq!(rx.peek(), Some(0));
        assert_eq!(rx.pop(None).unwrap(), 0);
        assert_eq!(rx.try_pop(), Some(1));
        let mut buf = [0; 4];
        assert_eq!(rx.pop_bulk(&mut buf, None).unwrap(), 1);
        assert_eq!(buf[0], 2);
        assert!(rx.is_finished());
        assert!(is_closed_error(rx.pop(None), ring_name));
        assert!(is_closed_error(rx.pop_bulk(&mut buf, Some(Duration::from_secs(1))), ring_name));
        assert_eq!((rx.try_pop(), rx.try_pop_bulk(&mut buf), rx.peek()), (None, 0, None));

        // The byte-level API reports Closed from its try_ calls too.
        let dyn_ring = DynRing::open(&seg, ring_name, ElementSpec::new(8)).unwrap();
        assert!(dyn_ring.is_closed());
        drop(rx);
        let mut drx = dyn_ring.consumer().unwrap();
        let mut one = [0u8; 8];
        assert!(drx.is_finished());
        assert!(is_closed_error(drx.try_pop(&mut one), ring_name));
        assert!(is_closed_error(drx.try_pop_bulk(&mut one), ring_name));
        assert!(is_closed_error(drx.peek(&mut one), ring_name));
        assert!(is_closed_error(drx.pop(&mut one, None), ring_name));
        // A later producer finds the ring closed.
        drop(tx);
        let mut dtx = dyn_ring.producer().unwrap();
        assert!(is_closed_error(dtx.try_push(&one), ring_name));
        assert!(is_closed_error(dtx.try_push_bulk(&one), ring_name));
        assert!(is_closed_error(dtx.push(&one, None), ring_name));
        dtx.close_stream(); // idempotent through a successor too
        drop(dtx);
        let mut tx = ring.producer().unwrap();
        assert!(!tx.try_push(9));
        assert!(is_closed_error(tx.push(9, None), ring_name));
    }
}

/// A ring made before closing existed (the two words zero, as in every old segment) is open.
#[test]
fn a_ring_with_zero_close_words_is_open() {
    let (name, seg) = segment("close-ring-zero");
    let ring = Ring::<u32>::create(&seg, "r", 2, RingMode::Lossless).unwrap();
    let base = ring.offset();
    assert_eq!(zipc_tests::peek(&name, base + zipc::ring::field::END, 16), vec![0; 16]);
    assert!(!ring.is_closed());
    let mut tx = ring.producer().unwrap();
    assert!(tx.try_push(1));
}

/// The consumer process: pops with no timeout until `Closed`, checking the order (in overwrite
/// mode, elements it missed are counted and skipped), then stores what it received.
fn ring_consumer_child(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let ring = Ring::<u64>::open(&seg, &args[1]).unwrap();
    let mut rx = ring.consumer().unwrap();
    let (mut got, mut next) = (0u64, 0u64);
    let mut buf = [0u64; 7];
    loop {
        let before = rx.missed();
        // Alternate single and bulk pops: both must end with Closed.
        let n = if got % 2 == 0 {
            match rx.pop(None) {
                Ok(v) => {
                    buf[0] = v;
                    1
                }
                Err(Error::Closed { .. }) => break,
                Err(e) => panic!("pop: {e}"),
            }
        } else {
            match rx.pop_bulk(&mut buf, None) {
                Ok(n) => n,
                Err(Error::Closed { .. }) => break,
                Err(e) => panic!("pop_bulk: {e}"),
            }
        };
        next += rx.missed() - before;
        for v in &buf[..n] {
            assert_eq!(*v, next, "out of order");
            next += 1;
        }
        got += n as u64;
    }
    assert!(rx.is_finished());
    assert_eq!(got + rx.missed(), N, "received + missed = sent, once closed");
    Atomic::<u64>::open(&seg, "got").unwrap().store(got);
    Atomic::<u64>::open(&seg, "missed").unwrap().store(rx.missed());
}

/// The producer process: pushes N, waits until the consumer has taken everything and sleeps in
/// its pop with no timeout, then closes; a push after the close fails.
fn ring_producer_child(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let ring = Ring::<u64>::open(&seg, &args[1]).unwrap();
    let mut tx = ring.producer().unwrap();
    for v in 0..N {
        tx.push(v, None).unwrap();
    }
    until("the consumer to drain the ring and sleep", || {
        let st = ring_state(&seg, &args[1]);
        st.read_pos == N && st.waiting_consumers == 1
    });
    tx.close();
    assert!(is_closed_error(tx.push(N, None), &args[1]));
    assert!(!tx.try_push(N));
    assert_eq!(ring.total_written(), N);
}

#[test]
fn ring_producer_process_closes_consumer_process_drains() {
    const TEST: &str = "ring_producer_process_closes_consumer_process_drains";
    if let Some(args) = child_args(TEST) {
        match args[2].as_str() {
            "consumer" => ring_consumer_child(&args),
            _ => ring_producer_child(&args),
        }
        return;
    }
    let (name, seg) = segment("close-ring-procs");
    for (ring_name, mode) in [("lossless", RingMode::Lossless), ("overwrite", RingMode::Overwrite)] {
        let got = Atomic::<u64>::open_or_create(&seg, "got", u64::MAX).unwrap();
        let missed = Atomic::<u64>::open_or_create(&seg, "missed", u64::MAX).unwrap();
        got.store(u64::MAX);
        let ring = Ring::<u64>::create(&seg, ring_name, 64, mode).unwrap();
        let mut consumer = spawn_role(TEST, &[&name, ring_name, "consumer"]);
        let mut producer = spawn_role(TEST, &[&name, ring_name, "producer"]);
        assert!(wait_bounded(&mut producer, LIMIT), "{ring_name}: the producer failed");
        assert!(wait_bounded(&mut consumer, LIMIT), "{ring_name}: the consumer failed (or was never woken)");
        let (got, missed) = (got.load(), missed.load());
        assert_eq!(got + missed, N, "{ring_name}");
        if mode == RingMode::Lossless {
            assert_eq!((got, missed), (N, 0), "lossless: exactly N received");
        }
        let st = ring_state(&seg, ring_name);
        assert!(st.closed && st.write_pos == N && st.read_pos == N, "{st:?}");
        assert_eq!((st.waiting_consumers, st.producer, st.consumer), (0, None, None));
        assert!(ring.is_closed());
    }
}

fn topic_state(seg: &Segment, name: &str) -> zipc::inspect::TopicState {
    match inspected(seg, name).0 {
        State::Topic(t) => t,
        other => panic!("topic state: {other:?}"),
    }
}

#[test]
fn topic_close_in_one_process() {
    let (_name, seg) = segment("close-topic-one");
    // Lossless, 4 slots, 3 subscribers, history 2.
    let topic = Topic::<u64, Lossless>::create(&seg, "t", 4, 3, 2).unwrap();
    let mut rx = topic.subscriber().unwrap();
    let mut tx = topic.publisher().unwrap();
    let mut loan = tx.loan(None).unwrap();
    *loan = 0;
    loan.send();
    tx.send_copy(&1, None).unwrap();
    assert!(tx.try_send_copy(&2));
    assert!(!topic.is_closed() && !rx.is_finished());
    assert_eq!(inspected(&seg, "t").2["closed"], false);

    tx.close();
    tx.close(); // idempotent
    assert!(topic.is_closed());
    assert!(is_closed_error(tx.send_copy(&9, None), "t"));
    assert!(is_closed_error(tx.loan(Some(Duration::from_secs(1))).map(|_| ()), "t"));
    assert!(tx.try_loan().is_none());
    assert!(!tx.try_send_copy(&9));
    assert_eq!(topic.published(), 3, "nothing published after the close");
    let (st, text, json) = inspected(&seg, "t");
    assert!(matches!(st, State::Topic(ref t) if t.closed), "{st:?}");
    assert_eq!(json["closed"], true);
    assert!(text.contains("lossless, closed, published 3"), "{text}");

    // The subscriber drains, then gets Closed at once; so does one joining after the close,
    // after its history.
    assert_eq!(*rx.receive(None).unwrap(), 0);
    assert_eq!(rx.try_receive().map(|s| *s), Some(1));
    assert_eq!(rx.receive_copy(None).unwrap(), 2);
    assert!(rx.is_finished());
    assert!(is_closed_error(rx.receive(None).map(|_| ()), "t"));
    assert!(is_closed_error(rx.receive_copy(Some(Duration::from_secs(1))), "t"));
    assert!(rx.try_receive().is_none() && rx.try_receive_copy().is_none());
    let mut late = topic.subscriber().unwrap();
    assert!(!late.is_finished());
    assert_eq!((late.receive_copy(None).unwrap(), late.receive_copy(None).unwrap()), (1, 2));
    assert!(is_closed_error(late.receive_copy(None), "t"));

    // The byte-level API: Closed from the try_ calls too; a later publisher finds it closed.
    drop(tx);
    let dt = DynTopic::open(&seg, "t", ElementSpec::new(8)).unwrap();
    assert!(dt.is_closed());
    let mut dsub = dt.subscriber().unwrap();
    let mut one = [0u8; 8];
    assert_eq!(dsub.receive_copy(&mut one, None).map(|()| u64::from_le_bytes(one)).unwrap(), 1);
    dsub.try_receive_copy(&mut one).unwrap();
    assert!(dsub.is_finished());
    assert!(is_closed_error(dsub.try_receive_copy(&mut one), "t"));
    assert!(is_closed_error(dsub.try_receive(), "t"));
    assert!(is_closed_error(dsub.receive(None), "t"));
    let mut dpub = dt.publisher().unwrap();
    assert!(is_closed_error(dpub.try_loan(), "t"));
    assert!(is_closed_error(dpub.loan(None), "t"));
    assert!(is_closed_error(dpub.try_send_copy(&one), "t"));
    assert!(is_closed_error(dpub.send_copy(&one, None), "t"));
    assert!(is_closed_error(dpub.send(), "t"));
    drop(dpub);
    let mut tx = topic.publisher().unwrap();
    assert!(is_closed_error(tx.send_copy(&9, None), "t"));
    assert_eq!(topic.published(), 3);
}

/// A byte-level loan open when the topic is closed: its send fails with Closed and nothing is
/// published (the slot is given back).
#[test]
fn topic_close_with_a_loan_open() {
    let (_name, seg) = segment("close-topic-loan");
    let topic = Topic::<u64, Lossless>::create(&seg, "t", 4, 1, 0).unwrap();
    let mut rx = topic.subscriber().unwrap();
    let dt = DynTopic::open(&seg, "t", ElementSpec::new(8)).unwrap();
    let mut dpub = dt.publisher().unwrap();
    dpub.send_copy(&7u64.to_le_bytes(), None).unwrap();
    let at = dpub.try_loan().unwrap().expect("a free slot");
    // SAFETY: the loan gives this publisher the slot's 8 bytes alone until send or unloan.
    unsafe { at.as_ptr().cast::<u64>().write(8) };
    dpub.close_stream();
    assert!(is_closed_error(dpub.send(), "t"));
    assert!(is_closed_error(dpub.send(), "t"));
    assert_eq!(dt.published(), 1, "the loan was given back unpublished");
    assert_eq!(rx.receive_copy(None).unwrap(), 7);
    assert!(is_closed_error(rx.receive_copy(None), "t"));
}

/// Lossy: a subscriber that fell behind drains what was not overwritten, counting the rest as
/// missed, then gets Closed.
#[test]
fn topic_close_lossy() {
    let (_name, seg) = segment("close-topic-lossy");
    let topic = Topic::<u64, Lossy>::create(&seg, "t", 2, 1, 0).unwrap();
    let mut rx = topic.subscriber().unwrap();
    let mut tx = topic.publisher().unwrap();
    for v in 0..5 {
        tx.send_copy(&v, None).unwrap();
    }
    tx.close();
    assert!(is_closed_error(tx.send_copy(&9, None), "t"));
    assert!(!tx.try_send_copy(&9));
    let mut got = Vec::new();
    loop {
        match rx.receive_copy(None) {
            Ok(v) => got.push(v),
            Err(Error::Closed { .. }) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, [3, 4]);
    assert_eq!((rx.received(), rx.missed()), (2, 3));
    assert!(rx.is_finished());
}

/// A topic made before closing existed (the two words zero) is open.
#[test]
fn a_topic_with_zero_close_words_is_open() {
    let (name, seg) = segment("close-topic-zero");
    let topic = Topic::<u32, Lossless>::create(&seg, "t", 2, 1, 0).unwrap();
    let base = seg.entry("t").unwrap().unwrap().offset;
    assert_eq!(zipc_tests::peek(&name, base + zipc::topic::header::END, 16), vec![0; 16]);
    assert!(!topic.is_closed());
    assert!(topic.publisher().unwrap().try_send_copy(&1));
}

/// The subscriber processes: receive (in place or copied, alternately) with no timeout until
/// `Closed`, in order, then store how many.
fn topic_subscriber_child(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let topic = Topic::<u64, Lossless>::open(&seg, "t").unwrap();
    let mut rx = topic.subscriber().unwrap();
    let id: usize = args[2].parse().unwrap();
    Atomic::<u32>::open(&seg, "joined").unwrap().fetch_add(1);
    let mut next = 0u64;
    loop {
        let r = if next % 2 == 0 { rx.receive(None).map(|s| *s) } else { rx.receive_copy(None) };
        match r {
            Ok(v) => {
                assert_eq!(v, next, "out of order");
                next += 1;
            }
            Err(Error::Closed { .. }) => break,
            Err(e) => panic!("receive: {e}"),
        }
    }
    assert!(rx.is_finished());
    Array::<u64>::open(&seg, "got").unwrap().set(id, next).unwrap();
}

/// The publisher process: publishes N (loans and copies), waits until both subscribers have
/// taken everything and sleep in a receive with no timeout, then closes; a send after fails.
fn topic_publisher_child(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let topic = Topic::<u64, Lossless>::open(&seg, "t").unwrap();
    let mut tx = topic.publisher().unwrap();
    for v in 0..N {
        if v % 2 == 0 {
            let mut loan = tx.loan(None).unwrap();
            *loan = v;
            loan.send();
        } else {
            tx.send_copy(&v, None).unwrap();
        }
    }
    until("both subscribers to drain the topic and sleep", || {
        let st = topic_state(&seg, "t");
        st.waiting_subscribers == 2 && st.subscribers.iter().all(|s| s.cursor == N)
    });
    tx.close();
    assert!(is_closed_error(tx.send_copy(&N, None), "t"));
    assert!(!tx.try_send_copy(&N));
    assert_eq!(topic.published(), N);
}

#[test]
fn topic_publisher_process_closes_subscriber_processes_drain() {
    const TEST: &str = "topic_publisher_process_closes_subscriber_processes_drain";
    if let Some(args) = child_args(TEST) {
        match args[1].as_str() {
            "subscriber" => topic_subscriber_child(&args),
            _ => topic_publisher_child(&args),
        }
        return;
    }
    let (name, seg) = segment("close-topic-procs");
    let topic = Topic::<u64, Lossless>::create(&seg, "t", 64, 2, 0).unwrap();
    let joined = Atomic::<u32>::create(&seg, "joined", 0).unwrap();
    let got = Array::<u64>::create(&seg, "got", 2).unwrap();
    let mut subs: Vec<_> = (0..2).map(|i| spawn_role(TEST, &[&name, "subscriber", &i.to_string()])).collect();
    until("both subscribers to join", || joined.load() == 2);
    let mut publisher = spawn_role(TEST, &[&name, "publisher", "-"]);
    assert!(wait_bounded(&mut publisher, LIMIT), "the publisher failed");
    for s in &mut subs {
        assert!(wait_bounded(s, LIMIT), "a subscriber failed (or was never woken)");
    }
    assert_eq!((got.get(0), got.get(1)), (Some(N), Some(N)), "each subscriber received exactly N");
    let st = topic_state(&seg, "t");
    assert!(st.closed && st.published == N, "{st:?}");
    assert_eq!((st.waiting_subscribers, st.subscribers.len(), st.publisher), (0, 0, None));
    assert!(topic.is_closed());
}
