//! The orchestrator: runs the RFC 7672 steps of [`crate::smtp`] for one domain, asking a
//! [`Dns`] source for lookups and a [`Prober`] for what each server presents, and builds
//! the [`Report`]. The sources are traits so the same engine runs live (the validating
//! resolver and the TLS prober), from saved evidence, and over in-memory fakes in tests.
//!
//! Hosts and their addresses are checked concurrently; probes are bounded by a semaphore
//! shared by the whole run; the report keeps MX preference order and address order.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use dane_tlsa::TlsaRecord;
use rustls_pki_types::UnixTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::dns::{Answer, Lookup, Mx, Resolution, Security, Srv, fqdn};
use crate::host::{
    self, AddressStep, Candidate, HostPolicy, NoDane, Probe, ProbeFailure, Rules, TlsaStep,
};
use crate::multicert;
use crate::records::canonical_lookup;
use crate::report::{
    AddressLookup, CandidateReport, CertInfo, DomainVerdict, EndpointReport, HostReport, Report,
    SCHEMA_VERSION, TlsInfo, TlsaReport, Warning, domain_verdict_with, host_warnings,
};
use crate::service::{self, Service, SrvPlan};
use crate::smtp::{self, MxPlan};
use crate::verdict::{Status, Verdict, combine};
use dane_probe::Protocol;
use dane_resolver::AddressPolicy;

pub use crate::limits::{MAX_ADDRESSES, MAX_HOSTS};

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 (A records).
    V4,
    /// IPv6 (AAAA records).
    V6,
}

/// Where DNS answers come from: a validating resolver, or saved evidence. Every lookup
/// returns a verdict (failures are [`crate::dns::Security::Indeterminate`] or `Bogus`),
/// never an error.
pub trait Dns: Send + Sync + 'static {
    /// `domain MX`.
    fn mx(&self, domain: &str) -> impl Future<Output = Lookup<Mx>> + Send;
    /// `host A` or `host AAAA`, following CNAMEs.
    fn addresses(&self, host: &str, family: Family) -> impl Future<Output = Lookup<IpAddr>> + Send;
    /// `owner TLSA`, following CNAMEs.
    fn tlsa(&self, owner: &str) -> impl Future<Output = Lookup<TlsaRecord>> + Send;
    /// `name SRV` (`_service._tcp.domain`).
    fn srv(&self, name: &str) -> impl Future<Output = Lookup<Srv>> + Send;
    /// Where the answers come from (decided once per run by a live source; recorded in
    /// evidence). `None`: the source does not say (in-memory fakes).
    fn resolution(&self) -> impl Future<Output = Option<Resolution>> + Send {
        async { None }
    }
    /// Every authoritative server's answer to `owner TLSA` ([`Options::each_server`]),
    /// or why the servers could not be found; `None` when the source cannot ask them
    /// (in-memory fakes, replays of saved evidence).
    fn tlsa_servers(
        &self,
        owner: &str,
    ) -> impl Future<Output = Option<Result<crate::servers::ServerViews, String>>> + Send {
        let _ = owner;
        async { None }
    }
    /// Every authoritative server's answer to `domain MX` (the zone of the MX RRset), as
    /// [`Dns::tlsa_servers`].
    fn mx_servers(
        &self,
        domain: &str,
    ) -> impl Future<Output = Option<Result<crate::servers::ServerViews<Mx>, String>>> + Send {
        let _ = domain;
        async { None }
    }
    /// Every authoritative server's answer to `host A` or `host AAAA` (the zone of an MX
    /// host's address RRset), as [`Dns::tlsa_servers`].
    fn address_servers(
        &self,
        host: &str,
        family: Family,
    ) -> impl Future<Output = Option<Result<crate::servers::ServerViews<IpAddr>, String>>> + Send
    {
        let _ = (host, family);
        async { None }
    }
    /// The source for one check ([`verify`] of one domain): a live source gives each check
    /// a query budget of its own (ARCHITECTURE.md invariant 9); others are shared as they
    /// are.
    fn for_check(self: Arc<Self>) -> Arc<Self> {
        self
    }
}

/// What a probe of one SMTP server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// The outcome in the policy's vocabulary.
    pub probe: Probe,
    /// TLS parameters, when the handshake completed.
    pub tls: Option<TlsInfo>,
    /// The presented chain, summarised for the report.
    pub chain: Vec<CertInfo>,
    /// The result came from the run's probe cache ([`crate::probecache`]): another
    /// target's probe of the same endpoint, not a handshake of this check's own.
    pub cached: bool,
}

/// One probe to run: where, what to say, and with which names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The address.
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// The TLS SNI name (the TLSA base domain under DANE, else the host name).
    pub sni: String,
    /// The dialogue up to STARTTLS, or implicit TLS.
    pub protocol: Protocol,
    /// The service domain (the XMPP stream's `to`; the domain the user asked about).
    pub service_domain: String,
    /// Offer only this family's signature algorithms (to find the server's other
    /// certificates); `None`: the usual offer, every algorithm.
    pub offer: Option<dane_probe::KeyFamily>,
}

/// Where server observations come from: the live prober, or saved evidence.
pub trait Prober: Send + Sync + 'static {
    /// Runs the dialogue (if any) and the TLS handshake of `request`.
    fn probe(&self, request: &ProbeRequest) -> impl Future<Output = ProbeResult> + Send;
}

