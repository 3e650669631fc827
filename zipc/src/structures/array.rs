//! [`Array<T>`]: a fixed-length array of elements, in ZeroIPC v2's layout.
//!
//! ```text
//! offset  size      field
//! 0       8         u64 capacity   number of elements
//! 8       cap × T   elements
//! ```
//!
//! The region is 8-aligned, so elements (alignment ≤ 8) are aligned. ZeroIPC's readers open it by
//! name and read `capacity` elements after the header.
//!
//! An array is not synchronised: it is memory both sides read and write. Single elements are
//! read and written with volatile accesses (never torn for primitives up to 8 bytes); bulk
//! copies are `memcpy` speed and may see a concurrent writer's partial update. Integer arrays also
//! have per-element atomics. Coordinate bigger updates with an [`Atomic`](crate::Atomic), a
//! sequence counter or a sync primitive.

pub use crate::layout::kinds::array::HEADER_SIZE;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::{AtomicInt, ShmType};
use crate::structures::render::{plural, Json, LiveState};
use crate::structures::{self, Structure};

/// Live state for `inspect`: an array's length is fixed (and was validated at open).
pub(crate) fn inspect(_: &Region, desc: &Descriptor, _: &mut Vec<String>) -> ArrayState {
    ArrayState { len: desc.capacity }
}

/// A fixed-length array of `T` in a segment.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Array, Segment};
/// let seg = Segment::create("/array-doc", 1 << 20)?;
/// let a = Array::<u64>::create(&seg, "counts", 16)?;
/// a.set(3, 7)?;
/// a.fetch_add(3, 1)?;
/// assert_eq!(a.get(3), Some(8));
/// let mut out = [0u64; 16];
/// a.read_into(&mut out)?;
/// assert_eq!(out[3], 8);
/// # Segment::unlink("/array-doc") }
/// ```
pub struct Array<T: ShmType> {
    segment: Segment,
    region: Region,
    data: NonNull<T>,
    len: usize,
    _elem: PhantomData<T>,
}

// SAFETY: the handle owns an `Arc` of the mapping; `data` points into it; every access is
// volatile, atomic or a raw copy, and `T: Send + Sync` (ShmType), so sharing the handle between
// threads is no different from sharing the segment between processes.
unsafe impl<T: ShmType> Send for Array<T> {}
// SAFETY: as above.
unsafe impl<T: ShmType> Sync for Array<T> {}

impl<T: ShmType> Array<T> {
    /// Creates array `name` of `len` zeroed elements.
    pub fn create(segment: &Segment, name: &str, len: u64) -> Result<Self> {
        Self::create_in(segment, &StructureLayout { capacity: len, ..Self::declaration(name) })
    }

