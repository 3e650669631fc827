//! [`Snapshot::to_json`]: the snapshot as one JSON object (`zipc-schema inspect --json`); the
//! fields are listed in the module docs of `inspect`.

use super::*;

fn lane_json(l: &crate::segment::lane::LaneState) -> Json {
    Json::O(vec![
        ("index", Json::U(l.index.into())),
        ("owner", holder_json(&l.owner)),
        (
            "operation",
            Json::opt(l.operation.as_ref(), |o| {
                Json::O(vec![
                    ("queue_offset", Json::U(o.queue_offset)),
                    ("structure", Json::opt(o.structure.as_deref(), Json::s)),
                    (
                        "kind",
                        Json::s(if o.operation == crate::segment::lane::Operation::Push { "push" } else { "pop" }),
                    ),
                    ("first", Json::U(o.first)),
                    ("count", Json::U(o.count)),
                    ("claimed", Json::Bool(o.claimed)),
                    ("settled", Json::Bool(o.settled)),
                    ("tombstone", Json::Bool(o.tombstone)),
                ])
            }),
        ),
        ("lost", Json::U(l.lost)),
    ])
}

fn strings(v: &[String]) -> Json {
    Json::A(v.iter().map(|s| Json::s(s.clone())).collect())
}

impl Snapshot {
    /// The snapshot as a JSON object (`zipc-schema inspect --json`); the fields are listed in
    /// the [module docs](crate::inspect).
    pub fn to_json(&self) -> String {
        let h = &self.header;
        let u = |v: u32| Json::U(v.into());
        let json = Json::O(vec![
            ("zipc_inspect", u(JSON_FORMAT)),
            ("segment", Json::s(self.segment.clone())),
            ("file_size", Json::U(self.file_size)),
            ("typed", Json::Bool(self.zipc.is_some())),
            (
                "header",
                Json::O(vec![
                    ("magic", u(h.magic)),
                    ("version", u(h.version)),
                    ("entry_count", u(h.entry_count)),
                    ("max_entries", u(h.max_entries)),
                    ("memory_size", Json::U(h.memory_size)),
                    ("next_offset", Json::U(h.next_offset)),
                ]),
            ),
            (
                "zipc",
                Json::opt(self.zipc.as_ref(), |z| {
                    Json::O(vec![
                        ("format_version", u(z.format_version)),
                        ("max_processes", u(z.max_processes)),
                        ("creator_pid", u(z.creator_pid)),
                        ("created_ns", Json::U(z.created_ns)),
                        ("dirty_end", Json::U(z.dirty_end)),
                        (
                            "table_lock",
                            Json::O(vec![
                                ("holder", opt_holder_json(&z.table_lock.holder)),
                                ("waiters", Json::Bool(z.table_lock.waiters)),
                                ("recoveries", u(z.table_lock.recoveries)),
                            ]),
                        ),
                        ("lanes", u(z.lanes)),
                        ("lanes_in_use", Json::A(z.lanes_in_use.iter().map(lane_json).collect())),
                    ])
                }),
            ),
            (
                "processes",
                Json::A(
                    self.processes
                        .iter()
                        .map(|p| {
                            Json::O(vec![
                                ("pid", u(p.process.pid)),
                                ("start_time", Json::U(p.process.start_time)),
                                ("refs", u(p.refs)),
                                ("alive", Json::Bool(p.alive)),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("entries", Json::A(self.entries.iter().map(entry_json).collect())),
            ("problems", strings(&self.problems)),
        ]);
        let mut out = String::new();
        json.write(&mut out, 0);
        out
    }
}

fn entry_json(e: &EntrySnapshot) -> Json {
    let d = e.descriptor.as_ref();
    Json::O(vec![
        ("index", Json::U(e.index.into())),
        ("name", Json::s(e.name.clone())),
        ("offset", Json::U(e.offset)),
        ("size", Json::U(e.size)),
        ("kind", Json::opt(d, |d| Json::s(d.kind.name().to_ascii_lowercase()))),
        (
            "element",
            Json::opt(d.filter(|d| d.kind.has_element()), |d| {
                Json::O(vec![
                    ("name", Json::s(d.type_name.clone().unwrap_or_default())),
                    ("layout", Json::s(d.canonical.clone().unwrap_or_default())),
                    ("size", Json::U(d.elem_size.into())),
                    ("align", Json::U(d.elem_align.into())),
                    ("fingerprint", Json::s(format!("{:#018x}", d.fingerprint))),
                ])
            }),
        ),
        ("capacity", Json::opt(d, |d| Json::U(d.capacity))),
        ("flags", Json::opt(d, |d| Json::U(d.flags.into()))),
        ("initial", Json::opt(d, |d| Json::I(d.initial))),
        ("maximum", Json::opt(d, |d| Json::I(d.maximum))),
        ("state", Json::opt(e.state.as_ref(), State::json)),
        ("problems", strings(&e.problems)),
    ])
}
