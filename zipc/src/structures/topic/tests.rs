//! Models of the topic. Lossless samples are one `u64` in a loom `UnsafeCell` per slot, written
//! and read in place exactly as loans and received samples are: loom fails a model if the
//! publisher's write of a slot and a subscriber's read of it are not ordered by the protocol.
//! Lossy samples are two words, `[pos, pos ^ CHECK]`, each copied with its own relaxed atomic,
//! so a torn copy is visible to the checks.

use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

use super::core::*;
use crate::sys::atomics::{AtomicU64, UnsafeCell};
use crate::sys::event_count::EventCount;
use crate::sys::futex::Deadline;
use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use loom::thread;

const CHECK: u64 = 0x5A5A_5A5A_5A5A_5A5A;

struct HeapSlots {
    seq: Vec<AtomicU64>,
    cells: Vec<UnsafeCell<u64>>,
    words: Vec<[AtomicU64; 2]>,
}

impl Slots for Arc<HeapSlots> {
    type Elem = [u64; 2];
    fn seq(&self, slot: usize) -> &AtomicU64 {
        &self.seq[slot]
    }
    fn store(&self, slot: usize, src: &[[u64; 2]]) {
        self.words[slot][0].store(src[0][0], Relaxed);
        self.words[slot][1].store(src[0][1], Relaxed);
    }
    fn load(&self, slot: usize, dst: &mut [[u64; 2]]) {
        dst[0] = [self.words[slot][0].load(Relaxed), self.words[slot][1].load(Relaxed)];
    }
}

/// Owners are 1 + a participant number; `dead[i]` kills participant `i`.
#[derive(Clone)]
struct Switches {
    me: u64,
    dead: Arc<Vec<AtomicBool>>,
}

impl Liveness for Switches {
    fn me(&self) -> u64 {
        self.me
    }
    fn alive(&self, owner: u64) -> bool {
        !self.dead[(owner - 1) as usize].load(SeqCst)
    }
}

struct Mem {
    p: PublisherLine,
    close: CloseLine,
    c: ControlLine,
    records: Vec<Record>,
}

struct Model {
    mem: Arc<Mem>,
    slots: Arc<HeapSlots>,
    dead: Arc<Vec<AtomicBool>>,
    cap: u64,
    history: u64,
    lossy: bool,
}

impl Model {
    fn new(cap: u64, subscribers: usize, history: u64, lossy: bool) -> Arc<Model> {
        let z = || AtomicU64::new(0);
        let mem = Arc::new(Mem {
            p: PublisherLine { write_pos: z() },
            close: CloseLine { end: z(), closed: z() },
            c: ControlLine { floor: z(), data_ready: EventCount::new(), space_ready: EventCount::new(), released: z() },
            records: (0..subscribers)
                .map(|_| Record { owner: z(), cursor: z(), missed: z(), active: z(), joined: z() })
                .collect(),
        });
        let slots = Arc::new(HeapSlots {
            seq: (0..cap).map(|_| z()).collect(),
            cells: (0..cap).map(|_| UnsafeCell::new(0)).collect(),
            words: (0..cap).map(|_| [z(), z()]).collect(),
        });
        let dead = Arc::new((0..4).map(|_| AtomicBool::new(false)).collect());
        Arc::new(Model { mem, slots, dead, cap, history, lossy })
    }

    /// The core as participant `who` (0 is the publisher) sees it.
    fn core(&self, who: u64) -> Core<Arc<HeapSlots>, Switches> {
        let m = &*self.mem;
        // SAFETY: the pointers are into `mem`, which the model keeps alive as long as its cores
        // (every thread holds the model's `Arc`).
        unsafe {
            Core::new(
                NonNull::from(&m.p),
                NonNull::from(&m.close),
                NonNull::from(&m.c),
                NonNull::from(&m.records[0]).cast(),
                std::mem::size_of::<Record>(),
                m.records.len(),
                self.slots.clone(),
                self.cap,
                self.history,
                self.lossy,
                Switches { me: who + 1, dead: self.dead.clone() },
            )
        }
    }

