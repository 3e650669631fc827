//! The robust mutex: exclusion across processes, owner-died after SIGKILL inside the critical
//! section (with waiters queued in the kernel, and without), recovery, unrecoverability,
//! timeouts.
//!
//! `ZIPC_SOAK=1` runs the multi-process tests 20 times longer.

use std::process::Child;
use std::time::{Duration, Instant};

use zipc::mutex::{STATE_OFFSET, WORD_TID_MASK, WORD_WAITERS};
use zipc::{Array, Atomic, Error, Mutex, Segment};
use zipc_tests::{child_args, peek, spawn_role, until, wait_bounded, ShmName};

/// Hang guard for children and waits (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);

/// `n`, or 20 × `n` with `ZIPC_SOAK` set (a longer run of the same checks).
fn soak<T: From<u8> + std::ops::Mul<Output = T>>(n: T) -> T {
    if std::env::var_os("ZIPC_SOAK").is_some() {
        n * T::from(20)
    } else {
        n
    }
}

fn entry_offset(seg: &Segment, name: &str) -> u64 {
    seg.entry(name).unwrap().unwrap().offset
}

fn word(name: &ShmName, seg: &Segment, mutex: &str) -> u32 {
    let at = entry_offset(seg, mutex);
    u32::from_le_bytes(peek(name, at, 4).try_into().unwrap())
}

#[test]
fn lock_basics_in_one_process() {
    let name = ShmName::new("mutex-basic");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let m = Mutex::create(&seg, "m").unwrap();
    assert!(!m.is_locked() && m.holder().is_none() && m.is_recoverable());

    let g = m.lock().unwrap();
    assert!(!g.owner_died() && g.is_consistent());
    assert!(m.is_locked());
    let me = zipc::process::current_thread();
    let holder = m.holder().unwrap();
    assert_eq!((holder.tid, holder.pid, holder.start_time), (me.tid, me.pid, me.start_time));
    assert_eq!(word(&name, &seg, "m") & WORD_TID_MASK, me.tid, "the word holds the holder's thread id");

    // The same thread again: an error instead of a deadlock; try_lock says "held".
    assert!(matches!(m.lock(), Err(Error::WouldDeadlock { .. })));
    assert!(m.try_lock().unwrap().is_none());
    // Another thread: held, and times out.
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(m.try_lock().unwrap().is_none());
            let t = Instant::now();
            assert!(matches!(m.lock_timeout(Duration::from_millis(30)), Err(Error::Timeout)));
            assert!(t.elapsed() >= Duration::from_millis(30));
        });
    });
    drop(g);
    assert!(!m.is_locked() && m.holder().is_none());
    assert_eq!(word(&name, &seg, "m"), 0, "an uncontended unlock leaves the word free");

    // Usable after the timeout, from another handle and thread.
    let m2 = Mutex::open(&seg, "m").unwrap();
    std::thread::scope(|s| {
        s.spawn(|| drop(m2.lock_timeout(Duration::from_secs(10)).unwrap()));
    });
    assert!(m.try_lock().unwrap().is_some());
    assert_eq!(m.owner_deaths(), 0);

    // Wrong kind, and the region's size and alignment.
    Array::<u32>::create(&seg, "arr", 4).unwrap();
    assert!(matches!(Mutex::open(&seg, "arr"), Err(Error::KindMismatch { .. })));
    let e = seg.entry("m").unwrap().unwrap();
    assert_eq!((e.size, e.offset % 128), (zipc::mutex::REGION_SIZE, 0));
    assert!(Mutex::open_or_create(&seg, "m").is_ok());
    assert!(Mutex::open_or_create(&seg, "m_new").is_ok());
}

/// Threads of one process contend too: each thread is its own owner.
#[test]
fn threads_exclude_each_other() {
    let name = ShmName::new("mutex-threads");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let m = Mutex::create(&seg, "m").unwrap();
    let counter = Array::<u64>::create(&seg, "counter", 1).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..2000 {
                    let _g = m.lock().unwrap();
                    counter.set(0, counter.get(0).unwrap() + 1).unwrap(); // not atomic on purpose
                }
            });
        }
    });
    assert_eq!(counter.get(0), Some(8000));
    assert!(!m.is_locked());
}

