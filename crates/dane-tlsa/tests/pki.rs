//! dane-tlsa against the openssl-made PKI in fixtures/pki: generation versus the openssl
//! goldens for every certificate x selector x matching type, and a table of matching cases
//! covering what OpenSSL's test/danetest.in covers (written as our own cases).

// Tests read fixture files; helpers outside #[test] fns may unwrap (a failure is a failed test).
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use dane_tlsa::{
    CertUsage, MatchOptions, MatchingType, Pkix, RecordStatus, Selector, Source, TlsaRecord,
    Unusable, Verdict,
};
use rustls_pki_types::{CertificateDer, UnixTime};

fn pki(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/pki")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(pki(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn chain(name: &str) -> Vec<CertificateDer<'static>> {
    dane_tlsa::parse_certificates(&read(name)).unwrap()
}

fn golden(file: &str) -> Vec<Vec<String>> {
    String::from_utf8(read(&format!("golden/{file}")))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// The openssl-computed association data for a certificate, selector and matching type.
fn g(cert: &str, selector: u8, mtype: u8) -> String {
    golden("certs.txt")
        .into_iter()
        .find(|f| {
            f[0] == format!("{cert}.pem")
                && f[1] == selector.to_string()
                && f[2] == mtype.to_string()
        })
        .map(|f| f[3].clone())
        .unwrap_or_else(|| panic!("no golden for {cert} {selector} {mtype}"))
}

#[test]
fn generation_equals_openssl_for_every_cert_selector_mtype() {
    let lines = golden("certs.txt");
    assert!(lines.len() >= 60, "goldens missing");
    for f in lines {
        let chain = chain(&f[0]);
        let selector = Selector::from(f[1].parse::<u8>().unwrap());
        let mtype = MatchingType::from(f[2].parse::<u8>().unwrap());
        for usage in [
            CertUsage::DaneEe,
            CertUsage::DaneTa,
            CertUsage::PkixTa,
            CertUsage::PkixEe,
        ] {
            let r = dane_tlsa::generate(
                &Source::Certificate(chain[0].clone()),
                usage,
                selector,
                mtype,
            )
            .unwrap();
            assert_eq!(data_hex(&r), f[3], "{f:?}");
            assert_eq!(r.usage, usage);
        }
    }
}

fn data_hex(r: &TlsaRecord) -> String {
    r.data_hex().to_ascii_lowercase()
}

#[test]
fn generation_from_keys_pubkeys_and_csr_equals_openssl() {
    let lines = golden("keys.txt");
    assert!(lines.len() >= 30, "goldens missing");
    let derived = golden("derived-keys.txt");
    assert_eq!(derived.len(), 18, "derived goldens missing");
    for f in lines.into_iter().chain(derived) {
        let bytes = read(&f[0]);
        let spki = match f[1].as_str() {
            "key" => dane_tlsa::parse_private_key(&bytes),
            "pubkey" => dane_tlsa::parse_public_key(&bytes),
            "csr" => dane_tlsa::parse_csr(&bytes),
            other => panic!("kind {other}"),
        }
        .unwrap_or_else(|e| panic!("{f:?}: {e}"));
        let mtype = MatchingType::from(f[3].parse::<u8>().unwrap());
        let r = dane_tlsa::generate(
            &Source::PublicKey(spki),
            CertUsage::DaneEe,
            Selector::Spki,
            mtype,
        )
        .unwrap();
        assert_eq!(data_hex(&r), f[4], "{f:?}");
    }
}

#[test]
fn der_and_pem_inputs_agree() {
    let pem = chain("leaf-ec.pem");
    let der = chain("leaf-ec.der");
    assert_eq!(pem, der);
    let full = chain("chain-rsa-full.pem");
    assert_eq!(full.len(), 3);
    let mut concatenated = Vec::new();
    for c in &full {
        concatenated.extend_from_slice(c.as_ref());
    }
    assert_eq!(dane_tlsa::parse_certificates(&concatenated).unwrap(), full);
}

#[test]
fn recommended_set_is_leaf_3_1_1_and_issuer_2_1_1() {
    let set = dane_tlsa::recommended(&chain("chain-rsa.pem")).unwrap();
    let got: Vec<String> = set
        .iter()
        .map(|r| r.to_string().to_ascii_lowercase())
        .collect();
    assert_eq!(
        got,
        vec![
            format!("3 1 1 {}", g("leaf-rsa", 1, 1)),
            format!("2 1 1 {}", g("intermediate-ca", 1, 1)),
        ]
    );
    let single = dane_tlsa::recommended(&chain("leaf-rsa.pem")).unwrap();
    assert_eq!(single.len(), 1);
    // A chain out of order would give a DANE-TA record for the wrong CA: refused.
    let e = dane_tlsa::recommended(&chain("chain-rsa-unordered.pem")).unwrap_err();
    assert!(
        e.to_string().contains("is not the issuer of the first"),
        "{e}"
    );
    assert_eq!(dane_tlsa::issuer(&chain("leaf-rsa.pem")).unwrap(), None);
    assert_eq!(
        dane_tlsa::issuer(&chain("chain-ec-full.pem")).unwrap(),
        Some(chain("intermediate-ca.pem").remove(0))
    );
}

#[test]
fn bad_key_inputs_are_typed_errors() {
    let e = dane_tlsa::parse_private_key(&read("unsupported-ed448.key")).unwrap_err();
    assert_eq!(e.to_string(), "unsupported key type: Ed448");
    let e = dane_tlsa::parse_private_key(&read("leaf-rsa.pem")).unwrap_err();
    assert!(e.to_string().starts_with("no PRIVATE KEY"), "{e}");
    let e = dane_tlsa::parse_public_key(&read("leaf-rsa.key")).unwrap_err();
    assert!(e.to_string().starts_with("no PUBLIC KEY"), "{e}");
    let e = dane_tlsa::parse_csr(&read("leaf-rsa.pem")).unwrap_err();
    assert!(e.to_string().starts_with("no CERTIFICATE REQUEST"), "{e}");
    let e = dane_tlsa::parse_certificates(&read("next.csr")).unwrap_err();
    assert!(e.to_string().contains("found: CERTIFICATE REQUEST"), "{e}");
    // Truncated DER of a real certificate.
    let der = read("leaf-ec.der");
    let e = dane_tlsa::parse_certificates(&der[..der.len() - 10]).unwrap_err();
    assert!(
        e.to_string().starts_with("certificate 1: malformed DER"),
        "{e}"
    );
}

/// Every key type dane takes, in every container and encoding it reads, gives the
/// SubjectPublicKeyInfo openssl derives (golden/keys.txt and golden/derived-keys.txt hold
/// the digests; here the same key in each form must also give the same SPKI).
#[test]
fn every_key_type_in_every_container() {
    let spki = |f: &str| {
        dane_tlsa::parse_private_key(&read(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .as_der()
            .to_vec()
    };
    let same = |files: &[&str], public: &str| {
        let expected = dane_tlsa::parse_public_key(&read(public)).unwrap();
        for f in files {
            assert_eq!(spki(f), expected.as_der(), "{f}");
        }
    };
    // RSA: PKCS#8 and PKCS#1, PEM and DER.
    same(
        &[
            "leaf-rsa.key",
            "leaf-rsa.key.der",
            "leaf-rsa.pkcs1.key",
            "leaf-rsa.pkcs1.der",
        ],
        "leaf-rsa.pub.pem",
    );
    // P-256: PKCS#8 and SEC1, PEM and DER.
    same(
        &[
            "leaf-ec.key",
            "leaf-ec.key.der",
            "leaf-ec.sec1.key",
            "leaf-ec.sec1.der",
        ],
        "leaf-ec.pub.der",
    );
    // Ed25519: PKCS#8, PEM and DER.
    same(
        &["leaf-ed25519.key", "leaf-ed25519.key.der"],
        "leaf-ed25519.pub.pem",
    );
    // P-384 and P-521: PKCS#8 and SEC1 agree.
    assert_eq!(spki("leaf-p384.key"), spki("leaf-p384.sec1.key"));
    assert_eq!(spki("key-p521.key"), spki("key-p521.sec1.key"));
    // And the key of a certificate is the key of its private key.
    for (key, cert) in [
        ("leaf-rsa.key", "leaf-rsa.pem"),
        ("leaf-ec.key", "leaf-ec.pem"),
        ("leaf-p384.key", "leaf-p384.pem"),
        ("leaf-ed25519.key", "leaf-ed25519.pem"),
    ] {
        let r = dane_tlsa::generate(
            &Source::Certificate(chain(cert).remove(0)),
            CertUsage::DaneEe,
            Selector::Spki,
            MatchingType::Full,
        )
        .unwrap();
        assert_eq!(spki(key), r.data, "{key}");
    }
}

/// Encrypted keys are refused with a message that says so and what to do, whatever the
/// container: PKCS#8 EncryptedPrivateKeyInfo in PEM or DER, or OpenSSL's legacy PEM
/// encryption of PKCS#1 and SEC1 keys.
#[test]
fn encrypted_keys_are_a_clear_error() {
    for (file, scheme) in [
        ("leaf-rsa.enc.key", "PKCS#8, PBES2"),
        ("leaf-ec.enc.der", "PKCS#8, PBES2"),
        (
            "leaf-rsa.pkcs1.enc.key",
            "legacy OpenSSL PEM encryption, AES-256-CBC",
        ),
        (
            "leaf-ec.sec1.enc.key",
            "legacy OpenSSL PEM encryption, AES-256-CBC",
        ),
    ] {
        let e = dane_tlsa::parse_private_key(&read(file)).unwrap_err();
        assert_eq!(
            e,
            dane_tlsa::Error::EncryptedKey {
                scheme: scheme.into()
            },
            "{file}"
        );
        assert!(
            e.to_string().contains("is encrypted") && e.to_string().contains("openssl pkey"),
            "{file}: {e}"
        );
    }
}

/// EC keys dane cannot use: explicit curve parameters (SEC1 and PKCS#8), and a SEC1 key
/// stored without its public point (dane does no EC arithmetic to recompute it).
#[test]
fn unusable_ec_keys_are_typed_errors() {
    for file in ["ec-explicit.sec1.key", "ec-explicit.key"] {
        let e = dane_tlsa::parse_private_key(&read(file)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported key type: EC key with explicit curve parameters",
            "{file}"
        );
    }
    let e = dane_tlsa::parse_private_key(&read("leaf-ec.nopub.key")).unwrap_err();
    assert!(e.to_string().contains("without its public key"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Matching.

fn at(date: &str) -> UnixTime {
    // Midnight UTC of YYYY-MM-DD, computed without a date library (days from civil).
    let y: i64 = date[..4].parse().unwrap();
    let m: i64 = date[5..7].parse().unwrap();
    let d: i64 = date[8..10].parse().unwrap();
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m - 3) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(days * 86_400).unwrap()))
}

/// A year from now-ish: inside every long-lived fixture's validity, after the expired one.
fn now() -> UnixTime {
    at("2030-06-01")
}

struct Case {
    name: &'static str,
    chain: &'static str,
    records: Vec<String>,
    names: &'static [&'static str],
    pkix: Pkix,
    smtp: bool,
    at: UnixTime,
    verdict: Verdict,
    /// (status, depth) per record, in order.
    expect: Vec<(RecordStatus, Option<usize>)>,
    /// A fragment the verdict reason must contain.
    reason: &'static str,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            name: "",
            chain: "chain-rsa.pem",
            records: vec![],
            names: &[],
            pkix: Pkix::NotEvaluated,
            smtp: false,
            at: now(),
            verdict: Verdict::NotAuthenticated,
            expect: vec![],
            reason: "",
        }
    }
}