/// A candidate TLSA set: each record with the owner name it was written with, if any.
pub type TlsaSet = Vec<(Option<String>, TlsaRecord)>;

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The address families to check (both by default).
    pub families: Vec<Family>,
    /// Most probes in flight at once.
    pub concurrency: usize,
    /// The time for certificate dates and warnings (`--at`).
    pub now: UnixTime,
    /// When expiring certificates and signatures warn (by default: with less than a fifth
    /// of their own validity period left).
    pub thresholds: crate::threshold::Thresholds,
    /// Check this one host instead of the domain's MX or SRV hosts (`--host`).
    pub host: Option<String>,
    /// Rollover pre-check: judge this certificate or key instead of probing the servers
    /// (with `tlsa_override`, in addition to probing them).
    pub candidate: Option<Candidate>,
    /// A candidate TLSA set used instead of the published one (`--tlsa FILE`): records with
    /// an owner name apply to that owner, records without one to every host.
    pub tlsa_override: Option<TlsaSet>,
    /// Which addresses of hosts named by DNS (MX, SRV, the domain's own A/AAAA) are probed
    /// (public ones only by default; `--allow-private`). The addresses of `host` (`--host`,
    /// the operator's choice) are always probed.
    pub address_policy: AddressPolicy,
    /// Connect only where the caller or signed DNS says (`serve-metrics` without
    /// `--allow-ports`, where a scraper names the domain): SRV targets are probed only on
    /// the service's registered port, and the targets of an insecure SRV RRset not at all
    /// (DANE does not apply to them, RFC 7673 3.1, so there is nothing to verify).
    pub srv_registered_ports_only: bool,
    /// After a handshake with the usual offer, probe each address again offering only
    /// each other signature-algorithm family, and judge every distinct chain found
    /// (`--all-certs`; on by default).
    pub all_certs: bool,
    /// Ask every address of every authoritative server of each TLSA owner's zone and judge
    /// what each serves ([`crate::servers`]; `--no-each-server` turns it off). Off by
    /// default in the library.
    pub each_server: bool,
    /// The CA families whose members a DANE-TA record should not pin alone
    /// (`issuer-family` warnings; `--ca-families FILE`, else the embedded list).
    pub ca_families: std::sync::Arc<dane_tlsa::CaFamilies>,
}

impl Options {
    /// Defaults at `now`: both families, 16 probes at once, the relative thresholds.
    pub fn new(now: UnixTime) -> Options {
        Options {
            families: vec![Family::V4, Family::V6],
            concurrency: 16,
            now,
            thresholds: crate::threshold::Thresholds::default(),
            host: None,
            candidate: None,
            tlsa_override: None,
            address_policy: AddressPolicy::PublicOnly,
            srv_registered_ports_only: false,
            all_certs: true,
            each_server: false,
            ca_families: std::sync::Arc::new(dane_tlsa::CaFamilies::embedded().clone()),
        }
    }
}

/// A host to check, as the discovery step named it.
#[derive(Debug, Clone)]
struct Target {
    host: String,
    port: u16,
    preference: Option<u16>,
    /// Why DANE cannot apply (an insecure MX or SRV lookup named the host).
    insecure: Option<NoDane>,
    /// Why the host is reported without being looked up or probed
    /// ([`Options::srv_registered_ports_only`]).
    not_probed: Option<String>,
}

/// Checks `service` at `domain` as a DANE client would: for SMTP (RFC 7672) every MX host,
/// for SRV services (RFC 7673) every target, otherwise the domain itself (RFC 7671); every
/// address of each.
///
/// When the DNS source says its resolver is unsuitable (it failed the capability check and
/// iteration is off), nothing is looked up: the report is indeterminate with the resolver's
/// problem as the reason (a local fault is never a verdict on the domain).
pub async fn verify<D: Dns, P: Prober>(
    dns: Arc<D>,
    prober: Arc<P>,
    domain: &str,
    service: &Service,
    options: &Options,
) -> Report {
    // One check: a live source gives it a query budget of its own.
    let dns = dns.for_check();
    let resolution = dns.resolution().await;
    if let Some(r) = resolution.as_ref().filter(|r| r.unsuitable) {
        return unsuitable_resolver(domain, service, r);
    }
    let mut report = verify_domain(dns, prober, domain, service, options).await;
    report.resolution = resolution;
    report
}

/// The report of a run whose resolver failed the capability check (iteration off).
pub fn unsuitable_resolver(domain: &str, service: &Service, resolution: &Resolution) -> Report {
    Report {
        version: SCHEMA_VERSION,
        domain: fqdn(domain),
        service: service.name,
        verdict: DomainVerdict::Indeterminate,
        reason: resolution
            .reason
            .clone()
            .unwrap_or_else(|| "unsuitable resolver".to_owned()),
        mx: None,
        mx_servers: None,
        mx_plan: None,
        srv: None,
        srv_plan: None,
        hosts: Vec::new(),
        warnings: Vec::new(),
        rollover_ready: None,
        resolution: Some(resolution.clone()),
    }
}

async fn verify_domain<D: Dns, P: Prober>(
    dns: Arc<D>,
    prober: Arc<P>,
    domain: &str,
    service: &Service,
    options: &Options,
) -> Report {
    let domain = fqdn(domain);
    let mut report = empty_report(&domain, service);
    let Some(targets) = discover_targets(&*dns, &domain, service, options, &mut report).await
    else {
        return report;
    };
    let targets = bound_hosts(targets, &mut report.warnings);
    // The MX RRset's servers are asked while the hosts are checked.
    let mx_owner = mx_servers_owner(&report, service, options);
    let asking = {
        let dns = dns.clone();
        async move {
            match mx_owner {
                Some(d) => dns.mx_servers(&d).await,
                None => None,
            }
        }
    };
    let checking = check_hosts(dns, prober, targets, service, &domain, options, &mut report);
    let (hosts, mx_views) = tokio::join!(checking, asking);
    report.hosts = hosts;
    if let Some(views) = mx_views {
        let check = judge_mx_servers(&report, &domain, &views, options);
        report
            .warnings
            .extend(crate::report::server_check_warnings(&check, None));
        report.mx_servers = Some(check);
    }
    add_host_warnings(&mut report, options, service.mx);
    decide_domain(&mut report);
    report.rollover_ready = rollover_ready(&report.hosts, options);
    report
}

/// The report before anything is known.
pub(crate) fn empty_report(domain: &str, service: &Service) -> Report {
    Report {
        version: SCHEMA_VERSION,
        domain: domain.to_owned(),
        service: service.name,
        verdict: DomainVerdict::Indeterminate,
        reason: String::new(),
        mx: None,
        mx_servers: None,
        mx_plan: None,
        srv: None,
        srv_plan: None,
        hosts: Vec::new(),
        warnings: Vec::new(),
        rollover_ready: None,
        resolution: None,
    }
}

