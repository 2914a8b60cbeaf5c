//! The chain of trust behind each DNS lookup of a report, step by step: the report says
//! of a lookup only `secure`, `insecure`, `bogus` or `indeterminate` (and why); a picture
//! of the check (`dane verify --format dot`) draws the keys, DS records and signatures that
//! verdict rests on. They are the validator's own outcomes of the run's lookups, kept as
//! the run makes them ([`Chains`], given to the DNS source: `LiveDns::with_chains`,
//! `ReplayDns::with_chains`), so the picture shows exactly what the verdict was made of
//! and the chain of trust is not walked a second time for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dane_dnssec::Outcome;
use hickory_proto::rr::RecordType;

use crate::report::Report;

/// The outcomes of a run's lookups, each question's first one, kept as the DNS source
/// makes them (only when asked for: the picture formats). Bounded by the run: one outcome
/// per distinct question of a check (whose queries are capped by the resolver).
#[derive(Debug, Default)]
pub struct Chains {
    kept: Mutex<HashMap<(String, RecordType), Outcome>>,
}

impl Chains {
    /// An empty collection, to share with the DNS source.
    pub fn new() -> Arc<Chains> {
        Arc::new(Chains::default())
    }

    /// Keeps the outcome of the lookup of `name` (as the report names it) and `rtype`,
    /// unless that question already has one (a repeated question, answered the same).
    pub fn keep(&self, name: &str, rtype: RecordType, outcome: Outcome) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.entry((name.to_ascii_lowercase(), rtype))
            .or_insert(outcome);
    }

    /// The outcome of every question of [`questions`] that the run validated to the end,
    /// in report order; a lookup that got no outcome (a deadline or a resolver error cut
    /// it short) is left out.
    pub fn outcomes(&self, report: &Report) -> Vec<Outcome> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        questions(report)
            .into_iter()
            .filter_map(|(name, rtype)| kept.get(&(name.to_ascii_lowercase(), rtype)).cloned())
            .collect()
    }
}

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

#[cfg(test)]
mod tests {
    use dane_dnssec::{
        DsStatus, Fact, Limits, ReasonCode, SignatureMemo, Step, TrustAnchors, validate_memo,
    };
    use rustls_pki_types::UnixTime;

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
        let chains = Chains::new();
        let dns = Arc::new(
            ReplayDns::new(evidence.clone(), anchors.clone(), now).with_chains(chains.clone()),
        );
        let prober = Arc::new(ReplayProber::new(bundle.probes.clone()));
        let service = crate::service::by_name(&bundle.service).unwrap();
        let report =
            crate::engine::verify(dns.clone(), prober, &bundle.domain, &service, &options).await;
        let outcomes = chains.outcomes(&report);
        // The kept outcomes are the validator's: the same as validating the run's evidence
        // again for each question, at the same time with the same anchors.
        let questions = questions(&report);
        assert_eq!(outcomes.len(), questions.len());
        let memo = SignatureMemo::new(1000);
        for ((name, rtype), kept) in questions.iter().zip(&outcomes) {
            let qname: hickory_proto::rr::Name = name.parse().unwrap();
            let Step::Done(again) = validate_memo(
                &evidence,
                &anchors,
                &qname,
                *rtype,
                now,
                &Limits::default(),
                &memo,
            ) else {
                panic!("{name} {rtype}: the evidence does not answer it");
            };
            assert_eq!(&*again, kept, "{name} {rtype}");
        }
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
