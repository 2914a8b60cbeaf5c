//! DNSSEC validation of collected DNS evidence, from trust anchors, at a given time.
//!
//! The resolver (`dane-resolver`) collects answers; this crate judges them. [`validate`]
//! takes the [`Evidence`] (wire messages keyed by question), the [`TrustAnchors`], `now` and
//! [`Limits`], and returns either the [`Outcome`] (a [`Verdict`] per link of the answer's
//! CNAME/DNAME chain, the overall verdict, and a trace of every step) or the next
//! [`Question`] it needs answered ([`Step::Need`]); the resolver asks it and calls again.
//!
//! ```
//! use dane_dnssec::{Evidence, Limits, Step, TrustAnchors, validate};
//! use hickory_proto::rr::{Name, RecordType};
//! use rustls_pki_types::UnixTime;
//! use std::str::FromStr;
//!
//! let anchors = TrustAnchors::parse(". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D")?;
//! let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_272_000));
//! let name = Name::from_str("example.com.").unwrap();
//! // With no evidence yet, the validator asks for the answer itself first (its RRSIG
//! // names the zone, and so the chain to walk).
//! match validate(&Evidence::new(), &anchors, &name, RecordType::A, now, &Limits::default()) {
//!     Step::Need(q) => assert_eq!((q.name, q.rtype), (name.clone(), RecordType::A)),
//!     Step::Done(_) => unreachable!(),
//! }
//! # Ok::<(), dane_dnssec::Error>(())
//! ```
//!
//! # Invariants
//!
//! - Pure: no I/O, no clock (a crate-local clippy.toml bans clocks, sockets and files).
//!   The same evidence, anchors, `now` and limits give the same outcome, with or without
//!   a [`SignatureMemo`] (which only spares ring a signature it already verified over
//!   byte-identical inputs; times, tags and budgets are checked on every call).
//! - Never Secure without an unbroken chain: trust anchor, then at every zone cut a DS
//!   RRset signed by the parent and a DNSKEY RRset signed by a key a DS names, then the
//!   RRset signed by a zone key (RFC 4035 section 5). A resolver's AD bit is never read.
//!   The anchor is the one closest to the answer's name, as Unbound picks it: an answer
//!   signed above it is Bogus, except an NXDOMAIN, judged from the anchor above its signer.
//! - The signed data is built here from the received octets: RDATA names decompressed and
//!   lowercased for the RFC 4034 6.2 types (not NSEC, RFC 6840 5.1), canonical RDATA
//!   order, duplicates removed, the original TTL, `*.` owners for wildcard expansions.
//! - Verdicts are data with a [`ReasonCode`]; [`Error`] means unparsable input.
//! - Bounded work: [`Limits`] caps candidate keys per signature, signature verifications
//!   and NSEC3 hashes per lookup (a [`Budget`] carried across the passes of one lookup with
//!   [`validate_with`]), alias chain length, labels walked, and NSEC3 iterations (checked
//!   before any hashing). A hit limit gives a verdict naming it, never unbounded work.
//!
//! # Time
//!
//! `now` decides only the RRSIG validity windows (inception <= now <= expiration in
//! RFC 1982 serial arithmetic, RFC 4034 3.1.5).
//!
//! # Limitations
//!
//! - Algorithms 5, 7, 8, 10, 13, 14, 15 (ring); RSA moduli under 1024 bits (which ring
//!   refuses) are verified by our own PKCS#1 v1.5 code and reported in
//!   [`Outcome::warnings`] (`weak-key`), as Unbound and BIND validate them.
//!   Ed448 (16) and GOST are unsupported: a DS set with only those makes a zone Insecure.
//! - Names inside the RDATA of obsolete types that hickory-proto does not decode (MD, MF,
//!   MB, MG, MR, MINFO, RP, AFSDB, RT, PX, KX) are decompressed and lowercased by our own
//!   layout table; other unknown types are taken verbatim (RFC 3597).
//! - Zone cuts are found by asking DS at every label from the trust anchor down to the
//!   signer (or, for unsigned data, the owner): simple and exact, but one question per
//!   label.
//! - Class IN only in practice (the class is carried into the signed data as received).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod anchor;
mod crypto;
mod denial;
mod error;
mod evidence;
mod validate;
mod verdict;
mod wire;

pub use anchor::{Anchor, TrustAnchors};
pub use crypto::{
    VerifyError, algorithm_name, algorithm_supported, digest_supported, ds_digest, key_tag,
    nsec3_hash, verify as verify_signature,
};
pub use error::Error;
pub use evidence::{Evidence, ParsedAnswer, Question};
pub use validate::{
    Budget, SignatureMemo, Step, VerifiedSignature, validate, validate_memo, validate_recording,
    validate_with,
};
pub use verdict::{
    AnswerKind, DsStatus, Fact, KeyFact, Limits, Link, Outcome, Reason, ReasonCode, StepKind,
    TraceStep, Verdict, Warning, WarningCode,
};
pub use wire::{MAX_MESSAGE, MAX_RECORDS, canonical_rdata_of};
