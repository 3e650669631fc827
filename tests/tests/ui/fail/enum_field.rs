// An enum field is not an element type (not every bit pattern is a variant): the ShmType bound
// says so at the field. (zerocopy's derives would refuse it too; they are left out here to keep
// this file about the enum. ShmType's supertraits still report them missing.) Deriving ShmType
// on an enum is refused.
use zipc::ShmType;

#[derive(Clone, Copy)]
#[repr(u8)]
pub enum Mode {
    Off = 0,
    On = 1,
}

#[derive(Clone, Copy, ShmType)]
#[repr(C)]
pub enum Shared {
    A,
    B,
}

#[derive(Clone, Copy, ShmType)]
#[repr(C)]
pub struct Machine {
    pub state: u32,
    pub mode: Mode,
}

fn main() {}
