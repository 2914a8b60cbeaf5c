//! `dane probe`: connect to a server, speak its protocol up to TLS, and show the chain it
//! presents, the TLS parameters, the PKIX verdict and the TLSA records that would match.
//!
//! The dialogue, the handshake and the verdicts are in `dane-probe`, the TLSA records in
//! `dane-tlsa`; this module parses the target, resolves the name with the system resolver,
//! and renders text, PEM or JSON.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use dane_probe::{
    CertSummary, Direction, Limits, PkixVerdict, Probe, ProbeOutcome, Prober, Protocol, Target,
    TrustStore,
};
use dane_tlsa::{CertUsage, MatchingType, Selector, Source, TlsaRecord};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Context, Exit, term};

/// Longest `--timeout` accepted, in seconds.
const MAX_TIMEOUT: f64 = 3600.0;

/// `dane probe`
#[derive(Debug, clap::Args)]
#[command(after_help = PROBE_HELP)]
pub struct Args {
    /// The server: HOST, HOST:PORT, or `[IPv6]:PORT`. HOST is sent as SNI and is the name
    /// the PKIX verdict and the TLSA owner name use.
    #[arg(value_name = "HOST[:PORT]")]
    target: String,
    /// STARTTLS dialogue to speak, or none for TLS from the first byte. Default: by port
    /// (25/587 smtp, 143 imap, 110 pop3, 5222/5269 xmpp; other ports implicit TLS), smtp
    /// when no port is given.
    #[arg(long, value_enum, value_name = "PROTO")]
    starttls: Option<StartTls>,
    /// Connect to this address instead of resolving HOST (SNI stays HOST).
    #[arg(long, value_name = "ADDR")]
    ip: Option<IpAddr>,
    /// Resolve HOST to IPv4 addresses only.
    #[arg(short = '4', conflicts_with_all = ["ipv6", "ip"])]
    ipv4: bool,
    /// Resolve HOST to IPv6 addresses only.
    #[arg(short = '6', conflicts_with = "ip")]
    ipv6: bool,
    /// Bound on the whole probe and on each phase, in seconds (decimals allowed).
    /// Default: 10 s to connect, 30 s per phase, 60 s in all.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// PEM file of trust anchors for the PKIX verdict, instead of webpki-roots (Mozilla).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Time for the PKIX verdict's certificate dates (RFC 3339, YYYY-MM-DD or @SECONDS).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Write only the presented chain, PEM, leaf first (for `dane tlsa --cert`).
    #[arg(long, conflicts_with = "json")]
    pem: bool,
    /// One JSON document instead of the text report.
    #[arg(long)]
    json: bool,
    /// Offer only this family's signature algorithms (rsa: PKCS#1 and PSS; ecdsa; eddsa),
    /// to see the chain a server with several certificates gives the senders that
    /// negotiate it (`dane verify` probes each family by itself).
    #[arg(long, value_enum, value_name = "FAMILY")]
    sigalgs: Option<SigAlgs>,
}

/// `--sigalgs`: a signature-algorithm family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SigAlgs {
    Rsa,
    Ecdsa,
    Eddsa,
}

impl SigAlgs {
    fn family(self) -> dane_probe::KeyFamily {
        match self {
            SigAlgs::Rsa => dane_probe::KeyFamily::Rsa,
            SigAlgs::Ecdsa => dane_probe::KeyFamily::Ecdsa,
            SigAlgs::Eddsa => dane_probe::KeyFamily::Eddsa,
        }
    }
}

const PROBE_HELP: &str = "\
The chain is shown exactly as the server presented it: the prober accepts any chain (DANE
allows self-signed and private-CA certificates) but verifies the handshake signature, so
the server has proven it holds the leaf's key. The PKIX verdict is reported separately.
The TLSA lines are the 3 1 1 (leaf key) and 2 1 1 (issuer key) records this chain would
match; the issuer line needs the second certificate to be the leaf's issuer. HOST is
resolved with the system resolver (not DNSSEC-validated; `dane verify` does that).

Exit status: 0 connected and got a chain; 1 a definite failure (STARTTLS not offered or
refused, TLS alert or failure, TLS only older than 1.2 or CBC-only, a protocol violation,
the server refused the session); 2 bad input; 3 indeterminate (no address, connection
refused, unreachable, timeout, connection closed, a 4xx greeting).

