//! The report of one `dane verify` run: every lookup, host and endpoint with its verdict and
//! reason, the warnings, and the domain's verdict. Serialised as the `--json` document
//! (schema version [`SCHEMA_VERSION`], documented in docs/verify.md and docs/json.md).

use std::net::IpAddr;

use dane_tlsa::{CertUsage, MatchReport, RecordStatus, TlsaRecord};
use serde::Serialize;

use crate::dns::{Lookup, Mx, Resolution, Srv};
use crate::host::NoDane;
use crate::service::SrvPlan;
use crate::smtp::MxPlan;
use crate::threshold::{Period, Threshold, Thresholds};
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
    /// The key algorithm of the presented leaf (`rsa`, `ecdsa`, `eddsa`), when a chain was
    /// seen and its key is of one of these families. An address that holds several chains
    /// has one endpoint per algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// The family the probe that found this chain offered alone; absent for the probe
    /// with the usual offer (every algorithm, as senders offer them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered: Option<String>,
    /// On the endpoint of the usual offer: what each probe offering only another family
    /// found (`--all-certs`, the default of `verify`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_offers: Vec<crate::multicert::OfferProbe>,
    /// When no record authenticates the chain: the zone-file lines that would (`3 1 1`
    /// of the presented key, `2 1 1` of its issuer when the server sent it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<String>,
    /// When no record authenticates the chain: what to do, in one sentence ("server
    /// presents 3 1 1 ...: publish that, or deploy the key of record 1").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The chain was seen by an earlier probe of the same endpoint in this run (`dane
    /// scan`, `dane serve-metrics`: the run-wide probe cache), not by a handshake of this
    /// target's own; omitted from JSON when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
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
    /// What every authoritative server of the TLSA owner's zone serves, judged against
    /// the validated RRset and the presented chains (`dane verify` without
    /// `--no-each-server`); omitted from JSON when the servers were not asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub servers: Option<crate::servers::ServerCheck>,
}

/// The rollover pre-check of one host: the candidate certificate or key against its TLSA
/// records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateReport {
    /// Whether a DANE sender would accept the candidate.
    pub verdict: Verdict,
    /// Every record's outcome against the candidate.
    pub tlsa_match: Option<MatchReport>,
    /// When the candidate would not be accepted: the zone-file lines to add at the host's
    /// TLSA owner (`3 1 1` for its key, `2 1 1` for its issuer when a chain was given).
    pub publish: Vec<String>,
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
    /// Every authoritative server of the address RRset's zone, judged (issue 23: a host
    /// DANE applies to, unless `--no-each-server`); omitted from JSON when the servers
    /// were not asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub servers: Option<crate::servers::ServerCheck>,
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
    /// A stable code for scripts (`certificate-expires`, `certificate-expires-info`,
    /// `rrsig-expires`, `no-spare-record`,
    /// `pkix-usage-in-smtp`, `unusable-record`, `ignored-mx`, `not-covered`, `weak-key`,
    /// `algorithm-probe-failed`, `too-many-records`, `issuer-family`; of the authoritative
    /// servers, [`crate::servers`]: `ns-stale`, `ns-unreachable`, `ns-refuses-tlsa`, `ns-refuses`,
    /// `ns-rrsig-expires`, `ns-not-asked`).
    pub code: &'static str,
    /// The host it concerns, if any.
    pub host: Option<String>,
    /// Zone-file lines to publish that would resolve it (`issuer-family`: the DANE-TA
    /// records of the other members of the issuing family); omitted from JSON when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
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
    /// Every authoritative server of the MX RRset's zone, judged (issue 23: a secure MX
    /// RRset, unless `--no-each-server`); omitted from JSON when the servers were not
    /// asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mx_servers: Option<crate::servers::ServerCheck>,
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

/// What one part of a domain's verdict is: an endpoint probed, a candidate judged, or a
/// host that has neither (its own verdict stands for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Endpoint,
    Candidate,
    Host,
    /// An authoritative server whose TLSA RRset would not authenticate a presented chain
    /// (only failing servers are parts: [`crate::servers`]).
    Server,
}

