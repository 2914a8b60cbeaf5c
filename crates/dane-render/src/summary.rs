//! Facts the monitoring formats (nagios, openmetrics) and `dane scan` draw from a report:
//! the nearest expiries and the endpoint counts. Read off the report, never recomputed.

use dane_check::Status;
use dane_check::dns::Lookup;
use dane_check::report::Report;
use dane_check::threshold::Period;

/// One lookup of a report: record type, name, the validity period of the signature that
/// expires first (when signed), security.
pub type LookupRow<'a> = (
    &'static str,
    &'a str,
    Option<Period>,
    &'a dane_check::dns::Security,
);

/// Every DNS lookup of the report with its record type, in report order.
pub fn lookups(report: &Report) -> Vec<LookupRow<'_>> {
    fn row<'a, T>(rtype: &'static str, l: &'a Lookup<T>) -> LookupRow<'a> {
        let period = l.expires.map(|end| Period {
            start: l.inception,
            end,
        });
        (rtype, l.name.as_str(), period, &l.security)
    }
    let mut out = Vec::new();
    if let Some(mx) = &report.mx {
        out.push(row("MX", mx));
    }
    if let Some(srv) = &report.srv {
        out.push(row("SRV", srv));
    }
    for h in &report.hosts {
        for a in &h.addresses {
            out.push(row(a.rtype, &a.lookup));
        }
        for t in h.tlsa.iter().filter(|t| t.source == "dns") {
            for l in &t.lookups {
                out.push(row("TLSA", l));
            }
        }
    }
    out
}

/// The validity period of the RRSIG that expires first over every lookup.
pub fn nearest_rrsig_expiry(report: &Report) -> Option<Period> {
    lookups(report)
        .iter()
        .filter_map(|l| l.2)
        .min_by_key(|p| p.end)
}

/// The validity period of the certificate that expires first over every certificate
/// every endpoint presented.
pub fn nearest_certificate_expiry(report: &Report) -> Option<Period> {
    report
        .hosts
        .iter()
        .flat_map(|h| &h.endpoints)
        .flat_map(|e| &e.chain)
        .min_by_key(|c| c.not_after)
        .map(|c| Period {
            start: u64::try_from(c.not_before).ok(),
            end: u64::try_from(c.not_after).unwrap_or(0),
        })
}

/// The warnings that count (nagios WARNING, `--strict`): all but advice, and advice too
/// with `require_spare` (`--require-spare`).
pub fn counted_warnings(report: &Report, require_spare: bool) -> usize {
    report
        .warnings
        .iter()
        .filter(|w| w.counts(require_spare))
        .count()
}

/// Endpoints by status: (all, verified, failed, indeterminate, other), and the rollover
/// candidates judged (`--cert`, `--key`, `--csr`) with how many were accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every endpoint probed.
    pub endpoints: usize,
    /// Authenticated with DANE.
    pub verified: usize,
    /// Definite failures.
    pub failed: usize,
    /// No decision.
    pub indeterminate: usize,
    /// Not protected or unauthenticated TLS.
    pub unprotected: usize,
    /// Hosts at which a candidate was judged.
    pub candidates: usize,
    /// Hosts that would accept the candidate.
    pub candidates_verified: usize,
}

/// Counts the report's endpoints by status.
pub fn counts(report: &Report) -> Counts {
    let mut c = Counts::default();
    for e in report.hosts.iter().flat_map(|h| &h.endpoints) {
        c.endpoints += 1;
        match e.verdict.status {
            Status::Verified => c.verified += 1,
            Status::Failed => c.failed += 1,
            Status::Indeterminate => c.indeterminate += 1,
            Status::NotProtected | Status::UnauthenticatedTls => c.unprotected += 1,
        }
    }
    for k in report.hosts.iter().filter_map(|h| h.candidate.as_ref()) {
        c.candidates += 1;
        c.candidates_verified += usize::from(k.verdict.status == Status::Verified);
    }
    c
}

/// The verdict's JSON word (`verified`, `not-protected`, ...).
pub fn verdict_name(v: dane_check::report::DomainVerdict) -> &'static str {
    v.name()
}

