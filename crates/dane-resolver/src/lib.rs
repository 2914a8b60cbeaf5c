//! DNS evidence collection for DNSSEC validation.
//!
//! [`Resolver::lookup`] asks a recursive resolver (or an authoritative server that holds
//! every zone, as in the tests) with DO=1 and CD=1, checked before the first lookup and
//! again as the check ages ([`Resolver::resolution`]), or iterates from the root hints ([`Mode`]), and feeds the
//! answers to
//! [`dane_dnssec::validate`], which says which question it needs next (the DNSKEY of the
//! trust anchor's zone, the DS at each label down to the signer, the DNSKEY at each cut,
//! the answer, each CNAME/DNAME target). The verdict comes from `dane-dnssec` alone
//! (ARCHITECTURE.md invariant 3); the resolver never reads an AD bit.
//!
//! ```no_run
//! # async fn f() -> Result<(), dane_resolver::Error> {
//! use dane_resolver::{Config, Resolver};
//! use hickory_proto::rr::{Name, RecordType};
//! use std::str::FromStr;
//!
//! let config = Config::new(dane_resolver::system_servers()?);
//! let resolver = Resolver::new(config);
//! let now = rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_780_272_000));
//! let lookup = resolver.lookup(&Name::from_str("example.com.").unwrap(), RecordType::A, now).await?;
//! println!("{}", lookup.outcome.verdict);
//! # Ok(()) }
//! ```
//!
//! For `dane rollover`, [`Resolver::ask_authoritative`] asks every authoritative server of a
//! name's zone directly and validates each answer ([`authoritative`]), and [`update`] sends
//! RFC 2136 updates signed with TSIG, guarded by prerequisites.
//!
//! # Invariants
//!
//! - Every exchange has a deadline ([`Config::timeout`] per attempt) and a size limit
//!   (65535 octets); a lookup asks at most [`Config::max_queries`] questions and ends by
//!   [`Config::lookup_timeout`], validation included: a validation pass runs on tokio's
//!   blocking pool unless it is cheap (at most 8 signature checks and NSEC3 hashes beyond
//!   the lookup's so far, over at most 16 KiB of evidence: then inline, sparing the
//!   hand-off; issue 27; a pass that reaches that cap is run on the pool, so the verdict
//!   is the same), and one [`dane_dnssec::Budget`] spans all the passes of a lookup (so
//!   [`Limits::max_signatures`] caps the lookup, not each of its up to 200 passes). Queries
//!   to servers are budgeted per question (64 when iterating: [`IterLimits::max_queries`]),
//!   per lookup ([`Config::max_lookup_queries`], 200) and per check
//!   ([`Config::max_check_queries`], 2000, with [`Resolver::lookup_within`]). A response
//!   with the wrong ID, question or source is ignored; one that does not parse becomes a
//!   failed item of evidence (the verdict is then Indeterminate), never a panic.
//! - One cache per [`Resolver`], shared by concurrent lookups (the first asker fetches, the
//!   others wait for it) and ageing (ARCHITECTURE.md invariant 8): an answer lives for its
//!   shortest TTL (capped by its RRSIGs' original TTL), its SOA minimum when negative
//!   (RFC 2308), and until its first RRSIG expires; failures 30 s; at most a day
//!   ([`CacheLimits`]). Bounded by [`Config::max_cached`] entries and
//!   [`CacheLimits::max_bytes`] octets: expired answers go first, then all but the root's
//!   and the TLDs' DNSKEY and DS. So one resolver serves a scan or an exporter for weeks:
//!   a removed record disappears within its TTL, and a transient failure within 30 s.
//! - The capability check is redone hourly, after a failed check with backoff (30 s
//!   doubling), and when the checked resolver stops answering (`path.rs`).
//! - Addresses that DNS names point iteration at are asked only within
//!   [`Config::address_policy`] ([`address`]); the configured servers and root hints are
//!   the operator's.
//! - Trust anchors: the IANA root anchors unless [`Config::anchors`] is replaced.
//!
//! # Time
//!
//! `now` is passed through to the validator and measures how long signatures in cached
//! answers have left; a long-running caller passes a fresh `now` to each lookup. How long
//! cached answers, delegations and checks live is measured on [`Config::clock`], a
//! monotonic [`Clock`] ([`SystemClock`]; tests use a [`ManualClock`]); tokio's timers
//! bound the exchanges.
//!
//! # Limitations
//!
//! - UDP and TCP only (no DoT/DoH); no EDNS Client Subnet, no cookies.
//! - The capability check runs in a task of its own on the runtime of its caller: a caller
//!   that gives up (a scrape's deadline) leaves it running for the next; only when that
//!   runtime shuts down before the check ends does a later caller start it again. A re-check
//!   runs in the background: lookups meanwhile take the previous path.
//! - The iterative path has no QNAME minimisation, no server selection by RTT and no DNS
//!   cookies; a name server's AAAA is asked only when its A gives no address.
//!
//! # Why hickory-proto and not hickory-resolver
//!
//! hickory-resolver's `Recursor` (feature `recursor`) returns a `Message` assembled from its
//! own record cache, not the response an authoritative server sent; its roots are bare
//! addresses on port 53; its caching, budgets and errors are its own. Its name server pools
//! (measured against 0.26.3) return a positive answer as received but turn NXDOMAIN and
//! NODATA into an error holding only the authority records (header, OPT record and raw
//! bytes lost), do not move to the next server after SERVFAIL or REFUSED, and ignore
//! `attempts`; its system-configuration reader adds 22 crates and about half the binary
//! size for what the resolv.conf reader here does on Unix. The validator needs the messages
//! as received, so both the resolver path and the iterative path ([`iterate`]) are built
//! here on hickory-proto (the transport in `transport.rs`), and the resolv.conf reader
//! stays ours.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod authoritative;
pub mod axfr;
mod cache;
mod capability;
pub mod clock;
mod hints;
pub mod iterate;
mod path;
mod transport;
pub mod tsig;
pub mod update;
mod validated;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dane_dnssec::{
    Budget, Evidence, Limits, Outcome, ParsedAnswer, Question, SignatureMemo, Step, TrustAnchors,
    validate_with,
};
use hickory_proto::rr::{Name, RecordType};
use rustls_pki_types::UnixTime;

