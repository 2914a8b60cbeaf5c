//! Hermetic tests from the committed evidence (`fixtures/dns/evidence`, recorded from NSD
//! serving the fixtures): every row of cases.tsv at the pinned time, then hand-made damage
//! to that evidence, other times, other anchors and tighter limits.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code
#![allow(clippy::disallowed_methods)] // the tests read fixture files; the library stays pure

use std::str::FromStr;
use std::time::Duration;

use dane_dnssec::{
    AnswerKind, Evidence, Limits, Outcome, ParsedAnswer, Question, ReasonCode, Step, TrustAnchors,
    validate,
};
use dane_testenv::{Case, cases, evidence_dir, fixtures_dir, read_evidence};
use hickory_proto::rr::{Name, RecordType};
use rustls_pki_types::UnixTime;

/// 2026-06-01T00:00:00Z, the time the evidence was recorded for.
const PINNED: u64 = 1_780_272_000;

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn anchors() -> TrustAnchors {
    TrustAnchors::parse(&std::fs::read_to_string(fixtures_dir().join("anchors/root.ds")).unwrap())
        .unwrap()
}

type Items = Vec<dane_testenv::EvidenceItem>;

fn items(name: &str, rtype: &str) -> Items {
    let case = Case {
        name: name.into(),
        rtype: rtype.into(),
        verdict: String::new(),
        answer: String::new(),
        description: String::new(),
    };
    let mut items = read_evidence(&evidence_dir().join(case.evidence_file())).unwrap();
    // The DS answers a walk needs when signatures or proofs are stripped (recorded too).
    items.extend(read_evidence(&evidence_dir().join("extra.evidence")).unwrap());
    items
}

fn evidence(items: &Items) -> Evidence {
    Evidence::from_wire(items.iter().map(|(n, t, i)| {
        (
            n.as_str(),
            t.as_str(),
            i.as_ref().map(Vec::as_slice).map_err(String::as_str),
        )
    }))
    .unwrap()
}

fn run(
    items: &Items,
    name: &str,
    rtype: &str,
    now: u64,
    anchors: &TrustAnchors,
    limits: &Limits,
) -> Outcome {
    let n = Name::from_str(name).unwrap();
    let t = RecordType::from_str(rtype).unwrap();
    match validate(&evidence(items), anchors, &n, t, at(now), limits) {
        Step::Done(o) => *o,
        Step::Need(q) => panic!(
            "{name} {rtype}: evidence incomplete, needs {} {}",
            q.name, q.rtype
        ),
    }
}

/// A committed case validated at `now` with the IANA anchors and default limits.
fn run_case(items: &Items, case: &Case, now: u64) -> Outcome {
    run(
        items,
        &case.name,
        &case.rtype,
        now,
        &anchors(),
        &Limits::default(),
    )
}

fn check(
    name: &str,
    rtype: &str,
    items: &Items,
    now: u64,
    limits: &Limits,
    verdict: &str,
    code: Option<ReasonCode>,
) -> Outcome {
    let o = run(items, name, rtype, now, &anchors(), limits);
    assert_eq!(
        o.verdict.as_str(),
        verdict,
        "{name} {rtype}: {:?}\n{:#?}",
        o.reason,
        o.trace
    );
    assert_eq!(
        o.reason.as_ref().map(|r| r.code),
        code,
        "{name} {rtype}: {:?}",
        o.reason
    );
    o
}

#[test]
fn every_case_from_committed_evidence() {
    let all = cases().unwrap();
    assert!(all.len() >= 50);
    for case in all {
        let items = read_evidence(&evidence_dir().join(case.evidence_file()))
            .unwrap_or_else(|e| panic!("{e}: record with DANE_RECORD_EVIDENCE=1 cargo test -p dane-resolver --test resolver evidence"));
        let o = run_case(&items, &case, PINNED);
        assert_eq!(
            (o.verdict.as_str(), o.answer.as_str()),
            (case.verdict.as_str(), case.answer.as_str()),
            "{} {} ({}): {:?}",
            case.name,
            case.rtype,
            case.description,
            o.reason
        );
        // Every non-secure verdict says why; a secure one has a trace that ends the chain.
        assert_eq!(
            o.reason.is_some(),
            case.verdict != "secure",
            "{}",
            case.name
        );
        assert!(!o.trace.is_empty());
    }
}

