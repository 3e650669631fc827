// Attributes that cannot be read: each is reported (parsing goes on after one).
use zipc::{Array, Atomic, ShmSegment};

#[derive(ShmSegment)]
#[zipc(max_entries = "many")]
pub struct Plant {
    #[zipc(capacity)]
    pub a: Array<u32>,
    #[zipc(capacity = 1.5)]
    pub b: Array<u32>,
    #[zipc(capacity = SIZE)]
    pub c: Array<u32>,
    #[zipc(name = 7)]
    pub d: Atomic<u32>,
    #[zipc = "x"]
    pub e: Atomic<u32>,
    #[zipc(capacity = 4, capacity = 5)]
    pub f: Array<u32>,
}

const SIZE: u64 = 4;

fn main() {}
