//! Models of the ring: elements are two words, `[seq, seq ^ CHECK]`, each copied with its own
//! relaxed atomic, so a torn or overwritten copy is visible to the checks.

use super::core::*;
use super::*;
use loom::sync::Arc;
use loom::thread;

const CHECK: u64 = 0x5A5A_5A5A_5A5A_5A5A;

fn elem(seq: u64) -> [u64; 2] {
    [seq, seq ^ CHECK]
}

fn seq_of(e: [u64; 2]) -> u64 {
    assert_eq!(e[1], e[0] ^ CHECK, "torn element {e:?}");
    e[0]
}

struct HeapSlots(Vec<AtomicU64>);

impl Slots for HeapSlots {
    type Elem = [u64; 2];
    fn store(&self, first: usize, src: &[[u64; 2]]) {
        for (i, e) in src.iter().enumerate() {
            self.0[2 * (first + i)].store(e[0], Relaxed);
            self.0[2 * (first + i) + 1].store(e[1], Relaxed);
        }
    }
    fn load(&self, first: usize, dst: &mut [[u64; 2]]) {
        for (i, e) in dst.iter_mut().enumerate() {
            *e = [self.0[2 * (first + i)].load(Relaxed), self.0[2 * (first + i) + 1].load(Relaxed)];
        }
    }
}

struct Mem {
    p: ProducerSide,
    c: ConsumerSide,
    data_ready: EventCount,
    space_ready: EventCount,
}

struct TestRing {
    core: Core<HeapSlots>,
    _mem: Box<Mem>,
}

/// A ring of `cap` slots whose positions start at `start` (so runs wrap at odd places).
fn ring(cap: u64, overwrite: bool, start: u64) -> Arc<TestRing> {
    let mem = Box::new(Mem {
        p: ProducerSide::at(start),
        c: ConsumerSide::at(start),
        data_ready: EventCount::new(),
        space_ready: EventCount::new(),
    });
    let slots = HeapSlots((0..2 * cap).map(|_| AtomicU64::new(0)).collect());
    // SAFETY: the pointers are into `mem`, a box owned by the same `TestRing` as the core.
    let core = unsafe {
        Core::new(
            NonNull::from(&mem.p),
            NonNull::from(&mem.c),
            NonNull::from(&mem.data_ready),
            NonNull::from(&mem.space_ready),
            slots,
            cap,
            overwrite,
        )
    };
    Arc::new(TestRing { core, _mem: mem })
}

/// Lossless, blocking on both sides: 3 elements through 2 slots arrive exactly once, in order.
#[test]
fn loom_ring_lossless_blocking_exactly_once() {
    loom::model(|| {
        let r = ring(2, false, 0);
        let r2 = r.clone();
        let mut tx = r.core.producer_state().unwrap();
        let producer = thread::spawn(move || {
            r2.core.push(&mut tx, &[elem(0)], Deadline::after(None)).unwrap().unwrap();
            let mut rest = &[elem(1), elem(2)][..];
            while !rest.is_empty() {
                let n = r2.core.push(&mut tx, rest, Deadline::after(None)).unwrap().unwrap();
                rest = &rest[n..];
            }
        });
        let mut st = r.core.consumer_state().unwrap();
        for want in 0..3 {
            let mut v = [[0; 2]];
            assert_eq!(r.core.pop(&mut st, &mut v, Deadline::after(None)).unwrap(), Ok(1));
            assert_eq!(seq_of(v[0]), want);
        }
        producer.join().unwrap();
        assert_eq!(st.missed, 0);
    });
}

/// A consumer dies copying element 0 out (after storing `reading`, before `read_pos`); its
/// successor, taking over while the producer keeps pushing, skips element 0 as lost and
/// delivers the rest exactly once, in order.
#[test]
fn loom_ring_consumer_takeover_skips_the_pop_in_flight() {
    loom::model(|| {
        let r = ring(2, false, 0);
        let mut tx = r.core.producer_state().unwrap();
        assert_eq!(r.core.try_push(&mut tx, &[elem(0)]), Ok(1));
        r.core.c().reading.store(1, Relaxed); // the dead consumer's pop of position 0
        let r2 = r.clone();
        let producer = thread::spawn(move || {
            for seq in 1..3 {
                r2.core.push(&mut tx, &[elem(seq)], Deadline::after(None)).unwrap().unwrap();
            }
        });
        let mut st = r.core.consumer_state().unwrap();
        assert_eq!(st.lost_on_takeover(), 1);
        for want in 1..3 {
            let mut v = [[0; 2]];
            assert_eq!(r.core.pop(&mut st, &mut v, Deadline::after(None)).unwrap(), Ok(1));
            assert_eq!(seq_of(v[0]), want);
        }
        producer.join().unwrap();
        assert_eq!((st.delivered(), r.core.lost()), (2, 1), "delivered + lost = written");
    });
}

