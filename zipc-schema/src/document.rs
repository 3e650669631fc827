//! The TOML document as a tree in which every key and value keeps its byte span.
//!
//! serde deserialises the file through `toml` into [`Node`]s (via `toml::Spanned`), accepting
//! any well-formed TOML: the schema's rules are checked afterwards, on this tree, so that every
//! problem is reported at once with its position instead of serde stopping at the first.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// A value with the span of its source text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub span: Range<usize>,
    pub value: Value,
}

/// A key with its span.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Key {
    pub span: Range<usize>,
    pub name: String,
}

/// The TOML value kinds a schema can contain.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Array(Vec<Node>),
    /// Entries in document order.
    Table(Vec<(Key, Node)>),
}

impl Value {
    /// What the user wrote, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Value>::deserialize(d)?;
        Ok(Node { span: s.span(), value: s.into_inner() })
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<String>::deserialize(d)?;
        Ok(Key { span: s.span(), name: s.into_inner() })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Boolean(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Integer(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v).map(Value::Integer).map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Key>()? {
            let v = map.next_value::<Node>()?;
            entries.push((k, v));
        }
        Ok(Value::Table(entries))
    }
}

/// Parses TOML text into a spanned tree. A syntax error comes back with its span.
pub(crate) fn parse(source: &str) -> Result<Node, (Range<usize>, String)> {
    toml::from_str::<Node>(source).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        // toml passes date-times through serde as a private one-key table, which cannot carry
        // spans; no schema value is a date-time anyway.
        if e.message().contains("$__toml_private_datetime") {
            (span, "a date-time is not a valid value in a zipc schema".to_owned())
        } else {
            (span, e.message().to_owned())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_order_are_kept() {
        let src = "[segment]\nname = \"/x\"\n\n[types.B]\nfields = []\n[types.A]\nfields = [{ name = \"z\", type = \"u8\" }]\n";
        let root = parse(src).unwrap();
        let Value::Table(top) = &root.value else { panic!() };
        assert_eq!(top[0].0.name, "segment");
        let Value::Table(seg) = &top[0].1.value else { panic!() };
        assert_eq!(&src[seg[0].0.span.clone()], "name");
        assert_eq!(&src[seg[0].1.span.clone()], "\"/x\"");
        let Value::Table(types) = &top[1].1.value else { panic!() };
        let names: Vec<_> = types.iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(names, ["B", "A"], "document order");
        let Value::Table(a) = &types[1].1.value else { panic!() };
        let Value::Array(fields) = &a[0].1.value else { panic!() };
        assert_eq!(&src[fields[0].span.clone()], "{ name = \"z\", type = \"u8\" }");
    }

    #[test]
    fn syntax_errors_have_spans() {
        let (span, msg) = parse("a = \n").unwrap_err();
        assert!(!msg.is_empty());
        assert!(span.start <= 5);
    }

    #[test]
    fn datetimes_are_refused_at_their_position() {
        let (span, msg) = parse("d = 1979-05-27T07:32:00Z\n").unwrap_err();
        assert_eq!(span.start, 4);
        assert_eq!(msg, "a date-time is not a valid value in a zipc schema");
    }
}
