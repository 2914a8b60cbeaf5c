//! Evidence bundles: every DNS message and every probe result a `dane verify` run used,
//! saved (`--save-evidence FILE`) so the run can be replayed offline (`--evidence FILE`)
//! and reach the same verdict, or be judged again at another time (`--at`): the DNS
//! messages are validated again by `dane-dnssec`, the chains matched again by `dane-tlsa`.
//!
//! The file is one JSON document ([`Bundle`], `"kind": "dane-verify-evidence"`, versioned).

use std::net::IpAddr;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex};

use dane_dnssec::{Evidence, Limits, Question, SignatureMemo, Step, TrustAnchors, validate_memo};
use dane_probe::Protocol;
use data_encoding::HEXLOWER;
use hickory_proto::rr::{Name, RecordType};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::{Deserialize, Serialize};

use crate::dns::{Lookup, Mx, Resolution, Security, Srv, fqdn};
use crate::engine::{Dns, Family, ProbeRequest, ProbeResult, Prober};
use crate::host::{Probe, ProbeFailure};
use crate::observe::{cert_info, from_dnssec, parse_ip, parse_mx, parse_srv, parse_tlsa};
use crate::report::TlsInfo;
use crate::servers::{ServerAnswer, ServerView, ServerViews};
use dane_tlsa::{Pkix, TlsaRecord};

/// The `kind` of an evidence file.
pub const KIND: &str = "dane-verify-evidence";
/// The version of the evidence format.
pub const VERSION: u32 = 1;
/// Most items of each kind read from an evidence file (a run asks far fewer).
pub const MAX_ITEMS: usize = 100_000;

/// One DNS question and what the resolver got for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsItem {
    /// The question name.
    pub name: String,
    /// The question type (mnemonic).
    #[serde(rename = "type")]
    pub rtype: String,
    /// The response message, hex, when one was received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<String>,
    /// Why there is no response (timeout, unreachable servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// The PKIX verdict as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum StoredPkix {
    /// Not evaluated.
    NotEvaluated,
    /// Validated (the presented chain).
    Validated,
    /// Failed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// What one probe saw, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StoredProbe {
    /// A handshake completed.
    Tls {
        /// The presented chain, leaf first, DER in hex.
        chain: Vec<String>,
        /// The PKIX verdict.
        pkix: StoredPkix,
        /// TLS parameters.
        tls: Option<TlsInfo>,
    },
    /// No chain.
    Failed {
        /// The class of failure.
        failure: ProbeFailure,
        /// What happened.
        detail: String,
    },
}

/// One probe and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeItem {
    /// The address.
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// The SNI sent.
    pub sni: String,
    /// The protocol spoken (`smtp`, `xmpp-client`, `https`, `tls`, ...).
    pub protocol: String,
    /// The only signature-algorithm family offered (`rsa`, `ecdsa`, `eddsa`); absent for
    /// the usual offer, and in bundles of older versions (which have only those).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<String>,
    /// What was seen.
    pub result: StoredProbe,
}

/// One authoritative server address's answer to a TLSA question, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredServer {
    /// The name server.
    pub ns: String,
    /// The address asked (`192.0.2.1:53`).
    pub address: String,
    /// The zone's SOA serial it served, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<u32>,
    /// Its authoritative response, hex (validated again on replay with the normal path's
    /// DS and DNSKEY from [`Bundle::dns`]), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<String>,
    /// The rcode of an error response (REFUSED, NOTIMP, SERVFAIL, FORMERR, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcode: Option<u8>,
    /// Why there is no usable response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// Every authoritative server of one RRset's zone, as a run asked them
/// ([`crate::servers`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerItem {
    /// The owner asked about.
    pub owner: String,
    /// The type asked about: `TLSA` (the default, and the only one in older bundles),
    /// `MX`, `A` or `AAAA`.
    #[serde(
        rename = "type",
        default = "tlsa_type",
        skip_serializing_if = "is_tlsa_type"
    )]
    pub rtype: String,
    /// The zone, when its servers were found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Why the servers could not be found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Servers and addresses the bounds left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// Why the zone's NS RRset cannot be trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrusted: Option<String>,
    /// Each address asked.
    #[serde(default)]
    pub servers: Vec<StoredServer>,
}

