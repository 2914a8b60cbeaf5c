//! `dane verify` end to end in the interop environment (dane-testenv: a network namespace
//! with NSD serving zones signed at run time, a validating Unbound as the resolver of
//! `/etc/netns/<ns>/resolv.conf`, real Postfix servers with STARTTLS and nginx), for every
//! scenario of `fixtures/interop/scenarios.tsv`: the verdict, the reason and the exit code,
//! and the differential against posttls-finger (the reference SMTP DANE client) with the
//! committed exceptions. Each run's evidence is saved and replayed offline; with
//! `DANE_RECORD_EVIDENCE=1` the bundles are written to `fixtures/interop/evidence/` for the
//! hermetic replay test in verify.rs.
//!
//! Needs root (network namespaces, port 25); CI runs as root. Never touches the host's
//! network: every dane and posttls-finger process runs inside the namespace.

use std::path::PathBuf;

use dane_testenv::interop::{interop_dir, posttls_finger_agrees, posttls_finger_outcome};
use dane_testenv::schema::SchemaDoc;
use dane_testenv::{Interop, Scenario, read_table, scenarios};
use serde::Deserialize;

/// What each scenario's reason (or, where the domain verdict comes from one host, a host's)
/// must say, so a verdict reached for the wrong reason fails.
pub(crate) const REASONS: &[(&str, &str)] = &[
    ("ee311.test", "all 2 endpoints authenticate"),
    ("ta-good.test", "authenticate"),
    ("ta-badname.test", "match none of"),
    ("nomatch.test", "no usable record matches"),
    ("ee301.test", "authenticate"),
    ("ee312.test", "authenticate"),
    ("ee300.test", "authenticate"),
    ("rollover.test", "authenticate"),
    ("tlsa-expired.test", "expired"),
    ("tlsa-tampered.test", "bogus"),
    ("insecure.test", "not DNSSEC-signed"),
    ("nsec3-notlsa.test", "no TLSA records"),
    ("nsec-notlsa.test", "no TLSA records"),
    ("cname-target.test", "authenticate"),
    ("cname-orig.test", "authenticate"),
    ("twomx.test", "endpoints fail"),
    ("split.test", "endpoints fail"),
    ("nostarttls.test", "STARTTLS"),
    ("usage1.test", "none usable for SMTP"),
    ("unsigned-host.test", "not DNSSEC-signed"),
    ("ecdsa.test", "authenticate"),
    ("expired-leaf.test", "authenticate"),
    ("https.test", "authenticate"),
    ("nullmx.test", "null MX"),
    ("nxdomain.test", "does not exist"),
    ("lame.test", "lame delegation"),
];

#[derive(Debug, Deserialize)]
struct Doc {
    verdict: String,
    reason: String,
    hosts: Vec<Host>,
}

#[derive(Debug, Deserialize)]
struct Host {
    name: String,
    tlsa: Option<Tlsa>,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Deserialize)]
