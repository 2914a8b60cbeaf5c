//! The validation engine: the chain from the trust anchor down (DS, DNSKEY per zone cut),
//! RRSIG checks, CNAME/DNAME links, and the denial proofs in `denial.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use hickory_proto::rr::{Name, RecordType};
use rustls_pki_types::UnixTime;

use crate::anchor::{Anchor, TrustAnchors};
use crate::crypto::{self, VerifyError};
use crate::evidence::{Evidence, Question, Response, Rrset, Sig};
use crate::verdict::{
    AnswerKind, DsStatus, Fact, KeyFact, Limits, Link, Outcome, Reason, ReasonCode as C, StepKind,
    TraceStep, Verdict, Warning, WarningCode,
};
use crate::wire::{self, name_wire};

/// What one validation pass produced: a finished outcome, or the next question whose
/// answer the validator needs (the resolver asks it, adds the answer to the evidence and
/// validates again).
#[derive(Debug, Clone)]
pub enum Step {
    /// Every needed answer was in the evidence.
    Done(Box<Outcome>),
    /// This answer is needed and not in the evidence yet.
    Need(Question),
}

/// Validates the answer to `name`/`rtype` from `evidence`, from `anchors`, at `now`.
///
/// Pure: the same evidence, anchors, time and limits give the same result.
pub fn validate(
    evidence: &Evidence,
    anchors: &TrustAnchors,
    name: &Name,
    rtype: RecordType,
    now: UnixTime,
    limits: &Limits,
) -> Step {
    run(
        evidence,
        anchors,
        name,
        rtype,
        now,
        limits,
        None,
        None,
        &mut Budget::new(),
    )
}

/// The work budget of one lookup, carried across its validation passes: the resolver
/// validates again each time the evidence grows (up to `max_queries` times), and every
/// pass repeats the checks of the one before. Each distinct signature check (algorithm,
/// key, signed data, signature) and each distinct NSEC3 hash (name, salt, iterations) is
/// counted once per lookup against [`Limits::max_signatures`] and
/// [`Limits::max_nsec3_hashes`], and its result is kept for the later passes, failures
/// included. Bounded: it holds at most that many results.
#[derive(Debug, Default, Clone)]
pub struct Budget {
    pub(crate) verifications: u32,
    pub(crate) crypto: u32,
    pub(crate) hashes: u32,
    pub(crate) sha1_runs: u64,
    pub(crate) results: HashMap<[u8; 32], Result<(), VerifyError>>,
    pub(crate) nsec3: HashMap<(Vec<u8>, Vec<u8>, u16), [u8; 20]>,
    /// The zones whose walk (DS and DNSKEY checks) an earlier pass of the lookup finished,
    /// with what that walk added to the trace, facts, warnings and expirations: a later
    /// pass replays it instead of building the canonical RRsets, digests and messages
    /// again (issue 27: a lookup takes a pass per answer fetched, each from the anchor
    /// down). Kept for the `now` they were validated at only.
    pub(crate) walks: HashMap<Name, Arc<Segment<Walk>>>,
    /// Likewise the zone cuts whose DS RRset an earlier pass verified (a pass that then
    /// needs the zone's DNSKEY RRset stops before the zone's walk is finished).
    pub(crate) cuts: HashMap<Name, Arc<Segment<Vec<Vec<u8>>>>>,
    pub(crate) walks_at: Option<u64>,
}

/// What finding one zone's keys added to a pass (see [`Budget`]): replayed, it leaves a
/// later pass as computing it again would, since it depends only on the evidence (which
/// only grows), the anchors, the limits and `now`, all the same within a lookup. The
/// budget needs nothing: every check of it is already counted in the lookup's results.
#[derive(Debug)]
pub(crate) struct Segment<T> {
    /// What it found: a zone's keys, or a cut's DS records.
    result: T,
    trace: Arc<[Part<TraceStep>]>,
    facts: Arc<[Part<Fact>]>,
    /// The zone keys weak-key warnings were considered for (deduplicated on replay as
    /// when computed).
    weak: Vec<(Name, Key)>,
    /// The signature expirations (and inceptions) noted.
    notes: Vec<(u64, Option<u64>)>,
}

/// An item of a pass's trace or facts, or a run of them replayed from an earlier pass
/// (shared, not copied: flattened once, when the pass finishes).
#[derive(Debug, Clone)]
pub(crate) enum Part<T> {
    Item(T),
    Replayed(Arc<[Part<T>]>),
}

/// `parts` flattened into their items, in order.
fn flatten<T: Clone>(parts: &[Part<T>], out: &mut Vec<T>) {
    for p in parts {
        match p {
            Part::Item(t) => out.push(t.clone()),
            Part::Replayed(run) => flatten(run, out),
        }
    }
}

/// Where a segment starts in the engine's outputs.
struct Mark {
    trace: usize,
    facts: usize,
    weak: usize,
    notes: usize,
}

impl Budget {
    /// A fresh budget (one per lookup).
    pub fn new() -> Self {
        Self::default()
    }

    /// Signature checks counted so far (what [`Limits::max_signatures`] caps).
    pub fn verifications(&self) -> u32 {
        self.verifications
    }

    /// Signature checks actually computed (not answered by a [`SignatureMemo`]).
    pub fn crypto_verifications(&self) -> u32 {
        self.crypto
    }

    /// NSEC3 owner-name hashes counted so far (what [`Limits::max_nsec3_hashes`] caps).
    pub fn nsec3_hashes(&self) -> u32 {
        self.hashes
    }

    /// SHA-1 runs those hashes took (each hash is `iterations + 1` runs).
    pub fn sha1_runs(&self) -> u64 {
        self.sha1_runs
    }
}

/// [`validate`] as one pass of a lookup: `budget` carries the work done by the earlier
/// passes of the same lookup (start each lookup with [`Budget::new`]), `memo` (if any)
/// the signatures checked earlier in the run. The outcome does not depend on `memo`.
#[allow(clippy::too_many_arguments)] // the inputs of a pass, each needed
pub fn validate_with(
    evidence: &Evidence,
    anchors: &TrustAnchors,
    name: &Name,
    rtype: RecordType,
    now: UnixTime,
    limits: &Limits,
    memo: Option<&SignatureMemo>,
    budget: &mut Budget,
) -> Step {
    run(
        evidence, anchors, name, rtype, now, limits, None, memo, budget,
    )
}

/// Signatures already verified in this run, so that the same signature over the same data
/// with the same key is checked by ring once, not once per lookup (a scan asks for the root
/// and TLD keys thousands of times; the resolver re-validates as the evidence grows). The
/// key is a SHA-256 over the algorithm, the key, the signed data and the signature, so a
/// hit means byte-identical inputs, for which ring's answer cannot differ. Successes and
/// failures are remembered (a hostile zone's bad signatures cost ring once per run, not
/// once per lookup). Everything else (validity windows at `now`, key tags, budgets: a hit
/// still counts against [`Limits::max_signatures`]) is checked every time. Bounded: past
/// `max` entries it starts over.
#[derive(Debug)]
pub struct SignatureMemo {
    verified: std::sync::Mutex<HashMap<[u8; 32], bool>>,
    max: usize,
}

impl SignatureMemo {
    /// An empty memo of at most `max` signatures.
    pub fn new(max: usize) -> Self {
        Self {
            verified: std::sync::Mutex::new(HashMap::new()),
            max,
        }
    }

    fn key(algorithm: u8, public_key: &[u8], data: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&[algorithm]);
        for part in [public_key, data, signature] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    fn get(&self, key: &[u8; 32]) -> Option<bool> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .copied()
    }

    fn insert(&self, key: [u8; 32], verified: bool) {
        let mut set = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if set.len() >= self.max {
            set.clear();
        }
        set.insert(key, verified);
    }

    /// How many signatures are remembered.
    pub fn len(&self) -> usize {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// [`validate`], with signatures verified earlier in the run remembered in `memo`. The
/// outcome is the same as without it; only the work differs.
pub fn validate_memo(
    evidence: &Evidence,
    anchors: &TrustAnchors,
    name: &Name,
    rtype: RecordType,
    now: UnixTime,
    limits: &Limits,
    memo: &SignatureMemo,
) -> Step {
    run(
        evidence,
        anchors,
        name,
        rtype,
        now,
        limits,
        None,
        Some(memo),
        &mut Budget::new(),
    )
}

/// One signature that verified during a validation: its algorithm, the DNSKEY public key
/// field, the signed data and the signature (for benchmarks against raw ring).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct VerifiedSignature {
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// The DNSKEY public key field.
    pub public_key: Vec<u8>,
    /// The signed data (RFC 4034 3.1.8.1).
    pub data: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
}

