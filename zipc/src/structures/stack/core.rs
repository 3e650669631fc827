//! The stack's algorithm on loom-switchable atomics ([`StackCore`]): two tagged Treiber lists
//! over one node table — the stack itself and the free nodes — with owner words for the nodes a
//! pusher is filling (see the module docs of `stack`).

use super::*;

/// The list heads and counters (offsets 0 and 64: the stack's and the free list's lines).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct StackHead {
    pub(super) top: AtomicU64,
    pub(super) len: AtomicU64,
    _pad0: [u64; 6],
    pub(super) free: AtomicU64,
    pub(super) reclaimed: AtomicU64,
}

/// One node-table entry.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Node {
    pub(super) next: AtomicU32,
    pub(super) reserved: AtomicU32,
    pub(super) owner: AtomicU64,
}

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::offset_of!(StackHead, len) as u64 == field::LEN);
    assert!(std::mem::offset_of!(StackHead, free) as u64 == field::FREE);
    assert!(std::mem::offset_of!(StackHead, reclaimed) as u64 == field::RECLAIMED);
    assert!(std::mem::size_of::<Node>() as u64 == NODE_SIZE);
};

// The format names the lists' end with the lists' own end-of-list index.
const _: () = assert!(NIL == tagged_list::NIL);

#[cfg(all(test, loom))]
impl StackHead {
    pub(crate) fn new() -> Self {
        StackHead {
            top: AtomicU64::new(0),
            len: AtomicU64::new(0),
            _pad0: [0; 6],
            free: AtomicU64::new(0),
            reclaimed: AtomicU64::new(0),
        }
    }
}

#[cfg(all(test, loom))]
impl Node {
    pub(crate) fn new() -> Self {
        Node { next: AtomicU32::new(0), reserved: AtomicU32::new(0), owner: AtomicU64::new(0) }
    }
}

/// The stack algorithm over heads, a node table, values and two event counts that live
/// wherever the owner put them: a segment in a build, the heap in a loom model.
pub(crate) struct StackCore {
    pub(super) head: NonNull<StackHead>,
    pub(super) nodes: NonNull<Node>,
    pub(super) values: NonNull<u8>,
    pub(super) pushed: NonNull<EventCount>,
    pub(super) popped: NonNull<EventCount>,
    pub(crate) capacity: u32,
    /// Bytes per value, and the atomic unit they are copied in.
    pub(super) size: usize,
    #[cfg_attr(loom, allow(dead_code))]
    pub(super) unit: usize,
    /// Tag increment per head update: 1; loom models set 0 to show the tag is needed.
    pub(super) tag_step: u32,
}

// SAFETY: the pointers are to atomics and atomically copied bytes in shared memory (shared by
// design).
unsafe impl Send for StackCore {}
// SAFETY: as above; every method takes `&self` and uses only atomics and atomic copies.
unsafe impl Sync for StackCore {}

impl Clone for StackCore {
    fn clone(&self) -> Self {
        StackCore { ..*self }
    }
}