/// The host at `host` without indirection, on the service's port.
fn direct_target(host: &str, service: &Service) -> Target {
    Target {
        host: fqdn(host),
        port: service.port,
        preference: None,
        insecure: None,
        not_probed: None,
    }
}

/// The hosts to check, by the service's discovery rule; `None` when discovery itself
/// decided the domain's verdict (recorded in `report`).
async fn discover_targets<D: Dns>(
    dns: &D,
    domain: &str,
    service: &Service,
    options: &Options,
    report: &mut Report,
) -> Option<Vec<Target>> {
    if let Some(host) = &options.host {
        // RFC 7671 6: without indirection the host named by the user is the base domain.
        return Some(vec![direct_target(host, service)]);
    }
    if service.mx {
        return mx_targets(dns, domain, service, report).await;
    }
    if let Some(label) = service.srv {
        let targets = srv_targets(dns, domain, label, service, report).await?;
        return Some(if options.srv_registered_ports_only {
            targets
                .into_iter()
                .map(|t| registered_port_only(t, service))
                .collect()
        } else {
            targets
        });
    }
    Some(vec![direct_target(domain, service)])
}

/// RFC 7672 2.2.1: the MX hosts in preference order (the domain itself for the implicit
/// MX); an insecure MX RRset makes DANE inapplicable to every host it names.
async fn mx_targets<D: Dns>(
    dns: &D,
    domain: &str,
    service: &Service,
    report: &mut Report,
) -> Option<Vec<Target>> {
    let mx = dns.mx(domain).await;
    let plan = smtp::mx_plan(&mx);
    report.mx = Some(mx);
    if let Some(v) = smtp::plan_verdict(domain, &plan) {
        report.verdict = match plan {
            MxPlan::NullMx | MxPlan::NoSuchDomain { .. } => DomainVerdict::Nonexistent,
            _ if v.status == Status::Failed => DomainVerdict::Failed,
            _ => DomainVerdict::Indeterminate,
        };
        report.reason = v.reason;
        report.mx_plan = Some(plan);
        return None;
    }
    let insecure = |secure: bool| (!secure).then_some(NoDane::InsecureMx);
    let targets = match &plan {
        MxPlan::Hosts {
            secure,
            hosts,
            ignored,
        } => {
            report
                .warnings
                .extend(ignored.iter().map(|message| Warning {
                    code: "ignored-mx",
                    host: None,
                    records: Vec::new(),
                    message: message.clone(),
                }));
            hosts
                .iter()
                .map(|m| Target {
                    host: m.exchange.clone(),
                    port: service.port,
                    preference: Some(m.preference),
                    insecure: insecure(*secure),
                    not_probed: None,
                })
                .collect()
        }
        // RFC 5321 5.1: the domain itself is the host; RFC 7672 2.2.1: DANE applies when
        // the MX denial is secure.
        MxPlan::Implicit { secure } => vec![Target {
            insecure: insecure(*secure),
            ..direct_target(domain, service)
        }],
        _ => Vec::new(),
    };
    report.mx_plan = Some(plan);
    Some(targets)
}

/// RFC 7673 3: the SRV targets in priority order (the domain itself at the default port
/// when there are none); an insecure SRV RRset makes DANE inapplicable to its targets.
async fn srv_targets<D: Dns>(
    dns: &D,
    domain: &str,
    label: &str,
    service: &Service,
    report: &mut Report,
) -> Option<Vec<Target>> {
    let owner = format!("{label}.{domain}");
    let srv = dns.srv(&owner).await;
    let plan = service::srv_plan(&srv);
    report.srv = Some(srv);
    if let Some(v) = service::srv_plan_verdict(&owner, &plan) {
        report.verdict = match plan {
            SrvPlan::NotOffered => DomainVerdict::Nonexistent,
            _ if v.status == Status::Failed => DomainVerdict::Failed,
            _ => DomainVerdict::Indeterminate,
        };
        report.reason = v.reason;
        report.srv_plan = Some(plan);
        return None;
    }
    let targets = match &plan {
        SrvPlan::Targets { secure, targets } => targets
            .iter()
            .map(|t| Target {
                host: t.target.clone(),
                port: t.port,
                preference: Some(t.priority),
                insecure: (!secure).then_some(NoDane::InsecureSrv),
                not_probed: None,
            })
            .collect(),
        // No SRV records: the domain itself at the default port, no indirection.
        SrvPlan::Fallback { .. } => vec![direct_target(domain, service)],
        _ => Vec::new(),
    };
    report.srv_plan = Some(plan);
    Some(targets)
}

/// [`Options::srv_registered_ports_only`]: an SRV target on another port than the
/// service's registered one, or named by an insecure SRV RRset, is not looked up or probed
/// (a scraped domain must not make the exporter connect where it likes).
fn registered_port_only(mut t: Target, service: &Service) -> Target {
    if matches!(t.insecure, Some(NoDane::InsecureSrv)) {
        t.not_probed = Some(format!(
            "{}; not probed (serve-metrics connects only where signed DNS points without --allow-ports)",
            NoDane::InsecureSrv.describe(&t.host)
        ));
    } else if t.port != service.port {
        t.not_probed = Some(format!(
            "{} port {}: not probed: the registered port of {} is {} (serve-metrics probes other ports only with --allow-ports)",
            t.host, t.port, service.name, service.port
        ));
    }
    t
}

/// Bounded work (ARCHITECTURE.md invariant 7): a hostile zone can list thousands of MX or
/// SRV targets; the first [`MAX_HOSTS`] in preference order are checked, and a warning says
/// how many were left out.
fn bound_hosts(mut targets: Vec<Target>, warnings: &mut Vec<Warning>) -> Vec<Target> {
    if targets.len() > MAX_HOSTS {
        warnings.push(Warning {
            code: "too-many-hosts",
            host: None,
            records: Vec::new(),
            message: format!(
                "{} hosts published; only the first {MAX_HOSTS} by preference were checked; not checked: {}",
                targets.len(),
                left_out_names(&targets[MAX_HOSTS..])
            ),
        });
        targets.truncate(MAX_HOSTS);
    }
    targets
}

