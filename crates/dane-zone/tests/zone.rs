//! dane-zone on zones signed by real signers (ldns-signzone, dnssec-signzone; see
//! fixtures/zone/generate.sh): the good ones pass, and each defect, made by the script or
//! by a one-line edit here, gives its finding and no other.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use dane_zone::{CheckOptions, Name, ParseLimits, Record, Report, check_zone, parse_master};

/// 2026-06-01T00:00:00Z: inside every fixture signature's window (2025-01-01 to 2036-01-01).
const AT: u64 = 1_780_272_000;
/// 2025-01-01T00:00:00Z and 2036-01-01T00:00:00Z, the windows' ends.
const INCEPTION: u64 = 1_735_689_600;
const EXPIRATION: u64 = 2_082_758_400;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/zone/",
            $name
        ))
    };
}

const GOOD_LDNS: &str = fixture!("good-ldns.zone");

fn apex() -> Name {
    Name::parse("example.test.", &Name::root()).unwrap()
}

fn parse(text: &str) -> Vec<Record> {
    let mut inc = |path: &str, _: &str| -> dane_zone::IncludeResult {
        match path {
            "split-part.zone" => Ok(("split-part.zone".into(), fixture!("split-part.zone").into())),
            _ => Err(format!("{path}: not a fixture")),
        }
    };
    parse_master("zone", text, &apex(), ParseLimits::default(), &mut inc).unwrap()
}

fn report(text: &str, opts: &CheckOptions) -> Report {
    check_zone(&parse(text), &apex(), opts)
}

/// The findings as `code owner type`, in report order.
fn codes(r: &Report) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f.code.as_str(),
                f.owner,
                dane_zone::type_name(f.rtype)
            )
        })
        .collect()
}

fn check(name: &str, text: &str, opts: &CheckOptions, expected: &[&str]) {
    let r = report(text, opts);
    assert_eq!(codes(&r), expected, "{name}: {:#?}", r.findings);
    for f in &r.findings {
        assert!(!f.to_string().contains('\n'));
    }
}

