//! `dane verify --format nagios`: the monitoring-plugins conventions
//! (<https://www.monitoring-plugins.org/doc/guidelines.html>): a short first line
//! `DANE STATE - DOMAIN: VERDICT, COUNTS: REASON | perfdata` (what a pager shows: the
//! verdict, the endpoint and candidate counts, rollover readiness and the single most
//! important reason), then the long output, one line per host, endpoint, candidate,
//! record to publish, warning and advice (the multi-line form of the guidelines, no `|`
//! in it), and the exit status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (in this mode only;
//! the other formats keep the documented exit codes).
//!
//! Mapping: verified is OK, or WARNING when the report has warnings (CRITICAL with
//! `--strict`); advice (`no-spare-record`) is not a warning unless `--require-spare` asks
//! for a spare; failed and partial are CRITICAL; indeterminate is UNKNOWN; not protected,
//! unauthenticated TLS and nonexistent are WARNING (CRITICAL with `--require-dane`).

use std::fmt::Write as _;

use dane_check::Status;
use dane_check::report::{DomainVerdict, HostReport, Report};

use crate::{sanitize, summary};

/// A plugin state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// 0.
    Ok,
    /// 1.
    Warning,
    /// 2.
    Critical,
    /// 3.
    Unknown,
}

impl State {
    /// The word of the status line.
    pub fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    /// The plugin's exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the guidelines).
    pub fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }
}

/// The switches that change the state.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Not protected is CRITICAL.
    pub require_dane: bool,
    /// Warnings are CRITICAL.
    pub strict: bool,
    /// A missing spare record (advice) is a warning.
    pub require_spare: bool,
    /// The expiry thresholds (the warning ranges of the day counts in the perfdata).
    pub thresholds: dane_check::threshold::Thresholds,
}

/// The state for a report.
pub fn state(report: &Report, policy: &Policy) -> State {
    let warned = summary::counted_warnings(report, policy.require_spare) > 0;
    match report.verdict {
        DomainVerdict::Verified if warned && policy.strict => State::Critical,
        DomainVerdict::Verified if warned => State::Warning,
        DomainVerdict::Verified => State::Ok,
        DomainVerdict::Failed | DomainVerdict::Partial => State::Critical,
        DomainVerdict::Indeterminate => State::Unknown,
        DomainVerdict::NotProtected
        | DomainVerdict::UnauthenticatedTls
        | DomainVerdict::Nonexistent => {
            if policy.require_dane || (warned && policy.strict) {
                State::Critical
            } else {
                State::Warning
            }
        }
    }
}

/// One line of plugin output: no newline inside, no `|` but the perfdata separator,
/// no control characters.
fn plugin_text(s: &str) -> String {
    sanitize(s)
        .chars()
        .map(|c| if c == '|' { '/' } else { c })
        .collect()
}

/// Days from `now` until `at`, with one decimal (negative when already past).
fn days(now: u64, at: i64) -> String {
    let secs = i128::from(at) - i128::from(now);
    // i128 to f64 loses precision only beyond 2^53 seconds, far outside any certificate.
    #[allow(clippy::cast_precision_loss)]
    let d = secs as f64 / 86_400.0;
    format!("{d:.1}")
}

/// A threshold in days for a perfdata range: whole days as integers, else one decimal.
fn range_days(d: f64) -> String {
    if d.fract() == 0.0 {
        format!("{d:.0}")
    } else {
        format!("{d:.1}")
    }
}

/// The most a reason on the first line holds (the guidelines ask for short lines; the
/// whole reason is in the long output).
const MAX_REASON: usize = 100;

