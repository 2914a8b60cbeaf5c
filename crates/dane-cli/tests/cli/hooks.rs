//! The ACME hook recipes (`examples/rollover`), driven with stand-in clients
//! (`standins/`: certbot, acme.sh, lego and dehydrated scripts that renew with a
//! self-signed "CA", and a `dane` that says ready and moves keys on promote): a good
//! renewal, a failed one, SIGTERM in the middle of one and a missing setting, each
//! checked on the files: the client's key, the files the MTA reads, leftovers. A loop
//! watches the MTA's file during a certbot switch. `stage` and the hold-off run the real
//! `dane`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{
    Run, assert_parses, assert_shellcheck_clean, fixture, root, run_command, shell_scripts,
};

const HOST: &str = "mx1.example.test";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Certbot,
    AcmeSh,
    Lego,
    Dehydrated,
}

const SWITCHING: [Client; 3] = [Client::Certbot, Client::AcmeSh, Client::Lego];

/// One recipe's world in a temporary directory: dane's keys (`keys/`, current = the
/// fixture P-256 key, next = `next.key`), the client's files holding the current key and
/// a certificate for it, and the MTA's file (`mta/mx.pem`, key then chain) installed by
/// the recipe's own deploy step.
struct Recipe {
    client: Client,
    dir: PathBuf,
}

fn standins() -> PathBuf {
    root().join("crates/dane-cli/tests/cli/standins")
}

fn script(client: Client) -> &'static str {
    match client {
        Client::Certbot => "certbot-hook.sh",
        Client::AcmeSh => "acme.sh-hook.sh",
        Client::Lego => "lego-hook.sh",
        Client::Dehydrated => "dehydrated-hook.sh",
    }
}

fn sh(args: &[&str]) {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]);
    let out = run_command(cmd, None);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The public key (PEM) of the first private key or certificate in `path`.
fn pubkey(path: &Path, cert: bool) -> String {
    let mut cmd = Command::new("openssl");
    if cert {
        cmd.args(["x509", "-noout", "-pubkey", "-in"]);
    } else {
        cmd.args(["pkey", "-pubout", "-in"]);
    }
    cmd.arg(path);
    let out = run_command(cmd, None);
    assert_eq!(out.code, 0, "{}: {}", path.display(), out.stderr);
    out.stdout
}

fn key_of(fixture_key: &str) -> String {
    pubkey(Path::new(&fixture(fixture_key)), false)
}

/// Every file under `dir` (links followed) with its bytes: a snapshot to compare.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n != "calls.log") {
                all.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    all
}

