//! The NSEC3 chain of a zone signed with NSEC3 (RFC 5155 7.1, RFC 9276): one parameter set,
//! the NSEC3PARAM's; an NSEC3 at the hash of every authoritative name and empty non-terminal;
//! each pointing at the next hash, the last at the first; bitmaps listing exactly the types
//! at the original name; iterations and salt as RFC 9276 advises.

use super::Findings as _;
use std::collections::BTreeSet;

use data_encoding::BASE32_DNSSEC;

use super::nsec::{expected_types, parse_bitmap};
use super::{FindingCode as C, Run, Zone};
use crate::name::Name;

const NSEC3: u16 = 50;
const NSEC3PARAM: u16 = 51;
const NS: u16 = 2;
const DS: u16 = 43;
/// RFC 9276 3.2: validators may treat more iterations as insecure (Unbound and BIND do).
pub(crate) const MAX_ITERATIONS: u16 = 150;
/// Most SHA-1 runs spent hashing a zone's names (a budget against hostile zones).
const MAX_SHA1_RUNS: u64 = 200_000_000;

/// An NSEC3 parameter set: hash algorithm, iterations, salt (RFC 5155 4.1).
type Params = (u8, u16, Vec<u8>);

/// One NSEC3 record, parsed (RFC 5155 3.2): its fields borrowed from the grouped zone's
/// RDATA (a zone of 200,000 names held 60 MB of copies of them, hashes, salts and bitmaps
/// as trees, while the chain was checked).
struct Nsec3<'z> {
    /// Hash algorithm, iterations, salt.
    params: (u8, u16, &'z [u8]),
    opt_out: bool,
    next: &'z [u8],
    /// The type bitmap, well formed (checked when parsed); read when compared.
    bitmap: &'z [u8],
}

impl Nsec3<'_> {
    fn types(&self) -> BTreeSet<u16> {
        parse_bitmap(self.bitmap).unwrap_or_default()
    }
}

/// The NSEC3 records by owner hash: sorted by hash, one per hash.
struct Records<'z>(Vec<(Box<[u8]>, Nsec3<'z>)>);

impl<'z> Records<'z> {
    fn get(&self, hash: &[u8]) -> Option<&Nsec3<'z>> {
        let i = self.0.binary_search_by(|(h, _)| (**h).cmp(hash)).ok()?;
        Some(&self.0[i].1)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The hashes of the names that need an NSEC3, sorted by hash, one name per hash.
struct Hashed(Vec<([u8; 20], Name)>);

impl Hashed {
    fn contains(&self, hash: &[u8]) -> bool {
        self.0.binary_search_by(|(h, _)| h[..].cmp(hash)).is_ok()
    }
}

/// Sorts by key, keeping the last entry of equal keys (as a map's inserts in that order).
fn sort_keep_last<K: Ord, V>(v: &mut Vec<(K, V)>) {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            std::mem::swap(later, kept);
        }
        same
    });
}

/// Checks the NSEC3 chain when the apex has an NSEC3PARAM; `false` when the zone is not an
/// NSEC3 zone (so the NSEC checks apply).
pub(super) fn check_nsec3(run: &mut Run<'_>, zone: &Zone, occluded: &BTreeSet<Name>) -> bool {
    let apex = run.apex.clone();
    let Some(param_set) = zone.sets.get(&apex).and_then(|t| t.get(&NSEC3PARAM)) else {
        return false;
    };
    // RFC 5155 4: flags 0 for the NSEC3PARAM that names the chain in use.
    let params: Vec<Params> = param_set
        .rdatas
        .iter()
        .filter_map(|rd| parse_param(rd))
        .collect();
    let Some(params) = single_params(run, &apex, &params) else {
        return true;
    };
    advice(run, &apex, &params);
    if params.1 > 500 || params.0 != 1 {
        return true; // not hashed: the finding above says why
    }
    let records = collect(run, zone, &params);
    let names = required_names(zone, occluded, &apex);
    let cost = names.len() as u64 * (u64::from(params.1) + 1);
    if cost > MAX_SHA1_RUNS {
        let what = format!(
            "hashing {} names at {} iterations is past the budget",
            names.len(),
            params.1
        );
        run.error(C::TooManySignatures, &apex, NSEC3, what, "RFC 9276 3.2");
        return true;
    }
    // The names move into the hashed list (their set's tree freed as it goes).
    let mut hashed: Vec<([u8; 20], Name)> = names
        .into_iter()
        .map(|n| (dane_dnssec::nsec3_hash(&n.wire(), &params.2, params.1), n))
        .collect();
    sort_keep_last(&mut hashed);
    let hashed = Hashed(hashed);
    chain(run, &records, &hashed, &apex);
    opt_out_consistent(run, &records);
    owners(run, zone, &records, &hashed);
    true
}

