//! A pool as a [`WaitSet`](crate::WaitSet) source (ready when an object is free) and its
//! `async` acquire, sleeping on the event count a blocking `acquire` sleeps on.

use super::*;
use crate::sys::tagged_list::{unpack, NIL};
use crate::sys::wait_set::{Readiness, Source};

/// Ready when [`try_acquire`](Pool::try_acquire) would find a free object.
impl<T: ShmType> Readiness for Pool<T> {
    fn wait_source(&self) -> Source {
        Source::new(
            self.clone(),
            |p| p.core.freed().sleep_point(false),
            |p| p.core.freed().probe(|| unpack(p.core.h().head.load(Acquire)).1 != NIL),
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
