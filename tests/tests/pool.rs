//! `Pool<T>`: handles, generations and the free list within one process, then several processes
//! acquiring and releasing concurrently with no handle ever handed out twice, and handles
//! passed between processes.

use std::time::{Duration, Instant};

use zipc::pool::field;
use zipc::{Array, Atomic, Error, Handle, Pool, Ring, RingMode, Segment};
use zipc_tests::{child_args, poke, role_command, spawn_role, wait_bounded, ShmName};

const LIMIT: Duration = Duration::from_secs(120);

fn segment(tag: &str) -> (ShmName, Segment) {
    let name = ShmName::new(tag);
    let seg = Segment::create(&name, 4 << 20).unwrap();
    (name, seg)
}

#[test]
fn acquire_access_release_and_stale_handles() {
    let (_name, seg) = segment("pool-basic");
    let pool = Pool::<[u32; 3]>::create(&seg, "p", 4).unwrap();
    assert_eq!((pool.capacity(), pool.num_allocated()), (4, 0));
    let hs: Vec<Handle> = (0..4).map(|_| pool.try_acquire().unwrap().expect("free")).collect();
    assert_eq!(pool.try_acquire().unwrap(), None, "exhausted");
    assert_eq!(pool.num_allocated(), 4);
    let mut idx: Vec<u32> = hs.iter().map(|h| h.index).collect();
    idx.sort_unstable();
    assert_eq!(idx, [0, 1, 2, 3]);
    for (i, h) in hs.iter().enumerate() {
        assert_eq!(h.generation % 2, 1, "live generations are odd");
        pool.write(*h, [i as u32, 7, !(i as u32)]).unwrap();
        assert_eq!(pool.owner(*h).unwrap(), zipc::process::current());
    }
    for (i, h) in hs.iter().enumerate() {
        assert_eq!(pool.read(*h).unwrap(), [i as u32, 7, !(i as u32)]);
        assert!(pool.is_live(*h));
    }

    let h = hs[2];
    pool.release(h).unwrap();
    assert_eq!(pool.num_allocated(), 3);
    // Everything through the released handle is a typed error and changes nothing.
    let stale_at = |r: zipc::Result<()>, now: u32| {
        let err = r.unwrap_err();
        assert!(
            matches!(err, Error::StaleHandle { index, generation, current, .. }
                if index == h.index && generation == h.generation && current == now),
            "{err}"
        );
        assert!(err.to_string().contains("stale"), "{err}");
    };
    let stale = |r: zipc::Result<()>| stale_at(r, h.generation + 1);
    stale(pool.release(h));
    stale(pool.read(h).map(|_| ()));
    stale(pool.write(h, [0; 3]));
    stale(pool.as_ptr(h).map(|_| ()));
    stale(pool.owner(h).map(|_| ()));
    assert!(!pool.is_live(h));
    assert_eq!(pool.num_allocated(), 3, "a refused release changes nothing");

    // The slot comes back with a new generation; the old handle stays stale.
    let h2 = pool.try_acquire().unwrap().unwrap();
    assert_eq!((h2.index, h2.generation), (h.index, h.generation + 2));
    stale_at(pool.release(h), h2.generation);
    assert_eq!(pool.read(h2).unwrap(), [2, 7, !2], "an object keeps what its last occupant left");

    // Handles that never were.
    let err = pool.release(Handle { index: 4, generation: 1 }).unwrap_err();
    assert!(matches!(err, Error::IndexOutOfBounds { index: 4, len: 4, .. }), "{err}");
    let even = Handle { index: hs[0].index, generation: hs[0].generation + 1 };
    assert!(matches!(pool.release(even), Err(Error::StaleHandle { .. })));
    assert!(pool.is_live(hs[0]));

    // Raw access for experts.
    let p = pool.as_ptr(hs[0]).unwrap();
    // SAFETY: this test holds the handle and nobody else touches the object.
    unsafe { p.write([9, 9, 9]) };
    assert_eq!(pool.read(hs[0]).unwrap(), [9, 9, 9]);

    for h in [hs[0], hs[1], hs[3], h2] {
        pool.release(h).unwrap();
    }
    assert_eq!(pool.num_allocated(), 0);
    // Handles are plain data.
    assert_eq!(Handle::from_bits(h2.to_bits()), h2);
    assert_eq!(h2.to_string(), format!("{}:{}", h2.index, h2.generation));
}

