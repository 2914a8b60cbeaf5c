//! Asking every authoritative server of a name's zone directly (`dane rollover status`).
//!
//! A record published at the primary reaches a sender only once every authoritative server
//! of the zone serves it (any of them may be asked) and the RRset the senders' resolvers
//! cached before has expired. [`Resolver::ask_authoritative`] finds the zone of a name (the
//! SOA owner that the zone's servers name in an answer or a denial), its NS RRset (as the
//! zone itself publishes it), the addresses of each name server, and asks each address the
//! question with DO set and RD clear. Each response is then validated with `dane-dnssec`
//! exactly as the normal path's answer ([`Resolver::lookup_with_answer`]): the DS and DNSKEY
//! of the chain come from the normal path, the answer from that one server.
//!
//! The SOA and NS questions take the run's validating path ([`Resolver::lookup`]: the
//! resolver or iteration from the root hints, and `dane-dnssec`'s verdict), so the servers
//! found are those the rest of the world finds, and a spoofed NS RRset cannot hide a server:
//! the zone is the one that signed the SOA (or its denial) at the name, and how far the NS
//! RRset can be trusted is [`Authoritative::name_servers_verdict`] (a signed zone whose NS
//! RRset is not secure leaves the servers unknown: the caller says indeterminate). The
//! address questions take the same path (an address record of a name server in an unsigned
//! zone is still where it is reached). A server's answer counts only when it validates.
//!
//! Bounds: at most [`MAX_SERVERS`] name servers and [`MAX_ADDRESSES`] addresses in all; the
//! ones left out are named in [`Authoritative::left_out`] (the caller must not call a zone
//! ready with servers never asked). Each address is asked [`crate::Config::attempts`] times
//! at most with [`crate::Config::timeout`] per exchange, and every question (the address
//! lookups, each server's answer and its validation) ends by
//! [`crate::Config::lookup_timeout`]. The name servers' addresses are looked up
//! concurrently, then every address is asked at once (one question in flight per address),
//! so a zone with dead servers costs one server's timeouts, not the sum of them; the replies
//! keep the NS RRset's order. Each address is also asked the zone's SOA, for its serial
//! (shown, not trusted: it says how far a lagging secondary is behind).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;

use dane_dnssec::{Question, Verdict};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};
use rustls_pki_types::UnixTime;

use crate::{Lookup, Resolver, transport};

/// Name servers asked at most (the rest of a larger NS RRset are reported as left out).
pub const MAX_SERVERS: usize = 16;
/// Server addresses asked at most, over all name servers.
pub const MAX_ADDRESSES: usize = 32;

/// Why the zone's servers could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The SOA question about the name got no usable answer.
    #[error("finding the zone of {name}: {detail}")]
    Zone {
        /// The name.
        name: String,
        /// What went wrong.
        detail: String,
    },
    /// The zone's NS RRset could not be had, or is empty.
    #[error("the name servers of {zone}: {detail}")]
    NameServers {
        /// The zone.
        zone: String,
        /// What went wrong.
        detail: String,
    },
}

/// What one server address said.
#[derive(Debug, Clone)]
pub enum ServerResult {
    /// An authoritative response (NOERROR or NXDOMAIN), validated.
    Answered {
        /// The response as received (ID zeroed).
        wire: Vec<u8>,
        /// The validation of the chain ending in this response.
        lookup: Box<Lookup>,
    },
    /// No usable response: unreachable, timeout, an error rcode, not authoritative, or a
    /// validation that could not run.
    Failed(String),
}

/// One address of one name server and its answer.
#[derive(Debug, Clone)]
pub struct ServerReply {
    /// The name server (from the zone's NS RRset).
    pub ns: Name,
    /// The address asked (the port is [`crate::Config::iterate_port`]).
    pub address: SocketAddr,
    /// What it said.
    pub result: ServerResult,
    /// The zone's SOA serial as this address serves it (its authoritative answer to
    /// `ZONE SOA`, not validated: for display), when it gave one.
    pub serial: Option<u32>,
    /// The rcode of an error response to the question (SERVFAIL 2, NOTIMP 4, REFUSED 5,
    /// FORMERR 1, ...): the server answered but would not say; `None` for an answer or no
    /// response at all (`dane verify` tells a server that refuses a type from one that is
    /// unreachable).
    pub rcode: Option<u8>,
}

