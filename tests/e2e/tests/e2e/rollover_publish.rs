//! `dane rollover`'s publishing and readiness against real servers (issue 14): RFC 2136
//! updates with TSIG to the Knot primary of `roll.test` (which signs online), the lagging
//! Knot secondary blocking `status`, `waiting` with the time left after the transfer, and
//! `ready` once the TTL and the margin have passed (`--at`); a TSIG key the primary refuses;
//! Knot's own key format; an update racing another change (the prerequisite fails, nothing
//! is lost).
//!
//! Its walk is not `rollover.rs`'s, and the two cannot be one: this one publishes one host
//! at a time (ready at mx1 while the domain is blocked at mx2, then waiting for mx2's later
//! first sighting), lets `stage --dry-run` create the next key, and promotes in the default
//! text mode (the new next key at `--next-key`'s path, the old one `mx.key.retired-*`, one
//! retired entry in the state); `rollover.rs`'s publishes both hosts before the first
//! `status` (so the secondary lacks both), takes an openssl key, and promotes with
//! `--new-next-key --json`. The secondary transfers the whole zone, so one walk cannot
//! have both orders, and a walk promotes once. The steps they share are in
//! `rollover_steps.rs`.
//!
//! Needs root (network namespaces); every dane, dig and nsupdate process runs inside the
//! namespace.

use std::path::PathBuf;
use std::process::Stdio;

use dane_testenv::interop::{ROLL_MX, ROLL_TTL};
use serde::Deserialize;

use crate::rollover_steps::{
    assert_delivers, last_seen, now, promote, rec, record, rrset, s, sorted, stage, start, status,
    update_args, work_dir,
};

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

