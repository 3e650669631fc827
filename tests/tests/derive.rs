//! Segments declared with `#[derive(ShmSegment)]`: created by one process and opened by another;
//! declarations that differ from the segment (a field type, field order, a capacity, a kind) are
//! refused with every difference named; concurrent `open_or_create` never sees a half-built
//! segment.

use std::time::Duration;

use zipc::layout::Kind;
use zipc::{Array, Atomic, Error, Object, ShmSegment, ShmType};
use zipc_tests::{child_args, spawn_role, wait_bounded, ShmName};

/// A sensor reading, as both processes declare it.
#[derive(
    Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
pub struct Reading {
    /// Timestamp.
    pub ts: u64,
    /// Values.
    pub vals: [f32; 4],
    /// Sensor.
    pub id: u32,
    /// Explicit padding.
    pub _pad: u32,
}

/// The segment both processes declare.
#[derive(ShmSegment)]
#[zipc(max_entries = 8, max_processes = 16)]
pub struct Plant {
    /// The last readings.
    #[zipc(capacity = 64)]
    pub readings: Array<Reading>,
    /// Frame counter.
    #[zipc(initial = 5)]
    pub frame: Atomic<u64>,
    /// Calibration pairs, in the table as "cal".
    #[zipc(capacity = 4, name = "cal")]
    pub calibration: Array<[f64; 2]>,
}

fn reading(i: u32) -> Reading {
    Reading { ts: 1000 + i as u64, vals: [i as f32, 0.5, -1.0, 2.0], id: i, _pad: 0 }
}

/// Declarations that differ from `Plant` in one way each (and one in several). Only ever
/// opened, and refused, so their handles are never read.
#[allow(dead_code)]
mod other {
    use super::*;

    /// `id` is an i32 instead of a u32.
    #[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
    #[zerocopy(crate = "zipc::zerocopy")]
    #[repr(C)]
    pub struct SignedId {
        pub ts: u64,
        pub vals: [f32; 4],
        pub id: i32,
        pub _pad: u32,
    }

    /// `id` and `_pad` swapped: same size and types, another order.
    #[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
    #[zerocopy(crate = "zipc::zerocopy")]
    #[repr(C)]
    pub struct Reordered {
        pub ts: u64,
        pub vals: [f32; 4],
        pub _pad: u32,
        pub id: u32,
    }

    #[derive(ShmSegment)]
    pub struct FieldType {
        #[zipc(capacity = 64)]
        pub readings: Array<SignedId>,
        pub frame: Atomic<u64>,
        #[zipc(capacity = 4, name = "cal")]
        pub calibration: Array<[f64; 2]>,
    }

    #[derive(ShmSegment)]
    pub struct FieldOrder {
        #[zipc(capacity = 64)]
        pub readings: Array<Reordered>,
        pub frame: Atomic<u64>,
        #[zipc(capacity = 4, name = "cal")]
        pub calibration: Array<[f64; 2]>,
    }

    #[derive(ShmSegment)]
    pub struct Capacity {
        #[zipc(capacity = 65)]
        pub readings: Array<Reading>,
        pub frame: Atomic<u64>,
        #[zipc(capacity = 4, name = "cal")]
        pub calibration: Array<[f64; 2]>,
    }

    #[derive(ShmSegment)]
    pub struct WrongKind {
        #[zipc(capacity = 64)]
        pub readings: Array<Reading>,
        #[zipc(capacity = 1)]
        pub frame: Array<u64>,
        #[zipc(capacity = 4, name = "cal")]
        pub calibration: Array<[f64; 2]>,
    }

    /// Three differences and a structure the segment does not have.
    #[derive(ShmSegment)]
    pub struct Several {
        #[zipc(capacity = 64)]
        pub readings: Array<Reordered>,
        pub frame: Atomic<u32>,
        #[zipc(capacity = 5, name = "cal")]
        pub calibration: Array<[f64; 2]>,
        #[zipc(capacity = 1)]
        pub extra: Array<u8>,
    }
}