/// Applies `f` to the tab-separated fields of each line of `text` (ldns-signzone's form);
/// `f` returns the lines to put instead.
fn edit(text: &str, f: impl Fn(&[&str]) -> Option<Vec<String>>) -> String {
    let mut out = String::new();
    let mut changed = false;
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match f(&fields) {
            Some(lines) => {
                changed = true;
                for l in lines {
                    out.push_str(&l);
                    out.push('\n');
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert!(changed, "the edit changed nothing");
    out
}

fn is(fields: &[&str], owner: &str, rtype: &str, rdata_prefix: &str) -> bool {
    fields.len() == 5
        && fields[0] == owner
        && fields[3] == rtype
        && fields[4].starts_with(rdata_prefix)
}

#[test]
fn good_zones_from_every_signer_pass() {
    let at = CheckOptions::at(AT);
    for (name, text) in [
        ("good-ldns", GOOD_LDNS),
        ("good-bind", fixture!("good-bind.zone")),
        ("good-nsec3", fixture!("good-nsec3.zone")),
        ("good-twoalg", fixture!("good-twoalg.zone")),
        ("good-revoked", fixture!("good-revoked.zone")),
        ("good-zonemd", fixture!("good-zonemd.zone")),
        ("good-cds", fixture!("good-cds.zone")),
        ("good-mixed", fixture!("good-mixed.zone")),
        ("good-nsec3-optout", fixture!("good-nsec3-optout.zone")),
        ("split", fixture!("split.zone")),
    ] {
        let r = report(text, &at);
        assert_eq!(codes(&r), Vec::<String>::new(), "{name}");
        assert_eq!(r.signatures_checked, r.signatures_valid, "{name}");
        assert!(r.signatures_valid >= 24, "{name}: {r:?}");
    }
    // The whole window, ends included (RFC 4034 3.1.5: inception <= now <= expiration).
    for t in [INCEPTION, EXPIRATION] {
        assert!(report(GOOD_LDNS, &CheckOptions::at(t)).findings.is_empty());
    }
}

#[test]
fn each_generated_defect_gives_its_finding() {
    let at = CheckOptions::at(AT);
    let w = "www.example.test.";
    check(
        "tampered",
        fixture!("broken-tampered.zone"),
        &at,
        &[&format!("bad-signature {w} A")],
    );
    check(
        "nosig",
        fixture!("broken-nosig.zone"),
        &at,
        &[&format!("missing-signature {w} A")],
    );
    check(
        "origttl",
        fixture!("broken-origttl.zone"),
        &at,
        &[&format!("original-ttl {w} A")],
    );
    check(
        "glue",
        fixture!("broken-glue.zone"),
        &at,
        &["signed-glue ns.sub.example.test. A"],
    );
    check(
        "nsec",
        fixture!("broken-nsec.zone"),
        &at,
        &[&format!("missing-nsec {w} NSEC")],
    );
    check(
        "nsecbitmap",
        fixture!("broken-nsecbitmap.zone"),
        &at,
        &[
            &format!("bad-signature {w} NSEC"),
            &format!("nsec-bitmap {w} NSEC"),
        ],
    );
    check(
        "nsecglue",
        fixture!("broken-nsecglue.zone"),
        &at,
        &["nsec-on-glue ns.sub.example.test. NSEC"],
    );
    check(
        "dnskey",
        fixture!("broken-dnskey.zone"),
        &at,
        &["dnskey-not-sep-signed example.test. DNSKEY"],
    );
    check(
        "missingalg",
        fixture!("broken-missingalg.zone"),
        &at,
        &[&format!("missing-algorithm {w} A")],
    );
}

#[test]
fn nsec3_chain_and_rfc9276_advice() {
    let at = CheckOptions::at(AT);
    check(
        "nsec3 hole",
        fixture!("broken-nsec3.zone"),
        &at,
        &[
            "nsec-chain tne98plpud6d2nph40ps7k722c9s6m8k.example.test. NSEC3",
            "missing-nsec www.example.test. NSEC3",
        ],
    );
    check(
        "nsec3 200 iterations",
        fixture!("broken-nsec3-iter200.zone"),
        &at,
        &["nsec3-iterations example.test. NSEC3PARAM"],
    );
    let r = report(fixture!("warn-nsec3-salt-iter10.zone"), &at);
    assert_eq!(
        codes(&r),
        [
            "nsec3-iterations example.test. NSEC3PARAM",
            "nsec3-salt example.test. NSEC3PARAM"
        ]
    );
    assert!(!r.has_errors() && r.has_warnings());
    // An NSEC3 whose parameters differ from the NSEC3PARAM's (as after a half-done resalt).
    let text = edit(fixture!("good-nsec3.zone"), |f| {
        (f.len() == 5 && f[3] == "NSEC3" && f[0].starts_with("tne98"))
            .then(|| vec![f.join("\t").replacen("1 0 0 -", "1 0 1 -", 1)])
    });
    let r = report(&text, &at);
    let got = codes(&r);
    assert!(
        got.contains(
            &"nsec3-params tne98plpud6d2nph40ps7k722c9s6m8k.example.test. NSEC3".to_string()
        ),
        "{got:?}"
    );
}

#[test]
fn nsec3_opt_out_spans() {
    let at = CheckOptions::at(AT);
    // The flag cleared on the NSEC3 whose span leaves out the insecure delegation insec
    // (after signing, so its signature fails too), and the chain's flags now differ.
    check(
        "opt-out flag cleared",
        fixture!("broken-nsec3-optout.zone"),
        &at,
        &[
            "bad-signature hu3ak67sfhjgup2vt66c1v13nli5jn5p.example.test. NSEC3",
            "nsec3-opt-out insec.example.test. NSEC3",
            "nsec3-opt-out example.test. NSEC3",
        ],
    );
    // Without opt-out (good-nsec3: no flag), an insecure delegation added without its
    // NSEC3: the span that covers it denies it.
    let text = format!(
        "{}insec.example.test.\t3600\tIN\tNS\tns.other.\n",
        fixture!("good-nsec3.zone")
    );
    let r = report(&text, &at);
    let got = codes(&r);
    assert!(
        got.contains(&"nsec3-opt-out insec.example.test. NSEC3".to_string()),
        "{got:?}"
    );
}

#[test]
fn validity_window_at_a_given_time() {
    let r = report(GOOD_LDNS, &CheckOptions::at(EXPIRATION + 1));
    assert!(
        r.findings
            .iter()
            .all(|f| f.code.as_str() == "signature-expired")
    );
    assert_eq!(r.findings.len(), 24);
    let f = &r.findings[0];
    assert!(
        f.what
            .contains("expired at 2036-01-01T00:00:00Z, checked at 2036-01-01T00:00:01Z"),
        "{f}"
    );
    assert!(f.key_tag.is_some());
    let r = report(GOOD_LDNS, &CheckOptions::at(INCEPTION - 1));
    assert!(
        r.findings
            .iter()
            .all(|f| f.code.as_str() == "signature-not-yet-valid")
    );
    assert!(
        r.findings[0]
            .what
            .contains("not valid before 2025-01-01T00:00:00Z"),
        "{}",
        r.findings[0]
    );

    // Expiring soon: one warning for all, naming the first; none when the window is short.
    let soon = CheckOptions {
        expire_within: 30 * 86_400,
        ..CheckOptions::at(EXPIRATION - 86_400)
    };
    let r = report(GOOD_LDNS, &soon);
    assert_eq!(codes(&r), ["expires-soon example.test. SOA"]);
    assert!(
        r.findings[0]
            .what
            .starts_with("24 signature(s) expire within 2592000s"),
        "{}",
        r.findings[0]
    );
    assert!(!r.has_errors() && r.has_warnings());
    let later = CheckOptions {
        expire_within: 86_399,
        ..CheckOptions::at(EXPIRATION - 86_400)
    };
    assert!(report(GOOD_LDNS, &later).findings.is_empty());
}

#[test]
fn edits_of_a_good_zone_give_their_finding() {
    let at = CheckOptions::at(AT);
    type Edit = fn(&[&str]) -> Option<Vec<String>>;
    let cases: &[(&str, Edit, &[&str])] = &[
        // The key tag of the www A RRSIG changed: no DNSKEY has it.
        (
            "unknown key",
            |f| {
                is(f, "www.example.test.", "RRSIG", "A ")
                    .then(|| vec![f.join("\t").replace(" 43635 ", " 1 ")])
            },
            &["unknown-key www.example.test. A"],
        ),
        // Signed by another zone's name.
        (
            "wrong signer",
            |f| {
                is(f, "www.example.test.", "RRSIG", "A ")
                    .then(|| vec![f.join("\t").replace(" example.test. ", " test. ")])
            },
            &["wrong-signer www.example.test. A"],
        ),
        // The labels field says 2 for a three-label owner (as if a wildcard expansion).
        (
            "labels",
            |f| {
                is(f, "www.example.test.", "RRSIG", "A ")
                    .then(|| vec![f.join("\t").replace("A 13 3 ", "A 13 2 ")])
            },
            &["wrong-labels www.example.test. A"],
        ),
        // An algorithm we cannot verify (Ed448): an error, never a pass.
        (
            "unsupported",
            |f| {
                is(f, "www.example.test.", "RRSIG", "A ")
                    .then(|| vec![f.join("\t").replace("A 13 3 ", "A 16 3 ")])
            },
            &[
                "unsupported-algorithm www.example.test. A",
                "missing-algorithm www.example.test. A",
            ],
        ),
        // A second www A record with another TTL.
        (
            "ttl mismatch",
            |f| {
                is(f, "www.example.test.", "A", "").then(|| {
                    vec![
                        f.join("\t"),
                        "www.example.test.\t60\tIN\tA\t192.0.2.7".into(),
                    ]
                })
            },
            &[
                "ttl-mismatch www.example.test. A",
                "bad-signature www.example.test. A",
            ],
        ),
        // A record outside the zone.
        (
            "out of zone",
            |f| {
                is(f, "www.example.test.", "A", "")
                    .then(|| vec![f.join("\t"), "www.other.test.\t60\tIN\tA\t192.0.2.7".into()])
            },
            &["out-of-zone www.other.test. A"],
        ),
        // The delegation's NS RRset signed (a copy of the apex NS RRSIG moved there).
        (
            "signed delegation NS",
            |f| {
                is(f, "example.test.", "RRSIG", "NS ").then(|| {
                    vec![
                        f.join("\t"),
                        f.join("\t")
                            .replacen("example.test.", "sub.example.test.", 1),
                    ]
                })
            },
            &["signed-glue sub.example.test. NS"],
        ),
        // An RRSIG covering a type the name does not have.
        (
            "orphan",
            |f| {
                is(f, "www.example.test.", "RRSIG", "A ").then(|| {
                    vec![
                        f.join("\t"),
                        f.join("\t").replace("RRSIG\tA ", "RRSIG\tMX "),
                    ]
                })
            },
            &["orphan-signature www.example.test. MX"],
        ),
        // The chain skips www: its predecessor points at the apex.
        (
            "nsec chain",
            |f| {
                is(f, "*.wild.example.test.", "NSEC", "www.example.test.").then(|| {
                    vec![
                        f.join("\t")
                            .replace("\twww.example.test.", "\texample.test."),
                    ]
                })
            },
            &[
                "bad-signature *.wild.example.test. NSEC",
                "nsec-chain *.wild.example.test. NSEC",
            ],
        ),
    ];
    for (name, f, expected) in cases {
        check(name, &edit(GOOD_LDNS, f), &at, expected);
    }
}

#[test]
fn zones_that_are_not_signed_or_have_no_denial() {
    let at = CheckOptions::at(AT);
    let unsigned = fixture!("example.test.src");
    check(
        "unsigned",
        unsigned,
        &at,
        &["not-signed example.test. DNSKEY"],
    );
    let no_nsec = edit(GOOD_LDNS, |f| {
        (f.len() == 5 && (f[3] == "NSEC" || (f[3] == "RRSIG" && f[4].starts_with("NSEC "))))
            .then(Vec::new)
    });
    check(
        "no denial",
        &no_nsec,
        &at,
        &["no-denial example.test. NSEC"],
    );
}

#[test]
fn dname_occludes_the_names_below_it() {
    // A DNAME at www makes a.www occluded (RFC 6672 2.4): unsigned data there is no error,
    // but the DNAME itself must be signed and is not.
    let text = edit(GOOD_LDNS, |f| {
        is(f, "www.example.test.", "A", "").then(|| {
            vec![
                f.join("\t"),
                "www.example.test.\t3600\tIN\tDNAME\tother.test.".into(),
                "a.www.example.test.\t3600\tIN\tA\t192.0.2.9".into(),
            ]
        })
    });
    check(
        "dname",
        &text,
        &CheckOptions::at(AT),
        &[
            "missing-signature www.example.test. DNAME",
            "nsec-bitmap www.example.test. NSEC",
        ],
    );
}

#[test]
fn tlsa_form_findings() {
    let at = CheckOptions::at(AT);
    let retype = |new: &'static str| {
        edit(GOOD_LDNS, move |f| {
            is(f, "_25._tcp.mx.example.test.", "TLSA", "3 1 1 ").then(|| {
                let mut g: Vec<String> = f.iter().map(|x| x.to_string()).collect();
                g[4] = new.to_string();
                vec![g.join("\t")]
            })
        })
    };
    let owner = "_25._tcp.mx.example.test.";
    // A SHA-256 digest of 2 octets: unusable, and the RRset has nothing else.
    let r = report(&retype("3 1 1 abcd"), &at);
    let got = codes(&r);
    assert!(
        got.contains(&format!("tlsa-unusable {owner} TLSA")),
        "{got:?}"
    );
    let errors: Vec<&dane_zone::Finding> = r
        .findings
        .iter()
        .filter(|f| f.code.as_str() == "tlsa-unusable")
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|f| f.what.contains("none of the 1 TLSA records is usable"))
    );
    // The host of the TLSA owner loses its address.
    let text = edit(GOOD_LDNS, |f| {
        is(f, "mx.example.test.", "A", "").then(Vec::new)
    });
    let r = report(&text, &at);
    let f = r
        .findings
        .iter()
        .find(|f| f.code.as_str() == "tlsa-no-address")
        .unwrap();
    assert_eq!(
        (f.owner.to_string().as_str(), f.severity),
        (owner, dane_zone::Severity::Warning)
    );
    assert!(
        f.what
            .contains("the host mx.example.test. has no A, AAAA or CNAME"),
        "{f}"
    );
    // PKIX-EE at an SMTP owner (RFC 7672 3.1.3).
    let r = report(
        &retype("1 1 1 023f17bed68131ca3cf29fbc1fd53fae562435d8f83a3f114367b63567d74b56"),
        &at,
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.what.contains("usage 1 is unusable for SMTP")),
        "{:?}",
        r.findings
    );
}

