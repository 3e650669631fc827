// ShmType builds on zerocopy's derives; the missing ones are named.
use zipc::ShmType;

#[derive(Clone, Copy, ShmType, zipc::IntoBytes, zipc::Immutable)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
pub struct Half {
    pub a: u32,
    pub b: f32,
}

fn main() {}
