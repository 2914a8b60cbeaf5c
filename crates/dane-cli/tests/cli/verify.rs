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
        "--no-iterate",
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

/// The consumer's view of the JSON document (docs/verify.md; schemas/dane-verify.schema.json).
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
    lookups: Vec<TlsaLookupDoc>,
}

#[derive(Debug, Deserialize)]
struct TlsaLookupDoc {
    name: String,
    security: SecurityDoc,
    expires: Option<u64>,
    answer: TlsaAnswerDoc,
}

#[derive(Debug, Deserialize)]
struct TlsaAnswerDoc {
    kind: String,
    #[serde(default)]
    records: Vec<RecordDoc>,
}

#[derive(Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct RecordDoc {
    usage: u8,
    selector: u8,
    matching_type: u8,
    data: String,
}

#[derive(Debug, Deserialize)]
struct CandidateDoc {
    verdict: VerdictDoc,
    publish: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Warning {
    code: String,
    host: Option<String>,
    /// Zone lines to add (`issuer-family`); absent when none.
    #[serde(default)]
    records: Vec<String>,
    message: String,
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
    // What to publish: the line `dane tlsa generate --csr next.csr --name mx.alg13.test`
    // prints, for the host's TLSA owner.
    let generated = run(&["tlsa", "generate", "--csr", &csr, "--name", "mx.alg13.test"]);
    assert_eq!(generated.code, 0, "{generated:?}");
    let lines: Vec<String> = generated.stdout.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 1, "{}", generated.stdout);
    assert_eq!(c.publish, lines);
    let text = verify(&nsd, &["alg13.test", "--csr", &csr]);
    assert!(
        text.stdout.contains(&format!(
            "to accept the candidate, add to the zone:\n      {}\n",
            lines[0]
        )),
        "{}",
        text.stdout
    );
    let nagios = verify(&nsd, &["alg13.test", "--csr", &csr, "--format", "nagios"]);
    assert!(
        nagios
            .stdout
            .contains(&format!("    add to the zone: {}\n", lines[0])),
        "{}",
        nagios.stdout
    );
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
            vec!["verify", "example.test", "--host", "mx..example.test"],
            "--host \"mx..example.test\"",
        ),
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
        "--no-iterate",
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

/// The interop evidence of one scenario.
fn evidence(scenario: &str) -> String {
    dane_testenv::interop::interop_dir()
        .join("evidence")
        .join(format!("{scenario}.json"))
        .display()
        .to_string()
}

/// Compares `actual` with `tests/golden/NAME` (DANE_UPDATE_GOLDEN=1 rewrites it).
pub(crate) fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("DANE_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (DANE_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(actual, expected, "{name} differs from its golden file");
}

/// The outputs an operator reads mid-rollover, from recorded scenarios (no network): the
/// text, nagios and OpenMetrics documents as golden files.
#[test]
fn recorded_scenarios_render_as_their_golden_files() {
    for (scenario, format, code) in [
        ("rollover.test", "text", 0),
        ("twomx.test", "text", 1),
        ("twomx.test", "nagios", 2),
        ("tlsa-expired.test", "text", 1),
        ("tlsa-expired.test", "nagios", 2),
        ("tlsa-expired.test", "openmetrics", 1),
        ("expired-leaf.test", "text", 0),
        // Two certificates at each address, TLSA for the RSA key only (issue 23).
        ("dual-one.test", "text", 1),
        ("dual-one.test", "nagios", 2),
        ("dual-one.test", "openmetrics", 1),
    ] {
        let r = run(&[
            "verify",
            "--evidence",
            &evidence(scenario),
            "--format",
            format,
        ]);
        assert_eq!(r.code, code, "{scenario} {format}: {r:?}");
        // The one figure that depends on the machine: how long the replay took.
        let out: String = r
            .stdout
            .lines()
            .map(|l| match l.split_once("} ") {
                Some((series, _)) if series.starts_with("dane_probe_duration_seconds{") => {
                    format!("{series}}} 0.000000\n")
                }
                _ => format!("{l}\n"),
            })
            .collect();
        golden(&format!("verify-{scenario}-{format}.txt"), &out);
    }
}

