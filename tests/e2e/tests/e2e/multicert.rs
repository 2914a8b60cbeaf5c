//! Every certificate at every address (issue 23), against real servers: the interop
//! environment's `dual` Postfix (`smtpd_tls_chain_files` with an RSA and an ECDSA key and
//! chain), nginx with two `ssl_certificate`s for `www.https-dual.test`, and Dovecot with
//! `ssl_cert` and `ssl_alt_cert` for IMAP (143 STARTTLS, 993) at `mail.svc-dual-*.test`. The chains that
//! `dane verify` finds by offering one signature-algorithm family at a time are compared
//! with what `openssl s_client -sigalgs ...` gets from the same server.

use std::collections::BTreeMap;

use dane_testenv::{Interop, Scenario};
use serde::Deserialize;

use crate::interop::dane_verify;

#[derive(Debug, Deserialize)]
struct Doc {
    verdict: String,
    reason: String,
    hosts: Vec<Host>,
    warnings: Vec<Warning>,
}

#[derive(Debug, Deserialize)]
struct Warning {
    code: String,
}

#[derive(Debug, Deserialize)]
struct Host {
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Deserialize)]
struct Endpoint {
    address: String,
    verdict: Verdict,
    algorithm: Option<String>,
    offered: Option<String>,
    #[serde(default)]
    other_offers: Vec<Offer>,
    chain: Vec<Cert>,
    fix: Option<String>,
    #[serde(default)]
    publish: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Offer {
    offered: String,
    found: String,
}

#[derive(Debug, Deserialize)]
struct Verdict {
    status: String,
    reason: String,
}

#[derive(Debug, Deserialize)]
struct Cert {
    spki_sha256: String,
}

fn scenario(domain: &str, service: &str) -> Scenario {
    Scenario {
        domain: domain.into(),
        service: service.into(),
        expected_verdict: String::new(),
        expected_exit: 0,
        description: String::new(),
    }
}

fn verify(env: &Interop, domain: &str, service: &str) -> (i32, Doc, String) {
    let (code, stdout, stderr) = dane_verify(env, &scenario(domain, service), &["--json"]);
    dane_testenv::schema::assert_valid_one("verify", domain, &stdout);
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{domain}: no JSON ({e}): {stdout}{stderr}"));
    (code, doc, stdout)
}

/// `(address, algorithm) -> (status, leaf SPKI SHA-256)` of a host's endpoints.
fn rows(host: &Host) -> BTreeMap<(String, String), (String, String)> {
    host.endpoints
        .iter()
        .map(|e| {
            (
                (e.address.clone(), e.algorithm.clone().unwrap_or_default()),
                (
                    e.verdict.status.clone(),
                    e.chain
                        .first()
                        .map(|c| c.spki_sha256.to_lowercase())
                        .unwrap_or_default(),
                ),
            )
        })
        .collect()
}

/// The SHA-256 of the leaf's SPKI that `openssl s_client` gets from `addr:port` offering
/// only `sigalgs` (TLS 1.3 and 1.2), or `None` when the handshake fails.
fn openssl_leaf(
    env: &Interop,
    addr: &str,
    port: u16,
    starttls: Option<&str>,
    sni: &str,
    sigalgs: &str,
) -> Option<String> {
    let connect = if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    };
    let starttls = starttls.map_or_else(String::new, |p| format!("-starttls {p}"));
    // s_client prints the leaf; openssl computes the SPKI digest (no dane code involved).
    let script = format!(
        "set -o pipefail; echo QUIT | timeout 20 openssl s_client -connect {connect} {starttls} \
         -servername {sni} -sigalgs {sigalgs} 2>/dev/null \
         | openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER \
         | openssl dgst -sha256 -hex | sed 's/.*= //'"
    );
    let out = env.command("bash").args(["-c", &script]).output().unwrap();
    let hex = String::from_utf8_lossy(&out.stdout).trim().to_lowercase();
    (out.status.success() && hex.len() == 64).then_some(hex)
}

const RSA_SIGALGS: &str = "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:\
                           rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512";
const ECDSA_SIGALGS: &str = "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ecdsa_secp521r1_sha512";
const EDDSA_SIGALGS: &str = "ed25519:ed448";

