// Fields are named: the layout names each one for C, Python and the fingerprint.
use zipc::{Atomic, ShmSegment, ShmType};

#[derive(Clone, Copy, ShmType)]
#[repr(C)]
pub struct Point(pub f32, pub f32);

#[derive(ShmSegment)]
pub struct Counters(pub Atomic<u64>);

#[derive(ShmType)]
#[repr(C)]
pub struct Nothing;

fn main() {}
