//! The DNSSEC checks of a signed zone at a given time: every authoritative RRset signed, by
//! every algorithm of the apex DNSKEY RRset, with signatures that verify and are valid at
//! `now`; no signatures on glue or occluded data; the DNSKEY RRset signed by a SEP key.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use dane_dnssec::{VerifyError, algorithm_name, algorithm_supported, canonical_rdata_of};

use crate::Record;
use crate::name::Name;

mod cds;
mod nsec;
mod nsec3;
mod zonemd;
use crate::rdata::type_name;

const SOA: u16 = 6;
const NS: u16 = 2;
const DNAME: u16 = 39;
const DS: u16 = 43;
const RRSIG: u16 = 46;
const NSEC: u16 = 47;
const DNSKEY: u16 = 48;
/// DNSKEY flags (RFC 4034 2.1.1, RFC 5011 3).
const ZONE_FLAG: u16 = 0x0100;
const SEP_FLAG: u16 = 0x0001;
const REVOKE_FLAG: u16 = 0x0080;

/// What the checks are run with.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The time the signatures are judged at (seconds since the Unix epoch).
    pub now: u64,
    /// Signatures valid at `now` that expire within this many seconds are warnings.
    pub expire_within: u64,
    /// Signatures valid at `now` whose inception is less than this many seconds before it
    /// are warnings (resolvers with a lagging clock reject them).
    pub inception_margin: u64,
    /// Most RRSIGs examined per RRset (a work budget against hostile zones).
    pub max_sigs_per_rrset: usize,
    /// The parent's DS RRset for the apex (DS RDATA), when known: one must match a key
    /// that signs the DNSKEY RRset.
    pub parent_ds: Option<Vec<Vec<u8>>>,
    /// The CA families whose members a DANE-TA record should not pin alone
    /// (`issuer-family`; the list embedded in dane-tlsa by default).
    pub ca_families: std::sync::Arc<dane_tlsa::CaFamilies>,
}