/// Every authoritative server's answer to one question.
#[derive(Debug, Clone)]
pub struct Authoritative {
    /// The zone holding the name (the signer of the SOA or its denial at the name; the SOA
    /// owner when the zone is unsigned).
    pub zone: Name,
    /// The validating path's verdict on the zone's NS RRset (and the SOA that named the
    /// zone: the weaker of the two).
    pub name_servers_verdict: Verdict,
    /// The zone's name servers, in NS RRset order (at most [`MAX_SERVERS`]).
    pub name_servers: Vec<Name>,
    /// One reply per address (a name server without an address gets one failed reply
    /// with the port 0 address `0.0.0.0:0`).
    pub replies: Vec<ServerReply>,
    /// Name servers and addresses left out by the bounds, named (`ns17.example.`,
    /// `ns3.example. 192.0.2.33`): never asked.
    pub left_out: Vec<String>,
}

fn parse(wire: &[u8]) -> Result<Message, String> {
    Message::from_vec(wire).map_err(|e| format!("malformed response: {e}"))
}

fn rcode_of(m: &Message) -> u16 {
    u16::from(m.metadata.response_code)
}

/// The zone apex named by a response to `name SOA`: the SOA in the answer (the name is an
/// apex) or in the authority section (a denial carries the zone's SOA, RFC 2308 3).
fn zone_of_soa_response(m: &Message, name: &Name) -> Option<Name> {
    m.answers
        .iter()
        .chain(&m.authorities)
        .find(|r| r.record_type() == RecordType::SOA && r.name.zone_of(name))
        .map(|r| r.name.to_lowercase())
}

/// The answer to the lookup's own question, as the validator judged it.
fn own_answer(lookup: &Lookup, name: &Name, rtype: RecordType) -> Result<Message, String> {
    let own = Question::new(name, rtype);
    match lookup.evidence.items().iter().find(|(q, _)| *q == own) {
        Some((_, Ok(wire))) => parse(wire),
        Some((_, Err(e))) => Err(e.clone()),
        None => Err("the validating path did not ask it".into()),
    }
}

/// The weaker of two verdicts (indeterminate, bogus, insecure, secure).
fn weaker(a: Verdict, b: Verdict) -> Verdict {
    let rank = |v: &Verdict| match v {
        Verdict::Secure => 0,
        Verdict::Insecure(_) => 1,
        Verdict::Bogus(_) => 2,
        Verdict::Indeterminate(_) => 3,
    };
    if rank(&b) > rank(&a) { b } else { a }
}

/// `name` in lower case and fully qualified.
fn fqdn_lower(name: &Name) -> Name {
    let mut n = name.to_lowercase();
    n.set_fqdn(true);
    n
}

/// The serial of `zone`'s SOA in an authoritative answer to `ZONE SOA`.
fn serial_of(wire: &[u8], zone: &Name) -> Option<u32> {
    let m = Message::from_vec(wire).ok()?;
    if !m.metadata.authoritative {
        return None;
    }
    m.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) if r.name.to_lowercase() == *zone => Some(soa.serial),
        _ => None,
    })
}

/// A zone's name servers and their addresses, found once and asked any number of
/// questions ([`Resolver::zone_servers`], [`Resolver::ask_zone_servers`]): `dane verify`
/// asks the servers of a zone holding a host's TLSA, A and AAAA RRsets (and the domain's
/// MX RRset) with one discovery and one SOA question per address for all of them.
#[derive(Debug)]
pub struct ZoneServers {
    /// The zone.
    pub zone: Name,
    /// The validating path's verdict on the zone's NS RRset.
    ns_verdict: Verdict,
    /// The zone's name servers, in NS RRset order (at most [`MAX_SERVERS`]).
    name_servers: Vec<Name>,
    /// What to ask, in NS order: each address, or why a name server has none.
    targets: Vec<(Name, Result<SocketAddr, String>)>,
    /// Name servers and addresses left out by the bounds.
    left_out: Vec<String>,
    /// Each target's SOA serial, asked once by whichever question reaches it first (the
    /// others wait for that answer), so a dead server costs one deadline per question, not
    /// one more for its serial.
    serials: Vec<tokio::sync::OnceCell<Option<u32>>>,
}

