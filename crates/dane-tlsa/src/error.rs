//! The one error type of this crate: "could not evaluate" (bad input), never a verdict.

/// Everything that makes an input unusable before any DANE question can be asked.
///
/// Verdicts (mismatch, unusable record, failed chain) are data in [`crate::MatchReport`];
/// an `Error` means the input itself is malformed or unsupported. Messages name the part
/// of the input at fault; callers prefix the file or argument name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A TLSA record in presentation or zone-file form could not be parsed.
    #[error("line {line}: {reason}")]
    RecordSyntax {
        /// 1-based line number in the text (1 for a single record).
        line: usize,
        /// What is wrong, e.g. `odd number of hex digits`.
        reason: String,
    },
    /// TLSA wire RDATA is malformed.
    #[error("TLSA RDATA: {reason}")]
    Rdata {
        /// What is wrong.
        reason: String,
    },
    /// The input was empty (or only whitespace and comments).
    #[error("empty input: {expected}")]
    Empty {
        /// What was expected, e.g. `a certificate (PEM or DER)`.
        expected: &'static str,
    },
    /// Neither PEM nor DER, or a PEM armour that does not decode.
    #[error("not PEM or DER: {reason}")]
    Encoding {
        /// What is wrong.
        reason: String,
    },
    /// PEM decoded, but holds no block of the wanted kind.
    #[error("no {wanted} PEM block (found: {found})")]
    WrongPemBlock {
        /// The wanted label(s), e.g. `CERTIFICATE`.
        wanted: &'static str,
        /// The labels found.
        found: String,
    },
    /// DER that does not parse as the expected structure.
    #[error("{what}: malformed DER: {reason}")]
    Der {
        /// The structure, e.g. `certificate 2` or `PKCS#8 private key`.
        what: String,
        /// Parser detail.
        reason: String,
    },
    /// A key algorithm or curve this crate cannot derive a public key for.
    #[error("unsupported key type: {algorithm}")]
    UnsupportedKey {
        /// The algorithm, by name or OID.
        algorithm: String,
    },
    /// The private key is encrypted: this crate takes no passphrase.
    #[error(
        "the private key is encrypted ({scheme}); decrypt it first, e.g. openssl pkey -in KEY -out PLAIN.key"
    )]
    EncryptedKey {
        /// How it is encrypted, e.g. `PKCS#8, PBES2`.
        scheme: String,
    },
    /// The private key's parts disagree (e.g. embedded public key does not match).
    #[error("inconsistent private key: {reason}")]
    InconsistentKey {
        /// What disagrees.
        reason: String,
    },
    /// Generation asked for something the input cannot give (e.g. selector Cert from a key).
    #[error("cannot generate {record}: {reason}")]
    Generate {
        /// The parameters asked for, e.g. `2 0 1`.
        record: String,
        /// Why not.
        reason: String,
    },
    /// A host name or reference identifier that is not a valid DNS name.
    #[error("invalid DNS name {name:?}: {reason}")]
    DnsName {
        /// The name as given.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// An empty certificate chain was presented.
    #[error("empty certificate chain")]
    EmptyChain,
    /// The presented chain is longer than the work budget allows.
    #[error("certificate chain of {len} certificates exceeds the limit of {max}")]
    ChainTooLong {
        /// Certificates presented.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A work budget ran out before the evaluation finished (hostile input).
    #[error("work budget exceeded: more than {limit} {what}")]
    BudgetExceeded {
        /// What was being counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A CA family list (`data/ca-families.json` or `--ca-families FILE`) is malformed.
    #[error("{reason}")]
    CaFamilies {
        /// What is wrong, naming the family and member.
        reason: String,
    },
    /// The TLSA RRset is larger than the work budget allows.
    #[error("TLSA RRset of {len} records exceeds the limit of {max}")]
    TooManyRecords {
        /// Records given.
        len: usize,
        /// The limit.
        max: usize,
    },
}
