//! The NSEC chain of a zone signed with NSEC (RFC 4034 4, RFC 4035 2.3): one NSEC at every
//! authoritative name, each pointing at the next name in canonical order and the last at the
//! apex, bitmaps listing exactly the types present, and none below a zone cut or a DNAME.

use super::Findings as _;
use std::collections::BTreeSet;

use super::{DS, FindingCode as C, NS, NSEC, RRSIG, Run, Sig, Types, Zone};
use crate::name::Name;
use crate::rdata::type_name;

/// NSEC3PARAM (RFC 5155 4).
const NSEC3PARAM: u16 = 51;
/// NSEC3 (RFC 5155 3).
const NSEC3: u16 = 50;

/// Checks the NSEC chain; an NSEC3 zone (NSEC3PARAM at the apex) is left alone here.
pub(super) fn check_nsec(run: &mut Run<'_>, zone: &Zone, occluded: &BTreeSet<Name>) {
    let apex = run.apex.clone();
    let has = |t: u16| zone.sets.values().any(|types| types.contains_key(&t));
    if has(NSEC3) {
        // An NSEC3 zone has an NSEC3PARAM at the apex (checked by the caller before this).
        let what =
            "NSEC3 records but no NSEC3PARAM at the apex: servers will not use the chain".into();
        run.error(C::Nsec3Params, &apex, NSEC3PARAM, what, "RFC 5155 4");
        return;
    }
    if !has(NSEC) {
        let what = "neither NSEC nor NSEC3 records: no denial of existence".to_string();
        run.error(C::NoDenial, &apex, NSEC, what, "RFC 4035 2.3");
        return;
    }
    let mut chain: Vec<(&Name, &Types)> = Vec::new();
    for (name, types) in &zone.sets {
        if !occluded.contains(name) {
            chain.push((name, types));
        } else if types.contains_key(&NSEC) {
            // ldns#277: a checker that walks all names put glue into the chain.
            let what = "NSEC below a zone cut or DNAME (glue or occluded name)".to_string();
            run.error(C::NsecOnGlue, name, NSEC, what, "RFC 4035 2.3");
        }
    }
    // The chain is in canonical order, as are the RRSIGs: each name's found in step.
    let mut at = 0;
    for (i, &(name, types)) in chain.iter().enumerate() {
        let next = chain[(i + 1) % chain.len()].0;
        while at < zone.sigs.len() && zone.sigs[at].cmp_key(name, 0).is_lt() {
            at += 1;
        }
        let start = at;
        while at < zone.sigs.len() && zone.sigs[at].owner == *name {
            at += 1;
        }
        check_one(run, name, types, &zone.sigs[start..at], next);
    }
}

/// The NSEC at `name`: present, alone, pointing at `next`, with the right bitmap.
fn check_one(run: &mut Run<'_>, name: &Name, types: &Types, sigs: &[Sig], next: &Name) {
    let Some(set) = types.get(&NSEC) else {
        let what = format!("no NSEC at this authoritative name (the chain must reach {next})");
        run.error(C::MissingNsec, name, NSEC, what, "RFC 4035 2.3");
        return;
    };
    if set.rdatas.len() > 1 {
        let what = format!("{} NSEC records at one name", set.rdatas.len());
        run.error(C::NsecChain, name, NSEC, what, "RFC 4034 4");
    }
    let Some((listed_next, listed)) = set.rdatas.first().and_then(|rd| parse_nsec(rd)) else {
        let what = "NSEC RDATA does not parse (next name, then type bitmap windows)".into();
        run.error(C::Malformed, name, NSEC, what, "RFC 4034 4.1");
        return;
    };
    // RFC 4034 4.1.1: the next owner name in canonical order, the last one pointing at the apex.
    if &listed_next != next {
        let what = format!("next owner is {listed_next}, but the next name in the zone is {next}");
        run.error(C::NsecChain, name, NSEC, what, "RFC 4034 4.1.1");
    }
    let expected = types_expected(types, sigs, name, run.apex);
    if listed != expected {
        let what = bitmap_difference(&listed, &expected);
        run.error(
            C::NsecBitmap,
            name,
            NSEC,
            what,
            "RFC 4034 4.1.2, RFC 4035 2.3",
        );
    }
}