fn tlsa_type() -> String {
    "TLSA".to_owned()
}

fn is_tlsa_type(t: &str) -> bool {
    t == "TLSA"
}

/// A saved run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`KIND`].
    pub kind: String,
    /// [`VERSION`].
    pub version: u32,
    /// The domain checked.
    pub domain: String,
    /// The service (`smtp`, ..., or `custom`).
    pub service: String,
    /// The port, for a custom service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The protocol, for a custom service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// `--host`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// When the run evaluated (seconds since the Unix epoch): the default time of a replay.
    pub at: u64,
    /// The trust anchors used, as DS/DNSKEY lines; `None` for the IANA root anchors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchors: Option<String>,
    /// Every DNS answer used, in canonical name order (RFC 4034 6.1), then by type.
    pub dns: Vec<DnsItem>,
    /// Every probe made.
    pub probes: Vec<ProbeItem>,
    /// Where the DNS answers came from (the resolver or iteration); absent in bundles of
    /// older versions. A replay reports the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// What every authoritative server of each TLSA owner's zone answered (`dane verify`
    /// without `--no-each-server`); absent in older bundles, whose replays ask no server
    /// and report none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<ServerItem>,
}

impl Bundle {
    /// Whether the recorded run probed with restricted offers (`--all-certs`): a replay
    /// asks for them only then, so bundles recorded without them (and by older versions)
    /// replay as they were recorded.
    pub fn all_certs(&self) -> bool {
        self.probes.iter().any(|p| p.offer.is_some())
    }

    /// Reads a bundle, checking its kind, version and size.
    pub fn from_json(text: &str) -> Result<Bundle, String> {
        let b: Bundle =
            serde_json::from_str(text).map_err(|e| format!("not an evidence file: {e}"))?;
        if b.kind != KIND {
            return Err(format!("kind {:?}, expected {KIND:?}", b.kind));
        }
        if b.version != VERSION {
            return Err(format!(
                "version {}, this dane reads version {VERSION}",
                b.version
            ));
        }
        if b.dns.len() > MAX_ITEMS
            || b.probes.len() > MAX_ITEMS
            || b.servers.len() > MAX_ITEMS
            || b.servers.iter().any(|s| s.servers.len() > MAX_ITEMS)
        {
            return Err(format!("more than {MAX_ITEMS} items"));
        }
        Ok(b)
    }

    /// The DNS items as validator evidence.
    pub fn evidence(&self) -> Result<Evidence, String> {
        dns_evidence(&self.dns)
    }
}

/// DNS items (a bundle's, or a [`Recorder`]'s) as validator evidence.
pub fn dns_evidence(items: &[DnsItem]) -> Result<Evidence, String> {
    let mut ev = Evidence::new();
    for item in items {
        let name =
            Name::from_str(&item.name).map_err(|e| format!("DNS item {:?}: {e}", item.name))?;
        let rtype = RecordType::from_str(&item.rtype)
            .map_err(|e| format!("DNS item {} {:?}: {e}", item.name, item.rtype))?;
        let q = Question::new(&name, rtype);
        match (&item.wire, &item.failed) {
            (Some(hex), _) => {
                let wire = HEXLOWER
                    .decode(hex.as_bytes())
                    .map_err(|e| format!("DNS item {} {}: bad hex: {e}", item.name, item.rtype))?;
                ev.insert_wire(q, wire)
                    .map_err(|e| format!("DNS item {} {}: {e}", item.name, item.rtype))?;
            }
            (None, Some(reason)) => ev.insert_failure(q, reason.clone()),
            (None, None) => {
                return Err(format!(
                    "DNS item {} {}: neither a message nor a failure",
                    item.name, item.rtype
                ));
            }
        }
    }
    Ok(ev)
}

