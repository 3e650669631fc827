//! Models of every algorithm on a tiny queue (2 slots) whose positions start just below the
//! 2^64 wrap point, so that full, empty and wraparound are all crossed.
use super::raw::*;
use super::*;
use crate::layout::kinds::queue::CLOSING;
use loom::sync::Arc;
use loom::thread;
use std::sync::atomic::Ordering::SeqCst;

struct Heap {
    _idx: Box<Indices>,
    _slots: Vec<Slot<u64>>,
    _lanes: Vec<Lane>,
    raw: U64Raw,
}

/// Lanes of a model: one per thread, owned by tags 1..=LANES. A model "kills" the owner of
/// a lane after its thread has stopped by setting `DEAD` in the tag.
const LANES: usize = 4;
const DEAD: u64 = 1 << 63;

fn alive(tag: u64) -> bool {
    tag & DEAD == 0
}

/// The algorithms on `u64` elements, passed by value (the models' view of `Raw`'s byte
/// buffers, which the typed API converts the same way).
struct U64Raw(Raw<Typed<u64>>);

type R<T> = std::result::Result<T, Halt>;

fn pop_one(pop: impl FnOnce(&mut [u8]) -> R<bool>) -> R<Option<u64>> {
    let mut v = 0u64;
    Ok(pop(v.as_mut_bytes())?.then_some(v))
}

impl U64Raw {
    fn init(&self, start: u64) {
        self.0.init(start)
    }
    fn idx(&self) -> &Indices {
        self.0.idx()
    }
    fn len(&self) -> u64 {
        self.0.len()
    }
    fn spsc_tx(&self) -> R<TxState> {
        Ok(self.0.spsc_tx()?)
    }
    fn lane(&self, i: usize) -> &Lane {
        self.0.lanes().lane(i as u32)
    }
    /// Marks the owner of lane `i` dead (its thread has stopped for good).
    fn kill(&self, i: usize) {
        let l = self.lane(i);
        l.owner.store(l.owner.load(Relaxed) | DEAD, SeqCst);
    }
    fn spsc_rx(&self) -> R<RxState> {
        Ok(self.0.spsc_rx()?.0)
    }
    fn mp_close(&self) {
        self.0.mp_close()
    }
    fn spsc_close(&self, tx: &mut TxState) {
        self.0.spsc_close(tx)
    }
    fn sc_rx(&self) -> RxState {
        self.0.sc_rx().unwrap().0
    }
    fn spsc_try_push(&self, tx: &mut TxState, v: u64) -> R<bool> {
        self.0.spsc_try_push(tx, v.as_bytes())
    }
    fn spsc_try_pop(&self, rx: &mut RxState) -> R<Option<u64>> {
        pop_one(|b| self.0.spsc_try_pop(rx, b))
    }
    fn spsc_push_bulk(&self, tx: &mut TxState, src: &[u64]) -> R<usize> {
        self.0.spsc_push_bulk(tx, src.as_bytes())
    }
    fn spsc_pop_bulk(&self, rx: &mut RxState, dst: &mut [u64]) -> R<usize> {
        self.0.spsc_pop_bulk(rx, dst.as_mut_bytes())
    }
    fn mp_try_push(&self, lane: usize, v: u64, many_consumers: bool) -> R<bool> {
        self.0.mp_try_push(self.lane(lane), v.as_bytes(), many_consumers)
    }
    fn mp_push_bulk(&self, lane: usize, src: &[u64], many_consumers: bool) -> R<usize> {
        self.0.mp_push_bulk(self.lane(lane), src.as_bytes(), many_consumers)
    }
    fn mc_try_pop(&self, lane: usize) -> R<Option<u64>> {
        pop_one(|b| self.0.mc_try_pop(self.lane(lane), b))
    }
    fn mc_pop_bulk(&self, lane: usize, dst: &mut [u64]) -> R<usize> {
        self.0.mc_pop_bulk(self.lane(lane), dst.as_mut_bytes())
    }
    fn sc_try_pop(&self, rx: &mut RxState) -> R<Option<u64>> {
        pop_one(|b| self.0.sc_try_pop(rx, b))
    }
    fn sc_pop_bulk(&self, rx: &mut RxState, dst: &mut [u64]) -> R<usize> {
        self.0.sc_pop_bulk(rx, dst.as_mut_bytes())
    }
    fn push_blocking(
        &self,
        timeout: Option<Duration>,
        attempt: impl FnMut() -> R<bool>,
    ) -> std::result::Result<(), Blocked> {
        self.0.push_blocking(timeout, false, attempt)
    }
    fn pop_blocking(
        &self,
        timeout: Option<Duration>,
        mut attempt: impl FnMut() -> R<Option<u64>>,
    ) -> std::result::Result<u64, Blocked> {
        let mut out = 0;
        self.0.pop_blocking(timeout, false, || Ok(attempt()?.map(|v| out = v).is_some()))?;
        Ok(out)
    }
}

