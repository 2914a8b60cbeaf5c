//! The DANE policy steps (RFC 7672, 7671, 7673) and the engine, over hand-made lookup results
//! (fixtures/pki: chains made by openssl, TLSA values in golden/certs.txt computed by
//! openssl pipelines).

// Integration tests are outside `allow-unwrap-in-tests`; reading fixtures is test I/O.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use dane_check::dns::{Answer, Lookup, Mx, Security};
use dane_check::host::{
    AddressStep, HostPolicy, NoDane, Probe, ProbeFailure, Rules, TlsaStep, address_step,
    endpoint_verdict, tlsa_step,
};
use dane_check::smtp::{MxPlan, mx_plan, plan_verdict};
use dane_check::{Status, verdict};
use dane_tlsa::{CertUsage, MatchingType, Pkix, RecordStatus, Selector, TlsaRecord};
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
        expires: None,
        inception: None,
        dnssec_warnings: Vec::new(),
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
        &Rules::smtp("example.test"),
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
        address_step(None, host, &[&a, &aaaa]),
        AddressStep::LookupTlsa {
            bases: vec![host.into()],
            addresses: vec![addr("192.0.2.1"), addr("2001:db8::1")],
        }
    );
    assert_eq!(
        address_step(None, host, &[&a, &nodata]),
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
        address_step(None, host, &[&cname]),
        AddressStep::LookupTlsa {
            bases: vec!["real.hosting.test.".into(), host.into()],
            addresses: vec![addr("192.0.2.1")],
        }
    );
    // Insecure MX: the host names could be an attacker's.
    assert_eq!(
        address_step(Some(NoDane::InsecureMx), host, &[&a]),
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
        address_step(None, host, &[&a, &insecure_aaaa]),
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
        let AddressStep::Unusable { verdict } = address_step(None, host, &[&a, &failed]) else {
            panic!("a failed AAAA lookup must make the host unusable")
        };
        assert_eq!(verdict.status, status);
        assert!(verdict.reason.contains(host), "{}", verdict.reason);
    }
    let nx = lookup::<IpAddr>(host, Security::Secure, Answer::NxDomain);
    let AddressStep::Unusable { verdict } = address_step(None, host, &[&nx, &nodata]) else {
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
        tlsa_step(&Rules::smtp(domain), host, &bases, &[]),
        TlsaStep::Query {
            owner: "_25._tcp.real.hosting.test.".into()
        }
    );
    // Secure denial at the expanded name: the original name is next.
    assert_eq!(
        tlsa_step(
            &Rules::smtp(domain),
            host,
            &bases,
            std::slice::from_ref(&denial)
        ),
        TlsaStep::Query {
            owner: "_25._tcp.mx1.example.test.".into()
        }
    );
    match tlsa_step(
        &Rules::smtp(domain),
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
        &Rules::smtp(domain),
        host,
        &bases,
        &[denial.clone(), tlsa(Security::Secure, vec![ee.clone()])],
    ) {
        TlsaStep::Decided(HostPolicy::Dane { base, .. }) => assert_eq!(base, host),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        tlsa_step(
            &Rules::smtp(domain),
            host,
            &bases,
            &[denial.clone(), denial.clone()]
        ),
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
            &Rules::smtp(domain),
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
        match tlsa_step(
            &Rules::smtp(domain),
            host,
            &bases,
            &[tlsa(security, vec![ee.clone()])],
        ) {
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
        pkix: Pkix::NotEvaluated,
    };
    let ee = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
    let ta = golden(CertUsage::DaneTa, "intermediate-ca.pem", 1, 1);

    let v = endpoint_verdict(
        &Rules::smtp("example.test"),
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
        &Rules::smtp("example.test"),
        host,
        &dane_policy(host, vec![spare.clone(), ee.clone()]),
        &tls(&rsa),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Verified);

    // The certificate rolled over and the TLSA record did not follow: the outage.
    let v = endpoint_verdict(
        &Rules::smtp("example.test"),
        host,
        &dane_policy(host, vec![ee.clone()]),
        &tls(&ec),
        now(),
    );
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
        &Rules::smtp("example.test"),
        host,
        &dane_policy(host, vec![ta.clone()]),
        &tls(&rsa),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Verified, "{}", v.verdict.reason);
    // ... but not for a host whose names the leaf does not carry.
    let other = "mx9.other.test.";
    let policy = match tlsa_step(
        &Rules::smtp("other.test"),
        other,
        &[other.to_owned()],
        &[tlsa(Security::Secure, vec![ta.clone()])],
    ) {
        TlsaStep::Decided(p) => p,
        p => panic!("{p:?}"),
    };
    let v = endpoint_verdict(
        &Rules::smtp("example.test"),
        other,
        &policy,
        &tls(&rsa),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Failed, "{}", v.verdict.reason);

    // An expired leaf passes DANE-EE (no dates) and fails DANE-TA (RFC 7671 5.1, 5.2).
    let expired = chain("chain-expired.pem");
    let expired_host = "expired.example.test.";
    let ee_expired = golden(CertUsage::DaneEe, "leaf-expired.pem", 1, 1);
    let v = endpoint_verdict(
        &Rules::smtp("example.test"),
        expired_host,
        &dane_policy(expired_host, vec![ee_expired]),
        &tls(&expired),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Verified, "{}", v.verdict.reason);
    let v = endpoint_verdict(
        &Rules::smtp("example.test"),
        expired_host,
        &dane_policy(expired_host, vec![ta.clone()]),
        &tls(&expired),
        now(),
    );
    assert_eq!(v.verdict.status, Status::Failed, "{}", v.verdict.reason);

    // PKIX usages only: TLS mandatory but unauthenticated.
    let pkix = golden(CertUsage::PkixEe, "leaf-rsa.pem", 1, 1);
    let v = endpoint_verdict(
        &Rules::smtp("example.test"),
        host,
        &dane_policy(host, vec![pkix]),
        &tls(&rsa),
        now(),
    );
    assert_eq!(v.verdict.status, Status::UnauthenticatedTls);
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
    let v = endpoint_verdict(
        &Rules::smtp("example.test"),
        host,
        &dane_policy(host, vec![short.clone()]),
        &tls(&rsa),
        now(),
    );
    assert_eq!(v.verdict.status, Status::UnauthenticatedTls);
    // ... and without STARTTLS it is a downgrade all the same.
    let v = endpoint_verdict(
        &Rules::smtp("example.test"),
        host,
        &dane_policy(host, vec![short]),
        &Probe::Failed {
            failure: ProbeFailure::StarttlsNotOffered,
            detail: "no STARTTLS".into(),
        },
        now(),
    );
    assert_eq!(v.verdict.status, Status::Failed);
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
        (ProbeFailure::Rejected, Status::Indeterminate),
        (ProbeFailure::TlsUnsupported, Status::Indeterminate),
    ];
    for (failure, status) in table {
        let probe = Probe::Failed {
            failure,
            detail: format!("{failure:?} happened"),
        };
        let v = endpoint_verdict(&Rules::smtp("example.test"), host, &dane, &probe, now());
        assert_eq!(v.verdict.status, status, "{failure:?}");
        assert!(
            v.verdict.reason.contains("happened"),
            "{}",
            v.verdict.reason
        );
        assert!(v.matched.is_none());
        // Without DANE nothing is required: not protected, whatever the probe saw.
        let v = endpoint_verdict(&Rules::smtp("example.test"), host, &no_dane, &probe, now());
        assert_eq!(v.verdict.status, Status::NotProtected, "{failure:?}");
        assert!(v.verdict.reason.contains("not DNSSEC-signed"));
    }
    let unusable = HostPolicy::Unusable {
        verdict: dane_check::Verdict::new(Status::Failed, "TLSA bogus"),
    };
    let v = endpoint_verdict(
        &Rules::smtp("example.test"),
        host,
        &unusable,
        &Probe::Tls {
            chain: chain("chain-rsa.pem"),
            pkix: Pkix::NotEvaluated,
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
    let good = endpoint_verdict(
        &Rules::smtp("example.test"),
        host,
        &dane,
        &Probe::Tls {
            chain: rsa,
            pkix: Pkix::NotEvaluated,
        },
        now(),
    )
    .verdict;
    let down = endpoint_verdict(
        &Rules::smtp("example.test"),
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

// ---------------------------------------------------------------------------------------
// The engine over in-memory DNS and probe sources.

mod engine {
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use dane_check::Status;
    use dane_check::dns::{Answer, Lookup, Mx, Security, Srv};
    use dane_check::engine::{Dns, Family, Options, ProbeRequest, ProbeResult, Prober, verify};
    use dane_check::host::{Probe, ProbeFailure};
    use dane_check::report::{CertInfo, DomainVerdict};
    use dane_check::service::SMTP;
    use dane_probe::{KeyFamily, Protocol};
    use dane_tlsa::Pkix;
    use dane_tlsa::{CertUsage, TlsaRecord};

    use super::{addr, bogus, chain, golden, mx, now};

    #[derive(Default)]
    struct FakeDns {
        mx: HashMap<String, Lookup<Mx>>,
        a: HashMap<String, Lookup<IpAddr>>,
        aaaa: HashMap<String, Lookup<IpAddr>>,
        tlsa: HashMap<String, Lookup<TlsaRecord>>,
        srv: HashMap<String, Lookup<Srv>>,
        servers: HashMap<String, Result<dane_check::servers::ServerViews, String>>,
        mx_servers: HashMap<String, Result<dane_check::servers::ServerViews<Mx>, String>>,
        address_servers: HashMap<
            (String, &'static str),
            Result<dane_check::servers::ServerViews<IpAddr>, String>,
        >,
        asked: std::sync::Mutex<Vec<String>>,
    }

    fn missing<T>(name: &str) -> Lookup<T> {
        Lookup {
            name: name.into(),
            canonical: name.into(),
            security: Security::Indeterminate {
                reason: format!("the fake has no answer for {name}"),
            },
            answer: Answer::NoData,
            expires: None,
            inception: None,
            dnssec_warnings: Vec::new(),
        }
    }

    fn found<T: Clone>(map: &HashMap<String, Lookup<T>>, name: &str) -> Lookup<T> {
        map.get(name).cloned().unwrap_or_else(|| missing(name))
    }

    impl Dns for FakeDns {
        async fn mx(&self, domain: &str) -> Lookup<Mx> {
            self.asked.lock().unwrap().push(format!("{domain} MX"));
            found(&self.mx, domain)
        }
        async fn addresses(&self, host: &str, family: Family) -> Lookup<IpAddr> {
            self.asked
                .lock()
                .unwrap()
                .push(format!("{host} {family:?}"));
            match family {
                Family::V4 => found(&self.a, host),
                Family::V6 => found(&self.aaaa, host),
            }
        }
        async fn tlsa(&self, owner: &str) -> Lookup<TlsaRecord> {
            self.asked.lock().unwrap().push(format!("{owner} TLSA"));
            found(&self.tlsa, owner)
        }
        async fn srv(&self, name: &str) -> Lookup<Srv> {
            self.asked.lock().unwrap().push(format!("{name} SRV"));
            found(&self.srv, name)
        }
        async fn tlsa_servers(
            &self,
            owner: &str,
        ) -> Option<Result<dane_check::servers::ServerViews, String>> {
            self.asked.lock().unwrap().push(format!("{owner} servers"));
            self.servers.get(owner).cloned()
        }
        async fn mx_servers(
            &self,
            domain: &str,
        ) -> Option<Result<dane_check::servers::ServerViews<Mx>, String>> {
            self.asked
                .lock()
                .unwrap()
                .push(format!("{domain} MX servers"));
            self.mx_servers.get(domain).cloned()
        }
        async fn address_servers(
            &self,
            host: &str,
            family: Family,
        ) -> Option<Result<dane_check::servers::ServerViews<IpAddr>, String>> {
            let rtype = match family {
                Family::V4 => "A",
                Family::V6 => "AAAA",
            };
            self.asked
                .lock()
                .unwrap()
                .push(format!("{host} {rtype} servers"));
            self.address_servers.get(&(host.to_owned(), rtype)).cloned()
        }
    }

    fn records<T>(name: &str, security: Security, records: Vec<T>) -> Lookup<T> {
        Lookup {
            name: name.into(),
            canonical: name.into(),
            security,
            answer: Answer::Records(records),
            expires: Some(1_900_000_000),
            inception: None,
            dnssec_warnings: Vec::new(),
        }
    }

    fn nodata<T>(name: &str) -> Lookup<T> {
        Lookup {
            name: name.into(),
            canonical: name.into(),
            security: Security::Secure,
            answer: Answer::NoData,
            expires: Some(1_900_000_000),
            inception: None,
            dnssec_warnings: Vec::new(),
        }
    }

    #[derive(Default)]
    struct FakeProber {
        servers: HashMap<IpAddr, ProbeResult>,
        in_flight: AtomicUsize,
        most: AtomicUsize,
        probes: AtomicUsize,
        snis: std::sync::Mutex<Vec<(IpAddr, String)>>,
        dialogues: std::sync::Mutex<Vec<(u16, Protocol)>>,
        /// What a probe offering only one family gets (by default: the server holds no
        /// certificate for it and ends the handshake).
        restricted: HashMap<(IpAddr, KeyFamily), ProbeResult>,
        restricted_probes: std::sync::Mutex<Vec<(IpAddr, KeyFamily)>>,
    }

    impl Prober for FakeProber {
        async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
            let address = request.address;
            if let Some(family) = request.offer {
                self.restricted_probes
                    .lock()
                    .unwrap()
                    .push((address, family));
                return self
                    .restricted
                    .get(&(address, family))
                    .cloned()
                    .unwrap_or_else(|| ProbeResult {
                        probe: Probe::Failed {
                            failure: ProbeFailure::TlsUnsupported,
                            detail: "the server answered with the handshake_failure alert".into(),
                        },
                        tls: None,
                        chain: vec![],
                        cached: false,
                    });
            }
            self.dialogues
                .lock()
                .unwrap()
                .push((request.port, request.protocol));
            self.snis
                .lock()
                .unwrap()
                .push((address, request.sni.clone()));
            self.probes.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.servers
                .get(&address)
                .cloned()
                .unwrap_or_else(|| ProbeResult {
                    probe: Probe::Failed {
                        failure: ProbeFailure::Unreachable,
                        detail: format!("connection to {address} refused"),
                    },
                    tls: None,
                    chain: vec![],
                    cached: false,
                })
        }
    }

    fn serving(file: &str, not_after: i64) -> ProbeResult {
        ProbeResult {
            probe: Probe::Tls {
                chain: chain(file),
                pkix: Pkix::NotEvaluated,
            },
            tls: None,
            chain: vec![CertInfo {
                subject: format!("CN={file}"),
                issuer: "CN=dane test intermediate".into(),
                sans: vec![],
                not_before: 0,
                not_after,
                key: "RSA 2048".into(),
                spki_sha256: String::new(),
            }],
            cached: false,
        }
    }

    const FAR: i64 = 2_000_000_000;

    /// The engine's options for these tests: the fake world lives on documentation
    /// addresses (192.0.2.0/24, 2001:db8::/32), which the default address policy refuses.
    fn options() -> Options {
        Options {
            address_policy: dane_resolver::AddressPolicy::AllowAll,
            ..Options::new(now())
        }
    }

    /// ARCHITECTURE.md invariant 9: by default, addresses that DNS names (MX hosts here) and
    /// that lie in special-purpose ranges are not probed; each is an endpoint of its own,
    /// indeterminate, saying why, and the domain is never verified. The operator's --host is
    /// probed wherever it points.
    #[tokio::test]
    async fn addresses_dns_points_at_private_ranges_are_reported_not_probed() {
        let (dns, prober) = world();
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let defaults = Options::new(now());
        let report = verify(
            dns.clone(),
            prober.clone(),
            "example.test",
            &SMTP,
            &defaults,
        )
        .await;
        assert_eq!(
            prober.probes.load(Ordering::SeqCst),
            0,
            "nothing was probed"
        );
        assert_ne!(report.verdict, DomainVerdict::Verified);
        assert_eq!(
            report.verdict,
            DomainVerdict::Indeterminate,
            "{}",
            report.reason
        );
        let endpoints: Vec<_> = report.hosts.iter().flat_map(|h| &h.endpoints).collect();
        assert_eq!(endpoints.len(), 3, "every address is reported");
        for e in &endpoints {
            assert_eq!(e.verdict.status, Status::Indeterminate);
            assert!(
                e.verdict.reason.contains("not probed"),
                "{}",
                e.verdict.reason
            );
            assert!(
                e.verdict.reason.contains("--allow-private"),
                "{}",
                e.verdict.reason
            );
        }
        assert!(
            endpoints[1]
                .verdict
                .reason
                .contains("2001:db8::/32 (documentation"),
            "{}",
            endpoints[1].verdict.reason
        );
        let host = Options {
            host: Some("mx1.example.test".into()),
            ..Options::new(now())
        };
        let report = verify(dns, prober.clone(), "example.test", &SMTP, &host).await;
        assert_eq!(
            prober.probes.load(Ordering::SeqCst),
            2,
            "--host is the operator's"
        );
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
    }

    /// example.test: MX 10 mx1 (192.0.2.1 and 2001:db8::1), MX 20 mx2 (a CNAME to
    /// real.hosting.test, TLSA only at the original name), all signed.
    fn world() -> (FakeDns, FakeProber) {
        let mut dns = FakeDns::default();
        let ee_rsa = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        let ee_ec = golden(CertUsage::DaneEe, "leaf-ec.pem", 1, 1);
        dns.mx.insert(
            "example.test.".into(),
            records(
                "example.test.",
                Security::Secure,
                vec![mx(20, "mx2.example.test."), mx(10, "mx1.example.test.")],
            ),
        );
        dns.a.insert(
            "mx1.example.test.".into(),
            records(
                "mx1.example.test.",
                Security::Secure,
                vec![addr("192.0.2.1")],
            ),
        );
        dns.aaaa.insert(
            "mx1.example.test.".into(),
            records(
                "mx1.example.test.",
                Security::Secure,
                vec![addr("2001:db8::1")],
            ),
        );
        dns.tlsa.insert(
            "_25._tcp.mx1.example.test.".into(),
            records(
                "_25._tcp.mx1.example.test.",
                Security::Secure,
                vec![ee_rsa.clone()],
            ),
        );
        let mut cname = records(
            "mx2.example.test.",
            Security::Secure,
            vec![addr("192.0.2.2")],
        );
        cname.canonical = "real.hosting.test.".into();
        dns.a.insert("mx2.example.test.".into(), cname);
        dns.aaaa
            .insert("mx2.example.test.".into(), nodata("mx2.example.test."));
        dns.tlsa.insert(
            "_25._tcp.real.hosting.test.".into(),
            nodata("_25._tcp.real.hosting.test."),
        );
        dns.tlsa.insert(
            "_25._tcp.mx2.example.test.".into(),
            records(
                "_25._tcp.mx2.example.test.",
                Security::Secure,
                vec![ee_ec.clone(), ee_rsa],
            ),
        );
        let mut prober = FakeProber::default();
        prober
            .servers
            .insert(addr("192.0.2.1"), serving("chain-rsa.pem", FAR));
        prober
            .servers
            .insert(addr("2001:db8::1"), serving("chain-rsa.pem", FAR));
        prober
            .servers
            .insert(addr("192.0.2.2"), serving("chain-ec.pem", FAR));
        (dns, prober)
    }

    async fn run(
        dns: FakeDns,
        prober: FakeProber,
    ) -> (dane_check::report::Report, Arc<FakeDns>, Arc<FakeProber>) {
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let report = verify(
            dns.clone(),
            prober.clone(),
            "Example.Test",
            &SMTP,
            &options(),
        )
        .await;
        (report, dns, prober)
    }

    #[tokio::test]
    async fn every_host_and_every_address_verified() {
        let (dns, prober) = world();
        let (report, dns, prober) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        let names: Vec<_> = report.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["mx1.example.test.", "mx2.example.test."]);
        assert_eq!(report.hosts[0].endpoints.len(), 2);
        assert_eq!(report.hosts[1].endpoints.len(), 1);
        // mx2: the expanded name had securely no TLSA, so the original name is the base.
        let tlsa = report.hosts[1].tlsa.as_ref().unwrap();
        assert_eq!(tlsa.base.as_deref(), Some("mx2.example.test."));
        assert_eq!(tlsa.lookups.len(), 2);
        // SNI is the TLSA base domain (RFC 7672 8.1).
        let snis = prober.snis.lock().unwrap().clone();
        assert!(
            snis.contains(&(addr("192.0.2.2"), "mx2.example.test".into())),
            "{snis:?}"
        );
        let asked = dns.asked.lock().unwrap().clone();
        assert_eq!(
            asked.iter().filter(|q| q.ends_with("TLSA")).count(),
            3,
            "{asked:?}"
        );
        // mx1 has a single record: the no-spare advice, once for the host (its two
        // addresses share the record set), naming the host.
        let spares: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| w.code == "no-spare-record")
            .collect();
        assert_eq!(spares.len(), 1, "{:?}", report.warnings);
        assert!(spares[0].is_advice());
        assert!(
            spares[0]
                .message
                .starts_with("mx1.example.test.: only one TLSA record"),
            "{}",
            spares[0].message
        );
    }

    #[tokio::test]
    async fn one_address_with_the_wrong_certificate_is_partial() {
        let (dns, mut prober) = world();
        prober
            .servers
            .insert(addr("2001:db8::1"), serving("chain-ed25519.pem", FAR));
        let (report, _, _) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Partial, "{}", report.reason);
        assert_eq!(report.verdict.status(), Status::Failed);
        assert!(
            report.reason.contains("mx1.example.test."),
            "{}",
            report.reason
        );
        let mx1 = &report.hosts[0];
        assert_eq!(mx1.endpoints[0].verdict.status, Status::Verified);
        assert_eq!(mx1.endpoints[1].verdict.status, Status::Failed);
        assert_eq!(mx1.verdict.status, Status::Failed);
    }

    /// mx1's first address holds an RSA chain (the usual offer's) and an ECDSA one (for
    /// senders that offer only ECDSA); its TLSA set has the RSA key's `3 1 1` only.
    fn two_certificates() -> (FakeDns, FakeProber) {
        let (dns, mut prober) = world();
        prober.restricted.insert(
            (addr("192.0.2.1"), KeyFamily::Ecdsa),
            serving("chain-ec.pem", FAR),
        );
        prober.restricted.insert(
            (addr("192.0.2.1"), KeyFamily::Eddsa),
            serving("chain-rsa.pem", FAR),
        );
        (dns, prober)
    }

    #[tokio::test]
    async fn a_second_certificate_without_its_record_is_partial_and_says_for_whom() {
        let (dns, prober) = two_certificates();
        let (report, _, prober) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Partial, "{}", report.reason);
        let mx1 = &report.hosts[0];
        // 192.0.2.1 twice (RSA, ECDSA), then 2001:db8::1 (RSA only).
        let rows: Vec<_> = mx1
            .endpoints
            .iter()
            .map(|e| {
                (
                    e.address.to_string(),
                    e.algorithm.clone().unwrap(),
                    e.offered.clone(),
                    e.verdict.status,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("192.0.2.1".into(), "rsa".into(), None, Status::Verified),
                (
                    "192.0.2.1".into(),
                    "ecdsa".into(),
                    Some("ecdsa".into()),
                    Status::Failed
                ),
                ("2001:db8::1".into(), "rsa".into(), None, Status::Verified),
            ]
        );
        let failed = &mx1.endpoints[1];
        assert!(
            failed
                .verdict
                .reason
                .starts_with("mx1.example.test. 192.0.2.1:25 (ECDSA certificate): "),
            "{}",
            failed.verdict.reason
        );
        assert!(
            failed
                .verdict
                .reason
                .ends_with("senders that do DANE and negotiate ECDSA will not deliver here"),
            "{}",
            failed.verdict.reason
        );
        assert!(
            report.reason.starts_with("1 of 4 endpoints fail: "),
            "{}",
            report.reason
        );
        assert!(
            report.reason.contains("negotiate ECDSA"),
            "{}",
            report.reason
        );
        // The verified chain at the same address names its algorithm too.
        assert!(
            mx1.endpoints[0]
                .verdict
                .reason
                .contains("(RSA certificate)")
                || !mx1.endpoints[0].verdict.reason.contains("192.0.2.1"),
            "{}",
            mx1.endpoints[0].verdict.reason
        );
        // What each restricted offer found, on the endpoint of the usual offer.
        let offers: Vec<_> = mx1.endpoints[0]
            .other_offers
            .iter()
            .map(|o| (o.offered, o.found))
            .collect();
        assert_eq!(offers, [("ecdsa", "other-chain"), ("eddsa", "same-chain")]);
        let v6: Vec<_> = mx1.endpoints[2]
            .other_offers
            .iter()
            .map(|o| (o.offered, o.found))
            .collect();
        assert_eq!(v6, [("ecdsa", "no-chain"), ("eddsa", "no-chain")]);
        // The fix: the key the server presents, and the record it would need.
        let ec_spki = golden(CertUsage::DaneEe, "leaf-ec.pem", 1, 1);
        let fix = failed.fix.as_deref().unwrap();
        assert!(
            fix.starts_with(&format!("server presents {}", ec_spki.presentation())),
            "{fix}"
        );
        assert!(
            fix.ends_with(": publish that, or deploy the key of record 1"),
            "{fix}"
        );
        assert!(
            failed.publish.contains(&format!(
                "_25._tcp.mx1.example.test. IN TLSA {}",
                ec_spki.presentation()
            )),
            "{:?}",
            failed.publish
        );
        assert!(mx1.endpoints[0].fix.is_none() && mx1.endpoints[0].publish.is_empty());
        // Every address with a chain was probed again for the other families: the leaf
        // of the usual offer is RSA, so ECDSA and EdDSA.
        let restricted = prober.restricted_probes.lock().unwrap().clone();
        assert_eq!(
            restricted
                .iter()
                .filter(|(a, _)| *a == addr("192.0.2.1"))
                .map(|(_, f)| *f)
                .collect::<Vec<_>>(),
            [KeyFamily::Ecdsa, KeyFamily::Eddsa]
        );
        // The warnings name the algorithm of an endpoint that shares its address.
        let json = serde_json::to_value(&report).unwrap();
        let e = &json["hosts"][0]["endpoints"][1];
        assert_eq!(e["algorithm"], "ecdsa");
        assert_eq!(e["offered"], "ecdsa");
        assert!(e["fix"].as_str().unwrap().contains("publish that"));
    }

    #[tokio::test]
    async fn records_for_both_certificates_verify() {
        let (mut dns, prober) = two_certificates();
        let both = vec![
            golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1),
            golden(CertUsage::DaneEe, "leaf-ec.pem", 1, 1),
        ];
        dns.tlsa.insert(
            "_25._tcp.mx1.example.test.".into(),
            records("_25._tcp.mx1.example.test.", Security::Secure, both),
        );
        let (report, _, _) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        assert_eq!(report.hosts[0].endpoints.len(), 3);
        assert!(
            report.reason.starts_with("all 4 endpoints authenticate"),
            "{}",
            report.reason
        );
    }

    #[tokio::test]
    async fn more_than_twelve_tlsa_records_warn() {
        let rsa = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        let set = |n: usize| {
            let mut records = vec![rsa.clone()];
            for i in 1..n {
                records.push(format!("3 1 1 {:064x}", i).parse::<TlsaRecord>().unwrap());
            }
            records
        };
        for (n, warns) in [(12, false), (13, true)] {
            let (mut dns, prober) = world();
            dns.tlsa.insert(
                "_25._tcp.mx1.example.test.".into(),
                records("_25._tcp.mx1.example.test.", Security::Secure, set(n)),
            );
            let (report, _, _) = run(dns, prober).await;
            assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
            let w: Vec<_> = report
                .warnings
                .iter()
                .filter(|w| w.code == "too-many-records")
                .collect();
            assert_eq!(w.len(), usize::from(warns), "{n}: {:?}", report.warnings);
            if warns {
                assert!(
                    w[0].message.starts_with(
                        "mx1.example.test.: 13 TLSA records at _25._tcp.mx1.example.test.: "
                    ),
                    "{}",
                    w[0].message
                );
            }
        }
    }

    /// issue 23: a `2 1 1` for Let's Encrypt's YE1 (real SPKI digest from
    /// data/ca-families.json) beside the `3 1 1` that matches: verified, with an
    /// `issuer-family` warning carrying the zone lines of YE2 and YE3; in JSON as
    /// `warnings[].records`. With the whole family published there is no warning.
    #[tokio::test]
    async fn a_2_1_1_pinned_to_one_issuer_of_a_family_warns() {
        let families = dane_tlsa::CaFamilies::embedded();
        let ye = families
            .families()
            .iter()
            .find(|f| f.id == "letsencrypt-y-ecdsa")
            .unwrap();
        let pin = |n: usize| -> Vec<TlsaRecord> {
            let mut set = vec![golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1)];
            set.extend(
                ye.members[..n]
                    .iter()
                    .map(|m| m.record(dane_tlsa::Selector::Spki)),
            );
            set
        };
        let (mut dns, prober) = world();
        dns.tlsa.insert(
            "_25._tcp.mx1.example.test.".into(),
            records("_25._tcp.mx1.example.test.", Security::Secure, pin(1)),
        );
        let (report, _, _) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        let w: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| w.code == "issuer-family")
            .collect();
        assert_eq!(w.len(), 1, "{:?}", report.warnings);
        assert!(
            w[0].message
                .contains("DANE-TA pins YE1 of Let's Encrypt's Generation Y (ECDSA)"),
            "{}",
            w[0].message
        );
        let lines: Vec<String> = ye.members[1..]
            .iter()
            .map(|m| {
                format!(
                    "_25._tcp.mx1.example.test. IN TLSA {}",
                    m.record(dane_tlsa::Selector::Spki)
                )
            })
            .collect();
        assert_eq!(w[0].records, lines);
        let json = serde_json::to_value(&report).unwrap();
        let jw = json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["code"] == "issuer-family")
            .unwrap();
        assert_eq!(jw["records"][1], lines[1].as_str());

        let (mut dns, prober) = world();
        dns.tlsa.insert(
            "_25._tcp.mx1.example.test.".into(),
            records("_25._tcp.mx1.example.test.", Security::Secure, pin(3)),
        );
        let (report, _, _) = run(dns, prober).await;
        assert!(
            !report.warnings.iter().any(|w| w.code == "issuer-family"),
            "{:?}",
            report.warnings
        );
    }

    #[tokio::test]
    async fn without_all_certs_one_probe_per_address() {
        let (dns, prober) = two_certificates();
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let options = Options {
            all_certs: false,
            ..options()
        };
        let report = verify(dns, prober.clone(), "example.test", &SMTP, &options).await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        assert!(prober.restricted_probes.lock().unwrap().is_empty());
        assert!(
            report
                .hosts
                .iter()
                .flat_map(|h| &h.endpoints)
                .all(|e| e.other_offers.is_empty() && e.offered.is_none())
        );
    }

    #[tokio::test]
    async fn a_restricted_probe_without_an_answer_warns() {
        let (dns, mut prober) = world();
        prober.restricted.insert(
            (addr("192.0.2.2"), KeyFamily::Rsa),
            ProbeResult {
                probe: Probe::Failed {
                    failure: ProbeFailure::Timeout,
                    detail: "timed out in the TLS handshake".into(),
                },
                tls: None,
                chain: vec![],
                cached: false,
            },
        );
        // A handshake that fails otherwise than for want of a certificate (here: the
        // signature does not verify with the key of the certificate for that family) is no
        // "no certificate" either.
        prober.restricted.insert(
            (addr("192.0.2.2"), KeyFamily::Eddsa),
            ProbeResult {
                probe: Probe::Failed {
                    failure: ProbeFailure::TlsFailed,
                    detail: "the server's handshake signature does not verify".into(),
                },
                tls: None,
                chain: vec![],
                cached: false,
            },
        );
        let (report, _, _) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        let w: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| w.code == "algorithm-probe-failed")
            .collect();
        assert_eq!(w.len(), 2, "{:?}", report.warnings);
        assert!(
            w[0].message.contains(
                "only EdDSA signature algorithms failed (the server's handshake signature"
            ),
            "{}",
            w[0].message
        );
        let w = &w[1..];
        assert!(
            w[0].message.starts_with(
                "mx2.example.test. 192.0.2.2:25: the probe offering only RSA signature algorithms failed (timed out"
            ),
            "{}",
            w[0].message
        );
    }

    #[tokio::test]
    async fn bogus_tlsa_makes_the_host_fail_without_probing_it() {
        let (mut dns, prober) = world();
        let ee = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        dns.tlsa.insert(
            "_25._tcp.mx1.example.test.".into(),
            records("_25._tcp.mx1.example.test.", bogus(), vec![ee]),
        );
        let (report, _, prober) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Partial, "{}", report.reason);
        assert!(report.hosts[0].endpoints.is_empty());
        assert!(report.hosts[0].verdict.reason.contains("bogus"));
        assert_eq!(prober.probes.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn insecure_mx_is_not_protected_and_mx_failures_fail() {
        let (mut dns, prober) = world();
        let mut mxs = dns.mx["example.test."].clone();
        mxs.security = Security::Insecure;
        dns.mx.insert("example.test.".into(), mxs);
        let (report, dns_used, _) = run(dns, prober).await;
        assert_eq!(
            report.verdict,
            DomainVerdict::NotProtected,
            "{}",
            report.reason
        );
        assert!(
            report.reason.contains("MX RRset is not DNSSEC-signed"),
            "{}",
            report.reason
        );
        assert!(
            !dns_used
                .asked
                .lock()
                .unwrap()
                .iter()
                .any(|q| q.ends_with("TLSA")),
            "no TLSA lookups under an insecure MX"
        );

        for (security, expected) in [
            (bogus(), DomainVerdict::Failed),
            (
                Security::Indeterminate {
                    reason: "timeout".into(),
                },
                DomainVerdict::Indeterminate,
            ),
        ] {
            let (mut dns, prober) = world();
            let mut mxs = dns.mx["example.test."].clone();
            mxs.security = security;
            dns.mx.insert("example.test.".into(), mxs);
            let (report, _, prober) = run(dns, prober).await;
            assert_eq!(report.verdict, expected, "{}", report.reason);
            assert!(report.hosts.is_empty());
            assert_eq!(prober.probes.load(Ordering::SeqCst), 0);
        }
    }

    #[tokio::test]
    async fn null_mx_and_nxdomain_are_nonexistent() {
        for answer in [Answer::Records(vec![mx(0, ".")]), Answer::NxDomain] {
            let (mut dns, prober) = world();
            dns.mx.insert(
                "example.test.".into(),
                Lookup {
                    name: "example.test.".into(),
                    canonical: "example.test.".into(),
                    security: Security::Secure,
                    answer,
                    expires: None,
                    inception: None,
                    dnssec_warnings: Vec::new(),
                },
            );
            let (report, _, _) = run(dns, prober).await;
            assert_eq!(
                report.verdict,
                DomainVerdict::Nonexistent,
                "{}",
                report.reason
            );
        }
    }

    #[tokio::test]
    async fn starttls_missing_under_tlsa_fails_and_unreachable_is_indeterminate() {
        let (dns, mut prober) = world();
        prober.servers.insert(
            addr("192.0.2.2"),
            ProbeResult {
                probe: Probe::Failed {
                    failure: ProbeFailure::StarttlsNotOffered,
                    detail: "STARTTLS not in the EHLO reply".into(),
                },
                tls: None,
                chain: vec![],
                cached: false,
            },
        );
        let (report, _, _) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Partial);
        assert!(report.reason.contains("STARTTLS"), "{}", report.reason);

        let (dns, mut prober) = world();
        prober.servers.remove(&addr("2001:db8::1"));
        let (report, _, _) = run(dns, prober).await;
        assert_eq!(
            report.verdict,
            DomainVerdict::Indeterminate,
            "{}",
            report.reason
        );
        assert!(report.reason.contains("refused"), "{}", report.reason);
    }

    /// The validator's `weak-key` warning (an RSA key under 1024 bits verified part of the
    /// chain) reaches the report once, whichever lookups met the key.
    #[tokio::test]
    async fn weak_keys_warn_once() {
        let (mut dns, prober) = world();
        let weak = dane_dnssec::Warning {
            code: dane_dnssec::WarningCode::WeakKey,
            zone: "example.test.".into(),
            key_tag: 4711,
            key_bits: 512,
            detail: "example.test. key 4711 (RSASHA256) is a 512-bit RSA key".into(),
        };
        let mut a = dns.a["mx1.example.test."].clone();
        a.dnssec_warnings = vec![weak.clone(), weak];
        dns.a.insert("mx1.example.test.".into(), a);
        let (report, _, _) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Verified);
        let weak: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| w.code == "weak-key")
            .collect();
        assert_eq!(weak.len(), 1, "{:?}", report.warnings);
        assert!(weak[0].message.contains("512-bit"), "{:?}", weak[0]);
    }

    #[tokio::test]
    async fn expiring_certificates_and_signatures_warn() {
        let (mut dns, mut prober) = world();
        let soon = i64::try_from(now().as_secs()).unwrap() + 5 * 86_400;
        prober
            .servers
            .insert(addr("192.0.2.1"), serving("chain-rsa.pem", soon));
        let mut a = dns.a["mx1.example.test."].clone();
        a.expires = Some(now().as_secs() + 86_400);
        dns.a.insert("mx1.example.test.".into(), a);
        let (report, _, _) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Verified);
        let codes: Vec<_> = report.warnings.iter().map(|w| w.code).collect();
        // DANE-EE: the certificate's expiry is advice (RFC 7671 5.1 checks no dates).
        assert!(codes.contains(&"certificate-expires-info"), "{codes:?}");
        assert!(codes.contains(&"rrsig-expires"), "{codes:?}");
        let cert = report
            .warnings
            .iter()
            .find(|w| w.code == "certificate-expires-info")
            .unwrap();
        assert!(cert.message.contains("informational"), "{}", cert.message);
        assert!(cert.is_advice() && !cert.counts(true), "{cert:?}");
    }

    #[tokio::test]
    async fn probes_are_bounded_and_the_order_is_stable() {
        let mut dns = FakeDns::default();
        let mut prober = FakeProber::default();
        let ee = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        let mut mxs = Vec::new();
        for i in 0..40u8 {
            let host = format!("mx{i}.example.test.");
            mxs.push(mx(u16::from(i), &host));
            let ip: IpAddr = format!("192.0.2.{i}").parse().unwrap();
            dns.a
                .insert(host.clone(), records(&host, Security::Secure, vec![ip]));
            dns.aaaa.insert(host.clone(), nodata(&host));
            let owner = format!("_25._tcp.{host}");
            dns.tlsa.insert(
                owner.clone(),
                records(&owner, Security::Secure, vec![ee.clone()]),
            );
            prober.servers.insert(ip, serving("chain-rsa.pem", FAR));
        }
        mxs.reverse();
        dns.mx.insert(
            "example.test.".into(),
            records("example.test.", Security::Secure, mxs),
        );
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let mut options = options();
        options.concurrency = 4;
        let report = verify(dns, prober.clone(), "example.test", &SMTP, &options).await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        assert_eq!(prober.probes.load(Ordering::SeqCst), 40);
        assert!(prober.most.load(Ordering::SeqCst) <= 4);
        let order: Vec<_> = report.hosts.iter().map(|h| h.preference.unwrap()).collect();
        assert_eq!(order, (0..40).collect::<Vec<u16>>());
    }

    #[tokio::test]
    async fn the_report_serialises_with_the_documented_top_level_fields() {
        let (dns, prober) = world();
        let (report, _, _) = run(dns, prober).await;
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["verdict"], "verified");
        assert_eq!(json["domain"], "example.test.");
        assert_eq!(
            json["hosts"][0]["endpoints"][0]["verdict"]["status"],
            "verified"
        );
        assert_eq!(json["hosts"][0]["addresses"][1]["type"], "AAAA");
        assert_eq!(
            json["hosts"][0]["addresses"][0]["security"]["status"],
            "secure"
        );
        assert_eq!(json["mx_plan"]["kind"], "hosts");
    }

    #[tokio::test]
    async fn one_host_with_host_option_skips_mx() {
        let (dns, prober) = world();
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let mut options = options();
        options.host = Some("MX1.example.test".into());
        options.families = vec![Family::V4];
        let report = verify(dns.clone(), prober, "example.test", &SMTP, &options).await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        assert!(report.mx.is_none());
        assert_eq!(report.hosts.len(), 1);
        assert_eq!(report.hosts[0].endpoints.len(), 1);
        assert!(!dns.asked.lock().unwrap().iter().any(|q| q.ends_with(" MX")));
    }

    #[tokio::test]
    async fn rollover_candidate_certificate_without_connecting() {
        use dane_check::host::Candidate;
        let (dns, prober) = world();
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let mut options = options();
        // The next certificate is the ECDSA one: mx2 publishes its record, mx1 does not.
        options.candidate = Some(Candidate::Chain(chain("chain-ec.pem")));
        let report = verify(dns, prober.clone(), "example.test", &SMTP, &options).await;
        assert_eq!(
            prober.probes.load(Ordering::SeqCst),
            0,
            "no connection needed"
        );
        assert_eq!(report.verdict, DomainVerdict::Partial, "{}", report.reason);
        let mx1 = report.hosts[0].candidate.as_ref().unwrap();
        assert_eq!(mx1.verdict.status, Status::Failed);
        assert!(
            mx1.verdict.reason.contains("publish its TLSA record"),
            "{}",
            mx1.verdict.reason
        );
        // What to publish at mx1, as `dane tlsa generate --recommended --cert chain-ec.pem
        // --name mx1.example.test` prints it: the leaf's 3 1 1 and its issuer's 2 1 1.
        let expected: Vec<String> = dane_tlsa::recommended(&chain("chain-ec.pem"))
            .unwrap()
            .iter()
            .map(|r| format!("_25._tcp.mx1.example.test. IN TLSA {r}"))
            .collect();
        assert_eq!(expected.len(), 2);
        assert_eq!(mx1.publish, expected);
        assert!(
            mx1.publish[0].contains(" IN TLSA 3 1 1 "),
            "{:?}",
            mx1.publish
        );
        assert!(
            mx1.publish[1].contains(" IN TLSA 2 1 1 "),
            "{:?}",
            mx1.publish
        );
        let mx2 = report.hosts[1].candidate.as_ref().unwrap();
        assert_eq!(
            mx2.verdict.status,
            Status::Verified,
            "{}",
            mx2.verdict.reason
        );
        assert!(mx2.publish.is_empty(), "accepted: nothing to publish");
        // The counts say what was judged: candidates, not endpoints.
        assert!(
            report.reason.starts_with("1 of 2 candidates fail: "),
            "{}",
            report.reason
        );
        assert!(report.rollover_ready.is_none());
    }

    #[tokio::test]
    async fn rollover_candidate_key_says_which_record_to_publish() {
        use dane_check::host::Candidate;
        let next =
            dane_tlsa::parse_csr(&std::fs::read(format!("{}/next.csr", super::PKI)).unwrap())
                .unwrap();
        let (dns, _) = world();
        let mut options = options();
        options.candidate = Some(Candidate::Key(next.clone()));
        let report = verify(
            Arc::new(dns),
            Arc::new(FakeProber::default()),
            "example.test",
            &SMTP,
            &options,
        )
        .await;
        let digest = dane_tlsa::associate(next.as_der(), dane_tlsa::MatchingType::Sha256).unwrap();
        let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
        for (h, owner) in report
            .hosts
            .iter()
            .zip(["_25._tcp.mx1.example.test.", "_25._tcp.mx2.example.test."])
        {
            let c = h.candidate.as_ref().unwrap();
            assert_eq!(
                c.publish,
                [format!("{owner} IN TLSA 3 1 1 {hex}")],
                "{}",
                h.name
            );
        }
    }

    /// RFC 4034 6.3: the same RRset in any order gives the same report (record numbers,
    /// match reports, reasons), so nothing flaps between runs.
    #[tokio::test]
    async fn tlsa_records_are_reported_in_canonical_order() {
        let ee_rsa = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        let ee_ec = golden(CertUsage::DaneEe, "leaf-ec.pem", 1, 1);
        let ta = golden(CertUsage::DaneTa, "root-ca.pem", 1, 1);
        let mut reports = Vec::new();
        for order in [
            vec![ee_rsa.clone(), ee_ec.clone(), ta.clone()],
            vec![ta.clone(), ee_ec.clone(), ee_rsa.clone()],
            vec![ee_ec.clone(), ta.clone(), ee_rsa.clone(), ee_ec.clone()],
        ] {
            let (mut dns, prober) = world();
            dns.tlsa.insert(
                "_25._tcp.mx1.example.test.".into(),
                records("_25._tcp.mx1.example.test.", Security::Secure, order),
            );
            reports.push(run(dns, prober).await.0);
        }
        let mut expected = [ee_rsa, ee_ec, ta];
        expected.sort_by_key(TlsaRecord::to_rdata);
        let mx1 = &reports[0].hosts[0];
        assert_eq!(
            mx1.tlsa.as_ref().unwrap().lookups[0].records(),
            &expected[..]
        );
        let m = mx1.endpoints[0].tlsa_match.as_ref().unwrap();
        let order: Vec<&TlsaRecord> = m.records.iter().map(|o| &o.record).collect();
        assert_eq!(order, expected.iter().collect::<Vec<_>>());
        assert_eq!(reports[0], reports[1]);
        assert_eq!(reports[0], reports[2]);
    }

    #[tokio::test]
    async fn rollover_candidate_key_from_a_csr() {
        use dane_check::host::Candidate;
        let next =
            dane_tlsa::parse_csr(&std::fs::read(format!("{}/next.csr", super::PKI)).unwrap())
                .unwrap();
        let (mut dns, prober) = world();
        let (dns_plain, _) = world();
        let mut options = options();
        options.candidate = Some(Candidate::Key(next.clone()));
        let report = verify(
            Arc::new(dns_plain),
            Arc::new(FakeProber::default()),
            "example.test",
            &SMTP,
            &options,
        )
        .await;
        assert_eq!(report.verdict, DomainVerdict::Failed, "{}", report.reason);
        // Publish the next key's 3 1 1 beside the current one at both hosts.
        let next_311: TlsaRecord = format!(
            "3 1 1 {}",
            dane_tlsa::associate(next.as_der(), dane_tlsa::MatchingType::Sha256)
                .unwrap()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
        .parse()
        .unwrap();
        for owner in ["_25._tcp.mx1.example.test.", "_25._tcp.mx2.example.test."] {
            let mut l = dns.tlsa[owner].clone();
            if let Answer::Records(r) = &mut l.answer {
                r.push(next_311.clone());
            }
            dns.tlsa.insert(owner.into(), l);
        }
        let report = verify(
            Arc::new(dns),
            Arc::new(prober),
            "example.test",
            &SMTP,
            &options,
        )
        .await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
    }

    #[tokio::test]
    async fn rollover_ready_needs_the_candidate_set_to_cover_current_and_next() {
        use dane_check::host::Candidate;
        let rsa = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        let ec = golden(CertUsage::DaneEe, "leaf-ec.pem", 1, 1);
        let run_with = |set: Vec<(Option<String>, TlsaRecord)>| async move {
            let (dns, mut prober) = world();
            // Both hosts serve the RSA chain today; the next certificate is the ECDSA one.
            prober
                .servers
                .insert(addr("192.0.2.2"), serving("chain-rsa.pem", FAR));
            let mut options = options();
            options.candidate = Some(Candidate::Chain(chain("chain-ec.pem")));
            options.tlsa_override = Some(set);
            verify(
                Arc::new(dns),
                Arc::new(prober),
                "example.test",
                &SMTP,
                &options,
            )
            .await
        };
        let report = run_with(vec![(None, rsa.clone()), (None, ec.clone())]).await;
        assert_eq!(report.rollover_ready, Some(true), "{}", report.reason);
        assert_eq!(report.verdict, DomainVerdict::Verified);
        assert_eq!(report.hosts[0].tlsa.as_ref().unwrap().source, "file");

        let report = run_with(vec![(None, rsa.clone())]).await;
        assert_eq!(report.rollover_ready, Some(false));
        assert_eq!(report.verdict, DomainVerdict::Partial, "{}", report.reason);

        // Records with an owner apply to that owner only: mx2 has none, so no DANE there.
        let report = run_with(vec![
            (Some("_25._tcp.MX1.example.test".into()), rsa),
            (Some("_25._tcp.mx1.example.test.".into()), ec),
        ])
        .await;
        assert!(report.hosts[1].no_dane.is_some());
        assert_eq!(report.rollover_ready, Some(true), "{}", report.reason);
    }

    #[tokio::test]
    async fn warnings_for_an_unsent_anchor_and_tlsa_that_differs_across_a_cname() {
        let (mut dns, prober) = world();
        let ee_rsa = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        let ee_ec = golden(CertUsage::DaneEe, "leaf-ec.pem", 1, 1);
        let root_ta = golden(CertUsage::DaneTa, "root-ca.pem", 1, 1);
        // mx1: the leaf's record and a DANE-TA record for the root, which it does not send.
        dns.tlsa.insert(
            "_25._tcp.mx1.example.test.".into(),
            records(
                "_25._tcp.mx1.example.test.",
                Security::Secure,
                vec![ee_rsa.clone(), root_ta],
            ),
        );
        // mx2 (CNAME to real.hosting.test): records at both names, and they differ.
        dns.tlsa.insert(
            "_25._tcp.real.hosting.test.".into(),
            records("_25._tcp.real.hosting.test.", Security::Secure, vec![ee_ec]),
        );
        dns.tlsa.insert(
            "_25._tcp.mx2.example.test.".into(),
            records("_25._tcp.mx2.example.test.", Security::Secure, vec![ee_rsa]),
        );
        let (report, _, _) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        let mx2 = &report.hosts[1];
        let t = mx2.tlsa.as_ref().unwrap();
        assert_eq!(
            t.base.as_deref(),
            Some("real.hosting.test."),
            "the expanded name first"
        );
        assert!(t.original.is_some());
        let codes: Vec<_> = report
            .warnings
            .iter()
            .map(|w| (w.code, w.host.clone()))
            .collect();
        assert!(
            codes.contains(&("tlsa-differs", Some("mx2.example.test.".into()))),
            "{codes:?}"
        );
        let ta: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| w.code == "ta-not-sent")
            .collect();
        assert_eq!(
            ta.len(),
            2,
            "once per address of mx1: {:?}",
            report.warnings
        );
        assert!(ta[0].message.contains("RFC 7671 5.2.2"));
        assert!(!codes.iter().any(|(c, _)| *c == "pkix-usage-in-smtp"));
    }

    #[tokio::test]
    async fn hostile_zones_with_too_many_hosts_or_addresses_are_bounded() {
        use dane_check::engine::{MAX_ADDRESSES, MAX_HOSTS};
        let mut dns = FakeDns::default();
        let prober = FakeProber::default();
        let ee = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        let mut mxs = Vec::new();
        for i in 0..(MAX_HOSTS + 6) {
            let host = format!("mx{i}.example.test.");
            mxs.push(mx(u16::try_from(i).unwrap(), &host));
            // The first host has far too many addresses.
            let count = if i == 0 { MAX_ADDRESSES + 8 } else { 1 };
            let ips: Vec<IpAddr> = (0..count)
                .map(|j| format!("10.{}.{}.1", i, j).parse().unwrap())
                .collect();
            dns.a
                .insert(host.clone(), records(&host, Security::Secure, ips));
            dns.aaaa.insert(host.clone(), nodata(&host));
            let owner = format!("_25._tcp.{host}");
            dns.tlsa.insert(
                owner.clone(),
                records(&owner, Security::Secure, vec![ee.clone()]),
            );
        }
        dns.mx.insert(
            "example.test.".into(),
            records("example.test.", Security::Secure, mxs),
        );
        // `dane rollover status`: the hosts past the bound are there, indeterminate, so a
        // domain is never ready with hosts never looked at.
        let decided =
            dane_check::engine::decide_hosts(&dns, "example.test", &SMTP, &Options::new(now()))
                .await
                .unwrap();
        assert_eq!(decided.len(), MAX_HOSTS + 6);
        match dane_check::rollover::host_target(&decided[MAX_HOSTS]) {
            dane_check::rollover::HostTarget::Unchecked(u) => {
                assert_eq!(u.host, format!("mx{MAX_HOSTS}.example.test."));
                assert_eq!(
                    u.readiness,
                    dane_check::rollover::readiness::Readiness::Indeterminate
                );
                assert!(u.reason.contains("too-many-hosts"), "{}", u.reason);
            }
            other => panic!("{other:?}"),
        }
        let (report, _, prober) = run(dns, prober).await;
        assert_eq!(report.hosts.len(), MAX_HOSTS);
        assert_eq!(report.hosts[0].endpoints.len(), MAX_ADDRESSES);
        // `dane rollover promote`'s check names what was not probed: never ok.
        let next =
            dane_tlsa::parse_private_key(include_bytes!("../../../fixtures/pki/next.key")).unwrap();
        let check = dane_check::rollover::promote_check(&report, &next);
        assert!(!check.ok);
        let unchecked = check.unchecked.join("\n");
        assert!(
            unchecked.contains(&format!("not checked: mx{MAX_HOSTS}.example.test.")),
            "{unchecked}"
        );
        assert!(
            unchecked.contains("mx0.example.test.: 8 address(es) not probed")
                && unchecked.contains(&format!("10.0.{MAX_ADDRESSES}.1")),
            "{unchecked}"
        );
        assert_eq!(
            prober.probes.load(Ordering::SeqCst),
            MAX_ADDRESSES + MAX_HOSTS - 1
        );
        let codes: Vec<_> = report.warnings.iter().map(|w| w.code).collect();
        assert!(codes.contains(&"too-many-hosts"), "{codes:?}");
        assert!(codes.contains(&"too-many-addresses"), "{codes:?}");
        // Nothing was probed, so nothing is verified (the fake refuses unknown addresses).
        assert_eq!(
            report.verdict,
            DomainVerdict::Indeterminate,
            "{}",
            report.reason
        );
    }

    fn srv_record(priority: u16, port: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight: 0,
            port,
            target: target.into(),
        }
    }

    /// xmpp.test: `_xmpp-client._tcp` SRV to chat.xmpp.test port 5223, which has an A
    /// record, TLSA at `_5223._tcp.chat.xmpp.test` and serves the RSA chain; the domain
    /// itself (for the fallback) has an A record and TLSA at `_5222._tcp.xmpp.test`.
    fn xmpp_world(srv_security: Security) -> (FakeDns, FakeProber) {
        let mut dns = FakeDns::default();
        let mut prober = FakeProber::default();
        let ee = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        dns.srv.insert(
            "_xmpp-client._tcp.xmpp.test.".into(),
            records(
                "_xmpp-client._tcp.xmpp.test.",
                srv_security,
                vec![srv_record(10, 5223, "chat.xmpp.test.")],
            ),
        );
        for (host, ip, owner) in [
            (
                "chat.xmpp.test.",
                "192.0.2.50",
                "_5223._tcp.chat.xmpp.test.",
            ),
            ("xmpp.test.", "192.0.2.51", "_5222._tcp.xmpp.test."),
        ] {
            dns.a
                .insert(host.into(), records(host, Security::Secure, vec![addr(ip)]));
            dns.aaaa.insert(host.into(), nodata(host));
            dns.tlsa.insert(
                owner.into(),
                records(owner, Security::Secure, vec![ee.clone()]),
            );
            prober
                .servers
                .insert(addr(ip), serving("chain-rsa.pem", FAR));
        }
        (dns, prober)
    }

    async fn run_service(
        dns: FakeDns,
        prober: FakeProber,
        domain: &str,
        service: &str,
    ) -> (dane_check::report::Report, Arc<FakeDns>, Arc<FakeProber>) {
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let service = dane_check::service::by_name(service).unwrap();
        let report = verify(dns.clone(), prober.clone(), domain, &service, &options()).await;
        (report, dns, prober)
    }

    #[tokio::test]
    async fn xmpp_through_a_secure_srv_record() {
        let (dns, prober) = xmpp_world(Security::Secure);
        let (report, dns, prober) = run_service(dns, prober, "xmpp.test", "xmpp-client").await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        assert_eq!(report.service, "xmpp-client");
        assert_eq!(report.hosts.len(), 1);
        assert_eq!(report.hosts[0].name, "chat.xmpp.test.");
        assert_eq!(report.hosts[0].port, 5223);
        assert_eq!(
            prober.dialogues.lock().unwrap().clone(),
            vec![(5223, Protocol::XmppClient)]
        );
        let asked = dns.asked.lock().unwrap().clone();
        assert!(
            asked.contains(&"_5223._tcp.chat.xmpp.test. TLSA".to_owned()),
            "{asked:?}"
        );
        assert!(!asked.iter().any(|q| q.ends_with(" MX")), "{asked:?}");
    }

    #[tokio::test]
    async fn insecure_srv_means_no_dane_and_no_srv_means_the_domain() {
        let (dns, prober) = xmpp_world(Security::Insecure);
        let (report, dns_used, _) = run_service(dns, prober, "xmpp.test", "xmpp-client").await;
        assert_eq!(
            report.verdict,
            DomainVerdict::NotProtected,
            "{}",
            report.reason
        );
        assert!(
            report.reason.contains("SRV RRset is not DNSSEC-signed"),
            "{}",
            report.reason
        );
        assert!(
            !dns_used
                .asked
                .lock()
                .unwrap()
                .iter()
                .any(|q| q.ends_with("TLSA"))
        );

        let (mut dns, prober) = xmpp_world(Security::Secure);
        dns.srv.insert(
            "_xmpp-client._tcp.xmpp.test.".into(),
            nodata("_xmpp-client._tcp.xmpp.test."),
        );
        let (report, _, prober) = run_service(dns, prober, "xmpp.test", "xmpp-client").await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        assert_eq!(report.hosts[0].name, "xmpp.test.");
        assert_eq!(
            prober.dialogues.lock().unwrap().clone(),
            vec![(5222, Protocol::XmppClient)]
        );

        let (mut dns, prober) = xmpp_world(Security::Secure);
        dns.srv.insert(
            "_xmpp-client._tcp.xmpp.test.".into(),
            records(
                "_xmpp-client._tcp.xmpp.test.",
                Security::Secure,
                vec![srv_record(0, 0, ".")],
            ),
        );
        let (report, _, _) = run_service(dns, prober, "xmpp.test", "xmpp-client").await;
        assert_eq!(
            report.verdict,
            DomainVerdict::Nonexistent,
            "{}",
            report.reason
        );
    }

    /// `serve-metrics` without `--allow-ports`: an SRV target is probed only on the
    /// service's registered port, and the targets of an insecure SRV RRset not at all.
    #[tokio::test]
    async fn srv_targets_only_on_registered_ports_when_asked() {
        async fn run(
            dns: FakeDns,
            prober: FakeProber,
        ) -> (dane_check::report::Report, Arc<FakeProber>) {
            let prober = Arc::new(prober);
            let service = dane_check::service::by_name("xmpp-client").unwrap();
            let mut options = options();
            options.srv_registered_ports_only = true;
            let report = verify(
                Arc::new(dns),
                prober.clone(),
                "xmpp.test",
                &service,
                &options,
            )
            .await;
            (report, prober)
        }
        // The SRV record names port 5223; xmpp-client's registered port is 5222.
        let (dns, prober) = xmpp_world(Security::Secure);
        let (report, prober) = run(dns, prober).await;
        assert_eq!(
            report.verdict,
            DomainVerdict::Indeterminate,
            "{}",
            report.reason
        );
        assert!(
            report.reason.contains(
                "chat.xmpp.test. port 5223: not probed: the registered port of xmpp-client is 5222"
            ),
            "{}",
            report.reason
        );
        assert!(report.hosts[0].addresses.is_empty());
        assert!(
            prober.dialogues.lock().unwrap().is_empty(),
            "nothing probed"
        );
        // Insecure SRV: not protected, and nothing probed (RFC 7673 3.1).
        let (dns, prober) = xmpp_world(Security::Insecure);
        let (report, prober) = run(dns, prober).await;
        assert_eq!(
            report.verdict,
            DomainVerdict::NotProtected,
            "{}",
            report.reason
        );
        assert!(
            report.reason.contains("SRV RRset is not DNSSEC-signed"),
            "{}",
            report.reason
        );
        assert!(report.reason.contains("not probed"), "{}", report.reason);
        assert!(
            prober.dialogues.lock().unwrap().is_empty(),
            "nothing probed"
        );
        // A secure SRV on the registered port is checked as always.
        let (mut dns, prober) = xmpp_world(Security::Secure);
        dns.srv.insert(
            "_xmpp-client._tcp.xmpp.test.".into(),
            records(
                "_xmpp-client._tcp.xmpp.test.",
                Security::Secure,
                vec![srv_record(10, 5222, "xmpp.test.")],
            ),
        );
        let (report, prober) = run(dns, prober).await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        assert_eq!(
            prober.dialogues.lock().unwrap().clone(),
            vec![(5222, Protocol::XmppClient)]
        );
    }

    #[tokio::test]
    async fn https_uses_pkix_usages_with_the_probers_pkix_verdict() {
        let pkix_ee = golden(CertUsage::PkixEe, "leaf-rsa.pem", 1, 1);
        let world = |records_: Vec<TlsaRecord>, pkix: Pkix| {
            let mut dns = FakeDns::default();
            let mut prober = FakeProber::default();
            let host = "www.example.test.";
            dns.a.insert(
                host.into(),
                records(host, Security::Secure, vec![addr("192.0.2.80")]),
            );
            dns.aaaa.insert(host.into(), nodata(host));
            let owner = "_443._tcp.www.example.test.";
            dns.tlsa
                .insert(owner.into(), records(owner, Security::Secure, records_));
            let mut result = serving("chain-rsa.pem", FAR);
            result.probe = Probe::Tls {
                chain: chain("chain-rsa.pem"),
                pkix,
            };
            prober.servers.insert(addr("192.0.2.80"), result);
            (dns, prober)
        };
        let validated = Pkix::Validated { path: vec![] };
        let (dns, prober) = world(vec![pkix_ee.clone()], validated.clone());
        let (report, _, prober) = run_service(dns, prober, "www.example.test", "https").await;
        assert_eq!(report.verdict, DomainVerdict::Verified, "{}", report.reason);
        assert!(
            !report
                .warnings
                .iter()
                .any(|w| w.code == "pkix-usage-in-smtp"),
            "{:?}",
            report.warnings
        );
        assert_eq!(
            prober.dialogues.lock().unwrap().clone(),
            vec![(443, Protocol::Https)]
        );

        let failed = Pkix::Failed {
            reason: "unknown issuer".into(),
        };
        let (dns, prober) = world(vec![pkix_ee], failed);
        let (report, _, _) = run_service(dns, prober, "www.example.test", "https").await;
        assert_eq!(report.verdict, DomainVerdict::Failed, "{}", report.reason);
        assert!(
            report.reason.contains("DANE clients will refuse"),
            "{}",
            report.reason
        );

        // Nothing usable: clients fall back to PKIX alone, which is not DANE protection.
        let private = TlsaRecord::new(
            CertUsage::PrivCert,
            dane_tlsa::Selector::Spki,
            dane_tlsa::MatchingType::Sha256,
            vec![0; 32],
        );
        let (dns, prober) = world(vec![private], validated);
        let (report, _, _) = run_service(dns, prober, "www.example.test", "https").await;
        assert_eq!(
            report.verdict,
            DomainVerdict::NotProtected,
            "{}",
            report.reason
        );
        assert!(report.reason.contains("PKIX alone"), "{}", report.reason);
    }

    /// `dane rollover status` finds hosts and TLSA owners through the engine's own DNS half
    /// ([`dane_check::engine::decide_hosts`]): the same MX, SRV and CNAME rules as verify.
    mod rollover_targets {
        use super::*;
        use dane_check::rollover::readiness::Readiness;
        use dane_check::rollover::{HostTarget, discovery_status, host_target};

        /// (host, owner or readiness, reason fragment) per host.
        async fn targets(dns: &FakeDns, domain: &str, service: &str) -> Vec<(String, String)> {
            let service = dane_check::service::by_name(service).unwrap();
            let hosts = dane_check::engine::decide_hosts(dns, domain, &service, &options())
                .await
                .unwrap_or_else(|r| panic!("discovery stopped: {}", r.reason));
            hosts
                .iter()
                .map(|d| match host_target(d) {
                    HostTarget::Owner { host, owner, .. } => (host, owner),
                    HostTarget::Unchecked(u) => {
                        (u.host, format!("{:?}: {}", u.readiness, u.reason))
                    }
                })
                .collect()
        }

        fn pair(host: &str, owner: &str) -> (String, String) {
            (host.to_owned(), owner.to_owned())
        }

        #[tokio::test]
        async fn a_secure_cname_at_the_mx_host_moves_the_owner_to_its_target() {
            let (mut dns, _) = world();
            // mx2 is a CNAME to real.hosting.test, whose TLSA RRset is securely empty: the
            // original name is the owner (RFC 7672 2.2.3).
            assert_eq!(
                targets(&dns, "example.test", "smtp").await,
                [
                    pair("mx1.example.test.", "_25._tcp.mx1.example.test."),
                    pair("mx2.example.test.", "_25._tcp.mx2.example.test."),
                ]
            );
            // With records at the expanded name, that name is the owner senders use.
            let ee = golden(CertUsage::DaneEe, "leaf-ec.pem", 1, 1);
            dns.tlsa.insert(
                "_25._tcp.real.hosting.test.".into(),
                records("_25._tcp.real.hosting.test.", Security::Secure, vec![ee]),
            );
            assert_eq!(
                targets(&dns, "example.test", "smtp").await[1],
                pair("mx2.example.test.", "_25._tcp.real.hosting.test.")
            );
            // Bogus at the expanded name: that owner, whose servers then say why.
            dns.tlsa.insert(
                "_25._tcp.real.hosting.test.".into(),
                records("_25._tcp.real.hosting.test.", bogus(), vec![]),
            );
            let hosts = dane_check::engine::decide_hosts(&dns, "example.test", &SMTP, &options())
                .await
                .unwrap();
            match host_target(&hosts[1]) {
                HostTarget::Owner {
                    owner, validated, ..
                } => {
                    assert_eq!(owner, "_25._tcp.real.hosting.test.");
                    assert!(validated.security.is_failure(), "{validated:?}");
                }
                other => panic!("{other:?}"),
            }
            // An insecure CNAME chain: the addresses are insecure, DANE does not apply, and
            // the rollover is blocked there, without asking any TLSA server.
            let mut insecure = records(
                "mx2.example.test.",
                Security::Insecure,
                vec![addr("192.0.2.2")],
            );
            insecure.canonical = "real.hosting.test.".into();
            dns.a.insert("mx2.example.test.".into(), insecure);
            let (host, said) = targets(&dns, "example.test", "smtp").await.remove(1);
            assert_eq!(host, "mx2.example.test.");
            assert!(
                said.starts_with("Blocked: DANE does not apply to mx2.example.test.: its address records are not DNSSEC-signed"),
                "{said}"
            );
        }

        #[tokio::test]
        async fn srv_targets_on_their_own_port_and_the_fallback() {
            let (mut dns, _) = xmpp_world(Security::Secure);
            assert_eq!(
                targets(&dns, "xmpp.test", "xmpp-client").await,
                [pair("chat.xmpp.test.", "_5223._tcp.chat.xmpp.test.")]
            );
            // No SRV records: the domain itself at the service's port.
            dns.srv.insert(
                "_xmpp-client._tcp.xmpp.test.".into(),
                nodata("_xmpp-client._tcp.xmpp.test."),
            );
            assert_eq!(
                targets(&dns, "xmpp.test", "xmpp-client").await,
                [pair("xmpp.test.", "_5222._tcp.xmpp.test.")]
            );
            // An insecure SRV RRset: its target could be anyone's: blocked.
            let (dns, _) = xmpp_world(Security::Insecure);
            let (_, said) = targets(&dns, "xmpp.test", "xmpp-client").await.remove(0);
            assert!(
                said.starts_with("Blocked: ") && said.contains("SRV RRset is not DNSSEC-signed"),
                "{said}"
            );
            // A bogus SRV lookup: no host at all; blocked (a failure, not a local fault).
            let (dns, _) = xmpp_world(bogus());
            let stop = dane_check::engine::decide_hosts(
                &dns,
                "xmpp.test",
                &dane_check::service::by_name("xmpp-client").unwrap(),
                &options(),
            )
            .await
            .unwrap_err();
            let status = discovery_status(&stop);
            assert_eq!(status.readiness, Readiness::Blocked, "{}", status.reason);
            assert!(status.reason.contains("SRV lookup"), "{}", status.reason);
        }

        #[tokio::test]
        async fn mx_plans_without_hosts_and_hosts_without_dane() {
            let (mut dns, _) = world();
            // A failed MX lookup cannot be decided: indeterminate.
            dns.mx.remove("example.test.");
            let stop = dane_check::engine::decide_hosts(&dns, "example.test", &SMTP, &options())
                .await
                .unwrap_err();
            assert_eq!(discovery_status(&stop).readiness, Readiness::Indeterminate);
            // A null MX: blocked.
            dns.mx.insert(
                "example.test.".into(),
                records("example.test.", Security::Secure, vec![mx(0, ".")]),
            );
            let stop = dane_check::engine::decide_hosts(&dns, "example.test", &SMTP, &options())
                .await
                .unwrap_err();
            let status = discovery_status(&stop);
            assert_eq!(status.readiness, Readiness::Blocked);
            assert!(status.reason.contains("null MX"), "{}", status.reason);
            // An insecure MX RRset: every host is blocked.
            let (mut dns, _) = world();
            let mut mxs = dns.mx.remove("example.test.").unwrap();
            mxs.security = Security::Insecure;
            dns.mx.insert("example.test.".into(), mxs);
            for (_, said) in targets(&dns, "example.test", "smtp").await {
                assert!(
                    said.starts_with("Blocked: ") && said.contains("MX RRset is not DNSSEC-signed"),
                    "{said}"
                );
            }
            // Securely no TLSA at all: the first owner a client looks at (the secure CNAME's
            // target), where `status` then finds no record at any server.
            let (mut dns, _) = world();
            dns.tlsa.insert(
                "_25._tcp.mx2.example.test.".into(),
                nodata("_25._tcp.mx2.example.test."),
            );
            assert_eq!(
                targets(&dns, "example.test", "smtp").await[1],
                pair("mx2.example.test.", "_25._tcp.real.hosting.test.")
            );
            // A failed address lookup: no owner; indeterminate.
            dns.a.remove("mx2.example.test.");
            let (_, said) = targets(&dns, "example.test", "smtp").await.remove(1);
            assert!(
                said.starts_with("Indeterminate: address lookup for mx2.example.test."),
                "{said}"
            );
        }
    }

    /// Issue 23: every authoritative server of mx1's TLSA zone. ns1 serves the validated
    /// RRset, ns2 (a lagging secondary) only the ECDSA key's record, which does not match
    /// the RSA chain mx1 presents, ns3 answers NOTIMP: the domain is partial, the reason
    /// names ns2, and ns3 is a warning. Without `each_server` nothing is asked.
    #[tokio::test]
    async fn a_server_whose_tlsa_rrset_fails_a_chain_makes_the_domain_partial() {
        use dane_check::servers::{ServerAnswer, ServerState, ServerView, ServerViews};
        let owner = "_25._tcp.mx1.example.test.";
        let view = |ns: &str, serial, answer| ServerView {
            ns: ns.into(),
            address: format!("192.0.2.5{}:53", &ns[2..3]),
            serial: Some(serial),
            answer,
        };
        let ee_rsa = golden(CertUsage::DaneEe, "leaf-rsa.pem", 1, 1);
        let ee_ec = golden(CertUsage::DaneEe, "leaf-ec.pem", 1, 1);
        let (mut dns, prober) = world();
        dns.servers.insert(
            owner.into(),
            Ok(ServerViews {
                zone: "example.test.".into(),
                servers: vec![
                    view(
                        "ns1.example.test.",
                        8,
                        ServerAnswer::Answered(records(owner, Security::Secure, vec![ee_rsa])),
                    ),
                    view(
                        "ns2.example.test.",
                        7,
                        ServerAnswer::Answered(records(owner, Security::Secure, vec![ee_ec])),
                    ),
                    view(
                        "ns3.example.test.",
                        8,
                        ServerAnswer::Rcode {
                            rcode: 4,
                            detail: "NOTIMP".into(),
                        },
                    ),
                ],
                left_out: Vec::new(),
                untrusted: None,
            }),
        );
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let off = verify(
            dns.clone(),
            prober.clone(),
            "example.test",
            &SMTP,
            &options(),
        )
        .await;
        assert_eq!(off.verdict, DomainVerdict::Verified, "{}", off.reason);
        assert!(
            !dns.asked
                .lock()
                .unwrap()
                .iter()
                .any(|q| q.ends_with("servers"))
        );
        let on = Options {
            each_server: true,
            ..options()
        };
        let report = verify(dns.clone(), prober, "example.test", &SMTP, &on).await;
        assert_eq!(report.verdict, DomainVerdict::Partial, "{}", report.reason);
        assert!(
            report
                .reason
                .contains("1 name server address (of 3 endpoints and 1 name server address) fail")
                && report
                    .reason
                    .contains("ns2.example.test. (192.0.2.52:53), SOA serial 7")
                && report.reason.contains("mx1.example.test. 192.0.2.1:25"),
            "{}",
            report.reason
        );
        let mx1 = &report.hosts[0];
        assert_eq!(mx1.verdict.status, Status::Failed);
        let c = mx1.tlsa.as_ref().unwrap().servers.as_ref().unwrap();
        let states: Vec<_> = c.servers.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [ServerState::Same, ServerState::Fails, ServerState::Refuses]
        );
        let codes: Vec<_> = report.warnings.iter().map(|w| w.code).collect();
        assert!(codes.contains(&"ns-refuses-tlsa"), "{codes:?}");
        // mx2's owner has no views in the fake: asked, nothing reported.
        assert!(report.hosts[1].tlsa.as_ref().unwrap().servers.is_none());
        // The JSON document has them per host's TLSA lookups.
        let doc = serde_json::to_value(&report).unwrap();
        assert_eq!(
            doc["hosts"][0]["tlsa"]["servers"]["servers"][1]["state"],
            "fails"
        );
        assert_eq!(
            doc["hosts"][0]["tlsa"]["servers"]["servers"][1]["serial"],
            7
        );
    }

    /// One address of one name server, answering `answer`.
    fn server_view<T>(
        ns: &str,
        serial: u32,
        answer: dane_check::servers::ServerAnswer<T>,
    ) -> dane_check::servers::ServerView<T> {
        dane_check::servers::ServerView {
            ns: ns.into(),
            address: format!("192.0.2.5{}:53", &ns[2..3]),
            serial: Some(serial),
            answer,
        }
    }

    fn views<T>(
        servers: Vec<dane_check::servers::ServerView<T>>,
    ) -> Result<dane_check::servers::ServerViews<T>, String> {
        Ok(dane_check::servers::ServerViews {
            zone: "example.test.".into(),
            servers,
            left_out: Vec::new(),
            untrusted: None,
        })
    }

    /// Issue 23, the MX RRset's zone: ns1 serves the validated MX set; ns2 (a stale
    /// secondary) still names old.example.test., a host this check never saw: senders
    /// asking it deliver there, so the domain is partial and the reason names ns2, its
    /// serial and the host; ns3 serves mx1 alone (a host that was verified): `ns-stale`;
    /// ns4 answers REFUSED: `ns-refuses`.
    #[tokio::test]
    async fn a_stale_mx_rrset_naming_an_unchecked_host_makes_the_domain_partial() {
        use dane_check::servers::{ServerAnswer, ServerState};
        let d = "example.test.";
        let (mut dns, prober) = world();
        let mx_set = |list: Vec<Mx>| ServerAnswer::Answered(records(d, Security::Secure, list));
        dns.mx_servers.insert(
            d.into(),
            views(vec![
                server_view(
                    "ns1.example.test.",
                    8,
                    mx_set(vec![
                        mx(10, "mx1.example.test."),
                        mx(20, "mx2.example.test."),
                    ]),
                ),
                server_view(
                    "ns2.example.test.",
                    7,
                    mx_set(vec![
                        mx(10, "mx1.example.test."),
                        mx(30, "old.example.test."),
                    ]),
                ),
                server_view(
                    "ns3.example.test.",
                    8,
                    mx_set(vec![mx(10, "mx1.example.test.")]),
                ),
                server_view(
                    "ns4.example.test.",
                    8,
                    ServerAnswer::Rcode {
                        rcode: 5,
                        detail: "REFUSED".into(),
                    },
                ),
            ]),
        );
        let on = Options {
            each_server: true,
            ..options()
        };
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let report = verify(dns.clone(), prober, "example.test", &SMTP, &on).await;
        assert_eq!(report.verdict, DomainVerdict::Partial, "{}", report.reason);
        assert!(
            report.reason.contains(
                "ns2.example.test. (192.0.2.52:53), SOA serial 7 serves a different MX RRset"
            ) && report.reason.contains("they deliver to old.example.test."),
            "{}",
            report.reason
        );
        let c = report.mx_servers.as_ref().unwrap();
        assert_eq!((c.owner.as_str(), c.rtype), (d, "MX"));
        let states: Vec<_> = c.servers.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                ServerState::Same,
                ServerState::Fails,
                ServerState::Stale,
                ServerState::Refuses
            ]
        );
        let codes: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| w.host.is_none())
            .map(|w| w.code)
            .collect();
        assert!(
            codes.contains(&"ns-stale") && codes.contains(&"ns-refuses"),
            "{codes:?}"
        );
        let doc = serde_json::to_value(&report).unwrap();
        assert_eq!(doc["mx_servers"]["type"], "MX");
        assert_eq!(doc["mx_servers"]["servers"][1]["state"], "fails");
        // The hosts themselves still verify: only the stale server makes it partial.
        assert!(
            report
                .hosts
                .iter()
                .all(|h| h.verdict.status == Status::Verified)
        );
    }

    /// A stale MX set that names only verified hosts, or a null MX, or NXDOMAIN
    /// (`servers::mx_effect`), through the engine: one server each.
    #[tokio::test]
    async fn mx_servers_each_answer() {
        use dane_check::servers::ServerAnswer;
        let d = "example.test.";
        let secure = |answer| {
            ServerAnswer::Answered(Lookup {
                answer,
                ..records::<Mx>(d, Security::Secure, Vec::new())
            })
        };
        let table = [
            (
                secure(Answer::Records(vec![mx(5, "mx2.example.test.")])),
                DomainVerdict::Verified,
                "deliver only to hosts this check verified",
            ),
            (
                secure(Answer::Records(vec![mx(0, ".")])),
                DomainVerdict::Partial,
                "a null MX",
            ),
            (
                secure(Answer::NxDomain),
                DomainVerdict::Partial,
                "does not exist for them",
            ),
            // Implicit MX: the domain itself, which was not checked.
            (
                secure(Answer::NoData),
                DomainVerdict::Partial,
                "they deliver to example.test.",
            ),
        ];
        for (answer, verdict, phrase) in table {
            let (mut dns, prober) = world();
            dns.mx_servers.insert(
                d.into(),
                views(vec![server_view("ns2.example.test.", 7, answer)]),
            );
            let on = Options {
                each_server: true,
                ..options()
            };
            let report = verify(Arc::new(dns), Arc::new(prober), "example.test", &SMTP, &on).await;
            assert_eq!(report.verdict, verdict, "{phrase}: {}", report.reason);
            let row = &report.mx_servers.as_ref().unwrap().servers[0];
            assert!(row.detail.contains(phrase), "{phrase}: {}", row.detail);
        }
    }

    /// Issue 23, an MX host's address RRset's zone: ns2 (stale) serves mx1's old address
    /// 192.0.2.9, where the ECDSA chain is served (mx1's TLSA has only the RSA key's
    /// record): it is probed, and senders asking ns2 fail there: partial. ns3 serves
    /// 192.0.2.8, which presents the RSA chain: `ns-stale`. The AAAA servers agree.
    #[tokio::test]
    async fn a_stale_address_whose_server_does_not_authenticate_makes_the_domain_partial() {
        use dane_check::servers::{ServerAnswer, ServerState};
        let h = "mx1.example.test.";
        let (mut dns, mut prober) = world();
        prober
            .servers
            .insert(addr("192.0.2.9"), serving("chain-ec.pem", FAR));
        prober
            .servers
            .insert(addr("192.0.2.8"), serving("chain-rsa.pem", FAR));
        let set = |list: Vec<IpAddr>| ServerAnswer::Answered(records(h, Security::Secure, list));
        dns.address_servers.insert(
            (h.into(), "A"),
            views(vec![
                server_view("ns1.example.test.", 8, set(vec![addr("192.0.2.1")])),
                server_view("ns2.example.test.", 7, set(vec![addr("192.0.2.9")])),
                server_view("ns3.example.test.", 7, set(vec![addr("192.0.2.8")])),
            ]),
        );
        dns.address_servers.insert(
            (h.into(), "AAAA"),
            views(vec![server_view(
                "ns1.example.test.",
                8,
                set(vec![addr("2001:db8::1")]),
            )]),
        );
        let on = Options {
            each_server: true,
            ..options()
        };
        let (dns, prober) = (Arc::new(dns), Arc::new(prober));
        let report = verify(dns.clone(), prober.clone(), "example.test", &SMTP, &on).await;
        assert_eq!(report.verdict, DomainVerdict::Partial, "{}", report.reason);
        assert!(
            report.reason.contains(
                "ns2.example.test. (192.0.2.52:53), SOA serial 7 serves a different A RRset"
            ) && report.reason.contains("192.0.2.9"),
            "{}",
            report.reason
        );
        let mx1 = &report.hosts[0];
        assert_eq!(mx1.verdict.status, Status::Failed);
        let a = mx1.addresses[0].servers.as_ref().unwrap();
        let states: Vec<_> = a.servers.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [ServerState::Same, ServerState::Fails, ServerState::Stale]
        );
        let aaaa = mx1.addresses[1].servers.as_ref().unwrap();
        assert!(aaaa.servers.iter().all(|r| r.state == ServerState::Same));
        // The stale addresses were probed; the report's endpoints are the validated ones.
        let probed: Vec<IpAddr> = prober
            .snis
            .lock()
            .unwrap()
            .iter()
            .map(|(a, _)| *a)
            .collect();
        assert!(
            probed.contains(&addr("192.0.2.9")) && probed.contains(&addr("192.0.2.8")),
            "{probed:?}"
        );
        assert!(mx1.endpoints.iter().all(|e| e.address != addr("192.0.2.9")));
        let codes: Vec<_> = report.warnings.iter().map(|w| w.code).collect();
        assert!(codes.contains(&"ns-stale"), "{codes:?}");
        // Without each_server no server is asked.
        let off = verify(dns.clone(), prober, "example.test", &SMTP, &options()).await;
        assert_eq!(off.verdict, DomainVerdict::Verified, "{}", off.reason);
    }
}