/// [`validate`], also returning every signature that verified (benchmark support).
#[doc(hidden)]
pub fn validate_recording(
    evidence: &Evidence,
    anchors: &TrustAnchors,
    name: &Name,
    rtype: RecordType,
    now: UnixTime,
    limits: &Limits,
) -> (Step, Vec<VerifiedSignature>) {
    let mut verified = Vec::new();
    let step = run(
        evidence,
        anchors,
        name,
        rtype,
        now,
        limits,
        Some(&mut verified),
        None,
        &mut Budget::new(),
    );
    (step, verified)
}

#[allow(clippy::too_many_arguments)] // the public entry points' common body
fn run(
    evidence: &Evidence,
    anchors: &TrustAnchors,
    name: &Name,
    rtype: RecordType,
    now: UnixTime,
    limits: &Limits,
    record: Option<&mut Vec<VerifiedSignature>>,
    memo: Option<&SignatureMemo>,
    budget: &mut Budget,
) -> Step {
    let mut e = Engine {
        ev: evidence,
        anchors,
        now_secs: now.as_secs(),
        // RRSIG times are 32-bit serial numbers (RFC 4034 3.1.5): `now` modulo 2^32.
        now: now.as_secs() as u32,
        limits: *limits,
        trace: Vec::new(),
        facts: Vec::new(),
        warnings: Vec::new(),
        budget,
        earliest_expiration: None,
        earliest_inception: None,
        zones: HashMap::new(),
        record,
        memo,
        weak: Vec::new(),
        notes: Vec::new(),
    };
    // Replayed walks hold for the time they were validated at.
    if e.budget.walks_at != Some(e.now_secs) {
        e.budget.walks.clear();
        e.budget.cuts.clear();
        e.budget.walks_at = Some(e.now_secs);
    }
    let q = Question::new(name, rtype);
    match e.resolve(&q) {
        Ok(links) => Step::Done(Box::new(e.finish(&q, links))),
        Err(Halt::Need(q)) => Step::Need(q),
        Err(Halt::Budget(reason)) => {
            e.step(StepKind::Failure, &q.name, reason.detail.clone());
            let link = Link {
                name: q.name.to_string(),
                rtype: q.rtype.to_string(),
                answer: AnswerKind::Unknown,
                verdict: Verdict::Bogus(reason.clone()),
                reason: Some(reason),
                zone: None,
                records: Vec::new(),
            };
            Step::Done(Box::new(e.finish(&q, vec![link])))
        }
    }
}

/// Why a pass stopped early.
pub(crate) enum Halt {
    Need(Question),
    Budget(Reason),
}

pub(crate) type R<T> = Result<T, Halt>;

/// A zone key from a validated DNSKEY RRset.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub tag: u16,
    pub algorithm: u8,
    pub flags: u16,
    pub public: Vec<u8>,
}

const ZONE_FLAG: u16 = 0x0100;
const REVOKE_FLAG: u16 = 0x0080;

impl Key {
    fn from_rdata(rdata: &[u8]) -> Option<Self> {
        // RFC 4034 2.1.2: a protocol other than 3 makes the key invalid for verification.
        if rdata.len() < 5 || rdata[2] != 3 {
            return None;
        }
        Some(Self {
            tag: crypto::key_tag(rdata),
            algorithm: rdata[3],
            flags: u16::from_be_bytes([rdata[0], rdata[1]]),
            public: rdata[4..].to_vec(),
        })
    }
    fn usable(&self) -> bool {
        // RFC 4034 2.1.1: only zone keys verify RRSIGs; RFC 5011 2.1: never a revoked key.
        self.flags & ZONE_FLAG != 0 && self.flags & REVOKE_FLAG == 0
    }
}

/// A secure zone and its validated keys.
type ZoneKeys = (Name, Arc<Vec<Key>>);

/// Where the walk from the anchor to a name ended.
#[derive(Debug, Clone)]
pub(crate) enum Walk {
    /// The deepest zone reached, with its validated keys.
    Secure { zone: Name, keys: Arc<Vec<Key>> },
    /// The chain stopped being secure (or broke) above the name.
    Stop(Verdict),
}

/// A signature that verified.
pub(crate) struct Used {
    /// Labels field, when it shows wildcard expansion.
    pub wildcard_labels: Option<u8>,
}

pub(crate) struct Engine<'a, 'r> {
    pub ev: &'a Evidence,
    anchors: &'a TrustAnchors,
    now_secs: u64,
    now: u32,
    pub limits: Limits,
    trace: Vec<Part<TraceStep>>,
    facts: Vec<Part<Fact>>,
    warnings: Vec<Warning>,
    pub(crate) budget: &'r mut Budget,
    /// The earliest expiration (Unix seconds) of the signatures that verified.
    earliest_expiration: Option<u64>,
    /// The inception of that signature, when it verified.
    earliest_inception: Option<u64>,
    zones: HashMap<Name, Walk>,
    record: Option<&'r mut Vec<VerifiedSignature>>,
    memo: Option<&'a SignatureMemo>,
    /// Logs for [`Segment`]s: weak keys considered, expirations noted.
    weak: Vec<(Name, Key)>,
    notes: Vec<(u64, Option<u64>)>,
}

/// Text formatted where it is used (into a reason), not built beforehand.
struct Lazy<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result>(F);

impl<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result> std::fmt::Display for Lazy<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (self.0)(f)
    }
}

/// RFC 1982 serial-number comparison: `a <= b`.
fn serial_le(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) >= 0
}

/// Formats a 32-bit RRSIG time (interpreted near `now`, RFC 4034 3.1.5) as RFC 3339 UTC.
pub(crate) fn fmt_time(t: u32, now: u32, now_secs: u64) -> String {
    let delta = i64::from(t.wrapping_sub(now) as i32);
    fmt_unix(
        i64::try_from(now_secs)
            .unwrap_or(i64::MAX)
            .saturating_add(delta),
    )
}

/// Formats seconds since the epoch as RFC 3339 UTC, for messages; outside the years
/// 0 to 9999 as `@SECONDS`. Formats the time it is given: no clock.
pub(crate) fn fmt_unix(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{secs}"))
}

fn priority(code: C) -> u8 {
    match code {
        // A budget that stopped the search outranks what was found before it stopped.
        C::BudgetExceeded => 7,
        C::SignatureInvalid => 6,
        C::SignatureExpired | C::SignatureNotYetValid => 4,
        C::NoMatchingKey => 3,
        C::SignatureMismatch | C::WrongZone => 2,
        _ => 1,
    }
}

fn keep_worst(best: &mut Option<Reason>, r: Reason) {
    if best
        .as_ref()
        .is_none_or(|b| priority(r.code) > priority(b.code))
    {
        *best = Some(r);
    }
}

/// The ancestor of `name` with `labels` labels (not counting a leading `*`).
pub(crate) fn ancestor(name: &Name, labels: usize) -> Name {
    let mut n = name.trim_to(labels);
    n.set_fqdn(true);
    n
}

/// The number of labels of a name, not counting the root (a leading `*` counts here).
pub(crate) fn label_count(name: &Name) -> usize {
    name.iter().count()
}

