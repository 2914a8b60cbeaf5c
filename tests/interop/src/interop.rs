//! The interop environment: a small real Internet inside a network namespace, for the
//! `dane verify` end-to-end tests and the differential tests against `posttls-finger`,
//! `delv` and `ldns-dane`.
//!
//! [`Interop::start`] creates a network namespace `dane-it-<pid>-<n>-<nonce>` (lo up, the
//! documentation addresses 192.0.2.0/24 and 2001:db8::/64 on its lo, nothing else; the
//! host's interfaces and `/etc/resolv.conf` are never touched) with
//! `/etc/netns/<name>/resolv.conf` pointing at the namespace's Unbound, then inside it:
//! - zones built now by `interop/build-zones.sh` (a private root, the TLD `test.`, one zone
//!   per scenario; signed by `ldns-signzone`, and `dnssec-signzone` for the NSEC3 zone
//!   `nsec3-notlsa.test`, with validity from a day ago to 30 days ahead; TLSA data from
//!   `fixtures/pki` by openssl pipelines; RSA/SHA-256, ECDSA P-256 and Ed25519 zones, NSEC
//!   and NSEC3),
//! - NSD at 192.0.2.53 and 2001:db8::53 port 53, authoritative for all of them (and at
//!   192.0.2.99, the lame server of `lame.test`),
//! - a validating Unbound at 127.0.0.1 and ::1 port 53 (root hints to NSD, the private
//!   root's DS as trust anchor),
//! - Postfix instances (each its own config and queue directory) on port 25, each with
//!   its own leaf and key from `fixtures/pki` (sent with the intermediate): `rsa`
//!   (leaf-rsa), `ec` (leaf-ec, P-256), `ed25519`, `p384`, `expired` (leaf-expired), all
//!   with STARTTLS, and `notls` without it; `dual` holds leaf-rsa and leaf-ec at once
//!   (`smtpd_tls_chain_files` with two key+chain pairs, issue 23: `dual-one.test` with the
//!   RSA key's `3 1 1` only, `dual-both.test` with both); nginx on 443 (leaf-rsa) for
//!   `https.test`, and with two certificates (RSA and ECDSA) for `www.https-dual.test`;
//! - for `dane rollover` (module `rollover`, [`Interop::rollover`]): `roll.test`, signed
//!   online by a Knot primary that takes TSIG-authenticated dynamic updates, a Knot
//!   secondary that transfers only when told to, and Postfix `roll` at its two MX hosts;
//! - on demand, resolvers that cannot feed a validator (module `forwarders`,
//!   [`Interop::broken_resolver`]): one that strips DNSSEC records, one that answers
//!   NXDOMAIN for everything, one that never answers, each stopped by PID when its handle
//!   drops.
//!
//! Every process is started with `ip netns exec` and recorded by PID; on drop each is
//! stopped by its PID (SIGTERM, SIGKILL after 5 s; Postfix by `postfix -c DIR stop`, which
//! signals the master's PID from its pid file, then SIGKILL to that PID if it is still
//! there after 5 s), then any process still in the namespace is killed by PID, and the
//! namespace and `/etc/netns/<name>` are removed. Namespaces with
//! this prefix left by a process that no longer exists (a crashed run) are removed the
//! same way at the next start.
//!
//! Anchor files: [`Interop::anchor_ds`] (a DS line: `dane --trust-anchor`, Unbound),
//! [`Interop::anchor_bind`] (`trust-anchors { }`: `delv -a`), [`Interop::anchor_dnskey`]
//! (a DNSKEY line: `ldns-dane -k`).
//!
//! # Scenarios
//!
//! One domain each, listed as data in `fixtures/interop/scenarios.tsv` ([`scenarios`]).
//! Expected verdicts (the `dane verify` vocabulary) and exit codes follow RFC 7672 (SMTP)
//! and RFC 7671 (HTTPS). Hosts are at 192.0.2.N and 2001:db8::N.
//!
//! | domain | setup | verdict | exit |
//! |---|---|---|---|
//! | `ee311.test` | `3 1 1` of leaf-rsa, rsa server | verified | 0 |
//! | `ta-good.test` | MX `mx1.example.test` (the leaf's name), `2 1 1` of the intermediate | verified | 0 |
//! | `ta-badname.test` | `2 1 1` of the intermediate, leaf name matches neither MX host nor domain | failed | 1 |
//! | `nomatch.test` | `3 1 1` of leaf-ec's key, server presents leaf-rsa | failed | 1 |
//! | `ee301.test` | `3 0 1` (RSA/SHA-256 zone) | verified | 0 |
//! | `ee312.test` | `3 1 2` of the Ed25519 leaf, ed25519 server (Ed25519 zone) | verified | 0 |
//! | `ee300.test` | `3 0 0`: the full P-384 leaf, p384 server | verified | 0 |
//! | `rollover.test` | `3 1 1` current + `3 1 1` of `next.csr`'s key | verified | 0 |
//! | `tlsa-expired.test` | TLSA RRSIG from a window that ended a day ago | failed | 1 |
//! | `tlsa-tampered.test` | TLSA RDATA changed after signing | failed | 1 |
//! | `insecure.test` | unsigned delegation, TLSA present | not-protected | 4 |
//! | `nsec3-notlsa.test` | signed (dnssec-signzone, NSEC3, RSA/SHA-256), no TLSA | not-protected | 4 |
//! | `nsec-notlsa.test` | signed (NSEC), no TLSA | not-protected | 4 |
//! | `cname-target.test` | MX host is a CNAME to `a.targets.test`; TLSA at the target | verified | 0 |
//! | `cname-orig.test` | MX host is a CNAME to `b.targets.test`; TLSA only at the original name | verified | 0 |
//! | `twomx.test` | `mx1` good, `mx2` TLSA matching nothing | partial | 1 |
//! | `split.test` | one host: IPv4 on rsa (good), IPv6 on ec (wrong certificate) | partial | 1 |
//! | `nostarttls.test` | usable `3 1 1`, server offers no STARTTLS | failed | 1 |
//! | `usage1.test` | only `1 1 1` and `0 1 1` (unusable for SMTP, RFC 7672 section 3.1.3) | unauthenticated-tls | 4 |
//! | `unsigned-host.test` | signed MX to `mx2.insecure.test` (unsigned), TLSA there | not-protected | 4 |
//! | `ecdsa.test` | `3 1 1` of leaf-ec, ec server | verified | 0 |
//! | `expired-leaf.test` | `3 1 1` of leaf-expired (DANE-EE ignores dates, RFC 7672 section 3.1.1) | verified | 0 |
//! | `https.test` | `www.https.test` nginx on 443, `_443._tcp` `3 1 1` (service https) | verified | 0 |
//! | `nullmx.test` | `MX 0 .` (RFC 7505) | nonexistent | 4 |
//! | `nxdomain.test` | not delegated: secure NXDOMAIN from `test.` | nonexistent | 4 |
//! | `lame.test` | delegated with a DS to a server that does not serve it: lookups SERVFAIL | indeterminate | 3 |
//!
//! # Reference tools
//!
//! [`Interop::posttls_finger`] runs `posttls-finger -t 30 -T 30 -l dane -P /etc/ssl/certs
//! -L routine,certmatch,verbose -o smtp_dns_support_level=dnssec` inside the namespace. It
//! keeps the SMTP chat (no `-c`) so that a server without STARTTLS is recognisable, and logs
//! `verbose` so that the DNSSEC-signed TLSA records it used are in the log;
//! [`posttls_finger_outcome`] reads that log. `delv` and `dig` ask the namespace's Unbound
//! (`@127.0.0.1`, with [`Interop::anchor_bind`] for delv); [`delv_verdict`] reads delv's.
//! Where posttls-finger differs by design from a verdict (it stops at the first host and
//! address that connect), `fixtures/interop/posttls-finger-exceptions.tsv` says so.
//!
//! Needs root (network namespaces, port 25): [`Interop::start`] fails with
//! [`Error::Environment`] saying so, and how to fix it, rather than letting a test pass.
//! Start-up takes about 3 s on 2 cores (zone signing dominates); tear-down about 2 s.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::{Error, find_program, io, nsd_config, read_table, stop, zone_files};