/// Every domain verdict, in the order of the JSON schema.
pub const VERDICTS: [dane_check::report::DomainVerdict; 7] = {
    use dane_check::report::DomainVerdict::*;
    [
        Verified,
        Partial,
        Failed,
        UnauthenticatedTls,
        NotProtected,
        Indeterminate,
        Nonexistent,
    ]
};

/// Constructed reports for the renderers' golden tests, and a golden-file comparison.
#[cfg(test)]
pub mod sample {
    use dane_check::dns::{Answer, Lookup, Mx, Security};
    use dane_check::report::{
        AddressLookup, CandidateReport, CertInfo, DomainVerdict, EndpointReport, HostReport,
        Report, TlsaReport, Warning,
    };
    use dane_check::{Status, Verdict};
    use dane_tlsa::{MatchReport, RecordOutcome, RecordStatus, TlsaRecord};

    /// 2026-12-01T00:00:00Z, the time the samples are judged at.
    pub const NOW: u64 = 1_796_083_200;

    /// `--warn-days 30`, the thresholds the samples are judged with.
    pub const THIRTY_DAYS: dane_check::threshold::Thresholds = dane_check::threshold::Thresholds {
        rrsig: dane_check::threshold::Threshold::Days(30),
        cert: dane_check::threshold::Threshold::Days(30),
    };

    fn lookup<T>(
        name: &str,
        security: Security,
        records: Vec<T>,
        expires: Option<u64>,
    ) -> Lookup<T> {
        Lookup {
            name: name.into(),
            canonical: name.into(),
            security,
            answer: Answer::Records(records),
            expires,
            inception: None,
            dnssec_warnings: Vec::new(),
        }
    }

    fn cert(subject: &str, not_after: i64) -> CertInfo {
        CertInfo {
            subject: subject.into(),
            issuer: "CN=Test CA".into(),
            sans: vec![],
            not_before: 0,
            not_after,
            key: "EC P-256".into(),
            spki_sha256: "00".repeat(32),
        }
    }

    /// [`partial`] with the first host's TLSA zone's servers asked (issue 23): ns1 serves
    /// the validated RRset (serial 8), ns2 another one that fails a chain (serial 7), ns3
    /// answers REFUSED (no serial); the MX zone's ns4 is stale, the A zone's ns1 the same.
    pub fn with_servers() -> Report {
        use dane_check::servers::{ServerCheck, ServerRow, ServerState};
        let row = |ns: &str, serial, state, warning, detail: &str| ServerRow {
            ns: ns.into(),
            address: format!("192.0.2.5{}:53", &ns[2..3]),
            serial,
            state,
            same_as_validated: None,
            records: Vec::new(),
            expires: None,
            warning,
            detail: detail.into(),
        };
        let mut r = partial();
        let failure =
            "name server ns2.example. (192.0.2.52:53), SOA serial 7 serves a different TLSA RRset";
        if let Some(t) = r.hosts[0].tlsa.as_mut() {
            t.servers = Some(ServerCheck {
                owner: "_25._tcp.mx1.example.".into(),
                rtype: "TLSA",
                zone: Some("example.".into()),
                servers: vec![
                    row(
                        "ns1.example.",
                        Some(8),
                        ServerState::Same,
                        None,
                        "serves it",
                    ),
                    row("ns2.example.", Some(7), ServerState::Fails, None, failure),
                    row(
                        "ns3.example.",
                        None,
                        ServerState::Refuses,
                        Some("ns-refuses-tlsa"),
                        "answers REFUSED",
                    ),
                ],
                not_asked: Vec::new(),
                failures: vec![Verdict::new(Status::Failed, failure)],
            });
        }
        // The MX RRset's zone: ns4 serves an older MX set of verified hosts; mx1's A
        // RRset's zone: ns1 serves the validated one.
        r.mx_servers = Some(ServerCheck {
            owner: "example.test.".into(),
            rtype: "MX",
            zone: Some("example.test.".into()),
            servers: vec![row(
                "ns4.example.",
                Some(6),
                ServerState::Stale,
                Some("ns-stale"),
                "serves a different MX RRset",
            )],
            not_asked: Vec::new(),
            failures: Vec::new(),
        });
        r.hosts[0].addresses[0].servers = Some(ServerCheck {
            owner: "mx1.example.test.".into(),
            rtype: "A",
            zone: Some("example.test.".into()),
            servers: vec![row(
                "ns1.example.",
                Some(8),
                ServerState::Same,
                None,
                "serves it",
            )],
            not_asked: Vec::new(),
            failures: Vec::new(),
        });
        r
    }

