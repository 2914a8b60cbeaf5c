//! `dane rollover`: staging (keys, records, JSON), the state file's failures, the
//! `--check-only` line and exit codes, promotion refusals, the ACME hook recipes. The walk
//! against real servers (Knot, Postfix) is in the e2e suite.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::common::{Run, fixture, root, run, run_command};

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dane-cli-rollover-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// A copy of the fixture P-256 key as the current key in `d`.
fn current(d: &Path) -> PathBuf {
    let k = d.join("mx.key");
    std::fs::copy(fixture("pki/leaf-ec.key"), &k).unwrap();
    k
}

fn record_of(key: &str, name: &str) -> String {
    let out = run(&["tlsa", "generate", "--key", key, "--name", name]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.trim().to_owned()
}

fn openssl_reads(key: &Path) -> String {
    let mut cmd = std::process::Command::new("openssl");
    cmd.args(["pkey", "-in", &s(key), "-noout", "-text"]);
    let out = run_command(cmd, None);
    assert_eq!(
        out.code,
        0,
        "openssl pkey {}: {}",
        key.display(),
        out.stderr
    );
    out.stdout.lines().next().unwrap_or_default().to_owned()
}

/// `out` is refused as bad input (exit 2) with a message that says `says`.
#[track_caller]
fn assert_refused(out: &Run, says: &str) {
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(says), "{}", out.stderr);
}