/// DNS items in first-asked order, and the questions already in it.
#[derive(Debug, Default)]
struct DnsLog {
    items: Vec<DnsItem>,
    seen: std::collections::HashSet<(String, String)>,
}

/// Collects what a live run used (shared by the recording DNS and probe sources).
#[derive(Debug, Default)]
pub struct Recorder {
    dns: Mutex<DnsLog>,
    probes: Mutex<Vec<ProbeItem>>,
    resolution: Mutex<Option<Resolution>>,
    servers: Mutex<Vec<ServerItem>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }

    /// Adds the items of one lookup's evidence (each question once).
    pub fn add_evidence(&self, evidence: &Evidence) {
        let mut log = self.dns.lock().unwrap_or_else(|p| p.into_inner());
        for (q, answer) in evidence.items() {
            let key = (q.name.to_string(), q.rtype.to_string());
            if !log.seen.insert(key.clone()) {
                continue;
            }
            log.items.push(DnsItem {
                name: key.0,
                rtype: key.1,
                wire: answer.as_ref().ok().map(|w| HEXLOWER.encode(w)),
                failed: answer.as_ref().err().cloned(),
            });
        }
    }

    /// Records the run's resolution path.
    pub fn set_resolution(&self, resolution: Resolution) {
        *self.resolution.lock().unwrap_or_else(|p| p.into_inner()) = Some(resolution);
    }

    /// The run's resolution path, when the DNS source said.
    pub fn resolution(&self) -> Option<Resolution> {
        self.resolution
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Adds what the authoritative servers of one TLSA owner's zone answered (each owner
    /// once).
    pub fn add_servers(&self, item: ServerItem) {
        let mut servers = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        if !servers
            .iter()
            .any(|s| s.owner == item.owner && s.rtype == item.rtype)
        {
            servers.push(item);
        }
    }

    /// The authoritative servers' answers collected, by owner name.
    pub fn take_servers(&self) -> Vec<ServerItem> {
        let mut servers =
            std::mem::take(&mut *self.servers.lock().unwrap_or_else(|p| p.into_inner()));
        servers.sort_by(|a, b| {
            crate::records::canonical_name_cmp(&a.owner, &b.owner).then(a.rtype.cmp(&b.rtype))
        });
        servers
    }

    /// Adds one probe.
    pub fn add_probe(&self, request: &ProbeRequest, result: &ProbeResult) {
        let stored = match &result.probe {
            Probe::Tls { chain, pkix } => StoredProbe::Tls {
                chain: chain.iter().map(|c| HEXLOWER.encode(c.as_ref())).collect(),
                pkix: match pkix {
                    Pkix::NotEvaluated => StoredPkix::NotEvaluated,
                    Pkix::Validated { .. } => StoredPkix::Validated,
                    Pkix::Failed { reason } => StoredPkix::Failed {
                        reason: reason.clone(),
                    },
                },
                tls: result.tls.clone(),
            },
            Probe::Failed { failure, detail } => StoredProbe::Failed {
                failure: *failure,
                detail: detail.clone(),
            },
        };
        self.probes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ProbeItem {
                address: request.address,
                port: request.port,
                sni: request.sni.clone(),
                protocol: request.protocol.name().to_owned(),
                offer: request.offer.map(|f| f.name().to_owned()),
                result: stored,
            });
    }

    /// What was collected: DNS items in canonical name order (RFC 4034 6.1), then by type;
    /// probes sorted by address and port (so a bundle does not depend on the order the
    /// concurrent lookups and probes happened to finish in). Replay looks items up by
    /// question, so the order is for people and diffs only.
    pub fn take(&self) -> (Vec<DnsItem>, Vec<ProbeItem>) {
        let mut dns = std::mem::take(&mut self.dns.lock().unwrap_or_else(|p| p.into_inner()).items);
        dns.sort_by(|a, b| {
            crate::records::canonical_name_cmp(&a.name, &b.name).then_with(|| a.rtype.cmp(&b.rtype))
        });
        let mut probes =
            std::mem::take(&mut *self.probes.lock().unwrap_or_else(|p| p.into_inner()));
        probes.sort_by(|a, b| {
            (a.address, a.port, &a.sni, &a.offer).cmp(&(b.address, b.port, &b.sni, &b.offer))
        });
        (dns, probes)
    }
}

