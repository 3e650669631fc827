//! A three-stage sensor pipeline on two rings.
//!
//! The segment is declared in `schemas/sensor_pipeline.toml`:
//!
//! * `readings` — a ring of raw `SensorReading`s in *overwrite* mode: the collector never waits,
//!   and if the processor falls more than 65,536 readings behind, the oldest are overwritten and
//!   the processor is told exactly how many it missed;
//! * `processed` — a *lossless* ring of per-window statistics from the processor to the reporter;
//! * `total`, `dropped` — counters.
//!
//! ```text
//! collector ──readings (overwrite)──▶ processor ──processed (lossless)──▶ reporter
//!                  ▲                                                         │
//!                  └──────────────── get_last_n (observer) ──────────────────┘
//! ```
//!
//! Data moves in bulk (`try_push_bulk`, `pop_bulk`: one index update per batch), and the
//! reporter looks at the newest raw readings with `get_last_n` without disturbing anyone.
//!
//! ```sh
//! cargo run -p zipc-examples --bin sensor_pipeline
//! ```

use zipc::zerocopy::FromZeros; // new_zeroed(): every element type is valid as all zeros
use zipc_examples::{role, thousands, wait_all, BoxError, Peer, Unlink};

mod schema {
    zipc::include_schema!("sensor_pipeline");
}
use schema::{ProcessedData, SensorPipeline, SensorReading};

const READINGS: u64 = 200_000;
/// Readings written before the processor starts: more than the ring holds.
const BURST: u64 = 100_000;
const BATCH: usize = 256;
/// `status` of the collector's last reading: the end of the stream.
const END_OF_STREAM: u16 = 0xFFFF;
/// `timestamp_ns` of the processor's last record: the end of the stream.
const END_OF_WINDOWS: u64 = u64::MAX;

/// The value of channel `c` of reading `i`: a function of both, so any reader can check that a
/// reading arrived intact.
fn value(i: u64, c: usize) -> f32 {
    ((i % 1000) as f32) * 0.01 + c as f32
}

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "collector" => collector(&args),
        Some((role, args)) if role == "processor" => processor(&args[0]),
        Some((role, args)) if role == "reporter" => reporter(&args[0]),
        _ => parent(),
    }
}

fn parent() -> Result<(), BoxError> {
    let name = zipc_examples::unique_name(SensorPipeline::NAME);
    let _cleanup = Unlink::new(&name);
    let seg = SensorPipeline::create(&name)?;
    println!(
        "created {name}: {} bytes; readings ring of {} (overwrite), processed ring of {} (lossless)",
        thousands(SensorPipeline::SIZE),
        thousands(seg.readings.capacity()),
        thousands(seg.processed.capacity())
    );

    // Phase 1, the processor is not running yet: a burst of readings fills the overwrite ring
    // and laps it — the oldest readings are overwritten.
    Peer::spawn("collector", &[&name, "0", &BURST.to_string()])?.wait()?;
    // Phase 2, the whole pipeline. Downstream stages start first.
    let peers = vec![
        Peer::spawn("reporter", &[&name])?,
        Peer::spawn("processor", &[&name])?,
        Peer::spawn("collector", &[&name, &BURST.to_string(), &READINGS.to_string(), "end"])?,
    ];
    wait_all(peers)?;

    // Every reading written was either delivered to the processor or counted as missed.
    let (written, read, missed) =
        (seg.readings.total_written(), seg.readings.total_read(), seg.readings.total_missed());
    println!(
        "readings: {} written = {} delivered + {} overwritten before the processor got to them",
        thousands(written),
        thousands(read),
        thousands(missed)
    );
    if written != READINGS + 1 || read + missed != written || seg.dropped.load() != missed {
        return Err("the readings ring's counters do not add up".into());
    }
    // At least the part of the burst that did not fit was overwritten before the processor ran.
    if missed < BURST - seg.readings.capacity() {
        return Err("the burst should have overwritten readings".into());
    }
    // The lossless ring delivered everything.
    if seg.processed.total_read() != seg.processed.total_written() {
        return Err("processed records were lost".into());
    }
    println!("ok: {} windows processed and reported, none lost", thousands(seg.processed.total_written() - 1));
    Ok(())
}

