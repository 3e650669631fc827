//! The map's algorithm on loom-switchable atomics ([`MapCore`]): open addressing with linear
//! probing over slots whose state words make lookups lock-free and inserts of distinct keys
//! independent (see the module docs of `map`).

use super::*;

/// A slot's header words (offsets in `layout::kinds::map::slot`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct SlotHead {
    pub(super) state: AtomicU64,
    pub(super) seq: AtomicU32,
    pub(super) bound: AtomicU32,
}

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::offset_of!(SlotHead, seq) as u64 == slot::SEQ);
    assert!(std::mem::offset_of!(SlotHead, bound) as u64 == slot::BOUND);
    assert!(std::mem::size_of::<SlotHead>() as u64 == slot::ENTRY);
};

#[cfg(all(test, loom))]
impl SlotHead {
    pub(crate) fn new() -> Self {
        SlotHead { state: AtomicU64::new(0), seq: AtomicU32::new(0), bound: AtomicU32::new(0) }
    }
}

/// Where a value is read from or written to: the slot's entry span, or the undo span of its
/// lock-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Span {
    InPlace,
    Undo,
}

/// What an insert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// The key was new.
    New,
    /// The key was there; its value was replaced (the old one copied out).
    Replaced,
    /// The key was new and the map holds its capacity.
    Full,
}

/// How a key's bytes are laid out in a slot, and the sizes of key, value and slots. A typed
/// handle's shape is a constant, which lets the compiler specialise the hot paths for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) key_size: usize,
    pub(crate) value_offset: usize,
    pub(crate) value_size: usize,
    /// Bytes per slot of the slot table.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) stride: usize,
    /// Bytes per slot of the lock table.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) lock_stride: usize,
}

impl Shape {
    /// The shape of a map (or, with `value_size` 0, a set) of `entry_size`-byte entries.
    pub(crate) const fn new(entry_size: usize, key_size: usize, value_offset: usize, value_size: usize) -> Self {
        let has_value = value_size > 0;
        let (Some(stride), Some(lock_stride)) =
            (stride_for(entry_size as u64), lock_stride_for(entry_size as u64, has_value))
        else {
            panic!("zipc bug: map entry size not validated");
        };
        assert!(key_size >= 1 && key_size <= entry_size);
        assert!(!has_value || (value_offset >= key_size && value_offset + value_size <= entry_size));
        Shape { key_size, value_offset, value_size, stride: stride as usize, lock_stride: lock_stride as usize }
    }
}

/// The map algorithm over a header, a slot table and a lock table that live wherever the owner
/// put them: a segment in a build, the heap in a loom model.
///
/// The operations come in two forms: `op` uses the shape the core was made with, `op_with`
/// takes one, which a typed handle passes as a constant (the compiler then folds every size and
/// copy width of the hot paths).
pub(crate) struct MapCore {
    pub(super) len: NonNull<AtomicU64>,
    pub(super) reclaimed: NonNull<AtomicU64>,
    /// The slot table (in a loom model: an array of [`SlotHead`]s; keys and values are in
    /// `cells`).
    pub(super) table: NonNull<u8>,
    /// The lock table (in a loom model: an array of `AtomicU64` owner words).
    pub(super) locks: NonNull<u8>,
    #[cfg(loom)]
    pub(super) cells: NonNull<AtomicU64>,
    pub(crate) capacity: u64,
    pub(super) mask: u64,
    pub(crate) shape: Shape,
    /// Whether the process a non-zero owner word names is alive.
    pub(super) alive: fn(u64) -> bool,
}

// SAFETY: the pointers are to atomics and atomically copied bytes in shared memory (shared by
// design).
unsafe impl Send for MapCore {}
// SAFETY: as above; every method takes `&self` and uses only atomics and atomic copies.
unsafe impl Sync for MapCore {}

impl Clone for MapCore {
    fn clone(&self) -> Self {
        MapCore { ..*self }
    }
}

/// How often a waiter spins on a held slot lock before it asks whether the holder lives (a
/// model asks at once: loom explores every spin).
#[cfg(not(loom))]
const SPINS_BEFORE_LIVENESS: u32 = 256;
#[cfg(loom)]
const SPINS_BEFORE_LIVENESS: u32 = 1;

