//! What a survey (`dane scan` over many domains) needs beside the per-target reports: the
//! roll-up of targets by provider (the set of hosts that serve them, for SMTP the MX host
//! set) with counts per verdict, and the opt-out list (`--exclude`) the public surveys keep.
//!
//! Both are bounded: the roll-up holds at most [`Rollup::MAX_PROVIDERS`] providers (past
//! that, the providers with a single target are folded into one "other" group, so a
//! million domains with their own MX each cost a bounded table while the large providers
//! keep exact counts); the exclusion list is what the caller read, within its size bound.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::report::{DomainVerdict, Report};

/// Every domain verdict, in the order of the JSON schema.
const VERDICTS: [DomainVerdict; 7] = [
    DomainVerdict::Verified,
    DomainVerdict::Partial,
    DomainVerdict::Failed,
    DomainVerdict::UnauthenticatedTls,
    DomainVerdict::NotProtected,
    DomainVerdict::Indeterminate,
    DomainVerdict::Nonexistent,
];

impl DomainVerdict {
    /// The verdict's word in JSON (`verified`, `not-protected`...).
    pub fn name(self) -> &'static str {
        match self {
            DomainVerdict::Verified => "verified",
            DomainVerdict::Failed => "failed",
            DomainVerdict::Partial => "partial",
            DomainVerdict::UnauthenticatedTls => "unauthenticated-tls",
            DomainVerdict::NotProtected => "not-protected",
            DomainVerdict::Indeterminate => "indeterminate",
            DomainVerdict::Nonexistent => "nonexistent",
        }
    }

    fn index(self) -> usize {
        VERDICTS.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// Counts of targets per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; 7]);

impl Counts {
    fn add(&mut self, verdict: DomainVerdict) {
        self.0[verdict.index()] += 1;
    }

    fn merge(&mut self, other: &Counts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// Targets counted.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The count of `verdict`.
    pub fn of(&self, verdict: DomainVerdict) -> u64 {
        self.0[verdict.index()]
    }

    /// The non-zero counts by verdict word.
    pub fn by_name(&self) -> BTreeMap<&'static str, u64> {
        VERDICTS
            .iter()
            .filter(|v| self.of(**v) > 0)
            .map(|v| (v.name(), self.of(*v)))
            .collect()
    }
}

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.by_name().serialize(s)
    }
}

/// The provider of a target: the host names that serve it (MX hosts, SRV targets, or the
/// host itself), lowercased, without the trailing dot, sorted, each once. Empty when no host
/// was named (a domain that does not exist, a failed MX lookup).
pub fn provider(report: &Report) -> Vec<String> {
    let mut hosts: Vec<String> = report
        .hosts
        .iter()
        .map(|h| h.name.trim_end_matches('.').to_ascii_lowercase())
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    hosts
}

/// One provider's line of the roll-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderCounts {
    /// The host set (see [`provider`]); empty: targets that named no host.
    pub hosts: Vec<String>,
    /// Targets served by it.
    pub targets: u64,
    /// Its targets per verdict.
    pub verdicts: Counts,
}

/// The providers folded away when the table was full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Folded {
    /// Providers folded (a provider seen again after its fold counts again).
    pub providers: u64,
    /// Their targets.
    pub targets: u64,
    /// Their targets per verdict.
    pub verdicts: Counts,
}

/// Targets grouped by provider, with counts per verdict.
#[derive(Debug, Clone)]
pub struct Rollup {
    groups: HashMap<Vec<String>, Counts>,
    folded: Folded,
    max: usize,
}

impl Default for Rollup {
    fn default() -> Self {
        Rollup::new()
    }
}

impl Rollup {
    /// Providers held at most (past that, those with one target are folded).
    pub const MAX_PROVIDERS: usize = 100_000;

    /// An empty roll-up holding at most [`Rollup::MAX_PROVIDERS`] providers.
    pub fn new() -> Rollup {
        Rollup::with_max(Rollup::MAX_PROVIDERS)
    }

