//! The soak test of issue 22: a real `dane serve-metrics`, scraped every 5 s by a real
//! Prometheus, both inside the interop environment's namespace, for about three minutes
//! while the scraped zone changes under it. Every assertion reads Prometheus's query API
//! (the samples it stored), so what is checked is what a monitoring consumer sees.
//!
//! The zone is the environment's `ee311.test` (MX `mx.ee311.test` on the rsa Postfix,
//! `3 1 1` of its key), rewritten by this test with TTL 30 s everywhere (SOA MINIMUM 30 s:
//! negative answers too) and re-signed by `ldns-signzone` with its own KSK (whose DS is in
//! `test.`) at each step, with signatures that expire minutes, or seconds, later; NSD
//! reloads it (SIGHUP) and the test waits until NSD serves the new serial. In order:
//!
//! 1. verified (signatures valid for 10 minutes);
//! 2. Unbound, the exporter's resolver, stopped: probes fail within TTL + scrape
//!    interval; started again: they recover, the exporter not restarted (its resolver
//!    check runs again after its 30 s backoff);
//! 3. the TLSA record removed: failed within TTL + scrape interval, and never verified
//!    after that while the record is absent;
//! 4. the record added back, and a second ZSK published with every RRset signed by both
//!    (a double-signature ZSK roll, RFC 6781 4.1.1.2): verified again within the negative
//!    TTL + scrape interval;
//! 5. the old ZSK withdrawn, a TTL after step 4, with signatures valid for 45 s only that
//!    are not renewed: verified all through the roll until the signatures expire, then
//!    failed (expired RRSIGs) in every scrape from a second after expiry on.
//!
//! All the while, a slowloris client at 127.0.0.2 keeps 32 connections trickling header
//! lines, more than the per-peer cap (8) lets in, while Prometheus at 127.0.0.1 scrapes:
//! every scrape is answered (`up` stays 1) and the exporter's own metrics show the cap
//! held and refusing.
//!
//! Bounds: "within TTL + scrape interval" is checked as TTL + interval + 15 s (the check's
//! duration and the scrape's jitter); every wait is a poll with a bound. Needs root
//! (network namespaces); CI runs as root. The exporter runs about 3.5 minutes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dane_testenv::{Interop, Listening};
use serde_json::Value;

const ZONE: &str = "ee311.test";
/// The zone's TTL and negative TTL (SOA MINIMUM), seconds.
const TTL: f64 = 30.0;
/// Prometheus's scrape interval, seconds.
const SCRAPE: f64 = 5.0;
/// Beyond TTL + interval: a check's duration, scrape jitter, a loaded CI machine.
const SLACK: f64 = 15.0;
/// The exporter's per-peer connection cap.
const PER_PEER: usize = 8;

const PROBE: &str = "probe_success{job=\"blackbox\"}";
const VERIFIED: &str = "dane_domain_verdict{job=\"blackbox\",state=\"verified\"}";

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The soak zone: its unsigned text is written here, signed with the environment's keys.
struct SoakZone {
    keys: PathBuf,
    ksk: PathBuf,
    tlsa: String,
    serial: u32,
}

