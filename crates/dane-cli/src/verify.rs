//! `dane verify DOMAIN`: RFC 7672 SMTP DANE end to end, rendered for people or as JSON.
//! The checking is dane-check's; this module parses arguments, loads candidate files,
//! renders the report and maps its verdict to the exit code.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{ArgGroup, Args as ClapArgs};
use std::sync::Arc;

use dane_check::Status;
use dane_check::engine::{Options, TlsaSet};
use dane_check::evidence::{Bundle, Recorder, ReplayDns, ReplayProber};
use dane_check::host::Candidate;
use dane_check::live::{LiveDns, LiveProber};
use dane_check::report::{AddressLookup, DomainVerdict, EndpointReport, HostReport, Report};
use dane_check::service::Service;
use dane_tlsa::RecordStatus;
use serde::Serialize;

use crate::checkopts::CheckOpts;
use crate::probe::StartTls;
use crate::tlsa::{read_input, read_zone_fragment, shown_data};
use crate::{Context, Exit, clock, term};

/// `dane verify`
#[derive(Debug, ClapArgs)]
#[command(group(ArgGroup::new("candidate").args(["cert", "key", "csr"])))]
#[command(after_help = "\
Checks delivery to DOMAIN as a DANE sender would (RFC 7672): the MX lookup, every MX host in
preference order, every IPv4 and IPv6 address, the TLSA records (following CNAMEs for the base
domain), STARTTLS and the chain each server presents, with DNSSEC validated from the trust
anchor by dane itself. Other services: --service (SRV targets when published, RFC 7673) or
--port N --starttls PROTO (the domain itself, RFC 7671).

Verdicts: verified, partial, failed, unauthenticated-tls, not-protected, indeterminate,
nonexistent. Exit status: 0 verified; 1 failed or partial (or any warning with --strict, or
not protected with --require-dane); 2 bad input; 3 indeterminate; 4 not protected,
unauthenticated TLS, or nonexistent.

Rollover pre-checks: --cert/--key/--csr judge a certificate or key that is not deployed yet
against the TLSA records published now (no connection to the servers); --tlsa FILE checks a
candidate TLSA set against the live servers; both together report whether the candidate set
is rollover-ready (it covers the current certificates and the new one).

Examples:
  dane verify example.com
  dane verify example.com --json --warn-days 14
  dane verify example.com --csr next.csr
  dane verify example.com --tlsa zone/tlsa.fragment --cert new-chain.pem
  dane verify example.com --save-evidence run.json && dane verify --evidence run.json --at 2027-01-01")]
pub struct Args {
    /// The domain: the next-hop mail domain for SMTP, the service domain otherwise.
    #[arg(value_name = "DOMAIN", required_unless_present = "evidence")]
    pub domain: Option<String>,
    /// --service, --port, --host, --starttls (shared with `dane rollover promote`).
    #[command(flatten)]
    pub target: ProbeTargetOpts,
    /// Output: text, json (schema in the README), nagios (a monitoring plugin: one status
    /// line with perfdata, exit 0/1/2/3), openmetrics (Prometheus textfile collector).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub format: Format,
    /// The same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Write the result to FILE instead of stdout, atomically (a temporary file in its
    /// directory, renamed over it) whatever the verdict; an error (exit 2) leaves FILE as
    /// it was.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rollover pre-check: a new certificate chain (PEM or DER, leaf first).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Rollover pre-check: a new private key (PKCS#8, PKCS#1, SEC1).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Rollover pre-check: a CSR for the new key (PKCS#10).
    #[arg(long, value_name = "FILE")]
    pub csr: Option<PathBuf>,
    /// A candidate TLSA set (zone-file lines) to use instead of the published one.
    #[arg(long, value_name = "FILE")]
    pub tlsa: Option<PathBuf>,
    /// Ask for a spare TLSA record: the no-spare-record advice (a single record that
    /// matches, RFC 7671 8.1) then counts as a warning (nagios WARNING, a --strict failure).
    #[arg(long)]
    pub require_spare: bool,
    /// Probe each address once, with the usual offer of signature algorithms. By default
    /// each address is probed again offering only RSA, only ECDSA and only EdDSA (those
    /// not already seen), so a second certificate the server holds for the senders that
    /// negotiate another algorithm is checked too: each distinct chain is an endpoint.
    #[arg(long)]
    pub no_all_certs: bool,
    /// Write every DNS message and probe result used to FILE (JSON), for --evidence.
    #[arg(long, value_name = "FILE", conflicts_with = "evidence")]
    pub save_evidence: Option<PathBuf>,
    /// Replay a saved run offline (DOMAIN optional; --at re-judges it at another time).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["resolver", "service", "port"])]
    pub evidence: Option<PathBuf>,
    /// The flags shared with `dane scan`.
    #[command(flatten)]
    pub check: CheckOpts,
}