struct Tlsa {
    base: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Endpoint {
    address: String,
    verdict: Verdict,
}

#[derive(Debug, Deserialize)]
struct Verdict {
    status: String,
}

fn evidence_dir() -> PathBuf {
    interop_dir().join("evidence")
}

/// `dane verify` for a scenario, inside the namespace.
pub(crate) fn dane_verify(env: &Interop, s: &Scenario, extra: &[&str]) -> (i32, String, String) {
    let mut cmd = env.command(dane_e2e::dane_bin());
    cmd.env("NO_COLOR", "1").arg("verify");
    if s.service == "https" {
        cmd.args([format!("www.{}", s.domain).as_str(), "--service", "https"]);
    } else {
        cmd.arg(&s.domain);
    }
    // The namespace's names point at documentation addresses (192.0.2.0/24,
    // 2001:db8::/32), which the default address policy refuses.
    cmd.arg("--trust-anchor")
        .arg(env.anchor_ds())
        .args(["--timeout", "10", "--allow-private"])
        .args(extra);
    let out = cmd.output().expect("run dane in the namespace");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_scenario_verdict_reason_exit_and_replay() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let record = std::env::var_os("DANE_RECORD_EVIDENCE").is_some();
    let work = std::env::temp_dir().join(format!("dane-interop-evidence-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let all = scenarios().unwrap();
    assert!(all.len() >= 26, "{} scenarios", all.len());
    let mut failures = Vec::new();
    // Every live document and every bundle it saved, checked against their JSON Schemas.
    let mut documents = Vec::new();
    for s in &all {
        let file = work.join(format!("{}.json", s.domain));
        let file_arg = file.to_str().unwrap();
        let (code, stdout, stderr) = dane_verify(&env, s, &["--json", "--save-evidence", file_arg]);
        documents.push(SchemaDoc::new("verify", &s.domain, &stdout));
        if let Ok(bundle) = std::fs::read_to_string(&file) {
            documents.push(SchemaDoc::new("verify-evidence", file_arg, bundle));
        }
        let doc: Doc = match serde_json::from_str(&stdout) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: no JSON ({e}): {stdout}{stderr}", s.domain));
                continue;
            }
        };
        let want_reason = REASONS
            .iter()
            .find(|(d, _)| *d == s.domain)
            .map(|(_, r)| *r)
            .unwrap_or_else(|| panic!("no expected reason for {}", s.domain));
        let host_reasons: Vec<String> = doc
            .hosts
            .iter()
            .map(|h| {
                format!(
                    "{}: {:?}",
                    h.name,
                    h.endpoints
                        .iter()
                        .map(|e| (&e.address, &e.verdict.status))
                        .collect::<Vec<_>>()
                )
            })
            .collect();
        if doc.verdict != s.expected_verdict
            || code != s.expected_exit
            || !(doc.reason.contains(want_reason) || doc.verdict == want_reason)
        {
            failures.push(format!(
                "{}: got {} (exit {code}, {:?}), want {} (exit {}, reason with {want_reason:?}); hosts {host_reasons:?}; stderr {stderr}",
                s.domain, doc.verdict, doc.reason, s.expected_verdict, s.expected_exit
            ));
            continue;
        }
        // The run replays offline from its evidence to the same document and exit code.
        let replay = std::process::Command::new(dane_e2e::dane_bin())
            .args(["verify", "--evidence", file_arg, "--json"])
            .output()
            .unwrap();
        if replay.status.code() != Some(code) || String::from_utf8_lossy(&replay.stdout) != stdout {
            failures.push(format!(
                "{}: the replay differs (exit {:?}): {}",
                s.domain,
                replay.status.code(),
                String::from_utf8_lossy(&replay.stderr)
            ));
        }
        if record {
            std::fs::create_dir_all(evidence_dir()).unwrap();
            std::fs::copy(&file, evidence_dir().join(format!("{}.json", s.domain))).unwrap();
        }
        // Scenario-specific facts beyond the verdict.
        match s.domain.as_str() {
            "cname-target.test" => assert_eq!(
                doc.hosts[0].tlsa.as_ref().and_then(|t| t.base.as_deref()),
                Some("a.targets.test."),
                "the CNAME-expanded name is the TLSA base domain"
            ),
            "cname-orig.test" => assert_eq!(
                doc.hosts[0].tlsa.as_ref().and_then(|t| t.base.as_deref()),
                Some("mx.cname-orig.test."),
                "no TLSA at the target: the original name"
            ),
            "split.test" => {
                let statuses: Vec<_> = doc.hosts[0]
                    .endpoints
                    .iter()
                    .map(|e| e.verdict.status.as_str())
                    .collect();
                assert_eq!(
                    statuses,
                    ["verified", "failed"],
                    "IPv4 good, IPv6 wrong certificate"
                );
            }
            _ => {}
        }
    }
    std::fs::remove_dir_all(&work).ok();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    dane_testenv::schema::assert_valid(&documents);
}

#[test]
fn dane_and_posttls_finger_differ_only_where_the_exceptions_say() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let mut differences = Vec::new();
    for s in scenarios().unwrap().iter().filter(|s| s.service == "smtp") {
        // Our verdict covers every host and address; posttls-finger is run per family and
        // stops at the first host and address that connect.
        let (_, stdout, stderr) = dane_verify(&env, s, &["--json"]);
        let ours: Doc = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{}: {e}: {stdout}{stderr}", s.domain));
        for family in ["ipv4", "ipv6"] {
            let log = env.posttls_finger_log(&["-a", family, &s.domain]).unwrap();
            let theirs = posttls_finger_outcome(&log);
            if !posttls_finger_agrees(&ours.verdict).contains(&theirs) {
                differences.push(format!(
                    "{}\t{family}\t{}\t{theirs}",
                    s.domain, ours.verdict
                ));
            }
        }
    }
    let exceptions: Vec<String> =
        read_table(&interop_dir().join("posttls-finger-exceptions.tsv"), 5)
            .unwrap()
            .into_iter()
            .map(|r| format!("{}\t{}\t{}\t{}", r[0], r[1], r[2], r[3]))
            .collect();
    assert_eq!(
        differences, exceptions,
        "dane verify and posttls-finger must differ exactly as posttls-finger-exceptions.tsv says"
    );
}

