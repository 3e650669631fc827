//! Derive macros for zipc.
//!
//! `#[derive(ShmType)]` and `#[derive(ShmSegment)]` land with the derive issue; until then this
//! crate exports nothing, so that no half-built macro hides behind a finished-sounding name.