/// The plugin output (first line, long output, each line with its newline) and the state,
/// for `report` evaluated at `now`.
pub fn render(report: &Report, now: u64, policy: &Policy) -> (State, String) {
    let state = state(report, policy);
    let c = summary::counts(report);
    let reason = headline_reason(report, policy);
    let mut first = format!(
        "{}: {}",
        report.domain,
        summary::verdict_name(report.verdict)
    );
    for part in counts_phrase(&c, report.rollover_ready) {
        let _ = write!(first, ", {part}");
    }
    if let Some(reason) = &reason {
        let _ = write!(first, ": {}", shorten(reason, MAX_REASON));
    }
    let mut out = format!(
        "DANE {} - {} | {}\n",
        state.word(),
        plugin_text(&first),
        perfdata(report, &c, now, policy).join(" ")
    );
    for line in long_output(report, reason.as_deref(), policy) {
        out.push_str(&plugin_text(&line));
        out.push('\n');
    }
    (state, out)
}

/// The counts of the first line: endpoints verified, candidates accepted, rollover
/// readiness (the same numbers as the perfdata).
fn counts_phrase(c: &summary::Counts, rollover_ready: Option<bool>) -> Vec<String> {
    let mut parts = Vec::new();
    if c.endpoints > 0 {
        parts.push(format!("{}/{} endpoints verified", c.verified, c.endpoints));
    }
    if c.candidates > 0 {
        parts.push(format!(
            "candidate accepted at {}/{} hosts",
            c.candidates_verified, c.candidates
        ));
    }
    match rollover_ready {
        Some(true) => parts.push("rollover-ready".to_owned()),
        Some(false) => parts.push("NOT rollover-ready".to_owned()),
        None => {}
    }
    parts
}

/// The single most important reason: for a verdict other than verified, that of the first
/// endpoint, candidate or host (in report order) whose status decided it; for verified,
/// the first warning that counts, if any (the counts say the rest).
fn headline_reason(report: &Report, policy: &Policy) -> Option<String> {
    if report.verdict == DomainVerdict::Verified {
        return report
            .warnings
            .iter()
            .find(|w| w.counts(policy.require_spare))
            .map(|w| w.message.clone());
    }
    let wanted = report.verdict.status();
    let deciding = report.hosts.iter().find_map(|h| {
        let parts: Vec<&dane_check::Verdict> = h
            .endpoints
            .iter()
            .map(|e| &e.verdict)
            .chain(h.candidate.iter().map(|c| &c.verdict))
            .collect();
        let parts = if parts.is_empty() {
            vec![&h.verdict]
        } else {
            parts
        };
        parts
            .into_iter()
            .find(|v| v.status == wanted)
            .map(|v| v.reason.clone())
    });
    Some(deciding.unwrap_or_else(|| report.reason.clone()))
}

/// `text` cut to at most `max` characters (at a character boundary), marked with `...`.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

/// Perfdata: `'label'=value[UOM];[warn];[crit];[min];[max]` (guidelines, section 2.6); a
/// warning range `N:` alerts below N days: the threshold of the nearest expiry (an
/// absolute `--warn-*-days`, or a fifth of that signature's or certificate's validity).
fn perfdata(report: &Report, c: &summary::Counts, now: u64, policy: &Policy) -> Vec<String> {
    let mut perf = Vec::new();
    for (label, period, threshold) in [
        (
            "cert_days",
            summary::nearest_certificate_expiry(report),
            policy.thresholds.cert,
        ),
        (
            "rrsig_days",
            summary::nearest_rrsig_expiry(report),
            policy.thresholds.rrsig,
        ),
    ] {
        if let Some(p) = period {
            let end = i64::try_from(p.end).unwrap_or(i64::MAX);
            perf.push(format!(
                "{label}={};{}:;;",
                days(now, end),
                range_days(threshold.margin_days(p))
            ));
        }
    }
    for (label, n) in [
        ("endpoints", c.endpoints),
        ("verified", c.verified),
        ("failed", c.failed),
        ("indeterminate", c.indeterminate),
        ("unprotected", c.unprotected),
    ] {
        perf.push(format!("{label}={n};;;0"));
    }
    if c.candidates > 0 {
        perf.push(format!("candidates={};;;0", c.candidates));
        perf.push(format!("candidates_verified={};;;0", c.candidates_verified));
    }
    if let Some(ready) = report.rollover_ready {
        perf.push(format!("rollover_ready={};;;0;1", u8::from(ready)));
    }
    let counted = summary::counted_warnings(report, policy.require_spare);
    perf.push(format!("warnings={counted};;;0"));
    perf.push(format!("advice={};;;0", report.warnings.len() - counted));
    perf
}