fn check(case: Case) {
    let records: Vec<TlsaRecord> = case.records.iter().map(|r| r.parse().unwrap()).collect();
    let options = MatchOptions {
        reference_ids: case.names.iter().map(|s| (*s).to_owned()).collect(),
        pkix: case.pkix.clone(),
        smtp: case.smtp,
    };
    let report = dane_tlsa::match_chain(&records, &chain(case.chain), &options, case.at)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let got: Vec<(RecordStatus, Option<usize>)> =
        report.records.iter().map(|o| (o.status, o.depth)).collect();
    assert_eq!(got, case.expect, "{}: {:#?}", case.name, report.records);
    assert_eq!(
        report.verdict, case.verdict,
        "{}: {}",
        case.name, report.reason
    );
    assert!(
        report.reason.contains(case.reason),
        "{}: reason {:?} lacks {:?}",
        case.name,
        report.reason,
        case.reason
    );
    assert_eq!(report.records.len(), records.len());
}

fn rec(usage: u8, cert: &str, selector: u8, mtype: u8) -> String {
    format!("{usage} {selector} {mtype} {}", g(cert, selector, mtype))
}

/// The right data, wrong: a digest with its last octet changed; for Full, the public key
/// (the last octet of the SubjectPublicKeyInfo) changed. A Full certificate with only its
/// signature changed would still designate the same anchor (an anchor's own signature is
/// never checked), so that would not be a wrong record.
fn wrong(usage: u8, cert: &str, selector: u8, mtype: u8) -> String {
    let mut hex = g(cert, selector, mtype);
    let flip = |c: u8| if c == b'0' { b'1' } else { b'0' };
    let at = if mtype == 0 {
        let spki = g(cert, 1, 0);
        hex.find(&spki).expect("SPKI inside the certificate") + spki.len() - 1
    } else {
        hex.len() - 1
    };
    let mut bytes = hex.into_bytes();
    bytes[at] = flip(bytes[at]);
    hex = String::from_utf8(bytes).unwrap();
    format!("{usage} {selector} {mtype} {hex}")
}