/// The one difference `open` reports, checked to name the structure.
fn single_mismatch(err: Error) -> Error {
    let text = err.to_string();
    match err {
        Error::Incompatible { mismatches, .. } => {
            assert_eq!(mismatches.len(), 1, "{text}");
            mismatches.into_iter().next().unwrap()
        }
        other => panic!("expected Error::Incompatible, got {other}"),
    }
}

/// What a child process that opens the parent's segment checks.
fn open_from_child(name: &str) {
    // The same declaration: the parent's data is there, and writes go back.
    let p = Plant::open(name).expect("the same declaration opens");
    assert_eq!(p.readings.get(3), Some(reading(3)));
    assert_eq!(p.frame.load(), 42);
    assert_eq!(p.calibration.get(1), Some([1.5, -2.5]));
    p.readings.set(4, reading(44)).unwrap();
    p.frame.store(43);

    // A field type differs.
    match single_mismatch(other::FieldType::open(name).err().expect("a field type differs")) {
        Error::LayoutMismatch { structure, expected, found } => {
            assert_eq!(structure, "readings");
            assert!(expected.contains("id:i32@24"), "{expected}");
            assert!(found.contains("id:u32@24"), "{found}");
        }
        e => panic!("expected a layout mismatch, got {e}"),
    }

    // Field order differs.
    match single_mismatch(other::FieldOrder::open(name).err().expect("the field order differs")) {
        Error::LayoutMismatch { structure, expected, found } => {
            assert_eq!(structure, "readings");
            assert_eq!(expected, "{ts:u64@0,vals:[f32;4]@8,_pad:u32@24,id:u32@28}#32");
            assert_eq!(found, "{ts:u64@0,vals:[f32;4]@8,id:u32@24,_pad:u32@28}#32");
        }
        e => panic!("expected a layout mismatch, got {e}"),
    }

    // A capacity differs.
    match single_mismatch(other::Capacity::open(name).err().expect("a capacity differs")) {
        Error::CapacityMismatch { structure, expected, found } => {
            assert_eq!((structure.as_str(), expected, found), ("readings", 65, 64));
        }
        e => panic!("expected a capacity mismatch, got {e}"),
    }

    // A kind differs.
    match single_mismatch(other::WrongKind::open(name).err().expect("a kind differs")) {
        Error::KindMismatch { structure, expected, found } => {
            assert_eq!((structure.as_str(), expected, found), ("frame", Kind::Array, Some(Kind::Atomic)));
        }
        e => panic!("expected a kind mismatch, got {e}"),
    }

    // Everything at once: one error lists every difference, each naming its structure.
    let err = other::Several::open(name).err().expect("several differences");
    let text = err.to_string();
    let Error::Incompatible { segment, mismatches } = err else { panic!("expected Incompatible: {text}") };
    assert_eq!(segment, name);
    assert_eq!(mismatches.len(), 4, "{text}");
    assert!(matches!(&mismatches[0], Error::LayoutMismatch { structure, .. } if structure == "readings"), "{text}");
    assert!(
        matches!(&mismatches[1], Error::LayoutMismatch { structure, expected, found } if structure == "frame" && expected == "u32" && found == "u64"),
        "{text}"
    );
    assert!(
        matches!(&mismatches[2], Error::CapacityMismatch { structure, expected: 5, found: 4 } if structure == "cal"),
        "{text}"
    );
    assert!(matches!(&mismatches[3], Error::NotFound { object: Object::Structure, name } if name == "extra"), "{text}");
    assert!(text.contains("4 differences"), "{text}");
    for s in ["\"readings\"", "\"frame\"", "\"cal\"", "\"extra\""] {
        assert!(text.contains(s), "{s} not named in: {text}");
    }
}

