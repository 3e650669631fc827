//! `zipc::inspect` on a live segment holding every kind of structure in known states: the
//! snapshot, the human report and the JSON rendering all show those states, the processes
//! attached (a live one and a dead one), and oddities in damaged live state. Also a segment made
//! by ZeroIPC, shown untyped.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use zipc::inspect::{self, Consistency, State, Value};
use zipc::{
    Array, Atomic, Barrier, Endpoint, Event, Latch, Mpmc, Mutex, Pool, Queue, ResetMode, Ring, RingMode, Segment,
    Semaphore, ShmType, Side, Spsc,
};
use zipc_tests::{child_args, poke, role_command, ShmName};

#[derive(
    Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Reading {
    ts: u64,
    value: f32,
    id: u32,
}

/// A child attaches to the segment, says so, and waits to be killed: a dead attached process.
#[test]
fn attacher() {
    let Some(args) = child_args("attacher") else { return };
    let _seg = Segment::open(&args[0]).unwrap();
    println!("ATTACHED");
    std::thread::sleep(Duration::from_secs(120)); // killed long before
}

fn attach_and_die(name: &str) -> u32 {
    let mut child = role_command("attacher", &[name]).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ATTACHED") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the child exited before attaching");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    child.id()
}

/// Every kind, each in a state the assertions below know. Returns what must stay alive.
struct Fixture {
    name: ShmName,
    _keep: Vec<Box<dyn std::any::Any>>,
    dead_pid: u32,
}

fn fixture(tag: &str) -> Fixture {
    let name = ShmName::new(tag);
    let seg = Segment::options().size(1 << 16).max_entries(16).max_processes(8).create(&name).unwrap();
    let dead_pid = attach_and_die(&name);
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();

    let samples = Array::<u64>::create(&seg, "samples", 128).unwrap();
    samples.set(3, 7).unwrap();
    Atomic::<u64>::create(&seg, "counter", 42).unwrap();
    Atomic::<i32>::create(&seg, "offset", -5).unwrap();

    let jobs = Queue::<u64, Spsc>::create(&seg, "jobs", 16).unwrap();
    let mut tx = jobs.producer().unwrap();
    for i in 0..5 {
        assert!(tx.try_push(i).unwrap());
    }
    keep.push(Box::new(tx)); // the producer role stays claimed by this process

    let events = Queue::<Reading, Mpmc>::create(&seg, "events", 8).unwrap();
    for i in 0..8 {
        assert!(events.try_push(Reading { ts: i, value: 0.5, id: 1 }).unwrap());
    }

    let imu = Ring::<f32>::create(&seg, "imu", 8, RingMode::Lossless).unwrap();
    let mut rtx = imu.producer().unwrap();
    let mut rrx = imu.consumer().unwrap();
    assert_eq!(rtx.try_push_bulk(&[1.0, 2.0, 3.0]), 3);
    assert_eq!(rrx.try_pop(), Some(1.0));
    drop(rrx); // the consumer role is free again; the producer's stays held
    keep.push(Box::new(rtx));

    let buffers = Pool::<[u8; 16]>::create(&seg, "buffers", 4).unwrap();
    for _ in 0..3 {
        buffers.try_acquire().unwrap().unwrap();
    }

    let slots = Semaphore::create(&seg, "slots", 3, 5).unwrap();
    slots.try_acquire().unwrap().forget();

    let latch = Latch::create(&seg, "ready", 3).unwrap();
    latch.count_down(1);

    let event = Event::create(&seg, "go", ResetMode::Manual, false).unwrap();
    event.set();

    let rpc = Endpoint::<u32>::create(&seg, "rpc", 4).unwrap();
    let mut a = rpc.side(Side::A).unwrap();
    assert!(a.try_send(1).unwrap() && a.try_send(2).unwrap());
    keep.push(Box::new(a));

    // A barrier of two with one arrival waiting in a thread: arrived 1, generation 0. The
    // thread is released when the fixture is dropped (the second arrival).
    let barrier = Barrier::create(&seg, "sync", 2).unwrap();
    let waiter = {
        let barrier = Barrier::open(&seg, "sync").unwrap();
        std::thread::spawn(move || barrier.wait_timeout(Duration::from_secs(60)).map(|_| ()))
    };
    while barrier.arrived() != 1 {
        std::thread::yield_now(); // bounded: the thread arrives at once; a hang guard is the 60 s
    }
    keep.push(Box::new(ReleaseOnDrop(barrier, Some(waiter))));

    // The mutex is locked by a thread that keeps it until the fixture is dropped.
    let mutex = Mutex::create(&seg, "lock").unwrap();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let mutex = Mutex::open(&seg, "lock").unwrap();
        std::thread::spawn(move || {
            let _guard = mutex.lock().unwrap();
            // SAFETY: gettid has no preconditions.
            locked_tx.send(unsafe { libc::syscall(libc::SYS_gettid) } as u32).unwrap();
            let _ = done_rx.recv_timeout(Duration::from_secs(60));
        })
    };
    let tid = locked_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    keep.push(Box::new(UnlockOnDrop(Some(done_tx), Some(holder), tid)));
    keep.push(Box::new((mutex, seg, samples, jobs, events, imu, buffers, slots, latch, event, rpc)));
    Fixture { name, _keep: keep, dead_pid }
}

