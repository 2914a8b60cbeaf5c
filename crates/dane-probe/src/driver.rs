//! The tokio driver: owns the socket, the deadlines and the TLS handshake, and runs a
//! sans-IO [`Dialogue`] over them.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll};

use rustls::AlertDescription;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;

use crate::ProbeError;
use crate::dialogue::{Action, Dialogue, DialogueConfig};
use crate::family::KeyFamily;
use crate::limits::Limits;
use crate::outcome::{Phase, Probe, ProbeOutcome, TlsSession, Violation};
use crate::pkix::{TrustStore, verify_chain};
use crate::protocol::Protocol;
use crate::select::dialogue;
use crate::transcript::{Transcript, bytes_excerpt, sanitize};
use crate::verifier::{client_config, provider};

/// Size of one read from the socket.
const READ_CHUNK: usize = 4096;

/// Most bytes accepted from the server during the TLS handshake. rustls bounds each
/// handshake message (64 KiB); this bounds the whole exchange, so a server cannot keep
/// the prober busy with an endless stream of records before its deadline.
const MAX_HANDSHAKE_BYTES: usize = 512 * 1024;

/// What to probe: one socket address, the protocol spoken there, and the server name
/// (sent as SNI when it is a DNS name, and the reference identifier of the PKIX verdict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    addr: SocketAddr,
    protocol: Protocol,
    name: ServerName<'static>,
    service_domain: String,
    offer: Option<KeyFamily>,
}

impl Target {
    /// A target; `name` is a DNS name (one trailing dot is dropped: SNI carries none,
    /// RFC 6066 3) or an IP address (then no SNI is sent).
    pub fn new(addr: SocketAddr, protocol: Protocol, name: &str) -> Result<Self, ProbeError> {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        let server_name =
            ServerName::try_from(trimmed.to_owned()).map_err(|e| ProbeError::Name {
                name: name.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Target {
            addr,
            protocol,
            service_domain: trimmed.to_owned(),
            name: server_name,
            offer: None,
        })
    }

    /// The XMPP service domain sent in the stream header's `to` (by default the server
    /// name; for XMPP it is usually the domain whose SRV records led to the host).
    pub fn with_service_domain(mut self, domain: &str) -> Self {
        domain
            .strip_suffix('.')
            .unwrap_or(domain)
            .clone_into(&mut self.service_domain);
        self
    }

    /// Offers only `family`'s signature schemes (and TLS 1.2 suites), to find the chain
    /// the server holds for senders that negotiate it; by default the probe offers every
    /// scheme it verifies, as a sender usually does.
    pub fn with_offer(mut self, family: KeyFamily) -> Self {
        self.offer = Some(family);
        self
    }

    /// The family the offer is restricted to, if any.
    pub fn offer(&self) -> Option<KeyFamily> {
        self.offer
    }

    /// The address connected to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The protocol spoken.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The server name.
    pub fn name(&self) -> &ServerName<'static> {
        &self.name
    }

    /// The SNI sent: the name when it is a DNS name.
    pub fn sni(&self) -> Option<&str> {
        match &self.name {
            ServerName::DnsName(d) => Some(d.as_ref()),
            _ => None,
        }
    }
}

/// Runs probes: the ring provider, the trust anchors for the PKIX verdict, the limits,
/// and an optional global limit on concurrent probes. Cheap to share (`Arc` inside);
/// every probe builds its own rustls configuration, so no state passes between probes.
#[derive(Debug, Clone)]
pub struct Prober {
    provider: Arc<CryptoProvider>,
    trust: Arc<TrustStore>,
    limits: Limits,
    client_name: Option<String>,
    permits: Option<Arc<Semaphore>>,
}

