//! `zipc::shm_dir`: classifying the objects in /dev/shm, and removing segments only when no live
//! process is attached — with live and dead attached processes (real child processes, killed).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use zipc::shm_dir::{self, Removed, What};
use zipc::{Array, Error, Segment};
use zipc_tests::{child_args, poke, role_command, ShmName};

/// A child attaches to the segment, says so, and waits to be killed.
#[test]
fn attacher() {
    let Some(args) = child_args("attacher") else { return };
    let _seg = Segment::open(&args[0]).unwrap();
    println!("ATTACHED");
    std::thread::sleep(Duration::from_secs(120)); // killed long before
}

/// A child process attached to `name`, alive until killed.
fn attach(name: &str) -> std::process::Child {
    let mut child = role_command("attacher", &[name]).stdout(Stdio::piped()).spawn().unwrap();
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

/// A segment with one structure whose only attached process was killed.
fn abandoned(tag: &str) -> (ShmName, u32) {
    let name = ShmName::new(tag);
    let seg = Segment::create(&name, 1 << 16).unwrap();
    Array::<u32>::create(&seg, "a", 4).unwrap();
    let child = attach(&name);
    drop(seg);
    (name, kill(child))
}

/// The pid of a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    c.wait().unwrap();
    c.id()
}

#[test]
fn list_classifies_every_object() {
    let me = std::process::id();
    let used = ShmName::new("dir-used");
    let seg = Segment::create(&used, 1 << 16).unwrap();
    Array::<u8>::create(&seg, "x", 1).unwrap();
    Array::<u8>::create(&seg, "y", 1).unwrap();
    let child = attach(&used);
    let (unused, dead) = abandoned("dir-unused");

    let corrupt = ShmName::new("dir-corrupt");
    drop(Segment::create(&corrupt, 1 << 16).unwrap());
    poke(&corrupt, zipc::table::header::NEXT_OFFSET, &1u64.to_le_bytes());
    let other = ShmName::new("dir-other");
    std::fs::write(other.path(), b"not a segment, just bytes of some other program").unwrap();
    let leftover = ShmName(format!("/.zipc-tmp-{}-0-feed", dead_pid()));
    std::fs::write(leftover.path(), [0u8; 64]).unwrap();

    let all = shm_dir::list().unwrap();
    let find = |n: &ShmName| all.iter().find(|o| o.name == n.as_str()).unwrap_or_else(|| panic!("{n:?} not listed"));
    let sorted: Vec<&str> = all.iter().map(|o| o.name.as_str()).collect();
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "sorted by name");

    let o = find(&used);
    assert_eq!(o.size, 1 << 16);
    let What::Zipc { entries, processes } = &o.what else { panic!("{o:?}") };
    assert_eq!(*entries, 2);
    let mut pids: Vec<u32> = processes.iter().filter(|p| p.alive).map(|p| p.process.pid).collect();
    pids.sort();
    let mut expected = vec![me, child.id()];
    expected.sort();
    assert_eq!(pids, expected, "this process and the child, both alive; the lister does not attach");
    assert_eq!(o.in_use(), Some(true));

    let o = find(&unused);
    let What::Zipc { processes, .. } = &o.what else { panic!("{o:?}") };
    assert!(processes.len() == 1 && processes[0].process.pid == dead && !processes[0].alive);
    assert_eq!(o.in_use(), Some(false));

    let o = find(&corrupt);
    assert!(matches!(&o.what, What::Corrupt(why) if why.contains("next_offset")), "{o:?}");
    assert_eq!(o.in_use(), None);
    assert_eq!(find(&other).what, What::Other);
    assert!(matches!(find(&leftover).what, What::Leftover { alive: false, .. }));
    assert_eq!(find(&leftover).in_use(), Some(false));
    assert!(matches!(shm_dir::examine("/zipc-no-such-object"), Err(Error::NotFound { .. })));
    kill(child);
}

