//! The API documentation builds without a warning (broken intra-doc links, bad code blocks,
//! unclosed HTML): `cargo doc --workspace --no-deps` with `RUSTDOCFLAGS=-D warnings`, in its own
//! target directory (`target/doc-check`) so that it does not wait for the build running this
//! test. `cargo test --workspace` also runs every doc example (the doc tests).

use std::process::Command;

#[test]
fn cargo_doc_builds_without_warnings() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(zipc_tests::workspace_root())
        .args(["doc", "--workspace", "--no-deps", "--target-dir"])
        .arg(zipc_tests::target_dir().join("doc-check"))
        .env("RUSTDOCFLAGS", "-D warnings")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("running cargo doc");
    assert!(
        out.status.success(),
        "cargo doc --workspace --no-deps failed or warned:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = zipc_tests::target_dir().join("doc-check/doc/zipc/index.html");
    assert!(docs.exists(), "{} was not written", docs.display());
}
