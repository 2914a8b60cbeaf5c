//! The per-host steps of DANE for any service (RFC 7672 for SMTP, RFC 7671 and RFC 7673
//! otherwise), each from lookup results the caller fetched: [`address_step`] on a host's
//! address lookups; [`tlsa_step`], repeatedly, for the TLSA base domain candidates;
//! [`endpoint_verdict`] for each address once its server has been probed, and
//! [`candidate_verdict`] for a certificate or key not deployed yet. Nothing here does I/O.
//! What differs between services is in [`Rules`].

use std::net::IpAddr;

use dane_tlsa::{
    CertUsage, MatchOptions, MatchReport, Pkix, Spki, TlsaRecord, Verdict as TlsaVerdict,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;

use crate::dns::{Lookup, Security, fqdn};
use crate::verdict::{Status, Verdict};

/// What differs between SMTP and the other services for one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// The service port: TLSA records live at `_<port>._tcp.<base>`.
    pub port: u16,
    /// SMTP (RFC 7672): PKIX usages are unusable (3.1.3), and secure TLSA records none of
    /// which is usable still make TLS mandatory (2.2).
    pub smtp: bool,
    /// The domain the user asked about (the next-hop domain, or the SRV service domain):
    /// a DANE-TA reference identifier besides the TLSA base domain and the host name
    /// (RFC 7672 3.2.3, as Postfix does; RFC 7673 4.1).
    pub service_domain: String,
}

impl Rules {
    /// SMTP to `domain` on port 25.
    pub fn smtp(domain: &str) -> Rules {
        Rules {
            port: 25,
            smtp: true,
            service_domain: fqdn(domain),
        }
    }

    /// The TLSA owner name for a base domain.
    pub fn owner(&self, base: &str) -> String {
        format!("_{}._tcp.{}", self.port, fqdn(base))
    }
}

