//! The engine's sources over the real thing: [`LiveProber`] runs `dane-probe`, and turns
//! what it recorded into the policy's vocabulary. (The prober records; the policy judges:
//! ARCHITECTURE.md invariant 3.)

use std::net::SocketAddr;

use dane_probe::{CertSummary, PkixVerdict, ProbeOutcome, Target};
use dane_tlsa::Pkix;
use rustls_pki_types::UnixTime;

use crate::engine::{ProbeRequest, ProbeResult, Prober};
use crate::host::{Probe, ProbeFailure};
use crate::report::{CertInfo, TlsInfo};

/// [`Prober`] over `dane_probe::Prober`, judging PKIX dates at `now`.
#[derive(Debug, Clone)]
pub struct LiveProber {
    prober: dane_probe::Prober,
    now: UnixTime,
}

impl LiveProber {
    /// Wraps a configured prober (trust store, limits, concurrency).
    pub fn new(prober: dane_probe::Prober, now: UnixTime) -> LiveProber {
        LiveProber { prober, now }
    }
}

impl Prober for LiveProber {
    async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
        let addr = SocketAddr::new(request.address, request.port);
        let target = match Target::new(addr, request.protocol, &request.sni) {
            Ok(t) => t.with_service_domain(&request.service_domain),
            // The SNI comes from DNS names the resolver validated; one that rustls refuses
            // cannot be probed, and that is reported, not hidden.
            Err(e) => {
                return ProbeResult {
                    probe: Probe::Failed {
                        failure: ProbeFailure::ProtocolViolation,
                        detail: format!("cannot probe with SNI {:?}: {e}", request.sni),
                    },
                    tls: None,
                    chain: Vec::new(),
                };
            }
        };
        let probed = self.prober.probe(&target, self.now).await;
        from_outcome(&probed.outcome)
    }
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
    }
}

/// The report's summary of one presented certificate.
fn cert_info(der: &rustls_pki_types::CertificateDer<'static>) -> CertInfo {
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
