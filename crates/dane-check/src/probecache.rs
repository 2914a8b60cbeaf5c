//! The run-wide probe cache: one handshake per endpoint per run, however many targets share
//! the server (a hosting provider's MX hosts serve a million domains).
//!
//! What a server presents is determined by where the prober connects and what it says
//! before and during the handshake, so that is the key ([`ProbeKey`]): the address and port,
//! the dialogue ([`Protocol`]), the SNI name, the signature-algorithm family offered alone
//! (`--all-certs`), and for XMPP the stream's `to` (the service domain; the other
//! dialogues do not send it). The trust store and the client name are the run's, the same
//! for every probe. Two targets whose MX hosts share an address and a TLSA base domain get
//! the same key; two that use different base domains (so different SNI) do not, since a
//! server may choose its certificate by SNI.
//!
//! - **Single flight**: the first asker probes; askers of the same key that come while the
//!   probe runs wait for its result (a `tokio::sync::OnceCell`; if the asker that probes is
//!   cancelled, by its target's deadline, a waiter takes over).
//! - **Ageing** (ARCHITECTURE.md invariant 8): a result lives [`ProbeCacheLimits::ttl`]
//!   from when it was had, a failure (no chain) only [`ProbeCacheLimits::failure_ttl`], on
//!   an injected monotonic [`Clock`].
//! - **Bounded** (invariant 7): at most [`ProbeCacheLimits::max_entries`] entries and about
//!   [`ProbeCacheLimits::max_bytes`] octets (the chains' DER, their summaries and the
//!   texts). Past either, expired and abandoned entries go first, then the least recently
//!   used finished ones, down to seven eighths of the cap (so a full cache sorts once per
//!   eighth of its size, not at every insertion). Probes in flight are never evicted; there
//!   are at most as many as the run's probe concurrency.
//!
//! A result from the cache says so ([`ProbeResult::cached`]; `"cached": true` on its
//! endpoint in JSON). The policy judges it afresh for every target (the TLSA records and
//! the reference names differ per target); only what the server presented is shared.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dane_probe::{KeyFamily, Protocol};
use dane_resolver::Clock;
use tokio::sync::OnceCell;

use crate::engine::{ProbeRequest, ProbeResult, Prober};
use crate::host::Probe;

/// How long results live and how much the cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeCacheLimits {
    /// How long a probe that got a chain is reused.
    pub ttl: Duration,
    /// How long a probe that got no chain (unreachable, timeout, refused, a failed
    /// handshake) is reused; at most `ttl`.
    pub failure_ttl: Duration,
    /// Entries at most (finished and in flight).
    pub max_entries: usize,
    /// Octets of cached results at most (approximate: the chains' DER, their summaries,
    /// the texts, and a fixed overhead per entry).
    pub max_bytes: usize,
}

impl ProbeCacheLimits {
    /// `dane scan`: results for an hour (a survey run is a snapshot; a chain replaced
    /// mid-run is seen at the latest an hour later), failures 30 s, 50 000 entries,
    /// 128 MiB.
    pub const SCAN: ProbeCacheLimits = ProbeCacheLimits {
        ttl: Duration::from_secs(3600),
        failure_ttl: Duration::from_secs(30),
        max_entries: 50_000,
        max_bytes: 128 << 20,
    };

    /// `dane serve-metrics`: results for 60 s (the scrapes of one interval share the
    /// handshakes; the next interval sees the server anew), failures 10 s, 10 000 entries,
    /// 32 MiB.
    pub const SERVE: ProbeCacheLimits = ProbeCacheLimits {
        ttl: Duration::from_secs(60),
        failure_ttl: Duration::from_secs(10),
        max_entries: 10_000,
        max_bytes: 32 << 20,
    };

    /// These limits with results kept `ttl` (failures at most as long).
    pub fn with_ttl(self, ttl: Duration) -> ProbeCacheLimits {
        ProbeCacheLimits {
            ttl,
            failure_ttl: self.failure_ttl.min(ttl),
            ..self
        }
    }
}

/// What determines the chain a server presents: the cache's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProbeKey {
    address: IpAddr,
    port: u16,
    protocol: Protocol,
    /// Lowercased (DNS names compare without case).
    sni: String,
    /// The XMPP stream's `to`; empty for the dialogues that do not send it.
    service_domain: String,
    offer: Option<KeyFamily>,
}