impl CheckOptions {
    /// The defaults at `now`: no expiry warning window, 16 signatures per RRset.
    pub fn at(now: u64) -> Self {
        CheckOptions {
            now,
            expire_within: 0,
            max_sigs_per_rrset: 16,
            parent_ds: None,
            inception_margin: 0,
            ca_families: std::sync::Arc::new(dane_tlsa::CaFamilies::embedded().clone()),
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The zone must not be published.
    Error,
    /// Publishable, but something needs attention.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The kinds of finding, each with a stable kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingCode {
    /// No SOA at the origin.
    NoSoa,
    /// No DNSKEY RRset at the apex: the zone is not signed.
    NotSigned,
    /// A record whose owner is outside the zone.
    OutOfZone,
    /// A record whose RDATA is malformed for its type.
    Malformed,
    /// The records of an RRset have different TTLs.
    TtlMismatch,
    /// An authoritative RRset without any RRSIG.
    MissingSignature,
    /// An RRSIG that does not verify.
    BadSignature,
    /// An RRSIG whose expiration is before `now`.
    SignatureExpired,
    /// An RRSIG whose inception is after `now`.
    SignatureNotYetValid,
    /// Signatures that expire within the warning window.
    ExpiresSoon,
    /// Signatures whose inception is within the margin before `now`.
    InceptionTooRecent,
    /// An RRSIG naming no zone key of the apex (key tag and algorithm).
    UnknownKey,
    /// An RRSIG by a revoked key over anything but the DNSKEY RRset.
    RevokedKey,
    /// An RRSIG whose signer is not the apex.
    WrongSigner,
    /// An RRSIG whose labels field does not fit its owner.
    WrongLabels,
    /// An RRSIG whose original TTL differs from the RRset's TTL.
    OriginalTtl,
    /// An RRSIG of an algorithm this tool cannot verify.
    UnsupportedAlgorithm,
    /// An RRSIG over glue, a delegation's NS RRset, or occluded data.
    SignedGlue,
    /// An RRSIG covering a type with no RRset at its owner.
    OrphanSignature,
    /// An RRset without a valid signature by one of the apex DNSKEY algorithms.
    MissingAlgorithm,
    /// The DNSKEY RRset is not signed by any of its SEP keys.
    DnskeyNotSepSigned,
    /// More RRSIGs on one RRset than the budget.
    TooManySignatures,
    /// Neither NSEC nor NSEC3 in the zone.
    NoDenial,
    /// An authoritative name without an NSEC.
    MissingNsec,
    /// An NSEC whose next owner name is not the next name in the zone.
    NsecChain,
    /// An NSEC type bitmap that differs from the types at its owner.
    NsecBitmap,
    /// An NSEC at a glue or occluded name.
    NsecOnGlue,
    /// NSEC3 parameters: several sets, or records that differ from the NSEC3PARAM.
    Nsec3Params,
    /// NSEC3 iterations above RFC 9276's advice.
    Nsec3Iterations,
    /// An NSEC3 salt (RFC 9276 says none).
    Nsec3Salt,
    /// An insecure delegation left out of the NSEC3 chain outside an opt-out span, or
    /// opt-out flags that differ across the chain.
    Nsec3OptOut,
    /// A TLSA record senders ignore (unassigned or private values, wrong digest length,
    /// PKIX usages at an SMTP owner), or an RRset with no usable record.
    TlsaUnusable,
    /// The TLSA RRset at an owner will not match what is about to be deployed there.
    TlsaMismatch,
    /// A TLSA owner whose host has no address in the zone.
    TlsaNoAddress,
    /// DANE-TA records that pin one intermediate of a CA issuing from several at random
    /// (or from a generation the CA replaced): a renewal from a sibling fails.
    IssuerFamily,
    /// A chain authenticated only through DANE-TA records of an intermediate CA, which
    /// CAs rotate.
    TlsaIntermediatePin,
    /// A ZONEMD that does not match the zone (RFC 8976), or none this tool can verify.
    ZonemdMismatch,
    /// A CDS or CDNSKEY inconsistent with the DNSKEY RRset or with each other.
    CdsMismatch,
    /// No DS of the parent (`--ds`) matches a key that signs the DNSKEY RRset.
    DsMismatch,
}

impl FindingCode {
    /// The stable name used in text and JSON output.
    pub fn as_str(self) -> &'static str {
        use FindingCode as C;
        match self {
            C::NoSoa => "no-soa",
            C::NotSigned => "not-signed",
            C::OutOfZone => "out-of-zone",
            C::Malformed => "malformed",
            C::TtlMismatch => "ttl-mismatch",
            C::MissingSignature => "missing-signature",
            C::MissingAlgorithm => "missing-algorithm",
            C::BadSignature => "bad-signature",
            C::SignatureExpired => "signature-expired",
            C::SignatureNotYetValid => "signature-not-yet-valid",
            C::ExpiresSoon => "expires-soon",
            C::InceptionTooRecent => "inception-too-recent",
            C::UnknownKey => "unknown-key",
            C::RevokedKey => "revoked-key",
            C::WrongSigner => "wrong-signer",
            C::WrongLabels => "wrong-labels",
            C::OriginalTtl => "original-ttl",
            C::UnsupportedAlgorithm => "unsupported-algorithm",
            C::SignedGlue => "signed-glue",
            C::OrphanSignature => "orphan-signature",
            C::DnskeyNotSepSigned => "dnskey-not-sep-signed",
            C::TooManySignatures => "too-many-signatures",
            C::NoDenial => "no-denial",
            C::MissingNsec => "missing-nsec",
            C::NsecChain => "nsec-chain",
            C::NsecBitmap => "nsec-bitmap",
            C::NsecOnGlue => "nsec-on-glue",
            C::Nsec3Params => "nsec3-params",
            C::Nsec3Iterations => "nsec3-iterations",
            C::Nsec3Salt => "nsec3-salt",
            C::Nsec3OptOut => "nsec3-opt-out",
            C::TlsaUnusable => "tlsa-unusable",
            C::TlsaMismatch => "tlsa-mismatch",
            C::TlsaNoAddress => "tlsa-no-address",
            C::IssuerFamily => "issuer-family",
            C::TlsaIntermediatePin => "tlsa-intermediate-pin",
            C::ZonemdMismatch => "zonemd",
            C::CdsMismatch => "cds-mismatch",
            C::DsMismatch => "ds-mismatch",
        }
    }
}

/// One problem found in the zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub code: FindingCode,
    /// The owner of the RRset (or the apex for zone-wide findings).
    pub owner: Name,
    /// The type of the RRset concerned (the covered type for RRSIG findings).
    pub rtype: u16,
    /// The key tag of the RRSIG concerned, if any.
    pub key_tag: Option<u16>,
    /// What is wrong, for a person to act on.
    pub what: String,
    /// The RFC section the rule comes from.
    pub rfc: &'static str,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.severity.as_str(),
            self.code.as_str(),
            self.owner,
            type_name(self.rtype)
        )?;
        if let Some(t) = self.key_tag {
            write!(f, " key {t}")?;
        }
        write!(f, ": {} ({})", self.what, self.rfc)
    }
}

