//! The DNSSEC checks of a signed zone at a given time: every authoritative RRset signed, by
//! every algorithm of the apex DNSKEY RRset, with signatures that verify and are valid at
//! `now`; no signatures on glue or occluded data; the DNSKEY RRset signed by a SEP key.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use dane_dnssec::canonical_rdata_of;
use rayon::prelude::*;

use crate::Record;
use crate::name::{Name, canonical_cmp};

mod cds;
mod nsec;
mod nsec3;
mod sigs;
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
    /// The owner and the type covered: the zone keeps its RRSIGs in one vector in this
    /// order, so an RRset's are a slice, found by walking both in step.
    owner: Name,
    covered: u16,
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
                reserve_few(&mut self.0);
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
    /// Every RRSIG, in canonical order of owner, then by type covered, then as in the file.
    sigs: Vec<Sig<'a>>,
}

impl Sig<'_> {
    /// Orders by owner (canonical), then type covered.
    fn cmp_key(&self, owner: &Name, covered: u16) -> std::cmp::Ordering {
        canonical_cmp(&self.owner, owner).then(self.covered.cmp(&covered))
    }
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
    /// The keys (tag, algorithm) whose RRSIG over an apex DNSKEY, CDS or CDNSKEY RRset
    /// (the type first) verified.
    apex_signers: BTreeSet<(u16, u16, u8)>,
}

