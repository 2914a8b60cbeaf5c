//! Broken recursive resolvers inside the interop namespace (issue 11): the kinds of
//! resolver a machine may be configured with that cannot feed a validator, for the tests
//! of dane's resolver capability check and its fallback to iteration.
//!
//! [`Interop::broken_resolver`] starts the `dane-test-resolver` binary of this crate
//! (`src/bin/dane-test-resolver.rs`) with `ip netns exec` at a loopback address of the
//! namespace, port 53, forwarding to the namespace's Unbound when it forwards at all:
//!
//! | kind | address | behaviour |
//! |---|---|---|
//! | [`BrokenResolver::StripsDnssec`] | 127.0.0.11 | asks Unbound with DO clear; RRSIG/NSEC/NSEC3 (and DS outside the answer) removed, DO clear in the response |
//! | [`BrokenResolver::Nxdomain`] | 127.0.0.12 | NXDOMAIN for every name, the root included |
//! | [`BrokenResolver::Silent`] | 127.0.0.13 | reads every query over UDP and TCP and never answers |
//! | [`BrokenResolver::Refused`] | 127.0.0.14 | REFUSED for every query |
//! | [`BrokenResolver::AdOnly`] | 127.0.0.15 | asks Unbound with DO (it validates); hands back AD and DO but no RRSIG/NSEC/NSEC3 |
//! | [`BrokenResolver::IgnoresCd`] | 127.0.0.16 | asks Unbound with CD clear (bogus becomes SERVFAIL); CD clear in the response |
//!
//! Every query it receives is logged ([`TestResolver::queries`]), so a test can count
//! what a run asked (the capability check asks `. DNSKEY`). The handle stops the process by
//! its PID on drop (SIGTERM, then SIGKILL), and the namespace's removal kills it in any
//! case. The binary is `DANE_TEST_RESOLVER_BIN` when set, else built on first use by
//! `cargo build -p dane-testenv --bin dane-test-resolver` into the target directory and
//! profile of the running test binary (a no-op when it is up to date), so a stale one is
//! never run.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use super::Interop;
use crate::{Error, io, stop};

/// A kind of resolver that cannot feed a validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokenResolver {
    /// Drops DNSSEC records and ignores DO (a stub or home router).
    StripsDnssec,
    /// Answers NXDOMAIN for everything.
    Nxdomain,
    /// Never answers.
    Silent,
    /// Answers REFUSED to everything (an ACL that does not admit the client).
    Refused,
    /// Validates and vouches with the AD bit, without the records to check it by.
    AdOnly,
    /// Drops the CD bit: its validating upstream turns bogus answers into SERVFAIL.
    IgnoresCd,
}

impl BrokenResolver {
    /// Every kind.
    pub const ALL: [BrokenResolver; 6] = [
        BrokenResolver::StripsDnssec,
        BrokenResolver::Nxdomain,
        BrokenResolver::Silent,
        BrokenResolver::Refused,
        BrokenResolver::AdOnly,
        BrokenResolver::IgnoresCd,
    ];

    /// The binary's mode argument (`strip`, `nxdomain`, `silent`, `refused`, `ad-only`,
    /// `ignore-cd`).
    pub fn mode(self) -> &'static str {
        match self {
            BrokenResolver::StripsDnssec => "strip",
            BrokenResolver::Nxdomain => "nxdomain",
            BrokenResolver::Silent => "silent",
            BrokenResolver::Refused => "refused",
            BrokenResolver::AdOnly => "ad-only",
            BrokenResolver::IgnoresCd => "ignore-cd",
        }
    }

    /// Where it listens inside the namespace (port 53).
    pub fn address(self) -> &'static str {
        match self {
            BrokenResolver::StripsDnssec => "127.0.0.11",
            BrokenResolver::Nxdomain => "127.0.0.12",
            BrokenResolver::Silent => "127.0.0.13",
            BrokenResolver::Refused => "127.0.0.14",
            BrokenResolver::AdOnly => "127.0.0.15",
            BrokenResolver::IgnoresCd => "127.0.0.16",
        }
    }
}

/// A running broken resolver; stopped by its PID on drop.
#[derive(Debug)]
pub struct TestResolver {
    kind: BrokenResolver,
    child: Child,
    log: PathBuf,
}

impl TestResolver {
    /// Its kind.
    pub fn kind(&self) -> BrokenResolver {
        self.kind
    }

    /// Its address inside the namespace (port 53): `dane --resolver`.
    pub fn address(&self) -> &'static str {
        self.kind.address()
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every query received so far, in order, as `PROTO NAME TYPE` (`udp . DNSKEY`).
    pub fn queries(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Forgets the queries logged so far (between the runs of one test).
    pub fn clear_queries(&self) -> Result<(), Error> {
        std::fs::write(&self.log, "").map_err(io(format!("truncating {}", self.log.display())))
    }
}

impl Drop for TestResolver {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

impl Interop {
    /// Starts a broken resolver of `kind` inside the namespace (see the module docs);
    /// returns once it has bound its UDP and TCP sockets. One of each kind at a time.
    pub fn broken_resolver(&self, kind: BrokenResolver) -> Result<TestResolver, Error> {
        let bin = resolver_bin()?;
        let log = self.dir.join(format!("broken-{}.log", kind.mode()));
        std::fs::write(&log, "").map_err(io(format!("creating {}", log.display())))?;
        let stderr_path = self.dir.join(format!("broken-{}.stderr", kind.mode()));
        let stderr =
            std::fs::File::create(&stderr_path).map_err(io("creating the resolver's stderr"))?;
        let mut child = self
            .command(bin)
            .arg(kind.mode())
            .arg(format!("{}:53", kind.address()))
            .arg(format!("{}:53", self.resolver()))
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(io(format!("starting {}", bin.display())))?;
        // It prints one line once both sockets are bound, and nothing else; EOF means it
        // exited.
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        let resolver = TestResolver { kind, child, log };
        if !line.starts_with("listening") {
            return Err(Error::Startup {
                program: "dane-test-resolver",
                reason: format!("{} did not start listening", kind.mode()),
                log: crate::read_logs(&[stderr_path]),
            });
        }
        Ok(resolver)
    }
}

/// The `dane-test-resolver` binary (see the module docs).
fn resolver_bin() -> Result<&'static Path, Error> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("DANE_TEST_RESOLVER_BIN") {
            return Ok(PathBuf::from(bin));
        }
        // A test binary is TARGET/PROFILE/deps/NAME-HASH; bins go to TARGET/PROFILE.
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| format!("{} is not in TARGET/PROFILE/deps", exe.display()))?;
        let target_dir = profile_dir
            .parent()
            .ok_or_else(|| format!("{} has no parent", profile_dir.display()))?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "--locked", "-p", "dane-testenv"])
            .args(["--bin", "dane-test-resolver", "--target-dir"])
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build
            .status()
            .map_err(|e| format!("running cargo build: {e}"))?;
        if !status.success() {
            return Err(format!(
                "cargo build -p dane-testenv --bin dane-test-resolver exited with {status}"
            ));
        }
        Ok(profile_dir.join("dane-test-resolver"))
    });
    match built {
        Ok(path) => Ok(path.as_path()),
        Err(reason) => Err(Error::Startup {
            program: "dane-test-resolver",
            reason: reason.clone(),
            log: String::new(),
        }),
    }
}