/// Why DANE does not apply to a host (opportunistic TLS at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NoDane {
    /// The MX RRset is insecure, so its host names could be an attacker's (RFC 7672 2.2.1).
    InsecureMx,
    /// The SRV RRset is insecure, so its targets could be an attacker's (RFC 7673 3.1).
    InsecureSrv,
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
            NoDane::InsecureSrv => format!(
                "DANE does not apply to {host}: the SRV RRset is not DNSSEC-signed (RFC 7673 3.1)"
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

/// RFC 7672 section 2.2.2 and 2.2.3 (RFC 7673 section 3.2 for SRV targets): the address
/// records of `host` (an MX exchange, an SRV target, or the service host itself) decide
/// whether its TLSA records are looked up, and where. `insecure_indirection` is why DANE
/// cannot apply when the MX or SRV lookup that named the host was insecure. `lookups` are
/// the A and AAAA lookups (either may be absent when the caller restricts the family).
pub fn address_step(
    insecure_indirection: Option<NoDane>,
    host: &str,
    lookups: &[&Lookup<IpAddr>],
) -> AddressStep {
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
    if let Some(why) = insecure_indirection {
        return AddressStep::NoDane { why, addresses };
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

/// RFC 7672 section 2.2.3 and 3.2.3, RFC 7671 section 7: the TLSA decision for `host`
/// (an MX host, an SRV target, or the service host), from the lookups of the candidate
/// base domains (`bases` from [`address_step`]) fetched so far, in order.
pub fn tlsa_step(
    rules: &Rules,
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
    let owner_of = |base: &str| rules.owner(base);
    let mut denied = Vec::new();
    let mut insecure = None;
    for (base, lookup) in bases.iter().zip(lookups) {
        let owner = owner_of(base);
        if lookup.security.is_failure() {
            // RFC 7672 2.2, RFC 7671 4: a failed TLSA lookup makes the host unusable: no
            // fallback to cleartext, to unauthenticated TLS or to PKIX alone.
            return TlsaStep::Decided(HostPolicy::Unusable {
                verdict: Verdict::new(
                    failure_status(&lookup.security),
                    format!(
                        "TLSA lookup at {owner} is {}: DANE clients will not connect to {}",
                        lookup.security.describe(),
                        fqdn(host)
                    ),
                ),
            });
        }
        match (&lookup.security, lookup.records()) {
            (Security::Secure, records) if !records.is_empty() => {
                let usable = records.iter().filter(|r| usable(r, rules)).count();
                return TlsaStep::Decided(HostPolicy::Dane {
                    base: fqdn(base),
                    owner,
                    records: records.to_vec(),
                    usable,
                    reference_ids: reference_ids(base, host, &rules.service_domain),
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

/// Whether a record can be used at all (known parameters, right digest length, RFC 7671
/// 4.1); for SMTP only DANE-TA(2) and DANE-EE(3) (RFC 7672 3.1.3).
pub fn usable(r: &TlsaRecord, rules: &Rules) -> bool {
    r.usability().is_ok()
        && (!rules.smtp || matches!(r.usage, CertUsage::DaneTa | CertUsage::DaneEe))
}

/// RFC 7672 3.2.3: DANE-TA name checks accept the TLSA base domain and the MX host name
/// (before CNAME expansion); like Postfix, also the next-hop domain. RFC 7673 4.1: for an
/// SRV target, the target and the service domain.
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
        /// The prober's PKIX verdict (public roots, name checks), for usages PKIX-TA(0)
        /// and PKIX-EE(1) outside SMTP.
        pkix: Pkix,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeFailure {
    /// Connection refused, no route, reset before the banner.
    Unreachable,
    /// A deadline passed (connect, banner, STARTTLS, handshake).
    Timeout,
    /// The server refused the session before STARTTLS (a 4xx/5xx banner or EHLO reply,
    /// IMAP `BYE`, POP3 `-ERR`, an XMPP stream error): often aimed at the prober's address
    /// (rate limits, blocklists), so the chain could not be seen.
    Rejected,
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
    /// Not probed: the address is loopback, private, link-local or another special-purpose
    /// one, which a name on the Internet may not point the checker at (ARCHITECTURE.md
    /// invariant 9; `--allow-private` allows it).
    NotPermitted,
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

/// RFC 7672 sections 2.2 and 3 (RFC 7671 section 5 for other services): the verdict for
/// one address of a host, from the host's policy and what the probe of that address saw,
/// at `now` (certificate dates, DANE-TA only).
pub fn endpoint_verdict(
    rules: &Rules,
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
                Probe::Tls { .. } if rules.smtp => {
                    "; STARTTLS works (opportunistic TLS)".to_owned()
                }
                Probe::Tls { pkix, .. } => format!("; TLS works, {}", pkix_phrase(pkix)),
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
    let (chain, pkix) = match probe {
        Probe::Tls { chain, pkix } => (chain, pkix),
        Probe::Failed { failure, detail } => {
            return plain(failure_verdict(rules, &host, *failure, detail));
        }
    };
    if usable == 0 {
        return plain(unauthenticated(rules, &host, Some(pkix)));
    }
    judge(
        rules,
        &host,
        records,
        reference_ids,
        &Presented::Chain(chain, pkix),
        now,
        |reason| format!("{host}: {reason}: {}", consequence(rules)),
    )
}

/// What a definite failure means for the user's mail or clients.
fn consequence(rules: &Rules) -> &'static str {
    if rules.smtp {
        "senders that do DANE will not deliver here"
    } else {
        "DANE clients will refuse this server"
    }
}

fn pkix_phrase(pkix: &Pkix) -> String {
    match pkix {
        Pkix::NotEvaluated => "PKIX not evaluated".to_owned(),
        Pkix::Failed { reason } => format!("PKIX validation fails ({reason})"),
        Pkix::Validated { .. } => "PKIX validation succeeds".to_owned(),
    }
}

/// Secure TLSA records, none usable. RFC 7672 2.2: SMTP senders still require TLS but
/// cannot authenticate it. RFC 6698 4.1: other clients proceed as if there were no TLSA
/// records (PKIX alone).
fn unauthenticated(rules: &Rules, host: &str, pkix: Option<&Pkix>) -> Verdict {
    if rules.smtp {
        Verdict::new(
            Status::UnauthenticatedTls,
            format!(
                "{host} has TLSA records but none usable for SMTP: senders require TLS but cannot authenticate it (RFC 7672 2.2)"
            ),
        )
    } else {
        let pkix = pkix.map_or_else(|| "PKIX not evaluated".to_owned(), pkix_phrase);
        Verdict::new(
            Status::NotProtected,
            format!(
                "{host} has TLSA records but none usable: clients fall back to PKIX alone ({pkix})"
            ),
        )
    }
}

/// What is matched against a host's TLSA records.
enum Presented<'a> {
    Chain(&'a [CertificateDer<'static>], &'a Pkix),
    Key(&'a Spki),
}

/// Matches `records` with the SMTP rules; `failed` words the reason of a mismatch.
fn judge(
    rules: &Rules,
    host: &str,
    records: &[TlsaRecord],
    reference_ids: &[String],
    presented: &Presented<'_>,
    now: UnixTime,
    failed: impl FnOnce(&str) -> String,
) -> EndpointVerdict {
    let options = MatchOptions {
        reference_ids: reference_ids.to_vec(),
        pkix: match presented {
            Presented::Chain(_, pkix) => (*pkix).clone(),
            Presented::Key(_) => Pkix::NotEvaluated,
        },
        smtp: rules.smtp,
    };
    let result = match presented {
        Presented::Chain(chain, _) => dane_tlsa::match_chain(records, chain, &options, now),
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
    rules: &Rules,
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
            verdict: unauthenticated(rules, &host, None),
            matched: None,
        });
    }
    let not_evaluated = Pkix::NotEvaluated;
    let presented = match candidate {
        Candidate::Chain(chain) => Presented::Chain(chain, &not_evaluated),
        Candidate::Key(spki) => Presented::Key(spki),
    };
    Some(judge(
        rules,
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

/// The zone-file lines that would make `candidate` acceptable at a host DANE covers, as
/// `dane tlsa generate --recommended` prints them: `3 1 1` for the new key (RFC 7671 5.1,
/// survives renewals of the same key) and, when the candidate is a chain with an issuer,
/// `2 1 1` for its issuing CA (RFC 7671 5.2); records the set already has are left out.
/// Empty when DANE does not apply or the candidate cannot be read.
pub fn records_to_publish(
    rules: &Rules,
    policy: &HostPolicy,
    candidate: &Candidate,
) -> Vec<String> {
    let HostPolicy::Dane { base, records, .. } = policy else {
        return Vec::new();
    };
    let wanted = match candidate {
        Candidate::Chain(chain) => dane_tlsa::recommended(chain).unwrap_or_default(),
        Candidate::Key(spki) => dane_tlsa::generate(
            &dane_tlsa::Source::PublicKey(spki.clone()),
            CertUsage::DaneEe,
            dane_tlsa::Selector::Spki,
            dane_tlsa::MatchingType::Sha256,
        )
        .map(|r| vec![r])
        .unwrap_or_default(),
    };
    let owner = rules.owner(base);
    wanted
        .into_iter()
        .filter(|r| !records.contains(r))
        .map(|r| format!("{owner} IN TLSA {}", r.presentation()))
        .collect()
}

/// RFC 7672 2.2: under DANE, TLS is mandatory: a missing or failing STARTTLS is a
/// definite failure (a downgrade); network trouble is indeterminate.
fn failure_verdict(rules: &Rules, host: &str, failure: ProbeFailure, detail: &str) -> Verdict {
    match failure {
        ProbeFailure::Unreachable | ProbeFailure::Timeout | ProbeFailure::Rejected => Verdict::new(
            Status::Indeterminate,
            format!("{host}: {detail}: could not check the TLSA records against the server"),
        ),
        // Nothing was seen: no verdict on the server, and never "verified".
        ProbeFailure::NotPermitted => Verdict::new(
            Status::Indeterminate,
            format!("{host}: not probed: {detail}"),
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
                "{host}: {detail}: DANE makes TLS mandatory here, so {}",
                if rules.smtp {
                    "senders that do DANE defer the mail"
                } else {
                    "DANE clients cannot connect"
                }
            ),
        ),
    }
}

/// Bogus is a definite failure; indeterminate is not.
pub(crate) fn failure_status(security: &Security) -> Status {
    match security {
        Security::Bogus { .. } => Status::Failed,
        _ => Status::Indeterminate,
    }
}