/// What the checks found, with counts for a summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The findings, errors first, then by owner (canonical order), type and code.
    pub findings: Vec<Finding>,
    /// Records read.
    pub records: usize,
    /// RRsets (owner and type, RRSIGs not counted).
    pub rrsets: usize,
    /// RRSIGs whose signature was verified (inside their window, known key).
    pub signatures_checked: usize,
    /// Of those, the ones that verified.
    pub signatures_valid: usize,
}

impl Report {
    /// Whether any finding is an error (the zone must not be published).
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
    /// Whether any finding is a warning.
    pub fn has_warnings(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Warning)
    }

    /// Adds findings (e.g. of [`crate::tlsa_for`]), keeping the report's order.
    pub fn add(&mut self, findings: Vec<Finding>) {
        self.findings.extend(findings);
        sort(&mut self.findings);
    }
}

/// A zone key from the apex DNSKEY RRset.
struct Key {
    tag: u16,
    algorithm: u8,
    flags: u16,
    public: Vec<u8>,
}

/// An RRSIG, parsed (RFC 4034 3.1).
struct Sig<'a> {
    algorithm: u8,
    labels: u8,
    original_ttl: u32,
    expiration: u32,
    inception: u32,
    key_tag: u16,
    /// The signer when it is not the apex (it must be: a finding), `None` when it is (one
    /// name less kept per signature).
    signer: Option<Name>,
    /// The canonical RRSIG RDATA (RFC 4034 6.2): the fields, then the signature from `split`
    /// (the record's own RDATA when the canonical form is the same octets).
    rdata: Cow<'a, [u8]>,
    split: usize,
}

impl Sig<'_> {
    /// The canonical RRSIG RDATA without the signature (RFC 4034 3.1.8.1).
    fn prefix(&self) -> &[u8] {
        &self.rdata[..self.split]
    }

    fn signature(&self) -> &[u8] {
        &self.rdata[self.split..]
    }
}

/// The records of one owner and type.
#[derive(Default)]
struct Set<'a> {
    ttl: u32,
    ttl_differs: bool,
    /// Canonical RDATA (RFC 4034 6.2): the record's own RDATA when the canonical form is
    /// the same octets (most types, and names already lowercase), so it is not kept twice.
    rdatas: Vec<Cow<'a, [u8]>>,
}

/// The RRsets of one owner by type, in type order: a sorted vector (an owner has a few
/// types; a map per owner would cost a tree node of eleven entries each).
#[derive(Default)]
struct Types<'a>(Vec<(u16, Set<'a>)>);

