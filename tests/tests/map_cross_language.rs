//! Maps and sets across languages, through libzipc and the code zipc-schema generates: a Rust
//! process creates a `Map<u64, Price>`, a `Set<u32>` and two small full ones, and a C and a
//! Python process, running at the same time on disjoint keys, read what Rust inserted, replace
//! and remove some of it, and insert their own; then Rust checks the final contents exactly.
//!
//! * C uses the typed wrappers of the generated header (`maps_prices_get`, `_insert`, ...) and
//!   the raw calls (`zipc_map_entries`, a wrong key size, a wrong kind);
//! * Python uses the generated module (`seg.prices[k]`, `.insert`, `.remove`, `in`, `del`,
//!   `.items()`, `seg.tags.add`);
//! * both are refused a new key in a full map and a full set (`ZIPC_ERR_MAP_FULL`,
//!   `MapFullError`) and may still replace a value in the full map.
//!
//! A second test runs the byte-level handles ([`DynMap`], [`DynSet`]) against typed ones.

use std::collections::{BTreeMap, BTreeSet};

use zipc::dynamic::{DynMap, DynSet, ElementSpec};
use zipc::{Error, Map, Segment, Set};
use zipc_schema::{Arena, Schema};
use zipc_tests::native::{compile_c, finish, python_command, scratch, spawn, write_generated, Link};
use zipc_tests::{numpy_python, ShmName};

const SCHEMA: &str = r#"
[segment]
name = "/zipc_maps"
max_entries = 8

[types.Price]
doc = "A value: every field is derived from the key and a version, so a torn or misplaced one shows."
fields = [
    { name = "cents", type = "u64" },
    { name = "qty", type = "u32" },
    { name = "venue", type = "u16" },
    { name = "flags", type = "u16" },
]

[[structures]]
name = "prices"
kind = "map"
key = "u64"
value = "Price"
capacity = 512

[[structures]]
name = "tags"
kind = "set"
key = "u32"
capacity = 256

[[structures]]
name = "tiny"
kind = "map"
key = "u64"
value = "f64"
capacity = 4

[[structures]]
name = "few"
kind = "set"
key = "u32"
capacity = 2
"#;

#[derive(
    Clone, Copy, Debug, PartialEq, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout, zipc::ShmType,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Price {
    cents: u64,
    qty: u32,
    venue: u16,
    flags: u16,
}

/// The value of key `k`; C and Python compute the same (see their sources).
fn price(k: u64) -> Price {
    Price { cents: k * 100 + 7, qty: (k * 3) as u32, venue: (k % 7) as u16, flags: 0xA5 ^ (k as u16) }
}

/// Keys Rust inserts first: C works on the even ones, Python on the odd ones. Of each, those
/// with `k % 4 < 2` are replaced (by `price(k + 1000)` from C, `price(k + 2000)` from Python),
/// the others removed; C inserts `1000..1100`, Python `2000..2100`.
const RUST_KEYS: u64 = 100;

const C_PEER: &str = r#"#include "maps.h"
#include <stdio.h>
#include <string.h>

#define CHECK(call) do { zipc_status st_ = (call); if (st_ != ZIPC_OK) { fprintf(stderr, "%s: %s: %s\n", #call, zipc_status_name(st_), zipc_last_error()); return 1; } } while (0)
#define EXPECT(cond, ...) do { if (!(cond)) { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); return 1; } } while (0)

static Price price(uint64_t k) {
    Price p;
    p.cents = k * 100 + 7;
    p.qty = (uint32_t)(k * 3);
    p.venue = (uint16_t)(k % 7);
    p.flags = (uint16_t)(0xA5 ^ (uint16_t)k);
    return p;
}

static int same(const Price *a, const Price *b) {
    return a->cents == b->cents && a->qty == b->qty && a->venue == b->venue && a->flags == b->flags;
}

