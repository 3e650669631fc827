//! [`DynAtomic`]: an atomic of whatever value type the segment records.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::{self, Kind, Primitive};
use crate::segment::Segment;
use crate::structures::atomic::AtomicValue;
use crate::Atomic;

use crate::structures::locate_kind;

/// An [`Atomic`] of whatever value type the segment records (`u32`, `i32`, `u64`, `i64`), with
/// values passed as `i64` bits (a `u64` above `i64::MAX` is its two's-complement bits; a 32-bit
/// value is its sign- or zero-extended bits, and is truncated when stored).
#[derive(Debug)]
pub enum DynAtomic {
    /// A `u32`.
    U32(Atomic<u32>),
    /// An `i32`.
    I32(Atomic<i32>),
    /// A `u64`.
    U64(Atomic<u64>),
    /// An `i64`.
    I64(Atomic<i64>),
}

macro_rules! each {
    ($self:expr, $a:ident => $e:expr) => {
        match $self {
            DynAtomic::U32($a) => $e,
            DynAtomic::I32($a) => $e,
            DynAtomic::U64($a) => $e,
            DynAtomic::I64($a) => $e,
        }
    };
}

impl DynAtomic {
    /// Opens atomic `name` whatever its value type.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let (_, desc) = locate_kind(segment, name, Kind::Atomic)?;
        let fp = |p: Primitive| layout::fingerprint(&layout::TypeLayout::Primitive(p));
        Ok(match desc.fingerprint {
            f if f == fp(Primitive::U32) => DynAtomic::U32(Atomic::open(segment, name)?),
            f if f == fp(Primitive::I32) => DynAtomic::I32(Atomic::open(segment, name)?),
            f if f == fp(Primitive::U64) => DynAtomic::U64(Atomic::open(segment, name)?),
            f if f == fp(Primitive::I64) => DynAtomic::I64(Atomic::open(segment, name)?),
            _ => {
                return Err(Error::corrupt(
                    segment.name(),
                    format!("structure {name:?}"),
                    "an atomic whose value type is not u32, i32, u64 or i64",
                ))
            }
        })
    }

    /// The value type.
    pub fn primitive(&self) -> Primitive {
        match self {
            DynAtomic::U32(_) => Primitive::U32,
            DynAtomic::I32(_) => Primitive::I32,
            DynAtomic::U64(_) => Primitive::U64,
            DynAtomic::I64(_) => Primitive::I64,
        }
    }

    /// The atomic's name.
    pub fn name(&self) -> &str {
        each!(self, a => a.name())
    }

    /// Loads the value (`Acquire`).
    pub fn load(&self) -> i64 {
        each!(self, a => a.load().to_bits())
    }

    /// Stores a value (`Release`).
    pub fn store(&self, bits: i64) {
        each!(self, a => a.store(AtomicValue::from_bits(bits)))
    }

    /// Adds (wrapping), returning the previous value.
    pub fn fetch_add(&self, bits: i64) -> i64 {
        each!(self, a => a.fetch_add(AtomicValue::from_bits(bits)).to_bits())
    }

    /// Subtracts (wrapping), returning the previous value.
    pub fn fetch_sub(&self, bits: i64) -> i64 {
        each!(self, a => a.fetch_sub(AtomicValue::from_bits(bits)).to_bits())
    }

    /// Replaces the value, returning the previous one.
    pub fn swap(&self, bits: i64) -> i64 {
        each!(self, a => a.swap(AtomicValue::from_bits(bits)).to_bits())
    }

    /// Replaces the value with `new` if it equals `current`: `Ok(previous)` or `Err(actual)`.
    pub fn compare_exchange(&self, current: i64, new: i64) -> std::result::Result<i64, i64> {
        each!(self, a => a
            .compare_exchange(AtomicValue::from_bits(current), AtomicValue::from_bits(new))
            .map(AtomicValue::to_bits)
            .map_err(AtomicValue::to_bits))
    }

    /// Blocks while the value equals `expected` (32-bit values only), at most `timeout`.
    pub fn wait(&self, expected: i64, timeout: Option<Duration>) -> Result<()> {
        match self {
            DynAtomic::U32(a) => a.wait(AtomicValue::from_bits(expected), timeout),
            DynAtomic::I32(a) => a.wait(AtomicValue::from_bits(expected), timeout),
            _ => Err(self.not_32()),
        }
    }

    /// Wakes one waiter (32-bit values only); returns how many were woken.
    pub fn wake_one(&self) -> Result<usize> {
        match self {
            DynAtomic::U32(a) => Ok(a.wake_one()),
            DynAtomic::I32(a) => Ok(a.wake_one()),
            _ => Err(self.not_32()),
        }
    }

    /// Wakes every waiter (32-bit values only); returns how many were woken.
    pub fn wake_all(&self) -> Result<usize> {
        match self {
            DynAtomic::U32(a) => Ok(a.wake_all()),
            DynAtomic::I32(a) => Ok(a.wake_all()),
            _ => Err(self.not_32()),
        }
    }

    fn not_32(&self) -> Error {
        Error::invalid(
            format!("wait on atomic {:?}", self.name()),
            format!("only 32-bit atomics can be waited on; this one holds a {}", self.primitive().name()),
        )
    }

    /// Pointer to the value in the segment (for C's `__atomic` builtins), valid while this handle
    /// or its segment lives.
    pub fn as_ptr(&self) -> *mut u8 {
        each!(self, a => a.as_ptr().cast())
    }
}
