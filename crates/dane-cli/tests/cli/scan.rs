//! `dane scan` over a loopback NSD serving the signed fixtures, with targets decided by DNS
//! alone (secure NXDOMAIN): no connection leaves the machine (the fixtures' addresses are in
//! 192.0.2.0/24 and are never probed by these targets).

use serde::Deserialize;

use crate::common::{fixture, run_stdin, temp_file};

fn nsd() -> dane_testenv::Nsd {
    dane_testenv::Nsd::start_fixtures().expect("start nsd (scripts/install-test-deps)")
}

/// Runs `dane scan` over `input`, given as a file (stdin written whole before stdout is read
/// would deadlock once the output fills the pipe).
fn scan(nsd: &dane_testenv::Nsd, extra: &[&str], input: &str) -> crate::common::Run {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let file = temp_file(
        &format!("scan-input-{}", N.fetch_add(1, Ordering::SeqCst)),
        input.as_bytes(),
    );
    let server = format!("127.0.0.1:{}", nsd.port());
    let anchor = fixture("dns/anchors/root.ds");
    let mut args = vec![
        "scan",
        &file,
        "--resolver",
        &server,
        "--no-iterate",
        "--trust-anchor",
        &anchor,
        "--at",
        "2026-12-01T00:00:00Z",
        // Generous: a loaded CI machine must not turn a slow answer into a verdict.
        "--timeout",
        "30",
    ];
    args.extend_from_slice(extra);
    run_stdin(&args, None)
}

/// The consumer's view of one NDJSON line.
#[derive(Debug, Deserialize)]
struct Line {
    line: u64,
    target: String,
    version: u32,
    at: String,
    domain: String,
    verdict: String,
    hosts: Vec<serde_json::Value>,
}

fn lines(stdout: &str) -> Vec<Line> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Secure NXDOMAINs in the fixtures (NSEC, NSEC3, the root's NSEC).
const NX: [&str; 5] = [
    "nonexistent.test",
    "nx.test",
    "nx.nsec.test",
    "nx.nsec3.test",
    "nx.alg7.test",
];

#[test]
fn ndjson_with_line_numbers_bad_lines_and_a_summary() {
    let nsd = nsd();
    let input = "# survey\nnonexistent.test\n\nnx.test smtp\nnot a target line\nnx.nsec.test gopher\nnx.nsec3.test\n";
    let r = scan(&nsd, &["--ordered"], input);
    assert_eq!(r.code, 2, "bad lines and no failure: exit 2: {r:?}");
    let out = lines(&r.stdout);
    let got: Vec<(u64, &str, &str)> = out
        .iter()
        .map(|l| (l.line, l.target.as_str(), l.verdict.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "nonexistent.test smtp", "nonexistent"),
            (4, "nx.test smtp", "nonexistent"),
            (7, "nx.nsec3.test smtp", "nonexistent"),
        ]
    );
    for l in &out {
        assert_eq!((l.version, l.at.as_str()), (1, "2026-12-01T00:00:00Z"));
        assert!(l.domain.ends_with('.') && l.hosts.is_empty(), "{l:?}");
    }
    assert!(r.stderr.contains("line 5: expected"), "{}", r.stderr);
    assert!(
        r.stderr.contains("line 6: unknown service \"gopher\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("3 target(s) in"), "{}", r.stderr);
    assert!(r.stderr.contains("3 nonexistent"), "{}", r.stderr);
    assert!(r.stderr.contains("slowest: "), "{}", r.stderr);
    assert!(
        !r.stderr.contains('\r'),
        "no progress line when stderr is not a terminal"
    );

    let r = scan(&nsd, &["--require-dane"], "nonexistent.test\n");
    assert_eq!(r.code, 1, "{r:?}");
    let r = scan(&nsd, &[], "");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.is_empty());
    let r = scan(&nsd, &["--shard", "0/2"], "");
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--shard \"0/2\""), "{}", r.stderr);
}

