//! Two "hosts" on this machine: segment A with a producer, segment B with a consumer, and a
//! `zipc-bridge` process for each, talking Zenoh over TCP on 127.0.0.1.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use zipc::{Queue, Ring, RingMode, Segment, Spsc, Topic};
use zipc_bridge::books::{books_name, Books};
use zipc_bridge::Role;
use zipc_tests::ShmName;

/// Generous hang guard for one pop: the test fails instead of hanging if nothing moves.
const STALL: Duration = Duration::from_secs(60);

/// A segment and the books the bridge keeps beside it, all unlinked at the end, even on failure.
struct Host {
    name: ShmName,
    _books: Vec<ShmName>,
}

impl Host {
    fn new(tag: &str, streams: &[&str]) -> Host {
        let name = ShmName::new(tag);
        let books = streams.iter().map(|s| ShmName(books_name(&name, s))).collect();
        Host { name, _books: books }
    }

    fn books(&self, stream: &str) -> Books {
        Books::open(&books_name(&self.name, stream)).expect("the bridge kept books")
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port()
}

/// A running `zipc-bridge run`, killed if the test ends first.
struct BridgeProcess(Option<Child>, Option<BufReader<ChildStdout>>);

impl BridgeProcess {
    fn start(segment: &str, prefix: &str, args: &[&str]) -> BridgeProcess {
        let mut all = vec!["--segment", segment, "--prefix", prefix];
        all.extend_from_slice(args);
        BridgeProcess::run(&all)
    }

    /// `zipc-bridge run ARGS`, once it says it runs.
    fn run(args: &[&str]) -> BridgeProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zipc-bridge"))
            .arg("run")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting zipc-bridge");
        // It prints "running on" once every structure is open and Zenoh joined.
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line).expect("stdout");
        let mut process = BridgeProcess(Some(child), Some(out));
        if !line.contains("running on") {
            let (_, out, err) = process.stop();
            panic!("zipc-bridge did not start: {line}{out}{err}");
        }
        process
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then the exit status and everything the bridge printed (stdout, stderr).
    fn stop(&mut self) -> (bool, String, String) {
        let mut child = self.0.take().expect("running");
        // SAFETY: kill(2) on our own child's pid, which has not been reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = child.try_wait().expect("waiting") {
                break s;
            }
            assert!(Instant::now() < deadline, "the bridge did not stop within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        };
        let (mut out, mut err) = (String::new(), String::new());
        self.1.take().expect("piped").read_to_string(&mut out).expect("stdout");
        child.stderr.take().expect("piped").read_to_string(&mut err).expect("stderr");
        (status.success(), out, err)
    }
}

impl Drop for BridgeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Pushes 0..n into `queue` of segment `seg`, waiting whenever it is full.
fn produce(seg: String, n: u64) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let seg = Segment::open(&seg).expect("segment A");
        let mut tx = Queue::<u64, Spsc>::open(&seg, "jobs").expect("queue").producer().expect("producer role");
        for i in 0..n {
            tx.push(i, Some(STALL)).expect("the producer is never blocked for good");
        }
    })
}

/// Pops until the last value, `n - 1`, arrives; checks order; returns how many arrived. Calls
/// `at(count)` after each element (the kill tests restart a bridge from there).
fn consume(seg: &str, n: u64, at: impl FnMut(u64)) -> u64 {
    consume_until(seg, n, || 0, at)
}

/// [`consume`], which also ends when what arrived and what `dropped()` says the importer
/// counted as gaps make `n`: after an exporter died holding the last elements, no last value
/// comes, and the importer learns of the gap from the restarted exporter's announcement.
fn consume_until(seg: &str, n: u64, mut dropped: impl FnMut() -> u64, mut at: impl FnMut(u64)) -> u64 {
    let seg = Segment::open(seg).expect("segment B");
    let mut rx = Queue::<u64, Spsc>::open(&seg, "jobs").expect("queue").consumer().expect("consumer role");
    let (mut count, mut last) = (0u64, None::<u64>);
    let mut progress = (Instant::now(), 0u64);
    loop {
        let v = match rx.pop(Some(Duration::from_millis(50))) {
            Ok(v) => v,
            Err(zipc::Error::Timeout) => {
                let gaps = dropped();
                if count + gaps == n {
                    return count;
                }
                if gaps != progress.1 {
                    progress = (Instant::now(), gaps);
                }
                assert!(progress.0.elapsed() < STALL, "elements keep arriving: {count} + {gaps} dropped of {n}");
                continue;
            }
            Err(e) => panic!("popping: {e}"),
        };
        progress.0 = Instant::now();
        assert!(v < n, "value {v} was never sent");
        if let Some(l) = last {
            assert!(v > l, "out of order or repeated: {v} after {l}");
        }
        last = Some(v);
        count += 1;
        at(count);
        if v == n - 1 {
            return count;
        }
    }
}