/// The first few names of `targets`, and how many more.
fn left_out_names(targets: &[Target]) -> String {
    const SHOWN: usize = 8;
    let mut names: Vec<&str> = targets
        .iter()
        .take(SHOWN)
        .map(|t| t.host.as_str())
        .collect();
    let more = targets.len().saturating_sub(SHOWN);
    let more = format!("and {more} more");
    if targets.len() > SHOWN {
        names.push(&more);
    }
    names.join(", ")
}

/// Every host checked concurrently (probes bounded by one semaphore for the run), in
/// discovery order.
async fn check_hosts<D: Dns, P: Prober>(
    dns: Arc<D>,
    prober: Arc<P>,
    targets: Vec<Target>,
    service: &Service,
    domain: &str,
    options: &Options,
    report: &mut Report,
) -> Vec<HostReport> {
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (index, target) in targets.into_iter().enumerate() {
        let (dns, prober, limit) = (dns.clone(), prober.clone(), limit.clone());
        let rules = Rules {
            port: target.port,
            smtp: service.mx,
            service_domain: domain.to_owned(),
        };
        let (options, protocol) = (options.clone(), service.protocol);
        tasks.spawn(async move {
            let r = check_host(dns, prober, limit, &rules, protocol, target, &options).await;
            (index, r)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            // A panicking task is a bug; the report says so instead of hiding the host.
            Err(e) => report.warnings.push(Warning {
                code: "internal-error",
                host: None,
                records: Vec::new(),
                message: format!("a host check did not finish: {e}"),
            }),
        }
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, h)| h).collect()
}

/// The warnings each host's results call for, at `--at` with the expiry thresholds.
fn add_host_warnings(report: &mut Report, options: &Options, smtp: bool) {
    let now = options.now.as_secs();
    for h in &report.hosts {
        report
            .warnings
            .extend(host_warnings(h, now, options.thresholds, smtp));
        report
            .warnings
            .extend(crate::report::family_warnings(h, &options.ca_families, now));
    }
}

/// The domain's verdict from its hosts; when it is verified, a warning for every host DANE
/// does not cover (a sender delivering there is not protected).
fn decide_domain(report: &mut Report) {
    let mx_failures = report
        .mx_servers
        .as_ref()
        .map_or(&[][..], |c| c.failures.as_slice());
    let (verdict, reason) = domain_verdict_with(&report.hosts, mx_failures);
    if verdict == DomainVerdict::Verified {
        for h in report.hosts.iter().filter(|h| h.no_dane.is_some()) {
            report.warnings.push(Warning {
                code: "not-covered",
                host: Some(h.name.clone()),
                records: Vec::new(),
                message: format!(
                    "{}: {}; a DANE sender delivering there is not protected",
                    h.name, h.verdict.reason
                ),
            });
        }
    }
    report.verdict = verdict;
    report.reason = reason;
}

/// With a candidate and a candidate TLSA set: ready when every host DANE covers
/// authenticates both the certificates served now and the candidate.
fn rollover_ready(hosts: &[HostReport], options: &Options) -> Option<bool> {
    if options.candidate.is_none() || options.tlsa_override.is_none() {
        return None;
    }
    let covered: Vec<&HostReport> = hosts.iter().filter(|h| h.candidate.is_some()).collect();
    Some(
        !covered.is_empty()
            && covered.iter().all(|h| {
                h.candidate
                    .as_ref()
                    .is_some_and(|c| c.verdict.status == Status::Verified)
                    && !h.endpoints.is_empty()
                    && h.endpoints
                        .iter()
                        .all(|e| e.verdict.status == Status::Verified)
            }),
    )
}

