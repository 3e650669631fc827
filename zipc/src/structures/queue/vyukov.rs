//! Vyukov's bounded queue (as in crossbeam's `ArrayQueue`): its producers (MPSC, MPMC), its
//! consumers (MPMC), and the single MPSC consumer that needs no compare-and-swap. Every claim is
//! recorded in the claimer's lane first (`lanes.rs`, `recovery.rs`).

use super::raw::*;
use super::*;

impl<E: Element> Raw<E> {
    // --- Vyukov: producers (MPSC, MPMC) ----------------------------------------------------

    /// A producer found the slot of `tail` ahead of it: another producer claimed `tail`, so the
    /// shared tail has moved (the claim's CAS happens before the stamp we acquired). Returns the
    /// new tail, or `Corrupt` if it has not moved.
    #[inline(always)]
    pub(super) fn moved_on(
        &self,
        which: &AtomicU64,
        old: u64,
        field: &'static str,
    ) -> std::result::Result<u64, Corrupt> {
        let now = which.load(Relaxed);
        if now == old {
            return Err(corrupt(
                field,
                format!("the slot of position {old} is stamped ahead of it, but {field} has not moved past it"),
            ));
        }
        Ok(now)
    }

    /// Pushes the element in `src` if there is room, recording the attempt in `lane`.
    #[inline(always)]
    pub(crate) fn mp_try_push(&self, lane: &Lane, src: &[u8], many_consumers: bool) -> std::result::Result<bool, Halt> {
        self.one(src.len());
        let op = self.op(op::PUSH);
        let tail_word = &self.idx().tail.0;
        let mut tail = tail_word.load(Relaxed);
        loop {
            let seq = self.seq(tail).load(Acquire);
            let diff = seq.wrapping_sub(tail) as i64;
            if diff == 0 {
                // The record precedes the claim (release), so whoever sees the claim sees it.
                lane.begin(op, tail, 1);
                match tail_word.compare_exchange_weak(tail, tail.wrapping_add(1), Release, Relaxed) {
                    Ok(_) => {
                        lane.claimed(op);
                        // SAFETY: we claimed position `tail`, whose slot was free (`seq == tail`,
                        // acquired from the consumer that emptied it); nobody reads it before
                        // our release of `seq` below. `src` holds an element (checked).
                        unsafe { self.elem.put(self.value(tail), src.as_ptr()) };
                        self.seq(tail).store(tail.wrapping_add(1), Release);
                        self.pushed(1, many_consumers);
                        return Ok(true);
                    }
                    Err(t) => tail = t,
                }
            } else if diff < 0 {
                lane.end();
                if self.mp_closed() {
                    return Err(Halt::Closed);
                }
                self.full_at(tail, many_consumers);
                return Ok(false); // still holds the element from one lap ago: full
            } else {
                tail = self.moved_on(tail_word, tail, "tail").inspect_err(|_| lane.end())?;
            }
        }
    }

    pub(crate) fn mp_push_bulk(
        &self,
        lane: &Lane,
        src: &[u8],
        many_consumers: bool,
    ) -> std::result::Result<usize, Halt> {
        let want = self.count(src.len()).min(self.cap);
        if want == 0 {
            return Ok(0);
        }
        let size = self.elem.size();
        let op = self.op(op::PUSH);
        let tail_word = &self.idx().tail.0;
        let mut tail = tail_word.load(Relaxed);
        loop {
            // The longest run of free slots from `tail`. A slot free for its position stays free
            // until someone claims that position, which our CAS below would notice.
            let mut n = 0;
            while n < want && self.seq(tail.wrapping_add(n)).load(Acquire) == tail.wrapping_add(n) {
                n += 1;
            }
            if n == 0 {
                let diff = self.seq(tail).load(Acquire).wrapping_sub(tail) as i64;
                if diff < 0 {
                    lane.end();
                    if self.mp_closed() {
                        return Err(Halt::Closed);
                    }
                    self.full_at(tail, many_consumers);
                    return Ok(0);
                }
                if diff > 0 {
                    tail = self.moved_on(tail_word, tail, "tail").inspect_err(|_| lane.end())?;
                }
                continue;
            }
            lane.begin(op, tail, n);
            match tail_word.compare_exchange_weak(tail, tail.wrapping_add(n), Release, Relaxed) {
                Ok(_) => {
                    lane.claimed(op);
                    for i in 0..n as usize {
                        let pos = tail.wrapping_add(i as u64);
                        // SAFETY: as in `mp_try_push`: we claimed `pos`, whose slot was free;
                        // element `i < count` lies inside `src`.
                        unsafe { self.elem.put(self.value(pos), src.as_ptr().add(i * size)) };
                        self.seq(pos).store(pos.wrapping_add(1), Release);
                    }
                    self.pushed(n, many_consumers);
                    return Ok(n as usize);
                }
                Err(t) => tail = t,
            }
        }
    }

    // --- Vyukov: consumers (MPMC) ------------------------------------------------------------

