//! What a probe found: one typed outcome per probe, each with a message a user can act on.
//! Outcomes are data (ARCHITECTURE.md invariant 4): a refused connection or a missing
//! STARTTLS is a finding about the server, not an error of the prober.

use std::fmt;
use std::net::SocketAddr;

use rustls_pki_types::CertificateDer;

use crate::pkix::PkixVerdict;
use crate::protocol::Protocol;
use crate::transcript::Transcript;

/// The part of a probe an outcome belongs to; each phase has its own deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Establishing the TCP connection.
    Connect,
    /// Waiting for the server's greeting (SMTP banner, IMAP/POP3 greeting, XMPP stream
    /// header).
    Banner,
    /// Capabilities and the STARTTLS command (EHLO, CAPABILITY, CAPA, stream features).
    StartTls,
    /// The TLS handshake.
    Handshake,
    /// The short dialogue inside TLS after the handshake (SMTP: EHLO and QUIT).
    AfterHandshake,
}

impl Phase {
    /// A short lowercase name (`connect`, `banner`, `starttls`, `handshake`, `after-tls`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Banner => "banner",
            Phase::StartTls => "starttls",
            Phase::Handshake => "handshake",
            Phase::AfterHandshake => "after-tls",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connecting",
            Phase::Banner => "waiting for the greeting",
            Phase::StartTls => "negotiating STARTTLS",
            Phase::Handshake => "in the TLS handshake",
            Phase::AfterHandshake => "in the dialogue after the TLS handshake",
        })
    }
}

/// A server reply that refused something: the status (SMTP code, `NO`/`BAD`, `-ERR`,
/// an XMPP element) and its text, both sanitised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `454`, `NO`, `-ERR`, `failure`, ...
    pub code: String,
    /// The rest of the reply (lines joined with ` / `), sanitised.
    pub text: String,
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            f.write_str(&self.code)
        } else {
            write!(f, "{} {}", self.code, self.text)
        }
    }
}

/// How a server broke the protocol. Every variant is a bound the prober enforced or a
/// byte sequence it refused to interpret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A line longer than the limit (or a line that never ended).
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A multi-line reply with more lines than the limit.
    TooManyLines {
        /// The limit in lines.
        limit: usize,
    },
    /// More bytes than the limit: plaintext before TLS, the dialogue inside TLS, or the
    /// handshake itself.
    TooManyBytes {
        /// The limit in bytes.
        limit: usize,
    },
    /// Bytes that are not a reply of this protocol.
    Garbage {
        /// What was expected.
        expected: &'static str,
        /// The offending bytes, sanitised and cut.
        excerpt: String,
    },
    /// The server sent bytes after its reply to STARTTLS and before the TLS handshake:
    /// the plaintext-injection pattern (CVE-2011-0411 class). The bytes are never
    /// interpreted.
    PipelinedAfterStartTls {
        /// How many bytes were pending.
        bytes: usize,
        /// The bytes, sanitised and cut.
        excerpt: String,
    },
    /// What came back after STARTTLS (or on an implicit-TLS port) is not a TLS record.
    NotTls {
        /// The first bytes, sanitised.
        excerpt: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::LineTooLong { limit } => {
                write!(
                    f,
                    "a line longer than {limit} bytes (or one that never ended)"
                )
            }
            Violation::TooManyLines { limit } => {
                write!(f, "a reply of more than {limit} lines")
            }
            Violation::TooManyBytes { limit } => {
                write!(
                    f,
                    "more than {limit} bytes from the server in this part of the dialogue"
                )
            }
            Violation::Garbage { expected, excerpt } => {
                write!(f, "expected {expected}, got {excerpt:?}")
            }
            Violation::PipelinedAfterStartTls { bytes, excerpt } => write!(
                f,
                "{bytes} bytes sent after the STARTTLS reply and before TLS ({excerpt:?}): \
                 the server (or a middlebox) pipelines plaintext into the TLS session, \
                 the plaintext-injection bug; they were not interpreted"
            ),
            Violation::NotTls { excerpt } => write!(
                f,
                "the server answered the TLS ClientHello with non-TLS bytes {excerpt:?} \
                 (wrong port or protocol? try --starttls)"
            ),
        }
    }
}

