//! Bandwidth: writing a large `Array<u64>` in a segment with `write_from`, against `memcpy`
//! between two private buffers of the same size. Both destinations are touched once before
//! timing, so page faults are not measured; the median of the repetitions is reported.

use std::time::Instant;

use zipc::Array;

use crate::peer::BenchSegment;
use crate::report::{percentiles, Measurement};
use crate::Plan;

pub fn array_vs_memcpy(plan: &Plan) -> (Measurement, Measurement) {
    let words = plan.array_bytes / 8;
    let src: Vec<u64> = (0..words as u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
    let seg = BenchSegment::create("array", plan.array_bytes as u64 + (1 << 20));
    let array = Array::<u64>::create(&seg.segment, "data", words as u64).unwrap();
    let mut dst = vec![0u64; words];

    let gbps = |secs: f64| plan.array_bytes as f64 / secs / 1e9;
    let (mut array_runs, mut memcpy_runs) = (Vec::new(), Vec::new());
    array.write_from(&src).unwrap(); // fault the pages in
    dst.copy_from_slice(&src);
    for _ in 0..plan.array_reps {
        let t = Instant::now();
        array.write_from(&src).unwrap();
        array_runs.push(gbps(t.elapsed().as_secs_f64()));
        let t = Instant::now();
        dst.copy_from_slice(&src);
        std::hint::black_box(&mut dst);
        memcpy_runs.push(gbps(t.elapsed().as_secs_f64()));
    }
    assert_eq!(array.get(words - 1), Some(src[words - 1]));
    let size = format!("{} MiB", plan.array_bytes >> 20);
    let (array_median, _) = percentiles(&mut array_runs);
    let (memcpy_median, _) = percentiles(&mut memcpy_runs);
    (
        Measurement {
            name: "array_write_gbps",
            unit: "GB/s",
            value: array_median,
            params: vec![
                ("bytes", size.clone()),
                ("reps", plan.array_reps.to_string()),
                ("how", "Array<u64>::write_from".into()),
            ],
        },
        Measurement {
            name: "memcpy_gbps",
            unit: "GB/s",
            value: memcpy_median,
            params: vec![
                ("bytes", size),
                ("reps", plan.array_reps.to_string()),
                ("how", "slice copy_from_slice".into()),
            ],
        },
    )
}
