//! `--format openmetrics` and the body of `dane serve-metrics`' `/probe`: the report as
//! OpenMetrics text (<https://prometheus.io/docs/specs/om/open_metrics_spec/>), ending in
//! `# EOF`. Every family is a gauge (states are a `state` label with 0/1 values), so the
//! output also parses as the Prometheus text format that the node-exporter textfile
//! collector reads.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use dane_check::Status;
use dane_check::dns::Security;
use dane_check::report::Report;
use dane_tlsa::RecordStatus;

use crate::summary;

/// A label value escaped per the OpenMetrics ABNF: `\` as `\\`, `"` as `\"`, newline as
/// `\n`; everything else (UTF-8) verbatim.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// One metric family being written: its header once, then samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = write!(self.out, "{name}");
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

fn family<'a>(out: &'a mut String, name: &str, unit: Option<&str>, help: &str) -> Family<'a> {
    let _ = writeln!(out, "# TYPE {name} gauge");
    if let Some(unit) = unit {
        let _ = writeln!(out, "# UNIT {name} {unit}");
    }
    let _ = writeln!(out, "# HELP {name} {help}");
    Family { out }
}

fn security_word(s: &Security) -> &'static str {
    match s {
        Security::Secure => "secure",
        Security::Insecure => "insecure",
        Security::Bogus { .. } => "bogus",
        Security::Indeterminate { .. } => "indeterminate",
    }
}

