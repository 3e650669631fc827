//! The shell of every C function: a body runs under `catch_unwind`, and its failure becomes a
//! status and this thread's last error.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::status::{record, Failure, Outcome, Status};

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Runs the body of a status-returning call: failures are recorded for [`zipc_last_error`](super::zipc_last_error) and
/// turned into their status; a panic is caught (it must not unwind into C) and reported as
/// [`Status::Internal`].
#[inline]
pub(crate) fn call(body: impl FnOnce() -> Outcome) -> Status {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => return status,
        Ok(Err(f)) => f,
        Err(p) => Failure::Internal(panic_message(&*p)),
    };
    record(&failure);
    failure.status()
}

/// Runs the body of a call that returns a plain value (a count, a flag): `fallback` for a NULL
/// handle or a caught panic.
pub(crate) fn value<T>(fallback: T, body: impl FnOnce() -> Option<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Some(v)) => v,
        Ok(None) => {
            record(&Failure::Null("handle"));
            fallback
        }
        Err(p) => {
            record(&Failure::Internal(panic_message(&*p)));
            fallback
        }
    }
}

/// `Ok` if `done`, else `Again`.
pub(crate) fn again(done: bool) -> Outcome {
    Ok(if done { Status::Ok } else { Status::Again })
}

macro_rules! opener {
    ($(#[$m:meta])* $open:ident, $close:ident, $handle:ident, $ty:ident) => {
        $(#[$m])*
        #[cfg_attr(feature = "ffi", no_mangle)]
        pub unsafe extern "C" fn $open(seg: *const SegmentHandle, name: *const c_char, out: *mut *mut $handle) -> Status {
            call(|| {
                // SAFETY: module contract.
                let (seg, name, out) = unsafe { open_args(seg, name, out) }?;
                hand_out(out, $handle($ty::open(seg, name)?))
            })
        }

        /// Closes the handle (NULL is fine).
        #[cfg_attr(feature = "ffi", no_mangle)]
        pub unsafe extern "C" fn $close(h: *mut $handle) {
            value((), || {
                // SAFETY: module contract; the handle is not used again.
                unsafe { free(h) };
                Some(())
            })
        }
    };
}

pub(super) use opener;
