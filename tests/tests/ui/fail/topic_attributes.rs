// Attributes of a topic: its mode is its type (`Topic<T, Lossy>`), `max_subscribers` is required,
// and the kind's own rules (a power-of-two capacity, 1 to 1024 subscribers, a history below the
// capacity) are zipc's, checked at compile time.
use zipc::{Lossy, ShmSegment, Topic};

#[derive(ShmSegment)]
pub struct Wrong {
    #[zipc(capacity = 8, max_subscribers = 2, mode = "lossy")]
    pub moded: Topic<u32, Lossy>,
    #[zipc(capacity = 8)]
    pub nobody: Topic<u32>,
    #[zipc(capacity = 6, max_subscribers = 2)]
    pub uneven: Topic<u32>,
    #[zipc(capacity = 8, max_subscribers = 0)]
    pub none: Topic<u32>,
    #[zipc(capacity = 8, max_subscribers = 2000)]
    pub crowd: Topic<u32>,
    #[zipc(capacity = 8, max_subscribers = 2, history = 8)]
    pub all_history: Topic<u32>,
}

fn main() {}
