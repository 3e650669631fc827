//! The runtime module every generated Python module imports (`zipc_runtime.py`), put together
//! from its pieces in `python_runtime/`, one per concept: the header (docstring, imports and the
//! constants printed from the zipc crate), the errors, loading libzipc, the description of a
//! structure, the handles every class builds on, then one piece per structure kind — chosen by an
//! exhaustive `match` over [`Kind`], so a kind without its Python piece does not compile — then
//! the wait set (the readiness descriptor, and the asyncio loop of the `*_async` methods), and
//! last the segment and the numpy-only reader (`open_mapped`).
//!
//! Two tables are printed, not written: `_SIGNATURES`, the ctypes types of every C function, from
//! the ABI's own table ([`zipc::ffi::functions`]), and `_KINDS`, what opens a structure of each
//! kind, from [`Kind::ALL`] and the kinds' pieces.

use std::fmt::Write as _;

use zipc::ffi::Signature;
use zipc::layout::{self, flags, Kind};

use crate::python::py_string;

/// The runtime module every generated module imports (`zipc_runtime.py`): it loads libzipc
/// with ctypes and wraps its C API (`zipc::ffi`) in Python classes. Its constants — kinds,
/// flags, status codes, struct sizes — are printed from the zipc crate.
pub fn runtime_module() -> String {
    let mut pieces = vec![HEADER.replace("@CONSTANTS@", &constants()), ERRORS.to_owned()];
    pieces.push(LIBRARY.replace("@SIGNATURES@", &signatures_table()));
    pieces.push(DESCRIPTION.to_owned());
    pieces.push(HANDLES.to_owned());
    pieces.extend(Kind::ALL.iter().map(|&k| kind_piece(k).source.to_owned()));
    pieces.push(WAIT_SET.to_owned());
    pieces.push(SEGMENT.replace("@KINDS@", &kinds_table()));
    pieces.push(MAPPED.to_owned());
    // Two blank lines between pieces, as between any two top-level definitions.
    let mut module = pieces.iter().map(|p| p.trim_end()).collect::<Vec<_>>().join("\n\n\n");
    module.push('\n');
    module
}

/// The constants of the header (`@CONSTANTS@`), printed from the zipc crate.
fn constants() -> String {
    use zipc::ffi::{Decl, Entry, Status};
    let mut c = String::new();
    let mut def = |name: &str, value: String, doc: &str| {
        let _ = writeln!(c, "{name} = {value}  # {doc}");
    };
    def("ABI_VERSION", zipc::ffi::ABI_VERSION.to_string(), "the C ABI this module calls");
    def("LIBRARY_FILE", py_string("libzipc.so"), "the shared library's file name");
    for k in Kind::ALL {
        def(&format!("KIND_{}", k.name().to_uppercase()), k.code().to_string(), "kind code");
    }
    for (name, code) in layout::POLICIES {
        def(&format!("POLICY_{}", name.to_uppercase()), code.to_string(), "queue policy flag");
    }
    def("RING_OVERWRITE", flags::RING_OVERWRITE.to_string(), "ring flag");
    def("EVENT_MANUAL_RESET", flags::EVENT_MANUAL_RESET.to_string(), "event flag");
    for p in zipc::layout::Primitive::ALL {
        def(&format!("PRIMITIVE_{}", p.name().to_uppercase()), p.code().to_string(), "value type code");
    }
    def("SIDE_A", "0".to_owned(), "endpoint side A");
    def("SIDE_B", "1".to_owned(), "endpoint side B");
    def("SIZEOF_ENTRY", std::mem::size_of::<Entry>().to_string(), "sizeof(zipc_entry)");
    def("SIZEOF_DECL", std::mem::size_of::<Decl>().to_string(), "sizeof(zipc_decl)");
    def("SIZEOF_HANDLE", std::mem::size_of::<zipc::Handle>().to_string(), "sizeof(zipc_handle)");
    let kinds: Vec<String> = Kind::ALL.iter().map(|k| format!("{}: {}", k.code(), py_string(k.name()))).collect();
    c.push_str(&format!("KIND_NAMES = {{{}}}\n", kinds.join(", ")));
    let prims: Vec<String> = zipc::layout::Primitive::ALL
        .iter()
        .map(|p| format!("({}, {}): {}", py_string(&p.numpy()[1..2]), p.size(), py_string(p.name())))
        .collect();
    c.push_str(&format!("PRIMITIVES = {{{}}}\n", prims.join(", ")));
    c.push_str("# zipc_status codes, by C name\nSTATUS = {\n");
    for st in Status::ALL {
        let _ = writeln!(c, "    {}: {},  # {}", py_string(st.c_name()), *st as i32, st.description());
    }
    c.push_str("}\nSTATUS_NAMES = {code: name for name, code in STATUS.items()}\n");
    c.push_str(&format!("FNV1A64_A = {:#018x}  # fnv1a64(b\"a\"), a self-check\n", layout::fnv1a64(b"a")));
    c.push_str("# The format, for the numpy-only reader (open_mapped)\n");
    for k in crate::raw_format::constants() {
        let v = if k.hex { format!("{:#x}", k.value) } else { k.value.to_string() };
        let _ = writeln!(c, "RAW_{} = {v}  # {}", k.name, k.doc);
    }
    c
}

