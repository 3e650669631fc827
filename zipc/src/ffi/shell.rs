//! The shell of every C function, written once. [`abi!`] turns a file's function bodies into the
//! exported `extern "C"` functions — the export attribute, the pointer contract (`# Safety`), the
//! `catch_unwind` and the status or neutral value — and records each one's C signature for
//! [`functions`](super::functions). A body runs under `catch_unwind`, and its failure becomes a
//! status and this thread's last error.

use std::ffi::{c_char, c_int, c_void};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use super::status::{record, Failure, Outcome, Status};

/// Defines a file's C functions, and `signatures()`, their part of the table
/// [`functions`](super::functions) returns.
///
/// ```text
/// abi! {
///     /// What the function does (`zipc.h` documents it for C).
///     unsafe fn zipc_queue_len(q: *const QueueHandle) -> u64 {
///         q.as_ref().map(|q| q.0.len())
///     }
///
///     /// Functions without pointer arguments are safe.
///     safe fn zipc_abi_version() -> u32 {
///         ABI_VERSION
///     }
/// }
/// ```
///
/// An `unsafe fn` becomes a `pub unsafe extern "C" fn`, exported under its name with the `ffi`
/// feature, whose documentation ends with the pointer contract (`# Safety`). Its body is one
/// `unsafe` block, justified once below by that contract, run by the shell of its return type
/// ([`Return`]): a `Status` function's body gives an [`Outcome`] (a failure becomes its status and
/// this thread's last error), a value function's body an `Option` (`None`, a NULL handle, gives the
/// type's neutral value: 0 or NULL), and a function without result (a close) runs for its effect;
/// all of them under `catch_unwind`, so that no panic unwinds into C. A `safe fn` takes no pointer:
/// it becomes a `pub extern "C" fn` whose body is its own. Every parameter and return type has a C
/// spelling ([`CType`]), which the table records.
macro_rules! abi {
    ($(
        $(#[$meta:meta])*
        $safety:ident fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? { $($body:tt)* }
    )*) => {
        $($crate::ffi::shell::abi!(@fn $safety [$(#[$meta])*] $name($($arg: $ty),*) ($($ret)?) { $($body)* });)*

        /// This file's functions with their C signatures, in order.
        pub(super) fn signatures() -> ::std::vec::Vec<$crate::ffi::Signature> {
            ::std::vec![$($crate::ffi::Signature {
                name: stringify!($name),
                ret: <$crate::ffi::shell::abi!(@ret $($ret)?) as $crate::ffi::shell::CType>::c_type(),
                params: ::std::vec![$(<$ty as $crate::ffi::shell::CType>::c_type()),*],
                param_names: ::std::vec![$(stringify!($arg)),*],
            }),*]
        }
    };
    (@fn safe [$($meta:tt)*] $name:ident($($arg:ident: $ty:ty),*) ($($ret:ty)?) { $($body:tt)* }) => {
        $($meta)*
        #[cfg_attr(feature = "ffi", no_mangle)]
        pub extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
            $($body)*
        }
    };
    (@fn unsafe [$($meta:tt)*] $name:ident($($arg:ident: $ty:ty),*) ($($ret:ty)?) { $($body:tt)* }) => {
        $($meta)*
        ///
        /// # Safety
        ///
        /// Every pointer argument is NULL or valid, for the call, for what the function does with
        /// it: a handle is one of its type that this library returned and that was not closed yet
        /// (and a handle passed to a `*_close` function is not used again); a string, also one a
        /// struct argument points to, is NUL-terminated; a buffer is valid for the bytes the call
        /// says (`count × size`), and an output buffer is not also an input of the call; an output
        /// value is valid for a write and aligned. NULL is always detected (`ZIPC_ERR_NULL`, or the
        /// neutral value of a function without status); the rest is the C caller's contract, as
        /// for any C library.
        #[cfg_attr(feature = "ffi", no_mangle)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
            <$crate::ffi::shell::abi!(@ret $($ret)?) as $crate::ffi::shell::Return>::run(|| {
                // SAFETY: the caller keeps the contract of this function's `# Safety` section (the
                // C caller's, as for any C library): every pointer argument is NULL or valid for
                // what the function does with it. The body reaches its pointer arguments only
                // through the `args` helpers (`obj`, `text`, `input`, `output`, `out`, `opt_out`,
                // `open_args`, `spec`, `free`) and `as_ref`, which detect NULL and require exactly
                // that contract; it frees a handle (`free`) only in a close, whose handle the
                // caller does not use again.
                unsafe { $($body)* }
            })
        }
    };
    (@ret) => { () };
    (@ret $ret:ty) => { $ret };
}

pub(crate) use abi;

/// A C function of the ABI, as [`functions`](super::functions) records it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The C name, `"zipc_queue_open"`.
    pub name: &'static str,
    /// The C return type, `"zipc_status"` (`"void"` for none).
    pub ret: String,
    /// The C type of each parameter, in order: `"const zipc_segment *"`, `"size_t"`,
    /// `"zipc_queue **"`.
    pub params: Vec<String>,
    /// The name of each parameter in the Rust definition (`zipc.h` may name them otherwise).
    pub param_names: Vec<&'static str>,
}

/// The C prototype: `zipc_status zipc_queue_len(const zipc_queue *q)`.
impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}(", self.ret, if self.ret.ends_with('*') { "" } else { " " }, self.name)?;
        if self.params.is_empty() {
            f.write_str("void")?;
        }
        for (i, (ty, name)) in self.params.iter().zip(&self.param_names).enumerate() {
            let sep = if ty.ends_with('*') { "" } else { " " };
            write!(f, "{}{ty}{sep}{name}", if i == 0 { "" } else { ", " })?;
        }
        f.write_str(")")
    }
}

