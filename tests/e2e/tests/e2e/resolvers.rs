//! dane behind the resolvers that cannot feed a validator (issue 11), in the interop
//! environment: one that strips DNSSEC records and ignores DO, one that answers NXDOMAIN
//! for everything, one that never answers, one that refuses, one that vouches with the AD
//! bit but strips the signatures, one that drops CD (its validating upstream then turns
//! bogus answers into SERVFAIL) (`dane_testenv::interop::BrokenResolver`, small forwarders
//! inside the namespace that log every query they get).
//!
//! - With `--no-iterate`, `dane verify` (text, JSON, nagios), `dane dnssec`, `dane scan` and
//!   `dane serve-metrics` give the unsuitable-resolver outcome: indeterminate, exit 3,
//!   nagios UNKNOWN, `probe_success 0`, the one line naming the resolver and what it did.
//! - With iteration allowed (the default fallback; the environment's `--root-hints`, so no
//!   query leaves the namespace), each reaches the scenario's own verdict, reason and exit
//!   code, as through Unbound, and `resolution` says `iterative` with the reason.
//! - A failed capability check is not repeated before its backoff (30 s; issue 22): the
//!   forwarder's log has one `. DNSKEY` exchange (two attempts for the silent one) for a
//!   scan's targets or an exporter's scrapes in a row, and nothing else.
//! - `dane scan --iterate --root-hints` reaches, for every scenario, what the scan through
//!   Unbound reaches.
//!
//! Needs root (network namespaces); CI runs as root.

use dane_testenv::interop::{BrokenResolver, TestResolver};
use dane_testenv::schema::SchemaDoc;
use dane_testenv::{Interop, Listening, Scenario, scenarios};

use crate::interop::{REASONS, dane_verify};

/// The representative scenarios: verified, a mismatch, a bogus TLSA, an insecure zone.
const SAMPLE: [&str; 4] = [
    "ee311.test",
    "nomatch.test",
    "tlsa-tampered.test",
    "insecure.test",
];

fn start() -> Interop {
    Interop::start().expect("the interop environment (run as root; see the error)")
}

fn scenario(domain: &str) -> Scenario {
    scenarios()
        .unwrap()
        .into_iter()
        .find(|s| s.domain == domain)
        .unwrap()
}

fn want_reason(domain: &str) -> &'static str {
    REASONS
        .iter()
        .find(|(d, _)| *d == domain)
        .map(|(_, r)| *r)
        .unwrap_or_else(|| panic!("no expected reason for {domain}"))
}

/// What the capability check line says each kind did.
fn problem(kind: BrokenResolver) -> String {
    let did = match kind {
        BrokenResolver::StripsDnssec => "returned no RRSIGs",
        BrokenResolver::Nxdomain => "answered NXDOMAIN for the root",
        BrokenResolver::Silent => "timed out",
        BrokenResolver::Refused => "refused the query (REFUSED)",
        BrokenResolver::AdOnly => "set AD but returned no RRSIGs",
        BrokenResolver::IgnoresCd => "ignored the CD bit",
    };
    format!("resolver {}:53 {did}", kind.address())
}

/// The checks the resolver's log must show for one process: the root DNSKEY asked once
/// (the silent one: once per attempt, two), nothing else.
fn assert_checked_once(resolver: &TestResolver, what: &str) {
    let queries = resolver.queries();
    let attempts = if resolver.kind() == BrokenResolver::Silent {
        2
    } else {
        1
    };
    assert_eq!(
        queries,
        vec!["udp . DNSKEY"; attempts],
        "{what}: the capability check is once per run and the resolver asked nothing else"
    );
    resolver.clear_queries().unwrap();
}

fn json(what: &str, stdout: &str, stderr: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{what}: {e}: {stdout}{stderr}"))
}

/// A fresh path for a run's evidence bundle (unique in the process: the tests run
/// concurrently and share the directory).
fn evidence_file(what: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let tag: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let n = N.fetch_add(1, Ordering::SeqCst);
    dane_e2e::temp_file(&format!("resolvers-evidence-{n}-{tag}.json"), b"")
}

