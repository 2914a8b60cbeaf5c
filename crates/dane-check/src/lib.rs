//! The DANE policy engine: the decisions of RFC 7672 (SMTP DANE) and RFC 7671 over DNSSEC
//! lookup results and what a probe of each server saw, each decision a [`Verdict`] with a
//! reason a mail operator can act on.
//!
//! The engine is a set of pure steps. The caller fetches what a step asks for (from a
//! validating resolver, from a TLS prober, or from saved evidence) and feeds it back:
//!
//! ```
//! use dane_check::dns::{Answer, Lookup, Mx, Security};
//! use dane_check::smtp::{self, MxPlan};
//!
//! let mx = Lookup {
//!     name: "example.test.".into(),
//!     canonical: "example.test.".into(),
//!     security: Security::Secure,
//!     answer: Answer::Records(vec![
//!         Mx { preference: 20, exchange: "MX2.example.test".into() },
//!         Mx { preference: 10, exchange: "mx1.example.test.".into() },
//!     ]),
//!     expires: None,
//!     inception: None,
//!     dnssec_warnings: Vec::new(),
//! };
//! let MxPlan::Hosts { secure, hosts, .. } = smtp::mx_plan(&mx) else { unreachable!() };
//! assert!(secure);
//! assert_eq!(hosts[0].exchange, "mx1.example.test.");
//! assert_eq!(hosts[1].exchange, "mx2.example.test.");
//! ```
//!
//! Then, per host (MX host, SRV target from [`service::srv_plan`], or the service host
//! itself), [`host::address_step`] on its A/AAAA lookups, [`host::tlsa_step`] until it
//! decides the host's [`host::HostPolicy`], and [`host::endpoint_verdict`] per address with
//! the probe's result; [`host::Rules`] carries what differs between SMTP and the other
//! services. [`verdict::combine`] folds endpoint verdicts into host verdicts and
//! [`report::domain_verdict`] into the domain's. [`engine::verify`] runs all of it over a
//! [`engine::Dns`] and a [`engine::Prober`], concurrently, into a [`report::Report`];
//! [`multicert`] probes each address again offering one signature-algorithm family at a
//! time (`Options::all_certs`), so every chain a server holds is an endpoint of its own.
//!
//! For runs over many targets (`dane scan`, `dane serve-metrics`): [`probecache`] puts a
//! run-wide cache in front of a [`engine::Prober`] (one handshake per endpoint, concurrent
//! askers wait for the probe in flight, bounded and ageing on an injected monotonic clock),
//! and [`survey`] rolls reports up by provider (the host set serving them) and holds the
//! opt-out list (`--exclude`).
//!
//! [`rollover`] holds the decisions of `dane rollover`: the RRsets of a "current + next"
//! rollover, whether the switch is safe now (from every authoritative server's validated
//! answer and when each was first seen serving the next key, at an injected `now`), the
//! state document, and whether every endpoint presents the next key.
//!
//! # Invariants
//!
//! - Pure: no I/O, no clock (crate-local clippy.toml). Lookups and probe results in, verdicts
//!   out; the same inputs always give the same report, so saved evidence replays exactly.
//!   Two exceptions: [`rollover::key::generate`] reads the operating system's randomness to
//!   make a key, and [`rollover::files`] writes the rollover's key and state files, each
//!   write a transaction (ARCHITECTURE.md invariant 10).
//! - Nothing is `Verified` unless DANE applies (secure MX, secure addresses, secure TLSA
//!   with a usable record) and `dane_tlsa::match_chain` authenticated the presented chain.
//! - A bogus or indeterminate lookup is never treated as "no DANE": it makes the domain or
//!   host fail (bogus) or indeterminate, as a DANE sender would defer the mail.
//! - Under DANE, a missing or failing STARTTLS is a failure (downgrade), never a fallback.
//!
//! # Time
//!
//! `now` is used only by [`host::endpoint_verdict`] and [`host::candidate_verdict`], for
//! certificate dates under DANE-TA (DANE-EE ignores dates, RFC 7671 5.1), and by the
//! warnings. DNSSEC signature times are the validator's business.
//!
//! # Limitations
//!
//! - An insecure SRV RRset makes DANE inapplicable to its targets (as an insecure MX does
//!   for SMTP); RFC 7673 lets a client then use the service domain as the PKIX reference
//!   identifier, which is PKIX's business, not DANE's.
//! - SRV targets are all checked, in priority order; weights are not sampled.
//! - A TLSA RRset that differs between the CNAME-expanded and the original base domain is
//!   not compared (the first secure answer decides, as for a sender).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chain;
pub mod dns;
pub mod engine;
pub mod evidence;
pub mod host;
pub mod limits;
pub mod live;
pub mod multicert;
pub mod observe;
pub mod probecache;
pub mod query;
pub mod records;
pub mod report;
pub mod rollover;
pub mod servers;
pub mod service;
pub mod smtp;
pub mod survey;
pub mod threshold;
pub mod verdict;

pub use verdict::{Status, Verdict};
