// Names in a segment's table are unique, `name` overrides included.
use zipc::{Array, Atomic, ShmSegment};

#[derive(ShmSegment)]
pub struct Plant {
    #[zipc(capacity = 4)]
    pub temps: Array<f32>,
    #[zipc(name = "temps")]
    pub count: Atomic<u64>,
    #[zipc(name = "seq")]
    pub first: Atomic<u32>,
    #[zipc(name = "seq")]
    pub second: Atomic<u32>,
}

fn main() {}