/// The ctypes table (`@SIGNATURES@`): every function of the C ABI ([`zipc::ffi::functions`]), in
/// its order, with the ctypes types of its result and parameters. A function with a C type that
/// [`ctype`] does not know would be left out, with a comment saying so; the tests require that
/// there is none.
fn signatures_table() -> String {
    let mut o = String::from("_SIGNATURES = {\n");
    for f in zipc::ffi::functions() {
        let _ = match ctypes_signature(f) {
            Some((ret, params)) => writeln!(o, "    {}: ({ret}, [{}]),", py_string(f.name), params.join(", ")),
            None => writeln!(o, "    # {}: a C type without a ctypes type ({f})", f.name),
        };
    }
    o.push('}');
    o
}

/// The ctypes types of `f`'s result and parameters, or `None` if one of them has none.
fn ctypes_signature(f: &Signature) -> Option<(String, Vec<String>)> {
    let ret = ctype(&f.ret)?;
    let params = f.params.iter().map(|p| ctype(p)).collect::<Option<Vec<_>>>()?;
    Some((ret, params))
}

/// The ctypes type, in the runtime's names (`library.py`), of a C type of the ABI as
/// [`Signature`] spells it: `void` → `None`, `const char *` → `_S`, a scalar or a struct of
/// [`value`] by value or by pointer (`size_t` → `_SZ`, `uint64_t *` → `ctypes.POINTER(_U64)`,
/// `zipc_handle` → `Handle`), an opaque handle or a buffer by pointer (`const zipc_queue *`,
/// `void *`) → `_P`, and an output handle or pointer (`zipc_queue **`, `void **`) → `_PP`.
/// `const` makes no difference to ctypes. `None` for anything else.
fn ctype(c: &str) -> Option<String> {
    if c == "void" {
        return Some("None".to_owned());
    }
    if c == "const char *" {
        return Some("_S".to_owned());
    }
    let t = c.strip_prefix("const ").unwrap_or(c);
    if let Some(base) = t.strip_suffix(" **") {
        return (base == "void" || is_opaque(base)).then(|| "_PP".to_owned());
    }
    if let Some(base) = t.strip_suffix(" *") {
        if base == "void" || is_opaque(base) {
            return Some("_P".to_owned());
        }
        return value(base).map(|v| format!("ctypes.POINTER({v})"));
    }
    value(t).map(str::to_owned)
}

/// The ctypes type of a C type the runtime passes by value: the scalars of the ABI and the
/// structs that `library.py` mirrors (`Entry`, `_Decl`, `Handle`).
fn value(c: &str) -> Option<&'static str> {
    Some(match c {
        "int" => "_INT",
        "uint32_t" => "_U32",
        "int64_t" => "_I64",
        "uint64_t" => "_U64",
        "size_t" => "_SZ",
        "zipc_status" => "_ST",
        "zipc_entry" => "Entry",
        "zipc_decl" => "_Decl",
        "zipc_handle" => "Handle",
        _ => return None,
    })
}

