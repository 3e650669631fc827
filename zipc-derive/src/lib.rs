//! Derive macros for [zipc](https://docs.rs/zipc): `#[derive(ShmType)]` for element types and
//! `#[derive(ShmSegment)]` for whole segments. Use them through zipc (`use zipc::{ShmSegment,
//! ShmType}`, the default `derive` feature); this crate depends on none of zipc's.
//!
//! Each derive runs in three steps, each in its own module, as serde_derive does:
//!
//! 1. `parse`: the input and its attributes into a small model; malformed attributes are
//!    recorded, and parsing goes on;
//! 2. `validate`: the rules visible in the syntax (`#[repr(C)]`, generics, field types that can
//!    never be shared), every error recorded with its span;
//! 3. `generate`: if nothing was found, the implementation, plus constants that check the
//!    remaining rules at compile time through zipc's own layout model (padding, parameters,
//!    names, table capacity), each failing with zipc's message at the field or attribute at fault.
//!
//! All errors of a step are reported together (`syn::Error::combine`).

mod errors;
mod generate;
mod parse;
mod validate;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

use crate::errors::Errors;
use crate::parse::{Body, Derive};

/// Derives `zipc::ShmType` for a `#[repr(C)]` struct of fixed-width fields, so that it can be an
/// element of arrays, queues, rings and pools in shared memory.
///
/// The struct must:
///
/// * be `#[repr(C)]`, with named fields and no generics;
/// * have fields of element types only: `u8 i8 u16 i16 u32 i32 u64 i64 f32 f64`, arrays `[T; N]`
///   of element types, and other `#[derive(ShmType)]` structs (no `bool`, `char`, `usize`,
///   `isize`, references, pointers, `String`, `Vec`, `Option`, enums);
/// * have no implicit padding: fill gaps with explicit fields (`_pad: [u8; 3]`);
/// * also derive `Clone, Copy` and zerocopy's `FromBytes, IntoBytes, Immutable, KnownLayout`
///   (re-exported by zipc; add `#[zerocopy(crate = "zipc::zerocopy")]` unless your crate depends
///   on zerocopy itself).
///
/// Each rule is checked at compile time, and a broken one is an error at the field at fault that
/// says what to change, for example:
///
/// ```text
/// error[E0080]: evaluation panicked: `Padded` has 3 bytes of implicit padding at offset 1, before
///               field `b`. [...] declare them as a field, `_pad1: [u8; 3]` before `b`, or reorder
///               the fields (largest alignment first)
/// ```
///
/// The implementation's `SHM_LAYOUT` describes the struct (field names, docs, offsets, types) for
/// the layout fingerprint that `open` checks, and for the C and Python generators. Doc comments
/// are carried along. `#[zipc(crate = "path")]` names the zipc crate if it is renamed.
///
/// ```
/// use zipc::layout::{canonical, fingerprint};
/// use zipc::ShmType;
///
/// /// A sensor reading.
/// #[derive(Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
/// #[zerocopy(crate = "zipc::zerocopy")]
/// #[repr(C)]
/// pub struct Reading {
///     pub ts: u64,
///     pub vals: [f32; 8],
///     pub id: u32,
///     pub _pad: u32, // explicit padding is fine
/// }
///
/// let layout = <Reading as ShmType>::SHM_LAYOUT;
/// assert_eq!(layout.size(), 48);
/// assert_eq!(canonical(&layout), "{ts:u64@0,vals:[f32;8]@8,id:u32@40,_pad:u32@44}#48");
/// assert_eq!(fingerprint(&layout), zipc::layout::fnv1a64(canonical(&layout).as_bytes()));
/// ```
#[proc_macro_derive(ShmType, attributes(zipc))]
pub fn derive_shm_type(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(Derive::ShmType, &input).into()
}

