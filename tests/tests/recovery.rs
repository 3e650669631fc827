//! Recovery from processes killed in the middle of an operation, one path at a time.
//!
//! SIGKILL lands at a random instruction, so each test here builds the exact state a kill at the
//! worst instruction leaves behind — a lane naming a dead process that claimed a position and
//! never stamped it, a `reading` word past `head`, a table lock word naming a dead pid — and
//! checks that survivors detect it, resolve it once, count what was lost, and go on. Where a
//! real kill gives a deterministic state (pool objects held by a killed process), the test kills
//! a real child. `chaos.rs` kills processes at random instead.

use std::time::Duration;

use zipc::lane::{self, op};
use zipc::recovery::Operation;
use zipc::table::{self, entry};
use zipc::{description, queue, ring};
use zipc::{Atomic, Error, Mpmc, Mpsc, Pool, Queue, Ring, RingMode, Segment, Spsc};
use zipc_tests::{child_args, peek, poke, spawn_role, ShmName};

const MAX_ENTRIES: u32 = 8;
const MAX_PROCESSES: u32 = 4;

fn segment(name: &ShmName) -> Segment {
    Segment::options().size(1 << 18).max_entries(MAX_ENTRIES).max_processes(MAX_PROCESSES).create(name).unwrap()
}

fn u64_at(name: &ShmName, off: u64) -> u64 {
    u64::from_le_bytes(peek(name, off, 8).try_into().unwrap())
}

fn put_u64(name: &ShmName, off: u64, v: u64) {
    poke(name, off, &v.to_le_bytes());
}

/// A process tag (`pid << 40 | start time`) naming a process that has exited.
fn dead_tag() -> u64 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    // Start time 1: even if the pid were reused meanwhile, it names no live process.
    (u64::from(pid) << 40) | 1
}

/// Segment offset of lane `i`.
fn lane_at(name: &ShmName, i: u32) -> u64 {
    let desc = u64_at(name, table::entry_offset(0) + entry::OFFSET);
    desc + description::lanes_offset(MAX_ENTRIES, MAX_PROCESSES) + lane::LANE_SIZE * i as u64
}

/// Writes into a free lane the record a thread of process `owner` leaves when it has claimed
/// `count` positions from `first` of the queue at `queue_offset` with `kind` (and, if `owner` is
/// dead, was killed right after).
fn claimed_lane(name: &ShmName, owner: u64, queue_offset: u64, kind: u64, first: u64, count: u64) -> u32 {
    let i = (0..lane::lanes_for(MAX_PROCESSES))
        .find(|&i| u64_at(name, lane_at(name, i) + lane::field::OWNER) == 0)
        .expect("a free lane");
    let at = lane_at(name, i);
    put_u64(name, at + lane::field::POS, first);
    put_u64(name, at + lane::field::COUNT, count);
    put_u64(name, at + lane::field::OP, queue_offset | kind | op::CLAIMED);
    put_u64(name, at + lane::field::OWNER, owner);
    i
}

/// Pops until `want` values came out, at most `tries` attempts (a bound on work, not on time:
/// survivors look for dead peers every 256th failed attempt).
fn pop_n(q: &Queue<u64, Mpmc>, want: usize, tries: usize) -> Vec<u64> {
    let mut got = Vec::new();
    for _ in 0..tries {
        if let Some(v) = q.try_pop().unwrap() {
            got.push(v);
            if got.len() == want {
                break;
            }
        }
    }
    got
}

