//! The end-to-end tour: `cargo run --release -p zipc-examples --bin demo`.
//!
//! 1. **One declaration** — `schemas/telemetry.toml`, turned into Rust (by `build.rs`, compiled
//!    into this program), a C header and a numpy module (written to `target/zipc-demo/`, exactly
//!    what `zipc-schema gen` writes), with the same layout fingerprints in all three.
//! 2. **A segment** — created from the declaration, every structure in place, its memory map.
//! 3. **Two processes** — a sensor process streams readings through the lock-free SPSC queue to
//!    a monitor process, which checks that each arrives once and in order and keeps per-sensor
//!    statistics in shared arrays.
//! 4. **Inspection** — the live state of every structure, as `zipc-schema inspect` shows it.
//! 5. **Typed opens** — a program that declares a structure differently is refused.
//! 6. **C and Python** — a C program built with gcc from the generated header and linked with
//!    libzipc, and Python with the generated module, read the same segment (their summaries
//!    must equal Rust's), then a C producer streams readings to a Python consumer through the
//!    same queue, each checked.
//!
//! Options: `--messages N` (default 1,000,000; the C → Python stream moves at most 100,000). A
//! missing tool (gcc, numpy, libzipc) is reported and its part skipped.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zipc::layout::{canonical, fingerprint};
use zipc::{Array, Segment};
use zipc_examples::foreign::{c_compiler, compile_c, libzipc_dir, numpy_python, output};
use zipc_examples::{role, thousands, wait_all, BoxError, Peer, Unlink};
use zipc_schema::{c, memory_map, python, rust, Arena, Schema};

mod schema {
    #![allow(dead_code)] // `visits` is the cross_language example's
    zipc::include_schema!("telemetry");
}
use schema::{Reading, SensorStats, Telemetry};

const SCHEMA_FILE: &str = "schemas/telemetry.toml";
const SCHEMA: &str = include_str!("../../../schemas/telemetry.toml");
const C_READER: &str = include_str!("../../c/demo.c");
const PY_READER: &str = include_str!("../../python/demo.py");
const SENSORS: u64 = 8;
/// The monitor publishes its statistics every this many readings (and at the end).
const PUBLISH_EVERY: u64 = 4096;

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "sensor" => sensor(&args[0], args[1].parse()?),
        Some((role, args)) if role == "monitor" => monitor(&args[0], args[1].parse()?),
        _ => tour(),
    }
}

fn heading(n: u32, title: &str) {
    println!("\n{n}. {title}\n{}", "-".repeat(title.len() + 3));
}

/// Channel `c` of reading `seq`: a function of both, so the monitor can check every reading.
fn value(seq: u64, c: usize) -> f32 {
    (seq % 1000) as f32 * 0.01 + c as f32
}