/// Stage 1: produces readings `from..to` in batches and never waits; with `end`, then marks the
/// end of the stream.
fn collector(args: &[String]) -> Result<(), BoxError> {
    let seg = SensorPipeline::open(&args[0])?;
    let (from, to): (u64, u64) = (args[1].parse()?, args[2].parse()?);
    let mut tx = seg.readings.producer()?; // the one producer; released when `tx` drops
    let mut batch = Vec::with_capacity(BATCH);
    for i in from..to {
        batch.push(SensorReading {
            timestamp_ns: i,
            values: std::array::from_fn(|c| value(i, c)),
            status: 0,
            sensor_id: (i % 4) as u16,
            _pad44: 0,
        });
        if batch.len() == BATCH || i + 1 == to {
            // Overwrite mode: the whole batch is always taken (one index update).
            tx.try_push_bulk(&batch);
            batch.clear();
        }
    }
    println!("[collector] wrote readings {} to {} in batches of {BATCH}", thousands(from), thousands(to - 1));
    if args.get(3).is_some_and(|a| a == "end") {
        let end = SensorReading { timestamp_ns: to, values: [0.0; 8], status: END_OF_STREAM, sensor_id: 0, _pad44: 0 };
        // The newest element is never overwritten: the processor will see it.
        assert!(tx.try_push(end), "overwrite mode always takes an element");
        seg.total.store(to);
    }
    Ok(())
}

/// Stage 2: turns each batch of readings into one window of statistics.
fn processor(name: &str) -> Result<(), BoxError> {
    let seg = SensorPipeline::open(name)?;
    let mut rx = seg.readings.consumer()?;
    let mut tx = seg.processed.producer()?;
    let mut buf = [SensorReading::new_zeroed(); BATCH];
    let mut windows = 0u64;
    'stream: loop {
        let n = rx.pop_bulk(&mut buf, None)?; // waits for at least one, takes up to BATCH
        let mut window = ProcessedData { timestamp_ns: buf[0].timestamp_ns, mean: 0.0, rms: 0.0, peak: [0.0; 8] };
        let mut count = 0;
        for r in &buf[..n] {
            if r.status == END_OF_STREAM {
                if count > 0 {
                    finish(&mut window, count);
                    tx.push(window, None)?;
                    windows += 1;
                }
                break 'stream;
            }
            // Overwrite mode never hands out a torn reading: check it anyway.
            if (0..8).any(|c| r.values[c] != value(r.timestamp_ns, c)) {
                return Err(format!("reading {} arrived damaged", r.timestamp_ns).into());
            }
            window.mean += r.values[0];
            window.rms += r.values[0] * r.values[0];
            for c in 0..8 {
                window.peak[c] = window.peak[c].max(r.values[c]);
            }
            count += 1;
        }
        finish(&mut window, count);
        tx.push(window, None)?; // lossless: waits if the reporter falls behind
        windows += 1;
    }
    let end = ProcessedData { timestamp_ns: END_OF_WINDOWS, mean: 0.0, rms: 0.0, peak: [0.0; 8] };
    tx.push(end, None)?;
    seg.dropped.store(rx.missed());
    println!(
        "[processor] received {} readings intact, missed {} (overwritten), produced {} windows",
        thousands(rx.delivered() - 1),
        thousands(rx.missed()),
        thousands(windows)
    );
    Ok(())
}

fn finish(window: &mut ProcessedData, count: usize) {
    window.mean /= count as f32;
    window.rms = (window.rms / count as f32).sqrt();
}

/// Stage 3: prints a line now and then, with the newest raw readings next to it.
fn reporter(name: &str) -> Result<(), BoxError> {
    let seg = SensorPipeline::open(name)?;
    let mut rx = seg.processed.consumer()?;
    let mut windows = 0u64;
    loop {
        let w = rx.pop(None)?;
        if w.timestamp_ns == END_OF_WINDOWS {
            break;
        }
        windows += 1;
        if windows % 200 == 1 {
            // An observer's look at the readings ring: the newest three, oldest first.
            let mut newest = [SensorReading::new_zeroed(); 3];
            let n = seg.readings.get_last_n(3, &mut newest);
            let ids: Vec<u64> = newest[..n].iter().map(|r| r.timestamp_ns).collect();
            println!(
                "[reporter] window {windows} (from reading {}): mean {:.2}, rms {:.2}; newest raw readings now: {ids:?}",
                w.timestamp_ns, w.mean, w.rms
            );
        }
    }
    println!("[reporter] received {} windows", thousands(windows));
    Ok(())
}
