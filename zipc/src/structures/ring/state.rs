//! A ring's live state for `inspect` ([`RingState`]), read once from its words and rendered.

use super::*;

/// Live state for `inspect`: positions, role holders and waiter counts, read once and never
/// trusted (impossible positions are reported in `problems`; the length is clamped).
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> RingState {
    use Holder;
    let word = |f: u64| region.u64_at(f).load(Acquire);
    // In the order that keeps a consistent ring consistent while it moves: `missed` only grows
    // with `read_pos`, `read_pos` never passes `write_pos`, `claim` never falls below it.
    let missed = word(field::MISSED);
    let lost = word(field::LOST);
    let read_pos = word(field::READ_POS);
    // The close before `write_pos`: once `closed` is seen, `write_pos` is the end.
    let closed = word(field::CLOSED) != 0;
    let end = word(field::END);
    let write_pos = word(field::WRITE_POS);
    let claim = word(field::CLAIM);
    let capacity = desc.capacity;
    let overwrite = desc.flags & flags::RING_OVERWRITE != 0;
    if write_pos > MAX_POSITION {
        problems.push(format!("write_pos {write_pos} is beyond {MAX_POSITION}"));
    }
    if read_pos > write_pos {
        problems.push(format!("read_pos {read_pos} is ahead of write_pos {write_pos}"));
    } else if !overwrite && write_pos - read_pos > capacity {
        problems.push(format!("write_pos {write_pos} is more than the capacity ahead of read_pos {read_pos}"));
    }
    if missed > read_pos || (!overwrite && missed != 0) {
        let mode = if overwrite { "overwrite" } else { "lossless" };
        problems.push(format!("missed {missed} is impossible with read_pos {read_pos} in {mode} mode"));
    }
    if claim < write_pos {
        problems.push(format!("claim {claim} is behind write_pos {write_pos}"));
    }
    if closed && end != write_pos {
        problems.push(format!("closed at end {end}, but write_pos is {write_pos}"));
    }
    let waiters = |at: u64| region.u32_at(at + 4).load(Relaxed); // `u32 epoch, u32 waiters`
    RingState {
        overwrite,
        capacity,
        len: write_pos.saturating_sub(read_pos).min(capacity),
        write_pos,
        read_pos,
        claim,
        missed,
        lost,
        closed,
        producer: Holder::from_tag(word(field::PRODUCER)),
        consumer: Holder::from_tag(word(field::CONSUMER)),
        waiting_consumers: waiters(field::DATA_READY),
        waiting_producers: waiters(field::SPACE_READY),
    }
}

/// A ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingState {
    /// Overwrite mode (else lossless).
    pub overwrite: bool,
    /// Slots.
    pub capacity: u64,
    /// Elements written and not yet passed by the consumer (clamped to `0..=capacity`).
    pub len: u64,
    /// Elements written (the producer's position).
    pub write_pos: u64,
    /// The consumer's position.
    pub read_pos: u64,
    /// Elements whose writing has begun.
    pub claim: u64,
    /// Elements the consumer skipped because they were overwritten.
    pub missed: u64,
    /// Elements lost to consumers that died mid-pop.
    pub lost: u64,
    /// Closed by its producer: nothing more is pushed, the consumer drains what was.
    pub closed: bool,
    /// The producer role's holder.
    pub producer: Option<Holder>,
    /// The consumer role's holder.
    pub consumer: Option<Holder>,
    /// Consumers asleep waiting for data.
    pub waiting_consumers: u32,
    /// Producers asleep waiting for space (lossless mode).
    pub waiting_producers: u32,
}

impl LiveState for RingState {
    fn report(&self, out: &mut Vec<String>) {
        let r = self;
        let mode = if r.overwrite { "overwrite" } else { "lossless" };
        let closed = if r.closed { ", closed" } else { "" };
        out.push(format!(
            "{mode}{closed} {} {}/{} ({})",
            bar(r.len, r.capacity),
            r.len,
            r.capacity,
            percent(r.len, r.capacity)
        ));
        let lost = if r.lost > 0 { format!(", lost {}", r.lost) } else { String::new() };
        out.push(format!(
            "written {}, read {}, missed {}{lost}; producer {}; consumer {}",
            r.write_pos,
            r.read_pos.saturating_sub(r.missed).saturating_sub(r.lost),
            r.missed,
            holder(&r.producer),
            holder(&r.consumer)
        ));
        if r.waiting_consumers > 0 || r.waiting_producers > 0 {
            out.push(format!("asleep: {} consumers, {} producers", r.waiting_consumers, r.waiting_producers));
        }
    }

    fn json(&self) -> Json {
        let r = self;
        let u = |v: u32| Json::U(v.into());
        Json::O(vec![
            ("mode", Json::s(if r.overwrite { "overwrite" } else { "lossless" })),
            ("capacity", Json::U(r.capacity)),
            ("len", Json::U(r.len)),
            ("write_pos", Json::U(r.write_pos)),
            ("read_pos", Json::U(r.read_pos)),
            ("claim", Json::U(r.claim)),
            ("missed", Json::U(r.missed)),
            ("lost", Json::U(r.lost)),
            ("closed", Json::Bool(r.closed)),
            ("producer", opt_holder_json(&r.producer)),
            ("consumer", opt_holder_json(&r.consumer)),
            ("waiting_consumers", u(r.waiting_consumers)),
            ("waiting_producers", u(r.waiting_producers)),
        ])
    }
}
