//! The fuzz entry point over segment bytes, shared by the cargo-fuzz target (`fuzz/`) and the
//! ordinary test that runs it on 100 000 random and mutated segments
//! (`tests/tests/fuzz_segments.rs`). Hidden from the docs: it is a test harness, not an API.
//!
//! [`Harness::run`] writes the bytes as the whole content of a shared-memory object, then does
//! what a peer of a hostile process would: opens it (validation, registry attach), inspects it
//! (snapshot, report, JSON), opens every structure it finds — typed with the element types of
//! the fixture that [`seeds`] builds, and as untyped arrays in ZeroIPC segments — and operates
//! on each with zero timeouts: push, pop, claim roles, acquire, lock, wait, set, ... It may
//! return errors all along; it must never panic, hang or fault. One object is reused for every
//! run (rewritten in place), which keeps a run cheap.

use std::cell::RefCell;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::error::Result;
use crate::layout::Kind;
use crate::structures::pool::Handle;
use crate::{
    Array, Atomic, Barrier, Condvar, Endpoint, Event, Future, Latch, Lossless, Lossy, Map, Mpmc, Mpsc, Mutex, Once,
    Pool, Queue, ResetMode, Ring, RingMode, RwLock, Segment, Semaphore, Set, ShmType, Side, Spsc, Stack, Topic,
    TopicMode,
};

/// A shared-memory object that runs are written into; unlinked on drop.
#[derive(Debug)]
pub struct Harness {
    name: String,
    file: std::fs::File,
    len: u64,
}

