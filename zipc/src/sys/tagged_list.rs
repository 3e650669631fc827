//! A tagged-index Treiber list: the lock-free LIFO of node indices that the pool's free list is
//! built on (and the stack kind's lists will be). The head is one `AtomicU64` packing
//! `(tag: 32, index: 32)`; every successful head update adds `tag_step` to the tag, so a head
//! that was popped and pushed back between a popper's load and its compare-and-swap (ABA) no
//! longer compares equal. Each node's link is an `AtomicU32` that the caller owns; `NIL` ends
//! the list. Indices read from shared memory are range-checked against `capacity` before use:
//! a corrupt list is an `Err`, never an out-of-range access.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use crate::sys::atomics::{AtomicU32, AtomicU64};

/// The end-of-list index.
pub(crate) const NIL: u32 = u32::MAX;

/// Packs a head word.
pub(crate) const fn pack(tag: u32, index: u32) -> u64 {
    ((tag as u64) << 32) | index as u64
}

/// Unpacks a head word into `(tag, index)`.
pub(crate) const fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

/// Pops the first node: `Ok(Some(index))`, `Ok(None)` if the list is empty, `Err` if the list
/// names a node outside `0..capacity`. `next(i)` is node `i`'s link (only called with
/// `i < capacity`).
pub(crate) fn pop<'a>(
    head: &AtomicU64,
    next: impl Fn(u32) -> &'a AtomicU32,
    capacity: u32,
    tag_step: u32,
) -> Result<Option<u32>, String> {
    pop_reading(head, next, capacity, tag_step, |_| {})
}

/// [`pop`], calling `read(index)` for each candidate first node after loading the head and
/// before the compare-and-swap that takes it. If the swap succeeds, no push or pop happened
/// between the load and the swap (each changes the tag), so the node was first in the list
/// throughout `read`, and whatever its pusher wrote before its (release) push is what `read`
/// saw: the stack's pop copies its value this way. A `read` whose swap fails is repeated for
/// the next candidate; it may have seen anything, and must only copy (never trust) the bytes.
pub(crate) fn pop_reading<'a>(
    head: &AtomicU64,
    next: impl Fn(u32) -> &'a AtomicU32,
    capacity: u32,
    tag_step: u32,
    mut read: impl FnMut(u32),
) -> Result<Option<u32>, String> {
    let mut current = head.load(Acquire);
    loop {
        let (tag, index) = unpack(current);
        if index == NIL {
            return Ok(None);
        }
        if index >= capacity {
            return Err(format!("the list starts at node {index}, beyond the capacity {capacity}"));
        }
        let link = next(index).load(Relaxed);
        if link != NIL && link >= capacity {
            // A concurrent pop and push can make `link` stale but never out of range.
            match head.load(Acquire) {
                h if h == current => return Err(format!("node {index} links to node {link}")),
                h => {
                    current = h;
                    continue;
                }
            }
        }
        read(index);
        let new = pack(tag.wrapping_add(tag_step), link);
        match head.compare_exchange(current, new, AcqRel, Acquire) {
            Ok(_) => return Ok(Some(index)),
            Err(h) => current = h,
        }
    }
}

/// Pushes node `index` (owned by the caller, `< capacity`) whose link is `link`. Release: a
/// popper that takes the node sees everything written to it before the push.
pub(crate) fn push(head: &AtomicU64, link: &AtomicU32, index: u32, tag_step: u32) {
    let mut current = head.load(Relaxed);
    loop {
        let (tag, top) = unpack(current);
        link.store(top, Relaxed);
        let new = pack(tag.wrapping_add(tag_step), index);
        match head.compare_exchange(current, new, Release, Relaxed) {
            Ok(_) => return,
            Err(h) => current = h,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn lifo_order_tags_and_corruption() {
        let links: Vec<AtomicU32> = (0..3).map(|_| AtomicU32::new(NIL)).collect();
        let head = AtomicU64::new(pack(0, NIL));
        for i in 0..3 {
            push(&head, &links[i as usize], i, 1);
        }
        assert_eq!(unpack(head.load(Relaxed)), (3, 2));
        let got: Vec<_> = (0..4).map(|_| pop(&head, |i| &links[i as usize], 3, 1).unwrap()).collect();
        assert_eq!(got, [Some(2), Some(1), Some(0), None]);
        assert_eq!(unpack(head.load(Relaxed)).0, 6);
        head.store(pack(0, 7), Relaxed);
        assert!(pop(&head, |i| &links[i as usize], 3, 1).is_err());
        links[0].store(9, Relaxed);
        head.store(pack(0, 0), Relaxed);
        assert!(pop(&head, |i| &links[i as usize], 3, 1).is_err());
    }
}
