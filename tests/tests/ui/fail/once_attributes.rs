// A once takes no parameters: every attribute but `name` is refused, each with what the kind
// does take; what it initialises is up to the caller, not an attribute.
use zipc::{Once, ShmSegment};

#[derive(ShmSegment)]
#[zipc(max_entries = 8)]
pub struct Wrong {
    #[zipc(capacity = 4)]
    pub sized: Once,
    #[zipc(initial = 1)]
    pub primed: Once,
    #[zipc(count = 1)]
    pub counted: Once,
    #[zipc(name = "fine")]
    pub renamed: Once,
}

fn main() {}
