//! The interop environment proven with the reference tools only (no dane code):
//! posttls-finger for every SMTP scenario, ldns-dane for HTTPS, delv and dig for every DNS
//! lookup, plus lifecycle (second run, stale namespace clean-up, a fresh process).
//! Needs root: `Interop::start` fails (and these tests with it) when it cannot run.

use std::path::Path;
use std::process::Command;

use dane_testenv::interop::{
    delv_verdict, interop_dir, posttls_finger_agrees, posttls_finger_outcome,
};
use dane_testenv::{Interop, read_table, scenarios};

fn start() -> Interop {
    Interop::start().expect("the interop environment must start (run as root; see the error)")
}

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn posttls_finger_reaches_each_scenarios_outcome_except_the_listed_exceptions() {
    let env = start();
    let mut differences = Vec::new();
    let mut checked = 0;
    for s in scenarios().unwrap().iter().filter(|s| s.service == "smtp") {
        for family in ["ipv4", "ipv6"] {
            let log = env.posttls_finger_log(&["-a", family, &s.domain]).unwrap();
            let got = posttls_finger_outcome(&log);
            assert_ne!(
                got, "unknown",
                "{} {family}: unrecognised output:\n{log}",
                s.domain
            );
            if !posttls_finger_agrees(&s.expected_verdict).contains(&got) {
                differences.push(format!(
                    "{}\t{family}\t{}\t{got}",
                    s.domain, s.expected_verdict
                ));
            }
            checked += 1;
        }
    }
    assert!(checked >= 46, "{checked} runs");
    let exceptions: Vec<String> =
        read_table(&interop_dir().join("posttls-finger-exceptions.tsv"), 5)
            .unwrap()
            .into_iter()
            .map(|r| format!("{}\t{}\t{}\t{}", r[0], r[1], r[2], r[3]))
            .collect();
    assert_eq!(
        differences, exceptions,
        "posttls-finger's differences (domain, family, verdict, outcome) must be exactly \
         posttls-finger-exceptions.tsv"
    );
}

#[test]
fn each_address_of_the_split_host_is_what_the_scenario_says() {
    // The host with two addresses: IPv4 serves the matching certificate, IPv6 does not.
    let env = start();
    for (family, want) in [("ipv4", "verified"), ("ipv6", "dane-untrusted")] {
        let log = env
            .posttls_finger_log(&["-a", family, "[mx.split.test]"])
            .unwrap();
        assert_eq!(posttls_finger_outcome(&log), want, "{family}:\n{log}");
    }
    // And the two MX hosts of twomx.test, one at a time.
    for (host, want) in [
        ("[mx1.twomx.test]", "verified"),
        ("[mx2.twomx.test]", "dane-untrusted"),
    ] {
        let log = env.posttls_finger_log(&[host]).unwrap();
        assert_eq!(posttls_finger_outcome(&log), want, "{host}:\n{log}");
    }
}

#[test]
fn ldns_dane_verifies_the_https_scenario_with_the_anchor() {
    let env = start();
    let https: Vec<_> = scenarios()
        .unwrap()
        .into_iter()
        .filter(|s| s.service == "https")
        .collect();
    assert_eq!(https.len(), 1);
    let host = format!("www.{}", https[0].domain);
    // -S: ldns-dane chases signatures itself from the private root's DNSKEY; -n: DANE-EE
    // names are not checked (RFC 7671 section 5.1).
    let out = env
        .command("ldns-dane")
        .arg("-S")
        .arg("-k")
        .arg(env.anchor_dnskey())
        .args(["-n", "verify", &host, "443"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.matches("dane-validated successfully").count(),
        2,
        "{text}"
    );
    // Negative controls. A TLSA set matching nothing (given as a file, DNSSEC assumed with
    // -d) is refused by the same server:
    let tlsa = std::env::temp_dir().join(format!("dane-it-tlsa-{}", std::process::id()));
    std::fs::write(
        &tlsa,
        format!("_443._tcp.{host}. 300 IN TLSA 3 1 1 {}\n", "00".repeat(32)),
    )
    .unwrap();
    let out = env
        .command("ldns-dane")
        .arg("-t")
        .arg(&tlsa)
        .args(["-d", "-n", "verify"])
        .output()
        .unwrap();
    std::fs::remove_file(&tlsa).unwrap();
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("did not dane-validate, because: no matching DANE TLSA records"),
        "{text}"
    );
    // And a different root anchor (the hermetic fixtures' private root) cannot validate the
    // TLSA record, so the environment's anchor is what makes it secure.
    let out = env
        .command("ldns-dane")
        .arg("-S")
        .arg("-k")
        .arg(dane_testenv::fixtures_dir().join("anchors/root.dnskey"))
        .args(["-n", "verify", &host, "443"])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(
        !out.status.success() && !text.contains("dane-validated successfully"),
        "{text}"
    );
}

