//! Element types: the `[types.NAME]` tables of a schema, type expressions (`u32`, `[f32; 8]`,
//! `[Vec3; 4]`), and their resolution into [`zipc::layout`] values.
//!
//! Field offsets, sizes and padding come from [`layout::repr_c`], C's struct rules; this module
//! only orders the work (dependencies first, cycles reported) and reports what the model finds.

use std::collections::HashMap;
use std::ops::Range;

use zipc::layout::{self, FieldLayout, Primitive, StructLayout, TypeLayout};

use crate::arena::Arena;
use crate::diagnostic::{closest, Reporter};
use crate::document::{Node, Value};
use crate::names;
use crate::values::{check_keys, expect_string};

/// A type as written in a schema: `u32`, `Name`, `[T; N]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TypeExpr {
    Primitive(Primitive),
    Named { name: String, span: Range<usize> },
    Array { elem: Box<TypeExpr>, len: u64, len_span: Range<usize> },
}

/// A declared struct type, before resolution.
pub(crate) struct RawType {
    pub name: String,
    pub name_span: Range<usize>,
    pub doc: String,
    pub fields: Vec<RawField>,
    /// Span of the `fields` value (or of the type's table when `fields` is missing).
    pub fields_span: Range<usize>,
}

pub(crate) struct RawField {
    pub name: String,
    pub doc: String,
    /// `None` when the type expression did not parse (already reported).
    pub ty: Option<TypeExpr>,
    /// Span of the whole field entry.
    pub span: Range<usize>,
}

const TYPE_KEYS: &[&str] = &["doc", "fields"];
const FIELD_KEYS: &[&str] = &["name", "type", "doc"];

