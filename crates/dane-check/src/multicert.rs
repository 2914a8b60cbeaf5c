//! Every certificate at every address. A server may hold several chains (Postfix's
//! `smtpd_tls_chain_files` with an RSA and an ECDSA key, nginx with two
//! `ssl_certificate`s) and pick one by the client's signature algorithms (RFC 8446 4.2.3,
//! 4.4.2.2; RFC 5246 7.4.1.4.1). A TLSA set that matches only one of them authenticates for
//! the senders that get that one and fails every sender that negotiates the other.
//!
//! After the probe with the sender's usual offer, `probe_address` probes again offering
//! only each other family ([`KeyFamily`]); every distinct chain becomes an endpoint of its
//! own (`judge_chain`), judged like the first, its reason naming the senders that get it.
//! The prober records which chain came back; the policy here decides.

use std::net::{IpAddr, SocketAddr};

use dane_probe::KeyFamily;
use dane_tlsa::{CertUsage, MatchReport, RecordStatus};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;

use crate::dns::fqdn;
use crate::engine::{ProbeRequest, ProbeResult, Prober};
use crate::host::{self, Candidate, HostPolicy, Probe, ProbeFailure, Rules};
use crate::report::EndpointReport;
use crate::verdict::Status;

/// What one probe restricted to a family found, beside the chain of the usual offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferProbe {
    /// The family offered alone (`rsa`, `ecdsa`, `eddsa`).
    pub offered: &'static str,
    /// `same-chain` (a chain already seen at the address), `other-chain` (a new one: an
    /// endpoint of its own), `no-chain` (the server answered `handshake_failure`: it holds
    /// no certificate for that family), `failed` (no answer, or another failure: unknown).
    pub found: &'static str,
    /// What the probe saw, when it found no chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One chain seen at an address, and the family offered to see it (`None`: the usual
/// offer).
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) offer: Option<KeyFamily>,
    pub(crate) result: ProbeResult,
}

/// Everything the probes of one address found: the result of the usual offer first, then
/// each distinct chain the restricted offers found, and what every restricted offer gave.
#[derive(Debug, Clone)]
pub(crate) struct AddressProbes {
    pub(crate) seen: Vec<Seen>,
    pub(crate) offers: Vec<OfferProbe>,
}

/// Probes `request` with the usual offer and, when `all_certs` and a chain came back,
/// once more for each other family, one after the other (a mail server limits connections
/// per client; the run's probe slot is held throughout).
pub(crate) async fn probe_address<P: Prober>(
    prober: &P,
    request: ProbeRequest,
    all_certs: bool,
) -> AddressProbes {
    let first = prober.probe(&request).await;
    let leaf = match &first.probe {
        Probe::Tls { chain, .. } if all_certs => chain.first().map(KeyFamily::of_certificate),
        _ => None,
    };
    let mut out = AddressProbes {
        seen: vec![Seen {
            offer: None,
            result: first,
        }],
        offers: Vec::new(),
    };
    // `Some(None)`: a chain whose leaf key is of no known family; every family is tried.
    let Some(leaf) = leaf else {
        return out;
    };
    for family in KeyFamily::ALL.into_iter().filter(|f| Some(*f) != leaf) {
        let restricted = ProbeRequest {
            offer: Some(family),
            ..request.clone()
        };
        let result = prober.probe(&restricted).await;
        let (found, detail) = match &result.probe {
            Probe::Tls { chain, .. } if out.seen.iter().any(|s| same_chain(s, chain)) => {
                ("same-chain", None)
            }
            Probe::Tls { .. } => ("other-chain", None),
            // No common signature scheme: the server holds no certificate for the family
            // (RFC 8446 4.4.2.2, 4.1.1: it aborts with handshake_failure). Any other
            // handshake failure (a bad signature with that certificate's key, another
            // alert) is not "no certificate": it is reported as a failed probe.
            Probe::Failed {
                failure: ProbeFailure::TlsUnsupported,
                detail,
            } => ("no-chain", Some(detail.clone())),
            Probe::Failed { detail, .. } => ("failed", Some(detail.clone())),
        };
        out.offers.push(OfferProbe {
            offered: family.name(),
            found,
            detail,
        });
        if found == "other-chain" {
            out.seen.push(Seen {
                offer: Some(family),
                result,
            });
        }
    }
    out
}

fn same_chain(seen: &Seen, chain: &[CertificateDer<'static>]) -> bool {
    matches!(&seen.result.probe, Probe::Tls { chain: c, .. } if c.as_slice() == chain)
}

/// The key family of the leaf a probe saw, if any.
pub(crate) fn leaf_family(result: &ProbeResult) -> Option<KeyFamily> {
    match &result.probe {
        Probe::Tls { chain, .. } => chain.first().and_then(KeyFamily::of_certificate),
        Probe::Failed { .. } => None,
    }
}

/// What the engine knows about the host when it judges one chain.
pub(crate) struct HostContext<'a> {
    pub(crate) rules: &'a Rules,
    pub(crate) host: &'a str,
    pub(crate) policy: &'a HostPolicy,
    pub(crate) now: UnixTime,
}