mod forwarders;
pub use forwarders::{BrokenResolver, TestResolver};
mod misbehaving;
pub use misbehaving::{EXPIRED_NS_ADDR, EXPIRED_NS_ZONE, Misbehaving, NOTIMP_ADDR, NOTIMP_ZONE};
mod rollover;
mod services;
pub use rollover::{
    ROLL_BLACKHOLE_ZONE, ROLL_MX, ROLL_NS_BOGUS_ZONE, ROLL_PRIMARY, ROLL_REFUSES_ZONE,
    ROLL_SECONDARY, ROLL_TSIG_NAME, ROLL_TTL, ROLL_WIDE_ZONE, ROLL_ZONE, Rollover,
};
pub use services::{SERVICES, SNI_MAIL, SNI_WWW, ServiceScenario, service_scenarios};

/// The netns name prefix: only namespaces with this prefix are ever removed.
const PREFIX: &str = "dane-it-";

/// NSD's addresses inside the namespace. At 192.0.2.99 it is also the "server" that
/// `lame.test` is delegated to, which it does not serve (REFUSED: the lookups SERVFAIL).
pub const NSD_ADDRS: [&str; 3] = ["192.0.2.53", "2001:db8::53", "192.0.2.99"];

/// The committed interop tables (`fixtures/interop`).
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/interop")
}

fn pki_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki")
}

/// One row of `fixtures/interop/scenarios.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The domain (`ee311.test`), relative to nothing: no trailing dot.
    pub domain: String,
    /// `smtp` (MX indirection, port 25, STARTTLS) or `https` (host `www.<domain>`, 443).
    pub service: String,
    /// `verified`, `failed`, `partial`, `unauthenticated-tls`, `not-protected`,
    /// `indeterminate` or `nonexistent`.
    pub expected_verdict: String,
    /// The `dane verify` exit code: 0, 1, 3 or 4.
    pub expected_exit: i32,
    /// What the scenario sets up.
    pub description: String,
}

/// The verdicts and the exit code each maps to (issue 5).
pub const VERDICT_EXIT: [(&str, i32); 7] = [
    ("verified", 0),
    ("failed", 1),
    ("partial", 1),
    ("unauthenticated-tls", 4),
    ("not-protected", 4),
    ("nonexistent", 4),
    ("indeterminate", 3),
];

/// Every scenario, in file order; rows are checked (known verdict, exit consistent with it,
/// known service).
pub fn scenarios() -> Result<Vec<Scenario>, Error> {
    let path = interop_dir().join("scenarios.tsv");
    let mut out = Vec::new();
    for row in read_table(&path, 5)? {
        let bad = |problem: String| Error::Io {
            what: format!("{} scenario {}", path.display(), row[0]),
            source: std::io::Error::other(problem),
        };
        let exit: i32 = row[3]
            .parse()
            .map_err(|_| bad(format!("exit {:?} is not a number", row[3])))?;
        match VERDICT_EXIT.iter().find(|(v, _)| *v == row[2]) {
            Some((_, e)) if *e == exit => {}
            Some((_, e)) => return Err(bad(format!("verdict {} exits {e}, not {exit}", row[2]))),
            None => return Err(bad(format!("unknown verdict {:?}", row[2]))),
        }
        if !["smtp", "https"].contains(&row[1].as_str()) || row[0].ends_with('.') {
            return Err(bad(format!("service {:?} or absolute domain", row[1])));
        }
        out.push(Scenario {
            domain: row[0].clone(),
            service: row[1].clone(),
            expected_verdict: row[2].clone(),
            expected_exit: exit,
            description: row[4].clone(),
        });
    }
    Ok(out)
}

