//! `dane serve-metrics --listen ADDR`: a blackbox-exporter drop-in over HTTP/1.1.
//! `GET /probe?target=DOMAIN[&module=SERVICE]` checks DOMAIN as `dane verify` does and
//! answers with its metrics (those of `dane verify --format openmetrics`) and the blackbox
//! exporter's `probe_success` and `probe_duration_seconds`; `GET /metrics` gives the
//! exporter's own counters.
//!
//! The HTTP side (the strict request subset, the connection caps overall and per peer,
//! the check limit, the request log, the graceful stop) is the `dane-exporter` library's;
//! this module parses the flags, supplies the check (the DANE engine and the OpenMetrics
//! renderer) and turns SIGTERM and SIGINT into the stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args as ClapArgs;
use dane_check::query::ProbeQuery;
use dane_exporter::http::{Check, Checked, LogSink, Server, Settings, serve};
use tokio::net::TcpListener;

use crate::checkopts::CheckOpts;
use crate::scan::{Clock, LiveSources, PerAddress};
use crate::{Context, Exit};
use dane_check::live::LiveDns;
use dane_check::probecache::{ProbeCache, ProbeCacheLimits};

/// `dane serve-metrics`
#[derive(Debug, ClapArgs)]
#[command(after_help = "\
Endpoints:
  GET /probe?target=DOMAIN[&module=MODULE]      metrics for DOMAIN (default module smtp;
                                                `service` is a synonym of `module`)
  GET /probe?target=HOST&port=N&starttls=PROTO  with --allow-ports only
  GET /report?target=DOMAIN[&module=MODULE]     the same check as one HTML page: the
                                                picture, the text and the JSON document
  GET /                                         a form for /report (no script)
  GET /metrics                                  the exporter's own counters

Modules (the services of dane verify): smtp, submission, smtps, imap, imaps, pop3, pop3s,
xmpp-client, xmpp-server, https. probe_success is 1 when dane verify would exit 0 with the
same flags, else 0. Answers are OpenMetrics when the Accept header asks for it (Prometheus
does), else the Prometheus text format 0.0.4.

What a scraper cannot do without --allow-ports: name a port or a dialogue, or make the
exporter connect where an SRV record points on another port than the service's registered
one (reported indeterminate, not probed), or anywhere an insecure SRV RRset points (DANE
does not apply there, RFC 7673 3.1: reported not protected, not probed).

Examples:
  dane serve-metrics --listen 127.0.0.1:9553
  dane serve-metrics --listen 127.0.0.1:9553 --log-requests --warn-days 14

Prometheus scrape config (as for the blackbox exporter):
  - job_name: dane
    metrics_path: /probe
    params: { module: [smtp] }
    static_configs: [{ targets: [example.com, example.net] }]
    relabel_configs:
      - { source_labels: [__address__], target_label: __param_target }
      - { source_labels: [__param_target], target_label: instance }
      - { target_label: __address__, replacement: 127.0.0.1:9553 }")]
pub struct Args {
    /// Address to listen on (e.g. 127.0.0.1:9553).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Most checks running at once; further probe requests get 503.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_checks: usize,
    /// Most connections open at once; further connections are closed at once.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_connections: usize,
    /// Most connections open at once from one peer address (of --max-connections), so
    /// that one client holding idle connections cannot starve the others [default: 8, or
    /// --max-connections when lower].
    #[arg(long, value_name = "N")]
    pub max_connections_per_peer: Option<usize>,
    /// One line per request on stderr (time, peer, method, path, target, module, status,
    /// duration), for journald.
    #[arg(long)]
    pub log_requests: bool,
    /// Seconds a client has to send the whole request head.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub header_timeout: u64,
    /// Seconds a check may take before it is reported indeterminate.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub deadline: u64,
    /// Accept `port` and `starttls` parameters (any port on any host the caller names),
    /// and probe SRV targets on whatever port and for whatever SRV RRset.
    #[arg(long)]
    pub allow_ports: bool,
    /// Most connections at once to one destination address, over all checks.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub per_address: usize,
    /// How long a probe's result is reused by the other scrapes that probe the same
    /// endpoint (address, port, dialogue, SNI, offered algorithms), so the domains of one
    /// provider scraped in one interval share a handshake; a failed probe at most 10 s.
    /// 0: every scrape probes for itself (docs/survey.md).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub probe_cache_ttl: u64,
    /// The flags shared with `dane verify`.
    #[command(flatten)]
    pub check: CheckOpts,
}

/// The check behind `/probe`: `dane verify` with the server's flags, under `--deadline`.
struct DaneCheck {
    /// The resolver, prober and per-address limit every check shares.
    sources: LiveSources,
    check: CheckOpts,
    /// `--ca-families FILE` (read once at start), else the list built in.
    ca_families: Arc<dane_tlsa::CaFamilies>,
    /// A fixed evaluation time (`--at`), else the clock at each request.
    clock: Clock,
    deadline: Duration,
    /// `--allow-ports`: the scraper may name ports, and SRV targets are probed wherever
    /// they point.
    allow_ports: bool,
}

