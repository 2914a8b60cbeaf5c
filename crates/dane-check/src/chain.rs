//! The chain of trust behind each DNS lookup of a report, step by step: the report says
//! of a lookup only `secure`, `insecure`, `bogus` or `indeterminate` (and why); a picture
//! of the check (`dane verify --format dot`) draws the keys, DS records and signatures that
//! verdict rests on. They are had by validating the run's evidence again at the same `now`
//! with the same anchors: the same inputs give the same outcome (dane-dnssec is pure), so
//! the picture shows exactly what the verdict was made of.

use std::str::FromStr as _;

use dane_dnssec::{Evidence, Limits, Outcome, SignatureMemo, Step, TrustAnchors, validate_memo};
use hickory_proto::rr::{Name, RecordType};
use rustls_pki_types::UnixTime;

use crate::report::Report;

/// Every DNS question the report's lookups asked (MX or SRV, each host's A and AAAA, each
/// TLSA owner from DNS), in report order, each once.
pub fn questions(report: &Report) -> Vec<(String, RecordType)> {
    let mut out: Vec<(String, RecordType)> = Vec::new();
    let mut add = |name: &str, rtype: RecordType| {
        if !out.iter().any(|(n, t)| n == name && *t == rtype) {
            out.push((name.to_owned(), rtype));
        }
    };
    if let Some(mx) = &report.mx {
        add(&mx.name, RecordType::MX);
    }
    if let Some(srv) = &report.srv {
        add(&srv.name, RecordType::SRV);
    }
    for h in &report.hosts {
        for a in &h.addresses {
            let rtype = if a.rtype == "AAAA" {
                RecordType::AAAA
            } else {
                RecordType::A
            };
            add(&a.lookup.name, rtype);
        }
        for t in h.tlsa.iter().filter(|t| t.source == "dns") {
            for l in &t.lookups {
                add(&l.name, RecordType::TLSA);
            }
        }
    }
    out
}

/// The outcome (with its trace and facts) of every question of [`questions`] that
/// `evidence` answers, validated with `anchors` at `now`; questions it cannot answer (a
/// run cut short) are left out.
pub fn outcomes(
    report: &Report,
    evidence: &Evidence,
    anchors: &TrustAnchors,
    now: UnixTime,
) -> Vec<Outcome> {
    let limits = Limits::default();
    let memo = SignatureMemo::new(10_000);
    questions(report)
        .into_iter()
        .filter_map(|(name, rtype)| {
            let qname = Name::from_str(&name).ok()?;
            match validate_memo(evidence, anchors, &qname, rtype, now, &limits, &memo) {
                Step::Done(outcome) => Some(*outcome),
                Step::Need(_) => None,
            }
        })
        .collect()
}
