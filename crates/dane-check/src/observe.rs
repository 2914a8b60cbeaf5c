//! What the validator and the prober report, in the policy's vocabulary: a `dane-dnssec`
//! [`Outcome`] as a [`Lookup`] (with the RDATA parsers of each type), a `dane-probe`
//! outcome as a [`ProbeResult`], a presented certificate as a [`CertInfo`]. Shared by the
//! live sources ([`crate::live`]) and the evidence replay ([`crate::evidence`]), which
//! therefore do not import each other for them.

use std::net::IpAddr;

use dane_dnssec::{AnswerKind, Outcome, Verdict as DnssecVerdict};
use dane_probe::{CertSummary, PkixVerdict, ProbeOutcome};
use dane_tlsa::Pkix;
use hickory_proto::rr::RecordType;

use crate::dns::{Answer, Lookup, Mx, Security, Srv, fqdn};
use crate::engine::ProbeResult;
use crate::host::{Probe, ProbeFailure};
use crate::report::{CertInfo, TlsInfo};

/// A lookup that got no answer at all.
pub(crate) fn failed<T>(name: &str, reason: String) -> Lookup<T> {
    Lookup {
        name: name.to_owned(),
        canonical: name.to_owned(),
        security: Security::Indeterminate { reason },
        answer: Answer::NoData,
        expires: None,
        inception: None,
        dnssec_warnings: Vec::new(),
    }
}

