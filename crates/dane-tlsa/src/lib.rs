//! TLSA records for DANE (RFC 6698, RFC 7218, RFC 7671): parse and print them in every
//! presentation form, generate them from certificates, keys and CSRs, and match a TLSA
//! RRset against a presented certificate chain.
//!
//! ```
//! use dane_tlsa::{CertUsage, MatchingType, Selector, TlsaRecord};
//!
//! let r: TlsaRecord = "_25._tcp.mx1.example. 3600 IN TLSA DANE-EE SPKI SHA2-256 ( 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6 )".parse()?;
//! assert_eq!((r.usage, r.selector, r.matching_type), (CertUsage::DaneEe, Selector::Spki, MatchingType::Sha256));
//! assert_eq!(r.to_string(), "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6");
//! assert_eq!(dane_tlsa::tlsa_owner(25, dane_tlsa::Proto::Tcp, "MX1.Example")?, "_25._tcp.mx1.example.");
//! # Ok::<(), dane_tlsa::Error>(())
//! ```
//!
//! # Invariants
//!
//! - Pure: no I/O, no clock, no randomness. Bytes and a `now` in, data out (a crate-local
//!   clippy.toml bans clocks, sockets and files).
//! - A record with an unknown or private parameter, or a digest of the wrong length, is
//!   representable and reported as unusable with a reason; it never makes the RRset fail
//!   to parse (RFC 7671 section 4.1).
//! - Verdicts are data ([`MatchReport`]); [`Error`] means the input could not be evaluated.
//! - DANE-TA is never satisfied by a digest that merely appears in the chain: the leaf's
//!   signature must verify up to the designated anchor (rustls-webpki, ring), and the
//!   leaf's names must match a caller-given reference identifier (no names: no match).
//!   The anchor is an issuer the server sent, or, for `2 1 0` / `2 0 0`, the key or
//!   certificate carried in the record itself.
//! - Every record gets an outcome (matched at a depth, rejected with why, not matched,
//!   superseded by digest agility, unusable with why); the verdict follows from them.
//!
//! - Issuer families ([`CaFamilies`]): the CAs that rotate among intermediates are data
//!   (`data/ca-families.json`, embedded; a newer file can replace it), and a test recomputes
//!   every digest, subject and date in it from the certificates under `data/ca-families/`.
//!
//! # Time
//!
//! `now` affects only DANE-TA matching: the validity dates of the leaf and of the
//! certificates between it and the trust anchor (not the anchor itself). DANE-EE ignores
//! dates and names (RFC 7671 5.1). It also decides which issuer family is current
//! ([`CaFamilies::advise`]: a generation's `since`, its members' validity dates).
//!
//! # Limits
//!
//! - Signature algorithms are those of rustls-webpki with ring (RSA PKCS#1/PSS >= 2048
//!   bits with SHA-2, ECDSA P-256/P-384, Ed25519); chains signed with SHA-1 do not verify.
//! - DANE-TA path checks use the serverAuth extended key usage when an EKU is present.
//! - Private keys: RSA, ECDSA on the named curves P-256/P-384/P-521, Ed25519 (PKCS#8, PKCS#1,
//!   SEC1; read with the RustCrypto `pkcs8`/`pkcs1`/`sec1` crates). Ed448, X25519/X448, DSA,
//!   RSA-PSS and explicit curve parameters are [`Error::UnsupportedKey`]; an encrypted key
//!   is [`Error::EncryptedKey`] (no passphrase is taken).
//! - EC private keys: the public point stored in the key is used (as OpenSSL does); it is
//!   not recomputed from the scalar. CSR self-signatures are not verified.
//! - Budgets: chains up to [`MAX_CERTIFICATES`] certificates, zone fragments up to
//!   [`MAX_ZONE_RECORDS`] records, RRsets up to [`MAX_RRSET`] records in matching, at most
//!   [`MAX_PATH_CHECKS`] DANE-TA path verifications per match.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod families;
mod generate;
mod input;
mod matching;
mod names;
mod owner;
mod parse;
mod record;

pub use error::Error;
pub use families::{
    CA_FAMILIES_FORMAT, CaFamilies, Family, FamilyAdvice, MAX_CA_FAMILIES, MAX_FAMILY_MEMBERS,
    Member,
};
pub use generate::{
    Source, associate, certificate_spki, generate, is_self_issued, issuer, recommended,
};
pub use input::{
    MAX_CERTIFICATES, Spki, parse_certificates, parse_csr, parse_private_key, parse_public_key,
};
pub use matching::{
    MAX_PATH_CHECKS, MAX_RRSET, MatchOptions, MatchReport, Pkix, RecordOutcome, RecordStatus,
    Verdict, match_chain, match_key,
};
pub use owner::{Proto, normalize_host, tlsa_owner};
pub use parse::{MAX_ZONE_RECORDS, SkippedLine, ZoneEntry, ZoneFragment, parse_zone};
pub use record::{CertUsage, MatchingType, Selector, TlsaRecord, Unusable};
