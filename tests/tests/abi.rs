//! `zipc.h` against libzipc: the header declares exactly the functions the library exports, with
//! the parameter and return types of their Rust definitions (`zipc/src/ffi/`); a C program
//! calling every declared function compiles with `-Wall -Wextra -Werror` as C11 and C++17, links
//! against both `libzipc.so` and `libzipc.a`, and runs: every call with NULL handles is refused
//! with `ZIPC_ERR_NULL` (or its documented neutral value), without a crash.
//! `libzipc/include/zipc.h` is the header `zipc-schema` generates.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::Command;

use zipc_schema::c;
use zipc_tests::native::{check, compile_c, libzipc_dir, run, scratch, Link};
use zipc_tests::workspace_root;

/// A C function signature: return type and parameter types, normalised (`const char *`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Signature {
    ret: String,
    params: Vec<String>,
}

/// `const  zipc_queue*` → `const zipc_queue *`.
fn normalise(t: &str) -> String {
    let t = t.replace('*', " * ");
    let words: Vec<&str> = t.split_whitespace().collect();
    words.join(" ").replace("* *", "**")
}

/// The function declarations of a header (not its inline definitions), by name.
fn header_functions(header: &str) -> BTreeMap<String, (Signature, Vec<String>)> {
    // Drop comments and preprocessor lines, then read `TYPE NAME(PARAMS);` statements.
    let mut text = String::new();
    let mut rest = header;
    while let Some(at) = rest.find("/*") {
        text.push_str(&rest[..at]);
        rest = &rest[at + rest[at..].find("*/").expect("closed comment") + 2..];
    }
    text.push_str(rest);
    let text: String = text.lines().filter(|l| !l.trim_start().starts_with('#')).map(|l| format!("{l}\n")).collect();
    let mut out = BTreeMap::new();
    for stmt in text.split(';') {
        let stmt = stmt.trim();
        let Some(open) = stmt.find('(') else { continue };
        if stmt.contains(['{', '}', '=']) || !stmt.ends_with(')') {
            continue;
        }
        let head = &stmt[..open];
        let Some(name_at) = head.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map(|i| i + 1).or(Some(0)) else {
            continue;
        };
        let name = head[name_at..].trim();
        if !name.starts_with("zipc_") {
            continue;
        }
        let ret = normalise(&head[..name_at]);
        let params_text = &stmt[open + 1..stmt.len() - 1];
        let mut params = Vec::new();
        let mut names = Vec::new();
        if params_text.trim() != "void" {
            for p in params_text.split(',') {
                let p = p.trim();
                let cut = p.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
                params.push(normalise(&p[..cut]));
                names.push(p[cut..].to_owned());
            }
        }
        out.insert(name.to_owned(), (Signature { ret, params }, names));
    }
    out
}

/// The C type of a Rust parameter or return type of `zipc/src/ffi/`.
fn c_type(rust: &str) -> String {
    let rust = rust.trim();
    if let Some(inner) = rust.strip_prefix("*const ") {
        return normalise(&format!("const {} *", c_type(inner)));
    }
    if let Some(inner) = rust.strip_prefix("*mut ") {
        return normalise(&format!("{} *", c_type(inner)));
    }
    let handles = [
        ("SegmentHandle", "zipc_segment"),
        ("QueueHandle", "zipc_queue"),
        ("ProducerHandle", "zipc_producer"),
        ("ConsumerHandle", "zipc_consumer"),
        ("EndpointHandle", "zipc_endpoint"),
        ("SideHandle", "zipc_endpoint_side"),
        ("RingHandle", "zipc_ring"),
        ("RingProducerHandle", "zipc_ring_producer"),
        ("RingConsumerHandle", "zipc_ring_consumer"),
        ("PoolHandle", "zipc_pool"),
        ("ArrayHandle", "zipc_array"),
        ("AtomicHandle", "zipc_atomic"),
        ("SemaphoreHandle", "zipc_semaphore"),
        ("BarrierHandle", "zipc_barrier"),
        ("LatchHandle", "zipc_latch"),
        ("MutexHandle", "zipc_mutex"),
        ("EventHandle", "zipc_event"),
        ("Entry", "zipc_entry"),
        ("Decl", "zipc_decl"),
        ("Handle", "zipc_handle"),
        ("Status", "zipc_status"),
        ("c_char", "char"),
        ("c_void", "void"),
        ("c_int", "int"),
        ("u32", "uint32_t"),
        ("u64", "uint64_t"),
        ("i64", "int64_t"),
        ("usize", "size_t"),
    ];
    handles
        .iter()
        .find(|(r, _)| *r == rust)
        .map(|(_, c)| (*c).to_owned())
        .unwrap_or_else(|| panic!("zipc/src/ffi uses type {rust:?}, which this test does not map to C"))
}

