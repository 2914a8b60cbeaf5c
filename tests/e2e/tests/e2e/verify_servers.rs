//! `dane verify` asks every authoritative server of each TLSA owner's zone (issue 23), in
//! the interop environment's rollover zones (dane-testenv `interop::rollover`):
//!
//! - `roll.test` in sync: every address of both Knot servers serves the validated RRset;
//!   the run replays from its evidence to the same document, asking no server;
//! - the next key's record published at the primary only (the secondary lags): the
//!   secondary serves another RRset that still authenticates the chain Postfix presents:
//!   verified, with `ns-stale` naming it;
//! - Postfix switched to the next key while the secondary still lags: its RRset would not
//!   authenticate the chain, so senders whose resolver asks it fail: `partial`, exit 1,
//!   the reason names the secondary; `--no-each-server` says verified (the blind spot);
//! - `blackhole.test` lists a server that never answers: `ns-unreachable` names it;
//! - `refuses.test` lists one that answers REFUSED to everything: `ns-refuses-tlsa`;
//! - the MX RRset's and the address RRsets' zones, a server behind dnsdist that answers
//!   NOTIMP to TLSA questions, one serving expired signatures: see
//!   [`verify_asks_the_mx_and_address_servers`].
//!
//! Iteration asks the servers in glue order, so the validating path reads the primary's
//! RRset (asserted below: the test says so if that changes). Needs root.

use std::path::Path;

use dane_testenv::Interop;
use dane_testenv::interop::{
    BrokenResolver, EXPIRED_NS_ADDR, EXPIRED_NS_ZONE, NOTIMP_ADDR, NOTIMP_ZONE,
    ROLL_BLACKHOLE_ZONE, ROLL_MX, ROLL_REFUSES_ZONE, ROLL_ZONE,
};
use serde_json::Value;

use crate::rollover_steps::{
    args, dane, json, openssl_key, publish_everywhere, rec, resolution, s, start, work_dir,
};

/// `dane verify ZONE --json` with the resolution flags and `extra` (`--timeout 10` unless
/// `extra` sets it).
fn verify(env: &Interop, zone: &str, extra: &[&str]) -> (dane_e2e::Run, Value) {
    let mut a = args(&["verify", zone, "--json"]);
    if !extra.contains(&"--timeout") {
        a.extend(args(&["--timeout", "10"]));
    }
    a.extend(resolution(env));
    a.extend(args(extra));
    let run = dane(env, &a);
    let doc = json(&run, zone);
    dane_testenv::schema::assert_valid_one("verify", zone, &run.stdout);
    (run, doc)
}

/// The server rows of host `i`.
fn rows(doc: &Value, i: usize) -> Vec<Value> {
    doc["hosts"][i]["tlsa"]["servers"]["servers"]
        .as_array()
        .unwrap_or_else(|| panic!("no server rows for host {i}: {doc:#}"))
        .clone()
}