/// The candidate TLSA set as the answer for `owner`: the records for that owner, or those
/// without an owner; a secure NODATA when there are none.
fn override_lookup(owner: &str, set: &[(Option<String>, TlsaRecord)]) -> Lookup<TlsaRecord> {
    let for_owner: Vec<TlsaRecord> = set
        .iter()
        .filter(|(o, _)| o.as_deref().map(fqdn).as_deref() == Some(owner))
        .map(|(_, r)| r.clone())
        .collect();
    let records = if for_owner.is_empty() {
        set.iter()
            .filter(|(o, _)| o.is_none())
            .map(|(_, r)| r.clone())
            .collect()
    } else {
        for_owner
    };
    Lookup {
        name: owner.to_owned(),
        canonical: owner.to_owned(),
        security: Security::Secure,
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

/// One host as the DNS half of a check leaves it: the report so far (addresses, TLSA
/// lookups, no endpoints) and the policy a DANE client will apply to its servers.
#[derive(Debug, Clone)]
pub struct HostDecision {
    /// The host's report without endpoints; `verdict` is set only when the host is
    /// unusable, `no_dane` when DANE does not apply.
    pub report: HostReport,
    /// What a client requires of the host's servers (for [`HostPolicy::Dane`], the TLSA
    /// owner name the client uses, after RFC 7671 7 / RFC 7672 2.2.3).
    pub policy: HostPolicy,
}

/// The DNS half of [`verify`], without connecting to any server: the service's target
/// discovery (MX hosts, SRV targets, the domain itself or `options.host`) and, for each
/// host, the address and TLSA steps, CNAME expansion included. `Err` is the report when
/// discovery itself decided (a null MX, a failed MX or SRV lookup, an unsuitable
/// resolver): no host to look at.
pub async fn decide_hosts<D: Dns>(
    dns: &D,
    domain: &str,
    service: &Service,
    options: &Options,
) -> Result<Vec<HostDecision>, Box<Report>> {
    let resolution = dns.resolution().await;
    if let Some(r) = resolution.as_ref().filter(|r| r.unsuitable) {
        return Err(Box::new(unsuitable_resolver(domain, service, r)));
    }
    let domain = fqdn(domain);
    let mut report = empty_report(&domain, service);
    report.resolution = resolution;
    let Some(targets) = discover_targets(dns, &domain, service, options, &mut report).await else {
        return Err(Box::new(report));
    };
    let mut out = Vec::new();
    // Bounded work, never a silent gap (ARCHITECTURE.md invariant 7): a host past
    // MAX_HOSTS is not looked at, and says so, indeterminate (`dane rollover status` must
    // not call a domain ready with hosts never checked).
    let unchecked: Vec<HostDecision> = targets
        .iter()
        .skip(MAX_HOSTS)
        .map(|t| past_the_bound(t, targets.len()))
        .collect();
    for target in bound_hosts(targets, &mut report.warnings) {
        let rules = Rules {
            port: target.port,
            smtp: service.mx,
            service_domain: domain.clone(),
        };
        let (mut host, policy, _) = host_dns(dns, &rules, target, options).await;
        match &policy {
            HostPolicy::Unusable { verdict } => host.verdict = verdict.clone(),
            HostPolicy::NoDane { why } => host.no_dane = Some(why.clone()),
            HostPolicy::Dane { .. } => {}
        }
        out.push(HostDecision {
            report: host,
            policy,
        });
    }
    out.extend(unchecked);
    Ok(out)
}

/// The decision of a host that [`bound_hosts`] leaves out of `total`: indeterminate, not
/// looked at.
fn past_the_bound(t: &Target, total: usize) -> HostDecision {
    let verdict = Verdict::new(
        Status::Indeterminate,
        format!(
            "not checked: {total} hosts are published and only the first {MAX_HOSTS} by preference are checked (too-many-hosts)"
        ),
    );
    HostDecision {
        report: HostReport {
            name: t.host.clone(),
            port: t.port,
            preference: t.preference,
            addresses: Vec::new(),
            tlsa: None,
            no_dane: None,
            verdict: verdict.clone(),
            endpoints: Vec::new(),
            candidate: None,
            addresses_left_out: 0,
        },
        policy: HostPolicy::Unusable { verdict },
    }
}

/// The DNS steps of one host (RFC 7672 2.2.2, 2.2.3; RFC 7671 7): its report with the
/// address and TLSA lookups, the policy, and the addresses to probe.
async fn host_dns<D: Dns>(
    dns: &D,
    rules: &Rules,
    target: Target,
    options: &Options,
) -> (HostReport, HostPolicy, Vec<IpAddr>) {
    let Target {
        host,
        port,
        preference,
        insecure,
        not_probed: _,
    } = target;
    let host = host.as_str();
    let mut addresses = Vec::new();
    for family in &options.families {
        addresses.push(AddressLookup {
            servers: None,
            rtype: match family {
                Family::V4 => "A",
                Family::V6 => "AAAA",
            },
            lookup: dns.addresses(host, *family).await,
        });
    }
    let refs: Vec<&Lookup<IpAddr>> = addresses.iter().map(|a| &a.lookup).collect();
    let mut report = HostReport {
        name: host.to_owned(),
        port,
        preference,
        addresses: Vec::new(),
        tlsa: None,
        no_dane: None,
        verdict: Verdict::new(Status::Indeterminate, "not checked"),
        endpoints: Vec::new(),
        candidate: None,
        addresses_left_out: 0,
    };
    let (policy, targets) = match host::address_step(insecure, host, &refs) {
        AddressStep::Unusable { verdict } => {
            report.addresses = addresses;
            return (report, HostPolicy::Unusable { verdict }, Vec::new());
        }
        AddressStep::NoDane { why, addresses } => (HostPolicy::NoDane { why }, addresses),
        AddressStep::LookupTlsa { bases, addresses } => {
            let mut lookups = Vec::new();
            let policy = loop {
                match host::tlsa_step(rules, host, &bases, &lookups) {
                    // RFC 4034 6.3: records in canonical order, whatever order the
                    // resolver (or the file) gave them in, so every output numbers them
                    // the same way.
                    TlsaStep::Query { owner } => {
                        lookups.push(canonical_lookup(match &options.tlsa_override {
                            Some(set) => override_lookup(&owner, set),
                            None => dns.tlsa(&owner).await,
                        }))
                    }
                    TlsaStep::Decided(p) => break p,
                }
            };
            let (base, usable) = match &policy {
                HostPolicy::Dane { base, usable, .. } => (Some(base.clone()), Some(*usable)),
                _ => (None, None),
            };
            // The original name's TLSA too, when the expanded one is used: only to warn when
            // the two differ (a sender never looks there).
            let original = match (&base, &options.tlsa_override) {
                (Some(b), None) if *b != fqdn(host) => {
                    Some(canonical_lookup(dns.tlsa(&rules.owner(host)).await))
                }
                _ => None,
            };
            report.tlsa = Some(TlsaReport {
                lookups,
                base,
                usable,
                source: if options.tlsa_override.is_some() {
                    "file"
                } else {
                    "dns"
                },
                original,
                servers: None,
            });
            (policy, addresses)
        }
    };
    report.addresses = addresses;
    (report, policy, targets)
}

/// The report of a host that policy keeps from being looked up and probed: not protected
/// when DANE does not apply to it anyway (an insecure SRV), else indeterminate.
fn not_probed(target: &Target, why: &str) -> HostReport {
    let (status, no_dane) = match &target.insecure {
        Some(n) => (Status::NotProtected, Some(n.clone())),
        None => (Status::Indeterminate, None),
    };
    HostReport {
        name: target.host.clone(),
        port: target.port,
        preference: target.preference,
        addresses: Vec::new(),
        tlsa: None,
        no_dane,
        verdict: Verdict::new(status, why),
        endpoints: Vec::new(),
        candidate: None,
        addresses_left_out: 0,
    }
}

async fn check_host<D: Dns, P: Prober>(
    dns: Arc<D>,
    prober: Arc<P>,
    limit: Arc<Semaphore>,
    rules: &Rules,
    protocol: Protocol,
    target: Target,
    options: &Options,
) -> HostReport {
    let port = target.port;
    if let Some(why) = &target.not_probed {
        return not_probed(&target, why);
    }
    let (mut report, policy, targets) = host_dns(&*dns, rules, target, options).await;
    let host = report.name.clone();
    let host = host.as_str();
    if let HostPolicy::Unusable { verdict } = &policy {
        report.verdict = verdict.clone();
        return report;
    }
    if let HostPolicy::NoDane { why } = &policy {
        report.no_dane = Some(why.clone());
    }
    if let Some(candidate) = &options.candidate {
        report.candidate = host::candidate_verdict(rules, host, &policy, candidate, options.now)
            .map(|v| CandidateReport {
                publish: match v.verdict.status {
                    Status::Verified => Vec::new(),
                    _ => host::records_to_publish(rules, &policy, candidate),
                },
                verdict: v.verdict,
                tlsa_match: v.matched,
            });
        if options.tlsa_override.is_none() {
            // The candidate question needs no connection to the servers.
            report.verdict = match (&report.candidate, &report.no_dane) {
                (Some(c), _) => c.verdict.clone(),
                (None, Some(why)) => Verdict::new(Status::NotProtected, why.describe(host)),
                (None, None) => Verdict::new(Status::Indeterminate, "not checked"),
            };
            return report;
        }
    }
    // RFC 7672 8.1, RFC 7671 8.1: SNI is the TLSA base domain under DANE; the host name
    // otherwise.
    let sni = match &policy {
        HostPolicy::Dane { base, .. } => base.trim_end_matches('.').to_owned(),
        _ => host.trim_end_matches('.').to_owned(),
    };
    let mut targets = targets;
    let mut left_out = 0;
    if targets.len() > MAX_ADDRESSES {
        left_out = targets.len() - MAX_ADDRESSES;
        targets.truncate(MAX_ADDRESSES);
    }
    let cx = ProbeCx {
        prober,
        limit,
        policy: Arc::new(policy),
        sni,
        host: host.to_owned(),
        rules: rules.clone(),
        now: options.now,
        all_certs: options.all_certs,
        port,
        protocol,
        // ARCHITECTURE.md invariant 9: the operator's `--host` is probed wherever it
        // points; hosts that DNS named, only within the address policy.
        addresses: match options.host {
            Some(_) => AddressPolicy::AllowAll,
            None => options.address_policy,
        },
    };
    let mut tasks = JoinSet::new();
    for (index, address) in targets.iter().copied().enumerate() {
        let cx = cx.clone();
        tasks.spawn(async move { (index, cx.run(address).await) });
    }
    let mut endpoints: Vec<Option<Vec<EndpointReport>>> = vec![None; targets.len()];
    let mut probes: Vec<(usize, SocketAddr, Probe)> = Vec::new();
    let joining = async {
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, judged)) = joined {
                let mut list = Vec::with_capacity(judged.len());
                for (e, probe) in judged {
                    // Only chains that authenticate with the validated RRset are asked
                    // about again with each server's: the others fail whatever the
                    // servers say.
                    if e.verdict.status == Status::Verified {
                        probes.push((index, SocketAddr::new(e.address, e.port), probe));
                    }
                    list.push(e);
                }
                if let Some(slot) = endpoints.get_mut(index) {
                    *slot = Some(list);
                }
            }
        }
    };
    // The servers are asked while the probes run.
    let server_owner = servers_owner(&report, &cx.policy, options);
    let asking = async {
        match &server_owner {
            Some(owner) => dns.tlsa_servers(owner).await,
            None => None,
        }
    };
    let address_questions = address_questions(&report, server_owner.is_some());
    let asking_addresses = ask_address_servers(dns.clone(), &address_questions);
    let ((), views, address_views) = tokio::join!(joining, asking, asking_addresses);
    // Address order, whatever order the probes finished in: the first failing endpoint
    // named is the same on every run (and on a replay).
    probes.sort_by_key(|(index, _, _)| *index);
    let probes: Vec<(SocketAddr, Probe)> = probes.into_iter().map(|(_, a, p)| (a, p)).collect();
    // A probe task that panicked is a bug: its address is reported, never dropped.
    report.endpoints = endpoints
        .into_iter()
        .zip(&targets)
        .flat_map(|(e, address)| e.unwrap_or_else(|| vec![unfinished(host, *address, port)]))
        .collect();
    if let (Some(owner), Some(views), Some(tlsa)) = (server_owner, views, report.tlsa.as_mut()) {
        tlsa.servers = Some(judge_servers(
            rules, host, &cx.policy, &owner, &views, &probes, options,
        ));
    }
    judge_address_servers(&cx, &mut report, address_questions, address_views, options).await;
    let parts = report
        .endpoints
        .iter()
        .map(|e| &e.verdict)
        .chain(report.candidate.iter().map(|c| &c.verdict))
        .chain(server_failures(&report));
    report.verdict = combine(parts).unwrap_or_else(|| {
        Verdict::new(
            Status::Indeterminate,
            format!("{host}: no endpoint could be probed"),
        )
    });
    report.addresses_left_out = left_out;
    report
}

