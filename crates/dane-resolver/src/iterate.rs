//! Iterative resolution from the root hints (RFC 1034 section 5.3.3, RFC 1035 section
//! 7): ask a server of the closest known zone, follow its referral to a deeper zone (with
//! the glue it is entitled to give), look up the addresses of name servers that came without
//! glue, until a server answers the question. The answer message is handed back as it came
//! (out-of-bailiwick records removed), for `dane-dnssec` to validate exactly as an answer of
//! a recursive resolver: nothing learned here is trusted as data, only as a place to ask.
//!
//! Rules:
//! - Bailiwick: a referral is followed only downwards (to a zone strictly below the zone of
//!   the server asked, and containing the name); glue is used only for name servers inside
//!   the zone of the server that gave it; an answer keeps only records inside that zone.
//! - A DS question is asked of the parent's servers (RFC 4035 section 3.1.4.1: the DS RRset
//!   lives at the parent side of the cut), so iteration for it starts above the name.
//! - CNAME and DNAME answers come back as they are; `dane-dnssec` follows the chain and asks
//!   for each target that lies outside the message, which is iterated in its turn.
//! - Bounds ([`IterLimits`]): referrals per question, server queries per question (name
//!   server address lookups included), nesting of name server address lookups, name servers
//!   taken from one referral, queries in flight per server; the caller's lookup deadline
//!   bounds the time.
//! - One cache per run: the delegations learned (zone -> server addresses) and name server
//!   addresses; bounded like the answer cache (past the limit only the root's and the TLDs'
//!   delegations stay). While the root or a TLD is being asked about a child zone not yet
//!   known, other lookups wanting the same child wait for that answer, so a scan fetches the
//!   root's and each TLD's referrals once.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::sync::Semaphore;

use crate::hints::RootHints;
use crate::transport;

/// Bounds of the iterative path.
#[derive(Debug, Clone)]
pub struct IterLimits {
    /// Referrals followed for one question at most.
    pub max_referrals: usize,
    /// Queries sent to servers for one question at most (name server address lookups
    /// included).
    pub max_queries: usize,
    /// Name server address lookups nested at most (resolving the address of a server
    /// needs another zone's servers, whose address needs ...).
    pub max_nesting: usize,
    /// Name servers taken from one referral at most (the rest are ignored).
    pub max_ns: usize,
    /// Queries in flight to one server address at most.
    pub per_server: usize,
}

impl Default for IterLimits {
    fn default() -> Self {
        IterLimits {
            max_referrals: 24,
            max_queries: 64,
            max_nesting: 4,
            max_ns: 16,
            per_server: 8,
        }
    }
}

/// Why iteration produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IterateError {
    /// Every server of the zone answered without answering or referring downwards.
    #[error("lame delegation: no server of {zone} answered {name} {rtype} ({detail})")]
    Lame {
        /// The zone whose servers were asked.
        zone: String,
        /// The name asked.
        name: String,
        /// The type asked.
        rtype: String,
        /// What each server did.
        detail: String,
    },
    /// No server of the zone could be reached or answered in time.
    #[error("no server of {zone} answered {name} {rtype} ({detail})")]
    NoAnswer {
        /// The zone whose servers were asked.
        zone: String,
        /// The name asked.
        name: String,
        /// The type asked.
        rtype: String,
        /// What each server did.
        detail: String,
    },
    /// More referrals than [`IterLimits::max_referrals`].
    #[error("{name} {rtype}: more than {limit} referrals; giving up")]
    TooManyReferrals {
        /// The name asked.
        name: String,
        /// The type asked.
        rtype: String,
        /// The limit.
        limit: usize,
    },
    /// More server queries than [`IterLimits::max_queries`].
    #[error("{name} {rtype}: more than {limit} queries to servers; giving up")]
    TooManyQueries {
        /// The name asked.
        name: String,
        /// The type asked.
        rtype: String,
        /// The limit.
        limit: usize,
    },
    /// The zone's servers have no address that could be found.
    #[error("no address for any name server of {zone} ({detail})")]
    NoServerAddress {
        /// The zone.
        zone: String,
        /// Why.
        detail: String,
    },
}

/// A zone and where to ask about it.
#[derive(Debug)]
struct Zone {
    name: Name,
    /// Addresses from glue (or the hints), in order.
    addresses: Vec<IpAddr>,
    /// Name servers without glue, looked up when no address answers.
    unresolved: Vec<Name>,
}

/// What one server said.
enum Said {
    /// The answer to the question (records, NODATA or NXDOMAIN), scrubbed.
    Answer(Vec<u8>),
    /// A referral downwards.
    Referral(Zone),
    /// No use: lame (`true`) or unreachable/error (`false`), with what happened.
    Useless(bool, String),
}

