//! Helpers shared by zipc's cross-crate tests: unique segment names that are unlinked even when a
//! test fails, child processes that re-run the current test binary in a given role, and a Python
//! with numpy for the cross-language tests.

use std::path::{Path, PathBuf};

pub mod header;
pub mod native;
pub mod schemas;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A unique segment name for this test process: `/zipc-test-TAG-PID-N`.
pub fn unique_name(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("/zipc-test-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A segment name that is unlinked when the guard drops — also when the test panics.
#[derive(Debug)]
pub struct ShmName(pub String);

impl ShmName {
    /// A fresh unique name (see [`unique_name`]).
    pub fn new(tag: &str) -> Self {
        ShmName(unique_name(tag))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segment's file under /dev/shm.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/dev/shm{}", self.0))
    }
}

impl std::ops::Deref for ShmName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for ShmName {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path());
    }
}

/// Environment variable naming the role a re-executed test binary plays.
pub const ROLE_VAR: &str = "ZIPC_TEST_ROLE";
/// Environment variable carrying the role's arguments, separated by `\x1f`.
pub const ARGS_VAR: &str = "ZIPC_TEST_ARGS";

/// If this process was started by [`spawn_role`] for `test`, returns the role's arguments.
///
/// The pattern: the first line of a multi-process test is
/// `if let Some(args) = child_args("my_test") { return run_child(args) }`.
pub fn child_args(test: &str) -> Option<Vec<String>> {
    match std::env::var(ROLE_VAR) {
        Ok(role) if role == test => {
            let args = std::env::var(ARGS_VAR).unwrap_or_default();
            Some(if args.is_empty() { Vec::new() } else { args.split('\x1f').map(str::to_owned).collect() })
        }
        _ => None,
    }
}

/// Starts a copy of the current test binary running only `test` (its full path inside the
/// binary, e.g. `"two_processes"` or `"module::name"`), in the child role, with `args`.
pub fn spawn_role(test: &str, args: &[&str]) -> std::process::Child {
    role_command(test, args).spawn().expect("spawning a copy of the test binary")
}

/// The command [`spawn_role`] runs, for callers that want to adjust it.
pub fn role_command(test: &str, args: &[&str]) -> Command {
    let exe = std::env::current_exe().expect("current test binary");
    let mut c = Command::new(exe);
    c.args([test, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE_VAR, test)
        .env(ARGS_VAR, args.join("\x1f"))
        .stdin(Stdio::null());
    c
}

/// How long [`until`] waits before it calls a wait hung (never reached when things work).
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Polls `cond`, which another thread or process makes true, every millisecond: a test-side
/// hang guard, not a timing assumption — panics naming `what` after [`HANG_GUARD`].
pub fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < HANG_GUARD, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits for `child` at most `limit` (a hang guard, not a timing assumption); kills it and panics
/// if it is still running then. Returns whether it exited successfully.
pub fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for child") {
            return status.success();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child process {} still running after {limit:?}: killed", child.id());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `target` directory this test binary was built in.
pub fn target_dir() -> PathBuf {
    // <target>/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("current test binary");
    exe.ancestors().nth(3).expect("test binary under target/<profile>/deps").to_path_buf()
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

/// A Python interpreter that can `import numpy`: `python3` if it can already, otherwise a venv
/// under `target/zipc-venv` with numpy installed once (by whichever test gets there first; a
/// file lock keeps concurrent test binaries from racing). The error says what is missing.
pub fn numpy_python() -> Result<PathBuf, String> {
    static PY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PY.get_or_init(find_numpy_python).clone()
}

fn has_numpy(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn find_numpy_python() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("ZIPC_PYTHON") {
        let p = PathBuf::from(p);
        return if has_numpy(&p) { Ok(p) } else { Err(format!("ZIPC_PYTHON={} cannot import numpy", p.display())) };
    }
    let system = PathBuf::from("python3");
    if has_numpy(&system) {
        return Ok(system);
    }
    let venv = target_dir().join("zipc-venv");
    let python = venv.join("bin").join("python");
    std::fs::create_dir_all(target_dir()).map_err(|e| e.to_string())?;
    let lock_path = target_dir().join("zipc-venv.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    // SAFETY: flock on a descriptor we own; released when `lock` is closed.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) } != 0 {
        return Err(format!("cannot lock {}", lock_path.display()));
    }
    if has_numpy(&python) {
        return Ok(python);
    }
    let run = |c: &mut Command, what: &str| -> Result<(), String> {
        let out = c.output().map_err(|e| format!("{what}: cannot run: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let help = "the cross-language tests need numpy: install it for python3 (pip install numpy), \
                or set ZIPC_PYTHON to a Python that has it, or give this machine access to PyPI";
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv")
        .map_err(|e| format!("{e}\n{help}"))?;
    run(
        Command::new(&python).args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "numpy"]),
        "pip install numpy",
    )
    .map_err(|e| format!("{e}\n{help}"))?;
    if has_numpy(&python) {
        Ok(python)
    } else {
        Err(format!("numpy installed into {} but cannot be imported\n{help}", venv.display()))
    }
}

/// Runs `python` on `script` with `args`; returns stdout, or panics with stdout and stderr.
pub fn run_python(python: &Path, script: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Writes `bytes` at `offset` of a segment's file, behind zipc's back (for corruption tests).
pub fn poke(name: &ShmName, offset: u64, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().write(true).open(name.path()).expect("open segment file");
    f.write_all_at(bytes, offset).expect("write segment file");
}

/// Reads `len` bytes at `offset` of a segment's file.
pub fn peek(name: &ShmName, offset: u64, len: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(name.path()).expect("open segment file");
    let mut buf = vec![0; len];
    f.read_exact_at(&mut buf, offset).expect("read segment file");
    buf
}
