//! `dane rollover promote|rollback`: the commands that move key files. The moves are
//! `dane_check::rollover::files`' transactions (a plan written into the state file first,
//! then each step; a run killed at any step is finished by the next); this module checks,
//! builds the plan, and renders it: what would be done (`--dry-run`, `--at`), what was done,
//! and the RRset and updates to publish.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Args as ClapArgs;
use dane_check::live::{LiveDns, LiveProber};
use dane_check::rollover::files::{self, Done};
use dane_check::rollover::rrset;
use dane_check::rollover::state::{Action, Pending, Retired, State};
use dane_check::rollover::{PromoteCheck, promote_check};
use dane_tlsa::TlsaRecord;
use hickory_proto::rr::{Name, RecordType};
use serde::Serialize;

use crate::checkopts::ProbeOpts;
use crate::rollover::{
    KeyOut, RecordOut, domain_of, key_type, owner_of, owners_of, parse_duration, publish_owners,
    read_key, read_state, records_out, rollover_help, runtime,
};
use crate::rollover_update::{UpdateOpts, UpdateReport};
use crate::verify::ProbeTargetOpts;
use crate::{Context, Exit, clock, term};

/// `dane rollover promote`
#[derive(Debug, ClapArgs)]
#[command(after_help = rollover_help!("  dane rollover promote example.com --key /etc/dane/mx.key --next-key /etc/dane/mx.next.key --dry-run
  dane rollover promote example.com --key /etc/dane/mx.key --next-key /etc/dane/mx.next.key --require-ready"))]