impl Prober {
    /// A prober with default [`Limits`], no concurrency limit, and the SMTP client name
    /// taken from the local address (an address literal, RFC 5321 4.1.3).
    pub fn new(trust: TrustStore) -> Self {
        Prober {
            provider: provider(),
            trust: Arc::new(trust),
            limits: Limits::default(),
            client_name: None,
            permits: None,
        }
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The name sent in SMTP `EHLO` (a fully-qualified domain name, RFC 5321 4.1.1.1).
    pub fn with_client_name(mut self, name: &str) -> Self {
        self.client_name = Some(name.to_owned());
        self
    }

    /// At most `n` probes (of this prober and its clones) run at once; the others wait
    /// for a slot before their deadlines start. `n` is at least 1.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.permits = Some(Arc::new(Semaphore::new(n.max(1))));
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The trust anchors of the PKIX verdict.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// Probes `target`. Never fails and never hangs: every finding, including a
    /// refused connection or a timeout, is the returned [`Probe`]'s outcome. `now` is
    /// the time of the PKIX verdict.
    pub async fn probe(&self, target: &Target, now: UnixTime) -> Probe {
        // `acquire_owned` fails only on a closed semaphore, and this one is never closed.
        let _permit = match &self.permits {
            Some(permits) => permits.clone().acquire_owned().await.ok(),
            None => None,
        };
        let mut transcript = Transcript::new(self.limits.max_transcript);
        let outcome = match self.run(target, now, &mut transcript).await {
            Ok(session) => ProbeOutcome::Connected(Box::new(session)),
            Err(outcome) => outcome,
        };
        tracing::debug!(addr = %target.addr, protocol = %target.protocol, kind = outcome.kind(), "probe done");
        Probe {
            addr: target.addr,
            protocol: target.protocol,
            sni: target.sni().map(str::to_owned),
            transcript,
            outcome,
        }
    }

    async fn run(
        &self,
        target: &Target,
        now: UnixTime,
        t: &mut Transcript,
    ) -> Result<TlsSession, ProbeOutcome> {
        let mut clock = Deadlines::new(&self.limits);
        let mut tcp = connect(target.addr, &clock).await?;
        t.event(&format!("connected to {}", target.addr));
        if let Some(family) = target.offer {
            t.event(&format!("offering only {family} signature algorithms"));
        }

        let client_name = match (&self.client_name, tcp.local_addr()) {
            (Some(name), _) => name.clone(),
            (None, Ok(local)) => address_literal(local.ip()),
            (None, Err(_)) => "localhost".to_owned(),
        };
        let config = DialogueConfig::new(&client_name, &target.service_domain, &self.limits);
        let mut d = dialogue(target.protocol, &config);
        let mut buf = vec![0u8; READ_CHUNK];

        // The plaintext part: greeting, capabilities, STARTTLS.
        let first = d.start(t);
        match converse(&mut tcp, d.as_mut(), first, t, &mut clock, &mut buf).await? {
            Action::StartTls => {}
            // A dialogue only finishes inside TLS; finishing before it is a bug in the
            // state machine, reported rather than trusted.
            other => {
                return Err(ProbeOutcome::ProtocolViolation {
                    phase: d.phase(),
                    violation: Violation::Garbage {
                        expected: "a STARTTLS dialogue that reaches TLS",
                        excerpt: format!("{other:?}"),
                    },
                });
            }
        }

        // The handshake.
        clock.enter(Phase::Handshake);
        let (config, recorded) =
            client_config(&self.provider, target.protocol.alpn(), target.offer).map_err(|e| {
                ProbeOutcome::TlsFailed {
                    message: format!("the TLS client could not be configured: {e}"),
                }
            })?;
        let connector = TlsConnector::from(Arc::new(config));
        let io = Recorder::new(tcp, MAX_HANDSHAKE_BYTES);
        let handshake = connector.connect(target.name.clone(), io).into_fallible();
        let mut tls = match timeout_at(clock.deadline(), handshake).await {
            Err(_) => {
                return Err(ProbeOutcome::Timeout {
                    phase: Phase::Handshake,
                });
            }
            Ok(Err((e, io))) => return Err(tls_failure(&e, &io)),
            Ok(Ok(tls)) => tls,
        };

        let (io, conn) = tls.get_ref();
        let chain: Vec<CertificateDer<'static>> = recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .or_else(|| conn.peer_certificates().map(|c| c.to_vec()))
            .unwrap_or_default();
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_owned(),
        };
        let cipher_suite = conn
            .negotiated_cipher_suite()
            .map_or_else(|| "unknown".to_owned(), |s| format!("{:?}", s.suite()));
        let key_exchange_group = conn
            .negotiated_key_exchange_group()
            .map(|g| format!("{:?}", g.name()));
        let alpn = conn
            .alpn_protocol()
            .map(|p| sanitize(&String::from_utf8_lossy(p), 100));
        let handshake_bytes = io.received;
        t.event(&format!(
            "TLS handshake done: {version} {cipher_suite}{}, {} certificate(s), {handshake_bytes} bytes",
            key_exchange_group
                .as_deref()
                .map(|g| format!(" {g}"))
                .unwrap_or_default(),
            chain.len()
        ));
        t.set_tls();

        // The short dialogue inside TLS. The chain is already evidence; a problem here is
        // only reported beside it.
        let next = d.tls_established(t);
        let after_tls_problem =
            match converse(&mut tls, d.as_mut(), next, t, &mut clock, &mut buf).await {
                Ok(_) => None,
                Err(outcome) => Some(outcome.to_string()),
            };
        // close_notify, best effort and bounded: the server learns the client is done.
        let _ = timeout_at(clock.deadline(), tls.shutdown()).await;

        let pkix = verify_chain(&chain, &target.name, &self.trust, now);
        Ok(TlsSession {
            chain,
            version,
            cipher_suite,
            key_exchange_group,
            alpn,
            capabilities: d.capabilities(),
            capabilities_after_tls: d.capabilities_after_tls(),
            after_tls_problem,
            pkix,
        })
    }
}

