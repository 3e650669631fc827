//! For every schema in `schemas/` and `schemas/fixtures/`: the generated C header compiles as
//! C11 and C++17 with `-Wall -Wextra -Werror`; a C program (linked with libzipc) and a Python
//! script (loading it) built on the generated code read the values a Rust process wrote into a
//! segment made from the schema, and write values that Rust reads back. The Rust side is the struct generated from the schema
//! (`zipc_schema::Builder` in `tests/build.rs`, `zipc::include_schema!`, the derives): it
//! creates the segment with every structure of every kind, and opens it again to read back.
//! Values go through arrays and atomics here (`cross_language.rs` moves messages through the
//! other kinds); every structure is checked (kind, layout, parameters) by all three.
//!
//! Plus, for every schema: C, Python and the generated Rust all refuse a segment in which any one
//! structure differs from the schema (another kind, element layout, capacity or parameter),
//! naming it; and all three refuse corrupted segments without crashing.

use std::path::{Path, PathBuf};
use std::process::Command;

use zipc::ffi::Status;
use zipc::layout::{Kind, ParamValue, Primitive, SegmentLayout, Slot, StructureLayout, TypeLayout};
use zipc::{Array, Atomic, Error, Segment, SegmentOptions, Structure};
use zipc_schema::{c, python, Arena, Schema};
use zipc_tests::native::{self, Link};
use zipc_tests::schemas::{self, Access, RustSide};
use zipc_tests::{numpy_python, target_dir, ShmName};

/// `zipc_status` codes (zipc.h, from zipc::ffi).
const ZIPC_OK: i32 = Status::Ok as i32;
const ZIPC_ERR_NOT_FOUND: i32 = Status::NotFound as i32;
const ZIPC_ERR_KIND: i32 = Status::Kind as i32;
const ZIPC_ERR_LAYOUT: i32 = Status::Layout as i32;
const ZIPC_ERR_CAPACITY: i32 = Status::Capacity as i32;
const ZIPC_ERR_PARAMETER: i32 = Status::Parameter as i32;

/// A scratch directory for generated sources and binaries, unique to this test process.
fn scratch(what: &str, stem: &str) -> PathBuf {
    let dir = target_dir().join("schema-tests").join(format!("{what}-{}", std::process::id())).join(stem);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command, what: &str) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"))
}

fn assert_ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes the C header and runtime for `schema` into `dir` and builds the C11 program `program`
/// into `dir/NAME` (linked with libzipc unless it is a [`Access::Raw`] one, which gets nothing
/// but libc); with `cpp`, also checks that the header alone compiles as C++17.
fn build_c(schema: &Schema<'_>, dir: &Path, name: &str, program: &str, access: Access, cpp: bool) -> PathBuf {
    std::fs::write(dir.join(c::RUNTIME_HEADER), c::runtime_header()).unwrap();
    std::fs::write(dir.join(format!("{}.h", schema.stem)), c::generate(schema)).unwrap();
    if cpp {
        let src = dir.join("header_only.cpp");
        std::fs::write(
            &src,
            format!("#include \"{}.h\"\nint main() {{ return zipc_fnv1a64_selftest() ? 0 : 1; }}\n", schema.stem),
        )
        .unwrap();
        let out = run(
            Command::new("g++")
                .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"])
                .arg(&src),
            "g++",
        );
        assert_ok(&out, &format!("compiling {}.h as C++17", schema.stem));
    }
    let link = match access {
        Access::Libzipc => Link::Shared,
        Access::Raw => Link::None,
    };
    native::compile_c(dir, name, program, link)
}

/// Writes the Python module and runtime for `schema` into `dir`.
fn write_python(schema: &Schema<'_>, dir: &Path) {
    std::fs::write(dir.join(python::RUNTIME_MODULE), python::runtime_module()).unwrap();
    std::fs::write(dir.join(format!("{}.py", schema.stem)), python::generate(schema)).unwrap();
}

fn python() -> PathBuf {
    numpy_python().unwrap_or_else(|e| panic!("the Python tests need numpy: {e}"))
}

fn python_command(py: &Path, dir: &Path, script: &Path) -> Command {
    native::python_command(py, dir, script)
}

fn side(schema: &Schema<'_>) -> RustSide {
    schemas::rust_side(&schema.stem).expect("tests/build.rs generated every schema")
}

