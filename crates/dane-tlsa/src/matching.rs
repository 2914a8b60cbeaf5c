//! Matching a TLSA RRset against a presented certificate chain (RFC 7671 section 5), with
//! digest algorithm agility (RFC 7671 section 9) and SMTP's exclusion of PKIX usages
//! (RFC 7672 section 3.1.3).

use std::collections::HashMap;

use rustls_pki_types::{CertificateDer, Der, TrustAnchor, UnixTime};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use x509_parser::prelude::FromDer as _;

use crate::error::Error;
use crate::generate::associate;
use crate::input::{MAX_CERTIFICATES, Spki};
use crate::names::{name_matches, presented_names};
use crate::owner::normalize_host;
use crate::record::{CertUsage, MatchingType, Selector, TlsaRecord, Unusable};

/// Most records in one RRset accepted for matching (each can cost a path verification).
pub const MAX_RRSET: usize = 64;

/// Most DANE-TA path verifications in one [`match_chain`] call (each is bounded by
/// rustls-webpki's own signature budget). Hostile RRsets and chains hit this, real ones
/// need a handful.
pub const MAX_PATH_CHECKS: usize = 256;

/// The caller's PKIX verdict, used only by usages PKIX-TA(0) and PKIX-EE(1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Pkix {
    /// No PKIX validation was done: PKIX records are unusable.
    #[default]
    NotEvaluated,
    /// PKIX validation (with name checks) failed: PKIX records cannot authenticate.
    Failed {
        /// Why, for the report.
        reason: String,
    },
    /// PKIX validation (with name checks) succeeded along `path` (leaf first, ending with
    /// the trust anchor certificate). An empty path means "the presented chain".
    Validated {
        /// The validated path.
        path: Vec<CertificateDer<'static>>,
    },
}

/// What the caller knows besides the records and the chain.
#[derive(Debug, Clone, Default)]
pub struct MatchOptions {
    /// Reference identifiers for the DANE-TA name check (host names; IDN allowed).
    pub reference_ids: Vec<String>,
    /// The PKIX verdict for usages 0 and 1.
    pub pkix: Pkix,
    /// SMTP (RFC 7672 3.1.3): usages 0 and 1 are unusable.
    pub smtp: bool,
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// At least one usable record matched and its checks passed.
    Authenticated,
    /// No usable record matched with its checks passing.
    NotAuthenticated,
}

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordStatus {
    /// Matched, and every check for its usage passed: it authenticates the chain.
    Matched,
    /// The data matched a certificate but a check failed (signature path, dates, names,
    /// PKIX verdict, or a DANE-TA record designating the leaf).
    Rejected,
    /// Matched nothing in the chain (normal for the next key of a rollover).
    NotMatched,
    /// Ignored by digest agility: a stronger digest exists for its usage and selector.
    Superseded,
    /// Cannot be used at all (see `unusable`).
    Unusable,
    /// Cannot be decided from what was given: [`match_key`] has a key but no certificate,
    /// and DANE-TA (or PKIX) depends on the certificate its CA will issue.
    NotEvaluated,
}

/// One record's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordOutcome {
    /// Position in the RRset as given (0-based).
    pub index: usize,
    /// The record.
    pub record: TlsaRecord,
    /// What became of it.
    pub status: RecordStatus,
    /// Chain depth of the certificate it matched (0 = leaf). For a `2 1 0` key absent from
    /// the chain, the depth it would occupy (one above the certificate it signed).
    pub depth: Option<usize>,
    /// Why unusable, when `status` is `Unusable`.
    pub unusable: Option<Unusable>,
    /// A sentence for humans.
    pub detail: String,
}

/// The full answer: every record, and the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchReport {
    /// Overall verdict.
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub reason: String,
    /// Every record, in input order.
    pub records: Vec<RecordOutcome>,
    /// Certificates in the presented chain.
    pub chain_length: usize,
}

struct ChainCert<'a> {
    der: &'a CertificateDer<'a>,
    spki: Vec<u8>,
    issuer: Vec<u8>,
}

impl ChainCert<'_> {
    fn selected(&self, selector: Selector) -> Option<&[u8]> {
        match selector {
            Selector::Cert => Some(self.der.as_ref()),
            Selector::Spki => Some(&self.spki),
            _ => None,
        }
    }
}

