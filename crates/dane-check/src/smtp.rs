//! SMTP DANE (RFC 7672): the decisions a sender makes for a next-hop domain, one step at a
//! time, each from lookup results the caller fetched. The caller (the orchestrator) asks
//! the resolver for what a step needs and feeds the answers back; nothing here does I/O.
//!
//! The steps: [`mx_plan`] on the MX lookup; [`address_step`] for each MX host on its
//! address lookups; [`tlsa_step`], repeatedly, for the TLSA base domain candidates;
//! [`endpoint_verdict`] for each address once the server has been probed.

use std::net::IpAddr;

use dane_tlsa::{
    CertUsage, MatchOptions, MatchReport, Pkix, Spki, TlsaRecord, Verdict as TlsaVerdict,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;

use crate::dns::{Answer, Lookup, Mx, Security, fqdn};
use crate::verdict::{Status, Verdict};

/// The SMTP port: TLSA records live at `_25._tcp.<base>`.
pub const SMTP_PORT: u16 = 25;

/// What the MX lookup of the next-hop domain means for delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MxPlan {
    /// Deliver to these hosts, in preference order (equal preferences keep their order).
    Hosts {
        /// Whether the MX RRset is secure; when it is not, DANE applies to none of them.
        secure: bool,
        /// The hosts.
        hosts: Vec<Mx>,
        /// MX records that were skipped, with why (a `.` exchange beside real hosts).
        ignored: Vec<String>,
    },
    /// No MX RRset: the domain itself is the host (RFC 5321 section 5.1, implicit MX).
    Implicit {
        /// Whether the denial of the MX RRset is secure.
        secure: bool,
    },
    /// `MX 0 .` (RFC 7505): the domain accepts no mail.
    NullMx,
    /// The domain does not exist.
    NoSuchDomain {
        /// Whether the NXDOMAIN is secure.
        secure: bool,
    },
    /// No secure delivery decision is possible: mail would be deferred (RFC 7672 2.1.1).
    Failed {
        /// The lookup's status (bogus or indeterminate).
        security: Security,
    },
}

/// RFC 7672 section 2.2.1: the MX lookup decides where mail goes and whether the hosts'
/// TLSA records can be trusted at all.
pub fn mx_plan(lookup: &Lookup<Mx>) -> MxPlan {
    // RFC 7672 2.1.1: a bogus or indeterminate MX lookup means no secure decision is
    // possible; the domain's mail is deferred, never sent as if DANE did not apply.
    if lookup.security.is_failure() {
        return MxPlan::Failed {
            security: lookup.security.clone(),
        };
    }
    let secure = lookup.security.is_secure();
    match &lookup.answer {
        Answer::NxDomain => MxPlan::NoSuchDomain { secure },
        Answer::NoData => MxPlan::Implicit { secure },
        Answer::Records(records) => {
            // RFC 7505 section 3: a null MX is the only MX of its domain.
            let null = |mx: &Mx| fqdn(&mx.exchange) == ".";
            if records.iter().all(null) {
                return MxPlan::NullMx;
            }
            let mut ignored = Vec::new();
            let mut hosts = Vec::new();
            for mx in records {
                if null(mx) {
                    ignored.push(format!(
                        "MX {} . ignored: a null MX must be the only MX record (RFC 7505 3)",
                        mx.preference
                    ));
                } else if !hosts.iter().any(|h: &Mx| h.exchange == fqdn(&mx.exchange)) {
                    hosts.push(Mx {
                        preference: mx.preference,
                        exchange: fqdn(&mx.exchange),
                    });
                }
            }
            hosts.sort_by_key(|mx| mx.preference);
            MxPlan::Hosts {
                secure,
                hosts,
                ignored,
            }
        }
    }
}

