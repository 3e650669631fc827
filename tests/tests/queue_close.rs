//! Closing queues (ZeroIPC's `channel` and `stream`): for every policy, a closed queue refuses
//! pushes, delivers what was pushed before the close and then reports `Closed` to `try_pop`,
//! `pop` and `pop_bulk`; the close is idempotent and shows in `inspect`; an SPSC queue is closed by
//! its producer (a `Queue::close` while a producer lives is refused) and a successor producer
//! learns of it; sleepers in `pop`, `push`, `pop_async` and a `WaitSet` wake. Across processes:
//! four producer processes push until the close refuses them while two consumer processes pop
//! until `Closed` — every accepted element arrives exactly once, each producer's in order — and a
//! close left half-done (as by a closer killed between its stores) is finished by the consumers.
//!
//! Every wait for another thread or process goes through the segment with a hang guard; no sleep
//! is a synchronisation.

use std::time::Duration;

use zipc::inspect::State;
use zipc::{Array, Atomic, Error, Mpmc, Mpsc, Policy, Queue, Segment, Spsc, WaitSet};
use zipc_tests::{child_args, poke, spawn_role, until, wait_bounded, ShmName};

/// Hang guard for children and test-side polls (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);

fn is_closed<T: std::fmt::Debug>(r: zipc::Result<T>, name: &str) -> bool {
    match r {
        Err(Error::Closed { structure }) => {
            assert_eq!(structure, name);
            true
        }
        other => panic!("expected Closed, got {other:?}"),
    }
}

