//! `dane rollover`: staging (keys, records, JSON), the state file's failures, the
//! `--check-only` line and exit codes, promotion refusals (the ACME hook recipes are in
//! `hooks.rs`). The walk against real servers (Knot, Postfix) is in the e2e suite.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::common::{Run, fixture, run, run_command};

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

    // Again without --next-key: the state file says dane made the key at the default
    // path, so it is used (docs/rollover.md's steps, followed in order), never rewritten.
    let again = stage(&s(&cur), &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout.lines().collect::<Vec<_>>(), lines[..2]);
    assert_eq!(std::fs::read_to_string(&next).unwrap(), pem);
    // A file there that the state file does not name is not taken: refused (exit 2), the
    // key unchanged.
    std::fs::remove_file(d.join("mx.next.key.rollover.json")).unwrap();
    let again = stage(&s(&cur), &[]);
    assert_refused(&again, "exists already");
    assert!(
        again.stderr.contains("does not say dane made it"),
        "{}",
        again.stderr
    );
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
        schema_valid("rollover-stage", kind, &out.stdout);
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
    domain: String,
    recorded: bool,
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
    // --check-only reads the state file and records nothing.
    assert!(!Path::new(&state).exists());
    // A plain status records: the state file is a state document for this key.
    let out = status_offline(&state, &[]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let text = std::fs::read_to_string(&state).unwrap();
    schema_valid("rollover-state", "status", &text);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["kind"], "dane-rollover-state");
    assert_eq!(
        v["next_key"],
        "1D4A16FDF4599E5D4CEE2C7739FEABA7F17786585F6A45F1C8F858E89EFCB5F8"
    );
    let out = status_offline(&state, &["--json"]);
    assert_eq!(out.code, 3);
    schema_valid("rollover-status", "status --json", &out.stdout);
    let doc: StatusDoc = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (doc.version, doc.kind.as_str()),
        (1, "dane-rollover-status")
    );
    assert_eq!(doc.readiness, "indeterminate");
    // Fully qualified, as `dane verify` names it; and this run recorded (no --at).
    assert_eq!(doc.domain, "example.test.");
    assert!(doc.recorded);
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
    let names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("retired") || n.contains("tmp")),
        "no retired key, no temporary file: {names:?}"
    );
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

