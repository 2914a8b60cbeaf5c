//! The signature checks of the authoritative RRsets (RFC 4035 5.3): pure functions of one
//! RRset, its RRSIGs and the apex keys, so `check_rrsets` runs them on all cores. Each
//! [`Worker`] checks a run of consecutive RRsets and keeps what it found; the workers are
//! merged in RRset order, so the report does not depend on the number of threads.

use std::collections::BTreeSet;

use dane_dnssec::{VerifyError, algorithm_name, algorithm_supported};

use super::{
    CheckOptions, DNSKEY, DS, Finding, FindingCode, Findings, Key, NSEC, REVOKE_FLAG, SEP_FLAG,
    Set, Severity, Sig, fmt_unix,
};
use crate::name::Name;

const CDS: u16 = 59;
const CDNSKEY: u16 = 60;

/// The inputs every worker shares (read only) and what one worker found.
pub(super) struct Worker<'a> {
    pub(super) apex: &'a Name,
    pub(super) opts: &'a CheckOptions,
    pub(super) keys: &'a [Key],
    pub(super) algorithms: &'a BTreeSet<u8>,
    /// Findings, in the order the RRsets were checked.
    pub(super) findings: Vec<Finding>,
    /// RRSIGs verified (inside their window, fields right), and of those the valid ones.
    pub(super) checked: usize,
    pub(super) valid: usize,
    /// Signatures expiring within the window: count, and the first (time, owner, type).
    pub(super) soon: (usize, Option<(u64, Name, u16)>),
    /// Signatures younger than the inception margin: count, and the latest inception.
    pub(super) fresh: (usize, Option<(u64, Name, u16)>),
    /// The keys (tag, algorithm) whose RRSIG over an apex DNSKEY, CDS or CDNSKEY RRset
    /// (the type first) verified.
    pub(super) apex_signers: BTreeSet<(u16, u16, u8)>,
}

impl<'a> Worker<'a> {
    /// A worker with nothing found yet.
    pub(super) fn new(
        apex: &'a Name,
        opts: &'a CheckOptions,
        keys: &'a [Key],
        algorithms: &'a BTreeSet<u8>,
    ) -> Self {
        Worker {
            apex,
            opts,
            keys,
            algorithms,
            findings: Vec::new(),
            checked: 0,
            valid: 0,
            soon: (0, None),
            fresh: (0, None),
            apex_signers: BTreeSet::new(),
        }
    }
}

impl Findings for Worker<'_> {
    fn findings(&mut self) -> &mut Vec<Finding> {
        &mut self.findings
    }
}

/// One RRset with its RRSIGs, and where it stands.
pub(super) struct Job<'z, 'a> {
    pub(super) name: &'z Name,
    pub(super) rtype: u16,
    pub(super) set: &'z Set<'a>,
    pub(super) sigs: &'z [Sig<'a>],
    /// The name is a delegation point (NS, not the apex).
    pub(super) cut: bool,
    /// The name is below a zone cut or a DNAME (glue or occluded data).
    pub(super) below: bool,
}

impl Worker<'_> {
    /// Authoritative RRsets are checked; non-authoritative ones must be unsigned.
    pub(super) fn rrset(&mut self, job: &Job) {
        let Job {
            name,
            rtype,
            set,
            sigs,
            cut,
            below,
        } = *job;
        // RFC 4035 2.2: delegation NS RRsets and glue are not signed; RFC 4035 2.2 and
        // RFC 6672 2.4: nor is data below a cut or a DNAME (it is occluded).
        let authoritative = !below && (!cut || rtype == DS || rtype == NSEC);
        if authoritative {
            check_rrset(self, name, rtype, set, sigs);
        } else if !sigs.is_empty() {
            let why = if cut && !below {
                "at a delegation point"
            } else {
                "below a zone cut or DNAME (glue or occluded data)"
            };
            let what = format!(
                "{} RRSIG(s) over a non-authoritative RRset {why}",
                sigs.len()
            );
            self.error(FindingCode::SignedGlue, name, rtype, what, "RFC 4035 2.2");
        }
    }
}

