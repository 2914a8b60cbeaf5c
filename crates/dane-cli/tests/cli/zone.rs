//! `dane zone check` on the zones of fixtures/zone (signed by ldns-signzone and
//! dnssec-signzone, then broken one defect at a time), and against ldns-verify-zone,
//! dnssec-verify and kzonecheck on the same files.

use std::collections::BTreeMap;
use std::process::Command;

use serde::Deserialize;

use crate::common::{fixture, run, run_command, run_stdin, temp_file};

const AT: &str = "2026-06-01T00:00:00Z";

fn zone(name: &str) -> String {
    fixture(&format!("zone/{name}.zone"))
}

fn check(name: &str, extra: &[&str]) -> crate::common::Run {
    let file = zone(name);
    let mut args = vec!["zone", "check", file.as_str()];
    if !extra.contains(&"--at") {
        args.extend_from_slice(&["--at", AT]);
    }
    args.extend_from_slice(extra);
    run(&args)
}

/// The JSON document, read from the consumer's side.
#[derive(Debug, Deserialize)]
struct Doc {
    version: u32,
    zone: String,
    checked_at: String,
    findings: Vec<JsonFinding>,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct JsonFinding {
    severity: String,
    code: String,
    owner: String,
    #[serde(rename = "type")]
    rtype: String,
    key_tag: Option<u16>,
    what: String,
    rfc: String,
}

#[derive(Debug, Deserialize)]
struct Summary {
    records: usize,
    signatures_checked: usize,
    signatures_valid: usize,
    errors: usize,
    warnings: usize,
    counts: BTreeMap<String, usize>,
}

/// (fixture, the finding `dane zone check` must report, whether ldns-verify-zone,
/// dnssec-verify (BIND 9.18) and kzonecheck -d on (Knot 3.2) reject the file). Where a
/// peer accepts a defect, docs/zone-check.md says so.
const CASES: &[(&str, &str, bool, bool, bool)] = &[
    ("good-ldns", "", false, false, false),
    ("good-bind", "", false, false, false),
    ("good-nsec3", "", false, false, false),
    ("good-twoalg", "", false, false, false),
    ("good-revoked", "", false, false, false),
    ("good-zonemd", "", false, false, false),
    ("good-cds", "", false, false, false),
    ("good-mixed", "", false, false, false),
    ("good-nsec3-optout", "", false, false, false),
    // Neither ldns-verify-zone nor dnssec-verify compares CDS with the DNSKEY RRset;
    // kzonecheck rejects the file because it has a CDS and no CDNSKEY ("missing CDNSKEY"),
    // not because the CDS names a key the zone does not have.
    ("broken-cds", "cds-mismatch", false, false, true),
    // dnssec-verify 9.18 and kzonecheck 3.2 do not check ZONEMD.
    ("broken-zonemd", "zonemd", true, false, false),
    ("broken-tampered", "bad-signature", true, true, true),
    ("broken-nosig", "missing-signature", true, true, true),
    // ldns-verify-zone verifies with the RRSIG's original TTL and says nothing.
    ("broken-origttl", "original-ttl", false, true, true),
    // dnssec-verify does not look at signatures on glue (ldns-verify-zone and kzonecheck
    // reject this one because the copied signature does not verify over the glue).
    ("broken-glue", "signed-glue", true, false, true),
    ("broken-nsec", "missing-nsec", true, true, true),
    ("broken-nsecbitmap", "nsec-bitmap", true, true, true),
    ("broken-nsecglue", "nsec-on-glue", true, true, true),
    ("broken-nsec3", "missing-nsec", true, true, true),
    // ldns-verify-zone and dnssec-verify see only the NSEC3's broken signature (the flag
    // was cleared after signing); neither says the insecure delegation it leaves out is now
    // denied. kzonecheck says "wrong NSEC3 opt-out".
    ("broken-nsec3-optout", "nsec3-opt-out", true, true, true),
    // ldns-verify-zone and kzonecheck accept 200 NSEC3 iterations; validators then call
    // denials insecure.
    (
        "broken-nsec3-iter200",
        "nsec3-iterations",
        false,
        true,
        false,
    ),
    // ldns-verify-zone accepts a DNSKEY RRset signed by the ZSK alone.
    ("broken-dnskey", "dnskey-not-sep-signed", false, true, true),
    // ldns-verify-zone and kzonecheck accept an RRset signed by one of two algorithms (RFC
    // 6840 5.11 lets validators do so; RFC 4035 2.2 still requires the zone to be signed
    // by both).
    ("broken-missingalg", "missing-algorithm", false, true, false),
];

#[test]
fn every_fixture_gives_its_exit_code_and_finding() {
    for (name, code, _, _, _) in CASES {
        let r = check(name, &[]);
        assert!(r.stderr.is_empty(), "{name}: {}", r.stderr);
        let last = r.stdout.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("zone example.test.: "),
            "{name}: {}",
            r.stdout
        );
        if code.is_empty() {
            assert_eq!(r.code, 0, "{name}: {r:?}");
            assert!(last.contains("; 0 errors, 0 warnings"), "{name}: {last}");
        } else {
            assert_eq!(r.code, 1, "{name}: {r:?}");
            let first = r.stdout.lines().next().unwrap_or_default();
            assert!(first.starts_with("error "), "{name}: {first}");
            assert!(
                r.stdout.contains(&format!(" {code} ")),
                "{name}: {}",
                r.stdout
            );
        }
    }
}