/// The long output: the domain's reason when the first line shortened or replaced it, each
/// host with its endpoints and candidate (each reason once), the records to publish, then
/// warnings and advice.
fn long_output(report: &Report, headline: Option<&str>, policy: &Policy) -> Vec<String> {
    let mut lines = Vec::new();
    // The domain's reason, unless the first line has it whole or a host line below
    // carries it (a host with no endpoint or candidate prints its own reason).
    let whole_on_first_line =
        headline == Some(report.reason.as_str()) && report.reason.chars().count() <= MAX_REASON;
    let on_a_host_line = report.hosts.iter().any(|h| {
        h.endpoints.is_empty() && h.candidate.is_none() && h.verdict.reason == report.reason
    });
    // Verified: the first line's counts say it.
    let verified = report.verdict == DomainVerdict::Verified;
    if !whole_on_first_line && !on_a_host_line && !verified {
        lines.push(report.reason.clone());
    }
    // The MX RRset's servers that disagree or fail (issue 23).
    for r in report
        .mx_servers
        .iter()
        .flat_map(|c| c.servers.iter())
        .filter(|r| r.warning.is_some() || r.state == dane_check::servers::ServerState::Fails)
    {
        lines.push(format!(
            "MX name server {} {}: {}",
            r.ns, r.address, r.detail
        ));
    }
    for h in &report.hosts {
        host_lines(h, &mut lines);
    }
    for w in &report.warnings {
        let kind = if w.counts(policy.require_spare) {
            "warning"
        } else {
            "advice"
        };
        lines.push(format!("{kind} [{}] {}", w.code, w.message));
        lines.extend(w.records.iter().map(|r| format!("  add to the zone: {r}")));
    }
    lines
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Verified => "verified",
        Status::Failed => "failed",
        Status::Indeterminate => "indeterminate",
        Status::NotProtected => "not-protected",
        Status::UnauthenticatedTls => "unauthenticated-tls",
    }
}

/// One host: its line (with its own reason only when no endpoint or candidate carries it),
/// then each endpoint and the candidate.
fn host_lines(h: &HostReport, lines: &mut Vec<String>) {
    let judged = !h.endpoints.is_empty() || h.candidate.is_some();
    let mut line = format!("{} {}", h.name, status_name(h.verdict.status));
    if !judged {
        let _ = write!(line, ": {}", h.verdict.reason);
    }
    lines.push(line);
    for e in &h.endpoints {
        let mut at = std::net::SocketAddr::new(e.address, e.port).to_string();
        // An address with several chains: one endpoint per key algorithm.
        let several =
            e.offered.is_some() || e.other_offers.iter().any(|x| x.found == "other-chain");
        if let (Some(f), true) = (
            e.algorithm
                .as_deref()
                .and_then(dane_probe::KeyFamily::from_name),
            several,
        ) {
            let _ = write!(at, " ({f} certificate)");
        }
        // The reason names the endpoint already when it is a failure; once is enough.
        let reason = e
            .verdict
            .reason
            .strip_prefix(&format!("{} {at}: ", h.name))
            .unwrap_or(&e.verdict.reason);
        lines.push(format!(
            "  {at} {}: {reason}",
            status_name(e.verdict.status)
        ));
        if let Some(fix) = &e.fix {
            lines.push(format!("    fix: {fix}"));
        }
        for p in &e.publish {
            lines.push(format!("    add to the zone: {p}"));
        }
    }
    for r in dane_check::report::host_server_checks(h)
        .flat_map(|c| c.servers.iter())
        .filter(|r| r.warning.is_some() || r.state == dane_check::servers::ServerState::Fails)
    {
        lines.push(format!(
            "  name server {} {}: {}",
            r.ns, r.address, r.detail
        ));
    }
    if let Some(c) = &h.candidate {
        let reason = c
            .verdict
            .reason
            .strip_prefix(&format!("{}: ", h.name))
            .unwrap_or(&c.verdict.reason);
        lines.push(format!(
            "  candidate {}: {reason}",
            status_name(c.verdict.status)
        ));
        for p in &c.publish {
            lines.push(format!("    add to the zone: {p}"));
        }
    }
}

