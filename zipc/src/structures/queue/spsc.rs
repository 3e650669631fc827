//! The single-producer, single-consumer algorithm (see the queue's module docs, *Algorithms*): the
//! producer stamps each slot, the consumer polls the slot and never reads `tail`.

use super::raw::*;
use super::*;

impl<E: Element> Raw<E> {
    // --- SPSC ------------------------------------------------------------------------------
    //
    // The producer stamps each slot's sequence number (`seq = p + 1`: "holds p") after writing
    // it, as a Vyukov producer does, so the consumer polls the slot itself — one line, which also
    // holds the element — and never reads `tail`. The consumer does not write slots; the producer
    // learns about free space from `head`, which it caches and reloads only when the cache says
    // the queue is full. In steady state each side writes its own index line and (the producer)
    // one slot, and a message crosses between the cores in the one line that carries it.

    /// Loads the shared indices into a new producer's state. A predecessor that died after
    /// stamping slots but before storing `tail` had those elements accepted (the consumer reads
    /// stamped slots): the new producer resumes after them. An unstamped write is overwritten.
    ///
    /// The consumer may even have popped such elements already: `head` is then past `tail` (by at
    /// most the capacity), and every position in between is stamped. The new producer resumes
    /// at `head` after checking those stamps.
    pub(crate) fn spsc_tx(&self) -> std::result::Result<TxState, Corrupt> {
        let mut tail = self.idx().tail.0.load(Acquire);
        let head = self.idx().head.0.head.load(Acquire);
        let popped_ahead = head.wrapping_sub(tail);
        if popped_ahead != 0 && popped_ahead <= self.cap {
            for p in (0..popped_ahead).map(|i| tail.wrapping_add(i)) {
                if self.seq(p).load(Acquire) != p.wrapping_add(1) {
                    return Err(corrupt(
                        "head",
                        format!("head {head} is past tail {tail}, but position {p} between them was never pushed"),
                    ));
                }
            }
            tail = head;
        }
        self.check_used(tail, head)?;
        for _ in 0..self.cap {
            if self.seq(tail).load(Acquire) != tail.wrapping_add(1) || tail.wrapping_sub(head) >= self.cap {
                break;
            }
            tail = tail.wrapping_add(1);
        }
        self.idx().tail.0.store(tail, Release);
        Ok(TxState { tail, cached_head: head, lane: NO_LANE, closed: self.spsc_closed() })
    }

    /// Loads the shared indices into a new consumer's state, and returns how many elements a
    /// predecessor that died copying them out took with it: `reading` past `head` names them
    /// (their slots are still stamped full). They are skipped and counted as lost.
    pub(crate) fn spsc_rx(&self) -> std::result::Result<(RxState, u64), Corrupt> {
        let mut head = self.idx().head.0.head.load(Acquire);
        let in_flight = self.idx().head.0.reading.load(Relaxed).wrapping_sub(head);
        let mut lost = 0;
        if in_flight != 0 && in_flight <= self.cap {
            let last = head.wrapping_add(in_flight - 1);
            if self.seq(last).load(Acquire) == last.wrapping_add(1) {
                head = head.wrapping_add(in_flight);
                self.idx().head.0.head.store(head, Release);
                self.count_lost(in_flight);
                self.popped(in_flight, false);
                lost = in_flight;
            }
        }
        Ok((RxState { head, lane: NO_LANE, lost_on_takeover: lost }, lost))
    }

    /// `tail - head` must be in `0..=cap`.
    #[inline(always)]
    pub(super) fn check_used(&self, tail: u64, head: u64) -> std::result::Result<u64, Corrupt> {
        let used = tail.wrapping_sub(head);
        if used > self.cap {
            return Err(corrupt(
                "head",
                format!("tail {tail} and head {head} are {used} apart in a queue of {} slots", self.cap),
            ));
        }
        Ok(used)
    }

    /// Free slots as the producer sees them, reloading `head` only if the cache says fewer than
    /// `want` are free.
    #[inline(always)]
    pub(super) fn spsc_free(&self, tx: &mut TxState, want: u64) -> std::result::Result<u64, Corrupt> {
        let free = self.cap - tx.tail.wrapping_sub(tx.cached_head);
        if free >= want {
            return Ok(free);
        }
        // Cache only a validated value: the fast path above trusts the cache.
        let head = self.idx().head.0.head.load(Acquire);
        let used = self.check_used(tx.tail, head)?;
        tx.cached_head = head;
        Ok(self.cap - used)
    }

