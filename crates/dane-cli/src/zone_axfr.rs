//! `dane zone check --axfr SERVER [--tsig-key FILE]` and `--nsd-verifier`: the zone read
//! from a zone transfer. dane-resolver does the transfer and its TSIG checks, dane-zone's
//! `AxfrCollector` reads the records and the SOA-first/SOA-last rule; this wires them.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use dane_resolver::axfr::{self, AxfrLimits};
use dane_resolver::update::TsigKey;
use dane_zone::{AxfrCollector, Name, ParseLimits, Record};

use crate::term::sanitize;
use crate::zone::{Args, origin_arg, parse_origin};

/// Default bound on a whole transfer.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The zone transferred: its label (`AXFR from SERVER`), records and apex. The outer
/// `Err` is a usage error (exit 2: a bad --origin, --timeout or --tsig-key); the inner one
/// a transfer that failed (exit 3).
pub fn transfer(
    args: &Args,
    server: SocketAddr,
) -> anyhow::Result<anyhow::Result<(String, Vec<Record>, Name)>> {
    let Some(origin) = origin_arg(args) else {
        anyhow::bail!("--axfr needs the zone's name: --origin NAME");
    };
    let apex = parse_origin(&origin)?;
    let zone = hickory_proto::rr::Name::from_ascii(apex.to_string())
        .with_context(|| format!("--origin {:?}", sanitize(&origin)))?;
    let timeout = match &args.timeout {
        Some(t) => Duration::from_secs(crate::rollover::parse_duration("--timeout", t)?),
        None => DEFAULT_TIMEOUT,
    };
    let key = match &args.tsig_key {
        Some(path) => {
            let text = crate::tlsa::read_input("--tsig-key", path, false)?;
            Some(
                TsigKey::parse_named(
                    &String::from_utf8_lossy(&text),
                    args.tsig_key_name.as_deref(),
                )
                .with_context(|| format!("--tsig-key {}", path.display()))?,
            )
        }
        None => None,
    };
    let label = format!("AXFR from {server}");
    let limits = AxfrLimits {
        timeout,
        max_bytes: crate::zone::MAX_ZONE_BYTES,
        ..AxfrLimits::default()
    };
    let mut collector = AxfrCollector::new(&apex, &label, ParseLimits::default().max_records);
    let mut push = |m: &[u8]| collector.push(m).map_err(|e| e.to_string());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let clock = crate::rollover_update::wall_clock;
    let done = runtime.block_on(axfr::transfer(
        server,
        &zone,
        key.as_ref(),
        &clock,
        limits,
        &mut push,
    ));
    if let Err(e) = done {
        return Ok(Err(e.into()));
    }
    Ok(collector
        .finish()
        .map(|records| (label, records, apex))
        .map_err(Into::into))
}
