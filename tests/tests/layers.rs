//! The runtime's layers (docs/ARCHITECTURE.md, "Layers"), checked on its source: every module of
//! `zipc/src` imports only the layers its folder may import, so no import points up and no circle
//! crosses a layer folder; inside `structures`, a kind imports no other kind (an endpoint is two
//! queues) and only `inspect` reads the list of every kind's state; and no source file grows past
//! the length at which it should have been split.
//!
//! Imports are read from the source text: every `crate::a::b` path outside comments, `use crate::{..}`
//! groups, and `super::` paths, each resolved to the longest module prefix that is a file. A name
//! that `lib.rs` re-exports at the crate root (`crate::Segment`) resolves to the module it comes
//! from, so a root re-export cannot hide an upward import.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What each top-level module (a layer, or a part of one) may import besides itself.
const ALLOWED: &[(&str, &[&str])] = &[
    ("layout", &[]),
    ("error", &["layout"]),
    ("shm_type", &["layout"]),
    ("sys", &["error"]),
    ("segment", &["layout", "error", "sys"]),
    ("structures", &["layout", "error", "shm_type", "sys", "segment"]),
    ("inspect", &["layout", "error", "sys", "segment", "structures"]),
    ("dynamic", &["layout", "error", "shm_type", "sys", "segment", "structures"]),
    ("derive_support", &["layout", "error", "shm_type", "segment", "structures"]),
    ("ffi", &["layout", "error", "shm_type", "sys", "segment", "structures", "dynamic"]),
    ("fuzzing", &["layout", "error", "shm_type", "sys", "segment", "structures", "inspect", "dynamic", "ffi"]),
];

/// Modules of `structures` that are not kinds: the `Structure` trait (the folder's `mod.rs`), the
/// rendering vocabulary every kind uses, and the list of every kind's state (for `inspect`).
const STRUCTURES_SHARED: &[&str] = &["structures", "structures::render", "structures::state", "structures::sync"];

/// Kinds that may import another kind, and which.
const KIND_EXCEPTIONS: &[(&str, &str)] = &[
    ("structures::endpoint", "structures::queue"),
    ("structures::set", "structures::map"),
    // A condvar's wait unlocks and relocks the mutex it is paired with.
    ("structures::sync::condvar", "structures::sync::mutex"),
    // A future is a once with a value: the same header and protocol.
    ("structures::future", "structures::sync::once"),
];

/// The longest a source file of `zipc/src` may be.
const MAX_LINES: usize = 1000;

fn src_dir() -> PathBuf {
    zipc_tests::workspace_root().join("zipc/src")
}

/// Module path (`structures::queue::raw`, `` for lib.rs) → file.
fn modules(root: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
                if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
                    parts.pop();
                }
                out.insert(parts.join("::"), p);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Code without comments (line comments, doc comments) and string literals.
fn code_of(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    for line in src.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_str {
                if c == '"' && prev != '\\' {
                    in_str = false;
                }
                prev = if prev == '\\' && c == '\\' { ' ' } else { c };
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_str = true;
                prev = ' ';
                continue;
            }
            out.push(c);
        }
        out.push('\n');
    }
    out
}

/// The paths a module's code names: `crate::...`, `use crate::{...}` groups, `super::...`.
fn paths(module: &str, code: &str) -> Vec<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut found = Vec::new();
    // `crate::a::b` and `crate::a::{b, c::d}`.
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `$crate::`, `zipc_crate::`
        }
        let rest = &code[at + "crate::".len()..];
        let end = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
        let base = rest[..end].trim_end_matches(':');
        if rest[end..].starts_with('{') || (base.is_empty() && rest.starts_with('{')) {
            let close = rest.find('}').unwrap_or(rest.len());
            let group = &rest[end + 1..close];
            for item in group.split(',') {
                let item = item.split_whitespace().next().unwrap_or("");
                let item = item.trim_start_matches('{').trim_end_matches("::*");
                if !item.is_empty() && item != "self" {
                    found.push(if base.is_empty() { item.to_owned() } else { format!("{base}::{item}") });
                }
            }
        }
        if !base.is_empty() {
            found.push(base.to_owned());
        }
    }
    // `super::x`: relative to the parent module.
    let parent: Vec<&str> = {
        let mut p: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
        p.pop();
        p
    };
    for (at, _) in code.match_indices("super::") {
        if at > 0 && code[..at].ends_with("::") {
            continue; // `super::super::` is handled from its first `super`
        }
        let rest = &code[at + "super::".len()..];
        let end = rest.find(|c: char| !ident(c)).unwrap_or(rest.len());
        let mut target: Vec<&str> = parent.clone();
        let mut tail = rest[..end].trim_end_matches(':');
        while let Some(t) = tail.strip_prefix("super::") {
            target.pop();
            tail = t;
        }
        let joined = target.join("::");
        let path = match (joined.is_empty(), tail.is_empty()) {
            (_, true) => joined,
            (true, false) => tail.to_owned(),
            (false, false) => format!("{joined}::{tail}"),
        };
        found.push(path);
    }
    found
}