/// Lossless bulk transfers through 3 slots starting at position 2 (runs split at the end of
/// the slot array): 4 elements exactly once, in order, without blocking.
#[test]
fn loom_ring_lossless_bulk_wraps() {
    loom::model(|| {
        let r = ring(3, false, 2);
        let r2 = r.clone();
        let mut tx = r.core.producer_state().unwrap();
        let producer = thread::spawn(move || {
            let all = [elem(0), elem(1), elem(2), elem(3)];
            let mut rest = &all[..];
            while !rest.is_empty() {
                let n = r2.core.try_push(&mut tx, rest).unwrap();
                rest = &rest[n..];
                if n == 0 {
                    thread::yield_now();
                }
            }
        });
        let mut st = r.core.consumer_state().unwrap();
        let mut got = Vec::new();
        while got.len() < 4 {
            let mut buf = [[0; 2]; 2];
            let n = r.core.try_pop(&mut st, &mut buf, true).unwrap();
            got.extend(buf[..n].iter().map(|e| seq_of(*e)));
            if n == 0 {
                thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert_eq!(got, [0, 1, 2, 3]);
    });
}

/// Overwrite mode: a writer pushes 4 elements into 2 slots while the reader pops `batch` at
/// a time. Every element the reader accepts is intact and exactly the next one after those
/// it was told it missed; delivered + missed = written.
fn overwrite_model(trust_copies: bool, batch: usize) {
    loom::model(move || {
        let mut r = ring(2, true, 0);
        Arc::get_mut(&mut r).unwrap().core.trust_copies = trust_copies;
        let r2 = r.clone();
        let mut tx = r.core.producer_state().unwrap();
        let writer = thread::spawn(move || {
            for seq in 0..4 {
                assert_eq!(r2.core.try_push(&mut tx, &[elem(seq)]), Ok(1), "overwrite never refuses");
            }
        });
        let mut st = r.core.consumer_state().unwrap();
        let (mut next, mut delivered) = (0, 0);
        while delivered + st.missed < 4 {
            let before = st.missed;
            let mut buf = [[0; 2]; 2];
            let n = r.core.try_pop(&mut st, &mut buf[..batch], true).unwrap();
            if n == 0 {
                assert_eq!(next + (st.missed - before), st.read, "missed counts what was skipped");
                next = st.read;
                thread::yield_now();
                continue;
            }
            next += st.missed - before;
            for e in &buf[..n] {
                assert_eq!(seq_of(*e), next, "accepted an overwritten element");
                next += 1;
            }
            delivered += n as u64;
        }
        writer.join().unwrap();
        assert_eq!(delivered + st.missed, 4);
        assert_eq!(r.core.missed(), st.missed);
        assert_eq!(r.core.read_pos(), 4);
    });
}

#[test]
fn loom_ring_overwrite_counts_misses_exactly() {
    overwrite_model(false, 1);
}

#[test]
fn loom_ring_overwrite_bulk_counts_misses_exactly() {
    overwrite_model(false, 2);
}

/// The same model with the reader's validation switched off fails: the models can see a
/// torn or overwritten copy, so the passing models above are meaningful.
#[test]
#[should_panic]
fn loom_ring_overwrite_without_validation_is_caught() {
    overwrite_model(true, 1);
}

/// An observer's `last_n` during overwriting writes: consecutive, intact, committed elements.
fn observer_model(trust_copies: bool) {
    loom::model(move || {
        let mut r = ring(2, true, 0);
        Arc::get_mut(&mut r).unwrap().core.trust_copies = trust_copies;
        let r2 = r.clone();
        let mut tx = r.core.producer_state().unwrap();
        let writer = thread::spawn(move || {
            for seq in 0..3 {
                r2.core.try_push(&mut tx, &[elem(seq)]).unwrap();
            }
        });
        let mut buf = [[0; 2]; 2];
        let k = r.core.last_n(&mut buf);
        let seqs: Vec<u64> = buf[..k].iter().map(|e| seq_of(*e)).collect();
        for w in seqs.windows(2) {
            assert_eq!(w[1], w[0] + 1, "consecutive");
        }
        writer.join().unwrap();
        if let Some(last) = seqs.last() {
            assert!(*last < 3);
        }
        // Quiescent: exactly the newest two.
        assert_eq!(r.core.last_n(&mut buf), 2);
        assert_eq!([seq_of(buf[0]), seq_of(buf[1])], [1, 2]);
    });
}

#[test]
fn loom_ring_observer_last_n_is_intact() {
    observer_model(false);
}

/// Without validation the observer model fails too.
#[test]
#[should_panic]
fn loom_ring_observer_without_validation_is_caught() {
    observer_model(true);
}

/// A producer pushes two elements into two slots and closes, racing a consumer that pops (with
/// `try_pop`, or blocking) until `Closed`: every element sent is received exactly once (or, in
/// overwrite mode, counted missed), in order; `Closed` comes only after all of them; a push
/// after the close fails, and nothing is pushed.
fn close_model(overwrite: bool, blocking: bool) {
    loom::model(move || {
        let r = ring(2, overwrite, 0);
        let r2 = r.clone();
        let mut tx = r.core.producer_state().unwrap();
        // The producer pushes 0 and 1, then closes, racing the consumer; then a push fails.
        let producer = thread::spawn(move || {
            let mut sent = 0;
            for seq in 0..2 {
                if r2.core.try_push(&mut tx, &[elem(seq)]) == Ok(1) {
                    sent += 1;
                }
            }
            r2.core.close(&mut tx);
            assert_eq!(r2.core.try_push(&mut tx, &[elem(9)]), Err(Closed), "a push after the close");
            assert_eq!(r2.core.push(&mut tx, &[elem(9)], Deadline::after(None)).unwrap(), Err(Closed));
            sent
        });
        let mut st = r.core.consumer_state().unwrap();
        let mut got = Vec::new();
        loop {
            let mut v = [[0; 2]];
            let res = if blocking {
                r.core.pop(&mut st, &mut v, Deadline::after(None)).unwrap()
            } else {
                r.core.try_pop(&mut st, &mut v, true)
            };
            match res {
                Ok(1) => got.push(seq_of(v[0])),
                Ok(_) => thread::yield_now(),
                Err(Closed) => break,
            }
        }
        let sent = producer.join().unwrap();
        // Closed only after everything sent: every element sent is received exactly once (in
        // overwrite mode: received or counted missed), in order.
        assert_eq!(got.len() as u64 + st.missed, sent);
        assert!(got.windows(2).all(|w| w[1] > w[0]), "in order: {got:?}");
        assert_eq!(got.last().copied(), sent.checked_sub(1), "the last element is delivered");
        assert!(r.core.finished(&st));
        let mut v = [[0; 2]];
        assert_eq!(r.core.try_pop(&mut st, &mut v, true), Err(Closed), "closed stays closed");
    });
}

#[test]
fn loom_ring_close_delivers_everything_sent_before() {
    close_model(false, false);
}

#[test]
fn loom_ring_close_wakes_a_blocked_consumer() {
    close_model(false, true);
}

#[test]
fn loom_ring_close_overwrite_drains_then_closes() {
    close_model(true, true);
}

/// A producer that takes the role of a closed ring over finds it closed: nothing is pushed.
#[test]
fn loom_ring_close_is_seen_by_a_successor() {
    loom::model(|| {
        let r = ring(2, false, 0);
        let mut tx = r.core.producer_state().unwrap();
        assert_eq!(r.core.try_push(&mut tx, &[elem(0)]), Ok(1));
        r.core.close(&mut tx);
        r.core.close(&mut tx); // idempotent
        let mut successor = r.core.producer_state().unwrap();
        assert_eq!(r.core.try_push(&mut successor, &[elem(1)]), Err(Closed));
        let mut st = r.core.consumer_state().unwrap();
        let mut v = [[0; 2]];
        assert_eq!(r.core.try_pop(&mut st, &mut v, true), Ok(1));
        assert_eq!(seq_of(v[0]), 0);
        assert_eq!(r.core.try_pop(&mut st, &mut v, true), Err(Closed));
    });
}