fn hosts(tag: &str) -> (Host, Host, String) {
    let a = Host::new(&format!("{tag}-a"), &["jobs"]);
    let b = Host::new(&format!("{tag}-b"), &["jobs"]);
    for h in [&a, &b] {
        let seg = Segment::create(&h.name, 1 << 20).expect("segment");
        Queue::<u64, Spsc>::create(&seg, "jobs", 4096).expect("queue");
    }
    let prefix = format!("zipc-test/{}", a.name.trim_start_matches('/'));
    (a, b, prefix)
}

#[test]
fn a_million_elements_cross_in_order_and_the_books_balance() {
    const N: u64 = 1_000_000;
    let (a, b, prefix) = hosts("bridge-e2e");
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut bridge_b = BridgeProcess::start(&b.name, &prefix, &["--import", "jobs", "--listen", &endpoint]);
    let mut bridge_a = BridgeProcess::start(&a.name, &prefix, &["--export", "jobs", "--connect", &endpoint]);
    let producer = produce(a.name.to_string(), N);
    let received = consume(&b.name, N, |_| {});
    producer.join().expect("producer");
    assert_eq!(received, N, "every element arrives: nothing is lost on a healthy link");

    let (ok_a, out_a, err_a) = bridge_a.stop();
    let (ok_b, out_b, err_b) = bridge_b.stop();
    assert!(ok_a && ok_b, "both bridges stop cleanly on SIGTERM:\n{err_a}\n{err_b}");
    assert!(out_b.contains("import queue jobs: elements=1000000"), "final status line:\n{out_b}");
    assert!(out_a.contains("export queue jobs: elements=1000000"), "final status line:\n{out_a}");
    let (books_a, books_b) = (a.books("jobs"), b.books("jobs"));
    assert_eq!(books_a.dropped(Role::Export), 0);
    assert_eq!(books_b.dropped(Role::Import), 0);
    assert_eq!(books_b.get(zipc_bridge::books::C::Repeated), 0);
    assert!(
        books_b.get(zipc_bridge::books::C::Batches) < N / 4,
        "elements travel in batches: {} Zenoh samples for {N} elements",
        books_b.get(zipc_bridge::books::C::Batches)
    );
}

#[test]
fn killing_and_restarting_the_importer_keeps_the_books_exact() {
    const N: u64 = 1_000_000;
    let (a, b, prefix) = hosts("bridge-kill");
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    // B listens and A connects: after B's restart, A's Zenoh must find it again.
    let import = ["--import", "jobs", "--listen", endpoint.as_str()];
    let mut bridge_b = BridgeProcess::start(&b.name, &prefix, &import);
    let mut bridge_a = BridgeProcess::start(&a.name, &prefix, &["--export", "jobs", "--connect", &endpoint]);
    let producer = produce(a.name.to_string(), N);
    let mut restarted = false;
    let received = consume(&b.name, N, |count| {
        if count == N / 3 && !restarted {
            restarted = true;
            bridge_b.kill(); // SIGKILL, mid-stream, batches in flight
            bridge_b = BridgeProcess::start(&b.name, &prefix, &import);
        }
    });
    producer.join().expect("producer");
    assert!(restarted);
    let (ok_a, _, err_a) = bridge_a.stop();
    let (ok_b, _, err_b) = bridge_b.stop();
    assert!(ok_a && ok_b, "{err_a}\n{err_b}");

    let books_b = b.books("jobs");
    let seg_b = Segment::open(&b.name).expect("segment B");
    let lost_in_queue = Queue::<u64, Spsc>::open(&seg_b, "jobs").expect("queue").lost();
    let dropped = books_b.dropped(Role::Import);
    assert_eq!(
        received + dropped + lost_in_queue,
        N,
        "delivered {received} + dropped {dropped} + lost in the queue {lost_in_queue} = sent {N}"
    );
    assert_eq!(a.books("jobs").get(zipc_bridge::books::C::Elements), N, "the exporter published everything");
    // The exporter kept what the dead importer had not acknowledged and sent it again when the
    // new one asked: nothing is lost while the exporter lives.
    assert_eq!((received, dropped), (N, 0), "exactly once across the importer's crash");
    assert!(
        a.books("jobs").get(zipc_bridge::books::C::Resent) > 0,
        "the exporter sent the unacknowledged batches again"
    );
    eprintln!("killed mid-stream: delivered {received}, dropped {dropped}, lost in the queue {lost_in_queue}");
}

