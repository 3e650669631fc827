//! Naming rules: every type, field and structure name of a schema becomes an identifier in Rust,
//! C (compiled as C and C++) and Python, so it must be valid and unreserved in all of them.

/// Rust keywords (strict and reserved, 2021 edition) and names with a fixed meaning.
const RUST: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "union",
];

/// C11 keywords.
const C: &[&str] = &[
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "_Alignas",
    "_Alignof",
    "_Atomic",
    "_Bool",
    "_Complex",
    "_Generic",
    "_Imaginary",
    "_Noreturn",
    "_Static_assert",
    "_Thread_local",
];

/// C++17 keywords and alternative tokens (the header compiles as C++ too).
const CPP: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "bitand",
    "bitor",
    "bool",
    "catch",
    "char16_t",
    "char32_t",
    "class",
    "compl",
    "constexpr",
    "const_cast",
    "decltype",
    "delete",
    "dynamic_cast",
    "explicit",
    "export",
    "false",
    "friend",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "reinterpret_cast",
    "static_assert",
    "static_cast",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typeid",
    "typename",
    "using",
    "virtual",
    "wchar_t",
    "xor",
    "xor_eq",
];

/// Python keywords and soft keywords, plus the names the generated module defines itself.
const PYTHON: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match", "case", "type",
];

/// Names a generated segment object or module uses for itself (`seg.close()`, `np`, ...).
const GENERATED: &[&str] = &["close", "np", "open", "numpy"];

/// Which languages reserve `name`, as "Rust, C++", or `None` if none does.
pub(crate) fn reserved_in(name: &str) -> Option<String> {
    let mut langs = Vec::new();
    if RUST.contains(&name) {
        langs.push("Rust");
    }
    if C.contains(&name) {
        langs.push("C");
    }
    if CPP.contains(&name) {
        langs.push("C++");
    }
    if PYTHON.contains(&name) {
        langs.push("Python");
    }
    if GENERATED.contains(&name) {
        langs.push("the generated code");
    }
    if crate::layout::Primitive::from_name(name).is_some() {
        langs.push("every language (it is a primitive type)");
    }
    if langs.is_empty() {
        None
    } else {
        Some(langs.join(", "))
    }
}

/// Why `name` is not an identifier in all three languages, if it is not one.
pub(crate) fn identifier_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Some("the name is empty".to_owned()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Some(format!("`{name}` must start with an ASCII letter or `_`"))
        }
        _ => {}
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Some(format!("`{name}` contains {c:?}: use only ASCII letters, digits and `_`"));
    }
    if name == "_" {
        return Some("`_` alone is not a name in Rust".to_owned());
    }
    if name.starts_with("__") {
        return Some(format!("`{name}` starts with `__`, which C and C++ reserve"));
    }
    if let Some(langs) = reserved_in(name) {
        return Some(format!("`{name}` is reserved in {langs}"));
    }
    None
}

/// Names the generated code gives to segment-level items, which a structure (unlike a field) would
/// collide with: C's `STEM_segment_open`, and the Python segment object's own attributes.
const SEGMENT_LEVEL: &[&str] = &["segment", "name", "find", "check", "structure"];

/// Why `name` cannot name a structure: [`identifier_problem`], or a segment-level name.
pub(crate) fn structure_name_problem(name: &str) -> Option<String> {
    identifier_problem(name).or_else(|| {
        SEGMENT_LEVEL.contains(&name).then(|| {
            format!("`{name}` is reserved for the segment itself in the generated code (`seg.{name}`, `STEM_{name}_*`)")
        })
    })
}

/// `snake_case` or `kebab-case` to `CamelCase` (`game_server` → `GameServer`).
pub(crate) fn camel_case(s: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in s.chars() {
        if c == '_' || c == '-' || c == '.' || c == ' ' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// An upper-case C macro prefix from a file stem (`game-server` → `GAME_SERVER`).
pub(crate) fn macro_case(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(identifier_problem("readings"), None);
        assert_eq!(identifier_problem("_pad12"), None);
        assert!(identifier_problem("type").unwrap().contains("Rust"));
        assert!(identifier_problem("class").unwrap().contains("C++"));
        assert!(identifier_problem("lambda").unwrap().contains("Python"));
        assert!(identifier_problem("int").unwrap().contains("C"));
        assert!(identifier_problem("u32").unwrap().contains("primitive"));
        assert!(identifier_problem("9lives").is_some());
        assert!(identifier_problem("a-b").is_some());
        assert!(identifier_problem("__x").is_some());
        assert!(identifier_problem("").is_some());
        assert!(structure_name_problem("segment").unwrap().contains("reserved for the segment"));
        assert_eq!(identifier_problem("segment"), None, "a field may be called segment");
        assert_eq!(structure_name_problem("readings"), None);
    }

    #[test]
    fn cases() {
        assert_eq!(camel_case("game_server"), "GameServer");
        assert_eq!(camel_case("producer-consumer"), "ProducerConsumer");
        assert_eq!(macro_case("game-server"), "GAME_SERVER");
    }
}
