//! Structures: the `[[structures]]` entries of a schema (name, kind, element type, parameters,
//! doc), turned into [`StructureLayout`]s.
//!
//! Which kind takes which parameter, and of what type, is [`Kind::parameters`]: the same table the
//! derive reads. This module checks the TOML values against it and asks the model
//! ([`StructureLayout::region`]) for everything else.

use std::ops::Range;

use zipc::layout::kinds::map;
use zipc::layout::{
    Arg, Kind, LayoutError, ParamValue, Parameter, ParameterError, Primitive, StructureLayout, TypeLayout,
};

use crate::arena::Arena;
use crate::diagnostic::{closest, Reporter};
use crate::document::{Key, Node, Value};
use crate::names;
use crate::types::{parse_type_expr, TypeResolver};
use crate::values::expect_string;

/// Keys every structure takes, besides its kind's parameters (a map and a set refuse `type`).
const COMMON_KEYS: &[&str] = &["name", "kind", "type", "doc"];

/// The keys that give a map's types (a set's: `key`), instead of `type`.
const KEY_VALUE_KEYS: &[&str] = &["key", "value"];

/// The keys of [`KEY_VALUE_KEYS`] that `kind` takes.
fn type_keys(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Map => KEY_VALUE_KEYS,
        Kind::Set => &KEY_VALUE_KEYS[..1],
        _ => &[],
    }
}

/// Where the parts of a structure declaration are, for messages.
pub(crate) struct StructureSpans {
    /// The whole entry.
    pub entry: Range<usize>,
    pub name: Range<usize>,
    pub ty: Option<Range<usize>>,
    pub params: Vec<(&'static str, Range<usize>)>,
}

/// Reads the `structures` array into layouts. Structures with errors are reported and left out.
pub(crate) fn read_structures<'a>(
    node: &Node,
    src: &str,
    types: &mut TypeResolver<'a, '_>,
    arena: &'a Arena,
    r: &mut Reporter<'_>,
) -> Vec<(StructureLayout<'a>, StructureSpans)> {
    let Value::Array(items) = &node.value else {
        r.error(
            &node.span,
            format!("`structures` must be an array of tables, found {}", node.value.describe()),
            Some("declare each structure as a [[structures]] table".to_owned()),
        );
        return Vec::new();
    };
    let mut out: Vec<(StructureLayout<'a>, StructureSpans)> = Vec::new();
    // Every name seen, valid or not, so that a duplicate is reported even next to other errors.
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        let Value::Table(kv) = &item.value else {
            r.error(
                &item.span,
                format!("a structure must be a table, found {}", item.value.describe()),
                Some("declare each structure as a [[structures]] table".to_owned()),
            );
            continue;
        };
        let mut duplicate = false;
        if let Some((_, Node { span, value: Value::String(name) })) = kv.iter().find(|(k, _)| k.name == "name") {
            match seen.iter().find(|o| o.eq_ignore_ascii_case(name)) {
                Some(o) if o == name => r.error(
                    span,
                    format!("two structures are named `{name}`"),
                    Some("structure names are unique within a segment: rename one".to_owned()),
                ),
                Some(o) => r.error(
                    span,
                    format!("structures `{o}` and `{name}` differ only in case"),
                    Some("their C constants would collide: rename one".to_owned()),
                ),
                None => seen.push(name.clone()),
            }
            duplicate = seen.last() != Some(name);
        }
        if let Some(s) = read_structure(item, kv, src, types, arena, r) {
            if !duplicate {
                out.push(s);
            }
        }
    }
    out
}

