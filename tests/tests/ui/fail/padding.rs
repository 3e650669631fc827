// Implicit padding: each gap is reported at the field after it (or at the struct, for trailing
// padding), with its offset and size and the explicit field that fills it.
use zipc::ShmType;

#[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
pub struct Padded {
    pub flag: u8,
    pub count: u32,
    pub total: u64,
    pub tag: u16,
}

fn main() {}
