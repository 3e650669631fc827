//! Runs the loom models of zipc's lock-free algorithms.
//!
//! Loom swaps the atomics for its own model checker, which needs zipc built with `--cfg loom`;
//! this test does that build in `target/loom` and runs every unit test whose name contains
//! `loom` (the models live beside the code, in `#[cfg(all(test, loom))]` modules). Preemptions
//! are bounded at 3 (loom's usual setting for CI); set `LOOM_MAX_PREEMPTIONS` to explore more.
//!
//! To run by hand:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p zipc --lib --release --target-dir target/loom -- loom`

use std::process::Command;

#[test]
fn loom_models_pass() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target = zipc_tests::target_dir().join("loom");
    let out = Command::new(cargo)
        .current_dir(zipc_tests::workspace_root())
        .args(["test", "-p", "zipc", "--lib", "--release", "--target-dir"])
        .arg(&target)
        .args(["--", "loom", "--test-threads=2"])
        .env("RUSTFLAGS", "--cfg loom")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("LOOM_MAX_PREEMPTIONS", std::env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| "3".to_owned()))
        .output()
        .expect("running cargo for the loom build");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "loom models failed:\n{stdout}\n{stderr}");
    let passed: usize = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    let models = stdout.lines().filter(|l| l.starts_with("test ") && l.ends_with(" ok")).count();
    assert!(passed >= 2 && models == passed, "expected the loom models to run:\n{stdout}");
    println!("{models} loom models passed");
}