int main(int argc, char **argv) {
    zipc_segment *seg;
    zipc_map *prices, *tiny;
    zipc_set *tags, *few, *wrong;
    Price got, old, want, p;
    uint64_t k, keys[4];
    uint32_t t = 0;
    double d = 0, dold = 0, values[4];
    int replaced, added;
    size_t count;
    if (argc != 2) return 64;
    CHECK(maps_segment_open(argv[1], &seg, NULL));
    CHECK(maps_prices_open(seg, &prices));
    CHECK(maps_tags_open(seg, &tags));
    CHECK(maps_tiny_open(seg, &tiny));
    CHECK(maps_few_open(seg, &few));
    EXPECT(zipc_map_capacity(prices) == MAPS_PRICES_CAPACITY, "prices: capacity %llu", (unsigned long long)zipc_map_capacity(prices));
    EXPECT(zipc_set_open(seg, MAPS_PRICES_NAME, MAPS_PRICES_ELEM_SIZE, MAPS_PRICES_CANONICAL, &wrong) == ZIPC_ERR_KIND, "a map opened as a set");

    /* What Rust inserted at the even keys (Python has the odd ones): replaced or removed. */
    for (k = 0; k < 100; k += 2) {
        want = price(k);
        CHECK(maps_prices_get(prices, &k, &got));
        EXPECT(same(&got, &want), "prices: key %llu torn or misplaced", (unsigned long long)k);
        CHECK(maps_prices_contains(prices, &k));
        if (k % 4 == 0) {
            p = price(k + 1000);
            replaced = -1;
            CHECK(maps_prices_insert(prices, &k, &p, &old, &replaced));
            EXPECT(replaced == 1 && same(&old, &want), "prices: replacing %llu", (unsigned long long)k);
        } else {
            CHECK(maps_prices_remove(prices, &k, &old));
            EXPECT(same(&old, &want), "prices: removed %llu", (unsigned long long)k);
            EXPECT(maps_prices_get(prices, &k, &got) == ZIPC_AGAIN, "prices: %llu after its removal", (unsigned long long)k);
            EXPECT(maps_prices_remove(prices, &k, NULL) == ZIPC_AGAIN, "prices: %llu removed twice", (unsigned long long)k);
        }
    }
    /* Its own keys. */
    for (k = 1000; k < 1100; k++) {
        p = price(k);
        replaced = -1;
        CHECK(maps_prices_insert(prices, &k, &p, NULL, &replaced));
        EXPECT(replaced == 0, "prices: %llu was new", (unsigned long long)k);
        CHECK(maps_prices_get(prices, &k, &got));
        EXPECT(same(&got, &p), "prices: %llu read back", (unsigned long long)k);
    }
    k = 5000;
    EXPECT(maps_prices_contains(prices, &k) == ZIPC_AGAIN, "prices: a key never inserted");
    /* Sizes are checked. */
    EXPECT(zipc_map_get(prices, &t, sizeof t, &got, sizeof got) == ZIPC_ERR_INVALID_ARGUMENT, "a 4-byte key");
    EXPECT(zipc_map_get(prices, &k, sizeof k, &d, sizeof d) == ZIPC_ERR_INVALID_ARGUMENT, "an 8-byte value");

    /* The set. */
    for (t = 0; t < 50; t++) {
        if (t % 4 == 1) continue; /* Python's */
        CHECK(maps_tags_contains(tags, &t));
        if (t % 4 == 0) CHECK(maps_tags_remove(tags, &t));
    }
    for (t = 100; t < 150; t++) {
        added = -1;
        CHECK(maps_tags_insert(tags, &t, &added));
        EXPECT(added == 1, "tags: %u was new", t);
    }
    t = 100;
    CHECK(maps_tags_insert(tags, &t, &added));
    EXPECT(added == 0, "tags: 100 added twice");
    t = 4;
    EXPECT(maps_tags_remove(tags, &t) == ZIPC_AGAIN, "tags: 4 removed twice");

    /* Full: no new key, but a value may change. */
    k = 10;
    d = 10.0;
    EXPECT(maps_tiny_insert(tiny, &k, &d, NULL, NULL) == ZIPC_ERR_MAP_FULL, "tiny: a fifth key");
    EXPECT(strstr(zipc_last_error(), "4 entries") != NULL, "tiny: the message names the capacity: %s", zipc_last_error());
    k = 1;
    d = 1.5;
    CHECK(maps_tiny_insert(tiny, &k, &d, &dold, &replaced));
    EXPECT(replaced == 1 && dold == 1.0, "tiny: replacing 1 (old %g)", dold);
    t = 3;
    EXPECT(maps_few_insert(few, &t, &added) == ZIPC_ERR_MAP_FULL, "few: a third key");
    /* Entries: too little room, then enough. */
    EXPECT(zipc_map_entries(tiny, keys, sizeof keys[0], values, sizeof values[0], 2, &count) == ZIPC_AGAIN && count == 2, "tiny: 2 of 4 entries");
    CHECK(zipc_map_entries(tiny, keys, sizeof keys[0], values, sizeof values[0], 4, &count));
    EXPECT(count == 4, "tiny: %zu entries", count);

    printf("C ok %llu %llu\n", (unsigned long long)zipc_map_len(prices), (unsigned long long)zipc_set_len(tags));
    zipc_set_close(few);
    zipc_map_close(tiny);
    zipc_set_close(tags);
    zipc_map_close(prices);
    zipc_segment_close(seg);
    return 0;
}
"#;

