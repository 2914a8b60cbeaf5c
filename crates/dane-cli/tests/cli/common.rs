//! Helpers shared by every `dane` CLI test module: run the binary, find fixtures, temp files
//! (process helpers from dane-testenv).

#![allow(dead_code)] // each module uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

pub use dane_testenv::{Run, run_command, temp_file};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path under `fixtures/`, as a string for argument lists.
pub fn fixture(rel: &str) -> String {
    root().join("fixtures").join(rel).display().to_string()
}

/// Reads a fixture file as text.
pub fn fixture_text(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A `dane` command with a clean, colourless environment.
pub fn dane() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dane"));
    cmd.env("NO_COLOR", "1").env_remove("RUST_LOG");
    cmd
}

/// Runs `dane ARGS`.
pub fn run(args: &[&str]) -> Run {
    run_stdin(args, None)
}

/// Runs `dane ARGS`, feeding `input` on stdin when given.
pub fn run_stdin(args: &[&str], input: Option<&[u8]>) -> Run {
    let mut cmd = dane();
    cmd.args(args);
    run_command(cmd, input)
}

/// `127.0.0.1:PORT` with a port free now (a daemon that then fails to bind it, a race, is
/// for the caller to retry).
pub fn free_loopback_addr() -> String {
    format!("127.0.0.1:{}", free_loopback_port())
}

/// A loopback port free now (same caveat as `free_loopback_addr`).
pub fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A one-family issuer list (`--ca-families`) with made-up hashes: well-formed, matching
/// nothing.
pub const FAMILY_LIST: &[u8] = br#"{"format":1,"version":"t","families":[{"id":"x","ca":"X","generation":"1","key_type":"RSA","issues_for":"RSA keys","source":"test","members":[{"name":"X1","subject":"CN=X1","not_before":"2020-01-01T00:00:00Z","not_after":"2030-01-01T00:00:00Z","spki_sha256":"0101010101010101010101010101010101010101010101010101010101010101","cert_sha256":"0202020202020202020202020202020202020202020202020202020202020202","source":"test"}]}]}"#;

/// Asserts a usage error: exit 2, nothing on stdout, and one line on stderr holding `needle`.
pub fn assert_one_line_error(r: &Run, needle: &str) {
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains(needle), "{}", r.stderr);
}

/// Every tool of `tools` (command, Debian package): their paths, or None (each missing one
/// noted on stderr, a failure under CI) when one is missing.
pub fn require_tools(tools: &[(&'static str, &'static str)]) -> Option<Vec<PathBuf>> {
    let found: Vec<Option<PathBuf>> = tools
        .iter()
        .map(|(tool, package)| dane_testenv::require_tool(tool, package))
        .collect();
    found.into_iter().collect()
}

/// The `*.sh` files directly in each of `dirs`, sorted by path; asserts that a file of each
/// name in `want` is among them.
pub fn shell_scripts(dirs: &[PathBuf], want: &[&str]) -> Vec<PathBuf> {
    let mut scripts: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    let names: Vec<String> = scripts
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for w in want {
        assert!(names.iter().any(|n| n == w), "{w} missing: {names:?}");
    }
    scripts
}

/// Asserts that `SHELL -n` parses every one of `scripts`.
pub fn assert_parses(shell: &str, scripts: &[PathBuf]) {
    for p in scripts {
        let mut cmd = Command::new(shell);
        cmd.arg("-n").arg(p);
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "{shell} -n {}: {}", p.display(), out.stderr);
    }
}

/// Asserts that shellcheck (with `args`) finds nothing in `files`; skipped (noted) when
/// shellcheck is not installed outside CI.
pub fn assert_shellcheck_clean(args: &[&str], files: &[impl AsRef<Path>]) {
    if let Some(shellcheck) = dane_testenv::require_tool("shellcheck", "shellcheck") {
        let mut cmd = Command::new(shellcheck);
        cmd.args(args).args(files.iter().map(AsRef::as_ref));
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "shellcheck: {}{}", out.stdout, out.stderr);
    }
}