/// Per-question budget.
struct Budget {
    queries: usize,
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The iterating resolver: root hints, limits and the per-run delegation cache.
#[derive(Debug)]
pub struct Iterator {
    root: Arc<Zone>,
    port: u16,
    timeout: Duration,
    limits: IterLimits,
    max_cached: usize,
    zones: Mutex<HashMap<Name, Arc<Zone>>>,
    ns_addresses: Mutex<HashMap<Name, Vec<IpAddr>>>,
    learning: Mutex<HashMap<Name, Arc<tokio::sync::Mutex<()>>>>,
    in_flight: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked while holding it; the maps are
    // updated by single calls and stay consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Iterator {
    /// An iterator starting from `hints`, asking every server on `port` (53; tests use
    /// another), `timeout` per exchange.
    pub fn new(
        hints: &RootHints,
        port: u16,
        timeout: Duration,
        limits: IterLimits,
        max_cached: usize,
    ) -> Iterator {
        Iterator {
            root: Arc::new(Zone {
                name: Name::root(),
                addresses: hints.addresses.clone(),
                unresolved: Vec::new(),
            }),
            port,
            timeout,
            limits,
            max_cached: max_cached.max(16),
            zones: Mutex::new(HashMap::new()),
            ns_addresses: Mutex::new(HashMap::new()),
            learning: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// How many delegations are cached.
    pub fn cached_zones(&self) -> usize {
        lock(&self.zones).len()
    }

    /// The response to `name`/`rtype` from the servers of the zone holding it.
    pub async fn resolve(&self, name: &Name, rtype: RecordType) -> Result<Vec<u8>, IterateError> {
        let mut budget = Budget {
            queries: self.limits.max_queries,
        };
        self.resolve_in(name.to_lowercase(), rtype, &mut budget, 0)
            .await
    }

    fn resolve_in<'a>(
        &'a self,
        name: Name,
        rtype: RecordType,
        budget: &'a mut Budget,
        nesting: usize,
    ) -> Boxed<'a, Result<Vec<u8>, IterateError>> {
        Box::pin(async move {
            let mut zone = self.closest(&name, rtype);
            for _ in 0..=self.limits.max_referrals {
                // The root's and the TLDs' referrals are learned once: one asker per child
                // zone, the others wait and then find it cached. (Only at the top level:
                // a nested name server lookup never waits on another lookup's lock.)
                let _guard = if zone.name.num_labels() <= 1 && nesting == 0 {
                    let child = name.trim_to(usize::from(zone.name.num_labels()) + 1);
                    let cell = {
                        let mut learning = lock(&self.learning);
                        if learning.len() > self.max_cached {
                            learning.retain(|_, m| Arc::strong_count(m) > 1);
                        }
                        learning.entry(child).or_default().clone()
                    };
                    let guard = cell.lock_owned().await;
                    let closer = self.closest(&name, rtype);
                    if closer.name.num_labels() > zone.name.num_labels() {
                        zone = closer;
                        continue;
                    }
                    Some(guard)
                } else {
                    None
                };
                match self.ask_zone(&zone, &name, rtype, budget, nesting).await? {
                    Said::Answer(wire) => return Ok(wire),
                    Said::Referral(child) => {
                        let child = Arc::new(child);
                        self.store(child.clone());
                        zone = child;
                    }
                    // ask_zone turns these into errors.
                    Said::Useless(..) => {}
                }
            }
            Err(IterateError::TooManyReferrals {
                name: name.to_string(),
                rtype: rtype.to_string(),
                limit: self.limits.max_referrals,
            })
        })
    }

    /// The deepest known zone to start from: the closest enclosing delegation of `name`
    /// (of its parent, for DS).
    fn closest(&self, name: &Name, rtype: RecordType) -> Arc<Zone> {
        let mut n = if rtype == RecordType::DS && !name.is_root() {
            name.base_name()
        } else {
            name.clone()
        };
        let zones = lock(&self.zones);
        loop {
            if n.is_root() {
                return self.root.clone();
            }
            if let Some(z) = zones.get(&n) {
                return z.clone();
            }
            n = n.base_name();
        }
    }

    fn store(&self, zone: Arc<Zone>) {
        let mut zones = lock(&self.zones);
        if zones.len() >= self.max_cached {
            // The root's children (the TLDs) stay: every name needs them.
            zones.retain(|n, _| n.num_labels() <= 1);
        }
        zones.insert(zone.name.clone(), zone);
    }