Examples:
  dane probe mx1.example.com                   SMTP STARTTLS on port 25
  dane probe mx1.example.com --ip 192.0.2.25   connect there, SNI mx1.example.com
  dane probe imap.example.com:993              IMAP over implicit TLS
  dane probe xmpp.example.com --starttls xmpp-server
  dane probe www.example.com --starttls none   HTTPS on port 443 (ALPN h2, http/1.1)
  dane probe mx1.example.com --sigalgs rsa     the chain for senders that negotiate RSA
  dane probe mx1.example.com --pem > chain.pem && dane tlsa generate --recommended --cert chain.pem";

/// `--starttls` (dane probe, dane verify --port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum StartTls {
    /// SMTP STARTTLS.
    Smtp,
    /// IMAP STARTTLS.
    Imap,
    /// POP3 STLS.
    Pop3,
    /// XMPP client-to-server.
    XmppClient,
    /// XMPP server-to-server.
    XmppServer,
    /// TLS from the first byte.
    None,
}

impl StartTls {
    fn default_port(self) -> u16 {
        match self {
            StartTls::Smtp => 25,
            StartTls::Imap => 143,
            StartTls::Pop3 => 110,
            StartTls::XmppClient => 5222,
            StartTls::XmppServer => 5269,
            StartTls::None => 443,
        }
    }

    /// The prober's protocol for this dialogue on `port` (implicit TLS: HTTPS with ALPN on
    /// 443, SMTPS/IMAPS/POP3S on theirs, plain TLS elsewhere).
    pub(crate) fn protocol(self, port: u16) -> Protocol {
        match self {
            StartTls::Smtp => Protocol::Smtp,
            StartTls::Imap => Protocol::Imap,
            StartTls::Pop3 => Protocol::Pop3,
            StartTls::XmppClient => Protocol::XmppClient,
            StartTls::XmppServer => Protocol::XmppServer,
            StartTls::None => Protocol::implicit_for_port(port),
        }
    }
}

/// Splits `HOST`, `HOST:PORT`, `[V6]:PORT`, `[V6]` or a bare IPv6 literal.
fn split_target(text: &str) -> anyhow::Result<(String, Option<u16>)> {
    let port = |p: &str| -> anyhow::Result<u16> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("{text:?}: the port must be a number from 1 to 65535, not {p:?}"),
        }
    };
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            bail!("{text:?}: missing ']' after the IPv6 address");
        };
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (host, Some(port(p)?)),
                None => bail!("{text:?}: expected ':PORT' after ']'"),
            },
        }
    } else if text.matches(':').count() > 1 {
        // A bare IPv6 literal: no port (write [ADDR]:PORT for one).
        (text, None)
    } else if let Some((host, p)) = text.rsplit_once(':') {
        (host, Some(port(p)?))
    } else {
        (text, None)
    };
    if host.is_empty() {
        bail!("{text:?}: no host name");
    }
    Ok((host.to_owned(), port))
}

