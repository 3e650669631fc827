//! Atomics (`zipc_atomic`): values as `int64_t` bits; 32-bit ones can be waited on.

use std::ffi::{c_char, c_int, c_void};

use super::args::{self, free, hand_out, obj, open_args, opt_out, timeout};
use super::handles::*;
use super::shell::{abi, again};
use super::status::Status;
use crate::dynamic::DynAtomic;

abi! {
    /// Opens atomic `name`, whatever its value type (see `zipc_atomic_type`).
    unsafe fn zipc_atomic_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        out: *mut *mut AtomicHandle,
    ) -> Status {
        let (seg, name, out) = open_args(seg, name, out)?;
        hand_out(out, AtomicHandle(DynAtomic::open(seg, name)?))
    }

    /// Closes an atomic handle (NULL is fine).
    unsafe fn zipc_atomic_close(a: *mut AtomicHandle) {
        free(a)
    }

    /// The value type: a `ZIPC_PRIMITIVE_*` code (0 for NULL).
    unsafe fn zipc_atomic_type(a: *const AtomicHandle) -> u32 {
        a.as_ref().map(|a| a.0.primitive().code())
    }

    /// The value's address, for `__atomic` builtins (NULL for NULL).
    unsafe fn zipc_atomic_ptr(a: *const AtomicHandle) -> *mut c_void {
        a.as_ref().map(|a| a.0.as_ptr().cast())
    }

    /// Loads the value (as `int64_t` bits) into `*out`.
    unsafe fn zipc_atomic_load(a: *const AtomicHandle, out: *mut i64) -> Status {
        let (a, out) = (obj(a, "a")?, args::out(out, "out")?);
        *out = a.0.load();
        Ok(Status::Ok)
    }

    /// Stores a value.
    unsafe fn zipc_atomic_store(a: *const AtomicHandle, v: i64) -> Status {
        let a = obj(a, "a")?;
        a.0.store(v);
        Ok(Status::Ok)
    }

    /// Adds `v` (wrapping); the previous value goes to `*previous` unless it is NULL.
    unsafe fn zipc_atomic_fetch_add(a: *const AtomicHandle, v: i64, previous: *mut i64) -> Status {
        let (a, prev) = (obj(a, "a")?, opt_out(previous));
        let p = a.0.fetch_add(v);
        if let Some(prev) = prev {
            *prev = p;
        }
        Ok(Status::Ok)
    }

    /// Subtracts `v` (wrapping); the previous value goes to `*previous` unless it is NULL.
    unsafe fn zipc_atomic_fetch_sub(a: *const AtomicHandle, v: i64, previous: *mut i64) -> Status {
        let (a, prev) = (obj(a, "a")?, opt_out(previous));
        let p = a.0.fetch_sub(v);
        if let Some(prev) = prev {
            *prev = p;
        }
        Ok(Status::Ok)
    }

    /// Replaces the value; the previous one goes to `*previous` unless it is NULL.
    unsafe fn zipc_atomic_swap(a: *const AtomicHandle, v: i64, previous: *mut i64) -> Status {
        let (a, prev) = (obj(a, "a")?, opt_out(previous));
        let p = a.0.swap(v);
        if let Some(prev) = prev {
            *prev = p;
        }
        Ok(Status::Ok)
    }

    /// Replaces the value with `desired` if it equals `expected`: `ZIPC_OK` if it did, `ZIPC_AGAIN`
    /// if not; the value found goes to `*actual` unless it is NULL.
    unsafe fn zipc_atomic_compare_exchange(
        a: *const AtomicHandle,
        expected: i64,
        desired: i64,
        actual: *mut i64,
    ) -> Status {
        let (a, act) = (obj(a, "a")?, opt_out(actual));
        let r = a.0.compare_exchange(expected, desired);
        if let Some(act) = act {
            *act = match r {
                Ok(v) | Err(v) => v,
            };
        }
        again(r.is_ok())
    }

    /// Blocks while the value equals `expected` (32-bit atomics), at most `timeout_ns`.
    unsafe fn zipc_atomic_wait(a: *const AtomicHandle, expected: i64, timeout_ns: i64) -> Status {
        let a = obj(a, "a")?;
        a.0.wait(expected, timeout(timeout_ns))?;
        Ok(Status::Ok)
    }

    /// Wakes waiters of a 32-bit atomic: one if `all` is 0, every one otherwise.
    unsafe fn zipc_atomic_wake(a: *const AtomicHandle, all: c_int) -> Status {
        let a = obj(a, "a")?;
        if all != 0 {
            a.0.wake_all()?;
        } else {
            a.0.wake_one()?;
        }
        Ok(Status::Ok)
    }
}
