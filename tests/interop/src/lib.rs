//! Test support for the `dane` workspace: real DNS servers on loopback ports.
//!
//! [`Nsd`] starts NSD on a free `127.0.0.1` port, authoritative for every zone file in a
//! directory at once (by default the signed fixtures in `fixtures/dns/zones`). Because one
//! server holds the root, the TLD and the children, a DS query for a child is answered from
//! the parent zone, and every query can be sent to it directly, with CD set, as if it were
//! a recursive resolver. [`Unbound`] starts a validating Unbound with the private root as
//! trust anchor and stub zones for every zone of an [`Nsd`] (with Unbound's built-in RFC 6761
//! local zone for `test.` turned off, since the fixtures live there).
//!
//! [`Interop`] (module [`interop`]) is the interop environment: a network namespace with
//! zones signed at run time, NSD, a validating Unbound as its resolver, Postfix instances
//! and nginx, for end-to-end tests and the reference tools (posttls-finger, delv, ldns-dane);
//! its scenarios are data ([`scenarios`]). It needs root. [`Slurm`] (module [`slurm`]) is a
//! single-node Slurm cluster (munged, slurmctld, slurmd) inside that namespace, for the
//! `examples/slurm` recipe.
//!
//! ```no_run
//! let nsd = dane_testenv::Nsd::start_fixtures().expect("nsd");
//! println!("dig @127.0.0.1 -p {} +dnssec +cd DS alg8.test.", nsd.port());
//! // The server is stopped (SIGTERM to its PID, then SIGKILL) when `nsd` is dropped.
//! ```
//!
//! Invariants:
//! - Servers listen on 127.0.0.1 only, on ports picked free at start; a server that fails
//!   to bind (a race for the port) is retried on a new port.
//! - A server is stopped by its own PID when its handle is dropped; never by name.
//! - A missing program is an [`Error::NotInstalled`] naming the Debian package and the
//!   install script: callers `expect()` it, so tests fail loudly rather than pass silently.
//! - `start` returns only once the server has answered a query (bounded wait, then an
//!   error carrying the server's log).
//!
//! Time: nothing here reads the clock except the start-up deadline. Limits: Unix only (uses
//! `kill(1)` to send SIGTERM so NSD can stop its own child processes).

mod fixtures;
pub mod interop;
mod process;
pub mod schema;
pub mod slurm;

pub use fixtures::{
    Case, EvidenceItem, cases, evidence_dir, read_evidence, read_table, write_evidence,
};
pub use interop::{Interop, Scenario, scenarios};
pub use process::{Listening, Run, require_tool, run_command, temp_file};
pub use slurm::Slurm;

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What can go wrong starting a test server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program is not installed.
    #[error(
        "{program} is not installed: run scripts/install-test-deps (or `apt-get install {package}`)"
    )]
    NotInstalled {
        /// The missing program.
        program: &'static str,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A zone file whose origin could not be found.
    #[error("zone file {path}: no $ORIGIN or first record to take the zone name from")]
    ZoneName {
        /// The zone file.
        path: PathBuf,
    },
    /// The environment cannot be set up (not root, `ip netns` refused, a setup command
    /// failed).
    #[error("{what}: {reason}")]
    Environment {
        /// What was being set up.
        what: String,
        /// Why it failed, and how to fix it when we know.
        reason: String,
    },
    /// The server exited or never answered.
    #[error("{program} did not start: {reason}\n--- log ---\n{log}")]
    Startup {
        /// The server program.
        program: &'static str,
        /// Why we gave up.
        reason: String,
        /// The server's log and stderr.
        log: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// The workspace's `fixtures/dns` directory (zones, anchors, cases.tsv).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/dns")
}

/// Finds a program on `PATH` or in the sbin directories (NSD and Unbound live in /usr/sbin,
/// which is not on every user's PATH).
pub fn find_program(program: &'static str, package: &'static str) -> Result<PathBuf, Error> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or(Error::NotInstalled { program, package })
}

