//! Segments, the table, arrays and atomics through the public API, within one process.

use std::time::Duration;

use zipc::layout::Kind;
use zipc::{Array, Atomic, Error, Object, Segment};
use zipc_tests::ShmName;

#[test]
fn create_open_and_unlink() {
    let name = ShmName::new("basic");
    let seg = Segment::create(&name, 100_000).unwrap();
    assert_eq!(seg.size() % zipc::page_size(), 0, "size rounded up to the page size");
    assert!(seg.size() >= 100_000);
    assert_eq!(seg.max_entries(), 64);
    assert!(seg.is_typed());
    assert!(seg.entries().unwrap().is_empty());

    let again = Segment::create(&name, 100_000).unwrap_err();
    assert!(matches!(again, Error::AlreadyExists { object: Object::Segment, .. }), "{again}");

    let other = Segment::open(&name).unwrap();
    assert_eq!(other.size(), seg.size());
    assert_eq!(other.max_entries(), 64);

    Segment::unlink(&name).unwrap();
    assert!(matches!(Segment::open(&name), Err(Error::NotFound { object: Object::Segment, .. })));
    assert!(matches!(Segment::unlink(&name), Err(Error::NotFound { .. })));
}

#[test]
fn options_are_applied_and_checked() {
    let name = ShmName::new("opts");
    let seg = Segment::options().size(1).max_entries(3).max_processes(2).mode(0o640).create(&name);
    // 1 byte cannot hold the table: a clear error, nothing left behind.
    let err = seg.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert!(!name.path().exists());

    let seg = Segment::options().size(8192).max_entries(3).max_processes(2).mode(0o640).create(&name).unwrap();
    assert_eq!(seg.max_entries(), 3);
    let mode =
        std::fs::metadata(name.path()).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions())).unwrap();
    assert_eq!(mode & 0o777, 0o640, "mode applied exactly, whatever the umask");

    for bad in [0, 4097] {
        let err = Segment::options().max_entries(bad).create(&ShmName::new("bad")).unwrap_err();
        assert!(err.to_string().contains("max_entries"), "{err}");
    }
    let err = Segment::options().mode(0o1777).create(&ShmName::new("bad")).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }));
}

#[test]
fn default_mode_is_0600() {
    let name = ShmName::new("mode");
    let _seg = Segment::create(&name, 1 << 16).unwrap();
    let mode =
        std::fs::metadata(name.path()).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions())).unwrap();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn open_or_create_creates_once() {
    let name = ShmName::new("ooc");
    let a = Segment::open_or_create(&name, 1 << 16).unwrap();
    Array::<u32>::create(&a, "x", 4).unwrap();
    let b = Segment::open_or_create(&name, 1 << 16).unwrap();
    assert_eq!(b.entries().unwrap().len(), 1, "the second call opened the existing segment");
}

#[test]
fn segment_name_rules() {
    for bad in ["noslash", "/", "/a/b", "/.zipc-tmp-x"] {
        let err = Segment::create(bad, 4096).unwrap_err();
        assert!(matches!(err, Error::InvalidName { object: Object::Segment, .. }), "{bad}: {err}");
        assert!(matches!(Segment::open(bad), Err(Error::InvalidName { .. })));
    }
    let long = format!("/{}", "n".repeat(zipc::MAX_SEGMENT_NAME_LEN));
    assert!(matches!(Segment::create(&long, 4096), Err(Error::InvalidName { .. })));
}

#[test]
fn structure_name_rules() {
    let name = ShmName::new("names");
    let seg = Segment::create(&name, 1 << 16).unwrap();
    let ok = "x".repeat(31);
    Array::<u8>::create(&seg, &ok, 1).unwrap();
    for bad in ["", "a\0b", "__zipc", "__zipc_mine"] {
        let err = Array::<u8>::create(&seg, bad, 1).unwrap_err();
        assert!(matches!(err, Error::InvalidName { object: Object::Structure, .. }), "{bad:?}: {err}");
    }
    let err = Array::<u8>::create(&seg, &"x".repeat(32), 1).unwrap_err();
    assert!(err.to_string().contains("32 bytes"), "{err}");
    assert!(matches!(Array::<u8>::open(&seg, &"y".repeat(32)), Err(Error::InvalidName { .. })));
}

