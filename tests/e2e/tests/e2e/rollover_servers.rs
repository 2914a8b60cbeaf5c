//! `dane rollover status` counts every server, from a validated list, and TSIG keys in every
//! format the tools write are accepted by a real Knot primary (issue 21), in the interop
//! environment:
//!
//! - `wide.test` has 17 name servers, one more than dane asks: its status is never ready,
//!   and names the one not asked, even long after every asked server served the record;
//! - `ns-bogus.test`'s NS RRset has a corrupted signature: the list of servers cannot be
//!   trusted, so the status is indeterminate although every listed server serves it;
//! - `blackhole.test` lists a server that reads every query and never answers: the run
//!   ends by the lookup deadline, and by `--deadline` when that is shorter;
//! - the Knot primary of `roll.test` takes updates signed with its key as `keymgr -t`
//!   prints it, as BIND's `tsig-keygen` and `ddns-confgen` write it, as `nsupdate -y`
//!   takes it, and chosen by `--tsig-key-name` from a file of two; the secret is never
//!   printed.
//!
//! Needs root (network namespaces); every dane process runs inside the namespace.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dane_testenv::Interop;
use dane_testenv::interop::{
    BrokenResolver, ROLL_BLACKHOLE_ZONE, ROLL_MX, ROLL_NS_BOGUS_ZONE, ROLL_WIDE_ZONE,
};
use serde_json::Value;

use crate::rollover_steps::{
    MARGIN_ARG, args, dane, now, openssl_key, rec, resolution, rrset, s, schemas_valid, stage,
    start, update_args, work_dir,
};

/// The next key whose `3 1 1` record the three zones publish.
fn fixture_next_key() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki/next.key")
}

