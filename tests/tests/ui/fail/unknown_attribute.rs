// Field attributes are the parameters of the field's kind, from zipc's one table
// (zipc::layout::Kind::parameters): a misspelt key, a parameter of another kind, or a value of
// the wrong type is an error at the attribute, and the message lists what the kind takes.
use zipc::{Array, Atomic, ShmSegment};

#[derive(ShmSegment)]
pub struct Plant {
    #[zipc(capacty = 8)]
    pub temps: Array<f32>,
    #[zipc(capacity = 8)]
    pub count: Atomic<u64>,
    #[zipc(initial = 1, overwrite = true)]
    pub seq: Atomic<u32>,
    #[zipc(initial = true)]
    pub flag: Atomic<u64>,
    #[zipc(capacity = "many")]
    pub names: Array<u8>,
}

fn main() {}
