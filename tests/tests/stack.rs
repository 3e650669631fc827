//! `Stack<T>`: LIFO order, full and empty, blocking with timeouts, open checks and corrupt
//! heads within one process; then four processes pushing and popping concurrently with every
//! value popped exactly once and intact, and the node a killed pusher was filling given back.

use std::time::{Duration, Instant};

use zipc::inspect::State;
use zipc::stack::{field, NODE_SIZE};
use zipc::{Array, Atomic, Error, Queue, Segment, Spsc, Stack};
use zipc_tests::{child_args, poke, role_command, spawn_role, ShmName};

const LIMIT: Duration = Duration::from_secs(120);

fn segment(tag: &str) -> (ShmName, Segment) {
    let name = ShmName::new(tag);
    let seg = Segment::create(&name, 4 << 20).unwrap();
    (name, seg)
}

#[test]
fn lifo_full_empty_and_inspect() {
    let (_name, seg) = segment("stack-basic");
    let s = Stack::<[u32; 3]>::create(&seg, "s", 4).unwrap();
    assert_eq!((s.capacity(), s.len(), s.is_empty()), (4, 0, true));
    assert_eq!(s.try_pop().unwrap(), None);
    for i in 0..4 {
        assert!(s.try_push([i, 7, !i]).unwrap());
    }
    assert!(!s.try_push([9; 3]).unwrap(), "full");
    assert_eq!(s.len(), 4);
    assert_eq!(s.try_pop().unwrap(), Some([3, 7, !3]));
    assert!(s.try_push([5, 5, 5]).unwrap());

    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let Some(State::Stack(st)) = &snap.entries[0].state else { panic!("stack state") };
    assert_eq!((st.capacity, st.len, st.stacked, st.free, st.filling), (4, 4, Some(4), Some(0), 0));
    assert!(snap.entries[0].problems.is_empty(), "{:?}", snap.entries[0].problems);
    let report = snap.to_string();
    assert!(report.contains("4/4 values"), "{report}");

    let popped: Vec<[u32; 3]> = std::iter::from_fn(|| s.try_pop().unwrap()).collect();
    assert_eq!(popped, [[5, 5, 5], [2, 7, !2], [1, 7, !1], [0, 7, !0]], "last in, first out");
    assert!(s.is_empty());
    // Every node came back to the free list.
    for i in 0..4 {
        assert!(s.try_push([i; 3]).unwrap());
    }
    assert!(!s.try_push([0; 3]).unwrap());
}

