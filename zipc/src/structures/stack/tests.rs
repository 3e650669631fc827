//! Models of the stack. Values are one loom `AtomicU64` per node (`StackCore::cell`), so loom
//! checks that a popper's copy is always its pusher's value.

use super::core::*;
use super::*;
use loom::sync::Arc;
use loom::thread;

struct Mem {
    head: StackHead,
    nodes: Vec<Node>,
    values: Vec<AtomicU64>,
    pushed: EventCount,
    popped: EventCount,
}

struct TestStack {
    core: StackCore,
    _mem: Box<Mem>,
}

impl TestStack {
    fn try_push(&self, v: u64, owner: u64) -> bool {
        self.core.try_push(&v.to_ne_bytes(), owner).unwrap()
    }

    fn try_pop(&self) -> Option<u64> {
        let mut b = [0; 8];
        self.core.try_pop(&mut b).unwrap().then(|| u64::from_ne_bytes(b))
    }

    fn drain(&self) -> Vec<u64> {
        std::iter::from_fn(|| self.try_pop()).collect()
    }
}

fn stack(cap: u32, tag_step: u32) -> Arc<TestStack> {
    let mem = Box::new(Mem {
        head: StackHead::new(),
        nodes: (0..cap).map(|_| Node::new()).collect(),
        values: (0..cap).map(|_| AtomicU64::new(0)).collect(),
        pushed: EventCount::new(),
        popped: EventCount::new(),
    });
    // SAFETY: the pointers are into `mem`, owned by the same `TestStack` as the core; the
    // values are `cap` `AtomicU64`s, as a model's must be.
    let mut core = unsafe {
        StackCore::new(
            NonNull::from(&mem.head),
            NonNull::from(&mem.nodes[0]),
            NonNull::from(&mem.values[0]).cast(),
            NonNull::from(&mem.pushed),
            NonNull::from(&mem.popped),
            cap,
            8,
            8,
        )
    };
    core.tag_step = tag_step;
    core.init();
    Arc::new(TestStack { core, _mem: mem })
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// A thread pushes a value and pops one while the main thread does the same on a stack that
/// already holds one: every value is popped exactly once, whole, and the nodes all come back.
#[test]
fn loom_stack_exactly_once() {
    loom::model(|| {
        let s = stack(3, 1);
        assert!(s.try_push(1, 7));
        let worker = {
            let s = s.clone();
            thread::spawn(move || {
                assert!(s.try_push(2, 7));
                s.try_pop()
            })
        };
        assert!(s.try_push(3, 7));
        let mut got: Vec<u64> = s.try_pop().into_iter().collect();
        got.extend(worker.join().unwrap());
        got.extend(s.drain());
        assert_eq!(sorted(got), [1, 2, 3]);
        assert_eq!(s.core.len(), 0);
        for v in 0..3 {
            assert!(s.try_push(v, 7), "node {v} came back");
        }
        assert!(!s.try_push(9, 7), "exactly three nodes");
    });
}

/// Thread A pops while the main thread pops both values and pushes two more — reusing A's
/// candidate node as the new top. That is the ABA interleaving: A read `top = n1, next = n0`
/// and the value 20, and `top` is `n1` again when A swaps. With the tag A's swap fails and it
/// pops again; every value is popped exactly once.
fn aba_model(tag_step: u32) {
    loom::model(move || {
        let s = stack(3, tag_step);
        assert!(s.try_push(10, 7));
        assert!(s.try_push(20, 7));
        let a = {
            let s = s.clone();
            thread::spawn(move || s.try_pop())
        };
        let mut got = vec![];
        got.extend(s.try_pop());
        got.extend(s.try_pop());
        assert!(s.try_push(30, 7));
        assert!(s.try_push(40, 7));
        got.extend(a.join().unwrap());
        got.extend(s.drain());
        assert_eq!(sorted(got), [10, 20, 30, 40]);
    });
}

#[test]
fn loom_stack_is_aba_safe() {
    aba_model(1);
}

/// Without the tag the same model fails: the ABA interleaving is explored.
#[test]
#[should_panic]
fn loom_stack_without_tag_is_caught() {
    aba_model(0);
}

/// A blocked pop wakes for a push; a blocked push wakes for a pop.
#[test]
fn loom_stack_blocking_pop_and_push_wake() {
    loom::model(|| {
        let s = stack(1, 1);
        let popper = {
            let s = s.clone();
            thread::spawn(move || {
                let mut b = [0; 8];
                s.core.pop(&mut b, Deadline::after(None)).unwrap().unwrap();
                u64::from_ne_bytes(b)
            })
        };
        assert!(s.try_push(5, 7));
        assert_eq!(popper.join().unwrap(), 5);
        assert!(s.try_push(6, 7));
        let pusher = {
            let s = s.clone();
            thread::spawn(move || s.core.push(&8u64.to_ne_bytes(), 8, Deadline::after(None)).unwrap().unwrap())
        };
        let first = loop {
            if let Some(v) = s.try_pop() {
                break v;
            }
            thread::yield_now();
        };
        pusher.join().unwrap();
        let mut got = vec![first];
        got.extend(s.drain());
        assert_eq!(sorted(got), [6, 8]);
    });
}

/// Process 7 died filling a node (popped from the free list, owner recorded). Two survivors
/// reclaim dead pushers' nodes while a live process pushes and pops: exactly one reclaimer
/// gets the node, and afterwards the stack has its whole capacity again.
#[test]
fn loom_stack_dead_pusher_is_reclaimed() {
    loom::model(|| {
        let s = stack(2, 1);
        let h = &s.core;
        let taken =
            tagged_list::pop(&h.h().free, |i| &h.node(i).next, h.capacity, h.tag_step).unwrap().expect("a free node");
        h.node(taken).owner.store(7, Relaxed);
        let reclaimers: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || s.core.reclaim(|tag| tag != 7))
            })
            .collect();
        assert!(s.try_push(1, 8), "the live node is free");
        assert_eq!(s.try_pop(), Some(1));
        let reclaimed: u64 = reclaimers.into_iter().map(|r| r.join().unwrap()).sum();
        assert_eq!(reclaimed, 1, "one reclaimer wins the node");
        assert_eq!(s.core.reclaimed(), 1);
        assert!(s.try_push(2, 8) && s.try_push(3, 8), "both nodes are free again");
        assert!(!s.try_push(4, 8));
        assert_eq!(s.drain(), [3, 2]);
    });
}