    /// Two MX hosts: one verified at both addresses (a spare record that does not match),
    /// one whose second address fails; an RRSIG expiring in 10 days; a warning; a host
    /// name with characters that must be escaped in label values.
    pub fn partial() -> Report {
        let r1: TlsaRecord =
            "3 1 1 0000000000000000000000000000000000000000000000000000000000000000"
                .parse()
                .unwrap();
        let r2: TlsaRecord =
            "2 1 1 1111111111111111111111111111111111111111111111111111111111111111"
                .parse()
                .unwrap();
        let matched = |first: RecordStatus| MatchReport {
            verdict: if first == RecordStatus::Matched {
                dane_tlsa::Verdict::Authenticated
            } else {
                dane_tlsa::Verdict::NotAuthenticated
            },
            reason: "r".into(),
            records: vec![
                RecordOutcome {
                    index: 0,
                    record: r1.clone(),
                    status: first,
                    depth: Some(0),
                    unusable: None,
                    detail: "d".into(),
                },
                RecordOutcome {
                    index: 1,
                    record: r2.clone(),
                    status: RecordStatus::NotMatched,
                    depth: None,
                    unusable: None,
                    detail: "d".into(),
                },
            ],
            chain_length: 2,
        };
        let endpoint =
            |addr: &str, status: Status, first: RecordStatus, leaf: i64| EndpointReport {
                address: addr.parse().unwrap(),
                port: 25,
                verdict: Verdict::new(status, "why"),
                tls: None,
                chain: vec![cert("CN=mx", leaf), cert("CN=Test CA", leaf + 86_400 * 365)],
                tlsa_match: Some(matched(first)),
                algorithm: None,
                offered: None,
                other_offers: Vec::new(),
                publish: Vec::new(),
                fix: None,
                cached: false,
            };
        let host = |name: &str, endpoints: Vec<EndpointReport>, pref: u16| HostReport {
            name: name.into(),
            port: 25,
            preference: Some(pref),
            addresses: vec![AddressLookup {
                servers: None,
                rtype: "A",
                lookup: lookup(
                    name,
                    Security::Secure,
                    endpoints.iter().map(|e| e.address).collect(),
                    Some(NOW + 86_400 * 10),
                ),
            }],
            tlsa: Some(TlsaReport {
                lookups: vec![lookup(
                    &format!("_25._tcp.{name}"),
                    Security::Secure,
                    vec![r1.clone(), r2.clone()],
                    Some(NOW + 86_400 * 20),
                )],
                base: Some(name.into()),
                usable: Some(2),
                source: "dns",
                original: None,
                servers: None,
            }),
            no_dane: None,
            verdict: Verdict::new(Status::Verified, "ok"),
            endpoints,
            candidate: None,
            addresses_left_out: 0,
        };
        let now = i64::try_from(NOW).unwrap();
        Report {
            version: 1,
            domain: "example.test.".into(),
            service: "smtp",
            verdict: DomainVerdict::Partial,
            reason: "1 of 3 endpoints fail: mx2 | 192.0.2.3: no TLSA record matched".into(),
            mx: Some(lookup(
                "example.test.",
                Security::Secure,
                vec![
                    Mx {
                        preference: 10,
                        exchange: "mx1.example.test.".into(),
                    },
                    Mx {
                        preference: 20,
                        exchange: "mx\"2\\.example.test.".into(),
                    },
                ],
                Some(NOW + 86_400 * 40),
            )),
            mx_servers: None,
            mx_plan: None,
            srv: None,
            srv_plan: None,
            hosts: vec![
                host(
                    "mx1.example.test.",
                    vec![
                        endpoint(
                            "192.0.2.1",
                            Status::Verified,
                            RecordStatus::Matched,
                            now + 86_400 * 45,
                        ),
                        endpoint(
                            "192.0.2.2",
                            Status::Verified,
                            RecordStatus::Matched,
                            now + 86_400 * 5,
                        ),
                    ],
                    10,
                ),
                host(
                    "mx\"2\\.example.test.",
                    vec![endpoint(
                        "192.0.2.3",
                        Status::Failed,
                        RecordStatus::NotMatched,
                        now + 86_400 * 90,
                    )],
                    20,
                ),
            ],
            warnings: vec![Warning {
                code: "rrsig-expires",
                host: Some("mx1.example.test.".into()),
                records: Vec::new(),
                message: "a signature expires\nsoon".into(),
            }],
            rollover_ready: None,
            resolution: None,
        }
    }

