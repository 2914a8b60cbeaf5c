//! `dane rollover`: a "current + next" key rollover (RFC 6698 A.4, RFC 7671 8.1) made safe.
//!
//! - [`key`]: the next key (P-256, RSA 2048/3072, Ed25519) as PKCS#8 PEM;
//! - [`rrset`]: the RRset to publish while staged and after a promotion, and the change
//!   from what is published;
//! - [`readiness`]: whether the switch is safe now, from every authoritative server's
//!   validated answer and the time each was first seen serving the next key;
//! - [`state`]: the state file's document, with the plan of a promotion or rollback in
//!   progress;
//! - [`files`]: the key and state files, every write a transaction (0600 from the first
//!   byte, fsynced, renamed or linked, the directory fsynced), and the promotion and
//!   rollback as plans written before any key moves, finished by the next run when a run
//!   is killed;
//! - [`promote_check`]: whether every address of every host presents the next key;
//! - [`host_target`]: where a host's TLSA records are, as a DANE client finds them (the
//!   engine's discovery and address and TLSA steps, [`crate::engine::decide_hosts`]).
//!
//! All of it but [`files`] is data in, data out: the CLI reads the clock (or `--at`) and
//! the network (through `dane-resolver` and the engine), and passes them in.

pub mod files;
pub mod key;
pub mod readiness;
pub mod rrset;
pub mod state;

use dane_resolver::authoritative::{Authoritative, ServerResult};
use dane_tlsa::Spki;
use hickory_proto::op::Message;
use hickory_proto::rr::{RData, RecordType};
use serde::Serialize;

use crate::Status;
use crate::dns::{Lookup, fqdn};
use crate::engine::HostDecision;
use crate::host::{HostPolicy, NoDane};
use crate::observe::{from_dnssec, parse_tlsa};
use crate::report::{DomainVerdict, Report};
use dane_tlsa::TlsaRecord;
use readiness::{HostUnchecked, Readiness, RolloverStatus, ServerAnswer, ServerObservation};

/// Where `status` looks for the next key's record at one host.
#[derive(Debug, Clone)]
pub enum HostTarget {
    /// The TLSA owner a client uses, and the validating path's answer there.
    Owner {
        /// The host.
        host: String,
        /// The TLSA owner name.
        owner: String,
        /// The validating lookup at `owner` (already done by the engine).
        validated: Lookup<TlsaRecord>,
    },
    /// No TLSA owner to ask about: DANE does not apply to the host, or it is unusable.
    Unchecked(HostUnchecked),
}

/// The TLSA owner of a host as a DANE client finds it: the owner of the policy when DANE
/// applies (at the end of a secure CNAME chain unless that name securely has no TLSA
/// records: RFC 7671 7, RFC 7672 2.2.3); the failing lookup's owner when the TLSA lookup
/// failed (its servers say why); the first candidate when there are securely no TLSA
/// records or the lookup is insecure (where the record would be looked for first). A host
/// that an insecure MX or SRV RRset named, with insecure address records, or whose address
/// lookup failed is decided here: blocked (indeterminate for a lookup that could not be
/// done).
pub fn host_target(d: &HostDecision) -> HostTarget {
    let host = d.report.name.clone();
    let lookups = d
        .report
        .tlsa
        .as_ref()
        .map(|t| &t.lookups[..])
        .unwrap_or(&[]);
    let at = |owner: &str| {
        lookups
            .iter()
            .find(|l| fqdn(&l.name) == fqdn(owner))
            .cloned()
    };
    let chosen = match &d.policy {
        HostPolicy::Dane { owner, .. } => at(owner),
        HostPolicy::Unusable { .. } => lookups.last().cloned(),
        HostPolicy::NoDane {
            why: NoDane::InsecureTlsa { owner },
        } => at(owner),
        HostPolicy::NoDane {
            why: NoDane::NoTlsa { .. },
        } => lookups.first().cloned(),
        HostPolicy::NoDane { .. } => None,
    };
    if let Some(validated) = chosen {
        return HostTarget::Owner {
            host,
            owner: fqdn(&validated.name),
            validated,
        };
    }
    let (readiness, reason) = match &d.policy {
        HostPolicy::Unusable { verdict } if verdict.status == Status::Indeterminate => {
            (Readiness::Indeterminate, verdict.reason.clone())
        }
        HostPolicy::Unusable { verdict } => (Readiness::Blocked, verdict.reason.clone()),
        HostPolicy::NoDane { why } => (Readiness::Blocked, why.describe(&host)),
        HostPolicy::Dane { owner, .. } => (
            Readiness::Indeterminate,
            format!("internal error: no TLSA lookup at {owner}"),
        ),
    };
    HostTarget::Unchecked(HostUnchecked {
        host,
        readiness,
        reason,
    })
}

