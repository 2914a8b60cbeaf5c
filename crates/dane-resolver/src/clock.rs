//! The monotonic clock the caches age by (ARCHITECTURE.md invariants 2 and 8).
//!
//! Validation takes its `now` (wall-clock time, `--at`) from the caller; how long a cached
//! answer, delegation or resolver check stays is measured on a monotonic clock instead, so
//! that a wall-clock step (NTP, `date -s`) neither keeps answers for ever nor drops them all.
//! [`Config::clock`](crate::Config::clock) holds it: [`SystemClock`] by default,
//! [`ManualClock`] in tests, which move time by hand.

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

/// A monotonic clock: time since an origin fixed for the clock's life.
pub trait Clock: Send + Sync + Debug {
    /// Time elapsed since the clock's origin; never goes backwards.
    fn elapsed(&self) -> Duration;
}

/// The system's monotonic clock (`std::time::Instant`).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: std::time::Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    #[allow(clippy::disallowed_methods)] // the one place the resolver reads the clock
    pub fn new() -> SystemClock {
        SystemClock {
            origin: std::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock {
    now: Mutex<Duration>,
}

impl ManualClock {
    /// A clock at its origin.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.saturating_add(by);
    }
}

impl Clock for ManualClock {
    fn elapsed(&self) -> Duration {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}