/// The exported functions of `zipc/src/ffi/`, by name, with their C signatures.
fn rust_functions() -> BTreeMap<String, Signature> {
    // One file per kind of handle in zipc/src/ffi/.
    let dir = workspace_root().join("zipc/src/ffi");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("read zipc/src/ffi").map(|e| e.unwrap().path()).collect();
    files.sort();
    let src: String = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs") && !f.ends_with("tests.rs"))
        .map(|f| std::fs::read_to_string(f).expect("read an ffi file"))
        .collect();
    let mut out = BTreeMap::new();
    for marker in ["pub extern \"C\" fn ", "pub unsafe extern \"C\" fn "] {
        let mut rest = src.as_str();
        while let Some(at) = rest.find(marker) {
            rest = &rest[at + marker.len()..];
            let open = rest.find('(').unwrap();
            let name = rest[..open].trim();
            let close = rest.find(')').unwrap();
            let brace = rest.find('{').unwrap();
            if name.starts_with('$') {
                continue; // inside macro_rules: see `opener!` below
            }
            let params: Vec<String> = rest[open + 1..close]
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| c_type(p.split_once(':').expect("name: type").1))
                .collect();
            let ret = rest[close + 1..brace].trim().strip_prefix("->").map_or("void".to_owned(), c_type);
            out.insert(name.to_owned(), Signature { ret, params });
        }
    }
    // opener!(/// doc \n open, close, Handle, Type): the sync primitives' open and close.
    let mut rest = src.as_str();
    while let Some(at) = rest.find("\nopener!(") {
        rest = &rest[at + 9..];
        let body = &rest[..rest.find(");").unwrap()];
        let code: String = body.lines().filter(|l| !l.trim_start().starts_with("///")).collect();
        let idents: Vec<&str> = code.split(',').map(str::trim).collect();
        let handle = c_type(idents[2]);
        out.insert(
            idents[0].to_owned(),
            Signature {
                ret: "zipc_status".to_owned(),
                params: vec![
                    "const zipc_segment *".to_owned(),
                    "const char *".to_owned(),
                    normalise(&format!("{handle} **")),
                ],
            },
        );
        out.insert(
            idents[1].to_owned(),
            Signature { ret: "void".to_owned(), params: vec![normalise(&format!("{handle} *"))] },
        );
    }
    out
}

/// `zipc_*` functions exported by `libzipc.so`.
fn exported() -> BTreeSet<String> {
    let lib = libzipc_dir().join("libzipc.so");
    let out = run(Command::new("nm").args(["-D", "--defined-only"]).arg(&lib), "nm");
    check(&out, "nm -D libzipc.so");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[1] == "T" && f[2].starts_with("zipc_")).then(|| f[2].to_owned())
        })
        .collect()
}

#[test]
fn the_header_declares_exactly_what_the_library_exports_with_the_rust_signatures() {
    let header = c::runtime_header();
    let declared = header_functions(&header);
    let rust = rust_functions();
    let exports = exported();
    assert!(declared.len() >= 100, "the parser found the declarations ({})", declared.len());

    let names = |m: &BTreeMap<String, _>| m.keys().cloned().collect::<BTreeSet<String>>();
    let d = declared.keys().cloned().collect::<BTreeSet<String>>();
    assert_eq!(d, exports, "zipc.h declares exactly the library's exports");
    assert_eq!(names(&rust), exports, "zipc/src/ffi defines exactly the library's exports");
    let mut differ = Vec::new();
    for (name, (sig, _)) in &declared {
        if rust.get(name) != Some(sig) {
            differ.push(format!("{name}: zipc.h {sig:?}, zipc/src/ffi {:?}", rust.get(name)));
        }
    }
    assert!(differ.is_empty(), "signatures differ:\n{}", differ.join("\n"));

    // The checked-in copy for library users is the generated header.
    let shipped =
        std::fs::read_to_string(workspace_root().join("libzipc/include/zipc.h")).expect("libzipc/include/zipc.h");
    assert!(shipped == header, "libzipc/include/zipc.h is stale: regenerate it with ZIPC_BLESS=1 cargo test -p zipc-tests --test schema_golden");
}

