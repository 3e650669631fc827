//! A queue's live state for `inspect` ([`QueueState`]), read once from its words and rendered.

use super::*;

/// Live state for `inspect` of the queue whose region starts `base` bytes into `region`: the
/// indices, role holders and waiter counts, read once and never trusted (an impossible
/// `tail - head` is clamped and reported in `problems`, prefixed with `label`).
pub(crate) fn inspect_at(
    region: &Region,
    base: u64,
    capacity: u64,
    policy: u32,
    label: &str,
    problems: &mut Vec<String>,
) -> QueueState {
    use Holder;
    let word = |f: u64| region.u64_at(base + f).load(Acquire);
    let word32 = |f: u64| region.u32_at(base + f).load(Relaxed);
    // head before tail (both only grow): a stable head read on both sides of tail makes
    // `tail - head` a value the queue really had, even while others push and pop.
    let (mut head, mut tail) = (word(header::HEAD), 0);
    for _ in 0..3 {
        tail = word(header::TAIL);
        let again = word(header::HEAD);
        if again == head {
            break;
        }
        head = again;
    }
    let closed = word(header::CLOSED);
    if closed != crate::layout::kinds::queue::OPEN
        && tail.wrapping_sub(head) >= crate::layout::kinds::queue::CLOSE_JUMP / 2
    {
        tail = tail.wrapping_sub(crate::layout::kinds::queue::CLOSE_JUMP); // the close's jump
    }
    let d = tail.wrapping_sub(head);
    let len = if (d as i64) < 0 {
        problems.push(format!("{label}head {head} is ahead of tail {tail}"));
        0
    } else if d > capacity {
        problems.push(format!("{label}tail {tail} is {d} positions ahead of head {head}, beyond the capacity"));
        capacity
    } else {
        d
    };
    let single_producer = policy == flags::POLICY_SPSC;
    let single_consumer = policy != flags::POLICY_MPMC;
    let event_waiters = |at: u64| word32(at + 4); // an event count is `u32 epoch, u32 waiters`
    QueueState {
        policy: policy_name(policy).unwrap_or("unknown"),
        capacity,
        len,
        head,
        tail,
        producer: if single_producer { Holder::from_tag(word(header::PRODUCER_OWNER)) } else { None },
        consumer: if single_consumer { Holder::from_tag(word(header::CONSUMER_OWNER)) } else { None },
        producer_takeovers: word32(header::PRODUCER_TAKEOVERS),
        consumer_takeovers: word32(header::CONSUMER_TAKEOVERS),
        waiting_producers: event_waiters(header::NOT_FULL),
        waiting_consumers: event_waiters(header::NOT_EMPTY),
        lost: word(header::LOST),
        close_state: match closed {
            crate::layout::kinds::queue::OPEN => "open",
            crate::layout::kinds::queue::CLOSING => "closing",
            crate::layout::kinds::queue::CLOSED => "closed",
            _ => "unknown",
        },
    }
}

/// Live state for `inspect` (see [`inspect_at`]).
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> QueueState {
    inspect_at(region, 0, desc.capacity, desc.flags, "", problems)
}

/// A queue (or one direction of an endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueState {
    /// `"spsc"`, `"mpsc"` or `"mpmc"`.
    pub policy: &'static str,
    /// Slots.
    pub capacity: u64,
    /// Elements in the queue (`tail - head`, clamped to `0..=capacity`).
    pub len: u64,
    /// Next position to pop.
    pub head: u64,
    /// Next position to push.
    pub tail: u64,
    /// The producer role's holder (single-producer policies).
    pub producer: Option<Holder>,
    /// The consumer role's holder (single-consumer policies).
    pub consumer: Option<Holder>,
    /// Times the producer role was taken over from a dead holder.
    pub producer_takeovers: u32,
    /// Times the consumer role was taken over from a dead holder.
    pub consumer_takeovers: u32,
    /// Producers asleep in a blocking push.
    pub waiting_producers: u32,
    /// Consumers asleep in a blocking pop.
    pub waiting_consumers: u32,
    /// Messages lost to processes that died mid-operation.
    pub lost: u64,
    /// `"open"`, `"closing"` (a close has begun: pushes are refused) or `"closed"`.
    pub close_state: &'static str,
}

pub(crate) fn queue_lines(q: &QueueState, label: &str, out: &mut Vec<String>) {
    out.push(format!("{label}{} {}/{} ({})", bar(q.len, q.capacity), q.len, q.capacity, percent(q.len, q.capacity)));
    let mut roles = Vec::new();
    if q.policy != "mpmc" {
        if q.policy == "spsc" {
            roles.push(format!("producer {}", holder(&q.producer)));
        }
        roles.push(format!("consumer {}", holder(&q.consumer)));
    }
    roles.push(format!("head {}, tail {}", q.head, q.tail));
    if q.close_state != "open" {
        roles.push(q.close_state.to_owned());
    }
    out.push(roles.join("; "));
    let mut extra = Vec::new();
    if q.waiting_producers > 0 || q.waiting_consumers > 0 {
        extra.push(format!("asleep: {} producers, {} consumers", q.waiting_producers, q.waiting_consumers));
    }
    if q.producer_takeovers > 0 || q.consumer_takeovers > 0 {
        extra.push(format!(
            "roles taken over from dead holders: producer {}, consumer {}",
            q.producer_takeovers, q.consumer_takeovers
        ));
    }
    if q.lost > 0 {
        extra.push(format!("{} lost to processes that died mid-operation", plural(q.lost, "message", "messages")));
    }
    if !extra.is_empty() {
        out.push(extra.join("; "));
    }
}

pub(crate) fn queue_json(q: &QueueState) -> Json {
    Json::O(vec![
        ("policy", Json::s(q.policy)),
        ("capacity", Json::U(q.capacity)),
        ("len", Json::U(q.len)),
        ("head", Json::U(q.head)),
        ("tail", Json::U(q.tail)),
        ("producer", opt_holder_json(&q.producer)),
        ("consumer", opt_holder_json(&q.consumer)),
        ("producer_takeovers", Json::U(q.producer_takeovers.into())),
        ("consumer_takeovers", Json::U(q.consumer_takeovers.into())),
        ("waiting_producers", Json::U(q.waiting_producers.into())),
        ("waiting_consumers", Json::U(q.waiting_consumers.into())),
        ("lost", Json::U(q.lost)),
        ("close_state", Json::s(q.close_state)),
    ])
}

impl LiveState for QueueState {
    fn report(&self, out: &mut Vec<String>) {
        let q = self;
        queue_lines(q, &format!("{} ", q.policy), out);
    }

    fn json(&self) -> Json {
        let q = self;
        queue_json(q)
    }
}