/// `n` parts of each kind, in words: `2 endpoints`, `1 endpoint and 1 candidate`.
fn parts_phrase(parts: &[(Part, &Verdict)], keep: impl Fn(&Verdict) -> bool) -> String {
    let count = |k: Part| parts.iter().filter(|(p, v)| *p == k && keep(v)).count();
    let mut words = Vec::new();
    for (kind, one, many) in [
        (Part::Endpoint, "endpoint", "endpoints"),
        (Part::Candidate, "candidate", "candidates"),
        (Part::Host, "host", "hosts"),
        (Part::Server, "name server address", "name server addresses"),
    ] {
        match count(kind) {
            0 => {}
            1 => words.push(format!("1 {one}")),
            n => words.push(format!("{n} {many}")),
        }
    }
    if words.is_empty() {
        "nothing".to_owned()
    } else {
        words.join(" and ")
    }
}

/// The domain's verdict from its hosts' endpoints and candidates (or the host verdicts of
/// hosts with neither), with the reason of the part that decided it. The counts in the
/// reason are those of endpoints and candidates separately, as the monitoring formats
/// count them.
pub fn domain_verdict(hosts: &[HostReport]) -> (DomainVerdict, String) {
    domain_verdict_with(hosts, &[])
}

/// [`domain_verdict`] with the failures the authoritative servers of the domain's own
/// RRsets cause (the MX RRset's zone: [`Report::mx_servers`]), each a part of its own.
pub fn domain_verdict_with(
    hosts: &[HostReport],
    domain_failures: &[Verdict],
) -> (DomainVerdict, String) {
    let mut parts: Vec<(Part, &Verdict)> = Vec::new();
    for h in hosts {
        let before = parts.len();
        parts.extend(h.endpoints.iter().map(|e| (Part::Endpoint, &e.verdict)));
        parts.extend(h.candidate.iter().map(|c| (Part::Candidate, &c.verdict)));
        if parts.len() == before {
            parts.push((Part::Host, &h.verdict));
        }
        parts.extend(
            host_server_checks(h)
                .flat_map(|s| s.failures.iter())
                .map(|v| (Part::Server, v)),
        );
    }
    parts.extend(domain_failures.iter().map(|v| (Part::Server, v)));
    let first = |s: Status| {
        parts
            .iter()
            .find(|(_, v)| v.status == s)
            .map(|(_, v)| v.reason.clone())
    };
    let count = |s: Status| parts.iter().filter(|(_, v)| v.status == s).count();
    let (verified, failed) = (count(Status::Verified), count(Status::Failed));
    let all = parts_phrase(&parts, |_| true);
    if failed > 0 {
        let reason = first(Status::Failed).unwrap_or_default();
        return if verified > 0 {
            let one_kind = parts.iter().all(|(k, _)| *k == parts[0].0);
            let failing = if one_kind {
                format!("{failed} of {all}")
            } else {
                let f = parts_phrase(&parts, |v| v.status == Status::Failed);
                format!("{f} (of {all})")
            };
            (DomainVerdict::Partial, format!("{failing} fail: {reason}"))
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
        let reason = if verified == 1 && parts.len() == 1 {
            format!("{all} authenticates with DANE")
        } else if verified == parts.len() {
            format!("all {all} authenticate with DANE")
        } else {
            let ok = parts_phrase(&parts, |v| v.status == Status::Verified);
            let rest = parts_phrase(&parts, |v| v.status != Status::Verified);
            format!("{ok} authenticate with DANE; {rest} not covered by DANE")
        };
        return (DomainVerdict::Verified, reason);
    }
    match first(Status::NotProtected) {
        Some(reason) => (DomainVerdict::NotProtected, reason),
        None => (DomainVerdict::Indeterminate, "no host to check".to_owned()),
    }
}

/// Warning codes that are advice, not trouble: they are reported (text, JSON, the long
/// output of the nagios format) but make neither a nagios WARNING nor a `--strict`
/// failure unless asked for (`--require-spare` for `no-spare-record`).
/// `certificate-expires-info` is the expiry of a certificate that a DANE-EE record
/// authenticates: DANE-EE ignores dates (RFC 7671 5.1), so it never changes a state.
pub const ADVICE: [&str; 2] = ["no-spare-record", "certificate-expires-info"];

impl Warning {
    /// Whether the warning is advice (see [`ADVICE`]).
    pub fn is_advice(&self) -> bool {
        ADVICE.contains(&self.code)
    }

    /// Whether the warning counts (a nagios WARNING, a `--strict` failure): every warning
    /// but advice, and `no-spare-record` too with `require_spare` (`--require-spare`).
    pub fn counts(&self, require_spare: bool) -> bool {
        !self.is_advice() || (require_spare && self.code == "no-spare-record")
    }
}

/// The warnings a host's results call for, at `now` with the expiry `thresholds`.
pub fn host_warnings(
    host: &HostReport,
    now: u64,
    thresholds: Thresholds,
    smtp: bool,
) -> Vec<Warning> {
    let mut out = Vec::new();
    out.extend(addresses_left_out(host));
    out.extend(record_usability(host, smtp));
    out.extend(signature_expiry(host, now, thresholds.rrsig));
    out.extend(validator_warnings(host));
    out.extend(tlsa_differs(host));
    out.extend(spare_record(host));
    out.extend(too_many_records(host));
    out.extend(server_warnings(host));
    for e in &host.endpoints {
        out.extend(ta_not_sent(host, e));
        out.extend(certificate_expiry(host, e, now, thresholds.cert));
        out.extend(offer_failed(host, e));
    }
    out.sort_by(|a, b| (a.code, &a.message).cmp(&(b.code, &b.message)));
    out.dedup();
    out
}

/// Every judged set of authoritative servers of a host: its TLSA owner's zone, then its
/// address RRsets' zones ([`crate::servers`]).
pub fn host_server_checks(host: &HostReport) -> impl Iterator<Item = &crate::servers::ServerCheck> {
    host.tlsa
        .iter()
        .filter_map(|t| t.servers.as_ref())
        .chain(host.addresses.iter().filter_map(|a| a.servers.as_ref()))
}

/// What a host's authoritative servers call for ([`crate::servers`]).
fn server_warnings(host: &HostReport) -> Vec<Warning> {
    host_server_checks(host)
        .flat_map(|c| server_check_warnings(c, Some(&host.name)))
        .collect()
}

/// What one set of authoritative servers calls for: each row's warning, and
/// `ns-not-asked` for servers never asked; about `host`, or the domain when `None`.
pub fn server_check_warnings(
    check: &crate::servers::ServerCheck,
    host: Option<&str>,
) -> Vec<Warning> {
    let warning = |code, message| Warning {
        code,
        host: host.map(str::to_owned),
        records: Vec::new(),
        message,
    };
    let mut out: Vec<Warning> = check
        .servers
        .iter()
        .filter_map(|r| r.warning.map(|code| warning(code, r.detail.clone())))
        .collect();
    if !check.not_asked.is_empty() {
        out.push(warning(
            "ns-not-asked",
            format!(
                "not every authoritative server of {} {} was asked: {}",
                check.owner,
                check.rtype,
                check.not_asked.join("; ")
            ),
        ));
    }
    out
}

fn warn(host: &HostReport, code: &'static str, message: String) -> Warning {
    Warning {
        code,
        host: Some(host.name.clone()),
        records: Vec::new(),
        message,
    }
}

/// `issuer-family`: DANE-TA records that pin one member of a CA family that issues from
/// several intermediates at random (or from a generation that has been replaced), so a
/// renewal from a sibling fails every DANE sender (RFC 7671 5.2 authenticates only what the
/// designated CA issues). The records of the members the set lacks come with it. Members
/// are found by the record data (`2 1 1`, `2 0 1`, `2 x 0`) and through the certificates
/// DANE-TA records matched in the presented chains (any matching type).
pub fn family_warnings(
    host: &HostReport,
    families: &dane_tlsa::CaFamilies,
    now: u64,
) -> Vec<Warning> {
    let Some(t) = host.tlsa.as_ref().filter(|t| t.usable.is_some()) else {
        return Vec::new();
    };
    // The set senders use: the last TLSA lookup made (RFC 7672 2.2.3).
    let Some(used) = t.lookups.last() else {
        return Vec::new();
    };
    let matched: Vec<[u8; 32]> = host
        .endpoints
        .iter()
        .filter_map(|e| e.tlsa_match.as_ref().map(|m| (e, m)))
        .flat_map(|(e, m)| {
            m.records
                .iter()
                .filter(|o| o.record.usage == CertUsage::DaneTa)
                .filter(|o| o.status == RecordStatus::Matched)
                .filter_map(|o| e.chain.get(o.depth?))
        })
        .filter_map(|c| {
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(c.spki_sha256.as_bytes())
                .ok()
        })
        .filter_map(|d| <[u8; 32]>::try_from(d.as_slice()).ok())
        .collect();
    families
        .advise(used.records(), &matched, now)
        .into_iter()
        .map(|advice| Warning {
            code: "issuer-family",
            host: Some(host.name.clone()),
            records: advice
                .missing
                .iter()
                .map(|r| format!("{} IN TLSA {}", used.name, r.presentation()))
                .collect(),
            message: format!("{}: TLSA at {}: {advice}", host.name, used.name),
        })
        .collect()
}

/// `host address:port`, as the warnings name an endpoint (two MX hosts can share an
/// address).
fn endpoint_name(host: &HostReport, e: &EndpointReport) -> String {
    // An address that holds several chains has an endpoint per key algorithm.
    let shared = host
        .endpoints
        .iter()
        .filter(|o| (o.address, o.port) == (e.address, e.port))
        .count()
        > 1;
    let algorithm = match (&e.algorithm, shared) {
        (Some(a), true) => dane_probe::KeyFamily::from_name(a)
            .map(|f| format!(" ({f} certificate)"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    format!(
        "{} {}{algorithm}",
        host.name,
        std::net::SocketAddr::new(e.address, e.port)
    )
}

/// A probe offering only one signature-algorithm family got no answer: whether the server
/// holds a certificate for the senders that negotiate it is unknown (`--all-certs`).
fn offer_failed<'a>(
    host: &'a HostReport,
    e: &'a EndpointReport,
) -> impl Iterator<Item = Warning> + 'a {
    e.other_offers
        .iter()
        .filter(|o| o.found == "failed")
        .map(move |o| {
            warn(
                host,
                "algorithm-probe-failed",
                format!(
                    "{}: the probe offering only {} signature algorithms failed ({}): a certificate for the senders that negotiate them was not checked",
                    endpoint_name(host, e),
                    dane_probe::KeyFamily::from_name(o.offered)
                        .map_or_else(|| o.offered.to_owned(), |f| f.to_string()),
                    o.detail.as_deref().unwrap_or("no detail")
                ),
            )
        })
}

/// The host's TLSA records, every lookup's.
fn tlsa_records(host: &HostReport) -> Vec<&TlsaRecord> {
    host.tlsa
        .iter()
        .flat_map(|t| t.lookups.iter())
        .flat_map(|l| l.records())
        .collect()
}

/// Bounded work (ARCHITECTURE.md invariant 7): the addresses not probed.
fn addresses_left_out(host: &HostReport) -> Option<Warning> {
    (host.addresses_left_out > 0).then(|| {
        warn(
            host,
            "too-many-addresses",
            format!(
                "{} more addresses of {} were not probed (at most {} per host)",
                host.addresses_left_out,
                host.name,
                crate::limits::MAX_ADDRESSES
            ),
        )
    })
}

/// RFC 7672 3.1.3 (PKIX usages, which SMTP senders ignore) and RFC 7671 4.1 (records no
/// client can use).
fn record_usability(host: &HostReport, smtp: bool) -> Vec<Warning> {
    let mut out = Vec::new();
    for r in tlsa_records(host) {
        if smtp && matches!(r.usage, CertUsage::PkixTa | CertUsage::PkixEe) {
            out.push(warn(
                host,
                "pkix-usage-in-smtp",
                format!(
                    "{}: TLSA {} uses a PKIX usage, which SMTP senders ignore (RFC 7672 3.1.3)",
                    host.name,
                    r.parameters()
                ),
            ));
        } else if let Err(why) = r.usability() {
            out.push(warn(
                host,
                "unusable-record",
                format!("{}: TLSA {} is unusable: {why}", host.name, r.parameters()),
            ));
        }
    }
    out
}

/// The signatures the host's lookups rest on, expired or due under the threshold: one
/// warning per expiry time (the lookups of a host usually share a chain of trust).
fn signature_expiry(host: &HostReport, now: u64, threshold: Threshold) -> Vec<Warning> {
    let period = |expires: Option<u64>, inception: Option<u64>| {
        expires.map(|end| Period {
            start: inception,
            end,
        })
    };
    let lookups = host
        .addresses
        .iter()
        .map(|a| {
            let l = &a.lookup;
            (l.name.as_str(), a.rtype, period(l.expires, l.inception))
        })
        .chain(
            host.tlsa
                .iter()
                .flat_map(|t| t.lookups.iter())
                .map(|l| (l.name.as_str(), "TLSA", period(l.expires, l.inception))),
        );
    let mut expiring: Vec<(Period, Vec<String>)> = Vec::new();
    for (name, what, period) in lookups {
        let Some(p) = period.filter(|&p| threshold.due(p, now)) else {
            continue;
        };
        let lookup = format!("{what} {name}");
        match expiring.iter_mut().find(|(e, _)| e.end == p.end) {
            Some((_, lookups)) => lookups.push(lookup),
            None => expiring.push((p, vec![lookup])),
        }
    }
    expiring
        .into_iter()
        .map(|(p, lookups)| {
            let message = if p.end <= now {
                format!(
                    "a signature that {} rests on (itself or its chain of trust) expired at {}: the zone must be re-signed",
                    lookups.join(", "),
                    fmt_time(p.end)
                )
            } else {
                format!(
                    "a signature that validates {} (itself or its chain of trust) expires at {}, {}: the zone must be re-signed before then",
                    lookups.join(", "),
                    fmt_time(p.end),
                    threshold.describe(p)
                )
            };
            warn(host, "rrsig-expires", message)
        })
        .collect()
}

/// RFC 7672 2.2.3: senders use the TLSA records at the CNAME-expanded name; records at the
/// original name that differ are a trap for the next change.
/// The validator's own warnings (`weak-key`: an RSA key under 1024 bits verified a
/// signature, RFC 5702 allows it), once per zone and key.
fn validator_warnings(host: &HostReport) -> Vec<Warning> {
    let mut seen: Vec<(&str, u16)> = Vec::new();
    let mut out = Vec::new();
    let dnssec = host
        .addresses
        .iter()
        .flat_map(|a| a.lookup.dnssec_warnings.iter())
        .chain(
            host.tlsa
                .iter()
                .flat_map(|t| t.lookups.iter())
                .flat_map(|l| l.dnssec_warnings.iter()),
        );
    for w in dnssec {
        if seen.contains(&(w.zone.as_str(), w.key_tag)) {
            continue;
        }
        seen.push((w.zone.as_str(), w.key_tag));
        out.push(warn(host, w.code.as_str(), w.detail.clone()));
    }
    out
}

fn tlsa_differs(host: &HostReport) -> Option<Warning> {
    let t = host.tlsa.as_ref()?;
    let (original, used) = (t.original.as_ref()?, t.lookups.last()?);
    let texts = |l: &crate::dns::Lookup<TlsaRecord>| {
        let mut v: Vec<String> = l.records().iter().map(TlsaRecord::presentation).collect();
        v.sort();
        v
    };
    let (a, b) = (texts(used), texts(original));
    (original.security.is_secure() && !b.is_empty() && a != b).then(|| {
        warn(
            host,
            "tlsa-differs",
            format!(
                "the TLSA records at {} differ from those at {} (which senders use, RFC 7672 2.2.3): keep them in step or remove one",
                original.name, used.name
            ),
        )
    })
}

/// RFC 7671 8.1 (advice): a single TLSA record that matches leaves no room for a key
/// rollover; one warning per host (its addresses share the record set).
fn spare_record(host: &HostReport) -> Option<Warning> {
    // The set senders use: the last TLSA lookup made (RFC 7672 2.2.3).
    let used = host.tlsa.as_ref()?.lookups.last()?.records();
    let [only] = used else {
        return None;
    };
    let matched = host.endpoints.iter().any(|e| {
        e.tlsa_match.as_ref().is_some_and(|m| {
            m.records
                .iter()
                .any(|r| r.record == *only && r.status == RecordStatus::Matched)
        })
    });
    if !matched {
        return None;
    }
    let parameters = only.parameters();
    Some(warn(
        host,
        "no-spare-record",
        format!(
            "{}: only one TLSA record ({parameters}), and it matches: publish the next key's record before the rollover (RFC 7671 8.1)",
            host.name
        ),
    ))
}

/// Most TLSA records at one owner before `too-many-records` warns: large sets are handled
/// badly by some senders (issue 23 reports about 12 for Microsoft's), and a set this long
/// usually keeps records of keys no longer deployed.
pub const MAX_TLSA_RECORDS: usize = 12;

/// A TLSA RRset senders use with more than [`MAX_TLSA_RECORDS`] records.
fn too_many_records(host: &HostReport) -> Option<Warning> {
    // The set senders use: the last TLSA lookup made (RFC 7672 2.2.3).
    let used = host.tlsa.as_ref()?.lookups.last()?;
    let n = used.records().len();
    (n > MAX_TLSA_RECORDS).then(|| {
        warn(
            host,
            "too-many-records",
            format!(
                "{}: {n} TLSA records at {}: some senders handle only about {MAX_TLSA_RECORDS}; retire the records of keys and CAs no longer deployed",
                host.name, used.name
            ),
        )
    })
}

/// RFC 7671 5.2.2: the server must send the CA a DANE-TA record designates (except a full
/// `2 x 0` key or certificate, which carries it).
fn ta_not_sent(host: &HostReport, e: &EndpointReport) -> Vec<Warning> {
    let Some(report) = &e.tlsa_match else {
        return Vec::new();
    };
    report
        .records
        .iter()
        .filter(|o| o.record.usage == CertUsage::DaneTa && o.status == RecordStatus::NotMatched)
        .map(|o| {
            warn(
                host,
                "ta-not-sent",
                format!(
                    "{}: TLSA {} matches no certificate the server sends: if it designates a CA (the root?), the server must send that CA in its chain (RFC 7671 5.2.2)",
                    endpoint_name(host, e),
                    o.record.parameters()
                ),
            )
        })
        .collect()
}

/// Certificate expiry of what a matched record rests on: informational under DANE-EE
/// (RFC 7671 5.1: no dates are checked; advice, `certificate-expires-info`), a coming
/// outage under DANE-TA (dates below the anchor are checked, RFC 7671 5.2).
fn certificate_expiry(
    host: &HostReport,
    e: &EndpointReport,
    now: u64,
    threshold: Threshold,
) -> Vec<Warning> {
    let Some(report) = &e.tlsa_match else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in report
        .records
        .iter()
        .filter(|r| r.status == RecordStatus::Matched)
    {
        let Some(depth) = m.depth else { continue };
        let (code, label, span) = match m.record.usage {
            CertUsage::DaneEe => (
                "certificate-expires-info",
                "informational: DANE-EE ignores dates, but the certificate is due for renewal",
                0..1,
            ),
            _ => (
                "certificate-expires",
                "DANE-TA checks dates: the endpoint fails then",
                0..depth,
            ),
        };
        for d in span {
            let Some(c) = e.chain.get(d) else { continue };
            let period = Period {
                start: u64::try_from(c.not_before).ok(),
                end: u64::try_from(c.not_after).unwrap_or(0),
            };
            if !threshold.due(period, now) {
                continue;
            }
            let when = if period.end <= now {
                format!("expired at {}", fmt_time(period.end))
            } else {
                format!(
                    "expires at {}, {}",
                    fmt_time(period.end),
                    threshold.describe(period)
                )
            };
            out.push(warn(
                host,
                code,
                format!(
                    "{}: certificate {d} ({}) {when} ({label})",
                    endpoint_name(host, e),
                    c.subject,
                ),
            ));
        }
    }
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
                    algorithm: None,
                    offered: None,
                    other_offers: Vec::new(),
                    publish: Vec::new(),
                    fix: None,
                    cached: false,
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
            "all 2 endpoints",
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

    const NOW: u64 = 1_796_083_200;
    const DAY: u64 = 86_400;

    /// One endpoint whose record `usage` matched at depth `depth`, presenting a leaf and a
    /// CA valid from `start` to `end` (days from NOW).
    fn presenting(usage: CertUsage, depth: usize, start: i64, end: i64) -> HostReport {
        let at = |days: i64| i64::try_from(NOW).unwrap() + days * 86_400;
        let cert = |subject: &str| CertInfo {
            subject: subject.into(),
            issuer: "CN=CA".into(),
            sans: vec![],
            not_before: at(start),
            not_after: at(end),
            key: "EC P-256".into(),
            spki_sha256: String::new(),
        };
        let record = TlsaRecord::new(
            usage,
            dane_tlsa::Selector::Spki,
            dane_tlsa::MatchingType::Sha256,
            vec![0; 32],
        );
        let mut h = host(&[(Status::Verified, "ok")]);
        h.endpoints[0].chain = vec![cert("CN=leaf"), cert("CN=CA")];
        h.endpoints[0].tlsa_match = Some(MatchReport {
            verdict: dane_tlsa::Verdict::Authenticated,
            reason: String::new(),
            records: vec![dane_tlsa::RecordOutcome {
                index: 0,
                record,
                status: RecordStatus::Matched,
                depth: Some(depth),
                unusable: None,
                detail: String::new(),
            }],
            chain_length: 2,
        });
        h
    }

    /// A host whose TLSA RRset (DANE applies) is `records`, presenting a chain whose CA has
    /// this SPKI digest, matched by DANE-TA record `matched` at depth 1.
    fn pinning(records: Vec<TlsaRecord>, ca_spki: &str, matched: Option<usize>) -> HostReport {
        let mut h = presenting(CertUsage::DaneTa, 1, -10, 80);
        h.endpoints[0].chain[1].spki_sha256 = ca_spki.into();
        let report = h.endpoints[0].tlsa_match.as_mut().unwrap();
        report.records = records
            .iter()
            .enumerate()
            .map(|(i, r)| dane_tlsa::RecordOutcome {
                index: i,
                record: r.clone(),
                status: if Some(i) == matched {
                    RecordStatus::Matched
                } else {
                    RecordStatus::NotMatched
                },
                depth: (Some(i) == matched).then_some(1),
                unusable: None,
                detail: String::new(),
            })
            .collect();
        h.tlsa = Some(TlsaReport {
            lookups: vec![Lookup {
                name: "_25._tcp.mx.example.".into(),
                canonical: "_25._tcp.mx.example.".into(),
                security: crate::dns::Security::Secure,
                answer: crate::dns::Answer::Records(records),
                expires: None,
                inception: None,
                dnssec_warnings: Vec::new(),
            }],
            base: Some("mx.example.".into()),
            usable: Some(1),
            source: "dns",
            original: None,
            servers: None,
        });
        h
    }

    /// issue 23: a `2 1 1` for one of Let's Encrypt's YE1-YE3 warns with the other two
    /// records; the whole family, a `3 1 1`, or a set DANE does not apply to, does not.
    #[test]
    fn issuer_family_pinned_to_one_member() {
        let families = dane_tlsa::CaFamilies::embedded();
        let ye = &families.families()[0];
        let hex = |m: &dane_tlsa::Member| data_encoding::HEXLOWER.encode(&m.spki_sha256);
        let one = vec![ye.members[0].record(dane_tlsa::Selector::Spki)];
        let w = family_warnings(
            &pinning(one.clone(), &hex(&ye.members[0]), Some(0)),
            families,
            NOW,
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].code, "issuer-family");
        assert!(w[0].counts(false), "a coming outage counts");
        assert!(
            w[0].message
                .starts_with("mx.example.: TLSA at _25._tcp.mx.example.: DANE-TA pins YE1"),
            "{}",
            w[0].message
        );
        assert_eq!(
            w[0].records,
            [1, 2].map(|i| format!(
                "_25._tcp.mx.example. IN TLSA {}",
                ye.members[i].record(dane_tlsa::Selector::Spki)
            ))
        );
        // A SHA2-512 record is found through the CA certificate it matched.
        let sha512 = vec![TlsaRecord::new(
            CertUsage::DaneTa,
            dane_tlsa::Selector::Spki,
            dane_tlsa::MatchingType::Sha512,
            vec![9; 64],
        )];
        let w = family_warnings(
            &pinning(sha512.clone(), &hex(&ye.members[1]), Some(0)),
            families,
            NOW,
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].message.contains("pins YE2"), "{}", w[0].message);
        // ... but not when it did not match.
        assert!(
            family_warnings(&pinning(sha512, &hex(&ye.members[1]), None), families, NOW).is_empty()
        );
        // The whole family: nothing to add.
        let all: Vec<_> = ye
            .members
            .iter()
            .map(|m| m.record(dane_tlsa::Selector::Spki))
            .collect();
        assert!(
            family_warnings(&pinning(all, &hex(&ye.members[0]), Some(0)), families, NOW).is_empty()
        );
        // DANE does not apply: no advice about records nobody uses.
        let mut off = pinning(one, &hex(&ye.members[0]), Some(0));
        off.tlsa.as_mut().unwrap().usable = None;
        assert!(family_warnings(&off, families, NOW).is_empty());
    }

    /// The expiry warnings of a host (code, message) at NOW under `thresholds`.
    fn expiry(h: &HostReport, thresholds: Thresholds) -> Vec<(&'static str, String)> {
        host_warnings(h, NOW, thresholds, true)
            .into_iter()
            .filter(|w| w.code.contains("expire"))
            .map(|w| (w.code, w.message))
            .collect()
    }

    /// Certificates: a fifth of each validity by default; DANE-EE is advice, DANE-TA a
    /// warning for the chain below the anchor; a past date reads "expired at".
    #[test]
    fn certificate_expiry_thresholds() {
        use CertUsage::{DaneEe, DaneTa};
        let fifth = Thresholds::default();
        let days = |d| Thresholds {
            rrsig: Threshold::Fifth,
            cert: Threshold::Days(d),
        };
        for (what, usage, depth, (start, end), thresholds, expected) in [
            (
                "90-day EE, 30 days left",
                DaneEe,
                0,
                (-60, 30),
                fifth,
                vec![],
            ),
            (
                "90-day EE, 10 days left",
                DaneEe,
                0,
                (-80, 10),
                fifth,
                vec![(
                    "certificate-expires-info",
                    "with less than a fifth of its 90-day validity left",
                )],
            ),
            (
                "EE expired",
                DaneEe,
                0,
                (-90, -1),
                fifth,
                vec![(
                    "certificate-expires-info",
                    ") expired at 2026-11-30T00:00:00Z (informational",
                )],
            ),
            (
                "90-day EE, 30 days left, --warn-cert-days 20",
                DaneEe,
                0,
                (-60, 30),
                days(20),
                vec![],
            ),
            (
                "90-day EE, 30 days left, --warn-cert-days 31",
                DaneEe,
                0,
                (-60, 30),
                days(31),
                vec![("certificate-expires-info", "within 31 days")],
            ),
            (
                "TA at depth 1, 45-day chain with 8 days left",
                DaneTa,
                1,
                (-37, 8),
                fifth,
                vec![("certificate-expires", "certificate 0 (CN=leaf) expires at")],
            ),
            ("6-day EE, 2 days left", DaneEe, 0, (-4, 2), fifth, vec![]),
        ] {
            let got = expiry(&presenting(usage, depth, start, end), thresholds);
            assert_eq!(got.len(), expected.len(), "{what}: {got:?}");
            for ((code, message), (want_code, says)) in got.iter().zip(&expected) {
                assert_eq!(code, want_code, "{what}");
                assert!(message.contains(says), "{what}: {message}");
            }
        }
        let info = host_warnings(&presenting(DaneEe, 0, -90, -1), NOW, fifth, true);
        assert!(
            info.iter().all(|w| !w.counts(true)),
            "DANE-EE expiry is advice"
        );
    }

    /// Signatures: a fifth of the earliest-expiring signature's own validity.
    #[test]
    fn signature_expiry_thresholds() {
        let lookup = |inception: Option<u64>, expires: u64| AddressLookup {
            servers: None,
            rtype: "A",
            lookup: Lookup {
                name: "mx.example.".into(),
                canonical: "mx.example.".into(),
                security: crate::dns::Security::Secure,
                answer: crate::dns::Answer::Records(vec!["192.0.2.1".parse().unwrap()]),
                expires: Some(expires),
                inception,
                dnssec_warnings: Vec::new(),
            },
        };
        for (what, inception, expires, thresholds, says) in [
            (
                "14-day, 5 days left",
                Some(NOW - 9 * DAY),
                NOW + 5 * DAY,
                Thresholds::default(),
                None,
            ),
            (
                "14-day, 2 days left",
                Some(NOW - 12 * DAY),
                NOW + 2 * DAY,
                Thresholds::default(),
                Some("with less than a fifth of its 14-day validity left"),
            ),
            (
                "unknown start, 4 days left",
                None,
                NOW + 4 * DAY,
                Thresholds::default(),
                None,
            ),
            (
                "14-day, 5 days left, --warn-rrsig-days 7",
                Some(NOW - 9 * DAY),
                NOW + 5 * DAY,
                Thresholds {
                    rrsig: Threshold::Days(7),
                    cert: Threshold::Fifth,
                },
                Some("within 7 days"),
            ),
            (
                "expired",
                Some(NOW - 15 * DAY),
                NOW - DAY,
                Thresholds::default(),
                Some("expired at"),
            ),
        ] {
            let mut h = host(&[]);
            h.addresses = vec![lookup(inception, expires)];
            let got = expiry(&h, thresholds);
            match says {
                None => assert!(got.is_empty(), "{what}: {got:?}"),
                Some(says) => {
                    assert_eq!(got.len(), 1, "{what}: {got:?}");
                    assert_eq!(got[0].0, "rrsig-expires", "{what}");
                    assert!(got[0].1.contains(says), "{what}: {}", got[0].1);
                }
            }
        }
    }
}