const PROCS: usize = 4;
fn rounds() -> u64 {
    soak(5000)
}

/// Four processes increment a plain (non-atomic) shared counter under the mutex: the total is
/// exact, so no two were ever inside at once.
#[test]
fn four_processes_count_exactly() {
    if let Some(args) = child_args("four_processes_count_exactly") {
        let seg = Segment::open(&args[0]).unwrap();
        let m = Mutex::open(&seg, "m").unwrap();
        let counter = Array::<u64>::open(&seg, "counter").unwrap();
        let inside = Atomic::<u32>::open(&seg, "inside").unwrap();
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        go.fetch_add(1);
        go.wake_all();
        go.wait(PROCS as u32, Some(LIMIT)).unwrap(); // start together (`go` is PROCS + 1 then)
        let contended = Atomic::<u64>::open(&seg, "contended").unwrap();
        for i in 0..rounds() {
            if m.is_locked() {
                contended.fetch_add(1);
            }
            let g = m.lock().unwrap();
            assert!(!g.owner_died());
            assert_eq!(inside.fetch_add(1), 0, "two processes inside the mutex");
            let v = counter.get(0).unwrap();
            if i % 16 == 0 {
                std::thread::yield_now(); // let the others run into the held lock
            }
            counter.set(0, v + 1).unwrap();
            inside.fetch_sub(1);
        }
        return;
    }
    let name = ShmName::new("mutex-count");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let m = Mutex::create(&seg, "m").unwrap();
    let counter = Array::<u64>::create(&seg, "counter", 1).unwrap();
    Atomic::<u32>::create(&seg, "inside", 0).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let contended = Atomic::<u64>::create(&seg, "contended", 0).unwrap();
    let mut children: Vec<Child> = (0..PROCS).map(|_| spawn_role("four_processes_count_exactly", &[&name])).collect();
    let mut ready = go.load();
    while ready < PROCS as u32 {
        go.wait(ready, Some(LIMIT)).unwrap();
        ready = go.load();
    }
    go.store(PROCS as u32 + 1);
    go.wake_all();
    for c in &mut children {
        assert!(wait_bounded(c, LIMIT), "a child failed");
    }
    assert_eq!(counter.get(0), Some(PROCS as u64 * rounds()));
    assert!(!m.is_locked());
    assert_eq!(m.owner_deaths(), 0);
    println!("{} of {} locks found the mutex held", contended.load(), PROCS as u64 * rounds());
}

/// The child role for the kill tests: lock, half-update the protected pair, say so, and hang
/// inside the critical section until killed.
fn hold_and_hang(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let m = Mutex::open(&seg, "m").unwrap();
    let pair = Array::<u64>::open(&seg, "pair").unwrap();
    let inside = Atomic::<u32>::open(&seg, "inside").unwrap();
    let g = m.lock().unwrap();
    pair.set(0, 1).unwrap(); // invariant pair[0] == pair[1] broken ...
    inside.store(1);
    inside.wake_all();
    loop {
        std::thread::sleep(Duration::from_secs(3600)); // ... and never restored
        let _ = &g;
    }
}

struct Killed {
    name: ShmName,
    seg: Segment,
    m: Mutex,
    pair: Array<u64>,
}

/// Starts a child that dies (SIGKILL) inside the critical section. With `queued`, a thread of
/// this process is already blocked in `lock` — queued in the kernel — when the child dies, and
/// its result is returned.
fn kill_holder(test: &str, queued: bool) -> (Killed, Option<(bool, u64, u64)>) {
    let name = ShmName::new("mutex-kill");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let m = Mutex::create(&seg, "m").unwrap();
    let pair = Array::<u64>::create(&seg, "pair", 2).unwrap();
    let inside = Atomic::<u32>::create(&seg, "inside", 0).unwrap();
    let mut child = spawn_role(test, &[&name]);
    inside.wait(0, Some(LIMIT)).unwrap();
    assert!(m.is_locked());
    let holder = m.holder().unwrap();
    assert_eq!(holder.pid, child.id(), "the mutex records its holder");
    let queued_result = if queued {
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let mut g = m.lock_timeout(LIMIT).unwrap();
                let seen = (g.owner_died(), pair.get(0).unwrap(), pair.get(1).unwrap());
                pair.set(1, pair.get(0).unwrap()).unwrap(); // repair
                g.mark_consistent();
                seen
            });
            // Kill only once the waiter is queued in the kernel (it set the waiters bit).
            until("the waiter to queue", || word(&name, &seg, "m") & WORD_WAITERS != 0);
            child.kill().unwrap();
            Some(waiter.join().unwrap())
        })
    } else {
        child.kill().unwrap();
        None
    };
    child.wait().unwrap(); // reap (the lock is taken over whether or not the zombie is reaped)
    (Killed { name, seg, m, pair }, queued_result)
}