/// The domain-level verdict of a plan that has no hosts to check, or `None` when hosts
/// (or the implicit host) are to be checked.
pub fn plan_verdict(domain: &str, plan: &MxPlan) -> Option<Verdict> {
    let domain = fqdn(domain);
    match plan {
        MxPlan::Hosts { .. } | MxPlan::Implicit { .. } => None,
        MxPlan::NullMx => Some(Verdict::new(
            Status::NotProtected,
            format!("{domain} publishes a null MX (RFC 7505): it accepts no mail"),
        )),
        MxPlan::NoSuchDomain { secure: true } => Some(Verdict::new(
            Status::Failed,
            format!("{domain} does not exist (secure NXDOMAIN): mail to it bounces"),
        )),
        MxPlan::NoSuchDomain { secure: false } => Some(Verdict::new(
            Status::Failed,
            format!("{domain} does not exist (NXDOMAIN, not DNSSEC-signed): mail to it bounces"),
        )),
        MxPlan::Failed { security } => Some(Verdict::new(
            failure_status(security),
            format!(
                "MX lookup for {domain} is {}: senders that do DANE defer the mail (RFC 7672 2.1.1)",
                security.describe()
            ),
        )),
    }
}

/// Why DANE does not apply to a host (opportunistic TLS at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NoDane {
    /// The MX RRset is insecure, so its host names could be an attacker's (RFC 7672 2.2.1).
    InsecureMx,
    /// The host's address records are insecure (RFC 7672 2.2.2).
    InsecureAddresses,
    /// The TLSA lookup is insecure.
    InsecureTlsa {
        /// The TLSA owner name.
        owner: String,
    },
    /// There are securely no TLSA records.
    NoTlsa {
        /// The TLSA owner names looked up.
        owners: Vec<String>,
    },
}

impl NoDane {
    /// The sentence for the report.
    pub fn describe(&self, host: &str) -> String {
        match self {
            NoDane::InsecureMx => format!(
                "DANE does not apply to {host}: the MX RRset is not DNSSEC-signed (RFC 7672 2.2.1)"
            ),
            NoDane::InsecureAddresses => format!(
                "DANE does not apply to {host}: its address records are not DNSSEC-signed (RFC 7672 2.2.2)"
            ),
            NoDane::InsecureTlsa { owner } => format!(
                "DANE does not apply to {host}: the TLSA lookup at {owner} is not DNSSEC-signed"
            ),
            NoDane::NoTlsa { owners } => format!(
                "DANE does not apply to {host}: no TLSA records at {} (secure denial)",
                owners.join(" or ")
            ),
        }
    }
}

/// What the address lookups of one MX host mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AddressStep {
    /// Look up TLSA records at these base domains, in order (the CNAME-expanded name first,
    /// then the MX host name: RFC 7672 2.2.3), through [`tlsa_step`].
    LookupTlsa {
        /// The candidate TLSA base domains.
        bases: Vec<String>,
        /// The host's addresses (IPv4 then IPv6).
        addresses: Vec<IpAddr>,
    },
    /// DANE does not apply; the addresses can still be probed for opportunistic TLS.
    NoDane {
        /// Why.
        why: NoDane,
        /// The host's addresses.
        addresses: Vec<IpAddr>,
    },
    /// Senders cannot use this host at all.
    Unusable {
        /// Why.
        verdict: Verdict,
    },
}

/// RFC 7672 section 2.2.2 and 2.2.3: the address records of MX host `host` (the MX
/// exchange, or the domain itself for an implicit MX) decide whether its TLSA records are
/// looked up, and where. `lookups` are the A and AAAA lookups (either may be absent when
/// the caller restricts the address family).
pub fn address_step(mx_secure: bool, host: &str, lookups: &[&Lookup<IpAddr>]) -> AddressStep {
    let host = fqdn(host);
    // A failed address lookup leaves senders unable to use the host (RFC 7672 2.2.2).
    if let Some(failed) = lookups.iter().find(|l| l.security.is_failure()) {
        return AddressStep::Unusable {
            verdict: Verdict::new(
                failure_status(&failed.security),
                format!(
                    "address lookup for {host} is {}: senders that do DANE skip this host",
                    failed.security.describe()
                ),
            ),
        };
    }
    let addresses: Vec<IpAddr> = lookups.iter().flat_map(|l| l.records()).copied().collect();
    if addresses.is_empty() {
        return AddressStep::Unusable {
            verdict: Verdict::new(
                Status::Failed,
                format!("{host} has no address records (A/AAAA): senders cannot connect"),
            ),
        };
    }
    if !mx_secure {
        return AddressStep::NoDane {
            why: NoDane::InsecureMx,
            addresses,
        };
    }
    // RFC 7672 2.2.2: TLSA records are only looked up when the address records are secure.
    if lookups.iter().any(|l| !l.security.is_secure()) {
        return AddressStep::NoDane {
            why: NoDane::InsecureAddresses,
            addresses,
        };
    }
    // RFC 7672 2.2.3 / RFC 7671 7: with a (secure) CNAME chain the expanded name is the
    // first candidate base domain, the MX host name the second.
    let mut bases = Vec::new();
    for l in lookups {
        if !l.records().is_empty() {
            let canonical = fqdn(&l.canonical);
            if canonical != host && !bases.contains(&canonical) {
                bases.push(canonical);
            }
        }
    }
    bases.push(host);
    AddressStep::LookupTlsa { bases, addresses }
}

