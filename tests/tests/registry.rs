//! The process registry: attaching processes are recorded with pid and start time, detach when
//! their last mapping goes, and dead ones are recognised and their slots reclaimed.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use zipc::{Array, Error, Segment};
use zipc_tests::{child_args, role_command, ShmName};

#[test]
fn attach_counts_mappings_and_detaches() {
    let name = ShmName::new("reg");
    let me = std::process::id();
    let seg = Segment::create(&name, 1 << 16).unwrap();
    let a = Array::<u8>::create(&seg, "a", 4).unwrap();
    let attached = seg.attached_processes();
    assert_eq!(attached.len(), 1);
    assert_eq!((attached[0].process.pid, attached[0].refs, attached[0].alive), (me, 1, true));
    assert_eq!(attached[0].process, zipc::process::current());

    let second = Segment::open(&name).unwrap();
    assert_eq!(seg.attached_processes()[0].refs, 2, "one slot per process, counting mappings");
    drop(second);
    assert_eq!(seg.attached_processes()[0].refs, 1);

    let observer = Segment::open_unattached(&name).unwrap();
    assert_eq!(observer.attached_processes()[0].refs, 1, "an observer does not attach");
    drop(seg);
    assert_eq!(observer.attached_processes().len(), 1, "the array handle still maps the segment");
    drop(a);
    assert!(observer.attached_processes().is_empty());
    assert!(!observer.in_use());
}

/// A child attaches and reports ready, then waits to be killed.
#[test]
fn holder() {
    let Some(args) = child_args("holder") else { return };
    let _seg = Segment::open(&args[0]).unwrap();
    println!("ATTACHED");
    std::thread::sleep(Duration::from_secs(120)); // killed long before
}

fn spawn_holder(name: &str) -> std::process::Child {
    let mut child = role_command("holder", &[name]).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    while !line.contains("ATTACHED") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "holder exited before attaching");
    }
    child
}

#[test]
fn dead_processes_are_recognised_and_reclaimed() {
    let name = ShmName::new("reg-dead");
    let seg = Segment::options().size(1 << 16).max_processes(2).create(&name).unwrap();
    let mut holder = spawn_holder(&name);
    let pids: Vec<u32> = seg.attached_processes().iter().map(|a| a.process.pid).collect();
    assert!(pids.contains(&holder.id()) && pids.len() == 2, "{pids:?}");

    // Both slots are held by live processes: a third attacher is refused, typed.
    let observer = Segment::open_unattached(&name).unwrap();
    let mut third = role_command("holder", &[&name]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    assert!(!zipc_tests::wait_bounded(&mut third, Duration::from_secs(60)));
    let err = String::from_utf8_lossy(&third.wait_with_output().unwrap().stderr).into_owned();
    assert!(err.contains("RegistryFull"), "{err}");

    // Kill the holder: its slot is stale (dead, not yet reaped counts as dead too)...
    holder.kill().unwrap();
    holder.wait().unwrap();
    let attached = observer.attached_processes();
    let dead: Vec<_> = attached.iter().filter(|a| !a.alive).collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].process.pid, holder.id());
    // ...and the next attacher reclaims it.
    let mut replacement = spawn_holder(&name);
    let attached = observer.attached_processes();
    assert_eq!(attached.len(), 2);
    assert!(attached.iter().all(|a| a.alive));
    replacement.kill().unwrap();
    replacement.wait().unwrap();
    drop(seg);
    assert!(!observer.in_use(), "only a dead process remains");
}

#[test]
fn registry_full_is_typed() {
    let name = ShmName::new("reg-full");
    let _seg = Segment::options().size(1 << 16).max_processes(1).create(&name).unwrap();
    // Same process: joins its own slot, never full.
    let _again = Segment::open(&name).unwrap();
    let mut child = spawn_holder_expect_full(&name);
    assert!(!zipc_tests::wait_bounded(&mut child, Duration::from_secs(60)));
    assert_eq!(child.wait().unwrap().code(), Some(3), "the child saw RegistryFull");
}

fn spawn_holder_expect_full(name: &str) -> std::process::Child {
    role_command("expect_full", &[name]).spawn().unwrap()
}

#[test]
fn expect_full() {
    let Some(args) = child_args("expect_full") else { return };
    match Segment::open(&args[0]) {
        Err(e @ Error::RegistryFull { capacity: 1, .. }) => {
            assert!(e.to_string().contains("max_processes"));
            std::process::exit(3); // the parent expects this failure status
        }
        other => panic!("expected RegistryFull, got {other:?}"),
    }
}