fn locks_cleanly_afterwards(k: &Killed) {
    for _ in 0..3 {
        let g = k.m.lock_timeout(LIMIT).unwrap();
        assert!(!g.owner_died(), "repaired: later lockers are not told again");
    }
    assert_eq!(k.m.owner_deaths(), 1);
    assert!(k.m.is_recoverable() && !k.m.is_locked());
    assert_eq!(k.pair.to_vec(), vec![1, 1]);
}

/// SIGKILL while another process's thread is blocked in `lock`: the kernel hands it the lock at
/// once, with owner-died.
#[test]
fn holder_killed_with_a_waiter_queued() {
    if let Some(args) = child_args("holder_killed_with_a_waiter_queued") {
        return hold_and_hang(&args);
    }
    let (k, seen) = kill_holder("holder_killed_with_a_waiter_queued", true);
    assert_eq!(seen, Some((true, 1, 0)), "the waiter got owner-died and saw the half-update");
    locks_cleanly_afterwards(&k);
}

/// SIGKILL with nobody waiting: the next `lock` finds the dead thread's id in the word, gets
/// ESRCH from the kernel and takes over, with owner-died.
#[test]
fn holder_killed_with_nobody_waiting() {
    if let Some(args) = child_args("holder_killed_with_nobody_waiting") {
        return hold_and_hang(&args);
    }
    let (k, _) = kill_holder("holder_killed_with_nobody_waiting", false);
    assert!(k.m.is_locked(), "the dead holder's id is still in the word");
    let mut g = k.m.lock_timeout(LIMIT).unwrap();
    assert!(g.owner_died() && !g.is_consistent());
    assert_eq!((k.pair.get(0), k.pair.get(1)), (Some(1), Some(0)));
    k.pair.set(1, 1).unwrap();
    g.mark_consistent();
    drop(g);
    locks_cleanly_afterwards(&k);
}

/// `try_lock` detects the dead holder too.
#[test]
fn try_lock_takes_over_from_a_dead_holder() {
    if let Some(args) = child_args("try_lock_takes_over_from_a_dead_holder") {
        return hold_and_hang(&args);
    }
    let (k, _) = kill_holder("try_lock_takes_over_from_a_dead_holder", false);
    let mut g = k.m.try_lock().unwrap().expect("a dead holder's lock is free to take");
    assert!(g.owner_died());
    k.pair.set(1, 1).unwrap();
    g.mark_consistent();
    drop(g);
    locks_cleanly_afterwards(&k);
}

/// Dropping an owner-died guard without marking it consistent makes the mutex unrecoverable,
/// for every handle and process, for good — including a thread already queued.
#[test]
fn unrepaired_owner_death_is_not_recoverable() {
    if let Some(args) = child_args("unrepaired_owner_death_is_not_recoverable") {
        if args.len() > 1 {
            // A second process, opening afterwards.
            let seg = Segment::open(&args[0]).unwrap();
            let m = Mutex::open(&seg, "m").unwrap();
            assert!(matches!(m.lock(), Err(Error::NotRecoverable { .. })));
            return;
        }
        return hold_and_hang(&args);
    }
    let (k, _) = kill_holder("unrepaired_owner_death_is_not_recoverable", false);
    let g = k.m.lock_timeout(LIMIT).unwrap();
    assert!(g.owner_died());
    std::thread::scope(|s| {
        let queued = s.spawn(|| k.m.lock_timeout(LIMIT).map(|_| ()));
        until("the second locker to queue", || word(&k.name, &k.seg, "m") & WORD_WAITERS != 0);
        drop(g); // not marked consistent
        assert!(matches!(queued.join().unwrap(), Err(Error::NotRecoverable { .. })));
    });
    assert!(!k.m.is_recoverable());
    let state = u32::from_le_bytes(peek(&k.name, entry_offset(&k.seg, "m") + STATE_OFFSET, 4).try_into().unwrap());
    assert_eq!(state, zipc::mutex::STATE_NOT_RECOVERABLE);
    assert!(matches!(k.m.lock(), Err(Error::NotRecoverable { .. })));
    assert!(matches!(k.m.try_lock(), Err(Error::NotRecoverable { .. })));
    assert!(matches!(k.m.lock_timeout(Duration::from_millis(1)), Err(Error::NotRecoverable { .. })));
    let mut other = spawn_role("unrepaired_owner_death_is_not_recoverable", &[&k.name, "late"]);
    assert!(wait_bounded(&mut other, LIMIT), "the late process was not refused");
    assert!(!k.m.is_locked(), "failed lockers leave it unlocked");
    let err = k.m.lock().unwrap_err().to_string();
    assert!(err.contains("mark_consistent"), "{err}");
}

