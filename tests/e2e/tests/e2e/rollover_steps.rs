//! The steps of a `dane rollover` as the rollover suites (`rollover.rs`,
//! `rollover_publish.rs`) take them against the interop environment's `roll.test`: `dane`
//! inside the namespace, resolving by iteration from the private root, and `stage`,
//! `status`, `promote` and `verify` with the arguments every test would otherwise spell out.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use dane_e2e::{Run, dane_bin, run_command};
use dane_testenv::Interop;
use dane_testenv::interop::{ROLL_MX, ROLL_ZONE, Rollover};
use serde_json::Value;

/// The margin passed to every `status` (seconds, and as the `--margin` value).
pub const MARGIN: u64 = 60;
pub const MARGIN_ARG: &str = "60s";

/// Fails the calling test, saying so, when the binary has no `rollover` command (the
/// command is built on another branch; these tests are written against its contract).
pub fn require_rollover() {
    let out = dane_e2e::run(&["rollover", "--help"]);
    assert!(
        out.code == 0 && out.stdout.contains("stage") && out.stdout.contains("promote"),
        "PENDING: `dane rollover` is not in this dane binary ({}): the rollover e2e tests \
         cannot run until the command is merged (issue 14). `dane rollover --help` exited \
         {}: {}{}",
        dane_bin().display(),
        out.code,
        out.stdout,
        out.stderr
    );
}

/// The interop environment, once the binary is known to have `dane rollover`.
pub fn start() -> Interop {
    require_rollover();
    Interop::start().expect("the interop environment (run as root; see the error)")
}

/// The clock, in seconds since the epoch: what `--at` offsets are counted from.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fresh work directory of this test's own (`tag` unique across the rollover suites).
pub fn work_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dane-rollover-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh work directory with a next key made by openssl: `(work, next.key, state.json)`
/// (the state file is not created).
pub fn work_with_next_key(tag: &str) -> (PathBuf, PathBuf, PathBuf) {
    let work = work_dir(tag);
    let (next, state) = (work.join("next.key"), work.join("state.json"));
    openssl_key(&next);
    (work, next, state)
}

pub fn s(p: &Path) -> String {
    p.display().to_string()
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// A `dane` command inside the namespace, with a clean, colourless environment.
pub fn dane_command(env: &Interop) -> Command {
    let mut cmd = env.command(dane_bin());
    cmd.env("NO_COLOR", "1").env_remove("RUST_LOG");
    cmd
}

/// `dane ARGS` inside the namespace.
pub fn dane(env: &Interop, args: &[String]) -> Run {
    let mut cmd = dane_command(env);
    cmd.args(args);
    run_command(cmd, None)
}

/// The resolution flags: the private root's anchor, iteration from its hints (no resolver
/// cache between the steps).
pub fn resolution(env: &Interop) -> Vec<String> {
    vec![
        "--trust-anchor".into(),
        s(&env.anchor_ds()),
        "--iterate".into(),
        "--root-hints".into(),
        s(&env.root_hints()),
        // The private root's delegations and hosts live on documentation addresses.
        "--allow-private".into(),
    ]
}

pub fn json(run: &Run, what: &str) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{what}: no JSON ({e}), exit {}: {run:?}", run.code))
}

/// A P-256 key in PKCS#8 PEM by openssl (what an ACME client would be given).
pub fn openssl_key(path: &Path) {
    let status = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .arg("-out")
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl genpkey {}", path.display());
}

/// `dane verify roll.test --json --timeout 10 --at AT` with the resolution flags; the run
/// and its JSON document (`step` names it when there is none).
pub fn verify_at(env: &Interop, at: u64, step: &str) -> (Run, Value) {
    let mut a = args(&["verify", ROLL_ZONE, "--json", "--timeout", "10", "--at"]);
    a.push(format!("@{at}"));
    a.extend(resolution(env));
    let run = dane(env, &a);
    let doc = json(&run, step);
    (run, doc)
}

/// `dane verify roll.test` must say verified (exit 0) at `at`: delivery works at this step.
pub fn assert_delivers(env: &Interop, at: u64, step: &str) {
    let (run, doc) = verify_at(env, at, step);
    assert!(
        run.code == 0 && doc["verdict"] == "verified",
        "{step}: delivery would break: dane verify exit {}, verdict {}, reason {}",
        run.code,
        doc["verdict"],
        doc["reason"]
    );
}

/// `dane rollover status roll.test --next-key NEXT --state STATE --margin 60s`, at `at`
/// (`--at`: a what-if, which reads the state file and records nothing) or, with `None`, at
/// the clock (a run that records what it sees), with `resolution` and `extra` (and `--json`
/// unless `extra` has `--check-only`); the run and its JSON document.
pub fn status_with(
    env: &Interop,
    next: &Path,
    state: &Path,
    at: Option<u64>,
    resolution: Vec<String>,
    extra: &[&str],
) -> (Run, Option<Value>) {
    let mut a = args(&["rollover", "status", ROLL_ZONE, "--next-key"]);
    a.extend([s(next), "--state".into(), s(state), "--margin".into()]);
    a.push(MARGIN_ARG.into());
    if let Some(at) = at {
        a.extend(["--at".into(), format!("@{at}")]);
    }
    a.extend(resolution);
    a.extend(args(extra));
    if !extra.contains(&"--check-only") {
        a.push("--json".into());
    }
    let run = dane(env, &a);
    let doc = serde_json::from_str(&run.stdout).ok();
    if doc.is_some() {
        schemas_valid("rollover-status", &run.stdout, state);
    }
    (run, doc)
}

