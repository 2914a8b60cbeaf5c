//! Is it safe to switch to the next key? (RFC 6698 A.4, RFC 7671 8.1.)
//!
//! A sender accepts the next key once its resolver's cached TLSA RRset holds the next key's
//! record. That is certain once every authoritative server of the owner's zone serves the new
//! RRset, validated, and has done so for longer than the RRset's TTL (the longest a cache may
//! hold the RRset from before), plus a margin for clock skew and slow secondaries. Per host
//! and server ([`decide`]):
//!
//! - `ready`: it serves the next key's record, DNSSEC-secure, since `first_seen`, and
//!   `first_seen + TTL + margin` has passed;
//! - `waiting`: it serves it, but not for that long yet (the time left is the answer);
//! - `blocked`: something only the operator can fix: a server that does not serve it (a
//!   lagging or broken secondary, or a record never published), a bogus or unsigned answer,
//!   a validating path that still lacks it after every server is ready;
//! - `indeterminate`: a server or the validating path could not be asked, a server or
//!   address was left out by the bounds (never asked, so never counted as ready), or the
//!   zone is signed and its NS RRset (the list of servers) is not secure: a spoofed or
//!   broken list could hide a lagging server.
//!
//! A host is the worst of its servers (blocked, then indeterminate, then waiting), the run
//! the worst of its hosts. The state ([`State`]) remembers each server's `first_seen`; a
//! server seen without the record is forgotten (its clock restarts), one that could not be
//! asked is kept.

use dane_dnssec::Verdict;
use dane_resolver::authoritative::Authoritative;
use dane_tlsa::{Spki, TlsaRecord};
use serde::Serialize;

use super::rrset::designates_key;
use super::state::State;
use crate::dns::{Lookup, Security};
use crate::report::fmt_time;

/// What one authoritative server address said about the owner's TLSA RRset.
#[derive(Debug, Clone)]
pub enum ServerAnswer {
    /// An authoritative answer, validated (DS and DNSKEY from the normal path).
    Answered {
        /// The validation and the records.
        lookup: Lookup<TlsaRecord>,
        /// The RRset's TTL as served (the largest of the records' TTLs and the RRSIGs'
        /// original TTL): what a cache may hold it for.
        ttl: u32,
    },
    /// No usable answer (unreachable, timeout, SERVFAIL, REFUSED, not authoritative).
    Failed(String),
}

/// One address of one name server.
#[derive(Debug, Clone)]
pub struct ServerObservation {
    /// The name server.
    pub ns: String,
    /// Its address (`192.0.2.1:53`).
    pub address: String,
    /// What it said.
    pub answer: ServerAnswer,
    /// The zone's SOA serial it serves (shown, not judged), when it gave one.
    pub serial: Option<u32>,
}

/// What was seen for one host.
#[derive(Debug, Clone)]
pub struct HostObservation {
    /// The host (MX exchange, SRV target, the domain itself, or `--host`).
    pub host: String,
    /// The TLSA owner a client uses (`_25._tcp.HOST.`; at a secure CNAME's target first,
    /// RFC 7672 2.2.3).
    pub owner: String,
    /// Every authoritative server's answer, or why the servers could not be found.
    pub servers: Result<Vec<ServerObservation>, String>,
    /// Servers and addresses the bounds left out (never asked), named.
    pub unasked: Vec<String>,
    /// Why the zone's NS RRset cannot be trusted (a signed zone whose NS RRset, or the SOA
    /// that named the zone, is not secure); `None` when it is secure or the zone unsigned.
    pub name_servers_untrusted: Option<String>,
    /// The normal validating lookup (the resolver, or iteration).
    pub validated: Lookup<TlsaRecord>,
}

/// A host whose servers are not asked: DANE does not apply to it (an insecure MX or SRV
/// RRset, insecure address records), or no client can use it (a failed address lookup).
#[derive(Debug, Clone)]
pub struct HostUnchecked {
    /// The host.
    pub host: String,
    /// Its readiness (blocked, or indeterminate when a lookup could not be done).
    pub readiness: Readiness,
    /// Why, in one sentence.
    pub reason: String,
}

