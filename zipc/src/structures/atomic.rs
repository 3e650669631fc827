//! [`Atomic<T>`]: one atomic integer on its own pair of cache lines, with futex wait/wake for
//! 32-bit values.
//!
//! ```text
//! offset  size  field
//! 0       4|8   value      u32, i32, u64 or i64
//! 8       4     u32 waiters  processes sleeping in `wait` (32-bit values only)
//! 12      116   reserved (zero)
//! ```
//!
//! The region is 128 bytes, 128-aligned: neighbours never share its cache lines (the spatial
//! prefetcher pulls lines in pairs).

pub use crate::layout::kinds::atomic::{REGION_SIZE, WAITERS_OFFSET};
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::time::Duration;

use crate::error::Result;
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::AtomicInt;
use crate::structures::render::{Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::futex::{self, Deadline};

/// Live state for `inspect`: the value, typed by the recorded element (validated at open to be
/// one of the four value types), and the waiter count of 32-bit values.
pub(crate) fn inspect(
    region: &Region,
    desc: &crate::segment::description::Descriptor,
    _: &mut Vec<String>,
) -> AtomicState {
    use {AtomicState, Value};
    let word32 = || region.u32_at(0).load(Ordering::Relaxed);
    let word64 = || region.u64_at(0).load(Ordering::Relaxed);
    let waiters = || Some(region.u32_at(WAITERS_OFFSET).load(Ordering::Relaxed));
    match desc.canonical.as_deref() {
        Some("u32") => AtomicState { value: Value::Unsigned(word32().into()), waiters: waiters() },
        Some("i32") => AtomicState { value: Value::Signed((word32() as i32).into()), waiters: waiters() },
        Some("i64") => AtomicState { value: Value::Signed(word64() as i64), waiters: None },
        _ => AtomicState { value: Value::Unsigned(word64()), waiters: None },
    }
}

mod sealed {
    pub trait Sealed {}
}

/// The value types of [`Atomic`]: `u32`, `i32`, `u64`, `i64`.
pub trait AtomicValue: AtomicInt + sealed::Sealed {
    /// The value's bits, as stored in a declaration's `initial`.
    fn to_bits(self) -> i64;
    /// Inverse of `to_bits`.
    fn from_bits(bits: i64) -> Self;
}

/// The 32-bit [`AtomicValue`]s, which can be waited on.
pub trait Futex32: AtomicValue {
    /// The value's bits as a futex word.
    fn to_u32(self) -> u32;
}

macro_rules! value {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl AtomicValue for $t {
            fn to_bits(self) -> i64 { self as i64 }
            fn from_bits(bits: i64) -> Self { bits as $t }
        }
    )*};
}
value!(u32, i32, u64, i64);

impl Futex32 for u32 {
    fn to_u32(self) -> u32 {
        self
    }
}

impl Futex32 for i32 {
    fn to_u32(self) -> u32 {
        self as u32
    }
}

/// An atomic integer in a segment.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Atomic, Segment};
/// let seg = Segment::create("/atomic-doc", 1 << 20)?;
/// let frames = Atomic::<u64>::create(&seg, "frames", 0)?;
/// frames.fetch_add(1);
/// let ready = Atomic::<u32>::create(&seg, "ready", 0)?;
/// ready.store(1);
/// ready.wake_all(); // a waiter in `ready.wait(0, None)` returns
/// # Segment::unlink("/atomic-doc") }
/// ```
pub struct Atomic<T: AtomicValue> {
    segment: Segment,
    region: Region,
    value: NonNull<T>,
    _value: PhantomData<T>,
}

impl<T: AtomicValue> Clone for Atomic<T> {
    fn clone(&self) -> Self {
        Atomic { segment: self.segment.clone(), region: self.region.clone(), value: self.value, _value: PhantomData }
    }
}

// SAFETY: the handle keeps the mapping alive and only touches it atomically.
unsafe impl<T: AtomicValue> Send for Atomic<T> {}
// SAFETY: as above.
unsafe impl<T: AtomicValue> Sync for Atomic<T> {}

impl<T: AtomicValue> Atomic<T> {
    /// Creates atomic `name` holding `initial`.
    pub fn create(segment: &Segment, name: &str, initial: T) -> Result<Self> {
        Self::create_in(segment, &StructureLayout { initial: initial.to_bits(), ..Self::declaration(name) })
    }