pub struct PromoteArgs {
    /// The domain: the mail domain for smtp (its MX hosts are probed), the service domain
    /// otherwise (its SRV targets, or itself); any name with --host.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    /// The current key file: the next key is moved here (taking this file's owner, group
    /// and mode); the current key is kept as FILE.retired-TIME (mode 0600).
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
    #[arg(long, value_name = "TYPE", value_parser = crate::docs::Names::key_types(), default_value = "p256")]
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
    /// Refuse (exit 1, nothing moved) when the switch came before `dane rollover status`
    /// would have said ready (from the state file); without it, promote warns.
    #[arg(long)]
    pub require_ready: bool,
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

/// `dane rollover rollback`
#[derive(Debug, ClapArgs)]
#[command(after_help = rollover_help!("  dane rollover rollback --key /etc/dane/mx.key --next-key /etc/dane/mx.next.key --name mx1.example.com --dry-run"))]
pub struct RollbackArgs {
    /// The current key file: the retired key is put back here (taking this file's owner,
    /// group and mode); the key in it now is kept as FILE.rolled-back-TIME (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The next key file (names the default state file; stays the next key).
    #[arg(long, value_name = "FILE")]
    pub next_key: PathBuf,
    /// The state file (default NEXT.key.rollover.json beside --next-key).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The TLSA base domain (the MX host) whose RRset to print; repeatable.
    #[arg(long, value_name = "HOST", required = true)]
    pub name: Vec<String>,
    /// The port of the TLSA owner `_PORT._tcp.HOST`.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub port: u16,
    /// Publishing.
    #[command(flatten)]
    pub update: UpdateOpts,
    /// One JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Warning {
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct MoveOut<'a> {
    version: u32,
    kind: &'static str,
    at: String,
    domain: Option<&'a str>,
    /// `promoted`, `finished` (an interrupted run's plan), `already-promoted`, `rolled-back`,
    /// `dry-run`, `not-promoted`.
    outcome: &'static str,
    check: Option<&'a PromoteCheck>,
    promoted: bool,
    warnings: &'a [Warning],
    moves: Vec<String>,
    new_next_key: Option<KeyOut>,
    records: Vec<RecordOut>,
    remove: Vec<String>,
    retire: Option<Retired>,
    updates: Vec<UpdateReport>,
}

impl<'a> MoveOut<'a> {
    fn new(kind: &'static str, now: u64, outcome: &'static str) -> Self {
        MoveOut {
            version: 1,
            kind,
            at: clock::format_time(rustls_pki_types::UnixTime::since_unix_epoch(
                std::time::Duration::from_secs(now),
            )),
            domain: None,
            outcome,
            check: None,
            promoted: false,
            warnings: &[],
            moves: Vec::new(),
            new_next_key: None,
            records: Vec::new(),
            remove: Vec::new(),
            retire: None,
            updates: Vec::new(),
        }
    }
}

/// A path as the state file records it: absolute.
fn abs(p: &Path) -> String {
    files::absolute(p).display().to_string()
}

fn record_of(hex: &str) -> anyhow::Result<TlsaRecord> {
    rrset::key_record_hex(hex)
        .ok_or_else(|| anyhow::anyhow!("state file: {hex:?} is not a key's SHA-256"))
}

/// The moves of a plan, as sentences (`would` for a dry run).
fn moves_of(plan: &Pending, would: bool) -> Vec<String> {
    let (kept, made) = match plan.action {
        Action::Promote => ("the former current key", "the next key is current now"),
        Action::Rollback => (
            "the key rolled back from",
            "the retired key is current again",
        ),
    };
    let verb = if would { "would move" } else { "moved" };
    vec![
        format!(
            "{verb}: {} -> {} ({kept}, kept, mode 0600)",
            plan.key_file, plan.keep_as
        ),
        format!(
            "{verb}: {} -> {} ({made}; the owner, group and mode of {} kept)",
            plan.replacement, plan.key_file, plan.key_file
        ),
    ]
}

/// The new next key of a promotion plan, as a document.
fn new_next_of(plan: &Pending, created: bool) -> Option<KeyOut> {
    (plan.action == Action::Promote).then(|| KeyOut {
        path: plan
            .new_next_key_file
            .clone()
            .unwrap_or_else(|| plan.replacement.clone()),
        created,
        key_type: plan
            .key_type
            .as_deref()
            .and_then(dane_check::rollover::key::KeyType::from_name)
            .map(|k| k.name()),
        tlsa: plan
            .new_next
            .as_deref()
            .and_then(rrset::key_record_hex)
            .map(|r| r.to_string()),
    })
}

/// The RRset to publish after a plan, per owner, with each record's role; `wanted` and
/// `retire` for the update.
struct Publish {
    roles: Vec<(&'static str, TlsaRecord)>,
    retire: Vec<TlsaRecord>,
}

fn publish_of(plan: &Pending, next_hex: Option<&str>) -> anyhow::Result<Publish> {
    let (from, to) = (record_of(&plan.from)?, record_of(&plan.to)?);
    Ok(match plan.action {
        Action::Promote => {
            let mut roles = vec![("current", to)];
            if let Some(n) = plan.new_next.as_deref() {
                roles.push(("next", record_of(n)?));
            }
            Publish {
                roles,
                retire: vec![from],
            }
        }
        // Back to the retired key; the key rolled back from stays while the MTA may still
        // present it, the next key stays the next key.
        Action::Rollback => {
            let mut roles = vec![("current", to), ("rolled-back", from)];
            if let Some(n) = next_hex {
                roles.push(("next", record_of(n)?));
            }
            Publish {
                roles,
                retire: Vec::new(),
            }
        }
    })
}

/// Sends (or, dry, shows) the update of every owner; with a promotion not carried out yet,
/// the new next key's record is not known, and is shown as a comment.
fn send_updates(
    opts: &UpdateOpts,
    plan: &Pending,
    p: &Publish,
) -> anyhow::Result<(Exit, Vec<UpdateReport>)> {
    let wanted: Vec<TlsaRecord> = p.roles.iter().map(|(_, r)| r.clone()).collect();
    let unmade = plan.action == Action::Promote && plan.new_next.is_none();
    let unmade = unmade.then_some(unmade_line as fn(&str) -> String);
    publish_owners(opts, &plan.owners, &wanted, &p.retire, unmade)
}

fn unmade_line(owner: &str) -> String {
    format!("; {owner} IN TLSA 3 1 1 (the new next key's record, once promote makes it)")
}

/// Prints (or puts into `out`) a plan's result: the moves, the RRset, what to remove, the
/// retired key's date, the updates.
fn render_plan(
    mut out: MoveOut<'_>,
    plan: &Pending,
    p: &Publish,
    json: bool,
) -> anyhow::Result<()> {
    let would = out.outcome == "dry-run";
    out.moves = moves_of(plan, would);
    for o in &plan.owners {
        let roles: Vec<(&'static str, &TlsaRecord)> =
            p.roles.iter().map(|(n, r)| (*n, r)).collect();
        out.records.extend(records_out(o, &roles));
        out.remove
            .extend(p.retire.iter().map(|r| rrset::zone_line(o, None, r)));
    }
    out.retire = Some(Retired {
        key_file: plan.keep_as.clone(),
        record: format!("3 1 1 {}", plan.from),
        promoted_at: plan.started_at,
        delete_after: plan.delete_after,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    print_plan(&out, plan)
}

/// The text of [`render_plan`]: the records on stdout, the rest on stderr (the moves on
/// stdout in a dry run: they are its result).
fn print_plan(out: &MoveOut<'_>, plan: &Pending) -> anyhow::Result<()> {
    for w in out.warnings {
        eprintln!("warning: {}", term::sanitize(&w.message));
    }
    let would = out.outcome == "dry-run";
    let unmade = plan.action == Action::Promote && plan.new_next.is_none();
    if would {
        for m in &out.moves {
            println!("{m}");
        }
        if let Some(k) = &out.new_next_key {
            println!(
                "would create: {} (the new next key, {}, mode 0600)",
                k.path,
                k.key_type.unwrap_or("p256")
            );
        }
    } else {
        eprintln!("{}: {}", out.outcome, out.moves.join("; "));
    }
    for r in &out.records {
        println!("{}", r.line);
    }
    if unmade {
        for o in &plan.owners {
            println!("{}", unmade_line(o));
        }
    }
    for l in &out.remove {
        eprintln!("remove now: {l}");
    }
    if plan.action == Action::Rollback {
        for o in &plan.owners {
            eprintln!(
                "remove once every server presents the current key again: {} (dane rollover stage --retire-key {})",
                rrset::zone_line(o, None, &record_of(&plan.from)?),
                plan.keep_as
            );
        }
    }
    eprintln!(
        "delete {} after {} (keep it until then to roll back: dane rollover rollback)",
        plan.keep_as,
        dane_check::report::fmt_time(plan.delete_after)
    );
    Ok(())
}

/// `dane rollover promote`.
pub fn promote(a: &PromoteArgs, ctx: &Context) -> anyhow::Result<Exit> {
    a.check.validate()?;
    let now = ctx.now(a.check.net.at.as_deref())?;
    // Bad flags are refused before anything is read.
    parse_duration("--margin", &a.margin)?;
    key_type(&a.key_type)?;
    a.target.hosts.host()?;
    let domain = domain_of(&a.domain)?;
    // --at and --dry-run are what-ifs: nothing is moved, made or written.
    let what_if = a.update.dry_run || a.check.net.at.is_some();
    let state_path = a
        .state
        .clone()
        .unwrap_or_else(|| files::default_state_path(&a.next_key));
    // A corrupt state file stops the run before anything moves.
    let state = read_state(&state_path, Some("promote"))?;
    if let Some(s) = state.as_ref().filter(|s| s.pending.is_some()) {
        return finish_interrupted(a, &state_path, s.clone(), what_if, &domain);
    }
    let current = read_key("--key", &a.key)?;
    let next = read_key("--next-key", &a.next_key)?;
    if current == next {
        bail!("--key and --next-key hold the same key");
    }
    let (cur_hex, next_hex) = (
        rrset::key_record(&current).data_hex(),
        rrset::key_record(&next).data_hex(),
    );
    if let Some(done) = state
        .as_ref()
        .and_then(|s| already_promoted(s, &cur_hex, &next_hex))
    {
        return render_already(a, done, &domain);
    }
    let keys = Keys {
        next,
        cur_hex,
        next_hex,
    };
    promote_checked(a, now, &domain, &state_path, state, keys)
}

/// The current and next keys of a promotion.
struct Keys {
    next: dane_tlsa::Spki,
    cur_hex: String,
    next_hex: String,
}

/// The promotion once the files are known: checked, then carried out (or shown).
fn promote_checked(
    a: &PromoteArgs,
    now: rustls_pki_types::UnixTime,
    domain: &str,
    state_path: &Path,
    state: Option<State>,
    keys: Keys,
) -> anyhow::Result<Exit> {
    let Keys {
        next,
        cur_hex,
        next_hex,
    } = keys;
    let (retired, warnings) = preflight(a, state.as_ref(), &next_hex, now)?;
    if a.require_ready && !warnings.is_empty() {
        return refuse_not_ready(a, &warnings, domain, now.as_secs());
    }
    let what_if = a.update.dry_run || a.check.net.at.is_some();
    let margin = parse_duration("--margin", &a.margin)?;
    let kind = key_type(&a.key_type)?;
    let host = a.target.hosts.host()?;
    let (check, owners, ttl) = check_and_owners(a, now, host, domain, &next)?;
    if !check.ok {
        return render_not_promoted(a, &check, &warnings, domain, now.as_secs());
    }
    let plan = Pending {
        action: Action::Promote,
        started_at: now.as_secs(),
        key_file: abs(&a.key),
        from: cur_hex,
        keep_as: abs(&retired),
        replacement: abs(&a.next_key),
        to: next_hex.clone(),
        new_next_key_file: a.new_next_key.as_deref().map(abs),
        key_type: Some(kind.name().into()),
        new_next: None,
        owners,
        delete_after: now.as_secs() + u64::from(ttl) + margin,
    };
    let mut out = MoveOut::new("dane-rollover-promote", now.as_secs(), "promoted");
    out.domain = Some(domain);
    out.check = Some(&check);
    out.warnings = &warnings;
    if what_if {
        out.outcome = "dry-run";
        return run_plan(a.json, &a.update, None, out, plan);
    }
    let mut state = state.unwrap_or_else(|| State::new(&next_hex));
    run_plan(a.json, &a.update, Some((state_path, &mut state)), out, plan)
}

/// What is checked before anything is asked: the files that must not exist, and whether the
/// switch came before `dane rollover status` said ready. The retired key's name and the
/// warnings.
fn preflight(
    a: &PromoteArgs,
    state: Option<&State>,
    next_hex: &str,
    now: rustls_pki_types::UnixTime,
) -> anyhow::Result<(PathBuf, Vec<Warning>)> {
    if let Some(p) = &a.new_next_key {
        if std::fs::symlink_metadata(p).is_ok() {
            bail!(
                "--new-next-key {}: exists already; it is never overwritten",
                p.display()
            );
        }
    }
    let retired = files::stamped_path(&a.key, "retired", &clock::format_time(now));
    if std::fs::symlink_metadata(&retired).is_ok() {
        bail!("{}: exists already; nothing was moved", retired.display());
    }
    let warning = dane_check::rollover::early_switch(state, next_hex, now.as_secs());
    let warnings = warning
        .into_iter()
        .map(|message| Warning {
            code: "switched-before-ready",
            message,
        })
        .collect();
    Ok((retired, warnings))
}

/// Carries out `plan` (unless `target` is `None`: a dry run), renders it, and publishes.
fn run_plan(
    json: bool,
    opts: &UpdateOpts,
    target: Option<(&Path, &mut State)>,
    mut out: MoveOut<'_>,
    mut plan: Pending,
) -> anyhow::Result<Exit> {
    let mut created = false;
    let mut next_hex = None;
    if let Some((path, state)) = target {
        let Done {
            plan: done,
            created_next,
        } = files::start(path, state, plan)
            .context("the keys were not all moved; run the same command again to finish")?;
        (plan, created) = (done, created_next);
        out.promoted = plan.action == Action::Promote;
        next_hex = Some(state.next_key.clone());
    }
    out.new_next_key = new_next_of(&plan, created);
    // A what-if (no target: --dry-run, --at) sends nothing either.
    let opts = &UpdateOpts {
        dry_run: opts.dry_run || out.outcome == "dry-run",
        ..opts.clone()
    };
    send_and_render(opts, json, out, &plan, next_hex.as_deref())
}

/// The plan's RRset (`next_hex`: the next key, when not the plan's own), its update sent
/// (or, dry, shown), and the result printed.
fn send_and_render(
    opts: &UpdateOpts,
    json: bool,
    mut out: MoveOut<'_>,
    plan: &Pending,
    next_hex: Option<&str>,
) -> anyhow::Result<Exit> {
    let publish = publish_of(plan, next_hex)?;
    let (exit, reports) = send_updates(opts, plan, &publish)?;
    out.updates = reports;
    render_plan(out, plan, &publish, json)?;
    Ok(exit)
}

/// The last promotion, when it made `cur_hex` current and `next_hex` the next key: it is
/// done, and only its RRset may be left to publish.
fn already_promoted(state: &State, cur_hex: &str, next_hex: &str) -> Option<Pending> {
    state
        .promoted
        .clone()
        .filter(|p| p.to == cur_hex && p.new_next.as_deref() == Some(next_hex))
}

fn render_already(a: &PromoteArgs, plan: Pending, domain: &str) -> anyhow::Result<Exit> {
    eprintln!(
        "already promoted at {}: {} is current, {} the next key; the RRset to publish:",
        dane_check::report::fmt_time(plan.started_at),
        plan.key_file,
        new_next_of(&plan, false)
            .map(|k| k.path)
            .unwrap_or_default()
    );
    let mut out = MoveOut::new("dane-rollover-promote", plan.started_at, "already-promoted");
    out.domain = Some(domain);
    out.promoted = true;
    let publish = publish_of(&plan, None)?;
    let (exit, reports) = send_updates(&a.update, &plan, &publish)?;
    out.updates = reports;
    out.new_next_key = new_next_of(&plan, false);
    out.outcome = "already-promoted";
    let json = a.json;
    render_plan_quiet(out, &plan, &publish, json)?;
    Ok(exit)
}

/// [`render_plan`] without the moves (they were done by an earlier run).
fn render_plan_quiet(
    mut out: MoveOut<'_>,
    plan: &Pending,
    p: &Publish,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        return render_plan(out, plan, p, json);
    }
    out.moves.clear();
    for o in &plan.owners {
        let roles: Vec<(&'static str, &TlsaRecord)> =
            p.roles.iter().map(|(n, r)| (*n, r)).collect();
        for r in records_out(o, &roles) {
            println!("{}", r.line);
        }
        for r in &p.retire {
            eprintln!("remove now: {}", rrset::zone_line(o, None, r));
        }
    }
    Ok(())
}

/// A plan an interrupted run wrote: finished (the check was passed when it was written),
/// or shown with `--dry-run`/`--at`.
fn finish_interrupted(
    a: &PromoteArgs,
    state_path: &Path,
    mut state: State,
    what_if: bool,
    domain: &str,
) -> anyhow::Result<Exit> {
    let Some(plan) = state.pending.clone() else {
        bail!("no interrupted promotion");
    };
    if plan.key_file != abs(&a.key) || plan.replacement != abs(&a.next_key) {
        bail!(
            "--state {}: the interrupted promotion moves {} and {}, not the --key and --next-key given; run it with those",
            state_path.display(),
            plan.key_file,
            plan.replacement
        );
    }
    eprintln!(
        "{} the promotion of {} started at {} (its check passed then; a run was interrupted)",
        if what_if {
            "dry run: nothing is changed; what would finish"
        } else {
            "finishing"
        },
        plan.key_file,
        dane_check::report::fmt_time(plan.started_at)
    );
    let mut out = MoveOut::new("dane-rollover-promote", plan.started_at, "finished");
    out.domain = Some(domain);
    if what_if {
        out.outcome = "dry-run";
        return run_plan(a.json, &a.update, None, out, plan);
    }
    let Done { plan, created_next } = files::finish(state_path, &mut state)?;
    out.promoted = true;
    out.new_next_key = new_next_of(&plan, created_next);
    send_and_render(&a.update, a.json, out, &plan, None)
}

fn refuse_not_ready(
    a: &PromoteArgs,
    warnings: &[Warning],
    domain: &str,
    now: u64,
) -> anyhow::Result<Exit> {
    let mut out = MoveOut::new("dane-rollover-promote", now, "not-promoted");
    out.domain = Some(domain);
    out.warnings = warnings;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "not promoted: --require-ready: {}",
            term::sanitize(&warnings[0].message)
        );
    }
    Ok(Exit::Failure)
}

fn render_not_promoted(
    a: &PromoteArgs,
    check: &PromoteCheck,
    warnings: &[Warning],
    domain: &str,
    now: u64,
) -> anyhow::Result<Exit> {
    let mut out = MoveOut::new("dane-rollover-promote", now, "not-promoted");
    out.domain = Some(domain);
    out.check = Some(check);
    out.warnings = warnings;
    let exit = if check.indeterminate {
        Exit::Indeterminate
    } else {
        Exit::Failure
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(exit);
    }
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
    Ok(exit)
}

/// Probes every address of every host (the next key must be presented, and verify); the
/// TLSA owners senders use, and the largest TTL of their RRsets now.
fn check_and_owners(
    a: &PromoteArgs,
    now: rustls_pki_types::UnixTime,
    host: Option<String>,
    domain: &str,
    next: &dane_tlsa::Spki,
) -> anyhow::Result<(PromoteCheck, Vec<String>, u32)> {
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
        domain,
        &service,
        &options,
    );
    // The timer is made inside the runtime (it needs its reactor).
    let checked = rt.block_on(async { tokio::time::timeout(deadline, verify).await });
    let mut owners: Vec<String> = Vec::new();
    let mut ttl = 0u32;
    let Ok(report) = checked else {
        rt.shutdown_background();
        let check = PromoteCheck {
            ok: false,
            indeterminate: true,
            reason: format!(
                "indeterminate: the run's deadline of {} (--deadline) passed before every endpoint was probed",
                dane_check::rollover::readiness::fmt_duration(deadline.as_secs())
            ),
            endpoints: Vec::new(),
            unchecked: Vec::new(),
        };
        return Ok((check, owners, ttl));
    };
    let check = promote_check(&report, next);
    if !check.ok {
        rt.shutdown_background();
        return Ok((check, owners, ttl));
    }
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
            let q = dane_dnssec::Question::new(&name, RecordType::TLSA);
            let limit = resolver.config().lookup_timeout;
            let answer = resolver.answer(&q);
            if let Ok(Ok(wire)) = rt.block_on(async { tokio::time::timeout(limit, answer).await }) {
                ttl = ttl.max(dane_check::rollover::rrset_ttl(&wire, RecordType::TLSA));
            }
        }
        owners.push(owner);
    }
    rt.shutdown_background();
    Ok((check, owners, ttl))
}

