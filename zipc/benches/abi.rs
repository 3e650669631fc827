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
    /// Unlinks the segment when the benchmark ends, also by a panic.
    struct Unlink<'a>(&'a str);
    impl Drop for Unlink<'_> {
        fn drop(&mut self) {
            let _ = Segment::unlink(self.0);
        }
    }
    let _unlink = Unlink(&name);
    let mut results: Vec<(&str, f64)> = Vec::new();

    // --- typed -------------------------------------------------------------------------------
    let src: Vec<u64> = (0..BATCH as u64).collect();
    {
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
    }

    // --- zipc::dynamic: the same algorithms, element size known at run time -----------------
    use zipc::dynamic::{DynQueue, DynRing, ElementSpec};
    let q = DynQueue::open(&seg, "spsc_u64", ElementSpec::new(8)).unwrap();
    let (mut tx, mut rx) = (q.producer().unwrap(), q.consumer().unwrap());
    let mut b8 = [0u8; 8];
    results.push((
        "dynamic spsc u64 push+pop",
        measure(&plan, || {
            for i in 0..BATCH as u64 {
                assert!(tx.try_push(black_box(&i.to_le_bytes())).unwrap());
            }
            for _ in 0..BATCH {
                assert!(rx.try_pop(black_box(&mut b8)).unwrap());
            }
        }),
    ));
    drop((tx, rx));
    let q = DynQueue::open(&seg, "spsc_msg", ElementSpec::new(48)).unwrap();
    let (mut tx, mut rx) = (q.producer().unwrap(), q.consumer().unwrap());
    let mut b48 = [0u8; 48];
    results.push((
        "dynamic spsc msg48 push+pop",
        measure(&plan, || {
            for i in 0..BATCH as u64 {
                let m = msg(i);
                assert!(tx.try_push(black_box(zipc::IntoBytes::as_bytes(&m))).unwrap());
            }
            for _ in 0..BATCH {
                assert!(rx.try_pop(black_box(&mut b48)).unwrap());
            }
        }),
    ));
    drop((tx, rx));
    let q = DynQueue::open(&seg, "spsc_bulk", ElementSpec::new(8)).unwrap();
    let (mut tx, mut rx) = (q.producer().unwrap(), q.consumer().unwrap());
    let srcb: Vec<u8> = src.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut dstb = vec![0u8; BATCH * 8];
    results.push((
        "dynamic spsc u64 bulk",
        measure(&plan, || {
            assert_eq!(tx.push_bulk(black_box(&srcb)).unwrap(), BATCH);
            assert_eq!(rx.pop_bulk(black_box(&mut dstb)).unwrap(), BATCH);
        }),
    ));
    drop((tx, rx));
    let r = DynRing::open(&seg, "ring_u64", ElementSpec::new(8)).unwrap();
    let (mut tx, mut rx) = (r.producer().unwrap(), r.consumer().unwrap());
    results.push((
        "dynamic ring u64 push+pop",
        measure(&plan, || {
            for i in 0..BATCH as u64 {
                assert!(tx.try_push(black_box(&i.to_le_bytes())).unwrap());
            }
            for _ in 0..BATCH {
                assert!(rx.try_pop(black_box(&mut b8)).unwrap());
            }
        }),
    ));
    drop((tx, rx));

    // --- the C ABI, called as C calls it (zipc::ffi, the functions libzipc exports) -----------
    abi_rows(&plan, &name, &mut results);

    println!("\n{:<36} {:>10}", "path", "ns/elem");
    println!("{}", "-".repeat(48));
    for (n, v) in &results {
        println!("{n:<36} {v:>10.2}");
        assert!(v.is_finite() && *v > 0.0, "{n}: no figure");
    }
}