#[test]
fn a_dead_producers_claim_becomes_a_counted_tombstone() {
    let name = ShmName::new("rec-push");
    let seg = segment(&name);
    let q = Queue::<u64, Mpmc>::create(&seg, "q", 8).unwrap();
    q.push(1, None).unwrap();
    q.push(2, None).unwrap();
    // A producer claimed position 2 (tail 2 -> 3) and was killed before writing it.
    let tail_at = q.offset() + queue::header::TAIL;
    assert_eq!(u64_at(&name, tail_at), 2);
    let dead = dead_tag();
    claimed_lane(&name, dead, q.offset(), op::PUSH, 2, 1);
    put_u64(&name, tail_at, 3);
    q.push(3, None).unwrap(); // a live producer goes on at position 3

    assert_eq!(pop_n(&q, 3, 2000), [1, 2, 3], "the consumers pass the dead position");
    assert_eq!(q.lost(), 1);
    assert!(q.is_empty());
    assert_eq!(q.try_pop().unwrap(), None);

    // The lane is settled; recover_dead reports it once and frees it.
    let snap = zipc::inspect::snapshot(&seg).unwrap();
    let lanes = &snap.zipc.as_ref().unwrap().lanes_in_use;
    let l = lanes.iter().find(|l| !l.owner.alive).expect("the dead lane is listed");
    let o = l.operation.as_ref().unwrap();
    assert!(o.settled && o.claimed && l.lost == 1 && o.structure.as_deref() == Some("q"), "{l:?}");
    assert!(snap.to_string().contains("settled, 1 lost"), "{snap}");
    let report = seg.recover_dead().unwrap();
    assert_eq!(report.operations.len(), 1, "{report:?}");
    let d = &report.operations[0];
    assert_eq!(
        (d.operation, d.first, d.count, d.claimed, d.tombstone, d.lost),
        (Operation::Push, 2, 1, true, false, 1)
    );
    assert_eq!(d.structure.as_deref(), Some("q"));
    assert_eq!(u64::from(d.process.pid), dead >> 40);
    assert!(seg.recover_dead().unwrap().operations.is_empty(), "reported once, lane freed");
}

#[test]
fn a_blocked_consumer_settles_a_dead_producers_claim() {
    let name = ShmName::new("rec-block");
    let seg = segment(&name);
    let q = Queue::<u64, Mpsc>::create(&seg, "q", 8).unwrap();
    let mut rx = q.consumer().unwrap();
    // A producer claimed position 0 and died; a live one pushed 7 behind it.
    claimed_lane(&name, dead_tag(), q.offset(), op::PUSH, 0, 1);
    put_u64(&name, q.offset() + queue::header::TAIL, 1);
    q.push(7, None).unwrap();
    // Nothing wakes a sleeper for a dead producer: it looks every RECOVERY_INTERVAL.
    assert_eq!(rx.pop(Some(Duration::from_secs(30))).unwrap(), 7);
    assert_eq!(q.lost(), 1);
}

#[test]
fn a_dead_consumers_claim_is_freed_for_the_producers() {
    let name = ShmName::new("rec-pop");
    let seg = segment(&name);
    let q = Queue::<u64, Mpmc>::create(&seg, "q", 2).unwrap();
    q.push(1, None).unwrap();
    q.push(2, None).unwrap();
    // A consumer claimed position 0 (head 0 -> 1) and was killed before releasing the slot.
    claimed_lane(&name, dead_tag(), q.offset(), op::POP, 0, 1);
    put_u64(&name, q.offset() + queue::header::HEAD, 1);
    // The queue is full of a dead consumer's slot: a blocked producer settles it and pushes.
    q.push(3, Some(Duration::from_secs(30))).unwrap();
    assert_eq!(pop_n(&q, 2, 10), [2, 3]);
    assert_eq!(q.lost(), 1, "element 1 was claimed by the dead consumer: lost, not redelivered");
    let report = seg.recover_dead().unwrap();
    let d = &report.operations[0];
    assert_eq!((d.operation, d.first, d.lost), (Operation::Pop, 0, 1));
}

#[test]
fn a_live_claimer_is_waited_for_not_overruled() {
    let name = ShmName::new("rec-live");
    let seg = segment(&name);
    let q = Queue::<u64, Mpmc>::create(&seg, "q", 8).unwrap();
    // This (live) process claimed position 0 and has not written it yet; a dead one recorded
    // an attempt at it too (its compare-and-swap would have failed).
    let me = zipc::process::current();
    claimed_lane(&name, (u64::from(me.pid) << 40) | me.start_time, q.offset(), op::PUSH, 0, 1);
    claimed_lane(&name, dead_tag(), q.offset(), op::PUSH, 0, 1);
    put_u64(&name, q.offset() + queue::header::TAIL, 1);
    for _ in 0..2000 {
        assert_eq!(q.try_pop().unwrap(), None, "the position stays the live claimer's");
    }
    assert!(matches!(q.pop(Some(Duration::from_millis(300))), Err(Error::Timeout)));
    assert_eq!(q.recover(), 0);
    let report = seg.recover_dead().unwrap();
    assert_eq!(report.operations.len(), 1, "the dead attempt is reported...");
    assert_eq!(report.lost(), 0, "...as having lost nothing");
    assert_eq!(q.lost(), 0);
    assert_eq!(q.try_pop().unwrap(), None);
}