impl<'a> Types<'a> {
    fn find(&self, rtype: u16) -> Result<usize, usize> {
        self.0.binary_search_by_key(&rtype, |(t, _)| *t)
    }

    fn get(&self, rtype: &u16) -> Option<&Set<'a>> {
        self.find(*rtype).ok().map(|i| &self.0[i].1)
    }

    fn contains_key(&self, rtype: &u16) -> bool {
        self.find(*rtype).is_ok()
    }

    fn keys(&self) -> impl Iterator<Item = &u16> {
        self.0.iter().map(|(t, _)| t)
    }

    fn iter(&self) -> impl Iterator<Item = (&u16, &Set<'a>)> {
        self.0.iter().map(|(t, s)| (t, s))
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// The set of `rtype`, made empty if absent.
    fn set_mut(&mut self, rtype: u16) -> &mut Set<'a> {
        let i = match self.find(rtype) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (rtype, Set::default()));
                i
            }
        };
        &mut self.0[i].1
    }
}

impl<'a, 'z> IntoIterator for &'a Types<'z> {
    type Item = (&'a u16, &'a Set<'z>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (u16, Set<'z>)>,
        fn(&'a (u16, Set<'z>)) -> (&'a u16, &'a Set<'z>),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(t, s)| (t, s))
    }
}

/// The zone grouped by owner (canonical order) and type.
#[derive(Default)]
struct Zone<'a> {
    sets: BTreeMap<Name, Types<'a>>,
    sigs: BTreeMap<(Name, u16), Vec<Sig<'a>>>,
}

/// State of one run.
struct Run<'a> {
    apex: &'a Name,
    opts: &'a CheckOptions,
    keys: Vec<Key>,
    algorithms: BTreeSet<u8>,
    report: Report,
    /// Signatures expiring within the window: count, and the first (time, owner, type).
    soon: (usize, Option<(u64, Name, u16)>),
    /// Signatures younger than the inception margin: count, and the latest inception.
    fresh: (usize, Option<(u64, Name, u16)>),
    /// The keys (tag, algorithm) whose RRSIG over the apex DNSKEY RRset verified.
    dnskey_signers: BTreeSet<(u16, u8)>,
}

impl Run<'_> {
    /// An error finding without a key tag.
    fn error(
        &mut self,
        code: FindingCode,
        owner: &Name,
        rtype: u16,
        what: String,
        rfc: &'static str,
    ) {
        self.push(Severity::Error, code, owner, rtype, None, what, rfc);
    }

    /// A warning finding without a key tag.
    fn warn(
        &mut self,
        code: FindingCode,
        owner: &Name,
        rtype: u16,
        what: String,
        rfc: &'static str,
    ) {
        self.push(Severity::Warning, code, owner, rtype, None, what, rfc);
    }

    #[allow(clippy::too_many_arguments)] // the fields of a Finding, named at each site
    fn push(
        &mut self,
        severity: Severity,
        code: FindingCode,
        owner: &Name,
        rtype: u16,
        key_tag: Option<u16>,
        what: String,
        rfc: &'static str,
    ) {
        self.report.findings.push(Finding {
            severity,
            code,
            owner: owner.clone(),
            rtype,
            key_tag,
            what,
            rfc,
        });
    }
}

