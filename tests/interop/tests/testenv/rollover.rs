//! The rollover servers (issue 14) proven with the reference tools only (no dane code):
//! an `nsupdate -k` with the TSIG key adds a TLSA record, the Knot primary serves it signed,
//! the secondary does not until told to transfer, delv and Unbound then validate it secure;
//! a wrong TSIG key is refused; Postfix `roll` presents the current key, then another one.
//! Needs root, like the rest of the interop environment.

use std::process::Command;

use dane_testenv::Interop;
use dane_testenv::interop::{ROLL_MX, ROLL_TTL, delv_verdict, posttls_finger_outcome};

fn start() -> Interop {
    Interop::start().expect("the interop environment must start (run as root; see the error)")
}

/// `delv @127.0.0.1 -a ANCHOR +root=. NAME TYPE` inside the namespace (through its
/// Unbound, from the private root's anchor): stdout and stderr.
fn delv(env: &Interop, name: &str, rtype: &str) -> (String, String) {
    let out = env
        .command("delv")
        .arg("@127.0.0.1")
        .arg("-a")
        .arg(env.anchor_bind())
        .arg("+root=.")
        .args([name, rtype])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const NEXT: &str = "3 1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[test]
fn update_with_the_tsig_key_is_signed_at_the_primary_lags_at_the_secondary_then_validates() {
    let env = start();
    let roll = env.rollover();
    let current = format!("3 1 1 {}", roll.spki_sha256(&roll.current_key()).unwrap());
    // The key file and certificate agree (the zone was built from the certificate).
    assert_eq!(
        roll.spki_sha256(&roll.current_cert()).unwrap(),
        roll.spki_sha256(&roll.current_key()).unwrap()
    );
    for host in ROLL_MX {
        for server in [roll.primary(), roll.secondary()] {
            assert_eq!(
                roll.tlsa_at(server, host).unwrap(),
                vec![current.clone()],
                "{host} at {server} at start"
            );
        }
    }
    let serial = roll.serial(roll.primary()).unwrap();
    assert_eq!(roll.serial(roll.secondary()).unwrap(), serial);

    // A wrong key (same name, other secret) is refused and changes nothing.
    let owner = roll.tlsa_owner(ROLL_MX[0]);
    let add = format!("update add {owner} {ROLL_TTL} TLSA {NEXT}");
    let refused = roll.update(&roll.tsig_key_wrong(), &add).unwrap();
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stderr.contains("NOTAUTH") || refused.stderr.contains("BADSIG"),
        "{refused:?}"
    );
    // No key at all: refused too.
    let anonymous = std::env::temp_dir().join(format!("dane-roll-nokey-{}", std::process::id()));
    std::fs::write(
        &anonymous,
        "key \"other-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\";\n};\n",
    )
    .unwrap();
    let unknown = roll.update(&anonymous, &add).unwrap();
    let _ = std::fs::remove_file(&anonymous);
    assert_ne!(unknown.code, 0, "{unknown:?}");
    assert_eq!(roll.serial(roll.primary()).unwrap(), serial);
    assert_eq!(
        roll.tlsa_at(roll.primary(), ROLL_MX[0]).unwrap(),
        vec![current.clone()]
    );

    // The right key: accepted, and the primary serves the record signed at once.
    let done = roll.update(&roll.tsig_key(), &add).unwrap();
    assert_eq!(done.code, 0, "{done:?}");
    let mut both = vec![current.clone(), NEXT.to_string()];
    both.sort();
    assert_eq!(roll.tlsa_at(roll.primary(), ROLL_MX[0]).unwrap(), both);
    let signed = roll
        .dig(roll.primary(), &["+dnssec", &owner, "TLSA"])
        .unwrap();
    assert!(
        signed.contains("RRSIG\tTLSA 13 ") && signed.contains("flags: qr aa"),
        "{signed}"
    );
    assert!(roll.serial(roll.primary()).unwrap() > serial);
    // The other host's record set is untouched.
    assert_eq!(
        roll.tlsa_at(roll.primary(), ROLL_MX[1]).unwrap(),
        vec![current.clone()]
    );

    // The secondary lags: still the old RRset and serial.
    assert_eq!(
        roll.tlsa_at(roll.secondary(), ROLL_MX[0]).unwrap(),
        vec![current.clone()]
    );
    assert_eq!(roll.serial(roll.secondary()).unwrap(), serial);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        roll.serial(roll.secondary()).unwrap(),
        serial,
        "no NOTIFY, no early refresh"
    );

    // Told to transfer, it catches up.
    let new_serial = roll.transfer().unwrap();
    assert!(new_serial > serial);
    assert_eq!(roll.tlsa_at(roll.secondary(), ROLL_MX[0]).unwrap(), both);
    let signed2 = roll
        .dig(roll.secondary(), &["+dnssec", &owner, "TLSA"])
        .unwrap();
    assert!(signed2.contains("RRSIG\tTLSA 13 "), "{signed2}");

    // Through the namespace's Unbound (either server now): secure, with both records.
    let (out, err) = delv(&env, &owner, "TLSA");
    assert_eq!(delv_verdict(&out, &err), "secure", "{out}{err}");
    assert!(
        out.to_ascii_lowercase()
            .contains(&NEXT[6..30].to_ascii_lowercase()),
        "{out}"
    );
    let dig = env
        .command("dig")
        .args(["@127.0.0.1", "+dnssec", &owner, "TLSA"])
        .output()
        .unwrap();
    let dig = String::from_utf8_lossy(&dig.stdout);
    assert!(
        dig.lines()
            .any(|l| l.starts_with(";; flags:") && l.contains(" ad")),
        "{dig}"
    );
    // The delegation validates too: the zone's DNSKEY from the private root.
    let (out, err) = delv(&env, "roll.test", "DNSKEY");
    assert_eq!(delv_verdict(&out, &err), "secure", "{out}{err}");
}

