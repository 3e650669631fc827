//! iceoryx2's publish–subscribe (`ipc::Service`) in the setups of `topic.rs`, with the same loops
//! (`pubsub.rs`): 8-byte ping-pong, ping-pong of loaned samples of each payload size, throughput
//! to 1 and 3 subscriber processes.
//!
//! Configured like zipc's lossless topics: one publisher, as many subscribers as the benchmark
//! has, no history, the subscriber's buffer as deep as the topic's capacity, no safe overflow
//! and `RetryUntilDelivered` (every subscriber gets every sample; the publisher waits for the
//! slowest), at most one sample loaned and one borrowed per port (the loops hold one at a time).
//! Zero-copy on both sides: `loan_uninit`, stamp in place, `assume_init`, `send`; `receive` and
//! read in place. Busy polling, no wait set, no events.
//!
//! Every run has its own root directory (`/tmp/zipc-bench-iceoryx2-PID-N/`) and file prefix
//! (`zb2PID_N_`, for the shared memory in /dev/shm), passed to the peers; when a benchmark ends
//! the parent removes the one file iceoryx2 keeps for good (its global management segment),
//! checks that the nodes and services removed theirs (removing and naming any left), and
//! removes the directory.

use std::fmt::Debug;

use iceoryx2::port::publisher::Publisher;
use iceoryx2::port::subscriber::Subscriber;
use iceoryx2::prelude::*;
use iceoryx2::service::port_factory::publish_subscribe;

use crate::machine::Clock;
use crate::peer;
use crate::pubsub::{self, LineUp, Stamp, LATENCY_CAPACITY, PINGPONG_CAPACITY, THROUGHPUT_CAPACITY};
use crate::report::Measurement;
use crate::Plan;
use iceoryx2::port::LoanError;

type Pub<T> = Publisher<ipc::Service, T, ()>;
type Sub<T> = Subscriber<ipc::Service, T, ()>;

/// The root directory and file prefix of one benchmark run, and the check that nothing of it is
/// left behind.
struct Place {
    root: String,
    prefix: String,
}

impl Place {
    fn new() -> Place {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pid = std::process::id();
        Place { root: format!("/tmp/zipc-bench-iceoryx2-{pid}-{n}/"), prefix: format!("zb2{pid}_{n}_") }
    }

    fn args(&self) -> [String; 2] {
        [self.root.clone(), self.prefix.clone()]
    }

    /// Files of this run still in /dev/shm.
    fn shm_files(&self) -> Vec<String> {
        std::fs::read_dir("/dev/shm")
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.starts_with(&self.prefix))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        // The ports and nodes remove their files when dropped, except the global management
        // segment (a node counter, `PREFIX..._node.0_10_0.global_mgmt`) that iceoryx2 keeps for
        // good, one per prefix: removed here. Anything else left (a failed peer's) is removed
        // loudly, so a leak is seen.
        let left: Vec<String> = self.shm_files().into_iter().filter(|f| !f.ends_with(".global_mgmt")).collect();
        if !left.is_empty() {
            eprintln!("iceoryx2 left {} file(s) in /dev/shm: {left:?}; removing them", left.len());
        }
        for f in self.shm_files() {
            let _ = std::fs::remove_file(format!("/dev/shm/{f}"));
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn node(root: &str, prefix: &str) -> Node<ipc::Service> {
    let mut config = Config::default();
    config.global.set_root_path(&Path::new(root.as_bytes()).expect("an iceoryx2 root path"));
    config.global.prefix = FileName::new(prefix.as_bytes()).expect("an iceoryx2 file prefix");
    NodeBuilder::new()
        .config(&config)
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()
        .expect("creating an iceoryx2 node")
}

/// Opens or creates the lossless service `name` of `T`, with `buffer` samples per subscriber.
fn service<T: Debug + ZeroCopySend + 'static>(
    node: &Node<ipc::Service>,
    name: &str,
    buffer: usize,
    subscribers: usize,
) -> publish_subscribe::PortFactory<ipc::Service, T, ()> {
    node.service_builder(&name.try_into().expect("an iceoryx2 service name"))
        .publish_subscribe::<T>()
        .max_publishers(1)
        .max_subscribers(subscribers)
        .history_size(0)
        .subscriber_max_buffer_size(buffer)
        .subscriber_max_borrowed_samples(1)
        .enable_safe_overflow(false)
        .open_or_create()
        .expect("opening or creating an iceoryx2 publish-subscribe service")
}

fn publisher<T: Debug + ZeroCopySend + 'static>(
    service: &publish_subscribe::PortFactory<ipc::Service, T, ()>,
) -> Pub<T> {
    service
        .publisher_builder()
        .max_loaned_samples(1)
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()
        .expect("creating an iceoryx2 publisher")
}

