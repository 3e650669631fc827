//! Runs every example and the demo as a user would, checking the exit status, the lines that say
//! what each one proved, and that no segment is left behind in /dev/shm.
//!
//! The binaries are this package's own (`CARGO_BIN_EXE_*`), so cargo builds them once, with the
//! rest of the workspace. The cross-language parts need gcc and a Python with numpy; the numpy
//! Python is found (or made, under `target/zipc-venv`) by `zipc_tests::numpy_python` and handed
//! to the examples in `ZIPC_PYTHON`, so the full tour runs here — nothing is skipped.

use std::process::Command;

/// Runs `exe` with `args`; asserts that it exits with 0, that its output contains every line of
/// `expected` (as substrings) and none of `forbidden`, and that it left no segment behind.
/// Returns the output.
fn run(exe: &str, args: &[&str], expected: &[&str], forbidden: &[&str]) -> String {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    let python = zipc_tests::numpy_python().unwrap_or_else(|e| panic!("the cross-language examples need numpy: {e}"));
    cmd.env("ZIPC_PYTHON", python);
    let child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!("{exe} {args:?} ({})\n--- stdout\n{stdout}--- stderr\n{stderr}", out.status);
    assert!(out.status.success(), "{context}");
    for line in expected {
        assert!(stdout.contains(line), "missing {line:?} in the output of {context}");
    }
    for line in forbidden {
        assert!(!stdout.contains(line), "unexpected {line:?} in the output of {context}");
    }
    // Every example names its segment `/BASE-PID`; zipc's own temporary names contain the pid too.
    let leftovers: Vec<String> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(&format!("-{pid}")) || n.starts_with(&format!(".zipc-tmp-{pid}-")))
        .collect();
    assert!(leftovers.is_empty(), "{exe} left {leftovers:?} in /dev/shm");
    stdout
}

#[test]
fn producer_consumer() {
    run(
        env!("CARGO_BIN_EXE_producer_consumer"),
        &[],
        &[
            "[producer] pushed 100,000 messages",
            "[consumer] received 100,000 messages in order",
            "produced 100000, consumed 100000, 0 left in the queue",
            "ok: 100,000 messages",
        ],
        &[],
    );
}

#[test]
fn sensor_pipeline() {
    let out = run(
        env!("CARGO_BIN_EXE_sensor_pipeline"),
        &[],
        &[
            "[collector] wrote readings 0 to 99,999",
            "[collector] wrote readings 100,000 to 199,999",
            "newest raw readings now",
            "[reporter] received",
            "ok: ",
        ],
        &[],
    );
    // The processor's line: readings received intact plus missed account for all of them.
    let line = out.lines().find(|l| l.starts_with("[processor] received")).expect("the processor's summary");
    assert!(line.contains("readings intact, missed"), "{line}");
    let written = out.lines().find(|l| l.starts_with("readings: 200,001 written = ")).expect("the ring's counters");
    assert!(written.contains("overwritten"), "{written}");
}

#[test]
fn particle_sim() {
    run(
        env!("CARGO_BIN_EXE_particle_sim"),
        &[],
        &[
            "[renderer] frame 30:",
            "[renderer] frame 120:",
            "checksum matches",
            "[renderer] the last frame, seen from the side:",
            "[simulation] 120 frames:",
            "ok: 120 frames simulated and drawn",
        ],
        &[],
    );
}

#[test]
fn camera_frames() {
    let out = run(
        env!("CARGO_BIN_EXE_camera_frames"),
        &[],
        &[
            "[camera] published 60 frames, drawn in place",
            "[logger] frame 0 (1024x1024): checksum",
            "[logger] frame 40 (1024x1024)",
            "[renderer] the last frame:",
            "[statistics] 60 frames, mean brightness from",
            "ok: 60 frames of 1,048,600 bytes published, each received by 3 processes in place; 0 subscribers left joined",
        ],
        &[],
    );
    for role in ["renderer", "logger", "statistics"] {
        let line = format!("[{role}] received 60 frames in place, none missed (0 missed)");
        assert!(out.contains(&line), "{line}\n{out}");
    }
}

#[test]
fn game_server() {
    let out = run(
        env!("CARGO_BIN_EXE_game_server"),
        &[],
        &[
            "[server] created",
            "memory map:",
            "opening `monsters` as a pool of Player is refused:",
            "[ai] 4 players online; asking for 120 monsters",
            "[analytics] 2,400 hits consumed",
            "[server] match over after",
            "[ai] the match ended at tick",
            "#1 player-",
            "ok: the leaderboard matches the server's tally",
        ],
        &[],
    );
    // The analytics process found all twelve structures by name.
    for name in [
        "players",
        "monsters",
        "projectiles",
        "collision",
        "damage_queue",
        "spawn_queue",
        "network_queue",
        "frame_stats",
        "tick",
        "players_online",
        "match_active",
        "leaderboard",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with("[analytics]   0x") && l.ends_with(&format!("  {name}"))),
            "{name} missing from the memory map:\n{out}"
        );
    }
}

