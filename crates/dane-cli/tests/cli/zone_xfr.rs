//! `dane zone check --axfr` against NSD serving a fixture zone by AXFR with TSIG, and
//! `--nsd-verifier` as a real NSD secondary's `verifier:`: a broken version of the zone is
//! refused (NSD keeps serving the previous serial), a good one accepted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dane_testenv::{Nsd, NsdExtra, require_tool};

use crate::common::{fixture, run};

const AT: &str = "2026-06-01T00:00:00Z";
pub(crate) const SECRET: &str = "c2VjcmV0LWZvci10aGUtYXhmci10ZXN0cy0wMTIzNDU2Nzg5YWJjZGVm";

pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dane-zone-xfr-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// NSD serving the fixture `zone/NAME.zone` (example.test) by AXFR to holders of the key.
fn serving(name: &str) -> Nsd {
    let dir = temp_dir(name);
    std::fs::copy(
        fixture(&format!("zone/{name}.zone")),
        dir.join("example.zone"),
    )
    .unwrap();
    let extra = NsdExtra {
        top: format!(
            "key:\n  name: \"xfr-key\"\n  algorithm: hmac-sha256\n  secret: \"{SECRET}\"\n"
        ),
        zone: "  provide-xfr: 127.0.0.1 xfr-key\n".into(),
    };
    Nsd::start_with(&dir, &extra).expect("start nsd")
}

fn key_file(tag: &str, secret: &str) -> String {
    named_key_file(tag, "xfr-key", secret)
}

/// A key file in BIND's `key "NAME" { ... };` form (what `tsig-keygen` and `rndc -k` read).
pub(crate) fn named_key_file(tag: &str, name: &str, secret: &str) -> String {
    let path = std::env::temp_dir().join(format!("dane-xfr-key-{tag}-{}", std::process::id()));
    std::fs::write(
        &path,
        format!("key \"{name}\" {{\n  algorithm hmac-sha256;\n  secret \"{secret}\";\n}};\n"),
    )
    .unwrap();
    path.display().to_string()
}