    /// Publishes position `w` in place, waiting for space.
    fn publish_in_place(&self, core: &Core<Arc<HeapSlots>, Switches>, st: &mut PubState) {
        core.reserve(st, Deadline::after(None), std::time::Duration::from_secs(1)).unwrap().unwrap();
        let w = st.write;
        self.slots.cells[core.slot(w)].with_mut(|p| {
            // SAFETY: loom checks that nothing else accesses the cell meanwhile.
            unsafe { *p = w * 10 }
        });
        core.publish(st);
    }

    /// Receives the next sample in place, returning its value and position.
    fn receive_in_place(&self, core: &Core<Arc<HeapSlots>, Switches>, st: &mut SubState) -> (u64, u64) {
        let slot = core.wait_ready(st, Deadline::after(None)).unwrap().unwrap();
        let pos = st.cursor;
        // SAFETY: loom checks that nothing else writes the cell meanwhile.
        let v = self.slots.cells[slot].with(|p| unsafe { *p });
        core.release(st);
        (v, pos)
    }
}

/// Lossless: 3 samples through 2 slots to a subscriber joined first: it receives every sample
/// once, in order, and never reads a slot while the publisher writes it.
#[test]
fn loom_topic_lossless_exactly_once() {
    loom::model(|| {
        let m = Model::new(2, 1, 0, false);
        let core = m.core(1);
        let mut sub = core.join().unwrap();
        let reader = {
            let m = m.clone();
            thread::spawn(move || {
                for p in 0..3 {
                    assert_eq!(m.receive_in_place(&core, &mut sub), (p * 10, p));
                }
                core.leave(&sub);
            })
        };
        let core = m.core(0);
        let mut st = core.publisher_state().unwrap();
        for _ in 0..3 {
            m.publish_in_place(&core, &mut st);
        }
        reader.join().unwrap();
    });
}

/// Lossless: 2 samples through 1 slot to two subscribers: the slot is rewritten only after both
/// released it (the smallest cursor counts).
#[test]
fn loom_topic_lossless_waits_for_the_slowest_subscriber() {
    loom::model(|| {
        let m = Model::new(1, 2, 0, false);
        let readers: Vec<_> = (1..=2)
            .map(|who| {
                let core = m.core(who);
                let mut sub = core.join().unwrap();
                let m = m.clone();
                thread::spawn(move || {
                    for p in 0..2 {
                        assert_eq!(m.receive_in_place(&core, &mut sub), (p * 10, p));
                    }
                })
            })
            .collect();
        let core = m.core(0);
        let mut st = core.publisher_state().unwrap();
        for _ in 0..2 {
            m.publish_in_place(&core, &mut st);
        }
        for r in readers {
            r.join().unwrap();
        }
    });
}

/// Lossless, a subscriber joining while the publisher writes 3 samples through 2 slots with
/// history 1: it receives a contiguous run of positions ending at the last one, starting no
/// later than `published - history` at its join, and never reads a slot being rewritten (the
/// floor protocol).
#[test]
fn loom_topic_late_joiner_reads_only_intact_history() {
    loom::model(|| {
        let m = Model::new(2, 1, 1, false);
        let joiner = {
            let m = m.clone();
            thread::spawn(move || {
                let core = m.core(1);
                let mut st = core.join().unwrap();
                let first = st.cursor;
                assert!(first <= 3);
                while st.cursor < 3 {
                    let (v, p) = m.receive_in_place(&core, &mut st);
                    assert_eq!(v, p * 10);
                }
                assert_eq!(st.received(), 3 - first);
                core.leave(&st);
            })
        };
        let core = m.core(0);
        let mut st = core.publisher_state().unwrap();
        for _ in 0..3 {
            m.publish_in_place(&core, &mut st);
        }
        joiner.join().unwrap();
    });
}

/// Lossless: a subscriber that leaves while holding a sample (peeked, not released) frees the
/// publisher; the publisher never rewrites the slot while it is being read.
#[test]
fn loom_topic_subscriber_leaving_with_a_loan() {
    loom::model(|| {
        let m = Model::new(2, 1, 0, false);
        let sub_core = m.core(1);
        let mut sub = sub_core.join().unwrap();
        let reader = {
            let m = m.clone();
            thread::spawn(move || {
                let slot = sub_core.wait_ready(&mut sub, Deadline::after(None)).unwrap().unwrap();
                // SAFETY: loom checks the access.
                let v = m.slots.cells[slot].with(|p| unsafe { *p });
                assert_eq!(v, 0);
                sub_core.leave(&sub); // without releasing
            })
        };
        let core = m.core(0);
        let mut st = core.publisher_state().unwrap();
        for _ in 0..3 {
            m.publish_in_place(&core, &mut st);
        }
        reader.join().unwrap();
    });
}