/// The saved evidence replays offline (outside the namespace) to the same document and
/// exit code, its `resolution` included: either path is recorded and replayed.
fn assert_replays(what: &str, evidence: &str, code: i32, stdout: &str) {
    let replay = dane_e2e::run(&["verify", "--evidence", evidence, "--json"]);
    assert_eq!(replay.code, code, "{what}: replay: {}", replay.stderr);
    assert_eq!(replay.stdout, stdout, "{what}: the replay differs");
}

/// `dane verify --json` on scenario `s` with `args`, its evidence saved and replayed
/// ([`assert_replays`]): the exit code, stdout and the parsed document.
fn verify_replayed(
    env: &Interop,
    s: &Scenario,
    what: &str,
    args: &[&str],
) -> (i32, String, serde_json::Value) {
    let evidence = evidence_file(what);
    let mut all = vec!["--json", "--save-evidence", &evidence];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = dane_verify(env, s, &all);
    let doc = json(what, &stdout, &stderr);
    assert_replays(what, &evidence, code, &stdout);
    let mut docs = vec![SchemaDoc::new("verify", what, &stdout)];
    if let Ok(bundle) = std::fs::read_to_string(&evidence) {
        docs.push(SchemaDoc::new("verify-evidence", &evidence, bundle));
    }
    dane_testenv::schema::assert_valid(&docs);
    (code, stdout, doc)
}