/// Caches digests of (depth, selector, matching type).
struct Digests<'a> {
    chain: &'a [ChainCert<'a>],
    cache: HashMap<(usize, Selector, MatchingType), Option<Vec<u8>>>,
}

impl Digests<'_> {
    fn matches(&mut self, depth: usize, r: &TlsaRecord) -> bool {
        let chain = self.chain;
        let value = self
            .cache
            .entry((depth, r.selector, r.matching_type))
            .or_insert_with(|| {
                chain
                    .get(depth)
                    .and_then(|c| c.selected(r.selector))
                    .and_then(|s| associate(s, r.matching_type))
            });
        value.as_deref() == Some(r.data.as_slice())
    }
}

/// The value inside a DER TLV whose tag is SEQUENCE (what webpki's TrustAnchor fields hold).
fn sequence_contents(tlv: &[u8]) -> Option<&[u8]> {
    use der::Decode as _;
    <&der::asn1::SequenceRef>::from_der(tlv)
        .ok()
        .map(der::asn1::SequenceRef::as_bytes)
}

/// Formats a time as RFC 3339 UTC (`2026-11-27T12:00:00Z`), for messages; a time past
/// the year 9999 as `@SECONDS`.
pub(crate) fn fmt_time(t: UnixTime) -> String {
    let secs = t.as_secs();
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{secs}"))
}

fn describe_webpki(e: &webpki::Error) -> String {
    match e {
        webpki::Error::CertExpired { time, not_after } => format!(
            "a certificate below the anchor expired at {}, checked at {}",
            fmt_time(*not_after),
            fmt_time(*time)
        ),
        webpki::Error::CertNotValidYet { time, not_before } => format!(
            "a certificate below the anchor is not valid before {}, checked at {}",
            fmt_time(*not_before),
            fmt_time(*time)
        ),
        webpki::Error::UnknownIssuer => {
            "no path from the leaf to the anchor (issuer names do not chain)".into()
        }
        webpki::Error::InvalidSignatureForPublicKey => {
            "a signature on the path does not verify under its issuer's key".into()
        }
        other => format!("path to the anchor does not verify: {other:?}"),
    }
}

/// Verifies the signature path from the leaf up to `anchor` through `intermediates`, and
/// the validity dates of everything below the anchor at `now` (RFC 7671 5.2).
fn verify_path(
    leaf: &CertificateDer<'_>,
    anchor: TrustAnchor<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<(), String> {
    let ee =
        webpki::EndEntityCert::try_from(leaf).map_err(|e| format!("leaf certificate: {e:?}"))?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        intermediates,
        now,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| describe_webpki(&e))
}

struct Matcher<'a> {
    chain_der: &'a [CertificateDer<'a>],
    chain: &'a [ChainCert<'a>],
    leaf_names: Result<Vec<String>, String>,
    reference_ids: Vec<String>,
    options: &'a MatchOptions,
    now: UnixTime,
    path_checks: std::cell::Cell<usize>,
}

/// (status, depth, detail)
type Outcome = (RecordStatus, Option<usize>, String);

