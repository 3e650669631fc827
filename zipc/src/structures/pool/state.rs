//! A pool's live state for `inspect` ([`PoolState`]): a scan of its slots' generations and owners.

use super::*;

/// Live state for `inspect`: the header's count, and a scan of the slot table (its first
/// [`POOL_SCAN_LIMIT`](POOL_SCAN_LIMIT) slots) for acquired objects and their
/// owners. Nothing is trusted: a count beyond the capacity is reported in `problems`.
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> PoolState {
    const MAX_OWNERS: usize = 64;
    let capacity = desc.capacity;
    let allocated = region.u64_at(field::ALLOCATED).load(Relaxed);
    let scanned = capacity.min(POOL_SCAN_LIMIT);
    let mut acquired = 0;
    let mut owners = std::collections::HashMap::<u64, u64>::new();
    for i in 0..scanned {
        let slot = field::SLOTS + i * SLOT_SIZE;
        if region.u32_at(slot).load(Acquire) & 1 == 1 {
            acquired += 1;
            *owners.entry(region.u64_at(slot + 8).load(Relaxed)).or_default() += 1;
        }
    }
    if allocated > capacity {
        problems.push(format!("the header counts {allocated} objects acquired, more than the capacity"));
    } else if scanned == capacity && allocated != acquired {
        problems.push(format!(
            "the header counts {allocated} objects acquired, the slot table {acquired} (changing, or damaged)"
        ));
    }
    let mut counts: Vec<(u64, u64)> = owners.into_iter().collect();
    if counts.len() > MAX_OWNERS {
        counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        problems.push(format!("{} owners hold objects; the {MAX_OWNERS} holding most are listed", counts.len()));
        counts.truncate(MAX_OWNERS);
    }
    PoolState {
        capacity,
        allocated,
        acquired,
        scanned,
        owners: pool_owners(counts.into_iter().collect()),
        waiting: region.u32_at(field::FREED + 4).load(Relaxed), // `u32 epoch, u32 waiters`
    }
}

/// A pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolState {
    /// Objects.
    pub capacity: u64,
    /// The header's count of acquired objects.
    pub allocated: u64,
    /// Slots found acquired (odd generation) among the scanned ones.
    pub acquired: u64,
    /// Slots scanned (all of them, up to [`POOL_SCAN_LIMIT`]).
    pub scanned: u64,
    /// Who holds the acquired objects: one entry per process, most objects first.
    pub owners: Vec<PoolOwner>,
    /// Acquirers asleep waiting for a release.
    pub waiting: u32,
}

/// Pools larger than this are inspected on their first `POOL_SCAN_LIMIT` slots.
pub const POOL_SCAN_LIMIT: u64 = 1 << 20;

/// Pool objects held by one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOwner {
    /// The process (0 pid: acquired slots with no owner recorded).
    pub holder: Holder,
    /// How many objects it holds.
    pub objects: u64,
}

/// Groups acquired pool slots by owner word, liveness checked once per owner.
pub(crate) fn pool_owners(counts: HashMap<u64, u64>) -> Vec<PoolOwner> {
    let mut owners: Vec<PoolOwner> = counts
        .into_iter()
        .map(|(tag, objects)| PoolOwner {
            holder: Holder::from_tag(tag).unwrap_or(Holder { pid: 0, start_time: 0, alive: false }),
            objects,
        })
        .collect();
    owners.sort_by(|a, b| b.objects.cmp(&a.objects).then(a.holder.pid.cmp(&b.holder.pid)));
    owners
}

impl LiveState for PoolState {
    fn report(&self, out: &mut Vec<String>) {
        let p = self;
        out.push(format!(
            "{} {}/{} acquired ({})",
            bar(p.acquired, p.scanned),
            p.acquired,
            p.scanned,
            percent(p.acquired, p.scanned)
        ));
        if p.scanned < p.capacity {
            out.push(format!("(first {} of {} slots scanned)", p.scanned, p.capacity));
        }
        if !p.owners.is_empty() {
            let shown: Vec<String> =
                p.owners.iter().take(8).map(|o| format!("{} holds {}", holder(&Some(o.holder)), o.objects)).collect();
            let more = p.owners.len().saturating_sub(8);
            out.push(format!(
                "owners: {}{}",
                shown.join(", "),
                if more > 0 { format!(", and {more} more") } else { String::new() }
            ));
        }
        if p.waiting > 0 {
            out.push(format!("{} asleep in acquire", p.waiting));
        }
    }

    fn json(&self) -> Json {
        let p = self;
        let u = |v: u32| Json::U(v.into());
        Json::O(vec![
            ("capacity", Json::U(p.capacity)),
            ("allocated", Json::U(p.allocated)),
            ("acquired", Json::U(p.acquired)),
            ("scanned", Json::U(p.scanned)),
            ("waiting", u(p.waiting)),
            (
                "owners",
                Json::A(
                    p.owners
                        .iter()
                        .map(|o| {
                            Json::O(vec![
                                ("pid", u(o.holder.pid)),
                                ("start_time", Json::U(o.holder.start_time)),
                                ("alive", Json::Bool(o.holder.alive)),
                                ("objects", Json::U(o.objects)),
                            ])
                        })
                        .collect(),
                ),
            ),
        ])
    }
}
