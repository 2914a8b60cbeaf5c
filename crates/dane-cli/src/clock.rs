//! The clock, read once per run (ARCHITECTURE.md invariant 2), and `--at TIME` parsing.

use anyhow::{Context as _, bail};
use rustls_pki_types::UnixTime;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Reads the system clock. Called once, in `main`, for a run evaluated at one time; the
/// long-running commands (`scan`, `serve-metrics`) read it again for each target or scrape
/// unless `--at` is given ([`crate::scan::Clock`]). Everything else gets `now`.
#[allow(clippy::disallowed_methods)] // the single place the CLI reads the clock
pub fn read_system_clock() -> UnixTime {
    UnixTime::now()
}

/// Parses a `--at` value: RFC 3339 (`2026-11-27T12:00:00Z`, any offset), a bare date
/// (`2026-11-27`, midnight UTC), or `@SECONDS` since the Unix epoch.
pub fn parse_at(text: &str) -> anyhow::Result<UnixTime> {
    let text = text.trim();
    let seconds = if let Some(raw) = text.strip_prefix('@') {
        raw.parse::<i64>()
            .with_context(|| format!("--at {text:?}: not a number of seconds after '@'"))?
    } else if text.len() == 10 && !text.contains('T') {
        let full = format!("{text}T00:00:00Z");
        OffsetDateTime::parse(&full, &Rfc3339)
            .with_context(|| format!("--at {text:?}: not a date (YYYY-MM-DD)"))?
            .unix_timestamp()
    } else {
        OffsetDateTime::parse(text, &Rfc3339)
            .with_context(|| {
                format!("--at {text:?}: not an RFC 3339 time (e.g. 2026-11-27T12:00:00Z)")
            })?
            .unix_timestamp()
    };
    let Ok(seconds) = u64::try_from(seconds) else {
        bail!("--at {text:?}: before 1970 is not supported");
    };
    Ok(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        seconds,
    )))
}

/// The time to evaluate at: `--at` when given, else the clock read once by `main`.
pub fn effective_now(at: Option<&str>, clock: UnixTime) -> anyhow::Result<UnixTime> {
    at.map_or(Ok(clock), parse_at)
}

pub use dane_render::format_time;

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<u64>) {
        let got = parse_at(input).ok().map(|t| t.as_secs());
        assert_eq!(got, expected, "{input}");
    }

    #[test]
    fn at_forms() {
        check("2026-11-27T12:00:00Z", Some(1_795_780_800));
        check("2026-11-27T13:00:00+01:00", Some(1_795_780_800));
        check("2026-11-27", Some(1_795_737_600));
        check("@1795780800", Some(1_795_780_800));
        check("yesterday", None);
        check("@-5", None);
        check("1969-12-31T00:00:00Z", None);
        check("2026-13-01", None);
    }

    #[test]
    fn formats_round_trip() {
        let t = parse_at("2026-11-27T12:00:00Z").unwrap();
        assert_eq!(format_time(t), "2026-11-27T12:00:00Z");
    }
}
