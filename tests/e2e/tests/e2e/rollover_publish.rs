//! `dane rollover`'s publishing and readiness against real servers (issue 14): RFC 2136
//! updates with TSIG to the Knot primary of `roll.test` (which signs online), the lagging
//! Knot secondary blocking `status`, `waiting` with the time left after the transfer, and
//! `ready` once the TTL and the margin have passed (`--at`); a TSIG key the primary refuses;
//! Knot's own key format; an update racing another change (the prerequisite fails, nothing
//! is lost). The whole walk with Postfix and `promote` is `rollover.rs`'s.
//!
//! Needs root (network namespaces); every dane, dig and nsupdate process runs inside the
//! namespace.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use dane_testenv::Interop;
use dane_testenv::interop::{ROLL_TTL, Rollover};
use serde::Deserialize;

fn dane_in(env: &Interop, args: &[&str]) -> (i32, String, String) {
    let mut cmd = env.command(dane_e2e::dane_bin());
    cmd.env("NO_COLOR", "1").env_remove("RUST_LOG").args(args);
    let out = cmd.output().expect("run dane in the namespace");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn work_dir(r: &Rollover<'_>, tag: &str) -> PathBuf {
    let d = r.dir().join(format!("publish-{tag}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The resolver flags: iterate from the interop root (no resolver cache between the steps).
fn resolution(env: &Interop) -> Vec<String> {
    vec![
        "--iterate".into(),
        "--root-hints".into(),
        s(&env.root_hints()),
        "--trust-anchor".into(),
        s(&env.anchor_ds()),
        "--timeout".into(),
        "5".into(),
    ]
}

#[derive(Debug, Deserialize)]
struct StatusDoc {
    readiness: String,
    reason: String,
    seconds_left: Option<u64>,
    hosts: Vec<HostDoc>,
}

#[derive(Debug, Deserialize)]
struct HostDoc {
    host: String,
    readiness: String,
    servers: Vec<ServerDoc>,
}

#[derive(Debug, Deserialize)]
struct ServerDoc {
    ns: String,
    state: String,
    first_seen: Option<u64>,
    ttl: Option<u32>,
}

/// An example program of the workspace, built like `dane_e2e::dane_bin` builds `dane`
/// (same target directory and profile).
fn example_bin(package: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_owned();
    let target_dir = profile_dir.parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build
        .current_dir(dane_e2e::root())
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--example",
            name,
            "--target-dir",
        ])
        .arg(target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    assert!(
        build.status().unwrap().success(),
        "cargo build --example {name}"
    );
    profile_dir.join("examples").join(name)
}

fn now() -> u64 {
    #[allow(clippy::disallowed_methods)]
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn update_to_knot_then_the_lagging_secondary_blocks_then_waiting_then_ready() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let r = env.rollover();
    let d = work_dir(&r, "walk");
    let (cur, next, state) = (
        d.join("mx.key"),
        d.join("mx.next.key"),
        d.join("state.json"),
    );
    std::fs::copy(r.current_key(), &cur).unwrap();
    let host = r.mx_hosts()[0];
    let primary = r.primary();

    // Stage, dry run: the diff, nothing sent.
    let (code, out, err) = dane_in(
        &env,
        &[
            "rollover",
            "stage",
            "--key",
            &s(&cur),
            "--next-key",
            &s(&next),
            "--name",
            host,
            "--update",
            primary,
            "--tsig-key",
            &s(&r.tsig_key()),
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let next_hex = r.spki_sha256(&next).unwrap();
    let cur_hex = r.spki_sha256(&cur).unwrap();
    assert!(
        err.to_ascii_lowercase().contains(&format!(
            "+ _25._tcp.{host}. {ROLL_TTL} in tlsa 3 1 1 {next_hex}"
        )),
        "{err}"
    );
    assert!(err.contains("dry run"), "{err}");
    assert_eq!(
        r.tlsa_at(primary, host).unwrap(),
        [format!("3 1 1 {cur_hex}")]
    );

    // Stage for real, with Knot's key format: the primary has current + next, the secondary
    // (no NOTIFY) still only current.
    let (code, out, err) = dane_in(
        &env,
        &[
            "rollover",
            "stage",
            "--key",
            &s(&cur),
            "--next-key",
            &s(&next),
            "--name",
            host,
            "--update",
            primary,
            "--tsig-key",
            &s(&r.tsig_key_knot()),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("update sent"), "{err}");
    let mut both = vec![format!("3 1 1 {cur_hex}"), format!("3 1 1 {next_hex}")];
    both.sort();
    assert_eq!(r.tlsa_at(primary, host).unwrap(), both);
    assert_eq!(
        r.tlsa_at(r.secondary(), host).unwrap(),
        [format!("3 1 1 {cur_hex}")]
    );
    // Again: nothing to do (the records are there), and the primary is unchanged.
    let (code, _, err) = dane_in(
        &env,
        &[
            "rollover",
            "stage",
            "--key",
            &s(&cur),
            "--next-key",
            &s(&next),
            "--name",
            host,
            "--update",
            primary,
            "--tsig-key",
            &s(&r.tsig_key()),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no change"), "{err}");

    let status = |at: u64, extra: &[&str]| {
        let mut args: Vec<String> = [
            "rollover",
            "status",
            r.zone(),
            "--host",
            host,
            "--next-key",
            &s(&next),
            "--state",
            &s(&state),
            "--margin",
            "60",
            "--at",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        args.push(format!("@{at}"));
        args.extend(resolution(&env));
        args.extend(extra.iter().map(|e| (*e).to_owned()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        dane_in(&env, &refs)
    };

    // The lagging secondary blocks (exit 1), and says which server.
    let t0 = now();
    let (code, out, err) = status(t0, &["--json"]);
    assert_eq!(code, 1, "{out}{err}");
    let doc: StatusDoc = serde_json::from_str(&out).unwrap();
    assert_eq!(doc.readiness, "blocked");
    assert!(doc.reason.contains("ns2.roll.test."), "{}", doc.reason);
    let h = &doc.hosts[0];
    assert_eq!(h.host, format!("{host}."));
    let by_ns = |ns: &str| h.servers.iter().find(|s| s.ns == ns).unwrap();
    assert_eq!(by_ns("ns1.roll.test.").state, "waiting");
    assert_eq!(by_ns("ns1.roll.test.").ttl, Some(ROLL_TTL));
    assert_eq!(by_ns("ns2.roll.test.").state, "missing");

    // The secondary transfers: waiting (exit 5), the time left is the TTL plus the margin
    // from when the secondary was first seen serving it.
    r.transfer().unwrap();
    let t1 = t0 + 30;
    let (code, out, err) = status(t1, &["--json"]);
    assert_eq!(code, 5, "{out}{err}");
    let doc: StatusDoc = serde_json::from_str(&out).unwrap();
    assert_eq!(doc.readiness, "waiting", "{}", doc.reason);
    assert_eq!(
        doc.seconds_left,
        Some(u64::from(ROLL_TTL) + 60),
        "{}",
        doc.reason
    );
    let first = doc.hosts[0]
        .servers
        .iter()
        .map(|s| s.first_seen)
        .collect::<Vec<_>>();
    assert!(first.iter().all(Option::is_some), "{first:?}");
    // 100 s later: 100 s less.
    let (code, out, _) = status(t1 + 100, &["--check-only"]);
    assert_eq!(code, 5, "{out}");
    assert!(
        out.starts_with("waiting: ") && out.contains("4m 20s left"),
        "{out}"
    );
    // After the TTL and the margin: ready (exit 0), from the state file's first-seen times.
    let (code, out, err) = status(t1 + u64::from(ROLL_TTL) + 60, &["--check-only"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ready: "), "{out}");
    assert_eq!(out.lines().count(), 1);
    assert_eq!(doc_host_readiness(&env, &r, &next, &state, host), "ready");

    // The other MX host has not got the record: the domain is blocked there.
    let other = r.mx_hosts()[1];
    let domain_check = |extra: &[&str]| {
        let mut args: Vec<String> = ["rollover", "status", r.zone(), "--next-key", &s(&next)]
            .iter()
            .map(|a| (*a).to_owned())
            .collect();
        args.extend([
            "--state".to_owned(),
            s(&state),
            "--margin".into(),
            "60".into(),
        ]);
        args.extend(resolution(&env));
        args.extend(extra.iter().map(|e| (*e).to_owned()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        dane_in(&env, &refs)
    };
    let (code, out, _) = domain_check(&["--check-only"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(other), "{out}");

    // Publish at the second host too, transfer, and wait it out: the domain is ready.
    let (code, _, err) = dane_in(
        &env,
        &[
            "rollover",
            "stage",
            "--key",
            &s(&cur),
            "--next-key",
            &s(&next),
            "--name",
            other,
            "--update",
            primary,
            "--tsig-key",
            &s(&r.tsig_key()),
        ],
    );
    assert_eq!(code, 0, "{err}");
    r.transfer().unwrap();
    // (Simulated time runs ahead of the clock here: the first host's servers were first
    // seen at t1 above.)
    let t2 = t1 + u64::from(ROLL_TTL) + 60 + 10;
    let (code, out, _) = domain_check(&["--check-only", "--at", &format!("@{t2}")]);
    assert_eq!(code, 5, "{out}");
    let (code, out, _) = domain_check(&[
        "--check-only",
        "--at",
        &format!("@{}", t2 + u64::from(ROLL_TTL) + 60),
    ]);
    assert_eq!(code, 0, "{out}");

    // Promote before the switch: refused, nothing moved.
    let promote = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "rollover",
            "promote",
            r.zone(),
            "--key",
            &s(&cur),
            "--next-key",
            &s(&next),
            "--state",
            &s(&state),
            "--update",
            primary,
            "--tsig-key",
            &s(&r.tsig_key()),
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        args.extend(resolution(&env));
        args.extend(extra.iter().map(|e| (*e).to_owned()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        dane_in(&env, &refs)
    };
    let (code, out, err) = promote(&[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("not promoted: "), "{out}");
    assert!(out.contains("presents another key"), "{out}");
    assert_eq!(r.spki_sha256(&cur).unwrap(), cur_hex);

    // Postfix switches to the next key; dane verify is still verified (the record is
    // there); promote: next becomes current, a new next key, the RRset at the primary
    // changes (new next added, old current removed).
    r.use_key(&next).unwrap();
    let mut verify: Vec<String> = vec!["verify".into(), r.zone().into()];
    verify.extend(resolution(&env));
    let refs: Vec<&str> = verify.iter().map(String::as_str).collect();
    let (code, out, err) = dane_in(&env, &refs);
    assert_eq!(code, 0, "dane verify after the switch: {out}{err}");
    let (code, out, err) = promote(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        r.spki_sha256(&cur).unwrap(),
        next_hex,
        "the next key is current now"
    );
    let new_next_hex = r.spki_sha256(&next).unwrap();
    assert_ne!(new_next_hex, next_hex);
    let retired: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("mx.key.retired-"))
        .collect();
    assert_eq!(retired.len(), 1, "{retired:?}");
    assert_eq!(
        r.spki_sha256(&retired[0]).unwrap(),
        cur_hex,
        "the old key is kept"
    );
    assert!(
        err.contains(&format!("remove now: _25._tcp.{host}.")),
        "{err}"
    );
    for h in r.mx_hosts() {
        let mut want = vec![format!("3 1 1 {next_hex}"), format!("3 1 1 {new_next_hex}")];
        want.sort();
        assert_eq!(r.tlsa_at(primary, h).unwrap(), want, "{h}");
    }
    // And senders still deliver (from the primary; the secondary lags until transfer).
    r.transfer().unwrap();
    let (code, out, err) = dane_in(&env, &refs);
    assert_eq!(code, 0, "dane verify after promote: {out}{err}");
    // The state file now belongs to the new next key, with the retired key's dates.
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(
        st["next_key"].as_str().unwrap().to_ascii_lowercase(),
        new_next_hex
    );
    assert_eq!(st["retired"].as_array().unwrap().len(), 1);
}

fn doc_host_readiness(
    env: &Interop,
    r: &Rollover<'_>,
    next: &Path,
    state: &Path,
    host: &str,
) -> String {
    let mut args: Vec<String> = [
        "rollover",
        "status",
        r.zone(),
        "--host",
        host,
        "--next-key",
        &s(next),
        "--state",
        &s(state),
        "--margin",
        "60",
        "--json",
        "--at",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    args.push(format!("@{}", now() + u64::from(ROLL_TTL) + 600));
    args.extend(resolution(env));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, out, err) = dane_in(env, &refs);
    let doc: StatusDoc = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    doc.hosts[0].readiness.clone()
}

#[test]
fn a_refused_tsig_key_and_an_update_racing_another_change() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let r = env.rollover();
    let d = work_dir(&r, "refusals");
    let (cur, next) = (d.join("mx.key"), d.join("mx.next.key"));
    std::fs::copy(r.current_key(), &cur).unwrap();
    let host = r.mx_hosts()[1];
    let before = r.tlsa_at(r.primary(), host).unwrap();

    // The wrong secret: refused (exit 1), one clear line, nothing changed.
    let (code, out, err) = dane_in(
        &env,
        &[
            "rollover",
            "stage",
            "--key",
            &s(&cur),
            "--next-key",
            &s(&next),
            "--name",
            host,
            "--update",
            r.primary(),
            "--tsig-key",
            &s(&r.tsig_key_wrong()),
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("refused the TSIG key roll-key."), "{err}");
    assert!(err.contains("BADSIG") || err.contains("NOTAUTH"), "{err}");
    assert_eq!(r.tlsa_at(r.primary(), host).unwrap(), before);

    // A race: the RRset is read, another writer changes it (nsupdate), then the update is
    // sent with the RRset as read: the primary's prerequisite check fails (NXRRSET) and
    // neither change is lost.
    let example = example_bin("dane-resolver", "rrset_update");
    let next_hex = {
        let (code, _, err) = dane_in(
            &env,
            &[
                "rollover",
                "stage",
                "--key",
                &s(&cur),
                "--next-key",
                &s(&next),
                "--name",
                host,
            ],
        );
        assert_eq!(code, 0, "{err}");
        r.spki_sha256(&next).unwrap()
    };
    let owner = r.tlsa_owner(host);
    let mut child = env
        .command(&example)
        .args([
            r.primary(),
            &owner,
            &s(&r.tsig_key()),
            &format!("3 1 1 {next_hex}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead as _;
        let mut line = String::new();
        let stdout = child.stdout.as_mut().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("read 1 record"), "{line}");
    }
    let other = "3 1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let run = r
        .update(
            &r.tsig_key(),
            &format!("update add {owner} {ROLL_TTL} IN TLSA {other}"),
        )
        .unwrap();
    assert_eq!(run.code, 0, "nsupdate: {}", run.stderr);
    {
        use std::io::Write as _;
        child.stdin.as_mut().unwrap().write_all(b"send\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("prerequisite failed (NXRRSET)"), "{stderr}");
    let mut want = before.clone();
    want.push(other.to_owned());
    want.sort();
    assert_eq!(
        r.tlsa_at(r.primary(), host).unwrap(),
        want,
        "the other writer's change stays"
    );
}
