//! The engine's sources over the real thing: [`LiveDns`] asks `dane-resolver` (which has
//! `dane-dnssec` validate every answer from the trust anchors), [`LiveProber`] runs
//! `dane-probe`; both turn what they got into the policy's vocabulary. (The resolver and
//! the prober record; the validator and the policy judge: ARCHITECTURE.md invariant 3.)

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr as _;
use std::sync::Arc;

use dane_resolver::{QueryBudget, Resolver};
use hickory_proto::rr::{Name, RecordType};

use dane_probe::Target;
use rustls_pki_types::UnixTime;

use crate::dns::{Lookup, Mx, Resolution, Srv, fqdn};
use crate::engine::{Dns, Family, ProbeRequest, ProbeResult, Prober};
use crate::evidence::Recorder;
use crate::evidence::{ServerItem, StoredServer};
use crate::host::{Probe, ProbeFailure};
use crate::observe::{
    failed, from_dnssec, from_outcome, parse_ip, parse_mx, parse_srv, parse_tlsa,
};
use crate::servers::{ServerAnswer, ServerView, ServerViews};
use dane_resolver::authoritative::{AuthError, Authoritative, ServerResult, ZoneServers};
use data_encoding::HEXLOWER;

/// [`Dns`] over a validating [`Resolver`] (one per run: its cache is shared by every
/// lookup), validating at `now`.
#[derive(Debug, Clone)]
pub struct LiveDns {
    resolver: Arc<Resolver>,
    now: UnixTime,
    recorder: Option<Arc<Recorder>>,
    /// Where each lookup's outcome is kept, for the picture formats.
    chains: Option<Arc<crate::chain::Chains>>,
    /// The query budget of the check this source serves ([`Dns::for_check`]).
    check: Option<Arc<QueryBudget>>,
    /// The authoritative servers of each zone this check asked, found once: a zone holding
    /// a host's TLSA, A and AAAA RRsets (or the MX RRset too) has its NS RRset and server
    /// addresses looked up once and each address asked its SOA once, for all of them.
    /// A fresh one per check ([`Dns::for_check`]).
    zones: Arc<ZoneMemo>,
}

/// One zone's servers, found by the first lookup that needs them; the others wait for it.
type ZoneCell = Arc<tokio::sync::OnceCell<Result<Arc<ZoneServers>, AuthError>>>;

/// The zones a check asked, by apex (a handful per check: the MX zone and each host's
/// zones).
#[derive(Debug, Default)]
struct ZoneMemo(std::sync::Mutex<std::collections::HashMap<Name, ZoneCell>>);

impl ZoneMemo {
    fn cell(&self, zone: &Name) -> ZoneCell {
        let mut zones = self.0.lock().unwrap_or_else(|e| e.into_inner());
        zones.entry(zone.clone()).or_default().clone()
    }
}

impl LiveDns {
    /// Wraps a resolver.
    pub fn new(resolver: Arc<Resolver>, now: UnixTime) -> LiveDns {
        LiveDns {
            resolver,
            now,
            recorder: None,
            chains: None,
            check: None,
            zones: Arc::default(),
        }
    }

    /// Also keeps each lookup's outcome in `chains` (the picture formats draw them).
    pub fn with_chains(mut self, chains: Arc<crate::chain::Chains>) -> LiveDns {
        self.chains = Some(chains);
        self
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
        let lookup = match &self.check {
            Some(budget) => {
                self.resolver
                    .lookup_within(&qname, rtype, self.now, budget)
                    .await
            }
            None => self.resolver.lookup(&qname, rtype, self.now).await,
        };
        match lookup {
            Ok(l) => {
                if let Some(r) = &self.recorder {
                    r.add_evidence(&l.evidence);
                }
                let lookup = from_dnssec(&name, rtype, &l.outcome, parse);
                if let Some(c) = &self.chains {
                    c.keep(&name, rtype, l.outcome);
                }
                lookup
            }
            Err(e) => failed(&name, e.to_string()),
        }
    }
}

impl LiveDns {
    /// Every authoritative server's answer to `owner rtype`: the same questions `dane
    /// rollover status` asks (the validating path finds the zone and its NS RRset; each
    /// address is asked directly and its answer validated).
    async fn servers<T>(
        &self,
        owner: &str,
        rtype: RecordType,
        parse: fn(&str) -> Option<T>,
    ) -> Result<ServerViews<T>, String> {
        let owner = fqdn(owner);
        let Ok(qname) = Name::from_str(&owner) else {
            return Err(format!("{owner:?} is not a DNS name"));
        };
        let auth = self.ask_authoritative(&qname, rtype).await;
        if let Some(r) = &self.recorder {
            r.add_servers(server_item(&owner, rtype, &auth));
        }
        auth.map(|a| server_views(&owner, rtype, parse, &a))
            .map_err(|e| e.to_string())
    }
}

