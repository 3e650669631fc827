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
//! and review the diff.

use std::path::{Path, PathBuf};

use zipc::layout::{Kind, ParamValue};
use zipc_schema::{c, python, rust, Arena, Schema};
use zipc_tests::schemas;
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
    let files = schemas::schema_files();
    // The tutorial's five systems and the five type fixtures: every one is valid and has goldens.
    assert!(files.len() >= 10, "schemas/ and schemas/fixtures hold {} schemas", files.len());
    let mut expected = Vec::new();
    for file in &files {
        let rel = schemas::relative(file);
        let s = schemas::load(file, &arena);
        let base = Path::new(&rel).with_extension("");
        for (ext, text) in [("rs", rust::generate(&s)), ("h", c::generate(&s)), ("py", python::generate(&s))] {
            problems.extend(golden(&base.with_extension(ext), &text));
            expected.push(golden_dir().join(base.with_extension(ext)));
        }
    }
    // No golden is left over from a schema that no longer exists.
    for dir in ["schemas", "schemas/fixtures"] {
        for entry in std::fs::read_dir(golden_dir().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && !expected.contains(&path) {
                problems.push(format!("{}: a golden without a schema; delete it", path.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn runtime_files_match_goldens() {
    let problems: Vec<String> = [
        golden(Path::new("runtime").join(python::RUNTIME_MODULE).as_path(), &python::runtime_module()),
        // zipc.h's golden is the copy libzipc ships, for users of the library without zipc-schema.
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
        // A map names its types with `key` and `value`, a set with `key`, every other kind with
        // `type`.
        match kind {
            Kind::Map => src.push_str("key = \"u64\"\nvalue = \"u32\"\n"),
            Kind::Set => src.push_str("key = \"u64\"\n"),
            _ if kind.has_element() => src.push_str("type = \"u64\"\n"),
            _ => {}
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
    }
}

/// The Rust generated from each TOML schema (by `zipc_schema::Builder`, included with
/// `zipc::include_schema!`, expanded by the derives) describes exactly the segment the TOML model
/// describes: the same `LAYOUT`, structure by structure (names, kinds, element layouts and
/// fingerprints, parameters, docs), and the same `SIZE`, computed at compile time.
#[test]
fn generated_rust_has_the_toml_models_layout_and_size() {
    let arena = Arena::new();
    let files = schemas::schema_files();
    let mut fingerprints = 0;
    for file in &files {
        let schema = schemas::load(file, &arena);
        let side = schemas::rust_side(&schema.stem).expect("generated for every schema");
        let differences = schemas::layout_differences(&side.layout, &schema.layout);
        assert!(differences.is_empty(), "{}:\n{}", schema.stem, differences.join("\n"));
        assert_eq!(side.size, schema.size, "{}: SIZE", schema.stem);
        fingerprints += schema.layout.structures.iter().filter(|s| s.elem.is_some()).count();
    }
    assert_eq!(schemas::rust_sides().len(), files.len(), "one generated segment per schema");
    assert!(fingerprints >= 30, "{fingerprints} element types compared");
}