#[test]
fn delv_and_dig_give_each_lookup_its_expected_dnssec_status() {
    let env = start();
    let rows = read_table(&interop_dir().join("dns.tsv"), 5).unwrap();
    assert!(rows.len() >= 50, "{}", rows.len());
    // Every scenario's domain has its lookups listed.
    for s in scenarios().unwrap() {
        let lookup = if s.service == "https" {
            format!("_443._tcp.www.{}.", s.domain)
        } else {
            format!("{}.", s.domain)
        };
        assert!(
            rows.iter().any(|r| r[0] == lookup),
            "dns.tsv lacks {lookup}"
        );
    }
    let mut wrong = Vec::new();
    for r in &rows {
        let (name, rtype, verdict, answer) = (&r[0], &r[1], &r[2], &r[3]);
        let out = env
            .command("delv")
            .arg("@127.0.0.1")
            .arg("-a")
            .arg(env.anchor_bind())
            .args(["+root=.", name, rtype])
            .output()
            .unwrap();
        let got = delv_verdict(
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
        );
        // delv prints "resolution failed" for a lookup that cannot complete as for a bogus
        // one: an indeterminate row accepts either.
        let delv_ok = got == verdict || (verdict == "indeterminate" && got == "bogus");
        if !delv_ok {
            wrong.push(format!(
                "delv {name} {rtype}: {got}, want {verdict}\n{}",
                output_text(&out)
            ));
        }
        // dig through Unbound: AD exactly for secure, SERVFAIL for bogus, the right rcode.
        let out = env
            .command("dig")
            .args(["@127.0.0.1", "+dnssec", "+time=5", "+tries=1", name, rtype])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let flags = text
            .lines()
            .find(|l| l.starts_with(";; flags:"))
            .unwrap_or("");
        // ";; flags: qr rd ra ad; QUERY: ..." -> the third ';'-separated piece.
        let ad = flags
            .split(';')
            .nth(2)
            .unwrap_or("")
            .split_whitespace()
            .any(|f| f == "ad");
        let status = if verdict == "bogus" || verdict == "indeterminate" {
            "SERVFAIL"
        } else if answer == "nxdomain" {
            "NXDOMAIN"
        } else {
            "NOERROR"
        };
        let has_answer = text
            .lines()
            .skip_while(|l| !l.starts_with(";; ANSWER SECTION"))
            .any(|l| l.split_whitespace().nth(3) == Some(rtype.as_str()));
        let ok = text.contains(&format!("status: {status}"))
            && ad == (verdict == "secure")
            && (status == "SERVFAIL" || has_answer == (answer == "records"));
        if !ok {
            wrong.push(format!(
                "dig {name} {rtype}: want {verdict} {answer}\n{text}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn anchors_and_zones_are_written_for_the_reference_tools() {
    let env = start();
    let ds = std::fs::read_to_string(env.anchor_ds()).unwrap();
    assert!(
        ds.starts_with(". ") && ds.contains(" DS ") && ds.contains(" 8 2 "),
        "{ds}"
    );
    let dnskey = std::fs::read_to_string(env.anchor_dnskey()).unwrap();
    assert!(dnskey.contains("DNSKEY 257 3 8 "), "{dnskey}");
    let bind = std::fs::read_to_string(env.anchor_bind()).unwrap();
    assert!(
        bind.contains("trust-anchors") && bind.contains("static-ds"),
        "{bind}"
    );
    // The DS in both files is the same key: tag and digest agree.
    let f: Vec<&str> = ds.split_whitespace().collect();
    let i = f.iter().position(|w| *w == "DS").unwrap();
    assert!(bind.contains(&format!(
        ". static-ds {} {} {} \"{}\"",
        f[i + 1],
        f[i + 2],
        f[i + 3],
        f[i + 4]
    )));
    // Two signers: the NSEC3 zone signed by dnssec-signzone (BIND's output has its
    // `; File written on` header), the others by ldns-signzone.
    let nsec3 = std::fs::read_to_string(env.zone_dir().join("nsec3-notlsa.test.zone")).unwrap();
    assert!(nsec3.contains("NSEC3PARAM") && nsec3.contains("File written on"));
    // Algorithms across zones: 8 (RSA/SHA-256), 13 (ECDSA P-256), 15 (Ed25519).
    let all: String = dane_testenv::zone_files(&env.zone_dir())
        .unwrap()
        .iter()
        .map(|(_, p)| std::fs::read_to_string(p).unwrap())
        .collect();
    for alg in [" 8 ", " 13 ", " 15 "] {
        assert!(
            all.contains(&format!("DNSKEY\t257 3{alg}"))
                || all.contains(&format!("DNSKEY 257 3{alg}")),
            "alg{alg}"
        );
    }
    // The resolver file inside the namespace is the namespace's, the host's is untouched.
    let inside = env.command("cat").arg("/etc/resolv.conf").output().unwrap();
    assert!(String::from_utf8_lossy(&inside.stdout).contains("nameserver 127.0.0.1"));
    let ns_file = Path::new("/etc/netns")
        .join(env.netns())
        .join("resolv.conf");
    assert!(ns_file.is_file());
}

fn netns_exists(name: &str) -> bool {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

fn validates(env: &Interop) -> bool {
    let out = env
        .command("dig")
        .args(["@127.0.0.1", "+dnssec", "ee311.test", "MX"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let ad = text
        .lines()
        .find(|l| l.starts_with(";; flags:"))
        .is_some_and(|l| {
            l.split(';')
                .nth(2)
                .unwrap_or("")
                .split_whitespace()
                .any(|f| f == "ad")
        });
    text.contains("status: NOERROR") && ad
}

#[test]
fn drop_stops_every_pid_and_removes_the_namespace_and_a_second_run_works() {
    let env = start();
    let name = env.netns().to_string();
    let pids = env.pids();
    assert_eq!(
        pids.len(),
        18,
        "nsd, unbound, nginx, three dovecot (with TLS, without, with two keys), two prosody, two knot, eight postfix masters (rsa, ec, ed25519, p384, expired, dual, notls, roll): {pids:?}"
    );
    assert!(validates(&env));
    let in_ns = Command::new("ip")
        .args(["netns", "pids", &name])
        .output()
        .unwrap();
    let in_ns = String::from_utf8_lossy(&in_ns.stdout).to_string();
    for pid in &pids {
        assert!(
            in_ns.split_whitespace().any(|p| p == pid.to_string()),
            "{pid} not in {name}"
        );
    }
    drop(env);
    assert!(!netns_exists(&name), "{name} left behind");
    assert!(!Path::new("/etc/netns").join(&name).exists());
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} still running"
        );
    }
    let again = start();
    assert_ne!(again.netns(), name);
    assert!(validates(&again));
}

#[test]
fn a_namespace_left_by_a_dead_process_is_removed_at_the_next_start() {
    // A PID that no longer exists: a child that has exited and been reaped.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = format!("dane-it-{dead}-0-1");
    assert!(
        Command::new("ip")
            .args(["netns", "add", &stale])
            .status()
            .unwrap()
            .success()
    );
    std::fs::create_dir_all(Path::new("/etc/netns").join(&stale)).unwrap();
    // A process the crashed run left running inside its namespace.
    let mut orphan = Command::new("ip")
        .args(["netns", "exec", &stale, "sleep", "300"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let env = start();
    let gone = !netns_exists(&stale) && !Path::new("/etc/netns").join(&stale).exists();
    if !gone {
        let _ = Command::new("ip").args(["netns", "del", &stale]).status();
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&stale));
    }
    let killed = orphan.try_wait().unwrap().is_some();
    if !killed {
        let _ = orphan.kill();
    }
    let _ = orphan.wait();
    assert!(gone, "stale {stale} not removed");
    assert!(killed, "the process left in {stale} is still running");
    assert!(validates(&env));
}

/// Run by `a_fresh_process_brings_the_environment_up` in a child process.
#[test]
#[ignore = "run in a child process by a_fresh_process_brings_the_environment_up"]
fn child_process_brings_the_environment_up() {
    let env = start();
    assert!(validates(&env));
}

#[test]
fn a_fresh_process_brings_the_environment_up() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "interop::child_process_brings_the_environment_up",
            "--include-ignored",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[test]
fn without_root_start_fails_saying_how_to_fix_it() {
    // The same child test, as user nobody: it must fail, loudly, not pass or skip.
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "interop::child_process_brings_the_environment_up",
            "--include-ignored",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("needs root") && text.contains("sudo -E cargo test"),
        "{text}"
    );
}

/// The TLSA RDATA of `dig +short` or ldns-dane output lines, normalised (upper case, no
/// spaces inside the hex).
fn tlsa_rdata(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let i = f.iter().position(|w| *w == "TLSA").map_or(0, |i| i + 1);
            (f.len() >= i + 4).then(|| {
                format!("{} {} {} {}", f[i], f[i + 1], f[i + 2], f[i + 3..].concat()).to_uppercase()
            })
        })
        .collect()
}

#[test]
fn published_tlsa_records_are_what_ldns_dane_creates_from_the_certificates() {
    // The zones' TLSA data comes from openssl pipelines in build-zones.sh; ldns-dane (a
    // different implementation) must derive the same records from the same certificates:
    // from the chain files offline (-c), and from the live HTTPS server.
    let env = start();
    let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki");
    let none: &[&str] = &[];
    let cases = [
        ("mx.ee311.test", "chain-rsa.pem", none, "3 1 1"),
        ("mx.ee301.test", "chain-rsa.pem", none, "3 0 1"),
        ("mx.ee312.test", "chain-ed25519.pem", none, "3 1 2"),
        ("mx.ee300.test", "chain-p384.pem", none, "3 0 0"),
        ("mx.ecdsa.test", "chain-ec.pem", none, "3 1 1"),
        ("mx.expired-leaf.test", "chain-expired.pem", none, "3 1 1"),
        ("mx.rollover.test", "chain-rsa.pem", none, "3 1 1"),
        // -o 0: the intermediate, the last certificate of the file (the root is not in it).
        ("mx1.example.test", "chain-rsa.pem", &["-o", "0"], "2 1 1"),
    ];
    for (host, chain, options, params) in cases {
        let published = env
            .command("dig")
            .args(["@127.0.0.1", "+short", &format!("_25._tcp.{host}"), "TLSA"])
            .output()
            .unwrap();
        let published = tlsa_rdata(&String::from_utf8_lossy(&published.stdout));
        // -n: the leaf names are mx1..mx4.example.test, not these hosts.
        let created = Command::new("ldns-dane")
            .arg("-n")
            .arg("-c")
            .arg(pki.join(chain))
            .args(options)
            .args(["create", host, "25"])
            .args(params.split(' '))
            .output()
            .unwrap();
        let created = tlsa_rdata(&String::from_utf8_lossy(&created.stdout));
        assert_eq!(created.len(), 1, "{host}: {created:?}");
        assert!(
            published.contains(&created[0]),
            "{host}: {published:?} lacks {created:?}"
        );
    }
    let live = env
        .command("ldns-dane")
        .args(["-n", "create", "www.https.test", "443", "3", "1", "1"])
        .output()
        .unwrap();
    let live = tlsa_rdata(&String::from_utf8_lossy(&live.stdout));
    let published = env
        .command("dig")
        .args(["@127.0.0.1", "+short", "_443._tcp.www.https.test", "TLSA"])
        .output()
        .unwrap();
    assert_eq!(
        tlsa_rdata(&String::from_utf8_lossy(&published.stdout)),
        live
    );
}

#[test]
fn signatures_are_valid_now_except_the_expired_one() {
    let env = start();
    let now = Command::new("date")
        .args(["-u", "+%Y%m%d%H%M%S"])
        .output()
        .unwrap();
    let now = String::from_utf8_lossy(&now.stdout).trim().to_string();
    // RRSIG fields after the type: covered alg labels ttl EXPIRATION INCEPTION tag signer sig.
    let window = |zone: &str, owner: &str, covered: &str| -> (String, String) {
        let text = std::fs::read_to_string(env.zone_dir().join(format!("{zone}.zone"))).unwrap();
        let line = text
            .lines()
            .find(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 9 && f[0] == owner && f[3] == "RRSIG" && f[4] == covered
            })
            .unwrap_or_else(|| panic!("no RRSIG {covered} at {owner}"));
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[9].to_string(), f[8].to_string())
    };
    for (zone, owner, covered) in [
        ("ee311.test", "_25._tcp.mx.ee311.test.", "TLSA"),
        ("root", ".", "SOA"),
        ("test", "test.", "DNSKEY"),
        (
            "tlsa-tampered.test",
            "_25._tcp.mx.tlsa-tampered.test.",
            "TLSA",
        ),
    ] {
        let (inception, expiration) = window(zone, owner, covered);
        assert!(
            inception < now && now < expiration,
            "{owner} {covered}: {inception}..{expiration}, now {now}"
        );
    }
    let (_, expiration) = window(
        "tlsa-expired.test",
        "_25._tcp.mx.tlsa-expired.test.",
        "TLSA",
    );
    assert!(expiration < now, "{expiration} not before {now}");
}

