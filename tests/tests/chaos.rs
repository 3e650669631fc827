//! Chaos: producer and consumer processes killed with SIGKILL mid-stream, restarted, and the
//! books balanced exactly afterwards.
//!
//! Eight scenarios run side by side — an MPMC queue (2 producers, 2 consumers), an SPSC queue, a
//! lossless ring (one producer, one consumer each), a pool shared by three processes, a
//! lossless topic (one publisher, two subscribers), a stack pushed and popped by three
//! processes, a map written by three and an rwlock read and written by three — with
//! 80 + 50 + 50 + 30 + 30 + 30 + 30 + 30 = 330 kills in an ordinary `cargo test`; `ZIPC_CHAOS=N` multiplies every
//! count by N (a soak run). Victims are chosen by a seeded generator. Half of the kills are
//! *aimed*: the victim is stopped (SIGSTOP) and, if the segment shows it in the middle of an
//! operation — a claimed position it has not stamped, a pop it has not released — it is killed
//! right there; otherwise it is resumed and tried again a little later. The other half land
//! wherever the victim happens to be.
//!
//! What is proven, per queue scenario:
//!
//! * **no message is delivered twice**: consumers mark each message in a shared array with a
//!   compare-and-swap of their incarnation number, and a second mark of any message fails;
//! * **none is torn**: every message carries a checksum of all its words;
//! * **every accepted message is delivered or counted**: the positions producers claimed
//!   (`tail`, read at the end) equal the messages delivered plus the queue's `lost` counter;
//! * **every loss is accounted for**: a message missing at the end is one a dead consumer held
//!   (counted in `lost`), or the one message a killed producer was pushing when it died — and
//!   then only if its push had not been accepted (a push the recovery turned into a tombstone is
//!   counted, and must not be delivered);
//! * **survivors finish**: after the last kill, the remaining processes drain the queue and exit
//!   within the hang guard — the queues' consumers when the parent closes the queue, at
//!   `Error::Closed` (so a close after kills delivers everything accepted, then ends the stream).
//!
//! A consumer pops straight into a small file-backed scratch area and marks the messages after
//! the pop returns, so that a kill between the two leaves the popped messages in the file. The
//! parent decides whether such a pending pop was delivered from what the queue recorded about
//! the dead consumer: `Segment::recover_dead` for MPMC (the lane: positions claimed, how many
//! the recovery found lost), `lost_on_takeover` of its successor for the single roles.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use zipc::zerocopy::FromBytes;
use zipc::{Array, Atomic, Mpmc, Policy, Pool, Queue, Ring, RingMode, Segment, Spsc};
use zipc_tests::{child_args, spawn_role, wait_bounded, ShmName};

/// Words per message: producer, sequence, 5 payload words, checksum.
const WORDS: usize = 8;
type Msg = [u64; WORDS];
/// Messages per producer slot (across its incarnations).
const QUOTA: u64 = 1 << 19;
/// Largest pop a consumer makes.
const BATCH: usize = 8;
/// Hang guard for a whole scenario's drain, and for blocking calls in children.
const LIMIT: Duration = Duration::from_secs(120);

