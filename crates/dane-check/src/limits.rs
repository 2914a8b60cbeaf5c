//! The bounds of one run (ARCHITECTURE.md invariant 7): how much of what a zone publishes
//! is checked. The engine applies them and the report words the warnings about them; both
//! read them here, so neither imports the other for them.

/// Most hosts (MX exchanges, SRV targets) checked per domain.
pub const MAX_HOSTS: usize = 64;
/// Most addresses probed per host.
pub const MAX_ADDRESSES: usize = 32;