/// Reads the `[types]` table.
pub(crate) fn read_types(node: &Node, src: &str, r: &mut Reporter<'_>) -> Vec<RawType> {
    let Value::Table(entries) = &node.value else {
        r.error(
            &node.span,
            format!("`types` must be a table of types, found {}", node.value.describe()),
            Some("declare each type as a table: [types.Reading]".to_owned()),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, def) in entries {
        if let Some(problem) = names::identifier_problem(&key.name) {
            r.error(&key.span, format!("invalid type name: {problem}"), Some(rename_help("type")));
        }
        let Value::Table(items) = &def.value else {
            r.error(
                &def.span,
                format!("type `{}` must be a table, found {}", key.name, def.value.describe()),
                Some(format!("write [types.{}] with a `fields` array", key.name)),
            );
            continue;
        };
        check_keys(items, TYPE_KEYS, &format!("type `{}`", key.name), r);
        let mut doc = String::new();
        let mut fields = Vec::new();
        let mut fields_span = key.span.clone();
        for (k, v) in items {
            match k.name.as_str() {
                "doc" => doc = expect_string(k, v, r).unwrap_or_default(),
                "fields" => {
                    fields_span = v.span.clone();
                    fields = read_fields(&key.name, v, src, r);
                }
                _ => {}
            }
        }
        if !items.iter().any(|(k, _)| k.name == "fields") {
            r.error(
                &key.span,
                format!("type `{}` has no `fields`", key.name),
                Some("add fields = [{ name = \"...\", type = \"u32\" }, ...]".to_owned()),
            );
        }
        out.push(RawType { name: key.name.clone(), name_span: key.span.clone(), doc, fields, fields_span });
    }
    out
}

fn rename_help(what: &str) -> String {
    format!("rename the {what}: names become identifiers in Rust, C, C++ and Python (ASCII letters, digits and `_`, no keywords)")
}

fn read_fields(type_name: &str, node: &Node, src: &str, r: &mut Reporter<'_>) -> Vec<RawField> {
    let Value::Array(items) = &node.value else {
        r.error(
            &node.span,
            format!("`fields` of type `{type_name}` must be an array, found {}", node.value.describe()),
            Some("write fields = [{ name = \"a\", type = \"u32\" }, ...] or [[types.NAME.fields]] tables".to_owned()),
        );
        return Vec::new();
    };
    if items.is_empty() {
        r.error(
            &node.span,
            format!("type `{type_name}` has no fields"),
            Some("a shared type needs at least one field (C has no empty structs)".to_owned()),
        );
    }
    let mut out: Vec<RawField> = Vec::new();
    for item in items {
        let Value::Table(kv) = &item.value else {
            r.error(
                &item.span,
                format!("a field of type `{type_name}` must be a table, found {}", item.value.describe()),
                Some("write { name = \"a\", type = \"u32\" }".to_owned()),
            );
            continue;
        };
        check_keys(kv, FIELD_KEYS, &format!("a field of type `{type_name}`"), r);
        let (mut name, mut name_span, mut doc, mut ty) = (None, item.span.clone(), String::new(), None);
        for (k, v) in kv {
            match k.name.as_str() {
                "name" => {
                    name = expect_string(k, v, r);
                    name_span = v.span.clone();
                }
                "doc" => doc = expect_string(k, v, r).unwrap_or_default(),
                "type" => {
                    if let Some(text) = expect_string(k, v, r) {
                        ty = parse_type_expr(&text, &v.span, src, r);
                    }
                }
                _ => {}
            }
        }
        let Some(name) = name else {
            r.error(
                &item.span,
                format!("a field of type `{type_name}` has no `name`"),
                Some("add name = \"...\"".to_owned()),
            );
            continue;
        };
        if !kv.iter().any(|(k, _)| k.name == "type") {
            r.error(
                &item.span,
                format!("field `{name}` of type `{type_name}` has no `type`"),
                Some("add type = \"u32\" (or another primitive, [T; N], or a declared type)".to_owned()),
            );
        }
        if let Some(problem) = names::identifier_problem(&name) {
            r.error(&name_span, format!("invalid field name: {problem}"), Some(rename_help("field")));
        }
        if out.iter().any(|f| f.name == name) {
            r.error(
                &name_span,
                format!("type `{type_name}` has two fields named `{name}`"),
                Some("rename one of them".to_owned()),
            );
        }
        out.push(RawField { name, doc, ty, span: item.span.clone() });
    }
    out
}

/// Parses a type expression from the string value at `span`. Errors point inside the string
/// when it is a plain quoted literal.
pub(crate) fn parse_type_expr(text: &str, span: &Range<usize>, src: &str, r: &mut Reporter<'_>) -> Option<TypeExpr> {
    // Offset of the string's content in the source: after the opening quote, if the literal is
    // written plainly (no escapes), so that positions inside it are exact.
    let lit = src.get(span.clone()).unwrap_or("");
    let base = if lit.len() == text.len() + 2 && &lit[1..lit.len() - 1] == text { span.start + 1 } else { span.start };
    let exact = base != span.start;
    let mut p = TypeParser { text, pos: 0 };
    let result = p.ty().and_then(|t| {
        p.skip_ws();
        if p.pos < text.len() {
            Err((p.pos, format!("unexpected `{}` after the type", &text[p.pos..])))
        } else {
            Ok(t)
        }
    });
    match result {
        Ok(mut t) => {
            if exact {
                shift_spans(&mut t, base);
            } else {
                collapse_spans(&mut t, span);
            }
            Some(t)
        }
        Err((at, msg)) => {
            let at = if exact { base + at } else { span.start };
            r.error(
                &(at..at),
                format!("invalid type `{text}`: {msg}"),
                Some(
                    "types are u8 i8 u16 i16 u32 i32 u64 i64 f32 f64, [T; N], or a name declared under [types]"
                        .to_owned(),
                ),
            );
            None
        }
    }
}

fn shift_spans(t: &mut TypeExpr, by: usize) {
    match t {
        TypeExpr::Primitive(_) => {}
        TypeExpr::Named { span, .. } => *span = span.start + by..span.end + by,
        TypeExpr::Array { elem, len_span, .. } => {
            *len_span = len_span.start + by..len_span.end + by;
            shift_spans(elem, by);
        }
    }
}

fn collapse_spans(t: &mut TypeExpr, to: &Range<usize>) {
    match t {
        TypeExpr::Primitive(_) => {}
        TypeExpr::Named { span, .. } => *span = to.clone(),
        TypeExpr::Array { elem, len_span, .. } => {
            *len_span = to.clone();
            collapse_spans(elem, to);
        }
    }
}

struct TypeParser<'t> {
    text: &'t str,
    pos: usize,
}

impl TypeParser<'_> {
    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with([' ', '\t']) {
            self.pos += 1;
        }
    }

    fn ty(&mut self) -> Result<TypeExpr, (usize, String)> {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        if rest.starts_with('[') {
            self.pos += 1;
            let elem = self.ty()?;
            self.skip_ws();
            if !self.text[self.pos..].starts_with(';') {
                return Err((self.pos, "expected `;` and a length, as in [f32; 8]".to_owned()));
            }
            self.pos += 1;
            self.skip_ws();
            let start = self.pos;
            let digits = self.text[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '_').count();
            if digits == 0 {
                return Err((start, "expected the array length, as in [f32; 8]".to_owned()));
            }
            self.pos += digits;
            let len: u64 = self.text[start..self.pos]
                .replace('_', "")
                .parse()
                .map_err(|_| (start, "the array length does not fit in 64 bits".to_owned()))?;
            let len_span = start..self.pos;
            self.skip_ws();
            if !self.text[self.pos..].starts_with(']') {
                return Err((self.pos, "expected `]`".to_owned()));
            }
            self.pos += 1;
            return Ok(TypeExpr::Array { elem: Box::new(elem), len, len_span });
        }
        let start = self.pos;
        let n = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').count();
        if n == 0 {
            return Err((start, "expected a type name or `[`".to_owned()));
        }
        self.pos += n;
        let name = &self.text[start..self.pos];
        Ok(match Primitive::from_name(name) {
            Some(p) => TypeExpr::Primitive(p),
            None => TypeExpr::Named { name: name.to_owned(), span: start..self.pos },
        })
    }
}