/// The endpoint of an address whose probe task did not finish (a bug, reported).
fn unfinished(host: &str, address: IpAddr, port: u16) -> EndpointReport {
    EndpointReport {
        address,
        port,
        verdict: Verdict::new(
            Status::Indeterminate,
            format!("{host} {address}: internal error: the probe did not finish"),
        ),
        tls: None,
        chain: Vec::new(),
        tlsa_match: None,
        algorithm: None,
        offered: None,
        other_offers: Vec::new(),
        publish: Vec::new(),
        fix: None,
        cached: false,
    }
}

/// What probing one address of a host needs: the prober, the run's probe limit, and the
/// host's policy and names.
struct ProbeCx<P> {
    prober: Arc<P>,
    limit: Arc<Semaphore>,
    policy: Arc<HostPolicy>,
    sni: String,
    host: String,
    rules: Rules,
    now: UnixTime,
    all_certs: bool,
    port: u16,
    protocol: Protocol,
    addresses: AddressPolicy,
}

impl<P> Clone for ProbeCx<P> {
    fn clone(&self) -> Self {
        ProbeCx {
            prober: self.prober.clone(),
            limit: self.limit.clone(),
            policy: self.policy.clone(),
            sni: self.sni.clone(),
            host: self.host.clone(),
            rules: self.rules.clone(),
            now: self.now,
            all_certs: self.all_certs,
            port: self.port,
            protocol: self.protocol,
            addresses: self.addresses,
        }
    }
}

