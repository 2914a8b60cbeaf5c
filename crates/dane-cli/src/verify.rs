//! `dane verify DOMAIN`: RFC 7672 SMTP DANE end to end, rendered for people or as JSON.
//! The checking is dane-check's; this module parses arguments, loads candidate files,
//! renders the report and maps its verdict to the exit code.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{ArgGroup, Args as ClapArgs};
use std::sync::Arc;

use dane_check::chain::Chains;
use dane_check::engine::{Options, TlsaSet};
use dane_check::evidence::{Bundle, Recorder, ReplayDns, ReplayProber};
use dane_check::host::Candidate;
use dane_check::live::{LiveDns, LiveProber};
use dane_check::report::{DomainVerdict, Report};
use dane_check::service::Service;

use crate::checkopts::CheckOpts;
use crate::probe::StartTls;
use crate::tlsa::{read_input, read_zone_fragment};
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
    /// Output: text, json (schema: docs/json.md), nagios (a monitoring plugin: one status
    /// line with perfdata, exit 0/1/2/3), openmetrics (Prometheus textfile collector),
    /// or a picture of the whole check: dot (Graphviz DOT), svg or html (laid out and
    /// drawn by dane itself, no Graphviz needed; docs/picture.md).
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
    /// The flags shared with `dane scan` (and `--ca-families`).
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
        return run_checked(args, ctx).or_else(|e| Ok(nagios_unknown(&e)));
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
    let resolver = Arc::new(args.check.resolver()?);
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
    let recorder = args.save_evidence.is_some().then(Recorder::new);
    // The picture formats draw the chains of trust the run's lookups ended with.
    let chains = args.format().is_picture().then(Chains::new);
    let mut dns = LiveDns::new(resolver.clone(), now);
    let mut prober = LiveProber::new(prober, now);
    if let Some(r) = &recorder {
        dns = dns.with_recorder(r.clone());
        prober = prober.with_recorder(r.clone());
    }
    if let Some(c) = &chains {
        dns = dns.with_chains(c.clone());
    }
    let started = std::time::Instant::now();
    let report = run_engine(Arc::new(dns), Arc::new(prober), &domain, &service, &options)?;
    let elapsed = started.elapsed();
    let outcomes = chains.map(|c| c.outcomes(&report)).unwrap_or_default();
    if let Some(recorder) = &recorder {
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
        if let Some(path) = &args.save_evidence {
            let mut text = serde_json::to_string_pretty(&bundle)?;
            text.push('\n');
            std::fs::write(path, text)
                .with_context(|| format!("--save-evidence {}", path.display()))?;
        }
    }
    render(&report, args, ctx, now, elapsed, &outcomes)
}

/// The engine options every run takes from the arguments.
fn options(args: &Args, now: rustls_pki_types::UnixTime) -> anyhow::Result<Options> {
    let mut options = args.check.options(now);
    options.host = args.target.hosts.host()?;
    options.candidate = load_candidate(args)?;
    options.tlsa_override = load_tlsa_override(args)?;
    options.all_certs = !args.no_all_certs;
    options.ca_families = args.check.ca_families()?;
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
pub const MAX_EVIDENCE: u64 = 64 << 20;

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
    let chains = args.format().is_picture().then(Chains::new);
    let mut dns = ReplayDns::new(evidence, anchors, now)
        .with_resolution(bundle.resolution)
        .with_servers(bundle.servers);
    if let Some(c) = &chains {
        dns = dns.with_chains(c.clone());
    }
    let prober = Arc::new(ReplayProber::new(bundle.probes));
    let started = std::time::Instant::now();
    let report = run_engine(Arc::new(dns), prober, &bundle.domain, &service, &options)?;
    let outcomes = chains.map(|c| c.outcomes(&report)).unwrap_or_default();
    render(&report, args, ctx, now, started.elapsed(), &outcomes)
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
    /// The versioned JSON document (docs/verify.md, schemas/dane-verify.schema.json).
    Json,
    /// A monitoring plugin (Nagios, Icinga, Naemon, Sensu): one status line, perfdata,
    /// exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    Nagios,
    /// OpenMetrics text for the Prometheus node-exporter textfile collector.
    Openmetrics,
    /// A picture of the whole check as a Graphviz DOT document (docs/picture.md).
    Dot,
    /// The picture laid out and drawn as SVG by dane itself (no Graphviz needed).
    Svg,
    /// One self-contained HTML file: the pictures, the text report and the JSON document.
    Html,
}

