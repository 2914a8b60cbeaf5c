//! The delv differential: for every case of `fixtures/dns/cases.tsv`, BIND's delv and our
//! resolver, with the same trust anchor and the same NSD serving the signed fixtures.

use std::str::FromStr;
use std::time::Duration;

use dane_resolver::{Config, Resolver, read_anchors};
use dane_testenv::{Nsd, cases, fixtures_dir};
use hickory_proto::rr::{Name, RecordType};
use rustls_pki_types::UnixTime;

/// The pinned time of the resolver tests and the recorded evidence: 2026-06-01T00:00:00Z.
fn pinned() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(1_780_272_000))
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

/// The differential: for every case, delv (BIND) and our resolver with the same anchor and
/// server. They differ on exactly the rows of delv-exceptions.tsv, where ours is the
/// expected verdict and delv's is the one listed (each row gives the RFC reasoning).
#[test]
fn delv_differs_from_us_exactly_on_the_listed_exceptions() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let r = resolver(&nsd);
    let rt = rt();
    let mut differences = Vec::new();
    for case in cases().unwrap() {
        let name = Name::from_str(&case.name).unwrap();
        let rtype = RecordType::from_str(&case.rtype).unwrap();
        // delv validates at the real clock; the fixtures are valid until 2036.
        let ours = rt.block_on(r.lookup(&name, rtype, pinned())).unwrap();
        let theirs = dane_testenv::delv(&nsd, &case.name, &case.rtype)
            .expect("delv (scripts/install-test-deps)");
        let ours = ours.outcome.verdict.as_str();
        if ours != theirs {
            differences.push(format!("{}\t{}\t{ours}\t{theirs}", case.name, case.rtype));
        }
    }
    let exceptions: Vec<String> =
        dane_testenv::read_table(&fixtures_dir().join("delv-exceptions.tsv"), 5)
            .unwrap()
            .into_iter()
            .map(|row| format!("{}\t{}\t{}\t{}", row[0], row[1], row[2], row[3]))
            .collect();
    assert_eq!(
        differences, exceptions,
        "(name, type, ours, delv) must be exactly delv-exceptions.tsv"
    );
}
