//! The live state of a structure as `inspect` shows it: [`State`], one variant per kind, each
//! read by the kind's own `inspect` function from its own words and rendered by its own
//! `LiveState` implementation (`render.rs`). This file is the structures layer's list of kinds;
//! only `inspect` imports it.

use crate::layout::description::Descriptor;
use crate::layout::Kind;
use crate::segment::region::Region;
use crate::structures::render::{Json, LiveState};
use crate::structures::sync::{barrier, condvar, event, latch, mutex, once, rwlock, semaphore};
use crate::structures::{array, atomic, endpoint, future, map, pool, queue, ring, stack, topic};

/// The live state of one structure, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// An array.
    Array(array::ArrayState),
    /// An atomic.
    Atomic(atomic::AtomicState),
    /// A queue.
    Queue(queue::QueueState),
    /// A ring.
    Ring(ring::RingState),
    /// A pool.
    Pool(pool::PoolState),
    /// A semaphore.
    Semaphore(semaphore::SemaphoreState),
    /// A barrier.
    Barrier(barrier::BarrierState),
    /// A latch.
    Latch(latch::LatchState),
    /// A mutex.
    Mutex(mutex::MutexState),
    /// An event.
    Event(event::EventState),
    /// An endpoint.
    Endpoint(endpoint::EndpointState),
    /// A topic.
    Topic(topic::TopicState),
    /// A stack.
    Stack(stack::StackState),
    /// A map.
    Map(map::MapState),
    /// A set.
    Set(map::MapState),
    /// A condvar.
    Condvar(condvar::CondvarState),
    /// A once.
    Once(once::OnceState),
    /// An rwlock.
    RwLock(rwlock::RwLockState),
    /// A future.
    Future(future::FutureState),
}

/// Runs `$e` with `$s` bound to the state inside any variant.
macro_rules! each_state {
    ($state:expr, $s:ident => $e:expr) => {
        match $state {
            State::Array($s) => $e,
            State::Atomic($s) => $e,
            State::Queue($s) => $e,
            State::Ring($s) => $e,
            State::Pool($s) => $e,
            State::Semaphore($s) => $e,
            State::Barrier($s) => $e,
            State::Latch($s) => $e,
            State::Mutex($s) => $e,
            State::Event($s) => $e,
            State::Endpoint($s) => $e,
            State::Topic($s) => $e,
            State::Stack($s) => $e,
            State::Map($s) => $e,
            State::Set($s) => $e,
            State::Condvar($s) => $e,
            State::Once($s) => $e,
            State::RwLock($s) => $e,
            State::Future($s) => $e,
        }
    };
}

impl State {
    /// The kind whose state this is.
    pub fn kind(&self) -> Kind {
        match self {
            State::Array(_) => Kind::Array,
            State::Atomic(_) => Kind::Atomic,
            State::Queue(_) => Kind::Queue,
            State::Ring(_) => Kind::Ring,
            State::Pool(_) => Kind::Pool,
            State::Semaphore(_) => Kind::Semaphore,
            State::Barrier(_) => Kind::Barrier,
            State::Latch(_) => Kind::Latch,
            State::Mutex(_) => Kind::Mutex,
            State::Event(_) => Kind::Event,
            State::Endpoint(_) => Kind::Endpoint,
            State::Topic(_) => Kind::Topic,
            State::Stack(_) => Kind::Stack,
            State::Map(_) => Kind::Map,
            State::Set(_) => Kind::Set,
            State::Condvar(_) => Kind::Condvar,
            State::Once(_) => Kind::Once,
            State::RwLock(_) => Kind::RwLock,
            State::Future(_) => Kind::Future,
        }
    }

    /// The human report's lines for this state.
    pub(crate) fn report(&self) -> Vec<String> {
        let mut out = Vec::new();
        each_state!(self, s => s.report(&mut out));
        out
    }

    /// The state as a JSON object.
    pub(crate) fn json(&self) -> Json {
        each_state!(self, s => s.json())
    }
}

/// Reads the live state of the structure `desc` describes, in `region`: each kind reads its own
/// words (values are untrusted; oddities go to `problems`).
pub(crate) fn read(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> State {
    match desc.kind {
        Kind::Array => State::Array(array::inspect(region, desc, problems)),
        Kind::Atomic => State::Atomic(atomic::inspect(region, desc, problems)),
        Kind::Queue => State::Queue(queue::inspect(region, desc, problems)),
        Kind::Ring => State::Ring(ring::inspect(region, desc, problems)),
        Kind::Pool => State::Pool(pool::inspect(region, desc, problems)),
        Kind::Semaphore => State::Semaphore(semaphore::inspect(region, desc, problems)),
        Kind::Barrier => State::Barrier(barrier::inspect(region, desc, problems)),
        Kind::Latch => State::Latch(latch::inspect(region, desc, problems)),
        Kind::Mutex => State::Mutex(mutex::inspect(region, desc, problems)),
        Kind::Event => State::Event(event::inspect(region, desc, problems)),
        Kind::Endpoint => State::Endpoint(endpoint::inspect(region, desc, problems)),
        Kind::Topic => State::Topic(topic::inspect(region, desc, problems)),
        Kind::Stack => State::Stack(stack::inspect(region, desc, problems)),
        Kind::Map => State::Map(map::inspect(region, desc, problems)),
        Kind::Set => State::Set(map::inspect(region, desc, problems)),
        Kind::Condvar => State::Condvar(condvar::inspect(region, desc, problems)),
        Kind::Once => State::Once(once::inspect(region, desc, problems)),
        Kind::RwLock => State::RwLock(rwlock::inspect(region, desc, problems)),
        Kind::Future => State::Future(future::inspect(region, desc, problems)),
    }
}
