//! Test servers on 127.0.0.1 port 0 and the helpers the probe tests share.

// Each test binary uses a different part.
#![allow(dead_code)]
// Test helpers outside #[test] functions are not covered by clippy.toml's in-tests
// exemptions; a failed unwrap here is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use dane_probe::{
    Limits, Phase, Probe, ProbeOutcome, Prober, Protocol, Target, TlsSession, TrustStore, Violation,
};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
pub use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub fn pki(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/pki")
        .join(file)
}

/// 2030-01-01: inside the fixture PKI's validity (2026-11-22 .. 2036).
pub fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000))
}

/// A chain (leaf first) and the leaf's private key.
pub struct Key {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Key {
    /// `fixtures/pki/chain-NAME.pem` (leaf + intermediate) and `leaf-NAME.key`.
    pub fn fixture(name: &str) -> Key {
        let chain = CertificateDer::pem_file_iter(pki(&format!("chain-{name}.pem")))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(pki(&format!("leaf-{name}.key"))).unwrap();
        Key { chain, key }
    }

    fn rcgen(name: &str, alg: &'static rcgen::SignatureAlgorithm) -> Key {
        let pair = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        let cert = params.self_signed(&pair).unwrap();
        Key {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pair.serialize_der())),
        }
    }

    /// A self-signed P-256 certificate for `name`, made with rcgen.
    pub fn rcgen_p256(name: &str) -> Key {
        Key::rcgen(name, &rcgen::PKCS_ECDSA_P256_SHA256)
    }

    /// A self-signed Ed25519 certificate for `name`, made with rcgen.
    pub fn rcgen_ed25519(name: &str) -> Key {
        Key::rcgen(name, &rcgen::PKCS_ED25519)
    }
}

/// TLS versions a test server accepts.
#[derive(Debug, Clone, Copy)]
pub enum Tls {
    V12,
    V13,
    Both,
}

fn server_builder(tls: Tls) -> rustls::ConfigBuilder<ServerConfig, rustls::WantsVerifier> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match tls {
        Tls::V12 => &[&rustls::version::TLS12],
        Tls::V13 => &[&rustls::version::TLS13],
        Tls::Both => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
}

pub fn tls_acceptor(key: &Key, tls: Tls, alpn: &[&str]) -> TlsAcceptor {
    let mut config = server_builder(tls)
        .with_no_client_auth()
        .with_single_cert(key.chain.clone(), key.key.clone_key())
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    TlsAcceptor::from(Arc::new(config))
}

/// Serves `key.chain` with `key.key` even though they do not belong together
/// (`with_single_cert` would refuse the pair).
#[derive(Debug)]
struct Mismatched(Arc<CertifiedKey>);

impl ResolvesServerCert for Mismatched {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

pub fn mismatched_acceptor(key: &Key, tls: Tls) -> TlsAcceptor {
    let provider = rustls::crypto::ring::default_provider();
    let signer = provider
        .key_provider
        .load_private_key(key.key.clone_key())
        .unwrap();
    let certified = CertifiedKey::new(key.chain.clone(), signer);
    let config = server_builder(tls)
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Mismatched(Arc::new(certified))));
    TlsAcceptor::from(Arc::new(config))
}

/// Holds several chains and picks, as Postfix and nginx do, the first whose key can sign
/// with a scheme the client offered (RFC 8446 4.4.2.2); none: no certificate.
#[derive(Debug)]
struct BySignatureScheme(Vec<Arc<CertifiedKey>>);

impl ResolvesServerCert for BySignatureScheme {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let offered = hello.signature_schemes();
        self.0
            .iter()
            .find(|k| k.key.choose_scheme(offered).is_some())
            .cloned()
    }
}