/// A `dane rollover` document (`kind`: `rollover-status`, ...) and the state file it read
/// or wrote follow their JSON Schemas (schemas/, closed: an unknown field fails).
pub fn schemas_valid(kind: &str, json: &str, state: &Path) {
    use dane_testenv::schema::{SchemaDoc, assert_valid};
    let mut docs = vec![SchemaDoc::new(kind, kind, json)];
    if let Ok(text) = std::fs::read_to_string(state) {
        docs.push(SchemaDoc::new("rollover-state", s(state), text));
    }
    assert_valid(&docs);
}

/// [`status_with`] the resolution flags, at `at` (a what-if: nothing recorded).
pub fn status(
    env: &Interop,
    next: &Path,
    state: &Path,
    at: u64,
    extra: &[&str],
) -> (Run, Option<Value>) {
    status_with(env, next, state, Some(at), resolution(env), extra)
}

/// [`status_with`] the resolution flags, at the clock: the run records in the state file
/// when each server was first seen serving the next key's record.
pub fn record(env: &Interop, next: &Path, state: &Path, extra: &[&str]) -> (Run, Option<Value>) {
    status_with(env, next, state, None, resolution(env), extra)
}

/// The latest time the state file records a server first seen serving the next key's
/// record: the clock of the run that recorded it.
pub fn last_seen(state: &Path) -> u64 {
    let text = std::fs::read_to_string(state).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["seen"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["first_seen"].as_u64())
        .max()
        .unwrap_or_else(|| panic!("no server recorded in {text}"))
}

/// `dane rollover stage --key CUR --next-key NEXT --name HOST --port 25` plus `extra`.
pub fn stage(env: &Interop, cur: &Path, next: Option<&Path>, host: &str, extra: &[String]) -> Run {
    let mut a = args(&["rollover", "stage", "--key"]);
    a.push(s(cur));
    if let Some(next) = next {
        a.extend(["--next-key".into(), s(next)]);
    }
    a.extend(["--name".into(), host.into(), "--port".into(), "25".into()]);
    a.extend(extra.iter().cloned());
    let run = dane(env, &a);
    if extra.iter().any(|e| e == "--json") && run.code == 0 {
        dane_testenv::schema::assert_valid_one("rollover-stage", "stage --json", &run.stdout);
    }
    run
}

/// Stages CUR + NEXT at `host` and publishes it by update to the primary with the TSIG key
/// it accepts; the update must succeed.
pub fn publish(env: &Interop, roll: &Rollover<'_>, cur: &Path, next: &Path, host: &str) -> Run {
    let published = stage(
        env,
        cur,
        Some(next),
        host,
        &update_args(roll.primary(), &roll.tsig_key()),
    );
    assert_eq!(published.code, 0, "{host}: {published:?}");
    published
}

/// [`publish`] the current key's record and NEXT's at every MX host.
pub fn publish_everywhere(env: &Interop, roll: &Rollover<'_>, next: &Path) {
    for host in ROLL_MX {
        publish(env, roll, &roll.current_key(), next, host);
    }
}

/// `dane rollover promote roll.test --key CUR --next-key NEXT --state STATE` with the
/// resolution flags, plus `extra`.
pub fn promote(env: &Interop, cur: &Path, next: &Path, state: &Path, extra: &[String]) -> Run {
    let mut a = args(&["rollover", "promote", ROLL_ZONE, "--key"]);
    a.extend([
        s(cur),
        "--next-key".into(),
        s(next),
        "--state".into(),
        s(state),
    ]);
    a.extend(resolution(env));
    a.extend(extra.iter().cloned());
    let run = dane(env, &a);
    if extra.iter().any(|e| e == "--json") && run.stdout.starts_with('{') {
        schemas_valid("rollover-promote", &run.stdout, state);
    }
    run
}

/// `--update PRIMARY --tsig-key KEY`.
pub fn update_args(server: &str, key: &Path) -> Vec<String> {
    vec![
        "--update".into(),
        server.into(),
        "--tsig-key".into(),
        s(key),
    ]
}

/// The TLSA RRset of `host` at a server, as sorted `3 1 1 hex` lines.
pub fn rrset(roll: &Rollover<'_>, server: &str, host: &str) -> Vec<String> {
    roll.tlsa_at(server, host).unwrap()
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub fn rec(hex: &str) -> String {
    format!("3 1 1 {hex}")
}

/// The TTL the primary serves `host`'s TLSA RRset with.
pub fn served_ttl(roll: &Rollover<'_>, host: &str) -> u64 {
    let text = roll
        .dig(
            roll.primary(),
            &["+noall", "+answer", &roll.tlsa_owner(host), "TLSA"],
        )
        .unwrap();
    text.lines()
        .find_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or_else(|| panic!("no TTL in {text:?}"))
}

/// Once everything is published everywhere: `status` now is waiting (exit 5) and records
/// it, and at the returned time (after the served TTL and the margin, from then on, and
/// not before `t`) ready (exit 0).
pub fn wait_until_ready(
    env: &Interop,
    roll: &Rollover<'_>,
    next: &Path,
    state: &Path,
    t: u64,
) -> u64 {
    let (run, _) = record(env, next, state, &[]);
    assert_eq!(run.code, 5, "{run:?}");
    let ready = last_seen(state).max(t) + served_ttl(roll, ROLL_MX[0]) + MARGIN + 1;
    let (run, _) = status(env, next, state, ready, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    ready
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

pub fn readiness(doc: &Option<Value>) -> String {
    doc.as_ref()
        .and_then(|d| d["readiness"].as_str())
        .unwrap_or("")
        .to_string()
}

/// The `hosts` array of a `status` document.
pub fn hosts(doc: &Option<Value>) -> &Vec<Value> {
    doc.as_ref().unwrap()["hosts"].as_array().unwrap()
}
