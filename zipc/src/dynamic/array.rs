//! [`DynArray`]: an array of any element type, read and written as bytes.

use std::ptr::NonNull;

use crate::error::{Error, Result};
use crate::layout::Kind;
use crate::segment::region::Region;
use crate::segment::Segment;

use super::{one, open_entry, whole, ElementSpec};

/// An [`Array`](crate::Array) of any element type, opened by name. Like the typed array it is not
/// synchronised: single elements are copied with volatile accesses of the widest unit (8, 4, 2
/// or 1 bytes) dividing the element size, so primitives are never torn; ranges with `memcpy`.
#[derive(Clone)]
pub struct DynArray {
    segment: Segment,
    region: Region,
    data: NonNull<u8>,
    len: u64,
    size: usize,
}

// SAFETY: the handle keeps the mapping alive; every access is volatile or a raw copy.
unsafe impl Send for DynArray {}
// SAFETY: as above.
unsafe impl Sync for DynArray {}

impl DynArray {
    /// Opens array `name`, checking that its elements are as `elem` says.
    pub fn open(segment: &Segment, name: &str, elem: ElementSpec<'_>) -> Result<Self> {
        let (region, desc) = open_entry(segment, name, Kind::Array, &elem)?;
        let len = desc.capacity; // validated against the header and the entry size at locate
        let data = region.ptr(crate::structures::array::HEADER_SIZE, len * elem.size as u64);
        // SAFETY: `ptr` never returns null (it offsets a non-null mapping base).
        let data = unsafe { NonNull::new_unchecked(data) };
        Ok(DynArray { segment: segment.clone(), region, data, len, size: elem.size })
    }

    /// The array's name.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// The segment the array is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes per element.
    pub fn elem_size(&self) -> usize {
        self.size
    }

    fn range(&self, index: u64, count: u64) -> Result<*mut u8> {
        if index.checked_add(count).is_some_and(|end| end <= self.len) {
            // SAFETY: `index <= len`, and the data holds `len` elements of `size` bytes.
            Ok(unsafe { self.data.as_ptr().add(index as usize * self.size) })
        } else {
            Err(Error::IndexOutOfBounds { structure: self.name().to_owned(), index, count, len: self.len })
        }
    }

    /// Copies element `index` into `dst` (exactly one element), with volatile unit loads.
    pub fn get(&self, index: u64, dst: &mut [u8]) -> Result<()> {
        one("array read", self.size, dst.len())?;
        let p = self.range(index, 1)?;
        // SAFETY: the element is in bounds (checked) and `dst` holds `size` bytes of local memory.
        unsafe { volatile_copy(dst.as_mut_ptr(), p, self.size) };
        Ok(())
    }

    /// Overwrites element `index` with `src` (exactly one element), with volatile unit stores.
    pub fn set(&self, index: u64, src: &[u8]) -> Result<()> {
        one("array write", self.size, src.len())?;
        let p = self.range(index, 1)?;
        // SAFETY: as for `get`, in the other direction.
        unsafe { volatile_copy(p, src.as_ptr(), self.size) };
        Ok(())
    }

    /// Copies elements `start..` into `dst` (whole elements).
    pub fn read_at(&self, start: u64, dst: &mut [u8]) -> Result<()> {
        whole("array read", self.size, dst.len())?;
        let p = self.range(start, (dst.len() / self.size) as u64)?;
        // SAFETY: the source range is in bounds (checked) and `dst` is a distinct local buffer;
        // a concurrent writer can only make the copy stale or mixed (bytes have no invalid values).
        unsafe { std::ptr::copy_nonoverlapping(p, dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copies `src` (whole elements) into elements `start..`.
    pub fn write_at(&self, start: u64, src: &[u8]) -> Result<()> {
        whole("array write", self.size, src.len())?;
        let p = self.range(start, (src.len() / self.size) as u64)?;
        // SAFETY: the destination range is in bounds (checked) and distinct from `src`.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len()) };
        Ok(())
    }

    /// Raw pointer to the first element, valid while this handle (or its segment) lives; other
    /// processes may write through it.
    pub fn as_ptr(&self) -> *mut u8 {
        self.data.as_ptr()
    }
}

impl std::fmt::Debug for DynArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynArray")
            .field("name", &self.name())
            .field("len", &self.len)
            .field("elem_size", &self.size)
            .finish()
    }
}

/// Copies `len` bytes with volatile accesses of the widest unit dividing `len` (8, 4, 2, 1).
///
/// # Safety
///
/// `src` and `dst` are valid for `len` bytes and do not overlap; the side in shared memory is
/// aligned to the unit (array elements are, at multiples of the element size from an 8-aligned
/// start); the other side may be unaligned.
unsafe fn volatile_copy(dst: *mut u8, src: *const u8, len: usize) {
    macro_rules! by {
        ($t:ty) => {{
            let n = len / std::mem::size_of::<$t>();
            for i in 0..n {
                // SAFETY: unit `i` lies inside both ranges (caller's contract). Shared memory is
                // accessed volatile and aligned; local memory unaligned. Only one side is shared,
                // so one of the two accesses is a plain unaligned one.
                unsafe {
                    let s = src.cast::<$t>().add(i);
                    let d = dst.cast::<$t>().add(i);
                    let v = if s.is_aligned() { s.read_volatile() } else { s.read_unaligned() };
                    if d.is_aligned() {
                        d.write_volatile(v)
                    } else {
                        d.write_unaligned(v)
                    }
                }
            }
        }};
    }
    match crate::sys::atomic_copy::unit_for(len) {
        8 => by!(u64),
        4 => by!(u32),
        2 => by!(u16),
        _ => by!(u8),
    }
}
