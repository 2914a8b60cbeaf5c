//! A bounded line splitter for the line-based protocols (SMTP, IMAP, POP3).

use crate::dialogue::{Action, Dialogue};
use crate::outcome::{ProbeOutcome, Violation};
use crate::transcript::{Transcript, bytes_excerpt};

/// A dialogue that answers the server line by line (IMAP, POP3): each complete line goes to
/// [`LineDialogue::handle_line`] until it decides on an action.
pub(crate) trait LineDialogue: Dialogue {
    /// The line splitter.
    fn lines(&mut self) -> &mut Lines;
    /// The outcome for a line-level violation in the current phase.
    fn line_violation(&self, violation: Violation) -> ProbeOutcome;
    /// One complete line from the server.
    fn handle_line(&mut self, line: &str, t: &mut Transcript) -> Result<Action, ProbeOutcome>;

    /// Feeds `bytes`; every complete line is recorded and handled, until one calls for an
    /// action. Nothing may follow the reply that makes us send our next command: such bytes
    /// are pipelined by the server, a protocol violation in the phase they arrived in.
    fn receive_lines(&mut self, bytes: &[u8], t: &mut Transcript) -> Result<Action, ProbeOutcome> {
        if let Err(v) = self.lines().push(bytes) {
            return Err(self.line_violation(v));
        }
        loop {
            let line = match self.lines().next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return Ok(Action::Receive),
                Err(v) => return Err(self.line_violation(v)),
            };
            t.received(&line);
            // The phase the line belongs to, before `handle_line` moves on.
            let phase = self.phase();
            let action = self.handle_line(&line, t)?;
            if action == Action::Receive {
                continue;
            }
            if matches!(action, Action::Send(_)) && !self.lines().pending().is_empty() {
                return Err(ProbeOutcome::ProtocolViolation {
                    phase,
                    violation: Violation::Garbage {
                        expected: "nothing until the next command",
                        excerpt: bytes_excerpt(self.lines().pending(), 40),
                    },
                });
            }
            return Ok(action);
        }
    }
}

/// Accumulates bytes from the server and yields complete lines, enforcing a line-length
/// limit (a line that never ends is caught as soon as it passes the limit) and a limit
/// on the total bytes received.
#[derive(Debug)]
pub(crate) struct Lines {
    buf: Vec<u8>,
    max_line: usize,
    total: usize,
    max_total: usize,
}

impl Lines {
    pub(crate) fn new(max_line: usize, max_total: usize) -> Self {
        Lines {
            buf: Vec::new(),
            max_line,
            total: 0,
            max_total,
        }
    }

    /// Starts a new byte budget (used after the TLS handshake). Pending bytes are kept.
    pub(crate) fn reset_budget(&mut self) {
        self.total = self.buf.len();
    }

    /// Adds received bytes.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), Violation> {
        self.total = self.total.saturating_add(bytes.len());
        if self.total > self.max_total {
            return Err(Violation::TooManyBytes {
                limit: self.max_total,
            });
        }
        self.buf.extend_from_slice(bytes);
        // A partial line that already exceeds the limit will never become acceptable.
        if !self.buf.contains(&b'\n') && self.buf.len() > self.max_line + 1 {
            return Err(Violation::LineTooLong {
                limit: self.max_line,
            });
        }
        Ok(())
    }

    /// The next complete line without its line ending (CRLF, or a bare LF, which is
    /// tolerated), or `None` when no complete line is buffered.
    pub(crate) fn next_line(&mut self) -> Result<Option<String>, Violation> {
        let Some(end) = self.buf.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        let mut line: Vec<u8> = self.buf.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > self.max_line {
            return Err(Violation::LineTooLong {
                limit: self.max_line,
            });
        }
        // NUL and other C0 controls (except TAB) never occur in these text protocols; a
        // server sending them is not speaking the protocol (or is speaking TLS already).
        if line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(Violation::Garbage {
                expected: "a text line",
                excerpt: bytes_excerpt(&line, 40),
            });
        }
        Ok(Some(String::from_utf8_lossy(&line).into_owned()))
    }

    /// Bytes received but not yet consumed as lines.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Fails when bytes are pending: used right before the TLS handshake, where any
    /// pending plaintext would be injected into the TLS session.
    pub(crate) fn expect_drained(&self) -> Result<(), Violation> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Violation::PipelinedAfterStartTls {
                bytes: self.buf.len(),
                excerpt: bytes_excerpt(&self.buf, 40),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_crlf_and_lf() {
        let mut l = Lines::new(10, 100);
        l.push(b"ab\r\ncd\nef").unwrap();
        assert_eq!(l.next_line().unwrap().as_deref(), Some("ab"));
        assert_eq!(l.next_line().unwrap().as_deref(), Some("cd"));
        assert_eq!(l.next_line().unwrap(), None);
        assert_eq!(l.pending(), b"ef");
        assert!(l.expect_drained().is_err());
    }

    #[test]
    fn line_that_never_ends() {
        let mut l = Lines::new(10, 100);
        assert!(l.push(b"0123456789").is_ok());
        assert_eq!(l.push(b"ab"), Err(Violation::LineTooLong { limit: 10 }));
    }

    #[test]
    fn long_complete_line() {
        let mut l = Lines::new(4, 100);
        l.push(b"12345\r\n").unwrap_or(());
        assert_eq!(l.next_line(), Err(Violation::LineTooLong { limit: 4 }));
    }

    #[test]
    fn byte_budget() {
        let mut l = Lines::new(100, 5);
        assert_eq!(
            l.push(b"a\nb\nc\n"),
            Err(Violation::TooManyBytes { limit: 5 })
        );
    }

    #[test]
    fn controls_are_garbage() {
        let mut l = Lines::new(100, 100);
        l.push(b"\x16\x03\x01\x00\n").unwrap();
        assert!(matches!(l.next_line(), Err(Violation::Garbage { .. })));
        let mut l = Lines::new(100, 100);
        l.push(b"a\tb\r\n").unwrap();
        assert_eq!(l.next_line().unwrap().as_deref(), Some("a\tb"));
    }
}