#[test]
fn array_round_trip_and_bounds() {
    let name = ShmName::new("array");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let a = Array::<[f32; 3]>::create(&seg, "points", 100).unwrap();
    assert_eq!(a.len(), 100);
    assert_eq!(a.get(7), Some([0.0; 3]), "fresh arrays are zeroed");
    a.set(7, [1.0, 2.0, 3.0]).unwrap();
    assert_eq!(a.get(7), Some([1.0, 2.0, 3.0]));
    assert_eq!(a.get(100), None);
    let err = a.set(100, [0.0; 3]).unwrap_err();
    assert!(matches!(err, Error::IndexOutOfBounds { index: 100, len: 100, .. }), "{err}");
    assert!(err.to_string().contains("points"));

    let src: Vec<[f32; 3]> = (0..50).map(|i| [i as f32, 0.5, -1.0]).collect();
    a.write_at(50, &src).unwrap();
    let mut dst = vec![[0.0f32; 3]; 50];
    a.read_at(50, &mut dst).unwrap();
    assert_eq!(dst, src);
    assert!(matches!(a.write_at(51, &src), Err(Error::IndexOutOfBounds { index: 51, count: 50, .. })));
    assert!(matches!(a.read_at(usize::MAX, &mut dst), Err(Error::IndexOutOfBounds { .. })));

    let b = Array::<[f32; 3]>::open(&seg, "points").unwrap();
    assert_eq!(b.to_vec(), a.to_vec());
}

#[test]
fn array_atomics() {
    let name = ShmName::new("array-atomic");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let a = Array::<i64>::create(&seg, "counters", 4).unwrap();
    a.store(1, -5).unwrap();
    assert_eq!(a.fetch_add(1, 10).unwrap(), -5);
    assert_eq!(a.fetch_sub(1, 1).unwrap(), 5);
    assert_eq!(a.load(1).unwrap(), 4);
    assert_eq!(a.compare_exchange(1, 4, 40).unwrap(), Ok(4));
    assert_eq!(a.compare_exchange(1, 4, 41).unwrap(), Err(40));
    assert!(a.load(4).is_err());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let a = Array::<i64>::open(&seg, "counters").unwrap();
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    a.fetch_add(0, 1).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(a.load(0).unwrap(), 40_000);
}

#[test]
fn atomics_and_futex_wait() {
    let name = ShmName::new("atomic");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let a = Atomic::<u64>::create(&seg, "big", u64::MAX - 1).unwrap();
    assert_eq!(a.load(), u64::MAX - 1, "initial values keep all 64 bits");
    assert_eq!(a.fetch_add(2), u64::MAX - 1);
    assert_eq!(a.load(), 0, "wrapping");
    assert_eq!(a.swap(9), 0);
    assert_eq!(a.compare_exchange(9, 10), Ok(9));
    assert_eq!(a.compare_exchange(9, 11), Err(10));
    let neg = Atomic::<i32>::create(&seg, "neg", -3).unwrap();
    assert_eq!(neg.fetch_sub(1), -3);
    assert_eq!(neg.load(), -4);

    let flag = Atomic::<u32>::create(&seg, "flag", 0).unwrap();
    assert_eq!(flag.wake_all(), 0, "no waiters: no wake");
    let err = flag.wait(0, Some(Duration::from_millis(30))).unwrap_err();
    assert!(matches!(err, Error::Timeout));
    flag.wait(1, None).unwrap(); // value differs: returns at once

    let waiter = {
        let flag = Atomic::<u32>::open(&seg, "flag").unwrap();
        std::thread::spawn(move || flag.wait(0, Some(Duration::from_secs(60))))
    };
    // Make sure the waiter is asleep before waking (or wake finds the value changed: both fine).
    flag.store(1);
    flag.wake_all();
    waiter.join().unwrap().unwrap();
}