/// A row's records, lowercase (dane prints the data in upper case).
fn recs(row: &Value) -> Vec<String> {
    row["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_ascii_lowercase())
        .collect()
}

fn codes(doc: &Value) -> Vec<String> {
    doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Saves the run's evidence, replays it (outside the namespace: no server can be asked)
/// and expects the same document and exit code.
fn assert_replays(env: &Interop, dir: &Path, tag: &str, extra: &[&str]) {
    let file = dir.join(format!("{tag}.json"));
    let mut with = extra.to_vec();
    let f = s(&file);
    with.extend(["--save-evidence", f.as_str()]);
    let (run, _) = verify(env, ROLL_ZONE, &with);
    let replay = dane_e2e::run(&["verify", "--evidence", &f, "--json"]);
    assert_eq!(replay.code, run.code, "{tag}: {replay:?}");
    assert_eq!(replay.stdout, run.stdout, "{tag}: the replay differs");
    let text = std::fs::read_to_string(&file).unwrap();
    dane_testenv::schema::assert_valid_one("verify-evidence", &f, &text);
    let bundle: Value = serde_json::from_str(&text).unwrap();
    assert!(
        bundle["servers"].as_array().is_some_and(|s| !s.is_empty()),
        "{tag}: the bundle records the servers"
    );
}

#[test]
fn verify_asks_every_authoritative_server() {
    let env = start();
    let roll = env.rollover();
    let dir = work_dir("verify-servers");
    let cur_hex = roll.spki_sha256(&roll.current_key()).unwrap();

    // In sync: four rows per host (two servers, two addresses each), all the same.
    let (run, doc) = verify(&env, ROLL_ZONE, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(doc["verdict"], "verified", "{doc:#}");
    for i in 0..2 {
        let r = rows(&doc, i);
        assert_eq!(r.len(), 4, "{r:?}");
        assert!(
            r.iter()
                .all(|r| r["state"] == "same" && r["same_as_validated"] == true),
            "{r:?}"
        );
        assert!(
            r.iter()
                .all(|row| row["serial"] == r[0]["serial"] && row["serial"].is_u64()),
            "{r:?}"
        );
        assert_eq!(recs(&r[0]), [rec(&cur_hex).to_ascii_lowercase()]);
    }
    assert!(!codes(&doc).iter().any(|c| c.starts_with("ns-")), "{doc:#}");
    assert_replays(&env, &dir, "in-sync", &[]);

    // The next key at the primary only: the secondary is stale, its RRset still
    // authenticates the current key's chain.
    let next = dir.join("next.key");
    openssl_key(&next);
    let next_hex = roll.spki_sha256(&next).unwrap();
    publish_everywhere(&env, &roll, &next);
    let (run, doc) = verify(&env, ROLL_ZONE, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(doc["verdict"], "verified", "{doc:#}");
    let validated = &doc["hosts"][0]["tlsa"]["lookups"][0];
    assert_eq!(
        validated["answer"]["records"].as_array().map(Vec::len),
        Some(2),
        "the validating path is expected to read the primary (glue order): {validated:#}"
    );
    let r = rows(&doc, 0);
    let primary: Vec<&Value> = r.iter().filter(|r| r["ns"] == "ns1.roll.test.").collect();
    let secondary: Vec<&Value> = r.iter().filter(|r| r["ns"] == "ns2.roll.test.").collect();
    assert_eq!((primary.len(), secondary.len()), (2, 2), "{r:?}");
    assert!(primary.iter().all(|r| r["state"] == "same"), "{r:?}");
    assert!(
        secondary
            .iter()
            .all(|r| r["state"] == "stale" && r["same_as_validated"] == false),
        "{r:?}"
    );
    assert!(
        secondary[0]["serial"].as_u64() < primary[0]["serial"].as_u64(),
        "the secondary serves an older serial: {r:?}"
    );
    assert!(codes(&doc).contains(&"ns-stale".to_owned()), "{doc:#}");
    let (strict, _) = verify(&env, ROLL_ZONE, &["--strict"]);
    assert_eq!(strict.code, 1, "a warning fails --strict: {strict:?}");

    // Postfix presents the next key; the lagging secondary's RRset has only the current
    // key's record: senders whose resolver asks it fail.
    roll.use_key(&next).unwrap();
    let (run, doc) = verify(&env, ROLL_ZONE, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(doc["verdict"], "partial", "{doc:#}");
    let reason = doc["reason"].as_str().unwrap();
    assert!(
        reason.contains("name server ns2.roll.test. (192.0.2.82:53")
            && reason.contains("senders whose resolver asks it fail"),
        "{reason}"
    );
    let r = rows(&doc, 0);
    assert!(
        r.iter()
            .filter(|r| r["ns"] == "ns2.roll.test.")
            .all(|r| r["state"] == "fails" && recs(r) == [rec(&cur_hex).to_ascii_lowercase()]),
        "{r:?}"
    );
    assert!(r.iter().filter(|r| r["ns"] == "ns1.roll.test.").all(|r| {
        r["state"] == "same" && recs(r).contains(&rec(&next_hex).to_ascii_lowercase())
    }));
    for h in ROLL_MX {
        assert!(
            doc["hosts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == format!("{h}.")),
            "{h}"
        );
    }
    assert_replays(&env, &dir, "lagging", &[]);
    // The text report names each server.
    let mut a = args(&["verify", ROLL_ZONE, "--timeout", "10"]);
    a.extend(resolution(&env));
    let text = dane(&env, &a);
    assert!(
        text.stdout
            .contains("authoritative servers of _25._tcp.mx1.roll.test.")
            && text
                .stdout
                .contains("ns2.roll.test. 192.0.2.82:53  serial "),
        "{}",
        text.stdout
    );
    // Without asking every server: the blind spot this closes.
    let (run, doc) = verify(&env, ROLL_ZONE, &["--no-each-server"]);
    assert_eq!(
        (run.code, doc["verdict"].as_str()),
        (0, Some("verified")),
        "{doc:#}"
    );
    assert!(doc["hosts"][0]["tlsa"].get("servers").is_none(), "{doc:#}");

    // A server that never answers.
    let _silent = env.broken_resolver(BrokenResolver::Silent).unwrap();
    let (_, doc) = verify(&env, ROLL_BLACKHOLE_ZONE, &["--timeout", "2"]);
    let r = rows(&doc, 0);
    let hole = r
        .iter()
        .find(|r| r["address"] == "127.0.0.13:53")
        .unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(hole["state"], "unreachable", "{hole}");
    assert_eq!(hole["warning"], "ns-unreachable", "{hole}");
    assert!(
        codes(&doc).contains(&"ns-unreachable".to_owned()),
        "{doc:#}"
    );
    assert!(r.iter().any(|r| r["state"] == "same"), "{r:?}");

    // A server that answers REFUSED (to the TLSA question and to the SOA: no serial).
    let _refused = env.broken_resolver(BrokenResolver::Refused).unwrap();
    let (_, doc) = verify(&env, ROLL_REFUSES_ZONE, &["--timeout", "2"]);
    let r = rows(&doc, 0);
    let refuser = r
        .iter()
        .find(|r| r["address"] == "127.0.0.14:53")
        .unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(refuser["state"], "refuses", "{refuser}");
    assert_eq!(refuser["warning"], "ns-refuses-tlsa", "{refuser}");
    assert!(refuser["serial"].is_null(), "{refuser}");
    assert!(
        refuser["detail"]
            .as_str()
            .unwrap()
            .contains("answers REFUSED to _25._tcp.mx.refuses.test. TLSA"),
        "{refuser}"
    );
    assert!(
        codes(&doc).contains(&"ns-refuses-tlsa".to_owned()),
        "{doc:#}"
    );
}

/// The rows of one server check (`mx_servers`, or an address lookup's `servers`).
fn check_rows(check: &Value) -> Vec<Value> {
    check["servers"]
        .as_array()
        .unwrap_or_else(|| panic!("no server rows: {check:#}"))
        .clone()
}

/// The row of the lagging secondary (its IPv4 address) in `rows`.
fn secondary_row(rows: &[Value]) -> Value {
    rows.iter()
        .find(|r| r["address"] == "192.0.2.82:53")
        .unwrap_or_else(|| panic!("no row of the secondary: {rows:?}"))
        .clone()
}

/// A dynamic update at the primary (the secondary lags until `transfer`).
fn update(roll: &dane_testenv::interop::Rollover<'_>, commands: &str) {
    let run = roll.update(&roll.tsig_key(), commands).unwrap();
    assert_eq!(run.code, 0, "nsupdate {commands:?}: {run:?}");
}

/// Issue 23, the rest of it: the servers of the MX RRset's zone and of the MX hosts'
/// address RRsets' zones (all `roll.test`, Knot primary and lagging secondary):
///
/// - in sync: every row of the MX and address checks is `same`;
/// - mx2 dropped from the MX RRset at the primary only: the secondary still names it, a
///   host this check no longer looks at: `partial`, exit 1, the reason names the
///   secondary, its serial and mx2; replays from its evidence; `--no-each-server` says
///   verified (the blind spot);
/// - mx1's address moved at the primary to mx2's (the same Postfix, the same key): the
///   secondary's old address is probed and authenticates: verified with `ns-stale` on A;
/// - mx1's address moved at the primary back from 192.0.2.11 (Postfix `rsa`, leaf-rsa,
///   which roll.test's TLSA does not match), the secondary still serving 192.0.2.11:
///   senders asking it fail there: `partial`, exit 1, the reason names the address.
#[test]
fn verify_asks_the_mx_and_address_servers() {
    let env = start();
    let roll = env.rollover();
    let dir = work_dir("verify-servers-mx");

    let (run, doc) = verify(&env, ROLL_ZONE, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(doc["verdict"], "verified", "{doc:#}");
    let mx = check_rows(&doc["mx_servers"]);
    assert_eq!(doc["mx_servers"]["type"], "MX", "{doc:#}");
    assert_eq!(mx.len(), 4, "{mx:?}");
    assert!(mx.iter().all(|r| r["state"] == "same"), "{mx:?}");
    for i in 0..2 {
        for (j, rtype) in [(0, "A"), (1, "AAAA")] {
            let c = &doc["hosts"][i]["addresses"][j]["servers"];
            assert_eq!(c["type"], rtype, "{c:#}");
            let r = check_rows(c);
            assert!(
                r.len() == 4 && r.iter().all(|r| r["state"] == "same"),
                "{r:?}"
            );
        }
    }

    // mx2 leaves the MX RRset at the primary only.
    update(&roll, "update delete roll.test. MX 20 mx2.roll.test.");
    let (run, doc) = verify(&env, ROLL_ZONE, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(doc["verdict"], "partial", "{doc:#}");
    let reason = doc["reason"].as_str().unwrap();
    assert!(
        reason.contains("name server ns2.roll.test. (192.0.2.82:53), SOA serial")
            && reason.contains("serves a different MX RRset for roll.test.")
            && reason.contains("they deliver to mx2.roll.test."),
        "{reason}"
    );
    assert_eq!(doc["hosts"].as_array().map(Vec::len), Some(1), "{doc:#}");
    let mx = check_rows(&doc["mx_servers"]);
    assert_eq!(secondary_row(&mx)["state"], "fails", "{mx:?}");
    assert!(
        mx.iter()
            .filter(|r| r["ns"] == "ns1.roll.test.")
            .all(|r| r["state"] == "same"),
        "{mx:?}"
    );
    assert_replays(&env, &dir, "mx-lagging", &[]);
    let (run, doc) = verify(&env, ROLL_ZONE, &["--no-each-server"]);
    assert_eq!(
        (run.code, doc["verdict"].as_str()),
        (0, Some("verified")),
        "{doc:#}"
    );
    assert!(doc.get("mx_servers").is_none(), "{doc:#}");
    update(&roll, "update add roll.test. 300 MX 20 mx2.roll.test.");
    roll.transfer().unwrap();

    // mx1 moves (at the primary) to mx2's address: the secondary's old one still works.
    update(
        &roll,
        "update delete mx1.roll.test. A\nupdate add mx1.roll.test. 300 A 192.0.2.84",
    );
    let (run, doc) = verify(&env, ROLL_ZONE, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(doc["verdict"], "verified", "{doc:#}");
    let a = check_rows(&doc["hosts"][0]["addresses"][0]["servers"]);
    let stale = secondary_row(&a);
    assert_eq!(stale["state"], "stale", "{stale}");
    assert_eq!(stale["warning"], "ns-stale", "{stale}");
    assert_eq!(
        stale["records"],
        serde_json::json!(["192.0.2.83"]),
        "{stale}"
    );
    assert!(codes(&doc).contains(&"ns-stale".to_owned()), "{doc:#}");
    let (strict, _) = verify(&env, ROLL_ZONE, &["--strict"]);
    assert_eq!(strict.code, 1, "a warning fails --strict: {strict:?}");

    // The secondary keeps an address where another key is served.
    update(
        &roll,
        "update delete mx1.roll.test. A\nupdate add mx1.roll.test. 300 A 192.0.2.11",
    );
    roll.transfer().unwrap();
    update(
        &roll,
        "update delete mx1.roll.test. A\nupdate add mx1.roll.test. 300 A 192.0.2.83",
    );
    let (run, doc) = verify(&env, ROLL_ZONE, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(doc["verdict"], "partial", "{doc:#}");
    let reason = doc["reason"].as_str().unwrap();
    assert!(
        reason.contains("name server ns2.roll.test. (192.0.2.82:53), SOA serial")
            && reason.contains("serves a different A RRset for mx1.roll.test.")
            && reason.contains("senders whose resolver asks it fail: mx1.roll.test. 192.0.2.11"),
        "{reason}"
    );
    let a = check_rows(&doc["hosts"][0]["addresses"][0]["servers"]);
    assert_eq!(secondary_row(&a)["state"], "fails", "{a:?}");
    // The host's endpoints are the validated addresses only.
    assert!(
        doc["hosts"][0]["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["address"] != "192.0.2.11"),
        "{doc:#}"
    );
    let mut a = args(&["verify", ROLL_ZONE, "--timeout", "10"]);
    a.extend(resolution(&env));
    let text = dane(&env, &a);
    assert!(
        text.stdout
            .contains("authoritative servers of mx1.roll.test. A (zone roll.test.)"),
        "{}",
        text.stdout
    );
    roll.transfer().unwrap();

    misbehaving_servers(&env);
}

/// The row of the server at `address` (port 53) in `rows`.
fn row_at(rows: &[Value], address: &str) -> Value {
    rows.iter()
        .find(|r| r["address"] == format!("{address}:53"))
        .unwrap_or_else(|| panic!("no row of {address}: {rows:?}"))
        .clone()
}

/// Two zones whose second name server misbehaves while NSD serves them correctly (in the
/// same environment as the test above: the servers start on demand):
///
/// - `notimp.test`: dnsdist in front of NSD answers NOTIMP to TLSA questions only: the TLSA
///   row `refuses` with `ns-refuses-tlsa` (its serial still shown: the SOA passes), its MX
///   and address rows `same`; verified, exit 0; exit 1 with `--strict`;
/// - `expired-ns.test`: a second NSD serves a copy whose signatures expired a day ago: its
///   TLSA, MX and address rows `bogus` with `ns-rrsig-expires`; verified (validating
///   resolvers retry the good server), exit 0.
fn misbehaving_servers(env: &Interop) {
    let _dnsdist = env.dnsdist_notimp().unwrap();
    let (run, doc) = verify(env, NOTIMP_ZONE, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(doc["verdict"], "verified", "{doc:#}");
    let tlsa = rows(&doc, 0);
    let notimp = row_at(&tlsa, NOTIMP_ADDR);
    assert_eq!(notimp["state"], "refuses", "{notimp}");
    assert_eq!(notimp["warning"], "ns-refuses-tlsa", "{notimp}");
    assert!(notimp["serial"].is_u64(), "{notimp}");
    assert!(
        notimp["detail"]
            .as_str()
            .unwrap()
            .contains("answers NOTIMP to _25._tcp.mx.notimp.test. TLSA"),
        "{notimp}"
    );
    assert_eq!(row_at(&tlsa, "192.0.2.53")["state"], "same", "{tlsa:?}");
    let mx = check_rows(&doc["mx_servers"]);
    assert_eq!(row_at(&mx, NOTIMP_ADDR)["state"], "same", "{mx:?}");
    let a = check_rows(&doc["hosts"][0]["addresses"][0]["servers"]);
    assert_eq!(row_at(&a, NOTIMP_ADDR)["state"], "same", "{a:?}");
    assert!(
        codes(&doc).contains(&"ns-refuses-tlsa".to_owned()),
        "{doc:#}"
    );
    let (strict, _) = verify(env, NOTIMP_ZONE, &["--strict"]);
    assert_eq!(strict.code, 1, "a warning fails --strict: {strict:?}");

    let _expired = env.expired_server().unwrap();
    let (run, doc) = verify(env, EXPIRED_NS_ZONE, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(doc["verdict"], "verified", "{doc:#}");
    let tlsa = rows(&doc, 0);
    let mx = check_rows(&doc["mx_servers"]);
    let a = check_rows(&doc["hosts"][0]["addresses"][0]["servers"]);
    for (what, rows, owner) in [
        ("TLSA", &tlsa, "_25._tcp.mx.expired-ns.test. TLSA"),
        ("MX", &mx, "expired-ns.test. MX"),
        ("A", &a, "mx.expired-ns.test. A"),
    ] {
        let r = row_at(rows, EXPIRED_NS_ADDR);
        assert_eq!(r["state"], "bogus", "{what}: {r}");
        assert_eq!(r["warning"], "ns-rrsig-expires", "{what}: {r}");
        assert!(
            r["detail"].as_str().unwrap().contains(&format!(
                "serves {owner} with signatures that do not validate"
            )),
            "{what}: {r}"
        );
        assert_eq!(
            row_at(rows, "192.0.2.53")["state"],
            "same",
            "{what}: {rows:?}"
        );
    }
    assert!(
        codes(&doc).contains(&"ns-rrsig-expires".to_owned()),
        "{doc:#}"
    );
}
