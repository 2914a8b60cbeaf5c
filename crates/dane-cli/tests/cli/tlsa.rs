//! `dane tlsa generate` and `dane tlsa match`: outputs, exit codes, every bad-input case,
//! the JSON schema from the consumer's side. Agreement with ldns-dane, danetool,
//! hash-slinger and the zone checkers is in the e2e suite (`tests/e2e/tests/e2e/tools.rs`).

use serde::Deserialize;

use crate::common::{fixture, fixture_text, run, run_stdin, temp_file};

fn pki(name: &str) -> String {
    fixture(&format!("pki/{name}"))
}

/// openssl-computed association data (lower-case hex) from fixtures/pki/golden/certs.txt.
fn g(cert: &str, selector: u8, mtype: u8) -> String {
    fixture_text("pki/golden/certs.txt")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| {
            f[0] == format!("{cert}.pem")
                && f[1] == selector.to_string()
                && f[2] == mtype.to_string()
        })
        .map(|f| f[3].to_owned())
        .unwrap_or_else(|| panic!("no golden for {cert} {selector} {mtype}"))
}

fn up(hex: &str) -> String {
    hex.to_ascii_uppercase()
}

// ----------------------------------------------------------------------------- generate

#[test]
fn generate_default_is_3_1_1_rdata_only() {
    let r = run(&["tlsa", "generate", "--cert", &pki("leaf-rsa.pem")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("3 1 1 {}\n", up(&g("leaf-rsa", 1, 1))));
    assert_eq!(r.stderr, "");
}

#[test]
fn generate_recommended_matches_the_golden_zone_lines() {
    let r = run(&[
        "tlsa",
        "generate",
        "--recommended",
        "--cert",
        &pki("chain-rsa.pem"),
        "--name",
        "mx1.example.test",
        "--ttl",
        "3600",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        fixture_text("pki/golden/generate-recommended.txt")
    );
}

#[test]
fn generate_every_selector_and_mtype_by_number_and_mnemonic() {
    for (s, sname) in [(0u8, "Cert"), (1, "SPKI")] {
        for (m, mname) in [(0u8, "Full"), (1, "SHA2-256"), (2, "SHA2-512")] {
            for leaf in ["leaf-rsa", "leaf-ec", "leaf-ed25519", "leaf-p384"] {
                let want = format!("3 {s} {m} {}\n", up(&g(leaf, s, m)));
                let by_number = run(&[
                    "tlsa",
                    "generate",
                    "--cert",
                    &pki(&format!("{leaf}.pem")),
                    "--usage",
                    "3",
                    "--selector",
                    &s.to_string(),
                    "--mtype",
                    &m.to_string(),
                ]);
                assert_eq!(by_number.stdout, want, "{leaf} {s} {m}");
                let by_name = run(&[
                    "tlsa",
                    "generate",
                    "--cert",
                    &pki(&format!("{leaf}.pem")),
                    "--usage",
                    "dane-ee",
                    "--selector",
                    sname,
                    "--mtype",
                    mname,
                ]);
                assert_eq!(by_name.stdout, want, "{leaf} {sname} {mname}");
            }
        }
    }
}

#[test]
fn generate_ca_usage_from_a_chain_uses_the_issuer() {
    let r = run(&[
        "tlsa",
        "generate",
        "--cert",
        &pki("chain-ec.pem"),
        "--usage",
        "DANE-TA",
    ]);
    assert_eq!(
        r.stdout,
        format!("2 1 1 {}\n", up(&g("intermediate-ca", 1, 1)))
    );
    let single = run(&[
        "tlsa",
        "generate",
        "--cert",
        &pki("root-ca.pem"),
        "--usage",
        "2",
        "--selector",
        "0",
    ]);
    assert_eq!(
        single.stdout,
        format!("2 0 1 {}\n", up(&g("root-ca", 0, 1)))
    );
}

#[test]
fn generate_from_keys_pubkeys_and_csr() {
    let golden = fixture_text("pki/golden/keys.txt");
    for line in golden.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f[3] != "1" {
            continue;
        }
        let flag = format!("--{}", f[1]);
        let r = run(&["tlsa", "generate", &flag, &pki(f[0])]);
        assert_eq!(r.code, 0, "{line}: {}", r.stderr);
        assert_eq!(r.stdout, format!("3 1 1 {}\n", up(f[4])), "{line}");
    }
}

#[test]
fn generate_several_inputs_give_several_lines_in_flag_order() {
    let r = run(&[
        "tlsa",
        "generate",
        "--csr",
        &pki("next.csr"),
        "--cert",
        &pki("leaf-rsa.pem"),
        "--name",
        "MX1.example.TEST.",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let next_key = fixture_text("pki/golden/keys.txt")
        .lines()
        .find(|l| l.starts_with("next.csr csr 1 1 "))
        .map(|l| l.rsplit(' ').next().unwrap().to_owned())
        .unwrap();
    assert_eq!(
        r.stdout,
        format!(
            "_25._tcp.mx1.example.test. IN TLSA 3 1 1 {}\n_25._tcp.mx1.example.test. IN TLSA 3 1 1 {}\n",
            up(&g("leaf-rsa", 1, 1)),
            up(&next_key)
        )
    );
}

#[test]
fn generate_owner_port_proto_idn_and_generic_format() {
    let r = run(&[
        "tlsa",
        "generate",
        "--cert",
        &pki("leaf-ec.pem"),
        "--name",
        "bücher.example",
        "--port",
        "443",
        "--proto",
        "udp",
        "--ttl",
        "300",
        "--format",
        "generic",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "_443._udp.xn--bcher-kva.example. 300 IN TYPE52 \\# 35 030101{}\n",
            up(&g("leaf-ec", 1, 1))
        )
    );
    let bare = run(&[
        "tlsa",
        "generate",
        "--cert",
        &pki("leaf-ec.pem"),
        "--format",
        "generic",
    ]);
    assert_eq!(
        bare.stdout,
        format!("\\# 35 030101{}\n", up(&g("leaf-ec", 1, 1)))
    );
}

#[derive(Debug, Deserialize)]
struct GenerateDoc {
    version: u32,
    records: Vec<GeneratedRecord>,
}

#[derive(Debug, Deserialize)]
struct GeneratedRecord {
    source: String,
    owner: Option<String>,
    ttl: Option<u32>,
    usage: u8,
    selector: u8,
    matching_type: u8,
    usage_name: Option<String>,
    data: String,
    presentation: String,
    generic: String,
}

#[test]
fn generate_json_schema() {
    let r = run(&[
        "tlsa",
        "generate",
        "--recommended",
        "--cert",
        &pki("chain-ed25519.pem"),
        "--name",
        "mx3.example.test",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: GenerateDoc = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc.version, 1);
    assert_eq!(doc.records.len(), 2);
    let leaf = &doc.records[0];
    assert!(
        leaf.source.ends_with("chain-ed25519.pem"),
        "{}",
        leaf.source
    );
    assert_eq!(leaf.owner.as_deref(), Some("_25._tcp.mx3.example.test."));
    assert_eq!(leaf.ttl, None);
    assert_eq!((leaf.usage, leaf.selector, leaf.matching_type), (3, 1, 1));
    assert_eq!(leaf.usage_name.as_deref(), Some("DANE-EE"));
    assert_eq!(leaf.data, g("leaf-ed25519", 1, 1));
    assert_eq!(leaf.presentation, format!("3 1 1 {}", up(&leaf.data)));
    assert!(leaf.generic.starts_with("\\# 35 030101"));
    assert_eq!(doc.records[1].data, g("intermediate-ca", 1, 1));
    assert_eq!(doc.records[1].usage, 2);
}

// ---------------------------------------------------------------------------- bad input

/// Bad input: exit 2, nothing on stdout, exactly one line on stderr naming the input and
/// containing `problem`.
fn check_bad(args: &[&str], input: Option<&[u8]>, names: &str, problem: &str) {
    let r = run_stdin(args, input);
    assert_eq!(
        r.code, 2,
        "{args:?}: stdout {:?} stderr {:?}",
        r.stdout, r.stderr
    );
    assert_eq!(r.stdout, "", "{args:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {:?}", r.stderr);
    assert!(r.stderr.starts_with("dane: "), "{:?}", r.stderr);
    assert!(
        r.stderr.contains(names),
        "{args:?}: {:?} lacks {names:?}",
        r.stderr
    );
    assert!(
        r.stderr.contains(problem),
        "{args:?}: {:?} lacks {problem:?}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{:?}", r.stderr);
}

#[test]
fn generate_bad_inputs() {
    let generate = |flag: &'static str, path: String| -> Vec<String> {
        vec!["tlsa".into(), "generate".into(), flag.into(), path]
    };
    let cases: Vec<(Vec<String>, &str, &str)> = vec![
        (
            generate("--cert", pki("README.md")),
            "--cert",
            "not PEM or DER",
        ),
        (
            generate(
                "--cert",
                temp_file("garbage.der", &[0x30, 0x05, 0x02, 0x01, 0x00, 0xff, 0xff]),
            ),
            "--cert",
            "malformed DER",
        ),
        (
            generate(
                "--cert",
                temp_file(
                    "garbage.pem",
                    b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                ),
            ),
            "--cert",
            "certificate 1: malformed DER",
        ),
        (
            generate(
                "--cert",
                temp_file(
                    "badarmour.pem",
                    b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
                ),
            ),
            "--cert",
            "PEM armour does not decode",
        ),
        (
            generate("--cert", pki("leaf-rsa.key")),
            "--cert",
            "no CERTIFICATE PEM block (found: PRIVATE KEY)",
        ),
        (
            generate("--cert", temp_file("empty.pem", b"")),
            "empty.pem",
            "empty file",
        ),
        (
            generate("--cert", temp_file("blank.pem", b"\n  \n")),
            "blank.pem",
            "empty file",
        ),
        (
            generate("--cert", "/nonexistent/cert.pem".into()),
            "--cert /nonexistent/cert.pem",
            "cannot read",
        ),
        (
            generate("--key", pki("unsupported-ed448.key")),
            "--key",
            "unsupported key type: Ed448",
        ),
        (
            generate("--key", pki("leaf-rsa.pem")),
            "--key",
            "no PRIVATE KEY",
        ),
        (
            generate("--pubkey", pki("leaf-rsa.key")),
            "--pubkey",
            "no PUBLIC KEY",
        ),
        (
            generate("--csr", pki("leaf-rsa.pem")),
            "--csr",
            "no CERTIFICATE REQUEST",
        ),
    ];
    for (args, names, problem) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        check_bad(&args, None, names, problem);
    }
    let cert = pki("leaf-rsa.pem");
    check_bad(
        &[
            "tlsa",
            "generate",
            "--recommended",
            "--cert",
            &pki("chain-rsa-unordered.pem"),
        ],
        None,
        "--cert",
        "is not the issuer of the first",
    );
    check_bad(
        &[
            "tlsa",
            "generate",
            "--usage",
            "2",
            "--cert",
            &pki("chain-rsa-unordered.pem"),
        ],
        None,
        "--cert",
        "put the chain in order",
    );
    check_bad(
        &["tlsa", "generate", "--cert", &cert, "--usage", "DANE-XX"],
        None,
        "--usage \"DANE-XX\"",
        "unknown certificate usage",
    );
    check_bad(
        &["tlsa", "generate", "--cert", &cert, "--selector", "7x"],
        None,
        "--selector",
        "unknown selector",
    );
    check_bad(
        &["tlsa", "generate", "--cert", &cert, "--mtype", "SHA256"],
        None,
        "--mtype",
        "unknown matching type",
    );
    check_bad(
        &["tlsa", "generate", "--cert", &cert, "--mtype", "PrivMatch"],
        None,
        "--cert",
        "no defined computation",
    );
    check_bad(
        &[
            "tlsa",
            "generate",
            "--key",
            &pki("leaf-ec.key"),
            "--selector",
            "0",
        ],
        None,
        "--key",
        "needs a certificate",
    );
    check_bad(
        &["tlsa", "generate", "--cert", &cert, "--name", "bad name"],
        None,
        "--name \"bad name\"",
        "invalid DNS name",
    );
}

#[test]
fn usage_errors_from_clap_exit_2() {
    for args in [
        vec!["tlsa", "generate"],
        vec!["tlsa", "generate", "--cert", "x", "--proto", "sctp2"],
        vec!["tlsa", "generate", "--cert", "x", "--port", "70000"],
        vec![
            "tlsa",
            "generate",
            "--cert",
            "x",
            "--recommended",
            "--usage",
            "2",
        ],
        vec!["tlsa", "match", "--record", "3 1 1 00"],
        vec!["tlsa", "match", "--chain", "x"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
    }
}

#[test]
fn help_has_examples() {
    for sub in ["generate", "match"] {
        let r = run(&["tlsa", sub, "--help"]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("Examples:"), "{sub}");
        assert!(r.stdout.contains(&format!("dane tlsa {sub}")), "{sub}");
    }
}

// -------------------------------------------------------------------------------- match

#[test]
fn match_authenticates_with_exit_0_and_a_table() {
    let r = run(&[
        "tlsa",
        "match",
        "--chain",
        &pki("chain-rsa.pem"),
        "--record",
        &format!("3 1 1 {}", g("leaf-rsa", 1, 1)),
        "--record",
        &format!("DANE-TA SPKI SHA2-256 {}", g("intermediate-ca", 1, 1)),
        "--name",
        "mx1.example.test",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("#  RECORD"), "{}", r.stdout);
    // Canonical order (RFC 4034 6.3): 2 1 1 sorts before 3 1 1, whatever the input order;
    // matched records are shown whole.
    assert!(
        lines[1].starts_with(&format!("1  2 1 1 {} ", up(&g("intermediate-ca", 1, 1))))
            && lines[1].contains("matched")
            && lines[1].contains(" 1 "),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!("2  3 1 1 {} ", up(&g("leaf-rsa", 1, 1))))
            && lines[2].contains("matched")
            && lines[2].contains(" 0 "),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("authenticated: record 1 (2 1 1)"),
        "{}",
        lines[3]
    );
}

/// Issue 12.10: PKIX usages offline, with --ca-file (and --system-roots): a `1 1 1` of the
/// leaf and a `0 1 1` of the intermediate count only when the chain validates for --name.
#[test]
fn match_pkix_usages_with_a_ca_file() {
    let ee = format!("1 1 1 {}", g("leaf-rsa", 1, 1));
    let ta = format!("0 1 1 {}", g("intermediate-ca", 1, 1));
    let base = |extra: &[&str]| {
        let chain = pki("chain-rsa.pem");
        let mut args = vec![
            "tlsa", "match", "--chain", &chain, "--record", &ee, "--record", &ta,
        ];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&refs)
    };
    let root = pki("root-ca.pem");
    // Without anchors: unusable, as before.
    let r = base(&["--name", "mx1.example.test"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout.matches("unusable").count(), 4, "{}", r.stdout);
    // With the test root: both match, at the depth the DEPTH column gives.
    let r = base(&["--name", "mx1.example.test", "--ca-file", &root]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = r.stdout.replace(&root, "ROOT");
    crate::verify::golden("tlsa-match-pkix.txt", &out);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].contains("matched  1      matches at depth 1; PKIX validation passed"),
        "{out}"
    );
    assert!(
        lines[2].contains("matched  0      matches at depth 0; PKIX validation passed"),
        "{out}"
    );
    // The wrong name: PKIX fails, so the records are rejected.
    let r = base(&["--name", "other.example.test", "--ca-file", &root]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout.matches("rejected").count(), 2, "{}", r.stdout);
    // The system store does not hold the test root.
    if std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").is_file() {
        let r = base(&["--name", "mx1.example.test", "--system-roots"]);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stdout.contains("PKIX validation failed"), "{}", r.stdout);
    }
    // With --smtp they stay unusable (RFC 7672 3.1.3).
    let r = base(&["--name", "mx1.example.test", "--ca-file", &root, "--smtp"]);
    assert_eq!(r.code, 1, "{r:?}");
    // PKIX needs a name; a bad anchor file is an input error.
    let r = base(&["--ca-file", &root]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--ca-file needs --name"), "{}", r.stderr);
    let r = base(&["--name", "mx1.example.test", "--ca-file", &pki("README.md")]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--ca-file"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn match_fails_with_exit_1() {
    // Right issuer digest, wrong name: DANE-TA rejects.
    let r = run(&[
        "tlsa",
        "match",
        "--chain",
        &pki("chain-rsa.pem"),
        "--record",
        &format!("2 1 1 {}", g("intermediate-ca", 1, 1)),
        "--name",
        "mx2.example.test",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("rejected"), "{}", r.stdout);
    assert!(r.stdout.contains("NOT authenticated"), "{}", r.stdout);
    // The forged chain: the twin's hash is present, the leaf does not chain to it.
    let forged = run(&[
        "tlsa",
        "match",
        "--chain",
        &pki("chain-forged.pem"),
        "--record",
        &format!("2 1 1 {}", g("intermediate-twin", 1, 1)),
        "--name",
        "mx1.example.test",
    ]);
    assert_eq!(forged.code, 1, "{}", forged.stdout);
    assert!(forged.stdout.contains("signature"), "{}", forged.stdout);
}

#[test]
fn match_at_time_expired_leaf() {
    let ee = format!("3 1 1 {}", g("leaf-expired", 1, 1));
    let ta = format!("2 1 1 {}", g("intermediate-ca", 1, 1));
    let chain = pki("chain-expired.pem");
    let r = run(&["tlsa", "match", "--chain", &chain, "--record", &ee]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = run(&[
        "tlsa",
        "match",
        "--chain",
        &chain,
        "--record",
        &ta,
        "--name",
        "expired.example.test",
        "--at",
        "2030-01-01",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("expired at 2021-01-01T00:00:00Z, checked at 2030-01-01T00:00:00Z"),
        "{}",
        r.stdout
    );
    check_bad(
        &[
            "tlsa",
            "match",
            "--chain",
            &chain,
            "--record",
            &ee,
            "--at",
            "yesterday",
        ],
        None,
        "--at",
        "not an RFC 3339 time",
    );
}

#[test]
fn match_records_file_and_stdin_with_unusable_records() {
    let fragment = format!(
        "; a zone fragment\n$ORIGIN example.test.\n$TTL 3600\n\
         _25._tcp.mx1 IN TLSA 3 1 1 ( {}\n  )\n\
         _25._tcp.mx1 IN TLSA 3 1 1 abcd ; wrong length: unusable\n\
         _25._tcp.mx1 IN TLSA 4 1 1 {} ; unassigned usage: unusable\n\
         _25._tcp.mx1 IN RRSIG TLSA 13 5 3600 20300101000000 20260101000000 1 example.test. AAAA\n",
        g("leaf-rsa", 1, 1),
        g("leaf-rsa", 1, 1)
    );
    let path = temp_file("records.zone", fragment.as_bytes());
    for (args, input) in [
        (vec!["--records", path.as_str()], None),
        (vec!["--records", "-"], Some(fragment.as_bytes())),
    ] {
        let chain = pki("chain-rsa.pem");
        let mut all = vec!["tlsa", "match", "--chain", chain.as_str()];
        all.extend(args);
        let r = run_stdin(&all, input);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let status = |l: &&str| l.split_whitespace().nth(5) == Some("unusable");
        assert_eq!(r.stdout.lines().filter(status).count(), 2, "{}", r.stdout);
        assert!(r.stdout.contains("matched"));
    }
    let only_bad = temp_file("bad.zone", b"3 1 1 abcd\n");
    let r = run(&[
        "tlsa",
        "match",
        "--chain",
        &pki("chain-rsa.pem"),
        "--records",
        &only_bad,
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("none of the 1 record(s) is usable"),
        "{}",
        r.stdout
    );
}

#[test]
fn match_bad_inputs() {
    let chain = pki("chain-rsa.pem");
    let ok = format!("3 1 1 {}", g("leaf-rsa", 1, 1));
    let m = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec!["tlsa".into(), "match".into()];
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    let syntax = temp_file("syntax.zone", b"3 1 1 00\n3 1 1 abc\n");
    let comments = temp_file("comments.zone", b"; nothing here\n");
    let empty = temp_file("empty.zone", b"");
    let cases: Vec<(Vec<String>, &str, &str)> = vec![
        (
            m(&["--chain", &chain, "--record", "3 1 1 abc"]),
            "--record \"3 1 1 abc\"",
            "odd number of hex digits",
        ),
        (
            m(&["--chain", &chain, "--record", "3 1 1 abcd"]),
            "--record",
            "needs 32 octets of data, the record has 2",
        ),
        (
            m(&["--chain", &chain, "--record", "DANE-XX 1 1 00"]),
            "--record",
            "unknown certificate usage \"DANE-XX\"",
        ),
        (
            m(&["--chain", &chain, "--record", "4 1 1 00"]),
            "--record",
            "certificate usage 4 is unassigned",
        ),
        (
            m(&["--chain", &chain, "--record", "3 1 1"]),
            "--record",
            "missing certificate association data",
        ),
        (
            m(&["--chain", &chain, "--records", &syntax]),
            "--records",
            "line 2: odd number of hex digits",
        ),
        (
            m(&["--chain", &chain, "--records", &comments]),
            "--records",
            "no TLSA records found",
        ),
        (
            m(&["--chain", &chain, "--records", &empty]),
            "--records",
            "empty file",
        ),
        (
            m(&["--chain", "/nonexistent/chain.pem", "--record", &ok]),
            "--chain /nonexistent/chain.pem",
            "cannot read",
        ),
        (
            m(&["--chain", &pki("README.md"), "--record", &ok]),
            "--chain",
            "not PEM or DER",
        ),
        (
            m(&["--chain", &pki("next.csr"), "--record", &ok]),
            "--chain",
            "no CERTIFICATE PEM block",
        ),
        (
            m(&[
                "--chain",
                &chain,
                "--record",
                &ok,
                "--name",
                "bad name.example",
            ]),
            "--name",
            "invalid DNS name",
        ),
    ];
    for (args, names, problem) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        check_bad(&args, None, names, problem);
    }
    check_bad(
        &["tlsa", "match", "--chain", &chain, "--records", "-"],
        Some(b""),
        "--records -",
        "empty file",
    );
}

#[derive(Debug, Deserialize)]
struct MatchDoc {
    version: u32,
    verdict: String,
    reason: String,
    at: String,
    reference_ids: Vec<String>,
    chain_length: usize,
    records: Vec<MatchRecord>,
}

#[derive(Debug, Deserialize)]
struct MatchRecord {
    index: usize,
    record: RecordJson,
    status: String,
    depth: Option<usize>,
    unusable: Option<UnusableJson>,
    detail: String,
}

#[derive(Debug, Deserialize)]
struct RecordJson {
    usage: u8,
    selector: u8,
    matching_type: u8,
    data: String,
}

#[derive(Debug, Deserialize)]
struct UnusableJson {
    kind: String,
}

#[test]
fn match_json_schema() {
    let r = run(&[
        "tlsa",
        "match",
        "--json",
        "--chain",
        &pki("chain-ec-full.pem"),
        "--record",
        &format!("2 0 2 {}", g("root-ca", 0, 2)),
        "--record",
        &format!("1 1 1 {}", g("leaf-ec", 1, 1)),
        "--name",
        "x.mail.example.test",
        "--at",
        "2030-01-01T00:00:00Z",
        "--smtp",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let doc: MatchDoc = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc.version, 1);
    assert_eq!(doc.verdict, "authenticated");
    assert!(doc.reason.contains("record 2 (2 0 2)"), "{}", doc.reason);
    assert_eq!(doc.at, "2030-01-01T00:00:00Z");
    assert_eq!(doc.reference_ids, vec!["x.mail.example.test"]);
    assert_eq!(doc.chain_length, 3);
    assert_eq!(doc.records.len(), 2);
    // Canonical order: 1 1 1 before 2 0 2.
    let ta = &doc.records[1];
    assert_eq!(
        (ta.index, ta.status.as_str(), ta.depth),
        (1, "matched", Some(2))
    );
    assert_eq!(
        (ta.record.usage, ta.record.selector, ta.record.matching_type),
        (2, 0, 2)
    );
    assert_eq!(ta.record.data, g("root-ca", 0, 2));
    assert!(ta.detail.contains("x.mail.example.test"), "{}", ta.detail);
    let pkix = &doc.records[0];
    assert_eq!(pkix.status, "unusable");
    assert_eq!(
        pkix.unusable.as_ref().map(|u| u.kind.as_str()),
        Some("pkix-usage-in-smtp")
    );
}

/// `--recommended` says on stderr why it printed no `2 1 1`: a leaf alone, or a key.
#[test]
fn generate_recommended_says_why_there_is_no_2_1_1() {
    let leaf = pki("leaf-rsa.pem");
    let r = run(&["tlsa", "generate", "--recommended", "--cert", &leaf]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, format!("3 1 1 {}\n", up(&g("leaf-rsa", 1, 1))));
    assert_eq!(
        r.stderr,
        format!(
            "dane: note: --cert {leaf}: no 2 1 1 record: the file holds only the leaf certificate, so its issuer is unknown; give the chain (leaf, then the intermediate CA) for the issuer's record\n"
        )
    );
    let key = pki("leaf-rsa.key");
    let r = run(&["tlsa", "generate", "--recommended", "--key", &key]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("no 2 1 1 record: a key names no issuer"),
        "{r:?}"
    );
    // With the chain there is a 2 1 1 and nothing to say.
    let r = run(&[
        "tlsa",
        "generate",
        "--recommended",
        "--cert",
        &pki("chain-rsa.pem"),
    ]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{r:?}");
}

/// `--records` with records of several owners: matched as one set with a warning, or
/// those of `--owner` only.
#[test]
fn match_records_of_several_owners_warns_and_takes_owner() {
    let fragment = format!(
        "_25._tcp.mx1.example.test. 3600 IN TLSA 3 1 1 {}\n_25._tcp.mx2.example.test. 3600 IN TLSA 3 1 1 {}\n",
        g("leaf-rsa", 1, 1),
        "00".repeat(32)
    );
    let path = temp_file("owners.zone", fragment.as_bytes());
    let chain = pki("chain-rsa.pem");
    let m = |extra: &[&str]| {
        let mut args = vec!["tlsa", "match", "--chain", &chain, "--records", &path];
        args.extend_from_slice(extra);
        run(&args)
    };
    let r = m(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stderr,
        format!(
            "dane: warning: --records {path}: records of 2 owners (_25._tcp.mx1.example.test., _25._tcp.mx2.example.test.) are matched as one set; pick one with --owner\n"
        )
    );
    let r = m(&["--owner", "_25._tcp.mx1.example.test"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{r:?}");
    let r = m(&["--owner", "_25._tcp.mx2.example.test."]);
    assert_eq!(r.code, 1, "the other owner's record does not match: {r:?}");
    let r = m(&["--owner", "_25._tcp.mx3.example.test"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .starts_with("dane: --owner _25._tcp.mx3.example.test.: no record of "),
        "{r:?}"
    );
}

// ------------------------------------------------------------------------ issuer families

/// A certificate of a Let's Encrypt intermediate, as shipped under `data/ca-families/`.
fn intermediate(name: &str) -> String {
    crate::common::root()
        .join("data/ca-families/letsencrypt")
        .join(name)
        .display()
        .to_string()
}

/// SPKI SHA-256 of a certificate, computed here (not read from the list).
fn spki_sha256(path: &str) -> String {
    let der = dane_tlsa::parse_certificates(&std::fs::read(path).unwrap()).unwrap();
    let spki = dane_tlsa::certificate_spki(der[0].as_ref()).unwrap();
    dane_tlsa::associate(&spki, dane_tlsa::MatchingType::Sha256)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// issue 23: a DANE-TA record for one of YE1-YE3 comes with the records of the other two,
/// and stderr says why; a DANE-EE record, or a CA the list does not know, does not.
#[test]
fn generate_a_family_member_prints_the_whole_family() {
    let r = run(&[
        "tlsa",
        "generate",
        "--cert",
        &intermediate("int-ye2.pem"),
        "--usage",
        "2",
        "--at",
        "2026-12-07",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let expected: Vec<String> = ["int-ye2.pem", "int-ye1.pem", "int-ye3.pem"]
        .iter()
        .map(|f| format!("2 1 1 {}", spki_sha256(&intermediate(f))))
        .collect();
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), expected);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "DANE-TA pins YE2 of Let's Encrypt's Generation Y (ECDSA) intermediates (YE1, YE2, YE3)"
        ) && r
            .stderr
            .contains("publish the records of YE1, YE3 too, or use 3 1 1"),
        "{}",
        r.stderr
    );
    // In JSON, the records added for the family name it.
    let r = run(&[
        "tlsa",
        "generate",
        "--cert",
        &intermediate("int-ye2.pem"),
        "--usage",
        "2",
        "--at",
        "2026-12-07",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let family: Vec<&serde_json::Value> = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["issuer_family"])
        .collect();
    assert_eq!(
        family,
        [
            &serde_json::Value::Null,
            &"letsencrypt-y-ecdsa".into(),
            &"letsencrypt-y-ecdsa".into()
        ]
    );
    // The 2024 generation, after 2026-05-13: its record, then the current generation's.
    let r = run(&[
        "tlsa",
        "generate",
        "--cert",
        &intermediate("r12.pem"),
        "--usage",
        "DANE-TA",
        "--at",
        "2026-12-07",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert_eq!(
        lines[0],
        format!("2 1 1 {}", spki_sha256(&intermediate("r12.pem")))
    );
    assert_eq!(
        lines[1],
        format!("2 1 1 {}", spki_sha256(&intermediate("int-yr1.pem")))
    );
    assert!(
        r.stderr
            .contains("which Generation Y (RSA) replaced on 2026-05-13"),
        "{}",
        r.stderr
    );
    // DANE-EE of the same certificate, and a CA not in the list: one line, no note.
    for args in [
        vec![
            "tlsa",
            "generate",
            "--cert",
            &intermediate("int-ye2.pem") as &str,
        ],
        vec![
            "tlsa",
            "generate",
            "--cert",
            &pki("intermediate-ca.pem") as &str,
            "--usage",
            "2",
        ],
    ] {
        let r = run(&args);
        assert_eq!(
            (r.code, r.stdout.lines().count(), r.stderr.as_str()),
            (0, 1, ""),
            "{args:?}"
        );
    }
}

/// `--ca-families FILE`: a list that does not know the CA prints the one record; a bad
/// file is one line naming it (exit 2, nothing on stdout).
#[test]
fn generate_with_a_ca_families_file() {
    let list = temp_file("families.json", crate::common::FAMILY_LIST);
    let ye1 = intermediate("int-ye1.pem");
    let r = run(&[
        "tlsa",
        "generate",
        "--cert",
        &ye1,
        "--usage",
        "2",
        "--ca-families",
        &list,
    ]);
    assert_eq!(
        (r.code, r.stdout.lines().count(), r.stderr.as_str()),
        (0, 1, "")
    );
    for (bytes, problem) in [
        (&b"{}"[..], "missing field `format`"),
        (
            &br#"{"format":2,"version":"t","families":[]}"#[..],
            "format 2 is not the format 1",
        ),
        (&b"\xff\xfe"[..], "not UTF-8"),
    ] {
        let bad = temp_file("bad-families.json", bytes);
        check_bad(
            &[
                "tlsa",
                "generate",
                "--cert",
                &ye1,
                "--usage",
                "2",
                "--ca-families",
                &bad,
            ],
            None,
            &format!("--ca-families {bad}"),
            problem,
        );
    }
    check_bad(
        &[
            "tlsa",
            "generate",
            "--cert",
            &ye1,
            "--ca-families",
            "/nonexistent/f.json",
        ],
        None,
        "--ca-families /nonexistent/f.json",
        "cannot read",
    );
}

/// `--recommended` from a chain whose issuer is YE1 (fixtures/ca-families/chain-ye1.pem):
/// the leaf's 3 1 1, YE1's 2 1 1, then YE2's and YE3's, with owner lines.
#[test]
fn generate_recommended_from_a_family_member_adds_the_family() {
    let chain = fixture("ca-families/chain-ye1.pem");
    let r = run(&[
        "tlsa",
        "generate",
        "--recommended",
        "--cert",
        &chain,
        "--name",
        "mx.example.test",
        "--at",
        "2026-12-07",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert!(
        lines[0].starts_with("_25._tcp.mx.example.test. IN TLSA 3 1 1 "),
        "{}",
        lines[0]
    );
    for (line, ca) in lines[1..]
        .iter()
        .zip(["int-ye1.pem", "int-ye2.pem", "int-ye3.pem"])
    {
        assert_eq!(
            *line,
            format!(
                "_25._tcp.mx.example.test. IN TLSA 2 1 1 {}",
                spki_sha256(&intermediate(ca))
            )
        );
    }
    assert!(r.stderr.contains("DANE-TA pins YE1"), "{}", r.stderr);
}