/// One endpoint (an address, and with several chains there a key algorithm) judged.
/// `several`: the address holds more than one chain, so the reason names the algorithm and
/// the senders that get this chain.
pub(crate) fn judge_chain(
    cx: &HostContext<'_>,
    address: IpAddr,
    port: u16,
    seen: Seen,
    several: bool,
) -> EndpointReport {
    let judged = host::endpoint_verdict(cx.rules, cx.host, cx.policy, &seen.result.probe, cx.now);
    let family = leaf_family(&seen.result);
    let mut verdict = judged.verdict;
    let label = match family {
        Some(f) if several => format!(" ({f} certificate)"),
        _ => String::new(),
    };
    // Name the address (and the algorithm) in the reason: a host's addresses, and an
    // address's certificates, can differ.
    let prefix = format!("{}: ", fqdn(cx.host));
    if let Some(rest) = verdict.reason.strip_prefix(&prefix) {
        verdict.reason = format!(
            "{} {}{label}: {rest}",
            fqdn(cx.host),
            SocketAddr::new(address, port)
        );
    }
    if let (true, Some(f), Status::Failed) = (several, family, verdict.status) {
        verdict.reason = which_senders(&verdict.reason, f);
    }
    let (publish, fix) = match (&seen.result.probe, &judged.matched) {
        (Probe::Tls { chain, .. }, Some(m)) if verdict.status == Status::Failed => {
            what_to_publish(cx, chain, m)
        }
        _ => (Vec::new(), None),
    };
    EndpointReport {
        address,
        port,
        verdict,
        tls: seen.result.tls,
        chain: seen.result.chain,
        tlsa_match: judged.matched,
        algorithm: family.map(|f| f.name().to_owned()),
        offered: seen.offer.map(|f| f.name().to_owned()),
        other_offers: Vec::new(),
        publish,
        fix,
        cached: seen.result.cached,
    }
}

/// A failure's reason with the senders it concerns: those that negotiate `family`.
fn which_senders(reason: &str, family: KeyFamily) -> String {
    for (said, who) in [
        ("senders that do DANE", "senders that do DANE and negotiate"),
        ("DANE clients", "DANE clients that negotiate"),
    ] {
        if let Some((head, tail)) = reason.rsplit_once(said) {
            return format!("{head}{who} {family}{tail}");
        }
    }
    format!("{reason}; senders that negotiate {family} get this certificate")
}

/// When no record authenticates a chain: the records that would (`3 1 1` of the key the
/// server presents, `2 1 1` of its issuer when it sent one) and the sentence that says
/// what to do: "server presents 3 1 1 104E...: publish that, or deploy the key of
/// record 1".
fn what_to_publish(
    cx: &HostContext<'_>,
    chain: &[CertificateDer<'static>],
    matched: &MatchReport,
) -> (Vec<String>, Option<String>) {
    let publish = host::records_to_publish(cx.rules, cx.policy, &Candidate::Chain(chain.to_vec()));
    let Ok(wanted) = dane_tlsa::recommended(chain) else {
        return (publish, None);
    };
    let Some(ee) = wanted.first() else {
        return (publish, None);
    };
    // Records are numbered from 1 in the order every output lists them.
    let number = |usage: CertUsage| {
        matched
            .records
            .iter()
            .find(|o| o.record.usage == usage && o.status != RecordStatus::Unusable)
            .map(|o| o.index + 1)
    };
    let alternative = match (number(CertUsage::DaneEe), number(CertUsage::DaneTa)) {
        (Some(n), _) => format!("or deploy the key of record {n}"),
        (None, Some(n)) => format!("or deploy a certificate issued by the CA of record {n}"),
        (None, None) => "no published record can be used for this server".to_owned(),
    };
    let issuer = wanted
        .get(1)
        .map(|ta| format!(" (its issuer: {})", ta.presentation()))
        .unwrap_or_default();
    let fix = format!(
        "server presents {}{issuer}: publish that, {alternative}",
        ee.presentation()
    );
    (publish, Some(fix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_senders_named_are_those_of_the_algorithm() {
        assert_eq!(
            which_senders(
                "mx. 192.0.2.1:25 (RSA certificate): no record matches: senders that do DANE will not deliver here",
                KeyFamily::Rsa
            ),
            "mx. 192.0.2.1:25 (RSA certificate): no record matches: senders that do DANE and negotiate RSA will not deliver here"
        );
        assert_eq!(
            which_senders(
                "www. 192.0.2.1:443 (ECDSA certificate): x: DANE clients will refuse this server",
                KeyFamily::Ecdsa
            ),
            "www. 192.0.2.1:443 (ECDSA certificate): x: DANE clients that negotiate ECDSA will refuse this server"
        );
        assert_eq!(
            which_senders("odd", KeyFamily::Eddsa),
            "odd; senders that negotiate EdDSA get this certificate"
        );
    }
}