/// Which hosts a run checks: `--service`, `--port`, `--host`, flattened into `dane verify`
/// (through [`ProbeTargetOpts`]) and `dane rollover status` (which probes nothing, so it
/// takes no `--starttls`).
#[derive(Debug, ClapArgs)]
pub struct TargetOpts {
    /// The service: smtp (MX hosts, RFC 7672), submission, smtps, imap, imaps, pop3, pop3s,
    /// xmpp-client, xmpp-server (SRV when published, RFC 7673), https.
    #[arg(
        long,
        value_name = "S",
        value_parser = crate::docs::Names::services(),
        default_value = "smtp",
        conflicts_with = "port"
    )]
    pub service: String,
    /// A port instead of a named service: DOMAIN itself (or --host) at N, no MX or SRV
    /// indirection (RFC 7671).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Check this one host instead of the domain's hosts (its MX hosts for smtp, its SRV
    /// targets or itself otherwise).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

/// [`TargetOpts`] and the dialogue the probes speak on `--port`: `dane verify` and
/// `dane rollover promote`.
#[derive(Debug, ClapArgs)]
pub struct ProbeTargetOpts {
    /// --service, --port, --host.
    #[command(flatten)]
    pub hosts: TargetOpts,
    /// The dialogue before TLS on --port: smtp, imap, pop3, xmpp-client, xmpp-server, none.
    #[arg(
        long,
        value_enum,
        value_name = "PROTO",
        requires = "port",
        default_value = "none"
    )]
    pub starttls: StartTls,
}

impl TargetOpts {
    /// `--host`, normalised (IDNA A-label, lower case, no final dot) as DOMAIN is, or a
    /// one-line error naming it.
    pub fn host(&self) -> anyhow::Result<Option<String>> {
        self.host
            .as_deref()
            .map(|h| {
                dane_tlsa::normalize_host(h)
                    .with_context(|| format!("--host {:?}", term::sanitize(h)))
            })
            .transpose()
    }

    /// The service named by `--service NAME`, or `--port N` with the `starttls` dialogue
    /// (no MX or SRV indirection).
    pub fn service(&self, starttls: StartTls) -> anyhow::Result<Service> {
        if let Some(port) = self.port {
            let protocol = starttls.protocol(port);
            return Ok(dane_check::service::custom(port, protocol));
        }
        let name = &self.service;
        dane_check::service::by_name(name).ok_or_else(|| {
            let names: Vec<&str> = dane_check::service::SERVICES
                .iter()
                .map(|s| s.name)
                .collect();
            anyhow::anyhow!(
                "--service {:?}: unknown service (one of {}; or --port N --starttls PROTO)",
                term::sanitize(name),
                names.join(", ")
            )
        })
    }
}

impl ProbeTargetOpts {
    /// The service of `--service`, or of `--port` with the `--starttls` dialogue.
    pub fn service(&self) -> anyhow::Result<Service> {
        self.hosts.service(self.starttls)
    }
}

/// Runs `dane verify`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    if args.format() == Format::Nagios {
        // Monitoring-plugins guidelines: a check that cannot run is UNKNOWN (3), with one
        // status line on stdout.
        return run_checked(args, ctx).or_else(|e| Ok(crate::nagios::unknown(&e)));
    }
    run_checked(args, ctx)
}

