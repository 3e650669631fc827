//! Robust readers–writer locks (`zipc_rwlock`): read and read unlock, write and write unlock.

use std::ffi::{c_char, c_int};

use super::args::{free, hand_out, obj, open_args, opt_out, timeout};
use super::handles::*;
use super::shell::{abi, c_types};
use super::status::Status;
use crate::RwLock;

/// `zipc_rwlock`.
pub struct RwLockHandle(pub(super) RwLock);

c_types! {
    RwLockHandle => "zipc_rwlock",
}

abi! {
    /// Opens rwlock `name`, whatever its number of reader slots.
    unsafe fn zipc_rwlock_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        out: *mut *mut RwLockHandle,
    ) -> Status {
        let (seg, name, out) = open_args(seg, name, out)?;
        hand_out(out, RwLockHandle(RwLock::open(seg, name)?))
    }

    /// Closes the handle (NULL is fine). Locks the process holds stay held: unlock them first.
    unsafe fn zipc_rwlock_close(h: *mut RwLockHandle) {
        free(h)
    }

    /// Acquires the lock for reading, waiting at most `timeout_ns` while a writer holds or waits
    /// for it (or every reader slot is taken). `*writer_died` (unless NULL) is 1 if a writer died
    /// holding it and no writer has marked it consistent since: what it protects may be
    /// half-written. Leave with `zipc_rwlock_read_unlock`, from any thread of the process.
    unsafe fn zipc_rwlock_read(l: *const RwLockHandle, timeout_ns: i64, writer_died: *mut c_int) -> Status {
        let (l, died) = (obj(l, "l")?, opt_out(writer_died));
        let d = l.0.read_unguarded(timeout(timeout_ns))?;
        if let Some(out) = died {
            *out = c_int::from(d);
        }
        Ok(Status::Ok)
    }

    /// Acquires the lock for reading if possible without waiting: `ZIPC_OK` or `ZIPC_AGAIN`;
    /// `*writer_died` as for `zipc_rwlock_read`.
    unsafe fn zipc_rwlock_try_read(l: *const RwLockHandle, writer_died: *mut c_int) -> Status {
        let (l, died) = (obj(l, "l")?, opt_out(writer_died));
        match l.0.try_read_unguarded() {
            Some(d) => {
                if let Some(out) = died {
                    *out = c_int::from(d);
                }
                Ok(Status::Ok)
            }
            None => Ok(Status::Again),
        }
    }

    /// Leaves one read lock the calling process holds (its threads' read locks are
    /// interchangeable); an error (`ZIPC_ERR_INVALID_ARGUMENT`) if it holds none.
    unsafe fn zipc_rwlock_read_unlock(l: *const RwLockHandle) -> Status {
        let l = obj(l, "l")?;
        l.0.read_unlock_unguarded()?;
        Ok(Status::Ok)
    }

    /// Acquires the lock for writing, waiting at most `timeout_ns` for the writer before it and
    /// for every reader to leave (new readers wait meanwhile; on `ZIPC_ERR_TIMEOUT` they go on).
    /// `*writer_died` (unless NULL) is 1 if a writer died holding it (perhaps the one this call
    /// took it over from) and nobody has marked it consistent since: repair what it protects,
    /// then unlock with `mark_consistent` 1. A process holding it for reading that asks for it
    /// for writing waits for itself. Unlock with `zipc_rwlock_write_unlock`, from any thread of
    /// the process.
    unsafe fn zipc_rwlock_write(l: *const RwLockHandle, timeout_ns: i64, writer_died: *mut c_int) -> Status {
        let (l, died) = (obj(l, "l")?, opt_out(writer_died));
        let d = l.0.write_unguarded(timeout(timeout_ns))?;
        if let Some(out) = died {
            *out = c_int::from(d);
        }
        Ok(Status::Ok)
    }

    /// Acquires the lock for writing if possible without waiting (no writer, no reader):
    /// `ZIPC_OK` or `ZIPC_AGAIN`; `*writer_died` as for `zipc_rwlock_write`.
    unsafe fn zipc_rwlock_try_write(l: *const RwLockHandle, writer_died: *mut c_int) -> Status {
        let (l, died) = (obj(l, "l")?, opt_out(writer_died));
        match l.0.try_write_unguarded() {
            Some(d) => {
                if let Some(out) = died {
                    *out = c_int::from(d);
                }
                Ok(Status::Ok)
            }
            None => Ok(Status::Again),
        }
    }

    /// Releases the write lock the calling process holds; `mark_consistent` nonzero first
    /// declares what the lock protects repaired (later lockers no longer see `writer_died`). An
    /// error (`ZIPC_ERR_INVALID_ARGUMENT`) if the process does not hold it for writing.
    unsafe fn zipc_rwlock_write_unlock(l: *const RwLockHandle, mark_consistent: c_int) -> Status {
        let l = obj(l, "l")?;
        l.0.write_unlock_unguarded(mark_consistent != 0)?;
        Ok(Status::Ok)
    }

    /// Reader slots taken now: threads holding it for reading, or about to (0 for NULL).
    unsafe fn zipc_rwlock_readers(l: *const RwLockHandle) -> u32 {
        l.as_ref().map(|l| l.0.readers())
    }

    /// The number of reader slots: threads that can hold it for reading at once (0 for NULL).
    unsafe fn zipc_rwlock_max_readers(l: *const RwLockHandle) -> u32 {
        l.as_ref().map(|l| l.0.max_readers())
    }

    /// 1 if a writer holds the lock or waits for its readers to leave (0 for NULL).
    unsafe fn zipc_rwlock_is_write_locked(l: *const RwLockHandle) -> c_int {
        l.as_ref().map(|l| c_int::from(l.0.is_write_locked()))
    }

    /// 1 if a writer died holding the lock and no writer has marked it consistent since (0 for
    /// NULL).
    unsafe fn zipc_rwlock_writer_died(l: *const RwLockHandle) -> c_int {
        l.as_ref().map(|l| c_int::from(l.0.writer_died()))
    }

    /// Writers that died holding the lock, ever (0 for NULL).
    unsafe fn zipc_rwlock_writer_deaths(l: *const RwLockHandle) -> u32 {
        l.as_ref().map(|l| l.0.writer_deaths())
    }

    /// Reader slots freed after their process died, ever (0 for NULL).
    unsafe fn zipc_rwlock_reader_deaths(l: *const RwLockHandle) -> u32 {
        l.as_ref().map(|l| l.0.reader_deaths())
    }
}
