//! `dane verify --format nagios`: the monitoring-plugins conventions
//! (<https://www.monitoring-plugins.org/doc/guidelines.html>): one status line
//! `DANE STATE - text | perfdata` and the exit status 0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN (in this mode only; the other formats keep the documented exit codes).
//!
//! Mapping: verified is OK, or WARNING when the report has warnings (CRITICAL with
//! `--strict`); failed and partial are CRITICAL; indeterminate is UNKNOWN; not protected,
//! unauthenticated TLS and nonexistent are WARNING (CRITICAL with `--require-dane`).

use std::fmt::Write as _;

use dane_check::report::{DomainVerdict, Report};

use crate::summary;
use crate::{Exit, term};

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

    /// The process exit status. The plugin states reuse the numbers of [`Exit`]: 0, 1, 2
    /// and 3 are what the guidelines assign to OK, WARNING, CRITICAL and UNKNOWN.
    pub fn exit(self) -> Exit {
        match self {
            State::Ok => Exit::Ok,
            State::Warning => Exit::Failure,
            State::Critical => Exit::Usage,
            State::Unknown => Exit::Indeterminate,
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
    /// The warning threshold for the day counts in the perfdata.
    pub warn_days: u32,
}

/// The state for a report.
pub fn state(report: &Report, policy: &Policy) -> State {
    let warned = !report.warnings.is_empty();
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
    term::sanitize(s)
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

/// The status line (with its newline) and the state, for `report` evaluated at `now`.
pub fn render(report: &Report, now: u64, policy: &Policy) -> (State, String) {
    let state = state(report, policy);
    let mut text = format!(
        "{}: {}: {}",
        report.domain,
        summary::verdict_name(report.verdict),
        report.reason
    );
    if let Some(first) = report.warnings.first() {
        let _ = write!(
            text,
            "; {} warning(s), first: {}",
            report.warnings.len(),
            first.message
        );
    }
    let c = summary::counts(report);
    // Perfdata: 'label'=value[UOM];[warn];[crit];[min];[max] (guidelines, section 2.6);
    // a warning range `N:` alerts below N days.
    let mut perf = Vec::new();
    if let Some(at) = summary::nearest_certificate_expiry(report) {
        perf.push(format!(
            "cert_days={};{}:;;",
            days(now, at),
            policy.warn_days
        ));
    }
    if let Some(at) = summary::nearest_rrsig_expiry(report) {
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        perf.push(format!(
            "rrsig_days={};{}:;;",
            days(now, at),
            policy.warn_days
        ));
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
    perf.push(format!("warnings={};;;0", report.warnings.len()));
    let line = format!(
        "DANE {} - {} | {}\n",
        state.word(),
        plugin_text(&text),
        perf.join(" ")
    );
    (state, line)
}

/// The UNKNOWN line for a check that could not run (bad arguments, unreadable files).
pub fn unknown(error: &anyhow::Error) -> Exit {
    use std::io::Write as _;
    let line = format!("DANE UNKNOWN - {}\n", plugin_text(&format!("{error:#}")));
    // Nothing else can be said if stdout is gone; the state is in the exit status.
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
    State::Unknown.exit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::sample;

    const POLICY: Policy = Policy {
        require_dane: false,
        strict: false,
        warn_days: 30,
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

    #[test]
    fn one_line_and_one_separator() {
        let (_, line) = render(&sample::partial(), sample::NOW, &POLICY);
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('|').count(), 1, "{line:?}");
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
            assert_eq!(s.exit() as u8, code, "{s:?}");
        }
    }
}
