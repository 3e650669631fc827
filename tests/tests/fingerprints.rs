//! Golden values: the canonical layout strings and FNV-1a fingerprints of derived types. A
//! segment stores these, and C and Python compute them too, so they must never change for a
//! given layout. The expected hashes were computed independently (Python, from the strings and
//! the FNV-1a definition in docs/FORMAT.md), not by zipc.

use zipc::layout::{canonical, fingerprint, type_record, TypeLayout};
use zipc::ShmType;

/// The example of docs/FORMAT.md.
#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Reading {
    ts: u64,
    vals: [f32; 8],
    id: u32,
    flags: u32,
}

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Vec3 {
    x: f32,
    y: f32,
    z: f32,
}

/// Nested struct, array of structs, explicit padding.
#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Body {
    id: u8,
    _pad: [u8; 3],
    pos: Vec3,
    path: [Vec3; 2],
    mass: f64,
}

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Byte {
    a: u8,
}

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Matrix {
    m: [[f64; 4]; 4],
}

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Signed {
    lo: i16,
    hi: i16,
    count: i32,
    total: i64,
}

/// `Vec3` under another name, with docs: the same layout, so the same fingerprint.
#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Point {
    /// Documented.
    x: f32,
    y: f32,
    z: f32,
}

const GOLDEN: &[(&str, TypeLayout<'static>, &str, u64)] = &[
    ("Reading", Reading::SHM_LAYOUT, "{ts:u64@0,vals:[f32;8]@8,id:u32@40,flags:u32@44}#48", 0x9fdcbe2afd6a7870),
    ("Vec3", Vec3::SHM_LAYOUT, "{x:f32@0,y:f32@4,z:f32@8}#12", 0x3acd61cac4ff0451),
    (
        "Body",
        Body::SHM_LAYOUT,
        "{id:u8@0,_pad:[u8;3]@1,pos:{x:f32@0,y:f32@4,z:f32@8}#12@4,path:[{x:f32@0,y:f32@4,z:f32@8}#12;2]@16,mass:f64@40}#48",
        0xb143573311d5e595,
    ),
    ("Byte", Byte::SHM_LAYOUT, "{a:u8@0}#1", 0x94df74c72f34da33),
    ("Matrix", Matrix::SHM_LAYOUT, "{m:[[f64;4];4]@0}#128", 0xcc1233d7777d5432),
    ("Signed", Signed::SHM_LAYOUT, "{lo:i16@0,hi:i16@2,count:i32@4,total:i64@8}#16", 0x60ef06cf049ad0a1),
    ("[Vec3; 3]", <[Vec3; 3]>::SHM_LAYOUT, "[{x:f32@0,y:f32@4,z:f32@8}#12;3]", 0x74485263473a6adf),
];

#[test]
fn canonical_strings_and_fingerprints_are_stable() {
    for &(name, layout, string, hash) in GOLDEN {
        assert_eq!(canonical(&layout), string, "{name}");
        assert_eq!(fingerprint(&layout), hash, "{name}: {:#x}", fingerprint(&layout));
        assert_eq!(layout.display_name(), name);
        let mut record = name.as_bytes().to_vec();
        record.push(0);
        record.extend_from_slice(string.as_bytes());
        assert_eq!(type_record(&layout), record, "{name}");
    }
}

#[test]
fn layouts_are_rustcs() {
    for (layout, size, align) in [
        (Reading::SHM_LAYOUT, size_of::<Reading>(), align_of::<Reading>()),
        (Body::SHM_LAYOUT, size_of::<Body>(), align_of::<Body>()),
        (Matrix::SHM_LAYOUT, size_of::<Matrix>(), align_of::<Matrix>()),
    ] {
        assert_eq!((layout.size(), layout.align()), (size as u64, align as u64));
    }
    let TypeLayout::Struct(body) = Body::SHM_LAYOUT else { panic!("a struct") };
    assert_eq!(body.doc, "Nested struct, array of structs, explicit padding.");
    assert_eq!(body.fields[4].offset, std::mem::offset_of!(Body, mass) as u64);
}

#[test]
fn names_and_docs_are_not_part_of_the_identity() {
    assert_eq!(fingerprint(&Point::SHM_LAYOUT), fingerprint(&Vec3::SHM_LAYOUT));
    assert_eq!(Point::SHM_LAYOUT, Vec3::SHM_LAYOUT);
    assert_ne!(fingerprint(&Point::SHM_LAYOUT), fingerprint(&<[f32; 3]>::SHM_LAYOUT), "fields are named");
}
