//! Serves the DNSSEC fixtures with NSD (and, with `--unbound`, a validating Unbound in front)
//! until stdin closes: for benchmarks and for poking at the fixtures by hand.
//!
//! ```text
//! cargo run -p dane-testenv --example serve-fixtures            # prints "nsd PORT"
//! dig @127.0.0.1 -p PORT +dnssec +cd www.alg8.test A
//! ```
//! Closing stdin (Ctrl-D, or the writing end of a pipe) stops the servers by PID.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool

use std::io::{Read as _, Write as _};

fn main() -> std::process::ExitCode {
    let nsd = match dane_testenv::Nsd::start_fixtures() {
        Ok(nsd) => nsd,
        Err(e) => {
            eprintln!("serve-fixtures: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    println!("nsd {}", nsd.port());
    let unbound = if std::env::args().any(|a| a == "--unbound") {
        match dane_testenv::Unbound::start(&nsd) {
            Ok(u) => {
                println!("unbound {}", u.port());
                Some(u)
            }
            Err(e) => {
                eprintln!("serve-fixtures: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let _ = std::io::stdout().flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(unbound);
    drop(nsd);
    std::process::ExitCode::SUCCESS
}