impl StackCore {
    /// # Safety
    ///
    /// The pointers are valid and aligned while the core and its clones live: `nodes` for
    /// `capacity` entries, `values` for `capacity` values of `size` bytes, aligned to `unit`
    /// (which divides `size`) — in a loom model, `capacity` `AtomicU64`s and `size` 8;
    /// `1 <= capacity < NIL`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn new(
        head: NonNull<StackHead>,
        nodes: NonNull<Node>,
        values: NonNull<u8>,
        pushed: NonNull<EventCount>,
        popped: NonNull<EventCount>,
        capacity: u32,
        size: usize,
        unit: usize,
    ) -> Self {
        assert!((1..NIL).contains(&capacity));
        assert!(size > 0 && unit > 0 && size % unit == 0);
        StackCore { head, nodes, values, pushed, popped, capacity, size, unit, tag_step: 1 }
    }

    pub(super) fn h(&self) -> &StackHead {
        // SAFETY: valid while `self` lives (constructor contract).
        unsafe { self.head.as_ref() }
    }

    pub(super) fn pushed(&self) -> &EventCount {
        // SAFETY: as for `h`.
        unsafe { self.pushed.as_ref() }
    }

    pub(super) fn popped(&self) -> &EventCount {
        // SAFETY: as for `h`.
        unsafe { self.popped.as_ref() }
    }

    /// Node `index`'s entry; `index < capacity`.
    pub(super) fn node(&self, index: u32) -> &Node {
        assert!(index < self.capacity, "zipc bug: node index not range-checked");
        // SAFETY: in bounds (checked); valid while `self` lives.
        unsafe { &*self.nodes.as_ptr().add(index as usize) }
    }

    /// Copies node `index`'s value (`index < capacity`) into `dst`. The value may be written
    /// concurrently by a pusher that took the node: an atomic copy, so the result is then only
    /// stale or mixed, for the caller to discard.
    fn load_value(&self, index: u32, dst: &mut [u8]) {
        assert!(index < self.capacity, "zipc bug: node index not range-checked");
        #[cfg(not(loom))]
        // SAFETY: in bounds (checked): the array holds `capacity` values of `size` bytes,
        // unit-aligned (constructor contract); `dst` is local, `size` bytes (asserted by callers).
        unsafe {
            let src = self.values.as_ptr().add(index as usize * self.size);
            crate::sys::atomic_copy::load(dst.as_mut_ptr(), src, self.size, self.unit)
        }
        #[cfg(loom)]
        dst.copy_from_slice(&self.cell(index).load(Relaxed).to_ne_bytes());
    }

    /// Overwrites node `index`'s value (`index < capacity`, held by the caller) with `src`.
    fn store_value(&self, index: u32, src: &[u8]) {
        assert!(index < self.capacity, "zipc bug: node index not range-checked");
        #[cfg(not(loom))]
        // SAFETY: as for `load_value`; nobody else writes a node the caller holds (a popper's
        // speculative read may race with the copy, which is why both are atomic).
        unsafe {
            let dst = self.values.as_ptr().add(index as usize * self.size);
            crate::sys::atomic_copy::store(dst, src.as_ptr(), self.size, self.unit)
        }
        #[cfg(loom)]
        self.cell(index).store(u64::from_ne_bytes(src.try_into().expect("8-byte loom values")), Relaxed);
    }

    /// In a loom model the values are one loom `AtomicU64` per node, so that loom checks what a
    /// popper's copy can see.
    #[cfg(loom)]
    fn cell(&self, index: u32) -> &AtomicU64 {
        // SAFETY: the model's values are `capacity` `AtomicU64`s (its constructor contract).
        unsafe { &*self.values.cast::<AtomicU64>().as_ptr().add(index as usize) }
    }

    /// Initialises an unpublished stack: empty, every node free, linked in index order.
    pub(crate) fn init(&self) {
        for i in 0..self.capacity {
            let next = if i + 1 == self.capacity { NIL } else { i + 1 };
            self.node(i).next.store(next, Relaxed);
            self.node(i).owner.store(0, Relaxed);
        }
        self.h().top.store(pack(0, NIL), Relaxed);
        self.h().free.store(pack(0, 0), Release);
    }

    /// Pushes `src` (`size` bytes) if a node is free: `Ok(true)`, `Ok(false)` when full, `Err`
    /// if a list is corrupt. `owner` is recorded on the node while it is being filled.
    pub(crate) fn try_push(&self, src: &[u8], owner: u64) -> std::result::Result<bool, String> {
        assert_eq!(src.len(), self.size, "zipc bug: stack value buffer size");
        let Some(index) = tagged_list::pop(&self.h().free, |i| &self.node(i).next, self.capacity, self.tag_step)?
        else {
            return Ok(false);
        };
        let node = self.node(index);
        // Popped: only this process holds the node. Recording itself as owner lets survivors
        // give the node back if this process dies while copying.
        node.owner.store(owner, Relaxed);
        self.store_value(index, src);
        node.owner.store(0, Relaxed);
        // Release: a popper that takes the node (acquiring the top) sees the value.
        tagged_list::push(&self.h().top, &node.next, index, self.tag_step);
        self.h().len.fetch_add(1, Relaxed);
        self.pushed().notify_all();
        Ok(true)
    }

    /// Pops the top value into `dst` (`size` bytes): `Ok(true)`, `Ok(false)` when empty, `Err`
    /// if a list is corrupt.
    pub(crate) fn try_pop(&self, dst: &mut [u8]) -> std::result::Result<bool, String> {
        assert_eq!(dst.len(), self.size, "zipc bug: stack value buffer size");
        // The value is copied before the swap that takes the node (`pop_reading`): if the swap
        // succeeds the node was the top throughout the copy, so the copy is its pusher's value,
        // whole; if it fails the copy is discarded and made again from the next top.
        let read = |index: u32| self.load_value(index, dst);
        let Some(index) =
            tagged_list::pop_reading(&self.h().top, |i| &self.node(i).next, self.capacity, self.tag_step, read)?
        else {
            return Ok(false);
        };
        self.h().len.fetch_sub(1, Relaxed);
        tagged_list::push(&self.h().free, &self.node(index).next, index, self.tag_step);
        self.popped().notify_all();
        Ok(true)
    }

    /// Blocking [`try_push`](Self::try_push).
    pub(crate) fn push(&self, src: &[u8], owner: u64, deadline: Deadline) -> Result<std::result::Result<(), String>> {
        self.popped().wait_until(deadline, || match self.try_push(src, owner) {
            Ok(false) => None,
            Ok(true) => Some(Ok(())),
            Err(e) => Some(Err(e)),
        })
    }

    /// Blocking [`try_pop`](Self::try_pop).
    pub(crate) fn pop(&self, dst: &mut [u8], deadline: Deadline) -> Result<std::result::Result<(), String>> {
        self.pushed().wait_until(deadline, || match self.try_pop(dst) {
            Ok(false) => None,
            Ok(true) => Some(Ok(())),
            Err(e) => Some(Err(e)),
        })
    }

    /// Gives back to the free list every node whose filler `alive` says is dead; returns how
    /// many. Of reclaimers racing for one node, one wins its owner word.
    pub(crate) fn reclaim(&self, alive: impl Fn(u64) -> bool) -> u64 {
        let mut reclaimed = 0;
        for index in 0..self.capacity {
            let node = self.node(index);
            let owner = node.owner.load(Acquire);
            if owner == 0 || alive(owner) {
                continue;
            }
            if node.owner.compare_exchange(owner, 0, AcqRel, Relaxed).is_err() {
                continue;
            }
            tagged_list::push(&self.h().free, &node.next, index, self.tag_step);
            reclaimed += 1;
        }
        if reclaimed > 0 {
            self.h().reclaimed.fetch_add(reclaimed, Relaxed);
            self.popped().notify_all();
        }
        reclaimed
    }

    /// Values on the stack (approximate under concurrency).
    pub(crate) fn len(&self) -> u64 {
        // A pop may decrement before the matching push's increment lands: clamp.
        (self.h().len.load(Relaxed) as i64).clamp(0, self.capacity as i64) as u64
    }

    /// Nodes given back from dead processes, ever.
    pub(crate) fn reclaimed(&self) -> u64 {
        self.h().reclaimed.load(Relaxed)
    }
}