#[test]
fn created_by_one_process_opened_by_another() {
    if let Some(args) = child_args("created_by_one_process_opened_by_another") {
        return open_from_child(&args[0]);
    }
    let name = ShmName::new("derive");
    let p = Plant::create(&name).unwrap();
    // Sized exactly: the segment file is SIZE rounded up to the page size.
    let page = zipc::page_size();
    assert_eq!(p.readings.segment().size(), Plant::SIZE.div_ceil(page) * page);
    assert_eq!(p.readings.segment().max_entries(), 8);
    assert_eq!(p.readings.len(), 64);
    assert_eq!(p.calibration.name(), "cal");
    assert_eq!(p.frame.load(), 5, "initial value from the attribute");
    p.readings.set(3, reading(3)).unwrap();
    p.calibration.set(1, [1.5, -2.5]).unwrap();
    p.frame.store(42);
    assert!(matches!(Plant::create(&name), Err(Error::AlreadyExists { object: Object::Segment, .. })));

    let mut child = spawn_role("created_by_one_process_opened_by_another", &[&name]);
    assert!(wait_bounded(&mut child, Duration::from_secs(60)), "the child's checks failed (see its output)");
    assert_eq!(p.readings.get(4), Some(reading(44)), "the child's write is visible");
    assert_eq!(p.frame.load(), 43);

    Plant::unlink(&name).unwrap();
    assert!(matches!(Plant::open(&name), Err(Error::NotFound { object: Object::Segment, .. })));
}

#[test]
fn open_or_create_races_see_a_complete_segment() {
    if let Some(args) = child_args("open_or_create_races_see_a_complete_segment") {
        // Every racer either creates the segment or opens a complete one: an open that saw it
        // before its structures existed would fail with a missing structure.
        let p = Plant::open_or_create(&args[0]).expect("open_or_create");
        p.frame.fetch_add(1);
        return;
    }
    let name = ShmName::new("derive-race");
    let mut children: Vec<_> =
        (0..4).map(|_| spawn_role("open_or_create_races_see_a_complete_segment", &[&name])).collect();
    for c in &mut children {
        assert!(wait_bounded(c, Duration::from_secs(60)), "a racer failed (see its output)");
    }
    let p = Plant::open(&name).unwrap();
    assert_eq!(p.frame.load(), 5 + 4, "one creator, four increments");
}

#[test]
fn default_name_and_failed_create_leave_nothing() {
    /// A declared default name (unique to this process, so parallel test runs do not collide).
    #[derive(ShmSegment)]
    #[zipc(name = "/zipc-test-derive-default")]
    pub struct Named {
        pub count: Atomic<u32>,
    }
    let pid_name = ShmName(format!("{}-{}", Named::NAME, std::process::id()));
    let _ = Named::unlink(&pid_name);
    let n = Named::create(&pid_name).unwrap();
    n.count.store(7);
    assert_eq!(Named::open(&pid_name).unwrap().count.load(), 7);
    assert_eq!(Named::NAME, "/zipc-test-derive-default");
    assert_eq!(Named::LAYOUT.name, Some(Named::NAME));

    // An invalid segment name: nothing is created.
    let err = Plant::create("no-slash").err().expect("invalid name");
    assert!(matches!(err, Error::InvalidName { object: Object::Segment, .. }), "{err}");
}

#[test]
fn layout_matches_the_runtime() {
    // SIZE is the layout model's size; create allocates exactly that (no free bytes left below
    // the page rounding), so SIZE is also what the allocator used.
    let name = ShmName::new("derive-size");
    let p = Plant::create(&name).unwrap();
    let seg = p.readings.segment();
    assert_eq!(seg.size() - seg.free_bytes().unwrap(), Plant::SIZE);
    let entries = seg.entries().unwrap();
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["readings", "frame", "cal"]);
    let placements = Plant::LAYOUT.placements().unwrap();
    for (e, (pname, place)) in entries.iter().zip(&placements[1..]) {
        assert_eq!((&e.name, e.offset, e.size), (pname, place.offset, place.size));
    }
}

