//! The machine: what it is, pinning processes to CPUs, and a cheap cycle clock.

use std::time::{Duration, Instant};

/// CPU model and core count, as /proc/cpuinfo and the affinity mask tell.
pub struct Machine {
    pub cpu_model: String,
    pub online_cpus: usize,
    /// CPUs this process may run on.
    pub allowed: Vec<usize>,
}

impl Machine {
    pub fn probe() -> Machine {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = info
            .lines()
            .find_map(|l| l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned()))
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        // SAFETY: sysconf has no preconditions.
        let online_cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
        Machine { cpu_model, online_cpus, allowed: allowed_cpus() }
    }

    /// The two CPUs to pin the two sides of a benchmark to, if the machine has two.
    pub fn pair(&self) -> Option<(usize, usize)> {
        match self.allowed.as_slice() {
            [a, b, ..] => Some((*a, *b)),
            _ => None,
        }
    }
}

fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set)).collect()
    }
}

/// Pins the calling thread to `cpu`. Returns whether it worked.
pub fn pin(cpu: usize) -> bool {
    pin_to(&[cpu])
}

/// Lets the calling thread (and the threads it starts) run on any of `cpus`.
pub fn pin_to(cpus: &[usize]) -> bool {
    // SAFETY: as above; sched_setaffinity reads the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// A cycle counter calibrated against the monotonic clock: ~7 ns per reading on x86_64 instead
/// of ~20 for `Instant::now`, so per-round-trip samples disturb what they measure less.
pub struct Clock {
    ns_per_tick: f64,
}

impl Clock {
    pub fn calibrate() -> Clock {
        let (t0, c0) = (Instant::now(), ticks());
        while t0.elapsed() < Duration::from_millis(50) {
            std::hint::spin_loop();
        }
        let (dt, dc) = (t0.elapsed(), ticks() - c0);
        Clock { ns_per_tick: dt.as_nanos() as f64 / dc.max(1) as f64 }
    }

    pub fn now(&self) -> u64 {
        ticks()
    }

    pub fn ns(&self, ticks: u64) -> f64 {
        ticks as f64 * self.ns_per_tick
    }
}

#[cfg(target_arch = "x86_64")]
fn ticks() -> u64 {
    // SAFETY: rdtsc has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn ticks() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// CLOCK_MONOTONIC in nanoseconds: comparable between processes (for wake-up latency).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