/// The C spelling of a parameter or return type of the ABI, as `zipc.h` writes it.
pub(crate) trait CType {
    /// `"uint64_t"`, `"const zipc_queue *"`.
    fn c_type() -> String;
}

/// Implements [`CType`] for types with a fixed C name.
macro_rules! c_types {
    ($($rust:ty => $c:literal,)*) => {
        $(impl $crate::ffi::shell::CType for $rust {
            fn c_type() -> String {
                $c.to_owned()
            }
        })*
    };
}

pub(super) use c_types;

c_types! {
    () => "void",
    c_void => "void",
    c_char => "char",
    c_int => "int",
    u32 => "uint32_t",
    u64 => "uint64_t",
    i64 => "int64_t",
    usize => "size_t",
    Status => "zipc_status",
}

impl<T: CType> CType for *mut T {
    fn c_type() -> String {
        let t = T::c_type();
        if t.ends_with('*') {
            format!("{t}*")
        } else {
            format!("{t} *")
        }
    }
}

impl<T: CType> CType for *const T {
    fn c_type() -> String {
        let t = T::c_type();
        if t.ends_with('*') {
            format!("{t} const *")
        } else {
            format!("const {t} *")
        }
    }
}

/// The shell of a function by its return type: how its body runs and what C gets.
pub(crate) trait Return: Sized {
    /// What the body gives.
    type Body;

    /// Runs the body under `catch_unwind`; a failure or a panic is recorded as this thread's last
    /// error.
    fn run(body: impl FnOnce() -> Self::Body) -> Self;
}

/// A status-returning call ([`call`]).
impl Return for Status {
    type Body = Outcome;

    #[inline]
    fn run(body: impl FnOnce() -> Outcome) -> Status {
        call(body)
    }
}

/// A call without result (a close).
impl Return for () {
    type Body = ();

    #[inline]
    fn run(body: impl FnOnce()) {
        value((), || {
            body();
            Some(())
        })
    }
}

/// Implements [`Return`] for value results: the body gives `None` for a NULL handle, and C then
/// gets the neutral value.
macro_rules! neutral {
    ($($rust:ty => $neutral:expr,)*) => {
        $(impl Return for $rust {
            type Body = Option<$rust>;

            #[inline]
            fn run(body: impl FnOnce() -> Option<$rust>) -> $rust {
                value($neutral, body)
            }
        })*
    };
}

neutral! {
    u32 => 0,
    u64 => 0,
    usize => 0,
    c_int => 0,
}

impl<T> Return for *const T {
    type Body = Option<*const T>;

    #[inline]
    fn run(body: impl FnOnce() -> Option<*const T>) -> *const T {
        value(ptr::null(), body)
    }
}

impl<T> Return for *mut T {
    type Body = Option<*mut T>;

    #[inline]
    fn run(body: impl FnOnce() -> Option<*mut T>) -> *mut T {
        value(ptr::null_mut(), body)
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Runs the body of a status-returning call: failures are recorded for
/// [`zipc_last_error`](super::zipc_last_error) and turned into their status; a panic is caught (it
/// must not unwind into C) and reported as [`Status::Internal`].
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