/// One host of the run, as [`decide_all`] takes it.
#[derive(Debug, Clone)]
// At most MAX_HOSTS of these per run, built once: their size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum HostInput {
    /// Its TLSA owner's servers and validating path were asked.
    Observed(HostObservation),
    /// Decided before any TLSA server was asked.
    Unchecked(HostUnchecked),
}

/// The conclusion, for a server, a host or the run (exit codes 0, 5, 1, 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readiness {
    /// Safe to switch.
    Ready,
    /// Published everywhere; caches may still hold the old RRset.
    Waiting,
    /// A definite problem the operator must fix.
    Blocked,
    /// Something could not be asked.
    Indeterminate,
}

impl Readiness {
    /// Higher is worse: blocked, then indeterminate, then waiting, then ready.
    fn severity(self) -> u8 {
        match self {
            Readiness::Ready => 0,
            Readiness::Waiting => 1,
            Readiness::Indeterminate => 2,
            Readiness::Blocked => 3,
        }
    }

    /// `ready`, `waiting`, `blocked`, `indeterminate`.
    pub fn name(self) -> &'static str {
        match self {
            Readiness::Ready => "ready",
            Readiness::Waiting => "waiting",
            Readiness::Blocked => "blocked",
            Readiness::Indeterminate => "indeterminate",
        }
    }
}

/// One server's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerState {
    /// Serves it, long enough.
    Ready,
    /// Serves it, not long enough yet.
    Waiting,
    /// Serves a secure RRset without it (or a secure denial).
    Missing,
    /// Its answer does not validate.
    Bogus,
    /// Its answer is provably unsigned: DANE does not apply.
    Insecure,
    /// No usable answer.
    Failed,
}

/// One server's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerStatus {
    /// The name server.
    pub ns: String,
    /// Its address.
    pub address: String,
    /// Its state.
    pub state: ServerState,
    /// When it was first seen serving the record.
    pub first_seen: Option<u64>,
    /// The RRset's TTL it serves.
    pub ttl: Option<u32>,
    /// The zone's SOA serial it serves (not validated), when it gave one.
    pub serial: Option<u32>,
    /// When it is (or was) ready: `first_seen + ttl + margin`.
    pub ready_at: Option<u64>,
    /// Why, in a phrase.
    pub detail: String,
}

/// One host's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostStatus {
    /// The host.
    pub host: String,
    /// The TLSA owner.
    pub owner: String,
    /// Its readiness.
    pub readiness: Readiness,
    /// Why, in one sentence.
    pub reason: String,
    /// When every server is ready (when all serve it).
    pub ready_at: Option<u64>,
    /// Each authoritative server address.
    pub servers: Vec<ServerStatus>,
    /// Servers and addresses the bounds left out (never asked).
    pub unasked: Vec<String>,
    /// The validating path: `secure`, `bogus (...)`, ...
    pub validated: String,
    /// Whether the validating path's RRset holds the next key's record.
    pub validated_has_next: bool,
}

/// The run's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloverStatus {
    /// The worst of the hosts.
    pub readiness: Readiness,
    /// Why, in one sentence (the deciding host's).
    pub reason: String,
    /// When every host is ready, when waiting (or ready).
    pub ready_at: Option<u64>,
    /// Seconds left until `ready_at`, when waiting.
    pub seconds_left: Option<u64>,
    /// Every host.
    pub hosts: Vec<HostStatus>,
}

/// `3h 2m 5s`, `40s`.
pub fn fmt_duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
    );
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}s"));
    }
    parts.join(" ")
}

/// The first few of `items`, and how many more.
fn list(items: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut out = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        out.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    out
}

