//! `dane verify --service` end to end against the servers people run for each service
//! (Dovecot IMAP/POP3, Postfix submission/smtps, Prosody XMPP, nginx), found through SRV
//! records with TLSA at the SRV targets (RFC 7673), in the interop environment: every row
//! of `fixtures/interop/services.tsv` (verdict, reason, exit code, replay of its own
//! evidence), and every chain dane was presented compared with what `openssl s_client`
//! (`-starttls imap|pop3|smtp|xmpp|xmpp-server`, `-servername`, `-xmpphost`) is presented
//! at the same address with the same name. With `DANE_RECORD_EVIDENCE=1` the evidence is
//! written to `fixtures/interop/evidence/services/`, which the last test replays offline
//! (no root, no network).
//!
//! Needs root (network namespaces); CI runs as root. Every dane and openssl process runs
//! inside the namespace.

use std::path::PathBuf;

use dane_testenv::interop::{
    Interop, SNI_MAIL, SNI_WWW, ServiceScenario, interop_dir, service_scenarios,
};
use dane_testenv::schema::SchemaDoc;
use serde_json::Value;

use dane_e2e::{fixture, run};

fn evidence_dir() -> PathBuf {
    interop_dir().join("evidence/services")
}

/// `dane verify` for a service scenario, inside the namespace.
fn dane_verify(env: &Interop, s: &ServiceScenario, extra: &[&str]) -> (i32, String, String) {
    let mut cmd = env.command(dane_e2e::dane_bin());
    cmd.env("NO_COLOR", "1").arg("verify");
    if s.service == "https" {
        cmd.arg(format!("www.{}", s.domain));
    } else {
        cmd.arg(&s.domain);
    }
    // The namespace's names point at documentation addresses (192.0.2.0/24,
    // 2001:db8::/32), which the default address policy refuses.
    cmd.args(["--service", &s.service])
        .arg("--trust-anchor")
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

/// The SHA-256 of each certificate's SubjectPublicKeyInfo (hex), leaf first, that
/// `openssl s_client -showcerts` is presented at ADDRESS:PORT with SNI `sni`, speaking
/// the service's dialogue (for XMPP, the stream is addressed to `xmpp_domain`); computed by
/// openssl pipelines, no dane code.
fn openssl_chain(
    env: &Interop,
    service: &str,
    address: &str,
    port: u64,
    sni: &str,
    xmpp_domain: &str,
) -> Result<Vec<String>, String> {
    let starttls = match service {
        "imap" => "-starttls imap",
        "pop3" => "-starttls pop3",
        "submission" => "-starttls smtp",
        "xmpp-client" => "-starttls xmpp",
        "xmpp-server" => "-starttls xmpp-server",
        _ => "",
    };
    let xmpphost = if service.starts_with("xmpp") {
        format!("-xmpphost {xmpp_domain}")
    } else {
        String::new()
    };
    let connect = if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    };
    let script = format!(
        "set -eu\nd=$(mktemp -d)\ntrap 'rm -rf \"$d\"' EXIT\n\
         timeout 20 openssl s_client -connect {connect} {starttls} {xmpphost} -servername {sni} \
         -showcerts </dev/null >\"$d/out\" 2>\"$d/err\" || {{ cat \"$d/err\" >&2; exit 1; }}\n\
         awk -v d=\"$d\" '/-----BEGIN CERTIFICATE-----/ {{ n++; on = 1 }} on {{ print > (d \"/\" n \".pem\") }} /-----END CERTIFICATE-----/ {{ on = 0 }}' \"$d/out\"\n\
         i=1\nwhile [ -f \"$d/$i.pem\" ]; do\n  \
         openssl x509 -in \"$d/$i.pem\" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1\n  \
         i=$((i + 1))\ndone\n"
    );
    let out = env
        .command("bash")
        .args(["-c", &script])
        .output()
        .expect("run openssl in the namespace");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// SHA-256 of a fixture certificate's SPKI (hex), by openssl.
fn spki_of(pem: &str) -> String {
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            "openssl x509 -in \"$1\" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1",
            "spki",
            &fixture(pem),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

#[test]
fn every_service_scenario_verdict_reason_exit_chain_and_replay() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let record = std::env::var_os("DANE_RECORD_EVIDENCE").is_some();
    let work = std::env::temp_dir().join(format!("dane-interop-services-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let (rsa, ec) = (spki_of("pki/leaf-rsa.pem"), spki_of("pki/leaf-ec.pem"));
    let all = service_scenarios().unwrap();
    assert!(all.len() >= 46, "{} scenarios", all.len());
    let mut failures = Vec::new();
    let mut compared = 0;
    // Every live document and every bundle it saved, checked against their JSON Schemas.
    let mut documents = Vec::new();
    for s in &all {
        let label = format!("{} {}", s.service, s.domain);
        let file = work.join(s.evidence_name());
        let file_arg = file.to_str().unwrap();
        let (code, stdout, stderr) = dane_verify(&env, s, &["--json", "--save-evidence", file_arg]);
        documents.push(SchemaDoc::new("verify", &label, &stdout));
        if let Ok(bundle) = std::fs::read_to_string(&file) {
            documents.push(SchemaDoc::new("verify-evidence", file_arg, bundle));
        }
        let doc: Value = match serde_json::from_str(&stdout) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{label}: no JSON ({e}): {stdout}{stderr}"));
                continue;
            }
        };
        let hosts = doc["hosts"].as_array().cloned().unwrap_or_default();
        let reasons: Vec<&str> = std::iter::once(str_of(&doc, "reason"))
            .chain(hosts.iter().map(|h| str_of(&h["verdict"], "reason")))
            .collect();
        if str_of(&doc, "verdict") != s.expected_verdict
            || code != s.expected_exit
            || !reasons.iter().any(|r| r.contains(&s.reason))
        {
            failures.push(format!(
                "{label}: got {} (exit {code}, {reasons:?}), want {} (exit {}, reason with {:?}); stderr {stderr}",
                str_of(&doc, "verdict"),
                s.expected_verdict,
                s.expected_exit,
                s.reason
            ));
            continue;
        }
        // Replays offline from its own evidence to the same document and exit code.
        let replay = std::process::Command::new(dane_e2e::dane_bin())
            .args(["verify", "--evidence", file_arg, "--json"])
            .output()
            .unwrap();
        if replay.status.code() != Some(code) || String::from_utf8_lossy(&replay.stdout) != stdout {
            failures.push(format!(
                "{label}: the replay differs (exit {:?}): {}",
                replay.status.code(),
                String::from_utf8_lossy(&replay.stderr)
            ));
        }
        if record {
            std::fs::create_dir_all(evidence_dir()).unwrap();
            std::fs::copy(&file, evidence_dir().join(s.evidence_name())).unwrap();
        }
        // Every chain dane was presented is the chain openssl is presented with the same
        // SNI (the TLSA base domain under DANE, else the host name: RFC 7671 section 8.1).
        for h in &hosts {
            let base = h["tlsa"]["base"].as_str();
            let sni = base.unwrap_or(str_of(h, "name")).trim_end_matches('.');
            for e in h["endpoints"].as_array().into_iter().flatten() {
                let ours: Vec<String> = e["chain"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| str_of(c, "spki_sha256").to_string())
                    .collect();
                if ours.is_empty() {
                    continue;
                }
                let address = str_of(e, "address");
                let port = e["port"].as_u64().unwrap();
                match openssl_chain(&env, &s.service, address, port, sni, &s.domain) {
                    Ok(theirs) if theirs == ours => compared += 1,
                    Ok(theirs) => failures.push(format!(
                        "{label} {address} port {port} SNI {sni}: dane saw {ours:?}, openssl {theirs:?}"
                    )),
                    Err(e) => failures.push(format!("{label} {address}: openssl s_client: {e}")),
                }
                // The SNI scenarios: the base domain selected the certificate.
                let want_leaf = match (s.domain.as_str(), sni) {
                    ("sni.test", SNI_MAIL | SNI_WWW) => Some(&ec),
                    ("sni-other.test", _) => Some(&rsa),
                    _ => None,
                };
                if let Some(want) = want_leaf {
                    if ours.first() != Some(want) {
                        failures.push(format!("{label}: SNI {sni} gave leaf {:?}", ours.first()));
                    }
                }
            }
        }
    }
    std::fs::remove_dir_all(&work).ok();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    dane_testenv::schema::assert_valid(&documents);
    // Both addresses of every scenario that reaches a TLS handshake: 2 x (8 verified + 8
    // mismatch + 8 insecure-SRV + 3 + 3 SNI).
    assert_eq!(compared, 60, "chains compared with openssl");
}

/// The same server, two names: with the TLSA base domain as SNI the server presents the
/// certificate the records match; with the other name (what a client that sent the host
/// name, or no SNI, would get) the one they do not. Seen by openssl alone.
#[test]
fn sni_selects_the_certificate_on_dovecot_postfix_and_nginx() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let (rsa, ec) = (spki_of("pki/leaf-rsa.pem"), spki_of("pki/leaf-ec.pem"));
    for (service, address, port, name) in [
        ("imap", "192.0.2.40", 143, SNI_MAIL),
        ("imaps", "2001:db8::40", 993, SNI_MAIL),
        ("pop3", "192.0.2.40", 110, SNI_MAIL),
        ("submission", "192.0.2.40", 587, SNI_MAIL),
        ("smtps", "2001:db8::40", 465, SNI_MAIL),
        ("https", "192.0.2.34", 443, SNI_WWW),
    ] {
        let chosen = openssl_chain(&env, service, address, port, name, "").unwrap();
        assert_eq!(chosen.first(), Some(&ec), "{service} with SNI {name}");
        let other = openssl_chain(&env, service, address, port, "other.sni.test", "").unwrap();
        assert_eq!(other.first(), Some(&rsa), "{service} with another SNI");
    }
}

