// A map and a set take a capacity, required, from 1 to 2^30 (the table has twice as many slots,
// a power of two, at most 2^31), and nothing else.
use zipc::{Map, Set, ShmSegment};

#[derive(ShmSegment)]
pub struct Index {
    pub none: Map<u64, u32>,
    #[zipc(capacity = 0)]
    pub zero: Map<[u8; 16], u64>,
    #[zipc(capacity = 1073741825)]
    pub huge: Map<u32, u32>,
    #[zipc(capacity = 8, overwrite = true)]
    pub lossy: Map<u32, u32>,
    pub no_keys: Set<u64>,
    #[zipc(capacity = 0)]
    pub empty: Set<u64>,
    #[zipc(capacity = 2147483648)]
    pub vast: Set<u16>,
    #[zipc(capacity = 4, value = "u64")]
    pub valued: Set<u64>,
}

fn main() {}
