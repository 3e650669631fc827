//! Pools (`zipc_pool`): objects by `zipc_handle`.

use std::ffi::{c_char, c_int, c_void};

use super::args::{self, free, hand_out, input, obj, open_args, output, spec, timeout};
use super::handles::*;
use super::shell::abi;
use super::status::Status;
use crate::dynamic::DynPool;
use crate::structures::pool::Handle;

abi! {
    /// Opens pool `name` (objects as for `zipc_queue_open`'s elements).
    unsafe fn zipc_pool_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut PoolHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, PoolHandle(DynPool::open(seg, name, spec)?))
    }

    /// Closes a pool handle (NULL is fine). Acquired objects stay acquired.
    unsafe fn zipc_pool_close(p: *mut PoolHandle) {
        free(p)
    }

    /// Number of objects (0 for NULL).
    unsafe fn zipc_pool_capacity(p: *const PoolHandle) -> u64 {
        p.as_ref().map(|p| p.0.capacity())
    }

    /// Objects acquired and not released, approximately (0 for NULL).
    unsafe fn zipc_pool_allocated(p: *const PoolHandle) -> u64 {
        p.as_ref().map(|p| p.0.num_allocated())
    }

    /// Acquires a free object: `ZIPC_OK` with its handle in `*out`, or `ZIPC_AGAIN` if none is free.
    unsafe fn zipc_pool_try_acquire(p: *const PoolHandle, out: *mut Handle) -> Status {
        let (p, out) = (obj(p, "p")?, args::out(out, "out")?);
        match p.0.try_acquire()? {
            Some(h) => {
                *out = h;
                Ok(Status::Ok)
            }
            None => Ok(Status::Again),
        }
    }

    /// Acquires a free object, waiting at most `timeout_ns` for a release.
    unsafe fn zipc_pool_acquire(p: *const PoolHandle, timeout_ns: i64, out: *mut Handle) -> Status {
        let (p, out) = (obj(p, "p")?, args::out(out, "out")?);
        *out = p.0.acquire(timeout(timeout_ns))?;
        Ok(Status::Ok)
    }

    /// Releases an object (`ZIPC_ERR_STALE_HANDLE` if it was released already).
    unsafe fn zipc_pool_release(p: *const PoolHandle, handle: Handle) -> Status {
        let p = obj(p, "p")?;
        p.0.release(handle)?;
        Ok(Status::Ok)
    }

    /// 1 if `handle` names a live object, 0 otherwise (or for NULL).
    unsafe fn zipc_pool_is_live(p: *const PoolHandle, handle: Handle) -> c_int {
        p.as_ref().map(|p| c_int::from(p.0.is_live(handle)))
    }

    /// Makes this process the owner of `handle`, received from another process: the object is then
    /// reclaimed if this process dies, not its sender (`ZIPC_ERR_STALE_HANDLE` if it is stale, also
    /// if it was reclaimed already).
    unsafe fn zipc_pool_adopt(p: *const PoolHandle, handle: Handle) -> Status {
        let p = obj(p, "p")?;
        p.0.adopt(handle)?;
        Ok(Status::Ok)
    }

    /// Releases every object whose owner died; returns how many (0 for NULL).
    unsafe fn zipc_pool_reclaim_dead(p: *const PoolHandle) -> u64 {
        p.as_ref().map(|p| p.0.reclaim_dead())
    }

    /// Copies the object into `out` (`size` must be the object size).
    unsafe fn zipc_pool_read(p: *const PoolHandle, handle: Handle, out: *mut c_void, size: usize) -> Status {
        let (p, dst) = (obj(p, "p")?, output(out, size, "out")?);
        p.0.read(handle, dst)?;
        Ok(Status::Ok)
    }

    /// Overwrites the object with `elem` (`size` must be the object size).
    unsafe fn zipc_pool_write(p: *const PoolHandle, handle: Handle, elem: *const c_void, size: usize) -> Status {
        let (p, src) = (obj(p, "p")?, input(elem, size, "elem")?);
        p.0.write(handle, src)?;
        Ok(Status::Ok)
    }

    /// Sets `*out` to the object's address, for zero-copy access while the handle is live.
    unsafe fn zipc_pool_ptr(p: *const PoolHandle, handle: Handle, out: *mut *mut c_void) -> Status {
        let (p, out) = (obj(p, "p")?, args::out(out, "out")?);
        *out = p.0.as_ptr(handle)?.cast();
        Ok(Status::Ok)
    }
}