impl Resolver {
    /// The zone of `name`, its name servers and their addresses, and each address's
    /// validated answer to `name`/`rtype` at `now`.
    pub async fn ask_authoritative(
        &self,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
    ) -> Result<Authoritative, AuthError> {
        let (zone, soa_verdict) = self.authoritative_zone(name, now).await?;
        let servers = self.zone_servers(&zone, now).await?;
        Ok(self
            .ask_zone_servers(&servers, name, soa_verdict, rtype, now)
            .await)
    }

    /// The zone holding `name` (the signer of the SOA or its denial at the name, by the
    /// validating path) and that lookup's verdict: the first step of
    /// [`Resolver::ask_authoritative`].
    pub async fn authoritative_zone(
        &self,
        name: &Name,
        now: UnixTime,
    ) -> Result<(Name, Verdict), AuthError> {
        let _ = self.resolution(now).await;
        self.zone_of(&fqdn_lower(name), now).await
    }

    /// `zone`'s NS RRset and its name servers' addresses, by the validating path (at most
    /// [`MAX_SERVERS`] servers and [`MAX_ADDRESSES`] addresses; the rest in `left_out`).
    pub async fn zone_servers(&self, zone: &Name, now: UnixTime) -> Result<ZoneServers, AuthError> {
        let zone = fqdn_lower(zone);
        let (all, ns_verdict) = self.name_servers_of(&zone, now).await?;
        let mut left_out: Vec<String> = all
            .iter()
            .skip(MAX_SERVERS)
            .map(ToString::to_string)
            .collect();
        let all: Vec<Name> = all.into_iter().take(MAX_SERVERS).collect();
        let targets = self.targets(&all, &mut left_out).await;
        let serials = targets
            .iter()
            .map(|_| tokio::sync::OnceCell::new())
            .collect();
        Ok(ZoneServers {
            zone,
            ns_verdict,
            name_servers: all,
            targets,
            left_out,
            serials,
        })
    }