#[test]
fn agrees_with_ldns_verify_zone_dnssec_verify_and_kzonecheck() {
    let ldns =
        dane_testenv::find_program("ldns-verify-zone", "ldnsutils").expect("ldns-verify-zone");
    let bind =
        dane_testenv::find_program("dnssec-verify", "bind9-dnsutils").expect("dnssec-verify");
    // scripts/install-test-deps installs it: a missing kzonecheck fails the test.
    let knot = dane_testenv::find_program("kzonecheck", "knot-dnssecutils").expect("kzonecheck");
    for (name, code, ldns_rejects, bind_rejects, knot_rejects) in CASES {
        let file = zone(name);
        let mut cmd = Command::new(&ldns);
        cmd.arg(&file);
        let l = run_command(cmd, None);
        assert_eq!(l.code != 0, *ldns_rejects, "ldns-verify-zone {name}: {l:?}");
        let mut cmd = Command::new(&bind);
        cmd.args(["-q", "-o", "example.test.", &file]);
        let b = run_command(cmd, None);
        assert_eq!(b.code != 0, *bind_rejects, "dnssec-verify {name}: {b:?}");
        // -t: the same time as ours (YYYYMMDDhhmmss), inside every fixture's windows.
        let mut cmd = Command::new(&knot);
        cmd.args([
            "-d",
            "on",
            "-o",
            "example.test.",
            "-t",
            "20260601000000",
            &file,
        ]);
        let k = run_command(cmd, None);
        assert_eq!(k.code != 0, *knot_rejects, "kzonecheck {name}: {k:?}");
        // Whatever a peer rejects, we reject too (and more: see CASES).
        let ours = check(name, &[]);
        assert_eq!(ours.code != 0, !code.is_empty(), "{name}: {ours:?}");
        assert!(
            !(*ldns_rejects || *bind_rejects || *knot_rejects) || ours.code == 1,
            "{name}"
        );
    }
}