/// Runs `dane rollover stage --key KEY --name mx.example.test` with `extra`.
fn stage(key: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "rollover",
        "stage",
        "--key",
        key,
        "--name",
        "mx.example.test",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn stage_creates_the_next_key_and_prints_current_next_and_issuer() {
    let d = dir("stage");
    let cur = current(&d);
    let out = run(&[
        "rollover",
        "stage",
        "--key",
        &s(&cur),
        "--name",
        "MX.Example.Test",
        "--chain",
        &fixture("pki/chain-ec.pem"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let next = d.join("mx.next.key");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(lines[0], record_of(&s(&cur), "mx.example.test"));
    assert_eq!(lines[1], record_of(&s(&next), "mx.example.test"));
    assert!(
        lines[2].starts_with("_25._tcp.mx.example.test. IN TLSA 2 1 1 "),
        "{}",
        lines[2]
    );
    assert!(out.stderr.contains("created"), "{}", out.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&next).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let pem = std::fs::read_to_string(&next).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(openssl_reads(&next).contains("256 bit"));

    // Again without --next-key: the default path exists, so it refuses (exit 2), and the
    // key is unchanged.
    let again = stage(&s(&cur), &[]);
    assert_refused(&again, "exists already");
    assert_eq!(again.stderr.lines().count(), 1, "{}", again.stderr);
    assert!(again.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&next).unwrap(), pem);

    // With --next-key naming it: used, never overwritten, the same records.
    let reuse = stage(&s(&cur), &["--next-key", &s(&next)]);
    assert_eq!(reuse.code, 0, "{}", reuse.stderr);
    assert_eq!(reuse.stdout.lines().collect::<Vec<_>>(), lines[..2]);
    assert_eq!(std::fs::read_to_string(&next).unwrap(), pem);
    std::fs::remove_dir_all(d).unwrap();
}

#[derive(Deserialize)]
struct StageDoc {
    version: u32,
    kind: String,
    owner: String,
    next_key: StageKey,
    records: Vec<StageRecord>,
    update: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct StageKey {
    path: String,
    created: bool,
    key_type: Option<String>,
    tlsa: String,
}

#[derive(Deserialize)]
struct StageRecord {
    role: String,
    record: String,
    line: String,
}

#[test]
fn stage_json_and_every_key_type() {
    let d = dir("types");
    for (kind, openssl_says) in [
        ("p256", "256 bit"),
        ("rsa2048", "2048 bit"),
        ("rsa3072", "3072 bit"),
        ("ed25519", "ED25519"),
    ] {
        let next = d.join(format!("{kind}.key"));
        let cert = fixture("pki/leaf-rsa.pem");
        // The same certificate, name and port for `stage` and for `tlsa generate`.
        let target = [
            "--cert",
            cert.as_str(),
            "--name",
            "mx1.example.test",
            "--port",
            "587",
        ];
        let next_path = s(&next);
        let extra = ["--next-key", &next_path, "--key-type", kind, "--json"];
        let out = run(&[&["rollover", "stage"][..], &target, &extra].concat());
        assert_eq!(out.code, 0, "{kind}: {}", out.stderr);
        let doc: StageDoc = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!((doc.version, doc.kind.as_str()), (1, "dane-rollover-stage"));
        assert_eq!(doc.owner, "_587._tcp.mx1.example.test.");
        assert_eq!(doc.next_key.path, s(&next));
        assert!(doc.next_key.created);
        assert_eq!(doc.next_key.key_type.as_deref(), Some(kind));
        assert!(doc.update.is_none());
        let roles: Vec<&str> = doc.records.iter().map(|r| r.role.as_str()).collect();
        assert_eq!(roles, ["current", "next"]);
        assert_eq!(doc.records[1].record, doc.next_key.tlsa);
        // The current record is the certificate's key's.
        let want = run(&[&["tlsa", "generate"][..], &target].concat());
        assert_eq!(doc.records[0].line, want.stdout.trim());
        assert!(openssl_reads(&next).contains(openssl_says), "{kind}");
    }
    let bad = stage(
        &fixture("pki/leaf-ec.key"),
        &["--next-key", &s(&d.join("x.key")), "--key-type", "dsa"],
    );
    assert_refused(&bad, "--key-type \"dsa\"");
    assert!(!d.join("x.key").exists());
    // The next key may not be the current one.
    let same = stage(
        &fixture("pki/leaf-ec.key"),
        &["--next-key", &fixture("pki/leaf-ec.key")],
    );
    assert_refused(&same, "is the current key");
    std::fs::remove_dir_all(d).unwrap();
}

/// Runs `dane rollover status` for the fixture next key with the state file `state` and
/// `extra`, kept on loopback: a resolver that is not there, no iteration.
fn status_offline(state: &str, extra: &[&str]) -> Run {
    let next = fixture("pki/next.key");
    let mut args = vec![
        "rollover",
        "status",
        "example.test",
        "--host",
        "mx.example.test",
        "--resolver",
        "127.0.0.1:9",
        "--no-iterate",
        "--timeout",
        "1",
        "--state",
        state,
        "--next-key",
        &next,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn status_state_file_corrupt_or_unwritable_is_a_clear_error_and_nothing_is_lost() {
    let d = dir("state");
    let state = d.join("state.json");
    std::fs::write(
        &state,
        "{\"kind\": \"dane-rollover-state\", \"version\": 1, trunc",
    )
    .unwrap();
    let out = status_offline(&s(&state), &[]);
    assert_refused(&out, "corrupt state file");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"kind\": \"dane-rollover-state\", \"version\": 1, trunc",
        "the corrupt file is left as it was"
    );
    // A state file in a directory that does not exist cannot be written: exit 2.
    let missing = s(&d.join("no-such-dir").join("state.json"));
    let out = status_offline(&missing, &[]);
    assert_refused(&out, "cannot write");
    std::fs::remove_dir_all(d).unwrap();
}

#[derive(Deserialize)]
struct StatusDoc {
    version: u32,
    kind: String,
    readiness: String,
    reason: String,
    hosts: Vec<serde_json::Value>,
}

#[test]
fn status_without_a_usable_resolver_is_indeterminate_and_check_only_is_one_line() {
    let d = dir("check-only");
    let state = s(&d.join("state.json"));
    let out = status_offline(&state, &["--check-only"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    // As `dane verify` says it: the resolver's problem, once, not a verdict on a host.
    assert!(
        out.stdout
            .starts_with("indeterminate: unsuitable resolver: "),
        "{}",
        out.stdout
    );
    // The state file was written, and is a state document for this key.
    let text = std::fs::read_to_string(&state).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["kind"], "dane-rollover-state");
    assert_eq!(
        v["next_key"],
        "1D4A16FDF4599E5D4CEE2C7739FEABA7F17786585F6A45F1C8F858E89EFCB5F8"
    );
    let out = status_offline(&state, &["--json"]);
    assert_eq!(out.code, 3);
    let doc: StatusDoc = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (doc.version, doc.kind.as_str()),
        (1, "dane-rollover-status")
    );
    assert_eq!(doc.readiness, "indeterminate");
    assert!(doc.reason.contains("127.0.0.1:9"), "{}", doc.reason);
    assert!(doc.hosts.is_empty(), "{:?}", doc.hosts);
    let bad_margin = status_offline(&state, &["--margin", "soon"]);
    assert_refused(&bad_margin, "--margin \"soon\"");
    std::fs::remove_dir_all(d).unwrap();
}

/// A resolver that reads nothing and answers nothing (a bound UDP socket nobody reads):
/// `status` and `promote`'s check end by `--deadline`, indeterminate, and nothing moves.
#[test]
fn a_black_holed_resolver_ends_status_and_promote_by_the_deadline() {
    let hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let resolver = hole.local_addr().unwrap().to_string();
    let d = dir("deadline");
    let cur = current(&d);
    let next = d.join("mx.next.key");
    std::fs::copy(fixture("pki/next.key"), &next).unwrap();
    let common = [
        "example.test",
        "--host",
        "mx.example.test",
        "--resolver",
        &resolver,
        "--no-iterate",
        "--timeout",
        "30",
        "--next-key",
    ];
    let started = std::time::Instant::now();
    let mut args = vec!["rollover", "status"];
    args.extend(common);
    let (next_s, state) = (s(&next), s(&d.join("state.json")));
    args.extend([next_s.as_str(), "--state", &state]);
    args.extend(["--deadline", "2s", "--check-only"]);
    let out = run(&args);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .starts_with("indeterminate: the run's deadline of 2s (--deadline) passed"),
        "{}",
        out.stdout
    );
    let started = std::time::Instant::now();
    let cur_s = s(&cur);
    let mut args = vec!["rollover", "promote"];
    args.extend(common);
    args.extend([next_s.as_str(), "--key", &cur_s, "--state", &state]);
    args.extend(["--deadline", "2"]);
    let out = run(&args);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with(
            "not promoted: indeterminate: the run's deadline of 2s (--deadline) passed"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read(&next).unwrap(),
        std::fs::read(fixture("pki/next.key")).unwrap(),
        "nothing moved"
    );
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 3, "no retired key");
    drop(hole);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn promote_refuses_before_moving_anything() {
    let d = dir("promote");
    let cur = current(&d);
    let next = d.join("mx.next.key");
    std::fs::copy(fixture("pki/next.key"), &next).unwrap();
    let base = |extra: &[&str]| {
        let mut v = vec![
            "rollover".to_owned(),
            "promote".into(),
            "example.test".into(),
            "--key".into(),
            s(&cur),
            "--next-key".into(),
            s(&next),
            "--resolver".into(),
            "127.0.0.1:9".into(),
            "--no-iterate".into(),
            "--timeout".into(),
            "1".into(),
            "--host".into(),
            "mx.example.test".into(),
        ];
        v.extend(extra.iter().map(|e| (*e).to_owned()));
        v
    };
    let exists = d.join("taken.key");
    std::fs::write(&exists, "taken").unwrap();
    let args = base(&["--new-next-key", &s(&exists)]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_refused(&out, "exists already");
    // A bad --host is bad input, named, before anything is read or asked.
    let mut args = base(&[]);
    let host = args.iter().position(|a| a == "mx.example.test").unwrap();
    args[host] = "mx..example.test".into();
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_refused(&out, "--host \"mx..example.test\"");
    // No server presents the next key (there is none to probe): refused, exit 1.
    let args = base(&[]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("not promoted: "), "{}", out.stdout);
    // Nothing moved.
    assert_eq!(
        std::fs::read(&cur).unwrap(),
        std::fs::read(fixture("pki/leaf-ec.key")).unwrap()
    );
    assert_eq!(
        std::fs::read(&next).unwrap(),
        std::fs::read(fixture("pki/next.key")).unwrap()
    );
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 3);
    std::fs::remove_dir_all(d).unwrap();
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn update_with_a_bad_tsig_key_file_is_refused_before_sending() {
    let d = dir("tsig");
    let key = d.join("bad.tsig");
    std::fs::write(&key, "key \"k\" { algorithm hmac-sha256; };\n").unwrap();
    let out = stage(
        &fixture("pki/leaf-ec.key"),
        &[
            "--next-key",
            &fixture("pki/next.key"),
            "--update",
            "127.0.0.1:9",
            "--tsig-key",
            &s(&key),
            "--dry-run",
        ],
    );
    assert_refused(&out, "has no secret");
    // Two keys: the one to use is named, never guessed; the secret is never printed.
    let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
    let other = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3Q=";
    std::fs::write(
        &key,
        format!(
            "key:\n  - id: a\n    algorithm: hmac-sha256\n    secret: {secret}\n  - id: b\n    algorithm: hmac-sha256\n    secret: {other}\n"
        ),
    )
    .unwrap();
    let args = |name: Option<&str>| {
        let mut a = vec![
            "--next-key".to_owned(),
            fixture("pki/next.key"),
            "--update".into(),
            "127.0.0.1:9".into(),
            "--tsig-key".into(),
            s(&key),
        ];
        if let Some(n) = name {
            a.extend(["--tsig-key-name".into(), n.into()]);
        }
        a
    };
    let out = stage(&fixture("pki/leaf-ec.key"), &as_strs(&args(None)));
    assert_refused(&out, "2 keys (a., b.): choose one with --tsig-key-name");
    assert!(
        !out.stderr.contains(secret) && !out.stdout.contains(secret),
        "{out:?}"
    );
    let out = stage(&fixture("pki/leaf-ec.key"), &as_strs(&args(Some("c"))));
    assert_refused(&out, "no key named c.");
    // Key b is taken: the primary (nothing listens) is asked, which fails: indeterminate.
    let out = stage(&fixture("pki/leaf-ec.key"), &as_strs(&args(Some("b"))));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("reading _25._tcp.mx.example.test. TLSA"),
        "{out:?}"
    );
    assert!(
        !out.stderr.contains(other) && !out.stdout.contains(other),
        "{out:?}"
    );
    // --tsig-key without --update is a usage error.
    let out = stage(&fixture("pki/leaf-ec.key"), &["--tsig-key", &s(&key)]);
    assert_eq!(out.code, 2);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn acme_hook_recipes_are_valid_shell() {
    let dir = root().join("examples/rollover");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    let names: Vec<String> = scripts
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "acme.sh-hook.sh",
        "certbot-hook.sh",
        "dehydrated-hook.sh",
        "lego-hook.sh",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    for p in &scripts {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg("-n").arg(p);
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "bash -n {}: {}", p.display(), out.stderr);
        let text = std::fs::read_to_string(p).unwrap();
        assert!(text.starts_with("#!/"), "{}: no shebang", p.display());
        assert!(text.contains("dane rollover"), "{}", p.display());
    }
    // The recipes run as root from the ACME clients' hooks: shellcheck (following
    // common.sh) finds nothing in them.
    if let Some(shellcheck) = dane_testenv::require_tool("shellcheck", "shellcheck") {
        let mut cmd = std::process::Command::new(shellcheck);
        cmd.args(["-x", "-P", "SCRIPTDIR"]).args(&scripts);
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "shellcheck: {}{}", out.stdout, out.stderr);
    }
}

/// The staged RRset of fixed keys, as a golden file: the lines an operator pastes into
/// the zone (current, next, issuer).
#[test]
fn staged_rrset_matches_its_golden_file() {
    let out = run(&[
        "rollover",
        "stage",
        "--key",
        &fixture("pki/leaf-rsa.key"),
        "--next-key",
        &fixture("pki/next.key"),
        "--name",
        "mx1.example.test",
        "--chain",
        &fixture("pki/chain-rsa.pem"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("exists; left unchanged"),
        "{}",
        out.stderr
    );
    crate::verify::golden("rollover-stage.txt", &out.stdout);
}

/// The recipes run: `stage` through common.sh stages one next key for every host, and
/// `roll` does nothing (exit 0, no client called) while the switch is not known to be safe.
#[test]
fn acme_hook_recipes_stage_and_hold_off_the_switch() {
    let d = dir("hooks");
    std::fs::copy(fixture("pki/leaf-ec.key"), d.join("mx1.example.test.key")).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dane")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let hook = |script: &str, action: &str| {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(root().join("examples/rollover").join(script))
            .arg(action)
            .env("PATH", &path)
            .env("DANE_DOMAIN", "example.test")
            .env("DANE_HOSTS", "mx1.example.test mx2.example.test")
            .env("DANE_KEY_DIR", &d)
            .env(
                "DANE_FLAGS",
                "--resolver 127.0.0.1:9 --no-iterate --timeout 1",
            )
            .env("HOME", &d)
            .env("NO_COLOR", "1");
        run_command(cmd, None)
    };
    let out = hook("certbot-hook.sh", "stage");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert!(lines[0].starts_with("_25._tcp.mx1.example.test. IN TLSA 3 1 1 "));
    assert!(lines[3].starts_with("_25._tcp.mx2.example.test. IN TLSA 3 1 1 "));
    // One next key for both hosts.
    assert_eq!(lines[1].rsplit(' ').next(), lines[3].rsplit(' ').next());
    assert!(d.join("mx1.example.test.next.key").exists());
    // No resolver: not known to be safe, so no switch (and no ACME client run).
    let out = hook("acme.sh-hook.sh", "roll");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("indeterminate: "), "{}", out.stdout);
    let out = hook("lego-hook.sh", "nonsense");
    assert_eq!(out.code, 2, "{}", out.stderr);
    std::fs::remove_dir_all(d).unwrap();
}

/// The recipes' switch, with stand-ins for the ACME clients and for `dane` (a script on
/// PATH: `rollover status` says ready, `rollover promote` is logged): a renewal that fails
/// puts the current key back and the hook exits 1; one that succeeds leaves the next key
/// in the client's key file, and the deploy hook then promotes.
#[test]
#[cfg(unix)]
fn acme_hook_recipes_switch_and_restore_the_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = dir("hooks-switch");
    let bin = d.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = d.join("calls.log");
    let stand_in = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >>'{}'\n{body}\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    stand_in("dane", "exit 0");
    stand_in("acme.sh", "exit 1");
    stand_in("lego", "exit 0");
    std::fs::write(d.join("mx1.example.test.key"), "CURRENT\n").unwrap();
    std::fs::write(d.join("mx1.example.test.next.key"), "NEXT\n").unwrap();
    let acme_key = d.join("acme/mx1.example.test_ecc/mx1.example.test.key");
    let lego_key = d.join("lego/certificates/mx1.example.test.key");
    for k in [&acme_key, &lego_key] {
        std::fs::create_dir_all(k.parent().unwrap()).unwrap();
        std::fs::write(k, "CURRENT\n").unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let hook = |script: &str, action: &str| {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(root().join("examples/rollover").join(script))
            .arg(action)
            .env("PATH", &path)
            .env("DANE_DOMAIN", "example.test")
            .env("DANE_HOSTS", "mx1.example.test")
            .env("DANE_KEY_DIR", &d)
            .env("DANE_RELOAD", "true")
            .env("ACME_HOME", d.join("acme"))
            .env("LEGO_PATH", d.join("lego"))
            .env_remove("LEGO_CERT_KEY_PATH");
        run_command(cmd, None)
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    // acme.sh's renewal fails: the current key is back, exit 1, no promote.
    let out = hook("acme.sh-hook.sh", "roll");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("acme.sh-hook: renewal failed; the current key is back in place"),
        "{}",
        out.stderr
    );
    assert_eq!(read(&acme_key), "CURRENT\n");
    let calls = read(&log);
    assert!(
        calls.contains("dane rollover status example.test"),
        "{calls}"
    );
    assert!(
        calls.contains("acme.sh --renew -d mx1.example.test --ecc --force"),
        "{calls}"
    );
    assert!(!calls.contains("promote"), "{calls}");
    // lego's renewal succeeds: the next key is in its key file; deploy promotes.
    let out = hook("lego-hook.sh", "roll");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(read(&lego_key), "NEXT\n");
    let mode = std::fs::metadata(&lego_key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the key file's mode");
    let out = hook("lego-hook.sh", "deploy");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let calls = read(&log);
    assert!(
        calls.contains("lego --path") && calls.contains("renew --reuse-key"),
        "{calls}"
    );
    assert!(
        calls.contains("dane rollover promote example.test"),
        "{calls}"
    );
    // No backup copies left behind.
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn status_and_promote_help_offer_no_verify_policy_flags() {
    for sub in ["status", "promote"] {
        let out = run(&["rollover", sub, "--help"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        for flag in ["--strict", "--require-dane", "--warn-days"] {
            assert!(!out.stdout.contains(flag), "{sub} --help lists {flag}");
        }
        for flag in [
            "--service",
            "--port",
            "--host",
            "--resolver",
            "--at",
            "--timeout",
        ] {
            assert!(out.stdout.contains(flag), "{sub} --help lacks {flag}");
        }
        // Refused by clap as unknown, exit 2, one clear line.
        let out = run(&["rollover", sub, "example.test", "--strict"]);
        assert_refused(&out, "--strict");
    }
    assert!(
        run(&["rollover", "promote", "--help"])
            .stdout
            .contains("--starttls")
    );
    assert!(
        !run(&["rollover", "status", "--help"])
            .stdout
            .contains("--starttls"),
        "status probes nothing: no dialogue to choose"
    );
    // `dane verify` keeps them.
    let verify = run(&["verify", "--help"]).stdout;
    for flag in ["--strict", "--require-dane", "--warn-days", "--concurrency"] {
        assert!(verify.contains(flag), "verify --help lacks {flag}");
    }
}

#[test]
fn status_service_is_checked_like_verify() {
    let d = dir("service");
    let state = s(&d.join("state.json"));
    let out = status_offline(&state, &["--service", "gopher"]);
    assert_refused(
        &out,
        "--service \"gopher\": unknown service (one of smtp, submission",
    );
    let out = status_offline(&state, &["--service", "imaps", "--port", "993"]);
    assert_refused(&out, "--port");
    let next = fixture("pki/next.key");
    let out = run(&[
        "rollover",
        "status",
        "example.test",
        "--host",
        "mx..example.test",
        "--next-key",
        &next,
        "--state",
        &state,
    ]);
    assert_refused(&out, "--host \"mx..example.test\"");
    // A known service runs (and, with no resolver, is indeterminate).
    let out = status_offline(&state, &["--service", "xmpp-client", "--json"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    std::fs::remove_dir_all(d).unwrap();
}