/// Replaces the first occurrence of `from` by `to` in the wire message for `name`/`rtype`.
fn patch(items: &mut Items, name: &str, rtype: &str, from: &[u8], to: &[u8]) {
    let item = items
        .iter_mut()
        .find(|(n, t, _)| n == name && t == rtype)
        .unwrap();
    let wire = item.2.as_mut().unwrap();
    let pos = wire
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern in message");
    wire[pos..pos + to.len()].copy_from_slice(to);
}

#[test]
fn tampered_answer_rdata_is_bogus() {
    let mut ev = items("www.alg8.test.", "A");
    // 192.0.2.1 -> 192.0.2.2 in the answer (RDATA length 4 precedes it).
    patch(
        &mut ev,
        "www.alg8.test.",
        "A",
        &[0, 4, 192, 0, 2, 1],
        &[0, 4, 192, 0, 2, 2],
    );
    check(
        "www.alg8.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "bogus",
        Some(ReasonCode::SignatureInvalid),
    );
}

#[test]
fn tampered_ds_is_bogus_at_the_cut() {
    let mut ev = items("www.alg8.test.", "A");
    // The DS key tag 38644 (0x96f4) in the DS answer: the signature over the DS breaks.
    patch(
        &mut ev,
        "alg8.test.",
        "DS",
        &[0x96, 0xf4, 8, 2],
        &[0x96, 0xf5, 8, 2],
    );
    let o = check(
        "www.alg8.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "bogus",
        Some(ReasonCode::SignatureInvalid),
    );
    assert!(o.reason.unwrap().detail.contains("alg8.test. DS"));
}

#[test]
fn times_outside_the_windows() {
    let ev = items("www.alg8.test.", "A");
    // 2036-06-01: every signature expired 2036-01-01.
    let o = check(
        "www.alg8.test.",
        "A",
        &ev,
        2_095_891_200,
        &Limits::default(),
        "bogus",
        Some(ReasonCode::SignatureExpired),
    );
    assert!(
        o.reason
            .unwrap()
            .detail
            .contains("expired at 2036-01-01T00:00:00Z, checked at 2036-06-01T00:00:00Z")
    );
    // 2024-06-01: before the inception 2025-01-01.
    check(
        "www.alg8.test.",
        "A",
        &ev,
        1_717_200_000,
        &Limits::default(),
        "bogus",
        Some(ReasonCode::SignatureNotYetValid),
    );
    // expired.test before its www A signature ended, notyet.test after its start.
    check(
        "www.expired.test.",
        "A",
        &items("www.expired.test.", "A"),
        1_740_000_000,
        &Limits::default(),
        "secure",
        None,
    );
    check(
        "www.notyet.test.",
        "A",
        &items("www.notyet.test.", "A"),
        2_081_289_600,
        &Limits::default(),
        "secure",
        None,
    );
}