/// A server with every chain of `keys`, picked by the client's signature algorithms.
pub fn multi_cert_acceptor(keys: &[&Key], tls: Tls) -> TlsAcceptor {
    let provider = rustls::crypto::ring::default_provider();
    let certified = keys
        .iter()
        .map(|key| {
            let signer = provider
                .key_provider
                .load_private_key(key.key.clone_key())
                .unwrap();
            Arc::new(CertifiedKey::new(key.chain.clone(), signer))
        })
        .collect();
    let config = server_builder(tls)
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(BySignatureScheme(certified)));
    TlsAcceptor::from(Arc::new(config))
}

/// A server that has no certificate for any name: rustls answers `access_denied`.
#[derive(Debug)]
struct NoCertificate;

impl ResolvesServerCert for NoCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        None
    }
}

pub fn no_certificate_acceptor() -> TlsAcceptor {
    let config = server_builder(Tls::Both)
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(NoCertificate));
    TlsAcceptor::from(Arc::new(config))
}

/// What a line server does after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Read the next command.
    Continue,
    /// Start the TLS handshake.
    StartTls,
    /// Answer the ClientHello with plaintext.
    NotTls,
    /// Never answer the ClientHello.
    Stall,
}

/// A line-based server: a banner, then replies chosen by command prefix.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub banner: Vec<u8>,
    pub plain: Vec<(&'static str, Vec<u8>, Then)>,
    pub tls: Vec<(&'static str, Vec<u8>)>,
    /// TLS from the first byte; the banner and `tls` replies inside it.
    pub implicit: bool,
}

fn plain(prefix: &'static str, reply: &str, then: Then) -> (&'static str, Vec<u8>, Then) {
    (prefix, reply.as_bytes().to_vec(), then)
}

fn tls(prefix: &'static str, reply: &str) -> (&'static str, Vec<u8>) {
    (prefix, reply.as_bytes().to_vec())
}

/// `plain[0]` answers EHLO, `plain[1]` answers STARTTLS.
pub fn smtp_script() -> Script {
    Script {
        banner: b"220 mx.test ESMTP\r\n".to_vec(),
        plain: vec![
            plain(
                "EHLO",
                "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
                Then::Continue,
            ),
            plain("STARTTLS", "220 2.0.0 go ahead\r\n", Then::StartTls),
            plain("HELO", "250 mx.test\r\n", Then::Continue),
        ],
        tls: vec![
            tls("EHLO", "250-mx.test\r\n250 SIZE 1000\r\n"),
            tls("QUIT", "221 bye\r\n"),
        ],
        implicit: false,
    }
}

/// `plain[1]` answers STARTTLS.
pub fn imap_script() -> Script {
    Script {
        banner: b"* OK IMAP ready\r\n".to_vec(),
        plain: vec![
            plain(
                "a1 CAPABILITY",
                "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK done\r\n",
                Then::Continue,
            ),
            plain("a2 STARTTLS", "a2 OK begin TLS now\r\n", Then::StartTls),
        ],
        tls: vec![tls("a3 LOGOUT", "* BYE\r\na3 OK bye\r\n")],
        implicit: false,
    }
}

/// `plain[1]` answers STLS.
pub fn pop3_script() -> Script {
    Script {
        banner: b"+OK POP3 ready\r\n".to_vec(),
        plain: vec![
            plain("CAPA", "+OK\r\nUSER\r\nSTLS\r\n.\r\n", Then::Continue),
            plain("STLS", "+OK begin TLS\r\n", Then::StartTls),
        ],
        tls: vec![tls("QUIT", "+OK bye\r\n")],
        implicit: false,
    }
}

pub fn smtps_script() -> Script {
    Script {
        banner: b"220 smtps.test ESMTP\r\n".to_vec(),
        tls: vec![
            tls("EHLO", "250-smtps.test\r\n250 AUTH PLAIN\r\n"),
            tls("QUIT", "221 bye\r\n"),
        ],
        implicit: true,
        ..Script::default()
    }
}

pub fn imaps_script() -> Script {
    Script {
        banner: b"* OK imaps ready\r\n".to_vec(),
        tls: vec![tls("a3 LOGOUT", "* BYE\r\na3 OK bye\r\n")],
        implicit: true,
        ..Script::default()
    }
}

pub fn pop3s_script() -> Script {
    Script {
        banner: b"+OK pop3s ready\r\n".to_vec(),
        tls: vec![tls("QUIT", "+OK bye\r\n")],
        implicit: true,
        ..Script::default()
    }
}

fn lookup<'a, T>(
    table: &'a [(&'static str, Vec<u8>, T)],
    line: &str,
) -> Option<&'a (&'static str, Vec<u8>, T)> {
    table.iter().find(|(prefix, _, _)| {
        line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
    })
}