struct ReleaseOnDrop(Barrier, Option<std::thread::JoinHandle<zipc::Result<()>>>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        let _ = self.0.wait_timeout(Duration::from_secs(60));
        let _ = self.1.take().unwrap().join();
    }
}

struct UnlockOnDrop(Option<std::sync::mpsc::Sender<()>>, Option<std::thread::JoinHandle<()>>, u32);

impl Drop for UnlockOnDrop {
    fn drop(&mut self) {
        drop(self.0.take());
        let _ = self.1.take().unwrap().join();
    }
}

impl Fixture {
    fn mutex_tid(&self) -> u32 {
        self._keep.iter().find_map(|k| k.downcast_ref::<UnlockOnDrop>()).unwrap().2
    }
}

fn state<'a>(snap: &'a inspect::Snapshot, name: &str) -> &'a State {
    let e = snap.entries.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no entry {name}"));
    assert!(e.problems.is_empty(), "{name}: {:?}", e.problems);
    e.state.as_ref().unwrap()
}

#[test]
fn snapshot_shows_every_kind_in_its_state() {
    let f = fixture("insp");
    let me = std::process::id();
    let snap = inspect::inspect(&f.name).unwrap();
    assert_eq!(snap.segment, *f.name);
    assert_eq!(snap.header.magic, zipc::table::MAGIC);
    assert_eq!(snap.header.entry_count, 14);
    assert_eq!(snap.header.max_entries, 16);
    let z = snap.zipc.as_ref().unwrap();
    assert_eq!(z.creator_pid, me);
    assert_eq!(z.max_processes, 8);
    assert!(z.table_lock.holder.is_none());
    assert!(snap.problems.is_empty(), "{:?}", snap.problems);

    // This process (alive, several mappings) and the killed child (dead); not the inspector.
    assert_eq!(snap.processes.len(), 2, "{:?}", snap.processes);
    let mine = snap.processes.iter().find(|p| p.process.pid == me).unwrap();
    assert!(mine.alive && mine.refs >= 1);
    let dead = snap.processes.iter().find(|p| p.process.pid == f.dead_pid).unwrap();
    assert!(!dead.alive);

    let names: Vec<&str> = snap.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "samples", "counter", "offset", "jobs", "events", "imu", "buffers", "slots", "ready", "go", "rpc", "sync",
            "lock"
        ]
    );
    let e = &snap.entries[4];
    let d = e.descriptor.as_ref().unwrap();
    assert_eq!((d.kind, d.capacity, d.type_name.as_deref()), (zipc::layout::Kind::Queue, 8, Some("Reading")));
    assert_eq!(d.canonical.as_deref(), Some("{ts:u64@0,value:f32@8,id:u32@12}#16"));

    assert!(matches!(state(&snap, "samples"), State::Array(a) if a.len == 128));
    assert!(
        matches!(state(&snap, "counter"), State::Atomic(a) if a.value == Value::Unsigned(42) && a.waiters.is_none())
    );
    assert!(matches!(state(&snap, "offset"), State::Atomic(a) if a.value == Value::Signed(-5) && a.waiters == Some(0)));
    let State::Queue(q) = state(&snap, "jobs") else { panic!() };
    assert_eq!((q.policy, q.len, q.capacity, q.head, q.tail), ("spsc", 5, 16, 0, 5));
    let p = q.producer.unwrap();
    assert!(p.pid == me && p.alive);
    assert!(q.consumer.is_none());
    let State::Queue(q) = state(&snap, "events") else { panic!() };
    assert_eq!((q.policy, q.len, q.capacity), ("mpmc", 8, 8));
    let State::Ring(r) = state(&snap, "imu") else { panic!() };
    assert_eq!((r.overwrite, r.len, r.write_pos, r.read_pos, r.missed), (false, 2, 3, 1, 0));
    assert!(r.producer.is_some_and(|h| h.pid == me && h.alive) && r.consumer.is_none());
    let State::Pool(p) = state(&snap, "buffers") else { panic!() };
    assert_eq!((p.capacity, p.allocated, p.acquired, p.scanned), (4, 3, 3, 4));
    assert_eq!(p.owners.len(), 1);
    assert!(p.owners[0].holder.pid == me && p.owners[0].holder.alive && p.owners[0].objects == 3);
    assert!(matches!(state(&snap, "slots"), State::Semaphore(s) if s.count == 2 && s.max == Some(5) && s.waiting == 0));
    assert!(matches!(state(&snap, "ready"), State::Latch(l) if l.count == 2 && l.initial == 3));
    assert!(matches!(state(&snap, "go"), State::Event(e) if e.set && e.manual_reset && e.sets == 1));
    let State::Endpoint(ep) = state(&snap, "rpc") else { panic!() };
    assert_eq!((ep.a_to_b.len, ep.b_to_a.len), (2, 0));
    assert!(ep.a_to_b.producer.is_some_and(|h| h.pid == me) && ep.b_to_a.consumer.is_some_and(|h| h.pid == me));
    assert!(ep.b_to_a.producer.is_none() && ep.a_to_b.consumer.is_none(), "side B is free");
    assert!(
        matches!(state(&snap, "sync"), State::Barrier(b) if b.participants == 2 && b.arrived == 1 && b.generation == 0)
    );
    let State::Mutex(m) = state(&snap, "lock") else { panic!() };
    assert!(m.locked && m.word_tid == f.mutex_tid());
    let h = m.holder.unwrap();
    assert_eq!((h.tid, h.pid, h.alive), (f.mutex_tid(), me, true));
    assert_eq!((m.consistency, m.owner_deaths), (Consistency::Consistent, 0));
}