/// Where the TLSA decision for one host stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TlsaStep {
    /// Look up TLSA at this owner name next and call [`tlsa_step`] again with the answer
    /// appended.
    Query {
        /// The owner name (`_25._tcp.<base>.`).
        owner: String,
    },
    /// Decided.
    Decided(HostPolicy),
}

/// What a sender will require of a host's servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HostPolicy {
    /// DANE applies: STARTTLS is mandatory and the chain must match `records` (when none is
    /// usable, TLS stays mandatory but cannot be authenticated).
    Dane {
        /// The TLSA base domain (also the SNI name, RFC 7672 8.1).
        base: String,
        /// The TLSA owner name.
        owner: String,
        /// The TLSA RRset.
        records: Vec<TlsaRecord>,
        /// How many records are usable for SMTP.
        usable: usize,
        /// Reference identifiers for DANE-TA name checks (RFC 7672 3.2.3).
        reference_ids: Vec<String>,
    },
    /// DANE does not apply.
    NoDane {
        /// Why.
        why: NoDane,
    },
    /// The host cannot be used by senders that do DANE.
    Unusable {
        /// Why.
        verdict: Verdict,
    },
}

/// RFC 7672 section 2.2.3 and 3.2.3: the TLSA decision for MX host `host` of next-hop
/// domain `domain`, from the lookups of the candidate base domains (`bases` from
/// [`address_step`]) fetched so far, in order.
pub fn tlsa_step(
    domain: &str,
    host: &str,
    bases: &[String],
    lookups: &[Lookup<TlsaRecord>],
) -> TlsaStep {
    let default = [fqdn(host)];
    let bases = if bases.is_empty() {
        &default[..]
    } else {
        bases
    };
    let owner_of = |base: &str| format!("_{SMTP_PORT}._tcp.{}", fqdn(base));
    let mut denied = Vec::new();
    let mut insecure = None;
    for (base, lookup) in bases.iter().zip(lookups) {
        let owner = owner_of(base);
        if lookup.security.is_failure() {
            // RFC 7672 2.2: a failed TLSA lookup makes the host unusable: no fallback to
            // cleartext or to unauthenticated TLS.
            return TlsaStep::Decided(HostPolicy::Unusable {
                verdict: Verdict::new(
                    failure_status(&lookup.security),
                    format!(
                        "TLSA lookup at {owner} is {}: senders that do DANE will not deliver to {}",
                        lookup.security.describe(),
                        fqdn(host)
                    ),
                ),
            });
        }
        match (&lookup.security, lookup.records()) {
            (Security::Secure, records) if !records.is_empty() => {
                let usable = records.iter().filter(|r| usable_for_smtp(r)).count();
                return TlsaStep::Decided(HostPolicy::Dane {
                    base: fqdn(base),
                    owner,
                    records: records.to_vec(),
                    usable,
                    reference_ids: reference_ids(base, host, domain),
                });
            }
            // Secure denial: try the next candidate (the original MX host name).
            (Security::Secure, _) => denied.push(owner),
            // Insecure at the expanded name: the original name may still be signed.
            _ => insecure = Some(owner),
        }
    }
    if let Some(base) = bases.get(lookups.len()) {
        return TlsaStep::Query {
            owner: owner_of(base),
        };
    }
    // Every candidate was looked up: a secure denial anywhere is the stronger statement.
    let why = match insecure {
        Some(owner) if denied.is_empty() => NoDane::InsecureTlsa { owner },
        _ => NoDane::NoTlsa { owners: denied },
    };
    TlsaStep::Decided(HostPolicy::NoDane { why })
}