    /// Opens array `name`, whatever its length, checking the element layout. In a segment made by
    /// ZeroIPC (no self-description) only the sizes can be checked: the entry must hold a whole
    /// number of `T` after the capacity header.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        Self::open_checked(segment, &Self::declaration(name), false)
    }

    /// Opens array `name`, or creates it with `len` elements. An existing array must have
    /// exactly `len` elements.
    pub fn open_or_create(segment: &Segment, name: &str, len: u64) -> Result<Self> {
        Self::open_or_create_in(segment, &StructureLayout { capacity: len, ..Self::declaration(name) })
    }

    fn open_checked(segment: &Segment, decl: &StructureLayout<'_>, check_capacity: bool) -> Result<Self> {
        let found = segment.locate(decl.name)?;
        let len = match &found.descriptor {
            Some(desc) => {
                crate::segment::check_descriptor(decl, desc, check_capacity)?;
                desc.capacity // validated against the header and the entry size at locate
            }
            None => {
                // ZeroIPC segment: trust nothing but the arithmetic.
                let size = found.region.size();
                if size < HEADER_SIZE {
                    return Err(Error::corrupt(
                        segment.name(),
                        format!("structure {:?}", decl.name),
                        "too small for an array",
                    ));
                }
                // ZeroIPC aligns every structure to 8; the elements need their own alignment.
                let align = (std::mem::align_of::<T>() as u64).max(8);
                if found.region.offset() % align != 0 {
                    return Err(Error::corrupt(
                        segment.name(),
                        format!("structure {:?}", decl.name),
                        format!("its region starts at {}, not aligned to {align} bytes", found.region.offset()),
                    ));
                }
                let cap = found.region.u64_at(0).load(Ordering::Relaxed);
                let elem = std::mem::size_of::<T>() as u64;
                if cap.checked_mul(elem).and_then(|d| d.checked_add(HEADER_SIZE)) != Some(size) {
                    return Err(Error::LayoutMismatch {
                        structure: decl.name.to_owned(),
                        expected: format!("{cap} elements of {elem} bytes after an 8-byte header"),
                        found: format!("an entry of {size} bytes"),
                    });
                }
                if check_capacity && cap != decl.capacity {
                    return Err(Error::CapacityMismatch {
                        structure: decl.name.to_owned(),
                        expected: decl.capacity,
                        found: cap,
                    });
                }
                cap
            }
        };
        Ok(Self::from_region(segment, found.region, len))
    }

    fn from_region(segment: &Segment, region: Region, len: u64) -> Self {
        let bytes = len * std::mem::size_of::<T>() as u64;
        let data = region.ptr(HEADER_SIZE, bytes).cast::<T>();
        assert!(data.is_aligned(), "zipc bug: misaligned array data");
        Array {
            segment: segment.clone(),
            region,
            // SAFETY: `ptr` never returns null (it offsets a non-null mapping base).
            data: unsafe { NonNull::new_unchecked(data) },
            len: len as usize,
            _elem: PhantomData,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the array has no elements (never, for arrays zipc creates).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The segment this array is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Offset of the array's region in the segment.
    pub fn offset(&self) -> u64 {
        self.region.offset()
    }

    fn range(&self, index: usize, count: usize) -> Result<()> {
        if index.checked_add(count).is_some_and(|end| end <= self.len) {
            Ok(())
        } else {
            Err(Error::IndexOutOfBounds {
                structure: self.region.name().to_owned(),
                index: index as u64,
                count: count as u64,
                len: self.len as u64,
            })
        }
    }

    /// The array's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Element `index`, or `None` past the end. A volatile read.
    pub fn get(&self, index: usize) -> Option<T> {
        if index >= self.len {
            return None;
        }
        // SAFETY: in bounds (checked), aligned (checked at open); T is valid for any bits.
        Some(unsafe { self.data.as_ptr().add(index).read_volatile() })
    }

    /// Writes element `index`. A volatile write.
    pub fn set(&self, index: usize, value: T) -> Result<()> {
        self.range(index, 1)?;
        // SAFETY: in bounds and aligned; the segment is writable shared memory.
        unsafe { self.data.as_ptr().add(index).write_volatile(value) };
        Ok(())
    }

    /// Copies elements `0..dst.len()` into `dst`.
    pub fn read_into(&self, dst: &mut [T]) -> Result<()> {
        self.read_at(0, dst)
    }

    /// Copies elements `start..start + dst.len()` into `dst`.
    pub fn read_at(&self, start: usize, dst: &mut [T]) -> Result<()> {
        self.range(start, dst.len())?;
        // SAFETY: the source range is in bounds (checked) and `dst` is a distinct local buffer;
        // T is valid for any bits, so a concurrent writer can only make the copy stale or mixed.
        unsafe { std::ptr::copy_nonoverlapping(self.data.as_ptr().add(start), dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copies `src` into elements `0..src.len()`.
    pub fn write_from(&self, src: &[T]) -> Result<()> {
        self.write_at(0, src)
    }

    /// Copies `src` into elements `start..start + src.len()`.
    pub fn write_at(&self, start: usize, src: &[T]) -> Result<()> {
        self.range(start, src.len())?;
        // SAFETY: the destination range is in bounds (checked) and distinct from `src`.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.data.as_ptr().add(start), src.len()) };
        Ok(())
    }

    /// All elements, copied.
    pub fn to_vec(&self) -> Vec<T> {
        let mut v = vec![T::new_zeroed(); self.len];
        self.read_into(&mut v).expect("whole-array read is in bounds");
        v
    }

    /// Raw pointer to the first element, for code that manages its own synchronisation (C
    /// interop, SIMD). Valid while this handle lives; other processes may write through it.
    pub fn as_ptr(&self) -> *mut T {
        self.data.as_ptr()
    }
}

/// Per-element atomics, for integer elements. Loads are `Acquire`, stores `Release`,
/// read-modify-writes `AcqRel`.
impl<T: ShmType + AtomicInt> Array<T> {
    fn elem(&self, index: usize) -> Result<*mut T> {
        self.range(index, 1)?;
        // SAFETY: in bounds (checked).
        Ok(unsafe { self.data.as_ptr().add(index) })
    }

    /// Atomically loads element `index`.
    pub fn load(&self, index: usize) -> Result<T> {
        let p = self.elem(index)?;
        // SAFETY: `p` is in bounds and aligned to T, whose alignment equals its size.
        Ok(unsafe { T::atomic_load(p, Ordering::Acquire) })
    }

    /// Atomically stores element `index`.
    pub fn store(&self, index: usize, value: T) -> Result<()> {
        let p = self.elem(index)?;
        // SAFETY: as for `load`.
        unsafe { T::atomic_store(p, value, Ordering::Release) };
        Ok(())
    }

    /// Atomically adds to element `index` (wrapping), returning the previous value.
    pub fn fetch_add(&self, index: usize, value: T) -> Result<T> {
        let p = self.elem(index)?;
        // SAFETY: as for `load`.
        Ok(unsafe { T::atomic_fetch_add(p, value, Ordering::AcqRel) })
    }

    /// Atomically subtracts from element `index` (wrapping), returning the previous value.
    pub fn fetch_sub(&self, index: usize, value: T) -> Result<T> {
        let p = self.elem(index)?;
        // SAFETY: as for `load`.
        Ok(unsafe { T::atomic_fetch_sub(p, value, Ordering::AcqRel) })
    }

    /// Atomically replaces element `index` with `new` if it equals `current`. The inner result
    /// is `Ok(previous)` on success and `Err(actual)` otherwise.
    pub fn compare_exchange(&self, index: usize, current: T, new: T) -> Result<std::result::Result<T, T>> {
        let p = self.elem(index)?;
        // SAFETY: as for `load`.
        Ok(unsafe { T::atomic_compare_exchange(p, current, new, Ordering::AcqRel, Ordering::Acquire) })
    }
}

#[diagnostic::do_not_recommend]
impl<T: ShmType> Structure for Array<T> {
    const KIND: Kind = Kind::Array;
    const ELEM: Option<TypeLayout<'static>> = Some(T::SHM_LAYOUT);
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let len = decl.capacity;
        let region = segment.allocate(decl, |r| {
            r.u64_at(0).store(len, Ordering::Relaxed);
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, len))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        Self::open_checked(segment, decl, true)
    }
}

impl<T: ShmType + std::fmt::Debug> std::fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array")
            .field("segment", &self.segment.name())
            .field("name", &self.region.name())
            .field("offset", &self.region.offset())
            .field("len", &self.len)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Live state, for `inspect`
// ---------------------------------------------------------------------------------------------

/// An array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayState {
    /// Number of elements.
    pub len: u64,
}

impl LiveState for ArrayState {
    fn report(&self, out: &mut Vec<String>) {
        let a = self;
        out.push(plural(a.len, "element", "elements"));
    }

    fn json(&self) -> Json {
        let a = self;
        Json::O(vec![("len", Json::U(a.len))])
    }
}
