//! The counting semaphore: API, ZeroIPC byte layout, timeouts, and k-exclusion across processes.
//!
//! `ZIPC_SOAK=1` runs the multi-process tests 20 times longer.

use std::time::{Duration, Instant};

use zipc::layout::StructureLayout;
use zipc::semaphore::{COUNT_OFFSET, MAX_COUNT_OFFSET, WAITING_OFFSET};
use zipc::{Array, Atomic, Error, Segment, Semaphore, Structure};
use zipc_tests::{child_args, peek, poke, spawn_role, wait_bounded, ShmName};

/// Hang guard (never reached when things work).
const LIMIT: Duration = Duration::from_secs(120);

/// `n`, or 20 × `n` with `ZIPC_SOAK` set (a longer run of the same checks).
fn soak<T: From<u8> + std::ops::Mul<Output = T>>(n: T) -> T {
    if std::env::var_os("ZIPC_SOAK").is_some() {
        n * T::from(20)
    } else {
        n
    }
}

fn i32_at(name: &ShmName, at: u64) -> i32 {
    i32::from_le_bytes(peek(name, at, 4).try_into().unwrap())
}

#[test]
fn semaphore_api_and_layout() {
    let name = ShmName::new("sem-api");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let s = Semaphore::create(&seg, "s", 2, 3).unwrap();
    assert_eq!((s.count(), s.max(), s.waiting()), (2, Some(3), 0));

    // ZeroIPC v2 bytes: i32 count, i32 waiting, i32 max_count, i32 pad; 16 bytes, 8-aligned.
    let e = seg.entry("s").unwrap().unwrap();
    assert_eq!((e.size, e.offset % 8), (16, 0));
    assert_eq!(peek(&name, e.offset, 16), [2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);

    let a = s.try_acquire().unwrap();
    let b = s.acquire().unwrap();
    assert!(s.try_acquire().is_none());
    assert_eq!(i32_at(&name, e.offset + COUNT_OFFSET), 0);
    drop(a);
    assert_eq!(s.count(), 1);
    b.forget(); // kept: not released
    assert_eq!(s.count(), 1);
    s.release().unwrap();
    s.release().unwrap();
    assert_eq!(s.count(), 3);
    let err = s.release().unwrap_err();
    assert!(matches!(err, Error::AboveMaximum { maximum: 3, .. }), "{err}");
    assert_eq!(s.count(), 3, "a refused release changes nothing");

    // Open adopts the maximum; open_or_create checks it.
    let s2 = Semaphore::open(&seg, "s").unwrap();
    assert_eq!((s2.max(), s2.count()), (Some(3), 3));
    assert!(Semaphore::open_or_create(&seg, "s", 0, 3).is_ok());
    let err = Semaphore::open_or_create(&seg, "s", 0, 4).unwrap_err();
    assert!(matches!(err, Error::ParameterMismatch { parameter: "maximum", .. }), "{err}");
    let u = Semaphore::open_or_create(&seg, "unbounded", 0, 0).unwrap();
    assert_eq!(u.max(), None);
    for _ in 0..1000 {
        u.release().unwrap();
    }
    assert_eq!(u.count(), 1000);

    // Bad declarations are typed errors, nothing is created.
    for (initial, max) in [(4, 3), (1 << 31, 0), (0, 1 << 31)] {
        let err = Semaphore::create(&seg, "bad", initial, max).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{initial}/{max}: {err}");
    }
    assert!(seg.entry("bad").unwrap().is_none());
    Array::<u32>::create(&seg, "arr", 1).unwrap();
    assert!(matches!(Semaphore::open(&seg, "arr"), Err(Error::KindMismatch { .. })));

    // Through the Structure trait, as a declared segment does.
    let decl = StructureLayout { initial: 5, maximum: 0, ..Semaphore::declaration("declared") };
    assert_eq!(Semaphore::create_in(&seg, &decl).unwrap().count(), 5);
    assert!(Semaphore::open_in(&seg, &decl).is_ok());
}

#[test]
fn corrupted_max_count_is_refused_at_open() {
    let name = ShmName::new("sem-corrupt");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    Semaphore::create(&seg, "s", 1, 1).unwrap();
    let at = seg.entry("s").unwrap().unwrap().offset;
    poke(&name, at + MAX_COUNT_OFFSET, &7i32.to_le_bytes());
    let err = Segment::open(&name).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    // A corrupted live count is no reason to refuse the segment: it is just the state.
    poke(&name, at + MAX_COUNT_OFFSET, &1i32.to_le_bytes());
    poke(&name, at + COUNT_OFFSET, &(-5i32).to_le_bytes());
    let seg = Segment::open(&name).unwrap();
    let s = Semaphore::open(&seg, "s").unwrap();
    assert_eq!(s.count(), 0);
    assert!(s.try_acquire().is_none());
}

#[test]
fn acquire_timeout_leaves_the_semaphore_usable() {
    let name = ShmName::new("sem-timeout");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let s = Semaphore::create(&seg, "s", 0, 1).unwrap();
    let t = Instant::now();
    assert!(matches!(s.acquire_timeout(Duration::from_millis(50)), Err(Error::Timeout)));
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert_eq!((s.count(), s.waiting()), (0, 0));
    let at = seg.entry("s").unwrap().unwrap().offset;
    assert_eq!(i32_at(&name, at + WAITING_OFFSET), 0, "the timed-out waiter uncounted itself");
    // A release from another thread wakes a blocked acquirer.
    std::thread::scope(|sc| {
        let waiter = sc.spawn(|| s.acquire_timeout(LIMIT).map(SemaphoreGuardExt::keep));
        while s.waiting() == 0 && !waiter.is_finished() {
            std::thread::yield_now();
        }
        s.release().unwrap();
        waiter.join().unwrap().unwrap();
    });
    assert_eq!(s.count(), 0, "the waiter kept the permit");
}

trait SemaphoreGuardExt {
    fn keep(self);
}

impl SemaphoreGuardExt for zipc::SemaphoreGuard<'_> {
    fn keep(self) {
        self.forget()
    }
}

