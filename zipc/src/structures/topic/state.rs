//! A topic's live state for `inspect` ([`TopicState`]): the publisher, every joined
//! subscriber's lag as a bar and its missed count, read once from the words and never trusted.

use std::sync::atomic::Ordering::{Acquire, Relaxed};

use crate::layout::kinds::topic::{control, header, record, MAX_POSITION, MAX_SUBSCRIBERS, RECORDS, TOPIC_LOSSY};
use crate::segment::description::Descriptor;
use crate::segment::region::Region;
use crate::structures::render::{bar, holder, opt_holder_json, plural, Json, LiveState};
use crate::sys::role::Holder;

/// One joined subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriberState {
    /// Its record's index.
    pub index: u32,
    /// The process holding the record.
    pub holder: Option<Holder>,
    /// The next position it reads.
    pub cursor: u64,
    /// Samples published and not yet read by it (clamped to the capacity in lossless mode).
    pub lag: u64,
    /// Samples it skipped because they were overwritten (lossy mode).
    pub missed: u64,
    /// Samples received since it joined.
    pub received: u64,
}

/// A topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicState {
    /// Lossy mode (else lossless).
    pub lossy: bool,
    /// Samples in flight.
    pub capacity: u64,
    /// Subscriber records.
    pub max_subscribers: u32,
    /// Samples a joiner receives first.
    pub history: u64,
    /// Samples published.
    pub published: u64,
    /// The publisher role's holder.
    pub publisher: Option<Holder>,
    /// Times the publisher role was taken over from a dead holder.
    pub publisher_takeovers: u64,
    /// Dead subscribers' records freed by survivors.
    pub released: u64,
    /// Closed by its publisher: nothing more is published, subscribers drain what was.
    pub closed: bool,
    /// The joined subscribers, in record order.
    pub subscribers: Vec<SubscriberState>,
    /// Subscribers asleep waiting for samples.
    pub waiting_subscribers: u32,
    /// Publishers asleep waiting for space (lossless).
    pub waiting_publishers: u32,
}

/// Reads a topic's live state; impossible values are reported in `problems` and clamped.
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> TopicState {
    let word = |at: u64| region.u64_at(at).load(Acquire);
    let capacity = desc.capacity;
    let lossy = desc.flags & TOPIC_LOSSY != 0;
    let max_subscribers = desc.maximum.clamp(0, MAX_SUBSCRIBERS as i64) as u64;
    // Never read past the region, whatever the descriptor says.
    let fit = region.size().saturating_sub(RECORDS) / record::SIZE;
    // The close before `write_pos`: once `closed` is seen, `write_pos` is the end.
    let closed = word(header::CLOSED) != 0;
    let end = word(header::END);
    let published = word(header::WRITE_POS);
    if published > MAX_POSITION {
        problems.push(format!("write_pos {published} is beyond {MAX_POSITION}"));
    }
    if closed && end != published {
        problems.push(format!("closed at end {end}, but write_pos is {published}"));
    }
    let mut subscribers = Vec::new();
    for i in 0..max_subscribers.min(fit) {
        let at = RECORDS + i * record::SIZE;
        let owner = word(at + record::OWNER);
        if owner == 0 {
            continue;
        }
        let cursor = word(at + record::CURSOR);
        let missed = word(at + record::MISSED);
        let joined = word(at + record::JOINED);
        if cursor > published {
            problems.push(format!("subscriber {i}: cursor {cursor} is ahead of write_pos {published}"));
        } else if !lossy && published - cursor > capacity {
            problems.push(format!("subscriber {i}: cursor {cursor} is more than the capacity behind {published}"));
        }
        if joined > cursor || missed > cursor - joined.min(cursor) {
            problems
                .push(format!("subscriber {i}: joined {joined} and missed {missed} are impossible at cursor {cursor}"));
        }
        let lag = published.saturating_sub(cursor);
        subscribers.push(SubscriberState {
            index: i as u32,
            holder: Holder::from_tag(owner),
            cursor,
            lag: if lossy { lag } else { lag.min(capacity) },
            missed,
            received: cursor.saturating_sub(joined).saturating_sub(missed),
        });
    }
    let waiters = |at: u64| region.u32_at(at + 4).load(Relaxed); // `u32 epoch, u32 waiters`
    TopicState {
        lossy,
        capacity,
        max_subscribers: max_subscribers as u32,
        history: desc.initial.max(0) as u64,
        published,
        publisher: Holder::from_tag(word(header::PUBLISHER)),
        publisher_takeovers: word(header::PUBLISHER_TAKEOVERS),
        released: word(control::RELEASED),
        closed,
        subscribers,
        waiting_subscribers: waiters(control::DATA_READY),
        waiting_publishers: waiters(control::SPACE_READY),
    }
}

impl LiveState for TopicState {
    fn report(&self, out: &mut Vec<String>) {
        let t = self;
        let mode = if t.lossy { "lossy" } else { "lossless" };
        let closed = if t.closed { ", closed" } else { "" };
        out.push(format!(
            "{mode}{closed}, published {}; publisher {}{}; {} of {} subscribers, history {}",
            t.published,
            holder(&t.publisher),
            if t.publisher_takeovers > 0 {
                format!(" ({})", plural(t.publisher_takeovers, "takeover", "takeovers"))
            } else {
                String::new()
            },
            t.subscribers.len(),
            t.max_subscribers,
            t.history
        ));
        for s in &t.subscribers {
            let missed = if t.lossy { format!(", missed {}", s.missed) } else { String::new() };
            out.push(format!(
                "  #{} lag {} {}/{}, received {}{missed}; {}",
                s.index,
                bar(s.lag.min(t.capacity), t.capacity),
                s.lag,
                t.capacity,
                s.received,
                holder(&s.holder)
            ));
        }
        if t.released > 0 {
            out.push(format!("released {}", plural(t.released, "dead subscriber", "dead subscribers")));
        }
        if t.waiting_subscribers > 0 || t.waiting_publishers > 0 {
            out.push(format!("asleep: {} subscribers, {} publishers", t.waiting_subscribers, t.waiting_publishers));
        }
    }

    fn json(&self) -> Json {
        let t = self;
        let u = |v: u32| Json::U(v.into());
        let subs = t
            .subscribers
            .iter()
            .map(|s| {
                Json::O(vec![
                    ("index", u(s.index)),
                    ("holder", opt_holder_json(&s.holder)),
                    ("cursor", Json::U(s.cursor)),
                    ("lag", Json::U(s.lag)),
                    ("missed", Json::U(s.missed)),
                    ("received", Json::U(s.received)),
                ])
            })
            .collect();
        Json::O(vec![
            ("mode", Json::s(if t.lossy { "lossy" } else { "lossless" })),
            ("capacity", Json::U(t.capacity)),
            ("max_subscribers", u(t.max_subscribers)),
            ("history", Json::U(t.history)),
            ("published", Json::U(t.published)),
            ("publisher", opt_holder_json(&t.publisher)),
            ("publisher_takeovers", Json::U(t.publisher_takeovers)),
            ("released", Json::U(t.released)),
            ("closed", Json::Bool(t.closed)),
            ("subscribers", Json::A(subs)),
            ("waiting_subscribers", u(t.waiting_subscribers)),
            ("waiting_publishers", u(t.waiting_publishers)),
        ])
    }
}
