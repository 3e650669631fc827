//! The sensor pipeline across two hosts: a queue forwarded over Zenoh by `zipc-bridge`.
//!
//! Two "hosts" on this machine, each with its own segment holding a queue `readings`:
//!
//! * host A (`/zipc-ex-bridge-sensors-PID`): a *producer* process pushes readings into the
//!   queue, and a *bridge* process exports it (the `zipc_bridge` library, in process);
//! * host B (`/zipc-ex-bridge-station-PID`): a *bridge* process imports the stream into B's
//!   queue, and a *consumer* process pops every reading and checks that each arrived once, in
//!   order and intact.
//!
//! ```text
//!  host A                                                  host B
//!  producer ─▶ readings ─▶ bridge-a ══ Zenoh, tcp/127.0.0.1 ══▶ bridge-b ─▶ readings ─▶ consumer
//!              (queue)     export readings        import readings, listen     (queue)
//! ```
//!
//! The producer and the consumer are ordinary zipc programs: they never see the network. When
//! B's queue is full the bridges stop reading and A's queue fills up, so the producer waits as
//! it would for a slow local consumer — nothing is buffered without bound, nothing dropped. The
//! parent stops each bridge by storing 1 in its host's `stop` atomic (the bridge sleeps on it, a
//! futex); the bridge prints its final books, and the parent checks that they balance: every
//! reading published by A, written into B, none dropped.
//!
//! The stream travels on Zenoh key `zipc-example/PID/readings`; bridge B listens on a free port
//! of 127.0.0.1 and bridge A connects to it (no multicast scouting). Every segment — the two
//! hosts' and the books each bridge keeps beside its segment (`/SEGMENT.bridge.readings`) — is
//! removed at the end, also when something fails.
//!
//! Options: `--count N` (default 200,000 readings).
//!
//! ```sh
//! cargo run --release -p zipc-examples --bin bridge_hosts
//! ```

use std::net::TcpListener;
use std::time::{Duration, Instant};

use zipc::{Atomic, Queue, ShmSegment, ShmType, Spsc};
use zipc_bridge::books::{books_name, Books, C};
use zipc_bridge::{Bridge, BridgeConfig, Role};
use zipc_examples::{role, thousands, wait_all, BoxError, Peer, Unlink};

/// One sensor reading.
#[derive(
    Clone, Copy, Debug, PartialEq, ShmType, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout,
)]
#[zerocopy(crate = "zipc::zerocopy")]
#[repr(C)]
struct Reading {
    /// 0, 1, 2, ...: the consumer checks that they arrive in order.
    seq: u64,
    sensor: u32,
    _pad: u32,
    /// [`value`]`(seq)`: the consumer checks that it arrived intact.
    value: f64,
}

/// One host's segment: both hosts declare the same one, under different names.
#[derive(ShmSegment)]
#[zipc(name = "/zipc-ex-bridge", max_entries = 8)]
struct Host {
    /// Host A: producer → bridge (exported). Host B: bridge (imported) → consumer.
    #[zipc(capacity = 4096)]
    readings: Queue<Reading, Spsc>,
    /// Set by the host's bridge process: [`RUNNING`] once it forwards, [`FAILED`] if it could
    /// not start. The parent sleeps on it.
    bridge: Atomic<u32>,
    /// Set to 1 by the parent to stop the host's bridge, which sleeps on it.
    stop: Atomic<u32>,
    /// Readings the local program moved: pushed on host A, popped on host B.
    moved: Atomic<u64>,
}

const RUNNING: u32 = 1;
const FAILED: u32 = 2;
const READINGS: u64 = 200_000;
const STREAM: &str = "readings";
/// Hang guard for one blocking push or pop: the example fails instead of hanging if nothing
/// moves for this long.
const STALL: Duration = Duration::from_secs(60);

