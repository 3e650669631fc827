//! The operations verbs of the `zipc-schema` binary on live segments: `inspect` (report and
//! JSON), `list`, `rm` and `rm --stale`, with live and dead attached processes; exit codes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use zipc::{Array, Atomic, Mpmc, Queue, Segment};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zipc-schema")).args(args).output().expect("run zipc-schema")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A segment name unique to this test process, unlinked on drop.
struct Name(String);

impl Name {
    fn new(tag: &str) -> Name {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        Name(format!("/zipc-cli-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
    }

    fn path(&self) -> String {
        format!("/dev/shm{}", self.0)
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path());
    }
}

/// Child role: attach to the segment named in the environment, say so, wait to be killed.
#[test]
fn attacher() {
    let Ok(name) = std::env::var("ZIPC_CLI_ATTACH") else { return };
    let _seg = Segment::open(&name).unwrap();
    println!("ATTACHED");
    std::thread::sleep(Duration::from_secs(120));
}

fn attach(name: &str) -> std::process::Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["attacher", "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env("ZIPC_CLI_ATTACH", name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ATTACHED") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the child exited before attaching");
    }
    child
}

fn kill(mut child: std::process::Child) -> u32 {
    child.kill().unwrap();
    child.wait().unwrap();
    child.id()
}

#[test]
fn inspect_prints_the_report_and_json() {
    let name = Name::new("insp");
    let seg = Segment::create(&name.0, 1 << 16).unwrap();
    let q = Queue::<u32, Mpmc>::create(&seg, "jobs", 8).unwrap();
    for i in 0..6 {
        q.try_push(i).unwrap();
    }
    Atomic::<u64>::create(&seg, "ticks", 99).unwrap();
    let dead = kill(attach(&name.0));

    // Any spelling of the name.
    for arg in [name.0.clone(), name.0[1..].to_owned(), name.path()] {
        let out = run(&["inspect", &arg]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let report = text(&out.stdout);
        assert!(
            report.starts_with(&format!("segment {}: zipc format {}", name.0, zipc::description::FORMAT_VERSION)),
            "{report}"
        );
        assert!(report.contains("mpmc [###############.....] 6/8 (75%)"), "{report}");
        assert!(report.contains("value 99"), "{report}");
        assert!(report.contains(&format!("pid {dead:<8} dead")), "{report}");
        assert!(report.contains(&format!("pid {:<8} alive", std::process::id())), "{report}");
    }
    let out = run(&["inspect", &name.0, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["segment"], name.0.as_str());
    assert_eq!(json["entries"][0]["name"], "jobs");
    assert_eq!(json["entries"][0]["state"]["len"], 6);
    assert_eq!(json["entries"][0]["state"]["policy"], "mpmc");
    assert_eq!(json["entries"][1]["state"]["value"], 99);
    assert_eq!(json["processes"].as_array().unwrap().len(), 2);

    let missing = run(&["inspect", "/zipc-cli-no-such-segment"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).starts_with("error: segment \"/zipc-cli-no-such-segment\" does not exist"));
    assert_eq!(run(&["inspect"]).status.code(), Some(2), "a missing argument is a usage error");
    drop((q, seg));
}

#[test]
fn list_marks_unused_segments() {
    let used = Name::new("list-used");
    let seg = Segment::create(&used.0, 1 << 16).unwrap();
    Array::<u8>::create(&seg, "a", 1).unwrap();
    let unused = Name::new("list-unused");
    let other = Segment::create(&unused.0, 1 << 16).unwrap();
    let child = attach(&unused.0);
    drop(other);
    let dead = kill(child);

    let pattern = format!("/zipc-cli-list-*-{}-*", std::process::id());
    let out = run(&["list", &pattern]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let lines: Vec<&str> = listing.lines().collect();
    assert!(lines[0].starts_with("NAME") && lines[0].contains("PROCESSES") && lines[0].contains("STATUS"), "{listing}");
    assert_eq!(lines.len(), 3, "only the pattern's segments:\n{listing}");
    let row = |n: &Name| *lines.iter().find(|l| l.starts_with(&format!("{} ", n.0))).unwrap();
    let cells: Vec<&str> = row(&used).split_whitespace().collect();
    assert_eq!(&cells[1..], ["64.0", "KiB", "zipc", "1", "1", "alive", "in", "use"], "{listing}");
    assert!(row(&unused).contains("1 dead") && row(&unused).contains("UNUSED"), "{listing}");
    let _ = dead;
    drop(seg);
}

#[test]
fn rm_refuses_segments_in_use_unless_forced() {
    let name = Name::new("rm-used");
    let seg = Segment::create(&name.0, 1 << 16).unwrap();
    let child = attach(&name.0);
    drop(seg);

    let out = run(&["rm", &name.0]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("is in use by live process {}", child.id())), "{err}");
    assert!(err.contains("(--force removes it anyway)"), "{err}");
    assert!(std::path::Path::new(&name.path()).exists());
    let out = run(&["rm", "--dry-run", &name.0]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert_eq!(said, format!("would keep {}: in use by pid {}\n", name.0, child.id()));
    let said = text(&run(&["rm", "-n", "--force", &name.0]).stdout);
    assert_eq!(said, format!("would remove {}: forced\n", name.0));

    let out = run(&["rm", "--force", &name.0]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("removed {} (forced: still in use by pid [{}])", name.0, child.id())));
    assert!(!std::path::Path::new(&name.path()).exists());
    kill(child);

    let out = run(&["rm", "/zipc-cli-no-such-segment"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(run(&["rm"]).status.code(), Some(2), "rm needs names or --stale");
}

#[test]
fn rm_stale_removes_only_what_no_live_process_uses() {
    let pid = std::process::id();
    let exists = |n: &Name| std::path::Path::new(&n.path()).exists();
    // In use by this process; never used again after its creator left; its only attacher
    // killed; its attacher alive; corrupt; and a leftover of a creator that died.
    let used = Name::new("stale-used");
    let seg = Segment::create(&used.0, 1 << 16).unwrap();
    let abandoned = Name::new("stale-abandoned");
    drop(Segment::create(&abandoned.0, 1 << 16).unwrap());
    let killed = Name::new("stale-killed");
    drop(Segment::create(&killed.0, 1 << 16).unwrap());
    let dead = kill(attach(&killed.0));
    let alive = Name::new("stale-alive");
    drop(Segment::create(&alive.0, 1 << 16).unwrap());
    let child = attach(&alive.0);
    let corrupt = Name::new("stale-corrupt");
    let mut bytes = vec![0u8; 4096];
    bytes[0..4].copy_from_slice(&zipc::table::MAGIC.to_le_bytes());
    std::fs::write(corrupt.path(), bytes).unwrap();
    let leftover = Name(format!("/.zipc-tmp-{dead}-0-cafe"));
    std::fs::write(leftover.path(), [0u8; 64]).unwrap();
    let ours = format!("/zipc-cli-stale-*-{pid}-*");
    let theirs = format!("/.zipc-tmp-{dead}-*");

    let out = run(&["rm", "--stale", "--dry-run", &ours, &theirs]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains(&format!("would remove {}: no process attached", abandoned.0)), "{said}");
    assert!(said.contains(&format!("would remove {}: no live process attached (1 dead)", killed.0)), "{said}");
    assert!(
        said.contains(&format!("would remove {}: leftover of an unfinished creation by pid {dead}", leftover.0)),
        "{said}"
    );
    assert!(said.contains(&format!("kept {}: in use by pid {pid}", used.0)), "{said}");
    assert!(said.contains(&format!("kept {}: in use by pid {}", alive.0, child.id())), "{said}");
    assert!(said.contains(&format!("kept {}: corrupt", corrupt.0)), "{said}");
    assert!(exists(&abandoned) && exists(&killed) && exists(&leftover), "a dry run removes nothing");

    let out = run(&["rm", "--stale", &ours, &theirs]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains(&format!("removed {}: no process attached", abandoned.0)), "{said}");
    assert!(said.contains(&format!("removed {}: no live process attached (1 dead)", killed.0)), "{said}");
    assert!(said.contains(&format!("removed {}: leftover", leftover.0)), "{said}");
    assert!(!exists(&abandoned) && !exists(&killed) && !exists(&leftover));
    assert!(exists(&used) && exists(&alive) && exists(&corrupt));

    // Forced: corrupt (and ZeroIPC) segments go too, but never one in use.
    let out = run(&["rm", "--stale", "--force", &ours]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains(&format!("removed {}: corrupt, removed because forced", corrupt.0)), "{said}");
    assert!(said.contains(&format!("kept {}: in use by pid {pid}", used.0)), "{said}");
    assert!(said.contains(&format!("kept {}: in use by pid {}", alive.0, child.id())), "{said}");
    assert!(exists(&used) && exists(&alive) && !exists(&corrupt));

    // Their users gone, they are stale too.
    drop(seg);
    kill(child);
    let out = run(&["rm", "--stale", &ours]);
    let said = text(&out.stdout);
    assert!(said.contains(&format!("removed {}: no process attached", used.0)), "{said}");
    assert!(said.contains(&format!("removed {}: no live process attached (1 dead)", alive.0)), "{said}");
    let out = run(&["rm", "--stale", &ours]);
    assert_eq!(text(&out.stdout), "nothing removed: no stale segments\n");
}

#[test]
fn help_teaches_the_operations_verbs() {
    let top = text(&run(&["--help"]).stdout);
    for needle in ["inspect", "list", "rm --stale"] {
        assert!(top.contains(needle), "--help lacks {needle:?}:\n{top}");
    }
    let help = |verb: &str| {
        let out = run(&[verb, "--help"]);
        assert!(out.status.success());
        text(&out.stdout)
    };
    let h = help("inspect");
    assert!(h.contains("--json") && h.contains("without attaching") && h.contains("Examples:"), "{h}");
    let h = help("list");
    assert!(h.contains("UNUSED") && h.contains("PATTERN") && h.contains("do not attach"), "{h}");
    let h = help("rm");
    assert!(h.contains("--stale") && h.contains("--force") && h.contains("--dry-run") && h.contains("ZeroIPC"), "{h}");
}
