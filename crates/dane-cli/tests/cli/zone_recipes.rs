//! The signer recipes of examples/zone-check/ run with the real signers and servers: Knot's
//! kzonesign pipeline (knotd serving the published zone, `knotc zone-backup`/`zone-restore`
//! around a key rollover) and BIND's `dnssec-policy` hidden primary (named started here in
//! the foreground on a loopback port) behind `gate-and-publish.sh`. Each publishes a good
//! version and refuses broken ones, leaving the published file's bytes as they were.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dane_testenv::{Run, run_command};

use crate::common::{
    assert_parses, assert_shellcheck_clean, fixture, free_loopback_port, require_tools, root,
    shell_scripts,
};
use crate::zone_xfr::{Daemon, SECRET, check_sv_axfr, named_key_file, serial_at, temp_dir};

/// `dane tlsa generate --usage 3 --cert fixtures/pki/chain-ec.pem`: the TLSA data that
/// matches the certificate the gates are given with `--cert`.
const TLSA_MATCHING: &str =
    "3 1 1 023F17BED68131CA3CF29FBC1FD53FAE562435D8F83A3F114367B63567D74B56";
const TLSA_STALE: &str = "3 1 1 0000000000000000000000000000000000000000000000000000000000000000";
const RNDC_SECRET: &str = "cm5kYy1zZWNyZXQtZm9yLXRoZS1yZWNpcGUtdGVzdHMtMDEyMzQ1Njc4OQ==";

/// The unsigned sv.test with serial `serial` and `tlsa` at _25._tcp.mx.
fn unsigned(serial: u32, tlsa: &str) -> String {
    format!(
        "$ORIGIN sv.test.\n$TTL 300\n@ SOA ns1 host {serial} 7200 3600 1209600 300\n@ NS ns1\n\
         ns1 A 192.0.2.1\nmx A 192.0.2.2\n_25._tcp.mx TLSA {tlsa}\n"
    )
}

/// An example file with its placeholders filled in, written to `dir/NAME`.
fn example(rel: &str, dir: &Path, fill: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(root().join("examples/zone-check").join(rel)).unwrap();
    for (from, to) in fill {
        text = text.replace(from, to);
    }
    assert!(!text.contains("@DIR@") && !text.contains("@PORT@"), "{rel}");
    let out = dir.join(Path::new(rel).file_name().unwrap());
    std::fs::write(&out, text).unwrap();
    out
}