/// The widest unit that divides both `size` and `offset` (an offset from an 8-aligned base), so
/// every unit of the copy is naturally aligned.
#[cfg(not(loom))]
#[inline(always)]
const fn unit_at(size: usize, offset: usize) -> usize {
    let a = crate::sys::atomic_copy::unit_for(size);
    let b = crate::sys::atomic_copy::unit_for(offset | 8);
    if a < b {
        a
    } else {
        b
    }
}

impl MapCore {
    /// # Safety
    ///
    /// The pointers are valid and aligned while the core and its clones live: `len` and
    /// `reclaimed` to atomics, `table` to `slots` slots of `shape.stride` bytes and `locks` to
    /// `slots` entries of `shape.lock_stride` bytes, both 8-aligned (in a loom model: `slots`
    /// [`SlotHead`]s, `slots` `AtomicU64` owner words, and `cells` to `3 × slots` `AtomicU64`s,
    /// with 8-byte keys and values); `slots` is a power of two.
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn new(
        len: NonNull<AtomicU64>,
        reclaimed: NonNull<AtomicU64>,
        table: NonNull<u8>,
        locks: NonNull<u8>,
        #[cfg(loom)] cells: NonNull<AtomicU64>,
        capacity: u64,
        slots: u64,
        shape: Shape,
        alive: fn(u64) -> bool,
    ) -> Self {
        assert!(slots.is_power_of_two() && capacity >= 1 && capacity <= slots);
        MapCore {
            len,
            reclaimed,
            table,
            locks,
            #[cfg(loom)]
            cells,
            capacity,
            mask: slots - 1,
            shape,
            alive,
        }
    }

    /// Slots in the table.
    pub(crate) fn slots(&self) -> u64 {
        self.mask + 1
    }

    pub(super) fn len_word(&self) -> &AtomicU64 {
        // SAFETY: valid while `self` lives (constructor contract).
        unsafe { self.len.as_ref() }
    }

    /// Slot `i`'s header words; `i` is masked into range.
    #[inline(always)]
    pub(super) fn head(&self, s: &Shape, i: u64) -> &SlotHead {
        let i = (i & self.mask) as usize;
        #[cfg(not(loom))]
        // SAFETY: `i` is in range (masked); slots are `stride` bytes, 8-aligned, each starting
        // with the header words (constructor contract).
        unsafe {
            &*self.table.as_ptr().add(i * s.stride).cast::<SlotHead>()
        }
        #[cfg(loom)]
        // SAFETY: in a model the table is `slots` `SlotHead`s.
        unsafe {
            let _ = s;
            &*self.table.cast::<SlotHead>().as_ptr().add(i)
        }
    }

    /// Slot `i`'s lock word; `i` is masked into range.
    #[inline(always)]
    pub(super) fn owner(&self, s: &Shape, i: u64) -> &AtomicU64 {
        let i = (i & self.mask) as usize;
        #[cfg(not(loom))]
        // SAFETY: in range (masked); lock-table entries are `lock_stride` bytes, 8-aligned, each
        // starting with the owner word (constructor contract).
        unsafe {
            &*self.locks.as_ptr().add(i * s.lock_stride).cast::<AtomicU64>()
        }
        #[cfg(loom)]
        // SAFETY: in a model the lock table is `slots` `AtomicU64`s.
        unsafe {
            let _ = s;
            &*self.locks.cast::<AtomicU64>().as_ptr().add(i)
        }
    }

    /// Pointer to byte `offset` of slot `i`'s entry span (`Span::InPlace`) or undo span.
    #[cfg(not(loom))]
    #[inline(always)]
    fn data(&self, s: &Shape, i: u64, copy: Span, offset: usize) -> *mut u8 {
        let i = (i & self.mask) as usize;
        // SAFETY: in range: every caller's `offset + len` is within the span, which lies inside
        // its slot or lock-table entry (the shape's invariants).
        unsafe {
            match copy {
                Span::InPlace => self.table.as_ptr().add(i * s.stride + slot::ENTRY as usize + offset),
                Span::Undo => self.locks.as_ptr().add(i * s.lock_stride + lock::UNDO as usize + offset),
            }
        }
    }

    /// In a model: slot `i`'s cell `c` (0: the key, 1: the value, 2: the undo copy).
    #[cfg(loom)]
    fn cell(&self, i: u64, c: usize) -> &AtomicU64 {
        // SAFETY: the model's cells are 3 per slot (constructor contract).
        unsafe { &*self.cells.as_ptr().add((i & self.mask) as usize * 3 + c) }
    }

