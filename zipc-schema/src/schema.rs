//! A schema file: parsing, validation and resolution into the shared [`zipc::layout`] model.
//!
//! ```text
//! TOML text ──serde+toml──▶ spanned tree ──check every rule──▶ Schema { layout: SegmentLayout, .. }
//!                                              │
//!                                              └──▶ Diagnostics (all of them, file:line:column)
//! ```
//!
//! The layouts borrow from an [`Arena`] the caller owns, exactly as the derive's
//! `TypeLayout<'static>` constants borrow from the binary: both are the same model.

use std::path::Path;

use zipc::layout::{LayoutError, Placement, SegmentLayout, StructLayout, StructureLayout};

use crate::arena::Arena;
use crate::bridge::{self, BridgeSection};
use crate::diagnostic::{Diagnostic, Diagnostics, Reporter};
use crate::document::{self, Node, Value};
use crate::names;
use crate::structures::{self, StructureSpans};
use crate::types::{self, TypeResolver};
use crate::values::{check_keys, expect_string, expect_u32};

/// A valid, resolved schema: the segment it declares, in the layout model, plus the names the
/// generators use.
#[derive(Clone, Debug)]
pub struct Schema<'a> {
    /// The file as given (used in messages and generated headers).
    pub file: String,
    /// The file's stem (`game_server`): names the generated files (`game_server.rs`,
    /// `game_server.h`, `game_server.py`) and the Python module.
    pub stem: String,
    /// The Rust name of the segment struct (`GameServer`).
    pub rust_name: String,
    /// The prefix of C macros and functions' upper-case constants (`GAME_SERVER`).
    pub c_prefix: String,
    /// The segment's documentation.
    pub doc: &'a str,
    /// The element struct types, each after the types it contains.
    pub types: Vec<&'a StructLayout<'a>>,
    /// The segment: default name, table size, structures in creation order.
    pub layout: SegmentLayout<'a>,
    /// Exact bytes the segment uses once every structure is created ([`SegmentLayout::size`]).
    pub size: u64,
    /// The memory map ([`SegmentLayout::placements`]): zipc's reserved entry, then each
    /// structure.
    pub placements: Vec<(String, Placement)>,
    /// The `[bridge]` table, if any: what `zipc-bridge run --schema` forwards (`bridge.rs`).
    pub bridge: Option<BridgeSection>,
}

const TOP_KEYS: &[&str] = &["segment", "types", "structures", "bridge"];
const SEGMENT_KEYS: &[&str] = &["name", "max_entries", "max_processes", "doc"];

impl<'a> Schema<'a> {
    /// Reads and resolves the schema in file `path`.
    pub fn load(path: impl AsRef<Path>, arena: &'a Arena) -> Result<Schema<'a>, Diagnostics> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics(vec![Diagnostic {
                file: file.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read the schema: {e}"),
                help: None,
            }])
        })?;
        Schema::parse(&file, &source, arena)
    }

    /// Parses and resolves schema text; `file` names it in messages, and its stem names the
    /// generated code.
    pub fn parse(file: &str, source: &str, arena: &'a Arena) -> Result<Schema<'a>, Diagnostics> {
        let mut r = Reporter::new(file, source);
        let root = match document::parse(source) {
            Ok(root) => root,
            Err((span, msg)) => {
                r.error(&span, format!("invalid TOML: {}", msg.trim()), None);
                return Err(r.finish());
            }
        };
        let stem = Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(problem) = names::identifier_problem(&stem) {
            r.error(
                &(0..0),
                format!("the file name becomes the Python module and C prefix, but {problem}"),
                Some("rename the file, e.g. game_server.toml".to_owned()),
            );
        }
        let rust_name = names::camel_case(&stem);
        let Value::Table(top) = &root.value else { unreachable!("a TOML document is a table") };
        check_keys(top, TOP_KEYS, "the schema", &mut r);
        let get = |k: &str| top.iter().find(|(key, _)| key.name == k);

        // [segment]
        let mut settings = Settings::default();
        if let Some((_, node)) = get("segment") {
            settings = read_segment(node, &mut r);
        }

        // [types.*]
        let raw_types = match get("types") {
            Some((_, node)) => types::read_types(node, source, &mut r),
            None => Vec::new(),
        };
        for t in &raw_types {
            if t.name == rust_name {
                r.error(
                    &t.name_span,
                    format!("type `{}` has the name of the segment's Rust struct (from the file name)", t.name),
                    Some("rename the type or the file".to_owned()),
                );
            }
        }
        let mut resolver = TypeResolver::new(&raw_types, arena, &mut r);

        // [[structures]]
        let structures = match get("structures") {
            Some((_, node)) => structures::read_structures(node, source, &mut resolver, arena, &mut r),
            None => Vec::new(),
        };
        let resolved = resolver.finish();
        if get("structures").is_none() {
            r.error(&(0..0), "the schema declares no structures", Some("add [[structures]] tables".to_owned()));
        }

        let decls: Vec<StructureLayout<'a>> = structures.iter().map(|(d, _)| *d).collect();
        // [bridge]
        let bridge = get("bridge").map(|(_, node)| bridge::read_bridge(node, &decls, &mut r));
        let spans: Vec<&StructureSpans> = structures.iter().map(|(_, s)| s).collect();
        let layout = SegmentLayout {
            name: settings.name.as_deref().map(|n| arena.str(n)),
            max_entries: settings.max_entries,
            max_processes: settings.max_processes,
            structures: arena.slice(&decls),
        };
        check_segment(&layout, &settings, &spans, &mut r);
        if r.has_errors() {
            return Err(r.finish());
        }
        // Everything was checked piecewise above; the model's own check must agree.
        let (size, placements) = match (layout.size(), layout.placements()) {
            (Ok(size), Ok(p)) => (size, p),
            (Err(e), _) | (_, Err(e)) => {
                r.error(&(0..0), format!("the segment cannot be laid out: {e}"), None);
                return Err(r.finish());
            }
        };
        Ok(Schema {
            file: file.to_owned(),
            c_prefix: names::macro_case(&stem),
            stem,
            rust_name,
            doc: arena.str(&settings.doc),
            types: resolved.ordered,
            layout,
            size,
            placements,
            bridge,
        })
    }
}