#[test]
fn handles_are_element_types() {
    let (_name, seg) = segment("pool-handle-elem");
    let pool = Pool::<u64>::create(&seg, "p", 2).unwrap();
    let arr = Array::<Handle>::create(&seg, "handles", 2).unwrap();
    let h = pool.try_acquire().unwrap().unwrap();
    arr.set(1, h).unwrap();
    assert_eq!(arr.get(1), Some(h));
    assert_eq!(zipc::layout::canonical(&<Handle as zipc::ShmType>::SHM_LAYOUT), "{index:u32@0,generation:u32@4}#8");
}

#[test]
fn blocking_acquire_times_out_and_wakes() {
    let (_name, seg) = segment("pool-block");
    let pool = Pool::<u64>::create(&seg, "p", 1).unwrap();
    let h = pool.acquire(Some(Duration::ZERO)).unwrap();
    let t = Instant::now();
    assert!(matches!(pool.acquire(Some(Duration::from_millis(30))), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert_eq!(pool.num_allocated(), 1, "a timed-out acquire leaves the pool as it was");
    let p2 = pool.clone();
    let waiter = std::thread::spawn(move || p2.acquire(Some(LIMIT)).unwrap());
    std::thread::sleep(Duration::from_millis(20));
    pool.release(h).unwrap();
    let got = waiter.join().unwrap();
    assert_eq!((got.index, got.generation), (h.index, h.generation + 2));
}

#[test]
fn open_checks_type_and_capacity() {
    let (_name, seg) = segment("pool-open");
    Pool::<[f32; 4]>::create(&seg, "p", 10).unwrap();
    assert_eq!(Pool::<[f32; 4]>::open(&seg, "p").unwrap().capacity(), 10);
    assert!(Pool::<[f32; 4]>::open_or_create(&seg, "p", 10).is_ok());
    let err = Pool::<[f32; 4]>::open_or_create(&seg, "p", 11).unwrap_err();
    assert!(matches!(err, Error::CapacityMismatch { expected: 11, found: 10, .. }), "{err}");
    let err = Pool::<[f32; 3]>::open(&seg, "p").unwrap_err();
    assert!(matches!(err, Error::LayoutMismatch { .. }), "{err}");
    let err = Ring::<[f32; 4]>::open(&seg, "p").unwrap_err();
    assert!(matches!(err, Error::KindMismatch { .. }), "{err}");
    let err = Pool::<u8>::create(&seg, "zero", 0).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    let err = Pool::<u8>::create(&seg, "huge", 1 << 32).unwrap_err();
    assert!(err.to_string().contains("4294967294"), "{err}");
    assert_eq!(Pool::<u8>::open_or_create(&seg, "fresh", 3).unwrap().try_acquire().unwrap().unwrap().index, 0);
}

#[test]
fn corrupt_pools_are_errors_not_crashes() {
    let (name, seg) = segment("pool-corrupt");
    let pool = Pool::<u64>::create(&seg, "p", 4).unwrap();
    let at = seg.entry("p").unwrap().unwrap().offset;
    poke(&name, at + field::CAPACITY, &5u64.to_le_bytes());
    assert!(matches!(Segment::open(&name), Err(Error::Corrupt { .. })));
    poke(&name, at + field::CAPACITY, &4u64.to_le_bytes());

    // A head pointing outside the pool.
    poke(&name, at + field::HEAD, &((7u64 << 32) | 9).to_le_bytes());
    let err = pool.try_acquire().unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { .. }) && err.to_string().contains("node 9, beyond the capacity 4"),
        "{err}"
    );
    assert!(matches!(pool.acquire(Some(LIMIT)), Err(Error::Corrupt { .. })), "blocking acquire does not hang");

    // A free slot linking outside the pool.
    poke(&name, at + field::HEAD, &0u64.to_le_bytes());
    poke(&name, at + field::SLOTS + 4, &1000u32.to_le_bytes());
    assert!(matches!(pool.try_acquire(), Err(Error::Corrupt { .. })));

    // A list that hands out a slot that is in use: refused, not given twice.
    poke(&name, at + field::SLOTS + 4, &0u32.to_le_bytes()); // slot 0 links to itself
    let h = pool.try_acquire().unwrap().unwrap();
    assert_eq!(h.index, 0);
    let err = pool.try_acquire().unwrap_err();
    assert!(err.to_string().contains("on the free list but acquired"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Across processes
// ---------------------------------------------------------------------------------------------

const WORKERS: usize = 4;
const ROUNDS: u64 = 100_000;
const CAP: u64 = 6;

/// Four processes churn through a pool of six objects, each holding up to three at once
/// (acquiring with a blocking wait when it holds none and none is free). Every acquisition claims the slot's
/// ownership marker (0 → worker id) in a shared array, which fails if the slot is already held:
/// no handle is ever handed out twice. A shared counter of objects held never exceeds the
/// capacity; objects hold what their holder wrote; at the end every object is free again.
#[test]
fn processes_share_a_pool_without_double_handouts() {
    if let Some(args) = child_args("processes_share_a_pool_without_double_handouts") {
        let me: u32 = args[1].parse().unwrap();
        let seg = Segment::open(&args[0]).unwrap();
        let pool = Pool::<[u64; 2]>::open(&seg, "objects").unwrap();
        let marker = Array::<u32>::open(&seg, "marker").unwrap();
        let held = Atomic::<u64>::open(&seg, "held").unwrap();
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        go.wait(0, Some(LIMIT)).unwrap();
        let mut mine: Vec<(Handle, u64)> = Vec::new();
        let mut stats = (0u64, 0u64); // (acquired, blocking waits)
        for round in 0..ROUNDS {
            let want = (round * 7 + me as u64) % 4; // hold 0..=3
            while mine.len() as u64 > want {
                let (h, tag) = mine.swap_remove((round as usize) % mine.len());
                assert_eq!(pool.read(h).unwrap(), [tag, !tag], "object changed under its holder");
                assert_eq!(marker.compare_exchange(h.index as usize, me, 0).unwrap(), Ok(me));
                held.fetch_sub(1);
                pool.release(h).unwrap();
                assert!(matches!(pool.release(h), Err(Error::StaleHandle { .. })));
            }
            while (mine.len() as u64) < want {
                // Never hold and wait (four workers wanting three each would deadlock on six
                // objects): block only while holding nothing, otherwise retry next round.
                let h = match pool.try_acquire().unwrap() {
                    Some(h) => h,
                    None if mine.is_empty() => {
                        stats.1 += 1;
                        pool.acquire(Some(LIMIT)).unwrap()
                    }
                    None => break,
                };
                stats.0 += 1;
                let prev = marker.compare_exchange(h.index as usize, 0, me).unwrap();
                assert_eq!(prev, Ok(0), "slot {} handed out twice (held by {prev:?})", h.index);
                let n = held.fetch_add(1) + 1;
                assert!(n <= CAP, "{n} objects held at once");
                let tag = ((me as u64) << 56) | (round << 8) | mine.len() as u64;
                pool.write(h, [tag, !tag]).unwrap();
                mine.push((h, tag));
            }
        }
        for (h, tag) in mine {
            assert_eq!(pool.read(h).unwrap(), [tag, !tag]);
            assert_eq!(marker.compare_exchange(h.index as usize, me, 0).unwrap(), Ok(me));
            held.fetch_sub(1);
            pool.release(h).unwrap();
        }
        println!("STATS {} {}", stats.0, stats.1);
        return;
    }
    let (name, seg) = segment("pool-mp");
    let pool = Pool::<[u64; 2]>::create(&seg, "objects", CAP).unwrap();
    let marker = Array::<u32>::create(&seg, "marker", CAP).unwrap();
    let held = Atomic::<u64>::create(&seg, "held", 0).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let children: Vec<_> = (1..=WORKERS)
        .map(|i| {
            role_command("processes_share_a_pool_without_double_handouts", &[&name, &i.to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    go.store(1);
    go.wake_all();
    let (mut acquired, mut waits) = (0, 0);
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "worker failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let line = stdout.lines().find_map(|l| l.strip_prefix("STATS ")).expect("stats line");
        let mut nums = line.split(' ').map(|n| n.parse::<u64>().unwrap());
        acquired += nums.next().unwrap();
        waits += nums.next().unwrap();
    }
    assert!(acquired >= ROUNDS, "acquired {acquired}");
    println!("{acquired} acquisitions by {WORKERS} processes, {waits} of them after a blocking wait");
    assert_eq!(pool.num_allocated(), 0);
    assert_eq!(held.load(), 0);
    assert!(marker.to_vec().iter().all(|&m| m == 0));
    let all: Vec<Handle> = (0..CAP).map(|_| pool.try_acquire().unwrap().unwrap()).collect();
    let mut idx: Vec<u32> = all.iter().map(|h| h.index).collect();
    idx.sort_unstable();
    assert_eq!(idx, (0..CAP as u32).collect::<Vec<_>>(), "the free list holds every slot once");
    assert_eq!(pool.try_acquire().unwrap(), None);
}

const PASSED: u64 = 5_000;

/// A process acquires objects, fills them and passes the handles through a ring; this process
/// reads each object through the handle and releases it. The sender's own release attempts of
/// those handles afterwards are stale.
#[test]
fn handles_passed_between_processes() {
    if let Some(args) = child_args("handles_passed_between_processes") {
        let seg = Segment::open(&args[0]).unwrap();
        let pool = Pool::<[u64; 8]>::open(&seg, "frames").unwrap();
        let ring = Ring::<Handle>::open(&seg, "handles").unwrap();
        let mut tx = ring.producer().unwrap();
        let mut sent = Vec::new();
        for i in 0..PASSED {
            let h = pool.acquire(Some(LIMIT)).unwrap();
            assert_eq!(pool.owner(h).unwrap().pid, std::process::id());
            pool.write(h, [i; 8]).unwrap();
            tx.push(h, Some(LIMIT)).unwrap();
            sent.push(h);
        }
        // Wait until the receiver has released everything, then try to release again.
        let done = Atomic::<u32>::open(&seg, "done").unwrap();
        done.wait(0, Some(LIMIT)).unwrap();
        for h in sent {
            assert!(matches!(pool.release(h), Err(Error::StaleHandle { .. })));
        }
        return;
    }
    let (name, seg) = segment("pool-pass");
    let pool = Pool::<[u64; 8]>::create(&seg, "frames", 16).unwrap();
    let ring = Ring::<Handle>::create(&seg, "handles", 8, RingMode::Lossless).unwrap();
    let done = Atomic::<u32>::create(&seg, "done", 0).unwrap();
    let mut rx = ring.consumer().unwrap();
    let mut child = spawn_role("handles_passed_between_processes", &[&name]);
    for i in 0..PASSED {
        let h = rx.pop(Some(LIMIT)).unwrap();
        assert_eq!(pool.read(h).unwrap(), [i; 8]);
        assert_eq!(pool.owner(h).unwrap().pid, child.id(), "the acquirer is recorded");
        pool.release(h).unwrap();
    }
    done.store(1);
    done.wake_all();
    assert!(wait_bounded(&mut child, LIMIT), "sender failed");
    assert_eq!(pool.num_allocated(), 0);
}