#[test]
fn single_consumer_successors_skip_the_pop_in_flight() {
    let name = ShmName::new("rec-single");
    let seg = segment(&name);
    let dead = dead_tag();

    // SPSC: a consumer was copying element 2 out when it was killed, holding the role.
    let s = Queue::<u64, Spsc>::create(&seg, "spsc", 8).unwrap();
    let mut tx = s.producer().unwrap();
    for v in 1..=3 {
        tx.push(v, None).unwrap();
    }
    assert_eq!(s.consumer().unwrap().try_pop().unwrap(), Some(1));
    put_u64(&name, s.offset() + queue::header::READING, 2);
    put_u64(&name, s.offset() + queue::header::CONSUMER_OWNER, dead);
    let mut rx = s.consumer().expect("taken over from the dead consumer");
    assert_eq!((rx.lost_on_takeover(), s.consumer_takeovers(), s.lost()), (1, 1, 1));
    assert_eq!(rx.try_pop().unwrap(), Some(3), "element 2 is lost, never delivered twice");
    drop(rx);
    assert_eq!(s.consumer().unwrap().lost_on_takeover(), 0, "a clean handover loses nothing");

    // MPSC: the same, two elements in flight in a bulk pop.
    let m = Queue::<u64, Mpsc>::create(&seg, "mpsc", 8).unwrap();
    for v in 1..=4 {
        m.push(v, None).unwrap();
    }
    put_u64(&name, m.offset() + queue::header::READING, 2);
    put_u64(&name, m.offset() + queue::header::CONSUMER_OWNER, dead);
    let mut rx = m.consumer().unwrap();
    assert_eq!((rx.lost_on_takeover(), m.lost()), (2, 2));
    let mut buf = [0; 8];
    assert_eq!(rx.pop_bulk(&mut buf).unwrap(), 2);
    assert_eq!(buf[..2], [3, 4]);
    m.push(5, None).unwrap();
    assert_eq!(rx.try_pop().unwrap(), Some(5), "producers reuse the freed slots");

    // Ring: a consumer died copying a batch of three.
    let r = Ring::<u64>::create(&seg, "ring", 8, RingMode::Lossless).unwrap();
    let mut rtx = r.producer().unwrap();
    assert_eq!(rtx.try_push_bulk(&[1, 2, 3, 4, 5]), 5);
    put_u64(&name, r.offset() + ring::field::READING, 3);
    put_u64(&name, r.offset() + ring::field::CONSUMER, dead);
    let mut rrx = r.consumer().unwrap();
    assert!(rrx.took_over());
    assert_eq!((rrx.lost_on_takeover(), r.total_lost()), (3, 3));
    assert_eq!((rrx.try_pop(), rrx.try_pop(), rrx.try_pop()), (Some(4), Some(5), None));
    assert_eq!(rrx.delivered() + r.total_missed() + r.total_lost(), r.total_written());
}

#[test]
fn a_table_lock_held_by_a_dead_process_is_taken_over() {
    let name = ShmName::new("rec-lock");
    let seg = segment(&name);
    let desc = u64_at(&name, table::entry_offset(0) + entry::OFFSET);
    let dead = dead_tag();
    // The lock word holds the dead pid (bit 31: waiters), its owner field the full tag.
    poke(&name, desc + description::header::LOCK_WORD, &(((dead >> 40) as u32) | 1 << 31).to_le_bytes());
    put_u64(&name, desc + description::header::LOCK_OWNER, dead);
    Atomic::<u64>::create(&seg, "after", 1).expect("creation takes the lock over");
    assert_eq!(seg.lock_recoveries(), 1);
    assert_eq!(seg.entries().unwrap().len(), 1);
}

