//! RFC 7672 decisions, step by step, over hand-made lookup results and the fixture PKI
//! (fixtures/pki: chains made by openssl, TLSA values in golden/certs.txt computed by
//! openssl pipelines).

// Integration tests are outside `allow-unwrap-in-tests`; reading fixtures is test I/O.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use dane_check::dns::{Answer, Lookup, Mx, Security};
use dane_check::smtp::{
    AddressStep, HostPolicy, MxPlan, NoDane, Probe, ProbeFailure, TlsaStep, address_step,
    endpoint_verdict, mx_plan, plan_verdict, tlsa_step,
};
use dane_check::{Status, verdict};
use dane_tlsa::{CertUsage, MatchingType, RecordStatus, Selector, TlsaRecord};
use rustls_pki_types::{CertificateDer, UnixTime};

const PKI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pki");

/// 2026-12-01: every fixture certificate but leaf-expired is valid then (they start 2026-11-22).
fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(1_796_083_200))
}

fn lookup<T>(name: &str, security: Security, answer: Answer<T>) -> Lookup<T> {
    Lookup {
        name: name.into(),
        canonical: name.into(),
        security,
        answer,
    }
}

fn bogus() -> Security {
    Security::Bogus {
        reason: "RRSIG over the RRset expired".into(),
    }
}

fn servfail() -> Security {
    Security::Indeterminate {
        reason: "SERVFAIL from 127.0.0.1".into(),
    }
}

fn mx(preference: u16, exchange: &str) -> Mx {
    Mx {
        preference,
        exchange: exchange.into(),
    }
}

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn chain(file: &str) -> Vec<CertificateDer<'static>> {
    let bytes = std::fs::read(format!("{PKI}/{file}")).unwrap();
    dane_tlsa::parse_certificates(&bytes).unwrap()
}

/// A record from the openssl-computed golden table.
fn golden(usage: CertUsage, cert: &str, selector: u8, mtype: u8) -> TlsaRecord {
    let table = std::fs::read_to_string(format!("{PKI}/golden/certs.txt")).unwrap();
    let prefix = format!("{cert} {selector} {mtype} ");
    let hex = table
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no golden {prefix}"));
    format!("{} {selector} {mtype} {hex}", usage.value())
        .parse()
        .unwrap()
}

fn tlsa(security: Security, records: Vec<TlsaRecord>) -> Lookup<TlsaRecord> {
    lookup("_25._tcp.x.", security, Answer::Records(records))
}

fn dane_policy(host: &str, records: Vec<TlsaRecord>) -> HostPolicy {
    let bases = vec![host.to_owned()];
    match tlsa_step(
        "example.test",
        host,
        &bases,
        &[tlsa(Security::Secure, records)],
    ) {
        TlsaStep::Decided(p) => p,
        other => panic!("{other:?}"),
    }
}

#[test]
fn mx_plans() {
    let check = |l: Lookup<Mx>, expected: MxPlan| assert_eq!(mx_plan(&l), expected, "{l:?}");
    let d = "example.test.";
    check(
        lookup(
            d,
            Security::Secure,
            Answer::Records(vec![
                mx(20, "MX2.Example.Test"),
                mx(10, "mx1.example.test."),
                mx(10, "mx3.example.test."),
                mx(30, "mx1.example.test"),
            ]),
        ),
        MxPlan::Hosts {
            secure: true,
            hosts: vec![
                mx(10, "mx1.example.test."),
                mx(10, "mx3.example.test."),
                mx(20, "mx2.example.test."),
            ],
            ignored: vec![],
        },
    );
    check(
        lookup(
            d,
            Security::Insecure,
            Answer::Records(vec![mx(10, "mx1.example.test.")]),
        ),
        MxPlan::Hosts {
            secure: false,
            hosts: vec![mx(10, "mx1.example.test.")],
            ignored: vec![],
        },
    );
    check(
        lookup(d, Security::Secure, Answer::NoData),
        MxPlan::Implicit { secure: true },
    );
    check(
        lookup(d, Security::Insecure, Answer::NoData),
        MxPlan::Implicit { secure: false },
    );
    check(
        lookup(d, Security::Secure, Answer::NxDomain),
        MxPlan::NoSuchDomain { secure: true },
    );
    check(
        lookup(d, Security::Secure, Answer::Records(vec![mx(0, ".")])),
        MxPlan::NullMx,
    );
    check(
        lookup(
            d,
            bogus(),
            Answer::Records(vec![mx(10, "mx1.example.test.")]),
        ),
        MxPlan::Failed { security: bogus() },
    );
    check(
        lookup(d, servfail(), Answer::NoData),
        MxPlan::Failed {
            security: servfail(),
        },
    );
    let mixed = mx_plan(&lookup(
        d,
        Security::Secure,
        Answer::Records(vec![mx(0, "."), mx(10, "mx1.example.test.")]),
    ));
    let MxPlan::Hosts { hosts, ignored, .. } = mixed else {
        panic!("{mixed:?}")
    };
    assert_eq!(hosts, vec![mx(10, "mx1.example.test.")]);
    assert_eq!(ignored.len(), 1);
    assert!(ignored[0].contains("RFC 7505"), "{ignored:?}");
}