impl ProbeKey {
    /// The key of `request`.
    pub fn of(request: &ProbeRequest) -> ProbeKey {
        let service_domain = match request.protocol {
            Protocol::XmppClient | Protocol::XmppServer => request.service_domain.to_lowercase(),
            _ => String::new(),
        };
        ProbeKey {
            address: request.address,
            port: request.port,
            protocol: request.protocol,
            sni: request.sni.to_ascii_lowercase(),
            service_domain,
            offer: request.offer,
        }
    }

    fn bytes(&self) -> usize {
        std::mem::size_of::<ProbeKey>() + self.sni.len() + self.service_domain.len()
    }
}

/// What the cache did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeCacheStats {
    /// Probes run (the handshakes made through the cache).
    pub probes: u64,
    /// Requests answered from the cache (a finished result or one in flight).
    pub hits: u64,
    /// Entries dropped to stay within the caps (expired ones not counted).
    pub evicted: u64,
    /// Entries held now.
    pub entries: usize,
    /// Approximate octets held now.
    pub bytes: usize,
}

struct Entry {
    cell: Arc<OnceCell<ProbeResult>>,
    /// When the result stops being used; `None` while the probe runs.
    expires: Option<Duration>,
    bytes: usize,
    /// The tick of the last use (least recently used goes first).
    used: u64,
}

#[derive(Default)]
struct State {
    map: HashMap<ProbeKey, Entry>,
    bytes: usize,
    tick: u64,
    stats: ProbeCacheStats,
}