#[test]
fn a_revoked_key_signs_the_dnskey_rrset_only() {
    // good-revoked.zone passes (above): the REVOKE-flagged key (tag 405) self-signs the
    // DNSKEY RRset (RFC 5011 2.1). Its tag on another RRset's RRSIG is refused.
    let text = edit(fixture!("good-revoked.zone"), |f| {
        is(f, "www.example.test.", "RRSIG", "A ")
            .then(|| vec![f.join("\t").replace(" 43635 ", " 405 ")])
    });
    check(
        "revoked",
        &text,
        &CheckOptions::at(AT),
        &["revoked-key www.example.test. A"],
    );
}

#[test]
fn zonemd_is_verified() {
    let at = CheckOptions::at(AT);
    // The glue address changed after the digest: nothing but ZONEMD can tell.
    check(
        "zonemd",
        fixture!("broken-zonemd.zone"),
        &at,
        &["zonemd example.test. ZONEMD"],
    );
    // Another serial than the SOA's (the ZONEMD RRSIG then fails too).
    let zonemd = |f: &[&str], from: &str, to: &str| {
        is(f, "example.test.", "ZONEMD", from).then(|| vec![f.join("\t").replacen(from, to, 1)])
    };
    let text = edit(fixture!("good-zonemd.zone"), |f| {
        zonemd(f, "2025010101 1 1 ", "2025010102 1 1 ")
    });
    let r = report(&text, &at);
    assert_eq!(
        codes(&r),
        [
            "bad-signature example.test. ZONEMD",
            "zonemd example.test. ZONEMD"
        ]
    );
    assert!(
        r.findings[1]
            .what
            .contains("serial 2025010102 is not the SOA serial"),
        "{}",
        r.findings[1]
    );
    // A scheme we do not know is ignored (RFC 8976 4): a warning that nothing was verified.
    let text = edit(fixture!("good-zonemd.zone"), |f| {
        zonemd(f, "2025010101 1 1 ", "2025010101 9 1 ")
    });
    let r = report(&text, &at);
    assert_eq!(
        codes(&r),
        [
            "bad-signature example.test. ZONEMD",
            "zonemd example.test. ZONEMD"
        ]
    );
    assert_eq!(r.findings[1].severity, dane_zone::Severity::Warning);
}