/// Every name has its NSEC3 (an insecure delegation may be left out, RFC 5155 7.1), with
/// the types at the name in its bitmap.
fn owners(run: &mut Run<'_>, zone: &Zone, records: &Records, hashed: &Hashed) {
    let apex = run.apex.clone();
    for (hash, name) in &hashed.0 {
        let Some(rec) = records.get(&hash[..]) else {
            // RFC 5155 7.1 allows an opt-out span to leave out insecure delegations only.
            let insecure_cut = zone
                .sets
                .get(name)
                .is_some_and(|t| t.contains_key(&NS) && !t.contains_key(&DS));
            if !insecure_cut {
                let what = format!(
                    "no NSEC3 at the hash {} of this name",
                    BASE32_DNSSEC.encode(hash)
                );
                run.error(C::MissingNsec, name, NSEC3, what, "RFC 5155 7.1");
            } else {
                opt_out_covers(run, records, hash, name);
            }
            continue;
        };
        // RFC 5155 3.2.1: the types at the original name (no NSEC; NSEC3 lives elsewhere).
        let mut expected = expected_types(zone, name, &apex);
        expected.remove(&super::NSEC);
        let types = rec.types();
        if types != expected {
            let what = super::nsec::bitmap_difference(&types, &expected);
            run.error(C::NsecBitmap, name, NSEC3, what, "RFC 5155 3.2.1, 7.1");
        }
    }
}

/// RFC 5155 6, 7.1: an insecure delegation left out of the chain must fall in an opt-out
/// span: the NSEC3 whose span covers its hash has the opt-out flag. Without it the span
/// proves the delegation does not exist, and resolvers find its answers bogus.
fn opt_out_covers(run: &mut Run<'_>, records: &Records, hash: &[u8], name: &Name) {
    // The last NSEC3 before the hash, else the last of all (the span that wraps around).
    let before = records.0.partition_point(|(h, _)| **h < *hash);
    let covering = before
        .checked_sub(1)
        .or_else(|| records.len().checked_sub(1))
        .map(|i| &records.0[i]);
    let Some((owner, rec)) = covering else {
        return; // no NSEC3 at all: the chain findings say so
    };
    if !rec.opt_out {
        let what = format!(
            "this insecure delegation has no NSEC3, and the NSEC3 whose span covers it ({}) has no opt-out flag: it proves the delegation does not exist",
            BASE32_DNSSEC.encode(owner)
        );
        run.error(C::Nsec3OptOut, name, NSEC3, what, "RFC 5155 6, 7.1");
    }
}

/// Opt-out set on some NSEC3 records and not on others: allowed per span (RFC 5155 6), but
/// signers set it on all or none, so a mixed chain is usually two signers' output merged.
fn opt_out_consistent(run: &mut Run<'_>, records: &Records) {
    let set = records.0.iter().filter(|(_, r)| r.opt_out).count();
    if set > 0 && set < records.len() {
        let apex = run.apex.clone();
        let what = format!(
            "{set} of {} NSEC3 records have the opt-out flag: signers set it on all or none; the spans without it cannot leave out insecure delegations",
            records.len()
        );
        run.warn(C::Nsec3OptOut, &apex, NSEC3, what, "RFC 5155 6");
    }
}

/// The one parameter set in use, or a finding.
fn single_params(run: &mut Run<'_>, apex: &Name, params: &[Params]) -> Option<Params> {
    let distinct: BTreeSet<&Params> = params.iter().collect();
    match distinct.len() {
        1 => distinct.into_iter().next().cloned(),
        0 => {
            let what = "NSEC3PARAM RDATA does not parse or has flags other than 0".into();
            run.error(C::Malformed, apex, NSEC3PARAM, what, "RFC 5155 4.2");
            None
        }
        n => {
            let what =
                format!("{n} NSEC3PARAM parameter sets; a zone check needs the one chain in use");
            run.error(C::Nsec3Params, apex, NSEC3PARAM, what, "RFC 5155 4");
            None
        }
    }
}