    fn one_host(
        name: &str,
        records: Vec<TlsaRecord>,
        tlsa_security: Security,
        tlsa_expires: u64,
    ) -> HostReport {
        HostReport {
            name: name.into(),
            port: 25,
            preference: Some(10),
            addresses: vec![AddressLookup {
                servers: None,
                rtype: "A",
                lookup: lookup(
                    name,
                    Security::Secure,
                    vec!["192.0.2.1".parse().unwrap()],
                    Some(NOW + 86_400 * 60),
                ),
            }],
            tlsa: Some(TlsaReport {
                lookups: vec![lookup(
                    &format!("_25._tcp.{name}"),
                    tlsa_security,
                    records,
                    Some(tlsa_expires),
                )],
                base: Some(name.into()),
                usable: Some(1),
                source: "dns",
                original: None,
                servers: None,
            }),
            no_dane: None,
            verdict: Verdict::new(Status::Verified, "ok"),
            endpoints: vec![],
            candidate: None,
            addresses_left_out: 0,
        }
    }

    fn matched_endpoint(record: &TlsaRecord) -> EndpointReport {
        EndpointReport {
            address: "192.0.2.1".parse().unwrap(),
            port: 25,
            verdict: Verdict::new(
                Status::Verified,
                "record 1 (3 1 1) matches the leaf certificate",
            ),
            tls: None,
            chain: vec![cert("CN=mx", i64::try_from(NOW).unwrap() + 86_400 * 80)],
            tlsa_match: Some(MatchReport {
                verdict: dane_tlsa::Verdict::Authenticated,
                reason: "record 1 (3 1 1) matches the leaf certificate".into(),
                records: vec![RecordOutcome {
                    index: 0,
                    record: record.clone(),
                    status: RecordStatus::Matched,
                    depth: Some(0),
                    unusable: None,
                    detail: "matches the leaf certificate".into(),
                }],
                chain_length: 1,
            }),
            algorithm: None,
            offered: None,
            other_offers: Vec::new(),
            publish: Vec::new(),
            fix: None,
            cached: false,
        }
    }

    fn finish(domain: &str, mut hosts: Vec<HostReport>, rollover_ready: Option<bool>) -> Report {
        for h in &mut hosts {
            if let Some(v) = dane_check::verdict::combine(
                h.endpoints
                    .iter()
                    .map(|e| &e.verdict)
                    .chain(h.candidate.iter().map(|c| &c.verdict)),
            ) {
                h.verdict = v;
            }
        }
        let (verdict, reason) = dane_check::report::domain_verdict(&hosts);
        let warnings = hosts
            .iter()
            .flat_map(|h| dane_check::report::host_warnings(h, NOW, THIRTY_DAYS, true))
            .collect();
        Report {
            version: 1,
            domain: domain.into(),
            service: "smtp",
            verdict,
            reason,
            mx: None,
            mx_servers: None,
            mx_plan: None,
            srv: None,
            srv_plan: None,
            hosts,
            warnings,
            rollover_ready,
            resolution: None,
        }
    }

    fn record(hex_digit: char) -> TlsaRecord {
        format!("3 1 1 {}", hex_digit.to_string().repeat(64))
            .parse()
            .unwrap()
    }

    /// One MX host whose single `3 1 1` record matches: verified, with the no-spare advice.
    pub fn single_record() -> Report {
        let r = record('A');
        let mut h = one_host(
            "mx.single.test.",
            vec![r.clone()],
            Security::Secure,
            NOW + 86_400 * 60,
        );
        h.endpoints.push(matched_endpoint(&r));
        finish("single.test.", vec![h], None)
    }