/// Declarations whose value-level flags differ: a ring's `overwrite` and an event's
/// `manual_reset` are attributes (not types), carried in `LAYOUT`'s flags, written into the
/// segment by `create`, and compared by `open`.
mod flags {
    use zipc::{Event, Ring, ShmSegment};

    #[derive(ShmSegment)]
    pub struct Signals {
        #[zipc(capacity = 4, overwrite = true)]
        pub recent: Ring<u64>,
        #[zipc(manual_reset = true)]
        pub go: Event,
        #[zipc(initially_set = true)]
        pub once: Event,
    }

    /// `Signals` with the defaults: a lossless ring, auto-reset events.
    #[allow(dead_code)] // only ever refused
    #[derive(ShmSegment)]
    pub struct Defaults {
        #[zipc(capacity = 4)]
        pub recent: Ring<u64>,
        pub go: Event,
        pub once: Event,
    }
}

fn signals_child(name: &str) {
    let s = flags::Signals::open(name).expect("the same declaration opens");
    assert_eq!(s.recent.mode(), zipc::RingMode::Overwrite);
    let mut c = s.recent.consumer().unwrap();
    let got: Vec<u64> = std::iter::from_fn(|| c.try_pop()).collect();
    assert_eq!(got, [6, 7, 8, 9], "the overwriting ring kept the newest four of ten");
    assert_eq!(c.missed(), 6);
    // Manual reset: a set releases every wait until someone resets it.
    assert_eq!(s.go.mode(), zipc::ResetMode::Manual);
    assert!(s.go.try_wait() && s.go.try_wait());
    s.go.reset();
    // Auto reset, initially set: one wait consumes it.
    assert_eq!(s.once.mode(), zipc::ResetMode::Auto);
    assert!(s.once.try_wait() && !s.once.try_wait());
}

#[test]
fn value_level_flags_round_trip_across_processes() {
    if let Some(args) = child_args("value_level_flags_round_trip_across_processes") {
        return signals_child(&args[0]);
    }
    use zipc::layout::flags::{EVENT_MANUAL_RESET, RING_OVERWRITE};
    let l = flags::Signals::LAYOUT.structures;
    assert_eq!((l[0].flags, l[1].flags, l[2].flags, l[2].initial), (RING_OVERWRITE, EVENT_MANUAL_RESET, 0, 1));
    assert!(flags::Defaults::LAYOUT.structures.iter().all(|s| s.flags == 0));

    let name = ShmName::new("derive-flags");
    let s = flags::Signals::create(&name).unwrap();
    let mut p = s.recent.producer().unwrap();
    for i in 0..10 {
        assert!(p.try_push(i), "an overwriting ring takes every element");
    }
    drop(p);
    s.go.set();
    let mut child = spawn_role("value_level_flags_round_trip_across_processes", &[&name]);
    assert!(wait_bounded(&mut child, Duration::from_secs(60)), "the child's checks failed (see its output)");
    assert!(!s.go.is_set(), "the child reset the manual-reset event");

    // A declaration with the other modes is refused, naming both structures and what differs.
    let err = flags::Defaults::open(&name).err().expect("other modes");
    let text = err.to_string();
    let Error::Incompatible { mismatches, .. } = err else { panic!("{text}") };
    assert_eq!(mismatches.len(), 2, "{text}");
    assert!(
        matches!(&mismatches[0], Error::ParameterMismatch { structure, parameter: "overwrite", expected, found }
            if structure == "recent" && expected == "false" && found == "true"),
        "{text}"
    );
    assert!(
        matches!(&mismatches[1], Error::ParameterMismatch { structure, parameter: "reset mode", expected, found }
            if structure == "go" && expected == "auto" && found == "manual"),
        "{text}"
    );
}
