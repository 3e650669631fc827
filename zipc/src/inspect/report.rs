//! The human-readable report of a [`Snapshot`] (`zipc-schema inspect`): the header, the
//! self-description, the processes, then one row per entry with its kind's own lines.

use std::fmt;

use super::*;

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{bytes} bytes ({v:.1} {})", UNITS[u])
}

/// `2026-05-01 12:00:00 UTC` from Unix nanoseconds.
fn utc(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (non-negative here).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The human-readable report (`zipc-schema inspect`).
impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        match &self.zipc {
            Some(z) => writeln!(
                f,
                "segment {}: zipc format {} (ZeroIPC table v{})",
                self.segment, z.format_version, h.version
            )?,
            None => writeln!(
                f,
                "segment {}: ZeroIPC table v{}, no zipc self-description (entries untyped)",
                self.segment, h.version
            )?,
        }
        let used = h.next_offset.min(h.memory_size);
        writeln!(
            f,
            "  size        {}; {} used ({}), {} free",
            human_bytes(h.memory_size),
            used,
            percent(used, h.memory_size),
            h.memory_size - used
        )?;
        writeln!(
            f,
            "  table       {} of {} entries{}",
            h.entry_count,
            h.max_entries,
            if self.zipc.is_some() { " (1 is zipc's)" } else { "" }
        )?;
        if let Some(z) = &self.zipc {
            writeln!(f, "  created     {} by pid {}", utc(z.created_ns), z.creator_pid)?;
            let lock = &z.table_lock;
            writeln!(
                f,
                "  table lock  {}; taken over from dead holders {} times",
                match &lock.holder {
                    None => "free".to_owned(),
                    h => format!("held by {}", holder(h)),
                },
                lock.recoveries
            )?;
            let alive = self.processes.iter().filter(|p| p.alive).count();
            writeln!(
                f,
                "  processes   {} attached of {} slots: {} alive, {} dead{}",
                self.processes.len(),
                z.max_processes,
                alive,
                self.processes.len() - alive,
                if alive == 0 { " (nobody uses it: `zipc-schema rm --stale` removes it)" } else { "" }
            )?;
            for p in &self.processes {
                writeln!(
                    f,
                    "                pid {:<8} {:<6} {}",
                    p.process.pid,
                    if p.alive { "alive" } else { "dead" },
                    plural(u64::from(p.refs), "mapping", "mappings")
                )?;
            }
            let dead: Vec<_> = z.lanes_in_use.iter().filter(|l| !l.owner.alive).collect();
            writeln!(
                f,
                "  lanes       {} of {} in use{}",
                z.lanes_in_use.len(),
                z.lanes,
                if dead.is_empty() { String::new() } else { format!(", {} of dead processes", dead.len()) }
            )?;
            for l in dead {
                let what = match &l.operation {
                    None => "nothing in flight".to_owned(),
                    Some(o) => format!(
                        "{} on {} at {}{}: {}",
                        if o.operation == crate::segment::lane::Operation::Push { "push" } else { "pop" },
                        o.structure
                            .as_ref()
                            .map_or_else(|| format!("offset {:#x}", o.queue_offset), |n| format!("{n:?}")),
                        o.first,
                        if o.count > 1 { format!("..{}", o.first.wrapping_add(o.count)) } else { String::new() },
                        match (o.claimed, o.settled) {
                            (_, true) => format!("settled, {} lost", l.lost),
                            (true, false) => "claimed, to be settled by the next survivor that meets it".to_owned(),
                            (false, false) => "not claimed".to_owned(),
                        }
                    ),
                };
                writeln!(f, "                lane {:<4} pid {:<8} dead   {what}", l.index, l.owner.pid)?;
            }
        } else {
            writeln!(f, "  processes   unknown (ZeroIPC segments keep no registry)")?;
        }
        for p in &self.problems {
            writeln!(f, "  problem     {p}")?;
        }
        writeln!(f)?;
        if self.entries.is_empty() {
            return writeln!(f, "no structures");
        }
        let width = format!("{:#x}", h.memory_size).len().max(6);
        let rows: Vec<[String; 6]> = self
            .entries
            .iter()
            .map(|e| {
                let (kind, elem, cap) = match &e.descriptor {
                    None => ("untyped".to_owned(), "-".to_owned(), "-".to_owned()),
                    Some(d) => (
                        d.kind.name().to_owned(),
                        d.type_name.clone().unwrap_or_else(|| "-".to_owned()),
                        d.kind.capacity_text(d),
                    ),
                };
                [e.index.to_string(), format!("{:#0width$x}", e.offset), e.size.to_string(), kind, elem, cap]
            })
            .collect();
        let head = ["#", "OFFSET", "SIZE", "KIND", "ELEMENT", "CAPACITY"];
        let w: Vec<usize> = (0..6)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([head[c].len()]).max().unwrap_or(0))
            .collect();
        let indent = w[..3].iter().sum::<usize>() + 6;
        let row = |f: &mut fmt::Formatter<'_>, cells: [&str; 6], name: &str| {
            writeln!(
                f,
                "{:>w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {:<w4$}  {:<w5$}  {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                cells[5],
                name,
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3],
                w4 = w[4],
                w5 = w[5]
            )
        };
        row(f, head, "NAME")?;
        for (e, r) in self.entries.iter().zip(&rows) {
            row(f, [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]], &e.name)?;
            if let Some(s) = &e.state {
                for line in s.report() {
                    writeln!(f, "{:indent$}{line}", "")?;
                }
            }
            for p in &e.problems {
                writeln!(f, "{:indent$}problem: {p}", "")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000_000_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_767_225_599_000_000_000), "2025-12-31 23:59:59 UTC");
        assert!(utc(u64::MAX).ends_with("UTC"));
    }
}