/// `dane rollover status ZONE --next-key fixtures/pki/next.key --state STATE [--at AT]` with
/// the resolution flags and `extra`: the run, how long it took, and its JSON document when
/// `extra` has `--json`. Without `at` the run is a plain one, which records what it saw in
/// the state file (a `--at` what-if records nothing).
fn zone_status(
    env: &Interop,
    zone: &str,
    state: &Path,
    at: Option<u64>,
    extra: &[&str],
) -> (dane_e2e::Run, Duration, Option<Value>) {
    let mut a = args(&["rollover", "status", zone, "--next-key"]);
    a.extend([s(&fixture_next_key()), "--state".into(), s(state)]);
    a.extend(["--margin".into(), MARGIN_ARG.into()]);
    if let Some(at) = at {
        a.extend(["--at".into(), format!("@{at}")]);
    }
    a.extend(resolution(env));
    a.extend(args(extra));
    let started = Instant::now();
    let run = dane(env, &a);
    let took = started.elapsed();
    let doc = serde_json::from_str(&run.stdout).ok();
    if doc.is_some() {
        schemas_valid("rollover-status", &run.stdout, state);
    }
    (run, took, doc)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

#[test]
fn status_counts_every_server_from_a_validated_list_and_ends_by_its_deadline() {
    let env = start();
    let d = work_dir("servers");
    let t = now();

    // 17 name servers: 16 asked (32 addresses), the 17th named as not asked; never ready,
    // even a day after every asked server was first seen serving the record.
    let state = d.join("wide.json");
    for at in [None, Some(t + 86_400)] {
        let (run, _, doc) = zone_status(&env, ROLL_WIDE_ZONE, &state, at, &["--json"]);
        assert_eq!(run.code, 3, "{run:?}");
        let doc = doc.unwrap();
        assert_eq!(doc["readiness"], "indeterminate", "{doc:#}");
        let reason = text(&doc["reason"]);
        assert!(
            reason.contains("were not asked (past the bounds): ns16.wide.test."),
            "{reason}"
        );
        let h = &doc["hosts"][0];
        assert_eq!(h["unasked"], serde_json::json!(["ns16.wide.test."]));
        let servers = h["servers"].as_array().unwrap();
        assert_eq!(servers.len(), 32);
        // Each address's serial (the zone's SOA, serial 1 as built).
        assert!(servers.iter().all(|s| s["serial"] == 1), "{servers:?}");
        if at.is_some() {
            assert!(servers.iter().all(|s| s["state"] == "ready"), "{servers:?}");
        }
    }
    let (run, _, _) = zone_status(&env, ROLL_WIDE_ZONE, &state, Some(t + 86_400), &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout
            .contains("ns16.wide.test.  not asked (past the bounds)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(" serial 1  ready: "), "{}", run.stdout);

    // A bogus NS RRset: indeterminate, although its one server serves the record.
    let state = d.join("ns-bogus.json");
    for at in [None, Some(t + 86_400)] {
        let (run, _, doc) = zone_status(&env, ROLL_NS_BOGUS_ZONE, &state, at, &["--json"]);
        assert_eq!(run.code, 3, "{run:?}");
        let reason = text(&doc.unwrap()["reason"]);
        assert!(
            reason.contains("are not known: the NS RRset of ns-bogus.test.")
                && reason.contains("is bogus"),
            "{reason}"
        );
    }

    // A black-holed server: the run ends by the lookup deadline (--timeout 2: 6 s), not
    // after attempts x timeout per question; indeterminate, naming it.
    let _silent = env.broken_resolver(BrokenResolver::Silent).unwrap();
    let state = d.join("blackhole.json");
    let (run, took, doc) = zone_status(
        &env,
        ROLL_BLACKHOLE_ZONE,
        &state,
        Some(t),
        &["--json", "--timeout", "2"],
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(took < Duration::from_secs(40), "{took:?}");
    let doc = doc.unwrap();
    let servers = doc["hosts"][0]["servers"].as_array().unwrap();
    let hole = servers
        .iter()
        .find(|s| s["address"] == "127.0.0.13:53")
        .unwrap_or_else(|| panic!("{servers:?}"));
    assert_eq!(hole["state"], "failed", "{hole}");
    assert!(text(&doc["reason"]).contains("127.0.0.13"), "{doc:#}");
    // A run deadline shorter than that: it holds.
    let (run, took, _) = zone_status(
        &env,
        ROLL_BLACKHOLE_ZONE,
        &state,
        Some(t),
        &["--check-only", "--timeout", "10", "--deadline", "3s"],
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(
        run.stdout
            .starts_with("indeterminate: the run's deadline of 3s (--deadline) passed"),
        "{}",
        run.stdout
    );
}

#[test]
fn tsig_keys_as_knot_bind_and_nsupdate_write_them_are_accepted_by_knot() {
    let env = start();
    let r = env.rollover();
    let d = work_dir("tsig-formats");
    let cur = d.join("mx.key");
    std::fs::copy(r.current_key(), &cur).unwrap();
    let host = ROLL_MX[0];
    let secret = std::fs::read_to_string(r.tsig_key_knot())
        .unwrap()
        .trim()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let formats: [(&str, PathBuf, &[&str]); 5] = [
        ("keymgr -t", r.tsig_key_keymgr(), &[]),
        ("tsig-keygen", r.tsig_key(), &[]),
        ("ddns-confgen", r.tsig_key_ddns(), &[]),
        ("nsupdate -y", r.tsig_key_knot(), &[]),
        (
            "knot.conf, two keys",
            r.tsig_key_two(),
            &["--tsig-key-name", "roll-key"],
        ),
    ];
    for (i, (what, key, extra)) in formats.iter().enumerate() {
        // A new next key each time: each run sends an update of its own.
        let next = d.join(format!("next-{i}.key"));
        openssl_key(&next);
        let mut a = update_args(r.primary(), key);
        a.extend(extra.iter().map(|e| (*e).to_owned()));
        let run = stage(&env, &cur, Some(&next), host, &a);
        assert_eq!(run.code, 0, "{what}: {run:?}");
        assert!(run.stderr.contains("update sent"), "{what}: {}", run.stderr);
        let next_hex = r.spki_sha256(&next).unwrap();
        assert!(
            rrset(&r, r.primary(), host).contains(&rec(&next_hex)),
            "{what}: the primary serves the record"
        );
        assert!(
            !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
            "{what}: the secret was printed"
        );
    }
    // Two keys and no name: refused before anything is sent.
    let next = d.join("next-unnamed.key");
    openssl_key(&next);
    let run = stage(
        &env,
        &cur,
        Some(&next),
        host,
        &update_args(r.primary(), &r.tsig_key_two()),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("2 keys (other-key., roll-key.): choose one with --tsig-key-name"),
        "{}",
        run.stderr
    );
    // The wrong secret: the primary's BADSIG answer is unsigned (RFC 8945 5.3.2), so it
    // is reported as unauthenticated, already at the signed read before the update.
    let run = stage(
        &env,
        &cur,
        Some(&next),
        host,
        &update_args(r.primary(), &r.tsig_key_wrong()),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "unauthenticated: the primary said: 192.0.2.81:53 refused the TSIG key roll-key."
        ),
        "{}",
        run.stderr
    );
}
