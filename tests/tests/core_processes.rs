//! The runtime core across real processes: a second process finds structures by name, and many
//! processes creating segments and structures at once leave a consistent table.

use std::collections::HashSet;
use std::time::Duration;

use zipc::{Array, Atomic, Error, Mpmc, Object, Queue, Segment};
use zipc_tests::{child_args, spawn_role, wait_bounded, ShmName};

const LIMIT: Duration = Duration::from_secs(120);

/// Process A writes an array and an atomic; process B opens the segment, finds both by name,
/// checks what A wrote and writes back; A then reads what B wrote.
#[test]
fn second_process_reads_and_writes_back() {
    if let Some(args) = child_args("second_process_reads_and_writes_back") {
        let seg = Segment::open(&args[0]).unwrap();
        let samples = Array::<f64>::open(&seg, "samples").unwrap();
        let turn = Atomic::<u32>::open(&seg, "turn").unwrap();
        turn.wait(0, Some(LIMIT)).unwrap(); // A sets 1 once its data is written
        let seen = samples.to_vec();
        let expected: Vec<f64> = (0..samples.len()).map(|i| i as f64 * 0.5).collect();
        assert_eq!(seen, expected, "B sees A's data");
        let doubled: Vec<f64> = seen.iter().map(|v| v * 2.0).collect();
        samples.write_from(&doubled).unwrap();
        turn.store(2);
        turn.wake_all();
        return;
    }
    let name = ShmName::new("two-proc");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let samples = Array::<f64>::create(&seg, "samples", 1000).unwrap();
    let turn = Atomic::<u32>::create(&seg, "turn", 0).unwrap();
    let mut child = spawn_role("second_process_reads_and_writes_back", &[&name]);
    let data: Vec<f64> = (0..1000).map(|i| i as f64 * 0.5).collect();
    samples.write_from(&data).unwrap();
    turn.store(1);
    turn.wake_all();
    turn.wait(1, Some(LIMIT)).unwrap();
    assert_eq!(turn.load(), 2);
    let back = samples.to_vec();
    assert!(back.iter().enumerate().all(|(i, v)| *v == i as f64), "A reads what B wrote");
    assert!(wait_bounded(&mut child, LIMIT), "child failed");
}

const CREATORS: usize = 6;
const PER_CREATOR: usize = 40;