/// The chains dane found at each address are exactly those openssl finds offering each
/// family alone; an EdDSA-only offer finds no certificate with either, and dane's restricted
/// probe says `eddsa_found` (`no-chain` for a server that answers handshake_failure).
fn compare_with_openssl(
    env: &Interop,
    host: &Host,
    port: u16,
    starttls: Option<&str>,
    sni: &str,
    eddsa_found: &str,
) {
    let found = rows(host);
    let addresses: Vec<String> = found.keys().map(|(a, _)| a.clone()).collect();
    for addr in addresses {
        for (family, sigalgs) in [
            ("rsa", RSA_SIGALGS),
            ("ecdsa", ECDSA_SIGALGS),
            ("eddsa", EDDSA_SIGALGS),
        ] {
            let theirs = openssl_leaf(env, &addr, port, starttls, sni, sigalgs);
            let ours = found
                .get(&(addr.clone(), family.to_owned()))
                .map(|(_, spki)| spki.clone());
            assert_eq!(ours, theirs, "{sni} {addr}:{port} offering only {family}");
        }
        let usual = host
            .endpoints
            .iter()
            .find(|e| e.address == addr && e.offered.is_none())
            .unwrap();
        let eddsa = usual
            .other_offers
            .iter()
            .find(|o| o.offered == "eddsa")
            .unwrap();
        assert_eq!(eddsa.found, eddsa_found, "{addr}");
    }
}

#[test]
fn two_certificates_at_one_address_are_two_endpoints() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");

    // TLSA for the RSA key only: the ECDSA chain fails, and the reason says for whom.
    let (code, doc, _) = verify(&env, "dual-one.test", "smtp");
    assert_eq!(
        (doc.verdict.as_str(), code),
        ("partial", 1),
        "{}",
        doc.reason
    );
    assert!(
        doc.reason
            .starts_with("2 of 4 endpoints fail: mx.dual-one.test. ")
            && doc.reason.contains("(ECDSA certificate)")
            && doc
                .reason
                .ends_with("senders that do DANE and negotiate ECDSA will not deliver here"),
        "{}",
        doc.reason
    );
    let host = &doc.hosts[0];
    let r = rows(host);
    assert_eq!(r.len(), 4, "{r:?}");
    for ((addr, alg), (status, _)) in &r {
        let want = if alg == "rsa" { "verified" } else { "failed" };
        assert_eq!(status, want, "{addr} {alg}");
    }
    let ec = host
        .endpoints
        .iter()
        .find(|e| e.algorithm.as_deref() == Some("ecdsa"))
        .unwrap();
    let ec_spki = &ec.chain[0].spki_sha256;
    let fix = ec.fix.as_deref().unwrap();
    assert!(
        fix.to_lowercase()
            .starts_with(&format!("server presents 3 1 1 {}", ec_spki.to_lowercase()))
            && fix.ends_with("publish that, or deploy the key of record 1"),
        "{fix}"
    );
    assert!(
        ec.publish[0]
            .to_lowercase()
            .starts_with("_25._tcp.mx.dual-one.test. in tlsa 3 1 1 "),
        "{:?}",
        ec.publish
    );
    assert!(
        ec.verdict.reason.contains("negotiate ECDSA"),
        "{}",
        ec.verdict.reason
    );
    compare_with_openssl(&env, host, 25, Some("smtp"), "mx.dual-one.test", "no-chain");
    // Every restricted offer got an answer (a chain, or the handshake_failure of a server
    // without a certificate for the family): nothing left unchecked.
    assert!(
        !doc.warnings
            .iter()
            .any(|w| w.code == "algorithm-probe-failed"),
        "{:?}",
        doc.warnings
    );

    // TLSA for both keys: verified at every address and algorithm.
    let (code, doc, _) = verify(&env, "dual-both.test", "smtp");
    assert_eq!(
        (doc.verdict.as_str(), code),
        ("verified", 0),
        "{}",
        doc.reason
    );
    assert_eq!(
        doc.reason, "all 4 endpoints authenticate with DANE",
        "{}",
        doc.reason
    );

    // nginx with two certificates for HTTPS (RFC 7671): the same, with the words for
    // clients.
    let (code, doc, _) = verify(&env, "https-dual.test", "https");
    assert_eq!(
        (doc.verdict.as_str(), code),
        ("partial", 1),
        "{}",
        doc.reason
    );
    assert!(
        doc.reason
            .ends_with("DANE clients that negotiate ECDSA will refuse this server"),
        "{}",
        doc.reason
    );
    compare_with_openssl(
        &env,
        &doc.hosts[0],
        443,
        None,
        "www.https-dual.test",
        "no-chain",
    );

    dovecot_with_two_keys(&env);
}