fn run_checked(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    args.check.validate()?;
    crate::output::check_path(args.output.as_deref())?;
    // A bad --host is refused before anything else, a replay included.
    args.target.hosts.host()?;
    if let Some(path) = &args.evidence {
        return replay(args, ctx, path);
    }
    let Some(domain_arg) = &args.domain else {
        bail!("DOMAIN is required (or --evidence FILE)");
    };
    let now = ctx.now(args.check.net.at.as_deref())?;
    let service = args.target.service()?;
    let domain = dane_tlsa::normalize_host(domain_arg)
        .with_context(|| format!("DOMAIN {:?}", term::sanitize(domain_arg)))?;
    let options = options(args, now)?;
    let resolver = args.check.resolver()?;
    // Read now, so a bundle records exactly the anchors this run used.
    let anchors_text = match (&args.save_evidence, &args.check.net.trust_anchor) {
        (Some(_), Some(path)) => Some(crate::input::read_bounded(
            &format!("--trust-anchor {}", path.display()),
            path,
            crate::input::MAX_ANCHORS,
        )?),
        _ => None,
    };
    let prober = args.check.prober();
    let recorder = args.save_evidence.as_ref().map(|_| Recorder::new());
    let mut dns = LiveDns::new(Arc::new(resolver), now);
    let mut prober = LiveProber::new(prober, now);
    if let Some(r) = &recorder {
        dns = dns.with_recorder(r.clone());
        prober = prober.with_recorder(r.clone());
    }
    let started = std::time::Instant::now();
    let report = run_engine(Arc::new(dns), Arc::new(prober), &domain, &service, &options)?;
    let elapsed = started.elapsed();
    if let (Some(path), Some(recorder)) = (&args.save_evidence, &recorder) {
        let (dns_items, probes) = recorder.take();
        let custom = service.name == "custom";
        let bundle = Bundle {
            kind: dane_check::evidence::KIND.into(),
            version: dane_check::evidence::VERSION,
            domain: report.domain.clone(),
            service: service.name.into(),
            port: custom.then_some(service.port),
            protocol: custom.then(|| service.protocol.name().to_owned()),
            host: args.target.hosts.host.clone(),
            at: now.as_secs(),
            anchors: anchors_text,
            dns: dns_items,
            probes,
            resolution: recorder.resolution(),
            servers: recorder.take_servers(),
        };
        let mut text = serde_json::to_string_pretty(&bundle)?;
        text.push('\n');
        std::fs::write(path, text)
            .with_context(|| format!("--save-evidence {}", path.display()))?;
    }
    render(&report, args, ctx, now, elapsed)
}

/// The engine options every run takes from the arguments.
fn options(args: &Args, now: rustls_pki_types::UnixTime) -> anyhow::Result<Options> {
    let mut options = args.check.options(now);
    options.host = args.target.hosts.host()?;
    options.candidate = load_candidate(args)?;
    options.tlsa_override = load_tlsa_override(args)?;
    options.all_certs = !args.no_all_certs;
    Ok(options)
}

/// Runs the engine once on a runtime of its own.
pub fn run_engine<D: dane_check::engine::Dns, P: dane_check::engine::Prober>(
    dns: Arc<D>,
    prober: Arc<P>,
    domain: &str,
    service: &Service,
    options: &Options,
) -> anyhow::Result<Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(dane_check::engine::verify(
        dns, prober, domain, service, options,
    ));
    // A probe still blocked past its deadline is abandoned, not waited for.
    runtime.shutdown_background();
    Ok(report)
}

/// Evidence files larger than this are refused (a recorded run is a few hundred KiB).
const MAX_EVIDENCE: u64 = 64 << 20;

