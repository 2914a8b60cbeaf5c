//! The interop environment's servers for services other than SMTP to MX hosts, and their
//! scenarios (`fixtures/interop/services.tsv`, zones by `interop/service-zones.sh`):
//!
//! - Dovecot (Debian's dovecot-imapd and dovecot-pop3d), its own configuration, base and
//!   state directories, in the foreground (`dovecot -F -c FILE`): `dovecot` with IMAP on
//!   143 (STARTTLS) and 993, POP3 on 110 (STLS) and 995, presenting leaf-rsa, or leaf-ec
//!   when the client's SNI is `mail.sni.test` (`local_name`); `dovecot-notls` (`ssl = no`:
//!   no STARTTLS, no STLS) on 143 and 110; `dovecot-dual` with IMAP on 143 (STARTTLS) and
//!   993 holding leaf-rsa and leaf-ec at once (`ssl_cert` and `ssl_alt_cert`: OpenSSL picks
//!   by the client's signature algorithms; issue 23, `svc-dual-one.test` with the RSA key's
//!   `3 1 1` only, `svc-dual-both.test` with both).
//! - Postfix submission (587) and smtps (465, `smtpd_tls_wrappermode`) on the `rsa`
//!   instance, with `tls_server_sni_maps` giving leaf-ec for `mail.sni.test`; 587 on the
//!   `notls` instance.
//! - Prosody (Debian), its own configuration and data directory, in the foreground
//!   (`prosody -F --config FILE`): `prosody` with `xmpp-client` on 5222 and `xmpp-server`
//!   on 5269, encryption required, leaf-rsa, a VirtualHost for every service domain;
//!   `prosody-notls` without `mod_tls` (no STARTTLS in the stream features).
//! - nginx: a second `server` block, `server_name www.sni.test`, with leaf-ec (the default
//!   server keeps leaf-rsa).
//!
//! Every server is started at once (no waiting between them) and recorded by PID;
//! readiness is each listener of `listeners.tsv` accepting a connection
//! (`Interop::wait_listeners`), never a sleep.

use std::path::{Path, PathBuf};

use super::{Interop, VERDICT_EXIT, interop_dir, pki_dir, run};
use crate::{Error, find_program, io, read_table};

/// How a Dovecot instance does TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DovecotTls {
    /// leaf-rsa, or leaf-ec for the SNI [`SNI_MAIL`].
    SniSelected,
    /// leaf-rsa and leaf-ec at once (`ssl_alt_cert`).
    TwoKeys,
    /// `ssl = no`.
    Off,
}

/// The name that selects the second certificate (leaf-ec) on Dovecot and Postfix.
pub const SNI_MAIL: &str = "mail.sni.test";
/// The name that selects the second certificate (leaf-ec) on nginx.
pub const SNI_WWW: &str = "www.sni.test";

/// The services a row of `services.tsv` may name (`dane verify --service`).
pub const SERVICES: [&str; 9] = [
    "imap",
    "imaps",
    "pop3",
    "pop3s",
    "submission",
    "smtps",
    "xmpp-client",
    "xmpp-server",
    "https",
];

/// One row of `fixtures/interop/services.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceScenario {
    /// The service domain (`svc-ok.test`), no trailing dot; for `https` the host is
    /// `www.<domain>`.
    pub domain: String,
    /// The `dane verify --service` name.
    pub service: String,
    /// The expected verdict.
    pub expected_verdict: String,
    /// The expected exit code.
    pub expected_exit: i32,
    /// What the verdict's reason (or, for a verdict from one host, the host's) must contain.
    pub reason: String,
    /// What the scenario sets up.
    pub description: String,
}

impl ServiceScenario {
    /// The evidence file name (`<service>.<domain>.json`).
    pub fn evidence_name(&self) -> String {
        format!("{}.{}.json", self.service, self.domain)
    }
}

