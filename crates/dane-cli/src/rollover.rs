//! `dane rollover stage|status|promote`: a "current + next" key rollover (RFC 6698 A.4,
//! RFC 7671 8.1). The decisions are `dane_check::rollover`'s; this module parses the
//! arguments, reads the files and the clock (once; `--at` replaces it), asks the network
//! through dane-resolver and the engine, renders and maps the result to the exit code.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{ArgGroup, Args as ClapArgs, Subcommand};
use dane_check::live::{LiveDns, LiveProber};
use dane_check::rollover::HostTarget;
use dane_check::rollover::key::KeyType;
use dane_check::rollover::readiness::{
    self, HostInput, HostObservation, Readiness, RolloverStatus,
};
use dane_check::rollover::rrset;
use dane_check::rollover::state::{Retired, State};
use dane_tlsa::{CertUsage, MatchingType, Selector, Source, Spki, TlsaRecord};
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

use crate::checkopts::{LookupOpts, ProbeOpts};
use crate::probe::StartTls;
use crate::rollover_files as files;
use crate::rollover_update::{self as update, UpdateOpts, UpdateReport};
use crate::verify::{ProbeTargetOpts, TargetOpts};
use crate::{Context, Exit, clock, term};

/// `dane rollover`
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create (or take) the next key and print the TLSA RRset to publish: current + next.
    Stage(Box<StageArgs>),
    /// Is the next key's record on every authoritative server, validated, for longer than
    /// the TTL? Exit 0 ready, 5 waiting, 1 blocked, 3 indeterminate.
    Status(Box<StatusArgs>),
    /// After the switch: check every server presents the next key, make it current, stage
    /// a new next key, and print the RRset to publish.
    Promote(Box<PromoteArgs>),
}

/// How many CNAMEs at a TLSA owner `status` follows to the servers of the target's zone
/// (the chain of a DANE client is bounded too; past this the last answers are judged as
/// they are: a CNAME, reported as such).
const MAX_OWNER_CNAMES: usize = 8;

const ROLLOVER_HELP: &str = "\
Exit status: 0 ready (status, --check-only: the switch is safe) or done (stage, promote);
1 blocked (a server without the record, a bogus or unsigned answer, a host whose RRset lacks
it; promote: a server that does not present the next key yet; an update refused: TSIG, a
prerequisite, the primary's policy); 2 bad input (flags, key files, a corrupt or unwritable
state file, a key file that exists already); 3 indeterminate (servers or endpoints that could
not be asked or that the bounds left out, an NS RRset that is not secure in a signed zone,
--deadline passed); 5 waiting (published everywhere, the TTL and margin not passed yet).";