impl<P: Prober> ProbeCx<P> {
    /// Probes `address` (every chain it holds, with `all_certs`) and judges each chain:
    /// one endpoint per chain, each beside the probe it came from.
    async fn run(self, address: IpAddr) -> Vec<(EndpointReport, Probe)> {
        let refused = self.addresses.check(address).err();
        let permit = match refused {
            Some(_) => None,
            None => Some(self.limit.clone().acquire_owned().await),
        };
        let failed = |failure, detail: String| multicert::AddressProbes {
            seen: vec![multicert::Seen {
                offer: None,
                result: ProbeResult {
                    probe: Probe::Failed { failure, detail },
                    tls: None,
                    chain: Vec::new(),
                    cached: false,
                },
            }],
            offers: Vec::new(),
        };
        let probes = match (refused, permit) {
            // A refused address is reported as such, never dropped.
            (Some(refused), _) => failed(ProbeFailure::NotPermitted, refused.to_string()),
            (_, Some(Ok(_permit))) => {
                let request = ProbeRequest {
                    address,
                    port: self.port,
                    sni: self.sni.clone(),
                    protocol: self.protocol,
                    service_domain: self.rules.service_domain.clone(),
                    offer: None,
                };
                multicert::probe_address(&*self.prober, request, self.all_certs).await
            }
            (_, _) => failed(
                ProbeFailure::Unreachable,
                "the run was shut down before this probe".into(),
            ),
        };
        let cx = multicert::HostContext {
            rules: &self.rules,
            host: &self.host,
            policy: &self.policy,
            now: self.now,
        };
        let several = probes.seen.len() > 1;
        // Each chain's probe is kept beside its endpoint: the servers' RRsets are judged
        // against it too.
        let mut endpoint: Vec<(EndpointReport, Probe)> = probes
            .seen
            .into_iter()
            .map(|seen| {
                let probe = seen.result.probe.clone();
                let judged = multicert::judge_chain(&cx, address, self.port, seen, several);
                (judged, probe)
            })
            .collect();
        if let Some((first, _)) = endpoint.first_mut() {
            first.other_offers = probes.offers;
        }
        endpoint
    }
}

/// The address RRsets whose zones' servers are asked ([`Options::each_server`]): each
/// secure, non-empty address lookup of a host DANE applies to (`dane`: the host's TLSA
/// servers are asked), by its index in the host's address lookups, at the end of its
/// CNAME chain.
fn address_questions(report: &HostReport, dane: bool) -> Vec<(usize, String, Family)> {
    if !dane {
        return Vec::new();
    }
    report
        .addresses
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.lookup.security == Security::Secure && matches!(a.lookup.answer, Answer::Records(_))
        })
        .map(|(i, a)| {
            let family = if a.rtype == "AAAA" {
                Family::V6
            } else {
                Family::V4
            };
            (i, a.lookup.canonical.clone(), family)
        })
        .collect()
}

type AddressViews = Vec<(usize, Result<crate::servers::ServerViews<IpAddr>, String>)>;

/// Every question of [`address_questions`] asked at once.
async fn ask_address_servers<D: Dns>(
    dns: Arc<D>,
    questions: &[(usize, String, Family)],
) -> AddressViews {
    let mut tasks = JoinSet::new();
    for (i, name, family) in questions.iter().cloned() {
        let dns = dns.clone();
        tasks.spawn(async move { (i, dns.address_servers(&name, family).await) });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, Some(views))) = joined {
            out.push((i, views));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

/// Every server of each address RRset's zone judged against the validated RRset. An
/// address a server serves that was not probed (a stale secondary's old address) is
/// probed now, with the host's policy, so the row says whether senders connecting there
/// authenticate (RFC 7672 2.2.2: every address of the host is one a sender may use).
async fn judge_address_servers<P: Prober>(
    cx: &ProbeCx<P>,
    report: &mut HostReport,
    questions: Vec<(usize, String, Family)>,
    views: AddressViews,
    options: &Options,
) {
    let probed: Vec<IpAddr> = report.endpoints.iter().map(|e| e.address).collect();
    let mut extra: Vec<IpAddr> = Vec::new();
    for (_, v) in &views {
        for server in v.iter().flat_map(|v| &v.servers) {
            if let crate::servers::ServerAnswer::Answered(Lookup {
                security: Security::Secure,
                answer: Answer::Records(set),
                ..
            }) = &server.answer
            {
                for a in set {
                    if !probed.contains(a) && !extra.contains(a) && extra.len() < MAX_ADDRESSES {
                        extra.push(*a);
                    }
                }
            }
        }
    }
    let mut tasks = JoinSet::new();
    for address in extra {
        let cx = cx.clone();
        tasks.spawn(async move { cx.run(address).await });
    }
    let mut extra_endpoints: Vec<EndpointReport> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(judged) = joined {
            extra_endpoints.extend(judged.into_iter().map(|(e, _)| e));
        }
    }
    let host = report.name.clone();
    let fails = |address: IpAddr| {
        let at: Vec<&EndpointReport> = report
            .endpoints
            .iter()
            .chain(&extra_endpoints)
            .filter(|e| e.address == address)
            .collect();
        if at.is_empty() {
            return Some(format!(
                "{host} {address}: not probed (more addresses than the bound of {MAX_ADDRESSES})"
            ));
        }
        at.iter()
            .find(|e| e.verdict.status != Status::Verified)
            .map(|e| e.verdict.reason.clone())
    };
    let mut judged = Vec::new();
    for (i, v) in views {
        let Some((_, name, _)) = questions.iter().find(|(q, _, _)| *q == i) else {
            continue;
        };
        let Some(lookup) = report.addresses.get(i) else {
            continue;
        };
        let validated = match &lookup.lookup.answer {
            Answer::Records(set) => set.clone(),
            _ => Vec::new(),
        };
        let rtype = lookup.rtype;
        let check = crate::servers::judge(
            name,
            rtype,
            &validated,
            &v,
            options.now.as_secs(),
            options.thresholds.rrsig,
            |answer| crate::servers::address_effect(&host, rtype, answer, fails),
        );
        judged.push((i, check));
    }
    for (i, check) in judged {
        if let Some(a) = report.addresses.get_mut(i) {
            a.servers = Some(check);
        }
    }
}