fn read_structure<'a>(
    item: &Node,
    kv: &[(Key, Node)],
    src: &str,
    types: &mut TypeResolver<'a, '_>,
    arena: &'a Arena,
    r: &mut Reporter<'_>,
) -> Option<(StructureLayout<'a>, StructureSpans)> {
    let get = |k: &str| kv.iter().find(|(key, _)| key.name == k);
    let mut ok = true;

    // name
    let (name, name_span) = match get("name") {
        Some((k, v)) => (expect_string(k, v, r), v.span.clone()),
        None => {
            r.error(&item.span, "a structure has no `name`", Some("add name = \"...\"".to_owned()));
            (None, item.span.clone())
        }
    };
    let display = name.clone().unwrap_or_else(|| "?".to_owned());
    if let Some(n) = &name {
        if let Err(e) = zipc::layout::check_structure_name(n) {
            r.error(&name_span, format!("invalid structure name {n:?}: {e}"), Some(name_help(&e)));
            ok = false;
        } else if let Some(problem) = names::structure_name_problem(n) {
            r.error(
                &name_span,
                format!("invalid structure name: {problem}"),
                Some("the name becomes a field in Rust and Python and a constant in C: use ASCII letters, digits and `_`, no keywords".to_owned()),
            );
            ok = false;
        }
    } else {
        ok = false;
    }

    // kind
    let kind = match get("kind") {
        Some((k, v)) => expect_string(k, v, r).and_then(|s| {
            let kind = Kind::from_name(&s);
            if kind.is_none() {
                let names: Vec<String> = Kind::ALL.iter().map(|k| k.name().to_lowercase()).collect();
                let help = match closest(&s, names.iter().map(String::as_str)) {
                    Some(c) => format!("did you mean `{c}`? Kinds are {}", names.join(", ")),
                    None => format!("kinds are {}", names.join(", ")),
                };
                r.error(&v.span, format!("unknown kind `{s}` for structure `{display}`"), Some(help));
            }
            kind
        }),
        None => {
            let names: Vec<String> = Kind::ALL.iter().map(|k| k.name().to_lowercase()).collect();
            r.error(
                &item.span,
                format!("structure `{display}` has no `kind`"),
                Some(format!("add kind = \"...\", one of {}", names.join(", "))),
            );
            None
        }
    };

    // element type: `type`, or a map's `key` and `value`, a set's `key`
    let mut elem: Option<TypeLayout<'a>> = None;
    let mut ty_span = None;
    if let Some((k, v)) = get("type") {
        ty_span = Some(v.span.clone());
        match kind {
            Some(kind @ (Kind::Map | Kind::Set)) => {
                type_given_to_keyed(kind, &display, v, r);
                ok = false;
            }
            _ => match element_type("element type", k, v, &display, src, types, r) {
                Some(t) => elem = Some(t),
                None => ok = false,
            },
        }
    }
    if let Some(kind @ (Kind::Map | Kind::Set)) = kind {
        // `None`: not given; `Some(None)`: given and reported.
        let mut read = |name: &str| {
            let (k, v) = get(name)?;
            ty_span.get_or_insert(v.span.clone());
            Some(element_type(name, k, v, &display, src, types, r))
        };
        let key = read("key");
        let value = (kind == Kind::Map).then(|| read("value"));
        let mut missing = Vec::new();
        if key.is_none() {
            missing.push(("key", "keys"));
        }
        if let Some(None) = value {
            missing.push(("value", "values"));
        }
        // With a `type`, its message says what to write instead.
        if !missing.is_empty() && get("type").is_none() {
            let names: Vec<String> = missing.iter().map(|(n, _)| format!("`{n}`")).collect();
            let whose: Vec<String> = missing.iter().map(|(_, w)| format!("of its {w}")).collect();
            let adds: Vec<String> = missing.iter().map(|(n, _)| format!("{n} = \"...\"")).collect();
            r.error(
                &item.span,
                format!(
                    "{} `{display}` needs {} (the type{} {})",
                    article(kind),
                    names.join(" and "),
                    if missing.len() > 1 { "s" } else { "" },
                    whose.join(" and ")
                ),
                Some(format!(
                    "add {}: {}a primitive, [T; N], or a type declared under [types]",
                    adds.join(" and "),
                    if missing.len() > 1 { "each " } else { "" }
                )),
            );
        }
        match (kind, key.flatten(), value.flatten().flatten()) {
            (Kind::Set, Some(key), _) => elem = Some(key),
            (Kind::Map, Some(key), Some(value)) => {
                let fields = arena.alloc(map::entry_fields(key, value));
                let entry = arena.alloc(map::entry_struct(fields));
                if entry.size > u64::from(u32::MAX) {
                    let at = get("value").map_or(&item.span, |(_, v)| &v.span);
                    r.error(
                        at,
                        format!(
                            "the entries of `{display}` (key and value) are {} bytes; entries are at most 4 GiB",
                            entry.size
                        ),
                        Some("use a smaller key or value type".to_owned()),
                    );
                    ok = false;
                } else {
                    elem = Some(TypeLayout::Struct(entry));
                }
            }
            _ => ok = false,
        }
    }
    let doc = match get("doc") {
        Some((k, v)) => expect_string(k, v, r).unwrap_or_default(),
        None => String::new(),
    };

    // parameters
    let mut spans = StructureSpans { entry: item.span.clone(), name: name_span, ty: ty_span, params: Vec::new() };
    let mut decl = StructureLayout::new("", Kind::Mutex, None);
    if let Some(kind) = kind {
        decl.kind = kind;
        for (k, v) in kv {
            if COMMON_KEYS.contains(&k.name.as_str()) || type_keys(kind).contains(&k.name.as_str()) {
                continue;
            }
            if let Some(help) = KEY_VALUE_KEYS.contains(&k.name.as_str()).then(|| misplaced_key_value(kind, &k.name)) {
                r.error(&k.span, format!("{} `{display}` takes no `{}`", article(kind), k.name), Some(help));
                ok = false;
                continue;
            }
            let Some(p) = kind.parameter(&k.name) else {
                let params = kind.parameters();
                // A map's or a set's element keys instead of `type`.
                let common = COMMON_KEYS.iter().copied().filter(|c| *c != "type" || type_keys(kind).is_empty());
                let candidates = params.iter().map(|p| p.name).chain(common).chain(type_keys(kind).iter().copied());
                let help = match closest(&k.name, candidates) {
                    Some(c) => format!("did you mean `{c}`? {}", takes(kind)),
                    None => takes(kind),
                };
                r.error(&k.span, format!("unknown key `{}` for {} `{display}`", k.name, article(kind)), Some(help));
                ok = false;
                continue;
            };
            spans.params.push((p.name, v.span.clone()));
            if !set_parameter(&mut decl, p, kind, v, r) {
                ok = false;
            }
        }
        for p in kind.parameters() {
            if p.required && get(p.name).is_none() {
                r.error(
                    &item.span,
                    format!("{} `{display}` needs `{}` ({})", article(kind), p.name, p.doc),
                    Some(format!("add {} = {}", p.name, example(p))),
                );
                ok = false;
            }
        }
    } else {
        ok = false;
        // Without a kind no key can be checked further; keep going with the others.
    }
    if !ok {
        return None;
    }
    let name = arena.str(name.as_deref().unwrap_or_default());
    let decl = StructureLayout { name, doc: arena.str(&doc), elem, ..decl };
    if let Some(Primitive::U32 | Primitive::I32 | Primitive::U64 | Primitive::I64) = elem.and_then(|e| e.primitive()) {
        if decl.kind == Kind::Atomic && !initial_fits(decl.initial, elem.and_then(|e| e.primitive())) {
            let at = spans.params.iter().find(|(n, _)| *n == "initial").map_or(&spans.entry, |(_, s)| s).clone();
            r.error(
                &at,
                format!(
                    "initial value {} does not fit in the atomic's {}",
                    decl.initial,
                    elem.map(|e| e.display_name()).unwrap_or_default()
                ),
                Some("choose a value in the type's range, or a wider type".to_owned()),
            );
            return None;
        }
    }
    // The model decides the rest: element required or not, allowed element types, parameter
    // rules.
    if let Err(e) = decl.region() {
        report_layout_error(&e, &decl, &spans, r);
        return None;
    }
    Some((decl, spans))
}