/// The protocol of a stored name.
pub fn protocol_named(name: &str) -> Option<Protocol> {
    [
        Protocol::Smtp,
        Protocol::Imap,
        Protocol::Pop3,
        Protocol::XmppClient,
        Protocol::XmppServer,
        Protocol::Smtps,
        Protocol::Imaps,
        Protocol::Pop3s,
        Protocol::Https,
        Protocol::Tls,
    ]
    .into_iter()
    .find(|p| p.name() == name)
}

/// [`Dns`] over saved evidence: every answer validated again at `now`.
#[derive(Debug)]
pub struct ReplayDns {
    evidence: Evidence,
    anchors: TrustAnchors,
    now: UnixTime,
    limits: Limits,
    memo: SignatureMemo,
    resolution: Option<Resolution>,
    servers: Vec<ServerItem>,
    chains: Option<Arc<crate::chain::Chains>>,
}

impl ReplayDns {
    /// Replays `evidence` with `anchors` at `now`.
    pub fn new(evidence: Evidence, anchors: TrustAnchors, now: UnixTime) -> ReplayDns {
        ReplayDns {
            evidence,
            anchors,
            now,
            limits: Limits::default(),
            memo: SignatureMemo::new(100_000),
            resolution: None,
            servers: Vec::new(),
            chains: None,
        }
    }

    /// Also keeps each lookup's outcome in `chains` (the picture formats draw them).
    pub fn with_chains(mut self, chains: Arc<crate::chain::Chains>) -> ReplayDns {
        self.chains = Some(chains);
        self
    }

    /// Replays the recorded authoritative servers' answers (the bundle's `servers`): each
    /// answer validated again at `now` with the recorded chain of trust.
    pub fn with_servers(mut self, servers: Vec<ServerItem>) -> ReplayDns {
        self.servers = servers;
        self
    }

    /// One recorded server answer, validated as the live run did: the normal path's
    /// evidence with this server's response to `owner rtype` in place of the one used.
    fn server_answer<T>(
        &self,
        owner: &str,
        rtype: RecordType,
        parse: fn(&str) -> Option<T>,
        s: &StoredServer,
    ) -> ServerAnswer<T> {
        match (&s.wire, s.rcode, &s.failed) {
            (Some(hex), _, _) => {
                let answer = Name::from_str(owner)
                    .map_err(|e| e.to_string())
                    .and_then(|name| {
                        let wire = HEXLOWER.decode(hex.as_bytes()).map_err(|e| e.to_string())?;
                        let mut evidence = self.evidence.clone();
                        evidence
                            .insert_wire(Question::new(&name, rtype), wire)
                            .map_err(|e| e.to_string())?;
                        Ok((name, evidence))
                    });
                match answer {
                    Ok((name, evidence)) => ServerAnswer::Answered(
                        self.validate(&evidence, owner, &name, rtype, parse, None),
                    ),
                    Err(e) => {
                        ServerAnswer::NoAnswer(format!("{}: the recorded answer: {e}", s.address))
                    }
                }
            }
            (None, Some(rcode), failed) => ServerAnswer::Rcode {
                rcode,
                detail: failed.clone().unwrap_or_default(),
            },
            (None, None, failed) => ServerAnswer::NoAnswer(failed.clone().unwrap_or_default()),
        }
    }

    /// Reports `resolution` as the recorded run's path (the bundle's `resolution`).
    pub fn with_resolution(mut self, resolution: Option<Resolution>) -> ReplayDns {
        self.resolution = resolution;
        self
    }

