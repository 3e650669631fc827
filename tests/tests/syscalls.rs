//! The fast paths make no system call when nobody waits: pushes and pops of every queue policy,
//! rings, endpoints, pool acquire and release, semaphore release, latch count-down, event set,
//! barrier completion, uncontended mutex lock and unlock. zipc counts the futex and membarrier
//! calls it makes (`zipc::blocking_syscalls`), and this test checks the count does not move over
//! thousands of operations — then that it does move when a peer really sleeps, so the counter is
//! not silent. (One test in its own binary: the count is per process.)

use std::time::Duration;

use zipc::{
    Barrier, Endpoint, Event, Latch, Mpmc, Mpsc, Mutex, Pool, Queue, ResetMode, Ring, RingMode, Segment, Semaphore,
    Side, Spsc,
};
use zipc_tests::ShmName;

const OPS: u64 = 10_000;

/// Runs `f` and returns how many blocking system calls it made.
fn calls(f: impl FnOnce()) -> u64 {
    let before = zipc::blocking_syscalls();
    f();
    zipc::blocking_syscalls() - before
}

#[test]
fn operations_make_no_system_call_when_nobody_waits() {
    let name = ShmName::new("syscalls");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let spsc = Queue::<u64, Spsc>::create(&seg, "spsc", 64).unwrap();
    let mpsc = Queue::<u64, Mpsc>::create(&seg, "mpsc", 64).unwrap();
    let mpmc = Queue::<u64, Mpmc>::create(&seg, "mpmc", 64).unwrap();
    let ring = Ring::<u64>::create(&seg, "ring", 64, RingMode::Lossless).unwrap();
    let ep = Endpoint::<u64>::create(&seg, "ep", 16).unwrap();
    let pool = Pool::<u64>::create(&seg, "pool", 4).unwrap();
    let sem = Semaphore::create(&seg, "sem", 1, 0).unwrap();
    let latch = Latch::create(&seg, "latch", 1 << 30).unwrap();
    let event = Event::create(&seg, "event", ResetMode::Manual, false).unwrap();
    let barrier = Barrier::create(&seg, "barrier", 1).unwrap();
    let mutex = Mutex::create(&seg, "mutex").unwrap();
    // Opening the first queue registers this process for the membarrier (a system call, once).
    let (mut stx, mut srx) = (spsc.producer().unwrap(), spsc.consumer().unwrap());
    let mut mrx = mpsc.consumer().unwrap();
    let (mut rtx, mut rrx) = (ring.producer().unwrap(), ring.consumer().unwrap());
    let (mut a, mut b) = (ep.side(Side::A).unwrap(), ep.side(Side::B).unwrap());
    mpmc.try_push(0).unwrap(); // takes this thread's lane
    mpmc.try_pop().unwrap();

    let cases: Vec<(&str, u64)> = vec![
        (
            "spsc push/pop",
            calls(|| {
                for i in 0..OPS {
                    stx.push(i, None).unwrap();
                    assert_eq!(srx.pop(None).unwrap(), i);
                }
            }),
        ),
        (
            "mpsc push/pop",
            calls(|| {
                for i in 0..OPS {
                    mpsc.push(i, None).unwrap();
                    assert_eq!(mrx.pop(None).unwrap(), i);
                }
            }),
        ),
        (
            "mpmc push/pop and bulk",
            calls(|| {
                for i in 0..OPS {
                    mpmc.push(i, None).unwrap();
                    assert_eq!(mpmc.pop(None).unwrap(), i);
                }
                let mut buf = [0; 8];
                assert_eq!(mpmc.push_bulk(&[1, 2, 3]).unwrap(), 3);
                assert_eq!(mpmc.pop_bulk(&mut buf).unwrap(), 3);
            }),
        ),
        (
            "ring push/pop",
            calls(|| {
                for i in 0..OPS {
                    rtx.push(i, None).unwrap();
                    assert_eq!(rrx.pop(None).unwrap(), i);
                }
            }),
        ),
        (
            "endpoint send/recv",
            calls(|| {
                for i in 0..OPS {
                    a.send(i, None).unwrap();
                    assert_eq!(b.recv(None).unwrap(), i);
                }
            }),
        ),
        (
            "pool acquire/release",
            calls(|| {
                for _ in 0..OPS {
                    let h = pool.acquire(None).unwrap();
                    pool.release(h).unwrap();
                }
            }),
        ),
        (
            "semaphore acquire/release",
            calls(|| {
                for _ in 0..OPS {
                    drop(sem.acquire().unwrap());
                }
            }),
        ),
        (
            "latch count_down",
            calls(|| {
                for _ in 0..OPS {
                    latch.count_down(1);
                }
            }),
        ),
        (
            "event set/reset",
            calls(|| {
                for _ in 0..OPS {
                    event.set();
                    event.wait().unwrap();
                    event.reset();
                }
            }),
        ),
        (
            "barrier of one",
            calls(|| {
                for _ in 0..OPS {
                    barrier.wait().unwrap();
                }
            }),
        ),
        (
            "mutex lock/unlock",
            calls(|| {
                for _ in 0..OPS {
                    drop(mutex.lock().unwrap());
                }
            }),
        ),
    ];
    for (what, n) in &cases {
        assert_eq!(*n, 0, "{what}: {n} system calls with nobody waiting");
    }

    // A consumer that really sleeps costs system calls: its membarrier and futex wait, and the
    // producer's wake. The counter sees them.
    drop(srx);
    let woken = calls(|| {
        let q = spsc.clone();
        let sleeper = std::thread::spawn(move || q.consumer().map(|mut rx| rx.pop(Some(Duration::from_secs(60)))));
        while spsc.waiting_consumers() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        stx.push(7, None).unwrap();
        assert_eq!(sleeper.join().unwrap().unwrap().unwrap(), 7);
    });
    assert!(woken >= 2, "a sleep and a wake are counted ({woken})");
}