fn scale() -> u32 {
    std::env::var("ZIPC_CHAOS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(1)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn msg(producer: u64, seq: u64) -> Msg {
    let mut m = [0; WORDS];
    m[0] = producer + 1; // never all zero: a zeroed scratch slot is not a message
    m[1] = seq;
    for (i, w) in m[2..WORDS - 1].iter_mut().enumerate() {
        *w = mix(producer << 40 ^ seq ^ (i as u64) << 56);
    }
    m[WORDS - 1] = m[..WORDS - 1].iter().fold(0, |a, &w| mix(a ^ w));
    m
}

/// The message's `(producer, seq)` if it is intact; `None` for zeros; panics on a torn one.
fn id_of(m: &Msg) -> Option<(u64, u64)> {
    if m.iter().all(|&w| w == 0) {
        return None;
    }
    assert!(m[0] >= 1 && m[1] < QUOTA && *m == msg(m[0] - 1, m[1]), "torn or foreign message {m:x?}");
    Some((m[0] - 1, m[1]))
}

/// Whether `m` is an intact message (for the parent's scan of a dead consumer's scratch, where
/// the last entry may be half-copied because the kill interrupted the copy).
fn intact(m: &Msg) -> bool {
    m[0] >= 1 && m[1] < QUOTA && *m == msg(m[0] - 1, m[1])
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------------------------------------
// A consumer's scratch file
// ---------------------------------------------------------------------------------------------

/// `u64 confirmed` (pops completed and marked), `u64 pop_no` (`confirmed` at the start of the
/// pop in the scratch, or `u64::MAX` while it is being cleared), then `BATCH` messages.
const SCRATCH_HEADER: usize = 64;
const SCRATCH_LEN: usize = SCRATCH_HEADER + BATCH * std::mem::size_of::<Msg>();

struct Scratch {
    map: memmap2::MmapMut,
}

impl Scratch {
    fn create(path: &Path) -> Scratch {
        let f = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(path).unwrap();
        f.set_len(SCRATCH_LEN as u64).unwrap();
        // SAFETY: a file this process just created; no other process maps it while we live (the
        // parent reads it only after we exited).
        Scratch { map: unsafe { memmap2::MmapMut::map_mut(&f).unwrap() } }
    }
    fn set(&mut self, field: usize, v: u64) {
        self.map[8 * field..8 * field + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn entries(&mut self) -> &mut [Msg] {
        <[Msg]>::mut_from_bytes(&mut self.map[SCRATCH_HEADER..]).unwrap()
    }
}

/// The pending pop in the scratch file of a consumer that is gone: its messages, if a pop had
/// started after the last confirmed one. `None` also if the consumer died before its file was
/// ready (it popped nothing).
fn pending_pop(path: &Path) -> Option<Vec<Msg>> {
    let bytes = std::fs::read(path).ok().filter(|b| b.len() == SCRATCH_LEN)?;
    let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap());
    let (confirmed, pop_no) = (word(0), word(1));
    (pop_no == confirmed).then(|| <[Msg]>::ref_from_bytes(&bytes[SCRATCH_HEADER..]).unwrap().to_vec())
}

/// The consumer loop shared by every queue scenario: clear the scratch, note the pop, pop into
/// the scratch, mark each message (`seen[id]`: 0 → this incarnation), count the pop confirmed.
fn consume(
    seen: &Array<u32>,
    scratch: &mut Scratch,
    incarnation: u32,
    mut pop: impl FnMut(&mut [Msg]) -> usize,
    finished: impl Fn() -> bool,
) {
    let mut confirmed = 0u64;
    let mut rng = Rng(std::process::id() as u64);
    loop {
        scratch.set(1, u64::MAX);
        scratch.entries().fill([0; WORDS]);
        scratch.set(1, confirmed);
        let want = 1 + rng.below(BATCH as u64) as usize;
        let got = pop(&mut scratch.entries()[..want]);
        if got == 0 {
            if finished() {
                return;
            }
            std::thread::yield_now();
            continue;
        }
        for m in &scratch.entries()[..got] {
            let (p, s) = id_of(m).expect("a popped message");
            match seen.compare_exchange((p * QUOTA + s) as usize, 0, incarnation).unwrap() {
                Ok(_) => {}
                Err(by) => panic!("message {p}/{s} delivered twice: to incarnations {by} and {incarnation}"),
            }
        }
        confirmed += 1;
        scratch.set(0, confirmed);
    }
}

/// The producer loop shared by every queue scenario: `next[slot]` is the next sequence number
/// to attempt, advanced *before* the push, so a restarted producer never sends a message twice;
/// the message a killed one was pushing is the one before `next`.
fn produce(next: &Array<u64>, slot: usize, mut push: impl FnMut(Msg)) {
    loop {
        let seq = next.load(slot).unwrap();
        if seq >= QUOTA {
            return;
        }
        next.store(slot, seq + 1).unwrap();
        push(msg(slot as u64, seq));
        if seq % 64 == 63 {
            // A little breathing room, so that the stream outlasts the kills.
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The parent's side
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Producer,
    Consumer,
}

struct Worker {
    role: Role,
    slot: usize,
    incarnation: u32,
    child: Child,
    scratch: PathBuf,
}

/// A scenario's children, kills and what the kills left.
struct Run {
    test: &'static str,
    seg_name: String,
    dir: TempDir,
    workers: Vec<Worker>,
    next_incarnation: u32,
    /// Killed consumers: (scratch file, pid, incarnation, slot).
    dead_consumers: Vec<(PathBuf, u32, u32, usize)>,
    /// Killed producers: (slot, the sequence number they were pushing, pid).
    dead_producers: Vec<(usize, u64, u32)>,
    /// Single roles: elements each killed consumer (by incarnation) had in flight, read from the
    /// segment right after the kill (`reading - head`): what its successor will count as lost.
    in_flight: std::collections::HashMap<u32, u64>,
    /// `recover_dead` reports, by pid.
    reports: std::collections::HashMap<u32, Vec<zipc::recovery::DeadOperation>>,
    kills: u32,
    aimed: u32,
}

impl Drop for Run {
    /// A failed scenario leaves no process behind (stopped or spinning).
    fn drop(&mut self) {
        for w in &mut self.workers {
            if w.child.try_wait().ok().flatten().is_none() {
                signal(w.child.id(), libc::SIGKILL);
                let _ = w.child.wait();
            }
        }
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Run {
    fn new(test: &'static str, seg_name: &str) -> Run {
        let dir = std::env::temp_dir().join(format!("zipc-chaos-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Run {
            test,
            seg_name: seg_name.to_owned(),
            dir: TempDir(dir),
            workers: Vec::new(),
            next_incarnation: 1,
            dead_consumers: Vec::new(),
            dead_producers: Vec::new(),
            reports: Default::default(),
            in_flight: Default::default(),
            kills: 0,
            aimed: 0,
        }
    }

    fn start(&mut self, role: Role, slot: usize) {
        let incarnation = self.next_incarnation;
        self.next_incarnation += 1;
        let scratch = self.dir.0.join(format!("scratch-{incarnation}"));
        let role_name = if role == Role::Producer { "producer" } else { "consumer" };
        let child = spawn_role(
            self.test,
            &[&self.seg_name, role_name, &slot.to_string(), &incarnation.to_string(), scratch.to_str().unwrap()],
        );
        self.workers.push(Worker { role, slot, incarnation, child, scratch });
    }

    /// Kills one worker (aimed at a mid-operation state when `aim` can see one) and restarts
    /// its slot; `next` tells a killed producer's message.
    fn kill_one(
        &mut self,
        seg: &Segment,
        rng: &mut Rng,
        next: &Array<u64>,
        aim: &dyn Fn(u32) -> bool,
        in_flight: &dyn Fn(u32) -> u64,
    ) {
        // Finished producers leave: they are not restarted.
        self.workers.retain_mut(|w| match w.child.try_wait().unwrap() {
            None => true,
            Some(status) => {
                assert!(status.success(), "{:?} {} failed (its output is above)", w.role, w.slot);
                false
            }
        });
        if self.workers.is_empty() {
            return;
        }
        let victim = rng.below(self.workers.len() as u64) as usize;
        let pid = self.workers[victim].child.id();
        let aimed = rng.below(2) == 0 && {
            let mut hit = false;
            for _ in 0..40 {
                std::thread::sleep(Duration::from_micros(rng.below(300)));
                if !stop(pid) {
                    break; // exited meanwhile
                }
                if aim(pid) {
                    hit = true;
                    break;
                }
                signal(pid, libc::SIGCONT);
            }
            hit
        };
        if !aimed {
            std::thread::sleep(Duration::from_micros(rng.below(3000)));
        }
        let mut w = self.workers.swap_remove(victim);
        signal(pid, libc::SIGKILL);
        let status = w.child.wait().unwrap();
        if status.success() {
            return; // a producer finished just before
        }
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{:?} {} failed (its output is above)", w.role, w.slot);
        self.kills += 1;
        self.aimed += u32::from(aimed);
        let report = seg.recover_dead().unwrap();
        for op in report.operations {
            self.reports.entry(op.process.pid).or_default().push(op);
        }
        match w.role {
            Role::Producer => {
                let seq = next.load(w.slot).unwrap();
                if seq > 0 {
                    self.dead_producers.push((w.slot, seq - 1, pid));
                }
            }
            Role::Consumer => {
                self.dead_consumers.push((w.scratch.clone(), pid, w.incarnation, w.slot));
                self.in_flight.insert(w.incarnation, in_flight(pid));
            }
        }
        self.start(w.role, w.slot);
    }

    /// Waits for the producers, then tells the consumers to finish, and waits for them.
    fn finish(&mut self, done: &Atomic<u32>) -> Duration {
        self.finish_by(|| done.store(1))
    }

    /// Waits for the producers, tells the consumers with `end` that nothing more comes, and
    /// waits for them to drain what is left and exit.
    fn finish_by(&mut self, end: impl FnOnce()) -> Duration {
        let t = Instant::now();
        for w in self.workers.iter_mut().filter(|w| w.role == Role::Producer) {
            assert!(wait_bounded(&mut w.child, LIMIT), "producer {} failed", w.slot);
        }
        end();
        for w in self.workers.iter_mut().filter(|w| w.role == Role::Consumer) {
            assert!(wait_bounded(&mut w.child, LIMIT), "consumer {} failed", w.slot);
        }
        t.elapsed()
    }
}

/// SIGSTOPs `pid` and waits until it is stopped. False if it is gone.
fn stop(pid: u32) -> bool {
    signal(pid, libc::SIGSTOP);
    let t = Instant::now();
    loop {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return false,
            Ok(s) => match s[s.rfind(')').unwrap() + 2..].chars().next() {
                Some('T' | 't') => return true,
                Some('Z' | 'X') => return false,
                _ if t.elapsed() > Duration::from_secs(10) => panic!("process {pid} does not stop"),
                _ => std::thread::yield_now(),
            },
        }
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: sends a signal to a child of this process (still unreaped, so the pid is ours).
    unsafe { libc::kill(pid as i32, sig) };
}

/// The u64 at `off` of segment `name`'s file.
fn u64_at(name: &str, off: u64) -> u64 {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(format!("/dev/shm{name}")).expect("open segment file");
    let mut b = [0; 8];
    f.read_exact_at(&mut b, off).expect("read segment file");
    u64::from_le_bytes(b)
}

/// Whether a (stopped) process holds a claimed, unstamped position of the Vyukov queue at
/// `offset` with `cap` slots of `elem` bytes: its lane says what it claimed, the slots say
/// whether it stamped them.
fn vyukov_mid_op(seg: &Segment, offset: u64, cap: u64, elem: u64, pid: u32) -> bool {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let slot_size = (8 + elem).div_ceil(8) * 8;
    let seq = |p: u64| u64_at(seg.name(), offset + zipc::queue::header::SLOTS + (p & (cap - 1)) * slot_size);
    snap.zipc.unwrap().lanes_in_use.iter().filter(|l| l.owner.pid == pid).any(|l| {
        let Some(o) = &l.operation else { return false };
        (0..o.count.min(cap)).any(|k| {
            let p = o.first.wrapping_add(k);
            match o.operation {
                zipc::recovery::Operation::Push => o.claimed && seq(p) == p,
                zipc::recovery::Operation::Pop => o.claimed && !o.tombstone && seq(p) == p.wrapping_add(1),
            }
        })
    })
}

/// The books of a queue scenario, balanced (see the module docs); prints a summary.
fn balance(run: &Run, seen: &Array<u32>, producers: usize, accepted: u64, lost: u64, single: bool, what: &str) {
    // Pending pops of killed consumers: delivered or not, from what the queue recorded.
    if single {
        let skipped: u64 = run.in_flight.values().sum();
        assert_eq!(skipped, lost, "{what}: the successors counted exactly what their predecessors had in flight");
    }
    let mut pending_delivered = 0;
    let mut in_flight_pops = 0;
    for (path, pid, incarnation, _) in &run.dead_consumers {
        let Some(entries) = pending_pop(path) else { continue };
        let complete = entries.iter().take_while(|m| intact(m)).count();
        let delivered = if single {
            match run.in_flight.get(incarnation).copied().unwrap_or(0) {
                0 => complete, // the pop completed: its messages are delivered
                _ => {
                    in_flight_pops += 1;
                    0 // the successor skipped them all: lost
                }
            }
        } else {
            let pops: Vec<_> = run
                .reports
                .get(pid)
                .into_iter()
                .flatten()
                .filter(|o| o.operation == zipc::recovery::Operation::Pop)
                .collect();
            // The lane records the last pop the consumer began. With nothing intact in the
            // scratch, that pop is the previous, confirmed one (or claimed nothing yet).
            match pops.iter().find(|o| o.claimed && !o.tombstone) {
                Some(o) if complete > 0 || o.lost > 0 => {
                    if o.lost > 0 {
                        in_flight_pops += 1;
                    }
                    (o.count - o.lost) as usize
                }
                _ => 0,
            }
        };
        assert!(delivered <= complete, "{what}: {delivered} delivered from a scratch of {complete} intact messages");
        for m in &entries[..delivered] {
            let (p, s) = id_of(m).unwrap();
            match seen.compare_exchange((p * QUOTA + s) as usize, 0, *incarnation).unwrap() {
                Ok(_) => pending_delivered += 1,
                Err(by) if by == *incarnation => {}
                Err(by) => panic!("{what}: message {p}/{s} delivered twice: to incarnations {by} and {incarnation}"),
            }
        }
    }
    // Everything attempted, and what arrived.
    let next = |slot: usize| Array::<u64>::open(seen.segment(), "next").unwrap().load(slot).unwrap();
    let ambiguous: std::collections::HashSet<(u64, u64)> =
        run.dead_producers.iter().map(|&(slot, seq, _)| (slot as u64, seq)).collect();
    let tombstoned: std::collections::HashSet<(u64, u64)> = run
        .dead_producers
        .iter()
        .filter(|(_, _, pid)| {
            run.reports
                .get(pid)
                .into_iter()
                .flatten()
                .any(|o| o.operation == zipc::recovery::Operation::Push && o.lost > 0)
        })
        .map(|&(slot, seq, _)| (slot as u64, seq))
        .collect();
    let (mut delivered, mut missing, mut missing_unexplained) = (0u64, 0u64, 0u64);
    for p in 0..producers {
        for s in 0..next(p) {
            let got = seen.load((p as u64 * QUOTA + s) as usize).unwrap() != 0;
            if got {
                delivered += 1;
                assert!(
                    !tombstoned.contains(&(p as u64, s)),
                    "{what}: message {p}/{s} was tombstoned and still delivered"
                );
            } else {
                missing += 1;
                if !ambiguous.contains(&(p as u64, s)) {
                    missing_unexplained += 1;
                }
            }
        }
    }
    let producer_lost: u64 =
        run.reports.values().flatten().filter(|o| o.operation == zipc::recovery::Operation::Push).map(|o| o.lost).sum();
    println!(
        "{what}: {} kills ({} aimed at an operation in flight), {delivered} messages delivered exactly once \
         ({pending_delivered} from pops their consumer died right after), {lost} lost ({producer_lost} claimed by \
         dead producers, {} by dead consumers; {in_flight_pops} pops cut short), {} pushes cut short before acceptance",
        run.kills,
        run.aimed,
        lost - producer_lost,
        missing - lost.min(missing),
    );
    assert_eq!(accepted, delivered + lost, "{what}: every accepted position is delivered once or counted lost");
    assert!(missing >= lost, "{what}: {lost} counted lost but only {missing} missing");
    assert!(
        missing - lost <= run.dead_producers.len() as u64,
        "{what}: {} missing beyond the losses, more than the {} producers killed mid-push",
        missing - lost,
        run.dead_producers.len()
    );
    assert!(
        missing_unexplained <= lost - producer_lost,
        "{what}: {missing_unexplained} messages missing that no dead consumer held ({} counted)",
        lost - producer_lost
    );
}

/// The bookkeeping every scenario keeps in its segment: the next sequence number per producer
/// slot, the consumer incarnation that received each message, and the `done` flag.
fn books(seg: &Segment, producers: usize) -> (Array<u64>, Array<u32>, Atomic<u32>) {
    (
        Array::<u64>::create(seg, "next", producers as u64).unwrap(),
        Array::<u32>::create(seg, "seen", producers as u64 * QUOTA).unwrap(),
        Atomic::<u32>::create(seg, "done", 0).unwrap(),
    )
}

/// A consumer child's view of the books: `seen` and `done`.
fn consumer_books(seg: &Segment) -> (Array<u32>, Atomic<u32>) {
    (Array::<u32>::open(seg, "seen").unwrap(), Atomic::<u32>::open(seg, "done").unwrap())
}

/// Queue `name`'s live state (for its final `tail`), checking that it is drained.
fn drained_queue(seg: &Segment, name: &str) -> zipc::inspect::QueueState {
    let snap = zipc::inspect::snapshot(seg).unwrap();
    let Some(zipc::inspect::State::Queue(q)) = &snap.entries.iter().find(|e| e.name == name).unwrap().state else {
        panic!("queue state")
    };
    assert_eq!(q.len, 0, "drained: {snap}");
    q.clone()
}

fn child_role(args: &[String]) -> (Segment, &str, usize, u32, &Path) {
    let seg = Segment::open(&args[0]).unwrap();
    (seg, args[1].as_str(), args[2].parse().unwrap(), args[3].parse().unwrap(), Path::new(&args[4]))
}

/// A child process of a queue chaos test: a producer or a consumer of queue "q" under `P`, as
/// its arguments say, keeping the books until it is killed or the run is done.
fn queue_child<P: Policy>(args: &[String]) {
    let (seg, role, slot, incarnation, scratch) = child_role(args);
    let q = Queue::<Msg, P>::open(&seg, "q").unwrap();
    if role == "producer" {
        let mut tx = q.producer().unwrap();
        produce(&Array::open(&seg, "next").unwrap(), slot, |m| tx.push(m, Some(LIMIT)).unwrap());
    } else {
        // The parent closes the queue once the producers are done: the consumers drain it and
        // stop at `Closed` (after kills: past tombstones and dead consumers' claims).
        let (seen, _) = consumer_books(&seg);
        let mut scratch = Scratch::create(scratch);
        let mut rx = q.consumer().unwrap();
        let closed = std::cell::Cell::new(false);
        let pop = |dst: &mut [Msg]| match rx.pop_bulk(dst) {
            Ok(n) => n,
            Err(zipc::Error::Closed { .. }) => {
                closed.set(true);
                0
            }
            Err(e) => panic!("pop: {e}"),
        };
        consume(&seen, &mut scratch, incarnation, pop, || closed.get());
    }
}

// ---------------------------------------------------------------------------------------------
// MPMC queue: 2 producers, 2 consumers
// ---------------------------------------------------------------------------------------------

const MPMC_CAP: u64 = 16;

#[test]
fn chaos_mpmc_queue() {
    const TEST: &str = "chaos_mpmc_queue";
    if let Some(args) = child_args(TEST) {
        return queue_child::<Mpmc>(&args);
    }
    let name = ShmName::new("chaos-mpmc");
    let producers = 2;
    let seg = Segment::options().size(16 << 20).create(&name).unwrap();
    let start = u64::MAX - 100_000; // the run crosses the 2^64 wrap
    let q = Queue::<Msg, Mpmc>::create_starting_at(&seg, "q", MPMC_CAP, start).unwrap();
    let (next, seen, _) = books(&seg, producers);
    let mut run = Run::new(TEST, &name);
    for slot in 0..producers {
        run.start(Role::Producer, slot);
        run.start(Role::Consumer, slot);
    }
    let mut rng = Rng(0x0123_4567);
    let elem = std::mem::size_of::<Msg>() as u64;
    let aim = |pid| vyukov_mid_op(&seg, q.offset(), MPMC_CAP, elem, pid);
    for _ in 0..80 * scale() {
        run.kill_one(&seg, &mut rng, &next, &aim, &|_| 0);
    }
    let drain = run.finish_by(|| q.close().unwrap());
    println!("mpmc: drained {drain:?} after the last kill and the close");
    assert_eq!(q.recover(), 0, "nothing left to settle");
    let tail = drained_queue(&seg, "q").tail;
    balance(&run, &seen, producers, tail.wrapping_sub(start), q.lost(), false, "mpmc");
}

// ---------------------------------------------------------------------------------------------
// SPSC queue and lossless ring: single roles, taken over from killed holders
// ---------------------------------------------------------------------------------------------

#[test]
fn chaos_spsc_queue() {
    const TEST: &str = "chaos_spsc_queue";
    if let Some(args) = child_args(TEST) {
        return queue_child::<Spsc>(&args);
    }
    let name = ShmName::new("chaos-spsc");
    let seg = Segment::options().size(8 << 20).create(&name).unwrap();
    let start = u64::MAX - 100_000;
    let q = Queue::<Msg, Spsc>::create_starting_at(&seg, "q", 16, start).unwrap();
    let (next, seen, _) = books(&seg, 1);
    let mut run = Run::new(TEST, &name);
    run.start(Role::Producer, 0);
    run.start(Role::Consumer, 0);
    let mut rng = Rng(0x89ab_cdef);
    let head_at = q.offset() + zipc::queue::header::HEAD;
    let reading_at = q.offset() + zipc::queue::header::READING;
    let consumer_at = q.offset() + zipc::queue::header::CONSUMER_OWNER;
    // The pop in flight of the consumer `pid`, if it holds the role: `reading` past `head` (by
    // at most the capacity). A consumer killed before taking the role over had nothing in flight.
    let in_flight = |pid: u32| {
        let d = u64_at(&name, reading_at).wrapping_sub(u64_at(&name, head_at));
        if u64_at(&name, consumer_at) >> 40 == u64::from(pid) && d <= 16 {
            d
        } else {
            0
        }
    };
    let aim = |pid: u32| in_flight(pid) > 0;
    for _ in 0..50 * scale() {
        run.kill_one(&seg, &mut rng, &next, &aim, &in_flight);
    }
    // The producers are gone (a killed one's role is taken over by the close).
    let drain = run.finish_by(|| q.close().unwrap());
    println!("spsc: drained {drain:?} after the last kill and the close");
    let tail = drained_queue(&seg, "q").tail;
    balance(&run, &seen, 1, tail.wrapping_sub(start), q.lost(), true, "spsc");
}

#[test]
fn chaos_ring() {
    const TEST: &str = "chaos_ring";
    if let Some(args) = child_args(TEST) {
        let (seg, role, slot, incarnation, scratch) = child_role(&args);
        let r = Ring::<Msg>::open(&seg, "r").unwrap();
        if role == "producer" {
            let mut tx = r.producer().unwrap();
            produce(&Array::open(&seg, "next").unwrap(), slot, |m| tx.push(m, Some(LIMIT)).unwrap());
        } else {
            let (seen, done) = consumer_books(&seg);
            let mut scratch = Scratch::create(scratch);
            let mut rx = r.consumer().unwrap();
            consume(&seen, &mut scratch, incarnation, |dst| rx.try_pop_bulk(dst), || done.load() == 1 && r.is_empty());
        }
        return;
    }
    let name = ShmName::new("chaos-ring");
    let seg = Segment::options().size(8 << 20).create(&name).unwrap();
    let r = Ring::<Msg>::create(&seg, "r", 16, RingMode::Lossless).unwrap();
    let (next, seen, done) = books(&seg, 1);
    let mut run = Run::new(TEST, &name);
    run.start(Role::Producer, 0);
    run.start(Role::Consumer, 0);
    let mut rng = Rng(0x0fed_cba9);
    let read_at = r.offset() + zipc::ring::field::READ_POS;
    let reading_at = r.offset() + zipc::ring::field::READING;
    let consumer_at = r.offset() + zipc::ring::field::CONSUMER;
    let in_flight = |pid: u32| {
        let holder = u64_at(&name, consumer_at) >> 40 == u64::from(pid);
        if holder {
            u64_at(&name, reading_at).saturating_sub(u64_at(&name, read_at))
        } else {
            0
        }
    };
    let aim = |pid: u32| in_flight(pid) > 0;
    for _ in 0..50 * scale() {
        run.kill_one(&seg, &mut rng, &next, &aim, &in_flight);
    }
    let drain = run.finish(&done);
    println!("ring: drained {drain:?} after the last kill");
    assert!(r.is_empty());
    assert_eq!(r.total_missed(), 0, "lossless");
    balance(&run, &seen, 1, r.total_written(), r.total_lost(), true, "ring");
}

// ---------------------------------------------------------------------------------------------
// Pool: objects of killed processes reclaimed, none handed out twice
// ---------------------------------------------------------------------------------------------

#[test]
fn chaos_pool() {
    const TEST: &str = "chaos_pool";
    const CAPACITY: u64 = 16;
    if let Some(args) = child_args(TEST) {
        let (seg, _, _, incarnation, _) = child_role(&args);
        let pool = Pool::<[u64; 4]>::open(&seg, "p").unwrap();
        let done = Atomic::<u32>::open(&seg, "done").unwrap();
        let mut held = std::collections::VecDeque::new();
        let mut n = 0u64;
        while done.load() == 0 {
            if held.len() < 3 {
                if let Some(h) = pool.try_acquire().unwrap() {
                    n += 1;
                    pool.write(h, [incarnation as u64, n, !n, 0]).unwrap();
                    held.push_back((h, n));
                    continue;
                }
            }
            if let Some((h, k)) = held.pop_front() {
                assert_eq!(pool.read(h).unwrap(), [incarnation as u64, k, !k, 0], "an object held by two processes");
                pool.release(h).unwrap();
            } else {
                std::thread::yield_now();
            }
        }
        for (h, k) in held {
            assert_eq!(pool.read(h).unwrap(), [incarnation as u64, k, !k, 0], "an object held by two processes");
            pool.release(h).unwrap();
        }
        return;
    }
    let name = ShmName::new("chaos-pool");
    let seg = Segment::options().size(1 << 20).create(&name).unwrap();
    let pool = Pool::<[u64; 4]>::create(&seg, "p", CAPACITY).unwrap();
    let done = Atomic::<u32>::create(&seg, "done", 0).unwrap();
    let unused = Array::<u64>::create(&seg, "next", 1).unwrap();
    let mut run = Run::new(TEST, &name);
    for slot in 0..3 {
        run.start(Role::Consumer, slot);
    }
    let mut rng = Rng(0x5555);
    let mut reclaimed = 0;
    for _ in 0..30 * scale() {
        run.kill_one(&seg, &mut rng, &unused, &|_| false, &|_| 0);
        reclaimed += pool.reclaim_dead();
    }
    run.finish(&done);
    assert_eq!(pool.reclaim_dead(), 0, "every dead owner's objects were reclaimed at once");
    let mut free = 0;
    while pool.try_acquire().unwrap().is_some() {
        free += 1;
    }
    let leaked = CAPACITY - free;
    println!(
        "pool: {} kills, {reclaimed} objects of killed processes reclaimed, {leaked} lost inside acquire",
        run.kills
    );
    assert!(leaked <= u64::from(run.kills), "at most one object per kill can be lost inside acquire");
}

// ---------------------------------------------------------------------------------------------
// Topic: a publisher and two subscribers killed and restarted; every subscriber incarnation
// receives an unbroken, intact run; the publisher is never stalled by a dead subscriber
// ---------------------------------------------------------------------------------------------

#[test]
fn chaos_topic() {
    const TEST: &str = "chaos_topic";
    const TOTAL: u64 = 200_000;
    if let Some(args) = child_args(TEST) {
        let (seg, role, _, _, _) = child_role(&args);
        let t = zipc::Topic::<Msg, zipc::Lossless>::open(&seg, "t").unwrap();
        if role == "producer" {
            // A successor continues where the topic is: a position is published once, with the
            // message made from it, whoever publishes it (a loan killed unsent is rewritten).
            let mut tx = t.publisher().unwrap();
            while tx.published() < TOTAL {
                let mut loan = tx.loan(Some(LIMIT)).unwrap();
                let p = loan.position();
                *loan = msg(0, p);
                loan.send();
            }
        } else {
            let done = Atomic::<u32>::open(&seg, "done").unwrap();
            let mut rx = t.subscriber().unwrap();
            let mut expect = rx.position();
            while !(done.load() == 1 && rx.position() >= TOTAL) {
                match rx.receive(Some(Duration::from_millis(5))) {
                    Ok(s) => {
                        assert_eq!(s.position(), expect, "an unbroken run of positions");
                        assert!(intact(&s) && id_of(&s) == Some((0, expect)), "sample {expect} intact");
                        expect += 1;
                    }
                    Err(zipc::Error::Timeout) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!((rx.missed(), rx.position()), (0, TOTAL), "lossless: nothing skipped");
        }
        return;
    }
    let name = ShmName::new("chaos-topic");
    let seg = Segment::options().size(4 << 20).create(&name).unwrap();
    let t = zipc::Topic::<Msg, zipc::Lossless>::create(&seg, "t", 16, 3, 4).unwrap();
    let (next, _seen, done) = books(&seg, 1);
    let mut run = Run::new(TEST, &name);
    run.start(Role::Producer, 0);
    run.start(Role::Consumer, 0);
    run.start(Role::Consumer, 1);
    let mut rng = Rng(0x7091_c5ee);
    for _ in 0..30 * scale() {
        run.kill_one(&seg, &mut rng, &next, &|_| false, &|_| 0);
    }
    let drain = run.finish(&done);
    println!("topic: drained {drain:?} after the last kill; {} kills", run.kills);
    assert_eq!(t.published(), TOTAL);
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let Some(zipc::inspect::State::Topic(ts)) = &snap.entries.iter().find(|e| e.name == "t").unwrap().state else {
        panic!("topic state")
    };
    // Every killed subscriber's record was freed — by the publisher it blocked or by a joiner
    // that needed it — or is still held by its dead owner; never both, never lost track of.
    // (A subscriber killed before it joined held no record: hence at most.)
    let dead_subscribers = run.dead_consumers.len() as u64;
    let still_dead = ts.subscribers.iter().filter(|s| s.holder.is_some_and(|h| !h.alive)).count() as u64;
    assert!(ts.released + still_dead <= dead_subscribers, "{dead_subscribers} subscribers killed: {snap}");
    assert!(ts.publisher_takeovers <= u64::from(run.kills) - dead_subscribers, "{snap}");
    println!(
        "topic: {dead_subscribers} subscribers and {} publishers killed; {} records released, {still_dead} still dead, {} publisher takeovers",
        u64::from(run.kills) - dead_subscribers,
        ts.released,
        ts.publisher_takeovers
    );
    assert!(ts.subscribers.iter().all(|s| s.holder.is_none_or(|h| !h.alive)), "the survivors left: {snap}");
}

// ---------------------------------------------------------------------------------------------
// Stack: pushers and poppers killed; no value popped twice or torn; every missing value and every
// lost node is one a kill accounts for
// ---------------------------------------------------------------------------------------------

#[test]
fn chaos_stack() {
    const TEST: &str = "chaos_stack";
    const CAPACITY: u64 = 16;
    const IDS: u64 = 1 << 20;
    let value = |id: u64| [id, !id, id.wrapping_mul(0x9e37_79b9_7f4a_7c15), 0];
    // Marks a popped value in `seen`, refusing a second pop of it and a torn one.
    let mark = |seen: &Array<u32>, v: [u64; 4], by: u32| {
        let id = v[0];
        assert!(id < IDS && v == value(id), "a torn value: {v:x?}");
        assert_eq!(seen.compare_exchange(id as usize, 0, by).unwrap(), Ok(0), "value {id} popped twice");
    };
    if let Some(args) = child_args(TEST) {
        let (seg, _, _, incarnation, _) = child_role(&args);
        let s = zipc::Stack::<[u64; 4]>::open(&seg, "s").unwrap();
        let ids = Atomic::<u64>::open(&seg, "ids").unwrap();
        let seen = Array::<u32>::open(&seg, "seen").unwrap();
        let done = Atomic::<u32>::open(&seg, "done").unwrap();
        let mut rng = Rng(u64::from(incarnation));
        while done.load() == 0 {
            // Push one value (a fresh id), or pop one, at random; a full stack makes it a pop.
            if rng.below(2) == 0 && ids.load() < IDS {
                let id = ids.fetch_add(1);
                if id < IDS && s.push(value(id), Some(Duration::from_millis(1))).is_ok() {
                    continue;
                }
                if id < IDS {
                    // Full for a millisecond: the id is marked as never pushed.
                    seen.store(id as usize, u32::MAX).unwrap();
                }
            }
            if let Some(v) = s.try_pop().unwrap() {
                mark(&seen, v, incarnation + 1);
            }
        }
        return;
    }
    let name = ShmName::new("chaos-stack");
    let seg = Segment::options().size(8 << 20).create(&name).unwrap();
    let s = zipc::Stack::<[u64; 4]>::create(&seg, "s", CAPACITY).unwrap();
    let ids = Atomic::<u64>::create(&seg, "ids", 0).unwrap();
    let seen = Array::<u32>::create(&seg, "seen", IDS).unwrap();
    let done = Atomic::<u32>::create(&seg, "done", 0).unwrap();
    let unused = Array::<u64>::create(&seg, "next", 1).unwrap();
    let nodes = seg.entry("s").unwrap().unwrap().offset + zipc::stack::field::NODES;
    // Aimed kills land while the victim fills a node (its owner word names it).
    let filling = |pid: u32| {
        (0..CAPACITY).any(|i| {
            let word = zipc_tests::peek(&name, nodes + i * zipc::stack::NODE_SIZE + 8, 8);
            (u64::from_le_bytes(word.try_into().unwrap()) >> 40) as u32 == pid
        })
    };
    let mut run = Run::new(TEST, &name);
    for slot in 0..3 {
        run.start(Role::Consumer, slot);
    }
    let mut rng = Rng(0x5a5a);
    let mut reclaimed = 0;
    for _ in 0..30 * scale() {
        run.kill_one(&seg, &mut rng, &unused, &filling, &|_| 0);
        reclaimed += s.reclaim_dead();
    }
    run.finish(&done);
    assert_eq!(s.reclaim_dead(), 0, "every dead pusher's node was reclaimed at once");
    while let Some(v) = s.try_pop().unwrap() {
        mark(&seen, v, u32::MAX - 1);
    }
    let issued = ids.load().min(IDS) as usize;
    let marks = seen.to_vec();
    let missing = marks[..issued].iter().filter(|&&m| m == 0).count() as u64;
    let popped = marks[..issued].iter().filter(|&&m| m != 0 && m != u32::MAX).count();
    let mut free = 0;
    while s.try_push(value(0)).unwrap() {
        free += 1;
    }
    let leaked = CAPACITY - free;
    println!(
        "stack: {} kills ({} aimed), {popped} values popped exactly once, {missing} lost with a killed process, \
         {reclaimed} nodes reclaimed from killed pushers, {leaked} leaked",
        run.kills, run.aimed
    );
    assert!(missing <= u64::from(run.kills), "at most one value per kill is lost: {missing}");
    assert!(leaked <= u64::from(run.kills), "at most one node per kill is leaked: {leaked}");
    assert_eq!(s.reclaimed(), reclaimed);
}

// ---------------------------------------------------------------------------------------------
// Map: inserters, updaters and removers killed; no value ever read torn, every lock a dead
// process held taken over, and what a kill can cost bounded by the kills
// ---------------------------------------------------------------------------------------------

#[test]
fn chaos_map() {
    const TEST: &str = "chaos_map";
    const CAPACITY: u64 = 64;
    const KEYS: u64 = 48;
    let value = |k: u64, version: u64| [k, version, k ^ version.rotate_left(29), !(k.wrapping_mul(version | 1))];
    let whole = move |k: u64, v: [u64; 4]| assert_eq!(v, value(k, v[1]), "a torn or foreign value for key {k}: {v:x?}");
    if let Some(args) = child_args(TEST) {
        let (seg, _, _, incarnation, _) = child_role(&args);
        let m = zipc::Map::<u64, [u64; 4]>::open(&seg, "m").unwrap();
        let done = Atomic::<u32>::open(&seg, "done").unwrap();
        let mut rng = Rng(u64::from(incarnation) * 7919);
        let mut n = 0u64;
        while done.load() == 0 {
            n += 1;
            let k = rng.below(KEYS);
            let version = (u64::from(incarnation) << 32) | n;
            match rng.below(4) {
                0 => {
                    if let Some(old) = m.remove(&k) {
                        whole(k, old);
                    }
                }
                1 => {
                    if let Some(v) = m.get(&k) {
                        whole(k, v);
                    }
                }
                2 => {
                    if let Some(v) = m.update(&k, |old| {
                        whole(k, old);
                        value(k, version)
                    }) {
                        assert_eq!(v, value(k, version));
                    }
                }
                _ => {
                    if let Some(old) = m.insert(k, value(k, version)).unwrap() {
                        whole(k, old);
                    }
                }
            }
        }
        return;
    }
    let name = ShmName::new("chaos-map");
    let seg = Segment::options().size(1 << 20).create(&name).unwrap();
    let m = zipc::Map::<u64, [u64; 4]>::create(&seg, "m", CAPACITY).unwrap();
    let done = Atomic::<u32>::create(&seg, "done", 0).unwrap();
    let unused = Array::<u64>::create(&seg, "next", 1).unwrap();
    let stride = zipc::map::stride_for(40).unwrap();
    let lock_stride = zipc::map::lock_stride_for(40, true).unwrap();
    let locks = seg.entry("m").unwrap().unwrap().offset + zipc::map::locks_offset(m.slots(), stride).unwrap();
    // Aimed kills land while the victim holds a slot's lock (its owner word names it).
    let holding = |pid: u32| {
        (0..m.slots()).any(|i| {
            let word = zipc_tests::peek(&name, locks + i * lock_stride + zipc::map::lock::OWNER, 8);
            (u64::from_le_bytes(word.try_into().unwrap()) >> 40) as u32 == pid
        })
    };
    let mut run = Run::new(TEST, &name);
    for slot in 0..3 {
        run.start(Role::Consumer, slot);
    }
    let mut rng = Rng(0x3c3c);
    let mut taken_over = 0;
    for _ in 0..30 * scale() {
        run.kill_one(&seg, &mut rng, &unused, &holding, &|_| 0);
        // Survivors take a dead holder's lock over by themselves; this finds any they have not
        // needed yet.
        taken_over += m.reclaim_dead();
    }
    run.finish(&done);
    taken_over += m.reclaim_dead();
    for (k, v) in m.entries() {
        assert!(k < KEYS);
        whole(k, v);
    }
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let Some(zipc::inspect::State::Map(st)) = &snap.entries[0].state else { panic!("map state") };
    let members = st.members.unwrap();
    let kills = u64::from(run.kills);
    assert_eq!(st.locked, 0, "every lock free at the end: {st:?}");
    assert!(st.in_flight <= kills, "at most one slot per kill is lost to an unfinished claim: {st:?}");
    assert!(st.len.abs_diff(members) <= kills, "the count is off by at most one per kill: {st:?}");
    // Every key still works: present ones are replaced, absent ones inserted.
    for k in 0..KEYS {
        if let Some(old) = m.insert(k, value(k, 1)).unwrap() {
            whole(k, old);
        }
        assert_eq!(m.get(&k), Some(value(k, 1)));
    }
    println!(
        "map: {} kills ({} aimed), {members} entries at the end, {taken_over} locks of killed processes found by \
         reclaim_dead, {} slots repaired in all, {} left claimed by a kill",
        run.kills,
        run.aimed,
        m.reclaimed(),
        st.in_flight
    );
}

// ---------------------------------------------------------------------------------------------
// RwLock: readers and writers killed, many inside the lock; a dead writer is always reported to
// whoever comes next (until repaired), readers never see a write half-done otherwise, and the
// lock is free at the end
// ---------------------------------------------------------------------------------------------

#[test]
fn chaos_rwlock() {
    const TEST: &str = "chaos_rwlock";
    const READERS: u32 = 8;
    if let Some(args) = child_args(TEST) {
        let (seg, _, _, incarnation, _) = child_role(&args);
        let lock = zipc::RwLock::open(&seg, "lock").unwrap();
        let cells = Array::<u64>::open(&seg, "cells").unwrap();
        let done = Atomic::<u32>::open(&seg, "done").unwrap();
        let mut rng = Rng(u64::from(incarnation) * 104_729);
        while done.load() == 0 {
            if rng.below(4) == 0 {
                let mut w = lock.write().unwrap();
                let (a, b) = (cells.get(0).unwrap(), cells.get(1).unwrap());
                if w.writer_died() {
                    // A writer was killed between its two stores: repair, then say so.
                    cells.set(1, a).unwrap();
                    w.mark_consistent();
                } else {
                    assert_eq!(a, b, "a consistent lock with a write half-done");
                }
                cells.set(0, a + 1).unwrap();
                std::hint::spin_loop();
                cells.set(1, a + 1).unwrap();
            } else {
                let r = lock.read().unwrap();
                let (a, b) = (cells.get(0).unwrap(), cells.get(1).unwrap());
                assert!(r.writer_died() || a == b, "a reader saw a write half-done: {a} {b}");
            }
        }
        return;
    }
    let name = ShmName::new("chaos-rwlock");
    let seg = Segment::options().size(1 << 20).create(&name).unwrap();
    let lock = zipc::RwLock::create(&seg, "lock", READERS).unwrap();
    let cells = Array::<u64>::create(&seg, "cells", 2).unwrap();
    let done = Atomic::<u32>::create(&seg, "done", 0).unwrap();
    let unused = Array::<u64>::create(&seg, "next", 1).unwrap();
    let base = seg.entry("lock").unwrap().unwrap().offset;
    let word = |off: u64| u64::from_le_bytes(zipc_tests::peek(&name, base + off, 8).try_into().unwrap());
    // Aimed kills land while the victim holds the writer word or a reader slot.
    let holding = |pid: u32| {
        (word(zipc::rwlock::WRITER_OFFSET) >> 40) as u32 == pid
            || (0..u64::from(READERS))
                .any(|i| (word(zipc::rwlock::SLOTS_OFFSET + i * zipc::rwlock::SLOT_STRIDE) >> 40) as u32 == pid)
    };
    let mut run = Run::new(TEST, &name);
    for slot in 0..3 {
        run.start(Role::Consumer, slot);
    }
    let mut rng = Rng(0x7a7a);
    for _ in 0..30 * scale() {
        run.kill_one(&seg, &mut rng, &unused, &holding, &|_| 0);
    }
    run.finish(&done);
    // The parent writes last: it frees the slots of readers killed inside and repairs a write a
    // kill left half-done.
    {
        let mut w = lock.write_timeout(LIMIT).unwrap();
        let a = cells.get(0).unwrap();
        if w.writer_died() {
            cells.set(1, a).unwrap();
            w.mark_consistent();
        }
        assert_eq!(cells.get(1).unwrap(), a, "consistent, or reported as not");
    }
    assert!(!lock.is_write_locked() && lock.readers() == 0 && !lock.writer_died(), "free at the end: {lock:?}");
    let (writer_deaths, reader_deaths) = (lock.writer_deaths(), lock.reader_deaths());
    assert!(writer_deaths + reader_deaths <= run.kills, "at most one death recorded per kill");
    println!(
        "rwlock: {} kills ({} aimed), {writer_deaths} writers and {reader_deaths} readers killed inside, {} writes",
        run.kills,
        run.aimed,
        cells.get(0).unwrap()
    );
}
