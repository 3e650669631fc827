//! `cargo bench -p zipc --bench ipc`: zipc against the physical limit and its peers, side by side
//! in one run, as a table of results and of the ratios the project's goals are stated in.
//!
//! * one-way latency (round trip / 2, 8-byte messages, two processes, busy-waiting, median and
//!   p99): a raw cache-line ping-pong over shared memory (the limit), zipc queues, a Unix domain
//!   socket pair, a pipe pair;
//! * throughput (u64 messages, producer and consumer processes): zipc queues and rings; rtrb and
//!   crossbeam's `ArrayQueue` on two threads of one process, for reference;
//! * blocking wake-up latency: a consumer asleep in a blocking pop, woken by another process;
//!   the same through a WaitSet of 32, a tokio task awaiting `pop_async`, `poll(2)` on a
//!   `ReadinessFd`;
//! * bandwidth: writing a large `Array` vs `memcpy` of the same size;
//! * across hosts (`bridge.rs`): zipc-bridge's throughput and latency over loopback TCP beside
//!   plain Zenoh's put/subscribe;
//! * publish–subscribe (`pubsub.rs`): zipc's lossless `Topic` (`topic.rs`) and iceoryx2's
//!   publish–subscribe (`iceoryx2_bench.rs`) measured by the same loops: 8-byte ping-pong,
//!   ping-pong of loaned samples of 8 B to 4 MiB (`params.payload_bytes`), throughput to 1 and 3
//!   subscriber processes (`params.subscribers`).
//!
//! Every benchmark runs in [`ROUNDS`] rounds, interleaved (round 1 of each, then round 2 of each,
//! ...), and reports the median of its rounds with their spread: a machine that slows down for a
//! while (a busy neighbour on a virtual machine, frequency changes) then affects every mechanism
//! alike, and the ratios stay meaningful.
//!
//! Environment: `ZIPC_BENCH_JSON=PATH` also writes the results as JSON; `ZIPC_BENCH_SVG=PATH`
//! says where the latency chart goes (default `target/tmp/zipc-latency.svg`);
//! `ZIPC_BENCH_ONLY=TEXT[,TEXT...]` runs only the benchmarks whose names contain one of the
//! TEXTs (for tuning; ratios of benchmarks not run are reported as not measured):
//! `ZIPC_BENCH_ONLY=pingpong_raw,topic,iceoryx2` runs the publish–subscribe benchmarks and the
//! limit their ratio is stated against.
//!
//! Run by `cargo test` (no `--bench` argument) it runs every benchmark at a tiny size and checks
//! each produced a positive figure: the harness cannot rot.

#![allow(missing_docs)] // a benchmark binary, documented above

mod bandwidth;
mod bridge;
mod iceoryx2_bench;
mod latency;
mod machine;
mod map;
mod peer;
mod pubsub;
mod report;
mod throughput;
mod topic;
mod zipc_bench;

use machine::{Clock, Machine};
use report::Measurement;

/// Rounds of every benchmark in a full run.
const ROUNDS: usize = 15;

/// Sizes of one round.
pub struct Plan {
    pub smoke: bool,
    pub latency_rounds: usize,
    pub syscall_rounds: usize,
    pub messages: u64,
    pub wakeups: usize,
    pub array_bytes: usize,
    pub array_reps: usize,
    /// CPUs for the two sides, if the machine has two.
    pub pair: Option<(usize, usize)>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(peer::FLAG) {
        peer::run(&args[2..]);
        return;
    }
    let smoke = !args.iter().any(|a| a == "--bench");
    let machine = Machine::probe();
    let pair = machine.pair();
    let plan = if smoke {
        Plan {
            smoke,
            latency_rounds: 2_000,
            syscall_rounds: 500,
            messages: 100_000,
            wakeups: 20,
            array_bytes: 1 << 20,
            array_reps: 3,
            pair,
        }
    } else {
        Plan {
            smoke,
            latency_rounds: 100_000,
            syscall_rounds: 6_000,
            messages: 5_000_000,
            wakeups: 300,
            array_bytes: 64 << 20,
            array_reps: 3,
            pair,
        }
    };
    let pinning = match pair {
        Some((a, b)) if machine::pin(a) => format!("pinned to CPUs {a} and {b}"),
        Some(_) => "not pinned: sched_setaffinity failed".to_owned(),
        None => format!("not pinned: only {} CPU available to this process", machine.allowed.len()),
    };
    println!("zipc ipc benchmark{}", if smoke { " (smoke run: tiny sizes, figures meaningless)" } else { "" });
    println!("machine: {}, {} CPUs online; {pinning}", machine.cpu_model, machine.online_cpus);
    let clock = Clock::calibrate();