/// Answers commands from `table` until the client closes.
async fn talk<S: AsyncRead + AsyncWrite + Unpin>(stream: S, table: &[(&'static str, Vec<u8>)]) {
    let table: Vec<_> = table.iter().map(|(p, r)| (*p, r.clone(), ())).collect();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let reply = lookup(&table, &line).map_or(&b"500 unknown\r\n"[..], |(_, r, _)| r);
        if reader.get_mut().write_all(reply).await.is_err() {
            return;
        }
    }
}

async fn handle_lines(mut stream: TcpStream, script: Arc<Script>, acceptor: TlsAcceptor) {
    if script.implicit {
        let Ok(mut tls) = acceptor.accept(stream).await else {
            return;
        };
        if tls.write_all(&script.banner).await.is_err() {
            return;
        }
        talk(tls, &script.tls).await;
        return;
    }
    if stream.write_all(&script.banner).await.is_err() {
        return;
    }
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (reply, then) = lookup(&script.plain, &line)
            .map_or((&b"500 unknown\r\n"[..], Then::Continue), |(_, r, t)| {
                (r, *t)
            });
        if reader.get_mut().write_all(reply).await.is_err() {
            return;
        }
        match then {
            Then::Continue => continue,
            Then::StartTls => break,
            Then::NotTls => {
                let mut stream = reader.into_inner();
                let mut hello = [0u8; 512];
                let _ = stream.read(&mut hello).await;
                let _ = stream.write_all(b"500 what is this?\r\n").await;
                tokio::time::sleep(Duration::from_secs(5)).await;
                return;
            }
            Then::Stall => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
        }
    }
    // The client sends nothing between our reply and its ClientHello, so the reader's
    // buffer is empty here.
    let stream = reader.into_inner();
    if let Ok(tls) = acceptor.accept(stream).await {
        talk(tls, &script.tls).await;
    }
}

/// Accepts connections on 127.0.0.1 port 0 and runs `handler` on each, in its own task.
pub async fn serve_raw<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    serve_raw_at("127.0.0.1:0", handler).await.unwrap()
}

/// [`serve_raw`] on `bind`; `None` when that address cannot be bound (no IPv6 here).
pub async fn serve_raw_at<F, Fut>(bind: &str, handler: F) -> Option<SocketAddr>
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind(bind).await.ok()?;
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handler(stream));
        }
    });
    Some(addr)
}

pub async fn serve_lines(script: Script, acceptor: TlsAcceptor) -> SocketAddr {
    serve_lines_at("127.0.0.1:0", script, acceptor)
        .await
        .unwrap()
}

pub async fn serve_lines_at(
    bind: &str,
    script: Script,
    acceptor: TlsAcceptor,
) -> Option<SocketAddr> {
    let script = Arc::new(script);
    serve_raw_at(bind, move |s| {
        handle_lines(s, script.clone(), acceptor.clone())
    })
    .await
}

/// Implicit TLS with no application dialogue: handshake, then wait for the client to go.
pub async fn serve_tls_only(acceptor: TlsAcceptor) -> SocketAddr {
    serve_raw(move |s| {
        let acceptor = acceptor.clone();
        async move {
            if let Ok(mut tls) = acceptor.accept(s).await {
                let mut buf = [0u8; 64];
                let _ = tls.read(&mut buf).await;
            }
        }
    })
    .await
}

