//! The function prototypes of a C header, read well enough for `zipc.h`: the ABI tests compare
//! them with `zipc::ffi::functions()` and with what libzipc exports.

/// A prototype's types, normalised (`const char *`, `zipc_segment **`), and its parameter names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prototype {
    /// The function's name.
    pub name: String,
    /// The return type (`void` for none).
    pub ret: String,
    /// The parameter types, in order (none for `(void)`).
    pub params: Vec<String>,
    /// The parameter names, in order.
    pub names: Vec<String>,
}

/// A C type in one spelling: `const  zipc_queue*` → `const zipc_queue *`, `char**` → `char **`.
pub fn normalise(t: &str) -> String {
    let t = t.replace('*', " * ");
    let words: Vec<&str> = t.split_whitespace().collect();
    words.join(" ").replace("* *", "**")
}

/// The `zipc_*` function declarations of a header (not its inline definitions), in order.
pub fn prototypes(header: &str) -> Vec<Prototype> {
    // Drop comments and preprocessor lines, then read `TYPE NAME(PARAMS);` statements.
    let mut text = String::new();
    let mut rest = header;
    while let Some(at) = rest.find("/*") {
        text.push_str(&rest[..at]);
        rest = &rest[at + rest[at..].find("*/").expect("closed comment") + 2..];
    }
    text.push_str(rest);
    let text: String = text.lines().filter(|l| !l.trim_start().starts_with('#')).map(|l| format!("{l}\n")).collect();
    let mut out = Vec::new();
    for stmt in text.split(';') {
        let stmt = stmt.trim();
        let Some(open) = stmt.find('(') else { continue };
        if stmt.contains(['{', '}', '=']) || !stmt.ends_with(')') {
            continue;
        }
        let head = &stmt[..open];
        let name_at = head.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let name = head[name_at..].trim();
        if !name.starts_with("zipc_") {
            continue;
        }
        let ret = normalise(&head[..name_at]);
        let params_text = &stmt[open + 1..stmt.len() - 1];
        let mut params = Vec::new();
        let mut names = Vec::new();
        if params_text.trim() != "void" {
            for p in params_text.split(',') {
                let p = p.trim();
                let cut = p.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
                params.push(normalise(&p[..cut]));
                names.push(p[cut..].to_owned());
            }
        }
        out.push(Prototype { name: name.to_owned(), ret, params, names });
    }
    out
}
