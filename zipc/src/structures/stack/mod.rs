//! [`Stack<T>`]: a bounded lock-free LIFO — the last value pushed, by any process, is the first
//! popped. ZeroIPC's `stack`, with a tagged head against ABA, blocking `push`/`pop` with
//! timeouts, and dead pushers' nodes given back.
//!
//! # Two lists over one node table
//!
//! The stack has `capacity` nodes, each a value and a `next` index. Every node is on exactly
//! one of two tagged Treiber lists (`sys/tagged_list.rs`) or held by one process:
//!
//! * **push** pops a node off the *free* list, copies the value in, and pushes the node onto
//!   the *top* list (release: a popper that takes the node sees the value);
//! * **pop** takes the node off the top list and pushes it back onto the free list.
//!
//! Each head packs the first index with a 32-bit tag that every successful update increments,
//! so a compare-and-swap prepared against a head that changed and changed back (ABA) fails.
//!
//! A pop copies the value *before* its compare-and-swap: if the swap succeeds, no push or pop
//! touched the top between the popper's load and its swap (each would have moved the tag), so the
//! node was the top throughout the copy and nobody can have been writing it — the copy is its
//! pusher's value, whole. If the swap fails the copy is discarded and made again. The copy is an
//! atomic one (`sys/atomic_copy.rs`) because a discarded copy may race with a pusher that has
//! taken the node meanwhile. A popper never holds a node, so it has nothing to recover.
//!
//! # Dead pushers
//!
//! A pusher records itself (`pid << 40 | start time`) in the node's owner word while it copies
//! the value in, and clears it before pushing. [`Stack::reclaim_dead`] gives every node whose
//! owner has died back to the free list (a compare-and-swap of the owner word to 0, so one
//! survivor wins each node); the value it was filling was never pushed. A process killed in the
//! two instructions between popping a free node and recording itself, or between clearing its
//! record and pushing, or between a pop's swap and its push onto the free list, leaks that one
//! node: the stack's capacity is one less until it is recreated ([`inspect`](crate::inspect)
//! shows the difference between the capacity and the nodes accounted for).
//!
//! # Layout
//!
//! ```text
//! offset  size          field
//! 0       8             u64 top        tag << 32 | index of the top node (0xFFFFFFFF: empty)
//! 8       8             u64 len        values on the stack
//! 64      8             u64 free       tag << 32 | index of the first free node (0xFFFFFFFF: full)
//! 72      8             u64 reclaimed  nodes given back from dead pushers, ever
//! 128     8             u64 capacity   constants, then the event counts
//! 136     4             u32 elem_size
//! 140     4             reserved (0)
//! 144     8             pushed         event count (u32 epoch, u32 waiters): poppers sleep here
//! 152     8             popped         event count: pushers sleep here
//! 256     16 × cap      node table: u32 next, u32 reserved, u64 owner
//! O       elem × cap    values, O = align_up(256 + 16 × cap, 128)
//! ```

pub use crate::layout::kinds::stack::{field, values_offset, ALIGN, MAX_CAPACITY, NIL, NODE_SIZE};
mod core;
#[cfg(not(loom))]
mod readiness;
mod state;
#[cfg(all(test, loom))]
mod tests;

pub(crate) use self::core::StackCore;
pub(crate) use state::inspect;
pub use state::StackState;

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::{Kind, StructureLayout, TypeLayout};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::segment::Segment;
use crate::shm_type::ShmType;
use crate::structures::render::{bar, percent, Json, LiveState};
use crate::structures::{self, Structure};
use crate::sys::atomics::{AtomicU32, AtomicU64};
use crate::sys::event_count::EventCount;
use crate::sys::futex::Deadline;
use crate::sys::role;
use crate::sys::tagged_list::{self, pack};

