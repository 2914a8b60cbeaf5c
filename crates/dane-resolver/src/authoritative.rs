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
//! The SOA, NS and address questions take the run's resolution path ([`crate::Resolution`]:
//! the resolver, or iteration from the root hints), so the servers found are those the rest
//! of the world finds. Nothing learned here is trusted as data: a server is only a place
//! to ask, and its answer counts only when it validates.
//!
//! Bounds: at most [`MAX_SERVERS`] name servers and [`MAX_ADDRESSES`] addresses in all,
//! each asked [`crate::Config::attempts`] times at most with [`crate::Config::timeout`]
//! per exchange. The name servers' addresses are looked up concurrently, then every address
//! is asked at once (one question in flight per address), so a zone with dead servers costs
//! one server's timeouts, not the sum of them; the replies keep the NS RRset's order.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;

use dane_dnssec::Question;
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
}

/// Every authoritative server's answer to one question.
#[derive(Debug, Clone)]
pub struct Authoritative {
    /// The zone holding the name (the SOA owner).
    pub zone: Name,
    /// The zone's name servers, in NS RRset order (at most [`MAX_SERVERS`]).
    pub name_servers: Vec<Name>,
    /// One reply per address (a name server without an address gets one failed reply
    /// with the port 0 address `0.0.0.0:0`).
    pub replies: Vec<ServerReply>,
    /// Name servers or addresses left out by the bounds.
    pub left_out: usize,
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

impl Resolver {
    /// The zone of `name`, its name servers and their addresses, and each address's
    /// validated answer to `name`/`rtype` at `now`.
    pub async fn ask_authoritative(
        &self,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
    ) -> Result<Authoritative, AuthError> {
        let _ = self.resolution(now).await;
        let name = {
            let mut n = name.to_lowercase();
            n.set_fqdn(true);
            n
        };
        let zone_error = |detail: String| AuthError::Zone {
            name: name.to_string(),
            detail,
        };
        let soa = self
            .answer(&Question::new(&name, RecordType::SOA))
            .await
            .map_err(zone_error)?;
        let m = parse(&soa).map_err(zone_error)?;
        let zone = zone_of_soa_response(&m, &name).ok_or_else(|| {
            zone_error(format!(
                "the response (rcode {}) names no SOA above the name",
                rcode_of(&m)
            ))
        })?;
        let ns_error = |detail: String| AuthError::NameServers {
            zone: zone.to_string(),
            detail,
        };
        let ns_wire = self
            .answer(&Question::new(&zone, RecordType::NS))
            .await
            .map_err(ns_error)?;
        let m = parse(&ns_wire).map_err(ns_error)?;
        let mut all: Vec<Name> = Vec::new();
        for r in &m.answers {
            if let (true, RData::NS(ns)) = (r.name.to_lowercase() == zone, &r.data) {
                let n = ns.0.to_lowercase();
                if !all.contains(&n) {
                    all.push(n);
                }
            }
        }
        if all.is_empty() {
            return Err(ns_error(format!(
                "no NS records in the answer (rcode {})",
                rcode_of(&m)
            )));
        }
        let mut left_out = all.len().saturating_sub(MAX_SERVERS);
        all.truncate(MAX_SERVERS);
        let found = join_all(all.iter().map(|ns| self.addresses_of(ns)).collect()).await;
        // What to ask, in NS order: each address (within the bound), or the failure of a
        // name server without one.
        let mut targets: Vec<(&Name, Result<SocketAddr, String>)> = Vec::new();
        let mut asked = 0;
        for (ns, (addresses, why)) in all.iter().zip(found) {
            if addresses.is_empty() {
                let detail = if why.is_empty() {
                    "no address records".to_owned()
                } else {
                    why.join("; ")
                };
                targets.push((ns, Err(format!("no address for {ns}: {detail}"))));
                continue;
            }
            for ip in addresses {
                if targets.len() >= MAX_ADDRESSES {
                    left_out += 1;
                    continue;
                }
                asked += 1;
                targets.push((ns, Ok(SocketAddr::new(ip, self.config.iterate_port))));
            }
        }
        tracing::debug!(zone = %zone, servers = all.len(), addresses = asked, "asking every authoritative server");
        let results = join_all(
            targets
                .iter()
                .map(|(_, t)| async {
                    match t {
                        Ok(address) => self.ask_one(*address, &name, rtype, now).await,
                        Err(e) => ServerResult::Failed(e.clone()),
                    }
                })
                .collect(),
        )
        .await;
        let replies = targets
            .iter()
            .zip(results)
            .map(|((ns, t), result)| ServerReply {
                ns: (*ns).clone(),
                address: t
                    .as_ref()
                    .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |a| *a),
                result,
            })
            .collect();
        Ok(Authoritative {
            zone,
            name_servers: all,
            replies,
            left_out,
        })
    }

    /// The addresses of name server `ns` (A, then AAAA, through the run's path), and what
    /// went wrong with either question.
    async fn addresses_of(&self, ns: &Name) -> (Vec<IpAddr>, Vec<String>) {
        let mut addresses: Vec<IpAddr> = Vec::new();
        let mut why = Vec::new();
        for t in [RecordType::A, RecordType::AAAA] {
            match self.answer(&Question::new(ns, t)).await {
                Ok(wire) => match parse(&wire) {
                    Ok(m) => addresses.extend(m.answers.iter().filter_map(|r| match &r.data {
                        RData::A(a) if t == RecordType::A => Some(IpAddr::V4(a.0)),
                        RData::AAAA(a) if t == RecordType::AAAA => Some(IpAddr::V6(a.0)),
                        _ => None,
                    })),
                    Err(e) => why.push(format!("{t}: {e}")),
                },
                Err(e) => why.push(format!("{t}: {e}")),
            }
        }
        addresses.dedup();
        (addresses, why)
    }

    async fn ask_one(
        &self,
        address: SocketAddr,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
    ) -> ServerResult {
        let mut last = String::new();
        for _ in 0..self.config.attempts.max(1) {
            // RFC 1034 5.3.1: RD clear when asking an authoritative server.
            match transport::ask_with(address, name, rtype, self.config.timeout, false).await {
                transport::Answer::Response { wire, rcode } => {
                    if !matches!(rcode, 0 | 3) {
                        return ServerResult::Failed(format!(
                            "{address}: {}",
                            match rcode {
                                2 => "SERVFAIL".to_owned(),
                                5 => "REFUSED (it does not serve the zone)".to_owned(),
                                r => format!("rcode {r}"),
                            }
                        ));
                    }
                    match parse(&wire) {
                        Ok(m) if !m.metadata.authoritative => {
                            return ServerResult::Failed(format!(
                                "{address}: the answer is not authoritative (AA clear): it does not serve the zone"
                            ));
                        }
                        Ok(_) => {}
                        Err(e) => return ServerResult::Failed(format!("{address}: {e}")),
                    }
                    return match self
                        .lookup_with_answer(name, rtype, now, wire.clone())
                        .await
                    {
                        Ok(lookup) => ServerResult::Answered {
                            wire,
                            lookup: Box::new(lookup),
                        },
                        Err(e) => ServerResult::Failed(format!("{address}: validating: {e}")),
                    };
                }
                transport::Answer::Failed(e) => last = e,
            }
        }
        ServerResult::Failed(last)
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