fn tour() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let messages: u64 = match args.iter().position(|a| a == "--messages") {
        Some(i) => args.get(i + 1).ok_or("--messages needs a number")?.parse()?,
        None => 1_000_000,
    };
    println!("zipc demo: typed, lock-free shared memory between processes and languages");

    // 1. One declaration, three languages.
    heading(1, &format!("One declaration: {SCHEMA_FILE}"));
    let arena = Arena::new();
    let schema = Schema::parse(SCHEMA_FILE, SCHEMA, &arena).map_err(|d| d.to_string())?;
    let gen_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/zipc-demo");
    std::fs::create_dir_all(&gen_dir)?;
    let files = [
        ("telemetry.rs", rust::generate(&schema)),
        ("telemetry.h", c::generate(&schema)),
        (c::RUNTIME_HEADER, c::runtime_header()),
        ("telemetry.py", python::generate(&schema)),
        (python::RUNTIME_MODULE, python::runtime_module()),
        ("demo.c", C_READER.to_owned()),
        ("demo.py", PY_READER.to_owned()),
    ];
    for (file, text) in &files {
        std::fs::write(gen_dir.join(file), text)?;
    }
    let gen_dir = gen_dir.canonicalize()?;
    println!("generated (as `zipc-schema gen {SCHEMA_FILE} --out DIR` does) into {}:", gen_dir.display());
    for (file, text) in &files[..5] {
        println!("  {file:<16} {:>5} lines", text.lines().count());
    }
    println!("  (build.rs generated the same telemetry.rs for this program: zipc::include_schema!)");
    // The derive's compile-time layout and the schema's agree, structure by structure.
    for (ours, theirs) in Telemetry::LAYOUT.structures.iter().zip(schema.layout.structures) {
        if ours.elem.map(|t| fingerprint(&t)) != theirs.elem.map(|t| fingerprint(&t)) {
            return Err(format!("{}: the compiled-in layout differs from the schema", ours.name).into());
        }
    }
    for ty in &schema.types {
        let t = zipc::layout::TypeLayout::Struct(ty);
        println!("  {:<12} {:>3} bytes  fingerprint {:#018x}  {}", ty.name, ty.size, fingerprint(&t), canonical(&t));
    }
    println!("  the Rust types compiled into this program have the same fingerprints");

    // 2. The segment.
    heading(2, "A segment, created from the declaration");
    let name = zipc_examples::unique_name(Telemetry::NAME);
    let _cleanup = Unlink::new(&name); // removed at the end, also if anything below fails
    let seg = Telemetry::create(&name)?;
    println!("created {name} (/dev/shm{name}): {} bytes, every structure in place:", thousands(Telemetry::SIZE));
    let map = memory_map::render(&schema);
    for line in map.lines().skip_while(|l| !l.starts_with("OFFSET")) {
        println!("  {line}");
    }

    // 3. Producer and consumer processes.
    heading(3, "Two processes, one lock-free queue");
    println!(
        "a sensor process pushes {} readings ({} bytes each) through `readings` (SPSC, {} slots);",
        thousands(messages),
        size_of::<Reading>(),
        seg.readings.capacity()
    );
    println!("a monitor process pops them, checks each, and keeps statistics in `stats` and `latest`");
    let count = messages.to_string();
    let start = Instant::now();
    wait_all(vec![Peer::spawn("monitor", &[&name, &count])?, Peer::spawn("sensor", &[&name, &count])?])?;
    let elapsed = start.elapsed();
    let (produced, consumed) = (seg.produced.load(), seg.consumed.load());
    if produced != messages || consumed != messages {
        return Err(format!("produced {produced}, consumed {consumed}, expected {messages}").into());
    }
    let rate = messages as f64 / elapsed.as_secs_f64();
    println!(
        "{} readings in {:.1?} (process start-up included): {} readings/s",
        thousands(messages),
        elapsed,
        human(rate)
    );

    // 4. What a monitoring tool sees.
    heading(4, "Inspect: the live segment");
    println!("`zipc-schema inspect {name}` (zipc::inspect) reads every structure's live state:");
    let report = zipc::inspect::inspect(&name)?.to_string();
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        println!("  {line}");
    }

    // 5. Typed opens.
    heading(5, "Typed: a mismatched declaration is refused");
    let other = Segment::open(&name)?;
    match Array::<Reading>::open(&other, "stats") {
        Ok(_) => return Err("`stats` opened with the wrong element type".into()),
        Err(e) => {
            println!("Array::<Reading>::open(&seg, \"stats\") fails:");
            for line in e.to_string().lines() {
                println!("  {line}");
            }
        }
    }
    drop(other);

    // 6. C and Python on the same segment, through libzipc.
    heading(6, "C and Python on the same segment");
    let rust_line = summary(&seg)?;
    println!("rust:   {rust_line}");
    let mut agree = vec!["Rust"];
    let mut skipped = Vec::new();
    let lib = libzipc_dir();
    let cc = c_compiler();
    let c_exe = match (&cc, &lib) {
        (Some(cc), Ok(lib)) => {
            let (exe, line) = compile_c(cc, &gen_dir, "demo.c", lib)?;
            let out = output(Command::new(&exe).args([name.as_str(), "summary"]))?.trim().to_owned();
            println!("c:      {out}");
            println!("        (built with: {line})");
            if out != rust_line {
                return Err("C read something else than Rust".into());
            }
            agree.push("C");
            Some(exe)
        }
        (None, _) => {
            println!("c:      SKIPPED: no C compiler found (install gcc, or set CC)");
            skipped.push("C (no compiler)");
            None
        }
        (_, Err(why)) => {
            println!("c:      SKIPPED: {why}");
            skipped.push("C (no libzipc)");
            None
        }
    };
    // The Python command for `demo.py ARGS`: the generated modules beside it, libzipc by ZIPC_LIB.
    let python = match (numpy_python(), &lib) {
        (Ok(py), Ok(lib)) => {
            let so = lib.join("libzipc.so");
            let script = gen_dir.join("demo.py");
            Some(move |args: &[&str]| {
                let mut cmd = Command::new(&py);
                cmd.arg(&script).args(args).env("ZIPC_LIB", &so).env("PYTHONDONTWRITEBYTECODE", "1");
                cmd
            })
        }
        (Err(why), _) => {
            println!("python: SKIPPED: {why}");
            skipped.push("Python (no numpy)");
            None
        }
        (_, Err(why)) => {
            println!("python: SKIPPED: {why}");
            skipped.push("Python (no libzipc)");
            None
        }
    };
    if let Some(python) = &python {
        let out = output(&mut python(&[&name, "summary"]))?.trim().to_owned();
        println!("python: {out}");
        println!("        (numpy views straight into the segment, via the generated telemetry.py)");
        if out != rust_line {
            return Err("Python read something else than Rust".into());
        }
        agree.push("Python");
    }
    // And through the queue: a C producer and a Python consumer, at the same time.
    let cross = messages.min(100_000);
    let mut cross_elapsed = None;
    if let (Some(exe), Some(python)) = (c_exe, &python) {
        println!(
            "\na C process pushes {} readings into `readings` while a Python process pops them:",
            thousands(cross)
        );
        let (first, count) = (messages.to_string(), cross.to_string());
        let start = Instant::now();
        let mut c = Command::new(&exe)
            .args([name.as_str(), "push", &first, &count])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let popped = output(&mut python(&[&name, "pop", &first, &count]));
        if popped.is_err() {
            let _ = c.kill(); // it would wait forever for room in the queue
        }
        let pushed = c.wait_with_output()?;
        let popped = popped?;
        if !pushed.status.success() {
            return Err(format!("the C producer failed: {}", String::from_utf8_lossy(&pushed.stderr)).into());
        }
        let elapsed = start.elapsed();
        println!("  [c]      {}", String::from_utf8_lossy(&pushed.stdout).trim());
        println!("  [python] {}", popped.trim());
        let total = messages + cross;
        if seg.produced.load() != total || seg.consumed.load() != total || !seg.readings.is_empty() {
            return Err("the C → Python stream lost readings".into());
        }
        println!("{} readings from C to Python in {elapsed:.1?} (process start-up included)", thousands(cross));
        cross_elapsed = Some(elapsed);
    }

    // Summary.
    println!("\nSummary\n-------");
    println!(
        "  declaration      {SCHEMA_FILE}: {} types, {} structures",
        schema.types.len(),
        schema.layout.structures.len()
    );
    println!("  segment          {name}, {} bytes", thousands(Telemetry::SIZE));
    println!(
        "  queue            {} readings between two processes in {:.1?}: {} readings/s ({:.0} MB/s)",
        thousands(messages),
        elapsed,
        human(rate),
        rate * size_of::<Reading>() as f64 / 1e6
    );
    println!("  delivery         every reading exactly once, in order, intact");
    println!("  type checks      a mismatched open is refused with the difference spelled out");
    println!("  languages        {} read the same bytes and agree", agree.join(", "));
    if let Some(elapsed) = cross_elapsed {
        println!("  C → Python       {} readings through the same queue in {elapsed:.1?}", thousands(cross));
    }
    if !skipped.is_empty() {
        println!("  skipped          {}", skipped.join(", "));
    }
    println!("  generated files  {}", gen_dir.display());
    drop(seg);
    drop(_cleanup);
    println!(
        "  cleanup          {name} removed: {}",
        if std::path::Path::new(&format!("/dev/shm{name}")).exists() { "NO" } else { "yes" }
    );
    Ok(())
}

