//! Models of the map. Keys and values are one loom `AtomicU64` cell each (`MapCore::cell`), so
//! loom checks which copy a reader's validation accepts; the table is small enough that every
//! key collides with the others' probe sequences.

use super::core::*;
use super::*;
use loom::sync::Arc;
use loom::thread;

/// The owner tag that the models' liveness check calls dead.
const DEAD: u64 = 0xdead;

fn alive(owner: u64) -> bool {
    owner != DEAD
}

struct Mem {
    len: AtomicU64,
    reclaimed: AtomicU64,
    heads: Vec<SlotHead>,
    owners: Vec<AtomicU64>,
    cells: Vec<AtomicU64>,
}

struct TestMap {
    core: MapCore,
    _mem: Box<Mem>,
}

impl TestMap {
    fn get(&self, k: u64) -> Option<u64> {
        let mut v = [0; 8];
        self.core.get(&k.to_ne_bytes(), &mut v).then(|| u64::from_ne_bytes(v))
    }

    fn insert(&self, k: u64, v: u64, me: u64) -> (Inserted, u64) {
        let mut old = [0; 8];
        let r = self.core.insert(&k.to_ne_bytes(), &v.to_ne_bytes(), &mut old, me);
        (r, u64::from_ne_bytes(old))
    }

    fn remove(&self, k: u64, me: u64) -> Option<u64> {
        let mut old = [0; 8];
        self.core.remove(&k.to_ne_bytes(), &mut old, me).then(|| u64::from_ne_bytes(old))
    }

    /// The member slots holding `k`.
    fn members_of(&self, k: u64) -> usize {
        (0..self.core.slots())
            .filter(|&i| {
                let st = self.core.head(&self.core.shape, i).state.load(Relaxed);
                unpack(st).2 == phase::MEMBER && self._mem.cells[i as usize * 3].load(Relaxed) == k
            })
            .count()
    }

    /// The slot `k` would be claimed in first: its home.
    fn home_of(&self, k: u64) -> u64 {
        key_hash(&k.to_ne_bytes()) & (self.core.slots() - 1)
    }
}

fn map(capacity: u64, slots: u64) -> Arc<TestMap> {
    let mem = Box::new(Mem {
        len: AtomicU64::new(0),
        reclaimed: AtomicU64::new(0),
        heads: (0..slots).map(|_| SlotHead::new()).collect(),
        owners: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        cells: (0..slots * 3).map(|_| AtomicU64::new(0)).collect(),
    });
    // SAFETY: the pointers are into `mem`, owned by the same `TestMap` as the core: `slots`
    // heads, `slots` owner words and 3 cells per slot, as a model's must be.
    let core = unsafe {
        MapCore::new(
            NonNull::from(&mem.len),
            NonNull::from(&mem.reclaimed),
            NonNull::from(&mem.heads[0]).cast(),
            NonNull::from(&mem.owners[0]).cast(),
            NonNull::from(&mem.cells[0]),
            capacity,
            slots,
            Shape::new(16, 8, 8, 8),
            alive,
        )
    };
    core.init();
    Arc::new(TestMap { core, _mem: mem })
}

/// Two inserts of one key at once: one inserts, the other replaces its value; the key is in one
/// slot only, and its value is one of the two.
#[test]
fn loom_map_same_key_inserts_leave_one_entry() {
    loom::model(|| {
        let m = map(2, 4);
        let m2 = m.clone();
        let t = thread::spawn(move || m2.insert(7, 100, 1));
        let a = m.insert(7, 200, 2);
        let b = t.join().unwrap();
        let mut outcomes = [a.0, b.0];
        outcomes.sort_by_key(|o| *o as u8);
        assert_eq!(outcomes, [Inserted::New, Inserted::Replaced], "{a:?} {b:?}");
        let (replaced, by) = if a.0 == Inserted::Replaced { (a.1, 200) } else { (b.1, 100) };
        // The replacer copied out the other insert's value, and its own is the one left.
        assert_eq!(replaced + by, 300);
        assert_eq!(m.get(7), Some(by));
        assert_eq!(m.members_of(7), 1);
        assert_eq!(m.core.len(), 1);
    });
}

/// Inserts of two keys that share a probe sequence, beside a lookup: both end up present, and
/// the lookup sees a key either absent or with its value.
#[test]
fn loom_map_colliding_keys_insert_independently() {
    loom::model(|| {
        let m = map(2, 4);
        // Two keys with the same home slot, so they probe the same slots.
        let home = m.home_of(1);
        let other = (2..100).find(|&k| m.home_of(k) == home).expect("a colliding key");
        let m2 = m.clone();
        let t = thread::spawn(move || m2.insert(other, 20, 1).0);
        let m3 = m.clone();
        let reader = thread::spawn(move || m3.get(other));
        assert_eq!(m.insert(1, 10, 2).0, Inserted::New);
        assert_eq!(t.join().unwrap(), Inserted::New);
        let seen = reader.join().unwrap();
        assert!(seen.is_none() || seen == Some(20), "{seen:?}");
        assert_eq!((m.get(1), m.get(other)), (Some(10), Some(20)));
        assert_eq!(m.core.len(), 2);
    });
}

