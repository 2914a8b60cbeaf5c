//! `dane`: DANE (TLSA) and DNSSEC checks for mail and DNS operators.
//!
//! The CLI parses arguments, reads the clock once, calls the libraries and renders their
//! results; it does no crypto and no protocol logic itself (ARCHITECTURE.md invariant 5).
//! Every subcommand module exposes `Args` (clap) and `run(&Args, &Context) -> Result<Exit>`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // the CLI owns stdout and stderr

mod checkopts;
mod clock;
mod dnssec;
mod docs;
mod exit;
mod families;
mod input;
mod output;
mod probe;
mod resolve;
mod rollover;
mod rollover_files;
mod rollover_update;
mod scan;
mod serve;
mod term;
mod tlsa;
mod verify;
mod zone;
mod zone_axfr;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use rustls_pki_types::UnixTime;

pub use exit::Exit;
// The renderers live in dane-render (shared with serve-metrics); these paths keep their
// names in the CLI.
use dane_render::{nagios, openmetrics, summary};

/// DANE (TLSA) and DNSSEC checks for mail and DNS operators.
#[derive(Debug, Parser)]
#[command(name = "dane", version, propagate_version = true)]
struct Cli {
    /// Colour on stdout: auto (terminal and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    color: term::ColorChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate TLSA records and match them against certificate chains (offline).
    #[command(subcommand)]
    Tlsa(tlsa::Command),
    /// Connect to a server (STARTTLS or TLS) and show the chain it presents.
    Probe(probe::Args),
    /// Look a name up and validate the answer with DNSSEC from the trust anchors down.
    Dnssec(dnssec::Args),
    /// Check a domain end to end: DNSSEC, TLSA, every MX host and address (RFC 7672).
    Verify(Box<verify::Args>),
    /// Check many targets (a file or stdin, one a line) concurrently; NDJSON out.
    Scan(Box<scan::Args>),
    /// Serve /probe?target=DOMAIN as OpenMetrics over HTTP (blackbox-exporter style).
    ServeMetrics(Box<serve::Args>),
    /// Roll a key safely: stage the next key, wait until its TLSA record is everywhere,
    /// promote it after the switch.
    #[command(subcommand)]
    Rollover(rollover::Command),
    /// Check a signed zone file offline before it is published (DNSSEC signatures).
    #[command(subcommand)]
    Zone(zone::Command),
    /// Write a shell completion script (bash, zsh, fish, ...) to stdout.
    Completions(docs::CompletionsArgs),
    /// Write the manual page dane.1 (roff) to stdout, or every page with --dir.
    Man(docs::ManArgs),
}

/// The clap command line, with the exit-code list of `--help` rendered from
/// [`Exit::DOCUMENTED`] (the man page and completions are generated from this too).
pub fn command() -> clap::Command {
    let codes: Vec<String> = Exit::DOCUMENTED
        .iter()
        .map(|(exit, meaning)| format!("  {}  {meaning}", *exit as u8))
        .collect();
    Cli::command().after_help(format!("Exit codes:\n{}", codes.join("\n")))
}

/// What every subcommand gets from `main`.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The wall clock, read once at start; `--at` replaces it (see [`Context::now`]).
    pub clock: UnixTime,
    /// Whether to colour stdout.
    pub color: bool,
}

impl Context {
    /// The time to evaluate at: `--at` if given, else the clock read at start.
    pub fn now(&self, at: Option<&str>) -> anyhow::Result<UnixTime> {
        clock::effective_now(at, self.clock)
    }
}

fn main() -> ExitCode {
    let cli = match command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() && nagios_requested() => {
            // Monitoring-plugins guidelines: bad arguments are UNKNOWN (3), on one line.
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("bad arguments");
            println!("DANE UNKNOWN - {}", term::sanitize(first));
            return Exit::Indeterminate.code();
        }
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Ok.code()
            };
        }
    };
    let ctx = Context {
        clock: clock::read_system_clock(),
        color: cli.color.enabled(),
    };
    let result = match &cli.command {
        Command::Tlsa(cmd) => tlsa::run(cmd, &ctx),
        Command::Probe(args) => probe::run(args, &ctx),
        Command::Dnssec(args) => dnssec::run(args, &ctx),
        Command::Verify(args) => verify::run(args, &ctx),
        Command::Scan(args) => scan::run(args, &ctx),
        Command::ServeMetrics(args) => serve::run(args, &ctx),
        Command::Rollover(cmd) => rollover::run(cmd, &ctx),
        Command::Zone(cmd) => zone::run(cmd, &ctx),
        Command::Completions(args) => docs::completions(args, &ctx),
        Command::Man(args) => docs::man(args, &ctx),
    };
    match result {
        Ok(exit) => {
            if std::io::stdout().flush().is_err() {
                // Broken pipe (`dane ... | head`): quiet exit, the reader is gone.
                return ExitCode::SUCCESS;
            }
            exit.code()
        }
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dane: {}", term::sanitize(&error_text(&e)));
            Exit::Usage.code()
        }
    }
}

/// An error and its causes on one line (as `{:#}` writes it), each cause said once: a
/// cause whose text the line holds already (a library error that repeats its source in
/// its own message) is left out.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let said = cause.to_string();
        if said.is_empty() || text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

/// Whether the command line asks for `--format nagios` (for errors clap finds first).
fn nagios_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--format=nagios")
        || args
            .windows(2)
            .any(|w| w[0] == "--format" && w[1] == "nagios")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[test]
    fn causes_are_said_once() {
        let inner = anyhow::anyhow!("the 'year' component could not be parsed");
        let e = inner
            .context("the 'year' component could not be parsed")
            .context("--at \"tomorrow\": not an RFC 3339 time");
        assert_eq!(
            error_text(&e),
            "--at \"tomorrow\": not an RFC 3339 time: the 'year' component could not be parsed"
        );
        let e = anyhow::anyhow!("no such file").context("--x /nonexistent: cannot read");
        assert_eq!(
            error_text(&e),
            "--x /nonexistent: cannot read: no such file"
        );
    }
}