/// The UNKNOWN line (with its line end) for a check that could not run (bad arguments,
/// unreadable files), `error` the whole error on one line.
pub fn unknown_line(error: &str) -> String {
    format!("DANE UNKNOWN - {}\n", plugin_text(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::sample;

    const POLICY: Policy = Policy {
        require_dane: false,
        strict: false,
        require_spare: false,
        thresholds: sample::THIRTY_DAYS,
    };

    #[test]
    fn golden_lines() {
        let (state, line) = render(&sample::partial(), sample::NOW, &POLICY);
        assert_eq!(state, State::Critical);
        sample::golden("nagios-partial.txt", &line);
        let (state, line) = render(&sample::nonexistent(), sample::NOW, &POLICY);
        assert_eq!(state, State::Warning);
        sample::golden("nagios-nonexistent.txt", &line);
    }

    /// Issue 23: a failing server makes the run CRITICAL and its line names it; a refusing
    /// one has a line too; one serving the validated RRset has none.
    #[test]
    fn name_servers_in_the_long_output() {
        let (state, text) = render(&sample::with_servers(), sample::NOW, &POLICY);
        assert_eq!(state, State::Critical);
        assert!(
            text.contains("  name server ns2.example. 192.0.2.52:53: name server ns2.example. (192.0.2.52:53), SOA serial 7"),
            "{text}"
        );
        assert!(
            text.contains("  name server ns3.example. 192.0.2.53:53: answers REFUSED"),
            "{text}"
        );
        assert!(!text.contains("ns1.example."), "{text}");
        // The MX zone's stale server has a line of its own.
        assert!(
            text.contains("MX name server ns4.example. 192.0.2.54:53: serves a different MX RRset"),
            "{text}"
        );
    }

    /// The guidelines' multi-line form: a short first line with the only `|`, then long
    /// output lines without one; every line ends with a newline.
    #[test]
    fn a_short_first_line_and_one_separator() {
        for r in [
            sample::partial(),
            sample::nonexistent(),
            sample::single_record(),
            sample::rollover(),
            sample::expired_tlsa(),
        ] {
            let (_, out) = render(&r, sample::NOW, &POLICY);
            assert!(out.ends_with('\n'));
            assert_eq!(out.matches('|').count(), 1, "{out:?}");
            let first = out.lines().next().unwrap();
            assert!(first.contains(" | "), "{first}");
            let text = first.split(" | ").next().unwrap();
            assert!(text.len() <= 200, "{} chars: {text}", text.len());
        }
    }

    /// issue 23: an `issuer-family` warning is a WARNING, and the long output carries the
    /// records to add, one line each, below the sentence.
    #[test]
    fn issuer_family_records_in_the_long_output() {
        let mut r = sample::single_record();
        r.warnings.push(dane_check::report::Warning {
            code: "issuer-family",
            host: Some("mx1.example.test.".into()),
            records: vec![
                "_25._tcp.mx1.example.test. IN TLSA 2 1 1 B3FB".into(),
                "_25._tcp.mx1.example.test. IN TLSA 2 1 1 A698".into(),
            ],
            message: "mx1.example.test.: DANE-TA pins YE1".into(),
        });
        let (state, out) = render(&r, sample::NOW, &POLICY);
        assert_eq!(state, State::Warning);
        let at = out
            .lines()
            .position(|l| l == "warning [issuer-family] mx1.example.test.: DANE-TA pins YE1")
            .unwrap_or_else(|| panic!("{out}"));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[at + 1..at + 3],
            [
                "  add to the zone: _25._tcp.mx1.example.test. IN TLSA 2 1 1 B3FB",
                "  add to the zone: _25._tcp.mx1.example.test. IN TLSA 2 1 1 A698"
            ]
        );
        let text = crate::text::verify(&r, false);
        assert!(
            text.contains("  [issuer-family] mx1.example.test.: DANE-TA pins YE1\n      add to the zone: _25._tcp.mx1.example.test. IN TLSA 2 1 1 B3FB\n"),
            "{text}"
        );
    }

    #[test]
    fn golden_advice_rollover_and_expiry() {
        // One 3 1 1 record that matches: OK, the advice in the long output only...
        let (state, out) = render(&sample::single_record(), sample::NOW, &POLICY);
        assert_eq!(state, State::Ok);
        sample::golden("nagios-single-record.txt", &out);
        // ... WARNING when a spare is asked for.
        let spare = Policy {
            require_spare: true,
            ..POLICY
        };
        let (state, out) = render(&sample::single_record(), sample::NOW, &spare);
        assert_eq!(state, State::Warning);
        assert!(out.contains("warnings=1;;;0 advice=0;;;0"), "{out}");
        // --tlsa with --cert: the line and the perfdata count the same things, and say
        // rollover-ready.
        let (state, out) = render(&sample::rollover(), sample::NOW, &POLICY);
        assert_eq!(state, State::Ok);
        sample::golden("nagios-rollover.txt", &out);
        let first = out.lines().next().unwrap();
        assert!(
            first.contains(
                "1/1 endpoints verified, candidate accepted at 1/1 hosts, rollover-ready"
            ),
            "{first}"
        );
        assert!(first.contains("endpoints=1;;;0"), "{first}");
        assert!(
            first.contains("candidates=1;;;0 candidates_verified=1;;;0 rollover_ready=1;;;0;1"),
            "{first}"
        );
        // An expired TLSA signature: the expiry it rests on, in the past.
        let (state, out) = render(&sample::expired_tlsa(), sample::NOW, &POLICY);
        assert_eq!(state, State::Critical);
        sample::golden("nagios-expired-tlsa.txt", &out);
        assert!(out.contains("rrsig_days=-1.0;30:;;"), "{out}");
    }

    #[test]
    fn states() {
        use DomainVerdict::*;
        let strict = Policy {
            strict: true,
            ..POLICY
        };
        let require = Policy {
            require_dane: true,
            ..POLICY
        };
        let table = [
            (Verified, 0, POLICY, State::Ok, 0),
            (Verified, 1, POLICY, State::Warning, 1),
            (Verified, 1, strict, State::Critical, 2),
            (Partial, 0, POLICY, State::Critical, 2),
            (Failed, 0, POLICY, State::Critical, 2),
            (Indeterminate, 0, POLICY, State::Unknown, 3),
            (NotProtected, 0, POLICY, State::Warning, 1),
            (NotProtected, 0, require, State::Critical, 2),
            (UnauthenticatedTls, 0, POLICY, State::Warning, 1),
            (Nonexistent, 0, require, State::Critical, 2),
        ];
        for (verdict, warnings, policy, expected, code) in table {
            let mut r = sample::nonexistent();
            r.verdict = verdict;
            if warnings == 0 {
                r.warnings.clear();
            } else {
                r.warnings = sample::partial().warnings;
            }
            let s = state(&r, &policy);
            assert_eq!(s, expected, "{verdict:?} {warnings} {policy:?}");
            assert_eq!(s.code(), code, "{s:?}");
        }
    }
}
