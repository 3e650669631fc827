//! Each kind's format, one module per kind, and [`Kind`], the list of them.
//!
//! A kind's module declares what the kind *is*, as data the rest of zipc reads: its
//! [`SPEC`](array::SPEC) (name, article, whether it has an element type, the parameters a
//! declaration takes — the derive's attributes and the TOML keys), the offsets of its header
//! fields, and four functions every kind has: `region` (validates a declaration and sizes its
//! region, `const` so the derive can run it at compile time), `check_header` (what its header
//! must say, checked at every open), `describe_flags` (its flags in messages) and
//! `capacity_text` (its numbers in `inspect` and `layout`). [`Kind`]'s methods dispatch to them;
//! the list below is the only place that names every kind. Adding one is in
//! `docs/ARCHITECTURE.md` ("Adding a kind").

pub mod array;
pub mod atomic;
pub mod barrier;
pub mod condvar;
pub mod endpoint;
pub mod event;
pub mod future;
pub mod latch;
pub mod map;
pub mod mutex;
pub mod once;
pub mod pool;
pub mod queue;
pub mod ring;
pub mod rwlock;
pub mod semaphore;
pub mod set;
pub mod stack;
pub mod topic;

use super::description::Descriptor;
use super::kind::{HeaderWords, KindSpec};
use super::structure::{LayoutError, Region, StructureLayout};

/// What the kind modules share.
mod prelude {
    pub(super) use crate::layout::description::Descriptor;
    pub(super) use crate::layout::kind::{param, HeaderWords, KindSpec, ParamValue, Parameter, Slot, CAPACITY};
    pub(super) use crate::layout::kinds::Kind;
    pub(super) use crate::layout::segment::align_up;
    pub(super) use crate::layout::structure::{LayoutError, Region as RegionLayout, StructureLayout};
    pub(super) use crate::layout::types::{Primitive, TypeLayout};
}

/// `describe_flags` of a kind without flags of its own.
pub(crate) fn plain_flags(flags: u32) -> (&'static str, String) {
    ("flags", format!("{flags:#x}"))
}

/// Declares [`Kind`] from the list of kinds, with its dispatch to each kind's module.
macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal => $module:ident, )+) => {
        /// The kinds of structure a segment can hold. The numbers are stored in the
        /// self-description and are part of the format.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Kind {
            $( $(#[$doc])* $variant = $code, )+
        }

        impl Kind {
            /// All kinds, in format order.
            pub const ALL: [Kind; [$($code),+].len()] = [$(Kind::$variant),+];

            /// Inverse of [`Kind::code`].
            pub const fn from_code(code: u32) -> Option<Kind> {
                match code {
                    $( $code => Some(Kind::$variant), )+
                    _ => None,
                }
            }

            /// What the kind's format module declares.
            pub const fn spec(self) -> &'static KindSpec {
                match self {
                    $( Kind::$variant => &$module::SPEC, )+
                }
            }

            /// The kind's own rules for a declaration, and the size of its region.
            pub(crate) const fn region_of(self, s: &StructureLayout<'_>) -> Result<Region, LayoutError> {
                match self {
                    $( Kind::$variant => $module::region(s), )+
                }
            }

            /// Checks what a structure's header must say against its descriptor (run at every
            /// open): whatever the runtime reads from the header and then trusts.
            pub(crate) fn check_header(self, h: &dyn HeaderWords, d: &Descriptor) -> Result<(), String> {
                match self {
                    $( Kind::$variant => $module::check_header(h, d), )+
                }
            }

            /// Names the kind's flags and renders a flags value for messages:
            /// `("policy", "spsc")`.
            pub fn describe_flags(self, flags: u32) -> (&'static str, String) {
                match self {
                    $( Kind::$variant => $module::describe_flags(flags), )+
                }
            }

            /// What a descriptor's numbers mean for the kind, in a word or two (`inspect`'s
            /// and `layout`'s CAPACITY column): `1024`, `4 parties`, `count 3`, `-`.
            pub fn capacity_text(self, d: &Descriptor) -> String {
                match self {
                    $( Kind::$variant => $module::capacity_text(d), )+
                }
            }
        }
    };
}

kinds! {
    /// Fixed-length array (ZeroIPC v2 layout).
    Array = 1 => array,
    /// One atomic integer.
    Atomic = 2 => atomic,
    /// Bounded lock-free queue (SPSC, MPSC or MPMC).
    Queue = 3 => queue,
    /// Single-producer stream ring with optional overwrite.
    Ring = 4 => ring,
    /// Fixed-capacity object pool with generation-checked handles.
    Pool = 5 => pool,
    /// Counting semaphore (ZeroIPC v2 layout).
    Semaphore = 6 => semaphore,
    /// Reusable barrier (ZeroIPC v2 layout).
    Barrier = 7 => barrier,
    /// One-shot countdown latch (ZeroIPC v2 layout).
    Latch = 8 => latch,
    /// Robust process-shared mutex.
    Mutex = 9 => mutex,
    /// Auto- or manual-reset event.
    Event = 10 => event,
    /// Duplex channel of two queues.
    Endpoint = 11 => endpoint,
    /// Publish–subscribe stream: one publisher, many subscribers, lossless or lossy.
    Topic = 12 => topic,
    /// Bounded lock-free LIFO stack.
    Stack = 13 => stack,
    /// Fixed-capacity hash map with lock-free lookups.
    Map = 14 => map,
    /// Fixed-capacity hash set with lock-free lookups.
    Set = 15 => set,
    /// Condition variable paired with a mutex (ZeroIPC's monitor).
    Condvar = 16 => condvar,
    /// One-time initialisation; a dead initialiser's work is taken over.
    Once = 17 => once,
    /// Robust readers–writer lock; writers are not starved.
    RwLock = 18 => rwlock,
    /// One-shot value, set once and awaited by many (and a lazily computed value).
    Future = 19 => future,
}

/// Flag values stored in [`StructureLayout::flags`] and descriptors, each defined by its kind.
pub mod flags {
    pub use super::event::EVENT_MANUAL_RESET;
    pub use super::queue::{POLICY_MPMC, POLICY_MPSC, POLICY_SPSC};
    pub use super::ring::RING_OVERWRITE;
    pub use super::topic::TOPIC_LOSSY;
}