    /// Opens atomic `name`, checking its value type.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_in(segment, &Self::declaration(name))
    }

    /// Opens atomic `name`, or creates it holding `initial`.
    pub fn open_or_create(segment: &Segment, name: &str, initial: T) -> Result<Self> {
        Self::open_or_create_in(segment, &StructureLayout { initial: initial.to_bits(), ..Self::declaration(name) })
    }

    fn from_region(segment: &Segment, region: Region) -> Self {
        let p = region.typed::<T>(0);
        Atomic { segment: segment.clone(), region, value: p, _value: PhantomData }
    }

    /// The atomic's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment this atomic is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Loads the value (`Acquire`).
    pub fn load(&self) -> T {
        // SAFETY: `value` points at an aligned T inside the live mapping.
        unsafe { T::atomic_load(self.value.as_ptr(), Ordering::Acquire) }
    }

    /// Stores a value (`Release`). Waiters are not woken: call [`wake_one`](Self::wake_one) or
    /// [`wake_all`](Self::wake_all).
    pub fn store(&self, value: T) {
        // SAFETY: as for `load`.
        unsafe { T::atomic_store(self.value.as_ptr(), value, Ordering::Release) }
    }

    /// Adds (wrapping), returning the previous value (`AcqRel`).
    pub fn fetch_add(&self, value: T) -> T {
        // SAFETY: as for `load`.
        unsafe { T::atomic_fetch_add(self.value.as_ptr(), value, Ordering::AcqRel) }
    }

    /// Subtracts (wrapping), returning the previous value (`AcqRel`).
    pub fn fetch_sub(&self, value: T) -> T {
        // SAFETY: as for `load`.
        unsafe { T::atomic_fetch_sub(self.value.as_ptr(), value, Ordering::AcqRel) }
    }

    /// Replaces the value, returning the previous one (`AcqRel`).
    pub fn swap(&self, value: T) -> T {
        // SAFETY: as for `load`.
        unsafe { T::atomic_swap(self.value.as_ptr(), value, Ordering::AcqRel) }
    }

    /// Raw pointer to the value, for code that accesses it atomically itself (C's `__atomic`
    /// builtins through the C ABI). Valid while this handle lives; other processes change it
    /// concurrently, so never read or write it non-atomically.
    pub fn as_ptr(&self) -> *mut T {
        self.value.as_ptr()
    }

    /// Replaces the value with `new` if it equals `current`: `Ok(previous)` on success,
    /// `Err(actual)` otherwise (`AcqRel` / `Acquire`).
    pub fn compare_exchange(&self, current: T, new: T) -> std::result::Result<T, T> {
        // SAFETY: as for `load`.
        unsafe { T::atomic_compare_exchange(self.value.as_ptr(), current, new, Ordering::AcqRel, Ordering::Acquire) }
    }
}

impl<T: Futex32> Atomic<T> {
    fn word(&self) -> &AtomicU32 {
        // SAFETY: a 32-bit value is a u32-sized, u32-aligned word in the live mapping; atomics may
        // alias other processes' writes.
        unsafe { AtomicU32::from_ptr(self.value.as_ptr().cast::<u32>()) }
    }

    fn waiters(&self) -> &AtomicU32 {
        self.region.u32_at(WAITERS_OFFSET)
    }

    /// Blocks while the value equals `expected`, at most `timeout` (`None`: forever). Returns
    /// `Ok(())` once the value differs, [`Error::Timeout`](crate::Error::Timeout) if it still equals `expected` at the
    /// deadline. Sleeps on a shared futex: no spinning, no polling.
    pub fn wait(&self, expected: T, timeout: Option<Duration>) -> Result<()> {
        let expected = expected.to_u32();
        let deadline = Deadline::after(timeout);
        let word = self.word();
        if word.load(Ordering::Acquire) != expected {
            return Ok(());
        }
        self.waiters().fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst); // pairs with the fence in `wake`
        let result = loop {
            if word.load(Ordering::SeqCst) != expected {
                break Ok(());
            }
            match deadline.remaining() {
                Err(e) => break Err(e),
                Ok(left) => {
                    futex::wait(word, expected, left);
                }
            }
        };
        self.waiters().fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Wakes one process blocked in [`wait`](Self::wait). No system call when nobody waits.
    /// Returns how many were woken.
    pub fn wake_one(&self) -> usize {
        self.wake(1)
    }

    /// Wakes every process blocked in [`wait`](Self::wait). No system call when nobody waits.
    pub fn wake_all(&self) -> usize {
        self.wake(u32::MAX)
    }