// SAFETY: the heap memory is shared exactly as a segment is between processes.
unsafe impl Send for Heap {}
// SAFETY: as above.
unsafe impl Sync for Heap {}

const START: u64 = u64::MAX - 1;

/// A queue of `cap` slots on the heap (`vyukov` only documents which algorithms the model
/// runs: every policy has the same slots).
fn heap(cap: u64, vyukov: bool) -> Arc<Heap> {
    let _ = vyukov;
    let idx = Box::new(Indices::new());
    let mut slots: Vec<Slot<u64>> = (0..cap).map(|_| Slot::new(0)).collect();
    let base = slots.as_mut_ptr().cast::<u8>();
    let lanes: Vec<Lane> = (1..=LANES as u64).map(Lane::new).collect();
    // SAFETY: the boxes and vectors live as long as `raw` (same struct; their heap memory
    // does not move when the struct does).
    let table = unsafe { LaneTable::new(lanes.as_ptr(), LANES as u32, alive) };
    // SAFETY: as above.
    let raw = U64Raw(unsafe { Raw::new(&*idx, base, cap, Typed::new(), table, ALIGN) });
    raw.init(START);
    Arc::new(Heap { _idx: idx, _slots: slots, _lanes: lanes, raw })
}

fn push_spin(mut push: impl FnMut() -> R<bool>) {
    while !push().unwrap() {
        thread::yield_now();
    }
}

fn pop_spin(mut pop: impl FnMut() -> R<Option<u64>>) -> u64 {
    loop {
        if let Some(v) = pop().unwrap() {
            return v;
        }
        thread::yield_now();
    }
}

#[test]
fn loom_queue_spsc_fifo_across_full_and_wrap() {
    loom::model(|| {
        let q = heap(2, false);
        let q2 = q.clone();
        let producer = thread::spawn(move || {
            let mut tx = q2.raw.spsc_tx().unwrap();
            for v in 1..=3 {
                push_spin(|| q2.raw.spsc_try_push(&mut tx, v));
            }
        });
        let mut rx = q.raw.spsc_rx().unwrap();
        let got: Vec<u64> = (0..3).map(|_| pop_spin(|| q.raw.spsc_try_pop(&mut rx))).collect();
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
        assert_eq!(q.raw.len(), 0);
        assert_eq!(q.raw.idx().tail.0.load(Relaxed), START.wrapping_add(3));
    });
}

#[test]
fn loom_queue_spsc_bulk() {
    loom::model(|| {
        let q = heap(2, false);
        let q2 = q.clone();
        let producer = thread::spawn(move || {
            let mut tx = q2.raw.spsc_tx().unwrap();
            let src = [1, 2, 3];
            let mut sent = 0;
            while sent < src.len() {
                let n = q2.raw.spsc_push_bulk(&mut tx, &src[sent..]).unwrap();
                if n == 0 {
                    thread::yield_now();
                }
                sent += n;
            }
        });
        let mut rx = q.raw.spsc_rx().unwrap();
        let mut got = Vec::new();
        while got.len() < 3 {
            let mut buf = [0; 3];
            let n = q.raw.spsc_pop_bulk(&mut rx, &mut buf).unwrap();
            if n == 0 {
                thread::yield_now();
            }
            got.extend_from_slice(&buf[..n]);
        }
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
    });
}

