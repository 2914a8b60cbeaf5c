//! `dane rollover` end to end (issue 14) against real servers: the interop environment's
//! `roll.test`, signed online by a Knot primary that takes TSIG-authenticated dynamic
//! updates, a Knot secondary that lags until the test lets it transfer, and Postfix `roll`
//! serving both MX hosts (dane-testenv `interop::rollover`).
//!
//! The walk: stage the next key and publish it by update at both hosts; `status` blocked
//! by the lagging secondary (and naming it); transfer; `status` waiting with the time left
//! being the served TTL plus the margin; ready after it (time moved with `--at`, within the
//! signatures' validity: Knot's run from 90 minutes ago to 30 days ahead, the parents' a
//! day ago to 30 days ahead); `promote` refused while Postfix still presents the current
//! key; switch Postfix; `promote` (publishing the new RRset). `dane verify` must say
//! verified between every two steps, at the same `--at`: a step that would have broken
//! delivery fails the test. Then the failure cases: a next key never published, a record
//! published at only one of the two MX hosts, a refused TSIG key, an update racing another
//! change (a proxy in front of the primary applies a change between dane's read and its
//! update), a corrupt and an unwritable state file, key files that exist already, and a
//! resolver that still caches the old RRset when the clock of `--at` says the TTL passed.
//!
//! Every dane process runs inside the namespace, and the commands that resolve pass
//! `--iterate --root-hints` (the private root), so nothing reaches the real root servers.
//! Needs root; until `dane rollover` exists in the binary, every test here fails saying
//! so (see [`crate::rollover_steps::require_rollover`]). The steps themselves are in
//! `rollover_steps.rs`, shared with `rollover_publish.rs`.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dane_e2e::run_command;
use dane_testenv::Interop;
use dane_testenv::interop::{ROLL_MX, ROLL_TTL, ROLL_ZONE, posttls_finger_outcome};
use serde_json::Value;

use crate::rollover_steps::{
    MARGIN, args, assert_delivers, dane, dane_command, hosts, json, last_seen, mode, now,
    openssl_key, promote, publish, publish_everywhere, readiness, rec, record, resolution, rrset,
    s, served_ttl, sorted, stage, start, status, status_with, update_args, verify_at,
    wait_until_ready, work_dir, work_with_next_key,
};

/// A record nobody stages: what the racing change adds.
const OTHER: &str = "3 1 1 eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

