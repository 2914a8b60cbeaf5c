//! The report of one `dane verify` run: every lookup, host and endpoint with its verdict and
//! reason, the warnings, and the domain's verdict. Serialised as the `--json` document
//! (schema version [`SCHEMA_VERSION`], documented in the README).

use std::net::IpAddr;

use dane_tlsa::{CertUsage, MatchReport, RecordStatus, TlsaRecord};
use serde::Serialize;

use crate::dns::{Lookup, Mx, Resolution, Srv};
use crate::host::NoDane;
use crate::service::SrvPlan;
use crate::smtp::MxPlan;
use crate::verdict::{Status, Verdict};

/// The version of the JSON document; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The domain's verdict (the top-level `"verdict"` of the JSON document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomainVerdict {
    /// Every endpoint that DANE covers authenticated (and DANE covers at least one).
    Verified,
    /// No endpoint authenticates and at least one fails definitely: mail would be deferred.
    Failed,
    /// Some hosts or addresses fail definitely, others authenticate.
    Partial,
    /// Secure TLSA records, none usable: TLS mandatory, not authenticated.
    UnauthenticatedTls,
    /// DANE applies to no host (insecure domain or hosts, or no TLSA records).
    NotProtected,
    /// No secure decision could be reached (timeouts, SERVFAIL, unreachable), and no
    /// definite failure.
    Indeterminate,
    /// The domain does not exist (NXDOMAIN) or accepts no mail (null MX, RFC 7505).
    Nonexistent,
}

impl DomainVerdict {
    /// The status class of the verdict (which the CLI maps to its exit code).
    pub fn status(self) -> Status {
        match self {
            DomainVerdict::Verified => Status::Verified,
            DomainVerdict::Failed | DomainVerdict::Partial => Status::Failed,
            DomainVerdict::UnauthenticatedTls => Status::UnauthenticatedTls,
            DomainVerdict::NotProtected | DomainVerdict::Nonexistent => Status::NotProtected,
            DomainVerdict::Indeterminate => Status::Indeterminate,
        }
    }
}

/// One certificate as the server presented it (filled in by the prober's adapter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Subject DN, sanitised.
    pub subject: String,
    /// Issuer DN, sanitised.
    pub issuer: String,
    /// Subject alternative names (`DNS:…`), sanitised.
    pub sans: Vec<String>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// Key type and size, e.g. `RSA 2048`, `EC P-256`.
    pub key: String,
    /// SHA-256 of the SubjectPublicKeyInfo, hex (the data of a `3 1 1` record).
    pub spki_sha256: String,
}

/// TLS parameters of a completed handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TlsInfo {
    /// Protocol version, e.g. `TLSv1.3`.
    pub version: String,
    /// Cipher suite name.
    pub cipher: String,
    /// Key-exchange group, when known.
    pub group: Option<String>,
}

/// One address of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointReport {
    /// The address probed.
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// The endpoint's verdict.
    pub verdict: Verdict,
    /// TLS parameters, when the handshake completed.
    pub tls: Option<TlsInfo>,
    /// The presented chain, leaf first.
    pub chain: Vec<CertInfo>,
    /// Every TLSA record's outcome against the chain, when one was matched.
    pub tlsa_match: Option<MatchReport>,
}

/// The TLSA lookups of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsaReport {
    /// Every TLSA lookup made, in order (the CNAME-expanded base domain first).
    pub lookups: Vec<Lookup<TlsaRecord>>,
    /// The TLSA base domain in use, when DANE applies (also the SNI name).
    pub base: Option<String>,
    /// Usable records for SMTP (RFC 7672 3.1.3), when DANE applies.
    pub usable: Option<usize>,
    /// Where the records came from: `dns`, or `file` for a candidate set (`--tlsa`), which
    /// is treated as if it were published and secure.
    pub source: &'static str,
    /// When the CNAME-expanded base domain was used: the TLSA lookup at the original host
    /// name too, for comparison only (senders use the expanded one).
    pub original: Option<Lookup<TlsaRecord>>,
}

/// The rollover pre-check of one host: the candidate certificate or key against its TLSA
/// records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateReport {
    /// Whether a DANE sender would accept the candidate.
    pub verdict: Verdict,
    /// Every record's outcome against the candidate.
    pub tlsa_match: Option<MatchReport>,
}

