// A capacity is required, and at least 1.
use zipc::{Array, ShmSegment};

#[derive(ShmSegment)]
pub struct Plant {
    #[zipc(capacity = 0)]
    pub zero: Array<u32>,
    pub none: Array<u32>,
    #[zipc(capacity = -4)]
    pub negative: Array<u32>,
}

fn main() {}
