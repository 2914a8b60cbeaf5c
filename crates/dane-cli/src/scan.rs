//! `dane scan [FILE|-]`: `dane verify` over many targets, concurrently, streaming one NDJSON
//! object per target (the `dane verify --json` document plus `line` and `target`) as
//! results complete.
//!
//! One run shares one validating resolver (its cache holds the root and TLD keys for every
//! target) and one prober, limited per destination address. Memory is flat in the input
//! size: the input is read as a stream (lines bounded in length), targets in flight are
//! bounded by `-j` (and by the reorder window with `--ordered`), and nothing of a target is
//! kept once its line is written but its duration if it is among the slowest.
//!
//! Each target is evaluated at the time its check starts (the wall clock, or `--at` for
//! all): a scan running for hours does not validate its last targets at its start time,
//! when a signature that has expired since was still valid.

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::hash::{Hash as _, Hasher as _};
use std::io::{BufRead, IsTerminal as _, Read as _, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args as ClapArgs;
use dane_check::engine::{self, Dns, Options, ProbeRequest, ProbeResult, Prober};
use dane_check::live::{LiveDns, LiveProber};
use dane_check::probecache::{CachedProber, ProbeCache, ProbeCacheLimits, ProbeCacheStats};
use dane_check::query::{Target, parse_line};
use dane_check::report::{DomainVerdict, Report};
use dane_check::service::Service;
use dane_check::survey::{Exclusions, Rollup};
use rustls_pki_types::UnixTime;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::checkopts::CheckOpts;
use crate::verify::{Doc, exit_for};
use crate::{Context, Exit, clock, summary, term};

/// `dane scan`
#[derive(Debug, ClapArgs)]
#[command(after_help = "\
Input: one target a line: `example.com` (SMTP to its MX hosts), `example.com SERVICE`
(a service of the dane verify table), `host:port SERVICE` (that host and port, speaking the
service's protocol, no MX or SRV indirection). `#` starts a comment; blank lines are skipped.
A bad line is reported on stderr with its number and skipped.

Output: NDJSON on stdout, one `dane verify --json` document a line, with `line` (the input
line number) and `target` (the target as normalised) added, in completion order (--ordered:
input order). A summary goes to stderr at the end; while stderr is a terminal, a progress
bar too (done/total, rate, ETA; the total once the input is read, the count so far before).
--quiet: neither.

Exit status: 1 if any target failed (or partial; warnings with --strict; not protected with
--require-dane); else 2 if any input line was bad; else 3 if any was indeterminate; else 4 if
any was not protected; else 0.

Examples:
  dane scan domains.txt > results.ndjson
  dane scan domains.txt --resume results.ndjson >> results.ndjson
  dane scan domains.txt --shard \"$((JOB_COMPLETION_INDEX + 1))/8\" > part.ndjson")]
pub struct Args {
    /// The targets (`-` or absent: stdin).
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Most targets checked at once.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 64)]
    pub jobs: usize,
    /// Per-target deadline in seconds: a target still unfinished is reported
    /// indeterminate.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub deadline: u64,
    /// Most connections at once to one destination address (over all targets).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub per_address: usize,
    /// Write results in input order (buffering at most 8 x -j finished results).
    #[arg(long)]
    pub ordered: bool,
    /// Skip the targets that already have a result in this NDJSON file (an earlier run's
    /// output).
    #[arg(long, value_name = "RESULTS")]
    pub resume: Option<PathBuf>,
    /// Take only every Nth target, starting with the Kth (1 <= K <= N).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// No progress bar and no summary on stderr (bad input lines are still reported).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// How many of the slowest targets the summary names.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub slowest: usize,
    /// Write the results to FILE instead of stdout: streamed to a temporary file in its
    /// directory and renamed over FILE when the run ends (interrupted or not); an error
    /// (exit 2) leaves FILE as it was. With --resume FILE too, the results already there
    /// are kept.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Probe each address again offering only RSA, only ECDSA and only EdDSA signature
    /// algorithms (those not already seen), so a second certificate a server holds for the
    /// senders that negotiate another algorithm is checked too, as `dane verify` does by
    /// default. Off by default in a scan: it costs up to three handshakes per address
    /// (BENCHMARKS.md, "dane scan --all-certs").
    #[arg(long, overrides_with = "no_all_certs")]
    pub all_certs: bool,
    /// One probe per address, with the usual offer (the default of a scan).
    #[arg(long, overrides_with = "all_certs")]
    pub no_all_certs: bool,
    /// How long a probe's result is reused by every other target of the run that probes
    /// the same endpoint (address, port, dialogue, SNI, offered algorithms); a failed probe
    /// at most 30 s. 0: every target probes for itself (docs/survey.md).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub probe_cache_ttl: u64,
    /// Also write the end-of-run summary as JSON to FILE (schemas/dane-scan-summary.schema.json),
    /// atomically, as --output.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Skip the targets whose domain is listed in FILE or is under a suffix listed there
    /// (one a line: `example.com` skips it and every name under it; `#` starts a comment),
    /// as the public surveys keep their operators' opt-outs.
    #[arg(long, value_name = "FILE")]
    pub exclude: Option<PathBuf>,
    /// The flags shared with `dane verify`.
    #[command(flatten)]
    pub check: CheckOpts,
}

/// Whether a scan probes every certificate (`--all-certs`) when no flag says: chosen from
/// the measured cost (BENCHMARKS.md, "dane scan --all-certs").
const SCAN_ALL_CERTS: bool = false;

/// The longest input line accepted (a DNS name is at most 253 characters).
const MAX_LINE: usize = 1024;
/// The longest `--resume` file read (millions of results).
const MAX_RESUME: u64 = 64 << 30;
/// The longest line of a `--resume` file (one target's document).
const MAX_RESUME_LINE: usize = 16 << 20;

/// `--shard K/N`: (K - 1, N).
fn parse_shard(text: &str) -> anyhow::Result<(u64, u64)> {
    let parsed = text.split_once('/').and_then(|(k, n)| {
        let (k, n) = (k.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?);
        // `then`, not `then_some`: K - 1 only once K >= 1 is known.
        (k >= 1 && k <= n && n <= 1_000_000).then(|| (k - 1, n))
    });
    parsed.ok_or_else(|| {
        anyhow::anyhow!(
            "--shard {:?}: expected K/N with 1 <= K <= N <= 1000000",
            term::sanitize(text)
        )
    })
}

fn key_hash(key: &str) -> u64 {
    // One process computes and compares the hashes: a fixed-key SipHash is enough, and
    // 8 bytes a finished target keep --resume small for millions of results.
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// The targets already in a results file; lines that do not parse (a run killed mid-line)
/// are counted, not fatal.
fn read_resume(path: &Path) -> anyhow::Result<(HashSet<u64>, usize)> {
    #[derive(Deserialize)]
    struct Done {
        target: String,
    }
    let label = format!("--resume {}", path.display());
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("{label}: cannot read: {}", crate::input::io_reason(&e)))?;
    // Bounded in total and per line whatever the path is (a FIFO, /dev/zero).
    let mut input = std::io::BufReader::new(file.take(MAX_RESUME + 1));
    let mut done = HashSet::new();
    let mut unreadable = 0;
    let mut line = Vec::new();
    let mut total = 0u64;
    while crate::input::bounded_line(&label, &mut input, &mut line, MAX_RESUME_LINE)? {
        total += line.len() as u64 + 1;
        if total > MAX_RESUME {
            bail!("{label}: more than the {MAX_RESUME} bytes accepted");
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Done>(&line) {
            Ok(d) => {
                done.insert(key_hash(&d.target));
            }
            Err(_) => unreadable += 1,
        }
    }
    Ok((done, unreadable))
}

/// Which targets of the input this run checks: its `--shard`, less those in `--resume`.
/// The dispatcher and the progress bar's counter apply the same selection.
#[derive(Debug, Default)]
struct Selection {
    /// Targets seen so far (the shard is taken over every target line).
    ordinal: u64,
}

/// Why a target is not checked.
enum Skip {
    OtherShard,
    Resumed,
    Excluded,
}

impl Selection {
    fn take(&mut self, config: &Config, target: &Target) -> Result<(), Skip> {
        let mine = config.shard.is_none_or(|(k, n)| self.ordinal % n == k);
        self.ordinal += 1;
        if !mine {
            return Err(Skip::OtherShard);
        }
        if config.exclude.excludes(&target.domain) {
            return Err(Skip::Excluded);
        }
        if !config.done.is_empty() && config.done.contains(&key_hash(&target.key)) {
            return Err(Skip::Resumed);
        }
        Ok(())
    }
}

/// The targets a run over the file at `path` checks, counted by reading it a second time
/// (for the progress bar's total while the run reads it); `None` if it cannot be read.
fn count_targets(path: &Path, config: &Config) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    let mut selection = Selection::default();
    let mut count = 0;
    let mut failed = false;
    read_lines(std::io::BufReader::new(file), |item| match item {
        Item::Target(_, t) => {
            count += u64::from(selection.take(config, &t).is_ok());
            true
        }
        Item::Bad(..) => true,
        Item::Failed(_) => {
            failed = true;
            false
        }
    });
    (!failed).then_some(count)
}

