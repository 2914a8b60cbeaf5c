//! `dane probe` against SMTP servers on 127.0.0.1 run by this test process (std threads and
//! a rustls acceptor with the fixture PKI): the text report, `--pem`, `--json` parsed into
//! test-local types, exit codes, and every bad-input case.

use std::io::{BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use crate::common::{fixture, fixture_text, run};

fn pki(name: &str) -> String {
    fixture(&format!("pki/{name}"))
}

/// openssl-computed `x 1 1` data (lower-case hex) from fixtures/pki/golden/certs.txt.
fn spki_sha256(cert: &str) -> String {
    fixture_text("pki/golden/certs.txt")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{cert}.pem 1 1 ")))
        .unwrap_or_else(|| panic!("no golden for {cert}"))
        .to_owned()
}

// ------------------------------------------------------------------------------ servers

/// How the test SMTP server behaves.
#[derive(Debug, Clone, Copy)]
enum Server {
    /// STARTTLS, then the fixture RSA chain.
    Smtp,
    /// STARTTLS offered, answered with this reply.
    RefuseStartTls(&'static str),
    /// Accepts and never says anything.
    Silent,
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    let chain = CertificateDer::pem_file_iter(pki("chain-rsa.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(pki("leaf-rsa.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    Arc::new(config)
}

/// Serves `kind` on 127.0.0.1 port 0, one thread per connection, until the process ends.
fn serve(kind: Server) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let _ = handle(kind, stream);
            });
        }
    });
    addr
}

fn read_line(r: &mut impl std::io::BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    Ok(line.to_ascii_uppercase())
}

fn handle(kind: Server, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    if let Server::Silent = kind {
        let mut buf = [0u8; 16];
        while stream.read(&mut buf)? > 0 {}
        return Ok(());
    }
    stream.write_all(b"220 mx1.example.test ESMTP test\r\n")?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let line = read_line(&mut reader)?;
        if line.is_empty() {
            return Ok(());
        } else if line.starts_with("EHLO") {
            stream.write_all(b"250-mx1.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")?;
        } else if line.starts_with("STARTTLS") {
            if let Server::RefuseStartTls(reply) = kind {
                stream.write_all(reply.as_bytes())?;
                continue;
            }
            stream.write_all(b"220 2.0.0 ready\r\n")?;
            break;
        } else {
            stream.write_all(b"500 unknown\r\n")?;
        }
    }
    let conn = rustls::ServerConnection::new(tls_config()).map_err(std::io::Error::other)?;
    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, stream));
    loop {
        let line = read_line(&mut tls)?;
        if line.is_empty() {
            return Ok(());
        } else if line.starts_with("EHLO") {
            tls.get_mut()
                .write_all(b"250-mx1.example.test\r\n250 SIZE 1000\r\n")?;
        } else if line.starts_with("QUIT") {
            tls.get_mut().write_all(b"221 bye\r\n")?;
            return Ok(());
        }
    }
}

