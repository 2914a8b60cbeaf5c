//! `dane serve-metrics` on 127.0.0.1, checking domains the loopback NSD decides by DNS alone,
//! and hostile requests: over-long lines, too many headers, slowloris, bad percent-encoding,
//! unknown or duplicate parameters, methods, bodies, absolute URLs, ports without the flag.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{dane, fixture};

/// The server process, killed (by its own handle) when the test ends.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(nsd: &dane_testenv::Nsd, extra: &[&str]) -> Server {
    let server = format!("127.0.0.1:{}", nsd.port());
    let mut child = dane()
        .args([
            "serve-metrics",
            "--listen",
            "127.0.0.1:0",
            "--resolver",
            &server,
        ])
        .args(["--trust-anchor", &fixture("dns/anchors/root.ds")])
        .args(["--at", "2026-12-01T00:00:00Z", "--timeout", "5"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("dane serve-metrics: listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    Server { child, addr }
}

/// Sends `raw` and returns (status, whole response).
fn send(addr: &str, raw: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The server may answer and close before reading everything (an over-long request).
    let _ = s.write_all(raw);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    (status, text)
}

fn get(addr: &str, target: &str) -> (u16, String) {
    send(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\n\r\n").as_bytes(),
    )
}

#[test]
fn probe_answers_openmetrics() {
    let nsd = dane_testenv::Nsd::start_fixtures().unwrap();
    let server = start(&nsd, &[]);
    let (status, text) = get(&server.addr, "/probe?target=nonexistent.test&service=smtp");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("Content-Type: application/openmetrics-text; version=1.0.0"),
        "{text}"
    );
    assert!(text.contains("Connection: close\r\n"), "{text}");
    assert!(
        text.contains("dane_domain_verdict{domain=\"nonexistent.test.\",service=\"smtp\",state=\"nonexistent\"} 1"),
        "{text}"
    );
    assert!(text.contains("dane_dnssec_status{"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    // Percent-encoded and defaulted service.
    let (status, text) = get(&server.addr, "/probe?target=nx%2Etest");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("domain=\"nx.test.\",service=\"smtp\""),
        "{text}"
    );
    let (status, text) = get(&server.addr, "/metrics");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("dane_exporter_checks_total 2"), "{text}");
    assert!(
        text.contains("dane_exporter_requests_total{code=\"200\"} 2"),
        "{text}"
    );
}

#[test]
fn hostile_and_unknown_requests_are_refused() {
    let nsd = dane_testenv::Nsd::start_fixtures().unwrap();
    let server = start(&nsd, &["--header-timeout", "1"]);
    let cases: &[(&str, u16, &str)] = &[
        (
            "/probe?target=nonexistent.test&module=x",
            400,
            "unknown parameter \"module\"",
        ),
        ("/probe?target=a.test&target=b.test", 400, "given twice"),
        ("/probe?target=%zz", 400, "bad percent-encoding"),
        ("/probe?target=%4", 400, "bad percent-encoding"),
        ("/probe?target=%ff%fe", 400, "not UTF-8"),
        (
            "/probe?target=nonexistent.test&port=25",
            400,
            "needs --allow-ports",
        ),
        (
            "/probe?target=nonexistent.test&service=gopher",
            400,
            "unknown service",
        ),
        ("/probe?target=a..test", 400, "target:"),
        ("/probe?target=192.0.2.1:25", 400, "target:"),
        ("/probe", 400, "missing parameter \"target\""),
        ("/probe/../etc/passwd", 404, "not found"),
        ("/other", 404, "not found"),
        ("http://evil.example/probe?target=x", 400, "must be a path"),
    ];
    for (target, status, says) in cases {
        let (got, text) = get(&server.addr, target);
        assert_eq!(got, *status, "{target}: {text}");
        assert!(text.contains(says), "{target}: {text}");
        assert!(!text.contains("Location:"), "never a redirect: {text}");
    }
    let raw: &[(&[u8], u16)] = &[
        (b"POST /probe?target=x HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (b"GET /probe?target=nonexistent.test HTTP/1.1\r\n\r\n", 400),
        (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            413,
        ),
        (
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        (
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n",
            400,
        ),
        (b"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ];
    for (request, status) in raw {
        let (got, text) = send(&server.addr, request);
        assert_eq!(
            got,
            *status,
            "{:?}: {text}",
            String::from_utf8_lossy(request)
        );
    }
    let long = format!(
        "GET /probe?target={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(10_000)
    );
    assert_eq!(send(&server.addr, long.as_bytes()).0, 414);
    let many: String = (0..40).map(|i| format!("X-H{i}: v\r\n")).collect();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_eq!(send(&server.addr, request.as_bytes()).0, 431);
    let big: String = (0..20)
        .map(|i| format!("X-H{i}: {}\r\n", "v".repeat(600)))
        .collect();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{big}\r\n");
    assert_eq!(send(&server.addr, request.as_bytes()).0, 431);

    // Slowloris: a head that never ends is cut off at --header-timeout.
    let started = Instant::now();
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 408 "), "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // The server is still healthy after all of that.
    assert_eq!(get(&server.addr, "/probe?target=nonexistent.test").0, 200);
}

#[test]
fn ports_only_with_the_flag() {
    let nsd = dane_testenv::Nsd::start_fixtures().unwrap();
    let server = start(&nsd, &["--allow-ports"]);
    let (status, text) = get(
        &server.addr,
        "/probe?target=nx.nsec.test&port=8443&starttls=none",
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("service=\"custom\""), "{text}");
    let (status, text) = get(&server.addr, "/probe?target=nx.nsec.test&port=0");
    assert_eq!(status, 400, "{text}");
    let (status, text) = get(&server.addr, "/probe?target=nx.nsec.test&starttls=smtp");
    assert_eq!(status, 400, "{text}");
}

/// A resolver that never answers (a UDP socket the test holds and never reads) makes every
/// check slow: the second of two concurrent checks over --max-checks 1 gets 503, and the
/// first ends at --deadline as indeterminate.
#[test]
fn checks_are_limited_and_deadlined() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let resolver = silent.local_addr().unwrap().to_string();
    let mut child = dane()
        .args([
            "serve-metrics",
            "--listen",
            "127.0.0.1:0",
            "--resolver",
            &resolver,
            // Never resolve from the (real) root servers from a test on the host.
            "--no-iterate",
        ])
        .args(["--max-checks", "1", "--deadline", "2", "--timeout", "10"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_owned();
    let server = Server { child, addr };
    let first = {
        let addr = server.addr.clone();
        std::thread::spawn(move || get(&addr, "/probe?target=example.test"))
    };
    std::thread::sleep(Duration::from_millis(500));
    let (status, text) = get(&server.addr, "/probe?target=example.test");
    assert_eq!(status, 503, "{text}");
    let started = Instant::now();
    let (status, text) = first.join().unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("dane_domain_verdict{domain=\"example.test.\",service=\"smtp\",state=\"indeterminate\"} 1"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(silent);
}