impl DaneCheck {
    /// `dane verify` of `query` under `--deadline`, with its DNS lookups' outcomes kept in
    /// `chains` when given.
    async fn verify(
        &self,
        query: &ProbeQuery,
        now: rustls_pki_types::UnixTime,
        chains: Option<Arc<dane_check::chain::Chains>>,
    ) -> (dane_check::report::Report, Duration) {
        let mut dns = LiveDns::new(self.sources.resolver.clone(), now);
        if let Some(c) = chains {
            dns = dns.with_chains(c);
        }
        let prober = Arc::new(self.sources.prober_at(now));
        let mut options = self.check.options(now);
        options.srv_registered_ports_only = !self.allow_ports;
        options.ca_families = self.ca_families.clone();
        options.each_server = self.check.each_server_or(EACH_SERVER);
        let started = Instant::now();
        let check = dane_check::engine::verify(
            Arc::new(dns),
            prober,
            &query.domain,
            &query.service,
            &options,
        );
        let report = match tokio::time::timeout(self.deadline, check).await {
            Ok(r) => r,
            Err(_) => crate::scan::deadline_report(&query.domain, &query.service, self.deadline),
        };
        (report, started.elapsed())
    }
}

/// Whether `dane serve-metrics` asks every authoritative server without `--each-server`
/// or `--no-each-server`: yes, from the measured cost (BENCHMARKS.md, "Every authoritative
/// server"): a scrape of one domain is not dominated by it, and a stale server is what a
/// monitor is for.
pub const EACH_SERVER: bool = true;

impl Check for DaneCheck {
    async fn check(&self, query: ProbeQuery) -> Checked {
        let now = self.clock.now();
        let (report, elapsed) = self.verify(&query, now, None).await;
        let success = crate::verify::exit_for(&report, self.check.require_dane, self.check.strict)
            == Exit::Ok;
        Checked {
            document: crate::openmetrics::render(&report, elapsed),
            success,
            elapsed,
        }
    }

    async fn report(&self, query: ProbeQuery) -> Result<String, String> {
        let now = self.clock.now();
        let chains = dane_check::chain::Chains::new();
        let (report, _) = self.verify(&query, now, Some(chains.clone())).await;
        // Laying the pictures out is CPU work (well under a millisecond a picture).
        let page = tokio::task::spawn_blocking(move || {
            let outcomes = chains.outcomes(&report);
            crate::verify::picture(crate::verify::Format::Html, &report, &outcomes, now)
        });
        match page.await {
            Ok(Ok(html)) => Ok(html),
            Ok(Err(e)) => Err(crate::error_text(&e)),
            Err(e) => Err(format!("the report could not be made: {e}")),
        }
    }
}

/// One line on stderr: a closed stderr loses the line, never stops the server (a
/// panicking `eprintln!` would).
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "dane serve-metrics: {line}");
}

/// Completes on the first SIGTERM or SIGINT, saying which in `which`.
async fn stop_signal(which: Arc<std::sync::OnceLock<&'static str>>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // No signal handling: run until killed, as before.
        return std::future::pending().await;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    let _ = which.set(name);
}

/// `--max-connections-per-peer`, or its default: 8, or `--max-connections` when lower.
fn per_peer(args: &Args) -> usize {
    args.max_connections_per_peer
        .unwrap_or_else(|| DEFAULT_PER_PEER.min(args.max_connections))
}

/// The default of `--max-connections-per-peer`.
const DEFAULT_PER_PEER: usize = 8;