/// The run's verdict when the service's discovery left no host (a null MX, a domain that
/// does not exist, a failed MX or SRV lookup, an unsuitable resolver): indeterminate when
/// the lookup could not be done, blocked otherwise.
pub fn discovery_status(report: &Report) -> RolloverStatus {
    RolloverStatus {
        readiness: if report.verdict == DomainVerdict::Indeterminate {
            Readiness::Indeterminate
        } else {
            Readiness::Blocked
        },
        reason: report.reason.clone(),
        ready_at: None,
        seconds_left: None,
        hosts: Vec::new(),
    }
}

/// The TTL a cache may hold the RRset of `owner`/`rtype` in `wire` for: the largest of the
/// records' TTLs and the original TTL of the RRSIGs covering it (RFC 4035 5.3.3: a
/// validator caps the TTL at the original TTL, so the records' TTL alone may understate it
/// only when a server serves them with a smaller one). For a denial, the SOA's negative
/// TTL (RFC 2308 5: the smaller of its TTL and MINIMUM). 0 when the message has neither.
pub fn rrset_ttl(wire: &[u8], rtype: RecordType) -> u32 {
    let Ok(m) = Message::from_vec(wire) else {
        return 0;
    };
    let mut ttl = 0u32;
    for r in &m.answers {
        if r.record_type() == rtype {
            ttl = ttl.max(r.ttl);
        }
        if let RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig)) = &r.data {
            if sig.input().type_covered == rtype {
                ttl = ttl.max(sig.input().original_ttl);
            }
        }
    }
    if ttl == 0 {
        for r in &m.authorities {
            if let RData::SOA(soa) = &r.data {
                ttl = ttl.max(r.ttl.min(soa.minimum));
            }
        }
    }
    ttl
}

/// The target of a CNAME at `owner` in the answer section of `wire`, when the answer has
/// no TLSA record at `owner` itself (RFC 2181 10.1: a CNAME owner has no other data).
pub fn cname_at_owner(wire: &[u8], owner: &str) -> Option<String> {
    let m = Message::from_vec(wire).ok()?;
    let at_owner = |name: &hickory_proto::rr::Name| fqdn(&name.to_ascii()) == fqdn(owner);
    if m.answers
        .iter()
        .any(|r| r.record_type() == RecordType::TLSA && at_owner(&r.name))
    {
        return None;
    }
    m.answers.iter().find_map(|r| match &r.data {
        RData::CNAME(target) if at_owner(&r.name) => Some(target.0.to_ascii()),
        _ => None,
    })
}

/// The name to ask the authoritative servers about instead of `owner`, when every server
/// of `owner`'s zone that answered answered with one and the same CNAME at `owner` (RFC 7671
/// 7: a TLSA owner may be an alias; the record, and its rollover, are at the target, on the
/// servers of the target's zone). `None` when any server answered otherwise (the TLSA
/// RRset itself, another target, a denial): those answers are judged as they are.
pub fn cname_target(auth: &Authoritative, owner: &str) -> Option<String> {
    common_cname_target(
        auth.replies.iter().filter_map(|r| match &r.result {
            ServerResult::Answered { wire, .. } => Some(&wire[..]),
            ServerResult::Failed(_) => None,
        }),
        owner,
    )
}