/// What the bounds and the validating path leave unknown about the servers of `auth`'s
/// zone: the servers and addresses never asked, and why the NS RRset cannot be trusted
/// (not secure in a signed zone; an unsigned zone's answers are judged insecure anyway).
pub fn coverage(auth: &Authoritative) -> (Vec<String>, Option<String>) {
    let untrusted = match &auth.name_servers_verdict {
        Verdict::Secure | Verdict::Insecure(_) => None,
        Verdict::Bogus(r) => Some(format!(
            "the NS RRset of {} (or the SOA that names the zone) is bogus: {r}",
            auth.zone
        )),
        Verdict::Indeterminate(r) => Some(format!(
            "the NS RRset of {} (or the SOA that names the zone) could not be validated: {r}",
            auth.zone
        )),
    };
    (auth.left_out.clone(), untrusted)
}

fn server_status(
    o: &ServerObservation,
    owner: &str,
    next: &Spki,
    state: &mut State,
    now: u64,
    margin: u64,
) -> ServerStatus {
    let mut s = ServerStatus {
        ns: o.ns.clone(),
        address: o.address.clone(),
        state: ServerState::Failed,
        first_seen: state.first_seen(owner, &o.address),
        ttl: None,
        serial: o.serial,
        ready_at: None,
        detail: String::new(),
    };
    match &o.answer {
        ServerAnswer::Failed(why) => why.clone_into(&mut s.detail),
        ServerAnswer::Answered { lookup, ttl } => {
            s.ttl = Some(*ttl);
            match &lookup.security {
                Security::Bogus { reason } => {
                    s.state = ServerState::Bogus;
                    s.detail = format!("its answer is bogus: {reason}");
                }
                Security::Indeterminate { reason } => {
                    s.detail = format!("its answer could not be validated: {reason}");
                }
                Security::Insecure => {
                    s.state = ServerState::Insecure;
                    s.detail = "its answer is insecure (unsigned): DANE needs DNSSEC".into();
                }
                Security::Secure => {
                    if lookup.records().iter().any(|r| designates_key(r, next)) {
                        let first = state.mark_seen(owner, &o.ns, &o.address, now);
                        let ready_at = first.saturating_add(u64::from(*ttl)).saturating_add(margin);
                        s.first_seen = Some(first);
                        s.ready_at = Some(ready_at);
                        if now >= ready_at {
                            s.state = ServerState::Ready;
                            s.detail = format!(
                                "serves it since {} (TTL {ttl} s + margin {margin} s passed)",
                                fmt_time(first)
                            );
                        } else {
                            s.state = ServerState::Waiting;
                            s.detail = format!(
                                "serves it since {}; caches may hold the old RRset (TTL {ttl} s + margin {margin} s) until {}, {} left",
                                fmt_time(first),
                                fmt_time(ready_at),
                                fmt_duration(ready_at - now)
                            );
                        }
                    } else {
                        state.forget(owner, &o.address);
                        s.first_seen = None;
                        s.state = ServerState::Missing;
                        let n = lookup.records().len();
                        s.detail = if n == 0 {
                            "does not serve it: no TLSA records (secure denial)".to_owned()
                        } else {
                            format!(
                                "does not serve it: its TLSA RRset has {n} record(s), none for the next key"
                            )
                        };
                    }
                }
            }
        }
    }
    s
}