/// `dane rollover rollback`.
pub fn rollback(a: &RollbackArgs, ctx: &Context) -> anyhow::Result<Exit> {
    let now = ctx.clock.as_secs();
    let owners = owners_of(&a.name, a.port)?;
    let state_path = a
        .state
        .clone()
        .unwrap_or_else(|| files::default_state_path(&a.next_key));
    let Some(mut state) = read_state(&state_path, Some("rollback"))? else {
        bail!(
            "--state {}: does not exist: there is no promotion to roll back",
            state_path.display()
        );
    };
    // An interrupted rollback is finished whatever the time: its plan was made in time.
    let plan = match state.pending.clone() {
        Some(p) if p.action == Action::Rollback && p.key_file == abs(&a.key) => p,
        Some(p) if p.action == Action::Rollback => bail!(
            "--state {}: the interrupted rollback moves keys into {}, not --key {}; run it with that",
            state_path.display(),
            p.key_file,
            a.key.display()
        ),
        Some(_) => bail!(
            "--state {}: holds an interrupted promotion; finish it with `dane rollover promote` first",
            state_path.display()
        ),
        None => match rollback_plan(a, &state, now, owners)? {
            Ok(plan) => plan,
            Err(refusal) => {
                println!("not rolled back: {}", term::sanitize(&refusal));
                return Ok(Exit::Failure);
            }
        },
    };
    let mut out = MoveOut::new("dane-rollover-rollback", now, "rolled-back");
    if a.update.dry_run {
        out.outcome = "dry-run";
        // A rollback's dry run: the plan shown, the update shown.
        return send_and_render(&a.update, a.json, out, &plan, Some(&state.next_key));
    }
    run_plan(
        a.json,
        &a.update,
        Some((&state_path, &mut state)),
        out,
        plan,
    )
}

