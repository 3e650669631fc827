// The element type of a structure must be a ShmType.
use zipc::{Array, ShmSegment};

#[derive(Clone, Copy)]
#[repr(C)]
pub struct Plain {
    pub a: u32,
}

#[derive(ShmSegment)]
pub struct Plant {
    #[zipc(capacity = 8)]
    pub items: Array<Plain>,
}

fn main() {}
