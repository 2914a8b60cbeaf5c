//! The end-to-end and differential suites, one test binary: `dane` in the interop
//! environment against posttls-finger and delv (module `interop`, needs root), the resolver
//! against delv on the DNSSEC fixtures (`delv`), and generation against ldns-dane, danetool,
//! hash-slinger and the zone checkers (`tools`).

// Test helpers outside #[test] functions are not covered by clippy.toml's in-tests
// exemptions; a failed unwrap here is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

#[path = "e2e/delv.rs"]
mod delv;
#[path = "e2e/interop.rs"]
mod interop;
#[path = "e2e/multicert.rs"]
mod multicert;
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
#[path = "e2e/survey.rs"]
mod survey;
#[path = "e2e/tools.rs"]
mod tools;
#[path = "e2e/verify_servers.rs"]
mod verify_servers;