/// A process holding the mutex makes another's `lock_timeout` time out; after the release the
/// same handle locks at once.
#[test]
fn lock_timeout_across_processes() {
    if let Some(args) = child_args("lock_timeout_across_processes") {
        let seg = Segment::open(&args[0]).unwrap();
        let m = Mutex::open(&seg, "m").unwrap();
        let step = Atomic::<u32>::open(&seg, "step").unwrap();
        let g = m.lock().unwrap();
        step.store(1);
        step.wake_all();
        step.wait(1, Some(LIMIT)).unwrap(); // until the parent timed out
        drop(g);
        step.store(3);
        step.wake_all();
        return;
    }
    let name = ShmName::new("mutex-timeout");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let m = Mutex::create(&seg, "m").unwrap();
    let step = Atomic::<u32>::create(&seg, "step", 0).unwrap();
    let mut child = spawn_role("lock_timeout_across_processes", &[&name]);
    step.wait(0, Some(LIMIT)).unwrap();
    let t = Instant::now();
    assert!(matches!(m.lock_timeout(Duration::from_millis(50)), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert!(m.try_lock().unwrap().is_none());
    step.store(2);
    step.wake_all();
    let g = m.lock_timeout(LIMIT).unwrap();
    assert!(!g.owner_died());
    drop(g);
    assert!(wait_bounded(&mut child, LIMIT));
    assert_eq!(m.owner_deaths(), 0);
}

/// A holder's thread id reused by an unrelated live thread is not taken for the holder: the
/// word and holder record name a live process (`sleep`) whose start time differs from the
/// recorded one, as after a holder died and its id was reused. Blocked lockers notice at their
/// next re-check; one takes over, with owner-died, and the other gets the lock after it.
#[test]
fn a_reused_thread_id_is_not_the_holder() {
    use zipc::mutex::{HOLDER_PID_OFFSET, HOLDER_START_OFFSET, HOLDER_TID_OFFSET, WORD_OFFSET};
    let name = ShmName::new("mutex-reuse");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let m = Mutex::create(&seg, "m").unwrap();
    let mut stranger = std::process::Command::new("sleep").arg("120").spawn().unwrap();
    let pid = stranger.id();
    let real_start = zipc::process::start_time(pid).expect("the stranger is alive");
    let at = entry_offset(&seg, "m");
    zipc_tests::poke(&name, at + HOLDER_TID_OFFSET, &pid.to_le_bytes());
    zipc_tests::poke(&name, at + HOLDER_PID_OFFSET, &pid.to_le_bytes());
    zipc_tests::poke(&name, at + HOLDER_START_OFFSET, &(real_start + 1).to_le_bytes());
    zipc_tests::poke(&name, at + WORD_OFFSET, &pid.to_le_bytes());
    assert!(m.try_lock().unwrap().is_none(), "try_lock sees a live thread in the word");
    // Two lockers queue on the stranger; one takes over (told owner-died), then the other.
    let died = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut g = m.lock_timeout(LIMIT).unwrap();
                if g.owner_died() {
                    died.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    g.mark_consistent();
                }
            });
        }
    });
    assert_eq!(died.into_inner(), 1);
    assert!(!m.lock().unwrap().owner_died());
    assert!(!m.is_locked());
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}