const PY_PEER: &str = r#"
import sys
import numpy as np
import maps
import zipc_runtime

seg = maps.open(sys.argv[1])
M16 = (1 << 16) - 1
M32 = (1 << 32) - 1


def price(k):
    return np.array((k * 100 + 7, (k * 3) & M32, k % 7, (0xA5 ^ k) & M16), dtype=maps.Price)[()]


def same(got, want):
    return got is not None and got.tobytes() == want.tobytes()


prices, tags = seg.prices, seg.tags
assert prices.capacity == 512 and prices.key_dtype == np.dtype("<u8"), prices.key_dtype
assert prices.value_dtype == maps.Price, prices.value_dtype
for k in range(1, 100, 2):
    assert same(prices[k], price(k)), "key %d: %r" % (k, prices.get(k))
    assert k in prices
    if k % 4 == 1:
        old = prices.insert(k, price(k + 2000))
        assert same(old, price(k)), "replacing %d: %r" % (k, old)
    elif k % 8 == 3:
        assert same(prices.remove(k), price(k)), "removing %d" % k
        assert prices.remove(k) is None and k not in prices
    else:
        del prices[k]
        try:
            prices[k]
            raise AssertionError("%d after del" % k)
        except KeyError:
            pass
for k in range(2000, 2100):
    assert prices.insert(k, price(k)) is None, "%d was new" % k
    prices[k] = price(k)  # the same value again: a replacement
    assert same(prices.get(k), price(k))
assert prices.get(5000) is None and prices.get(5000, "none") == "none"
mine = {int(k): v for k, v in prices.items() if 2000 <= k < 2100}
assert sorted(mine) == list(range(2000, 2100)), sorted(mine)
assert all(same(v, price(k)) for k, v in mine.items())
keys, values = prices.entries()
assert keys.dtype == np.dtype("<u8") and values.dtype == maps.Price and len(keys) == len(values)

for t in range(50):
    if t % 4 == 0:
        continue  # C's
    assert t in tags, t
    if t % 4 == 1:
        assert tags.remove(t)
        assert not tags.remove(t) and t not in tags
for t in range(200, 250):
    assert tags.add(t), t
assert not tags.add(200)
assert set(range(200, 250)) <= {int(t) for t in tags.keys()}

try:
    seg.tiny.insert(20, 20.0)
    raise AssertionError("tiny: a fifth key")
except zipc_runtime.MapFullError as e:
    assert "4 entries" in str(e), str(e)
    assert e.status_name == "ZIPC_ERR_MAP_FULL"
assert seg.tiny.insert(2, 2.5) == 2.0
assert len(seg.tiny) == 4 and 20 not in seg.tiny
try:
    seg.few.add(4)
    raise AssertionError("few: a third key")
except zipc_runtime.MapFullError:
    pass
assert sorted(int(t) for t in seg.few) == [1, 2]
print("Python ok %d %d" % (len(prices), len(tags)))
seg.close()
"#;

fn expected_prices() -> BTreeMap<u64, Price> {
    let mut want = BTreeMap::new();
    for k in 0..RUST_KEYS {
        match k % 4 {
            0 => drop(want.insert(k, price(k + 1000))),
            1 => drop(want.insert(k, price(k + 2000))),
            _ => {}
        }
    }
    for k in (1000..1100).chain(2000..2100) {
        want.insert(k, price(k));
    }
    want
}