/// Both ways C reaches a segment: through libzipc, and with nothing but libc (the program maps
/// the segment and uses the header-only `STEM_NAME_raw` readers; it is linked without libzipc).
#[test]
fn c_reads_what_rust_wrote_and_rust_reads_what_c_wrote() {
    let arena = Arena::new();
    let files = schemas::schema_files();
    for file in &files {
        let schema = schemas::load(file, &arena);
        for (access, seed) in [(Access::Libzipc, 1), (Access::Raw, 5)] {
            let from_rust = schemas::plan(&schema, seed);
            let from_c = schemas::plan(&schema, seed + 1);
            let dir = scratch(&format!("c-{access:?}"), &schema.stem);
            let program = schemas::c_program(&schema, &from_rust, &from_c, access);
            let exe = build_c(&schema, &dir, "prog", &program, access, access == Access::Libzipc);

            let seg = schemas::create(&schema);
            schemas::write_plan(&seg.handles, &from_rust);
            assert!(
                !schemas::check_plan(&seg.handles, &schema, &from_c).is_empty(),
                "before C runs, its values are not there"
            );
            let out = run(Command::new(&exe).arg(seg.name.as_str()), "C program");
            assert_ok(&out, &format!("the C program of {} ({access:?})", schema.stem));
            // Read back through a second opening of the generated struct.
            let reopened = (side(&schema).open)(&seg.name).expect("the generated struct opens the segment");
            let bad = schemas::check_plan(&reopened, &schema, &from_c);
            assert!(
                bad.is_empty(),
                "{} ({access:?}): Rust read back wrong values written by C:\n{}",
                schema.stem,
                bad.join("\n")
            );
            let _ = std::fs::remove_dir_all(&dir); // kept only when the test fails, for a look
        }
    }
    assert!(files.len() >= 11, "every schema is exercised ({})", files.len());
}

