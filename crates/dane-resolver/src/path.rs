//! The resolution path and its ageing (ARCHITECTURE.md invariant 8): in [`Mode::Checked`]
//! and [`Mode::Auto`] the configured servers are checked ([`crate::capability`]) before the
//! first lookup, and again
//! - an hour after a check they passed ([`CacheLimits::recheck`](crate::CacheLimits)),
//! - after a check they failed, with backoff: [`CacheLimits::failure_ttl`](crate::CacheLimits)
//!   (30 s), doubling after each failed check, up to the hour;
//! - when a server that passed stops answering (a question got no response from any of
//!   them): at once if the last check is older than the failure time, else when it is.
//!
//! The first decision is waited for. Later checks run in the background: the caller that
//! finds the decision stale starts one and goes on with the previous path, and callers after
//! the check ends get its result. Every check runs in a task of its own, so a caller
//! cancelled mid-check (a scrape's deadline, a scan target's) does not cancel it, and the
//! callers meanwhile share it rather than start others.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dane_dnssec::{Limits, TrustAnchors};
use rustls_pki_types::UnixTime;
use tokio::sync::watch;

use crate::capability::{self, Unsuitable};
use crate::{Mode, Resolution, Resolver};

/// The outcome of a capability check: the suitable servers in order, and what the others
/// did.
type Checked = (Vec<SocketAddr>, Unsuitable);

/// The path decided last, and the check in flight.
#[derive(Debug, Default)]
pub(crate) struct PathState {
    decided: Option<Decided>,
    /// Says `true` when the check in flight has stored its decision.
    checking: Option<watch::Receiver<bool>>,
}

#[derive(Debug, Clone)]
struct Decided {
    resolution: Arc<Resolution>,
    /// When it was decided (on the resolver's clock).
    at: Duration,
    /// When it is to be checked again.
    until: Duration,
    /// Checks failed in a row (the backoff's exponent).
    failures: u32,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked while holding it; the state is
    // replaced by single assignments and stays consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The path that needs no check: `Unchecked`, `Iterate`, or no server configured.
pub(crate) fn fixed(mode: Mode, servers: &[SocketAddr]) -> Option<Resolution> {
    match mode {
        Mode::Unchecked => Some(Resolution::Resolver {
            servers: servers.to_vec(),
            checked: false,
        }),
        Mode::Iterate => Some(Resolution::Iterative {
            reason: "--iterate: resolving from the root servers".into(),
        }),
        Mode::Checked | Mode::Auto if servers.is_empty() => Some(Resolution::Iterative {
            reason: "no resolver configured; resolving from the root servers".into(),
        }),
        Mode::Checked | Mode::Auto => None,
    }
}

/// The path a check's outcome gives in `mode`.
fn decide(mode: Mode, (good, unsuitable): Checked) -> Resolution {
    if !good.is_empty() {
        return Resolution::Resolver {
            servers: good,
            checked: true,
        };
    }
    match mode {
        Mode::Checked => Resolution::Unsuitable(unsuitable),
        _ => Resolution::Iterative {
            reason: format!("{unsuitable}; resolving from the root servers instead"),
        },
    }
}

/// How long a decision holds: `recheck` after a pass, `base` doubled per failure after one.
fn hold(failures: u32, base: Duration, recheck: Duration) -> Duration {
    if failures == 0 {
        return recheck;
    }
    base.saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(recheck)
        .max(Duration::from_secs(1))
}

impl Resolver {
    /// The path answers take now. The first call decides it by checking every configured
    /// server in [`Mode::Checked`] and [`Mode::Auto`] ([`Unsuitable`] lists what each did
    /// wrong), validating the trust anchor's DNSKEY RRset at `now`; the decision then ages
    /// (see the module docs of `path.rs`: re-checked hourly, after failures with backoff).
    pub async fn resolution(&self, now: UnixTime) -> Arc<Resolution> {
        if let Some(fixed) = &self.fixed {
            return fixed.clone();
        }
        loop {
            let mut rx = {
                let mut st = lock(&self.path);
                let t = self.config.clock.elapsed();
                if let Some(d) = st.decided.as_ref().filter(|d| d.until > t) {
                    return d.resolution.clone();
                }
                let rx = match &st.checking {
                    // The sender lives while its check runs.
                    Some(rx) if rx.has_changed().is_ok() => rx.clone(),
                    _ => self.start_check(&mut st, now),
                };
                // Stale: the previous path serves while the check runs.
                if let Some(d) = &st.decided {
                    return d.resolution.clone();
                }
                rx
            };
            if rx.wait_for(|done| *done).await.is_ok() {
                if let Some(d) = &lock(&self.path).decided {
                    return d.resolution.clone();
                }
            }
            // The check's task died without a decision (its runtime shut down): again.
        }
    }

