//! The sanitised dialogue transcript recorded by every probe.

use std::fmt;

/// Longest text kept for one transcript entry; longer text is cut and marked.
const MAX_ENTRY: usize = 300;

/// Who produced a transcript entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the prober.
    Sent,
    /// Received from the server.
    Received,
    /// Something the prober observed (connected, handshake done), not a protocol line.
    Event,
}

/// One line of the dialogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Who produced it.
    pub direction: Direction,
    /// Whether it travelled inside TLS.
    pub tls: bool,
    /// The text, sanitised: control characters escaped, at most 300 characters.
    pub text: String,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arrow = match self.direction {
            Direction::Sent => "C:",
            Direction::Received => "S:",
            Direction::Event => "--",
        };
        let tls = if self.tls { " [tls]" } else { "" };
        write!(f, "{arrow}{tls} {}", self.text)
    }
}

/// A bounded, sanitised record of the dialogue. Text from the server is untrusted: it is
/// escaped on entry so that no consumer can forget to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    entries: Vec<Entry>,
    dropped: usize,
    limit: usize,
    tls: bool,
}

impl Transcript {
    /// An empty transcript keeping at most `limit` entries.
    pub fn new(limit: usize) -> Self {
        Transcript {
            entries: Vec::new(),
            dropped: 0,
            limit,
            tls: false,
        }
    }

    /// The entries kept, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many entries were dropped because the limit was reached.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    pub(crate) fn set_tls(&mut self) {
        self.tls = true;
    }

    pub(crate) fn push(&mut self, direction: Direction, text: &str) {
        if self.entries.len() >= self.limit {
            self.dropped += 1;
            return;
        }
        self.entries.push(Entry {
            direction,
            tls: self.tls,
            text: sanitize(text, MAX_ENTRY),
        });
    }

    pub(crate) fn sent(&mut self, text: &str) {
        self.push(Direction::Sent, text);
    }

    pub(crate) fn received(&mut self, text: &str) {
        self.push(Direction::Received, text);
    }

    pub(crate) fn event(&mut self, text: &str) {
        self.push(Direction::Event, text);
    }
}

/// Escapes control characters (C0, DEL, C1, bidi overrides) and cuts `text` to `max`
/// characters, marking the cut. Used for everything that comes from the network.
pub fn sanitize(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 8);
    for (n, c) in text.chars().enumerate() {
        if n >= max {
            out.push_str("...");
            break;
        }
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Lossy text of raw bytes for messages: invalid UTF-8 replaced, controls escaped.
pub(crate) fn bytes_excerpt(bytes: &[u8], max: usize) -> String {
    let cut = &bytes[..bytes.len().min(max)];
    let mut s = sanitize(&String::from_utf8_lossy(cut), max);
    if bytes.len() > max {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_and_bounds() {
        let mut t = Transcript::new(2);
        t.received("220 evil\x1b[2J\r");
        t.sent("EHLO x");
        t.sent("dropped");
        assert_eq!(t.entries()[0].text, "220 evil\\u{1b}[2J\\r");
        assert_eq!(t.entries().len(), 2);
        assert_eq!(t.dropped(), 1);
        assert_eq!(sanitize("abcdef", 3), "abc...");
        assert_eq!(
            bytes_excerpt(b"\x16\x03\x01\xff", 10),
            "\\u{16}\\u{3}\\u{1}\u{fffd}"
        );
    }
}