/// The value of reading `seq`: a function of it, so the consumer can check every reading.
fn value(seq: u64) -> f64 {
    (seq % 1000) as f64 * 0.25 + (seq / 1000) as f64
}

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "producer" => producer(&args[0], args[1].parse()?),
        Some((role, args)) if role == "consumer" => consumer(&args[0], args[1].parse()?),
        Some((role, args)) if role == "bridge-a" || role == "bridge-b" => bridge(&role, &args[0], &args[1], &args[2]),
        _ => parent(),
    }
}

fn parent() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let count: u64 = match args.iter().position(|a| a == "--count") {
        Some(i) => args.get(i + 1).ok_or("--count needs a number")?.parse()?,
        None => READINGS,
    };
    if count == 0 {
        return Err("--count: give at least 1 reading".into());
    }
    let (a, b) =
        (zipc_examples::unique_name("/zipc-ex-bridge-sensors"), zipc_examples::unique_name("/zipc-ex-bridge-station"));
    // Both segments and the books the bridges will keep beside them: removed whatever happens.
    let _cleanup: Vec<Unlink> =
        [a.clone(), b.clone(), books_name(&a, STREAM), books_name(&b, STREAM)].iter().map(|n| Unlink::new(n)).collect();
    let (host_a, host_b) = (Host::create(&a)?, Host::create(&b)?);
    let prefix = format!("zipc-example/{}", std::process::id());
    // A free port for bridge B to listen on (the OS picks it; released at once for the bridge).
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    println!(
        "host A: created {a}, queue `{STREAM}` of {} readings ({} bytes each)",
        thousands(host_a.readings.capacity() as u64),
        size_of::<Reading>()
    );
    println!("host B: created {b}, the same declaration");
    println!("the stream travels on Zenoh key {prefix}/{STREAM}; bridge B listens on {endpoint}, bridge A connects");

    // The bridges first: each opens its segment and joins Zenoh, then says so in `bridge`.
    let bridge_b = Peer::spawn("bridge-b", &[&b, &prefix, &endpoint])?;
    let bridge_a = Peer::spawn("bridge-a", &[&a, &prefix, &endpoint])?;
    wait_running(&host_b, "B")?;
    wait_running(&host_a, "A")?;

    let start = Instant::now();
    let n = count.to_string();
    wait_all(vec![Peer::spawn("consumer", &[&b, &n])?, Peer::spawn("producer", &[&a, &n])?])?;
    let elapsed = start.elapsed();

    // Everything arrived: stop the bridges, one after the other (each prints its final books).
    stop_bridge(&host_a, bridge_a)?;
    stop_bridge(&host_b, bridge_b)?;

    let (books_a, books_b) = (Books::open(&books_name(&a, STREAM))?, Books::open(&books_name(&b, STREAM))?);
    let (exported, imported) = (books_a.get(C::Elements), books_b.get(C::Elements));
    let dropped = books_a.dropped(Role::Export) + books_b.dropped(Role::Import);
    let (pushed, popped) = (host_a.moved.load(), host_b.moved.load());
    println!(
        "books: A exported {}, B imported {}, dropped {dropped}; pushed on A {}, popped on B {}",
        thousands(exported),
        thousands(imported),
        thousands(pushed),
        thousands(popped)
    );
    if pushed != count || exported != count || imported != count || popped != count || dropped != 0 {
        return Err("readings were lost on the way".into());
    }
    if !host_a.readings.is_empty() || !host_b.readings.is_empty() {
        return Err("readings were left in a queue".into());
    }
    println!(
        "moved in {elapsed:.2?}, {} readings/s (the producer and consumer processes' start included), in {} Zenoh samples",
        thousands((count as f64 / elapsed.as_secs_f64()) as u64),
        thousands(books_b.get(C::Batches))
    );
    println!("bridge_hosts: {count} readings crossed from {a} to {b} over Zenoh, in order, dropped {dropped}");
    Ok(())
}

