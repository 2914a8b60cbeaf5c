//! `--update SERVER --tsig-key FILE`: the RRset change sent to the primary as an RFC 2136
//! update with TSIG (dane-resolver's `update`), after the diff is shown; `--dry-run`
//! shows it and sends nothing.

use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use dane_check::rollover::rrset::{self, Diff};
use dane_resolver::update::{self, RrsetChange, TsigKey, UpdateError};
use dane_tlsa::TlsaRecord;
use hickory_proto::rr::Name;
use serde::Serialize;

use crate::{Exit, term};

/// The publishing flags.
#[derive(Debug, Clone, ClapArgs)]
pub struct UpdateOpts {
    /// Publish the change with an RFC 2136 dynamic update sent to the zone's primary
    /// SERVER (ADDR or ADDR:PORT), signed with --tsig-key.
    #[arg(long, value_name = "SERVER", requires = "tsig_key")]
    pub update: Option<String>,
    /// The TSIG key for --update: Knot `keymgr -t` output (its `key:` section), a BIND
    /// `key "NAME" { ... };` file (`tsig-keygen`, `ddns-confgen`), or `nsupdate -y`'s
    /// ALG:NAME:SECRET. The secret is read from the file only, never from the arguments.
    #[arg(long, value_name = "FILE", requires = "update")]
    pub tsig_key: Option<PathBuf>,
    /// The key to use when the --tsig-key file defines several.
    #[arg(long, value_name = "NAME", requires = "tsig_key")]
    pub tsig_key_name: Option<String>,
    /// The zone to update (default: the zone the primary names in its SOA answer).
    #[arg(long, value_name = "ZONE", requires = "update")]
    pub zone: Option<String>,
    /// A what-if: show the key files that would be made or moved and the update that would
    /// be sent; change no file, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// TTL of the records added (default: the TTL of the RRset published now, or 3600).
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u32>,
}