/// The progress bar's templates: before the total is known, and once it is.
const COUNTING: &str = "{spinner} dane scan: {pos} done, {msg}, {rate} (reading the input)";
const COUNTED: &str = "{spinner} dane scan: {pos}/{len} done, {msg}, {rate}, ETA {eta}";

fn progress_style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1}/s", state.per_sec());
            },
        )
}

/// The total is known: the bar shows it and an ETA.
fn set_total(bar: &indicatif::ProgressBar, total: u64) {
    bar.set_length(total);
    bar.set_style(progress_style(COUNTED));
}

/// The progress bar on stderr: drawn only on a terminal and without --quiet.
fn progress_bar(quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(progress_style(COUNTING));
    bar.set_message("0 in flight");
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// What the reader thread hands over.
enum Item {
    Target(u64, Target),
    Bad(u64, String),
    Failed(std::io::Error),
}

/// Reads lines of at most [`MAX_LINE`] bytes (longer ones are consumed and reported),
/// handing each item to `emit` until it returns false.
fn read_lines(mut input: impl BufRead, mut emit: impl FnMut(Item) -> bool) {
    let mut number = 0u64;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let mut too_long = false;
        let mut eof = false;
        let mut length = 0usize;
        loop {
            let buf = match input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    emit(Item::Failed(e));
                    return;
                }
            };
            if buf.is_empty() {
                eof = true;
                break;
            }
            let (chunk, end) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            length = length.saturating_add(chunk.len());
            if length > MAX_LINE * 64 {
                // No line end in sight (`/dev/zero`): not a target list.
                emit(Item::Failed(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "line {}: longer than {} bytes: not a target list",
                        number + 1,
                        MAX_LINE * 64
                    ),
                )));
                return;
            }
            if line.len() + chunk.len() > MAX_LINE {
                too_long = true;
            } else {
                line.extend_from_slice(chunk);
            }
            let used = end.unwrap_or(buf.len());
            input.consume(used);
            if end.is_some() {
                break;
            }
        }
        if eof && line.is_empty() && !too_long {
            return;
        }
        number += 1;
        let item = if too_long {
            Some(Item::Bad(number, format!("longer than {MAX_LINE} bytes")))
        } else {
            match std::str::from_utf8(&line) {
                Err(_) => Some(Item::Bad(number, "not UTF-8".into())),
                Ok(text) => match parse_line(text.trim_end_matches('\r')) {
                    Ok(Some(t)) => Some(Item::Target(number, t)),
                    Ok(None) => None,
                    Err(e) => Some(Item::Bad(number, term::sanitize(&e).into_owned())),
                },
            }
        };
        if let Some(item) = item {
            if !emit(item) {
                return; // the run stopped (stdout closed)
            }
        }
        if eof {
            return;
        }
    }
}

/// [`Prober`] that lets at most `limit` probes at once reach one destination address,
/// over every target of the run. Idle addresses are forgotten, so the map holds only the
/// addresses being probed.
pub struct PerAddress<P> {
    inner: P,
    limit: usize,
    slots: Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>,
}

