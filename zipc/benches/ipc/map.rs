//! Hash map lookups and inserts on one thread: zipc's `Map<u64, u64>` in a segment beside
//! `std::sync::Mutex<std::collections::HashMap<u64, u64>>` and `dashmap::DashMap<u64, u64>`, the
//! same keys in the same order for all three, ns per operation.
//!
//! * **get** (`map_get_ns`, `mutex_hashmap_get_ns`, `dashmap_get_ns`): [`KEYS`] keys present
//!   in a map of capacity [`KEYS`] — zipc's table then has `2 × KEYS` slots, so it is at 50%
//!   load — looked up in a shuffled order, every key once per pass, [`GET_PASSES`] passes (one untimed pass first warms the caches). Every value
//!   read is checked against the one inserted: a wrong or missing value aborts the benchmark.
//! * **miss** (`map_miss_ns`, `mutex_hashmap_miss_ns`, `dashmap_miss_ns`): the same table,
//!   lookups of as many keys that are not there.
//! * **insert** (`map_insert_ns`, `mutex_hashmap_insert_ns`, `dashmap_insert_ns`): the [`KEYS`]
//!   keys inserted into an empty map of capacity [`KEYS`] (zipc: 0% to 50% load; the std and
//!   dash maps pre-sized with `with_capacity(KEYS)`, so neither grows), [`INSERT_PASSES`] times per round. zipc gets a fresh map in a fresh
//!   segment for each pass, created (which writes every slot, so its pages are in) outside the
//!   timed region; the std and dash maps are `clear`ed outside it, which keeps their allocation.
//!
//! Keys are distinct pseudo-random `u64`s (`i × an odd constant`, a bijection); their order is a
//! Fisher–Yates shuffle by a fixed-seed xorshift, computed before timing. The std and dash maps
//! use their default hasher (`RandomState`, SipHash-1-3), as most code does; zipc hashes with its
//! format's `key_hash`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant;

use dashmap::DashMap;
use zipc::Map;

use crate::peer::BenchSegment;
use crate::report::Measurement;
use crate::Plan;

/// Keys in every map of a full run: 16 B each as `u64 → u64`, 1 MiB of entries; zipc's table
/// of `2 × KEYS` 32-byte slots (what lookups read) is 4 MiB, its lock table (what writers
/// also touch) 3 MiB.
pub const KEYS: usize = 1 << 16;
/// Keys in a smoke run.
const SMOKE_KEYS: usize = 1 << 10;
/// Timed passes over the keys per round of the lookup benchmarks.
const GET_PASSES: usize = 16;
/// Timed fills of an empty map per round of the insert benchmark.
const INSERT_PASSES: usize = 8;
/// Bytes per slot of a `Map<u64, u64>`: a 16-byte header and a 16-byte entry span in the slot
/// table, an owner word and a 16-byte undo span in the lock table.
const ZIPC_SLOT_BYTES: u64 = 56;