/// A child acquires three objects (adopting nothing) and passes one more to the parent, which
/// adopts it; the child is killed holding them. Reclaiming returns exactly the child's three,
/// their handles go stale, and the adopted object stays the parent's.
#[test]
fn pool_objects_of_a_killed_process_are_reclaimed_once() {
    if let Some(args) = child_args("pool_objects_of_a_killed_process_are_reclaimed_once") {
        let seg = Segment::open(&args[0]).unwrap();
        let pool = Pool::<[u64; 4]>::open(&seg, "p").unwrap();
        let pass = Atomic::<u64>::open(&seg, "pass").unwrap();
        let ready = Atomic::<u32>::open(&seg, "ready").unwrap();
        for i in 0..3 {
            let h = pool.acquire(None).unwrap();
            pool.write(h, [i; 4]).unwrap();
        }
        let given = pool.acquire(None).unwrap();
        pass.store(given.to_bits());
        ready.store(1);
        ready.wake_all();
        std::thread::sleep(Duration::from_secs(120)); // until killed (hang guard)
        panic!("not killed");
    }
    let name = ShmName::new("rec-pool");
    let seg = segment(&name);
    let pool = Pool::<[u64; 4]>::create(&seg, "p", 8).unwrap();
    let pass = Atomic::<u64>::create(&seg, "pass", 0).unwrap();
    let ready = Atomic::<u32>::create(&seg, "ready", 0).unwrap();
    let mut child = spawn_role("pool_objects_of_a_killed_process_are_reclaimed_once", &[&name]);
    while ready.load() == 0 {
        ready.wait(0, Some(Duration::from_secs(60))).expect("the child acquires its objects");
    }
    let adopted = zipc::Handle::from_bits(pass.load());
    assert_eq!(pool.owner(adopted).unwrap().pid, child.id());
    pool.adopt(adopted).unwrap();
    assert_eq!(pool.owner(adopted).unwrap(), zipc::process::current());
    assert_eq!(pool.reclaim_dead(), 0, "the child is alive");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(pool.num_allocated(), 4);
    assert_eq!(pool.reclaim_dead(), 3, "the killed child's three objects");
    assert_eq!(pool.reclaim_dead(), 0, "reclaimed once");
    assert_eq!(pool.num_allocated(), 1);
    assert!(pool.is_live(adopted), "the adopted object survives its sender");
    let mut again = Vec::new();
    while let Some(h) = pool.try_acquire().unwrap() {
        assert_ne!(h.index, adopted.index, "an adopted object is never handed out again");
        again.push(h);
    }
    assert_eq!(again.len(), 7);
}

/// Lanes are bounded (two per registry slot, at least 16) and given back: by role handles when
/// dropped, by threads when they exit. Taking one more than exist is a typed error that says
/// what to change.
#[test]
fn lanes_are_given_back_and_running_out_is_an_error() {
    let name = ShmName::new("rec-lanes");
    let seg = Segment::options().size(1 << 18).max_processes(1).create(&name).unwrap();
    let q = Queue::<u64, Mpmc>::create(&seg, "q", 64).unwrap();
    let lanes = lane::lanes_for(1) as usize;
    // Threads that come and go: each takes a lane on its first push and gives it back on exit.
    for i in 0..3 * lanes as u64 {
        let pusher = q.clone();
        assert!(std::thread::spawn(move || pusher.try_push(i).unwrap()).join().unwrap());
        assert_eq!(q.try_pop().unwrap(), Some(i));
    }
    // Role handles hold one each; this thread holds one too (it popped above).
    let handles: Vec<_> = (0..lanes - 1).map(|_| q.producer().unwrap()).collect();
    match q.consumer() {
        Err(e @ Error::LanesFull { .. }) => {
            assert!(matches!(e, Error::LanesFull { capacity, .. } if capacity as usize == lanes));
            assert!(e.to_string().contains("max_processes"), "says what to change: {e}");
        }
        other => panic!("expected LanesFull, got {other:?}"),
    }
    drop(handles);
    let mut rx = q.consumer().expect("lanes given back on drop");
    assert_eq!(rx.try_pop().unwrap(), None);
}
