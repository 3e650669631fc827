//! One segment, three languages: Rust, C and Python share `schemas/telemetry.toml`.
//!
//! The schema is the single declaration. `build.rs` turns it into Rust (`include_schema!`); at
//! run time this program turns it into a C header and a Python module — what `zipc-schema gen
//! schemas/telemetry.toml --out DIR` writes — compiles `examples/c/cross_language.c` with gcc
//! against libzipc (zipc's C ABI) and runs `examples/python/cross_language.py`, all on the same
//! segment:
//!
//! 1. Rust writes the newest reading of each of eight sensors into the array `latest`;
//! 2. C reads them through typed pointers, writes per-sensor statistics into `stats`, pushes
//!    the readings into the lock-free queue `readings` and bumps the atomic `visits`;
//! 3. Python checks C's statistics with numpy, pops C's readings from the queue in one bulk
//!    call, stores `consumed` and bumps `visits`;
//! 4. Rust checks what both did.
//!
//! Every reader checks the segment against its copy of the schema first (kind, element layout
//! fingerprint and capacity of each structure), so a program built from another version of the
//! schema is refused instead of misreading the bytes. C and Python run zipc's own code through
//! libzipc: they claim queue roles, wake sleepers and join the process registry like a Rust peer.
//!
//! Needs `gcc` (or `$CC`) and a Python with numpy (`python3`, or `$ZIPC_PYTHON`); a missing tool
//! is reported and its part skipped. Cargo builds libzipc with the examples.
//!
//! ```sh
//! cargo run -p zipc-examples --bin cross_language
//! ```

use std::process::Command;

use zipc_examples::foreign::{c_compiler, compile_c, libzipc_dir, numpy_python, output, ScratchDir};
use zipc_examples::{BoxError, Unlink};
use zipc_schema::{c, python, Arena, Schema};

mod schema {
    zipc::include_schema!("telemetry");
}
use schema::{Reading, SensorStats, Telemetry};

const SCHEMA_FILE: &str = "schemas/telemetry.toml";
const SCHEMA: &str = include_str!("../../../schemas/telemetry.toml");
const C_PROGRAM: &str = include_str!("../../c/cross_language.c");
const PY_PROGRAM: &str = include_str!("../../python/cross_language.py");

fn main() -> Result<(), BoxError> {
    let name = zipc_examples::unique_name(Telemetry::NAME);
    let _cleanup = Unlink::new(&name);
    let seg = Telemetry::create(&name)?;

    // 1. Rust writes a reading per sensor.
    let readings: Vec<Reading> = (0..8u32)
        .map(|s| Reading {
            seq: 100 + u64::from(s),
            vals: std::array::from_fn(|c| (s * 10 + c as u32) as f32 * 0.5),
            sensor: s,
            _pad44: 0,
        })
        .collect();
    seg.latest.write_from(&readings)?;
    seg.produced.store(readings.len() as u64);
    println!("[rust] created {name} and wrote {} readings into `latest`", readings.len());

    // Generate C and Python from the same schema, as `zipc-schema gen` does.
    let arena = Arena::new();
    let schema = Schema::parse(SCHEMA_FILE, SCHEMA, &arena).map_err(|d| d.to_string())?;
    let dir = ScratchDir::new("zipc-cross-language")?;
    let write = |file: &str, text: &str| std::fs::write(dir.path().join(file), text);
    write(c::RUNTIME_HEADER, &c::runtime_header())?;
    write("telemetry.h", &c::generate(&schema))?;
    write("cross_language.c", C_PROGRAM)?;
    write(python::RUNTIME_MODULE, &python::runtime_module())?;
    write("telemetry.py", &python::generate(&schema))?;
    write("cross_language.py", PY_PROGRAM)?;

    // 2. C, linked with libzipc.
    let lib = libzipc_dir()?;
    let mut expected_visits = 0;
    match c_compiler() {
        Some(cc) => {
            let (exe, line) = compile_c(&cc, dir.path(), "cross_language.c", &lib)?;
            println!("[rust] compiled the C program against the generated telemetry.h: {line}");
            for line in output(Command::new(&exe).arg(&name))?.lines() {
                println!("[c] {line}");
            }
            expected_visits += 1;
        }
        None => println!("[rust] SKIPPED the C part: no C compiler (install gcc, or set CC)"),
    }

    // 3. Python, on libzipc through ctypes.
    let c_ran = expected_visits == 1;
    match numpy_python() {
        Ok(py) if c_ran => {
            let out = output(
                Command::new(&py)
                    .arg(dir.path().join("cross_language.py"))
                    .arg(&name)
                    .env("ZIPC_LIB", lib.join("libzipc.so"))
                    .env("PYTHONDONTWRITEBYTECODE", "1"),
            )?;
            for line in out.lines() {
                println!("[python] {line}");
            }
            expected_visits += 1;
        }
        Ok(_) => println!("[rust] SKIPPED the Python part: it checks what C wrote"),
        Err(why) => println!("[rust] SKIPPED the Python part: {why}"),
    }

    // 4. Rust checks what the others wrote.
    if c_ran {
        for (r, s) in readings.iter().zip(seg.stats.to_vec()) {
            let (min, max) = r.vals.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let expected = SensorStats { count: 1, sum: f64::from(r.vals[0]), min, max, last_seq: r.seq };
            if s != expected {
                return Err(format!("sensor {}: C wrote {s:?}, expected {expected:?}", r.sensor).into());
            }
        }
        println!("[rust] the statistics C wrote are right");
    }
    if expected_visits == 2 && (seg.consumed.load() != 8 || !seg.readings.is_empty()) {
        return Err(format!("Python consumed {}, {} left in the queue", seg.consumed.load(), seg.readings.len()).into());
    }
    if seg.visits.load() != expected_visits {
        return Err(format!("visits = {}, expected {expected_visits}", seg.visits.load()).into());
    }
    println!("ok: {expected_visits} other language(s) read and wrote the segment; visits = {}", seg.visits.load());
    Ok(())
}
