// A future takes no parameters: every attribute but `name` is refused, each with what the kind
// does take; its value's type is its element, not an attribute.
use zipc::{Future, ShmSegment};

#[derive(ShmSegment)]
#[zipc(max_entries = 8)]
pub struct Wrong {
    #[zipc(capacity = 4)]
    pub sized: Future<u64>,
    #[zipc(initial = 1)]
    pub primed: Future<u32>,
    #[zipc(max_readers = 2)]
    pub shared: Future<[u8; 3]>,
    #[zipc(name = "fine")]
    pub renamed: Future<f64>,
}

fn main() {}