use RecordStatus::{Matched, NotMatched, Rejected, Superseded, Unusable as Unus};

#[test]
fn dane_ee_every_selector_and_matching_type_no_names_no_dates() {
    for selector in [0, 1] {
        for mtype in [0, 1, 2] {
            for chain in ["chain-rsa.pem", "chain-ec-full.pem", "leaf-ed25519.pem"] {
                let leaf = match chain {
                    "chain-rsa.pem" => "leaf-rsa",
                    "chain-ec-full.pem" => "leaf-ec",
                    _ => "leaf-ed25519",
                };
                check(Case {
                    name: "DANE-EE matches the leaf",
                    chain,
                    records: vec![rec(3, leaf, selector, mtype)],
                    // No names given, and a wrong one would not matter either.
                    names: if mtype == 1 {
                        &["wrong.example.test"]
                    } else {
                        &[]
                    },
                    verdict: Verdict::Authenticated,
                    expect: vec![(Matched, Some(0))],
                    reason: "matches the leaf certificate",
                    ..Case::default()
                });
                check(Case {
                    name: "DANE-EE wrong digest",
                    chain,
                    records: vec![wrong(3, leaf, selector, mtype)],
                    expect: vec![(NotMatched, None)],
                    reason: "no usable record matches",
                    ..Case::default()
                });
            }
            check(Case {
                name: "DANE-EE of the issuer does not match the leaf",
                records: vec![rec(3, "intermediate-ca", selector, mtype)],
                expect: vec![(NotMatched, None)],
                ..Case::default()
            });
        }
    }
}

