//! zipc's `Topic` (lossless) across processes: 8-byte ping-pong, ping-pong of loaned samples of
//! each payload size, and throughput to 1 and 3 subscriber processes. The loops are
//! `pubsub.rs`'s, shared with iceoryx2's benchmarks.

use zipc::{Lossless, Segment, ShmType, Topic};

use crate::machine::Clock;
use crate::peer::{self, BenchSegment};
use crate::pubsub::{self, LineUp, Stamp, LATENCY_CAPACITY, PINGPONG_CAPACITY, THROUGHPUT_CAPACITY};
use crate::report::Measurement;
use crate::Plan;

/// A segment for topics of `capacity` samples of `T` (plus a small return topic): what they
/// need, and a little for the table.
fn topic_segment<T>(tag: &str, capacity: usize, topics: usize) -> BenchSegment {
    let slot = (8 + std::mem::size_of::<T>()).next_multiple_of(64);
    BenchSegment::create(tag, (capacity * slot * topics + (1 << 20)) as u64)
}

/// Loans the next slot if there is room, stamps `v` and sends it.
fn try_send<T: ShmType + Stamp>(tx: &mut zipc::Publisher<T, Lossless>, v: u64) -> bool {
    let Some(mut loan) = tx.try_loan() else { return false };
    // SAFETY: the loan is the slot, writable while it lives.
    unsafe { T::stamp(&mut *loan, v) };
    loan.send();
    true
}

/// Receives the next sample in place, if there is one, and reads its stamp.
fn try_receive<T: ShmType + Stamp>(rx: &mut zipc::Subscriber<T, Lossless>) -> Option<u64> {
    rx.try_receive().map(|s| s.read())
}

// ---------------------------------------------------------------------------------------------
// Ping-pong
// ---------------------------------------------------------------------------------------------

/// Ping topic of `Ping` samples (parent to peer), pong topic of u64 (back).
fn pingpong<Ping: ShmType + Stamp>(plan: &Plan, clock: &Clock, role: &str, capacity: usize) -> Vec<f64> {
    let (lineup_seg, lineup) = LineUp::create(role);
    let seg = topic_segment::<Ping>(role, capacity, 2);
    let ping = Topic::<Ping, Lossless>::create(&seg.segment, "ping", capacity as u64, 1, 0).unwrap();
    let pong = Topic::<u64, Lossless>::create(&seg.segment, "pong", capacity as u64, 1, 0).unwrap();
    let mut rx = pong.subscriber().unwrap();
    let mut tx = ping.publisher().unwrap();
    let (warmup, rounds) = pubsub::pingpong_rounds(plan);
    let size = std::mem::size_of::<Ping>().to_string();
    let args = [lineup_seg.name.clone(), seg.name.clone(), size, (warmup + rounds).to_string()];
    let child = peer::spawn(role, plan.pair.map(|p| p.1), &args);
    lineup.wait_ready(1);
    lineup.go();
    let samples = pubsub::pingpong_parent(plan, clock, |v| try_send(&mut tx, v), || try_receive(&mut rx));
    peer::join(child);
    samples
}

fn pingpong_peer<Ping: ShmType + Stamp>(seg: &Segment, lineup: &LineUp, total: u64) {
    let mut rx = Topic::<Ping, Lossless>::open(seg, "ping").unwrap().subscriber().unwrap();
    let mut tx = Topic::<u64, Lossless>::open(seg, "pong").unwrap().publisher().unwrap();
    lineup.ready_and_wait();
    pubsub::pingpong_peer(total, || try_receive(&mut rx), |v| try_send(&mut tx, v));
}

/// `pingpong_zipc_topic_ns`: u64 both ways, like `pingpong_zipc_spsc_ns`.
pub fn pingpong_topic(plan: &Plan, clock: &Clock) -> Measurement {
    let samples = pingpong::<u64>(plan, clock, "topic_pong", PINGPONG_CAPACITY);
    pubsub::latency(
        "pingpong_zipc_topic_ns",
        samples,
        None,
        format!(
            "two lossless zipc topics of u64 (capacity {PINGPONG_CAPACITY}, 1 subscriber), try_loan/send and try_receive in place, spinning"
        ),
    )
}