/// Whether thread `tid` of this process is asleep in a futex wait.
fn asleep_in_futex(tid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/wchan")).is_ok_and(|w| w.contains("futex"))
}

/// `wake_one` wakes exactly one of two sleepers, `wake_all` the other; a woken sleeper returns
/// because the value changed.
#[test]
fn wake_one_wakes_one_sleeper() {
    let name = ShmName::new("wake-one");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let flag = Atomic::<u32>::create(&seg, "flag", 0).unwrap();
    assert_eq!(flag.wake_one(), 0, "no waiters: no wake");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let sleepers: Vec<_> = (0..2)
        .map(|i| {
            let (flag, done, tids) = (Atomic::<u32>::open(&seg, "flag").unwrap(), done_tx.clone(), tid_tx.clone());
            std::thread::spawn(move || {
                // SAFETY: gettid has no preconditions.
                tids.send((i, unsafe { libc::syscall(libc::SYS_gettid) } as u32)).unwrap();
                flag.wait(0, Some(Duration::from_secs(120))).unwrap();
                done.send(i).unwrap();
            })
        })
        .collect();
    let mut tids = [0u32; 2];
    for _ in 0..2 {
        let (i, tid) = tid_rx.recv().unwrap();
        tids[i] = tid;
    }
    // Both asleep in the kernel (a hang guard bounds the wait, not a timing assumption).
    let start = std::time::Instant::now();
    while !tids.iter().all(|&t| asleep_in_futex(t)) {
        assert!(start.elapsed() < Duration::from_secs(60), "the sleepers never slept");
        std::thread::sleep(Duration::from_millis(1));
    }
    flag.store(1);
    assert_eq!(flag.wake_one(), 1, "one sleeper woken");
    let first = done_rx.recv_timeout(Duration::from_secs(60)).expect("the woken sleeper returns");
    let other = tids[1 - first];
    assert!(asleep_in_futex(other), "the other one sleeps on");
    assert_eq!(flag.wake_all(), 1, "wake_all wakes the rest");
    assert_eq!(done_rx.recv_timeout(Duration::from_secs(60)).unwrap(), 1 - first);
    for s in sleepers {
        s.join().unwrap();
    }
}

#[test]
fn atomic_value_types_are_checked() {
    let name = ShmName::new("atomic-types");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    Atomic::<u32>::create(&seg, "n", 1).unwrap();
    let err = Atomic::<i32>::open(&seg, "n").unwrap_err();
    match err {
        Error::LayoutMismatch { expected, found, .. } => {
            assert_eq!(expected, "i32");
            assert_eq!(found, "u32");
        }
        e => panic!("expected a layout mismatch, got {e}"),
    }
    let err = Array::<u32>::open(&seg, "n").unwrap_err();
    assert!(matches!(err, Error::KindMismatch { expected: Kind::Array, found: Some(Kind::Atomic), .. }), "{err}");
    assert!(err.to_string().contains("is a Atomic") || err.to_string().contains("Atomic"), "{err}");
}

#[test]
fn mismatches_are_typed_and_name_both_sides() {
    let name = ShmName::new("mismatch");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    Array::<[u16; 4]>::create(&seg, "grid", 10).unwrap();

    match Array::<[u16; 3]>::open(&seg, "grid").unwrap_err() {
        Error::LayoutMismatch { structure, expected, found } => {
            assert_eq!(structure, "grid");
            assert_eq!(expected, "[u16;3]");
            assert_eq!(found, "[u16;4]");
        }
        e => panic!("{e}"),
    }
    match Array::<[u16; 4]>::open_or_create(&seg, "grid", 11).unwrap_err() {
        Error::CapacityMismatch { expected: 11, found: 10, .. } => {}
        e => panic!("{e}"),
    }
    assert_eq!(Array::<[u16; 4]>::open_or_create(&seg, "grid", 10).unwrap().len(), 10);
    assert!(matches!(Array::<u8>::open(&seg, "missing"), Err(Error::NotFound { object: Object::Structure, .. })));
    assert!(matches!(
        Array::<[u16; 4]>::create(&seg, "grid", 10),
        Err(Error::AlreadyExists { object: Object::Structure, .. })
    ));
}

