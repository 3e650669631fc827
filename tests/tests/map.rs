//! `Map<K, V>` and `Set<K>`: semantics, churn, open checks and damaged bytes within one
//! process; then four processes inserting, replacing and removing disjoint and shared keys with
//! every value read checked whole, and the lock of a killed process taken over.

use std::time::Duration;

use zipc::inspect::State;
use zipc::map::{field, lock, locks_offset, phase, slot};
use zipc::{Atomic, Error, Map, Segment, Set, Stack};
use zipc_tests::{child_args, poke, role_command, spawn_role, ShmName};

const LIMIT: Duration = Duration::from_secs(120);

fn segment(tag: &str) -> (ShmName, Segment) {
    let name = ShmName::new(tag);
    let seg = Segment::create(&name, 8 << 20).unwrap();
    (name, seg)
}

/// A value that says which key and version it is, four ways: a torn read cannot pass `check`.
fn value(key: u64, version: u64) -> [u64; 4] {
    [key, version, key ^ version.rotate_left(17), !(key.wrapping_add(version))]
}

fn check(key: u64, v: [u64; 4]) -> u64 {
    assert_eq!(v, value(key, v[1]), "a torn or foreign value for key {key}");
    v[1]
}

#[test]
fn insert_get_replace_update_remove() {
    let (_name, seg) = segment("map-basic");
    let m = Map::<[u8; 16], f64>::create(&seg, "prices", 3).unwrap();
    assert_eq!((m.capacity(), m.slots(), m.len(), m.is_empty()), (3, 8, 0, true));
    let key = |s: &str| {
        let mut k = [0u8; 16];
        k[..s.len()].copy_from_slice(s.as_bytes());
        k
    };
    assert_eq!(m.get(&key("ACME")), None);
    assert_eq!(m.insert(key("ACME"), 12.5).unwrap(), None);
    assert_eq!(m.insert(key("INITECH"), 3.0).unwrap(), None);
    assert_eq!(m.insert(key("ACME"), 13.0).unwrap(), Some(12.5), "replaced, the old value returned");
    assert_eq!(m.get(&key("ACME")), Some(13.0));
    assert_eq!(m.update(&key("ACME"), |p| p * 2.0), Some(26.0));
    assert_eq!(m.update(&key("NOBODY"), |p| p * 2.0), None);
    assert!(m.contains_key(&key("INITECH")));
    assert_eq!(m.len(), 2);
    assert_eq!(m.insert(key("HOOLI"), 1.0).unwrap(), None);
    let err = m.insert(key("PIEDPIPER"), 9.0).unwrap_err();
    assert!(matches!(err, Error::MapFull { capacity: 3, .. }), "{err}");
    assert!(err.to_string().contains("\"prices\" already holds 3 entries"), "{err}");
    assert_eq!(m.insert(key("HOOLI"), 2.0).unwrap(), Some(1.0), "a full map still replaces");
    let mut entries = m.entries();
    entries.sort_by_key(|a| a.0);
    assert_eq!(entries, vec![(key("ACME"), 26.0), (key("HOOLI"), 2.0), (key("INITECH"), 3.0)]);
    assert_eq!(m.remove(&key("ACME")), Some(26.0));
    assert_eq!(m.remove(&key("ACME")), None);
    assert_eq!(m.insert(key("PIEDPIPER"), 9.0).unwrap(), None, "room again after a remove");
    assert_eq!(m.keys().len(), 3);

    // Another handle (as another process would open it) sees the same entries.
    let other = Map::<[u8; 16], f64>::open(&seg, "prices").unwrap();
    assert_eq!(other.get(&key("PIEDPIPER")), Some(9.0));

    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let Some(State::Map(st)) = &snap.entries[0].state else { panic!("map state") };
    assert_eq!((st.capacity, st.slots, st.len, st.members, st.deleted, st.locked), (3, 8, 3, Some(3), 1, 0));
    assert!(snap.entries[0].problems.is_empty(), "{:?}", snap.entries[0].problems);
    let report = snap.to_string();
    assert!(report.contains("3/3 entries"), "{report}");
}

/// Many more inserts and removes than slots: removed slots are claimed again, probes stay
/// within the table, and the map never refuses a key while below its capacity.
#[test]
fn churn_reuses_removed_slots() {
    let (_name, seg) = segment("map-churn");
    let m = Map::<u64, u64>::create(&seg, "m", 64).unwrap();
    let mut live = std::collections::BTreeMap::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..200_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = x % 500;
        if live.len() < 64 && (x >> 40) % 3 != 0 {
            assert_eq!(m.insert(k, i).unwrap(), live.insert(k, i), "insert {k} at step {i}");
        } else {
            assert_eq!(m.remove(&k), live.remove(&k), "remove {k} at step {i}");
        }
    }
    assert_eq!(m.len(), live.len() as u64);
    let mut entries = m.entries();
    entries.sort();
    assert_eq!(entries, live.into_iter().collect::<Vec<_>>());
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let Some(State::Map(st)) = &snap.entries[0].state else { panic!("map state") };
    assert!(st.max_probe < st.slots, "{st:?}");
    println!("after 200 000 operations: {st:?}");
}

