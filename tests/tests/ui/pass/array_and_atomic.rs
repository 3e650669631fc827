// Arrays and atomics with every attribute they take (see every_kind.rs for the others), name overrides, a
// default segment name, table options and docs. Compile-time SIZE equals the layout model's.
use zipc::layout::{Kind, Primitive, TypeLayout};
use zipc::{Array, Atomic, ShmSegment, ShmType};

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
pub struct Sample {
    pub t: f64,
    pub v: [i16; 4],
}

/// The plant's shared state.
#[derive(ShmSegment)]
#[zipc(name = "/plant", max_entries = 12, max_processes = 8)]
pub struct Plant {
    /// Temperatures, one per sensor.
    #[zipc(capacity = 16)]
    pub temps: Array<f32>,
    #[zipc(capacity = 1000, name = "samples_v1")]
    pub samples: Array<Sample>,
    #[zipc(capacity = 2)]
    pub grid: Array<[[u8; 3]; 2]>,
    #[zipc(initial = 7)]
    pub frame: Atomic<u64>,
    #[zipc(initial = -5)]
    pub offset: Atomic<i64>,
    #[zipc(initial = 4294967295)]
    pub mask: Atomic<u32>,
    pub level: Atomic<i32>,
}

#[derive(ShmSegment)]
pub struct Nothing {}

const _: () = assert!(Plant::SIZE > 1000 * 16);

fn main() {
    let l = Plant::LAYOUT;
    assert_eq!(l.name, Some("/plant"));
    assert_eq!(Plant::NAME, "/plant");
    assert_eq!((l.max_entries, l.max_processes), (12, 8));
    assert_eq!(Plant::SIZE, l.size().unwrap());
    let s = l.structures;
    let names: Vec<_> = s.iter().map(|s| s.name).collect();
    assert_eq!(names, ["temps", "samples_v1", "grid", "frame", "offset", "mask", "level"]);
    assert_eq!(s[0].doc, "Temperatures, one per sensor.");
    assert_eq!((s[0].kind, s[0].capacity), (Kind::Array, 16));
    assert_eq!(s[1].capacity, 1000);
    assert_eq!(s[1].elem.unwrap().size(), 16);
    assert_eq!(s[2].elem.unwrap().size(), 6);
    assert_eq!((s[3].kind, s[3].initial), (Kind::Atomic, 7));
    assert!(matches!(s[3].elem, Some(TypeLayout::Primitive(Primitive::U64))));
    assert_eq!(s[4].initial, -5);
    assert_eq!(s[5].initial, 4294967295);
    assert_eq!(s[6].initial, 0);
    assert!(Nothing::LAYOUT.structures.is_empty());
    let _: fn() -> zipc::Result<Plant> = Plant::open_or_create_default;
}