#[test]
fn table_full_and_segment_full() {
    let name = ShmName::new("full");
    let seg = Segment::options().size(32768).max_entries(4).create(&name).unwrap();
    for i in 0..3 {
        Array::<u8>::create(&seg, &format!("a{i}"), 8).unwrap();
    }
    match Array::<u8>::create(&seg, "a3", 8).unwrap_err() {
        Error::TableFull { capacity: 4, .. } => {}
        e => panic!("{e}"),
    }

    let name2 = ShmName::new("full2");
    let seg = Segment::options().size(32768).create(&name2).unwrap();
    let free = seg.free_bytes().unwrap();
    let err = Array::<u8>::create(&seg, "huge", free).unwrap_err();
    match &err {
        Error::SegmentFull { needed, free: f, structure, .. } => {
            assert_eq!(structure, "huge");
            assert!(needed > f);
            assert_eq!(*f, free);
        }
        e => panic!("{e}"),
    }
    assert!(err.to_string().contains("larger"), "says what to do: {err}");
    // A failed creation loses nothing: the table is unchanged and smaller ones still fit.
    assert!(seg.entries().unwrap().is_empty());
    Array::<u8>::create(&seg, "fits", free / 2).unwrap();
    assert_eq!(seg.entries().unwrap().len(), 1);
}

#[test]
fn zero_capacity_and_overflow_are_refused() {
    let name = ShmName::new("zero");
    let seg = Segment::create(&name, 1 << 16).unwrap();
    let err = Array::<u32>::create(&seg, "empty", 0).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let err = Array::<u64>::create(&seg, "huge", u64::MAX / 4).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
}

#[test]
fn entries_describe_structures() {
    let name = ShmName::new("entries");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    Array::<f64>::create(&seg, "samples", 32).unwrap();
    Atomic::<i64>::create(&seg, "seq", 5).unwrap();
    let entries = seg.entries().unwrap();
    assert_eq!(entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["samples", "seq"]);
    let d = entries[0].descriptor.as_ref().unwrap();
    assert_eq!((d.kind, d.capacity, d.elem_size, d.elem_align), (Kind::Array, 32, 8, 8));
    assert_eq!(d.type_name.as_deref(), Some("f64"));
    assert_eq!(d.canonical.as_deref(), Some("f64"));
    assert_eq!(d.fingerprint, zipc::layout::fnv1a64(b"f64"));
    assert_eq!(entries[0].size, 8 + 32 * 8);
    let d = entries[1].descriptor.as_ref().unwrap();
    assert_eq!((d.kind, d.initial), (Kind::Atomic, 5));
    assert_eq!(entries[1].offset % 128, 0);
}

#[test]
fn permission_denied_is_typed() {
    let name = ShmName::new("perm");
    let _seg = Segment::options().size(1 << 16).mode(0o600).create(&name).unwrap();
    // Root ignores file modes, so open from a child that has dropped to an unprivileged user.
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root = unsafe { libc::geteuid() } == 0;
    if !is_root {
        std::fs::set_permissions(name.path(), std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
        let err = Segment::open(&name).unwrap_err();
        assert!(matches!(err, Error::PermissionDenied { call: "shm_open", .. }), "{err}");
        return;
    }
    let mut child = zipc_tests::role_command("open_as_nobody", &[&name]).spawn().unwrap();
    assert!(zipc_tests::wait_bounded(&mut child, Duration::from_secs(60)), "child saw PermissionDenied");
}

#[test]
fn open_as_nobody() {
    let Some(args) = zipc_tests::child_args("open_as_nobody") else { return };
    // SAFETY: plain system calls in a single-purpose child process.
    unsafe {
        assert_eq!(libc::setgid(65534), 0);
        assert_eq!(libc::setuid(65534), 0);
    }
    let err = Segment::open(&args[0]).unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { call: "shm_open", .. }), "{err}");
    assert!(err.to_string().contains("permission denied"), "{err}");
}
