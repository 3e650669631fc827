// The runtime is reached through `#[zipc(crate = "...")]`, for a renamed or re-exported zipc.
mod rt {
    pub use zipc::*;
}

use rt::{Array, ShmSegment, ShmType};

#[derive(Clone, Copy, ShmType, rt::FromBytes, rt::IntoBytes, rt::Immutable, rt::KnownLayout)]
#[zerocopy(crate = "crate::rt::zerocopy")]
#[zipc(crate = "crate::rt")]
#[repr(C)]
pub struct Item {
    pub a: u64,
}

#[derive(ShmSegment)]
#[zipc(crate = "crate::rt")]
pub struct Store {
    #[zipc(capacity = 3)]
    pub items: Array<Item>,
}

fn main() {
    assert_eq!(Store::LAYOUT.structures[0].capacity, 3);
}
