//! A map's or set's live state for `inspect` ([`MapState`]): its counters and a scan of the
//! slots by phase.

use super::*;

/// Tables larger than this many slots are inspected by their counters only.
const SCAN_LIMIT: u64 = 1 << 22;

/// Live state for `inspect`. Nothing is trusted: a count beyond the capacity, unknown phases or
/// bounds beyond the table are reported in `problems`.
pub(crate) fn inspect(region: &Region, desc: &Descriptor, problems: &mut Vec<String>) -> MapState {
    let capacity = desc.capacity;
    let slots = region.u64_at(field::SLOTS).load(Relaxed);
    let mut state = MapState {
        capacity,
        slots,
        len: region.u64_at(field::LEN).load(Relaxed),
        members: None,
        deleted: 0,
        in_flight: 0,
        locked: 0,
        dead_holders: 0,
        max_probe: 0,
        reclaimed: region.u64_at(field::RECLAIMED).load(Relaxed),
    };
    if state.len > capacity && state.len < u64::MAX / 2 {
        problems.push(format!("the header counts {} entries, more than the capacity {capacity}", state.len));
    }
    let has_value = desc.kind == Kind::Map;
    let (Some(stride), Some(lock_stride)) =
        (stride_for(desc.elem_size as u64), lock_stride_for(desc.elem_size as u64, has_value))
    else {
        return state;
    };
    let fits = locks_offset(slots, stride).and_then(|l| l.checked_add(slots.checked_mul(lock_stride)?));
    if slots > SCAN_LIMIT || !slots.is_power_of_two() || fits.is_none_or(|end| end > region.size()) {
        return state;
    }
    let locks = locks_offset(slots, stride).expect("checked above");
    let (mut members, mut unknown) = (0, 0);
    for i in 0..slots {
        let at = field::TABLE + i * stride;
        let (_, _, p) = unpack(region.u64_at(at + slot::STATE).load(Acquire));
        match p {
            phase::MEMBER => members += 1,
            phase::DELETED => state.deleted += 1,
            phase::BUSY | phase::INSERTING | phase::COLLIDED => state.in_flight += 1,
            phase::EMPTY => {}
            _ => unknown += 1,
        }
        let owner = region.u64_at(locks + i * lock_stride + lock::OWNER).load(Relaxed);
        if owner != 0 {
            state.locked += 1;
            if !role::alive(owner) {
                state.dead_holders += 1;
            }
        }
        let bound = region.u32_at(at + slot::BOUND).load(Relaxed) as u64;
        if bound >= slots {
            problems.push(format!("slot {i} records a probe bound of {bound}, beyond the {slots}-slot table"));
        }
        state.max_probe = state.max_probe.max(bound);
    }
    if unknown > 0 {
        problems.push(format!("{unknown} slots are in no known phase (damaged)"));
    }
    state.members = Some(members);
    state
}

/// A map or a set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapState {
    /// Entries it holds when full.
    pub capacity: u64,
    /// Slots in its table.
    pub slots: u64,
    /// The header's count of entries.
    pub len: u64,
    /// Member slots found by the scan (`None`: not scanned).
    pub members: Option<u64>,
    /// Slots that held an entry since removed.
    pub deleted: u64,
    /// Slots claimed by an insert in progress (or left by a process killed in one).
    pub in_flight: u64,
    /// Slots whose lock is held.
    pub locked: u64,
    /// Of those, slots whose lock a dead process holds (`reclaim_dead` repairs them).
    pub dead_holders: u64,
    /// The longest probe any lookup makes.
    pub max_probe: u64,
    /// Slots repaired after dead processes, ever.
    pub reclaimed: u64,
}

impl LiveState for MapState {
    fn report(&self, out: &mut Vec<String>) {
        let s = self;
        let n = s.members.unwrap_or(s.len).min(s.capacity);
        out.push(format!("{} {}/{} entries ({})", bar(n, s.capacity), n, s.capacity, percent(n, s.capacity)));
        let mut parts = vec![format!("{} slots", s.slots), format!("longest probe {}", s.max_probe + 1)];
        if s.deleted > 0 {
            parts.push(format!("{} deleted", s.deleted));
        }
        if s.in_flight > 0 {
            parts.push(format!("{} being inserted", s.in_flight));
        }
        if s.locked > 0 {
            parts.push(format!("{} locked", s.locked));
        }
        if s.dead_holders > 0 {
            parts.push(format!("{} held by dead processes", s.dead_holders));
        }
        if s.reclaimed > 0 {
            parts.push(format!("{} repaired after dead processes", s.reclaimed));
        }
        out.push(parts.join(", "));
    }

    fn json(&self) -> Json {
        let s = self;
        Json::O(vec![
            ("capacity", Json::U(s.capacity)),
            ("slots", Json::U(s.slots)),
            ("len", Json::U(s.len)),
            ("members", s.members.map_or(Json::Null, Json::U)),
            ("deleted", Json::U(s.deleted)),
            ("in_flight", Json::U(s.in_flight)),
            ("locked", Json::U(s.locked)),
            ("dead_holders", Json::U(s.dead_holders)),
            ("max_probe", Json::U(s.max_probe)),
            ("reclaimed", Json::U(s.reclaimed)),
        ])
    }
}
