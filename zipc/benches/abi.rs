//! `cargo bench -p zipc --features ffi --bench abi`: what an operation costs through each way of
//! reaching the same algorithm — the typed Rust API, the byte-level `zipc::dynamic` handles, and
//! the C ABI (`zipc_*` functions, called in-process as C would) — so that the cost of the
//! byte-level layer is visible and the typed path can be checked against a baseline.
//!
//! One thread pushes a batch and pops it again (same core: no cache-line transfers, so the figure
//! is the instructions of the path itself, stable on a busy machine). Each figure is the best of
//! several runs, in nanoseconds per element moved (one push plus one pop).
//!
//! Run by `cargo test` (no `--bench` argument) it runs at a tiny size and checks every figure is
//! positive, so the harness cannot rot.

#![allow(missing_docs)] // a benchmark binary, documented above

use std::hint::black_box;
use std::time::Instant;

use zipc::{Mpmc, Queue, Ring, RingMode, Segment, Spsc};

#[derive(
    Clone, Copy, Debug, PartialEq, zipc::FromBytes, zipc::IntoBytes, zipc::Immutable, zipc::KnownLayout, zipc::ShmType,
)]
#[repr(C)]
struct Msg48 {
    seq: u64,
    vals: [f32; 8],
    id: u32,
    flags: u32,
}

const BATCH: usize = 256;

struct Plan {
    reps: usize,
    batches: usize,
}

/// Best-of-`reps` nanoseconds per element of `round`, which moves `BATCH` elements.
fn measure(plan: &Plan, mut round: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..plan.reps {
        let t = Instant::now();
        for _ in 0..plan.batches {
            round();
        }
        let ns = t.elapsed().as_nanos() as f64 / (plan.batches * BATCH) as f64;
        best = best.min(ns);
    }
    best
}

fn msg(i: u64) -> Msg48 {
    Msg48 { seq: i, vals: [i as f32; 8], id: i as u32, flags: 1 }
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let plan = if smoke { Plan { reps: 1, batches: 20 } } else { Plan { reps: 7, batches: 4_000 } };
    let name = format!("/zipc-bench-abi-{}", std::process::id());
    let seg = Segment::create(&name, 16 << 20).expect("create segment");
    let _ = Segment::unlink(&name); // mapped until the end; nothing left behind
    let mut results: Vec<(&str, f64)> = Vec::new();

    // --- typed -------------------------------------------------------------------------------
    let q = Queue::<u64, Spsc>::create(&seg, "spsc_u64", 1024).unwrap();
    let (mut tx, mut rx) = (q.producer().unwrap(), q.consumer().unwrap());
    results.push((
        "typed spsc u64 push+pop",
        measure(&plan, || {
            for i in 0..BATCH as u64 {
                assert!(tx.try_push(black_box(i)).unwrap());
            }
            for _ in 0..BATCH {
                black_box(rx.try_pop().unwrap().unwrap());
            }
        }),
    ));
    let q = Queue::<Msg48, Spsc>::create(&seg, "spsc_msg", 1024).unwrap();
    let (mut tx, mut rx) = (q.producer().unwrap(), q.consumer().unwrap());
    results.push((
        "typed spsc msg48 push+pop",
        measure(&plan, || {
            for i in 0..BATCH as u64 {
                assert!(tx.try_push(black_box(msg(i))).unwrap());
            }
            for _ in 0..BATCH {
                black_box(rx.try_pop().unwrap().unwrap());
            }
        }),
    ));
    let q = Queue::<u64, Mpmc>::create(&seg, "mpmc_u64", 1024).unwrap();
    results.push((
        "typed mpmc u64 push+pop",
        measure(&plan, || {
            for i in 0..BATCH as u64 {
                assert!(q.try_push(black_box(i)).unwrap());
            }
            for _ in 0..BATCH {
                black_box(q.try_pop().unwrap().unwrap());
            }
        }),
    ));
    let q = Queue::<u64, Spsc>::create(&seg, "spsc_bulk", 1024).unwrap();
    let (mut tx, mut rx) = (q.producer().unwrap(), q.consumer().unwrap());
    let src: Vec<u64> = (0..BATCH as u64).collect();
    let mut dst = vec![0u64; BATCH];
    results.push((
        "typed spsc u64 bulk",
        measure(&plan, || {
            assert_eq!(tx.push_bulk(black_box(&src)).unwrap(), BATCH);
            assert_eq!(rx.pop_bulk(black_box(&mut dst)).unwrap(), BATCH);
        }),
    ));
    let r = Ring::<u64>::create(&seg, "ring_u64", 1024, RingMode::Lossless).unwrap();
    let (mut tx, mut rx) = (r.producer().unwrap(), r.consumer().unwrap());
    results.push((
        "typed ring u64 push+pop",
        measure(&plan, || {
            for i in 0..BATCH as u64 {
                assert!(tx.try_push(black_box(i)));
            }
            for _ in 0..BATCH {
                black_box(rx.try_pop().unwrap());
            }
        }),
    ));

    println!("\n{:<36} {:>10}", "path", "ns/elem");
    println!("{}", "-".repeat(48));
    for (n, v) in &results {
        println!("{n:<36} {v:>10.2}");
        assert!(v.is_finite() && *v > 0.0, "{n}: no figure");
    }
}