/// The queue's state as inspect reads it: the text report and the JSON `close_state`.
fn inspected(seg: &Segment, name: &str) -> (zipc::inspect::QueueState, String, String) {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let entry = snap.entries.iter().find(|e| e.name == name).unwrap();
    assert!(entry.problems.is_empty(), "{:?}", entry.problems);
    let Some(State::Queue(st)) = &entry.state else { panic!("queue state: {:?}", entry.state) };
    let json: serde_json::Value = serde_json::from_str(&snap.to_json()).unwrap();
    let e = json["entries"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap();
    (st.clone(), snap.to_string(), e["state"]["close_state"].as_str().unwrap().to_owned())
}

/// Push 3, close, drain: the same for every policy, through role handles.
fn close_then_drain<P: Policy>(seg: &Segment, name: &str) {
    let q = Queue::<u64, P>::create(seg, name, 8).unwrap();
    let mut tx = q.producer().unwrap();
    let mut rx = q.consumer().unwrap();
    for v in 1..=3 {
        assert!(tx.try_push(v).unwrap());
    }
    assert!(!q.is_closed() && !tx.is_closed() && !rx.is_closed());
    assert_eq!(inspected(seg, name).2, "open");
    tx.close();
    assert!(q.is_closed() && tx.is_closed() && rx.is_closed());
    tx.close(); // idempotent
    assert!(is_closed(tx.try_push(4), name));
    assert!(is_closed(tx.push(4, None), name), "a blocking push does not wait on a closed queue");
    assert!(is_closed(tx.push_bulk(&[4, 5]), name));
    // What was pushed before is still there, and counted right.
    assert_eq!(q.len(), 3);
    let (st, text, close_state) = inspected(seg, name);
    assert_eq!((st.len, st.close_state, close_state.as_str()), (3, "closed", "closed"));
    assert!(text.contains("closed"), "{text}");
    assert_eq!(rx.try_pop().unwrap(), Some(1));
    assert_eq!(rx.pop(Some(LIMIT)).unwrap(), 2);
    let mut buf = [0u64; 4];
    assert_eq!(rx.pop_bulk(&mut buf).unwrap(), 1);
    assert_eq!(buf[0], 3);
    assert!(is_closed(rx.try_pop(), name));
    assert!(is_closed(rx.pop(None), name), "a blocking pop does not wait on a drained closed queue");
    assert!(is_closed(rx.pop_bulk(&mut buf), name));
    assert!(rx.pop_bulk(&mut []).is_ok_and(|n| n == 0), "an empty buffer asks for nothing");
    assert_eq!(q.len(), 0);
    // Another handle, opened after the close, sees it too.
    let again = Queue::<u64, P>::open(seg, name).unwrap();
    assert!(again.is_closed());
    assert!(again.close().is_ok() || P::NAME == "spsc", "closing again is fine");
}

#[test]
fn every_policy_drains_then_reports_closed() {
    let name = ShmName::new("qclose-policies");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    close_then_drain::<Spsc>(&seg, "spsc");
    close_then_drain::<Mpsc>(&seg, "mpsc");
    close_then_drain::<Mpmc>(&seg, "mpmc");

    // The shared handle of a multi-producer queue closes it from anywhere.
    let jobs = Queue::<u32, Mpmc>::create(&seg, "jobs", 4).unwrap();
    jobs.push(7, None).unwrap();
    jobs.close().unwrap();
    jobs.close().unwrap();
    assert!(is_closed(jobs.try_push(8), "jobs"));
    assert!(is_closed(jobs.push_bulk(&[8, 9]), "jobs"));
    assert_eq!(jobs.try_pop().unwrap(), Some(7));
    assert!(is_closed(jobs.try_pop(), "jobs"));
}

#[test]
fn a_full_queue_closes_exactly() {
    let name = ShmName::new("qclose-full");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let q = Queue::<u64, Mpmc>::create(&seg, "full", 4).unwrap();
    assert_eq!(q.push_bulk(&[1, 2, 3, 4, 5]).unwrap(), 4);
    assert!(!q.try_push(5).unwrap(), "full");
    q.close().unwrap();
    assert!(is_closed(q.try_push(5), "full"), "closed takes precedence over full");
    assert_eq!(q.len(), 4);
    let mut buf = [0u64; 8];
    assert_eq!(q.pop_bulk(&mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], &[1, 2, 3, 4]);
    assert!(is_closed(q.pop_bulk(&mut buf), "full"));
    // The positions after the close are the real ones: four pushed, four popped.
    let (st, _, _) = inspected(&seg, "full");
    assert_eq!((st.head.wrapping_sub(st.tail), st.len), (0, 0));
}

#[test]
fn spsc_is_closed_by_its_producer() {
    let name = ShmName::new("qclose-spsc");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let q = Queue::<u64, Spsc>::create(&seg, "s", 8).unwrap();
    let mut tx = q.producer().unwrap();
    tx.push(1, None).unwrap();
    // While a producer lives, only it may close.
    assert!(matches!(q.close(), Err(Error::RoleTaken { role: "producer", .. })));
    assert!(!q.is_closed());
    tx.push(2, None).unwrap();
    drop(tx);
    // With the role free, the queue's own close takes it for the call and gives it back.
    q.close().unwrap();
    assert!(q.is_closed());
    let mut tx = q.producer().expect("the close gave the role back");
    assert!(tx.is_closed(), "a successor learns of the close from the segment");
    assert!(is_closed(tx.try_push(3), "s"));
    let mut rx = q.consumer().unwrap();
    assert_eq!((rx.pop(None).unwrap(), rx.pop(None).unwrap()), (1, 2));
    assert!(is_closed(rx.try_pop(), "s"));
}

#[test]
fn sleepers_wake_on_close() {
    let name = ShmName::new("qclose-wake");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    // Consumers asleep in pop (no timeout) and producers asleep in push on a full queue.
    let empty = Queue::<u64, Mpmc>::create(&seg, "empty", 4).unwrap();
    let full = Queue::<u64, Mpmc>::create(&seg, "full", 2).unwrap();
    assert_eq!(full.push_bulk(&[1, 2]).unwrap(), 2);
    std::thread::scope(|s| {
        let pops: Vec<_> = (0..2).map(|_| s.spawn(|| empty.pop(None))).collect();
        let pushes: Vec<_> = (0..2).map(|_| s.spawn(|| full.push(3, None))).collect();
        until("two consumers asleep", || empty.waiting_consumers() >= 2);
        until("two producers asleep", || full.waiting_producers() >= 2);
        empty.close().unwrap();
        full.close().unwrap();
        for p in pops {
            assert!(is_closed(p.join().unwrap(), "empty"));
        }
        for p in pushes {
            assert!(is_closed(p.join().unwrap(), "full"));
        }
    });
    // The elements in the full queue are still delivered.
    assert_eq!((full.pop(None).unwrap(), full.pop(None).unwrap()), (1, 2));
    assert!(is_closed(full.pop(None), "full"));

    // A WaitSet waiting for data wakes, and the pop then says Closed; so does an await.
    let ws_q = Queue::<u64, Mpsc>::create(&seg, "ws", 4).unwrap();
    let mut rx = ws_q.consumer().unwrap();
    let mut set = WaitSet::new();
    let key = set.attach(&rx);
    assert!(matches!(set.wait(Some(Duration::ZERO)), Err(Error::Timeout)), "nothing to wait for yet");
    std::thread::scope(|s| {
        let closer = s.spawn(|| {
            until("the waiter asleep", || ws_q.waiting_consumers() >= 1);
            ws_q.close().unwrap();
        });
        let ready = set.wait(Some(LIMIT)).unwrap();
        assert_eq!(ready, vec![key]);
        closer.join().unwrap();
    });
    assert!(is_closed(rx.try_pop(), "ws"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert!(is_closed(rt.block_on(rx.pop_async()), "ws"));
}

/// Producer process `p` of the mixed test: pushes `p << 32 | i` for i = 0, 1, ... until the
/// close refuses one, then records how many it pushed.
fn mpmc_producer(seg: &Segment, p: u64) {
    let q = Queue::<u64, Mpmc>::open(seg, "stream").unwrap();
    let pushed = Array::<u64>::open(seg, "pushed").unwrap();
    let mut i = 0u64;
    loop {
        match q.push(p << 32 | i, Some(LIMIT)) {
            Ok(()) => i += 1,
            Err(Error::Closed { .. }) => break,
            Err(e) => panic!("producer {p}: {e}"),
        }
    }
    pushed.set(p as usize, i).unwrap();
}

const PRODUCERS: u64 = 4;
const CONSUMERS: u64 = 2;

/// Consumer process `c`: pops until `Closed`; checks each producer's elements arrive in order;
/// records per producer the count and the sum of the indices it got, and publishes its progress.
fn mpmc_consumer(seg: &Segment, c: u64) {
    let q = Queue::<u64, Mpmc>::open(seg, "stream").unwrap();
    let got = Array::<u64>::open(seg, "got").unwrap();
    let progress = Atomic::<u64>::open(seg, "progress").unwrap();
    let mut last = [None::<u64>; PRODUCERS as usize];
    let (mut count, mut sum) = ([0u64; PRODUCERS as usize], [0u64; PRODUCERS as usize]);
    let mut buf = [0u64; 64];
    loop {
        // Alternate single and bulk pops: both paths meet the close.
        let n = match if count.iter().sum::<u64>() % 2 == 0 {
            q.pop(Some(LIMIT)).map(|v| {
                buf[0] = v;
                1
            })
        } else {
            q.pop_bulk(&mut buf)
        } {
            Ok(n) => n,
            Err(Error::Closed { .. }) => break,
            Err(e) => panic!("consumer {c}: {e}"),
        };
        for &v in &buf[..n] {
            let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
            assert!(p < PRODUCERS as usize, "consumer {c}: a value no producer sent: {v:#x}");
            assert!(last[p].is_none_or(|l| i > l), "consumer {c}: producer {p}'s {i} after {:?}", last[p]);
            last[p] = Some(i);
            count[p] += 1;
            sum[p] += i;
        }
        progress.fetch_add(n as u64);
    }
    for p in 0..PRODUCERS as usize {
        got.set((c as usize * PRODUCERS as usize + p) * 2, count[p]).unwrap();
        got.set((c as usize * PRODUCERS as usize + p) * 2 + 1, sum[p]).unwrap();
    }
}

#[test]
fn processes_see_every_accepted_element_once_then_closed() {
    if let Some(args) = child_args("processes_see_every_accepted_element_once_then_closed") {
        let seg = Segment::open(&args[0]).unwrap();
        let n: u64 = args[2].parse().unwrap();
        return match args[1].as_str() {
            "producer" => mpmc_producer(&seg, n),
            _ => mpmc_consumer(&seg, n),
        };
    }
    let name = ShmName::new("qclose-procs");
    let seg = Segment::create(&name, 4 << 20).unwrap();
    let q = Queue::<u64, Mpmc>::create(&seg, "stream", 256).unwrap();
    Array::<u64>::create(&seg, "pushed", PRODUCERS).unwrap();
    Array::<u64>::create(&seg, "got", CONSUMERS * PRODUCERS * 2).unwrap();
    let progress = Atomic::<u64>::create(&seg, "progress", 0).unwrap();
    let spawn = |role: &str, i: u64| {
        spawn_role("processes_see_every_accepted_element_once_then_closed", &[name.as_str(), role, &i.to_string()])
    };
    let mut children: Vec<_> = (0..PRODUCERS).map(|p| spawn("producer", p)).collect();
    children.extend((0..CONSUMERS).map(|c| spawn("consumer", c)));
    // Close mid-stream: once the consumers have taken a good many.
    until("200 000 elements through", || progress.load() >= 200_000);
    q.close().unwrap();
    for mut c in children {
        assert!(wait_bounded(&mut c, LIMIT), "a child failed");
    }
    let pushed = Array::<u64>::open(&seg, "pushed").unwrap();
    let got = Array::<u64>::open(&seg, "got").unwrap();
    let mut total = 0;
    for p in 0..PRODUCERS as usize {
        let n = pushed.get(p).unwrap();
        let (mut count, mut sum) = (0, 0);
        for c in 0..CONSUMERS as usize {
            count += got.get((c * PRODUCERS as usize + p) * 2).unwrap();
            sum += got.get((c * PRODUCERS as usize + p) * 2 + 1).unwrap();
        }
        assert_eq!(count, n, "producer {p}: {n} pushed, {count} received");
        assert_eq!(sum, n * n.saturating_sub(1) / 2, "producer {p}: each index 0..{n} exactly once");
        total += n;
    }
    assert!(total >= 200_000, "{total}");
    assert_eq!(progress.load(), total);
    assert_eq!(q.len(), 0);
    assert_eq!(q.lost(), 0);
}

/// A close left half-done — `closed` = 1 (closing) with `tail` not yet moved, as a closer killed
/// between its stores leaves it — refuses pushes; a consumer process finishes the close, drains
/// and then gets `Closed`.
#[test]
fn a_half_done_close_is_finished_by_survivors() {
    if let Some(args) = child_args("a_half_done_close_is_finished_by_survivors") {
        let seg = Segment::open(&args[0]).unwrap();
        let q = Queue::<u64, Mpsc>::open(&seg, "half").unwrap();
        let mut rx = q.consumer().unwrap();
        let got: Vec<u64> = std::iter::from_fn(|| match rx.pop(Some(LIMIT)) {
            Ok(v) => Some(v),
            Err(Error::Closed { .. }) => None,
            Err(e) => panic!("{e}"),
        })
        .collect();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        return;
    }
    let name = ShmName::new("qclose-half");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let q = Queue::<u64, Mpsc>::create(&seg, "half", 128).unwrap();
    for v in 0..100 {
        q.push(v, None).unwrap();
    }
    let at = seg.entry("half").unwrap().unwrap().offset + zipc::queue::header::CLOSED;
    poke(&name, at, &1u64.to_le_bytes());
    let (st, text, close_state) = inspected(&seg, "half");
    assert_eq!((st.close_state, close_state.as_str(), st.len), ("closing", "closing", 100));
    assert!(text.contains("closing"), "{text}");
    // The consumer drains the 100, finds the close begun at the empty slot, finishes it and
    // gets `Closed`.
    let mut child = spawn_role("a_half_done_close_is_finished_by_survivors", &[name.as_str()]);
    assert!(wait_bounded(&mut child, LIMIT), "the consumer failed");
    let (st, text, _) = inspected(&seg, "half");
    assert_eq!((st.close_state, st.len, st.tail.wrapping_sub(st.head)), ("closed", 0, 0));
    assert!(text.contains("closed"), "{text}");
    assert!(q.is_closed());
    assert!(is_closed(q.try_push(100), "half"));
}