/// `dane rollover stage`
#[derive(Debug, ClapArgs)]
#[command(group(ArgGroup::new("current").args(["key", "cert"]).required(true)))]
#[command(after_help = ROLLOVER_HELP)]
pub struct StageArgs {
    /// The current private key (PKCS#8, PKCS#1, SEC1).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The current certificate (PEM or DER; the leaf is the first).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The TLSA base domain (the MX host).
    #[arg(long, value_name = "HOST")]
    pub name: String,
    /// The port of the TLSA owner `_PORT._tcp.HOST`.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub port: u16,
    /// The next key: used when the file exists (never overwritten), created there
    /// otherwise. Default: STEM.next.key beside --key/--cert, which must not exist.
    #[arg(long, value_name = "FILE")]
    pub next_key: Option<PathBuf>,
    /// The type of a key created: p256, rsa2048, rsa3072, ed25519 (public ACME CAs do
    /// not issue for Ed25519).
    #[arg(long, value_name = "TYPE", default_value = "p256")]
    pub key_type: String,
    /// The issuer's chain (leaf first, or the issuer alone after the leaf): adds its
    /// `2 1 1` record as an optional third.
    #[arg(long, value_name = "FILE")]
    pub chain: Option<PathBuf>,
    /// A key no longer in use (repeatable): its `3 1 1` is left out and, with --update,
    /// deleted (for ACME clients that move their key files themselves, e.g. dehydrated).
    #[arg(long, value_name = "FILE")]
    pub retire_key: Vec<PathBuf>,
    /// Publishing.
    #[command(flatten)]
    pub update: UpdateOpts,
    /// One JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `dane rollover status`
#[derive(Debug, ClapArgs)]
#[command(after_help = ROLLOVER_HELP)]
pub struct StatusArgs {
    /// The domain: the mail domain for smtp (its MX hosts are checked), the service domain
    /// otherwise (its SRV targets, or itself); any name with --host.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    /// The next key (its `3 1 1` record is looked for).
    #[arg(long, value_name = "FILE")]
    pub next_key: PathBuf,
    /// --service, --port, --host, as `dane verify` takes them.
    #[command(flatten)]
    pub target: TargetOpts,
    /// The state file (JSON; default NEXT.key.rollover.json beside --next-key).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Added to the TTL before a server counts as ready (SECONDS, or 90s, 10m, 2h, 1d).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub margin: String,
    /// One line, and exit 0 only when the switch is safe (for ACME client hooks).
    #[arg(long, conflicts_with = "json")]
    pub check_only: bool,
    /// The run's deadline (SECONDS, or 90s, 10m, ...): servers not asked by then leave the
    /// status indeterminate. Each question also ends by its lookup deadline (--timeout).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub deadline: String,
    /// One JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// The resolver, time and timeout flags of `dane verify`.
    #[command(flatten)]
    pub check: LookupOpts,
}

/// `dane rollover promote`
#[derive(Debug, ClapArgs)]
#[command(after_help = ROLLOVER_HELP)]
pub struct PromoteArgs {
    /// The domain: the mail domain for smtp (its MX hosts are probed), the service domain
    /// otherwise (its SRV targets, or itself); any name with --host.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    /// The current key file: the next key is moved here; the current key is kept as
    /// FILE.retired-TIME.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The next key file (the servers must present it already).
    #[arg(long, value_name = "FILE")]
    pub next_key: PathBuf,
    /// Where the new next key is created (default: the --next-key path, free after the
    /// move).
    #[arg(long, value_name = "FILE")]
    pub new_next_key: Option<PathBuf>,
    /// The type of the new next key.
    #[arg(long, value_name = "TYPE", default_value = "p256")]
    pub key_type: String,
    /// --service, --port, --host, --starttls, as `dane verify` takes them (the hosts, and
    /// the dialogue each probe speaks).
    #[command(flatten)]
    pub target: ProbeTargetOpts,
    /// The state file (default NEXT.key.rollover.json beside --next-key): started again
    /// for the new next key, with the retired key's dates.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Added to the TTL for the retired key's deletion date.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub margin: String,
    /// The deadline of the check that every endpoint presents the next key (SECONDS, or
    /// 90s, 10m, ...): endpoints not probed by then make it indeterminate (exit 3), and
    /// nothing is moved.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub deadline: String,
    /// Publishing.
    #[command(flatten)]
    pub update: UpdateOpts,
    /// One JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// The resolver, time, timeout and probe flags of `dane verify`.
    #[command(flatten)]
    pub check: ProbeOpts,
}

/// Runs a `dane rollover` subcommand.
pub fn run(cmd: &Command, ctx: &Context) -> anyhow::Result<Exit> {
    match cmd {
        Command::Stage(a) => stage(a, ctx),
        Command::Status(a) => status(a, ctx),
        Command::Promote(a) => promote(a, ctx),
    }
}

/// Parses `--margin`: seconds, or a number with s, m, h or d (combinable: `1h30m`).
pub fn parse_duration(flag: &str, text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => bail!("{flag} {t:?}: not a duration (SECONDS, or e.g. 90s, 10m, 2h, 1d, 1h30m)"),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| anyhow::anyhow!("{flag} {t:?}: a unit without a number"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() || t.is_empty() {
        bail!("{flag} {t:?}: not a duration (SECONDS, or e.g. 90s, 10m, 2h, 1d, 1h30m)");
    }
    Ok(total)
}

fn key_type(text: &str) -> anyhow::Result<KeyType> {
    KeyType::from_name(text).ok_or_else(|| {
        anyhow::anyhow!(
            "--key-type {:?}: one of p256, rsa2048, rsa3072, ed25519",
            term::sanitize(text)
        )
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn owner_of(flag: &str, host: &str, port: u16) -> anyhow::Result<String> {
    dane_tlsa::tlsa_owner(port, dane_tlsa::Proto::Tcp, host)
        .with_context(|| format!("{flag} {:?}", term::sanitize(host)))
}

/// The issuer's `2 1 1` from `--chain`.
fn issuer_record(path: &Path) -> anyhow::Result<TlsaRecord> {
    let bytes = crate::tlsa::read_input("--chain", path, false)?;
    let chain = dane_tlsa::parse_certificates(&bytes)
        .with_context(|| format!("--chain {}", path.display()))?;
    // A chain file with the leaf first (fullchain.pem), or the issuer alone (chain.pem).
    let issuer = match dane_tlsa::issuer(&chain) {
        Ok(Some(i)) => i,
        Ok(None) => chain
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("--chain {}: no certificate", path.display()))?,
        Err(_) => chain[0].clone(),
    };
    dane_tlsa::generate(
        &Source::Certificate(issuer),
        CertUsage::DaneTa,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .with_context(|| format!("--chain {}", path.display()))
}

#[derive(Serialize)]
struct RecordOut {
    role: &'static str,
    record: String,
    line: String,
}

/// The lines of a [`rrset::staged`] set at `owner`: the current key's record, the next
/// key's and the issuer's, in that order.
fn records_out(owner: &str, set: &[TlsaRecord]) -> Vec<RecordOut> {
    set.iter()
        .zip(["current", "next", "issuer"])
        .map(|(r, role)| RecordOut {
            role,
            record: r.to_string(),
            line: rrset::zone_line(owner, None, r),
        })
        .collect()
}

#[derive(Serialize)]
struct KeyOut {
    path: String,
    created: bool,
    key_type: Option<&'static str>,
    tlsa: String,
}

#[derive(Serialize)]
struct StageOut<'a> {
    version: u32,
    kind: &'static str,
    owner: &'a str,
    next_key: KeyOut,
    records: Vec<RecordOut>,
    update: Option<&'a UpdateReport>,
}

fn current_spki(key: Option<&Path>, cert: Option<&Path>) -> anyhow::Result<(Spki, PathBuf)> {
    if let Some(k) = key {
        return Ok((files::read_key("--key", k)?, k.to_owned()));
    }
    let Some(c) = cert else {
        bail!("--key or --cert is required");
    };
    let bytes = crate::tlsa::read_input("--cert", c, false)?;
    let chain =
        dane_tlsa::parse_certificates(&bytes).with_context(|| format!("--cert {}", c.display()))?;
    let leaf = chain
        .first()
        .ok_or_else(|| anyhow::anyhow!("--cert {}: no certificate", c.display()))?;
    let der = dane_tlsa::certificate_spki(leaf.as_ref())
        .with_context(|| format!("--cert {}", c.display()))?;
    let spki = Spki::from_der(&der).with_context(|| format!("--cert {}", c.display()))?;
    Ok((spki, c.to_owned()))
}

fn stage(a: &StageArgs, ctx: &Context) -> anyhow::Result<Exit> {
    let _ = ctx;
    let kind = key_type(&a.key_type)?;
    let owner = owner_of("--name", &a.name, a.port)?;
    let (current, current_path) = current_spki(a.key.as_deref(), a.cert.as_deref())?;
    let issuer = a.chain.as_deref().map(issuer_record).transpose()?;
    let next_path = match &a.next_key {
        Some(p) => p.clone(),
        None => {
            let p = files::default_next_path(&current_path);
            if p.exists() {
                bail!(
                    "{}: exists already (the default next-key path); use it with --next-key {}",
                    p.display(),
                    p.display()
                );
            }
            p
        }
    };
    let next = files::next_key("--next-key", &next_path, kind)?;
    if next.spki == current {
        bail!(
            "--next-key {}: is the current key; the next key must be another",
            next_path.display()
        );
    }
    if next.created {
        eprintln!(
            "next key: created {} ({}, PKCS#8, mode 0600)",
            next_path.display(),
            kind.name()
        );
    } else {
        eprintln!(
            "next key: using {} (exists; left unchanged)",
            next_path.display()
        );
    }
    let set = rrset::staged(&current, &next.spki, issuer.as_ref());
    let mut retire = Vec::new();
    for p in &a.retire_key {
        let k = files::read_key("--retire-key", p)?;
        if k == current || k == next.spki {
            bail!(
                "--retire-key {}: is the current or the next key; it cannot be retired",
                p.display()
            );
        }
        retire.push(rrset::key_record(&k));
    }
    for r in &retire {
        eprintln!("retire: {}", rrset::zone_line(&owner, None, r));
    }
    let records = records_out(&owner, &set);
    let mut exit = Exit::Ok;
    let mut report = None;
    if a.update.update.is_some() {
        let rt = runtime()?;
        (exit, report) = update::publish(&a.update, &rt, &owner, &set, &retire)?;
        rt.shutdown_background();
    }
    if a.json {
        let out = StageOut {
            version: 1,
            kind: "dane-rollover-stage",
            owner: &owner,
            next_key: KeyOut {
                path: next_path.display().to_string(),
                created: next.created,
                key_type: next.created.then_some(kind.name()),
                tlsa: rrset::key_record(&next.spki).to_string(),
            },
            records,
            update: report.as_ref(),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &records {
            println!("{}", r.line);
        }
    }
    Ok(exit)
}

#[derive(Serialize)]
struct StatusOut<'a> {
    version: u32,
    kind: &'static str,
    at: String,
    domain: &'a str,
    next_key: String,
    state_file: String,
    margin: u64,
    #[serde(flatten)]
    status: &'a RolloverStatus,
}

fn exit_of(r: Readiness) -> Exit {
    match r {
        Readiness::Ready => Exit::Ok,
        Readiness::Waiting => Exit::Waiting,
        Readiness::Blocked => Exit::Failure,
        Readiness::Indeterminate => Exit::Indeterminate,
    }
}

/// Every authoritative server of each host's TLSA owner, asked at `now`. A CNAME at the
/// owner that every server of its zone serves is followed to the servers of the target's
/// zone (a bounded chain: RFC 7671 7), where the record and its rollover are; what the
/// bounds or an untrusted NS RRset leave unknown at any zone on the way is kept.
async fn observe_hosts(
    resolver: &dane_resolver::Resolver,
    decisions: &[dane_check::engine::HostDecision],
    now: rustls_pki_types::UnixTime,
) -> anyhow::Result<Vec<HostInput>> {
    let mut observed = Vec::new();
    for d in decisions {
        let (host, mut owner, validated) = match dane_check::rollover::host_target(d) {
            HostTarget::Unchecked(u) => {
                observed.push(HostInput::Unchecked(u));
                continue;
            }
            HostTarget::Owner {
                host,
                owner,
                validated,
            } => (host, owner, validated),
        };
        let mut servers = Err(String::new());
        let (mut unasked, mut untrusted) = (Vec::new(), None);
        for followed in 0..=MAX_OWNER_CNAMES {
            let owner_name = Name::from_str(&owner).with_context(|| format!("owner {owner}"))?;
            let auth = resolver
                .ask_authoritative(&owner_name, RecordType::TLSA, now)
                .await;
            let target = auth
                .as_ref()
                .ok()
                .and_then(|auth| dane_check::rollover::cname_target(auth, &owner));
            if let Ok(auth) = &auth {
                let (left_out, why) = readiness::coverage(auth);
                unasked.extend(left_out);
                untrusted = untrusted.or(why);
            }
            servers = auth
                .map(|auth| dane_check::rollover::observations(&owner, &auth))
                .map_err(|e| e.to_string());
            match target {
                Some(t) if followed < MAX_OWNER_CNAMES => owner = t,
                _ => break,
            }
        }
        observed.push(HostInput::Observed(HostObservation {
            host,
            owner,
            servers,
            unasked,
            name_servers_untrusted: untrusted,
            validated,
        }));
    }
    Ok(observed)
}

fn status(a: &StatusArgs, ctx: &Context) -> anyhow::Result<Exit> {
    a.check.validate()?;
    let now = ctx.now(a.check.net.at.as_deref())?;
    let margin = parse_duration("--margin", &a.margin)?;
    let domain = dane_tlsa::normalize_host(&a.domain)
        .with_context(|| format!("DOMAIN {:?}", term::sanitize(&a.domain)))?;
    let next = files::read_key("--next-key", &a.next_key)?;
    let next_hex = rrset::key_record(&next).data_hex();
    let state_path = a
        .state
        .clone()
        .unwrap_or_else(|| files::default_state_path(&a.next_key));
    let mut state = match files::read_state(&state_path)? {
        Some(s) if s.next_key.eq_ignore_ascii_case(&next_hex) => s,
        Some(s) => {
            eprintln!(
                "state {}: was for another next key ({}...); starting again for this one",
                state_path.display(),
                &s.next_key[..16.min(s.next_key.len())]
            );
            State {
                next_key: next_hex.clone(),
                seen: Vec::new(),
                ..s
            }
        }
        None => State::new(&next_hex),
    };
    let service = a.target.service(StartTls::None)?;
    let mut options = a.check.options(now);
    options.host = a.target.host()?;
    let resolver = Arc::new(a.check.resolver()?);
    let dns = LiveDns::new(resolver.clone(), now);
    let rt = runtime()?;
    let deadline = std::time::Duration::from_secs(parse_duration("--deadline", &a.deadline)?);
    // The hosts and their TLSA owners as `dane verify` finds them: MX hosts, SRV targets
    // or the domain itself, CNAMEs at the host names followed (RFC 7671 7, RFC 7672 2.2.3);
    // then every authoritative server of each owner; all of it by the run's deadline.
    let run = async {
        match dane_check::engine::decide_hosts(&dns, &domain, &service, &options).await {
            Err(stop) => Ok(Err(dane_check::rollover::discovery_status(&stop))),
            Ok(decisions) => observe_hosts(&resolver, &decisions, now).await.map(Ok),
        }
    };
    // The timer is made inside the runtime (it needs its reactor).
    let observed = rt.block_on(async { tokio::time::timeout(deadline, run).await });
    let result = match observed {
        Err(_) => RolloverStatus {
            readiness: Readiness::Indeterminate,
            reason: format!(
                "the run's deadline of {} (--deadline) passed before every server was asked",
                readiness::fmt_duration(deadline.as_secs())
            ),
            ready_at: None,
            seconds_left: None,
            hosts: Vec::new(),
        },
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Err(status))) => status,
        Ok(Ok(Ok(observed))) => {
            readiness::decide_all(&next, &observed, &mut state, now.as_secs(), margin)
        }
    };
    rt.shutdown_background();
    files::write_state(&state_path, &state)?;
    let exit = exit_of(result.readiness);
    if a.check_only {
        println!(
            "{}: {}",
            result.readiness.name(),
            term::sanitize(&result.reason)
        );
        return Ok(exit);
    }
    if a.json {
        let out = StatusOut {
            version: 1,
            kind: "dane-rollover-status",
            at: clock::format_time(now),
            domain: &domain,
            next_key: rrset::key_record(&next).to_string(),
            state_file: state_path.display().to_string(),
            margin,
            status: &result,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(exit);
    }
    println!(
        "{}: {}",
        result.readiness.name(),
        term::sanitize(&result.reason)
    );
    if let Some(left) = result.seconds_left {
        println!(
            "ready at {} ({} left)",
            dane_check::report::fmt_time(now.as_secs() + left),
            readiness::fmt_duration(left)
        );
    }
    for h in &result.hosts {
        if h.owner.is_empty() {
            // Decided before any TLSA server was asked (DANE does not apply to it).
            println!(
                "{}  {}: {}",
                term::sanitize(&h.host),
                h.readiness.name(),
                term::sanitize(&h.reason)
            );
            continue;
        }
        println!(
            "{} ({})  {}: {}",
            term::sanitize(&h.host),
            term::sanitize(&h.owner),
            h.readiness.name(),
            term::sanitize(&h.reason)
        );
        for s in &h.servers {
            println!(
                "  {} {} {}  {}: {}",
                term::sanitize(&s.ns),
                s.address,
                s.serial
                    .map_or_else(|| "serial ?".to_owned(), |n| format!("serial {n}")),
                serde_json::to_value(s.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                term::sanitize(&s.detail)
            );
        }
        for u in &h.unasked {
            println!("  {}  not asked (past the bounds)", term::sanitize(u));
        }
        println!(
            "  validating path: {}, {}",
            term::sanitize(&h.validated),
            if h.validated_has_next {
                "has the next key's record"
            } else {
                "without the next key's record"
            }
        );
    }
    Ok(exit)
}

#[derive(Serialize)]
struct PromoteOut<'a> {
    version: u32,
    kind: &'static str,
    at: String,
    domain: &'a str,
    check: &'a dane_check::rollover::PromoteCheck,
    promoted: bool,
    moves: Vec<String>,
    new_next_key: Option<KeyOut>,
    records: Vec<RecordOut>,
    remove: Vec<String>,
    retire: Option<&'a Retired>,
    updates: Vec<&'a UpdateReport>,
}

impl<'a> PromoteOut<'a> {
    /// The document of a run whose check failed: nothing moved, nothing to publish.
    fn not_promoted(
        now: rustls_pki_types::UnixTime,
        domain: &'a str,
        check: &'a dane_check::rollover::PromoteCheck,
    ) -> Self {
        PromoteOut {
            version: 1,
            kind: "dane-rollover-promote",
            at: clock::format_time(now),
            domain,
            check,
            promoted: false,
            moves: Vec::new(),
            new_next_key: None,
            records: Vec::new(),
            remove: Vec::new(),
            retire: None,
            updates: Vec::new(),
        }
    }
}

/// `FILE.retired-20261202T150000Z`.
fn retired_path(current: &Path, now: rustls_pki_types::UnixTime) -> PathBuf {
    let stamp: String = clock::format_time(now)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut name = current
        .file_name()
        .map_or_else(|| "key".into(), |n| n.to_os_string());
    name.push(format!(".retired-{stamp}"));
    current.with_file_name(name)
}

fn promote(a: &PromoteArgs, ctx: &Context) -> anyhow::Result<Exit> {
    a.check.validate()?;
    let now = ctx.now(a.check.net.at.as_deref())?;
    let margin = parse_duration("--margin", &a.margin)?;
    let kind = key_type(&a.key_type)?;
    let domain = dane_tlsa::normalize_host(&a.domain)
        .with_context(|| format!("DOMAIN {:?}", term::sanitize(&a.domain)))?;
    let host = a.target.hosts.host()?;
    let current = files::read_key("--key", &a.key)?;
    let next = files::read_key("--next-key", &a.next_key)?;
    if current == next {
        bail!("--key and --next-key hold the same key");
    }
    let new_next_path = a.new_next_key.clone().unwrap_or_else(|| a.next_key.clone());
    if a.new_next_key.is_some() && new_next_path.exists() {
        bail!(
            "--new-next-key {}: exists already; it is never overwritten",
            new_next_path.display()
        );
    }
    let state_path = a
        .state
        .clone()
        .unwrap_or_else(|| files::default_state_path(&a.next_key));
    // A corrupt state file stops the run before anything moves.
    let old_state = files::read_state(&state_path)?;
    let retired = retired_path(&a.key, now);
    if retired.exists() {
        bail!("{}: exists already; nothing was moved", retired.display());
    }

    // 1. Every address of every host must present the next key, and verify.
    let resolver = Arc::new(a.check.resolver()?);
    let mut options = a.check.options(now);
    options.host = host;
    // The service's hosts and, for each, the dialogue `dane verify` speaks (SMTP STARTTLS,
    // IMAP, POP3, XMPP, implicit TLS).
    let service = a.target.service()?;
    let deadline = std::time::Duration::from_secs(parse_duration("--deadline", &a.deadline)?);
    let rt = runtime()?;
    let verify = dane_check::engine::verify(
        Arc::new(LiveDns::new(resolver.clone(), now)),
        Arc::new(LiveProber::new(a.check.prober(), now)),
        &domain,
        &service,
        &options,
    );
    let checked = rt.block_on(async { tokio::time::timeout(deadline, verify).await });
    let check = match &checked {
        Ok(report) => dane_check::rollover::promote_check(report, &next),
        Err(_) => dane_check::rollover::PromoteCheck {
            ok: false,
            indeterminate: true,
            reason: format!(
                "indeterminate: the run's deadline of {} (--deadline) passed before every endpoint was probed",
                readiness::fmt_duration(deadline.as_secs())
            ),
            endpoints: Vec::new(),
            unchecked: Vec::new(),
        },
    };
    if !check.ok {
        rt.shutdown_background();
        if a.json {
            let out = PromoteOut::not_promoted(now, &domain, &check);
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            println!("not promoted: {}", term::sanitize(&check.reason));
            for e in &check.endpoints {
                println!(
                    "  {} {}  {}",
                    term::sanitize(&e.host),
                    e.address,
                    term::sanitize(&e.detail)
                );
            }
            for u in &check.unchecked {
                println!("  not probed: {}", term::sanitize(u));
            }
        }
        return Ok(if check.indeterminate {
            Exit::Indeterminate
        } else {
            Exit::Failure
        });
    }
    let Ok(report) = checked else {
        bail!("internal error: a promote check without a report passed");
    };

    // 2. The moves: current kept as retired, next renamed over current, a new next key.
    files::promote_files(&a.key, &a.next_key, &retired)?;
    let mut moves = vec![
        format!(
            "{} -> {} (the former current key, kept)",
            a.key.display(),
            retired.display()
        ),
        format!(
            "{} -> {} (the next key is current now)",
            a.next_key.display(),
            a.key.display()
        ),
    ];
    let new_next = files::next_key("--new-next-key", &new_next_path, kind).with_context(|| {
        format!(
            "the keys were moved ({}), but the new next key could not be created; run `dane rollover stage --key {}` to create one",
            moves.join("; "),
            a.key.display()
        )
    })?;
    moves.push(format!(
        "{} created (the new next key, {}, mode 0600)",
        new_next_path.display(),
        kind.name()
    ));
    eprintln!("promoted: {}", moves.join("; "));

    // 3. The new RRset per host: the new current and the new next; the old current goes.
    let old_record = rrset::key_record(&current);
    let wanted = rrset::staged(&next, &new_next.spki, None);
    let mut records = Vec::new();
    let mut owners = Vec::new();
    let mut ttl = 0u32;
    for h in &report.hosts {
        // The owner senders use: at the TLSA base domain (a secure CNAME's target when it
        // has the records, RFC 7672 2.2.3), on the host's port (an SRV target's own).
        let base = h
            .tlsa
            .as_ref()
            .and_then(|t| t.base.as_deref())
            .unwrap_or(&h.name);
        let owner = owner_of("host", base, h.port)?;
        if owners.contains(&owner) {
            continue;
        }
        if let Ok(name) = Name::from_str(&owner) {
            let question = dane_dnssec::Question::new(&name, RecordType::TLSA);
            let limit = resolver.config().lookup_timeout;
            let answer = resolver.answer(&question);
            if let Ok(Ok(wire)) = rt.block_on(async { tokio::time::timeout(limit, answer).await }) {
                ttl = ttl.max(dane_check::rollover::rrset_ttl(&wire, RecordType::TLSA));
            }
        }
        records.extend(records_out(&owner, &wanted));
        owners.push(owner);
    }
    let remove: Vec<String> = owners
        .iter()
        .map(|o| rrset::zone_line(o, None, &old_record))
        .collect();
    let retire = Retired {
        key_file: retired.display().to_string(),
        record: old_record.to_string(),
        promoted_at: now.as_secs(),
        delete_after: now.as_secs() + u64::from(ttl) + margin,
    };
    let mut state = State::new(&rrset::key_record(&new_next.spki).data_hex());
    if let Some(old) = old_state {
        state.retired = old.retired;
    }
    state.retired.push(retire.clone());
    files::write_state(&state_path, &state)?;

    // 4. Publishing, per owner.
    let mut exit = Exit::Ok;
    let mut reports = Vec::new();
    if a.update.update.is_some() {
        for owner in &owners {
            let (e, published) = update::publish(
                &a.update,
                &rt,
                owner,
                &wanted,
                std::slice::from_ref(&old_record),
            )?;
            exit = exit.max(e);
            reports.extend(published);
        }
    }
    rt.shutdown_background();
    if a.json {
        let out = PromoteOut {
            promoted: true,
            moves,
            new_next_key: Some(KeyOut {
                path: new_next_path.display().to_string(),
                created: true,
                key_type: Some(kind.name()),
                tlsa: rrset::key_record(&new_next.spki).to_string(),
            }),
            records,
            remove,
            retire: Some(&retire),
            updates: reports.iter().collect(),
            ..PromoteOut::not_promoted(now, &domain, &check)
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &records {
            println!("{}", r.line);
        }
        for l in &remove {
            eprintln!("remove now: {l}");
        }
        eprintln!(
            "delete {} after {} (the record's removal needs the TTL of {ttl} s plus the margin to reach every cache; keep it until then to roll back)",
            retired.display(),
            dane_check::report::fmt_time(retire.delete_after)
        );
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, want) in [
            ("600", Some(600)),
            ("90s", Some(90)),
            ("10m", Some(600)),
            ("2h", Some(7200)),
            ("1d", Some(86_400)),
            ("1h30m", Some(5400)),
            ("", None),
            ("10", Some(10)),
            ("10x", None),
            ("m", None),
            ("5m3", None),
        ] {
            assert_eq!(parse_duration("--margin", text).ok(), want, "{text}");
        }
    }
}
