//! The C ABI: the `zipc_*` functions that `libzipc` (the `libzipc` package: `libzipc.so` and
//! `libzipc.a`) exports, declared in `zipc.h`, which generated C headers include and generated
//! Python modules load with ctypes. Rust code uses [`crate::dynamic`] and the typed API instead.
//!
//! Every function here is a thin shell over [`crate::dynamic`] and the sync primitives: the
//! algorithms are the Rust ones, so a C or Python process is a peer like any Rust process — it
//! joins the segment's process registry when it opens a segment, and registers for the
//! membarrier-based asymmetric fence when it opens a queue or endpoint, exactly as Rust does.
//!
//! # Conventions (also in `zipc.h`)
//!
//! * Functions that can fail return a [`Status`]: `ZIPC_OK` (0), `ZIPC_AGAIN` (1, a `try_`
//!   operation could not proceed now: full, empty, nothing free — not an error), or an error
//!   code. After an error, [`zipc_last_error`] gives the message of the failed call (the same text
//!   a Rust caller would see) and [`zipc_last_status`] its code, for the calling thread, until
//!   its next failing call.
//! * Handles are opaque pointers, created by `*_open` (or a role claim) and freed by the matching
//!   `*_close`, which accepts NULL. A structure handle keeps the segment mapped: it stays valid
//!   after its segment handle is closed. Role handles (queue producers and consumers, ring
//!   producers and consumers, endpoint sides) release their role when closed.
//! * Every pointer argument is checked for NULL (`ZIPC_ERR_NULL`); output pointers are checked
//!   before anything happens, so a failed call changes nothing. Buffers pass elements as bytes
//!   with their size, which must equal the structure's element size (`ZIPC_ERR_INVALID_ARGUMENT`
//!   otherwise). Timeouts are `int64_t` nanoseconds: negative waits forever, 0 does not wait.
//! * Role handles are used by one thread at a time: a call on a role handle that another thread
//!   is using fails with `ZIPC_ERR_BUSY` instead of corrupting the role's state. Other handles
//!   may be shared between threads.
//! * No panic crosses the boundary: a bug inside zipc is caught and reported as
//!   `ZIPC_ERR_INTERNAL` with its message.
//!
//! The functions are exported under their C names (`#[no_mangle]`) only with the `ffi` feature,
//! which the `libzipc` package enables; without it they are ordinary Rust functions, so that the
//! unit tests here exercise them in every build.

mod abi;

pub use abi::*;

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::Error;

/// The version of the C ABI that `zipc.h` declares (`ZIPC_ABI_VERSION`) and
/// [`zipc_abi_version`] returns: a library and a header of different versions do not match.
pub const ABI_VERSION: u32 = 1;

/// Timeout value meaning "wait forever" (`ZIPC_FOREVER`); any negative value does.
pub const FOREVER: i64 = -1;