/// The rollback plan: the last retired key back into `--key`, the key there kept; or why
/// not: the retired key's keep-until time has passed (caches may have dropped its record
/// since the promotion removed it, and senders would reject it).
fn rollback_plan(
    a: &RollbackArgs,
    state: &State,
    now: u64,
    owners: Vec<String>,
) -> anyhow::Result<Result<Pending, String>> {
    let Some(r) = state.retired.last() else {
        bail!("--state: records no retired key to put back (no promotion was made)");
    };
    if now >= r.delete_after {
        return Ok(Err(format!(
            "the keep-until time of {} ({}) has passed: caches may have dropped its record since the promotion removed it; stage it as a next key instead (dane rollover stage --next-key {})",
            r.key_file,
            dane_check::report::fmt_time(r.delete_after),
            r.key_file
        )));
    }
    let from = files::key_hex(&a.key)?
        .ok_or_else(|| anyhow::anyhow!("--key {}: does not exist", a.key.display()))?;
    let to = r
        .record
        .strip_prefix("3 1 1 ")
        .unwrap_or(&r.record)
        .to_owned();
    let stamp = clock::format_time(rustls_pki_types::UnixTime::since_unix_epoch(
        std::time::Duration::from_secs(now),
    ));
    Ok(Ok(Pending {
        action: Action::Rollback,
        started_at: now,
        key_file: abs(&a.key),
        from,
        keep_as: abs(&files::stamped_path(&a.key, "rolled-back", &stamp)),
        replacement: r.key_file.clone(),
        to,
        new_next_key_file: None,
        key_type: None,
        new_next: None,
        owners,
        delete_after: now + r.delete_after.saturating_sub(r.promoted_at),
    }))
}