/// The running environment; everything stops and the namespace goes on drop.
#[derive(Debug)]
pub struct Interop {
    netns: String,
    ip: PathBuf,
    dir: PathBuf,
    /// NSD, Unbound, nginx: started by `ip netns exec` (which execs, so the PID is the
    /// server's own).
    servers: Vec<(&'static str, Child)>,
    /// Postfix instances: their config directories and master PIDs.
    postfix: Vec<(PathBuf, u32)>,
    postfix_bin: PathBuf,
    netns_etc: PathBuf,
}

fn run(cmd: &mut Command, what: &str) -> Result<Output, Error> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("running {what}")))?;
    if !out.status.success() {
        return Err(Error::Environment {
            what: what.to_string(),
            reason: format!(
                "exited with {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            ),
        });
    }
    Ok(out)
}

/// The `(address, port)` rows of `listeners.tsv` (rows `NAME ADDRESS PORT`) for one Postfix
/// instance.
fn listener_addrs<'a>(listeners: &'a [Vec<String>], name: &str) -> Vec<(&'a str, &'a str)> {
    listeners
        .iter()
        .filter(|r| r[0] == name)
        .map(|r| (r[1].as_str(), r[2].as_str()))
        .collect()
}

/// Writes a Postfix configuration file dated an hour ago: Postfix waits (in 300 ms steps)
/// for a main.cf modified in the last seconds to settle, which costs every command 2 s.
fn write_settled(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(io(format!("writing {}", path.display())))?;
    let past = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(past))
        .map_err(io(format!("dating {}", path.display())))
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// SIGKILL to one PID (a process left in a namespace we created).
fn kill_pid(pid: u32) {
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The PIDs of the processes in namespace `name`.
fn netns_pids(ip: &Path, name: &str) -> Vec<u32> {
    Command::new(ip)
        .args(["netns", "pids", name])
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Removes a namespace of ours: kills what is left in it by PID, deletes it and its
/// `/etc/netns` directory.
fn remove_netns(ip: &Path, name: &str) {
    for pid in netns_pids(ip, name) {
        kill_pid(pid);
    }
    let _ = Command::new(ip)
        .args(["netns", "del", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(name));
}

/// Removes namespaces (and temp dirs) with our prefix whose creating process is gone.
fn remove_stale(ip: &Path) {
    let creator =
        |name: &str| -> Option<u32> { name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok() };
    if let Ok(out) = Command::new(ip).args(["netns", "list"]).output() {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if let Some(pid) = creator(name) {
                if !pid_alive(pid) {
                    remove_netns(ip, name);
                }
            }
        }
    }
    // /etc/netns directories whose namespace went first (a crash between the two steps).
    if let Ok(entries) = std::fs::read_dir("/etc/netns") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if creator(&name).is_some_and(|pid| !pid_alive(pid)) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if creator(&name).is_some_and(|pid| !pid_alive(pid)) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Postfix servers (name, (key, chain) pairs) from the fixture PKI; none for no STARTTLS.
/// `dual` holds two (issue 23): Postfix picks by the client's signature algorithms.
const POSTFIX_SERVERS: [(&str, &[(&str, &str)]); 7] = [
    ("rsa", &[("leaf-rsa.key", "chain-rsa.pem")]),
    ("ec", &[("leaf-ec.key", "chain-ec.pem")]),
    ("ed25519", &[("leaf-ed25519.key", "chain-ed25519.pem")]),
    ("p384", &[("leaf-p384.key", "chain-p384.pem")]),
    ("expired", &[("leaf-expired.key", "chain-expired.pem")]),
    (
        "dual",
        &[
            ("leaf-rsa.key", "chain-rsa.pem"),
            ("leaf-ec.key", "chain-ec.pem"),
        ],
    ),
    ("notls", &[]),
];

/// The services a Postfix instance needs to answer EHLO/STARTTLS (no delivery happens).
const MASTER_CF: &str = "\
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
proxymap unix - - n - - proxymap
error unix - - n - - error
retry unix - - n - - error
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
";

impl Interop {
    /// Builds and starts everything; returns once every server answers.
    pub fn start() -> Result<Self, Error> {
        Self::start_bulk(0)
    }

    /// As [`Interop::start`], plus `bulk` more signed domains `bulk1.test` ..
    /// (each with an MX host and a matching `3 1 1` record, all sharing the rsa and ec
    /// servers), for benchmarks over many domains; [`Interop::bulk_domains`] lists them.
    /// Signing costs about 0.02 s per domain.
    pub fn start_bulk(bulk: usize) -> Result<Self, Error> {
        Self::start_survey(bulk, 0)
    }

    /// As [`Interop::start_bulk`], plus `shared` signed domains `shared1.test` .. whose MX
    /// hosts are the same four, `mx1.provider.test` .. `mx4.provider.test` (a hosting
    /// provider: mx1 and mx2 on the rsa server, mx3 and mx4 on the ec server, each with a
    /// matching `3 1 1` record); [`Interop::shared_domains`] lists them. For the run-wide
    /// probe cache (issue 27): connections to the servers are counted in
    /// [`Interop::postfix_maillog`].
    pub fn start_survey(bulk: usize, shared: usize) -> Result<Self, Error> {
        let ip = find_program("ip", "iproute2")?;
        let postfix_bin = find_program("postfix", "postfix")?;
        for (program, package) in [
            ("nsd", "nsd"),
            ("unbound", "unbound"),
            ("posttls-finger", "postfix"),
            ("nginx", "nginx-light"),
            ("ldns-signzone", "ldnsutils"),
            ("dnssec-signzone", "bind9-utils"),
            ("dig", "bind9-dnsutils"),
            ("openssl", "openssl"),
            ("knotd", "knot"),
            ("keymgr", "knot"),
            ("knotc", "knot"),
            ("nsupdate", "bind9-dnsutils"),
        ] {
            find_program(program, package)?;
        }
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(io("running id -u"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err(Error::Environment {
                what: "the interop environment".into(),
                reason: "needs root (network namespaces, port 25): run the tests as root, \
                         e.g. `sudo -E cargo test -p dane-testenv` (CI runs as root)"
                    .into(),
            });
        }
        remove_stale(&ip);
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() % 1_000_000)
            .unwrap_or(0);
        let netns = format!(
            "{PREFIX}{}-{}-{nonce}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(&netns);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        run(
            Command::new(&ip).args(["netns", "add", &netns]),
            "ip netns add",
        )
        .inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })?;
        let mut env = Self {
            netns_etc: Path::new("/etc/netns").join(&netns),
            netns,
            ip,
            dir,
            servers: Vec::new(),
            postfix: Vec::new(),
            postfix_bin,
        };
        // From here on, a failure drops `env`, which stops whatever started.
        env.build(bulk, shared)?;
        Ok(env)
    }

    fn build(&mut self, bulk: usize, shared: usize) -> Result<(), Error> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/build-zones.sh");
        run(
            Command::new("bash")
                .arg(&script)
                .arg(&self.dir)
                .arg(pki_dir())
                .arg(bulk.to_string())
                .arg(shared.to_string())
                .current_dir(&self.dir),
            "interop/build-zones.sh",
        )?;
        let client = self.dir.join("client");
        std::fs::create_dir_all(&client).map_err(io("creating the posttls-finger config"))?;
        write_settled(
            &client.join("main.cf"),
            "compatibility_level = 3.6\nsmtp_dns_support_level = dnssec\n",
        )?;
        self.network()?;
        self.start_nsd()?;
        self.start_unbound()?;
        let listeners = read_table(&self.dir.join("listeners.tsv"), 3)?;
        // The instances start concurrently: `postfix start` spends seconds in its own
        // integrity checks before the master runs.
        let mut starting = Vec::new();
        for (name, tls) in POSTFIX_SERVERS {
            let addrs = listener_addrs(&listeners, name);
            if !addrs.is_empty() {
                let base = self.configure_postfix_chains(name, tls, &addrs)?;
                let child = self.spawn_postfix_start(name, &base)?;
                starting.push((base, child));
            }
        }
        // The rollover zone's Knot primary and secondary, and Postfix `roll` (rollover.rs).
        let rollover = self.start_rollover(&listeners);
        // Dovecot and Prosody start while Postfix does; every listener is waited for below.
        self.start_services(&listeners)?;
        let mut first_error = None;
        match rollover {
            Ok(started) => starting.push(started),
            Err(e) => first_error = Some(e),
        }
        for (base, mut child) in starting {
            let status = child.wait().map_err(io("waiting for postfix start"))?;
            if let Err(e) = self.record_postfix(&base, status) {
                first_error.get_or_insert(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let https: Vec<&str> = listeners
            .iter()
            .filter(|r| r[0] == "nginx")
            .map(|r| r[1].as_str())
            .collect();
        self.start_nginx(&https)?;
        self.wait_listeners(&listeners)
    }

    /// lo up with every address, and the namespace's resolv.conf.
    fn network(&self) -> Result<(), Error> {
        let addrs = std::fs::read_to_string(self.dir.join("addresses.txt"))
            .map_err(io("reading addresses.txt"))?;
        let mut batch = String::from("link set lo up\n");
        for a in addrs.lines().filter(|l| !l.is_empty()) {
            if a.contains(':') {
                batch.push_str(&format!("addr add {a}/128 dev lo nodad\n"));
            } else {
                batch.push_str(&format!("addr add {a}/32 dev lo\n"));
            }
        }
        let path = self.dir.join("ip.batch");
        std::fs::write(&path, batch).map_err(io("writing ip.batch"))?;
        run(
            Command::new(&self.ip)
                .args(["-n", &self.netns, "-batch"])
                .arg(&path),
            "ip -n NETNS -batch (addresses)",
        )?;
        std::fs::create_dir_all(&self.netns_etc)
            .map_err(io(format!("creating {}", self.netns_etc.display())))?;
        std::fs::write(
            self.netns_etc.join("resolv.conf"),
            "# dane interop: the namespace's validating Unbound\nnameserver 127.0.0.1\noptions trust-ad edns0\n",
        )
        .map_err(io("writing the namespace's resolv.conf"))
    }

    fn spawn(&mut self, name: &'static str, program: &Path, args: &[&OsStr]) -> Result<(), Error> {
        let stderr_path = self.dir.join(format!("{name}.stderr"));
        let stderr =
            std::fs::File::create(&stderr_path).map_err(io(format!("creating {name} stderr")))?;
        let child = Command::new(&self.ip)
            .args(["netns", "exec", &self.netns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(io(format!("starting {}", program.display())))?;
        self.servers.push((name, child));
        Ok(())
    }

    /// Fails with the server's logs if it exited.
    fn check_alive(&mut self, name: &'static str, logs: &[PathBuf]) -> Result<(), Error> {
        if let Some((_, child)) = self.servers.iter_mut().find(|(n, _)| *n == name) {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(Error::Startup {
                    program: name,
                    reason: format!("exited with {status}"),
                    log: crate::read_logs(logs),
                });
            }
        }
        Ok(())
    }

    /// Waits (up to 20 s) until one of `logs` contains `needle` (a server's "started"
    /// line, written once its sockets are bound), failing early if the server exits.
    fn wait_log(
        &mut self,
        name: &'static str,
        logs: &[PathBuf],
        needle: &str,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !crate::read_logs(logs).contains(needle) {
            self.check_alive(name, logs)?;
            if Instant::now() > deadline {
                return Err(Error::Startup {
                    program: name,
                    reason: format!("no {needle:?} in its log within 20 s"),
                    log: crate::read_logs(logs),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn start_nsd(&mut self) -> Result<(), Error> {
        let nsd = find_program("nsd", "nsd")?;
        let zones = zone_files(&self.dir.join("zones"))?;
        let nsd_dir = self.dir.join("nsd");
        std::fs::create_dir_all(&nsd_dir).map_err(io("creating the nsd directory"))?;
        let listen: Vec<String> = NSD_ADDRS.iter().map(|a| format!("{a}@53")).collect();
        let conf = nsd_dir.join("nsd.conf");
        std::fs::write(&conf, nsd_config(&nsd_dir, &listen, true, &zones))
            .map_err(io("writing nsd.conf"))?;
        self.spawn(
            "nsd",
            &nsd,
            &["-d".as_ref(), "-c".as_ref(), conf.as_os_str()],
        )?;
        let logs = [nsd_dir.join("nsd.log"), self.dir.join("nsd.stderr")];
        self.wait_log("nsd", &logs, "nsd started")?;
        // Every zone must be served authoritatively (NSD logs and skips a zone it cannot load).
        let mut args = vec![
            "@192.0.2.53".to_string(),
            "+norec".into(),
            "+time=1".into(),
            "+tries=1".into(),
        ];
        for (name, _) in &zones {
            args.extend([name.clone(), "SOA".into()]);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.check_alive("nsd", &logs)?;
            let out = self
                .command("dig")
                .args(&args)
                .output()
                .map_err(io("running dig"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let ok = text.matches("status: NOERROR").count();
            let aa = text
                .lines()
                .filter(|l| l.contains(";; flags: qr aa"))
                .count();
            if ok == zones.len() && aa == zones.len() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Startup {
                    program: "nsd",
                    reason: format!(
                        "{ok} of {} zones served authoritatively after 20 s",
                        zones.len()
                    ),
                    log: crate::read_logs(&logs),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn start_unbound(&mut self) -> Result<(), Error> {
        let unbound = find_program("unbound", "unbound")?;
        let udir = self.dir.join("unbound");
        std::fs::create_dir_all(&udir).map_err(io("creating the unbound directory"))?;
        let d = udir.display();
        let conf = format!(
            "server:\n  interface: 127.0.0.1@53\n  interface: ::1@53\n  do-ip6: yes\n  \
             username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  \
             use-syslog: no\n  logfile: \"{d}/unbound.log\"\n  verbosity: 1\n  num-threads: 1\n  \
             so-reuseport: no\n  qname-minimisation: no\n  module-config: \"validator iterator\"\n  \
             root-hints: \"{}\"\n  trust-anchor-file: \"{}\"\n  val-log-level: 2\n  \
             access-control: 127.0.0.0/8 allow\n  access-control: ::1/128 allow\n  \
             access-control: 192.0.2.0/24 allow\n  access-control: 2001:db8::/64 allow\n  \
             local-zone: \"test.\" nodefault\n\
             remote-control:\n  control-enable: no\n",
            self.dir.join("root.hints").display(),
            self.anchor_ds().display(),
        );
        let conf_path = udir.join("unbound.conf");
        std::fs::write(&conf_path, conf).map_err(io("writing unbound.conf"))?;
        self.spawn(
            "unbound",
            &unbound,
            &["-d".as_ref(), "-c".as_ref(), conf_path.as_os_str()],
        )?;
        let logs = [udir.join("unbound.log"), self.dir.join("unbound.stderr")];
        self.wait_log("unbound", &logs, "start of service")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.check_alive("unbound", &logs)?;
            // Ready when the root's SOA validates (AD set): the anchor and NSD both work.
            let out = self
                .command("dig")
                .args(["@127.0.0.1", "+dnssec", "+time=1", "+tries=1", ".", "SOA"])
                .output()
                .map_err(io("running dig"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("status: NOERROR")
                && text
                    .lines()
                    .any(|l| l.starts_with(";; flags:") && l.contains(" ad"))
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Startup {
                    program: "unbound",
                    reason: format!("the root SOA did not validate within 20 s: {text}"),
                    log: crate::read_logs(&logs),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Writes one instance's main.cf and master.cf; returns its base directory.
    fn configure_postfix(
        &self,
        name: &str,
        tls: Option<(&str, &str)>,
        addrs: &[(&str, &str)],
    ) -> Result<PathBuf, Error> {
        self.configure_postfix_chains(name, tls.as_slice(), addrs)
    }

    /// [`Interop::configure_postfix`] with any number of (key, chain) pairs (relative to
    /// the fixture PKI, or absolute): `smtpd_tls_chain_files` lists each key before its
    /// chain; none means no STARTTLS.
    fn configure_postfix_chains(
        &self,
        name: &str,
        tls: &[(&str, &str)],
        addrs: &[(&str, &str)],
    ) -> Result<PathBuf, Error> {
        let base = self.dir.join(format!("postfix-{name}"));
        let (conf, queue, data) = (base.join("conf"), base.join("queue"), base.join("data"));
        for d in [&conf, &queue, &data] {
            std::fs::create_dir_all(d).map_err(io(format!("creating {}", d.display())))?;
        }
        // Postfix's master creates its lock in data_directory as the mail owner.
        run(
            Command::new("chown").arg("postfix").arg(&data),
            "chown postfix (data_directory)",
        )?;
        let files: Vec<String> = tls
            .iter()
            .flat_map(|(key, chain)| [key, chain])
            .map(|f| pki_dir().join(f).display().to_string())
            .collect();
        let tls_lines = if files.is_empty() {
            "smtpd_tls_security_level = none\n".to_owned()
        } else {
            format!(
                "smtpd_tls_security_level = may\nsmtpd_tls_chain_files = {}\nsmtpd_tls_loglevel = 1\n",
                files.join(", ")
            )
        };
        let main = format!(
            "compatibility_level = 3.6\nqueue_directory = {}\ndata_directory = {}\n\
             mail_owner = postfix\nsetgid_group = postdrop\nmyhostname = {name}.servers.test\n\
             mydestination =\ninet_interfaces = all\ninet_protocols = all\n\
             maillog_file_prefixes = {}\nmaillog_file = {}/maillog\nsmtpd_peername_lookup = no\n\
             smtpd_banner = $myhostname ESMTP dane interop ({name})\n{tls_lines}{}",
            queue.display(),
            data.display(),
            base.display(),
            base.display(),
            services::postfix_extra(self, name, &base)?,
        );
        write_settled(&conf.join("main.cf"), &main)?;
        let mut master = String::new();
        for (addr, port) in addrs {
            master.push_str(&services::postfix_master_line(addr, port));
        }
        master.push_str(MASTER_CF);
        write_settled(&conf.join("master.cf"), &master)?;
        Ok(base)
    }

    /// Runs `postfix -c BASE/conf start` for instance `name` inside the namespace, without
    /// waiting: it returns once the master runs (or fails); then [`Interop::record_postfix`].
    fn spawn_postfix_start(&self, name: &str, base: &Path) -> Result<Child, Error> {
        self.command(&self.postfix_bin)
            .arg("-c")
            .arg(base.join("conf"))
            .arg("start")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io(format!("running postfix start ({name})")))
    }

    /// Records the master PID of a started instance, or fails with its log.
    fn record_postfix(
        &mut self,
        base: &Path,
        started: std::process::ExitStatus,
    ) -> Result<(), Error> {
        let (conf, queue) = (base.join("conf"), base.join("queue"));
        let pid_file = queue.join("pid/master.pid");
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        // Recorded before checking, so drop stops a master that started but reported failure.
        if let Some(pid) = pid {
            self.postfix.push((conf.clone(), pid));
        }
        if !started.success() || pid.is_none() {
            return Err(Error::Startup {
                program: "postfix",
                reason: format!(
                    "`postfix -c {} start` exited with {started}",
                    conf.display(),
                ),
                log: crate::read_logs(&[base.join("maillog")]),
            });
        }
        Ok(())
    }

    fn start_nginx(&mut self, addrs: &[&str]) -> Result<(), Error> {
        let nginx = find_program("nginx", "nginx-light")?;
        let ndir = self.dir.join("nginx");
        std::fs::create_dir_all(&ndir).map_err(io("creating the nginx directory"))?;
        let d = ndir.display();
        let mut listen = String::new();
        for a in addrs {
            let a = if a.contains(':') {
                format!("[{a}]")
            } else {
                a.to_string()
            };
            listen.push_str(&format!("    listen {a}:443 ssl;\n"));
        }
        let conf = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             server {{\n{listen}    server_name www.https.test;\n    ssl_certificate {};\n    \
             ssl_certificate_key {};\n    location / {{ return 200 \"dane interop\\n\"; }}\n  }}\n  \
             server {{\n{listen}    server_name {SNI_WWW};\n    ssl_certificate {};\n    \
             ssl_certificate_key {};\n    location / {{ return 200 \"dane interop (SNI)\\n\"; }}\n  }}\n  \
             server {{\n{listen}    server_name www.https-dual.test;\n    ssl_certificate {};\n    \
             ssl_certificate_key {};\n    ssl_certificate {};\n    ssl_certificate_key {};\n    \
             location / {{ return 200 \"dane interop (two certificates)\\n\"; }}\n  }}\n}}\n",
            pki_dir().join("chain-rsa.pem").display(),
            pki_dir().join("leaf-rsa.key").display(),
            pki_dir().join("chain-ec.pem").display(),
            pki_dir().join("leaf-ec.key").display(),
            pki_dir().join("chain-rsa.pem").display(),
            pki_dir().join("leaf-rsa.key").display(),
            pki_dir().join("chain-ec.pem").display(),
            pki_dir().join("leaf-ec.key").display(),
        );
        let conf_path = ndir.join("nginx.conf");
        std::fs::write(&conf_path, conf).map_err(io("writing nginx.conf"))?;
        let err = ndir.join("error.log");
        self.spawn(
            "nginx",
            &nginx,
            &[
                "-p".as_ref(),
                ndir.as_os_str(),
                "-e".as_ref(),
                err.as_os_str(),
                "-c".as_ref(),
                conf_path.as_os_str(),
            ],
        )
    }

    /// Waits until every listener (SERVER, ADDRESS, PORT rows) accepts a TCP connection
    /// inside the namespace: one bash (/dev/tcp) tries them in turn for up to 20 s and
    /// prints the first one that never answered.
    fn wait_listeners(&mut self, listeners: &[Vec<String>]) -> Result<(), Error> {
        let mut script = String::from("deadline=$((SECONDS + 20))\n");
        for row in listeners {
            let (server, addr, port) = (&row[0], &row[1], &row[2]);
            script.push_str(&format!(
                "until : 2>/dev/null 3<>/dev/tcp/{addr}/{port}; do\n  \
                 [ $SECONDS -lt $deadline ] || {{ echo '{server} {addr} {port}'; exit 1; }}\n  \
                 sleep 0.05\ndone\n"
            ));
        }
        let out = self
            .command("bash")
            .args(["-c", &script])
            .output()
            .map_err(io("running bash"))?;
        if out.status.success() {
            return Ok(());
        }
        let logs = [
            self.dir.join("nginx/error.log"),
            self.dir.join("nginx.stderr"),
        ];
        self.check_alive("nginx", &logs)?;
        let service_logs = self.service_logs();
        for name in ["dovecot", "dovecot-notls", "prosody", "prosody-notls"] {
            self.check_alive(name, &service_logs)?;
        }
        let missing = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let server = missing.split(' ').next().unwrap_or("");
        Err(Error::Startup {
            program: "postfix/nginx/dovecot/prosody",
            reason: format!("not listening after 20 s (server, address, port): {missing}"),
            log: crate::read_logs(&[
                self.dir.join(format!("postfix-{server}/maillog")),
                self.dir.join("nginx/error.log"),
                self.dir.join(format!("{server}/{server}.log")),
                self.dir.join(format!("{server}.stderr")),
            ]),
        })
    }

    /// A command that runs `program` inside the namespace (`ip netns exec NAME program`),
    /// where the resolver is the namespace's Unbound.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(&self.ip);
        cmd.args(["netns", "exec", &self.netns]).arg(program);
        cmd
    }

    /// `posttls-finger` with DANE inside the namespace: level `dane`, DNSSEC lookups through
    /// the namespace's resolver, TLS logging `routine,certmatch,verbose` (so the TLSA
    /// records used are logged), SMTP chat kept (so a missing STARTTLS shows), timeouts
    /// 30 s. Add the destination (and `-a ipv4|ipv6`); read the result with
    /// [`posttls_finger_outcome`].
    pub fn posttls_finger(&self) -> Result<Command, Error> {
        let pf = find_program("posttls-finger", "postfix")?;
        let conf = self.posttls_finger_config();
        let mut cmd = self.command(pf);
        cmd.env("MAIL_CONFIG", &conf).args([
            "-t",
            "30",
            "-T",
            "30",
            "-l",
            "dane",
            "-P",
            "/etc/ssl/certs",
            "-L",
            "routine,certmatch,verbose",
            "-o",
            "smtp_dns_support_level=dnssec",
        ]);
        Ok(cmd)
    }

    /// Runs [`Interop::posttls_finger`] with `args` (the destination, and `-a ipv4|ipv6`);
    /// its log, stdout then stderr, for [`posttls_finger_outcome`].
    pub fn posttls_finger_log(&self, args: &[&str]) -> Result<String, Error> {
        let out = self
            .posttls_finger()?
            .args(args)
            .output()
            .map_err(io("running posttls-finger"))?;
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// The bulk domains (`bulk1.test` ...) of [`Interop::start_bulk`], in order; empty
    /// after [`Interop::start`].
    pub fn bulk_domains(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("bulk.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The shared-provider domains (`shared1.test` ...) of [`Interop::start_survey`], in
    /// order; empty otherwise.
    pub fn shared_domains(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("shared.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The mail log of the Postfix instance `server` (`rsa`, `ec`, ...): one
    /// `postfix/smtpd[PID]: connect from ...` line per connection it accepted.
    pub fn postfix_maillog(&self, server: &str) -> PathBuf {
        self.dir.join(format!("postfix-{server}/maillog"))
    }

    /// The configuration directory for `posttls-finger` (set `MAIL_CONFIG` to it; Postfix
    /// programs need a main.cf, and the system may have none).
    pub fn posttls_finger_config(&self) -> PathBuf {
        self.dir.join("client")
    }

    /// The namespace's name.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The validating resolver's address inside the namespace (port 53).
    pub fn resolver(&self) -> &'static str {
        "127.0.0.1"
    }

    /// Root hints for the private root (`. NS ns.test.` at NSD's address): `dane --iterate
    /// --root-hints`, as Unbound uses them.
    pub fn root_hints(&self) -> PathBuf {
        self.dir.join("root.hints")
    }

    /// The private root's KSK as a DS line (zone-file syntax; `dane --trust-anchor`).
    pub fn anchor_ds(&self) -> PathBuf {
        self.dir.join("anchors/root.ds")
    }

    /// The same key as a DNSKEY line (`ldns-dane -k`).
    pub fn anchor_dnskey(&self) -> PathBuf {
        self.dir.join("anchors/root.dnskey")
    }

    /// The same DS in BIND's `trust-anchors { }` syntax (`delv -a`).
    pub fn anchor_bind(&self) -> PathBuf {
        self.dir.join("anchors/bind.conf")
    }

    /// The signed zones being served.
    pub fn zone_dir(&self) -> PathBuf {
        self.dir.join("zones")
    }

    /// The zones' signing keys as `ldns-keygen` wrote them: `keys/ZONE/KZONE.+ALG+TAG.key`
    /// and `.private`, the KSK's DNSKEY with flags 257 (its DS is in the parent), the ZSK's
    /// 256; for a test that re-signs a zone while it runs.
    pub fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }

    /// Makes NSD read again the zone files that changed (SIGHUP to its PID; NSD 4 reloads
    /// changed zone files on it) and waits (up to 20 s) until it serves `zone` with SOA
    /// serial `serial`.
    pub fn reload_nsd(&self, zone: &str, serial: u32) -> Result<(), Error> {
        let (_, nsd) = self
            .servers
            .iter()
            .find(|(n, _)| *n == "nsd")
            .ok_or_else(|| Error::Environment {
                what: "reload_nsd".into(),
                reason: "NSD is not running".into(),
            })?;
        run(
            Command::new("kill").arg("-HUP").arg(nsd.id().to_string()),
            "kill -HUP nsd",
        )?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self
                .command("dig")
                .args(["@192.0.2.53", "+norec", "+short", "+time=1", "+tries=1"])
                .args([zone, "SOA"])
                .output()
                .map_err(io("running dig"))?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.split_whitespace().nth(2) == Some(serial.to_string().as_str()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Startup {
                    program: "nsd",
                    reason: format!("{zone} not at serial {serial} 20 s after SIGHUP: {text:?}"),
                    log: crate::read_logs(&[self.dir.join("nsd/nsd.log")]),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the namespace's Unbound (SIGTERM to its PID, SIGKILL after 5 s): the resolver
    /// goes away; [`Interop::restart_unbound`] brings it back, with an empty cache.
    pub fn stop_unbound(&mut self) {
        if let Some(i) = self.servers.iter().position(|(n, _)| *n == "unbound") {
            let (_, mut child) = self.servers.remove(i);
            stop(&mut child);
        }
    }

    /// Starts Unbound again after [`Interop::stop_unbound`], with the same configuration;
    /// returns once it validates the root's SOA.
    pub fn restart_unbound(&mut self) -> Result<(), Error> {
        self.stop_unbound();
        self.start_unbound()
    }

    /// The PIDs of every server started (NSD, Unbound, nginx, Dovecot, Prosody, the two
    /// Knot servers, each Postfix master).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.servers.iter().map(|(_, c)| c.id()).collect();
        pids.extend(self.postfix.iter().map(|(_, pid)| *pid));
        pids
    }
}

/// What one `posttls-finger` run (from [`Interop::posttls_finger`]) concluded, from its
/// log (Postfix 3.7 wording):
/// - `verified`: "Verified TLS connection established" (a TLSA record matched),
/// - `dane-untrusted`: DNSSEC-signed TLSA records were used and did not authenticate the
///   server ("Untrusted TLS connection established"),
/// - `tlsa-unusable`: only unusable TLSA records (usages 0/1 for SMTP), so no DANE,
/// - `no-dane`: TLS without any TLSA record (insecure, or secure denial of TLSA),
/// - `tlsa-error`: the TLSA lookup failed (bogus or SERVFAIL): no connection attempted,
/// - `no-starttls`: connected, but the EHLO reply has no STARTTLS,
/// - `no-destination`: null MX, NXDOMAIN or no address,
/// - `unknown`: anything else.
pub fn posttls_finger_outcome(log: &str) -> &'static str {
    let ehlo_starttls = log
        .lines()
        .any(|l| l.contains("< 250") && l.contains("STARTTLS"));
    if log.contains("Verified TLS connection established") {
        "verified"
    } else if log.contains("TLSA lookup error") {
        "tlsa-error"
    } else if log.contains("Destination address lookup failed") {
        "no-destination"
    } else if log.contains("Untrusted TLS connection established")
        || log.contains("Trusted TLS connection established")
    {
        if log.contains("DNSSEC-signed TLSA record") {
            "dane-untrusted"
        } else if log.contains("unsupported TLSA certificate usage") {
            "tlsa-unusable"
        } else {
            "no-dane"
        }
    } else if log.contains("Connected to") && log.contains("< 250 ") && !ehlo_starttls {
        "no-starttls"
    } else {
        "unknown"
    }
}

/// The `posttls-finger` outcomes that agree with a `dane verify` verdict for one delivery
/// attempt (RFC 7672 section 2: a verified destination delivers; a DANE failure defers).
pub fn posttls_finger_agrees(verdict: &str) -> &'static [&'static str] {
    match verdict {
        "verified" => &["verified"],
        "failed" => &["dane-untrusted", "tlsa-error", "no-starttls"],
        // Some endpoint fails: the client that reaches a failing one defers.
        "partial" => &["dane-untrusted"],
        "unauthenticated-tls" => &["tlsa-unusable"],
        "not-protected" => &["no-dane"],
        "nonexistent" => &["no-destination"],
        "indeterminate" => &["tlsa-error", "no-destination"],
        _ => &[],
    }
}

/// delv's verdict from its output (the same reading as the fixture tests use).
pub use crate::delv_verdict;

impl Drop for Interop {
    fn drop(&mut self) {
        // `postfix stop` signals the master by the PID in its pid file; all at once.
        let stopping: Vec<_> = self
            .postfix
            .iter()
            .filter_map(|(conf, _)| {
                self.command(&self.postfix_bin)
                    .arg("-c")
                    .arg(conf)
                    .arg("stop")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .ok()
            })
            .collect();
        for mut child in stopping {
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for (_, pid) in &self.postfix {
            while pid_alive(*pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if pid_alive(*pid) {
                kill_pid(*pid);
            }
        }
        for (_, child) in self.servers.iter_mut().rev() {
            stop(child);
        }
        remove_netns(&self.ip, &self.netns);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_table_is_well_formed() {
        let all = scenarios().unwrap();
        assert!(all.len() >= 25, "{}", all.len());
        let mut domains: Vec<&str> = all.iter().map(|s| s.domain.as_str()).collect();
        domains.sort();
        domains.dedup();
        assert_eq!(domains.len(), all.len(), "duplicate domain");
        for (v, _) in VERDICT_EXIT {
            assert!(
                all.iter().any(|s| s.expected_verdict == v),
                "no {v} scenario"
            );
        }
        assert!(all.iter().any(|s| s.service == "https"));
    }

    #[test]
    fn posttls_finger_logs_classified() {
        let v = "posttls-finger: Verified TLS connection established to mx.a.test[192.0.2.1]:25";
        assert_eq!(posttls_finger_outcome(v), "verified");
        let d = "posttls-finger: DNSSEC-signed TLSA record: _25._tcp.mx: 3 1 1 AA\n\
                 posttls-finger: Untrusted TLS connection established to mx";
        assert_eq!(posttls_finger_outcome(d), "dane-untrusted");
        let n = "posttls-finger: Untrusted TLS connection established to mx";
        assert_eq!(posttls_finger_outcome(n), "no-dane");
        let u = "warning: _25._tcp.mx unsupported TLSA certificate usage: 1 1 1 AA\n\
                 Untrusted TLS connection established";
        assert_eq!(posttls_finger_outcome(u), "tlsa-unusable");
        let e = "Failed to establish session to a.test via mx.a.test: TLSA lookup error for mx";
        assert_eq!(posttls_finger_outcome(e), "tlsa-error");
        let s = "posttls-finger: Connected to mx[192.0.2.1]:25\nposttls-finger: < 250-PIPELINING\n\
                 posttls-finger: < 250 CHUNKING\n";
        assert_eq!(posttls_finger_outcome(s), "no-starttls");
        let t = format!("{s}posttls-finger: < 250-STARTTLS\n");
        assert_eq!(posttls_finger_outcome(&t), "unknown");
        let x = "Destination address lookup failed: Domain n.test does not accept mail (nullMX)";
        assert_eq!(posttls_finger_outcome(x), "no-destination");
        assert_eq!(posttls_finger_outcome(""), "unknown");
        for (verdict, _) in VERDICT_EXIT {
            assert!(!posttls_finger_agrees(verdict).is_empty(), "{verdict}");
        }
        assert!(posttls_finger_agrees("nonsense").is_empty());
    }

    #[test]
    fn delv_output_parsing() {
        assert_eq!(
            delv_verdict("; fully validated\nx. A 1.2.3.4\n", ""),
            "secure"
        );
        assert_eq!(
            delv_verdict(
                "; negative response, fully validated\n",
                ";; resolution failed: ncache nxdomain\n"
            ),
            "secure"
        );
        assert_eq!(
            delv_verdict("; fully validated\n; unsigned answer\n", ""),
            "insecure"
        );
        assert_eq!(delv_verdict("", ";; resolution failed: failure\n"), "bogus");
        assert_eq!(delv_verdict("", ""), "indeterminate");
    }
}
