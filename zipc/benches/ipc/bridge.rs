//! zipc-bridge against plain Zenoh, over TCP on 127.0.0.1, 8-byte elements.
//!
//! * `zenoh_raw_throughput_msgs`: one session puts `n` 8-byte values on a key (blocking
//!   congestion control, Zenoh's own batching), another session's subscriber counts them;
//!   messages per second from the first put to the last arrival.
//! * `bridge_throughput_msgs`: a producer pushes `n` u64 into an SPSC queue of segment A; bridge
//!   A exports it, bridge B imports it into the same queue of segment B, a consumer pops all `n`.
//!   From the first push to the last pop.
//! * `zenoh_raw_latency_ns`: ping-pong of an 8-byte value between two processes' sessions
//!   (express publications, blocking congestion control); on each side a thread receives from
//!   the subscriber's default (FIFO) handler — as the bridge benchmark's two threads pop from
//!   their queues — and answers; one-way = round trip / 2. `params.echo_in_callback_ns` is the
//!   same with the echo answering inside Zenoh's callback, on Zenoh's own thread (no thread of
//!   the application woken), for reference.
//! * `bridge_latency_ns`: the same ping-pong through queues: the parent pushes into A's `ping`,
//!   an echo thread pops it from B's `ping` and pushes it into B's `pong`, the parent pops it from
//!   A's `pong` — two bridges, each exporting one queue and importing the other.
//!
//! Each host is a process of its own with its own Zenoh session, talking TCP through the
//! loopback interface: for the raw latency, this process and an echo process; for the bridge,
//! each bridge in a process of its own (as deployed, and as the `zipc-bridge` binary runs:
//! without membarrier registration) beside the benchmark's application threads in this one. The
//! raw throughput's two sessions share this process (the strongest baseline: one Zenoh runtime,
//! a callback counting). The threads (and Zenoh's) may use both CPUs, unlike the other
//! benchmarks' pinned processes.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zenoh::qos::CongestionControl;
use zenoh::Wait;
use zipc::{Queue, Spsc};
use zipc_bridge::books::books_name;
use zipc_bridge::{Bridge, BridgeConfig};

use crate::peer::BenchSegment;
use crate::report::{percentiles, Measurement};
use crate::Plan;

/// Queue capacity of the bridged throughput queues.
const CAPACITY: u64 = 1 << 16;
/// Hang guard of every wait.
const STALL: Duration = Duration::from_secs(60);

fn sizes(plan: &Plan) -> (u64, usize) {
    if plan.smoke {
        (20_000, 50)
    } else {
        (2_000_000, 5_000)
    }
}

fn endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port();
    format!("tcp/127.0.0.1:{port}")
}

fn prefix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("zipc-bench/{}/{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Runs `f` on a thread allowed on both benchmark CPUs (the parent is pinned to one).
fn unpinned<T: Send + 'static>(plan: &Plan, f: impl FnOnce() -> T + Send + 'static) -> T {
    let cpus: Vec<usize> = plan.pair.map(|(a, b)| vec![a, b]).unwrap_or_default();
    std::thread::spawn(move || {
        if !cpus.is_empty() {
            crate::machine::pin_to(&cpus);
        }
        f()
    })
    .join()
    .expect("benchmark thread")
}

fn session(listen: Option<&str>, connect: Option<&str>) -> zenoh::Session {
    let mut c = zenoh::Config::default();
    c.insert_json5("scouting/multicast/enabled", "false").expect("config");
    if let Some(l) = listen {
        c.insert_json5("listen/endpoints", &format!("[{l:?}]")).expect("config");
    }
    if let Some(e) = connect {
        c.insert_json5("connect/endpoints", &format!("[{e:?}]")).expect("config");
    }
    zenoh::open(c).wait().expect("opening a Zenoh session")
}

/// Two sessions connected to each other.
fn pair() -> (zenoh::Session, zenoh::Session) {
    let ep = endpoint();
    let a = session(Some(&ep), None);
    let b = session(None, Some(&ep));
    (a, b)
}

