//! What validation concludes: verdicts with reason codes, the step trace, per-link results.

use std::fmt;

use serde::Serialize;

/// Why a verdict is not Secure (or what limited it), as a stable code plus a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReasonCode {
    /// No trust anchor covers the name.
    NoTrustAnchor,
    /// A query for evidence failed (timeout, network error, malformed response).
    QueryFailed,
    /// The server answered with an error rcode (SERVFAIL, REFUSED, ...).
    ServerError,
    /// A DS RRset with no supported algorithm or digest: the zone is treated as unsigned.
    UnsupportedAlgorithm,
    /// Secure proof that a delegation has no DS: the child zone is unsigned.
    InsecureDelegation,
    /// An NSEC3 opt-out span covers the name: an unsigned delegation may exist there.
    OptOut,
    /// NSEC3 iterations above `Limits::nsec3_iterations_insecure`.
    Nsec3IterationsInsecure,
    /// NSEC3 iterations above `Limits::nsec3_iterations_bogus`.
    Nsec3IterationsBogus,
    /// An RRset in a signed zone has no RRSIG.
    MissingSignature,
    /// The RRSIG validity window ended before `now`.
    SignatureExpired,
    /// The RRSIG validity window starts after `now`.
    SignatureNotYetValid,
    /// No DNSKEY with the RRSIG's key tag and algorithm (zone key, not revoked).
    NoMatchingKey,
    /// The signature did not verify with any candidate key.
    SignatureInvalid,
    /// The RRSIG's fields do not fit the RRset (signer, labels).
    SignatureMismatch,
    /// No DNSKEY matches any supported DS (or the trust anchor).
    DsNoMatchingKey,
    /// The only keys a DS names carry the REVOKE flag (RFC 5011).
    RevokedKey,
    /// The DNSKEY RRset is not signed by a key that a DS (or the anchor) names.
    DnskeyNotSigned,
    /// The DNSKEY RRset is missing.
    NoDnskey,
    /// The denial of existence does not prove what the answer claims.
    BadDenial,
    /// A wildcard answer without proof that the exact name does not exist.
    BadWildcard,
    /// The response contradicts itself or the question (rcode, sections, names).
    BadResponse,
    /// The signer name is not the zone the chain reaches.
    WrongZone,
    /// A CNAME/DNAME chain that loops or is too long.
    ChainTooLong,
    /// A work budget (keys per signature, signatures per lookup, depth) ran out.
    BudgetExceeded,
}

impl ReasonCode {
    /// The stable kebab-case code (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::NoTrustAnchor => "no-trust-anchor",
            ReasonCode::QueryFailed => "query-failed",
            ReasonCode::ServerError => "server-error",
            ReasonCode::UnsupportedAlgorithm => "unsupported-algorithm",
            ReasonCode::InsecureDelegation => "insecure-delegation",
            ReasonCode::OptOut => "opt-out",
            ReasonCode::Nsec3IterationsInsecure => "nsec3-iterations-insecure",
            ReasonCode::Nsec3IterationsBogus => "nsec3-iterations-bogus",
            ReasonCode::MissingSignature => "missing-signature",
            ReasonCode::SignatureExpired => "signature-expired",
            ReasonCode::SignatureNotYetValid => "signature-not-yet-valid",
            ReasonCode::NoMatchingKey => "no-matching-key",
            ReasonCode::SignatureInvalid => "signature-invalid",
            ReasonCode::SignatureMismatch => "signature-mismatch",
            ReasonCode::DsNoMatchingKey => "ds-no-matching-key",
            ReasonCode::RevokedKey => "revoked-key",
            ReasonCode::DnskeyNotSigned => "dnskey-not-signed",
            ReasonCode::NoDnskey => "no-dnskey",
            ReasonCode::BadDenial => "bad-denial",
            ReasonCode::BadWildcard => "bad-wildcard",
            ReasonCode::BadResponse => "bad-response",
            ReasonCode::WrongZone => "wrong-zone",
            ReasonCode::ChainTooLong => "chain-too-long",
            ReasonCode::BudgetExceeded => "budget-exceeded",
        }
    }
}

/// A reason: a code and a sentence naming the records, keys and times involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The stable code.
    pub code: ReasonCode,
    /// What exactly happened, for a human.
    pub detail: String,
}

impl Reason {
    /// A reason with a code and detail.
    pub fn new(code: ReasonCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.code.as_str())
    }
}

/// The DNSSEC status of an RRset or a whole answer (RFC 4033 section 5, RFC 4035 4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An unbroken chain of signatures from a trust anchor.
    Secure,
    /// Proven unsigned: an insecure delegation, unsupported algorithms, opt-out, or a limit
    /// that RFC 9276 allows to treat as insecure.
    Insecure(Reason),
    /// The chain should be there and is broken.
    Bogus(Reason),
    /// The evidence could not be had or no trust anchor covers the name.
    Indeterminate(Reason),
}

