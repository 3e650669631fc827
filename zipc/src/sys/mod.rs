//! The layer under every structure: the operating system and the memory model. Futexes and
//! deadlines, the asymmetric fence pair, event counts and counter waits, the loom-switchable
//! atomics the algorithms are written on, copies that may race with a writer, process identity,
//! exclusive roles and the table lock. Imports only [`crate::error`].

pub(crate) mod asymmetric_fence;
pub(crate) mod atomic_copy;
#[cfg(not(loom))]
pub(crate) mod bell;
// The loom-switchable atomics; the queue, ring, pool and sync algorithms are written on them.
#[allow(dead_code, unused_imports)]
pub(crate) mod atomics;
#[allow(dead_code)] // used by the blocking structures
pub(crate) mod event_count;
pub(crate) mod futex;
pub mod process;
#[cfg(not(loom))]
pub mod reactor;
#[cfg(not(loom))]
pub mod readiness_fd;
pub(crate) mod robust_lock;
pub(crate) mod role;
pub(crate) mod tagged_list;
pub mod wait_set;
pub(crate) mod waiting;
