//! A TLSA RRset as the reports show it: in RFC 4034 6.3 canonical order (so a record keeps
//! its number whatever order a resolver returned the set in), each record with a stable id
//! derived from its data (for metric labels) and the shortest prefix of its data that tells
//! it apart from the others of its set (for text).

use std::cmp::Ordering;

use dane_tlsa::{MatchingType, TlsaRecord};

use crate::dns::{Answer, Lookup};

/// RFC 4034 6.3: the records of an RRset in canonical order, sorted by their RDATA as
/// left-justified unsigned octet sequences (a shorter one first when it is a prefix of a
/// longer one); duplicates removed (RFC 2181 5: an RRset has no duplicate records).
pub fn canonical_order(records: &mut Vec<TlsaRecord>) {
    records.sort_by_cached_key(TlsaRecord::to_rdata);
    records.dedup();
}

/// The lookup with its records (if any) in canonical order.
pub fn canonical_lookup(mut lookup: Lookup<TlsaRecord>) -> Lookup<TlsaRecord> {
    if let Answer::Records(records) = &mut lookup.answer {
        canonical_order(records);
    }
    lookup
}

/// How many hex digits of the data make a record id.
const ID_DIGITS: usize = 16;

/// The data an id is taken from: the association data when it is a digest, and its
/// SHA-256 for matching type 0 (a whole certificate or key, whose first octets are the
/// same DER header for every record).
fn id_source(r: &TlsaRecord) -> String {
    match r.matching_type {
        MatchingType::Full => dane_tlsa::associate(&r.data, MatchingType::Sha256)
            .map_or_else(|| r.data_hex(), |d| data_encoding::HEXUPPER.encode(&d)),
        _ => r.data_hex(),
    }
}

/// Stable ids for the records of one set, in the same order: the first 16 hex digits of
/// each record's association data (of its SHA-256 for matching type 0, whose data starts
/// with the same DER header for every record), or all of them for records that would share an
/// id with another of the same usage, selector and matching type. The id depends on the
/// record alone (not on its place in the set) unless such a collision forces more digits.
pub fn record_ids(records: &[TlsaRecord]) -> Vec<String> {
    let full: Vec<String> = records.iter().map(id_source).collect();
    let short = |s: &str| s.chars().take(ID_DIGITS).collect::<String>();
    let key = |i: usize| {
        let r = &records[i];
        (r.usage, r.selector, r.matching_type, short(&full[i]))
    };
    (0..records.len())
        .map(|i| {
            let clash = (0..records.len()).any(|j| j != i && key(j) == key(i));
            if clash {
                full[i].clone()
            } else {
                short(&full[i])
            }
        })
        .collect()
}

/// The fewest hex digits a shortened record shows.
const MIN_PREFIX: usize = 8;

/// For each record of a set, the shortest prefix of its data (upper-case hex, at least 8
/// digits) that no other record's data in the set starts with; the whole data when it is
/// that short or when no prefix is unique (another record has the same data).
pub fn unique_prefixes(records: &[TlsaRecord]) -> Vec<String> {
    let hex: Vec<String> = records.iter().map(TlsaRecord::data_hex).collect();
    hex.iter()
        .enumerate()
        .map(|(i, h)| {
            let mut n = MIN_PREFIX.min(h.len());
            while n < h.len()
                && hex
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != i && o.starts_with(&h[..n]))
            {
                n += 1;
            }
            h[..n].to_owned()
        })
        .collect()
}

/// RFC 4034 6.1: canonical DNS name order (labels compared from the root down, each as
/// lowercase octets, a missing label sorting first), for names in presentation form.
pub fn canonical_name_cmp(a: &str, b: &str) -> Ordering {
    let labels = |n: &str| -> Vec<Vec<u8>> {
        n.trim_end_matches('.')
            .split('.')
            .filter(|l| !l.is_empty())
            .rev()
            .map(|l| l.to_ascii_lowercase().into_bytes())
            .collect()
    };
    labels(a).cmp(&labels(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(s: &str) -> TlsaRecord {
        s.parse().unwrap()
    }

    #[test]
    fn canonical_order_is_rdata_order() {
        let a = rec("3 1 1 BB00000000000000000000000000000000000000000000000000000000000000");
        let b = rec("3 1 1 AA00000000000000000000000000000000000000000000000000000000000000");
        let c = rec("2 1 1 FF00000000000000000000000000000000000000000000000000000000000000");
        let d = rec("3 0 0 AA");
        let e = rec("3 0 0 AA00");
        for input in [
            vec![a.clone(), b.clone(), c.clone(), e.clone(), d.clone()],
            vec![
                d.clone(),
                c.clone(),
                b.clone(),
                a.clone(),
                e.clone(),
                a.clone(),
            ],
        ] {
            let mut v = input;
            canonical_order(&mut v);
            assert_eq!(
                v,
                vec![c.clone(), d.clone(), e.clone(), b.clone(), a.clone()]
            );
        }
    }

    #[test]
    fn prefixes_are_unique_within_the_set() {
        let set = [
            rec("3 1 1 ABCDEF0123456789000000000000000000000000000000000000000000000000"),
            rec("3 1 1 ABCDEF0123999999000000000000000000000000000000000000000000000000"),
            rec("3 1 1 1111111111111111111111111111111111111111111111111111111111111111"),
            rec("3 0 0 AB"),
        ];
        assert_eq!(
            unique_prefixes(&set),
            ["ABCDEF01234", "ABCDEF01239", "11111111", "AB"]
        );
        // Identical data under other parameters: no prefix is unique, the whole is shown.
        let same = [
            rec("3 1 1 1111111111111111111111111111111111111111111111111111111111111111"),
            rec("2 1 1 1111111111111111111111111111111111111111111111111111111111111111"),
        ];
        assert_eq!(unique_prefixes(&same)[0].len(), 64);
    }

    #[test]
    fn ids_depend_on_the_record_not_its_place() {
        let a = rec("3 1 1 ABCDEF0123456789000000000000000000000000000000000000000000000000");
        let b = rec("2 1 1 1111111111111111111111111111111111111111111111111111111111111111");
        assert_eq!(
            record_ids(&[a.clone(), b.clone()]),
            ["ABCDEF0123456789", "1111111111111111"]
        );
        assert_eq!(
            record_ids(&[b.clone(), a.clone()]),
            ["1111111111111111", "ABCDEF0123456789"]
        );
        // Full data: the id is of its SHA-256, not of the common DER header.
        let full = record_ids(&[rec("3 0 0 308201"), rec("3 0 0 308202")]);
        assert_ne!(full[0], full[1]);
        assert!(!full[0].starts_with("308"), "{full:?}");
        // Same first 16 digits and parameters: the whole data keeps the series apart.
        let c = rec("3 1 1 ABCDEF0123456789FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
        let ids = record_ids(&[a, c]);
        assert_ne!(ids[0], ids[1]);
        assert_eq!(ids[0].len(), 64);
    }

    #[test]
    fn canonical_name_order() {
        // RFC 4034 6.1's example, shuffled.
        let mut names = vec![
            "z.example.",
            "example.",
            "*.z.example.",
            "a.example.",
            "Z.a.example.",
            "yljkjljk.a.example.",
            "zABC.a.EXAMPLE.",
            "\\200.z.example.",
        ];
        names.sort_by(|a, b| canonical_name_cmp(a, b));
        assert_eq!(
            names,
            [
                "example.",
                "a.example.",
                "yljkjljk.a.example.",
                "Z.a.example.",
                "zABC.a.EXAMPLE.",
                "z.example.",
                "*.z.example.",
                "\\200.z.example.",
            ]
        );
    }
}
