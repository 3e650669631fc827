//! zipc-bridge against plain Zenoh, over TCP on 127.0.0.1, 8-byte elements.
//!
//! * `zenoh_raw_throughput_msgs`: one session puts `n` 8-byte values on a key (blocking
//!   congestion control, Zenoh's own batching), another session's subscriber counts them;
//!   messages per second from the first put to the last arrival.
//! * `bridge_throughput_msgs`: a producer pushes `n` u64 into an SPSC queue of segment A; bridge
//!   A exports it, bridge B imports it into the same queue of segment B, a consumer pops all `n`.
//!   From the first push to the last pop.
//! * `zenoh_raw_latency_ns`: ping-pong of an 8-byte value between two sessions (express
//!   publications, blocking congestion control); on each side a thread receives from the
//!   subscriber's default (FIFO) handler — as the bridge benchmark's two threads pop from their
//!   queues — and answers; one-way = round trip / 2. `params.echo_in_callback_ns` is the same
//!   with the echo answering inside Zenoh's callback, on Zenoh's own thread (no thread of the
//!   application woken), for reference.
//! * `bridge_latency_ns`: the same ping-pong through queues: the parent pushes into A's `ping`,
//!   an echo thread pops it from B's `ping` and pushes it into B's `pong`, the parent pops it from
//!   A's `pong` — two bridges, each exporting one queue and importing the other.
//!
//! Each side is a Zenoh session of its own (the bridges' and the raw baseline's alike) in this
//! process, talking TCP through the loopback interface: the same network path, and no process
//! boundary that only one of them would pay. The benchmark's threads (and Zenoh's) may use both
//! CPUs, unlike the other benchmarks' pinned processes.

use std::net::TcpListener;
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

/// Two segments with the named SPSC queues of u64, and bridges: A exports `a_out` and imports
/// `a_in`, B the other way round. Unlinks everything when dropped (bridges first).
struct Hosts {
    a: BenchSegment,
    b: BenchSegment,
    bridges: Vec<Bridge>,
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
        let mut ca = BridgeConfig::new(&a.name, &prefix).listen(&ep);
        let mut cb = BridgeConfig::new(&b.name, &prefix).connect(&ep);
        for s in a_to_b {
            ca = ca.export(s);
            cb = cb.import(s);
        }
        for s in b_to_a {
            ca = ca.import(s);
            cb = cb.export(s);
        }
        let bridges = vec![Bridge::start(ca).expect("bridge A"), Bridge::start(cb).expect("bridge B")];
        Hosts { a, b, bridges, streams }
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for b in self.bridges.drain(..) {
            let _ = b.stop();
        }
        for seg in [&self.a.name, &self.b.name] {
            for s in &self.streams {
                let _ = zipc::Segment::unlink(&books_name(seg, s));
            }
        }
    }
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
        let batches = hosts.bridges[1].status()[0].batches;
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

/// One-way latencies of a raw Zenoh ping-pong; the echo answers from a thread receiving from the
/// subscriber's default handler, or (`in_callback`) from inside Zenoh's callback.
fn zenoh_pingpong(rounds: usize, in_callback: bool) -> Vec<f64> {
    let (a, b) = pair();
    let p = prefix();
    let (ping, pong) = (format!("{p}/ping"), format!("{p}/pong"));
    let answer =
        b.declare_publisher(pong.clone()).congestion_control(CongestionControl::Block).express(true).wait().unwrap();
    let reply = move |s: &zenoh::sample::Sample| {
        let v = u64::from_le_bytes(s.payload().to_bytes()[..8].try_into().unwrap());
        answer.put((v + 1).to_le_bytes().to_vec()).wait().unwrap();
    };
    let total = rounds as u64 + 10;
    let mut echo = None;
    let mut _in_callback = None;
    if in_callback {
        _in_callback = Some(b.declare_subscriber(&ping).callback(move |s| reply(&s)).wait().unwrap());
    } else {
        let pings = b.declare_subscriber(&ping).wait().unwrap();
        echo = Some(std::thread::spawn(move || {
            for _ in 0..total {
                reply(&pings.recv_timeout(STALL).unwrap().expect("ping arrives"));
            }
        }));
    }
    let back = a.declare_subscriber(&pong).wait().unwrap();
    let out = a.declare_publisher(&ping).congestion_control(CongestionControl::Block).express(true).wait().unwrap();
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
    if let Some(echo) = echo {
        echo.join().unwrap();
    }
    samples
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