    /// Writes the element at `src` into the free slot of position `pos` and stamps it.
    ///
    /// # Safety
    ///
    /// Position `pos` is free (the consumer's release of `head` past its previous lap was
    /// acquired) and this is the only producer; `src` holds an element.
    #[inline(always)]
    pub(super) unsafe fn spsc_put(&self, pos: u64, src: *const u8) {
        // SAFETY: the slot is ours to write (caller's contract); the consumer reads it only
        // after acquiring the stamp below.
        unsafe { self.elem.put(self.value(pos), src) };
        self.seq(pos).store(pos.wrapping_add(1), Release);
    }

    /// Pushes the element in `src` if there is room.
    #[inline(always)]
    pub(crate) fn spsc_try_push(&self, tx: &mut TxState, src: &[u8]) -> std::result::Result<bool, Halt> {
        self.one(src.len());
        if tx.closed {
            return Err(Halt::Closed);
        }
        if self.spsc_free(tx, 1)? == 0 {
            return Ok(false);
        }
        // SAFETY: position `tail` is free (checked against `head` above); `src` holds an
        // element (checked).
        unsafe { self.spsc_put(tx.tail, src.as_ptr()) };
        tx.tail = tx.tail.wrapping_add(1);
        // For `len`, inspection and a successor: the consumer does not read it.
        self.idx().tail.0.store(tx.tail, Release);
        self.pushed(1, false);
        Ok(true)
    }

    /// How many of the `want` positions from `head` are stamped full (at most `want`).
    #[inline(always)]
    pub(super) fn spsc_ready(&self, head: u64, want: u64) -> u64 {
        let mut n = 0;
        while n < want && self.seq(head.wrapping_add(n)).load(Acquire) == head.wrapping_add(n + 1) {
            n += 1;
        }
        n
    }

    /// Pops the oldest element into `dst` if there is one.
    #[inline(always)]
    pub(crate) fn spsc_try_pop(&self, rx: &mut RxState, dst: &mut [u8]) -> std::result::Result<bool, Halt> {
        self.one(dst.len());
        let head = rx.head;
        if self.seq(head).load(Acquire) != head.wrapping_add(1) {
            return if self.drained(head, false) { Err(Halt::Closed) } else { Ok(false) };
        }
        let next = head.wrapping_add(1);
        // Read only by a successor after our death (`spsc_rx`): our own line, no ordering needed.
        self.idx().head.0.reading.store(next, Relaxed);
        // SAFETY: position `head` holds an element (its stamp was acquired) and the producer
        // does not write it again before our release of `head` past it. `dst` has room for an
        // element (checked).
        unsafe { self.elem.get(dst.as_mut_ptr(), self.value(head)) };
        rx.head = next;
        self.idx().head.0.head.store(next, Release);
        self.popped(1, false);
        Ok(true)
    }

    pub(crate) fn spsc_push_bulk(&self, tx: &mut TxState, src: &[u8]) -> std::result::Result<usize, Halt> {
        let want = self.count(src.len()).min(self.cap);
        if tx.closed && want > 0 {
            return Err(Halt::Closed);
        }
        let n = self.spsc_free(tx, want)?.min(want);
        if n == 0 {
            return Ok(0);
        }
        let size = self.elem.size();
        for i in 0..n as usize {
            // SAFETY: as in `spsc_try_push`, for each of the `n` free positions from `tail`;
            // element `i < count` lies inside `src`.
            unsafe { self.spsc_put(tx.tail.wrapping_add(i as u64), src.as_ptr().add(i * size)) };
        }
        tx.tail = tx.tail.wrapping_add(n);
        self.idx().tail.0.store(tx.tail, Release);
        self.pushed(n, false);
        Ok(n as usize)
    }

    pub(crate) fn spsc_pop_bulk(&self, rx: &mut RxState, dst: &mut [u8]) -> std::result::Result<usize, Halt> {
        let want = self.count(dst.len()).min(self.cap);
        let n = self.spsc_ready(rx.head, want);
        if n == 0 {
            return if want > 0 && self.drained(rx.head, false) { Err(Halt::Closed) } else { Ok(0) };
        }
        self.idx().head.0.reading.store(rx.head.wrapping_add(n), Relaxed);
        let size = self.elem.size();
        for i in 0..n as usize {
            // SAFETY: as in `spsc_try_pop`, for each of the `n` stamped positions from `head`;
            // element `i < count` lies inside `dst`.
            unsafe { self.elem.get(dst.as_mut_ptr().add(i * size), self.value(rx.head.wrapping_add(i as u64))) };
        }
        rx.head = rx.head.wrapping_add(n);
        self.idx().head.0.head.store(rx.head, Release);
        self.popped(n, false);
        Ok(n as usize)
    }
}