impl Verdict {
    /// `secure`, `insecure`, `bogus` or `indeterminate`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Secure => "secure",
            Verdict::Insecure(_) => "insecure",
            Verdict::Bogus(_) => "bogus",
            Verdict::Indeterminate(_) => "indeterminate",
        }
    }

    /// The reason, unless Secure.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Verdict::Secure => None,
            Verdict::Insecure(r) | Verdict::Bogus(r) | Verdict::Indeterminate(r) => Some(r),
        }
    }

    /// Bogus outranks Indeterminate outranks Insecure outranks Secure: a chain is as weak as
    /// its weakest link.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Verdict::Secure => 0,
            Verdict::Insecure(_) => 1,
            Verdict::Indeterminate(_) => 2,
            Verdict::Bogus(_) => 3,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            None => f.write_str(self.as_str()),
            Some(r) => write!(f, "{}: {r}", self.as_str()),
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What the answer at the end of any CNAME/DNAME chain is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerKind {
    /// Records of the asked type.
    Records,
    /// The name does not exist.
    Nxdomain,
    /// The name exists but has no records of the type.
    Nodata,
    /// Unknown (the evidence could not be had).
    Unknown,
}

impl AnswerKind {
    /// `records`, `nxdomain`, `nodata` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Records => "records",
            AnswerKind::Nxdomain => "nxdomain",
            AnswerKind::Nodata => "nodata",
            AnswerKind::Unknown => "unknown",
        }
    }
}

/// The kind of a trace step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// A trust anchor used for a zone.
    Anchor,
    /// A DS RRset found at a zone cut.
    ZoneCut,
    /// A DS record matched a DNSKEY (tag, algorithm, digest).
    DsMatch,
    /// A DS record or key that was skipped, and why.
    Skipped,
    /// A signature verified an RRset (key, algorithm, validity window).
    Verified,
    /// A name checked for a cut that is not one.
    NotACut,
    /// A denial record and what it proved.
    Denial,
    /// A CNAME or DNAME link followed.
    Alias,
    /// Where the chain stopped being secure.
    Insecure,
    /// A failed check.
    Failure,
}

/// One step of the validation, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceStep {
    /// What kind of step.
    pub kind: StepKind,
    /// The owner or zone the step is about.
    pub name: String,
    /// What was checked and found.
    pub detail: String,
}

/// One link of the answer: the RRset (or denial) at one name of a CNAME/DNAME chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// Owner of the RRset (or the name denied).
    pub name: String,
    /// Type of the RRset (or the type denied).
    pub rtype: String,
    /// What this link is.
    pub answer: AnswerKind,
    /// Its verdict.
    pub verdict: Verdict,
    /// Its reason, unless Secure.
    pub reason: Option<Reason>,
    /// The zone that signed it (when known).
    pub zone: Option<String>,
    /// The records in presentation form (`owner TTL IN TYPE RDATA`).
    pub records: Vec<String>,
}

/// The result of validating one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The question name.
    pub name: String,
    /// The question type.
    pub rtype: String,
    /// The verdict for the whole answer (the weakest link).
    pub verdict: Verdict,
    /// Its reason, unless Secure.
    pub reason: Option<Reason>,
    /// What the answer at the end of the chain is.
    pub answer: AnswerKind,
    /// Each link of the chain, in order.
    pub links: Vec<Link>,
    /// Every step, in order.
    pub trace: Vec<TraceStep>,
    /// Signature verifications counted against [`Limits::max_signatures`] over the whole
    /// lookup (every validation pass of it): each distinct (key, signed data, signature)
    /// tried once, whether ring computed it or a memo remembered it.
    pub signatures_checked: u32,
    /// NSEC3 owner-name hashes counted against [`Limits::max_nsec3_hashes`] over the whole
    /// lookup (each distinct name, salt and iteration count once).
    pub nsec3_hashes: u32,
    /// What validated but deserves attention (e.g. `weak-key`), in the order found.
    pub warnings: Vec<Warning>,
    /// The earliest expiration (Unix seconds) among the signatures the verdict rests on,
    /// over the whole chain of trust (DS, DNSKEY, CNAME links, the answer or its denial):
    /// when the answer stops validating unless the zones are re-signed. Signatures that
    /// verified count, and so do those of an RRset that failed because its signatures had
    /// expired (the time is then in the past). `None` when no signature counts.
    pub earliest_expiration: Option<u64>,
    /// The inception (Unix seconds) of the signature that expires at
    /// [`Outcome::earliest_expiration`], when it verified: with it, that signature's own
    /// validity period (warning thresholds relative to it fit any signer's policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_expiration_inception: Option<u64>,
    /// What the chain of trust is made of, as data for a picture of it (`dane verify
    /// --format dot`): every zone's keys, every DS and every signature examined with its
    /// status. Not in the JSON document: the trace says the same in words.
    #[serde(skip)]
    pub facts: Vec<Fact>,
}

