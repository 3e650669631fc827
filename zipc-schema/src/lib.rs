//! TOML schemas, code generators (Rust, C, Python) and inspection for zipc.
//!
//! The schema format and generators land with the schema issue; this crate already depends on
//! [`zipc::layout`], the one layout model every generator renders from.

pub use zipc::layout;
