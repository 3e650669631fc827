// Every structure kind with every attribute it takes: a queue of each policy, rings lossless and
// overwriting, a pool, a stack, a map, a set, semaphores (plain, bounded, unbounded with an initial count), a barrier, a
// latch, a mutex and a condvar, a once, an rwlock, futures, events (each reset mode, initially set or not), an endpoint, and topics of each
// mode. `main` checks
// what LAYOUT records of each, then creates the segment, opens it again and uses a few kinds.
use zipc::layout::{flags, Kind};
use zipc::{
    Array, Atomic, Barrier, Condvar, Endpoint, Event, Future, Latch, Lossy, Map, Mpmc, Mpsc, Mutex, Once, Pool, Queue,
    ResetMode, Ring, RingMode, RwLock, Semaphore, Set, ShmSegment, ShmType, Side, Spsc, Stack, Topic,
};

#[derive(
    Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
pub struct Msg {
    pub seq: u64,
    pub value: f32,
    pub from: u32,
}

#[derive(ShmSegment)]
#[zipc(max_entries = 30, max_processes = 4)]
pub struct Everything {
    #[zipc(capacity = 4)]
    pub table: Array<Msg>,
    #[zipc(initial = 3)]
    pub counter: Atomic<u64>,
    #[zipc(capacity = 2)]
    pub spsc: Queue<Msg, Spsc>,
    #[zipc(capacity = 1024)]
    pub mpsc: Queue<u32, Mpsc>,
    #[zipc(capacity = 8)]
    pub mpmc: Queue<[u8; 3], Mpmc>,
    #[zipc(capacity = 3)]
    pub stream: Ring<Msg>,
    #[zipc(capacity = 8, overwrite = true)]
    pub recent: Ring<f64>,
    #[zipc(capacity = 8, overwrite = false)]
    pub lossless: Ring<f64>,
    #[zipc(capacity = 5)]
    pub objects: Pool<Msg>,
    #[zipc(capacity = 3)]
    pub undo: Stack<Msg>,
    #[zipc(capacity = 100)]
    pub index: Map<[u8; 3], Msg>,
    #[zipc(capacity = 1)]
    pub seen: Set<u32>,
    pub plain: Semaphore,
    #[zipc(initial = 2, max = 4)]
    pub slots: Semaphore,
    #[zipc(initial = 7)]
    pub permits: Semaphore,
    #[zipc(participants = 3)]
    pub sync: Barrier,
    #[zipc(count = 2)]
    pub ready: Latch,
    pub lock: Mutex,
    pub changed: Condvar,
    pub setup: Once,
    #[zipc(max_readers = 3)]
    pub config: RwLock,
    pub answer: Future<u64>,
    pub latest: Future<Msg>,
    pub auto: Event,
    #[zipc(manual_reset = true, initially_set = true)]
    pub go: Event,
    #[zipc(manual_reset = false, initially_set = false)]
    pub quiet: Event,
    #[zipc(capacity = 16, name = "rpc")]
    pub requests: Endpoint<Msg>,
    #[zipc(capacity = 4, max_subscribers = 3, history = 1)]
    pub frames: Topic<Msg>,
    #[zipc(capacity = 8, max_subscribers = 2)]
    pub ticks: Topic<u64, Lossy>,
}