#[test]
fn blocking_push_and_pop_time_out_and_wake() {
    let (_name, seg) = segment("stack-block");
    let s = Stack::<u64>::create(&seg, "s", 1).unwrap();
    let t = Instant::now();
    assert!(matches!(s.pop(Some(Duration::from_millis(30))), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    s.push(1, Some(Duration::ZERO)).unwrap();
    assert!(matches!(s.push(2, Some(Duration::from_millis(10))), Err(Error::Timeout)));
    assert_eq!(s.len(), 1, "a timed-out push leaves the stack as it was");

    let s2 = s.clone();
    let pusher = std::thread::spawn(move || s2.push(2, Some(LIMIT)));
    assert_eq!(s.pop(Some(LIMIT)).unwrap(), 1);
    pusher.join().unwrap().unwrap();
    assert_eq!(s.pop(Some(LIMIT)).unwrap(), 2);

    let s3 = s.clone();
    let popper = std::thread::spawn(move || s3.pop(Some(LIMIT)));
    s.push(3, Some(LIMIT)).unwrap();
    assert_eq!(popper.join().unwrap().unwrap(), 3);
}

#[test]
fn open_checks_type_and_capacity() {
    let (_name, seg) = segment("stack-open");
    Stack::<[f32; 4]>::create(&seg, "s", 10).unwrap();
    assert_eq!(Stack::<[f32; 4]>::open(&seg, "s").unwrap().capacity(), 10);
    assert!(Stack::<[f32; 4]>::open_or_create(&seg, "s", 10).is_ok());
    let err = Stack::<[f32; 4]>::open_or_create(&seg, "s", 11).unwrap_err();
    assert!(matches!(err, Error::CapacityMismatch { expected: 11, found: 10, .. }), "{err}");
    let err = Stack::<[f32; 3]>::open(&seg, "s").unwrap_err();
    assert!(matches!(err, Error::LayoutMismatch { .. }), "{err}");
    let err = Queue::<[f32; 4], Spsc>::open(&seg, "s").unwrap_err();
    assert!(matches!(err, Error::KindMismatch { .. }), "{err}");
    let err = Stack::<u8>::create(&seg, "zero", 0).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let err = Stack::<u8>::create(&seg, "huge", 1 << 32).unwrap_err();
    assert!(err.to_string().contains("4294967294"), "{err}");
    assert!(Stack::<u8>::open_or_create(&seg, "fresh", 3).unwrap().try_push(1).unwrap());
}

#[test]
fn corrupt_stacks_are_errors_not_crashes() {
    let (name, seg) = segment("stack-corrupt");
    let s = Stack::<u64>::create(&seg, "s", 4).unwrap();
    let at = seg.entry("s").unwrap().unwrap().offset;
    poke(&name, at + field::CAPACITY, &5u64.to_le_bytes());
    assert!(matches!(Segment::open(&name), Err(Error::Corrupt { .. })));
    poke(&name, at + field::CAPACITY, &4u64.to_le_bytes());

    // A top outside the stack.
    poke(&name, at + field::TOP, &((7u64 << 32) | 9).to_le_bytes());
    let err = s.try_pop().unwrap_err();
    assert!(matches!(&err, Error::Corrupt { .. }) && err.to_string().contains("node 9"), "{err}");
    assert!(matches!(s.pop(Some(LIMIT)), Err(Error::Corrupt { .. })), "a blocking pop does not hang");
    let problems = &zipc::inspect::snapshot(&seg).unwrap().entries[0].problems;
    assert!(problems.iter().any(|p| p.contains("stack list reaches node 9")), "{problems:?}");

    // A free node linking outside the stack.
    poke(&name, at + field::TOP, &u32::MAX.to_le_bytes());
    poke(&name, at + field::NODES, &1000u32.to_le_bytes()); // node 0 (the free head) -> 1000
    let err = s.try_push(1).unwrap_err();
    assert!(err.to_string().contains("links to node 1000"), "{err}");
    assert!(matches!(s.push(1, Some(LIMIT)), Err(Error::Corrupt { .. })), "a blocking push does not hang");
}

// ---------------------------------------------------------------------------------------------
// Across processes
// ---------------------------------------------------------------------------------------------

const WORKERS: u64 = 4;
const PER_WORKER: u64 = 250_000;
const CAP: u64 = 8;

/// Four processes each push their 250 000 values, `[id, !id, id * 3]` with ids unique across
/// them, in bursts of 1 to 4, and after each burst pop as many values as they pushed (blocking
/// when the stack is empty; a burst cut short by a full stack pops what it pushed). Every popped
/// value is intact and is marked in a shared array with a compare-and-swap 0 → popper, which
/// fails for a value popped twice. At the end every value is marked once and all eight nodes
/// are free.
#[test]
fn processes_push_and_pop_every_value_exactly_once() {
    const TEST: &str = "processes_push_and_pop_every_value_exactly_once";
    if let Some(args) = child_args(TEST) {
        let me: u64 = args[1].parse().unwrap();
        let seg = Segment::open(&args[0]).unwrap();
        let s = Stack::<[u64; 3]>::open(&seg, "s").unwrap();
        let seen = Array::<u32>::open(&seg, "seen").unwrap();
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        go.wait(0, Some(LIMIT)).unwrap();
        let (mut next, mut full, mut blocked) = (0u64, 0u64, 0u64);
        let mut round = me;
        while next < PER_WORKER {
            round = round.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let burst = (1 + (round >> 33) % 4).min(PER_WORKER - next);
            let mut pushed = 0;
            for _ in 0..burst {
                let id = me * PER_WORKER + next;
                if !s.try_push([id, !id, id.wrapping_mul(3)]).unwrap() {
                    full += 1;
                    break;
                }
                next += 1;
                pushed += 1;
            }
            for _ in 0..pushed {
                let v = match s.try_pop().unwrap() {
                    Some(v) => v,
                    None => {
                        blocked += 1;
                        s.pop(Some(LIMIT)).unwrap()
                    }
                };
                let id = v[0];
                assert_eq!(v, [id, !id, id.wrapping_mul(3)], "a torn value");
                assert!(id < WORKERS * PER_WORKER, "a value never pushed: {v:?}");
                let prev = seen.compare_exchange(id as usize, 0, me as u32 + 1).unwrap();
                assert_eq!(prev, Ok(0), "value {id} popped twice");
            }
        }
        println!("STATS {full} {blocked}");
        return;
    }
    let (name, seg) = segment("stack-mp");
    let s = Stack::<[u64; 3]>::create(&seg, "s", CAP).unwrap();
    let seen = Array::<u32>::create(&seg, "seen", WORKERS * PER_WORKER).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let children: Vec<_> = (0..WORKERS)
        .map(|i| role_command(TEST, &[&name, &i.to_string()]).stdout(std::process::Stdio::piped()).spawn().unwrap())
        .collect();
    go.store(1);
    go.wake_all();
    let (mut full, mut blocked) = (0, 0);
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "worker failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let line = stdout.lines().find_map(|l| l.strip_prefix("STATS ")).expect("stats line");
        let mut nums = line.split(' ').map(|n| n.parse::<u64>().unwrap());
        full += nums.next().unwrap();
        blocked += nums.next().unwrap();
    }
    println!(
        "{} values through a stack of {CAP} by {WORKERS} processes; {full} pushes found it full, {blocked} pops waited",
        WORKERS * PER_WORKER
    );
    assert!(s.is_empty());
    let marks = seen.to_vec();
    let missing = marks.iter().filter(|&&m| m == 0).count();
    assert_eq!(missing, 0, "{missing} values never popped");
    for i in 0..CAP {
        assert!(s.try_push([i; 3]).unwrap(), "node {i} is free");
    }
    assert!(!s.try_push([0; 3]).unwrap(), "the free list holds every node once");
}

/// A process is killed while it fills a node — the state a kill inside `push` leaves: the node
/// off the free list, its owner word naming the pusher. Reclaiming gives it back exactly once,
/// and not while the pusher lives.
#[test]
fn a_killed_pushers_node_is_reclaimed_once() {
    const TEST: &str = "a_killed_pushers_node_is_reclaimed_once";
    if child_args(TEST).is_some() {
        std::thread::sleep(Duration::from_secs(120)); // until killed (hang guard)
        panic!("not killed");
    }
    let (name, seg) = segment("stack-reclaim");
    let s = Stack::<u64>::create(&seg, "s", 3).unwrap();
    let at = seg.entry("s").unwrap().unwrap().offset;
    let mut child = spawn_role(TEST, &[]);
    let start = zipc::process::start_time(child.id()).expect("the child's start time");
    let tag = ((child.id() as u64) << 40) | (start & ((1 << 40) - 1));
    // The child "popped" free node 0 (the free head moves to node 1, tag bumped) and recorded
    // itself as the node's owner.
    poke(&name, at + field::FREE, &((1u64 << 32) | 1).to_le_bytes());
    poke(&name, at + field::NODES + 8, &tag.to_le_bytes());
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let Some(State::Stack(st)) = &snap.entries[0].state else { panic!("stack state") };
    assert_eq!((st.free, st.filling), (Some(2), 1));
    assert!(snap.to_string().contains("1 being pushed"), "{snap}");

    assert_eq!(s.reclaim_dead(), 0, "the pusher is alive");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(s.reclaim_dead(), 1, "the killed pusher's node");
    assert_eq!(s.reclaim_dead(), 0, "reclaimed once");
    assert_eq!(s.reclaimed(), 1);
    for i in 0..3 {
        assert!(s.try_push(i).unwrap(), "node {i} free again");
    }
    assert!(!s.try_push(3).unwrap());
    assert_eq!(zipc::inspect::snapshot(&seg).unwrap().entries[0].problems, Vec::<String>::new());
    assert_eq!(NODE_SIZE, 16);
}
