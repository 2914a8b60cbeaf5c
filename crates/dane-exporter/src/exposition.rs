//! The two exposition formats `dane serve-metrics` speaks, and the choice between them by
//! the scraper's `Accept` header, as the Prometheus client libraries choose
//! (client_golang `expfmt.NegotiateIncludingOpenMetrics`): OpenMetrics when asked for,
//! else the Prometheus text format 0.0.4. Metrics are rendered once, as OpenMetrics; the
//! text format is derived from that rendering (see [`to_prometheus_text`]).

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics text, with the version the scraper asked for (1.0.0 or 0.0.1: the same
    /// syntax for what we emit).
    OpenMetrics(&'static str),
    /// The Prometheus text format 0.0.4.
    PrometheusText,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics("0.0.1") => {
                "application/openmetrics-text; version=0.0.1; charset=utf-8"
            }
            Format::OpenMetrics(_) => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// An OpenMetrics document in this format.
    pub fn render(self, openmetrics: &str) -> String {
        match self {
            Format::OpenMetrics(_) => openmetrics.to_owned(),
            Format::PrometheusText => to_prometheus_text(openmetrics),
        }
    }
}

/// One media range of an `Accept` header: type/subtype (lower case), parameters, weight.
struct Range<'a> {
    media: String,
    version: Option<&'a str>,
    q: f64,
}

fn ranges(accept: &str) -> Vec<Range<'_>> {
    let mut out = Vec::new();
    // The header is bounded by the request head limit; so is this list.
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if media.is_empty() {
            continue;
        }
        let mut version = None;
        let mut q = 1.0;
        for param in parts {
            let Some((k, v)) = param.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "version" => version = Some(v),
                // RFC 9110 12.4.2: a weight from 0 to 1; a malformed one makes the
                // range unusable rather than preferred.
                "q" => {
                    q = v
                        .parse::<f64>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .unwrap_or(0.0)
                }
                _ => {}
            }
        }
        out.push(Range { media, version, q });
    }
    out
}

/// The format for a request with this `Accept` header (absent: the text format). The
/// ranges are taken by weight, highest first (ties in header order); the first that is
/// OpenMetrics (version 1.0.0, 0.0.1 or none) or `text/plain` (version 0.0.4 or none)
/// decides; a weight of 0 means "not acceptable". Anything else falls back to the text
/// format, as the Prometheus client libraries do.
pub fn negotiate(accept: Option<&str>) -> Format {
    let mut ranges = accept.map(ranges).unwrap_or_default();
    // A stable sort keeps header order among equal weights.
    ranges.sort_by(|a, b| b.q.total_cmp(&a.q));
    for r in ranges.iter().filter(|r| r.q > 0.0) {
        match (r.media.as_str(), r.version) {
            ("application/openmetrics-text", None | Some("1.0.0")) => {
                return Format::OpenMetrics("1.0.0");
            }
            ("application/openmetrics-text", Some("0.0.1")) => return Format::OpenMetrics("0.0.1"),
            ("text/plain", None | Some("0.0.4")) => return Format::PrometheusText,
            _ => {}
        }
    }
    Format::PrometheusText
}

/// An OpenMetrics document (as we render them: gauge, counter and unknown families, no
/// exemplars or timestamps) in the Prometheus text format 0.0.4: `# UNIT` and `# EOF`
/// go (0.0.4 has neither); a counter family's `# TYPE` and `# HELP` name its `_total`
/// series, the name 0.0.4 gives a counter; `unknown` is 0.0.4's `untyped`. Samples and
/// their label escaping are the same in both formats.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut counter = false;
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            counter = kind == "counter";
            match kind {
                "counter" => out.push_str(&format!("# TYPE {name}_total counter")),
                "unknown" => out.push_str(&format!("# TYPE {name} untyped")),
                _ => out.push_str(line),
            }
        } else if let Some(rest) = line.strip_prefix("# HELP ").filter(|_| counter) {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push_str(&format!("# HELP {name}_total {help}"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn negotiation() {
        let om = Format::OpenMetrics("1.0.0");
        for (accept, expected) in [
            (None, Format::PrometheusText),
            (Some(""), Format::PrometheusText),
            (Some("*/*"), Format::PrometheusText),
            (Some(PROMETHEUS_2), om),
            (Some("application/openmetrics-text"), om),
            (Some("Application/OpenMetrics-Text; Version=\"1.0.0\""), om),
            (
                Some("application/openmetrics-text; version=0.0.1"),
                Format::OpenMetrics("0.0.1"),
            ),
            (Some("text/plain;version=0.0.4"), Format::PrometheusText),
            // Weights decide, not order.
            (
                Some("text/plain;q=0.5, application/openmetrics-text;q=0.9"),
                om,
            ),
            (
                Some("application/openmetrics-text;q=0.5, text/plain"),
                Format::PrometheusText,
            ),
            // Not acceptable, an unknown version, a malformed weight: not OpenMetrics.
            (
                Some("application/openmetrics-text;q=0"),
                Format::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;version=2.0.0"),
                Format::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;q=high"),
                Format::PrometheusText,
            ),
            // Protobuf is not offered; the next range decides.
            (
                Some(
                    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8",
                ),
                om,
            ),
        ] {
            assert_eq!(negotiate(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn text_format() {
        let om = "# TYPE a_seconds gauge\n# UNIT a_seconds seconds\n# HELP a_seconds A.\na_seconds{x=\"1\\\"\"} 1.5\n# TYPE reqs counter\n# HELP reqs Requests.\nreqs_total{code=\"200\"} 2\n# TYPE u unknown\n# HELP u U.\nu 1\n# EOF\n";
        assert_eq!(
            to_prometheus_text(om),
            "# TYPE a_seconds gauge\n# HELP a_seconds A.\na_seconds{x=\"1\\\"\"} 1.5\n# TYPE reqs_total counter\n# HELP reqs_total Requests.\nreqs_total{code=\"200\"} 2\n# TYPE u untyped\n# HELP u U.\nu 1\n"
        );
        assert_eq!(Format::OpenMetrics("1.0.0").render(om), om);
    }
}