pub use address::{AddressPolicy, Refused, SpecialRange};
pub use cache::{CacheLimits, QueryBudget};
pub use capability::{Problem, Unsuitable};
pub use clock::{Clock, ManualClock, SystemClock};
pub use hints::{IANA_NAMED_ROOT, RootHints};
pub use iterate::{IterLimits, IterateError};
pub use transport::EDNS_BUFFER;

/// How a [`Resolver`] gets its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Ask [`Config::servers`] without checking them first (the library default: the
    /// caller vouches for the servers, as the tests do for their NSD).
    Unchecked,
    /// Check the servers once ([`Resolver::resolution`]); if none is suitable, every
    /// lookup is Indeterminate with the [`Unsuitable`] line (`--no-iterate`).
    Checked,
    /// Check the servers once; if none is suitable, iterate from the root hints instead
    /// (the `dane` default).
    Auto,
    /// Iterate from the root hints; the servers are not asked (`--iterate`).
    Iterate,
}

/// The path a resolver's answers take: decided by the capability check, which is run again
/// an hour after a success ([`CacheLimits::recheck`]) and after a failure with backoff
/// (30 s, doubling up to the hour), and sooner when the checked resolver stops answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Through the configured resolvers.
    Resolver {
        /// The servers used (those that passed the check, when checked).
        servers: Vec<SocketAddr>,
        /// Whether they were checked ([`Mode::Checked`], [`Mode::Auto`]).
        checked: bool,
    },
    /// Iteratively from the root hints.
    Iterative {
        /// Why: `--iterate`, or the unsuitable-resolver line.
        reason: String,
    },
    /// The resolvers failed the check and iteration is off: no lookup can be trusted.
    Unsuitable(Unsuitable),
}

impl Resolution {
    /// `resolver` or `iterative` (the JSON `resolution.mode`).
    pub fn mode(&self) -> &'static str {
        match self {
            Resolution::Iterative { .. } => "iterative",
            Resolution::Resolver { .. } | Resolution::Unsuitable(_) => "resolver",
        }
    }
}