impl<P> PerAddress<P> {
    /// Wraps `inner`.
    pub fn new(inner: P, limit: usize) -> PerAddress<P> {
        PerAddress {
            inner,
            limit: limit.max(1),
            slots: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The same limits (shared with `self`) over another prober.
    pub fn with_inner<Q>(&self, inner: Q) -> PerAddress<Q> {
        PerAddress {
            inner,
            limit: self.limit,
            slots: self.slots.clone(),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Arc<Semaphore>>> {
        // The map is consistent after every statement: a panic elsewhere cannot leave it
        // half-updated, so a poisoned lock is still usable.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<P: Prober> Prober for PerAddress<P> {
    async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
        let slot = self
            .slots()
            .entry(request.address)
            .or_insert_with(|| Arc::new(Semaphore::new(self.limit)))
            .clone();
        // The semaphores are never closed, so acquiring only waits.
        let permit = slot.clone().acquire_owned().await.ok();
        let result = self.inner.probe(request).await;
        drop(permit);
        let mut slots = self.slots();
        // Ours and the map's: nobody else holds or waits for this address.
        if Arc::strong_count(&slot) == 2 {
            slots.remove(&request.address);
        }
        result
    }
}

/// What a scan checks a target with, made for the time that target is checked at: each
/// check gets a DNS source and a prober validating at its own `now`, over shared state
/// (the resolver and its cache, the per-address limits).
pub trait Sources: Send + Sync + 'static {
    /// The DNS source of one check.
    type Dns: Dns;
    /// The prober of one check.
    type Prober: Prober;
    /// The sources of a check evaluated at `now`.
    fn at(&self, now: UnixTime) -> (Arc<Self::Dns>, Arc<Self::Prober>);
}

/// The live sources of `scan` and `serve-metrics`: one validating resolver (its cache
/// shared by every check) and one prober under one per-address limit.
pub struct LiveSources {
    /// The resolver every check asks.
    pub resolver: Arc<dane_resolver::Resolver>,
    /// The configured prober (trust store, limits).
    pub prober: dane_probe::Prober,
    /// The per-address connection limit, shared by every check.
    pub limiter: PerAddress<()>,
    /// The probe cache in front of the limit, shared by every check (`None`:
    /// `--probe-cache-ttl 0`): a check waiting for another's probe of the same endpoint
    /// holds no connection slot.
    pub probe_cache: Option<Arc<ProbeCache>>,
}

impl LiveSources {
    /// The prober of a check at `now`: the per-address limit around a live prober, behind
    /// the shared probe cache when there is one.
    pub fn prober_at(&self, now: UnixTime) -> CachedProber<PerAddress<LiveProber>> {
        let limited = self
            .limiter
            .with_inner(LiveProber::new(self.prober.clone(), now));
        match &self.probe_cache {
            Some(cache) => cache.over(limited),
            None => CachedProber::uncached(limited),
        }
    }
}

impl Sources for LiveSources {
    type Dns = LiveDns;
    type Prober = CachedProber<PerAddress<LiveProber>>;

    fn at(&self, now: UnixTime) -> (Arc<LiveDns>, Arc<Self::Prober>) {
        (
            Arc::new(LiveDns::new(self.resolver.clone(), now)),
            Arc::new(self.prober_at(now)),
        )
    }
}

/// The time each target is evaluated at.
#[derive(Clone)]
pub enum Clock {
    /// `--at`: every target at this time.
    Fixed(UnixTime),
    /// The wall clock, read as each target's check starts: a scan running for hours
    /// validates its last target at the time it checks it, not at the scan's start (a
    /// signature that expired in between is expired).
    Wall(Arc<dyn Fn() -> UnixTime + Send + Sync>),
}

impl Clock {
    /// `--at` when given, else the system clock at each target.
    pub fn from_at(at: Option<UnixTime>) -> Clock {
        at.map_or_else(
            || Clock::Wall(Arc::new(clock::read_system_clock)),
            Clock::Fixed,
        )
    }

    /// The time to evaluate a target starting now at.
    pub fn now(&self) -> UnixTime {
        match self {
            Clock::Fixed(t) => *t,
            Clock::Wall(read) => read(),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clock::Fixed(t) => write!(f, "Fixed({})", t.as_secs()),
            Clock::Wall(_) => f.write_str("Wall"),
        }
    }
}

/// How a scan runs (from the arguments).
#[derive(Debug, Clone)]
pub struct Config {
    /// Targets in flight.
    pub jobs: usize,
    /// Per-target deadline.
    pub deadline: Duration,
    /// Input order.
    pub ordered: bool,
    /// `--shard`: (index from 0, count).
    pub shard: Option<(u64, u64)>,
    /// `--resume`: the targets done.
    pub done: HashSet<u64>,
    /// `--exclude`: the opt-outs.
    pub exclude: Exclusions,
    /// Engine options for every target (their `now` is replaced by the target's time).
    pub options: Options,
    /// `--require-dane`, `--strict`.
    pub require_dane: bool,
    /// `--strict`.
    pub strict: bool,
    /// The time each target is evaluated at (and the `at` of its document).
    pub clock: Clock,
    /// Slowest targets kept for the summary.
    pub slowest: usize,
    /// Progress on stderr (hidden when not a terminal or with --quiet).
    pub progress: indicatif::ProgressBar,
    /// Set on SIGINT or SIGTERM: no more targets are taken.
    pub stop: Arc<Stop>,
}

/// The stop of an interrupted scan: once set, the dispatcher takes no more targets and
/// targets not yet started are not checked; those in flight end (within `--deadline`).
#[derive(Debug, Default)]
pub struct Stop {
    signal: std::sync::OnceLock<&'static str>,
    notify: tokio::sync::Notify,
}

impl Stop {
    /// Stops the scan, naming the signal (the first one counts).
    pub fn trigger(&self, signal: &'static str) {
        let _ = self.signal.set(signal);
        self.notify.notify_waiters();
    }

    /// The signal that stopped the scan, if one did.
    pub fn signal(&self) -> Option<&'static str> {
        self.signal.get().copied()
    }

    /// Completes once the scan is stopped.
    pub async fn wait(&self) {
        loop {
            // Registered before the check: a trigger in between still wakes it.
            let notified = self.notify.notified();
            if self.signal().is_some() {
                return;
            }
            notified.await;
        }
    }
}

/// What a scan did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Targets checked, per verdict.
    pub verdicts: BTreeMap<&'static str, u64>,
    /// Targets that hit the deadline.
    pub deadline: u64,
    /// Bad input lines.
    pub bad_lines: u64,
    /// Skipped by --resume.
    pub resumed: u64,
    /// In other shards.
    pub other_shards: u64,
    /// Skipped by --exclude.
    pub excluded: u64,
    /// The targets written, by provider (MX host set) and verdict.
    pub rollup: Rollup,
    /// The worst exit over the targets (bad lines not included).
    pub worst: Option<Exit>,
    /// The slowest targets, slowest first.
    pub slowest: Vec<(Duration, String)>,
    /// Targets written.
    pub checked: u64,
    /// Targets taken but not started when the scan was stopped.
    pub not_started: u64,
    /// The reason of the first report whose resolver was unsuitable (said once).
    pub unsuitable: Option<String>,
    /// What the probe cache did (`None`: `--probe-cache-ttl 0`).
    pub probe_cache: Option<ProbeCacheStats>,
}

/// One finished target on its way to the writer.
struct Done {
    seq: u64,
    /// The line; `None` for a target not started because the scan was stopped.
    json: Option<String>,
    unsuitable: Option<String>,
    verdict: DomainVerdict,
    exit: Exit,
    deadline: bool,
    elapsed: Duration,
    key: String,
    /// The target's provider ([`dane_check::survey::provider`]).
    provider: Vec<String>,
    _window: OwnedSemaphorePermit,
}

#[derive(Serialize)]
struct Line<'a> {
    line: u64,
    target: &'a str,
    #[serde(flatten)]
    doc: Doc<'a>,
}

/// How bad an exit is, for "the worst over all targets".
fn rank(e: Exit) -> u8 {
    match e {
        Exit::Ok => 0,
        // Waiting is `dane rollover status`'s; a scan never returns it.
        Exit::NotProtected | Exit::Waiting => 1,
        // Not a target's exit: the run's, when it is interrupted.
        Exit::Interrupted | Exit::Terminated => 5,
        Exit::Indeterminate => 2,
        Exit::Usage => 3,
        Exit::Failure => 4,
    }
}

