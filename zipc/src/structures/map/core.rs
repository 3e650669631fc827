//! The map's algorithm on loom-switchable atomics ([`MapCore`]): open addressing with linear
//! probing over slots whose state words make lookups lock-free and inserts of distinct keys
//! independent (see the module docs of `map`).

use super::*;

/// A slot's header words (offsets in `layout::kinds::map::slot`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct SlotHead {
    pub(super) state: AtomicU64,
    pub(super) seq: AtomicU64,
    pub(super) owner: AtomicU64,
    pub(super) bound: AtomicU32,
    pub(super) reserved: AtomicU32,
}

#[cfg(not(loom))]
const _: () = {
    assert!(std::mem::offset_of!(SlotHead, seq) as u64 == slot::SEQ);
    assert!(std::mem::offset_of!(SlotHead, owner) as u64 == slot::OWNER);
    assert!(std::mem::offset_of!(SlotHead, bound) as u64 == slot::BOUND);
    assert!(std::mem::size_of::<SlotHead>() as u64 == slot::ENTRY);
};

#[cfg(all(test, loom))]
impl SlotHead {
    pub(crate) fn new() -> Self {
        SlotHead {
            state: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            owner: AtomicU64::new(0),
            bound: AtomicU32::new(0),
            reserved: AtomicU32::new(0),
        }
    }
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

/// How a key's bytes are laid out in a slot, and the sizes and copy units of key and value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) key_size: usize,
    pub(crate) value_offset: usize,
    pub(crate) value_size: usize,
    /// Bytes of one entry span (the entry's size rounded up to 8).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) span: usize,
    /// Bytes per slot.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) stride: usize,
}

impl Shape {
    /// The shape of a map (or, with `value_size` 0, a set) of `entry_size`-byte entries.
    pub(crate) fn new(entry_size: usize, key_size: usize, value_offset: usize, value_size: usize) -> Self {
        let has_value = value_size > 0;
        let span = span_for(entry_size as u64).expect("validated entry size") as usize;
        let stride = stride_for(entry_size as u64, has_value).expect("validated entry size") as usize;
        assert!(key_size >= 1 && key_size <= entry_size);
        assert!(!has_value || (value_offset >= key_size && value_offset + value_size <= entry_size));
        Shape { key_size, value_offset, value_size, span, stride }
    }
}

/// The widest unit that divides both `size` and `offset` (an offset from an 8-aligned base), so
/// every unit of the copy is naturally aligned.
#[cfg(not(loom))]
fn unit_at(size: usize, offset: usize) -> usize {
    crate::sys::atomic_copy::unit_for(size).min(crate::sys::atomic_copy::unit_for(offset | 8))
}