/// The `i`th key: distinct for distinct `i` (multiplication by an odd constant is a bijection).
fn key(i: usize) -> u64 {
    (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The value stored for `k`, so that every read can be checked.
fn value_of(k: u64) -> u64 {
    k.rotate_left(17) ^ 0x5555_5555_5555_5555
}

/// `n` keys in a shuffled order, the first `n` keys (`present`) or the `n` after them (absent
/// from a map holding the first `n`).
fn shuffled(n: usize, present: bool, seed: u64) -> Vec<u64> {
    let base = if present { 0 } else { n };
    let mut keys: Vec<u64> = (base..base + n).map(key).collect();
    let mut x = seed;
    for i in (1..n).rev() {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        keys.swap(i, (x % (i as u64 + 1)) as usize);
    }
    keys
}

#[cold]
#[inline(never)]
fn wrong(what: &str, k: u64, got: Option<u64>) -> ! {
    panic!("{what}: key {k:#x} read {got:?}, expected {:?}", Some(value_of(k)))
}

#[cold]
#[inline(never)]
fn wrong_miss(what: &str, k: u64, got: Option<u64>) -> ! {
    panic!("{what}: absent key {k:#x} read {got:?}")
}

/// ns per call of `get` over `passes` passes of `keys`, checking every result: each key's value
/// if `present`, else `None`.
fn time_gets(what: &str, keys: &[u64], passes: usize, present: bool, get: impl Fn(u64) -> Option<u64>) -> f64 {
    let check = |k: u64| {
        let got = black_box(get(black_box(k)));
        if present {
            if got != Some(value_of(k)) {
                wrong(what, k, got);
            }
        } else if got.is_some() {
            wrong_miss(what, k, got);
        }
    };
    keys.iter().for_each(|&k| check(k)); // warm-up, untimed
    let t = Instant::now();
    for _ in 0..passes {
        keys.iter().for_each(|&k| check(k));
    }
    t.elapsed().as_nanos() as f64 / (keys.len() * passes) as f64
}

struct Sizes {
    keys: usize,
    get_passes: usize,
    insert_passes: usize,
}

fn sizes(plan: &Plan) -> Sizes {
    if plan.smoke {
        Sizes { keys: SMOKE_KEYS, get_passes: 2, insert_passes: 1 }
    } else {
        Sizes { keys: KEYS, get_passes: GET_PASSES, insert_passes: INSERT_PASSES }
    }
}

/// A fresh segment holding an empty `Map<u64, u64>` of capacity `n`, named "m".
fn zipc_map(n: usize) -> (BenchSegment, Map<u64, u64>) {
    let slots = (2 * n as u64).next_power_of_two();
    let seg = BenchSegment::create("map", slots * ZIPC_SLOT_BYTES + (1 << 20));
    let map = Map::<u64, u64>::create(&seg.segment, "m", n as u64).expect("creating the map");
    (seg, map)
}

fn params(s: &Sizes, load: &str, ops: &'static str, count: usize, how: &str) -> Vec<(&'static str, String)> {
    vec![
        ("keys", format!("{} (u64 -> u64)", s.keys)),
        ("zipc_load", load.to_owned()),
        (ops, count.to_string()),
        ("how", how.to_owned()),
    ]
}

fn ns(name: &'static str, value: f64, params: Vec<(&'static str, String)>) -> Measurement {
    Measurement { name, unit: "ns", value, params }
}

/// `map_get_ns`, `mutex_hashmap_get_ns`, `dashmap_get_ns`, then the same three for
/// absent keys (`*_miss_ns`): lookups of present (then absent) keys in maps holding [`KEYS`].
pub fn get(plan: &Plan) -> Vec<Measurement> {
    let s = sizes(plan);
    let n = s.keys;
    let hits = shuffled(n, true, 0x2545_f491_4f6c_dd1d);
    let misses = shuffled(n, false, 0x9e37_79b9_7f4a_7c15);

    let (seg, zipc) = zipc_map(n);
    let std = Mutex::new(HashMap::with_capacity(n));
    let dash = DashMap::with_capacity(n);
    for i in 0..n {
        let k = key(i);
        assert_eq!(zipc.insert(k, value_of(k)).expect("zipc map full below its capacity"), None);
        std.lock().unwrap().insert(k, value_of(k));
        dash.insert(k, value_of(k));
    }
    assert_eq!(zipc.len(), n as u64);
    let load = format!("50% ({n} of {} slots)", zipc.slots());

    let lookups = n * s.get_passes;
    let mut out = Vec::new();
    for (present, keys, names) in [
        (true, &hits, ["map_get_ns", "mutex_hashmap_get_ns", "dashmap_get_ns"]),
        (false, &misses, ["map_miss_ns", "mutex_hashmap_miss_ns", "dashmap_miss_ns"]),
    ] {
        let which = if present { "present" } else { "absent" };
        let z = time_gets("zipc Map::get", keys, s.get_passes, present, |k| zipc.get(&k));
        let m = time_gets("Mutex<HashMap>::get", keys, s.get_passes, present, |k| std.lock().unwrap().get(&k).copied());
        let d = time_gets("DashMap::get", keys, s.get_passes, present, |k| dash.get(&k).map(|r| *r));
        out.push(ns(
            names[0],
            z,
            params(&s, &load, "lookups", lookups, &format!("zipc Map<u64, u64>::get, {which} keys")),
        ));
        out.push(ns(
            names[1],
            m,
            params(&s, &load, "lookups", lookups, &format!("lock + HashMap::get (SipHash), {which} keys")),
        ));
        out.push(ns(
            names[2],
            d,
            params(&s, &load, "lookups", lookups, &format!("DashMap::get (SipHash), {which} keys")),
        ));
    }
    drop(zipc);
    drop(seg);
    out
}

/// `map_insert_ns`, `mutex_hashmap_insert_ns`, `dashmap_insert_ns`: [`KEYS`] keys into
/// an empty map of capacity [`KEYS`].
pub fn insert(plan: &Plan) -> Vec<Measurement> {
    let s = sizes(plan);
    let n = s.keys;
    let keys = shuffled(n, true, 0x2545_f491_4f6c_dd1d);
    let per_insert = |elapsed_ns: u128| elapsed_ns as f64 / (n * s.insert_passes) as f64;

    let mut zipc_ns = 0u128;
    let mut slots = 0;
    for _ in 0..s.insert_passes {
        let (seg, map) = zipc_map(n);
        slots = map.slots();
        let t = Instant::now();
        for &k in &keys {
            if black_box(map.insert(black_box(k), value_of(k))).expect("zipc map full below its capacity").is_some() {
                panic!("zipc Map::insert: new key {k:#x} reported as replacing a value");
            }
        }
        zipc_ns += t.elapsed().as_nanos();
        assert_eq!(map.len(), n as u64);
        assert_eq!(map.get(&keys[0]), Some(value_of(keys[0])));
        drop(map);
        drop(seg);
    }

    let std = Mutex::new(HashMap::with_capacity(n));
    let capacity = std.lock().unwrap().capacity();
    let mut std_ns = 0u128;
    // One untimed fill first, so the table's pages are in, as zipc's are by `create`.
    for pass in 0..=s.insert_passes {
        std.lock().unwrap().clear();
        let t = Instant::now();
        for &k in &keys {
            if black_box(std.lock().unwrap().insert(black_box(k), value_of(k))).is_some() {
                panic!("HashMap::insert: new key {k:#x} reported as replacing a value");
            }
        }
        if pass > 0 {
            std_ns += t.elapsed().as_nanos();
        }
        let m = std.lock().unwrap();
        assert_eq!((m.len(), m.capacity()), (n, capacity), "the std map grew");
    }

    let dash = DashMap::with_capacity(n);
    let dash_capacity = dash.capacity();
    let mut dash_ns = 0u128;
    for pass in 0..=s.insert_passes {
        dash.clear();
        let t = Instant::now();
        for &k in &keys {
            if black_box(dash.insert(black_box(k), value_of(k))).is_some() {
                panic!("DashMap::insert: new key {k:#x} reported as replacing a value");
            }
        }
        if pass > 0 {
            dash_ns += t.elapsed().as_nanos();
        }
        assert_eq!(dash.len(), n);
        assert_eq!(dash.capacity(), dash_capacity, "the dash map grew");
    }

    let inserts = n * s.insert_passes;
    let load = format!("0 to 50% ({n} into {slots} slots)");
    vec![
        ns(
            "map_insert_ns",
            per_insert(zipc_ns),
            params(&s, &load, "inserts", inserts, "zipc Map<u64, u64>::insert, a fresh map per pass"),
        ),
        ns(
            "mutex_hashmap_insert_ns",
            per_insert(std_ns),
            params(&s, &load, "inserts", inserts, "lock + HashMap::insert (SipHash), with_capacity, cleared per pass"),
        ),
        ns(
            "dashmap_insert_ns",
            per_insert(dash_ns),
            params(&s, &load, "inserts", inserts, "DashMap::insert (SipHash), with_capacity, cleared per pass"),
        ),
    ]
}