/// The SMTP EHLO argument from an address (RFC 5321 4.1.3 address literals).
fn address_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// The deadline of the current phase and the overall deadline.
#[derive(Debug)]
struct Deadlines {
    limits: Limits,
    overall: Instant,
    phase: Phase,
    phase_deadline: Instant,
}

impl Deadlines {
    fn new(limits: &Limits) -> Self {
        let start = Instant::now();
        Deadlines {
            limits: limits.clone(),
            overall: start + limits.overall,
            phase: Phase::Connect,
            phase_deadline: start + limits.connect,
        }
    }

    /// Moves to `phase`, starting its deadline, unless already there.
    fn enter(&mut self, phase: Phase) {
        if phase != self.phase {
            self.phase = phase;
            self.phase_deadline = Instant::now() + self.limits.for_phase(phase);
        }
    }

    /// The earlier of the phase deadline and the overall deadline.
    fn deadline(&self) -> Instant {
        self.phase_deadline.min(self.overall)
    }
}

async fn connect(addr: SocketAddr, clock: &Deadlines) -> Result<TcpStream, ProbeOutcome> {
    match timeout_at(clock.deadline(), TcpStream::connect(addr)).await {
        Err(_) => Err(ProbeOutcome::Timeout {
            phase: Phase::Connect,
        }),
        Ok(Ok(stream)) => {
            // Every write is one command or one TLS flight the server must answer before we
            // send more: Nagle's algorithm would only hold it back for the delayed ACK
            // (about 40 ms per round trip on Linux). Best effort: a probe still works
            // without it.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(match e.kind() {
            io::ErrorKind::ConnectionRefused => ProbeOutcome::Refused,
            io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable => ProbeOutcome::Unreachable {
                message: e.to_string(),
            },
            _ => ProbeOutcome::Io {
                phase: Phase::Connect,
                message: e.to_string(),
            },
        }),
    }
}

/// Runs the dialogue until it asks for TLS or is done, each read and write under the
/// current deadline.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    d: &mut dyn Dialogue,
    mut action: Action,
    t: &mut Transcript,
    clock: &mut Deadlines,
    buf: &mut [u8],
) -> Result<Action, ProbeOutcome> {
    loop {
        clock.enter(d.phase());
        let phase = clock.phase;
        match action {
            Action::StartTls | Action::Done => return Ok(action),
            Action::Send(bytes) => {
                let write = async {
                    stream.write_all(&bytes).await?;
                    stream.flush().await
                };
                match timeout_at(clock.deadline(), write).await {
                    Err(_) => return Err(ProbeOutcome::Timeout { phase }),
                    Ok(Err(e)) => return Err(io_failure(&e, phase)),
                    Ok(Ok(())) => {}
                }
            }
            Action::Receive => {}
        }
        let n = match timeout_at(clock.deadline(), stream.read(buf)).await {
            Err(_) => return Err(ProbeOutcome::Timeout { phase }),
            Ok(Err(e)) => return Err(io_failure(&e, phase)),
            Ok(Ok(0)) => return Err(ProbeOutcome::Closed { phase }),
            Ok(Ok(n)) => n,
        };
        action = d.receive(&buf[..n], t)?;
    }
}

fn io_failure(e: &io::Error, phase: Phase) -> ProbeOutcome {
    match e.kind() {
        // A reset or a broken pipe is the server closing abruptly (on Linux a reset that
        // follows the server's FIN surfaces as EPIPE): the same finding as a clean close.
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => ProbeOutcome::Closed { phase },
        _ => ProbeOutcome::Io {
            phase,
            message: e.to_string(),
        },
    }
}

