//! Integration tests of the `dane` binary: one module per subcommand.

// Test helpers outside #[test] functions are not covered by clippy.toml's in-tests
// exemptions; a failed unwrap here is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod cluster;
mod common;
mod dnssec;
mod docs;
mod hooks;
mod output;
mod packaging;
mod picture;
mod probe;
mod rollover;
mod scan;
mod serve;
mod tlsa;
mod verify;
mod zone;
mod zone_recipes;
mod zone_xfr;