// ---------------------------------------------------------------------------------------
// The live DNS source over dane-resolver, against the signed fixture zones served by a
// real NSD (fixtures/dns; the private root's anchor), at a pinned time.

mod live_dns {
    use std::sync::Arc;

    use dane_check::dns::{Answer, Security};
    use dane_check::engine::{Dns, Family};
    use dane_check::live::LiveDns;
    use dane_resolver::{Config, Resolver, read_anchors};
    use rustls_pki_types::UnixTime;

    fn dns(nsd: &dane_testenv::Nsd) -> LiveDns {
        let mut config = Config::new(vec![nsd.addr()]);
        config.anchors =
            read_anchors(&dane_testenv::fixtures_dir().join("anchors/root.ds")).unwrap();
        // 2026-06-01, inside every fixture signature window but the broken ones.
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_272_000));
        LiveDns::new(Arc::new(Resolver::new(config)), now)
    }

    /// Each check gets a query budget of its own (`Dns::for_check`, which `engine::verify`
    /// calls): with a budget of 3 queries, a check's lookups stop once 3 were sent, and the
    /// next check starts afresh.
    #[tokio::test]
    async fn each_check_has_its_own_query_budget() {
        let nsd = dane_testenv::Nsd::start_fixtures().expect("nsd (scripts/install-test-deps)");
        let mut config = Config::new(vec![nsd.addr()]);
        config.anchors =
            read_anchors(&dane_testenv::fixtures_dir().join("anchors/root.ds")).unwrap();
        config.max_check_queries = 3;
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_272_000));
        let dns = Arc::new(LiveDns::new(Arc::new(Resolver::new(config)), now));
        // MX alg13.test needs 6 answers (DNSKEY ., DS and DNSKEY of test. and alg13.test.,
        // the MX): one check gets 3 of them, and the lookup is indeterminate.
        let check = dns.clone().for_check();
        let mx = check.mx("alg13.test").await;
        assert!(
            matches!(&mx.security, Security::Indeterminate { reason }
                if reason.contains("more than 3 queries to servers in this check")),
            "{mx:?}"
        );
        // The same check stays spent.
        let again = check.mx("alg13.test").await;
        assert!(
            matches!(again.security, Security::Indeterminate { .. }),
            "{again:?}"
        );
        // A new check sends 3 more: the answers the budget stopped are fetched now (a
        // budget's failure is never cached), the others come from the cache.
        let next = dns.for_check();
        let mx = next.mx("alg13.test").await;
        assert_eq!(mx.security, Security::Secure, "{mx:?}");
    }

    /// A UDP relay in front of NSD that counts the questions it passes by type: the
    /// authoritative servers' port (`Config::iterate_port`) points here, so it sees exactly
    /// what is asked of the zones' servers directly.
    struct Relay {
        port: u16,
        counts: Arc<std::sync::Mutex<std::collections::HashMap<u16, usize>>>,
    }

    // The test's own stand-in network (as NSD is): the crate's no-I/O rule is for its code.
    #[allow(clippy::disallowed_types)]
    impl Relay {
        fn start(to: std::net::SocketAddr) -> Relay {
            let socket = Arc::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
            let port = socket.local_addr().unwrap().port();
            let counts = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
            let (sock, seen) = (socket.clone(), counts.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let query = buf[..n].to_vec();
                    // The question's type: after the 12-octet header and the name.
                    let mut at = 12;
                    while at < query.len() && query[at] != 0 {
                        at += usize::from(query[at]) + 1;
                    }
                    if let Some(t) = query.get(at + 1..at + 3) {
                        *seen
                            .lock()
                            .unwrap()
                            .entry(u16::from_be_bytes([t[0], t[1]]))
                            .or_insert(0) += 1;
                    }
                    let back = sock.clone();
                    std::thread::spawn(move || {
                        let up = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                        up.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                            .unwrap();
                        up.send_to(&query, to).unwrap();
                        let mut answer = [0u8; 65535];
                        if let Ok(m) = up.recv(&mut answer) {
                            let _ = back.send_to(&answer[..m], from);
                        }
                    });
                }
            });
            Relay { port, counts }
        }

        fn count(&self, rtype: u16) -> usize {
            self.counts
                .lock()
                .unwrap()
                .get(&rtype)
                .copied()
                .unwrap_or(0)
        }
    }

    /// The TLSA, A and MX RRsets of alg13.test live in one zone: one check asks each of
    /// its server addresses the three questions and the zone's SOA (for the serial) once,
    /// not once per RRset, and every row carries that serial. The next check asks again.
    #[tokio::test]
    async fn one_zone_is_asked_its_soa_once_per_check() {
        let nsd = dane_testenv::Nsd::start_fixtures().expect("nsd (scripts/install-test-deps)");
        let relay = Relay::start(nsd.addr());
        let mut config = Config::new(vec![nsd.addr()]);
        config.anchors =
            read_anchors(&dane_testenv::fixtures_dir().join("anchors/root.ds")).unwrap();
        config.iterate_port = relay.port;
        config.address_policy = dane_resolver::AddressPolicy::AllowAll;
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_272_000));
        let dns = Arc::new(LiveDns::new(Arc::new(Resolver::new(config)), now));
        let check = dns.clone().for_check();
        let (tlsa, a, mx) = tokio::join!(
            check.tlsa_servers("_25._tcp.mx.alg13.test."),
            check.address_servers("mx.alg13.test", Family::V4),
            check.mx_servers("alg13.test"),
        );
        let (tlsa, a, mx) = (
            tlsa.unwrap().unwrap(),
            a.unwrap().unwrap(),
            mx.unwrap().unwrap(),
        );
        let serials = |s: &[Option<u32>]| s.to_vec();
        let tlsa_serials: Vec<_> = tlsa.servers.iter().map(|v| v.serial).collect();
        assert_eq!(tlsa.zone, "alg13.test.");
        assert_eq!(tlsa_serials.len(), 1, "{tlsa:?}");
        assert!(tlsa_serials[0].is_some(), "{tlsa:?}");
        assert_eq!(
            serials(&a.servers.iter().map(|v| v.serial).collect::<Vec<_>>()),
            tlsa_serials
        );
        assert_eq!(
            serials(&mx.servers.iter().map(|v| v.serial).collect::<Vec<_>>()),
            tlsa_serials
        );
        for (rtype, name) in [(52, "TLSA"), (1, "A"), (15, "MX")] {
            assert_eq!(relay.count(rtype), 1, "{name} questions to the server");
        }
        assert_eq!(
            relay.count(6),
            1,
            "SOA questions to the server in one check"
        );
        // A new check finds the servers again.
        let next = dns.for_check();
        next.tlsa_servers("_25._tcp.mx.alg13.test.")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(relay.count(6), 2, "SOA questions after a second check");
    }

    #[tokio::test]
    async fn lookups_carry_verdicts_answers_and_expirations() {
        let nsd = dane_testenv::Nsd::start_fixtures().expect("nsd (scripts/install-test-deps)");
        let dns = dns(&nsd);

        let mx = dns.mx("alg13.test").await;
        assert_eq!(mx.security, Security::Secure, "{mx:?}");
        assert_eq!(mx.records().len(), 1);
        assert_eq!(mx.records()[0].exchange, "mx.alg13.test.");
        // Fixture signatures end 2036-01-01 (fixtures/dns/README.md).
        let expires = mx.expires.expect("signatures verified");
        assert!(
            (2_082_758_400..2_082_844_800).contains(&expires),
            "{expires}"
        );

        let tlsa = dns.tlsa("_25._tcp.mx.alg13.test.").await;
        assert_eq!(tlsa.security, Security::Secure);
        assert_eq!(
            tlsa.records()[0].parameters(),
            "DANE-EE(3) SPKI(1) SHA2-256(1)"
        );

        let a = dns.addresses("www.alg8.test", Family::V4).await;
        assert_eq!(a.security, Security::Secure);
        assert!(!a.records().is_empty());

        let bogus = dns.addresses("www.expired.test", Family::V4).await;
        assert!(
            matches!(&bogus.security, Security::Bogus { reason } if reason.contains("expired")),
            "{bogus:?}"
        );
        assert!(
            bogus.records().is_empty(),
            "records of a bogus answer are never used"
        );

        let insecure = dns.tlsa("_25._tcp.mx.insecure.test").await;
        assert_eq!(insecure.security, Security::Insecure);
        assert_eq!(insecure.records().len(), 1);

        let nx = dns.addresses("nx.nsec.test", Family::V4).await;
        assert_eq!(
            (nx.security.clone(), nx.answer.clone()),
            (Security::Secure, Answer::NxDomain)
        );
        let nodata = dns.srv("_xmpp-client._tcp.nsec3.test").await;
        assert_eq!(nodata.security, Security::Secure);
        assert!(nodata.is_secure_denial(), "{nodata:?}");

        // A CNAME into another zone: the canonical name is the chain's end.
        let cname = dns.addresses("to-alg8.cname.test", Family::V4).await;
        assert_eq!(cname.security, Security::Secure, "{cname:?}");
        assert_eq!(cname.canonical, "www.alg8.test.", "{cname:?}");
    }

    #[tokio::test]
    async fn recorded_evidence_replays_to_the_same_lookups_and_ages() {
        use dane_check::evidence::{Bundle, KIND, Recorder, ReplayDns, VERSION};
        let nsd = dane_testenv::Nsd::start_fixtures().expect("nsd (scripts/install-test-deps)");
        let recorder = Recorder::new();
        let live = dns(&nsd).with_recorder(recorder.clone());
        let names = [
            "alg13.test",
            "www.alg8.test",
            "_25._tcp.mx.alg13.test",
            "nx.nsec3.test",
        ];
        let mut before = Vec::new();
        for n in names {
            before.push((
                live.mx(n).await,
                live.addresses(n, Family::V4).await,
                live.tlsa(n).await,
            ));
        }
        let resolution = live.resolution().await;
        assert_eq!(
            resolution.as_ref().map(|r| r.mode.as_str()),
            Some("resolver")
        );
        assert_eq!(recorder.resolution(), resolution, "the path is recorded");
        drop(nsd); // the replay needs no server
        let (dns_items, probes) = recorder.take();
        let bundle = Bundle {
            kind: KIND.into(),
            version: VERSION,
            domain: "alg13.test.".into(),
            service: "smtp".into(),
            port: None,
            protocol: None,
            host: None,
            at: 1_780_272_000,
            anchors: Some(
                std::fs::read_to_string(dane_testenv::fixtures_dir().join("anchors/root.ds"))
                    .unwrap(),
            ),
            dns: dns_items,
            probes,
            resolution: recorder.resolution(),
            servers: Vec::new(),
        };
        let text = serde_json::to_string(&bundle).unwrap();
        let back = Bundle::from_json(&text).unwrap();
        assert_eq!(back, bundle);
        let anchors = dane_dnssec::TrustAnchors::parse(back.anchors.as_deref().unwrap()).unwrap();
        let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        let replay = ReplayDns::new(back.evidence().unwrap(), anchors.clone(), at(back.at));
        for (n, (mx, a, tlsa)) in names.iter().zip(&before) {
            assert_eq!(&replay.mx(n).await, mx, "{n} MX");
            assert_eq!(&replay.addresses(n, Family::V4).await, a, "{n} A");
            assert_eq!(&replay.tlsa(n).await, tlsa, "{n} TLSA");
        }
        // The same evidence after the signatures end (2036-01-01) is bogus, not secure.
        let later = ReplayDns::new(back.evidence().unwrap(), anchors, at(2_085_000_000));
        let mx = later.mx("alg13.test").await;
        assert!(
            matches!(&mx.security, Security::Bogus { reason } if reason.contains("expired")),
            "{mx:?}"
        );
        // A question the evidence does not hold is indeterminate, with why.
        let missing = replay.mx("other.test").await;
        assert!(
            matches!(&missing.security, Security::Indeterminate { reason } if reason.contains("evidence file has no answer")),
            "{missing:?}"
        );
    }
}
