//! The key records pointing up: CDS and CDNSKEY consistent with the DNSKEY RRset (RFC 7344
//! 4, RFC 8078 4), and the parent's DS RRset (`--ds`) matching a key that signs the DNSKEY
//! RRset (RFC 4035 5.2) and the CDS and CDNSKEY RRsets (RFC 7344 4.1).

use super::Findings as _;
use std::borrow::Cow;
use std::collections::BTreeSet;

use dane_dnssec::ds_digest;

use super::{FindingCode as C, Run, Zone};

const DNSKEY: u16 = 48;
const CDS: u16 = 59;
const CDNSKEY: u16 = 60;

/// A DS or CDS RDATA matches this DNSKEY RDATA: key tag, algorithm and digest over the apex
/// (RFC 4034 5.1.4). `None` when the digest type is not one we compute.
fn ds_matches(ds: &[u8], apex_wire: &[u8], dnskey: &[u8]) -> Option<bool> {
    let (tag, alg, dtype, digest) = (ds.get(..2)?, *ds.get(2)?, *ds.get(3)?, ds.get(4..)?);
    if tag != dane_dnssec::key_tag(dnskey).to_be_bytes() || dnskey.get(3) != Some(&alg) {
        return Some(false);
    }
    Some(ds_digest(dtype, apex_wire, dnskey)? == digest)
}

/// CDS and CDNSKEY at the apex against the DNSKEY RRset.
pub(super) fn check_cds(run: &mut Run<'_>, zone: &Zone) {
    let apex = run.apex.clone();
    let Some(types) = zone.sets.get(&apex) else {
        return;
    };
    let dnskeys: &[Cow<'_, [u8]>] = types.get(&DNSKEY).map_or(&[], |s| &s.rdatas);
    let apex_wire = apex.wire();
    let mut named: [BTreeSet<(u16, u8)>; 2] = Default::default();
    for (i, (rtype, delete)) in [
        (CDS, &[0u8, 0, 0, 0, 0][..]),
        (CDNSKEY, &[0, 0, 3, 0, 0][..]),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(set) = types.get(&rtype) else {
            continue;
        };
        // RFC 8078 4: the delete form is alone in its RRset.
        if set.rdatas.iter().any(|rd| rd.as_ref() == delete) {
            if set.rdatas.len() > 1 {
                let what = "the delete record (RFC 8078 4) is not alone in its RRset".into();
                run.error(C::CdsMismatch, &apex, rtype, what, "RFC 8078 4");
            }
            continue;
        }
        for rd in &set.rdatas {
            let hit = dnskeys.iter().find(|k| match rtype {
                CDS => ds_matches(rd, &apex_wire, k) == Some(true),
                _ => k.as_ref() == rd.as_ref(),
            });
            match hit {
                Some(k) => {
                    named[i].insert((dane_dnssec::key_tag(k), k.get(3).copied().unwrap_or(0)));
                }
                None => {
                    let what = "matches no key of the DNSKEY RRset: the parent would publish a DS for a key the zone does not have".into();
                    run.error(C::CdsMismatch, &apex, rtype, what, "RFC 7344 4.1");
                }
            }
        }
    }
    if types.contains_key(&CDS) && types.contains_key(&CDNSKEY) && named[0] != named[1] {
        let what = "CDS and CDNSKEY name different keys".into();
        run.error(C::CdsMismatch, &apex, CDNSKEY, what, "RFC 7344 4");
    }
}

/// `--ds`: at least one DS of the parent matches a key whose RRSIG over the DNSKEY RRset
/// verified (`signers`: type signed, key tag and algorithm); otherwise resolvers find the
/// zone bogus. And the CDS and CDNSKEY RRsets must each be signed by a key the parent's DS
/// names (RFC 7344 4.1), unlike other RRsets (usually the ZSK's): a parent that checks this
/// ignores them, and the rollover they ask for never happens.
pub(super) fn check_parent_ds(run: &mut Run<'_>, zone: &Zone, signers: &BTreeSet<(u16, u16, u8)>) {
    let ds = run.opts.parent_ds.clone();
    let Some(ds) = ds else {
        return;
    };
    let apex = run.apex.clone();
    let Some(types) = zone.sets.get(&apex) else {
        return;
    };
    let dnskeys: &[Cow<'_, [u8]>] = types.get(&DNSKEY).map_or(&[], |s| &s.rdatas);
    let apex_wire = apex.wire();
    // A key of the DNSKEY RRset named by a parent DS signs the RRset of `rtype`.
    let signed_by_ds_key = |rtype: u16| {
        ds.iter().any(|d| {
            dnskeys.iter().any(|k| {
                let key = (
                    rtype,
                    dane_dnssec::key_tag(k),
                    k.get(3).copied().unwrap_or(0),
                );
                signers.contains(&key) && ds_matches(d, &apex_wire, k) == Some(true)
            })
        })
    };
    if !signed_by_ds_key(DNSKEY) {
        let what = format!(
            "none of the {} DS records given matches a key that signs the DNSKEY RRset: validators would find the zone bogus",
            ds.len()
        );
        run.error(C::DsMismatch, &apex, 43, what, "RFC 4035 5.2");
        return;
    }
    for rtype in [CDS, CDNSKEY] {
        if types.contains_key(&rtype) && !signed_by_ds_key(rtype) {
            let what = format!(
                "the {} RRset is not signed by a key the parent's DS names (only by others, e.g. the ZSK): a parent that checks this ignores it",
                crate::type_name(rtype)
            );
            run.warn(C::CdsMismatch, &apex, rtype, what, "RFC 7344 4.1");
        }
    }
}
