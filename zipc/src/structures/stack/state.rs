//! A stack's live state for `inspect` ([`StackState`]): its counters, a walk of both lists and a
//! scan of the nodes being filled.

use super::*;

/// Stacks larger than this are inspected by their counters only.
const WALK_LIMIT: u64 = 1 << 20;

/// Walks the list starting at head word `head`: the nodes on it, or why the walk stopped (a
/// node out of range, a cycle: a list changing under the walk, or damaged).
fn walk(region: &Region, head: u64, capacity: u64) -> std::result::Result<u64, String> {
    let mut seen = vec![false; capacity as usize];
    let mut index = head as u32;
    let mut count = 0;
    while index != NIL {
        if index as u64 >= capacity {
            return Err(format!("reaches node {index}, beyond the capacity"));
        }
        if std::mem::replace(&mut seen[index as usize], true) {
            return Err(format!("returns to node {index}"));
        }
        count += 1;
        index = region.u32_at(field::NODES + index as u64 * NODE_SIZE).load(Relaxed);
    }
    Ok(count)
}

/// Live state for `inspect`. Nothing is trusted: a count beyond the capacity, a list that does
/// not end, or nodes on no list are reported in `problems`.
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> StackState {
    let capacity = desc.capacity;
    let len = region.u64_at(field::LEN).load(Relaxed);
    let waiters = |ec: u64| region.u32_at(ec + 4).load(Relaxed); // `u32 epoch, u32 waiters`
    let mut state = StackState {
        capacity,
        len,
        stacked: None,
        free: None,
        filling: 0,
        reclaimed: region.u64_at(field::RECLAIMED).load(Relaxed),
        poppers_waiting: waiters(field::PUSHED),
        pushers_waiting: waiters(field::POPPED),
    };
    if len > capacity && len < u64::MAX / 2 {
        problems.push(format!("the header counts {len} values, more than the capacity"));
    }
    if capacity > WALK_LIMIT {
        return state;
    }
    for i in 0..capacity {
        if region.u64_at(field::NODES + i * NODE_SIZE + 8).load(Relaxed) != 0 {
            state.filling += 1;
        }
    }
    let top = region.u64_at(field::TOP).load(Acquire);
    let free = region.u64_at(field::FREE).load(Acquire);
    match walk(region, top, capacity) {
        Ok(n) => state.stacked = Some(n),
        Err(e) => problems.push(format!("the stack list {e} (changing, or damaged)")),
    }
    match walk(region, free, capacity) {
        Ok(n) => state.free = Some(n),
        Err(e) => problems.push(format!("the free list {e} (changing, or damaged)")),
    }
    if let (Some(s), Some(f)) = (state.stacked, state.free) {
        let held = s + f + state.filling;
        if held != capacity {
            problems.push(format!(
                "{s} nodes stacked, {f} free and {} being filled make {held}, not the capacity {capacity} \
                 (changing, or nodes leaked by processes killed mid-operation)",
                state.filling
            ));
        }
    }
    state
}

/// A stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackState {
    /// Values it holds when full.
    pub capacity: u64,
    /// The header's count of values on the stack.
    pub len: u64,
    /// Nodes found on the stack list (`None`: not walked, or the walk failed).
    pub stacked: Option<u64>,
    /// Nodes found on the free list (`None`: not walked, or the walk failed).
    pub free: Option<u64>,
    /// Nodes a pusher is filling (its owner word set).
    pub filling: u64,
    /// Nodes given back from dead pushers, ever.
    pub reclaimed: u64,
    /// Poppers asleep waiting for a value.
    pub poppers_waiting: u32,
    /// Pushers asleep waiting for room.
    pub pushers_waiting: u32,
}

impl LiveState for StackState {
    fn report(&self, out: &mut Vec<String>) {
        let s = self;
        let on = s.stacked.unwrap_or(s.len.min(s.capacity));
        out.push(format!("{} {}/{} values ({})", bar(on, s.capacity), on, s.capacity, percent(on, s.capacity)));
        let mut parts = Vec::new();
        if let Some(f) = s.free {
            parts.push(format!("{f} free"));
        }
        if s.filling > 0 {
            parts.push(format!("{} being pushed", s.filling));
        }
        if s.reclaimed > 0 {
            parts.push(format!("{} reclaimed from dead pushers", s.reclaimed));
        }
        if s.poppers_waiting > 0 {
            parts.push(format!("{} asleep in pop", s.poppers_waiting));
        }
        if s.pushers_waiting > 0 {
            parts.push(format!("{} asleep in push", s.pushers_waiting));
        }
        if !parts.is_empty() {
            out.push(parts.join(", "));
        }
    }

    fn json(&self) -> Json {
        let s = self;
        let opt = |v: Option<u64>| v.map_or(Json::Null, Json::U);
        Json::O(vec![
            ("capacity", Json::U(s.capacity)),
            ("len", Json::U(s.len)),
            ("stacked", opt(s.stacked)),
            ("free", opt(s.free)),
            ("filling", Json::U(s.filling)),
            ("reclaimed", Json::U(s.reclaimed)),
            ("poppers_waiting", Json::U(s.poppers_waiting.into())),
            ("pushers_waiting", Json::U(s.pushers_waiting.into())),
        ])
    }
}