#[test]
fn targets_from_stdin() {
    let nsd = nsd();
    let server = format!("127.0.0.1:{}", nsd.port());
    let anchor = fixture("dns/anchors/root.ds");
    let r = run_stdin(
        &[
            "scan",
            "-",
            "--resolver",
            &server,
            "--no-iterate",
            "--trust-anchor",
            &anchor,
            "--at",
            "2026-12-01",
        ],
        Some(b"nonexistent.test\n"),
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert_eq!(lines(&r.stdout)[0].target, "nonexistent.test smtp");
}

#[test]
fn resume_skips_what_an_earlier_run_wrote() {
    let nsd = nsd();
    let first = scan(&nsd, &[], "nonexistent.test\nnx.test\n");
    assert_eq!(first.code, 4, "{first:?}");
    // A run killed mid-line leaves a partial last line: it is ignored.
    let mut results = first.stdout.clone();
    results.push_str("{\"line\":3,\"target\":\"nx.ns");
    let path = temp_file("scan-resume.ndjson", results.as_bytes());
    let r = scan(
        &nsd,
        &["--resume", &path],
        "nonexistent.test\nnx.test\nnx.nsec.test\n",
    );
    assert_eq!(r.code, 4, "{r:?}");
    let targets: Vec<String> = lines(&r.stdout).into_iter().map(|l| l.target).collect();
    assert_eq!(targets, ["nx.nsec.test smtp"]);
    assert!(r.stderr.contains("2 already in --resume"), "{}", r.stderr);
    assert!(r.stderr.contains("1 unreadable line"), "{}", r.stderr);
}

fn peak_rss_kib(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("peak RSS: "))
        .unwrap_or_else(|| panic!("no peak RSS in {stderr}"));
    line.trim_end_matches(" KiB").parse().unwrap()
}

/// Memory is flat in the input size: 10,000 targets (over a few names, so the resolver's
/// cache answers most) peak within a few MiB of 200 targets, and under a fixed bound.
/// BENCHMARKS.md has the 100,000-target figure.
#[test]
fn memory_is_flat_in_the_number_of_targets() {
    let nsd = nsd();
    let input =
        |n: usize| -> String { (0..n).map(|i| format!("{}\n", NX[i % NX.len()])).collect() };
    let small = scan(&nsd, &[], &input(200));
    assert_eq!(small.code, 4, "{}", small.stderr);
    let big = scan(&nsd, &[], &input(10_000));
    assert_eq!(big.code, 4, "{}", big.stderr);
    assert_eq!(big.stdout.lines().count(), 10_000);
    assert!(big.stderr.contains("10000 nonexistent"), "{}", big.stderr);
    let (small, big) = (peak_rss_kib(&small.stderr), peak_rss_kib(&big.stderr));
    assert!(big < 64 * 1024, "peak RSS {big} KiB for 10,000 targets");
    assert!(
        big < small + 8 * 1024,
        "peak RSS grew from {small} KiB (200 targets) to {big} KiB (10,000 targets)"
    );
}

/// The progress bar is for a terminal only: with stderr a pipe (as in every other test
/// here) there is no trace of it, and with --quiet there is no summary either. Under a
/// pseudo-terminal (`script`), a file's total is known at once (done/total, rate, ETA); on
/// stdin that is still open, the count so far, and the total only once stdin has ended.
#[test]
fn progress_only_on_a_terminal() {
    let nsd = nsd();
    let input: String = NX.iter().map(|d| format!("{d}\n")).collect();
    let r = scan(&nsd, &[], &input);
    assert_eq!(r.stdout.lines().count(), 5, "{r:?}");
    assert!(
        r.stderr.starts_with("dane scan: 5 target(s) in "),
        "{}",
        r.stderr
    );
    for trace in ['\r', '\u{1b}'] {
        assert!(!r.stderr.contains(trace), "{:?}", r.stderr);
    }
    assert!(!r.stderr.contains(" done,"), "{}", r.stderr);
    let quiet = scan(&nsd, &["--quiet"], &input);
    assert_eq!(quiet.stdout.lines().count(), 5, "{quiet:?}");
    assert_eq!(quiet.stderr, "", "--quiet: nothing on stderr");

    let Some(script) = dane_testenv::require_tool("script", "bsdutils") else {
        return;
    };
    let file = temp_file("progress-input", input.as_bytes());
    let flags = format!(
        "--resolver 127.0.0.1:{} --trust-anchor {} --at 2026-12-01T00:00:00Z --timeout 30",
        nsd.port(),
        fixture("dns/anchors/root.ds")
    );
    let dane = env!("CARGO_BIN_EXE_dane");
    let on_a_terminal = |command: String| {
        let out = std::process::Command::new(&script)
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        // `script -e` exits as the scan does: 4, the NXDOMAINs are not protected.
        assert_eq!(out.status.code(), Some(4), "{command}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tty = on_a_terminal(format!("{dane} scan {file} {flags} >/dev/null"));
    assert!(tty.contains("dane scan: 1/5 done, "), "{tty:?}");
    assert!(tty.contains("/s, ETA "), "{tty:?}");
    assert!(tty.contains("dane scan: 5 target(s) in "), "{tty:?}");
    let tty = on_a_terminal(format!(
        "(cat {file}; sleep 1) | {dane} scan - {flags} >/dev/null"
    ));
    assert!(tty.contains("dane scan: 5 done, 0 in flight, "), "{tty:?}");
    // While stdin is open no frame claims a total; once it ends, the total may show.
    let frames: Vec<&str> = tty.split('\r').collect();
    let reading: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i].contains("(reading the input)"))
        .collect();
    assert!(!reading.is_empty(), "{tty:?}");
    for &i in &reading {
        assert!(
            !frames[i].contains("/5 done"),
            "a total while reading: {tty:?}"
        );
    }
    if let Some(first_total) = frames.iter().position(|f| f.contains("/5 done")) {
        assert!(
            first_total > *reading.last().unwrap(),
            "a total before stdin ended: {tty:?}"
        );
    }
    let tty = on_a_terminal(format!("{dane} scan {file} {flags} --quiet >/dev/null"));
    assert_eq!(tty, "", "--quiet on a terminal: nothing");
}