/// RFC 9276 3.1: SHA-1, no extra iterations, no salt; 3.2: validators may give up above 150.
fn advice(run: &mut Run<'_>, apex: &Name, (alg, iterations, salt): &Params) {
    if *alg != 1 {
        let what = format!("NSEC3 hash algorithm {alg} is not SHA-1 (1), the only one defined");
        run.error(C::Nsec3Params, apex, NSEC3PARAM, what, "RFC 5155 11");
    }
    if *iterations > MAX_ITERATIONS {
        let what = format!(
            "{iterations} extra iterations: validators (Unbound, BIND) treat the zone's denials as insecure above {MAX_ITERATIONS}, so DANE stops working; use 0"
        );
        run.error(
            C::Nsec3Iterations,
            apex,
            NSEC3PARAM,
            what,
            "RFC 9276 3.1, 3.2",
        );
    } else if *iterations > 0 {
        let what = format!("{iterations} extra iterations add no strength; RFC 9276 says 0");
        run.warn(C::Nsec3Iterations, apex, NSEC3PARAM, what, "RFC 9276 3.1");
    }
    if !salt.is_empty() {
        let what = format!(
            "a salt of {} octets adds no strength; RFC 9276 says none (-)",
            salt.len()
        );
        run.warn(C::Nsec3Salt, apex, NSEC3PARAM, what, "RFC 9276 3.1");
    }
}

/// The NSEC3 records by owner hash; malformed ones, other parameter sets and duplicates are
/// findings.
fn collect<'z>(run: &mut Run<'_>, zone: &'z Zone, params: &Params) -> Records<'z> {
    let mut out = Vec::new();
    for (name, types) in &zone.sets {
        let Some(set) = types.get(&NSEC3) else {
            continue;
        };
        let parsed =
            owner_hash(name, run.apex).zip(set.rdatas.first().and_then(|rd| parse_nsec3(rd)));
        let Some((hash, rec)) = parsed else {
            let what = "NSEC3 owner is not one base32hex label below the apex, or its RDATA does not parse".into();
            run.error(C::Malformed, name, NSEC3, what, "RFC 5155 3");
            continue;
        };
        if set.rdatas.len() > 1 {
            let what = format!("{} NSEC3 records at one hashed owner", set.rdatas.len());
            run.error(C::NsecChain, name, NSEC3, what, "RFC 5155 7.1");
        }
        if (rec.params.0, rec.params.1, rec.params.2) != (params.0, params.1, &params.2[..]) {
            let what = format!(
                "parameters {} {} {} differ from the NSEC3PARAM's {} {} {}",
                rec.params.0,
                rec.params.1,
                salt_text(rec.params.2),
                params.0,
                params.1,
                salt_text(&params.2)
            );
            run.error(C::Nsec3Params, name, NSEC3, what, "RFC 5155 7.1");
            continue;
        }
        out.push((hash.into_boxed_slice(), rec));
    }
    sort_keep_last(&mut out);
    out.shrink_to_fit();
    Records(out)
}

/// Every NSEC3 points at the next hash, the last at the first (RFC 5155 7.1); every NSEC3
/// stands for a name of the zone.
fn chain(run: &mut Run<'_>, records: &Records, hashed: &Hashed, apex: &Name) {
    let all = &records.0;
    for (i, (hash, rec)) in all.iter().enumerate() {
        let owner = hashed_owner(hash, apex);
        let next = &all[(i + 1) % all.len()].0;
        if rec.next != &**next {
            let what = format!(
                "next hashed owner is {}, but the next NSEC3 in the zone is at {}",
                BASE32_DNSSEC.encode(rec.next),
                BASE32_DNSSEC.encode(next)
            );
            run.error(C::NsecChain, &owner, NSEC3, what, "RFC 5155 7.1");
        }
        if !hashed.contains(hash) && !rec.opt_out {
            let what = "this NSEC3 is at the hash of no name in the zone".into();
            run.error(C::NsecChain, &owner, NSEC3, what, "RFC 5155 7.1");
        }
    }
}

/// The names that need an NSEC3: authoritative names with data other than NSEC3 (the hashed
/// owners themselves), and every empty non-terminal above them (RFC 5155 7.1).
fn required_names(zone: &Zone, occluded: &BTreeSet<Name>, apex: &Name) -> BTreeSet<Name> {
    let mut out = BTreeSet::new();
    for (name, types) in &zone.sets {
        if occluded.contains(name) || types.keys().all(|t| *t == NSEC3) {
            continue;
        }
        let mut p = Some(name.clone());
        while let Some(n) = p {
            if !n.is_at_or_below(apex) || out.contains(&n) {
                break;
            }
            p = n.parent();
            out.insert(n);
        }
    }
    out
}

