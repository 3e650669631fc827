//! A queue's consumers and producers as [`WaitSet`](crate::WaitSet) sources: a consumer is ready
//! when the slot at its head is published (or holds a tombstone to pass), a producer when the
//! slot at its tail is free. Both sleep on the event counts a blocking `pop`/`push` sleeps on.

use super::raw::*;
use super::*;
use crate::layout::kinds::queue::tombstone;
use crate::sys::wait_set::{Probe, Readiness, Source};

impl<E: Element> Raw<E> {
    /// Whether the consumer would pop something at the published head (a single consumer stores
    /// it after every pop); with many producers, a claimed but unpublished head slot is `Stalled`,
    /// and the dead-producer check of a blocking pop runs.
    pub(super) fn probe_data(&self, policy: u32) -> Probe {
        let mut stalled = false;
        let probe = self.idx().not_empty.probe(|| {
            let head = self.idx().head.0.head.load(Acquire);
            let seq = self.seq(head).load(Acquire);
            if seq.wrapping_sub(head.wrapping_add(1)) as i64 >= 0 || seq == tombstone(head) {
                return true;
            }
            // Closed and drained: a pop returns `Closed` at once.
            if self.drained(head, policy != flags::POLICY_SPSC) {
                return true;
            }
            stalled = policy != flags::POLICY_SPSC && self.len() > 0;
            false
        });
        match probe {
            Probe::Pending(v) if stalled => {
                self.check_pop_stall();
                Probe::Stalled(v)
            }
            p => p,
        }
    }

    /// Whether a producer would push at the published tail (the single producer stores it after
    /// every push); a full multi-consumer queue is `Stalled` (a consumer may have died holding a
    /// slot), and the dead-consumer check runs.
    pub(super) fn probe_space(&self, policy: u32) -> Probe {
        let probe = self.idx().not_full.probe(|| {
            if self.is_closed(policy != flags::POLICY_SPSC) {
                return true; // a push returns `Closed` at once
            }
            if policy == flags::POLICY_SPSC {
                let head = self.idx().head.0.head.load(Acquire);
                self.idx().tail.0.load(Acquire).wrapping_sub(head) < self.cap
            } else {
                let tail = self.idx().tail.0.load(Acquire);
                self.seq(tail).load(Acquire).wrapping_sub(tail) as i64 >= 0
            }
        });
        match probe {
            Probe::Pending(v) if policy == flags::POLICY_MPMC => {
                self.check_push_stall();
                Probe::Stalled(v)
            }
            p => p,
        }
    }
}

impl<E: Element> QueueBytes<E> {
    /// A consumer's readiness (data to pop) under `policy`: the typed [`Consumer`] and the
    /// byte-level [`DynConsumer`](crate::dynamic::DynConsumer) share it.
    pub(crate) fn data_source(&self, policy: u32) -> Source {
        Source::new(self.clone(), |b| b.raw.idx().not_empty.sleep_point(true), move |b| b.raw.probe_data(policy))
    }

    /// A producer's readiness (room to push) under `policy`, for [`Producer`] and
    /// [`DynProducer`](crate::dynamic::DynProducer).
    pub(crate) fn space_source(&self, policy: u32) -> Source {
        Source::new(self.clone(), |b| b.raw.idx().not_full.sleep_point(true), move |b| b.raw.probe_space(policy))
    }
}

/// Ready when a [`try_pop`](Consumer::try_pop) would find an element.
impl<T: ShmType, P: Policy> Readiness for Consumer<T, P> {
    fn wait_source(&self) -> Source {
        self.bytes.data_source(P::FLAGS)
    }
}

/// Ready when a [`try_push`](Producer::try_push) would find room.
impl<T: ShmType, P: Policy> Readiness for Producer<T, P> {
    fn wait_source(&self) -> Source {
        self.bytes.space_source(P::FLAGS)
    }
}

#[cfg(not(loom))]
impl<T: ShmType, P: Policy> Consumer<T, P> {
    /// Pops the oldest element, awaiting one: the `async` [`pop`](Self::pop), on any executor
    /// (the [reactor](crate::reactor) wakes the task; no thread blocks). Cancellation-safe: an
    /// element is taken only in the poll that returns it, so a dropped future loses nothing.
    ///
    /// ```no_run
    /// # async fn demo(mut rx: zipc::Consumer<u64, zipc::Mpsc>) -> zipc::Result<()> {
    /// loop {
    ///     let job = rx.pop_async().await?;
    ///     println!("job {job}");
    /// }
    /// # }
    /// ```
    pub async fn pop_async(&mut self) -> Result<T> {
        let source = self.wait_source();
        crate::sys::reactor::retry(source, || self.try_pop()).await
    }
}

#[cfg(not(loom))]
impl<T: ShmType, P: Policy> Producer<T, P> {
    /// Pushes `value`, awaiting room: the `async` [`push`](Self::push). Cancellation-safe: the
    /// value is pushed only in the poll that completes, so a dropped future pushed nothing.
    pub async fn push_async(&mut self, value: T) -> Result<()> {
        let source = self.wait_source();
        crate::sys::reactor::retry(source, || Ok(self.try_push(value)?.then_some(()))).await
    }
}

#[cfg(not(loom))]
impl<T: ShmType, P: MultiConsumer> Queue<T, P> {
    /// Pops the oldest element through the shared handle, awaiting one: the `async`
    /// [`pop`](Self::pop). Any number of tasks may await it on one handle (or its clones) —
    /// a consumer handle takes one of the segment's lanes, the shared handle one per thread.
    /// Cancellation-safe (an element is taken only in the poll that returns it).
    pub async fn pop_async(&self) -> Result<T> {
        crate::sys::reactor::retry(self.bytes.data_source(P::FLAGS), || self.try_pop()).await
    }
}

#[cfg(not(loom))]
impl<T: ShmType, P: MultiProducer> Queue<T, P> {
    /// Pushes `value` through the shared handle, awaiting room: the `async`
    /// [`push`](Self::push). Cancellation-safe (pushed only in the poll that completes).
    pub async fn push_async(&self, value: T) -> Result<()> {
        crate::sys::reactor::retry(self.bytes.space_source(P::FLAGS), || Ok(self.try_push(value)?.then_some(()))).await
    }
}
