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
/// run cut short) are left out. `memo`: the run's verified signatures (the resolver's or
/// the replay's), so that they are not checked by ring a second time.
pub fn outcomes(
    report: &Report,
    evidence: &Evidence,
    anchors: &TrustAnchors,
    now: UnixTime,
    memo: &SignatureMemo,
) -> Vec<Outcome> {
    let limits = Limits::default();
    questions(report)
        .into_iter()
        .filter_map(|(name, rtype)| {
            let qname = Name::from_str(&name).ok()?;
            match validate_memo(evidence, anchors, &qname, rtype, now, &limits, memo) {
                Step::Done(outcome) => Some(*outcome),
                Step::Need(_) => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use dane_dnssec::{DsStatus, Fact, ReasonCode};

    use super::*;
    use crate::evidence::{Bundle, ReplayDns, ReplayProber};

    /// A recorded interop scenario replayed: its report, and the outcomes of its lookups.
    async fn replay(json: &str) -> (Report, Vec<Outcome>) {
        let bundle = Bundle::from_json(json).unwrap();
        let anchors = TrustAnchors::parse(bundle.anchors.as_deref().unwrap()).unwrap();
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(bundle.at));
        let evidence = bundle.evidence().unwrap();
        let mut options = crate::engine::Options::new(now);
        options.address_policy = dane_resolver::AddressPolicy::AllowAll;
        let dns = Arc::new(ReplayDns::new(evidence.clone(), anchors.clone(), now));
        let prober = Arc::new(ReplayProber::new(bundle.probes.clone()));
        let service = crate::service::by_name(&bundle.service).unwrap();
        let report =
            crate::engine::verify(dns.clone(), prober, &bundle.domain, &service, &options).await;
        let outcomes = outcomes(&report, &evidence, &anchors, now, dns.signature_memo());
        (report, outcomes)
    }

    fn signatures<'a>(outcomes: &'a [Outcome], rtype: &'a str) -> Vec<&'a Fact> {
        outcomes
            .iter()
            .flat_map(|o| &o.facts)
            .filter(|f| matches!(f, Fact::Signature { rtype: t, .. } if t == rtype))
            .collect()
    }

    /// Every lookup of the report has its outcome, with the verdict the report gave it,
    /// and the facts name what the verdict rests on: the tampered TLSA RRSIG, the expired
    /// one, the valid DS of each zone.
    #[tokio::test]
    async fn outcomes_match_the_report_and_carry_the_facts() {
        let (report, outcomes) = replay(include_str!(
            "../../../fixtures/interop/evidence/tlsa-tampered.test.json"
        ))
        .await;
        assert_eq!(outcomes.len(), questions(&report).len());
        let tlsa = signatures(&outcomes, "TLSA");
        assert!(
            tlsa.iter().any(|f| matches!(
                f,
                Fact::Signature {
                    problem: Some(ReasonCode::SignatureInvalid),
                    ..
                }
            )),
            "{tlsa:?}"
        );
        assert!(outcomes.iter().flat_map(|o| &o.facts).any(|f| matches!(
            f,
            Fact::Ds { zone, status: DsStatus::Valid, .. } if zone == "tlsa-tampered.test."
        )));
        let a = signatures(&outcomes, "A");
        assert!(
            a.iter()
                .all(|f| matches!(f, Fact::Signature { problem: None, .. }))
        );

        let (_, outcomes) = replay(include_str!(
            "../../../fixtures/interop/evidence/tlsa-expired.test.json"
        ))
        .await;
        let tlsa = signatures(&outcomes, "TLSA");
        assert!(
            tlsa.iter().any(|f| matches!(
                f,
                Fact::Signature {
                    problem: Some(ReasonCode::SignatureExpired),
                    ..
                }
            )),
            "{tlsa:?}"
        );
    }
}