/// Where findings go: the run's report, or a signature worker's own list (merged in RRset
/// order afterwards). One set of helpers for both.
trait Findings {
    /// The list new findings are appended to.
    fn findings(&mut self) -> &mut Vec<Finding>;

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
        self.findings().push(Finding {
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

impl<'a> Run<'a> {
    fn new(apex: &'a Name, opts: &'a CheckOptions) -> Self {
        Run {
            apex,
            opts,
            keys: Vec::new(),
            algorithms: BTreeSet::new(),
            report: Report::default(),
            soon: (0, None),
            fresh: (0, None),
            apex_signers: BTreeSet::new(),
        }
    }
}

impl Findings for Run<'_> {
    fn findings(&mut self) -> &mut Vec<Finding> {
        &mut self.report.findings
    }
}

/// Checks the DNSSEC signatures of the zone `apex` made of `records`, at `opts.now`.
pub fn check_zone(records: &[Record], apex: &Name, opts: &CheckOptions) -> Report {
    let mut run = Run::new(apex, opts);
    let zone = group(&mut run, records);
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
    // The NSEC or NSEC3 chain (one thread) beside the signatures (all threads); the chain's
    // findings go where they went when it was checked first.
    let mut chain = Run::new(apex, opts);
    let before = run.report.findings.len();
    rayon::join(
        || {
            if !nsec3::check_nsec3(&mut chain, &zone, &occluded) {
                nsec::check_nsec(&mut chain, &zone, &occluded);
            }
        },
        || check_rrsets(&mut run, &zone, &occluded),
    );
    run.report
        .findings
        .splice(before..before, chain.report.findings);
    cds::check_cds(&mut run, &zone);
    let signers = std::mem::take(&mut run.apex_signers);
    cds::check_parent_ds(&mut run, &zone, &signers);
    run.finish()
}

/// RRsets handed to the workers at a time (2.6 MB of jobs). Each batch ends when its
/// slowest worker does: on a busy machine a worker the kernel has put aside holds up the
/// whole batch, so few large batches (4,096 RRsets made 98 waits on a zone of 400,000).
const BATCH: usize = 65_536;
/// RRsets one worker checks in a row (a few milliseconds of signature verification).
const CHUNK: usize = 32;

/// Every RRset with its RRSIGs: authoritative ones checked, non-authoritative ones must be
/// unsigned; RRSIGs left over cover nothing. The RRsets are checked on all cores (rayon's
/// pool), in batches; the workers' findings are merged in RRset order, so the report is the
/// same whatever the number of threads.
fn check_rrsets(run: &mut Run<'_>, zone: &Zone, occluded: &BTreeSet<Name>) {
    let apex = run.apex;
    let Zone { sets, sigs } = zone;
    let mut batch: Vec<sigs::Job> = Vec::with_capacity(BATCH);
    // RRSIGs and RRsets are both in (owner, type) order: walked in step, the RRSIGs an
    // RRset has no RRset for are left behind (first index, count).
    let mut at = 0;
    let mut orphans: Vec<(usize, usize)> = Vec::new();
    let skip_to = |at: &mut usize, name: &Name, rtype: u16, orphans: &mut Vec<_>| {
        while *at < sigs.len() && sigs[*at].cmp_key(name, rtype).is_lt() {
            let start = *at;
            let (owner, covered) = (&sigs[start].owner, sigs[start].covered);
            while *at < sigs.len() && sigs[*at].cmp_key(owner, covered).is_eq() {
                *at += 1;
            }
            orphans.push((start, *at - start));
        }
    };
    for (name, types) in sets.iter() {
        let cut = name != apex && types.contains_key(&NS);
        let below = occluded.contains(name);
        for (&rtype, set) in types {
            skip_to(&mut at, name, rtype, &mut orphans);
            let start = at;
            while at < sigs.len() && sigs[at].cmp_key(name, rtype).is_eq() {
                at += 1;
            }
            batch.push(sigs::Job {
                name,
                rtype,
                set,
                sigs: &sigs[start..at],
                cut,
                below,
            });
            if batch.len() == BATCH {
                check_batch(run, &mut batch);
            }
        }
    }
    check_batch(run, &mut batch);
    while at < sigs.len() {
        let start = at;
        let (owner, covered) = (&sigs[start].owner, sigs[start].covered);
        while at < sigs.len() && sigs[at].cmp_key(owner, covered).is_eq() {
            at += 1;
        }
        orphans.push((start, at - start));
    }
    for (start, count) in orphans {
        let (name, rtype) = (&sigs[start].owner, sigs[start].covered);
        let what = format!(
            "{count} RRSIG(s) cover {} but {name} has no such RRset",
            type_name(rtype)
        );
        run.error(
            FindingCode::OrphanSignature,
            name,
            rtype,
            what,
            "RFC 4034 3",
        );
    }
}

/// Checks a batch of RRsets on the pool's threads and merges what they found, in order.
fn check_batch(run: &mut Run<'_>, batch: &mut Vec<sigs::Job>) {
    let parts: Vec<sigs::Worker> = batch
        .par_chunks(CHUNK)
        .map(|jobs| {
            let mut w = sigs::Worker::new(run.apex, run.opts, &run.keys, &run.algorithms);
            for job in jobs {
                w.rrset(job);
            }
            w
        })
        .collect();
    for w in parts {
        run.report.findings.extend(w.findings);
        run.report.signatures_checked += w.checked;
        run.report.signatures_valid += w.valid;
        // The first expiry and the latest inception, the earlier RRset winning a tie: as
        // if one thread had checked them all in order.
        run.soon.0 += w.soon.0;
        if let Some((t, owner, rtype)) = w.soon.1 {
            if run.soon.1.as_ref().is_none_or(|(first, _, _)| t < *first) {
                run.soon.1 = Some((t, owner, rtype));
            }
        }
        run.fresh.0 += w.fresh.0;
        if let Some((t, owner, rtype)) = w.fresh.1 {
            if run
                .fresh
                .1
                .as_ref()
                .is_none_or(|(latest, _, _)| t > *latest)
            {
                run.fresh.1 = Some((t, owner, rtype));
            }
        }
        run.apex_signers.extend(w.apex_signers);
    }
    batch.clear();
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
    let mut owners = Owners::default();
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
        let set = owners.types_mut(&r.owner).set_mut(r.rtype);
        if set.rdatas.is_empty() {
            set.ttl = r.ttl;
        } else if set.ttl != r.ttl {
            // RFC 2181 5.2: the TTLs of an RRset must be equal; signers use the first.
            set.ttl_differs = true;
        }
        reserve_few(&mut set.rdatas);
        set.rdatas.push(canon);
    }
    zone.sets = owners.into_map();
    // Stable, and near linear on a signed zone's file (already in canonical order).
    zone.sigs.sort_by(|a, b| a.cmp_key(&b.owner, b.covered));
    zone.sigs.shrink_to_fit();
    ttl_mismatches(run, &zone);
    zone
}

/// The owners while the zone is read: a signed zone's file is in canonical order, so its
/// owners are appended to `tail` (one comparison each) and the tree is built from it in
/// one pass at the end; an owner out of order moves `tail` into the tree, searched from
/// then on. Every key of `tail` is after every key of `map`, in order.
#[derive(Default)]
struct Owners<'a> {
    map: BTreeMap<Name, Types<'a>>,
    tail: Vec<(Name, Types<'a>)>,
}

impl<'a> Owners<'a> {
    /// The types of `owner`, made empty if new.
    fn types_mut(&mut self, owner: &Name) -> &mut Types<'a> {
        let last = match self.tail.last() {
            Some((last, _)) => Some(last),
            None => self.map.last_key_value().map(|(k, _)| k),
        };
        match last.map(|last| canonical_cmp(owner, last)) {
            None | Some(std::cmp::Ordering::Greater) => {}
            Some(std::cmp::Ordering::Equal) if !self.tail.is_empty() => {
                let i = self.tail.len() - 1;
                return &mut self.tail[i].1;
            }
            Some(_) => {
                self.map.extend(self.tail.drain(..));
                return self.map.entry(owner.clone()).or_default();
            }
        }
        let i = self.tail.len();
        self.tail.push((owner.clone(), Types::default()));
        &mut self.tail[i].1
    }

    fn into_map(mut self) -> BTreeMap<Name, Types<'a>> {
        if self.map.is_empty() {
            // Sorted and without duplicates: built in one pass.
            return self.tail.into_iter().collect();
        }
        self.map.extend(self.tail);
        self.map
    }
}