    /// An empty roll-up holding at most `max` providers.
    pub fn with_max(max: usize) -> Rollup {
        Rollup {
            groups: HashMap::new(),
            folded: Folded::default(),
            max: max.max(1),
        }
    }

    /// Counts one target of `provider` with `verdict`.
    pub fn add(&mut self, provider: Vec<String>, verdict: DomainVerdict) {
        if !self.groups.contains_key(&provider) && self.groups.len() >= self.max {
            self.fold();
        }
        if self.groups.len() >= self.max && !self.groups.contains_key(&provider) {
            // Every provider held has more than one target: this one goes to the fold.
            self.folded.providers += 1;
            self.folded.targets += 1;
            self.folded.verdicts.add(verdict);
            return;
        }
        self.groups.entry(provider).or_default().add(verdict);
    }

    /// Folds the providers with a single target.
    fn fold(&mut self) {
        let folded = &mut self.folded;
        self.groups.retain(|_, c| {
            if c.total() > 1 {
                return true;
            }
            folded.providers += 1;
            folded.targets += c.total();
            folded.verdicts.merge(c);
            false
        });
    }

    /// The providers, most targets first (ties by host names).
    pub fn providers(&self) -> Vec<ProviderCounts> {
        let mut out: Vec<ProviderCounts> = self
            .groups
            .iter()
            .map(|(hosts, c)| ProviderCounts {
                hosts: hosts.clone(),
                targets: c.total(),
                verdicts: *c,
            })
            .collect();
        out.sort_by(|a, b| {
            b.targets
                .cmp(&a.targets)
                .then_with(|| a.hosts.cmp(&b.hosts))
        });
        out
    }

    /// What was folded away.
    pub fn folded(&self) -> Folded {
        self.folded
    }
}

/// An opt-out list: domains, each excluding itself and every name under it, and suffixes
/// (`.example` or `*.example`), excluding only the names under them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    /// Names excluded with everything under them.
    trees: HashSet<String>,
    /// Names only whose descendants are excluded.
    below: HashSet<String>,
}