impl<'a> Engine<'a, '_> {
    pub(crate) fn step(&mut self, kind: StepKind, name: &Name, detail: impl Into<String>) {
        let detail = detail.into();
        tracing::debug!(?kind, %name, %detail, "dnssec step");
        self.trace.push(Part::Item(TraceStep {
            kind,
            name: name.to_string(),
            detail,
        }));
    }

    fn fact(&mut self, fact: Fact) {
        self.facts.push(Part::Item(fact));
    }

    /// Notes an RRSIG examined over `rrset` with the keys of `zone` (for pictures).
    fn sig_fact(&mut self, rrset: &Rrset, zone: &Name, sig: &Sig, problem: Option<C>) {
        self.fact(Fact::Signature {
            owner: rrset.name.to_string(),
            rtype: rrset.rtype.to_string(),
            zone: zone.to_string(),
            signer: sig.signer.to_string(),
            tag: sig.key_tag,
            algorithm: sig.algorithm,
            problem,
        });
    }

    /// Notes a zone's DNSKEY RRset and each supported DS's status against it (RFC 4035
    /// 5.2), `ds_matched` telling which DS a key's digest matched (for pictures).
    fn key_facts(
        &mut self,
        zone: &Name,
        set: &Rrset,
        supported: &[(u16, u8, u8, &[u8])],
        ds_matched: &[bool],
    ) {
        self.fact(Fact::Keys {
            zone: zone.to_string(),
            keys: set
                .rdatas
                .iter()
                .filter_map(|rd| Key::from_rdata(rd))
                .map(|k| KeyFact {
                    tag: k.tag,
                    algorithm: k.algorithm,
                    flags: k.flags,
                })
                .collect(),
        });
        for (&(tag, alg, dt, _), &digest_matched) in supported.iter().zip(ds_matched) {
            let status = if digest_matched {
                DsStatus::Valid
            } else if set
                .rdatas
                .iter()
                .filter_map(|rd| Key::from_rdata(rd))
                .any(|k| k.tag == tag && k.algorithm == alg)
            {
                DsStatus::BadDigest
            } else {
                DsStatus::NoKey
            };
            self.ds_fact(zone, (tag, alg, dt), status);
        }
    }

    /// Notes a DS record of `zone` (tag, algorithm, digest type) and its status.
    fn ds_fact(
        &mut self,
        zone: &Name,
        (tag, algorithm, digest_type): (u16, u8, u8),
        status: DsStatus,
    ) {
        self.fact(Fact::Ds {
            zone: zone.to_string(),
            tag,
            algorithm,
            digest_type,
            status,
        });
    }

    pub(crate) fn time(&self, t: u32) -> String {
        fmt_time(t, self.now, self.now_secs)
    }

    /// The response to a question: `Ok(Ok(resp))`, `Ok(Err(verdict))` when the query failed
    /// or the server answered with an error rcode, `Err(Need)` when not collected yet.
    pub(crate) fn response(
        &mut self,
        name: &Name,
        rtype: RecordType,
    ) -> R<Result<&'a Response, Verdict>> {
        let q = Question::new(name, rtype);
        let ev = self.ev;
        match ev.get(&q) {
            None => Err(Halt::Need(q)),
            Some(Err(reason)) => {
                let r = Reason::new(
                    C::QueryFailed,
                    format!("query {name} {rtype} failed: {reason}"),
                );
                self.step(StepKind::Failure, name, r.detail.clone());
                Ok(Err(Verdict::Indeterminate(r)))
            }
            Some(Ok(resp)) => {
                if resp.rcode != 0 && resp.rcode != 3 {
                    let r = Reason::new(
                        C::ServerError,
                        format!(
                            "query {name} {rtype}: the server answered rcode {}",
                            rcode_name(resp.rcode)
                        ),
                    );
                    self.step(StepKind::Failure, name, r.detail.clone());
                    return Ok(Err(Verdict::Indeterminate(r)));
                }
                Ok(Ok(resp))
            }
        }
    }

    /// The data RFC 4034 3.1.8.1 signs: RRSIG RDATA without the signature, then each RR in
    /// canonical form (owner lowercased, or `*.` + the last `labels` labels for a wildcard
    /// expansion; original TTL) in canonical RDATA order, duplicates removed (6.3).
    fn signed_data(rrset: &Rrset, sig: &Sig) -> Vec<u8> {
        let mut out = sig.prefix.clone();
        let owner_labels = usize::from(rrset.name.num_labels());
        let owner = if usize::from(sig.labels) < owner_labels {
            let mut w = b"\x01*".to_vec();
            w.extend(name_wire(&ancestor(&rrset.name, usize::from(sig.labels))));
            w
        } else {
            name_wire(&rrset.name)
        };
        let mut rdatas: Vec<&Vec<u8>> = rrset.rdatas.iter().collect();
        rdatas.sort();
        rdatas.dedup();
        let rtype = u16::from(rrset.rtype).to_be_bytes();
        for rd in rdatas {
            out.extend_from_slice(&owner);
            out.extend_from_slice(&rtype);
            out.extend_from_slice(&rrset.class.to_be_bytes());
            out.extend_from_slice(&sig.original_ttl.to_be_bytes());
            out.extend_from_slice(&(rd.len() as u16).to_be_bytes());
            out.extend_from_slice(rd);
        }
        out
    }

    /// RFC 4035 5.3: verifies an RRset with the keys of `zone`. `Ok(Err(reason))` when no
    /// signature verifies (the most telling failure).
    pub(crate) fn verify_rrset(
        &mut self,
        rrset: &Rrset,
        zone: &Name,
        keys: &[Key],
    ) -> R<Result<Used, Reason>> {
        // Formatted only into a failure's reason (a verified RRset needs neither).
        let what = Lazy(|f| write!(f, "{} {}", rrset.name, rrset.rtype));
        if rrset.sigs.is_empty() {
            let r = Reason::new(
                C::MissingSignature,
                format!("{what} has no RRSIG although {zone} is signed"),
            );
            self.step(StepKind::Failure, &rrset.name, r.detail.clone());
            return Ok(Err(r));
        }
        let mut worst: Option<Reason> = None;
        // The latest expiration among signatures refused as expired: when nothing verifies
        // for that reason, the verdict rests on them, and so does the expiry reported.
        let mut latest_expired: Option<u64> = None;
        let owner_labels = rrset.name.num_labels();
        for sig in &rrset.sigs {
            let id = Lazy(|f| {
                write!(
                    f,
                    "RRSIG {} alg {} tag {}",
                    rrset.rtype, sig.algorithm, sig.key_tag
                )
            });
            // RFC 4035 5.3.1: the signer is the zone that holds the RRset.
            if &sig.signer != zone {
                self.sig_fact(rrset, zone, sig, Some(C::WrongZone));
                keep_worst(
                    &mut worst,
                    Reason::new(
                        C::WrongZone,
                        format!("{what}: {id} is by {}, expected {zone}", sig.signer),
                    ),
                );
                continue;
            }
            // RFC 4035 5.3.1: labels must not exceed the owner's labels.
            if sig.labels > owner_labels {
                self.sig_fact(rrset, zone, sig, Some(C::SignatureMismatch));
                keep_worst(
                    &mut worst,
                    Reason::new(
                        C::SignatureMismatch,
                        format!(
                            "{what}: {id} labels {} > owner labels {owner_labels}",
                            sig.labels
                        ),
                    ),
                );
                continue;
            }
            if !crypto::algorithm_supported(sig.algorithm) {
                self.sig_fact(rrset, zone, sig, Some(C::UnsupportedAlgorithm));
                keep_worst(
                    &mut worst,
                    Reason::new(
                        C::UnsupportedAlgorithm,
                        format!(
                            "{what}: {id}: algorithm {} ({}) not supported",
                            sig.algorithm,
                            crypto::algorithm_name(sig.algorithm)
                        ),
                    ),
                );
                continue;
            }
            // RFC 4035 5.3.1 and RFC 4034 3.1.5: inception <= now <= expiration (serial
            // arithmetic, RFC 1982).
            if !serial_le(self.now, sig.expiration) {
                let expired = self.expiry_secs(sig.expiration);
                latest_expired = Some(latest_expired.map_or(expired, |e| e.max(expired)));
                self.sig_fact(rrset, zone, sig, Some(C::SignatureExpired));
                keep_worst(
                    &mut worst,
                    Reason::new(
                        C::SignatureExpired,
                        format!(
                            "{what}: {id} expired at {}, checked at {}",
                            self.time(sig.expiration),
                            fmt_unix(self.now_secs as i64)
                        ),
                    ),
                );
                continue;
            }
            if !serial_le(sig.inception, self.now) {
                self.sig_fact(rrset, zone, sig, Some(C::SignatureNotYetValid));
                keep_worst(
                    &mut worst,
                    Reason::new(
                        C::SignatureNotYetValid,
                        format!(
                            "{what}: {id} is valid from {}, checked at {}",
                            self.time(sig.inception),
                            fmt_unix(self.now_secs as i64)
                        ),
                    ),
                );
                continue;
            }
            // RFC 4035 5.3.1: key tag and algorithm match a zone key; a tag does not identify
            // a key uniquely (RFC 4034 Appendix B), so try every candidate, within budget.
            let candidates: Vec<&Key> = keys
                .iter()
                .filter(|k| k.tag == sig.key_tag && k.algorithm == sig.algorithm && k.usable())
                .collect();
            if candidates.is_empty() {
                self.sig_fact(rrset, zone, sig, Some(C::NoMatchingKey));
                keep_worst(
                    &mut worst,
                    Reason::new(
                        C::NoMatchingKey,
                        format!(
                            "{what}: {id}: no zone key of {zone} has tag {} and algorithm {}",
                            sig.key_tag, sig.algorithm
                        ),
                    ),
                );
                continue;
            }
            let data = Self::signed_data(rrset, sig);
            for (tried, key) in candidates.iter().enumerate() {
                if tried as u32 >= self.limits.max_keys_per_signature {
                    self.sig_fact(rrset, zone, sig, Some(C::BudgetExceeded));
                    keep_worst(
                        &mut worst,
                        Reason::new(
                            C::BudgetExceeded,
                            format!(
                                "{what}: {id}: more than {} candidate keys (Limits::max_keys_per_signature)",
                                self.limits.max_keys_per_signature
                            ),
                        ),
                    );
                    break;
                }
                let checked = self.check_signature(sig, key, &data)?;
                match checked {
                    Ok(()) => {
                        self.sig_fact(rrset, zone, sig, None);
                        self.weak_key_warning(zone, key);
                        if let Some(rec) = self.record.as_mut() {
                            rec.push(VerifiedSignature {
                                algorithm: sig.algorithm,
                                public_key: key.public.clone(),
                                data: data.clone(),
                                signature: sig.signature.clone(),
                            });
                        }
                        // The inception is a serial number near `now` too.
                        self.note_expiration(
                            self.expiry_secs(sig.expiration),
                            Some(self.expiry_secs(sig.inception)),
                        );
                        let wildcard = (sig.labels < owner_labels).then_some(sig.labels);
                        let mut detail = format!(
                            "{} verified by {zone} key {} ({}), valid {} to {}",
                            rrset.rtype,
                            key.tag,
                            crypto::algorithm_name(key.algorithm),
                            self.time(sig.inception),
                            self.time(sig.expiration)
                        );
                        if wildcard.is_some() {
                            detail.push_str(&format!(
                                ", expanded from wildcard *.{}",
                                ancestor(&rrset.name, usize::from(sig.labels))
                            ));
                        }
                        self.step(StepKind::Verified, &rrset.name, detail);
                        return Ok(Ok(Used {
                            wildcard_labels: wildcard,
                        }));
                    }
                    Err(VerifyError::Invalid) => {
                        self.sig_fact(rrset, zone, sig, Some(C::SignatureInvalid));
                        keep_worst(
                            &mut worst,
                            Reason::new(
                                C::SignatureInvalid,
                                format!("{what}: {id} does not verify with {zone} key {}", key.tag),
                            ),
                        );
                    }
                    Err(VerifyError::BadKey(why)) => {
                        self.sig_fact(rrset, zone, sig, Some(C::NoMatchingKey));
                        keep_worst(
                            &mut worst,
                            Reason::new(
                                C::NoMatchingKey,
                                format!("{what}: {id}: {zone} key {} unusable: {why}", key.tag),
                            ),
                        );
                    }
                    Err(VerifyError::Unsupported) => {}
                }
            }
        }
        let r = worst.unwrap_or_else(|| {
            Reason::new(
                C::SignatureInvalid,
                format!("{what}: no signature verifies"),
            )
        });
        // An RRset that fails because its signatures expired: the lookup's expiry is then
        // in the past, never a later one of the signatures that did verify.
        if let (C::SignatureExpired, Some(expired)) = (r.code, latest_expired) {
            self.note_expiration(expired, None);
        }
        self.step(StepKind::Failure, &rrset.name, r.detail.clone());
        Ok(Err(r))
    }

    /// One signature check, counted once per lookup against `Limits::max_signatures` (a
    /// repeat in a later pass, or in this one, is answered from the budget's results), and
    /// answered by the run-wide memo when it has it.
    fn check_signature(&mut self, sig: &Sig, key: &Key, data: &[u8]) -> R<Result<(), VerifyError>> {
        let k = SignatureMemo::key(sig.algorithm, &key.public, data, &sig.signature);
        if let Some(r) = self.budget.results.get(&k) {
            return Ok(r.clone());
        }
        if self.budget.verifications >= self.limits.max_signatures {
            return Err(Halt::Budget(Reason::new(
                C::BudgetExceeded,
                format!(
                    "more than {} signature verifications in one lookup (Limits::max_signatures)",
                    self.limits.max_signatures
                ),
            )));
        }
        self.budget.verifications += 1;
        let r = match self.memo.and_then(|m| m.get(&k)) {
            Some(true) => Ok(()),
            Some(false) => Err(VerifyError::Invalid),
            None => {
                self.budget.crypto += 1;
                let r = crypto::verify(sig.algorithm, &key.public, data, &sig.signature);
                if let Some(m) = self.memo {
                    match r {
                        Ok(()) => m.insert(k, true),
                        Err(VerifyError::Invalid) => m.insert(k, false),
                        Err(_) => {}
                    }
                }
                r
            }
        };
        self.budget.results.insert(k, r.clone());
        Ok(r)
    }

    /// RFC 5702 allows RSA keys under 1024 bits and Unbound and BIND validate with them;
    /// so do we, and say so once per key.
    fn weak_key_warning(&mut self, zone: &Name, key: &Key) {
        let Some(bits) = crypto::rsa_modulus_bits(key.algorithm, &key.public) else {
            return;
        };
        if bits >= 1024 {
            return;
        }
        self.weak.push((zone.clone(), key.clone()));
        let z = zone.to_string();
        if self
            .warnings
            .iter()
            .any(|w| w.zone == z && w.key_tag == key.tag)
        {
            return;
        }
        let detail = format!(
            "{zone} key {} ({}) is a {bits}-bit RSA key: validated as Unbound and BIND do (RFC 5702), but keys under 1024 bits can be factored; the zone should roll to a stronger key",
            key.tag,
            crypto::algorithm_name(key.algorithm)
        );
        tracing::debug!(%zone, tag = key.tag, bits, "weak key");
        self.warnings.push(Warning {
            code: WarningCode::WeakKey,
            zone: z,
            key_tag: key.tag,
            key_bits: bits,
            detail,
        });
    }

    /// An RRSIG expiration as Unix seconds. RFC 4034 3.1.5: it is a serial number near
    /// `now` (RFC 1982), so it is read relative to `now`.
    fn expiry_secs(&self, expiration: u32) -> u64 {
        let delta = i64::from(expiration.wrapping_sub(self.now) as i32);
        u64::try_from(self.now_secs as i64 + delta).unwrap_or(0)
    }

    /// Folds one signature expiration (with its inception, when it verified) into the
    /// outcome's earliest.
    fn note_expiration(&mut self, expires: u64, inception: Option<u64>) {
        self.notes.push((expires, inception));
        if self.earliest_expiration.is_none_or(|e| expires < e) {
            self.earliest_expiration = Some(expires);
            self.earliest_inception = inception;
        } else if self.earliest_expiration == Some(expires) {
            // Two signatures expire together: the longer period (the earlier inception),
            // so that a threshold relative to it warns no later.
            self.earliest_inception = match (self.earliest_inception, inception) {
                (Some(a), Some(b)) => Some(a.min(b)),
                _ => None,
            };
        }
    }

    /// RFC 4035 5.2: the DNSKEY RRset of `zone` authenticated by DS records (from the
    /// parent, already verified, or a DS trust anchor) or DNSKEY trust anchors.
    fn zone_keys(&mut self, zone: &Name, ds: &[Vec<u8>], anchor_keys: &[Vec<u8>]) -> R<Walk> {
        // RFC 4035 5.2 and RFC 6840 5.2: DS records with an unsupported algorithm or digest
        // are ignored; if none is left the zone is treated as unsigned.
        let mut supported = Vec::new();
        for d in ds {
            if d.len() < 5 {
                continue;
            }
            let (tag, alg, dt) = (u16::from_be_bytes([d[0], d[1]]), d[2], d[3]);
            if !crypto::algorithm_supported(alg) || !crypto::digest_supported(dt) {
                self.ds_fact(zone, (tag, alg, dt), DsStatus::Unsupported);
                self.step(StepKind::Skipped, zone, format!("DS {tag} {alg} {dt} skipped: algorithm {} or digest type {dt} not supported", crypto::algorithm_name(alg)));
                continue;
            }
            supported.push((tag, alg, dt, &d[4..]));
        }
        // RFC 4509 3: a SHA-1 DS is ignored when a SHA-256 (or stronger, SHA-384) DS names
        // the same key (tag and algorithm), so a downgrade to SHA-1 cannot pass.
        let stronger: Vec<(u16, u8)> = supported
            .iter()
            .filter(|&&(_, _, dt, _)| dt != 1)
            .map(|&(tag, alg, _, _)| (tag, alg))
            .collect();
        supported.retain(|&(tag, alg, dt, _)| {
            let drop = dt == 1 && stronger.contains(&(tag, alg));
            if drop {
                self.ds_fact(zone, (tag, alg, dt), DsStatus::Ignored);
                self.step(
                    StepKind::Skipped,
                    zone,
                    format!("DS {tag} {alg} 1 ignored: a SHA-256 or SHA-384 DS names the same key (RFC 4509 3)"),
                );
            }
            !drop
        });
        let anchor_usable: Vec<&Vec<u8>> = anchor_keys
            .iter()
            .filter(|k| k.len() > 4 && crypto::algorithm_supported(k[3]))
            .collect();
        if supported.is_empty() && anchor_usable.is_empty() {
            let r = Reason::new(
                C::UnsupportedAlgorithm,
                format!(
                    "{zone}: no DS with a supported algorithm and digest (RFC 4035 5.2): the zone is treated as unsigned"
                ),
            );
            self.step(StepKind::Insecure, zone, r.detail.clone());
            return Ok(Walk::Stop(Verdict::Insecure(r)));
        }
        let resp = match self.response(zone, RecordType::DNSKEY)? {
            Ok(r) => r,
            Err(v) => return Ok(Walk::Stop(v)),
        };
        let Some(set) = resp.answer_rrset(zone, RecordType::DNSKEY) else {
            // RFC 2308 2.2: a NODATA answer carries the zone's SOA. An empty NOERROR with
            // nothing in the authority section is no answer at all: what a recursive resolver
            // returns under CD when none of the zone's servers replied (a lame delegation).
            // The keys could not be had: Indeterminate. A NODATA with the SOA (the zone is
            // served, but unsigned while its parent has a DS) stays Bogus.
            if resp.rcode == 0 && resp.answer.is_empty() && resp.authority.is_empty() {
                let r = Reason::new(
                    C::ServerError,
                    format!(
                        "{zone}: the DNSKEY query got an empty answer without SOA: no server of the zone answered (a lame delegation?)"
                    ),
                );
                self.step(StepKind::Failure, zone, r.detail.clone());
                return Ok(Walk::Stop(Verdict::Indeterminate(r)));
            }
            let r = Reason::new(
                C::NoDnskey,
                format!("{zone}: no DNSKEY RRset in the answer"),
            );
            self.step(StepKind::Failure, zone, r.detail.clone());
            return Ok(Walk::Stop(Verdict::Bogus(r)));
        };
        let owner = name_wire(zone);
        let mut entry: Vec<Key> = Vec::new();
        let mut revoked = Vec::new();
        let mut digests_per_ds = vec![0u32; supported.len()];
        // Per DS, for pictures: whether a key's digest matched it (RFC 4035 5.2).
        let mut ds_matched = vec![false; supported.len()];
        for rd in &set.rdatas {
            let Some(key) = Key::from_rdata(rd) else {
                continue;
            };
            let mut matched = false;
            for (i, &(tag, alg, dt, digest)) in supported.iter().enumerate() {
                if key.tag != tag || key.algorithm != alg {
                    continue;
                }
                // Bounded hashing: each DS is compared with at most
                // Limits::max_keys_per_signature keys of its tag (KeyTrap-style sets).
                digests_per_ds[i] += 1;
                if digests_per_ds[i] > self.limits.max_keys_per_signature {
                    return Err(Halt::Budget(Reason::new(
                        C::BudgetExceeded,
                        format!(
                            "{zone}: more than {} DNSKEYs with the tag of DS {tag} (Limits::max_keys_per_signature)",
                            self.limits.max_keys_per_signature
                        ),
                    )));
                }
                if crypto::ds_digest(dt, &owner, rd).as_deref() == Some(digest) {
                    matched = true;
                    ds_matched[i] = true;
                    self.step(StepKind::DsMatch, zone, format!("DS {tag} {alg} {dt} matches DNSKEY {} (flags {}, {}) by tag, algorithm and digest", key.tag, key.flags, crypto::algorithm_name(alg)));
                }
            }
            if anchor_usable.iter().any(|a| a.as_slice() == rd.as_slice()) {
                matched = true;
                self.fact(Fact::Anchor {
                    zone: zone.to_string(),
                    tag: key.tag,
                    algorithm: key.algorithm,
                    digest_type: None,
                });
                self.step(
                    StepKind::Anchor,
                    zone,
                    format!(
                        "DNSKEY {} ({}) is a trust anchor",
                        key.tag,
                        crypto::algorithm_name(key.algorithm)
                    ),
                );
            }
            if matched {
                if key.flags & ZONE_FLAG == 0 {
                    self.step(
                        StepKind::Skipped,
                        zone,
                        format!(
                            "DNSKEY {} lacks the zone key flag (RFC 4034 2.1.1)",
                            key.tag
                        ),
                    );
                } else if key.flags & REVOKE_FLAG != 0 {
                    revoked.push(key.tag);
                    self.step(
                        StepKind::Skipped,
                        zone,
                        format!(
                            "DNSKEY {} has the REVOKE flag (RFC 5011 2.1): not used",
                            key.tag
                        ),
                    );
                } else {
                    entry.push(key);
                }
            }
        }
        self.key_facts(zone, set, &supported, &ds_matched);
        if entry.is_empty() {
            let r = if revoked.is_empty() {
                let dss: Vec<String> = supported
                    .iter()
                    .map(|(t, a, d, _)| format!("{t} {a} {d}"))
                    .collect();
                Reason::new(
                    C::DsNoMatchingKey,
                    format!(
                        "{zone}: no DNSKEY matches DS {} (or the trust anchor)",
                        dss.join(", ")
                    ),
                )
            } else {
                Reason::new(
                    C::RevokedKey,
                    format!("{zone}: the only keys the DS names are revoked ({revoked:?})"),
                )
            };
            self.step(StepKind::Failure, zone, r.detail.clone());
            return Ok(Walk::Stop(Verdict::Bogus(r)));
        }
        // RFC 4035 5.2: the DNSKEY RRset must be signed by a key a DS (or anchor) names.
        match self.verify_rrset(set, zone, &entry)? {
            Ok(Used {
                wildcard_labels: None,
            }) => {}
            Ok(_) => {
                let r = Reason::new(
                    C::BadWildcard,
                    format!("{zone}: the DNSKEY RRset is a wildcard expansion"),
                );
                self.step(StepKind::Failure, zone, r.detail.clone());
                return Ok(Walk::Stop(Verdict::Bogus(r)));
            }
            Err(inner) => {
                let code = if inner.code == C::NoMatchingKey {
                    C::DnskeyNotSigned
                } else {
                    inner.code
                };
                let r = Reason::new(
                    code,
                    format!(
                        "{zone}: DNSKEY RRset not signed by a key the DS names: {}",
                        inner.detail
                    ),
                );
                return Ok(Walk::Stop(Verdict::Bogus(r)));
            }
        }
        let keys: Vec<Key> = set
            .rdatas
            .iter()
            .filter_map(|rd| Key::from_rdata(rd))
            .filter(Key::usable)
            .collect();
        Ok(Walk::Secure {
            zone: zone.clone(),
            keys: Arc::new(keys),
        })
    }

    fn anchor_walk(&mut self, zone: &Name) -> R<Walk> {
        if let Some(w) = self.zones.get(zone) {
            return Ok(w.clone());
        }
        if let Some(w) = self.replay(zone) {
            return Ok(w);
        }
        let mark = self.mark();
        let mut ds = Vec::new();
        let mut keys = Vec::new();
        let anchors: Vec<Anchor> = self.anchors.for_zone(zone).cloned().collect();
        for a in anchors {
            match a {
                Anchor::Ds {
                    key_tag,
                    algorithm,
                    digest_type,
                    digest,
                    ..
                } => {
                    self.step(
                        StepKind::Anchor,
                        zone,
                        format!("trust anchor DS {key_tag} {algorithm} {digest_type}"),
                    );
                    self.fact(Fact::Anchor {
                        zone: zone.to_string(),
                        tag: key_tag,
                        algorithm,
                        digest_type: Some(digest_type),
                    });
                    let mut rd = key_tag.to_be_bytes().to_vec();
                    rd.push(algorithm);
                    rd.push(digest_type);
                    rd.extend_from_slice(&digest);
                    ds.push(rd);
                }
                Anchor::Dnskey { rdata, .. } => keys.push(rdata),
            }
        }
        let w = self.zone_keys(zone, &ds, &keys)?;
        self.zones.insert(zone.clone(), w.clone());
        self.keep(zone, &mark, &w);
        Ok(w)
    }

    /// Where the next segment starts.
    fn mark(&self) -> Mark {
        Mark {
            trace: self.trace.len(),
            facts: self.facts.len(),
            weak: self.weak.len(),
            notes: self.notes.len(),
        }
    }

    /// Keeps what finding `zone`'s keys (`walk`) added since `mark`, for the lookup's
    /// later passes (not when recording signatures: each pass records its own).
    fn keep(&mut self, zone: &Name, mark: &Mark, walk: &Walk) {
        if let Some(segment) = self.segment(mark, walk.clone()) {
            self.budget.walks.insert(zone.clone(), Arc::new(segment));
        }
    }

    /// What was added since `mark`, with `result`; none when recording signatures.
    fn segment<T>(&self, mark: &Mark, result: T) -> Option<Segment<T>> {
        self.record.is_none().then(|| Segment {
            result,
            trace: self.trace[mark.trace..].into(),
            facts: self.facts[mark.facts..].into(),
            weak: self.weak[mark.weak..].to_vec(),
            notes: self.notes[mark.notes..].to_vec(),
        })
    }

    /// `zone`'s keys as an earlier pass of the lookup found them, with what finding them
    /// added to its outputs, added to this pass's.
    fn replay(&mut self, zone: &Name) -> Option<Walk> {
        if self.record.is_some() {
            return None;
        }
        let seg = self.budget.walks.get(zone)?.clone();
        self.add(&seg);
        self.zones.insert(zone.clone(), seg.result.clone());
        Some(seg.result.clone())
    }

    /// Adds what a segment added to an earlier pass to this one.
    fn add<T>(&mut self, seg: &Segment<T>) {
        self.trace.push(Part::Replayed(seg.trace.clone()));
        self.facts.push(Part::Replayed(seg.facts.clone()));
        for (z, key) in &seg.weak {
            self.weak_key_warning(z, key);
        }
        for &(expires, inception) in &seg.notes {
            self.note_expiration(expires, inception);
        }
    }

    /// The DS step at `name` below `zone` (with `keys`), replayed when an earlier pass of
    /// the lookup found a zone cut there, else computed (and kept when it finds one, with
    /// its zone-cut step).
    fn cut_step(&mut self, zone: &Name, keys: &[Key], name: &Name) -> R<DsStep> {
        if self.record.is_none() {
            if let Some(seg) = self.budget.cuts.get(name).cloned() {
                self.add(&seg);
                return Ok(DsStep::Cut(seg.result.clone()));
            }
        }
        let mark = self.mark();
        let step = self.ds_step(zone, keys, name)?;
        if let DsStep::Cut(ds) = &step {
            self.step(
                StepKind::ZoneCut,
                name,
                format!("zone cut: {} DS record(s) in {zone}", ds.len()),
            );
            if let Some(segment) = self.segment(&mark, ds.clone()) {
                self.budget.cuts.insert(name.clone(), Arc::new(segment));
            }
        }
        Ok(step)
    }

    /// Walks from the closest trust anchor down to `target`, label by label, asking for the
    /// DS RRset at each name to find the zone cuts (RFC 4035 5.2, 4.3).
    pub(crate) fn walk(&mut self, target: &Name) -> R<Walk> {
        let Some(anchor) = self.anchors.closest(target).cloned() else {
            let r = Reason::new(C::NoTrustAnchor, format!("no trust anchor covers {target}"));
            self.step(StepKind::Insecure, target, r.detail.clone());
            return Ok(Walk::Stop(Verdict::Indeterminate(r)));
        };
        let mut current = self.anchor_walk(&anchor)?;
        let from = label_count(&anchor);
        let to = label_count(target);
        if to.saturating_sub(from) > self.limits.max_depth as usize {
            return Err(Halt::Budget(Reason::new(
                C::BudgetExceeded,
                format!(
                    "{target} is more than {} labels below the trust anchor (Limits::max_depth)",
                    self.limits.max_depth
                ),
            )));
        }
        for depth in from + 1..=to {
            let (zone, keys) = match &current {
                Walk::Secure { zone, keys } => (zone.clone(), keys.clone()),
                Walk::Stop(_) => return Ok(current),
            };
            let name = ancestor(target, depth);
            if let Some(w) = self.zones.get(&name) {
                current = w.clone();
                continue;
            }
            if let Some(w) = self.replay(&name) {
                current = w;
                continue;
            }
            let mark = self.mark();
            match self.cut_step(&zone, &keys, &name)? {
                DsStep::Cut(ds) => {
                    let w = self.zone_keys(&name, &ds, &[])?;
                    self.zones.insert(name.clone(), w.clone());
                    self.keep(&name, &mark, &w);
                    current = w;
                }
                DsStep::NotCut => {}
                DsStep::NoName => break,
                DsStep::Stop(v) => return Ok(Walk::Stop(v)),
            }
        }
        Ok(current)
    }

    /// The DS question at `name`, answered from the secure zone `zone` above it.
    fn ds_step(&mut self, zone: &Name, keys: &[Key], name: &Name) -> R<DsStep> {
        let resp = match self.response(name, RecordType::DS)? {
            Ok(r) => r,
            Err(v) => return Ok(DsStep::Stop(v)),
        };
        if let Some(set) = resp.answer_rrset(name, RecordType::DS) {
            return Ok(match self.verify_rrset(set, zone, keys)? {
                Ok(Used {
                    wildcard_labels: None,
                }) => DsStep::Cut(set.rdatas.clone()),
                Ok(_) => DsStep::Stop(Verdict::Bogus(Reason::new(
                    C::BadWildcard,
                    format!("the DS RRset at {name} is a wildcard expansion"),
                ))),
                Err(r) => DsStep::Stop(Verdict::Bogus(r)),
            });
        }
        // RFC 6672 2.4: nothing exists below a DNAME owner, so no zone cut either. A DS
        // question below one is answered with the (signed) DNAME and the CNAME synthesised
        // from it (unsigned, RFC 6672 3.4 and 5.3.3): validate the DNAME and accept exactly
        // the CNAME it synthesises.
        if let Some(dname) = covering_dname(resp, name).filter(|d| zone.zone_of(&d.name)) {
            match self.verify_rrset(dname, zone, keys)? {
                Ok(Used {
                    wildcard_labels: None,
                }) => {}
                Ok(_) => {
                    return Ok(DsStep::Stop(Verdict::Bogus(Reason::new(
                        C::BadWildcard,
                        format!("the DNAME at {} is a wildcard expansion", dname.name),
                    ))));
                }
                Err(r) => return Ok(DsStep::Stop(Verdict::Bogus(r))),
            }
            if let Some(r) = self.synthesis_mismatch(resp, name, dname) {
                return Ok(DsStep::Stop(Verdict::Bogus(r)));
            }
            self.step(
                StepKind::NotACut,
                name,
                format!(
                    "below the DNAME at {}: no zone cut (RFC 6672 2.4)",
                    dname.name
                ),
            );
            return Ok(DsStep::NoName);
        }
        if let Some(set) = resp.answer_rrset(name, RecordType::CNAME) {
            // A CNAME owner is not a zone cut.
            return Ok(match self.verify_rrset(set, zone, keys)? {
                Ok(_) => {
                    self.step(StepKind::NotACut, name, "CNAME owner: not a zone cut");
                    DsStep::NotCut
                }
                Err(r) => DsStep::Stop(Verdict::Bogus(r)),
            });
        }
        let denial = self.deny(resp, name, RecordType::DS, zone, keys)?;
        Ok(match denial {
            Denial::Nodata { delegation: true } => {
                let r = Reason::new(
                    C::InsecureDelegation,
                    format!(
                        "{zone} proves {name} is a delegation without DS: the zone below is unsigned"
                    ),
                );
                self.step(StepKind::Insecure, name, r.detail.clone());
                DsStep::Stop(Verdict::Insecure(r))
            }
            Denial::Nodata { delegation: false } => {
                self.step(
                    StepKind::NotACut,
                    name,
                    format!("no DS and no delegation: {name} is inside {zone}"),
                );
                DsStep::NotCut
            }
            Denial::Nxdomain => DsStep::NoName,
            Denial::OptOut(r) => {
                self.step(StepKind::Insecure, name, r.detail.clone());
                DsStep::Stop(Verdict::Insecure(r))
            }
            Denial::NotSecure(v) => DsStep::Stop(v),
            Denial::Failed(r) => DsStep::Stop(Verdict::Bogus(r)),
        })
    }

    /// The chain of links answering `q`.
    fn resolve(&mut self, q: &Question) -> R<Vec<Link>> {
        let mut links = Vec::new();
        let mut current = q.name.clone();
        let mut seen = vec![current.clone()];
        loop {
            let resp = match self.response(&current, q.rtype)? {
                Ok(r) => r,
                Err(v) => {
                    links.push(link(
                        &current,
                        q.rtype,
                        AnswerKind::Unknown,
                        v,
                        None,
                        Vec::new(),
                    ));
                    return Ok(links);
                }
            };
            let mut name = current.clone();
            loop {
                // RFC 6672 3.4 / 5.3.3: a DNAME above the name is validated and the CNAME
                // it synthesises (unsigned) is checked against it, never trusted alone; so
                // a covering DNAME comes first, for every type (DNAME too).
                let dname = covering_dname(resp, &name);
                if dname.is_none() {
                    if let Some(set) = resp.answer_rrset(&name, q.rtype) {
                        links.push(self.positive(resp, set)?);
                        return Ok(links);
                    }
                }
                let next = dname.map(|s| (s, Some(s.name.clone()))).or_else(|| {
                    (q.rtype != RecordType::CNAME)
                        .then(|| {
                            resp.answer_rrset(&name, RecordType::CNAME)
                                .map(|set| (set, None))
                        })
                        .flatten()
                });
                let Some((set, dname)) = next else { break };
                let l = self.positive(resp, set)?;
                let target = set
                    .rdatas
                    .first()
                    .and_then(|rd| wire::rdata_name(rd, 0).ok().map(|(n, _)| n));
                let bad = matches!(l.verdict, Verdict::Bogus(_) | Verdict::Indeterminate(_));
                links.push(l);
                if bad {
                    return Ok(links);
                }
                let Some(target) = target else {
                    links.push(bad_link(
                        &name,
                        q.rtype,
                        C::BadResponse,
                        format!("{} at {} has no target", set.rtype, set.name),
                    ));
                    return Ok(links);
                };
                let new = match &dname {
                    None => target.to_lowercase(),
                    Some(owner) => match substitute(&name, owner, &target) {
                        Some(n) => n,
                        None => {
                            links.push(bad_link(&name, q.rtype, C::BadResponse, format!("DNAME substitution of {name} by {owner} -> {target} is longer than 255 octets")));
                            return Ok(links);
                        }
                    },
                };
                if dname.is_some() {
                    if let Some(r) = self.synthesis_mismatch(resp, &name, set) {
                        links.push(link(
                            &name,
                            q.rtype,
                            AnswerKind::Unknown,
                            Verdict::Bogus(r),
                            None,
                            Vec::new(),
                        ));
                        return Ok(links);
                    }
                    if q.rtype == RecordType::CNAME {
                        // The answer to a CNAME question below a DNAME is the synthesised
                        // CNAME, as good as the DNAME it was checked against.
                        if let Some(c) = resp.answer_rrset(&name, RecordType::CNAME) {
                            let dname_link = links.last().cloned();
                            let (verdict, zone) = dname_link
                                .map(|l| (l.verdict, l.zone))
                                .unwrap_or((Verdict::Secure, None));
                            let mut l = link(
                                &name,
                                RecordType::CNAME,
                                AnswerKind::Records,
                                verdict,
                                None,
                                c.display(),
                            );
                            l.zone = zone;
                            links.push(l);
                            return Ok(links);
                        }
                    }
                }
                self.step(
                    StepKind::Alias,
                    &name,
                    format!("{} {name} -> {new}", set.rtype),
                );
                if seen.contains(&new) || seen.len() > self.limits.max_chain as usize {
                    links.push(bad_link(
                        &new,
                        q.rtype,
                        C::ChainTooLong,
                        format!(
                            "alias chain loops or is longer than {} links (Limits::max_chain)",
                            self.limits.max_chain
                        ),
                    ));
                    return Ok(links);
                }
                seen.push(new.clone());
                name = new;
            }
            if name != current {
                // The chain left this message: ask for the new name itself.
                current = name;
                continue;
            }
            links.push(self.negative(resp, &current, q.rtype)?);
            return Ok(links);
        }
    }

    /// A positive RRset: its zone by its signer, the chain to that zone, the signature, and
    /// for a wildcard expansion the proof that the exact name does not exist.
    fn positive(&mut self, resp: &Response, set: &Rrset) -> R<Link> {
        let Some(signer) = set
            .sigs
            .iter()
            .map(|s| s.signer.clone())
            .find(|s| signer_may_hold(s, &set.name, set.rtype))
        else {
            // Unsigned: secure only if we can prove the zone is unsigned.
            return Ok(match self.walk(&holder(&set.name, set.rtype))? {
                Walk::Secure { zone, .. } => {
                    let r = Reason::new(
                        C::MissingSignature,
                        format!(
                            "{} {} has no RRSIG (by an ancestor zone) although {zone} is signed",
                            set.name, set.rtype
                        ),
                    );
                    self.step(StepKind::Failure, &set.name, r.detail.clone());
                    link(
                        &set.name,
                        set.rtype,
                        AnswerKind::Records,
                        Verdict::Bogus(r),
                        Some(zone),
                        set.display(),
                    )
                }
                Walk::Stop(v) => link(
                    &set.name,
                    set.rtype,
                    AnswerKind::Records,
                    v,
                    None,
                    set.display(),
                ),
            });
        };
        let (zone, keys) = match self.zone_of_signer(&set.name, set.rtype, &signer, false)? {
            Ok(zk) => zk,
            Err(v) => {
                return Ok(link(
                    &set.name,
                    set.rtype,
                    AnswerKind::Records,
                    v,
                    Some(signer),
                    set.display(),
                ));
            }
        };
        let verdict = match self.verify_rrset(set, &zone, &keys)? {
            Err(r) => Verdict::Bogus(r),
            Ok(Used {
                wildcard_labels: None,
            }) => Verdict::Secure,
            Ok(Used {
                wildcard_labels: Some(labels),
            }) => match self.wildcard_proof(resp, &set.name, labels, &zone, &keys)? {
                Ok(()) => Verdict::Secure,
                Err(v) => v,
            },
        };
        Ok(link(
            &set.name,
            set.rtype,
            AnswerKind::Records,
            verdict,
            Some(zone),
            set.display(),
        ))
    }

    /// The trust anchor that judges an answer at `name`/`rtype` signed by `signer`, as
    /// Unbound picks it (validator.c, processInit): the anchor closest to the name (to its
    /// parent for DS, which the parent holds: RFC 4035 4.3) must be the signer's zone or
    /// above it, since the chain of trust runs from the anchor down to the signer (RFC 4035
    /// 5). An answer signed by a zone strictly above that anchor cannot chain to it: Bogus.
    /// Except an NXDOMAIN: a zone above the anchor may prove that the anchored name, and
    /// everything below it, does not exist; it is judged from the anchor above its signer
    /// (Unbound: "trust anchor NXDOMAIN by signed parent"). `None`: go on with the signer.
    fn signed_above_anchor(
        &mut self,
        name: &Name,
        rtype: RecordType,
        signer: &Name,
        nxdomain: bool,
    ) -> Option<Verdict> {
        let anchor = self.anchors.closest(&holder(name, rtype))?.clone();
        if signer == &anchor || !signer.zone_of(&anchor) {
            return None;
        }
        if nxdomain {
            self.step(
                StepKind::Anchor,
                name,
                format!(
                    "the trust anchor for {anchor} covers {name}, but the NXDOMAIN is signed by {signer} above it: judged from the anchor above {signer} (a zone above an anchor may prove the anchored name does not exist)"
                ),
            );
            return None;
        }
        let r = Reason::new(
            C::WrongZone,
            format!(
                "{name} {rtype} is signed by {signer}, above the trust anchor for {anchor} that covers it: only an NXDOMAIN may come from a zone above an anchor"
            ),
        );
        self.step(StepKind::Failure, name, r.detail.clone());
        Some(Verdict::Bogus(r))
    }

    /// The validated keys of the zone named by an RRSIG's signer field, for an answer at
    /// `name`/`rtype` (an NXDOMAIN when `nxdomain`): first the trust anchor that judges it
    /// must let that zone sign it (`signed_above_anchor`).
    fn zone_of_signer(
        &mut self,
        name: &Name,
        rtype: RecordType,
        signer: &Name,
        nxdomain: bool,
    ) -> R<Result<ZoneKeys, Verdict>> {
        if let Some(v) = self.signed_above_anchor(name, rtype, signer, nxdomain) {
            return Ok(Err(v));
        }
        Ok(match self.walk(signer)? {
            Walk::Secure { zone, keys } if &zone == signer => Ok((zone, keys)),
            Walk::Secure { zone, .. } => {
                let r = Reason::new(
                    C::WrongZone,
                    format!("the signer {signer} is not a zone cut below {zone}"),
                );
                self.step(StepKind::Failure, signer, r.detail.clone());
                Err(Verdict::Bogus(r))
            }
            Walk::Stop(v) => Err(v),
        })
    }

    /// A negative answer (no RRset of the type at `name`, no alias).
    fn negative(&mut self, resp: &Response, name: &Name, rtype: RecordType) -> R<Link> {
        let kind = if resp.rcode == 3 {
            AnswerKind::Nxdomain
        } else {
            AnswerKind::Nodata
        };
        let signer = resp
            .authority
            .iter()
            .filter(|s| {
                matches!(
                    s.rtype,
                    RecordType::NSEC | RecordType::NSEC3 | RecordType::SOA
                )
            })
            .flat_map(|s| s.sigs.iter())
            .map(|s| s.signer.clone())
            .find(|s| signer_may_hold(s, name, rtype));
        let Some(signer) = signer else {
            return Ok(match self.walk(&holder(name, rtype))? {
                Walk::Secure { zone, .. } => {
                    let r = Reason::new(
                        C::MissingSignature,
                        format!(
                            "{} for {name} {rtype} without signed NSEC/NSEC3 records although {zone} is signed",
                            kind.as_str()
                        ),
                    );
                    self.step(StepKind::Failure, name, r.detail.clone());
                    link(name, rtype, kind, Verdict::Bogus(r), Some(zone), Vec::new())
                }
                Walk::Stop(v) => link(name, rtype, kind, v, None, Vec::new()),
            });
        };
        let nx = kind == AnswerKind::Nxdomain;
        let (zone, keys) = match self.zone_of_signer(name, rtype, &signer, nx)? {
            Ok(zk) => zk,
            Err(v) => return Ok(link(name, rtype, kind, v, Some(signer), Vec::new())),
        };
        let verdict = match self.deny(resp, name, rtype, &zone, &keys)? {
            Denial::Nxdomain if kind == AnswerKind::Nxdomain => Verdict::Secure,
            Denial::Nodata { .. } if kind == AnswerKind::Nodata => Verdict::Secure,
            Denial::Nxdomain | Denial::Nodata { .. } => Verdict::Bogus(Reason::new(
                C::BadResponse,
                format!(
                    "the rcode says {} but the proof says otherwise",
                    kind.as_str()
                ),
            )),
            Denial::OptOut(r) => Verdict::Insecure(r),
            Denial::NotSecure(v) => v,
            Denial::Failed(r) => Verdict::Bogus(r),
        };
        Ok(link(name, rtype, kind, verdict, Some(zone), Vec::new()))
    }

    /// RFC 6672 3.4: the CNAME at `name` that comes with a DNAME must be exactly the one the
    /// DNAME synthesises (one record, target = `name` with the owner replaced by the
    /// DNAME's target); `Some(reason)` when it is not.
    fn synthesis_mismatch(
        &mut self,
        resp: &Response,
        name: &Name,
        dname: &Rrset,
    ) -> Option<Reason> {
        let cname = resp.answer_rrset(name, RecordType::CNAME)?;
        let want = alias_target(dname).and_then(|t| substitute(name, &dname.name, &t));
        let got = alias_target(cname);
        if cname.rdatas.len() == 1 && want.is_some() && got == want {
            return None;
        }
        let r = Reason::new(
            C::BadResponse,
            format!(
                "the CNAME at {name} ({}) is not the one the DNAME at {} synthesises ({})",
                got.map_or_else(|| "no target".into(), |n| n.to_string()),
                dname.name,
                want.map_or_else(|| "none".into(), |n| n.to_string())
            ),
        );
        self.step(StepKind::Failure, name, r.detail.clone());
        Some(r)
    }

    fn finish(&self, q: &Question, links: Vec<Link>) -> Outcome {
        let verdict = links
            .iter()
            .map(|l| l.verdict.clone())
            .max_by_key(Verdict::rank)
            .unwrap_or_else(|| Verdict::Indeterminate(Reason::new(C::BadResponse, "no answer")));
        let answer = links.last().map_or(AnswerKind::Unknown, |l| l.answer);
        Outcome {
            name: q.name.to_string(),
            rtype: q.rtype.to_string(),
            reason: verdict.reason().cloned(),
            verdict,
            answer,
            links,
            trace: {
                let mut trace = Vec::new();
                flatten(&self.trace, &mut trace);
                trace
            },
            signatures_checked: self.budget.verifications,
            nsec3_hashes: self.budget.hashes,
            warnings: self.warnings.clone(),
            earliest_expiration: self.earliest_expiration,
            earliest_expiration_inception: self.earliest_inception,
            facts: {
                let mut facts = Vec::new();
                flatten(&self.facts, &mut facts);
                facts
            },
        }
    }
}

