//! The versioned JSON documents of `dane verify --json` (also one `dane scan` line) and
//! `dane dnssec --json` (schemas/).

use dane_check::report::Report;
use dane_dnssec::Outcome;
use serde::Serialize;

/// The `dane verify --json` document: the evaluation time and the report.
#[derive(Serialize)]
pub struct Doc<'a> {
    /// When the checks were evaluated (`--at` or the clock).
    pub at: String,
    /// The report, flattened.
    #[serde(flatten)]
    pub report: &'a Report,
}

/// The `dane dnssec --json` document.
#[derive(Serialize)]
pub struct DnssecDoc<'a> {
    /// Schema version (1).
    pub version: u32,
    /// When the signatures were checked (RFC 3339).
    pub checked_at: String,
    /// The resolvers asked.
    pub servers: Vec<String>,
    /// How names were resolved (a resolver, or iteration from the root).
    pub resolution: dane_check::dns::Resolution,
    /// The validation outcome, flattened.
    #[serde(flatten)]
    pub outcome: Option<&'a Outcome>,
    /// Only when the resolver was unsuitable (no outcome then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<&'static str>,
    /// Why, with `verdict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A document pretty-printed, with a final newline.
pub fn pretty(doc: &impl Serialize) -> serde_json::Result<String> {
    let mut s = serde_json::to_string_pretty(doc)?;
    s.push('\n');
    Ok(s)
}
