//! The interop environment's rollover servers (issue 14, `dane rollover`): a zone whose
//! TLSA records change while the test runs, as they do in a key rollover.
//!
//! - `roll.test` (built by `interop/rollover-zones.sh`, delegated from `test.` with the DS
//!   of its key, so it validates from the private root), MX `mx1.roll.test` (10) and
//!   `mx2.roll.test` (20), each with `3 1 1` of the current key, TTL 300 everywhere; and
//!   `_submission._tcp SRV 0 1 25 smtp.roll.test.` whose target is a CNAME to mx2.
//! - A Knot DNS primary at [`ROLL_PRIMARY`] (`ns1.roll.test`) that signs online
//!   (`dnssec-signing: on`, one ECDSA P-256 CSK that `keymgr` made before the parent was
//!   signed) and takes RFC 2136 updates authenticated by the TSIG key [`Rollover::tsig_key`]
//!   (BIND `tsig-keygen` format, HMAC-SHA256); [`Rollover::tsig_key_wrong`] has the same
//!   name and another secret, which it refuses (NOTAUTH, BADSIG). Signatures are from 90
//!   minutes ago to 30 days ahead (Knot's inception offset, `rrsig-lifetime: 30d`).
//! - A Knot secondary at [`ROLL_SECONDARY`] (`ns2.roll.test`) that lags: the primary sends
//!   no NOTIFY and the SOA refresh is 2 hours, so after an update the two servers differ
//!   until [`Rollover::transfer`] (`knotc zone-refresh`, blocking) copies the zone.
//! - Postfix `roll` on port 25 at both MX hosts (192.0.2.83 and .84, 2001:db8::83 and ::84)
//!   presenting [`Rollover::current_key`] with a self-signed certificate, until
//!   [`Rollover::use_key`] switches it to another key (`postfix reload`) and waits until
//!   every address presents it.
//!
//! Why Knot and not BIND with a `dnssec-policy`: Knot signs a zone file it is given with
//! keys imported beforehand (`keymgr`), so the DS is known before `test.` is signed and the
//! start-up stays one pass; it runs in the foreground as one process (stopped by PID like
//! the others), starts in milliseconds, and its secondary can be told to transfer with
//! `knotc -b zone-refresh` over a control socket in the environment's directory (BIND's
//! `rndc` needs a key and a TCP control channel of its own).
//!
//! The three servers are started with the others and stopped by PID on drop
//! ([`Interop::pids`] lists them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{Interop, listener_addrs, run};
use crate::{Error, Run, find_program, io, run_command};

/// The rollover zone (no trailing dot).
pub const ROLL_ZONE: &str = "roll.test";
/// The Knot primary (`ns1.roll.test`): signs online, takes dynamic updates, port 53.
pub const ROLL_PRIMARY: [&str; 2] = ["192.0.2.81", "2001:db8::81"];
/// The lagging Knot secondary (`ns2.roll.test`), port 53.
pub const ROLL_SECONDARY: [&str; 2] = ["192.0.2.82", "2001:db8::82"];
/// The MX hosts of [`ROLL_ZONE`], by preference; Postfix `roll` serves both.
pub const ROLL_MX: [&str; 2] = ["mx1.roll.test", "mx2.roll.test"];
/// The TTL of every record in the zone (the TLSA RRsets included), in seconds.
pub const ROLL_TTL: u32 = 300;
/// The name of the TSIG key in [`Rollover::tsig_key`].
pub const ROLL_TSIG_NAME: &str = "roll-key";
/// Zones for `dane rollover status`'s list of servers (built by `rollover-zones.sh`, served
/// by NSD, MX `mx.ZONE` with leaf-ec's and `fixtures/pki/next.key`'s `3 1 1` records):
/// 17 name servers, more than dane asks.
pub const ROLL_WIDE_ZONE: &str = "wide.test";
/// Its apex NS RRset's signature is corrupted (bogus).
pub const ROLL_NS_BOGUS_ZONE: &str = "ns-bogus.test";
/// Its apex NS RRset adds a server at 127.0.0.13 (the silent resolver's address: start
/// `BrokenResolver::Silent` to make it a black hole).
pub const ROLL_BLACKHOLE_ZONE: &str = "blackhole.test";
/// Its apex NS RRset adds a server at 127.0.0.14 (the refusing resolver's address: start
/// `BrokenResolver::Refused` to make it answer REFUSED to everything).
pub const ROLL_REFUSES_ZONE: &str = "refuses.test";