/// `--evidence FILE`: the same checks over a saved run, offline.
fn replay(args: &Args, ctx: &Context, path: &std::path::Path) -> anyhow::Result<Exit> {
    let label = format!("--evidence {}", path.display());
    let text = crate::input::read_bounded(&label, path, MAX_EVIDENCE)?;
    let bundle = Bundle::from_json(&text).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    if let Some(d) = &args.domain {
        let d = dane_tlsa::normalize_host(d)
            .with_context(|| format!("DOMAIN {:?}", term::sanitize(d)))?;
        if d != bundle.domain.trim_end_matches('.') && format!("{d}.") != bundle.domain {
            bail!(
                "{label}: recorded for {}, not {d}",
                term::sanitize(&bundle.domain)
            );
        }
    }
    let service = match (bundle.service.as_str(), bundle.port, &bundle.protocol) {
        ("custom", Some(port), Some(p)) => {
            let protocol = dane_check::evidence::protocol_named(p).ok_or_else(|| {
                anyhow::anyhow!("{label}: unknown protocol {:?}", term::sanitize(p))
            })?;
            dane_check::service::custom(port, protocol)
        }
        (name, _, _) => dane_check::service::by_name(name).ok_or_else(|| {
            anyhow::anyhow!("{label}: unknown service {:?}", term::sanitize(name))
        })?,
    };
    let now = match &args.check.net.at {
        Some(at) => clock::parse_at(at)?,
        None => {
            rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(bundle.at))
        }
    };
    let anchors = match (&args.check.net.trust_anchor, &bundle.anchors) {
        (Some(p), _) => crate::input::read_anchors(p)?,
        (None, Some(text)) => dane_dnssec::TrustAnchors::parse(text)
            .map_err(|e| anyhow::anyhow!("{label}: the recorded trust anchors: {e}"))?,
        (None, None) => dane_dnssec::TrustAnchors::iana_root(),
    };
    let evidence = bundle
        .evidence()
        .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    let mut options = options(args, now)?;
    if options.host.is_none() {
        options.host.clone_from(&bundle.host);
    }
    // A replay connects nowhere: the recording's probes stand, whatever their addresses.
    options.address_policy = dane_resolver::AddressPolicy::AllowAll;
    // The restricted offers are replayed when they were recorded (never in bundles of
    // older versions), unless --no-all-certs leaves them out.
    options.all_certs = bundle.all_certs() && !args.no_all_certs;
    let dns = Arc::new(
        ReplayDns::new(evidence, anchors, now)
            .with_resolution(bundle.resolution)
            .with_servers(bundle.servers),
    );
    let prober = Arc::new(ReplayProber::new(bundle.probes));
    let started = std::time::Instant::now();
    let report = run_engine(dns, prober, &bundle.domain, &service, &options)?;
    render(&report, args, ctx, now, started.elapsed())
}

/// Loads `--cert`, `--key` or `--csr`.
pub fn load_candidate(args: &Args) -> anyhow::Result<Option<Candidate>> {
    if let Some(path) = &args.cert {
        let bytes = read_input("--cert", path, false)?;
        let chain = dane_tlsa::parse_certificates(&bytes)
            .with_context(|| format!("--cert {}", path.display()))?;
        return Ok(Some(Candidate::Chain(chain)));
    }
    if let Some(path) = &args.key {
        let bytes = read_input("--key", path, false)?;
        let spki = dane_tlsa::parse_private_key(&bytes)
            .with_context(|| format!("--key {}", path.display()))?;
        return Ok(Some(Candidate::Key(spki)));
    }
    if let Some(path) = &args.csr {
        let bytes = read_input("--csr", path, false)?;
        let spki =
            dane_tlsa::parse_csr(&bytes).with_context(|| format!("--csr {}", path.display()))?;
        return Ok(Some(Candidate::Key(spki)));
    }
    Ok(None)
}

/// Loads `--tlsa FILE`: records with their owner names (when written).
pub fn load_tlsa_override(args: &Args) -> anyhow::Result<Option<TlsaSet>> {
    let Some(path) = &args.tlsa else {
        return Ok(None);
    };
    let fragment = read_zone_fragment("--tlsa", path)?;
    Ok(Some(
        fragment
            .entries
            .into_iter()
            .map(|e| (e.owner, e.record))
            .collect(),
    ))
}

/// The exit code for a report (README, "Exit codes"); advice (a missing spare record)
/// does not count as a warning for `--strict`.
pub fn exit_for(report: &Report, require_dane: bool, strict: bool) -> Exit {
    exit_with(report, require_dane, strict, false)
}

/// [`exit_for`], with `require_spare` (`--require-spare`: advice counts as a warning too).
pub fn exit_with(report: &Report, require_dane: bool, strict: bool, require_spare: bool) -> Exit {
    let exit = match report.verdict {
        DomainVerdict::Verified => Exit::Ok,
        DomainVerdict::Failed | DomainVerdict::Partial => Exit::Failure,
        DomainVerdict::Indeterminate => Exit::Indeterminate,
        DomainVerdict::NotProtected
        | DomainVerdict::UnauthenticatedTls
        | DomainVerdict::Nonexistent => {
            if require_dane {
                Exit::Failure
            } else {
                Exit::NotProtected
            }
        }
    };
    let warned = crate::summary::counted_warnings(report, require_spare) > 0;
    if strict && warned && matches!(exit, Exit::Ok | Exit::NotProtected) {
        return Exit::Failure;
    }
    exit
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// The versioned JSON document (README, dane verify --json).
    Json,
    /// A monitoring plugin (Nagios, Icinga, Naemon, Sensu): one status line, perfdata,
    /// exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    Nagios,
    /// OpenMetrics text for the Prometheus node-exporter textfile collector.
    Openmetrics,
}

