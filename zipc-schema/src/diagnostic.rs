//! Diagnostics: every problem of a schema as `file:line:column: error: message`, with a
//! suggestion on the next line.

use std::fmt;
use std::ops::Range;

/// One problem found in a schema, located in its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as given (the path the user typed, so the message points where they look).
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file (it could not be read).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What to change, if there is something specific to say.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: error: {}", self.file, self.message)?;
        } else {
            write!(f, "{}:{}:{}: error: {}", self.file, self.line, self.column, self.message)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem of one or more schemas, in source order. Returned instead of a schema when
/// anything is wrong: the whole file is checked, not just up to the first error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Collects diagnostics for one source file, turning byte spans into lines and columns.
pub(crate) struct Reporter<'s> {
    file: String,
    source: &'s str,
    found: Vec<(usize, Diagnostic)>,
}

impl<'s> Reporter<'s> {
    pub(crate) fn new(file: &str, source: &'s str) -> Self {
        Reporter { file: file.to_owned(), source, found: Vec::new() }
    }

    /// Records an error at `span` (only its start is shown).
    pub(crate) fn error(&mut self, span: &Range<usize>, message: impl Into<String>, help: Option<String>) {
        let at = span.start.min(self.source.len());
        let (line, column) = line_column(self.source, at);
        let d = Diagnostic { file: self.file.clone(), line, column, message: message.into(), help };
        if !self.found.iter().any(|(_, e)| *e == d) {
            self.found.push((at, d));
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.found.is_empty()
    }

    /// The diagnostics, sorted by position (stable: same position keeps discovery order).
    pub(crate) fn finish(mut self) -> Diagnostics {
        self.found.sort_by_key(|(at, _)| *at);
        Diagnostics(self.found.into_iter().map(|(_, d)| d).collect())
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub(crate) fn line_column(source: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(source.len());
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, source[line_start..at].chars().count() + 1)
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub(crate) fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let s = "a = 1\nbé = 2\n";
        assert_eq!(line_column(s, 0), (1, 1));
        assert_eq!(line_column(s, 6), (2, 1));
        assert_eq!(line_column(s, 9), (2, 3)); // after the two-byte é
    }

    #[test]
    fn typos_are_suggested() {
        assert_eq!(closest("capasity", ["capacity", "policy"]), Some("capacity"));
        assert_eq!(closest("xyz", ["capacity", "policy"]), None);
        assert_eq!(closest("Queue", ["queue"]), Some("queue"));
    }
}
