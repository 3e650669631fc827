//! The other process of a two-process benchmark: a copy of the benchmark binary started with
//! `--zipc-peer ROLE CPU ARGS...`, and the segment every benchmark shares with it.

use std::process::{Child, Command};

use zipc::Segment;

pub const FLAG: &str = "--zipc-peer";

/// Starts the peer for `role`, pinned to `cpu` if given.
pub fn spawn(role: &str, cpu: Option<usize>, args: &[String]) -> Child {
    let exe = std::env::current_exe().expect("benchmark binary");
    Command::new(exe)
        .arg(FLAG)
        .arg(role)
        .arg(cpu.map_or("-".to_owned(), |c| c.to_string()))
        .args(args)
        .spawn()
        .expect("starting the peer process")
}

/// Waits for the peer and fails loudly if it failed.
pub fn join(mut child: Child) {
    let status = child.wait().expect("waiting for the peer");
    assert!(status.success(), "peer process failed: {status}");
}

/// Entry point of a peer process.
pub fn run(args: &[String]) {
    let role = args[0].as_str();
    if let Ok(cpu) = args[1].parse::<usize>() {
        crate::machine::pin(cpu);
    }
    let rest = &args[2..];
    match role {
        "raw" => crate::latency::raw_atomic_peer(rest),
        "uds" | "pipe" => crate::latency::fd_peer(rest),
        "bridge" => crate::bridge::run_peer(rest),
        "zenoh-echo" => crate::bridge::run_echo(rest),
        other => assert!(
            crate::zipc_bench::run_peer(other, rest)
                || crate::topic::run_peer(other, rest)
                || crate::iceoryx2_bench::run_peer(other, rest),
            "unknown peer role {other}"
        ),
    }
}

/// A segment for one benchmark, unlinked when dropped (also on panic).
pub struct BenchSegment {
    pub name: String,
    pub segment: Segment,
}

impl BenchSegment {
    pub fn create(tag: &str, size: u64) -> BenchSegment {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("/zipc-bench-{tag}-{}-{n}", std::process::id());
        let segment = Segment::create(&name, size).expect("creating the benchmark segment");
        BenchSegment { name, segment }
    }
}

impl Drop for BenchSegment {
    fn drop(&mut self) {
        let _ = Segment::unlink(&self.name);
    }
}