/// How the XMPP test server answers `<starttls/>`.
#[derive(Debug, Clone, Copy)]
pub enum XmppServer {
    Proceed,
    Failure,
    /// `<proceed/>` followed by a stanza in the same write.
    Inject,
}

async fn read_until(stream: &mut TcpStream, buf: &mut Vec<u8>, needle: &[u8]) -> bool {
    let mut chunk = [0u8; 1024];
    while !buf.windows(needle.len()).any(|w| w == needle) {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 65536 {
            return false;
        }
    }
    true
}

pub async fn serve_xmpp(acceptor: TlsAcceptor, mode: XmppServer) -> SocketAddr {
    serve_raw(move |mut s| {
        let acceptor = acceptor.clone();
        async move {
            let mut buf = Vec::new();
            if !read_until(&mut s, &mut buf, b"xmlns:stream='http://etherx.jabber.org/streams'>").await {
                return;
            }
            let features = "<?xml version='1.0'?><stream:stream from='mx1.example.test' id='s1' \
                version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
                <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>\
                </starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
                <mechanism>PLAIN</mechanism></mechanisms></stream:features>";
            if s.write_all(features.as_bytes()).await.is_err() {
                return;
            }
            buf.clear();
            if !read_until(&mut s, &mut buf, b"xmpp-tls'/>").await {
                return;
            }
            let reply: &[u8] = match mode {
                XmppServer::Proceed => b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
                XmppServer::Failure => {
                    b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"
                }
                XmppServer::Inject => {
                    b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message>hi</message>"
                }
            };
            if s.write_all(reply).await.is_err() {
                return;
            }
            if let XmppServer::Proceed = mode
                && let Ok(mut tls) = acceptor.accept(s).await
            {
                let mut b = [0u8; 64];
                let _ = tls.read(&mut b).await;
            }
        }
    })
    .await
}

/// A loopback port nothing listens on (bound, then closed).
pub async fn unused_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

pub fn trust() -> TrustStore {
    TrustStore::from_pem_file(&pki("root-ca.pem")).unwrap()
}

pub async fn probe(addr: SocketAddr, protocol: Protocol, name: &str, limits: Limits) -> Probe {
    let prober = Prober::new(trust()).with_limits(limits);
    let target = Target::new(addr, protocol, name).unwrap();
    prober.probe(&target, now()).await
}

/// The session, or a panic showing the outcome and the transcript.
pub fn connected(probe: &Probe) -> &TlsSession {
    match &probe.outcome {
        ProbeOutcome::Connected(s) => s,
        other => {
            let lines: Vec<String> = probe
                .transcript
                .entries()
                .iter()
                .map(ToString::to_string)
                .collect();
            panic!(
                "{} at {}: {other:?} ({other})\n{lines:#?}",
                probe.protocol, probe.addr
            )
        }
    }
}

pub fn violation(outcome: &ProbeOutcome) -> (Phase, &Violation) {
    match outcome {
        ProbeOutcome::ProtocolViolation { phase, violation } => (*phase, violation),
        other => panic!("expected a protocol violation, got {other:?}"),
    }
}

pub fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `openssl s_server` with the fixture RSA chain on a free loopback port; killed (by its
/// PID) when dropped.
pub struct OpensslServer {
    child: Child,
    pub addr: SocketAddr,
}

impl OpensslServer {
    pub async fn start(args: &[&str]) -> OpensslServer {
        let addr = unused_port().await;
        let child = Command::new("openssl")
            .arg("s_server")
            .arg("-accept")
            .arg(addr.to_string())
            .arg("-cert")
            .arg(pki("leaf-rsa.pem"))
            .arg("-key")
            .arg(pki("leaf-rsa.key"))
            .arg("-cert_chain")
            .arg(pki("intermediate-ca.pem"))
            .arg("-quiet")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = OpensslServer { child, addr };
        // Ready when it accepts a connection (s_server serves the next one regardless).
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("openssl s_server did not start on {addr}");
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
