//! The identity of a layout: its canonical, language-neutral string ([`canonical`]), that
//! string's FNV-1a 64 [`fingerprint`], and the type record a segment stores beside a structure.

use super::types::TypeLayout;

/// The canonical, language-neutral layout string of a type: what the fingerprint hashes and what
/// mismatch errors show.
///
/// Grammar: a primitive is its name (`u32`); an array is `[T;N]`; a struct is
/// `{name:T@offset,...}#size`. Type names and docs are not part of it.
///
/// ```
/// use zipc::layout::{canonical, TypeLayout, Primitive};
/// const F32: TypeLayout<'static> = TypeLayout::Primitive(Primitive::F32);
/// let t = TypeLayout::Array { elem: &F32, len: 8 };
/// assert_eq!(canonical(&t), "[f32;8]");
/// ```
pub fn canonical(t: &TypeLayout<'_>) -> String {
    let mut s = String::with_capacity(canonical_len(t) as usize);
    write_canonical(t, &mut s);
    s
}

fn write_canonical(t: &TypeLayout<'_>, out: &mut String) {
    match t {
        TypeLayout::Primitive(p) => out.push_str(p.name()),
        TypeLayout::Array { elem, len } => {
            out.push('[');
            write_canonical(elem, out);
            out.push(';');
            out.push_str(&len.to_string());
            out.push(']');
        }
        TypeLayout::Struct(s) => {
            out.push('{');
            for (i, f) in s.fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(f.name);
                out.push(':');
                write_canonical(&f.ty, out);
                out.push('@');
                out.push_str(&f.offset.to_string());
            }
            out.push('}');
            out.push('#');
            out.push_str(&s.size.to_string());
        }
    }
}

/// Length in bytes of [`canonical`]`(t)`, computable at compile time (the segment stores the
/// string, so the derive needs its length for the segment's exact size).
pub const fn canonical_len(t: &TypeLayout<'_>) -> u64 {
    match t {
        TypeLayout::Primitive(p) => p.name().len() as u64,
        // "[" T ";" N "]"
        TypeLayout::Array { elem, len } => canonical_len(elem) + 3 + digits(*len),
        TypeLayout::Struct(s) => {
            // "{" fields "}#" size, fields joined by ","
            let mut n = 3 + digits(s.size);
            let mut i = 0;
            while i < s.fields.len() {
                let f = &s.fields[i];
                if i > 0 {
                    n += 1;
                }
                // name ":" T "@" offset
                n += f.name.len() as u64 + 2 + canonical_len(&f.ty) + digits(f.offset);
                i += 1;
            }
            n
        }
    }
}

/// 64-bit FNV-1a of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3). Chosen
/// because it is a few lines in C and Python too.
pub const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// The layout fingerprint of a type: [`fnv1a64`] of its [`canonical`] string.
pub fn fingerprint(t: &TypeLayout<'_>) -> u64 {
    fnv1a64(canonical(t).as_bytes())
}

/// The bytes a segment stores to describe an element type: its display name, a NUL, and its
/// canonical string.
pub fn type_record(t: &TypeLayout<'_>) -> Vec<u8> {
    let mut s = t.display_name();
    s.push('\0');
    write_canonical(t, &mut s);
    s.into_bytes()
}

/// Length of [`type_record`], at compile time.
pub const fn type_record_len(t: &TypeLayout<'_>) -> u64 {
    t.display_name_len() + 1 + canonical_len(t)
}

/// Number of decimal digits of `n`.
pub(crate) const fn digits(mut n: u64) -> u64 {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}
