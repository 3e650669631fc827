//! Process plumbing shared by the zipc examples — nothing here is zipc-specific.
//!
//! Every example is one program that plays all the parts: run without arguments it is the
//! *parent*, which creates the segment and starts copies of itself with a role as the first
//! argument (`producer_consumer consumer /producer_consumer-4711`). The helpers below do that,
//! wait for the peers with a hang guard, and remove the segment when the parent ends — also when
//! it fails or panics.
//!
//! ```no_run
//! use zipc_examples::{role, Peer, Unlink};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     if let Some((role, args)) = role() {
//!         // a peer: open the segment named in args[0] and do the role's work
//!         # let _ = (role, args);
//!         return Ok(());
//!     }
//!     let name = zipc_examples::unique_name("/my_example");
//!     let _cleanup = Unlink::new(&name); // created below; removed whatever happens
//!     // ... create the segment `name` ...
//!     let peer = Peer::spawn("consumer", &[&name])?;
//!     peer.wait()?;
//!     Ok(())
//! }
//! ```

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a peer may run before the parent gives up on it (a hang guard, not a timing
/// assumption: every example finishes in seconds).
pub const PEER_LIMIT: Duration = Duration::from_secs(120);

/// The error type of the examples' `main`s.
pub type BoxError = Box<dyn std::error::Error>;

/// If this process was started as a peer, its role (the first argument) and the role's
/// arguments. Arguments starting with `-` are options of the parent, not roles.
pub fn role() -> Option<(String, Vec<String>)> {
    let mut args = std::env::args().skip(1);
    let role = args.next().filter(|r| !r.starts_with('-'))?;
    Some((role, args.collect()))
}

/// A segment name unique to this run: `base` followed by the process id, so that concurrent runs
/// (and the tests) never meet.
pub fn unique_name(base: &str) -> String {
    format!("{base}-{}", std::process::id())
}

/// A copy of this program running in a role. Dropping it while it still runs kills it, so a
/// parent that fails leaves no peer behind.
#[derive(Debug)]
pub struct Peer {
    role: String,
    child: Option<Child>,
}

impl Peer {
    /// Starts this program again with `role` and `args` as its arguments; it shares the parent's
    /// stdout and stderr.
    pub fn spawn(role: &str, args: &[&str]) -> std::io::Result<Peer> {
        let child = Command::new(std::env::current_exe()?).arg(role).args(args).stdin(Stdio::null()).spawn()?;
        Ok(Peer { role: role.to_owned(), child: Some(child) })
    }

    /// The role it plays.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits for the peer to exit (at most [`PEER_LIMIT`]); an error unless it exited with 0.
    pub fn wait(mut self) -> Result<(), BoxError> {
        let mut child = self.child.take().expect("a peer is waited for once");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("the {} process failed ({status})", self.role).into())
                };
            }
            if start.elapsed() > PEER_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the {} process still ran after {PEER_LIMIT:?}: killed", self.role).into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

