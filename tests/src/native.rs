//! C and Python on libzipc for the cross-language tests: where the library is, compiling C
//! against it (shared or static), and running Python with the generated modules and the library.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use zipc_schema::{c, python, Schema};

/// The directory holding `libzipc.so` and `libzipc.a` of this build. `zipc-tests` has `libzipc`
/// as a dev-dependency, so cargo builds both next to the test binaries (`target/PROFILE/deps`);
/// a `cargo build -p libzipc` puts them in `target/PROFILE`. The newer copy wins.
pub fn libzipc_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current test binary");
    let deps = exe.parent().expect("test binary in target/PROFILE/deps").to_path_buf();
    let profile = deps.parent().expect("target/PROFILE").to_path_buf();
    let modified = |d: &Path| std::fs::metadata(d.join("libzipc.so")).and_then(|m| m.modified()).ok();
    let mut found: Vec<(std::time::SystemTime, PathBuf)> =
        [deps, profile].into_iter().filter_map(|d| modified(&d).map(|t| (t, d))).collect();
    found.sort();
    match found.pop() {
        Some((_, dir)) if dir.join("libzipc.a").exists() => dir,
        _ => panic!(
            "libzipc.so / libzipc.a not found next to {}: build them with `cargo build -p libzipc` \
             (cargo test builds them as a dev-dependency of zipc-tests)",
            exe.display()
        ),
    }
}

/// The libraries a program linked with `libzipc.a` needs (rustc's `native-static-libs`).
pub const STATIC_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

/// How a C program links libzipc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `-lzipc` against `libzipc.so`, found at run time through an rpath.
    Shared,
    /// `libzipc.a`, nothing needed at run time.
    Static,
    /// Not at all: the program uses nothing but libc (the header-only `*_raw` readers). A call
    /// into libzipc would fail to link.
    None,
}

/// Compiles C11 `source` (in `dir`, which holds the headers) to `dir/name` with `-Wall -Wextra
/// -Werror -pedantic`, linked with libzipc as `link` says; panics with the compiler's output on
/// failure.
pub fn compile_c(dir: &Path, name: &str, source: &str, link: Link) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).expect("write C source");
    let exe = dir.join(name);
    let mut cmd = Command::new("gcc");
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-pthread", "-I"])
        .arg(dir)
        .arg("-o")
        .arg(&exe)
        .arg(&src);
    match link {
        Link::None => {}
        Link::Shared => {
            let lib = libzipc_dir();
            // DT_RPATH (not RUNPATH): searched before LD_LIBRARY_PATH, which cargo points at
            // target/PROFILE, where an older `cargo build -p libzipc` may have left a copy.
            cmd.arg("-L").arg(&lib).arg("-lzipc").arg(format!("-Wl,--disable-new-dtags,-rpath,{}", lib.display()));
        }
        Link::Static => {
            cmd.arg(libzipc_dir().join("libzipc.a")).args(STATIC_LIBS);
        }
    }
    check(&run(&mut cmd, "gcc"), &format!("compiling {name}.c ({link:?})"));
    exe
}

/// Checks that `header` (in `dir`) compiles alone as C++17 with `-Wall -Wextra -Werror`.
pub fn check_cpp(dir: &Path, header: &str) {
    let cpp = dir.join("header_check.cpp");
    std::fs::write(&cpp, format!("#include \"{header}\"\nint main() {{ return zipc_fnv1a64_selftest() ? 0 : 1; }}\n"))
        .expect("write C++ source");
    let out = run(
        Command::new("g++").args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"]).arg(&cpp),
        "g++",
    );
    check(&out, &format!("compiling {header} as C++17"));
}

/// A command running `python` on `script` with `dir` (the generated modules) on its path and
/// libzipc found through `ZIPC_LIB`.
pub fn python_command(python: &Path, dir: &Path, script: &Path) -> Command {
    let mut c = Command::new(python);
    c.arg(script)
        .env("PYTHONPATH", dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("ZIPC_LIB", libzipc_dir().join("libzipc.so"));
    c
}

/// A command running `python` on `script` with `dir` (the generated modules) on its path and no
/// way to find libzipc: `ZIPC_LIB` unset, no library beside the modules (for `open_mapped`).
pub fn python_command_without_library(python: &Path, dir: &Path, script: &Path) -> Command {
    assert!(!dir.join("libzipc.so").exists(), "{} holds a libzipc.so", dir.display());
    let mut c = Command::new(python);
    c.arg(script).env("PYTHONPATH", dir).env("PYTHONDONTWRITEBYTECODE", "1").env_remove("ZIPC_LIB");
    c
}

/// Runs `cmd`, panicking if it cannot start.
pub fn run(cmd: &mut Command, what: &str) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"))
}

/// Panics with the output if `out` is a failure.
pub fn check(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A scratch directory for generated sources and programs, unique to this test process.
pub fn scratch(what: &str) -> PathBuf {
    let dir = crate::target_dir().join("native-tests").join(format!("{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// Hang guard for a peer process (never reached when things work).
pub const PEER_LIMIT: Duration = Duration::from_secs(240);

/// A peer process, killed if the test fails before it finished.
pub struct Peer(pub Option<Child>, pub &'static str);

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `cmd` as a peer with its output captured; `what` names it in failures.
pub fn spawn(cmd: &mut Command, what: &'static str) -> Peer {
    Peer(Some(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn peer")), what)
}

/// Waits for the peer at most `PEER_LIMIT`; returns its output, or panics (killing it) on a hang or
/// a failure.
pub fn finish(mut peer: Peer) -> String {
    let what = peer.1;
    let mut child = peer.0.take().expect("not finished yet");
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > PEER_LIMIT {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} still running after {PEER_LIMIT:?}: killed\n--- stderr\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    check(&out, what);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes the C header, the Python module and both runtimes for `schema` into `dir`, and checks
/// the header compiles as C++17 too.
pub fn write_generated(schema: &Schema<'_>, dir: &Path) {
    std::fs::write(dir.join(c::RUNTIME_HEADER), c::runtime_header()).unwrap();
    std::fs::write(dir.join(format!("{}.h", schema.stem)), c::generate(schema)).unwrap();
    std::fs::write(dir.join(python::RUNTIME_MODULE), python::runtime_module()).unwrap();
    std::fs::write(dir.join(format!("{}.py", schema.stem)), python::generate(schema)).unwrap();
    check_cpp(dir, &format!("{}.h", schema.stem));
}