/// Two producers race for positions (one of them may find the queue full) while the single
/// consumer pops; every pushed element is popped exactly once, one producer's in order. No
/// thread spins: loom cannot bound a search in which two threads wait for a third.
#[test]
fn loom_queue_mpsc_two_producers() {
    loom::model(|| {
        let q = heap(2, true);
        let producers: Vec<_> = [&[1u64, 2][..], &[10][..]]
            .into_iter()
            .enumerate()
            .map(|(lane, values)| {
                let q = q.clone();
                thread::spawn(move || {
                    values.iter().filter(|&&v| q.raw.mp_try_push(lane, v, false).unwrap()).copied().collect::<Vec<_>>()
                })
            })
            .collect();
        let mut rx = q.raw.sc_rx();
        let mut got: Vec<u64> = q.raw.sc_try_pop(&mut rx).unwrap().into_iter().collect();
        let mut pushed: Vec<u64> = producers.into_iter().flat_map(|p| p.join().unwrap()).collect();
        while let Some(v) = q.raw.sc_try_pop(&mut rx).unwrap() {
            got.push(v);
        }
        assert!(pushed.len() >= 2, "a push failed although the queue had room: {pushed:?}");
        if let (Some(a), Some(b)) = (got.iter().position(|&g| g == 1), got.iter().position(|&g| g == 2)) {
            assert!(a < b, "one producer's elements stay in order: {got:?}");
        }
        got.sort_unstable();
        pushed.sort_unstable();
        assert_eq!(got, pushed, "every pushed element popped exactly once");
        assert_eq!(q.raw.len(), 0);
    });
}