/// A line of an exclusion list that is not a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ExclusionError {
    /// The line number (from 1).
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl Exclusions {
    /// Parses the list: one name a line, `#` starts a comment, blank lines skipped; names
    /// compare without case and without the trailing dot.
    pub fn parse(text: &str) -> Result<Exclusions, ExclusionError> {
        let mut out = Exclusions::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fail = |reason: &str| ExclusionError {
                line: i + 1,
                reason: reason.to_owned(),
            };
            let (only_below, name) =
                match line.strip_prefix("*.").or_else(|| line.strip_prefix('.')) {
                    Some(rest) => (true, rest),
                    None => (false, line),
                };
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() && !only_below {
                return Err(fail(
                    "an empty name (the root excludes everything: write `.`?)",
                ));
            }
            if name.len() > 253 || name.split('.').any(|l| l.len() > 63) {
                return Err(fail("longer than a DNS name can be"));
            }
            if name.contains(char::is_whitespace) {
                return Err(fail("one name a line is expected"));
            }
            if name.split('.').any(str::is_empty) && !name.is_empty() {
                return Err(fail("an empty label"));
            }
            if only_below {
                out.below.insert(name);
            } else {
                out.trees.insert(name);
            }
        }
        Ok(out)
    }

    /// Entries in the list.
    pub fn len(&self) -> usize {
        self.trees.len() + self.below.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `domain` is excluded.
    pub fn excludes(&self, domain: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let name = domain.trim_end_matches('.').to_ascii_lowercase();
        if self.trees.contains(&name) {
            return true;
        }
        // Every proper ancestor, at label boundaries, up to the root ("").
        let mut rest = name.as_str();
        loop {
            let Some((_, parent)) = rest.split_once('.') else {
                return self.below.contains("");
            };
            if self.trees.contains(parent) || self.below.contains(parent) {
                return true;
            }
            rest = parent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn targets_group_by_host_set_with_counts_per_verdict() {
        let mut r = Rollup::new();
        let big = hosts(&["mx1.provider.example", "mx2.provider.example"]);
        for _ in 0..3 {
            r.add(big.clone(), DomainVerdict::Verified);
        }
        r.add(big.clone(), DomainVerdict::Failed);
        r.add(hosts(&["mail.self.example"]), DomainVerdict::NotProtected);
        r.add(Vec::new(), DomainVerdict::Nonexistent);
        let p = r.providers();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].hosts, big);
        assert_eq!(p[0].targets, 4);
        assert_eq!(
            serde_json::to_value(p[0].verdicts).unwrap(),
            serde_json::json!({"verified": 3, "failed": 1})
        );
        assert_eq!(r.folded(), Folded::default());
    }

    #[test]
    fn a_full_table_folds_the_providers_of_one_target() {
        let mut r = Rollup::with_max(3);
        let big = hosts(&["mx.big.example"]);
        r.add(big.clone(), DomainVerdict::Verified);
        r.add(big.clone(), DomainVerdict::Verified);
        for i in 0..10 {
            r.add(
                hosts(&[&format!("mx.own{i}.example")]),
                DomainVerdict::Failed,
            );
            r.add(big.clone(), DomainVerdict::Verified);
        }
        let p = r.providers();
        assert!(p.len() <= 3);
        assert_eq!(p[0].hosts, big);
        assert_eq!(p[0].targets, 12, "the large provider keeps its exact count");
        let total: u64 = p.iter().map(|g| g.targets).sum::<u64>() + r.folded().targets;
        assert_eq!(total, 22, "no target is lost");
        assert!(r.folded().verdicts.of(DomainVerdict::Failed) >= 8);
    }

    #[test]
    fn the_provider_is_the_sorted_host_set() {
        let mut report = crate::engine::empty_report("example.test.", &crate::service::SMTP);
        report.verdict = DomainVerdict::Verified;
        for name in [
            "MX2.Provider.Example.",
            "mx1.provider.example.",
            "mx2.provider.example.",
        ] {
            report.hosts.push(crate::report::HostReport {
                name: name.into(),
                port: 25,
                preference: Some(10),
                addresses: vec![],
                tlsa: None,
                no_dane: None,
                verdict: crate::Verdict::new(crate::Status::Verified, "ok"),
                candidate: None,
                addresses_left_out: 0,
                endpoints: vec![],
            });
        }
        assert_eq!(
            provider(&report),
            hosts(&["mx1.provider.example", "mx2.provider.example"])
        );
    }

    fn check(list: &str, domain: &str, excluded: bool) {
        let e = Exclusions::parse(list).unwrap();
        assert_eq!(e.excludes(domain), excluded, "{list:?} {domain}");
    }

    #[test]
    fn exclusions_match_names_and_suffixes() {
        check("example.com", "example.com", true);
        check("example.com", "Example.COM.", true);
        check("example.com", "mail.example.com", true);
        check("example.com", "anexample.com", false);
        check("example.com", "example.org", false);
        check(".gov.example", "gov.example", false);
        check(".gov.example", "agency.gov.example", true);
        check("*.gov.example", "a.b.gov.example", true);
        check(
            "# opt-outs\n\n  example.net  # asked 2026-01\n",
            "example.net",
            true,
        );
        check("example.net", "example.com", false);
        check("", "example.com", false);
        check(".", "example.com", true);
    }

    #[test]
    fn bad_exclusion_lines_are_named() {
        for (text, line, why) in [
            ("ok.example\nbad name", 2, "one name a line"),
            ("a..b", 1, "empty label"),
            (&format!("{}.example", "a".repeat(64)), 1, "longer"),
        ] {
            let e = Exclusions::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}");
            assert!(e.reason.contains(why), "{e}");
        }
    }
}
