// Without #[repr(C)] Rust may reorder fields; zipc refuses the struct.
use zipc::ShmType;

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
pub struct NoRepr {
    pub a: u32,
    pub b: u32,
}

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C, packed)]
pub struct Packed {
    pub a: u8,
    pub b: u32,
}

fn main() {}
