//! Maps (`zipc_map`) and sets (`zipc_set`): fixed-capacity hash tables with lock-free lookups.
//! Keys and values pass as bytes with their sizes, which must be the structure's (its header
//! says them: a map's element is its entry `{ key, value }`, a set's its key).

use std::ffi::{c_char, c_int, c_void};

use super::args::{byte_len, free, hand_out, input, obj, open_args, opt_out, out, output, spec};
use super::handles::SegmentHandle;
use super::shell::{abi, c_types};
use super::status::{Outcome, Status};
use crate::dynamic::{DynMap, DynSet};

/// `zipc_map`.
pub struct MapHandle(pub(super) DynMap);
/// `zipc_set`.
pub struct SetHandle(pub(super) DynSet);

c_types! {
    MapHandle => "zipc_map",
    SetHandle => "zipc_set",
}

/// The `count` entries' buffer of `size`-byte items at `p`: NULL is fine when `count` is 0.
///
/// # Safety
///
/// As for [`output`], for `count × size` bytes.
unsafe fn items<'a>(p: *mut c_void, count: usize, size: usize, arg: &'static str) -> Outcome<&'a mut [u8]> {
    if count == 0 {
        return Ok(&mut []);
    }
    let len = byte_len(count, size)?;
    // SAFETY: forwarded contract.
    unsafe { output(p, len, arg) }
}

