//! Golden (snapshot) tests of everything zipc-schema generates, and of its error messages.
//!
//! Goldens live in `tests/golden/`: `schemas/STEM.{rs,h,py}` (and `schemas/fixtures/...`) for each
//! schema, `runtime/` for `zipc.h` and `zipc_runtime.py`, `invalid/NAME.txt` for the diagnostics
//! of each invalid schema; `libzipc/include/zipc.h`, the header libzipc ships, is `zipc.h` too. After an intended change, regenerate them with
//!
//! ```sh
//! ZIPC_BLESS=1 cargo test -p zipc-tests --test schema_golden
//! ```
//!
//! and review the diff. Schemas that use kinds this runtime does not implement yet have no
//! goldens until those kinds land (the test says which); then this test asks for a bless.

use std::path::{Path, PathBuf};

use zipc::layout::{Kind, ParamValue};
use zipc_schema::{c, python, rust, Arena, Schema};
use zipc_tests::schemas::{self, Status};
use zipc_tests::workspace_root;

fn golden_dir() -> PathBuf {
    workspace_root().join("tests/golden")
}

fn blessing() -> bool {
    std::env::var_os("ZIPC_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with the golden file `rel` (or writes it when blessing). Returns a problem.
fn golden(rel: &Path, actual: &str) -> Option<String> {
    let path = golden_dir().join(rel);
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return None;
    }
    let Ok(expected) = std::fs::read_to_string(&path) else {
        return Some(format!(
            "{}: no golden file; run ZIPC_BLESS=1 cargo test -p zipc-tests --test schema_golden",
            path.display()
        ));
    };
    if expected == actual {
        return None;
    }
    let line = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(expected.lines().count().min(actual.lines().count()));
    Some(format!(
        "{} differs from the generated output at line {}:\n  golden:    {:?}\n  generated: {:?}\n(if the change is intended: ZIPC_BLESS=1 cargo test -p zipc-tests --test schema_golden)",
        path.display(),
        line + 1,
        expected.lines().nth(line).unwrap_or("<end of file>"),
        actual.lines().nth(line).unwrap_or("<end of file>")
    ))
}

#[test]
fn generated_code_matches_goldens() {
    let arena = Arena::new();
    let mut problems = Vec::new();
    let mut valid = 0;
    for file in schemas::schema_files() {
        let rel = schemas::relative(&file);
        match schemas::load(&file, &arena) {
            Status::Valid(s) => {
                valid += 1;
                let base = Path::new(&rel).with_extension("");
                for (ext, text) in [("rs", rust::generate(&s)), ("h", c::generate(&s)), ("py", python::generate(&s))] {
                    problems.extend(golden(&base.with_extension(ext), &text));
                }
            }
            Status::Pending(kinds) => {
                let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                eprintln!(
                    "note: {rel} uses kinds this runtime lacks ({}): no goldens until they land",
                    names.join(", ")
                );
            }
        }
    }
    assert!(valid >= 5, "every fixture under schemas/fixtures is valid ({valid} valid schemas)");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn runtime_files_match_goldens() {
    let problems: Vec<String> = [
        golden(Path::new("runtime").join(c::RUNTIME_HEADER).as_path(), &c::runtime_header()),
        golden(Path::new("runtime").join(python::RUNTIME_MODULE).as_path(), &python::runtime_module()),
        // libzipc's own copy of its header, for users of the library without zipc-schema.
        golden(Path::new("../../libzipc/include/zipc.h"), &c::runtime_header()),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The `line:column` positions an invalid fixture's first line promises: `# expect: 3:8, 9:12`.
fn expected_positions(source: &str) -> Vec<(usize, usize)> {
    let first = source.lines().next().unwrap_or("");
    let list = first
        .strip_prefix("# expect:")
        .unwrap_or_else(|| panic!("first line must be `# expect: L:C, ...`, found {first:?}"));
    list.split(',')
        .map(|p| {
            let (l, c) = p.trim().split_once(':').expect("L:C");
            (l.parse().unwrap(), c.parse().unwrap())
        })
        .collect()
}

#[test]
fn invalid_schemas_report_exact_positions_and_messages() {
    let dir = workspace_root().join("schemas/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "one invalid fixture per rule");
    let mut problems = Vec::new();
    for file in files {
        let rel = schemas::relative(&file);
        let source = std::fs::read_to_string(&file).unwrap();
        let arena = Arena::new();
        let diags = match Schema::parse(&rel, &source, &arena) {
            Ok(_) => {
                problems.push(format!("{rel}: accepted, but it is an invalid fixture"));
                continue;
            }
            Err(d) => d,
        };
        let positions: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.column)).collect();
        let expected = expected_positions(&source);
        if positions != expected {
            problems.push(format!("{rel}: errors at {positions:?}, expected {expected:?}:\n{diags}"));
        }
        for d in diags.iter() {
            assert!(d.to_string().starts_with(&format!("{rel}:{}:{}: error: ", d.line, d.column)), "{d}");
        }
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        problems.extend(golden(&Path::new("invalid").join(format!("{name}.txt")), &format!("{diags}\n")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Every kind of the format is implemented by the runtime and accepted by the schema with its
/// required parameters (the smallest valid values).
#[test]
fn every_kind_is_implemented_and_accepted() {
    for kind in Kind::ALL {
        let mut src = format!("[[structures]]\nname = \"s\"\nkind = \"{}\"\n", kind.name().to_lowercase());
        if kind.has_element() {
            src.push_str("type = \"u64\"\n");
        }
        for p in kind.parameters().iter().filter(|p| p.required) {
            let v = match p.value {
                // 2: the smallest capacity every kind takes (queues need a power of two >= 2).
                ParamValue::Unsigned { min } => min.max(2).to_string(),
                ParamValue::Signed => "0".into(),
                ParamValue::Bool { .. } => "true".into(),
                ParamValue::Choice(o) => format!("\"{}\"", o[0].0),
            };
            src.push_str(&format!("{} = {v}\n", p.name));
        }
        let arena = Arena::new();
        let s = Schema::parse("k.toml", &src, &arena).unwrap_or_else(|d| panic!("{kind} is refused:\n{d}\n{src}"));
        assert_eq!(s.layout.structures[0].kind, kind);
        assert!(s.layout.structures[0].region().is_ok(), "{kind}");
        assert!(zipc_schema::implemented_kinds().contains(&kind.name()));
    }
}

/// The element layouts Rust computes for its own types (`offset_of!`, `size_of!` and each
/// field's `SHM_LAYOUT`, as `#[derive(ShmType)]` does) have the fingerprints the TOML model
/// computes, for every structure of every schema.
#[test]
fn rust_types_and_toml_schemas_have_identical_fingerprints() {
    let arena = Arena::new();
    let mut compared = 0;
    for file in schemas::schema_files() {
        let Status::Valid(schema) = schemas::load(&file, &arena) else { continue };
        let (_, rust_fingerprints) = schemas::rust_side(&schema.stem).expect("generated for every valid schema");
        let rust = rust_fingerprints();
        assert_eq!(rust.len(), schema.layout.structures.len());
        for ((name, fp), s) in rust.iter().zip(schema.layout.structures) {
            assert_eq!(*name, s.name);
            assert_eq!(*fp, s.elem.as_ref().map(zipc::layout::fingerprint), "{}: {name}", schema.stem);
            compared += usize::from(fp.is_some());
        }
    }
    assert!(compared >= 25, "{compared} element types compared");
}