/// The rollover servers of a running [`Interop`] ([`Interop::rollover`]).
#[derive(Debug, Clone, Copy)]
pub struct Rollover<'a> {
    env: &'a Interop,
}

/// The Knot configuration of the primary (`secondary` false) or the secondary.
fn knot_config(dir: &Path, roll: &Path, secondary: bool, tsig: &str) -> Result<String, Error> {
    let d = dir.display();
    let addrs = if secondary {
        ROLL_SECONDARY
    } else {
        ROLL_PRIMARY
    };
    let mut conf = format!(
        "server:\n    rundir: \"{d}\"\n    pidfile: \"{d}/knot.pid\"\n    \
         listen: [ \"{}@53\", \"{}@53\" ]\n\
         log:\n  - target: \"{d}/knot.log\"\n    any: info\n\
         control:\n    listen: \"{d}/knot.sock\"\n",
        addrs[0], addrs[1],
    );
    if secondary {
        // No ACL: it refuses NOTIFY and updates; it only transfers when told to.
        conf.push_str(&format!(
            "database:\n    storage: \"{d}/db\"\n\
             remote:\n  - id: primary\n    address: \"{}@53\"\n    via: \"{}\"\n\
             zone:\n  - domain: {ROLL_ZONE}.\n    storage: \"{d}\"\n    \
             file: \"{d}/{ROLL_ZONE}.zone\"\n    zonefile-sync: -1\n    master: primary\n",
            ROLL_PRIMARY[0], ROLL_SECONDARY[0],
        ));
        return Ok(conf);
    }
    // tsig.knot is ALG:NAME:SECRET.
    let mut parts = tsig.trim().splitn(3, ':');
    let (Some(alg), Some(name), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::Environment {
            what: "the rollover TSIG key (tsig.knot)".into(),
            reason: format!("{tsig:?} is not ALG:NAME:SECRET"),
        });
    };
    conf.push_str(&format!(
        "database:\n    storage: \"{d}/db\"\n    kasp-db: \"{}\"\n\
         key:\n  - id: {name}\n    algorithm: {alg}\n    secret: {secret}\n\
         acl:\n  - id: update\n    key: {name}\n    action: update\n  \
         - id: transfer\n    address: [ \"{}\" ]\n    action: transfer\n\
         policy:\n  - id: roll\n    algorithm: ecdsap256sha256\n    manual: on\n    \
         single-type-signing: on\n    rrsig-lifetime: 30d\n    rrsig-refresh: 7d\n\
         zone:\n  - domain: {ROLL_ZONE}.\n    file: \"{}\"\n    storage: \"{d}\"\n    \
         zonefile-sync: -1\n    journal-content: changes\n    dnssec-signing: on\n    \
         dnssec-policy: roll\n    acl: [ update, transfer ]\n",
        roll.join("kasp").display(),
        ROLL_SECONDARY[0],
        roll.join(format!("{ROLL_ZONE}.zone")).display(),
    ));
    Ok(conf)
}

/// The serial in a `dig +short SOA` answer.
fn soa_serial(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.split_whitespace().nth(2)?.parse().ok())
}

