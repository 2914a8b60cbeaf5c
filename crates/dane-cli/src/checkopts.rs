//! The flags every domain check shares (`dane verify`, `dane scan`, `dane serve-metrics`):
//! the resolver and trust anchors, the evaluation time, families, timeouts and the policy
//! switches that change the exit code. One definition, flattened into each subcommand.
//! `dane rollover promote` takes [`ProbeOpts`], `dane rollover status` [`LookupOpts`]: the
//! same flags without the policy switches (their verdicts are their own, so `--strict`,
//! `--require-dane` and `--warn-days` would mean nothing there), and without
//! `--concurrency` for `status`, which probes nothing.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::{ArgGroup, Args as ClapArgs};
use dane_check::engine::{Family, Options};
use dane_check::threshold::{Threshold, Thresholds};

/// Resolver, trust anchor, time and family flags.
#[derive(Debug, Clone, ClapArgs)]
#[command(group(ArgGroup::new("family").args(["ipv4", "ipv6"])))]
pub struct NetOpts {
    /// Recursive resolver to ask (repeatable; default: /etc/resolv.conf).
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub resolver: Vec<String>,
    /// Trust anchors (DS or DNSKEY lines) instead of the IANA root anchors.
    #[arg(long, value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,
    /// --iterate, --no-iterate, --root-hints, --allow-private.
    #[command(flatten)]
    pub resolution: crate::resolve::ResolutionOpts,
    /// Evaluate DNSSEC signatures and certificate dates at TIME (RFC 3339, YYYY-MM-DD,
    /// @SECONDS).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// IPv4 addresses only.
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,
    /// IPv6 addresses only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
}

/// The network timeout flag.
#[derive(Debug, Clone, ClapArgs)]
pub struct TimeoutOpts {
    /// Per-phase network timeout in seconds (DNS queries, connect, banner, STARTTLS,
    /// handshake).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
}

/// Concurrency and timeout flags.
#[derive(Debug, Clone, ClapArgs)]
pub struct LimitOpts {
    /// Most servers probed at once (per domain).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// --timeout.
    #[command(flatten)]
    pub timeout: TimeoutOpts,
}

/// Resolver, time, family, timeout and policy flags.
#[derive(Debug, Clone, ClapArgs)]
pub struct CheckOpts {
    /// Resolver, anchors, time, families.
    #[command(flatten)]
    pub net: NetOpts,
    /// Not protected by DANE is a failure (exit 1 instead of 4).
    #[arg(long)]
    pub require_dane: bool,
    /// Any warning is a failure (exit 1).
    #[arg(long)]
    pub strict: bool,
    /// Warn about certificates and signatures expiring within N days (both; the two flags
    /// below set one each). Without any: warn when less than a fifth of a signature's or
    /// certificate's own validity period is left.
    #[arg(long, value_name = "N")]
    pub warn_days: Option<u32>,
    /// Warn about RRSIGs expiring within N days (instead of a fifth of their validity).
    #[arg(long, value_name = "N")]
    pub warn_rrsig_days: Option<u32>,
    /// Warn about certificates expiring within N days (instead of a fifth of their
    /// validity).
    #[arg(long, value_name = "N")]
    pub warn_cert_days: Option<u32>,
    /// Concurrency, timeout.
    #[command(flatten)]
    pub limits: LimitOpts,
    /// Ask every address of every authoritative server of each TLSA owner's zone and
    /// judge what each serves (default in `verify`; see BENCHMARKS.md for `scan` and
    /// `serve-metrics`).
    #[arg(long, overrides_with = "no_each_server")]
    pub each_server: bool,
    /// Do not ask every authoritative server: judge the validating path's answers only.
    #[arg(long, overrides_with = "each_server")]
    pub no_each_server: bool,
    /// The issuer-family list (JSON, format 1) that `issuer-family` warnings use instead
    /// of the one built in: a DANE-TA record pinning one intermediate of a CA that rotates
    /// among several (docs/issuer-families.md).
    #[arg(long, value_name = "FILE")]
    pub ca_families: Option<PathBuf>,
}

/// The flags of [`CheckOpts`] without the policy switches (`dane rollover promote`).
#[derive(Debug, Clone, ClapArgs)]
pub struct ProbeOpts {
    /// Resolver, anchors, time, families.
    #[command(flatten)]
    pub net: NetOpts,
    /// Concurrency, timeout.
    #[command(flatten)]
    pub limits: LimitOpts,
}

/// The flags of [`CheckOpts`] for a run that probes no server (`dane rollover status`):
/// no policy switches, no `--concurrency`.
#[derive(Debug, Clone, ClapArgs)]
pub struct LookupOpts {
    /// Resolver, anchors, time, families.
    #[command(flatten)]
    pub net: NetOpts,
    /// --timeout.
    #[command(flatten)]
    pub timeout: TimeoutOpts,
}

