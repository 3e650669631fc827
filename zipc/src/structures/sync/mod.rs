//! The synchronisation primitives: [`Semaphore`](semaphore::Semaphore),
//! [`Barrier`](barrier::Barrier) and [`Latch`](latch::Latch) in ZeroIPC v2's layouts, the robust
//! [`Mutex`](mutex::Mutex) with its [`Condvar`](condvar::Condvar), the [`Once`](once::Once), the [`RwLock`](rwlock::RwLock) and the [`Event`](event::Event). Each sleeps on its own futex word
//! (`sys::waiting`), counted so that the side that makes progress makes no system call while
//! nobody sleeps.

pub mod barrier;
pub mod condvar;
pub mod event;
pub mod latch;
pub mod mutex;
pub mod once;
pub mod rwlock;
pub mod semaphore;
