//! The memory map of a schema's segment (`zipc-schema layout`): every region from the header to
//! the last type record, with offset, size, kind, element type and name. Placements come from
//! [`SegmentLayout::placements`](zipc::layout::SegmentLayout::placements), the allocator's own rule.

use std::fmt::Write as _;

use zipc::{description, table};

use crate::Schema;

/// Renders the memory map of `schema`'s segment as a table.
///
/// ```
/// let arena = zipc_schema::Arena::new();
/// let schema = zipc_schema::Schema::parse("telemetry.toml", r#"
///     [segment]
///     name = "/telemetry"
///
///     [types.Reading]
///     fields = [{ name = "ts", type = "u64" }, { name = "vals", type = "[f32; 2]" }]
///
///     [[structures]]
///     name = "readings"
///     kind = "queue"
///     policy = "mpmc"
///     type = "Reading"
///     capacity = 64
/// "#, &arena).unwrap();
/// let map = zipc_schema::memory_map::render(&schema);
/// assert!(map.starts_with("segment /telemetry (telemetry.toml)"));
/// assert!(map.lines().any(|l| l.contains("Queue") && l.ends_with("readings")));
/// ```
pub fn render(schema: &Schema<'_>) -> String {
    let l = &schema.layout;
    let mut o = String::new();
    let _ = writeln!(o, "segment {} ({})", l.name.unwrap_or("(no default name)"), schema.file);
    let _ = writeln!(
        o,
        "{} structures; table of {} entries (1 is zipc's), {} process slots",
        l.structures.len(),
        l.max_entries,
        l.max_processes
    );
    let _ =
        writeln!(o, "size {} bytes{} (the file is this rounded up to the page size)", schema.size, human(schema.size));
    o.push('\n');
    let width = format!("{:#x}", schema.size).len().max(8);
    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut row = |offset: u64, size: u64, kind: &str, elem: &str, name: &str| {
        rows.push([
            format!("{offset:#0width$x}"),
            format!("{size}{}", human(size)),
            kind.into(),
            elem.into(),
            name.into(),
        ]);
    };
    row(0, table::HEADER_SIZE, "header", "-", "ZeroIPC v2 header");
    let table_size = table::ENTRY_SIZE * u64::from(l.max_entries);
    row(
        table::HEADER_SIZE,
        table_size,
        "table",
        "-",
        &format!("{} entries × {} bytes", l.max_entries, table::ENTRY_SIZE),
    );
    let mut end = table::HEADER_SIZE + table_size;
    for (i, (name, p)) in schema.placements.iter().enumerate() {
        if p.offset > end {
            row(end, p.offset - end, "padding", "-", "alignment");
        }
        if i == 0 {
            row(
                p.offset,
                p.size,
                "zipc",
                "-",
                &format!("{} (self-description, lock, registry, lanes)", description::NAME),
            );
        } else {
            let s = &l.structures[i - 1];
            // A map's element is its entry struct: show the key and value types.
            let elem = match (s.kind, s.elem.as_ref()) {
                (zipc::layout::Kind::Map, Some(t)) => match zipc::layout::kinds::map::key_value(t) {
                    Some((k, v)) => format!("{} -> {}", k.ty.display_name(), v.ty.display_name()),
                    None => t.display_name(),
                },
                (_, Some(t)) => t.display_name(),
                (_, None) => "-".to_owned(),
            };
            row(p.offset, p.size, s.kind.name(), &elem, name);
            if p.type_len > 0 {
                row(p.type_offset, p.type_len, "type", "-", &format!("type record of {name}"));
            }
        }
        end = p.end;
    }
    let header = ["OFFSET", "SIZE", "KIND", "ELEMENT", "NAME"];
    let widths: Vec<usize> =
        (0..5).map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or(0)).collect();
    let line = |cells: [&str; 5]| -> String {
        let mut s = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if c == 1 {
                let _ = write!(s, "{:>w$}  ", cell, w = widths[c]);
            } else if c == 4 {
                s.push_str(cell);
            } else {
                let _ = write!(s, "{:<w$}  ", cell, w = widths[c]);
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    o.push_str(&line(header));
    for r in &rows {
        o.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    let _ = writeln!(o, "{:#0width$x}  end", schema.size);
    o
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return String::new();
    }
    let mut v = bytes as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!(" ({v:.1} {})", UNITS[u])
}