/// `topic_latency_ns`, one measurement per payload size.
pub fn latency_by_size(plan: &Plan, clock: &Clock) -> Vec<Measurement> {
    pubsub::PAYLOAD_SIZES
        .iter()
        .map(|&bytes| {
            let samples = match bytes {
                8 => pingpong::<[u8; 8]>(plan, clock, "topic_sized_pong", LATENCY_CAPACITY),
                4096 => pingpong::<[u8; 4096]>(plan, clock, "topic_sized_pong", LATENCY_CAPACITY),
                65536 => pingpong::<[u8; 65536]>(plan, clock, "topic_sized_pong", LATENCY_CAPACITY),
                1048576 => pingpong::<[u8; 1048576]>(plan, clock, "topic_sized_pong", LATENCY_CAPACITY),
                4194304 => pingpong::<[u8; 4194304]>(plan, clock, "topic_sized_pong", LATENCY_CAPACITY),
                other => unreachable!("no instantiation for {other} bytes"),
            };
            pubsub::latency(
                "topic_latency_ns",
                samples,
                Some(bytes),
                format!(
                    "lossless zipc topic of [u8; {bytes}] (capacity {LATENCY_CAPACITY}): try_loan, stamp first and last 8 bytes, send; try_receive in place, check; u64 answer on a second topic"
                ),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------------

/// `throughput_zipc_topic_msgs` for 1 and 3 subscriber processes.
pub fn throughput(plan: &Plan) -> Vec<Measurement> {
    pubsub::SUBSCRIBER_COUNTS.iter().map(|&subs| throughput_to(plan, subs)).collect()
}

fn throughput_to(plan: &Plan, subscribers: usize) -> Measurement {
    let (lineup_seg, lineup) = LineUp::create("topic_subscribe");
    let seg = topic_segment::<u64>("topic_subscribe", THROUGHPUT_CAPACITY, 1);
    let topic =
        Topic::<u64, Lossless>::create(&seg.segment, "t", THROUGHPUT_CAPACITY as u64, subscribers as u32, 0).unwrap();
    let mut tx = topic.publisher().unwrap();
    let n = plan.messages;
    let children: Vec<_> = (0..subscribers)
        .map(|i| {
            let args = [lineup_seg.name.clone(), seg.name.clone(), i.to_string(), n.to_string()];
            peer::spawn("topic_subscribe", pubsub::subscriber_cpu(plan), &args)
        })
        .collect();
    lineup.wait_ready(subscribers as u32);
    let t0 = pubsub::publish_all(&lineup, n, |v| try_send(&mut tx, v));
    for c in children {
        peer::join(c);
    }
    assert_eq!(topic.published(), n);
    pubsub::throughput(
        "throughput_zipc_topic_msgs",
        &lineup,
        subscribers,
        n,
        t0,
        format!(
            "lossless zipc topic of u64, capacity {THROUGHPUT_CAPACITY}: a publisher process (try_loan/send) and {subscribers} subscriber process(es) (try_receive in place), spinning"
        ),
    )
}

fn subscriber_peer(seg: &Segment, lineup: &LineUp, index: usize, n: u64) {
    let mut rx = Topic::<u64, Lossless>::open(seg, "t").unwrap().subscriber().unwrap();
    pubsub::receive_all(lineup, index, n, || try_receive(&mut rx));
    assert_eq!(rx.received(), n);
}

/// Peer roles of this module: `ROLE LINEUP SEGMENT ARGS...`.
pub fn run_peer(role: &str, args: &[String]) -> bool {
    if !role.starts_with("topic_") {
        return false;
    }
    let lineup = LineUp::open(&args[0]);
    let seg = Segment::open(&args[1]).unwrap();
    let (a, b): (u64, u64) = (args[2].parse().unwrap(), args[3].parse().unwrap());
    match role {
        "topic_pong" => pingpong_peer::<u64>(&seg, &lineup, b),
        "topic_sized_pong" => match a {
            8 => pingpong_peer::<[u8; 8]>(&seg, &lineup, b),
            4096 => pingpong_peer::<[u8; 4096]>(&seg, &lineup, b),
            65536 => pingpong_peer::<[u8; 65536]>(&seg, &lineup, b),
            1048576 => pingpong_peer::<[u8; 1048576]>(&seg, &lineup, b),
            4194304 => pingpong_peer::<[u8; 4194304]>(&seg, &lineup, b),
            other => panic!("no instantiation for {other} bytes"),
        },
        "topic_subscribe" => subscriber_peer(&seg, &lineup, a as usize, b),
        _ => return false,
    }
    true
}