/// Runs `dane probe`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let now = ctx.now(args.at.as_deref())?;
    let (host, port) = split_target(&args.target)?;
    let (port, protocol) = match (args.starttls, port) {
        (Some(s), Some(p)) => (p, s.protocol(p)),
        (Some(s), None) => (s.default_port(), s.protocol(s.default_port())),
        (None, Some(p)) => (p, Protocol::for_port(p)),
        (None, None) => (25, Protocol::Smtp),
    };
    let limits = match args.timeout {
        None => Limits::default(),
        Some(t) if t > 0.0 && t <= MAX_TIMEOUT => Limits::with_timeout(Duration::from_secs_f64(t)),
        Some(t) => bail!("--timeout {t}: must be more than 0 and at most {MAX_TIMEOUT} seconds"),
    };
    let trust = match &args.ca_file {
        Some(path) => TrustStore::from_pem_file(path).context("--ca-file")?,
        None => TrustStore::webpki_roots(),
    };
    // Validates HOST as a server name before any network traffic.
    let placeholder = SocketAddr::from(([0, 0, 0, 0], port));
    Target::new(placeholder, protocol, &host).context("HOST")?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let resolved = runtime.block_on(address(args, &host, port, limits.connect));
    let probe = match resolved {
        Ok(addr) => {
            let mut target = Target::new(addr, protocol, &host).context("HOST")?;
            if let Some(s) = args.sigalgs {
                target = target.with_offer(s.family());
            }
            let prober = Prober::new(trust).with_limits(limits);
            Ok(runtime.block_on(prober.probe(&target, now)))
        }
        Err(message) => Err(message),
    };
    // A resolver thread still blocked in getaddrinfo after its deadline is abandoned
    // rather than waited for (dropping the runtime would wait).
    runtime.shutdown_background();
    let probe = match probe {
        Ok(probe) => probe,
        Err(message) => {
            // No address is not a finding about a server: indeterminate, like a timeout.
            eprintln!("dane: {}", term::sanitize(&message));
            return Ok(Exit::Indeterminate);
        }
    };
    let exit = exit_for(&probe.outcome);
    let report = Report::new(&host, port, &probe, exit);

    let mut stdout = std::io::stdout().lock();
    if args.json {
        let text = serde_json::to_string_pretty(&report)?;
        writeln!(stdout, "{text}")?;
    } else if args.pem {
        if report.chain.is_empty() {
            eprintln!(
                "dane: {}: {}",
                term::sanitize(&host),
                term::sanitize(&report.outcome.message)
            );
        }
        for cert in &report.chain {
            write!(stdout, "{}", cert.pem)?;
        }
    } else {
        write_text(&mut stdout, &report, ctx.color)?;
    }
    Ok(exit)
}

