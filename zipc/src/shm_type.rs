//! [`ShmType`]: the element types that may live in shared memory, and their atomic subset.

use std::sync::atomic::Ordering;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::layout::{Primitive, TypeLayout};

/// A type that can be shared through a segment: every bit pattern is a valid value, it has no
/// padding, pointers or destructor, and its layout is fixed across languages. Implemented for
/// the ten primitives and arrays of any `ShmType`; derive it for `#[repr(C)]` structs with
/// `#[derive(ShmType)]`.
///
/// zerocopy's traits express the first part (reads need no `unsafe` in user code); `SHM_LAYOUT`
/// describes the type for fingerprints and the C and Python generators.
///
/// # Safety
///
/// `SHM_LAYOUT` must describe `Self` exactly: `SHM_LAYOUT.size()` is `size_of::<Self>()`,
/// `SHM_LAYOUT.align()` is `align_of::<Self>()`, and every field's offset and type are the real ones.
/// The runtime sizes regions from `SHM_LAYOUT` and accesses them with `Self`'s size. The derive
/// proves this at compile time; implement it by hand only with the same care.
///
/// ```
/// use zipc::ShmType;
/// assert_eq!(<[f32; 8] as ShmType>::SHM_LAYOUT.size(), 32);
/// assert_eq!(zipc::layout::canonical(&<[f32; 8] as ShmType>::SHM_LAYOUT), "[f32;8]");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in shared memory",
    label = "not a zipc element type",
    note = "element types are u8 i8 u16 i16 u32 i32 u64 i64 f32 f64, arrays [T; N] of them, and #[repr(C)] structs with #[derive(ShmType)]"
)]
pub unsafe trait ShmType:
    FromBytes + IntoBytes + Immutable + KnownLayout + Copy + Send + Sync + 'static
{
    /// The type's layout.
    const SHM_LAYOUT: TypeLayout<'static>;
}

macro_rules! primitive {
    ($($t:ty => $p:ident),* $(,)?) => {$(
        // SAFETY: a primitive's layout is itself.
        unsafe impl ShmType for $t {
            const SHM_LAYOUT: TypeLayout<'static> = TypeLayout::Primitive(Primitive::$p);
        }
    )*};
}

primitive!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, u64 => U64, i64 => I64, f32 => F32, f64 => F64);

// SAFETY: `[T; N]` is N contiguous `T`s with T's alignment, as the layout says.
unsafe impl<T: ShmType, const N: usize> ShmType for [T; N] {
    const SHM_LAYOUT: TypeLayout<'static> = {
        assert!(N > 0, "zero-length arrays cannot be shared: they have no layout in C");
        TypeLayout::Array { elem: &T::SHM_LAYOUT, len: N as u64 }
    };
}

mod sealed {
    pub trait Sealed {}
}

/// Integer element types with atomic operations (`u8` to `i64`). Used by
/// [`Array`](crate::Array)'s per-element atomics and by [`Atomic`](crate::Atomic).
pub trait AtomicInt: ShmType + sealed::Sealed + PartialEq + std::fmt::Debug {
    /// The primitive this is.
    const PRIMITIVE: Primitive;

    /// Atomic load from `p`.
    ///
    /// # Safety
    /// `p` is valid for reads, aligned, and stays mapped for the call.
    #[doc(hidden)]
    unsafe fn atomic_load(p: *mut Self, order: Ordering) -> Self;
    /// Atomic store to `p`.
    ///
    /// # Safety
    /// `p` is valid for writes, aligned, and stays mapped for the call.
    #[doc(hidden)]
    unsafe fn atomic_store(p: *mut Self, v: Self, order: Ordering);
    /// Atomic wrapping add, returning the previous value.
    ///
    /// # Safety
    /// As for `atomic_store`.
    #[doc(hidden)]
    unsafe fn atomic_fetch_add(p: *mut Self, v: Self, order: Ordering) -> Self;
    /// Atomic wrapping subtract, returning the previous value.
    ///
    /// # Safety
    /// As for `atomic_store`.
    #[doc(hidden)]
    unsafe fn atomic_fetch_sub(p: *mut Self, v: Self, order: Ordering) -> Self;
    /// Atomic swap, returning the previous value.
    ///
    /// # Safety
    /// As for `atomic_store`.
    #[doc(hidden)]
    unsafe fn atomic_swap(p: *mut Self, v: Self, order: Ordering) -> Self;
    /// Atomic compare-and-exchange.
    ///
    /// # Safety
    /// As for `atomic_store`.
    #[doc(hidden)]
    unsafe fn atomic_compare_exchange(
        p: *mut Self,
        current: Self,
        new: Self,
        success: Ordering,
        failure: Ordering,
    ) -> Result<Self, Self>;
}

macro_rules! atomic_int {
    ($($t:ty => $a:ident, $p:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl AtomicInt for $t {
            const PRIMITIVE: Primitive = Primitive::$p;
            unsafe fn atomic_load(p: *mut Self, order: Ordering) -> Self {
                // SAFETY: the caller guarantees `p` is valid and aligned.
                unsafe { std::sync::atomic::$a::from_ptr(p) }.load(order)
            }
            unsafe fn atomic_store(p: *mut Self, v: Self, order: Ordering) {
                // SAFETY: as above.
                unsafe { std::sync::atomic::$a::from_ptr(p) }.store(v, order)
            }
            unsafe fn atomic_fetch_add(p: *mut Self, v: Self, order: Ordering) -> Self {
                // SAFETY: as above.
                unsafe { std::sync::atomic::$a::from_ptr(p) }.fetch_add(v, order)
            }
            unsafe fn atomic_fetch_sub(p: *mut Self, v: Self, order: Ordering) -> Self {
                // SAFETY: as above.
                unsafe { std::sync::atomic::$a::from_ptr(p) }.fetch_sub(v, order)
            }
            unsafe fn atomic_swap(p: *mut Self, v: Self, order: Ordering) -> Self {
                // SAFETY: as above.
                unsafe { std::sync::atomic::$a::from_ptr(p) }.swap(v, order)
            }
            unsafe fn atomic_compare_exchange(
                p: *mut Self,
                current: Self,
                new: Self,
                success: Ordering,
                failure: Ordering,
            ) -> Result<Self, Self> {
                // SAFETY: as above.
                unsafe { std::sync::atomic::$a::from_ptr(p) }.compare_exchange(current, new, success, failure)
            }
        }
    )*};
}

atomic_int!(
    u8 => AtomicU8, U8,
    i8 => AtomicI8, I8,
    u16 => AtomicU16, U16,
    i16 => AtomicI16, I16,
    u32 => AtomicU32, U32,
    i32 => AtomicI32, I32,
    u64 => AtomicU64, U64,
    i64 => AtomicI64, I64,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{canonical, fingerprint};

    #[test]
    fn primitive_and_array_layouts() {
        for (l, size) in [
            (<u8 as ShmType>::SHM_LAYOUT, 1),
            (<i16 as ShmType>::SHM_LAYOUT, 2),
            (<f32 as ShmType>::SHM_LAYOUT, 4),
            (<f64 as ShmType>::SHM_LAYOUT, 8),
        ] {
            assert_eq!(l.size(), size);
            assert_eq!(l.align(), size);
        }
        let l = <[[u16; 3]; 2] as ShmType>::SHM_LAYOUT;
        assert_eq!(l.size(), 12);
        assert_eq!(l.align(), 2);
        assert_eq!(canonical(&l), "[[u16;3];2]");
        assert_ne!(fingerprint(&l), fingerprint(&<[[u16; 2]; 3] as ShmType>::SHM_LAYOUT));
    }
}
