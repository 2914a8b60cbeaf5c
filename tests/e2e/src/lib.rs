//! End-to-end and differential suites of the `dane` workspace, kept as a workspace member
//! beside the interop environment (`tests/interop`), as hickory-dns keeps its integration
//! and compatibility tests: the `dane` binary in the interop environment (real NSD, Unbound,
//! Postfix, nginx in a network namespace), and our results against the reference tools
//! (posttls-finger, delv, ldns-dane, danetool, hash-slinger, named-checkzone, nsd-checkzone).
//!
//! This library only finds and runs the `dane` binary; the suites are in `tests/`.
//!
//! The binary: `DANE_BIN` when set, else the workspace's own `dane`, built on first use by
//! `cargo build -p dane-cli --bin dane` into the same target directory and profile as this
//! test binary (a no-op when `cargo test --workspace` has just built it), so a suite never
//! runs a stale binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub use dane_testenv::{Run, require_tool, run_command, temp_file};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path under `fixtures/`, as a string for argument lists.
pub fn fixture(rel: &str) -> String {
    root().join("fixtures").join(rel).display().to_string()
}

/// The `dane` binary under test (see the crate docs).
#[allow(clippy::expect_used, clippy::panic)] // test support: no binary is a failed test
pub fn dane_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("DANE_BIN") {
            return PathBuf::from(bin);
        }
        // This test binary is TARGET/PROFILE/deps/NAME-HASH; `dane` goes to TARGET/PROFILE.
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary inside TARGET/PROFILE/deps");
        let target_dir = profile_dir.parent().expect("TARGET/PROFILE");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(root())
            .args([
                "build",
                "--quiet",
                "-p",
                "dane-cli",
                "--bin",
                "dane",
                "--target-dir",
            ])
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build for the dane binary");
        assert!(
            status.success(),
            "cargo build -p dane-cli --bin dane failed"
        );
        profile_dir.join("dane")
    })
}

/// A `dane` command with a clean, colourless environment.
pub fn dane() -> Command {
    let mut cmd = Command::new(dane_bin());
    cmd.env("NO_COLOR", "1").env_remove("RUST_LOG");
    cmd
}

/// Runs `dane ARGS`.
pub fn run(args: &[&str]) -> Run {
    let mut cmd = dane();
    cmd.args(args);
    run_command(cmd, None)
}
