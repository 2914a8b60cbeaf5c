//! ARCHITECTURE.md invariant 9 (issue 22) for SRV targets, in the interop environment:
//! `private-mx.test`'s signed `_submission._tcp` SRV record names `mx.private-mx.test`
//! port 587, whose addresses are 127.0.0.1, 169.254.169.254, 10.0.0.1, 100.64.0.1 and
//! fe80::1, with a TLSA record at `_587._tcp`. A listener at 127.0.0.1:587 inside the
//! namespace counts the connections it gets: none from `dane serve-metrics` scraped for
//! the domain's submission service, nor from `dane verify --service submission`, without
//! `--allow-private`; at least one with it. (The MX host on the same addresses is
//! `interop::an_mx_host_on_private_addresses_is_not_probed_without_allow_private`.)
//!
//! Needs root (network namespaces); CI runs as root.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dane_testenv::{Interop, Listening};

/// Accepts connections on 127.0.0.1:587 and prints one line per connection (then closes
/// it); prints `ready` once listening.
const LISTENER: &str = r#"
use IO::Socket::INET; $| = 1;
my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:587", Listen => 16, ReuseAddr => 1) or die "listen: $!";
print "ready\n";
while (my $c = $l->accept) { print "accepted\n"; close($c); }
"#;

/// The listener, its connection count (read from its stdout by a thread), stopped by its
/// PID on drop.
struct Counter {
    child: Child,
    accepted: Arc<AtomicUsize>,
}

impl Drop for Counter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listen(env: &Interop) -> Counter {
    let mut child = env
        .command("perl")
        .args(["-e", LISTENER])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok);
    assert_eq!(
        first.as_deref(),
        Some("ready"),
        "the listener at 127.0.0.1:587"
    );
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line == "accepted" {
                count.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    Counter { child, accepted }
}

/// One scrape of the exporter for `private-mx.test`'s submission service, from inside the
/// namespace; the response.
fn scrape(env: &Interop, exporter: &Listening) -> String {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{}; printf 'GET /probe?target=private-mx.test&module=submission HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; cat <&3",
        exporter.addr.trim_start_matches("127.0.0.1:")
    );
    let out = env.command("bash").args(["-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    text
}

/// `dane verify private-mx.test --service submission --json`: exit code and stdout.
fn verify(env: &Interop, extra: &[&str]) -> (Option<i32>, String) {
    let out = env
        .command(dane_e2e::dane_bin())
        .env("NO_COLOR", "1")
        .args([
            "verify",
            "private-mx.test",
            "--service",
            "submission",
            "--json",
        ])
        .args(["--timeout", "5", "--trust-anchor"])
        .arg(env.anchor_ds())
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Waits (up to 5 s) for the listener's count to reach `n`; returns it.
fn accepted_at_least(counter: &Counter, n: usize) -> usize {
    let started = Instant::now();
    while counter.accepted.load(Ordering::SeqCst) < n && started.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    counter.accepted.load(Ordering::SeqCst)
}

#[test]
fn srv_targets_on_private_addresses_are_not_connected_to_without_allow_private() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let counter = listen(&env);
    let exporter = |extra: &[&str]| {
        Listening::spawn(
            env.command(dane_e2e::dane_bin())
                .args(["serve-metrics", "--listen", "127.0.0.1:0", "--timeout", "5"])
                .arg("--trust-anchor")
                .arg(env.anchor_ds())
                .args(extra),
            "dane serve-metrics: listening on ",
        )
    };
    // By default: the SRV target is named, its addresses are refused, nothing connects.
    let strict = scrape(&env, &exporter(&[]));
    assert!(strict.contains("\nprobe_success 0\n"), "{strict}");
    let (code, json) = verify(&env, &[]);
    assert_eq!(code, Some(3), "{json}");
    assert!(json.contains("not probed"), "{json}");
    assert!(json.contains("127.0.0.0/8 (loopback"), "{json}");
    // Given the time a connection would have taken to show: none came.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        counter.accepted.load(Ordering::SeqCst),
        0,
        "a connection reached 127.0.0.1:587 without --allow-private: {strict}"
    );

    // --allow-private: the operator allows it, and the probes go there.
    scrape(&env, &exporter(&["--allow-private"]));
    let after_exporter = accepted_at_least(&counter, 1);
    assert!(after_exporter >= 1, "the exporter with --allow-private");
    let (_, json) = verify(&env, &["--allow-private"]);
    assert!(!json.contains("not probed"), "{json}");
    assert!(
        accepted_at_least(&counter, after_exporter + 1) > after_exporter,
        "dane verify with --allow-private"
    );
}