#[test]
fn at_judges_the_validity_window() {
    let r = check("good-ldns", &["--at", "2036-01-02"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("error signature-expired example.test. SOA key 43635: expired at 2036-01-01T00:00:00Z, checked at 2036-01-02T00:00:00Z"),
        "{}",
        r.stdout
    );
    let r = check("good-ldns", &["--at", "2024-12-31"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("error signature-not-yet-valid "),
        "{}",
        r.stdout
    );
}

#[test]
fn expiring_signatures_warn_and_strict_makes_them_exit_4() {
    let soon = ["--at", "2035-12-20", "--expire-within", "30d"];
    let r = check("good-bind", &soon);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with("warning expires-soon example.test. SOA: 25 signature(s) expire within 2592000s of 2035-12-20T00:00:00Z; the first at 2036-01-01T00:00:00Z"),
        "{}",
        r.stdout
    );
    let mut strict = soon.to_vec();
    strict.push("--strict");
    assert_eq!(check("good-bind", &strict).code, 4);
    assert_eq!(check("good-bind", &["--strict"]).code, 0);
    let r = check("good-bind", &["--expire-within", "soon"]);
    assert_eq!(r.code, 2, "{r:?}");
    // Signed 2025-01-01T00:00:00Z; checked half an hour later with a one-hour margin.
    let fresh = ["--at", "2025-01-01T00:30:00Z", "--inception-margin", "1h"];
    let r = check("good-ldns", &fresh);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with("warning inception-too-recent example.test. SOA: 24 signature(s) became valid less than 3600s before 2025-01-01T00:30:00Z; the latest at 2025-01-01T00:00:00Z"),
        "{}",
        r.stdout
    );
    let r = check(
        "good-ldns",
        &["--at", "2025-01-01T01:00:00Z", "--inception-margin", "1h"],
    );
    assert!(!r.stdout.contains("inception-too-recent"), "{}", r.stdout);
}

