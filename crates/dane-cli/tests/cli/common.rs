//! Helpers shared by every `dane` CLI test module: run the binary, find fixtures, temp files,
//! and external reference tools.

#![allow(dead_code)] // each module uses a different subset

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The result of one `dane` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

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
    let mut child = dane()
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dane");
    if let Some(bytes) = input {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `bytes` to a fresh temporary file and returns its path (removed at process exit
/// is not guaranteed; names are unique per test process and tag).
pub fn temp_file(tag: &str, bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("dane-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(tag);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Where an external tool is: on PATH, or in /usr/sbin (nsd-checkzone and friends live
/// there and it is not always on a test runner's PATH).
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from("/usr/sbin").join(tool)).filter(|p| p.is_file()))
}

/// The path of an external tool. When it is missing: under CI (env `CI` set) the test
/// fails with an install hint; otherwise it prints a notice and returns `None` (skip).
pub fn require_tool(tool: &str, package: &str) -> Option<PathBuf> {
    if let Some(path) = find_tool(tool) {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{tool} is not installed: apt-get install {package} (or run scripts/install-test-deps)"
        );
    }
    eprintln!("NOTICE: {tool} not installed (apt-get install {package}); skipping this comparison");
    None
}