    /// Asks the servers of `zone` in turn until one answers or refers downwards.
    async fn ask_zone(
        &self,
        zone: &Zone,
        name: &Name,
        rtype: RecordType,
        budget: &mut Budget,
        nesting: usize,
    ) -> Result<Said, IterateError> {
        let mut tried: Vec<String> = Vec::new();
        let mut lame = 0usize;
        let mut asked = Vec::new();
        for &ip in &zone.addresses {
            asked.push(ip);
            match self.ask_server(ip, zone, name, rtype, budget).await? {
                Said::Useless(is_lame, what) => {
                    lame += usize::from(is_lame);
                    tried.push(what);
                }
                said => return Ok(said),
            }
        }
        // Name servers without glue: find their addresses (each once per run).
        for ns in &zone.unresolved {
            let addresses = self.ns_addresses(ns, budget, nesting).await?;
            if addresses.is_empty() {
                tried.push(format!("{ns}: no address"));
            }
            for ip in addresses {
                if asked.contains(&ip) {
                    continue;
                }
                asked.push(ip);
                match self.ask_server(ip, zone, name, rtype, budget).await? {
                    Said::Useless(is_lame, what) => {
                        lame += usize::from(is_lame);
                        tried.push(what);
                    }
                    said => return Ok(said),
                }
            }
        }
        let detail = match tried.len() {
            0 => "no server to ask".to_owned(),
            1..=3 => tried.join("; "),
            n => format!("{}; and {} more", tried[..3].join("; "), n - 3),
        };
        if asked.is_empty() {
            return Err(IterateError::NoServerAddress {
                zone: zone.name.to_string(),
                detail,
            });
        }
        let (zone, name, rtype) = (zone.name.to_string(), name.to_string(), rtype.to_string());
        Err(if lame > 0 {
            IterateError::Lame {
                zone,
                name,
                rtype,
                detail,
            }
        } else {
            IterateError::NoAnswer {
                zone,
                name,
                rtype,
                detail,
            }
        })
    }

    /// The addresses of name server `ns` (A and AAAA, iterated), cached for the run.
    async fn ns_addresses(
        &self,
        ns: &Name,
        budget: &mut Budget,
        nesting: usize,
    ) -> Result<Vec<IpAddr>, IterateError> {
        if let Some(a) = lock(&self.ns_addresses).get(ns) {
            return Ok(a.clone());
        }
        if nesting >= self.limits.max_nesting {
            // A cycle (a.test served by ns.b.test, b.test by ns.a.test, no glue) or a
            // chain too long: this server is not reachable from here.
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA] {
            match self
                .resolve_in(ns.to_lowercase(), rtype, budget, nesting + 1)
                .await
            {
                Ok(wire) => {
                    if let Ok(m) = Message::from_vec(&wire) {
                        found.extend(m.answers.iter().filter(|r| &r.name == ns).filter_map(|r| {
                            match &r.data {
                                RData::A(a) => Some(IpAddr::V4(a.0)),
                                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                                _ => None,
                            }
                        }));
                    }
                }
                Err(e @ IterateError::TooManyQueries { .. }) => return Err(e),
                Err(e) => tracing::debug!(%ns, %rtype, error = %e, "name server address"),
            }
        }
        found.truncate(self.limits.max_ns);
        let mut cache = lock(&self.ns_addresses);
        if cache.len() >= self.max_cached {
            cache.clear();
        }
        cache.insert(ns.clone(), found.clone());
        Ok(found)
    }