/// Whether `c` is one of libzipc's opaque handle types (`zipc_queue`, `zipc_ring_producer`, ...):
/// a `zipc_` type that is not a value (`zipc.h` declares each `typedef struct T T;`, which the
/// tests check). Python holds them as `void *`.
fn is_opaque(c: &str) -> bool {
    c.starts_with("zipc_") && value(c).is_none()
}

/// A structure kind's part of the runtime.
struct KindPiece {
    /// Its source (`python_runtime/KIND.py`): the classes, or the function, that open and operate
    /// its structures.
    source: &'static str,
    /// What opens one of its structures, `opener(segment, declaration)`: a class or a function of
    /// `source`, its entry in `_KINDS`.
    opener: &'static str,
}

/// The piece of `kind`.
fn kind_piece(kind: Kind) -> KindPiece {
    let (source, opener) = match kind {
        Kind::Array => (include_str!("python_runtime/array.py"), "_array_view"),
        Kind::Atomic => (include_str!("python_runtime/atomic.py"), "Atomic"),
        Kind::Queue => (include_str!("python_runtime/queue.py"), "Queue"),
        Kind::Ring => (include_str!("python_runtime/ring.py"), "Ring"),
        Kind::Pool => (include_str!("python_runtime/pool.py"), "Pool"),
        Kind::Stack => (include_str!("python_runtime/stack.py"), "Stack"),
        Kind::Semaphore => (include_str!("python_runtime/semaphore.py"), "Semaphore"),
        Kind::Barrier => (include_str!("python_runtime/barrier.py"), "Barrier"),
        Kind::Latch => (include_str!("python_runtime/latch.py"), "Latch"),
        Kind::Mutex => (include_str!("python_runtime/mutex.py"), "Mutex"),
        Kind::Event => (include_str!("python_runtime/event.py"), "Event"),
        Kind::Condvar => (include_str!("python_runtime/condvar.py"), "Condvar"),
        Kind::Once => (include_str!("python_runtime/once.py"), "Once"),
        Kind::RwLock => (include_str!("python_runtime/rwlock.py"), "RwLock"),
        Kind::Future => (include_str!("python_runtime/future.py"), "Future"),
        Kind::Endpoint => (include_str!("python_runtime/endpoint.py"), "Endpoint"),
        Kind::Topic => (include_str!("python_runtime/topic.py"), "Topic"),
        Kind::Map => (include_str!("python_runtime/map.py"), "Map"),
        Kind::Set => (include_str!("python_runtime/set.py"), "Set"),
    };
    KindPiece { source, opener }
}

/// The kind code → opener table (`@KINDS@`), one entry per kind.
fn kinds_table() -> String {
    let mut o = String::from("_KINDS = {\n");
    for k in Kind::ALL {
        let _ = writeln!(o, "    KIND_{}: {},", k.name().to_uppercase(), kind_piece(k).opener);
    }
    o.push('}');
    o
}