/// Ctrl-C on a scan reading a stream that has not ended: it takes no more targets, writes
/// the results so far (to --output FILE, renamed into place) and the line saying how to
/// resume, and exits 130; SIGTERM exits 143.
#[test]
fn an_interrupted_scan_says_how_to_resume() {
    use std::io::{BufRead as _, Write as _};
    let nsd = nsd();
    let server = format!("127.0.0.1:{}", nsd.port());
    let anchor = fixture("dns/anchors/root.ds");
    let dir = std::env::temp_dir().join(format!("dane-scan-interrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let out = dir.join(format!("results{signal}.ndjson"));
        let mut child = crate::common::dane()
            .args(["scan", "-", "--resolver", &server, "--no-iterate"])
            .args(["--trust-anchor", &anchor, "--at", "2026-12-01T00:00:00Z"])
            .args(["--quiet", "--output", out.to_str().unwrap()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"nonexistent.test\nnx.nsec.test\n")
            .unwrap();
        stdin.flush().unwrap();
        // Both checked (they are written to the temporary file): wait for them.
        let started = std::time::Instant::now();
        loop {
            let tmp = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .find(|e| e.file_name().to_string_lossy().contains(".tmp."));
            let lines = tmp
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .map_or(0, |t| t.lines().count());
            if lines == 2 {
                break;
            }
            assert!(started.elapsed().as_secs() < 30, "no results yet");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let killed = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        drop(stdin);
        let mut stderr = String::new();
        for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
            stderr.push_str(&line.unwrap());
            stderr.push('\n');
        }
        assert_eq!(status.code(), Some(code), "{signal}: {stderr}");
        let name = if code == 130 { "SIGINT" } else { "SIGTERM" };
        assert_eq!(
            stderr,
            format!(
                "dane scan: {name}: interrupted after 2 of at least 2 target(s); resume with --resume {}\n",
                out.display()
            )
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An unsuitable resolver makes every target indeterminate; the summary says why once.
#[test]
fn the_summary_names_an_unsuitable_resolver_once() {
    let input = "a.test\nb.test\nc.test\n";
    let file = temp_file("scan-unsuitable", input.as_bytes());
    let r = crate::common::run(&[
        "scan",
        &file,
        "--resolver",
        "127.0.0.1:9",
        "--no-iterate",
        "--timeout",
        "2",
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(lines(&r.stdout).len(), 3);
    assert_eq!(
        r.stderr.matches("unsuitable resolver: ").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("\n  unsuitable resolver: "),
        "{}",
        r.stderr
    );
}

/// A test issuer-family list (one made-up family), as `dane verify`'s test uses.
/// `--ca-families FILE` on a scan: read once before any target, so a malformed or missing
/// list is exit 2 with one line naming the flag and the file and no result at all; a good
/// list runs the scan as usual.
#[test]
fn ca_families_are_read_before_any_target() {
    let nsd = nsd();
    let bad = temp_file("scan-families-bad.json", b"{\"format\":1}");
    let r = scan(&nsd, &["--ca-families", &bad], "nonexistent.test\n");
    crate::common::assert_one_line_error(&r, &format!("--ca-families {bad}: missing field"));
    let r = scan(
        &nsd,
        &["--ca-families", "/nonexistent/families.json"],
        "nonexistent.test\n",
    );
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{r:?}");
    assert!(
        r.stderr
            .contains("--ca-families /nonexistent/families.json"),
        "{}",
        r.stderr
    );

    let good = temp_file("scan-families.json", crate::common::FAMILY_LIST);
    let r = scan(&nsd, &["--ca-families", &good], "nonexistent.test\n");
    assert_eq!(r.code, 4, "{r:?}");
    assert_eq!(lines(&r.stdout)[0].verdict, "nonexistent");
}