/// The checks of one authoritative RRset and its RRSIGs.
fn check_rrset(run: &mut Worker<'_>, name: &Name, rtype: u16, set: &Set, sigs: &[Sig]) {
    if sigs.is_empty() {
        let what = format!(
            "authoritative RRset without RRSIG although {} is signed",
            run.apex
        );
        run.error(
            FindingCode::MissingSignature,
            name,
            rtype,
            what,
            "RFC 4035 2.2",
        );
        return;
    }
    let limit = run.opts.max_sigs_per_rrset;
    if sigs.len() > limit {
        let what = format!("{} RRSIGs, more than the {limit} examined", sigs.len());
        run.error(
            FindingCode::TooManySignatures,
            name,
            rtype,
            what,
            "RFC 4035 2.2",
        );
    }
    // Algorithm numbers as bits (two trees per RRset cost two allocations each).
    let mut valid_algs = [0u64; 4];
    let mut tried_algs = [0u64; 4];
    let bit = |alg: u8| (usize::from(alg / 64), 1u64 << (alg % 64));
    let mut sep_signed = false;
    for sig in sigs.iter().take(limit) {
        let (word, mask) = bit(sig.algorithm);
        tried_algs[word] |= mask;
        if let Some(flags) = check_sig(run, name, rtype, set, sig) {
            valid_algs[word] |= mask;
            sep_signed |= flags & SEP_FLAG != 0 && flags & REVOKE_FLAG == 0;
            if matches!(rtype, DNSKEY | CDS | CDNSKEY) && name == run.apex {
                run.apex_signers.insert((rtype, sig.key_tag, sig.algorithm));
            }
        }
    }
    // RFC 4035 2.2 (and RFC 6840 5.11): an RRSIG by each algorithm of the apex DNSKEY RRset.
    // An RRSIG of the algorithm that fails has its own finding already: this one is for an
    // algorithm no RRSIG of the RRset uses.
    let missing: Vec<u8> = run
        .algorithms
        .iter()
        .copied()
        .filter(|&alg| {
            let (word, mask) = bit(alg);
            tried_algs[word] & mask == 0
        })
        .collect();
    for alg in missing {
        let what = format!(
            "no RRSIG of algorithm {alg} ({}), which the DNSKEY RRset has",
            algorithm_name(alg)
        );
        run.error(
            FindingCode::MissingAlgorithm,
            name,
            rtype,
            what,
            "RFC 4035 2.2, RFC 6840 5.11",
        );
    }
    if rtype == DNSKEY && name == run.apex && valid_algs != [0; 4] && !sep_signed {
        dnskey_sep_finding(run, name);
    }
}

/// The DNSKEY RRset verifies, but not with a SEP key: an error when it has SEP keys (the
/// parent's DS points at them, so the chain breaks), a warning when it has none.
fn dnskey_sep_finding(run: &mut Worker<'_>, apex: &Name) {
    let has_sep = run
        .keys
        .iter()
        .any(|k| k.flags & SEP_FLAG != 0 && k.flags & REVOKE_FLAG == 0);
    let (severity, what) = if has_sep {
        (
            Severity::Error,
            "no SEP key (the ones a DS points to) signs the DNSKEY RRset",
        )
    } else {
        (
            Severity::Warning,
            "no key has the SEP flag: the DNSKEY RRset is signed by non-SEP keys only",
        )
    };
    run.push(
        severity,
        FindingCode::DnskeyNotSepSigned,
        apex,
        DNSKEY,
        None,
        what.into(),
        "RFC 4035 2.1, RFC 6781 3.1",
    );
}

/// RFC 1982 serial-number comparison on 32 bits: `a <= b`.
pub(super) fn serial_le(a: u32, b: u32) -> bool {
    a == b || (b.wrapping_sub(a) as i32) > 0
}