impl SoakZone {
    /// The zone's KSK (flags 257, its DS in `test.`) and the TLSA data the environment
    /// published.
    fn new(env: &Interop) -> (SoakZone, PathBuf) {
        let keys = env.keys_dir().join(ZONE);
        let (mut ksk, mut zsk) = (None, None);
        for entry in std::fs::read_dir(&keys).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "key") {
                let base = path.with_extension("");
                let text = std::fs::read_to_string(&path).unwrap();
                let flags = text
                    .split_whitespace()
                    .skip_while(|f| *f != "DNSKEY")
                    .nth(1);
                if flags == Some("257") {
                    ksk = Some(base);
                } else {
                    zsk = Some(base);
                }
            }
        }
        let signed = std::fs::read_to_string(env.zone_dir().join(format!("{ZONE}.zone"))).unwrap();
        let tlsa = signed
            .lines()
            .find_map(|l| l.split_once("\tTLSA\t").map(|(_, d)| d.trim().to_owned()))
            .expect("the environment's TLSA record");
        let zone = SoakZone {
            keys,
            ksk: ksk.expect("a KSK"),
            tlsa,
            serial: 100,
        };
        (zone, zsk.expect("a ZSK"))
    }

    /// A new ZSK (`ldns-keygen`), not yet published.
    fn new_zsk(&self) -> PathBuf {
        let out = Command::new("ldns-keygen")
            .args(["-a", "ECDSAP256SHA256", &format!("{ZONE}.")])
            .current_dir(&self.keys)
            .output()
            .unwrap();
        assert!(out.status.success(), "ldns-keygen: {out:?}");
        self.keys.join(String::from_utf8_lossy(&out.stdout).trim())
    }

    /// Publishes the zone (with or without its TLSA record) signed by the KSK and `zsks`,
    /// signatures valid from an hour ago to `valid_for` seconds from now; returns once NSD
    /// serves it, and the signatures' expiry.
    fn publish(&mut self, env: &Interop, tlsa: bool, zsks: &[&Path], valid_for: u64) -> f64 {
        self.serial += 1;
        let mut text = format!(
            "$ORIGIN {ZONE}.\n$TTL {TTL}\n@ SOA ns.{ZONE}. hostmaster.{ZONE}. {} 7200 3600 1209600 {TTL}\n\
             @ NS ns.{ZONE}.\nns A 192.0.2.53\nns AAAA 2001:db8::53\n@ MX 10 mx.{ZONE}.\n\
             mx A 192.0.2.11\nmx AAAA 2001:db8::11\n",
            self.serial
        );
        if tlsa {
            text.push_str(&format!("_25._tcp.mx TLSA {}\n", self.tlsa));
        }
        let src = self.keys.join("soak.src");
        std::fs::write(&src, text).unwrap();
        let now = unix_now() as u64;
        let expiry = now + valid_for;
        let tmp = self.keys.join("soak.signed");
        let out = Command::new("ldns-signzone")
            .args(["-o", &format!("{ZONE}.")])
            .args(["-i", &(now - 3600).to_string(), "-e", &expiry.to_string()])
            .arg("-f")
            .args([&tmp, &src, &self.ksk])
            .args(zsks)
            .output()
            .unwrap();
        assert!(out.status.success(), "ldns-signzone: {out:?}");
        // Renamed into place: NSD never reads a half-written file.
        std::fs::rename(&tmp, env.zone_dir().join(format!("{ZONE}.zone"))).unwrap();
        env.reload_nsd(ZONE, self.serial).unwrap();
        expiry as f64
    }
}