    /// Whether slot `i`'s key equals `key` (an atomic comparison: the caller validates it
    /// against the state word).
    #[inline(always)]
    fn key_is(&self, s: &Shape, i: u64, key: &[u8]) -> bool {
        debug_assert_eq!(key.len(), s.key_size);
        #[cfg(not(loom))]
        // SAFETY: the key is `key_size` bytes at the 8-aligned start of the span.
        unsafe {
            let n = s.key_size;
            crate::sys::atomic_copy::equals(self.data(s, i, Span::InPlace, 0), key.as_ptr(), n, unit_at(n, 0))
        }
        #[cfg(loom)]
        {
            self.cell(i, 0).load(Relaxed) == u64::from_ne_bytes(key.try_into().expect("8-byte model keys"))
        }
    }

    fn load_key(&self, s: &Shape, i: u64, dst: &mut [u8]) {
        #[cfg(not(loom))]
        // SAFETY: as for `key_is`; `dst` is local, `key_size` bytes (asserted).
        unsafe {
            let n = s.key_size;
            assert_eq!(dst.len(), n);
            crate::sys::atomic_copy::load(dst.as_mut_ptr(), self.data(s, i, Span::InPlace, 0), n, unit_at(n, 0))
        }
        #[cfg(loom)]
        {
            let _ = s;
            dst.copy_from_slice(&self.cell(i, 0).load(Relaxed).to_ne_bytes());
        }
    }

    /// Writes slot `i`'s key (the caller holds the slot, claimed).
    #[inline(always)]
    fn store_key(&self, s: &Shape, i: u64, key: &[u8]) {
        #[cfg(not(loom))]
        // SAFETY: as for `key_is`; a stale reader's comparison may race with this write, which is
        // why both are atomic.
        unsafe {
            let n = s.key_size;
            assert_eq!(key.len(), n);
            crate::sys::atomic_copy::store(self.data(s, i, Span::InPlace, 0), key.as_ptr(), n, unit_at(n, 0))
        }
        #[cfg(loom)]
        {
            let _ = s;
            self.cell(i, 0).store(u64::from_ne_bytes(key.try_into().expect("8-byte model keys")), Relaxed);
        }
    }

    #[inline(always)]
    fn load_value(&self, s: &Shape, i: u64, copy: Span, dst: &mut [u8]) {
        if s.value_size == 0 {
            return;
        }
        #[cfg(not(loom))]
        // SAFETY: the value lies at `value_offset` in the span (8-aligned); `dst` is local,
        // `value_size` bytes (asserted).
        unsafe {
            assert_eq!(dst.len(), s.value_size);
            let unit = unit_at(s.value_size, s.value_offset);
            crate::sys::atomic_copy::load(dst.as_mut_ptr(), self.data(s, i, copy, s.value_offset), s.value_size, unit)
        }
        #[cfg(loom)]
        dst.copy_from_slice(&self.cell(i, 1 + (copy == Span::Undo) as usize).load(Relaxed).to_ne_bytes());
    }

    #[inline(always)]
    fn store_value(&self, s: &Shape, i: u64, copy: Span, src: &[u8]) {
        if s.value_size == 0 {
            return;
        }
        #[cfg(not(loom))]
        // SAFETY: as for `load_value`; the caller holds the slot's lock, so it is the only
        // writer; readers validate what they copy.
        unsafe {
            assert_eq!(src.len(), s.value_size);
            let unit = unit_at(s.value_size, s.value_offset);
            crate::sys::atomic_copy::store(self.data(s, i, copy, s.value_offset), src.as_ptr(), s.value_size, unit)
        }
        #[cfg(loom)]
        self.cell(i, 1 + (copy == Span::Undo) as usize)
            .store(u64::from_ne_bytes(src.try_into().expect("8-byte model values")), Relaxed);
    }