/// Runs the recipe script `rel` with `args`, the test's `dane` and `env`.
fn recipe(rel: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("examples/zone-check").join(rel))
        .args(args)
        .env("DANE", env!("CARGO_BIN_EXE_dane"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_command(cmd, None)
}

/// Work files a script left in `dir` (names starting with `prefix`).
fn leftovers(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// Waits (30 s at most) until the server on `port` answers sv.test's SOA with a serial other
/// than `not`; returns it.
fn wait_serial_change(port: u16, not: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = serial_at(port);
        // dig prints ";; communications error ..." before the server listens.
        if s.parse::<u32>().is_ok() && s != not {
            return s;
        }
        assert!(Instant::now() < deadline, "serial still {s:?} after 30 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn keymgr_list(conf: &Path) -> String {
    let out = Command::new("keymgr")
        .args(["-c", &conf.display().to_string(), "sv.test", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn knot_kzonesign_pipeline() {
    let Some(tools) = require_tools(&[
        ("knotd", "knot"),
        ("knotc", "knot"),
        ("keymgr", "knot"),
        ("kzonesign", "knot-dnssecutils"),
        ("dig", "bind9-dnsutils"),
    ]) else {
        return;
    };
    let knotd = &tools[0];
    let dir = temp_dir("kzonesign");
    let d = dir.display().to_string();
    let port = free_loopback_port();
    let signer = example("knot/kzonesign.conf", &dir, &[("@DIR@", &d)]);
    let server = example(
        "knot/serve-signed.conf",
        &dir,
        &[("@DIR@", &d), ("@PORT@", &port.to_string())],
    );
    let backups = dir.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let published = dir.join("db.sv.test.signed");
    let cert = fixture("pki/chain-ec.pem");
    let (zone, signer_s, published_s) = (
        "sv.test",
        signer.display().to_string(),
        published.display().to_string(),
    );
    let for_mx = ["--cert", &cert, "--for", "_25._tcp.mx.sv.test"];
    let server_s = server.display().to_string();
    let backups_s = backups.display().to_string();
    // A key rollover due in 40 days: kzonesign -r -t starts it (a new ZSK), the gate judges
    // the signatures at the same time.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 40 * 86_400;
    let later_s = later.to_string();
    let at_later = format!("@{later}");
    let roll_env = [
        ("KNOTC_CONF", server_s.as_str()),
        ("BACKUP_DIR", backups_s.as_str()),
        ("ROLLOVER", "yes"),
        ("SIGN_TIME", later_s.as_str()),
    ];
    let gate = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![zone, signer_s.as_str(), published_s.as_str()];
        args.extend_from_slice(extra);
        recipe("knot/kzonesign-and-publish.sh", &args, env)
    };

    // The first version: kzonesign makes the keys, the gate passes, the file is published.
    std::fs::write(dir.join("db.sv.test"), unsigned(1, TLSA_MATCHING)).unwrap();
    let r = gate(&for_mx, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("0 errors, 0 warnings"), "{}", r.stdout);
    let first = std::fs::read(&published).unwrap();
    let text = String::from_utf8_lossy(&first).into_owned();
    assert!(text.contains("RRSIG") && text.contains("NSEC3"), "{text}");

    // knotd serves it.
    let _knotd = Daemon::start(knotd, &["-c", &server_s]);
    assert_eq!(wait_serial_change(port, ""), "1");
    let keys = keymgr_list(&signer);
    assert_eq!(keys.lines().count(), 2, "{keys}");

    // Signatures that will have expired at --at: refused, nothing published or reloaded.
    let mut expired = for_mx.to_vec();
    expired.extend_from_slice(&["--at", "2030-01-01"]);
    let r = gate(&expired, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("signature-expired"), "{}", r.stdout);
    assert!(r.stderr.contains("sv.test not published"), "{}", r.stderr);
    assert_eq!(std::fs::read(&published).unwrap(), first);

    // Serial 2 keeps a TLSA record of the old key, and kzonesign rolls the ZSK: the gate
    // refuses it, the keys are restored from knotd's backup, the served zone stays serial 1.
    std::fs::write(dir.join("db.sv.test"), unsigned(2, TLSA_STALE)).unwrap();
    let mut stale = for_mx.to_vec();
    stale.extend_from_slice(&["--at", &at_later]);
    let r = gate(&stale, &roll_env);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("tlsa-mismatch"), "{}", r.stdout);
    assert!(r.stderr.contains("keys restored from"), "{}", r.stderr);
    assert_eq!(std::fs::read(&published).unwrap(), first);
    assert_eq!(keymgr_list(&signer), keys);
    assert_eq!(serial_at(port), "1");
    assert!(
        leftovers(&dir, ".kzonesign").is_empty(),
        "{:?}",
        leftovers(&dir, ".kzonesign")
    );
    assert_eq!(std::fs::read_dir(&backups).unwrap().count(), 1);

    // Serial 3, the TLSA of the new certificate, the same rollover: published and served,
    // and the rollover's new key stays (so the restore above undid a real change).
    std::fs::write(dir.join("db.sv.test"), unsigned(3, TLSA_MATCHING)).unwrap();
    let r = gate(&stale, &roll_env);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&published).unwrap();
    assert!(text.contains(" 3 7200 3600 1209600 300"), "{text}");
    assert_eq!(wait_serial_change(port, "1"), "3");
    let rolled = keymgr_list(&signer);
    assert_eq!(rolled.lines().count(), 3, "{rolled}");
    assert_ne!(rolled, keys);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&published).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn bind_dnssec_policy_gate() {
    let Some(tools) = require_tools(&[
        ("named", "bind9"),
        ("rndc", "bind9"),
        ("named-compilezone", "bind9-utils"),
        ("named-checkzone", "bind9-utils"),
        ("dig", "bind9-dnsutils"),
    ]) else {
        return;
    };
    let named = &tools[0];
    let dir = temp_dir("named");
    let d = dir.display().to_string();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let port = free_loopback_port();
    let control = std::iter::repeat_with(free_loopback_port)
        .find(|&p| p != port)
        .unwrap();
    let conf = example(
        "bind/named.conf",
        &dir,
        &[
            ("@DIR@", &d),
            ("@PORT@", &port.to_string()),
            ("@CONTROL_PORT@", &control.to_string()),
            ("@SECRET@", SECRET),
            ("@RNDC_SECRET@", RNDC_SECRET),
        ],
    );
    std::fs::write(dir.join("db.sv.test"), unsigned(1, TLSA_MATCHING)).unwrap();
    let _named = Daemon::start(named, &["-g", "-c", &conf.display().to_string()]);
    let gate_key = named_key_file("named-gate", "gate-key", SECRET);
    let rndc_key = named_key_file("named-rndc", "rndc-key", RNDC_SECRET);
    let server = format!("127.0.0.1:{port}");

    // named loads and signs the zone: wait until the signed zone transfers and passes.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = check_sv_axfr(&server, &gate_key, &[]);
        if r.code == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "named did not sign: {r:?}");
        std::thread::sleep(Duration::from_millis(300));
    }

    let public = dir.join("public");
    std::fs::create_dir_all(&public).unwrap();
    let published = public.join("db.sv.test.signed");
    let reloads = dir.join("reloads.txt");
    let reload = format!("echo reloaded >> '{}'", reloads.display());
    let signed = dir.join("db.sv.test.signed").display().to_string();
    let published_s = published.display().to_string();
    let cert = fixture("pki/chain-ec.pem");
    let gate = |extra: &[&str]| {
        let mut args = vec!["sv.test", signed.as_str(), published_s.as_str()];
        args.extend_from_slice(&["--cert", &cert, "--for", "_25._tcp.mx.sv.test"]);
        args.extend_from_slice(extra);
        recipe(
            "bind/gate-and-publish.sh",
            &args,
            &[
                ("AXFR", server.as_str()),
                ("TSIG_KEY", gate_key.as_str()),
                ("RELOAD", reload.as_str()),
            ],
        )
    };
    let reload_count = || {
        std::fs::read_to_string(&reloads)
            .unwrap_or_default()
            .lines()
            .count()
    };

    // The good version: named-checkzone and dane zone check pass, published, reloaded once.
    let r = gate(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    let first = std::fs::read(&published).unwrap();
    let text = String::from_utf8_lossy(&first).into_owned();
    assert!(
        text.contains("RRSIG") && text.contains("NSEC3PARAM"),
        "{text}"
    );
    assert_eq!(reload_count(), 1);

    // named's signed file unreadable as raw (here the unsigned text): the first stage,
    // named-compilezone, fails, and nothing is published.
    let text_as_raw = dir.join("db.sv.test").display().to_string();
    let r = recipe(
        "bind/gate-and-publish.sh",
        &["sv.test", &text_as_raw, &published_s],
        &[("RELOAD", reload.as_str())],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(std::fs::read(&published).unwrap(), first);
    assert_eq!(reload_count(), 1);

    // Signatures that will have expired at --at: refused, the file and the reloads unchanged.
    let r = gate(&["--at", "2030-01-01"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("signature-expired"), "{}", r.stdout);
    assert_eq!(std::fs::read(&published).unwrap(), first);
    assert_eq!(reload_count(), 1);

    // The unsigned zone edited (serial 2) with a TLSA record the new certificate does not
    // match; named re-signs it on `rndc reload`, the gate refuses it.
    std::fs::write(dir.join("db.sv.test"), unsigned(2, TLSA_STALE)).unwrap();
    let st = Command::new("rndc")
        .args([
            "-k",
            &rndc_key,
            "-s",
            "127.0.0.1",
            "-p",
            &control.to_string(),
        ])
        .args(["reload", "sv.test"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = Command::new("dig")
            .args(["+short", "-p", &port.to_string(), "@127.0.0.1"])
            .args(["_25._tcp.mx.sv.test", "TLSA"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("00000000") {
            break;
        }
        assert!(Instant::now() < deadline, "named did not load serial 2");
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = gate(&[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("tlsa-mismatch"), "{}", r.stdout);
    assert_eq!(std::fs::read(&published).unwrap(), first);
    assert_eq!(reload_count(), 1);
    assert!(
        leftovers(&public, ".gate-and-publish").is_empty(),
        "{:?}",
        leftovers(&public, ".gate-and-publish")
    );
    // The transfer check alone refuses it too: what a secondary would have got.
    let r = check_sv_axfr(
        &server,
        &gate_key,
        &["--cert", &cert, "--for", "_25._tcp.mx.sv.test"],
    );
    assert_eq!(r.code, 1, "{r:?}");
}

/// The recipe scripts are POSIX sh that parses and that shellcheck finds nothing in.
#[test]
fn zone_check_recipe_scripts_pass_sh_n_and_shellcheck() {
    let base = root().join("examples/zone-check");
    let dirs: Vec<PathBuf> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    let scripts = shell_scripts(
        &dirs,
        &[
            "sign-and-publish.sh",
            "gate-and-publish.sh",
            "kzonesign-and-publish.sh",
        ],
    );
    assert_parses("sh", &scripts);
    assert_shellcheck_clean(&[], &scripts);
}
