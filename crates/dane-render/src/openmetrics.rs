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

/// The report as OpenMetrics text; `elapsed` is how long the check took. Families in a
/// fixed order, each a step of its own.
pub fn render(report: &Report, elapsed: Duration) -> String {
    let mut o = String::new();
    let base = [
        ("domain", report.domain.as_str()),
        ("service", report.service),
    ];
    domain_verdict(&mut o, report, &base);
    resolution(&mut o, report, &base);
    endpoint_verified(&mut o, report, &base);
    tlsa_record_match(&mut o, report, &base);
    certificate_expiry(&mut o, report, &base);
    let lookups = unique_lookups(report);
    rrsig_expiry(&mut o, &lookups, &base);
    dnssec_status(&mut o, &lookups, &base);
    name_servers(&mut o, report, &base);
    warnings(&mut o, report, &base);
    duration(&mut o, elapsed, &base);
    o.push_str("# EOF\n");
    o
}

/// The labels every series carries: `domain`, `service`.
type Base<'a> = [(&'a str, &'a str); 2];

/// The labels of one endpoint: the base, `host`, `address`, `port`, and `algorithm` (the
/// key algorithm of the presented leaf: `rsa`, `ecdsa`, `eddsa`) when known: an address
/// that holds several chains has one endpoint per algorithm.
fn endpoint_labels<'a>(
    base: &Base<'a>,
    host: &'a str,
    address: &'a str,
    port: &'a str,
    algorithm: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut labels = vec![
        base[0],
        base[1],
        ("host", host),
        ("address", address),
        ("port", port),
    ];
    if let Some(a) = algorithm {
        labels.push(("algorithm", a));
    }
    labels
}