    /// One query to one server of `zone`, and what its response means.
    async fn ask_server(
        &self,
        ip: IpAddr,
        zone: &Zone,
        name: &Name,
        rtype: RecordType,
        budget: &mut Budget,
    ) -> Result<Said, IterateError> {
        if budget.queries == 0 {
            return Err(IterateError::TooManyQueries {
                name: name.to_string(),
                rtype: rtype.to_string(),
                limit: self.limits.max_queries,
            });
        }
        budget.queries -= 1;
        let server = SocketAddr::new(ip, self.port);
        let semaphore = {
            let mut map = lock(&self.in_flight);
            if map.len() > 4096 {
                map.retain(|_, s| Arc::strong_count(s) > 1);
            }
            map.entry(ip)
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_server.max(1))))
                .clone()
        };
        let Ok(_permit) = semaphore.acquire_owned().await else {
            return Ok(Said::Useless(false, format!("{server}: closed")));
        };
        // RFC 1034 5.3.1: RD clear when asking authoritative servers.
        let answer = transport::ask_with(server, name, rtype, self.timeout, false).await;
        let (wire, rcode) = match answer {
            transport::Answer::Response { wire, rcode } => (wire, rcode),
            transport::Answer::Failed(e) => return Ok(Said::Useless(false, e)),
        };
        let Ok(m) = Message::from_vec(&wire) else {
            return Ok(Said::Useless(
                false,
                format!("{server}: malformed response"),
            ));
        };
        Ok(self.interpret(server, zone, name, rtype, rcode, &m, wire))
    }

    /// What a response of a server of `zone` means for `name`/`rtype`.
    #[allow(clippy::too_many_arguments)]
    fn interpret(
        &self,
        server: SocketAddr,
        zone: &Zone,
        name: &Name,
        rtype: RecordType,
        rcode: u8,
        m: &Message,
        wire: Vec<u8>,
    ) -> Said {
        let rcode_name = match rcode {
            1 => "FORMERR".to_owned(),
            2 => "SERVFAIL".to_owned(),
            4 => "NOTIMP".to_owned(),
            5 => "REFUSED".to_owned(),
            r => format!("rcode {r}"),
        };
        if !matches!(rcode, 0 | 3) {
            // REFUSED from a server the parent named: it does not serve the zone (lame).
            return Said::Useless(rcode == 5, format!("{server}: {rcode_name}"));
        }
        let in_zone = |n: &Name| zone.name.zone_of(n);
        let answers_name = m.answers.iter().any(|r| {
            &r.name == name || (r.record_type() == RecordType::DNAME && r.name.zone_of(name))
        });
        if rcode == 3 || answers_name {
            return scrub(server, m, &zone.name, wire);
        }
        // A referral: NS records in the authority section, not authoritative.
        let ns: Vec<&Record> = m
            .authorities
            .iter()
            .filter(|r| r.record_type() == RecordType::NS)
            .collect();
        if !m.metadata.authoritative && !ns.is_empty() {
            let cut = ns[0].name.clone();
            if !ns.iter().all(|r| r.name == cut) {
                return Said::Useless(true, format!("{server}: NS records of several zones"));
            }
            if cut == zone.name {
                return Said::Useless(true, format!("{server}: referral to {cut} itself"));
            }
            // RFC 1034 5.3.3 (4b): only a better delegation, i.e. closer to the name.
            if !in_zone(&cut) || !cut.zone_of(name) {
                return Said::Useless(
                    true,
                    format!(
                        "{server}: referral to {cut}, not below {} towards {name}",
                        zone.name
                    ),
                );
            }
            if rtype == RecordType::DS && &cut == name {
                // The parent is asked for the DS; a referral to the child is no answer.
                return Said::Useless(true, format!("{server}: referral to {cut} for its DS"));
            }
            let names: Vec<Name> = ns
                .iter()
                .filter_map(|r| match &r.data {
                    RData::NS(n) => Some(n.0.to_lowercase()),
                    _ => None,
                })
                .take(self.limits.max_ns)
                .collect();
            let mut addresses = Vec::new();
            let mut unresolved = Vec::new();
            for n in &names {
                // Bailiwick: glue only for servers inside the referring server's zone.
                let glue: Vec<IpAddr> = if in_zone(n) {
                    m.additionals
                        .iter()
                        .filter(|r| &r.name == n)
                        .filter_map(|r| match &r.data {
                            RData::A(a) => Some(IpAddr::V4(a.0)),
                            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                            _ => None,
                        })
                        .take(self.limits.max_ns)
                        .collect()
                } else {
                    Vec::new()
                };
                if glue.is_empty() {
                    unresolved.push(n.clone());
                }
                for ip in glue {
                    if !addresses.contains(&ip) && addresses.len() < self.limits.max_ns * 2 {
                        addresses.push(ip);
                    }
                }
            }
            if names.is_empty() {
                return Said::Useless(true, format!("{server}: referral without name servers"));
            }
            return Said::Referral(Zone {
                name: cut.to_lowercase(),
                addresses,
                unresolved,
            });
        }
        // NODATA: an authoritative empty answer (with the zone's SOA, when the server
        // follows RFC 2308), inside the zone asked.
        if m.metadata.authoritative {
            return scrub(server, m, &zone.name, wire);
        }
        Said::Useless(
            true,
            format!("{server}: a non-authoritative answer without records or referral"),
        )
    }
}

/// `wire` without the records outside `zone` (out of bailiwick: the server has no
/// authority for them); re-encoded only when something was dropped.
fn scrub(server: SocketAddr, m: &Message, zone: &Name, wire: Vec<u8>) -> Said {
    let keep = |r: &Record| zone.zone_of(&r.name);
    let outside = m
        .answers
        .iter()
        .chain(&m.authorities)
        .chain(&m.additionals)
        .any(|r| !keep(r));
    if !outside {
        return Said::Answer(wire);
    }
    let mut clean = m.clone();
    clean.answers.retain(keep);
    clean.authorities.retain(keep);
    clean.additionals.retain(keep);
    match clean.to_vec() {
        Ok(w) => Said::Answer(w),
        Err(e) => Said::Useless(false, format!("{server}: cannot re-encode the answer: {e}")),
    }
}
