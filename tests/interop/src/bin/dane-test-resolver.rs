//! A deliberately broken recursive resolver for the interop environment (issue 11): it
//! listens on UDP and TCP at one address inside the namespace and, by mode,
//!
//! - `strip`: forwards each query to the upstream resolver with the DO bit cleared and
//!   hands back the answer without RRSIG, NSEC and NSEC3 records (anywhere) or DS records
//!   (outside the answer section), and without DO in its EDNS: a stub or home router that
//!   drops DNSSEC;
//! - `nxdomain`: answers NXDOMAIN to every query, the root included, without asking anyone;
//! - `silent`: reads every query and never answers (UDP, and TCP connections held open
//!   until the client gives up);
//! - `refused`: answers REFUSED to every query (a resolver whose ACL does not admit us);
//! - `ad-only`: forwards with DO set, so the upstream validates, and hands back its answer
//!   with the AD bit and DO but without RRSIG, NSEC and NSEC3 records: a validating stub
//!   that asks to be trusted on the AD bit alone;
//! - `ignore-cd`: forwards with CD cleared and answers with CD clear, everything else as the
//!   upstream said: a forwarder that drops CD, so its validating upstream turns bogus
//!   answers into SERVFAIL.
//!
//! Each query is appended to the log file as one line, `PROTO NAME TYPE` (`udp . DNSKEY`),
//! so tests can count what a run asked. Usage:
//! `dane-test-resolver MODE LISTEN_IP:PORT UPSTREAM_IP:PORT LOG_FILE`. It runs until killed
//! (the interop environment stops it by PID). Not a general forwarder: one upstream, no
//! cache, upstream deadline 5 s.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::RecordType;

/// How long an upstream exchange may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest UDP response sent when the client says nothing (RFC 1035 2.3.4).
const PLAIN_UDP: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Strip,
    Nxdomain,
    Silent,
    Refused,
    AdOnly,
    IgnoreCd,
}

struct Forwarder {
    mode: Mode,
    upstream: SocketAddr,
    log: Mutex<std::fs::File>,
}