/// The RRSIG checks of RFC 4035 5.3.1 and 5.3.3 (the zone is the only signer): returns the
/// flags of the key that verified it, if it is valid at `now`.
fn check_sig(run: &mut Worker<'_>, name: &Name, rtype: u16, set: &Set, sig: &Sig) -> Option<u16> {
    if !fields_ok(run, name, rtype, set, sig) || !time_ok(run, name, rtype, sig) {
        return None;
    }
    run.checked += 1;
    let data = signed_data(name, rtype, set, sig);
    match verify_with_keys(run.keys, rtype, sig, &data) {
        Ok(flags) => {
            run.valid += 1;
            Some(flags)
        }
        Err((code, what)) => {
            let tag = Some(sig.key_tag);
            run.push(
                Severity::Error,
                code,
                name,
                rtype,
                tag,
                what,
                "RFC 4035 5.3.1, 5.3.3",
            );
            None
        }
    }
}

/// The RRSIG fields that do not need the key: signer, labels, original TTL, algorithm.
/// `false` (with a finding) when the signature cannot be valid.
fn fields_ok(run: &mut Worker<'_>, name: &Name, rtype: u16, set: &Set, sig: &Sig) -> bool {
    let tag = Some(sig.key_tag);
    let err = Severity::Error;
    if let Some(signer) = &sig.signer {
        let what = format!("signer is {signer}, not the apex {}", run.apex);
        run.push(
            err,
            FindingCode::WrongSigner,
            name,
            rtype,
            tag,
            what,
            "RFC 4035 5.3.1",
        );
        return false;
    }
    // RFC 4034 3.1.3: labels of the owner, not counting the root or a leading `*`.
    let want = name.label_count() - usize::from(name.is_wildcard());
    if usize::from(sig.labels) != want {
        let what = format!("labels field {} but the owner has {want}", sig.labels);
        run.push(
            err,
            FindingCode::WrongLabels,
            name,
            rtype,
            tag,
            what,
            "RFC 4034 3.1.3",
        );
        return false;
    }
    if sig.original_ttl != set.ttl {
        let what = format!(
            "original TTL {} but the RRset's TTL is {}",
            sig.original_ttl, set.ttl
        );
        let rfc = "RFC 4034 3.1.4, RFC 4035 2.2";
        run.push(err, FindingCode::OriginalTtl, name, rtype, tag, what, rfc);
    }
    if !algorithm_supported(sig.algorithm) {
        let what = format!(
            "algorithm {} ({}) cannot be verified here, so it is not called valid",
            sig.algorithm,
            algorithm_name(sig.algorithm)
        );
        run.push(
            err,
            FindingCode::UnsupportedAlgorithm,
            name,
            rtype,
            tag,
            what,
            "RFC 8624 3.1",
        );
        return false;
    }
    true
}

/// Verifies with the apex keys of the RRSIG's tag and algorithm (several may share a tag):
/// the flags of the key that verifies, or the most telling failure.
fn verify_with_keys(
    keys: &[Key],
    rtype: u16,
    sig: &Sig,
    data: &[u8],
) -> Result<u16, (FindingCode, String)> {
    let mut failure = (
        FindingCode::UnknownKey,
        String::from("no DNSKEY of the apex has this key tag and algorithm"),
    );
    for key in keys {
        if key.tag != sig.key_tag || key.algorithm != sig.algorithm {
            continue;
        }
        if key.flags & REVOKE_FLAG != 0 && rtype != DNSKEY {
            let what = "signed by a revoked key (RFC 5011), which signs only the DNSKEY RRset";
            failure = (FindingCode::RevokedKey, what.into());
            continue;
        }
        match dane_dnssec::verify_signature(sig.algorithm, &key.public, data, sig.signature()) {
            Ok(()) => return Ok(key.flags),
            Err(VerifyError::Unsupported) => {
                let what = format!("algorithm {} cannot be verified here", sig.algorithm);
                failure = (FindingCode::UnsupportedAlgorithm, what);
            }
            Err(VerifyError::BadKey(why)) => {
                failure = (
                    FindingCode::BadSignature,
                    format!("the key is malformed: {why}"),
                );
            }
            Err(VerifyError::Invalid) => {
                let what = "the signature does not verify with the key (data or signature changed)";
                failure = (FindingCode::BadSignature, what.into());
            }
        }
    }
    Err(failure)
}