/// The report as OpenMetrics text; `elapsed` is how long the check took.
pub fn render(report: &Report, elapsed: Duration) -> String {
    let mut o = String::new();
    let domain = report.domain.as_str();
    let service = report.service;
    let base = [("domain", domain), ("service", service)];

    let mut f = family(
        &mut o,
        "dane_domain_verdict",
        None,
        "The domain's verdict (1 for the state it is in), as dane verify --json says.",
    );
    for v in summary::VERDICTS {
        let state = summary::verdict_name(v);
        f.sample(
            "dane_domain_verdict",
            &[base[0], base[1], ("state", state)],
            u8::from(v == report.verdict),
        );
    }

    let mut f = family(
        &mut o,
        "dane_verified",
        None,
        "1 when the endpoint authenticated with DANE, else 0.",
    );
    for h in &report.hosts {
        for e in &h.endpoints {
            let (address, port) = (e.address.to_string(), e.port.to_string());
            f.sample(
                "dane_verified",
                &[
                    base[0],
                    base[1],
                    ("host", &h.name),
                    ("address", &address),
                    ("port", &port),
                ],
                u8::from(e.verdict.status == Status::Verified),
            );
        }
    }

    let mut f = family(
        &mut o,
        "dane_tlsa_record_match",
        None,
        "1 when the TLSA record matched the endpoint's chain, else 0 (index: the record's place in the RRset).",
    );
    for h in &report.hosts {
        for e in &h.endpoints {
            let Some(m) = &e.tlsa_match else { continue };
            let (address, port) = (e.address.to_string(), e.port.to_string());
            for (i, r) in m.records.iter().enumerate() {
                let (usage, selector, mtype) = (
                    r.record.usage.value().to_string(),
                    r.record.selector.value().to_string(),
                    r.record.matching_type.value().to_string(),
                );
                let index = i.to_string();
                f.sample(
                    "dane_tlsa_record_match",
                    &[
                        base[0],
                        base[1],
                        ("host", &h.name),
                        ("address", &address),
                        ("port", &port),
                        ("index", &index),
                        ("usage", &usage),
                        ("selector", &selector),
                        ("matching_type", &mtype),
                    ],
                    u8::from(r.status == RecordStatus::Matched),
                );
            }
        }
    }

    let mut f = family(
        &mut o,
        "dane_certificate_expiry_timestamp_seconds",
        Some("seconds"),
        "notAfter of each certificate the endpoint presented (depth 0 is the leaf).",
    );
    for h in &report.hosts {
        for e in &h.endpoints {
            let (address, port) = (e.address.to_string(), e.port.to_string());
            for (depth, c) in e.chain.iter().enumerate() {
                let depth = depth.to_string();
                f.sample(
                    "dane_certificate_expiry_timestamp_seconds",
                    &[
                        base[0],
                        base[1],
                        ("host", &h.name),
                        ("address", &address),
                        ("port", &port),
                        ("depth", &depth),
                    ],
                    c.not_after,
                );
            }
        }
    }

    // A name and type can be looked up for more than one host; each is reported once.
    let lookups = summary::lookups(report);
    let mut seen = BTreeSet::new();
    let unique: Vec<_> = lookups
        .iter()
        .filter(|(t, n, _, _)| seen.insert((*t, *n)))
        .collect();
    let mut f = family(
        &mut o,
        "dane_rrsig_expiry_timestamp_seconds",
        Some("seconds"),
        "The earliest expiration of the RRSIGs that made the lookup secure, along its chain of trust.",
    );
    for (rtype, name, expires, _) in &unique {
        if let Some(at) = expires {
            f.sample(
                "dane_rrsig_expiry_timestamp_seconds",
                &[base[0], base[1], ("name", name), ("type", rtype)],
                at,
            );
        }
    }
    let mut f = family(
        &mut o,
        "dane_dnssec_status",
        None,
        "The DNSSEC status of each lookup (1 for the state it is in).",
    );
    for (rtype, name, _, security) in &unique {
        let current = security_word(security);
        for state in ["secure", "insecure", "bogus", "indeterminate"] {
            f.sample(
                "dane_dnssec_status",
                &[
                    base[0],
                    base[1],
                    ("name", name),
                    ("type", rtype),
                    ("state", state),
                ],
                u8::from(state == current),
            );
        }
    }

    let mut f = family(
        &mut o,
        "dane_warnings",
        None,
        "Warnings in the report (certificate or signature expiring, no spare record, ...).",
    );
    f.sample("dane_warnings", &base, report.warnings.len());
    let mut f = family(
        &mut o,
        "dane_probe_duration_seconds",
        Some("seconds"),
        "How long the whole check took (DNS and every probe).",
    );
    f.sample(
        "dane_probe_duration_seconds",
        &base,
        format_args!("{:.6}", elapsed.as_secs_f64()),
    );
    o.push_str("# EOF\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::sample;

    #[test]
    fn golden_documents() {
        let d = Duration::from_millis(1234);
        sample::golden("openmetrics-partial.txt", &render(&sample::partial(), d));
        sample::golden(
            "openmetrics-nonexistent.txt",
            &render(&sample::nonexistent(), d),
        );
    }

    #[test]
    fn label_values_are_escaped() {
        for (raw, escaped) in [
            ("plain.example.", "plain.example."),
            ("a\"b", "a\\\"b"),
            ("a\\b", "a\\\\b"),
            ("a\nb", "a\\nb"),
            ("ünï", "ünï"),
        ] {
            assert_eq!(escape(raw), escaped, "{raw:?}");
        }
    }

    /// The structure the exposition format requires: every sample belongs to the family
    /// declared last, families are declared once, and the document ends with `# EOF`.
    #[test]
    fn well_formed() {
        let text = render(&sample::partial(), Duration::from_secs(1));
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(text.matches("# EOF").count(), 1);
        let mut families = BTreeSet::new();
        let mut current = String::new();
        let mut samples = BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap().to_owned();
                assert!(families.insert(name.clone()), "{name} declared twice");
                current = name;
            } else if !line.starts_with('#') {
                assert!(line.starts_with(&current), "{line} outside {current}");
                let series = line.rsplit_once(' ').unwrap().0.to_owned();
                assert!(samples.insert(series.clone()), "duplicate series {series}");
            }
        }
        assert!(families.contains("dane_tlsa_record_match"));
    }
}