#[test]
fn update_to_knot_then_the_lagging_secondary_blocks_then_waiting_then_ready() {
    let env = start();
    let r = env.rollover();
    let d = work_dir("publish-walk");
    let (cur, next, state) = (
        d.join("mx.key"),
        d.join("mx.next.key"),
        d.join("state.json"),
    );
    std::fs::copy(r.current_key(), &cur).unwrap();
    let host = ROLL_MX[0];
    let primary = r.primary();

    // Stage, dry run, before the next key exists: no key made, nothing sent; the next key's
    // record is a comment (it is not known before the key is made).
    let mut dry_run = update_args(primary, &r.tsig_key());
    dry_run.push("--dry-run".into());
    let dry = stage(&env, &cur, Some(&next), host, &dry_run);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(!next.exists(), "a dry run made the next key");
    assert!(
        dry.stderr.contains(&format!(
            "+ ; _25._tcp.{host}. IN TLSA 3 1 1 (the next key's record"
        )),
        "{}",
        dry.stderr
    );
    // Stage without --update makes it; a dry run then shows the diff with its record.
    let made = stage(&env, &cur, Some(&next), host, &[]);
    assert_eq!(made.code, 0, "{made:?}");
    let dry = stage(&env, &cur, Some(&next), host, &dry_run);
    assert_eq!(dry.code, 0, "{dry:?}");
    let next_hex = r.spki_sha256(&next).unwrap();
    let cur_hex = r.spki_sha256(&cur).unwrap();
    assert!(
        dry.stderr.to_ascii_lowercase().contains(&format!(
            "+ _25._tcp.{host}. {ROLL_TTL} in tlsa {}",
            rec(&next_hex)
        )),
        "{}",
        dry.stderr
    );
    assert!(dry.stderr.contains("dry run"), "{}", dry.stderr);
    assert_eq!(rrset(&r, primary, host), [rec(&cur_hex)]);

    // Stage for real, with Knot's key format: the primary has current + next, the secondary
    // (no NOTIFY) still only current.
    let sent = stage(
        &env,
        &cur,
        Some(&next),
        host,
        &update_args(primary, &r.tsig_key_knot()),
    );
    assert_eq!(sent.code, 0, "{sent:?}");
    assert!(sent.stderr.contains("update sent"), "{}", sent.stderr);
    let both = sorted(vec![rec(&cur_hex), rec(&next_hex)]);
    assert_eq!(rrset(&r, primary, host), both);
    assert_eq!(rrset(&r, r.secondary(), host), [rec(&cur_hex)]);
    // Again: nothing to do (the records are there), and the primary is unchanged.
    let publish = |host: &str| {
        stage(
            &env,
            &cur,
            Some(&next),
            host,
            &update_args(primary, &r.tsig_key()),
        )
    };
    let again = publish(host);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stderr.contains("no change"), "{}", again.stderr);

    let on_host = ["--host", host];
    let on_host_check = ["--host", host, "--check-only"];
    let status_doc = |at: u64| {
        let (run, _) = status(&env, &next, &state, at, &on_host);
        let doc: StatusDoc =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
        (run, doc)
    };

    // The lagging secondary blocks (exit 1), and says which server (a run at the clock,
    // which records the primary's addresses).
    let (run, _) = record(&env, &next, &state, &on_host);
    let doc: StatusDoc =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    assert_eq!(run.code, 1, "{run:?}");
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
    let (run, _) = record(&env, &next, &state, &on_host);
    let doc: StatusDoc =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    let t1 = last_seen(&state);
    assert_eq!(run.code, 5, "{run:?}");
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
    let (run, _) = status(&env, &next, &state, t1 + 100, &on_host_check);
    assert_eq!(run.code, 5, "{run:?}");
    assert!(
        run.stdout.starts_with("waiting: ") && run.stdout.contains("4m 20s left"),
        "{}",
        run.stdout
    );
    // After the TTL and the margin: ready (exit 0), from the state file's first-seen times.
    let (run, _) = status(
        &env,
        &next,
        &state,
        t1 + u64::from(ROLL_TTL) + 60,
        &on_host_check,
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("ready: "), "{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 1);
    let (_, doc) = status_doc(now() + u64::from(ROLL_TTL) + 600);
    assert_eq!(doc.hosts[0].readiness, "ready");

    // The other MX host has not got the record: the domain is blocked there.
    let other = ROLL_MX[1];
    let (run, _) = status(&env, &next, &state, now(), &["--check-only"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(other), "{}", run.stdout);

    // Publish at the second host too, transfer, and wait it out: the domain is ready.
    let published = publish(other);
    assert_eq!(published.code, 0, "{published:?}");
    r.transfer().unwrap();
    // A run at the clock records the second host's servers: waiting until the TTL and
    // the margin from then.
    let (run, _) = record(&env, &next, &state, &[]);
    assert_eq!(run.code, 5, "{run:?}");
    let t2 = last_seen(&state);
    let (run, _) = status(&env, &next, &state, t2, &["--check-only"]);
    assert_eq!(run.code, 5, "{run:?}");
    let (run, _) = status(
        &env,
        &next,
        &state,
        t2 + u64::from(ROLL_TTL) + 60,
        &["--check-only"],
    );
    assert_eq!(run.code, 0, "{run:?}");

    // Promote before the switch: refused, nothing moved.
    let promote_args = update_args(primary, &r.tsig_key());
    let early = promote(&env, &cur, &next, &state, &promote_args);
    let said = &early.stdout;
    assert_eq!(early.code, 1, "{early:?}");
    assert!(said.starts_with("not promoted: "), "{said}");
    assert!(said.contains("presents another key"), "{said}");
    assert_eq!(r.spki_sha256(&cur).unwrap(), cur_hex);

    // Postfix switches to the next key; dane verify is still verified (the record is
    // there); promote: next becomes current, a new next key, the RRset at the primary
    // changes (new next added, old current removed).
    r.use_key(&next).unwrap();
    assert_delivers(&env, now(), "dane verify after the switch");
    let promoted = promote(&env, &cur, &next, &state, &promote_args);
    assert_eq!(promoted.code, 0, "{promoted:?}");
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
        promoted
            .stderr
            .contains(&format!("remove now: _25._tcp.{host}.")),
        "{}",
        promoted.stderr
    );
    for h in ROLL_MX {
        let want = sorted(vec![rec(&next_hex), rec(&new_next_hex)]);
        assert_eq!(rrset(&r, primary, h), want, "{h}");
    }
    // And senders still deliver (from the primary; the secondary lags until transfer).
    r.transfer().unwrap();
    assert_delivers(&env, now(), "dane verify after promote");
    // The state file now belongs to the new next key, with the retired key's dates.
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(
        st["next_key"].as_str().unwrap().to_ascii_lowercase(),
        new_next_hex
    );
    assert_eq!(st["retired"].as_array().unwrap().len(), 1);
}

#[test]
fn a_refused_tsig_key_and_an_update_racing_another_change() {
    let env = start();
    let r = env.rollover();
    let d = work_dir("publish-refusals");
    let (cur, next) = (d.join("mx.key"), d.join("mx.next.key"));
    std::fs::copy(r.current_key(), &cur).unwrap();
    let host = ROLL_MX[1];
    let before = rrset(&r, r.primary(), host);

    // The wrong secret: refused (exit 1), one clear line, nothing changed.
    let refused = stage(
        &env,
        &cur,
        Some(&next),
        host,
        &update_args(r.primary(), &r.tsig_key_wrong()),
    );
    let err = &refused.stderr;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(err.contains("refused the TSIG key roll-key."), "{err}");
    assert!(err.contains("BADSIG") || err.contains("NOTAUTH"), "{err}");
    assert_eq!(rrset(&r, r.primary(), host), before);

    // A race: the RRset is read, another writer changes it (nsupdate), then the update is
    // sent with the RRset as read: the primary's prerequisite check fails (NXRRSET) and
    // neither change is lost.
    let example = dane_e2e::example_bin("dane-resolver", "rrset_update");
    let next_hex = {
        let printed = stage(&env, &cur, Some(&next), host, &[]);
        assert_eq!(printed.code, 0, "{printed:?}");
        r.spki_sha256(&next).unwrap()
    };
    let owner = r.tlsa_owner(host);
    let mut child = env
        .command(&example)
        .args([r.primary(), &owner, &s(&r.tsig_key()), &rec(&next_hex)])
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
        rrset(&r, r.primary(), host),
        want,
        "the other writer's change stays"
    );
}