/// Checks the DNSSEC signatures of the zone `apex` made of `records`, at `opts.now`.
pub fn check_zone(records: &[Record], apex: &Name, opts: &CheckOptions) -> Report {
    let mut run = Run {
        apex,
        opts,
        keys: Vec::new(),
        algorithms: BTreeSet::new(),
        report: Report::default(),
        soon: (0, None),
        fresh: (0, None),
        dnskey_signers: BTreeSet::new(),
    };
    let mut zone = group(&mut run, records);
    run.report.rrsets = zone.sets.values().map(Types::len).sum();
    // TLSA form does not depend on the signatures: checked in unsigned zones too.
    run.report
        .findings
        .extend(crate::tlsa::tlsa_form(records, apex));
    run.report.findings.extend(crate::tlsa::issuer_families(
        records,
        &opts.ca_families,
        opts.now,
    ));
    zonemd::check_zonemd(&mut run, records);
    if !apex_keys(&mut run, &zone) {
        return run.finish();
    }
    let occluded = occluded_names(&zone, apex);
    if !nsec3::check_nsec3(&mut run, &zone, &occluded) {
        nsec::check_nsec(&mut run, &zone, &occluded);
    }
    check_rrsets(&mut run, &mut zone, &occluded);
    cds::check_cds(&mut run, &zone);
    let signers = std::mem::take(&mut run.dnskey_signers);
    cds::check_parent_ds(&mut run, &zone, &signers);
    run.finish()
}

/// Every RRset with its RRSIGs: authoritative ones checked, non-authoritative ones must be
/// unsigned; RRSIGs left over cover nothing.
fn check_rrsets(run: &mut Run<'_>, zone: &mut Zone, occluded: &BTreeSet<Name>) {
    let apex = run.apex;
    let names: Vec<Name> = zone.sets.keys().cloned().collect();
    for name in &names {
        let Some(types) = zone.sets.get(name) else {
            continue;
        };
        let cut = name != apex && types.contains_key(&NS);
        for (&rtype, set) in types {
            let sigs = zone.sigs.remove(&(name.clone(), rtype)).unwrap_or_default();
            // RFC 4035 2.2: delegation NS RRsets and glue are not signed; RFC 4035 2.2 and
            // RFC 6672 2.4: nor is data below a cut or a DNAME (it is occluded).
            let below = occluded.contains(name);
            let authoritative = !below && (!cut || rtype == DS || rtype == NSEC);
            if !authoritative {
                if !sigs.is_empty() {
                    let why = if cut && !occluded.contains(name) {
                        "at a delegation point"
                    } else {
                        "below a zone cut or DNAME (glue or occluded data)"
                    };
                    let what = format!(
                        "{} RRSIG(s) over a non-authoritative RRset {why}",
                        sigs.len()
                    );
                    run.error(FindingCode::SignedGlue, name, rtype, what, "RFC 4035 2.2");
                }
                continue;
            }
            check_rrset(run, name, rtype, set, &sigs);
        }
    }
    for ((name, rtype), sigs) in &zone.sigs {
        let what = format!(
            "{} RRSIG(s) cover {} but {name} has no such RRset",
            sigs.len(),
            type_name(*rtype)
        );
        run.error(
            FindingCode::OrphanSignature,
            name,
            *rtype,
            what,
            "RFC 4034 3",
        );
    }
}

impl Run<'_> {
    fn finish(mut self) -> Report {
        let n = self.soon.0;
        if let Some((t, owner, rtype)) = self.soon.1.take() {
            let what = format!(
                "{n} signature(s) expire within {}s of {}; the first at {} ({owner} {})",
                self.opts.expire_within,
                fmt_unix(self.opts.now),
                fmt_unix(t),
                type_name(rtype)
            );
            let apex = self.apex.clone();
            self.push(
                Severity::Warning,
                FindingCode::ExpiresSoon,
                &apex,
                SOA,
                None,
                what,
                "RFC 4034 3.1.5",
            );
        }
        let n = self.fresh.0;
        if let Some((t, owner, rtype)) = self.fresh.1.take() {
            let what = format!(
                "{n} signature(s) became valid less than {}s before {}; the latest at {} ({owner} {}): resolvers with a lagging clock reject them",
                self.opts.inception_margin,
                fmt_unix(self.opts.now),
                fmt_unix(t),
                type_name(rtype)
            );
            let apex = self.apex.clone();
            self.warn(
                FindingCode::InceptionTooRecent,
                &apex,
                SOA,
                what,
                "RFC 6781 4.4.2.2",
            );
        }
        sort(&mut self.report.findings);
        self.report
    }
}