/// The `[segment]` table, with spans for messages.
struct Settings {
    name: Option<String>,
    max_entries: u32,
    max_entries_span: Option<std::ops::Range<usize>>,
    max_processes: u32,
    max_processes_span: Option<std::ops::Range<usize>>,
    doc: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            name: None,
            max_entries: zipc::table::DEFAULT_MAX_ENTRIES,
            max_entries_span: None,
            max_processes: zipc::description::DEFAULT_MAX_PROCESSES,
            max_processes_span: None,
            doc: String::new(),
        }
    }
}

fn read_segment(node: &Node, r: &mut Reporter<'_>) -> Settings {
    let mut s = Settings::default();
    let Value::Table(kv) = &node.value else {
        r.error(
            &node.span,
            format!("`segment` must be a table, found {}", node.value.describe()),
            Some("write [segment] with name, max_entries, max_processes, doc".to_owned()),
        );
        return s;
    };
    check_keys(kv, SEGMENT_KEYS, "[segment]", r);
    for (k, v) in kv {
        match k.name.as_str() {
            "name" => {
                if let Some(n) = expect_string(k, v, r) {
                    if let Err(e) = zipc::check_segment_name(&n) {
                        r.error(
                            &v.span,
                            format!("invalid segment name {n:?}: {e}"),
                            Some("segment names look like \"/telemetry\": a `/`, then no other `/`".to_owned()),
                        );
                    } else {
                        s.name = Some(n);
                    }
                }
            }
            "max_entries" => {
                if let Some(n) = expect_u32(k, v, r) {
                    s.max_entries = n;
                    s.max_entries_span = Some(v.span.clone());
                }
            }
            "max_processes" => {
                if let Some(n) = expect_u32(k, v, r) {
                    s.max_processes = n;
                    s.max_processes_span = Some(v.span.clone());
                }
            }
            "doc" => s.doc = expect_string(k, v, r).unwrap_or_default(),
            _ => {}
        }
    }
    s
}

/// Segment-wide rules, each asked of the model: table and registry sizes, then the number of
/// structures against the table.
fn check_segment(layout: &SegmentLayout<'_>, s: &Settings, spans: &[&StructureSpans], r: &mut Reporter<'_>) {
    let defaults =
        |max_entries, max_processes| SegmentLayout { name: None, max_entries, max_processes, structures: &[] };
    let mut entries_ok = true;
    if let Err(e @ LayoutError::MaxEntries { .. }) =
        defaults(s.max_entries, zipc::description::DEFAULT_MAX_PROCESSES).validate()
    {
        r.error(s.max_entries_span.as_ref().unwrap_or(&(0..0)), format!("{e}"), Some("the default is 64".to_owned()));
        entries_ok = false;
    }
    if let Err(e @ LayoutError::MaxProcesses { .. }) =
        defaults(zipc::table::DEFAULT_MAX_ENTRIES, s.max_processes).validate()
    {
        r.error(s.max_processes_span.as_ref().unwrap_or(&(0..0)), format!("{e}"), Some("the default is 64".to_owned()));
    }
    if !entries_ok {
        return;
    }
    let counted = SegmentLayout { max_processes: zipc::description::DEFAULT_MAX_PROCESSES, ..*layout };
    if let Err(e @ LayoutError::TooManyStructures { max_entries, .. }) = counted.validate() {
        // Point at the first structure that does not fit (entry 0 is zipc's own).
        let first_excess = (max_entries as usize).saturating_sub(1);
        let at = spans.get(first_excess).map(|s| s.entry.clone()).unwrap_or(0..0);
        let at = s.max_entries_span.clone().filter(|_| spans.get(first_excess).is_none()).unwrap_or(at);
        r.error(
            &at,
            format!("{e}"),
            Some(format!("set max_entries = {} (or more) under [segment]", layout.structures.len() + 1)),
        );
    }
}