/// The module docstring, the imports and the constants (placeholder `@CONSTANTS@`).
const HEADER: &str = include_str!("python_runtime/header.py");
/// `ZipcError` and its subclasses, by status.
const ERRORS: &str = include_str!("python_runtime/errors.py");
/// The ctypes types and structs, `_SIGNATURES` (placeholder `@SIGNATURES@`), loading libzipc
/// (`library()`) and the call helpers.
const LIBRARY: &str = include_str!("python_runtime/library.py");
/// FNV-1a, the canonical layout string of a dtype, and `Structure` (a declared structure).
const DESCRIPTION: &str = include_str!("python_runtime/description.py");
/// `_Handle`, opening, the element helpers, and the bases `_Typed` and `_Primitive`.
const HANDLES: &str = include_str!("python_runtime/handles.py");
/// `WaitSet` (the readiness descriptor) and `_until`, the asyncio loop of the kinds' `*_async`
/// methods; after the kinds, whose handle classes it names.
const WAIT_SET: &str = include_str!("python_runtime/wait_set.py");
/// `_KINDS` (placeholder `@KINDS@`), `Segment`, the segment opened through libzipc, and `unlink`.
const SEGMENT: &str = include_str!("python_runtime/segment.py");
/// `MappedSegment`, the numpy-only reader behind `open_mapped`.
const MAPPED: &str = include_str!("python_runtime/mapped.py");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let module = runtime_module();
        for placeholder in ["@CONSTANTS@", "@SIGNATURES@", "@KINDS@"] {
            assert!(!module.contains(placeholder), "{placeholder} is left");
        }
        assert!(module.ends_with('\n') && !module.ends_with("\n\n"), "one newline at the end");
    }

    #[test]
    fn every_abi_function_has_ctypes_types() {
        let functions = zipc::ffi::functions();
        assert!(!functions.is_empty());
        for f in functions {
            assert!(ctypes_signature(f).is_some(), "{f}: a C type without a ctypes type (add it to ctype)");
        }
        let table = signatures_table();
        assert_eq!(table.lines().count(), functions.len() + 2, "one line per function:\n{table}");
        assert!(!table.contains('#'), "a function is left out:\n{table}");
    }

    #[test]
    fn ctypes_types_of_every_abi_type() {
        for (c, py) in [
            ("void", "None"),
            ("zipc_status", "_ST"),
            ("const char *", "_S"),
            ("int", "_INT"),
            ("uint32_t", "_U32"),
            ("uint64_t", "_U64"),
            ("int64_t", "_I64"),
            ("size_t", "_SZ"),
            ("void *", "_P"),
            ("const void *", "_P"),
            ("void **", "_PP"),
            ("const zipc_segment *", "_P"),
            ("zipc_queue *", "_P"),
            ("zipc_queue **", "_PP"),
            ("zipc_ring_consumer **", "_PP"),
            ("int *", "ctypes.POINTER(_INT)"),
            ("uint32_t *", "ctypes.POINTER(_U32)"),
            ("uint64_t *", "ctypes.POINTER(_U64)"),
            ("int64_t *", "ctypes.POINTER(_I64)"),
            ("size_t *", "ctypes.POINTER(_SZ)"),
            ("zipc_entry *", "ctypes.POINTER(Entry)"),
            ("const zipc_decl *", "ctypes.POINTER(_Decl)"),
            ("zipc_handle", "Handle"),
            ("zipc_handle *", "ctypes.POINTER(Handle)"),
        ] {
            assert_eq!(ctype(c).as_deref(), Some(py), "{c}");
        }
        for c in ["char *", "const char **", "float", "zipc_entry **", "zipc_handle **", "uint8_t *"] {
            assert_eq!(ctype(c), None, "{c}");
        }
    }

    /// Every type `ctype` holds as an opaque handle is one in `zipc.h` (`typedef struct T T;`).
    #[test]
    fn opaque_handles_are_opaque_in_zipc_h() {
        let header = crate::c::runtime_header();
        for f in zipc::ffi::functions() {
            for c in f.params.iter().chain([&f.ret]) {
                let t = c.strip_prefix("const ").unwrap_or(c).trim_end_matches(['*', ' ']);
                if is_opaque(t) {
                    assert!(header.contains(&format!("typedef struct {t} {t};")), "{f}: {t} is not opaque in zipc.h");
                }
            }
        }
    }

    /// The runtime calls only functions of the ABI, so `_SIGNATURES` gives each its types: every
    /// `_LIB.zipc_f(`, `lib.zipc_f(` and `"zipc_f"` in the pieces names one.
    #[test]
    fn every_function_the_runtime_calls_is_in_the_table() {
        let mut pieces = vec![HEADER, ERRORS, LIBRARY, DESCRIPTION, HANDLES, WAIT_SET, SEGMENT, MAPPED];
        pieces.extend(Kind::ALL.iter().map(|&k| kind_piece(k).source));
        let names: Vec<&str> = zipc::ffi::functions().iter().map(|f| f.name).collect();
        let mut called = std::collections::BTreeSet::new();
        for piece in pieces {
            for (at, _) in piece.match_indices("zipc_") {
                let rest = &piece[at..];
                let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
                let before = piece[..at].chars().next_back();
                if matches!(before, Some('.' | '"')) && matches!(rest[end..].chars().next(), Some('(' | '"')) {
                    let name = &rest[..end];
                    assert!(names.contains(&name), "the runtime calls {name}, which is not a function of the ABI");
                    called.insert(name);
                }
            }
        }
        assert!(called.len() > 100, "found only {called:?}");
    }
}