/// What one probe concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The TLS handshake completed; the session and the presented chain are recorded.
    Connected(Box<TlsSession>),
    /// The TCP connection was refused (RST): nothing listens on that port.
    Refused,
    /// The address could not be reached (no route, network down, host unreachable).
    Unreachable {
        /// The operating system's message.
        message: String,
    },
    /// A deadline passed.
    Timeout {
        /// The phase whose deadline (or the overall deadline) passed.
        phase: Phase,
    },
    /// The server closed the connection before the probe was done.
    Closed {
        /// When it closed.
        phase: Phase,
    },
    /// Another I/O error (for instance a connection reset).
    Io {
        /// When it happened.
        phase: Phase,
        /// The operating system's message.
        message: String,
    },
    /// The server refused the session before STARTTLS (SMTP 554 banner, a 4xx/5xx reply
    /// to EHLO, IMAP `BYE`, POP3 `-ERR`, an XMPP stream error).
    Rejected {
        /// Where it refused.
        phase: Phase,
        /// Its reply.
        reply: Reply,
    },
    /// The server does not offer STARTTLS.
    StartTlsNotOffered {
        /// The capabilities it did list (sanitised).
        capabilities: Vec<String>,
        /// SMTP only: the server rejected EHLO and accepted HELO (no ESMTP, so no
        /// STARTTLS); this is the reply EHLO got.
        no_esmtp: Option<Reply>,
    },
    /// The server offered STARTTLS but refused the command.
    StartTlsRefused {
        /// Its reply (SMTP `454 TLS not available`, IMAP `NO`, POP3 `-ERR`, XMPP `failure`).
        reply: Reply,
    },
    /// A TLS alert ended the handshake.
    TlsAlert {
        /// The alert the server sent, by its RFC 8446 name (`bad_certificate`,
        /// `internal_error`, `unrecognized_name`, ...).
        alert: String,
    },
    /// The server speaks only what rustls does not: TLS 1.1 or older, or only CBC /
    /// non-AEAD suites, or no common group or signature scheme. Not a DANE failure: the
    /// prober cannot see the chain.
    TlsUnsupported {
        /// What was seen.
        detail: String,
    },
    /// The handshake failed for another reason (for instance the handshake signature did
    /// not verify with the leaf key).
    TlsFailed {
        /// rustls's description.
        message: String,
    },
    /// The server broke the protocol or a limit.
    ProtocolViolation {
        /// Where.
        phase: Phase,
        /// How.
        violation: Violation,
    },
}

impl ProbeOutcome {
    /// The session when the handshake completed.
    pub fn session(&self) -> Option<&TlsSession> {
        match self {
            ProbeOutcome::Connected(s) => Some(s),
            _ => None,
        }
    }

    /// A stable machine-readable name for the outcome (used in JSON).
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeOutcome::Connected(_) => "connected",
            ProbeOutcome::Refused => "refused",
            ProbeOutcome::Unreachable { .. } => "unreachable",
            ProbeOutcome::Timeout { .. } => "timeout",
            ProbeOutcome::Closed { .. } => "closed",
            ProbeOutcome::Io { .. } => "io-error",
            ProbeOutcome::Rejected { .. } => "rejected",
            ProbeOutcome::StartTlsNotOffered { .. } => "starttls-not-offered",
            ProbeOutcome::StartTlsRefused { .. } => "starttls-refused",
            ProbeOutcome::TlsAlert { .. } => "tls-alert",
            ProbeOutcome::TlsUnsupported { .. } => "tls-unsupported",
            ProbeOutcome::TlsFailed { .. } => "tls-failed",
            ProbeOutcome::ProtocolViolation { .. } => "protocol-violation",
        }
    }

    /// The phase the outcome belongs to, where there is one.
    pub fn phase(&self) -> Option<Phase> {
        match self {
            ProbeOutcome::Refused | ProbeOutcome::Unreachable { .. } => Some(Phase::Connect),
            ProbeOutcome::Timeout { phase }
            | ProbeOutcome::Closed { phase }
            | ProbeOutcome::Io { phase, .. }
            | ProbeOutcome::Rejected { phase, .. }
            | ProbeOutcome::ProtocolViolation { phase, .. } => Some(*phase),
            ProbeOutcome::StartTlsNotOffered { .. } | ProbeOutcome::StartTlsRefused { .. } => {
                Some(Phase::StartTls)
            }
            ProbeOutcome::TlsAlert { .. }
            | ProbeOutcome::TlsUnsupported { .. }
            | ProbeOutcome::TlsFailed { .. } => Some(Phase::Handshake),
            ProbeOutcome::Connected(_) => None,
        }
    }
}

