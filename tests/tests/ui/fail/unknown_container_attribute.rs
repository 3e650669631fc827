// Struct attributes: ShmSegment takes name, max_entries, max_processes and crate; ShmType only
// crate, and no field attributes.
use zipc::{Atomic, ShmSegment, ShmType};

#[derive(ShmSegment)]
#[zipc(name = "/plant", max_entires = 8)]
pub struct Plant {
    pub count: Atomic<u64>,
}

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[zipc(name = "x")]
#[repr(C)]
pub struct Elem {
    #[zipc(capacity = 1)]
    pub a: u32,
}

fn main() {}
