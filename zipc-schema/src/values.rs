//! Reading TOML values of the spanned tree: the checks every table of a schema shares (unknown
//! keys, a string, a `u32`), each reporting what is wrong at the value's position.
//!
//! Below `schema`, `types` and `structures`, which all use it; it imports only `diagnostic` and
//! `document`.

use crate::diagnostic::{closest, Reporter};
use crate::document::{Key, Node, Value};

/// Reports keys of a table that are not in `allowed`.
pub(crate) fn check_keys(kv: &[(Key, Node)], allowed: &[&str], what: &str, r: &mut Reporter<'_>) {
    for (k, _) in kv {
        if !allowed.contains(&k.name.as_str()) {
            let help = match closest(&k.name, allowed.iter().copied()) {
                Some(c) => format!("did you mean `{c}`? {what} takes {}", allowed.join(", ")),
                None => format!("{what} takes {}", allowed.join(", ")),
            };
            r.error(&k.span, format!("unknown key `{}` in {what}", k.name), Some(help));
        }
    }
}

/// The string value of key `k`, or `None` after reporting a wrong type.
pub(crate) fn expect_string(k: &Key, v: &Node, r: &mut Reporter<'_>) -> Option<String> {
    match &v.value {
        Value::String(s) => Some(s.clone()),
        other => {
            r.error(
                &v.span,
                format!("`{}` must be a string, found {}", k.name, other.describe()),
                Some(format!("write {} = \"...\"", k.name)),
            );
            None
        }
    }
}

/// The `u32` value of key `k`, or `None` after reporting a wrong type or range.
pub(crate) fn expect_u32(k: &Key, v: &Node, r: &mut Reporter<'_>) -> Option<u32> {
    match &v.value {
        Value::Integer(i) => match u32::try_from(*i) {
            Ok(n) => Some(n),
            Err(_) => {
                r.error(&v.span, format!("`{}` must be between 0 and {}, found {i}", k.name, u32::MAX), None);
                None
            }
        },
        other => {
            r.error(&v.span, format!("`{}` must be an integer, found {}", k.name, other.describe()), None);
            None
        }
    }
}
