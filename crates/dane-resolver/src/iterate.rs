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
//! - Address policy (ARCHITECTURE.md invariant 9): glue and name server addresses are asked
//!   only when [`AddressPolicy`] allows them (by default no loopback, private, link-local,
//!   documentation or other special-purpose address); the root hints are the operator's and
//!   always asked. A refused address is named in the error, never silently skipped.
//! - Bounds ([`IterLimits`]): referrals per question, server queries per question (name
//!   server address lookups included), plus the caller's per-lookup and per-check budgets;
//!   nesting of name server address lookups, name servers taken from one referral, queries
//!   in flight per server; the caller's lookup deadline bounds the time.
//! - NXNS (Afek, Bremler-Barr, Shafir 2020): a referral's name servers without glue are
//!   looked up only when no address known answered, one at a time, at most
//!   [`IterLimits::glueless_per_referral`] (3) of them, plus one more for each whose
//!   addresses were found but did not answer (a server down, not a made-up name); their
//!   A records first, AAAA only when A gives no address (and not after NXDOMAIN). So a
//!   referral with 16 glue-less names in a victim's zone costs the victim 3 queries, not 32.
//! - The delegations learned (zone -> server addresses) and name server addresses are cached
//!   for the shortest TTL of the NS and glue (or A/AAAA) records, at most
//!   [`CacheLimits::max_ttl`]; failures for [`CacheLimits::failure_ttl`]. Bounded like the
//!   answer cache (past the limit, expired ones go, then all but the TLDs' delegations).
//!   While the root or a TLD is being asked about a child zone not yet known, other lookups
//!   wanting the same child wait for that answer, so a scan fetches the root's and each
//!   TLD's referrals once per TTL.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::sync::Semaphore;

use crate::address::AddressPolicy;
use crate::cache::{CacheLimits, Spend};
use crate::clock::Clock;
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
    /// Name servers without glue looked up per referral (3), plus one for each whose
    /// addresses did not answer (NXNS bound; see the module docs).
    pub glueless_per_referral: usize,
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
            glueless_per_referral: 3,
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
    /// The caller's per-lookup or per-check query budget ran out.
    #[error("{detail}")]
    Exhausted {
        /// Which budget, and its limit.
        detail: String,
    },
    /// The zone's servers have no address that could be found (or that the address
    /// policy allows).
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
    /// When the delegation goes stale (on the resolver's clock).
    expires: Duration,
    /// The operator's (the root hints): not subject to the address policy.
    trusted: bool,
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

/// Per-question budget, and the caller's budgets every query is also charged to.
struct Budget {
    queries: usize,
    spend: Spend,
}

/// What the servers of one zone did, for the error when none answered.
#[derive(Default)]
struct Tally {
    tried: Vec<String>,
    lame: usize,
    asked: Vec<IpAddr>,
    refused: Vec<IpAddr>,
}

impl Tally {
    fn error(&self, zone: &Zone, name: &Name, rtype: RecordType) -> IterateError {
        let tried = &self.tried;
        let detail = match tried.len() {
            0 => "no server to ask".to_owned(),
            1..=3 => tried.join("; "),
            n => format!("{}; and {} more", tried[..3].join("; "), n - 3),
        };
        if self.asked.is_empty() {
            return IterateError::NoServerAddress {
                zone: zone.name.to_string(),
                detail,
            };
        }
        let (zone, name, rtype) = (zone.name.to_string(), name.to_string(), rtype.to_string());
        if self.lame > 0 {
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
        }
    }
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`Iterator::new`] needs.
#[derive(Debug)]
pub(crate) struct Setup<'a> {
    pub(crate) hints: &'a RootHints,
    /// The port of every server asked (53; tests use another).
    pub(crate) port: u16,
    /// Deadline per exchange.
    pub(crate) timeout: Duration,
    pub(crate) limits: IterLimits,
    pub(crate) max_cached: usize,
    pub(crate) cache: CacheLimits,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: AddressPolicy,
}

/// A name server's addresses as cached, and until when.
#[derive(Debug, Clone)]
struct NsAddresses {
    addresses: Vec<IpAddr>,
    expires: Duration,
}