#[test]
fn anchors_other_forms_and_wrong_ones() {
    let ev = items("www.alg8.test.", "A");
    let limits = Limits::default();
    let dnskey = TrustAnchors::parse(
        &std::fs::read_to_string(fixtures_dir().join("anchors/root.dnskey")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        run(&ev, "www.alg8.test.", "A", PINNED, &dnskey, &limits)
            .verdict
            .as_str(),
        "secure"
    );
    let bind = TrustAnchors::parse(
        &std::fs::read_to_string(fixtures_dir().join("anchors/bind.conf")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        run(&ev, "www.alg8.test.", "A", PINNED, &bind, &limits)
            .verdict
            .as_str(),
        "secure"
    );
    // The real IANA root anchors do not sign the private root.
    let o = run(
        &ev,
        "www.alg8.test.",
        "A",
        PINNED,
        &TrustAnchors::iana_root(),
        &limits,
    );
    assert_eq!(o.reason.map(|r| r.code), Some(ReasonCode::DsNoMatchingKey));
    // An anchor below the root: the walk starts at alg8.test. (its KSK's DS from the zone).
    let ds = "alg8.test. IN DS 38644 8 2 ";
    let text = std::fs::read_to_string(fixtures_dir().join("zones/test.zone")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("alg8.test.") && l.contains("\tDS\t"))
        .unwrap();
    let digest = line.split_whitespace().last().unwrap();
    let below = TrustAnchors::parse(&format!("{ds}{digest}\n")).unwrap();
    let o = run(&ev, "www.alg8.test.", "A", PINNED, &below, &limits);
    assert_eq!(o.verdict.as_str(), "secure", "{:?}", o.reason);
    assert!(o.trace[0].name == "alg8.test.", "{:?}", o.trace[0]);
    // No anchor covers the name.
    let other = TrustAnchors::parse("example. IN DS 1 8 2 00ff\n").unwrap();
    let o = run(&ev, "www.alg8.test.", "A", PINNED, &other, &limits);
    assert_eq!(
        (o.verdict.as_str(), o.reason.map(|r| r.code)),
        ("indeterminate", Some(ReasonCode::NoTrustAnchor))
    );
}

#[test]
fn budgets_give_verdicts_with_the_limit_named() {
    // www2.collide.test needs the second key with the colliding tag.
    let ev = items("www2.collide.test.", "A");
    let one_key = Limits {
        max_keys_per_signature: 1,
        ..Limits::default()
    };
    let o = check(
        "www2.collide.test.",
        "A",
        &ev,
        PINNED,
        &one_key,
        "bogus",
        Some(ReasonCode::BudgetExceeded),
    );
    assert!(o.reason.unwrap().detail.contains("max_keys_per_signature"));
    let few = Limits {
        max_signatures: 3,
        ..Limits::default()
    };
    let o = check(
        "www.alg8.test.",
        "A",
        &items("www.alg8.test.", "A"),
        PINNED,
        &few,
        "bogus",
        Some(ReasonCode::BudgetExceeded),
    );
    assert!(o.signatures_checked <= 3);
    let short = Limits {
        max_chain: 0,
        ..Limits::default()
    };
    check(
        "to-alg8.cname.test.",
        "A",
        &items("to-alg8.cname.test.", "A"),
        PINNED,
        &short,
        "bogus",
        Some(ReasonCode::ChainTooLong),
    );
}

#[test]
fn nsec3_iteration_caps_are_configurable() {
    let ev = items("nx.nsec3iter200.test.", "A");
    let lenient = Limits {
        nsec3_iterations_insecure: 300,
        ..Limits::default()
    };
    let o = check(
        "nx.nsec3iter200.test.",
        "A",
        &ev,
        PINNED,
        &lenient,
        "secure",
        None,
    );
    assert_eq!(o.answer, AnswerKind::Nxdomain);
    let strict = Limits {
        nsec3_iterations_insecure: 10,
        nsec3_iterations_bogus: 100,
        ..Limits::default()
    };
    check(
        "nx.nsec3iter200.test.",
        "A",
        &ev,
        PINNED,
        &strict,
        "bogus",
        Some(ReasonCode::Nsec3IterationsBogus),
    );
    let ev = items("nx.nsec3iter2000.test.", "A");
    let huge = Limits {
        nsec3_iterations_insecure: 2500,
        nsec3_iterations_bogus: 3000,
        ..Limits::default()
    };
    check(
        "nx.nsec3iter2000.test.",
        "A",
        &ev,
        PINNED,
        &huge,
        "secure",
        None,
    );
}

#[test]
fn missing_or_failed_evidence() {
    let mut ev = items("www.alg8.test.", "A");
    // The resolver could not get the DNSKEY of alg8.test.
    let i = ev
        .iter()
        .position(|(n, t, _)| n == "alg8.test." && t == "DNSKEY")
        .unwrap();
    ev[i].2 = Err("timed out".into());
    let o = check(
        "www.alg8.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "indeterminate",
        Some(ReasonCode::QueryFailed),
    );
    assert!(o.reason.unwrap().detail.contains("timed out"));
    // An item left out: the validator asks for it.
    let _removed = ev.remove(i);
    let n = Name::from_str("www.alg8.test.").unwrap();
    match validate(
        &evidence(&ev),
        &anchors(),
        &n,
        RecordType::A,
        at(PINNED),
        &Limits::default(),
    ) {
        Step::Need(q) => assert_eq!(
            q,
            Question::new(&Name::from_str("alg8.test.").unwrap(), RecordType::DNSKEY)
        ),
        Step::Done(o) => panic!("{o:?}"),
    }
}

#[test]
fn malformed_wire_is_an_error_not_a_panic() {
    let ev = items("www.alg8.test.", "A");
    let wire = ev[0].2.as_ref().unwrap();
    let q = Question::new(&Name::from_str("www.alg8.test.").unwrap(), RecordType::A);
    // Every truncation of a real message is refused or parsed, never a panic.
    for len in 0..wire.len() {
        let _ = Evidence::new().insert_wire(q.clone(), wire[..len].to_vec());
    }
    // A message for another question is refused.
    let other = Question::new(&Name::from_str("www2.alg8.test.").unwrap(), RecordType::A);
    let err = Evidence::new()
        .insert_wire(other, wire.clone())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not www2.alg8.test. A"), "{err}");
    // Every single-octet corruption: no panic, and never Secure with changed RDATA/signature.
    for pos in 12..wire.len() {
        let mut bad = wire.clone();
        bad[pos] ^= 0x55;
        let mut items = ev.clone();
        items[0].2 = Ok(bad);
        let Ok(e) = Evidence::from_wire(items.iter().map(|(n, t, i)| {
            (
                n.as_str(),
                t.as_str(),
                i.as_ref().map(Vec::as_slice).map_err(String::as_str),
            )
        })) else {
            continue;
        };
        let n = Name::from_str("www.alg8.test.").unwrap();
        if let Step::Done(o) = validate(
            &e,
            &anchors(),
            &n,
            RecordType::A,
            at(PINNED),
            &Limits::default(),
        ) {
            if o.verdict.as_str() == "secure" {
                // Only octets outside the signed data may change a secure answer: the TTL
                // of a record, or the additional section.
                assert_eq!(o.links[0].records.len(), 1, "{pos}");
                assert!(
                    o.links[0].records[0].ends_with("IN A 192.0.2.1"),
                    "{pos}: {:?}",
                    o.links[0].records
                );
            }
        }
    }
}

/// Skips a (possibly compressed) name at `pos`.
fn skip_name(wire: &[u8], mut pos: usize) -> usize {
    loop {
        let len = wire[pos] as usize;
        if len == 0 {
            return pos + 1;
        }
        if len & 0xc0 == 0xc0 {
            return pos + 2;
        }
        pos += 1 + len;
    }
}

/// The message cut after its first `answers` answer records: the rest of the answer, the
/// authority and the additional sections dropped (compression pointers only point back,
/// so the remaining records stay intact).
fn cut(wire: &[u8], answers: usize) -> Vec<u8> {
    let mut pos = skip_name(wire, 12) + 4;
    for _ in 0..answers {
        pos = skip_name(wire, pos) + 8;
        let len = u16::from_be_bytes([wire[pos], wire[pos + 1]]) as usize;
        pos += 2 + len;
    }
    let mut out = wire[..pos].to_vec();
    out[6..8].copy_from_slice(&(answers as u16).to_be_bytes());
    out[8..12].copy_from_slice(&[0, 0, 0, 0]);
    out
}

fn replace(items: &mut Items, name: &str, rtype: &str, f: impl Fn(&[u8]) -> Vec<u8>) {
    let item = items
        .iter_mut()
        .find(|(n, t, _)| n == name && t == rtype)
        .unwrap();
    let new = f(item.2.as_ref().unwrap());
    item.2 = Ok(new);
}

#[test]
fn stripped_signatures_and_proofs_are_bogus() {
    // www.alg8.test A without its RRSIG (answer: A, RRSIG).
    let mut ev = items("www.alg8.test.", "A");
    replace(&mut ev, "www.alg8.test.", "A", |w| cut(w, 1));
    check(
        "www.alg8.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "bogus",
        Some(ReasonCode::MissingSignature),
    );
    // A wildcard expansion without the NSEC that proves the next closer name absent.
    let mut ev = items("foo.wild.nsec.test.", "A");
    replace(&mut ev, "foo.wild.nsec.test.", "A", |w| cut(w, 2));
    check(
        "foo.wild.nsec.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "bogus",
        Some(ReasonCode::BadWildcard),
    );
    // The same for NSEC3.
    let mut ev = items("foo.wild.nsec3.test.", "A");
    replace(&mut ev, "foo.wild.nsec3.test.", "A", |w| cut(w, 2));
    check(
        "foo.wild.nsec3.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "bogus",
        Some(ReasonCode::BadWildcard),
    );
    // NXDOMAIN and NODATA with the authority section gone.
    for (name, rtype) in [
        ("nx.nsec.test.", "A"),
        ("www.nsec3.test.", "TXT"),
        ("nx.nsec3.test.", "A"),
    ] {
        let mut ev = items(name, rtype);
        replace(&mut ev, name, rtype, |w| cut(w, 0));
        check(
            name,
            rtype,
            &ev,
            PINNED,
            &Limits::default(),
            "bogus",
            Some(ReasonCode::MissingSignature),
        );
    }
    // The insecure delegation proof (DS NODATA for insecure.test.) stripped: the unsigned
    // answer can no longer be shown insecure.
    let mut ev = items("www.insecure.test.", "A");
    replace(&mut ev, "insecure.test.", "DS", |w| cut(w, 0));
    check(
        "www.insecure.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "bogus",
        Some(ReasonCode::BadDenial),
    );
}

#[test]
fn proofs_for_another_name_prove_nothing() {
    // The NODATA proof for www.nsec.test TXT offered as the answer to www.nsec.test A
    // (the question is rewritten: type 16 -> 1): the NSEC lists A, so it cannot deny it.
    let mut ev = items("www.nsec.test.", "TXT");
    let item = ev
        .iter_mut()
        .find(|(n, t, _)| n == "www.nsec.test." && t == "TXT")
        .unwrap();
    let wire = item.2.as_mut().unwrap();
    let qtype = skip_name(wire, 12);
    wire[qtype..qtype + 2].copy_from_slice(&[0, 1]);
    item.1 = "A".into();
    check(
        "www.nsec.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "bogus",
        Some(ReasonCode::BadDenial),
    );
}

#[test]
fn error_rcodes_are_indeterminate() {
    // SERVFAIL (rcode 2) for the DS of alg8.test.
    let mut ev = items("www.alg8.test.", "A");
    let item = ev
        .iter_mut()
        .find(|(n, t, _)| n == "alg8.test." && t == "DS")
        .unwrap();
    let wire = item.2.as_mut().unwrap();
    wire[3] = (wire[3] & 0xf0) | 2;
    let o = check(
        "www.alg8.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "indeterminate",
        Some(ReasonCode::ServerError),
    );
    assert!(o.reason.unwrap().detail.contains("SERVFAIL"));
}

#[test]
fn an_empty_dnskey_answer_is_a_lame_zone_not_a_bogus_one() {
    // Under CD a recursive resolver answers an empty NOERROR (no SOA) when none of the
    // zone's servers replied: the keys could not be had (seen from Unbound with a lame
    // delegation in the interop environment).
    let mut ev = items("www.alg8.test.", "A");
    replace(&mut ev, "alg8.test.", "DNSKEY", |w| cut(w, 0));
    let o = check(
        "www.alg8.test.",
        "A",
        &ev,
        PINNED,
        &Limits::default(),
        "indeterminate",
        Some(ReasonCode::ServerError),
    );
    assert!(
        o.reason.unwrap().detail.contains("lame delegation"),
        "the reason says what to look at"
    );
}

/// A run-wide memo of verified signatures changes the work, never the outcome: every case
/// validated twice through one shared memo (the second time from memo hits) is identical
/// to the plain validation, trace and all; a tampered answer under a memo warmed with the
/// genuine one is still bogus (different signed data, different memo key).
#[test]
fn the_signature_memo_changes_nothing_but_the_work() {
    use dane_dnssec::{SignatureMemo, validate_memo};
    let memo = SignatureMemo::new(100_000);
    for round in 0..2 {
        for case in cases().unwrap() {
            let items = read_evidence(&evidence_dir().join(case.evidence_file())).unwrap();
            let n = Name::from_str(&case.name).unwrap();
            let t = RecordType::from_str(&case.rtype).unwrap();
            let plain = run_case(&items, &case, PINNED);
            let memoised = match validate_memo(
                &evidence(&items),
                &anchors(),
                &n,
                t,
                at(PINNED),
                &Limits::default(),
                &memo,
            ) {
                Step::Done(o) => *o,
                Step::Need(q) => panic!("{} {}: needs {q:?}", case.name, case.rtype),
            };
            assert_eq!(
                memoised, plain,
                "round {round}: {} {}",
                case.name, case.rtype
            );
        }
    }
    assert!(!memo.is_empty());
    // Warm with the genuine www.alg8.test A, then tamper with its RDATA: still bogus.
    let items = items("www.alg8.test.", "A");
    let n = Name::from_str("www.alg8.test.").unwrap();
    let genuine = validate_memo(
        &evidence(&items),
        &anchors(),
        &n,
        RecordType::A,
        at(PINNED),
        &Limits::default(),
        &memo,
    );
    assert!(matches!(genuine, Step::Done(ref o) if o.verdict.as_str() == "secure"));
    let mut tampered = items.clone();
    replace(&mut tampered, "www.alg8.test.", "A", |w| {
        let mut w = w.to_vec();
        // The last octet of the first A record's address (header 12, question, then the
        // answer's name pointer 2, type 2, class 2, TTL 4, length 2, address 4).
        let q_end = 12 + "www.alg8.test.".len() + 1 + 4;
        w[q_end + 2 + 2 + 2 + 4 + 2 + 3] ^= 1;
        w
    });
    match validate_memo(
        &evidence(&tampered),
        &anchors(),
        &n,
        RecordType::A,
        at(PINNED),
        &Limits::default(),
        &memo,
    ) {
        Step::Done(o) => assert_eq!(o.verdict.as_str(), "bogus", "{:?}", o.reason),
        Step::Need(q) => panic!("needs {q:?}"),
    }
    // Time is still checked on every call: the memo does not make an expired signature valid.
    let later = validate_memo(
        &evidence(&items),
        &anchors(),
        &n,
        RecordType::A,
        at(2_100_000_000),
        &Limits::default(),
        &memo,
    );
    assert!(matches!(later, Step::Done(ref o) if o.verdict.as_str() == "bogus"));
}

/// What a validation says, as data to compare: verdict, reason, answer, trace, expiry.
fn said(o: &Outcome) -> String {
    format!(
        "{} {:?} {} {:?} {:?} {:?}",
        o.verdict.as_str(),
        o.reason,
        o.answer.as_str(),
        o.trace,
        o.earliest_expiration,
        o.earliest_expiration_inception
    )
}

/// `Evidence::signature_window` (what the resolver's validated-lookup cache reuses a lookup
/// over): for every recorded case, validating at either end of the window says exactly
/// what validating at the pinned time says, and a second outside it changes the verdict or
/// the trace; evidence with a signature outside its window at `now` is judged at `now`
/// alone.
#[test]
fn signature_window_bounds_the_times_that_validate_alike() {
    let mut bounded = 0;
    for case in cases().unwrap() {
        let items = read_evidence(&evidence_dir().join(case.evidence_file())).unwrap();
        let (from, until) = evidence(&items).signature_window(at(PINNED));
        assert!(from <= PINNED && PINNED <= until, "{}", case.name);
        let base = said(&run_case(&items, &case, PINNED));
        let say = |t| said(&run_case(&items, &case, t));
        if (from, until) == (PINNED, PINNED) {
            continue;
        }
        assert_eq!(say(from), base, "{} at {from}", case.name);
        if until != u64::MAX {
            bounded += 1;
            assert_eq!(say(until), base, "{} at {until}", case.name);
            assert_ne!(say(until + 1), base, "{} after {until}", case.name);
        }
        if from > 0 {
            assert_ne!(say(from - 1), base, "{} before {from}", case.name);
        }
    }
    assert!(bounded >= 40, "{bounded} cases with signatures");
    // www.expired.test's A signature ended before the pinned time: that time alone.
    let ev = items("www.expired.test.", "A");
    assert_eq!(evidence(&ev).signature_window(at(PINNED)), (PINNED, PINNED));
    // Before it ended, up to its end; 2024-06-01 is before alg8.test's inception.
    let (_, until) = evidence(&ev).signature_window(at(1_740_000_000));
    assert!((1_740_000_000..PINNED).contains(&until), "{until}");
    let ev = items("www.alg8.test.", "A");
    assert_eq!(
        evidence(&ev).signature_window(at(1_717_200_000)),
        (1_717_200_000, 1_717_200_000)
    );
    assert_eq!(Evidence::new().signature_window(at(PINNED)), (0, u64::MAX));
}

/// Issue 27: an answer parsed once ([`ParsedAnswer`], as the resolver's answer cache keeps
/// it) and added to the evidence of several lookups validates in each exactly as the same
/// wire added with `insert_wire`; and it is refused for the reasons `insert_wire` refuses.
#[test]
fn a_parsed_answer_shared_by_lookups_validates_as_its_wire() {
    let items = items("www.alg8.test.", "A");
    let parsed: Vec<(Vec<u8>, ParsedAnswer)> = items
        .iter()
        .filter_map(|(n, t, i)| {
            let q = Question::new(
                &Name::from_str(n).unwrap(),
                RecordType::from_str(t).unwrap(),
            );
            let wire = i.as_ref().ok()?;
            Some((wire.clone(), ParsedAnswer::parse(&q, wire).unwrap()))
        })
        .collect();
    assert!(parsed.len() > 3);
    let n = Name::from_str("www.alg8.test.").unwrap();
    let expected = run(
        &items,
        "www.alg8.test.",
        "A",
        PINNED,
        &anchors(),
        &Limits::default(),
    );
    assert_eq!(expected.verdict.as_str(), "secure");
    for _ in 0..2 {
        let mut ev = Evidence::new();
        for (wire, p) in &parsed {
            ev.insert_parsed(wire.clone(), p);
        }
        assert_eq!(ev.items().len(), parsed.len());
        let Step::Done(o) = validate(
            &ev,
            &anchors(),
            &n,
            RecordType::A,
            at(PINNED),
            &Limits::default(),
        ) else {
            panic!("evidence incomplete");
        };
        assert_eq!(*o, expected);
    }
    // Refused as insert_wire refuses: another question's answer, a truncated message.
    let (wire, p) = &parsed[0];
    let other = Question::new(
        &Name::from_str("www2.alg8.test.").unwrap(),
        p.question().rtype,
    );
    let err = ParsedAnswer::parse(&other, wire).unwrap_err().to_string();
    assert!(err.contains("not www2.alg8.test."), "{err}");
    let mut tc = wire.clone();
    tc[2] |= 0x02;
    let err = ParsedAnswer::parse(p.question(), &tc)
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated (TC bit)"), "{err}");
    assert!(ParsedAnswer::parse(p.question(), &wire[..wire.len() / 2]).is_err());
}
