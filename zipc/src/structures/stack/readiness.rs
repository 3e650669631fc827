//! A stack as a [`WaitSet`](crate::WaitSet) source (ready when a pop would find a value) and its
//! `async` push and pop. Both sleep on the event counts a blocking `pop`/`push` sleeps on.

use super::*;
use crate::sys::tagged_list::{unpack, NIL};
use crate::sys::wait_set::{Readiness, Source};

/// Ready when [`try_pop`](Stack::try_pop) would find a value.
impl<T: ShmType> Readiness for Stack<T> {
    fn wait_source(&self) -> Source {
        self.core.data_source(self.clone())
    }
}

impl StackCore {
    /// Ready when a pop would find a value; `keep` (a handle of the stack) keeps the mapping. The
    /// typed [`Stack`] and the byte-level [`DynStack`](crate::dynamic::DynStack) share it.
    pub(crate) fn data_source(&self, keep: impl Send + Sync + 'static) -> Source {
        Source::new(
            (keep, self.clone()),
            |(_, c)| c.pushed().sleep_point(false),
            |(_, c)| c.pushed().probe(|| unpack(c.h().top.load(Acquire)).1 != NIL),
        )
    }
}

impl<T: ShmType> Stack<T> {
    /// Ready when [`try_push`](Stack::try_push) would find a free node.
    fn room(&self) -> Source {
        Source::new(
            self.clone(),
            |s| s.core.popped().sleep_point(false),
            |s| s.core.popped().probe(|| unpack(s.core.h().free.load(Acquire)).1 != NIL),
        )
    }

    /// Pops the top value, awaiting one: the `async` [`pop`](Self::pop). Cancellation-safe (a
    /// value is taken only in the poll that returns it).
    pub async fn pop_async(&self) -> Result<T> {
        crate::sys::reactor::retry(self.wait_source(), || self.try_pop()).await
    }

    /// Pushes `value`, awaiting room: the `async` [`push`](Self::push). Cancellation-safe
    /// (pushed only in the poll that completes).
    pub async fn push_async(&self, value: T) -> Result<()> {
        crate::sys::reactor::retry(self.room(), || Ok(self.try_push(value)?.then_some(()))).await
    }
}