    let rounds = if smoke { 1 } else { ROUNDS };
    // For tuning: run only the benchmarks whose names contain this.
    let only = std::env::var("ZIPC_BENCH_ONLY").ok();
    let mut per_round: Vec<Vec<Measurement>> = Vec::new();
    for round in 1..=rounds {
        println!("round {round} of {rounds}");
        let mut got: Vec<Measurement> = Vec::new();
        let mut run = |name: &str, f: &dyn Fn() -> Vec<Measurement>| {
            if only.as_deref().is_some_and(|o| !o.split(',').any(|o| name.contains(o))) {
                return;
            }
            for m in f() {
                println!("  {:<34} {:>12.2} {}", m.key(), m.value, m.unit);
                got.push(m);
            }
        };
        run("pingpong_raw_atomic_ns", &|| vec![latency::raw_atomic(&plan, &clock)]);
        run("pingpong_zipc_spsc_ns", &|| vec![zipc_bench::pingpong_spsc(&plan, &clock)]);
        run("pingpong_zipc_mpmc_ns", &|| vec![zipc_bench::pingpong_mpmc(&plan, &clock)]);
        run("pingpong_zipc_topic_ns", &|| vec![topic::pingpong_topic(&plan, &clock)]);
        run("pingpong_iceoryx2_ns", &|| vec![iceoryx2_bench::pingpong_u64(&plan, &clock)]);
        run("topic_latency_ns", &|| topic::latency_by_size(&plan, &clock));
        run("iceoryx2_latency_ns", &|| iceoryx2_bench::latency_by_size(&plan, &clock));
        run("pingpong_uds_ns", &|| vec![latency::uds(&plan, &clock)]);
        run("pingpong_pipe_ns", &|| vec![latency::pipe(&plan, &clock)]);
        run("throughput_zipc_spsc_msgs", &|| vec![zipc_bench::throughput_spsc(&plan)]);
        run("throughput_rtrb_msgs", &|| vec![throughput::rtrb(&plan)]);
        run("throughput_zipc_mpmc_msgs", &|| vec![zipc_bench::throughput_mpmc(&plan)]);
        run("throughput_crossbeam_msgs", &|| vec![throughput::crossbeam(&plan)]);
        run("throughput_zipc_ring_msgs", &|| vec![zipc_bench::throughput_ring(&plan)]);
        run("throughput_zipc_ring_bulk_msgs", &|| vec![zipc_bench::throughput_ring_bulk(&plan)]);
        run("throughput_zipc_topic_msgs", &|| topic::throughput(&plan));
        run("throughput_iceoryx2_msgs", &|| iceoryx2_bench::throughput(&plan));
        run("wake_futex_ns", &|| vec![zipc_bench::wake(&plan)]);
        run("wake_waitset_ns", &|| vec![zipc_bench::wake_waitset(&plan)]);
        run("wake_async_ns", &|| vec![zipc_bench::wake_async(&plan)]);
        run("wake_fd_ns", &|| vec![zipc_bench::wake_fd(&plan)]);
        run("zenoh_raw_throughput_msgs", &|| vec![bridge::zenoh_raw_throughput(&plan)]);
        run("bridge_throughput_msgs", &|| vec![bridge::bridge_throughput(&plan)]);
        run("zenoh_raw_latency_ns", &|| vec![bridge::zenoh_raw_latency(&plan)]);
        run("bridge_latency_ns", &|| vec![bridge::bridge_latency(&plan)]);
        run("array_write_gbps memcpy_gbps", &|| {
            let (array, memcpy) = bandwidth::array_vs_memcpy(&plan);
            vec![array, memcpy]
        });
        // One name per group: a ZIPC_BENCH_ONLY matching any of its members runs them all, side by side.
        let map_get =
            "map_get_ns mutex_hashmap_get_ns dashmap_get_ns map_miss_ns mutex_hashmap_miss_ns dashmap_miss_ns";
        run(map_get, &|| map::get(&plan));
        run("map_insert_ns mutex_hashmap_insert_ns dashmap_insert_ns", &|| map::insert(&plan));
        per_round.push(got);
    }
    let results: Vec<Measurement> =
        (0..per_round[0].len()).map(|i| report::combine(per_round.iter().map(|r| r[i].clone()).collect())).collect();

    let ratios = report::ratios(&per_round);
    report::print_table(&results, &ratios);
    let machine_info = vec![
        ("cpu", machine.cpu_model.clone()),
        ("online_cpus", machine.online_cpus.to_string()),
        ("pinning", pinning.clone()),
        ("mode", if smoke { "smoke" } else { "full" }.to_owned()),
    ];
    if let Ok(path) = std::env::var("ZIPC_BENCH_JSON") {
        std::fs::write(&path, report::json(&results, &ratios, &machine_info)).expect("writing ZIPC_BENCH_JSON");
        println!("\nwrote {path}");
    }
    let svg =
        std::env::var("ZIPC_BENCH_SVG").unwrap_or_else(|_| format!("{}/zipc-latency.svg", env!("CARGO_TARGET_TMPDIR")));
    let title = format!("one-way latency, {} ({pinning})", machine.cpu_model);
    std::fs::write(&svg, report::latency_svg(&results, &title)).expect("writing the SVG chart");
    println!("wrote {svg}");

    if smoke {
        for m in &results {
            assert!(m.value.is_finite() && m.value > 0.0, "{} produced no figure", m.name);
        }
        println!("smoke run ok: every benchmark produced a figure");
    }
}