impl Format {
    /// Whether the format draws the chain of trust (it needs the run's DNS evidence).
    pub fn is_picture(self) -> bool {
        matches!(self, Format::Dot | Format::Svg | Format::Html)
    }
}

impl Args {
    /// The output format (`--json` is `--format json`).
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

pub use dane_render::json::Doc;

/// Writes the report in the chosen format and returns the exit code.
pub fn render(
    report: &Report,
    args: &Args,
    ctx: &Context,
    at: rustls_pki_types::UnixTime,
    elapsed: std::time::Duration,
    outcomes: &[dane_dnssec::Outcome],
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
        Format::Json => dane_render::json::pretty(&Doc {
            at: clock::format_time(at),
            report,
        })?,
        // No colour into a file, whatever the terminal.
        Format::Text => dane_render::text::verify(report, ctx.color && args.output.is_none()),
        Format::Nagios => {
            let policy = crate::nagios::Policy {
                require_dane: args.check.require_dane,
                strict: args.check.strict,
                require_spare: args.require_spare,
                thresholds: args.check.thresholds(),
            };
            let (state, line) = crate::nagios::render(report, at.as_secs(), &policy);
            exit = nagios_exit(state);
            line
        }
        Format::Openmetrics => crate::openmetrics::render(report, elapsed),
        Format::Dot | Format::Svg | Format::Html => picture(args.format(), report, outcomes, at)?,
    };
    crate::output::emit(args.output.as_deref(), &out)?;
    Ok(exit)
}

/// `--format dot|svg|html` of a report whose lookups' chains of trust are `outcomes`
/// (also the page of `dane serve-metrics`' `/report`).
pub fn picture(
    format: Format,
    report: &Report,
    outcomes: &[dane_dnssec::Outcome],
    at: rustls_pki_types::UnixTime,
) -> anyhow::Result<String> {
    use dane_render::{dot, html};
    let whole = dot::verify(report, outcomes);
    match format {
        Format::Svg => Ok(whole.svg()),
        Format::Html => {
            let mut pictures = vec![html::Picture {
                title: "the whole check".to_owned(),
                svg: whole.svg_element(),
            }];
            // One printed page per host when there are several.
            if report.hosts.len() > 1 {
                for (i, h) in report.hosts.iter().enumerate() {
                    if let Some(d) = dot::verify_host(report, outcomes, i) {
                        pictures.push(html::Picture {
                            title: h.name.clone(),
                            svg: d.svg_element(),
                        });
                    }
                }
            }
            let json = dane_render::json::pretty(&Doc {
                at: clock::format_time(at),
                report,
            })?;
            let title = format!(
                "{}: {}",
                report.domain,
                crate::summary::verdict_name(report.verdict)
            );
            Ok(html::page(
                &title,
                &report.reason,
                crate::summary::verdict_name(report.verdict),
                &pictures,
                &dane_render::text::verify(report, false),
                &json,
            ))
        }
        _ => Ok(whole.dot()),
    }
}

/// The nagios plugin state as this process's exit status: the plugin states reuse the
/// numbers of [`Exit`] (0, 1, 2 and 3 are what the guidelines assign to OK, WARNING,
/// CRITICAL and UNKNOWN).
pub fn nagios_exit(state: crate::nagios::State) -> Exit {
    use crate::nagios::State;
    match state {
        State::Ok => Exit::Ok,
        State::Warning => Exit::Failure,
        State::Critical => Exit::Usage,
        State::Unknown => Exit::Indeterminate,
    }
}

/// Writes the UNKNOWN line for a check that could not run (bad arguments, unreadable
/// files) and returns its exit status.
pub fn nagios_unknown(error: &anyhow::Error) -> Exit {
    use std::io::Write as _;
    let line = crate::nagios::unknown_line(&crate::error_text(error));
    // Nothing else can be said if stdout is gone; the state is in the exit status.
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
    nagios_exit(crate::nagios::State::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
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
                    records: Vec::new(),
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
}