/// What can stop a lookup from producing a verdict at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No resolver address was configured or found.
    #[error("no DNS server: /etc/resolv.conf has no nameserver line; give --resolver ADDR[:PORT]")]
    NoServers,
    /// A resolver address that does not parse.
    #[error("resolver address {0:?}: expected ADDR, ADDR:PORT or [IPv6]:PORT")]
    BadServer(String),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A trust-anchor file that does not parse.
    #[error("trust anchors in {path}: {source}")]
    Anchors {
        /// The file.
        path: String,
        /// The parse error.
        source: dane_dnssec::Error,
    },
    /// The lookup deadline ([`Config::lookup_timeout`], plus a grace of up to 2 s for the
    /// validator to conclude from what was answered in time) passed while the validator
    /// worked (validation that is not cheap runs on tokio's blocking pool, so the deadline
    /// still fires).
    #[error("{name} {rtype}: the lookup deadline of {after:?} passed during validation")]
    Deadline {
        /// The name looked up.
        name: String,
        /// The type looked up.
        rtype: String,
        /// The deadline.
        after: Duration,
    },
    /// The validator kept asking for more than [`Config::max_queries`] answers.
    #[error("{name} {rtype}: more than {limit} questions needed; giving up")]
    TooManyQueries {
        /// The name looked up.
        name: String,
        /// The type looked up.
        rtype: String,
        /// The limit.
        limit: usize,
    },
}

/// Resolver settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Servers, tried in order on each attempt.
    pub servers: Vec<SocketAddr>,
    /// Deadline per exchange (per server, per attempt; UDP and the TCP retry each).
    pub timeout: Duration,
    /// Rounds over the server list before a question counts as failed.
    pub attempts: u32,
    /// Questions per lookup at most.
    pub max_queries: usize,
    /// Deadline for a whole lookup: questions not answered by then count as failed (the
    /// verdict is then Indeterminate unless the chain is already decided).
    pub lookup_timeout: Duration,
    /// Trust anchors (default: the IANA root anchors).
    pub anchors: TrustAnchors,
    /// Validator limits.
    pub limits: Limits,
    /// Cached answers at most: past it, expired answers are dropped, and if too few were,
    /// all but the root's and the TLDs' DNSKEY and DS. The iterative path's delegation
    /// cache has the same bound.
    pub max_cached: usize,
    /// Cache lifetimes and the octet bound ([`CacheLimits`]).
    pub cache: CacheLimits,
    /// The monotonic clock the caches age by ([`SystemClock`]; tests pass a
    /// [`ManualClock`]).
    pub clock: Arc<dyn Clock>,
    /// Which addresses named by DNS iteration may query ([`AddressPolicy::PublicOnly`];
    /// the configured servers and root hints are the operator's and always allowed).
    pub address_policy: AddressPolicy,
    /// Queries to servers per lookup at most (200), over all its questions.
    pub max_lookup_queries: usize,
    /// Queries to servers per check at most (2000): one `verify` run, one scan target,
    /// one scrape ([`Resolver::check_budget`]).
    pub max_check_queries: usize,
    /// Resolver, checked resolver, resolver or iteration, iteration.
    pub mode: Mode,
    /// Where iteration starts (default: the IANA root servers).
    pub root_hints: RootHints,
    /// The port of every authoritative server asked when iterating (53; tests use another).
    pub iterate_port: u16,
    /// Bounds of the iterative path.
    pub iteration: IterLimits,
}

impl Config {
    /// Defaults (2 s per exchange, 2 attempts, 200 questions and 200 queries per lookup,
    /// 2000 queries per check, 30 s per lookup, IANA root anchors, 10 000 cached answers,
    /// public addresses only) for `servers`.
    pub fn new(servers: Vec<SocketAddr>) -> Self {
        Self {
            servers,
            timeout: Duration::from_secs(2),
            attempts: 2,
            max_queries: 200,
            lookup_timeout: Duration::from_secs(30),
            anchors: TrustAnchors::iana_root(),
            limits: Limits::default(),
            max_cached: 10_000,
            cache: CacheLimits::default(),
            clock: Arc::new(SystemClock::new()),
            address_policy: AddressPolicy::PublicOnly,
            max_lookup_queries: 200,
            max_check_queries: 2000,
            mode: Mode::Unchecked,
            root_hints: RootHints::iana(),
            iterate_port: 53,
            iteration: IterLimits::default(),
        }
    }
}

