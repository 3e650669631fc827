// A condvar takes no parameters: every attribute but `name` is refused, each with what the
// kind does take; its mutex is a structure of its own, not an attribute.
use zipc::{Condvar, Mutex, ShmSegment};

#[derive(ShmSegment)]
#[zipc(max_entries = 8)]
pub struct Wrong {
    pub lock: Mutex,
    #[zipc(capacity = 4)]
    pub sized: Condvar,
    #[zipc(initial = 1)]
    pub primed: Condvar,
    #[zipc(mutex = "lock")]
    pub paired: Condvar,
    #[zipc(name = "fine")]
    pub renamed: Condvar,
}

fn main() {}
