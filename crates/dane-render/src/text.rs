//! The text reports for people: `dane verify` (the verdict first, then every host and
//! address, then warnings) and `dane dnssec` (the answer, the verdict, each link, the chain
//! of trust). Untrusted text is sanitised; colour only when the caller asks.

use std::fmt::Write as _;

use dane_check::Status;
use dane_check::report::{AddressLookup, DomainVerdict, EndpointReport, HostReport, Report};
use dane_dnssec::{AnswerKind, Outcome, StepKind, Verdict};
use dane_tlsa::RecordStatus;

use crate::{format_time, paint, sanitize, shown_data};

pub(crate) fn verdict_word(v: DomainVerdict) -> &'static str {
    match v {
        DomainVerdict::Verified => "VERIFIED",
        DomainVerdict::Failed => "FAILED",
        DomainVerdict::Partial => "PARTIAL",
        DomainVerdict::UnauthenticatedTls => "UNAUTHENTICATED TLS",
        DomainVerdict::NotProtected => "NOT PROTECTED",
        DomainVerdict::Indeterminate => "INDETERMINATE",
        DomainVerdict::Nonexistent => "NONEXISTENT",
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Verified => "verified",
        Status::Failed => "FAILED",
        Status::Indeterminate => "indeterminate",
        Status::NotProtected => "not-protected",
        Status::UnauthenticatedTls => "unauthenticated-tls",
    }
}

fn colour(s: Status) -> &'static str {
    match s {
        Status::Verified => "32",
        Status::Failed => "31",
        Status::Indeterminate | Status::UnauthenticatedTls => "33",
        Status::NotProtected => "0",
    }
}

fn clean(s: &str) -> String {
    sanitize(s).into_owned()
}

/// The text report: the verdict first, then every host and address, then warnings.
pub fn verify(report: &Report, color: bool) -> String {
    let mut o = String::new();
    let head = format!(
        "{}: {}",
        clean(&report.domain),
        verdict_word(report.verdict)
    );
    let _ = writeln!(
        o,
        "{}: {}",
        paint(color, colour(report.verdict.status()), &head),
        clean(&report.reason)
    );
    if let Some(r) = report.resolution.as_ref().filter(|r| r.mode == "iterative") {
        let why = r.reason.as_deref().unwrap_or("");
        let _ = writeln!(
            o,
            "resolution: iterative from the root servers ({})",
            clean(why)
        );
    }
    if let Some(ready) = report.rollover_ready {
        let _ = writeln!(
            o,
            "rollover: {}",
            if ready {
                "ready: the candidate TLSA set authenticates the current certificates and the candidate"
            } else {
                "NOT ready: the candidate TLSA set does not cover both the current certificates and the candidate"
            }
        );
    }
    if let Some(mx) = &report.mx {
        let hosts: Vec<String> = mx
            .records()
            .iter()
            .map(|m| format!("{} {}", m.preference, clean(&m.exchange)))
            .collect();
        let _ = writeln!(
            o,
            "MX {} ({}): {}",
            clean(&mx.name),
            clean(&mx.security.describe()),
            if hosts.is_empty() {
                "none".to_owned()
            } else {
                hosts.join(", ")
            }
        );
        if let Some(c) = &report.mx_servers {
            servers_text(&mut o, c);
        }
    }
    // A host's preference is its MX preference, or its SRV priority (RFC 2782).
    let pref_label = if report.srv.is_some() {
        "SRV priority"
    } else {
        "MX"
    };
    for h in &report.hosts {
        host_text(&mut o, h, &report.reason, pref_label, color);
    }
    let (advice, warnings): (Vec<_>, Vec<_>) = report.warnings.iter().partition(|w| w.is_advice());
    for (title, list) in [("warnings", warnings), ("advice", advice)] {
        if !list.is_empty() {
            let _ = writeln!(o, "\n{title}:");
            for w in list {
                let _ = writeln!(o, "  [{}] {}", w.code, clean(&w.message));
                for r in &w.records {
                    let _ = writeln!(o, "      add to the zone: {}", clean(r));
                }
            }
        }
    }
    o
}