fn subscriber<T: Debug + ZeroCopySend + 'static>(
    service: &publish_subscribe::PortFactory<ipc::Service, T, ()>,
) -> Sub<T> {
    service.subscriber_builder().create().expect("creating an iceoryx2 subscriber")
}

/// Loans a sample, stamps `v` in place and sends it; `false` if no sample can be loaned now.
fn try_send<T: Stamp + Debug + ZeroCopySend + 'static>(tx: &Pub<T>, v: u64) -> bool {
    let mut sample = match tx.loan_uninit() {
        Ok(s) => s,
        Err(LoanError::OutOfMemory) => return false,
        Err(e) => panic!("iceoryx2 loan: {e:?}"),
    };
    // SAFETY: the payload is the loaned chunk, writable while the sample lives.
    unsafe { T::stamp(sample.payload_mut().as_mut_ptr(), v) };
    // SAFETY: only the stamp was written, but the chunk's bytes are initialised memory all the
    // same: a shared-memory mapping, zero-filled by the kernel and since written only by earlier
    // samples; every bit pattern is a valid `u64` or `[u8; N]`.
    let sample = unsafe { sample.assume_init() };
    sample.send().expect("iceoryx2 send");
    true
}

/// Receives the next sample in place, if there is one, and reads its stamp.
fn try_receive<T: Stamp + Debug + ZeroCopySend + 'static>(rx: &Sub<T>) -> Option<u64> {
    rx.receive().expect("iceoryx2 receive").map(|s| s.payload().read())
}

// ---------------------------------------------------------------------------------------------
// Ping-pong
// ---------------------------------------------------------------------------------------------

fn pingpong<Ping: Stamp + Debug + ZeroCopySend + 'static>(
    plan: &Plan,
    clock: &Clock,
    role: &str,
    capacity: usize,
) -> Vec<f64> {
    // Declared first, `place` drops last: after the ports and the node removed their files.
    let place = Place::new();
    let (lineup_seg, lineup) = LineUp::create(role);
    let node = node(&place.root, &place.prefix);
    let ping = service::<Ping>(&node, "zipc-bench/ping", capacity, 1);
    let pong = service::<u64>(&node, "zipc-bench/pong", capacity, 1);
    let rx = subscriber(&pong);
    let tx = publisher(&ping);
    let (warmup, rounds) = pubsub::pingpong_rounds(plan);
    let [root, prefix] = place.args();
    let size = std::mem::size_of::<Ping>().to_string();
    let args = [lineup_seg.name.clone(), root, prefix, size, capacity.to_string(), (warmup + rounds).to_string()];
    let child = peer::spawn(role, plan.pair.map(|p| p.1), &args);
    lineup.wait_ready(1);
    lineup.go();
    let samples = pubsub::pingpong_parent(plan, clock, |v| try_send(&tx, v), || try_receive(&rx));
    peer::join(child);
    samples
}

fn pingpong_peer<Ping: Stamp + Debug + ZeroCopySend + 'static>(lineup: &LineUp, args: &[String]) {
    let (capacity, total): (usize, u64) = (args[3].parse().unwrap(), args[4].parse().unwrap());
    let node = node(&args[0], &args[1]);
    let ping = service::<Ping>(&node, "zipc-bench/ping", capacity, 1);
    let pong = service::<u64>(&node, "zipc-bench/pong", capacity, 1);
    let rx = subscriber(&ping);
    let tx = publisher(&pong);
    lineup.ready_and_wait();
    pubsub::pingpong_peer(total, || try_receive(&rx), |v| try_send(&tx, v));
}

/// `pingpong_iceoryx2_ns`: u64 both ways, like `pingpong_zipc_topic_ns`.
pub fn pingpong_u64(plan: &Plan, clock: &Clock) -> Measurement {
    let samples = pingpong::<u64>(plan, clock, "iox2_pong", PINGPONG_CAPACITY);
    pubsub::latency(
        "pingpong_iceoryx2_ns",
        samples,
        None,
        format!(
            "two iceoryx2 {} publish-subscribe services of u64 (buffer {PINGPONG_CAPACITY}, 1 subscriber), loan_uninit/send and receive in place, spinning",
            ICEORYX2
        ),
    )
}