/// The iterating resolver: root hints, limits and the ageing delegation cache.
#[derive(Debug)]
pub struct Iterator {
    root: Arc<Zone>,
    port: u16,
    timeout: Duration,
    limits: IterLimits,
    max_cached: usize,
    cache: CacheLimits,
    clock: Arc<dyn Clock>,
    policy: AddressPolicy,
    zones: Mutex<HashMap<Name, Arc<Zone>>>,
    ns_addresses: Mutex<HashMap<Name, NsAddresses>>,
    learning: Mutex<HashMap<Name, Arc<tokio::sync::Mutex<()>>>>,
    in_flight: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked while holding it; the maps are
    // updated by single calls and stay consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Iterator {
    /// An iterator starting from the root hints.
    pub(crate) fn new(setup: Setup<'_>) -> Iterator {
        Iterator {
            root: Arc::new(Zone {
                name: Name::root(),
                addresses: setup.hints.addresses.clone(),
                unresolved: Vec::new(),
                expires: Duration::MAX,
                trusted: true,
            }),
            port: setup.port,
            timeout: setup.timeout,
            limits: setup.limits,
            max_cached: setup.max_cached.max(16),
            cache: setup.cache,
            clock: setup.clock,
            policy: setup.policy,
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

    /// The response to `name`/`rtype` from the servers of the zone holding it; every query
    /// is charged to `spend` too.
    pub(crate) async fn resolve(
        &self,
        name: &Name,
        rtype: RecordType,
        spend: &Spend,
    ) -> Result<Vec<u8>, IterateError> {
        let mut budget = Budget {
            queries: self.limits.max_queries,
            spend: spend.clone(),
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
        let now = self.clock.elapsed();
        let mut zones = lock(&self.zones);
        loop {
            if n.is_root() {
                return self.root.clone();
            }
            match zones.get(&n) {
                Some(z) if z.expires > now => return z.clone(),
                Some(_) => {
                    zones.remove(&n);
                }
                None => {}
            }
            n = n.base_name();
        }
    }

    fn store(&self, zone: Arc<Zone>) {
        let now = self.clock.elapsed();
        let mut zones = lock(&self.zones);
        if zones.len() >= self.max_cached {
            zones.retain(|_, z| z.expires > now);
        }
        if zones.len() >= self.max_cached - self.max_cached / 4 {
            // The root's children (the TLDs) stay: every name needs them.
            zones.retain(|n, _| n.num_labels() <= 1);
        }
        zones.insert(zone.name.clone(), zone);
    }

    /// When something learned now with `ttl` seconds goes stale (failures: `None`).
    fn expiry(&self, ttl: Option<u32>) -> Duration {
        let life = ttl.map_or(self.cache.failure_ttl, |t| {
            Duration::from_secs(u64::from(t)).min(self.cache.max_ttl)
        });
        self.clock.elapsed().saturating_add(life)
    }

    /// Asks the servers of `zone` in turn until one answers or refers downwards: the
    /// addresses it came with first, then name servers without glue, on demand and within
    /// [`IterLimits::glueless_per_referral`] (see the module docs).
    async fn ask_zone(
        &self,
        zone: &Zone,
        name: &Name,
        rtype: RecordType,
        budget: &mut Budget,
        nesting: usize,
    ) -> Result<Said, IterateError> {
        let mut tally = Tally::default();
        for &ip in &zone.addresses {
            if let Some(said) = self
                .try_server(ip, zone, name, rtype, budget, &mut tally)
                .await?
            {
                return Ok(said);
            }
        }
        let mut allowance = self.limits.glueless_per_referral;
        for (i, ns) in zone.unresolved.iter().enumerate() {
            if allowance == 0 {
                // First in the detail: it explains the rest.
                tally.tried.insert(
                    0,
                    format!(
                        "{} more name servers without glue not looked up (at most {} per referral)",
                        zone.unresolved.len() - i,
                        self.limits.glueless_per_referral
                    ),
                );
                break;
            }
            allowance -= 1;
            let addresses = self.ns_addresses(ns, budget, nesting).await?;
            if addresses.is_empty() {
                tally.tried.push(format!("{ns}: no address"));
                continue;
            }
            let asked_before = tally.asked.len();
            for ip in addresses {
                if let Some(said) = self
                    .try_server(ip, zone, name, rtype, budget, &mut tally)
                    .await?
                {
                    return Ok(said);
                }
            }
            // Its addresses were asked and did not answer: a server down, worth one more
            // name (not when the policy refused them all: nothing was tried).
            if tally.asked.len() > asked_before {
                allowance += 1;
            }
        }
        Err(tally.error(zone, name, rtype))
    }

    /// Asks `ip` unless it was asked already or the address policy refuses it; `Some` when
    /// it answered or referred.
    async fn try_server(
        &self,
        ip: IpAddr,
        zone: &Zone,
        name: &Name,
        rtype: RecordType,
        budget: &mut Budget,
        tally: &mut Tally,
    ) -> Result<Option<Said>, IterateError> {
        if tally.asked.contains(&ip) || tally.refused.contains(&ip) {
            return Ok(None);
        }
        if !zone.trusted {
            if let Err(refused) = self.policy.check(ip) {
                tracing::debug!(zone = %zone.name, %refused, "address refused");
                tally.refused.push(ip);
                tally.tried.push(refused.to_string());
                return Ok(None);
            }
        }
        tally.asked.push(ip);
        match self.ask_server(ip, zone, name, rtype, budget).await? {
            Said::Useless(is_lame, what) => {
                tally.lame += usize::from(is_lame);
                tally.tried.push(what);
                Ok(None)
            }
            said => Ok(Some(said)),
        }
    }

    /// The addresses of name server `ns`, iterated, cached for their TTL: A, and AAAA only
    /// when A gave none (and the name exists).
    async fn ns_addresses(
        &self,
        ns: &Name,
        budget: &mut Budget,
        nesting: usize,
    ) -> Result<Vec<IpAddr>, IterateError> {
        let now = self.clock.elapsed();
        if let Some(a) = lock(&self.ns_addresses).get(ns).filter(|a| a.expires > now) {
            return Ok(a.addresses.clone());
        }
        if nesting >= self.limits.max_nesting {
            // A cycle (a.test served by ns.b.test, b.test by ns.a.test, no glue) or a
            // chain too long: this server is not reachable from here.
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        let mut ttl = None;
        for rtype in [RecordType::A, RecordType::AAAA] {
            match self
                .resolve_in(ns.to_lowercase(), rtype, budget, nesting + 1)
                .await
            {
                Ok(wire) => {
                    let Ok(m) = Message::from_vec(&wire) else {
                        continue;
                    };
                    for r in m.answers.iter().filter(|r| &r.name == ns) {
                        match &r.data {
                            RData::A(a) => found.push(IpAddr::V4(a.0)),
                            RData::AAAA(a) => found.push(IpAddr::V6(a.0)),
                            _ => continue,
                        }
                        ttl = Some(ttl.map_or(r.ttl, |t: u32| t.min(r.ttl)));
                    }
                    // RFC 8020: no name, no AAAA either.
                    if m.metadata.response_code == ResponseCode::NXDomain {
                        break;
                    }
                }
                Err(e @ (IterateError::TooManyQueries { .. } | IterateError::Exhausted { .. })) => {
                    return Err(e);
                }
                Err(e) => tracing::debug!(%ns, %rtype, error = %e, "name server address"),
            }
            if !found.is_empty() {
                break;
            }
        }
        found.truncate(self.limits.max_ns);
        let expires = self.expiry(ttl);
        let mut cache = lock(&self.ns_addresses);
        if cache.len() >= self.max_cached {
            cache.retain(|_, a| a.expires > now);
            if cache.len() >= self.max_cached - self.max_cached / 4 {
                cache.clear();
            }
        }
        cache.insert(
            ns.clone(),
            NsAddresses {
                addresses: found.clone(),
                expires,
            },
        );
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
        budget
            .spend
            .take()
            .map_err(|e| IterateError::Exhausted { detail: e.0 })?;
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
            // The delegation lives as long as its shortest NS or glue record.
            let ttl = ns
                .iter()
                .map(|r| r.ttl)
                .chain(
                    m.additionals
                        .iter()
                        .filter(|r| names.contains(&r.name.to_lowercase()))
                        .map(|r| r.ttl),
                )
                .min();
            return Said::Referral(Zone {
                name: cut.to_lowercase(),
                addresses,
                unresolved,
                expires: self.expiry(ttl),
                trusted: false,
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
