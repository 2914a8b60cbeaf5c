//! The engine's sources over the real thing: [`LiveDns`] asks `dane-resolver` (which has
//! `dane-dnssec` validate every answer from the trust anchors), [`LiveProber`] runs
//! `dane-probe`; both turn what they got into the policy's vocabulary. (The resolver and
//! the prober record; the validator and the policy judge: ARCHITECTURE.md invariant 3.)

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr as _;
use std::sync::Arc;

use dane_dnssec::{AnswerKind, Outcome, Verdict as DnssecVerdict};
use dane_resolver::Resolver;
use hickory_proto::rr::{Name, RecordType};

use dane_probe::{CertSummary, PkixVerdict, ProbeOutcome, Target};
use dane_tlsa::Pkix;
use rustls_pki_types::UnixTime;

use crate::dns::{Answer, Lookup, Mx, Resolution, Security, Srv, fqdn};
use crate::engine::{Dns, Family, ProbeRequest, ProbeResult, Prober};
use crate::evidence::Recorder;
use crate::host::{Probe, ProbeFailure};
use crate::report::{CertInfo, TlsInfo};

/// [`Dns`] over a validating [`Resolver`] (one per run: its cache is shared by every
/// lookup), validating at `now`.
#[derive(Debug, Clone)]
pub struct LiveDns {
    resolver: Arc<Resolver>,
    now: UnixTime,
    recorder: Option<Arc<Recorder>>,
}

impl LiveDns {
    /// Wraps a resolver.
    pub fn new(resolver: Arc<Resolver>, now: UnixTime) -> LiveDns {
        LiveDns {
            resolver,
            now,
            recorder: None,
        }
    }

    /// Also records every DNS message used into `recorder` (`--save-evidence`).
    pub fn with_recorder(mut self, recorder: Arc<Recorder>) -> LiveDns {
        self.recorder = Some(recorder);
        self
    }

    async fn lookup<T>(
        &self,
        name: &str,
        rtype: RecordType,
        parse: fn(&str) -> Option<T>,
    ) -> Lookup<T> {
        let name = fqdn(name);
        let Ok(qname) = Name::from_str(&name) else {
            return failed(&name, format!("{name:?} is not a DNS name"));
        };
        match self.resolver.lookup(&qname, rtype, self.now).await {
            Ok(l) => {
                if let Some(r) = &self.recorder {
                    r.add_evidence(&l.evidence);
                }
                from_dnssec(&name, rtype, &l.outcome, parse)
            }
            Err(e) => failed(&name, e.to_string()),
        }
    }
}

impl Dns for LiveDns {
    async fn mx(&self, domain: &str) -> Lookup<Mx> {
        self.lookup(domain, RecordType::MX, parse_mx).await
    }

    async fn addresses(&self, host: &str, family: Family) -> Lookup<IpAddr> {
        match family {
            Family::V4 => self.lookup(host, RecordType::A, parse_ip).await,
            Family::V6 => self.lookup(host, RecordType::AAAA, parse_ip).await,
        }
    }

    async fn tlsa(&self, owner: &str) -> Lookup<dane_tlsa::TlsaRecord> {
        self.lookup(owner, RecordType::TLSA, parse_tlsa).await
    }

    async fn srv(&self, name: &str) -> Lookup<Srv> {
        self.lookup(name, RecordType::SRV, parse_srv).await
    }

    async fn resolution(&self) -> Option<Resolution> {
        let r = resolution(self.resolver.resolution(self.now).await);
        if let Some(rec) = &self.recorder {
            rec.set_resolution(r.clone());
        }
        Some(r)
    }
}

/// The resolver's path in the report's vocabulary.
pub fn resolution(r: &dane_resolver::Resolution) -> Resolution {
    match r {
        dane_resolver::Resolution::Resolver { .. } => Resolution {
            mode: r.mode().to_owned(),
            reason: None,
            unsuitable: false,
        },
        dane_resolver::Resolution::Iterative { reason } => Resolution {
            mode: r.mode().to_owned(),
            reason: Some(reason.clone()),
            unsuitable: false,
        },
        dane_resolver::Resolution::Unsuitable(u) => Resolution {
            mode: r.mode().to_owned(),
            reason: Some(u.to_string()),
            unsuitable: true,
        },
    }
}

fn failed<T>(name: &str, reason: String) -> Lookup<T> {
    Lookup {
        name: name.to_owned(),
        canonical: name.to_owned(),
        security: Security::Indeterminate { reason },
        answer: Answer::NoData,
        expires: None,
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
    Lookup {
        name: name.to_owned(),
        canonical,
        security,
        answer,
        expires: outcome.earliest_expiration,
    }
}

pub(crate) fn parse_ip(rdata: &str) -> Option<IpAddr> {
    rdata.trim().parse().ok()
}

pub(crate) fn parse_mx(rdata: &str) -> Option<Mx> {
    let mut f = rdata.split_whitespace();
    let preference = f.next()?.parse().ok()?;
    let exchange = fqdn(f.next()?);
    f.next().is_none().then_some(Mx {
        preference,
        exchange,
    })
}

pub(crate) fn parse_srv(rdata: &str) -> Option<Srv> {
    let mut f = rdata.split_whitespace();
    let srv = Srv {
        priority: f.next()?.parse().ok()?,
        weight: f.next()?.parse().ok()?,
        port: f.next()?.parse().ok()?,
        target: fqdn(f.next()?),
    };
    f.next().is_none().then_some(srv)
}

pub(crate) fn parse_tlsa(rdata: &str) -> Option<dane_tlsa::TlsaRecord> {
    rdata.parse().ok()
}

/// [`Prober`] over `dane_probe::Prober`, judging PKIX dates at `now`.
#[derive(Debug, Clone)]
pub struct LiveProber {
    prober: dane_probe::Prober,
    now: UnixTime,
    recorder: Option<Arc<Recorder>>,
}

impl LiveProber {
    /// Wraps a configured prober (trust store, limits, concurrency).
    pub fn new(prober: dane_probe::Prober, now: UnixTime) -> LiveProber {
        LiveProber {
            prober,
            now,
            recorder: None,
        }
    }

    /// Also records every probe result into `recorder` (`--save-evidence`).
    pub fn with_recorder(mut self, recorder: Arc<Recorder>) -> LiveProber {
        self.recorder = Some(recorder);
        self
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
        let result = from_outcome(&probed.outcome);
        if let Some(r) = &self.recorder {
            r.add_probe(request, &result);
        }
        result
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
pub(crate) fn cert_info(der: &rustls_pki_types::CertificateDer<'static>) -> CertInfo {
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