impl TimeoutOpts {
    /// Checks the range clap cannot express.
    fn validate(&self) -> anyhow::Result<()> {
        if self.timeout == 0 || self.timeout > 600 {
            bail!("--timeout {}: must be 1 to 600 seconds", self.timeout);
        }
        Ok(())
    }

    fn duration(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }
}

impl LimitOpts {
    /// Checks the ranges clap cannot express.
    fn validate(&self) -> anyhow::Result<()> {
        self.timeout.validate()?;
        if self.concurrency == 0 || self.concurrency > 1024 {
            bail!("--concurrency {}: must be 1 to 1024", self.concurrency);
        }
        Ok(())
    }
}

/// The engine options of these flags at `now` (no host, candidate or TLSA override).
fn options(net: &NetOpts, concurrency: usize, now: rustls_pki_types::UnixTime) -> Options {
    let mut options = Options::new(now);
    options.concurrency = concurrency;
    options.address_policy = net.resolution.address_policy();
    if net.ipv4 {
        options.families = vec![Family::V4];
    } else if net.ipv6 {
        options.families = vec![Family::V6];
    }
    options
}

fn resolver(net: &NetOpts, timeout: &TimeoutOpts) -> anyhow::Result<dane_resolver::Resolver> {
    crate::resolve::resolver(
        &net.resolver,
        net.trust_anchor.as_deref(),
        timeout.duration(),
        &net.resolution,
    )
}

fn prober(timeout: &TimeoutOpts) -> dane_probe::Prober {
    dane_probe::Prober::new(dane_probe::TrustStore::webpki_roots())
        .with_limits(dane_probe::Limits::with_timeout(timeout.duration()))
}

impl CheckOpts {
    /// Checks the ranges clap cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.limits.validate()
    }

    /// The engine options these flags set, at `now` (no host, candidate or TLSA override).
    pub fn options(&self, now: rustls_pki_types::UnixTime) -> Options {
        let mut o = options(&self.net, self.limits.concurrency, now);
        o.thresholds = self.thresholds();
        // `dane verify`'s default; `scan` and `serve-metrics` set their own.
        o.each_server = self.each_server_or(true);
        o
    }

    /// `--each-server` or `--no-each-server` (the last one given), else `default` (the
    /// command's).
    pub fn each_server_or(&self, default: bool) -> bool {
        match (self.each_server, self.no_each_server) {
            (_, true) => false,
            (true, _) => true,
            _ => default,
        }
    }

    /// The expiry thresholds: `--warn-rrsig-days`, `--warn-cert-days`, else `--warn-days`
    /// for both, else a fifth of each validity period.
    pub fn thresholds(&self) -> Thresholds {
        let pick = |one: Option<u32>| match one.or(self.warn_days) {
            Some(days) => Threshold::Days(days),
            None => Threshold::Fifth,
        };
        Thresholds {
            rrsig: pick(self.warn_rrsig_days),
            cert: pick(self.warn_cert_days),
        }
    }

    /// The validating resolver these flags describe (one per run: its cache is shared).
    pub fn resolver(&self) -> anyhow::Result<dane_resolver::Resolver> {
        resolver(&self.net, &self.limits.timeout)
    }

    /// The live prober with the `--timeout` limits.
    pub fn prober(&self) -> dane_probe::Prober {
        prober(&self.limits.timeout)
    }

    /// `--ca-families FILE` read and checked, else the list built in. Read once per run
    /// (a scan's targets and a server's scrapes share it); an unreadable or malformed file
    /// is a one-line error before anything is checked.
    pub fn ca_families(&self) -> anyhow::Result<std::sync::Arc<dane_tlsa::CaFamilies>> {
        crate::families::load(self.ca_families.as_deref())
    }
}

impl ProbeOpts {
    /// Checks the ranges clap cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.limits.validate()
    }

    /// The engine options these flags set, at `now` (no host, candidate or TLSA override).
    pub fn options(&self, now: rustls_pki_types::UnixTime) -> Options {
        options(&self.net, self.limits.concurrency, now)
    }

    /// The validating resolver these flags describe (one per run: its cache is shared).
    pub fn resolver(&self) -> anyhow::Result<dane_resolver::Resolver> {
        resolver(&self.net, &self.limits.timeout)
    }

    /// The live prober with the `--timeout` limits.
    pub fn prober(&self) -> dane_probe::Prober {
        prober(&self.limits.timeout)
    }
}

impl LookupOpts {
    /// Checks the range clap cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.timeout.validate()
    }

    /// The engine options these flags set, at `now` (no host, candidate or TLSA override;
    /// nothing is probed, so the default concurrency).
    pub fn options(&self, now: rustls_pki_types::UnixTime) -> Options {
        options(&self.net, Options::new(now).concurrency, now)
    }

    /// The validating resolver these flags describe (one per run: its cache is shared).
    pub fn resolver(&self) -> anyhow::Result<dane_resolver::Resolver> {
        resolver(&self.net, &self.timeout)
    }
}