#[test]
fn segments_in_use_are_never_removed_unless_forced() {
    let name = ShmName::new("dir-rm-used");
    let seg = Segment::create(&name, 1 << 16).unwrap();
    let child = attach(&name);
    match shm_dir::remove(&name, false) {
        Err(Error::InUse { segment, pids }) => {
            assert_eq!(segment, *name);
            assert!(pids.contains(&std::process::id()) && pids.contains(&child.id()), "{pids:?}");
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    assert!(name.path().exists());
    // Only the child left, alive: still refused.
    drop(seg);
    assert!(matches!(shm_dir::remove(&name, false), Err(Error::InUse { pids, .. }) if pids == [child.id()]));
    // The child dies: nobody alive uses it, and it goes.
    let dead = kill(child);
    assert_eq!(shm_dir::examine(&name).unwrap().in_use(), Some(false));
    assert_eq!(shm_dir::remove(&name, false).unwrap(), Removed::Unused { dead: 1 });
    assert!(!name.path().exists(), "removed (pid {dead} was dead)");
    assert!(matches!(shm_dir::remove(&name, false), Err(Error::NotFound { .. })));

    // Forced: removed although in use; the user keeps its mapping.
    let name = ShmName::new("dir-rm-forced");
    let seg = Segment::create(&name, 1 << 16).unwrap();
    let a = Array::<u32>::create(&seg, "a", 2).unwrap();
    assert_eq!(shm_dir::remove(&name, true).unwrap(), Removed::Forced { pids: vec![std::process::id()] });
    assert!(!name.path().exists());
    a.set(1, 5).unwrap();
    assert_eq!(a.get(1), Some(5));
}

#[test]
fn other_objects_are_removed_by_the_rules() {
    // A segment nobody ever attached to again after its creator left.
    let name = ShmName::new("dir-rm-fresh");
    drop(Segment::create(&name, 1 << 16).unwrap());
    assert_eq!(shm_dir::remove(&name, false).unwrap(), Removed::Unused { dead: 0 });

    // Corrupt: refused with the reason; removed when forced.
    let name = ShmName::new("dir-rm-corrupt");
    drop(Segment::create(&name, 1 << 16).unwrap());
    poke(&name, zipc::table::header::ENTRY_COUNT, &99u32.to_le_bytes());
    assert!(matches!(shm_dir::remove(&name, false), Err(Error::Corrupt { .. })));
    assert!(name.path().exists());
    assert!(matches!(shm_dir::remove(&name, true).unwrap(), Removed::NotASegment(why) if why.contains("entry_count")));
    assert!(!name.path().exists());

    // Not a segment at all: the same.
    let name = ShmName::new("dir-rm-other");
    std::fs::write(name.path(), [1u8; 100]).unwrap();
    assert!(matches!(shm_dir::remove(&name, false), Err(Error::Corrupt { .. })));
    assert!(matches!(shm_dir::remove(&name, true).unwrap(), Removed::NotASegment(_)));

    // A leftover of a dead creator goes; one of a live creator (this process) stays unless forced.
    let dead = ShmName(format!("/.zipc-tmp-{}-3-abc", dead_pid()));
    std::fs::write(dead.path(), [0u8; 8]).unwrap();
    assert_eq!(shm_dir::remove(&dead, false).unwrap(), Removed::Leftover);
    assert!(!dead.path().exists());
    let live = ShmName(format!("/.zipc-tmp-{}-3-abc", std::process::id()));
    std::fs::write(live.path(), [0u8; 8]).unwrap();
    assert!(matches!(shm_dir::remove(&live, false), Err(Error::InUse { .. })));
    assert_eq!(shm_dir::remove(&live, true).unwrap(), Removed::Leftover);

    // A ZeroIPC segment keeps no registry: removed when named.
    let name = ShmName::new("dir-rm-zeroipc");
    let mut b = vec![0u8; 4096];
    b[0..4].copy_from_slice(&zipc::table::MAGIC.to_le_bytes());
    b[4..8].copy_from_slice(&2u32.to_le_bytes());
    b[12..16].copy_from_slice(&1u32.to_le_bytes());
    b[16..24].copy_from_slice(&4096u64.to_le_bytes());
    b[24..32].copy_from_slice(&80u64.to_le_bytes());
    std::fs::write(name.path(), &b).unwrap();
    assert_eq!(shm_dir::examine(&name).unwrap().what, What::ZeroIpc { entries: 0 });
    assert_eq!(shm_dir::examine(&name).unwrap().in_use(), None);
    assert_eq!(shm_dir::remove(&name, false).unwrap(), Removed::UsageUnknown);
    assert!(!name.path().exists());
}

#[test]
fn removal_leaves_no_temporary_name_behind() {
    use std::os::unix::fs::MetadataExt;
    let (name, _) = abandoned("dir-rm-clean");
    let file = std::fs::File::open(name.path()).unwrap();
    shm_dir::remove(&name, false).unwrap();
    // The object has no name left: neither its own nor the temporary one held during removal.
    assert_eq!(file.metadata().unwrap().nlink(), 0);
}