/// Prometheus inside the namespace at 127.0.0.1:9090, scraping the exporter every 5 s as
/// the blackbox exporter's README configures it (`/probe` for the domain, and the
/// exporter's own `/metrics`); stopped by its PID on drop.
struct Prometheus {
    child: Child,
    dir: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Prometheus's directory (configuration, log), for failure messages.
static PROMETHEUS_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

fn start_prometheus(env: &Interop, exporter: &str) -> Prometheus {
    let dir = std::env::temp_dir().join(format!("dane-soak-prometheus-{}", std::process::id()));
    let _ = PROMETHEUS_DIR.set(dir.clone());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        "global:\n  scrape_interval: {SCRAPE}s\n  scrape_timeout: {SCRAPE}s\n\
         scrape_configs:\n  - job_name: 'blackbox'\n    metrics_path: /probe\n    params:\n      module: [smtp]\n\
         \x20   static_configs:\n      - targets: ['{ZONE}']\n    relabel_configs:\n\
         \x20     - source_labels: [__address__]\n        target_label: __param_target\n\
         \x20     - source_labels: [__param_target]\n        target_label: instance\n\
         \x20     - target_label: __address__\n        replacement: {exporter}\n\
         \x20 - job_name: 'blackbox_exporter'\n    static_configs:\n      - targets: ['{exporter}']\n"
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = env
        .command("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:9090")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut p = Prometheus { child, dir };
    let started = Instant::now();
    loop {
        assert!(
            p.child.try_wait().unwrap().is_none(),
            "prometheus exited: {}",
            std::fs::read_to_string(p.dir.join("prometheus.log")).unwrap_or_default()
        );
        let ready = env
            .command("curl")
            .args(["-sf", "--max-time", "2", "http://127.0.0.1:9090/-/ready"])
            .output()
            .unwrap();
        if ready.status.success() {
            return p;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "prometheus not ready after 60 s: {}",
            std::fs::read_to_string(p.dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Every sample Prometheus stored for `selector` over the last `window` seconds, as
/// (timestamp, value), oldest first (an instant query of a range vector: raw samples).
fn samples(env: &Interop, selector: &str, window: u64) -> Vec<(f64, f64)> {
    let out = env
        .command("curl")
        .args([
            "-sf",
            "--max-time",
            "10",
            "-G",
            "http://127.0.0.1:9090/api/v1/query",
        ])
        .arg("--data-urlencode")
        .arg(format!("query={selector}[{window}s]"))
        .output()
        .unwrap();
    assert!(out.status.success(), "query {selector}: {out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["status"], "success", "{doc}");
    let Some(series) = doc["data"]["result"].as_array().and_then(|r| r.first()) else {
        return Vec::new();
    };
    series["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v[0].as_f64().unwrap(),
                v[1].as_str().unwrap().parse::<f64>().unwrap(),
            )
        })
        .collect()
}

/// Prometheus's view of its scrape targets (health, last error), for failure messages.
fn targets(env: &Interop) -> String {
    let out = env
        .command("curl")
        .args([
            "-s",
            "--max-time",
            "10",
            "http://127.0.0.1:9090/api/v1/targets",
        ])
        .output()
        .unwrap();
    let dir = PROMETHEUS_DIR.get().cloned().unwrap_or_default();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    format!(
        "targets: {}\nprometheus.yml:\n{}\nprometheus.log (end):\n{}",
        String::from_utf8_lossy(&out.stdout),
        read("prometheus.yml"),
        read("prometheus.log")
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// Polls until a sample of `selector` taken after `after` has `value`; returns its
/// timestamp. Fails (with the samples) if none came within `bound` seconds of `after`.
fn wait_for(env: &Interop, what: &str, selector: &str, after: f64, value: f64, bound: f64) -> f64 {
    loop {
        let all = samples(env, selector, 600);
        if let Some((t, _)) = all.iter().find(|(t, v)| *t > after && *v == value) {
            assert!(
                *t - after <= bound,
                "{what}: {selector} == {value} only {:.1} s after the change (bound {bound} s): {all:?}",
                t - after
            );
            return *t;
        }
        assert!(
            unix_now() - after <= bound + SCRAPE,
            "{what}: no sample of {selector} == {value} within {bound} s: {all:?}\n{}",
            targets(env)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Asserts that every sample of `selector` in [from, to] has `value`, and that there is
/// at least one.
fn all_between(env: &Interop, what: &str, selector: &str, from: f64, to: f64, value: f64) {
    let all = samples(env, selector, 600);
    let inside: Vec<&(f64, f64)> = all
        .iter()
        .filter(|(t, _)| (from..=to).contains(t))
        .collect();
    assert!(
        !inside.is_empty(),
        "{what}: no sample of {selector} in the window: {all:?}"
    );
    assert!(
        inside.iter().all(|(_, v)| *v == value),
        "{what}: {selector} not always {value} from {from:.0} to {to:.0}: {inside:?}"
    );
}

/// A progress line on stderr (shown with --nocapture, and in a failed test's output).
fn step(what: &str) {
    eprintln!("soak {:.1}: {what}", unix_now());
}

/// Sleeps until the wall clock reaches `t`.
fn sleep_until(t: f64) {
    let left = t - unix_now();
    if left > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(left));
    }
}

/// A slowloris client: `n` connections from 127.0.0.2 to `exporter`, each sending a
/// request line and then one header line a second, never the end of the head; a
/// connection the exporter closed is opened again. (Perl: Debian's perl-base.)
const SLOWLORIS: &str = r#"
use IO::Socket::INET; $SIG{PIPE} = "IGNORE";
my ($peer, $n) = @ARGV; my @s;
while (1) {
  for my $i (0 .. $n - 1) {
    my $c = $s[$i];
    if (!$c || !defined(syswrite($c, "X-Slow: 1\r\n"))) {
      close($c) if $c;
      $c = IO::Socket::INET->new(PeerAddr => $peer, LocalAddr => "127.0.0.2", Proto => "tcp", Timeout => 2);
      syswrite($c, "GET /metrics HTTP/1.1\r\nHost: x\r\n") if $c;
      $s[$i] = $c;
    }
  }
  sleep 1;
}
"#;

/// A child stopped by its own PID on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn soak_serve_metrics_stays_right_under_prometheus() {
    // Built (if it must be) before the clock of the run starts.
    let dane = dane_e2e::dane_bin();
    let mut env = Interop::start().expect("the interop environment (run as root; see the error)");
    step("environment up");
    let (mut zone, zsk1) = SoakZone::new(&env);
    zone.publish(&env, true, &[&zsk1], 600);
    let mut exporter = Listening::spawn(
        env.command(dane)
            .args([
                "serve-metrics",
                "--listen",
                "127.0.0.1:0",
                "--allow-private",
            ])
            .args(["--resolver", env.resolver(), "--no-iterate"])
            .arg("--trust-anchor")
            .arg(env.anchor_ds())
            // A check answers within the scrape timeout even when the resolver is gone.
            .args(["--timeout", "2", "--deadline", "4"])
            // Slow clients may take 30 s over their request head: the cap is what holds.
            .args(["--header-timeout", "30"])
            .args(["--max-connections-per-peer", &PER_PEER.to_string()]),
        "dane serve-metrics: listening on ",
    );
    let exporter_addr = exporter.addr.clone();
    step("exporter up");
    let _prometheus = start_prometheus(&env, &exporter_addr);
    step("prometheus up");
    let t0 = unix_now();
    let _slowloris = Killed(
        env.command("perl")
            .args(["-e", SLOWLORIS, &exporter_addr, "32"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // 1. Verified.
    wait_for(&env, "at start", PROBE, t0, 1.0, 60.0);
    step("1: verified");

    // 2. The resolver goes away, and comes back: the same exporter recovers.
    let stopped = unix_now();
    env.stop_unbound();
    step("2: resolver stopped");
    wait_for(
        &env,
        "resolver stopped",
        PROBE,
        stopped,
        0.0,
        TTL + SCRAPE + SLACK,
    );
    env.restart_unbound().unwrap();
    let restarted = unix_now();
    step("2: resolver failure seen, resolver restarted");
    // The resolver check failed while it was down: it runs again after its backoff (30 s).
    wait_for(
        &env,
        "resolver back",
        PROBE,
        restarted,
        1.0,
        30.0 + TTL + SCRAPE + SLACK,
    );
    assert!(
        exporter.child.try_wait().unwrap().is_none(),
        "the exporter exited"
    );

    // 3. The TLSA record removed: failed within TTL + interval, never verified after.
    zone.publish(&env, false, &[&zsk1], 600);
    let removed = unix_now();
    step("3: TLSA removed");
    let failed = wait_for(
        &env,
        "TLSA removed",
        PROBE,
        removed,
        0.0,
        TTL + SCRAPE + SLACK,
    );
    // Held for a TTL and two scrapes more, so that anything cached before is gone.
    sleep_until(removed + TTL + 2.0 * SCRAPE);

    // 4. Added back, with a second ZSK published and every RRset signed by both.
    let zsk2 = zone.new_zsk();
    zone.publish(&env, true, &[&zsk1, &zsk2], 600);
    let added = unix_now();
    step("4: TLSA back, second ZSK published");
    all_between(&env, "TLSA absent", PROBE, failed, added, 0.0);
    all_between(&env, "TLSA absent", VERIFIED, failed, added, 0.0);
    let back = wait_for(
        &env,
        "TLSA added back",
        PROBE,
        added,
        1.0,
        TTL + SCRAPE + SLACK,
    );
    // A TTL after the new key's publication, the old one can go (RFC 6781 4.1.1.2).
    sleep_until(added + TTL + SCRAPE);

    // 5. The old ZSK withdrawn; the new signatures last 45 s and are not renewed.
    let rolled = unix_now();
    let expiry = zone.publish(&env, true, &[&zsk2], 45);
    step("5: old ZSK withdrawn, signatures valid for 45 s");
    sleep_until(expiry);
    all_between(&env, "ZSK roll", PROBE, back, expiry - 1.0, 1.0);
    all_between(&env, "ZSK roll", VERIFIED, rolled, expiry - 1.0, 1.0);
    let lapsed = wait_for(&env, "RRSIGs expired", PROBE, expiry, 0.0, SCRAPE + SLACK);
    // One more scrape; every scrape from a second after expiry on failed (an answer is
    // never kept past its signatures' expiry).
    sleep_until(lapsed + SCRAPE + 2.0);
    all_between(&env, "RRSIGs expired", PROBE, expiry + 1.0, unix_now(), 0.0);
    all_between(
        &env,
        "RRSIGs expired",
        VERIFIED,
        expiry + 1.0,
        unix_now(),
        0.0,
    );

    step("5: signatures expired, failed");
    // All through, the slowloris client held its cap and Prometheus was answered.
    let end = unix_now();
    let up = samples(&env, "up{job=\"blackbox\"}", 600);
    let expected = ((end - t0) / SCRAPE) as usize;
    assert!(
        up.len() + 6 >= expected && up.iter().all(|(_, v)| *v == 1.0),
        "scrapes of /probe: {} of about {expected}, every one answered: {up:?}",
        up.len()
    );
    let open = samples(&env, "dane_exporter_connections", 600);
    assert!(
        open.iter().any(|(_, v)| *v >= PER_PEER as f64),
        "the slowloris client held the per-peer cap: {open:?}"
    );
    let refused = samples(
        &env,
        "dane_exporter_connections_refused_total{reason=\"per-peer\"}",
        600,
    );
    assert!(
        refused.last().is_some_and(|(_, v)| *v > 0.0),
        "connections over the per-peer cap refused: {refused:?}"
    );
    assert!(
        exporter.child.try_wait().unwrap().is_none(),
        "the exporter ran all through"
    );
}
