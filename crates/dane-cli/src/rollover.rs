//! `dane rollover stage|status|promote|rollback`: a "current + next" key rollover (RFC 6698
//! A.4, RFC 7671 8.1). The decisions and the file transactions are `dane_check::rollover`'s;
//! this module parses the arguments, reads the clock (once; `--at` replaces it), asks the
//! network through dane-resolver and the engine, renders and maps the result to the exit
//! code. `promote` and `rollback`, the commands that move key files, are in
//! `rollover_files.rs`.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{ArgGroup, Args as ClapArgs, Subcommand};
use dane_check::live::LiveDns;
use dane_check::rollover::files;
use dane_check::rollover::key::KeyType;
use dane_check::rollover::readiness::{
    self, HostInput, HostObservation, Readiness, RolloverStatus,
};
use dane_check::rollover::state::State;
use dane_check::rollover::{HostTarget, rrset};
use dane_tlsa::{CertUsage, MatchingType, Selector, Source, Spki, TlsaRecord};
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

use crate::checkopts::LookupOpts;
use crate::probe::StartTls;
use crate::rollover_files::{PromoteArgs, RollbackArgs};
use crate::rollover_update::{self as update, UpdateOpts, UpdateReport};
use crate::verify::TargetOpts;
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
    /// Undo a promotion while the retired key may still be used: put it back as the current
    /// key, keep the key it replaces, and print the RRset to publish.
    Rollback(Box<RollbackArgs>),
}

/// How many CNAMEs at a TLSA owner `status` follows to the servers of the target's zone
/// (the chain of a DANE client is bounded too; past this the last answers are judged as
/// they are: a CNAME, reported as such).
const MAX_OWNER_CNAMES: usize = 8;

/// The after-help of a `dane rollover` subcommand: the exit status all four share, then the
/// subcommand's examples (which `dane man` turns into the page's EXAMPLES).
macro_rules! rollover_help {
    ($examples:literal) => {
        concat!(
            "\
Exit status: 0 ready (status, --check-only: the switch is safe) or done (stage, promote,
rollback); 1 blocked (a server without the record, a bogus or unsigned answer, a host whose
RRset lacks it; promote: a server that does not present the next key yet, or with
--require-ready a switch before status said ready; rollback: the retired key's keep-until
time has passed; an update refused: TSIG, a prerequisite, the primary's policy); 2 bad input
(flags, key files, a corrupt or unwritable state file, a key file that exists already, key
files that match no interrupted promotion); 3 indeterminate (servers or endpoints that could
not be asked or that the bounds left out, an NS RRset that is not secure in a signed zone,
--deadline passed); 5 waiting (published everywhere, the TTL and margin not passed yet).
--dry-run, --at and --check-only change no file.

Examples:
",
            $examples
        )
    };
}
pub(crate) use rollover_help;

/// `dane rollover stage`
#[derive(Debug, ClapArgs)]
#[command(group(ArgGroup::new("current").args(["key", "cert"]).required(true)))]
#[command(after_help = rollover_help!("  dane rollover stage --key /etc/dane/mx.key --name mx1.example.com
  dane rollover stage --key /etc/dane/mx.key --name mx1.example.com --name mx2.example.com
  dane rollover stage --key /etc/dane/mx.key --name mx1.example.com --update 192.0.2.53 --tsig-key /etc/dane/update.key --dry-run"))]