macro_rules! statuses {
    ($($(#[doc = $doc:literal])* $name:ident = $value:literal, $c:literal;)*) => {
        /// What a C ABI call returns (`zipc_status` in `zipc.h`).
        #[repr(C)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Status {
            $($(#[doc = $doc])* $name = $value,)*
        }

        impl Status {
            /// Every status, in code order.
            pub const ALL: &'static [Status] = &[$(Status::$name),*];

            /// The C name: `"ZIPC_ERR_TIMEOUT"`.
            pub const fn c_name(self) -> &'static str {
                match self {
                    $(Status::$name => $c,)*
                }
            }

            /// A one-line description (`zipc_status_str`).
            pub const fn description(self) -> &'static str {
                match self {
                    $(Status::$name => concat!($($doc),*).trim_ascii_start(),)*
                }
            }

            /// The status with code `code`.
            pub const fn from_code(code: i32) -> Option<Status> {
                match code {
                    $($value => Some(Status::$name),)*
                    _ => None,
                }
            }
        }
    };
}

statuses! {
    /// success
    Ok = 0, "ZIPC_OK";
    /// a try operation could not proceed now (full, empty, none free, not acquired): not an error
    Again = 1, "ZIPC_AGAIN";
    /// no segment or structure of that name
    NotFound = 2, "ZIPC_ERR_NOT_FOUND";
    /// a segment or structure of that name exists already
    AlreadyExists = 3, "ZIPC_ERR_ALREADY_EXISTS";
    /// the name breaks the naming rules
    InvalidName = 4, "ZIPC_ERR_INVALID_NAME";
    /// the segment's table is full
    TableFull = 5, "ZIPC_ERR_TABLE_FULL";
    /// the segment's process registry is full
    RegistryFull = 6, "ZIPC_ERR_REGISTRY_FULL";
    /// the segment has no room for the structure
    SegmentFull = 7, "ZIPC_ERR_SEGMENT_FULL";
    /// the structure is of another kind
    Kind = 8, "ZIPC_ERR_KIND";
    /// the structure's element layout or size differs
    Layout = 9, "ZIPC_ERR_LAYOUT";
    /// the structure's capacity differs
    Capacity = 10, "ZIPC_ERR_CAPACITY";
    /// another parameter of the structure differs (policy, mode, maximum, ...)
    Parameter = 11, "ZIPC_ERR_PARAMETER";
    /// several structures differ from their declaration
    Incompatible = 12, "ZIPC_ERR_INCOMPATIBLE";
    /// the segment's bytes are malformed
    Corrupt = 13, "ZIPC_ERR_CORRUPT";
    /// the operating system refused access
    Permission = 14, "ZIPC_ERR_PERMISSION";
    /// an argument is invalid (a buffer of the wrong size, a bad name, ...)
    InvalidArgument = 15, "ZIPC_ERR_INVALID_ARGUMENT";
    /// an index or range is outside the structure
    OutOfBounds = 16, "ZIPC_ERR_OUT_OF_BOUNDS";
    /// a blocking operation reached its timeout
    Timeout = 17, "ZIPC_ERR_TIMEOUT";
    /// the role (producer, consumer, endpoint side) is held by another handle
    RoleTaken = 18, "ZIPC_ERR_ROLE_TAKEN";
    /// the pool handle is stale (released already, or from another pool)
    StaleHandle = 19, "ZIPC_ERR_STALE_HANDLE";
    /// releasing the semaphore would exceed its maximum
    AboveMaximum = 20, "ZIPC_ERR_ABOVE_MAXIMUM";
    /// the mutex is not recoverable (a holder died and it was not repaired)
    NotRecoverable = 21, "ZIPC_ERR_NOT_RECOVERABLE";
    /// the calling thread holds the mutex already
    WouldDeadlock = 22, "ZIPC_ERR_WOULD_DEADLOCK";
    /// another operating-system error
    Os = 23, "ZIPC_ERR_OS";
    /// a required pointer argument was NULL
    Null = 24, "ZIPC_ERR_NULL";
    /// a role handle was used by two threads at once
    Busy = 25, "ZIPC_ERR_BUSY";
    /// a bug in zipc was caught (please report it with the message)
    Internal = 26, "ZIPC_ERR_INTERNAL";
    /// the segment cannot be removed: live processes use it
    InUse = 27, "ZIPC_ERR_IN_USE";
    /// every lane of the segment belongs to a live thread (too many threads on its queues)
    LanesFull = 28, "ZIPC_ERR_LANES_FULL";
}

impl Status {
    /// The status a zipc error maps to.
    pub fn of(e: &Error) -> Status {
        match e {
            Error::NotFound { .. } => Status::NotFound,
            Error::AlreadyExists { .. } => Status::AlreadyExists,
            Error::InvalidName { .. } => Status::InvalidName,
            Error::TableFull { .. } => Status::TableFull,
            Error::RegistryFull { .. } => Status::RegistryFull,
            Error::LanesFull { .. } => Status::LanesFull,
            Error::SegmentFull { .. } => Status::SegmentFull,
            Error::KindMismatch { .. } => Status::Kind,
            Error::LayoutMismatch { .. } => Status::Layout,
            Error::CapacityMismatch { .. } => Status::Capacity,
            Error::ParameterMismatch { .. } => Status::Parameter,
            Error::Incompatible { .. } => Status::Incompatible,
            Error::Corrupt { .. } => Status::Corrupt,
            Error::PermissionDenied { .. } => Status::Permission,
            Error::InvalidArgument { .. } => Status::InvalidArgument,
            Error::IndexOutOfBounds { .. } => Status::OutOfBounds,
            Error::Timeout => Status::Timeout,
            Error::RoleTaken { .. } => Status::RoleTaken,
            Error::StaleHandle { .. } => Status::StaleHandle,
            Error::AboveMaximum { .. } => Status::AboveMaximum,
            Error::NotRecoverable { .. } => Status::NotRecoverable,
            Error::WouldDeadlock { .. } => Status::WouldDeadlock,
            Error::InUse { .. } => Status::InUse,
            Error::Os { .. } => Status::Os,
        }
    }
}

/// Why a C ABI call failed: a zipc error, or a misuse only the ABI can see.
#[derive(Debug)]
pub(crate) enum Failure {
    Zipc(Error),
    /// A required pointer argument was NULL (its name).
    Null(&'static str),
    /// A role handle was in use by another thread.
    Busy(&'static str),
    /// A caught panic.
    Internal(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Zipc(e)
    }
}

impl Failure {
    fn status(&self) -> Status {
        match self {
            Failure::Zipc(e) => Status::of(e),
            Failure::Null(_) => Status::Null,
            Failure::Busy(_) => Status::Busy,
            Failure::Internal(_) => Status::Internal,
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Zipc(e) => e.to_string(),
            Failure::Null(arg) => format!("argument `{arg}` is NULL: pass a valid pointer"),
            Failure::Busy(what) => format!(
                "this {what} handle is being used by another thread: a role handle is used by one thread at a time (open one per thread, or serialise the calls)"
            ),
            Failure::Internal(m) => format!("internal error in zipc (a bug, please report it): {m}"),
        }
    }
}

pub(crate) type Outcome<T = Status> = std::result::Result<T, Failure>;

thread_local! {
    /// The last failure of this thread: its status and message.
    static LAST: RefCell<(Status, CString)> = RefCell::new((Status::Ok, CString::default()));
}

fn record(f: &Failure) {
    let status = f.status();
    // Messages come from names that contain no NUL, but never let one truncate or fail this.
    let text = CString::new(f.message().replace('\0', "\u{FFFD}")).unwrap_or_default();
    let _ = LAST.try_with(|l| *l.borrow_mut() = (status, text));
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Runs the body of a status-returning call: failures are recorded for [`zipc_last_error`] and
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

/// A timeout in nanoseconds as the Rust API takes it: negative is forever.
pub(crate) fn timeout(ns: i64) -> Option<Duration> {
    u64::try_from(ns).ok().map(Duration::from_nanos)
}

// ---------------------------------------------------------------------------------------------
// Pointer arguments
// ---------------------------------------------------------------------------------------------

/// The object behind a handle argument.
///
/// # Safety
///
/// `p` is NULL or a pointer this library returned and that was not closed yet.
pub(crate) unsafe fn obj<'a, T>(p: *const T, arg: &'static str) -> Outcome<&'a T> {
    // SAFETY: non-null pointers are live handles (caller's contract).
    unsafe { p.as_ref() }.ok_or(Failure::Null(arg))
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string that stays valid for the call.
pub(crate) unsafe fn text<'a>(p: *const c_char, arg: &'static str) -> Outcome<&'a str> {
    if p.is_null() {
        return Err(Failure::Null(arg));
    }
    // SAFETY: a valid NUL-terminated string (caller's contract).
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| {
        Failure::Zipc(Error::InvalidArgument {
            what: format!("argument `{arg}`"),
            detail: format!("{:?} is not UTF-8", c.to_string_lossy()),
        })
    })
}

