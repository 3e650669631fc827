//! TOML schemas for zipc segments, and the generators that turn one schema into Rust, C and
//! Python that agree byte for byte.
//!
//! A schema declares a segment — its default name, table size, element types and structures —
//! in TOML (the format is specified in `docs/SCHEMA.md`). [`Schema::load`] checks every rule at
//! once, reporting each problem as `file:line:column: error: message` with a suggestion, and
//! resolves the schema into the shared [`zipc::layout`] model: the same values
//! `#[derive(ShmSegment)]` produces, so both ways of declaring a segment agree. The generators
//! render from that model only:
//!
//! * [`rust::generate`] — Rust source using `#[derive(ShmType)]` / `#[derive(ShmSegment)]`; at
//!   build time through [`Builder`] and `zipc::include_schema!`;
//! * [`c::generate`] — a C11/C++17 header (structs, static assertions, constants, typed inline
//!   wrappers over libzipc, zipc's C ABI), with libzipc's header [`c::runtime_header`];
//! * [`python::generate`] — a numpy module (dtypes, `open()` returning the structures), with the
//!   runtime [`python::runtime_module`] that binds libzipc with ctypes.
//!
//! ```
//! let arena = zipc_schema::Arena::new();
//! let schema = zipc_schema::Schema::parse("telemetry.toml", r#"
//!     [segment]
//!     name = "/telemetry"
//!
//!     [types.Reading]
//!     fields = [
//!         { name = "ts", type = "u64" },
//!         { name = "vals", type = "[f32; 8]" },
//!         { name = "id", type = "u32" },
//!         { name = "flags", type = "u32" },
//!     ]
//!
//!     [[structures]]
//!     name = "readings"
//!     kind = "array"
//!     type = "Reading"
//!     capacity = 1024
//! "#, &arena).unwrap();
//! let readings = &schema.layout.structures[0];
//! assert_eq!(zipc::layout::canonical(readings.elem.as_ref().unwrap()),
//!            "{ts:u64@0,vals:[f32;8]@8,id:u32@40,flags:u32@44}#48");
//! let header = zipc_schema::c::generate(&schema);
//! assert!(header.contains("uint64_t ts;"));
//! ```

// The model of a schema. Imports point down only: `arena`, `diagnostic`, `document` and `names`
// import nothing of the crate; `values` (TOML value checks) imports `diagnostic` and `document`;
// above them `types`, then `structures` (which resolves element types), then `schema` (which
// reads both).
mod arena;
mod bridge;
mod diagnostic;
mod document;
mod names;
mod schema;
mod structures;
mod types;
mod values;

pub use arena::Arena;
pub use bridge::BridgeSection;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use schema::Schema;
pub use zipc::layout;

mod builder;
pub mod c;
pub mod memory_map;
pub mod ops;
pub mod python;
mod python_runtime;
mod raw_format;
pub mod rust;

pub use builder::{BuildError, Builder};
