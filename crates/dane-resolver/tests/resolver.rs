//! dane-resolver against NSD serving the fixtures: every row of cases.tsv, the evidence
//! recorder, and hostile-server behaviour (the delv differential is in the e2e suite,
//! `tests/e2e/tests/e2e/delv.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // test code

use std::str::FromStr;
use std::time::Duration;

use dane_resolver::{Config, Resolver, read_anchors};
use dane_testenv::{Nsd, cases, fixtures_dir};
use hickory_proto::rr::{Name, RecordType};
use rustls_pki_types::UnixTime;

/// The pinned time of the resolver tests and the recorded evidence: 2026-06-01T00:00:00Z.
const PINNED: u64 = 1_780_272_000;

fn pinned() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(PINNED))
}

fn resolver(nsd: &Nsd) -> Resolver {
    let mut config = Config::new(vec![nsd.addr()]);
    config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
    Resolver::new(config)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `dane rollover status`'s servers, on the signed fixtures: the zone is the signer of the
/// denial at the TLSA owner's SOA question, its NS RRset is validated (secure), and each
/// server (ns.alg13.test, at NSD) answers with its serial.
#[test]
fn the_authoritative_servers_come_from_a_validated_ns_rrset() {
    let nsd = Nsd::start_fixtures().unwrap();
    let mut config = Config::new(vec![nsd.addr()]);
    config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
    config.iterate_port = nsd.addr().port();
    // The zone's name server is NSD on loopback.
    config.address_policy = dane_resolver::AddressPolicy::AllowAll;
    let r = Resolver::new(config);
    let owner = Name::from_str("_25._tcp.mx.alg13.test.").unwrap();
    let auth = rt()
        .block_on(r.ask_authoritative(&owner, RecordType::TLSA, pinned()))
        .unwrap();
    assert_eq!(auth.zone.to_string(), "alg13.test.");
    assert!(
        matches!(auth.name_servers_verdict, dane_dnssec::Verdict::Secure),
        "{:?}",
        auth.name_servers_verdict
    );
    assert_eq!(auth.name_servers.len(), 1);
    assert!(auth.left_out.is_empty());
    let reply = &auth.replies[0];
    assert_eq!(reply.serial, Some(2_025_010_101));
    match &reply.result {
        dane_resolver::authoritative::ServerResult::Answered { lookup, .. } => {
            assert!(matches!(
                lookup.outcome.verdict,
                dane_dnssec::Verdict::Secure
            ));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_case_gets_its_verdict_and_answer_kind() {
    let nsd = Nsd::start_fixtures().expect("start nsd (scripts/install-test-deps)");
    let r = resolver(&nsd);
    let rt = rt();
    let mut wrong = Vec::new();
    for case in cases().unwrap() {
        let name = Name::from_str(&case.name).unwrap();
        let rtype = RecordType::from_str(&case.rtype).unwrap();
        let lookup = rt.block_on(r.lookup(&name, rtype, pinned())).unwrap();
        let o = &lookup.outcome;
        eprintln!(
            "{} {} -> {} {} {:?} sigs={}",
            case.name,
            case.rtype,
            o.verdict.as_str(),
            o.answer.as_str(),
            o.reason.as_ref().map(|r| r.to_string()),
            o.signatures_checked
        );
        if o.verdict.as_str() != case.verdict || o.answer.as_str() != case.answer {
            wrong.push(format!(
                "{} {}: got {} {} ({:?}), want {} {}\n  trace: {:#?}",
                case.name,
                case.rtype,
                o.verdict.as_str(),
                o.answer.as_str(),
                o.reason,
                case.verdict,
                case.answer,
                o.trace
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Extra questions recorded into `evidence/extra.evidence`.
const EXTRA: [(&str, &str); 4] = [
    ("www.alg8.test.", "DS"),
    ("nx.nsec.test.", "DS"),
    ("www.nsec3.test.", "DS"),
    ("nx.nsec3.test.", "DS"),
];

/// The evidence each case needs, as committed in `fixtures/dns/evidence/` (the hermetic
/// tests of dane-dnssec read it). With `DANE_RECORD_EVIDENCE=1` the files are rewritten;
/// otherwise the live answers must equal the committed ones octet for octet (IDs are
/// zeroed), so a fixture change without re-recording fails here.
#[test]
fn evidence() {
    let record = std::env::var_os("DANE_RECORD_EVIDENCE").is_some_and(|v| v == "1");
    let nsd = Nsd::start_fixtures().expect("start nsd (scripts/install-test-deps)");
    let r = resolver(&nsd);
    let rt = rt();
    let dir = dane_testenv::evidence_dir();
    if record {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    for case in cases().unwrap() {
        let name = Name::from_str(&case.name).unwrap();
        let rtype = RecordType::from_str(&case.rtype).unwrap();
        let lookup = rt.block_on(r.lookup(&name, rtype, pinned())).unwrap();
        let items: Vec<dane_testenv::EvidenceItem> = lookup
            .evidence
            .items()
            .iter()
            .map(|(q, item)| (q.name.to_string(), q.rtype.to_string(), item.clone()))
            .collect();
        let path = dir.join(case.evidence_file());
        if record {
            dane_testenv::write_evidence(&path, &items).unwrap();
            continue;
        }
        match dane_testenv::read_evidence(&path) {
            Ok(committed) if committed == items => {}
            Ok(_) => stale.push(format!("{} differs", path.display())),
            Err(e) => stale.push(e.to_string()),
        }
    }
    // Answers the hand-made negative tests of dane-dnssec need beyond the cases (the DS
    // questions a walk asks once an answer's signatures or proofs are stripped).
    let mut extra = Vec::new();
    for (name, rtype) in EXTRA {
        let q = dane_dnssec::Question::new(
            &Name::from_str(name).unwrap(),
            RecordType::from_str(rtype).unwrap(),
        );
        extra.push((
            name.to_string(),
            rtype.to_string(),
            rt.block_on(r.answer(&q)),
        ));
    }
    let path = dir.join("extra.evidence");
    if record {
        dane_testenv::write_evidence(&path, &extra).unwrap();
    } else if dane_testenv::read_evidence(&path).ok() != Some(extra) {
        stale.push(format!("{} differs", path.display()));
    }
    assert!(
        stale.is_empty(),
        "committed evidence is stale; re-record with \
         DANE_RECORD_EVIDENCE=1 cargo test -p dane-resolver --test resolver evidence:\n{}",
        stale.join("\n")
    );
}

/// big.alg13.test TXT is over 1232 octets: NSD truncates it over UDP and the resolver must
/// fetch it again over TCP (the validator refuses truncated messages).
#[test]
fn truncated_answers_are_fetched_over_tcp() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let r = resolver(&nsd);
    let q =
        dane_dnssec::Question::new(&Name::from_str("big.alg13.test.").unwrap(), RecordType::TXT);
    let wire = rt().block_on(r.answer(&q)).unwrap();
    assert!(wire.len() > 1232, "{} octets", wire.len());
    assert_eq!(wire[2] & 0x02, 0, "TC bit set in the final answer");
}

/// Concurrent lookups share one cache: the second batch asks nothing new.
#[test]
fn concurrent_lookups_share_the_cache() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let r = std::sync::Arc::new(resolver(&nsd));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let names = [
        "www.alg8.test.",
        "www.alg13.test.",
        "www.nsec.test.",
        "www.nsec3.test.",
        "to-alg8.cname.test.",
    ];
    let verdicts: Vec<String> = rt.block_on(async {
        let tasks: Vec<_> = names
            .iter()
            .map(|n| {
                let r = r.clone();
                let name = Name::from_str(n).unwrap();
                tokio::spawn(async move {
                    r.lookup(&name, RecordType::A, pinned())
                        .await
                        .unwrap()
                        .outcome
                        .verdict
                        .as_str()
                        .to_string()
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(verdicts.iter().all(|v| v == "secure"), "{verdicts:?}");
    // With NSD gone, every answer must come from the cache.
    drop(nsd);
    let again = rt
        .block_on(r.lookup(
            &Name::from_str("to-alg8.cname.test.").unwrap(),
            RecordType::A,
            pinned(),
        ))
        .unwrap();
    assert_eq!(
        again.outcome.verdict.as_str(),
        "secure",
        "{:?}",
        again.outcome.reason
    );
}

/// Validated lookups are kept for the next lookup of the same question (issue 27: the
/// targets of a scan sharing MX hosts validate those hosts' A and TLSA RRsets once) and
/// reused at any `now` inside every signature window of their evidence, while their
/// answers live, as a validating resolver does: a later second and both ends of the window
/// reuse it (same outcome and evidence); a second past the earliest expiration or before
/// the latest inception does not (validated afresh, as it must be); nor does any `now`
/// once the answers' TTL has run out on the cache's clock; an Indeterminate lookup is not
/// kept.
#[test]
fn validated_lookups_are_reused_within_their_validity_interval() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let clock = std::sync::Arc::new(dane_resolver::ManualClock::new());
    let mut config = resolver(&nsd).config().clone();
    config.clock = clock.clone();
    let r = Resolver::new(config);
    let rt = rt();
    let at = |s: u64| UnixTime::since_unix_epoch(Duration::from_secs(s));
    let name = Name::from_str("www.alg13.test.").unwrap();
    let look = |s: u64| rt.block_on(r.lookup(&name, RecordType::A, at(s))).unwrap();
    let first = look(PINNED);
    assert_eq!(first.outcome.verdict.as_str(), "secure");
    let kept = r.cached_lookups();
    assert!(kept >= 1, "{kept}");
    assert_eq!(r.reused_lookups(), 0);
    let (from, until) = first.evidence.signature_window(pinned());
    assert!(from < PINNED && PINNED + 3600 < until, "{from} {until}");
    // Ten seconds later, on both clocks: reused.
    clock.advance(Duration::from_secs(10));
    let again = look(PINNED + 10);
    assert_eq!(again.outcome, first.outcome);
    assert_eq!(again.evidence.items(), first.evidence.items());
    assert_eq!(r.reused_lookups(), 1);
    assert_eq!(r.cached_lookups(), kept, "nothing new validated");
    // The ends of the window (a `--at` scan): reused, and a fresh validation agrees.
    for s in [from, until] {
        let hit = look(s);
        assert_eq!(hit.outcome, first.outcome, "at {s}");
        let fresh = dane_dnssec::validate(
            &hit.evidence,
            &r.config().anchors,
            &name,
            RecordType::A,
            at(s),
            &dane_dnssec::Limits::default(),
        );
        let dane_dnssec::Step::Done(fresh) = fresh else {
            panic!("evidence incomplete at {s}")
        };
        assert_eq!(fresh.trace, first.outcome.trace, "at {s}");
    }
    assert_eq!(r.reused_lookups(), 3);
    // A second outside it: validated afresh (a signature expired or not yet valid).
    for s in [until + 1, from - 1] {
        let l = look(s);
        assert_eq!(r.reused_lookups(), 3, "reused at {s}");
        assert_ne!(l.outcome.trace, first.outcome.trace, "at {s}");
    }
    // Inside the window again: validated again (the entry was replaced by the last
    // lookup's), then reused.
    assert_eq!(look(PINNED).outcome, first.outcome);
    assert_eq!(look(PINNED + 20).outcome, first.outcome);
    assert_eq!(r.reused_lookups(), 4);
    // The A record's TTL later on the cache's clock, its answer is stale: not reused, at
    // any `now`; validated from answers fetched again.
    let ttl: u64 = first.outcome.links[0].records[0]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    clock.advance(Duration::from_secs(ttl));
    assert_eq!(look(PINNED + 20).outcome, first.outcome);
    assert_eq!(r.reused_lookups(), 4, "reused after the TTL of {ttl} s");
    assert_eq!(look(PINNED + 21).outcome, first.outcome);
    assert_eq!(r.reused_lookups(), 5);
    // With NSD gone, a name never asked is Indeterminate, and not kept.
    drop(nsd);
    let kept = r.cached_lookups();
    let gone = Name::from_str("never-asked.alg13.test.").unwrap();
    let failed = rt
        .block_on(r.lookup(&gone, RecordType::A, pinned()))
        .unwrap();
    assert_eq!(failed.outcome.verdict.as_str(), "indeterminate");
    assert_eq!(r.cached_lookups(), kept);
}

/// Past `max_cached` lookups, the least recently used goes: a lookup used since stays.
#[test]
fn the_validated_lookup_cache_drops_the_least_recently_used() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let mut config = resolver(&nsd).config().clone();
    config.max_cached = 2;
    let r = Resolver::new(config);
    let rt = rt();
    let look = |n: &str| {
        let name = Name::from_str(n).unwrap();
        let l = rt
            .block_on(r.lookup(&name, RecordType::A, pinned()))
            .unwrap();
        assert_eq!(l.outcome.verdict.as_str(), "secure", "{n}");
        r.reused_lookups()
    };
    assert_eq!(look("www.alg8.test."), 0);
    assert_eq!(look("www.alg13.test."), 0);
    assert_eq!(look("www.alg8.test."), 1, "kept");
    // A third: alg13, used least recently, goes.
    assert_eq!(look("www.nsec.test."), 1);
    assert_eq!(r.cached_lookups(), 2);
    assert_eq!(look("www.alg8.test."), 2, "kept");
    assert_eq!(look("www.alg13.test."), 2, "dropped");
    assert!(r.cached_lookup_bytes() > 0);
}

/// The validated-lookup cache holds at most `max_cached` lookups however many names are
/// looked up (a survey of a million domains keeps flat memory), and a lookup after a
/// clear-out is validated again with the same verdict.
#[test]
fn the_validated_lookup_cache_is_bounded() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let mut config = Config::new(vec![nsd.addr()]);
    config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
    config.max_cached = 3;
    let r = Resolver::new(config);
    let rt = rt();
    let names = [
        "www.alg8.test.",
        "www.alg13.test.",
        "www.nsec.test.",
        "www.nsec3.test.",
        "to-alg8.cname.test.",
        "www.alg8.test.",
    ];
    for n in names {
        let name = Name::from_str(n).unwrap();
        let l = rt
            .block_on(r.lookup(&name, RecordType::A, pinned()))
            .unwrap();
        assert_eq!(l.outcome.verdict.as_str(), "secure", "{n}");
        assert!(r.cached_lookups() <= 3, "{} after {n}", r.cached_lookups());
    }
    assert!(r.cached_lookups() >= 1);
}

/// The cache is bounded: past `max_cached`, answers other than the root's and the TLDs'
/// DNSKEY and DS are dropped (so a run over many names keeps flat memory), and those keys
/// are never fetched again.
#[test]
fn the_cache_is_bounded_and_keeps_the_keys() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let mut r = resolver(&nsd);
    let mut config = r.config().clone();
    config.max_cached = 8;
    r = Resolver::new(config);
    let rt = rt();
    let mut most = 0;
    for i in 0..40 {
        let name = Name::from_str(&format!("nx{i}.test.")).unwrap();
        let l = rt
            .block_on(r.lookup(&name, RecordType::MX, pinned()))
            .unwrap();
        assert_eq!(
            l.outcome.verdict.as_str(),
            "secure",
            "{:?}",
            l.outcome.reason
        );
        most = most.max(r.cached());
    }
    // DNSKEY . and test., DS test.: kept; at most max_cached others before a clear.
    assert!(most <= 8 + 1, "the cache grew to {most}");
    // The keys survived every clear: with NSD gone, a name whose answer was just cached
    // still validates from the cache alone.
    drop(nsd);
    let again = rt
        .block_on(r.lookup(
            &Name::from_str("nx39.test.").unwrap(),
            RecordType::MX,
            pinned(),
        ))
        .unwrap();
    assert_eq!(
        again.outcome.verdict.as_str(),
        "secure",
        "{:?}",
        again.outcome.reason
    );
}

/// A server that answers garbage, or with the wrong ID, or not at all: a typed failure
/// (Indeterminate), quickly, never a panic or a hang.
#[test]
fn hostile_servers_give_indeterminate() {
    use std::net::UdpSocket;
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        let mut n = 0u32;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((len, from)) = sock.recv_from(&mut buf) {
                n += 1;
                let reply: Vec<u8> = match n % 3 {
                    // Garbage.
                    0 => vec![0xff; 7],
                    // The right ID but QR clear.
                    1 => buf[..len].to_vec(),
                    // The right ID, a response, a compression loop in the answer.
                    _ => {
                        let mut m = buf[..len].to_vec();
                        m[2] |= 0x80;
                        m[7] = 1;
                        m.truncate(len.min(12 + 20));
                        m.extend_from_slice(&[
                            0xc0,
                            0x0c + 30,
                            0,
                            1,
                            0,
                            1,
                            0,
                            0,
                            0,
                            1,
                            0,
                            4,
                            1,
                            2,
                            3,
                            4,
                        ]);
                        m
                    }
                };
                let _ = sock.send_to(&reply, from);
            }
        }
    });
    let mut config = Config::new(vec![addr]);
    config.timeout = Duration::from_millis(300);
    config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
    let r = Resolver::new(config);
    let started = std::time::Instant::now();
    let lookup = rt()
        .block_on(r.lookup(
            &Name::from_str("www.alg8.test.").unwrap(),
            RecordType::A,
            pinned(),
        ))
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap();
    assert_eq!(
        lookup.outcome.verdict.as_str(),
        "indeterminate",
        "{:?}",
        lookup.outcome
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// A server that never answers: the lookup ends at its deadline, Indeterminate, saying so.
#[test]
fn a_black_hole_ends_at_the_lookup_deadline() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut config = Config::new(vec![sock.local_addr().unwrap()]);
    config.timeout = Duration::from_secs(5);
    config.lookup_timeout = Duration::from_millis(800);
    config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
    let r = Resolver::new(config);
    let started = std::time::Instant::now();
    let lookup = rt()
        .block_on(r.lookup(
            &Name::from_str("www.alg8.test.").unwrap(),
            RecordType::A,
            pinned(),
        ))
        .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(lookup.outcome.verdict.as_str(), "indeterminate");
    let reason = lookup.outcome.reason.unwrap();
    assert!(reason.detail.contains("deadline"), "{reason:?}");
    drop(sock);
}

/// The capability check runs once per resolver even when its first caller is cancelled
/// mid-check (a scrape's or a scan target's deadline): the check goes on in a task of its
/// own and the next caller waits for it, rather than starting another check per caller
/// (regression: each cancelled caller used to send the check's queries again, and with
/// deadlines shorter than the check it never finished at all).
#[test]
fn the_capability_check_survives_a_cancelled_caller() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while sock.recv_from(&mut buf).is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut config = Config::new(vec![addr]);
    config.mode = dane_resolver::Mode::Checked;
    config.timeout = Duration::from_millis(400);
    config.attempts = 2;
    config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
    let r = Resolver::new(config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    rt.block_on(async {
        // Three callers in turn, each giving up before the check (2 x 400 ms) ends.
        for _ in 0..3 {
            let cancelled =
                tokio::time::timeout(Duration::from_millis(250), r.resolution(pinned())).await;
            assert!(cancelled.is_err(), "the check cannot be done yet");
        }
        let path = r.resolution(pinned()).await;
        let dane_resolver::Resolution::Unsuitable(u) = &*path else {
            panic!("{path:?}");
        };
        assert_eq!(u.servers, [(addr, dane_resolver::Problem::TimedOut)]);
    });
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        received.load(Ordering::SeqCst),
        2,
        "one check (two attempts) for every caller"
    );
}

/// The same cases through a real recursive resolver (Unbound, stub zones to NSD), asked
/// with CD so that it hands over even what it finds bogus: our verdicts do not change.
#[test]
fn every_case_through_unbound_as_the_recursive_resolver() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let unbound =
        dane_testenv::Unbound::start(&nsd).expect("start unbound (scripts/install-test-deps)");
    let mut config = Config::new(vec![unbound.addr()]);
    config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
    let r = Resolver::new(config);
    let rt = rt();
    let mut wrong = Vec::new();
    for case in cases().unwrap() {
        let name = Name::from_str(&case.name).unwrap();
        let rtype = RecordType::from_str(&case.rtype).unwrap();
        let o = rt
            .block_on(r.lookup(&name, rtype, pinned()))
            .unwrap()
            .outcome;
        if o.verdict.as_str() != case.verdict || o.answer.as_str() != case.answer {
            wrong.push(format!(
                "{} {}: got {} {} ({:?}), want {} {}",
                case.name,
                case.rtype,
                o.verdict.as_str(),
                o.answer.as_str(),
                o.reason,
                case.verdict,
                case.answer
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases wrong through Unbound:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Hostile authoritative servers for the iterative path (issue 11): in-process UDP servers
/// on 127.0.0.N, all on one port (`Config::iterate_port`), each answering every query with
/// a scripted response. Every case ends within its bound with a typed error, never an
/// answer, and the lookup is never Secure.
mod hostile {
    use super::*;
    use dane_dnssec::Question;
    use dane_resolver::{Mode, RootHints};
    use hickory_proto::op::{Message, MessageType, OpCode};
    use hickory_proto::rr::rdata::{A, NS};
    use hickory_proto::rr::{RData, Record};
    use std::net::{Ipv4Addr, UdpSocket};
    use std::time::Instant;

    type Script = fn(&Message) -> Option<Message>;

    fn ns(zone: &str, host: &str) -> Record {
        Record::from_rdata(
            Name::from_str(zone).unwrap(),
            3600,
            RData::NS(NS(Name::from_str(host).unwrap())),
        )
    }

    fn glue(host: &str, ip: [u8; 4]) -> Record {
        Record::from_rdata(
            Name::from_str(host).unwrap(),
            3600,
            RData::A(A(Ipv4Addr::from(ip))),
        )
    }

    fn reply(q: &Message, authorities: Vec<Record>, additionals: Vec<Record>) -> Message {
        let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
        m.queries = q.queries.clone();
        m.authorities = authorities;
        m.additionals = additionals;
        m
    }

    /// An empty authoritative reply to `q`, for the script to fill.
    fn authoritative(q: &Message) -> Message {
        let mut m = reply(q, Vec::new(), Vec::new());
        m.metadata.authoritative = true;
        m
    }

    /// A script: an authoritative NXDOMAIN for every question.
    fn nxdomain(q: &Message) -> Option<Message> {
        let mut m = authoritative(q);
        m.metadata.response_code = hickory_proto::op::ResponseCode::NXDomain;
        Some(m)
    }

    /// The root zone's SOA, naming `primary` and `serial`.
    fn root_soa(primary: &str, serial: u32) -> Record {
        use hickory_proto::rr::rdata::SOA;
        Record::from_rdata(
            Name::root(),
            300,
            RData::SOA(SOA::new(
                Name::from_str(primary).unwrap(),
                Name::from_str("hostmaster.root.").unwrap(),
                serial,
                3600,
                600,
                86_400,
                300,
            )),
        )
    }

    /// Starts one server per (last octet, script) on 127.0.0.N:port; returns the port.
    fn servers(scripts: &[(u8, Script)]) -> u16 {
        counted_servers(scripts).0
    }

    /// Queries received, per server (by last octet).
    type Counts = std::sync::Arc<Vec<std::sync::atomic::AtomicUsize>>;

    /// As [`servers`], also counting the queries each server receives.
    fn counted_servers(scripts: &[(u8, Script)]) -> (u16, Counts) {
        // A port free on 127.0.0.1; the other loopback addresses are very likely free too.
        let first = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        drop(first);
        let counts: Counts = std::sync::Arc::new((0..256).map(|_| Default::default()).collect());
        for &(n, script) in scripts {
            let sock = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, n), port)).unwrap();
            let counts = counts.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok((len, from)) = sock.recv_from(&mut buf) {
                    counts[usize::from(n)].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Ok(q) = Message::from_vec(&buf[..len]) else {
                        continue;
                    };
                    if let Some(r) = script(&q) {
                        let _ = sock.send_to(&r.to_vec().unwrap(), from);
                    }
                }
            });
        }
        (port, counts)
    }

    fn iterating(port: u16) -> Resolver {
        let mut config = Config::new(Vec::new());
        config.mode = Mode::Iterate;
        config.root_hints = RootHints::parse(". NS root.\nroot. A 127.0.0.11\n").unwrap();
        config.iterate_port = port;
        // The hostile servers live on loopback (127.0.0.N).
        config.address_policy = dane_resolver::AddressPolicy::AllowAll;
        config.timeout = Duration::from_millis(300);
        config.lookup_timeout = Duration::from_secs(10);
        config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
        Resolver::new(config)
    }

    /// Asks `name A` through the hostile root at 127.0.0.11; the error must say `says`.
    fn check(scripts: &[(u8, Script)], name: &str, says: &str, bound: Duration) {
        let port = servers(scripts);
        let r = iterating(port);
        let name = Name::from_str(name).unwrap();
        let started = Instant::now();
        let answer = rt().block_on(r.answer(&Question::new(&name, RecordType::A)));
        assert!(started.elapsed() < bound, "{says}: {:?}", started.elapsed());
        let e = answer.expect_err("never an answer");
        assert!(e.contains(says), "{says}: {e}");
        let lookup = rt()
            .block_on(r.lookup(&name, RecordType::A, pinned()))
            .unwrap();
        assert!(
            !matches!(lookup.outcome.verdict, dane_dnssec::Verdict::Secure),
            "{says}: {:?}",
            lookup.outcome.verdict
        );
    }

    #[test]
    fn a_referral_to_the_zone_itself_is_lame() {
        check(
            &[(11, |q| {
                Some(reply(
                    q,
                    vec![ns(".", "root.")],
                    vec![glue("root.", [127, 0, 0, 11])],
                ))
            })],
            "www.loop.test.",
            "lame delegation",
            Duration::from_secs(5),
        );
    }

    #[test]
    fn an_upward_referral_is_lame() {
        // The root refers test. to 127.0.0.12, which refers back up to the root.
        check(
            &[
                (11, |q| {
                    Some(reply(
                        q,
                        vec![ns("test.", "ns.test.")],
                        vec![glue("ns.test.", [127, 0, 0, 12])],
                    ))
                }),
                (12, |q| {
                    Some(reply(
                        q,
                        vec![ns(".", "root.")],
                        vec![glue("root.", [127, 0, 0, 11])],
                    ))
                }),
            ],
            "www.up.test.",
            "lame delegation",
            Duration::from_secs(5),
        );
    }

    #[test]
    fn a_referral_loop_without_glue_ends() {
        // a.test is served by ns.b.test and b.test by ns.a.test, no glue: the name server
        // lookups chase each other until the nesting bound.
        check(
            &[(11, |q| {
                let n = q.queries[0].name().to_ascii();
                let (zone, host) = if n.ends_with("a.test.") {
                    ("a.test.", "ns.b.test.")
                } else {
                    ("b.test.", "ns.a.test.")
                };
                Some(reply(q, vec![ns(zone, host)], vec![]))
            })],
            "www.a.test.",
            "no address for any name server of a.test.",
            Duration::from_secs(5),
        );
    }

    #[test]
    fn out_of_bailiwick_glue_is_not_used() {
        // The root refers test. to 127.0.0.12 (in bailiwick); test.'s server refers
        // glue.test. to ns.evil. with "glue" 127.0.0.13, outside test.: ignored, so the
        // name server is looked up from the root, which refuses evil.; were the glue used,
        // the silent 127.0.0.13 would make it a timeout instead.
        check(
            &[
                (11, |q| {
                    if q.queries[0].name().to_ascii().ends_with("evil.") {
                        let mut m = reply(q, vec![], vec![]);
                        m.metadata.response_code = hickory_proto::op::ResponseCode::Refused;
                        return Some(m);
                    }
                    Some(reply(
                        q,
                        vec![ns("test.", "ns.test.")],
                        vec![glue("ns.test.", [127, 0, 0, 12])],
                    ))
                }),
                (12, |q| {
                    Some(reply(
                        q,
                        vec![ns("glue.test.", "ns.evil.")],
                        vec![glue("ns.evil.", [127, 0, 0, 13])],
                    ))
                }),
                (13, |_| None),
            ],
            "www.glue.test.",
            "no address for any name server of glue.test.",
            Duration::from_secs(5),
        );
    }

    #[test]
    fn thousands_of_ns_records_are_bounded() {
        check(
            &[(11, |q| {
                let records = (0..2000)
                    .map(|i| ns("test.", &format!("ns{i}.nowhere.test.")))
                    .collect();
                Some(reply(q, records, vec![]))
            })],
            "www.many.test.",
            "test.",
            Duration::from_secs(10),
        );
    }

    #[test]
    fn a_server_that_never_answers_times_out() {
        check(
            &[(11, |_| None)],
            "www.silent.test.",
            "no server of . answered",
            Duration::from_secs(5),
        );
    }

    #[test]
    fn a_lame_delegation_to_servers_nobody_answers_at_ends() {
        // The root refers test. to two name servers with in-bailiwick glue: ns1 at
        // 127.0.0.14, where nothing listens (port unreachable), and ns2 at 127.0.0.13, a
        // black hole that reads and never answers. Neither answers: the zone's servers are
        // exhausted within the per-exchange timeouts, not the whole lookup deadline.
        check(
            &[
                (11, |q| {
                    Some(reply(
                        q,
                        vec![ns("test.", "ns1.test."), ns("test.", "ns2.test.")],
                        vec![
                            glue("ns1.test.", [127, 0, 0, 14]),
                            glue("ns2.test.", [127, 0, 0, 13]),
                        ],
                    ))
                }),
                (13, |_| None),
            ],
            "www.lame.test.",
            "no server of test. answered",
            Duration::from_secs(5),
        );
    }

    #[test]
    fn a_lame_delegation_whose_name_server_has_an_unreachable_address_ends() {
        // No glue: the name server's address is looked up (from the root, which refers
        // elsewhere.example. to a black hole at 127.0.0.13), so the delegation is lame by
        // way of a lookup that never gets an answer.
        check(
            &[
                (11, |q| {
                    if q.queries[0]
                        .name()
                        .to_ascii()
                        .ends_with("elsewhere.example.")
                    {
                        return Some(reply(
                            q,
                            vec![ns("example.", "ns.example.")],
                            vec![glue("ns.example.", [127, 0, 0, 13])],
                        ));
                    }
                    Some(reply(q, vec![ns("test.", "ns.elsewhere.example.")], vec![]))
                }),
                (13, |_| None),
            ],
            "www.lame.test.",
            "no address for any name server of test.",
            Duration::from_secs(5),
        );
    }

    /// `dane rollover status`'s question: every authoritative server of the owner's zone,
    /// asked directly. Here the root (127.0.0.11) holds the zone `.` itself, with two name
    /// servers: a.root. (127.0.0.21, serves a TLSA record) and b.root. (127.0.0.22,
    /// REFUSED: it does not serve the zone).
    #[test]
    fn every_authoritative_server_is_asked() {
        fn zone(q: &Message) -> Option<Message> {
            let query = q.queries.first()?;
            let mut m = authoritative(q);
            let name = query.name().to_ascii().to_ascii_lowercase();
            match (name.as_str(), query.query_type()) {
                (".", RecordType::NS) => {
                    m.answers = vec![ns(".", "a.root."), ns(".", "b.root.")];
                }
                ("a.root.", RecordType::A) => m.answers = vec![glue("a.root.", [127, 0, 0, 21])],
                ("b.root.", RecordType::A) => m.answers = vec![glue("b.root.", [127, 0, 0, 22])],
                _ => m.authorities = vec![root_soa("a.root.", 1)],
            }
            Some(m)
        }
        fn with_tlsa(q: &Message) -> Option<Message> {
            use hickory_proto::rr::rdata::TLSA;
            let query = q.queries.first()?;
            let mut m = authoritative(q);
            if query.query_type() == RecordType::TLSA {
                m.answers = vec![Record::from_rdata(
                    query.name().clone(),
                    300,
                    RData::TLSA(TLSA::new(3.into(), 1.into(), 1.into(), vec![0xab; 32])),
                )];
            }
            Some(m)
        }
        fn refused(q: &Message) -> Option<Message> {
            let mut m = reply(q, Vec::new(), Vec::new());
            m.metadata.response_code = hickory_proto::op::ResponseCode::Refused;
            Some(m)
        }
        let port = servers(&[(11, zone), (21, with_tlsa), (22, refused)]);
        // ARCHITECTURE.md invariant 9: by default the NS RRset's loopback addresses are not
        // asked; each is a failed reply naming the range, so no status can be ready.
        let mut config = iterating(port).config().clone();
        config.address_policy = dane_resolver::AddressPolicy::PublicOnly;
        let strict = Resolver::new(config);
        let owner = Name::from_str("_25._tcp.mx.example.").unwrap();
        let auth = rt()
            .block_on(strict.ask_authoritative(&owner, RecordType::TLSA, pinned()))
            .unwrap();
        assert_eq!(auth.replies.len(), 2);
        for (reply, ip) in auth.replies.iter().zip(["127.0.0.21", "127.0.0.22"]) {
            match &reply.result {
                dane_resolver::authoritative::ServerResult::Failed(why) => assert!(
                    why.starts_with("not asked: ") && why.contains(ip) && why.contains("loopback"),
                    "{why}"
                ),
                other => panic!("{ip}: {other:?}"),
            }
        }
        let r = iterating(port);
        let auth = rt()
            .block_on(r.ask_authoritative(&owner, RecordType::TLSA, pinned()))
            .unwrap();
        assert_eq!(auth.zone, Name::root());
        assert_eq!(
            auth.name_servers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["a.root.", "b.root."]
        );
        assert_eq!(auth.replies.len(), 2);
        assert_eq!(
            auth.replies[0].address.to_string(),
            format!("127.0.0.21:{port}")
        );
        match &auth.replies[0].result {
            dane_resolver::authoritative::ServerResult::Answered { wire, lookup } => {
                let m = Message::from_vec(wire).unwrap();
                assert_eq!(m.answers.len(), 1, "the server's own answer, as sent");
                // Unsigned data under a signed root: never Secure.
                assert!(!matches!(
                    lookup.outcome.verdict,
                    dane_dnssec::Verdict::Secure
                ));
            }
            other => panic!("a.root.: {other:?}"),
        }
        match &auth.replies[1].result {
            dane_resolver::authoritative::ServerResult::Failed(why) => {
                assert!(why.contains("REFUSED"), "{why}");
            }
            other => panic!("b.root.: {other:?}"),
        }
    }

    /// The NXNS world (Afek et al. 2020): the root (127.0.0.11) refers `evil.` to the
    /// attacker's server (127.0.0.12) and `victim.` to the victim's (127.0.0.13). The
    /// attacker refers every name below `evil.` to 16 name servers without glue, all in the
    /// victim's zone; the victim answers NXDOMAIN for each.
    fn nxns_world() -> (u16, Counts) {
        fn root(q: &Message) -> Option<Message> {
            let n = q.queries[0].name().to_ascii();
            Some(if n.ends_with("evil.") {
                reply(
                    q,
                    vec![ns("evil.", "ns.evil.")],
                    vec![glue("ns.evil.", [127, 0, 0, 12])],
                )
            } else {
                reply(
                    q,
                    vec![ns("victim.", "ns.victim.")],
                    vec![glue("ns.victim.", [127, 0, 0, 13])],
                )
            })
        }
        fn attacker(q: &Message) -> Option<Message> {
            let name = q.queries[0].name().clone();
            let zone = name.trim_to(2).to_ascii();
            let records = (0..16)
                .map(|i| ns(&zone, &format!("ns{i}-{}.victim.", name.num_labels())))
                .collect();
            Some(reply(q, records, vec![]))
        }
        counted_servers(&[(11, root), (12, attacker), (13, nxdomain)])
    }

    fn count(counts: &Counts, n: usize) -> usize {
        counts[n].load(std::sync::atomic::Ordering::SeqCst)
    }

    /// One question whose referral names 16 glue-less servers in the victim's zone costs the
    /// victim 3 queries (the first three names' A records, NXDOMAIN: no AAAA), not 32; the
    /// error says why the others were not looked up.
    #[test]
    fn a_referral_with_many_glueless_name_servers_costs_the_victim_three_queries() {
        let (port, counts) = nxns_world();
        let r = iterating(port);
        let q = Question::new(&Name::from_str("www.sub.evil.").unwrap(), RecordType::A);
        let e = rt().block_on(r.answer(&q)).expect_err("no answer");
        assert_eq!(count(&counts, 13), 3, "queries to the victim per question");
        assert!(
            e.contains("13 more name servers without glue not looked up"),
            "{e}"
        );
        // Asked again while the failure is cached: nothing is sent.
        let _ = rt().block_on(r.answer(&q));
        assert_eq!(count(&counts, 13), 3);
    }

    /// A resolver for the NXNS world whose trust anchors sit at `zones` (so the validator's
    /// first question, the anchor's DNSKEY, is one the hostile referral answers).
    fn anchored(port: u16, zones: &[String]) -> Config {
        let mut config = iterating(port).config().clone();
        let digest = "ab".repeat(32);
        let text: String = zones
            .iter()
            .map(|z| format!("{z} 3600 IN DS 12345 8 2 {digest}\n"))
            .collect();
        config.anchors = dane_dnssec::TrustAnchors::parse(&text).unwrap();
        config
    }

    /// "More only after those fail": when the first three glue-less name servers' addresses
    /// are found but do not answer (servers down), a fourth is looked up, and answers. The
    /// name servers' AAAA records are not asked: their A records gave addresses.
    #[test]
    fn a_fourth_glueless_name_server_is_looked_up_when_the_first_three_are_down() {
        fn root(q: &Message) -> Option<Message> {
            let query = q.queries.first()?;
            let name = query.name().to_ascii();
            if let Some(n) = name
                .strip_prefix("ns")
                .and_then(|r| r.strip_suffix(".other."))
            {
                let mut m = reply(q, vec![], vec![]);
                m.metadata.authoritative = true;
                if query.query_type() == RecordType::A {
                    let last = 20 + n.parse::<u8>().ok()?;
                    m.answers = vec![glue(&name, [127, 0, 0, last])];
                }
                return Some(m);
            }
            let names = (0..4)
                .map(|i| ns("wide.test.", &format!("ns{i}.other.")))
                .collect();
            Some(reply(q, names, vec![]))
        }
        fn up(q: &Message) -> Option<Message> {
            let mut m = reply(q, vec![], vec![]);
            m.metadata.authoritative = true;
            m.answers = vec![glue(&q.queries.first()?.name().to_ascii(), [192, 0, 2, 1])];
            Some(m)
        }
        // 127.0.0.20-22: nothing listens (port unreachable); 127.0.0.23 answers.
        let (port, counts) = counted_servers(&[(11, root), (23, up)]);
        let r = iterating(port);
        let q = Question::new(&Name::from_str("www.wide.test.").unwrap(), RecordType::A);
        let answer = rt().block_on(r.answer(&q));
        assert!(answer.is_ok(), "{answer:?}");
        assert_eq!(count(&counts, 23), 1);
        assert_eq!(
            count(&counts, 11),
            1 + 4,
            "the referral, then four A lookups"
        );
    }

    /// The per-lookup budget bounds what one lookup sends, whatever the question budget
    /// (64) leaves: every query to every server counts. Unbounded, this lookup sends 6.
    #[test]
    fn the_lookup_budget_bounds_every_query() {
        let (port, counts) = nxns_world();
        let mut config = anchored(port, &["sub.evil.".into()]);
        config.max_lookup_queries = 4;
        let r = Resolver::new(config);
        let name = Name::from_str("www.sub.evil.").unwrap();
        let lookup = rt()
            .block_on(r.lookup(&name, RecordType::A, pinned()))
            .unwrap();
        assert!(!matches!(
            lookup.outcome.verdict,
            dane_dnssec::Verdict::Secure
        ));
        let total = count(&counts, 11) + count(&counts, 12) + count(&counts, 13);
        assert_eq!(total, 4, "queries in one lookup");
        let why = format!("{:?}", lookup.outcome.reason);
        assert!(
            why.contains("more than 4 queries to servers in this lookup"),
            "{why}"
        );
    }

    /// A check's budget spans its lookups: once spent, the check's later lookups send
    /// nothing. Unbounded, these five lookups send 10 queries (6, then 1 each: the
    /// delegations and the failed name server addresses are cached).
    #[test]
    fn the_check_budget_bounds_every_query_of_the_check() {
        let (port, counts) = nxns_world();
        let zones: Vec<String> = (0..5).map(|i| format!("sub{i}.evil.")).collect();
        let mut config = anchored(port, &zones);
        config.max_check_queries = 7;
        let r = Resolver::new(config);
        let budget = r.check_budget();
        for zone in &zones {
            let name = Name::from_str(&format!("www.{zone}")).unwrap();
            let lookup = rt()
                .block_on(r.lookup_within(&name, RecordType::A, pinned(), &budget))
                .unwrap();
            assert!(!matches!(
                lookup.outcome.verdict,
                dane_dnssec::Verdict::Secure
            ));
        }
        let total = count(&counts, 11) + count(&counts, 12) + count(&counts, 13);
        assert_eq!(total, 7, "queries in one check");
        assert_eq!(count(&counts, 13), 3, "queries to the victim in one check");
        // A fresh check (a new scrape) asks what the spent budget stopped: that failure
        // was the check's, not the zone's, and was not cached.
        let next = r.check_budget();
        let name = Name::from_str("www.sub4.evil.").unwrap();
        let _ = rt().block_on(r.lookup_within(&name, RecordType::A, pinned(), &next));
        assert_eq!(next.used(), 1, "a budget failure is not cached");
    }

    /// The iterative path's delegations age (ARCHITECTURE.md invariant 8): the root's
    /// referral to `test.` (NS and glue TTL 3600) is reused for an hour, then asked again.
    #[test]
    fn delegations_live_their_ttl() {
        fn root(q: &Message) -> Option<Message> {
            Some(reply(
                q,
                vec![ns("test.", "ns.test.")],
                vec![glue("ns.test.", [127, 0, 0, 12])],
            ))
        }
        let (port, counts) = counted_servers(&[(11, root), (12, nxdomain)]);
        let clock = std::sync::Arc::new(dane_resolver::ManualClock::new());
        let mut config = iterating(port).config().clone();
        config.clock = clock.clone();
        let r = Resolver::new(config);
        let ask = |n: &str| {
            let q = Question::new(&Name::from_str(n).unwrap(), RecordType::A);
            let _ = rt().block_on(r.answer(&q));
        };
        ask("a.test.");
        assert_eq!((count(&counts, 11), count(&counts, 12)), (1, 1));
        clock.advance(Duration::from_secs(3599));
        ask("b.test.");
        assert_eq!(
            (count(&counts, 11), count(&counts, 12)),
            (1, 2),
            "within the TTL"
        );
        assert_eq!(r.cached_delegations(), 1);
        clock.advance(Duration::from_secs(2));
        ask("c.test.");
        assert_eq!(
            (count(&counts, 11), count(&counts, 12)),
            (2, 3),
            "past the TTL"
        );
    }

    /// ARCHITECTURE.md invariant 9: glue and name server addresses in special-purpose
    /// ranges are not queried by default (here loopback, the test's own servers), and the
    /// error names the refused address and the switch.
    #[test]
    fn private_glue_is_not_queried_by_default() {
        let (port, counts) = nxns_world();
        let mut config = iterating(port).config().clone();
        config.address_policy = dane_resolver::AddressPolicy::PublicOnly;
        let r = Resolver::new(config);
        let q = Question::new(&Name::from_str("www.sub.evil.").unwrap(), RecordType::A);
        let e = rt().block_on(r.answer(&q)).expect_err("no answer");
        assert_eq!(count(&counts, 11), 1, "the root hints are the operator's");
        assert_eq!(
            count(&counts, 12) + count(&counts, 13),
            0,
            "nothing sent to glue"
        );
        assert!(e.contains("127.0.0.12 is in 127.0.0.0/8 (loopback"), "{e}");
        assert!(e.contains("--allow-private"), "{e}");
    }

    /// The root zone's SOA (serial 42), as its servers here serve it.
    fn twenty_servers_soa() -> Record {
        root_soa("n1.root.", 42)
    }

    /// The root (127.0.0.11) holds `.` with 20 name servers n1..n20.root., each with three
    /// addresses: 127.0.0.21 and .23 answer, .22 black-holes.
    fn twenty_servers(q: &Message) -> Option<Message> {
        let query = q.queries.first()?;
        let mut m = authoritative(q);
        let name = query.name().to_ascii().to_ascii_lowercase();
        match (name.as_str(), query.query_type()) {
            (".", RecordType::NS) => {
                m.answers = (1..=20).map(|i| ns(".", &format!("n{i}.root."))).collect();
            }
            (n, RecordType::A) if n.starts_with('n') && n.ends_with(".root.") => {
                m.answers = [21, 22, 23].map(|o| glue(n, [127, 0, 0, o])).to_vec();
            }
            _ => m.authorities = vec![twenty_servers_soa()],
        }
        Some(m)
    }

    fn answers_with_its_serial(q: &Message) -> Option<Message> {
        let query = q.queries.first()?;
        let mut m = authoritative(q);
        if query.query_type() == RecordType::SOA && query.name().is_root() {
            m.answers = vec![twenty_servers_soa()];
        } else {
            m.authorities = vec![twenty_servers_soa()];
        }
        Some(m)
    }

    fn black_hole(_: &Message) -> Option<Message> {
        None
    }

    /// Bounds that leave servers out name them (`dane rollover status` never calls such a
    /// zone ready); an NS RRset that does not validate says so; each address's serial is
    /// read; and a black-holed server costs the lookup deadline at most, not its
    /// attempts times its timeout (here 3 x 5 s).
    #[test]
    fn the_bounds_name_what_they_leave_out_and_a_black_hole_ends_by_the_deadline() {
        let port = servers(&[
            (11, twenty_servers),
            (21, answers_with_its_serial),
            (22, black_hole),
            (23, answers_with_its_serial),
        ]);
        let mut config = Config::new(Vec::new());
        config.mode = Mode::Iterate;
        config.root_hints = RootHints::parse(". NS root.\nroot. A 127.0.0.11\n").unwrap();
        config.iterate_port = port;
        config.timeout = Duration::from_secs(5);
        config.attempts = 3;
        config.lookup_timeout = Duration::from_secs(2);
        config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
        // The hostile servers live on loopback (127.0.0.N).
        config.address_policy = dane_resolver::AddressPolicy::AllowAll;
        let r = Resolver::new(config);
        let owner = Name::from_str("_25._tcp.mx.example.").unwrap();
        let started = Instant::now();
        let auth = rt()
            .block_on(r.ask_authoritative(&owner, RecordType::TLSA, pinned()))
            .unwrap();
        // SOA and NS lookups (about 2 s each at most, their validation fails fast), the
        // address lookups and the servers (2 s): well under one black-holed 3 x 5 s.
        assert!(
            started.elapsed() < Duration::from_secs(9),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            auth.name_servers.len(),
            dane_resolver::authoritative::MAX_SERVERS
        );
        assert_eq!(
            auth.replies.len(),
            dane_resolver::authoritative::MAX_ADDRESSES
        );
        // 4 names past 16, and 16 x 3 - 32 = 16 addresses past 32.
        assert_eq!(auth.left_out.len(), 4 + 16, "{:?}", auth.left_out);
        assert_eq!(auth.left_out[0], "n17.root.");
        assert!(
            auth.left_out.contains(&"n16.root. 127.0.0.23".to_owned()),
            "{:?}",
            auth.left_out
        );
        // Unsigned data under the signed fixture root: the NS RRset is not secure.
        assert!(
            !matches!(auth.name_servers_verdict, dane_dnssec::Verdict::Secure),
            "{:?}",
            auth.name_servers_verdict
        );
        for reply in &auth.replies {
            let octet = match reply.address.ip() {
                std::net::IpAddr::V4(a) => a.octets()[3],
                other => panic!("{other}"),
            };
            match (octet, &reply.result) {
                (22, dane_resolver::authoritative::ServerResult::Failed(why)) => {
                    assert!(why.contains("within the lookup deadline of 2s"), "{why}");
                    assert_eq!(reply.serial, None);
                }
                (21 | 23, _) => assert_eq!(reply.serial, Some(42), "{reply:?}"),
                other => panic!("{other:?}"),
            }
        }
    }
}

/// The caches age (ARCHITECTURE.md invariant 8) on the resolver's clock, here a
/// [`ManualClock`](dane_resolver::ManualClock) moved by hand: NSD serves the fixtures
/// (TTL 3600) through an in-process UDP relay that the tests take down and bring back up.
mod ageing {
    use super::*;
    use dane_resolver::{ManualClock, Mode, Resolution};
    use std::net::{SocketAddr, UdpSocket};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A UDP relay to `upstream` that drops every query while `up` is false.
    pub(super) fn relay(upstream: SocketAddr) -> (SocketAddr, Arc<AtomicBool>) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65_535];
            while let Ok((len, from)) = sock.recv_from(&mut buf) {
                if !flag.load(Ordering::SeqCst) {
                    continue;
                }
                let out = UdpSocket::bind("127.0.0.1:0").unwrap();
                out.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                out.send_to(&buf[..len], upstream).unwrap();
                let mut answer = [0u8; 65_535];
                if let Ok(n) = out.recv(&mut answer) {
                    let _ = sock.send_to(&answer[..n], from);
                }
            }
        });
        (addr, up)
    }

    /// Background re-checks run on the runtime's workers, between the test's calls.
    pub(super) fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn through(addr: SocketAddr, mode: Mode, clock: &Arc<ManualClock>) -> Resolver {
        let mut config = Config::new(vec![addr]);
        config.mode = mode;
        config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
        // Generous: the machine running the tests may be loaded, and a late answer here
        // would read as a resolver down.
        config.timeout = Duration::from_millis(1500);
        config.attempts = 1;
        config.clock = clock.clone();
        Resolver::new(config)
    }

    fn verdict(r: &Resolver, name: &str) -> String {
        let name = Name::from_str(name).unwrap();
        let l = rt()
            .block_on(r.lookup(&name, RecordType::A, pinned()))
            .unwrap();
        l.outcome.verdict.as_str().to_owned()
    }

    /// An answer lives its TTL: served from the cache while the server is away, gone
    /// after 3600 s. A failure lives 30 s: the server back, it is used within that time.
    #[test]
    fn answers_live_their_ttl_and_failures_thirty_seconds() {
        let nsd = Nsd::start_fixtures().expect("start nsd");
        let (addr, up) = relay(nsd.addr());
        let clock = Arc::new(ManualClock::new());
        let r = through(addr, Mode::Unchecked, &clock);
        assert_eq!(verdict(&r, "www.alg8.test."), "secure");
        up.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(3599));
        assert_eq!(verdict(&r, "www.alg8.test."), "secure", "within its TTL");
        clock.advance(Duration::from_secs(2));
        assert_eq!(
            verdict(&r, "www.alg8.test."),
            "indeterminate",
            "past its TTL"
        );
        // The failure is kept, even with the server back ...
        up.store(true, Ordering::SeqCst);
        assert_eq!(verdict(&r, "www.alg8.test."), "indeterminate");
        // ... for 30 s.
        clock.advance(Duration::from_secs(31));
        assert_eq!(verdict(&r, "www.alg8.test."), "secure");
    }

    /// Regression (issue 22): an exporter started while its resolver was down never used
    /// it. Now a failed check is redone after 30 s (then with backoff), a passed one when
    /// the resolver stops answering, and lookups follow.
    #[test]
    fn the_resolver_check_is_redone_after_a_failure_and_when_the_resolver_goes_away() {
        let nsd = Nsd::start_fixtures().expect("start nsd");
        let (addr, up) = relay(nsd.addr());
        let clock = Arc::new(ManualClock::new());
        let r = through(addr, Mode::Checked, &clock);
        let rt = rt();
        let path = |r: &Resolver| (*rt.block_on(r.resolution(pinned()))).clone();
        // Settles a background re-check: the first call starts it, the next ones see it.
        let settled = |r: &Resolver, want: fn(&Resolution) -> bool| {
            for _ in 0..150 {
                if want(&path(r)) {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            false
        };
        let unsuitable = |p: &Resolution| matches!(p, Resolution::Unsuitable(_));
        let checked = |p: &Resolution| matches!(p, Resolution::Resolver { checked: true, .. });
        up.store(false, Ordering::SeqCst);
        assert!(unsuitable(&path(&r)), "{:?}", path(&r));
        up.store(true, Ordering::SeqCst);
        // Within the backoff, the decision holds.
        clock.advance(Duration::from_secs(29));
        assert!(unsuitable(&path(&r)));
        clock.advance(Duration::from_secs(2));
        assert!(
            settled(&r, checked),
            "re-checked after 30 s: {:?}",
            path(&r)
        );
        assert_eq!(verdict(&r, "www.alg8.test."), "secure");
        // The resolver goes away: a question nobody answers makes the path suspect, and
        // the next check (due at once: the last is older than 30 s) finds it gone.
        up.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(60));
        assert_eq!(verdict(&r, "www.nsec.test."), "indeterminate");
        assert!(settled(&r, unsuitable), "{:?}", path(&r));
        // Back again: after a second failure the backoff is 60 s.
        up.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(45));
        assert!(unsuitable(&path(&r)), "still backing off");
        clock.advance(Duration::from_secs(20));
        assert!(settled(&r, checked), "{:?}", path(&r));
    }

    /// A passed check is redone hourly, even when all goes well.
    #[test]
    fn a_passed_check_is_redone_hourly() {
        let nsd = Nsd::start_fixtures().expect("start nsd");
        let (addr, up) = relay(nsd.addr());
        let clock = Arc::new(ManualClock::new());
        let r = through(addr, Mode::Checked, &clock);
        let rt = rt();
        let checked = |r: &Resolver| {
            matches!(
                *rt.block_on(r.resolution(pinned())),
                Resolution::Resolver { checked: true, .. }
            )
        };
        assert!(checked(&r));
        up.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(3599));
        assert!(checked(&r), "within the hour: no check");
        clock.advance(Duration::from_secs(2));
        let mut gone = false;
        for _ in 0..150 {
            if !checked(&r) {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(gone, "re-checked after an hour, and found down");
    }
}

/// The same in real time against real servers (issue 22): NSD serving a zone with 2-second
/// TTLs beside the fixtures, Unbound in front (stub zones), and a relay between dane and
/// Unbound that takes the resolver away and brings it back. A record is removed, another
/// added (NSD reloads the changed zone file), the resolver goes down and comes up, all
/// seen by one long-lived `Resolver` on the system clock. Bounded: about 15 s.
mod real_time {
    use super::*;
    use dane_dnssec::Question;
    use dane_resolver::{Mode, Resolution};
    use hickory_proto::op::Message;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    /// The fixtures' unsigned `insecure.test.` (delegated without DS from the signed
    /// `test.`), with 2-second TTLs: Unbound proves it insecure and caches by TTL (a zone
    /// not delegated at all would be bogus, which Unbound keeps for `val-bogus-ttl`, 60 s).
    const ZONE: &str = "$ORIGIN insecure.test.\n$TTL 2\n\
                        @ SOA ns.insecure.test. h.insecure.test. SERIAL 60 60 600 2\n\
                        @ NS ns.insecure.test.\nns A 127.0.0.1\n";

    fn zone(dir: &std::path::Path, serial: u32, records: &str) {
        let text = ZONE.replace("SERIAL", &serial.to_string()) + records;
        std::fs::write(dir.join("insecure.test.zone"), text).unwrap();
    }

    /// The A addresses of `name` through `r`, or why there are none.
    fn addresses(
        r: &Resolver,
        rt: &tokio::runtime::Runtime,
        name: &str,
    ) -> Result<Vec<String>, String> {
        let q = Question::new(&Name::from_str(name).unwrap(), RecordType::A);
        let wire = rt.block_on(r.answer(&q))?;
        let m = Message::from_vec(&wire).map_err(|e| e.to_string())?;
        Ok(m.answers
            .iter()
            .filter_map(|r| match &r.data {
                hickory_proto::rr::RData::A(a) => Some(a.0.to_string()),
                _ => None,
            })
            .collect())
    }

    /// Polls `f` until it holds, for at most `within`.
    fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }

    #[test]
    fn records_removed_and_added_and_a_resolver_down_then_up() {
        let dir = std::env::temp_dir().join(format!("dane-real-time-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(fixtures_dir().join("zones")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "zone") {
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        zone(&dir, 1, "www A 192.0.2.1\n");
        let nsd = Nsd::start(&dir).expect("start nsd");
        let unbound = dane_testenv::Unbound::start(&nsd).expect("start unbound");
        let (addr, up) = super::ageing::relay(unbound.addr());
        let mut config = Config::new(vec![addr]);
        config.mode = Mode::Checked;
        config.anchors = read_anchors(&fixtures_dir().join("anchors/root.ds")).unwrap();
        config.timeout = Duration::from_millis(1000);
        config.attempts = 1;
        // Failures live 30 s by default; 2 s keeps the test short.
        config.cache.failure_ttl = Duration::from_secs(2);
        let r = Resolver::new(config);
        let rt = super::ageing::rt();
        let secure = |r: &Resolver| {
            let name = Name::from_str("www.alg8.test.").unwrap();
            rt.block_on(r.lookup(&name, RecordType::A, pinned()))
                .is_ok_and(|l| l.outcome.verdict.as_str() == "secure")
        };
        assert!(secure(&r));
        assert_eq!(
            addresses(&r, &rt, "www.insecure.test."),
            Ok(vec!["192.0.2.1".into()])
        );
        assert_eq!(
            addresses(&r, &rt, "new.insecure.test."),
            Ok(vec![]),
            "NXDOMAIN"
        );

        // www removed, new added.
        zone(&dir, 2, "new A 192.0.2.2\n");
        nsd.reload().unwrap();
        assert!(
            eventually(Duration::from_secs(12), || {
                addresses(&r, &rt, "www.insecure.test.") == Ok(vec![])
                    && addresses(&r, &rt, "new.insecure.test.") == Ok(vec!["192.0.2.2".into()])
            }),
            "the removal and the addition seen within the TTLs"
        );

        // The resolver goes away: once the answer has expired, lookups fail, and the
        // check, redone, finds the resolver unsuitable.
        up.store(false, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(2100));
        assert!(addresses(&r, &rt, "new.insecure.test.").is_err());
        assert!(eventually(Duration::from_secs(12), || matches!(
            *rt.block_on(r.resolution(pinned())),
            Resolution::Unsuitable(_)
        )));
        // ... and comes back: used again within the backoff.
        up.store(true, Ordering::SeqCst);
        assert!(
            eventually(Duration::from_secs(15), || secure(&r)
                && addresses(&r, &rt, "new.insecure.test.")
                    == Ok(vec!["192.0.2.2".into()])),
            "{:?}",
            rt.block_on(r.resolution(pinned()))
        );
        drop(nsd);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A directory holding `big.test`, an unsigned zone of `hosts` A records (a transfer of
/// several messages), named after `tag`.
fn xfr_zone_dir(tag: &str, hosts: usize) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dane-axfr-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from(
        "$ORIGIN big.test.\n$TTL 3600\n@ SOA ns1 host 7 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n",
    );
    for i in 0..hosts {
        text.push_str(&format!("h{i} A 192.0.2.{}\n", i % 250 + 1));
    }
    std::fs::write(dir.join("big.zone"), text).unwrap();
    dir
}

const XFR_SECRET: &str = "c2VjcmV0LWZvci10aGUtYXhmci10ZXN0cy0wMTIzNDU2Nzg5YWJjZGVm";

/// NSD serving `big.test` by AXFR to 127.0.0.1 only with the key `xfr-key`.
fn xfr_nsd(tag: &str, hosts: usize) -> Nsd {
    let extra = dane_testenv::NsdExtra {
        top: format!(
            "key:\n  name: \"xfr-key\"\n  algorithm: hmac-sha256\n  secret: \"{XFR_SECRET}\"\n"
        ),
        zone: "  provide-xfr: 127.0.0.1 xfr-key\n".into(),
    };
    Nsd::start_with(&xfr_zone_dir(tag, hosts), &extra).expect("start nsd")
}

fn wall() -> u64 {
    #[allow(clippy::disallowed_methods)] // TSIG is about real time
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Transfers big.test from `nsd` with `secret` (none: unsigned): the summary and the
/// records, or the error's text.
fn axfr_big(
    nsd: &Nsd,
    secret: Option<&[u8]>,
) -> Result<(dane_resolver::axfr::AxfrSummary, Vec<dane_zone::Record>), String> {
    use dane_resolver::axfr::{AxfrLimits, transfer};
    let key = secret
        .map(|s| dane_resolver::tsig::TsigKey::new("xfr-key", "hmac-sha256", s.to_vec()).unwrap());
    let apex = dane_zone::Name::parse("big.test.", &dane_zone::Name::root()).unwrap();
    let mut c = dane_zone::AxfrCollector::new(&apex, "AXFR", 1_000_000);
    let mut push = |m: &[u8]| c.push(m).map_err(|e| e.to_string());
    let clock = wall;
    let sum = rt()
        .block_on(transfer(
            nsd.addr(),
            &Name::from_str("big.test.").unwrap(),
            key.as_ref(),
            &clock,
            AxfrLimits::default(),
            &mut push,
        ))
        .map_err(|e| e.to_string())?;
    Ok((sum, c.finish().map_err(|e| e.to_string())?))
}

#[test]
fn axfr_from_nsd_verifies_the_tsig_of_every_message() {
    let nsd = xfr_nsd("tsig", 6000);
    let secret = data_encoding::BASE64.decode(XFR_SECRET.as_bytes()).unwrap();
    let (sum, records) = axfr_big(&nsd, Some(&secret)).unwrap();
    // SOA, NS, ns1 A and the hosts; the closing SOA is not kept twice.
    assert_eq!(records.len(), 6003);
    assert_eq!(records[0].rtype, 6);
    // Several messages, and NSD signs only some of them (every 96th and the last): the
    // unsigned ones in between were covered by the next MAC (RFC 8945 5.3.1).
    assert!(sum.messages > 2, "{sum:?}");
    assert!(sum.signed >= 2 && sum.signed <= sum.messages, "{sum:?}");
    eprintln!("{sum:?}");

    // A wrong secret: NSD refuses (BADSIG), one line, nothing transferred.
    let e = axfr_big(&nsd, Some(b"not-the-secret")).unwrap_err();
    assert!(e.contains("NOTAUTH, TSIG BADSIG"), "{e}");
    // No key: the ACL refuses.
    let e = axfr_big(&nsd, None).unwrap_err();
    assert!(e.contains("REFUSED"), "{e}");
}

#[test]
fn axfr_deadline_and_limits_are_kept() {
    use dane_resolver::axfr::{AxfrLimits, transfer};
    let nsd = xfr_nsd("limits", 6000);
    let secret = data_encoding::BASE64.decode(XFR_SECRET.as_bytes()).unwrap();
    let key = dane_resolver::tsig::TsigKey::new("xfr-key", "hmac-sha256", secret).unwrap();
    let clock = wall;
    let run = |limits: AxfrLimits| {
        let mut never_done = |_: &[u8]| Ok(false);
        rt().block_on(transfer(
            nsd.addr(),
            &Name::from_str("big.test.").unwrap(),
            Some(&key),
            &clock,
            limits,
            &mut never_done,
        ))
        .unwrap_err()
        .to_string()
    };
    let e = run(AxfrLimits {
        max_messages: 2,
        ..AxfrLimits::default()
    });
    assert!(e.contains("more than 2 messages"), "{e}");
    let e = run(AxfrLimits {
        max_bytes: 1000,
        ..AxfrLimits::default()
    });
    assert!(e.contains("more than 1000 octets"), "{e}");
    // A callback that never says done: NSD keeps the connection open after the last
    // message; the deadline ends the wait.
    let e = run(AxfrLimits {
        timeout: Duration::from_secs(2),
        ..AxfrLimits::default()
    });
    assert!(e.contains("did not complete within 2s"), "{e}");
    // A clock an hour off: the answers' signed time is outside the fudge. (NSD checks the
    // query's time first and answers BADTIME.)
    let late = || wall() + 3600;
    let mut push = |_: &[u8]| Ok(false);
    let e = rt()
        .block_on(transfer(
            nsd.addr(),
            &Name::from_str("big.test.").unwrap(),
            Some(&key),
            &late,
            AxfrLimits::default(),
            &mut push,
        ))
        .unwrap_err()
        .to_string();
    assert!(e.contains("BADTIME"), "{e}");
}
