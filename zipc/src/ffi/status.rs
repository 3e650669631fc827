//! What a call returns and why it failed: [`Status`] (`zipc_status`), the failures only the ABI
//! can see, and the calling thread's last failure (`zipc_last_status`, `zipc_last_error`).

use std::cell::RefCell;
use std::ffi::CString;

use crate::error::Error;

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
    /// every subscriber record of the topic belongs to a live subscriber
    SubscribersFull = 29, "ZIPC_ERR_SUBSCRIBERS_FULL";
    /// the map or set holds its capacity and the key is not in it
    MapFull = 30, "ZIPC_ERR_MAP_FULL";
    /// the queue, ring or topic is closed (and, for a receiver, drained)
    Closed = 31, "ZIPC_ERR_CLOSED";
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
            Error::SubscribersFull { .. } => Status::SubscribersFull,
            Error::MapFull { .. } => Status::MapFull,
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
            Error::Closed { .. } => Status::Closed,
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
    pub(super) fn status(&self) -> Status {
        match self {
            Failure::Zipc(e) => Status::of(e),
            Failure::Null(_) => Status::Null,
            Failure::Busy(_) => Status::Busy,
            Failure::Internal(_) => Status::Internal,
        }
    }

    pub(super) fn message(&self) -> String {
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
    pub(super) static LAST: RefCell<(Status, CString)> = RefCell::new((Status::Ok, CString::default()));
}

pub(super) fn record(f: &Failure) {
    let status = f.status();
    // Messages come from names that contain no NUL, but never let one truncate or fail this.
    let text = CString::new(f.message().replace('\0', "\u{FFFD}")).unwrap_or_default();
    let _ = LAST.try_with(|l| *l.borrow_mut() = (status, text));
}
