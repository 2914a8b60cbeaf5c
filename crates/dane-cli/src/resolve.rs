//! The validating resolver from the command line: `--resolver ADDR[:PORT]` (repeatable;
//! default the nameservers of /etc/resolv.conf), `--trust-anchor FILE` (default the IANA
//! root anchors), the resolution path (`--iterate`, `--no-iterate`, `--root-hints FILE`)
//! and the address policy (`--allow-private`), shared by every subcommand that does DNS.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use dane_resolver::{AddressPolicy, Config, Mode, Resolver, RootHints};

use crate::term;

/// How answers are obtained: the resolver (checked once per run), or iteration.
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct ResolutionOpts {
    /// Resolve from the root servers ourselves (the embedded IANA root hints, or
    /// --root-hints); the resolver is not asked.
    #[arg(long, conflicts_with = "no_iterate")]
    pub iterate: bool,
    /// Never resolve from the root: when the resolver fails the DNSSEC capability check,
    /// the verdict is indeterminate (exit 3) with the resolver's problem.
    #[arg(long)]
    pub no_iterate: bool,
    /// Root hints for iteration (`. NS name` and `name A|AAAA addr` lines) instead of the
    /// IANA root servers: a private root.
    #[arg(long, value_name = "FILE")]
    pub root_hints: Option<PathBuf>,
    /// Also query and probe loopback, private (RFC 1918, ULA), link-local, CGNAT,
    /// documentation and other special-purpose addresses that DNS names point to (by
    /// default they are refused and reported; --resolver, --root-hints and --host are
    /// always used wherever they point).
    #[arg(long)]
    pub allow_private: bool,
}

impl ResolutionOpts {
    /// The address policy `--allow-private` selects.
    pub fn address_policy(&self) -> AddressPolicy {
        if self.allow_private {
            AddressPolicy::AllowAll
        } else {
            AddressPolicy::PublicOnly
        }
    }

    fn mode(&self) -> Mode {
        if self.iterate {
            Mode::Iterate
        } else if self.no_iterate {
            Mode::Checked
        } else {
            Mode::Auto
        }
    }
}

/// Most bytes read from a root hints file (the IANA file is 3 KiB).
const MAX_HINTS: u64 = 1 << 20;

/// A resolver (one per run: its cache serves every lookup of the run).
pub fn resolver(
    servers: &[String],
    trust_anchor: Option<&Path>,
    timeout: Duration,
    resolution: &ResolutionOpts,
) -> anyhow::Result<Resolver> {
    let mode = resolution.mode();
    if mode == Mode::Iterate && !servers.is_empty() {
        anyhow::bail!("--iterate asks no resolver: drop --resolver or --iterate");
    }
    let servers = if mode == Mode::Iterate {
        Vec::new()
    } else if servers.is_empty() {
        match dane_resolver::system_servers() {
            Ok(s) => s,
            // No resolver at all: iterate (and say so), unless told not to.
            Err(_) if mode == Mode::Auto => Vec::new(),
            Err(e) => return Err(e).context("/etc/resolv.conf"),
        }
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
    config.mode = mode;
    config.address_policy = resolution.address_policy();
    // Each exchange gets a share of the per-phase timeout; the whole lookup at most thrice it.
    config.timeout = (timeout / 4).max(Duration::from_millis(500));
    config.lookup_timeout = timeout * 3;
    if let Some(path) = trust_anchor {
        config.anchors = crate::input::read_anchors(path)?;
    }
    if let Some(path) = &resolution.root_hints {
        let label = format!("--root-hints {}", path.display());
        let text = crate::input::read_bounded(&label, path, MAX_HINTS)?;
        config.root_hints = RootHints::parse(&text).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    }
    Ok(Resolver::new(config))
}
