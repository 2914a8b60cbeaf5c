//! dane-resolver against NSD serving the fixtures: every row of cases.tsv, the evidence
//! recorder, the delv differential, and hostile-server behaviour.
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
