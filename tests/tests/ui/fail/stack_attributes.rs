// A stack takes a capacity, required, from 1 to 2^32 - 2 (node indices are 32-bit, one value
// meaning "none"), and nothing else.
use zipc::{ShmSegment, Stack};

#[derive(ShmSegment)]
pub struct Undo {
    pub none: Stack<u64>,
    #[zipc(capacity = 0)]
    pub zero: Stack<u64>,
    #[zipc(capacity = 4294967295)]
    pub huge: Stack<u64>,
    #[zipc(capacity = 8, overwrite = true)]
    pub lossy: Stack<u64>,
}

fn main() {}