/// A bounded lock-free stack of `T` values in a segment.
///
/// ```no_run
/// # fn main() -> zipc::Result<()> {
/// use zipc::{Segment, Stack};
/// use std::time::Duration;
///
/// let seg = Segment::create("/stack-doc", 1 << 20)?;
/// let undo = Stack::<u64>::create(&seg, "undo", 128)?;
/// undo.try_push(1)?;
/// undo.push(2, Some(Duration::from_secs(1)))?; // waits while the stack is full
/// // In another process:
/// let undo = Stack::<u64>::open(&seg, "undo")?;
/// assert_eq!(undo.try_pop()?, Some(2));
/// assert_eq!(undo.pop(None)?, 1); // waits while it is empty
/// # Segment::unlink("/stack-doc") }
/// ```
pub struct Stack<T: ShmType> {
    segment: Segment,
    region: Region,
    core: StackCore,
    _elem: PhantomData<T>,
}

// SAFETY: the handle keeps the mapping alive; values are accessed only with atomic copies;
// T: ShmType is Send + Sync.
unsafe impl<T: ShmType> Send for Stack<T> {}
// SAFETY: as above.
unsafe impl<T: ShmType> Sync for Stack<T> {}

impl<T: ShmType> Clone for Stack<T> {
    fn clone(&self) -> Self {
        Stack {
            segment: self.segment.clone(),
            region: self.region.clone(),
            core: self.core.clone(),
            _elem: PhantomData,
        }
    }
}

impl<T: ShmType> Stack<T> {
    /// Creates stack `name` of `capacity` values, empty.
    pub fn create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        Self::create_in(segment, &StructureLayout { capacity, ..Self::declaration(name) })
    }

    /// Opens stack `name` whatever its capacity, checking the value layout.
    pub fn open(segment: &Segment, name: &str) -> Result<Self> {
        let decl = Self::declaration(name);
        structures::check_declaration::<Self>(&decl)?;
        let (region, desc) = segment.lookup(&decl, false)?;
        Ok(Self::from_region(segment, region, desc.capacity))
    }

    /// Opens stack `name`, or creates it. An existing stack must have this capacity.
    pub fn open_or_create(segment: &Segment, name: &str, capacity: u64) -> Result<Self> {
        Self::open_or_create_in(segment, &StructureLayout { capacity, ..Self::declaration(name) })
    }

    fn from_region(segment: &Segment, region: Region, capacity: u64) -> Self {
        let core = core_on(&region, capacity, std::mem::size_of::<T>());
        Stack { segment: segment.clone(), region, core, _elem: PhantomData }
    }

    /// The stack's name in the segment.
    pub fn name(&self) -> &str {
        self.region.name()
    }

    /// Offset of the stack's region in the segment.
    pub fn offset(&self) -> u64 {
        self.region.offset()
    }

    /// The segment this stack is in.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Number of values it holds when full.
    pub fn capacity(&self) -> u64 {
        self.core.capacity as u64
    }

    /// Values on the stack. Approximate under concurrency.
    pub fn len(&self) -> u64 {
        self.core.len()
    }

    /// Whether the stack is empty (approximate under concurrency).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Nodes given back from dead pushers by [`reclaim_dead`](Self::reclaim_dead), ever.
    pub fn reclaimed(&self) -> u64 {
        self.core.reclaimed()
    }

    /// Pushes `value` on top: `Ok(false)` (the value not pushed) when the stack is full. Never
    /// blocks, no system call unless a popper sleeps.
    pub fn try_push(&self, value: T) -> Result<bool> {
        self.core.try_push(value.as_bytes(), role::my_tag()).map_err(|d| self.corrupt(d))
    }

    /// Pushes `value`, waiting for room at most `timeout` (`None`: forever);
    /// [`Error::Timeout`] if the stack is still full then.
    pub fn push(&self, value: T, timeout: Option<Duration>) -> Result<()> {
        self.core.push(value.as_bytes(), role::my_tag(), Deadline::after(timeout))?.map_err(|d| self.corrupt(d))
    }

    /// Pops the top value: `Ok(None)` when the stack is empty. Never blocks.
    pub fn try_pop(&self) -> Result<Option<T>> {
        let mut v = T::new_zeroed();
        match self.core.try_pop(v.as_mut_bytes()) {
            Ok(true) => Ok(Some(v)),
            Ok(false) => Ok(None),
            Err(d) => Err(self.corrupt(d)),
        }
    }

    /// Pops the top value, waiting for one at most `timeout` (`None`: forever);
    /// [`Error::Timeout`] if the stack is still empty then.
    pub fn pop(&self, timeout: Option<Duration>) -> Result<T> {
        let mut v = T::new_zeroed();
        self.core.pop(v.as_mut_bytes(), Deadline::after(timeout))?.map_err(|d| self.corrupt(d))?;
        Ok(v)
    }

    /// Gives back every node a dead process was filling when it died (its value was never
    /// pushed); returns how many.
    ///
    /// ```no_run
    /// # fn main() -> zipc::Result<()> {
    /// let seg = zipc::Segment::open("/jobs")?;
    /// let jobs = zipc::Stack::<u64>::open(&seg, "jobs")?;
    /// eprintln!("{} nodes of dead pushers given back", jobs.reclaim_dead());
    /// # Ok(()) }
    /// ```
    pub fn reclaim_dead(&self) -> u64 {
        self.core.reclaim(role::alive)
    }

    fn corrupt(&self, detail: String) -> Error {
        Error::corrupt(self.segment.name(), format!("structure {:?}", self.name()), detail)
    }
}