pub(crate) enum DsStep {
    Cut(Vec<Vec<u8>>),
    NotCut,
    NoName,
    Stop(Verdict),
}

/// What a denial proves.
pub(crate) enum Denial {
    Nxdomain,
    Nodata { delegation: bool },
    OptOut(Reason),
    NotSecure(Verdict),
    Failed(Reason),
}

fn link(
    name: &Name,
    rtype: RecordType,
    answer: AnswerKind,
    verdict: Verdict,
    zone: Option<Name>,
    records: Vec<String>,
) -> Link {
    Link {
        name: name.to_string(),
        rtype: rtype.to_string(),
        answer,
        reason: verdict.reason().cloned(),
        verdict,
        zone: zone.map(|z| z.to_string()),
        records,
    }
}

fn bad_link(name: &Name, rtype: RecordType, code: C, detail: String) -> Link {
    link(
        name,
        rtype,
        AnswerKind::Unknown,
        Verdict::Bogus(Reason::new(code, detail)),
        None,
        Vec::new(),
    )
}

/// The DNAME RRset of the answer section whose owner is a proper ancestor of `name` (the
/// deepest one), which applies to `name` whatever the question type (RFC 6672 2.3).
fn covering_dname<'r>(resp: &'r Response, name: &Name) -> Option<&'r Rrset> {
    resp.answer
        .iter()
        .filter(|s| s.rtype == RecordType::DNAME && &s.name != name && s.name.zone_of(name))
        .max_by_key(|s| s.name.num_labels())
}