#[test]
fn plan_verdicts() {
    let d = "example.test";
    let check = |plan: MxPlan, expected: Option<Status>, says: &str| {
        let v = plan_verdict(d, &plan);
        assert_eq!(v.as_ref().map(|v| v.status), expected, "{plan:?}");
        if let Some(v) = v {
            assert!(v.reason.contains(says), "{plan:?}: {}", v.reason);
        }
    };
    check(MxPlan::Implicit { secure: true }, None, "");
    check(
        MxPlan::Hosts {
            secure: true,
            hosts: vec![mx(10, "mx1.example.test.")],
            ignored: vec![],
        },
        None,
        "",
    );
    check(MxPlan::NullMx, Some(Status::NotProtected), "null MX");
    check(
        MxPlan::NoSuchDomain { secure: true },
        Some(Status::Failed),
        "secure NXDOMAIN",
    );
    check(
        MxPlan::Failed { security: bogus() },
        Some(Status::Failed),
        "RRSIG over the RRset expired",
    );
    check(
        MxPlan::Failed {
            security: servfail(),
        },
        Some(Status::Indeterminate),
        "SERVFAIL",
    );
}

#[test]
fn address_steps() {
    let host = "mx1.example.test.";
    let a = lookup(
        host,
        Security::Secure,
        Answer::Records(vec![addr("192.0.2.1")]),
    );
    let aaaa = lookup(
        host,
        Security::Secure,
        Answer::Records(vec![addr("2001:db8::1")]),
    );
    let nodata = lookup::<IpAddr>(host, Security::Secure, Answer::NoData);

    assert_eq!(
        address_step(true, host, &[&a, &aaaa]),
        AddressStep::LookupTlsa {
            bases: vec![host.into()],
            addresses: vec![addr("192.0.2.1"), addr("2001:db8::1")],
        }
    );
    assert_eq!(
        address_step(true, host, &[&a, &nodata]),
        AddressStep::LookupTlsa {
            bases: vec![host.into()],
            addresses: vec![addr("192.0.2.1")],
        }
    );
    // RFC 7672 2.2.3: the CNAME-expanded name first, then the MX host name.
    let cname = Lookup {
        canonical: "Real.Hosting.test.".into(),
        ..a.clone()
    };
    assert_eq!(
        address_step(true, host, &[&cname]),
        AddressStep::LookupTlsa {
            bases: vec!["real.hosting.test.".into(), host.into()],
            addresses: vec![addr("192.0.2.1")],
        }
    );
    // Insecure MX: the host names could be an attacker's.
    assert_eq!(
        address_step(false, host, &[&a]),
        AddressStep::NoDane {
            why: NoDane::InsecureMx,
            addresses: vec![addr("192.0.2.1")],
        }
    );
    let insecure_aaaa = Lookup {
        security: Security::Insecure,
        ..aaaa.clone()
    };
    assert_eq!(
        address_step(true, host, &[&a, &insecure_aaaa]),
        AddressStep::NoDane {
            why: NoDane::InsecureAddresses,
            addresses: vec![addr("192.0.2.1"), addr("2001:db8::1")],
        }
    );
    for (security, status) in [
        (bogus(), Status::Failed),
        (servfail(), Status::Indeterminate),
    ] {
        let failed = Lookup {
            security,
            ..aaaa.clone()
        };
        let AddressStep::Unusable { verdict } = address_step(true, host, &[&a, &failed]) else {
            panic!("a failed AAAA lookup must make the host unusable")
        };
        assert_eq!(verdict.status, status);
        assert!(verdict.reason.contains(host), "{}", verdict.reason);
    }
    let nx = lookup::<IpAddr>(host, Security::Secure, Answer::NxDomain);
    let AddressStep::Unusable { verdict } = address_step(true, host, &[&nx, &nodata]) else {
        panic!("no addresses")
    };
    assert_eq!(verdict.status, Status::Failed);
    assert!(verdict.reason.contains("no address records"));
}

