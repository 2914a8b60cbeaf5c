//! `--output FILE` (verify, dnssec, scan): the result replaces FILE atomically whatever the
//! verdict, the exit code is the one without `--output`, and an error (exit 2) leaves FILE
//! as it was. The textfile recipe of docs/monitoring.md, read by a real node_exporter while the
//! check flips between verified and failed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{fixture, free_loopback_addr, run};

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dane-output-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The recorded ee311.test run: verified at its recording time, failed once its signatures
/// have expired (`--at 2030-01-01`).
fn ee311() -> String {
    dane_testenv::interop::interop_dir()
        .join("evidence/ee311.test.json")
        .display()
        .to_string()
}

/// `dane verify` of the recorded run, verified or (expired signatures) failed.
fn verify(verified: bool, extra: &[&str]) -> crate::common::Run {
    let file = ee311();
    let mut args = vec!["verify", "--evidence", &file];
    if !verified {
        args.extend(["--at", "2030-01-01"]);
    }
    args.extend_from_slice(extra);
    run(&args)
}

fn only_file(dir: &Path) -> String {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
    names[0].clone()
}

#[test]
fn a_failing_check_replaces_a_verified_file_in_every_format() {
    let dir = scratch("verify");
    let path = dir.join("dane.prom");
    let out = path.to_str().unwrap();
    for (format, verified_says, failed_says) in [
        (
            "openmetrics",
            "state=\"verified\"} 1",
            "state=\"failed\"} 1",
        ),
        (
            "json",
            "\"verdict\": \"verified\"",
            "\"verdict\": \"failed\"",
        ),
        ("text", "ee311.test.: VERIFIED", "ee311.test.: FAILED"),
        ("nagios", "DANE OK - ", "DANE CRITICAL - "),
    ] {
        let plain = verify(true, &["--format", format]);
        let r = verify(true, &["--format", format, "--output", out]);
        assert_eq!(r.code, plain.code, "{format}: {r:?}");
        assert_eq!(r.stdout, "", "{format}: nothing on stdout");
        let written = std::fs::read_to_string(&path).unwrap();
        // The same as on stdout, but for the time the check took.
        let timeless = |s: &str| {
            s.lines()
                .filter(|l| !l.starts_with("dane_probe_duration_seconds{"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(timeless(&written), timeless(&plain.stdout), "{format}");
        assert!(written.contains(verified_says), "{format}: {written}");
        // The failure is published: it replaces the verified file, exit code unchanged.
        let plain = verify(false, &["--format", format]);
        let r = verify(false, &["--format", format, "--output", out]);
        assert_ne!(r.code, 0, "{format}: {r:?}");
        assert_eq!(r.code, plain.code, "{format}: {r:?}");
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.contains(failed_says), "{format}: {written}");
        assert!(!written.contains(verified_says), "{format}: {written}");
        assert_eq!(only_file(&dir), "dane.prom");
    }
    // A usage error (exit 2) leaves the last result alone.
    let before = std::fs::read_to_string(&path).unwrap();
    let file = ee311();
    for bad in [
        vec![
            "verify",
            "--evidence",
            &file,
            "--at",
            "tomorrow",
            "--output",
            out,
        ],
        vec!["verify", "--evidence", "/nonexistent.json", "--output", out],
        vec![
            "verify",
            "--evidence",
            &file,
            "--warn-days",
            "x",
            "--output",
            out,
        ],
    ] {
        let r = run(&bad);
        assert_eq!(r.code, 2, "{bad:?}: {r:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "{bad:?}");
    }
    // A directory or a missing directory is refused before the check.
    let r = verify(true, &["--output", dir.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--output"), "{r:?}");
    let missing = dir.join("no/such/dane.prom");
    let r = verify(true, &["--output", missing.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dnssec_and_scan_write_their_output_too() {
    let nsd = dane_testenv::Nsd::start_fixtures().expect("start nsd");
    let server = format!("127.0.0.1:{}", nsd.port());
    let anchor = fixture("dns/anchors/root.ds");
    let dir = scratch("dnssec-scan");
    let path = dir.join("result");
    let out = path.to_str().unwrap();
    let common = [
        "--resolver",
        &server,
        "--no-iterate",
        "--trust-anchor",
        &anchor,
        "--at",
        "2026-12-01T00:00:00Z",
    ];
    let mut args = vec!["dnssec", "nonexistent.test", "MX", "--json"];
    args.extend(common);
    let plain = run(&args);
    args.extend(["--output", out]);
    let r = run(&args);
    assert_eq!((r.code, r.stdout.as_str()), (plain.code, ""), "{r:?}");
    let written = std::fs::read_to_string(&path).unwrap();
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("\"checked_at\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&written), strip(&plain.stdout));
    // scan: the results of the run; with --resume naming the same file they are kept.
    let targets = dir.join("targets");
    std::fs::write(&targets, "nonexistent.test\n").unwrap();
    let results = dir.join("results.ndjson");
    let (t, res) = (targets.to_str().unwrap(), results.to_str().unwrap());
    let mut args = vec!["scan", t, "--quiet", "--output", res];
    args.extend(common);
    let r = run(&args);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(&results).unwrap().lines().count(),
        1
    );
    std::fs::write(&targets, "nonexistent.test\nnx.nsec.test\n").unwrap();
    args.extend(["--resume", res]);
    let r = run(&args);
    assert_eq!(r.code, 4, "{r:?}");
    let text = std::fs::read_to_string(&results).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains("\"target\":\"nonexistent.test smtp\""),
        "{text}"
    );
    assert!(text.contains("\"target\":\"nx.nsec.test smtp\""), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--resume` and the anchor file are read with a bound that holds for devices and FIFOs.
#[test]
fn endless_inputs_fail_with_one_line() {
    let r = run(&["scan", "--resume", "/dev/zero", "/dev/null"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(r.stderr.starts_with("dane: --resume /dev/zero: "), "{r:?}");
    let r = run(&["dnssec", "example.com", "--trust-anchor", "/dev/zero"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.stderr,
        "dane: --trust-anchor /dev/zero: more than the 1048576 bytes accepted\n"
    );
    let r = run(&["dnssec", "example.com", "--trust-anchor", "/nonexistent"]);
    assert_eq!(
        r.stderr,
        "dane: --trust-anchor /nonexistent: cannot read: no such file or directory\n"
    );
    let r = run(&["verify", "example.com", "--at", "tomorrow"]);
    assert_eq!(r.code, 2, "{r:?}");
    let line = r.stderr.trim_end();
    assert!(
        line.starts_with("dane: --at \"tomorrow\": not an RFC 3339 time"),
        "{line}"
    );
    let said: Vec<&str> = line.split(": ").collect();
    let mut unique = said.clone();
    unique.dedup();
    assert_eq!(said, unique, "a cause said twice: {line}");
}

/// docs/monitoring.md's textfile recipe with a real node_exporter: it reads the directory while
/// the check flips between verified and failed, and each scrape shows the last result,
/// never a stale "verified" and never a half-written file.
#[test]
fn node_exporter_publishes_failures_from_the_textfile() {
    let Some(binary) =
        dane_testenv::require_tool("prometheus-node-exporter", "prometheus-node-exporter")
    else {
        return;
    };
    let dir = scratch("textfile");
    let prom = dir.join("dane.prom");
    let exporter = NodeExporter::start(&binary, &dir);
    let started = Instant::now();
    for round in 0..3 {
        for verified in [true, false] {
            let r = verify(
                verified,
                &[
                    "--format",
                    "openmetrics",
                    "--output",
                    prom.to_str().unwrap(),
                ],
            );
            assert_eq!(r.code, if verified { 0 } else { 1 }, "{r:?}");
            let metrics = exporter.scrape();
            let state = if verified { "verified" } else { "failed" };
            let line = format!(
                "dane_domain_verdict{{domain=\"ee311.test.\",service=\"smtp\",state=\"{state}\"}} 1"
            );
            assert!(
                metrics.contains(&line),
                "round {round}: {line} missing:\n{metrics}"
            );
            assert!(
                metrics.contains("node_textfile_scrape_error 0"),
                "round {round}: the textfile did not parse:\n{metrics}"
            );
            assert!(started.elapsed() < Duration::from_secs(60), "too slow");
        }
    }
    drop(exporter);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A node_exporter with only the textfile collector, on a loopback port; killed (by its
/// own handle) on drop.
struct NodeExporter {
    child: std::process::Child,
    addr: String,
}

impl NodeExporter {
    fn start(binary: &Path, textfiles: &Path) -> NodeExporter {
        for _attempt in 0..3 {
            let addr = free_loopback_addr();
            let child = std::process::Command::new(binary)
                .arg("--collector.disable-defaults")
                .arg("--collector.textfile")
                .arg(format!(
                    "--collector.textfile.directory={}",
                    textfiles.display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let mut n = NodeExporter { child, addr };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) {
                if n.child.try_wait().unwrap().is_some() {
                    break; // the port was taken: try another
                }
                if n.try_scrape().is_some() {
                    return n;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = n.child.kill();
            let _ = n.child.wait();
        }
        panic!("node_exporter did not start");
    }

    fn try_scrape(&self) -> Option<String> {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(&self.addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.starts_with("HTTP/1.0 200").then_some(out)
    }

    fn scrape(&self) -> String {
        self.try_scrape().expect("a scrape of node_exporter")
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
