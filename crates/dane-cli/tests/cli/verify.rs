//! `dane verify` without touching any server but a loopback NSD serving the signed fixtures
//! (fixtures/dns): outcomes decided by DNS alone (NXDOMAIN), rollover pre-checks (no
//! connection), evidence saved and replayed, and every bad input. The end-to-end runs
//! against real SMTP servers are in the interop suite (dane-testenv, network namespace).

use serde::Deserialize;

use crate::common::{fixture, run, temp_file};

fn nsd() -> dane_testenv::Nsd {
    dane_testenv::Nsd::start_fixtures().expect("start nsd (scripts/install-test-deps)")
}

fn verify(nsd: &dane_testenv::Nsd, extra: &[&str]) -> crate::common::Run {
    let server = format!("127.0.0.1:{}", nsd.port());
    let anchor = fixture("dns/anchors/root.ds");
    let mut args = vec![
        "verify",
        "--resolver",
        &server,
        "--trust-anchor",
        &anchor,
        "--at",
        "2026-12-01T00:00:00Z",
        "--timeout",
        "5",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The consumer's view of the JSON document (README, "dane verify --json").
#[derive(Debug, Deserialize)]
struct Doc {
    version: u32,
    at: String,
    domain: String,
    service: String,
    verdict: String,
    reason: String,
    hosts: Vec<Host>,
    warnings: Vec<Warning>,
    rollover_ready: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Host {
    name: String,
    port: u16,
    verdict: VerdictDoc,
    addresses: Vec<AddressDoc>,
    tlsa: Option<TlsaDoc>,
    candidate: Option<CandidateDoc>,
    endpoints: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct VerdictDoc {
    status: String,
    reason: String,
}

#[derive(Debug, Deserialize)]
struct AddressDoc {
    #[serde(rename = "type")]
    rtype: String,
    security: SecurityDoc,
}

#[derive(Debug, Deserialize)]
struct SecurityDoc {
    status: String,
}

#[derive(Debug, Deserialize)]
struct TlsaDoc {
    base: Option<String>,
    usable: Option<usize>,
    source: String,
}

#[derive(Debug, Deserialize)]
struct CandidateDoc {
    verdict: VerdictDoc,
}

#[derive(Debug, Deserialize)]
struct Warning {
    code: String,
}

fn doc(stdout: &str) -> Doc {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn a_domain_that_securely_does_not_exist() {
    let nsd = nsd();
    let r = verify(&nsd, &["nonexistent.test"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stdout.starts_with(
            "nonexistent.test.: NONEXISTENT: nonexistent.test. does not exist (secure NXDOMAIN)"
        ),
        "{}",
        r.stdout
    );
    let r = verify(&nsd, &["nonexistent.test", "--json"]);
    let d = doc(&r.stdout);
    assert_eq!((d.version, d.verdict.as_str()), (1, "nonexistent"));
    assert_eq!(d.at, "2026-12-01T00:00:00Z");
    assert_eq!(d.domain, "nonexistent.test.");
    assert!(d.hosts.is_empty());
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let r = verify(&nsd, &["nonexistent.test", "--require-dane"]);
    assert_eq!(r.code, 1, "--require-dane makes not protected a failure");
}

#[test]
fn rollover_precheck_of_a_csr_needs_no_connection() {
    let nsd = nsd();
    // alg13.test: MX mx.alg13.test (secure A), TLSA 3 1 1 that is not this key's.
    let csr = fixture("pki/next.csr");
    let r = verify(&nsd, &["alg13.test", "--csr", &csr, "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let d = doc(&r.stdout);
    assert_eq!(d.verdict, "failed");
    assert_eq!(d.service, "smtp");
    let h = &d.hosts[0];
    assert_eq!((h.name.as_str(), h.port), ("mx.alg13.test.", 25));
    assert!(h.endpoints.is_empty(), "a pre-check does not connect");
    assert_eq!(h.addresses[0].rtype, "A");
    assert_eq!(h.addresses[0].security.status, "secure");
    let t = h.tlsa.as_ref().unwrap();
    assert_eq!(
        (t.base.as_deref(), t.usable, t.source.as_str()),
        (Some("mx.alg13.test."), Some(1), "dns")
    );
    let c = h.candidate.as_ref().unwrap();
    assert_eq!(c.verdict.status, "failed");
    assert!(
        c.verdict.reason.contains("publish its TLSA record"),
        "{}",
        c.verdict.reason
    );
    assert_eq!(h.verdict.status, "failed");
    assert!(d.rollover_ready.is_none());
    assert!(!d.reason.is_empty());
    // Signatures end 2036-01-01: nothing expires within the default 30 days...
    assert!(
        d.warnings.iter().all(|w| w.code != "rrsig-expires"),
        "{:?}",
        d.warnings
    );
    // ... but within 10 years, every signature does.
    let r = verify(
        &nsd,
        &["alg13.test", "--csr", &csr, "--json", "--warn-days", "3650"],
    );
    let d = doc(&r.stdout);
    assert!(
        d.warnings.iter().any(|w| w.code == "rrsig-expires"),
        "{:?}",
        d.warnings
    );

    // One candidate at a time.
    let cert = fixture("pki/chain-rsa.pem");
    let r = verify(&nsd, &["alg13.test", "--csr", &csr, "--cert", &cert]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.is_empty());
}

#[test]
fn saved_evidence_replays_offline_and_ages() {
    let nsd = nsd();
    let dir = std::env::temp_dir().join(format!("dane-verify-evidence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("alg13.json");
    let path = file.to_str().unwrap();
    let csr = fixture("pki/next.csr");
    let live = verify(
        &nsd,
        &[
            "alg13.test",
            "--csr",
            &csr,
            "--json",
            "--save-evidence",
            path,
        ],
    );
    assert_eq!(live.code, 1, "{live:?}");
    drop(nsd);

    // No server, no resolver: the same document from the file.
    let replay = run(&["verify", "--evidence", path, "--csr", &csr, "--json"]);
    assert_eq!(replay.code, 1, "{replay:?}");
    assert_eq!(replay.stdout, live.stdout);
    // Re-judged after the fixture signatures end (2036-01-01): the MX lookup is bogus.
    let later = run(&[
        "verify",
        "--evidence",
        path,
        "--csr",
        &csr,
        "--at",
        "2036-02-01",
    ]);
    assert_eq!(later.code, 1, "{later:?}");
    assert!(later.stdout.contains("FAILED"), "{}", later.stdout);
    assert!(later.stdout.contains("bogus"), "{}", later.stdout);
    assert!(later.stdout.contains("expired"), "{}", later.stdout);
    // A bundle for another domain is refused.
    let other = run(&["verify", "other.test", "--evidence", path]);
    assert_eq!(other.code, 2, "{other:?}");
    assert!(
        other.stderr.contains("recorded for alg13.test."),
        "{}",
        other.stderr
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_one_line_exit_2_and_nothing_on_stdout() {
    let garbage = temp_file("garbage.json", b"{\"kind\": 1}");
    let empty = temp_file("empty.tlsa", b"");
    let readme = fixture("pki/README.md");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["verify"], "DOMAIN"),
        (
            vec!["verify", "example.test", "--service", "gopher"],
            "unknown service",
        ),
        (
            vec!["verify", "example.test", "--starttls", "imap"],
            "--port",
        ),
        (vec!["verify", "exa mple.test"], "DOMAIN"),
        (
            vec!["verify", "example.test", "--timeout", "0"],
            "--timeout",
        ),
        (
            vec!["verify", "example.test", "--resolver", "not an address"],
            "--resolver",
        ),
        (vec!["verify", "example.test", "--cert", &readme], "--cert"),
        (vec!["verify", "example.test", "--tlsa", &empty], "--tlsa"),
        (
            vec!["verify", "--evidence", "/nonexistent/run.json"],
            "--evidence",
        ),
        (
            vec!["verify", "--evidence", &garbage],
            "not an evidence file",
        ),
        (vec!["verify", "example.test", "-4", "-6"], "cannot be used"),
    ];
    for (args, says) in cases {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
}

/// Every interop scenario, replayed from the evidence recorded in the interop environment
/// (`fixtures/interop/evidence`, refreshed by `DANE_RECORD_EVIDENCE=1 cargo test -p dane-e2e
/// interop` as root): the verdict and exit code of `scenarios.tsv`, with no
/// network, no namespace and no root.
#[test]
fn interop_scenarios_replay_from_recorded_evidence() {
    let dir = dane_testenv::interop::interop_dir().join("evidence");
    let scenarios = dane_testenv::scenarios().unwrap();
    assert!(scenarios.len() >= 26);
    for s in &scenarios {
        let file = dir.join(format!("{}.json", s.domain));
        assert!(
            file.exists(),
            "{}: no recorded evidence (record it: DANE_RECORD_EVIDENCE=1 cargo test -p dane-e2e interop)",
            file.display()
        );
        let r = run(&["verify", "--evidence", file.to_str().unwrap(), "--json"]);
        let d = doc(&r.stdout);
        assert_eq!(
            (d.verdict.as_str(), r.code),
            (s.expected_verdict.as_str(), s.expected_exit),
            "{}: {}",
            s.domain,
            d.reason
        );
    }
    // The same servers and zones 40 days later: every signature has expired (the zones are
    // signed for 30 days), so what was verified is now bogus and fails.
    let ee311 = dir.join("ee311.test.json");
    let at = {
        let b: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&ee311).unwrap()).unwrap();
        format!("@{}", b["at"].as_u64().unwrap() + 40 * 86_400)
    };
    let r = run(&["verify", "--evidence", ee311.to_str().unwrap(), "--at", &at]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("expired"), "{}", r.stdout);
}

#[test]
fn monitoring_formats_over_a_secure_nxdomain() {
    let nsd = nsd();
    let r = verify(&nsd, &["nonexistent.test", "--format", "nagios"]);
    assert_eq!(r.code, 1, "not protected is WARNING: {r:?}");
    assert!(
        r.stdout
            .starts_with("DANE WARNING - nonexistent.test.: nonexistent: "),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(r.stdout.contains(" | rrsig_days="), "{}", r.stdout);
    let r = verify(
        &nsd,
        &["nonexistent.test", "--format", "nagios", "--require-dane"],
    );
    assert_eq!(r.code, 2, "CRITICAL with --require-dane: {r:?}");
    let r = verify(&nsd, &["nonexistent.test", "--format", "openmetrics"]);
    assert_eq!(
        r.code, 4,
        "openmetrics keeps the documented exit codes: {r:?}"
    );
    assert!(r.stdout.ends_with("# EOF\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "dane_domain_verdict{domain=\"nonexistent.test.\",service=\"smtp\",state=\"nonexistent\"} 1"
        ),
        "{}",
        r.stdout
    );
    let r = verify(&nsd, &["nonexistent.test", "--format", "json"]);
    assert_eq!(doc(&r.stdout).verdict, "nonexistent");
    let r = verify(&nsd, &["nonexistent.test", "--format", "json", "--json"]);
    assert_eq!(r.code, 2, "--json and --format conflict: {r:?}");
}

#[test]
fn nagios_reports_a_check_that_cannot_run_as_unknown() {
    let r = run(&[
        "verify",
        "nonexistent.test",
        "--format",
        "nagios",
        "--resolver",
        "127.0.0.1:9",
        "--timeout",
        "0",
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout.starts_with("DANE UNKNOWN - --timeout 0"),
        "{}",
        r.stdout
    );
}

/// examples/ci/dane-precheck.sh: the report is written and the pipeline fails when the
/// check does (here a domain that securely does not exist: decided by DNS, no connection).
#[test]
fn ci_precheck_script_keeps_the_report_and_fails_the_pipeline() {
    let nsd = nsd();
    let script = crate::common::root().join("examples/ci/dane-precheck.sh");
    let tlsa = temp_file(
        "ci.tlsa",
        b"_25._tcp.mx.nonexistent.test. IN TLSA 3 1 1 2af7acfd0ca1a5df0deb4e750af8a3799a4f4ad582ebd16b671bdddeb26394c7\n",
    );
    let report = std::env::temp_dir().join(format!("dane-ci-report-{}.json", std::process::id()));
    let flags = format!(
        "--resolver 127.0.0.1:{} --trust-anchor {} --at 2026-12-01T00:00:00Z --timeout 5",
        nsd.port(),
        fixture("dns/anchors/root.ds")
    );
    let out = std::process::Command::new("sh")
        .arg(&script)
        .args(["nonexistent.test", &tlsa, &fixture("pki/chain-ec.pem")])
        .arg(&report)
        .env("DANE", env!("CARGO_BIN_EXE_dane"))
        .env("DANE_FLAGS", &flags)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "--require-dane: {stderr}");
    assert!(stderr.contains("dane verify exited 1"), "{stderr}");
    assert!(
        stderr.contains("DANE CRITICAL - nonexistent.test."),
        "{stderr}"
    );
    let d = doc(&std::fs::read_to_string(&report).unwrap());
    assert_eq!(d.verdict, "nonexistent");
    let _ = std::fs::remove_file(&report);
    let usage = std::process::Command::new("sh")
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