/// One address lookup of a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressLookup {
    /// `A` or `AAAA`.
    #[serde(rename = "type")]
    pub rtype: &'static str,
    /// The lookup.
    #[serde(flatten)]
    pub lookup: Lookup<IpAddr>,
}

/// One MX host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReport {
    /// The host name (the MX exchange or SRV target, or the domain itself).
    pub name: String,
    /// The service port at this host.
    pub port: u16,
    /// The MX preference or SRV priority (`None` without indirection).
    pub preference: Option<u16>,
    /// The address lookups (A, AAAA as selected).
    pub addresses: Vec<AddressLookup>,
    /// The TLSA lookups, when they were made.
    pub tlsa: Option<TlsaReport>,
    /// Why DANE does not apply, when it does not.
    pub no_dane: Option<NoDane>,
    /// The host's verdict: the worst of its endpoints, or why it has none.
    pub verdict: Verdict,
    /// Every address probed.
    pub endpoints: Vec<EndpointReport>,
    /// The rollover pre-check, with `--cert`, `--key` or `--csr`.
    pub candidate: Option<CandidateReport>,
    /// Addresses not probed because the host has more than the engine's limit.
    pub addresses_left_out: usize,
}

/// A warning: never changes the verdict (the CLI's `--strict` may change the exit code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// A stable code for scripts (`certificate-expires`, `rrsig-expires`, `no-spare-record`,
    /// `pkix-usage-in-smtp`, `unusable-record`, `ignored-mx`, `not-covered`).
    pub code: &'static str,
    /// The host it concerns, if any.
    pub host: Option<String>,
    /// The sentence.
    pub message: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub version: u32,
    /// The next-hop domain, lowercase with the trailing dot.
    pub domain: String,
    /// The service (`smtp`, `https`, `xmpp-client`, ...; `custom` for `--port`).
    pub service: &'static str,
    /// The domain's verdict.
    pub verdict: DomainVerdict,
    /// Why, in one sentence.
    pub reason: String,
    /// The MX lookup (absent with `--host`).
    pub mx: Option<Lookup<Mx>>,
    /// What the MX lookup meant.
    pub mx_plan: Option<MxPlan>,
    /// The SRV lookup, for services found through SRV (absent with `--host`).
    pub srv: Option<Lookup<Srv>>,
    /// What the SRV lookup meant.
    pub srv_plan: Option<SrvPlan>,
    /// Every host, in preference order.
    pub hosts: Vec<HostReport>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// With a candidate and a candidate TLSA set: whether that set authenticates both the
    /// certificates served now and the candidate, at every host DANE covers.
    pub rollover_ready: Option<bool>,
    /// Where the DNS answers came from (the resolver or iteration from the root), when the
    /// DNS source says (live runs and replays of their evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

/// The domain's verdict from its hosts' endpoints (or the host verdicts of hosts without
/// endpoints), with the reason of the part that decided it.
pub fn domain_verdict(hosts: &[HostReport]) -> (DomainVerdict, String) {
    let mut parts: Vec<&Verdict> = Vec::new();
    for h in hosts {
        let before = parts.len();
        parts.extend(h.endpoints.iter().map(|e| &e.verdict));
        parts.extend(h.candidate.iter().map(|c| &c.verdict));
        if parts.len() == before {
            parts.push(&h.verdict);
        }
    }
    let first = |s: Status| {
        parts
            .iter()
            .find(|v| v.status == s)
            .map(|v| v.reason.clone())
    };
    let count = |s: Status| parts.iter().filter(|v| v.status == s).count();
    let (verified, failed) = (count(Status::Verified), count(Status::Failed));
    if failed > 0 {
        let reason = first(Status::Failed).unwrap_or_default();
        return if verified > 0 {
            (
                DomainVerdict::Partial,
                format!("{failed} of {} endpoints fail: {reason}", parts.len()),
            )
        } else {
            (DomainVerdict::Failed, reason)
        };
    }
    if let Some(reason) = first(Status::Indeterminate) {
        return (DomainVerdict::Indeterminate, reason);
    }
    if let Some(reason) = first(Status::UnauthenticatedTls) {
        return (DomainVerdict::UnauthenticatedTls, reason);
    }
    if verified > 0 {
        let n = parts.len();
        let reason = if verified == n {
            format!("all {n} endpoints authenticate with DANE")
        } else {
            format!(
                "{verified} endpoints authenticate with DANE; {} are not covered by DANE",
                n - verified
            )
        };
        return (DomainVerdict::Verified, reason);
    }
    match first(Status::NotProtected) {
        Some(reason) => (DomainVerdict::NotProtected, reason),
        None => (DomainVerdict::Indeterminate, "no host to check".to_owned()),
    }
}