impl Args {
    /// The output format (`--json` is `--format json`).
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

/// The `--json` document: the evaluation time and the report (also one `dane scan` line).
#[derive(Serialize)]
pub struct Doc<'a> {
    /// When the checks were evaluated (`--at` or the clock).
    pub at: String,
    /// The report, flattened.
    #[serde(flatten)]
    pub report: &'a Report,
}

/// Writes the report in the chosen format and returns the exit code.
pub fn render(
    report: &Report,
    args: &Args,
    ctx: &Context,
    at: rustls_pki_types::UnixTime,
    elapsed: std::time::Duration,
) -> anyhow::Result<Exit> {
    let mut exit = exit_with(
        report,
        args.check.require_dane,
        args.check.strict,
        args.require_spare,
    );
    // Everything is formatted before the first byte is written (a broken pipe then leaves
    // nothing half-written that looks like a result).
    let out = match args.format() {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&Doc {
                at: clock::format_time(at),
                report,
            })?;
            s.push('\n');
            s
        }
        // No colour into a file, whatever the terminal.
        Format::Text => text(report, ctx.color && args.output.is_none()),
        Format::Nagios => {
            let policy = crate::nagios::Policy {
                require_dane: args.check.require_dane,
                strict: args.check.strict,
                require_spare: args.require_spare,
                thresholds: args.check.thresholds(),
            };
            let (state, line) = crate::nagios::render(report, at.as_secs(), &policy);
            exit = state.exit();
            line
        }
        Format::Openmetrics => crate::openmetrics::render(report, elapsed),
    };
    crate::output::emit(args.output.as_deref(), &out)?;
    Ok(exit)
}

fn verdict_word(v: DomainVerdict) -> &'static str {
    match v {
        DomainVerdict::Verified => "VERIFIED",
        DomainVerdict::Failed => "FAILED",
        DomainVerdict::Partial => "PARTIAL",
        DomainVerdict::UnauthenticatedTls => "UNAUTHENTICATED TLS",
        DomainVerdict::NotProtected => "NOT PROTECTED",
        DomainVerdict::Indeterminate => "INDETERMINATE",
        DomainVerdict::Nonexistent => "NONEXISTENT",
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Verified => "verified",
        Status::Failed => "FAILED",
        Status::Indeterminate => "indeterminate",
        Status::NotProtected => "not-protected",
        Status::UnauthenticatedTls => "unauthenticated-tls",
    }
}

fn colour(s: Status) -> &'static str {
    match s {
        Status::Verified => "32",
        Status::Failed => "31",
        Status::Indeterminate | Status::UnauthenticatedTls => "33",
        Status::NotProtected => "0",
    }
}

fn clean(s: &str) -> String {
    term::sanitize(s).into_owned()
}

