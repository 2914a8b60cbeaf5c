//! The TLSA records of a zone: their form (RFC 6698 2.1, RFC 7671 4.1, RFC 7672 3.1.3), and,
//! for one owner, whether they will match the certificate or key about to be deployed (the
//! RFC 7671 match of `dane tlsa match`, by dane-tlsa).

use std::collections::BTreeMap;

use dane_tlsa::{
    CertUsage, MatchOptions, MatchReport, RecordStatus, Spki, TlsaRecord, Verdict, match_chain,
    match_key,
};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::Record;
use crate::check::{Finding, FindingCode, Severity};
use crate::name::Name;

const TLSA: u16 = 52;

/// What is about to be deployed at a TLSA owner.
#[derive(Debug, Clone, Copy)]
pub enum Deployed<'a> {
    /// A certificate chain, leaf first (`--cert`, `--chain`).
    Chain(&'a [CertificateDer<'a>]),
    /// A key whose certificate is not issued yet (`--key`): only `3 1 x` records decide.
    Key(&'a Spki),
}

/// Whether an owner is an SMTP one (`_25._tcp.`), where usages 0 and 1 are unusable
/// (RFC 7672 3.1.3).
fn is_smtp(owner: &Name) -> bool {
    let l = owner.labels();
    l.len() >= 2 && l[0] == b"_25" && l[1] == b"_tcp"
}

/// The TLSA RRsets of the zone, by owner, as records (malformed RDATA left out: its parse
/// error is a finding of [`tlsa_form`]).
fn rrsets(records: &[Record]) -> BTreeMap<Name, Vec<Result<TlsaRecord, String>>> {
    let mut out: BTreeMap<Name, Vec<_>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.rtype == TLSA) {
        let rec =
            TlsaRecord::from_rdata(&r.rdata).map_err(|e| format!("{}:{}: {e}", r.file, r.line));
        out.entry(r.owner.clone()).or_default().push(rec);
    }
    out
}

/// Form checks of every TLSA RRset: each unusable record is a warning (RFC 7671 4.1: it is
/// ignored); so is an RRset with no usable record, an SMTP one with PKIX usages only
/// included (RFC 7672 2.2, 3.1.3: senders then use TLS without authentication, so mail
/// flows, unprotected; issue 25 makes these warnings, errors with `--strict`).
pub fn tlsa_form(records: &[Record], apex: &Name) -> Vec<Finding> {
    let mut out = Vec::new();
    for (owner, set) in rrsets(records) {
        if let Some(what) = no_address(records, apex, &owner) {
            out.push(finding(
                Severity::Warning,
                FindingCode::TlsaNoAddress,
                &owner,
                what,
                "RFC 7672 2.2.3",
            ));
        }
        let smtp = is_smtp(&owner);
        let mut usable = 0;
        for rec in &set {
            let why = match rec {
                Ok(r) => match r.usability() {
                    Ok(()) if smtp && matches!(r.usage, CertUsage::PkixTa | CertUsage::PkixEe) => {
                        Some(format!(
                            "{}: usage {} is unusable for SMTP",
                            r.presentation(),
                            r.usage.value()
                        ))
                    }
                    Ok(()) => None,
                    Err(u) => Some(format!("{}: {u}", r.presentation())),
                },
                Err(e) => Some(e.clone()),
            };
            match why {
                None => usable += 1,
                Some(what) => out.push(finding(
                    Severity::Warning,
                    FindingCode::TlsaUnusable,
                    &owner,
                    what,
                    "RFC 7671 4.1, RFC 7672 3.1.3",
                )),
            }
        }
        if usable == 0 {
            let what = format!(
                "none of the {} TLSA records is usable: DANE senders cannot authenticate this service",
                set.len()
            );
            out.push(finding(
                Severity::Warning,
                FindingCode::TlsaUnusable,
                &owner,
                what,
                "RFC 7672 2.2",
            ));
        }
    }
    out
}

/// `issuer-family`: an RRset whose DANE-TA records pin one member of a CA family that
/// issues from several intermediates at random (or a generation the CA has replaced):
/// RFC 7671 5.2 authenticates only what the designated CA issues, so the next renewal,
/// from a sibling, fails every DANE sender. Members are recognised by the record data
/// (`2 1 1`, `2 0 1`, `2 x 0`; a zone has no chain to find a `2 x 2` through). A warning,
/// not an error: the zone is correct today.
pub fn issuer_families(
    records: &[Record],
    families: &dane_tlsa::CaFamilies,
    now: u64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (owner, set) in rrsets(records) {
        let set: Vec<TlsaRecord> = set.into_iter().filter_map(Result::ok).collect();
        for advice in families.advise(&set, &[], now) {
            let add = advice
                .missing
                .iter()
                .map(|r| format!("{owner} IN TLSA {}", r.presentation()))
                .collect::<Vec<_>>()
                .join("; ");
            out.push(finding(
                Severity::Warning,
                FindingCode::IssuerFamily,
                &owner,
                format!("{advice}; add: {add}"),
                "RFC 7671 5.2",
            ));
        }
    }
    out
}