fn parse_param(rd: &[u8]) -> Option<Params> {
    let (&alg, &flags) = (rd.first()?, rd.get(1)?);
    let iterations = u16::from_be_bytes([*rd.get(2)?, *rd.get(3)?]);
    let salt_len = usize::from(*rd.get(4)?);
    let salt = rd.get(5..5 + salt_len)?.to_vec();
    (flags == 0 && rd.len() == 5 + salt_len).then_some((alg, iterations, salt))
}

fn parse_nsec3(rd: &[u8]) -> Option<Nsec3<'_>> {
    let (&alg, &flags) = (rd.first()?, rd.get(1)?);
    let iterations = u16::from_be_bytes([*rd.get(2)?, *rd.get(3)?]);
    let salt_len = usize::from(*rd.get(4)?);
    let salt = rd.get(5..5 + salt_len)?;
    let pos = 5 + salt_len;
    let hash_len = usize::from(*rd.get(pos)?);
    let next = rd.get(pos + 1..pos + 1 + hash_len)?;
    if next.is_empty() {
        return None;
    }
    let bitmap = rd.get(pos + 1 + hash_len..)?;
    parse_bitmap(bitmap)?;
    Some(Nsec3 {
        params: (alg, iterations, salt),
        opt_out: flags & 1 != 0,
        next,
        bitmap,
    })
}

/// The hash an NSEC3 owner stands for: its one label below the apex, base32hex.
fn owner_hash(name: &Name, apex: &Name) -> Option<Vec<u8>> {
    if name.label_count() != apex.label_count() + 1 || !name.is_at_or_below(apex) {
        return None;
    }
    let labels = name.labels();
    let label = labels.first()?;
    BASE32_DNSSEC.decode(label).ok().filter(|h| !h.is_empty())
}

fn hashed_owner(hash: &[u8], apex: &Name) -> Name {
    let mut labels = vec![BASE32_DNSSEC.encode(hash).into_bytes()];
    labels.extend(apex.labels().into_iter().map(<[u8]>::to_vec));
    Name::from_labels(labels).unwrap_or_else(|_| apex.clone())
}

fn salt_text(salt: &[u8]) -> String {
    if salt.is_empty() {
        "-".into()
    } else {
        data_encoding::HEXLOWER.encode(salt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsec3_rdata_vectors() {
        // alg 1, opt-out, 10 iterations, salt aabb, 20-octet hash, bitmap A.
        let mut rd = vec![1, 1, 0, 10, 2, 0xaa, 0xbb, 20];
        rd.extend([7u8; 20]);
        rd.extend([0, 1, 0x40]);
        let n = parse_nsec3(&rd).unwrap();
        assert_eq!(n.params, (1, 10, &[0xaa, 0xbb][..]));
        assert!(n.opt_out);
        assert_eq!(n.next, [7u8; 20]);
        assert_eq!(n.types(), BTreeSet::from([1]));
        for cut in [0, 4, 6, 8, 27] {
            assert!(parse_nsec3(&rd[..cut]).is_none(), "{cut}");
        }
        assert_eq!(parse_param(&[1, 0, 0, 0, 0]), Some((1, 0, vec![])));
        assert_eq!(parse_param(&[1, 1, 0, 0, 0]), None, "flags must be 0");
        assert_eq!(
            parse_param(&[1, 0, 0, 0, 1]),
            None,
            "salt runs past the end"
        );
        assert_eq!(parse_param(&[1, 0, 0, 0, 0, 9]), None, "trailing octets");
    }

    #[test]
    fn owner_hashes() {
        let apex = Name::parse("example.", &Name::root()).unwrap();
        let n = |s: &str| Name::parse(s, &apex).unwrap();
        assert_eq!(
            owner_hash(&n("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"), &apex).map(|h| h.len()),
            Some(20)
        );
        assert_eq!(
            owner_hash(&n("a.0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"), &apex),
            None
        );
        assert_eq!(owner_hash(&n("www"), &apex), None, "w is not base32hex");
        let h = owner_hash(&n("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"), &apex).unwrap();
        assert_eq!(
            hashed_owner(&h, &apex),
            n("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom")
        );
    }
}
