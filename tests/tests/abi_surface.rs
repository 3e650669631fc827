//! The C ABI's two descriptions agree, both ways: every function of `zipc::ffi::functions()` (the
//! table the `abi!` macro records as it defines them in `zipc/src/ffi/`) has a prototype in
//! `zipc-schema/src/zipc.h.in` with the same return and parameter types, and every `zipc_*`
//! prototype there is a function of the table. Adding a C function is then two edits that this
//! test holds together: its `abi!` item in `zipc/src/ffi/NAME.rs` and its prototype in the header
//! template (`tests/tests/abi.rs` checks the generated `zipc.h` against the built library).

use std::collections::BTreeMap;

use zipc::ffi::{functions, Signature};
use zipc_tests::header::{normalise, prototypes, Prototype};
use zipc_tests::workspace_root;

/// The prototypes of `zipc-schema/src/zipc.h.in`, by name (a name declared twice fails).
fn template() -> BTreeMap<String, Prototype> {
    let path = workspace_root().join("zipc-schema/src/zipc.h.in");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // A line that is only a placeholder (`@SIZES@`, `@CONSTANTS@`) becomes definitions when
    // `zipc_schema::c::runtime_header` fills it in, never a prototype.
    let placeholder = |l: &str| {
        let l = l.trim();
        l.len() > 2 && l.starts_with('@') && l.ends_with('@') && !l[1..l.len() - 1].contains('@')
    };
    let text: String = text.lines().filter(|l| !placeholder(l)).map(|l| format!("{l}\n")).collect();
    let mut out = BTreeMap::new();
    for p in prototypes(&text) {
        let name = p.name.clone();
        assert!(out.insert(name.clone(), p).is_none(), "zipc.h.in declares {name} twice");
    }
    assert!(out.len() >= 100, "the parser found the prototypes of zipc.h.in ({})", out.len());
    out
}

/// The table, by name (a name recorded twice fails).
fn table() -> BTreeMap<&'static str, &'static Signature> {
    let mut out = BTreeMap::new();
    for f in functions() {
        assert!(out.insert(f.name, f).is_none(), "zipc::ffi::functions() records {} twice", f.name);
    }
    out
}

#[test]
fn the_table_spells_c_types_as_the_header_does() {
    for f in functions() {
        assert!(f.name.starts_with("zipc_"), "{f}: a C function of the ABI is named zipc_*");
        assert_eq!(f.params.len(), f.param_names.len(), "{f}");
        for t in std::iter::once(&f.ret).chain(&f.params) {
            assert_eq!(&normalise(t), t, "{f}: the table spells {t:?} in one canonical way");
        }
    }
}

#[test]
fn every_function_of_the_table_has_a_prototype_with_its_types() {
    let header = template();
    let mut problems = Vec::new();
    for f in functions() {
        match header.get(f.name) {
            None => problems.push(format!("{f}: no prototype in zipc.h.in")),
            Some(p) if p.ret != f.ret || p.params != f.params => problems
                .push(format!("{}: zipc.h.in declares {} ({:?}), zipc/src/ffi defines {f}", f.name, p.ret, p.params)),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "the table and zipc.h.in differ:\n{}", problems.join("\n"));
}

#[test]
fn every_prototype_of_the_header_is_a_function_of_the_table() {
    let table = table();
    let missing: Vec<String> = template()
        .into_values()
        .filter(|p| !table.contains_key(p.name.as_str()))
        .map(|p| format!("{} {}({})", p.ret, p.name, p.params.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "zipc.h.in declares functions that zipc::ffi does not define (no abi! item):\n{}",
        missing.join("\n")
    );
}