#[test]
fn sets_add_test_and_remove() {
    let (_name, seg) = segment("map-set");
    let s = Set::<u32>::create(&seg, "seen", 2).unwrap();
    assert!(s.insert(7).unwrap());
    assert!(!s.insert(7).unwrap(), "already there");
    assert!(s.contains(&7) && !s.contains(&8));
    assert!(s.insert(8).unwrap());
    assert!(matches!(s.insert(9), Err(Error::MapFull { capacity: 2, .. })));
    assert!(s.remove(&7) && !s.remove(&7));
    assert!(s.insert(9).unwrap());
    let mut keys = s.keys();
    keys.sort();
    assert_eq!(keys, [8, 9]);
    assert_eq!(Set::<u32>::open(&seg, "seen").unwrap().len(), 2);
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    assert!(matches!(&snap.entries[0].state, Some(State::Set(st)) if st.members == Some(2)));
}

#[test]
fn open_checks_kind_types_and_capacity() {
    let (_name, seg) = segment("map-open");
    Map::<u64, [f32; 3]>::create(&seg, "m", 10).unwrap();
    assert_eq!(Map::<u64, [f32; 3]>::open(&seg, "m").unwrap().capacity(), 10);
    assert!(Map::<u64, [f32; 3]>::open_or_create(&seg, "m", 10).is_ok());
    let err = Map::<u64, [f32; 3]>::open_or_create(&seg, "m", 11).unwrap_err();
    assert!(matches!(err, Error::CapacityMismatch { expected: 11, found: 10, .. }), "{err}");
    let err = Map::<u64, [f32; 4]>::open(&seg, "m").unwrap_err();
    assert!(matches!(err, Error::LayoutMismatch { .. }), "another value type: {err}");
    assert!(err.to_string().contains("value"), "the difference names the value: {err}");
    let err = Map::<u32, [f32; 3]>::open(&seg, "m").unwrap_err();
    assert!(matches!(err, Error::LayoutMismatch { .. }), "another key type: {err}");
    let err = Set::<u64>::open(&seg, "m").unwrap_err();
    assert!(matches!(err, Error::KindMismatch { .. }), "{err}");
    let err = Stack::<u64>::open(&seg, "m").unwrap_err();
    assert!(matches!(err, Error::KindMismatch { .. }), "{err}");
    let err = Map::<u8, u8>::create(&seg, "zero", 0).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let err = Set::<u8>::create(&seg, "huge", (1 << 30) + 1).unwrap_err();
    assert!(err.to_string().contains("2^30"), "{err}");
}

#[test]
fn damaged_maps_are_errors_or_reports_not_crashes() {
    let (name, seg) = segment("map-corrupt");
    let m = Map::<u64, u64>::create(&seg, "m", 4).unwrap();
    for k in 0..4 {
        m.insert(k, k * 10).unwrap();
    }
    let at = seg.entry("m").unwrap().unwrap().offset;
    // Header constants that disagree with the descriptor: refused at open.
    for (f, bad) in [(field::SLOTS, 16u64), (field::CAPACITY, 5)] {
        let good = u64::from_le_bytes(zipc_tests::peek(&name, at + f, 8).try_into().unwrap());
        poke(&name, at + f, &bad.to_le_bytes());
        let err = Segment::open(&name).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        poke(&name, at + f, &good.to_le_bytes());
    }
    poke(&name, at + field::KEY_SIZE, &12u32.to_le_bytes());
    assert!(matches!(Segment::open(&name), Err(Error::Corrupt { .. })), "a key that overlaps the value");
    poke(&name, at + field::KEY_SIZE, &8u32.to_le_bytes());

    // Slot words no process would write: bounds beyond the table, unknown phases. Operations
    // stay bounded and inspect says what it found.
    let stride = zipc::map::stride_for(16).unwrap();
    for i in 0..8u64 {
        poke(&name, at + field::TABLE + i * stride + slot::BOUND, &u32::MAX.to_le_bytes());
    }
    poke(&name, at + field::TABLE + 3 * stride + slot::STATE, &0x77u64.to_le_bytes());
    let m = Map::<u64, u64>::open(&seg, "m").unwrap();
    for k in 0..16 {
        let _ = m.get(&k);
        let _ = m.insert(k, 1);
        let _ = m.remove(&k);
    }
    let _ = m.entries();
    let problems = &zipc::inspect::snapshot(&seg).unwrap().entries[0].problems;
    assert!(problems.iter().any(|p| p.contains("beyond the 8-slot table")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("no known phase")), "{problems:?}");
}

