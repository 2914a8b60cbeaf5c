//! `dane serve-metrics` on 127.0.0.1, checking domains the loopback NSD decides by DNS alone,
//! and hostile requests: over-long lines, too many headers, slowloris, bad percent-encoding,
//! unknown or duplicate parameters, methods, bodies, absolute URLs, ports without the flag.
//! Every exposition passes `promtool check metrics`, and a real Prometheus scrapes the
//! exporter through the blackbox exporter's relabelling.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{dane, fixture, free_loopback_addr, run};
use dane_testenv::{Listening, require_tool};

/// The server process, killed (by its own handle) when the test ends.
type Server = Listening;

fn start(nsd: &dane_testenv::Nsd, extra: &[&str]) -> Server {
    let server = format!("127.0.0.1:{}", nsd.port());
    Listening::spawn(
        dane()
            .args([
                "serve-metrics",
                "--listen",
                "127.0.0.1:0",
                "--resolver",
                &server,
                "--no-iterate",
            ])
            .args(["--trust-anchor", &fixture("dns/anchors/root.ds")])
            .args(["--at", "2026-12-01T00:00:00Z", "--timeout", "5"])
            .args(extra),
        "dane serve-metrics: listening on ",
    )
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

/// The Accept header Prometheus 2 sends on every scrape.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn get_accept(addr: &str, target: &str, accept: &str) -> (u16, String) {
    send(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\n\r\n").as_bytes(),
    )
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
    let (status, text) = get_accept(
        &server.addr,
        "/probe?target=nonexistent.test&service=smtp",
        PROMETHEUS_ACCEPT,
    );
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
    assert!(text.contains("\r\nVary: Accept\r\n"), "{text}");
    assert!(text.contains("\nprobe_success 0\n"), "{text}");
    assert!(
        text.contains("\n# UNIT probe_duration_seconds seconds\n"),
        "{text}"
    );
    // Percent-encoded and defaulted module; no Accept header: the text format 0.0.4.
    let (status, text) = get(&server.addr, "/probe?target=nx%2Etest");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
        "{text}"
    );
    assert!(
        !text.contains("# EOF") && !text.contains("# UNIT"),
        "{text}"
    );
    assert!(text.contains("\nprobe_success 0\n"), "{text}");
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
            "/probe?target=nonexistent.test&modules=x",
            400,
            "unknown parameter \"modules\"",
        ),
        (
            "/probe?target=nonexistent.test&module=x",
            400,
            "unknown module \"x\"",
        ),
        (
            "/probe?target=nonexistent.test&module=smtp&service=smtp",
            400,
            "not both",
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
    let server = Listening::spawn(
        dane()
            .args([
                "serve-metrics",
                "--listen",
                "127.0.0.1:0",
                "--resolver",
                &resolver,
                // Never resolve from the (real) root servers from a test on the host.
                "--no-iterate",
            ])
            .args(["--max-checks", "1", "--deadline", "2", "--timeout", "10"]),
        "dane serve-metrics: listening on ",
    );
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

/// The body of an HTTP response (after the head).
fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// `promtool check metrics` on `text`: (passed, what it said).
fn promtool_check(promtool: &std::path::Path, text: &str) -> (bool, String) {
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && said.trim().is_empty(), said)
}

/// Every exposition the exporter and `dane verify` produce passes Prometheus's own linter:
/// /probe and /metrics in the text format, /probe in OpenMetrics, and
/// `dane verify --format openmetrics`. promtool 2.42 parses the text format only; our
/// OpenMetrics documents parse as text too as long as they hold gauges alone, which /probe
/// and verify do. The OpenMetrics /metrics has counters (`# TYPE x counter` over
/// `x_total`), which promtool reads as series without help: it is the negative control
/// here (promtool does find fault), and the real Prometheus scrape below parses it.
#[test]
fn every_output_passes_promtool() {
    let Some(promtool) = require_tool("promtool", "prometheus") else {
        return;
    };
    let nsd = dane_testenv::Nsd::start_fixtures().unwrap();
    let server = start(&nsd, &[]);
    let mut outputs = Vec::new();
    for target in [
        "/probe?target=nonexistent.test&module=smtp",
        "/probe?target=nx.nsec3.test&module=https",
        "/metrics",
    ] {
        for accept in [None, Some(PROMETHEUS_ACCEPT)] {
            let (status, text) = match accept {
                Some(a) => get_accept(&server.addr, target, a),
                None => get(&server.addr, target),
            };
            assert_eq!(status, 200, "{text}");
            let openmetrics =
                text.contains("Content-Type: application/openmetrics-text; version=1.0.0;");
            assert_eq!(openmetrics, accept.is_some(), "{text}");
            if openmetrics && target == "/metrics" {
                let (passed, said) = promtool_check(&promtool, body(&text));
                assert!(
                    !passed && said.contains("dane_exporter_checks_total no help text"),
                    "{said}"
                );
                continue;
            }
            outputs.push((
                format!("{target} (Accept {accept:?})"),
                body(&text).to_owned(),
            ));
        }
    }
    let resolver = format!("127.0.0.1:{}", nsd.port());
    let anchor = fixture("dns/anchors/root.ds");
    for domain in ["nonexistent.test", "nx.nsec.test"] {
        let r = run(&[
            "verify",
            domain,
            "--format",
            "openmetrics",
            "--resolver",
            &resolver,
            "--no-iterate",
            "--trust-anchor",
            &anchor,
            "--at",
            "2026-12-01T00:00:00Z",
            "--timeout",
            "5",
        ]);
        assert!(r.stdout.ends_with("# EOF\n"), "{r:?}");
        outputs.push((
            format!("dane verify {domain} --format openmetrics"),
            r.stdout,
        ));
    }
    for (what, text) in &outputs {
        let (passed, said) = promtool_check(&promtool, text);
        assert!(passed, "{what}: promtool says {said}\n{text}");
    }
}

