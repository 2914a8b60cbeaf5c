//! criterion benchmarks: parse + match of a 4-record RRset against a 3-certificate chain,
//! and generation from one certificate. Figures: BENCHMARKS.md.

#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)] // bench harness

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use dane_tlsa::{CertUsage, MatchOptions, MatchingType, Selector, Source, TlsaRecord};
use rustls_pki_types::UnixTime;

fn read(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/pki")
        .join(name);
    std::fs::read(path).unwrap()
}

fn hex_of(record: &TlsaRecord) -> String {
    record.data_hex()
}

fn benches(c: &mut Criterion) {
    let chain_pem = read("chain-rsa-full.pem");
    let chain = dane_tlsa::parse_certificates(&chain_pem).unwrap();
    let make = |i: usize, u, s, m| {
        dane_tlsa::generate(&Source::Certificate(chain[i].clone()), u, s, m).unwrap()
    };
    // A realistic RRset: current leaf 3 1 1, next key 3 1 1 (no match), issuer 2 1 1, root 2 0 2.
    let mut next = make(0, CertUsage::DaneEe, Selector::Spki, MatchingType::Sha256);
    next.data[0] ^= 0xff;
    let rrset = format!(
        "$ORIGIN example.test.\n\
         _25._tcp.mx1 3600 IN TLSA 3 1 1 {}\n\
         _25._tcp.mx1 3600 IN TLSA 3 1 1 {}\n\
         _25._tcp.mx1 3600 IN TLSA 2 1 1 {}\n\
         _25._tcp.mx1 3600 IN TLSA 2 0 2 {}\n",
        hex_of(&make(
            0,
            CertUsage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256
        )),
        hex_of(&next),
        hex_of(&make(
            1,
            CertUsage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256
        )),
        hex_of(&make(
            2,
            CertUsage::DaneTa,
            Selector::Cert,
            MatchingType::Sha512
        )),
    );
    let options = MatchOptions {
        reference_ids: vec!["mx1.example.test".into()],
        smtp: true,
        ..MatchOptions::default()
    };
    let now = UnixTime::since_unix_epoch(Duration::from_secs(1_900_000_000));

    c.bench_function("parse+match 4 records vs 3-cert chain", |b| {
        b.iter(|| {
            let records = dane_tlsa::parse_zone(black_box(&rrset)).unwrap().records();
            dane_tlsa::match_chain(&records, black_box(&chain), &options, now).unwrap()
        });
    });
    // DANE-TA only: forces the signature path verification for every iteration.
    let ta_only: Vec<TlsaRecord> = dane_tlsa::parse_zone(&rrset)
        .unwrap()
        .records()
        .into_iter()
        .skip(2)
        .collect();
    c.bench_function("match 2 DANE-TA records (path verification)", |b| {
        b.iter(|| dane_tlsa::match_chain(black_box(&ta_only), &chain, &options, now).unwrap());
    });
    let leaf_pem = read("leaf-rsa.pem");
    c.bench_function("generate 3 1 1 from one PEM certificate", |b| {
        b.iter(|| {
            let certs = dane_tlsa::parse_certificates(black_box(&leaf_pem)).unwrap();
            dane_tlsa::generate(
                &Source::Certificate(certs[0].clone()),
                CertUsage::DaneEe,
                Selector::Spki,
                MatchingType::Sha256,
            )
            .unwrap()
        });
    });
}

criterion_group!(tlsa, benches);
criterion_main!(tlsa);