/// RFC 7672 3.1.3: only DANE-TA(2) and DANE-EE(3) are usable for SMTP, and only when the
/// record itself is usable (known selector and matching type, right digest length).
pub fn usable_for_smtp(r: &TlsaRecord) -> bool {
    matches!(r.usage, CertUsage::DaneTa | CertUsage::DaneEe) && r.usability().is_ok()
}

/// RFC 7672 3.2.3: DANE-TA name checks accept the TLSA base domain and the MX host name
/// (before CNAME expansion); like Postfix, also the next-hop domain.
fn reference_ids(base: &str, host: &str, domain: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for name in [base, host, domain] {
        let name = fqdn(name).trim_end_matches('.').to_owned();
        if !ids.contains(&name) {
            ids.push(name);
        }
    }
    ids
}

/// What probing one address of a host gave, in the policy's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// STARTTLS and the TLS handshake completed (the handshake signature verified, so the
    /// server holds the leaf key); the chain as presented, leaf first.
    Tls {
        /// The presented chain.
        chain: Vec<CertificateDer<'static>>,
    },
    /// The probe did not get a chain.
    Failed {
        /// The class of failure.
        failure: ProbeFailure,
        /// What happened, for the report.
        detail: String,
    },
}

/// Why a probe got no chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeFailure {
    /// Connection refused, no route, reset before the banner.
    Unreachable,
    /// A deadline passed (connect, banner, STARTTLS, handshake).
    Timeout,
    /// The server does not offer STARTTLS.
    StarttlsNotOffered,
    /// The server refused STARTTLS.
    StarttlsRefused,
    /// The TLS handshake failed (alert, bad signature, garbage).
    TlsFailed,
    /// The server speaks only a TLS version or cipher suites that the prober cannot
    /// negotiate (TLS 1.1 or older, CBC-only): not a DANE verdict.
    TlsUnsupported,
    /// The server broke the protocol (garbage, over-long lines, injected plaintext).
    ProtocolViolation,
}

/// One endpoint (an address of a host) judged: the verdict, and the TLSA match report when
/// a chain was matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointVerdict {
    /// The verdict.
    pub verdict: Verdict,
    /// Every TLSA record's outcome against the chain.
    pub matched: Option<MatchReport>,
}

/// RFC 7672 sections 2.2 and 3: the verdict for one address of a host, from the host's
/// policy and what the probe of that address saw, at `now` (certificate dates, DANE-TA
/// only).
pub fn endpoint_verdict(
    host: &str,
    policy: &HostPolicy,
    probe: &Probe,
    now: UnixTime,
) -> EndpointVerdict {
    let host = fqdn(host);
    let plain = |verdict| EndpointVerdict {
        verdict,
        matched: None,
    };
    let (records, usable, reference_ids) = match policy {
        HostPolicy::Unusable { verdict } => return plain(verdict.clone()),
        HostPolicy::NoDane { why } => {
            let tls = match probe {
                Probe::Tls { .. } => "; STARTTLS works (opportunistic TLS)".to_owned(),
                Probe::Failed { detail, .. } => format!("; the probe saw: {detail}"),
            };
            return plain(Verdict::new(
                Status::NotProtected,
                format!("{}{tls}", why.describe(&host)),
            ));
        }
        HostPolicy::Dane {
            records,
            usable,
            reference_ids,
            ..
        } => (records, *usable, reference_ids),
    };
    let chain = match probe {
        Probe::Tls { chain } => chain,
        Probe::Failed { failure, detail } => {
            return plain(failure_verdict(&host, *failure, detail));
        }
    };
    if usable == 0 {
        return plain(unauthenticated(&host));
    }
    judge(
        &host,
        records,
        reference_ids,
        &Presented::Chain(chain),
        now,
        |reason| format!("{host}: {reason}: senders that do DANE will not deliver here"),
    )
}

fn unauthenticated(host: &str) -> Verdict {
    Verdict::new(
        Status::UnauthenticatedTls,
        format!(
            "{host} has TLSA records but none usable for SMTP: senders require TLS but cannot authenticate it (RFC 7672 2.2)"
        ),
    )
}