/// The run-wide probe cache (see the module documentation). Shared (`Arc`) by every
/// target of a scan or every request of an exporter; [`ProbeCache::over`] puts it in front
/// of a prober.
pub struct ProbeCache {
    limits: ProbeCacheLimits,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl std::fmt::Debug for ProbeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeCache")
            .field("limits", &self.limits)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// A fixed overhead per entry beside its key and result (map slot, `Arc`, cell).
const ENTRY_OVERHEAD: usize = 128;

/// The approximate octets a result holds.
fn result_bytes(result: &ProbeResult) -> usize {
    let probe = match &result.probe {
        Probe::Tls { chain, .. } => chain.iter().map(|c| c.len() + 32).sum::<usize>(),
        Probe::Failed { detail, .. } => detail.len(),
    };
    let chain: usize = result
        .chain
        .iter()
        .map(|c| {
            c.subject.len()
                + c.issuer.len()
                + c.key.len()
                + c.spki_sha256.len()
                + c.sans.iter().map(|s| s.len() + 24).sum::<usize>()
                + std::mem::size_of_val(c)
        })
        .sum();
    let tls = result.tls.as_ref().map_or(0, |t| {
        t.version.len() + t.cipher.len() + t.group.as_ref().map_or(0, String::len)
    });
    std::mem::size_of::<ProbeResult>() + probe + chain + tls
}

impl ProbeCache {
    /// An empty cache with `limits`, ageing on `clock`.
    pub fn new(limits: ProbeCacheLimits, clock: Arc<dyn Clock>) -> ProbeCache {
        ProbeCache {
            limits,
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// The limits.
    pub fn limits(&self) -> ProbeCacheLimits {
        self.limits
    }

    /// What the cache did so far and holds now.
    pub fn stats(&self) -> ProbeCacheStats {
        let s = self.state();
        ProbeCacheStats {
            entries: s.map.len(),
            bytes: s.bytes,
            ..s.stats
        }
    }

    /// `inner` behind this cache.
    pub fn over<P>(self: &Arc<Self>, inner: P) -> CachedProber<P> {
        CachedProber {
            cache: Some(self.clone()),
            inner,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every statement leaves the map, the byte count and the stats consistent with
        // each other at worst by one entry's estimate: a panic elsewhere cannot make the
        // cache unsafe to use, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The result of `request`: from the cache while it lives, else probed by `inner` (one
    /// probe per key at a time: concurrent askers wait for it).
    pub async fn probe<P: Prober>(&self, inner: &P, request: &ProbeRequest) -> ProbeResult {
        let key = ProbeKey::of(request);
        let cell = self.slot(&key);
        let mut ran = false;
        let result = cell
            .get_or_init(|| {
                ran = true;
                inner.probe(request)
            })
            .await
            .clone();
        if ran {
            self.finish(&key, &cell, &result);
        } else {
            self.state().stats.hits += 1;
        }
        ProbeResult {
            cached: !ran,
            ..result
        }
    }

    /// The cell for `key`: the live entry's, or a new one.
    fn slot(&self, key: &ProbeKey) -> Arc<OnceCell<ProbeResult>> {
        let now = self.clock.elapsed();
        let mut s = self.state();
        s.tick += 1;
        let tick = s.tick;
        if let Some(e) = s.map.get_mut(key) {
            if e.expires.is_none_or(|t| now < t) {
                e.used = tick;
                return e.cell.clone();
            }
        }
        if let Some(old) = s.map.remove(key) {
            s.bytes = s.bytes.saturating_sub(old.bytes);
        }
        let cell = Arc::new(OnceCell::new());
        let bytes = key.bytes() + ENTRY_OVERHEAD;
        s.map.insert(
            key.clone(),
            Entry {
                cell: cell.clone(),
                expires: None,
                bytes,
                used: tick,
            },
        );
        s.bytes += bytes;
        self.evict(&mut s, now);
        cell
    }

    /// The probe of `key` finished: its result starts ageing.
    fn finish(&self, key: &ProbeKey, cell: &Arc<OnceCell<ProbeResult>>, result: &ProbeResult) {
        let now = self.clock.elapsed();
        let ttl = match result.probe {
            Probe::Tls { .. } => self.limits.ttl,
            Probe::Failed { .. } => self.limits.failure_ttl.min(self.limits.ttl),
        };
        let bytes = key.bytes() + ENTRY_OVERHEAD + result_bytes(result);
        let mut s = self.state();
        s.stats.probes += 1;
        let mut grown = None;
        if let Some(e) = s.map.get_mut(key).filter(|e| Arc::ptr_eq(&e.cell, cell)) {
            e.expires = Some(now + ttl);
            grown = Some((e.bytes, bytes));
            e.bytes = bytes;
        }
        if let Some((before, after)) = grown {
            s.bytes = s.bytes.saturating_sub(before) + after;
        }
        self.evict(&mut s, now);
    }

    /// Back within the caps: expired and abandoned entries first, then the least recently
    /// used finished ones, down to seven eighths of each cap.
    fn evict(&self, s: &mut State, now: Duration) {
        let over =
            |s: &State, entries: usize, bytes: usize| s.map.len() > entries || s.bytes > bytes;
        let (max_entries, max_bytes) = (self.limits.max_entries, self.limits.max_bytes);
        if !over(s, max_entries, max_bytes) {
            return;
        }
        let (low_entries, low_bytes) = (max_entries / 8 * 7, max_bytes / 8 * 7);
        let mut freed = 0;
        s.map.retain(|_, e| {
            let expired = e.expires.is_some_and(|t| now >= t);
            // A probe whose asker was cancelled and that nobody waits for: the next asker
            // would start it again anyway.
            let abandoned =
                e.expires.is_none() && !e.cell.initialized() && Arc::strong_count(&e.cell) == 1;
            if expired || abandoned {
                freed += e.bytes;
            }
            !(expired || abandoned)
        });
        s.bytes = s.bytes.saturating_sub(freed);
        if !over(s, low_entries, low_bytes) {
            return;
        }
        let mut finished: Vec<(u64, ProbeKey)> = s
            .map
            .iter()
            .filter(|(_, e)| e.expires.is_some())
            .map(|(k, e)| (e.used, k.clone()))
            .collect();
        finished.sort_unstable_by_key(|(used, _)| *used);
        for (_, key) in finished {
            if !over(s, low_entries, low_bytes) {
                break;
            }
            if let Some(e) = s.map.remove(&key) {
                s.bytes = s.bytes.saturating_sub(e.bytes);
                s.stats.evicted += 1;
            }
        }
    }
}

/// A [`Prober`] behind a [`ProbeCache`] (or, with none, `inner` as it is).
#[derive(Debug)]
pub struct CachedProber<P> {
    cache: Option<Arc<ProbeCache>>,
    inner: P,
}

impl<P> CachedProber<P> {
    /// `inner` without a cache (`--probe-cache-ttl 0`).
    pub fn uncached(inner: P) -> CachedProber<P> {
        CachedProber { cache: None, inner }
    }
}

impl<P: Prober> Prober for CachedProber<P> {
    async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
        match &self.cache {
            Some(cache) => cache.probe(&self.inner, request).await,
            None => self.inner.probe(request).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Probe, ProbeFailure};
    use dane_resolver::ManualClock;
    use rustls_pki_types::CertificateDer;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its probes; each takes `delay` and presents a one-certificate chain naming
    /// the address, or fails for the addresses ending in .9.
    struct Counting {
        probes: AtomicUsize,
        delay: Duration,
    }

    impl Counting {
        fn new(delay_ms: u64) -> Counting {
            Counting {
                probes: AtomicUsize::new(0),
                delay: Duration::from_millis(delay_ms),
            }
        }
        fn count(&self) -> usize {
            self.probes.load(Ordering::SeqCst)
        }
    }

    impl Prober for Counting {
        async fn probe(&self, request: &ProbeRequest) -> ProbeResult {
            self.probes.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            let probe = if request.address.to_string().ends_with(".9") {
                Probe::Failed {
                    failure: ProbeFailure::Unreachable,
                    detail: "connection refused".into(),
                }
            } else {
                Probe::Tls {
                    chain: vec![CertificateDer::from(
                        request.address.to_string().into_bytes(),
                    )],
                    pkix: dane_tlsa::Pkix::NotEvaluated,
                }
            };
            ProbeResult {
                probe,
                tls: None,
                chain: Vec::new(),
                cached: false,
            }
        }
    }

    fn request(address: &str, sni: &str) -> ProbeRequest {
        ProbeRequest {
            address: address.parse().unwrap(),
            port: 25,
            sni: sni.into(),
            protocol: Protocol::Smtp,
            service_domain: "example.test.".into(),
            offer: None,
        }
    }

    fn cache(limits: ProbeCacheLimits) -> (Arc<ProbeCache>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        (Arc::new(ProbeCache::new(limits, clock.clone())), clock)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn the_same_endpoint_is_probed_once_and_later_results_say_cached() {
        rt().block_on(async {
            let (cache, _) = cache(ProbeCacheLimits::SCAN);
            let inner = Counting::new(0);
            let first = cache
                .probe(&inner, &request("192.0.2.1", "mx.example."))
                .await;
            let second = cache
                .probe(&inner, &request("192.0.2.1", "MX.Example."))
                .await;
            assert_eq!(inner.count(), 1);
            assert!(!first.cached);
            assert!(second.cached);
            assert_eq!(first.probe, second.probe);
            let s = cache.stats();
            assert_eq!((s.probes, s.hits, s.entries), (1, 1, 1));
        });
    }

    #[test]
    fn what_determines_the_chain_is_in_the_key() {
        let base = request("192.0.2.1", "mx.example.");
        let check = |other: ProbeRequest, same: bool| {
            assert_eq!(
                ProbeKey::of(&base) == ProbeKey::of(&other),
                same,
                "{other:?}"
            );
        };
        check(request("192.0.2.2", "mx.example."), false);
        check(request("192.0.2.1", "mx.other."), false);
        check(
            ProbeRequest {
                port: 587,
                ..base.clone()
            },
            false,
        );
        check(
            ProbeRequest {
                protocol: Protocol::Smtps,
                ..base.clone()
            },
            false,
        );
        check(
            ProbeRequest {
                offer: Some(KeyFamily::Rsa),
                ..base.clone()
            },
            false,
        );
        // SMTP does not send the service domain: targets of one provider share the probe.
        check(
            ProbeRequest {
                service_domain: "another.test.".into(),
                ..base.clone()
            },
            true,
        );
        // XMPP sends it as the stream's `to`.
        let xmpp = ProbeRequest {
            protocol: Protocol::XmppServer,
            ..base.clone()
        };
        assert_ne!(
            ProbeKey::of(&xmpp),
            ProbeKey::of(&ProbeRequest {
                service_domain: "another.test.".into(),
                ..xmpp.clone()
            })
        );
    }

    #[test]
    fn concurrent_askers_wait_for_one_probe_in_flight() {
        rt().block_on(async {
            let (cache, _) = cache(ProbeCacheLimits::SCAN);
            let inner = Arc::new(Counting::new(50));
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..20 {
                let (cache, inner) = (cache.clone(), inner.clone());
                tasks
                    .spawn(async move { cache.probe(&*inner, &request("192.0.2.1", "mx.")).await });
            }
            let mut cached = 0;
            while let Some(r) = tasks.join_next().await {
                cached += usize::from(r.unwrap().cached);
            }
            assert_eq!(inner.count(), 1);
            assert_eq!(cached, 19);
        });
    }

    #[test]
    fn a_cancelled_prober_hands_over_to_a_waiter() {
        rt().block_on(async {
            let (cache, _) = cache(ProbeCacheLimits::SCAN);
            let inner = Arc::new(Counting::new(100));
            let first = {
                let (cache, inner) = (cache.clone(), inner.clone());
                tokio::spawn(
                    async move { cache.probe(&*inner, &request("192.0.2.1", "mx.")).await },
                )
            };
            tokio::time::sleep(Duration::from_millis(10)).await;
            let second = {
                let (cache, inner) = (cache.clone(), inner.clone());
                tokio::spawn(
                    async move { cache.probe(&*inner, &request("192.0.2.1", "mx.")).await },
                )
            };
            tokio::time::sleep(Duration::from_millis(10)).await;
            first.abort();
            let r = second.await.unwrap();
            assert!(!r.cached, "the waiter probed itself");
            assert_eq!(inner.count(), 2);
            assert_eq!(cache.stats().entries, 1);
        });
    }

    #[test]
    fn results_age_and_failures_age_sooner() {
        rt().block_on(async {
            let (cache, clock) = cache(ProbeCacheLimits::SCAN);
            let inner = Counting::new(0);
            let ok = request("192.0.2.1", "mx.");
            let dead = request("192.0.2.9", "mx.");
            cache.probe(&inner, &ok).await;
            cache.probe(&inner, &dead).await;
            clock.advance(Duration::from_secs(29));
            assert!(cache.probe(&inner, &dead).await.cached);
            clock.advance(Duration::from_secs(1));
            assert!(
                !cache.probe(&inner, &dead).await.cached,
                "failure after 30 s"
            );
            assert!(cache.probe(&inner, &ok).await.cached);
            clock.advance(Duration::from_secs(3600));
            assert!(
                !cache.probe(&inner, &ok).await.cached,
                "result after an hour"
            );
            assert_eq!(inner.count(), 4);
        });
    }

    #[test]
    fn a_short_ttl_caps_the_failure_ttl() {
        let l = ProbeCacheLimits::SCAN.with_ttl(Duration::from_secs(5));
        assert_eq!(l.failure_ttl, Duration::from_secs(5));
        assert_eq!(
            ProbeCacheLimits::SERVE
                .with_ttl(Duration::from_secs(60))
                .failure_ttl,
            Duration::from_secs(10)
        );
    }

    #[test]
    fn the_least_recently_used_go_when_full() {
        rt().block_on(async {
            let limits = ProbeCacheLimits {
                max_entries: 8,
                ..ProbeCacheLimits::SCAN
            };
            let (cache, _) = cache(limits);
            let inner = Counting::new(0);
            for i in 1..=8 {
                cache
                    .probe(&inner, &request(&format!("192.0.2.{i}0"), "mx."))
                    .await;
                // The first stays in use.
                cache.probe(&inner, &request("192.0.2.10", "mx.")).await;
            }
            assert_eq!(cache.stats().entries, 8);
            cache.probe(&inner, &request("192.0.2.100", "mx.")).await;
            let s = cache.stats();
            assert!(s.entries <= 7, "{s:?}");
            assert!(s.evicted >= 2, "{s:?}");
            assert!(
                cache
                    .probe(&inner, &request("192.0.2.10", "mx."))
                    .await
                    .cached
            );
            assert!(
                !cache
                    .probe(&inner, &request("192.0.2.20", "mx."))
                    .await
                    .cached
            );
        });
    }

    #[test]
    fn the_octet_cap_holds() {
        rt().block_on(async {
            let limits = ProbeCacheLimits {
                max_bytes: 4096,
                ..ProbeCacheLimits::SCAN
            };
            let (cache, _) = cache(limits);
            let inner = Counting::new(0);
            for i in 0..200u8 {
                cache
                    .probe(&inner, &request(&format!("198.51.100.{i}"), "mx."))
                    .await;
                assert!(cache.stats().bytes <= 4096, "{:?}", cache.stats());
            }
            assert!(cache.stats().entries > 1);
        });
    }

    #[test]
    fn without_a_cache_every_probe_runs() {
        rt().block_on(async {
            let prober = CachedProber::uncached(Counting::new(0));
            prober.probe(&request("192.0.2.1", "mx.")).await;
            let r = prober.probe(&request("192.0.2.1", "mx.")).await;
            assert!(!r.cached);
            assert_eq!(prober.inner.count(), 2);
        });
    }
}