/// Issue 12.3: a TLSA signature that expired reads in the past in every output, never the
/// later expiry of the keys above it.
#[test]
fn an_expired_signature_reads_in_the_past() {
    let file = evidence("tlsa-expired.test");
    let at = {
        let b: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        b["at"].as_u64().unwrap()
    };
    let r = run(&["verify", "--evidence", &file, "--json"]);
    let d = doc(&r.stdout);
    let t = &d.hosts[0].tlsa.as_ref().unwrap().lookups[0];
    assert_eq!(t.name, "_25._tcp.mx.tlsa-expired.test.");
    assert_eq!(t.security.status, "bogus");
    let expires = t.expires.expect("the expired signature's time");
    assert!(expires < at, "{expires} is not before {at}");
    let r = run(&["verify", "--evidence", &file, "--format", "nagios"]);
    let days: f64 = r
        .stdout
        .split("rrsig_days=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(days <= 0.0, "rrsig_days={days}: {}", r.stdout);
    let r = run(&["verify", "--evidence", &file, "--format", "openmetrics"]);
    let line = r
        .stdout
        .lines()
        .find(|l| {
            l.starts_with("dane_rrsig_expiry_timestamp_seconds{") && l.contains("type=\"TLSA\"")
        })
        .unwrap_or_else(|| panic!("{}", r.stdout));
    let value: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(value < at, "{line}");
}

/// Issue 12.1: records in RFC 4034 6.3 canonical order everywhere; the text shows the
/// matched record's data whole and the others by a prefix unique within the set.
#[test]
fn records_are_in_canonical_order_and_the_match_is_shown_whole() {
    let file = evidence("rollover.test");
    let d = doc(&run(&["verify", "--evidence", &file, "--json"]).stdout);
    let records = &d.hosts[0].tlsa.as_ref().unwrap().lookups[0].answer.records;
    assert_eq!(
        d.hosts[0].tlsa.as_ref().unwrap().lookups[0].answer.kind,
        "records"
    );
    assert_eq!(records.len(), 2);
    let mut sorted = records.clone();
    sorted.sort();
    assert_eq!(records, &sorted, "canonical order is RDATA order");
    let text = run(&["verify", "--evidence", &file]).stdout;
    let matched = records
        .iter()
        .find(|r| text.contains(&r.data.to_uppercase()))
        .expect("the matched record's data, whole");
    let other = records.iter().find(|r| *r != matched).unwrap();
    assert!(!text.contains(&other.data.to_uppercase()), "{text}");
    assert!(
        text.contains(&format!("{}...", &other.data.to_uppercase()[..8])),
        "{text}"
    );
}

/// Issue 12.5: a single record that matches is advice (OK), a WARNING with
/// --require-spare; --tlsa with --cert counts endpoints and candidates apart, the same on
/// the line and in the perfdata, and says rollover-ready.
#[test]
fn nagios_advice_and_rollover_readiness() {
    let file = evidence("ee311.test");
    // --warn-days 1: the recorded signatures expire within 30 days of the recording.
    let r = run(&[
        "verify",
        "--evidence",
        &file,
        "--format",
        "nagios",
        "--warn-days",
        "1",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .starts_with("DANE OK - ee311.test.: verified, 2/2 endpoints verified |"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("\nadvice [no-spare-record] mx.ee311.test.: "),
        "{}",
        r.stdout
    );
    let r = run(&[
        "verify",
        "--evidence",
        &file,
        "--format",
        "nagios",
        "--warn-days",
        "1",
        "--require-spare",
    ]);
    assert_eq!(r.code, 1, "WARNING when a spare is asked for: {r:?}");
    let r = run(&[
        "verify",
        "--evidence",
        &file,
        "--warn-days",
        "1",
        "--strict",
    ]);
    assert_eq!(r.code, 0, "advice is no --strict failure: {r:?}");
    let r = run(&[
        "verify",
        "--evidence",
        &file,
        "--warn-days",
        "1",
        "--strict",
        "--require-spare",
    ]);
    assert_eq!(r.code, 1, "{r:?}");

    // rollover.test serves leaf-rsa; the candidate set has its record and leaf-ec's, the
    // candidate certificate is chain-ec.
    let rsa = run(&["tlsa", "generate", "--cert", &fixture("pki/leaf-rsa.pem")]).stdout;
    let ec = run(&["tlsa", "generate", "--cert", &fixture("pki/leaf-ec.pem")]).stdout;
    let set = temp_file("rollover.tlsa", format!("{rsa}{ec}").as_bytes());
    let r = run(&[
        "verify",
        "--evidence",
        &evidence("rollover.test"),
        "--tlsa",
        &set,
        "--cert",
        &fixture("pki/chain-ec.pem"),
        "--format",
        "nagios",
        "--warn-days",
        "1",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let first = r.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("DANE OK - rollover.test.: verified, 2/2 endpoints verified, candidate accepted at 1/1 hosts, rollover-ready |"),
        "{first}"
    );
    assert!(
        first.contains(" endpoints=2;;;0 verified=2;;;0 "),
        "{first}"
    );
    assert!(
        first.contains(" candidates=1;;;0 candidates_verified=1;;;0 rollover_ready=1;;;0;1 "),
        "{first}"
    );
    let d = doc(&run(&[
        "verify",
        "--evidence",
        &evidence("rollover.test"),
        "--tlsa",
        &set,
        "--cert",
        &fixture("pki/chain-ec.pem"),
        "--json",
    ])
    .stdout);
    assert_eq!(d.rollover_ready, Some(true));
    assert_eq!(
        d.reason,
        "all 2 endpoints and 1 candidate authenticate with DANE"
    );
}

/// Issue 12.6: warnings about an endpoint name its host and address.
#[test]
fn endpoint_warnings_name_host_and_address() {
    let d = doc(&run(&[
        "verify",
        "--evidence",
        &evidence("expired-leaf.test"),
        "--json",
    ])
    .stdout);
    let w: Vec<&Warning> = d
        .warnings
        .iter()
        .filter(|w| w.code == "certificate-expires-info")
        .collect();
    assert_eq!(w.len(), 2, "{:?}", d.warnings);
    // DANE-EE ignores dates (RFC 7671 5.1): advice, and a past date reads "expired at".
    assert!(
        w.iter().all(|w| w
            .message
            .contains(") expired at 2021-01-01T00:00:00Z (informational")),
        "{w:?}"
    );
    assert!(
        w[0].message
            .starts_with("mx.expired-leaf.test. 192.0.2.33:25: "),
        "{}",
        w[0].message
    );
    assert!(
        w[1].message
            .starts_with("mx.expired-leaf.test. [2001:db8::33]:25: "),
        "{}",
        w[1].message
    );
    assert_eq!(w[0].host.as_deref(), Some("mx.expired-leaf.test."));
    // It never changes the nagios state, nor makes a --strict failure.
    let file = evidence("expired-leaf.test");
    let r = run(&[
        "verify",
        "--evidence",
        &file,
        "--format",
        "nagios",
        "--strict",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("DANE OK - "), "{}", r.stdout);
    assert!(
        r.stdout.contains(" warnings=0;;;0 advice=3;;;0\n"),
        "{}",
        r.stdout
    );
}

/// The default thresholds are a fifth of each validity period (the twomx.test signatures
/// are valid for 31 days: 6.2), `--warn-rrsig-days` and `--warn-cert-days` set one each,
/// `--warn-days` both; the perfdata ranges follow.
#[test]
fn thresholds_follow_the_validity_periods() {
    let file = evidence("twomx.test");
    let perf = |extra: &[&str]| {
        let mut args = vec!["verify", "--evidence", &file, "--format", "nagios"];
        args.extend_from_slice(extra);
        let r = run(&args);
        let first = r.stdout.lines().next().unwrap().to_owned();
        let perf = first.split(" | ").nth(1).unwrap().to_owned();
        let rrsig_warned = r.stdout.contains("warning [rrsig-expires]");
        (perf, rrsig_warned)
    };
    for (extra, cert, rrsig, warned) in [
        (
            &[][..],
            "cert_days=3640.5;730:;;",
            "rrsig_days=30.0;6.2:;;",
            false,
        ),
        (
            &["--warn-days", "31"],
            "cert_days=3640.5;31:;;",
            "rrsig_days=30.0;31:;;",
            true,
        ),
        (
            &["--warn-rrsig-days", "31"],
            "cert_days=3640.5;730:;;",
            "rrsig_days=30.0;31:;;",
            true,
        ),
        (
            &["--warn-days", "31", "--warn-rrsig-days", "7"],
            "cert_days=3640.5;31:;;",
            "rrsig_days=30.0;7:;;",
            false,
        ),
        (
            &["--warn-cert-days", "4000"],
            "cert_days=3640.5;4000:;;",
            "rrsig_days=30.0;6.2:;;",
            false,
        ),
    ] {
        let (p, w) = perf(extra);
        assert!(p.contains(cert) && p.contains(rrsig), "{extra:?}: {p}");
        assert_eq!(w, warned, "{extra:?}: {p}");
    }
}

/// issue 23, from the consumer's side: a candidate set (`--tlsa`) with the `3 1 1` the
/// recorded server presents and a `2 1 1` for Let's Encrypt's YE1 verifies, with an
/// `issuer-family` warning whose `records` are YE2's and YE3's `2 1 1` (digests computed
/// here from the certificates in data/ca-families/); the nagios state is WARNING; a
/// `--ca-families` list without Let's Encrypt drops the warning; a bad list is exit 2.
#[test]
fn issuer_family_warning_from_a_recorded_run() {
    let spki = |name: &str| -> String {
        let path = crate::common::root()
            .join("data/ca-families/letsencrypt")
            .join(name);
        let der = dane_tlsa::parse_certificates(&std::fs::read(path).unwrap()).unwrap();
        let k = dane_tlsa::certificate_spki(der[0].as_ref()).unwrap();
        dane_tlsa::associate(&k, dane_tlsa::MatchingType::Sha256)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    };
    let owner = "_25._tcp.mx.rollover.test.";
    let set = temp_file(
        "family.tlsa",
        format!(
            "{owner} IN TLSA 3 1 1 9280597C8F5CA52E55A9933D0F75A9C6C45F68C7F003D8D39F251943EB8E94CF\n{owner} IN TLSA 2 1 1 {}\n",
            spki("int-ye1.pem")
        )
        .as_bytes(),
    );
    let file = evidence("rollover.test");
    let base = [
        "verify",
        "--evidence",
        &file,
        "--tlsa",
        &set,
        "--at",
        "2026-12-07",
    ];
    let r = run(&[&base[..], &["--json"]].concat());
    assert_eq!(r.code, 0, "{r:?}");
    let d = doc(&r.stdout);
    assert_eq!(d.verdict, "verified");
    let w: Vec<&Warning> = d
        .warnings
        .iter()
        .filter(|w| w.code == "issuer-family")
        .collect();
    assert_eq!(w.len(), 1, "{:?}", d.warnings);
    assert_eq!(w[0].host.as_deref(), Some("mx.rollover.test."));
    assert!(
        w[0].message.contains("DANE-TA pins YE1"),
        "{}",
        w[0].message
    );
    let expected: Vec<String> = ["int-ye2.pem", "int-ye3.pem"]
        .iter()
        .map(|f| format!("{owner} IN TLSA 2 1 1 {}", spki(f)))
        .collect();
    assert_eq!(w[0].records, expected);

    let r = run(&[&base[..], &["--format", "nagios"]].concat());
    assert_eq!(r.code, 1, "WARNING: {r:?}");
    assert!(
        r.stdout
            .contains(&format!("  add to the zone: {}", expected[0])),
        "{}",
        r.stdout
    );

    let list = temp_file("families-x.json", crate::common::FAMILY_LIST);
    let r = run(&[&base[..], &["--json", "--ca-families", &list]].concat());
    assert!(
        !doc(&r.stdout)
            .warnings
            .iter()
            .any(|w| w.code == "issuer-family"),
        "{}",
        r.stdout
    );

    let bad = temp_file("families-bad.json", b"{\"format\":1}");
    let r = run(&[&base[..], &["--ca-families", &bad]].concat());
    crate::common::assert_one_line_error(&r, &format!("--ca-families {bad}: missing field"));
}