    fn lookup<T>(&self, name: &str, rtype: RecordType, parse: fn(&str) -> Option<T>) -> Lookup<T> {
        let name = fqdn(name);
        let indeterminate = |reason: String| Lookup {
            name: name.clone(),
            canonical: name.clone(),
            security: Security::Indeterminate { reason },
            answer: crate::dns::Answer::NoData,
            expires: None,
            inception: None,
            dnssec_warnings: Vec::new(),
        };
        let Ok(qname) = Name::from_str(&name) else {
            return indeterminate(format!("{name:?} is not a DNS name"));
        };
        self.validate(
            &self.evidence,
            &name,
            &qname,
            rtype,
            parse,
            self.chains.as_deref(),
        )
    }

    /// The lookup of `name` validated from `evidence`; its outcome kept in `chains` when
    /// given.
    fn validate<T>(
        &self,
        evidence: &Evidence,
        name: &str,
        qname: &Name,
        rtype: RecordType,
        parse: fn(&str) -> Option<T>,
        chains: Option<&crate::chain::Chains>,
    ) -> Lookup<T> {
        match validate_memo(
            evidence,
            &self.anchors,
            qname,
            rtype,
            self.now,
            &self.limits,
            &self.memo,
        ) {
            Step::Done(outcome) => {
                let lookup = from_dnssec(name, rtype, &outcome, parse);
                if let Some(c) = chains {
                    c.keep(name, rtype, *outcome);
                }
                lookup
            }
            Step::Need(q) => Lookup {
                name: name.to_owned(),
                canonical: name.to_owned(),
                security: Security::Indeterminate {
                    reason: format!(
                        "the evidence file has no answer for {} {} (recorded with other settings?)",
                        q.name, q.rtype
                    ),
                },
                answer: crate::dns::Answer::NoData,
                expires: None,
                inception: None,
                dnssec_warnings: Vec::new(),
            },
        }
    }
}

impl Dns for ReplayDns {
    async fn mx(&self, domain: &str) -> Lookup<Mx> {
        self.lookup(domain, RecordType::MX, parse_mx)
    }

    async fn addresses(&self, host: &str, family: Family) -> Lookup<IpAddr> {
        match family {
            Family::V4 => self.lookup(host, RecordType::A, parse_ip),
            Family::V6 => self.lookup(host, RecordType::AAAA, parse_ip),
        }
    }

    async fn tlsa(&self, owner: &str) -> Lookup<TlsaRecord> {
        self.lookup(owner, RecordType::TLSA, parse_tlsa)
    }

    async fn srv(&self, name: &str) -> Lookup<Srv> {
        self.lookup(name, RecordType::SRV, parse_srv)
    }

    async fn resolution(&self) -> Option<Resolution> {
        self.resolution.clone()
    }

    /// The recorded servers of `owner`'s zone; `None` (nothing asked, nothing reported)
    /// when the run recorded none (`--no-each-server`, or a bundle from before).
    async fn tlsa_servers(&self, owner: &str) -> Option<Result<ServerViews, String>> {
        self.recorded_servers(owner, RecordType::TLSA, parse_tlsa)
    }

    async fn mx_servers(&self, domain: &str) -> Option<Result<ServerViews<Mx>, String>> {
        self.recorded_servers(domain, RecordType::MX, parse_mx)
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
        self.recorded_servers(host, rtype, parse_ip)
    }
}

impl ReplayDns {
    /// The recorded servers of the zone of `owner`'s `rtype` RRset; `None` when the run
    /// recorded none.
    fn recorded_servers<T>(
        &self,
        owner: &str,
        rtype: RecordType,
        parse: fn(&str) -> Option<T>,
    ) -> Option<Result<ServerViews<T>, String>> {
        let owner = fqdn(owner);
        let item = self
            .servers
            .iter()
            .find(|s| fqdn(&s.owner) == owner && s.rtype == rtype.to_string())?;
        if let Some(e) = &item.error {
            return Some(Err(e.clone()));
        }
        Some(Ok(ServerViews {
            zone: item.zone.clone().unwrap_or_default(),
            servers: item
                .servers
                .iter()
                .map(|s| ServerView {
                    ns: s.ns.clone(),
                    address: s.address.clone(),
                    serial: s.serial,
                    answer: self.server_answer(&owner, rtype, parse, s),
                })
                .collect(),
            left_out: item.left_out.clone(),
            untrusted: item.untrusted.clone(),
        }))
    }
}