/// A private temporary directory removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<Self, Error> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(io(format!("creating {}", path.display())))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server process, stopped by PID on drop.
#[derive(Debug)]
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// SIGTERM (so NSD and Unbound stop their own helper processes), then SIGKILL after 5 s.
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A port that is free for both UDP and TCP on 127.0.0.1 right now.
fn free_port() -> Result<u16, Error> {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(io("binding a UDP probe socket"))?;
        let port = udp
            .local_addr()
            .map_err(io("reading the probe port"))?
            .port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(Error::Io {
        what: "finding a free loopback port".into(),
        source: std::io::Error::other("no port free for both UDP and TCP after 50 tries"),
    })
}

/// The zone a file holds: its `$ORIGIN`, else the owner of its first record.
pub fn zone_name(path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(io(format!("reading {}", path.display())))?;
    for line in text.lines() {
        let line = line.split(';').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if first.eq_ignore_ascii_case("$ORIGIN") {
            if let Some(origin) = fields.next() {
                return Ok(origin.to_string());
            }
        } else if !first.starts_with('$') && first.ends_with('.') {
            return Ok(first.to_string());
        }
        break;
    }
    Err(Error::ZoneName {
        path: path.to_path_buf(),
    })
}

/// Every `*.zone` file in `zone_dir` with its zone name (from `$ORIGIN` or the first
/// record), canonical paths, sorted by name; an error when there is none.
pub fn zone_files(zone_dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut zones = Vec::new();
    let entries = std::fs::read_dir(zone_dir)
        .map_err(io(format!("listing zone directory {}", zone_dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(io(format!("listing zone directory {}", zone_dir.display())))?
            .path();
        if path.extension().is_some_and(|e| e == "zone") {
            let path = path
                .canonicalize()
                .map_err(io(format!("resolving {}", path.display())))?;
            zones.push((zone_name(&path)?, path));
        }
    }
    zones.sort();
    if zones.is_empty() {
        return Err(Error::Io {
            what: format!("zone directory {}", zone_dir.display()),
            source: std::io::Error::other("no *.zone files"),
        });
    }
    Ok(zones)
}

/// NSD's configuration: listening on `listen` (`ADDR@PORT` entries), state and logs in
/// `dir`, one `zone:` block per zone.
/// NSD's configuration. Response rate limiting is off (`rrl-ratelimit: 0`): one test client
/// asks thousands of questions a second (bulk scans), which RRL would answer with dropped or
/// truncated responses.
fn nsd_config(dir: &Path, listen: &[String], do_ip6: bool, zones: &[(String, PathBuf)]) -> String {
    let d = dir.display();
    let mut conf = String::from("server:\n");
    for addr in listen {
        let _ = writeln!(conf, "  ip-address: {addr}");
    }
    let _ = write!(
        conf,
        "  do-ip6: {}\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"\"\n  database: \"\"\n  \
         pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n  \
         zonelistfile: \"{d}/zone.list\"\n  xfrdir: \"{d}\"\n  logfile: \"{d}/nsd.log\"\n  \
         server-count: 1\n  verbosity: 1\n  hide-version: yes\n  rrl-ratelimit: 0\n\
         remote-control:\n  control-enable: no\n",
        if do_ip6 { "yes" } else { "no" }
    );
    for (name, path) in zones {
        let _ = write!(
            conf,
            "zone:\n  name: \"{name}\"\n  zonefile: \"{}\"\n",
            path.display()
        );
    }
    conf
}

/// A minimal DNS query (ID, RD clear, one question, class IN) for readiness probes.
fn probe_query(id: u16, name: &str, rtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        q.push(label.len().min(63) as u8);
        q.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    q.push(0);
    q.extend_from_slice(&rtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// Waits until `addr` answers a SOA query for `zone` over UDP, or the child exits, or 20 s.
fn wait_ready(
    program: &'static str,
    child: &mut Child,
    addr: SocketAddr,
    zone: &str,
    log: &dyn Fn() -> String,
) -> Result<(), Error> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(io("binding a probe socket"))?;
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(io("setting a probe timeout"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut id: u16 = 0x5a00;
    let first = id.wrapping_add(1);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::Startup {
                program,
                reason: format!("exited with {status}"),
                log: log(),
            });
        }
        id = id.wrapping_add(1);
        let _ = sock.send_to(&probe_query(id, zone, 6), addr);
        let mut buf = [0u8; 4096];
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            // A reply to any of our probes (even SERVFAIL while Unbound primes) means it is
            // up. Not only the last one's: a reply that came after its own 100 ms wait is
            // read by the next wait, one behind, and stays one behind (one datagram read
            // per send); matching the last ID alone then never succeeded, and a loaded
            // machine's slow start-up became a 20 s "no answer" for a server that answered.
            let got = u16::from_be_bytes([buf[0], buf[1]]);
            if from == addr && n >= 12 && got.wrapping_sub(first) <= id.wrapping_sub(first) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(Error::Startup {
        program,
        reason: format!("no answer from {addr} within 20 s"),
        log: log(),
    })
}

/// The rcode of an authoritative SOA answer for `zone`, `None` if not authoritative or no
/// answer within 2 s.
fn soa_rcode(addr: SocketAddr, zone: &str) -> Result<Option<u8>, Error> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(io("binding a probe socket"))?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(io("setting a probe timeout"))?;
    let id = 0x7e57;
    sock.send_to(&probe_query(id, zone, 6), addr)
        .map_err(io(format!("probing {addr}")))?;
    let mut buf = [0u8; 4096];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) if n >= 12 && buf[..2] == id.to_be_bytes() && buf[2] & 0x04 != 0 => {
            Ok(Some(buf[3] & 0x0f))
        }
        _ => Ok(None),
    }
}

