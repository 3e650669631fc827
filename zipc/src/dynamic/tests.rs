//! Unit tests of the byte-level handles against the typed ones.

use super::*;
use crate::layout::{flags, Primitive};
use crate::shm_type::ShmType;
use crate::{Atomic, Mpmc, Mpsc, Queue, Ring, RingMode, Side, Spsc};
use std::time::Duration;

struct Name(String);
impl Drop for Name {
    fn drop(&mut self) {
        let _ = Segment::unlink(&self.0);
    }
}
fn segment(tag: &str) -> (Name, Segment) {
    let name = format!("/zipc-unit-dynamic-{tag}-{}", std::process::id());
    let _ = Segment::unlink(&name);
    let seg = Segment::create(&name, 1 << 20).unwrap();
    (Name(name), seg)
}

#[test]
fn dynamic_queues_interoperate_with_typed_ones_for_every_policy() {
    let (_n, seg) = segment("queue");
    let layout = layout::canonical(&<[u32; 3]>::SHM_LAYOUT);
    let spec = ElementSpec::with_layout(12, &layout);
    let spsc = Queue::<[u32; 3], Spsc>::create(&seg, "spsc", 4).unwrap();
    let mpsc = Queue::<[u32; 3], Mpsc>::create(&seg, "mpsc", 4).unwrap();
    let mpmc = Queue::<[u32; 3], Mpmc>::create(&seg, "mpmc", 4).unwrap();
    let b = |v: [u32; 3]| zerocopy::IntoBytes::as_bytes(&v).to_vec();

    // typed -> dynamic, across wrap-around
    let mut tx = spsc.producer().unwrap();
    let q = DynQueue::open(&seg, "spsc", spec).unwrap();
    assert_eq!(q.policy(), "spsc");
    let mut rx = q.consumer().unwrap();
    assert!(matches!(q.consumer(), Err(Error::RoleTaken { .. })), "the role is claimed");
    for round in 0..3u32 {
        for i in 0..4 {
            assert!(tx.try_push([round, i, 7]).unwrap());
        }
        assert!(!tx.try_push([0; 3]).unwrap(), "full");
        let mut buf = [0u8; 12];
        for i in 0..4 {
            assert!(rx.try_pop(&mut buf).unwrap());
            assert_eq!(buf.to_vec(), b([round, i, 7]));
        }
        assert!(!rx.try_pop(&mut buf).unwrap(), "empty");
    }
    // dynamic -> typed, bulk, for the Vyukov policies
    for (name, typed_pop) in [
        ("mpsc", Box::new(|| mpsc.consumer().unwrap().pop(None).unwrap()) as Box<dyn Fn() -> [u32; 3]>),
        ("mpmc", Box::new(|| mpmc.try_pop().unwrap().unwrap())),
    ] {
        let q = DynQueue::open(&seg, name, spec).unwrap();
        let mut tx = q.producer().unwrap();
        let src: Vec<u8> = (0..3u32).flat_map(|i| b([i, i + 1, i + 2])).collect();
        assert_eq!(tx.push_bulk(&src).unwrap(), 3);
        for i in 0..3 {
            assert_eq!(typed_pop(), [i, i + 1, i + 2]);
        }
    }
    // Buffers of the wrong length are refused, and change nothing.
    assert!(matches!(tx.try_push([1, 2, 3]), Ok(true)));
    assert!(matches!(rx.try_pop(&mut [0u8; 8]), Err(Error::InvalidArgument { .. })));
    assert!(matches!(rx.pop_bulk(&mut [0u8; 13]), Err(Error::InvalidArgument { .. })));
    let mut buf = [0u8; 12];
    assert!(rx.try_pop(&mut buf).unwrap());
    assert_eq!(buf.to_vec(), b([1, 2, 3]));
}

#[test]
fn element_specs_are_checked_like_typed_declarations() {
    let (_n, seg) = segment("spec");
    Queue::<u64, Mpmc>::create(&seg, "q", 4).unwrap();
    crate::Semaphore::create(&seg, "sem", 1, 0).unwrap();
    let e = DynQueue::open(&seg, "q", ElementSpec::new(4)).unwrap_err();
    assert!(matches!(&e, Error::LayoutMismatch { .. }), "{e}");
    assert!(e.to_string().contains("4-byte elements") && e.to_string().contains("8-byte elements u64"), "{e}");
    let e = DynQueue::open(&seg, "q", ElementSpec::with_layout(8, "i64")).unwrap_err();
    let typed = Queue::<i64, Mpmc>::open(&seg, "q").unwrap_err();
    assert_eq!(e.to_string(), typed.to_string(), "the same error as the typed API");
    let e = DynQueue::open(&seg, "missing", ElementSpec::new(8)).unwrap_err();
    assert_eq!(e.to_string(), Queue::<u64, Mpmc>::open(&seg, "missing").unwrap_err().to_string());
    let e = DynRing::open(&seg, "q", ElementSpec::new(8)).unwrap_err();
    assert!(matches!(e, Error::KindMismatch { expected: Kind::Ring, found: Some(Kind::Queue), .. }));
    assert!(DynQueue::open(&seg, "q", ElementSpec::with_layout(8, "u64")).is_ok());

    let decl = |capacity, fl| Declaration {
        name: "q",
        kind: Kind::Queue,
        elem: Some(ElementSpec::with_layout(8, "u64")),
        capacity,
        flags: fl,
        maximum: 0,
    };
    assert!(check(&seg, &decl(4, flags::POLICY_MPMC)).is_ok());
    assert!(matches!(check(&seg, &decl(8, flags::POLICY_MPMC)), Err(Error::CapacityMismatch { .. })));
    let e = check(&seg, &decl(4, flags::POLICY_SPSC)).unwrap_err();
    assert_eq!(e.to_string(), Queue::<u64, Spsc>::open(&seg, "q").unwrap_err().to_string());
    let sem = Declaration { name: "sem", kind: Kind::Semaphore, elem: None, capacity: 0, flags: 0, maximum: 3 };
    assert!(matches!(check(&seg, &sem), Err(Error::ParameterMismatch { parameter: "maximum", .. })));
}