pub struct StageArgs {
    /// The current private key (PKCS#8, PKCS#1, SEC1).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The current certificate (PEM or DER; the leaf is the first).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The TLSA base domain (the MX host); repeat it for every host of the key: one next
    /// key, one RRset each.
    #[arg(long, value_name = "HOST", required = true)]
    pub name: Vec<String>,
    /// The port of the TLSA owner `_PORT._tcp.HOST`.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub port: u16,
    /// The next key: used when the file exists (never overwritten), created there
    /// otherwise. Default: STEM.next.key beside --key/--cert, which must not exist unless
    /// the state file says `dane` made it there.
    #[arg(long, value_name = "FILE")]
    pub next_key: Option<PathBuf>,
    /// The type of a key created: p256, rsa2048, rsa3072, ed25519 (public ACME CAs do
    /// not issue for Ed25519).
    #[arg(long, value_name = "TYPE", value_parser = crate::docs::Names::key_types(), default_value = "p256")]
    pub key_type: String,
    /// The issuer's chain (leaf first, or the issuer alone after the leaf): adds its
    /// `2 1 1` record as an optional third.
    #[arg(long, value_name = "FILE")]
    pub chain: Option<PathBuf>,
    /// A key no longer in use (repeatable): its `3 1 1` is left out and, with --update,
    /// deleted (for ACME clients that move their key files themselves, e.g. dehydrated).
    #[arg(long, value_name = "FILE")]
    pub retire_key: Vec<PathBuf>,
    /// The state file (default NEXT.key.rollover.json beside the next key): records that
    /// `dane` made the next key.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Publishing.
    #[command(flatten)]
    pub update: UpdateOpts,
    /// One JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `dane rollover status`
#[derive(Debug, ClapArgs)]
#[command(after_help = rollover_help!("  dane rollover status example.com --next-key /etc/dane/mx.next.key
  dane rollover status example.com --next-key /etc/dane/mx.next.key --check-only && echo safe to switch
  dane rollover status example.com --next-key /etc/dane/mx.next.key --json"))]
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
    /// One line, and exit 0 only when the switch is safe (for ACME client hooks); reads
    /// the state file, records nothing.
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

/// Runs a `dane rollover` subcommand.
pub fn run(cmd: &Command, ctx: &Context) -> anyhow::Result<Exit> {
    match cmd {
        Command::Stage(a) => stage(a),
        Command::Status(a) => status(a, ctx),
        Command::Promote(a) => crate::rollover_files::promote(a, ctx),
        Command::Rollback(a) => crate::rollover_files::rollback(a, ctx),
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

pub(crate) fn key_type(text: &str) -> anyhow::Result<KeyType> {
    KeyType::from_name(text).ok_or_else(|| {
        anyhow::anyhow!(
            "--key-type {:?}: one of p256, rsa2048, rsa3072, ed25519",
            term::sanitize(text)
        )
    })
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub(crate) fn owner_of(flag: &str, host: &str, port: u16) -> anyhow::Result<String> {
    dane_tlsa::tlsa_owner(port, dane_tlsa::Proto::Tcp, host)
        .with_context(|| format!("{flag} {:?}", term::sanitize(host)))
}

/// The owners of `--name` (each once, in the order given).
pub(crate) fn owners_of(names: &[String], port: u16) -> anyhow::Result<Vec<String>> {
    let mut owners: Vec<String> = Vec::new();
    for n in names {
        let o = owner_of("--name", n, port)?;
        if !owners.contains(&o) {
            owners.push(o);
        }
    }
    Ok(owners)
}

/// The domain as the JSON documents name it: fully qualified, as `dane verify` does.
pub(crate) fn domain_of(text: &str) -> anyhow::Result<String> {
    dane_tlsa::normalize_host(text)
        .map(|d| dane_check::dns::fqdn(&d))
        .with_context(|| format!("DOMAIN {:?}", term::sanitize(text)))
}

/// Reads the private key at `path` (any form `dane tlsa generate --key` reads).
pub(crate) fn read_key(flag: &str, path: &Path) -> anyhow::Result<Spki> {
    let bytes = crate::tlsa::read_input(flag, path, false)?;
    dane_tlsa::parse_private_key(&bytes).with_context(|| format!("{flag} {}", path.display()))
}

/// Reads the state file; one with an interrupted promotion or rollback stops every command
/// but the one that finishes it, saying how.
pub(crate) fn read_state(path: &Path, finishing: Option<&str>) -> anyhow::Result<Option<State>> {
    let state = files::read_state(path).map_err(|e| anyhow::anyhow!("--state {e}"))?;
    if let Some(p) = state.as_ref().and_then(|s| s.pending.as_ref()) {
        let (action, cmd) = match p.action {
            dane_check::rollover::state::Action::Promote => ("promotion", "promote"),
            dane_check::rollover::state::Action::Rollback => ("rollback", "rollback"),
        };
        if finishing != Some(cmd) {
            bail!(
                "--state {}: a {action} of {} was interrupted (started {}); run `dane rollover {cmd} --key {}` with the same files to finish it",
                path.display(),
                p.key_file,
                dane_check::report::fmt_time(p.started_at),
                p.key_file
            );
        }
    }
    Ok(state)
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

/// One line of an RRset to publish.
#[derive(Serialize)]
pub(crate) struct RecordOut {
    pub role: &'static str,
    pub record: String,
    pub line: String,
}

/// The lines of an RRset at `owner`, each with its role.
pub(crate) fn records_out(owner: &str, set: &[(&'static str, &TlsaRecord)]) -> Vec<RecordOut> {
    set.iter()
        .map(|(role, r)| RecordOut {
            role,
            record: r.to_string(),
            line: rrset::zone_line(owner, None, r),
        })
        .collect()
}

/// The lines of a [`rrset::staged`] set: the current key's record, the next key's (unless
/// it is not made yet) and the issuer's, in that order.
fn staged_out(owner: &str, set: &[TlsaRecord], unmade: bool) -> Vec<RecordOut> {
    let names: &[&'static str] = if unmade {
        &["current", "issuer"]
    } else {
        &["current", "next", "issuer"]
    };
    let roles: Vec<(&'static str, &TlsaRecord)> = names.iter().copied().zip(set).collect();
    records_out(owner, &roles)
}

/// A key file in a JSON document.
#[derive(Serialize)]
pub(crate) struct KeyOut {
    pub path: String,
    pub created: bool,
    pub key_type: Option<&'static str>,
    /// Its `3 1 1` record; null when it is not made yet (`--dry-run`).
    pub tlsa: Option<String>,
}

#[derive(Serialize)]
struct StageOut<'a> {
    version: u32,
    kind: &'static str,
    dry_run: bool,
    /// The first owner (the one of the first `--name`).
    owner: &'a str,
    owners: &'a [String],
    next_key: KeyOut,
    records: Vec<RecordOut>,
    /// The first owner's update.
    update: Option<&'a UpdateReport>,
    updates: &'a [UpdateReport],
}

fn current_spki(key: Option<&Path>, cert: Option<&Path>) -> anyhow::Result<(Spki, PathBuf)> {
    if let Some(k) = key {
        return Ok((read_key("--key", k)?, k.to_owned()));
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

/// The next key of `stage`: its path, its key (`None` when `--dry-run` would make it) and
/// whether this run made it.
struct StagedKey {
    path: PathBuf,
    spki: Option<Spki>,
    created: bool,
}

/// Finds, reads or (unless `--dry-run`) makes the next key of `stage`.
fn stage_next_key(a: &StageArgs, current_path: &Path, kind: KeyType) -> anyhow::Result<StagedKey> {
    let path = a
        .next_key
        .clone()
        .unwrap_or_else(|| files::default_next_path(current_path));
    let state_path = a
        .state
        .clone()
        .unwrap_or_else(|| files::default_state_path(&path));
    let state = read_state(&state_path, None)?;
    let exists = std::fs::symlink_metadata(&path).is_ok();
    if exists {
        let spki = read_key("--next-key", &path)?;
        let hex = rrset::key_record(&spki).data_hex();
        // The default path is taken only when dane made the key there for this rollover.
        if a.next_key.is_none() && !files::made_by_dane(state.as_ref(), &path, &hex) {
            bail!(
                "{}: exists already (the default next-key path), and the state file {} does not say dane made it; use it with --next-key {}",
                path.display(),
                state_path.display(),
                path.display()
            );
        }
        return Ok(StagedKey {
            path,
            spki: Some(spki),
            created: false,
        });
    }
    if a.update.dry_run {
        return Ok(StagedKey {
            path,
            spki: None,
            created: false,
        });
    }
    let mut state = state.unwrap_or_else(|| State::new(&"0".repeat(64)));
    let spki = files::create_next_key(&path, kind, &state_path, &mut state)
        .map_err(|e| anyhow::anyhow!("--next-key {e}"))?;
    Ok(StagedKey {
        path,
        spki: Some(spki),
        created: true,
    })
}

fn stage(a: &StageArgs) -> anyhow::Result<Exit> {
    let kind = key_type(&a.key_type)?;
    let owners = owners_of(&a.name, a.port)?;
    let (current, current_path) = current_spki(a.key.as_deref(), a.cert.as_deref())?;
    let issuer = a.chain.as_deref().map(issuer_record).transpose()?;
    let retire = retired_records(&a.retire_key, &current)?;
    let next = stage_next_key(a, &current_path, kind)?;
    if next.spki.as_ref() == Some(&current) {
        bail!(
            "--next-key {}: is the current key; the next key must be another",
            next.path.display()
        );
    }
    say_next_key(&next, kind);
    if next
        .spki
        .as_ref()
        .is_some_and(|k| retire.contains(&rrset::key_record(k)))
    {
        bail!("--retire-key: is the next key; it cannot be retired");
    }
    // Without the next key (a dry run that would make it): current and issuer.
    let set = rrset::staged(
        &current,
        next.spki.as_ref().unwrap_or(&current),
        issuer.as_ref(),
    );
    for r in &retire {
        for o in &owners {
            eprintln!("retire: {}", rrset::zone_line(o, None, r));
        }
    }
    let unmade = next.spki.is_none();
    // Without the next key's record when it is not made yet (a dry run).
    let unmade_line = unmade.then_some(unmade_next_line as fn(&str) -> String);
    let (exit, reports) = publish_owners(&a.update, &owners, &set, &retire, unmade_line)?;
    let records: Vec<RecordOut> = owners
        .iter()
        .flat_map(|o| staged_out(o, &set, unmade))
        .collect();
    render_stage(a, &owners, &next, kind, records, &reports)?;
    Ok(exit)
}

fn retired_records(paths: &[PathBuf], current: &Spki) -> anyhow::Result<Vec<TlsaRecord>> {
    let mut retire = Vec::new();
    for p in paths {
        let k = read_key("--retire-key", p)?;
        if &k == current {
            bail!(
                "--retire-key {}: is the current key; it cannot be retired",
                p.display()
            );
        }
        retire.push(rrset::key_record(&k));
    }
    Ok(retire)
}

fn say_next_key(next: &StagedKey, kind: KeyType) {
    let p = next.path.display();
    match (&next.spki, next.created) {
        (None, _) => eprintln!(
            "next key: would create {p} ({}, PKCS#8, mode 0600); dry run: nothing was written, and its record is known once a run without --dry-run makes it",
            kind.name()
        ),
        (Some(_), true) => eprintln!("next key: created {p} ({}, PKCS#8, mode 0600)", kind.name()),
        (Some(_), false) => eprintln!("next key: using {p} (exists; left unchanged)"),
    }
}

/// The next key's record in a dry run that would make the key: a zone-file comment, so it
/// cannot be published by mistake.
fn unmade_next_line(owner: &str) -> String {
    format!(
        "; {owner} IN TLSA 3 1 1 (the next key's record, once a run without --dry-run makes it)"
    )
}

/// With `--update`, sends (or, dry, shows) the change at every owner, `set` wanted and
/// `retire` removed; `unmade_line`, when a record of the set is not made yet, is the
/// comment shown (on stderr) in its place. Without `--update`, nothing.
pub(crate) fn publish_owners(
    opts: &UpdateOpts,
    owners: &[String],
    set: &[TlsaRecord],
    retire: &[TlsaRecord],
    unmade_line: Option<fn(&str) -> String>,
) -> anyhow::Result<(Exit, Vec<UpdateReport>)> {
    let mut exit = Exit::Ok;
    let mut reports = Vec::new();
    if opts.update.is_none() {
        return Ok((exit, reports));
    }
    let rt = runtime()?;
    for owner in owners {
        let (e, report) = update::publish(opts, &rt, owner, set, retire)?;
        if let Some(line) = unmade_line {
            eprintln!("+ {}", line(owner));
        }
        exit = exit.max(e);
        reports.extend(report);
    }
    rt.shutdown_background();
    Ok((exit, reports))
}

fn render_stage(
    a: &StageArgs,
    owners: &[String],
    next: &StagedKey,
    kind: KeyType,
    records: Vec<RecordOut>,
    reports: &[UpdateReport],
) -> anyhow::Result<()> {
    let next_record = next.spki.as_ref().map(rrset::key_record);
    if a.json {
        let out = StageOut {
            version: 1,
            kind: "dane-rollover-stage",
            dry_run: a.update.dry_run,
            owner: &owners[0],
            owners,
            next_key: KeyOut {
                path: next.path.display().to_string(),
                created: next.created,
                key_type: (next.created || next.spki.is_none()).then_some(kind.name()),
                tlsa: next_record.map(|r| r.to_string()),
            },
            records,
            update: reports.first(),
            updates: reports,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    for r in &records {
        println!("{}", r.line);
        if next.spki.is_none() && r.role == "current" {
            let owner = r.line.split(' ').next().unwrap_or_default();
            println!("{}", unmade_next_line(owner));
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct StatusOut<'a> {
    version: u32,
    kind: &'static str,
    at: String,
    domain: &'a str,
    next_key: String,
    state_file: String,
    /// Whether this run recorded what it saw in the state file (not with --at).
    recorded: bool,
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

/// The state for the next key `next_hex`: the file's, or a new one when it was for another
/// key (or there is none).
fn state_for(loaded: Option<&State>, next_hex: &str, path: &Path) -> State {
    match loaded {
        Some(s) if s.next_key.eq_ignore_ascii_case(next_hex) => s.clone(),
        Some(s) => {
            eprintln!(
                "state {}: was for another next key ({}...); starting again for this one",
                path.display(),
                &s.next_key[..16.min(s.next_key.len())]
            );
            s.clone().for_next_key(next_hex)
        }
        None => State::new(next_hex),
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
    let domain = domain_of(&a.domain)?;
    let next = read_key("--next-key", &a.next_key)?;
    let next_hex = rrset::key_record(&next).data_hex();
    let state_path = a
        .state
        .clone()
        .unwrap_or_else(|| files::default_state_path(&a.next_key));
    let loaded = read_state(&state_path, None)?;
    let mut state = state_for(loaded.as_ref(), &next_hex, &state_path);
    let result = observe_and_decide(a, now, &domain, &next, &mut state, margin)?;
    // What-ifs write nothing: --at evaluates another time, --check-only only asks.
    let record = !a.check_only && a.check.net.at.is_none();
    if record {
        state.ready_at = match result.readiness {
            Readiness::Ready | Readiness::Waiting => result.ready_at,
            _ => None,
        };
        if loaded.as_ref() != Some(&state) {
            files::write_state(&state_path, &state).map_err(|e| anyhow::anyhow!("--state {e}"))?;
        }
    }
    let exit = exit_of(result.readiness);
    if a.check_only {
        println!(
            "{}: {}",
            result.readiness.name(),
            term::sanitize(&result.reason)
        );
    } else if a.json {
        let out = StatusOut {
            version: 1,
            kind: "dane-rollover-status",
            at: clock::format_time(now),
            domain: &domain,
            next_key: rrset::key_record(&next).to_string(),
            state_file: state_path.display().to_string(),
            recorded: record,
            margin,
            status: &result,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if !record {
            eprintln!("--at: a what-if; nothing is recorded in the state file");
        }
        render_status(&result, now.as_secs());
    }
    Ok(exit)
}

/// Finds the hosts and their TLSA owners as `dane verify` does, asks every authoritative
/// server of each owner's zone, and decides.
fn observe_and_decide(
    a: &StatusArgs,
    now: rustls_pki_types::UnixTime,
    domain: &str,
    next: &Spki,
    state: &mut State,
    margin: u64,
) -> anyhow::Result<RolloverStatus> {
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
        match dane_check::engine::decide_hosts(&dns, domain, &service, &options).await {
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
            readiness::decide_all(next, &observed, state, now.as_secs(), margin)
        }
    };
    rt.shutdown_background();
    Ok(result)
}

fn render_status(result: &RolloverStatus, now: u64) {
    println!(
        "{}: {}",
        result.readiness.name(),
        term::sanitize(&result.reason)
    );
    if let Some(left) = result.seconds_left {
        println!(
            "ready at {} ({} left)",
            dane_check::report::fmt_time(now + left),
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
