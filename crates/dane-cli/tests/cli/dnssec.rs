//! `dane dnssec` against NSD serving the fixtures (private root as trust anchor).

use std::sync::OnceLock;

use serde::Deserialize;

use crate::common::{fixture, run, temp_file};

/// An NSD for one test (statics are never dropped, so a shared one would outlive the run;
/// each test starts its own and it is stopped by PID when the handle drops).
fn nsd() -> dane_testenv::Nsd {
    dane_testenv::Nsd::start_fixtures().expect("start nsd (scripts/install-test-deps)")
}

fn anchor() -> &'static str {
    static A: OnceLock<String> = OnceLock::new();
    A.get_or_init(|| fixture("dns/anchors/root.ds"))
}

fn dnssec(nsd: &dane_testenv::Nsd, extra: &[&str]) -> crate::common::Run {
    let server = format!("127.0.0.1:{}", nsd.port());
    let mut args = vec![
        "dnssec",
        "--resolver",
        &server,
        "--no-iterate",
        "--trust-anchor",
        anchor(),
        "--at",
        "2026-06-01T00:00:00Z",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn verdicts_map_to_exit_codes_and_readable_output() {
    let nsd = nsd();
    let r = dnssec(&nsd, &["www.alg8.test", "A"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("www.alg8.test. 3600 IN A 192.0.2.1"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(";; verdict: secure: records"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("DS 25102 8 2 matches DNSKEY 25102"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);

    let r = dnssec(&nsd, &["www.tampered.test"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("[signature-invalid]"), "{}", r.stdout);

    let r = dnssec(&nsd, &["www.insecure.test."]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stdout.contains("[insecure-delegation]"), "{}", r.stdout);

    let r = dnssec(&nsd, &["nx.nsec3.test", "A"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("does not exist (NXDOMAIN), proven"),
        "{}",
        r.stdout
    );

    let r = dnssec(&nsd, &["www.nsec.test", "txt"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("no records of this type (NODATA), proven"),
        "{}",
        r.stdout
    );
}

#[test]
fn at_changes_the_verdict() {
    let nsd = nsd();
    let server = format!("127.0.0.1:{}", nsd.port());
    // Every fixture signature ends 2036-01-01.
    let r = run(&[
        "dnssec",
        "--resolver",
        &server,
        "--no-iterate",
        "--trust-anchor",
        anchor(),
        "--at",
        "2036-06-01",
        "www.alg8.test",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains("expired at 2036-01-01T00:00:00Z, checked at 2036-06-01T00:00:00Z"),
        "{}",
        r.stdout
    );
    // expired.test's www A signature ended 2025-06-01: valid before.
    let r = run(&[
        "dnssec",
        "--resolver",
        &server,
        "--no-iterate",
        "--trust-anchor",
        anchor(),
        "--at",
        "2025-03-01",
        "www.expired.test",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[derive(Debug, Deserialize)]
struct Doc {
    version: u32,
    checked_at: String,
    verdict: String,
    answer: String,
    reason: Option<ReasonDoc>,
    links: Vec<LinkDoc>,
    trace: Vec<StepDoc>,
    signatures_checked: u32,
}

#[derive(Debug, Deserialize)]
struct ReasonDoc {
    code: String,
    detail: String,
}

#[derive(Debug, Deserialize)]
struct LinkDoc {
    name: String,
    rtype: String,
    verdict: String,
    zone: Option<String>,
    records: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct StepDoc {
    kind: String,
    name: String,
    detail: String,
}

#[test]
fn json_schema_from_the_consumer_side() {
    let nsd = nsd();
    let r = dnssec(&nsd, &["--json", "to-alg8.cname.test", "A"]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc: Doc = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc.version, 1);
    assert_eq!(doc.checked_at, "2026-06-01T00:00:00Z");
    assert_eq!(
        (doc.verdict.as_str(), doc.answer.as_str()),
        ("secure", "records")
    );
    assert!(doc.reason.is_none());
    let names: Vec<(&str, &str, &str)> = doc
        .links
        .iter()
        .map(|l| (l.name.as_str(), l.rtype.as_str(), l.verdict.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("to-alg8.cname.test.", "CNAME", "secure"),
            ("www.alg8.test.", "A", "secure")
        ]
    );
    assert_eq!(doc.links[1].zone.as_deref(), Some("alg8.test."));
    assert_eq!(
        doc.links[1].records,
        vec!["www.alg8.test. 3600 IN A 192.0.2.1"]
    );
    assert!(
        doc.trace
            .iter()
            .any(|s| s.kind == "zone-cut" && s.name == "alg8.test."),
        "{:?}",
        doc.trace
    );
    assert!(
        doc.trace
            .iter()
            .any(|s| s.kind == "alias" && s.detail.contains("-> www.alg8.test."))
    );
    assert!(doc.signatures_checked >= 5);

    let r = dnssec(&nsd, &["--json", "www.dsbadkey.test"]);
    assert_eq!(r.code, 1, "{r:?}");
    let doc: Doc = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc.verdict, "bogus");
    let reason = doc.reason.unwrap();
    assert_eq!(reason.code, "ds-no-matching-key");
    assert!(
        reason.detail.contains("dsbadkey.test."),
        "{}",
        reason.detail
    );
}

#[test]
fn indeterminate_without_an_answer_or_an_anchor() {
    // Nothing listens on port 9 of 127.0.0.1 (UDP: port unreachable): the resolver fails
    // the capability check, a local fault (indeterminate, the resolver named), and with
    // --no-iterate nothing else is asked (never the real root servers from a test).
    let r = run(&[
        "dnssec",
        "--resolver",
        "127.0.0.1:9",
        "--no-iterate",
        "--trust-anchor",
        anchor(),
        "www.alg8.test",
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout
            .contains("unsuitable resolver: asked for the root DNSKEY with DO and CD, resolver 127.0.0.1:9 unreachable"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.lines().count(), 1, "one line: {}", r.stdout);
    // An anchor for another tree only: alg13.test.'s DS, as its parent publishes it, so the
    // resolver passes the capability check on that anchor (NSD serves alg13.test. signed)
    // and, under --no-iterate, nothing beyond NSD is asked; www.alg8.test is under no anchor.
    let nsd = nsd();
    let ds = crate::common::fixture_text("dns/zones/test.zone")
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 8 && f[0] == "alg13.test." && f[3] == "DS").then(|| f[4..].join(" "))
        })
        .expect("alg13.test. DS in fixtures/dns/zones/test.zone");
    let other = temp_file("other.ds", format!("alg13.test. IN DS {ds}\n").as_bytes());
    let server = format!("127.0.0.1:{}", nsd.port());
    let r = run(&[
        "dnssec",
        "--resolver",
        &server,
        "--no-iterate",
        "--trust-anchor",
        &other,
        "www.alg8.test",
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("[no-trust-anchor]"), "{}", r.stdout);
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_2() {
    let bad_anchor = temp_file("bad.ds", b". IN DS 1 8 2 not-hex\n");
    for (args, want) in [
        (
            vec!["dnssec", "--resolver", "127.0.0.1", "www.example", "NOPE"],
            "unknown record type",
        ),
        (
            vec!["dnssec", "--resolver", "127.0.0.1", "www.example", "ANY"],
            "cannot be validated",
        ),
        (
            vec!["dnssec", "--resolver", "not-an-address", "www.example"],
            "resolver address",
        ),
        (
            vec![
                "dnssec",
                "--resolver",
                "127.0.0.1",
                "--trust-anchor",
                "/nonexistent/anchor",
                "x.example",
            ],
            "--trust-anchor /nonexistent/anchor: cannot read: no such file",
        ),
        (
            vec![
                "dnssec",
                "--resolver",
                "127.0.0.1",
                "--trust-anchor",
                &bad_anchor,
                "x.example",
            ],
            "not hex",
        ),
        (
            vec![
                "dnssec",
                "--resolver",
                "127.0.0.1",
                "--at",
                "yesterday",
                "x.example",
            ],
            "--at",
        ),
        (
            vec!["dnssec", "--resolver", "127.0.0.1", "a..b"],
            "not a valid DNS name",
        ),
        (vec!["dnssec"], "NAME"),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
}

/// The readable output, whole, for a positive answer, a denial and a bogus answer
/// (`fixtures/dns/golden/`; rewrite with DANE_UPDATE_GOLDEN=1 after a deliberate change).
#[test]
fn text_output_matches_the_goldens() {
    let nsd = nsd();
    let update = std::env::var_os("DANE_UPDATE_GOLDEN").is_some_and(|v| v == "1");
    for (name, rtype, file) in [
        ("www.alg8.test", "A", "dnssec-www.alg8.test-A.txt"),
        ("nx.nsec3.test", "A", "dnssec-nx.nsec3.test-A.txt"),
        (
            "to-tampered.cname.test",
            "A",
            "dnssec-to-tampered.cname.test-A.txt",
        ),
    ] {
        let r = dnssec(&nsd, &[name, rtype]);
        let path = crate::common::root().join("fixtures/dns/golden").join(file);
        if update {
            std::fs::write(&path, &r.stdout).unwrap();
            continue;
        }
        let want =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            r.stdout,
            want,
            "{name} {rtype} differs from {}",
            path.display()
        );
    }
}

/// Issue 10: a zone signed with 512-bit RSA keys validates (as Unbound and BIND do) and the
/// `weak-key` warning names the zone, key tag and size, in the text and in `--json`.
#[test]
fn weak_rsa_keys_validate_with_a_warning() {
    let zones = std::path::PathBuf::from(fixture("dns/replay/zones"));
    let nsd = dane_testenv::Nsd::start(&zones).expect("start nsd");
    let server = format!("127.0.0.1:{}", nsd.port());
    let anchor = fixture("dns/replay/anchor.ds");
    let base = [
        "dnssec",
        "--resolver",
        &server,
        "--no-iterate",
        "--trust-anchor",
        &anchor,
        "--at",
        "2026-06-01T00:00:00Z",
    ];
    let mut args = base.to_vec();
    args.extend(["www.rsa512.replay", "A"]);
    let r = run(&args);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(";; verdict: secure"), "{}", r.stdout);
    let warning = r
        .stdout
        .lines()
        .find(|l| l.starts_with(";; warning:"))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(
        warning.contains("rsa512.replay.")
            && warning.contains("512-bit")
            && warning.ends_with("[weak-key]"),
        "{warning}"
    );
    args.push("--json");
    let r = run(&args);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let w = &doc["warnings"][0];
    assert_eq!(w["code"], "weak-key");
    assert_eq!(w["zone"], "rsa512.replay.");
    assert_eq!(w["key_bits"], 512);
    assert!(w["key_tag"].as_u64().is_some());
}

/// An anchor that matches no key of the root DNSKEY RRset the resolver serves (a stale
/// anchor after a rollover) is named as the fault, not the resolver's handling of DNSSEC
/// records; a PEM certificate given as an anchor is recognised.
#[test]
fn a_stale_anchor_is_named_as_such() {
    let nsd = nsd();
    let server = format!("127.0.0.1:{}", nsd.port());
    let stale = temp_file(
        "stale.ds",
        format!(". 3600 IN DS 25102 8 2 {}\n", "00".repeat(32)).as_bytes(),
    );
    let r = run(&[
        "dnssec",
        "nonexistent.test",
        "--resolver",
        &server,
        "--no-iterate",
        "--trust-anchor",
        &stale,
        "--at",
        "2026-06-01T00:00:00Z",
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout.contains("fix: check --trust-anchor: it matches no key of the DNSKEY RRset (a stale anchor after a key rollover, or a resolver serving another root)"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("passes DNSSEC records through"),
        "{}",
        r.stdout
    );
    let pem = fixture("pki/leaf-rsa.pem");
    let r = run(&["dnssec", "x.example", "--trust-anchor", &pem]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.starts_with(&format!(
            "dane: --trust-anchor {pem}: a PEM file (a certificate or key), not DNSSEC trust anchors"
        )),
        "{}",
        r.stderr
    );
}

/// `--format dot|svg|html` (issue 26): every zone and every key tag of the JSON trace is in
/// the picture (the SVG drawn by dane itself), the HTML holds the SVG, the text and the
/// JSON document.
#[test]
fn the_picture_shows_every_zone_and_key_of_the_trace() {
    let nsd = nsd();
    let json = dnssec(&nsd, &["www.alg8.test", "A", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let svg = dnssec(&nsd, &["www.alg8.test", "A", "--format", "svg"]);
    assert_eq!(svg.code, 0, "{svg:?}");
    assert!(svg.stdout.contains("<svg"), "{}", svg.stdout);
    let text = crate::picture::svg_text(&svg.stdout);
    let mut zones = 0;
    for step in doc["trace"].as_array().unwrap() {
        let (kind, name, detail) = (
            step["kind"].as_str().unwrap(),
            step["name"].as_str().unwrap(),
            step["detail"].as_str().unwrap(),
        );
        if kind == "ds-match" {
            zones += 1;
            assert!(text.contains(&format!(">{name}<")), "zone {name}");
            // "DS TAG ALG DT matches DNSKEY TAG ...".
            let tag = detail.split(' ').nth(1).unwrap();
            assert!(text.contains(&format!("id={tag}")), "key {tag}");
        }
    }
    assert!(zones >= 2, "{}", json.stdout);
    let dot = dnssec(&nsd, &["www.alg8.test", "A", "--format", "dot"]);
    assert!(dot.stdout.starts_with("digraph dane {"), "{}", dot.stdout);
    let html = dnssec(&nsd, &["www.alg8.test", "A", "--format", "html"]);
    assert_eq!(html.code, 0);
    assert!(html.stdout.contains("<svg") && html.stdout.contains("&quot;trace&quot;"));
    // --json and --format conflict.
    assert_eq!(
        dnssec(&nsd, &["www.alg8.test", "--json", "--format", "dot"]).code,
        2
    );
}