impl Recipe {
    fn new(client: Client, tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("dane-cli-hooks-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["keys", "mta"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let r = Recipe { client, dir };
        r.client_setup();
        let keys = r.dir.join("keys");
        std::fs::copy(fixture("pki/leaf-ec.key"), keys.join(format!("{HOST}.key"))).unwrap();
        if client != Client::Dehydrated {
            std::fs::copy(fixture("pki/next.key"), r.next_key()).unwrap();
        }
        // The first copy for the MTA, by the recipe's own deploy step.
        let out = match client {
            Client::Dehydrated => {
                let c = r.dir.join("dehydrated").join(HOST);
                r.run(
                    &[
                        "deploy_cert",
                        HOST,
                        &s(&c.join("privkey.pem")),
                        "",
                        &s(&c.join("fullchain.pem")),
                    ],
                    &[],
                )
            }
            _ => r.run(&["deploy"], &[]),
        };
        assert_eq!(out.code, 0, "first deploy: {}{}", out.stdout, out.stderr);
        assert_eq!(r.mta_key(), key_of("pki/leaf-ec.key"));
        std::fs::remove_file(r.log()).unwrap();
        r
    }

    /// The client's store: the current key and a certificate for it, as the client keeps them.
    fn client_setup(&self) {
        let issue = s(&standins().join("issue"));
        let current = fixture("pki/leaf-ec.key");
        match self.client {
            Client::Certbot => {
                let le = self.dir.join("le");
                let archive = le.join("archive").join(HOST);
                let live = le.join("live").join(HOST);
                for d in [&archive, &live, &le.join("renewal")] {
                    std::fs::create_dir_all(d).unwrap();
                }
                std::fs::copy(&current, archive.join("privkey1.pem")).unwrap();
                sh(&[&issue, &current, &s(&archive.join("cert1.pem"))]);
                std::fs::copy(archive.join("cert1.pem"), archive.join("chain1.pem")).unwrap();
                let cert = std::fs::read(archive.join("cert1.pem")).unwrap();
                std::fs::write(
                    archive.join("fullchain1.pem"),
                    [&cert[..], &cert[..]].concat(),
                )
                .unwrap();
                for kind in ["cert", "privkey", "chain", "fullchain"] {
                    std::os::unix::fs::symlink(
                        format!("../../archive/{HOST}/{kind}1.pem"),
                        live.join(format!("{kind}.pem")),
                    )
                    .unwrap();
                }
                std::fs::write(
                    le.join("renewal").join(format!("{HOST}.conf")),
                    format!("renew_hook = {} deploy\n", self.script().display()),
                )
                .unwrap();
            }
            Client::AcmeSh => {
                let d = self.dir.join("acme").join(format!("{HOST}_ecc"));
                std::fs::create_dir_all(&d).unwrap();
                std::fs::copy(&current, d.join(format!("{HOST}.key"))).unwrap();
                sh(&[&issue, &current, &s(&d.join("fullchain.cer"))]);
                std::fs::write(
                    d.join(format!("{HOST}.conf")),
                    format!("Le_ReloadCmd='{} deploy'\n", self.script().display()),
                )
                .unwrap();
            }
            Client::Lego => {
                let d = self.dir.join("lego/certificates");
                std::fs::create_dir_all(&d).unwrap();
                std::fs::copy(&current, d.join(format!("{HOST}.key"))).unwrap();
                sh(&[&issue, &current, &s(&d.join(format!("{HOST}.crt")))]);
            }
            Client::Dehydrated => {
                let d = self.dir.join("dehydrated").join(HOST);
                std::fs::create_dir_all(&d).unwrap();
                std::fs::copy(&current, d.join("privkey-1.pem")).unwrap();
                sh(&[&issue, &current, &s(&d.join("fullchain-1.pem"))]);
                for kind in ["privkey", "fullchain"] {
                    std::os::unix::fs::symlink(
                        format!("{kind}-1.pem"),
                        d.join(format!("{kind}.pem")),
                    )
                    .unwrap();
                }
                std::fs::copy(fixture("pki/next.key"), d.join("privkey.roll.pem")).unwrap();
            }
        }
    }

    fn script(&self) -> PathBuf {
        root().join("examples/rollover").join(script(self.client))
    }

    fn log(&self) -> PathBuf {
        self.dir.join("calls.log")
    }

    /// The calls the stand-ins logged (dane, the client, the MTA reload).
    fn calls(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    fn mta(&self) -> PathBuf {
        self.dir.join("mta/mx.pem")
    }

    fn mta_key(&self) -> String {
        pubkey(&self.mta(), false)
    }

    fn next_key(&self) -> PathBuf {
        match self.client {
            Client::Dehydrated => self
                .dir
                .join("dehydrated")
                .join(HOST)
                .join("privkey.roll.pem"),
            _ => self.dir.join("keys").join(format!("{HOST}.next.key")),
        }
    }

    /// The key the client renews with (certbot: through live/).
    fn client_key(&self) -> PathBuf {
        match self.client {
            Client::Certbot => self.dir.join("le/live").join(HOST).join("privkey.pem"),
            Client::AcmeSh => self
                .dir
                .join("acme")
                .join(format!("{HOST}_ecc"))
                .join(format!("{HOST}.key")),
            Client::Lego => self
                .dir
                .join("lego/certificates")
                .join(format!("{HOST}.key")),
            Client::Dehydrated => self.dir.join("dehydrated").join(HOST).join("privkey.pem"),
        }
    }

    /// The hook with ARGS in a clean environment: the stand-ins first on PATH; `env` last.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        self.command_of(&self.script(), args, env)
    }

    /// The recipe `script` (another client's) in this world.
    fn command_of(&self, script: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let path = format!(
            "{}:{}",
            standins().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.arg(script)
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &self.dir)
            .env("STANDIN_LOG", self.log())
            .env("STANDIN_STARTED", self.dir.join("started"))
            .env("STANDIN_DOMAIN", HOST)
            .env("DANE_DOMAIN", "example.test")
            .env("DANE_HOSTS", HOST)
            .env("DANE_KEY_DIR", self.dir.join("keys"))
            .env("DANE_MTA_KEY", self.mta())
            .env("DANE_MTA_CERT", self.mta())
            .env("DANE_RELOAD", "mta-reload")
            .env("CERTBOT_DIR", self.dir.join("le"))
            .env("ACME_HOME", self.dir.join("acme"))
            .env("LEGO_PATH", self.dir.join("lego"))
            .env("DEHYDRATED_CERTDIR", self.dir.join("dehydrated"))
            .env("HOOK", self.script());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        run_command(self.command(args, env), None)
    }

    /// The switch: `roll` (dehydrated: `cron`).
    fn roll(&self, env: &[(&str, &str)]) -> Run {
        let action = if self.client == Client::Dehydrated {
            "cron"
        } else {
            "roll"
        };
        self.run(&[action], env)
    }

    /// No backup or temporary file is left beside dane's keys or the MTA's file.
    #[track_caller]
    fn assert_no_leftovers(&self) {
        for d in [self.dir.join("keys"), self.dir.join("mta")] {
            let left: Vec<_> = std::fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.') && !n.ends_with(".pub"))
                .collect();
            assert!(left.is_empty(), "{}: {left:?}", d.display());
        }
    }
}

impl Drop for Recipe {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[test]
fn acme_hook_recipes_are_valid_shell() {
    let scripts = shell_scripts(
        &[root().join("examples/rollover")],
        &[
            "acme.sh-hook.sh",
            "certbot-hook.sh",
            "common.sh",
            "dehydrated-hook.sh",
            "lego-hook.sh",
        ],
    );
    assert_parses("bash", &scripts);
    for p in &scripts {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(text.starts_with("#!/"), "{}: no shebang", p.display());
        assert!(
            text.contains("dane rollover") || text.contains("dane_stage"),
            "{}",
            p.display()
        );
    }
    // The recipes run as root from the ACME clients' hooks: shellcheck (following
    // common.sh) finds nothing in them, nor in the stand-ins the tests drive them with.
    let mut all = scripts.clone();
    all.extend(
        std::fs::read_dir(standins())
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    assert_shellcheck_clean(&["-x", "-P", "SCRIPTDIR"], &all);
}

/// The recipes run with the real `dane`: `stage` through common.sh stages one next key for
/// every host, and `roll` changes nothing while the switch is not known to be safe: with no
/// resolver it is indeterminate, which the hook says and passes on (exit 3), no client run.
#[test]
fn acme_hook_recipes_stage_and_hold_off_the_switch() {
    let r = Recipe::new(Client::AcmeSh, "hold-off");
    std::fs::remove_file(r.next_key()).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dane")).parent().unwrap();
    let path = format!(
        "{}:{}:{}",
        bin_dir.display(),
        standins().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let hosts = "mx1.example.test mx2.example.test";
    let flags = "--resolver 127.0.0.1:9 --no-iterate --timeout 1";
    let env = [
        ("PATH", path.as_str()),
        ("DANE_HOSTS", hosts),
        ("DANE_FLAGS", flags),
    ];
    let hook = |script: &str, action: &str| {
        let path = root().join("examples/rollover").join(script);
        run_command(r.command_of(&path, &[action], &env), None)
    };
    let out = hook("certbot-hook.sh", "stage");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert!(lines[0].starts_with("_25._tcp.mx1.example.test. IN TLSA 3 1 1 "));
    assert!(lines[3].starts_with("_25._tcp.mx2.example.test. IN TLSA 3 1 1 "));
    // One next key for both hosts.
    assert_eq!(lines[1].rsplit(' ').next(), lines[3].rsplit(' ').next());
    assert!(r.next_key().exists());
    // (The client's and the MTA's files: the state file beside the keys is dane's.)
    let before = (snapshot(&r.dir.join("acme")), snapshot(&r.dir.join("mta")));
    let out = hook("acme.sh-hook.sh", "roll");
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    // A plain status (it records what it saw), its report on stderr.
    assert!(
        out.stderr.lines().any(|l| l.starts_with("indeterminate: ")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("not switching keys"), "{}", out.stderr);
    assert!(!r.calls().contains("acme.sh --"), "{}", r.calls());
    let after = (snapshot(&r.dir.join("acme")), snapshot(&r.dir.join("mta")));
    assert_eq!(after, before, "roll changed files while not ready");
    let out = hook("lego-hook.sh", "nonsense");
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// A good renewal: the client renews with the staged key, its deploy hook puts the new
/// pair in the MTA's file (checked), reloads and promotes with --require-ready; the hook
/// exits 0 and leaves no backup.
#[test]
fn acme_hook_recipes_switch_after_a_good_renewal() {
    let next = key_of("pki/next.key");
    for client in SWITCHING {
        let r = Recipe::new(client, "good");
        let out = r.roll(&[]);
        assert_eq!(out.code, 0, "{client:?}: {}{}", out.stdout, out.stderr);
        assert_eq!(r.mta_key(), next, "{client:?}: the MTA's key");
        assert_eq!(
            pubkey(&r.mta(), true),
            next,
            "{client:?}: the MTA's certificate"
        );
        assert_eq!(pubkey(&r.client_key(), false), next, "{client:?}");
        let calls = r.calls();
        assert!(calls.contains("mta-reload"), "{client:?}: {calls}");
        assert!(
            calls.contains("dane rollover promote example.test")
                && calls.contains("--require-ready"),
            "{client:?}: {calls}"
        );
        // The stand-in promote moved next over current.
        assert_eq!(
            pubkey(&r.dir.join("keys").join(format!("{HOST}.key")), false),
            next
        );
        r.assert_no_leftovers();
    }
}

/// A failed renewal: the previous key is back in the client's key file, the MTA's file is
/// untouched, no promote, exit 1.
#[test]
fn acme_hook_recipes_restore_the_key_when_the_renewal_fails() {
    for client in SWITCHING {
        let r = Recipe::new(client, "fail");
        let key_before = std::fs::read(r.client_key()).unwrap();
        let mta_before = std::fs::read(r.mta()).unwrap();
        let out = r.roll(&[("STANDIN_RENEWAL", "fail")]);
        assert_eq!(out.code, 1, "{client:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr
                .contains("the renewal failed (exit 1); the previous key is back"),
            "{client:?}: {}",
            out.stderr
        );
        assert_eq!(
            std::fs::read(r.client_key()).unwrap(),
            key_before,
            "{client:?}"
        );
        assert_eq!(std::fs::read(r.mta()).unwrap(), mta_before, "{client:?}");
        let calls = r.calls();
        let renewal = match client {
            Client::Certbot => "certbot renew",
            Client::AcmeSh => "acme.sh --home",
            _ => "lego --path",
        };
        assert!(
            calls.contains(renewal),
            "{client:?}: the client ran: {calls}"
        );
        assert!(
            !calls.contains("promote") && !calls.contains("mta-reload"),
            "{calls}"
        );
        r.assert_no_leftovers();
    }
}

/// SIGTERM to the hook while the client renews: the client is stopped, the previous key
/// goes back, the MTA's file is untouched, exit 143 (128 + 15), no backup left.
#[test]
fn acme_hook_recipes_restore_the_key_when_interrupted() {
    for client in SWITCHING {
        let r = Recipe::new(client, "term");
        let key_before = std::fs::read(r.client_key()).unwrap();
        let mta_before = std::fs::read(r.mta()).unwrap();
        let mut cmd = r.command(&["roll"], &[("STANDIN_RENEWAL", "hang")]);
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        let started = r.dir.join("started");
        let t0 = std::time::Instant::now();
        while !started.exists() {
            assert!(
                t0.elapsed().as_secs() < 30,
                "{client:?}: the renewal never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // In the middle of the renewal the client reads the next key (certbot's live/ too).
        assert_eq!(pubkey(&r.client_key(), false), key_of("pki/next.key"));
        sh(&["kill", "-TERM", &child.id().to_string()]);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            t0.elapsed().as_secs() < 20,
            "{client:?}: the hook waited for the client"
        );
        assert_eq!(out.status.code(), Some(143), "{client:?}: {stderr}");
        assert!(
            stderr.contains("interrupted by SIGTERM; the previous key is back"),
            "{client:?}: {stderr}"
        );
        assert_eq!(
            std::fs::read(r.client_key()).unwrap(),
            key_before,
            "{client:?}"
        );
        assert_eq!(std::fs::read(r.mta()).unwrap(), mta_before, "{client:?}");
        assert!(!r.calls().contains("promote"), "{}", r.calls());
        r.assert_no_leftovers();
    }
}

/// A backup left by a hook that was killed outright (SIGKILL: no trap runs) is put back
/// at the next run, before anything else.
#[test]
fn certbot_hook_recovers_from_a_killed_run() {
    let r = Recipe::new(Client::Certbot, "killed");
    let key_before = std::fs::read(r.client_key()).unwrap();
    // What a run killed mid-renewal leaves: the next key in the archive file, the backup.
    let archive = std::fs::canonicalize(r.client_key()).unwrap();
    std::fs::copy(
        &archive,
        r.dir.join(format!("keys/.{HOST}.certbot-key.backup")),
    )
    .unwrap();
    std::fs::copy(r.next_key(), &archive).unwrap();
    let out = r.roll(&[("STANDIN_STATUS", "5")]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("an earlier roll was interrupted; the previous key is back"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(r.client_key()).unwrap(), key_before);
    r.assert_no_leftovers();
}

/// Every setting and file is checked before anything changes: a half-configured update
/// (DANE_UPDATE without DANE_TSIG_KEY, or the reverse), an unset MTA file, a missing next
/// key or TSIG file each fail with exit 2 and one line naming it; no client or dane runs
/// and no file changes.
#[test]
fn acme_hook_recipes_refuse_a_missing_setting_before_changing_anything() {
    let tsig = "/nonexistent/update.key";
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("DANE_UPDATE", "127.0.0.1:53")],
            "DANE_UPDATE is set (127.0.0.1:53) but DANE_TSIG_KEY is not",
        ),
        (
            &[("DANE_TSIG_KEY", tsig)],
            "DANE_TSIG_KEY is set but DANE_UPDATE is not",
        ),
        (
            &[("DANE_UPDATE", "127.0.0.1:53"), ("DANE_TSIG_KEY", tsig)],
            "DANE_TSIG_KEY /nonexistent/update.key: not a readable file",
        ),
        (&[("DANE_MTA_KEY", "")], "set DANE_MTA_KEY"),
        (&[("DANE_DOMAIN", "")], "set DANE_DOMAIN"),
    ];
    for client in [
        Client::Certbot,
        Client::AcmeSh,
        Client::Lego,
        Client::Dehydrated,
    ] {
        let r = Recipe::new(client, "missing");
        let before = snapshot(&r.dir);
        for (env, says) in cases {
            let out = r.roll(env);
            assert_eq!(
                out.code, 2,
                "{client:?} {env:?}: {}{}",
                out.stdout, out.stderr
            );
            assert!(out.stderr.contains(says), "{client:?}: {}", out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        }
        // The next key is gone.
        std::fs::rename(r.next_key(), r.dir.join("gone")).unwrap();
        let out = r.roll(&[]);
        assert_eq!(out.code, 2, "{client:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("missing, unreadable or empty"),
            "{}",
            out.stderr
        );
        std::fs::rename(r.dir.join("gone"), r.next_key()).unwrap();
        assert_eq!(r.calls(), "", "{client:?}: something ran");
        assert_eq!(snapshot(&r.dir), before, "{client:?}: files changed");
    }
}

/// The deploy step installs only a pair that matches and a key a TLSA record names: a
/// renewal that came back with another key (say --reuse-key was dropped), or a chain of
/// another key, leaves the MTA's file as it was and fails.
#[test]
fn certbot_hook_deploy_refuses_a_wrong_key_or_pair() {
    let r = Recipe::new(Client::Certbot, "deploy-refuses");
    let mta_before = std::fs::read(r.mta()).unwrap();
    let live = r.dir.join("le/live").join(HOST);
    let archive = std::fs::canonicalize(live.join("privkey.pem")).unwrap();
    let chain = std::fs::canonicalize(live.join("fullchain.pem")).unwrap();
    // Another key, with its own certificate.
    std::fs::copy(fixture("pki/leaf-p384.key"), &archive).unwrap();
    sh(&[&s(&standins().join("issue")), &s(&archive), &s(&chain)]);
    let out = r.run(&["deploy"], &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("no TLSA record names it"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(r.mta()).unwrap(), mta_before);
    // The next key with the current key's certificate.
    std::fs::copy(r.next_key(), &archive).unwrap();
    sh(&[
        &s(&standins().join("issue")),
        &fixture("pki/leaf-ec.key"),
        &s(&chain),
    ]);
    let out = r.run(&["deploy"], &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("is not the key of the certificate"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(r.mta()).unwrap(), mta_before);
    assert!(!r.calls().contains("mta-reload"), "{}", r.calls());
    r.assert_no_leftovers();
}

/// Two files for the MTA (key, chain): both replaced, matching, with the owner and mode
/// the existing files had (an MTA reading the key as a group keeps reading it).
#[test]
#[cfg(unix)]
fn certbot_hook_installs_two_files_keeping_their_mode() {
    use std::os::unix::fs::PermissionsExt as _;
    let r = Recipe::new(Client::Certbot, "two-files");
    let key = r.dir.join("mta/mx.key");
    let cert = r.dir.join("mta/mx.crt");
    std::fs::write(&key, "old").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let env = [("DANE_MTA_KEY", s(&key)), ("DANE_MTA_CERT", s(&cert))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = r.roll(&env);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let next = key_of("pki/next.key");
    assert_eq!(pubkey(&key, false), next);
    assert_eq!(pubkey(&cert, true), next);
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        std::fs::metadata(&cert).unwrap().permissions().mode() & 0o777,
        0o644
    );
    r.assert_no_leftovers();
}

/// While the certbot recipe switches keys (a slow stand-in certbot: its live/ pairs the
/// old certificate with the next key for a while), a loop reads the MTA's file the way an
/// MTA does (one open) and checks that its key and certificate match, every time. It must
/// see both the old pair and the new one, so the loop did watch the switch.
#[test]
fn certbot_hook_mta_never_reads_a_mismatched_pair() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let r = Recipe::new(Client::Certbot, "watch");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        let mta = r.mta();
        let snap = r.dir.join("snapshot.pem");
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut checks = 0;
            while !stop.load(Ordering::SeqCst) || checks == 0 {
                std::fs::write(&snap, std::fs::read(&mta).unwrap()).unwrap();
                let (k, c) = (pubkey(&snap, false), pubkey(&snap, true));
                assert_eq!(
                    k, c,
                    "the MTA's file held a mismatched pair (check {checks})"
                );
                if !seen.contains(&k) {
                    seen.push(k);
                }
                checks += 1;
            }
            (seen, checks)
        })
    };
    let out = r.roll(&[("STANDIN_SLOW", "0.3")]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let (seen, checks) = watcher.join().unwrap();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        seen,
        vec![key_of("pki/leaf-ec.key"), key_of("pki/next.key")],
        "{checks} checks"
    );
    assert!(checks >= 10, "only {checks} checks");
}

/// dehydrated switches its own keys: `cron` lets it switch only when status says ready
/// (then deploy_cert installs the roll key's pair, verifies and restages with
/// --retire-key); while waiting it renews keeping the key (exit 0); blocked or
/// indeterminate renews keeping the key and passes the code on; a switch dehydrated makes
/// on its own, outside `cron`, is refused by deploy_cert (the MTA keeps its files).
#[test]
fn dehydrated_hook_switches_only_when_ready() {
    let current = key_of("pki/leaf-ec.key");
    let next = key_of("pki/next.key");
    let r = Recipe::new(Client::Dehydrated, "dehydrated");
    for (status, code) in [("5", 0), ("3", 3)] {
        let out = r.roll(&[("STANDIN_STATUS", status)]);
        assert_eq!(out.code, code, "{}{}", out.stdout, out.stderr);
        assert_eq!(r.mta_key(), current);
        assert_eq!(pubkey(&r.mta(), true), current);
        assert_eq!(pubkey(&r.next_key(), false), next, "the roll key was kept");
    }
    assert!(!r.calls().contains("--retire-key"), "{}", r.calls());
    // dehydrated switching on its own (no ready check): refused.
    let mta_before = std::fs::read(r.mta()).unwrap();
    let mut cmd = Command::new(standins().join("dehydrated"));
    for (k, v) in r.command(&[], &[]).get_envs() {
        cmd.env(k, v.unwrap_or_default());
    }
    let out = run_command(cmd, None);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("neither the MTA's key nor the roll key found ready"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(r.mta()).unwrap(), mta_before);

    let r = Recipe::new(Client::Dehydrated, "dehydrated-ready");
    let out = r.roll(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(r.mta_key(), next);
    assert_eq!(pubkey(&r.mta(), true), next);
    let calls = r.calls();
    assert!(calls.contains("dane verify example.test --key"), "{calls}");
    assert!(
        calls.contains("dane rollover stage") && calls.contains("--retire-key"),
        "{calls}"
    );
    r.assert_no_leftovers();
}

/// dehydrated failing or interrupted: the MTA's file is untouched (dehydrated's own files
/// are its business), exit 1 / 143.
#[test]
fn dehydrated_hook_leaves_the_mta_alone_on_failure_and_sigterm() {
    let r = Recipe::new(Client::Dehydrated, "dehydrated-fail");
    let mta_before = std::fs::read(r.mta()).unwrap();
    let out = r.roll(&[("STANDIN_RENEWAL", "fail")]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(std::fs::read(r.mta()).unwrap(), mta_before);
    let mut cmd = r.command(&["cron"], &[("STANDIN_RENEWAL", "hang")]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let t0 = std::time::Instant::now();
    while !r.dir.join("started").exists() {
        assert!(t0.elapsed().as_secs() < 30, "dehydrated never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    sh(&["kill", "-TERM", &child.id().to_string()]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        t0.elapsed().as_secs() < 20,
        "the hook waited for dehydrated"
    );
    assert_eq!(std::fs::read(r.mta()).unwrap(), mta_before);
    r.assert_no_leftovers();
}