/// An optional NUL-terminated UTF-8 string argument (NULL is `None`).
///
/// # Safety
///
/// As for [`text`].
pub(crate) unsafe fn opt_text<'a>(p: *const c_char, arg: &'static str) -> Outcome<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: as for `text`.
        unsafe { text(p, arg) }.map(Some)
    }
}

/// `count` elements of `size` bytes each, as a byte length (overflow is an invalid argument).
pub(crate) fn byte_len(count: usize, size: usize) -> Outcome<usize> {
    count.checked_mul(size).ok_or_else(|| {
        Failure::Zipc(Error::InvalidArgument {
            what: "element count".to_owned(),
            detail: format!("{count} elements of {size} bytes overflow the address space"),
        })
    })
}

/// An input buffer of `len` bytes.
///
/// # Safety
///
/// `p` is NULL or valid for reads of `len` bytes for the call, and not written meanwhile.
pub(crate) unsafe fn input<'a>(p: *const c_void, len: usize, arg: &'static str) -> Outcome<&'a [u8]> {
    if p.is_null() {
        return Err(Failure::Null(arg));
    }
    // SAFETY: valid for `len` bytes (caller's contract); u8 has no alignment or validity
    // requirements.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// An output buffer of `len` bytes.
///
/// # Safety
///
/// `p` is NULL or valid for writes of `len` bytes for the call, and accessed by nothing else
/// meanwhile (in particular it is not another argument of the call).
pub(crate) unsafe fn output<'a>(p: *mut c_void, len: usize, arg: &'static str) -> Outcome<&'a mut [u8]> {
    if p.is_null() {
        return Err(Failure::Null(arg));
    }
    // SAFETY: valid and exclusive for `len` bytes (caller's contract); any bytes are valid u8.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) })
}

/// A required output value.
///
/// # Safety
///
/// `p` is NULL or valid for a write of a `T`, aligned, for the call.
pub(crate) unsafe fn out<'a, T>(p: *mut T, arg: &'static str) -> Outcome<&'a mut T> {
    // SAFETY: valid, aligned and exclusive (caller's contract).
    unsafe { p.as_mut() }.ok_or(Failure::Null(arg))
}

/// An optional output value (NULL: not wanted).
///
/// # Safety
///
/// As for [`out`], or NULL.
pub(crate) unsafe fn opt_out<'a, T>(p: *mut T) -> Option<&'a mut T> {
    // SAFETY: as for `out`.
    unsafe { p.as_mut() }
}

/// Hands a new handle to C.
pub(crate) fn hand_out<T>(slot: &mut *mut T, value: T) -> Outcome {
    *slot = Box::into_raw(Box::new(value));
    Ok(Status::Ok)
}

/// Takes back a handle from C and drops it (NULL is a no-op).
///
/// # Safety
///
/// `p` is NULL or a handle of this type that this library returned and that was not closed yet;
/// the caller does not use it again.
pub(crate) unsafe fn free<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: a live handle created by `hand_out` (caller's contract).
        drop(unsafe { Box::from_raw(p) });
    }
}

/// A role handle's state, used by one thread at a time: a second thread gets
/// [`Status::Busy`] rather than a data race on the state.
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

#[cfg(test)]
mod tests;