/// The validity window at `now` (RFC 4034 3.1.5, RFC 4035 5.3.1), and the expiring-soon
/// count. `false` if the signature is outside its window (a finding is pushed).
fn time_ok(run: &mut Worker<'_>, name: &Name, rtype: u16, sig: &Sig) -> bool {
    let now = run.opts.now;
    let now32 = now as u32;
    let abs = |t: u32| now.saturating_add_signed(i64::from(t.wrapping_sub(now32) as i32));
    let (code, what) = if !serial_le(now32, sig.expiration) {
        let what = format!(
            "expired at {}, checked at {}",
            fmt_unix(abs(sig.expiration)),
            fmt_unix(now)
        );
        (FindingCode::SignatureExpired, what)
    } else if !serial_le(sig.inception, now32) {
        let what = format!(
            "not valid before {}, checked at {}",
            fmt_unix(abs(sig.inception)),
            fmt_unix(now)
        );
        (FindingCode::SignatureNotYetValid, what)
    } else {
        let expires = abs(sig.expiration);
        if expires - now < run.opts.expire_within {
            run.soon.0 += 1;
            if run.soon.1.as_ref().is_none_or(|(t, _, _)| expires < *t) {
                run.soon.1 = Some((expires, name.clone(), rtype));
            }
        }
        // RFC 6781 4.4.2.2: resolvers whose clocks lag see a fresh signature as not yet valid.
        let incepted = abs(sig.inception);
        if now - incepted < run.opts.inception_margin {
            run.fresh.0 += 1;
            if run.fresh.1.as_ref().is_none_or(|(t, _, _)| incepted > *t) {
                run.fresh.1 = Some((incepted, name.clone(), rtype));
            }
        }
        return true;
    };
    run.push(
        Severity::Error,
        code,
        name,
        rtype,
        Some(sig.key_tag),
        what,
        "RFC 4034 3.1.5, RFC 4035 5.3.1",
    );
    false
}

/// The data RFC 4034 3.1.8.1 signs: the RRSIG RDATA without the signature, then each RR in
/// canonical form and order (RFC 4034 6.2, 6.3: duplicates removed), with the original TTL,
/// and `*.` + the owner's last `labels` labels for a wildcard owner.
fn signed_data(name: &Name, rtype: u16, set: &Set, sig: &Sig) -> Vec<u8> {
    // `labels` equals the owner's label count without a leading `*` (checked before).
    let owner = name.wire_without_root();
    let mut rdatas: Vec<&[u8]> = set.rdatas.iter().map(AsRef::as_ref).collect();
    if rdatas.len() > 1 {
        rdatas.sort();
        rdatas.dedup();
    }
    // Sized once: the RRSIG fields, then per record the owner (and root label), type,
    // class, TTL, RDATA length and RDATA.
    let size = rdatas
        .iter()
        .map(|rd| owner.len() + 11 + rd.len())
        .sum::<usize>();
    let mut out = Vec::with_capacity(sig.prefix().len() + size);
    out.extend_from_slice(sig.prefix());
    for rd in rdatas {
        out.extend_from_slice(owner);
        out.push(0);
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&sig.original_ttl.to_be_bytes());
        out.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        out.extend_from_slice(rd);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_arithmetic_wraps() {
        for (a, b, le) in [
            (1, 2, true),
            (2, 2, true),
            (3, 2, false),
            (u32::MAX, 1, true),
            (1, u32::MAX, false),
            (0, 0x7fff_ffff, true),
        ] {
            assert_eq!(serial_le(a, b), le, "{a} <= {b}");
        }
    }
}
