//! The resolver capability check (issue 11): before any lookup of a run, each configured
//! resolver is asked for the root DNSKEY RRset with DO and CD set. A resolver is suitable
//! when the answer carries RRSIGs that a root trust anchor validates and echoes DO (RFC 3225
//! section 3: "MUST copy the DO bit") and, unless the answer is authoritative, CD (RFC 4035
//! section 3.2.2). Anything else (no RRSIGs, NXDOMAIN for the root, REFUSED, no answer, the
//! AD bit without the records or without their signatures, CD not copied) means the
//! resolver cannot feed a validator: a local fault, reported as such, never as a verdict on
//! the domain.

use std::net::SocketAddr;
use std::time::Duration;

use dane_dnssec::{
    Evidence, Limits, Question, ReasonCode, SignatureMemo, Step, TrustAnchors, Verdict,
};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use rustls_pki_types::UnixTime;

use crate::transport;

/// What an unsuitable resolver did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No answer within the deadline.
    TimedOut,
    /// Could not be reached at all (connection refused, no route).
    Unreachable(String),
    /// Answered REFUSED.
    Refused,
    /// Answered SERVFAIL (typically: it validates and ignores CD, or cannot reach the root).
    ServFail,
    /// Answered NXDOMAIN for the trust anchor's zone (the root exists).
    Nxdomain,
    /// Another error rcode.
    Rcode(u8),
    /// NOERROR with the AD bit but without the DNSKEY records.
    AdWithoutRecords,
    /// NOERROR without DNSKEY records.
    NoRecords,
    /// The DNSKEY records came without RRSIGs (DNSSEC records stripped, or DO ignored).
    NoSignatures,
    /// The DNSKEY records came with the AD bit but without RRSIGs: the resolver validates
    /// and asks to be trusted, which dane does not (it validates every answer itself).
    AdWithoutSignatures,
    /// The response had no EDNS, or DO clear (RFC 3225 section 3).
    DoIgnored,
    /// A non-authoritative response had CD clear although the query set it (RFC 4035
    /// section 3.2.2).
    CdIgnored,
    /// The records and signatures came, but they do not validate from the trust anchor.
    DoesNotValidate(String),
    /// The response could not be read.
    Malformed(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::TimedOut => write!(f, "timed out"),
            Problem::Unreachable(e) => write!(f, "unreachable ({e})"),
            Problem::Refused => write!(f, "refused the query (REFUSED)"),
            Problem::ServFail => write!(f, "answered SERVFAIL (it may not honour CD)"),
            Problem::Nxdomain => write!(f, "answered NXDOMAIN for the root"),
            Problem::Rcode(r) => write!(f, "answered with rcode {r}"),
            Problem::AdWithoutRecords => {
                write!(f, "set AD without returning the DNSKEY records")
            }
            Problem::NoRecords => write!(f, "returned no DNSKEY records"),
            Problem::NoSignatures => write!(
                f,
                "returned no RRSIGs (it strips DNSSEC records or ignores DO)"
            ),
            Problem::AdWithoutSignatures => write!(
                f,
                "set AD but returned no RRSIGs (dane validates every answer itself and does \
                 not trust the AD bit)"
            ),
            Problem::DoIgnored => write!(f, "ignored the DO bit (no EDNS DO in the response)"),
            Problem::CdIgnored => write!(f, "ignored the CD bit (not copied into the response)"),
            Problem::DoesNotValidate(r) => {
                write!(
                    f,
                    "returned a DNSKEY RRset the trust anchor does not validate ({r})"
                )
            }
            Problem::Malformed(e) => write!(f, "sent a malformed response ({e})"),
        }
    }
}

/// The configured resolvers failed the check: each with what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuitable {
    /// The zone whose DNSKEY was asked (the trust anchor's: `.` normally).
    pub zone: String,
    /// Every resolver asked, with its problem.
    pub servers: Vec<(SocketAddr, Problem)>,
}

impl std::fmt::Display for Unsuitable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.zone == "." {
            "the root DNSKEY".to_owned()
        } else {
            format!("{} DNSKEY", self.zone)
        };
        let parts: Vec<String> = self
            .servers
            .iter()
            .map(|(s, p)| format!("resolver {s} {p}"))
            .collect();
        // One fix per kind of problem, in the order the servers first show them.
        let mut fixes: Vec<&str> = Vec::new();
        for (_, p) in &self.servers {
            let fix = p.fix();
            if !fixes.contains(&fix) {
                fixes.push(fix);
            }
        }
        write!(
            f,
            "unsuitable resolver: asked for {what} with DO and CD, {}; fix: {}",
            parts.join("; "),
            fixes.join("; or ")
        )
    }
}