/// Every service scenario replayed from its recorded evidence: the verdict and exit code
/// of `services.tsv`, with no network, no namespace and no root.
#[test]
fn service_scenarios_replay_from_recorded_evidence() {
    for s in service_scenarios().unwrap() {
        let file = evidence_dir().join(s.evidence_name());
        assert!(
            file.exists(),
            "{}: no recorded evidence (record it as root: DANE_RECORD_EVIDENCE=1 cargo test -p dane-e2e services)",
            file.display()
        );
        let r = run(&["verify", "--evidence", file.to_str().unwrap(), "--json"]);
        let doc: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(
            (str_of(&doc, "verdict"), r.code),
            (s.expected_verdict.as_str(), s.expected_exit),
            "{} {}: {}",
            s.service,
            s.domain,
            str_of(&doc, "reason")
        );
    }
    // The text report names an SRV target's priority as such, not as an MX preference.
    let file = evidence_dir().join("imap.svc-ok.test.json");
    let r = run(&["verify", "--evidence", file.to_str().unwrap()]);
    assert!(
        r.stdout.contains("mail.svc-ok.test. (SRV priority 0)") && !r.stdout.contains("(MX "),
        "{}",
        r.stdout
    );
}

/// `dane serve-metrics` without `--allow-ports`: a scraped domain's SRV record takes the
/// exporter only to the service's registered port and only when the SRV RRset is signed.
/// svc-nostarttls.test's `_imaps._tcp` SRV names port 143 (not 993): not probed
/// (indeterminate, no endpoint series); svc-insecure.test's SRV is unsigned: not
/// protected, no endpoint; svc-ok.test on 993: verified. With `--allow-ports` the port-143
/// target is probed (and fails: plaintext there).
#[test]
fn serve_metrics_follows_srv_only_to_registered_ports() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let exporter = |extra: &[&str]| {
        dane_testenv::Listening::spawn(
            env.command(dane_e2e::dane_bin())
                .args([
                    "serve-metrics",
                    "--listen",
                    "127.0.0.1:0",
                    "--timeout",
                    "10",
                    // The interop names point at documentation addresses.
                    "--allow-private",
                ])
                .arg("--trust-anchor")
                .arg(env.anchor_ds())
                .args(extra),
            "dane serve-metrics: listening on ",
        )
    };
    let scrape = |e: &dane_testenv::Listening, domain: &str, module: &str| {
        let script = format!(
            "exec 3<>/dev/tcp/127.0.0.1/{}; printf 'GET /probe?target={domain}&module={module} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; cat <&3",
            e.addr.trim_start_matches("127.0.0.1:")
        );
        let out = env.command("bash").args(["-c", &script]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        text
    };
    let state = |domain: &str, module: &str, state: &str| {
        format!(
            "dane_domain_verdict{{domain=\"{domain}.\",service=\"{module}\",state=\"{state}\"}} 1"
        )
    };
    let strict = exporter(&[]);
    for (domain, module, verdict, probed) in [
        ("svc-ok.test", "imaps", "verified", true),
        ("svc-nostarttls.test", "imaps", "indeterminate", false),
        ("svc-insecure.test", "imap", "not-protected", false),
    ] {
        let text = scrape(&strict, domain, module);
        assert!(
            text.contains(&state(domain, module, verdict)),
            "{domain} {module}: {text}"
        );
        assert_eq!(
            text.contains("\ndane_verified{"),
            probed,
            "{domain} {module}: {text}"
        );
    }
    let open = exporter(&["--allow-ports"]);
    let text = scrape(&open, "svc-nostarttls.test", "imaps");
    assert!(
        text.contains(&state("svc-nostarttls.test", "imaps", "failed")),
        "{text}"
    );
    assert!(text.contains("\ndane_verified{"), "{text}");
}