/// The wall clock, for TSIG only (RFC 8945 5.2.3: the primary checks the time against its
/// own clock within the fudge). It is the one clock read besides the run's (`--at` does not
/// replace it: TSIG is about real time), and it is read again for each message, just before
/// it is signed: a `promote` that probes for minutes still signs with the time of sending.
pub(crate) fn wall_clock() -> u64 {
    #[allow(clippy::disallowed_methods)]
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What an update did, for the text and JSON outputs.
#[derive(Debug, Serialize)]
pub struct UpdateReport {
    /// The primary.
    pub server: String,
    /// The zone updated.
    pub zone: String,
    /// The owner.
    pub owner: String,
    /// The RRset as read from the primary (zone-file lines).
    pub published: Vec<String>,
    /// Lines added.
    pub add: Vec<String>,
    /// Lines deleted.
    pub delete: Vec<String>,
    /// `sent`, `dry-run`, `nothing-to-do` or `failed`.
    pub result: &'static str,
    /// The failure, when it failed.
    pub error: Option<String>,
}

/// A prepared update: the change and its report.
struct Prepared {
    server: std::net::SocketAddr,
    key: TsigKey,
    change: RrsetChange,
    /// The report (result filled in by [`send`]).
    pub report: UpdateReport,
}

const DEFAULT_TTL: u32 = 3600;
const TIMEOUT: Duration = Duration::from_secs(10);

/// What [`prepare`] gives: nothing to do (no `--update`), a change ready to show and send,
/// or a failure already reported on stderr with its exit code (the primary could not be
/// read: indeterminate).
enum Plan {
    /// No `--update`.
    None,
    /// Ready.
    Ready(Box<Prepared>),
    /// Reported; exit with this.
    Failed(Exit),
}

/// Publishes one owner's RRset: reads it from the primary and works out the change (as
/// [`prepare`]), shows the diff and sends it (as [`send`]). Gives the exit code a failure
/// maps to ([`Exit::Ok`] when none) and the report, when an update was prepared.
pub fn publish(
    opts: &UpdateOpts,
    runtime: &tokio::runtime::Runtime,
    owner: &str,
    wanted: &[TlsaRecord],
    retire: &[TlsaRecord],
) -> anyhow::Result<(Exit, Option<UpdateReport>)> {
    Ok(match prepare(opts, runtime, owner, wanted, retire)? {
        Plan::None => (Exit::Ok, None),
        Plan::Failed(e) => (e, None),
        Plan::Ready(mut p) => {
            show_diff(&p, opts.dry_run);
            let exit = send(&mut p, opts.dry_run, runtime).unwrap_or(Exit::Ok);
            (exit, Some(p.report))
        }
    })
}

/// Reads the RRset at `owner` from the primary and works out the change that gives it every
/// record of `wanted` and none of `retire`.
fn prepare(
    opts: &UpdateOpts,
    runtime: &tokio::runtime::Runtime,
    owner: &str,
    wanted: &[TlsaRecord],
    retire: &[TlsaRecord],
) -> anyhow::Result<Plan> {
    let (Some(server_text), Some(key_path)) = (&opts.update, &opts.tsig_key) else {
        return Ok(Plan::None);
    };
    let server = dane_resolver::parse_server(server_text)
        .with_context(|| format!("--update {:?}", term::sanitize(server_text)))?;
    let key_text = crate::tlsa::read_input("--tsig-key", key_path, false)?;
    let key = TsigKey::parse_named(
        &String::from_utf8_lossy(&key_text),
        opts.tsig_key_name.as_deref(),
    )
    .with_context(|| format!("--tsig-key {}", key_path.display()))?;
    let owner_name = Name::from_str(owner).with_context(|| format!("owner {owner}"))?;
    let zone = match &opts.zone {
        Some(z) => {
            let mut n =
                Name::from_str(z).with_context(|| format!("--zone {:?}", term::sanitize(z)))?;
            n.set_fqdn(true);
            Some(n)
        }
        None => None,
    };
    let read = match runtime.block_on(update::read_rrset(
        server,
        &owner_name,
        zone.as_ref(),
        &key,
        &wall_clock,
        TIMEOUT,
    )) {
        Ok(r) => r,
        // Blocked, not indeterminate: the primary answered, and the owner cannot take the
        // records, or it refused the key.
        Err(
            e @ (UpdateError::Alias { .. }
            | UpdateError::TsigRefused { .. }
            | UpdateError::Unsigned { .. }),
        ) => {
            eprintln!(
                "dane: --update {server}: reading {owner} TLSA: {}",
                term::sanitize(&e.to_string())
            );
            return Ok(Plan::Failed(Exit::Failure));
        }
        Err(e) => {
            eprintln!(
                "dane: --update {server}: reading {owner} TLSA: {}",
                term::sanitize(&e.to_string())
            );
            return Ok(Plan::Failed(Exit::Indeterminate));
        }
    };
    let published: Vec<TlsaRecord> = read
        .records
        .iter()
        .filter_map(|rd| dane_tlsa::TlsaRecord::from_rdata(rd).ok())
        .collect();
    let diff: Diff = rrset::diff(&published, wanted, retire);
    let ttl = opts.ttl.or(read.ttl).unwrap_or(DEFAULT_TTL);
    let line = |r: &TlsaRecord| rrset::zone_line(owner, Some(ttl), r);
    let report = UpdateReport {
        server: server.to_string(),
        zone: read.zone.to_string(),
        owner: owner.to_owned(),
        published: published.iter().map(line).collect(),
        add: diff.add.iter().map(line).collect(),
        delete: diff.delete.iter().map(line).collect(),
        result: "dry-run",
        error: None,
    };
    let change = RrsetChange {
        zone: read.zone,
        owner: owner_name,
        ttl,
        expected: read.records,
        delete: diff.delete.iter().map(TlsaRecord::to_rdata).collect(),
        add: diff.add.iter().map(TlsaRecord::to_rdata).collect(),
    };
    Ok(Plan::Ready(Box::new(Prepared {
        server,
        key,
        change,
        report,
    })))
}

/// After an accepted update, reads the RRset again: a primary that accepted the update but
/// serves something else (a policy that drops records, data added at a name that became
/// an alias) is a failure, never "sent". A read that fails is only a warning: the answer to
/// the update was TSIG-verified, and `dane rollover status` asks every server anyway.
fn read_back(p: &mut Prepared, runtime: &tokio::runtime::Runtime) -> Option<Exit> {
    let c = &p.change;
    let mut want: Vec<&Vec<u8>> = c
        .expected
        .iter()
        .filter(|r| !c.delete.contains(r))
        .chain(c.add.iter())
        .collect();
    want.sort();
    want.dedup();
    let read = runtime.block_on(update::read_rrset(
        p.server,
        &c.owner,
        Some(&c.zone),
        &p.key,
        &wall_clock,
        TIMEOUT,
    ));
    match read {
        Ok(read) => {
            let mut served: Vec<&Vec<u8>> = read.records.iter().collect();
            served.sort();
            served.dedup();
            if served == want {
                return None;
            }
            let error = format!(
                "{} accepted the update but serves {} TLSA record(s) at {}, not the {} wanted",
                p.server,
                served.len(),
                p.report.owner,
                want.len()
            );
            eprintln!("dane: --update {}", term::sanitize(&error));
            p.report.result = "failed";
            p.report.error = Some(error);
            Some(Exit::Failure)
        }
        Err(e @ UpdateError::Alias { .. }) => {
            eprintln!("dane: --update {}", term::sanitize(&e.to_string()));
            p.report.result = "failed";
            p.report.error = Some(e.to_string());
            Some(Exit::Failure)
        }
        Err(e) => {
            eprintln!(
                "dane: warning: --update {}: reading the RRset back: {}",
                p.server,
                term::sanitize(&e.to_string())
            );
            None
        }
    }
}

/// Prints the diff on stderr (before anything is sent).
fn show_diff(p: &Prepared, dry_run: bool) {
    let r = &p.report;
    eprintln!(
        "update of {} at {} (zone {}){}:",
        r.owner,
        r.server,
        r.zone,
        if dry_run { ", dry run" } else { "" }
    );
    if r.add.is_empty() && r.delete.is_empty() {
        eprintln!("  no change: the primary already serves this RRset");
    }
    for l in &r.delete {
        eprintln!("- {l}");
    }
    for l in &r.add {
        eprintln!("+ {l}");
    }
}

/// Sends the update (unless a dry run or nothing changes), signed at the wall clock read
/// just before; the exit code a failure maps to.
fn send(p: &mut Prepared, dry_run: bool, runtime: &tokio::runtime::Runtime) -> Option<Exit> {
    if dry_run {
        p.report.result = "dry-run";
        return None;
    }
    if p.change.add.is_empty() && p.change.delete.is_empty() {
        p.report.result = "nothing-to-do";
        return None;
    }
    match runtime.block_on(update::send_update(
        p.server,
        &p.change,
        &p.key,
        &wall_clock,
        TIMEOUT,
    )) {
        Ok(()) => {
            p.report.result = "sent";
            eprintln!("update sent: {} accepted it", p.server);
            read_back(p, runtime)
        }
        Err(e) => {
            let exit = match e {
                UpdateError::Exchange { .. } => Exit::Indeterminate,
                UpdateError::BadKey(_) | UpdateError::Build(_) => Exit::Usage,
                _ => Exit::Failure,
            };
            eprintln!(
                "dane: --update {}: {}",
                p.server,
                term::sanitize(&e.to_string())
            );
            p.report.result = "failed";
            p.report.error = Some(e.to_string());
            Some(exit)
        }
    }
}