fn common_cname_target<'a>(
    mut wires: impl Iterator<Item = &'a [u8]>,
    owner: &str,
) -> Option<String> {
    let first = cname_at_owner(wires.next()?, owner)?;
    wires
        .all(|w| cname_at_owner(w, owner).is_some_and(|t| fqdn(&t) == fqdn(&first)))
        .then_some(first)
}

/// Every authoritative server's validated answer for `owner`'s TLSA RRset, in the policy's
/// vocabulary.
pub fn observations(owner: &str, auth: &Authoritative) -> Vec<ServerObservation> {
    auth.replies
        .iter()
        .map(|r| ServerObservation {
            ns: r.ns.to_string(),
            address: r.address.to_string(),
            serial: r.serial,
            answer: match &r.result {
                ServerResult::Failed(why) => ServerAnswer::Failed(why.clone()),
                // Asked directly, a server answers a CNAME at the owner with the CNAME
                // (and the target's records only when it holds them): the next key's
                // record is at the target, on the servers of the target's zone, which this
                // question does not reach. Say so, rather than "does not serve it".
                ServerResult::Answered { wire, .. } if cname_at_owner(wire, owner).is_some() => {
                    let target = cname_at_owner(wire, owner).unwrap_or_default();
                    ServerAnswer::Failed(format!(
                        "answers a CNAME at {owner} (to {target}): the record is looked for at \
                         the CNAME's target, whose zone's servers dane rollover does not ask; \
                         check the target with --host or dane verify"
                    ))
                }
                ServerResult::Answered { wire, lookup } => ServerAnswer::Answered {
                    lookup: from_dnssec(owner, RecordType::TLSA, &lookup.outcome, parse_tlsa),
                    ttl: rrset_ttl(wire, RecordType::TLSA),
                },
            },
        })
        .collect()
}

/// Why a switch to the next key (whose `3 1 1` data is `next_hex`) at `now` came before
/// `dane rollover status` would have said ready, from what its runs recorded in the state
/// file; `None` when status had said ready by `now`. `promote` warns with it
/// (`--require-ready`: refuses).
pub fn early_switch(state: Option<&state::State>, next_hex: &str, now: u64) -> Option<String> {
    let Some(s) = state.filter(|s| s.next_key.eq_ignore_ascii_case(next_hex)) else {
        return Some(
            "no `dane rollover status` run recorded the next key's record on the authoritative \
             servers (the state file has nothing for this key): caches may hold a TLSA RRset \
             without it"
                .into(),
        );
    };
    match s.ready_at {
        None => Some(
            "the last `dane rollover status` run did not find the next key's record on every \
             authoritative server: caches may hold a TLSA RRset without it"
                .into(),
        ),
        Some(t) if now < t => Some(format!(
            "the switch came {} before `dane rollover status` would have said ready (at {}): \
             caches may still hold the TLSA RRset without the next key's record",
            readiness::fmt_duration(t - now),
            crate::report::fmt_time(t)
        )),
        Some(_) => None,
    }
}

/// One endpoint as `promote` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointKey {
    /// The host.
    pub host: String,
    /// `192.0.2.1:25`.
    pub address: String,
    /// Whether the leaf it presented has the next key.
    pub presents_next: bool,
    /// Whether DANE authenticates it (the endpoint's verdict is verified).
    pub verified: bool,
    /// The endpoint's verdict reason, or what it presented.
    pub detail: String,
}