/// `dane dnssec NAME TYPE --json` with `args`: the exit code, stdout and the parsed
/// document.
fn dnssec_json(
    env: &Interop,
    what: &str,
    name: &str,
    rtype: &str,
    args: &[&str],
) -> (i32, String, serde_json::Value) {
    let mut all = vec!["dnssec", name, rtype, "--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run_in(env, &all);
    let doc = json(what, &stdout, &stderr);
    dane_testenv::schema::assert_valid_one("dnssec", what, &stdout);
    (code, stdout, doc)
}

fn run_in(env: &Interop, args: &[&str]) -> (i32, String, String) {
    let out = env
        .command(dane_e2e::dane_bin())
        .env("NO_COLOR", "1")
        .args(args)
        // The namespace's names point at documentation addresses, which the default
        // address policy refuses.
        .arg("--allow-private")
        .arg("--trust-anchor")
        .arg(env.anchor_ds())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn broken_resolvers_are_unsuitable_under_no_iterate() {
    let env = start();
    for kind in BrokenResolver::ALL {
        let resolver = env.broken_resolver(kind).unwrap();
        let addr = resolver.address();
        let said = problem(kind);
        for domain in SAMPLE {
            let s = scenario(domain);
            let what = format!("{} via {}", domain, kind.mode());
            let (code, stdout, doc) =
                verify_replayed(&env, &s, &what, &["--resolver", addr, "--no-iterate"]);
            assert_eq!(code, 3, "{what}: {stdout}");
            assert_eq!(doc["verdict"], "indeterminate", "{what}");
            let reason = doc["reason"].as_str().unwrap();
            assert!(
                reason.starts_with("unsuitable resolver:")
                    && reason.contains(&said)
                    && reason.contains("fix:"),
                "{what}: {reason}"
            );
            assert_eq!(doc["resolution"]["mode"], "resolver", "{what}");
            assert_eq!(doc["resolution"]["unsuitable"], true, "{what}");
            assert_checked_once(&resolver, &what);
        }
        // Text and nagios: the same line; UNKNOWN.
        let s = scenario("ee311.test");
        let (code, stdout, _) = dane_verify(&env, &s, &["--resolver", addr, "--no-iterate"]);
        assert_eq!(code, 3, "{stdout}");
        let first = stdout.lines().next().unwrap();
        assert!(
            first.starts_with("ee311.test.: INDETERMINATE: unsuitable resolver:")
                && first.contains(&said),
            "{first}"
        );
        assert_checked_once(&resolver, "text");
        let (code, stdout, _) = dane_verify(
            &env,
            &s,
            &["--format", "nagios", "--resolver", addr, "--no-iterate"],
        );
        assert_eq!(code, 3, "{stdout}");
        assert!(
            stdout.starts_with("DANE UNKNOWN - ee311.test.: indeterminate"),
            "{stdout}"
        );
        assert!(stdout.contains(&said), "{stdout}");
        assert_checked_once(&resolver, "nagios");
        // dane dnssec, on a secure and on a bogus RRset alike.
        for (name, rtype) in [
            ("_25._tcp.mx.ee311.test", "TLSA"),
            ("_25._tcp.mx.tlsa-tampered.test", "TLSA"),
        ] {
            let what = format!("dnssec {name} via {}", kind.mode());
            let (code, stdout, doc) = dnssec_json(
                &env,
                &what,
                name,
                rtype,
                &["--resolver", addr, "--no-iterate"],
            );
            assert_eq!(code, 3, "{what}: {stdout}");
            assert_eq!(doc["verdict"], "indeterminate", "{what}");
            assert!(
                doc["reason"].as_str().unwrap().contains(&said),
                "{what}: {}",
                doc["reason"]
            );
            assert_eq!(doc["resolution"]["unsuitable"], true, "{what}");
            assert_checked_once(&resolver, &what);
        }
        let (code, stdout, _) = run_in(
            &env,
            &[
                "dnssec",
                "ee311.test",
                "MX",
                "--resolver",
                addr,
                "--no-iterate",
            ],
        );
        assert_eq!(code, 3, "{stdout}");
        assert!(
            stdout.starts_with(";; verdict: indeterminate: unsuitable resolver:")
                && stdout.contains(&said),
            "{stdout}"
        );
        assert_checked_once(&resolver, "dnssec text");
    }
}

#[test]
fn broken_resolvers_are_replaced_by_iteration_from_the_root() {
    let env = start();
    let hints = env.root_hints();
    let hints = hints.to_str().unwrap();
    for kind in BrokenResolver::ALL {
        let resolver = env.broken_resolver(kind).unwrap();
        let addr = resolver.address();
        let said = problem(kind);
        for domain in SAMPLE {
            let s = scenario(domain);
            let what = format!("{} via {}", domain, kind.mode());
            let (code, _, doc) = verify_replayed(
                &env,
                &s,
                &what,
                &["--resolver", addr, "--root-hints", hints],
            );
            let reason = doc["reason"].as_str().unwrap_or("");
            assert_eq!(
                doc["verdict"],
                s.expected_verdict.as_str(),
                "{what}: {reason}"
            );
            assert_eq!(code, s.expected_exit, "{what}");
            assert!(reason.contains(want_reason(domain)), "{what}: {reason}");
            assert_eq!(doc["resolution"]["mode"], "iterative", "{what}");
            let why = doc["resolution"]["reason"].as_str().unwrap_or("");
            assert!(
                why.contains("unsuitable resolver") && why.contains(&said),
                "{what}: {why}"
            );
            assert!(doc["resolution"].get("unsuitable").is_none(), "{what}");
            assert_checked_once(&resolver, &what);
        }
        // The text report says which path was taken, on a line of its own.
        let s = scenario("ee311.test");
        let (code, stdout, _) = dane_verify(&env, &s, &["--resolver", addr, "--root-hints", hints]);
        assert_eq!(code, 0, "{stdout}");
        assert!(stdout.starts_with("ee311.test.: VERIFIED"), "{stdout}");
        assert!(
            stdout.lines().any(|l| l
                .starts_with("resolution: iterative from the root servers (unsuitable resolver:")
                && l.contains(&said)),
            "{stdout}"
        );
        assert_checked_once(&resolver, "text");
        // dane dnssec: secure, bogus and insecure, each as delv says through Unbound.
        for (name, rtype, want, code_want) in [
            ("_25._tcp.mx.ee311.test", "TLSA", "secure", 0),
            ("_25._tcp.mx.tlsa-tampered.test", "TLSA", "bogus", 1),
            ("_25._tcp.mx.insecure.test", "TLSA", "insecure", 4),
        ] {
            let what = format!("dnssec {name} via {}", kind.mode());
            let (code, stdout, doc) = dnssec_json(
                &env,
                &what,
                name,
                rtype,
                &["--resolver", addr, "--root-hints", hints],
            );
            assert_eq!(doc["verdict"], want, "{what}: {stdout}");
            assert_eq!(code, code_want, "{what}");
            assert_eq!(doc["resolution"]["mode"], "iterative", "{what}");
            assert!(
                doc["resolution"]["reason"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&said),
                "{what}: {}",
                doc["resolution"]
            );
            assert_checked_once(&resolver, &what);
        }
    }
}

/// `dane scan` over a file of targets (one per scenario, or the sample), inside the
/// namespace; the NDJSON lines by target.
fn scan(
    env: &Interop,
    targets: &[&Scenario],
    extra: &[&str],
) -> (i32, Vec<serde_json::Value>, String) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let input: String = targets
        .iter()
        .map(|s| {
            if s.service == "https" {
                format!("www.{} https\n", s.domain)
            } else {
                format!("{}\n", s.domain)
            }
        })
        .collect();
    let file = dane_e2e::temp_file(
        &format!("resolvers-scan-{}", N.fetch_add(1, Ordering::SeqCst)),
        input.as_bytes(),
    );
    let mut args = vec!["scan", &file, "--quiet", "--timeout", "10"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run_in(env, &args);
    let docs: Vec<SchemaDoc> = stdout
        .lines()
        .map(|l| SchemaDoc::new("scan", "scan behind a resolver", l))
        .collect();
    if !docs.is_empty() {
        dane_testenv::schema::assert_valid(&docs);
    }
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{stderr}")))
        .collect();
    (code, lines, stderr)
}

/// The scenario a scan line is for.
fn line_domain(line: &serde_json::Value) -> String {
    let d = line["domain"].as_str().unwrap().trim_end_matches('.');
    d.strip_prefix("www.").unwrap_or(d).to_owned()
}

#[test]
fn scan_iterating_reaches_what_the_scan_through_unbound_reaches() {
    let env = start();
    let hints = env.root_hints();
    let hints = hints.to_str().unwrap();
    let all = scenarios().unwrap();
    let targets: Vec<&Scenario> = all.iter().collect();
    // One evaluation time for both runs, so that reasons quoting it (an expired RRSIG:
    // "checked at") compare equal.
    let at = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    let at = String::from_utf8(at.stdout).unwrap();
    let at = at.trim();
    let (code_resolver, through_unbound, stderr) = scan(&env, &targets, &["--at", at]);
    assert_eq!(through_unbound.len(), all.len(), "{stderr}");
    let (code_iter, iterating, stderr) = scan(
        &env,
        &targets,
        &["--at", at, "--iterate", "--root-hints", hints],
    );
    assert_eq!(iterating.len(), all.len(), "{stderr}");
    // Some scenario fails: exit 1 either way.
    assert_eq!((code_resolver, code_iter), (1, 1));
    let mut wrong = Vec::new();
    for s in &all {
        let find = |lines: &[serde_json::Value]| {
            lines
                .iter()
                .find(|l| line_domain(l) == s.domain)
                .cloned()
                .unwrap_or_else(|| panic!("no line for {}", s.domain))
        };
        let (r, i) = (find(&through_unbound), find(&iterating));
        let want = want_reason(&s.domain);
        // The same reason, word for word, except where the path shows: Unbound answers
        // lame.test's DNSKEY query empty, iteration meets the lame server's referral to
        // the zone itself (both say "lame delegation").
        let same_reason = i["reason"] == r["reason"] || s.domain == "lame.test";
        let says = |l: &serde_json::Value| {
            l["reason"].as_str().unwrap_or("").contains(want) || l["verdict"] == want
        };
        if r["verdict"] != s.expected_verdict.as_str()
            || i["verdict"] != r["verdict"]
            || !same_reason
            || !says(&r)
            || !says(&i)
            || r["resolution"]["mode"] != "resolver"
            || i["resolution"]["mode"] != "iterative"
        {
            wrong.push(format!(
                "{}: through Unbound {} ({}), iterating {} ({}), resolution {} / {}",
                s.domain,
                r["verdict"],
                r["reason"],
                i["verdict"],
                i["reason"],
                r["resolution"],
                i["resolution"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn scan_with_a_broken_resolver_checks_it_once() {
    let env = start();
    let hints = env.root_hints();
    let hints = hints.to_str().unwrap();
    let all = scenarios().unwrap();
    let targets: Vec<&Scenario> = all.iter().collect();
    let sample: Vec<Scenario> = SAMPLE.iter().map(|d| scenario(d)).collect();
    let sample: Vec<&Scenario> = sample.iter().collect();
    for kind in BrokenResolver::ALL {
        let resolver = env.broken_resolver(kind).unwrap();
        let said = problem(kind);
        // --no-iterate: every target indeterminate with the resolver's line; exit 3.
        let (code, lines, stderr) = scan(
            &env,
            &targets,
            &["--resolver", resolver.address(), "--no-iterate"],
        );
        assert_eq!(lines.len(), all.len(), "{stderr}");
        assert_eq!(code, 3, "{stderr}");
        for l in &lines {
            let reason = l["reason"].as_str().unwrap_or("");
            assert!(
                l["verdict"] == "indeterminate"
                    && reason.starts_with("unsuitable resolver:")
                    && reason.contains(&said)
                    && l["resolution"]["unsuitable"] == true,
                "{}: {l}",
                kind.mode()
            );
        }
        assert_checked_once(
            &resolver,
            &format!("scan of {} via {}", all.len(), kind.mode()),
        );
        // The fallback: each target's own verdict, resolution iterative; checked once.
        let (_, lines, stderr) = scan(
            &env,
            &sample,
            &["--resolver", resolver.address(), "--root-hints", hints],
        );
        assert_eq!(lines.len(), sample.len(), "{stderr}");
        for l in &lines {
            let s = scenario(&line_domain(l));
            assert!(
                l["verdict"] == s.expected_verdict.as_str()
                    && l["reason"]
                        .as_str()
                        .unwrap_or("")
                        .contains(want_reason(&s.domain))
                    && l["resolution"]["mode"] == "iterative"
                    && l["resolution"]["reason"]
                        .as_str()
                        .unwrap_or("")
                        .contains(&said),
                "{} via {}: {l}",
                s.domain,
                kind.mode()
            );
        }
        assert_checked_once(&resolver, &format!("fallback scan via {}", kind.mode()));
    }
}

/// `dane serve-metrics` inside the namespace (listening on 127.0.0.1 there); killed (by
/// its own handle) on drop.
pub(crate) fn exporter(env: &Interop, extra: &[&str]) -> Listening {
    Listening::spawn(
        env.command(dane_e2e::dane_bin())
            .args([
                "serve-metrics",
                "--listen",
                "127.0.0.1:0",
                "--timeout",
                "10",
                "--allow-private",
            ])
            .arg("--trust-anchor")
            .arg(env.anchor_ds())
            .args(extra),
        "dane serve-metrics: listening on ",
    )
}

/// One scrape of `/probe?target=...` from inside the namespace (bash's /dev/tcp: the
/// exporter answers one request per connection and closes).
pub(crate) fn scrape(env: &Interop, exporter: &Listening, target: &str) -> String {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{}; printf 'GET /probe?target={target} HTTP/1.1\\r\\nHost: x\\r\\nAccept: application/openmetrics-text; version=1.0.0\\r\\n\\r\\n' >&3; cat <&3",
        exporter.addr.trim_start_matches("127.0.0.1:")
    );
    let out = env.command("bash").args(["-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    // Prometheus's linter accepts the document, the resolution series included.
    if let Some(promtool) = dane_e2e::require_tool("promtool", "prometheus") {
        let mut cmd = std::process::Command::new(promtool);
        cmd.args(["check", "metrics"]);
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let lint = dane_e2e::run_command(cmd, Some(body.as_bytes()));
        assert!(
            lint.code == 0 && lint.stdout.trim().is_empty() && lint.stderr.trim().is_empty(),
            "promtool: {}{}\n{body}",
            lint.stdout,
            lint.stderr
        );
    }
    text
}

/// An exporter checks a failed resolver again only after its backoff (30 s, doubling; issue
/// 22): three scrapes in a row cost the broken resolver one check.
#[test]
fn serve_metrics_checks_a_failed_resolver_once_per_backoff() {
    let env = start();
    let hints = env.root_hints();
    let hints = hints.to_str().unwrap();
    for kind in BrokenResolver::ALL {
        let resolver = env.broken_resolver(kind).unwrap();
        let said = problem(kind);
        {
            let e = exporter(&env, &["--resolver", resolver.address(), "--no-iterate"]);
            for target in ["ee311.test", "nomatch.test", "ee311.test"] {
                let text = scrape(&env, &e, target);
                assert!(text.contains("\nprobe_success 0\n"), "{text}");
                assert!(
                    text.contains(&format!(
                        "dane_domain_verdict{{domain=\"{target}.\",service=\"smtp\",state=\"indeterminate\"}} 1"
                    )),
                    "{text}"
                );
                assert!(
                    text.lines().any(|l| l.starts_with("dane_resolution_info{")
                        && l.contains("mode=\"resolver\"")
                        && l.contains("unsuitable=\"true\"")
                        && l.contains(&said)),
                    "{text}"
                );
            }
        }
        assert_checked_once(&resolver, &format!("3 scrapes via {}", kind.mode()));
        {
            let e = exporter(
                &env,
                &["--resolver", resolver.address(), "--root-hints", hints],
            );
            for (target, success) in [("ee311.test", 1), ("nomatch.test", 0), ("ee311.test", 1)] {
                let text = scrape(&env, &e, target);
                assert!(
                    text.contains(&format!("\nprobe_success {success}\n")),
                    "{target}: {text}"
                );
                assert!(
                    text.lines().any(|l| l.starts_with("dane_resolution_info{")
                        && l.contains("mode=\"iterative\"")
                        && l.contains(&said)),
                    "{text}"
                );
            }
        }
        assert_checked_once(
            &resolver,
            &format!("fallback, 3 scrapes via {}", kind.mode()),
        );
    }
    // Scrapes whose deadline (2 s) is shorter than the check of the silent resolver (two
    // attempts of 2.5 s): the check goes on across them and ends once; a scrape after that
    // has the reason. (Regression: each cancelled scrape started the check again, so it
    // never ended and the resolver was asked once per scrape.)
    {
        let silent = env.broken_resolver(BrokenResolver::Silent).unwrap();
        let e = exporter(
            &env,
            &[
                "--resolver",
                silent.address(),
                "--no-iterate",
                "--deadline",
                "2",
            ],
        );
        let mut scrapes = 0;
        let text = loop {
            scrapes += 1;
            let text = scrape(&env, &e, "ee311.test");
            assert!(text.contains("\nprobe_success 0\n"), "{text}");
            if text.contains("dane_resolution_info{") || scrapes == 8 {
                break text;
            }
        };
        assert!(
            text.contains("unsuitable=\"true\"") && text.contains(&problem(BrokenResolver::Silent)),
            "after {scrapes} scrapes: {text}"
        );
        assert!(scrapes >= 2, "the first scrape cannot outlast the check");
        assert_checked_once(&silent, &format!("{scrapes} scrapes cut short"));
    }
    // --iterate: no resolver asked at all.
    let e = exporter(&env, &["--iterate", "--root-hints", hints]);
    for (target, success) in [("ee311.test", 1), ("insecure.test", 0)] {
        let text = scrape(&env, &e, target);
        assert!(
            text.contains(&format!("\nprobe_success {success}\n")),
            "{target}: {text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("dane_resolution_info{")
                && l.contains("mode=\"iterative\"")
                && l.contains("--iterate")),
            "{text}"
        );
    }
}
