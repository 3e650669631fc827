// An atomic's initial value must fit its type (the rule is the Atomic kind's own, in zipc).
use zipc::{Atomic, ShmSegment};

#[derive(ShmSegment)]
pub struct Flags {
    #[zipc(initial = -1)]
    pub unsigned: Atomic<u32>,
    #[zipc(initial = 3000000000)]
    pub signed: Atomic<i32>,
    #[zipc(initial = 18446744073709551615)]
    pub fine: Atomic<u64>,
}

fn main() {}