fn host_status(
    h: &HostObservation,
    next: &Spki,
    state: &mut State,
    now: u64,
    margin: u64,
) -> HostStatus {
    let validated_has_next = h.validated.security.is_secure()
        && h.validated
            .records()
            .iter()
            .any(|r| designates_key(r, next));
    let mut out = HostStatus {
        host: h.host.clone(),
        owner: h.owner.clone(),
        readiness: Readiness::Indeterminate,
        reason: String::new(),
        ready_at: None,
        servers: Vec::new(),
        unasked: h.unasked.clone(),
        validated: h.validated.security.describe(),
        validated_has_next,
    };
    let observations = match &h.servers {
        Ok(o) => o,
        Err(e) => {
            out.reason = format!(
                "the authoritative servers of {} could not be found: {e}",
                h.owner
            );
            if let Security::Bogus { reason } = &h.validated.security {
                out.readiness = Readiness::Blocked;
                out.reason = format!("the TLSA RRset at {} is bogus: {reason}", h.owner);
            }
            return out;
        }
    };
    out.servers = observations
        .iter()
        .map(|o| server_status(o, &h.owner, next, state, now, margin))
        .collect();
    let with = |st: ServerState| {
        out.servers
            .iter()
            .filter(|s| s.state == st)
            .collect::<Vec<_>>()
    };
    let (bogus, insecure, missing, failed) = (
        with(ServerState::Bogus),
        with(ServerState::Insecure),
        with(ServerState::Missing),
        with(ServerState::Failed),
    );
    let name = |s: &ServerStatus| format!("{} ({})", s.ns, s.address);
    let total = out.servers.len();
    let (readiness, reason) = if total == 0 {
        (
            Readiness::Indeterminate,
            format!("no authoritative server of {} to ask", h.owner),
        )
    } else if let Some(b) = bogus.first() {
        (
            Readiness::Blocked,
            format!("server {}: {}", name(b), b.detail),
        )
    } else if let Some(i) = insecure.first() {
        (
            Readiness::Blocked,
            format!("server {}: {}", name(i), i.detail),
        )
    } else if !missing.is_empty() && missing.len() + failed.len() == total {
        (
            Readiness::Blocked,
            format!(
                "the TLSA RRset at {} lacks the next key's record at every server that answered: publish it",
                h.owner
            ),
        )
    } else if let Some(m) = missing.first() {
        (
            Readiness::Blocked,
            format!(
                "{} of {total} servers do not serve the next key's record yet: {} {}",
                missing.len(),
                name(m),
                m.detail
            ),
        )
    } else if let Some(why) = &h.name_servers_untrusted {
        (
            Readiness::Indeterminate,
            format!("the servers of {} are not known: {why}", h.owner),
        )
    } else if !h.unasked.is_empty() {
        (
            Readiness::Indeterminate,
            format!(
                "{} of {}'s servers or addresses were not asked (past the bounds): {}",
                h.unasked.len(),
                h.owner,
                list(&h.unasked)
            ),
        )
    } else if let Some(f) = failed.first() {
        (
            Readiness::Indeterminate,
            format!("server {}: {}", name(f), f.detail),
        )
    } else {
        match &h.validated.security {
            Security::Bogus { reason } => (
                Readiness::Blocked,
                format!(
                    "the validating path finds the TLSA RRset at {} bogus: {reason}",
                    h.owner
                ),
            ),
            Security::Insecure => (
                Readiness::Blocked,
                format!(
                    "the validating path finds the TLSA RRset at {} insecure",
                    h.owner
                ),
            ),
            Security::Indeterminate { reason } => (
                Readiness::Indeterminate,
                format!("the validating lookup of {} failed: {reason}", h.owner),
            ),
            Security::Secure => {
                let ready_at = out.servers.iter().filter_map(|s| s.ready_at).max();
                out.ready_at = ready_at;
                let all_ready = out.servers.iter().all(|s| s.state == ServerState::Ready);
                match (all_ready, validated_has_next) {
                    (true, true) => (
                        Readiness::Ready,
                        format!(
                            "all {total} servers have served the next key's record for longer than the TTL and the margin"
                        ),
                    ),
                    (true, false) => (
                        Readiness::Blocked,
                        format!(
                            "every server serves the next key's record, but the validating path still returns an RRset at {} without it",
                            h.owner
                        ),
                    ),
                    (false, _) => {
                        let at = ready_at.unwrap_or(now);
                        (
                            Readiness::Waiting,
                            format!(
                                "all {total} servers serve the next key's record; caches may hold the old RRset until {} ({} left)",
                                fmt_time(at),
                                fmt_duration(at.saturating_sub(now))
                            ),
                        )
                    }
                }
            }
        }
    };
    out.readiness = readiness;
    out.reason = reason;
    out
}