/// `dane_domain_verdict{state}`: the domain's verdict as a state set.
fn domain_verdict(o: &mut String, report: &Report, base: &Base<'_>) {
    let mut f = family(
        o,
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
}

/// `dane_resolution_info{mode,unsuitable,reason}`: where the answers came from, when that
/// is not the configured resolver as such (issue 11): iterating from the root (`reason`: the
/// resolver's problem, or `--iterate`), or an unsuitable resolver under `--no-iterate`
/// (`unsuitable="true"`; the verdict is then indeterminate for that reason). Absent for a
/// resolver that passed the check, so a series appears only when something is off.
fn resolution(o: &mut String, report: &Report, base: &Base<'_>) {
    let Some(r) = report.resolution.as_ref() else {
        return;
    };
    let Some(reason) = r.reason.as_deref() else {
        return;
    };
    let mut f = family(
        o,
        "dane_resolution_info",
        None,
        "1: the answers did not come from the configured resolver as such (mode iterative: resolved from the root; unsuitable: the resolver failed the DNSSEC capability check), and why.",
    );
    f.sample(
        "dane_resolution_info",
        &[
            base[0],
            base[1],
            ("mode", r.mode.as_str()),
            ("unsuitable", if r.unsuitable { "true" } else { "false" }),
            ("reason", reason),
        ],
        1,
    );
}

/// `dane_verified{host,address,port,algorithm}`: each endpoint authenticated or not.
fn endpoint_verified(o: &mut String, report: &Report, base: &Base<'_>) {
    let mut f = family(
        o,
        "dane_verified",
        None,
        "1 when the endpoint authenticated with DANE, else 0.",
    );
    for h in &report.hosts {
        for e in &h.endpoints {
            let (address, port) = (e.address.to_string(), e.port.to_string());
            f.sample(
                "dane_verified",
                &endpoint_labels(base, &h.name, &address, &port, e.algorithm.as_deref()),
                u8::from(e.verdict.status == Status::Verified),
            );
        }
    }
}

/// `dane_tlsa_record_match{...,usage,selector,matching_type,record}`: each record at each
/// endpoint, labelled by what the record is (its parameters and a stable id from its data,
/// `dane_check::records::record_ids`), never by its place in the RRset.
fn tlsa_record_match(o: &mut String, report: &Report, base: &Base<'_>) {
    let mut f = family(
        o,
        "dane_tlsa_record_match",
        None,
        "1 when the TLSA record matched the endpoint's chain, else 0 (record: the first 16 hex digits of its association data; of their SHA-256 for matching type 0).",
    );
    for h in &report.hosts {
        for e in &h.endpoints {
            let Some(m) = &e.tlsa_match else { continue };
            let (address, port) = (e.address.to_string(), e.port.to_string());
            let set: Vec<dane_tlsa::TlsaRecord> =
                m.records.iter().map(|r| r.record.clone()).collect();
            let ids = dane_check::records::record_ids(&set);
            for (r, id) in m.records.iter().zip(&ids) {
                let (usage, selector, mtype) = (
                    r.record.usage.value().to_string(),
                    r.record.selector.value().to_string(),
                    r.record.matching_type.value().to_string(),
                );
                let mut labels =
                    endpoint_labels(base, &h.name, &address, &port, e.algorithm.as_deref());
                labels.extend([
                    ("usage", usage.as_str()),
                    ("selector", selector.as_str()),
                    ("matching_type", mtype.as_str()),
                    ("record", id.as_str()),
                ]);
                f.sample(
                    "dane_tlsa_record_match",
                    &labels,
                    u8::from(r.status == RecordStatus::Matched),
                );
            }
        }
    }
}

/// `dane_nameserver_state{host,owner,type,ns,address,state}` (a state set) and
/// `dane_nameserver_soa_serial{host,owner,type,ns,address}`: each authoritative server of
/// the zone of each TLSA owner, of the MX RRset (`host=""`) and of each MX host's address
/// RRsets (issue 23; both families absent when no server was asked).
fn name_servers(o: &mut String, report: &Report, base: &Base<'_>) {
    use dane_check::servers::ServerState;
    const STATES: [(ServerState, &str); 6] = [
        (ServerState::Same, "same"),
        (ServerState::Stale, "stale"),
        (ServerState::Fails, "fails"),
        (ServerState::Bogus, "bogus"),
        (ServerState::Refuses, "refuses"),
        (ServerState::Unreachable, "unreachable"),
    ];
    let rows: Vec<(&str, &dane_check::servers::ServerCheck)> =
        report
            .mx_servers
            .iter()
            .map(|c| ("", c))
            .chain(report.hosts.iter().flat_map(|h| {
                dane_check::report::host_server_checks(h).map(|c| (h.name.as_str(), c))
            }))
            .collect();
    // Only when the servers were asked: runs with --no-each-server, replays of older
    // bundles and checks without DANE keep the exposition they had.
    if rows.is_empty() {
        return;
    }
    let mut f = family(
        o,
        "dane_nameserver_state",
        None,
        "Each authoritative server of the zone of a TLSA owner, of the MX RRset (host empty) or of an MX host's address RRset (1 for the state it is in): same (serves the validated RRset), stale (another answer with which senders still deliver, or an unsigned one), fails (an answer that would make senders fail), bogus, refuses (an error rcode), unreachable.",
    );
    for (host, c) in &rows {
        for r in &c.servers {
            for (state, word) in STATES {
                f.sample(
                    "dane_nameserver_state",
                    &[
                        base[0],
                        base[1],
                        ("host", host),
                        ("owner", &c.owner),
                        ("type", c.rtype),
                        ("ns", &r.ns),
                        ("address", &r.address),
                        ("state", word),
                    ],
                    u8::from(r.state == state),
                );
            }
        }
    }
    let mut f = family(
        o,
        "dane_nameserver_soa_serial",
        None,
        "The zone's SOA serial each authoritative server of the zone of a TLSA, MX or address RRset serves (not validated), when it gave one.",
    );
    for (host, c) in &rows {
        for r in &c.servers {
            let Some(serial) = r.serial else { continue };
            f.sample(
                "dane_nameserver_soa_serial",
                &[
                    base[0],
                    base[1],
                    ("host", host),
                    ("owner", &c.owner),
                    ("type", c.rtype),
                    ("ns", &r.ns),
                    ("address", &r.address),
                ],
                serial,
            );
        }
    }
}

/// `dane_certificate_expiry_timestamp_seconds{...,depth}`: each presented certificate.
fn certificate_expiry(o: &mut String, report: &Report, base: &Base<'_>) {
    let mut f = family(
        o,
        "dane_certificate_expiry_timestamp_seconds",
        Some("seconds"),
        "notAfter of each certificate the endpoint presented (depth 0 is the leaf).",
    );
    for h in &report.hosts {
        for e in &h.endpoints {
            let (address, port) = (e.address.to_string(), e.port.to_string());
            for (depth, c) in e.chain.iter().enumerate() {
                let depth = depth.to_string();
                let mut labels =
                    endpoint_labels(base, &h.name, &address, &port, e.algorithm.as_deref());
                labels.push(("depth", &depth));
                f.sample(
                    "dane_certificate_expiry_timestamp_seconds",
                    &labels,
                    c.not_after,
                );
            }
        }
    }
}

use summary::LookupRow;

/// Every lookup once: a name and type can be looked up for more than one host.
fn unique_lookups(report: &Report) -> Vec<LookupRow<'_>> {
    let mut seen = BTreeSet::new();
    summary::lookups(report)
        .into_iter()
        .filter(|(t, n, _, _)| seen.insert((*t, *n)))
        .collect()
}