/// Lossless: a subscriber whose process died holding samples is released by the publisher
/// (counted once), which then goes on; a new subscriber can take the freed record.
#[test]
fn loom_topic_dead_subscriber_is_released() {
    loom::model(|| {
        let m = Model::new(2, 1, 0, false);
        let dead_core = m.core(1);
        let mut dead = dead_core.join().unwrap();
        let victim = {
            let m = m.clone();
            thread::spawn(move || {
                // Receives one sample in place, then dies holding it.
                if let Next::Ready { slot } = dead_core.peek(&mut dead) {
                    // SAFETY: loom checks the access.
                    let v = m.slots.cells[slot].with(|p| unsafe { *p });
                    assert_eq!(v, 0);
                }
                m.dead[1].store(true, SeqCst);
            })
        };
        let core = m.core(0);
        let mut st = core.publisher_state().unwrap();
        for _ in 0..3 {
            // The death may come at any time: spin on the non-blocking reservation, which
            // checks the laggard's liveness.
            while core.try_reserve(&mut st, true).is_err() {
                thread::yield_now();
            }
            let w = st.write;
            // SAFETY: loom checks the access.
            m.slots.cells[core.slot(w)].with_mut(|p| unsafe { *p = w * 10 });
            core.publish(&mut st);
        }
        victim.join().unwrap();
        assert_eq!(core.released(), 1);
        let again = m.core(2).join().expect("the freed record can be joined");
        assert_eq!(again.record, 0);
    });
}

/// Lossy: 4 samples through 2 slots while a subscriber copies: what it receives is intact and
/// in order, and received + missed = published once it has caught up.
#[test]
fn loom_topic_lossy_counts_every_skip() {
    loom::model(|| {
        let m = Model::new(2, 1, 0, true);
        let sub_core = m.core(1);
        let mut sub = sub_core.join().unwrap();
        let publisher = {
            let m = m.clone();
            thread::spawn(move || {
                let core = m.core(0);
                let mut st = core.publisher_state().unwrap();
                for p in 0..4u64 {
                    core.write_lossy(&mut st, &[[p, p ^ CHECK]]).unwrap();
                }
            })
        };
        let mut last = None;
        let mut take = |sub: &mut SubState| {
            let mut e = [[0u64; 2]];
            if sub_core.try_copy(sub, &mut e).unwrap() {
                assert_eq!(e[0][1], e[0][0] ^ CHECK, "torn sample {:?}", e[0]);
                assert!(last.is_none_or(|l| e[0][0] > l), "out of order");
                assert_eq!(e[0][0], sub.cursor - 1, "a sample's value is its position");
                last = Some(e[0][0]);
                true
            } else {
                false
            }
        };
        take(&mut sub);
        publisher.join().unwrap();
        while take(&mut sub) {}
        assert_eq!(sub.cursor, 4);
        assert_eq!(sub.received() + sub.missed, 4);
    });
}

/// A publisher that died between stamping a slot and storing `write_pos`: its successor steps
/// over the published sample instead of rewriting it.
#[test]
fn loom_topic_successor_steps_over_a_stamped_slot() {
    loom::model(|| {
        let m = Model::new(4, 1, 0, false);
        let core = m.core(0);
        let mut st = core.publisher_state().unwrap();
        core.try_reserve(&mut st, false).unwrap();
        core.publish(&mut st);
        // The predecessor stamps position 1 and dies before publishing `write_pos`.
        m.slots.seq[1].store(2, SeqCst);
        let successor = core.publisher_state().unwrap();
        assert_eq!(successor.write, 2);
        assert_eq!(core.write_pos(), 2);
    });
}