/// The map algorithm over a header and a slot table that live wherever the owner put them: a
/// segment in a build, the heap in a loom model.
pub(crate) struct MapCore {
    pub(super) len: NonNull<AtomicU64>,
    pub(super) reclaimed: NonNull<AtomicU64>,
    /// The slot table (in a loom model: an array of [`SlotHead`]s; the data is in `cells`).
    pub(super) table: NonNull<u8>,
    #[cfg(loom)]
    pub(super) cells: NonNull<AtomicU64>,
    pub(crate) capacity: u64,
    pub(super) mask: u64,
    pub(super) shape: Shape,
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

impl MapCore {
    /// # Safety
    ///
    /// The pointers are valid and aligned while the core and its clones live: `len` and
    /// `reclaimed` to atomics, `table` to `slots` slots of `shape.stride` bytes, 8-aligned (in a
    /// loom model: `slots` [`SlotHead`]s, and `cells` to `3 × slots` `AtomicU64`s, with 8-byte
    /// keys and values); `slots` is a power of two.
    pub(crate) unsafe fn new(
        len: NonNull<AtomicU64>,
        reclaimed: NonNull<AtomicU64>,
        table: NonNull<u8>,
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
    pub(super) fn head(&self, i: u64) -> &SlotHead {
        let i = (i & self.mask) as usize;
        #[cfg(not(loom))]
        // SAFETY: `i` is in range (masked); slots are `stride` bytes, 8-aligned, each starting
        // with the header words (constructor contract).
        unsafe {
            &*self.table.as_ptr().add(i * self.shape.stride).cast::<SlotHead>()
        }
        #[cfg(loom)]
        // SAFETY: in a model the table is `slots` `SlotHead`s.
        unsafe {
            &*self.table.cast::<SlotHead>().as_ptr().add(i)
        }
    }

    /// Pointer to byte `offset` of slot `i`'s first entry span.
    #[cfg(not(loom))]
    fn data(&self, i: u64, offset: usize) -> *mut u8 {
        let i = (i & self.mask) as usize;
        // SAFETY: in range: the slot is `stride` bytes and every caller's `offset + len` is within
        // its entry spans (the shape's invariants).
        unsafe { self.table.as_ptr().add(i * self.shape.stride + slot::ENTRY as usize + offset) }
    }

    /// In a model: slot `i`'s cell `c` (0: the key, 1 and 2: the value copies).
    #[cfg(loom)]
    fn cell(&self, i: u64, c: usize) -> &AtomicU64 {
        // SAFETY: the model's cells are 3 per slot (constructor contract).
        unsafe { &*self.cells.as_ptr().add((i & self.mask) as usize * 3 + c) }
    }

    /// Whether slot `i`'s key equals `key` (an atomic comparison: the caller validates it
    /// against the state word).
    fn key_is(&self, i: u64, key: &[u8]) -> bool {
        debug_assert_eq!(key.len(), self.shape.key_size);
        #[cfg(not(loom))]
        // SAFETY: the key is `key_size` bytes at the 8-aligned start of the span.
        unsafe {
            let n = self.shape.key_size;
            crate::sys::atomic_copy::equals(self.data(i, 0), key.as_ptr(), n, unit_at(n, 0))
        }
        #[cfg(loom)]
        {
            self.cell(i, 0).load(Relaxed) == u64::from_ne_bytes(key.try_into().expect("8-byte model keys"))
        }
    }

    fn load_key(&self, i: u64, dst: &mut [u8]) {
        #[cfg(not(loom))]
        // SAFETY: as for `key_is`; `dst` is local, `key_size` bytes (asserted).
        unsafe {
            let n = self.shape.key_size;
            assert_eq!(dst.len(), n);
            crate::sys::atomic_copy::load(dst.as_mut_ptr(), self.data(i, 0), n, unit_at(n, 0))
        }
        #[cfg(loom)]
        dst.copy_from_slice(&self.cell(i, 0).load(Relaxed).to_ne_bytes());
    }

    /// Writes slot `i`'s key (the caller holds the slot, claimed).
    fn store_key(&self, i: u64, key: &[u8]) {
        #[cfg(not(loom))]
        // SAFETY: as for `key_is`; a stale reader's comparison may race with this write, which is
        // why both are atomic.
        unsafe {
            let n = self.shape.key_size;
            assert_eq!(key.len(), n);
            crate::sys::atomic_copy::store(self.data(i, 0), key.as_ptr(), n, unit_at(n, 0))
        }
        #[cfg(loom)]
        self.cell(i, 0).store(u64::from_ne_bytes(key.try_into().expect("8-byte model keys")), Relaxed);
    }

    fn load_value(&self, i: u64, copy: u64, dst: &mut [u8]) {
        let s = &self.shape;
        if s.value_size == 0 {
            return;
        }
        #[cfg(not(loom))]
        // SAFETY: value copy `copy` (0 or 1) lies in span `copy` at `value_offset`, inside the
        // slot; `dst` is local, `value_size` bytes (asserted).
        unsafe {
            assert_eq!(dst.len(), s.value_size);
            let at = copy as usize * s.span + s.value_offset;
            let unit = unit_at(s.value_size, at);
            crate::sys::atomic_copy::load(dst.as_mut_ptr(), self.data(i, at), s.value_size, unit)
        }
        #[cfg(loom)]
        dst.copy_from_slice(&self.cell(i, 1 + copy as usize).load(Relaxed).to_ne_bytes());
    }

    fn store_value(&self, i: u64, copy: u64, src: &[u8]) {
        let s = &self.shape;
        if s.value_size == 0 {
            return;
        }
        #[cfg(not(loom))]
        // SAFETY: as for `load_value`; the caller holds the slot's lock, so it is the only
        // writer; readers of the other copy are unaffected, readers of this one retry.
        unsafe {
            assert_eq!(src.len(), s.value_size);
            let at = copy as usize * s.span + s.value_offset;
            let unit = unit_at(s.value_size, at);
            crate::sys::atomic_copy::store(self.data(i, at), src.as_ptr(), s.value_size, unit)
        }
        #[cfg(loom)]
        self.cell(i, 1 + copy as usize)
            .store(u64::from_ne_bytes(src.try_into().expect("8-byte model values")), Relaxed);
    }

    /// The home slot, tag and probe bound of a key.
    fn home(&self, key: &[u8]) -> (u64, u32) {
        let h = key_hash(key);
        (h & self.mask, tag_of(h) & 0xff_ffff)
    }

    /// The probe bound recorded at `home`, clamped to the table (a damaged word cannot make a
    /// probe run past it).
    fn bound(&self, home: u64, order: std::sync::atomic::Ordering) -> u64 {
        (self.head(home).bound.load(order) as u64).min(self.mask)
    }

    /// The slot holding `key` as a member, with its state word then.
    fn find(&self, key: &[u8]) -> Option<(u64, u64)> {
        let (home, tag) = self.home(key);
        'probe: loop {
            let bound = self.bound(home, Acquire);
            for d in 0..=bound {
                let i = (home + d) & self.mask;
                let st = self.head(i).state.load(Acquire);
                let (_, t, p) = unpack(st);
                if p != phase::MEMBER || t != tag {
                    continue;
                }
                if self.key_is(i, key) {
                    // The key is written before the member is published and stays until the
                    // slot is claimed again, which changes the version: an unchanged state word
                    // after the comparison means the comparison saw this member's key.
                    fence(Acquire);
                    if self.head(i).state.load(Relaxed) == st {
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
    fn read_value(&self, i: u64, st: u64, dst: &mut [u8]) -> bool {
        let head = self.head(i);
        loop {
            let s1 = head.seq.load(Acquire);
            // The current copy is `writes % 2`; a write in progress (odd `seq`) is to the other.
            self.load_value(i, (s1 >> 1) & 1, dst);
            fence(Acquire);
            let s2 = head.seq.load(Relaxed);
            if head.state.load(Relaxed) != st {
                return false;
            }
            // The copy read is written again only by the write after next, which announces
            // itself with `seq = 2 × (writes + 1) + 1` before touching it.
            if s2 <= (s1 | 1) + 1 {
                return true;
            }
        }
    }

    /// Looks `key` up, copying its value into `value` (a set's is empty): whether it is there.
    /// Writes nothing to shared memory.
    pub(crate) fn get(&self, key: &[u8], value: &mut [u8]) -> bool {
        loop {
            let Some((i, st)) = self.find(key) else {
                return false;
            };
            if self.read_value(i, st, value) {
                return true;
            }
        }
    }

    /// Takes slot `i`'s lock for `me`, taking it over from a dead holder (and repairing what it
    /// left); returns whether a dead holder was taken over.
    fn lock(&self, i: u64, me: u64) -> bool {
        let owner = &self.head(i).owner;
        let mut spins = 0u32;
        loop {
            match owner.compare_exchange(0, me, Acquire, Relaxed) {
                Ok(_) => return false,
                Err(held) => {
                    spins = spins.wrapping_add(1);
                    if spins % SPINS_BEFORE_LIVENESS == 0 && held != me && !(self.alive)(held) {
                        if owner.compare_exchange(held, me, Acquire, Relaxed).is_ok() {
                            self.repair(i);
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

    fn unlock(&self, i: u64) {
        self.head(i).owner.store(0, Release);
    }

    /// Undoes what a dead lock holder left in slot `i` (the caller now holds the lock): a value
    /// write in progress is rolled back (the current copy was untouched) and a claim that never
    /// became a member is freed.
    fn repair(&self, i: u64) {
        let head = self.head(i);
        let seq = head.seq.load(Relaxed);
        let mut repaired = seq & 1 == 1;
        if repaired {
            head.seq.store(seq - 1, Release);
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

    /// Writes `src` as slot `i`'s value; the caller holds the lock.
    fn write_value(&self, i: u64, src: &[u8]) {
        if self.shape.value_size == 0 {
            return;
        }
        let head = self.head(i);
        // Only the lock holder writes `seq`, and a dead writer's odd word was rolled back.
        let s = head.seq.load(Relaxed) & !1;
        head.seq.store(s + 1, Relaxed);
        // Release fence: a reader whose copy saw any of the bytes below sees the odd word.
        fence(Release);
        self.store_value(i, ((s >> 1) + 1) & 1, src);
        head.seq.store(s + 2, Release);
    }

    /// The current value of slot `i`, whose lock the caller holds.
    fn held_value(&self, i: u64, dst: &mut [u8]) {
        let s = self.head(i).seq.load(Relaxed);
        self.load_value(i, (s >> 1) & 1, dst);
    }

    /// Inserts `key` with `value`, or replaces the value of a key already there (copying the
    /// old one into `old`). `me` is the caller's owner tag.
    pub(crate) fn insert(&self, key: &[u8], value: &[u8], old: &mut [u8], me: u64) -> Inserted {
        let (home, tag) = self.home(key);
        // A same-key insert this one lost to, still in progress: waited for before trying again.
        let mut winner: Option<(u64, u64)> = None;
        loop {
            if let Some((i, st)) = self.find(key) {
                self.lock(i, me);
                if self.head(i).state.load(Acquire) != st {
                    self.unlock(i);
                    continue;
                }
                self.held_value(i, old);
                self.write_value(i, value);
                self.unlock(i);
                return Inserted::Replaced;
            }
            if let Some((j, s)) = winner.take() {
                if self.wait_while(j, s, me) {
                    continue;
                }
            }
            if self.len_word().load(Relaxed) >= self.capacity {
                return Inserted::Full;
            }
            let Some((i, d, free)) = self.first_free(home) else {
                // Every slot claimed with at most `capacity` entries: claims of dead processes
                // hold the rest. Give them back and look again.
                if self.reclaim(me) > 0 {
                    continue;
                }
                return Inserted::Full;
            };
            let (v, _, _) = unpack(free);
            let version = v.wrapping_add(1);
            if self.head(i).state.compare_exchange(free, state(version, tag, phase::BUSY), AcqRel, Relaxed).is_err() {
                continue;
            }
            // Claimed: nobody else writes the slot now, but a stale updater may hold its lock for
            // a moment (it will see the new version and let go).
            self.lock(i, me);
            self.store_key(i, key);
            self.write_value(i, value);
            let inserting = state(version, tag, phase::INSERTING);
            self.head(i).state.store(inserting, Release);
            // Every insert of the key then updates the bound of the key's home slot, a
            // read-modify-write: of two inserts of one key, the later update acquires the
            // earlier's, so its contest below sees the earlier INSERTING (or what became of it).
            // The one further along the probe sequence gives way. Raising the bound before the
            // member is published also lets every lookup that follows the insert reach it.
            let bound = self.head(home).bound.fetch_max(d as u32, AcqRel).max(d as u32);
            let lost = self.contest(key, tag, home, (bound as u64).min(self.mask), i, d);
            if lost.is_none() {
                let member = state(version, tag, phase::MEMBER);
                if self.head(i).state.compare_exchange(inserting, member, AcqRel, Relaxed).is_ok() {
                    self.len_word().fetch_add(1, Relaxed);
                    self.unlock(i);
                    return Inserted::New;
                }
            }
            // Lost (or collided by the winner): free the slot and look again.
            self.head(i).state.store(state(version, tag, phase::DELETED), Release);
            self.unlock(i);
            winner = lost;
        }
    }

    /// The first claimable slot from `home`: its index, probe distance and state word.
    fn first_free(&self, home: u64) -> Option<(u64, u64, u64)> {
        (0..=self.mask).find_map(|d| {
            let i = (home + d) & self.mask;
            let st = self.head(i).state.load(Relaxed);
            matches!(unpack(st).2, phase::EMPTY | phase::DELETED).then_some((i, d, st))
        })
    }

    /// Checks the probe sequence of `home` for another insert of `key` while ours (slot `mine`,
    /// distance `d`) is INSERTING, up to probe distance `bound`: collides those further along, and returns the slot and state
    /// of one we lose to (a member, or an insert nearer home), if any.
    fn contest(&self, key: &[u8], tag: u32, home: u64, bound: u64, mine: u64, d: u64) -> Option<(u64, u64)> {
        for e in 0..=bound {
            let j = (home + e) & self.mask;
            if j == mine {
                continue;
            }
            let mut s = self.head(j).state.load(Acquire);
            loop {
                let (v, t, p) = unpack(s);
                if t != tag || !matches!(p, phase::INSERTING | phase::MEMBER) || !self.key_is(j, key) {
                    break;
                }
                fence(Acquire);
                let now = self.head(j).state.load(Relaxed);
                if now != s {
                    s = now;
                    continue;
                }
                if p == phase::MEMBER || e < d {
                    return Some((j, s));
                }
                match self.head(j).state.compare_exchange(s, state(v, t, phase::COLLIDED), AcqRel, Acquire) {
                    Ok(_) => break,
                    // It became a member (we lose) or was freed: look at it again.
                    Err(now) => s = now,
                }
            }
        }
        None
    }

    /// Waits while slot `j` still has state `s` (an insert in progress that ours lost to),
    /// taking it over if its inserter died; returns whether the caller should look again.
    fn wait_while(&self, j: u64, s: u64, me: u64) -> bool {
        if unpack(s).2 == phase::MEMBER {
            return true;
        }
        let mut spins = 0u32;
        while self.head(j).state.load(Acquire) == s {
            spins = spins.wrapping_add(1);
            if spins % SPINS_BEFORE_LIVENESS == 0 {
                // An insert in progress holds its slot's lock: a dead holder is taken over (and
                // the slot repaired by `lock`); no holder at all means damaged bytes.
                let owner = self.head(j).owner.load(Acquire);
                if owner == 0 || (owner != me && !(self.alive)(owner)) {
                    self.lock(j, me);
                    if self.head(j).state.load(Acquire) == s {
                        self.repair(j);
                    }
                    self.unlock(j);
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
        loop {
            let Some((i, st)) = self.find(key) else {
                return false;
            };
            self.lock(i, me);
            if self.head(i).state.load(Acquire) != st {
                self.unlock(i);
                continue;
            }
            self.held_value(i, old);
            let (v, t, _) = unpack(st);
            self.head(i).state.store(state(v, t, phase::DELETED), Release);
            self.len_word().fetch_sub(1, Relaxed);
            self.unlock(i);
            return true;
        }
    }

    /// Replaces `key`'s value with `f(value)` under its slot lock (other updates of the key wait,
    /// lookups do not): whether the key was there. `value` holds the new value afterwards.
    pub(crate) fn update(&self, key: &[u8], value: &mut [u8], me: u64, f: &mut dyn FnMut(&mut [u8])) -> bool {
        loop {
            let Some((i, st)) = self.find(key) else {
                return false;
            };
            self.lock(i, me);
            // Unlocks even if `f` panics.
            struct Held<'a>(&'a MapCore, u64);
            impl Drop for Held<'_> {
                fn drop(&mut self) {
                    self.0.unlock(self.1);
                }
            }
            let _held = Held(self, i);
            if self.head(i).state.load(Acquire) != st {
                continue;
            }
            self.held_value(i, value);
            f(value);
            self.write_value(i, value);
            return true;
        }
    }

    /// Calls `each(key, value)` for every entry, each read consistently (a snapshot of each
    /// entry, not of the map: entries inserted or removed meanwhile may or may not be seen).
    pub(crate) fn for_each(&self, key: &mut [u8], value: &mut [u8], mut each: impl FnMut(&[u8], &[u8])) {
        for i in 0..self.slots() {
            loop {
                let st = self.head(i).state.load(Acquire);
                if unpack(st).2 != phase::MEMBER {
                    break;
                }
                self.load_key(i, key);
                fence(Acquire);
                if self.head(i).state.load(Relaxed) != st {
                    continue;
                }
                if self.read_value(i, st, value) {
                    each(key, value);
                    break;
                }
            }
        }
    }

    /// Gives back every slot whose lock holder `alive` says is dead (a claim it never finished
    /// is freed, a value write it left half done is rolled back); returns how many.
    pub(crate) fn reclaim(&self, me: u64) -> u64 {
        let mut reclaimed = 0;
        for i in 0..self.slots() {
            let owner = self.head(i).owner.load(Acquire);
            if owner == 0 || owner == me || (self.alive)(owner) {
                continue;
            }
            if self.head(i).owner.compare_exchange(owner, me, Acquire, Relaxed).is_ok() {
                self.repair(i);
                self.unlock(i);
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

    /// Initialises an unpublished table: every slot empty.
    pub(crate) fn init(&self) {
        for i in 0..self.slots() {
            let h = self.head(i);
            h.state.store(0, Relaxed);
            h.seq.store(0, Relaxed);
            h.owner.store(0, Relaxed);
            h.bound.store(0, Relaxed);
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