#[test]
fn bulk_domains_are_signed_and_verified_by_posttls_finger() {
    let env = Interop::start_bulk(6).expect("the interop environment (bulk) must start");
    let domains = env.bulk_domains();
    assert_eq!(domains.len(), 6, "{domains:?}");
    for d in &domains {
        let log = env.posttls_finger_log(&["-a", "ipv4", d]).unwrap();
        assert_eq!(posttls_finger_outcome(&log), "verified", "{d}:\n{log}");
    }
    // The plain environment has none.
    assert!(start().bulk_domains().is_empty());
}

/// The broken resolvers (issue 11), seen by dig inside the namespace: the stripping one
/// answers `. DNSKEY` and a signed MX without RRSIGs and without DO (Unbound itself gives
/// both with RRSIGs), the NXDOMAIN one says NXDOMAIN for the root, the silent one never
/// answers over UDP or TCP, the refusing one says REFUSED, the AD-only one sets AD and DO
/// without RRSIGs, and the CD-dropping one clears CD so that Unbound's validation turns a
/// tampered TLSA into SERVFAIL; each logs what it was asked and stops by its PID on drop.
#[test]
fn broken_resolvers_strip_deny_or_ignore_and_stop_on_drop() {
    use dane_testenv::interop::BrokenResolver;
    let env = start();
    let dig = |server: &str, args: &[&str]| {
        let out = env
            .command("dig")
            .arg(format!("@{server}"))
            .args(["+dnssec", "+cd", "+time=2", "+tries=1"])
            .args(args)
            .output()
            .unwrap();
        output_text(&out)
    };
    let has_rrsig = |text: &str| {
        text.lines()
            .any(|l| !l.starts_with(';') && l.split_whitespace().nth(3) == Some("RRSIG"))
    };
    // The reference: Unbound gives the signatures.
    for q in [[".", "DNSKEY"], ["ee311.test", "MX"]] {
        let text = dig(env.resolver(), &q);
        assert!(
            text.contains("status: NOERROR") && has_rrsig(&text),
            "{text}"
        );
    }
    let mut pids = Vec::new();
    {
        let strip = env.broken_resolver(BrokenResolver::StripsDnssec).unwrap();
        pids.push(strip.pid());
        for q in [[".", "DNSKEY"], ["ee311.test", "MX"]] {
            let text = dig(strip.address(), &q);
            assert!(text.contains("status: NOERROR"), "{text}");
            assert!(text.contains(&format!("IN\t{}", q[1])), "{text}");
            assert!(!has_rrsig(&text), "{text}");
            // dig prints `flags: do;` in the OPT pseudosection when DO came back.
            assert!(!text.contains("flags: do;"), "{text}");
        }
        // Over TCP too.
        let text = dig(strip.address(), &["+tcp", ".", "DNSKEY"]);
        assert!(
            text.contains("status: NOERROR") && !has_rrsig(&text),
            "{text}"
        );
        assert_eq!(
            strip.queries(),
            ["udp . DNSKEY", "udp ee311.test. MX", "tcp . DNSKEY"]
        );

        let nx = env.broken_resolver(BrokenResolver::Nxdomain).unwrap();
        pids.push(nx.pid());
        for q in [[".", "DNSKEY"], ["ee311.test", "MX"]] {
            let text = dig(nx.address(), &q);
            assert!(text.contains("status: NXDOMAIN"), "{text}");
        }
        assert_eq!(nx.queries().len(), 2);

        let silent = env.broken_resolver(BrokenResolver::Silent).unwrap();
        pids.push(silent.pid());
        for extra in ["+notcp", "+tcp"] {
            let text = dig(silent.address(), &[extra, ".", "DNSKEY"]);
            assert!(
                text.contains("timed out") && !text.contains("status:"),
                "{text}"
            );
        }
        assert_eq!(silent.queries(), ["udp . DNSKEY", "tcp . DNSKEY"]);

        let refused = env.broken_resolver(BrokenResolver::Refused).unwrap();
        pids.push(refused.pid());
        let text = dig(refused.address(), &[".", "DNSKEY"]);
        assert!(text.contains("status: REFUSED"), "{text}");
        assert_eq!(refused.queries(), ["udp . DNSKEY"]);

        // The header flags dig prints: `;; flags: qr rd ra ad; QUERY: ...`.
        let flags = |text: &str| -> Vec<String> {
            let line = text
                .lines()
                .find_map(|l| l.strip_prefix(";; flags: "))
                .unwrap_or_else(|| panic!("no header flags in {text}"));
            let flags = line.split(';').next().unwrap_or_default();
            flags.split_whitespace().map(str::to_owned).collect()
        };
        let ad = env.broken_resolver(BrokenResolver::AdOnly).unwrap();
        pids.push(ad.pid());
        for q in [[".", "DNSKEY"], ["ee311.test", "MX"]] {
            let text = dig(ad.address(), &q);
            assert!(text.contains("status: NOERROR"), "{text}");
            assert!(text.contains(&format!("IN\t{}", q[1])), "{text}");
            assert!(!has_rrsig(&text), "{text}");
            assert!(flags(&text).contains(&"ad".to_owned()), "{text}");
            assert!(text.contains("flags: do;"), "{text}");
        }

        // Through Unbound with CD the tampered TLSA comes back (the client judges it);
        // through the CD-dropping forwarder, Unbound validates: SERVFAIL.
        let tampered = ["_25._tcp.mx.tlsa-tampered.test", "TLSA"];
        let text = dig(env.resolver(), &tampered);
        assert!(text.contains("status: NOERROR"), "{text}");
        let cd = env.broken_resolver(BrokenResolver::IgnoresCd).unwrap();
        pids.push(cd.pid());
        let text = dig(cd.address(), &[".", "DNSKEY"]);
        assert!(
            text.contains("status: NOERROR") && has_rrsig(&text),
            "{text}"
        );
        assert!(!flags(&text).contains(&"cd".to_owned()), "{text}");
        let text = dig(cd.address(), &tampered);
        assert!(text.contains("status: SERVFAIL"), "{text}");
        assert_eq!(cd.queries().len(), 2);
        for pid in &pids {
            assert!(Path::new(&format!("/proc/{pid}")).exists(), "{pid}");
        }
    }
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} still running after drop"
        );
    }
}
