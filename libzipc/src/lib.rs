//! `libzipc`: the C ABI of zipc as a shared (`libzipc.so`) and a static (`libzipc.a`) library.
//!
//! Everything is in the `zipc` crate: its `ffi` module defines the `zipc_*` functions, exported
//! under their C names by the `ffi` feature this package enables, over the same algorithms the
//! Rust API runs. This crate only links them into the two library files. The header is `zipc.h`
//! (`libzipc/include/zipc.h`, also written by `zipc-schema gen`); building and linking are in
//! `docs/C.md`.
//!
//! ```text
//! cargo build --release -p libzipc
//! gcc -std=c11 app.c -Ilibzipc/include -Ltarget/release -lzipc -o app
//! ```

// Linking the crate in is what exports its `#[no_mangle]` functions from the cdylib.
pub use zipc::ffi::*;
