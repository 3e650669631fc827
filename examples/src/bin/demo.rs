//! The end-to-end tour: `cargo run --release -p zipc-examples --bin demo`.
//!
//! It will generate code from the bundled schema, create a segment, run producer and consumer
//! processes, read the same segment from C and Python, and print a summary. Until those pieces
//! land it runs what exists (a segment with an array and an atomic, shared with a child process)
//! and says plainly what is still to come.

use std::process::Command;

use zipc::{Array, Atomic, Segment};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(name) = std::env::args().nth(2).filter(|_| std::env::args().nth(1).as_deref() == Some("--child")) {
        return child(&name);
    }
    let name = format!("/zipc-demo-{}", std::process::id());
    let seg = Segment::create(&name, 1 << 20)?;
    let result = run(&seg, &name);
    Segment::unlink(&name)?;
    result?;
    println!();
    println!("Still to come in this tour (not built yet):");
    println!("  - generating Rust, C and Python from schemas/ (zipc-schema gen)");
    println!("  - producer and consumer processes on a lock-free queue");
    println!("  - C and Python reading the same segment");
    Ok(())
}

fn run(seg: &Segment, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let temps = Array::<f32>::create(seg, "temps", 8)?;
    let seq = Atomic::<u64>::create(seg, "seq", 0)?;
    temps.write_from(&[20.0, 20.5, 21.0, 21.5, 22.0, 22.5, 23.0, 23.5])?;
    seq.store(1);
    println!("created segment {name} ({} bytes) with array 'temps' and atomic 'seq'", seg.size());
    let status = Command::new(std::env::current_exe()?).args(["--child", name]).status()?;
    if !status.success() {
        return Err(format!("child process failed: {status}").into());
    }
    println!("child process summed temps and bumped seq: sum = {}, seq = {}", temps.get(0).unwrap_or(0.0), seq.load());
    Ok(())
}

fn child(name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let seg = Segment::open(name)?;
    let temps = Array::<f32>::open(&seg, "temps")?;
    let seq = Atomic::<u64>::open(&seg, "seq")?;
    let sum: f32 = temps.to_vec().iter().sum();
    temps.set(0, sum)?;
    seq.fetch_add(1);
    Ok(())
}
