//! The flags every domain check shares (`dane verify`, `dane scan`, `dane serve-metrics`):
//! the resolver and trust anchors, the evaluation time, families, timeouts and the policy
//! switches that change the exit code. One definition, flattened into each subcommand.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::{ArgGroup, Args as ClapArgs};
use dane_check::engine::{Family, Options};

/// Resolver, time, family, timeout and policy flags.
#[derive(Debug, Clone, ClapArgs)]
#[command(group(ArgGroup::new("family").args(["ipv4", "ipv6"])))]
pub struct CheckOpts {
    /// Recursive resolver to ask (repeatable; default: /etc/resolv.conf).
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub resolver: Vec<String>,
    /// Trust anchors (DS or DNSKEY lines) instead of the IANA root anchors.
    #[arg(long, value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,
    /// --iterate, --no-iterate, --root-hints.
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
    /// Not protected by DANE is a failure (exit 1 instead of 4).
    #[arg(long)]
    pub require_dane: bool,
    /// Any warning is a failure (exit 1).
    #[arg(long)]
    pub strict: bool,
    /// Warn about certificates and signatures expiring within N days.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub warn_days: u32,
    /// Most servers probed at once (per domain).
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// Per-phase network timeout in seconds (DNS queries, connect, banner, STARTTLS,
    /// handshake).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
}

impl CheckOpts {
    /// Checks the ranges clap cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.timeout == 0 || self.timeout > 600 {
            bail!("--timeout {}: must be 1 to 600 seconds", self.timeout);
        }
        if self.concurrency == 0 || self.concurrency > 1024 {
            bail!("--concurrency {}: must be 1 to 1024", self.concurrency);
        }
        Ok(())
    }

    /// `--timeout` as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// The engine options these flags set, at `now` (no host, candidate or TLSA override).
    pub fn options(&self, now: rustls_pki_types::UnixTime) -> Options {
        let mut options = Options::new(now);
        options.concurrency = self.concurrency;
        options.warn_days = self.warn_days;
        if self.ipv4 {
            options.families = vec![Family::V4];
        } else if self.ipv6 {
            options.families = vec![Family::V6];
        }
        options
    }

    /// The validating resolver these flags describe (one per run: its cache is shared).
    pub fn resolver(&self) -> anyhow::Result<dane_resolver::Resolver> {
        crate::resolve::resolver(
            &self.resolver,
            self.trust_anchor.as_deref(),
            self.timeout(),
            &self.resolution,
        )
    }

    /// The live prober with the `--timeout` limits.
    pub fn prober(&self) -> dane_probe::Prober {
        dane_probe::Prober::new(dane_probe::TrustStore::webpki_roots())
            .with_limits(dane_probe::Limits::with_timeout(self.timeout()))
    }
}