/// A finished lookup: the validator's outcome and the evidence it was reached from.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The verdicts and trace.
    pub outcome: Outcome,
    /// Every answer the validator used, in the order it asked.
    pub evidence: Evidence,
}

/// A validation pass is tried inline (on the async worker, sparing the hand-off to the
/// blocking pool and back: issue 27) when the pass before it computed at most this many
/// signatures, and it may do at most this many signature checks and NSEC3 hashes beyond the
/// lookup's so far (`Resolver::inline_pass`): past that it is run on the blocking pool. So
/// an inline pass holds a worker for a few signature checks at most (tens of microseconds
/// each), whatever the zone.
const INLINE_CHECKS: u32 = 8;
/// ... and when the evidence it reads is at most this many octets (a few ordinary answers):
/// large RRsets, whose canonical forms cost more to build, are validated on the pool.
const INLINE_OCTETS: usize = 16 * 1024;

/// A validating lookup service with an ageing answer cache, shareable across tasks (`Arc`)
/// and across runs: a long-running exporter keeps one, and gives each lookup its `now`.
#[derive(Debug)]
pub struct Resolver {
    config: Config,
    cache: cache::AnswerCache,
    /// Finished lookups, for the next lookup of the same question at a `now` inside their
    /// signatures' windows, while their answers live (`validated.rs`).
    validated: validated::ValidatedCache,
    /// Signatures verified by this resolver (the root's and the TLDs' keys verify once,
    /// not once per lookup and again each time the evidence grows). Time-independent:
    /// validity windows are checked at each lookup's `now`.
    memo: Arc<SignatureMemo>,
    /// The anchors, shared with the validation threads.
    anchors: Arc<TrustAnchors>,
    /// Validation passes running at once, at most one per CPU: the work is CPU-bound, and
    /// each extra blocking-pool thread costs memory (its stack, its malloc arena).
    validators: Arc<tokio::sync::Semaphore>,
    /// The path when no check decides it (`Unchecked`, `Iterate`, no server).
    fixed: Option<Arc<Resolution>>,
    /// The path decided by the last capability check, and the check in flight (`path.rs`).
    path: Arc<Mutex<path::PathState>>,
    /// The iterative path and its delegation cache.
    iterator: iterate::Iterator,
}