/// The report of a check that missed its deadline.
pub fn deadline_report(domain: &str, service: &Service, deadline: Duration) -> Report {
    Report {
        version: dane_check::report::SCHEMA_VERSION,
        domain: dane_check::dns::fqdn(domain),
        service: service.name,
        verdict: DomainVerdict::Indeterminate,
        reason: format!(
            "no verdict within the per-target deadline of {} s (--deadline)",
            deadline.as_secs()
        ),
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

/// Checks one target under the deadline, at the time it starts (`config.clock`); never
/// fails (a panic becomes an indeterminate report saying so). Returns the report, whether
/// the deadline cut it, and the time it was evaluated at.
async fn check<S: Sources>(
    sources: &S,
    target: &Target,
    config: &Config,
) -> (Report, bool, UnixTime) {
    let now = config.clock.now();
    let (dns, prober) = sources.at(now);
    let (t, mut options) = (target.clone(), config.options.clone());
    options.now = now;
    let task =
        tokio::spawn(
            async move { engine::verify(dns, prober, &t.domain, &t.service, &options).await },
        );
    let abort = task.abort_handle();
    match tokio::time::timeout(config.deadline, task).await {
        Ok(Ok(report)) => (report, false, now),
        Ok(Err(e)) => {
            let mut r = deadline_report(&target.domain, &target.service, config.deadline);
            r.reason = format!("internal error: the check did not finish: {e}");
            (r, false, now)
        }
        Err(_) => {
            abort.abort();
            (
                deadline_report(&target.domain, &target.service, config.deadline),
                true,
                now,
            )
        }
    }
}

/// Runs the scan: targets from `input`, NDJSON to `out`, bad lines and progress to stderr.
pub async fn scan<S: Sources>(
    sources: Arc<S>,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    config: Arc<Config>,
) -> anyhow::Result<Summary> {
    let (items_tx, mut items) = mpsc::channel(256);
    // A closed channel: the run stopped (stdout closed).
    std::thread::spawn(move || read_lines(input, |item| items_tx.blocking_send(item).is_ok()));
    let window = Arc::new(Semaphore::new(if config.ordered {
        config.jobs.saturating_mul(8)
    } else {
        config.jobs
    }));
    let running = Arc::new(Semaphore::new(config.jobs));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let dispatch_config = config.clone();
    let in_flight = running.clone();
    let dispatcher = tokio::spawn(async move {
        let config = dispatch_config;
        let mut s = Summary::default();
        let mut selection = Selection::default();
        let mut seq = 0u64;
        loop {
            let item = tokio::select! {
                biased;
                () = config.stop.wait() => break,
                item = items.recv() => item,
            };
            let Some(item) = item else { break };
            let (number, target) = match item {
                Item::Target(n, t) => (n, t),
                Item::Bad(n, why) => {
                    s.bad_lines += 1;
                    config
                        .progress
                        .suspend(|| eprintln!("dane scan: line {n}: {why}; skipped"));
                    continue;
                }
                Item::Failed(e) => return Err(anyhow::Error::new(e).context("reading the targets")),
            };
            match selection.take(&config, &target) {
                Ok(()) => {}
                Err(Skip::OtherShard) => {
                    s.other_shards += 1;
                    continue;
                }
                Err(Skip::Resumed) => {
                    s.resumed += 1;
                    continue;
                }
                Err(Skip::Excluded) => {
                    s.excluded += 1;
                    continue;
                }
            }
            let window = tokio::select! {
                biased;
                () = config.stop.wait() => break,
                w = window.clone().acquire_owned() => w,
            };
            let Ok(window) = window else {
                break;
            };
            let (sources, running, config, tx) = (
                sources.clone(),
                running.clone(),
                config.clone(),
                done_tx.clone(),
            );
            let this = seq;
            seq += 1;
            tokio::spawn(async move {
                let running = running.acquire_owned().await;
                if config.stop.signal().is_some() {
                    // Stopped while waiting for a slot: not started, not written.
                    let _ = tx.send(Done {
                        seq: this,
                        json: None,
                        unsuitable: None,
                        verdict: DomainVerdict::Indeterminate,
                        exit: Exit::Ok,
                        deadline: false,
                        elapsed: Duration::ZERO,
                        key: target.key,
                        provider: Vec::new(),
                        _window: window,
                    });
                    return;
                }
                let started = Instant::now();
                let (report, deadline, at) = check(&*sources, &target, &config).await;
                let elapsed = started.elapsed();
                let json = serde_json::to_string(&Line {
                    line: number,
                    target: &target.key,
                    doc: Doc {
                        at: clock::format_time(at),
                        report: &report,
                    },
                })
                .unwrap_or_else(|e| {
                    format!("{{\"line\":{number},\"error\":\"cannot serialise: {e}\"}}")
                });
                // No longer in flight once it is on its way to the writer.
                drop(running);
                let unsuitable = report
                    .resolution
                    .as_ref()
                    .filter(|r| r.unsuitable)
                    .and_then(|r| r.reason.clone());
                let _ = tx.send(Done {
                    seq: this,
                    json: Some(json),
                    unsuitable,
                    verdict: report.verdict,
                    exit: exit_for(&report, config.require_dane, config.strict),
                    deadline,
                    elapsed,
                    key: target.key,
                    provider: dane_check::survey::provider(&report),
                    _window: window,
                });
            });
        }
        // The input is read (unless stopped): every target is dispatched, so the total is
        // known.
        if config.stop.signal().is_none() {
            set_total(&config.progress, seq);
        }
        Ok(s)
    });

    let mut written = Summary::default();
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0u64;
    let mut slowest: BinaryHeap<std::cmp::Reverse<(Duration, String)>> = BinaryHeap::new();
    while let Some(done) = done_rx.recv().await {
        let ready: Vec<Done> = if config.ordered {
            pending.insert(done.seq, done);
            let mut ready = Vec::new();
            while let Some(d) = pending.remove(&next) {
                ready.push(d);
                next += 1;
            }
            ready
        } else {
            vec![done]
        };
        for d in ready {
            let Some(json) = &d.json else {
                written.not_started += 1;
                continue;
            };
            if written.unsuitable.is_none() {
                written.unsuitable.clone_from(&d.unsuitable);
            }
            out.write_all(json.as_bytes())?;
            out.write_all(b"\n")?;
            out.flush()?;
            written.checked += 1;
            *written
                .verdicts
                .entry(summary::verdict_name(d.verdict))
                .or_default() += 1;
            written.deadline += u64::from(d.deadline);
            written.rollup.add(d.provider, d.verdict);
            if written.worst.is_none_or(|w| rank(d.exit) > rank(w)) {
                written.worst = Some(d.exit);
            }
            if config.slowest > 0 {
                slowest.push(std::cmp::Reverse((d.elapsed, d.key)));
                if slowest.len() > config.slowest {
                    slowest.pop();
                }
            }
        }
        config.progress.set_position(written.checked);
        config.progress.set_message(format!(
            "{} in flight",
            config.jobs - in_flight.available_permits()
        ));
    }
    config.progress.finish_and_clear();
    let s = match dispatcher.await {
        Ok(r) => r?,
        Err(e) => bail!("the scan's dispatcher stopped: {e}"),
    };
    let mut slowest: Vec<_> = slowest.into_iter().map(|r| r.0).collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    Ok(Summary {
        slowest,
        bad_lines: s.bad_lines,
        resumed: s.resumed,
        other_shards: s.other_shards,
        excluded: s.excluded,
        ..written
    })
}

fn rate(n: u64, elapsed: Duration) -> f64 {
    // Counts far below 2^53: the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    n / elapsed.as_secs_f64().max(1e-9)
}

/// Peak resident set size of this process in KiB (Linux `VmHWM`), if known.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The exit status for a summary (see the help text).
pub fn exit_for_summary(s: &Summary) -> Exit {
    let worst = s.worst.unwrap_or(Exit::Ok);
    if s.bad_lines > 0 && rank(worst) < rank(Exit::Usage) {
        Exit::Usage
    } else {
        worst
    }
}

/// Whether `dane scan` asks every authoritative server without `--each-server` or
/// `--no-each-server`: no, from the measured cost (BENCHMARKS.md, "Every authoritative
/// server"): a bulk scan would add its extra queries to every domain.
pub const EACH_SERVER: bool = false;

/// Runs `dane scan`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    args.check.validate()?;
    if args.jobs == 0 || args.jobs > 10_000 {
        bail!("-j {}: must be 1 to 10000", args.jobs);
    }
    if args.deadline == 0 || args.deadline > 3600 {
        bail!("--deadline {}: must be 1 to 3600 seconds", args.deadline);
    }
    if args.per_address == 0 || args.per_address > 1024 {
        bail!("--per-address {}: must be 1 to 1024", args.per_address);
    }
    if args.probe_cache_ttl > MAX_PROBE_CACHE_TTL {
        bail!(
            "--probe-cache-ttl {}: must be 0 to {MAX_PROBE_CACHE_TTL} seconds",
            args.probe_cache_ttl
        );
    }
    crate::output::check_path(args.summary_json.as_deref())?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let ca_families = args.check.ca_families()?;
    let exclude = match &args.exclude {
        Some(p) => read_exclusions(p)?,
        None => Exclusions::default(),
    };
    let (done, unreadable) = match &args.resume {
        Some(p) => read_resume(p)?,
        None => (HashSet::new(), 0),
    };
    if unreadable > 0 {
        eprintln!(
            "dane scan: --resume: {unreadable} unreadable line(s) ignored (their targets are checked again)"
        );
    }
    let input: Box<dyn BufRead + Send> = match &args.input {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).map_err(|e| {
                anyhow::anyhow!(
                    "{}: cannot read: {}",
                    p.display(),
                    crate::input::io_reason(&e)
                )
            })?,
        )),
        _ => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    // `--at`, or the wall clock at each target (read here for the options' defaults only).
    let at = args
        .check
        .net
        .at
        .as_deref()
        .map(clock::parse_at)
        .transpose()?;
    let now = at.unwrap_or(ctx.clock);
    // The cache in front of the per-address limit: a target waiting for another's probe
    // of the same endpoint holds no connection slot.
    let probe_cache = (args.probe_cache_ttl > 0).then(|| {
        let limits = ProbeCacheLimits::SCAN.with_ttl(Duration::from_secs(args.probe_cache_ttl));
        Arc::new(ProbeCache::new(
            limits,
            Arc::new(dane_resolver::SystemClock::new()),
        ))
    });
    let sources = Arc::new(LiveSources {
        resolver: Arc::new(args.check.resolver()?),
        prober: args.check.prober(),
        limiter: PerAddress::new((), args.per_address),
        probe_cache: probe_cache.clone(),
    });
    let config = Arc::new(Config {
        jobs: args.jobs,
        deadline: Duration::from_secs(args.deadline),
        ordered: args.ordered,
        shard,
        done,
        exclude,
        options: {
            let mut o = args.check.options(now);
            o.all_certs = match (args.all_certs, args.no_all_certs) {
                (true, _) => true,
                (_, true) => false,
                _ => SCAN_ALL_CERTS,
            };
            o.each_server = args.check.each_server_or(EACH_SERVER);
            o.ca_families = ca_families;
            o
        },
        require_dane: args.check.require_dane,
        strict: args.check.strict,
        clock: Clock::from_at(at),
        slowest: args.slowest,
        progress: progress_bar(args.quiet),
        stop: Arc::new(Stop::default()),
    });
    let stop = config.stop.clone();
    if let Some(path) = args.input.as_ref().filter(|p| p.as_os_str() != "-") {
        // A file can be read twice: its total is known long before the run has read it
        // (the run reads at the pace of the checks). Stdin: the count so far until its end.
        if !config.progress.is_hidden() {
            let (path, counter) = (path.clone(), config.clone());
            std::thread::spawn(move || {
                if let Some(total) = count_targets(&path, &counter) {
                    if counter.progress.length().is_none() {
                        set_total(&counter.progress, total);
                    }
                }
            });
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let started = Instant::now();
    let mut streamed = open_output(args)?;
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let out: &mut dyn Write = match &mut streamed {
        Some(s) => s.writer(),
        None => &mut stdout,
    };
    let counter = config.clone();
    let result = runtime.block_on(async {
        let watcher = tokio::spawn(stop_on_signal(stop.clone()));
        let result = scan(sources, input, out, config).await;
        watcher.abort();
        result
    });
    // Probes still blocked past their deadlines are abandoned, not waited for.
    runtime.shutdown_background();
    let mut s = result?;
    s.probe_cache = probe_cache.map(|c| c.stats());
    // Interrupted or not, the results so far are published.
    if let Some(streamed) = streamed {
        streamed.commit()?;
    }
    let elapsed = started.elapsed();
    if let Some(path) = &args.summary_json {
        crate::output::emit(Some(path), &summary_json(&s, elapsed))?;
    }
    if !args.quiet {
        print_summary(&s, elapsed);
    }
    match stop.signal() {
        Some(signal) => Ok(interrupted(args, &s, signal, &counter)),
        None => Ok(exit_for_summary(&s)),
    }
}

/// Stops the scan on the first SIGINT or SIGTERM.
async fn stop_on_signal(stop: Arc<Stop>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return; // no signal handling: the default (the process ends)
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    stop.trigger(name);
}

/// The line of an interrupted scan (even with --quiet: it says how to go on) and its exit
/// status, 130 (SIGINT) or 143 (SIGTERM).
fn interrupted(args: &Args, s: &Summary, signal: &'static str, config: &Config) -> Exit {
    // The whole of a regular input file is counted again; of stdin or a FIFO, what was
    // taken before the stop.
    let total = args
        .input
        .as_ref()
        .filter(|p| p.as_os_str() != "-" && p.is_file())
        .and_then(|p| count_targets(p, config))
        .map_or_else(
            || format!("at least {}", s.checked + s.not_started),
            |n| n.to_string(),
        );
    let results = match &args.output {
        Some(p) => p.display().to_string(),
        None => stdout_file().unwrap_or_else(|| "RESULTS (the output so far)".to_owned()),
    };
    eprintln!(
        "dane scan: {signal}: interrupted after {} of {total} target(s); resume with --resume {}",
        s.checked,
        term::sanitize(&results)
    );
    if signal == "SIGTERM" {
        Exit::Terminated
    } else {
        Exit::Interrupted
    }
}

/// The file stdout is redirected to, when it is a regular file (Linux `/proc`).
fn stdout_file() -> Option<String> {
    let path = std::fs::read_link("/proc/self/fd/1").ok()?;
    path.is_file().then(|| path.display().to_string())
}

/// `--output FILE`: the temporary file the results stream to; with `--resume FILE` naming
/// the same file, the results already there are copied first (so the file is the whole
/// run's, and the next `--resume` skips them all).
fn open_output(args: &Args) -> anyhow::Result<Option<crate::output::Streamed>> {
    let Some(path) = &args.output else {
        return Ok(None);
    };
    let mut streamed = crate::output::Streamed::create(path)?;
    let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if let Some(resume) = args.resume.as_deref().filter(|r| same(r, path)) {
        // Only whole lines: a line cut by a killed run is checked again. (read_resume has
        // held the file to MAX_RESUME already; the bound holds if it grew since.)
        let copied = std::fs::File::open(resume)
            .and_then(|f| streamed.append_whole_lines(f.take(MAX_RESUME)));
        if let Err(e) = copied {
            bail!(
                "--output {}: cannot copy the results of --resume: {}",
                path.display(),
                crate::input::io_reason(&e)
            );
        }
    }
    Ok(Some(streamed))
}

/// The most `--exclude` file read (opt-out lists are short; a million names fit).
const MAX_EXCLUDE: u64 = 64 << 20;
/// The longest `--probe-cache-ttl` (a day, as the resolver's longest TTL).
const MAX_PROBE_CACHE_TTL: u64 = 86_400;
/// Providers named in the summary on stderr (`--summary-json` has them all).
const PROVIDERS_SHOWN: usize = 10;

/// `--exclude FILE`: the opt-out list, bounded in size.
fn read_exclusions(path: &Path) -> anyhow::Result<Exclusions> {
    let label = format!("--exclude {}", path.display());
    let text = crate::input::read_bounded(&label, path, MAX_EXCLUDE)?;
    Exclusions::parse(&text).map_err(|e| {
        anyhow::anyhow!(
            "{label}: {}: expected one domain or .suffix a line",
            term::sanitize(&e.to_string())
        )
    })
}

/// The providers with the most targets, one line each, on stderr.
fn print_providers(rollup: &Rollup) {
    let providers = rollup.providers();
    if providers.is_empty() {
        return;
    }
    eprintln!("  providers (MX host sets), most targets first:");
    for p in providers.iter().take(PROVIDERS_SHOWN) {
        let hosts = if p.hosts.is_empty() {
            "(no hosts)".to_owned()
        } else {
            term::sanitize(&p.hosts.join(" ")).into_owned()
        };
        let verdicts: Vec<String> = p
            .verdicts
            .by_name()
            .iter()
            .map(|(v, n)| format!("{n} {v}"))
            .collect();
        eprintln!(
            "    {hosts}: {} target(s): {}",
            p.targets,
            verdicts.join(", ")
        );
    }
    if providers.len() > PROVIDERS_SHOWN {
        eprintln!(
            "    ... and {} more (--summary-json FILE lists them all)",
            providers.len() - PROVIDERS_SHOWN
        );
    }
    let folded = rollup.folded();
    if folded.targets > 0 {
        eprintln!(
            "    {} target(s) of {} provider(s) with one target each, folded (the table was full)",
            folded.targets, folded.providers
        );
    }
}

/// The version of the `--summary-json` document (schemas/dane-scan-summary.schema.json).
const SUMMARY_VERSION: u32 = 1;

/// The `--summary-json` document.
fn summary_json(s: &Summary, elapsed: Duration) -> String {
    #[derive(Serialize)]
    struct Skipped {
        bad_lines: u64,
        resumed: u64,
        other_shards: u64,
        excluded: u64,
    }
    #[derive(Serialize)]
    struct Cache {
        handshakes: u64,
        reused: u64,
        evicted: u64,
        entries: usize,
        bytes: usize,
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        version: u32,
        targets: u64,
        elapsed_seconds: f64,
        verdicts: &'a BTreeMap<&'static str, u64>,
        deadline: u64,
        not_started: u64,
        skipped: Skipped,
        probe_cache: Option<Cache>,
        providers: Vec<dane_check::survey::ProviderCounts>,
        folded: dane_check::survey::Folded,
        peak_rss_kib: Option<u64>,
    }
    let doc = Doc {
        version: SUMMARY_VERSION,
        targets: s.checked,
        elapsed_seconds: (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        verdicts: &s.verdicts,
        deadline: s.deadline,
        not_started: s.not_started,
        skipped: Skipped {
            bad_lines: s.bad_lines,
            resumed: s.resumed,
            other_shards: s.other_shards,
            excluded: s.excluded,
        },
        probe_cache: s.probe_cache.map(|c| Cache {
            handshakes: c.probes,
            reused: c.hits,
            evicted: c.evicted,
            entries: c.entries,
            bytes: c.bytes,
        }),
        providers: s.rollup.providers(),
        folded: s.rollup.folded(),
        peak_rss_kib: peak_rss_kib(),
    };
    // Plain data: serialisation cannot fail.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn print_summary(s: &Summary, elapsed: Duration) {
    let verdicts: Vec<String> = s.verdicts.iter().map(|(v, n)| format!("{n} {v}")).collect();
    eprintln!(
        "dane scan: {} target(s) in {:.1} s ({:.0}/s){}{}",
        s.checked,
        elapsed.as_secs_f64(),
        rate(s.checked, elapsed),
        if verdicts.is_empty() { "" } else { ": " },
        verdicts.join(", ")
    );
    if s.deadline > 0 {
        eprintln!("  {} target(s) missed the --deadline", s.deadline);
    }
    if s.bad_lines + s.resumed + s.other_shards + s.excluded > 0 {
        eprintln!(
            "  skipped: {} bad line(s), {} already in --resume, {} in other shards, {} excluded",
            s.bad_lines, s.resumed, s.other_shards, s.excluded
        );
    }
    if let Some(c) = &s.probe_cache {
        eprintln!(
            "  probe cache: {} handshake(s), {} result(s) reused, {} evicted",
            c.probes, c.hits, c.evicted
        );
    }
    print_providers(&s.rollup);
    if !s.slowest.is_empty() {
        let list: Vec<String> = s
            .slowest
            .iter()
            .map(|(d, k)| format!("{} ({:.3} s)", term::sanitize(k), d.as_secs_f64()))
            .collect();
        eprintln!("  slowest: {}", list.join(", "));
    }
    if let Some(reason) = &s.unsuitable {
        eprintln!("  {}", term::sanitize(reason));
    }
    if let Some(kib) = peak_rss_kib() {
        eprintln!("  peak RSS: {kib} KiB");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dane_check::dns::{Answer, Lookup, Mx, Security, Srv};
    use dane_check::engine::Family;
    use dane_tlsa::TlsaRecord;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Every name securely does not exist; `slowN.` answers after N x 30 ms, `hang.` never.
    struct FakeDns;

    fn nx<T>(name: &str) -> Lookup<T> {
        Lookup {
            name: name.into(),
            canonical: name.into(),
            security: Security::Secure,
            answer: Answer::NxDomain,
            expires: None,
            inception: None,
            dnssec_warnings: Vec::new(),
        }
    }

    impl Dns for FakeDns {
        async fn mx(&self, domain: &str) -> Lookup<Mx> {
            if domain.starts_with("hang") {
                std::future::pending::<()>().await;
            }
            if let Some(n) = domain
                .strip_prefix("slow")
                .and_then(|r| r.split('.').next())
            {
                let n: u64 = n.parse().unwrap();
                tokio::time::sleep(Duration::from_millis(30 * n)).await;
            }
            nx(domain)
        }
        async fn addresses(&self, host: &str, _: Family) -> Lookup<IpAddr> {
            nx(host)
        }
        async fn tlsa(&self, owner: &str) -> Lookup<TlsaRecord> {
            nx(owner)
        }
        async fn srv(&self, name: &str) -> Lookup<Srv> {
            nx(name)
        }
    }

    /// The same sources whatever the time.
    struct Fixed<D, P>(Arc<D>, Arc<P>);

    impl<D: Dns, P: Prober> Sources for Fixed<D, P> {
        type Dns = D;
        type Prober = P;
        fn at(&self, _: UnixTime) -> (Arc<D>, Arc<P>) {
            (self.0.clone(), self.1.clone())
        }
    }

    /// Never asked: every target is decided by DNS.
    struct NoProber;

    impl Prober for NoProber {
        async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
            panic!("no probe expected: {request:?}")
        }
    }

    fn config(ordered: bool) -> Config {
        Config {
            jobs: 8,
            deadline: Duration::from_secs(5),
            ordered,
            shard: None,
            done: HashSet::new(),
            exclude: Exclusions::default(),
            options: Options::new(rustls_pki_types::UnixTime::since_unix_epoch(
                Duration::from_secs(1_796_083_200),
            )),
            require_dane: false,
            strict: false,
            clock: Clock::Fixed(UnixTime::since_unix_epoch(Duration::from_secs(
                1_796_083_200,
            ))),
            slowest: 2,
            progress: indicatif::ProgressBar::hidden(),
            stop: Arc::new(Stop::default()),
        }
    }

    #[derive(Deserialize)]
    struct Out {
        line: u64,
        at: String,
        target: String,
        verdict: String,
        reason: String,
    }

    fn run_scan(input: &str, config: Config) -> (Vec<Out>, Summary) {
        parse_out(run_scan_with(
            Fixed(Arc::new(FakeDns), Arc::new(NoProber)),
            input,
            config,
        ))
    }

    /// The lines of a scan read as [`Out`].
    fn parse_out((lines, s): (Vec<serde_json::Value>, Summary)) -> (Vec<Out>, Summary) {
        let parsed = lines
            .iter()
            .map(|l| serde_json::from_value(l.clone()).unwrap())
            .collect();
        (parsed, s)
    }

    fn run_scan_with<S: Sources>(
        sources: S,
        input: &str,
        config: Config,
    ) -> (Vec<serde_json::Value>, Summary) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut out = Vec::new();
        let input: Box<dyn BufRead + Send> =
            Box::new(std::io::Cursor::new(input.as_bytes().to_vec()));
        let s = rt
            .block_on(scan(Arc::new(sources), input, &mut out, Arc::new(config)))
            .unwrap();
        let lines = String::from_utf8(out).unwrap();
        let parsed = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (parsed, s)
    }

    /// SIGINT or SIGTERM: no more targets are taken, the one in flight ends (here: at its
    /// deadline), those waiting for a slot are not started, and the run returns, in input
    /// order too.
    #[test]
    fn a_stopped_scan_ends_in_flight_targets_and_takes_no_more() {
        for ordered in [false, true] {
            let mut c = config(ordered);
            c.jobs = 1;
            c.deadline = Duration::from_millis(600);
            let stop = c.stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                stop.trigger("SIGINT");
            });
            // Every target hangs until its deadline; one runs at a time.
            let input: String = (0..50).map(|i| format!("hang{i}.test\n")).collect();
            let started = Instant::now();
            let (out, s) = run_scan(&input, c);
            assert!(started.elapsed() < Duration::from_secs(5), "{ordered}");
            // The one in flight hit its deadline and was written; nothing was started
            // after the stop, and the rest of the input was not taken.
            assert_eq!(out.len(), 1, "{ordered}");
            assert!(out[0].target.starts_with("hang"), "{ordered}");
            assert_eq!((s.checked, s.deadline), (1, 1), "{ordered}");
            assert!(s.checked + s.not_started < 20, "{ordered}: {s:?}");
        }
    }

    /// A zone whose signatures expire at `expiry`: its denial is secure before, bogus
    /// from then on (as `dane-dnssec` judges an RRSIG past its expiration).
    struct Expiring {
        now: UnixTime,
        expiry: u64,
    }

    impl Dns for Expiring {
        async fn mx(&self, domain: &str) -> Lookup<Mx> {
            let mut l = nx(domain);
            if self.now.as_secs() >= self.expiry {
                l.security = Security::Bogus {
                    reason: format!("RRSIG expired at {}", self.expiry),
                };
            }
            l
        }
        async fn addresses(&self, host: &str, _: Family) -> Lookup<IpAddr> {
            nx(host)
        }
        async fn tlsa(&self, owner: &str) -> Lookup<TlsaRecord> {
            nx(owner)
        }
        async fn srv(&self, name: &str) -> Lookup<Srv> {
            nx(name)
        }
    }

    struct ExpiringSources(u64);

    impl Sources for ExpiringSources {
        type Dns = Expiring;
        type Prober = NoProber;
        fn at(&self, now: UnixTime) -> (Arc<Expiring>, Arc<NoProber>) {
            let dns = Expiring {
                now,
                expiry: self.0,
            };
            (Arc::new(dns), Arc::new(NoProber))
        }
    }

    /// A clock that moves 100 s forward each time it is read.
    fn ticking(start: u64) -> Clock {
        let next = Arc::new(std::sync::atomic::AtomicU64::new(start));
        Clock::Wall(Arc::new(move || {
            UnixTime::since_unix_epoch(Duration::from_secs(next.fetch_add(100, Ordering::SeqCst)))
        }))
    }

    /// Regression: a scan validated every target at its start time, so a signature that
    /// expired while it ran still verified its last targets. Each target is now evaluated
    /// at the time its check starts (and its document says so); `--at` stays fixed.
    #[test]
    fn a_long_scan_validates_each_target_at_its_own_time() {
        const START: u64 = 1_796_083_200;
        let input: String = (0..6).map(|n| format!("t{n}.test\n")).collect();
        let mut c = config(true);
        c.jobs = 1;
        // Targets read the clock at START, +100, ..., +500 (in the order they start, not
        // necessarily input order); the signatures expire at +250.
        c.clock = ticking(START);
        let (out, _) = parse_out(run_scan_with(ExpiringSources(START + 250), &input, c));
        let mut times: Vec<&str> = out.iter().map(|o| o.at.as_str()).collect();
        times.sort_unstable();
        let expected: Vec<String> = (0..6)
            .map(|k| {
                clock::format_time(UnixTime::since_unix_epoch(Duration::from_secs(
                    START + 100 * k,
                )))
            })
            .collect();
        assert_eq!(times, expected, "one time per target, read as it starts");
        for o in &out {
            // Expired from +300 on: what each target got matches the time it reports.
            let expired = o.at.as_str() >= expected[3].as_str();
            let verdict = if expired { "failed" } else { "nonexistent" };
            assert_eq!(o.verdict, verdict, "{} at {}: {}", o.target, o.at, o.reason);
            assert_eq!(o.reason.contains("expired"), expired, "{}", o.reason);
        }
        // --at: every target at that time, however long the run.
        let mut c = config(true);
        c.jobs = 1;
        c.clock = Clock::Fixed(UnixTime::since_unix_epoch(Duration::from_secs(START)));
        let (out, _) = parse_out(run_scan_with(ExpiringSources(START + 250), &input, c));
        assert!(
            out.iter()
                .all(|o| o.verdict == "nonexistent" && o.at == times[0])
        );
    }

    #[test]
    fn stop_wakes_every_waiter_once_set() {
        let stop = Arc::new(Stop::default());
        assert_eq!(stop.signal(), None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let waiter = tokio::spawn({
                let stop = stop.clone();
                async move { stop.wait().await }
            });
            tokio::task::yield_now().await;
            stop.trigger("SIGTERM");
            stop.trigger("SIGINT");
            tokio::time::timeout(Duration::from_secs(1), waiter)
                .await
                .unwrap()
                .unwrap();
            // Already stopped: returns at once.
            stop.wait().await;
        });
        assert_eq!(stop.signal(), Some("SIGTERM"));
    }

    #[test]
    fn shards() {
        assert_eq!(parse_shard("1/4").unwrap(), (0, 4));
        assert_eq!(parse_shard("4/4").unwrap(), (3, 4));
        for bad in ["0/4", "5/4", "1/0", "x/2", "1", "1/2/3", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn streams_every_target_and_reports_bad_lines() {
        let input = "a.test\n\n# c\nbad..name\nb.test https\r\nc.test:25 smtp\n";
        let (out, s) = run_scan(input, config(false));
        let mut lines: Vec<(u64, &str, &str)> = out
            .iter()
            .map(|o| (o.line, o.target.as_str(), o.verdict.as_str()))
            .collect();
        lines.sort_unstable();
        assert_eq!(
            lines,
            [
                (1, "a.test smtp", "nonexistent"),
                (5, "b.test https", "failed"),
                (6, "c.test:25 smtp", "failed"),
            ]
        );
        assert_eq!((s.checked, s.bad_lines), (3, 1));
        assert_eq!(s.verdicts.get("nonexistent"), Some(&1));
        assert_eq!(s.worst, Some(Exit::Failure));
        assert_eq!(exit_for_summary(&s), Exit::Failure);
        assert_eq!(s.slowest.len(), 2);
    }

    #[test]
    fn ordered_keeps_input_order_and_unordered_streams() {
        // Later lines finish first.
        let input: String = (0..6).rev().map(|n| format!("slow{n}.test\n")).collect();
        let (out, _) = run_scan(&input, config(true));
        let order: Vec<u64> = out.iter().map(|o| o.line).collect();
        assert_eq!(order, [1, 2, 3, 4, 5, 6]);
        let (out, _) = run_scan(&input, config(false));
        let order: Vec<u64> = out.iter().map(|o| o.line).collect();
        assert_eq!(order.len(), 6);
        assert_ne!(
            order,
            [1, 2, 3, 4, 5, 6],
            "completion order, not input order"
        );
    }

    #[test]
    fn a_hanging_target_meets_its_deadline() {
        let mut c = config(true);
        c.deadline = Duration::from_millis(200);
        let (out, s) = run_scan("hang.test\na.test\n", c);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].verdict, "indeterminate");
        assert!(out[0].reason.contains("deadline"), "{}", out[0].reason);
        assert_eq!(s.deadline, 1);
        assert_eq!(exit_for_summary(&s), Exit::Indeterminate);
    }

    #[test]
    fn shard_and_resume_skip_targets() {
        let input: String = (0..10).map(|n| format!("t{n}.test\n")).collect();
        let mut c = config(false);
        c.shard = Some((1, 3));
        let (out, s) = run_scan(&input, c);
        let mut got: Vec<&str> = out.iter().map(|o| o.target.as_str()).collect();
        got.sort_unstable();
        assert_eq!(got, ["t1.test smtp", "t4.test smtp", "t7.test smtp"]);
        assert_eq!(s.other_shards, 7);
        let mut c = config(false);
        c.done = ["t0.test smtp", "t9.test smtp"]
            .iter()
            .map(|k| key_hash(k))
            .collect();
        let (out, s) = run_scan(&input, c);
        assert_eq!((out.len(), s.resumed), (8, 2));
        assert!(out.iter().all(|o| o.target != "t0.test smtp"));
    }

    #[test]
    fn long_and_binary_lines_are_bad_lines() {
        let mut input = "x".repeat(MAX_LINE + 10);
        input.push_str("\na.test\n\u{0}\u{ff}\n");
        let mut bytes = input.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\nb.test");
        let (tx, mut rx) = mpsc::channel(16);
        read_lines(std::io::Cursor::new(bytes), |item| {
            tx.try_send(item).is_ok()
        });
        drop(tx);
        let mut seen = Vec::new();
        while let Ok(item) = rx.try_recv() {
            seen.push(match item {
                Item::Target(n, t) => format!("{n} ok {}", t.key),
                Item::Bad(n, why) => format!("{n} bad {why}"),
                Item::Failed(e) => format!("failed {e}"),
            });
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert!(seen[0].starts_with("1 bad longer than"), "{seen:?}");
        assert_eq!(seen[1], "2 ok a.test smtp");
        assert!(seen[2].starts_with("3 bad"), "{seen:?}");
        assert_eq!(seen[3], "4 bad not UTF-8");
        assert_eq!(seen[4], "5 ok b.test smtp", "a last line without newline");
    }

    #[test]
    fn exit_is_the_worst_verdict() {
        let s = |worst, bad| Summary {
            worst,
            bad_lines: bad,
            ..Summary::default()
        };
        assert_eq!(exit_for_summary(&s(None, 0)), Exit::Ok);
        assert_eq!(
            exit_for_summary(&s(Some(Exit::NotProtected), 0)),
            Exit::NotProtected
        );
        assert_eq!(
            exit_for_summary(&s(Some(Exit::NotProtected), 1)),
            Exit::Usage
        );
        assert_eq!(exit_for_summary(&s(Some(Exit::Failure), 1)), Exit::Failure);
        let mut order = [
            Exit::Failure,
            Exit::Ok,
            Exit::Indeterminate,
            Exit::NotProtected,
        ];
        order.sort_by_key(|e| rank(*e));
        assert_eq!(
            order,
            [
                Exit::Ok,
                Exit::NotProtected,
                Exit::Indeterminate,
                Exit::Failure
            ]
        );
    }

    /// Counts probes in flight per address.
    struct Counting {
        now: Mutex<HashMap<IpAddr, usize>>,
        max: AtomicUsize,
    }

    impl Prober for Counting {
        async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
            {
                let mut m = self.now.lock().unwrap();
                let n = m.entry(request.address).or_default();
                *n += 1;
                self.max.fetch_max(*n, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            *self.now.lock().unwrap().get_mut(&request.address).unwrap() -= 1;
            ProbeResult {
                probe: dane_check::host::Probe::Failed {
                    failure: dane_check::host::ProbeFailure::Unreachable,
                    detail: "fake".into(),
                },
                tls: None,
                chain: vec![],
                cached: false,
            }
        }
    }

    #[test]
    fn connections_per_address_are_limited_and_idle_addresses_forgotten() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let limited = Arc::new(PerAddress::new(
            Counting {
                now: Mutex::new(HashMap::new()),
                max: AtomicUsize::new(0),
            },
            2,
        ));
        rt.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..20u8 {
                let p = limited.clone();
                tasks.spawn(async move {
                    let request = ProbeRequest {
                        address: IpAddr::from([127, 0, 0, 1 + i % 2]),
                        port: 25,
                        sni: "x".into(),
                        protocol: dane_probe::Protocol::Smtp,
                        service_domain: "x".into(),
                        offer: None,
                    };
                    p.probe(&request).await
                });
            }
            while tasks.join_next().await.is_some() {}
        });
        assert_eq!(limited.inner.max.load(Ordering::SeqCst), 2);
        assert!(
            limited.slots().is_empty(),
            "no state kept for idle addresses"
        );
    }

    /// `sN.test`: a secure MX to the provider's two hosts, each with one secure address
    /// and a secure `3 1 1` TLSA RRset; `own.test`: its own host.
    struct ProviderDns;

    fn secure<T>(name: &str, answer: Answer<T>) -> Lookup<T> {
        Lookup { answer, ..nx(name) }
    }

    impl Dns for ProviderDns {
        async fn mx(&self, domain: &str) -> Lookup<Mx> {
            let hosts: &[&str] = if domain.starts_with("own") {
                &["mx.own.test."]
            } else {
                &["mx1.provider.test.", "mx2.provider.test."]
            };
            let mx = hosts
                .iter()
                .enumerate()
                .map(|(i, h)| Mx {
                    preference: u16::try_from(i).unwrap() * 10,
                    exchange: (*h).into(),
                })
                .collect();
            secure(domain, Answer::Records(mx))
        }
        async fn addresses(&self, host: &str, family: Family) -> Lookup<IpAddr> {
            match family {
                Family::V4 if host.starts_with("mx2") => {
                    secure(host, Answer::Records(vec!["192.0.2.2".parse().unwrap()]))
                }
                Family::V4 => secure(host, Answer::Records(vec!["192.0.2.1".parse().unwrap()])),
                Family::V6 => secure(host, Answer::NoData),
            }
        }
        async fn tlsa(&self, owner: &str) -> Lookup<TlsaRecord> {
            let record = dane_check::observe::parse_tlsa(&format!("3 1 1 {}", "ab".repeat(32)));
            secure(owner, Answer::Records(vec![record.unwrap()]))
        }
        async fn srv(&self, name: &str) -> Lookup<Srv> {
            nx(name)
        }
    }

    /// Counts the probes of each (address, SNI); every probe finds the server unreachable.
    #[derive(Default)]
    struct CountingProber(Mutex<HashMap<(IpAddr, String), usize>>);

    impl Prober for CountingProber {
        async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
            *self
                .0
                .lock()
                .unwrap()
                .entry((request.address, request.sni.clone()))
                .or_default() += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
            ProbeResult {
                probe: dane_check::host::Probe::Failed {
                    failure: dane_check::host::ProbeFailure::Timeout,
                    detail: "no banner".into(),
                },
                tls: None,
                chain: Vec::new(),
                cached: false,
            }
        }
    }

    fn provider_config() -> Config {
        let mut c = config(false);
        c.options.address_policy = dane_resolver::AddressPolicy::AllowAll;
        c
    }

    #[test]
    fn targets_sharing_mx_hosts_make_one_probe_per_endpoint() {
        let input: String = (0..40).map(|n| format!("s{n}.test\n")).collect();
        let counting = Arc::new(CountingProber::default());
        let cache = Arc::new(ProbeCache::new(
            ProbeCacheLimits::SCAN,
            Arc::new(dane_resolver::SystemClock::new()),
        ));
        let prober = Arc::new(cache.over(PerAddress::new(SharedProber(counting.clone()), 2)));
        let (out, s) = run_scan_with(
            Fixed(Arc::new(ProviderDns), prober),
            &input,
            provider_config(),
        );
        assert_eq!(out.len(), 40);
        let counts = counting.0.lock().unwrap().clone();
        assert_eq!(counts.len(), 2, "{counts:?}");
        assert!(counts.values().all(|n| *n == 1), "{counts:?}");
        let cached = out
            .iter()
            .flat_map(|o| o["hosts"].as_array().unwrap())
            .flat_map(|h| h["endpoints"].as_array().unwrap())
            .filter(|e| e["cached"] == true)
            .count();
        assert_eq!(cached, 78, "every endpoint but the two probed says cached");
        let stats = cache.stats();
        assert_eq!((stats.probes, stats.hits), (2, 78));
        // The roll-up: one provider, every target with the same verdict (the servers do not
        // answer).
        let providers = s.rollup.providers();
        assert_eq!(providers.len(), 1);
        assert_eq!(
            providers[0].hosts,
            ["mx1.provider.test", "mx2.provider.test"]
        );
        assert_eq!(providers[0].targets, 40);
        let verdict = out[0]["verdict"].as_str().unwrap();
        assert_eq!(providers[0].verdicts.by_name().get(verdict), Some(&40));
    }

    #[test]
    fn without_the_cache_every_target_probes() {
        let input: String = (0..10).map(|n| format!("s{n}.test\n")).collect();
        let counting = Arc::new(CountingProber::default());
        let prober = Arc::new(CachedProber::uncached(SharedProber(counting.clone())));
        let (out, _) = run_scan_with(
            Fixed(Arc::new(ProviderDns), prober),
            &input,
            provider_config(),
        );
        assert_eq!(out.len(), 10);
        let counts = counting.0.lock().unwrap().clone();
        assert!(counts.values().all(|n| *n == 10), "{counts:?}");
    }

    #[test]
    fn excluded_targets_are_counted_not_checked() {
        let input = "s1.test\nown.test\nmail.gov.example\ngov.example\ns2.test\n";
        let mut c = provider_config();
        c.exclude = Exclusions::parse("# opt-outs\n.gov.example\ns2.test\n").unwrap();
        let counting = Arc::new(CountingProber::default());
        let prober = Arc::new(CachedProber::uncached(SharedProber(counting)));
        let (out, s) = run_scan_with(Fixed(Arc::new(ProviderDns), prober), input, c);
        let mut got: Vec<&str> = out.iter().map(|o| o["target"].as_str().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, ["gov.example smtp", "own.test smtp", "s1.test smtp"]);
        assert_eq!(s.excluded, 2);
        let json: serde_json::Value =
            serde_json::from_str(&summary_json(&s, Duration::from_secs(1))).unwrap();
        assert_eq!(json["skipped"]["excluded"], 2);
        assert_eq!(json["targets"], 3);
        let providers = json["providers"].as_array().unwrap();
        assert_eq!(providers.len(), 2, "{json}");
        assert!(
            providers
                .iter()
                .any(|p| p["hosts"] == serde_json::json!(["mx.own.test"]))
        );
    }

    /// A prober shared with the test, which reads its counts afterwards.
    struct SharedProber(Arc<CountingProber>);

    impl Prober for SharedProber {
        async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
            self.0.probe(request).await
        }
    }
}