/// `1234567.0` → `"1.23 M"`.
fn human(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.2} G", x / 1e9),
        x if x >= 1e6 => format!("{:.2} M", x / 1e6),
        x if x >= 1e3 => format!("{:.1} k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

/// The line that the C and Python readers print too.
fn summary(seg: &Telemetry) -> zipc::Result<String> {
    let stats = seg.stats.to_vec();
    let mut sum = 0.0f64;
    for s in &stats {
        sum += s.sum; // in index order, as C and Python add them
    }
    let count: u64 = stats.iter().map(|s| s.count).sum();
    let max = stats.iter().map(|s| s.max).fold(f32::MIN, f32::max);
    let newest = stats.iter().map(|s| s.last_seq).max().unwrap_or(0);
    Ok(format!(
        "readings {count} (consumed {}), channel-0 sum {sum:.3}, max {:.2}, newest seq {newest}",
        seg.consumed.load(),
        f64::from(max)
    ))
}

/// The producer: pushes `n` readings, round-robin over the sensors.
fn sensor(name: &str, n: u64) -> Result<(), BoxError> {
    let seg = Telemetry::open(name)?;
    let mut tx = seg.readings.producer()?;
    for seq in 0..n {
        let r =
            Reading { seq, vals: std::array::from_fn(|c| value(seq, c)), sensor: (seq % SENSORS) as u32, _pad44: 0 };
        tx.push(r, None)?; // waits (on a futex) while the queue is full
    }
    seg.produced.store(n);
    println!("  [sensor]  pushed {} readings", thousands(n));
    Ok(())
}

/// The consumer: pops `n` readings, checks them, and publishes statistics now and then.
fn monitor(name: &str, n: u64) -> Result<(), BoxError> {
    let seg = Telemetry::open(name)?;
    let mut rx = seg.readings.consumer()?;
    let empty = SensorStats { count: 0, sum: 0.0, min: f32::MAX, max: f32::MIN, last_seq: 0 };
    let mut stats = [empty; SENSORS as usize];
    let mut latest = [Reading { seq: 0, vals: [0.0; 8], sensor: 0, _pad44: 0 }; SENSORS as usize];
    let mut first = None;
    for seq in 0..n {
        let r = rx.pop(Some(Duration::from_secs(60)))?; // sleeps while the queue is empty
        first.get_or_insert_with(Instant::now);
        let intact = (0..8).all(|c| r.vals[c] == value(seq, c));
        if r.seq != seq || u64::from(r.sensor) != seq % SENSORS || !intact {
            return Err(format!("reading {seq} arrived as {r:?}").into());
        }
        let s = &mut stats[r.sensor as usize];
        s.count += 1;
        s.sum += f64::from(r.vals[0]);
        s.min = s.min.min(r.vals[0]);
        s.max = s.max.max(r.vals[0]);
        s.last_seq = seq;
        latest[r.sensor as usize] = r;
        if (seq + 1) % PUBLISH_EVERY == 0 || seq + 1 == n {
            seg.stats.write_from(&stats)?;
            seg.latest.write_from(&latest)?;
            seg.consumed.store(seq + 1);
        }
    }
    let busy = first.map_or(Duration::ZERO, |t| t.elapsed());
    println!(
        "  [monitor] received {} readings, each once, in order and intact ({} readings/s while streaming)",
        thousands(n),
        human(n as f64 / busy.as_secs_f64().max(1e-9))
    );
    Ok(())
}