/// Waits until `publisher` sees a subscriber.
fn until_matched(publisher: &zenoh::pubsub::Publisher<'_>) {
    let t0 = Instant::now();
    while !publisher.matching_status().wait().expect("matching status").matching() {
        assert!(t0.elapsed() < STALL, "the subscriber never appeared");
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub fn zenoh_raw_throughput(plan: &Plan) -> Measurement {
    let (n, _) = sizes(plan);
    unpinned(plan, move || {
        let (a, b) = pair();
        let key = format!("{}/t", prefix());
        let got = Arc::new(AtomicU64::new(0));
        let done = Arc::new((std::sync::Mutex::new(None::<Instant>), std::sync::Condvar::new()));
        let (g, d) = (Arc::clone(&got), Arc::clone(&done));
        let _sub = b
            .declare_subscriber(&key)
            .callback(move |s| {
                assert_eq!(s.payload().len(), 8);
                if g.fetch_add(1, Ordering::Relaxed) + 1 == n {
                    *d.0.lock().unwrap() = Some(Instant::now());
                    d.1.notify_all();
                }
            })
            .wait()
            .expect("subscriber");
        let publisher =
            a.declare_publisher(&key).congestion_control(CongestionControl::Block).wait().expect("publisher");
        until_matched(&publisher);
        let t0 = Instant::now();
        for i in 0..n {
            publisher.put(i.to_le_bytes().to_vec()).wait().expect("put");
        }
        let guard = done.0.lock().unwrap();
        let (end, _) = done.1.wait_timeout_while(guard, STALL, |e| e.is_none()).unwrap();
        let end = end.expect("every message arrives (blocking congestion control, TCP)");
        let secs = end.duration_since(t0).as_secs_f64();
        Measurement {
            name: "zenoh_raw_throughput_msgs",
            unit: "msgs/s",
            value: n as f64 / secs,
            params: vec![
                ("messages", n.to_string()),
                (
                    "mechanism",
                    "Zenoh put of 8-byte values, blocking congestion control, to a subscriber callback".into(),
                ),
            ],
        }
    })
}

/// Two segments with the named SPSC queues of u64, and a bridge process for each (as deployed:
/// `zipc-bridge` is a process of its own beside the applications). A exports `a_to_b` and
/// imports `b_to_a`, B the other way round. Unlinks everything when dropped (bridges first).
struct Hosts {
    a: BenchSegment,
    b: BenchSegment,
    bridges: Vec<Child>,
    streams: Vec<&'static str>,
}

impl Hosts {
    fn new(capacity: u64, a_to_b: &[&'static str], b_to_a: &[&'static str]) -> Hosts {
        let a = BenchSegment::create("bridge-a", 8 << 20);
        let b = BenchSegment::create("bridge-b", 8 << 20);
        let streams: Vec<&'static str> = a_to_b.iter().chain(b_to_a).copied().collect();
        for seg in [&a, &b] {
            for s in &streams {
                Queue::<u64, Spsc>::create(&seg.segment, s, capacity).expect("queue");
            }
        }
        let (ep, prefix) = (endpoint(), prefix());
        let (out, inn) = (a_to_b.join(","), b_to_a.join(","));
        let bridges = vec![
            spawn_bridge(&[&a.name, &prefix, "listen", &ep, &out, &inn]),
            spawn_bridge(&[&b.name, &prefix, "connect", &ep, &inn, &out]),
        ];
        Hosts { a, b, bridges, streams }
    }

    /// Zenoh samples bridge B wrote (from its books).
    fn batches_into_b(&self, stream: &str) -> u64 {
        zipc_bridge::Books::open(&books_name(&self.b.name, stream)).map_or(0, |b| b.get(zipc_bridge::books::C::Batches))
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for mut b in self.bridges.drain(..) {
            drop(b.stdin.take()); // end of input: the bridge stops
            let _ = b.wait();
        }
        for seg in [&self.a.name, &self.b.name] {
            for s in &self.streams {
                let _ = zipc::Segment::unlink(&books_name(seg, s));
            }
        }
    }
}

/// A bridge process: `SEGMENT PREFIX listen|connect ENDPOINT EXPORTS IMPORTS` (comma-separated
/// names), stopping when its standard input closes. Like the `zipc-bridge` binary it runs
/// without membarrier registration (docs/BRIDGE.md, "Performance").
fn spawn_bridge(args: &[&str]) -> Child {
    Command::new(std::env::current_exe().expect("benchmark binary"))
        .arg(crate::peer::FLAG)
        .arg("bridge")
        .arg("-")
        .args(args)
        .env("ZIPC_NO_MEMBARRIER", "1")
        .stdin(Stdio::piped())
        .spawn()
        .expect("starting a bridge process")
}

/// The bridge process's side of [`spawn_bridge`].
pub fn run_peer(args: &[String]) {
    let names = |s: &str| s.split(',').filter(|n| !n.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let mut config = BridgeConfig::new(&args[0], &args[1]);
    config = if args[2] == "listen" { config.listen(&args[3]) } else { config.connect(&args[3]) };
    config.exports = names(&args[4]);
    config.imports = names(&args[5]);
    let bridge = Bridge::start(config).expect("starting the bridge");
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    bridge.stop().expect("the bridge stops cleanly");
}

pub fn bridge_throughput(plan: &Plan) -> Measurement {
    let (n, _) = sizes(plan);
    unpinned(plan, move || {
        let hosts = Hosts::new(CAPACITY, &["t"], &[]);
        let mut tx = Queue::<u64, Spsc>::open(&hosts.a.segment, "t").unwrap().producer().unwrap();
        let mut rx = Queue::<u64, Spsc>::open(&hosts.b.segment, "t").unwrap().consumer().unwrap();
        // One element through first: the bridges are connected and matched before the clock runs.
        tx.push(u64::MAX, Some(STALL)).unwrap();
        assert_eq!(rx.pop(Some(STALL)).unwrap(), u64::MAX);
        let t0 = Instant::now();
        let producer = std::thread::spawn(move || {
            for i in 0..n {
                tx.push(i, Some(STALL)).expect("the producer is never blocked for good");
            }
        });
        let mut sum = 0u64;
        for _ in 0..n {
            sum = sum.wrapping_add(rx.pop(Some(STALL)).expect("elements keep arriving"));
        }
        let secs = t0.elapsed().as_secs_f64();
        producer.join().unwrap();
        assert_eq!(sum, n * (n - 1) / 2, "every element arrived once");
        let batches = hosts.batches_into_b("t");
        Measurement {
            name: "bridge_throughput_msgs",
            unit: "msgs/s",
            value: n as f64 / secs,
            params: vec![
                ("messages", n.to_string()),
                ("batches", batches.to_string()),
                ("mechanism", "SPSC queue of u64, bridge A export, Zenoh TCP, bridge B import, SPSC queue".into()),
            ],
        }
    })
}

fn latency_measurement(name: &'static str, mechanism: &str, mut samples: Vec<f64>) -> Measurement {
    let rounds = samples.len();
    let (median, p99) = percentiles(&mut samples);
    Measurement {
        name,
        unit: "ns",
        value: median,
        params: vec![
            ("p99_ns", format!("{p99:.1}")),
            ("round_trips", rounds.to_string()),
            ("mechanism", mechanism.to_owned()),
        ],
    }
}

/// One-way latencies of a raw Zenoh ping-pong between this process and an echo process (as
/// the bridge benchmark's two hosts are separate processes). The echo answers from a thread
/// receiving from the subscriber's default handler, or (`in_callback`) from inside Zenoh's
/// callback.
fn zenoh_pingpong(rounds: usize, in_callback: bool) -> Vec<f64> {
    let ep = endpoint();
    let a = session(Some(&ep), None);
    let p = prefix();
    let (ping, pong) = (format!("{p}/ping"), format!("{p}/pong"));
    let total = rounds as u64 + 10;
    let back = a.declare_subscriber(&pong).wait().unwrap();
    let out = a.declare_publisher(&ping).congestion_control(CongestionControl::Block).express(true).wait().unwrap();
    let mut echo = Command::new(std::env::current_exe().expect("benchmark binary"))
        .arg(crate::peer::FLAG)
        .arg("zenoh-echo")
        .arg("-")
        .args([ep, p, total.to_string(), in_callback.to_string()])
        .spawn()
        .expect("starting the echo process");
    until_matched(&out);
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..total {
        let t0 = Instant::now();
        out.put(i.to_le_bytes().to_vec()).wait().unwrap();
        let s = back.recv_timeout(STALL).unwrap().expect("the answer arrives");
        let v = u64::from_le_bytes(s.payload().to_bytes()[..8].try_into().unwrap());
        assert_eq!(v, i + 1);
        if i >= 10 {
            samples.push(t0.elapsed().as_nanos() as f64 / 2.0);
        }
    }
    assert!(echo.wait().expect("echo process").success(), "the echo process failed");
    samples
}

/// The echo process of [`zenoh_pingpong`]: `ENDPOINT PREFIX ROUNDS IN_CALLBACK`.
pub fn run_echo(args: &[String]) {
    let b = session(None, Some(&args[0]));
    let (ping, pong) = (format!("{}/ping", args[1]), format!("{}/pong", args[1]));
    let total: u64 = args[2].parse().expect("rounds");
    let answer = b.declare_publisher(pong).congestion_control(CongestionControl::Block).express(true).wait().unwrap();
    // Answers only once the parent's subscriber is known, and subscribes only then: the parent
    // starts when it sees this subscriber.
    until_matched(&answer);
    let count = Arc::new(AtomicU64::new(0));
    let reply = move |s: &zenoh::sample::Sample| {
        let v = u64::from_le_bytes(s.payload().to_bytes()[..8].try_into().unwrap());
        answer.put((v + 1).to_le_bytes().to_vec()).wait().unwrap();
    };
    if args[3] == "true" {
        let c = Arc::clone(&count);
        let _sub = b
            .declare_subscriber(&ping)
            .callback(move |s| {
                reply(&s);
                c.fetch_add(1, Ordering::Release);
            })
            .wait()
            .unwrap();
        let t0 = Instant::now();
        while count.load(Ordering::Acquire) < total {
            assert!(t0.elapsed() < STALL * 2, "the pings stopped");
            std::thread::sleep(Duration::from_millis(1));
        }
    } else {
        let pings = b.declare_subscriber(&ping).wait().unwrap();
        for _ in 0..total {
            reply(&pings.recv_timeout(STALL).unwrap().expect("ping arrives"));
        }
    }
}

pub fn zenoh_raw_latency(plan: &Plan) -> Measurement {
    let (_, rounds) = sizes(plan);
    unpinned(plan, move || {
        let mut m = latency_measurement(
            "zenoh_raw_latency_ns",
            "Zenoh ping-pong of 8-byte values between two sessions over loopback TCP, express; each side a thread receiving from the default subscriber handler",
            zenoh_pingpong(rounds, false),
        );
        // For reference: the echo answering inside Zenoh's callback, on Zenoh's own thread.
        let (callback, _) = percentiles(&mut zenoh_pingpong(rounds, true));
        m.params.push(("echo_in_callback_ns", format!("{callback:.1}")));
        m
    })
}

pub fn bridge_latency(plan: &Plan) -> Measurement {
    let (_, rounds) = sizes(plan);
    unpinned(plan, move || {
        let hosts = Hosts::new(64, &["ping"], &["pong"]);
        let mut out = Queue::<u64, Spsc>::open(&hosts.a.segment, "ping").unwrap().producer().unwrap();
        let mut back = Queue::<u64, Spsc>::open(&hosts.a.segment, "pong").unwrap().consumer().unwrap();
        let mut echo_rx = Queue::<u64, Spsc>::open(&hosts.b.segment, "ping").unwrap().consumer().unwrap();
        let mut echo_tx = Queue::<u64, Spsc>::open(&hosts.b.segment, "pong").unwrap().producer().unwrap();
        let total = rounds as u64 + 10;
        let echo = std::thread::spawn(move || {
            for _ in 0..total {
                let v = echo_rx.pop(Some(STALL)).expect("ping arrives");
                echo_tx.push(v + 1, Some(STALL)).unwrap();
            }
        });
        let mut samples = Vec::with_capacity(rounds);
        for i in 0..total {
            let t0 = Instant::now();
            out.push(i, Some(STALL)).unwrap();
            assert_eq!(back.pop(Some(STALL)).expect("the answer arrives"), i + 1);
            if i >= 10 {
                samples.push(t0.elapsed().as_nanos() as f64 / 2.0);
            }
        }
        echo.join().unwrap();
        latency_measurement(
            "bridge_latency_ns",
            "ping-pong through SPSC queues and two bridges (each exports one, imports the other), loopback TCP",
            samples,
        )
    })
}