#[test]
fn tlsa_steps() {
    let domain = "example.test";
    let host = "mx1.example.test.";
    let expanded = "real.hosting.test.";
    let bases = vec![expanded.to_owned(), host.to_owned()];
    let ee = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
    let pkix = golden(CertUsage::PkixEe, "leaf-rsa.pem", 1, 1);
    let denial = lookup("_25._tcp.x.", Security::Secure, Answer::NoData);

    assert_eq!(
        tlsa_step(domain, host, &bases, &[]),
        TlsaStep::Query {
            owner: "_25._tcp.real.hosting.test.".into()
        }
    );
    // Secure denial at the expanded name: the original name is next.
    assert_eq!(
        tlsa_step(domain, host, &bases, std::slice::from_ref(&denial)),
        TlsaStep::Query {
            owner: "_25._tcp.mx1.example.test.".into()
        }
    );
    match tlsa_step(
        domain,
        host,
        &bases,
        &[tlsa(Security::Secure, vec![ee.clone(), pkix.clone()])],
    ) {
        TlsaStep::Decided(HostPolicy::Dane {
            base,
            owner,
            records,
            usable,
            reference_ids,
        }) => {
            assert_eq!(base, expanded);
            assert_eq!(owner, "_25._tcp.real.hosting.test.");
            assert_eq!(records.len(), 2);
            assert_eq!(usable, 1, "PKIX-EE is unusable for SMTP (RFC 7672 3.1.3)");
            assert_eq!(
                reference_ids,
                ["real.hosting.test", "mx1.example.test", "example.test"]
            );
        }
        other => panic!("{other:?}"),
    }
    match tlsa_step(
        domain,
        host,
        &bases,
        &[denial.clone(), tlsa(Security::Secure, vec![ee.clone()])],
    ) {
        TlsaStep::Decided(HostPolicy::Dane { base, .. }) => assert_eq!(base, host),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        tlsa_step(domain, host, &bases, &[denial.clone(), denial.clone()]),
        TlsaStep::Decided(HostPolicy::NoDane {
            why: NoDane::NoTlsa {
                owners: vec![
                    "_25._tcp.real.hosting.test.".into(),
                    "_25._tcp.mx1.example.test.".into()
                ]
            }
        })
    );
    let single = vec![host.to_owned()];
    assert_eq!(
        tlsa_step(
            domain,
            host,
            &single,
            &[tlsa(Security::Insecure, vec![ee.clone()])]
        ),
        TlsaStep::Decided(HostPolicy::NoDane {
            why: NoDane::InsecureTlsa {
                owner: "_25._tcp.mx1.example.test.".into()
            }
        })
    );
    for (security, status) in [
        (bogus(), Status::Failed),
        (servfail(), Status::Indeterminate),
    ] {
        // Never a fallback to the original name, to cleartext or to unauthenticated TLS.
        match tlsa_step(domain, host, &bases, &[tlsa(security, vec![ee.clone()])]) {
            TlsaStep::Decided(HostPolicy::Unusable { verdict }) => {
                assert_eq!(verdict.status, status);
                assert!(verdict.reason.contains("_25._tcp.real.hosting.test."));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn endpoints_under_dane() {
    let host = "mx1.example.test.";
    let rsa = chain("chain-rsa.pem");
    let ec = chain("chain-ec.pem");
    let tls = |chain: &Vec<CertificateDer<'static>>| Probe::Tls {
        chain: chain.clone(),
    };
    let ee = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
    let ta = golden(CertUsage::DaneTa, "intermediate-ca.pem", 1, 1);

    let v = endpoint_verdict(
        host,
        &dane_policy(host, vec![ee.clone()]),
        &tls(&rsa),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Verified, "{}", v.verdict.reason);
    let report = v.matched.unwrap();
    assert_eq!(report.records[0].status, RecordStatus::Matched);
    assert_eq!(report.records[0].depth, Some(0));

    // The next key of a rollover published beside the current one: still verified.
    let spare = golden(CertUsage::DaneEe, "leaf-ec.pem", 1, 1);
    let v = endpoint_verdict(
        host,
        &dane_policy(host, vec![spare.clone(), ee.clone()]),
        &tls(&rsa),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Verified);

    // The certificate rolled over and the TLSA record did not follow: the outage.
    let v = endpoint_verdict(host, &dane_policy(host, vec![ee.clone()]), &tls(&ec), now());
    assert_eq!(v.verdict.status, Status::Failed);
    assert!(
        v.verdict.reason.contains("mx1.example.test."),
        "{}",
        v.verdict.reason
    );
    assert_eq!(
        v.matched.unwrap().records[0].status,
        RecordStatus::NotMatched
    );

    // DANE-TA: the issuer matches and the leaf's name is a reference identifier.
    let v = endpoint_verdict(
        host,
        &dane_policy(host, vec![ta.clone()]),
        &tls(&rsa),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Verified, "{}", v.verdict.reason);
    // ... but not for a host whose names the leaf does not carry.
    let other = "mx9.other.test.";
    let policy = match tlsa_step(
        "other.test",
        other,
        &[other.to_owned()],
        &[tlsa(Security::Secure, vec![ta.clone()])],
    ) {
        TlsaStep::Decided(p) => p,
        p => panic!("{p:?}"),
    };
    let v = endpoint_verdict(other, &policy, &tls(&rsa), now());
    assert_eq!(v.verdict.status, Status::Failed, "{}", v.verdict.reason);

    // An expired leaf passes DANE-EE (no dates) and fails DANE-TA (RFC 7671 5.1, 5.2).
    let expired = chain("chain-expired.pem");
    let expired_host = "expired.example.test.";
    let ee_expired = golden(CertUsage::DaneEe, "leaf-expired.pem", 1, 1);
    let v = endpoint_verdict(
        expired_host,
        &dane_policy(expired_host, vec![ee_expired]),
        &tls(&expired),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Verified, "{}", v.verdict.reason);
    let v = endpoint_verdict(
        expired_host,
        &dane_policy(expired_host, vec![ta.clone()]),
        &tls(&expired),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Failed, "{}", v.verdict.reason);

    // PKIX usages only: TLS mandatory but unauthenticated.
    let pkix = golden(CertUsage::PkixEe, "leaf-rsa.pem", 1, 1);
    let v = endpoint_verdict(host, &dane_policy(host, vec![pkix]), &tls(&rsa), now());
    assert_eq!(v.verdict.status, Status::NotProtected);
    assert!(
        v.verdict.reason.contains("none usable"),
        "{}",
        v.verdict.reason
    );
    // A record with a wrong digest length is unusable too.
    let short = TlsaRecord::new(
        CertUsage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
        vec![0xab; 16],
    );
    let v = endpoint_verdict(host, &dane_policy(host, vec![short]), &tls(&rsa), now());
    assert_eq!(v.verdict.status, Status::NotProtected);
}

#[test]
fn probe_failures_under_dane_and_without() {
    let host = "mx1.example.test.";
    let ee = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
    let dane = dane_policy(host, vec![ee]);
    let no_dane = HostPolicy::NoDane {
        why: NoDane::InsecureAddresses,
    };
    let table = [
        (ProbeFailure::StarttlsNotOffered, Status::Failed),
        (ProbeFailure::StarttlsRefused, Status::Failed),
        (ProbeFailure::TlsFailed, Status::Failed),
        (ProbeFailure::ProtocolViolation, Status::Failed),
        (ProbeFailure::Unreachable, Status::Indeterminate),
        (ProbeFailure::Timeout, Status::Indeterminate),
        (ProbeFailure::TlsUnsupported, Status::Indeterminate),
    ];
    for (failure, status) in table {
        let probe = Probe::Failed {
            failure,
            detail: format!("{failure:?} happened"),
        };
        let v = endpoint_verdict(host, &dane, &probe, now());
        assert_eq!(v.verdict.status, status, "{failure:?}");
        assert!(
            v.verdict.reason.contains("happened"),
            "{}",
            v.verdict.reason
        );
        assert!(v.matched.is_none());
        // Without DANE nothing is required: not protected, whatever the probe saw.
        let v = endpoint_verdict(host, &no_dane, &probe, now());
        assert_eq!(v.verdict.status, Status::NotProtected, "{failure:?}");
        assert!(v.verdict.reason.contains("not DNSSEC-signed"));
    }
    let unusable = HostPolicy::Unusable {
        verdict: dane_check::Verdict::new(Status::Failed, "TLSA bogus"),
    };
    let v = endpoint_verdict(
        host,
        &unusable,
        &Probe::Tls {
            chain: chain("chain-rsa.pem"),
        },
        now(),
    );
    assert_eq!(
        v.verdict,
        dane_check::Verdict::new(Status::Failed, "TLSA bogus")
    );
}

#[test]
fn a_domain_is_as_good_as_its_worst_endpoint() {
    let host = "mx1.example.test.";
    let rsa = chain("chain-rsa.pem");
    let ee = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
    let dane = dane_policy(host, vec![ee]);
    let good = endpoint_verdict(host, &dane, &Probe::Tls { chain: rsa }, now()).verdict;
    let down = endpoint_verdict(
        host,
        &dane,
        &Probe::Failed {
            failure: ProbeFailure::StarttlsNotOffered,
            detail: "no STARTTLS in the EHLO reply".into(),
        },
        now(),
    )
    .verdict;
    let all = verdict::combine([&good, &down]).unwrap();
    assert_eq!(all.status, Status::Failed);
    assert!(all.reason.contains("no STARTTLS"));
    assert_eq!(verdict::combine([&good]).unwrap().status, Status::Verified);
}
