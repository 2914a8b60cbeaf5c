//! The validated-lookup cache: a finished [`Lookup`] (verdict, trace and evidence) kept for
//! the next lookup of the same question at the same `now`, so that the targets of a scan
//! that share MX hosts (a hosting provider's) validate those hosts' A/AAAA and TLSA RRsets
//! once, not once per target (issue 27). The answer cache already shares the messages; this
//! shares the validation of them.
//!
//! - **Same inputs, same verdict.** Validation is a function of the evidence, the anchors and
//!   `now`. An entry is used only at the `now` it was validated at (a scan reads the clock
//!   once, so every target hits; an exporter that reads the clock per scrape gets no hit
//!   and keeps at most one entry per question), and only while every message of its
//!   evidence would still be in the answer cache (the shortest of their lifetimes:
//!   TTLs, RRSIG expiry, [`CacheLimits::max_ttl`]; ARCHITECTURE.md invariant 8).
//! - **Only conclusive verdicts.** Secure, Insecure and Bogus are kept; Indeterminate (a
//!   timeout, a spent budget, a failed server) and errors are not, so a transient failure
//!   is retried by the next target.
//! - **Bounded** (invariant 7): at most `max_entries` lookups and a sixteenth of the answer
//!   cache's `max_bytes` octets of evidence (counted as their messages' sizes, twice, for the trace); when either is
//!   reached, expired entries go, and if that frees less than a quarter, all of them.
//! - **Only the latest second.** A hit needs the same `now`, and the clock of `scan` (read
//!   per target) and `serve-metrics` (per scrape) only moves forward: when a lookup is kept
//!   at a later second than any before, the entries of earlier seconds, which no lookup can
//!   hit again, go; one validated at an earlier second than the latest is not kept. So a
//!   long scan holds about one second's lookups, not `max_entries` dead ones (its memory
//!   stays flat: the cluster test's 20,000-target run). Under `--at` the second never
//!   changes and every target hits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dane_dnssec::{Question, Verdict};
use rustls_pki_types::UnixTime;

use crate::Lookup;
use crate::cache::{CacheLimits, lifetime};
use crate::clock::Clock;

struct Entry {
    now: u64,
    lookup: Arc<Lookup>,
    expires: Duration,
    bytes: usize,
}

/// See the module documentation.
pub(crate) struct ValidatedCache {
    /// The entries, their octets, and the latest `now` (in seconds) kept.
    map: Mutex<(HashMap<Question, Entry>, usize, u64)>,
    max_entries: usize,
    max_bytes: usize,
    limits: CacheLimits,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ValidatedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatedCache")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

/// The octets an entry is counted as: its messages twice (the trace and the parsed
/// records are of the same order) and a fixed overhead.
fn size(lookup: &Lookup) -> usize {
    let wire: usize = lookup
        .evidence
        .items()
        .iter()
        .map(|(_, r)| match r {
            Ok(w) => w.len(),
            Err(e) => e.len(),
        })
        .sum();
    256 + 2 * wire
}

impl ValidatedCache {
    pub(crate) fn new(
        max_entries: usize,
        limits: CacheLimits,
        clock: Arc<dyn Clock>,
    ) -> ValidatedCache {
        ValidatedCache {
            map: Mutex::new((HashMap::new(), 0, 0)),
            max_entries: max_entries.max(1),
            // A sixteenth of the answer cache's octets: a kept lookup holds its trace and
            // parsed records besides the messages (a 20,000-target scan of distinct names
            // reached 170 MB of RSS with the answer cache's whole budget here), and what it
            // saves is the validation of lookups that targets share within one second.
            max_bytes: (limits.max_bytes / 16).max(1),
            limits,
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<Question, Entry>, usize, u64)> {
        // Insertions and removals are single calls that keep the map and the byte count
        // in step: a poisoned lock is still consistent.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().0.len()
    }

    /// The lookup of `q` validated at `now`, while it lives.
    pub(crate) fn get(&self, q: &Question, now: UnixTime) -> Option<Lookup> {
        let at = self.clock.elapsed();
        let map = self.lock();
        let e = map.0.get(q)?;
        (e.now == now.as_secs() && e.expires > at).then(|| (*e.lookup).clone())
    }

    /// Keeps `lookup` of `q`, validated at `now`, if its verdict is conclusive and its
    /// evidence lives.
    pub(crate) fn put(&self, q: &Question, now: UnixTime, lookup: &Lookup) {
        if matches!(lookup.outcome.verdict, Verdict::Indeterminate(_)) {
            return;
        }
        let life = lookup
            .evidence
            .items()
            .iter()
            .map(|(_, r)| lifetime(r, Some(now), &self.limits))
            .min()
            .unwrap_or(Duration::ZERO);
        if life.is_zero() {
            return;
        }
        let entry = Entry {
            now: now.as_secs(),
            lookup: Arc::new(lookup.clone()),
            expires: self.clock.elapsed().saturating_add(life),
            bytes: size(lookup),
        };
        let at = self.clock.elapsed();
        let mut guard = self.lock();
        let (map, bytes, latest) = &mut *guard;
        if entry.now < *latest {
            return; // no lookup can hit it: the clock has moved on
        }
        if entry.now > *latest {
            *latest = entry.now;
            map.retain(|_, e| e.now == entry.now);
            *bytes = map.values().map(|e| e.bytes).sum();
        }
        if let Some(old) = map.remove(q) {
            *bytes -= old.bytes;
        }
        if map.len() >= self.max_entries || *bytes + entry.bytes > self.max_bytes {
            map.retain(|_, e| e.expires > at);
            *bytes = map.values().map(|e| e.bytes).sum();
            // Room for this entry, and a quarter of the bounds free when that takes a
            // clear-out (so clearing is amortised over many insertions).
            let low = |n: usize, max: usize| n <= max - max / 4;
            if !low(map.len() + 1, self.max_entries) || !low(*bytes + entry.bytes, self.max_bytes) {
                map.clear();
                *bytes = 0;
            }
        }
        if entry.bytes <= self.max_bytes {
            *bytes += entry.bytes;
            map.insert(q.clone(), entry);
        }
    }
}