/// Every file of `d`: name, content (as a hash, FNV-1a), mode, owner, group and mtime.
#[cfg(unix)]
fn snapshot(d: &Path) -> Vec<(String, u64, u32, u32, u32, i64, i64)> {
    use std::os::unix::fs::MetadataExt as _;
    let mut v: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path())
                    .unwrap_or_default()
                    .iter()
                    .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
                    }),
                m.mode(),
                m.uid(),
                m.gid(),
                m.mtime(),
                m.mtime_nsec(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The `3 1 1` data of the key file `key`.
fn hex_of(key: &str) -> String {
    record_of(key, "x.example")
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned()
}

/// The flags that keep a run on loopback: a resolver that is not there, no iteration.
const OFFLINE: [&str; 5] = [
    "--resolver",
    "127.0.0.1:9",
    "--no-iterate",
    "--timeout",
    "1",
];

/// `dane rollover promote example.test --key D/mx.key --next-key D/mx.next.key` offline.
fn promote_offline(d: &Path, extra: &[&str]) -> Run {
    let (key, next) = (s(&d.join("mx.key")), s(&d.join("mx.next.key")));
    let mut args = vec![
        "rollover",
        "promote",
        "example.test",
        "--key",
        &key,
        "--next-key",
        &next,
        "--host",
        "mx.example.test",
    ];
    args.extend_from_slice(&OFFLINE);
    args.extend_from_slice(extra);
    run(&args)
}

/// `dane rollover rollback --key D/mx.key --next-key D/mx.next.key --name mx.example.test`.
fn rollback(d: &Path, extra: &[&str]) -> Run {
    let (key, next) = (s(&d.join("mx.key")), s(&d.join("mx.next.key")));
    let mut args = vec![
        "rollover",
        "rollback",
        "--key",
        &key,
        "--next-key",
        &next,
        "--name",
        "mx.example.test",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// A rollover directory as a promotion killed after `moved` of its steps leaves it: the
/// plan in the state file (0), the current key kept as mx.key.retired (1), the next key
/// renamed over mx.key (2), the new next key made (3). The current key is leaf-ec.key, the
/// next key next.key, the new next key leaf-rsa.key; the retired key may be deleted at
/// `delete_after`.
fn interrupted_promotion(tag: &str, moved: u32, delete_after: u64) -> PathBuf {
    let d = dir(tag);
    let abs = |n: &str| s(&d.join(n));
    let (cur, next, newer) = (
        fixture("pki/leaf-ec.key"),
        fixture("pki/next.key"),
        fixture("pki/leaf-rsa.key"),
    );
    std::fs::copy(&cur, d.join("mx.key")).unwrap();
    std::fs::copy(&next, d.join("mx.next.key")).unwrap();
    if moved >= 1 {
        std::fs::copy(&cur, d.join("mx.key.retired")).unwrap();
    }
    if moved >= 2 {
        std::fs::rename(d.join("mx.next.key"), d.join("mx.key")).unwrap();
    }
    if moved >= 3 {
        std::fs::copy(&newer, d.join("mx.next.key")).unwrap();
    }
    let state = serde_json::json!({
        "kind": "dane-rollover-state",
        "version": 1,
        "next_key": hex_of(&next),
        "pending": {
            "action": "promote",
            "started_at": 1_000_000,
            "key_file": abs("mx.key"),
            "from": hex_of(&cur),
            "keep_as": abs("mx.key.retired"),
            "replacement": abs("mx.next.key"),
            "to": hex_of(&next),
            "key_type": "p256",
            "owners": ["_25._tcp.mx.example.test."],
            "delete_after": delete_after,
        }
    });
    std::fs::write(d.join("mx.next.key.rollover.json"), state.to_string()).unwrap();
    d
}

/// The clock, in seconds since the epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// --dry-run, --at and --check-only, on every subcommand, change no file: not a key, not
/// the state, not a mode, owner or mtime; no temporary file is left. A plain `status`
/// afterwards does write the state file (what the what-ifs did not do).
#[test]
#[cfg(unix)]
fn what_ifs_change_no_file() {
    let d = interrupted_promotion("what-if", 0, now() + 3600);
    let (key, next, state) = (
        s(&d.join("mx.key")),
        s(&d.join("mx.next.key")),
        s(&d.join("mx.next.key.rollover.json")),
    );
    let tsig = d.join("update.key");
    std::fs::write(&tsig, "hmac-sha256:k:c2VjcmV0c2VjcmV0c2VjcmV0\n").unwrap();
    let tsig = s(&tsig);
    let other = s(&d.join("other.next.key"));
    let fresh = s(&d.join("fresh.json"));
    let stage_base = [
        "rollover",
        "stage",
        "--key",
        &key,
        "--name",
        "mx.example.test",
    ];
    let status_base = [
        "rollover",
        "status",
        "example.test",
        "--host",
        "mx.example.test",
        "--next-key",
        &next,
    ];
    let update = ["--update", "127.0.0.1:9", "--tsig-key", &tsig];
    let runs: Vec<Vec<&str>> = vec![
        [&stage_base[..], &["--dry-run"]].concat(),
        [&stage_base[..], &["--dry-run", "--next-key", &other]].concat(),
        [
            &stage_base[..],
            &["--dry-run", "--next-key", &other],
            &update,
        ]
        .concat(),
        [&status_base[..], &OFFLINE, &["--at", "2026-01-01"]].concat(),
        [&status_base[..], &OFFLINE, &["--check-only"]].concat(),
        [&status_base[..], &OFFLINE, &["--json", "--at", "@1000"]].concat(),
        [
            &status_base[..],
            &OFFLINE,
            &["--at", "2026-01-01", "--state", &fresh],
        ]
        .concat(),
        [
            &status_base[..],
            &OFFLINE,
            &["--check-only", "--state", &fresh],
        ]
        .concat(),
    ];
    let before = snapshot(&d);
    let promote_runs: Vec<Vec<&str>> = vec![
        vec!["--dry-run"],
        vec!["--at", "2026-01-01"],
        vec!["--dry-run", "--json"],
        [&["--dry-run"][..], &update].concat(),
    ];
    // (stage and status refuse while a promotion is unfinished: exit 2, nothing written.)
    for args in &runs {
        let out = run(args);
        assert_eq!(
            snapshot(&d),
            before,
            "{args:?} changed a file: {}",
            out.stderr
        );
    }
    // The interrupted promotion, shown and not finished: the moves it would make.
    for extra in &promote_runs {
        let out = promote_offline(&d, extra);
        assert_eq!(snapshot(&d), before, "promote {extra:?}: {}", out.stderr);
        if extra.contains(&"--json") {
            schema_valid("rollover-promote", "promote --dry-run --json", &out.stdout);
        } else {
            assert!(
                out.stdout.contains(&format!("would move: {key} -> ")),
                "{}",
                out.stdout
            );
            assert!(out.stdout.contains("would create: "), "{}", out.stdout);
        }
    }
    let out = rollback(&d, &["--dry-run"]);
    assert_refused(&out, "a promotion of");
    assert_eq!(snapshot(&d), before);
    // Status is refused while a promotion is unfinished, naming the command that finishes it.
    let out = run(&[&status_base[..], &OFFLINE].concat());
    assert_refused(&out, "run `dane rollover promote --key");
    // Finished, then every what-if again, rollback's too.
    let out = promote_offline(&d, &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let before = snapshot(&d);
    for args in &runs {
        let out = run(args);
        assert_ne!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(
            snapshot(&d),
            before,
            "{args:?} changed a file: {}",
            out.stderr
        );
    }
    for extra in &promote_runs {
        let out = promote_offline(&d, extra);
        assert_eq!(snapshot(&d), before, "promote {extra:?}: {}", out.stderr);
    }
    for extra in [
        &["--dry-run"][..],
        &["--dry-run", "--json"],
        &[&["--dry-run"][..], &update].concat(),
    ] {
        let out = rollback(&d, extra);
        assert_ne!(out.code, 2, "{}", out.stderr);
        assert_eq!(snapshot(&d), before, "rollback {extra:?}: {}", out.stderr);
        if extra.contains(&"--json") {
            schema_valid(
                "rollover-rollback",
                "rollback --dry-run --json",
                &out.stdout,
            );
        }
    }
    assert!(rollback(&d, &["--dry-run"]).stdout.contains("would move: "));
    // The control: a plain status records its run (here, a new state file).
    let out = run(&[&status_base[..], &OFFLINE, &["--state", &fresh]].concat());
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_ne!(
        snapshot(&d),
        before,
        "a plain status should have recorded its run"
    );
    assert!(
        std::fs::read_to_string(&fresh)
            .unwrap()
            .contains("dane-rollover-state")
    );
    assert!(
        std::fs::read_to_string(&state)
            .unwrap()
            .contains("\"promoted\"")
    );
    std::fs::remove_dir_all(d).unwrap();
}

/// A promotion killed after any of its steps (the plan written; the current key kept; the
/// next key moved; the new next key made) is finished by the next `promote`, with no
/// network: the check passed when the plan was written. Every key is kept, mx.key holds the
/// next key, and the records to publish are printed. A `promote` after that prints the
/// RRset still to publish instead of refusing.
#[test]
fn an_interrupted_promotion_is_finished_by_the_next_run() {
    let (cur, next, newer) = (
        hex_of(&fixture("pki/leaf-ec.key")),
        hex_of(&fixture("pki/next.key")),
        hex_of(&fixture("pki/leaf-rsa.key")),
    );
    let owner = "_25._tcp.mx.example.test. IN TLSA 3 1 1 ";
    for moved in 0..=3 {
        let d = interrupted_promotion(&format!("finish-{moved}"), moved, now() + 3600);
        let out = promote_offline(&d, &[]);
        assert_eq!(
            out.code, 0,
            "after {moved} steps: {}{}",
            out.stdout, out.stderr
        );
        assert!(
            out.stderr.contains("finishing the promotion"),
            "{}",
            out.stderr
        );
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{}", out.stdout);
        assert_eq!(lines[0], format!("{owner}{next}"));
        assert!(lines[1].starts_with(owner), "{}", lines[1]);
        assert!(
            out.stderr.contains(&format!("remove now: {owner}{cur}")),
            "{}",
            out.stderr
        );
        assert_eq!(hex_of(&s(&d.join("mx.key"))), next, "after {moved} steps");
        assert_eq!(
            hex_of(&s(&d.join("mx.key.retired"))),
            cur,
            "after {moved} steps"
        );
        let new_next = hex_of(&s(&d.join("mx.next.key")));
        assert_eq!(lines[1], format!("{owner}{new_next}"));
        if moved == 3 {
            assert_eq!(new_next, newer, "the key an interrupted run made is kept");
        }
        // Again: already promoted; the RRset (and, with --update, the update) to publish.
        let again = promote_offline(&d, &["--json"]);
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
        schema_valid("rollover-promote", "promote again", &again.stdout);
        // The state file dane rewrote: the promotion done, the key retired.
        let state = std::fs::read_to_string(d.join("mx.next.key.rollover.json")).unwrap();
        schema_valid("rollover-state", "after a finished promotion", &state);
        let doc: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
        assert_eq!(doc["outcome"], "already-promoted");
        assert_eq!(doc["domain"], "example.test.");
        assert_eq!(doc["records"][0]["line"], lines[0]);
        assert_eq!(doc["records"][1]["line"], lines[1]);
        assert_eq!(doc["remove"][0], format!("{owner}{cur}"));
        std::fs::remove_dir_all(d).unwrap();
    }
    // Key files that match no step of the plan: refused, saying what was found, nothing
    // moved.
    let d = interrupted_promotion("finish-bad", 0, now() + 3600);
    std::fs::copy(fixture("pki/leaf-rsa.key"), d.join("mx.key")).unwrap();
    let out = promote_offline(&d, &[]);
    assert_refused(&out, "holds neither the former key");
    assert_eq!(hex_of(&s(&d.join("mx.next.key"))), next);
    assert!(!d.join("mx.key.retired").exists());
    std::fs::remove_dir_all(d).unwrap();
}

/// `rollback` puts the retired key back while its keep-until time has not passed, keeps
/// the key it replaces, and prints the RRset (the current key, the key rolled back from,
/// the next key); after that time it refuses (exit 1) and changes nothing.
#[test]
#[cfg(unix)]
fn rollback_inside_and_outside_its_window() {
    use std::os::unix::fs::PermissionsExt as _;
    let (cur, next) = (
        hex_of(&fixture("pki/leaf-ec.key")),
        hex_of(&fixture("pki/next.key")),
    );
    let d = interrupted_promotion("rollback-in", 3, now() + 3600);
    std::fs::set_permissions(d.join("mx.key"), std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(promote_offline(&d, &[]).code, 0);
    let out = rollback(&d, &["--json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    schema_valid("rollover-rollback", "rollback --json", &out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "dane-rollover-rollback");
    assert_eq!(doc["outcome"], "rolled-back");
    let roles: Vec<&str> = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["current", "rolled-back", "next"]);
    assert_eq!(doc["records"][0]["record"], format!("3 1 1 {cur}"));
    assert_eq!(doc["records"][1]["record"], format!("3 1 1 {next}"));
    assert_eq!(hex_of(&s(&d.join("mx.key"))), cur);
    let mode = std::fs::metadata(d.join("mx.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "the current key's mode is kept");
    let kept: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("mx.key.rolled-back-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(hex_of(&s(&d.join(&kept[0]))), next);
    assert!(!d.join("mx.key.retired").exists());
    std::fs::remove_dir_all(d).unwrap();

    // Outside the window: refused, nothing changed.
    let d = interrupted_promotion("rollback-out", 3, now() - 60);
    assert_eq!(promote_offline(&d, &[]).code, 0);
    let before = snapshot(&d);
    let out = rollback(&d, &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .starts_with("not rolled back: the keep-until time"),
        "{}",
        out.stdout
    );
    assert_eq!(snapshot(&d), before);
    std::fs::remove_dir_all(d).unwrap();
}

/// `stage --name mx1 --name mx2`: one next key, the RRset at each owner; docs/rollover.md's
/// steps run in order (stage, stage again for the same key) work with the default paths.
#[test]
fn stage_one_next_key_for_several_hosts() {
    let d = dir("multi");
    let cur = current(&d);
    let args = |json: bool| {
        let mut v = vec![
            "rollover".to_owned(),
            "stage".into(),
            "--key".into(),
            s(&cur),
            "--name".into(),
            "mx1.example.test".into(),
            "--name".into(),
            "MX2.example.test.".into(),
        ];
        if json {
            v.push("--json".into());
        }
        v
    };
    let out = run(&args(false).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let next = d.join("mx.next.key");
    let (c, n) = (record_of(&s(&cur), "x"), record_of(&s(&next), "x"));
    let tail = |l: &str| l.rsplit(' ').next().unwrap().to_owned();
    let want = [
        format!("_25._tcp.mx1.example.test. IN TLSA 3 1 1 {}", tail(&c)),
        format!("_25._tcp.mx1.example.test. IN TLSA 3 1 1 {}", tail(&n)),
        format!("_25._tcp.mx2.example.test. IN TLSA 3 1 1 {}", tail(&c)),
        format!("_25._tcp.mx2.example.test. IN TLSA 3 1 1 {}", tail(&n)),
    ];
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), want);
    let out = run(&args(true).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.code, 0, "{}", out.stderr);
    schema_valid("rollover-stage", "stage, two names", &out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        doc["owners"],
        serde_json::json!(["_25._tcp.mx1.example.test.", "_25._tcp.mx2.example.test."])
    );
    assert_eq!(doc["next_key"]["created"], false);
    assert_eq!(doc["records"].as_array().unwrap().len(), 4);
    std::fs::remove_dir_all(d).unwrap();
}

/// `promote` before `status` said ready: a warning (text and JSON) naming why; with
/// --require-ready a refusal, exit 1, before anything is asked or moved.
#[test]
fn promote_warns_or_refuses_a_switch_before_ready() {
    let d = dir("require-ready");
    let cur = current(&d);
    std::fs::copy(fixture("pki/next.key"), d.join("mx.next.key")).unwrap();
    let next_hex = hex_of(&fixture("pki/next.key"));
    let state = serde_json::json!({
        "kind": "dane-rollover-state",
        "version": 1,
        "next_key": next_hex,
        "ready_at": now() + 660,
    });
    std::fs::write(d.join("mx.next.key.rollover.json"), state.to_string()).unwrap();
    let out = promote_offline(&d, &["--require-ready"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .starts_with("not promoted: --require-ready: the switch came 1"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("before `dane rollover status` would have said ready")
    );
    let out = promote_offline(&d, &["--require-ready", "--json"]);
    assert_eq!(out.code, 1);
    schema_valid("rollover-promote", "promote --require-ready", &out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["outcome"], "not-promoted");
    assert_eq!(doc["warnings"][0]["code"], "switched-before-ready");
    // Without --require-ready: the warning comes with the check (which fails here, with no
    // server to probe).
    let out = promote_offline(&d, &["--json"]);
    assert_eq!(out.code, 1);
    schema_valid("rollover-promote", "promote, check failed", &out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["warnings"][0]["code"], "switched-before-ready");
    assert_eq!(doc["check"]["ok"], false);
    // Once ready_at has passed, no warning.
    let state = serde_json::json!({
        "kind": "dane-rollover-state", "version": 1, "next_key": next_hex, "ready_at": 1000,
    });
    std::fs::write(d.join("mx.next.key.rollover.json"), state.to_string()).unwrap();
    let out = promote_offline(&d, &["--json", "--require-ready"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["warnings"], serde_json::json!([]), "{}", out.stdout);
    assert_eq!(doc["check"]["ok"], false, "the check ran");
    assert_eq!(hex_of(&s(&cur)), hex_of(&fixture("pki/leaf-ec.key")));
    std::fs::remove_dir_all(d).unwrap();
}

/// `json` (a document `dane rollover` printed or wrote) follows its JSON Schema,
/// `schemas/dane-KIND.schema.json` (closed: an unknown field fails).
fn schema_valid(kind: &str, origin: &str, json: &str) {
    dane_testenv::schema::assert_valid_one(kind, origin, json);
}