/// Two updates of a key against a reader: the reader sees the values in order and never the
/// wrong copy (the undo copy starts at 0, which no one writes, and then holds the value before).
#[test]
fn loom_map_readers_see_whole_current_values() {
    loom::model(|| {
        let m = map(1, 2);
        assert_eq!(m.insert(5, 1, 1).0, Inserted::New);
        let m2 = m.clone();
        let writer = thread::spawn(move || {
            m2.insert(5, 2, 1);
            m2.insert(5, 3, 1);
        });
        let a = m.get(5).expect("present");
        let b = m.get(5).expect("present");
        assert!((1..=3).contains(&a) && (a..=3).contains(&b), "{a} then {b}");
        writer.join().unwrap();
        assert_eq!(m.get(5), Some(3));
    });
}

/// A remove racing an insert of the same key and a lookup: the books agree at the end.
#[test]
fn loom_map_remove_races_insert() {
    loom::model(|| {
        let m = map(2, 4);
        let m2 = m.clone();
        let t = thread::spawn(move || m2.insert(9, 90, 1).0);
        let removed = m.remove(9, 2);
        assert_eq!(t.join().unwrap(), Inserted::New);
        match removed {
            Some(v) => {
                assert_eq!(v, 90);
                assert_eq!((m.get(9), m.core.len()), (None, 0));
            }
            None => assert_eq!((m.get(9), m.core.len()), (Some(90), 1)),
        }
        // A removed slot is claimed again by the next insert.
        assert_eq!(m.insert(9, 91, 2).0, if removed.is_some() { Inserted::New } else { Inserted::Replaced });
        assert_eq!(m.members_of(9), 1);
    });
}

/// A process killed mid-insert (its slot INSERTING, its lock held by a dead owner) does not
/// stop an insert of the same key, which takes the slot over; and one killed mid-update (odd
/// sequence word) leaves the old value readable and is rolled back by the next writer.
#[test]
fn loom_map_dead_holders_are_taken_over() {
    loom::model(|| {
        let m = map(2, 4);
        // Play the dead inserter: claim the home slot of key 3 and stop after INSERTING.
        let home = m.home_of(3);
        let h = m.core.head(&m.core.shape, home);
        h.state.store(state(1, tag_of(key_hash(&3u64.to_ne_bytes())), phase::INSERTING), Relaxed);
        m._mem.owners[home as usize].store(DEAD, Relaxed);
        m._mem.cells[home as usize * 3].store(3, Relaxed);
        // And a dead updater of key 4: a member whose in-place write never finished (the old
        // value in the undo copy, the sequence word odd, the in-place value torn).
        assert_eq!(m.insert(4, 40, 1).0, Inserted::New);
        let four =
            (0..4).find(|&i| unpack(m.core.head(&m.core.shape, i).state.load(Relaxed)).2 == phase::MEMBER).unwrap();
        let h4 = m.core.head(&m.core.shape, four);
        m._mem.cells[four as usize * 3 + 2].store(40, Relaxed);
        h4.seq.store(h4.seq.load(Relaxed) + 1, Relaxed);
        m._mem.cells[four as usize * 3 + 1].store(0xbad, Relaxed);
        m._mem.owners[four as usize].store(DEAD, Relaxed);

        let m2 = m.clone();
        let t = thread::spawn(move || m2.insert(3, 30, 1).0);
        assert_eq!(m.get(4), Some(40), "a reader takes the undo copy while a write is unfinished");
        assert_eq!(m.insert(4, 41, 2).0, Inserted::Replaced);
        assert_eq!(t.join().unwrap(), Inserted::New);
        assert_eq!((m.get(3), m.get(4)), (Some(30), Some(41)));
        assert_eq!(m.members_of(3), 1);
        assert!(m.core.reclaimed() >= 1);
    });
}

/// A full map refuses new keys but still replaces present ones.
#[test]
fn loom_map_full_refuses_new_keys() {
    loom::model(|| {
        let m = map(1, 2);
        assert_eq!(m.insert(1, 1, 1).0, Inserted::New);
        let m2 = m.clone();
        let t = thread::spawn(move || m2.insert(2, 2, 1).0);
        assert_eq!(m.insert(1, 5, 2).0, Inserted::Replaced);
        assert_eq!(t.join().unwrap(), Inserted::Full);
        assert_eq!((m.get(1), m.get(2)), (Some(5), None));
    });
}