impl LiveDns {
    /// [`Resolver::ask_authoritative`] with the zone's servers found once per check: the
    /// zone of `name` by its own SOA lookup, then that zone's NS RRset, server addresses
    /// and each address's SOA serial shared with every other RRset of the check in the
    /// same zone, then every address asked `name`/`rtype`.
    async fn ask_authoritative(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Authoritative, AuthError> {
        let (zone, soa_verdict) = self.resolver.authoritative_zone(name, self.now).await?;
        let servers = self
            .zones
            .cell(&zone)
            .get_or_init(|| async {
                self.resolver
                    .zone_servers(&zone, self.now)
                    .await
                    .map(Arc::new)
            })
            .await
            .clone()?;
        Ok(self
            .resolver
            .ask_zone_servers(&servers, name, soa_verdict, rtype, self.now)
            .await)
    }
}

impl Dns for LiveDns {
    fn for_check(self: Arc<Self>) -> Arc<Self> {
        Arc::new(LiveDns {
            check: Some(self.resolver.check_budget()),
            zones: Arc::default(),
            ..(*self).clone()
        })
    }

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

    async fn tlsa_servers(&self, owner: &str) -> Option<Result<ServerViews, String>> {
        Some(self.servers(owner, RecordType::TLSA, parse_tlsa).await)
    }

    async fn mx_servers(&self, domain: &str) -> Option<Result<ServerViews<Mx>, String>> {
        Some(self.servers(domain, RecordType::MX, parse_mx).await)
    }

    async fn address_servers(
        &self,
        host: &str,
        family: Family,
    ) -> Option<Result<ServerViews<IpAddr>, String>> {
        let rtype = match family {
            Family::V4 => RecordType::A,
            Family::V6 => RecordType::AAAA,
        };
        Some(self.servers(host, rtype, parse_ip).await)
    }

    async fn resolution(&self) -> Option<Resolution> {
        let r = resolution(&*self.resolver.resolution(self.now).await);
        if let Some(rec) = &self.recorder {
            rec.set_resolution(r.clone());
        }
        Some(r)
    }
}

/// Every server address's answer in the policy's vocabulary.
fn server_views<T>(
    owner: &str,
    rtype: RecordType,
    parse: fn(&str) -> Option<T>,
    auth: &Authoritative,
) -> ServerViews<T> {
    let (left_out, untrusted) = crate::rollover::readiness::coverage(auth);
    ServerViews {
        zone: auth.zone.to_string(),
        servers: auth
            .replies
            .iter()
            .map(|r| ServerView {
                ns: r.ns.to_string(),
                address: r.address.to_string(),
                serial: r.serial,
                answer: match (&r.result, r.rcode) {
                    (ServerResult::Failed(why), Some(rcode)) => ServerAnswer::Rcode {
                        rcode,
                        detail: why.clone(),
                    },
                    (ServerResult::Failed(why), None) => ServerAnswer::NoAnswer(why.clone()),
                    (ServerResult::Answered { lookup, .. }, _) => {
                        ServerAnswer::Answered(from_dnssec(owner, rtype, &lookup.outcome, parse))
                    }
                },
            })
            .collect(),
        left_out,
        untrusted,
    }
}

/// What the servers answered, for an evidence bundle (`--save-evidence`).
fn server_item(
    owner: &str,
    rtype: RecordType,
    auth: &Result<Authoritative, AuthError>,
) -> ServerItem {
    let mut item = ServerItem {
        owner: owner.to_owned(),
        rtype: rtype.to_string(),
        zone: None,
        error: None,
        left_out: Vec::new(),
        untrusted: None,
        servers: Vec::new(),
    };
    let auth = match auth {
        Ok(a) => a,
        Err(e) => {
            item.error = Some(e.to_string());
            return item;
        }
    };
    let (left_out, untrusted) = crate::rollover::readiness::coverage(auth);
    item.zone = Some(auth.zone.to_string());
    item.left_out = left_out;
    item.untrusted = untrusted;
    item.servers = auth
        .replies
        .iter()
        .map(|r| StoredServer {
            ns: r.ns.to_string(),
            address: r.address.to_string(),
            serial: r.serial,
            wire: match &r.result {
                ServerResult::Answered { wire, .. } => Some(HEXLOWER.encode(wire)),
                ServerResult::Failed(_) => None,
            },
            rcode: r.rcode,
            failed: match &r.result {
                ServerResult::Failed(why) => Some(why.clone()),
                ServerResult::Answered { .. } => None,
            },
        })
        .collect();
    item
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
            Ok(t) => {
                let t = t.with_service_domain(&request.service_domain);
                match request.offer {
                    Some(family) => t.with_offer(family),
                    None => t,
                }
            }
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
                    cached: false,
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