/// Waits for the bridge of `host` to say it runs.
fn wait_running(host: &Host, label: &str) -> Result<(), BoxError> {
    host.bridge.wait(0, Some(STALL)).map_err(|e| format!("the bridge of host {label} did not start: {e}"))?;
    match host.bridge.load() {
        RUNNING => Ok(()),
        _ => Err(format!("the bridge of host {label} failed to start (its message is above)").into()),
    }
}

/// Tells the bridge of `host` to stop, and waits for it to exit.
fn stop_bridge(host: &Host, peer: Peer) -> Result<(), BoxError> {
    host.stop.store(1);
    host.stop.wake_all();
    peer.wait()
}

/// A bridge for host A (`bridge-a`: exports `readings`, connects to `endpoint`) or host B
/// (`bridge-b`: imports it, listens on `endpoint`), until the parent sets `stop`.
fn bridge(role: &str, name: &str, prefix: &str, endpoint: &str) -> Result<(), BoxError> {
    let host = Host::open(name)?;
    let config = BridgeConfig::new(name, prefix);
    let config = if role == "bridge-a" {
        config.export(STREAM).connect(endpoint)
    } else {
        config.import(STREAM).listen(endpoint)
    };
    let bridge = match Bridge::start(config) {
        Ok(bridge) => bridge,
        Err(e) => {
            host.bridge.store(FAILED);
            host.bridge.wake_all();
            return Err(format!("[{role}] cannot start: {e}").into());
        }
    };
    host.bridge.store(RUNNING);
    host.bridge.wake_all();
    println!("[{role}] forwarding {name} {STREAM} (pid {})", std::process::id());
    // Sleeps on the futex until the parent stores 1. The hang guard: every STALL, check that
    // the parent still lives (an orphan is adopted by another process); stop if it died.
    let parent = std::os::unix::process::parent_id();
    let stopped = loop {
        match host.stop.wait(0, Some(STALL)) {
            Err(zipc::Error::Timeout) if std::os::unix::process::parent_id() == parent => continue,
            Err(zipc::Error::Timeout) => break Err(format!("[{role}] the parent died: stopping")),
            r => break r.map_err(|e| format!("[{role}] waiting for the stop: {e}")),
        }
    };
    for stream in bridge.status() {
        println!("[{role}] {stream}");
    }
    bridge.stop()?;
    stopped?;
    Ok(())
}

/// Host A's program: pushes readings `0..count`, waiting whenever the queue is full.
fn producer(name: &str, count: u64) -> Result<(), BoxError> {
    let host = Host::open(name)?;
    let mut tx = host.readings.producer()?;
    for seq in 0..count {
        let reading = Reading { seq, sensor: (seq % 4) as u32, _pad: 0, value: value(seq) };
        tx.push(reading, Some(STALL)).map_err(|e| format!("[producer] reading {seq}: {e}"))?;
        host.moved.fetch_add(1);
    }
    println!("[producer] pushed {} readings into {name}", thousands(count));
    Ok(())
}

/// Host B's program: pops until the last reading, checking each.
fn consumer(name: &str, count: u64) -> Result<(), BoxError> {
    let host = Host::open(name)?;
    let mut rx = host.readings.consumer()?;
    let mut last = None::<u64>;
    let mut sum = 0.0;
    while last != Some(count - 1) {
        let r = rx.pop(Some(STALL)).map_err(|e| format!("[consumer] after reading {last:?}: {e}"))?;
        if last.is_some_and(|l| r.seq <= l) || r.seq >= count {
            return Err(format!("[consumer] reading {} arrived after {last:?}", r.seq).into());
        }
        if r.sensor != (r.seq % 4) as u32 || r.value != value(r.seq) {
            return Err(format!("[consumer] reading {} arrived damaged: {r:?}", r.seq).into());
        }
        last = Some(r.seq);
        sum += r.value;
        host.moved.fetch_add(1);
    }
    let popped = host.moved.load();
    if popped != count {
        return Err(format!("[consumer] {} of {} readings missing", count - popped, thousands(count)).into());
    }
    println!("[consumer] received {} readings from {name}, in order and intact, sum of values {sum}", thousands(count));
    Ok(())
}