/// The text report: the verdict first, then every host and address, then warnings.
pub fn text(report: &Report, color: bool) -> String {
    let mut o = String::new();
    let head = format!(
        "{}: {}",
        clean(&report.domain),
        verdict_word(report.verdict)
    );
    let _ = writeln!(
        o,
        "{}: {}",
        term::paint(color, colour(report.verdict.status()), &head),
        clean(&report.reason)
    );
    if let Some(r) = report.resolution.as_ref().filter(|r| r.mode == "iterative") {
        let why = r.reason.as_deref().unwrap_or("");
        let _ = writeln!(
            o,
            "resolution: iterative from the root servers ({})",
            clean(why)
        );
    }
    if let Some(ready) = report.rollover_ready {
        let _ = writeln!(
            o,
            "rollover: {}",
            if ready {
                "ready: the candidate TLSA set authenticates the current certificates and the candidate"
            } else {
                "NOT ready: the candidate TLSA set does not cover both the current certificates and the candidate"
            }
        );
    }
    if let Some(mx) = &report.mx {
        let hosts: Vec<String> = mx
            .records()
            .iter()
            .map(|m| format!("{} {}", m.preference, clean(&m.exchange)))
            .collect();
        let _ = writeln!(
            o,
            "MX {} ({}): {}",
            clean(&mx.name),
            clean(&mx.security.describe()),
            if hosts.is_empty() {
                "none".to_owned()
            } else {
                hosts.join(", ")
            }
        );
        if let Some(c) = &report.mx_servers {
            servers_text(&mut o, c);
        }
    }
    // A host's preference is its MX preference, or its SRV priority (RFC 2782).
    let pref_label = if report.srv.is_some() {
        "SRV priority"
    } else {
        "MX"
    };
    for h in &report.hosts {
        host_text(&mut o, h, &report.reason, pref_label, color);
    }
    let (advice, warnings): (Vec<_>, Vec<_>) = report.warnings.iter().partition(|w| w.is_advice());
    for (title, list) in [("warnings", warnings), ("advice", advice)] {
        if !list.is_empty() {
            let _ = writeln!(o, "\n{title}:");
            for w in list {
                let _ = writeln!(o, "  [{}] {}", w.code, clean(&w.message));
            }
        }
    }
    o
}

/// `reason`, or a pointer to the first line when that already says it.
fn once(reason: &str, headline: &str) -> String {
    if reason == headline {
        "(the reason above)".to_owned()
    } else {
        clean(reason)
    }
}

fn host_text(o: &mut String, h: &HostReport, headline: &str, pref_label: &str, color: bool) {
    let pref = h
        .preference
        .map_or_else(String::new, |p| format!(" ({pref_label} {p})"));
    // The host's reason is one of its endpoints' or its candidate's when it has them: it is
    // printed there, once, and the host line only counts.
    let judged = h.endpoints.len() + usize::from(h.candidate.is_some());
    let summary = if judged == 0 {
        once(&h.verdict.reason, headline)
    } else {
        let verified = h
            .endpoints
            .iter()
            .map(|e| e.verdict.status)
            .chain(h.candidate.iter().map(|c| c.verdict.status))
            .filter(|s| *s == Status::Verified)
            .count();
        // An address that holds several chains has an endpoint per key algorithm.
        let several = h.endpoints.iter().any(|e| e.offered.is_some());
        let what = match (h.endpoints.len(), h.candidate.is_some(), several) {
            (_, false, false) => "addresses",
            (_, false, true) => "address and key algorithm pairs",
            (0, true, _) => "candidate",
            (_, true, false) => "addresses and the candidate",
            (_, true, true) => "address and key algorithm pairs and the candidate",
        };
        format!("{verified} of {judged} ({what}) authenticate")
    };
    let _ = writeln!(
        o,
        "\n{}{pref}  {}: {summary}",
        clean(&h.name),
        term::paint(
            color,
            colour(h.verdict.status),
            status_word(h.verdict.status)
        ),
    );
    let said = &h.verdict.reason;
    for AddressLookup {
        rtype,
        lookup: a,
        servers,
    } in &h.addresses
    {
        let addrs: Vec<String> = a.records().iter().map(ToString::to_string).collect();
        let _ = writeln!(
            o,
            "  {rtype} {} ({}): {}",
            clean(&a.canonical),
            security_text(&a.security, said),
            if addrs.is_empty() {
                "none".to_owned()
            } else {
                addrs.join(" ")
            }
        );
        if let Some(c) = servers {
            servers_text(o, c);
        }
    }
    if let Some(t) = &h.tlsa {
        for l in &t.lookups {
            let source = if t.source == "file" {
                ", from --tlsa"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "  TLSA {} ({}{source}): {} record(s)",
                clean(&l.name),
                security_text(&l.security, said),
                l.records().len()
            );
            let shown = shown_data(l.records(), |_| false);
            for (i, (r, data)) in l.records().iter().zip(shown).enumerate() {
                let _ = writeln!(o, "    [{}] {} {data}", i + 1, r.parameters());
            }
        }
        if let Some(base) = &t.base {
            let _ = writeln!(
                o,
                "  TLSA base domain {} (SNI), {} usable record(s)",
                clean(base),
                t.usable.unwrap_or(0)
            );
        }
        if let Some(c) = &t.servers {
            servers_text(o, c);
        }
    }
    for e in &h.endpoints {
        endpoint_text(o, e, headline, color);
    }
    if let Some(c) = &h.candidate {
        let _ = writeln!(
            o,
            "  candidate  {}: {}",
            term::paint(
                color,
                colour(c.verdict.status),
                status_word(c.verdict.status)
            ),
            once(&c.verdict.reason, headline)
        );
        if let Some(m) = &c.tlsa_match {
            records_text(o, m);
        }
        if !c.publish.is_empty() {
            let _ = writeln!(o, "    to accept the candidate, add to the zone:");
            for line in &c.publish {
                let _ = writeln!(o, "      {}", clean(line));
            }
        }
    }
}

