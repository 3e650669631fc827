// Types that can never be shared, each with what to use instead; all reported at once.
use zipc::ShmType;

#[derive(Clone, Copy, ShmType)]
#[repr(C)]
pub struct Everything {
    pub on: bool,
    pub letter: char,
    pub len: usize,
    pub delta: isize,
    pub wide: u128,
    pub name: &'static str,
    pub next: *const u8,
    pub flags: [bool; 4],
    pub pair: (u32, u32),
}

#[derive(Clone, ShmType)]
#[repr(C)]
pub struct Owning {
    pub label: String,
    pub items: Vec<u32>,
    pub maybe: Option<u32>,
    pub boxed: Box<u64>,
}

fn main() {}
