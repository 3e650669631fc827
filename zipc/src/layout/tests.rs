//! Tests of the layout model.

use super::*;

const U8: TypeLayout<'static> = TypeLayout::Primitive(Primitive::U8);
const U32: TypeLayout<'static> = TypeLayout::Primitive(Primitive::U32);
const U64: TypeLayout<'static> = TypeLayout::Primitive(Primitive::U64);
const F32: TypeLayout<'static> = TypeLayout::Primitive(Primitive::F32);
const VALS: TypeLayout<'static> = TypeLayout::Array { elem: &F32, len: 8 };
const READING: StructLayout<'static> = StructLayout {
    name: "Reading",
    doc: "",
    size: 48,
    align: 8,
    fields: &[
        FieldLayout { name: "ts", doc: "", offset: 0, ty: U64 },
        FieldLayout { name: "vals", doc: "", offset: 8, ty: VALS },
        FieldLayout { name: "id", doc: "", offset: 40, ty: U32 },
        FieldLayout { name: "flags", doc: "", offset: 44, ty: U32 },
    ],
};
const READING_T: TypeLayout<'static> = TypeLayout::Struct(&READING);

#[test]
fn canonical_string_and_len_agree() {
    let s = canonical(&READING_T);
    assert_eq!(s, "{ts:u64@0,vals:[f32;8]@8,id:u32@40,flags:u32@44}#48");
    assert_eq!(canonical_len(&READING_T), s.len() as u64);
    let nested = TypeLayout::Array { elem: &READING_T, len: 1234 };
    assert_eq!(canonical_len(&nested), canonical(&nested).len() as u64);
    assert_eq!(type_record_len(&nested), type_record(&nested).len() as u64);
    assert_eq!(nested.display_name(), "[Reading; 1234]");
}

#[test]
fn fnv1a_reference_values() {
    // Published FNV-1a 64 test vectors.
    assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
    assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
}

#[test]
fn gaps_are_found() {
    assert_eq!(first_gap(&READING), None);
    const PADDED: StructLayout<'static> = StructLayout {
        name: "P",
        doc: "",
        size: 16,
        align: 4,
        fields: &[
            FieldLayout { name: "a", doc: "", offset: 0, ty: U8 },
            FieldLayout { name: "b", doc: "", offset: 8, ty: U32 },
        ],
    };
    assert_eq!(first_gap(&PADDED), Some(Gap { offset: 1, len: 7 }));
    let issues = check_struct(&PADDED);
    assert_eq!(
        issues,
        vec![StructIssue::Padding(Gap { offset: 1, len: 7 }), StructIssue::Padding(Gap { offset: 12, len: 4 })]
    );
    assert_eq!(Gap { offset: 12, len: 4 }.suggestion(), "_pad12: u32");
    assert_eq!(Gap { offset: 1, len: 7 }.suggestion(), "_pad1: [u8; 7]");
}

#[test]
fn repr_c_matches_rustc() {
    #[repr(C)]
    struct R {
        a: u8,
        b: u32,
        c: u64,
        d: u16,
    }
    let r = repr_c([U8, U32, U64, TypeLayout::Primitive(Primitive::U16)]);
    assert_eq!(
        r.offsets,
        vec![
            std::mem::offset_of!(R, a) as u64,
            std::mem::offset_of!(R, b) as u64,
            std::mem::offset_of!(R, c) as u64,
            std::mem::offset_of!(R, d) as u64
        ]
    );
    assert_eq!(r.size, std::mem::size_of::<R>() as u64);
    assert_eq!(r.align, std::mem::align_of::<R>() as u64);
    assert_eq!(r.gaps, vec![Gap { offset: 1, len: 3 }, Gap { offset: 18, len: 6 }]);
}

#[test]
fn structure_names_are_checked() {
    assert_eq!(check_structure_name(""), Err(LayoutError::NameEmpty));
    assert_eq!(check_structure_name(&"x".repeat(32)), Err(LayoutError::NameTooLong { len: 32 }));
    assert!(check_structure_name(&"x".repeat(31)).is_ok());
    assert_eq!(check_structure_name("a\0b"), Err(LayoutError::NameHasNul));
    assert_eq!(check_structure_name("__zipc_x"), Err(LayoutError::NameReserved));
}

#[test]
fn segment_size_is_the_sum_of_placements() {
    const S: &[StructureLayout<'static>] = &[
        StructureLayout { capacity: 100, ..StructureLayout::new("readings", Kind::Array, Some(READING_T)) },
        StructureLayout { initial: 7, ..StructureLayout::new("count", Kind::Atomic, Some(U64)) },
    ];
    const SEG: SegmentLayout<'static> = SegmentLayout { name: None, max_entries: 8, max_processes: 4, structures: S };
    const SIZE: u64 = match SEG.size() {
        Ok(s) => s,
        Err(_) => panic!("bad layout"),
    };
    let p = SEG.placements().unwrap();
    assert_eq!(p.len(), 3);
    assert_eq!(p.last().unwrap().1.end, SIZE);
    assert_eq!(p[1].1.size, 8 + 100 * 48);
    assert_eq!(p[2].1.offset % 128, 0);
    let dup = SegmentLayout { structures: &[S[0], S[0]], ..SEG };
    assert_eq!(dup.validate(), Err(LayoutError::DuplicateName { index: 1 }));
    let full = SegmentLayout { max_entries: 2, ..SEG };
    assert_eq!(full.validate(), Err(LayoutError::TooManyStructures { needed: 3, max_entries: 2 }));
}