/// Derives a typed handle for a whole segment from a struct whose fields are structures:
/// `Array<T>`, `Atomic<T>`, and every other kind that implements `zipc::Structure` (queues,
/// rings, pools, stacks, maps, sets, sync primitives).
///
/// Attributes:
///
/// * on the struct, all optional: `#[zipc(name = "/segment")]` (a default segment name, which
///   adds `NAME`, `create_default`, `open_default`, `open_or_create_default` and
///   `unlink_default`), `max_entries = N` (table capacity including zipc's own entry, default
///   64), `max_processes = N` (default 64), `crate = "path"` (if zipc is renamed);
/// * on a field: the parameters of its kind, exactly as `zipc::layout::Kind::parameters()`
///   names them, plus `name = "..."` to override the structure's name in the table (default: the
///   field's name):
///
///   | field type                     | attributes (required in bold)                           |
///   |--------------------------------|---------------------------------------------------------|
///   | `Array<T>`                     | **`capacity`**                                          |
///   | `Atomic<T>`                    | `initial` (fits `T`)                                    |
///   | `Queue<T, Spsc/Mpsc/Mpmc>`     | **`capacity`** (a power of two, 2 to 2^32)              |
///   | `Ring<T>`                      | **`capacity`**, `overwrite = true`                      |
///   | `Pool<T>`                      | **`capacity`**                                          |
///   | `Stack<T>`                     | **`capacity`** (1 to 2^32 - 2)                          |
///   | `Map<K, V>`                    | **`capacity`** (entries, 1 to 2^30)                     |
///   | `Set<K>`                       | **`capacity`** (keys, 1 to 2^30)                        |
///   | `Semaphore`                    | `initial`, `max` (0: unbounded; `initial <= max`)       |
///   | `Barrier`                      | **`participants`**                                      |
///   | `Latch`                        | **`count`**                                             |
///   | `Mutex`                        | none                                                    |
///   | `Condvar`                      | none (its mutex is a `Mutex` field of its own)          |
///   | `Once`                         | none (what it initialises is the caller's closure)      |
///   | `RwLock`                       | **`max_readers`** (reader slots, 1 to 1024)             |
///   | `Future<T>`                    | none (`T` is the value's type, set once)                |
///   | `Event`                        | `manual_reset = true`, `initially_set = true`           |
///   | `Endpoint<T>`                  | **`capacity`** (per direction; a power of two)          |
///   | `Topic<T, Lossless/Lossy>`     | **`capacity`** (a power of two), **`max_subscribers`** (1 to 1024), `history` (below the capacity) |
///
///   A queue's policy and a topic's mode are their types (`Queue<T, Mpmc>`, `Topic<T, Lossy>`); a ring's `overwrite` and an event's
///   `manual_reset` are values, recorded in the segment and compared by `open`. A map's key and
///   value types are both `ShmType`s; its element type, whose fingerprint `open` compares, is the
///   entry `{ key: K, value: V }`, and a set's is its key.
///
/// Generated, for `struct Telemetry`:
///
/// * `Telemetry::LAYOUT: zipc::layout::SegmentLayout<'static>` and `Telemetry::SIZE: u64`
///   (the exact segment size, computed at compile time);
/// * `create(name)`: creates the segment, exactly sized, with every structure in place before
///   it becomes visible to other processes;
/// * `open(name)`: opens it and every structure, checking kind, element layout fingerprint,
///   capacity and parameters; all differences are reported in one `zipc::Error::Incompatible`;
/// * `open_or_create(name)`, `unlink(name)`, and the `_default` forms with a declared name.
///
/// Declarations are checked at compile time, each error at its field or attribute and all at
/// once: a field type that is not a structure, an element type that is not `ShmType`, unknown or
/// malformed attributes (the message lists what the kind takes), a missing or zero capacity, a
/// value the kind's own rules refuse (a queue capacity that is not a power of two, a semaphore's
/// initial count above its maximum: at the attribute), names over 31 bytes or used twice, more
/// structures than `max_entries` allows.
///
/// ```no_run
/// use zipc::{Array, Atomic, ShmSegment, ShmType};
///
/// #[derive(Clone, Copy, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout)]
/// #[zerocopy(crate = "zipc::zerocopy")]
/// #[repr(C)]
/// pub struct Reading {
///     pub ts: u64,
///     pub value: f64,
/// }
///
/// #[derive(ShmSegment)]
/// #[zipc(name = "/telemetry", max_entries = 8)]
/// pub struct Telemetry {
///     /// The last 1024 readings.
///     #[zipc(capacity = 1024)]
///     pub readings: Array<Reading>,
///     #[zipc(initial = 1, name = "seq")]
///     pub sequence: Atomic<u64>,
/// }
///
/// # fn main() -> zipc::Result<()> {
/// const _: () = assert!(Telemetry::SIZE > 1024 * 16);
/// // Process A:
/// let t = Telemetry::create_default()?;
/// t.readings.set(0, Reading { ts: 1, value: 20.5 })?;
/// t.sequence.fetch_add(1);
/// // Process B:
/// let t = Telemetry::open_default()?;
/// assert_eq!(t.readings.get(0).map(|r| r.value), Some(20.5));
/// Telemetry::unlink_default()
/// # }
/// ```
#[proc_macro_derive(ShmSegment, attributes(zipc))]
pub fn derive_shm_segment(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(Derive::ShmSegment, &input).into()
}

fn expand(derive: Derive, input: &DeriveInput) -> proc_macro2::TokenStream {
    let mut errors = Errors::default();
    let container = parse::container(derive, input, &mut errors);
    validate::container(&container, &mut errors);
    if let Err(tokens) = errors.finish() {
        return tokens;
    }
    let Body::Struct(fields) = &container.body else {
        unreachable!("validation refuses everything but structs with named fields");
    };
    match derive {
        Derive::ShmType => generate::shm_type(&container, fields),
        Derive::ShmSegment => generate::shm_segment(&container, fields),
    }
}
