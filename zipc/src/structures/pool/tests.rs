use super::core::*;
use super::*;
use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use loom::thread;

struct Mem {
    head: PoolHead,
    slots: Vec<SlotMeta>,
    freed: EventCount,
}

/// A pool of `cap` slots; `in_use` marks a slot while a test thread holds it.
struct TestPool {
    core: PoolCore,
    in_use: Vec<AtomicBool>,
    _mem: Box<Mem>,
}

impl TestPool {
    fn acquire(&self) -> (u32, u32) {
        let (i, g) = self.core.try_acquire(7).unwrap().expect("a free slot");
        assert!(!self.in_use[i as usize].swap(true, Relaxed), "slot {i} handed out twice");
        (i, g)
    }

    fn release(&self, (i, g): (u32, u32)) {
        self.in_use[i as usize].store(false, Relaxed);
        self.core.release(i, g).unwrap();
    }
}

fn pool(cap: u32, tag_step: u32) -> Arc<TestPool> {
    let mem = Box::new(Mem {
        head: PoolHead::new(),
        slots: (0..cap).map(|_| SlotMeta::new()).collect(),
        freed: EventCount::new(),
    });
    // SAFETY: the pointers are into `mem`, owned by the same `TestPool` as the core.
    let mut core = unsafe {
        PoolCore::new(NonNull::from(&mem.head), NonNull::from(&mem.slots[0]), NonNull::from(&mem.freed), cap)
    };
    core.tag_step = tag_step;
    core.init();
    Arc::new(TestPool { core, in_use: (0..cap).map(|_| AtomicBool::new(false)).collect(), _mem: mem })
}

/// Thread A acquires and releases one object while thread B acquires two and releases them:
/// the interleaving in which A reads `head = i, next(i) = j`, B pops `i` and `j` and pushes
/// `i` back, and A then swaps in `j` (ABA) is within the bound. No slot is ever handed out
/// twice, and afterwards all three are free and distinct.
fn aba_model(tag_step: u32) {
    loom::model(move || {
        let p = pool(3, tag_step);
        let p2 = p.clone();
        let a = thread::spawn(move || {
            let h = p2.acquire();
            p2.release(h);
        });
        let h1 = p.acquire();
        let h2 = p.acquire();
        p.release(h1);
        p.release(h2);
        a.join().unwrap();
        assert_eq!(p.core.allocated(), 0);
        let mut all: Vec<u32> = (0..3).map(|_| p.acquire().0).collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2]);
        assert_eq!(p.core.try_acquire(7).unwrap(), None);
    });
}

#[test]
fn loom_pool_free_list_is_aba_safe() {
    aba_model(1);
}

/// Without the tag the same model fails: the ABA interleaving is explored.
#[test]
#[should_panic]
fn loom_pool_without_tag_is_caught() {
    aba_model(0);
}

/// Two threads release the same handle: exactly one succeeds, the other gets `Stale`, and
/// the slot is on the free list once.
#[test]
fn loom_pool_racing_double_release() {
    loom::model(|| {
        let p = pool(2, 1);
        let (i, g) = p.core.try_acquire(7).unwrap().unwrap();
        let p2 = p.clone();
        let t = thread::spawn(move || p2.core.release(i, g));
        let mine = p.core.release(i, g);
        let theirs = t.join().unwrap();
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one release wins: {mine:?} {theirs:?}");
        assert_eq!(mine.err().or(theirs.err()), Some(Fault::Stale { current: g + 1 }));
        let a = p.core.try_acquire(7).unwrap().unwrap();
        let b = p.core.try_acquire(7).unwrap().unwrap();
        assert_ne!(a.0, b.0);
        assert_eq!(p.core.try_acquire(7).unwrap(), None, "the slot was pushed once");
    });
}

/// A blocked acquire wakes when another thread releases, and gets the next generation.
/// Process 7 acquired an object, passed the handle on, and died. The receiver (8) adopts it
/// while a survivor reclaims dead processes' objects: exactly one of them wins — the object
/// is either adopted and still held, or reclaimed, free and its handle stale — and a third
/// thread acquiring meanwhile never gets it while it is adopted.
#[test]
fn loom_pool_reclaim_races_adoption() {
    loom::model(|| {
        let p = pool(2, 1);
        let h = p.core.try_acquire(7).unwrap().unwrap();
        let p2 = p.clone();
        let adopter = thread::spawn(move || p2.core.adopt(h.0, h.1, 8).is_ok());
        let p3 = p.clone();
        let other = thread::spawn(move || p3.core.try_acquire(9).unwrap());
        let reclaimed = p.core.reclaim(|tag| tag != 7);
        let adopted = adopter.join().unwrap();
        let got = other.join().unwrap();
        assert!(adopted != (reclaimed == 1), "exactly one of adoption and reclamation wins: {adopted} {reclaimed}");
        if adopted {
            assert!(p.core.check(h.0, h.1).is_ok(), "the adopted object is still held");
            assert_ne!(got.map(|g| g.0), Some(h.0), "an adopted object is not handed out");
        } else {
            assert!(p.core.check(h.0, h.1).is_err(), "the reclaimed object's handle is stale");
        }
    });
}

#[test]
fn loom_pool_blocking_acquire_wakes() {
    loom::model(|| {
        let p = pool(1, 1);
        let (i, g) = p.core.try_acquire(7).unwrap().unwrap();
        let p2 = p.clone();
        let t = thread::spawn(move || p2.core.acquire(8, Deadline::after(None)).unwrap().unwrap());
        p.core.release(i, g).unwrap();
        assert_eq!(t.join().unwrap(), (i, g + 2));
        assert!(p.core.check(i, g).is_err(), "the old handle is stale");
    });
}
