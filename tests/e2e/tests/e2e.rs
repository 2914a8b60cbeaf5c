//! The end-to-end and differential suites, one test binary: `dane` in the interop
//! environment against posttls-finger and delv (module `interop`, needs root), the resolver
//! against delv on the DNSSEC fixtures (`delv`), and generation against ldns-dane, danetool,
//! hash-slinger and the zone checkers (`tools`); `soak`: the exporter scraped by Prometheus
//! for minutes while its zone, keys and resolver change (issue 22); and the examples/slurm
//! recipe on a real single-node Slurm in the interop environment (`slurm`).

// Test helpers outside #[test] functions are not covered by clippy.toml's in-tests
// exemptions; a failed unwrap here is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

#[path = "e2e/delv.rs"]
mod delv;
#[path = "e2e/interop.rs"]
mod interop;
#[path = "e2e/multicert.rs"]
mod multicert;
#[path = "e2e/private_targets.rs"]
mod private_targets;
#[path = "e2e/resolvers.rs"]
mod resolvers;
#[path = "e2e/rollover.rs"]
mod rollover;
#[path = "e2e/rollover_publish.rs"]
mod rollover_publish;
#[path = "e2e/rollover_servers.rs"]
mod rollover_servers;
#[path = "e2e/rollover_steps.rs"]
mod rollover_steps;
#[path = "e2e/services.rs"]
mod services;
#[path = "e2e/slurm.rs"]
mod slurm;
#[path = "e2e/soak.rs"]
mod soak;
#[path = "e2e/survey.rs"]
mod survey;
#[path = "e2e/tools.rs"]
mod tools;
#[path = "e2e/verify_servers.rs"]
mod verify_servers;
