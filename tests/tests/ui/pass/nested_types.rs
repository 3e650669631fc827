// Nested ShmType structs, arrays of structs, explicit padding, arrays of arrays; raw identifiers.
// A crate that forbids unsafe code can still derive (the derive's `unsafe impl` is its own).
#![forbid(unsafe_code)]
use zipc::layout::canonical;
use zipc::ShmType;

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
pub struct Vec3 {
    pub x: f32,
    pub y: f32,
    pub z: f32,
}

/// A body: explicit padding after `id` keeps `pos` where C puts it.
#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
pub struct Body {
    pub id: u8,
    pub _pad: [u8; 3],
    pub pos: Vec3,
    pub path: [Vec3; 2],
    pub r#type: [[u16; 3]; 2],
    pub _tail: u32,
    pub mass: f64,
}

fn main() {
    assert_eq!(canonical(&<Vec3 as ShmType>::SHM_LAYOUT), "{x:f32@0,y:f32@4,z:f32@8}#12");
    let body = <Body as ShmType>::SHM_LAYOUT;
    assert_eq!(body.size(), std::mem::size_of::<Body>() as u64);
    assert_eq!(
        canonical(&body),
        "{id:u8@0,_pad:[u8;3]@1,pos:{x:f32@0,y:f32@4,z:f32@8}#12@4,\
         path:[{x:f32@0,y:f32@4,z:f32@8}#12;2]@16,type:[[u16;3];2]@40,_tail:u32@52,mass:f64@56}#64"
    );
    let zipc::layout::TypeLayout::Struct(s) = body else { panic!("a struct") };
    assert_eq!(s.name, "Body");
    assert!(s.doc.starts_with("A body"));
}
