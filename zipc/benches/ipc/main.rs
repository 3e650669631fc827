//! `cargo bench -p zipc --bench ipc`: zipc against the physical limit and its peers, side by side
//! in one run, as a table of results and of the ratios the project's goals are stated in.
//!
//! * one-way latency (round trip / 2, 8-byte messages, two processes, busy-waiting, median and
//!   p99): a raw cache-line ping-pong over shared memory (the limit), zipc queues, a Unix domain
//!   socket pair, a pipe pair;
//! * throughput (u64 messages, producer and consumer processes): zipc queues and rings; rtrb and
//!   crossbeam's `ArrayQueue` on two threads of one process, for reference;
//! * blocking wake-up latency: a consumer asleep in a blocking pop, woken by another process;
//! * bandwidth: writing a large `Array` vs `memcpy` of the same size.
//!
//! Environment: `ZIPC_BENCH_JSON=PATH` also writes the results as JSON; `ZIPC_BENCH_SVG=PATH`
//! says where the latency chart goes (default `target/tmp/zipc-latency.svg`).
//!
//! Run by `cargo test` (no `--bench` argument) it runs every benchmark at a tiny size and checks
//! each produced a positive figure: the harness cannot rot.

#![allow(missing_docs)] // a benchmark binary, documented above

mod bandwidth;
mod latency;
mod machine;
mod peer;
mod report;
mod throughput;
mod zipc_bench;

use machine::{Clock, Machine};
use report::Measurement;

/// Sizes of one run.
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
            latency_rounds: 300_000,
            syscall_rounds: 50_000,
            messages: 20_000_000,
            wakeups: 2_000,
            array_bytes: 64 << 20,
            array_reps: 20,
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

    let mut results: Vec<Measurement> = Vec::new();
    let mut run = |m: Measurement| {
        println!("  {:<34} {:>12.2} {}", m.name, m.value, m.unit);
        results.push(m);
    };
    run(latency::raw_atomic(&plan, &clock));
    run(zipc_bench::pingpong_spsc(&plan, &clock));
    run(zipc_bench::pingpong_mpmc(&plan, &clock));
    run(latency::uds(&plan, &clock));
    run(latency::pipe(&plan, &clock));
    run(zipc_bench::throughput_spsc(&plan));
    run(throughput::rtrb(&plan));
    run(zipc_bench::throughput_mpmc(&plan));
    run(throughput::crossbeam(&plan));
    run(zipc_bench::throughput_ring(&plan));
    run(zipc_bench::throughput_ring_bulk(&plan));
    run(zipc_bench::wake(&plan));
    let (array, memcpy) = bandwidth::array_vs_memcpy(&plan);
    run(array);
    run(memcpy);

    report::print_table(&results);
    let machine_info = vec![
        ("cpu", machine.cpu_model.clone()),
        ("online_cpus", machine.online_cpus.to_string()),
        ("pinning", pinning.clone()),
        ("mode", if smoke { "smoke" } else { "full" }.to_owned()),
    ];
    if let Ok(path) = std::env::var("ZIPC_BENCH_JSON") {
        std::fs::write(&path, report::json(&results, &machine_info)).expect("writing ZIPC_BENCH_JSON");
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
