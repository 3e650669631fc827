// Attributes of the structure kinds beyond Array and Atomic: each kind takes the parameters zipc's
// table gives it (zipc::layout::Kind::parameters), with values of the right type and range; a
// queue's policy is its type; and each kind's own rules (a queue's power-of-two capacity, a
// semaphore's initial count within its maximum) are zipc's, checked at compile time.
use zipc::{Barrier, Endpoint, Event, Latch, Mpmc, Mutex, Pool, Queue, Ring, Semaphore, ShmSegment, Spsc};

#[derive(ShmSegment)]
#[zipc(max_entries = 20)]
pub struct Wrong {
    #[zipc(capacity = 4)]
    pub lock: Mutex,
    #[zipc(capacity = 100)]
    pub odd: Queue<u32, Spsc>,
    #[zipc(capacity = 8, overwrite = true)]
    pub lossy: Queue<u32, Mpmc>,
    #[zipc(capacity = 8, policy = "mpmc")]
    pub policy: Queue<u32, Mpmc>,
    #[zipc(capacity = 8, manual_reset = true)]
    pub stream: Ring<u32>,
    #[zipc(capacity = 8, overwrite = 1)]
    pub numeric: Ring<u32>,
    pub no_capacity: Pool<u32>,
    #[zipc(participants = 0)]
    pub nobody: Barrier,
    pub no_count: Latch,
    #[zipc(initial = 5, max = 4)]
    pub over: Semaphore,
    #[zipc(initially_set = "yes")]
    pub stringly: Event,
    #[zipc(count = 2)]
    pub counted: Event,
    #[zipc(capacity = 3)]
    pub uneven: Endpoint<u32>,
}

fn main() {}