/// The domain whose MX RRset's zone's servers are asked ([`Options::each_server`]): an
/// SMTP check of the domain's MX hosts whose MX RRset is secure with records (DANE applies
/// to the hosts it names, RFC 7672 2.2.1), at the end of its CNAME chain; `None`
/// otherwise (`--host`, a candidate set from a file, a candidate, an insecure or implicit
/// MX).
fn mx_servers_owner(report: &Report, service: &Service, options: &Options) -> Option<String> {
    // A candidate judged without probing (`options.candidate` alone) asks no server, as
    // the hosts' TLSA servers are not asked then either.
    if !options.each_server
        || !service.mx
        || options.host.is_some()
        || options.tlsa_override.is_some()
        || options.candidate.is_some()
    {
        return None;
    }
    let mx = report.mx.as_ref()?;
    let secure_records =
        mx.security == Security::Secure && matches!(&mx.answer, Answer::Records(_));
    secure_records.then(|| mx.canonical.clone())
}

/// Every server of the MX RRset's zone judged against the validated MX RRset: a server
/// whose MX set names a host this check did not verify, or a null MX, or that denies the
/// domain, makes the senders asking it fail ([`crate::servers::mx_effect`]).
fn judge_mx_servers(
    report: &Report,
    domain: &str,
    views: &Result<crate::servers::ServerViews<Mx>, String>,
    options: &Options,
) -> crate::servers::ServerCheck {
    let validated = match report.mx.as_ref().map(|m| &m.answer) {
        Some(Answer::Records(set)) => set.clone(),
        _ => Vec::new(),
    };
    let owner = report
        .mx
        .as_ref()
        .map_or_else(|| domain.to_owned(), |m| m.canonical.clone());
    let checked = |h: &str| report.hosts.iter().any(|x| x.name == fqdn(h));
    crate::servers::judge(
        &owner,
        "MX",
        &validated,
        views,
        options.now.as_secs(),
        options.thresholds.rrsig,
        |answer| crate::servers::mx_effect(domain, answer, checked),
    )
}

/// The TLSA owner whose zone's servers are asked ([`Options::each_server`]): the end of
/// the CNAME chain of the owner a DANE client uses, when DANE applies with published
/// (secure) records; `None` otherwise (a candidate set from a file is not on any server).
fn servers_owner(report: &HostReport, policy: &HostPolicy, options: &Options) -> Option<String> {
    if !options.each_server || options.tlsa_override.is_some() {
        return None;
    }
    let HostPolicy::Dane { owner, usable, .. } = policy else {
        return None;
    };
    if *usable == 0 {
        return None;
    }
    let lookup = report
        .tlsa
        .as_ref()?
        .lookups
        .iter()
        .find(|l| l.name == *owner)?;
    Some(lookup.canonical.clone())
}

/// Every server of the TLSA owner's zone judged against the validated RRset, each
/// server's RRset matched against every chain that authenticated with the validated one
/// (the same RFC 7672 / RFC 7671 rules as the endpoint verdicts).
fn judge_servers(
    rules: &Rules,
    host: &str,
    policy: &HostPolicy,
    owner: &str,
    views: &Result<crate::servers::ServerViews, String>,
    probes: &[(SocketAddr, Probe)],
    options: &Options,
) -> crate::servers::ServerCheck {
    let HostPolicy::Dane {
        base,
        records,
        reference_ids,
        owner: policy_owner,
        ..
    } = policy
    else {
        let stale = |_: &Answer<TlsaRecord>| crate::servers::Effect::Stale(String::new());
        return crate::servers::judge(
            owner,
            "TLSA",
            &[],
            views,
            0,
            options.thresholds.rrsig,
            stale,
        );
    };
    let authenticates = |set: &[TlsaRecord]| {
        let alternative = HostPolicy::Dane {
            base: base.clone(),
            owner: policy_owner.clone(),
            records: set.to_vec(),
            usable: set.iter().filter(|r| host::usable(r, rules)).count(),
            reference_ids: reference_ids.clone(),
        };
        probes.iter().find_map(|(address, probe)| {
            let v = host::endpoint_verdict(rules, host, &alternative, probe, options.now).verdict;
            (v.status != Status::Verified).then(|| {
                let rest = v
                    .reason
                    .strip_prefix(&format!("{}: ", fqdn(host)))
                    .unwrap_or(&v.reason);
                format!("{} {address}: {rest}", fqdn(host))
            })
        })
    };
    crate::servers::judge(
        owner,
        "TLSA",
        records,
        views,
        options.now.as_secs(),
        options.thresholds.rrsig,
        |answer| crate::servers::tlsa_effect(answer, authenticates),
    )
}

/// The failures a host's authoritative servers cause (one per server whose TLSA RRset
/// would not authenticate a presented chain, or whose address RRset leads senders to an
/// address that does not authenticate).
fn server_failures(report: &HostReport) -> impl Iterator<Item = &Verdict> {
    crate::report::host_server_checks(report).flat_map(|s| s.failures.iter())
}