#[test]
fn cds_cdnskey_and_the_parent_ds() {
    let at = CheckOptions::at(AT);
    check(
        "cds",
        fixture!("broken-cds.zone"),
        &at,
        &["cds-mismatch example.test. CDS"],
    );
    // The delete form (RFC 8078 4) beside another CDS; and a CDNSKEY naming another key
    // than the CDS (each edit also breaks the RRSIG over the edited RRset).
    let text = edit(fixture!("good-cds.zone"), |f| {
        is(f, "example.test.", "CDS", "").then(|| {
            vec![
                f.join("\t"),
                "example.test.\t3600\tIN\tCDS\t0 0 0 00".into(),
            ]
        })
    });
    let r = report(&text, &at);
    assert!(
        r.findings
            .iter()
            .any(|f| f.code.as_str() == "cds-mismatch" && f.what.contains("delete record")),
        "{:?}",
        r.findings
    );
    let zsk = GOOD_LDNS
        .lines()
        .find(|l| l.contains("\tDNSKEY\t256 "))
        .unwrap();
    let text = edit(fixture!("good-cds.zone"), |f| {
        is(f, "example.test.", "CDNSKEY", "")
            .then(|| vec![zsk.replace("\tDNSKEY\t", "\tCDNSKEY\t")])
    });
    let r = report(&text, &at);
    assert!(
        r.findings.iter().any(|f| f.code.as_str() == "cds-mismatch"
            && f.what == "CDS and CDNSKEY name different keys"),
        "{:?}",
        r.findings
    );

    let ds = |text: &str| -> Option<Vec<Vec<u8>>> {
        Some(parse(text).into_iter().map(|r| r.rdata).collect())
    };
    let with = |parent_ds| CheckOptions {
        parent_ds,
        ..CheckOptions::at(AT)
    };
    check("ds", GOOD_LDNS, &with(ds(fixture!("parent.ds"))), &[]);
    check(
        "wrong ds",
        GOOD_LDNS,
        &with(ds(fixture!("wrong.ds"))),
        &["ds-mismatch example.test. DS"],
    );
    // RFC 7344 4.1: CDS and CDNSKEY signed by a key the parent's DS names (ldns-signzone
    // signs them with the KSK, which parent.ds names). Without the CDS's RRSIG, the CDNSKEY
    // still is, the CDS not: a warning besides the missing signature; without --ds, none.
    check(
        "cds signed by the ds key",
        fixture!("good-cds.zone"),
        &with(ds(fixture!("parent.ds"))),
        &[],
    );
    let cds_unsigned = edit(fixture!("good-cds.zone"), |f| {
        is(f, "example.test.", "RRSIG", "CDS ").then(Vec::new)
    });
    check(
        "cds signed by no ds key",
        &cds_unsigned,
        &with(ds(fixture!("parent.ds"))),
        &[
            "missing-signature example.test. CDS",
            "cds-mismatch example.test. CDS",
        ],
    );
    check(
        "cds unsigned, no --ds",
        &cds_unsigned,
        &at,
        &["missing-signature example.test. CDS"],
    );
}