/// Whether it is safe to promote: every address of every host presents the next key and
/// authenticates with DANE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromoteCheck {
    /// Whether every endpoint presents the next key and verifies (and none was left out).
    pub ok: bool,
    /// Not ok only because hosts or addresses were left out by the bounds (never probed):
    /// indeterminate, not a definite failure.
    pub indeterminate: bool,
    /// The hosts and addresses left out by the bounds, named.
    pub unchecked: Vec<String>,
    /// Why not, in one sentence (or what was checked).
    pub reason: String,
    /// Every endpoint.
    pub endpoints: Vec<EndpointKey>,
}

/// Judges a `dane verify` report for a promotion to `next`.
pub fn promote_check(report: &Report, next: &Spki) -> PromoteCheck {
    let want = rrset::key_record(next).data_hex();
    let mut endpoints = Vec::new();
    let mut problems = Vec::new();
    for h in &report.hosts {
        if h.endpoints.is_empty() {
            problems.push(format!(
                "{}: no address was probed ({})",
                h.name, h.verdict.reason
            ));
        }
        for e in &h.endpoints {
            let leaf = e.chain.first();
            let presents_next = leaf.is_some_and(|c| c.spki_sha256.eq_ignore_ascii_case(&want));
            let verified = e.verdict.status == Status::Verified;
            let address = std::net::SocketAddr::new(e.address, e.port).to_string();
            let detail = match leaf {
                None => format!("presented no certificate: {}", e.verdict.reason),
                Some(_) if !presents_next => {
                    "presents another key (not the next key yet)".to_owned()
                }
                Some(_) if !verified => format!(
                    "presents the next key, but senders reject it: {}",
                    e.verdict.reason
                ),
                Some(_) => "presents the next key, verified".to_owned(),
            };
            if !(presents_next && verified) {
                problems.push(format!("{} {address}: {detail}", h.name));
            }
            endpoints.push(EndpointKey {
                host: h.name.clone(),
                address,
                presents_next,
                verified,
                detail,
            });
        }
    }
    if report.hosts.is_empty() {
        problems.push(format!("no host to check: {}", report.reason));
    }
    let unchecked = unchecked(report);
    let ok = problems.is_empty() && unchecked.is_empty();
    PromoteCheck {
        ok,
        indeterminate: problems.is_empty() && !unchecked.is_empty(),
        reason: if ok {
            format!(
                "all {} endpoints present the next key and verify",
                endpoints.len()
            )
        } else if let Some(first) = problems.first() {
            format!(
                "{} of {} endpoint(s) not switched: {first}",
                problems.len(),
                endpoints.len().max(problems.len()),
            )
        } else {
            format!(
                "indeterminate: not every endpoint was probed (the bounds left some out): {}",
                unchecked.join("; ")
            )
        },
        endpoints,
        unchecked,
    }
}