#[test]
fn c_and_python_read_insert_replace_and_remove_entries_of_a_rust_map_and_set() {
    let arena = Arena::new();
    let schema = Schema::parse("maps.toml", SCHEMA, &arena).unwrap_or_else(|d| panic!("{d}"));
    let fp = schema.layout.structures[0].elem.map(|t| zipc::layout::fingerprint(&t));
    let entry = <Map<u64, Price> as zipc::Structure>::ELEM.map(|t| zipc::layout::fingerprint(&t));
    assert_eq!(fp, entry, "Map<u64, Price> matches the schema");
    let dir = scratch("maps");
    write_generated(&schema, &dir);
    let c_exe = compile_c(&dir, "maps_peer", C_PEER, Link::Shared);
    std::fs::write(dir.join("maps_peer.py"), PY_PEER).unwrap();
    let py = numpy_python().unwrap_or_else(|e| panic!("the cross-language tests need numpy: {e}"));

    let name = ShmName::new("maps");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    let prices = Map::<u64, Price>::create(&seg, "prices", 512).unwrap();
    let tags = Set::<u32>::create(&seg, "tags", 256).unwrap();
    let tiny = Map::<u64, f64>::create(&seg, "tiny", 4).unwrap();
    let few = Set::<u32>::create(&seg, "few", 2).unwrap();
    for k in 0..RUST_KEYS {
        assert_eq!(prices.insert(k, price(k)).unwrap(), None);
    }
    for t in 0..50 {
        assert!(tags.insert(t).unwrap());
    }
    for k in 1..=4 {
        tiny.insert(k, k as f64).unwrap();
    }
    for t in [1, 2] {
        few.insert(t).unwrap();
    }
    // The generated code checks the whole segment as the schema declares it.
    let args = [name.as_str().to_owned()];
    let c = spawn(std::process::Command::new(&c_exe).args(&args), "the C peer");
    let p = spawn(python_command(&py, &dir, &dir.join("maps_peer.py")).args(&args), "the Python peer");
    for (peer, lang) in [(c, "C"), (p, "Python")] {
        let out = finish(peer);
        assert!(out.starts_with(&format!("{lang} ok ")), "{lang}: {out}");
    }

    let want = expected_prices();
    let got: BTreeMap<u64, Price> = prices.entries().into_iter().collect();
    assert_eq!(got.len(), prices.entries().len(), "no key twice");
    assert_eq!(got, want, "the map's final contents");
    assert_eq!(prices.len(), want.len() as u64);
    for (k, v) in &want {
        assert_eq!(prices.get(k), Some(*v), "key {k}");
    }
    let want_tags: BTreeSet<u32> = (0..50).filter(|t| t % 4 > 1).chain(100..150).chain(200..250).collect();
    let got_tags: BTreeSet<u32> = tags.keys().into_iter().collect();
    assert_eq!(got_tags, want_tags, "the set's final contents");
    assert_eq!(tags.len(), want_tags.len() as u64);
    let got_tiny: BTreeMap<u64, u64> = tiny.entries().into_iter().map(|(k, v)| (k, v.to_bits())).collect();
    let want_tiny: BTreeMap<u64, u64> =
        [(1, 1.5), (2, 2.5), (3, 3.0), (4, 4.0)].map(|(k, v)| (k, f64::to_bits(v))).into();
    assert_eq!(got_tiny, want_tiny, "the full map's final contents");
    assert_eq!(few.keys().into_iter().collect::<BTreeSet<u32>>(), [1, 2].into(), "the full set's final contents");
    assert!(matches!(tiny.insert(9, 9.0), Err(Error::MapFull { capacity: 4, .. })));
    drop((prices, tags, tiny, few, seg));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn byte_level_handles_share_the_typed_tables() {
    let name = ShmName::new("dynmap");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let typed = Map::<u32, u64>::create(&seg, "m", 8).unwrap();
    let typed_set = Set::<u16>::create(&seg, "s", 3).unwrap();
    let entry = <Map<u32, u64> as zipc::Structure>::ELEM.unwrap();
    let canonical = zipc::layout::canonical(&entry);
    assert_eq!(canonical, "{key:u32@0,value:u64@8}#16");

    let m = DynMap::open(&seg, "m", ElementSpec::with_layout(16, &canonical)).unwrap();
    assert_eq!((m.elem_size(), m.key_size(), m.value_offset(), m.value_size()), (16, 4, 8, 8));
    assert_eq!((m.capacity(), m.slots(), m.len()), (8, 16, 0));
    // The wrong entry, or the wrong kind, is refused.
    assert!(matches!(DynMap::open(&seg, "m", ElementSpec::new(12)), Err(Error::LayoutMismatch { .. })));
    assert!(matches!(
        DynMap::open(&seg, "m", ElementSpec::with_layout(16, "{key:u64@0,value:u64@8}#16")),
        Err(Error::LayoutMismatch { .. })
    ));
    assert!(matches!(DynSet::open(&seg, "m", ElementSpec::new(16)), Err(Error::KindMismatch { .. })));

    assert!(!m.insert(&7u32.to_le_bytes(), &70u64.to_le_bytes(), None).unwrap());
    assert_eq!(typed.get(&7), Some(70));
    typed.insert(8, 80).unwrap();
    let mut v = [0u8; 8];
    assert!(m.get(&8u32.to_le_bytes(), &mut v).unwrap());
    assert_eq!(u64::from_le_bytes(v), 80);
    let mut old = [0u8; 8];
    assert!(m.insert(&8u32.to_le_bytes(), &81u64.to_le_bytes(), Some(&mut old)).unwrap());
    assert_eq!((u64::from_le_bytes(old), typed.get(&8)), (80, Some(81)));
    assert!(m.update(&8u32.to_le_bytes(), &mut v, |b| b.copy_from_slice(&82u64.to_le_bytes())).unwrap());
    assert_eq!((u64::from_le_bytes(v), typed.get(&8)), (82, Some(82)));
    assert!(!m.update(&9u32.to_le_bytes(), &mut v, |_| unreachable!()).unwrap());
    assert!(m.contains(&7u32.to_le_bytes()).unwrap());
    assert!(m.remove(&7u32.to_le_bytes(), Some(&mut old)).unwrap());
    assert_eq!(u64::from_le_bytes(old), 70);
    assert!(!m.remove(&7u32.to_le_bytes(), None).unwrap());
    assert_eq!(typed.get(&7), None);
    // Buffers of the wrong size are invalid arguments, never a panic.
    for r in [
        m.get(&[0u8; 8], &mut v),
        m.get(&[0u8; 4], &mut [0u8; 4]),
        m.insert(&[0u8; 4], &[0u8; 7], None),
        m.insert(&[0u8; 4], &[0u8; 8], Some(&mut [0u8; 2])),
        m.remove(&[0u8; 3], None),
        m.contains(&[]),
    ] {
        assert!(matches!(r, Err(Error::InvalidArgument { .. })), "{r:?}");
    }
    for k in 100..107u32 {
        m.insert(&k.to_le_bytes(), &u64::from(k).to_le_bytes(), None).unwrap();
    }
    assert_eq!(m.len(), 8);
    assert!(matches!(m.insert(&200u32.to_le_bytes(), &[0u8; 8], None), Err(Error::MapFull { capacity: 8, .. })));
    let (mut keys, mut values) = ([0u8; 4 * 5], [0u8; 8 * 5]);
    assert_eq!(m.entries_into(&mut keys, &mut values).unwrap(), (5, false));
    let (mut keys, mut values) = ([0u8; 4 * 10], [0u8; 8 * 10]);
    assert_eq!(m.entries_into(&mut keys, &mut values).unwrap(), (8, true));
    assert!(matches!(m.entries_into(&mut keys, &mut values[..8 * 9]), Err(Error::InvalidArgument { .. })));
    assert!(matches!(m.entries_into(&mut keys[..5], &mut values), Err(Error::InvalidArgument { .. })));
    let mut from_bytes: Vec<(u32, u64)> = m
        .entries()
        .into_iter()
        .map(|(k, v)| (u32::from_le_bytes(k.try_into().unwrap()), u64::from_le_bytes(v.try_into().unwrap())))
        .collect();
    let mut from_typed = typed.entries();
    from_bytes.sort();
    from_typed.sort();
    assert_eq!(from_bytes, from_typed);
    assert_eq!(m.reclaim_dead(), 0);

    let s = DynSet::open(&seg, "s", ElementSpec::with_layout(2, "u16")).unwrap();
    assert!(matches!(DynSet::open(&seg, "s", ElementSpec::with_layout(2, "i16")), Err(Error::LayoutMismatch { .. })));
    assert_eq!((s.key_size(), s.capacity(), s.slots()), (2, 3, 8));
    assert!(s.insert(&5u16.to_le_bytes()).unwrap());
    assert!(!s.insert(&5u16.to_le_bytes()).unwrap());
    assert!(typed_set.contains(&5));
    typed_set.insert(6).unwrap();
    assert!(s.contains(&6u16.to_le_bytes()).unwrap());
    assert!(s.insert(&7u16.to_le_bytes()).unwrap());
    assert!(matches!(s.insert(&8u16.to_le_bytes()), Err(Error::MapFull { capacity: 3, .. })));
    assert!(matches!(s.insert(&[1]), Err(Error::InvalidArgument { .. })));
    assert!(s.remove(&5u16.to_le_bytes()).unwrap());
    assert!(!s.contains(&5u16.to_le_bytes()).unwrap());
    let mut keys = [0u8; 2 * 4];
    assert_eq!(s.keys_into(&mut keys).unwrap(), (2, true));
    assert_eq!(s.keys_into(&mut keys[..2]).unwrap(), (1, false));
    let mut got: Vec<u16> = s.keys().into_iter().map(|k| u16::from_le_bytes(k.try_into().unwrap())).collect();
    got.sort();
    assert_eq!(got, [6, 7]);
    assert_eq!(s.len(), 2);
    drop((m, s, typed, typed_set, seg));
}