/// Waits for every peer, in order; the first failure is returned after the others were waited
/// for (or killed, if they were still running when the failure came).
pub fn wait_all(peers: Vec<Peer>) -> Result<(), BoxError> {
    let mut first_error = None;
    for peer in peers {
        if first_error.is_some() {
            drop(peer); // kills it if it still runs
        } else if let Err(e) = peer.wait() {
            first_error = Some(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Removes the segment `name` from the system when dropped — at the end of the parent's `main`,
/// on an early `?` return and while unwinding from a panic. Processes that still have it open
/// keep their mapping; the name is gone.
#[derive(Debug)]
pub struct Unlink(String);

impl Unlink {
    /// Removes `name` when the guard is dropped.
    pub fn new(name: &str) -> Unlink {
        Unlink(name.to_owned())
    }
}

impl Drop for Unlink {
    fn drop(&mut self) {
        match zipc::Segment::unlink(&self.0) {
            Ok(()) | Err(zipc::Error::NotFound { .. }) => {}
            Err(e) => eprintln!("warning: could not remove segment {}: {e}", self.0),
        }
    }
}

/// Formats `n` with thousands separators: `1234567` → `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlink_removes_the_segment_when_the_parent_panics() {
        let name = format!("/zipc-examples-unlink-{}", std::process::id());
        let path = format!("/dev/shm{name}");
        let result = std::panic::catch_unwind(|| {
            let _cleanup = Unlink::new(&name);
            zipc::Segment::create(&name, 1 << 16).unwrap();
            assert!(std::path::Path::new(&path).exists());
            panic!("an example failing half-way");
        });
        assert!(result.is_err());
        assert!(!std::path::Path::new(&path).exists(), "the guard removed {name} while unwinding");
        drop(Unlink::new(&name)); // a name that is already gone is fine
    }

    #[test]
    fn a_dropped_peer_is_killed() {
        let child = Command::new("sleep").arg("600").spawn().unwrap();
        let pid = child.id();
        drop(Peer { role: "sleeper".into(), child: Some(child) });
        // Reaped by the drop: the pid no longer names our child.
        let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(status.is_empty() || !status.contains("(sleep)"), "{status}");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}

/// Finding the other languages' tools, for the examples that use C and Python.
pub mod foreign {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    /// Whether `program args` runs and exits with 0 (its output is discarded).
    fn runs(program: &Path, args: &[&str]) -> bool {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The C compiler: `$CC` if set, else `gcc`; `None` if it does not run.
    pub fn c_compiler() -> Option<PathBuf> {
        let cc = PathBuf::from(std::env::var_os("CC").unwrap_or_else(|| "gcc".into()));
        runs(&cc, &["--version"]).then_some(cc)
    }

    /// A Python that can `import numpy`: `$ZIPC_PYTHON`, else `python3`, else the virtual
    /// environment the workspace's tests create (`target/zipc-venv`). The error says what to do.
    pub fn numpy_python() -> Result<PathBuf, String> {
        let numpy = |p: &Path| runs(p, &["-c", "import numpy"]);
        if let Some(p) = std::env::var_os("ZIPC_PYTHON").map(PathBuf::from) {
            return if numpy(&p) { Ok(p) } else { Err(format!("ZIPC_PYTHON={} cannot import numpy", p.display())) };
        }
        let python3 = PathBuf::from("python3");
        if numpy(&python3) {
            return Ok(python3);
        }
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/zipc-venv/bin/python");
        if numpy(&venv) {
            return Ok(venv);
        }
        Err(if runs(&python3, &["--version"]) {
            "python3 has no numpy: `pip install numpy`, point ZIPC_PYTHON at a Python that has it, or run \
             `cargo test --workspace` once (it makes target/zipc-venv with numpy)"
                .to_owned()
        } else {
            "no python3 found: install Python 3 with numpy, or point ZIPC_PYTHON at one".to_owned()
        })
    }

    /// The directory holding `libzipc.so` (zipc's C ABI, which C programs link and Python
    /// loads): `$ZIPC_LIB` (the library or its directory) if set, else where cargo built it for
    /// this program (`libzipc` is a dependency of the examples: `target/PROFILE/deps`).
    pub fn libzipc_dir() -> Result<PathBuf, String> {
        if let Some(p) = std::env::var_os("ZIPC_LIB").map(PathBuf::from) {
            let dir = if p.is_dir() { p.clone() } else { p.parent().map(Path::to_path_buf).unwrap_or_default() };
            return if dir.join("libzipc.so").exists() {
                Ok(dir)
            } else {
                Err(format!("ZIPC_LIB={} holds no libzipc.so", p.display()))
            };
        }
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
        // The newest copy wins: `cargo build -p libzipc` may have left an older one beside us.
        let newest = [dir.join("deps"), dir]
            .into_iter()
            .filter_map(|d| Some((std::fs::metadata(d.join("libzipc.so")).ok()?.modified().ok()?, d)))
            .max();
        newest
            .map(|(_, d)| d)
            .ok_or_else(|| "libzipc.so not found: build it with `cargo build -p libzipc`, or set ZIPC_LIB".to_owned())
    }

    /// Compiles the C11 program `source` in `dir` (beside the generated headers) into
    /// `dir/NAME` with `-Wall -Wextra -Werror`, linked with `libzipc.so` in `lib` (found at run
    /// time through an rpath). Returns the program and the compiler command line.
    pub fn compile_c(cc: &Path, dir: &Path, source: &str, lib: &Path) -> Result<(PathBuf, String), String> {
        let exe = dir.join(Path::new(source).file_stem().unwrap_or_default());
        let mut cmd = Command::new(cc);
        cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-I"])
            .arg(dir)
            .arg("-o")
            .arg(&exe)
            .arg(dir.join(source))
            .arg("-L")
            .arg(lib)
            .arg("-lzipc")
            // DT_RPATH (searched before LD_LIBRARY_PATH, which cargo sets) rather than RUNPATH.
            .arg(format!("-Wl,--disable-new-dtags,-rpath,{}", lib.display()));
        let line = format!("{} -std=c11 -Wall -Wextra -Werror -O2 {source} -lzipc", cc.display());
        output(&mut cmd)?;
        Ok((exe, line))
    }

    /// A scratch directory for generated sources and binaries, removed when dropped.
    #[derive(Debug)]
    pub struct ScratchDir(PathBuf);

    impl ScratchDir {
        /// Creates `$TMPDIR/NAME-PID`.
        pub fn new(name: &str) -> std::io::Result<ScratchDir> {
            let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            Ok(ScratchDir(dir))
        }

        /// Its path.
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs `cmd` and returns its stdout; an error with its stderr if it fails.
    pub fn output(cmd: &mut Command) -> Result<String, String> {
        let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!("{cmd:?} failed ({}):\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr)))
        }
    }
}

/// The README's Rust code, compiled as doc tests so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