/// Every authoritative server of the zone of a TLSA, MX or address RRset: one line each
/// (issue 23).
fn servers_text(o: &mut String, c: &dane_check::servers::ServerCheck) {
    let zone = c
        .zone
        .as_deref()
        .map_or_else(String::new, |z| format!(" (zone {})", clean(z)));
    let _ = writeln!(
        o,
        "  authoritative servers of {} {}{zone}:",
        clean(&c.owner),
        c.rtype
    );
    for r in &c.servers {
        let serial = r
            .serial
            .map_or_else(|| "serial ?".to_owned(), |s| format!("serial {s}"));
        let state = serde_json::to_value(r.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "    {} {}  {serial}  {state}: {}",
            clean(&r.ns),
            clean(&r.address),
            clean(&r.detail)
        );
    }
    for n in &c.not_asked {
        let _ = writeln!(o, "    not asked: {}", clean(n));
    }
}

/// A lookup's DNSSEC status: in full, or the status word alone when `said` (the host's
/// reason, printed already) gives its reason.
fn security_text(security: &dane_check::dns::Security, said: &str) -> String {
    use dane_check::dns::Security;
    let full = security.describe();
    match security {
        Security::Bogus { reason } | Security::Indeterminate { reason }
            if said.contains(reason.as_str()) =>
        {
            full.split(' ').next().unwrap_or_default().to_owned()
        }
        _ => clean(&full),
    }
}

fn endpoint_text(o: &mut String, e: &EndpointReport, headline: &str, color: bool) {
    let addr = match e.address {
        std::net::IpAddr::V4(a) => format!("{a}:{}", e.port),
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", e.port),
    };
    // An address that holds several chains: one endpoint per key algorithm.
    let several = e.offered.is_some() || e.other_offers.iter().any(|x| x.found == "other-chain");
    let addr = match (&e.algorithm, several) {
        (Some(a), true) => format!("{addr} {}", algorithm_word(a)),
        _ => addr,
    };
    let _ = writeln!(
        o,
        "  {addr}  {}: {}",
        term::paint(
            color,
            colour(e.verdict.status),
            status_word(e.verdict.status)
        ),
        once(&e.verdict.reason, headline)
    );
    if let Some(tls) = &e.tls {
        let group = tls
            .group
            .as_deref()
            .map_or_else(String::new, |g| format!(", {}", clean(g)));
        let _ = writeln!(
            o,
            "    {} {}{group}",
            clean(&tls.version),
            clean(&tls.cipher)
        );
    }
    for (depth, c) in e.chain.iter().enumerate() {
        let _ = writeln!(
            o,
            "    [{depth}] {} ({}, until {}) issuer {}",
            clean(&c.subject),
            clean(&c.key),
            clock::format_time(rustls_pki_types::UnixTime::since_unix_epoch(
                std::time::Duration::from_secs(u64::try_from(c.not_after).unwrap_or(0))
            )),
            clean(&c.issuer)
        );
    }
    if let Some(m) = &e.tlsa_match {
        records_text(o, m);
    }
    if let Some(fix) = &e.fix {
        let _ = writeln!(o, "    fix: {}", clean(fix));
        for line in &e.publish {
            let _ = writeln!(o, "      {}", clean(line));
        }
    }
    if !e.other_offers.is_empty() {
        let offers: Vec<String> = e
            .other_offers
            .iter()
            .map(|x| {
                let found = match x.found {
                    "same-chain" => "the same chain",
                    "other-chain" => "another chain (its own endpoint)",
                    "no-chain" => "no certificate",
                    _ => "a failure (not checked)",
                };
                format!("{} {found}", algorithm_word(x.offered))
            })
            .collect();
        let _ = writeln!(o, "    offering only: {}", offers.join("; "));
    }
}