/// What is matched against a host's TLSA records.
enum Presented<'a> {
    Chain(&'a [CertificateDer<'static>]),
    Key(&'a Spki),
}

/// Matches `records` with the SMTP rules; `failed` words the reason of a mismatch.
fn judge(
    host: &str,
    records: &[TlsaRecord],
    reference_ids: &[String],
    presented: &Presented<'_>,
    now: UnixTime,
    failed: impl FnOnce(&str) -> String,
) -> EndpointVerdict {
    let options = MatchOptions {
        reference_ids: reference_ids.to_vec(),
        pkix: Pkix::NotEvaluated,
        smtp: true,
    };
    let result = match presented {
        Presented::Chain(chain) => dane_tlsa::match_chain(records, chain, &options, now),
        Presented::Key(spki) => dane_tlsa::match_key(records, spki, &options),
    };
    match result {
        Ok(report) => {
            let verdict = match report.verdict {
                TlsaVerdict::Authenticated => Verdict::new(Status::Verified, report.reason.clone()),
                TlsaVerdict::NotAuthenticated => {
                    Verdict::new(Status::Failed, failed(&report.reason))
                }
            };
            EndpointVerdict {
                verdict,
                matched: Some(report),
            }
        }
        // The chain could not be evaluated at all (not DER, too long): senders' DANE checks
        // fail on it too.
        Err(e) => EndpointVerdict {
            verdict: Verdict::new(
                Status::Failed,
                format!("{host}: the certificates cannot be evaluated: {e}"),
            ),
            matched: None,
        },
    }
}

/// A certificate or key that is not deployed yet (rollover pre-check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidate {
    /// A new certificate chain, leaf first (`--cert`).
    Chain(Vec<CertificateDer<'static>>),
    /// A new key, from a private key or a CSR (`--key`, `--csr`): no certificate yet.
    Key(Spki),
}

/// Rollover pre-check: would `candidate` be accepted by the host's TLSA records, as a DANE
/// sender would judge it once deployed? `None` when DANE does not apply to the host.
pub fn candidate_verdict(
    host: &str,
    policy: &HostPolicy,
    candidate: &Candidate,
    now: UnixTime,
) -> Option<EndpointVerdict> {
    let HostPolicy::Dane {
        records,
        usable,
        reference_ids,
        ..
    } = policy
    else {
        return None;
    };
    let host = fqdn(host);
    if *usable == 0 {
        return Some(EndpointVerdict {
            verdict: unauthenticated(&host),
            matched: None,
        });
    }
    let presented = match candidate {
        Candidate::Chain(chain) => Presented::Chain(chain),
        Candidate::Key(spki) => Presented::Key(spki),
    };
    Some(judge(
        &host,
        records,
        reference_ids,
        &presented,
        now,
        |reason| {
            format!(
                "{host}: the candidate would not be accepted: {reason}; publish its TLSA record before deploying it"
            )
        },
    ))
}

/// RFC 7672 2.2: under DANE, TLS is mandatory: a missing or failing STARTTLS is a
/// definite failure (a downgrade); network trouble is indeterminate.
fn failure_verdict(host: &str, failure: ProbeFailure, detail: &str) -> Verdict {
    match failure {
        ProbeFailure::Unreachable | ProbeFailure::Timeout => Verdict::new(
            Status::Indeterminate,
            format!("{host}: {detail}: could not check the TLSA records against the server"),
        ),
        ProbeFailure::TlsUnsupported => Verdict::new(
            Status::Indeterminate,
            format!(
                "{host}: {detail}: the prober cannot negotiate this TLS version or cipher; senders with older TLS stacks may still deliver"
            ),
        ),
        ProbeFailure::StarttlsNotOffered
        | ProbeFailure::StarttlsRefused
        | ProbeFailure::TlsFailed
        | ProbeFailure::ProtocolViolation => Verdict::new(
            Status::Failed,
            format!(
                "{host}: {detail}: DANE makes TLS mandatory here, so senders that do DANE defer the mail"
            ),
        ),
    }
}

/// Bogus is a definite failure; indeterminate is not.
fn failure_status(security: &Security) -> Status {
    match security {
        Security::Bogus { .. } => Status::Failed,
        _ => Status::Indeterminate,
    }
}