    /// The path decided last without waiting (the unchecked servers before any decision).
    pub(crate) fn current_path(&self) -> Arc<Resolution> {
        if let Some(fixed) = &self.fixed {
            return fixed.clone();
        }
        match &lock(&self.path).decided {
            Some(d) => d.resolution.clone(),
            None => Arc::new(Resolution::Resolver {
                servers: self.config.servers.clone(),
                checked: false,
            }),
        }
    }

    /// A checked server stopped answering: check again once the last check is older than
    /// the failure time.
    pub(crate) fn path_failed(&self) {
        let mut st = lock(&self.path);
        if let Some(d) = st.decided.as_mut() {
            if matches!(*d.resolution, Resolution::Resolver { checked: true, .. }) {
                d.until = d.until.min(d.at + self.config.cache.failure_ttl);
            }
        }
    }

    /// Starts a check in a task of its own; it stores its decision in `path`.
    fn start_check(&self, st: &mut PathState, now: UnixTime) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let task = check_servers(
            self.config.servers.clone(),
            self.config.anchors.clone(),
            self.config.limits,
            self.config.timeout,
            self.config.attempts,
            now,
        );
        let (path, clock, mode) = (
            self.path.clone(),
            self.config.clock.clone(),
            self.config.mode,
        );
        let (base, recheck) = (self.config.cache.failure_ttl, self.config.cache.recheck);
        tokio::spawn(async move {
            let resolution = decide(mode, task.await);
            let mut st = lock(&path);
            let failures = match (&resolution, &st.decided) {
                (Resolution::Resolver { .. }, _) => 0,
                (_, Some(d)) => d.failures.saturating_add(1),
                (_, None) => 1,
            };
            let at = clock.elapsed();
            st.decided = Some(Decided {
                resolution: Arc::new(resolution),
                at,
                until: at.saturating_add(hold(failures, base, recheck)),
                failures,
            });
            drop(st);
            let _ = tx.send(true);
        });
        st.checking = Some(rx.clone());
        rx
    }
}

/// The capability check of every server, concurrently: the suitable ones in order, and
/// what the others did.
async fn check_servers(
    servers: Vec<SocketAddr>,
    anchors: TrustAnchors,
    limits: Limits,
    timeout: Duration,
    attempts: u32,
    now: UnixTime,
) -> Checked {
    let mut set = tokio::task::JoinSet::new();
    for (i, &server) in servers.iter().enumerate() {
        let anchors = anchors.clone();
        set.spawn(async move {
            let r =
                capability::check_server(server, &anchors, &limits, timeout, attempts, now).await;
            (i, server, r)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            Err(e) => tracing::debug!(error = %e, "capability check task"),
        }
    }
    results.sort_by_key(|r| r.0);
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (_, server, r) in results {
        match r {
            Ok(()) => good.push(server),
            Err(p) => {
                tracing::info!(%server, problem = %p, "unsuitable resolver");
                bad.push((server, p));
            }
        }
    }
    (
        good,
        Unsuitable {
            zone: ".".into(),
            servers: bad,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_check_holds_an_hour_and_failures_back_off() {
        let (base, hour) = (Duration::from_secs(30), Duration::from_secs(3600));
        let got: Vec<u64> = (0..10).map(|f| hold(f, base, hour).as_secs()).collect();
        assert_eq!(got, [3600, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(hold(u32::MAX, base, hour), hour);
    }
}