#[test]
fn a_different_layout_is_refused_by_name_and_the_other_streams_go_on() {
    #[derive(
        Clone, Copy, Debug, zipc::ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
    )]
    #[zerocopy(crate = "zipc::zerocopy")]
    #[repr(C)]
    struct Pair {
        a: u32,
        b: u32,
    }
    let a = Host::new("bridge-layout-a", &["jobs", "frames"]);
    let b = Host::new("bridge-layout-b", &["jobs", "frames"]);
    {
        let seg = Segment::create(&a.name, 1 << 20).expect("segment");
        Queue::<u64, Spsc>::create(&seg, "jobs", 64).expect("queue");
        Queue::<u64, Spsc>::create(&seg, "frames", 64).expect("queue");
        let seg = Segment::create(&b.name, 1 << 20).expect("segment");
        Queue::<u64, Spsc>::create(&seg, "jobs", 64).expect("queue");
        Queue::<Pair, Spsc>::create(&seg, "frames", 64).expect("queue"); // 8 bytes too, another layout
    }
    let prefix = format!("zipc-test/{}", a.name.trim_start_matches('/'));
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut bridge_b =
        BridgeProcess::start(&b.name, &prefix, &["--import", "jobs", "--import", "frames", "--listen", &endpoint]);
    let mut bridge_a =
        BridgeProcess::start(&a.name, &prefix, &["--export", "jobs", "--export", "frames", "--connect", &endpoint]);
    let seg_a = Segment::open(&a.name).expect("segment A");
    let mut frames = Queue::<u64, Spsc>::open(&seg_a, "frames").expect("queue").producer().expect("producer");
    for i in 0..10 {
        frames.push(i, Some(STALL)).expect("push");
    }
    let producer = produce(a.name.to_string(), 1000);
    assert_eq!(consume(&b.name, 1000, |_| {}), 1000, "the matching stream goes on");
    producer.join().expect("producer");
    // The refused frames were taken from A and counted on B.
    let deadline = Instant::now() + STALL;
    while b.books("frames").get(zipc_bridge::books::C::Refused) < 10 {
        assert!(Instant::now() < deadline, "the refused frames are counted");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (_, _, _) = bridge_a.stop();
    let (ok_b, _, err_b) = bridge_b.stop();
    assert!(ok_b, "a refused stream does not stop the bridge:\n{err_b}");
    assert!(
        err_b.contains(r#"structure "frames""#) && err_b.contains("{a:u32@0,b:u32@4}#8") && err_b.contains("u64"),
        "the difference is spelled out, as open spells it:\n{err_b}"
    );
    let seg_b = Segment::open(&b.name).expect("segment B");
    assert!(Queue::<Pair, Spsc>::open(&seg_b, "frames").expect("queue").is_empty(), "nothing refused was written");
}

#[test]
fn a_lossless_topic_crosses_whole_and_in_order() {
    const N: u64 = 100_000;
    let a = Host::new("bridge-topic-a", &["t"]);
    let b = Host::new("bridge-topic-b", &["t"]);
    for h in [&a, &b] {
        let seg = Segment::create(&h.name, 1 << 20).expect("segment");
        Topic::<u64>::create(&seg, "t", 256, 4, 0).expect("topic");
    }
    // B's subscriber joins before anything is published: a lossless topic keeps every sample
    // for the subscribers it has.
    let seg_b = Segment::open(&b.name).expect("segment B");
    let mut sub = Topic::<u64>::open(&seg_b, "t").expect("topic").subscriber().expect("subscriber");
    let prefix = format!("zipc-test/{}", a.name.trim_start_matches('/'));
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut bridge_b = BridgeProcess::start(&b.name, &prefix, &["--import", "t", "--listen", &endpoint]);
    let mut bridge_a = BridgeProcess::start(&a.name, &prefix, &["--export", "t", "--connect", &endpoint]);
    let a_name = a.name.to_string();
    let publisher = std::thread::spawn(move || {
        let seg = Segment::open(&a_name).expect("segment A");
        let mut tx = Topic::<u64>::open(&seg, "t").expect("topic").publisher().expect("publisher");
        for i in 0..N {
            tx.send_copy(&i, Some(STALL)).expect("the publisher is never blocked for good");
        }
    });
    for i in 0..N {
        assert_eq!(sub.receive_copy(Some(STALL)).expect("samples keep arriving"), i, "in order, none missing");
    }
    publisher.join().expect("publisher");
    let (ok_a, _, err_a) = bridge_a.stop();
    let (ok_b, _, err_b) = bridge_b.stop();
    assert!(ok_a && ok_b, "{err_a}\n{err_b}");
    assert_eq!(b.books("t").dropped(Role::Import), 0);
    assert_eq!(b.books("t").get(zipc_bridge::books::C::Elements), N);
}

#[test]
fn a_lossy_ring_forwards_the_newest_and_counts_every_gap() {
    const N: u64 = 100_000;
    let a = Host::new("bridge-ring-a", &["r"]);
    let b = Host::new("bridge-ring-b", &["r"]);
    // A's ring overwrites (its producer never waits, the exporter misses what it is too slow
    // for); B's is lossless and holds everything, so every gap B sees is the bridge's to count.
    Ring::<u64>::create(&Segment::create(&a.name, 1 << 20).expect("segment"), "r", 64, RingMode::Overwrite)
        .expect("ring");
    Ring::<u64>::create(&Segment::create(&b.name, 4 << 20).expect("segment"), "r", 1 << 17, RingMode::Lossless)
        .expect("ring");
    let prefix = format!("zipc-test/{}", a.name.trim_start_matches('/'));
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut bridge_b = BridgeProcess::start(&b.name, &prefix, &["--import", "r", "--listen", &endpoint]);
    let mut bridge_a = BridgeProcess::start(&a.name, &prefix, &["--export", "r", "--connect", &endpoint]);
    let seg_a = Segment::open(&a.name).expect("segment A");
    let mut tx = Ring::<u64>::open(&seg_a, "r").expect("ring").producer().expect("producer");
    // Wait until B has the first element (the bridges are connected), then push as fast as
    // the ring takes them: value = the element's position in A's ring.
    tx.push(0, Some(STALL)).expect("push");
    let seg_b = Segment::open(&b.name).expect("segment B");
    let ring_b = Ring::<u64>::open(&seg_b, "r").expect("ring");
    let deadline = Instant::now() + STALL;
    while ring_b.total_written() == 0 {
        assert!(Instant::now() < deadline, "the first element never crossed");
        std::thread::sleep(Duration::from_millis(1));
    }
    for i in 1..N {
        tx.push(i, Some(STALL)).expect("an overwrite ring never refuses");
    }
    // Let the exporter take everything it will, then stop both bridges.
    let deadline = Instant::now() + STALL;
    while a.books("r").get(zipc_bridge::books::C::Elements) + Ring::<u64>::open(&seg_a, "r").unwrap().total_missed() < N
    {
        assert!(Instant::now() < deadline, "the exporter never caught up");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Whatever is still in flight now either arrives before B stops (and is written and
    // counted) or never does (and is neither): the books below hold either way.
    let (ok_a, _, err_a) = bridge_a.stop();
    let (ok_b, _, err_b) = bridge_b.stop();
    assert!(ok_a && ok_b, "{err_a}\n{err_b}");

    let mut rx = ring_b.consumer().expect("consumer");
    let (mut popped, mut last) = (0u64, None::<u64>);
    while let Some(v) = rx.try_pop() {
        assert!(v < N, "{v} was never pushed");
        assert!(last.is_none_or(|l| v > l), "{v} after {last:?}: out of order or repeated");
        last = Some(v);
        popped += 1;
    }
    let last = last.expect("something crossed");
    let books = b.books("r");
    assert_eq!(books.get(zipc_bridge::books::C::Elements), popped, "every element written was counted");
    assert_eq!(
        books.dropped(Role::Import),
        last + 1 - popped,
        "every element up to the last one written is either in B's ring or counted as dropped"
    );
    eprintln!("lossy ring: {popped} of {N} crossed, last {last}, dropped {}", last + 1 - popped);
}

#[test]
fn status_reads_the_books_of_a_stopped_bridge() {
    let (a, b, prefix) = hosts("bridge-status");
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut bridge_b = BridgeProcess::start(&b.name, &prefix, &["--import", "jobs", "--listen", &endpoint]);
    let mut bridge_a = BridgeProcess::start(&a.name, &prefix, &["--export", "jobs", "--connect", &endpoint]);
    let producer = produce(a.name.to_string(), 5000);
    assert_eq!(consume(&b.name, 5000, |_| {}), 5000);
    producer.join().expect("producer");
    bridge_a.stop();
    bridge_b.stop();
    let out = Command::new(env!("CARGO_BIN_EXE_zipc-bridge")).args(["status", &b.name]).output().expect("status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("import jobs: elements=5000 bytes=40000"), "{text}");
    assert!(text.contains("dropped=0"), "{text}");
    // The books are a zipc segment: every counter is visible to `zipc-schema inspect` too.
    let snap = zipc::inspect::inspect(&books_name(&b.name, "jobs")).expect("inspect the books");
    assert!(snap.entries.iter().any(|e| e.name == "elements"), "{snap}");
    let missing =
        Command::new(env!("CARGO_BIN_EXE_zipc-bridge")).args(["status", "/zipc-test-no-such-bridge"]).output();
    let missing = missing.expect("status");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no bridge has kept books for /zipc-test-no-such-bridge"));
}

#[test]
fn killing_and_restarting_the_exporter_keeps_the_books_exact() {
    const N: u64 = 500_000;
    let (a, b, prefix) = hosts("bridge-kill-export");
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let export = ["--export", "jobs", "--listen", endpoint.as_str()];
    let mut bridge_b = BridgeProcess::start(&b.name, &prefix, &["--import", "jobs", "--connect", &endpoint]);
    let mut bridge_a = BridgeProcess::start(&a.name, &prefix, &export);
    let producer = produce(a.name.to_string(), N);
    let mut restarted = false;
    let mut books_b = None;
    let dropped = || books_b.get_or_insert_with(|| b.books("jobs")).dropped(Role::Import);
    let received = consume_until(&b.name, N, dropped, |count| {
        if count == N / 3 && !restarted {
            restarted = true;
            bridge_a.kill(); // the dead exporter held the queue's consumer role: taken over
            bridge_a = BridgeProcess::start(&a.name, &prefix, &export);
        }
    });
    producer.join().expect("producer");
    let (ok_a, _, err_a) = bridge_a.stop();
    let (ok_b, _, err_b) = bridge_b.stop();
    assert!(ok_a && ok_b, "{err_a}\n{err_b}");
    // A pop the dead exporter had in flight is settled by its successor and counted in A's
    // queue as lost; those elements are a gap in the stream too, so the importer's `dropped`
    // holds them. The identity is the importing side's: delivered + dropped + lost in B = sent.
    let lost_in_a = Queue::<u64, Spsc>::open(&Segment::open(&a.name).expect("A"), "jobs").expect("queue").lost();
    let lost_in_queue = Queue::<u64, Spsc>::open(&Segment::open(&b.name).expect("B"), "jobs").expect("queue").lost();
    let dropped = b.books("jobs").dropped(Role::Import);
    assert_eq!(
        received + dropped + lost_in_queue,
        N,
        "delivered {received} + dropped {dropped} + lost {lost_in_queue}"
    );
    assert!(dropped >= lost_in_a, "the exporting queue's losses ({lost_in_a}) are among the dropped ({dropped})");
    eprintln!(
        "exporter killed mid-stream: delivered {received}, dropped {dropped}, of which lost in A's queue {lost_in_a}"
    );
}

#[test]
fn an_exporter_killed_holding_the_end_of_a_finished_stream_is_accounted_for() {
    // The exporter takes the whole stream (the producer is done, queue A is empty) while the
    // importing queue, 16 slots and nobody popping, holds the rest up on the link. The exporter
    // dies with batches unacknowledged and no element is left to follow them: only the
    // restarted exporter's announcement tells the importer where the stream ends.
    const N: u64 = 200_000;
    let a = Host::new("bridge-tail-a", &["jobs"]);
    let b = Host::new("bridge-tail-b", &["jobs"]);
    for (h, capacity) in [(&a, 4096), (&b, 16)] {
        Queue::<u64, Spsc>::create(&Segment::create(&h.name, 1 << 20).expect("segment"), "jobs", capacity)
            .expect("queue");
    }
    let prefix = format!("zipc-test/{}", a.name.trim_start_matches('/'));
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let export = ["--export", "jobs", "--listen", endpoint.as_str()];
    let _bridge_b = BridgeProcess::start(&b.name, &prefix, &["--import", "jobs", "--connect", &endpoint]);
    let mut bridge_a = BridgeProcess::start(&a.name, &prefix, &export);
    produce(a.name.to_string(), N).join().expect("producer");
    let seg_a = Segment::open(&a.name).expect("segment A");
    let queue_a = Queue::<u64, Spsc>::open(&seg_a, "jobs").expect("queue");
    zipc_tests::until("the exporter to take the whole stream", || queue_a.is_empty());
    bridge_a.kill();
    let _bridge_a = BridgeProcess::start(&a.name, &prefix, &export);
    let mut books_b = None;
    let dropped = || books_b.get_or_insert_with(|| b.books("jobs")).dropped(Role::Import);
    let received = consume_until(&b.name, N, dropped, |_| {});
    let dropped = b.books("jobs").dropped(Role::Import);
    assert_eq!(received + dropped, N, "delivered {received} + dropped {dropped}");
    eprintln!("exporter killed holding the end: delivered {received}, dropped {dropped}");
}

#[test]
fn a_queue_can_be_imported_into_a_topic() {
    const N: u64 = 10_000;
    let a = Host::new("bridge-q2t-a", &["jobs"]);
    let b = Host::new("bridge-q2t-b", &["jobs"]);
    Queue::<u64, Spsc>::create(&Segment::create(&a.name, 1 << 20).expect("segment"), "jobs", 256).expect("queue");
    Topic::<u64>::create(&Segment::create(&b.name, 1 << 20).expect("segment"), "jobs", 256, 4, 0).expect("topic");
    let seg_b = Segment::open(&b.name).expect("segment B");
    let topic = Topic::<u64>::open(&seg_b, "jobs").expect("topic");
    let mut subs: Vec<_> = (0..2).map(|_| topic.subscriber().expect("subscriber")).collect();
    let prefix = format!("zipc-test/{}", a.name.trim_start_matches('/'));
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut bridge_b = BridgeProcess::start(&b.name, &prefix, &["--import", "jobs", "--listen", &endpoint]);
    let mut bridge_a = BridgeProcess::start(&a.name, &prefix, &["--export", "jobs", "--connect", &endpoint]);
    let producer = produce(a.name.to_string(), N);
    // Two local subscribers on host B each get the whole stream.
    for i in 0..N {
        for s in &mut subs {
            assert_eq!(s.receive_copy(Some(STALL)).expect("samples keep arriving"), i);
        }
    }
    producer.join().expect("producer");
    let (ok_a, _, _) = bridge_a.stop();
    let (ok_b, _, err_b) = bridge_b.stop();
    assert!(ok_a && ok_b, "{err_b}");
}

/// A schema for one host's segment `segment`: queue `jobs` of u64 with `capacity` slots, and a
/// `[bridge]` table from `bridge` (TOML lines).
fn schema_file(dir: &std::path::Path, stem: &str, segment: &str, capacity: u64, bridge: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{stem}.toml"));
    let text = format!(
        "[segment]\nname = \"{segment}\"\n\n[[structures]]\nname = \"jobs\"\nkind = \"queue\"\npolicy = \"spsc\"\ntype = \"u64\"\ncapacity = {capacity}\n\n[bridge]\n{bridge}\n"
    );
    std::fs::write(&path, text).expect("writing the schema");
    path
}

#[test]
fn a_schema_with_a_bridge_table_configures_both_sides_and_is_checked() {
    let (a, b, prefix) = hosts("bridge-schema");
    let dir = std::env::temp_dir().join(format!("zipc-bridge-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let schema_a = schema_file(
        &dir,
        "host_a",
        &a.name,
        4096,
        &format!("prefix = \"{prefix}\"\nexport = [\"jobs\"]\nlisten = [\"{endpoint}\"]"),
    );
    let schema_b = schema_file(
        &dir,
        "host_b",
        &b.name,
        4096,
        &format!("prefix = \"{prefix}\"\nimport = [\"jobs\"]\nconnect = [\"{endpoint}\"]"),
    );
    let run = |schema: &std::path::Path| BridgeProcess::run(&["--schema", schema.to_str().expect("UTF-8 path")]);
    let mut bridge_a = run(&schema_a);
    let mut bridge_b = run(&schema_b);
    let producer = produce(a.name.to_string(), 20_000);
    assert_eq!(consume(&b.name, 20_000, |_| {}), 20_000, "the schemas' [bridge] tables say what crosses");
    producer.join().expect("producer");
    assert!(bridge_a.stop().0 && bridge_b.stop().0);

    // A schema that declares another capacity than the segment holds: refused at start, with
    // the error open gives.
    let wrong = schema_file(&dir, "host_wrong", &b.name, 8192, "import = [\"jobs\"]");
    let out = Command::new(env!("CARGO_BIN_EXE_zipc-bridge"))
        .args(["run", "--schema"])
        .arg(&wrong)
        .output()
        .expect("zipc-bridge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("jobs") && err.contains("8192") && err.contains("4096"), "{err}");
    // A malformed schema: file:line:column.
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[segment]\nname = \"/x\"\n[bridge]\nexport = [\"nope\"]\n").expect("write");
    let out =
        Command::new(env!("CARGO_BIN_EXE_zipc-bridge")).args(["run", "--schema"]).arg(&broken).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("broken.toml:4:11") && err.contains("\"nope\""), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stats_lines_come_every_period_and_on_sigusr1_and_sigint_stops_cleanly() {
    let (a, _b, prefix) = hosts("bridge-stats");
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let next_line = |bridge: &mut BridgeProcess| {
        let mut line = String::new();
        bridge.1.as_mut().expect("piped").read_line(&mut line).expect("stdout");
        line
    };
    // Periodic lines, one per stream per period.
    let mut periodic =
        BridgeProcess::start(&a.name, &prefix, &["--export", "jobs", "--listen", &endpoint, "--stats-every", "0.2"]);
    for _ in 0..2 {
        let line = next_line(&mut periodic);
        assert!(line.starts_with("zipc-bridge: export queue jobs: elements=0 "), "{line}");
        assert!(line.contains(" lag=0"), "{line}");
    }
    assert!(periodic.stop().0);

    // Without a period, SIGUSR1 asks for the lines; SIGINT stops cleanly, as SIGTERM does.
    let mut bridge = BridgeProcess::start(&a.name, &prefix, &["--export", "jobs", "--listen", &endpoint]);
    let pid = bridge.0.as_ref().expect("running").id() as i32;
    // SAFETY: kill(2) on our own child's pid, which has not been reaped.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    assert!(next_line(&mut bridge).starts_with("zipc-bridge: export queue jobs: elements=0 "));
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let mut child = bridge.0.take().expect("running");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting") {
            break s;
        }
        assert!(Instant::now() < deadline, "SIGINT did not stop the bridge");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut rest = String::new();
    bridge.1.take().expect("piped").read_to_string(&mut rest).expect("stdout");
    assert!(status.success(), "exit status {status}");
    assert!(rest.contains("SIGINT: stopping"), "{rest}");
}