/// issue 23: a `2 1 1` pinning one of Let's Encrypt's YE1-YE3 (SPKI digests from
/// data/ca-families.json, which dane-tlsa's tests recompute from the certificates) is an
/// `issuer-family` warning naming the records to add; the whole family, or a list without
/// the CA, is not. A pin of the 2024 generation names its successor.
#[test]
fn issuer_family_findings() {
    const YE1: &str = "6ebcefb4210b088654a38b03fea3d7d1c711b4fb1ddc363a45f9b1a4e53da01e";
    const YE2: &str = "b3fb5d00e994cddf2cc9a4eea9f806bc5727e83cc0e4299bf956f2d524fe5376";
    const YE3: &str = "a698a20824be04e47a1a33c4fa488731be92011f23a31e900e2ca26c9c2acfce";
    const E5: &str = "3586d4ecf070578cbd27aedce20b964e48bc149faeb9dad72f46b857869172b8";
    let at = CheckOptions::at(AT);
    let owner = "_25._tcp.mx.example.test.";
    let with = |data: &'static [&'static str]| {
        edit(GOOD_LDNS, move |f| {
            is(f, owner, "TLSA", "3 1 1 ").then(|| {
                data.iter()
                    .map(|d| {
                        let mut g: Vec<String> = f.iter().map(|x| x.to_string()).collect();
                        g[4] = format!("2 1 1 {d}");
                        g.join("\t")
                    })
                    .collect()
            })
        })
    };
    let family = |r: &Report| -> Vec<dane_zone::Finding> {
        r.findings
            .iter()
            .filter(|f| f.code.as_str() == "issuer-family")
            .cloned()
            .collect()
    };
    let one = family(&report(&with(&[YE1]), &at));
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(
        (one[0].owner.to_string().as_str(), one[0].severity),
        (owner, dane_zone::Severity::Warning)
    );
    let what = &one[0].what;
    assert!(
        what.contains("DANE-TA pins YE1 of Let's Encrypt's Generation Y (ECDSA)"),
        "{what}"
    );
    for d in [YE2, YE3] {
        let line = format!("{owner} IN TLSA 2 1 1 {}", d.to_uppercase());
        assert!(what.contains(&line), "{what} lacks {line}");
    }
    assert!(!what.contains(&YE1.to_uppercase()), "{what}");
    // The whole family: nothing to add.
    assert!(family(&report(&with(&[YE1, YE2, YE3]), &at)).is_empty());
    // The 2024 generation, replaced on 2026-05-13: the current one is named.
    let old = family(&report(&with(&[E5]), &at));
    assert!(
        old[0]
            .what
            .contains("which Generation Y (ECDSA) replaced on 2026-05-13"),
        "{}",
        old[0].what
    );
    assert!(old[0].what.contains(&YE1.to_uppercase()), "{}", old[0].what);
    // A list that does not know the CA (`--ca-families FILE`): no finding.
    let other = CheckOptions {
        ca_families: std::sync::Arc::new(
            dane_tlsa::CaFamilies::parse(
                r#"{"format":1,"version":"t","families":[{"id":"x","ca":"X","generation":"1","key_type":"RSA","issues_for":"RSA keys","source":"test","members":[{"name":"X1","subject":"CN=X1","not_before":"2020-01-01T00:00:00Z","not_after":"2030-01-01T00:00:00Z","spki_sha256":"0101010101010101010101010101010101010101010101010101010101010101","cert_sha256":"0202020202020202020202020202020202020202020202020202020202020202","source":"test"}]}]}"#,
            )
            .unwrap(),
        ),
        ..CheckOptions::at(AT)
    };
    assert!(family(&report(&with(&[YE1]), &other)).is_empty());
}