/// A TLSA owner `_port._proto.host` whose host is in this zone (not delegated) but has no
/// A, AAAA or CNAME: clients never reach the service, so the records protect nothing.
fn no_address(records: &[Record], apex: &Name, owner: &Name) -> Option<String> {
    let labels = owner.labels();
    let service = labels.len() >= 3 && labels[0].starts_with(b"_") && labels[1].starts_with(b"_");
    if !service {
        return None;
    }
    let host = Name::from_labels(labels[2..].to_vec()).ok()?;
    if !host.is_at_or_below(apex) {
        return None;
    }
    let delegated = records
        .iter()
        .any(|r| r.rtype == 2 && r.owner != *apex && host.is_at_or_below(&r.owner));
    let reachable = records
        .iter()
        .any(|r| r.owner == host && matches!(r.rtype, 1 | 28 | 5));
    (!delegated && !reachable)
        .then(|| format!("the host {host} has no A, AAAA or CNAME record in the zone"))
}

/// The TLSA base domain of an owner `_port._proto.host`: the host, the reference identifier
/// of the DANE-TA name check (RFC 7671 5.2, RFC 7672 3.2.2: for SMTP the base domain, which
/// is the MX host when its address lookup was secure).
fn base_domain(owner: &Name) -> Option<String> {
    let labels = owner.labels();
    let service = labels.len() >= 3 && labels[0].starts_with(b"_") && labels[1].starts_with(b"_");
    let host = Name::from_labels(labels.get(2..)?.to_vec()).ok()?;
    service.then(|| host.to_string().trim_end_matches('.').to_string())
}

/// Whether the TLSA RRset at `owner` will match what is about to be deployed there.
pub fn tlsa_for(
    records: &[Record],
    owner: &Name,
    deployed: Deployed<'_>,
    now: u64,
) -> Vec<Finding> {
    let set: Vec<TlsaRecord> = rrsets(records)
        .remove(owner)
        .unwrap_or_default()
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    if set.is_empty() {
        let what = "no TLSA RRset at this owner in the zone".to_string();
        return vec![finding(
            Severity::Error,
            FindingCode::TlsaMismatch,
            owner,
            what,
            "RFC 6698 2",
        )];
    }
    let options = MatchOptions {
        smtp: is_smtp(owner),
        reference_ids: base_domain(owner).into_iter().collect(),
        ..MatchOptions::default()
    };
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now));
    let report = match deployed {
        Deployed::Chain(chain) => match_chain(&set, chain, &options, now),
        Deployed::Key(spki) => match_key(&set, spki, &options),
    };
    match report {
        Ok(r) if r.verdict == Verdict::Authenticated => match deployed {
            Deployed::Chain(chain) => intermediate_pin(owner, &r, chain).into_iter().collect(),
            Deployed::Key(_) => Vec::new(),
        },
        Ok(r) => vec![mismatch(owner, &r, deployed)],
        Err(e) => {
            let what = format!("cannot match: {e}");
            vec![finding(
                Severity::Error,
                FindingCode::TlsaMismatch,
                owner,
                what,
                "RFC 7671 5",
            )]
        }
    }
}

/// A warning when the chain is authenticated only through DANE-TA records that pin an
/// intermediate CA (a certificate its issuer is not): CAs rotate their intermediates (Let's
/// Encrypt picks one of several for each certificate), so the next certificate, even with
/// the same key, may come from another one and match nothing (RFC 7671 5.2 pins a CA the
/// operator controls or trusts to stay; RFC 7672 3.1 pairs `2 1 1` with `3 1 1`).
fn intermediate_pin(
    owner: &Name,
    r: &MatchReport,
    chain: &[CertificateDer<'_>],
) -> Option<Finding> {
    let matched: Vec<_> = r
        .records
        .iter()
        .filter(|o| o.status == RecordStatus::Matched)
        .collect();
    let pins_intermediate = |o: &&dane_tlsa::RecordOutcome| {
        o.record.usage == CertUsage::DaneTa
            && o.depth
                .and_then(|d| chain.get(d))
                .is_some_and(|c| matches!(dane_tlsa::is_self_issued(c), Ok(false)))
    };
    if matched.is_empty() || !matched.iter().all(pins_intermediate) {
        return None;
    }
    let what = "the chain is authenticated only by DANE-TA records of an intermediate CA, which CAs rotate: a renewed certificate from another intermediate will match nothing; add 3 1 1 of the server key (or pin the root)".to_string();
    Some(finding(
        Severity::Warning,
        FindingCode::TlsaIntermediatePin,
        owner,
        what,
        "RFC 7671 5.2, RFC 7672 3.1",
    ))
}

fn mismatch(owner: &Name, r: &MatchReport, deployed: Deployed<'_>) -> Finding {
    let what_new = match deployed {
        Deployed::Chain(_) => "the new certificate chain",
        Deployed::Key(_) => "the new key",
    };
    let pending = r
        .records
        .iter()
        .filter(|o| o.status == RecordStatus::NotEvaluated)
        .count();
    let mut what = format!("the TLSA RRset will not match {what_new}: {}", r.reason);
    if pending > 0 {
        what.push_str(&format!(
            " ({pending} record(s) depend on the issuing CA and were not evaluated)"
        ));
    }
    finding(
        Severity::Error,
        FindingCode::TlsaMismatch,
        owner,
        what,
        "RFC 7671 5",
    )
}

fn finding(
    severity: Severity,
    code: FindingCode,
    owner: &Name,
    what: String,
    rfc: &'static str,
) -> Finding {
    Finding {
        severity,
        code,
        owner: owner.clone(),
        rtype: TLSA,
        key_tag: None,
        what,
        rfc,
    }
}