impl Resolver {
    /// A resolver with an empty cache.
    pub fn new(config: Config) -> Self {
        Self {
            memo: Arc::new(SignatureMemo::new(
                config.max_cached.saturating_mul(4).max(1024),
            )),
            anchors: Arc::new(config.anchors.clone()),
            validators: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 16)),
            )),
            iterator: iterate::Iterator::new(iterate::Setup {
                hints: &config.root_hints,
                port: config.iterate_port,
                timeout: config.timeout,
                limits: config.iteration.clone(),
                max_cached: config.max_cached,
                cache: config.cache.clone(),
                clock: config.clock.clone(),
                policy: config.address_policy,
            }),
            cache: cache::AnswerCache::new(
                config.max_cached,
                config.cache.clone(),
                config.clock.clone(),
            ),
            validated: validated::ValidatedCache::new(
                config.max_cached,
                &config.cache,
                config.clock.clone(),
            ),
            fixed: path::fixed(config.mode, &config.servers).map(Arc::new),
            path: Arc::default(),
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The signatures this resolver has verified: a second validation of what it fetched
    /// (the picture of `dane verify --format dot`) is answered from it, not by ring again.
    pub fn signature_memo(&self) -> &SignatureMemo {
        &self.memo
    }

    /// How many delegations the iterative path has cached (at most about
    /// [`Config::max_cached`]).
    pub fn cached_delegations(&self) -> usize {
        self.iterator.cached_zones()
    }

    /// How many answers the cache holds now (at most about [`Config::max_cached`]),
    /// expired ones not yet dropped included.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// How many finished lookups are kept for reuse (at most [`Config::max_cached`]; the
    /// validated-lookup cache: conclusive verdicts only, reused at any `now` inside every
    /// RRSIG window of their evidence, while every answer of it lives in the answer cache).
    pub fn cached_lookups(&self) -> usize {
        self.validated.len()
    }

    /// Octets the validated-lookup cache counts its lookups as (at most a sixteenth of
    /// [`CacheLimits::max_bytes`]).
    pub fn cached_lookup_bytes(&self) -> usize {
        self.validated.bytes()
    }

    /// How many lookups were answered from the validated-lookup cache so far.
    pub fn reused_lookups(&self) -> u64 {
        self.validated.hits()
    }

    /// Octets of answers the cache holds now (at most about [`CacheLimits::max_bytes`]).
    pub fn cached_bytes(&self) -> usize {
        self.cache.bytes()
    }

    /// A fresh query budget for one check ([`Config::max_check_queries`]): a `verify` run,
    /// a scan target, a scrape; pass it to every [`Resolver::lookup_within`] of the check.
    pub fn check_budget(&self) -> Arc<QueryBudget> {
        Arc::new(QueryBudget::new("check", self.config.max_check_queries))
    }

    /// Looks up `name`/`rtype` and validates the answer at `now` (within the per-question
    /// and per-lookup budgets).
    pub async fn lookup(
        &self,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
    ) -> Result<Lookup, Error> {
        self.lookup_inner(name, rtype, now, None, None).await
    }

    /// As [`Resolver::lookup`], with the queries also charged to `check` (from
    /// [`Resolver::check_budget`]): once it is spent, the questions still needed fail and
    /// the verdict is Indeterminate. A long-running caller passes a fresh `now` each time.
    pub async fn lookup_within(
        &self,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
        check: &Arc<QueryBudget>,
    ) -> Result<Lookup, Error> {
        self.lookup_inner(name, rtype, now, None, Some(check)).await
    }

    /// As [`Resolver::lookup`], with `answer` (a response as received, e.g. from one
    /// authoritative server: [`Resolver::ask_authoritative`]) standing in for the answer to
    /// `name`/`rtype` itself; every other question of the chain (DS, DNSKEY, CNAME targets)
    /// takes the normal path. So one server's answer is validated exactly as the normal
    /// path's would be.
    pub async fn lookup_with_answer(
        &self,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
        answer: Vec<u8>,
    ) -> Result<Lookup, Error> {
        self.lookup_inner(name, rtype, now, Some(answer), None)
            .await
    }

    async fn lookup_inner(
        &self,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
        mut substitute: Option<Vec<u8>>,
        check: Option<&Arc<QueryBudget>>,
    ) -> Result<Lookup, Error> {
        let own = Question::new(name, rtype);
        // A substituted answer is one server's, not the cache's: neither used nor kept.
        let reusable = substitute.is_none();
        let lookup = Arc::new(QueryBudget::new("lookup", self.config.max_lookup_queries));
        let spend = cache::Spend::new(std::iter::once(lookup).chain(check.cloned()));
        let mut evidence = Evidence::new();
        // One work budget for the whole lookup: every pass repeats the checks of the one
        // before, and those are counted (and computed) once, not once per pass.
        let mut budget = Budget::new();
        let deadline = tokio::time::Instant::now() + self.config.lookup_timeout;
        // Decided before the first lookup, re-checked as it ages; the answers follow it.
        let path = tokio::time::timeout_at(deadline, self.resolution(now)).await;
        // A kept lookup only while the path answers (an unsuitable resolver's lookups are
        // Indeterminate, as they were before the cache).
        let usable = matches!(&path, Ok(p) if !matches!(**p, Resolution::Unsuitable(_)));
        if reusable && usable {
            if let Some(done) = self.validated.get(&own, now) {
                return Ok(done);
            }
        }
        // Questions not answered by `deadline` count as failed, and the validator then
        // concludes from what it has (Indeterminate where the chain needs them); those last
        // passes get a grace of up to 2 s. Validation still running at `hard` ends the
        // lookup with Error::Deadline.
        let hard = deadline + self.config.lookup_timeout.min(Duration::from_secs(2));
        // The first pass (no evidence yet) only names the question: it runs inline.
        let mut inline = true;
        // The octets of the answers in the evidence (what a pass re-reads).
        let mut octets = 0usize;
        // When the first answer of the evidence goes stale (fetch time plus lifetime).
        let mut stale = Duration::MAX;
        for _ in 0..=self.config.max_queries {
            let deadline_error = || Error::Deadline {
                name: name.to_string(),
                rtype: rtype.to_string(),
                after: self.config.lookup_timeout,
            };
            let computed = budget.crypto_verifications();
            let tried = if inline && octets <= INLINE_OCTETS {
                self.inline_pass(name, rtype, now, &evidence, &budget)
            } else {
                None
            };
            let (step, ev, b) = match tried {
                Some((step, b)) => (step, evidence, b),
                None => self
                    .blocking_pass(name, rtype, now, evidence, budget, hard)
                    .await
                    .ok_or_else(deadline_error)?,
            };
            evidence = ev;
            budget = b;
            // The next pass is tried inline when this one computed few signatures (a
            // hostile zone's many keys or signatures send the rest of its lookup to the
            // blocking pool).
            inline = budget.crypto_verifications() - computed <= INLINE_CHECKS;
            match step {
                Step::Done(outcome) => {
                    let done = Lookup {
                        outcome: *outcome,
                        evidence,
                    };
                    if reusable {
                        // Kept until the first answer it rests on goes stale.
                        self.validated.put(&own, now, &done, stale);
                    }
                    return Ok(done);
                }
                Step::Need(q) => {
                    if evidence.contains(&q) {
                        // The validator never asks twice; if it did, stop rather than loop.
                        break;
                    }
                    let answer = match substitute.take_if(|_| q == own) {
                        Some(wire) => {
                            let parsed = ParsedAnswer::parse(&q, &wire).map_err(|e| e.to_string());
                            Ok((wire, parsed))
                        }
                        None => {
                            match tokio::time::timeout_at(deadline, self.answer_at(&q, now, &spend))
                                .await
                            {
                                Ok((answer, expires)) => {
                                    stale = stale.min(expires);
                                    answer
                                }
                                Err(_) => {
                                    stale = Duration::ZERO;
                                    Err(format!(
                                        "the lookup deadline of {:?} passed",
                                        self.config.lookup_timeout
                                    ))
                                }
                            }
                        }
                    };
                    match answer {
                        Ok((wire, parsed)) => {
                            octets += wire.len();
                            match parsed {
                                Ok(parsed) => evidence.insert_parsed(wire, &parsed),
                                Err(e) => evidence.insert_failure(q, e),
                            }
                        }
                        Err(reason) => evidence.insert_failure(q, reason),
                    }
                }
            }
        }
        Err(Error::TooManyQueries {
            name: name.to_string(),
            rtype: rtype.to_string(),
            limit: self.config.max_queries,
        })
    }

    /// One validation pass on the async worker, with the work it may do capped at
    /// [`INLINE_CHECKS`] signature checks and NSEC3 hashes beyond those the lookup has done:
    /// the pass's result and budget, or `None` when it reached a cap (the pass is then run
    /// on the blocking pool with the lookup's own budget, so a cap never changes a verdict;
    /// the signatures it checked are in the memo and are not computed again).
    fn inline_pass(
        &self,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
        evidence: &Evidence,
        budget: &Budget,
    ) -> Option<(Step, Budget)> {
        let full = self.config.limits;
        let signatures = budget.verifications().saturating_add(INLINE_CHECKS);
        let hashes = budget.nsec3_hashes().saturating_add(INLINE_CHECKS);
        let limits = Limits {
            max_signatures: full.max_signatures.min(signatures),
            max_nsec3_hashes: full.max_nsec3_hashes.min(hashes),
            ..full
        };
        let mut trial = budget.clone();
        let step = validate_with(
            evidence,
            &self.anchors,
            name,
            rtype,
            now,
            &limits,
            Some(&self.memo),
            &mut trial,
        );
        let capped = (trial.verifications() >= limits.max_signatures
            && limits.max_signatures < full.max_signatures)
            || (trial.nsec3_hashes() >= limits.max_nsec3_hashes
                && limits.max_nsec3_hashes < full.max_nsec3_hashes);
        (!capped).then_some((step, trial))
    }

    /// One validation pass on the blocking pool (CPU work of up to Limits::max_signatures
    /// checks: the async workers keep serving other lookups, and `hard` still fires);
    /// `None` when `hard` passes first.
    async fn blocking_pass(
        &self,
        name: &Name,
        rtype: RecordType,
        now: UnixTime,
        evidence: Evidence,
        mut budget: Budget,
        hard: tokio::time::Instant,
    ) -> Option<(Step, Evidence, Budget)> {
        let (anchors, memo, limits) = (self.anchors.clone(), self.memo.clone(), self.config.limits);
        // The semaphore is never closed; a deadline while waiting ends the lookup.
        let permit = tokio::time::timeout_at(hard, self.validators.clone().acquire_owned())
            .await
            .ok()?
            .ok()?;
        let qname = name.clone();
        let pass = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let step = validate_with(
                &evidence,
                &anchors,
                &qname,
                rtype,
                now,
                &limits,
                Some(&memo),
                &mut budget,
            );
            (step, evidence, budget)
        });
        match tokio::time::timeout_at(hard, pass).await {
            Ok(Ok(done)) => Some(done),
            // A panic in the validator is a bug: pass it on. The only other join error is
            // cancellation, when the runtime shuts down: the lookup is over.
            Ok(Err(join)) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Ok(Err(_)) | Err(_) => None,
        }
    }

    /// The raw answer to a question, from the cache or the servers (its lifetime by TTLs
    /// alone: no validation time is known here).
    pub async fn answer(&self, q: &Question) -> Result<Vec<u8>, String> {
        self.with_answer(q, None, &cache::Spend::default(), |s| s.result.clone())
            .await
    }

    /// The raw answer to `q` from the cache or the path, parsed for the validator, and
    /// when it goes stale (its fetch time plus its lifetime on the cache's clock; zero
    /// when it was not cacheable).
    async fn answer_at(
        &self,
        q: &Question,
        now: UnixTime,
        spend: &cache::Spend,
    ) -> (
        Result<(Vec<u8>, Result<ParsedAnswer, String>), String>,
        Duration,
    ) {
        self.with_answer(q, Some(now), spend, |stored| {
            let answer = match (&stored.result, &stored.parsed) {
                (Ok(wire), Some(parsed)) => Ok((wire.clone(), parsed.clone())),
                // Not kept parsed (not DS or DNSKEY, or stored by `answer`): parsed here.
                (Ok(wire), None) => Ok((
                    wire.clone(),
                    ParsedAnswer::parse(q, wire).map_err(|e| e.to_string()),
                )),
                (Err(e), _) => Err(e.clone()),
            };
            (answer, stored.expires())
        })
        .await
    }

    /// `f` of the answer to `q`: from the cache while it lives, else fetched (the first
    /// asker fetches, concurrent askers wait for it) and cached for its lifetime at `now`,
    /// a DS or DNSKEY answer parsed for the validator when `now` is given (a validating
    /// lookup's).
    async fn with_answer<T>(
        &self,
        q: &Question,
        now: Option<UnixTime>,
        spend: &cache::Spend,
        f: impl FnOnce(&cache::Stored) -> T,
    ) -> T {
        let cell = self.cache.cell(q);
        let stored = cell
            .get_or_init(|| async {
                let (result, cacheable) = match self.fetch(q, spend).await {
                    Ok(r) => (r, true),
                    Err(cache::Exhausted(why)) => (Err(why), false),
                };
                // Only the zones' keys and DS are kept parsed (cache.rs).
                let keys = matches!(q.rtype, RecordType::DS | RecordType::DNSKEY);
                self.cache
                    .store(result, cacheable, now, (now.is_some() && keys).then_some(q))
            })
            .await;
        f(stored)
    }

    /// Asks the path in force; `Err(Exhausted)` when a caller's budget ran out.
    async fn fetch(
        &self,
        q: &Question,
        spend: &cache::Spend,
    ) -> Result<Result<Vec<u8>, String>, cache::Exhausted> {
        let servers = match &*self.current_path() {
            Resolution::Resolver { servers, .. } => servers.clone(),
            Resolution::Iterative { .. } => {
                return match self.iterator.resolve(&q.name, q.rtype, spend).await {
                    Ok(wire) => Ok(Ok(wire)),
                    Err(IterateError::Exhausted { detail }) => Err(cache::Exhausted(detail)),
                    Err(e) => Ok(Err(e.to_string())),
                };
            }
            Resolution::Unsuitable(u) => return Ok(Err(u.to_string())),
        };
        if servers.is_empty() {
            return Ok(Err("no DNS server configured".into()));
        }
        let mut last_error = String::new();
        let mut last_error_response = None;
        for _ in 0..self.config.attempts.max(1) {
            for &server in &servers {
                spend.take()?;
                match transport::ask(server, &q.name, q.rtype, self.config.timeout).await {
                    // NOERROR and NXDOMAIN are answers; SERVFAIL, REFUSED, ...: try another.
                    transport::Answer::Response { wire, rcode: 0 | 3 } => return Ok(Ok(wire)),
                    transport::Answer::Response { wire, rcode } => {
                        tracing::debug!(%server, name = %q.name, rtype = %q.rtype, rcode, "error rcode");
                        last_error_response = Some(wire);
                    }
                    transport::Answer::Failed(e) => {
                        tracing::debug!(%server, name = %q.name, rtype = %q.rtype, error = %e, "query failed");
                        last_error = e;
                    }
                }
            }
        }
        if last_error_response.is_none() {
            // No server answered at all: the checked path may be gone (a resolver down).
            self.path_failed();
        }
        // An error rcode is evidence too (the validator reports it as Indeterminate).
        Ok(last_error_response.ok_or(last_error))
    }
}