fn axfr(nsd: &Nsd, extra: &[&str]) -> crate::common::Run {
    let server = nsd.addr().to_string();
    let mut args = vec![
        "zone",
        "check",
        "--axfr",
        &server,
        "--origin",
        "example.test",
        "--at",
        AT,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn axfr_with_tsig_from_nsd() {
    let good = serving("good-ldns");
    let key = key_file("good", SECRET);
    let r = axfr(&good, &["--tsig-key", &key]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("zone example.test.: 51 records"),
        "{}",
        r.stdout
    );

    // A wrong secret: refused by NSD (BADSIG), exit 3, one line.
    let wrong = key_file(
        "wrong",
        "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZy0wMTIzNDU2",
    );
    let r = axfr(&good, &["--tsig-key", &wrong]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("NOTAUTH, TSIG BADSIG"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    // No key: the ACL refuses.
    let r = axfr(&good, &[]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("REFUSED"), "{}", r.stderr);
    // A missing --origin or an unreadable key is a usage error.
    let server = good.addr().to_string();
    assert_eq!(run(&["zone", "check", "--axfr", &server]).code, 2);
    let r = axfr(&good, &["--tsig-key", "/nonexistent/key"]);
    assert_eq!(r.code, 2, "{r:?}");
    let file = fixture("zone/good-ldns.zone");
    let r = run(&["zone", "check", &file, "--tsig-key", &key]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("apply to a transfer"), "{}", r.stderr);

    // A defect in the transferred zone is found as in the file.
    let bad = serving("broken-tampered");
    let r = axfr(&bad, &["--tsig-key", &key]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("error"), "{}", r.stdout);
}

/// Signs `sv.test` with serial `serial` with the key `key` (in `dir`), as ldns-signzone
/// writes it; `tamper` flips a character of the signature over www's A RRset.
fn signed(dir: &Path, key: &str, serial: u32, tamper: bool) -> String {
    let src = dir.join("sv.src");
    std::fs::write(
        &src,
        format!(
            "$ORIGIN sv.test.\n$TTL 300\n@ SOA ns1 host {serial} 2 2 600 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n"
        ),
    )
    .unwrap();
    let st = Command::new("ldns-signzone")
        .current_dir(dir)
        .args(["-o", "sv.test", "-e", "20370101000000", "sv.src", key])
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(dir.join("sv.src.signed")).unwrap();
    if !tamper {
        return text;
    }
    let mut out: Vec<String> = text.lines().map(str::to_string).collect();
    let line = out
        .iter_mut()
        .find(|l| l.starts_with("www.sv.test.") && l.contains("\tRRSIG\tA "))
        .unwrap();
    let at = line.len() - 20;
    let c = if &line[at..=at] == "A" { "B" } else { "A" };
    line.replace_range(at..=at, c);
    out.join("\n") + "\n"
}

/// Sends NOTIFY for sv.test to `to` (RFC 1996), so the secondary asks for the new serial now.
fn notify(to: std::net::SocketAddr) {
    let mut q = vec![0x4e, 0x01, 0x24, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(b"\x02sv\x04test\x00\x00\x06\x00\x01");
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(&q, to).unwrap();
}

fn serial(nsd: &Nsd) -> String {
    serial_at(nsd.port())
}

/// The SOA serial of sv.test that the server on 127.0.0.1:`port` answers ("" for none).
pub(crate) fn serial_at(port: u16) -> String {
    let out = Command::new("dig")
        .args([
            "+short",
            "-p",
            &port.to_string(),
            "@127.0.0.1",
            "sv.test",
            "SOA",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

/// Waits until `file` has `n` verdict lines (`rc=N`); returns its text.
fn wait_verdicts(file: &Path, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.lines().filter(|l| l.starts_with("rc=")).count() >= n {
            return text;
        }
        assert!(Instant::now() < deadline, "no verdict {n} in 40 s: {text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A secondary NSD for sv.test from `primary`, running `dane zone check --nsd-verifier` on
/// every version it receives: fed on stdin (`feed`) or transferring it from NSD's verifier
/// address. The verdicts are appended to `out`.
fn secondary(dir: &Path, v1: &str, primary: &Nsd, feed: bool, out: &Path) -> Nsd {
    std::fs::write(dir.join("sv.zone"), v1).unwrap();
    let script = dir.join("verify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n'{}' zone check --nsd-verifier >> '{o}' 2>&1\nrc=$?\necho rc=$rc >> '{o}'\nexit $rc\n",
            env!("CARGO_BIN_EXE_dane"),
            o = out.display()
        ),
    )
    .unwrap();
    let mut perm = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).unwrap();
    let extra = NsdExtra {
        top: "verify:\n  enable: yes\n  port: {free_port}\n  ip-address: 127.0.0.1\n".into(),
        zone: format!(
            "  request-xfr: 127.0.0.1@{} NOKEY\n  allow-notify: 127.0.0.1 NOKEY\n  provide-xfr: 127.0.0.1 NOKEY\n  verifier: \"{}\"\n  verifier-feed-zone: {}\n  verifier-timeout: 30\n",
            primary.port(),
            script.display(),
            if feed { "yes" } else { "no" }
        ),
    };
    Nsd::start_with(dir, &extra).expect("start the secondary nsd")
}

#[test]
fn nsd_verifier_refuses_a_broken_version_and_accepts_a_good_one() {
    let (Some(_), Some(_), Some(_)) = (
        require_tool("ldns-signzone", "ldnsutils"),
        require_tool("ldns-keygen", "ldnsutils"),
        require_tool("dig", "bind9-dnsutils"),
    ) else {
        return;
    };
    let work = temp_dir("verifier");
    let keygen = Command::new("ldns-keygen")
        .current_dir(&work)
        .args(["-a", "ECDSAP256SHA256", "-k", "sv.test"])
        .output()
        .unwrap();
    let key = String::from_utf8(keygen.stdout).unwrap().trim().to_string();
    let (v1, v2, v3) = (
        signed(&work, &key, 1, false),
        signed(&work, &key, 2, true),
        signed(&work, &key, 3, false),
    );
    let pdir = work.join("primary");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::write(pdir.join("sv.zone"), &v1).unwrap();
    let primary = Nsd::start_with(
        &pdir,
        &NsdExtra {
            top: String::new(),
            zone: "  provide-xfr: 127.0.0.1 NOKEY\n".into(),
        },
    )
    .expect("start the primary nsd");
    for feed in [true, false] {
        let dir = work.join(if feed { "stdin" } else { "axfr" });
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("verdicts.txt");
        std::fs::write(pdir.join("sv.zone"), &v1).unwrap();
        primary.reload().unwrap();
        let sec = secondary(&dir, &v1, &primary, feed, &out);
        assert_eq!(serial(&sec), "1");

        std::fs::write(pdir.join("sv.zone"), &v2).unwrap();
        primary.reload().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        notify(sec.addr());
        let text = wait_verdicts(&out, 1);
        assert!(text.contains("rc=1"), "feed {feed}: {text}");
        assert!(text.contains("www.sv.test."), "feed {feed}: {text}");
        assert_eq!(
            serial(&sec),
            "1",
            "feed {feed}: the broken serial 2 was served"
        );

        std::fs::write(pdir.join("sv.zone"), &v3).unwrap();
        primary.reload().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        notify(sec.addr());
        let deadline = Instant::now() + Duration::from_secs(40);
        while serial(&sec) != "3" {
            assert!(
                Instant::now() < deadline,
                "feed {feed}: serial 3 not served: {}",
                std::fs::read_to_string(&out).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.trim_end().ends_with("rc=0"), "feed {feed}: {text}");
    }
}

/// A server a test started (knotd, named); killed by its PID on drop.
pub(crate) struct Daemon(std::process::Child);

impl Daemon {
    /// Starts `program ARGS` (in the foreground: the child is the server), output discarded.
    pub(crate) fn start(program: &Path, args: &[&str]) -> Self {
        let child = Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Self(child)
    }
}

/// `dane zone check --axfr SERVER --origin sv.test --tsig-key KEY EXTRA...`.
pub(crate) fn check_sv_axfr(server: &str, key: &str, extra: &[&str]) -> crate::common::Run {
    let mut args = vec![
        "zone",
        "check",
        "--axfr",
        server,
        "--origin",
        "sv.test",
        "--tsig-key",
        key,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn knot_signer_checked_over_axfr_with_tsig() {
    let Some(knotd) = require_tool("knotd", "knot") else {
        return;
    };
    let dir = temp_dir("knot");
    let port = crate::common::free_loopback_port().to_string();
    let example =
        std::fs::read_to_string(crate::common::root().join("examples/zone-check/knot/knot.conf"))
            .unwrap();
    let conf = example
        .replace("@DIR@", &dir.display().to_string())
        .replace("@PORT@", &port)
        .replace("@SECRET@", SECRET);
    std::fs::write(dir.join("knot.conf"), conf).unwrap();
    std::fs::write(
        dir.join("sv.zone"),
        "$ORIGIN sv.test.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\n\
         ns1 A 192.0.2.1\nwww A 192.0.2.2\n",
    )
    .unwrap();
    let _knot = Daemon::start(
        &knotd,
        &["-c", &dir.join("knot.conf").display().to_string()],
    );
    let server = format!("127.0.0.1:{port}");
    let key = named_key_file("knot", "gate-key", SECRET);
    let check = |key: &str| check_sv_axfr(&server, key, &[]);
    // Knot starts, loads and signs: wait until the signed zone transfers.
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let r = check(&key);
        if r.code != 3 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("zone sv.test.: "), "{}", r.stdout);
    assert!(r.stdout.contains("0 errors, 0 warnings"), "{}", r.stdout);
    // Knot refuses a wrong secret with BADSIG.
    let wrong = named_key_file(
        "knot-wrong",
        "gate-key",
        "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZy0wMTIzNDU2",
    );
    let r = check(&wrong);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("BADSIG"), "{}", r.stderr);
}

#[test]
fn bind_sign_and_publish_gate() {
    let (Some(_), Some(_), Some(_)) = (
        require_tool("dnssec-keygen", "bind9-utils"),
        require_tool("dnssec-signzone", "bind9-utils"),
        require_tool("named-checkzone", "bind9-utils"),
    ) else {
        return;
    };
    let dir = temp_dir("bind");
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for extra in [&["-f", "KSK"][..], &[]] {
        let st = Command::new("dnssec-keygen")
            .args([
                "-q",
                "-K",
                &keys.display().to_string(),
                "-a",
                "ECDSAP256SHA256",
            ])
            .args(extra)
            .arg("sv.test")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    }
    let unsigned = dir.join("db.sv.test");
    std::fs::write(
        &unsigned,
        "$ORIGIN sv.test.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\n\
         ns1 A 192.0.2.1\nmx A 192.0.2.2\n_25._tcp.mx TLSA 3 1 1 \
         0000000000000000000000000000000000000000000000000000000000000000\n",
    )
    .unwrap();
    let published = dir.join("db.sv.test.signed");
    let script = crate::common::root().join("examples/zone-check/bind/sign-and-publish.sh");
    let gate = |extra: &[&str]| {
        let mut cmd = Command::new("sh");
        cmd.arg(&script)
            .args(["sv.test", &unsigned.display().to_string()])
            .args([
                &keys.display().to_string(),
                &published.display().to_string(),
            ])
            .args(extra)
            .env("DANE", env!("CARGO_BIN_EXE_dane"));
        dane_testenv::run_command(cmd, None)
    };
    let r = gate(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    let first = std::fs::read_to_string(&published).unwrap();
    assert!(first.contains("RRSIG"), "{first}");

    // The TLSA record will not match the certificate about to be deployed: dane zone check
    // fails, nothing is published (the previous version stays) and no work file is left.
    let cert = crate::common::fixture("pki/chain-ec.pem");
    let r = gate(&["--cert", &cert, "--for", "_25._tcp.mx.sv.test"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("tlsa-mismatch"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(&published).unwrap(), first);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".sign-and-publish")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
