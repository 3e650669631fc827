// The table holds max_entries entries, one of which is zipc's own.
use zipc::{Atomic, ShmSegment};

#[derive(ShmSegment)]
#[zipc(max_entries = 3)]
pub struct Counters {
    pub a: Atomic<u64>,
    pub b: Atomic<u64>,
    pub c: Atomic<u64>,
}

#[derive(ShmSegment)]
#[zipc(max_entries = 0, max_processes = 0)]
pub struct Empty {}

fn main() {}