#[test]
fn a_chain_authenticated_only_by_an_intermediate_pin_warns() {
    use dane_zone::{Deployed, tlsa_for};
    // leaf-ec (mx2.example.test), its intermediate, and the root.
    let full = dane_tlsa::parse_certificates(include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/pki/chain-ec-full.pem"
    )))
    .unwrap();
    let record = |usage: u8, cert: &rustls_pki_types::CertificateDer<'static>| {
        let spki = dane_tlsa::certificate_spki(cert.as_ref()).unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("_25._tcp.mx2 TLSA {usage} 1 1 {hex}\n")
    };
    let owner = Name::parse("_25._tcp.mx2.example.test.", &Name::root()).unwrap();
    let run = |tlsa: &str| {
        let text = format!("$TTL 300\n@ SOA ns. host. 1 2 3 4 5\nmx2 A 192.0.2.25\n{tlsa}");
        let records = parse(&text);
        // 2030-01-01: inside the fixture certificates' validity (fixtures/pki/generate.sh).
        let found = tlsa_for(&records, &owner, Deployed::Chain(&full), 1_893_456_000);
        found
            .iter()
            .map(|f| format!("{} {}", f.severity.as_str(), f.code.as_str()))
            .collect::<Vec<_>>()
    };
    // Only the intermediate pinned: authenticated, with the warning.
    assert_eq!(run(&record(2, &full[1])), ["warning tlsa-intermediate-pin"]);
    // With the server key (3 1 1) beside it, or the root pinned instead: no warning.
    assert!(run(&(record(2, &full[1]) + &record(3, &full[0]))).is_empty());
    assert!(run(&record(2, &full[2])).is_empty());
    // DANE-TA checks the leaf's names against the TLSA base domain (the owner's host):
    // leaf-ec is mx2.example.test, not mx.example.test.
    let text = format!(
        "$TTL 300\n@ SOA ns. host. 1 2 3 4 5\nmx A 192.0.2.25\n{}",
        record(2, &full[2]).replace("mx2", "mx")
    );
    let mx = Name::parse("_25._tcp.mx.example.test.", &Name::root()).unwrap();
    let found = tlsa_for(&parse(&text), &mx, Deployed::Chain(&full), 1_893_456_000);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].what.contains("match none of [mx.example.test]"),
        "{}",
        found[0].what
    );
}

