//! A pool as a [`WaitSet`](crate::WaitSet) source (ready when an object is free) and its
//! `async` acquire, sleeping on the event count a blocking `acquire` sleeps on.

use super::*;
use crate::sys::tagged_list::{unpack, NIL};
use crate::sys::wait_set::{Readiness, Source};

/// Ready when [`try_acquire`](Pool::try_acquire) would find a free object.
impl<T: ShmType> Readiness for Pool<T> {
    fn wait_source(&self) -> Source {
        self.core.free_source(self.clone())
    }
}

impl PoolCore {
    /// Ready when an acquire would find a free object; `keep` (a handle of the pool) keeps the
    /// mapping. The typed [`Pool`] and the byte-level [`DynPool`](crate::dynamic::DynPool) share
    /// it.
    pub(crate) fn free_source(&self, keep: impl Send + Sync + 'static) -> Source {
        Source::new(
            (keep, self.clone()),
            |(_, c)| c.freed().sleep_point(false),
            |(_, c)| c.freed().probe(|| unpack(c.h().head.load(Acquire)).1 != NIL),
        )
    }
}

impl<T: ShmType> Pool<T> {
    /// Acquires a free object, awaiting a release: the `async` [`acquire`](Self::acquire).
    /// Cancellation-safe (an object is taken only in the poll that returns its handle).
    pub async fn acquire_async(&self) -> Result<Handle> {
        crate::sys::reactor::retry(self.wait_source(), || self.try_acquire()).await
    }
}