/// A Prometheus process with its own config and storage, killed (by its handle) at the end.
struct Prometheus {
    child: Child,
    addr: String,
    dir: std::path::PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// GET from Prometheus's HTTP API (HTTP/1.0: no chunking); the JSON `data`.
fn prometheus_api(prometheus: &Prometheus, path_and_query: &str) -> serde_json::Value {
    let (status, text) = send(
        &prometheus.addr,
        format!("GET {path_and_query} HTTP/1.0\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 200, "{path_and_query}: {text}");
    let doc: serde_json::Value = serde_json::from_str(body(&text)).unwrap();
    assert_eq!(doc["status"], "success", "{text}");
    doc["data"].clone()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An instant query's result vector.
fn query(prometheus: &Prometheus, promql: &str) -> Vec<serde_json::Value> {
    let data = prometheus_api(
        prometheus,
        &format!("/api/v1/query?query={}", url_encode(promql)),
    );
    data["result"].as_array().cloned().unwrap_or_default()
}

fn start_prometheus(binary: &std::path::Path, exporter: &str) -> Prometheus {
    let dir = std::env::temp_dir().join(format!(
        "dane-cli-prometheus-{}-{}",
        std::process::id(),
        exporter.replace([':', '.'], "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    // The scrape configs of the blackbox exporter's README ("Prometheus Configuration"),
    // with our module names and this exporter's address.
    let config = format!(
        "global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: 'blackbox'
    metrics_path: /probe
    params:
      module: [smtp]
    static_configs:
      - targets:
        - nonexistent.test
        - nx.nsec.test
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: {exporter}  # The blackbox exporter's real hostname:port.
  - job_name: 'blackbox_exporter'  # collect blackbox exporter's operational metrics.
    static_configs:
      - targets: ['{exporter}']
"
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    for _attempt in 0..3 {
        // A port free now; Prometheus failing to bind it (a race) is retried.
        let addr = free_loopback_addr();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = std::process::Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut p = Prometheus {
            child,
            addr,
            dir: dir.clone(),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if p.child.try_wait().unwrap().is_some() {
                break; // exited: most likely the port was taken
            }
            if let Ok(mut s) = TcpStream::connect(&p.addr) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200") {
                    return p;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = p.child.kill();
        let _ = p.child.wait();
        std::mem::forget(p); // keep the directory for the next attempt
    }
    let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
    panic!("prometheus did not start:\n{log}");
}

/// A real Prometheus scrapes the exporter as it would a blackbox exporter: the README's
/// relabel rules turn each static target into `?target=` and `instance`, `module` comes
/// from `params`. Prometheus asks for OpenMetrics first, and parses it strictly: the
/// targets are up with no scrape error, the series are there under the target's
/// instance, and `probe_duration_seconds` carries its OpenMetrics unit.
#[test]
fn prometheus_scrapes_like_a_blackbox_exporter() {
    let Some(binary) = require_tool("prometheus", "prometheus") else {
        return;
    };
    let nsd = dane_testenv::Nsd::start_fixtures().unwrap();
    let server = start(&nsd, &[]);
    let prometheus = start_prometheus(&binary, &server.addr);
    let started = Instant::now();
    let wanted = ["nonexistent.test", "nx.nsec.test"];
    loop {
        let up = query(&prometheus, "up");
        let probes = query(&prometheus, "probe_success");
        if up.len() == 3 && probes.len() == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no scrape yet: up {up:?}, probe_success {probes:?}, targets {}",
            prometheus_api(&prometheus, "/api/v1/targets")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let targets = prometheus_api(&prometheus, "/api/v1/targets");
    let active = targets["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 3, "{targets}");
    for t in active {
        assert_eq!(t["health"], "up", "{t}");
        assert_eq!(t["lastError"], "", "{t}");
    }
    for r in query(&prometheus, "probe_success") {
        let instance = r["metric"]["instance"].as_str().unwrap();
        assert!(wanted.contains(&instance), "{r}");
        assert_eq!(r["metric"]["job"], "blackbox", "{r}");
        assert_eq!(r["value"][1], "0", "not DANE-verified: {r}");
    }
    assert_eq!(query(&prometheus, "probe_duration_seconds").len(), 2);
    let verdicts = query(
        &prometheus,
        "dane_domain_verdict{job=\"blackbox\",state=\"nonexistent\",service=\"smtp\"} == 1",
    );
    let mut instances: Vec<&str> = verdicts
        .iter()
        .map(|r| r["metric"]["instance"].as_str().unwrap())
        .collect();
    instances.sort_unstable();
    assert_eq!(instances, wanted, "{verdicts:?}");
    // The exporter's own series is scraped on its own schedule: a scrape taken before the
    // second check finished counts one; wait (bounded) for a later scrape.
    let mut own = Vec::new();
    let mut checks = 0.0;
    for _ in 0..30 {
        own = query(
            &prometheus,
            "dane_exporter_checks_total{job=\"blackbox_exporter\"}",
        );
        assert_eq!(own.len(), 1, "{own:?}");
        checks = own[0]["value"][1].as_str().unwrap().parse().unwrap();
        if checks >= 2.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(checks >= 2.0, "{own:?}");
    // The unit is only in OpenMetrics: Prometheus parsed that format.
    let metadata = prometheus_api(
        &prometheus,
        "/api/v1/metadata?metric=probe_duration_seconds",
    );
    assert_eq!(
        metadata["probe_duration_seconds"][0]["unit"], "seconds",
        "{metadata}"
    );
}

/// `--log-requests` and SIGTERM: one line per request on stderr; on SIGTERM the exporter
/// stops accepting, lets the running check finish, says so and exits 0.
#[test]
fn requests_are_logged_and_sigterm_stops_cleanly() {
    use std::io::BufRead as _;
    let nsd = dane_testenv::Nsd::start_fixtures().unwrap();
    let server = format!("127.0.0.1:{}", nsd.port());
    let mut child = dane()
        .args([
            "serve-metrics",
            "--listen",
            "127.0.0.1:0",
            "--resolver",
            &server,
        ])
        .args(["--no-iterate", "--log-requests"])
        .args(["--trust-anchor", &fixture("dns/anchors/root.ds")])
        .args(["--at", "2026-12-01T00:00:00Z", "--timeout", "5"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || lines.recv_timeout(Duration::from_secs(30)).expect("a line");
    let first = next();
    let addr = first
        .strip_prefix("dane serve-metrics: listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let (status, _) = get(&addr, "/probe?target=nonexistent.test&module=smtp");
    assert_eq!(status, 200);
    let logged = next();
    assert!(
        logged.starts_with("dane serve-metrics: request time=")
            && logged.contains(" peer=127.0.0.1:")
            && logged.contains(
                " method=GET path=/probe target=nonexistent.test module=smtp status=200 duration="
            ),
        "{logged}"
    );
    let (status, _) = get(&addr, "/nowhere");
    assert_eq!(status, 404);
    assert!(next().contains(" path=/nowhere target=- module=- status=404 "));
    // SIGTERM, sent to this child by its process id.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopping = next();
    assert!(
        stopping.starts_with("dane serve-metrics: SIGTERM: no new connections"),
        "{stopping}"
    );
    let done = next();
    assert_eq!(
        done,
        "dane serve-metrics: shut down on SIGTERM (0 connection(s) abandoned unfinished)"
    );
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "still running");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0));
    assert!(
        TcpStream::connect(&addr).is_err(),
        "nothing listens any more"
    );
}

/// A connection from `source`, a loopback address other than 127.0.0.1 (all of 127/8 is
/// local on Linux), so that the per-peer cap sees another peer than Prometheus.
fn connect_from(source: &str, to: &str) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let from: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&from.into())?;
    let to: std::net::SocketAddr = to.parse().unwrap();
    socket.connect_timeout(&to.into(), Duration::from_secs(5))?;
    Ok(socket.into())
}

/// A real Prometheus keeps scraping while a slowloris client on 127.0.0.2 keeps up to 64
/// idle connections open (refreshing those the exporter closes): the per-peer cap leaves the
/// other slots to Prometheus, so every scrape over several seconds succeeds.
#[test]
fn prometheus_scrapes_through_a_slowloris() {
    let Some(binary) = require_tool("prometheus", "prometheus") else {
        return;
    };
    let nsd = dane_testenv::Nsd::start_fixtures().unwrap();
    let server = start(
        &nsd,
        &[
            "--max-connections",
            "16",
            "--max-connections-per-peer",
            "4",
            "--header-timeout",
            "2",
        ],
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = {
        let (addr, stop) = (server.addr.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            let mut opened = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Drop what the exporter closed, open new ones up to 64.
                held.retain(|s| {
                    let mut b = [0u8; 1];
                    s.set_nonblocking(true).unwrap();
                    let alive = matches!(
                        (&*s).read(&mut b),
                        Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock
                    );
                    s.set_nonblocking(false).unwrap();
                    alive
                });
                // At most 16 new ones a round: the exporter closes those over the cap at
                // once, and reopening them in a tight loop would load the machine (and
                // the other tests on it) rather than the exporter.
                for _ in 0..16 {
                    if held.len() >= 64 {
                        break;
                    }
                    let Ok(mut s) = connect_from("127.0.0.2", &addr) else {
                        break;
                    };
                    let _ = s.write_all(b"GET /probe?target=");
                    held.push(s);
                    opened += 1;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            opened
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let prometheus = start_prometheus(&binary, &server.addr);
    // Scrapes every second: wait until 6 s of them are in, then none may have failed.
    let started = Instant::now();
    loop {
        let counts = query(&prometheus, "count_over_time(up[30s])");
        let enough = counts.len() == 3
            && counts
                .iter()
                .all(|r| r["value"][1].as_str().unwrap().parse::<f64>().unwrap() >= 6.0);
        if enough {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not enough scrapes: {counts:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let worst = query(&prometheus, "min_over_time(up[30s])");
    assert_eq!(worst.len(), 3, "{worst:?}");
    for r in &worst {
        assert_eq!(
            r["value"][1], "1",
            "a scrape failed under the slowloris: {r}"
        );
    }
    let refused = query(
        &prometheus,
        "dane_exporter_connections_refused_total{reason=\"per-peer\"}",
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let opened = attacker.join().unwrap();
    assert!(opened >= 64, "the attacker opened {opened}");
    assert_eq!(refused.len(), 1, "{refused:?}");
    let n: f64 = refused[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(n > 0.0, "the per-peer cap refused nothing: {refused:?}");
}

/// Issue 26: `GET /` is a form for `/report` (no script); `/report` answers the same check
/// as `/probe` as one self-contained HTML page with the policy header; a bad target and an
/// unknown module are 400 with the reason.
#[test]
fn report_pages_and_the_form() {
    let nsd = dane_testenv::Nsd::start_fixtures().unwrap();
    let server = start(&nsd, &[]);
    let (status, text) = get(&server.addr, "/");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("Content-Type: text/html; charset=utf-8\r\n"),
        "{text}"
    );
    assert!(
        text.contains("<form method=\"get\" action=\"/report\">")
            && text.contains("name=\"target\"")
            && text.contains("<option>smtp</option>")
            && !text.contains("<script"),
        "{text}"
    );
    let (status, text) = get(&server.addr, "/report?target=nonexistent.test&module=smtp");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("Content-Type: text/html; charset=utf-8\r\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:\r\n"
        ),
        "{text}"
    );
    let page = body(&text);
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("<svg") && page.contains("nonexistent.test.: nonexistent"));
    // The picture has the chain of trust of the denial.
    assert!(page.contains("NXDOMAIN"), "{page}");
    for (target, reason) in [
        ("/report?target=exa%20mple.test", "target: "),
        (
            "/report?target=example.test&module=gopher",
            "unknown module \"gopher\"",
        ),
        ("/report", "target"),
    ] {
        let (status, text) = get(&server.addr, target);
        assert_eq!(status, 400, "{target}: {text}");
        assert!(body(&text).contains(reason), "{target}: {text}");
    }
    let (_, text) = get(&server.addr, "/metrics");
    assert!(text.contains("dane_exporter_checks_total 1"), "{text}");
}

/// `--ca-families FILE` on serve-metrics: read at start, so a malformed list stops the
/// server before it listens (exit 2, one line naming the flag and the file); a good list
/// serves as usual.
#[test]
fn ca_families_are_read_at_start() {
    let bad = crate::common::temp_file("serve-families-bad.json", b"{\"format\":1}");
    let r = run(&[
        "serve-metrics",
        "--listen",
        "127.0.0.1:0",
        "--ca-families",
        &bad,
    ]);
    crate::common::assert_one_line_error(&r, &format!("--ca-families {bad}: missing field"));
    assert!(!r.stderr.contains("listening"), "{}", r.stderr);

    let nsd = dane_testenv::Nsd::start_fixtures().unwrap();
    let good = crate::common::temp_file("serve-families.json", crate::common::FAMILY_LIST);
    let server = start(&nsd, &["--ca-families", &good]);
    let (status, text) = get(&server.addr, "/probe?target=nx.nsec.test");
    assert_eq!(status, 200, "{text}");
}