/// What a failed handshake means.
fn tls_failure(e: &io::Error, io: &Recorder<TcpStream>) -> ProbeOutcome {
    // RFC 8446 5.1 (and RFC 5246 6.2.1): a TLS record starts with its content type,
    // 20 to 23; anything else is not TLS (a plaintext reply, an HTTP error page, ...).
    if let Some(&first) = io.head.first()
        && !(20..=23).contains(&first)
    {
        return ProbeOutcome::ProtocolViolation {
            phase: Phase::Handshake,
            violation: Violation::NotTls {
                excerpt: bytes_excerpt(&io.head, io.head.len()),
            },
        };
    }
    if io.exceeded {
        return ProbeOutcome::ProtocolViolation {
            phase: Phase::Handshake,
            violation: Violation::TooManyBytes { limit: io.limit },
        };
    }
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => match alert {
            // RFC 8446 6.2 / RFC 5246 7.2.2: a server that cannot agree on a version
            // answers protocol_version; one with no common suite, group or signature
            // scheme answers handshake_failure or insufficient_security. rustls offers
            // only TLS 1.2/1.3 with AEAD suites, so these mean the server speaks only
            // what rustls does not (TLS 1.1 or older, CBC or RSA key exchange).
            AlertDescription::ProtocolVersion => ProbeOutcome::TlsUnsupported {
                detail: "the server answered the ClientHello with the protocol_version alert: \
                         it speaks no TLS version rustls does (TLS 1.1 or older only?)"
                    .to_owned(),
            },
            AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => {
                ProbeOutcome::TlsUnsupported {
                    detail: format!(
                        "the server answered the ClientHello with the {} alert: no common \
                         cipher suite, group or signature scheme (CBC-only or RSA key \
                         exchange suites?), or a server-side configuration error",
                        alert_name(*alert)
                    ),
                }
            }
            other => ProbeOutcome::TlsAlert {
                alert: alert_name(*other),
            },
        },
        // The CertificateVerify / ServerKeyExchange signature did not verify with the
        // leaf's key: the server does not prove possession of the key it presented.
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature)) => {
            ProbeOutcome::TlsFailed {
                message: "the server's handshake signature does not verify with the public \
                          key of the leaf certificate it presented: it does not prove \
                          possession of that key (wrong key configured for the certificate?)"
                    .to_owned(),
            }
        }
        Some(rustls::Error::PeerIncompatible(why)) => ProbeOutcome::TlsUnsupported {
            detail: format!("{why:?}"),
        },
        Some(other) => ProbeOutcome::TlsFailed {
            message: other.to_string(),
        },
        None => io_failure(e, Phase::Handshake),
    }
}

/// The RFC 8446 name of an alert (`handshake_failure`).
fn alert_name(alert: AlertDescription) -> String {
    let camel = format!("{alert:?}");
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Wraps the socket during the handshake: keeps the first bytes the server sent (to tell
/// "not TLS" from a TLS failure) and enforces a byte limit.
#[derive(Debug)]
struct Recorder<S> {
    inner: S,
    head: Vec<u8>,
    received: usize,
    limit: usize,
    exceeded: bool,
}

/// How many of the server's first bytes are kept.
const HEAD: usize = 24;

impl<S> Recorder<S> {
    fn new(inner: S, limit: usize) -> Self {
        Recorder {
            inner,
            head: Vec::with_capacity(HEAD),
            received: 0,
            limit,
            exceeded: false,
        }
    }
}

/// Linux's TCP_QUICKACK, set before every read of the TLS session: the server writes its
/// TLS 1.3 session tickets and then, after our next command, a short reply that Nagle's
/// algorithm on its side holds back until we acknowledge the tickets, which a delayed ACK
/// does only after about 40 ms. The flag is not sticky (tcp(7)), hence before each read.
/// Best effort: elsewhere, or if it fails, the probe is only slower.
fn quickack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

impl AsyncRead for Recorder<TcpStream> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        quickack(&this.inner);
        if this.received > this.limit {
            this.exceeded = true;
            return Poll::Ready(Err(io::Error::other("too many handshake bytes")));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            let new = &buf.filled()[before..];
            this.received = this.received.saturating_add(new.len());
            let room = HEAD.saturating_sub(this.head.len());
            this.head.extend_from_slice(&new[..new.len().min(room)]);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_are_the_rfc_ones() {
        assert_eq!(
            alert_name(AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
        assert_eq!(
            alert_name(AlertDescription::BadCertificate),
            "bad_certificate"
        );
        assert_eq!(
            alert_name(AlertDescription::ProtocolVersion),
            "protocol_version"
        );
    }

    #[test]
    fn address_literals() {
        assert_eq!(address_literal("192.0.2.1".parse().unwrap()), "[192.0.2.1]");
        assert_eq!(
            address_literal("2001:db8::1".parse().unwrap()),
            "[IPv6:2001:db8::1]"
        );
    }

    #[test]
    fn target_names() {
        let addr: SocketAddr = "127.0.0.1:25".parse().unwrap();
        let t = Target::new(addr, Protocol::Smtp, "mx.example.org.").unwrap();
        assert_eq!(t.sni(), Some("mx.example.org"));
        let t = Target::new(addr, Protocol::Smtp, "192.0.2.1").unwrap();
        assert_eq!(t.sni(), None);
        assert!(matches!(
            Target::new(addr, Protocol::Smtp, "bad name!"),
            Err(ProbeError::Name { .. })
        ));
    }
}