/// `reason`, or a pointer to the first line when that already says it.
fn once(reason: &str, headline: &str) -> String {
    if reason == headline {
        "(the reason above)".to_owned()
    } else {
        clean(reason)
    }
}

fn host_text(o: &mut String, h: &HostReport, headline: &str, pref_label: &str, color: bool) {
    let pref = h
        .preference
        .map_or_else(String::new, |p| format!(" ({pref_label} {p})"));
    // The host's reason is one of its endpoints' or its candidate's when it has them: it is
    // printed there, once, and the host line only counts.
    let judged = h.endpoints.len() + usize::from(h.candidate.is_some());
    let summary = if judged == 0 {
        once(&h.verdict.reason, headline)
    } else {
        let verified = h
            .endpoints
            .iter()
            .map(|e| e.verdict.status)
            .chain(h.candidate.iter().map(|c| c.verdict.status))
            .filter(|s| *s == Status::Verified)
            .count();
        // An address that holds several chains has an endpoint per key algorithm.
        let several = h.endpoints.iter().any(|e| e.offered.is_some());
        let what = match (h.endpoints.len(), h.candidate.is_some(), several) {
            (_, false, false) => "addresses",
            (_, false, true) => "address and key algorithm pairs",
            (0, true, _) => "candidate",
            (_, true, false) => "addresses and the candidate",
            (_, true, true) => "address and key algorithm pairs and the candidate",
        };
        format!("{verified} of {judged} ({what}) authenticate")
    };
    let _ = writeln!(
        o,
        "\n{}{pref}  {}: {summary}",
        clean(&h.name),
        paint(
            color,
            colour(h.verdict.status),
            status_word(h.verdict.status)
        ),
    );
    let said = &h.verdict.reason;
    for AddressLookup {
        rtype,
        lookup: a,
        servers,
    } in &h.addresses
    {
        let addrs: Vec<String> = a.records().iter().map(ToString::to_string).collect();
        let _ = writeln!(
            o,
            "  {rtype} {} ({}): {}",
            clean(&a.canonical),
            security_text(&a.security, said),
            if addrs.is_empty() {
                "none".to_owned()
            } else {
                addrs.join(" ")
            }
        );
        if let Some(c) = servers {
            servers_text(o, c);
        }
    }
    if let Some(t) = &h.tlsa {
        for l in &t.lookups {
            let source = if t.source == "file" {
                ", from --tlsa"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "  TLSA {} ({}{source}): {} record(s)",
                clean(&l.name),
                security_text(&l.security, said),
                l.records().len()
            );
            let shown = shown_data(l.records(), |_| false);
            for (i, (r, data)) in l.records().iter().zip(shown).enumerate() {
                let _ = writeln!(o, "    [{}] {} {data}", i + 1, r.parameters());
            }
        }
        if let Some(base) = &t.base {
            let _ = writeln!(
                o,
                "  TLSA base domain {} (SNI), {} usable record(s)",
                clean(base),
                t.usable.unwrap_or(0)
            );
        }
        if let Some(c) = &t.servers {
            servers_text(o, c);
        }
    }
    for e in &h.endpoints {
        endpoint_text(o, e, headline, color);
    }
    if let Some(c) = &h.candidate {
        let _ = writeln!(
            o,
            "  candidate  {}: {}",
            paint(
                color,
                colour(c.verdict.status),
                status_word(c.verdict.status)
            ),
            once(&c.verdict.reason, headline)
        );
        if let Some(m) = &c.tlsa_match {
            records_text(o, m);
        }
        if !c.publish.is_empty() {
            let _ = writeln!(o, "    to accept the candidate, add to the zone:");
            for line in &c.publish {
                let _ = writeln!(o, "      {}", clean(line));
            }
        }
    }
}

/// Every authoritative server of the zone of a TLSA, MX or address RRset: one line each
/// (issue 23).
fn servers_text(o: &mut String, c: &dane_check::servers::ServerCheck) {
    let zone = c
        .zone
        .as_deref()
        .map_or_else(String::new, |z| format!(" (zone {})", clean(z)));
    let _ = writeln!(
        o,
        "  authoritative servers of {} {}{zone}:",
        clean(&c.owner),
        c.rtype
    );
    for r in &c.servers {
        let serial = r
            .serial
            .map_or_else(|| "serial ?".to_owned(), |s| format!("serial {s}"));
        let state = serde_json::to_value(r.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "    {} {}  {serial}  {state}: {}",
            clean(&r.ns),
            clean(&r.address),
            clean(&r.detail)
        );
    }
    for n in &c.not_asked {
        let _ = writeln!(o, "    not asked: {}", clean(n));
    }
}

