//! The TLSA RRsets of a rollover (RFC 6698 A.4, RFC 7671 8.1: "current + next"), and the
//! change between what is published and what should be.

use dane_tlsa::{CertUsage, MatchingType, Selector, Source, Spki, TlsaRecord};

/// The `3 1 1` record of a key (DANE-EE, SPKI, SHA2-256: RFC 7671 5.1, RFC 7672 3.1.1).
pub fn key_record(spki: &Spki) -> TlsaRecord {
    // SPKI with SHA2-256 is defined for any public key: generate cannot fail here.
    dane_tlsa::generate(
        &Source::PublicKey(spki.clone()),
        CertUsage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap_or_else(|_| {
        TlsaRecord::new(
            CertUsage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256,
            dane_tlsa::associate(spki.as_der(), MatchingType::Sha256).unwrap_or_default(),
        )
    })
}

/// The `3 1 1` record whose data is `hex` (as the state file keeps keys); `None` when it is
/// not a SHA-256 in hex.
pub fn key_record_hex(hex: &str) -> Option<TlsaRecord> {
    let data = data_encoding::HEXUPPER_PERMISSIVE
        .decode(hex.as_bytes())
        .ok()?;
    (data.len() == 32).then(|| {
        TlsaRecord::new(
            CertUsage::DaneEe,
            Selector::Spki,
            MatchingType::Sha256,
            data,
        )
    })
}

/// Whether `record` designates the key `spki` as DANE-EE with the SPKI selector, whatever
/// the matching type (`3 1 0`, `3 1 1`, `3 1 2`): a sender that sees it accepts the key.
pub fn designates_key(record: &TlsaRecord, spki: &Spki) -> bool {
    record.usage == CertUsage::DaneEe
        && record.selector == Selector::Spki
        && record.usability().is_ok()
        && dane_tlsa::associate(spki.as_der(), record.matching_type)
            .is_some_and(|d| d == record.data)
}

/// The set to publish while the next key is staged: `3 1 1` of the current key, `3 1 1` of
/// the next, and the issuer's `2 1 1` when given (optional: it keeps a renewal from the
/// same CA covered too).
pub fn staged(current: &Spki, next: &Spki, issuer: Option<&TlsaRecord>) -> Vec<TlsaRecord> {
    let mut out = vec![key_record(current)];
    let n = key_record(next);
    if !out.contains(&n) {
        out.push(n);
    }
    if let Some(i) = issuer {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

/// A change of one RRset: records to add and to delete (those that are there).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Records to add (not published yet).
    pub add: Vec<TlsaRecord>,
    /// Records to delete (published now).
    pub delete: Vec<TlsaRecord>,
}

impl Diff {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.delete.is_empty()
    }

    /// The RRset after the change.
    pub fn apply(&self, published: &[TlsaRecord]) -> Vec<TlsaRecord> {
        let mut out: Vec<TlsaRecord> = published
            .iter()
            .filter(|r| !self.delete.contains(r))
            .cloned()
            .collect();
        for r in &self.add {
            if !out.contains(r) {
                out.push(r.clone());
            }
        }
        out
    }
}

/// What turns `published` into a set holding every record of `wanted` and none of
/// `retire`; other records already published are left alone (they are someone's).
pub fn diff(published: &[TlsaRecord], wanted: &[TlsaRecord], retire: &[TlsaRecord]) -> Diff {
    let mut d = Diff::default();
    for r in wanted {
        if !published.contains(r) && !d.add.contains(r) && !retire.contains(r) {
            d.add.push(r.clone());
        }
    }
    for r in retire {
        if published.contains(r) && !wanted.contains(r) && !d.delete.contains(r) {
            d.delete.push(r.clone());
        }
    }
    d
}

/// A zone-file line: `OWNER IN TLSA U S M HEX` (with the TTL when given).
pub fn zone_line(owner: &str, ttl: Option<u32>, record: &TlsaRecord) -> String {
    match ttl {
        Some(t) => format!("{owner} {t} IN TLSA {record}"),
        None => format!("{owner} IN TLSA {record}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spki(n: u8) -> Spki {
        let pem: &[u8] = match n {
            1 => include_bytes!("../../../../fixtures/pki/leaf-ec.key"),
            _ => include_bytes!("../../../../fixtures/pki/leaf-rsa.key"),
        };
        dane_tlsa::parse_private_key(pem).unwrap()
    }

    #[test]
    fn staged_set_is_current_then_next_then_issuer() {
        let (cur, next) = (spki(1), spki(2));
        let issuer = TlsaRecord::new(
            CertUsage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
            vec![7; 32],
        );
        let set = staged(&cur, &next, Some(&issuer));
        assert_eq!(set, vec![key_record(&cur), key_record(&next), issuer]);
        // The same key twice gives one record.
        assert_eq!(staged(&cur, &cur, None), vec![key_record(&cur)]);
    }

    #[test]
    fn designates_key_for_every_spki_matching_type() {
        let (k, other) = (spki(1), spki(2));
        for mt in [
            MatchingType::Full,
            MatchingType::Sha256,
            MatchingType::Sha512,
        ] {
            let r = TlsaRecord::new(
                CertUsage::DaneEe,
                Selector::Spki,
                mt,
                dane_tlsa::associate(k.as_der(), mt).unwrap(),
            );
            assert!(designates_key(&r, &k), "{mt:?}");
            assert!(!designates_key(&r, &other), "{mt:?}");
        }
        let mut ta = key_record(&k);
        ta.usage = CertUsage::DaneTa;
        assert!(
            !designates_key(&ta, &k),
            "2 1 1 is not a DANE-EE key record"
        );
    }

    #[test]
    fn diff_adds_missing_deletes_retired_leaves_others() {
        let (a, b, c) = (key_record(&spki(1)), key_record(&spki(2)), {
            let mut r = key_record(&spki(1));
            r.matching_type = MatchingType::Sha512;
            r.data = vec![1; 64];
            r
        });
        let d = diff(
            &[a.clone(), c.clone()],
            std::slice::from_ref(&b),
            std::slice::from_ref(&a),
        );
        assert_eq!(d.add, vec![b.clone()]);
        assert_eq!(d.delete, vec![a.clone()]);
        assert_eq!(d.apply(&[a.clone(), c.clone()]), vec![c.clone(), b.clone()]);
        // Already as wanted: nothing to do.
        assert!(diff(&[a.clone(), b.clone()], &[a.clone(), b.clone()], &[]).is_empty());
        assert_eq!(key_record_hex(&a.data_hex()), Some(a.clone()));
        assert_eq!(
            key_record_hex(&a.data_hex().to_lowercase()),
            Some(a.clone())
        );
        assert_eq!(key_record_hex("AB"), None);
        assert_eq!(key_record_hex("zz"), None);
        assert_eq!(
            zone_line("_25._tcp.mx.example.", None, &a),
            format!("_25._tcp.mx.example. IN TLSA {a}")
        );
    }
}
