//! Endpoints across processes: ping-pong between two processes, side exclusivity, typed refusals,
//! timeouts.

use std::time::{Duration, Instant};

use zipc::layout::Kind;
use zipc::{Endpoint, Error, Queue, Segment, Side, Spsc};
use zipc_tests::{child_args, spawn_role, wait_bounded, ShmName};

const ROUNDS: u64 = 20_000;
const OP_LIMIT: Option<Duration> = Some(Duration::from_secs(120));

/// Side A (the parent) sends a number, side B (a child process) answers with `2n + 1`; every
/// answer is checked, and A sends the next only after the answer arrives.
#[test]
fn ping_pong_between_two_processes() {
    if let Some(args) = child_args("ping_pong_between_two_processes") {
        let seg = Segment::open(&args[0]).unwrap();
        let mut b = Endpoint::<[u64; 2]>::open(&seg, "rpc").unwrap().side(Side::B).unwrap();
        loop {
            let [round, n] = b.recv(OP_LIMIT).unwrap();
            if round == u64::MAX {
                return;
            }
            b.send([round, 2 * n + 1], OP_LIMIT).unwrap();
        }
    }
    let name = ShmName::new("pingpong");
    let seg = Segment::create(&name, 1 << 16).unwrap();
    let rpc = Endpoint::<[u64; 2]>::create(&seg, "rpc", 4).unwrap();
    let mut a = rpc.side(Side::A).unwrap();
    let mut child = spawn_role("ping_pong_between_two_processes", &[&name]);
    let start = Instant::now();
    let mut n = 1u64;
    for round in 0..ROUNDS {
        a.send([round, n], OP_LIMIT).unwrap();
        let [r, answer] = a.recv(OP_LIMIT).unwrap();
        assert_eq!((r, answer), (round, 2 * n + 1), "the answer to round {round}");
        n = answer % 1_000_003;
    }
    let elapsed = start.elapsed();
    a.send([u64::MAX, 0], OP_LIMIT).unwrap();
    assert!(wait_bounded(&mut child, Duration::from_secs(120)));
    assert_eq!(a.pending(), 0);
    assert_eq!(rpc.pending(Side::B), 0);
    println!("endpoint ping-pong: {ROUNDS} round trips in {elapsed:?} ({:?} each)", elapsed / ROUNDS as u32);
}

#[test]
fn sides_are_exclusive_and_independent() {
    let name = ShmName::new("sides");
    let seg = Segment::create(&name, 1 << 16).unwrap();
    let e = Endpoint::<u32>::create(&seg, "chan", 2).unwrap();
    assert_eq!(e.capacity(), 2);
    let mut a = e.side(Side::A).unwrap();
    let err = e.side(Side::A).unwrap_err();
    assert!(matches!(err, Error::RoleTaken { role: "side A", .. }), "{err}");
    let e2 = e.clone();
    assert!(std::thread::spawn(move || e2.side(Side::A).is_err()).join().unwrap(), "not from another thread either");
    let mut b = e.side(Side::B).unwrap();
    assert_eq!(b.side().other(), Side::A);

    assert!(a.try_send(1).unwrap());
    assert!(a.try_send(2).unwrap());
    assert!(!a.try_send(3).unwrap(), "full at capacity");
    assert!(matches!(a.send(3, Some(Duration::from_millis(50))), Err(Error::Timeout)));
    assert_eq!(a.try_recv().unwrap(), None, "A's own messages do not come back to A");
    assert!(matches!(a.recv(Some(Duration::from_millis(50))), Err(Error::Timeout)));
    assert_eq!(e.pending(Side::B), 2);
    let mut buf = [0; 4];
    assert_eq!(b.recv_bulk(&mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], &[1, 2]);
    assert_eq!(b.send_bulk(&[7, 8, 9]).unwrap(), 2, "as many as fit");
    assert_eq!((a.recv(None).unwrap(), a.try_recv().unwrap()), (7, Some(8)));

    drop(a);
    let mut a = e.side(Side::A).expect("released on drop");
    b.send(10, None).unwrap();
    assert_eq!(a.recv(None).unwrap(), 10, "a new holder continues the stream");
}

#[test]
fn mismatched_endpoints_are_refused() {
    let name = ShmName::new("epmismatch");
    let seg = Segment::create(&name, 1 << 16).unwrap();
    Endpoint::<u64>::create(&seg, "rpc", 8).unwrap();
    let err = Endpoint::<u32>::open(&seg, "rpc").unwrap_err();
    assert!(matches!(err, Error::LayoutMismatch { .. }), "{err}");
    let err = Endpoint::<u64>::open_or_create(&seg, "rpc", 16).unwrap_err();
    assert!(matches!(err, Error::CapacityMismatch { expected: 16, found: 8, .. }), "{err}");
    let err = Queue::<u64, Spsc>::open(&seg, "rpc").unwrap_err();
    assert!(matches!(err, Error::KindMismatch { expected: Kind::Queue, found: Some(Kind::Endpoint), .. }), "{err}");
    assert_eq!(Endpoint::<u64>::open_or_create(&seg, "rpc", 8).unwrap().capacity(), 8);
    let err = Endpoint::<u64>::create(&seg, "odd", 3).unwrap_err();
    assert!(err.to_string().contains("Endpoint capacity: must be a power of two"), "{err}");

    // A damaged B → A queue header is refused at open.
    let e = Endpoint::<u64>::open(&seg, "rpc").unwrap();
    let region = seg.entry("rpc").unwrap().unwrap();
    let second = region.size / 2;
    assert_eq!(e.capacity(), 8);
    zipc_tests::poke(&name, region.offset + second + zipc::queue::header::CAPACITY, &4u64.to_le_bytes());
    let err = Segment::open(&name).unwrap_err();
    assert!(matches!(&err, Error::Corrupt { detail, .. } if detail.contains("B → A")), "{err}");
}