/// The address to connect to: `--ip`, HOST itself when it is an address, or the first
/// address of the wanted family from the system resolver.
async fn address(
    args: &Args,
    host: &str,
    port: u16,
    limit: Duration,
) -> Result<SocketAddr, String> {
    if let Some(ip) = args.ip {
        return Ok(SocketAddr::new(ip, port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if (args.ipv4 && ip.is_ipv6()) || (args.ipv6 && ip.is_ipv4()) {
            return Err(format!(
                "{host}: not an address of the family -4/-6 asks for"
            ));
        }
        return Ok(SocketAddr::new(ip, port));
    }
    let found = match tokio::time::timeout(limit, tokio::net::lookup_host((host, port))).await {
        Err(_) => {
            return Err(format!(
                "{host}: the system resolver did not answer in time"
            ));
        }
        Ok(Err(e)) => return Err(format!("{host}: cannot resolve (system resolver: {e})")),
        Ok(Ok(addrs)) => addrs,
    };
    let mut found = found.filter(|a| !(args.ipv4 && a.is_ipv6() || args.ipv6 && a.is_ipv4()));
    found.next().ok_or_else(|| {
        let family = if args.ipv4 {
            "IPv4 "
        } else if args.ipv6 {
            "IPv6 "
        } else {
            ""
        };
        format!("{host}: no {family}address")
    })
}

/// The exit status of an outcome (docs/probe.md).
fn exit_for(outcome: &ProbeOutcome) -> Exit {
    match outcome {
        ProbeOutcome::Connected(_) => Exit::Ok,
        ProbeOutcome::Refused
        | ProbeOutcome::Unreachable { .. }
        | ProbeOutcome::Timeout { .. }
        | ProbeOutcome::Closed { .. }
        | ProbeOutcome::Io { .. } => Exit::Indeterminate,
        // A 4xx greeting or EHLO reply (421 "try again later") is transient by definition
        // (RFC 5321 4.2.1).
        ProbeOutcome::Rejected { reply, .. } if reply.code.starts_with('4') => Exit::Indeterminate,
        ProbeOutcome::Rejected { .. }
        | ProbeOutcome::StartTlsNotOffered { .. }
        | ProbeOutcome::StartTlsRefused { .. }
        | ProbeOutcome::TlsAlert { .. }
        | ProbeOutcome::TlsUnsupported { .. }
        | ProbeOutcome::TlsFailed { .. }
        | ProbeOutcome::ProtocolViolation { .. } => Exit::Failure,
    }
}

// ------------------------------------------------------------------------------ report

/// The `--json` document (version 1); the text report shows the same fields.
#[derive(Debug, Serialize)]
struct Report {
    version: u32,
    host: String,
    port: u16,
    address: String,
    protocol: &'static str,
    sni: Option<String>,
    outcome: OutcomeJson,
    tls: Option<TlsJson>,
    chain: Vec<CertJson>,
    pkix: Option<PkixJson>,
    tlsa: Vec<TlsaJson>,
    /// Why a 2 1 1 (or any) record is missing from `tlsa`.
    tlsa_note: Option<String>,
    transcript: Vec<EntryJson>,
    transcript_dropped: usize,
    exit: u8,
}

#[derive(Debug, Serialize)]
struct OutcomeJson {
    kind: &'static str,
    phase: Option<&'static str>,
    message: String,
    /// The server's refusing reply (STARTTLS refused, session rejected).
    reply: Option<ReplyJson>,
}

#[derive(Debug, Serialize)]
struct ReplyJson {
    code: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct TlsJson {
    version: String,
    cipher_suite: String,
    key_exchange_group: Option<String>,
    alpn: Option<String>,
    capabilities: Vec<String>,
    capabilities_after_tls: Vec<String>,
    after_tls_problem: Option<String>,
}

#[derive(Debug, Serialize)]
struct CertJson {
    /// 0 for the leaf.
    position: usize,
    /// Why the certificate could not be summarised (it is still in `pem`).
    parse_error: Option<String>,
    #[serde(flatten)]
    summary: Option<SummaryJson>,
    pem: String,
}

#[derive(Debug, Serialize)]
struct SummaryJson {
    subject: String,
    issuer: String,
    sans: Vec<String>,
    not_before: String,
    not_after: String,
    key_type: String,
    key_bits: Option<usize>,
    is_ca: bool,
    spki_sha256: String,
    cert_sha256: String,
}

#[derive(Debug, Serialize)]
struct PkixJson {
    valid: bool,
    anchor: Option<String>,
    reason: Option<String>,
    trust: String,
}

#[derive(Debug, Serialize)]
struct TlsaJson {
    owner: Option<String>,
    usage: u8,
    selector: u8,
    matching_type: u8,
    data: String,
    /// The zone-file line (or the bare RDATA when HOST is an address).
    line: String,
}

#[derive(Debug, Serialize)]
struct EntryJson {
    direction: &'static str,
    tls: bool,
    text: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn date(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{seconds}"))
}

impl Report {
    fn new(host: &str, port: u16, probe: &Probe, exit: Exit) -> Report {
        let outcome = &probe.outcome;
        let reply = match outcome {
            ProbeOutcome::StartTlsRefused { reply } | ProbeOutcome::Rejected { reply, .. } => {
                Some(ReplyJson {
                    code: reply.code.clone(),
                    text: reply.text.clone(),
                })
            }
            _ => None,
        };
        let session = outcome.session();
        let chain_der = session.map(|s| s.chain.clone()).unwrap_or_default();
        let chain = chain_der
            .iter()
            .enumerate()
            .map(|(position, der)| {
                let (summary, parse_error) = match CertSummary::from_der(der) {
                    Ok(s) => (
                        Some(SummaryJson {
                            subject: s.subject,
                            issuer: s.issuer,
                            sans: s.sans,
                            not_before: date(s.not_before),
                            not_after: date(s.not_after),
                            key_type: s.key_type,
                            key_bits: s.key_bits,
                            is_ca: s.is_ca,
                            spki_sha256: hex(&s.spki_sha256),
                            cert_sha256: hex(&s.cert_sha256),
                        }),
                        None,
                    ),
                    Err(e) => (None, Some(e.to_string())),
                };
                CertJson {
                    position,
                    parse_error,
                    summary,
                    pem: pem::encode_config(
                        &pem::Pem::new("CERTIFICATE", der.as_ref().to_vec()),
                        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
                    ),
                }
            })
            .collect();
        let (tlsa, tlsa_note) = if chain_der.is_empty() {
            (Vec::new(), None)
        } else {
            tlsa_records(host, port, &chain_der)
        };
        Report {
            version: 1,
            host: host.to_owned(),
            port,
            address: probe.addr.to_string(),
            protocol: probe.protocol.name(),
            sni: probe.sni.clone(),
            outcome: OutcomeJson {
                kind: outcome.kind(),
                phase: outcome.phase().map(|p| p.name()),
                message: outcome.to_string(),
                reply,
            },
            tls: session.map(|s| TlsJson {
                version: s.version.clone(),
                cipher_suite: s.cipher_suite.clone(),
                key_exchange_group: s.key_exchange_group.clone(),
                alpn: s.alpn.clone(),
                capabilities: s.capabilities.clone(),
                capabilities_after_tls: s.capabilities_after_tls.clone(),
                after_tls_problem: s.after_tls_problem.clone(),
            }),
            chain,
            pkix: session.map(|s| match &s.pkix {
                PkixVerdict::Valid { anchor, source } => PkixJson {
                    valid: true,
                    anchor: Some(anchor.clone()),
                    reason: None,
                    trust: source.clone(),
                },
                PkixVerdict::Invalid { reason, source } => PkixJson {
                    valid: false,
                    anchor: None,
                    reason: Some(reason.clone()),
                    trust: source.clone(),
                },
            }),
            tlsa,
            tlsa_note,
            transcript: probe
                .transcript
                .entries()
                .iter()
                .map(|e| EntryJson {
                    direction: match e.direction {
                        Direction::Sent => "sent",
                        Direction::Received => "received",
                        Direction::Event => "event",
                    },
                    tls: e.tls,
                    text: e.text.clone(),
                })
                .collect(),
            transcript_dropped: probe.transcript.dropped(),
            exit: exit as u8,
        }
    }
}

/// The `3 1 1` and `2 1 1` records this chain matches (dane-tlsa computes them), with
/// the owner `_PORT._tcp.HOST.` when HOST is a name.
fn tlsa_records(
    host: &str,
    port: u16,
    chain: &[rustls_pki_types::CertificateDer<'static>],
) -> (Vec<TlsaJson>, Option<String>) {
    let owner = if host.parse::<IpAddr>().is_ok() {
        None
    } else {
        dane_tlsa::tlsa_owner(port, dane_tlsa::Proto::Tcp, host).ok()
    };
    let (records, note): (Vec<TlsaRecord>, Option<String>) = match dane_tlsa::recommended(chain) {
        Ok(records) if records.len() == 1 => (
            records,
            Some("no 2 1 1 record: the server sent only its leaf certificate".to_owned()),
        ),
        Ok(records) => (records, None),
        Err(e) => {
            // The issuer line is impossible (an out-of-order chain); the leaf line may
            // still be.
            let leaf = dane_tlsa::generate(
                &Source::Certificate(chain[0].clone()),
                CertUsage::DaneEe,
                Selector::Spki,
                MatchingType::Sha256,
            );
            match leaf {
                Ok(r) => (vec![r], Some(format!("no 2 1 1 record: {e}"))),
                Err(e2) => (Vec::new(), Some(format!("no TLSA record: {e2}"))),
            }
        }
    };
    let json = records
        .iter()
        .map(|r| TlsaJson {
            owner: owner.clone(),
            usage: r.usage.value(),
            selector: r.selector.value(),
            matching_type: r.matching_type.value(),
            data: hex(&r.data),
            line: match &owner {
                Some(o) => format!("{o} IN TLSA {r}"),
                None => r.to_string(),
            },
        })
        .collect();
    (json, note)
}

fn write_text(out: &mut impl std::io::Write, r: &Report, color: bool) -> std::io::Result<()> {
    let s = |t: &str| term::sanitize(t).into_owned();
    let sni = r
        .sni
        .as_deref()
        .map_or_else(|| "no SNI".to_owned(), |n| format!("SNI {}", s(n)));
    writeln!(
        out,
        "probe {} at {} ({}, {sni})",
        s(&r.host),
        r.address,
        r.protocol
    )?;
    let (sgr, label) = match r.exit {
        0 => ("32", "ok"),
        3 => ("33", "indeterminate"),
        _ => ("31", "failed"),
    };
    writeln!(
        out,
        "{}: {}",
        term::paint(color, sgr, label),
        s(&r.outcome.message)
    )?;
    if let Some(tls) = &r.tls {
        writeln!(
            out,
            "tls: {} {}, group {}, ALPN {}",
            s(&tls.version),
            s(&tls.cipher_suite),
            tls.key_exchange_group
                .as_deref()
                .map_or("unknown".into(), s),
            tls.alpn.as_deref().map_or("none".into(), s)
        )?;
        if !tls.capabilities.is_empty() {
            writeln!(
                out,
                "capabilities before TLS: {}",
                s(&tls.capabilities.join(" "))
            )?;
        }
        if !tls.capabilities_after_tls.is_empty() {
            writeln!(
                out,
                "capabilities inside TLS: {}",
                s(&tls.capabilities_after_tls.join(" "))
            )?;
        }
        if let Some(problem) = &tls.after_tls_problem {
            writeln!(out, "after the handshake: {}", s(problem))?;
        }
    }
    for cert in &r.chain {
        let role = if cert.position == 0 { " (leaf)" } else { "" };
        writeln!(out, "\ncertificate {}{role}", cert.position)?;
        if let Some(e) = &cert.parse_error {
            writeln!(out, "  does not parse: {}", s(e))?;
        }
        if let Some(c) = &cert.summary {
            writeln!(out, "  subject:     {}", s(&c.subject))?;
            writeln!(out, "  issuer:      {}", s(&c.issuer))?;
            if !c.sans.is_empty() {
                writeln!(out, "  SANs:        {}", s(&c.sans.join(", ")))?;
            }
            writeln!(out, "  validity:    {} .. {}", c.not_before, c.not_after)?;
            let bits = c.key_bits.map(|b| format!(" {b} bits")).unwrap_or_default();
            let ca = if c.is_ca { ", CA" } else { "" };
            writeln!(out, "  key:         {}{bits}{ca}", s(&c.key_type))?;
            writeln!(out, "  SPKI SHA-256: {}", c.spki_sha256)?;
        }
    }
    if let Some(p) = &r.pkix {
        let verdict = match (&p.anchor, &p.reason) {
            (Some(anchor), _) => format!("valid (anchor {})", s(anchor)),
            (None, Some(reason)) => format!("invalid: {}", s(reason)),
            (None, None) => "invalid".to_owned(),
        };
        writeln!(out, "\nPKIX ({}): {verdict}", s(&p.trust))?;
    }
    if !r.tlsa.is_empty() || r.tlsa_note.is_some() {
        writeln!(out, "\nTLSA records this chain matches:")?;
        for t in &r.tlsa {
            writeln!(out, "{}", t.line)?;
        }
        if let Some(note) = &r.tlsa_note {
            writeln!(out, "({})", s(note))?;
        }
    }
    writeln!(out, "\ntranscript:")?;
    for e in &r.transcript {
        let arrow = match e.direction {
            "sent" => "C:",
            "received" => "S:",
            _ => "--",
        };
        let tls = if e.tls { " [tls]" } else { "" };
        writeln!(out, "  {arrow}{tls} {}", s(&e.text))?;
    }
    if r.transcript_dropped > 0 {
        writeln!(out, "  ... {} more entries not kept", r.transcript_dropped)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        for (text, host, port) in [
            ("mx1.example.com", "mx1.example.com", None),
            ("mx1.example.com:587", "mx1.example.com", Some(587)),
            ("192.0.2.1:25", "192.0.2.1", Some(25)),
            ("[2001:db8::1]:25", "2001:db8::1", Some(25)),
            ("[2001:db8::1]", "2001:db8::1", None),
            ("2001:db8::1", "2001:db8::1", None),
        ] {
            assert_eq!(
                split_target(text).unwrap(),
                (host.to_owned(), port),
                "{text}"
            );
        }
        for bad in [
            "",
            ":25",
            "mx:0",
            "mx:99999",
            "mx:x",
            "[2001:db8::1",
            "[::1]x",
            "[]:25",
        ] {
            assert!(split_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn default_ports_and_protocols() {
        assert_eq!(StartTls::None.default_port(), 443);
        assert_eq!(StartTls::None.protocol(443), Protocol::Https);
        assert_eq!(StartTls::None.protocol(465), Protocol::Smtps);
        assert_eq!(StartTls::None.protocol(8443), Protocol::Tls);
        assert_eq!(StartTls::XmppServer.default_port(), 5269);
        assert_eq!(StartTls::Smtp.protocol(465), Protocol::Smtp);
    }
}
