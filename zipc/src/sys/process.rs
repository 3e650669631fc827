//! Process identity and liveness, for detecting peers that died holding something.
//!
//! A process is identified by its pid *and* its start time (clock ticks since boot, field 22 of
//! `/proc/PID/stat`), so that a pid reused by a new process is not mistaken for the old one.
//! Zombies (killed but not yet reaped) count as dead. All participants must share one pid
//! namespace, as for any pid-based liveness check.

use std::sync::atomic::{AtomicU64, Ordering};

/// A process: pid and start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProcessId {
    /// The pid.
    pub pid: u32,
    /// Start time in clock ticks since boot.
    pub start_time: u64,
}

/// This process. Cached, and recomputed after `fork` (the cache is keyed by pid).
pub fn current() -> ProcessId {
    static CACHE: AtomicU64 = AtomicU64::new(0); // pid << 40 | start time (40 bits)
    let pid = std::process::id();
    let cached = CACHE.load(Ordering::Relaxed);
    if cached != 0 && (cached >> 40) as u32 == pid {
        return ProcessId { pid, start_time: cached & START_MASK };
    }
    let start_time = match stat(pid) {
        Some(Stat { start_time, .. }) => start_time,
        None => 0,
    };
    CACHE.store(((pid as u64) << 40) | (start_time & START_MASK), Ordering::Relaxed);
    ProcessId { pid, start_time: start_time & START_MASK }
}

/// A thread, as the kernel knows it: its thread id (the id futexes and `/proc/TID` use), its
/// process's pid, and its own start time (so that a reused thread id is recognised).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ThreadIdentity {
    /// The kernel thread id (`gettid()`); equal to `pid` for a process's main thread.
    pub tid: u32,
    /// The process's pid (the thread group id).
    pub pid: u32,
    /// The thread's start time in clock ticks since boot (40 bits; 0 if `/proc` is unreadable).
    pub start_time: u64,
}

// Bumped in the child of every `fork`, so that per-thread caches taken before it are redone
// (the child's only thread has a new thread id but inherits the parent thread's locals).
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn after_fork_in_child() {
    FORKS.fetch_add(1, Ordering::Relaxed); // async-signal-safe: one atomic add
}

/// The calling thread. Cached per thread (no system call after the first), and recomputed after
/// `fork`.
pub fn current_thread() -> ThreadIdentity {
    use std::cell::Cell;
    static AT_FORK: std::sync::Once = std::sync::Once::new();
    thread_local! {
        static CACHE: Cell<Option<(u64, ThreadIdentity)>> = const { Cell::new(None) };
    }
    AT_FORK.call_once(|| {
        // SAFETY: registers a handler that only performs an atomic add; it stays valid for
        // the life of the process (a plain function).
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    });
    let forks = FORKS.load(Ordering::Relaxed);
    CACHE.with(|cache| {
        if let Some((f, id)) = cache.get() {
            if f == forks {
                return id;
            }
        }
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as u32;
        // /proc/TID/stat describes the thread itself (its start time, not its process's).
        let start_time = stat(tid).map_or(0, |s| s.start_time & START_MASK);
        let id = ThreadIdentity { tid, pid: std::process::id(), start_time };
        cache.set(Some((forks, id)));
        id
    })
}

/// Start times are stored in 40 bits (at 100 ticks a second, 348 years of uptime).
pub const START_MASK: u64 = (1 << 40) - 1;

/// The start time of `pid` (masked to 40 bits), or `None` if no such live process exists
/// (gone, or a zombie). Works for thread ids too (`/proc/TID/stat` describes the thread).
pub fn start_time(pid: u32) -> Option<u64> {
    match stat(pid) {
        Some(s) if !s.zombie => Some(s.start_time & START_MASK),
        _ => None,
    }
}

/// Whether `p` is still alive: its pid exists, is not a zombie, and started when `p` did.
pub fn is_alive(p: ProcessId) -> bool {
    start_time(p.pid) == Some(p.start_time & START_MASK)
}

struct Stat {
    start_time: u64,
    zombie: bool,
}

fn stat(pid: u32) -> Option<Stat> {
    if pid == 0 {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses; fields resume after
    // the last ')'. After it, index 0 is field 3 (state) and index 19 is field 22 (starttime).
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = *fields.first()?;
    let start_time = fields.get(19)?.parse().ok()?;
    Some(Stat { start_time, zombie: matches!(state, "Z" | "X" | "x") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive() {
        let me = current();
        assert_eq!(me.pid, std::process::id());
        assert!(me.start_time > 0);
        assert!(is_alive(me));
        assert!(!is_alive(ProcessId { start_time: me.start_time + 1, ..me }), "reused pid detected");
    }

    #[test]
    fn a_reaped_child_is_dead_and_a_zombie_too() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        let p = ProcessId { pid, start_time: start_time(pid).unwrap() };
        assert!(is_alive(p));
        child.kill().unwrap();
        // Until reaped the child is a zombie; wait for the state change, bounded.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while is_alive(p) && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(!is_alive(p), "a killed, unreaped child counts as dead");
        child.wait().unwrap();
        assert!(!is_alive(p));
    }
}