    /// Copies one of slot `i`'s value copies onto the other (the caller holds the lock).
    fn copy_value(&self, s: &Shape, i: u64, from: Span, to: Span) {
        if s.value_size == 0 {
            return;
        }
        #[cfg(not(loom))]
        // SAFETY: both spans are in range, distinct and unit-aligned (as for `load_value`); only
        // the lock holder writes either.
        unsafe {
            let unit = unit_at(s.value_size, s.value_offset);
            crate::sys::atomic_copy::copy(
                self.data(s, i, to, s.value_offset),
                self.data(s, i, from, s.value_offset),
                s.value_size,
                unit,
            )
        }
        #[cfg(loom)]
        {
            let v = self.cell(i, 1 + (from == Span::Undo) as usize).load(Relaxed);
            self.cell(i, 1 + (to == Span::Undo) as usize).store(v, Relaxed);
        }
    }

    /// The home slot and tag of a key.
    #[inline(always)]
    fn home(&self, key: &[u8]) -> (u64, u32) {
        let h = key_hash(key);
        (h & self.mask, tag_of(h) & 0xff_ffff)
    }

    /// The probe bound recorded at `home`, clamped to the table (a damaged word cannot make a
    /// probe run past it).
    #[inline(always)]
    fn bound(&self, s: &Shape, home: u64) -> u64 {
        (self.head(s, home).bound.load(Acquire) as u64).min(self.mask)
    }