/// Names `lib.rs` re-exports at the crate root, with the module path they come from.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let code = code_of(lib);
    for stmt in code.split(';') {
        let stmt = stmt.trim();
        let Some(rest) = stmt.strip_prefix("pub use ") else { continue };
        let rest = rest.trim_start_matches("crate::");
        if let Some((base, group)) = rest.split_once("::{") {
            for item in group.trim_end_matches('}').split(',') {
                let mut words = item.split_whitespace();
                let (Some(name), alias) = (words.next(), words.nth(1)) else { continue };
                out.entry(alias.unwrap_or(name).to_owned()).or_insert(format!("{base}::{name}"));
            }
        } else if let Some((path, alias)) = rest.split_once(" as ") {
            out.entry(alias.trim().to_owned()).or_insert(path.trim().to_owned());
        } else if let Some((base, name)) = rest.rsplit_once("::") {
            out.entry(name.to_owned()).or_insert(format!("{base}::{name}"));
        }
    }
    // The facades of zipc 0.1's module paths (`pub mod table { pub use crate::layout::table::*; }`).
    for (facade, target) in
        [("table", "layout::table"), ("description", "layout::description"), ("lane", "layout::lane")]
    {
        out.insert(facade.to_owned(), target.to_owned());
    }
    out
}

/// The module a path names: its longest prefix that is a module file.
fn resolve(path: &str, mods: &BTreeMap<String, PathBuf>, root: &BTreeMap<String, String>) -> Option<String> {
    let mut path = path.to_owned();
    for _ in 0..4 {
        let first = path.split("::").next().unwrap_or("").to_owned();
        if mods.contains_key(&first) {
            break;
        }
        match root.get(&first) {
            Some(target) => path = format!("{target}{}", &path[first.len()..]),
            None => return None, // a local name, a std path or a macro argument
        }
    }
    let segs: Vec<&str> = path.split("::").collect();
    (1..=segs.len()).rev().map(|n| segs[..n].join("::")).find(|m| mods.contains_key(m))
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

/// The kind a module of `structures` belongs to (`structures::queue` for `structures::queue::raw`),
/// or `None` for the folder's shared modules.
fn kind_of(module: &str) -> Option<String> {
    if top(module) != "structures" || STRUCTURES_SHARED.contains(&module) {
        return None;
    }
    let segs: Vec<&str> = module.split("::").collect();
    let n = if segs.get(1) == Some(&"sync") { 3 } else { 2 };
    (segs.len() >= n).then(|| segs[..n].join("::"))
}

/// Every module's imports, resolved: (importer, imported).
fn imports() -> BTreeSet<(String, String)> {
    let root = src_dir();
    let mods = modules(&root);
    let reexports = root_reexports(&fs::read_to_string(root.join("lib.rs")).unwrap());
    let mut edges = BTreeSet::new();
    for (module, file) in &mods {
        if module.is_empty() {
            continue; // lib.rs declares and re-exports every layer
        }
        let code = code_of(&fs::read_to_string(file).unwrap());
        for p in paths(module, &code) {
            if let Some(target) = resolve(&p, &mods, &reexports) {
                if &target != module && !target.is_empty() {
                    edges.insert((module.clone(), target));
                }
            }
        }
    }
    edges
}

#[test]
fn imports_point_down_the_layers() {
    let edges = imports();
    assert!(edges.len() > 100, "the import reader found too little to check: {}", edges.len());
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, to) in &edges {
        let (a, b) = (top(from), top(to));
        if a == b {
            continue;
        }
        match allowed.get(a) {
            Some(ok) if ok.contains(&b) => {}
            Some(_) => wrong.push(format!("{from} imports {to}: `{a}` may import only {:?}", allowed[a])),
            None => wrong.push(format!("{from} is in no layer: add `{a}` to ALLOWED and to docs/ARCHITECTURE.md")),
        }
    }
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

#[test]
fn kinds_stand_alone() {
    let edges = imports();
    let mut wrong = Vec::new();
    for (from, to) in &edges {
        if top(from) != "structures" || top(to) != "structures" {
            continue;
        }
        if to == "structures::state" && from != "structures" {
            wrong.push(format!("{from} imports the list of every kind's state, which only inspect reads"));
        }
        if let (Some(a), Some(b)) = (kind_of(from), kind_of(to)) {
            if a != b && !KIND_EXCEPTIONS.contains(&(a.as_str(), b.as_str())) {
                wrong.push(format!("{from} imports {to}: a kind imports no other kind"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The reader sees what is there: the queue's modules import each other, the endpoint the queue.
    assert!(edges.contains(&("structures::endpoint".to_owned(), "structures::queue".to_owned())));
    assert!(edges.iter().any(|(f, t)| f == "structures::queue::lanes" && t == "structures::queue::recovery"));
}

#[test]
fn the_reader_catches_an_upward_import() {
    let mods = modules(&src_dir());
    let reexports = root_reexports(&fs::read_to_string(src_dir().join("lib.rs")).unwrap());
    let code = code_of("use crate::{Segment, layout::Kind};\n// crate::inspect in a comment\nfn f() { crate::queue::Queue::<u8, crate::Spsc>::declaration(\"crate::dynamic\"); }\nuse super::raw::*;");
    let found: BTreeSet<String> =
        paths("segment::lane", &code).iter().filter_map(|p| resolve(p, &mods, &reexports)).collect();
    // `crate::Segment` and `crate::Spsc` are root re-exports of `segment` and `structures::queue`;
    // `super::raw` from `segment::lane` names no module file, so it is `segment`; the comment and
    // the string are not imports.
    let expected: BTreeSet<String> = ["segment", "layout", "structures::queue"].iter().map(|s| s.to_string()).collect();
    assert_eq!(found, expected);
}

#[test]
fn no_source_file_outgrows_a_split() {
    let long: Vec<String> = modules(&src_dir())
        .values()
        .filter_map(|f| {
            let n = fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these at their seams (docs/ARCHITECTURE.md, \"Layers\"):\n{}", long.join("\n"));
}
