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
pub fn dane_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("DANE_BIN") {
            return PathBuf::from(bin);
        }
        build(&["-p", "dane-cli", "--bin", "dane"]).join("dane")
    })
}

/// An example program of the workspace (`cargo build -p PACKAGE --example NAME`), built
/// like [`dane_bin`] builds `dane`, into the same target directory and profile.
pub fn example_bin(package: &str, name: &str) -> PathBuf {
    build(&["-p", package, "--example", name])
        .join("examples")
        .join(name)
}

/// Runs `cargo build --quiet ARGS` into the target directory and profile of this test
/// binary; returns that profile's directory (TARGET/PROFILE).
#[allow(clippy::expect_used)] // test support: a failed build is a failed test
fn build(args: &[&str]) -> PathBuf {
    // This test binary is TARGET/PROFILE/deps/NAME-HASH.
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
        .args(["build", "--quiet"])
        .args(args)
        .arg("--target-dir")
        .arg(target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build {} failed", args.join(" "));
    profile_dir.to_owned()
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
