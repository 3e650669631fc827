// Attributes of an rwlock: `max_readers` is required, an integer from 1 to 1024 (the range is
// zipc's rule, checked at compile time); it takes no other parameter.
use zipc::{RwLock, ShmSegment};

#[derive(ShmSegment)]
#[zipc(max_entries = 8)]
pub struct Wrong {
    pub unsized_: RwLock,
    #[zipc(max_readers = 0)]
    pub nobody: RwLock,
    #[zipc(max_readers = 2000)]
    pub crowd: RwLock,
    #[zipc(max_readers = "many")]
    pub stringly: RwLock,
    #[zipc(max_readers = 4, capacity = 4)]
    pub sized: RwLock,
    #[zipc(max_readers = 1024, name = "fine")]
    pub renamed: RwLock,
}

fn main() {}
