//! A signed zone checked offline at a given time: the gate before a zone is published.
//!
//! [`parse_master`] reads a master file (RFC 1035 5) as BIND, NSD and Knot write it into
//! [`Record`]s; `$INCLUDE` is answered by a callback, so this crate reads no file.
//! [`check_zone`] then checks the zone's DNSSEC at `now` (signatures, coverage per
//! algorithm, glue, the SEP key, the NSEC or NSEC3 chain, ZONEMD, CDS/CDNSKEY, the parent's
//! DS when given) and returns typed [`Finding`]s
//! (owner, type, key tag, what, RFC section) in a [`Report`], with the TLSA records' form
//! ([`tlsa_form`]); [`tlsa_for`] checks the TLSA RRset at an owner against the certificate
//! chain or key about to be deployed there (dane-tlsa's RFC 7671 match).
//! [`AxfrCollector`] reads the zone from the messages of a zone transfer instead (the
//! caller does the I/O and the TSIG checks).
//!
//! ```
//! use dane_zone::{CheckOptions, Name, ParseLimits, parse_master, check_zone};
//!
//! let origin = Name::parse("example.", &Name::root()).unwrap();
//! let text = "$TTL 300\n@ SOA ns. host. 1 2 3 4 5\n@ NS ns.\n";
//! let records = parse_master("db.example", text, &origin, ParseLimits::default(),
//!     &mut |path, _from| Err(format!("{path}: no includes here")))?;
//! let report = check_zone(&records, &origin, &CheckOptions::at(1_780_272_000));
//! // No DNSKEY at the apex: the zone is not signed, which is an error for a gate.
//! assert!(report.has_errors());
//! # Ok::<(), dane_zone::Error>(())
//! ```
//!
//! # Invariants
//!
//! - Pure: no I/O, no clock (a crate-local clippy.toml bans them). The same records,
//!   origin and options give the same report.
//! - Nothing is called good that was not verified: every RRSIG is checked with ring
//!   through dane-dnssec ([`dane_dnssec::verify_signature`]) over the canonical form
//!   dane-dnssec defines ([`dane_dnssec::canonical_rdata_of`]); a signature of an
//!   algorithm we cannot verify is an error, not a pass.
//! - Parallel, deterministic: [`check_zone`] verifies the RRsets' signatures on rayon's
//!   pool (all cores unless `RAYON_NUM_THREADS` or an enclosing pool says otherwise) and
//!   merges the results in RRset order, with the NSEC or NSEC3 chain checked beside them:
//!   the report does not depend on the thread count. [`parse_master`] parses a large file
//!   in one part per thread, taking a part only where parsing in order would have started
//!   it in the same state: the same records and errors.
//! - Bounded: parse limits (records, `$INCLUDE` depth, include loops) and a per-RRset cap on
//!   the signatures verified.
//!
//! # What `now` affects
//!
//! Only the RRSIG validity windows (RFC 4034 3.1.5, serial arithmetic) and the
//! expiring-soon warnings.
//!
//! # Known limitations
//!
//! - CDS and CDNSKEY are checked against the DNSKEY RRset and, with the parent's DS
//!   ([`CheckOptions::parent_ds`]), for a signature by a key it names (RFC 7344 4.1); not
//!   whether the DS RRset they ask for would still validate the zone.
//! - Class IN only; `$GENERATE` is refused.
//! - Names written relative to a mixed-case `$ORIGIN` get the origin's labels lowercased in
//!   RDATA; this matters only for types whose names keep their case in the canonical form
//!   (NSEC next owner, RFC 6840 5.1), which signers write lowercase.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod axfr;
mod check;
mod master;
mod name;
mod rdata;
mod tlsa;

use std::sync::Arc;

pub use axfr::AxfrCollector;
pub use check::{CheckOptions, Finding, FindingCode, Report, Severity, check_zone};
pub use master::{IncludeResult, ParseLimits, parse_master};
pub use name::{Name, canonical_cmp};
pub use rdata::{bitmap_of, rtype_from_text, ttl as parse_ttl, type_name};
pub use tlsa::{Deployed, tlsa_for, tlsa_form};

/// A zone that could not be read (findings about a readable zone are data, not errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A master-file entry that does not parse.
    #[error("{file}:{line}: {what}")]
    Parse {
        /// The file, as the caller named it (an included file by its resolved name).
        file: String,
        /// 1-based line of the entry (its first line when it spans several).
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// A zone transfer that cannot be read ([`AxfrCollector`]).
    #[error("{transfer}, message {message}: {what}")]
    Transfer {
        /// Where the transfer came from (e.g. `AXFR from 192.0.2.1:53`).
        transfer: String,
        /// 1-based number of the message.
        message: usize,
        /// What is wrong.
        what: String,
    },
}

/// One resource record of the zone, RDATA in uncompressed wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The owner name (lowercased).
    pub owner: Name,
    /// The type code.
    pub rtype: u16,
    /// The class code (always 1, IN).
    pub class: u16,
    /// The TTL.
    pub ttl: u32,
    /// RDATA as written (names uncompressed, their case kept).
    pub rdata: Vec<u8>,
    /// The file it came from.
    pub file: Arc<str>,
    /// Its line in that file.
    pub line: usize,
}
