//! For every schema: the generated C header compiles as C11 and C++17 with `-Wall -Wextra
//! -Werror`; a C program (linked with libzipc) and a Python script (loading it) built on the
//! generated code read the values a Rust process wrote into a segment made from the schema, and
//! write values that Rust reads back. Plus: both refuse a segment whose structure differs from
//! their schema, or whose bytes are corrupt.

use std::path::{Path, PathBuf};
use std::process::Command;

use zipc_schema::{c, python, Arena, Schema};
use zipc_tests::native::{self, Link};
use zipc_tests::schemas::{self, Status};
use zipc_tests::{numpy_python, target_dir, ShmName};

/// A scratch directory for generated sources and binaries, unique to this test process.
fn scratch(what: &str, stem: &str) -> PathBuf {
    let dir = target_dir().join("schema-tests").join(format!("{what}-{}", std::process::id())).join(stem);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    out
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

/// Writes the C header and runtime for `schema` into `dir`; checks the header alone compiles as
/// C++17 and builds the C11 program `prog.c` into `dir/prog`.
fn build_c(schema: &Schema<'_>, dir: &Path, program: &str) -> PathBuf {
    std::fs::write(dir.join(c::RUNTIME_HEADER), c::runtime_header()).unwrap();
    std::fs::write(dir.join(format!("{}.h", schema.stem)), c::generate(schema)).unwrap();
    let cpp = dir.join("header_only.cpp");
    std::fs::write(
        &cpp,
        format!("#include \"{}.h\"\nint main() {{ return zipc_fnv1a64_selftest() ? 0 : 1; }}\n", schema.stem),
    )
    .unwrap();
    let out = run(
        Command::new("g++").args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"]).arg(&cpp),
        "g++",
    );
    assert_ok(&out, &format!("compiling {}.h as C++17", schema.stem));
    native::compile_c(dir, "prog", program, Link::Shared)
}

/// Python on `script` with the modules in `dir` and libzipc.
fn python_cmd(py: &Path, dir: &Path) -> Command {
    let mut c = Command::new(py);
    c.env("PYTHONPATH", dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("ZIPC_LIB", native::libzipc_dir().join("libzipc.so"));
    c
}

#[test]
fn c_reads_what_rust_wrote_and_rust_reads_what_c_wrote() {
    let arena = Arena::new();
    let mut tested = 0;
    for file in schemas::schema_files() {
        let Status::Valid(schema) = schemas::load(&file, &arena) else { continue };
        let from_rust = schemas::plan(&schema, 1);
        let from_c = schemas::plan(&schema, 2);
        let dir = scratch("c", &schema.stem);
        let exe = build_c(&schema, &dir, &schemas::c_program(&schema, &from_rust, &from_c));

        let seg = schemas::create(&schema);
        schemas::write_plan(&seg, &from_rust);
        assert!(!schemas::check_plan(&seg, &schema, &from_c).is_empty(), "before C runs, its values are not there");
        let out = run(Command::new(&exe).arg(seg.name.as_str()), "C program");
        assert_ok(&out, &format!("the C program of {}", schema.stem));
        let bad = schemas::check_plan(&seg, &schema, &from_c);
        assert!(bad.is_empty(), "{}: Rust read back wrong values written by C:\n{}", schema.stem, bad.join("\n"));
        let _ = std::fs::remove_dir_all(&dir); // kept only when the test fails, for a look
        tested += 1;
    }
    assert!(tested >= 5, "every fixture schema is exercised ({tested})");
}

fn python() -> PathBuf {
    numpy_python().unwrap_or_else(|e| panic!("the Python tests need numpy: {e}"))
}

#[test]
fn python_reads_what_rust_wrote_and_rust_reads_what_python_wrote() {
    let py = python();
    let arena = Arena::new();
    let mut tested = 0;
    for file in schemas::schema_files() {
        let Status::Valid(schema) = schemas::load(&file, &arena) else { continue };
        let from_rust = schemas::plan(&schema, 3);
        let from_py = schemas::plan(&schema, 4);
        let dir = scratch("py", &schema.stem);
        std::fs::write(dir.join(python::RUNTIME_MODULE), python::runtime_module()).unwrap();
        std::fs::write(dir.join(format!("{}.py", schema.stem)), python::generate(&schema)).unwrap();
        let script = dir.join("exchange.py");
        std::fs::write(&script, schemas::python_script(&schema, &from_rust, &from_py)).unwrap();

        let seg = schemas::create(&schema);
        schemas::write_plan(&seg, &from_rust);
        let out = run(python_cmd(&py, &dir).arg(&script).arg(seg.name.as_str()), "python");
        assert_ok(&out, &format!("the Python script of {}", schema.stem));
        let bad = schemas::check_plan(&seg, &schema, &from_py);
        assert!(bad.is_empty(), "{}: Rust read back wrong values written by Python:\n{}", schema.stem, bad.join("\n"));
        let _ = std::fs::remove_dir_all(&dir);
        tested += 1;
    }
    assert!(tested >= 5, "every fixture schema is exercised ({tested})");
}

/// The generated C and Python check the self-description: a segment whose structure has another
/// capacity, or another element layout, than their schema is refused, naming the structure.
#[test]
fn c_and_python_refuse_a_segment_that_differs_from_their_schema() {
    let original = workspace_root_file("schemas/fixtures/full_table.toml");
    let arena = Arena::new();
    let schema = Schema::parse("full_table.toml", &original, &arena).unwrap();
    let variants = [
        ("capacity", original.replace("capacity = 2", "capacity = 3"), "ZIPC_ERR_CAPACITY", "capacity"),
        ("layout", original.replace("type = \"i64\"", "type = \"u64\""), "ZIPC_ERR_LAYOUT", "layout"),
    ];
    let dir = scratch("refuse", "full_table");
    let program = "#include \"full_table.h\"\n#include <stdio.h>\nint main(int argc, char **argv) {\n    zipc_segment *seg = NULL;\n    const char *which = NULL;\n    zipc_status st;\n    if (argc != 2) return 64;\n    st = full_table_segment_open(argv[1], &seg, &which);\n    printf(\"%s %s\\n\", zipc_status_name(st), which ? which : \"-\");\n    if (st != ZIPC_OK) fprintf(stderr, \"%s\\n\", zipc_last_error());\n    zipc_segment_close(seg);\n    return st == ZIPC_OK ? 0 : 1;\n}\n";
    let exe = build_c(&schema, &dir, program);
    std::fs::write(dir.join(python::RUNTIME_MODULE), python::runtime_module()).unwrap();
    std::fs::write(dir.join("full_table.py"), python::generate(&schema)).unwrap();
    let py = python();
    for (what, text, status, word) in variants {
        assert_ne!(text, original, "the variant changes the schema");
        let arena = Arena::new();
        let variant = Schema::parse("full_table.toml", &text, &arena).unwrap();
        let seg = create_primitive_segment(&variant);
        let out = run(Command::new(&exe).arg(seg.as_str()), "C program");
        assert_eq!(out.status.code(), Some(1), "C must refuse the {what} variant");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{status} second"), "{what}");
        let msg = String::from_utf8_lossy(&out.stderr);
        assert!(msg.contains("\"second\"") && msg.contains(word), "{what}: the C message says what differs: {msg}");

        let out = run(
            python_cmd(&py, &dir)
                .args(["-c", "import sys, full_table, zipc_runtime\ntry:\n    full_table.open(sys.argv[1])\nexcept zipc_runtime.MismatchError as e:\n    print(e)\n    sys.exit(1)\n"])
                .arg(seg.as_str()),
            "python",
        );
        let msg = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "Python must refuse the {what} variant: {msg}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(msg.contains("\"second\"") && msg.contains(word), "{what}: {msg}");
    }
    // And the untouched schema opens.
    let seg = create_primitive_segment(&schema);
    let out = run(Command::new(&exe).arg(seg.as_str()), "C program");
    assert_ok(&out, "C on a matching segment");
    let missing = ShmName::new("missing");
    let out = run(Command::new(&exe).arg(missing.as_str()), "C program");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ZIPC_ERR_NOT_FOUND -",
        "a missing segment is ZIPC_ERR_NOT_FOUND"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Creates a segment for a schema whose structures are arrays and atomics of primitives, choosing
/// the Rust type from each declaration (for variants that have no generated Rust types).
fn create_primitive_segment(schema: &Schema<'_>) -> ShmName {
    use zipc::layout::{Kind, Primitive, TypeLayout};
    use zipc::{Array, Atomic, Structure};
    let name = ShmName::new("variant");
    let seg = zipc::SegmentOptions::for_layout(&schema.layout).unwrap().create(&name).unwrap();
    for d in schema.layout.structures {
        let Some(TypeLayout::Primitive(p)) = d.elem else { panic!("primitive elements only") };
        let created = match (d.kind, p) {
            (Kind::Array, Primitive::I64) => Array::<i64>::create_in(&seg, d).map(drop),
            (Kind::Array, Primitive::U64) => Array::<u64>::create_in(&seg, d).map(drop),
            (Kind::Atomic, Primitive::I32) => Atomic::<i32>::create_in(&seg, d).map(drop),
            (Kind::Atomic, Primitive::U32) => Atomic::<u32>::create_in(&seg, d).map(drop),
            other => panic!("not needed here: {other:?}"),
        };
        created.unwrap();
    }
    name
}

fn workspace_root_file(rel: &str) -> String {
    std::fs::read_to_string(zipc_tests::workspace_root().join(rel)).unwrap()
}

/// The generated readers treat segment bytes as untrusted: corrupting a header field, a table
/// entry, a descriptor or an array header gives an error from C (`ZIPC_ERR_CORRUPT`) and Python
/// (`CorruptError`), never a crash or an out-of-bounds pointer.
#[test]
fn c_and_python_refuse_corrupted_segments() {
    use zipc::description::{self, descriptor};
    use zipc::table::{self, entry, header};
    let source = workspace_root_file("schemas/fixtures/full_table.toml");
    let arena = Arena::new();
    let schema = Schema::parse("full_table.toml", &source, &arena).unwrap();
    let dir = scratch("corrupt", "full_table");
    let program = "#include \"full_table.h\"\n#include <stdio.h>\nint main(int argc, char **argv) {\n    zipc_segment *seg = NULL;\n    const char *which = NULL;\n    int64_t *second;\n    uint64_t len;\n    zipc_status st;\n    if (argc != 2) return 64;\n    st = full_table_segment_open(argv[1], &seg, &which);\n    if (st == ZIPC_OK) st = full_table_second(seg, &second, &len);\n    printf(\"%s\\n\", zipc_status_name(st));\n    zipc_segment_close(seg);\n    return st == ZIPC_OK ? 0 : 1;\n}\n";
    let exe = build_c(&schema, &dir, program);
    std::fs::write(dir.join(python::RUNTIME_MODULE), python::runtime_module()).unwrap();
    std::fs::write(dir.join("full_table.py"), python::generate(&schema)).unwrap();
    let py = python();

    let desc_region = schema.placements[0].1.offset;
    let desc = |i: u32, field: u64| {
        desc_region
            + description::descriptors_offset(schema.layout.max_processes)
            + description::DESCRIPTOR_SIZE * u64::from(i)
            + field
    };
    let second = schema.placements[2].1; // entry 2: `second`, the array
    let cases: Vec<(&str, u64, Vec<u8>)> = vec![
        ("header magic", header::MAGIC, 0u32.to_le_bytes().to_vec()),
        ("max_entries beyond the file", header::MAX_ENTRIES, 4000u32.to_le_bytes().to_vec()),
        ("memory_size beyond the file", header::MEMORY_SIZE, (1u64 << 40).to_le_bytes().to_vec()),
        ("entry_count beyond max_entries", header::ENTRY_COUNT, 9u32.to_le_bytes().to_vec()),
        (
            "entry offset beyond the segment",
            table::entry_offset(2) + entry::OFFSET,
            (1u64 << 40).to_le_bytes().to_vec(),
        ),
        ("entry name without NUL", table::entry_offset(2) + entry::NAME, vec![b'x'; 32]),
        ("__zipc magic", desc_region, 0u32.to_le_bytes().to_vec()),
        ("type record length", desc(2, descriptor::TYPE_LEN), u32::MAX.to_le_bytes().to_vec()),
        ("type record offset", desc(2, descriptor::TYPE_OFFSET), (1u64 << 40).to_le_bytes().to_vec()),
        ("fingerprint", desc(2, descriptor::FINGERPRINT), 12345u64.to_le_bytes().to_vec()),
        ("array header capacity", second.offset, (1u64 << 60).to_le_bytes().to_vec()),
    ];
    for (what, at, bytes) in cases {
        let seg = create_primitive_segment(&schema);
        let clean = run(Command::new(&exe).arg(seg.as_str()), "C program");
        assert_ok(&clean, "C on the intact segment");
        zipc_tests::poke(&seg, at, &bytes);

        let out = run(Command::new(&exe).arg(seg.as_str()), "C program");
        assert_eq!(
            out.status.code(),
            Some(1),
            "C must refuse a corrupted {what} (and not crash): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        // Corruption, or a structure that no longer looks like the declared one.
        assert!(
            ["ZIPC_ERR_CORRUPT", "ZIPC_ERR_NOT_FOUND", "ZIPC_ERR_KIND", "ZIPC_ERR_LAYOUT", "ZIPC_ERR_CAPACITY"]
                .contains(&status.as_str()),
            "{what}: status {status}"
        );

        let out = run(
            python_cmd(&py, &dir)
                .args(["-c", "import sys, full_table, zipc_runtime\ntry:\n    full_table.open(sys.argv[1])\nexcept zipc_runtime.ZipcError as e:\n    print(type(e).__name__, e)\n    sys.exit(1)\n"])
                .arg(seg.as_str()),
            "python",
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "Python must refuse a corrupted {what} with a ZipcError: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