/// The validator's outcome as a policy lookup: the verdict of the whole chain, the name at
/// its end, and the records of the asked type there.
pub fn from_dnssec<T>(
    name: &str,
    rtype: RecordType,
    outcome: &Outcome,
    parse: fn(&str) -> Option<T>,
) -> Lookup<T> {
    let reason = |r: &Option<dane_dnssec::Reason>| {
        r.as_ref()
            .map_or_else(|| "no reason given".to_owned(), ToString::to_string)
    };
    let security = match &outcome.verdict {
        DnssecVerdict::Secure => Security::Secure,
        DnssecVerdict::Insecure(_) => Security::Insecure,
        DnssecVerdict::Bogus(r) => Security::Bogus {
            reason: r.to_string(),
        },
        DnssecVerdict::Indeterminate(r) => Security::Indeterminate {
            reason: r.to_string(),
        },
    };
    let last = outcome.links.last();
    let canonical = last.map_or_else(|| name.to_owned(), |l| fqdn(&l.name));
    let answer = match outcome.answer {
        AnswerKind::Nxdomain => Answer::NxDomain,
        AnswerKind::Nodata => Answer::NoData,
        AnswerKind::Unknown => {
            return Lookup {
                security: match security {
                    Security::Secure | Security::Insecure => Security::Indeterminate {
                        reason: format!(
                            "no answer for {name} {rtype}: {}",
                            reason(&outcome.reason)
                        ),
                    },
                    failure => failure,
                },
                ..failed(name, String::new())
            };
        }
        AnswerKind::Records => {
            let wanted = rtype.to_string();
            let texts: Vec<&str> = last
                .map(|l| l.records.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let mut records = Vec::new();
            for text in texts {
                // `owner TTL CLASS TYPE RDATA` (dane-dnssec's presentation form).
                let mut fields = text.split_whitespace();
                let (_, _, _, Some(t)) =
                    (fields.next(), fields.next(), fields.next(), fields.next())
                else {
                    continue;
                };
                if !t.eq_ignore_ascii_case(&wanted) {
                    continue;
                }
                let rdata = fields.collect::<Vec<_>>().join(" ");
                match parse(&rdata) {
                    Some(r) => records.push(r),
                    None => {
                        return Lookup {
                            security: Security::Indeterminate {
                                reason: format!("cannot read the {wanted} record {text:?}"),
                            },
                            ..failed(name, String::new())
                        };
                    }
                }
            }
            if records.is_empty() {
                Answer::NoData
            } else {
                Answer::Records(records)
            }
        }
    };
    // The expiry the verdict rests on: an indeterminate lookup rests on no signature (those
    // that verified before the failure say nothing about when the answer stops validating).
    let (expires, inception) = match security {
        Security::Indeterminate { .. } => (None, None),
        _ => (
            outcome.earliest_expiration,
            outcome.earliest_expiration_inception,
        ),
    };
    Lookup {
        name: name.to_owned(),
        canonical,
        security,
        answer,
        expires,
        inception,
        dnssec_warnings: outcome.warnings.clone(),
    }
}

/// `A` or `AAAA` RDATA in presentation form.
pub fn parse_ip(rdata: &str) -> Option<IpAddr> {
    rdata.trim().parse().ok()
}

/// `MX` RDATA (`PREF EXCHANGE`); the exchange lowercased with its trailing dot.
pub fn parse_mx(rdata: &str) -> Option<Mx> {
    let mut f = rdata.split_whitespace();
    let preference = f.next()?.parse().ok()?;
    let exchange = fqdn(f.next()?);
    f.next().is_none().then_some(Mx {
        preference,
        exchange,
    })
}

/// `SRV` RDATA (`PRIORITY WEIGHT PORT TARGET`).
pub fn parse_srv(rdata: &str) -> Option<Srv> {
    let mut f = rdata.split_whitespace();
    let srv = Srv {
        priority: f.next()?.parse().ok()?,
        weight: f.next()?.parse().ok()?,
        port: f.next()?.parse().ok()?,
        target: fqdn(f.next()?),
    };
    f.next().is_none().then_some(srv)
}

/// `TLSA` RDATA (`U S M HEX`).
pub fn parse_tlsa(rdata: &str) -> Option<dane_tlsa::TlsaRecord> {
    rdata.parse().ok()
}

/// What a `dane-probe` outcome means for the policy.
pub fn from_outcome(outcome: &ProbeOutcome) -> ProbeResult {
    let detail = outcome.to_string();
    let failure = match outcome {
        ProbeOutcome::Connected(session) => {
            let pkix = match &session.pkix {
                // An empty path means the presented chain (dane_tlsa::Pkix): PKIX-TA
                // records are matched against the certificates the server sent.
                PkixVerdict::Valid { .. } => Pkix::Validated { path: Vec::new() },
                PkixVerdict::Invalid { reason, .. } => Pkix::Failed {
                    reason: reason.clone(),
                },
            };
            return ProbeResult {
                probe: Probe::Tls {
                    chain: session.chain.clone(),
                    pkix,
                },
                tls: Some(TlsInfo {
                    version: session.version.clone(),
                    cipher: session.cipher_suite.clone(),
                    group: session.key_exchange_group.clone(),
                }),
                chain: session.chain.iter().map(cert_info).collect(),
                cached: false,
            };
        }
        ProbeOutcome::Refused | ProbeOutcome::Unreachable { .. } | ProbeOutcome::Io { .. } => {
            ProbeFailure::Unreachable
        }
        // Closed early: rate limits or an overloaded server; the chain was not seen.
        ProbeOutcome::Closed { .. } => ProbeFailure::Unreachable,
        ProbeOutcome::Timeout { .. } => ProbeFailure::Timeout,
        ProbeOutcome::Rejected { .. } => ProbeFailure::Rejected,
        ProbeOutcome::StartTlsNotOffered { .. } => ProbeFailure::StarttlsNotOffered,
        ProbeOutcome::StartTlsRefused { .. } => ProbeFailure::StarttlsRefused,
        ProbeOutcome::TlsAlert { .. } | ProbeOutcome::TlsFailed { .. } => ProbeFailure::TlsFailed,
        ProbeOutcome::TlsUnsupported { .. } => ProbeFailure::TlsUnsupported,
        ProbeOutcome::ProtocolViolation { .. } => ProbeFailure::ProtocolViolation,
    };
    ProbeResult {
        probe: Probe::Failed { failure, detail },
        tls: None,
        chain: Vec::new(),
        cached: false,
    }
}

/// The report's summary of one presented certificate.
pub fn cert_info(der: &rustls_pki_types::CertificateDer<'static>) -> CertInfo {
    match CertSummary::from_der(der) {
        Ok(s) => CertInfo {
            subject: s.subject,
            issuer: s.issuer,
            sans: s.sans,
            not_before: s.not_before,
            not_after: s.not_after,
            key: match s.key_bits {
                Some(bits) if !s.key_type.starts_with("EC ") => {
                    format!("{} {bits}", s.key_type)
                }
                _ => s.key_type,
            },
            spki_sha256: s.spki_sha256.iter().map(|b| format!("{b:02x}")).collect(),
        },
        // Not X.509 at all: the matcher reports it too; the summary says so plainly.
        Err(e) => CertInfo {
            subject: format!("(unparsable certificate: {e})"),
            issuer: String::new(),
            sans: Vec::new(),
            not_before: 0,
            not_after: 0,
            key: String::new(),
            spki_sha256: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dane_probe::{Phase, Reply};

    #[test]
    fn rdata_forms() {
        assert_eq!(
            parse_mx("10 MX1.Example.test."),
            Some(Mx {
                preference: 10,
                exchange: "mx1.example.test.".into()
            })
        );
        assert_eq!(parse_mx("10"), None);
        assert_eq!(parse_mx("x mx."), None);
        assert_eq!(
            parse_srv("5 0 5222 chat.example."),
            Some(Srv {
                priority: 5,
                weight: 0,
                port: 5222,
                target: "chat.example.".into()
            })
        );
        assert_eq!(parse_srv("5 0 99999 chat.example."), None);
        assert_eq!(parse_ip("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("999.1.1.1"), None);
        assert!(parse_tlsa("3 1 1 AB").is_some_and(|r| r.usability().is_err()));
        assert!(parse_tlsa("3 1 1 zz").is_none());
    }

    #[test]
    fn outcomes_map_to_policy_failures() {
        let reply = Reply {
            code: "554".into(),
            text: "no".into(),
        };
        let table = [
            (ProbeOutcome::Refused, ProbeFailure::Unreachable),
            (
                ProbeOutcome::Timeout {
                    phase: Phase::Banner,
                },
                ProbeFailure::Timeout,
            ),
            (
                ProbeOutcome::Rejected {
                    phase: Phase::Banner,
                    reply: reply.clone(),
                },
                ProbeFailure::Rejected,
            ),
            (
                ProbeOutcome::StartTlsNotOffered {
                    capabilities: vec!["PIPELINING".into()],
                    no_esmtp: None,
                },
                ProbeFailure::StarttlsNotOffered,
            ),
            (
                ProbeOutcome::StartTlsRefused { reply },
                ProbeFailure::StarttlsRefused,
            ),
            (
                ProbeOutcome::TlsAlert {
                    alert: "internal_error".into(),
                },
                ProbeFailure::TlsFailed,
            ),
            (
                ProbeOutcome::TlsUnsupported {
                    detail: "TLS 1.0 only".into(),
                },
                ProbeFailure::TlsUnsupported,
            ),
        ];
        for (outcome, expected) in table {
            let r = from_outcome(&outcome);
            match r.probe {
                Probe::Failed { failure, detail } => {
                    assert_eq!(failure, expected, "{outcome:?}");
                    assert_eq!(detail, outcome.to_string());
                }
                Probe::Tls { .. } => panic!("{outcome:?} is not a session"),
            }
        }
    }
}