#[test]
fn dane_dnssec_and_delv_agree_on_every_lookup_behind_the_scenarios() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let rows = read_table(&interop_dir().join("dns.tsv"), 5).unwrap();
    assert!(rows.len() >= 50, "{} rows", rows.len());
    let mut wrong = Vec::new();
    for row in &rows {
        let (name, rtype, want, answer) = (&row[0], &row[1], &row[2], &row[3]);
        let out = env
            .command(dane_e2e::dane_bin())
            .args([
                "dnssec",
                name,
                rtype,
                "--json",
                "--allow-private",
                "--trust-anchor",
            ])
            .arg(env.anchor_ds())
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{name} {rtype}: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let ours = doc["verdict"].as_str().unwrap_or("?");
        let our_answer = doc["answer"].as_str().unwrap_or("?");
        // delv with the same anchor, through the same resolver.
        let delv = env
            .command("delv")
            .args(["@127.0.0.1", "-a"])
            .arg(env.anchor_bind())
            .args(["+root=.", name, rtype])
            .output()
            .unwrap();
        let theirs = dane_testenv::delv_verdict(
            &String::from_utf8_lossy(&delv.stdout),
            &String::from_utf8_lossy(&delv.stderr),
        );
        // delv prints the same failure for bogus and for no answer at all.
        let delv_ok = theirs == want || (want == "indeterminate" && theirs == "bogus");
        let answer_ok = want != "secure" || our_answer == answer;
        if ours != want || !answer_ok || !delv_ok {
            wrong.push(format!(
                "{name} {rtype}: want {want} {answer}, dane {ours} {our_answer}, delv {theirs}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Iteration from the environment's private root (`--iterate --root-hints`, issue 11)
/// reaches, for every scenario, the verdict, reason and exit code it reaches through
/// Unbound, and the report says which path was taken.
#[test]
fn iterating_from_the_private_root_matches_every_scenario() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let hints = env.root_hints();
    let hints = hints.to_str().unwrap();
    let mut failures = Vec::new();
    for s in &scenarios().unwrap() {
        let (code, stdout, stderr) =
            dane_verify(&env, s, &["--json", "--iterate", "--root-hints", hints]);
        let doc: serde_json::Value = match serde_json::from_str(&stdout) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: no JSON ({e}): {stdout}{stderr}", s.domain));
                continue;
            }
        };
        let want_reason = REASONS
            .iter()
            .find(|(d, _)| *d == s.domain)
            .map(|(_, r)| *r)
            .unwrap();
        let verdict = doc["verdict"].as_str().unwrap_or("");
        let reason = doc["reason"].as_str().unwrap_or("");
        if verdict != s.expected_verdict
            || code != s.expected_exit
            || !(reason.contains(want_reason) || verdict == want_reason)
            || doc["resolution"]["mode"] != "iterative"
        {
            failures.push(format!(
                "{}: got {verdict} (exit {code}, {reason:?}, resolution {}), want {} (exit {}, reason with {want_reason:?})",
                s.domain, doc["resolution"], s.expected_verdict, s.expected_exit
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A resolver that cannot be reached (nothing listens on 127.0.0.2:53 in the namespace)
/// fails the capability check: with --no-iterate the verdict is indeterminate (exit 3) with
/// one reason naming the resolver and the fix, never failed; by default dane then iterates
/// from the root (here the private one) and reaches the scenario's own verdict.
#[test]
fn an_unsuitable_resolver_is_indeterminate_or_replaced_by_iteration() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let hints = env.root_hints();
    let hints = hints.to_str().unwrap();
    let all = scenarios().unwrap();
    for domain in ["ee311.test", "tlsa-tampered.test", "insecure.test"] {
        let s = all.iter().find(|s| s.domain == domain).unwrap();
        let (code, stdout, stderr) = dane_verify(
            &env,
            s,
            &["--json", "--resolver", "127.0.0.2", "--no-iterate"],
        );
        let doc: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{domain}: {e}: {stdout}{stderr}"));
        assert_eq!(code, 3, "{domain}: {stdout}");
        assert_eq!(doc["verdict"], "indeterminate", "{domain}");
        let reason = doc["reason"].as_str().unwrap();
        assert!(
            reason.contains("unsuitable resolver")
                && reason.contains("resolver 127.0.0.2:53 unreachable")
                && reason.contains("fix:"),
            "{domain}: {reason}"
        );
        assert_eq!(doc["resolution"]["unsuitable"], true);
        let (code, stdout, stderr) = dane_verify(
            &env,
            s,
            &["--json", "--resolver", "127.0.0.2", "--root-hints", hints],
        );
        let doc: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{domain}: {e}: {stdout}{stderr}"));
        assert_eq!(
            doc["verdict"],
            s.expected_verdict.as_str(),
            "{domain}: {stdout}"
        );
        assert_eq!(code, s.expected_exit, "{domain}");
        assert_eq!(doc["resolution"]["mode"], "iterative", "{domain}");
        assert!(
            doc["resolution"]["reason"]
                .as_str()
                .unwrap()
                .contains("127.0.0.2:53 unreachable"),
            "{domain}: {}",
            doc["resolution"]
        );
    }
}

/// ARCHITECTURE.md invariant 9 (issue 22), inside the namespace (where none of these
/// addresses is configured: they lead nowhere): `private-mx.test`'s signed MX host points
/// at 127.0.0.1, 169.254.169.254, 10.0.0.1, 100.64.0.1 and fe80::1. By default dane probes
/// none of them: each is an indeterminate endpoint saying why, and the domain is never
/// verified; with `--allow-private` each is tried (and fails: nothing listens there).
#[test]
fn an_mx_host_on_private_addresses_is_not_probed_without_allow_private() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let verify = |extra: &[&str]| {
        let out = env
            .command(dane_e2e::dane_bin())
            .env("NO_COLOR", "1")
            .args(["verify", "private-mx.test", "--json", "--timeout", "5"])
            .arg("--trust-anchor")
            .arg(env.anchor_ds())
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let doc: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
        let reasons: Vec<String> = doc["hosts"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|h| h["endpoints"].as_array().into_iter().flatten())
            .map(|e| {
                format!(
                    "{} {}",
                    e["verdict"]["status"].as_str().unwrap_or("?"),
                    e["verdict"]["reason"].as_str().unwrap_or("?")
                )
            })
            .collect();
        (out.status.code(), doc, reasons)
    };
    let (code, doc, reasons) = verify(&[]);
    assert_eq!(code, Some(3), "{doc}");
    assert_eq!(doc["verdict"], "indeterminate", "{doc}");
    assert_eq!(reasons.len(), 5, "every address is reported: {reasons:?}");
    for r in &reasons {
        assert!(
            r.starts_with("indeterminate") && r.contains("not probed"),
            "{r}"
        );
    }
    for range in [
        "127.0.0.0/8 (loopback",
        "169.254.0.0/16 (link-local",
        "10.0.0.0/8 (private",
        "100.64.0.0/10 (shared address space, CGNAT",
        "fe80::/10 (link-local",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(range)),
            "{range}: {reasons:?}"
        );
    }
    let (code, doc, reasons) = verify(&["--allow-private"]);
    assert_eq!(code, Some(3), "{doc}");
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(
        reasons.iter().all(|r| !r.contains("not probed")),
        "with --allow-private every address is tried: {reasons:?}"
    );
}
