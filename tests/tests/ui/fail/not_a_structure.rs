// Segment fields are structures; the message lists the kinds. The other fields are still checked.
use zipc::{Array, ShmSegment};

#[derive(ShmSegment)]
pub struct Plant {
    pub count: u64,
    pub names: Vec<String>,
    #[zipc(capacity = 0)]
    pub temps: Array<f32>,
}

fn main() {}