#[test]
fn the_report_shows_states_bars_and_processes() {
    let f = fixture("insp-human");
    let text = inspect::inspect(&f.name).unwrap().to_string();
    let me = std::process::id();
    let has = |needle: &str| assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    has(&format!("segment {}: zipc format {} (ZeroIPC table v2)", f.name.as_str(), zipc::description::FORMAT_VERSION));
    has("table       14 of 16 entries (1 is zipc's)");
    has("created     20");
    has(&format!("by pid {me}"));
    has("table lock  free; taken over from dead holders 0 times");
    has("processes   2 attached of 8 slots: 1 alive, 1 dead");
    has(&format!("pid {me:<8} alive"));
    has(&format!("pid {:<8} dead   1 mapping", f.dead_pid));
    has("spsc [#######.............] 5/16 (31%)");
    has(&format!("producer pid {me} (alive); consumer none; head 0, tail 5"));
    has("mpmc [####################] 8/8 (100%)");
    has("lossless [#####...............] 2/8 (25%)");
    has(&format!("written 3, read 1, missed 0; producer pid {me} (alive); consumer none"));
    has("[###############.....] 3/4 acquired (75%)");
    has(&format!("owners: pid {me} (alive) holds 3"));
    has("count 2 of max 5; 0 asleep in acquire");
    has("count 2 of 3; ");
    has("set (manual reset); sets: 1; 0 asleep");
    has("A → B [##########..........] 2/4 (50%)");
    has("B → A [....................] 0/4 (0%)");
    has(&format!("side A pid {me} (alive); side B none"));
    has("generation 0; 1 of 2 arrived");
    has(&format!("locked by thread {} of pid {me} (alive); consistent; 0 owner deaths", f.mutex_tid()));
    has("128 elements");
    has("value 42");
    has("value -5");
    // The table: one row per structure with kind, element and capacity.
    let row = text.lines().find(|l| l.ends_with(" events")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[0], "5");
    assert!(cells[1].starts_with("0x"));
    assert_eq!(&cells[3..], ["Queue", "Reading", "8", "events"]);
    let row = text.lines().find(|l| l.ends_with(" sync")).unwrap();
    assert!(row.contains("Barrier") && row.contains("2 parties"), "{row}");
    assert!(!text.contains("problem"), "{text}");
}

