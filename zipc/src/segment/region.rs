//! A structure's bytes in a segment: the handle every structure keeps.

use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::Arc;

use crate::segment::attachment::Attachment;

/// A structure's region: a validated offset and size inside a mapping it keeps alive.
///
/// Accessors take offsets relative to the region and check them against its size; the atomics
/// they return may alias writers in other processes, which atomics allow.
#[derive(Clone, Debug)]
pub(crate) struct Region {
    map: Arc<Attachment>,
    offset: u64,
    size: u64,
    name: Arc<str>,
}

impl Region {
    /// The region `offset..offset + size` of `map`, which the caller has validated, holding
    /// structure `name`.
    pub(crate) fn new(map: Arc<Attachment>, offset: u64, size: u64, name: &str) -> Region {
        assert!(offset.checked_add(size).is_some_and(|e| e <= map.len()), "zipc bug: region outside mapping");
        Region { map, offset, size, name: name.into() }
    }

    /// The structure's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The name of the segment the structure is in.
    pub(crate) fn segment_name(&self) -> &str {
        self.map.name()
    }

    /// Size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Offset in the segment.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    #[track_caller]
    fn check(&self, rel: u64, len: u64) -> u64 {
        assert!(
            rel.checked_add(len).is_some_and(|e| e <= self.size),
            "zipc bug: access {rel}+{len} outside a region of {}",
            self.size
        );
        self.offset + rel
    }

    /// Raw pointer to `rel`, with `len` bytes available.
    #[track_caller]
    pub(crate) fn ptr(&self, rel: u64, len: u64) -> *mut u8 {
        self.map.ptr(self.check(rel, len), len)
    }

    /// A pointer to a `T` at `rel`, in bounds and aligned (both checked), never null. It stays
    /// valid while this region's mapping lives, which every handle that stores it keeps alive by
    /// holding the region too.
    #[track_caller]
    pub(crate) fn typed<T>(&self, rel: u64) -> std::ptr::NonNull<T> {
        let p = self.ptr(rel, std::mem::size_of::<T>() as u64).cast::<T>();
        assert!(p.is_aligned(), "zipc bug: misaligned {} in {:?}", std::any::type_name::<T>(), self.name);
        // SAFETY: `ptr` offsets the non-null mapping base, so the result is not null.
        unsafe { std::ptr::NonNull::new_unchecked(p) }
    }

    /// The u32 at `rel` as an atomic.
    #[track_caller]
    pub(crate) fn u32_at(&self, rel: u64) -> &AtomicU32 {
        self.map.u32_at(self.check(rel, 4))
    }

    /// The u64 at `rel` as an atomic.
    #[track_caller]
    pub(crate) fn u64_at(&self, rel: u64) -> &AtomicU64 {
        self.map.u64_at(self.check(rel, 8))
    }
}

impl crate::layout::HeaderWords for Region {
    fn u32(&self, offset: u64) -> u32 {
        self.u32_at(offset).load(std::sync::atomic::Ordering::Relaxed)
    }

    fn u64(&self, offset: u64) -> u64 {
        self.u64_at(offset).load(std::sync::atomic::Ordering::Relaxed)
    }
}