/// Two producers and two consumers race for the same positions; each element is popped by
/// exactly one consumer.
#[test]
fn loom_queue_mpmc_two_producers_two_consumers() {
    loom::model(|| {
        let q = heap(2, true);
        let producers: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let q = q.clone();
                thread::spawn(move || assert!(q.raw.mp_try_push(v as usize, v, true).unwrap(), "room for two"))
            })
            .collect();
        let q2 = q.clone();
        let consumer = thread::spawn(move || q2.raw.mc_try_pop(3).unwrap());
        let mut got: Vec<u64> = q.raw.mc_try_pop(0).unwrap().into_iter().collect();
        got.extend(consumer.join().unwrap());
        for p in producers {
            p.join().unwrap();
        }
        while let Some(v) = q.raw.mc_try_pop(0).unwrap() {
            got.push(v);
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn loom_queue_mpmc_fifo_across_full_and_wrap() {
    loom::model(|| {
        let q = heap(2, true);
        let q2 = q.clone();
        let producer = thread::spawn(move || {
            for v in 1..=3 {
                push_spin(|| q2.raw.mp_try_push(1, v, true));
            }
        });
        let got: Vec<u64> = (0..3).map(|_| pop_spin(|| q.raw.mc_try_pop(0))).collect();
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
        assert_eq!(q.raw.idx().head.0.head.load(Relaxed), START.wrapping_add(3));
    });
}

#[test]
fn loom_queue_mpmc_bulk_with_a_racing_push() {
    loom::model(|| {
        let q = heap(4, true);
        let q2 = q.clone();
        let bulk = thread::spawn(move || {
            let src = [1, 2];
            let mut sent = 0;
            while sent < src.len() {
                let n = q2.raw.mp_push_bulk(1, &src[sent..], true).unwrap();
                if n == 0 {
                    thread::yield_now();
                }
                sent += n;
            }
        });
        let q3 = q.clone();
        let single = thread::spawn(move || push_spin(|| q3.raw.mp_try_push(2, 10, true)));
        let mut got = Vec::new();
        while got.len() < 3 {
            let mut buf = [0; 4];
            let n = q.raw.mc_pop_bulk(0, &mut buf).unwrap();
            if n == 0 {
                thread::yield_now();
            }
            got.extend_from_slice(&buf[..n]);
        }
        bulk.join().unwrap();
        single.join().unwrap();
        let pos = |v| got.iter().position(|&g| g == v).unwrap();
        assert!(pos(1) < pos(2), "{got:?}");
        got.sort_unstable();
        assert_eq!(got, [1, 2, 10]);
    });
}

#[test]
fn loom_queue_mpsc_bulk_pop() {
    loom::model(|| {
        let q = heap(2, true);
        let q2 = q.clone();
        let producer = thread::spawn(move || {
            for v in 1..=3 {
                push_spin(|| q2.raw.mp_try_push(1, v, false));
            }
        });
        let mut rx = q.raw.sc_rx();
        let mut got = Vec::new();
        while got.len() < 3 {
            let mut buf = [0; 2];
            let n = q.raw.sc_pop_bulk(&mut rx, &mut buf).unwrap();
            if n == 0 {
                thread::yield_now();
            }
            got.extend_from_slice(&buf[..n]);
        }
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
    });
}

/// A bulk consumer and a single consumer race for the elements of two producers.
#[test]
fn loom_queue_mpmc_bulk_and_single_consumers() {
    loom::model(|| {
        let q = heap(4, true);
        let producers: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let q = q.clone();
                thread::spawn(move || assert!(q.raw.mp_try_push(v as usize, v, true).unwrap()))
            })
            .collect();
        let q2 = q.clone();
        let bulk = thread::spawn(move || {
            let mut buf = [0; 4];
            let n = q2.raw.mc_pop_bulk(3, &mut buf).unwrap();
            buf[..n].to_vec()
        });
        let mut got: Vec<u64> = q.raw.mc_try_pop(0).unwrap().into_iter().collect();
        got.extend(bulk.join().unwrap());
        for p in producers {
            p.join().unwrap();
        }
        while let Some(v) = q.raw.mc_try_pop(0).unwrap() {
            got.push(v);
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// An MPSC producer blocks on a full queue until the single consumer frees a slot.
#[test]
fn loom_queue_mpsc_blocking_push_and_pop() {
    loom::model(|| {
        let q = heap(2, true);
        let q2 = q.clone();
        let producer = thread::spawn(move || {
            for v in 1..=3 {
                q2.raw.push_blocking(None, || q2.raw.mp_try_push(1, v, false)).unwrap();
            }
        });
        let mut rx = q.raw.sc_rx();
        let got: Vec<u64> = (0..3).map(|_| q.raw.pop_blocking(None, || q.raw.sc_try_pop(&mut rx)).unwrap()).collect();
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
    });
}

/// The blocking handshake: a consumer sleeping on an empty SPSC queue is woken by a push.
#[test]
fn loom_queue_blocking_pop_wakes() {
    loom::model(|| {
        let q = heap(2, false);
        let q2 = q.clone();
        let consumer = thread::spawn(move || {
            let mut rx = q2.raw.spsc_rx().unwrap();
            q2.raw.pop_blocking(None, || q2.raw.spsc_try_pop(&mut rx)).unwrap()
        });
        let mut tx = q.raw.spsc_tx().unwrap();
        assert!(q.raw.spsc_try_push(&mut tx, 7).unwrap());
        assert_eq!(consumer.join().unwrap(), 7);
    });
}

/// Both directions: a producer blocks on a full MPMC queue and a consumer on an empty one;
/// neither misses its wake-up.
#[test]
fn loom_queue_blocking_push_and_pop() {
    loom::model(|| {
        let q = heap(2, true);
        let q2 = q.clone();
        let producer = thread::spawn(move || {
            for v in 1..=3 {
                q2.raw.push_blocking(None, || q2.raw.mp_try_push(1, v, true)).unwrap();
            }
        });
        let got: Vec<u64> = (0..3).map(|_| q.raw.pop_blocking(None, || q.raw.mc_try_pop(0)).unwrap()).collect();
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
    });
}

// --- Recovery from dead processes ---------------------------------------------------------

impl U64Raw {
    /// The first half of a push through lane `lane`: records and claims position `tail`,
    /// then stops for good (the process is killed before it writes the element). Returns
    /// whether the claim succeeded.
    fn push_claim_only(&self, lane: usize) -> bool {
        let raw = &self.0;
        let l = self.lane(lane);
        let op = raw.op(op::PUSH);
        let tail = raw.idx().tail.0.load(Relaxed);
        if raw.seq(tail).load(Acquire) != tail {
            return false;
        }
        l.begin(op, tail, 1);
        let ok = raw.idx().tail.0.compare_exchange(tail, tail.wrapping_add(1), Release, Relaxed).is_ok();
        if ok {
            l.claimed(op);
        }
        ok
    }
    /// The first half of an MPMC pop: claims position `head`, then stops for good.
    fn pop_claim_only(&self, lane: usize) -> bool {
        let raw = &self.0;
        let l = self.lane(lane);
        let op = raw.op(op::POP);
        let head = raw.idx().head.0.head.load(Relaxed);
        if raw.seq(head).load(Acquire) != head.wrapping_add(1) {
            return false;
        }
        l.begin(op, head, 1);
        let ok = raw.idx().head.0.head.compare_exchange(head, head.wrapping_add(1), Release, Relaxed).is_ok();
        if ok {
            l.claimed(op);
        }
        ok
    }
    fn lost(&self) -> u64 {
        self.0.lost()
    }
}

/// A producer dies between claiming a position and writing it, while a live producer pushes
/// 7 (before or after the dead position). Two consumers race to pop until every claimed
/// position is passed, each settling stalls it finds: the dead position becomes one
/// tombstone, counted once, and 7 is delivered exactly once.
#[test]
fn loom_queue_dead_producer_is_settled_once() {
    loom::model(|| {
        let q = heap(2, true);
        let dying = {
            let q = q.clone();
            thread::spawn(move || q.raw.push_claim_only(0))
        };
        let q2 = q.clone();
        let live = thread::spawn(move || push_spin(|| q2.raw.mp_try_push(1, 7, true)));
        let claimed = dying.join().unwrap();
        q.raw.kill(0);
        live.join().unwrap();
        let got = Arc::new(AtomicU64::new(0));
        let consumer = |lane: usize| {
            let (q, got) = (q.clone(), got.clone());
            move || loop {
                if let Some(v) = q.raw.mc_try_pop(lane).unwrap() {
                    assert_eq!(v, 7);
                    got.fetch_add(1, SeqCst);
                    return;
                }
                if got.load(SeqCst) > 0 && q.raw.len() == 0 {
                    return; // 7 taken, and every claimed position passed
                }
                q.raw.0.check_pop_stall();
                thread::yield_now();
            }
        };
        let other = thread::spawn(consumer(3));
        consumer(2)();
        other.join().unwrap();
        assert_eq!(got.load(SeqCst), 1, "7 delivered exactly once");
        assert_eq!(q.raw.lost(), u64::from(claimed), "the dead claim counted once, if it was made");
        assert_eq!(q.raw.mc_try_pop(2).unwrap(), None);
    });
}

/// A consumer dies after claiming an element of a full queue. A producer that needs the slot
/// settles it (one loss) while a live consumer pops the rest: nothing is delivered twice.
#[test]
fn loom_queue_dead_consumer_is_settled() {
    loom::model(|| {
        let q = heap(2, true);
        assert!(q.raw.mp_try_push(1, 1, true).unwrap());
        assert!(q.raw.mp_try_push(1, 2, true).unwrap());
        assert!(q.raw.pop_claim_only(0), "claims element 1");
        q.raw.kill(0);
        let q2 = q.clone();
        let producer = thread::spawn(move || loop {
            if q2.raw.mp_try_push(1, 3, true).unwrap() {
                return;
            }
            q2.raw.0.check_push_stall();
            thread::yield_now();
        });
        let got: Vec<u64> = (0..2).map(|_| pop_spin(|| q.raw.mc_try_pop(2))).collect();
        producer.join().unwrap();
        assert_eq!(got, [2, 3]);
        assert_eq!(q.raw.lost(), 1);
    });
}

/// A dead lane still covers the position a live producer then claims (its owner recorded an
/// attempt at it and died before its compare-and-swap). A consumer settling stalls must see
/// the live claimer's record and leave the position to it: 5 arrives, nothing is lost.
#[test]
fn loom_queue_live_claimer_is_never_overruled() {
    loom::model(|| {
        let q = heap(2, true);
        q.raw.lane(2).begin(q.raw.0.op(op::PUSH), START, 1);
        q.raw.kill(2);
        let q2 = q.clone();
        let producer = thread::spawn(move || assert!(q2.raw.mp_try_push(1, 5, true).unwrap()));
        let v = loop {
            if let Some(v) = q.raw.mc_try_pop(0).unwrap() {
                break v;
            }
            q.raw.0.check_pop_stall();
            thread::yield_now();
        };
        producer.join().unwrap();
        assert_eq!(v, 5);
        assert_eq!(q.raw.lost(), 0);
    });
}

/// An MPSC consumer dies while copying an element out (after `reading`, before its stamp);
/// its successor counts that element lost and goes on with the next, while a producer
/// keeps pushing.
#[test]
fn loom_queue_mpsc_consumer_takeover_counts_the_pop_in_flight() {
    loom::model(|| {
        let q = heap(2, true);
        assert!(q.raw.mp_try_push(1, 1, true).unwrap());
        assert!(q.raw.mp_try_push(1, 2, true).unwrap());
        let raw = &q.raw.0;
        raw.idx().head.0.reading.store(START.wrapping_add(1), Relaxed); // died copying 1
        let q2 = q.clone();
        let producer = thread::spawn(move || push_spin(|| q2.raw.mp_try_push(1, 3, false)));
        let (mut rx, lost) = raw.sc_rx().unwrap();
        assert_eq!(lost, 1);
        let got: Vec<u64> = (0..2).map(|_| pop_spin(|| q.raw.sc_try_pop(&mut rx))).collect();
        producer.join().unwrap();
        assert_eq!(got, [2, 3]);
        assert_eq!(q.raw.lost(), 1);
    });
}

/// An SPSC producer dies after stamping element 1 but before storing `tail`: the consumer
/// may already have it, so the successor must resume after it, not overwrite it. While the
/// consumer pops concurrently, the successor pushes 2: 1 and 2 arrive once each, in order.
#[test]
fn loom_queue_spsc_producer_takeover_keeps_a_stamped_element() {
    loom::model(|| {
        let q = heap(2, false);
        // SAFETY: position START is free and nobody else produces.
        unsafe { q.raw.0.spsc_put(START, 1u64.as_bytes().as_ptr()) };
        let q2 = q.clone();
        let consumer = thread::spawn(move || {
            let mut rx = q2.raw.spsc_rx().unwrap();
            (0..2).map(|_| pop_spin(|| q2.raw.spsc_try_pop(&mut rx))).collect::<Vec<_>>()
        });
        let mut tx = q.raw.spsc_tx().unwrap();
        push_spin(|| q.raw.spsc_try_push(&mut tx, 2));
        assert_eq!(consumer.join().unwrap(), [1, 2]);
    });
}

/// A producer killed after stamping a slot but before storing `tail`, whose element the consumer
/// has already popped: `head` is past `tail`. The successor resumes at `head` (it must not
/// refuse the queue as corrupt, nor write the consumed position again); its push arrives once.
#[test]
fn loom_queue_spsc_producer_takeover_after_the_consumer_popped_past_tail() {
    loom::model(|| {
        let q = heap(2, false);
        // SAFETY: position START is free and nobody else produces.
        unsafe { q.raw.0.spsc_put(START, 1u64.as_bytes().as_ptr()) };
        let mut rx = q.raw.spsc_rx().unwrap();
        assert_eq!(q.raw.spsc_try_pop(&mut rx).unwrap(), Some(1));
        let q2 = q.clone();
        let consumer = thread::spawn(move || pop_spin(|| q2.raw.spsc_try_pop(&mut rx)));
        let mut tx = q.raw.spsc_tx().unwrap();
        assert_eq!(tx.tail, START.wrapping_add(1));
        push_spin(|| q.raw.spsc_try_push(&mut tx, 2));
        assert_eq!(consumer.join().unwrap(), 2);
    });
}

/// The same for an SPSC consumer: the successor skips the element in flight.
#[test]
fn loom_queue_spsc_consumer_takeover_counts_the_pop_in_flight() {
    loom::model(|| {
        let q = heap(2, false);
        let mut tx = q.raw.spsc_tx().unwrap();
        assert!(q.raw.spsc_try_push(&mut tx, 1).unwrap());
        q.raw.0.idx().head.0.reading.store(START.wrapping_add(1), Relaxed);
        let q2 = q.clone();
        let producer = thread::spawn(move || {
            for v in [2, 3] {
                push_spin(|| q2.raw.spsc_try_push(&mut tx, v));
            }
        });
        let (mut rx, lost) = q.raw.0.spsc_rx().unwrap();
        assert_eq!(lost, 1);
        let got: Vec<u64> = (0..2).map(|_| pop_spin(|| q.raw.spsc_try_pop(&mut rx))).collect();
        producer.join().unwrap();
        assert_eq!(got, [2, 3]);
    });
}

// --- Closing (`close.rs`) ---------------------------------------------------------------------

fn closed<T: std::fmt::Debug>(r: R<T>) -> bool {
    match r {
        Err(Halt::Closed) => true,
        Err(Halt::Corrupt(c)) => panic!("corrupt: {c:?}"),
        Ok(_) => false,
    }
}

/// Pops (MPMC, lane 0) until `Closed`, once every other thread has stopped: nothing may be in
/// flight then, so an empty queue that is not reported closed is a bug.
fn drain_mc(q: &Heap, got: &mut Vec<u64>) {
    loop {
        match q.raw.mc_try_pop(0) {
            Ok(Some(v)) => got.push(v),
            Ok(None) => panic!("empty but not closed, with no push in flight"),
            Err(Halt::Closed) => return,
            Err(Halt::Corrupt(c)) => panic!("corrupt: {c:?}"),
        }
    }
}

/// Two producers race a closer while a consumer pops: each push either succeeds (and its element
/// is popped exactly once before the consumer sees `Closed`) or fails with `Closed`; none finds
/// the queue full; a push after the close fails.
#[test]
fn loom_queue_close_is_exact_with_racing_producers() {
    loom::model(|| {
        let q = heap(2, true);
        let producers: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|v| {
                let q = q.clone();
                thread::spawn(move || match q.raw.mp_try_push(v as usize, v, true) {
                    Ok(true) => Some(v),
                    Ok(false) => panic!("full with room for both"),
                    r => {
                        assert!(closed(r));
                        None
                    }
                })
            })
            .collect();
        let q2 = q.clone();
        let closer = thread::spawn(move || q2.raw.mp_close());
        let mut got = Vec::new();
        match q.raw.mc_try_pop(0) {
            Ok(v) => got.extend(v),
            r => assert!(closed(r)),
        }
        let mut pushed: Vec<u64> = producers.into_iter().filter_map(|p| p.join().unwrap()).collect();
        closer.join().unwrap();
        drain_mc(&q, &mut got);
        assert!(closed(q.raw.mp_try_push(3, 9, true)), "a push after the close fails");
        got.sort_unstable();
        pushed.sort_unstable();
        assert_eq!(got, pushed, "exactly the pushes that succeeded are delivered, once");
        assert_eq!(q.raw.len(), 0);
    });
}

/// A closer that dies after `CLOSING` (its jump never made): a producer racing it and the
/// consumer settle the close themselves; the books balance as above.
#[test]
fn loom_queue_close_left_half_done_is_settled_by_survivors() {
    loom::model(|| {
        let q = heap(2, true);
        let q2 = q.clone();
        let producer = thread::spawn(move || match q2.raw.mp_try_push(1, 1, true) {
            Ok(true) => Some(1),
            Ok(false) => panic!("full with room"),
            r => {
                assert!(closed(r));
                None
            }
        });
        let q3 = q.clone();
        let dead_closer = thread::spawn(move || q3.raw.idx().closed.store(CLOSING, Release));
        let mut got = Vec::new();
        match q.raw.mc_try_pop(0) {
            Ok(v) => got.extend(v),
            r => assert!(closed(r)),
        }
        let pushed: Vec<u64> = producer.join().unwrap().into_iter().collect();
        dead_closer.join().unwrap();
        drain_mc(&q, &mut got);
        assert_eq!(got, pushed);
        assert!(closed(q.raw.mp_try_push(2, 2, true)));
    });
}

/// The SPSC producer pushes two elements and closes while the consumer pops: the consumer gets
/// both, in order, then `Closed`; the producer's next push fails.
#[test]
fn loom_queue_spsc_close_delivers_everything_before_it() {
    loom::model(|| {
        let q = heap(2, false);
        let q2 = q.clone();
        let producer = thread::spawn(move || {
            let mut tx = q2.raw.spsc_tx().unwrap();
            assert!(q2.raw.spsc_try_push(&mut tx, 1).unwrap());
            assert!(q2.raw.spsc_try_push(&mut tx, 2).unwrap());
            q2.raw.spsc_close(&mut tx);
            assert!(closed(q2.raw.spsc_try_push(&mut tx, 3)));
        });
        let mut rx = q.raw.spsc_rx().unwrap();
        let mut got: Vec<u64> = q.raw.spsc_try_pop(&mut rx).unwrap().into_iter().collect();
        producer.join().unwrap();
        loop {
            match q.raw.spsc_try_pop(&mut rx) {
                Ok(Some(v)) => got.push(v),
                r => {
                    assert!(closed(r), "empty but not closed after the close");
                    break;
                }
            }
        }
        assert_eq!(got, [1, 2]);
        // A successor producer learns of the close from the segment.
        let mut tx = q.raw.spsc_tx().unwrap();
        assert!(closed(q.raw.spsc_try_push(&mut tx, 4)));
    });
}

/// A consumer asleep in a blocking pop with no timeout is woken by the close and gets `Closed`.
#[test]
fn loom_queue_close_wakes_a_blocked_consumer() {
    loom::model(|| {
        let q = heap(2, true);
        let q2 = q.clone();
        let closer = thread::spawn(move || q2.raw.mp_close());
        let r = q.raw.pop_blocking(None, || q.raw.mc_try_pop(0));
        assert!(matches!(r, Err(Blocked::Closed)), "{r:?}");
        closer.join().unwrap();
    });
}