/// The stack algorithm on a validated region of `capacity` values of `elem` bytes. The core must
/// not outlive the region's mapping (handles keep both).
pub(crate) fn core_on(region: &Region, capacity: u64, elem: usize) -> StackCore {
    if cfg!(loom) {
        panic!("shared-memory stacks are not available in a loom build");
    }
    // The region's size was checked against the layout of `capacity` values at open.
    let values_at = values_offset(capacity).expect("validated capacity");
    let ptr = |rel: u64, len: u64| NonNull::new(region.ptr(rel, len)).expect("non-null mapping");
    // SAFETY: aligned offsets inside the region (checked by `ptr` for their lengths): the heads,
    // the node table of `capacity` entries, the values (128-aligned, `elem` a multiple of its
    // unit); the mapping outlives the core by the caller's contract; the words are atomics.
    unsafe {
        StackCore::new(
            ptr(field::TOP, 80).cast(),
            ptr(field::NODES, capacity * NODE_SIZE).cast(),
            ptr(values_at, capacity * elem as u64),
            ptr(field::PUSHED, 8).cast(),
            ptr(field::POPPED, 8).cast(),
            capacity as u32,
            elem,
            crate::sys::atomic_copy::unit_for(elem),
        )
    }
}

#[diagnostic::do_not_recommend]
impl<T: ShmType> Structure for Stack<T> {
    const KIND: Kind = Kind::Stack;
    const ELEM: Option<TypeLayout<'static>> = Some(T::SHM_LAYOUT);
    const FLAGS: u32 = 0;

    fn create_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let cap = decl.capacity;
        let elem = std::mem::size_of::<T>();
        let region = segment.allocate(decl, |r| {
            r.u64_at(field::CAPACITY).store(cap, Relaxed);
            r.u32_at(field::ELEM_SIZE).store(elem as u32, Relaxed);
            core_on(r, cap, elem).init();
            Ok(())
        })?;
        Ok(Self::from_region(segment, region, cap))
    }

    fn open_in(segment: &Segment, decl: &StructureLayout<'_>) -> Result<Self> {
        structures::check_declaration::<Self>(decl)?;
        let (region, desc) = segment.lookup(decl, true)?;
        Ok(Self::from_region(segment, region, desc.capacity))
    }
}

impl<T: ShmType> std::fmt::Debug for Stack<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("segment", &self.segment.name())
            .field("name", &self.name())
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}
