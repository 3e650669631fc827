//! Library and errors: the ABI and zipc versions, the fast-path report, the last error and status texts.

use std::ffi::{c_char, c_int, CString};
use std::ptr;

use super::shell::{abi, value};
use super::status::{Status, LAST};
use super::ABI_VERSION;

abi! {
    /// The ABI version of this library (`ZIPC_ABI_VERSION` of the `zipc.h` it was built for).
    safe fn zipc_abi_version() -> u32 {
        ABI_VERSION
    }

    /// The zipc version, e.g. `"0.1.0"` (static string).
    safe fn zipc_version() -> *const c_char {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    }

    /// 1 if this process registered for the membarrier-based asymmetric fence, so that its queue
    /// and endpoint fast paths issue no fence (it registers when it opens its first queue or
    /// endpoint, like a Rust process); 0 before, or where the kernel lacks the membarrier.
    safe fn zipc_fence_free_fast_path() -> c_int {
        value(0, || Some(c_int::from(crate::structures::queue::fence_free_fast_path())))
    }

    /// The status of this thread's last failed call (`ZIPC_OK` if none failed yet).
    safe fn zipc_last_status() -> Status {
        value(Status::Ok, || LAST.try_with(|l| l.borrow().0).ok())
    }

    /// The message of this thread's last failed call ("" if none failed yet). Valid until this
    /// thread's next failing call.
    safe fn zipc_last_error() -> *const c_char {
        // The CString lives in the thread-local until the next failure replaces it.
        value(c"".as_ptr(), || LAST.try_with(|l| l.borrow().1.as_ptr()).ok())
    }

    /// The C name of a status (`"ZIPC_ERR_TIMEOUT"`), static; `"ZIPC_UNKNOWN"` for other codes.
    safe fn zipc_status_name(status: c_int) -> *const c_char {
        value(c"ZIPC_UNKNOWN".as_ptr(), || {
            Some(static_cstr(Status::from_code(status).map(Status::c_name), "ZIPC_UNKNOWN"))
        })
    }

    /// A one-line description of a status, static.
    safe fn zipc_status_str(status: c_int) -> *const c_char {
        value(c"unknown status".as_ptr(), || {
            Some(static_cstr(Status::from_code(status).map(Status::description), "unknown status"))
        })
    }
}

/// A static NUL-terminated copy of one of the status texts (built once).
fn static_cstr(s: Option<&'static str>, fallback: &'static str) -> *const c_char {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<(&'static str, CString)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t: Vec<(&'static str, CString)> = Vec::new();
        for st in Status::ALL {
            for text in [st.c_name(), st.description()] {
                t.push((text, CString::new(text).expect("status texts have no NUL")));
            }
        }
        for text in ["ZIPC_UNKNOWN", "unknown status"] {
            t.push((text, CString::new(text).expect("no NUL")));
        }
        t
    });
    let want = s.unwrap_or(fallback);
    table.iter().find(|(k, _)| *k == want).map_or(ptr::null(), |(_, c)| c.as_ptr())
}
