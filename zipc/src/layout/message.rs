//! [`Message`]: text composed by `const fn`s, so that a rule checked at compile time can say, in
//! words and numbers, what is wrong and what to change.
//!
//! `#[derive(ShmType)]` and `#[derive(ShmSegment)]` evaluate the layout rules in constants; when
//! one fails, the generated code panics with the rule's message (`panic!("{}", m.as_str())` works
//! in `const`), and rustc prints it as the error, at the span of the offending field. The same
//! functions build the run-time `Display` text, so a message is worded once.

use std::fmt;

/// Capacity of a [`Message`] in bytes; longer text is cut (at a character boundary) and ends
/// with `...`.
pub const MESSAGE_CAPACITY: usize = 1024;

/// A fixed-capacity UTF-8 string that `const fn`s can build.
///
/// ```
/// use zipc::message::Message;
/// const M: Message = Message::new().with("gap of ").with_u64(4).with(" bytes");
/// assert_eq!(M.as_str(), "gap of 4 bytes");
/// ```
#[derive(Clone, Copy)]
pub struct Message {
    buf: [u8; MESSAGE_CAPACITY],
    len: usize,
    cut: bool,
}

const ELLIPSIS: &[u8] = b"...";

impl Message {
    /// An empty message.
    pub const fn new() -> Self {
        Message { buf: [0; MESSAGE_CAPACITY], len: 0, cut: false }
    }

    /// Appends `s`; text beyond the capacity is dropped and the message ends with `...`.
    pub const fn push_str(&mut self, s: &str) {
        if self.cut {
            return;
        }
        let b = s.as_bytes();
        let room = MESSAGE_CAPACITY - ELLIPSIS.len();
        let mut i = 0;
        while i < b.len() {
            // Copy whole characters only, so that a cut never splits one.
            let width = match b[i] {
                0x00..=0x7F => 1,
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            if self.len + width > room {
                let mut j = 0;
                while j < ELLIPSIS.len() {
                    self.buf[self.len] = ELLIPSIS[j];
                    self.len += 1;
                    j += 1;
                }
                self.cut = true;
                return;
            }
            let mut j = 0;
            while j < width {
                self.buf[self.len] = b[i + j];
                self.len += 1;
                j += 1;
            }
            i += width;
        }
    }

    /// Appends `n` in decimal.
    pub const fn push_u64(&mut self, n: u64) {
        self.push_u128(n as u128);
    }

    /// Appends `n` in decimal, with a `-` when negative.
    pub const fn push_i128(&mut self, n: i128) {
        if n < 0 {
            self.push_str("-");
        }
        self.push_u128(n.unsigned_abs());
    }

    const fn push_u128(&mut self, n: u128) {
        let mut digits = [0u8; 39];
        let mut start = digits.len();
        let mut v = n;
        loop {
            start -= 1;
            digits[start] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let (_, s) = digits.split_at(start);
        if let Ok(s) = core::str::from_utf8(s) {
            self.push_str(s);
        }
    }

    /// Builder form of [`push_str`](Self::push_str).
    pub const fn with(mut self, s: &str) -> Self {
        self.push_str(s);
        self
    }

    /// Builder form of [`push_u64`](Self::push_u64).
    pub const fn with_u64(mut self, n: u64) -> Self {
        self.push_u64(n);
        self
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        let (s, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(s) {
            Ok(s) => s,
            // Unreachable: only whole `str`s are copied in, and cuts respect char boundaries.
            Err(_) => "",
        }
    }

    /// Length in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True if nothing was written.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Message {
    fn default() -> Self {
        Message::new()
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Message {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text() {
        let mut m = Message::new();
        m.push_str("a");
        m.push_u64(0);
        m.push_str(" ");
        m.push_u64(u64::MAX);
        m.push_str(" ");
        m.push_i128(-42);
        m.push_str(" ");
        m.push_i128(i128::MIN);
        assert_eq!(m.as_str(), format!("a0 {} -42 {}", u64::MAX, i128::MIN));
        const C: Message = Message::new().with("x=").with_u64(1234567890);
        assert_eq!(C.as_str(), "x=1234567890");
        assert_eq!(C.to_string(), "x=1234567890");
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary() {
        let mut m = Message::new();
        for _ in 0..MESSAGE_CAPACITY {
            m.push_str("é");
        }
        let s = m.as_str();
        assert!(s.ends_with("..."), "{s}");
        assert!(s.len() <= MESSAGE_CAPACITY);
        assert!(s.trim_end_matches("...").chars().all(|c| c == 'é'));
        m.push_str("more");
        assert!(m.as_str().ends_with("..."), "nothing is appended after a cut");
    }
}
