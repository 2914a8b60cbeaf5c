//! `dane tlsa generate` against the reference implementations: the same association data
//! as ldns-dane, GnuTLS danetool and hash-slinger's `tlsa` for every key type and form, and
//! generated zone lines that BIND's named-checkzone and NSD's nsd-checkzone load.

use std::process::Command;

use dane_e2e::{fixture, require_tool, run, temp_file};

fn pki(name: &str) -> String {
    fixture(&format!("pki/{name}"))
}

#[test]
fn generated_zone_lines_load_in_real_zone_checkers() {
    // The lines must paste into a zone file: BIND's named-checkzone and NSD's nsd-checkzone.
    let r = run(&[
        "tlsa",
        "generate",
        "--recommended",
        "--cert",
        &pki("chain-rsa-full.pem"),
        "--name",
        "mx1.example.test",
        "--ttl",
        "3600",
    ]);
    let generic = run(&[
        "tlsa",
        "generate",
        "--cert",
        &pki("leaf-ec.pem"),
        "--name",
        "mx2.example.test",
        "--format",
        "generic",
        "--selector",
        "0",
        "--mtype",
        "0",
    ]);
    let zone = format!(
        "$ORIGIN example.test.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n{}{}",
        r.stdout, generic.stdout
    );
    let path = temp_file("zone.example.test", zone.as_bytes());
    for (tool, package, args) in [
        (
            "named-checkzone",
            "bind9-utils",
            vec!["example.test", path.as_str()],
        ),
        ("nsd-checkzone", "nsd", vec!["example.test", path.as_str()]),
    ] {
        let Some(bin) = require_tool(tool, package) else {
            continue;
        };
        let out = Command::new(bin).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// --------------------------------------------------------------- reference implementations

/// The association data (lower-case hex) from an `ldns-dane ... create` or `danetool
/// --tlsa-rr` output line: the last hex token of the TLSA line.
fn tool_hex(output: &str) -> String {
    let line = output
        .lines()
        .find(|l| l.contains("TLSA"))
        .unwrap_or_else(|| panic!("no TLSA line in {output:?}"));
    line.split_whitespace()
        .rfind(|t| t.len() >= 40 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no data in {line:?}"))
        .to_ascii_lowercase()
}

fn ours(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    r.stdout
        .split_whitespace()
        .next_back()
        .unwrap()
        .to_ascii_lowercase()
}

#[test]
fn agrees_with_ldns_dane() {
    let Some(ldns_dane) = require_tool("ldns-dane", "ldnsutils") else {
        return;
    };
    for (name, host) in [
        ("rsa", "mx1"),
        ("ec", "mx2"),
        ("ed25519", "mx3"),
        ("p384", "mx4"),
    ] {
        let chain = pki(&format!("chain-{name}-full.pem"));
        let host = format!("{host}.example.test");
        for (u, s, m, offset) in [
            ("3", "1", "1", None),
            ("3", "0", "1", None),
            ("2", "1", "1", Some("1")),
        ] {
            let mut args = vec!["-c", chain.as_str()];
            if let Some(o) = offset {
                // -o N: the Nth certificate from the end of the chain (1 = the intermediate).
                args.extend(["-o", o]);
            }
            args.extend(["create", host.as_str(), "25", u, s, m]);
            let out = Command::new(&ldns_dane).args(&args).output().unwrap();
            assert!(
                out.status.success(),
                "ldns-dane {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let theirs = tool_hex(&String::from_utf8_lossy(&out.stdout));
            let mine = ours(&[
                "tlsa",
                "generate",
                "--cert",
                &chain,
                "--usage",
                u,
                "--selector",
                s,
                "--mtype",
                m,
            ]);
            assert_eq!(mine, theirs, "{name} {u} {s} {m}");
        }
    }
}

#[test]
fn agrees_with_danetool() {
    let Some(danetool) = require_tool("danetool", "gnutls-bin") else {
        return;
    };
    for name in ["rsa", "ec", "ed25519", "p384"] {
        let leaf = pki(&format!("leaf-{name}.pem"));
        let chain = pki(&format!("chain-{name}.pem"));
        let issuer = pki("intermediate-ca.pem");
        for (u, s, m, cert, extra) in [
            ("3", "1", "1", &leaf, vec![]),
            ("3", "0", "1", &leaf, vec!["--x509"]),
            ("2", "1", "1", &issuer, vec!["--ca"]),
        ] {
            let mut args = vec![
                "--tlsa-rr",
                "--load-certificate",
                cert.as_str(),
                "--host",
                "mx.example.test",
                "--port",
                "25",
            ];
            args.extend(extra);
            let out = Command::new(&danetool).args(&args).output().unwrap();
            assert!(
                out.status.success(),
                "danetool {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(&format!("( 0{u} 0{s} 0{m} ")), "{text}");
            let theirs = tool_hex(&text);
            let mine = ours(&[
                "tlsa",
                "generate",
                "--cert",
                &chain,
                "--usage",
                u,
                "--selector",
                s,
                "--mtype",
                m,
            ]);
            assert_eq!(mine, theirs, "{name} {u} {s} {m}");
        }
    }
}

#[test]
fn agrees_with_hash_slinger() {
    let Some(tlsa) = require_tool("tlsa", "hash-slinger") else {
        return;
    };
    // hash-slinger's `tlsa --create --certificate` reads only the file; it runs in an empty
    // network namespace (`unshare --net`, root) when it can, so it cannot reach a resolver.
    let isolate = Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    for name in ["rsa", "ec", "ed25519", "p384"] {
        let leaf = pki(&format!("leaf-{name}.pem"));
        let issuer = pki("intermediate-ca.pem");
        // Every key type for 3 1 1 and 3 0 1; the other forms once (a Python start each).
        let mut forms = vec![("3", "1", "1", &leaf), ("3", "0", "1", &leaf)];
        if name == "rsa" {
            forms.extend([
                ("3", "1", "2", &leaf),
                ("3", "0", "0", &leaf),
                ("2", "1", "1", &issuer),
            ]);
        }
        for (u, s, m, cert) in forms {
            let args = [
                "--create",
                "--certificate",
                cert.as_str(),
                "--port",
                "25",
                "--usage",
                u,
                "--selector",
                s,
                "--mtype",
                m,
                "mx.example.test",
            ];
            let out = if isolate {
                Command::new("unshare")
                    .arg("--net")
                    .arg(&tlsa)
                    .args(args)
                    .output()
            } else {
                Command::new(&tlsa).args(args).output()
            }
            .unwrap();
            assert!(
                out.status.success(),
                "tlsa {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text
                .lines()
                .find(|l| l.contains(" TLSA "))
                .unwrap_or_else(|| panic!("no TLSA line: {text}"));
            assert!(line.contains(&format!("TLSA {u} {s} {m} ")), "{line}");
            let theirs = line.split_whitespace().last().unwrap().to_ascii_lowercase();
            let mine = ours(&[
                "tlsa",
                "generate",
                "--cert",
                cert,
                "--usage",
                u,
                "--selector",
                s,
                "--mtype",
                m,
            ]);
            assert_eq!(mine, theirs, "{name} {u} {s} {m}");
        }
    }
}