const PROCS: usize = 4;
const K: u32 = 2;
fn rounds() -> u32 {
    soak(5000)
}

/// Four processes, a semaphore of 2, 5000 rounds each: a shared counter of holders never
/// exceeds 2, every round is admitted, and 2 were inside at once at some point (so the test
/// exercised the limit, not just serial use).
#[test]
fn never_more_than_k_inside() {
    if let Some(args) = child_args("never_more_than_k_inside") {
        let seg = Segment::open(&args[0]).unwrap();
        let s = Semaphore::open(&seg, "s").unwrap();
        let inside = Atomic::<u32>::open(&seg, "inside").unwrap();
        let most = Atomic::<u32>::open(&seg, "most").unwrap();
        let admitted = Atomic::<u64>::open(&seg, "admitted").unwrap();
        let go = Atomic::<u32>::open(&seg, "go").unwrap();
        go.fetch_add(1);
        go.wake_all();
        go.wait(PROCS as u32, Some(LIMIT)).unwrap(); // start together (`go` is PROCS + 1 then)
        for _ in 0..rounds() {
            let permit = s.acquire().unwrap();
            let now = inside.fetch_add(1) + 1;
            assert!(now <= K, "{now} processes inside a semaphore of {K}");
            let mut m = most.load();
            while now > m {
                match most.compare_exchange(m, now) {
                    Ok(_) => break,
                    Err(x) => m = x,
                }
            }
            admitted.fetch_add(1);
            std::thread::yield_now();
            inside.fetch_sub(1);
            drop(permit);
        }
        return;
    }
    let name = ShmName::new("sem-k");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let s = Semaphore::create(&seg, "s", K, K).unwrap();
    Atomic::<u32>::create(&seg, "inside", 0).unwrap();
    let most = Atomic::<u32>::create(&seg, "most", 0).unwrap();
    let admitted = Atomic::<u64>::create(&seg, "admitted", 0).unwrap();
    let go = Atomic::<u32>::create(&seg, "go", 0).unwrap();
    let mut children: Vec<_> = (0..PROCS).map(|_| spawn_role("never_more_than_k_inside", &[&name])).collect();
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
    assert_eq!(admitted.load(), PROCS as u64 * rounds() as u64);
    assert_eq!(most.load(), K, "the semaphore admitted {K} at once at some point");
    assert_eq!((s.count(), s.waiting()), (K, 0));
}

/// Cross-process wake-up and timeout: a child blocks in `acquire` and is released by the
/// parent's `release`; then a child's `acquire_timeout` on an empty semaphore times out, and a
/// later release is still taken.
#[test]
fn release_wakes_another_process() {
    if let Some(args) = child_args("release_wakes_another_process") {
        let seg = Segment::open(&args[0]).unwrap();
        let s = Semaphore::open(&seg, "s").unwrap();
        let got = Atomic::<u32>::open(&seg, "got").unwrap();
        s.acquire().unwrap().forget();
        got.store(1);
        got.wake_all();
        assert!(matches!(s.acquire_timeout(Duration::from_millis(30)), Err(Error::Timeout)));
        got.store(2);
        got.wake_all();
        s.acquire_timeout(LIMIT).unwrap().forget();
        return;
    }
    let name = ShmName::new("sem-wake");
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let s = Semaphore::create(&seg, "s", 0, 0).unwrap();
    let got = Atomic::<u32>::create(&seg, "got", 0).unwrap();
    let mut child = spawn_role("release_wakes_another_process", &[&name]);
    let start = Instant::now();
    while s.waiting() == 0 {
        assert!(start.elapsed() < LIMIT && child.try_wait().unwrap().is_none(), "the child never blocked");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(got.load(), 0, "blocked, not through");
    s.release().unwrap();
    got.wait(0, Some(LIMIT)).unwrap();
    got.wait(1, Some(LIMIT)).unwrap(); // its timed acquire timed out
    s.release().unwrap();
    assert!(wait_bounded(&mut child, LIMIT));
    assert_eq!((s.count(), s.waiting()), (0, 0));
}