/// Both ways Python reaches a segment: `STEM.open` through libzipc, and `STEM.open_mapped` with
/// nothing but numpy (run where libzipc cannot be found; the script checks it was never loaded).
#[test]
fn python_reads_what_rust_wrote_and_rust_reads_what_python_wrote() {
    let py = python();
    let arena = Arena::new();
    let files = schemas::schema_files();
    for file in &files {
        let schema = schemas::load(file, &arena);
        for (access, seed) in [(Access::Libzipc, 3), (Access::Raw, 7)] {
            let from_rust = schemas::plan(&schema, seed);
            let from_py = schemas::plan(&schema, seed + 1);
            let dir = scratch(&format!("py-{access:?}"), &schema.stem);
            write_python(&schema, &dir);
            let script = dir.join("exchange.py");
            std::fs::write(&script, schemas::python_script(&schema, &from_rust, &from_py, access)).unwrap();

            let seg = schemas::create(&schema);
            schemas::write_plan(&seg.handles, &from_rust);
            let mut cmd = match access {
                Access::Libzipc => python_command(&py, &dir, &script),
                Access::Raw => native::python_command_without_library(&py, &dir, &script),
            };
            let out = run(cmd.arg(seg.name.as_str()), "python");
            assert_ok(&out, &format!("the Python script of {} ({access:?})", schema.stem));
            let reopened = (side(&schema).open)(&seg.name).expect("the generated struct opens the segment");
            let bad = schemas::check_plan(&reopened, &schema, &from_py);
            assert!(
                bad.is_empty(),
                "{} ({access:?}): Rust read back wrong values written by Python:\n{}",
                schema.stem,
                bad.join("\n")
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    assert!(files.len() >= 11, "every schema is exercised ({})", files.len());
}

/// The probes of a schema (`schemas::c_probe`, `schemas::python_probe`), built once: C and
/// Python through libzipc, and without it (libc-only C, numpy-only Python).
struct Probes {
    dir: PathBuf,
    c: PathBuf,
    c_raw: PathBuf,
    python: PathBuf,
    script: PathBuf,
    script_raw: PathBuf,
}

impl Probes {
    fn build(schema: &Schema<'_>, what: &str) -> Probes {
        let dir = scratch(what, &schema.stem);
        let c = build_c(schema, &dir, "probe", &schemas::c_probe(schema, Access::Libzipc), Access::Libzipc, false);
        let raw = schemas::c_probe(schema, Access::Raw);
        let c_raw = build_c(schema, &dir, "probe_raw", &raw, Access::Raw, false);
        write_python(schema, &dir);
        let script = dir.join("probe.py");
        std::fs::write(&script, schemas::python_probe(schema, Access::Libzipc)).unwrap();
        let script_raw = dir.join("probe_raw.py");
        std::fs::write(&script_raw, schemas::python_probe(schema, Access::Raw)).unwrap();
        Probes { dir, c, c_raw, python: python(), script, script_raw }
    }

    /// What the C probe on libzipc says of each segment: `(status, structure)`.
    fn c(&self, names: &[&str]) -> Vec<(i32, String)> {
        Self::c_lines(&self.c, names)
    }

    /// What the libc-only C probe says of each segment: `(status, structure)`.
    fn c_raw(&self, names: &[&str]) -> Vec<(i32, String)> {
        Self::c_lines(&self.c_raw, names)
    }

    fn c_lines(exe: &Path, names: &[&str]) -> Vec<(i32, String)> {
        let out = run(Command::new(exe).args(names), "C probe");
        assert_ok(&out, "the C probe (it must not crash on any segment)");
        let lines: Vec<(i32, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let (code, which) = l.split_once(' ').expect("`STATUS WHICH`");
                (code.parse().expect("a status code"), which.to_owned())
            })
            .collect();
        assert_eq!(lines.len(), names.len(), "one line per segment");
        lines
    }

    /// What the Python probe says of each segment: `None` if it opened, else the error's class
    /// and message.
    fn python(&self, names: &[&str]) -> Vec<Option<(String, String)>> {
        Self::python_lines(python_command(&self.python, &self.dir, &self.script), names)
    }

    /// What the numpy-only Python probe (`open_mapped`) says of each segment.
    fn python_raw(&self, names: &[&str]) -> Vec<Option<(String, String)>> {
        let cmd = native::python_command_without_library(&self.python, &self.dir, &self.script_raw);
        Self::python_lines(cmd, names)
    }

    fn python_lines(mut cmd: Command, names: &[&str]) -> Vec<Option<(String, String)>> {
        let out = run(cmd.args(names), "Python probe");
        assert_ok(&out, "the Python probe (only ZipcErrors are expected)");
        let lines: Vec<Option<(String, String)>> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| match l {
                "ok" => None,
                _ => {
                    let (class, msg) = l.split_once('\t').expect("`CLASS\\tMESSAGE`");
                    Some((class.to_owned(), msg.to_owned()))
                }
            })
            .collect();
        assert_eq!(lines.len(), names.len(), "one line per segment");
        lines
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// How a variant segment differs from its schema, in one structure.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Change {
    /// A structure of another kind under the same name.
    Kind,
    /// Another element layout (a primitive of the same size, another kind of number).
    Layout,
    /// Another capacity (or number of participants).
    Capacity,
    /// Another value of a parameter recorded in the descriptor's flags or maximum.
    Parameter(&'static str),
}

/// A segment that differs from its schema in structure `index` only.
struct Variant {
    index: usize,
    change: Change,
    decl: StructureLayout<'static>,
}

/// A primitive of the same size that is another kind of number.
fn twin(p: Primitive) -> Primitive {
    use Primitive::*;
    match p {
        U8 => I8,
        I8 => U8,
        U16 => I16,
        I16 => U16,
        U32 => I32,
        I32 => U32,
        U64 => I64,
        I64 => U64,
        F32 => U32,
        F64 => U64,
    }
}

/// For every structure of `layout`, each way it can differ that zipc checks at open: its kind;
/// its element layout (arrays and atomics of primitives: created here with another primitive);
/// and each parameter of its kind that a descriptor records and an open compares — capacity,
/// flag bits set by value (a ring's `overwrite`, an event's `manual_reset`), maximum. Initial
/// values (an atomic's, a latch's count, whether an event starts set) are state, not identity,
/// and a queue's policy is its Rust type, so neither is varied.
fn variants(layout: &SegmentLayout<'static>) -> Vec<Variant> {
    let mut out = Vec::new();
    for (index, d) in layout.structures.iter().enumerate() {
        let mut push = |change, decl| out.push(Variant { index, change, decl });
        let other = if d.kind == Kind::Mutex { Kind::Event } else { Kind::Mutex };
        push(Change::Kind, StructureLayout { doc: d.doc, ..StructureLayout::new(d.name, other, None) });
        if let (Kind::Array | Kind::Atomic, Some(TypeLayout::Primitive(p))) = (d.kind, d.elem) {
            let initial = if d.kind == Kind::Atomic { 0 } else { d.initial }; // fits every type
            push(Change::Layout, StructureLayout { elem: Some(TypeLayout::Primitive(twin(p))), initial, ..*d });
        }
        for p in d.kind.parameters().iter().filter(|p| !p.type_level) {
            match (p.slot, p.value) {
                // Doubling keeps a queue's capacity a power of two.
                (Slot::Capacity, _) => push(Change::Capacity, StructureLayout { capacity: d.capacity * 2, ..*d }),
                (Slot::Flags, ParamValue::Bool { bit }) => {
                    push(Change::Parameter(p.name), StructureLayout { flags: d.flags ^ bit, ..*d })
                }
                (Slot::Maximum, _) => {
                    let maximum = if d.maximum == 0 { d.initial.max(1) } else { d.maximum + 1 };
                    push(Change::Parameter(p.name), StructureLayout { maximum, ..*d })
                }
                _ => {}
            }
        }
    }
    out
}

/// Creates structure `decl` of a variant: with the generated field's type when only parameters
/// changed, otherwise with the type its kind and element need.
fn create_variant_structure(seg: &Segment, side: &RustSide, v: &Variant, decl: &StructureLayout<'_>) {
    let created = match (v.change, decl.kind, decl.elem) {
        (Change::Kind, Kind::Mutex, _) => zipc::Mutex::create_in(seg, decl).map(drop),
        (Change::Kind, Kind::Event, _) => zipc::Event::create_in(seg, decl).map(drop),
        (Change::Layout, Kind::Atomic, Some(TypeLayout::Primitive(p))) => match p {
            Primitive::U32 => Atomic::<u32>::create_in(seg, decl).map(drop),
            Primitive::I32 => Atomic::<i32>::create_in(seg, decl).map(drop),
            Primitive::U64 => Atomic::<u64>::create_in(seg, decl).map(drop),
            Primitive::I64 => Atomic::<i64>::create_in(seg, decl).map(drop),
            other => panic!("no atomic of {other}"),
        },
        (Change::Layout, Kind::Array, Some(TypeLayout::Primitive(p))) => match p {
            Primitive::U8 => Array::<u8>::create_in(seg, decl).map(drop),
            Primitive::I8 => Array::<i8>::create_in(seg, decl).map(drop),
            Primitive::U16 => Array::<u16>::create_in(seg, decl).map(drop),
            Primitive::I16 => Array::<i16>::create_in(seg, decl).map(drop),
            Primitive::U32 => Array::<u32>::create_in(seg, decl).map(drop),
            Primitive::I32 => Array::<i32>::create_in(seg, decl).map(drop),
            Primitive::U64 => Array::<u64>::create_in(seg, decl).map(drop),
            Primitive::I64 => Array::<i64>::create_in(seg, decl).map(drop),
            Primitive::F32 => Array::<f32>::create_in(seg, decl).map(drop),
            Primitive::F64 => Array::<f64>::create_in(seg, decl).map(drop),
        },
        _ => (side.create_structure)(seg, v.index, decl).map(drop),
    };
    created.unwrap_or_else(|e| panic!("creating {:?} of the {:?} variant: {e}", decl.name, v.change));
}

/// Creates the variant's segment: the schema's structures, with structure `v.index` replaced.
fn create_variant(layout: &SegmentLayout<'static>, side: &RustSide, v: &Variant) -> ShmName {
    let mut decls = layout.structures.to_vec();
    decls[v.index] = v.decl;
    let variant = SegmentLayout { structures: &decls, ..*layout };
    let name = ShmName::new("variant");
    let seg = SegmentOptions::for_layout(&variant).unwrap().create(&name).unwrap();
    for (i, d) in decls.iter().enumerate() {
        if i == v.index {
            create_variant_structure(&seg, side, v, d);
        } else {
            (side.create_structure)(&seg, i, d).unwrap();
        }
    }
    name
}

/// The generated C and Python and the generated Rust check every structure of the segment
/// against the schema: for every schema, a segment in which any one structure differs in a way
/// zipc checks — kind, element layout, capacity, a parameter — is refused by all three, naming
/// that structure and what differs. An intact segment opens, a missing one is reported.
#[test]
fn c_python_and_rust_refuse_a_segment_that_differs_from_their_schema() {
    let arena = Arena::new();
    let mut tested = std::collections::BTreeSet::new();
    for file in schemas::schema_files() {
        let schema = schemas::load(&file, &arena);
        let side = side(&schema);
        let probes = Probes::build(&schema, "refuse");
        let all = variants(&side.layout);
        assert!(!all.is_empty(), "{}", schema.stem);
        let names: Vec<ShmName> = all.iter().map(|v| create_variant(&side.layout, &side, v)).collect();
        let intact = schemas::create(&schema);
        let missing = ShmName::new("missing");
        let mut args: Vec<&str> = vec![intact.name.as_str(), missing.as_str()];
        args.extend(names.iter().map(|n| n.as_str()));
        let from_c = probes.c(&args);
        let from_raw = probes.c_raw(&args);
        let from_python = probes.python(&args);
        let from_python_raw = probes.python_raw(&args);

        assert_eq!(from_c[0], (ZIPC_OK, "-".to_owned()), "{}: C opens the intact segment", schema.stem);
        assert_eq!(from_python_raw[0], None, "{}: numpy-only Python maps the intact segment", schema.stem);
        assert_eq!(from_python_raw[1].as_ref().map(|(c, _)| c.as_str()), Some("NotFoundError"));
        assert_eq!(from_raw[0], (ZIPC_OK, "-".to_owned()), "{}: libc-only C reads the intact segment", schema.stem);
        assert_eq!(from_raw[1], (ZIPC_ERR_NOT_FOUND, "-".to_owned()), "libc-only C on a missing segment");
        assert_eq!(from_python[0], None, "{}: Python opens the intact segment", schema.stem);
        assert_eq!(from_c[1], (ZIPC_ERR_NOT_FOUND, "-".to_owned()), "a missing segment is ZIPC_ERR_NOT_FOUND");
        assert_eq!(from_python[1].as_ref().map(|(c, _)| c.as_str()), Some("NotFoundError"));

        for (i, v) in all.iter().enumerate() {
            let structure = side.layout.structures[v.index].name;
            let what = format!("{}: {structure} ({:?})", schema.stem, v.change);
            // The messages are Rust's (libzipc's): they name the parameter that differs.
            let (code, word) = match v.change {
                Change::Kind => (ZIPC_ERR_KIND, "is a"),
                Change::Layout => (ZIPC_ERR_LAYOUT, "layout"),
                Change::Capacity => (ZIPC_ERR_CAPACITY, "capacity"),
                Change::Parameter("max") => (ZIPC_ERR_PARAMETER, "maximum"),
                Change::Parameter("manual_reset") => (ZIPC_ERR_PARAMETER, "reset mode"),
                Change::Parameter(p) => (ZIPC_ERR_PARAMETER, p),
            };
            assert_eq!(from_c[i + 2], (code, structure.to_owned()), "C on {what}");
            // The libc-only readers check the arrays and atomics they find, and nothing else.
            let raw_reads = matches!(side.layout.structures[v.index].kind, Kind::Array | Kind::Atomic);
            let raw_expected = if raw_reads { (code, structure.to_owned()) } else { (ZIPC_OK, "-".to_owned()) };
            assert_eq!(from_raw[i + 2], raw_expected, "libc-only C on {what}");
            match (&from_python_raw[i + 2], raw_reads) {
                (Some((class, msg)), true) => assert!(
                    class == "MismatchError" && msg.contains(&format!("\"{structure}\"")) && msg.contains(word),
                    "numpy-only Python on {what}: {class}: {msg}"
                ),
                (None, false) => {}
                (got, _) => panic!("numpy-only Python on {what}: {got:?}"),
            }
            match &from_python[i + 2] {
                Some((class, msg)) => assert!(
                    class == "MismatchError" && msg.contains(&format!("\"{structure}\"")) && msg.contains(word),
                    "Python on {what}: {class}: {msg}"
                ),
                None => panic!("Python opened {what}"),
            }
            let err = (side.open)(&names[i]).err().unwrap_or_else(|| panic!("Rust opened {what}"));
            let text = err.to_string();
            let Error::Incompatible { mismatches, .. } = err else { panic!("Rust on {what}: {text}") };
            assert_eq!(mismatches.len(), 1, "Rust on {what}: {text}");
            let named = match (&mismatches[0], v.change) {
                (Error::KindMismatch { structure, .. }, Change::Kind)
                | (Error::LayoutMismatch { structure, .. }, Change::Layout)
                | (Error::CapacityMismatch { structure, .. }, Change::Capacity)
                | (Error::ParameterMismatch { structure, .. }, Change::Parameter(_)) => structure,
                (other, _) => panic!("Rust on {what}: {other}"),
            };
            assert_eq!(named, structure, "Rust on {what}");
            tested.insert(format!("{} {:?}", side.layout.structures[v.index].kind, v.change));
        }
    }
    // Every kind was varied, and every way of differing was seen.
    for kind in Kind::ALL {
        assert!(tested.contains(&format!("{kind} Kind")), "no {kind} was replaced: {tested:?}");
    }
    for change in ["Array Layout", "Atomic Layout", "Queue Capacity", "Endpoint Capacity", "Barrier Capacity"] {
        assert!(tested.contains(change), "{change}: {tested:?}");
    }
    for change in ["Ring Parameter(\"overwrite\")", "Event Parameter(\"manual_reset\")", "Semaphore Parameter(\"max\")"]
    {
        assert!(tested.contains(change), "{change}: {tested:?}");
    }
}

/// One way to corrupt a segment: bytes to write at an offset.
struct Corruption {
    what: String,
    at: u64,
    bytes: Vec<u8>,
    /// What the libc-only readers (`STEM_NAME_raw`) must make of it.
    raw: RawSees,
}

/// Whether the libc-only readers, which check the table and the descriptors of the arrays and
/// atomics they look up (not type records, not other structures), must refuse a corruption.
#[derive(Clone, Copy, PartialEq)]
enum RawSees {
    /// The header or the self-description's header: every lookup refuses.
    Always,
    /// The table entry, descriptor or region of structure `i`: refused if it is an array or an
    /// atomic the reader looks up.
    Structure(usize),
    /// Nothing they read.
    Never,
}

/// Corruptions of every part of a schema's segment that someone validates: the header, table
/// entries, the self-description, type records and fingerprints, and the fixed fields of every
/// structure's own header (array capacity, queue and ring and pool parameters, a semaphore's
/// maximum, a barrier's participants, a latch's initial count, an rwlock's reader slots, a
/// future's value size).
fn corruptions(schema: &Schema<'_>) -> Vec<Corruption> {
    use zipc::description::{self, descriptor};
    use zipc::table::{self, entry, header};
    let layout = &schema.layout;
    let n = layout.structures.len() as u32;
    let desc_region = schema.placements[0].1.offset;
    let desc = |i: u32, field: u64| {
        desc_region
            + description::descriptors_offset(layout.max_processes)
            + description::DESCRIPTOR_SIZE * u64::from(i)
            + field
    };
    let c = |what: &str, at: u64, bytes: Vec<u8>, raw| Corruption { what: what.to_owned(), at, bytes, raw };
    let last = n as usize - 1; // the structure of table entry n
    let mut out = vec![
        c("header magic", header::MAGIC, 0u32.to_le_bytes().to_vec(), RawSees::Always),
        c("max_entries beyond the file", header::MAX_ENTRIES, 4000u32.to_le_bytes().to_vec(), RawSees::Always),
        c("memory_size beyond the file", header::MEMORY_SIZE, (1u64 << 40).to_le_bytes().to_vec(), RawSees::Always),
        c(
            "entry_count beyond max_entries",
            header::ENTRY_COUNT,
            (layout.max_entries + 1).to_le_bytes().to_vec(),
            RawSees::Always,
        ),
        c(
            "last entry beyond the segment",
            table::entry_offset(n) + entry::OFFSET,
            (1u64 << 40).to_le_bytes().to_vec(),
            RawSees::Structure(last),
        ),
        c(
            "first entry's name without NUL",
            table::entry_offset(1) + entry::NAME,
            vec![b'x'; 32],
            RawSees::Structure(0),
        ),
        c("__zipc magic", desc_region, 0u32.to_le_bytes().to_vec(), RawSees::Always),
        c("a kind code", desc(n, descriptor::KIND), 99u32.to_le_bytes().to_vec(), RawSees::Structure(last)),
    ];
    if let Some(i) = layout.structures.iter().position(|s| s.elem.is_some()) {
        let e = i as u32 + 1; // table entry: after __zipc
        let len = u32::MAX.to_le_bytes().to_vec();
        out.push(c("type record length", desc(e, descriptor::TYPE_LEN), len, RawSees::Never));
        let far = (1u64 << 40).to_le_bytes().to_vec();
        out.push(c("type record offset", desc(e, descriptor::TYPE_OFFSET), far, RawSees::Never));
        let print = 12345u64.to_le_bytes().to_vec();
        out.push(c("fingerprint", desc(e, descriptor::FINGERPRINT), print, RawSees::Structure(i)));
    }
    for (i, (s, (_, p))) in layout.structures.iter().zip(&schema.placements[1..]).enumerate() {
        let header = |field: u64, bytes: Vec<u8>| Corruption {
            what: format!("{} {:?}'s header at +{field}", s.kind, s.name),
            at: p.offset + field,
            bytes,
            raw: RawSees::Structure(i),
        };
        let big = (1u64 << 60).to_le_bytes().to_vec();
        match s.kind {
            Kind::Array => out.push(header(0, big)),
            Kind::Queue => out.push(header(zipc::queue::header::CAPACITY, big)),
            Kind::Endpoint => out.push(header(zipc::queue::header::POLICY, 7u32.to_le_bytes().to_vec())),
            Kind::Ring => out.push(header(zipc::ring::field::FLAGS, 6u32.to_le_bytes().to_vec())),
            Kind::Pool => out.push(header(zipc::pool::field::CAPACITY, big)),
            Kind::Stack => out.push(header(zipc::stack::field::CAPACITY, big)),
            Kind::Map | Kind::Set => out.push(header(zipc::map::field::SLOTS, big)),
            Kind::Semaphore => out.push(header(zipc::semaphore::MAX_COUNT_OFFSET, 77i32.to_le_bytes().to_vec())),
            Kind::Barrier => out.push(header(zipc::barrier::PARTICIPANTS_OFFSET, (-1i32).to_le_bytes().to_vec())),
            Kind::Latch => out.push(header(zipc::latch::INITIAL_OFFSET, 0i32.to_le_bytes().to_vec())),
            Kind::Topic => out.push(header(zipc::topic::header::HISTORY, big)),
            Kind::RwLock => out.push(header(zipc::rwlock::MAX_READERS_OFFSET, 5000u32.to_le_bytes().to_vec())),
            Kind::Future => out.push(header(zipc::future::ELEM_SIZE_OFFSET, 5000u32.to_le_bytes().to_vec())),
            // Nothing in their regions is fixed: every bit pattern is a valid state.
            Kind::Atomic | Kind::Mutex | Kind::Event | Kind::Condvar | Kind::Once => {}
        }
    }
    out
}

/// The generated readers and the generated Rust treat segment bytes as untrusted: for every
/// schema, corrupting a header field, a table entry, a descriptor, a type record or any
/// structure's own header gives an error from C (`zipc_status`), Python (`ZipcError`) and Rust
/// (`Err`), never a crash, a hang or an out-of-bounds access. C and Python open through libzipc,
/// so they validate exactly what Rust does.
#[test]
fn c_python_and_rust_refuse_corrupted_segments() {
    let arena = Arena::new();
    let mut kinds = std::collections::BTreeSet::new();
    let (mut raw_refused, mut python_raw_refused) = (0, 0);
    for file in schemas::schema_files() {
        let schema = schemas::load(&file, &arena);
        let side = side(&schema);
        let probes = Probes::build(&schema, "corrupt");
        let cases = corruptions(&schema);
        let mut names = Vec::new();
        for case in &cases {
            let seg = schemas::create(&schema);
            drop(seg.handles);
            zipc_tests::poke(&seg.name, case.at, &case.bytes);
            names.push(seg.name);
        }
        let args: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        let from_c = probes.c(&args);
        let from_raw = probes.c_raw(&args); // it must not crash either (Probes checks its exit)
        let from_python = probes.python(&args);
        let from_python_raw = probes.python_raw(&args); // only ZipcErrors (Probes checks)
        for (i, case) in cases.iter().enumerate() {
            let what = format!("{}: corrupted {}", schema.stem, case.what);
            match (side.open)(&names[i]) {
                Ok(_) => panic!("Rust opened {what}"),
                Err(e) => {
                    assert!(matches!(e, Error::Corrupt { .. } | Error::Incompatible { .. }), "Rust on {what}: {e}")
                }
            }
            assert_ne!(from_c[i].0, ZIPC_OK, "C on {what}");
            assert!(from_python[i].is_some(), "Python on {what}");
            let reads = |i: usize| matches!(schema.layout.structures[i].kind, Kind::Array | Kind::Atomic);
            let must_refuse = match case.raw {
                RawSees::Always => {
                    schema.layout.structures.iter().any(|s| matches!(s.kind, Kind::Array | Kind::Atomic))
                }
                RawSees::Structure(s) => reads(s),
                RawSees::Never => false,
            };
            if must_refuse {
                assert_ne!(from_raw[i].0, ZIPC_OK, "libc-only C on {what}");
                assert!(from_python_raw[i].is_some(), "numpy-only Python on {what}");
            }
            if from_python_raw[i].is_some() {
                python_raw_refused += 1;
            }
            if from_raw[i].0 != ZIPC_OK {
                raw_refused += 1;
            }
        }
        for s in schema.layout.structures {
            kinds.insert(s.kind.name());
        }
    }
    assert_eq!(kinds.len(), Kind::ALL.len(), "segments with every kind were corrupted: {kinds:?}");
    assert!(raw_refused >= 50, "the libc-only readers refused {raw_refused} corrupted segments");
    assert!(python_raw_refused >= 50, "open_mapped refused {python_raw_refused} corrupted segments");
}

/// The libc-only readers refuse what they cannot check, and their programs need nothing but
/// libc: a segment whose process registry has another size than the schema's (its descriptors
/// are elsewhere) is `ZIPC_ERR_PARAMETER`; a ZeroIPC-made segment (no self-description, so no
/// fingerprints) is `ZIPC_ERR_KIND`; a file shorter than the size its header claims is
/// `ZIPC_ERR_CORRUPT`. The probe's binary lists no libzipc among the libraries it needs. The
/// numpy-only Python (`open_mapped`) refuses the same three, and says which structures need
/// libzipc.
#[test]
fn the_library_free_readers_refuse_what_they_cannot_check() {
    use zipc::table::{self, entry, header};
    let arena = Arena::new();
    let file = schemas::schema_files().into_iter().find(|f| f.ends_with("telemetry.toml")).expect("telemetry.toml");
    let schema = schemas::load(&file, &arena);
    let side = side(&schema);
    let probes = Probes::build(&schema, "raw-limits");
    let first = side.layout.structures.iter().find(|s| s.kind == Kind::Array).expect("telemetry has arrays").name;

    let needed = run(Command::new("readelf").arg("-d").arg(&probes.c_raw), "readelf");
    assert_ok(&needed, "readelf -d");
    let needed = String::from_utf8_lossy(&needed.stdout);
    assert!(needed.contains("(NEEDED)"), "readelf lists the libraries:\n{needed}");
    assert!(!needed.contains("zipc"), "the libc-only probe needs libzipc:\n{needed}");

    // Another registry size.
    let other = ShmName::new("raw-processes");
    let seg = SegmentOptions::for_layout(&side.layout)
        .unwrap()
        .size(side.size + (1 << 20)) // room for the larger registry
        .max_processes(side.layout.max_processes * 2)
        .create(&other)
        .unwrap();
    for (i, d) in side.layout.structures.iter().enumerate() {
        (side.create_structure)(&seg, i, d).unwrap();
    }
    drop(seg);

    // A ZeroIPC segment with an array of that name: the table only.
    let zeroipc = ShmName::new("raw-zeroipc");
    let (max_entries, cap) = (4u32, 8u64);
    let data = table::table_end(max_entries);
    let size = data + 8 + cap * 48;
    let mut bytes = vec![0u8; size as usize];
    let mut put = |at: u64, b: &[u8]| bytes[at as usize..at as usize + b.len()].copy_from_slice(b);
    put(header::MAGIC, &table::MAGIC.to_le_bytes());
    put(header::VERSION, &table::VERSION.to_le_bytes());
    put(header::ENTRY_COUNT, &1u32.to_le_bytes());
    put(header::MAX_ENTRIES, &max_entries.to_le_bytes());
    put(header::MEMORY_SIZE, &size.to_le_bytes());
    put(header::NEXT_OFFSET, &size.to_le_bytes());
    put(table::entry_offset(0) + entry::NAME, first.as_bytes());
    put(table::entry_offset(0) + entry::OFFSET, &data.to_le_bytes());
    put(table::entry_offset(0) + entry::SIZE, &(size - data).to_le_bytes());
    put(data, &cap.to_le_bytes());
    std::fs::write(zeroipc.path(), &bytes).unwrap();

    // A zipc segment cut short.
    let short = schemas::create(&schema);
    let len = std::fs::metadata(short.name.path()).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(short.name.path()).unwrap().set_len(len / 2).unwrap();

    let names = [other.as_str(), zeroipc.as_str(), short.name.as_str()];
    let got = probes.c_raw(&names);
    assert_eq!(got[0], (ZIPC_ERR_PARAMETER, first.to_owned()), "another registry size");
    assert_eq!(got[1], (ZIPC_ERR_KIND, first.to_owned()), "a ZeroIPC-made segment");
    assert_eq!(got[2], (Status::Corrupt as i32, first.to_owned()), "a file shorter than its header says");
    let got = probes.python_raw(&names);
    let class_and = |i: usize, class: &str, word: &str| match &got[i] {
        Some((c, msg)) => assert!(c == class && msg.contains(word), "open_mapped on {}: {c}: {msg}", names[i]),
        None => panic!("open_mapped mapped {}", names[i]),
    };
    class_and(0, "MismatchError", "registry of 128 processes, the schema 64");
    class_and(1, "MismatchError", "no self-description (made by ZeroIPC?)");
    class_and(2, "CorruptError", "its header says");

    // A queue of a mapped segment says it needs libzipc, naming it; the arrays and atomics work.
    let intact = schemas::create(&schema);
    let script = probes.dir.join("needs_library.py");
    std::fs::write(
        &script,
        "import sys\nimport zipc_runtime\nimport telemetry\nseg = telemetry.open_mapped(sys.argv[1])\n\
         assert seg.latest.shape == (8,) and seg.produced.shape == ()\n\
         seg.produced[...] = 41\nassert seg.produced[()] == 41\n\
         try:\n    seg.readings\nexcept zipc_runtime.NeedsLibraryError as e:\n    print(e)\n\
         assert not hasattr(seg, 'no_such_structure')\nassert zipc_runtime._LIB is None\n",
    )
    .unwrap();
    let out = run(
        native::python_command_without_library(&probes.python, &probes.dir, &script).arg(intact.name.as_str()),
        "python",
    );
    assert_ok(&out, "open_mapped on an intact segment");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("'readings' is a Queue: its operations need libzipc"), "{said}");
    let seg = Segment::open(&intact.name).unwrap();
    assert_eq!(Atomic::<u64>::open(&seg, "produced").unwrap().load(), 41, "Python's store reached Rust");
}
