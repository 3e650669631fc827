//! The operations verbs of the CLI on live segments: `inspect`, `list`, `rm`. The work is
//! zipc's ([`zipc::inspect`], [`zipc::shm_dir`]); this module turns names and patterns typed by
//! a person into segment names, decides what `rm --stale` removes, and renders `list`.

use std::fmt::Write as _;

use zipc::shm_dir::{Listed, What};

/// A segment name as typed: `/telemetry`, `telemetry` or `/dev/shm/telemetry` all mean
/// `/telemetry`.
pub fn segment_name(arg: &str) -> String {
    let bare = arg.strip_prefix("/dev/shm/").unwrap_or(arg);
    if bare.starts_with('/') {
        bare.to_owned()
    } else {
        format!("/{bare}")
    }
}

/// Whether `name` matches the shell-style `pattern` (`*` any run of characters, `?` one
/// character; everything else literal). The pattern is normalised like a name first.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = segment_name(pattern).chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative wildcard matching with one backtrack point (the last `*`).
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// Whether `name` is selected by `patterns` (all names if there are none).
pub fn selected(patterns: &[String], name: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| matches(p, name))
}

/// What `rm --stale` does with one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Remove it; the text says why it is stale.
    Remove(String),
    /// Keep it and say why (objects that are not segments at all are skipped silently).
    Keep(String),
    /// Not a segment: not mentioned.
    Skip,
}

/// The `rm --stale` decision for one listed object. Stale: a zipc segment that no live process
/// is attached to, or a leftover temporary object whose creator is gone. With `force`, also
/// ZeroIPC segments (which keep no registry) and corrupt ones — never a zipc segment in use.
pub fn plan_stale(obj: &Listed, force: bool) -> Plan {
    match &obj.what {
        What::Zipc { processes, .. } => {
            let live: Vec<String> = processes.iter().filter(|p| p.alive).map(|p| p.process.pid.to_string()).collect();
            if live.is_empty() {
                let dead = processes.len();
                Plan::Remove(if dead == 0 {
                    "no process attached".to_owned()
                } else {
                    format!("no live process attached ({dead} dead)")
                })
            } else {
                Plan::Keep(format!("in use by pid {}", live.join(", ")))
            }
        }
        What::Leftover { pid, alive: false } => {
            Plan::Remove(format!("leftover of an unfinished creation by pid {pid}, which is gone"))
        }
        What::Leftover { .. } => Plan::Skip, // being built right now
        What::ZeroIpc { .. } if force => {
            Plan::Remove("made by ZeroIPC (usage unknown), removed because forced".to_owned())
        }
        What::ZeroIpc { .. } => {
            Plan::Keep("made by ZeroIPC: it keeps no registry, so its usage is unknown (--force removes it)".to_owned())
        }
        What::Corrupt(_) if force => Plan::Remove("corrupt, removed because forced".to_owned()),
        What::Corrupt(why) => Plan::Keep(format!("corrupt, usage unknown (--force removes it): {why}")),
        What::Other | What::Unreadable(_) => Plan::Skip,
    }
}

