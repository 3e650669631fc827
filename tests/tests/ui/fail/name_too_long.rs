// Structure names are at most 31 bytes (the table's name field is 32 with the NUL).
use zipc::{Array, Atomic, ShmSegment};

#[derive(ShmSegment)]
pub struct Plant {
    #[zipc(capacity = 4)]
    pub temperatures_of_every_boiler_room: Array<f32>,
    #[zipc(name = "a_name_that_does_not_fit_the_table")]
    pub count: Atomic<u64>,
    #[zipc(name = "")]
    pub empty: Atomic<u32>,
    #[zipc(name = "__zipc_mine")]
    pub reserved: Atomic<u32>,
}

fn main() {}