impl Problem {
    /// What to do about it, as the end of the unsuitable-resolver line.
    fn fix(&self) -> &'static str {
        match self {
            Problem::DoesNotValidate(_) => {
                "check --trust-anchor: it matches no key of the DNSKEY RRset (a stale anchor \
                 after a key rollover, or a resolver serving another root)"
            }
            Problem::TimedOut | Problem::Unreachable(_) => {
                "check that the resolver runs and is reachable from here (/etc/resolv.conf or \
                 --resolver), or let dane resolve from the root itself (--iterate)"
            }
            Problem::Refused => {
                "allow this host in the resolver's access control (Unbound access-control, \
                 BIND allow-recursion), use another --resolver, or let dane resolve from the \
                 root itself (--iterate)"
            }
            _ => {
                "use a resolver that passes DNSSEC records through (e.g. Unbound) in \
                 /etc/resolv.conf or --resolver, or let dane resolve from the root itself \
                 (--iterate)"
            }
        }
    }
}

/// Checks one resolver; `Ok` when it is suitable.
pub async fn check_server(
    server: SocketAddr,
    anchors: &TrustAnchors,
    limits: &Limits,
    timeout: Duration,
    attempts: u32,
    now: UnixTime,
) -> Result<(), Problem> {
    // The DNSKEY RRset of the shallowest anchored zone (the root with the IANA anchors; the
    // top of a private tree otherwise): the anchor validates it from that answer alone.
    let zone = anchors
        .anchors()
        .iter()
        .map(|a| a.zone().clone())
        .min_by_key(Name::num_labels)
        .unwrap_or_else(Name::root);
    let q = Question::new(&zone, RecordType::DNSKEY);
    let wire = ask(server, &q, timeout, attempts).await?;
    classify(&wire)?;
    let mut evidence = Evidence::new();
    if let Err(e) = evidence.insert_wire(q, wire) {
        return Err(Problem::Malformed(e.to_string()));
    }
    let memo = SignatureMemo::new(64);
    match dane_dnssec::validate_memo(
        &evidence,
        anchors,
        &zone,
        RecordType::DNSKEY,
        now,
        limits,
        &memo,
    ) {
        Step::Done(outcome) => match outcome.verdict {
            Verdict::Secure => Ok(()),
            // Signatures outside their window at the evaluation time (`--at` in the past or
            // future) are the data's age, not the resolver's doing: the lookups of the run
            // will say so themselves.
            Verdict::Bogus(r)
                if matches!(
                    r.code,
                    ReasonCode::SignatureExpired | ReasonCode::SignatureNotYetValid
                ) =>
            {
                Ok(())
            }
            v => Err(Problem::DoesNotValidate(
                outcome
                    .reason
                    .as_ref()
                    .map_or_else(|| v.as_str().to_owned(), ToString::to_string),
            )),
        },
        // A root anchor validates the root's DNSKEY from that answer alone.
        Step::Need(q) => Err(Problem::DoesNotValidate(format!(
            "the validator also needs {} {}",
            q.name, q.rtype
        ))),
    }
}

async fn ask(
    server: SocketAddr,
    q: &Question,
    timeout: Duration,
    attempts: u32,
) -> Result<Vec<u8>, Problem> {
    let mut problem = Problem::TimedOut;
    for _ in 0..attempts.max(1) {
        match transport::ask(server, &q.name, q.rtype, timeout).await {
            transport::Answer::Response { wire, rcode: 0 } => return Ok(wire),
            transport::Answer::Response { rcode: 3, .. } => return Err(Problem::Nxdomain),
            transport::Answer::Response { rcode: 5, .. } => return Err(Problem::Refused),
            transport::Answer::Response { rcode: 2, .. } => problem = Problem::ServFail,
            transport::Answer::Response { rcode, .. } => return Err(Problem::Rcode(rcode)),
            transport::Answer::Failed(e) if e.contains("no answer from") => {
                problem = Problem::TimedOut;
            }
            transport::Answer::Failed(e) => problem = Problem::Unreachable(e),
        }
    }
    Err(problem)
}