    /// Every address of `servers` asked `name`/`rtype` directly (at once), each answer
    /// validated; `soa_verdict` is [`Resolver::authoritative_zone`]'s for `name`. Each
    /// address's SOA serial is asked once per [`ZoneServers`], by the first question.
    pub async fn ask_zone_servers(
        &self,
        servers: &ZoneServers,
        name: &Name,
        soa_verdict: Verdict,
        rtype: RecordType,
        now: UnixTime,
    ) -> Authoritative {
        let name = fqdn_lower(name);
        let zone = &servers.zone;
        tracing::debug!(zone = %zone, name = %name, %rtype, servers = servers.name_servers.len(), targets = servers.targets.len(), left_out = servers.left_out.len(), "asking every authoritative server");
        let results = join_all(
            servers
                .targets
                .iter()
                .zip(&servers.serials)
                .map(|((_, t), serial)| async {
                    match t {
                        Ok(address) => {
                            self.ask_one(*address, &name, rtype, zone, serial, now)
                                .await
                        }
                        Err(e) => ((ServerResult::Failed(e.clone()), None), None),
                    }
                })
                .collect(),
        )
        .await;
        let replies = servers
            .targets
            .iter()
            .zip(results)
            .map(|((ns, t), ((result, rcode), serial))| ServerReply {
                ns: ns.clone(),
                address: t
                    .as_ref()
                    .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |a| *a),
                result,
                serial,
                rcode,
            })
            .collect();
        Authoritative {
            zone: zone.clone(),
            name_servers_verdict: weaker(soa_verdict, servers.ns_verdict.clone()),
            name_servers: servers.name_servers.clone(),
            replies,
            left_out: servers.left_out.clone(),
        }
    }

    /// The zone of `name` by the validating path: the zone that signed the SOA at the name
    /// or its denial (RFC 4035 5.3.1: the RRSIG's signer field names the zone), or, where
    /// the answer is not secure, the SOA owner the answer names; and the verdict.
    async fn zone_of(&self, name: &Name, now: UnixTime) -> Result<(Name, Verdict), AuthError> {
        let zone_error = |detail: String| AuthError::Zone {
            name: name.to_string(),
            detail,
        };
        let lookup = self
            .lookup(name, RecordType::SOA, now)
            .await
            .map_err(|e| zone_error(e.to_string()))?;
        // The first link is the RRset at the name itself (the SOA, its denial, or a CNAME
        // there: RFC 7671 7 follows it afterwards); a CNAME target elsewhere does not change
        // which zone holds the name.
        let signer = lookup
            .outcome
            .links
            .first()
            .filter(|l| matches!(l.verdict, Verdict::Secure))
            .and_then(|l| l.zone.as_deref())
            .and_then(|z| Name::from_ascii(z).ok())
            .map(|z| {
                let mut z = z.to_lowercase();
                z.set_fqdn(true);
                z
            });
        if let Some(zone) = signer {
            return Ok((zone, Verdict::Secure));
        }
        let verdict = lookup.outcome.verdict.clone();
        let m = own_answer(&lookup, name, RecordType::SOA).map_err(zone_error)?;
        let zone = zone_of_soa_response(&m, name).ok_or_else(|| {
            zone_error(format!(
                "the response (rcode {}) names no SOA above the name",
                rcode_of(&m)
            ))
        })?;
        Ok((zone, verdict))
    }

    /// The zone's NS RRset by the validating path: the names, deduplicated, in order, and
    /// its verdict.
    async fn name_servers_of(
        &self,
        zone: &Name,
        now: UnixTime,
    ) -> Result<(Vec<Name>, Verdict), AuthError> {
        let ns_error = |detail: String| AuthError::NameServers {
            zone: zone.to_string(),
            detail,
        };
        let lookup = self
            .lookup(zone, RecordType::NS, now)
            .await
            .map_err(|e| ns_error(e.to_string()))?;
        let m = own_answer(&lookup, zone, RecordType::NS).map_err(ns_error)?;
        let mut all: Vec<Name> = Vec::new();
        for r in &m.answers {
            if let (true, RData::NS(ns)) = (r.name.to_lowercase() == *zone, &r.data) {
                let n = ns.0.to_lowercase();
                if !all.contains(&n) {
                    all.push(n);
                }
            }
        }
        if all.is_empty() {
            return Err(ns_error(format!(
                "no NS records in the answer (rcode {}; {})",
                rcode_of(&m),
                lookup.outcome.verdict
            )));
        }
        Ok((all, lookup.outcome.verdict))
    }

    /// What to ask, in NS order: each address within [`MAX_ADDRESSES`] (the others are
    /// added to `left_out`), or the failure of a name server without one.
    async fn targets(
        &self,
        all: &[Name],
        left_out: &mut Vec<String>,
    ) -> Vec<(Name, Result<SocketAddr, String>)> {
        let found = join_all(all.iter().map(|ns| self.addresses_of(ns)).collect()).await;
        let mut targets = Vec::new();
        let mut asked = 0;
        for (ns, (addresses, why)) in all.iter().zip(found) {
            if addresses.is_empty() {
                let detail = if why.is_empty() {
                    "no address records".to_owned()
                } else {
                    why.join("; ")
                };
                targets.push((ns.clone(), Err(format!("no address for {ns}: {detail}"))));
                continue;
            }
            for ip in addresses {
                if asked >= MAX_ADDRESSES {
                    left_out.push(format!("{ns} {ip}"));
                    continue;
                }
                // ARCHITECTURE.md invariant 9: the zone's NS RRset names these addresses, so
                // the address policy applies; a refused one is a server not asked (its
                // failure keeps the status from ever being ready), never skipped silently.
                if let Err(refused) = self.config.address_policy.check(ip) {
                    targets.push((ns.clone(), Err(format!("not asked: {refused}"))));
                    continue;
                }
                asked += 1;
                let address = SocketAddr::new(ip, self.config.iterate_port);
                targets.push((ns.clone(), Ok(address)));
            }
        }
        targets
    }

    /// The addresses of name server `ns` (A, then AAAA, through the run's path, each by the
    /// lookup deadline), and what went wrong with either question.
    async fn addresses_of(&self, ns: &Name) -> (Vec<IpAddr>, Vec<String>) {
        let mut addresses: Vec<IpAddr> = Vec::new();
        let mut why = Vec::new();
        for t in [RecordType::A, RecordType::AAAA] {
            let answer = tokio::time::timeout(
                self.config.lookup_timeout,
                self.answer(&Question::new(ns, t)),
            )
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "no answer within the lookup deadline of {:?}",
                    self.config.lookup_timeout
                ))
            });
            match answer.and_then(|wire| parse(&wire)) {
                Ok(m) => addresses.extend(m.answers.iter().filter_map(|r| match &r.data {
                    RData::A(a) if t == RecordType::A => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) if t == RecordType::AAAA => Some(IpAddr::V6(a.0)),
                    _ => None,
                })),
                Err(e) => why.push(format!("{t}: {e}")),
            }
        }
        addresses.dedup();
        (addresses, why)
    }

    /// One address's validated answer to `name`/`rtype` and its serial of `zone`, both by
    /// the lookup deadline.
    async fn ask_one(
        &self,
        address: SocketAddr,
        name: &Name,
        rtype: RecordType,
        zone: &Name,
        serial: &tokio::sync::OnceCell<Option<u32>>,
        now: UnixTime,
    ) -> ((ServerResult, Option<u8>), Option<u32>) {
        let limit = self.config.lookup_timeout;
        let answer = async {
            tokio::time::timeout(limit, self.answer_of(address, name, rtype, now))
                .await
                .unwrap_or_else(|_| {
                    (
                        ServerResult::Failed(format!(
                            "{address}: no validated answer within the lookup deadline of {limit:?}"
                        )),
                        None,
                    )
                })
        };
        let serial = serial.get_or_init(|| async {
            // RFC 1034 5.3.1: RD clear when asking an authoritative server.
            let asked =
                transport::ask_with(address, zone, RecordType::SOA, self.config.timeout, false);
            match tokio::time::timeout(limit, asked).await {
                Ok(transport::Answer::Response { wire, .. }) => serial_of(&wire, zone),
                _ => None,
            }
        });
        let (answer, serial) = tokio::join!(answer, serial);
        (answer, *serial)
    }

    async fn answer_of(
        &self,
        address: SocketAddr,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
    ) -> (ServerResult, Option<u8>) {
        let mut last = String::new();
        for _ in 0..self.config.attempts.max(1) {
            // RFC 1034 5.3.1: RD clear when asking an authoritative server.
            match transport::ask_with(address, name, rtype, self.config.timeout, false).await {
                transport::Answer::Response { wire, rcode } => {
                    if !matches!(rcode, 0 | 3) {
                        let failed = ServerResult::Failed(format!(
                            "{address}: {}",
                            match rcode {
                                1 => "FORMERR".to_owned(),
                                2 => "SERVFAIL".to_owned(),
                                4 => format!("NOTIMP (it does not implement {rtype} queries)"),
                                5 => "REFUSED (it does not serve the zone)".to_owned(),
                                r => format!("rcode {r}"),
                            }
                        ));
                        return (failed, Some(rcode));
                    }
                    match parse(&wire) {
                        Ok(m) if !m.metadata.authoritative => {
                            return (
                                ServerResult::Failed(format!(
                                    "{address}: the answer is not authoritative (AA clear): it does not serve the zone"
                                )),
                                None,
                            );
                        }
                        Ok(_) => {}
                        Err(e) => return (ServerResult::Failed(format!("{address}: {e}")), None),
                    }
                    let result = match self
                        .lookup_with_answer(name, rtype, now, wire.clone())
                        .await
                    {
                        Ok(lookup) => ServerResult::Answered {
                            wire,
                            lookup: Box::new(lookup),
                        },
                        Err(e) => ServerResult::Failed(format!("{address}: validating: {e}")),
                    };
                    return (result, None);
                }
                transport::Answer::Failed(e) => last = e,
            }
        }
        (ServerResult::Failed(last), None)
    }
}

/// Runs `futures` concurrently on the calling task and returns their outputs in order (a
/// `join_all` without the futures crate: the futures borrow the resolver, so they cannot be
/// spawned).
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::join_all;
    use std::time::Duration;

    /// The first future can finish only after the second has run: run one after the
    /// other, they would never end. The outputs keep the input order.
    #[tokio::test]
    async fn join_all_runs_the_futures_together_and_keeps_their_order() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let mut tx = Some(tx);
        let mut rx = Some(rx);
        let futures: Vec<_> = (0..3)
            .map(|i| {
                let rx = if i == 0 { rx.take() } else { None };
                let tx = if i == 1 { tx.take() } else { None };
                async move {
                    if let Some(rx) = rx {
                        return rx.await.unwrap_or(99);
                    }
                    if let Some(tx) = tx {
                        let _ = tx.send(10);
                    }
                    i
                }
            })
            .collect();
        let out = tokio::time::timeout(Duration::from_secs(10), join_all(futures))
            .await
            .expect("join_all ran the futures one after the other");
        assert_eq!(out, [10, 1, 2]);
        assert!(
            join_all(Vec::<std::future::Ready<()>>::new())
                .await
                .is_empty()
        );
    }
}
