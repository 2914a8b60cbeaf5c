//! The validated-lookup cache: a finished [`Lookup`] (verdict, trace and evidence) kept for
//! the next lookup of the same question, so that the targets of a scan that share MX hosts
//! (a hosting provider's) validate those hosts' A/AAAA and TLSA RRsets once, not once per
//! target (issue 27). The answer cache already shares the messages; this shares the
//! validation of them.
//!
//! - **Reused over its validity interval, as a validating resolver does** (Unbound keeps a
//!   validated RRset until its TTL runs out). Validation is a function of the evidence, the
//!   anchors and `now`, and `now` decides only the RRSIG validity windows
//!   (`dane_dnssec` crate documentation). So an entry is used at any `now` from the latest
//!   inception to the earliest expiration over every RRSIG of its evidence (keys, DS, the
//!   answer, denials: [`dane_dnssec::Evidence::signature_window`]), at which a fresh
//!   validation would find every signature inside its window, as it did: same verdict,
//!   same trace. When a signature was outside its window at the `now` it was validated at
//!   (an expired one beside a fresh one, a Bogus verdict for expiry), that second alone.
//! - **Ageing by the records.** An entry lives until the first answer of its evidence goes
//!   stale: the earliest of their fetch times plus lifetimes in the answer cache (TTLs
//!   capped by the RRSIGs' original TTLs, signature expiry, [`CacheLimits::max_ttl`];
//!   ARCHITECTURE.md invariant 8), on the monotonic clock.
//! - **Only conclusive verdicts.** Secure, Insecure and Bogus are kept; Indeterminate (a
//!   timeout, a spent budget, a failed server) and errors are not, so a transient failure
//!   is retried by the next target.
//! - **Bounded** (invariant 7): at most `max_entries` lookups and a sixteenth of the answer
//!   cache's `max_bytes` octets (an estimate of what a kept lookup holds: its messages,
//!   their parsed records, its trace); the least recently used go first. A scan of many
//!   distinct names (a million-target survey) keeps it full, its memory flat.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dane_dnssec::{Question, Verdict};
use rustls_pki_types::UnixTime;

use crate::Lookup;
use crate::cache::CacheLimits;
use crate::clock::Clock;

struct Entry {
    /// The validation times (Unix seconds, inclusive) it holds for.
    from: u64,
    until: u64,
    lookup: Arc<Lookup>,
    /// When its first answer goes stale (clock scale).
    expires: Duration,
    bytes: usize,
    /// Its place in the use order.
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Question, Entry>,
    /// The questions by last use, oldest first.
    order: BTreeMap<u64, Question>,
    tick: u64,
    bytes: usize,
    hits: u64,
}

impl Inner {
    fn remove(&mut self, q: &Question) {
        if let Some(old) = self.map.remove(q) {
            self.bytes -= old.bytes;
            self.order.remove(&old.used);
        }
    }
}

/// See the module documentation.
pub(crate) struct ValidatedCache {
    inner: Mutex<Inner>,
    max_entries: usize,
    max_bytes: usize,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ValidatedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatedCache")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

/// The octets an entry is counted as: its messages three times (the wire, the parsed
/// records with their received and canonical copies), its trace and links, and a fixed
/// overhead.
fn size(lookup: &Lookup) -> usize {
    let wire: usize = lookup
        .evidence
        .items()
        .iter()
        .map(|(q, r)| {
            64 + q.name.len()
                + match r {
                    Ok(w) => 3 * w.len(),
                    Err(e) => 2 * e.len(),
                }
        })
        .sum();
    let o = &lookup.outcome;
    let trace: usize = o
        .trace
        .iter()
        .map(|s| 64 + s.name.len() + s.detail.len())
        .sum();
    let links: usize = o
        .links
        .iter()
        .map(|l| 128 + l.records.iter().map(|r| 24 + r.len()).sum::<usize>())
        .sum();
    512 + wire + trace + links + 64 * o.facts.len()
}

impl ValidatedCache {
    pub(crate) fn new(
        max_entries: usize,
        limits: &CacheLimits,
        clock: Arc<dyn Clock>,
    ) -> ValidatedCache {
        ValidatedCache {
            inner: Mutex::new(Inner::default()),
            max_entries: max_entries.max(1),
            // A sixteenth of the answer cache's octets: a kept lookup holds its trace and
            // parsed records besides the messages (a 20,000-target scan of distinct names
            // reached 170 MB of RSS with the answer cache's whole budget and a laxer
            // estimate), and what it saves is the validation of lookups that targets share.
            max_bytes: (limits.max_bytes / 16).max(1),
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Insertions and removals keep the map, the order and the byte count in step
        // within one call that does not panic: a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    pub(crate) fn hits(&self) -> u64 {
        self.lock().hits
    }

    /// The lookup of `q` kept for a `now` inside its interval, while its answers live.
    pub(crate) fn get(&self, q: &Question, now: UnixTime) -> Option<Lookup> {
        let at = self.clock.elapsed();
        let secs = now.as_secs();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let e = inner.map.get_mut(q)?;
        if e.expires <= at {
            inner.remove(q);
            return None;
        }
        if !(e.from <= secs && secs <= e.until) {
            return None;
        }
        inner.tick += 1;
        if let Some(k) = inner.order.remove(&e.used) {
            inner.order.insert(inner.tick, k);
        }
        e.used = inner.tick;
        inner.hits += 1;
        Some((*e.lookup).clone())
    }

    /// Keeps `lookup` of `q`, validated at `now`, if its verdict is conclusive, until
    /// `expires` (on the clock's scale: when the first of its answers goes stale, its
    /// fetch time plus its lifetime in the answer cache).
    pub(crate) fn put(&self, q: &Question, now: UnixTime, lookup: &Lookup, expires: Duration) {
        if matches!(lookup.outcome.verdict, Verdict::Indeterminate(_)) {
            return;
        }
        if expires <= self.clock.elapsed() {
            return;
        }
        let bytes = size(lookup);
        if bytes > self.max_bytes {
            return;
        }
        let (from, until) = lookup.evidence.signature_window(now);
        let lookup = Arc::new(lookup.clone());
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.remove(q);
        while inner.map.len() >= self.max_entries || inner.bytes + bytes > self.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(old) = inner.map.remove(&oldest) {
                inner.bytes -= old.bytes;
            }
        }
        inner.tick += 1;
        let used = inner.tick;
        inner.order.insert(used, q.clone());
        inner.bytes += bytes;
        inner.map.insert(
            q.clone(),
            Entry {
                from,
                until,
                lookup,
                expires,
                bytes,
                used,
            },
        );
    }
}