impl fmt::Display for ProbeOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeOutcome::Connected(s) => write!(
                f,
                "connected: {} {}, {} certificate(s) presented",
                s.version,
                s.cipher_suite,
                s.chain.len()
            ),
            ProbeOutcome::Refused => f.write_str(
                "connection refused: nothing listens on that port (check the port, \
                 the service, or a firewall sending resets)",
            ),
            ProbeOutcome::Unreachable { message } => write!(
                f,
                "address unreachable ({message}): check routing and the address family \
                 (-4/-6)"
            ),
            ProbeOutcome::Timeout { phase } => write!(
                f,
                "timed out {phase}: the server or a firewall is silent; retry with a \
                 longer --timeout or check filtering of the port"
            ),
            ProbeOutcome::Closed { phase } => write!(
                f,
                "the server closed the connection {phase} (rate limiting, a blocklist, \
                 or an overloaded server: see the transcript)"
            ),
            ProbeOutcome::Io { phase, message } => write!(f, "I/O error {phase}: {message}"),
            ProbeOutcome::Rejected { phase, reply } => {
                write!(f, "the server refused the session {phase}: {reply}")
            }
            ProbeOutcome::StartTlsNotOffered {
                capabilities,
                no_esmtp,
            } => {
                if let Some(reply) = no_esmtp {
                    write!(
                        f,
                        "STARTTLS not offered: the server rejected EHLO ({reply}) and \
                         accepted HELO, so it has no ESMTP and cannot offer STARTTLS"
                    )
                } else {
                    write!(
                        f,
                        "STARTTLS not offered (capabilities: {}): enable TLS on the \
                         server",
                        if capabilities.is_empty() {
                            "none".to_owned()
                        } else {
                            capabilities.join(", ")
                        }
                    )
                }
            }
            ProbeOutcome::StartTlsRefused { reply } => write!(
                f,
                "STARTTLS offered but refused ({reply}): the server's TLS configuration \
                 is broken (missing key or certificate?)"
            ),
            ProbeOutcome::TlsAlert { alert } => write!(
                f,
                "the server ended the TLS handshake with the {alert} alert: the server's \
                 TLS log says why (certificate or key missing, name unknown?)"
            ),
            ProbeOutcome::TlsUnsupported { detail } => write!(
                f,
                "the server speaks no TLS that rustls supports ({detail}); rustls needs \
                 TLS 1.2 or 1.3 with AEAD suites: upgrade the server's TLS settings. This \
                 is not a DANE failure: the chain could not be seen"
            ),
            ProbeOutcome::TlsFailed { message } => {
                write!(f, "the TLS handshake failed: {message}")
            }
            ProbeOutcome::ProtocolViolation { phase, violation } => {
                write!(f, "protocol violation {phase}: {violation}")
            }
        }
    }
}

/// A completed TLS session: the negotiated parameters and the chain exactly as presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSession {
    /// The certificates the server presented, leaf first, as sent (not re-ordered, not
    /// validated).
    pub chain: Vec<CertificateDer<'static>>,
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// The IANA name of the cipher suite (`TLS13_AES_256_GCM_SHA384`).
    pub cipher_suite: String,
    /// The key-exchange group (`X25519`, `secp256r1`), when known.
    pub key_exchange_group: Option<String>,
    /// The ALPN protocol the server selected, sanitised.
    pub alpn: Option<String>,
    /// Capabilities listed before TLS (SMTP EHLO keywords, IMAP CAPABILITY, POP3 CAPA,
    /// XMPP stream features), sanitised.
    pub capabilities: Vec<String>,
    /// Capabilities listed inside TLS (SMTP only: the EHLO after the handshake).
    pub capabilities_after_tls: Vec<String>,
    /// A problem in the dialogue after the handshake. The chain is still valid evidence;
    /// this is only reported.
    pub after_tls_problem: Option<String>,
    /// The PKIX verdict for the chain and the reference name (never a DANE verdict).
    pub pkix: PkixVerdict,
}

/// The record of one probe: what was asked, what was said, what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The address probed.
    pub addr: SocketAddr,
    /// The protocol spoken.
    pub protocol: Protocol,
    /// The SNI name sent, if any.
    pub sni: Option<String>,
    /// The dialogue, sanitised.
    pub transcript: Transcript,
    /// What was found.
    pub outcome: ProbeOutcome,
}