/// Resolves the type written at `k = v` (`what`: "element type", "key" or "value"), reporting
/// what is wrong with it.
fn element_type<'a>(
    what: &str,
    k: &Key,
    v: &Node,
    display: &str,
    src: &str,
    types: &mut TypeResolver<'a, '_>,
    r: &mut Reporter<'_>,
) -> Option<TypeLayout<'a>> {
    let t = types.resolve(&parse_type_expr(&expect_string(k, v, r)?, &v.span, src, r)?, r)?;
    if t.size() > u64::from(u32::MAX) {
        let (what, limited) = match what {
            "element type" => (what.to_owned(), "elements".to_owned()),
            _ => (format!("{what} type"), format!("{what}s")),
        };
        r.error(&v.span, format!("the {what} of `{display}` is {} bytes; {limited} are at most 4 GiB", t.size()), None);
        return None;
    }
    Some(t)
}

/// Reports `type = ...` in a map or a set, whose types are given by `key` (and `value`).
fn type_given_to_keyed(kind: Kind, display: &str, v: &Node, r: &mut Reporter<'_>) {
    let written = match &v.value {
        Value::String(t) => t.as_str(),
        _ => "...",
    };
    let (message, help) = if kind == Kind::Map {
        (
            format!("a map `{display}` takes `key` and `value`, not `type`"),
            "replace `type` with key = \"...\" and value = \"...\", the types of its keys and of its values".to_owned(),
        )
    } else {
        (
            format!("a set `{display}` takes `key`, not `type`"),
            format!("write key = \"{written}\": a set's elements are its keys"),
        )
    };
    r.error(&v.span, message, Some(help));
}

/// The help for `key` or `value` written in a structure of `kind`, which does not take it.
fn misplaced_key_value(kind: Kind, key: &str) -> String {
    if kind == Kind::Set {
        return "remove `value`: a set holds keys only (a map, kind = \"map\", holds a value per key)".to_owned();
    }
    let whose = if key == "key" { "a map's and a set's key type" } else { "a map's value type" };
    if kind.has_element() {
        format!("`{key}` gives {whose}; the element type of {} is `type`", article(kind))
    } else {
        format!("`{key}` gives {whose}; {} holds no elements", article(kind))
    }
}

fn initial_fits(v: i64, p: Option<Primitive>) -> bool {
    match p {
        Some(Primitive::U32) => u32::try_from(v).is_ok(),
        Some(Primitive::I32) => i32::try_from(v).is_ok(),
        Some(Primitive::U64) => v >= 0,
        _ => true,
    }
}