/// The resolved struct types of a schema.
pub(crate) struct Resolved<'a> {
    /// Every type that resolved, by name.
    pub by_name: HashMap<String, &'a StructLayout<'a>>,
    /// Resolved types with every type before the types that use it (declaration order otherwise).
    pub ordered: Vec<&'a StructLayout<'a>>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    InProgress,
    Resolved,
    Failed,
}

/// Resolves type expressions into the layout model: declared types on first use, depth first,
/// so that a cycle is seen as a type that is still in progress.
pub(crate) struct TypeResolver<'a, 'x> {
    raw: &'x [RawType],
    index: HashMap<&'x str, usize>,
    arena: &'a Arena,
    res: Resolved<'a>,
    state: HashMap<String, State>,
    /// The types being resolved, outermost first (for cycle messages).
    stack: Vec<String>,
}

impl<'a, 'x> TypeResolver<'a, 'x> {
    /// Resolves every declared type; errors go to `r`.
    pub(crate) fn new(raw: &'x [RawType], arena: &'a Arena, r: &mut Reporter<'_>) -> Self {
        let index = raw.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
        let mut this = TypeResolver {
            raw,
            index,
            arena,
            res: Resolved { by_name: HashMap::new(), ordered: Vec::new() },
            state: HashMap::new(),
            stack: Vec::new(),
        };
        for t in raw {
            this.resolve_struct(t, r);
        }
        this
    }