#[test]
fn dynamic_rings_pools_arrays_and_atomics() {
    let (_n, seg) = segment("others");
    let ring = Ring::<u16>::create(&seg, "r", 3, RingMode::Lossless).unwrap();
    let dr = DynRing::open(&seg, "r", ElementSpec::with_layout(2, "u16")).unwrap();
    let mut tx = dr.producer().unwrap();
    assert_eq!(tx.try_push_bulk(&[1, 0, 2, 0, 3, 0, 4, 0]).unwrap(), 3, "lossless: 3 fit");
    let mut rx = ring.consumer().unwrap();
    assert_eq!(rx.try_pop(), Some(1));
    assert!(tx.try_push(&[5, 0]).unwrap());
    let mut last = [0u8; 4];
    assert_eq!(dr.get_last_n(&mut last).unwrap(), 2);
    assert_eq!(last, [3, 0, 5, 0]);
    assert!(matches!(tx.try_push(&[1, 2, 3]), Err(Error::InvalidArgument { .. })));

    let pool = crate::Pool::<u32>::create(&seg, "p", 2).unwrap();
    let dp = DynPool::open(&seg, "p", ElementSpec::new(4)).unwrap();
    let h = dp.try_acquire().unwrap().unwrap();
    dp.write(h, &7u32.to_le_bytes()).unwrap();
    assert_eq!(pool.read(h).unwrap(), 7);
    pool.release(h).unwrap();
    assert!(matches!(dp.release(h), Err(Error::StaleHandle { .. })));
    let mut out = [0u8; 4];
    assert!(matches!(dp.read(h, &mut out), Err(Error::StaleHandle { .. })));

    let arr = crate::Array::<[u16; 3]>::create(&seg, "a", 4).unwrap();
    let da = DynArray::open(&seg, "a", ElementSpec::new(6)).unwrap();
    da.set(3, &[1, 0, 2, 0, 3, 0]).unwrap();
    assert_eq!(arr.get(3), Some([1, 2, 3]));
    assert!(matches!(da.set(4, &[0; 6]), Err(Error::IndexOutOfBounds { .. })));
    let mut two = [0u8; 12];
    da.read_at(2, &mut two).unwrap();
    assert_eq!(two, [0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 0]);

    let a = Atomic::<i32>::create(&seg, "i", -5).unwrap();
    let d = DynAtomic::open(&seg, "i").unwrap();
    assert_eq!(d.primitive(), Primitive::I32);
    assert_eq!(d.load(), -5);
    assert_eq!(d.fetch_add(7), -5);
    assert_eq!(a.load(), 2);
    assert_eq!(d.compare_exchange(2, 9), Ok(2));
    assert_eq!(d.compare_exchange(2, 9), Err(9));
    assert!(matches!(d.wait(9, Some(Duration::from_millis(1))), Err(Error::Timeout)));
    let u = Atomic::<u64>::create(&seg, "u", u64::MAX).unwrap();
    let du = DynAtomic::open(&seg, "u").unwrap();
    assert_eq!(du.load(), -1, "u64::MAX as bits");
    du.store(5);
    assert_eq!(u.load(), 5);
    assert!(matches!(du.wait(5, None), Err(Error::InvalidArgument { .. })));
}

#[test]
fn dynamic_endpoints_talk_to_typed_ones() {
    let (_n, seg) = segment("endpoint");
    let ep = crate::Endpoint::<u32>::create(&seg, "e", 4).unwrap();
    let mut a = ep.side(Side::A).unwrap();
    let de = DynEndpoint::open(&seg, "e", ElementSpec::with_layout(4, "u32")).unwrap();
    assert!(matches!(de.side(Side::A), Err(Error::RoleTaken { .. })));
    let mut b = de.side(Side::B).unwrap();
    assert!(a.try_send(0xdead_beef).unwrap());
    let mut buf = [0u8; 4];
    assert!(b.try_recv(&mut buf).unwrap());
    assert_eq!(u32::from_le_bytes(buf), 0xdead_beef);
    b.send(&7u32.to_le_bytes(), None).unwrap();
    assert_eq!(a.recv(None).unwrap(), 7);
}