/// A lookup's DNSSEC status: in full, or the status word alone when `said` (the host's
/// reason, printed already) gives its reason.
fn security_text(security: &dane_check::dns::Security, said: &str) -> String {
    use dane_check::dns::Security;
    let full = security.describe();
    match security {
        Security::Bogus { reason } | Security::Indeterminate { reason }
            if said.contains(reason.as_str()) =>
        {
            full.split(' ').next().unwrap_or_default().to_owned()
        }
        _ => clean(&full),
    }
}

fn endpoint_text(o: &mut String, e: &EndpointReport, headline: &str, color: bool) {
    let addr = match e.address {
        std::net::IpAddr::V4(a) => format!("{a}:{}", e.port),
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", e.port),
    };
    // An address that holds several chains: one endpoint per key algorithm.
    let several = e.offered.is_some() || e.other_offers.iter().any(|x| x.found == "other-chain");
    let addr = match (&e.algorithm, several) {
        (Some(a), true) => format!("{addr} {}", algorithm_word(a)),
        _ => addr,
    };
    let _ = writeln!(
        o,
        "  {addr}  {}: {}",
        paint(
            color,
            colour(e.verdict.status),
            status_word(e.verdict.status)
        ),
        once(&e.verdict.reason, headline)
    );
    if let Some(tls) = &e.tls {
        let group = tls
            .group
            .as_deref()
            .map_or_else(String::new, |g| format!(", {}", clean(g)));
        let _ = writeln!(
            o,
            "    {} {}{group}",
            clean(&tls.version),
            clean(&tls.cipher)
        );
    }
    for (depth, c) in e.chain.iter().enumerate() {
        let _ = writeln!(
            o,
            "    [{depth}] {} ({}, until {}) issuer {}",
            clean(&c.subject),
            clean(&c.key),
            format_time(rustls_pki_types::UnixTime::since_unix_epoch(
                std::time::Duration::from_secs(u64::try_from(c.not_after).unwrap_or(0))
            )),
            clean(&c.issuer)
        );
    }
    if let Some(m) = &e.tlsa_match {
        records_text(o, m);
    }
    if let Some(fix) = &e.fix {
        let _ = writeln!(o, "    fix: {}", clean(fix));
        for line in &e.publish {
            let _ = writeln!(o, "      {}", clean(line));
        }
    }
    if !e.other_offers.is_empty() {
        let offers: Vec<String> = e
            .other_offers
            .iter()
            .map(|x| {
                let found = match x.found {
                    "same-chain" => "the same chain",
                    "other-chain" => "another chain (its own endpoint)",
                    "no-chain" => "no certificate",
                    _ => "a failure (not checked)",
                };
                format!("{} {found}", algorithm_word(x.offered))
            })
            .collect();
        let _ = writeln!(o, "    offering only: {}", offers.join("; "));
    }
}

/// `RSA`, `ECDSA`, `EdDSA` for the JSON names.
fn algorithm_word(name: &str) -> String {
    dane_probe::KeyFamily::from_name(name).map_or_else(|| clean(name), |f| f.to_string())
}

/// Every record's outcome: the matched record with its whole association data (as
/// posttls-finger shows it), the others shortened to a prefix unique within the set.
fn records_text(o: &mut String, m: &dane_tlsa::MatchReport) {
    let records: Vec<dane_tlsa::TlsaRecord> = m.records.iter().map(|r| r.record.clone()).collect();
    let shown = shown_data(&records, |i| m.records[i].status == RecordStatus::Matched);
    for (r, data) in m.records.iter().zip(shown) {
        let word = match r.status {
            RecordStatus::Matched => "matched",
            RecordStatus::Rejected => "rejected",
            RecordStatus::NotMatched => "not-matched",
            RecordStatus::Superseded => "superseded",
            RecordStatus::Unusable => "unusable",
            RecordStatus::NotEvaluated => "not-evaluated",
        };
        let _ = writeln!(
            o,
            "      [{}] {} {data}  {word}: {}",
            r.index + 1,
            r.record.parameters(),
            clean(&r.detail)
        );
    }
}

