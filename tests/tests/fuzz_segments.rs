//! The fuzz entry point (`zipc::fuzzing`, also behind the cargo-fuzz target in `fuzz/`) on
//! 100 000 random and mutated segments from a fixed seed: opening, validating, inspecting and
//! operating on every structure of each must return (values or errors) without a panic, a hang
//! or a fault.
//!
//! Inputs: a tenth random bytes of random length, a tenth random tables behind a valid header,
//! the rest the seed segments (every kind, in several states; `zipc::fuzzing::seeds`) with one
//! to eight mutations each — bit flips, random bytes, boundary values written over aligned
//! words, copied chunks, a changed length — half of them aimed at the metadata at the front.
//!
//! `ZIPC_FUZZ_CASES=N` runs N cases instead (`ZIPC_SOAK=1`: 2 000 000); `ZIPC_FUZZ_CASE=I`
//! runs only case I (to reproduce a failure: the generator is deterministic). A failing input is
//! written to `target/fuzz-failure-CASE.bin`, which `cargo fuzz run segment FILE` replays.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zipc::fuzzing::{seeds, Harness};

const SEED: u64 = 0x5eed_2a9c_0b1d_f00d;
const DEFAULT_CASES: u64 = 100_000;

/// xorshift64*: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Boundary values that random bytes rarely hit.
const INTERESTING: [u64; 14] =
    [0, 1, 2, 3, 7, 8, 64, 127, 128, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 62, u64::MAX];

