//! The dialogue a prober runs before and after the TLS handshake, as a sans-IO state
//! machine: fed the bytes the server sent, it answers with the next [`Action`] (bytes to
//! send, read more, start TLS, done). No sockets, no clock: the tokio driver in `driver.rs`
//! runs it, and the unit tests run it against scripted transcripts.
//!
//! This module knows no protocol: each protocol module implements [`Dialogue`], and
//! `select.rs`, above them all, picks the one a [`Protocol`](crate::Protocol) speaks.

use std::fmt;

use crate::limits::Limits;
use crate::outcome::{Phase, ProbeOutcome};
use crate::transcript::Transcript;

/// What a dialogue wants the driver to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes, then read the reply.
    Send(Vec<u8>),
    /// Read more bytes.
    Receive,
    /// The plaintext part is over and nothing is pending: start the TLS handshake.
    StartTls,
    /// The dialogue is finished.
    Done,
}

/// Settings a dialogue needs besides its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogueConfig {
    /// The name the client gives itself (SMTP `EHLO` argument).
    pub client_name: String,
    /// The service domain (XMPP stream header `to`).
    pub service_domain: String,
    /// Longest line accepted.
    pub max_line: usize,
    /// Most lines in one reply.
    pub max_reply_lines: usize,
    /// Most bytes before TLS (and again after it).
    pub max_plaintext: usize,
}

impl DialogueConfig {
    /// A configuration with the size limits from `limits`.
    pub fn new(client_name: &str, service_domain: &str, limits: &Limits) -> Self {
        DialogueConfig {
            client_name: client_name.to_owned(),
            service_domain: service_domain.to_owned(),
            max_line: limits.max_line,
            max_reply_lines: limits.max_reply_lines,
            max_plaintext: limits.max_plaintext,
        }
    }
}

/// A protocol dialogue as a sans-IO state machine.
///
/// The driver calls [`start`](Dialogue::start) once after connecting, then
/// [`receive`](Dialogue::receive) with every chunk it reads until the machine asks for
/// TLS, then [`tls_established`](Dialogue::tls_established) and `receive` again with
/// the decrypted bytes until [`Action::Done`]. An `Err` is the probe's final outcome
/// (before TLS) or a reported problem (after it).
pub trait Dialogue: Send + fmt::Debug {
    /// The first action after the TCP connection is up (for implicit TLS: StartTls).
    fn start(&mut self, transcript: &mut Transcript) -> Action;

    /// Feeds bytes received from the server.
    fn receive(
        &mut self,
        bytes: &[u8],
        transcript: &mut Transcript,
    ) -> Result<Action, ProbeOutcome>;

    /// Called once the TLS handshake has completed.
    fn tls_established(&mut self, transcript: &mut Transcript) -> Action;

    /// The phase the dialogue is in (chooses the deadline and names timeouts).
    fn phase(&self) -> Phase;

    /// Capabilities listed before TLS.
    fn capabilities(&self) -> Vec<String>;

    /// Capabilities listed inside TLS.
    fn capabilities_after_tls(&self) -> Vec<String>;
}

#[cfg(test)]
pub(crate) mod script {
    //! Runs a dialogue against a scripted server: each step is what the server sends
    //! and the action the client must answer with.

    use super::*;

    pub(crate) fn config() -> DialogueConfig {
        DialogueConfig {
            client_name: "probe.example".into(),
            service_domain: "example.org".into(),
            max_line: 100,
            max_reply_lines: 10,
            max_plaintext: 4096,
        }
    }

    /// Feeds each server chunk and checks the resulting action. A step whose expected
    /// action is `Err` ends the script and returns that outcome.
    pub(crate) fn run(
        m: &mut dyn Dialogue,
        t: &mut Transcript,
        steps: &[(&[u8], Action)],
    ) -> Result<(), ProbeOutcome> {
        for (n, (server, expected)) in steps.iter().enumerate() {
            let got = m.receive(server, t)?;
            assert_eq!(
                &got,
                expected,
                "step {n}: server sent {:?}",
                String::from_utf8_lossy(server)
            );
        }
        Ok(())
    }

    pub(crate) fn send(s: &str) -> Action {
        Action::Send(s.as_bytes().to_vec())
    }
}