    /// The resolved types.
    pub(crate) fn finish(self) -> Resolved<'a> {
        self.res
    }

    fn resolve_struct(&mut self, t: &RawType, r: &mut Reporter<'_>) {
        if self.state.contains_key(&t.name) {
            return;
        }
        self.state.insert(t.name.clone(), State::InProgress);
        self.stack.push(t.name.clone());
        let mut ok = !t.fields.is_empty();
        let mut types = Vec::with_capacity(t.fields.len());
        for f in &t.fields {
            match f.ty.as_ref().and_then(|e| self.resolve(e, r)) {
                Some(ty) => types.push(ty),
                None => ok = false,
            }
        }
        self.stack.pop();
        let failed = !ok || !self.lay_out(t, types, r);
        if failed {
            self.state.insert(t.name.clone(), State::Failed);
        }
    }

    /// Lays a struct out by the model's C rules and records it; reports implicit padding.
    fn lay_out(&mut self, t: &RawType, types: Vec<TypeLayout<'a>>, r: &mut Reporter<'_>) -> bool {
        let c = layout::repr_c(types.iter().copied());
        for gap in &c.gaps {
            let before = c.offsets.iter().position(|&o| o == gap.offset + gap.len);
            let (span, place) = match (before, t.fields.last()) {
                (Some(i), _) => (t.fields[i].span.clone(), format!("before `{}`", t.fields[i].name)),
                (None, Some(last)) => (last.span.clone(), format!("after `{}`, at the end", last.name)),
                (None, None) => (t.fields_span.clone(), "at the end".to_owned()),
            };
            let suggestion = gap.suggestion();
            let toml = match suggestion.split_once(": ") {
                Some((n, ty)) => format!("{{ name = \"{n}\", type = \"{ty}\" }}"),
                None => suggestion.clone(),
            };
            r.error(
                &span,
                format!(
                    "type `{}` has {} byte{} of implicit padding at offset {} ({place}); shared types must have none",
                    t.name,
                    gap.len,
                    if gap.len == 1 { "" } else { "s" },
                    gap.offset
                ),
                Some(format!("add the explicit field `{suggestion}` {place}: {toml}")),
            );
        }
        if c.size >= LIMIT {
            r.error(&t.name_span, format!("type `{}` is too large", t.name), Some("shrink its arrays".to_owned()));
            return false;
        }
        if !c.gaps.is_empty() {
            return false;
        }
        let arena = self.arena;
        let fields: Vec<FieldLayout<'a>> = t
            .fields
            .iter()
            .zip(types)
            .zip(&c.offsets)
            .map(|((f, ty), &offset)| FieldLayout { name: arena.str(&f.name), doc: arena.str(&f.doc), offset, ty })
            .collect();
        let s = arena.alloc(StructLayout {
            name: arena.str(&t.name),
            doc: arena.str(&t.doc),
            size: c.size,
            align: c.align,
            fields: arena.slice(&fields),
        });
        debug_assert!(layout::first_gap(s).is_none() && layout::check_struct(s).is_empty());
        self.res.by_name.insert(t.name.clone(), s);
        self.res.ordered.push(s);
        self.state.insert(t.name.clone(), State::Resolved);
        true
    }

    /// Resolves a type expression. Returns `None` after reporting, or silently when it names a
    /// type that failed (its own error was reported).
    pub(crate) fn resolve(&mut self, e: &TypeExpr, r: &mut Reporter<'_>) -> Option<TypeLayout<'a>> {
        match e {
            TypeExpr::Primitive(p) => Some(TypeLayout::Primitive(*p)),
            TypeExpr::Array { elem, len, len_span } => {
                let elem = self.resolve(elem, r)?;
                if *len == 0 {
                    r.error(
                        len_span,
                        "an array must have at least one element",
                        Some("zero-length arrays have no layout in C: remove the field or give it a length".to_owned()),
                    );
                    return None;
                }
                if elem.size().checked_mul(*len).is_none_or(|s| s >= LIMIT) {
                    r.error(len_span, format!("an array of {len} elements is too large"), None);
                    return None;
                }
                Some(TypeLayout::Array { elem: self.arena.alloc(elem), len: *len })
            }
            TypeExpr::Named { name, span } => {
                let Some(&i) = self.index.get(name.as_str()) else {
                    let candidates = self.index.keys().copied().chain(Primitive::ALL.iter().map(|p| p.name()));
                    let help = match closest(name, candidates) {
                        Some(c) => format!("did you mean `{c}`? (or declare the type as [types.{name}])"),
                        None => format!(
                            "types are u8 i8 u16 i16 u32 i32 u64 i64 f32 f64, [T; N], and the types declared under [types]: declare it as [types.{name}]"
                        ),
                    };
                    r.error(span, format!("unknown type `{name}`"), Some(help));
                    return None;
                };
                match self.state.get(name).copied() {
                    None => {
                        let raw = self.raw;
                        self.resolve_struct(&raw[i], r);
                        self.res.by_name.get(name).map(|s| TypeLayout::Struct(s))
                    }
                    Some(State::Resolved) => self.res.by_name.get(name).map(|s| TypeLayout::Struct(s)),
                    Some(State::Failed) => None,
                    Some(State::InProgress) => {
                        let start = self.stack.iter().position(|s| s == name).unwrap_or(0);
                        let mut cycle: Vec<&str> = self.stack[start..].iter().map(String::as_str).collect();
                        cycle.push(name);
                        let within = self.stack.last().map_or("", String::as_str);
                        r.error(
                            span,
                            format!("type `{within}` contains itself: {}", cycle.join(" → ")),
                            Some("a shared type has a fixed size, so it cannot contain itself: store an index into an array instead".to_owned()),
                        );
                        self.state.insert(name.clone(), State::Failed);
                        None
                    }
                }
            }
        }
    }
}

/// Sizes at or beyond this are refused (every size must survive the arithmetic of placement).
const LIMIT: u64 = 1 << 62;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TypeExpr, String> {
        let src = format!("\"{text}\"");
        let mut r = Reporter::new("t", &src);
        let t = parse_type_expr(text, &(0..src.len()), &src, &mut r);
        t.ok_or_else(|| r.finish().to_string())
    }

    #[test]
    fn type_expressions() {
        assert_eq!(parse("u32").unwrap(), TypeExpr::Primitive(Primitive::U32));
        let TypeExpr::Array { elem, len, len_span } = parse("[ [f32;3] ; 2 ]").unwrap() else { panic!() };
        assert_eq!(len, 2);
        assert_eq!(len_span, 13..14, "spans are in the source, after the opening quote");
        assert_eq!(
            *elem,
            TypeExpr::Array { elem: Box::new(TypeExpr::Primitive(Primitive::F32)), len: 3, len_span: 8..9 }
        );
        let TypeExpr::Named { name, span } = parse("Vec3").unwrap() else { panic!() };
        assert_eq!((name.as_str(), span), ("Vec3", 1..5));
        let e = parse("[u8 8]").unwrap_err();
        assert!(e.starts_with("t:1:6: error: invalid type `[u8 8]`: expected `;`"), "{e}");
        assert!(parse("u32 x").unwrap_err().contains("unexpected `x`"));
        assert!(parse("[u8; ]").unwrap_err().contains("array length"));
    }
}