/// Case `index` of the run: each case has its own generator, so any one can be replayed alone.
fn case(index: u64, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut rng = Rng(SEED ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    match rng.below(10) {
        0 => {
            let len = rng.below(8193) as usize;
            rng.bytes(len)
        }
        1 => {
            // A plausible header over a random table.
            let len = 512 + rng.below(8192) as usize;
            let mut b = rng.bytes(len);
            let max_entries = 1 + rng.below(8) as u32;
            b[0..4].copy_from_slice(&zipc::table::MAGIC.to_le_bytes());
            b[4..8].copy_from_slice(&2u32.to_le_bytes());
            b[8..12].copy_from_slice(&(rng.below(u64::from(max_entries) + 1) as u32).to_le_bytes());
            b[12..16].copy_from_slice(&max_entries.to_le_bytes());
            b[16..24].copy_from_slice(&(len as u64).to_le_bytes());
            b[24..32].copy_from_slice(&rng.below(len as u64 + 1).to_le_bytes());
            b
        }
        _ => {
            let mut b = seeds[rng.below(seeds.len() as u64) as usize].clone();
            for _ in 0..1 + rng.below(8) {
                mutate(&mut b, &mut rng);
            }
            b
        }
    }
}

fn mutate(b: &mut Vec<u8>, rng: &mut Rng) {
    if b.is_empty() {
        b.push(0);
    }
    let len = b.len() as u64;
    // Half the mutations hit the header, table and self-description at the front.
    let at = |rng: &mut Rng| if rng.below(2) == 0 { rng.below(len.min(4096)) } else { rng.below(len) } as usize;
    match rng.below(9) {
        0 => {
            let i = at(rng);
            b[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = at(rng);
            b[i] = rng.next() as u8;
        }
        2 | 3 => {
            let v = INTERESTING[rng.below(INTERESTING.len() as u64) as usize];
            let v = if rng.below(4) == 0 { v.wrapping_neg() } else { v };
            let i = at(rng) & !7;
            let bytes = v.to_le_bytes();
            let n = if rng.below(2) == 0 { 4 } else { 8 };
            let end = (i + n).min(b.len());
            b[i..end].copy_from_slice(&bytes[..end - i]);
        }
        4 => {
            // A small delta on an aligned word: counts, positions and sizes just off.
            let i = at(rng) & !7;
            if i + 8 <= b.len() {
                let w = u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
                let d = rng.below(9) as i64 - 4;
                b[i..i + 8].copy_from_slice(&w.wrapping_add(d as u64).to_le_bytes());
            }
        }
        5 => {
            // This process's pid over a word: a live "holder" of a lock or a role.
            let i = at(rng) & !3;
            let end = (i + 4).min(b.len());
            b[i..end].copy_from_slice(&std::process::id().to_le_bytes()[..end - i]);
        }
        6 => {
            let (from, to) = (at(rng), at(rng));
            let n = (rng.below(64) as usize).min(b.len() - from).min(b.len() - to);
            let chunk = b[from..from + n].to_vec();
            b[to..to + n].copy_from_slice(&chunk);
        }
        7 => {
            let i = at(rng);
            let n = (1 + rng.below(16) as usize).min(b.len() - i);
            b[i..i + n].fill(if rng.below(2) == 0 { 0 } else { 0xff });
        }
        _ => {
            // A different length: truncated below what the header says, or grown.
            let new = if rng.below(2) == 0 { rng.below(len) } else { len + rng.below(8192) };
            b.resize(new as usize, 0);
        }
    }
}

fn cases() -> u64 {
    match std::env::var("ZIPC_FUZZ_CASES") {
        Ok(n) => n.parse().expect("ZIPC_FUZZ_CASES is a number"),
        Err(_) if std::env::var("ZIPC_SOAK").is_ok_and(|v| v != "0") => 2_000_000,
        Err(_) => DEFAULT_CASES,
    }
}

#[test]
fn random_and_mutated_segments_never_panic_hang_or_fault() {
    let seeds = seeds().unwrap();
    let only: Option<u64> = std::env::var("ZIPC_FUZZ_CASE").ok().map(|v| v.parse().expect("ZIPC_FUZZ_CASE"));
    let range = match only {
        Some(i) => i..i + 1,
        None => 0..cases(),
    };
    // A hang is reported with its case number instead of stalling the test run.
    let current = Arc::new(AtomicU64::new(u64::MAX));
    let done = Arc::new(AtomicU64::new(0));
    {
        let (current, done) = (current.clone(), done.clone());
        std::thread::spawn(move || {
            let mut last = (u64::MAX, Instant::now());
            loop {
                std::thread::sleep(Duration::from_secs(1));
                if done.load(Ordering::Relaxed) == 1 {
                    return;
                }
                let now = current.load(Ordering::Relaxed);
                if now != last.0 {
                    last = (now, Instant::now());
                } else if last.1.elapsed() > Duration::from_secs(60) {
                    eprintln!("fuzz case {now} has run for a minute: a hang (rerun it with ZIPC_FUZZ_CASE={now})");
                    std::process::abort();
                }
            }
        });
    }
    let mut harness = Harness::new().unwrap();
    let start = Instant::now();
    let mut opened = 0u64;
    let n = range.end - range.start;
    for i in range {
        let input = case(i, &seeds);
        current.store(i, Ordering::Relaxed);
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| harness.run(&input))) {
            let path = zipc_tests::target_dir().join(format!("fuzz-failure-{i}.bin"));
            std::fs::write(&path, &input).unwrap();
            eprintln!("fuzz case {i} panicked; its input is in {}", path.display());
            std::panic::resume_unwind(panic);
        }
        opened += u64::from(i % 16 == 0 && zipc::Segment::open_unattached(harness.name()).is_ok());
    }
    done.store(1, Ordering::Relaxed);
    let name = harness.name().to_owned();
    drop(harness);
    assert!(!std::path::Path::new(&format!("/dev/shm{name}")).exists(), "the harness object is removed");
    eprintln!(
        "{n} cases in {:.1} s; of every 16th case, {opened} of {} opened as a valid segment",
        start.elapsed().as_secs_f64(),
        n.div_ceil(16)
    );
    if only.is_none() && n >= 10_000 {
        // The mutations must leave enough inputs valid to reach the structures (about a
        // quarter do): sampled on every 16th case.
        assert!(opened * 16 > n / 10, "only {} of {n} sampled cases opened", opened * 16);
    }
}