fn unused_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// `dane probe mx1.example.test:PORT --ip 127.0.0.1 --ca-file root --at 2030-01-01 EXTRA`.
fn probe(addr: SocketAddr, extra: &[&str]) -> crate::common::Run {
    let target = format!("mx1.example.test:{}", addr.port());
    let root = pki("root-ca.pem");
    let mut args = vec![
        "probe",
        &target,
        "--ip",
        "127.0.0.1",
        "--starttls",
        "smtp",
        "--ca-file",
        &root,
        "--at",
        "2030-01-01",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

// --------------------------------------------------------------------- the JSON schema

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    version: u32,
    host: String,
    port: u16,
    address: String,
    protocol: String,
    sni: Option<String>,
    outcome: Outcome,
    tls: Option<Tls>,
    chain: Vec<Cert>,
    pkix: Option<Pkix>,
    tlsa: Vec<Tlsa>,
    tlsa_note: Option<String>,
    transcript: Vec<Entry>,
    transcript_dropped: usize,
    exit: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Outcome {
    kind: String,
    phase: Option<String>,
    message: String,
    reply: Option<Reply>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    code: String,
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tls {
    version: String,
    cipher_suite: String,
    key_exchange_group: Option<String>,
    alpn: Option<String>,
    capabilities: Vec<String>,
    capabilities_after_tls: Vec<String>,
    after_tls_problem: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Cert {
    position: usize,
    parse_error: Option<String>,
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
    pem: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pkix {
    valid: bool,
    anchor: Option<String>,
    reason: Option<String>,
    trust: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tlsa {
    owner: Option<String>,
    usage: u8,
    selector: u8,
    matching_type: u8,
    data: String,
    line: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    direction: String,
    tls: bool,
    text: String,
}

/// The `--json` document, read from the consumer's side after it passed its JSON Schema
/// (schemas/dane-probe.schema.json, closed).
fn json(r: &crate::common::Run) -> Report {
    dane_testenv::schema::assert_valid_one("probe", "dane probe --json", &r.stdout);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

// ------------------------------------------------------------------------------- tests

#[test]
fn probe_text_report_shows_chain_tls_pkix_and_tlsa_lines() {
    let addr = serve(Server::Smtp);
    let r = probe(addr, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stderr, "");
    let port = addr.port();
    let leaf = spki_sha256("leaf-rsa").to_ascii_uppercase();
    let issuer = spki_sha256("intermediate-ca").to_ascii_uppercase();
    for expected in [
        format!("probe mx1.example.test at 127.0.0.1:{port} (smtp, SNI mx1.example.test)"),
        "ok: connected: TLSv1.3 TLS13_AES_256_GCM_SHA384, 2 certificate(s) presented".into(),
        "capabilities before TLS: PIPELINING STARTTLS".into(),
        "capabilities inside TLS: SIZE 1000".into(),
        "certificate 0 (leaf)".into(),
        "  subject:     C=ZZ, O=dane test PKI, CN=mx1.example.test".into(),
        "  issuer:      C=ZZ, O=dane test PKI, CN=dane test intermediate CA".into(),
        "  SANs:        DNS:mx1.example.test".into(),
        "  validity:    2026-11-22T09:33:00Z .. 2036-11-19T09:33:00Z".into(),
        "  key:         RSA 2048 bits".into(),
        format!("  SPKI SHA-256: {}", spki_sha256("leaf-rsa")),
        "  key:         EC P-256 256 bits, CA".into(),
        format!(
            "PKIX (CA file {}): valid (anchor C=ZZ, O=dane test PKI, CN=dane test root CA)",
            pki("root-ca.pem")
        ),
        format!("_{port}._tcp.mx1.example.test. IN TLSA 3 1 1 {leaf}"),
        format!("_{port}._tcp.mx1.example.test. IN TLSA 2 1 1 {issuer}"),
        "  S: 220 mx1.example.test ESMTP test".into(),
        "  C: STARTTLS".into(),
        "  C: [tls] QUIT".into(),
    ] {
        assert!(
            r.stdout.lines().any(|l| l == expected),
            "{expected:?} missing in\n{}",
            r.stdout
        );
    }
}

#[test]
fn probe_json_is_one_versioned_document() {
    let addr = serve(Server::Smtp);
    let r = probe(addr, &["--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = json(&r);
    assert_eq!(doc.version, 1);
    assert_eq!(
        (doc.host.as_str(), doc.port),
        ("mx1.example.test", addr.port())
    );
    assert_eq!(doc.address, format!("127.0.0.1:{}", addr.port()));
    assert_eq!(
        (doc.protocol.as_str(), doc.sni.as_deref()),
        ("smtp", Some("mx1.example.test"))
    );
    assert_eq!(
        (doc.outcome.kind.as_str(), doc.outcome.phase),
        ("connected", None)
    );
    assert!(doc.outcome.message.starts_with("connected: TLSv1.3"));
    assert!(doc.outcome.reply.is_none());
    let tls = doc.tls.unwrap();
    assert_eq!(tls.version, "TLSv1.3");
    assert!(tls.cipher_suite.starts_with("TLS13_"));
    assert!(tls.key_exchange_group.is_some());
    assert_eq!(tls.alpn, None);
    assert_eq!(tls.capabilities, ["PIPELINING", "STARTTLS"]);
    assert_eq!(tls.capabilities_after_tls, ["SIZE 1000"]);
    assert_eq!(tls.after_tls_problem, None);
    assert_eq!(doc.chain.len(), 2);
    let leaf = &doc.chain[0];
    assert_eq!((leaf.position, leaf.parse_error.as_deref()), (0, None));
    assert_eq!(leaf.subject, "C=ZZ, O=dane test PKI, CN=mx1.example.test");
    assert_eq!(
        leaf.issuer,
        "C=ZZ, O=dane test PKI, CN=dane test intermediate CA"
    );
    assert_eq!(leaf.sans, ["DNS:mx1.example.test"]);
    assert_eq!(
        (leaf.not_before.as_str(), leaf.not_after.as_str()),
        ("2026-11-22T09:33:00Z", "2036-11-19T09:33:00Z")
    );
    assert_eq!(
        (leaf.key_type.as_str(), leaf.key_bits, leaf.is_ca),
        ("RSA", Some(2048), false)
    );
    assert_eq!(leaf.spki_sha256, spki_sha256("leaf-rsa"));
    let golden_cert = fixture_text("pki/golden/certs.txt")
        .lines()
        .find_map(|l| l.strip_prefix("leaf-rsa.pem 0 1 ").map(str::to_owned))
        .unwrap();
    assert_eq!(leaf.cert_sha256, golden_cert);
    assert_eq!(leaf.pem, fixture_text("pki/leaf-rsa.pem"));
    assert!(doc.chain[1].is_ca);
    let pkix = doc.pkix.unwrap();
    assert!(pkix.valid && pkix.reason.is_none(), "{pkix:?}");
    assert_eq!(
        pkix.anchor.as_deref(),
        Some("C=ZZ, O=dane test PKI, CN=dane test root CA")
    );
    assert!(pkix.trust.contains("root-ca.pem"));
    let owner = format!("_{}._tcp.mx1.example.test.", addr.port());
    let tlsa: Vec<_> = doc
        .tlsa
        .iter()
        .map(|t| {
            (
                t.owner.as_deref(),
                t.usage,
                t.selector,
                t.matching_type,
                t.data.as_str(),
            )
        })
        .collect();
    assert_eq!(
        tlsa,
        [
            (
                Some(owner.as_str()),
                3,
                1,
                1,
                spki_sha256("leaf-rsa").as_str()
            ),
            (
                Some(owner.as_str()),
                2,
                1,
                1,
                spki_sha256("intermediate-ca").as_str()
            ),
        ]
    );
    assert!(
        doc.tlsa[0]
            .line
            .starts_with(&format!("{owner} IN TLSA 3 1 1 "))
    );
    assert_eq!(doc.tlsa_note, None);
    let sent: Vec<_> = doc
        .transcript
        .iter()
        .filter(|e| e.direction == "sent")
        .map(|e| (e.tls, e.text.as_str()))
        .collect();
    assert_eq!(sent[1], (false, "STARTTLS"));
    assert_eq!(sent.last(), Some(&(true, "QUIT")));
    assert_eq!(doc.transcript_dropped, 0);
    assert_eq!(doc.exit, 0);
}

#[test]
fn probe_pem_writes_the_chain_as_presented() {
    let addr = serve(Server::Smtp);
    let r = probe(addr, &["--pem"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, fixture_text("pki/chain-rsa.pem"));
}

#[test]
fn probe_sigalgs_offers_one_family() {
    // The server holds only the RSA chain: offering only RSA gets it, offering only ECDSA
    // or EdDSA gets none (the server has no certificate for them: a definite failure).
    let addr = serve(Server::Smtp);
    let r = probe(addr, &["--pem", "--sigalgs", "rsa"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, fixture_text("pki/chain-rsa.pem"));
    for family in ["ecdsa", "eddsa"] {
        let r = probe(addr, &["--json", "--sigalgs", family]);
        assert_eq!(r.code, 1, "{family}: {}", r.stdout);
        let doc = json(&r);
        assert!(doc.chain.is_empty(), "{family}");
        assert!(
            doc.transcript
                .iter()
                .any(|e| e.text.contains("offering only")),
            "{family}"
        );
    }
    let r = run(&["probe", "mx.example", "--sigalgs", "dsa"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn probe_failures_have_typed_outcomes_and_exit_codes() {
    // STARTTLS refused: a definite failure (1), with the server's reply.
    let addr = serve(Server::RefuseStartTls("454 4.7.0 TLS not available\r\n"));
    let r = probe(addr, &["--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = json(&r);
    assert_eq!(
        (doc.outcome.kind.as_str(), doc.outcome.phase.as_deref()),
        ("starttls-refused", Some("starttls"))
    );
    let reply = doc.outcome.reply.unwrap();
    assert_eq!(
        (reply.code.as_str(), reply.text.as_str()),
        ("454", "4.7.0 TLS not available")
    );
    assert!(doc.tls.is_none() && doc.chain.is_empty() && doc.pkix.is_none() && doc.tlsa.is_empty());
    assert_eq!(doc.exit, 1);
    let text = probe(addr, &[]);
    assert_eq!(text.code, 1);
    assert!(
        text.stdout
            .contains("failed: STARTTLS offered but refused (454 4.7.0 TLS not available)"),
        "{}",
        text.stdout
    );

    // A silent server: a timeout, indeterminate (3).
    let addr = serve(Server::Silent);
    let r = probe(addr, &["--json", "--timeout", "0.5"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let doc = json(&r);
    assert_eq!(
        (doc.outcome.kind.as_str(), doc.outcome.phase.as_deref()),
        ("timeout", Some("banner"))
    );

    // Nothing listening: refused, indeterminate (3); --pem says why on stderr only.
    let addr = unused_port();
    let r = probe(addr, &["--json"]);
    assert_eq!(r.code, 3);
    assert_eq!(json(&r).outcome.kind, "refused");
    let r = probe(addr, &["--pem"]);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""));
    assert!(
        r.stderr
            .starts_with("dane: mx1.example.test: connection refused"),
        "{}",
        r.stderr
    );
}

#[test]
fn probe_resolves_with_the_system_resolver() {
    // `localhost` comes from /etc/hosts; -4 keeps it to 127.0.0.1 where the server is.
    let addr = serve(Server::Smtp);
    let target = format!("localhost:{}", addr.port());
    let r = run(&["probe", &target, "-4", "--starttls", "smtp", "--json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let doc = json(&r);
    assert_eq!(doc.address, format!("127.0.0.1:{}", addr.port()));
    assert_eq!(doc.sni.as_deref(), Some("localhost"));
    // webpki-roots do not know the test PKI: connected all the same, PKIX invalid.
    let pkix = doc.pkix.unwrap();
    assert!(!pkix.valid, "{pkix:?}");
    assert!(pkix.trust.contains("webpki-roots"), "{}", pkix.trust);
}

#[test]
fn probe_bad_input_is_exit_2_with_empty_stdout() {
    let missing = pki("no-such-file.pem");
    let not_pem = pki("leaf-rsa.key");
    let cases: &[(&[&str], &str)] = &[
        (
            &["probe", "mx.example:0"],
            "port must be a number from 1 to 65535",
        ),
        (
            &["probe", "mx.example:99999"],
            "port must be a number from 1 to 65535",
        ),
        (&["probe", "[2001:db8::1"], "missing ']'"),
        (&["probe", ":25"], "no host name"),
        (&["probe", "bad name!"], "not a valid server name"),
        (
            &["probe", "mx.example", "--timeout", "0"],
            "--timeout 0: must be more than 0",
        ),
        (
            &["probe", "mx.example", "--timeout=-1"],
            "--timeout -1: must be more than 0",
        ),
        (
            &["probe", "mx.example", "--timeout", "7200"],
            "at most 3600 seconds",
        ),
        (
            &["probe", "mx.example", "--timeout", "soon"],
            "invalid value 'soon'",
        ),
        (&["probe", "mx.example", "--ca-file", &missing], "--ca-file"),
        (
            &["probe", "mx.example", "--ca-file", &not_pem],
            "no PEM CERTIFICATE blocks",
        ),
        (&["probe", "mx.example", "--at", "tomorrow"], "--at"),
        (
            &["probe", "mx.example", "--starttls", "ftp"],
            "invalid value 'ftp'",
        ),
        (
            &["probe", "mx.example", "--ip", "not-an-ip"],
            "invalid value 'not-an-ip'",
        ),
        (
            &["probe", "mx.example", "--ip", "127.0.0.1", "-4"],
            "cannot be used with",
        ),
        (&["probe", "mx.example", "-4", "-6"], "cannot be used with"),
        (
            &["probe", "mx.example", "--pem", "--json"],
            "cannot be used with",
        ),
        (&["probe"], "required"),
    ];
    for (args, message) in cases {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
        assert!(
            r.stderr.contains(message),
            "{args:?}: {message:?} not in {}",
            r.stderr
        );
    }
    // A name that cannot be resolved: no address to probe, indeterminate. The system
    // resolver is asked (that is what `dane probe` uses), so the run is put in an empty
    // network namespace (`unshare --net`, root): the host's resolver is never contacted.
    let isolated = Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if isolated {
        let out = Command::new("unshare")
            .arg("--net")
            .arg(env!("CARGO_BIN_EXE_dane"))
            .args(["probe", "no-such-host.invalid", "--timeout", "2"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(
            (out.status.code(), stdout.as_ref()),
            (Some(3), ""),
            "{stderr}"
        );
        assert!(
            stderr.starts_with("dane: no-such-host.invalid: "),
            "{stderr}"
        );
    } else if std::env::var_os("CI").is_some() {
        panic!("unshare --net failed: the unresolvable-name case needs root");
    } else {
        eprintln!("NOTICE: unshare --net unavailable (not root): unresolvable-name case skipped");
    }
    // An address of the wrong family for -6: no address to probe, indeterminate.
    let r = run(&["probe", "127.0.0.1", "-6"]);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""), "{}", r.stderr);
    assert!(
        r.stderr.contains("not an address of the family"),
        "{}",
        r.stderr
    );
}
