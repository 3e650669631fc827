//! Copying elements to and from shared memory that another process may be writing at the same
//! time: unit by unit with relaxed atomics, so that a racing copy is a stale or mixed value —
//! which the caller's protocol detects and discards — and never a data race.
//!
//! A ring's overwrite-mode reader copies a slot the writer may be overwriting, then checks the
//! writer's position to decide whether the copy is intact (the seqlock pattern); observers of a
//! ring and holders of a pool handle do likewise. Rust's memory model makes a plain `memcpy`
//! racing with a write undefined behaviour even when the result is thrown away, so every slot is
//! read and written here with atomic accesses.
//!
//! The *unit* is the widest of 8, 4, 2 and 1 bytes that divides the element size. Slots start at
//! multiples of the element size from a 128-aligned base, so every unit is naturally aligned,
//! and every process accesses a given byte with the same unit width (no mixed-size atomics).
//! Relaxed unit loads and stores compile to plain moves: a copy runs at memory speed, one
//! instruction per 8 bytes for most elements.

use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};

/// The unit for elements of `elem_size` bytes.
pub(crate) const fn unit_for(elem_size: usize) -> usize {
    if elem_size % 8 == 0 {
        8
    } else if elem_size % 4 == 0 {
        4
    } else if elem_size % 2 == 0 {
        2
    } else {
        1
    }
}

macro_rules! by_unit {
    ($unit:expr, |$atomic:ident, $int:ident| $body:block) => {
        match $unit {
            8 => {
                type $atomic = AtomicU64;
                type $int = u64;
                $body
            }
            4 => {
                type $atomic = AtomicU32;
                type $int = u32;
                $body
            }
            2 => {
                type $atomic = AtomicU16;
                type $int = u16;
                $body
            }
            _ => {
                type $atomic = AtomicU8;
                type $int = u8;
                $body
            }
        }
    };
}

/// Copies `len` bytes from local memory at `src` (any alignment) to shared memory at `dst`.
///
/// # Safety
///
/// `dst` is valid for writes of `len` bytes and aligned to `unit`; `len` is a multiple of
/// `unit`; `src` is valid for reads of `len` bytes and does not overlap `dst`; `unit` is 1, 2, 4
/// or 8.
#[inline]
pub(crate) unsafe fn store(dst: *mut u8, src: *const u8, len: usize, unit: usize) {
    by_unit!(unit, |A, I| {
        let n = len / std::mem::size_of::<I>();
        for i in 0..n {
            // SAFETY: unit `i` lies inside both ranges (caller's contract); `dst` units are
            // aligned; the source is local memory, read unaligned.
            unsafe {
                let v = src.cast::<I>().add(i).read_unaligned();
                A::from_ptr(dst.cast::<I>().add(i)).store(v, Relaxed);
            }
        }
    })
}

/// Copies `len` bytes from shared memory at `src` to local memory at `dst` (any alignment).
///
/// # Safety
///
/// `src` is valid for reads of `len` bytes and aligned to `unit`; `len` is a multiple of `unit`;
/// `dst` is valid for writes of `len` bytes and does not overlap `src`; `unit` is 1, 2, 4 or 8.
#[inline]
pub(crate) unsafe fn load(dst: *mut u8, src: *const u8, len: usize, unit: usize) {
    by_unit!(unit, |A, I| {
        let n = len / std::mem::size_of::<I>();
        for i in 0..n {
            // SAFETY: as for `store`, with the roles swapped. `from_ptr` needs a `*mut`, but the
            // unit is only loaded.
            unsafe {
                let v = A::from_ptr(src.cast::<I>().add(i).cast_mut()).load(Relaxed);
                dst.cast::<I>().add(i).write_unaligned(v);
            }
        }
    })
}

/// Whether the `len` bytes of shared memory at `src` equal local memory at `local` (any
/// alignment), compared unit by unit as they are loaded — a key comparison without a copy.
///
/// # Safety
///
/// As for [`load`], with `local` valid for reads of `len` bytes.
#[inline]
pub(crate) unsafe fn equals(src: *const u8, local: *const u8, len: usize, unit: usize) -> bool {
    by_unit!(unit, |A, I| {
        let n = len / std::mem::size_of::<I>();
        for i in 0..n {
            // SAFETY: as for `load`; the local side is read unaligned.
            let (shared, mine) = unsafe {
                (
                    A::from_ptr(src.cast::<I>().add(i).cast_mut()).load(Relaxed),
                    local.cast::<I>().add(i).read_unaligned(),
                )
            };
            if shared != mine {
                return false;
            }
        }
        true
    })
}

/// Copies `len` bytes within shared memory, from `src` to `dst` (both aligned to `unit`, not
/// overlapping), unit by unit.
///
/// # Safety
///
/// As for [`load`] and [`store`], with both ranges in shared memory.
#[inline]
pub(crate) unsafe fn copy(dst: *mut u8, src: *const u8, len: usize, unit: usize) {
    by_unit!(unit, |A, I| {
        let n = len / std::mem::size_of::<I>();
        for i in 0..n {
            // SAFETY: unit `i` lies inside both ranges, each aligned (caller's contract).
            unsafe {
                let v = A::from_ptr(src.cast::<I>().add(i).cast_mut()).load(Relaxed);
                A::from_ptr(dst.cast::<I>().add(i)).store(v, Relaxed);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_round_trips() {
        assert_eq!([unit_for(8), unit_for(48), unit_for(12), unit_for(6), unit_for(3)], [8, 8, 4, 2, 1]);
        for unit in [1, 2, 4, 8] {
            let mut shared = [0u64; 8]; // 8-aligned
            let src: Vec<u8> = (0..64u8).collect();
            // Unaligned local source and destination.
            let mut local = [0u8; 65];
            local[1..].copy_from_slice(&src);
            // SAFETY: 64 bytes each way, `shared` 8-aligned, distinct buffers.
            unsafe { store(shared.as_mut_ptr().cast(), local.as_ptr().add(1), 64, unit) };
            let mut back = [0u8; 65];
            // SAFETY: as above.
            unsafe { load(back.as_mut_ptr().add(1), shared.as_ptr().cast(), 64, unit) };
            assert_eq!(&back[1..], &src[..], "unit {unit}");
            // SAFETY: as above.
            assert!(unsafe { equals(shared.as_ptr().cast(), local.as_ptr().add(1), 64, unit) });
            let mut twin = [0u64; 8];
            // SAFETY: as above.
            unsafe { copy(twin.as_mut_ptr().cast(), shared.as_ptr().cast(), 64, unit) };
            assert_eq!(twin, shared);
            local[64] ^= 1;
            // SAFETY: as above.
            assert!(!unsafe { equals(shared.as_ptr().cast(), local.as_ptr().add(1), 64, unit) });
        }
    }
}