#[test]
fn dane_ta_every_selector_and_matching_type_at_depth_1_and_2() {
    for selector in [0, 1] {
        for mtype in [0, 1, 2] {
            check(Case {
                name: "DANE-TA intermediate at depth 1",
                records: vec![rec(2, "intermediate-ca", selector, mtype)],
                names: &["mx1.example.test"],
                verdict: Verdict::Authenticated,
                expect: vec![(Matched, Some(1))],
                reason: "leaf name mx1.example.test matches",
                ..Case::default()
            });
            check(Case {
                name: "DANE-TA root at depth 2",
                chain: "chain-ec-full.pem",
                records: vec![rec(2, "root-ca", selector, mtype)],
                names: &["mx2.example.test"],
                verdict: Verdict::Authenticated,
                expect: vec![(Matched, Some(2))],
                ..Case::default()
            });
            check(Case {
                name: "DANE-TA wrong digest",
                chain: "chain-rsa-full.pem",
                records: vec![wrong(2, "intermediate-ca", selector, mtype)],
                names: &["mx1.example.test"],
                expect: vec![(NotMatched, None)],
                ..Case::default()
            });
        }
    }
    for chain in ["chain-ed25519.pem", "chain-p384.pem"] {
        check(Case {
            name: "DANE-TA with other leaf key types",
            chain,
            records: vec![rec(2, "intermediate-ca", 1, 1)],
            names: &["mx3.example.test", "mx4.example.test"],
            verdict: Verdict::Authenticated,
            expect: vec![(Matched, Some(1))],
            ..Case::default()
        });
    }
}

#[test]
fn dane_ta_chain_order_does_not_matter() {
    // Presented as leaf, root, intermediate: the root is at position 1 of the list.
    for (cert, depth) in [("root-ca", 1), ("intermediate-ca", 2)] {
        check(Case {
            name: "out-of-order chain",
            chain: "chain-rsa-unordered.pem",
            records: vec![rec(2, cert, 0, 1)],
            names: &["mx1.example.test"],
            verdict: Verdict::Authenticated,
            expect: vec![(Matched, Some(depth))],
            ..Case::default()
        });
    }
}

#[test]
fn dane_ta_root_must_be_sent_unless_full_2_1_0_or_2_0_0() {
    check(Case {
        name: "2 0 1 root not in the chain",
        records: vec![rec(2, "root-ca", 0, 1), rec(2, "root-ca", 1, 1)],
        names: &["mx1.example.test"],
        expect: vec![(NotMatched, None), (NotMatched, None)],
        ..Case::default()
    });
    check(Case {
        name: "2 1 0 root key absent from the chain",
        records: vec![rec(2, "root-ca", 1, 0)],
        names: &["mx1.example.test"],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(2))],
        // DEPTH and text in one convention: the key takes depth 2, above the
        // intermediate at depth 1 that it signs.
        reason: "key at depth 2 (not in the chain) signs the certificate at depth 1",
        ..Case::default()
    });
    check(Case {
        name: "2 1 0 intermediate key, chain is the bare leaf",
        chain: "leaf-rsa.pem",
        records: vec![rec(2, "intermediate-ca", 1, 0)],
        names: &["mx1.example.test"],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(1))],
        ..Case::default()
    });
    check(Case {
        name: "2 1 0 of an unrelated key (the twin) does not sign the leaf",
        chain: "leaf-rsa.pem",
        records: vec![rec(2, "intermediate-twin", 1, 0)],
        names: &["mx1.example.test"],
        expect: vec![(NotMatched, None)],
        ..Case::default()
    });
    check(Case {
        name: "2 0 0 root certificate absent from the chain",
        records: vec![rec(2, "root-ca", 0, 0)],
        names: &["mx1.example.test"],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(2))],
        reason: "certificate at depth 2 (not in the chain) issued the certificate at depth 1",
        ..Case::default()
    });
    check(Case {
        name: "2 0 0 intermediate certificate, chain is the bare leaf",
        chain: "leaf-rsa.pem",
        records: vec![rec(2, "intermediate-ca", 0, 0)],
        names: &["mx1.example.test"],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(1))],
        ..Case::default()
    });
    check(Case {
        name: "2 0 0 of the twin (same subject, other key) does not sign the leaf",
        chain: "leaf-rsa.pem",
        records: vec![rec(2, "intermediate-twin", 0, 0)],
        names: &["mx1.example.test"],
        expect: vec![(NotMatched, None)],
        ..Case::default()
    });
    let mut resigned = g("intermediate-ca", 0, 0);
    let last = resigned.pop().unwrap();
    resigned.push(if last == '0' { '1' } else { '0' });
    check(Case {
        name: "2 0 0 designates subject and key; the anchor's own signature is not checked",
        chain: "leaf-rsa.pem",
        records: vec![format!("2 0 0 {resigned}")],
        names: &["mx1.example.test"],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(1))],
        ..Case::default()
    });
    check(Case {
        name: "2 0 0 that is not a certificate",
        chain: "leaf-rsa.pem",
        records: vec!["2 0 0 3003020100".into()],
        names: &["mx1.example.test"],
        expect: vec![(NotMatched, None)],
        ..Case::default()
    });
    check(Case {
        name: "2 1 0 still needs the name",
        chain: "leaf-rsa.pem",
        records: vec![rec(2, "intermediate-ca", 1, 0)],
        names: &["mx2.example.test"],
        expect: vec![(Rejected, Some(1))],
        reason: "match none of [mx2.example.test]",
        ..Case::default()
    });
}