#[test]
fn json_is_one_versioned_document() {
    let r = check("broken-missingalg", &["--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let doc: Doc = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(doc.version, 1);
    assert_eq!(doc.zone, "example.test.");
    assert_eq!(doc.checked_at, AT);
    assert_eq!(doc.findings.len(), 1, "{doc:?}");
    let f = &doc.findings[0];
    assert_eq!(
        (
            f.severity.as_str(),
            f.code.as_str(),
            f.owner.as_str(),
            f.rtype.as_str(),
            f.key_tag
        ),
        ("error", "missing-algorithm", "www.example.test.", "A", None)
    );
    assert!(f.what.contains("algorithm 8 (RSASHA256)"), "{}", f.what);
    assert!(f.rfc.contains("RFC 4035 2.2"), "{}", f.rfc);
    assert_eq!((doc.summary.errors, doc.summary.warnings), (1, 0));
    assert_eq!(doc.summary.counts.get("missing-algorithm"), Some(&1));
    assert_eq!(doc.summary.records, 76);
    assert_eq!(doc.summary.signatures_checked, doc.summary.signatures_valid);

    let r = check("broken-tampered", &["--json"]);
    let doc: Doc = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(doc.findings[0].key_tag, Some(43635));
    assert_eq!(
        doc.summary.signatures_valid + 1,
        doc.summary.signatures_checked
    );
}

#[test]
fn include_is_relative_to_the_including_file_and_stdin_works() {
    // The test runs in crates/dane-cli; split.zone's `$INCLUDE split-part.zone` is found
    // next to it all the same.
    let r = check("split", &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(" 51 records"), "{}", r.stdout);

    // NSD's verifier: the zone on stdin, its name in $VERIFY_ZONE (good-bind.zone's first
    // lines are comments, so the name cannot come from a leading SOA).
    let text = std::fs::read(zone("good-bind")).unwrap();
    let mut cmd = crate::common::dane();
    cmd.args(["zone", "check", "-", "--at", AT])
        .env("VERIFY_ZONE", "example.test");
    let r = run_command(cmd, Some(&text));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("zone example.test.: "), "{}", r.stdout);
    let r = run_stdin(
        &["zone", "check", "-", "--at", AT, "--origin", "example.test"],
        Some(&text),
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn bad_input_is_one_line_naming_file_and_line_exit_2() {
    let bad = temp_file(
        "zone-bad.zone",
        b"$TTL 60\n@ SOA ns. h. 1 2 3 4 5\nwww A 192.0.2.300\n",
    );
    let r = run(&["zone", "check", &bad, "--origin", "example.test."]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("zone-bad.zone:3: A RDATA: bad IPv4 address \"192.0.2.300\""),
        "{}",
        r.stderr
    );

    let looped = temp_file(
        "zone-loop.zone",
        b"$TTL 60\n@ SOA ns. h. 1 2 3 4 5\n$INCLUDE zone-loop.zone\n",
    );
    let r = run(&["zone", "check", &looped, "--origin", "example.test."]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("includes itself"), "{}", r.stderr);

    let missing = run(&["zone", "check", "/nonexistent/zone"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing.stderr.contains("/nonexistent/zone: cannot read"),
        "{}",
        missing.stderr
    );

    let no_soa = temp_file(
        "zone-nosoa.zone",
        b"$TTL 60\nwww.example.test. A 192.0.2.1\n",
    );
    let r = run(&["zone", "check", &no_soa]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("the first record is not an SOA; give the zone's name with --origin"),
        "{}",
        r.stderr
    );
}

#[test]
fn tlsa_records_against_the_certificate_or_key_about_to_be_deployed() {
    let owner = "_25._tcp.mx.example.test";
    let pki = |f: &str| fixture(&format!("pki/{f}"));
    // The zone's TLSA is 3 1 1 of leaf-ec's key (fixtures/zone/generate.sh).
    for (flag, file, code) in [
        ("--chain", "chain-ec.pem", 0),
        ("--cert", "leaf-ec.pem", 0),
        ("--key", "leaf-ec.key", 0),
        ("--chain", "chain-rsa.pem", 1),
        ("--key", "leaf-rsa.key", 1),
    ] {
        let path = pki(file);
        let r = check("good-ldns", &[flag, &path, "--for", owner]);
        assert_eq!(r.code, code, "{flag} {file}: {r:?}");
        if code == 1 {
            assert!(
                r.stdout.starts_with("error tlsa-mismatch _25._tcp.mx.example.test. TLSA: the TLSA RRset will not match the new "),
                "{flag} {file}: {}",
                r.stdout
            );
        }
    }
    let r = check(
        "good-ldns",
        &["--cert", &pki("leaf-ec.pem"), "--for", "www.example.test"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("no TLSA RRset at this owner"),
        "{}",
        r.stdout
    );
    let r = check("good-ldns", &["--for", owner]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let r = check("good-ldns", &["--cert", &pki("leaf-ec.pem")]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn several_owners_and_several_certificates_in_one_run() {
    let mx = "_25._tcp.mx.example.test";
    let pki = |f: &str| fixture(&format!("pki/{f}"));
    let (ec, rsa, ec_key) = (pki("leaf-ec.pem"), pki("chain-rsa.pem"), pki("leaf-ec.key"));
    // Every file matches at the one owner.
    let r = check(
        "good-ldns",
        &[
            "--cert",
            &ec,
            "--key",
            &ec_key,
            "--chain",
            &pki("chain-ec.pem"),
            "--for",
            mx,
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    // A second owner without TLSA: one finding, for that owner only.
    let r = check(
        "good-ldns",
        &[
            "--cert",
            &ec,
            "--for",
            mx,
            "--for",
            "_465._tcp.mx.example.test",
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let errors: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("error "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stdout);
    assert!(
        errors[0].starts_with("error tlsa-mismatch _465._tcp.mx.example.test. TLSA: "),
        "{}",
        errors[0]
    );
    // A dual-certificate server (ECDSA and RSA): the RSA one is not matched, and the
    // finding names its file.
    let r = check("good-ldns", &["--cert", &ec, "--chain", &rsa, "--for", mx]);
    assert_eq!(r.code, 1, "{r:?}");
    let errors: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("error "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stdout);
    assert!(
        errors[0].contains(&format!("--chain {rsa}: ")),
        "{}",
        errors[0]
    );
}

#[test]
fn ds_of_the_parent_must_match_a_key_that_signs_the_dnskey_rrset() {
    let parent = fixture("zone/parent.ds");
    let wrong = fixture("zone/wrong.ds");
    assert_eq!(check("good-ldns", &["--ds", &parent]).code, 0);
    let r = check("good-ldns", &["--ds", &wrong]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .starts_with("error ds-mismatch example.test. DS: none of the 1 DS records given"),
        "{}",
        r.stdout
    );
    // The KSK is in the zone but does not sign the DNSKEY RRset: the DS names it in vain.
    let r = check("broken-dnskey", &["--ds", &parent]);
    assert!(r.stdout.contains("error ds-mismatch "), "{}", r.stdout);
    let r = check("good-ldns", &["--ds", &zone("good-ldns")]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(":1: not a DS record of example.test."),
        "{}",
        r.stderr
    );
}