impl Harness {
    /// Creates the object `/zipc-fuzz-PID-N`.
    pub fn new() -> Result<Harness> {
        use std::sync::atomic::AtomicU32;
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("/zipc-fuzz-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let path = crate::segment::mapping::shm_path(&name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| crate::Error::os("create", &name, e))?;
        Ok(Harness { name, file, len: 0 })
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes `bytes` the object's whole content, then exercises it (see the module docs).
    pub fn run(&mut self, bytes: &[u8]) {
        let len = bytes.len() as u64;
        if len != self.len {
            self.file.set_len(len).expect("resizing the fuzz object");
            self.len = len;
        }
        self.file.write_all_at(bytes, 0).expect("writing the fuzz object");
        exercise_segment(&self.name);
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(crate::segment::mapping::shm_path(&self.name));
    }
}

/// Runs `bytes` through this thread's [`Harness`] (made on first use).
pub fn exercise(bytes: &[u8]) {
    thread_local! {
        static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
    }
    HARNESS.with(|h| {
        let mut h = h.borrow_mut();
        h.get_or_insert_with(|| Harness::new().expect("creating the fuzz object")).run(bytes)
    });
}

const ZERO: Option<Duration> = Some(Duration::ZERO);

fn exercise_segment(name: &str) {
    let Ok(seg) = Segment::open(name) else { return };
    if let Ok(snapshot) = crate::inspect::snapshot(&seg) {
        let _ = snapshot.to_string();
        let _ = snapshot.to_json();
    }
    let _ = seg.free_bytes();
    let _ = seg.lock_recoveries();
    let _ = seg.in_use();
    let Ok(entries) = seg.entries() else { return };
    for e in &entries {
        let _ = seg.entry(&e.name);
        match &e.descriptor {
            Some(d) => {
                let canonical = d.canonical.as_deref().unwrap_or("");
                typed(&seg, &e.name, d.kind, d.flags, canonical);
            }
            None => untyped(&seg, &e.name),
        }
    }
    // Creating a structure takes the table lock, which waits (up to 30 s) for a live holder:
    // only when the bytes say it is free.
    if let Some(d) = seg.description() {
        if seg.mapping().u32_at(d.field(crate::segment::description::header::LOCK_WORD)).load(Ordering::Relaxed) == 0 {
            if let Ok(a) = Array::<u32>::create(&seg, "fuzz_new", 3) {
                let _ = a.set(2, 7);
            }
        }
    }
}

/// Calls `$f::<T>($args)` with the element type whose canonical layout is `$canonical`, for
/// the element types of the seed fixture.
macro_rules! with_element {
    ($canonical:expr, $f:ident ( $($args:expr),* )) => {
        match $canonical {
            "u8" => $f::<u8>($($args),*),
            "u16" => $f::<u16>($($args),*),
            "u32" => $f::<u32>($($args),*),
            "i32" => $f::<i32>($($args),*),
            "u64" => $f::<u64>($($args),*),
            "i64" => $f::<i64>($($args),*),
            "f32" => $f::<f32>($($args),*),
            "f64" => $f::<f64>($($args),*),
            "[u16;3]" => $f::<[u16; 3]>($($args),*),
            "[u8;16]" => $f::<[u8; 16]>($($args),*),
            c if c == HANDLE_CANONICAL => $f::<Handle>($($args),*),
            _ => {}
        }
    };
}

const HANDLE_CANONICAL: &str = "{index:u32@0,generation:u32@4}#8";

fn typed(seg: &Segment, name: &str, kind: Kind, flags: u32, canonical: &str) {
    use crate::layout::flags::{POLICY_MPMC, POLICY_MPSC, POLICY_SPSC};
    match kind {
        Kind::Array => with_element!(canonical, array(seg, name)),
        Kind::Atomic => match canonical {
            "u32" => atomic32::<u32>(seg, name),
            "i32" => atomic32::<i32>(seg, name),
            "u64" => atomic64::<u64>(seg, name),
            "i64" => atomic64::<i64>(seg, name),
            _ => {}
        },
        Kind::Queue => match flags {
            POLICY_SPSC => with_element!(canonical, queue_spsc(seg, name)),
            POLICY_MPSC => with_element!(canonical, queue_mpsc(seg, name)),
            POLICY_MPMC => with_element!(canonical, queue_mpmc(seg, name)),
            _ => {}
        },
        Kind::Ring => with_element!(canonical, ring(seg, name)),
        Kind::Pool => with_element!(canonical, pool(seg, name)),
        Kind::Stack => with_element!(canonical, stack(seg, name)),
        Kind::Map => match canonical {
            "{key:u64@0,value:f64@8}#16" => map::<u64, f64>(seg, name),
            "{key:[u8;16]@0,value:[u16;3]@16}#24" => map::<[u8; 16], [u16; 3]>(seg, name),
            _ => {}
        },
        Kind::Set => with_element!(canonical, set(seg, name)),
        Kind::Endpoint => with_element!(canonical, endpoint(seg, name)),
        Kind::Semaphore => semaphore(seg, name),
        Kind::Barrier => barrier(seg, name),
        Kind::Latch => latch(seg, name),
        Kind::Mutex => mutex(seg, name),
        Kind::Condvar => condvar(seg, name),
        Kind::Once => once(seg, name),
        Kind::RwLock => rwlock(seg, name),
        Kind::Future => with_element!(canonical, future(seg, name)),
        Kind::Event => event(seg, name),
        Kind::Topic => match flags {
            0 => with_element!(canonical, topic_lossless(seg, name)),
            crate::layout::flags::TOPIC_LOSSY => with_element!(canonical, topic_lossy(seg, name)),
            _ => {}
        },
    }
}

/// A ZeroIPC entry: whatever arrays its size allows.
fn untyped(seg: &Segment, name: &str) {
    array::<u8>(seg, name);
    array::<u32>(seg, name);
    array::<u64>(seg, name);
    let _ = Queue::<u64, Mpmc>::open(seg, name); // refused: no kind recorded
}

fn array<T: ShmType>(seg: &Segment, name: &str) {
    let Ok(a) = Array::<T>::open(seg, name) else { return };
    let n = a.len();
    let _ = a.get(0);
    let _ = a.get(n.wrapping_sub(1));
    let _ = a.get(n);
    let _ = a.set(n.wrapping_sub(1), T::new_zeroed());
    let _ = a.set(n, T::new_zeroed());
    let mut buf = [T::new_zeroed(); 4];
    let _ = a.read_at(n.saturating_sub(2), &mut buf);
    let _ = a.read_into(&mut buf[..n.min(4)]);
    let _ = a.write_at(n.saturating_sub(1), &buf[..1]);
    if n <= 4096 {
        let _ = a.to_vec();
    }
}

fn atomic32<T: crate::structures::atomic::Futex32>(seg: &Segment, name: &str) {
    let Ok(a) = Atomic::<T>::open(seg, name) else { return };
    let v = a.load();
    a.store(v);
    let _ = a.fetch_add(T::from_bits(1));
    let _ = a.compare_exchange(v, v);
    let _ = a.wait(a.load(), ZERO);
    let _ = a.wait(v, ZERO);
    a.wake_one();
}

fn atomic64<T: crate::AtomicValue>(seg: &Segment, name: &str) {
    let Ok(a) = Atomic::<T>::open(seg, name) else { return };
    let v = a.load();
    let _ = a.swap(v);
    let _ = a.fetch_sub(T::from_bits(1));
    let _ = a.compare_exchange(v, v);
}

fn queue_spsc<T: ShmType>(seg: &Segment, name: &str) {
    let Ok(q) = Queue::<T, Spsc>::open(seg, name) else { return };
    let _ = (q.len(), q.is_full(), q.waiting_consumers(), q.producer_takeovers());
    if let Ok(mut tx) = q.producer() {
        let _ = tx.try_push(T::new_zeroed());
        let _ = tx.push_bulk(&[T::new_zeroed(); 3]);
        let _ = tx.push(T::new_zeroed(), ZERO);
        let _ = tx.len();
    }
    if let Ok(mut rx) = q.consumer() {
        let _ = rx.try_pop();
        let mut buf = [T::new_zeroed(); 3];
        let _ = rx.pop_bulk(&mut buf);
        let _ = rx.pop(ZERO);
        let _ = rx.is_closed();
    }
    if let Ok(mut tx) = q.producer() {
        tx.close();
        let _ = (tx.try_push(T::new_zeroed()), tx.is_closed());
    }
    if let Ok(mut rx) = q.consumer() {
        let _ = (rx.try_pop(), rx.pop(ZERO));
    }
    let _ = (q.close(), q.is_closed(), q.len());
}

fn queue_mpsc<T: ShmType>(seg: &Segment, name: &str) {
    let Ok(q) = Queue::<T, Mpsc>::open(seg, name) else { return };
    let _ = q.try_push(T::new_zeroed());
    let _ = q.push_bulk(&[T::new_zeroed(); 3]);
    let _ = q.push(T::new_zeroed(), ZERO);
    if let Ok(mut rx) = q.consumer() {
        let _ = rx.try_pop();
        let mut buf = [T::new_zeroed(); 3];
        let _ = rx.pop_bulk(&mut buf);
        let _ = rx.pop(ZERO);
    }
    let _ = q.len();
    let _ = (q.is_closed(), q.close(), q.try_push(T::new_zeroed()), q.len());
    if let Ok(mut rx) = q.consumer() {
        let _ = (rx.try_pop(), rx.pop(ZERO));
    }
}

fn queue_mpmc<T: ShmType>(seg: &Segment, name: &str) {
    let Ok(q) = Queue::<T, Mpmc>::open(seg, name) else { return };
    let _ = q.try_push(T::new_zeroed());
    let _ = q.push_bulk(&[T::new_zeroed(); 3]);
    let _ = q.push(T::new_zeroed(), ZERO);
    let _ = q.try_pop();
    let mut buf = [T::new_zeroed(); 3];
    let _ = q.pop_bulk(&mut buf);
    let _ = q.pop(ZERO);
    let _ = (q.len(), q.is_empty());
    let _ = (q.is_closed(), q.close(), q.push(T::new_zeroed(), ZERO), q.try_pop(), q.pop_bulk(&mut buf));
    let _ = (q.pop(ZERO), q.len());
}

fn ring<T: ShmType>(seg: &Segment, name: &str) {
    let Ok(r) = Ring::<T>::open(seg, name) else { return };
    let _ = (r.len(), r.total_written(), r.total_read(), r.total_missed(), r.latest());
    let mut buf = [T::new_zeroed(); 3];
    let _ = r.get_last_n(3, &mut buf);
    if let Ok(mut tx) = r.producer() {
        let _ = tx.try_push(T::new_zeroed());
        let _ = tx.try_push_bulk(&[T::new_zeroed(); 3]);
        let _ = tx.push(T::new_zeroed(), ZERO);
    }
    if let Ok(mut rx) = r.consumer() {
        let _ = rx.try_pop();
        let _ = rx.peek();
        let _ = rx.try_pop_bulk(&mut buf);
        let _ = rx.pop(ZERO);
        let _ = (rx.missed(), rx.delivered());
    }
    if let Ok(mut tx) = r.producer() {
        tx.close();
        let _ = (tx.try_push(T::new_zeroed()), tx.push(T::new_zeroed(), ZERO), r.is_closed());
    }
    if let Ok(mut rx) = r.consumer() {
        let _ = (rx.try_pop(), rx.pop(ZERO), rx.try_pop_bulk(&mut buf), rx.is_finished());
    }
}

fn topic<T: ShmType, M: TopicMode>(seg: &Segment, name: &str) -> Option<Topic<T, M>> {
    let t = Topic::<T, M>::open(seg, name).ok()?;
    let _ = (t.published(), t.released(), t.subscribers(), t.capacity(), t.history());
    if let Ok(mut tx) = t.publisher() {
        let _ = tx.try_send_copy(&T::new_zeroed());
        let _ = tx.send_copy(&T::new_zeroed(), ZERO);
    }
    if let Ok(mut rx) = t.subscriber() {
        let _ = rx.try_receive_copy();
        let _ = rx.receive_copy(ZERO);
        let _ = (rx.missed(), rx.received(), rx.lag(), rx.is_joined());
    }
    Some(t)
}

/// Closes the topic and runs every call against the closed topic.
fn topic_close<T: ShmType, M: TopicMode>(t: &Topic<T, M>) {
    if let Ok(mut tx) = t.publisher() {
        tx.close();
        let _ = (tx.try_send_copy(&T::new_zeroed()), tx.send_copy(&T::new_zeroed(), ZERO), t.is_closed());
    }
    if let Ok(mut rx) = t.subscriber() {
        let _ = (rx.try_receive_copy(), rx.receive_copy(ZERO), rx.is_finished());
    }
}

fn topic_lossless<T: ShmType>(seg: &Segment, name: &str) {
    let Some(t) = topic::<T, Lossless>(seg, name) else { return };
    if let Ok(mut tx) = t.publisher() {
        if let Some(mut loan) = tx.try_loan() {
            *loan = T::new_zeroed();
            loan.send();
        }
        let _ = tx.loan(ZERO).map(drop); // given back unsent
    }
    if let Ok(mut rx) = t.subscriber() {
        let _ = rx.try_receive().map(|s| *s);
        let _ = rx.receive(ZERO).map(|s| *s);
    }
    topic_close(&t);
}

fn topic_lossy<T: ShmType>(seg: &Segment, name: &str) {
    if let Some(t) = topic::<T, Lossy>(seg, name) {
        topic_close(&t);
    }
}

fn pool<T: ShmType>(seg: &Segment, name: &str) {
    let Ok(p) = Pool::<T>::open(seg, name) else { return };
    let _ = p.num_allocated();
    if let Ok(Some(h)) = p.try_acquire() {
        let _ = p.write(h, T::new_zeroed());
        let _ = p.read(h);
        let _ = p.owner(h);
        let _ = p.release(h);
        let _ = p.release(h); // stale now
    }
    if let Ok(h) = p.acquire(ZERO) {
        let _ = p.release(h);
    }
    for h in [Handle { index: 0, generation: 1 }, Handle { index: u32::MAX, generation: 1 }] {
        let _ = p.is_live(h);
        let _ = p.read(h);
        let _ = p.release(h);
    }
}

fn stack<T: ShmType>(seg: &Segment, name: &str) {
    let Ok(s) = Stack::<T>::open(seg, name) else { return };
    let _ = (s.len(), s.is_empty(), s.reclaimed(), s.reclaim_dead());
    let _ = s.try_pop();
    let _ = s.try_push(T::new_zeroed());
    let _ = s.pop(ZERO);
    let _ = s.push(T::new_zeroed(), ZERO);
    let _ = s.try_pop();
}

fn map<K: ShmType, V: ShmType>(seg: &Segment, name: &str) {
    let Ok(m) = Map::<K, V>::open(seg, name) else { return };
    let _ = (m.len(), m.is_empty(), m.slots(), m.reclaimed(), m.reclaim_dead());
    let _ = m.get(&K::new_zeroed());
    let _ = m.entries();
    let _ = m.insert(K::new_zeroed(), V::new_zeroed());
    let _ = m.update(&K::new_zeroed(), |v| v);
    let _ = m.remove(&K::new_zeroed());
    let _ = m.insert(K::new_zeroed(), V::new_zeroed());
}

fn set<K: ShmType>(seg: &Segment, name: &str) {
    let Ok(s) = Set::<K>::open(seg, name) else { return };
    let _ = (s.len(), s.is_empty(), s.reclaim_dead());
    let _ = s.contains(&K::new_zeroed());
    let _ = s.insert(K::new_zeroed());
    let _ = s.keys();
    let _ = s.remove(&K::new_zeroed());
}

fn once(seg: &Segment, name: &str) {
    let Ok(o) = Once::open(seg, name) else { return };
    let _ = (o.is_completed(), o.takeovers());
    let _ = o.wait(ZERO);
    let _ = o.call_once_timeout(Duration::ZERO, || {});
    // Dropped at once: abandoned.
    let _ = o.begin(ZERO).map(drop);
}

fn future<T: ShmType>(seg: &Segment, name: &str) {
    let Ok(f) = Future::<T>::open(seg, name) else { return };
    let _ = (f.is_ready(), f.takeovers(), f.try_get());
    let _ = f.wait(ZERO);
    let _ = f.set_timeout(T::new_zeroed(), Duration::ZERO);
}

fn rwlock(seg: &Segment, name: &str) {
    let Ok(l) = RwLock::open(seg, name) else { return };
    let _ = (l.readers(), l.max_readers(), l.is_write_locked(), l.writer_died(), l.writer_deaths(), l.reader_deaths());
    if let Some(r) = l.try_read() {
        let _ = r.writer_died();
    }
    let _ = l.read_timeout(Duration::ZERO).map(drop);
    if let Some(mut w) = l.try_write() {
        w.mark_consistent();
    }
    let _ = l.write_timeout(Duration::ZERO).map(drop);
}

fn condvar(seg: &Segment, name: &str) {
    let Ok(cv) = Condvar::open(seg, name) else { return };
    let _ = (cv.waiters(), cv.notifications());
    cv.notify_one();
    cv.notify_all();
    if let Ok(m) = Mutex::open(seg, "mutex") {
        if let Ok(Some(g)) = m.try_lock() {
            let _ = cv.wait_timeout(g, ZERO.unwrap());
        }
    }
}

fn endpoint<T: ShmType>(seg: &Segment, name: &str) {
    let Ok(ep) = Endpoint::<T>::open(seg, name) else { return };
    let _ = (ep.pending(Side::A), ep.is_receiving(Side::B));
    for side in [Side::A, Side::B] {
        if let Ok(mut s) = ep.side(side) {
            let _ = s.try_send(T::new_zeroed());
            let _ = s.send(T::new_zeroed(), ZERO);
            let _ = s.try_recv();
            let _ = s.recv(ZERO);
            let mut buf = [T::new_zeroed(); 2];
            let _ = s.recv_bulk(&mut buf);
            let _ = s.send_bulk(&buf);
        }
    }
}

fn semaphore(seg: &Segment, name: &str) {
    let Ok(s) = Semaphore::open(seg, name) else { return };
    drop(s.try_acquire());
    drop(s.acquire_timeout(Duration::ZERO));
    let _ = s.release();
    let _ = (s.count(), s.waiting(), s.max());
}

fn barrier(seg: &Segment, name: &str) {
    let Ok(b) = Barrier::open(seg, name) else { return };
    let _ = b.wait_timeout(Duration::ZERO);
    let _ = (b.arrived(), b.generation(), b.sleepers());
}

fn latch(seg: &Segment, name: &str) {
    let Ok(l) = Latch::open(seg, name) else { return };
    let _ = l.try_wait();
    let _ = l.wait_timeout(Duration::ZERO);
    l.count_down(1);
    let _ = l.count();
}

fn mutex(seg: &Segment, name: &str) {
    let Ok(m) = Mutex::open(seg, name) else { return };
    let _ = (m.is_locked(), m.holder(), m.is_recoverable(), m.owner_deaths());
    if let Ok(Some(mut g)) = m.try_lock() {
        if g.owner_died() {
            g.mark_consistent();
        }
    }
    drop(m.lock_timeout(Duration::ZERO));
}

fn event(seg: &Segment, name: &str) {
    let Ok(e) = Event::open(seg, name) else { return };
    let _ = e.try_wait();
    e.set();
    let _ = e.wait_timeout(Duration::ZERO);
    e.reset();
    let _ = e.is_set();
}

/// Real segments holding every kind, in several states, as seed inputs: fresh; in use (queues
/// part full and wrapped, a lapped overwrite ring, pool objects and roles held by this process,
/// a mutex whose holder thread exited, counts changed); near the 2^64 position wrap; and a
/// segment written to ZeroIPC's rules (untyped arrays).
pub fn seeds() -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for variant in 0..3 {
        out.push(build(variant)?);
    }
    out.push(zeroipc_segment());
    Ok(out)
}

fn build(variant: u32) -> Result<Vec<u8>> {
    let name = format!("/zipc-fuzz-seed-{}-{variant}", std::process::id());
    let _ = Segment::unlink(&name);
    let seg = Segment::options().size(1 << 15).max_entries(40).max_processes(4).create(&name)?;
    let bytes = populate(&seg, variant).and_then(|()| {
        std::fs::read(crate::segment::mapping::shm_path(&name)).map_err(|e| crate::Error::os("read", &name, e))
    });
    drop(seg);
    Segment::unlink(&name)?;
    bytes
}

fn populate(seg: &Segment, variant: u32) -> Result<()> {
    let start = if variant == 2 { u64::MAX - 2 } else { 0 };
    let a8 = Array::<u8>::create(seg, "a_u8", 5)?;
    let a64 = Array::<u64>::create(seg, "a_u64", 4)?;
    Array::<f32>::create(seg, "a_f32", 3)?;
    Array::<[u16; 3]>::create(seg, "a_grid", 2)?;
    let at32 = Atomic::<u32>::create(seg, "at_u32", 7)?;
    Atomic::<i32>::create(seg, "at_i32", -7)?;
    Atomic::<u64>::create(seg, "at_u64", u64::MAX)?;
    Atomic::<i64>::create(seg, "at_i64", i64::MIN)?;
    let spsc = Queue::<u64, Spsc>::create_starting_at(seg, "q_spsc", 4, start)?;
    let mpsc = Queue::<[u16; 3], Mpsc>::create_starting_at(seg, "q_mpsc", 4, start)?;
    let mpmc = Queue::<Handle, Mpmc>::create_starting_at(seg, "q_mpmc", 2, start)?;
    let lossless = Ring::<u32>::create(seg, "r_lossless", 5, RingMode::Lossless)?;
    let over = Ring::<f64>::create(seg, "r_over", 4, RingMode::Overwrite)?;
    let objects = Pool::<[u8; 16]>::create(seg, "pool", 4)?;
    let bytes = Pool::<u8>::create(seg, "pool_u8", 3)?;
    let sem = Semaphore::create(seg, "sem", 2, 4)?;
    Semaphore::create(seg, "sem_unbounded", 0, 0)?;
    let bar = Barrier::create(seg, "bar", 2)?;
    let bar1 = Barrier::create(seg, "bar1", 1)?;
    let latch = Latch::create(seg, "latch", 3)?;
    let mutex = Mutex::create(seg, "mutex")?;
    let auto = Event::create(seg, "ev_auto", ResetMode::Auto, false)?;
    Event::create(seg, "ev_manual", ResetMode::Manual, true)?;
    let ep = Endpoint::<u32>::create(seg, "ep", 4)?;
    Endpoint::<[u16; 3]>::create(seg, "ep_grid", 2)?;
    let frames = Topic::<[u16; 3], Lossless>::create(seg, "t_frames", 4, 2, 1)?;
    let ticks = Topic::<u64, Lossy>::create(seg, "t_ticks", 2, 2, 0)?;
    let undo = Stack::<u64>::create(seg, "s_undo", 3)?;
    Stack::<[u16; 3]>::create(seg, "s_grid", 2)?;
    let prices = Map::<u64, f64>::create(seg, "m_prices", 4)?;
    Map::<[u8; 16], [u16; 3]>::create(seg, "m_names", 2)?;
    let seen = Set::<u32>::create(seg, "set_seen", 3)?;
    let cv = Condvar::create(seg, "condvar")?;
    let done = Once::create(seg, "once_done")?;
    Once::create(seg, "once_new")?;
    let rw = RwLock::create(seg, "rwlock", 4)?;
    let answer = Future::<u64>::create(seg, "future")?;
    Future::<[u16; 3]>::create(seg, "future_grid")?;
    if variant == 0 {
        return Ok(());
    }
    a8.set(4, 9)?;
    a64.store(0, 1 << 40)?;
    at32.fetch_add(1);
    let mut tx = spsc.producer()?;
    let mut rx = spsc.consumer()?;
    for i in 0..6 {
        tx.try_push(i)?;
        rx.try_pop()?;
    }
    tx.try_push(7)?;
    std::mem::forget(tx); // the role stays claimed by this process
    drop(rx);
    mpsc.try_push([1, 2, 3])?;
    mpsc.close()?; // closed with an element left: tail moved by the close
    mpmc.try_push(Handle { index: 1, generation: 3 })?;
    mpmc.try_push(Handle { index: 2, generation: 5 })?; // full
    let mut rtx = lossless.producer()?;
    rtx.try_push_bulk(&[1, 2, 3, 4]);
    let mut otx = over.producer()?;
    otx.try_push_bulk(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]); // lapped: the oldest are overwritten
    let mut orx = over.consumer()?;
    orx.try_pop();
    otx.close(); // closed with elements left
    std::mem::forget((rtx, otx, orx));
    let h = objects.try_acquire()?;
    objects.try_acquire()?;
    if let Some(h) = h {
        objects.write(h, [0xAB; 16])?;
        objects.release(h)?;
    }
    bytes.try_acquire()?;
    if let Some(g) = sem.try_acquire() {
        g.forget();
    }
    bar1.wait_timeout(Duration::ZERO)?; // generation 1
    let _ = bar.wait_timeout(Duration::ZERO); // times out: no arrival left behind
    latch.count_down(2);
    auto.set();
    let mut a = ep.side(Side::A)?;
    a.try_send(5)?;
    std::mem::forget(a);
    // A subscriber that stays joined (its process holds the record) and one sample it has not
    // read; a lossy topic lapped past its subscriber.
    let rx = frames.subscriber()?;
    let mut ftx = frames.publisher()?;
    ftx.send_copy(&[1, 2, 3], Some(Duration::ZERO))?;
    let lagging = ticks.subscriber()?;
    let mut ttx = ticks.publisher()?;
    for i in 0..5 {
        ttx.send_copy(&i, None)?;
    }
    std::mem::forget((rx, ftx, lagging, ttx));
    // A stack part full after a pop (the other stays empty).
    for i in 0..3 {
        undo.try_push(i)?;
    }
    undo.try_pop()?;
    cv.notify_all();
    done.call_once(|| {})?;
    answer.set(42)?;
    // A reader slot left taken (by this process, dead when the seed is read back).
    if let Some(r) = rw.try_read() {
        std::mem::forget(r);
    }
    // A map with a removed entry and a full set.
    for k in 0..4 {
        prices.insert(k, k as f64 / 2.0)?;
    }
    prices.remove(&1);
    prices.update(&2, |p| p + 1.0);
    for k in 0..3 {
        seen.insert(k * 7)?;
    }
    // A holder thread that exits inside the critical section: the next locker takes over.
    let m2 = Mutex::open(seg, "mutex")?;
    std::thread::spawn(move || {
        if let Ok(g) = m2.lock_timeout(Duration::from_secs(10)) {
            std::mem::forget(g);
        }
    })
    .join()
    .map_err(|_| crate::Error::invalid("seed", "the mutex thread panicked"))?;
    drop(mutex);
    Ok(())
}