/// Six processes race to create structures in one segment: 40 names of their own each, plus 20
/// names they all try. Every success is findable, every failure is `AlreadyExists`, and the
/// shared names are each won exactly once.
#[test]
fn concurrent_structure_creation() {
    if let Some(args) = child_args("concurrent_structure_creation") {
        let me: usize = args[1].parse().unwrap();
        let seg = Segment::open(&args[0]).unwrap();
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        go.wait(0, Some(LIMIT)).unwrap();
        let mut won = Vec::new();
        for i in 0..PER_CREATOR {
            // Interleave own and contended names so creations overlap.
            let own = format!("p{me}_{i}");
            Array::<u32>::create(&seg, &own, (i + 1) as u64).unwrap().set(0, me as u32).unwrap();
            if i % 2 == 0 {
                let shared = format!("shared_{}", i / 2);
                match Array::<u32>::create(&seg, &shared, 4) {
                    Ok(a) => {
                        a.set(0, me as u32 + 1).unwrap();
                        won.push(shared);
                    }
                    Err(Error::AlreadyExists { object: Object::Structure, .. }) => {}
                    Err(e) => panic!("unexpected error: {e}"),
                }
            }
        }
        println!("WON {}", won.join(","));
        return;
    }
    let name = ShmName::new("race");
    let seg = Segment::options().size(4 << 20).max_entries(512).create(&name).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let children: Vec<_> = (0..CREATORS)
        .map(|i| {
            zipc_tests::role_command("concurrent_structure_creation", &[&name, &i.to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    go.store(1);
    go.wake_all();
    let mut winners = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "creator failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let line = stdout.lines().find_map(|l| l.strip_prefix("WON ")).unwrap_or("");
        winners.extend(line.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
    }
    // Each contended name was won exactly once.
    let unique: HashSet<_> = winners.iter().collect();
    assert_eq!(unique.len(), winners.len(), "a shared name was created twice: {winners:?}");
    assert_eq!(winners.len(), PER_CREATOR / 2);

    // The table, seen by a fresh opener, holds exactly the successes, each intact.
    let seg = Segment::open(&name).unwrap();
    let entries = seg.entries().unwrap();
    assert_eq!(entries.len(), 1 + CREATORS * PER_CREATOR + PER_CREATOR / 2);
    for p in 0..CREATORS {
        for i in 0..PER_CREATOR {
            let a = Array::<u32>::open(&seg, &format!("p{p}_{i}")).unwrap();
            assert_eq!(a.len(), i + 1);
            assert_eq!(a.get(0), Some(p as u32));
        }
    }
    for i in 0..PER_CREATOR / 2 {
        let a = Array::<u32>::open(&seg, &format!("shared_{i}")).unwrap();
        assert!((1..=CREATORS as u32).contains(&a.get(0).unwrap()), "the winner's write is there");
    }
    // Regions are disjoint (open validates this) and the bump pointer is past all of them.
    let end = entries.iter().map(|e| e.offset + e.size).max().unwrap();
    assert!(seg.size() - seg.free_bytes().unwrap() >= end);
    assert_eq!(seg.lock_recoveries(), 0);
}

/// Several processes create the same segment at once: exactly one succeeds, the others get
/// `AlreadyExists`, and nobody ever opens a half-built segment.
#[test]
fn concurrent_segment_creation() {
    if let Some(args) = child_args("concurrent_segment_creation") {
        let mut created = 0;
        for round in 0..20 {
            let name = format!("{}-{round}", args[0]);
            match Segment::create(&name, 1 << 16) {
                Ok(seg) => {
                    created += 1;
                    Array::<u8>::create(&seg, "x", 1).unwrap();
                }
                Err(Error::AlreadyExists { object: Object::Segment, .. }) => {
                    // Whoever won published a complete segment: it opens and validates.
                    let seg = Segment::open(&name).unwrap();
                    assert!(seg.is_typed());
                }
                Err(e) => panic!("{e}"),
            }
        }
        println!("CREATED {created}");
        return;
    }
    let base = ShmName::new("segrace");
    // Guards first, so the 20 segments are removed even if an assertion below fails.
    let guards: Vec<ShmName> = (0..20).map(|round| ShmName(format!("{}-{round}", base.as_str()))).collect();
    let children: Vec<_> = (0..4)
        .map(|_| {
            zipc_tests::role_command("concurrent_segment_creation", &[&base])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut total = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        total += stdout.lines().find_map(|l| l.strip_prefix("CREATED ")).unwrap().parse::<u32>().unwrap();
    }
    for guard in &guards {
        assert!(guard.path().exists());
    }
    assert_eq!(total, 20, "each of the 20 names was created exactly once");
    // No temporary objects left behind.
    let leftovers: Vec<_> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".zipc-tmp-{}", std::process::id())))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Six processes call `open_or_create` on the same structures at once (a queue and an array, 20
/// rounds): every call succeeds with the same structure — the one that was created — and each
/// name is in the table once.
#[test]
fn concurrent_open_or_create_of_one_structure() {
    const ROUNDS: usize = 20;
    if let Some(args) = child_args("concurrent_open_or_create_of_one_structure") {
        let me: u64 = args[1].parse().unwrap();
        let seg = Segment::open(&args[0]).unwrap();
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        go.wait(0, Some(LIMIT)).unwrap();
        for r in 0..ROUNDS {
            let q = Queue::<u64, Mpmc>::open_or_create(&seg, &format!("q{r}"), 64).unwrap();
            q.push(me, Some(LIMIT)).unwrap();
            let a = Array::<u64>::open_or_create(&seg, &format!("a{r}"), 8).unwrap();
            a.fetch_add(0, 1).unwrap();
        }
        return;
    }
    let name = ShmName::new("ooc-race");
    let seg = Segment::options().size(4 << 20).max_entries(64).create(&name).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let children: Vec<_> = (0..CREATORS)
        .map(|i| spawn_role("concurrent_open_or_create_of_one_structure", &[&name, &i.to_string()]))
        .collect();
    go.store(1);
    go.wake_all();
    for mut c in children {
        assert!(wait_bounded(&mut c, LIMIT), "a caller failed");
    }
    let entries = seg.entries().unwrap();
    assert_eq!(entries.len(), 1 + 2 * ROUNDS, "each name once: {entries:?}");
    for r in 0..ROUNDS {
        let q = Queue::<u64, Mpmc>::open(&seg, &format!("q{r}")).unwrap();
        let mut got: Vec<u64> = std::iter::from_fn(|| q.try_pop().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, (0..CREATORS as u64).collect::<Vec<_>>(), "round {r}: every caller pushed into the one queue");
        assert_eq!(Array::<u64>::open(&seg, &format!("a{r}")).unwrap().load(0).unwrap(), CREATORS as u64);
    }
}