    /// The slot holding `key` as a member, with its state word then.
    #[inline(always)]
    fn find(&self, s: &Shape, key: &[u8]) -> Option<(u64, u64)> {
        let (home, tag) = self.home(key);
        'probe: loop {
            let bound = self.bound(s, home);
            for d in 0..=bound {
                let i = (home + d) & self.mask;
                let st = self.head(s, i).state.load(Acquire);
                let (_, t, p) = unpack(st);
                if p != phase::MEMBER || t != tag {
                    continue;
                }
                if self.key_is(s, i, key) {
                    // The key is written before the member is published and stays until the
                    // slot is claimed again, which changes the version: an unchanged state word
                    // after the comparison means the comparison saw this member's key.
                    fence(Acquire);
                    if self.head(s, i).state.load(Relaxed) == st {
                        return Some((i, st));
                    }
                    continue 'probe;
                }
            }
            return None;
        }
    }

    /// Copies the value of member slot `i` (state `st`) into `dst` without writing anything:
    /// `false` if the slot no longer holds that member.
    #[inline(always)]
    fn read_value(&self, s: &Shape, i: u64, st: u64, dst: &mut [u8]) -> bool {
        let head = self.head(s, i);
        loop {
            let s1 = head.seq.load(Acquire);
            // While a write is in progress (odd) the value is the undo copy, written before the
            // odd word was stored; otherwise it is in place.
            self.load_value(s, i, if s1 & 1 == 0 { Span::InPlace } else { Span::Undo }, dst);
            fence(Acquire);
            let s2 = head.seq.load(Relaxed);
            if head.state.load(Relaxed) != st {
                return false;
            }
            if s2 == s1 {
                return true;
            }
        }
    }

    /// Looks `key` up, copying its value into `value` (a set's is empty): whether it is there.
    /// Writes nothing to shared memory.
    pub(crate) fn get(&self, key: &[u8], value: &mut [u8]) -> bool {
        self.get_with(&self.shape.clone(), key, value)
    }

    /// [`get`](Self::get) with shape `s`.
    #[inline(always)]
    pub(crate) fn get_with(&self, s: &Shape, key: &[u8], value: &mut [u8]) -> bool {
        loop {
            let Some((i, st)) = self.find(s, key) else {
                return false;
            };
            if self.read_value(s, i, st, value) {
                return true;
            }
        }
    }

    /// Takes slot `i`'s lock for `me`, taking it over from a dead holder (and repairing what it
    /// left); returns whether a dead holder was taken over.
    fn lock(&self, s: &Shape, i: u64, me: u64) -> bool {
        let owner = self.owner(s, i);
        let mut spins = 0u32;
        loop {
            match owner.compare_exchange(0, me, Acquire, Relaxed) {
                Ok(_) => return false,
                Err(held) => {
                    spins = spins.wrapping_add(1);
                    if spins % SPINS_BEFORE_LIVENESS == 0 && held != me && !(self.alive)(held) {
                        if owner.compare_exchange(held, me, Acquire, Relaxed).is_ok() {
                            self.repair(s, i);
                            return true;
                        }
                    } else if spins > 64 {
                        yield_now();
                    } else {
                        spin_loop();
                    }
                }
            }
        }
    }

    fn unlock(&self, s: &Shape, i: u64) {
        self.owner(s, i).store(0, Release);
    }

    /// Undoes what a dead lock holder left in slot `i` (the caller now holds the lock): a value
    /// write in progress is rolled back from the undo copy and a claim that never became a
    /// member is freed.
    fn repair(&self, s: &Shape, i: u64) {
        let head = self.head(s, i);
        let seq = head.seq.load(Relaxed);
        let mut repaired = seq & 1 == 1;
        if repaired {
            // Readers use the undo copy while the word is odd. The new even word differs from
            // the one before the dead write, so a reader that started then sees a change.
            self.copy_value(s, i, Span::Undo, Span::InPlace);
            head.seq.store(seq.wrapping_add(1), Release);
        }
        let mut st = head.state.load(Acquire);
        loop {
            let (v, t, p) = unpack(st);
            if !matches!(p, phase::BUSY | phase::INSERTING | phase::COLLIDED) {
                break;
            }
            match head.state.compare_exchange(st, state(v, t, phase::DELETED), AcqRel, Acquire) {
                Ok(_) => {
                    repaired = true;
                    break;
                }
                Err(now) => st = now,
            }
        }
        if repaired {
            // SAFETY: valid while `self` lives (constructor contract).
            unsafe { self.reclaimed.as_ref() }.fetch_add(1, Relaxed);
        }
    }

    /// Replaces member slot `i`'s value with `src`; the caller holds the lock.
    #[inline(always)]
    fn write_value(&self, s: &Shape, i: u64, src: &[u8]) {
        if s.value_size == 0 {
            return;
        }
        let head = self.head(s, i);
        // Only the lock holder writes `seq`, and a dead writer's odd word was repaired: even.
        let seq = head.seq.load(Relaxed) & !1;
        // Release fence: a reader whose undo copy sees the bytes below also sees every earlier
        // write of the word, so its check fails.
        fence(Release);
        self.copy_value(s, i, Span::InPlace, Span::Undo);
        // Release: a reader that sees the odd word sees the whole undo copy.
        head.seq.store(seq.wrapping_add(1), Release);
        // And a reader whose in-place copy sees any byte below sees the odd word.
        fence(Release);
        self.store_value(s, i, Span::InPlace, src);
        head.seq.store(seq.wrapping_add(2), Release);
    }

    /// The value of slot `i`, whose lock the caller holds (in place: no write is in progress).
    fn held_value(&self, s: &Shape, i: u64, dst: &mut [u8]) {
        self.load_value(s, i, Span::InPlace, dst);
    }

    /// Inserts `key` with `value`, or replaces the value of a key already there (copying the
    /// old one into `old`). `me` is the caller's owner tag.
    pub(crate) fn insert(&self, key: &[u8], value: &[u8], old: &mut [u8], me: u64) -> Inserted {
        self.insert_with(&self.shape.clone(), key, value, old, me)
    }

    /// [`insert`](Self::insert) with shape `s`.
    #[inline]
    pub(crate) fn insert_with(&self, s: &Shape, key: &[u8], value: &[u8], old: &mut [u8], me: u64) -> Inserted {
        let (home, tag) = self.home(key);
        // A same-key insert this one lost to, still in progress: waited for before trying again.
        let mut winner: Option<(u64, u64)> = None;
        loop {
            if let Some((i, st)) = self.find(s, key) {
                self.lock(s, i, me);
                if self.head(s, i).state.load(Acquire) != st {
                    self.unlock(s, i);
                    continue;
                }
                self.held_value(s, i, old);
                self.write_value(s, i, value);
                self.unlock(s, i);
                return Inserted::Replaced;
            }
            if let Some((j, w)) = winner.take() {
                if self.wait_while(s, j, w, me) {
                    continue;
                }
            }
            if self.len_word().load(Relaxed) >= self.capacity {
                return Inserted::Full;
            }
            let Some((i, d, free)) = self.first_free(s, home) else {
                // Every slot claimed with at most `capacity` entries: claims of dead processes
                // hold the rest. Give them back and look again.
                if self.reclaim(me) > 0 {
                    continue;
                }
                return Inserted::Full;
            };
            let (v, _, _) = unpack(free);
            let version = v.wrapping_add(1);
            let head = self.head(s, i);
            if head.state.compare_exchange(free, state(version, tag, phase::BUSY), AcqRel, Relaxed).is_err() {
                continue;
            }
            // Claimed: nobody else writes the slot now (a stale lookup may still read it, and
            // fails its check of the state word), but a stale updater may hold its lock for a
            // moment (it will see the new version and let go).
            self.lock(s, i, me);
            self.store_key(s, i, key);
            self.store_value(s, i, Span::InPlace, value);
            let inserting = state(version, tag, phase::INSERTING);
            head.state.store(inserting, Release);
            // Every insert of the key then updates the bound of the key's home slot, a
            // read-modify-write: of two inserts of one key, the later update acquires the
            // earlier's, so its contest below sees the earlier INSERTING (or what became of it).
            // The one further along the probe sequence gives way. Raising the bound before the
            // member is published also lets every lookup that follows the insert reach it.
            let bound = self.head(s, home).bound.fetch_max(d as u32, AcqRel).max(d as u32);
            let lost = self.contest(s, key, tag, home, (bound as u64).min(self.mask), i, d);
            if lost.is_none() {
                let member = state(version, tag, phase::MEMBER);
                if head.state.compare_exchange(inserting, member, AcqRel, Relaxed).is_ok() {
                    self.len_word().fetch_add(1, Relaxed);
                    self.unlock(s, i);
                    return Inserted::New;
                }
            }
            // Lost (or collided by the winner): free the slot and look again.
            head.state.store(state(version, tag, phase::DELETED), Release);
            self.unlock(s, i);
            winner = lost;
        }
    }

    /// The first claimable slot from `home`: its index, probe distance and state word.
    fn first_free(&self, s: &Shape, home: u64) -> Option<(u64, u64, u64)> {
        (0..=self.mask).find_map(|d| {
            let i = (home + d) & self.mask;
            let st = self.head(s, i).state.load(Relaxed);
            matches!(unpack(st).2, phase::EMPTY | phase::DELETED).then_some((i, d, st))
        })
    }

    /// Checks the probe sequence of `home` for another insert of `key` while ours (slot `mine`,
    /// distance `d`) is INSERTING, up to probe distance `bound`: collides those further along,
    /// and returns the slot and state of one we lose to (a member, or an insert nearer home), if
    /// any.
    #[allow(clippy::too_many_arguments)]
    fn contest(&self, s: &Shape, key: &[u8], tag: u32, home: u64, bound: u64, mine: u64, d: u64) -> Option<(u64, u64)> {
        for e in 0..=bound {
            let j = (home + e) & self.mask;
            if j == mine {
                continue;
            }
            let mut st = self.head(s, j).state.load(Acquire);
            loop {
                let (v, t, p) = unpack(st);
                if t != tag || !matches!(p, phase::INSERTING | phase::MEMBER) || !self.key_is(s, j, key) {
                    break;
                }
                fence(Acquire);
                let now = self.head(s, j).state.load(Relaxed);
                if now != st {
                    st = now;
                    continue;
                }
                if p == phase::MEMBER || e < d {
                    return Some((j, st));
                }
                match self.head(s, j).state.compare_exchange(st, state(v, t, phase::COLLIDED), AcqRel, Acquire) {
                    Ok(_) => break,
                    // It became a member (we lose) or was freed: look at it again.
                    Err(now) => st = now,
                }
            }
        }
        None
    }

    /// Waits while slot `j` still has state `w` (an insert in progress that ours lost to),
    /// taking it over if its inserter died; returns whether the caller should look again.
    fn wait_while(&self, s: &Shape, j: u64, w: u64, me: u64) -> bool {
        if unpack(w).2 == phase::MEMBER {
            return true;
        }
        let mut spins = 0u32;
        while self.head(s, j).state.load(Acquire) == w {
            spins = spins.wrapping_add(1);
            if spins % SPINS_BEFORE_LIVENESS == 0 {
                // An insert in progress holds its slot's lock: a dead holder is taken over (and
                // the slot repaired by `lock`); no holder at all means damaged bytes.
                let owner = self.owner(s, j).load(Acquire);
                if owner == 0 || (owner != me && !(self.alive)(owner)) {
                    self.lock(s, j, me);
                    if self.head(s, j).state.load(Acquire) == w {
                        self.repair(s, j);
                    }
                    self.unlock(s, j);
                }
            }
            if spins > 64 {
                yield_now();
            } else {
                spin_loop();
            }
        }
        true
    }

    /// Removes `key`, copying its value into `old`: whether it was there.
    pub(crate) fn remove(&self, key: &[u8], old: &mut [u8], me: u64) -> bool {
        self.remove_with(&self.shape.clone(), key, old, me)
    }

    /// [`remove`](Self::remove) with shape `s`.
    #[inline]
    pub(crate) fn remove_with(&self, s: &Shape, key: &[u8], old: &mut [u8], me: u64) -> bool {
        loop {
            let Some((i, st)) = self.find(s, key) else {
                return false;
            };
            self.lock(s, i, me);
            if self.head(s, i).state.load(Acquire) != st {
                self.unlock(s, i);
                continue;
            }
            self.held_value(s, i, old);
            let (v, t, _) = unpack(st);
            self.head(s, i).state.store(state(v, t, phase::DELETED), Release);
            self.len_word().fetch_sub(1, Relaxed);
            self.unlock(s, i);
            return true;
        }
    }

    /// Replaces `key`'s value with `f(value)` under its slot lock (other updates of the key wait,
    /// lookups do not): whether the key was there. `value` holds the new value afterwards.
    pub(crate) fn update(&self, key: &[u8], value: &mut [u8], me: u64, f: &mut dyn FnMut(&mut [u8])) -> bool {
        let s = &self.shape.clone();
        loop {
            let Some((i, st)) = self.find(s, key) else {
                return false;
            };
            self.lock(s, i, me);
            // Unlocks even if `f` panics.
            struct Held<'a>(&'a MapCore, &'a Shape, u64);
            impl Drop for Held<'_> {
                fn drop(&mut self) {
                    self.0.unlock(self.1, self.2);
                }
            }
            let _held = Held(self, s, i);
            if self.head(s, i).state.load(Acquire) != st {
                continue;
            }
            self.held_value(s, i, value);
            f(value);
            self.write_value(s, i, value);
            return true;
        }
    }

    /// Calls `each(key, value)` for every entry, each read consistently (a snapshot of each
    /// entry, not of the map: entries inserted or removed meanwhile may or may not be seen).
    pub(crate) fn for_each(&self, key: &mut [u8], value: &mut [u8], mut each: impl FnMut(&[u8], &[u8])) {
        let s = &self.shape.clone();
        for i in 0..self.slots() {
            loop {
                let st = self.head(s, i).state.load(Acquire);
                if unpack(st).2 != phase::MEMBER {
                    break;
                }
                self.load_key(s, i, key);
                fence(Acquire);
                if self.head(s, i).state.load(Relaxed) != st {
                    continue;
                }
                if self.read_value(s, i, st, value) {
                    each(key, value);
                    break;
                }
            }
        }
    }

    /// Gives back every slot whose lock holder `alive` says is dead (a claim it never finished
    /// is freed, a value write it left half done is rolled back); returns how many.
    pub(crate) fn reclaim(&self, me: u64) -> u64 {
        let s = &self.shape.clone();
        let mut reclaimed = 0;
        for i in 0..self.slots() {
            let owner = self.owner(s, i).load(Acquire);
            if owner == 0 || owner == me || (self.alive)(owner) {
                continue;
            }
            if self.owner(s, i).compare_exchange(owner, me, Acquire, Relaxed).is_ok() {
                self.repair(s, i);
                self.unlock(s, i);
                reclaimed += 1;
            }
        }
        reclaimed
    }

    /// Entries present (the counter; approximate under concurrency).
    pub(crate) fn len(&self) -> u64 {
        // A remove may decrement before the matching insert's increment lands: clamp.
        (self.len_word().load(Relaxed) as i64).clamp(0, self.capacity as i64 + 64) as u64
    }

    /// Slots given back from dead processes, ever.
    pub(crate) fn reclaimed(&self) -> u64 {
        // SAFETY: valid while `self` lives (constructor contract).
        unsafe { self.reclaimed.as_ref() }.load(Relaxed)
    }

    /// Initialises an unpublished table: every slot empty, every lock free.
    pub(crate) fn init(&self) {
        let s = &self.shape.clone();
        for i in 0..self.slots() {
            let h = self.head(s, i);
            h.state.store(0, Relaxed);
            h.seq.store(0, Relaxed);
            h.bound.store(0, Relaxed);
            self.owner(s, i).store(0, Relaxed);
        }
        self.len_word().store(0, Release);
    }
}

/// Gives the processor to another thread (loom: a model yield).
fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}