/// `iceoryx2_latency_ns`, one measurement per payload size.
pub fn latency_by_size(plan: &Plan, clock: &Clock) -> Vec<Measurement> {
    pubsub::PAYLOAD_SIZES
        .iter()
        .map(|&bytes| {
            let samples = match bytes {
                8 => pingpong::<[u8; 8]>(plan, clock, "iox2_sized_pong", LATENCY_CAPACITY),
                4096 => pingpong::<[u8; 4096]>(plan, clock, "iox2_sized_pong", LATENCY_CAPACITY),
                65536 => pingpong::<[u8; 65536]>(plan, clock, "iox2_sized_pong", LATENCY_CAPACITY),
                1048576 => pingpong::<[u8; 1048576]>(plan, clock, "iox2_sized_pong", LATENCY_CAPACITY),
                4194304 => pingpong::<[u8; 4194304]>(plan, clock, "iox2_sized_pong", LATENCY_CAPACITY),
                other => unreachable!("no instantiation for {other} bytes"),
            };
            pubsub::latency(
                "iceoryx2_latency_ns",
                samples,
                Some(bytes),
                format!(
                    "iceoryx2 {} service of [u8; {bytes}] (buffer {LATENCY_CAPACITY}): loan_uninit, stamp first and last 8 bytes, send; receive in place, check; u64 answer on a second service",
                    ICEORYX2
                ),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------------

/// `throughput_iceoryx2_msgs` for 1 and 3 subscriber processes.
pub fn throughput(plan: &Plan) -> Vec<Measurement> {
    pubsub::SUBSCRIBER_COUNTS.iter().map(|&subs| throughput_to(plan, subs)).collect()
}

fn throughput_to(plan: &Plan, subscribers: usize) -> Measurement {
    // Declared first, `place` drops last: after the ports and the node removed their files.
    let place = Place::new();
    let (lineup_seg, lineup) = LineUp::create("iox2_subscribe");
    let n = plan.messages;
    let node = node(&place.root, &place.prefix);
    let service = service::<u64>(&node, "zipc-bench/t", THROUGHPUT_CAPACITY, subscribers);
    let tx = publisher(&service);
    let children: Vec<_> = (0..subscribers)
        .map(|i| {
            let [root, prefix] = place.args();
            let args = [lineup_seg.name.clone(), root, prefix, i.to_string(), subscribers.to_string(), n.to_string()];
            peer::spawn("iox2_subscribe", pubsub::subscriber_cpu(plan), &args)
        })
        .collect();
    lineup.wait_ready(subscribers as u32);
    let t0 = pubsub::publish_all(&lineup, n, |v| try_send(&tx, v));
    for c in children {
        peer::join(c);
    }
    pubsub::throughput(
        "throughput_iceoryx2_msgs",
        &lineup,
        subscribers,
        n,
        t0,
        format!(
            "iceoryx2 {ICEORYX2} service of u64, buffer {THROUGHPUT_CAPACITY}, RetryUntilDelivered: a publisher process (loan_uninit/send) and {subscribers} subscriber process(es) (receive in place), spinning"
        ),
    )
}

fn subscriber_peer(lineup: &LineUp, args: &[String]) {
    let index: usize = args[2].parse().unwrap();
    let subscribers: usize = args[3].parse().unwrap();
    let n: u64 = args[4].parse().unwrap();
    let node = node(&args[0], &args[1]);
    let service = service::<u64>(&node, "zipc-bench/t", THROUGHPUT_CAPACITY, subscribers);
    let rx = subscriber(&service);
    pubsub::receive_all(lineup, index, n, || try_receive(&rx));
}

/// The iceoryx2 release the figures are for (the dev-dependency's version).
const ICEORYX2: &str = "0.10";

/// Peer roles of this module: `ROLE LINEUP ROOT PREFIX ARGS...`.
pub fn run_peer(role: &str, args: &[String]) -> bool {
    if !role.starts_with("iox2_") {
        return false;
    }
    let lineup = LineUp::open(&args[0]);
    let rest = &args[1..];
    match role {
        "iox2_pong" => pingpong_peer::<u64>(&lineup, rest),
        "iox2_sized_pong" => match rest[2].parse::<usize>().unwrap() {
            8 => pingpong_peer::<[u8; 8]>(&lineup, rest),
            4096 => pingpong_peer::<[u8; 4096]>(&lineup, rest),
            65536 => pingpong_peer::<[u8; 65536]>(&lineup, rest),
            1048576 => pingpong_peer::<[u8; 1048576]>(&lineup, rest),
            4194304 => pingpong_peer::<[u8; 4194304]>(&lineup, rest),
            other => panic!("no instantiation for {other} bytes"),
        },
        "iox2_subscribe" => subscriber_peer(&lineup, rest),
        _ => return false,
    }
    true
}