/// Dovecot holding an RSA and an ECDSA key at once (`ssl_alt_cert`), IMAP through SRV
/// (RFC 7673) on 143 (STARTTLS) and 993: TLSA for the RSA key only fails the ECDSA chain at
/// each address (partial, exit 1); TLSA for both verifies all four endpoints; the chains
/// found per key algorithm are those `openssl s_client -sigalgs` gets. Dovecot (2.3, with
/// OpenSSL 3) closes the connection without a TLS alert when no certificate fits an
/// EdDSA-only offer ("no suitable signature algorithm" in its log; `openssl s_client` sees
/// an unexpected EOF too), so that probe is `failed`, not `no-chain`: dane cannot tell the
/// close from rate limiting, and says so (`algorithm-probe-failed`).
fn dovecot_with_two_keys(env: &Interop) {
    for (port, service, starttls) in [(143, "imap", Some("imap")), (993, "imaps", None)] {
        let s = scenario("svc-dual-one.test", service);
        let (code, stdout, stderr) = dane_verify(env, &s, &["--json", "--service", service]);
        let doc: Doc = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{service}: no JSON ({e}): {stdout}{stderr}"));
        assert_eq!(
            (doc.verdict.as_str(), code),
            ("partial", 1),
            "{service}: {}",
            doc.reason
        );
        assert!(
            doc.reason
                .starts_with("2 of 4 endpoints fail: mail.svc-dual-one.test. ")
                && doc.reason.contains("(ECDSA certificate)")
                && doc.reason.contains("negotiate ECDSA"),
            "{service}: {}",
            doc.reason
        );
        let host = &doc.hosts[0];
        let r = rows(host);
        assert_eq!(r.len(), 4, "{service}: {r:?}");
        for ((addr, alg), (status, _)) in &r {
            let want = if alg == "rsa" { "verified" } else { "failed" };
            assert_eq!(status, want, "{service} {addr} {alg}");
        }
        compare_with_openssl(
            env,
            host,
            port,
            starttls,
            "mail.svc-dual-one.test",
            "failed",
        );

        let s = scenario("svc-dual-both.test", service);
        let (code, stdout, stderr) = dane_verify(env, &s, &["--json", "--service", service]);
        let doc: Doc = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{service}: no JSON ({e}): {stdout}{stderr}"));
        assert_eq!(
            (doc.verdict.as_str(), code, doc.reason.as_str()),
            ("verified", 0, "all 4 endpoints authenticate with DANE"),
            "{service}"
        );
        compare_with_openssl(
            env,
            &doc.hosts[0],
            port,
            starttls,
            "mail.svc-dual-both.test",
            "failed",
        );
    }
}

/// A saved run with the restricted offers replays offline to the same document; without
/// them (`--no-all-certs`) the host holds one chain per address and the gap is not seen.
#[test]
fn restricted_offers_replay_and_can_be_turned_off() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let file = std::env::temp_dir().join(format!("dane-multicert-{}.json", std::process::id()));
    let file_arg = file.to_str().unwrap();
    let s = scenario("dual-one.test", "smtp");
    let (code, live, stderr) = dane_verify(&env, &s, &["--json", "--save-evidence", file_arg]);
    assert_eq!(code, 1, "{live}{stderr}");
    let replay = std::process::Command::new(dane_e2e::dane_bin())
        .args(["verify", "--evidence", file_arg, "--json"])
        .output()
        .unwrap();
    assert_eq!(replay.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&replay.stdout), live);
    // DANE_RECORD_EVIDENCE=1 keeps it for the golden files of dane-cli's tests
    // (fixtures/interop/evidence/dual-one.test.json), as the scenarios' evidence is kept.
    if std::env::var_os("DANE_RECORD_EVIDENCE").is_some() {
        let dir = dane_testenv::interop::interop_dir().join("evidence");
        std::fs::copy(&file, dir.join("dual-one.test.json")).unwrap();
    }
    let bundle = std::fs::read_to_string(&file).unwrap();
    assert!(
        bundle.contains("\"offer\": \"rsa\"") || bundle.contains("\"offer\": \"ecdsa\""),
        "the offers are recorded"
    );
    std::fs::remove_file(&file).ok();

    let (code, stdout, stderr) = dane_verify(&env, &s, &["--json", "--no-all-certs"]);
    let doc: Doc = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(doc.hosts[0].endpoints.len(), 2, "{stdout}");
    assert!(
        doc.hosts[0]
            .endpoints
            .iter()
            .all(|e| e.other_offers.is_empty())
    );
    // Which chain the usual offer gets is the server's choice; the verdict follows it.
    let _ = code;
}