#[test]
fn dane_ta_names() {
    check(Case {
        name: "name mismatch",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        names: &["mx2.example.test"],
        expect: vec![(Rejected, Some(1))],
        reason: "leaf names [mx1.example.test] match none of [mx2.example.test]",
        ..Case::default()
    });
    check(Case {
        name: "no reference identifiers: fail closed",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        expect: vec![(Rejected, Some(1))],
        reason: "no reference identifiers",
        ..Case::default()
    });
    check(Case {
        name: "any of several reference ids; case and trailing dot ignored",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        names: &["example.test", "MX1.Example.Test."],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(1))],
        ..Case::default()
    });
    for (name, ok) in [
        ("a.mail.example.test", true),
        ("mail.example.test", false),
        ("b.a.mail.example.test", false),
        ("mx2.example.test", true),
    ] {
        check(Case {
            name: "wildcard SAN",
            chain: "chain-ec.pem",
            records: vec![rec(2, "intermediate-ca", 1, 1)],
            names: Box::leak(Box::new([name])),
            verdict: if ok {
                Verdict::Authenticated
            } else {
                Verdict::NotAuthenticated
            },
            expect: vec![(if ok { Matched } else { Rejected }, Some(1))],
            ..Case::default()
        });
    }
    check(Case {
        name: "CN used when there is no DNS SAN",
        chain: "chain-cn-only.pem",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        names: &["cn-only.example.test"],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(1))],
        ..Case::default()
    });
    check(Case {
        name: "CN ignored when a DNS SAN exists",
        chain: "chain-san-cn.pem",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        names: &["cn.example.test"],
        expect: vec![(Rejected, Some(1))],
        ..Case::default()
    });
    check(Case {
        name: "SAN used when a different CN exists",
        chain: "chain-san-cn.pem",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        names: &["san.example.test"],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(1))],
        ..Case::default()
    });
}

#[test]
fn expired_leaf_passes_dane_ee_and_fails_dane_ta() {
    check(Case {
        name: "expired leaf, DANE-EE",
        chain: "chain-expired.pem",
        records: vec![rec(3, "leaf-expired", 1, 1)],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(0))],
        ..Case::default()
    });
    check(Case {
        name: "expired leaf, DANE-TA",
        chain: "chain-expired.pem",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        names: &["expired.example.test"],
        expect: vec![(Rejected, Some(1))],
        reason: "expired at 2021-01-01T00:00:00Z, checked at 2030-06-01T00:00:00Z",
        ..Case::default()
    });
    check(Case {
        name: "valid leaf, DANE-TA, checked after everything expired",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        names: &["mx1.example.test"],
        at: at("2040-01-01"),
        expect: vec![(Rejected, Some(1))],
        reason: "checked at 2040-01-01T00:00:00Z",
        ..Case::default()
    });
    check(Case {
        name: "valid leaf, DANE-TA, checked before issuance",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        names: &["mx1.example.test"],
        at: at("2001-01-01"),
        expect: vec![(Rejected, Some(1))],
        reason: "not valid before",
        ..Case::default()
    });
}