/// Runs `dane serve-metrics` (until killed).
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    args.check.validate()?;
    let ca_families = args.check.ca_families()?;
    for (flag, n, max) in [
        ("--max-checks", args.max_checks, 1024),
        ("--max-connections", args.max_connections, 65_536),
        (
            "--max-connections-per-peer",
            per_peer(args),
            args.max_connections,
        ),
        ("--per-address", args.per_address, 1024),
    ] {
        if n == 0 || n > max {
            bail!("{flag} {n}: must be 1 to {max}");
        }
    }
    if args.probe_cache_ttl > 3600 {
        bail!(
            "--probe-cache-ttl {}: must be 0 to 3600 seconds",
            args.probe_cache_ttl
        );
    }
    if args.header_timeout == 0 || args.header_timeout > 300 {
        bail!(
            "--header-timeout {}: must be 1 to 300 seconds",
            args.header_timeout
        );
    }
    if args.deadline == 0 || args.deadline > 3600 {
        bail!("--deadline {}: must be 1 to 3600 seconds", args.deadline);
    }
    let at = match &args.check.net.at {
        Some(_) => Some(ctx.now(args.check.net.at.as_deref())?),
        None => None,
    };
    let grace = Duration::from_secs(args.deadline) + Duration::from_secs(15);
    let log: Option<LogSink> = args
        .log_requests
        .then(|| Arc::new(|line: &str| say(line)) as LogSink);
    let settings = Settings {
        max_checks: args.max_checks,
        max_connections: args.max_connections,
        max_connections_per_peer: per_peer(args),
        header_timeout: Duration::from_secs(args.header_timeout),
        allow_ports: args.allow_ports,
        grace,
        log,
    };
    let check = DaneCheck {
        sources: LiveSources {
            resolver: Arc::new(args.check.resolver()?),
            prober: args.check.prober(),
            limiter: PerAddress::new((), args.per_address),
            probe_cache: (args.probe_cache_ttl > 0).then(|| {
                let ttl = Duration::from_secs(args.probe_cache_ttl);
                Arc::new(ProbeCache::new(
                    ProbeCacheLimits::SERVE.with_ttl(ttl),
                    Arc::new(dane_resolver::SystemClock::new()),
                ))
            }),
        },
        check: args.check.clone(),
        ca_families,
        clock: Clock::from_at(at),
        deadline: Duration::from_secs(args.deadline),
        allow_ports: args.allow_ports,
    };
    let server = Arc::new(Server::new(check, settings));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let which = Arc::new(std::sync::OnceLock::new());
    let stopped = runtime.block_on(async {
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("--listen {}", args.listen))?;
        let local = listener.local_addr().context("--listen")?;
        say(&format!("listening on {local}"));
        let stop = {
            let which = which.clone();
            async move {
                stop_signal(which.clone()).await;
                say(&format!(
                    "{}: no new connections; running checks get up to {} s to finish",
                    which.get().copied().unwrap_or("stop"),
                    grace.as_secs()
                ));
            }
        };
        Ok::<_, anyhow::Error>(serve(listener, server, stop).await)
    })?;
    // Checks abandoned at the grace time may leave probes blocked: not waited for.
    runtime.shutdown_background();
    say(&format!(
        "shut down on {} ({} connection(s) abandoned unfinished)",
        which.get().copied().unwrap_or("stop"),
        stopped.abandoned
    ));
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use dane_check::query::probe_query;
    use dane_check::service;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn probe_parameters() {
        for (pairs, allow, expected) in [
            (
                &[("target", "example.com")][..],
                false,
                Ok(("example.com", "smtp")),
            ),
            (
                &[("target", "example.com"), ("module", "https")],
                false,
                Ok(("example.com", "https")),
            ),
            (
                &[("service", "imaps"), ("target", "Example.COM.")],
                false,
                Ok(("example.com", "imaps")),
            ),
            (
                &[
                    ("target", "x.example"),
                    ("port", "8443"),
                    ("starttls", "none"),
                ],
                true,
                Ok(("x.example", "custom")),
            ),
            (
                &[("target", "x.example"), ("module", "http_2xx")],
                false,
                Err("unknown module \"http_2xx\" (one of smtp,"),
            ),
            (
                &[("target", "x.example"), ("service", "gopher")],
                false,
                Err("unknown service \"gopher\""),
            ),
            (
                &[("target", "x"), ("module", "smtp"), ("service", "smtp")],
                false,
                Err("not both"),
            ),
            (
                &[("target", "x"), ("module", "smtp"), ("port", "25")],
                true,
                Err("give module or port"),
            ),
            (
                &[("target", "x"), ("port", "25")],
                false,
                Err("needs --allow-ports"),
            ),
            (
                &[("target", "x"), ("debug", "true")],
                false,
                Err("unknown parameter \"debug\" (target, module)"),
            ),
            (
                &[("module", "smtp")],
                false,
                Err("missing parameter \"target\""),
            ),
        ] {
            let got = probe_query(&params(pairs), allow);
            match expected {
                Ok((domain, service)) => {
                    let q = got.unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
                    assert_eq!((q.domain.as_str(), q.service.name), (domain, service));
                }
                Err(says) => {
                    let e = got.expect_err("refused");
                    assert!(e.contains(says), "{pairs:?}: {e}");
                }
            }
        }
    }

    /// The modules the help text lists are the services of the table, in its order.
    #[test]
    fn help_lists_every_module() {
        let mut cli = <crate::Cli as clap::CommandFactory>::command();
        let help = cli
            .find_subcommand_mut("serve-metrics")
            .expect("the subcommand")
            .render_long_help()
            .to_string();
        let names: Vec<&str> = service::SERVICES.iter().map(|s| s.name).collect();
        assert!(
            help.replace('\n', " ").contains(&names.join(", ")),
            "{help}"
        );
    }
}