/// What a bitmap lists that is not there, and what it omits.
pub(super) fn bitmap_difference(listed: &BTreeSet<u16>, expected: &BTreeSet<u16>) -> String {
    let list = |ts: Vec<&u16>| {
        ts.iter()
            .map(|t| type_name(**t))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let extra = list(listed.difference(expected).collect());
    let missing = list(expected.difference(listed).collect());
    let mut parts = Vec::new();
    if !extra.is_empty() {
        parts.push(format!("lists {extra}, not present"));
    }
    if !missing.is_empty() {
        parts.push(format!("omits {missing}, present"));
    }
    format!(
        "type bitmap differs from the types at the name: {}",
        parts.join("; ")
    )
}

/// The types an NSEC at `name` must list: those present, RRSIG when signatures are there,
/// NSEC; at a delegation point only NS, DS, RRSIG and NSEC (RFC 4035 2.3).
pub(super) fn expected_types(zone: &Zone, name: &Name, apex: &Name) -> BTreeSet<u16> {
    let Some(types) = zone.sets.get(name) else {
        return BTreeSet::new();
    };
    let first = zone.sigs.partition_point(|s| s.cmp_key(name, 0).is_lt());
    let count = zone.sigs[first..]
        .iter()
        .take_while(|s| s.owner == *name)
        .count();
    types_expected(types, &zone.sigs[first..first + count], name, apex)
}

/// [`expected_types`] of the `types` and RRSIGs `sigs` at `name`.
fn types_expected(types: &Types, sigs: &[Sig], name: &Name, apex: &Name) -> BTreeSet<u16> {
    let cut = name != apex && types.contains_key(&NS);
    let mut out: BTreeSet<u16> = types
        .keys()
        .copied()
        .filter(|t| !cut || matches!(*t, NS | DS | NSEC))
        .collect();
    out.insert(NSEC);
    let signed = sigs.iter().any(|s| !cut || matches!(s.covered, DS | NSEC));
    if signed {
        out.insert(RRSIG);
    }
    out
}

/// NSEC RDATA: the next owner name, then the type bitmap (RFC 4034 4.1).
pub(crate) fn parse_nsec(rd: &[u8]) -> Option<(Name, BTreeSet<u16>)> {
    let mut labels = Vec::new();
    let mut pos = 0;
    loop {
        let len = usize::from(*rd.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(rd.get(pos..pos + len)?.to_vec());
        pos += len;
    }
    let name = Name::from_labels(labels).ok()?;
    Some((name, parse_bitmap(rd.get(pos..)?)?))
}

/// A type bitmap (RFC 4034 4.1.2): windows in increasing order, 1 to 32 octets each.
pub(crate) fn parse_bitmap(mut b: &[u8]) -> Option<BTreeSet<u16>> {
    let mut out = BTreeSet::new();
    let mut last: Option<u8> = None;
    while !b.is_empty() {
        let (&window, &len) = (b.first()?, b.get(1)?);
        if len == 0 || len > 32 || last.is_some_and(|l| window <= l) {
            return None;
        }
        let bits = b.get(2..2 + usize::from(len))?;
        for (i, &byte) in bits.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    out.insert(u16::from(window) << 8 | (i * 8 + bit) as u16);
                }
            }
        }
        last = Some(window);
        b = &b[2 + usize::from(len)..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdata::bitmap_of;

    #[test]
    fn bitmaps_round_trip_and_hostile_ones_are_refused() {
        let check = |types: &[u16]| {
            let got = parse_bitmap(&bitmap_of(types)).unwrap();
            assert_eq!(got, types.iter().copied().collect(), "{types:?}");
        };
        check(&[]);
        check(&[1, 2, 46, 47]);
        check(&[1, 1234, 65534, 65535]);
        for bad in [
            &[0u8, 0][..],
            &[0, 33],
            &[0, 2, 0x40],
            &[1, 1, 1, 0, 1, 0x40],
            &[0],
        ] {
            assert_eq!(parse_bitmap(bad), None, "{bad:?}");
        }
    }
}