#[test]
fn postfix_presents_the_current_key_then_the_one_it_is_switched_to() {
    let env = start();
    let roll = env.rollover();
    let current = roll.spki_sha256(&roll.current_key()).unwrap();
    for addr in roll.mx_addresses() {
        assert_eq!(roll.presented_spki(addr).unwrap(), current, "{addr}");
    }
    // posttls-finger (DANE, through Unbound) verifies both hosts with the current record.
    for host in ROLL_MX {
        let log = env.posttls_finger_log(&[&format!("[{host}]")]).unwrap();
        assert_eq!(posttls_finger_outcome(&log), "verified", "{host}");
    }
    // Switch to a new key: every address presents it, and posttls-finger no longer
    // verifies (the zone still has only the current key's record).
    let dir = std::env::temp_dir().join(format!("dane-roll-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let next = dir.join("next.key");
    let status = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&next)
        .status()
        .unwrap();
    assert!(status.success());
    roll.use_key(&next).unwrap();
    let want = roll.spki_sha256(&next).unwrap();
    assert_ne!(want, current);
    for addr in roll.mx_addresses() {
        assert_eq!(roll.presented_spki(addr).unwrap(), want, "{addr}");
    }
    let log = env
        .posttls_finger_log(&[&format!("[{}]", ROLL_MX[0])])
        .unwrap();
    assert_eq!(posttls_finger_outcome(&log), "dane-untrusted", "{log}");
    // And back.
    roll.use_key(&roll.current_key()).unwrap();
    assert_eq!(
        roll.presented_spki(roll.mx_addresses()[3]).unwrap(),
        current
    );
    // A key file that is not a key is an error naming it, not a hang.
    let bogus = dir.join("not-a-key");
    std::fs::write(&bogus, "not a key\n").unwrap();
    let err = roll.use_key(&bogus).unwrap_err().to_string();
    assert!(err.contains("not-a-key"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