/// The first name in an alias RRset's RDATA (CNAME or DNAME target).
fn alias_target(set: &Rrset) -> Option<Name> {
    set.rdatas
        .first()
        .and_then(|rd| wire::rdata_name(rd, 0).ok().map(|(n, _)| n.to_lowercase()))
}

/// RFC 4035 4.3 / RFC 4034 5: a DS RRset lives in the parent zone, so a DS at `name` (not
/// the root) is held by a zone above it; everything else by `name`'s own zone or above.
fn holder(name: &Name, rtype: RecordType) -> Name {
    if rtype == RecordType::DS && !name.is_root() {
        name.base_name()
    } else {
        name.clone()
    }
}

/// Whether `signer` may be the zone holding `name`/`rtype`: an ancestor (or `name` itself,
/// except for a DS, which the child's own keys cannot vouch for).
fn signer_may_hold(signer: &Name, name: &Name, rtype: RecordType) -> bool {
    signer.zone_of(&holder(name, rtype))
}

/// RFC 6672 2.2: replace the suffix `owner` of `name` by `target`.
fn substitute(name: &Name, owner: &Name, target: &Name) -> Option<Name> {
    let keep = label_count(name).saturating_sub(label_count(owner));
    let labels: Vec<Vec<u8>> = name
        .iter()
        .take(keep)
        .chain(target.iter())
        .map(|l| l.to_ascii_lowercase())
        .collect();
    // RFC 1035 2.3.4: at most 255 octets in wire form.
    if labels.iter().map(|l| l.len() + 1).sum::<usize>() + 1 > 255 {
        return None;
    }
    let mut n = Name::from_labels(labels.iter().map(|l| l.as_slice())).ok()?;
    n.set_fqdn(true);
    Some(n)
}