/// Errors first, then by owner (canonical order), type and code.
fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.severity, &a.owner, a.rtype, a.code).cmp(&(b.severity, &b.owner, b.rtype, b.code))
    });
}

/// Groups records into RRsets and RRSIGs; records outside the zone and malformed RDATA
/// become findings.
fn group<'a>(run: &mut Run<'_>, records: &'a [Record]) -> Zone<'a> {
    let mut zone = Zone::default();
    for r in records {
        run.report.records += 1;
        if !r.owner.is_at_or_below(run.apex) {
            let what = format!(
                "{}:{}: owner is outside the zone {}",
                r.file, r.line, run.apex
            );
            run.error(
                FindingCode::OutOfZone,
                &r.owner,
                r.rtype,
                what,
                "RFC 1035 5.2",
            );
            continue;
        }
        let canon: Cow<'a, [u8]> = match canonical_rdata_of(r.rtype, &r.rdata) {
            Ok(c) if c == r.rdata => Cow::Borrowed(&r.rdata),
            Ok(c) => Cow::Owned(c),
            Err(e) => {
                let what = format!("{}:{}: {e}", r.file, r.line);
                run.error(
                    FindingCode::Malformed,
                    &r.owner,
                    r.rtype,
                    what,
                    "RFC 4034 6.2",
                );
                continue;
            }
        };
        if r.rtype == RRSIG {
            add_rrsig(run, &mut zone, r, canon);
            continue;
        }
        let set = zone
            .sets
            .entry(r.owner.clone())
            .or_default()
            .set_mut(r.rtype);
        if set.rdatas.is_empty() {
            set.ttl = r.ttl;
        } else if set.ttl != r.ttl {
            // RFC 2181 5.2: the TTLs of an RRset must be equal; signers use the first.
            set.ttl_differs = true;
        }
        set.rdatas.push(canon);
    }
    ttl_mismatches(run, &zone);
    zone
}

/// Files an RRSIG under the owner and type it covers.
fn add_rrsig<'a>(run: &mut Run<'_>, zone: &mut Zone<'a>, r: &Record, canon: Cow<'a, [u8]>) {
    match parse_rrsig(&r.rdata, canon, run.apex) {
        Some((covered, sig)) => {
            let key = (r.owner.clone(), covered);
            zone.sigs.entry(key).or_default().push(sig);
        }
        None => {
            let what = format!("{}:{}: RRSIG RDATA too short", r.file, r.line);
            run.error(
                FindingCode::Malformed,
                &r.owner,
                RRSIG,
                what,
                "RFC 4034 3.1",
            );
        }
    }
}

/// RFC 2181 5.2: the TTLs of an RRset must be equal (signers use the first).
fn ttl_mismatches(run: &mut Run<'_>, zone: &Zone) {
    for (name, types) in &zone.sets {
        for (rtype, set) in types.iter().filter(|(_, s)| s.ttl_differs) {
            let what = format!("records with different TTLs (the first is {})", set.ttl);
            run.error(FindingCode::TtlMismatch, name, *rtype, what, "RFC 2181 5.2");
        }
    }
}

