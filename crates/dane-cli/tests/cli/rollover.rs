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