/// Every service scenario, in file order; rows are checked (known service and verdict,
/// exit consistent with the verdict, no duplicate domain and service).
pub fn service_scenarios() -> Result<Vec<ServiceScenario>, Error> {
    let path = interop_dir().join("services.tsv");
    let mut out: Vec<ServiceScenario> = Vec::new();
    for row in read_table(&path, 6)? {
        let bad = |problem: String| Error::Io {
            what: format!("{} scenario {} {}", path.display(), row[0], row[1]),
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
        if !SERVICES.contains(&row[1].as_str()) || row[0].ends_with('.') || row[4].is_empty() {
            return Err(bad("unknown service, absolute domain or no reason".into()));
        }
        if out
            .iter()
            .any(|s| s.domain == row[0] && s.service == row[1])
        {
            return Err(bad("listed twice".into()));
        }
        out.push(ServiceScenario {
            domain: row[0].clone(),
            service: row[1].clone(),
            expected_verdict: row[2].clone(),
            expected_exit: exit,
            reason: row[4].clone(),
            description: row[5].clone(),
        });
    }
    Ok(out)
}

/// Extra main.cf lines for a Postfix instance (`tls_server_sni_maps` on `rsa`), after
/// writing and compiling the map (`postmap -F`: the values are file names whose contents
/// go into the map).
pub(super) fn postfix_extra(env: &Interop, name: &str, base: &Path) -> Result<String, Error> {
    if name != "rsa" {
        return Ok(String::new());
    }
    let map = base.join("sni");
    std::fs::write(
        &map,
        format!(
            "{SNI_MAIL} {} {}\n",
            pki_dir().join("leaf-ec.key").display(),
            pki_dir().join("chain-ec.pem").display()
        ),
    )
    .map_err(io("writing the Postfix SNI map"))?;
    let postmap = find_program("postmap", "postfix")?;
    // The configuration directory must exist with a main.cf for postmap: use the client's.
    run(
        env.command(postmap)
            .arg("-c")
            .arg(env.posttls_finger_config())
            .arg("-F")
            .arg(format!("hash:{}", map.display())),
        "postmap -F (the Postfix SNI map)",
    )?;
    Ok(format!("tls_server_sni_maps = hash:{}\n", map.display()))
}

/// The master.cf line for one Postfix listener: 25 smtp, 587 submission (STARTTLS),
/// 465 submissions (implicit TLS, RFC 8314).
pub(super) fn postfix_master_line(addr: &str, port: &str) -> String {
    let a = if addr.contains(':') {
        format!("[{addr}]")
    } else {
        addr.to_string()
    };
    match port {
        "465" => format!("{a}:465 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n"),
        "25" => format!("{a}:smtp inet n - n - - smtpd\n"),
        p => format!("{a}:{p} inet n - n - - smtpd\n"),
    }
}

/// The addresses `server` listens on (from `listeners.tsv`), and its ports.
fn addresses_of(listeners: &[Vec<String>], server: &str) -> (Vec<String>, Vec<String>) {
    let mut addrs: Vec<String> = Vec::new();
    let mut ports: Vec<String> = Vec::new();
    for r in listeners.iter().filter(|r| r[0] == server) {
        if !addrs.contains(&r[1]) {
            addrs.push(r[1].clone());
        }
        if !ports.contains(&r[2]) {
            ports.push(r[2].clone());
        }
    }
    (addrs, ports)
}

/// The service domains (every `services.tsv` domain): Prosody's VirtualHosts, since the
/// XMPP stream header names the service domain (RFC 6120 section 4.7.2).
fn service_domains() -> Result<Vec<String>, Error> {
    let mut domains: Vec<String> = service_scenarios()?.into_iter().map(|s| s.domain).collect();
    domains.sort();
    domains.dedup();
    Ok(domains)
}

fn mkdirs(dirs: &[&PathBuf]) -> Result<(), Error> {
    for d in dirs {
        std::fs::create_dir_all(d).map_err(io(format!("creating {}", d.display())))?;
    }
    Ok(())
}

impl Interop {
    /// Starts Dovecot and Prosody (both instances of each) without waiting: the caller
    /// waits for every listener.
    pub(super) fn start_services(&mut self, listeners: &[Vec<String>]) -> Result<(), Error> {
        for (name, tls) in [
            ("dovecot", DovecotTls::SniSelected),
            ("dovecot-notls", DovecotTls::Off),
            ("dovecot-dual", DovecotTls::TwoKeys),
        ] {
            let (addrs, ports) = addresses_of(listeners, name);
            if !addrs.is_empty() {
                self.start_dovecot(name, tls, &addrs, &ports)?;
            }
        }
        for (name, tls) in [("prosody", true), ("prosody-notls", false)] {
            let (addrs, _) = addresses_of(listeners, name);
            if !addrs.is_empty() {
                self.start_prosody(name, tls, &addrs)?;
            }
        }
        Ok(())
    }

    /// The logs of the service servers, for start-up errors.
    pub(super) fn service_logs(&self) -> Vec<PathBuf> {
        let mut logs = Vec::new();
        for name in [
            "dovecot",
            "dovecot-notls",
            "dovecot-dual",
            "prosody",
            "prosody-notls",
        ] {
            logs.push(self.dir.join(format!("{name}/{name}.log")));
            logs.push(self.dir.join(format!("{name}.stderr")));
        }
        logs
    }

    fn start_dovecot(
        &mut self,
        name: &'static str,
        tls: DovecotTls,
        addrs: &[String],
        ports: &[String],
    ) -> Result<(), Error> {
        let dovecot = find_program("dovecot", "dovecot-core")?;
        for (module, package) in [("imap", "dovecot-imapd"), ("pop3", "dovecot-pop3d")] {
            if !Path::new("/usr/lib/dovecot").join(module).is_file() {
                return Err(Error::NotInstalled {
                    program: module,
                    package,
                });
            }
        }
        let base = self.dir.join(name);
        let (run_dir, state) = (base.join("run"), base.join("state"));
        mkdirs(&[&run_dir, &state])?;
        let pki = pki_dir();
        let cert = |leaf: &str, chain: &str| {
            format!(
                "ssl_cert = <{}\nssl_key = <{}\n",
                pki.join(chain).display(),
                pki.join(leaf).display()
            )
        };
        let ssl = match tls {
            DovecotTls::SniSelected => format!(
                "ssl = yes\nssl_min_protocol = TLSv1.2\n{}local_name {SNI_MAIL} {{\n{}}}\n",
                cert("leaf-rsa.key", "chain-rsa.pem"),
                cert("leaf-ec.key", "chain-ec.pem"),
            ),
            DovecotTls::TwoKeys => format!(
                "ssl = yes\nssl_min_protocol = TLSv1.2\n{}ssl_alt_cert = <{}\nssl_alt_key = <{}\n",
                cert("leaf-rsa.key", "chain-rsa.pem"),
                pki.join("chain-ec.pem").display(),
                pki.join("leaf-ec.key").display(),
            ),
            DovecotTls::Off => "ssl = no\n".to_string(),
        };
        let listener = |service: &str, port: &str, implicit: bool| {
            if ports.iter().any(|p| p == port) {
                let ssl = if implicit { "    ssl = yes\n" } else { "" };
                format!("  inet_listener {service} {{\n    port = {port}\n{ssl}  }}\n")
            } else {
                format!("  inet_listener {service} {{\n    port = 0\n  }}\n")
            }
        };
        // No user can log in (the probes never do): a static passdb with a password
        // nobody sends, a userdb that is never reached.
        let conf = format!(
            "base_dir = {}\nstate_dir = {}\ninstance_name = {}-{name}\nprotocols = imap pop3\n\
             listen = {}\nlog_path = {}/{name}.log\n{ssl}auth_mechanisms = plain\n\
             passdb {{\n  driver = static\n  args = password=not-a-password-anyone-sends\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home=/nonexistent\n}}\n\
             mail_location = mbox:/nonexistent\n\
             service imap-login {{\n{}{}}}\nservice pop3-login {{\n{}{}}}\n",
            run_dir.display(),
            state.display(),
            self.netns,
            addrs.join(", "),
            base.display(),
            listener("imap", "143", false),
            listener("imaps", "993", true),
            listener("pop3", "110", false),
            listener("pop3s", "995", true),
        );
        let path = base.join("dovecot.conf");
        std::fs::write(&path, conf).map_err(io("writing dovecot.conf"))?;
        self.spawn(
            name,
            &dovecot,
            &["-F".as_ref(), "-c".as_ref(), path.as_os_str()],
        )
    }

    fn start_prosody(
        &mut self,
        name: &'static str,
        tls: bool,
        addrs: &[String],
    ) -> Result<(), Error> {
        let prosody = find_program("prosody", "prosody")?;
        let base = self.dir.join(name);
        let (data, certs) = (base.join("data"), base.join("certs"));
        mkdirs(&[&data, &certs])?;
        let quoted = |list: &[String]| {
            list.iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pki = pki_dir();
        let tls_lines = if tls {
            format!(
                "modules_enabled = {{ \"tls\", \"saslauth\", \"dialback\", \"disco\" }}\n\
                 c2s_require_encryption = true\ns2s_require_encryption = true\n\
                 ssl = {{ certificate = {:?}, key = {:?} }}\n",
                pki.join("chain-rsa.pem").display().to_string(),
                pki.join("leaf-rsa.key").display().to_string(),
            )
        } else {
            "modules_enabled = { \"saslauth\", \"dialback\", \"disco\" }\n\
             modules_disabled = { \"tls\" }\n\
             c2s_require_encryption = false\ns2s_require_encryption = false\n"
                .to_string()
        };
        let mut conf = format!(
            "run_as_root = true\npidfile = {:?}\ndata_path = {:?}\ncertificates = {:?}\n\
             log = {{ {{ levels = {{ min = \"info\" }}, to = \"file\", filename = {:?} }} }}\n\
             interfaces = {{ {} }}\nc2s_ports = {{ 5222 }}\ns2s_ports = {{ 5269 }}\n\
             c2s_direct_tls_ports = {{ }}\ns2s_direct_tls_ports = {{ }}\nlegacy_ssl_ports = {{ }}\n\
             http_ports = {{ }}\nhttps_ports = {{ }}\n\
             s2s_secure_auth = false\nauthentication = \"internal_hashed\"\nstorage = \"memory\"\n\
             {tls_lines}",
            base.join("prosody.pid").display().to_string(),
            data.display().to_string(),
            certs.display().to_string(),
            base.join(format!("{name}.log")).display().to_string(),
            quoted(addrs),
        );
        for domain in service_domains()? {
            conf.push_str(&format!("VirtualHost {domain:?}\n"));
        }
        let path = base.join("prosody.cfg.lua");
        std::fs::write(&path, conf).map_err(io("writing prosody.cfg.lua"))?;
        self.spawn(
            name,
            &prosody,
            &["-F".as_ref(), "--config".as_ref(), path.as_os_str()],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_table_is_well_formed_and_covers_every_service() {
        let all = service_scenarios().unwrap();
        for service in SERVICES.iter().filter(|s| **s != "https") {
            for domain in [
                "svc-ok.test",
                "svc-mismatch.test",
                "svc-nostarttls.test",
                "svc-bogus.test",
                "svc-insecure.test",
            ] {
                assert!(
                    all.iter()
                        .any(|s| s.service == *service && s.domain == domain),
                    "no {service} scenario at {domain}"
                );
            }
        }
        for service in ["imap", "submission", "https"] {
            for domain in ["sni.test", "sni-other.test"] {
                assert!(
                    all.iter()
                        .any(|s| s.service == service && s.domain == domain),
                    "no SNI scenario {service} {domain}"
                );
            }
        }
    }

    #[test]
    fn postfix_listeners_by_port() {
        assert_eq!(
            postfix_master_line("192.0.2.40", "25"),
            "192.0.2.40:smtp inet n - n - - smtpd\n"
        );
        assert_eq!(
            postfix_master_line("2001:db8::40", "587"),
            "[2001:db8::40]:587 inet n - n - - smtpd\n"
        );
        assert!(postfix_master_line("192.0.2.40", "465").contains("smtpd_tls_wrappermode=yes"));
    }
}