#[test]
fn task_scheduler() {
    let out = run(
        env!("CARGO_BIN_EXE_task_scheduler"),
        &[],
        &[
            "4 workers ready",
            "all 3,000 results received and checked",
            "ok: 3,000 tasks done exactly once by 4 workers",
        ],
        &[],
    );
    for w in 0..4 {
        assert!(out.contains(&format!("[worker {w}] did ")), "worker {w} did not report:\n{out}");
    }
}

#[test]
fn cross_language() {
    run(
        env!("CARGO_BIN_EXE_cross_language"),
        &[],
        &[
            "[rust] compiled the C program",
            "[c] sensor 0: seq 100, channels 0.0 .. 3.5",
            "[c] sensor 7: seq 107, channels 35.0 .. 38.5",
            "[python] checked the statistics of 8 sensors",
            "[c] pushed 8 readings into the queue `readings`",
            "[python] popped the 8 readings C pushed, in order and intact",
            "[rust] the statistics C wrote are right",
            "ok: 2 other language(s) read and wrote the segment; visits = 2",
        ],
        &["SKIPPED"],
    );
}

#[test]
fn endpoint_ping() {
    run(
        env!("CARGO_BIN_EXE_endpoint_ping"),
        &[],
        &[
            "[client] a second claim of side A is refused",
            "calls one at a time: median round trip",
            "calls pipelined in",
            "[server] answered 22,000 requests",
            "ok: every response matched its request",
        ],
        &[],
    );
}

#[test]
fn demo_runs_the_whole_tour() {
    let out = run(
        env!("CARGO_BIN_EXE_demo"),
        &["--messages", "20000"],
        &[
            "1. One declaration: schemas/telemetry.toml",
            "the Rust types compiled into this program have the same fingerprints",
            "2. A segment, created from the declaration",
            "Queue    Reading      readings",
            "[sensor]  pushed 20,000 readings",
            "[monitor] received 20,000 readings, each once, in order and intact",
            "4. Inspect: the live segment",
            "spsc [",
            "5. Typed: a mismatched declaration is refused",
            "structure \"stats\" holds elements of another layout",
            "rust:   readings 20000 (consumed 20000)",
            "languages        Rust, C, Python read the same bytes and agree",
            "[c]      pushed 20000 readings",
            "[python] popped 20000 readings in bulk into numpy arrays, in order and intact",
            "C → Python       20,000 readings through the same queue",
            "removed: yes",
        ],
        &["SKIPPED", "skipped"],
    );
    // C and Python printed exactly Rust's summary line.
    let line = |prefix: &str| out.lines().find_map(|l| l.strip_prefix(prefix)).map(str::to_owned);
    let rust = line("rust:   ").expect("Rust's summary");
    assert_eq!(line("c:      ").as_deref(), Some(rust.as_str()));
    assert_eq!(line("python: ").as_deref(), Some(rust.as_str()));
}

#[test]
fn async_workers() {
    let out = run(
        env!("CARGO_BIN_EXE_async_workers"),
        &[],
        &[
            "[driver] every one of 20,000 tasks done exactly once",
            "[worker] 20,000 tasks done,",
            "ok: one worker served",
        ],
        &[],
    );
    assert!(out.contains("[worker] progress report:"), "no progress report: the event never woke a task\n{out}");
}

#[test]
fn bridge_hosts() {
    let out = run(
        env!("CARGO_BIN_EXE_bridge_hosts"),
        &["--count", "50000"],
        &[
            "[producer] pushed 50,000 readings",
            "[consumer] received 50,000 readings from /zipc-ex-bridge-station-",
            "in order and intact",
            "[bridge-a] export queue readings: elements=50000 bytes=1200000",
            "[bridge-b] import queue readings: elements=50000 bytes=1200000",
            "books: A exported 50,000, B imported 50,000, dropped 0; pushed on A 50,000, popped on B 50,000",
        ],
        &["(stopped)"],
    );
    for role in ["bridge-a", "bridge-b"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("[{role}] ")) && l.contains(" queue readings:"))
            .unwrap_or_else(|| panic!("no final status line of {role}:\n{out}"));
        assert!(line.contains(" dropped=0 repeated=0 refused=0 resent=0 lag=0"), "{line}");
    }
    let last = out.lines().last().unwrap_or_default();
    let (a, b) = last
        .strip_prefix("bridge_hosts: 50000 readings crossed from ")
        .and_then(|l| l.strip_suffix(" over Zenoh, in order, dropped 0"))
        .and_then(|l| l.split_once(" to "))
        .unwrap_or_else(|| panic!("the final line: {last:?}"));
    // `run` checks the hosts' segments; the books the bridges kept beside them are gone too.
    for name in [a.to_owned(), b.to_owned(), format!("{a}.bridge.readings"), format!("{b}.bridge.readings")] {
        assert!(!std::path::Path::new(&format!("/dev/shm{name}")).exists(), "{name} left in /dev/shm");
    }
}