// ---------------------------------------------------------------------------------------------
// Across processes
// ---------------------------------------------------------------------------------------------

const WORKERS: u64 = 4;
const OWN: u64 = 2_000;
const SHARED: u64 = 64;
const SHARED_BASE: u64 = 1 << 40;
const SHARED_OPS: u64 = 300_000;

/// Four processes at once. Each inserts its own 2 000 keys, replaces every value, removes the
/// odd keys and inserts them again — checking what every call returns — while all of them
/// insert, replace, read and remove 64 shared keys at random. Every value any call returns is
/// checked whole (a torn read fails `check`), and a shared key's version never goes back within
/// one process's reads of it unless it saw the key removed. At the end the own keys hold exactly
/// their last values and the count of entries is exact.
#[test]
fn processes_insert_and_remove_disjoint_and_shared_keys() {
    const TEST: &str = "processes_insert_and_remove_disjoint_and_shared_keys";
    if let Some(args) = child_args(TEST) {
        let me: u64 = args[1].parse().unwrap();
        let seg = Segment::open(&args[0]).unwrap();
        let m = Map::<u64, [u64; 4]>::open(&seg, "m").unwrap();
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        go.wait(0, Some(LIMIT)).unwrap();
        let own = |i: u64| me * OWN + i;
        let mut x = me.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut shared = |round: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = SHARED_BASE + x % SHARED;
            match (x >> 32) % 4 {
                0 => {
                    if let Some(old) = m.remove(&k) {
                        check(k, old);
                    }
                }
                1 => {
                    if let Some(old) = m.get(&k) {
                        check(k, old);
                    }
                }
                _ => {
                    if let Some(old) = m.insert(k, value(k, (me << 32) | round)).unwrap() {
                        check(k, old);
                    }
                }
            }
        };
        let mut round = 0;
        for i in 0..OWN {
            assert_eq!(m.insert(own(i), value(own(i), 1)).unwrap(), None);
            shared(round);
            round += 1;
        }
        for i in 0..OWN {
            assert_eq!(m.insert(own(i), value(own(i), 2)).unwrap().map(|v| check(own(i), v)), Some(1));
            shared(round);
            round += 1;
        }
        for i in (1..OWN).step_by(2) {
            assert_eq!(m.remove(&own(i)).map(|v| check(own(i), v)), Some(2));
            assert_eq!(m.get(&own(i)), None);
            assert_eq!(m.insert(own(i), value(own(i), 3)).unwrap(), None);
            shared(round);
            round += 1;
        }
        while round < SHARED_OPS {
            shared(round);
            round += 1;
        }
        return;
    }
    let (name, seg) = segment("map-mp");
    let m = Map::<u64, [u64; 4]>::create(&seg, "m", WORKERS * OWN + SHARED).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let children: Vec<_> =
        (0..WORKERS).map(|i| role_command(TEST, &[&name, &i.to_string()]).spawn().unwrap()).collect();
    go.store(1);
    go.wake_all();
    // The parent reads while they work: every value it sees is whole.
    let mut reads = 0u64;
    let mut children = children;
    loop {
        for k in (0..SHARED).map(|k| SHARED_BASE + k).chain((0..WORKERS * OWN).step_by(97)) {
            if let Some(v) = m.get(&k) {
                check(k, v);
            }
            reads += 1;
        }
        if children.iter_mut().all(|c| c.try_wait().unwrap().is_some()) {
            break;
        }
    }
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a worker failed");
    }
    let entries = m.entries();
    let mut own = 0;
    let mut shared = 0;
    for (k, v) in &entries {
        let version = check(*k, *v);
        if *k >= SHARED_BASE {
            assert!(*k < SHARED_BASE + SHARED);
            assert!(version >> 32 < WORKERS, "written by a worker");
            shared += 1;
        } else {
            assert!(*k < WORKERS * OWN);
            assert_eq!(version, if (k % OWN) % 2 == 1 { 3 } else { 2 }, "key {k}'s last value");
            own += 1;
        }
    }
    assert_eq!(own, WORKERS * OWN, "every own key present once");
    assert_eq!(m.len(), own + shared, "the count is exact");
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let Some(State::Map(st)) = &snap.entries[0].state else { panic!("map state") };
    assert_eq!((st.members, st.in_flight, st.locked), (Some(own + shared), 0, 0), "{st:?}");
    println!("{WORKERS} processes: {own} own and {shared} shared keys at the end, {reads} reads by the parent; {st:?}");
}