/// The whole procedure, every step delivering.
#[test]
fn the_walk_from_stage_to_promote_never_breaks_delivery() {
    let env = start();
    let roll = env.rollover();
    let work = work_dir("walk");
    let (cur, next, state) = (
        work.join("cur.key"),
        work.join("next.key"),
        work.join("state.json"),
    );
    std::fs::copy(roll.current_key(), &cur).unwrap();
    openssl_key(&next);
    let cur_hex = roll.spki_sha256(&cur).unwrap();
    let next_hex = roll.spki_sha256(&next).unwrap();
    let (primary, secondary) = (roll.primary(), roll.secondary());
    let t0 = now();
    assert_delivers(&env, t0, "before anything");

    // Stage, printing only: the RRset has both keys' records, nothing is sent.
    let printed = stage(&env, &cur, Some(&next), ROLL_MX[0], &args(&["--json"]));
    assert_eq!(printed.code, 0, "{printed:?}");
    let text = printed.stdout.to_ascii_lowercase();
    assert!(
        text.contains(&cur_hex) && text.contains(&next_hex),
        "{printed:?}"
    );
    // --dry-run with --update: the diff, nothing sent.
    let serial = roll.serial(primary).unwrap();
    let mut dry = update_args(primary, &roll.tsig_key());
    dry.extend(args(&["--zone", ROLL_ZONE, "--dry-run"]));
    let dry = stage(&env, &cur, Some(&next), ROLL_MX[0], &dry);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(
        dry.stdout.to_ascii_lowercase().contains(&next_hex),
        "{dry:?}"
    );
    assert_eq!(
        roll.serial(primary).unwrap(),
        serial,
        "--dry-run sent an update"
    );
    assert_eq!(rrset(&roll, primary, ROLL_MX[0]), vec![rec(&cur_hex)]);

    // Publish by update at both hosts (with and without --zone).
    let both = sorted(vec![rec(&cur_hex), rec(&next_hex)]);
    for (host, zone) in [(ROLL_MX[0], true), (ROLL_MX[1], false)] {
        let mut a = update_args(primary, &roll.tsig_key());
        if zone {
            a.extend(args(&["--zone", ROLL_ZONE]));
        }
        let published = stage(&env, &cur, Some(&next), host, &a);
        assert_eq!(published.code, 0, "{host}: {published:?}");
        assert_eq!(rrset(&roll, primary, host), both, "{host} at the primary");
        assert_eq!(
            rrset(&roll, secondary, host),
            vec![rec(&cur_hex)],
            "{host} lags"
        );
    }
    assert_delivers(&env, t0, "published at the primary only");

    // The secondary lags: blocked, naming it (a run at the clock: it records the primary's
    // addresses, first seen serving the record now).
    let t1 = now();
    let (run, doc) = record(&env, &next, &state, &[]);
    assert_eq!(run.code, 1, "blocked by the secondary: {run:?}");
    assert_eq!(readiness(&doc), "blocked", "{run:?}");
    assert!(
        run.stdout.contains(secondary) || run.stdout.contains("ns2.roll.test"),
        "the blocking server is named: {}",
        run.stdout
    );
    // Per server: the primary's addresses serve it (waiting for the TTL), the secondary's
    // do not (what blocks).
    for host in hosts(&doc) {
        let servers = host["servers"].as_array().unwrap();
        assert_eq!(servers.len(), 4, "two servers, two addresses each: {host}");
        for server in servers {
            let ns = server["ns"].as_str().unwrap().trim_end_matches('.');
            let state = server["state"].as_str().unwrap();
            match ns {
                "ns1.roll.test" => assert_eq!(state, "waiting", "{server}"),
                "ns2.roll.test" => assert!(!["waiting", "ready"].contains(&state), "{server}"),
                _ => panic!("unknown server {server}"),
            }
        }
    }
    let (check, _) = status(&env, &next, &state, t1, &["--check-only"]);
    assert_ne!(check.code, 0, "--check-only while blocked: {check:?}");
    assert!(state.is_file(), "the state file is written");
    // What-ifs read the state and write nothing: not at another time, not --check-only.
    let snapshot = || {
        (
            std::fs::read(&state).unwrap(),
            std::fs::metadata(&state).unwrap().modified().unwrap(),
        )
    };
    let before = snapshot();
    for extra in [&[][..], &["--check-only"]] {
        let (run, _) = status(&env, &next, &state, t1 - 1800, extra);
        assert_eq!(run.code, 1, "{run:?}");
        assert_eq!(
            snapshot(),
            before,
            "status --at {extra:?} wrote the state file"
        );
    }
    let (run, _) = status_with(
        &env,
        &next,
        &state,
        None,
        resolution(&env),
        &["--check-only"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        snapshot(),
        before,
        "status --check-only wrote the state file"
    );
    serde_json::from_str::<Value>(&std::fs::read_to_string(&state).unwrap())
        .expect("the state file is JSON");
    assert_delivers(&env, t1, "blocked");

    // Transfer: every server has it; waiting for TTL + margin from the last first sighting.
    roll.transfer().unwrap();
    for host in ROLL_MX {
        assert_eq!(rrset(&roll, secondary, host), both, "{host} transferred");
    }
    let ttl = served_ttl(&roll, ROLL_MX[0]).max(served_ttl(&roll, ROLL_MX[1]));
    let (run, doc) = record(&env, &next, &state, &[]);
    // The secondary's addresses were first seen in that run, at its clock.
    let t2 = last_seen(&state);
    assert_eq!(run.code, 5, "waiting: {run:?}");
    assert_eq!(readiness(&doc), "waiting", "{run:?}");
    let left = doc.as_ref().and_then(|d| d["seconds_left"].as_u64());
    assert_eq!(
        left,
        Some(ttl + MARGIN),
        "time left = TTL {ttl} + margin: {}",
        run.stdout
    );
    assert_delivers(&env, t2, "waiting");
    // The state survives between runs: a second later (--at), one second less.
    let (run, doc) = status(&env, &next, &state, t2 + 1, &[]);
    assert_eq!(run.code, 5, "{run:?}");
    let left = doc.as_ref().and_then(|d| d["seconds_left"].as_u64());
    assert_eq!(left, Some(ttl + MARGIN - 1), "{}", run.stdout);
    let (run, _) = status(&env, &next, &state, t2 + ttl + MARGIN - 1, &[]);
    assert_eq!(run.code, 5, "one second before: {run:?}");
    let (check, _) = status(
        &env,
        &next,
        &state,
        t2 + ttl + MARGIN - 1,
        &["--check-only"],
    );
    assert_ne!(check.code, 0, "--check-only while waiting: {check:?}");

    // Ready once TTL + margin have passed.
    let t3 = t2 + ttl + MARGIN + 1;
    let (run, doc) = status(&env, &next, &state, t3, &[]);
    assert_eq!(run.code, 0, "ready: {run:?}");
    assert_eq!(readiness(&doc), "ready", "{run:?}");
    let (check, _) = status(&env, &next, &state, t3, &["--check-only"]);
    assert_eq!(check.code, 0, "--check-only when ready: {check:?}");
    assert_delivers(&env, t3, "ready, before the switch");

    // Promote before the switch: the servers still present the current key: refused,
    // nothing changed. (Promote runs at the clock: by the clock of --at it would be a
    // what-if, as --dry-run is.)
    let new_next = work.join("new-next.key");
    let mut promote_args = update_args(primary, &roll.tsig_key());
    promote_args.extend(["--new-next-key".into(), s(&new_next), "--json".into()]);
    let serial = roll.serial(primary).unwrap();
    let early = promote(&env, &cur, &next, &state, &promote_args);
    assert_ne!(
        early.code, 0,
        "promote before Postfix presents the next key: {early:?}"
    );
    assert!(
        !new_next.exists(),
        "a refused promote created {}",
        new_next.display()
    );
    assert_eq!(
        roll.serial(primary).unwrap(),
        serial,
        "a refused promote sent an update"
    );
    assert_eq!(rrset(&roll, primary, ROLL_MX[0]), both);

    // Switch Postfix to the next key: still delivering (both records are published), and
    // posttls-finger, through the namespace's Unbound, agrees.
    roll.use_key(&next).unwrap();
    assert_delivers(&env, t3, "after the switch");
    for host in ROLL_MX {
        let log = env.posttls_finger_log(&[&format!("[{host}]")]).unwrap();
        assert_eq!(posttls_finger_outcome(&log), "verified", "{host}:\n{log}");
    }

    // promote --dry-run (and --at): the moves, the new next key and the update it would
    // send, and no file changed, nothing sent.
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(&work)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                let m = std::fs::metadata(&p).unwrap();
                (
                    p.clone(),
                    std::fs::read(&p).unwrap(),
                    m.permissions(),
                    m.modified().unwrap(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let before = listing();
    for what_if in [&["--dry-run"][..], &["--at", &format!("@{t3}")]] {
        let mut a = update_args(primary, &roll.tsig_key());
        a.extend(args(what_if));
        let dry = promote(&env, &cur, &next, &state, &a);
        assert_eq!(dry.code, 0, "{what_if:?}: {dry:?}");
        assert!(
            dry.stdout.contains(&format!("would move: {}", s(&cur))),
            "{dry:?}"
        );
        assert!(
            dry.stdout.contains(&format!("would create: {}", s(&next))),
            "{dry:?}"
        );
        assert!(
            dry.stderr.contains(&format!("- _25._tcp.{}.", ROLL_MX[0])),
            "{dry:?}"
        );
        assert_eq!(listing(), before, "promote {what_if:?} changed a file");
        assert_eq!(
            roll.serial(primary).unwrap(),
            serial,
            "promote {what_if:?} sent"
        );
    }
    assert_eq!(rrset(&roll, primary, ROLL_MX[0]), both);

    // Promote: the next key is current, a new next key is staged and published, the old
    // current record removed. By the clock (not --at's), the TTL has not passed since the
    // record reached every server: promote says so, and --require-ready refuses.
    let mut strict = promote_args.clone();
    strict.push("--require-ready".into());
    let refused = promote(&env, &cur, &next, &state, &strict);
    assert_eq!(refused.code, 1, "{refused:?}");
    let doc = json(&refused, "promote --require-ready");
    assert_eq!(doc["warnings"][0]["code"], "switched-before-ready", "{doc}");
    assert_eq!(listing(), before, "a refused promote changed a file");
    let promoted = promote(&env, &cur, &next, &state, &promote_args);
    assert_eq!(promoted.code, 0, "{promoted:?}");
    let doc = json(&promoted, "promote");
    assert_eq!(doc["outcome"], "promoted", "{doc}");
    assert_eq!(doc["domain"], format!("{ROLL_ZONE}."), "{doc}");
    assert_eq!(doc["warnings"][0]["code"], "switched-before-ready", "{doc}");
    assert!(
        new_next.is_file(),
        "no new next key at {}",
        new_next.display()
    );
    assert_eq!(mode(&new_next), 0o600);
    assert!(
        std::fs::read_to_string(&new_next)
            .unwrap()
            .contains("BEGIN PRIVATE KEY")
    );
    let new_hex = roll.spki_sha256(&new_next).unwrap();
    assert!(new_hex != next_hex && new_hex != cur_hex);
    // The next key is current now (at the current key's path); the former one is kept.
    assert_eq!(roll.spki_sha256(&cur).unwrap(), next_hex, "{promoted:?}");
    let kept: Vec<PathBuf> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| roll.spki_sha256(p).is_ok_and(|h| h == cur_hex))
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "the former current key is kept once: {kept:?}"
    );
    let after = sorted(vec![rec(&next_hex), rec(&new_hex)]);
    for host in ROLL_MX {
        assert_eq!(rrset(&roll, primary, host), after, "{host} after promote");
    }
    assert_delivers(&env, t3, "promoted, at the primary only");
    roll.transfer().unwrap();
    for host in ROLL_MX {
        assert_eq!(rrset(&roll, secondary, host), after, "{host} transferred");
    }
    assert_delivers(&env, t3 + 1, "promoted everywhere");
    // A second promote: already done; the RRset, and no update left to send.
    let again = promote(&env, &cur, &new_next, &state, &promote_args);
    assert_eq!(again.code, 0, "{again:?}");
    let doc = json(&again, "promote again");
    assert_eq!(doc["outcome"], "already-promoted", "{doc}");
    assert_eq!(doc["updates"][0]["result"], "nothing-to-do", "{doc}");
    let _ = std::fs::remove_dir_all(&work);
}

/// A next key that was staged but never published: blocked at every host, for ever.
#[test]
fn a_next_key_never_published_blocks() {
    let env = start();
    let roll = env.rollover();
    let (work, next, state) = work_with_next_key("unpublished");
    let printed = stage(&env, &roll.current_key(), Some(&next), ROLL_MX[0], &[]);
    assert_eq!(printed.code, 0, "{printed:?}");
    let t = now();
    for at in [t, t + 3600, t + 86400] {
        let (run, doc) = status(&env, &next, &state, at, &[]);
        assert_eq!(run.code, 1, "at +{}: {run:?}", at - t);
        assert_eq!(readiness(&doc), "blocked");
        for host in hosts(&doc) {
            assert_eq!(host["readiness"], "blocked", "{host}");
        }
        let (check, _) = status(&env, &next, &state, at, &["--check-only"]);
        assert_ne!(check.code, 0, "{check:?}");
        assert_delivers(&env, at, "never published");
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// Published at mx1 only: blocked, naming mx2, even after every server and the TTL.
#[test]
fn a_record_published_at_one_of_two_mx_hosts_blocks_naming_the_other() {
    let env = start();
    let roll = env.rollover();
    let (work, next, state) = work_with_next_key("onehost");
    publish(&env, &roll, &roll.current_key(), &next, ROLL_MX[0]);
    roll.transfer().unwrap();
    let t = now();
    let (run, _) = record(&env, &next, &state, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let (run, doc) = status(&env, &next, &state, t + 86400, &[]);
    assert_eq!(run.code, 1, "a day later, still blocked: {run:?}");
    let hosts = hosts(&doc);
    let of = |name: &str| {
        hosts
            .iter()
            .find(|h| h["host"].as_str().unwrap_or("").trim_end_matches('.') == name)
            .unwrap_or_else(|| panic!("no host {name} in {hosts:?}"))
            .clone()
    };
    assert_eq!(of(ROLL_MX[0])["readiness"], "ready", "mx1: {run:?}");
    assert_eq!(of(ROLL_MX[1])["readiness"], "blocked", "mx2: {run:?}");
    assert!(run.stdout.contains(ROLL_MX[1]), "{}", run.stdout);
    // With --host mx1 alone it is ready: the block is mx2's.
    let (one, _) = status(&env, &next, &state, t + 86400, &["--host", ROLL_MX[0]]);
    assert_eq!(one.code, 0, "--host mx1: {one:?}");
    assert_delivers(&env, t + 86400, "one host published");
    let _ = std::fs::remove_dir_all(&work);
}

/// `--service submission`: the SRV target `smtp.roll.test` (port 25) is a CNAME to mx2, so
/// `status` watches `_25._tcp.mx2.roll.test` (RFC 7673, RFC 7672 2.2.3) and `promote`
/// probes it with the SMTP dialogue; SMTP to the MX hosts is still blocked by mx1.
#[test]
fn status_and_promote_follow_an_srv_target_through_a_cname() {
    let env = start();
    let roll = env.rollover();
    let (work, next, state) = work_with_next_key("srv");
    publish(&env, &roll, &roll.current_key(), &next, ROLL_MX[1]);
    roll.transfer().unwrap();
    let t = now();
    let submission = ["--service", "submission"];
    let (run, doc) = record(&env, &next, &state, &submission);
    assert_eq!(run.code, 5, "waiting: {run:?}");
    let hosts = hosts(&doc);
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    assert_eq!(hosts[0]["host"], "smtp.roll.test.", "{hosts:?}");
    assert_eq!(hosts[0]["owner"], "_25._tcp.mx2.roll.test.", "{hosts:?}");
    assert_eq!(
        hosts[0]["servers"].as_array().unwrap().len(),
        4,
        "{hosts:?}"
    );
    let (run, _) = status(&env, &next, &state, t + 86400, &submission);
    assert_eq!(run.code, 0, "ready a day later: {run:?}");
    // SMTP to the MX hosts: mx1's RRset lacks the next key.
    let (run, _) = status(&env, &next, &state, t + 86400, &[]);
    assert_eq!(run.code, 1, "smtp: blocked by mx1: {run:?}");
    assert_delivers(&env, t + 86400, "next key at mx2 only");

    // promote over the SRV target, with the current key as the "next" one (Postfix serves
    // it): every endpoint presents it over SMTP STARTTLS, and the RRset to publish is at
    // the owner senders use.
    let (old, cur) = (work.join("old.key"), work.join("cur.key"));
    openssl_key(&old);
    std::fs::copy(roll.current_key(), &cur).unwrap();
    let promote_state = work.join("promote.json");
    let promote = |extra: &[&str]| {
        let mut a = args(&["--json"]);
        a.extend(args(extra));
        promote(&env, &old, &cur, &promote_state, &a)
    };
    // The wrong dialogue (TLS from the first byte on the SMTP port) gets no certificate.
    let wrong = promote(&[
        "--port",
        "25",
        "--starttls",
        "none",
        "--host",
        "smtp.roll.test",
    ]);
    assert_eq!(wrong.code, 1, "implicit TLS against Postfix: {wrong:?}");
    let doc = json(&wrong, "promote --starttls none");
    assert_eq!(doc["promoted"], false, "{doc}");
    let run = promote(&submission);
    assert_eq!(run.code, 0, "promote --service submission: {run:?}");
    let doc = json(&run, "promote --service submission");
    assert_eq!(doc["promoted"], true, "{doc}");
    let endpoints = doc["check"]["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "{doc}");
    for e in endpoints {
        assert_eq!(e["host"], "smtp.roll.test.", "{e}");
        assert_eq!(e["presents_next"], true, "{e}");
        assert_eq!(e["verified"], true, "{e}");
    }
    for r in doc["records"].as_array().unwrap() {
        assert!(
            r["line"]
                .as_str()
                .unwrap()
                .starts_with("_25._tcp.mx2.roll.test. "),
            "{r}"
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// A CNAME at the TLSA owner (`_25._tcp.mx3 CNAME _dane.roll.test.`, RFC 7671 7): status
/// follows it to the servers of the target's zone, where the record and its rollover are,
/// rather than calling the alias "a server without the record" or stopping at it.
#[test]
fn status_follows_a_cname_at_the_tlsa_owner_to_its_target() {
    let env = start();
    let roll = env.rollover();
    let (work, next, state) = work_with_next_key("owner-cname");
    let hex = roll.spki_sha256(&next).unwrap();
    let host = ["--host", "mx3.roll.test"];
    // stage --update at the alias sends nothing: the primary would ignore TLSA data added
    // at a CNAME owner (RFC 2136 3.4.2.2), and "sent" would be a lie. Exit 1, the target
    // named, the zone untouched.
    let serial = roll.serial(roll.primary()).unwrap();
    let at_alias = stage(
        &env,
        &roll.current_key(),
        Some(&next),
        "mx3.roll.test",
        &update_args(roll.primary(), &roll.tsig_key()),
    );
    assert_eq!(at_alias.code, 1, "{at_alias:?}");
    assert!(
        at_alias
            .stderr
            .contains("is an alias (CNAME to _dane.roll.test.)")
            && at_alias
                .stderr
                .contains("publish the records at _dane.roll.test."),
        "{at_alias:?}"
    );
    assert!(!at_alias.stderr.contains("update sent"), "{at_alias:?}");
    assert_eq!(roll.serial(roll.primary()).unwrap(), serial);
    // Published at the primary only: the lagging secondary blocks, named at the target.
    let added = roll
        .update(
            &roll.tsig_key(),
            &format!("update add _dane.{ROLL_ZONE}. {ROLL_TTL} IN TLSA 3 1 1 {hex}"),
        )
        .unwrap();
    assert_eq!(added.code, 0, "nsupdate: {added:?}");
    let t = now();
    let (run, doc) = record(&env, &next, &state, &host);
    assert_eq!(run.code, 1, "blocked by the secondary: {run:?}");
    let doc = doc.unwrap();
    let h = &doc["hosts"][0];
    assert_eq!(h["owner"], "_dane.roll.test.", "{doc}");
    let servers = h["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 4, "{doc}");
    for s in servers {
        let lagging = s["ns"] == "ns2.roll.test.";
        let want = if lagging { "missing" } else { "waiting" };
        assert_eq!(s["state"], want, "{s}");
    }
    roll.transfer().unwrap();
    let (run, doc) = record(&env, &next, &state, &host);
    assert_eq!(run.code, 5, "waiting once both serve it: {run:?}");
    assert_eq!(doc.unwrap()["hosts"][0]["owner"], "_dane.roll.test.");
    let later = t + u64::from(ROLL_TTL) + 3600;
    let (run, _) = status(&env, &next, &state, later, &host);
    assert_eq!(run.code, 0, "ready after the TTL and the margin: {run:?}");
    let _ = std::fs::remove_dir_all(&work);
}

/// A wrong TSIG key (same name, other secret) and a missing key file: refused with one
/// clear line, nothing changed.
#[test]
fn a_refused_tsig_key_changes_nothing_and_says_so() {
    let env = start();
    let roll = env.rollover();
    let (work, next, _) = work_with_next_key("tsig");
    let serial = roll.serial(roll.primary()).unwrap();
    let before = rrset(&roll, roll.primary(), ROLL_MX[0]);
    let wrong = stage(
        &env,
        &roll.current_key(),
        Some(&next),
        ROLL_MX[0],
        &update_args(roll.primary(), &roll.tsig_key_wrong()),
    );
    assert_ne!(wrong.code, 0, "{wrong:?}");
    let err = wrong.stderr.to_ascii_lowercase();
    assert!(
        err.contains("tsig") || err.contains("badsig") || err.contains("notauth"),
        "{wrong:?}"
    );
    assert!(!wrong.stderr.contains("panicked"), "{wrong:?}");
    let missing = work.join("no-such.key");
    let absent = stage(
        &env,
        &roll.current_key(),
        Some(&next),
        ROLL_MX[0],
        &update_args(roll.primary(), &missing),
    );
    assert_ne!(absent.code, 0, "{absent:?}");
    assert!(
        absent.stderr.contains("no-such.key"),
        "names the file: {absent:?}"
    );
    assert_eq!(roll.serial(roll.primary()).unwrap(), serial);
    assert_eq!(rrset(&roll, roll.primary(), ROLL_MX[0]), before);
    assert_delivers(&env, now(), "after refused updates");
    let _ = std::fs::remove_dir_all(&work);
}

/// What the race proxy does on the first UPDATE it forwards: the racing change.
static RACED: AtomicBool = AtomicBool::new(false);

#[allow(clippy::print_stdout)] // the proxy's own log, read (and drained) by the test
fn race(msg: &[u8]) {
    let opcode = msg.get(2).map(|b| (b >> 3) & 0x0f);
    if opcode != Some(5) || RACED.swap(true, Ordering::SeqCst) {
        return;
    }
    let key = std::env::var("DANE_RACE_KEY").unwrap();
    let change = std::env::var("DANE_RACE_CHANGE").unwrap();
    let upstream = std::env::var("DANE_RACE_UPSTREAM").unwrap();
    let nsupdate = dane_testenv::find_program("nsupdate", "bind9-dnsutils").unwrap();
    let script = format!("server {upstream} 53\nzone {ROLL_ZONE}.\n{change}\nsend\n");
    let mut cmd = Command::new(nsupdate);
    cmd.args(["-t", "10", "-k", &key]);
    let run = run_command(cmd, Some(script.as_bytes()));
    println!(
        "race proxy: racing change exit {}: {}",
        run.code,
        run.stderr.trim()
    );
}

fn proxy_tcp(mut client: TcpStream, upstream: &str) -> std::io::Result<()> {
    loop {
        let mut len = [0u8; 2];
        if client.read_exact(&mut len).is_err() {
            return Ok(());
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        client.read_exact(&mut msg)?;
        race(&msg);
        let mut up = TcpStream::connect((upstream, 53))?;
        up.set_read_timeout(Some(Duration::from_secs(10)))?;
        up.write_all(&len)?;
        up.write_all(&msg)?;
        let mut rlen = [0u8; 2];
        up.read_exact(&mut rlen)?;
        let mut resp = vec![0u8; usize::from(u16::from_be_bytes(rlen))];
        up.read_exact(&mut resp)?;
        client.write_all(&rlen)?;
        client.write_all(&resp)?;
    }
}

/// Run inside the namespace by `an_update_racing_another_change_fails_and_loses_nothing`:
/// a DNS proxy at `DANE_RACE_LISTEN` (UDP and TCP, port 53) in front of the primary that
/// applies `DANE_RACE_CHANGE` (nsupdate lines, with `DANE_RACE_KEY`) just before it
/// forwards the first UPDATE, so the change lands between dane's read and its update.
#[test]
#[ignore = "a helper process, run by an_update_racing_another_change_fails_and_loses_nothing"]
fn race_proxy() {
    let Ok(listen) = std::env::var("DANE_RACE_LISTEN") else {
        return;
    };
    let upstream = std::env::var("DANE_RACE_UPSTREAM").unwrap();
    let udp = UdpSocket::bind((listen.as_str(), 53)).unwrap();
    let tcp = TcpListener::bind((listen.as_str(), 53)).unwrap();
    let up = upstream.clone();
    std::thread::spawn(move || {
        for client in tcp.incoming().flatten() {
            let up = up.clone();
            std::thread::spawn(move || {
                let _ = proxy_tcp(client, &up);
            });
        }
    });
    println!("race proxy ready");
    std::io::stdout().flush().unwrap();
    let mut buf = vec![0u8; 65535];
    loop {
        let Ok((n, from)) = udp.recv_from(&mut buf) else {
            continue;
        };
        let msg = buf[..n].to_vec();
        race(&msg);
        let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        if sock.send_to(&msg, (upstream.as_str(), 53)).is_ok() {
            let mut resp = vec![0u8; 65535];
            if let Ok(m) = sock.recv(&mut resp) {
                let _ = udp.send_to(&resp[..m], from);
            }
        }
    }
}

/// Starts [`race_proxy`] in the namespace at `listen`; returns once it is listening.
fn start_race_proxy(env: &Interop, listen: &str, change: &str) -> Child {
    let roll = env.rollover();
    let mut child = env
        .command(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "rollover::race_proxy",
            "--include-ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env("DANE_RACE_LISTEN", listen)
        .env("DANE_RACE_UPSTREAM", roll.primary())
        .env("DANE_RACE_KEY", roll.tsig_key())
        .env("DANE_RACE_CHANGE", change)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("race proxy ready") {
        match out.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the race proxy exited: {}", String::from_utf8_lossy(&seen));
            }
        }
    }
    // Keep draining its output (so its prints never block) on a thread of its own.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    child
}

/// An update racing another change: the other change lands between dane's read and its
/// update (a proxy in front of the primary applies it first); the prerequisites make the
/// update fail, saying the RRset changed, and the other change stays. Run again, dane
/// re-reads and publishes, keeping the other writer's record: no lost write.
#[test]
fn an_update_racing_another_change_fails_and_loses_nothing() {
    let env = start();
    let roll = env.rollover();
    let (work, next, _) = work_with_next_key("race");
    let cur_hex = roll.spki_sha256(&roll.current_key()).unwrap();
    let next_hex = roll.spki_sha256(&next).unwrap();
    let owner = roll.tlsa_owner(ROLL_MX[0]);
    let change = format!("update add {owner} 300 TLSA {OTHER}");
    let listen = "127.0.0.9";
    let mut proxy = start_race_proxy(&env, listen, &change);
    let mut a = update_args(listen, &roll.tsig_key());
    a.extend(args(&["--zone", ROLL_ZONE]));
    let raced = stage(&env, &roll.current_key(), Some(&next), ROLL_MX[0], &a);
    let _ = proxy.kill();
    let _ = proxy.wait();
    let now_set = rrset(&roll, roll.primary(), ROLL_MX[0]);
    assert_eq!(
        now_set,
        sorted(vec![rec(&cur_hex), OTHER.to_string()]),
        "the racing change is there, dane's update is not (exit {}: {raced:?})",
        raced.code
    );
    assert_ne!(
        raced.code, 0,
        "an update that lost the race must fail: {raced:?}"
    );
    assert!(!raced.stderr.contains("panicked"), "{raced:?}");
    // Again, directly: re-read, published, the other record kept.
    let mut a = update_args(roll.primary(), &roll.tsig_key());
    a.extend(args(&["--zone", ROLL_ZONE]));
    let again = stage(&env, &roll.current_key(), Some(&next), ROLL_MX[0], &a);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(
        rrset(&roll, roll.primary(), ROLL_MX[0]),
        sorted(vec![rec(&cur_hex), rec(&next_hex), OTHER.to_string()]),
        "no lost write"
    );
    assert_delivers(&env, now(), "after the race");
    let _ = std::fs::remove_dir_all(&work);
}

/// A corrupt state file: one clear error naming it, the file untouched (nothing lost); an
/// unwritable one (its directory is a file): an error naming it, never a verdict that was
/// not recorded.
#[test]
fn a_corrupt_or_unwritable_state_file_is_a_clear_error_and_loses_nothing() {
    let env = start();
    let roll = env.rollover();
    let (work, next, _) = work_with_next_key("state");
    publish(&env, &roll, &roll.current_key(), &next, ROLL_MX[0]);
    let t = now();
    let corrupt = work.join("corrupt.json");
    let garbage = "{\"kind\": \"dane-rollover-state\", \"seen\": [ this is not JSON\n";
    std::fs::write(&corrupt, garbage).unwrap();
    let (run, _) = record(&env, &next, &corrupt, &[]);
    assert!(![0, 5].contains(&run.code), "a corrupt state file: {run:?}");
    assert!(
        run.stderr.contains("corrupt.json"),
        "names the file: {run:?}"
    );
    assert!(
        run.stderr.trim().lines().count() <= 2,
        "one clear line: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&corrupt).unwrap(),
        garbage,
        "nothing lost"
    );
    // Not a state document at all (other JSON): refused the same way, untouched.
    std::fs::write(&corrupt, "[1, 2, 3]\n").unwrap();
    let (run, _) = status(&env, &next, &corrupt, t, &[]);
    assert!(![0, 5].contains(&run.code), "{run:?}");
    let (run, _) = record(&env, &next, &corrupt, &[]);
    assert!(![0, 5].contains(&run.code), "{run:?}");
    assert_eq!(std::fs::read_to_string(&corrupt).unwrap(), "[1, 2, 3]\n");

    let blocker = work.join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let unwritable = blocker.join("state.json");
    let (run, _) = record(&env, &next, &unwritable, &[]);
    assert!(
        ![0, 5].contains(&run.code),
        "an unwritable state file: {run:?}"
    );
    assert!(run.stderr.contains("state.json"), "names the file: {run:?}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    // A good state file is written atomically: no temporary files left beside it.
    let good = work.join("good").join("state.json");
    std::fs::create_dir_all(good.parent().unwrap()).unwrap();
    let (run, _) = record(&env, &next, &good, &[]);
    assert!([1, 5].contains(&run.code), "{run:?}");
    serde_json::from_str::<Value>(&std::fs::read_to_string(&good).unwrap())
        .expect("the state file is JSON");
    let files: Vec<_> = std::fs::read_dir(good.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files
            .iter()
            .all(|f| f == "state.json" || f.contains("lock")),
        "a temporary file left beside the state: {files:?}"
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// Key files are never overwritten: stage without `--next-key` creates a new key (0600,
/// PKCS#8) and a second run leaves it alone; promote refuses a `--new-next-key` that exists,
/// changing nothing.
#[test]
fn a_key_file_that_exists_already_is_never_overwritten() {
    let env = start();
    let roll = env.rollover();
    let work = work_dir("keyfiles");
    let cur = work.join("cur.key");
    std::fs::copy(roll.current_key(), &cur).unwrap();
    let listing = |dir: &Path| {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    // Stage without --next-key, run in the work directory: a new key appears (wherever the
    // command puts it, it names it), mode 0600, and its record is printed.
    let stage_in_work = |extra: &[&str]| {
        let mut cmd = dane_command(&env);
        cmd.current_dir(&work)
            .args(["rollover", "stage", "--key"])
            .arg(&cur)
            .args(["--name", ROLL_MX[0], "--json"])
            .args(extra);
        run_command(cmd, None)
    };
    let first = stage_in_work(&["--key-type", "p256"]);
    assert_eq!(first.code, 0, "{first:?}");
    let doc: Value = serde_json::from_str(&first.stdout).unwrap();
    let mut created = Vec::new();
    fn paths(v: &Value, out: &mut Vec<PathBuf>) {
        match v {
            Value::String(s) if Path::new(s).is_file() => out.push(PathBuf::from(s)),
            Value::Array(a) => a.iter().for_each(|x| paths(x, out)),
            Value::Object(o) => o.values().for_each(|x| paths(x, out)),
            _ => {}
        }
    }
    paths(&doc, &mut created);
    created.retain(|p| p.canonicalize().ok() != cur.canonicalize().ok());
    let key = created
        .first()
        .unwrap_or_else(|| panic!("stage names no key file it created: {}", first.stdout))
        .clone();
    assert_eq!(mode(&key), 0o600, "{}", key.display());
    let pem = std::fs::read(&key).unwrap();
    assert!(String::from_utf8_lossy(&pem).contains("BEGIN PRIVATE KEY"));
    let hex = roll.spki_sha256(&key).unwrap();
    assert!(
        first.stdout.to_ascii_lowercase().contains(&hex),
        "{}",
        first.stdout
    );
    let second = stage_in_work(&[]);
    assert_eq!(std::fs::read(&key).unwrap(), pem, "overwritten: {second:?}");
    assert!(!second.stderr.contains("panicked"), "{second:?}");

    // Promote with a --new-next-key that exists, when everything else is ready (published
    // at both hosts, on both servers, TTL passed, Postfix switched): refused, naming the
    // file, before anything changes.
    let next = work.join("next.key");
    openssl_key(&next);
    for host in ROLL_MX {
        publish(&env, &roll, &cur, &next, host);
    }
    roll.transfer().unwrap();
    let state = work.join("state.json");
    let ready = wait_until_ready(&env, &roll, &next, &state, now());
    roll.use_key(&next).unwrap();
    let exists = work.join("exists.key");
    std::fs::write(&exists, "precious\n").unwrap();
    let before = listing(&work);
    let serial = roll.serial(roll.primary()).unwrap();
    let mut a = update_args(roll.primary(), &roll.tsig_key());
    a.extend(["--new-next-key".into(), s(&exists)]);
    a.extend(["--at".into(), format!("@{ready}")]);
    let state_before = std::fs::read(&state).unwrap();
    let run = promote(&env, &cur, &next, &state, &a);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("exists.key"), "names the file: {run:?}");
    assert_eq!(std::fs::read_to_string(&exists).unwrap(), "precious\n");
    assert_eq!(listing(&work), before, "files changed by a refused promote");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        state_before,
        "the state changed"
    );
    assert_eq!(roll.serial(roll.primary()).unwrap(), serial);
    let _ = std::fs::remove_dir_all(&work);
}

/// The harness itself, without `dane rollover`: `dane verify` reaches the Knot-served,
/// online-signed zone (iterating from the private root and through Unbound) and says
/// verified while Postfix presents the current key, failed once it presents a key the zone
/// does not designate, so [`assert_delivers`] can fail.
#[test]
fn dane_verify_sees_the_rollover_zone_and_a_switch_too_early_fails() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let roll = env.rollover();
    let t = now();
    assert_delivers(&env, t, "the environment as started");
    let mut a = args(&[
        "verify",
        ROLL_ZONE,
        "--json",
        "--no-iterate",
        "--allow-private",
        "--trust-anchor",
    ]);
    a.push(s(&env.anchor_ds()));
    let through_unbound = dane(&env, &a);
    assert_eq!(through_unbound.code, 0, "{through_unbound:?}");
    let work = work_dir("harness");
    let other = work.join("other.key");
    openssl_key(&other);
    roll.use_key(&other).unwrap();
    let (run, doc) = verify_at(&env, t, "switched too early");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(doc["verdict"], "failed", "{}", run.stdout);
    let _ = std::fs::remove_dir_all(&work);
}

/// The harness itself: the race proxy lands its change between a client's read and its
/// update, so an update with value-dependent prerequisites (RFC 2136 section 2.4.2: the
/// RRset as read) fails and the change stays; nsupdate plays the client.
#[test]
fn the_race_proxy_makes_an_update_with_prerequisites_fail() {
    let env = Interop::start().expect("the interop environment (run as root; see the error)");
    let roll = env.rollover();
    let cur_hex = roll.spki_sha256(&roll.current_key()).unwrap();
    let owner = roll.tlsa_owner(ROLL_MX[0]);
    let listen = "127.0.0.9";
    let mut proxy = start_race_proxy(
        &env,
        listen,
        &format!("update add {owner} 300 TLSA {OTHER}"),
    );
    let next = "3 1 1 1111111111111111111111111111111111111111111111111111111111111111";
    let script = format!(
        "server {listen} 53\nzone {ROLL_ZONE}.\nprereq yxrrset {owner} TLSA {}\n\
         update add {owner} 300 TLSA {next}\nsend\n",
        rec(&cur_hex)
    );
    let nsupdate = dane_testenv::find_program("nsupdate", "bind9-dnsutils").unwrap();
    let mut cmd = env.command(nsupdate);
    cmd.args(["-t", "10", "-k"]).arg(roll.tsig_key());
    let raced = run_command(cmd, Some(script.as_bytes()));
    let _ = proxy.kill();
    let _ = proxy.wait();
    assert_ne!(raced.code, 0, "{raced:?}");
    assert!(raced.stderr.contains("NXRRSET"), "{raced:?}");
    assert_eq!(
        rrset(&roll, roll.primary(), ROLL_MX[0]),
        sorted(vec![rec(&cur_hex), OTHER.to_string()])
    );
}

/// What `--at` cannot move: a real cache. The namespace's Unbound holds the current RRsets
/// (asked before the next record was published, TTL 300 s of real time). Once every
/// authoritative server has served the next record for TTL + margin by the clock of
/// `--at`, `status` iterating itself (no cache) says ready, but through that Unbound the
/// validating path still lacks the record: blocked, never ready.
#[test]
fn a_resolver_still_holding_the_old_rrset_blocks_the_switch() {
    let env = start();
    let roll = env.rollover();
    let (work, next, state) = work_with_next_key("cache");
    for host in ROLL_MX {
        let out = env
            .command("dig")
            .args(["@127.0.0.1", "+dnssec", &roll.tlsa_owner(host), "TLSA"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("status: NOERROR"), "{text}");
    }
    publish_everywhere(&env, &roll, &next);
    roll.transfer().unwrap();
    // The interop name servers live on documentation addresses: --allow-private.
    let mut unbound = args(&[
        "--resolver",
        "127.0.0.1",
        "--no-iterate",
        "--allow-private",
        "--trust-anchor",
    ]);
    unbound.push(s(&env.anchor_ds()));
    let through_unbound =
        |state: &Path, at: Option<u64>| status_with(&env, &next, state, at, unbound.clone(), &[]);
    let (run, doc) = through_unbound(&state, None);
    assert_eq!(run.code, 5, "just published: waiting: {run:?}");
    assert_eq!(readiness(&doc), "waiting");
    let ttl = served_ttl(&roll, ROLL_MX[0]);
    let ready = last_seen(&state) + ttl + MARGIN + 1;
    let (run, doc) = through_unbound(&state, Some(ready));
    assert_eq!(run.code, 1, "the cache still has the old RRset: {run:?}");
    assert_eq!(readiness(&doc), "blocked", "{run:?}");
    for host in hosts(&doc) {
        assert_eq!(host["validated_has_next"], false, "{host}");
    }
    // The same servers, the same clock, iterating (no cache): ready.
    let iterating = work.join("iterating.json");
    let (run, _) = record(&env, &next, &iterating, &[]);
    assert_eq!(run.code, 5, "{run:?}");
    let ready = last_seen(&iterating) + ttl + MARGIN + 1;
    let (run, doc) = status(&env, &next, &iterating, ready, &[]);
    assert_eq!(run.code, 0, "iterating, no cache: ready: {run:?}");
    for host in hosts(&doc) {
        assert_eq!(host["validated_has_next"], true, "{host}");
    }
    let _ = std::fs::remove_dir_all(&work);
}