/// An RRSIG RDATA (as written and canonical) into its covered type and fields.
fn parse_rrsig<'a>(rdata: &[u8], canon: Cow<'a, [u8]>, apex: &Name) -> Option<(u16, Sig<'a>)> {
    let fixed = rdata.get(..18)?;
    let u32_at =
        |i: usize| u32::from_be_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
    let mut labels = Vec::new();
    let mut pos = 18;
    loop {
        let len = usize::from(*rdata.get(pos)?);
        if len == 0 {
            pos += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(rdata.get(pos + 1..pos + 1 + len)?.to_vec());
        pos += 1 + len;
    }
    let signer = Name::from_labels(labels).ok()?;
    // The canonical form only lowercases the signer, so the lengths agree.
    if canon.len() != rdata.len() {
        return None;
    }
    let sig = Sig {
        algorithm: fixed[2],
        labels: fixed[3],
        original_ttl: u32_at(4),
        expiration: u32_at(8),
        inception: u32_at(12),
        key_tag: u16::from_be_bytes([fixed[16], fixed[17]]),
        signer: (signer != *apex).then_some(signer),
        rdata: canon,
        split: pos,
    };
    Some((u16::from_be_bytes([fixed[0], fixed[1]]), sig))
}

/// Reads the apex: SOA present, the zone keys of the DNSKEY RRset. `false` if the zone
/// cannot be checked further (no DNSKEY RRset).
fn apex_keys(run: &mut Run<'_>, zone: &Zone) -> bool {
    let apex = run.apex.clone();
    let types = zone.sets.get(&apex);
    if !types.is_some_and(|t| t.contains_key(&SOA)) {
        let what = format!("no SOA record at the origin {apex}: wrong --origin or not a zone");
        run.error(FindingCode::NoSoa, &apex, SOA, what, "RFC 1035 5.2");
    }
    let Some(dnskeys) = types.and_then(|t| t.get(&DNSKEY)) else {
        let what = format!("no DNSKEY RRset at {apex}: the zone is not signed");
        run.error(FindingCode::NotSigned, &apex, DNSKEY, what, "RFC 4035 2.1");
        return false;
    };
    for rd in &dnskeys.rdatas {
        // RFC 4034 2.1.2: protocol 3; 2.1.1: only zone keys sign. RFC 5011 2.1: a revoked
        // key signs the DNSKEY RRset only (its self-signature announces the revocation), so
        // it is kept for that RRset and its algorithm is not required elsewhere.
        if rd.len() < 5 || rd[2] != 3 {
            continue;
        }
        let flags = u16::from_be_bytes([rd[0], rd[1]]);
        if flags & ZONE_FLAG == 0 {
            continue;
        }
        if flags & REVOKE_FLAG == 0 {
            run.algorithms.insert(rd[3]);
        }
        run.keys.push(Key {
            tag: dane_dnssec::key_tag(rd),
            algorithm: rd[3],
            flags,
            public: rd[4..].to_vec(),
        });
    }
    if run.algorithms.is_empty() {
        let what = "the DNSKEY RRset has no usable zone key (protocol 3, zone flag, not revoked)";
        run.error(
            FindingCode::NotSigned,
            &apex,
            DNSKEY,
            what.into(),
            "RFC 4034 2.1.1",
        );
        return false;
    }
    true
}

/// Names below a zone cut or a DNAME (RFC 4035 2.2, RFC 6672 2.4): not authoritative.
fn occluded_names(zone: &Zone, apex: &Name) -> BTreeSet<Name> {
    let mut out = BTreeSet::new();
    let mut occluder: Option<&Name> = None;
    // Canonical order puts every name's descendants right after it.
    for (name, types) in &zone.sets {
        if let Some(o) = occluder {
            if name != o && name.is_at_or_below(o) {
                out.insert(name.clone());
                continue;
            }
        }
        occluder = None;
        if name != apex && (types.contains_key(&NS) || types.contains_key(&DNAME)) {
            occluder = Some(name);
        }
    }
    out
}

/// The checks of one authoritative RRset and its RRSIGs.
fn check_rrset(run: &mut Run<'_>, name: &Name, rtype: u16, set: &Set, sigs: &[Sig]) {
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
    let mut valid_algs = BTreeSet::new();
    let mut tried_algs = BTreeSet::new();
    let mut sep_signed = false;
    for sig in sigs.iter().take(limit) {
        tried_algs.insert(sig.algorithm);
        if let Some(flags) = check_sig(run, name, rtype, set, sig) {
            valid_algs.insert(sig.algorithm);
            sep_signed |= flags & SEP_FLAG != 0 && flags & REVOKE_FLAG == 0;
            if rtype == DNSKEY && name == run.apex {
                run.dnskey_signers.insert((sig.key_tag, sig.algorithm));
            }
        }
    }
    // RFC 4035 2.2 (and RFC 6840 5.11): an RRSIG by each algorithm of the apex DNSKEY RRset.
    // An RRSIG of the algorithm that fails has its own finding already: this one is for an
    // algorithm no RRSIG of the RRset uses.
    let missing: Vec<u8> = run.algorithms.difference(&tried_algs).copied().collect();
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
    if rtype == DNSKEY && name == run.apex && !valid_algs.is_empty() && !sep_signed {
        dnskey_sep_finding(run, name);
    }
}

/// The DNSKEY RRset verifies, but not with a SEP key: an error when it has SEP keys (the
/// parent's DS points at them, so the chain breaks), a warning when it has none.
fn dnskey_sep_finding(run: &mut Run<'_>, apex: &Name) {
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
fn serial_le(a: u32, b: u32) -> bool {
    a == b || (b.wrapping_sub(a) as i32) > 0
}

/// The RRSIG checks of RFC 4035 5.3.1 and 5.3.3 (the zone is the only signer): returns the
/// flags of the key that verified it, if it is valid at `now`.
fn check_sig(run: &mut Run<'_>, name: &Name, rtype: u16, set: &Set, sig: &Sig) -> Option<u16> {
    if !fields_ok(run, name, rtype, set, sig) || !time_ok(run, name, rtype, sig) {
        return None;
    }
    run.report.signatures_checked += 1;
    let data = signed_data(name, rtype, set, sig);
    match verify_with_keys(&run.keys, rtype, sig, &data) {
        Ok(flags) => {
            run.report.signatures_valid += 1;
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
fn fields_ok(run: &mut Run<'_>, name: &Name, rtype: u16, set: &Set, sig: &Sig) -> bool {
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
fn time_ok(run: &mut Run<'_>, name: &Name, rtype: u16, sig: &Sig) -> bool {
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
    let mut out = sig.prefix().to_vec();
    // `labels` equals the owner's label count without a leading `*` (checked before).
    let owner = name.wire();
    let mut rdatas: Vec<&[u8]> = set.rdatas.iter().map(AsRef::as_ref).collect();
    rdatas.sort();
    rdatas.dedup();
    for rd in rdatas {
        out.extend_from_slice(&owner);
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&sig.original_ttl.to_be_bytes());
        out.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        out.extend_from_slice(rd);
    }
    out
}

/// RFC 3339 UTC time of a Unix time.
pub(crate) fn fmt_unix(secs: u64) -> String {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok());
    match t.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    }) {
        Some(s) => s,
        None => format!("{secs}s after the epoch"),
    }
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

    #[test]
    fn hostile_rrsig_rdata_is_refused() {
        let mut ok = vec![0, 1, 13, 2, 0, 0, 14, 16, 0, 0, 0, 2, 0, 0, 0, 1, 0, 7];
        ok.extend_from_slice(b"\x07example\x00");
        ok.extend_from_slice(&[1, 2, 3]);
        let apex = Name::parse("example.", &Name::root()).unwrap();
        let (covered, sig) = parse_rrsig(&ok, Cow::Borrowed(&ok), &apex).unwrap();
        assert_eq!((covered, sig.labels, sig.key_tag), (1, 2, 7));
        assert_eq!(sig.signature(), [1, 2, 3]);
        assert_eq!(sig.prefix().len(), ok.len() - 3);
        assert!(sig.signer.is_none());
        let other = Name::parse("other.", &Name::root()).unwrap();
        let (_, sig) = parse_rrsig(&ok, Cow::Borrowed(&ok), &other).unwrap();
        assert_eq!(sig.signer, Some(apex));
        for bad in [&ok[..17], &ok[..20], &[&ok[..18], &[64u8][..]].concat()[..]] {
            assert!(
                parse_rrsig(bad, Cow::Borrowed(bad), &other).is_none(),
                "{bad:?}"
            );
        }
    }
}
