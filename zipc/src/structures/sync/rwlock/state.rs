//! What `inspect` shows of an rwlock: the writer, the taken reader slots, the death counts.

use std::sync::atomic::Ordering::{Acquire, Relaxed};

use super::*;

/// Live state for `inspect`: the writer, every taken reader slot with its process's liveness.
pub(crate) fn inspect(
    region: &Region,
    desc: &crate::segment::description::Descriptor,
    _: &mut Vec<String>,
) -> RwLockState {
    let w32 = |at: u64| region.u32_at(at).load(Relaxed);
    let writer = region.u64_at(WRITER_OFFSET).load(Acquire);
    let count = desc.capacity.min(MAX_READERS);
    let readers = (0..count)
        .filter_map(|i| {
            let tag = region.u64_at(SLOTS_OFFSET + i * SLOT_STRIDE).load(Relaxed);
            (tag != 0).then(|| Holder::from_tag(tag)).flatten()
        })
        .collect();
    RwLockState {
        writer: if writer == 0 { None } else { Holder::from_tag(writer) },
        readers,
        max_readers: count as u32,
        writer_died: w32(STATE_OFFSET) != CONSISTENT,
        writer_deaths: w32(WRITER_DEATHS_OFFSET),
        reader_deaths: w32(READER_DEATHS_OFFSET),
        sleepers: w32(WRITER_SLEEPERS_OFFSET).saturating_add(w32(READER_SLEEPERS_OFFSET)),
    }
}

/// An rwlock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RwLockState {
    /// The process holding it for writing (or waiting for its readers to leave), if any.
    pub writer: Option<Holder>,
    /// The processes in the taken reader slots (a process once per thread reading).
    pub readers: Vec<Holder>,
    /// The number of reader slots.
    pub max_readers: u32,
    /// Whether a writer died holding it and nobody has marked it consistent since.
    pub writer_died: bool,
    /// Writers that died holding it, ever.
    pub writer_deaths: u32,
    /// Reader slots freed after their process died, ever.
    pub reader_deaths: u32,
    /// Threads asleep waiting for it.
    pub sleepers: u32,
}

fn holder_text(h: &Holder) -> String {
    format!("pid {}{}", h.pid, if h.alive { "" } else { " (dead)" })
}

fn holder_json(h: &Holder) -> Json {
    Json::O(vec![("pid", Json::U(h.pid.into())), ("start_time", Json::U(h.start_time)), ("alive", Json::Bool(h.alive))])
}

impl LiveState for RwLockState {
    fn report(&self, out: &mut Vec<String>) {
        let writer = match &self.writer {
            Some(h) => format!("write-locked by {}", holder_text(h)),
            None => "no writer".to_owned(),
        };
        let readers = if self.readers.is_empty() {
            "no readers".to_owned()
        } else {
            let list: Vec<_> = self.readers.iter().map(holder_text).collect();
            format!("{} of {} reader slots taken: {}", self.readers.len(), self.max_readers, list.join(", "))
        };
        out.push(format!("{writer}, {readers}, {} waiting", self.sleepers));
        out.push(format!(
            "{}, {} writer deaths, {} dead readers freed",
            if self.writer_died { "a writer died holding it (not marked consistent)" } else { "consistent" },
            self.writer_deaths,
            self.reader_deaths
        ));
    }

    fn json(&self) -> Json {
        Json::O(vec![
            ("writer", self.writer.as_ref().map_or(Json::Null, holder_json)),
            ("readers", Json::A(self.readers.iter().map(holder_json).collect())),
            ("max_readers", Json::U(self.max_readers.into())),
            ("writer_died", Json::Bool(self.writer_died)),
            ("writer_deaths", Json::U(self.writer_deaths.into())),
            ("reader_deaths", Json::U(self.reader_deaths.into())),
            ("sleepers", Json::U(self.sleepers.into())),
        ])
    }
}
