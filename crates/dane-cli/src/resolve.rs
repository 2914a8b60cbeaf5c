//! The validating resolver from the command line: `--resolver ADDR[:PORT]` (repeatable;
//! default the nameservers of /etc/resolv.conf) and `--trust-anchor FILE` (default the
//! IANA root anchors), shared by every subcommand that does DNS.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use dane_resolver::{Config, Resolver};

use crate::term;

/// A resolver (one per run: its cache serves every lookup of the run).
pub fn resolver(
    servers: &[String],
    trust_anchor: Option<&Path>,
    timeout: Duration,
) -> anyhow::Result<Resolver> {
    let servers = if servers.is_empty() {
        dane_resolver::system_servers().context("/etc/resolv.conf")?
    } else {
        servers
            .iter()
            .map(|s| {
                dane_resolver::parse_server(s)
                    .with_context(|| format!("--resolver {:?}", term::sanitize(s)))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let mut config = Config::new(servers);
    // Each exchange gets a share of the per-phase timeout; the whole lookup at most thrice it.
    config.timeout = (timeout / 4).max(Duration::from_millis(500));
    config.lookup_timeout = timeout * 3;
    if let Some(path) = trust_anchor {
        config.anchors = dane_resolver::read_anchors(path).context("--trust-anchor")?;
    }
    Ok(Resolver::new(config))
}