/// Decides the readiness of the next key `next` over `hosts` at `now` (seconds since the
/// epoch) with `margin` seconds on top of each TTL, updating `state`.
pub fn decide(
    next: &Spki,
    hosts: &[HostObservation],
    state: &mut State,
    now: u64,
    margin: u64,
) -> RolloverStatus {
    let hosts: Vec<HostInput> = hosts.iter().cloned().map(HostInput::Observed).collect();
    decide_all(next, &hosts, state, now, margin)
}

/// [`decide`] over hosts some of which were decided before their servers were asked.
pub fn decide_all(
    next: &Spki,
    hosts: &[HostInput],
    state: &mut State,
    now: u64,
    margin: u64,
) -> RolloverStatus {
    let hosts: Vec<HostStatus> = hosts
        .iter()
        .map(|h| match h {
            HostInput::Observed(h) => host_status(h, next, state, now, margin),
            HostInput::Unchecked(u) => HostStatus {
                host: u.host.clone(),
                owner: String::new(),
                readiness: u.readiness,
                reason: u.reason.clone(),
                ready_at: None,
                servers: Vec::new(),
                unasked: Vec::new(),
                validated: "not looked up".into(),
                validated_has_next: false,
            },
        })
        .collect();
    let Some(worst) = hosts
        .iter()
        .max_by_key(|h| h.readiness.severity())
        .map(|h| h.readiness)
    else {
        return RolloverStatus {
            readiness: Readiness::Indeterminate,
            reason: "no host to check".into(),
            ready_at: None,
            seconds_left: None,
            hosts,
        };
    };
    let ready_at = match worst {
        Readiness::Ready | Readiness::Waiting => hosts.iter().filter_map(|h| h.ready_at).max(),
        _ => None,
    };
    let deciding = hosts
        .iter()
        .filter(|h| h.readiness == worst)
        .max_by_key(|h| h.ready_at)
        .or(hosts.first());
    let reason = match (worst, deciding) {
        (Readiness::Ready, _) if hosts.len() > 1 => format!(
            "every host is ready: all {} hosts' servers have served the next key's record for longer than the TTL and the margin",
            hosts.len()
        ),
        (_, Some(h)) => format!("{}: {}", h.host, h.reason),
        (_, None) => String::new(),
    };
    RolloverStatus {
        readiness: worst,
        reason,
        ready_at,
        seconds_left: match worst {
            Readiness::Waiting => ready_at.map(|t| t.saturating_sub(now)),
            _ => None,
        },
        hosts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::Answer;
    use crate::rollover::rrset::key_record;

    fn spki(which: &str) -> Spki {
        let pem: &[u8] = match which {
            "current" => include_bytes!("../../../../fixtures/pki/leaf-ec.key"),
            _ => include_bytes!("../../../../fixtures/pki/next.key"),
        };
        dane_tlsa::parse_private_key(pem).unwrap()
    }

    fn lookup(owner: &str, security: Security, records: Vec<TlsaRecord>) -> Lookup<TlsaRecord> {
        Lookup {
            name: owner.into(),
            canonical: owner.into(),
            security,
            answer: if records.is_empty() {
                Answer::NoData
            } else {
                Answer::Records(records)
            },
            expires: None,
            inception: None,
            dnssec_warnings: Vec::new(),
        }
    }

    /// A server: `with` = serves current + next; `without` = only current; `bogus`;
    /// `insecure`; `down`.
    fn server(ns: &str, kind: &str, ttl: u32) -> ServerObservation {
        let owner = "_25._tcp.mx1.example.";
        let (cur, next) = (key_record(&spki("current")), key_record(&spki("next")));
        let answer = match kind {
            "with" => ServerAnswer::Answered {
                lookup: lookup(owner, Security::Secure, vec![cur, next]),
                ttl,
            },
            "without" => ServerAnswer::Answered {
                lookup: lookup(owner, Security::Secure, vec![cur]),
                ttl,
            },
            "empty" => ServerAnswer::Answered {
                lookup: lookup(owner, Security::Secure, vec![]),
                ttl,
            },
            "bogus" => ServerAnswer::Answered {
                lookup: lookup(
                    owner,
                    Security::Bogus {
                        reason: "RRSIG expired".into(),
                    },
                    vec![cur, next],
                ),
                ttl,
            },
            "insecure" => ServerAnswer::Answered {
                lookup: lookup(owner, Security::Insecure, vec![cur, next]),
                ttl,
            },
            _ => ServerAnswer::Failed("no answer within 2s".into()),
        };
        ServerObservation {
            ns: ns.into(),
            address: format!("{ns}:53"),
            answer,
            serial: Some(7),
        }
    }

    fn host(name: &str, servers: Vec<ServerObservation>, validated: &str) -> HostObservation {
        let owner = format!("_25._tcp.{name}.");
        let (cur, next) = (key_record(&spki("current")), key_record(&spki("next")));
        let v = match validated {
            "with" => lookup(&owner, Security::Secure, vec![cur, next]),
            "without" => lookup(&owner, Security::Secure, vec![cur]),
            "bogus" => lookup(
                &owner,
                Security::Bogus {
                    reason: "bad".into(),
                },
                vec![],
            ),
            _ => lookup(
                &owner,
                Security::Indeterminate {
                    reason: "timeout".into(),
                },
                vec![],
            ),
        };
        HostObservation {
            host: format!("{name}."),
            owner: owner.clone(),
            servers: Ok(servers
                .into_iter()
                .map(|mut s| {
                    if let ServerAnswer::Answered { lookup, .. } = &mut s.answer {
                        lookup.name.clone_from(&owner);
                    }
                    s
                })
                .collect()),
            unasked: Vec::new(),
            name_servers_untrusted: None,
            validated: v,
        }
    }

    /// The one host most tests need: mx1.example.
    fn mx1(servers: Vec<ServerObservation>, validated: &str) -> HostObservation {
        host("mx1.example", servers, validated)
    }

    fn check(
        hosts: &[HostObservation],
        state: &mut State,
        now: u64,
        expected: Readiness,
        reason: &str,
        left: Option<u64>,
    ) -> RolloverStatus {
        let s = decide(&spki("next"), hosts, state, now, 60);
        assert_eq!(s.readiness, expected, "{s:#?}");
        assert!(
            s.reason.contains(reason),
            "reason {:?} lacks {reason:?}",
            s.reason
        );
        assert_eq!(s.seconds_left, left, "{s:#?}");
        s
    }

    fn fresh() -> State {
        State::new(&key_record(&spki("next")).data_hex())
    }

    /// One decision at 1000 from a fresh state, for the outcomes that have no time left.
    fn once(hosts: &[HostObservation], expected: Readiness, reason: &str) -> RolloverStatus {
        check(hosts, &mut fresh(), 1000, expected, reason, None)
    }

    #[test]
    fn ttl_not_elapsed_waits_with_the_time_left_then_ready() {
        let hosts = [mx1(
            vec![server("ns1", "with", 300), server("ns2", "with", 300)],
            "with",
        )];
        let mut st = fresh();
        // First seen at 1000: ready at 1000 + 300 + 60.
        check(
            &hosts,
            &mut st,
            1000,
            Readiness::Waiting,
            "(6m left)",
            Some(360),
        );
        check(
            &hosts,
            &mut st,
            1100,
            Readiness::Waiting,
            "4m 20s left",
            Some(260),
        );
        check(
            &hosts,
            &mut st,
            1359,
            Readiness::Waiting,
            "1s left",
            Some(1),
        );
        let s = check(
            &hosts,
            &mut st,
            1360,
            Readiness::Ready,
            "all 2 servers",
            None,
        );
        assert_eq!(s.ready_at, Some(1360));
        // The first-seen times survive a round trip through the state file.
        let mut reread = State::from_json(&st.to_json()).unwrap();
        check(
            &hosts,
            &mut reread,
            1400,
            Readiness::Ready,
            "longer than the TTL",
            None,
        );
    }

    #[test]
    fn never_published_is_blocked() {
        let hosts = [mx1(
            vec![server("ns1", "without", 300), server("ns2", "empty", 300)],
            "without",
        )];
        once(
            &hosts,
            Readiness::Blocked,
            "lacks the next key's record at every server",
        );
    }

    #[test]
    fn a_lagging_server_blocks_and_restarts_its_clock() {
        let mut st = fresh();
        let lagging = [mx1(
            vec![server("ns1", "with", 300), server("ns2", "without", 300)],
            "with",
        )];
        check(
            &lagging,
            &mut st,
            1000,
            Readiness::Blocked,
            "1 of 2 servers do not serve",
            None,
        );
        let caught_up = [mx1(
            vec![server("ns1", "with", 300), server("ns2", "with", 300)],
            "with",
        )];
        // ns1 counts from 1000, ns2 from 1200: ready at 1200 + 360.
        check(
            &caught_up,
            &mut st,
            1200,
            Readiness::Waiting,
            "6m left",
            Some(360),
        );
        // ns2 drops it again: blocked, and its first-seen time is forgotten.
        check(
            &lagging,
            &mut st,
            1300,
            Readiness::Blocked,
            "ns2 (ns2:53)",
            None,
        );
        assert_eq!(st.first_seen("_25._tcp.mx1.example.", "ns2:53"), None);
        assert_eq!(st.first_seen("_25._tcp.mx1.example.", "ns1:53"), Some(1000));
    }

    #[test]
    fn published_at_one_of_two_mx_hosts_is_blocked() {
        let hosts = [
            host("mx1.example", vec![server("ns1", "with", 300)], "with"),
            host(
                "mx2.example",
                vec![server("ns1", "without", 300)],
                "without",
            ),
        ];
        let s = check(
            &hosts,
            &mut fresh(),
            5000,
            Readiness::Blocked,
            "mx2.example.: the TLSA RRset",
            None,
        );
        assert_eq!(s.hosts[0].readiness, Readiness::Waiting);
    }

    #[test]
    fn bogus_and_insecure_block() {
        let bogus = [mx1(
            vec![server("ns1", "with", 300), server("ns2", "bogus", 300)],
            "with",
        )];
        once(&bogus, Readiness::Blocked, "bogus: RRSIG expired");
        let insecure = [mx1(vec![server("ns1", "insecure", 300)], "with")];
        once(&insecure, Readiness::Blocked, "insecure");
        let validated_bogus = [mx1(vec![server("ns1", "with", 0)], "bogus")];
        once(&validated_bogus, Readiness::Blocked, "validating path");
    }

    #[test]
    fn unreachable_server_is_indeterminate_but_blocked_wins() {
        let down = [mx1(
            vec![server("ns1", "with", 300), server("ns2", "down", 300)],
            "with",
        )];
        once(&down, Readiness::Indeterminate, "no answer within 2s");
        let down_and_missing = [mx1(
            vec![server("ns1", "without", 300), server("ns2", "down", 300)],
            "with",
        )];
        once(&down_and_missing, Readiness::Blocked, "lacks");
        let mut no_servers = host("mx1.example", vec![], "with");
        no_servers.servers = Err("SOA lookup failed".into());
        once(
            &[no_servers],
            Readiness::Indeterminate,
            "could not be found",
        );
        let validated_down = [mx1(vec![server("ns1", "with", 0)], "down")];
        once(
            &validated_down,
            Readiness::Indeterminate,
            "validating lookup",
        );
        once(&[], Readiness::Indeterminate, "no host");
    }

    #[test]
    fn every_server_ready_but_validating_path_lacks_it_is_blocked() {
        let hosts = [mx1(vec![server("ns1", "with", 10)], "without")];
        let mut st = fresh();
        check(
            &hosts,
            &mut st,
            1000,
            Readiness::Waiting,
            "1m 10s left",
            Some(70),
        );
        check(
            &hosts,
            &mut st,
            2000,
            Readiness::Blocked,
            "still returns an RRset",
            None,
        );
    }

    /// Servers the bounds left out were never asked: never ready, whatever the others
    /// say; a definite problem still wins.
    #[test]
    fn servers_left_out_by_the_bounds_are_indeterminate_never_ready() {
        let mut h = mx1(vec![server("ns1", "with", 10)], "with");
        h.unasked = (17..=20).map(|i| format!("ns{i}.example.")).collect();
        let mut st = fresh();
        // Not waiting either: the time left is unknown while servers are unasked.
        check(
            &[h.clone()],
            &mut st,
            1000,
            Readiness::Indeterminate,
            "not asked",
            None,
        )
        .hosts[0]
            .servers
            .iter()
            .for_each(|s| assert_eq!(s.serial, Some(7)));
        // Long after the TTL and margin: every asked server is ready, the host is not.
        let s = check(
            &[h.clone()],
            &mut st,
            5000,
            Readiness::Indeterminate,
            "4 of _25._tcp.mx1.example.'s servers or addresses were not asked (past the bounds): ns17.example., ns18.example.",
            None,
        );
        assert_eq!(s.hosts[0].unasked.len(), 4);
        assert_eq!(s.hosts[0].servers[0].state, ServerState::Ready);
        h.servers = Ok(vec![server("ns1", "without", 10)]);
        once(&[h], Readiness::Blocked, "lacks the next key's record");
    }

    /// A signed zone whose NS RRset is not secure: the list of servers may hide a lagging
    /// one, so all of them serving the record proves nothing.
    #[test]
    fn an_untrusted_ns_rrset_is_indeterminate_never_ready() {
        let mut h = mx1(vec![server("ns1", "with", 10)], "with");
        h.name_servers_untrusted = Some("the NS RRset of example. is bogus: RRSIG expired".into());
        let mut st = fresh();
        check(
            &[h.clone()],
            &mut st,
            1000,
            Readiness::Indeterminate,
            "are not known",
            None,
        );
        check(
            &[h.clone()],
            &mut st,
            5000,
            Readiness::Indeterminate,
            "the servers of _25._tcp.mx1.example. are not known: the NS RRset of example. is bogus",
            None,
        );
        h.servers = Ok(vec![server("ns1", "bogus", 10)]);
        once(&[h], Readiness::Blocked, "RRSIG expired");
    }

    #[test]
    fn coverage_of_the_authoritative_answer() {
        use dane_dnssec::{Reason, ReasonCode};
        use dane_resolver::authoritative::Authoritative;
        let auth = |verdict: Verdict, left_out: Vec<String>| Authoritative {
            zone: "example.".parse().unwrap(),
            name_servers_verdict: verdict,
            name_servers: Vec::new(),
            replies: Vec::new(),
            left_out,
        };
        let r = || Reason::new(ReasonCode::QueryFailed, "no answer");
        assert_eq!(coverage(&auth(Verdict::Secure, vec![])), (vec![], None));
        // An unsigned zone: nothing to validate (its TLSA answers are insecure: blocked).
        assert_eq!(coverage(&auth(Verdict::Insecure(r()), vec![])).1, None);
        let (left, why) = coverage(&auth(Verdict::Bogus(r()), vec!["ns17.example.".into()]));
        assert_eq!(left, ["ns17.example."]);
        assert!(
            why.unwrap()
                .contains("NS RRset of example. (or the SOA that names the zone) is bogus")
        );
        let (_, why) = coverage(&auth(Verdict::Indeterminate(r()), vec![]));
        assert!(why.unwrap().contains("could not be validated: "));
    }

    #[test]
    fn durations() {
        for (secs, text) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3661, "1h 1m 1s"),
            (90_000, "1d 1h"),
        ] {
            assert_eq!(fmt_duration(secs), text);
        }
    }
}
