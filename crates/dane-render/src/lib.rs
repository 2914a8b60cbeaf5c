//! The report model of `dane verify` and `dane dnssec` rendered: as text for people, as the
//! versioned JSON document, as a monitoring plugin's status line (nagios), as OpenMetrics,
//! and as a picture of the whole check: one model ([`dot::Picture`]) written as Graphviz
//! DOT, or laid out ([`layout`]) and drawn as SVG ([`svg`]) in-process, and the HTML page
//! that holds the SVG ([`html`]).
//! The CLI and `dane serve-metrics` call the same functions, so a format cannot drift
//! between them.
//!
//! ```
//! use dane_render::{paint, sanitize};
//!
//! // Untrusted text (banners, certificate subjects, DNS names) is escaped first.
//! assert_eq!(sanitize("evil\x1b[2J"), "evil\\u{1b}[2J");
//! assert_eq!(paint(false, "31", "FAILED"), "FAILED");
//! ```
//!
//! # Invariants
//!
//! - Pure (ARCHITECTURE.md invariant 1): functions of the report model and of values the
//!   caller passes (the evaluation time, the elapsed time); no I/O, no clock (crate-local
//!   clippy.toml). The same report always renders to the same bytes, so golden files hold.
//! - Libraries never print: every renderer returns a `String`; the caller writes it.
//! - Untrusted text is sanitised for a terminal ([`sanitize`]) or escaped for the target
//!   syntax (OpenMetrics label values, DOT strings, XML).
//!
//! # Time
//!
//! `now` (or `at`) is only printed, or used for day counts (nagios perfdata); nothing is
//! judged here: verdicts come made from `dane-check` and `dane-dnssec`.
//!
//! # Limitations
//!
//! `dane scan`'s end-of-run summary stays in the CLI (it is a summary of many reports).

pub mod dot;
pub mod html;
pub mod json;
pub mod layout;
pub mod nagios;
pub mod openmetrics;
pub mod summary;
pub mod svg;
pub mod text;

use std::borrow::Cow;

use rustls_pki_types::UnixTime;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Escapes control characters (C0, DEL, C1, and bidi overrides) in untrusted text.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    fn bad(c: char) -> bool {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Wraps `text` in an ANSI SGR colour when `on`.
pub fn paint(on: bool, sgr: &str, text: &str) -> String {
    if on {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Formats a time as RFC 3339 UTC for messages and JSON.
pub fn format_time(t: UnixTime) -> String {
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|dt| dt.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{}", t.as_secs()))
}

/// The association data of each record of a set as a table shows it: whole for the
/// records `full` picks (the one that matched), otherwise the shortest prefix unique within
/// the set followed by `...` (whole when that is all of it).
pub fn shown_data(records: &[dane_tlsa::TlsaRecord], full: impl Fn(usize) -> bool) -> Vec<String> {
    dane_check::records::unique_prefixes(records)
        .into_iter()
        .zip(records)
        .enumerate()
        .map(|(i, (prefix, r))| {
            let hex = r.data_hex();
            if full(i) || prefix.len() == hex.len() {
                hex
            } else {
                format!("{prefix}...")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn sanitize_escapes_controls() {
        for (input, expected) in [
            ("mx1.example.", "mx1.example."),
            ("evil\x1b[2Jbanner", "evil\\u{1b}[2Jbanner"),
            ("line\r\nnext", "line\\r\\nnext"),
            ("rtl\u{202e}txt", "rtl\\u{202e}txt"),
            ("caf\u{e9}", "caf\u{e9}"),
        ] {
            assert_eq!(sanitize(input), expected, "{input:?}");
        }
    }
}