/// A segment as ZeroIPC writes it: header, table, two arrays, no self-description.
fn zeroipc_segment() -> Vec<u8> {
    let size = 4096usize;
    let mut b = vec![0u8; size];
    let max_entries = 4u32;
    let mut next = 32 + 48 * max_entries as usize;
    for (i, (name, cap, elem)) in [("ids", 5u64, 4usize), ("vals", 3, 8)].iter().enumerate() {
        next = next.next_multiple_of(8);
        b[next..next + 8].copy_from_slice(&cap.to_le_bytes());
        for k in 0..*cap as usize * elem {
            b[next + 8 + k] = k as u8;
        }
        let e = 32 + 48 * i;
        b[e..e + name.len()].copy_from_slice(name.as_bytes());
        let len = 8 + *cap as usize * elem;
        b[e + 32..e + 40].copy_from_slice(&(next as u64).to_le_bytes());
        b[e + 40..e + 48].copy_from_slice(&(len as u64).to_le_bytes());
        next += len;
    }
    b[0..4].copy_from_slice(&crate::segment::table::MAGIC.to_le_bytes());
    b[4..8].copy_from_slice(&2u32.to_le_bytes());
    b[8..12].copy_from_slice(&2u32.to_le_bytes());
    b[12..16].copy_from_slice(&max_entries.to_le_bytes());
    b[16..24].copy_from_slice(&(size as u64).to_le_bytes());
    b[24..32].copy_from_slice(&(next as u64).to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_open_and_hold_every_kind() {
        let seeds = seeds().unwrap();
        let mut h = Harness::new().unwrap();
        for (i, s) in seeds.iter().enumerate() {
            h.run(s);
            let seg = Segment::open(h.name()).unwrap();
            let entries = seg.entries().unwrap();
            if i < 3 {
                assert!(seg.is_typed());
                let kinds: std::collections::BTreeSet<u32> =
                    entries.iter().map(|e| e.descriptor.as_ref().unwrap().kind.code()).collect();
                assert_eq!(kinds.len(), Kind::ALL.len(), "seed {i} holds every kind");
                assert!(entries.iter().any(|e| e.name == "fuzz_new"), "the harness created a structure");
            } else {
                assert!(!seg.is_typed());
                assert_eq!(Array::<u32>::open(&seg, "ids").unwrap().get(1), Some(u32::from_le_bytes([4, 5, 6, 7])));
            }
        }
        let name = h.name().to_owned();
        drop(h);
        assert!(!std::path::Path::new(&crate::segment::mapping::shm_path(&name)).exists());
    }
}
