//! The runtime module every generated Python module imports (`zipc_runtime.py`), put together
//! from its pieces in `python_runtime/`, one per concept: the header (docstring, imports and the
//! constants printed from the zipc crate), the errors, loading libzipc, the description of a
//! structure, the handles every class builds on, then one piece per structure kind — chosen by an
//! exhaustive `match` over [`Kind`], so a kind without its Python piece does not compile — and
//! last the segment and the numpy-only reader (`open_mapped`).

use std::fmt::Write as _;

use zipc::layout::{self, flags, Kind};

use crate::python::py_string;

/// The runtime module every generated module imports (`zipc_runtime.py`): it loads libzipc
/// with ctypes and wraps its C API (`zipc::ffi`) in Python classes. Its constants — kinds,
/// flags, status codes, struct sizes — are printed from the zipc crate.
pub fn runtime_module() -> String {
    let mut pieces = vec![HEADER.replace("@CONSTANTS@", &constants()), ERRORS.to_owned(), LIBRARY.to_owned()];
    pieces.push(DESCRIPTION.to_owned());
    pieces.push(HANDLES.to_owned());
    pieces.extend(Kind::ALL.iter().map(|&k| kind_piece(k).source.to_owned()));
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
        Kind::Semaphore => (include_str!("python_runtime/semaphore.py"), "Semaphore"),
        Kind::Barrier => (include_str!("python_runtime/barrier.py"), "Barrier"),
        Kind::Latch => (include_str!("python_runtime/latch.py"), "Latch"),
        Kind::Mutex => (include_str!("python_runtime/mutex.py"), "Mutex"),
        Kind::Event => (include_str!("python_runtime/event.py"), "Event"),
        Kind::Endpoint => (include_str!("python_runtime/endpoint.py"), "Endpoint"),
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
/// The ctypes types and structs, loading libzipc (`library()`) and the call helpers.
const LIBRARY: &str = include_str!("python_runtime/library.py");
/// FNV-1a, the canonical layout string of a dtype, and `Structure` (a declared structure).
const DESCRIPTION: &str = include_str!("python_runtime/description.py");
/// `_Handle`, opening, the element helpers, and the bases `_Typed` and `_Primitive`.
const HANDLES: &str = include_str!("python_runtime/handles.py");
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
        for placeholder in ["@CONSTANTS@", "@KINDS@"] {
            assert!(!module.contains(placeholder), "{placeholder} is left");
        }
        assert!(module.ends_with('\n') && !module.ends_with("\n\n"), "one newline at the end");
    }
}