/// A C program calling every function of the header with NULL handles (and zeros).
fn call_everything(declared: &BTreeMap<String, (Signature, Vec<String>)>) -> String {
    let mut o = String::from(
        "#include \"zipc.h\"\n#include <stdio.h>\n#include <string.h>\n\nint main(void) {\n    int failures = 0, calls = 0;\n    zipc_handle h0 = {0, 0};\n    (void)h0;\n",
    );
    for (name, (sig, _)) in declared {
        let args: Vec<&str> = sig
            .params
            .iter()
            .map(|p| {
                if p.contains('*') {
                    "NULL"
                } else if p == "zipc_handle" {
                    "h0"
                } else {
                    "0"
                }
            })
            .collect();
        let call = format!("{name}({})", args.join(", "));
        let takes_pointer = sig.params.iter().any(|p| p.contains('*'));
        let check = match (sig.ret.as_str(), takes_pointer) {
            ("void", _) => format!("    {call};\n"),
            ("zipc_status", true) => {
                format!("    if ({call} != ZIPC_ERR_NULL) {{ printf(\"{name}\\n\"); failures++; }}\n")
            }
            (r, true) if r.contains('*') => {
                format!("    if ({call} != NULL) {{ printf(\"{name}\\n\"); failures++; }}\n")
            }
            (_, true) => format!("    if ({call} != 0) {{ printf(\"{name}\\n\"); failures++; }}\n"),
            (r, false) if r.contains('*') => {
                format!("    if ({call} == NULL) {{ printf(\"{name}\\n\"); failures++; }}\n")
            }
            (_, false) => format!("    (void){call};\n"),
        };
        o.push_str(&check);
        o.push_str("    calls++;\n");
    }
    o.push_str(
        r#"    if (zipc_abi_version() != ZIPC_ABI_VERSION) { printf("abi version\n"); failures++; }
    if (zipc_last_status() != ZIPC_ERR_NULL || strstr(zipc_last_error(), "NULL") == NULL) { printf("last error\n"); failures++; }
    if (strcmp(zipc_status_name(ZIPC_ERR_TIMEOUT), "ZIPC_ERR_TIMEOUT") != 0) { printf("status name\n"); failures++; }
    if (!zipc_fnv1a64_selftest()) { printf("fnv\n"); failures++; }
    printf("calls %d failures %d\n", calls, failures);
    return failures != 0;
}
"#,
    );
    o
}

#[test]
fn a_program_calling_every_function_builds_as_c_and_cpp_and_runs_against_both_libraries() {
    let header = c::runtime_header();
    let declared = header_functions(&header);
    let dir = scratch("abi");
    std::fs::write(dir.join("zipc.h"), &header).unwrap();
    let program = call_everything(&declared);
    let expected = format!("calls {} failures 0", declared.len());
    for link in [Link::Shared, Link::Static] {
        let exe = compile_c(&dir, &format!("every_{link:?}").to_lowercase(), &program, link);
        let out = run(&mut Command::new(&exe), "the ABI program");
        check(&out, &format!("the ABI program ({link:?})"));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected, "{link:?}");
    }
    // The same program as C++17.
    let cpp = dir.join("every.cpp");
    std::fs::write(&cpp, &program).unwrap();
    let lib = libzipc_dir();
    let mut cmd = Command::new("g++");
    cmd.args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(&dir)
        .arg("-o")
        .arg(dir.join("every_cpp"))
        .arg(&cpp)
        .arg("-L")
        .arg(&lib)
        .arg("-lzipc")
        .arg(format!("-Wl,--disable-new-dtags,-rpath,{}", lib.display()));
    check(&run(&mut cmd, "g++"), "the ABI program as C++17");
    let out = run(&mut Command::new(dir.join("every_cpp")), "the C++ ABI program");
    check(&out, "the C++ ABI program");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
    let mut listing = String::new();
    for name in declared.keys() {
        let _ = writeln!(listing, "{name}");
    }
    assert!(listing.contains("zipc_queue_open\n") && listing.contains("zipc_mutex_unlock\n"), "{listing}");
    let _ = std::fs::remove_dir_all(&dir);
}