/// The hexadecimal SHA-256 of a DER SubjectPublicKeyInfo (`3 1 1` data), from `openssl dgst`
/// output (`SHA2-256(stdin)= HEX` or `(stdin)= HEX`).
fn dgst_hex(text: &str) -> Option<String> {
    let hex = text.trim().rsplit(' ').next()?.to_ascii_lowercase();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

impl Interop {
    /// The rollover zone's servers (see the module docs of `interop::rollover`).
    pub fn rollover(&self) -> Rollover<'_> {
        Rollover { env: self }
    }

    /// Starts both Knot servers and Postfix `roll`; returns once both Knot servers serve
    /// the signed zone at the same serial, with Postfix's `postfix start` still running
    /// (its base directory and process, for [`Interop::record_postfix`]).
    pub(super) fn start_rollover(
        &mut self,
        listeners: &[Vec<String>],
    ) -> Result<(PathBuf, Child), Error> {
        let knotd = find_program("knotd", "knot")?;
        let roll = self.dir.join("rollover");
        let tsig = std::fs::read_to_string(roll.join("tsig.knot"))
            .map_err(io("reading rollover/tsig.knot"))?;
        for (name, secondary) in [("knot-primary", false), ("knot-secondary", true)] {
            let dir = roll.join(name);
            std::fs::create_dir_all(dir.join("db"))
                .map_err(io(format!("creating {}", dir.display())))?;
            let conf = dir.join("knot.conf");
            std::fs::write(&conf, knot_config(&dir, &roll, secondary, &tsig)?)
                .map_err(io(format!("writing {}", conf.display())))?;
            self.spawn(name, &knotd, &["-c".as_ref(), conf.as_os_str()])?;
        }
        let (key, cert) = (roll.join("current.key"), roll.join("current.pem"));
        let base = self.configure_postfix(
            "roll",
            Some((&key.display().to_string(), &cert.display().to_string())),
            &listener_addrs(listeners, "roll"),
        )?;
        let mut child = self.spawn_postfix_start("roll", &base)?;
        if let Err(e) = self.wait_knot() {
            // Record the master, so that drop stops it.
            if let Ok(status) = child.wait() {
                let _ = self.record_postfix(&base, status);
            }
            return Err(e);
        }
        Ok((base, child))
    }

    /// Waits (up to 20 s) until the primary serves the zone signed and the secondary has
    /// transferred it (same serial), asking the secondary to refresh meanwhile.
    fn wait_knot(&mut self) -> Result<(), Error> {
        let roll = self.dir.join("rollover");
        let logs: Vec<PathBuf> = ["knot-primary", "knot-secondary"]
            .iter()
            .flat_map(|n| {
                [
                    roll.join(n).join("knot.log"),
                    self.dir.join(format!("{n}.stderr")),
                ]
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut state = String::new();
        while Instant::now() < deadline {
            self.check_alive("knot-primary", &logs)?;
            self.check_alive("knot-secondary", &logs)?;
            let view = self.rollover();
            let signed = view
                .dig(ROLL_PRIMARY[0], &["+dnssec", ROLL_ZONE, "SOA"])
                .is_ok_and(|t| t.contains("RRSIG") && t.contains("status: NOERROR"));
            let primary = view.serial(ROLL_PRIMARY[0]).ok();
            if signed && primary.is_some() {
                let secondary = view.serial(ROLL_SECONDARY[0]).ok();
                if secondary == primary {
                    return Ok(());
                }
                let _ = view.knotc_refresh();
                state = format!("primary serial {primary:?}, secondary {secondary:?}");
            } else {
                state = format!("primary not serving the signed zone (serial {primary:?})");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(Error::Startup {
            program: "knotd",
            reason: format!("{ROLL_ZONE} not served by both Knot servers after 20 s: {state}"),
            log: crate::read_logs(&logs),
        })
    }
}

impl Rollover<'_> {
    /// The zone ([`ROLL_ZONE`]).
    pub fn zone(&self) -> &'static str {
        ROLL_ZONE
    }

    /// The primary's IPv4 address (port 53): where dynamic updates go.
    pub fn primary(&self) -> &'static str {
        ROLL_PRIMARY[0]
    }

    /// The secondary's IPv4 address (port 53).
    pub fn secondary(&self) -> &'static str {
        ROLL_SECONDARY[0]
    }

    /// The MX hosts, by preference.
    pub fn mx_hosts(&self) -> [&'static str; 2] {
        ROLL_MX
    }

    /// The TLSA owner name for port 25 at `host` (`_25._tcp.HOST.`).
    pub fn tlsa_owner(&self, host: &str) -> String {
        format!("_25._tcp.{}.", host.trim_end_matches('.'))
    }

    /// The directory of the rollover files (zone, keys, TSIG keys, Knot directories).
    pub fn dir(&self) -> PathBuf {
        self.env.dir.join("rollover")
    }

    /// The TSIG key the primary accepts, in BIND `tsig-keygen` format (`nsupdate -k`).
    pub fn tsig_key(&self) -> PathBuf {
        self.dir().join("tsig.key")
    }

    /// The same key as `ALG:NAME:SECRET` (the form of `knsupdate -y`; the primary's Knot
    /// configuration is written from it).
    pub fn tsig_key_knot(&self) -> PathBuf {
        self.dir().join("tsig.knot")
    }

    /// The same key as Knot's `keymgr -t roll-key hmac-sha256` printed it (a comment line,
    /// then the `key:` section).
    pub fn tsig_key_keymgr(&self) -> PathBuf {
        self.dir().join("tsig.keymgr")
    }

    /// The same key as BIND's `ddns-confgen` writes it (comments, an `update-policy`).
    pub fn tsig_key_ddns(&self) -> PathBuf {
        self.dir().join("tsig-ddns.key")
    }

    /// A Knot `key:` section with another key (`other-key`) first, then [`ROLL_TSIG_NAME`].
    pub fn tsig_key_two(&self) -> PathBuf {
        self.dir().join("tsig-two.conf")
    }

    /// A key with the same name and another secret: the primary refuses it (BADSIG).
    pub fn tsig_key_wrong(&self) -> PathBuf {
        self.dir().join("tsig-wrong.key")
    }

    /// The key Postfix presents at start-up (P-256, PKCS#8 PEM, mode 0600); its `3 1 1` is
    /// the zone's TLSA RRset at both hosts.
    pub fn current_key(&self) -> PathBuf {
        self.dir().join("current.key")
    }

    /// The self-signed certificate of [`Rollover::current_key`] (names both MX hosts).
    pub fn current_cert(&self) -> PathBuf {
        self.dir().join("current.pem")
    }

    /// `dig @SERVER +norec +time=2 +tries=2 ARGS` inside the namespace; its stdout.
    pub fn dig(&self, server: &str, args: &[&str]) -> Result<String, Error> {
        let out = run(
            self.env
                .command("dig")
                .arg(format!("@{server}"))
                .args(["+norec", "+time=2", "+tries=2"])
                .args(args),
            "dig (rollover)",
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The zone's SOA serial at one of the servers.
    pub fn serial(&self, server: &str) -> Result<u32, Error> {
        let text = self.dig(server, &["+short", ROLL_ZONE, "SOA"])?;
        soa_serial(&text).ok_or_else(|| Error::Environment {
            what: format!("the {ROLL_ZONE} SOA at {server}"),
            reason: format!("no serial in {text:?}"),
        })
    }

    /// The TLSA RRset at `_25._tcp.HOST` as one server serves it: RDATA lines, lower case,
    /// hex without spaces, sorted (`3 1 1 abcd...`).
    pub fn tlsa_at(&self, server: &str, host: &str) -> Result<Vec<String>, Error> {
        let text = self.dig(server, &["+short", &self.tlsa_owner(host), "TLSA"])?;
        let mut rows: Vec<String> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (u, s, m) = (f.next()?, f.next()?, f.next()?);
                let data: String = f.collect::<String>().to_ascii_lowercase();
                Some(format!("{u} {s} {m} {data}"))
            })
            .collect();
        rows.sort();
        Ok(rows)
    }

    fn knotc_refresh(&self) -> Result<(), Error> {
        let knotc = find_program("knotc", "knot")?;
        let sock = self.dir().join("knot-secondary/knot.sock");
        run(
            Command::new(knotc)
                .arg("-s")
                .arg(&sock)
                .args(["-b", "-t", "10", "zone-refresh"])
                .arg(format!("{ROLL_ZONE}.")),
            "knotc zone-refresh (the rollover secondary)",
        )
        .map(|_| ())
    }

    /// Lets the secondary catch up: asks it to refresh (`knotc -b zone-refresh`) until it
    /// serves the primary's serial (up to 20 s); returns that serial.
    pub fn transfer(&self) -> Result<u32, Error> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let primary = self.serial(ROLL_PRIMARY[0])?;
            self.knotc_refresh()?;
            let secondary = self.serial(ROLL_SECONDARY[0])?;
            if secondary == primary {
                return Ok(primary);
            }
            if Instant::now() > deadline {
                return Err(Error::Environment {
                    what: "the rollover secondary's transfer".into(),
                    reason: format!("serial {secondary}, the primary's {primary}, after 20 s"),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends an RFC 2136 update to the primary with `nsupdate -k KEY` inside the namespace:
    /// `commands` are nsupdate lines (`update add ...`, `prereq ...`), between the server
    /// and zone lines and `send`. The primary re-signs at once.
    pub fn update(&self, key: &Path, commands: &str) -> Result<Run, Error> {
        let nsupdate = find_program("nsupdate", "bind9-dnsutils")?;
        let script = format!(
            "server {} 53\nzone {ROLL_ZONE}.\n{}\nsend\n",
            ROLL_PRIMARY[0],
            commands.trim_end()
        );
        let mut cmd = self.env.command(nsupdate);
        cmd.args(["-t", "10", "-k"]).arg(key);
        Ok(run_command(cmd, Some(script.as_bytes())))
    }

    /// The `3 1 1` association data (hex, lower case) of a private or public key file, or
    /// of a certificate, by openssl (no dane code).
    pub fn spki_sha256(&self, file: &Path) -> Result<String, Error> {
        let f = file.display().to_string().replace('\'', r"'\''");
        let script = format!(
            "set -o pipefail\n\
             if grep -q 'BEGIN CERTIFICATE' '{f}'; then openssl x509 -in '{f}' -noout -pubkey; \
             else openssl pkey -in '{f}' -pubout; fi \
             | openssl pkey -pubin -outform DER | openssl dgst -sha256"
        );
        let out = run(
            Command::new("bash").args(["-c", &script]),
            &format!("openssl: the SPKI digest of {}", file.display()),
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        dgst_hex(&text).ok_or_else(|| Error::Environment {
            what: format!("the SPKI digest of {}", file.display()),
            reason: format!("openssl printed {text:?}"),
        })
    }

    /// The `3 1 1` data of the key the server at `addr` port 25 presents after STARTTLS
    /// (`openssl s_client -starttls smtp` inside the namespace).
    pub fn presented_spki(&self, addr: &str) -> Result<String, Error> {
        let target = if addr.contains(':') {
            format!("[{addr}]:25")
        } else {
            format!("{addr}:25")
        };
        let script = format!(
            "set -o pipefail\n\
             openssl s_client -starttls smtp -connect '{target}' </dev/null 2>/dev/null \
             | openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256"
        );
        let out = run(
            self.env.command("bash").args(["-c", &script]),
            &format!("openssl s_client -starttls smtp {target}"),
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        dgst_hex(&text).ok_or_else(|| Error::Environment {
            what: format!("the key presented at {target}"),
            reason: format!("openssl printed {text:?}"),
        })
    }

    /// The addresses of Postfix `roll` (both MX hosts, IPv4 and IPv6).
    pub fn mx_addresses(&self) -> [&'static str; 4] {
        ["192.0.2.83", "2001:db8::83", "192.0.2.84", "2001:db8::84"]
    }

    /// Switches Postfix `roll` to `key` (any key openssl reads: a self-signed certificate
    /// naming both hosts is made for it), by rewriting its main.cf and `postfix reload`;
    /// returns once every address presents the key (up to 20 s). Postfix is given a copy
    /// of the key (mode 0600, in [`Rollover::dir`]), as a deployment would be: the caller's
    /// file may be moved afterwards (`dane rollover promote` renames key files).
    pub fn use_key(&self, key: &Path) -> Result<(), Error> {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let (copy, cert) = (
            self.dir().join(format!("postfix-{n}.key")),
            self.dir().join(format!("postfix-{n}.pem")),
        );
        std::fs::copy(key, &copy).map_err(io(format!("copying {}", key.display())))?;
        std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(io(format!("chmod 0600 {}", copy.display())))?;
        run(
            Command::new("openssl")
                .args(["req", "-x509", "-new", "-key"])
                .arg(&copy)
                .args(["-subj", "/CN=mx1.roll.test", "-days", "30", "-addext"])
                .arg("subjectAltName=DNS:mx1.roll.test,DNS:mx2.roll.test")
                .arg("-out")
                .arg(&cert),
            &format!("openssl req -x509 (a certificate for {})", key.display()),
        )?;
        let want = self.spki_sha256(key)?;
        let listeners = crate::read_table(&self.env.dir.join("listeners.tsv"), 3)?;
        let base = self.env.configure_postfix(
            "roll",
            Some((&copy.display().to_string(), &cert.display().to_string())),
            &listener_addrs(&listeners, "roll"),
        )?;
        run(
            self.env
                .command(&self.env.postfix_bin)
                .arg("-c")
                .arg(base.join("conf"))
                .arg("reload"),
            "postfix reload (roll)",
        )?;
        let deadline = Instant::now() + Duration::from_secs(20);
        for addr in self.mx_addresses() {
            loop {
                let got = self.presented_spki(addr);
                if got.as_deref().is_ok_and(|g| *g == want) {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Error::Startup {
                        program: "postfix",
                        reason: format!(
                            "roll at {addr} presents {got:?}, not {want} ({}), 20 s after reload",
                            key.display()
                        ),
                        log: crate::read_logs(&[base.join("maillog")]),
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knot_configurations() {
        let dir = Path::new("/tmp/x/knot-primary");
        let roll = Path::new("/tmp/x");
        let p = knot_config(dir, roll, false, "hmac-sha256:roll-key:c2VjcmV0\n").unwrap();
        assert!(p.contains("listen: [ \"192.0.2.81@53\", \"2001:db8::81@53\" ]"));
        assert!(p.contains("secret: c2VjcmV0\n"), "{p}");
        assert!(p.contains("dnssec-signing: on"));
        assert!(p.contains("acl: [ update, transfer ]"));
        assert!(!p.contains("notify"), "the primary must not notify: {p}");
        let s = knot_config(dir, roll, true, "").unwrap();
        assert!(s.contains("master: primary") && s.contains("via: \"192.0.2.82\""));
        assert!(!s.contains("acl") && !s.contains("dnssec-signing"), "{s}");
        let err = knot_config(dir, roll, false, "nonsense").unwrap_err();
        assert!(err.to_string().contains("ALG:NAME:SECRET"), "{err}");
    }

    #[test]
    fn serials_and_digests_from_tool_output() {
        assert_eq!(
            soa_serial("ns1.roll.test. hostmaster.roll.test. 7 7200 3600 1209600 300\n"),
            Some(7)
        );
        assert_eq!(soa_serial(""), None);
        let hex = "0d21721e67d7ef33956851b36248d91ad45736fc7c63ddf76caadf37fac1d1c0";
        assert_eq!(
            dgst_hex(&format!("SHA2-256(stdin)= {}\n", hex.to_uppercase())),
            Some(hex.to_string())
        );
        assert_eq!(dgst_hex(&format!("(stdin)= {hex}")), Some(hex.to_string()));
        assert_eq!(dgst_hex("(stdin)= abc"), None);
    }
}
