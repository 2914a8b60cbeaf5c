//! Bounds on every probe (ARCHITECTURE.md invariant 7): per-phase deadlines, an overall
//! deadline, and size limits on what a server may send before TLS.

use std::time::Duration;

use crate::outcome::Phase;

/// Deadlines and size limits for one probe. Every read has a deadline (the earlier of
/// the current phase's deadline and the overall deadline) and every buffer a size limit,
/// so a hostile or broken server yields a typed outcome instead of a hang.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed for the TCP connection to be established.
    pub connect: Duration,
    /// Time allowed from connection to the complete greeting (banner).
    pub banner: Duration,
    /// Time allowed for the STARTTLS negotiation (capabilities and the STARTTLS exchange),
    /// and again for the short dialogue after the handshake.
    pub starttls: Duration,
    /// Time allowed for the TLS handshake.
    pub handshake: Duration,
    /// Deadline for the whole probe, from the moment it starts connecting.
    pub overall: Duration,
    /// Longest line (bytes, without CRLF) accepted from the server.
    pub max_line: usize,
    /// Most lines accepted in one multi-line reply (SMTP replies, IMAP untagged responses,
    /// the POP3 CAPA list).
    pub max_reply_lines: usize,
    /// Most bytes accepted from the server in plaintext before TLS starts (and again,
    /// separately, in the dialogue after the handshake).
    pub max_plaintext: usize,
    /// Most entries kept in the transcript; later ones are counted but dropped.
    pub max_transcript: usize,
}

impl Default for Limits {
    /// Defaults close to what mail senders use, shortened for an interactive tool:
    /// 10 s to connect, 30 s per phase, 60 s overall, 2048-byte lines, 100-line replies,
    /// 64 KiB of plaintext.
    fn default() -> Self {
        Limits {
            connect: Duration::from_secs(10),
            banner: Duration::from_secs(30),
            starttls: Duration::from_secs(30),
            handshake: Duration::from_secs(30),
            overall: Duration::from_secs(60),
            max_line: 2048,
            max_reply_lines: 100,
            max_plaintext: 64 * 1024,
            max_transcript: 200,
        }
    }
}

impl Limits {
    /// Default sizes with every deadline set to `timeout` (the overall deadline included),
    /// as the CLI's `--timeout` does.
    pub fn with_timeout(timeout: Duration) -> Self {
        Limits {
            connect: timeout,
            banner: timeout,
            starttls: timeout,
            handshake: timeout,
            overall: timeout,
            ..Limits::default()
        }
    }
}

impl Limits {
    /// The deadline of `phase` (the dialogue after the handshake shares the STARTTLS
    /// one).
    pub fn for_phase(&self, phase: Phase) -> Duration {
        match phase {
            Phase::Connect => self.connect,
            Phase::Banner => self.banner,
            Phase::StartTls | Phase::AfterHandshake => self.starttls,
            Phase::Handshake => self.handshake,
        }
    }
}