/// What the engine's bounds left unprobed: hosts past `too-many-hosts` (its warning names
/// them) and each host's addresses past `MAX_ADDRESSES`, named.
fn unchecked(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report
        .warnings
        .iter()
        .filter(|w| w.code == "too-many-hosts")
        .map(|w| w.message.clone())
        .collect();
    for h in report.hosts.iter().filter(|h| h.addresses_left_out > 0) {
        let probed: Vec<std::net::IpAddr> = h.endpoints.iter().map(|e| e.address).collect();
        let left: Vec<String> = h
            .addresses
            .iter()
            .flat_map(|a| a.lookup.records())
            .filter(|ip| !probed.contains(ip))
            .map(ToString::to_string)
            .collect();
        out.push(format!(
            "{}: {} address(es) not probed (at most {} per host): {}",
            h.name,
            h.addresses_left_out,
            crate::limits::MAX_ADDRESSES,
            left.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{cname_at_owner, common_cname_target, early_switch, state::State};

    #[test]
    fn a_switch_before_status_said_ready_is_named() {
        let key = "AB".repeat(32);
        let at = |ready_at: Option<u64>| State {
            ready_at,
            ..State::new(&key)
        };
        let check = |state: Option<&State>, now: u64, says: Option<&str>| {
            let got = early_switch(state, &key, now);
            match (got, says) {
                (None, None) => {}
                (Some(g), Some(s)) => assert!(g.contains(s), "{g}"),
                (g, s) => panic!("got {g:?}, wanted {s:?}"),
            }
        };
        check(None, 100, Some("no `dane rollover status` run recorded"));
        check(
            Some(&State::new(&"CD".repeat(32))),
            100,
            Some("has nothing for this key"),
        );
        check(
            Some(&at(None)),
            100,
            Some("did not find the next key's record"),
        );
        check(
            Some(&at(Some(760))),
            100,
            Some("the switch came 11m before `dane rollover status` would have said ready"),
        );
        check(Some(&at(Some(100))), 100, None);
        check(Some(&at(Some(50))), 100, None);
        // The state's key is compared without regard to case.
        check(Some(&at(Some(50))), 100, None);
        assert!(early_switch(Some(&at(Some(50))), &key.to_lowercase(), 100).is_none());
    }
    use hickory_proto::op::Message;
    use hickory_proto::rr::rdata::{CNAME, TLSA, tlsa};
    use hickory_proto::rr::{Name, RData, Record};
    use std::str::FromStr;

    fn wire(answers: &[(&str, RData)]) -> Vec<u8> {
        let mut m = Message::query();
        for (owner, data) in answers {
            m.add_answer(Record::from_rdata(
                Name::from_str(owner).unwrap(),
                300,
                data.clone(),
            ));
        }
        m.to_vec().unwrap()
    }

    fn cname(target: &str) -> RData {
        RData::CNAME(CNAME(Name::from_str(target).unwrap()))
    }

    fn tlsa_rdata() -> RData {
        RData::TLSA(TLSA::new(
            tlsa::CertUsage::DaneEe,
            tlsa::Selector::Spki,
            tlsa::Matching::Sha256,
            vec![0xab; 32],
        ))
    }

    #[test]
    fn a_cname_at_the_tlsa_owner_is_recognised() {
        let owner = "_25._tcp.mx.example.";
        let check = |answers: &[(&str, RData)], expected: Option<&str>| {
            assert_eq!(
                cname_at_owner(&wire(answers), owner).as_deref(),
                expected,
                "{answers:?}"
            );
        };
        check(
            &[(owner, cname("_dane.example.net."))],
            Some("_dane.example.net."),
        );
        // Case-insensitive owner match; an in-zone target's records come along.
        check(
            &[
                ("_25._TCP.MX.example.", cname("t.example.")),
                ("t.example.", tlsa_rdata()),
            ],
            Some("t.example."),
        );
        check(&[(owner, tlsa_rdata())], None);
        check(&[("other.example.", cname("t.example."))], None);
        check(&[], None);
        assert_eq!(cname_at_owner(b"\x00\x01junk", owner), None);
    }

    #[test]
    fn the_servers_are_followed_to_a_cname_target_only_when_they_all_agree() {
        let owner = "_25._tcp.mx.example.";
        let to = |t: &str| wire(&[(owner, cname(t))]);
        let check = |answers: &[Vec<u8>], expected: Option<&str>| {
            let got = common_cname_target(answers.iter().map(|w| &w[..]), owner);
            assert_eq!(got.as_deref(), expected);
        };
        check(
            &[to("_dane.example.net."), to("_DANE.example.net.")],
            Some("_dane.example.net."),
        );
        check(&[to("_dane.example.net.")], Some("_dane.example.net."));
        // One server already serves another target, or still the TLSA RRset itself: no
        // single place to follow; each answer is judged as it is.
        check(&[to("_dane.example.net."), to("_dane2.example.net.")], None);
        check(
            &[to("_dane.example.net."), wire(&[(owner, tlsa_rdata())])],
            None,
        );
        check(&[], None);
    }
}