/// Reports an error of [`StructureLayout::region`] at the part of the declaration it concerns.
pub(crate) fn report_layout_error(
    e: &LayoutError,
    decl: &StructureLayout<'_>,
    spans: &StructureSpans,
    r: &mut Reporter<'_>,
) {
    let param = |name: &str| spans.params.iter().find(|(n, _)| *n == name).map(|(_, s)| s.clone());
    let name = decl.name;
    let kinds_with_element: Vec<String> =
        Kind::ALL.iter().filter(|k| k.has_element()).map(|k| k.name().to_lowercase()).collect();
    let (span, help) = match e {
        LayoutError::NameEmpty
        | LayoutError::NameTooLong { .. }
        | LayoutError::NameHasNul
        | LayoutError::NameReserved => (spans.name.clone(), Some(name_help(e))),
        LayoutError::MissingElement { .. } => (
            spans.entry.clone(),
            Some("add type = \"...\": a primitive, [T; N], or a type declared under [types]".to_owned()),
        ),
        LayoutError::UnexpectedElement { kind } => (
            spans.ty.clone().unwrap_or(spans.entry.clone()),
            Some(format!(
                "remove `type`: {} holds no elements (kinds with elements: {})",
                article(*kind),
                kinds_with_element.join(", ")
            )),
        ),
        LayoutError::UnsupportedElement { .. } => (spans.ty.clone().unwrap_or(spans.entry.clone()), None),
        LayoutError::InvalidParameter { parameter, .. } => (param(parameter).unwrap_or(spans.entry.clone()), None),
        LayoutError::TooLarge => (
            param("capacity").unwrap_or(spans.entry.clone()),
            Some("lower the capacity or use a smaller element type".to_owned()),
        ),
        _ => (spans.entry.clone(), None),
    };
    r.error(&span, format!("structure `{name}`: {e}"), help);
}

fn name_help(e: &LayoutError) -> String {
    match e {
        LayoutError::NameTooLong { .. } => format!(
            "the segment's table stores names in {} bytes with a NUL: use at most {} bytes",
            zipc::table::NAME_FIELD,
            zipc::table::MAX_NAME_LEN
        ),
        LayoutError::NameReserved => {
            format!("pick a name that does not start with {:?}", zipc::description::RESERVED_PREFIX)
        }
        _ => "give the structure a non-empty name".to_owned(),
    }
}

/// "a queue", "an rwlock": the kind's own article (its SPEC says how its name is read).
fn article(kind: Kind) -> String {
    format!("{} {}", kind.spec().article, kind.name().to_lowercase())
}

fn takes(kind: Kind) -> String {
    let params = kind.parameters();
    let types = match kind {
        Kind::Map => "key (the key type), value (the value type), ",
        Kind::Set => "key (the key type), ",
        _ => "",
    };
    if params.is_empty() {
        format!("{} takes no parameters (keys: name, kind, doc)", article(kind))
    } else {
        let list: Vec<String> = params.iter().map(|p| format!("{} ({})", p.name, p.doc)).collect();
        format!("{} takes {types}{}", article(kind), list.join(", "))
    }
}

fn example(p: &Parameter) -> String {
    match p.value {
        ParamValue::Unsigned { min } => min.max(1).to_string(),
        ParamValue::Signed => "0".to_owned(),
        ParamValue::Bool { .. } => "true".to_owned(),
        ParamValue::Choice(opts) => format!("\"{}\"", opts.last().map_or("", |o| o.0)),
    }
}

/// Checks one parameter value against its [`ParamValue`] and stores it in the slot the table
/// names. Returns false after reporting.
fn set_parameter(
    decl: &mut StructureLayout<'_>,
    p: &'static Parameter,
    kind: Kind,
    v: &Node,
    r: &mut Reporter<'_>,
) -> bool {
    // The value's TOML type only picks the argument; every rule (types, ranges, choices, which
    // slot and bits it sets) is `StructureLayout::with_parameter`'s, the one the derive uses.
    let arg = match &v.value {
        Value::Integer(i) => Arg::Int(i128::from(*i)),
        Value::Boolean(b) => Arg::Bool(*b),
        Value::String(s) => Arg::Str(s),
        _ => {
            let e = ParameterError::WrongType { kind, parameter: p };
            r.error(&v.span, e.to_string(), Some(format!("found {}", v.value.describe())));
            return false;
        }
    };
    match decl.with_parameter(p.name, arg) {
        Ok(d) => {
            *decl = d;
            true
        }
        Err(e) => {
            let found = matches!(e, ParameterError::WrongType { .. }).then(|| format!("found {}", v.value.describe()));
            r.error(&v.span, e.to_string(), found);
            false
        }
    }
}