/// What the anchor zone's DNSKEY response says about the resolver, before validation.
fn classify(wire: &[u8]) -> Result<(), Problem> {
    let m = Message::from_vec(wire).map_err(|e| Problem::Malformed(e.to_string()))?;
    let keys = m
        .answers
        .iter()
        .any(|r| r.record_type() == RecordType::DNSKEY);
    let sigs = m
        .answers
        .iter()
        .any(|r| r.record_type() == RecordType::RRSIG);
    if !keys {
        return Err(if m.metadata.authentic_data {
            Problem::AdWithoutRecords
        } else {
            Problem::NoRecords
        });
    }
    if !sigs {
        return Err(if m.metadata.authentic_data {
            Problem::AdWithoutSignatures
        } else {
            Problem::NoSignatures
        });
    }
    // RFC 3225 section 3: the DO bit is copied into the response.
    if !m.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok) {
        return Err(Problem::DoIgnored);
    }
    // RFC 4035 section 3.2.2: a recursive resolver copies CD into the response, and with
    // CD set hands back data it would find bogus; one that drops CD may be validating
    // anyway, turning bogus answers into SERVFAIL. An authoritative answer (AA, an
    // authoritative server used as the resolver, as NSD in the tests) validates nothing,
    // and NSD does not copy CD: only a non-authoritative answer is held to it.
    if !m.metadata.checking_disabled && !m.metadata.authoritative {
        return Err(Problem::CdIgnored);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Edns, MessageType, OpCode, Query};
    use hickory_proto::rr::{RData, Record};

    fn response(keys: bool, sigs: bool, ad: bool, edns_do: Option<bool>, cd: bool) -> Vec<u8> {
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(Name::root(), RecordType::DNSKEY));
        m.metadata.authentic_data = ad;
        m.metadata.checking_disabled = cd;
        if keys {
            // Any record of the type will do for the classification.
            let rd = RData::Unknown {
                code: RecordType::DNSKEY,
                rdata: hickory_proto::rr::rdata::NULL::with(vec![1, 0, 3, 8, 1]),
            };
            m.add_answer(Record::from_rdata(Name::root(), 3600, rd));
        }
        if sigs {
            let rd = RData::Unknown {
                code: RecordType::RRSIG,
                rdata: hickory_proto::rr::rdata::NULL::with(vec![0; 20]),
            };
            m.add_answer(Record::from_rdata(Name::root(), 3600, rd));
        }
        if let Some(d) = edns_do {
            let mut e = Edns::new();
            e.set_dnssec_ok(d);
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn responses_are_classified() {
        let check = |wire: Vec<u8>, want: Result<(), Problem>| {
            assert_eq!(classify(&wire), want);
        };
        check(response(true, true, false, Some(true), true), Ok(()));
        check(
            response(true, false, false, Some(true), true),
            Err(Problem::NoSignatures),
        );
        check(
            response(true, false, true, Some(true), true),
            Err(Problem::AdWithoutSignatures),
        );
        check(
            response(false, false, true, Some(true), true),
            Err(Problem::AdWithoutRecords),
        );
        check(
            response(false, false, false, None, true),
            Err(Problem::NoRecords),
        );
        check(
            response(true, true, false, None, true),
            Err(Problem::DoIgnored),
        );
        check(
            response(true, true, false, Some(false), true),
            Err(Problem::DoIgnored),
        );
        check(
            response(true, true, false, Some(true), false),
            Err(Problem::CdIgnored),
        );
        // An authoritative server (AA) need not copy CD: it validates nothing.
        let mut aa = Message::from_vec(&response(true, true, false, Some(true), false)).unwrap();
        aa.metadata.authoritative = true;
        check(aa.to_vec().unwrap(), Ok(()));
        assert!(matches!(classify(&[1, 2, 3]), Err(Problem::Malformed(_))));
    }

    #[test]
    fn the_line_names_each_resolver_what_it_did_and_the_fix() {
        let u = Unsuitable {
            zone: ".".into(),
            servers: vec![
                ("192.0.2.1:53".parse().unwrap(), Problem::NoSignatures),
                ("[2001:db8::1]:53".parse().unwrap(), Problem::TimedOut),
            ],
        };
        let line = u.to_string();
        assert!(!line.contains('\n'));
        for part in [
            "resolver 192.0.2.1:53 returned no RRSIGs",
            "resolver [2001:db8::1]:53 timed out",
            "the root DNSKEY",
            "fix:",
            "--iterate",
        ] {
            assert!(line.contains(part), "{part}: {line}");
        }
    }

    /// Each problem gets the fix that fits it: a stale anchor is not a resolver that
    /// strips records, a refusal is an access list, a timeout a resolver that is down.
    #[test]
    fn the_fix_fits_the_problem() {
        let line = |problems: Vec<Problem>| {
            Unsuitable {
                zone: ".".into(),
                servers: problems
                    .into_iter()
                    .map(|p| ("192.0.2.1:53".parse().unwrap(), p))
                    .collect(),
            }
            .to_string()
        };
        let stale = line(vec![Problem::DoesNotValidate("no DS matches".into())]);
        assert!(
            stale.ends_with("fix: check --trust-anchor: it matches no key of the DNSKEY RRset (a stale anchor after a key rollover, or a resolver serving another root)"),
            "{stale}"
        );
        assert!(!stale.contains("passes DNSSEC records through"), "{stale}");
        let refused = line(vec![Problem::Refused]);
        assert!(
            refused.contains("fix: allow this host in the resolver's access control"),
            "{refused}"
        );
        let down = line(vec![
            Problem::TimedOut,
            Problem::Unreachable("refused".into()),
        ]);
        assert_eq!(
            down.matches("check that the resolver runs").count(),
            1,
            "{down}"
        );
        let both = line(vec![Problem::NoSignatures, Problem::TimedOut]);
        assert!(
            both.contains("passes DNSSEC records through")
                && both.contains("; or check that the resolver runs"),
            "{both}"
        );
    }
}
