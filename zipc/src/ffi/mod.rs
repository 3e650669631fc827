//! The C ABI: the `zipc_*` functions that `libzipc` (the `libzipc` package: `libzipc.so` and
//! `libzipc.a`) exports, declared in `zipc.h`, which generated C headers include and generated
//! Python modules load with ctypes. Rust code uses [`crate::dynamic`] and the typed API instead.
//!
//! Every function here is a thin shell over [`crate::dynamic`] and the sync primitives: the
//! algorithms are the Rust ones, so a C or Python process is a peer like any Rust process — it
//! joins the segment's process registry when it opens a segment, and registers for the
//! membarrier-based asymmetric fence when it opens a queue or endpoint, exactly as Rust does.
//!
//! # Conventions (also in `zipc.h`)
//!
//! * Functions that can fail return a [`Status`]: `ZIPC_OK` (0), `ZIPC_AGAIN` (1, a `try_`
//!   operation could not proceed now: full, empty, nothing free — not an error), or an error
//!   code. After an error, [`zipc_last_error`] gives the message of the failed call (the same text
//!   a Rust caller would see) and [`zipc_last_status`] its code, for the calling thread, until
//!   its next failing call.
//! * Handles are opaque pointers, created by `*_open` (or a role claim) and freed by the matching
//!   `*_close`, which accepts NULL. A structure handle keeps the segment mapped: it stays valid
//!   after its segment handle is closed. Role handles (queue producers and consumers, ring
//!   producers and consumers, endpoint sides) release their role when closed.
//! * Every pointer argument is checked for NULL (`ZIPC_ERR_NULL`); output pointers are checked
//!   before anything happens, so a failed call changes nothing. Buffers pass elements as bytes
//!   with their size, which must equal the structure's element size (`ZIPC_ERR_INVALID_ARGUMENT`
//!   otherwise). Timeouts are `int64_t` nanoseconds: negative waits forever, 0 does not wait.
//! * Role handles are used by one thread at a time: a call on a role handle that another thread
//!   is using fails with `ZIPC_ERR_BUSY` instead of corrupting the role's state. Other handles
//!   may be shared between threads.
//! * No panic crosses the boundary: a bug inside zipc is caught and reported as
//!   `ZIPC_ERR_INTERNAL` with its message.
//!
//! The functions are exported under their C names (`#[no_mangle]`) only with the `ffi` feature,
//! which the `libzipc` package enables; without it they are ordinary Rust functions, so that the
//! unit tests here exercise them in every build.

mod args;
mod bulk;
mod handles;
mod shell;
mod status;

#[cfg(not(loom))]
pub use handles::WaitSetHandle;
pub use handles::{
    ArrayHandle, AtomicHandle, BarrierHandle, ConsumerHandle, Decl, EndpointHandle, Entry, EventHandle, FutureHandle,
    LatchHandle, MutexHandle, PoolHandle, ProducerHandle, QueueHandle, RingConsumerHandle, RingHandle,
    RingProducerHandle, SegmentHandle, SemaphoreHandle, SideHandle, StackHandle, TopicHandle, TopicPublisherHandle,
    TopicSubscriberHandle,
};
pub use shell::Signature;
pub use status::Status;

/// Declares the files of C functions, one per kind of handle, re-exports their functions, and
/// gathers their signatures into [`functions`].
macro_rules! abi_files {
    ($($(#[$attr:meta])* $file:ident,)*) => {
        $(
            $(#[$attr])*
            mod $file;
            $(#[$attr])*
            pub use $file::*;
        )*

        /// Every function of the C ABI with its C signature — the table the `abi!` macro records
        /// as it defines them, file by file in the order of `zipc.h`. The ABI tests compare it
        /// with `zipc.h` and with what `libzipc` exports.
        pub fn functions() -> &'static [Signature] {
            static TABLE: std::sync::OnceLock<Vec<Signature>> = std::sync::OnceLock::new();
            TABLE.get_or_init(|| {
                let files: &[fn() -> Vec<Signature>] = &[$($(#[$attr])* $file::signatures),*];
                files.iter().flat_map(|file| file()).collect()
            })
        }
    };
}

abi_files! {
    library,
    segment,
    queue,
    endpoint,
    ring,
    topic,
    pool,
    stack,
    map,
    array,
    atomic,
    semaphore,
    barrier,
    latch,
    mutex,
    condvar,
    once,
    rwlock,
    future,
    event,
    // A readiness fd is a helper thread and an eventfd, which the loom build does not model.
    #[cfg(not(loom))]
    wait_set,
}

/// The version of the C ABI that `zipc.h` declares (`ZIPC_ABI_VERSION`) and
/// [`zipc_abi_version`] returns: a library and a header of different versions do not match.
pub const ABI_VERSION: u32 = 1;

/// Timeout value meaning "wait forever" (`ZIPC_FOREVER`); any negative value does.
pub const FOREVER: i64 = -1;

#[cfg(test)]
mod tests;