abi! {
    /// Opens map `name`; `elem_size` and `layout` are its entry's (`{ key, value }`, as the
    /// generated `*_ELEM_SIZE` and `*_CANONICAL` say; `layout` NULL: unchecked).
    unsafe fn zipc_map_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut MapHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, MapHandle(DynMap::open(seg, name, spec)?))
    }

    /// Closes a map handle (NULL is fine).
    unsafe fn zipc_map_close(m: *mut MapHandle) {
        free(m)
    }

    /// Entries it holds when full (0 for NULL).
    unsafe fn zipc_map_capacity(m: *const MapHandle) -> u64 {
        m.as_ref().map(|m| m.0.capacity())
    }

    /// Entries present, approximately (0 for NULL).
    unsafe fn zipc_map_len(m: *const MapHandle) -> u64 {
        m.as_ref().map(|m| m.0.len())
    }

    /// Copies the value of `key` into `value`: `ZIPC_OK`, or `ZIPC_AGAIN` when the key is absent.
    unsafe fn zipc_map_get(
        m: *const MapHandle,
        key: *const c_void,
        key_size: usize,
        value: *mut c_void,
        value_size: usize,
    ) -> Status {
        let (m, k, v) = (obj(m, "m")?, input(key, key_size, "key")?, output(value, value_size, "value")?);
        Ok(if m.0.get(k, v)? { Status::Ok } else { Status::Again })
    }

    /// Whether `key` is there: `ZIPC_OK`, or `ZIPC_AGAIN` when it is absent.
    unsafe fn zipc_map_contains(m: *const MapHandle, key: *const c_void, key_size: usize) -> Status {
        let (m, k) = (obj(m, "m")?, input(key, key_size, "key")?);
        Ok(if m.0.contains(k)? { Status::Ok } else { Status::Again })
    }

    /// Sets `key` to `value`. `*replaced` (unless NULL) is 1 if the key was there, its value
    /// then copied into `old` (unless NULL; `value_size` bytes), 0 if it was new.
    /// `ZIPC_ERR_MAP_FULL` if the key is new and the map holds its capacity.
    unsafe fn zipc_map_insert(
        m: *const MapHandle,
        key: *const c_void,
        key_size: usize,
        value: *const c_void,
        value_size: usize,
        old: *mut c_void,
        replaced: *mut c_int,
    ) -> Status {
        let (m, k, v) = (obj(m, "m")?, input(key, key_size, "key")?, input(value, value_size, "value")?);
        let (old, replaced) = (
            if old.is_null() { None } else { Some(output(old, value_size, "old")?) },
            opt_out(replaced),
        );
        let was = m.0.insert(k, v, old)?;
        if let Some(r) = replaced {
            *r = c_int::from(was);
        }
        Ok(Status::Ok)
    }

    /// Removes `key`, copying its value into `old` (unless NULL; `value_size` bytes, checked only
    /// then): `ZIPC_OK`, or `ZIPC_AGAIN` when the key is absent.
    unsafe fn zipc_map_remove(
        m: *const MapHandle,
        key: *const c_void,
        key_size: usize,
        old: *mut c_void,
        value_size: usize,
    ) -> Status {
        let (m, k) = (obj(m, "m")?, input(key, key_size, "key")?);
        let old = if old.is_null() { None } else { Some(output(old, value_size, "old")?) };
        Ok(if m.0.remove(k, old)? { Status::Ok } else { Status::Again })
    }

    /// Copies up to `max` entries, in table order, into `keys` (`max × key_size` bytes) and
    /// `values` (`max × value_size` bytes; both may be NULL when `max` is 0), each entry read
    /// whole; `*count` is how many. `ZIPC_OK` if that is every entry met, `ZIPC_AGAIN` if there
    /// were more than `max` (call again with more room).
    unsafe fn zipc_map_entries(
        m: *const MapHandle,
        keys: *mut c_void,
        key_size: usize,
        values: *mut c_void,
        value_size: usize,
        max: usize,
        count: *mut usize,
    ) -> Status {
        let (m, count) = (obj(m, "m")?, out(count, "count")?);
        *count = 0;
        super::args::check_size(key_size, m.0.key_size())?;
        super::args::check_size(value_size, m.0.value_size())?;
        let (ks, vs) = (items(keys, max, key_size, "keys")?, items(values, max, value_size, "values")?);
        let (n, complete) = m.0.entries_into(ks, vs)?;
        *count = n;
        Ok(if complete { Status::Ok } else { Status::Again })
    }

    /// Repairs the slots whose lock a dead process held; returns how many (0 for NULL).
    unsafe fn zipc_map_reclaim_dead(m: *const MapHandle) -> u64 {
        m.as_ref().map(|m| m.0.reclaim_dead())
    }

    /// Opens set `name`; `elem_size` and `layout` are its key's (`layout` NULL: unchecked).
    unsafe fn zipc_set_open(
        seg: *const SegmentHandle,
        name: *const c_char,
        elem_size: usize,
        layout: *const c_char,
        out: *mut *mut SetHandle,
    ) -> Status {
        let ((seg, name, out), spec) = (open_args(seg, name, out)?, spec(elem_size, layout)?);
        hand_out(out, SetHandle(DynSet::open(seg, name, spec)?))
    }

    /// Closes a set handle (NULL is fine).
    unsafe fn zipc_set_close(s: *mut SetHandle) {
        free(s)
    }

    /// Keys it holds when full (0 for NULL).
    unsafe fn zipc_set_capacity(s: *const SetHandle) -> u64 {
        s.as_ref().map(|s| s.0.capacity())
    }

    /// Keys present, approximately (0 for NULL).
    unsafe fn zipc_set_len(s: *const SetHandle) -> u64 {
        s.as_ref().map(|s| s.0.len())
    }

    /// Adds `key`. `*added` (unless NULL) is 1 if it was new, 0 if it was there.
    /// `ZIPC_ERR_MAP_FULL` if it is new and the set holds its capacity.
    unsafe fn zipc_set_insert(s: *const SetHandle, key: *const c_void, key_size: usize, added: *mut c_int) -> Status {
        let (s, k, added) = (obj(s, "s")?, input(key, key_size, "key")?, opt_out(added));
        let new = s.0.insert(k)?;
        if let Some(a) = added {
            *a = c_int::from(new);
        }
        Ok(Status::Ok)
    }

    /// Whether `key` is in the set: `ZIPC_OK`, or `ZIPC_AGAIN` when it is absent.
    unsafe fn zipc_set_contains(s: *const SetHandle, key: *const c_void, key_size: usize) -> Status {
        let (s, k) = (obj(s, "s")?, input(key, key_size, "key")?);
        Ok(if s.0.contains(k)? { Status::Ok } else { Status::Again })
    }

    /// Removes `key`: `ZIPC_OK`, or `ZIPC_AGAIN` when it was absent.
    unsafe fn zipc_set_remove(s: *const SetHandle, key: *const c_void, key_size: usize) -> Status {
        let (s, k) = (obj(s, "s")?, input(key, key_size, "key")?);
        Ok(if s.0.remove(k)? { Status::Ok } else { Status::Again })
    }

    /// Copies up to `max` keys, in table order, into `keys` (`max × key_size` bytes; may be NULL
    /// when `max` is 0); `*count` is how many. `ZIPC_OK` if that is every key met, `ZIPC_AGAIN`
    /// if there were more than `max`.
    unsafe fn zipc_set_keys(
        s: *const SetHandle,
        keys: *mut c_void,
        key_size: usize,
        max: usize,
        count: *mut usize,
    ) -> Status {
        let (s, count) = (obj(s, "s")?, out(count, "count")?);
        *count = 0;
        super::args::check_size(key_size, s.0.key_size())?;
        let (n, complete) = s.0.keys_into(items(keys, max, key_size, "keys")?)?;
        *count = n;
        Ok(if complete { Status::Ok } else { Status::Again })
    }

    /// Repairs the slots whose lock a dead process held; returns how many (0 for NULL).
    unsafe fn zipc_set_reclaim_dead(s: *const SetHandle) -> u64 {
        s.as_ref().map(|s| s.0.reclaim_dead())
    }
}