fn main() -> zipc::Result<()> {
    let s = Everything::LAYOUT.structures;
    let kinds: Vec<Kind> = s.iter().map(|s| s.kind).collect();
    for kind in Kind::ALL {
        assert!(kinds.contains(&kind), "{kind}");
    }
    let by = |name: &str| *Everything::LAYOUT.structure(name).unwrap();
    assert_eq!((by("spsc").flags, by("spsc").capacity), (flags::POLICY_SPSC, 2));
    assert_eq!((by("mpsc").flags, by("mpmc").flags), (flags::POLICY_MPSC, flags::POLICY_MPMC));
    assert_eq!((by("stream").flags, by("stream").capacity), (0, 3));
    assert_eq!((by("recent").flags, by("lossless").flags), (flags::RING_OVERWRITE, 0));
    assert_eq!(by("objects").capacity, 5);
    assert_eq!((by("undo").kind, by("undo").capacity), (Kind::Stack, 3));
    assert_eq!((by("index").kind, by("index").capacity, by("index").flags), (Kind::Map, 100, 0));
    assert_eq!((by("seen").kind, by("seen").capacity, by("seen").flags), (Kind::Set, 1, 0));
    // A map's element is its entry, `{ key: [u8; 3], value: Msg }` laid out as in C; a set's, its key.
    let entry = by("index").elem.unwrap();
    assert_eq!((entry.size(), entry.align()), (24, 8));
    assert_eq!(by("seen").elem.unwrap().size(), 4);
    assert_eq!((by("plain").initial, by("plain").maximum), (0, 0));
    assert_eq!((by("slots").initial, by("slots").maximum), (2, 4));
    assert_eq!((by("permits").initial, by("permits").maximum), (7, 0));
    assert_eq!(by("sync").capacity, 3);
    assert_eq!(by("ready").initial, 2);
    let cv = by("changed");
    assert_eq!((cv.kind, cv.capacity, cv.flags, cv.initial, cv.maximum), (Kind::Condvar, 0, 0, 0, 0));
    assert!(cv.elem.is_none());
    let once = by("setup");
    assert_eq!((once.kind, once.capacity, once.flags, once.initial, once.maximum), (Kind::Once, 0, 0, 0, 0));
    assert!(once.elem.is_none());
    let rw = by("config");
    assert_eq!((rw.kind, rw.capacity, rw.flags, rw.initial, rw.maximum), (Kind::RwLock, 3, 0, 0, 0));
    assert!(rw.elem.is_none());
    let fut = by("answer");
    assert_eq!((fut.kind, fut.capacity, fut.flags, fut.initial, fut.maximum), (Kind::Future, 0, 0, 0, 0));
    assert_eq!(fut.elem.map(|e| e.size()), Some(8));
    assert_eq!(by("latest").elem.map(|e| (e.size(), e.align())), Some((16, 8)));
    assert_eq!((by("auto").flags, by("auto").initial), (0, 0));
    assert_eq!((by("go").flags, by("go").initial), (flags::EVENT_MANUAL_RESET, 1));
    assert_eq!((by("quiet").flags, by("quiet").initial), (0, 0));
    assert_eq!((by("rpc").kind, by("rpc").capacity), (Kind::Endpoint, 16));
    assert_eq!((by("frames").capacity, by("frames").maximum, by("frames").initial, by("frames").flags), (4, 3, 1, 0));
    assert_eq!((by("ticks").maximum, by("ticks").initial, by("ticks").flags), (2, 0, flags::TOPIC_LOSSY));
    assert_eq!(Everything::SIZE, Everything::LAYOUT.size().unwrap());

    let name = format!("/zipc-ui-every-kind-{}", std::process::id());
    let created = Everything::create(&name);
    let opened = Everything::open(&name);
    Everything::unlink(&name)?;
    let (a, b) = (created?, opened?);
    assert!(a.mpmc.try_push([1, 2, 3])?);
    assert_eq!(b.mpmc.try_pop()?, Some([1, 2, 3]));
    assert!(a.undo.try_push(Msg { seq: 2, value: 0.0, from: 1 })?);
    assert_eq!(b.undo.try_pop()?.map(|m| m.seq), Some(2));
    assert_eq!(a.index.insert(*b"key", Msg { seq: 3, value: 0.25, from: 1 })?, None);
    assert_eq!(b.index.get(b"key").map(|m| m.seq), Some(3));
    assert_eq!((b.index.get(b"kez"), b.index.slots()), (None, 256));
    assert!(a.seen.insert(9)? && !b.seen.insert(9)?);
    assert!(a.seen.insert(10).is_err(), "a set of capacity 1 holds one key");
    assert!(b.seen.contains(&9) && !b.seen.contains(&10));
    assert_eq!((b.recent.mode(), b.lossless.mode()), (RingMode::Overwrite, RingMode::Lossless));
    assert_eq!((b.go.mode(), b.go.is_set(), b.quiet.mode()), (ResetMode::Manual, true, ResetMode::Auto));
    assert_eq!((b.slots.count(), b.slots.max(), b.permits.max()), (2, Some(4), None));
    let (g, notified) = b.changed.wait_timeout(a.lock.lock()?, std::time::Duration::ZERO)?;
    assert!(!notified, "nobody notified");
    drop(g);
    a.changed.notify_all();
    assert_eq!((b.changed.notifications(), b.changed.waiters()), (1, 0));
    assert!(a.setup.call_once(|| {})? && !b.setup.call_once(|| panic!("run twice"))?);
    assert!(b.setup.is_completed());
    let r = a.config.read()?;
    assert_eq!((b.config.max_readers(), b.config.readers()), (3, 1));
    assert!(b.config.try_write().is_none(), "read-held");
    drop(r);
    assert!(!b.config.write()?.writer_died() && a.config.readers() == 0);
    assert_eq!(b.answer.try_get(), None);
    assert!(a.answer.set(42)? && !b.answer.set(43)?);
    assert_eq!((b.answer.wait(None)?, a.answer.try_get()), (42, Some(42)));
    let m = Msg { seq: 4, value: 2.5, from: 3 };
    assert_eq!(a.latest.get_or_init(|| m)?, m);
    assert_eq!(b.latest.get_or_init(|| panic!("computed twice"))?, m);
    assert_eq!((b.sync.participants(), b.ready.count(), b.counter.load()), (3, 2, 3));
    let mut side = a.requests.side(Side::A)?;
    assert!(side.try_send(Msg { seq: 1, value: 0.5, from: 2 })?);
    assert_eq!(b.requests.pending(Side::B), 1);
    let mut rx = b.frames.subscriber()?;
    a.frames.publisher()?.send_copy(&Msg { seq: 7, value: 1.5, from: 1 }, None)?;
    assert_eq!(rx.try_receive().map(|s| s.seq), Some(7));
    assert_eq!((b.ticks.capacity(), b.ticks.max_subscribers()), (8, 2));
    Ok(())
}