/// `RSA`, `ECDSA`, `EdDSA` for the JSON names.
fn algorithm_word(name: &str) -> String {
    dane_probe::KeyFamily::from_name(name).map_or_else(|| clean(name), |f| f.to_string())
}

/// Every record's outcome: the matched record with its whole association data (as
/// posttls-finger shows it), the others shortened to a prefix unique within the set.
fn records_text(o: &mut String, m: &dane_tlsa::MatchReport) {
    let records: Vec<dane_tlsa::TlsaRecord> = m.records.iter().map(|r| r.record.clone()).collect();
    let shown = shown_data(&records, |i| m.records[i].status == RecordStatus::Matched);
    for (r, data) in m.records.iter().zip(shown) {
        let word = match r.status {
            RecordStatus::Matched => "matched",
            RecordStatus::Rejected => "rejected",
            RecordStatus::NotMatched => "not-matched",
            RecordStatus::Superseded => "superseded",
            RecordStatus::Unusable => "unusable",
            RecordStatus::NotEvaluated => "not-evaluated",
        };
        let _ = writeln!(
            o,
            "      [{}] {} {data}  {word}: {}",
            r.index + 1,
            r.record.parameters(),
            clean(&r.detail)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dane_check::Verdict;
    use dane_check::report::Warning;

    fn report(verdict: DomainVerdict, warnings: usize) -> Report {
        Report {
            version: 1,
            domain: "example.test.".into(),
            service: "smtp",
            verdict,
            reason: "because\x1b[2J".into(),
            mx: None,
            mx_servers: None,
            mx_plan: None,
            srv: None,
            srv_plan: None,
            hosts: vec![],
            warnings: (0..warnings)
                .map(|_| Warning {
                    code: "certificate-expires",
                    host: None,
                    message: "w".into(),
                })
                .collect(),
            rollover_ready: None,
            resolution: None,
        }
    }

    #[test]
    fn exit_codes_follow_the_documented_table() {
        use DomainVerdict::*;
        let table = [
            (Verified, false, false, 0, Exit::Ok),
            (Verified, false, true, 1, Exit::Failure),
            (Verified, false, true, 0, Exit::Ok),
            (Partial, false, false, 0, Exit::Failure),
            (Failed, false, false, 0, Exit::Failure),
            (Indeterminate, false, true, 3, Exit::Indeterminate),
            (NotProtected, false, false, 0, Exit::NotProtected),
            (NotProtected, true, false, 0, Exit::Failure),
            (UnauthenticatedTls, false, false, 1, Exit::NotProtected),
            (UnauthenticatedTls, false, true, 1, Exit::Failure),
            (Nonexistent, false, false, 0, Exit::NotProtected),
        ];
        for (verdict, require, strict, warnings, expected) in table {
            let r = report(verdict, warnings);
            assert_eq!(
                exit_for(&r, require, strict),
                expected,
                "{verdict:?} require={require} strict={strict} warnings={warnings}"
            );
        }
        // Advice (no spare record) is not a warning for --strict unless --require-spare.
        let mut r = report(Verified, 1);
        r.warnings[0].code = "no-spare-record";
        assert_eq!(exit_with(&r, false, true, false), Exit::Ok);
        assert_eq!(exit_with(&r, false, true, true), Exit::Failure);
        assert_eq!(exit_with(&r, false, false, true), Exit::Ok);
    }

    #[test]
    fn text_is_sanitised() {
        let mut r = report(DomainVerdict::Failed, 0);
        r.hosts.push(HostReport {
            name: "mx\x07.example.test.".into(),
            port: 25,
            preference: Some(10),
            addresses: vec![],
            tlsa: None,
            no_dane: None,
            verdict: Verdict::new(Status::Failed, "banner said \x1b]0;owned\x07"),
            endpoints: vec![],
            candidate: None,
            addresses_left_out: 0,
        });
        let t = text(&r, false);
        assert!(!t.contains('\x1b') && !t.contains('\x07'), "{t:?}");
        assert!(t.starts_with("example.test.: FAILED: because"), "{t}");
    }
}
