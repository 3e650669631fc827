//! The handles C holds, opaque to it (`zipc_segment`, `zipc_queue`, ...), the structs it sees
//! (`zipc_entry`, `zipc_decl`), and the busy flag that keeps a role handle to one thread at a time.

use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicBool, Ordering};

use super::shell::c_types;
use super::status::{Failure, Outcome};
use crate::dynamic::{
    DynArray, DynAtomic, DynConsumer, DynEndpoint, DynEndpointSide, DynFuture, DynPool, DynProducer, DynPublisher,
    DynQueue, DynRing, DynRingConsumer, DynRingProducer, DynStack, DynSubscriber, DynTopic,
};
use crate::structures::pool::Handle;
use crate::{Barrier, Event, Latch, Mutex, Segment, Semaphore};

/// `zipc_segment`: an attached segment.
pub struct SegmentHandle {
    pub(super) segment: Segment,
    pub(super) name: CString,
}

/// `zipc_queue`.
pub struct QueueHandle(pub(super) DynQueue);
/// `zipc_producer`: a queue's producer.
pub struct ProducerHandle(pub(super) Exclusive<DynProducer>);
/// `zipc_consumer`: a queue's consumer.
pub struct ConsumerHandle(pub(super) Exclusive<DynConsumer>);
/// `zipc_endpoint`.
pub struct EndpointHandle(pub(super) DynEndpoint);
/// `zipc_endpoint_side`: a claimed side.
pub struct SideHandle(pub(super) Exclusive<DynEndpointSide>);
/// `zipc_ring`: an observer.
pub struct RingHandle(pub(super) DynRing);
/// `zipc_ring_producer`.
pub struct RingProducerHandle(pub(super) Exclusive<DynRingProducer>);
/// `zipc_ring_consumer`.
pub struct RingConsumerHandle(pub(super) Exclusive<DynRingConsumer>);
/// `zipc_topic`: an observer.
pub struct TopicHandle(pub(super) DynTopic);
/// `zipc_topic_publisher`: the topic's publisher.
pub struct TopicPublisherHandle(pub(super) Exclusive<DynPublisher>);
/// `zipc_topic_subscriber`: one subscriber.
pub struct TopicSubscriberHandle(pub(super) Exclusive<DynSubscriber>);
/// `zipc_pool`.
pub struct PoolHandle(pub(super) DynPool);
/// `zipc_stack`.
pub struct StackHandle(pub(super) DynStack);
/// `zipc_array`.
pub struct ArrayHandle(pub(super) DynArray);
/// `zipc_atomic`.
pub struct AtomicHandle(pub(super) DynAtomic);
/// `zipc_semaphore`.
pub struct SemaphoreHandle(pub(super) Semaphore);
/// `zipc_barrier`.
pub struct BarrierHandle(pub(super) Barrier);
/// `zipc_latch`.
pub struct LatchHandle(pub(super) Latch);
/// `zipc_mutex`.
pub struct MutexHandle(pub(super) Mutex);
/// `zipc_future`.
pub struct FutureHandle(pub(super) DynFuture);
/// `zipc_event`.
pub struct EventHandle(pub(super) Event);
/// `zipc_waitset`: a wait set that is also a file descriptor.
#[cfg(not(loom))]
pub struct WaitSetHandle(pub(super) crate::ReadinessFd);

/// `zipc_entry`: a structure's table entry and descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Index in the table.
    pub index: u32,
    /// Kind code (`ZIPC_KIND_*`).
    pub kind: u32,
    /// Offset of the region from the segment start.
    pub offset: u64,
    /// Size of the region.
    pub size: u64,
    /// Kind-specific flags.
    pub flags: u32,
    /// Element size (0 without element).
    pub elem_size: u32,
    /// Capacity.
    pub capacity: u64,
    /// Element layout fingerprint (0 without element).
    pub fingerprint: u64,
    /// Element alignment (0 without element).
    pub elem_align: u32,
    /// Reserved, 0.
    pub reserved: u32,
    /// Kind-specific initial value.
    pub initial: i64,
    /// Kind-specific maximum.
    pub maximum: i64,
}

/// `zipc_decl`: a structure as a schema declares it, for `zipc_check`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Decl {
    /// The structure's name (NUL-terminated).
    pub name: *const c_char,
    /// Kind code.
    pub kind: u32,
    /// Kind-specific flags.
    pub flags: u32,
    /// Capacity.
    pub capacity: u64,
    /// Kind-specific maximum.
    pub maximum: i64,
    /// Element size; 0 for kinds without element.
    pub elem_size: usize,
    /// The element's canonical layout string, or NULL not to check it.
    pub layout: *const c_char,
}

// The C names of the handles and structs, for the signature table (`zipc.h` declares them).
c_types! {
    SegmentHandle => "zipc_segment",
    QueueHandle => "zipc_queue",
    ProducerHandle => "zipc_producer",
    ConsumerHandle => "zipc_consumer",
    EndpointHandle => "zipc_endpoint",
    SideHandle => "zipc_endpoint_side",
    RingHandle => "zipc_ring",
    RingProducerHandle => "zipc_ring_producer",
    RingConsumerHandle => "zipc_ring_consumer",
    TopicHandle => "zipc_topic",
    TopicPublisherHandle => "zipc_topic_publisher",
    TopicSubscriberHandle => "zipc_topic_subscriber",
    PoolHandle => "zipc_pool",
    StackHandle => "zipc_stack",
    ArrayHandle => "zipc_array",
    AtomicHandle => "zipc_atomic",
    SemaphoreHandle => "zipc_semaphore",
    BarrierHandle => "zipc_barrier",
    LatchHandle => "zipc_latch",
    MutexHandle => "zipc_mutex",
    FutureHandle => "zipc_future",
    EventHandle => "zipc_event",
    Entry => "zipc_entry",
    Decl => "zipc_decl",
    Handle => "zipc_handle",
}

#[cfg(not(loom))]
c_types! {
    WaitSetHandle => "zipc_waitset",
}

/// A role handle's state, used by one thread at a time: a second thread gets
/// [`Status::Busy`](super::Status::Busy) rather than a data race on the state.
pub(crate) struct Exclusive<T> {
    busy: AtomicBool,
    value: std::cell::UnsafeCell<T>,
    what: &'static str,
}

// SAFETY: the value is only reached through `with`, which hands out one `&mut` at a time (the
// `busy` flag); `T: Send` lets it move between the threads that take turns.
unsafe impl<T: Send> Sync for Exclusive<T> {}

impl<T> Exclusive<T> {
    pub(crate) fn new(value: T, what: &'static str) -> Self {
        Exclusive { busy: AtomicBool::new(false), value: std::cell::UnsafeCell::new(value), what }
    }

    /// Runs `f` on the value if no other thread is; [`Failure::Busy`] otherwise.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> Outcome<R>) -> Outcome<R> {
        if self.busy.swap(true, Ordering::Acquire) {
            return Err(Failure::Busy(self.what));
        }
        struct Reset<'a>(&'a AtomicBool);
        impl Drop for Reset<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _reset = Reset(&self.busy);
        // SAFETY: the flag was clear and is now ours until `_reset` drops: no other `&mut` exists.
        f(unsafe { &mut *self.value.get() })
    }
}
