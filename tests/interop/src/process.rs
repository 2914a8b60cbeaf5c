//! Running a program under test and the reference tools: the [`Run`] of one process, and
//! where a reference tool is installed.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The result of one process run: exit code (-1 when killed by a signal) and its output.
#[derive(Debug)]
pub struct Run {
    /// The exit code, or -1 when the process was killed by a signal.
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

/// Runs `cmd`, feeding `input` on stdin when given (else stdin is `/dev/null`), and collects
/// its exit code and output. A program that cannot be spawned is a panic: in a test that is
/// a failed test, which is what the callers want.
#[allow(clippy::expect_used)] // test support: a failed spawn is a failed test
pub fn run_command(mut cmd: Command, input: Option<&[u8]>) -> Run {
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the program under test");
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(bytes).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for the program");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The path of a reference tool (on `PATH` or in the sbin directories). When it is
/// missing: under CI (env `CI` set) this panics with the install hint, so CI cannot pass by
/// skipping; otherwise it prints a notice and returns `None`, and the caller skips.
#[allow(clippy::print_stderr)] // test support: the skip notice is for the person running it
pub fn require_tool(tool: &'static str, package: &'static str) -> Option<PathBuf> {
    match crate::find_program(tool, package) {
        Ok(path) => Some(path),
        Err(e) if std::env::var_os("CI").is_some() => panic!("{e}"),
        Err(e) => {
            eprintln!("NOTICE: {e}; skipping this comparison");
            None
        }
    }
}

/// Writes `bytes` to `tag` in a temporary directory of this process's own and returns its
/// path (names are unique per process and tag; the directory is not removed).
#[allow(clippy::expect_used)] // test support: an unwritable temp dir is a failed test
pub fn temp_file(tag: &str, bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("dane-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the temporary directory");
    let path = dir.join(tag);
    std::fs::write(&path, bytes).expect("write the temporary file");
    path.display().to_string()
}

/// A server under test that says where it listens on its first line of stderr (`dane
/// serve-metrics`: "dane serve-metrics: listening on ADDR"); killed by its own handle and
/// reaped on drop.
#[derive(Debug)]
pub struct Listening {
    /// The process.
    pub child: Child,
    /// What followed the prefix on its first stderr line.
    pub addr: String,
}

impl Listening {
    /// Spawns `cmd` (stdin and stdout null, stderr piped) and reads its first stderr line,
    /// which must start with `prefix`. A failed spawn or another first line is a panic (a
    /// failed test).
    #[allow(clippy::expect_used)] // test support: a server that did not start is a failed test
    pub fn spawn(cmd: &mut Command, prefix: &str) -> Listening {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the server under test");
        let mut line = String::new();
        std::io::BufReader::new(child.stderr.take().expect("piped stderr"))
            .read_line(&mut line)
            .expect("read the server's first stderr line");
        let Some(addr) = line.trim().strip_prefix(prefix) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server's first stderr line is {line:?}, not {prefix:?}…");
        };
        Listening {
            addr: addr.to_owned(),
            child,
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