#[test]
fn issuer_hash_present_but_signature_does_not_chain() {
    check(Case {
        name: "twin intermediate (same subject, other key) at depth 1",
        chain: "chain-forged.pem",
        records: vec![
            rec(2, "intermediate-twin", 1, 1),
            rec(2, "intermediate-twin", 0, 1),
        ],
        names: &["mx1.example.test"],
        expect: vec![(Rejected, Some(1)), (Rejected, Some(1))],
        reason: "signature",
        ..Case::default()
    });
    check(Case {
        name: "root at depth 2 above the twin",
        chain: "chain-forged-full.pem",
        records: vec![rec(2, "root-ca", 0, 1)],
        names: &["mx1.example.test"],
        expect: vec![(Rejected, Some(2))],
        ..Case::default()
    });
    check(Case {
        name: "the real intermediate's hash, not sent",
        chain: "chain-forged.pem",
        records: vec![rec(2, "intermediate-ca", 1, 1)],
        names: &["mx1.example.test"],
        expect: vec![(NotMatched, None)],
        ..Case::default()
    });
    check(Case {
        name: "DANE-EE is unaffected by the forged issuer",
        chain: "chain-forged.pem",
        records: vec![rec(3, "leaf-rsa", 1, 1)],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(0))],
        ..Case::default()
    });
}

#[test]
fn self_signed_leaf() {
    check(Case {
        name: "self-signed leaf, DANE-EE",
        chain: "leaf-selfsigned.pem",
        records: vec![rec(3, "leaf-selfsigned", 0, 1)],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(0))],
        ..Case::default()
    });
    check(Case {
        name: "DANE-TA naming the leaf itself",
        chain: "leaf-selfsigned.pem",
        records: vec![rec(2, "leaf-selfsigned", 1, 1)],
        names: &["self.example.test"],
        expect: vec![(Rejected, Some(0))],
        reason: "must designate an issuer",
        ..Case::default()
    });
}

#[test]
fn digest_agility() {
    check(Case {
        name: "a non-matching 2 1 2 makes the matching 2 1 1 ignored",
        records: vec![
            rec(2, "intermediate-ca", 1, 1),
            wrong(2, "intermediate-ca", 1, 2),
        ],
        names: &["mx1.example.test"],
        expect: vec![(Superseded, None), (NotMatched, None)],
        ..Case::default()
    });
    check(Case {
        name: "the matching 2 1 2 counts, the wrong 2 1 1 is ignored",
        records: vec![
            wrong(2, "intermediate-ca", 1, 1),
            rec(2, "intermediate-ca", 1, 2),
        ],
        names: &["mx1.example.test"],
        verdict: Verdict::Authenticated,
        expect: vec![(Superseded, None), (Matched, Some(1))],
        ..Case::default()
    });
    check(Case {
        name: "agility is per usage and selector",
        records: vec![
            rec(3, "leaf-rsa", 1, 1),
            wrong(2, "intermediate-ca", 1, 2),
            wrong(3, "leaf-rsa", 0, 2),
        ],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(0)), (NotMatched, None), (NotMatched, None)],
        ..Case::default()
    });
    check(Case {
        name: "Full is not a digest and is not superseded",
        records: vec![rec(3, "leaf-rsa", 1, 0), wrong(3, "leaf-rsa", 1, 2)],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(0)), (NotMatched, None)],
        ..Case::default()
    });
    check(Case {
        name: "an unusable (wrong-length) 3 1 2 does not supersede",
        records: vec![rec(3, "leaf-rsa", 1, 1), "3 1 2 abcd".into()],
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(0)), (Unus, None)],
        ..Case::default()
    });
}

#[test]
fn unusable_records_are_skipped_and_the_rest_counts() {
    let h = g("leaf-rsa", 1, 1);
    check(Case {
        name: "unknown and private parameters",
        records: vec![
            format!("4 1 1 {h}"),
            format!("3 2 1 {h}"),
            format!("3 1 3 {h}"),
            format!("255 1 1 {h}"),
            format!("3 255 1 {h}"),
            format!("3 1 255 {h}"),
            format!("3 1 1 {}", &h[..62]),
            rec(3, "leaf-rsa", 1, 1),
        ],
        verdict: Verdict::Authenticated,
        expect: [vec![(Unus, None); 7], vec![(Matched, Some(0))]].concat(),
        ..Case::default()
    });
    check(Case {
        name: "nothing usable",
        records: vec![format!("4 1 1 {h}"), format!("3 1 2 {h}")],
        expect: vec![(Unus, None), (Unus, None)],
        reason: "none of the 2 record(s) is usable",
        ..Case::default()
    });
    check(Case {
        name: "empty RRset",
        reason: "no TLSA records",
        ..Case::default()
    });
}

