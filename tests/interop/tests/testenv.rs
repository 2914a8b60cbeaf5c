//! dane-testenv against the real fixtures: NSD answers for every zone, DS from the parent;
//! and (module `interop`) the interop environment proven with the reference tools.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

#[path = "testenv/interop.rs"]
mod interop;
#[path = "testenv/rollover.rs"]
mod rollover;

use std::net::UdpSocket;
use std::time::Duration;

use dane_testenv::{Nsd, delv_verdict, fixtures_dir, zone_name};

/// Sends one query (CD set, EDNS DO) and returns the raw response.
fn ask(nsd: &Nsd, name: &str, rtype: u16) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x00, 0x10, 0, 1, 0, 0, 0, 0, 0, 1];
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&rtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    // OPT: root owner, type 41, size 1232, ext-rcode 0, version 0, DO bit, no options.
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sock.send_to(&q, nsd.addr()).unwrap();
    let mut buf = vec![0; 65535];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn rcode(msg: &[u8]) -> u8 {
    msg[3] & 0x0f
}

fn ancount(msg: &[u8]) -> u16 {
    u16::from_be_bytes([msg[6], msg[7]])
}

fn aa(msg: &[u8]) -> bool {
    msg[2] & 0x04 != 0
}

#[test]
fn serves_every_fixture_zone_and_answers_ds_from_the_parent() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    assert!(nsd.zones().iter().any(|z| z == "."), "{:?}", nsd.zones());
    assert!(nsd.zones().iter().any(|z| z == "test."));
    // Every zone's SOA is answered authoritatively.
    for zone in nsd.zones() {
        let r = ask(&nsd, zone, 6);
        assert_eq!(rcode(&r), 0, "{zone} SOA rcode");
        assert!(aa(&r), "{zone} SOA not authoritative");
        assert!(ancount(&r) >= 1, "{zone} SOA: no answer");
    }
    // DS for a child: from test. (DS + RRSIG), authoritative.
    let r = ask(&nsd, "alg8.test.", 43);
    assert_eq!(rcode(&r), 0);
    assert!(aa(&r));
    assert_eq!(ancount(&r), 2, "DS and its RRSIG");
    // A name that does not exist: NXDOMAIN.
    assert_eq!(rcode(&ask(&nsd, "nx.nsec.test.", 1)), 3);
}

#[test]
fn two_servers_get_different_ports_and_stop_on_drop() {
    let a = Nsd::start_fixtures().expect("start nsd a");
    let b = Nsd::start_fixtures().expect("start nsd b");
    assert_ne!(a.port(), b.port());
    let addr = a.addr();
    drop(a);
    // After drop nothing answers on that port (ICMP refused or timeout).
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    sock.send_to(&[0u8; 12], addr).unwrap();
    let mut buf = [0u8; 512];
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "still answering after drop"
    );
    assert_eq!(rcode(&ask(&b, "test.", 6)), 0);
}

#[test]
fn zone_names_from_origin_or_first_record() {
    let dir = fixtures_dir().join("zones");
    assert_eq!(zone_name(&dir.join("root.zone")).unwrap(), ".");
    assert_eq!(
        zone_name(&dir.join("alg8.test.zone")).unwrap(),
        "alg8.test."
    );
    let tmp = std::env::temp_dir().join(format!("dane-testenv-zn-{}", std::process::id()));
    std::fs::write(&tmp, "; comment\n$ORIGIN example.\n@ SOA a b 1 2 3 4 5\n").unwrap();
    assert_eq!(zone_name(&tmp).unwrap(), "example.");
    std::fs::write(&tmp, "; only a comment\n").unwrap();
    let err = zone_name(&tmp).unwrap_err().to_string();
    assert!(err.contains("no $ORIGIN"), "{err}");
    std::fs::remove_file(&tmp).unwrap();
}

#[test]
fn missing_program_names_the_install_command() {
    let err = dane_testenv::find_program("dane-no-such-program", "no-such-package").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("scripts/install-test-deps"), "{msg}");
    assert!(msg.contains("apt-get install no-such-package"), "{msg}");
}

#[test]
fn bad_zone_file_is_a_startup_error_with_the_log() {
    let dir = std::env::temp_dir().join(format!("dane-testenv-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.zone"), "bad. 3600 IN SOA this is not a soa\n").unwrap();
    let err = Nsd::start(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.contains("nsd did not start"), "{err}");
}

#[test]
fn delv_agrees_with_cases_except_the_listed_exceptions() {
    let delv = dane_testenv::find_program("delv", "bind9-dnsutils").expect("delv");
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let anchors = fixtures_dir().join("anchors/bind.conf");
    let mut differences = Vec::new();
    for case in dane_testenv::cases().unwrap() {
        let out = std::process::Command::new(&delv)
            .arg("@127.0.0.1")
            .args(["-p", &nsd.port().to_string()])
            .arg("-a")
            .arg(&anchors)
            .arg("+root=.")
            .args([&case.name, &case.rtype])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let got = delv_verdict(&stdout, &stderr);
        if got != case.verdict {
            differences.push(format!("{}\t{}\t{got}", case.name, case.rtype));
        }
    }
    let exceptions: Vec<String> =
        dane_testenv::read_table(&fixtures_dir().join("delv-exceptions.tsv"), 5)
            .unwrap()
            .into_iter()
            .map(|row| format!("{}\t{}\t{}", row[0], row[1], row[3]))
            .collect();
    assert_eq!(
        differences, exceptions,
        "delv's differences from cases.tsv (name, type, delv verdict) must be exactly \
         those in delv-exceptions.tsv"
    );
}

/// Sends a recursive query (RD, DO) to Unbound and returns the raw response.
fn ask_recursive(addr: std::net::SocketAddr, name: &str, rtype: u16) -> Vec<u8> {
    let mut q = vec![0x43, 0x21, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&rtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.send_to(&q, addr).unwrap();
    let mut buf = vec![0; 65535];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn unbound_validates_the_fixtures_through_nsd() {
    let nsd = Nsd::start_fixtures().expect("start nsd");
    let unbound = dane_testenv::Unbound::start(&nsd).expect("start unbound");
    let good = ask_recursive(unbound.addr(), "www.alg8.test.", 1);
    assert_eq!(rcode(&good), 0);
    assert!(good[3] & 0x20 != 0, "AD bit on a secure answer");
    let bad = ask_recursive(unbound.addr(), "www.tampered.test.", 1);
    assert_eq!(rcode(&bad), 2, "SERVFAIL on a bogus answer");
    let insecure = ask_recursive(unbound.addr(), "www.insecure.test.", 1);
    assert_eq!(rcode(&insecure), 0);
    assert!(insecure[3] & 0x20 == 0, "no AD on an insecure answer");
}

/// Each signed zone verifies with ldns-verify-zone (an independent check of the signer's
/// output) except the ones broken on purpose, which fail: the damage is where we meant it.
#[test]
fn fixture_zones_verify_with_ldns_except_the_broken_ones() {
    let verify = dane_testenv::find_program("ldns-verify-zone", "ldnsutils").expect("ldns");
    let broken = [
        "expired.test.zone",
        "notyet.test.zone",
        "tampered.test.zone",
        // Unsigned on purpose (insecure delegations).
        "insecure.test.zone",
        "unsigned.optout.test.zone",
    ];
    let dir = fixtures_dir().join("zones");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{files:?}");
    for file in files {
        let out = std::process::Command::new(&verify)
            .arg(dir.join(&file))
            .output()
            .unwrap();
        let ok = out.status.success();
        assert_eq!(
            ok,
            !broken.contains(&file.as_str()),
            "{file}: ldns-verify-zone {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