#[test]
fn the_report_does_not_depend_on_the_number_of_threads() {
    // More RRsets than one batch of the parallel signature checks, with findings all
    // along the zone, and every signature in the expiring-soon and too-recent windows (all
    // fixture signatures share their times: the first RRset in canonical order must win).
    let mut text = GOOD_LDNS.to_string();
    for i in 0..70_000 {
        text.push_str(&format!("u{i} 300 A 192.0.2.{}\n", i % 250 + 1));
    }
    let records = parse(&text);
    let mut opts = CheckOptions::at(AT);
    opts.expire_within = EXPIRATION - AT + 1;
    opts.inception_margin = AT - INCEPTION + 1;
    // The file (about 1.8 MB) is parsed in one part per thread too.
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                assert!(parse(&text) == records, "{threads} threads");
                check_zone(&records, &apex(), &opts)
            })
    };
    let one = on(1);
    let missing = one
        .findings
        .iter()
        .filter(|f| f.code.as_str() == "missing-signature")
        .count();
    assert_eq!(missing, 70_000);
    assert!(one.signatures_valid > 10, "{}", one.signatures_valid);
    assert_eq!(one.signatures_valid, one.signatures_checked);
    let soon: Vec<&str> = one
        .findings
        .iter()
        .filter(|f| matches!(f.code.as_str(), "expires-soon" | "inception-too-recent"))
        .map(|f| f.what.as_str())
        .collect();
    assert_eq!(soon.len(), 2, "{soon:?}");
    // The apex sorts first, and its first RRset in type order is the NS RRset.
    assert!(
        soon.iter().all(|w| w.contains("(example.test. NS)")),
        "{soon:?}"
    );
    for threads in [2, 3, 8] {
        assert_eq!(on(threads), one, "{threads} threads");
    }
}