/// What `rm SEGMENT` does with a named object (mirrors [`zipc::shm_dir::remove`], for
/// `--dry-run`): a zipc segment goes unless a live process is attached, a ZeroIPC segment goes
/// (its usage cannot be known), a leftover goes once its creator is gone, anything else stays;
/// `force` removes everything.
pub fn plan_remove(obj: &Listed, force: bool) -> Plan {
    if force {
        return Plan::Remove("forced".to_owned());
    }
    match &obj.what {
        What::Zipc { .. } | What::Leftover { alive: false, .. } => plan_stale(obj, false),
        What::Leftover { alive: true, .. } => Plan::Keep("its creator is alive: it is being created".to_owned()),
        What::ZeroIpc { .. } => Plan::Remove("made by ZeroIPC, usage unknown".to_owned()),
        What::Corrupt(why) => Plan::Keep(format!("corrupt (--force removes it): {why}")),
        What::Other => Plan::Keep("not a zipc or ZeroIPC segment (--force removes it)".to_owned()),
        What::Unreadable(why) => Plan::Keep(format!("unreadable: {why}")),
    }
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The `list` table: one row per segment (and leftover) among `objects`, then a count of the
/// other objects in `/dev/shm` that were left out.
pub fn render_list(objects: &[Listed]) -> String {
    let mut rows: Vec<[String; 6]> = Vec::new();
    let mut others = 0;
    for o in objects {
        let (kind, entries, procs, status) = match &o.what {
            What::Zipc { entries, processes } => {
                let alive = processes.iter().filter(|p| p.alive).count();
                let dead = processes.len() - alive;
                let procs = match (alive, dead) {
                    (0, 0) => "none".to_owned(),
                    (a, 0) => format!("{a} alive"),
                    (0, d) => format!("{d} dead"),
                    (a, d) => format!("{a} alive, {d} dead"),
                };
                let status = if alive > 0 {
                    "in use".to_owned()
                } else {
                    "UNUSED: `zipc-schema rm --stale` removes it".to_owned()
                };
                ("zipc", entries.to_string(), procs, status)
            }
            What::ZeroIpc { entries } => {
                ("ZeroIPC", entries.to_string(), "-".to_owned(), "usage unknown (ZeroIPC keeps no registry)".to_owned())
            }
            What::Corrupt(why) => ("corrupt", "-".to_owned(), "-".to_owned(), why.clone()),
            What::Leftover { pid, alive } => (
                "leftover",
                "-".to_owned(),
                format!("pid {pid} ({})", if *alive { "alive" } else { "dead" }),
                if *alive {
                    "being created".to_owned()
                } else {
                    "UNUSED: unfinished creation; `zipc-schema rm --stale` removes it".to_owned()
                },
            ),
            What::Unreadable(why) => ("?", "-".to_owned(), "-".to_owned(), format!("unreadable: {why}")),
            What::Other => {
                others += 1;
                continue;
            }
        };
        rows.push([o.name.clone(), human(o.size), kind.to_owned(), entries, procs, status]);
    }
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no zipc or ZeroIPC segments\n");
    } else {
        let head = ["NAME", "SIZE", "KIND", "ENTRIES", "PROCESSES", "STATUS"];
        let w: Vec<usize> = (0..5)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([head[c].len()]).max().unwrap_or(0))
            .collect();
        let mut line = |r: [&str; 6]| {
            let _ = writeln!(
                out,
                "{:<w0$}  {:>w1$}  {:<w2$}  {:>w3$}  {:<w4$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3],
                w4 = w[4]
            );
        };
        line(head);
        for r in &rows {
            line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]);
        }
    }
    if others > 0 {
        let _ = writeln!(
            out,
            "({others} other object{} in /dev/shm {} not zipc or ZeroIPC segments)",
            if others == 1 { "" } else { "s" },
            if others == 1 { "is" } else { "are" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_patterns() {
        assert_eq!(segment_name("telemetry"), "/telemetry");
        assert_eq!(segment_name("/telemetry"), "/telemetry");
        assert_eq!(segment_name("/dev/shm/telemetry"), "/telemetry");
        assert!(matches("/tele*", "/telemetry"));
        assert!(matches("tele*", "/telemetry"));
        assert!(matches("*", "/x"));
        assert!(matches("/t?le*y", "/telemetry"));
        assert!(matches("/a*b*c", "/aXXbYYbc"));
        assert!(!matches("/a*b*c", "/aXXbYYbd"));
        assert!(!matches("/tele", "/telemetry"));
        assert!(!matches("/x*", "/telemetry"));
        assert!(selected(&[], "/anything"));
        assert!(selected(&["/a*".into(), "/b".into()], "/b"));
        assert!(!selected(&["/a*".into()], "/b"));
    }

    #[test]
    fn plans() {
        use zipc::process::ProcessId;
        use zipc::registry::Attached;
        let obj = |what| Listed { name: "/x".into(), size: 4096, what };
        let attached = |alive| Attached { process: ProcessId { pid: 7, start_time: 1 }, refs: 1, alive };
        let used = obj(What::Zipc { entries: 1, processes: vec![attached(true), attached(false)] });
        let unused = obj(What::Zipc { entries: 1, processes: vec![attached(false)] });
        let zeroipc = obj(What::ZeroIpc { entries: 2 });
        let corrupt = obj(What::Corrupt("bad".into()));
        let building = obj(What::Leftover { pid: 7, alive: true });
        let leftover = obj(What::Leftover { pid: 7, alive: false });
        let other = obj(What::Other);
        let removes = |p: Plan| matches!(p, Plan::Remove(_));
        // rm --stale: only what no live process uses; forced also ZeroIPC and corrupt ones.
        assert_eq!(plan_stale(&used, true), Plan::Keep("in use by pid 7".into()));
        assert_eq!(plan_stale(&unused, false), Plan::Remove("no live process attached (1 dead)".into()));
        assert!(removes(plan_stale(&leftover, false)));
        assert_eq!(plan_stale(&building, true), Plan::Skip);
        assert!(!removes(plan_stale(&zeroipc, false)) && removes(plan_stale(&zeroipc, true)));
        assert!(!removes(plan_stale(&corrupt, false)) && removes(plan_stale(&corrupt, true)));
        assert_eq!(plan_stale(&other, true), Plan::Skip);
        // rm NAME: ZeroIPC segments go; in use, corrupt, being built or foreign ones need force.
        assert!(removes(plan_remove(&zeroipc, false)) && removes(plan_remove(&unused, false)));
        assert!(removes(plan_remove(&leftover, false)));
        for o in [&used, &corrupt, &building, &other] {
            assert!(!removes(plan_remove(o, false)) && removes(plan_remove(o, true)), "{o:?}");
        }
    }
}