fn rcode_name(rcode: u8) -> String {
    match rcode {
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_arithmetic_wraps() {
        assert!(serial_le(1, 2));
        assert!(serial_le(5, 5));
        assert!(!serial_le(2, 1));
        // Across the 2^32 wrap (RFC 1982): 0xffff_fff0 < 0x10.
        assert!(serial_le(0xffff_fff0, 0x10));
        assert!(!serial_le(0x10, 0xffff_fff0));
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(fmt_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_unix(1_780_272_000), "2026-06-01T00:00:00Z");
        assert_eq!(fmt_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(fmt_unix(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(fmt_unix(253_402_300_800), "@253402300800");
        assert_eq!(fmt_unix(-1), "1969-12-31T23:59:59Z");
        assert_eq!(fmt_unix(i64::MIN), format!("@{}", i64::MIN));
        // A 32-bit RRSIG time after 2106 read relative to now.
        let now = 4_294_967_000u64;
        assert_eq!(fmt_time(100, now as u32, now), fmt_unix(4_294_967_396));
    }

    #[test]
    fn dname_substitution() {
        use std::str::FromStr;
        let n = |s| Name::from_str(s).unwrap();
        assert_eq!(
            substitute(
                &n("www.sub.cname.test."),
                &n("sub.cname.test."),
                &n("nsec.test.")
            )
            .unwrap(),
            n("www.nsec.test.")
        );
        let long = format!("{}.", vec!["a".repeat(62); 4].join("."));
        assert!(substitute(&n("x.y.d."), &n("d."), &n(&long)).is_none());
    }
}
