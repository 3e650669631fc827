//! Every kind is registered everywhere a kind must be (docs/ARCHITECTURE.md, "Adding a kind").
//!
//! A kind is declared once, in `zipc/src/layout/kinds/` (its format and the one list that makes
//! [`Kind`]); the Rust consumers then fail to compile until they handle it (every `match` over
//! `Kind` or `State` names every kind). What a compiler cannot see is checked here, for every
//! [`Kind::ALL`]: the TOML fixture that declares one of each, the C header the generator writes
//! and libzipc's own header, the Python module, the byte-level C ABI, and `inspect`. The derive
//! is checked by `tests/tests/ui/pass/every_kind.rs`, the fuzz seeds by `zipc::fuzzing`'s own test
//! (every seed holds every kind).

use std::collections::BTreeSet;

use zipc::inspect::State;
use zipc::layout::Kind;
use zipc_tests::schemas;

fn all_kinds_file() -> std::path::PathBuf {
    zipc_tests::workspace_root().join("schemas/fixtures/all_kinds.toml")
}

fn lower(kind: Kind) -> String {
    kind.name().to_ascii_lowercase()
}

#[test]
fn the_all_kinds_schema_declares_every_kind() {
    let arena = zipc_schema::Arena::new();
    let schema = schemas::load(&all_kinds_file(), &arena);
    let declared: BTreeSet<u32> = schema.layout.structures.iter().map(|s| s.kind.code()).collect();
    let all: BTreeSet<u32> = Kind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(declared, all, "schemas/fixtures/all_kinds.toml must declare one structure of every kind");
}

#[test]
fn every_kind_has_c_wrappers_and_abi_functions() {
    let arena = zipc_schema::Arena::new();
    let schema = schemas::load(&all_kinds_file(), &arena);
    let header = zipc_schema::c::generate(&schema);
    for s in schema.layout.structures {
        let opener = format!("{}_{}_open(", schema.stem, s.name);
        assert!(header.contains(&opener), "the generated C header has no {opener}..) for {} {:?}", s.kind, s.name);
    }
    let runtime = zipc_schema::c::runtime_header();
    for kind in Kind::ALL {
        let open = format!("zipc_{}_open(", lower(kind));
        assert!(runtime.contains(&open), "zipc.h declares no {open}..): libzipc cannot open a {kind}");
        let code = format!("ZIPC_KIND_{}", kind.name().to_ascii_uppercase());
        assert!(runtime.contains(&code), "zipc.h defines no {code}");
    }
}

#[test]
fn every_kind_has_a_python_class() {
    let runtime = zipc_schema::python::runtime_module();
    // The kind → opener table: `KIND_X: name,` lines between `_KINDS = {` and `}`.
    let table = runtime.split_once("\n_KINDS = {\n").and_then(|(_, t)| t.split_once("\n}")).map(|(t, _)| t);
    let table = table.expect("the Python runtime has no _KINDS table");
    for kind in Kind::ALL {
        let code = format!("KIND_{}", kind.name().to_ascii_uppercase());
        assert!(runtime.contains(&format!("{code} = {}", kind.code())), "the Python runtime defines no {code}");
        // Every kind opens through `_KINDS`: a class (`Queue`) or a function (`_array_view`).
        let opener = table
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{code}: ")))
            .map(|name| name.trim_end_matches(','))
            .unwrap_or_else(|| panic!("_KINDS has no {code}: the Python runtime does not open a {kind}"));
        assert!(
            runtime.contains(&format!("\nclass {opener}(")) || runtime.contains(&format!("\ndef {opener}(")),
            "_KINDS opens a {kind} with {opener}, which the Python runtime does not define"
        );
    }
}

#[test]
fn inspect_reads_every_kind() {
    let arena = zipc_schema::Arena::new();
    let schema = schemas::load(&all_kinds_file(), &arena);
    let seg = schemas::create(&schema);
    let snap = zipc::inspect::inspect(seg.name.as_str()).unwrap();
    let mut seen = BTreeSet::new();
    for e in &snap.entries {
        let kind = e.kind().expect("a zipc segment describes every entry");
        let state: &State = e.state.as_ref().unwrap_or_else(|| panic!("no live state for {kind} {:?}", e.name));
        assert_eq!(state.kind(), kind, "{:?}: the state of another kind", e.name);
        assert!(e.problems.is_empty(), "{:?}: {:?}", e.name, e.problems);
        seen.insert(kind.code());
    }
    assert_eq!(seen.len(), Kind::ALL.len(), "inspected kinds: {seen:?}");
    let (report, json) = (snap.to_string(), snap.to_json());
    for kind in Kind::ALL {
        assert!(report.contains(kind.name()), "the report shows no {kind}");
        assert!(json.contains(&format!("\"kind\": \"{}\"", lower(kind))), "the JSON shows no {kind}");
    }
}

#[test]
fn every_kind_has_a_format_module() {
    for kind in Kind::ALL {
        assert_eq!(Kind::from_code(kind.code()), Some(kind));
        assert_eq!(Kind::from_name(&lower(kind)), Some(kind));
        let spec = kind.spec();
        assert!(!spec.name.is_empty() && (spec.article == "a" || spec.article == "an"), "{kind}: {spec:?}");
        let file = zipc_tests::workspace_root().join(format!("zipc/src/layout/kinds/{}.rs", lower(kind)));
        assert!(file.exists(), "{kind}'s format module {} is missing", file.display());
    }
    assert_eq!(Kind::from_code(0), None);
    assert_eq!(Kind::from_code(Kind::ALL.len() as u32 + 1), None, "codes are 1..=N");
}
