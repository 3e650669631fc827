//! `zipc.h` against libzipc: the header declares exactly the functions the library exports, with
//! the parameter and return types of their Rust definitions (`zipc::ffi::functions()`, the table
//! the `abi!` macro records as it defines them in `zipc/src/ffi/`); a C program calling every
//! declared function compiles with `-Wall -Wextra -Werror` as C11 and C++17, links against both
//! `libzipc.so` and `libzipc.a`, and runs: every call with NULL handles is refused with
//! `ZIPC_ERR_NULL` (or its documented neutral value), without a crash.
//! `libzipc/include/zipc.h` is the header `zipc-schema` generates.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::Command;

use zipc_schema::c;
use zipc_tests::header::{self, normalise};
use zipc_tests::native::{check, compile_c, libzipc_dir, run, scratch, Link};
use zipc_tests::workspace_root;

/// A C function signature: return type and parameter types, normalised (`const char *`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Signature {
    ret: String,
    params: Vec<String>,
}

/// The function declarations of a header (not its inline definitions), by name, with their
/// parameter names.
fn header_functions(header: &str) -> BTreeMap<String, (Signature, Vec<String>)> {
    header::prototypes(header)
        .into_iter()
        .map(|p| (p.name, (Signature { ret: p.ret, params: p.params }, p.names)))
        .collect()
}

/// The functions of `zipc::ffi`, by name, with their C signatures: the table the `abi!` macro
/// records as it defines them (`zipc::ffi::functions`).
fn rust_functions() -> BTreeMap<String, Signature> {
    let table = zipc::ffi::functions();
    let out: BTreeMap<String, Signature> = table
        .iter()
        .map(|f| {
            let sig = Signature { ret: normalise(&f.ret), params: f.params.iter().map(|p| normalise(p)).collect() };
            (f.name.to_owned(), sig)
        })
        .collect();
    assert_eq!(out.len(), table.len(), "zipc::ffi::functions() lists a function twice");
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
    assert_eq!(names(&rust), exports, "zipc::ffi::functions() lists exactly the library's exports");
    let mut differ = Vec::new();
    for (name, (sig, _)) in &declared {
        if rust.get(name) != Some(sig) {
            differ.push(format!("{name}: zipc.h {sig:?}, zipc::ffi::functions() {:?}", rust.get(name)));
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