/// A process killed while it holds a key's lock (inside `update`'s function): lookups never
/// wait for it, `inspect` names it, and the next writer of the key takes the lock over — the
/// value is the one before the update.
#[test]
fn a_killed_updaters_lock_is_taken_over() {
    const TEST: &str = "a_killed_updaters_lock_is_taken_over";
    if let Some(args) = child_args(TEST) {
        let seg = Segment::open(&args[0]).unwrap();
        let m = Map::<u64, u64>::open(&seg, "m").unwrap();
        let holding = Atomic::<u32>::open(&seg, "holding").unwrap();
        m.update(&7, |v| {
            holding.store(1);
            holding.wake_all();
            std::thread::sleep(LIMIT); // until killed (hang guard)
            v + 1
        });
        panic!("not killed");
    }
    let (name, seg) = segment("map-kill");
    let m = Map::<u64, u64>::create(&seg, "m", 8).unwrap();
    m.insert(7, 70).unwrap();
    m.insert(8, 80).unwrap();
    let holding = Atomic::<u32>::create(&seg, "holding", 0).unwrap();
    let mut child = spawn_role(TEST, &[&name]);
    holding.wait(0, Some(LIMIT)).unwrap();
    assert_eq!(m.get(&7), Some(70), "a lookup does not wait for the lock");
    assert_eq!(m.insert(8, 81).unwrap(), Some(80), "other keys are not held up");
    let st = |seg: &Segment| match zipc::inspect::snapshot(seg).unwrap().entries[0].state.clone() {
        Some(State::Map(st)) => st,
        other => panic!("{other:?}"),
    };
    assert_eq!((st(&seg).locked, st(&seg).dead_holders), (1, 0));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!((st(&seg).locked, st(&seg).dead_holders), (1, 1));
    assert!(zipc::inspect::snapshot(&seg).unwrap().to_string().contains("1 held by dead processes"));
    assert_eq!(m.insert(7, 71).unwrap(), Some(70), "taken over; the killed update never happened");
    assert_eq!(m.get(&7), Some(71));
    assert_eq!(st(&seg).locked, 0);
    assert_eq!(m.reclaim_dead(), 0, "nothing left to repair");
}

/// The bytes a process killed mid-insert leaves (its slot INSERTING, its lock word naming it):
/// the slot is invisible to lookups, an insert of the same key completes past it, and
/// `reclaim_dead` frees it exactly once.
#[test]
fn a_killed_inserters_slot_is_freed_once() {
    const TEST: &str = "a_killed_inserters_slot_is_freed_once";
    if child_args(TEST).is_some() {
        std::thread::sleep(LIMIT); // until killed (hang guard)
        panic!("not killed");
    }
    let (name, seg) = segment("map-kill-insert");
    let m = Map::<u64, u64>::create(&seg, "m", 4).unwrap();
    let at = seg.entry("m").unwrap().unwrap().offset;
    let stride = zipc::map::stride_for(16).unwrap();
    let locks = at + locks_offset(8, stride).unwrap();
    let mut child = spawn_role(TEST, &[]);
    let start = zipc::process::start_time(child.id()).expect("the child's start time");
    let tag = ((child.id() as u64) << 40) | (start & ((1 << 40) - 1));
    // The child claimed key 5's home slot and wrote key and value: state INSERTING, lock held.
    let hash = zipc::map::key_hash(&5u64.to_ne_bytes());
    let home = hash & 7;
    let slot_at = at + field::TABLE + home * stride;
    let state = (1u64 << 32) | (((hash >> 40) & 0xff_ffff) << 8) | phase::INSERTING as u64;
    poke(&name, slot_at + slot::STATE, &state.to_le_bytes());
    poke(&name, locks + home * zipc::map::lock_stride_for(16, true).unwrap() + lock::OWNER, &tag.to_le_bytes());
    poke(&name, slot_at + slot::ENTRY, &5u64.to_le_bytes());
    assert_eq!(m.get(&5), None, "an unfinished insert is not an entry");
    assert_eq!(m.reclaim_dead(), 0, "the inserter is alive");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(m.insert(5, 50).unwrap(), None, "the insert completes past the dead one");
    assert_eq!(m.get(&5), Some(50));
    let freed = m.reclaim_dead() + m.reclaimed();
    assert!(freed >= 1, "the dead slot is repaired, by the insert or by reclaim_dead");
    assert_eq!(m.reclaim_dead(), 0, "once");
    for k in [1, 2, 3] {
        m.insert(k, k).unwrap();
    }
    assert_eq!(m.len(), 4, "the dead slot does not count");
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let Some(State::Map(st)) = &snap.entries[0].state else { panic!("map state") };
    assert_eq!((st.members, st.in_flight, st.locked), (Some(4), 0, 0), "{st:?}");
}