#[test]
fn gaps_are_found_per_field() {
    const PADDED: StructLayout<'static> = StructLayout {
        name: "P",
        doc: "",
        size: 24,
        align: 8,
        fields: &[
            FieldLayout { name: "a", doc: "", offset: 0, ty: U8 },
            FieldLayout { name: "b", doc: "", offset: 4, ty: U32 },
            FieldLayout { name: "c", doc: "", offset: 8, ty: U64 },
            FieldLayout { name: "d", doc: "", offset: 16, ty: U8 },
        ],
    };
    assert_eq!(gap_before(&PADDED, 0), None);
    assert_eq!(gap_before(&PADDED, 1), Some(Gap { offset: 1, len: 3 }));
    assert_eq!(gap_before(&PADDED, 2), None);
    assert_eq!(gap_before(&PADDED, 3), None);
    assert_eq!(gap_before(&PADDED, 4), Some(Gap { offset: 17, len: 7 }), "trailing padding");
    assert_eq!(first_gap(&PADDED), Some(Gap { offset: 1, len: 3 }));
    assert_eq!(gap_before(&READING, 4), None);
    let mut m = Message::new();
    Gap { offset: 2, len: 2 }.write_suggestion(&mut m);
    assert_eq!(m.as_str(), "_pad2: u16");
}

#[test]
fn parameters_apply_through_the_table() {
    let array = StructureLayout::new("xs", Kind::Array, Some(U32));
    assert_eq!(array.with_parameter("capacity", Arg::Int(10)).unwrap().capacity, 10);
    let e = array.with_parameter("capacity", Arg::Int(0)).unwrap_err();
    assert!(matches!(e, ParameterError::OutOfRange { value: 0, .. }));
    assert_eq!(e.to_string(), "Array `capacity` must be at least 1, not 0 [`capacity`: number of elements]");
    let e = array.with_parameter("capacity", Arg::Bool(true)).unwrap_err();
    assert_eq!(e.to_string(), "Array `capacity` takes an integer of at least 1 [`capacity`: number of elements]");
    assert!(matches!(
        array.with_parameter("initial", Arg::Int(1)),
        Err(ParameterError::Unknown { name: "initial", .. })
    ));

    // Signed values keep their 64-bit pattern: a u64 atomic may start at u64::MAX.
    let atomic = StructureLayout::new("n", Kind::Atomic, Some(U64));
    assert_eq!(atomic.with_parameter("initial", Arg::Int(-3)).unwrap().initial, -3);
    assert_eq!(atomic.with_parameter("initial", Arg::Int(u64::MAX as i128)).unwrap().initial, -1);
    assert!(atomic.with_parameter("initial", Arg::Int(u64::MAX as i128 + 1)).is_err());

    // Booleans set and clear flag bits; choices store their code.
    let ring = StructureLayout::new("r", Kind::Ring, Some(U32));
    let on = ring.with_parameter("overwrite", Arg::Bool(true)).unwrap();
    assert_eq!(on.flags, flags::RING_OVERWRITE);
    assert_eq!(on.with_parameter("overwrite", Arg::Bool(false)).unwrap().flags, 0);
    let queue = StructureLayout::new("q", Kind::Queue, Some(U32));
    assert_eq!(queue.with_parameter("policy", Arg::Str("mpsc")).unwrap().flags, flags::POLICY_MPSC);
    let e = queue.with_parameter("policy", Arg::Str("spmc")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Queue `policy` cannot be \"spmc\": it is \"spsc\", \"mpsc\" or \"mpmc\" [`policy`: spsc, mpsc or mpmc]"
    );
    let event = StructureLayout::new("e", Kind::Event, None);
    assert_eq!(event.with_parameter("initially_set", Arg::Bool(true)).unwrap().initial, 1);
    let latch = StructureLayout::new("l", Kind::Latch, None);
    assert!(latch.with_parameter("count", Arg::Int(i64::MAX as i128 + 1)).is_err(), "an i64 slot");
    let e = StructureLayout::new("m", Kind::Mutex, None).with_parameter("capacity", Arg::Int(1)).unwrap_err();
    assert_eq!(e.to_string(), "Mutex takes no parameter `capacity`; its parameters: none");

    // Every parameter of every kind is reachable by its name.
    for kind in Kind::ALL {
        for p in kind.parameters() {
            assert_eq!(kind.parameter(p.name), Some(p));
        }
    }
}

#[test]
fn const_messages_match_display() {
    for e in [
        LayoutError::NameTooLong { len: 40 },
        LayoutError::NameReserved,
        LayoutError::TooManyStructures { needed: 9, max_entries: 8 },
        LayoutError::MaxEntries { value: 0 },
        LayoutError::InvalidParameter { kind: Kind::Array, parameter: "capacity", rule: "must be at least 1" },
    ] {
        assert_eq!(e.to_string(), e.message().as_str());
    }
    assert_eq!(
        LayoutError::NameTooLong { len: 40 }.to_string(),
        "the name is 40 bytes long; the table holds at most 31 (shorten it)"
    );
    assert_eq!(LayoutError::NameReserved.to_string(), "names starting with \"__zipc\" are reserved for zipc");
}

#[test]
fn segment_checks_split_by_structure() {
    let a = StructureLayout { capacity: 4, ..StructureLayout::new("a", Kind::Array, Some(U8)) };
    let bad = StructureLayout::new("b", Kind::Array, Some(U8));
    let seg = SegmentLayout { name: None, max_entries: 8, max_processes: 4, structures: &[a, bad, a] };
    assert_eq!(seg.check_table(), Ok(()));
    assert_eq!(seg.check_structure(0), Ok(()));
    assert!(matches!(seg.check_structure(1), Err(LayoutError::InvalidParameter { .. })));
    assert_eq!(seg.check_structure(2), Err(LayoutError::DuplicateName { index: 2 }));
    assert_eq!(seg.first_with_name(2), Some(0));
    assert!(seg.validate().is_err());
}