/// Parses `ADDR`, `ADDR:PORT`, `[IPv6]` or `[IPv6]:PORT` (port 53 by default).
pub fn parse_server(text: &str) -> Result<SocketAddr, Error> {
    let t = text.trim();
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = t
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(Error::BadServer(text.to_string()))
}

/// The `nameserver` addresses of a resolv.conf text (port 53; scoped IPv6 dropped).
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some("nameserver")).then(|| f.next()).flatten()
        })
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// The servers in /etc/resolv.conf.
pub fn system_servers() -> Result<Vec<SocketAddr>, Error> {
    let path = "/etc/resolv.conf";
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.into(),
        source,
    })?;
    let servers = parse_resolv_conf(&text);
    if servers.is_empty() {
        return Err(Error::NoServers);
    }
    Ok(servers)
}

/// Reads a trust-anchor file (DS or DNSKEY lines, or BIND `trust-anchors { }`).
pub fn read_anchors(path: &Path) -> Result<TrustAnchors, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    TrustAnchors::parse(&text).map_err(|source| Error::Anchors {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms() {
        for (text, want) in [
            ("127.0.0.1", Some("127.0.0.1:53")),
            ("127.0.0.1:5353", Some("127.0.0.1:5353")),
            ("::1", Some("[::1]:53")),
            ("[::1]", Some("[::1]:53")),
            ("[::1]:5300", Some("[::1]:5300")),
            ("localhost", None),
            ("1.2.3.4:99999", None),
            ("", None),
        ] {
            let got = parse_server(text).ok().map(|s| s.to_string());
            assert_eq!(got.as_deref(), want, "{text}");
        }
    }

    #[test]
    fn resolv_conf() {
        let text = "# c\nsearch example\nnameserver 192.0.2.1\nnameserver ::1\nnameserver fe80::1%eth0\noptions ndots:2\n";
        let got: Vec<String> = parse_resolv_conf(text)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(got, vec!["192.0.2.1:53", "[::1]:53"]);
    }
}