impl Matcher<'_> {
    /// RFC 7671 5.2 (with RFC 6125 6.4): the leaf's names against the reference identifiers.
    fn check_names(&self) -> Result<String, String> {
        if self.reference_ids.is_empty() {
            return Err("no reference identifiers were given for the DANE-TA name check".into());
        }
        let presented = self.leaf_names.as_ref().map_err(Clone::clone)?;
        for reference in &self.reference_ids {
            if let Some(p) = presented.iter().find(|p| name_matches(p, reference)) {
                return Ok(format!("leaf name {p} matches {reference}"));
            }
        }
        Err(format!(
            "leaf names [{}] match none of [{}]",
            presented.join(", "),
            self.reference_ids.join(", ")
        ))
    }

    fn dane_ee(&self, digests: &mut Digests<'_>, r: &TlsaRecord) -> Outcome {
        // RFC 7671 5.1: DANE-EE matches the leaf only; no names, no dates, no chain.
        if digests.matches(0, r) {
            (
                RecordStatus::Matched,
                Some(0),
                "matches the leaf certificate".into(),
            )
        } else {
            (
                RecordStatus::NotMatched,
                None,
                "does not match the leaf certificate".into(),
            )
        }
    }

    /// One path verification, counted against [`MAX_PATH_CHECKS`].
    fn verify(
        &self,
        anchor: TrustAnchor<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<Result<(), String>, Error> {
        let used = self.path_checks.get() + 1;
        if used > MAX_PATH_CHECKS {
            return Err(Error::BudgetExceeded {
                what: "DANE-TA path verifications",
                limit: MAX_PATH_CHECKS,
            });
        }
        self.path_checks.set(used);
        Ok(verify_path(
            &self.chain_der[0],
            anchor,
            intermediates,
            self.now,
        ))
    }

    fn dane_ta(&self, digests: &mut Digests<'_>, r: &TlsaRecord) -> Result<Outcome, Error> {
        let mut rejection: Option<(usize, String)> = None;
        // RFC 7671 5.2: the anchor is an issuer the server sent (depth >= 1); verify the
        // path from the leaf to it by signature, and dates below it at `now`.
        for depth in 1..self.chain.len() {
            if !digests.matches(depth, r) {
                continue;
            }
            let anchor = match webpki::anchor_from_trusted_cert(&self.chain_der[depth]) {
                Ok(a) => a,
                Err(e) => {
                    rejection.get_or_insert((depth, format!("anchor certificate: {e:?}")));
                    continue;
                }
            };
            // The other certificates the server sent are candidate intermediates in any order
            // (RFC 7671 does not fix the order); webpki verifies each link it uses.
            let intermediates = self.others(depth);
            match self.verify(anchor, &intermediates)? {
                Ok(()) => {
                    return Ok(self.with_names(
                        depth,
                        format!("matches the issuer at depth {depth}; the path verifies"),
                    ));
                }
                Err(why) => {
                    rejection.get_or_insert((depth, why));
                }
            }
        }
        // RFC 7671 5.2: with matching type Full the record carries the anchor itself (`2 1 0`
        // its public key, `2 0 0` its certificate), so the server may leave it out of the
        // chain. (OpenSSL's DANE support accepts both.)
        let in_chain = (1..self.chain.len()).any(|d| digests.matches(d, r));
        if rejection.is_none() && r.matching_type == MatchingType::Full && !in_chain {
            match r.selector {
                Selector::Spki => {
                    if let Some(outcome) = self.absent_key(r)? {
                        return Ok(outcome);
                    }
                }
                Selector::Cert => {
                    if let Some(outcome) = self.absent_certificate(r)? {
                        return Ok(outcome);
                    }
                }
                _ => {}
            }
        }
        if let Some((depth, why)) = rejection {
            return Ok((
                RecordStatus::Rejected,
                Some(depth),
                format!("matches the issuer at depth {depth}, but {why}"),
            ));
        }
        if digests.matches(0, r) {
            return Ok((
                RecordStatus::Rejected,
                Some(0),
                "matches the leaf, but a DANE-TA record must designate an issuer (RFC 7671 5.2)"
                    .into(),
            ));
        }
        Ok((
            RecordStatus::NotMatched,
            None,
            "matches no issuer in the chain".into(),
        ))
    }

    /// `2 1 0` with a key not in the chain: try it as the issuer of each presented
    /// certificate's issuer name in turn.
    fn absent_key(&self, r: &TlsaRecord) -> Result<Option<Outcome>, Error> {
        let (Ok(_), Some(spki)) = (Spki::from_der(&r.data), sequence_contents(&r.data)) else {
            return Ok(None);
        };
        let mut tried: Vec<&[u8]> = Vec::new();
        for below in 0..self.chain.len() {
            let Some(subject) = sequence_contents(&self.chain[below].issuer) else {
                continue;
            };
            if tried.contains(&subject) {
                continue;
            }
            tried.push(subject);
            let anchor = TrustAnchor {
                subject: Der::from(subject),
                subject_public_key_info: Der::from(spki),
                name_constraints: None,
            };
            if self.verify(anchor, &self.others(0))?.is_ok() {
                let depth = below + 1;
                return Ok(Some(self.with_names(
                    depth,
                    format!(
                        "the key at depth {depth} (not in the chain) signs the certificate at depth {below}; the path verifies"
                    ),
                )));
            }
        }
        Ok(None)
    }

    /// `2 0 0` with a certificate not in the chain: use it as the anchor.
    fn absent_certificate(&self, r: &TlsaRecord) -> Result<Option<Outcome>, Error> {
        let der = CertificateDer::from(r.data.as_slice());
        let Ok(anchor) = webpki::anchor_from_trusted_cert(&der) else {
            return Ok(None);
        };
        let subject = anchor.subject.as_ref().to_vec();
        if self.verify(anchor, &self.others(0))?.is_err() {
            return Ok(None);
        }
        // Depth: one above the first presented certificate it could have issued.
        let below = self
            .chain
            .iter()
            .position(|c| sequence_contents(&c.issuer) == Some(subject.as_slice()))
            .unwrap_or(self.chain.len() - 1);
        let depth = below + 1;
        Ok(Some(self.with_names(
            depth,
            format!(
                "the certificate at depth {depth} (not in the chain) issued the certificate at depth {below}; the path verifies"
            ),
        )))
    }

    /// The presented certificates other than the leaf and the one at `except` (0: none).
    fn others(&self, except: usize) -> Vec<CertificateDer<'_>> {
        self.chain_der
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 0 && i != except)
            .map(|(_, c)| CertificateDer::from(c.as_ref()))
            .collect()
    }

    fn with_names(&self, depth: usize, path: String) -> Outcome {
        match self.check_names() {
            Ok(names) => (
                RecordStatus::Matched,
                Some(depth),
                format!("{path}; {names}"),
            ),
            Err(why) => (
                RecordStatus::Rejected,
                Some(depth),
                format!("{path}, but {why}"),
            ),
        }
    }

    fn pkix(&self, digests: &mut Digests<'_>, r: &TlsaRecord) -> Outcome {
        let ta = r.usage == CertUsage::PkixTa;
        let (path, failed): (Option<&[CertificateDer<'static>]>, Option<&str>) =
            match &self.options.pkix {
                Pkix::Validated { path } if !path.is_empty() => (Some(path), None),
                Pkix::Validated { .. } => (None, None),
                Pkix::Failed { reason } => (None, Some(reason.as_str())),
                // Filtered out as unusable by the caller; kept total for safety.
                Pkix::NotEvaluated => (None, Some("no PKIX validation was performed")),
            };
        // RFC 6698 2.1.1 / RFC 7671 5.4: PKIX-EE matches the leaf, PKIX-TA a CA in the
        // PKIX-validated path (which may end in a root the server did not send).
        let len = path.map_or(self.chain.len(), <[_]>::len);
        let mut depths = if ta { 1..len } else { 0..1 };
        let found = depths.find(|&d| match path {
            Some(p) => {
                let selected = match r.selector {
                    Selector::Cert => Some(p[d].as_ref().to_vec()),
                    Selector::Spki => crate::generate::certificate_spki(p[d].as_ref()).ok(),
                    _ => None,
                };
                selected
                    .and_then(|s| associate(&s, r.matching_type))
                    .as_deref()
                    == Some(r.data.as_slice())
            }
            None => digests.matches(d, r),
        });
        let Some(depth) = found else {
            let what = if ta {
                "any CA in the PKIX path"
            } else {
                "the leaf certificate"
            };
            return (
                RecordStatus::NotMatched,
                None,
                format!("does not match {what}"),
            );
        };
        match failed {
            None => (
                RecordStatus::Matched,
                Some(depth),
                format!("matches at depth {depth}; PKIX validation passed"),
            ),
            Some(why) => (
                RecordStatus::Rejected,
                Some(depth),
                format!("matches at depth {depth}, but PKIX validation failed: {why}"),
            ),
        }
    }
}

fn chain_cert<'a>(der: &'a CertificateDer<'a>) -> Result<ChainCert<'a>, Error> {
    let (_, cert) =
        x509_parser::certificate::X509Certificate::from_der(der.as_ref()).map_err(|e| {
            Error::Der {
                what: "certificate".into(),
                reason: e.to_string(),
            }
        })?;
    Ok(ChainCert {
        der,
        spki: cert.tbs_certificate.subject_pki.raw.to_vec(),
        issuer: cert.tbs_certificate.issuer.as_raw().to_vec(),
    })
}

/// Matches `records` (one TLSA RRset) against `chain` (as presented, leaf first) at `now`.
///
/// Every record gets an outcome; the verdict is `Authenticated` when at least one usable
/// record matched with its checks passing (RFC 7671 5). `Err` only for input that cannot
/// be evaluated: an empty or over-long chain, a certificate that does not parse, too many
/// records, an invalid reference identifier.
pub fn match_chain(
    records: &[TlsaRecord],
    chain: &[CertificateDer<'_>],
    options: &MatchOptions,
    now: UnixTime,
) -> Result<MatchReport, Error> {
    if chain.is_empty() {
        return Err(Error::EmptyChain);
    }
    if chain.len() > MAX_CERTIFICATES {
        return Err(Error::ChainTooLong {
            len: chain.len(),
            max: MAX_CERTIFICATES,
        });
    }
    if records.len() > MAX_RRSET {
        return Err(Error::TooManyRecords {
            len: records.len(),
            max: MAX_RRSET,
        });
    }
    let reference_ids = options
        .reference_ids
        .iter()
        .map(|n| normalize_host(n))
        .collect::<Result<Vec<_>, _>>()?;
    let parsed: Vec<ChainCert<'_>> = chain
        .iter()
        .enumerate()
        .map(|(i, c)| {
            chain_cert(c).map_err(|e| match e {
                Error::Der { reason, .. } => Error::Der {
                    what: format!("certificate {}", i + 1),
                    reason,
                },
                other => other,
            })
        })
        .collect::<Result<_, _>>()?;
    let leaf_names = x509_parser::certificate::X509Certificate::from_der(chain[0].as_ref())
        .map_err(|e| e.to_string())
        .and_then(|(_, c)| presented_names(&c));
    let matcher = Matcher {
        chain_der: chain,
        chain: &parsed,
        leaf_names,
        reference_ids,
        options,
        now,
        path_checks: std::cell::Cell::new(0),
    };
    let mut digests = Digests {
        chain: &parsed,
        cache: HashMap::new(),
    };

    let outcomes = evaluate(records, options, |r| match r.usage {
        CertUsage::DaneEe => Ok(matcher.dane_ee(&mut digests, r)),
        CertUsage::DaneTa => matcher.dane_ta(&mut digests, r),
        _ => Ok(matcher.pkix(&mut digests, r)),
    })?;

    let (verdict, reason) = summarize(&outcomes);
    Ok(MatchReport {
        verdict,
        reason,
        records: outcomes,
        chain_length: chain.len(),
    })
}

/// Gives every record its outcome: unusable (RFC 7671 4.1, RFC 7672 3.1.3), superseded by
/// digest agility (RFC 7671 9), or whatever `check` finds for the usable ones.
fn evaluate(
    records: &[TlsaRecord],
    options: &MatchOptions,
    mut check: impl FnMut(&TlsaRecord) -> Result<Outcome, Error>,
) -> Result<Vec<RecordOutcome>, Error> {
    // RFC 7671 9: per (usage, selector), only the strongest supported digest present counts.
    let mut strongest: HashMap<(CertUsage, Selector), (u8, MatchingType)> = HashMap::new();
    for r in records.iter().filter(|r| r.usability().is_ok()) {
        if let Some(rank) = r.matching_type.agility_rank() {
            let e = strongest
                .entry((r.usage, r.selector))
                .or_insert((rank, r.matching_type));
            if rank > e.0 {
                *e = (rank, r.matching_type);
            }
        }
    }

    let mut outcomes = Vec::with_capacity(records.len());
    for (index, r) in records.iter().enumerate() {
        let pkix_usage = matches!(r.usage, CertUsage::PkixTa | CertUsage::PkixEe);
        let unusable = r.usability().err().or_else(|| {
            if pkix_usage && options.smtp {
                // RFC 7672 3.1.3: SMTP clients treat PKIX-TA and PKIX-EE as unusable.
                Some(Unusable::PkixUsageInSmtp)
            } else if pkix_usage && options.pkix == Pkix::NotEvaluated {
                Some(Unusable::PkixNotEvaluated)
            } else {
                None
            }
        });
        let (status, depth, detail) = if let Some(u) = &unusable {
            (RecordStatus::Unusable, None, format!("unusable: {u}"))
        } else if let Some((_, best)) = r.matching_type.agility_rank().and_then(|rank| {
            strongest
                .get(&(r.usage, r.selector))
                .filter(|(b, _)| *b > rank)
        }) {
            (
                RecordStatus::Superseded,
                None,
                format!("ignored: {best} is present for the same usage and selector (RFC 7671 9)"),
            )
        } else {
            check(r)?
        };
        outcomes.push(RecordOutcome {
            index,
            record: r.clone(),
            status,
            depth,
            unusable,
            detail,
        });
    }

    Ok(outcomes)
}

/// Would a certificate for this key (not issued yet: a CSR or a new private key) be
/// accepted by `records`? DANE-EE SPKI records (`3 1 x`) are decided by the key alone (RFC
/// 7671 5.1); `3 0 x` records bind a whole certificate, so no certificate yet to be issued
/// matches them; DANE-TA and PKIX records depend on the issuing CA and are reported
/// [`RecordStatus::NotEvaluated`]. Digest agility and unusable records as in
/// [`match_chain`].
pub fn match_key(
    records: &[TlsaRecord],
    spki: &Spki,
    options: &MatchOptions,
) -> Result<MatchReport, Error> {
    if records.len() > MAX_RRSET {
        return Err(Error::TooManyRecords {
            len: records.len(),
            max: MAX_RRSET,
        });
    }
    let outcomes = evaluate(records, options, |r| {
        Ok(match (r.usage, r.selector) {
            (CertUsage::DaneEe, Selector::Spki) => {
                if associate(spki.as_der(), r.matching_type).as_deref() == Some(r.data.as_slice())
                {
                    (RecordStatus::Matched, Some(0), "matches the key".into())
                } else {
                    (
                        RecordStatus::NotMatched,
                        None,
                        "does not match the key".into(),
                    )
                }
            }
            (CertUsage::DaneEe, _) => (
                RecordStatus::NotMatched,
                None,
                "binds a whole certificate, so no certificate yet to be issued matches it (publish 3 1 x to survive renewals)".into(),
            ),
            _ => (
                RecordStatus::NotEvaluated,
                None,
                "depends on the CA that will issue the certificate: check the issued chain".into(),
            ),
        })
    })?;
    let (verdict, reason) = summarize(&outcomes);
    Ok(MatchReport {
        verdict,
        reason,
        records: outcomes,
        chain_length: 0,
    })
}

fn summarize(outcomes: &[RecordOutcome]) -> (Verdict, String) {
    let label = |o: &RecordOutcome| {
        format!(
            "record {} ({} {} {})",
            o.index + 1,
            o.record.usage.value(),
            o.record.selector.value(),
            o.record.matching_type.value()
        )
    };
    if let Some(o) = outcomes.iter().find(|o| o.status == RecordStatus::Matched) {
        return (Verdict::Authenticated, format!("{} {}", label(o), o.detail));
    }
    if outcomes.is_empty() {
        return (Verdict::NotAuthenticated, "no TLSA records".into());
    }
    if let Some(o) = outcomes.iter().find(|o| o.status == RecordStatus::Rejected) {
        return (
            Verdict::NotAuthenticated,
            format!("{} {}", label(o), o.detail),
        );
    }
    if let Some(o) = outcomes
        .iter()
        .find(|o| o.status == RecordStatus::NotEvaluated)
    {
        return (
            Verdict::NotAuthenticated,
            format!("no record matches the key; {} {}", label(o), o.detail),
        );
    }
    if outcomes.iter().all(|o| o.status == RecordStatus::Unusable) {
        return (
            Verdict::NotAuthenticated,
            format!("none of the {} record(s) is usable", outcomes.len()),
        );
    }
    (
        Verdict::NotAuthenticated,
        "no usable record matches the presented chain".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formatting() {
        fn check(secs: u64, expected: &str) {
            let t = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
            assert_eq!(fmt_time(t), expected);
        }
        check(0, "1970-01-01T00:00:00Z");
        check(1_577_836_800, "2020-01-01T00:00:00Z");
        check(1_795_780_800, "2026-11-27T12:00:00Z");
        check(951_782_400, "2000-02-29T00:00:00Z");
        // The last second RFC 3339 can write (a common notAfter), then the first it cannot.
        check(253_402_300_799, "9999-12-31T23:59:59Z");
        check(253_402_300_800, "@253402300800");
        check(u64::MAX, "@18446744073709551615");
    }

    #[test]
    fn empty_inputs() {
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(0));
        assert!(matches!(
            match_chain(&[], &[], &MatchOptions::default(), now),
            Err(Error::EmptyChain)
        ));
        let garbage = CertificateDer::from(vec![0x30, 0x00]);
        assert!(matches!(
            match_chain(&[], &[garbage], &MatchOptions::default(), now),
            Err(Error::Der { .. })
        ));
    }
}