/// Room for one more element, exactly while the vector is small: most RRsets hold one record
/// and one RRSIG, and an owner a few types, where a vector's first push would make room
/// for four (a zone of a million names held three times the records it has).
fn reserve_few<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() && v.len() < 8 {
        v.reserve_exact(1);
    }
}

/// Files an RRSIG under the owner and type it covers.
fn add_rrsig<'a>(run: &mut Run<'_>, zone: &mut Zone<'a>, r: &Record, canon: Cow<'a, [u8]>) {
    match parse_rrsig(&r.owner, &r.rdata, canon, run.apex) {
        Some(sig) => zone.sigs.push(sig),
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
fn parse_rrsig<'a>(
    owner: &Name,
    rdata: &[u8],
    canon: Cow<'a, [u8]>,
    apex: &Name,
) -> Option<Sig<'a>> {
    let fixed = rdata.get(..18)?;
    let u32_at =
        |i: usize| u32::from_be_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
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
        rdata.get(pos + 1..pos + 1 + len)?;
        pos += 1 + len;
    }
    // Mostly the apex: compared in place, no name built.
    let signer = if apex.matches_wire(&rdata[18..pos - 1]) {
        None
    } else {
        let mut labels = Vec::new();
        let mut at = 18;
        while at < pos - 1 {
            let len = usize::from(rdata[at]);
            labels.push(&rdata[at + 1..at + 1 + len]);
            at += 1 + len;
        }
        let signer = Name::from_labels(labels).ok()?;
        (signer != *apex).then_some(signer)
    };
    // The canonical form only lowercases the signer, so the lengths agree.
    if canon.len() != rdata.len() {
        return None;
    }
    let sig = Sig {
        owner: owner.clone(),
        covered: u16::from_be_bytes([fixed[0], fixed[1]]),
        algorithm: fixed[2],
        labels: fixed[3],
        original_ttl: u32_at(4),
        expiration: u32_at(8),
        inception: u32_at(12),
        key_tag: u16::from_be_bytes([fixed[16], fixed[17]]),
        signer,
        rdata: canon,
        split: pos,
    };
    Some(sig)
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

    /// Owners in order, repeated, out of order and repeated after that: the same tree as
    /// searching it for every record.
    #[test]
    fn owners_tree_whatever_the_order() {
        let root = Name::root();
        for order in [
            &["a", "a", "b", "c", "c"][..],
            &["c", "a", "b", "a", "c", "d", "d", "b"],
            &["a", "b", "c", "b", "d", "e", "a", "f"],
            &["b", "a"],
            &[],
        ] {
            let mut owners = Owners::default();
            let mut want: BTreeMap<Name, Vec<u16>> = BTreeMap::new();
            for (i, o) in order.iter().enumerate() {
                let name = Name::parse(o, &root).unwrap();
                let t = u16::try_from(i).unwrap();
                owners.types_mut(&name).set_mut(t).ttl = u32::from(t);
                want.entry(name).or_default().push(t);
            }
            let got: BTreeMap<Name, Vec<u16>> = owners
                .into_map()
                .into_iter()
                .map(|(n, types)| (n, types.keys().copied().collect()))
                .collect();
            assert_eq!(got, want, "{order:?}");
        }
    }

    #[test]
    fn hostile_rrsig_rdata_is_refused() {
        let mut ok = vec![0, 1, 13, 2, 0, 0, 14, 16, 0, 0, 0, 2, 0, 0, 0, 1, 0, 7];
        ok.extend_from_slice(b"\x07example\x00");
        ok.extend_from_slice(&[1, 2, 3]);
        let apex = Name::parse("example.", &Name::root()).unwrap();
        let (covered, sig) = parse_rrsig(&apex, &ok, Cow::Borrowed(&ok), &apex)
            .map(|s| (s.covered, s))
            .unwrap();
        assert_eq!((covered, sig.labels, sig.key_tag), (1, 2, 7));
        assert_eq!(sig.owner, apex);
        assert_eq!(sig.signature(), [1, 2, 3]);
        assert_eq!(sig.prefix().len(), ok.len() - 3);
        assert!(sig.signer.is_none());
        let other = Name::parse("other.", &Name::root()).unwrap();
        let sig = parse_rrsig(&apex, &ok, Cow::Borrowed(&ok), &other).unwrap();
        assert_eq!(sig.signer, Some(apex.clone()));
        // The signer in upper case is still the apex (compared in place).
        let upper = ok.to_ascii_uppercase();
        let sig = parse_rrsig(&apex, &upper, Cow::Borrowed(&ok), &apex).unwrap();
        assert!(sig.signer.is_none());
        // A signer name over 255 octets is refused.
        let mut long = ok[..18].to_vec();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        assert!(parse_rrsig(&apex, &long, Cow::Borrowed(&long), &apex).is_none());
        for bad in [&ok[..17], &ok[..20], &[&ok[..18], &[64u8][..]].concat()[..]] {
            assert!(
                parse_rrsig(&apex, bad, Cow::Borrowed(bad), &other).is_none(),
                "{bad:?}"
            );
        }
    }
}
