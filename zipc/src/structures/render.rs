//! How a kind renders its live state for `inspect`: the [`LiveState`] trait each kind's state
//! implements, and its vocabulary — a [`Json`] value (the report's `--json` form, written by
//! zipc itself rather than through a serde dependency) and the text pieces of the human report:
//! fill bars, percentages, holders.

use std::fmt::Write as _;

use crate::sys::role::Holder;

/// How a kind renders its live state: the lines of the human report and the JSON object.
pub(crate) trait LiveState {
    /// Appends the human report's lines for this state.
    fn report(&self, out: &mut Vec<String>);
    /// The state as a JSON object (its fields are listed in `inspect`'s module docs).
    fn json(&self) -> Json;
}

/// A JSON value, rendered with two-space indentation.
pub(crate) enum Json {
    Null,
    Bool(bool),
    U(u64),
    I(i64),
    S(String),
    A(Vec<Json>),
    O(Vec<(&'static str, Json)>),
}

impl Json {
    pub(crate) fn s(v: impl Into<String>) -> Json {
        Json::S(v.into())
    }

    pub(crate) fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
        v.map_or(Json::Null, f)
    }

    pub(crate) fn write(&self, out: &mut String, indent: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::U(v) => {
                let _ = write!(out, "{v}");
            }
            Json::I(v) => {
                let _ = write!(out, "{v}");
            }
            Json::S(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::A(items) if items.is_empty() => out.push_str("[]"),
            Json::A(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&"  ".repeat(indent + 1));
                    v.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
                out.push(']');
            }
            Json::O(fields) if fields.is_empty() => out.push_str("{}"),
            Json::O(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&"  ".repeat(indent + 1));
                    Json::s(*k).write(out, indent + 1);
                    out.push_str(": ");
                    v.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
        }
    }
}

const BAR_WIDTH: u64 = 20;

/// `[#####...............]`: `used` of `total`, rounded up so that any use shows.
pub(crate) fn bar(used: u64, total: u64) -> String {
    let filled =
        if total == 0 { 0 } else { (used.min(total) as u128 * BAR_WIDTH as u128).div_ceil(total as u128) as u64 };
    format!("[{}{}]", "#".repeat(filled as usize), ".".repeat((BAR_WIDTH - filled) as usize))
}

pub(crate) fn percent(used: u64, total: u64) -> String {
    if total == 0 {
        return "-".to_owned();
    }
    format!("{:.0}%", used.min(total) as f64 * 100.0 / total as f64)
}

pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn holder(h: &Option<Holder>) -> String {
    match h {
        None => "none".to_owned(),
        Some(h) => format!("pid {} ({})", h.pid, if h.alive { "alive" } else { "dead" }),
    }
}

pub(crate) fn holder_json(h: &Holder) -> Json {
    Json::O(vec![("pid", Json::U(h.pid.into())), ("start_time", Json::U(h.start_time)), ("alive", Json::Bool(h.alive))])
}

pub(crate) fn opt_holder_json(h: &Option<Holder>) -> Json {
    Json::opt(h.as_ref(), holder_json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars() {
        assert_eq!(bar(0, 16), "[....................]");
        assert_eq!(bar(16, 16), "[####################]");
        assert_eq!(bar(1, 1000), "[#...................]", "any use shows");
        assert_eq!(bar(99, 0), "[....................]");
        assert_eq!(bar(u64::MAX, u64::MAX), "[####################]");
    }

    #[test]
    fn json_escapes_strings() {
        let mut out = String::new();
        Json::O(vec![("a\"b", Json::s("x\\y\n\u{1}é")), ("e", Json::A(vec![]))]).write(&mut out, 0);
        assert_eq!(out, "{\n  \"a\\\"b\": \"x\\\\y\\n\\u0001é\",\n  \"e\": []\n}");
    }
}