#[test]
fn json_has_the_documented_fields() {
    let f = fixture("insp-json");
    let me = std::process::id();
    let json: serde_json::Value = serde_json::from_str(&inspect::inspect(&f.name).unwrap().to_json()).unwrap();
    assert_eq!(json["zipc_inspect"], 1);
    assert_eq!(json["segment"], *f.name);
    assert_eq!(json["typed"], true);
    assert_eq!(json["file_size"], 1 << 16);
    assert_eq!(json["header"]["magic"], 0x5A49504D);
    assert_eq!(json["header"]["entry_count"], 14);
    assert_eq!(json["zipc"]["creator_pid"], me);
    assert_eq!(json["zipc"]["table_lock"]["holder"], serde_json::Value::Null);
    assert_eq!(json["zipc"]["table_lock"]["recoveries"], 0);
    assert_eq!(json["zipc"]["lanes"], zipc::lane::lanes_for(8));
    for lane in json["zipc"]["lanes_in_use"].as_array().unwrap() {
        assert!(lane["owner"]["pid"].is_u64() && lane["lost"] == 0, "{lane}");
    }
    let procs = json["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 2);
    assert!(procs.iter().any(|p| p["pid"] == me && p["alive"] == true && p["refs"].as_u64().unwrap() >= 1));
    assert!(procs.iter().any(|p| p["pid"] == f.dead_pid && p["alive"] == false));
    assert_eq!(json["problems"], serde_json::json!([]));

    let entries = json["entries"].as_array().unwrap();
    let entry = |name: &str| entries.iter().find(|e| e["name"] == name).unwrap();
    let st = |name: &str| &entry(name)["state"];
    let events = entry("events");
    assert_eq!(events["kind"], "queue");
    assert_eq!(events["capacity"], 8);
    assert_eq!(events["flags"], 3);
    assert_eq!(events["element"]["name"], "Reading");
    assert_eq!(events["element"]["layout"], "{ts:u64@0,value:f32@8,id:u32@12}#16");
    assert_eq!(events["element"]["size"], 16);
    assert_eq!(events["element"]["align"], 8);
    let fp = zipc::layout::fnv1a64(b"{ts:u64@0,value:f32@8,id:u32@12}#16");
    assert_eq!(events["element"]["fingerprint"], format!("{fp:#018x}"));
    assert_eq!(events["problems"], serde_json::json!([]));
    assert!(events["offset"].as_u64().unwrap() % 128 == 0 && events["size"].as_u64().unwrap() > 0);
    assert_eq!(entry("sync")["element"], serde_json::Value::Null);

    assert_eq!(st("samples"), &serde_json::json!({"len": 128}));
    assert_eq!(st("counter"), &serde_json::json!({"value": 42, "waiters": null}));
    assert_eq!(st("offset"), &serde_json::json!({"value": -5, "waiters": 0}));
    let holder = serde_json::json!({"pid": me, "start_time": zipc::process::current().start_time, "alive": true});
    assert_eq!(
        st("jobs"),
        &serde_json::json!({"policy": "spsc", "capacity": 16, "len": 5, "head": 0, "tail": 5,
            "producer": holder, "consumer": null, "producer_takeovers": 0, "consumer_takeovers": 0,
            "waiting_producers": 0, "waiting_consumers": 0, "lost": 0, "close_state": "open"})
    );
    assert_eq!(st("events")["len"], 8);
    assert_eq!(
        st("imu"),
        &serde_json::json!({"mode": "lossless", "capacity": 8, "len": 2, "write_pos": 3, "read_pos": 1,
            "claim": 3, "missed": 0, "lost": 0, "closed": false, "producer": holder, "consumer": null, "waiting_consumers": 0,
            "waiting_producers": 0})
    );
    assert_eq!(
        st("buffers"),
        &serde_json::json!({"capacity": 4, "allocated": 3, "acquired": 3, "scanned": 4, "waiting": 0,
            "owners": [{"pid": me, "start_time": holder["start_time"], "alive": true, "objects": 3}]})
    );
    assert_eq!(st("slots"), &serde_json::json!({"count": 2, "max": 5, "waiting": 0}));
    assert_eq!(st("ready"), &serde_json::json!({"initial": 3, "count": 2, "waiters": 0}));
    assert_eq!(st("go"), &serde_json::json!({"mode": "manual", "set": true, "sets": 1, "waiters": 0}));
    assert_eq!(st("rpc")["a_to_b"]["len"], 2);
    assert_eq!(st("rpc")["a_to_b"]["producer"], holder);
    assert_eq!(st("rpc")["b_to_a"]["consumer"], holder);
    assert_eq!(st("rpc")["b_to_a"]["producer"], serde_json::Value::Null);
    let sync = st("sync");
    assert_eq!((&sync["participants"], &sync["arrived"], &sync["generation"]), (&2.into(), &1.into(), &0.into()));
    let lock = st("lock");
    assert_eq!(lock["locked"], true);
    assert_eq!(lock["word_tid"], f.mutex_tid());
    assert_eq!(lock["word_tid_alive"], true);
    assert_eq!(lock["holder"]["tid"], f.mutex_tid());
    assert_eq!(lock["holder"]["pid"], me);
    assert_eq!(lock["holder"]["alive"], true);
    assert_eq!(lock["consistency"], "consistent");
    assert_eq!(lock["owner_deaths"], 0);
}

/// Damaged live state is shown as problems, clamped, never a panic; the fixed headers are still
/// validated (a damaged one makes inspect fail with Corrupt, like any open).
#[test]
fn damaged_live_state_is_reported_not_trusted() {
    let name = ShmName::new("insp-bad");
    let seg = Segment::create(&name, 1 << 16).unwrap();
    let q = Queue::<u64, Mpmc>::create(&seg, "q", 4).unwrap();
    let s = Semaphore::create(&seg, "s", 1, 2).unwrap();
    let l = Latch::create(&seg, "l", 2).unwrap();
    let offset = |n: &str| seg.entry(n).unwrap().unwrap().offset;
    // tail 100 positions ahead of head; count -3 and 7 beyond max 2; latch count above initial.
    poke(&name, offset("q") + zipc::queue::header::TAIL, &100u64.to_le_bytes());
    poke(&name, offset("s") + zipc::semaphore::COUNT_OFFSET, &(-3i32).to_le_bytes());
    poke(&name, offset("l") + zipc::latch::COUNT_OFFSET, &9i32.to_le_bytes());
    let snap = inspect::inspect(&name).unwrap();
    let e = |n: &str| snap.entries.iter().find(|e| e.name == n).unwrap();
    let State::Queue(qs) = e("q").state.as_ref().unwrap() else { panic!() };
    assert_eq!(qs.len, 4, "clamped to the capacity");
    assert!(e("q").problems[0].contains("beyond the capacity"), "{:?}", e("q").problems);
    assert!(e("s").problems[0].contains("count -3 is outside 0..=2"), "{:?}", e("s").problems);
    assert!(e("l").problems[0].contains("above the initial count"), "{:?}", e("l").problems);
    let text = snap.to_string();
    assert!(text.contains("[####################] 4/4") && text.contains("problem: tail 100"), "{text}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&snap.to_json()).unwrap()["entries"][1]["problems"][0]
            .as_str()
            .unwrap(),
        "count -3 is outside 0..=2"
    );
    drop((q, s, l));

    poke(&name, offset("q") + zipc::queue::header::CAPACITY, &8u64.to_le_bytes());
    assert!(matches!(inspect::inspect(&name), Err(zipc::Error::Corrupt { .. })));
}

/// A segment written to ZeroIPC's rules (no self-description): entries untyped, no registry.
#[test]
fn zeroipc_segments_are_shown_untyped() {
    let name = ShmName::new("insp-zeroipc");
    let size = 8192u64;
    let mut buf = vec![0u8; size as usize];
    let max_entries = 4u32;
    let offset = 32 + 48 * max_entries as u64;
    buf[offset as usize..offset as usize + 8].copy_from_slice(&5u64.to_le_bytes());
    let entry = 32;
    buf[entry..entry + 3].copy_from_slice(b"ids");
    buf[entry + 32..entry + 40].copy_from_slice(&offset.to_le_bytes());
    buf[entry + 40..entry + 48].copy_from_slice(&28u64.to_le_bytes());
    let header = [
        zipc::table::MAGIC.to_le_bytes().as_slice(),
        &2u32.to_le_bytes(),
        &1u32.to_le_bytes(),
        &max_entries.to_le_bytes(),
        &size.to_le_bytes(),
        &(offset + 28).to_le_bytes(),
    ]
    .concat();
    buf[..32].copy_from_slice(&header);
    std::fs::write(name.path(), &buf).unwrap();

    let snap = inspect::inspect(&name).unwrap();
    assert!(snap.zipc.is_none() && snap.processes.is_empty());
    assert_eq!(snap.entries.len(), 1);
    let e = &snap.entries[0];
    assert_eq!((e.name.as_str(), e.offset, e.size), ("ids", offset, 28));
    assert!(e.descriptor.is_none() && e.state.is_none() && e.problems.is_empty());
    let text = snap.to_string();
    assert!(text.contains("no zipc self-description (entries untyped)"), "{text}");
    assert!(text.contains("processes   unknown (ZeroIPC segments keep no registry)"), "{text}");
    let row = text.lines().find(|l| l.ends_with(" ids")).unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["0", &format!("{offset:#06x}"), "28", "untyped", "-", "-", "ids"]
    );
    let json: serde_json::Value = serde_json::from_str(&snap.to_json()).unwrap();
    assert_eq!(json["typed"], false);
    assert_eq!(json["zipc"], serde_json::Value::Null);
    assert_eq!(json["entries"][0]["kind"], serde_json::Value::Null);
    assert_eq!(json["entries"][0]["state"], serde_json::Value::Null);
    assert_eq!(json["entries"][0]["size"], 28);
}
