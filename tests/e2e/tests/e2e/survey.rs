//! The run-wide probe cache of `dane scan` (issue 27) in the interop environment: domains
//! of one hosting provider (`shared1.test` ..., all with the MX hosts `mx1..mx4.provider.test`,
//! mx1 and mx2 on the rsa Postfix, mx3 and mx4 on the ec Postfix) cost one handshake per
//! (server, SNI), counted from the servers' side (the `TLS SNI` line each Postfix logs per
//! handshake); with `--probe-cache-ttl 0`, one per domain and host. Every domain
//! is verified either way, and the cached endpoints say `"cached": true`.
//!
//! Needs root (network namespaces); CI runs as root.

use std::time::{Duration, Instant};

use dane_testenv::Interop;

const DOMAINS: usize = 30;

/// Handshakes so far: `[rsa, ec, rsa with SNI mx1, rsa with SNI mx2]`, from the `TLS
/// connection established from` line Postfix logs for each handshake, and the `TLS SNI NAME
/// from` line the rsa instance (which has an SNI map) logs for each SNI its map does not
/// name. (The `connect from` lines count the environment's readiness checks too, which
/// Postfix may log late.)
fn handshakes(env: &Interop) -> [usize; 4] {
    let count = |server: &str, needle: &str| {
        std::fs::read_to_string(env.postfix_maillog(server))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    };
    [
        count("rsa", " TLS connection established from "),
        count("ec", " TLS connection established from "),
        count("rsa", " TLS SNI mx1.provider.test from "),
        count("rsa", " TLS SNI mx2.provider.test from "),
    ]
}

/// The handshakes made since `before`, once they have reached `want` (the log service
/// writes asynchronously) or 10 s have passed.
fn handshakes_since(env: &Interop, before: [usize; 4], want: [usize; 4]) -> [usize; 4] {
    let delta = |now: [usize; 4]| std::array::from_fn(|i| now[i] - before[i]);
    let started = Instant::now();
    loop {
        let made = delta(handshakes(env));
        if made == want || started.elapsed() > Duration::from_secs(10) {
            // Let a late line arrive, so an excess is seen too.
            std::thread::sleep(Duration::from_millis(500));
            return delta(handshakes(env));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `dane scan -4` over the provider's domains; the NDJSON lines and stderr.
fn scan(env: &Interop, extra: &[&str]) -> (Vec<serde_json::Value>, String) {
    let input = env.shared_domains().join("\n") + "\n";
    let file = dane_e2e::temp_file(&format!("survey-{}", extra.len()), input.as_bytes());
    let out = env
        .command(dane_e2e::dane_bin())
        .args(["scan", &file, "-4", "--allow-private", "--timeout", "10"])
        .arg("--trust-anchor")
        .arg(env.anchor_ds())
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{stderr}")))
        .collect();
    (lines, stderr)
}

fn cached_endpoints(lines: &[serde_json::Value]) -> usize {
    lines
        .iter()
        .flat_map(|l| l["hosts"].as_array().unwrap())
        .flat_map(|h| h["endpoints"].as_array().unwrap())
        .filter(|e| e["cached"] == true)
        .count()
}

#[test]
fn a_scan_of_one_providers_domains_makes_one_handshake_per_server_and_sni() {
    let env = Interop::start_survey(0, DOMAINS)
        .expect("the interop environment (run as root; see the error)");
    assert_eq!(env.shared_domains().len(), DOMAINS);

    let before = handshakes(&env);
    let (lines, stderr) = scan(&env, &[]);
    let made = handshakes_since(&env, before, [2, 2, 1, 1]);
    assert_eq!(lines.len(), DOMAINS, "{stderr}");
    assert!(
        lines.iter().all(|l| l["verdict"] == "verified"),
        "{stderr}\n{lines:?}"
    );
    assert_eq!(
        made,
        [2, 2, 1, 1],
        "handshakes (rsa, ec, rsa with SNI mx1, rsa with SNI mx2) with the cache\n{stderr}"
    );
    assert_eq!(cached_endpoints(&lines), DOMAINS * 4 - 4, "{stderr}");
    assert!(
        stderr.contains("probe cache: 4 handshake(s)"),
        "the summary says so: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "mx1.provider.test mx2.provider.test mx3.provider.test mx4.provider.test: {DOMAINS} target(s): {DOMAINS} verified"
        )),
        "the roll-up names the provider: {stderr}"
    );

    let before = handshakes(&env);
    let (lines, stderr) = scan(&env, &["--probe-cache-ttl", "0"]);
    let want = [DOMAINS * 2, DOMAINS * 2, DOMAINS, DOMAINS];
    let made = handshakes_since(&env, before, want);
    assert!(lines.iter().all(|l| l["verdict"] == "verified"), "{stderr}");
    assert_eq!(made, want, "handshakes without the cache\n{stderr}");
    assert_eq!(cached_endpoints(&lines), 0);
}

/// `dane serve-metrics` shares probes across scrapes for `--probe-cache-ttl` (60 s by
/// default): five scrapes of the provider's domains cost one handshake per (server, SNI,
/// address family), as one scrape does; with `--probe-cache-ttl 0`, five times that.
#[test]
fn serve_metrics_scrapes_of_one_providers_domains_share_the_handshakes() {
    use crate::resolvers::{exporter, scrape};
    let env =
        Interop::start_survey(0, 5).expect("the interop environment (run as root; see the error)");
    let established = |env: &Interop| {
        ["rsa", "ec"].map(|server| {
            std::fs::read_to_string(env.postfix_maillog(server))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(" TLS connection established from "))
                .count()
        })
    };
    // Each server: two host names (SNI) on IPv4 and IPv6.
    for (flags, want) in [
        (&[][..], [4, 4]),
        (&["--probe-cache-ttl", "0"][..], [20, 20]),
    ] {
        let server = exporter(&env, flags);
        let before = established(&env);
        for domain in env.shared_domains() {
            let text = scrape(&env, &server, &domain);
            assert!(
                text.contains("probe_success 1"),
                "{flags:?} {domain}: {text}"
            );
        }
        let started = Instant::now();
        let made = loop {
            let now = established(&env);
            let made = [now[0] - before[0], now[1] - before[1]];
            if made == want || started.elapsed() > Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(500));
                let now = established(&env);
                break [now[0] - before[0], now[1] - before[1]];
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(made, want, "handshakes on (rsa, ec) with {flags:?}");
    }
}
