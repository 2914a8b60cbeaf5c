//! Authoritative servers that misbehave, started on demand inside the interop namespace
//! (issue 23, `dane verify` asking every authoritative server). Each is the second name
//! server of a zone built by `interop/rollover-zones.sh` (NSD at .53 is the first and
//! serves it correctly), so a run sees one good server and one bad one:
//!
//! | server | zone | address | behaviour |
//! |---|---|---|---|
//! | [`Interop::dnsdist_notimp`] | [`NOTIMP_ZONE`] | 127.0.0.17 | dnsdist forwarding every question to NSD, but NOTIMP to TLSA questions (hosted DNS front-ends seen doing so) |
//! | [`Interop::expired_server`] | [`EXPIRED_NS_ZONE`] | 127.0.0.18 | a second NSD serving a copy of the zone signed with the same keys, every signature expired a day ago |
//!
//! They are started on demand, not with the environment, so its start-up stays as it was;
//! the handle stops the process by its PID on drop (SIGTERM, then SIGKILL), and the
//! namespace's removal kills it in any case.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::Interop;
use crate::{Error, find_program, io, nsd_config, stop};

/// The zone whose second server is [`Interop::dnsdist_notimp`].
pub const NOTIMP_ZONE: &str = "notimp.test";
/// The zone whose second server is [`Interop::expired_server`].
pub const EXPIRED_NS_ZONE: &str = "expired-ns.test";
/// Where dnsdist listens (port 53).
pub const NOTIMP_ADDR: &str = "127.0.0.17";
/// Where the expired copy is served (port 53).
pub const EXPIRED_NS_ADDR: &str = "127.0.0.18";

/// A misbehaving server started on demand; stopped by its PID on drop.
#[derive(Debug)]
pub struct Misbehaving {
    child: Child,
    address: &'static str,
}

impl Misbehaving {
    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its address inside the namespace (port 53).
    pub fn address(&self) -> &'static str {
        self.address
    }
}

impl Drop for Misbehaving {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

impl Interop {
    /// Starts dnsdist at [`NOTIMP_ADDR`]: every question forwarded to NSD, TLSA questions
    /// answered NOTIMP; returns once it answers `NOTIMP_ZONE SOA` with NSD's authoritative
    /// answer.
    pub fn dnsdist_notimp(&self) -> Result<Misbehaving, Error> {
        let dnsdist = find_program("dnsdist", "dnsdist")?;
        let dir = self.dir.join("dnsdist");
        std::fs::create_dir_all(&dir).map_err(io("creating the dnsdist directory"))?;
        let conf = dir.join("dnsdist.conf");
        // No console, no carbon, no security polling: it talks to NSD only, which is up
        // (no health checks to wait for).
        let lua = format!(
            "setSecurityPollSuffix(\"\")\n\
             setLocal(\"{NOTIMP_ADDR}:53\")\n\
             newServer({{address=\"{}:53\"}}):setUp()\n\
             addAction(QTypeRule(DNSQType.TLSA), RCodeAction(DNSRCode.NOTIMP))\n",
            super::NSD_ADDRS[0]
        );
        std::fs::write(&conf, lua).map_err(io("writing dnsdist.conf"))?;
        let stderr_path = dir.join("dnsdist.stderr");
        let stderr =
            std::fs::File::create(&stderr_path).map_err(io("creating dnsdist's stderr"))?;
        let child = self
            .command(dnsdist)
            .args(["--supervised", "--disable-syslog", "-C"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(io("starting dnsdist"))?;
        let server = Misbehaving {
            child,
            address: NOTIMP_ADDR,
        };
        self.wait_answers(server, NOTIMP_ZONE, "dnsdist", &stderr_path)
    }

    /// Starts a second NSD at [`EXPIRED_NS_ADDR`] serving the copy of
    /// [`EXPIRED_NS_ZONE`] whose signatures expired (`zones-expired/`); returns once it
    /// answers authoritatively.
    pub fn expired_server(&self) -> Result<Misbehaving, Error> {
        let nsd = find_program("nsd", "nsd")?;
        let dir = self.dir.join("nsd-expired");
        std::fs::create_dir_all(&dir).map_err(io("creating the second nsd's directory"))?;
        let zone = self
            .dir
            .join("zones-expired")
            .join(format!("{EXPIRED_NS_ZONE}.zone"));
        let conf = dir.join("nsd.conf");
        let listen = [format!("{EXPIRED_NS_ADDR}@53")];
        std::fs::write(
            &conf,
            nsd_config(&dir, &listen, false, &[(EXPIRED_NS_ZONE.to_owned(), zone)]),
        )
        .map_err(io("writing the second nsd.conf"))?;
        let stderr_path = dir.join("nsd.stderr");
        let stderr =
            std::fs::File::create(&stderr_path).map_err(io("creating the second nsd's stderr"))?;
        let child = self
            .command(nsd)
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(io("starting the second nsd"))?;
        let server = Misbehaving {
            child,
            address: EXPIRED_NS_ADDR,
        };
        let log = dir.join("nsd.log");
        self.wait_answers(server, EXPIRED_NS_ZONE, "nsd (expired copy)", &log)
    }

    /// Waits (up to 20 s) until `server` answers `zone SOA` authoritatively (dig inside the
    /// namespace); stops it and says why when it does not.
    fn wait_answers(
        &self,
        mut server: Misbehaving,
        zone: &str,
        program: &'static str,
        log: &Path,
    ) -> Result<Misbehaving, Error> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(Error::Startup {
                    program,
                    reason: format!("exited with {status}"),
                    log: crate::read_logs(&[log.to_owned()]),
                });
            }
            let out = self
                .command("dig")
                .arg(format!("@{}", server.address))
                .args(["+norec", "+time=1", "+tries=1", zone, "SOA"])
                .output()
                .map_err(io("running dig"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("status: NOERROR") && text.contains(";; flags: qr aa") {
                return Ok(server);
            }
            if Instant::now() > deadline {
                stop(&mut server.child);
                return Err(Error::Startup {
                    program,
                    reason: format!("no authoritative answer to {zone} SOA within 20 s"),
                    log: crate::read_logs(&[log.to_owned()]),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