    /// `--tlsa` with `--cert`: the candidate set covers the served certificate and the
    /// candidate: one endpoint verified, one candidate accepted, rollover-ready.
    pub fn rollover() -> Report {
        let (now, next) = (record('A'), record('B'));
        let mut h = one_host(
            "mx.rollover.test.",
            vec![now.clone(), next.clone()],
            Security::Secure,
            NOW + 86_400 * 60,
        );
        h.tlsa.as_mut().unwrap().source = "file";
        h.endpoints.push(matched_endpoint(&now));
        h.candidate = Some(CandidateReport {
            verdict: Verdict::new(
                Status::Verified,
                "record 2 (3 1 1) matches the leaf certificate",
            ),
            tlsa_match: None,
            publish: vec![],
        });
        finish("rollover.test.", vec![h], Some(true))
    }

    /// The TLSA RRSIG expired a day ago (bogus); the keys above it are signed for a year.
    pub fn expired_tlsa() -> Report {
        let mut h = one_host(
            "mx.expired.test.",
            vec![],
            Security::Bogus {
                reason: "_25._tcp.mx.expired.test. TLSA: RRSIG TLSA alg 13 tag 1 expired at 2026-11-30T00:00:00Z, checked at 2026-12-01T00:00:00Z (signature-expired)".into(),
            },
            NOW - 86_400,
        );
        let t = h.tlsa.as_mut().unwrap();
        t.lookups[0].answer = Answer::NoData;
        t.base = None;
        t.usable = None;
        h.verdict = Verdict::new(
            Status::Failed,
            "TLSA lookup at _25._tcp.mx.expired.test. is bogus (_25._tcp.mx.expired.test. TLSA: RRSIG TLSA alg 13 tag 1 expired at 2026-11-30T00:00:00Z, checked at 2026-12-01T00:00:00Z (signature-expired)): DANE clients will not connect to mx.expired.test.",
        );
        finish("expired.test.", vec![h], None)
    }

    /// A secure NXDOMAIN: no hosts, no endpoints.
    pub fn nonexistent() -> Report {
        Report {
            version: 1,
            domain: "nonexistent.test.".into(),
            service: "smtp",
            verdict: DomainVerdict::Nonexistent,
            reason: "nonexistent.test. does not exist (secure NXDOMAIN)".into(),
            mx: Some(Lookup {
                name: "nonexistent.test.".into(),
                canonical: "nonexistent.test.".into(),
                security: Security::Secure,
                answer: Answer::NxDomain,
                expires: Some(NOW + 86_400 * 3),
                inception: None,
                dnssec_warnings: Vec::new(),
            }),
            mx_servers: None,
            mx_plan: None,
            srv: None,
            srv_plan: None,
            hosts: vec![],
            warnings: vec![],
            rollover_ready: None,
            resolution: None,
        }
    }

    /// Compares `actual` with `tests/golden/NAME` (rewrites it with DANE_UPDATE_GOLDEN=1).
    #[allow(clippy::disallowed_methods)] // tests read and write their golden files
    pub fn golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("DANE_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (DANE_UPDATE_GOLDEN=1 writes it)", path.display()));
        assert_eq!(actual, expected, "{name} differs from its golden file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_names_are_the_json_words() {
        for v in VERDICTS {
            assert_eq!(
                serde_json::to_string(&v).unwrap(),
                format!("\"{}\"", verdict_name(v))
            );
        }
    }

    #[test]
    fn facts_of_the_sample() {
        let r = sample::partial();
        assert_eq!(
            nearest_rrsig_expiry(&r).map(|p| p.end),
            Some(sample::NOW + 86_400 * 10)
        );
        assert_eq!(
            nearest_certificate_expiry(&r).map(|p| p.end),
            Some(sample::NOW + 86_400 * 5)
        );
        let c = counts(&r);
        assert_eq!(
            (
                c.endpoints,
                c.verified,
                c.failed,
                c.indeterminate,
                c.unprotected
            ),
            (3, 2, 1, 0, 0)
        );
        assert_eq!(lookups(&sample::nonexistent()).len(), 1);
    }
}