    /// Claims position `head`, whose slot holds a tombstone, and frees it for the next lap:
    /// the loss was counted when the tombstone was laid. Returns the head to go on from.
    #[cold]
    pub(super) fn mc_pass_tombstone(&self, lane: &Lane, head: u64) -> u64 {
        let op = self.op(op::POP) | op::TOMBSTONE;
        let next = head.wrapping_add(1);
        lane.begin(op, head, 1);
        match self.idx().head.0.head.compare_exchange(head, next, Release, Relaxed) {
            Ok(_) => {
                lane.claimed(op);
                self.seq(head).store(head.wrapping_add(self.cap), Release);
                self.popped(1, true);
                next
            }
            Err(h) => h,
        }
    }

    /// Pops the oldest element into `dst` if there is one, recording the attempt in `lane`.
    #[inline(always)]
    pub(crate) fn mc_try_pop(&self, lane: &Lane, dst: &mut [u8]) -> std::result::Result<bool, Halt> {
        self.one(dst.len());
        let op = self.op(op::POP);
        let head_word = &self.idx().head.0.head;
        let mut head = head_word.load(Relaxed);
        loop {
            let seq = self.seq(head).load(Acquire);
            let next = head.wrapping_add(1);
            let diff = seq.wrapping_sub(next) as i64;
            if diff == 0 {
                lane.begin(op, head, 1);
                match head_word.compare_exchange_weak(head, next, Release, Relaxed) {
                    Ok(_) => {
                        lane.claimed(op);
                        // SAFETY: we claimed position `head`, whose slot holds it (`seq == head +
                        // 1`, acquired from its producer); nobody writes it before our release of
                        // `seq` below. `dst` has room for an element (checked).
                        unsafe { self.elem.get(dst.as_mut_ptr(), self.value(head)) };
                        self.seq(head).store(head.wrapping_add(self.cap), Release);
                        self.popped(1, true);
                        return Ok(true);
                    }
                    Err(h) => head = h,
                }
            } else if seq == tombstone(head) {
                head = self.mc_pass_tombstone(lane, head);
            } else if diff < 0 {
                lane.end();
                if self.drained(head, true) {
                    return Err(Halt::Closed);
                }
                self.empty_at(head);
                return Ok(false); // not yet written for this lap: empty
            } else {
                head = self.moved_on(head_word, head, "head").inspect_err(|_| lane.end())?;
            }
        }
    }

    pub(crate) fn mc_pop_bulk(&self, lane: &Lane, dst: &mut [u8]) -> std::result::Result<usize, Halt> {
        let want = self.count(dst.len()).min(self.cap);
        if want == 0 {
            return Ok(0);
        }
        let size = self.elem.size();
        let op = self.op(op::POP);
        let head_word = &self.idx().head.0.head;
        let mut head = head_word.load(Relaxed);
        loop {
            let mut n = 0;
            while n < want && self.seq(head.wrapping_add(n)).load(Acquire) == head.wrapping_add(n + 1) {
                n += 1;
            }
            if n == 0 {
                let seq = self.seq(head).load(Acquire);
                if seq == tombstone(head) {
                    head = self.mc_pass_tombstone(lane, head);
                    continue;
                }
                let diff = seq.wrapping_sub(head.wrapping_add(1)) as i64;
                if diff < 0 {
                    lane.end();
                    if self.drained(head, true) {
                        return Err(Halt::Closed);
                    }
                    self.empty_at(head);
                    return Ok(0);
                }
                if diff > 0 {
                    head = self.moved_on(head_word, head, "head").inspect_err(|_| lane.end())?;
                }
                continue;
            }
            lane.begin(op, head, n);
            match head_word.compare_exchange_weak(head, head.wrapping_add(n), Release, Relaxed) {
                Ok(_) => {
                    lane.claimed(op);
                    for i in 0..n as usize {
                        let pos = head.wrapping_add(i as u64);
                        // SAFETY: as in `mc_try_pop`: we claimed `pos`, whose slot holds it;
                        // element `i < count` lies inside `dst`.
                        unsafe { self.elem.get(dst.as_mut_ptr().add(i * size), self.value(pos)) };
                        self.seq(pos).store(pos.wrapping_add(self.cap), Release);
                    }
                    self.popped(n, true);
                    return Ok(n as usize);
                }
                Err(h) => head = h,
            }
        }
    }

    // --- Vyukov: the single consumer (MPSC) ----------------------------------------------------

