//! The TLS prober for DANE: connects to a server, speaks its protocol up to STARTTLS (or
//! starts TLS at once), completes a TLS handshake with rustls and records exactly what the
//! server presented: the certificate chain (leaf first, as sent), the TLS parameters, a
//! sanitised transcript of the dialogue and, separately, a PKIX verdict.
//!
//! The STARTTLS dialogues are sans-IO state machines, driven here by a script instead of
//! a socket:
//!
//! ```
//! use dane_probe::{Action, DialogueConfig, Limits, Protocol, Transcript, dialogue};
//!
//! let config = DialogueConfig::new("probe.example", "example.org", &Limits::default());
//! let mut smtp = dialogue(Protocol::Smtp, &config);
//! let mut transcript = Transcript::new(100);
//! assert_eq!(smtp.start(&mut transcript), Action::Receive);
//! let ehlo = smtp.receive(b"220 mx.example.org ESMTP\r\n", &mut transcript)?;
//! assert_eq!(ehlo, Action::Send(b"EHLO probe.example\r\n".to_vec()));
//! let starttls = smtp.receive(b"250-mx.example.org\r\n250 STARTTLS\r\n", &mut transcript)?;
//! assert_eq!(starttls, Action::Send(b"STARTTLS\r\n".to_vec()));
//! assert_eq!(smtp.receive(b"220 go ahead\r\n", &mut transcript)?, Action::StartTls);
//! # Ok::<(), dane_probe::ProbeOutcome>(())
//! ```
//!
//! A live probe: the [`Prober`] runs the dialogue over a socket and the handshake, and
//! returns what it saw as data.
//!
//! ```no_run
//! use std::time::Duration;
//! use dane_probe::{Limits, Prober, Protocol, Target, TrustStore};
//! use rustls_pki_types::UnixTime;
//!
//! # async fn example(now: UnixTime) -> Result<(), dane_probe::ProbeError> {
//! let prober = Prober::new(TrustStore::webpki_roots())
//!     .with_limits(Limits::with_timeout(Duration::from_secs(20)))
//!     .with_concurrency(16);
//! let addr = "192.0.2.25:25".parse().expect("an address literal");
//! let probe = prober.probe(&Target::new(addr, Protocol::Smtp, "mx1.example.org")?, now).await;
//! match probe.outcome.session() {
//!     Some(session) => assert!(!session.chain.is_empty()), // leaf first, as presented
//!     None => eprintln!("{}", probe.outcome), // typed, with an actionable message
//! }
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! Each STARTTLS dialogue (SMTP, IMAP, POP3, XMPP client and server) is a sans-IO state
//! machine ([`Dialogue`]): it is fed the bytes the server sent and answers with an
//! [`Action`] (send these bytes, read more, start TLS, done). It owns no socket and reads
//! no clock, so it is tested against scripted transcripts. A small tokio driver
//! ([`Prober::probe`]) runs it: it owns the socket, the deadlines and the TLS handshake.
//! Each protocol module knows only the [`Dialogue`] trait; [`dialogue()`] is the one place
//! that maps a [`Protocol`] (plain data: names, default ports, ALPN) to its machine.
//!
//! The rustls client uses the ring provider (TLS 1.2 and 1.3, its AEAD suites and groups)
//! with a certificate verifier that accepts any chain and records it, while still
//! verifying the handshake signature with the leaf's key (`verify_tls12_signature` /
//! `verify_tls13_signature`), so a `Connected` outcome proves that the server holds the
//! private key of the leaf it presented. Session resumption is off: every probe sees a
//! full handshake and a freshly presented chain.
//!
//! A server holding several certificates (an RSA and an ECDSA chain) picks one by the
//! client's signature algorithms. [`Target::with_offer`] restricts the ClientHello to one
//! [`KeyFamily`] (its `signature_algorithms` and, for TLS 1.2, the cipher suites that fit
//! its keys), so a caller can ask for each chain in turn; which one came back is recorded,
//! never judged.
//!
//! # Invariants
//!
//! - The prober records; it never judges DANE (ARCHITECTURE.md invariant 3). The PKIX
//!   verdict ([`PkixVerdict`]) is recorded beside the chain for PKIX-TA/PKIX-EE usages and
//!   HTTPS reports; what it means is the policy's business.
//! - Outcomes are data ([`ProbeOutcome`]): refused, unreachable, a timeout naming its
//!   phase, STARTTLS not offered or refused, a TLS alert, a protocol rustls does not
//!   support (TLS 1.1 or older, CBC-only: distinct from a failure), a protocol violation.
//!   [`ProbeError`] only reports bad input (a name that is not a DNS name, a bad CA file).
//! - Bounded everything: every read has a deadline (the phase's and the overall one,
//!   whichever comes first) and every buffer a size limit ([`Limits`]). Bytes the server
//!   pipelines after its STARTTLS reply are never interpreted: those that arrive with the
//!   reply are [`Violation::PipelinedAfterStartTls`]; any later ones reach rustls, which
//!   refuses them as not TLS ([`Violation::NotTls`]).
//! - Text from the server (banners, capabilities, certificate names) is sanitised before
//!   it is stored: control characters are escaped, lengths are cut.
//! - Libraries never print: diagnostics are `tracing` events.
//!
//! # Time
//!
//! `now` (a parameter of [`Prober::probe`]) is used only for the PKIX verdict's validity
//! dates. Deadlines use the monotonic clock of the tokio runtime.
//!
//! # Limitations
//!
//! - Only what rustls speaks can be seen: a server offering only TLS 1.1 or older, or only
//!   CBC suites, gives [`ProbeOutcome::TlsUnsupported`] (inferred from the server's
//!   `protocol_version`, `handshake_failure` or `insufficient_security` alert, or rustls's
//!   own refusal), never a chain. `handshake_failure` is ambiguous: a server-side
//!   configuration error gives it too.
//! - Trust anchors for the PKIX verdict: webpki-roots or a PEM file; not the system store.
//! - The XMPP server-to-server header has no `from` (the prober has no domain of its own);
//!   servers that insist on one end the stream (reported as rejected).
//! - The transcript keeps at most [`Limits::max_transcript`] entries, each cut to 300
//!   characters.
//! - XMPP is read with a bounded tag scanner, not a full XML parser; the dialogue stops
//!   after the handshake (no stream restart inside TLS).
//! - Name resolution is the caller's job: a [`Target`] is one socket address.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cert;
mod dialogue;
mod driver;
mod family;
mod imap;
mod implicit;
mod limits;
mod lines;
mod outcome;
mod pkix;
mod pop3;
mod protocol;
mod select;
mod smtp;
mod transcript;
mod verifier;
mod xmpp;

pub use cert::CertSummary;
pub use dialogue::{Action, Dialogue, DialogueConfig};
pub use driver::{Prober, Target};
pub use family::KeyFamily;
pub use limits::Limits;
pub use outcome::{Phase, Probe, ProbeOutcome, Reply, TlsSession, Violation};
pub use pkix::{PkixVerdict, TrustSource, TrustStore, verify_chain};
pub use protocol::Protocol;
pub use select::dialogue;
pub use transcript::{Direction, Entry, Transcript, sanitize};

/// What stops a probe from being asked: bad input. Findings about the server are never
/// errors; they are [`ProbeOutcome`]s.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// The server name is neither a DNS name nor an IP address.
    #[error("{name:?} is not a valid server name (DNS name or IP address): {message}")]
    Name {
        /// The name as given.
        name: String,
        /// Why it was refused.
        message: String,
    },
    /// A CA file (`--ca-file`) could not be read or holds no usable anchor.
    #[error("{path}: {message}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A certificate could not be parsed for its summary.
    #[error("the certificate does not parse: {message}")]
    Certificate {
        /// The parser's message.
        message: String,
    },
}