/// `dane_rrsig_expiry_timestamp_seconds{name,type}`: when each lookup stops validating
/// (in the past for one whose signatures expired).
fn rrsig_expiry(o: &mut String, lookups: &[LookupRow<'_>], base: &Base<'_>) {
    let mut f = family(
        o,
        "dane_rrsig_expiry_timestamp_seconds",
        Some("seconds"),
        "The earliest expiration of the RRSIGs the lookup's verdict rests on, along its chain of trust (in the past when they expired).",
    );
    for (rtype, name, period, _) in lookups {
        if let Some(at) = period.map(|p| p.end) {
            f.sample(
                "dane_rrsig_expiry_timestamp_seconds",
                &[base[0], base[1], ("name", name), ("type", rtype)],
                at,
            );
        }
    }
}

/// `dane_dnssec_status{name,type,state}`: each lookup's DNSSEC status as a state set.
fn dnssec_status(o: &mut String, lookups: &[LookupRow<'_>], base: &Base<'_>) {
    let mut f = family(
        o,
        "dane_dnssec_status",
        None,
        "The DNSSEC status of each lookup (1 for the state it is in).",
    );
    for (rtype, name, _, security) in lookups {
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
}

/// `dane_warnings`: how many warnings the report has (advice included).
fn warnings(o: &mut String, report: &Report, base: &Base<'_>) {
    let mut f = family(
        o,
        "dane_warnings",
        None,
        "Warnings in the report (certificate or signature expiring, no spare record, ...).",
    );
    f.sample("dane_warnings", base, report.warnings.len());
}

/// `dane_probe_duration_seconds`: how long the check took.
fn duration(o: &mut String, elapsed: Duration, base: &Base<'_>) {
    let mut f = family(
        o,
        "dane_probe_duration_seconds",
        Some("seconds"),
        "How long the whole check took (DNS and every probe).",
    );
    f.sample(
        "dane_probe_duration_seconds",
        base,
        format_args!("{:.6}", elapsed.as_secs_f64()),
    );
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

    /// Issue 23: a state set and a serial per server address, only when servers were asked.
    #[test]
    fn name_server_families() {
        let text = render(&sample::with_servers(), Duration::from_secs(1));
        let base = "domain=\"example.test.\",service=\"smtp\",host=\"mx1.example.test.\",owner=\"_25._tcp.mx1.example.\",type=\"TLSA\"";
        for line in [
            format!(
                "dane_nameserver_state{{{base},ns=\"ns2.example.\",address=\"192.0.2.52:53\",state=\"fails\"}} 1"
            ),
            format!(
                "dane_nameserver_state{{{base},ns=\"ns2.example.\",address=\"192.0.2.52:53\",state=\"same\"}} 0"
            ),
            format!(
                "dane_nameserver_state{{{base},ns=\"ns3.example.\",address=\"192.0.2.53:53\",state=\"refuses\"}} 1"
            ),
            format!(
                "dane_nameserver_soa_serial{{{base},ns=\"ns1.example.\",address=\"192.0.2.51:53\"}} 8"
            ),
            format!(
                "dane_nameserver_soa_serial{{{base},ns=\"ns2.example.\",address=\"192.0.2.52:53\"}} 7"
            ),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(!text.contains(&format!("dane_nameserver_soa_serial{{{base},ns=\"ns3")));
        // The MX zone's servers (no host) and the A zone's, with their type.
        for line in [
            "dane_nameserver_state{domain=\"example.test.\",service=\"smtp\",host=\"\",owner=\"example.test.\",type=\"MX\",ns=\"ns4.example.\",address=\"192.0.2.54:53\",state=\"stale\"} 1",
            "dane_nameserver_soa_serial{domain=\"example.test.\",service=\"smtp\",host=\"\",owner=\"example.test.\",type=\"MX\",ns=\"ns4.example.\",address=\"192.0.2.54:53\"} 6",
            "dane_nameserver_state{domain=\"example.test.\",service=\"smtp\",host=\"mx1.example.test.\",owner=\"mx1.example.test.\",type=\"A\",ns=\"ns1.example.\",address=\"192.0.2.51:53\",state=\"same\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert_eq!(text.matches("# TYPE dane_nameserver_state ").count(), 1);
        assert!(!render(&sample::partial(), Duration::from_secs(1)).contains("dane_nameserver_"));
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

    /// Issue 12: a record's series is named by the record, so reordering the RRset (a
    /// resolver's whim) changes no series.
    #[test]
    fn record_series_do_not_depend_on_rrset_order() {
        let r = sample::partial();
        let mut reordered = r.clone();
        for h in &mut reordered.hosts {
            for e in &mut h.endpoints {
                if let Some(m) = &mut e.tlsa_match {
                    m.records.reverse();
                }
            }
        }
        let series = |r: &Report| {
            let text = render(r, Duration::from_secs(1));
            let mut lines: Vec<String> = text
                .lines()
                .filter(|l| l.starts_with("dane_tlsa_record_match{"))
                .map(str::to_owned)
                .collect();
            lines.sort();
            lines
        };
        let (a, b) = (series(&r), series(&reordered));
        assert_eq!(a, b);
        assert!(!a.iter().any(|l| l.contains("index=")), "{a:?}");
        assert!(
            a[0].contains("record=\"0000000000000000\"")
                || a[0].contains("record=\"1111111111111111\""),
            "{a:?}"
        );
    }

    /// Issue 11: where the answers came from, when not from the configured resolver as
    /// such; no series for a resolver that passed the check.
    #[test]
    fn resolution_series_only_when_something_is_off() {
        let line = |r: &Report| {
            render(r, Duration::from_secs(1))
                .lines()
                .find(|l| l.starts_with("dane_resolution_info{"))
                .map(str::to_owned)
        };
        let mut r = sample::partial();
        assert_eq!(line(&r), None);
        r.resolution = Some(dane_check::dns::Resolution {
            mode: "resolver".into(),
            reason: None,
            unsuitable: false,
        });
        assert_eq!(line(&r), None);
        r.resolution = Some(dane_check::dns::Resolution {
            mode: "iterative".into(),
            reason: Some("unsuitable resolver: ... \"x\"".into()),
            unsuitable: false,
        });
        let l = line(&r).unwrap();
        assert!(
            l.contains("mode=\"iterative\",unsuitable=\"false\",reason=\"unsuitable resolver: ... \\\"x\\\"\"}"),
            "{l}"
        );
        assert!(l.ends_with("} 1"), "{l}");
        r.resolution = Some(dane_check::dns::Resolution {
            mode: "resolver".into(),
            reason: Some("unsuitable resolver: resolver 192.0.2.1:53 timed out".into()),
            unsuitable: true,
        });
        let l = line(&r).unwrap();
        assert!(l.contains("unsuitable=\"true\""), "{l}");
    }
}
