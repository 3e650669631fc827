// Layouts are fixed: generic element types and segments are refused.
use zipc::{Array, ShmSegment, ShmType};

#[derive(Clone, Copy, ShmType)]
#[repr(C)]
pub struct Pair<T> {
    pub a: T,
    pub b: T,
}

#[derive(ShmSegment)]
pub struct Store<T: zipc::ShmType> {
    #[zipc(capacity = 4)]
    pub items: Array<T>,
}

fn main() {}