#[allow(clippy::print_stderr, clippy::print_stdout)] // a program: usage on stderr, readiness on stdout
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: dane-test-resolver strip|nxdomain|silent|refused|ad-only|ignore-cd LISTEN_IP:PORT \
         UPSTREAM_IP:PORT LOG_FILE";
    let [_, mode, listen, upstream, log] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let mode = match mode.as_str() {
        "strip" => Mode::Strip,
        "nxdomain" => Mode::Nxdomain,
        "silent" => Mode::Silent,
        "refused" => Mode::Refused,
        "ad-only" => Mode::AdOnly,
        "ignore-cd" => Mode::IgnoreCd,
        other => {
            eprintln!("dane-test-resolver: unknown mode {other:?}; {usage}");
            return ExitCode::from(2);
        }
    };
    let (Ok(listen), Ok(upstream)) = (listen.parse::<SocketAddr>(), upstream.parse()) else {
        eprintln!("dane-test-resolver: {listen:?} or {upstream:?} is not IP:PORT; {usage}");
        return ExitCode::from(2);
    };
    let log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("dane-test-resolver: {log}: {e}");
            return ExitCode::from(2);
        }
    };
    let (udp, tcp) = match (UdpSocket::bind(listen), TcpListener::bind(listen)) {
        (Ok(u), Ok(t)) => (u, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("dane-test-resolver: binding {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    // The one line on stdout: the sockets are bound (the harness waits for it).
    println!("listening on {listen}");
    let fwd = Arc::new(Forwarder {
        mode,
        upstream,
        log: Mutex::new(log),
    });
    let tcp_fwd = fwd.clone();
    std::thread::spawn(move || {
        for stream in tcp.incoming().flatten() {
            let fwd = tcp_fwd.clone();
            std::thread::spawn(move || fwd.serve_tcp(stream));
        }
    });
    let udp = Arc::new(udp);
    let mut buf = [0u8; 65535];
    loop {
        let Ok((len, from)) = udp.recv_from(&mut buf) else {
            continue;
        };
        let query = buf[..len].to_vec();
        let (fwd, udp) = (fwd.clone(), udp.clone());
        std::thread::spawn(move || {
            if let Some(reply) = fwd.answer(&query, "udp") {
                let _ = udp.send_to(&reply, from);
            }
        });
    }
}

impl Forwarder {
    /// One TCP connection: length-prefixed queries until the client closes.
    fn serve_tcp(&self, mut stream: TcpStream) {
        loop {
            let mut len = [0u8; 2];
            if stream.read_exact(&mut len).is_err() {
                return;
            }
            let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if stream.read_exact(&mut query).is_err() {
                return;
            }
            let Some(reply) = self.answer(&query, "tcp") else {
                // Silent: keep reading (and never answering) until the client gives up.
                continue;
            };
            let Ok(n) = u16::try_from(reply.len()) else {
                return;
            };
            let mut out = n.to_be_bytes().to_vec();
            out.extend_from_slice(&reply);
            if stream.write_all(&out).is_err() {
                return;
            }
        }
    }

    /// The reply to one query, or `None` to stay silent.
    fn answer(&self, query: &[u8], proto: &str) -> Option<Vec<u8>> {
        let q = Message::from_vec(query).ok()?;
        if let Some(question) = q.queries.first() {
            let line = format!("{proto} {} {}\n", question.name(), question.query_type());
            if let Ok(mut log) = self.log.lock() {
                let _ = log.write_all(line.as_bytes());
            }
        }
        let reply = match self.mode {
            Mode::Silent => return None,
            Mode::Nxdomain => error_reply(&q, ResponseCode::NXDomain),
            Mode::Refused => error_reply(&q, ResponseCode::Refused),
            Mode::Strip => self.stripped(&q, proto)?,
            Mode::AdOnly => self.ad_only(&q, proto)?,
            Mode::IgnoreCd => self.without_cd(&q, proto)?,
        };
        let mut wire = reply.to_vec().ok()?;
        if proto == "udp" {
            let limit = q
                .edns
                .as_ref()
                .map_or(PLAIN_UDP, |e| usize::from(e.max_payload()).max(PLAIN_UDP));
            if wire.len() > limit {
                wire = reply.truncate().to_vec().ok()?;
            }
        }
        Some(wire)
    }

    /// Asks upstream without DO and drops every DNSSEC record from the answer.
    fn stripped(&self, q: &Message, proto: &str) -> Option<Message> {
        let mut up = q.clone();
        if let Some(edns) = up.edns.as_mut() {
            edns.set_dnssec_ok(false);
        }
        let mut m = self.forward(&up, proto)?;
        strip_dnssec(&mut m);
        m.edns = q.edns.as_ref().map(|_| plain_edns());
        Some(m)
    }

    /// Asks upstream with DO (it validates and sets AD) and drops the records that would
    /// let the client validate, keeping AD and DO.
    fn ad_only(&self, q: &Message, proto: &str) -> Option<Message> {
        let mut up = q.clone();
        up.metadata.checking_disabled = false;
        let mut e = up.edns.take().unwrap_or_else(plain_edns);
        e.set_dnssec_ok(true);
        up.set_edns(e);
        let mut m = self.forward(&up, proto)?;
        strip_dnssec(&mut m);
        m.metadata.checking_disabled = q.metadata.checking_disabled;
        Some(m)
    }

    /// Asks upstream with CD cleared and answers with CD clear.
    fn without_cd(&self, q: &Message, proto: &str) -> Option<Message> {
        let mut up = q.clone();
        up.metadata.checking_disabled = false;
        self.forward(&up, proto)
    }

    /// One upstream exchange over the client's transport; the answer must match `up`.
    fn forward(&self, up: &Message, proto: &str) -> Option<Message> {
        let wire = up.to_vec().ok()?;
        let answer = if proto == "tcp" {
            self.ask_tcp(&wire)?
        } else {
            self.ask_udp(&wire)?
        };
        let m = Message::from_vec(&answer).ok()?;
        (m.metadata.id == up.metadata.id && m.queries == up.queries).then_some(m)
    }

    fn ask_udp(&self, wire: &[u8]) -> Option<Vec<u8>> {
        let bind: SocketAddr = if self.upstream.is_ipv4() {
            "0.0.0.0:0".parse().ok()?
        } else {
            "[::]:0".parse().ok()?
        };
        let sock = UdpSocket::bind(bind).ok()?;
        sock.set_read_timeout(Some(UPSTREAM_TIMEOUT)).ok()?;
        sock.connect(self.upstream).ok()?;
        sock.send(wire).ok()?;
        let mut buf = vec![0u8; 65535];
        let n = sock.recv(&mut buf).ok()?;
        buf.truncate(n);
        Some(buf)
    }

    fn ask_tcp(&self, wire: &[u8]) -> Option<Vec<u8>> {
        let mut s = TcpStream::connect_timeout(&self.upstream, UPSTREAM_TIMEOUT).ok()?;
        s.set_read_timeout(Some(UPSTREAM_TIMEOUT)).ok()?;
        let mut out = u16::try_from(wire.len()).ok()?.to_be_bytes().to_vec();
        out.extend_from_slice(wire);
        s.write_all(&out).ok()?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len).ok()?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf).ok()?;
        Some(buf)
    }
}

/// An error response to `q` (no records), echoing its question, RD, CD and EDNS.
fn error_reply(q: &Message, rcode: ResponseCode) -> Message {
    let mut m = Message::error_msg(q.metadata.id, q.metadata.op_code, rcode);
    m.queries = q.queries.clone();
    m.metadata.recursion_desired = q.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.metadata.checking_disabled = q.metadata.checking_disabled;
    if q.edns.is_some() {
        m.set_edns(plain_edns());
    }
    m
}

/// Drops RRSIG, NSEC and NSEC3 records everywhere, and DS records outside the answer.
fn strip_dnssec(m: &mut Message) {
    let dnssec =
        |t: RecordType| matches!(t, RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3);
    m.answers.retain(|r| !dnssec(r.record_type()));
    for section in [&mut m.authorities, &mut m.additionals] {
        section.retain(|r| !dnssec(r.record_type()) && r.record_type() != RecordType::DS);
    }
}

/// EDNS as a resolver that ignores DNSSEC sends it: size 1232, DO clear.
fn plain_edns() -> Edns {
    let mut e = Edns::new();
    e.set_max_payload(1232);
    e.set_dnssec_ok(false);
    e
}