/// The warnings a host's results call for, at `now` with a horizon of `warn_days`.
pub fn host_warnings(host: &HostReport, now: u64, warn_days: u32, smtp: bool) -> Vec<Warning> {
    let horizon = now.saturating_add(u64::from(warn_days) * 86_400);
    let warn = |code, message: String| Warning {
        code,
        host: Some(host.name.clone()),
        message,
    };
    let mut out = Vec::new();
    if host.addresses_left_out > 0 {
        out.push(warn(
            "too-many-addresses",
            format!(
                "{} more addresses of {} were not probed (at most {} per host)",
                host.addresses_left_out,
                host.name,
                crate::engine::MAX_ADDRESSES
            ),
        ));
    }
    let records: Vec<&TlsaRecord> = host
        .tlsa
        .iter()
        .flat_map(|t| t.lookups.iter())
        .flat_map(|l| l.records())
        .collect();
    for r in &records {
        if smtp && matches!(r.usage, CertUsage::PkixTa | CertUsage::PkixEe) {
            out.push(warn(
                "pkix-usage-in-smtp",
                format!(
                    "TLSA {} uses a PKIX usage, which SMTP senders ignore (RFC 7672 3.1.3)",
                    r.parameters()
                ),
            ));
        } else if let Err(why) = r.usability() {
            out.push(warn(
                "unusable-record",
                format!("TLSA {} is unusable: {why}", r.parameters()),
            ));
        }
    }
    let lookups_expiring = host
        .addresses
        .iter()
        .map(|a| (a.lookup.name.as_str(), a.rtype, a.lookup.expires))
        .chain(
            host.tlsa
                .iter()
                .flat_map(|t| t.lookups.iter())
                .map(|l| (l.name.as_str(), "TLSA", l.expires)),
        );
    // One warning per expiry time: the lookups of a host usually share a chain of trust.
    let mut expiring: Vec<(u64, Vec<String>)> = Vec::new();
    for (name, what, expires) in lookups_expiring {
        if let Some(exp) = expires.filter(|&e| e <= horizon) {
            let lookup = format!("{what} {name}");
            match expiring.iter_mut().find(|(e, _)| *e == exp) {
                Some((_, lookups)) => lookups.push(lookup),
                None => expiring.push((exp, vec![lookup])),
            }
        }
    }
    for (exp, lookups) in expiring {
        out.push(warn(
            "rrsig-expires",
            format!(
                "a signature that validates {} (itself or its chain of trust) expires at {}, within {warn_days} days: the zone must be re-signed before then",
                lookups.join(", "),
                fmt_time(exp)
            ),
        ));
    }
    if let Some(t) = &host.tlsa {
        if let (Some(original), Some(used)) = (&t.original, t.lookups.last()) {
            let mut a: Vec<String> = used
                .records()
                .iter()
                .map(TlsaRecord::presentation)
                .collect();
            let mut b: Vec<String> = original
                .records()
                .iter()
                .map(TlsaRecord::presentation)
                .collect();
            a.sort();
            b.sort();
            if original.security.is_secure() && !b.is_empty() && a != b {
                out.push(warn(
                    "tlsa-differs",
                    format!(
                        "the TLSA records at {} differ from those at {} (which senders use, RFC 7672 2.2.3): keep them in step or remove one",
                        original.name, used.name
                    ),
                ));
            }
        }
    }
    for e in &host.endpoints {
        let Some(report) = &e.tlsa_match else {
            continue;
        };
        // RFC 7671 5.2.2: the server must send the CA a DANE-TA record designates (except a
        // full 2 x 0 key or certificate, which carries it).
        for o in &report.records {
            if o.record.usage == CertUsage::DaneTa && o.status == RecordStatus::NotMatched {
                out.push(warn(
                    "ta-not-sent",
                    format!(
                        "{}: TLSA {} matches no certificate the server sends: if it designates a CA (the root?), the server must send that CA in its chain (RFC 7671 5.2.2)",
                        e.address,
                        o.record.parameters()
                    ),
                ));
            }
        }
        let matched: Vec<_> = report
            .records
            .iter()
            .filter(|r| r.status == RecordStatus::Matched)
            .collect();
        if matched.len() == 1 && report.records.len() == 1 {
            out.push(warn(
                "no-spare-record",
                format!(
                    "{}: only one TLSA record, and it matches: publish the next key's record before the rollover (RFC 7671 8.1)",
                    e.address
                ),
            ));
        }
        // Certificate expiry: informational under DANE-EE (no dates are checked), a
        // coming outage under DANE-TA (dates below the anchor are checked).
        for m in &matched {
            let Some(depth) = m.depth else { continue };
            let (label, span) = match m.record.usage {
                CertUsage::DaneEe => (
                    "informational: DANE-EE ignores dates, but the certificate is due for renewal",
                    0..1,
                ),
                _ => ("DANE-TA checks dates: the endpoint fails then", 0..depth),
            };
            for d in span {
                if let Some(c) = e.chain.get(d) {
                    let not_after = u64::try_from(c.not_after).unwrap_or(0);
                    if not_after <= horizon {
                        out.push(warn(
                            "certificate-expires",
                            format!(
                                "{}: certificate {d} ({}) expires at {} ({label})",
                                e.address,
                                c.subject,
                                fmt_time(not_after)
                            ),
                        ));
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| (a.code, &a.message).cmp(&(b.code, &b.message)));
    out.dedup();
    out
}

/// Seconds since the epoch as RFC 3339 UTC, for messages.
pub fn fmt_time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{secs}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_796_083_200, "2026-12-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
        ] {
            assert_eq!(fmt_time(secs), text);
        }
    }

    fn host(verdicts: &[(Status, &str)]) -> HostReport {
        HostReport {
            name: "mx.example.".into(),
            port: 25,
            preference: Some(10),
            addresses: vec![],
            tlsa: None,
            no_dane: None,
            verdict: Verdict::new(Status::NotProtected, "host not covered"),
            candidate: None,
            addresses_left_out: 0,
            endpoints: verdicts
                .iter()
                .map(|(s, r)| EndpointReport {
                    address: "192.0.2.1".parse().unwrap(),
                    port: 25,
                    verdict: Verdict::new(*s, *r),
                    tls: None,
                    chain: vec![],
                    tlsa_match: None,
                })
                .collect(),
        }
    }

    #[test]
    fn domain_verdicts() {
        use Status::*;
        let check = |parts: &[(Status, &str)], expected: DomainVerdict, says: &str| {
            let (v, reason) = domain_verdict(&[host(parts)]);
            assert_eq!(v, expected, "{parts:?}");
            assert!(reason.contains(says), "{parts:?}: {reason}");
        };
        check(
            &[(Verified, "a"), (Verified, "b")],
            DomainVerdict::Verified,
            "all 2",
        );
        check(
            &[(Verified, "a"), (Failed, "bad cert")],
            DomainVerdict::Partial,
            "bad cert",
        );
        check(
            &[(Failed, "x"), (Indeterminate, "y")],
            DomainVerdict::Failed,
            "x",
        );
        check(
            &[(Verified, "a"), (Indeterminate, "t/o")],
            DomainVerdict::Indeterminate,
            "t/o",
        );
        check(
            &[(UnauthenticatedTls, "u"), (Verified, "a")],
            DomainVerdict::UnauthenticatedTls,
            "u",
        );
        check(
            &[(Verified, "a"), (NotProtected, "n")],
            DomainVerdict::Verified,
            "not covered",
        );
        check(&[(NotProtected, "n")], DomainVerdict::NotProtected, "n");
        check(&[], DomainVerdict::NotProtected, "host");
    }
}