    fn wake(&self, n: u32) -> usize {
        // Pairs with the waiter's SeqCst increment: either we see the waiter, or it sees the
        // value the caller stored before calling us.
        fence(Ordering::SeqCst);
        if self.waiters().load(Ordering::SeqCst) == 0 {
            return 0;
        }
        futex::wake(self.word(), n)
    }
}

#[diagnostic::do_not_recommend]
impl<T: AtomicValue> Structure for Atomic<T> {
    const KIND: Kind = Kind::Atomic;
    const ELEM: Option<TypeLayout<'static>> = Some(TypeLayout::Primitive(T::PRIMITIVE));
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let initial = T::from_bits(decl.initial);
        let region = segment.allocate(decl, |r| {
            let p = r.ptr(0, std::mem::size_of::<T>() as u64).cast::<T>();
            // SAFETY: `p` is the aligned value slot of the fresh, unpublished region.
            unsafe { T::atomic_store(p, initial, Ordering::Relaxed) };
            Ok(())
        })?;
        Ok(Self::from_region(segment, region))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        // An atomic's initial value is not a parameter to check: the value has moved on.
        let (region, _) = segment.lookup(decl, false)?;
        Ok(Self::from_region(segment, region))
    }
}

impl<T: AtomicValue> std::fmt::Debug for Atomic<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Atomic")
            .field("segment", &self.segment.name())
            .field("name", &self.region.name())
            .field("value", &self.load())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

/// An atomic integer's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// A `u32` or `u64`.
    Unsigned(u64),
    /// An `i32` or `i64`.
    Signed(i64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unsigned(v) => write!(f, "{v}"),
            Value::Signed(v) => write!(f, "{v}"),
        }
    }
}

/// An atomic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtomicState {
    /// The value.
    pub value: Value,
    /// Processes asleep in `wait` (32-bit values only; `None` for 64-bit ones).
    pub waiters: Option<u32>,
}

impl LiveState for AtomicState {
    fn report(&self, out: &mut Vec<String>) {
        let a = self;
        out.push(match a.waiters {
            Some(w) if w > 0 => format!("value {}; {} asleep in wait", a.value, w),
            _ => format!("value {}", a.value),
        });
    }

    fn json(&self) -> Json {
        let u = |v: u32| Json::U(v.into());
        let a = self;
        Json::O(vec![
            (
                "value",
                match a.value {
                    Value::Unsigned(v) => Json::U(v),
                    Value::Signed(v) => Json::I(v),
                },
            ),
            ("waiters", Json::opt(a.waiters, u)),
        ])
    }
}

impl<T: Futex32> Atomic<T> {
    /// A [`WaitSet`](crate::WaitSet) source that is ready once the value differs from `from` —
    /// [`wait`](Self::wait)'s condition. Writers wake it with [`wake_all`](Self::wake_all).
    pub fn changed_from(&self, from: T) -> Changed<'_, T> {
        Changed { atomic: self, from: from.to_u32() }
    }

    /// Awaits the value differing from `expected`: the `async` [`wait`](Self::wait). Writers wake
    /// it with [`wake_all`](Self::wake_all).
    #[cfg(not(loom))]
    pub async fn wait_async(&self, expected: T) -> Result<()> {
        let source = crate::sys::wait_set::Readiness::wait_source(&self.changed_from(expected));
        let expected = expected.to_u32();
        crate::sys::reactor::retry(source, || Ok((self.word().load(Ordering::SeqCst) != expected).then_some(()))).await
    }
}

/// An [`Atomic`] changing from a value, as a [`WaitSet`](crate::WaitSet) source; from
/// [`Atomic::changed_from`].
#[cfg_attr(loom, allow(dead_code))] // the Readiness impl is not built under loom
#[derive(Debug)]
pub struct Changed<'a, T: Futex32> {
    atomic: &'a Atomic<T>,
    from: u32,
}

#[cfg(not(loom))]
impl<T: Futex32> crate::sys::wait_set::Readiness for Changed<'_, T> {
    fn wait_source(&self) -> crate::sys::wait_set::Source {
        let from = self.from;
        crate::sys::wait_set::Source::new(
            Atomic::clone(self.atomic),
            |a| crate::sys::wait_set::SleepPoint::new(a.word(), a.waiters(), false),
            move |a| {
                let v = a.word().load(Ordering::SeqCst);
                if v != from {
                    crate::sys::wait_set::Probe::Ready
                } else {
                    crate::sys::wait_set::Probe::Pending(v)
                }
            },
        )
    }
}