/// Lossless: the publisher publishes 2 samples through 2 slots in place and closes, racing a
/// subscriber that receives (blocking) until `Closed`: it receives both exactly once, in order,
/// and `Closed` only after them; a loan or a send after the close fails. (A topic has one
/// publisher, so no publication can race the close from another writer: a publication is
/// before the close in the publisher's own order, or refused.)
#[test]
fn loom_topic_close_delivers_everything_published_before() {
    loom::model(|| {
        let m = Model::new(2, 1, 0, false);
        let core = m.core(1);
        let mut sub = core.join().unwrap();
        let reader = {
            let m = m.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    match core.wait_ready(&mut sub, Deadline::after(None)).unwrap() {
                        Ok(slot) => {
                            let pos = sub.cursor;
                            // SAFETY: loom checks that nothing else writes the cell meanwhile.
                            let v = m.slots.cells[slot].with(|p| unsafe { *p });
                            assert_eq!(v, pos * 10);
                            got.push(pos);
                            core.release(&mut sub);
                        }
                        Err(Closed) => break,
                    }
                }
                assert_eq!(got, [0, 1], "everything published before the close, once, in order");
                assert!(core.finished(&sub));
                assert_eq!(core.peek(&mut sub), Next::Closed, "closed stays closed");
                core.leave(&sub);
            })
        };
        let core = m.core(0);
        let mut st = core.publisher_state().unwrap();
        for _ in 0..2 {
            m.publish_in_place(&core, &mut st);
        }
        core.close(&mut st);
        assert_eq!(core.try_reserve(&mut st, true), Err(Blocked { laggard: None, closed: true }));
        let r = core.reserve(&mut st, Deadline::after(None), std::time::Duration::from_secs(1)).unwrap();
        assert_eq!(r, Err(Closed));
        reader.join().unwrap();
        assert_eq!(core.write_pos(), 2, "nothing published after the close");
    });
}

/// Lossy: 3 samples through 2 slots, then the close, racing a subscriber copying until
/// `Closed`: what it receives is intact and in order, received + missed = published, and
/// `Closed` comes only once it has caught up; a send after the close fails.
#[test]
fn loom_topic_close_lossy_drains_then_closes() {
    loom::model(|| {
        let m = Model::new(2, 1, 0, true);
        let sub_core = m.core(1);
        let mut sub = sub_core.join().unwrap();
        let publisher = {
            let m = m.clone();
            thread::spawn(move || {
                let core = m.core(0);
                let mut st = core.publisher_state().unwrap();
                for p in 0..3u64 {
                    core.write_lossy(&mut st, &[[p, p ^ CHECK]]).unwrap();
                }
                core.close(&mut st);
                assert_eq!(core.write_lossy(&mut st, &[[9, 9 ^ CHECK]]), Err(Closed));
            })
        };
        let mut last = None;
        loop {
            let mut e = [[0u64; 2]];
            match sub_core.copy(&mut sub, &mut e, Deadline::after(None)).unwrap() {
                Ok(()) => {
                    assert_eq!(e[0][1], e[0][0] ^ CHECK, "torn sample {:?}", e[0]);
                    assert!(last.is_none_or(|l| e[0][0] > l), "out of order");
                    last = Some(e[0][0]);
                }
                Err(Closed) => break,
            }
        }
        publisher.join().unwrap();
        assert_eq!(sub.cursor, 3);
        assert_eq!(sub.received() + sub.missed, 3);
        assert_eq!(last, Some(2), "the last sample is delivered");
    });
}

/// A subscriber joining while the publisher publishes 2 samples and closes (history 1): it
/// receives a contiguous run ending at the last sample, then `Closed`; joining a closed topic
/// is allowed.
#[test]
fn loom_topic_close_racing_a_joiner() {
    loom::model(|| {
        let m = Model::new(2, 1, 1, false);
        let joiner = {
            let m = m.clone();
            thread::spawn(move || {
                let core = m.core(1);
                let mut st = core.join().unwrap();
                let first = st.cursor;
                let mut next = first;
                loop {
                    match core.wait_ready(&mut st, Deadline::after(None)).unwrap() {
                        Ok(slot) => {
                            // SAFETY: loom checks the access.
                            let v = m.slots.cells[slot].with(|p| unsafe { *p });
                            assert_eq!((v, st.cursor), (next * 10, next));
                            next += 1;
                            core.release(&mut st);
                        }
                        Err(Closed) => break,
                    }
                }
                assert_eq!(next, 2, "received up to the end");
                core.leave(&st);
            })
        };
        let core = m.core(0);
        let mut st = core.publisher_state().unwrap();
        for _ in 0..2 {
            m.publish_in_place(&core, &mut st);
        }
        core.close(&mut st);
        joiner.join().unwrap();
    });
}