fn read_logs(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Configuration added to the test NSD's: top-level clauses (`key:`, `verify:`) and lines
/// added to every `zone:` (`provide-xfr:`, `verifier:`). A port in `top` may be written
/// `{free_port}`: it is replaced by a free loopback port (the verifier's).
#[derive(Debug, Clone, Default)]
pub struct NsdExtra {
    /// Top-level clauses, appended to the configuration.
    pub top: String,
    /// Lines (each indented, newline-terminated) added to every `zone:` clause.
    pub zone: String,
}

impl NsdExtra {
    /// The configuration with the extra lines: top-level clauses before the first `zone:`
    /// (a key is defined before a zone names it).
    fn apply(&self, conf: &str) -> Result<String, Error> {
        let conf = conf.replace("  zonefile: ", &format!("{}  zonefile: ", self.zone));
        let mut top = self.top.clone();
        while top.contains("{free_port}") {
            top = top.replacen("{free_port}", &free_port()?.to_string(), 1);
        }
        Ok(match conf.find("\nzone:\n") {
            Some(i) => format!("{}\n{top}{}", &conf[..i], &conf[i + 1..]),
            None => format!("{conf}{top}"),
        })
    }
}

/// NSD serving a directory of zone files on a loopback port; stopped on drop.
#[derive(Debug)]
pub struct Nsd {
    addr: SocketAddr,
    zones: Vec<String>,
    // Field order: the server stops before its directory is removed.
    _server: Server,
    _dir: TempDir,
}

impl Nsd {
    /// Serves the signed fixtures (`fixtures/dns/zones`).
    pub fn start_fixtures() -> Result<Self, Error> {
        Self::start(&fixtures_dir().join("zones"))
    }

    /// Serves every `*.zone` file in `zone_dir` (zone name from its `$ORIGIN` or first
    /// record), all from one NSD.
    pub fn start(zone_dir: &Path) -> Result<Self, Error> {
        Self::start_with(zone_dir, &NsdExtra::default())
    }

    /// As [`Nsd::start`], with `extra` configuration (TSIG keys, `provide-xfr:`, a
    /// `verify:` section and `verifier:`).
    pub fn start_with(zone_dir: &Path, extra: &NsdExtra) -> Result<Self, Error> {
        let nsd = find_program("nsd", "nsd")?;
        let zones = zone_files(zone_dir)?;
        let probe_zone = zones
            .first()
            .map(|(name, _)| name.clone())
            .ok_or_else(|| Error::Io {
                what: format!("zone directory {}", zone_dir.display()),
                source: std::io::Error::other("no *.zone files"),
            })?;
        let mut last = None;
        for _attempt in 0..5 {
            match Self::try_start(&nsd, &zones, &probe_zone, extra) {
                Ok(started) => return Ok(started),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(Error::Startup {
            program: "nsd",
            reason: "no attempt made".into(),
            log: String::new(),
        }))
    }

    fn try_start(
        nsd: &Path,
        zones: &[(String, PathBuf)],
        probe: &str,
        extra: &NsdExtra,
    ) -> Result<Self, Error> {
        let dir = TempDir::new("dane-testenv-nsd")?;
        let port = free_port()?;
        let conf = nsd_config(&dir.0, &[format!("127.0.0.1@{port}")], false, zones);
        let conf = extra.apply(&conf)?;
        let conf_path = dir.0.join("nsd.conf");
        std::fs::write(&conf_path, conf).map_err(io("writing nsd.conf"))?;
        let stderr_path = dir.0.join("stderr");
        let stderr = std::fs::File::create(&stderr_path).map_err(io("creating nsd stderr"))?;
        let mut child = Command::new(nsd)
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(io(format!("starting {}", nsd.display())))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let logs = [dir.0.join("nsd.log"), stderr_path];
        let ready = wait_ready("nsd", &mut child, addr, probe, &|| read_logs(&logs));
        let server = Server { child };
        ready?;
        // A zone file NSD could not parse is logged and left unserved: check every zone.
        for (name, _) in zones {
            let rcode = soa_rcode(addr, name)?;
            if rcode != Some(0) {
                return Err(Error::Startup {
                    program: "nsd",
                    reason: format!("zone {name} is not served (SOA query rcode {rcode:?})"),
                    log: read_logs(&logs),
                });
            }
        }
        Ok(Self {
            addr,
            zones: zones.iter().map(|(n, _)| n.clone()).collect(),
            _server: server,
            _dir: dir,
        })
    }

    /// The address NSD listens on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port NSD listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The zones served, sorted.
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    /// Makes NSD read again the zone files that changed (SIGHUP to its PID; NSD 4 reloads
    /// changed zone files on it).
    pub fn reload(&self) -> Result<(), Error> {
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self._server.child.id().to_string())
            .status()
            .map_err(io("running kill -HUP"))?;
        if !status.success() {
            return Err(Error::Io {
                what: "kill -HUP nsd".into(),
                source: std::io::Error::other(format!("{status}")),
            });
        }
        Ok(())
    }
}

/// A validating Unbound on a loopback port: trust anchor `anchor_file` (the private root's DS
/// by default), every query sent to an [`Nsd`] through stub zones; stopped on drop.
#[derive(Debug)]
pub struct Unbound {
    addr: SocketAddr,
    _server: Server,
    _dir: TempDir,
}

impl Unbound {
    /// Unbound in front of `nsd`, validating from `fixtures/dns/anchors/root.ds`.
    pub fn start(nsd: &Nsd) -> Result<Self, Error> {
        Self::start_with_anchor(nsd, &fixtures_dir().join("anchors/root.ds"))
    }

    /// Unbound in front of `nsd` with a given trust-anchor file (DS or DNSKEY lines).
    pub fn start_with_anchor(nsd: &Nsd, anchor_file: &Path) -> Result<Self, Error> {
        let unbound = find_program("unbound", "unbound")?;
        let anchor = anchor_file
            .canonicalize()
            .map_err(io(format!("resolving {}", anchor_file.display())))?;
        let mut last = None;
        for _attempt in 0..5 {
            match Self::try_start(&unbound, nsd, &anchor) {
                Ok(started) => return Ok(started),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(Error::Startup {
            program: "unbound",
            reason: "no attempt made".into(),
            log: String::new(),
        }))
    }

    fn try_start(unbound: &Path, nsd: &Nsd, anchor: &Path) -> Result<Self, Error> {
        let dir = TempDir::new("dane-testenv-unbound")?;
        let port = free_port()?;
        let d = dir.0.display();
        let mut conf = format!(
            "server:\n  interface: 127.0.0.1@{port}\n  port: {port}\n  do-ip6: no\n  \
             username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  \
             use-syslog: no\n  logfile: \"{d}/unbound.log\"\n  verbosity: 1\n  num-threads: 1\n  \
             so-reuseport: no\n  do-not-query-localhost: no\n  qname-minimisation: no\n  \
             module-config: \"validator iterator\"\n  trust-anchor-file: \"{}\"\n  \
             val-log-level: 2\n  access-control: 127.0.0.0/8 allow\n  local-zone: \"test.\" nodefault\n\
             remote-control:\n  control-enable: no\n",
            anchor.display(),
        );
        // One stub zone per served zone: the fixtures' NS records point at 127.0.0.1 port 53,
        // so Unbound must never follow them; every zone's queries go to NSD's port.
        for zone in nsd.zones() {
            let _ = write!(
                conf,
                "stub-zone:\n  name: \"{zone}\"\n  stub-addr: 127.0.0.1@{}\n",
                nsd.port()
            );
        }
        let conf_path = dir.0.join("unbound.conf");
        std::fs::write(&conf_path, conf).map_err(io("writing unbound.conf"))?;
        let stderr_path = dir.0.join("stderr");
        let stderr = std::fs::File::create(&stderr_path).map_err(io("creating unbound stderr"))?;
        let mut child = Command::new(unbound)
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(io(format!("starting {}", unbound.display())))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let logs = [dir.0.join("unbound.log"), stderr_path];
        let ready = wait_ready("unbound", &mut child, addr, ".", &|| read_logs(&logs));
        let server = Server { child };
        ready?;
        Ok(Self {
            addr,
            _server: server,
            _dir: dir,
        })
    }

    /// The address Unbound listens on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port Unbound listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

/// delv's verdict from its output (BIND 9.18 wording): `secure`, `insecure`, `bogus` or
/// `indeterminate`. A CNAME chain prints one status per link; the weakest wins (a failure,
/// then an unsigned link, then fully validated).
pub fn delv_verdict(stdout: &str, stderr: &str) -> &'static str {
    let all = format!("{stdout}\n{stderr}");
    let failed = all
        .lines()
        .any(|l| l.contains("resolution failed") && !l.contains("ncache"));
    if failed {
        "bogus"
    } else if all.contains("unsigned answer") {
        "insecure"
    } else if all.contains("fully validated") {
        "secure"
    } else {
        "indeterminate"
    }
}

/// Runs `delv` against `nsd` with the private root's anchor (`anchors/bind.conf`) for one
/// question and returns its verdict (see [`delv_verdict`]).
pub fn delv(nsd: &Nsd, name: &str, rtype: &str) -> Result<&'static str, Error> {
    let delv = find_program("delv", "bind9-dnsutils")?;
    let out = Command::new(&delv)
        .arg("@127.0.0.1")
        .args(["-p", &nsd.port().to_string()])
        .arg("-a")
        .arg(fixtures_dir().join("anchors/bind.conf"))
        .arg("+root=.")
        .args([name, rtype])
        .output()
        .map_err(io(format!("running {}", delv.display())))?;
    Ok(delv_verdict(
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
    ))
}
