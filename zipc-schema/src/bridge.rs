//! The schema's optional `[bridge]` table: what `zipc-bridge run --schema FILE` forwards, next to
//! the declaration of the structures themselves (docs/BRIDGE.md).
//!
//! ```toml
//! [bridge]
//! prefix = "lab/robot1"          # Zenoh key prefix: structure NAME travels on PREFIX/NAME
//! export = ["frames", "jobs"]    # read here, published
//! import = ["commands"]          # subscribed, written here
//! listen = ["tcp/0.0.0.0:7447"]  # Zenoh endpoints
//! connect = []
//! mode = "peer"                  # or "client" (of a Zenoh router)
//! ```
//!
//! Every name must be a declared queue, ring or topic, and no structure both exported and
//! imported; the code generators ignore the table. Below `schema`; imports `diagnostic`,
//! `document` and `values`.

use zipc::layout::{Kind, StructureLayout};

use crate::diagnostic::Reporter;
use crate::document::{Key, Node, Value};
use crate::values::{check_keys, expect_string};

/// The `[bridge]` table, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BridgeSection {
    /// Key prefix.
    pub prefix: Option<String>,
    /// Structures to export.
    pub export: Vec<String>,
    /// Structures to import.
    pub import: Vec<String>,
    /// Endpoints to listen on.
    pub listen: Vec<String>,
    /// Endpoints to connect to.
    pub connect: Vec<String>,
    /// `"peer"` or `"client"`.
    pub mode: Option<String>,
}

const KEYS: &[&str] = &["prefix", "export", "import", "listen", "connect", "mode"];

/// The strings of an array value, reporting anything else.
fn strings(k: &Key, v: &Node, r: &mut Reporter<'_>) -> Vec<(String, std::ops::Range<usize>)> {
    let Value::Array(items) = &v.value else {
        r.error(
            &v.span,
            format!("`{}` must be an array of strings, found {}", k.name, v.value.describe()),
            Some(format!("write {} = [\"...\"]", k.name)),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match &item.value {
            Value::String(s) => Some((s.clone(), item.span.clone())),
            other => {
                r.error(&item.span, format!("`{}` holds strings, found {}", k.name, other.describe()), None);
                None
            }
        })
        .collect()
}

/// Reads and checks `[bridge]` against the declared structures.
pub(crate) fn read_bridge(node: &Node, structures: &[StructureLayout<'_>], r: &mut Reporter<'_>) -> BridgeSection {
    let mut b = BridgeSection::default();
    let Value::Table(kv) = &node.value else {
        r.error(
            &node.span,
            format!("`bridge` must be a table, found {}", node.value.describe()),
            Some("write [bridge] with prefix, export, import, listen, connect, mode".to_owned()),
        );
        return b;
    };
    check_keys(kv, KEYS, "[bridge]", r);
    let mut named: Vec<(String, std::ops::Range<usize>, &'static str)> = Vec::new();
    for (k, v) in kv {
        match k.name.as_str() {
            "prefix" => b.prefix = expect_string(k, v, r),
            "mode" => {
                b.mode = expect_string(k, v, r);
                if let Some(m) = b.mode.as_deref().filter(|m| !["peer", "client"].contains(m)) {
                    r.error(
                        &v.span,
                        format!("mode {m:?} is not a Zenoh mode a bridge takes"),
                        Some("write mode = \"peer\" or \"client\"".to_owned()),
                    );
                }
            }
            "listen" => b.listen = strings(k, v, r).into_iter().map(|(s, _)| s).collect(),
            "connect" => b.connect = strings(k, v, r).into_iter().map(|(s, _)| s).collect(),
            "export" | "import" => {
                let role = if k.name == "export" { "export" } else { "import" };
                for (name, span) in strings(k, v, r) {
                    match structures.iter().find(|s| s.name == name) {
                        None => r.error(
                            &span,
                            format!("[bridge] {role}s {name:?}, which the schema does not declare"),
                            None,
                        ),
                        Some(s) if !matches!(s.kind, Kind::Queue | Kind::Ring | Kind::Topic) => r.error(
                            &span,
                            format!(
                                "{name:?} is {} {}: only queues, rings and topics are bridged",
                                s.kind.spec().article,
                                s.kind.spec().name.to_lowercase()
                            ),
                            None,
                        ),
                        Some(_) => {}
                    }
                    if let Some((_, _, first)) = named.iter().find(|(n, _, _)| *n == name) {
                        r.error(
                            &span,
                            format!("{name:?} is already {first}ed: a structure is exported or imported, once"),
                            None,
                        );
                    }
                    named.push((name.clone(), span, role));
                    if role == "export" {
                        b.export.push(name);
                    } else {
                        b.import.push(name);
                    }
                }
            }
            _ => {}
        }
    }
    b
}