fn verdict_colour(v: &Verdict) -> &'static str {
    match v {
        Verdict::Secure => "32",
        Verdict::Insecure(_) => "33",
        Verdict::Bogus(_) => "31",
        Verdict::Indeterminate(_) => "35",
    }
}

fn kind_label(k: StepKind) -> &'static str {
    match k {
        StepKind::Anchor => "anchor",
        StepKind::ZoneCut => "zone cut",
        StepKind::DsMatch => "DS match",
        StepKind::Skipped => "skipped",
        StepKind::Verified => "verified",
        StepKind::NotACut => "not a cut",
        StepKind::Denial => "denial",
        StepKind::Alias => "alias",
        StepKind::Insecure => "insecure",
        StepKind::Failure => "FAILED",
    }
}

fn answer_words(a: AnswerKind) -> &'static str {
    match a {
        AnswerKind::Records => "records",
        AnswerKind::Nxdomain => "the name does not exist (NXDOMAIN)",
        AnswerKind::Nodata => "the name has no records of this type (NODATA)",
        AnswerKind::Unknown => "no answer",
    }
}

/// The `dane dnssec` report: answer records, the verdict, each link, then the chain.
pub fn dnssec(o: &Outcome, checked_at: &str, color: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        ";; {} {} (signatures checked at {checked_at})",
        sanitize(&o.name),
        o.rtype
    );
    for l in &o.links {
        for r in &l.records {
            let _ = writeln!(s, "{}", sanitize(r));
        }
    }
    let verdict = paint(color, verdict_colour(&o.verdict), o.verdict.as_str());
    let proven = if o.verdict == Verdict::Secure && o.answer != AnswerKind::Records {
        ", proven"
    } else {
        ""
    };
    let _ = writeln!(
        s,
        ";; verdict: {verdict}: {}{proven}",
        answer_words(o.answer)
    );
    if let Some(r) = &o.reason {
        let _ = writeln!(
            s,
            ";; reason: {} [{}]",
            sanitize(&r.detail),
            r.code.as_str()
        );
    }
    for w in &o.warnings {
        let _ = writeln!(
            s,
            ";; warning: {} [{}]",
            sanitize(&w.detail),
            w.code.as_str()
        );
    }
    if o.links.len() > 1 {
        let _ = writeln!(s, ";; links:");
        for l in &o.links {
            let _ = writeln!(
                s,
                ";;   {} {}: {} ({}){}",
                sanitize(&l.name),
                l.rtype,
                l.verdict.as_str(),
                l.answer.as_str(),
                l.zone
                    .as_deref()
                    .map(|z| format!(", zone {}", sanitize(z)))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(s, ";; chain of trust:");
    for t in &o.trace {
        let _ = writeln!(
            s,
            ";;   {:<10} {:<28} {}",
            kind_label(t.kind),
            sanitize(&t.name),
            sanitize(&t.detail)
        );
    }
    let _ = writeln!(s, ";; {} signature verifications", o.signatures_checked);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use dane_check::Verdict as HostVerdict;

    #[test]
    fn text_is_sanitised() {
        let mut r = crate::summary::sample::partial();
        r.verdict = DomainVerdict::Failed;
        r.reason = "because\x1b[2J".into();
        r.hosts.push(HostReport {
            name: "mx\x07.example.test.".into(),
            port: 25,
            preference: Some(10),
            addresses: vec![],
            tlsa: None,
            no_dane: None,
            verdict: HostVerdict::new(Status::Failed, "banner said \x1b]0;owned\x07"),
            endpoints: vec![],
            candidate: None,
            addresses_left_out: 0,
        });
        let t = verify(&r, false);
        assert!(!t.contains('\x1b') && !t.contains('\x07'), "{t:?}");
        assert!(t.starts_with("example.test.: FAILED: because"), "{t}");
    }
}
