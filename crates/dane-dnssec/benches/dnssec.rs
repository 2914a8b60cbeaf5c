//! criterion benchmarks: validating a fully cached chain from the private root to a TLSA
//! RRset (root RSA-2048, TLD ECDSA P-256, zone Ed25519: `_25._tcp.mx.alg15.test`, evidence
//! recorded in fixtures/dns/evidence), against ring verifying the same signatures over the
//! same data with the same keys, pre-parsed (the raw rate). The figure is the ratio of
//! signature verifications per second. Figures: BENCHMARKS.md.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::print_stderr
)] // bench harness

use std::hint::black_box;
use std::str::FromStr;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dane_dnssec::{
    Evidence, Limits, Step, TrustAnchors, VerifiedSignature, validate, validate_recording,
};
use hickory_proto::rr::{Name, RecordType};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use rustls_pki_types::UnixTime;

fn fixtures() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/dns")
}

fn evidence(file: &str) -> Evidence {
    let text = std::fs::read_to_string(fixtures().join("evidence").join(file)).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f[2], "ok", "{line}");
        let wire: Vec<u8> = (0..f[3].len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&f[3][i..i + 2], 16).unwrap())
            .collect();
        rows.push((f[0].to_string(), f[1].to_string(), wire));
    }
    Evidence::from_wire(
        rows.iter()
            .map(|(n, t, w)| (n.as_str(), t.as_str(), Ok(w.as_slice()))),
    )
    .unwrap()
}

/// A key in ring's form, parsed once outside the timed loop.
enum RingKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        params: &'static signature::RsaParameters,
    },
    Other(UnparsedPublicKey<Vec<u8>>),
}

fn ring_key(s: &VerifiedSignature) -> RingKey {
    let k = &s.public_key;
    match s.algorithm {
        8 | 10 | 5 | 7 => {
            let (elen, rest) = if k[0] == 0 {
                ((usize::from(k[1]) << 8) | usize::from(k[2]), &k[3..])
            } else {
                (usize::from(k[0]), &k[1..])
            };
            let params = match s.algorithm {
                8 => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                10 => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
                _ => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            };
            RingKey::Rsa {
                e: rest[..elen].to_vec(),
                n: rest[elen..].to_vec(),
                params,
            }
        }
        13 => RingKey::Other(UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            [&[4u8][..], k].concat(),
        )),
        14 => RingKey::Other(UnparsedPublicKey::new(
            &signature::ECDSA_P384_SHA384_FIXED,
            [&[4u8][..], k].concat(),
        )),
        15 => RingKey::Other(UnparsedPublicKey::new(&signature::ED25519, k.clone())),
        a => panic!("algorithm {a}"),
    }
}

fn benches(c: &mut Criterion) {
    let anchors =
        TrustAnchors::parse(&std::fs::read_to_string(fixtures().join("anchors/root.ds")).unwrap())
            .unwrap();
    let now = UnixTime::since_unix_epoch(Duration::from_secs(1_780_272_000));
    let limits = Limits::default();
    let name = Name::from_str("_25._tcp.mx.alg15.test.").unwrap();
    let ev = evidence("_25._tcp.mx.alg15.test_TLSA.evidence");
    let (step, sigs) = validate_recording(&ev, &anchors, &name, RecordType::TLSA, now, &limits);
    let Step::Done(outcome) = step else {
        panic!("incomplete evidence")
    };
    assert_eq!(outcome.verdict.as_str(), "secure");
    let algs: Vec<u8> = sigs.iter().map(|s| s.algorithm).collect();
    eprintln!(
        "chain: {} signature verifications, algorithms {algs:?}",
        sigs.len()
    );
    let n = sigs.len() as u64;

    let mut g = c.benchmark_group("dnssec");
    g.throughput(Throughput::Elements(n));
    g.bench_function("validate cached chain to TLSA (signatures/s)", |b| {
        b.iter(|| {
            let step = validate(
                black_box(&ev),
                &anchors,
                &name,
                RecordType::TLSA,
                now,
                &limits,
            );
            assert!(matches!(step, Step::Done(ref o) if o.signatures_checked as u64 == n));
        })
    });
    let keys: Vec<(RingKey, &VerifiedSignature)> = sigs.iter().map(|s| (ring_key(s), s)).collect();
    g.bench_function(
        "ring raw verify of the same signatures (signatures/s)",
        |b| {
            b.iter(|| {
                for (k, s) in &keys {
                    match k {
                        RingKey::Rsa { n, e, params } => RsaPublicKeyComponents {
                            n: n.as_slice(),
                            e: e.as_slice(),
                        }
                        .verify(params, black_box(&s.data), &s.signature)
                        .unwrap(),
                        RingKey::Other(k) => k.verify(black_box(&s.data), &s.signature).unwrap(),
                    }
                }
            })
        },
    );
    g.finish();
    // Parsing the recorded messages into evidence (what a cache fill costs).
    let text =
        std::fs::read_to_string(fixtures().join("evidence/_25._tcp.mx.alg15.test_TLSA.evidence"))
            .unwrap();
    c.bench_function("parse evidence (6 messages)", |b| {
        b.iter(|| {
            let mut rows = Vec::new();
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                let f: Vec<&str> = line.split('\t').collect();
                let wire: Vec<u8> = (0..f[3].len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&f[3][i..i + 2], 16).unwrap())
                    .collect();
                rows.push((f[0], f[1], wire));
            }
            black_box(
                Evidence::from_wire(rows.iter().map(|(n, t, w)| (*n, *t, Ok(w.as_slice()))))
                    .unwrap(),
            )
        })
    });
}

criterion_group! {
    name = dnssec;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(dnssec);