/// The C ABI rows: the same operations through `zipc_*` functions, with their argument checks,
/// status codes and handle locking.
fn abi_rows(plan: &Plan, name: &str, results: &mut Vec<(&'static str, f64)>) {
    use std::ffi::CString;
    use std::ptr::null_mut;
    use zipc::ffi::*;
    let cname = CString::new(name).unwrap();
    // SAFETY: every pointer is a live handle of the right type or a local buffer of the size
    // passed; the handles are closed at the end.
    unsafe {
        let mut seg = null_mut();
        assert_eq!(zipc_segment_open(cname.as_ptr(), &mut seg), Status::Ok);
        for (label, queue, size) in
            [("C ABI spsc u64 push+pop", c"spsc_u64", 8usize), ("C ABI spsc msg48 push+pop", c"spsc_msg", 48)]
        {
            let (mut q, mut p, mut c) = (null_mut(), null_mut(), null_mut());
            assert_eq!(zipc_queue_open(seg, queue.as_ptr(), size, std::ptr::null(), &mut q), Status::Ok);
            assert_eq!(zipc_queue_open_producer(q, &mut p), Status::Ok);
            assert_eq!(zipc_queue_open_consumer(q, &mut c), Status::Ok);
            let mut buf = [0u8; 48];
            results.push((
                label,
                measure(plan, || {
                    for i in 0..BATCH as u64 {
                        let m = msg(i);
                        let src = zipc::IntoBytes::as_bytes(&m);
                        assert_eq!(zipc_producer_try_push(p, black_box(src.as_ptr()).cast(), size), Status::Ok);
                    }
                    for _ in 0..BATCH {
                        assert_eq!(zipc_consumer_try_pop(c, black_box(buf.as_mut_ptr()).cast(), size), Status::Ok);
                    }
                }),
            ));
            zipc_producer_close(p);
            zipc_consumer_close(c);
            zipc_queue_close(q);
        }
        let (mut q, mut p, mut c) = (null_mut(), null_mut(), null_mut());
        assert_eq!(zipc_queue_open(seg, c"spsc_bulk".as_ptr(), 8, std::ptr::null(), &mut q), Status::Ok);
        assert_eq!(zipc_queue_open_producer(q, &mut p), Status::Ok);
        assert_eq!(zipc_queue_open_consumer(q, &mut c), Status::Ok);
        let src: Vec<u64> = (0..BATCH as u64).collect();
        let mut dst = vec![0u64; BATCH];
        results.push((
            "C ABI spsc u64 bulk",
            measure(plan, || {
                let mut n = 0;
                assert_eq!(zipc_producer_push_bulk(p, src.as_ptr().cast(), BATCH, 8, 0, &mut n), Status::Ok);
                assert_eq!(n, BATCH);
                assert_eq!(zipc_consumer_pop_bulk(c, dst.as_mut_ptr().cast(), BATCH, 8, 0, &mut n), Status::Ok);
                assert_eq!(n, BATCH);
            }),
        ));
        zipc_producer_close(p);
        zipc_consumer_close(c);
        zipc_queue_close(q);
        let (mut r, mut p, mut c) = (null_mut(), null_mut(), null_mut());
        assert_eq!(zipc_ring_open(seg, c"ring_u64".as_ptr(), 8, std::ptr::null(), &mut r), Status::Ok);
        assert_eq!(zipc_ring_open_producer(r, &mut p), Status::Ok);
        assert_eq!(zipc_ring_open_consumer(r, &mut c), Status::Ok);
        let mut b8 = [0u8; 8];
        results.push((
            "C ABI ring u64 push+pop",
            measure(plan, || {
                for i in 0..BATCH as u64 {
                    assert_eq!(zipc_ring_try_push(p, black_box(&i as *const u64).cast(), 8), Status::Ok);
                }
                for _ in 0..BATCH {
                    assert_eq!(zipc_ring_try_pop(c, black_box(b8.as_mut_ptr()).cast(), 8), Status::Ok);
                }
            }),
        ));
        zipc_ring_producer_close(p);
        zipc_ring_consumer_close(c);
        zipc_ring_close(r);
        zipc_segment_close(seg);
    }
}
