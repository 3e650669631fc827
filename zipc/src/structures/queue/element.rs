//! How the queue algorithms move elements between caller memory and shared slots: as a Rust type
//! known at compile time ([`Typed`]), or as bytes of a size known only at run time ([`Bytes`], for
//! [`zipc::dynamic`](crate::dynamic) and through it the C ABI).
//!
//! The algorithms (`queue/raw.rs`'s `Raw`) are written once, generic over [`Element`], and take
//! elements as byte slices of `size()` bytes per element. For [`Typed<T>`] every size and stride is
//! a constant and a slot access is one typed load or store, so after inlining the typed API
//! compiles to what a `T`-only implementation would (the `abi` benchmark checks it); [`Bytes`]
//! runs the very same code with `memcpy`s of a run-time size.
//!
//! The slot layout follows FORMAT.md whichever implementation writes it: a slot (of any policy)
//! is a `u64` sequence number followed by the element, padded to a multiple of 8
//! (`queue::slot_size`).

use std::marker::PhantomData;

use crate::sys::atomics::UnsafeCell;

/// The element representation of a queue algorithm.
///
/// # Safety
///
/// `slot_stride` is the size of a slot as laid out in memory the algorithm runs on,
/// `value_offset` is where the element starts in it, and `put`/`get` copy exactly `size()` bytes.
pub(crate) unsafe trait Element: Copy + Send + Sync + 'static {
    /// Bytes of one element in caller buffers.
    fn size(&self) -> usize;
    /// Bytes per slot.
    fn slot_stride(&self) -> usize;
    /// Offset of the element in a slot (after its `u64` sequence number).
    fn value_offset(&self) -> usize;
    /// Copies one element from caller memory `src` into the element cell at `cell`.
    ///
    /// # Safety
    ///
    /// `cell` is an element cell of this representation that the protocol hands to the caller
    /// for writing; `src` is valid for reads of `size()` bytes (any alignment).
    unsafe fn put(&self, cell: *mut u8, src: *const u8);
    /// Copies the element in the cell at `cell` into caller memory `dst`.
    ///
    /// # Safety
    ///
    /// `cell` is an element cell of this representation that the protocol hands to the caller
    /// for reading; `dst` is valid for writes of `size()` bytes (any alignment) and does not
    /// overlap it.
    unsafe fn get(&self, dst: *mut u8, cell: *const u8);
}

/// Elements of the Rust type `T` (a zero-sized marker).
pub(crate) struct Typed<T>(PhantomData<fn() -> T>);

impl<T> Typed<T> {
    /// The marker.
    pub(crate) const fn new() -> Self {
        Typed(PhantomData)
    }
}

impl<T> Clone for Typed<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Typed<T> {}

impl<T> std::fmt::Debug for Typed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Typed<{}>", std::any::type_name::<T>())
    }
}

// SAFETY: the stride and offset are those of the slot type the algorithm's memory holds
// (`queue::Slot<T>`, whose value is a `#[repr(transparent)]` cell of `T` in a build, loom's in a
// loom model, which allocates them as such); `put`/`get` move exactly one `T`. Every access goes
// through the cell's `with`/`with_mut`, so loom checks it.
unsafe impl<T: Copy + 'static> Element for Typed<T> {
    #[inline(always)]
    fn size(&self) -> usize {
        std::mem::size_of::<T>()
    }

    #[inline(always)]
    fn slot_stride(&self) -> usize {
        std::mem::size_of::<crate::structures::queue::Slot<T>>()
    }

    #[inline(always)]
    fn value_offset(&self) -> usize {
        std::mem::offset_of!(crate::structures::queue::Slot<T>, value)
    }

    #[inline(always)]
    unsafe fn put(&self, cell: *mut u8, src: *const u8) {
        // SAFETY: `cell` is a cell of `T` the protocol hands us (caller's contract), so a shared
        // reference to the cell (an `UnsafeCell`, which others may write through) is valid; `src`
        // holds `size_of::<T>()` readable bytes, and every bit pattern the caller passes is a `T`
        // to the queue (it only moves the bytes).
        unsafe {
            let value = src.cast::<T>().read_unaligned();
            (*cell.cast::<UnsafeCell<T>>()).with_mut(|p| p.write(value));
        }
    }

    #[inline(always)]
    unsafe fn get(&self, dst: *mut u8, cell: *const u8) {
        // SAFETY: as for `put`, reading; `dst` holds `size_of::<T>()` writable bytes.
        unsafe {
            let value = (*cell.cast::<UnsafeCell<T>>()).with(|p| p.read());
            dst.cast::<T>().write_unaligned(value);
        }
    }
}

/// Elements of `size` bytes, copied with `memcpy` (never under loom: the models use [`Typed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bytes {
    size: usize,
}

impl Bytes {
    /// Elements of `size` bytes (at least 1).
    pub(crate) fn new(size: usize) -> Self {
        assert!(size > 0, "zipc bug: zero-sized byte elements");
        Bytes { size }
    }
}

// SAFETY: the strides are FORMAT.md's (`queue::slot_size`) for a segment, which is the only
// memory `Bytes` runs on; `put`/`get` copy `size` bytes.
unsafe impl Element for Bytes {
    #[inline]
    fn size(&self) -> usize {
        self.size
    }

    #[inline]
    fn slot_stride(&self) -> usize {
        (crate::structures::queue::SEQ_SIZE as usize + self.size).next_multiple_of(8)
    }

    #[inline]
    fn value_offset(&self) -> usize {
        crate::structures::queue::SEQ_SIZE as usize
    }

    #[inline]
    unsafe fn put(&self, cell: *mut u8, src: *const u8) {
        // SAFETY: the protocol hands the cell's `size` bytes to the caller, who passes a `src` of
        // `size` readable bytes in its own memory (so they do not overlap).
        unsafe { copy(cell, src, self.size) }
    }

    #[inline]
    unsafe fn get(&self, dst: *mut u8, cell: *const u8) {
        // SAFETY: as for `put`, in the other direction.
        unsafe { copy(dst, cell, self.size) }
    }
}

/// `memcpy` of `n` bytes, with the common element sizes done inline (a library call costs more
/// than the copy for them).
///
/// # Safety
///
/// As `ptr::copy_nonoverlapping(src, dst, n)`; neither pointer needs to be aligned.
#[inline(always)]
unsafe fn copy(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: both ranges are `n` bytes (caller's contract); the accesses are unaligned.
    unsafe {
        match n {
            8 => dst.cast::<u64>().write_unaligned(src.cast::<u64>().read_unaligned()),
            4 => dst.cast::<u32>().write_unaligned(src.cast::<u32>().read_unaligned()),
            16 => dst.cast::<u128>().write_unaligned(src.cast::<u128>().read_unaligned()),
            _ => std::ptr::copy_nonoverlapping(src, dst, n),
        }
    }
}
