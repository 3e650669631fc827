//! One-way latency: two processes bounce an 8-byte message; each round trip is timed with the
//! cycle clock and halved. Busy-waiting on both sides (except the syscall mechanisms, which
//! block in the kernel as their users would).

use std::os::fd::{FromRawFd, RawFd};

use zipc::{Atomic, Segment};

use crate::machine::Clock;
use crate::peer::{self, BenchSegment};
use crate::report::{percentiles, Measurement};
use crate::Plan;

fn measurement(name: &'static str, mut one_way_ns: Vec<f64>, extra: &str) -> Measurement {
    let n = one_way_ns.len();
    let (median, p99) = percentiles(&mut one_way_ns);
    Measurement {
        name,
        unit: "ns",
        value: median,
        params: vec![("p99_ns", format!("{p99:.1}")), ("round_trips", n.to_string()), ("mechanism", extra.to_owned())],
    }
}

fn spin_until(a: &Atomic<u64>, value: u64) {
    while a.load() != value {
        std::hint::spin_loop();
    }
}

/// Two processes bouncing one cache line: the physical limit of any shared-memory channel.
pub fn raw_atomic(plan: &Plan, clock: &Clock) -> Measurement {
    let seg = BenchSegment::create("raw", 1 << 16);
    let ball = Atomic::<u64>::create(&seg.segment, "ball", 0).unwrap();
    let rounds = plan.latency_rounds;
    let child =
        peer::spawn("raw", plan.pair.map(|p| p.1), &[seg.name.clone(), rounds.to_string(), (rounds / 10).to_string()]);
    let warmup = rounds / 10;
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..(warmup + rounds) as u64 {
        let t0 = clock.now();
        ball.store(2 * i + 1);
        spin_until(&ball, 2 * i + 2);
        if i >= warmup as u64 {
            samples.push(clock.ns(clock.now() - t0) / 2.0);
        }
    }
    peer::join(child);
    measurement("pingpong_raw_atomic_ns", samples, "one AtomicU64 in a segment, store and spin")
}

pub fn raw_atomic_peer(args: &[String]) {
    let seg = Segment::open(&args[0]).unwrap();
    let ball = Atomic::<u64>::open(&seg, "ball").unwrap();
    let total: u64 = args[1].parse::<u64>().unwrap() + args[2].parse::<u64>().unwrap();
    for i in 0..total {
        spin_until(&ball, 2 * i + 1);
        ball.store(2 * i + 2);
    }
}

fn no_cloexec(fd: RawFd) {
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
}

fn cloexec(fd: RawFd) {
    // SAFETY: as above.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
}

fn write8(fd: RawFd, v: u64) {
    let b = v.to_le_bytes();
    // SAFETY: writes 8 bytes from a live buffer; 8-byte writes to a pipe or socket are atomic.
    let n = unsafe { libc::write(fd, b.as_ptr().cast(), 8) };
    assert_eq!(n, 8, "write: {}", std::io::Error::last_os_error());
}

fn read8(fd: RawFd) -> u64 {
    let mut b = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        // SAFETY: reads into the unread tail of a live buffer.
        let n = unsafe { libc::read(fd, b[got..].as_mut_ptr().cast(), 8 - got) };
        assert!(n > 0, "read: {}", std::io::Error::last_os_error());
        got += n as usize;
    }
    u64::from_le_bytes(b)
}

fn fd_pingpong(plan: &Plan, clock: &Clock, role: &str, ours: (RawFd, RawFd), theirs: (RawFd, RawFd)) -> Vec<f64> {
    let rounds = plan.syscall_rounds;
    let warmup = rounds / 10;
    no_cloexec(theirs.0);
    no_cloexec(theirs.1);
    let child = peer::spawn(
        role,
        plan.pair.map(|p| p.1),
        &[theirs.0.to_string(), theirs.1.to_string(), (rounds + warmup).to_string()],
    );
    // SAFETY: the child has its copies; close ours of its ends.
    unsafe {
        libc::close(theirs.0);
        if theirs.1 != theirs.0 {
            libc::close(theirs.1);
        }
    }
    let (rx, tx) = ours;
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..(rounds + warmup) as u64 {
        let t0 = clock.now();
        write8(tx, i);
        let back = read8(rx);
        assert_eq!(back, i + 1);
        if i >= warmup as u64 {
            samples.push(clock.ns(clock.now() - t0) / 2.0);
        }
    }
    peer::join(child);
    // SAFETY: closing our own descriptors once.
    unsafe {
        libc::close(rx);
        if tx != rx {
            libc::close(tx);
        }
    }
    samples
}

/// The peer of the UDS and pipe benchmarks: echo each value plus one.
pub fn fd_peer(args: &[String]) {
    let rx: RawFd = args[0].parse().unwrap();
    let tx: RawFd = args[1].parse().unwrap();
    let total: u64 = args[2].parse().unwrap();
    for _ in 0..total {
        let v = read8(rx);
        write8(tx, v + 1);
    }
    // SAFETY: the descriptors were inherited for this purpose; wrap to close them.
    drop(unsafe { std::fs::File::from_raw_fd(rx) });
}

/// A Unix domain socket pair.
pub fn uds(plan: &Plan, clock: &Clock) -> Measurement {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two descriptors into the array.
    let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    assert_eq!(r, 0, "socketpair: {}", std::io::Error::last_os_error());
    let samples = fd_pingpong(plan, clock, "uds", (fds[0], fds[0]), (fds[1], fds[1]));
    measurement("pingpong_uds_ns", samples, "AF_UNIX SOCK_STREAM socketpair, blocking read/write")
}

/// A pair of pipes.
pub fn pipe(plan: &Plan, clock: &Clock) -> Measurement {
    let (mut to_peer, mut from_peer) = ([0; 2], [0; 2]);
    // SAFETY: pipe2 writes two descriptors into each array.
    unsafe {
        assert_eq!(libc::pipe2(to_peer.as_mut_ptr(), libc::O_CLOEXEC), 0);
        assert_eq!(libc::pipe2(from_peer.as_mut_ptr(), libc::O_CLOEXEC), 0);
    }
    cloexec(to_peer[1]);
    let samples = fd_pingpong(plan, clock, "pipe", (from_peer[0], to_peer[1]), (to_peer[0], from_peer[1]));
    measurement("pingpong_pipe_ns", samples, "two pipes, blocking read/write")
}