    /// Loads the shared head into a new single consumer's state, and returns how many elements
    /// a predecessor that died in the middle of a pop took with it. Its `reading` past `head`
    /// names the positions it was copying out: all of them are lost (the pop never returned);
    /// those not yet stamped are freed. A predecessor that died between stamping slots free and
    /// storing `head` (after passing tombstones) left seqs one lap ahead (`head + cap`, or
    /// `head + cap + 1` if a producer refilled the slot since), never a state a live consumer
    /// leaves behind: those are skipped without a loss.
    pub(crate) fn sc_rx(&self) -> std::result::Result<(RxState, u64), Corrupt> {
        let start = self.idx().head.0.head.load(Acquire);
        let mut head = start;
        let in_flight = self.idx().head.0.reading.load(Relaxed).wrapping_sub(start);
        let mut lost = 0;
        if in_flight != 0 && in_flight <= self.cap {
            for i in 0..in_flight {
                let p = start.wrapping_add(i);
                let seq = self.seq(p).load(Acquire);
                let d = seq.wrapping_sub(p);
                if d == 1 {
                    self.seq(p).store(p.wrapping_add(self.cap), Release);
                } else if d != self.cap && d != self.cap + 1 {
                    return Err(corrupt(
                        "reading",
                        format!("position {p} of the pop in flight has sequence number {seq}"),
                    ));
                }
            }
            head = head.wrapping_add(in_flight);
            lost = in_flight;
        }
        for _ in 0..self.cap {
            let d = self.seq(head).load(Acquire).wrapping_sub(head);
            if d != self.cap && d != self.cap + 1 {
                break;
            }
            head = head.wrapping_add(1);
        }
        if head != start {
            self.idx().head.0.head.store(head, Release);
            self.popped(head.wrapping_sub(start), true);
        }
        if lost > 0 {
            self.count_lost(lost);
        }
        Ok((RxState { head, lane: NO_LANE, lost_on_takeover: lost }, lost))
    }

    /// A single consumer finding its slot stamped ahead: someone else consumed it.
    #[cold]
    pub(super) fn sc_ahead(&self, head: u64, seq: u64) -> Corrupt {
        corrupt(
            "head",
            format!("the slot of position {head} is stamped {seq}: another process consumed it, but the queue has a single consumer"),
        )
    }

    /// The single consumer passes the tombstone at `rx.head`: frees it for the next lap.
    #[cold]
    pub(super) fn sc_pass_tombstone(&self, rx: &mut RxState) {
        let head = rx.head;
        self.seq(head).store(head.wrapping_add(self.cap), Release);
        rx.head = head.wrapping_add(1);
        self.idx().head.0.head.store(rx.head, Release);
        self.popped(1, true);
    }

    /// Pops the oldest element into `dst` if there is one.
    #[inline(always)]
    pub(crate) fn sc_try_pop(&self, rx: &mut RxState, dst: &mut [u8]) -> std::result::Result<bool, Halt> {
        self.one(dst.len());
        loop {
            let head = rx.head;
            let seq = self.seq(head).load(Acquire);
            let diff = seq.wrapping_sub(head.wrapping_add(1)) as i64;
            if diff == 0 {
                let next = head.wrapping_add(1);
                // Read only by a successor after our death (`sc_rx`): no ordering needed.
                self.idx().head.0.reading.store(next, Relaxed);
                // SAFETY: as in `mc_try_pop`; being the only consumer, we need no claim.
                unsafe { self.elem.get(dst.as_mut_ptr(), self.value(head)) };
                self.seq(head).store(head.wrapping_add(self.cap), Release);
                rx.head = next;
                self.idx().head.0.head.store(next, Release);
                self.popped(1, true);
                return Ok(true);
            }
            if seq == tombstone(head) {
                self.sc_pass_tombstone(rx);
                continue;
            }
            if diff > 0 {
                return Err(self.sc_ahead(head, seq).into());
            }
            if self.drained(head, true) {
                return Err(Halt::Closed);
            }
            self.empty_at(head);
            return Ok(false);
        }
    }

    pub(crate) fn sc_pop_bulk(&self, rx: &mut RxState, dst: &mut [u8]) -> std::result::Result<usize, Halt> {
        let want = self.count(dst.len()).min(self.cap);
        if want == 0 {
            return Ok(0);
        }
        let size = self.elem.size();
        loop {
            let head = rx.head;
            let mut n = 0;
            while n < want && self.seq(head.wrapping_add(n)).load(Acquire) == head.wrapping_add(n + 1) {
                n += 1;
            }
            if n == 0 {
                let seq = self.seq(head).load(Acquire);
                if seq == tombstone(head) {
                    self.sc_pass_tombstone(rx);
                    continue;
                }
                if (seq.wrapping_sub(head.wrapping_add(1)) as i64) > 0 {
                    return Err(self.sc_ahead(head, seq).into());
                }
                if self.drained(head, true) {
                    return Err(Halt::Closed);
                }
                self.empty_at(head);
                return Ok(0);
            }
            self.idx().head.0.reading.store(head.wrapping_add(n), Relaxed);
            for i in 0..n {
                let pos = head.wrapping_add(i);
                // SAFETY: as in `sc_try_pop`, for position `pos` (its slot was seen full above, and
                // only we free it); element `i < count` lies inside `dst`.
                unsafe { self.elem.get(dst.as_mut_ptr().add(i as usize * size), self.value(pos)) };
                self.seq(pos).store(pos.wrapping_add(self.cap), Release);
            }
            rx.head = head.wrapping_add(n);
            self.idx().head.0.head.store(rx.head, Release);
            self.popped(n, true);
            return Ok(n as usize);
        }
    }
}