#[test]
fn pkix_usages_follow_the_callers_verdict() {
    let full = chain("chain-rsa-full.pem");
    check(Case {
        name: "no PKIX verdict: unusable",
        records: vec![rec(1, "leaf-rsa", 1, 1), rec(3, "leaf-rsa", 1, 1)],
        verdict: Verdict::Authenticated,
        expect: vec![(Unus, None), (Matched, Some(0))],
        ..Case::default()
    });
    check(Case {
        name: "SMTP: unusable even when PKIX validated",
        records: vec![rec(1, "leaf-rsa", 1, 1), rec(0, "intermediate-ca", 1, 1)],
        pkix: Pkix::Validated { path: vec![] },
        smtp: true,
        expect: vec![(Unus, None), (Unus, None)],
        ..Case::default()
    });
    check(Case {
        name: "PKIX-EE and PKIX-TA after PKIX validation",
        records: vec![
            rec(1, "leaf-rsa", 1, 1),
            rec(0, "root-ca", 0, 2),
            rec(0, "leaf-rsa", 1, 1),
        ],
        pkix: Pkix::Validated { path: full.clone() },
        verdict: Verdict::Authenticated,
        expect: vec![(Matched, Some(0)), (Matched, Some(2)), (NotMatched, None)],
        ..Case::default()
    });
    check(Case {
        name: "PKIX failed",
        records: vec![rec(1, "leaf-rsa", 1, 1)],
        pkix: Pkix::Failed {
            reason: "unknown issuer".into(),
        },
        expect: vec![(Rejected, Some(0))],
        reason: "PKIX validation failed: unknown issuer",
        ..Case::default()
    });
    let report = dane_tlsa::match_chain(
        &[rec(1, "leaf-rsa", 1, 1).parse().unwrap()],
        &chain("chain-rsa.pem"),
        &MatchOptions {
            smtp: true,
            ..MatchOptions::default()
        },
        now(),
    )
    .unwrap();
    assert_eq!(report.records[0].unusable, Some(Unusable::PkixUsageInSmtp));
}

#[test]
fn budgets_and_bad_inputs() {
    let many: Vec<TlsaRecord> = (0..=dane_tlsa::MAX_RRSET)
        .map(|_| rec(3, "leaf-rsa", 1, 1).parse().unwrap())
        .collect();
    let e = dane_tlsa::match_chain(
        &many,
        &chain("chain-rsa.pem"),
        &MatchOptions::default(),
        now(),
    );
    assert!(matches!(e, Err(dane_tlsa::Error::TooManyRecords { .. })));
    // A hostile chain: the leaf plus 31 copies of a twin whose hash every record names.
    let mut hostile = chain("leaf-rsa.pem");
    let twin = chain("intermediate-twin.pem").remove(0);
    hostile.extend(std::iter::repeat_n(twin, dane_tlsa::MAX_CERTIFICATES - 1));
    let twins: Vec<TlsaRecord> = (0..dane_tlsa::MAX_RRSET)
        .map(|_| rec(2, "intermediate-twin", 1, 1).parse().unwrap())
        .collect();
    let options = MatchOptions {
        reference_ids: vec!["mx1.example.test".into()],
        ..MatchOptions::default()
    };
    let e = dane_tlsa::match_chain(&twins, &hostile, &options, now());
    assert!(
        matches!(e, Err(dane_tlsa::Error::BudgetExceeded { .. })),
        "{e:?}"
    );
    // Within budget the same chain is simply rejected.
    let e = dane_tlsa::match_chain(&twins[..2], &hostile, &options, now()).unwrap();
    assert_eq!(e.verdict, Verdict::NotAuthenticated);
    let bad_name = MatchOptions {
        reference_ids: vec!["bad name".into()],
        ..MatchOptions::default()
    };
    let e = dane_tlsa::match_chain(&[], &chain("chain-rsa.pem"), &bad_name, now());
    assert!(matches!(e, Err(dane_tlsa::Error::DnsName { .. })));
}

#[test]
fn json_report_shape() {
    let records: Vec<TlsaRecord> = vec![
        rec(3, "leaf-rsa", 1, 1).parse().unwrap(),
        "4 1 1 00".parse().unwrap(),
    ];
    let report = dane_tlsa::match_chain(
        &records,
        &chain("chain-rsa.pem"),
        &MatchOptions::default(),
        now(),
    )
    .unwrap();
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["verdict"], "authenticated");
    assert_eq!(v["records"][0]["status"], "matched");
    assert_eq!(v["records"][0]["depth"], 0);
    assert_eq!(v["records"][0]["record"]["usage"], 3);
    assert_eq!(v["records"][0]["record"]["usage_name"], "DANE-EE");
    assert_eq!(v["records"][0]["record"]["data"], g("leaf-rsa", 1, 1));
    assert_eq!(v["records"][1]["status"], "unusable");
    assert_eq!(v["records"][1]["unusable"]["kind"], "unassigned-usage");
    assert_eq!(v["chain_length"], 2);
}