/// [`Prober`] over saved probe results.
#[derive(Debug)]
pub struct ReplayProber {
    probes: Vec<ProbeItem>,
}

impl ReplayProber {
    /// Replays `probes`.
    pub fn new(probes: Vec<ProbeItem>) -> ReplayProber {
        ReplayProber { probes }
    }
}

impl Prober for ReplayProber {
    async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
        let found = self.probes.iter().find(|p| {
            p.address == request.address
                && p.port == request.port
                && p.sni == request.sni
                && p.protocol == request.protocol.name()
                && p.offer.as_deref() == request.offer.map(|f| f.name())
        });
        let Some(item) = found else {
            return ProbeResult {
                probe: Probe::Failed {
                    failure: ProbeFailure::Unreachable,
                    detail: format!(
                        "the evidence file has no probe of {}:{} with SNI {}{}",
                        request.address,
                        request.port,
                        request.sni,
                        request
                            .offer
                            .map(|f| format!(" offering only {f}"))
                            .unwrap_or_default()
                    ),
                },
                tls: None,
                chain: Vec::new(),
                cached: false,
            };
        };
        match &item.result {
            StoredProbe::Failed { failure, detail } => ProbeResult {
                probe: Probe::Failed {
                    failure: *failure,
                    detail: detail.clone(),
                },
                tls: None,
                chain: Vec::new(),
                cached: false,
            },
            StoredProbe::Tls { chain, pkix, tls } => {
                let mut ders = Vec::new();
                for hex in chain {
                    match HEXLOWER.decode(hex.as_bytes()) {
                        Ok(der) => ders.push(CertificateDer::from(der)),
                        Err(e) => {
                            return ProbeResult {
                                probe: Probe::Failed {
                                    failure: ProbeFailure::ProtocolViolation,
                                    detail: format!("the evidence file's chain is not hex: {e}"),
                                },
                                tls: None,
                                chain: Vec::new(),
                                cached: false,
                            };
                        }
                    }
                }
                let pkix = match pkix {
                    StoredPkix::NotEvaluated => Pkix::NotEvaluated,
                    StoredPkix::Validated => Pkix::Validated { path: Vec::new() },
                    StoredPkix::Failed { reason } => Pkix::Failed {
                        reason: reason.clone(),
                    },
                };
                let chain = ders.iter().map(cert_info).collect();
                ProbeResult {
                    probe: Probe::Tls { chain: ders, pkix },
                    tls: tls.clone(),
                    chain,
                    cached: false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        for (text, says) in [
            ("", "not an evidence file"),
            ("{}", "not an evidence file"),
            (
                r#"{"kind":"x","version":1,"domain":"a.","service":"smtp","at":0,"dns":[],"probes":[]}"#,
                "kind",
            ),
            (
                r#"{"kind":"dane-verify-evidence","version":9,"domain":"a.","service":"smtp","at":0,"dns":[],"probes":[]}"#,
                "version 9",
            ),
        ] {
            let e = Bundle::from_json(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        let b = Bundle::from_json(
            r#"{"kind":"dane-verify-evidence","version":1,"domain":"a.","service":"smtp","at":0,
               "dns":[{"name":"a.","type":"MX","wire":"zz"}],"probes":[]}"#,
        )
        .unwrap();
        assert!(b.evidence().unwrap_err().contains("bad hex"));
        let b = Bundle::from_json(
            r#"{"kind":"dane-verify-evidence","version":1,"domain":"a.","service":"smtp","at":0,
               "dns":[{"name":"a.","type":"MX","wire":"0000"}],"probes":[]}"#,
        )
        .unwrap();
        assert!(b.evidence().is_err(), "a truncated message is refused");
    }

    /// The servers of each RRset are recorded apart by type (TLSA, MX, A, AAAA) and
    /// replayed only for that question; an item without `type` (older bundles) is TLSA.
    #[tokio::test]
    async fn server_answers_replay_by_owner_and_type() {
        let item = |owner: &str, rtype: &str, rcode: u8| ServerItem {
            owner: owner.into(),
            rtype: rtype.into(),
            zone: Some("example.".into()),
            error: None,
            left_out: Vec::new(),
            untrusted: None,
            servers: vec![StoredServer {
                ns: "ns2.example.".into(),
                address: "192.0.2.53:53".into(),
                serial: Some(7),
                wire: None,
                rcode: Some(rcode),
                failed: Some(format!("rcode {rcode}")),
            }],
        };
        let recorder = Recorder::new();
        recorder.add_servers(item("example.", "MX", 5));
        recorder.add_servers(item("mx.example.", "A", 2));
        recorder.add_servers(item("_25._tcp.mx.example.", "TLSA", 4));
        // The same question twice is recorded once.
        recorder.add_servers(item("example.", "MX", 1));
        let items = recorder.take_servers();
        assert_eq!(items.len(), 3, "{items:?}");
        let text = serde_json::to_string(&items).unwrap();
        assert!(text.contains(r#""type":"MX""#) && !text.contains(r#""type":"TLSA""#));
        let items: Vec<ServerItem> = serde_json::from_str(&text).unwrap();
        let old: ServerItem = serde_json::from_str(
            r#"{"owner":"_25._tcp.old.example.","servers":[{"ns":"n.","address":"192.0.2.9:53","failed":"timed out"}]}"#,
        )
        .unwrap();
        assert_eq!(old.rtype, "TLSA");
        let mut all = items;
        all.push(old);
        let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000));
        let dns = ReplayDns::new(Evidence::new(), TrustAnchors::iana_root(), at).with_servers(all);
        fn rcode<T: std::fmt::Debug>(v: Option<Result<ServerViews<T>, String>>) -> Option<u8> {
            match v {
                Some(Ok(v)) => match &v.servers[0].answer {
                    ServerAnswer::Rcode { rcode, .. } => Some(*rcode),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(rcode(dns.mx_servers("example.").await), Some(5));
        assert_eq!(
            rcode(dns.address_servers("mx.example.", Family::V4).await),
            Some(2)
        );
        assert_eq!(
            rcode(dns.tlsa_servers("_25._tcp.mx.example.").await),
            Some(4)
        );
        // Not recorded: nothing asked, nothing reported.
        assert!(
            dns.address_servers("mx.example.", Family::V6)
                .await
                .is_none()
        );
        assert!(dns.mx_servers("mx.example.").await.is_none());
        assert!(dns.tlsa_servers("_25._tcp.old.example.").await.is_some());
    }

    #[tokio::test]
    async fn probes_replay_as_recorded() {
        let chain =
            dane_tlsa::parse_certificates(include_bytes!("../../../fixtures/pki/chain-rsa.pem"))
                .unwrap();
        let request = |address: &str, protocol| ProbeRequest {
            address: address.parse().unwrap(),
            port: 25,
            sni: "mx1.example.test".into(),
            protocol,
            service_domain: "example.test.".into(),
            offer: None,
        };
        let tls = ProbeResult {
            probe: Probe::Tls {
                chain: chain.clone(),
                pkix: Pkix::Failed {
                    reason: "unknown issuer".into(),
                },
            },
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
                group: Some("X25519".into()),
            }),
            chain: vec![],
            cached: false,
        };
        let failed = ProbeResult {
            probe: Probe::Failed {
                failure: ProbeFailure::StarttlsNotOffered,
                detail: "no STARTTLS".into(),
            },
            tls: None,
            chain: vec![],
            cached: false,
        };
        let recorder = Recorder::new();
        recorder.add_probe(&request("192.0.2.1", Protocol::Smtp), &tls);
        recorder.add_probe(&request("2001:db8::1", Protocol::Smtp), &failed);
        let (_, probes) = recorder.take();
        let text = serde_json::to_string(&probes).unwrap();
        let replay = ReplayProber::new(serde_json::from_str(&text).unwrap());
        let got = replay.probe(&request("192.0.2.1", Protocol::Smtp)).await;
        assert_eq!(got.probe, tls.probe);
        assert_eq!(got.tls, tls.tls);
        assert_eq!(got.chain.len(), 2, "summaries recomputed from the DER");
        assert!(got.chain[0].subject.contains("mx1.example.test"));
        assert_eq!(
            replay.probe(&request("2001:db8::1", Protocol::Smtp)).await,
            failed
        );
        // Another protocol or address was not recorded: said so, never invented.
        let other = replay.probe(&request("192.0.2.1", Protocol::Smtps)).await;
        assert!(
            matches!(other.probe, Probe::Failed { failure: ProbeFailure::Unreachable, ref detail } if detail.contains("no probe"))
        );
    }

    #[tokio::test]
    async fn restricted_offers_are_recorded_apart_and_old_bundles_have_none() {
        let rsa =
            dane_tlsa::parse_certificates(include_bytes!("../../../fixtures/pki/chain-rsa.pem"))
                .unwrap();
        let ec =
            dane_tlsa::parse_certificates(include_bytes!("../../../fixtures/pki/chain-ec.pem"))
                .unwrap();
        let request = |offer| ProbeRequest {
            address: "192.0.2.1".parse().unwrap(),
            port: 25,
            sni: "mx1.example.test".into(),
            protocol: Protocol::Smtp,
            service_domain: "example.test.".into(),
            offer,
        };
        let tls = |chain: &Vec<CertificateDer<'static>>| ProbeResult {
            probe: Probe::Tls {
                chain: chain.clone(),
                pkix: Pkix::NotEvaluated,
            },
            tls: None,
            chain: vec![],
            cached: false,
        };
        let recorder = Recorder::new();
        recorder.add_probe(&request(Some(dane_probe::KeyFamily::Ecdsa)), &tls(&ec));
        recorder.add_probe(&request(None), &tls(&rsa));
        let (_, probes) = recorder.take();
        assert_eq!(probes[0].offer, None, "the usual offer sorts first");
        assert_eq!(probes[1].offer.as_deref(), Some("ecdsa"));
        let text = serde_json::to_string(&probes).unwrap();
        let replay = ReplayProber::new(serde_json::from_str(&text).unwrap());
        let usual = replay.probe(&request(None)).await;
        let ecdsa = replay
            .probe(&request(Some(dane_probe::KeyFamily::Ecdsa)))
            .await;
        assert!(matches!(usual.probe, Probe::Tls { ref chain, .. } if *chain == rsa));
        assert!(matches!(ecdsa.probe, Probe::Tls { ref chain, .. } if *chain == ec));
        let eddsa = replay
            .probe(&request(Some(dane_probe::KeyFamily::Eddsa)))
            .await;
        assert!(
            matches!(eddsa.probe, Probe::Failed { ref detail, .. } if detail.ends_with("offering only EdDSA")),
            "{eddsa:?}"
        );
        // A bundle recorded before restricted offers existed: no `offer`, so a replay
        // makes none and reaches the recorded verdict.
        let old = Bundle::from_json(
            r#"{"kind":"dane-verify-evidence","version":1,"domain":"a.","service":"smtp","at":0,
               "dns":[],"probes":[{"address":"192.0.2.1","port":25,"sni":"a","protocol":"smtp",
               "result":{"kind":"failed","failure":"timeout","detail":"t"}}]}"#,
        )
        .unwrap();
        assert!(!old.all_certs());
        assert_eq!(old.probes[0].offer, None);
    }

    #[test]
    fn protocols_round_trip_by_name() {
        for p in [
            Protocol::Smtp,
            Protocol::XmppServer,
            Protocol::Https,
            Protocol::Tls,
        ] {
            assert_eq!(protocol_named(p.name()), Some(p));
        }
        assert_eq!(protocol_named("gopher"), None);
    }
}
