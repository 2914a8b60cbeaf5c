//! ZONEMD (RFC 8976): the zone's digest, verified when the apex has a ZONEMD RRset.
//! Scheme 1 (SIMPLE) with SHA-384 (1) and SHA-512 (2); other schemes and algorithms are
//! ignored (RFC 8976 4), and a zone whose every ZONEMD is of those is a warning.

use super::Findings as _;
use dane_dnssec::canonical_rdata_of;

use super::{FindingCode as C, Run, SOA};
use crate::Record;

const RRSIG: u16 = 46;
const ZONEMD: u16 = 63;

/// A ZONEMD RDATA (RFC 8976 2.2): serial, scheme, hash algorithm, digest.
fn parse(rd: &[u8]) -> Option<(u32, u8, u8, &[u8])> {
    let serial = u32::from_be_bytes(rd.get(..4)?.try_into().ok()?);
    Some((serial, *rd.get(4)?, *rd.get(5)?, rd.get(6..)?))
}

/// Verifies the apex ZONEMD RRset, if any, over `records`.
pub(super) fn check_zonemd(run: &mut Run<'_>, records: &[Record]) {
    let apex = run.apex.clone();
    let at_apex = |t: u16| {
        let apex = &apex;
        records
            .iter()
            .filter(move |r| r.owner == *apex && r.rtype == t)
    };
    let zonemds: Vec<&Record> = at_apex(ZONEMD).collect();
    if zonemds.is_empty() {
        return;
    }
    let serial = at_apex(SOA).next().and_then(|r| soa_serial(&r.rdata));
    let mut supported = false;
    for z in zonemds {
        let Some((zserial, scheme, alg, digest)) = parse(&z.rdata) else {
            let what = format!("{}:{}: ZONEMD RDATA too short", z.file, z.line);
            run.error(C::Malformed, &apex, ZONEMD, what, "RFC 8976 2.2");
            continue;
        };
        let algorithm = match (scheme, alg) {
            (1, 1) => &ring::digest::SHA384,
            (1, 2) => &ring::digest::SHA512,
            _ => continue, // RFC 8976 4: unsupported ones are ignored
        };
        supported = true;
        if Some(zserial) != serial {
            let what = format!(
                "ZONEMD serial {zserial} is not the SOA serial {serial:?}: the digest is of another version"
            );
            run.error(C::ZonemdMismatch, &apex, ZONEMD, what, "RFC 8976 4");
            continue;
        }
        let computed = digest_zone(records, &apex, algorithm);
        if computed.as_ref() != digest {
            let what = format!(
                "the {} digest of the zone does not match the ZONEMD (scheme {scheme}): the zone was changed after the digest was made",
                if alg == 1 { "SHA-384" } else { "SHA-512" }
            );
            run.error(C::ZonemdMismatch, &apex, ZONEMD, what, "RFC 8976 3, 4");
        }
    }
    if !supported {
        let what = "no ZONEMD of a scheme and hash this tool verifies (1 SIMPLE with 1 SHA-384 or 2 SHA-512)".into();
        run.warn(C::ZonemdMismatch, &apex, ZONEMD, what, "RFC 8976 4");
    }
}

fn soa_serial(rd: &[u8]) -> Option<u32> {
    // SOA RDATA: MNAME, RNAME, then SERIAL (RFC 1035 3.3.13).
    let mut pos = 0;
    for _ in 0..2 {
        loop {
            let len = usize::from(*rd.get(pos)?);
            pos += 1 + len;
            if len == 0 {
                break;
            }
        }
    }
    Some(u32::from_be_bytes(rd.get(pos..pos + 4)?.try_into().ok()?))
}

/// RFC 8976 3.3 (SIMPLE): every RR of the zone (out-of-zone ones left out) in canonical
/// form and order, duplicates removed, except the apex ZONEMD RRset and the apex RRSIGs
/// covering it; each RR with its own TTL.
fn digest_zone(
    records: &[Record],
    apex: &crate::name::Name,
    alg: &'static ring::digest::Algorithm,
) -> ring::digest::Digest {
    let mut rrs: Vec<(&crate::name::Name, u16, Vec<u8>, u32)> = records
        .iter()
        .filter(|r| r.owner.is_at_or_below(apex))
        .filter(|r| {
            !(r.owner == *apex
                && (r.rtype == ZONEMD
                    || (r.rtype == RRSIG && r.rdata.get(..2) == Some(&ZONEMD.to_be_bytes()[..]))))
        })
        .filter_map(|r| {
            Some((
                &r.owner,
                r.rtype,
                canonical_rdata_of(r.rtype, &r.rdata).ok()?,
                r.ttl,
            ))
        })
        .collect();
    rrs.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    rrs.dedup_by(|a, b| (a.0, a.1, &a.2) == (b.0, b.1, &b.2));
    let mut ctx = ring::digest::Context::new(alg);
    for (owner, rtype, rdata, ttl) in rrs {
        ctx.update(&owner.wire());
        ctx.update(&rtype.to_be_bytes());
        ctx.update(&1u16.to_be_bytes());
        ctx.update(&ttl.to_be_bytes());
        ctx.update(&(rdata.len() as u16).to_be_bytes());
        ctx.update(&rdata);
    }
    ctx.finish()
}