/// A DNSKEY as a picture of the chain shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFact {
    /// Its key tag (RFC 4034 Appendix B).
    pub tag: u16,
    /// Its algorithm number.
    pub algorithm: u8,
    /// Its flags (256 zone key, 257 with SEP, 128 revoked: RFC 4034 2.1.1, RFC 5011 2.1).
    pub flags: u16,
}

/// A DS record judged against the child zone's DNSKEY RRset (RFC 4035 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsStatus {
    /// A key has its tag and algorithm and the digest matches.
    Valid,
    /// A key has its tag and algorithm but no key's digest matches.
    BadDigest,
    /// No key of the zone has its tag and algorithm.
    NoKey,
    /// Its algorithm or digest type is not supported (the DS is ignored, RFC 6840 5.2).
    Unsupported,
    /// A SHA-1 DS ignored for a stronger one naming the same key (RFC 4509 3).
    Ignored,
}

/// One element of the chain of trust, for pictures (DNSViz's nodes and edges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// The DNSKEY RRset of a zone.
    Keys {
        /// The zone.
        zone: String,
        /// Every key of the RRset.
        keys: Vec<KeyFact>,
    },
    /// A trust anchor for a zone: a DS (with its digest type) or a DNSKEY.
    Anchor {
        /// The zone.
        zone: String,
        /// Key tag.
        tag: u16,
        /// Algorithm.
        algorithm: u8,
        /// Digest type of a DS anchor; `None` for a DNSKEY anchor.
        digest_type: Option<u8>,
    },
    /// A DS record of a zone (from its parent, or a DS trust anchor) and its status.
    Ds {
        /// The zone the DS is for (the child).
        zone: String,
        /// Key tag.
        tag: u16,
        /// Algorithm.
        algorithm: u8,
        /// Digest type.
        digest_type: u8,
        /// How it matched the zone's keys.
        status: DsStatus,
    },
    /// An RRSIG examined over an RRset.
    Signature {
        /// The RRset's owner.
        owner: String,
        /// The RRset's type.
        rtype: String,
        /// The zone whose keys were tried.
        zone: String,
        /// The RRSIG's signer name.
        signer: String,
        /// The RRSIG's key tag.
        tag: u16,
        /// The RRSIG's algorithm.
        algorithm: u8,
        /// `None` when it verified, else why not.
        problem: Option<ReasonCode>,
    },
}

/// What a warning is about, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningCode {
    /// An RSA key under 1024 bits verified a signature of the chain: validated, as Unbound
    /// and BIND do (RFC 5702 allows such keys), but an attacker may be able to factor it.
    WeakKey,
}

impl WarningCode {
    /// The stable kebab-case code (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::WeakKey => "weak-key",
        }
    }
}

/// Something that validated but deserves the operator's attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The stable code.
    pub code: WarningCode,
    /// The zone the key belongs to.
    pub zone: String,
    /// The key tag.
    pub key_tag: u16,
    /// The key size in bits.
    pub key_bits: u32,
    /// What exactly, for a human.
    pub detail: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.code.as_str())
    }
}

/// Work budgets and caps (ARCHITECTURE.md invariant 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// NSEC3 iterations above this make a denial Insecure (RFC 9276 3.2; 150 as BIND and
    /// Unbound use today).
    pub nsec3_iterations_insecure: u16,
    /// NSEC3 iterations above this make a denial Bogus (RFC 9276 3.2 allows SERVFAIL).
    pub nsec3_iterations_bogus: u16,
    /// Candidate keys tried per signature (key-tag collisions, KeyTrap CVE-2023-50387).
    pub max_keys_per_signature: u32,
    /// Signature verifications per lookup (over all its validation passes; KeyTrap,
    /// CVE-2023-50387).
    pub max_signatures: u32,
    /// NSEC3 owner-name hashes per lookup (over all its validation passes; CVE-2023-50868).
    /// Each costs `iterations + 1` SHA-1 runs, at most `nsec3_iterations_insecure + 1`:
    /// NSEC3 over the caps are never hashed.
    pub max_nsec3_hashes: u32,
    /// CNAME/DNAME links followed.
    pub max_chain: u32,
    /// Labels walked below a trust anchor looking for zone cuts.
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            nsec3_iterations_insecure: 150,
            nsec3_iterations_bogus: 500,
            max_keys_per_signature: 4,
            max_signatures: 256,
            max_nsec3_hashes: 128,
            max_chain: 12,
            max_depth: 32,
        }
    }
}