/// Deterministic xorshift, so the robustness test is reproducible without a fuzzing crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_inputs_never_panic() {
    // Every decoder and the matcher get thousands of corrupted real inputs: each must return
    // Ok or a typed Err, never panic or hang.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let der_inputs: Vec<Vec<u8>> = [
        "leaf-rsa.key",
        "leaf-rsa.pkcs1.key",
        "leaf-ec.sec1.key",
        "leaf-ed25519.key",
        "leaf-rsa.enc.key",
        "leaf-p384.sec1.key",
        "next.csr",
        "leaf-rsa.pub.pem",
        "leaf-ec.pem",
    ]
    .iter()
    .map(|f| pem::parse(read(f)).unwrap().contents().to_vec())
    .collect();
    let chain_der = chain("chain-rsa.pem");
    for round in 0..3000 {
        let mut input = der_inputs[round % der_inputs.len()].clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(input.len());
            match rng.below(3) {
                0 => input[at] ^= 1 << rng.below(8),
                1 => input.truncate(at.max(1)),
                _ => input[at] = rng.below(256) as u8,
            }
        }
        let _ = dane_tlsa::parse_private_key(&input);
        let _ = dane_tlsa::parse_public_key(&input);
        let _ = dane_tlsa::parse_csr(&input);
        if let Ok(certs) = dane_tlsa::parse_certificates(&input) {
            let mut presented = certs;
            presented.extend(chain_der.iter().skip(1).cloned());
            let records: Vec<TlsaRecord> = vec![
                rec(3, "leaf-rsa", 1, 1).parse().unwrap(),
                rec(2, "intermediate-ca", 1, 1).parse().unwrap(),
                rec(2, "intermediate-ca", 1, 0).parse().unwrap(),
            ];
            let options = MatchOptions {
                reference_ids: vec!["mx2.example.test".into()],
                ..MatchOptions::default()
            };
            let _ = dane_tlsa::match_chain(&records, &presented, &options, now());
        }
        let _ = TlsaRecord::from_rdata(&input);
    }
    let text = format!(
        "$ORIGIN example.\n_25._tcp.mx IN TLSA ( 3 1 1 {} )\n\\# 5 0301010A0B\n",
        g("leaf-rsa", 1, 1)
    );
    let alphabet = b" \t\n();\\#$0123456789abcdefABCDEF.-_INTLSAYPE";
    for _ in 0..3000 {
        let mut bytes = text.clone().into_bytes();
        for _ in 0..=rng.below(6) {
            let at = rng.below(bytes.len());
            bytes[at] = alphabet[rng.below(alphabet.len())];
        }
        let _ = dane_tlsa::parse_zone(&String::from_utf8_lossy(&bytes));
    }
}

/// Rollover pre-checks: a certificate for the next key does not exist yet (CSR, new key).
#[test]
fn match_key_decides_dane_ee_spki_only() {
    use dane_tlsa::{match_key, parse_csr};
    let next = parse_csr(&read("next.csr")).unwrap();
    let keys = golden("keys.txt");
    let next_311 = keys
        .iter()
        .find(|f| f[0] == "next.key" && f[2] == "1" && f[3] == "1")
        .map(|f| format!("3 1 1 {}", f[4]))
        .unwrap();
    let smtp = MatchOptions {
        smtp: true,
        ..MatchOptions::default()
    };
    let check = |records: &[String], verdict: Verdict, statuses: &[RecordStatus]| {
        let parsed: Vec<TlsaRecord> = records.iter().map(|r| r.parse().unwrap()).collect();
        let report = match_key(&parsed, &next, &smtp).unwrap();
        let got: Vec<_> = report.records.iter().map(|o| o.status).collect();
        assert_eq!(report.verdict, verdict, "{records:?}: {}", report.reason);
        assert_eq!(got, statuses, "{records:?}");
    };
    // The current key's record plus the next one: a certificate for the next key passes.
    check(
        &[rec(3, "leaf-rsa", 1, 1), next_311.clone()],
        Verdict::Authenticated,
        &[NotMatched, Matched],
    );
    // Only the current key: the rollover would break delivery.
    check(
        &[rec(3, "leaf-rsa", 1, 1)],
        Verdict::NotAuthenticated,
        &[NotMatched],
    );
    // 3 0 1 binds the current certificate; DANE-TA depends on the CA.
    check(
        &[rec(3, "leaf-rsa", 0, 1), rec(2, "intermediate-ca", 1, 1)],
        Verdict::NotAuthenticated,
        &[NotMatched, RecordStatus::NotEvaluated],
    );
    // Digest agility applies: a stronger digest for 3 1 supersedes the matching 3 1 1.
    check(
        &[next_311, wrong(3, "leaf-rsa", 1, 2)],
        Verdict::NotAuthenticated,
        &[Superseded, NotMatched],
    );
    // PKIX usages are unusable for SMTP.
    check(
        &[rec(1, "leaf-rsa", 1, 1)],
        Verdict::NotAuthenticated,
        &[Unus],
    );
}
