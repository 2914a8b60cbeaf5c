//! The answer cache and the query budgets (ARCHITECTURE.md invariants 7 and 8).
//!
//! An answer lives for the shortest of (RFC 2181 5.2, RFC 4035 5.3.3, RFC 2308 5):
//! - the TTLs of the records in its answer and authority sections, each capped by the
//!   original TTL of the RRSIGs that cover them;
//! - for a negative answer (NXDOMAIN, NODATA), its SOA's TTL and MINIMUM field;
//! - the time left until the earliest of its RRSIGs expires, measured from the lookup's
//!   `now`;
//! - [`CacheLimits::max_ttl`] (one day, as Unbound's `cache-max-ttl`).
//!
//! Failures (no answer, an error rcode, a response that does not parse, a negative answer
//! without SOA, which RFC 2308 5 says not to cache, an answer whose signatures have expired
//! already) live [`CacheLimits::failure_ttl`] (30 s): long enough that a scan does not hammer
//! a dead server, short enough that a resolver back up is used within half a minute. A
//! failure caused by the caller's own budget is not cached at all.
//!
//! The cache is bounded in entries ([`crate::Config::max_cached`]) and octets
//! ([`CacheLimits::max_bytes`]): when either is reached, expired answers go first; if that
//! frees less than a quarter, every finished answer but the root's and the TLDs' DNSKEY and DS
//! goes (they still age like the rest).
//!
//! A DS or DNSKEY answer fetched for a validating lookup is kept with its parse for the
//! validator ([`dane_dnssec::ParsedAnswer`], counted in the octets by
//! [`dane_dnssec::ParsedAnswer::size`]): every lookup that walks through that zone (the
//! root's and TLDs' keys are in all of them) adds the parse to its evidence instead of
//! parsing the message again (issue 27). Other answers are parsed by each lookup that uses
//! them (usually one: a shared one's whole lookup is reused from the validated-lookup
//! cache), so that a survey of many distinct names keeps no parse of their answers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dane_dnssec::{ParsedAnswer, Question};
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::Message;
use hickory_proto::rr::{RData, RecordType};
use rustls_pki_types::UnixTime;
use tokio::sync::OnceCell;

use crate::clock::Clock;

/// How long cached things live and how much the cache holds.
#[derive(Debug, Clone)]
pub struct CacheLimits {
    /// The longest any answer or delegation is kept, whatever its TTL (1 day).
    pub max_ttl: Duration,
    /// How long a failure is kept (30 s): no answer, an error rcode, an unusable response.
    pub failure_ttl: Duration,
    /// Octets of cached answers at most (64 MiB), beside [`crate::Config::max_cached`].
    pub max_bytes: usize,
    /// How long a suitable resolver's check holds before it is checked again (1 hour).
    pub recheck: Duration,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            max_ttl: Duration::from_secs(86_400),
            failure_ttl: Duration::from_secs(30),
            max_bytes: 64 << 20,
            recheck: Duration::from_secs(3600),
        }
    }
}

/// A count of queries sent to servers, with a limit: per lookup, per check (a `verify`
/// run, a scan target, a scrape). Shared by the tasks of what it bounds.
#[derive(Debug)]
pub struct QueryBudget {
    what: &'static str,
    limit: usize,
    used: AtomicUsize,
}

impl QueryBudget {
    /// A budget of `limit` queries for a `what` ("lookup", "check").
    pub fn new(what: &'static str, limit: usize) -> QueryBudget {
        QueryBudget {
            what,
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Queries spent so far (refused ones included).
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes one query; `Err` once the limit is spent.
    fn take(&self) -> Result<(), String> {
        if self.used.fetch_add(1, Ordering::Relaxed) >= self.limit {
            return Err(format!(
                "more than {} queries to servers in this {}; giving up",
                self.limit, self.what
            ));
        }
        Ok(())
    }
}

/// The budgets one query is charged to (the lookup's, the check's).
#[derive(Debug, Clone, Default)]
pub(crate) struct Spend {
    budgets: Vec<Arc<QueryBudget>>,
}

impl Spend {
    pub(crate) fn new(budgets: impl IntoIterator<Item = Arc<QueryBudget>>) -> Spend {
        Spend {
            budgets: budgets.into_iter().collect(),
        }
    }

    /// Charges one query to every budget; `Err` with the first exhausted one's message.
    pub(crate) fn take(&self) -> Result<(), Exhausted> {
        for b in &self.budgets {
            b.take().map_err(Exhausted)?;
        }
        Ok(())
    }
}

/// A caller's budget ran out: the caller's limit, not the data's fault (never cached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exhausted(pub(crate) String);

/// A fetched answer as cached: the response (or why there is none) and when it goes stale.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) result: Result<Vec<u8>, String>,
    /// The response parsed for the validator (when asked for at store time): parsed once
    /// per fetch, not once per lookup that uses it (issue 27: the root's and TLDs' keys
    /// are in every lookup's evidence). `Err` is why it does not parse.
    pub(crate) parsed: Option<Result<ParsedAnswer, String>>,
    expires: Duration,
}

impl Stored {
    /// When it goes stale, on the cache's clock: its fetch time plus its lifetime.
    pub(crate) fn expires(&self) -> Duration {
        self.expires
    }

    fn size(&self) -> usize {
        // The key, the map slot and the cell: a rough fixed overhead.
        128 + match (&self.result, &self.parsed) {
            (Ok(w), Some(Ok(p))) => w.len() + p.size(),
            (Ok(w), _) => w.len(),
            (Err(e), _) => e.len(),
        }
    }
}

type Cell = Arc<OnceCell<Stored>>;

/// The answers of one [`crate::Resolver`], ageing by TTL and signature expiry.
#[derive(Debug)]
pub(crate) struct AnswerCache {
    map: Mutex<HashMap<Question, Cell>>,
    bytes: AtomicUsize,
    max_entries: usize,
    limits: CacheLimits,
    clock: Arc<dyn Clock>,
}

impl AnswerCache {
    pub(crate) fn new(max_entries: usize, limits: CacheLimits, clock: Arc<dyn Clock>) -> Self {
        AnswerCache {
            map: Mutex::new(HashMap::new()),
            bytes: AtomicUsize::new(0),
            max_entries: max_entries.max(1),
            limits,
            clock,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Question, Cell>> {
        // A poisoned lock only means another task panicked while inserting; the map
        // itself is still consistent (insertions are single calls).
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cell for `q`: a live or in-flight one (its askers share it), else a new one.
    pub(crate) fn cell(&self, q: &Question) -> Cell {
        let now = self.clock.elapsed();
        let mut map = self.lock();
        if let Some(cell) = map.get(q) {
            match cell.get() {
                None => return cell.clone(),
                Some(s) if s.expires > now => return cell.clone(),
                Some(s) => {
                    self.bytes.fetch_sub(s.size(), Ordering::Relaxed);
                    map.remove(q);
                }
            }
        }
        if map.len() >= self.max_entries || self.bytes() >= self.limits.max_bytes {
            self.make_room(&mut map, now);
        }
        map.entry(q.clone()).or_default().clone()
    }

    /// Drops expired answers; if that frees too little, every finished answer but the
    /// root's and the TLDs' keys; if still over the octet bound, those too. In-flight
    /// cells stay (their askers wait on them); abandoned ones go. Amortised O(1) per insertion: each pass
    /// frees at least a quarter of the bound or clears all but a handful.
    fn make_room(&self, map: &mut HashMap<Question, Cell>, now: Duration) {
        let low_entries = self.max_entries - self.max_entries / 4;
        let low_bytes = self.limits.max_bytes - self.limits.max_bytes / 4;
        let keep = |q: &Question, cell: &Cell, keys_only: bool, drop_keys: bool| match cell.get() {
            // Being fetched: its askers hold it. A cell only the map holds was abandoned
            // (its asker's deadline passed mid-fetch) and goes.
            None => Arc::strong_count(cell) > 1,
            Some(s) if s.expires <= now => false,
            Some(_) if !keys_only => true,
            Some(_) => {
                !drop_keys
                    && matches!(q.rtype, RecordType::DNSKEY | RecordType::DS)
                    && q.name.num_labels() <= 1
            }
        };
        for (keys_only, drop_keys) in [(false, false), (true, false), (true, true)] {
            map.retain(|q, cell| {
                let k = keep(q, cell, keys_only, drop_keys);
                if !k {
                    if let Some(s) = cell.get() {
                        self.bytes.fetch_sub(s.size(), Ordering::Relaxed);
                    }
                }
                k
            });
            if map.len() <= low_entries && self.bytes() <= low_bytes {
                return;
            }
        }
    }

    /// `result` as stored: its lifetime from now (none when `cacheable` is false), and
    /// parsed as the answer to `parse` when that is given.
    pub(crate) fn store(
        &self,
        result: Result<Vec<u8>, String>,
        cacheable: bool,
        now: Option<UnixTime>,
        parse: Option<&Question>,
    ) -> Stored {
        let life = if cacheable {
            lifetime(&result, now, &self.limits)
        } else {
            Duration::ZERO
        };
        let parsed = match (&result, parse) {
            (Ok(wire), Some(q)) => Some(ParsedAnswer::parse(q, wire).map_err(|e| e.to_string())),
            _ => None,
        };
        let stored = Stored {
            result,
            parsed,
            expires: self.clock.elapsed().saturating_add(life),
        };
        self.bytes.fetch_add(stored.size(), Ordering::Relaxed);
        stored
    }
}

/// How long an answer may be kept (see the module docs); `now` is the validation time the
/// signatures' expiry is measured from (none: only TTLs count).
pub(crate) fn lifetime(
    result: &Result<Vec<u8>, String>,
    now: Option<UnixTime>,
    limits: &CacheLimits,
) -> Duration {
    let Ok(wire) = result else {
        return limits.failure_ttl;
    };
    match answer_ttl(wire, now) {
        Some(ttl) => Duration::from_secs(u64::from(ttl)).min(limits.max_ttl),
        None => limits.failure_ttl.min(limits.max_ttl),
    }
}

/// The seconds an answer stays true, or `None` when it is to be kept as a failure.
pub(crate) fn answer_ttl(wire: &[u8], now: Option<UnixTime>) -> Option<u32> {
    let m = Message::from_vec(wire).ok()?;
    let rcode = u16::from(m.metadata.response_code);
    if !matches!(rcode, 0 | 3) {
        return None;
    }
    // RFC 2308 5: a negative answer is cached for min(SOA TTL, SOA MINIMUM).
    let negative = rcode == 3 || m.answers.is_empty();
    let mut ttl: Option<u32> = None;
    let mut min = |t: u32| ttl = Some(ttl.map_or(t, |x| x.min(t)));
    let mut soa = false;
    for r in m.answers.iter().chain(&m.authorities) {
        min(r.ttl);
        match &r.data {
            RData::SOA(s) if negative => {
                soa = true;
                min(s.minimum);
            }
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
                let input = sig.input();
                // RFC 4035 5.3.3: the RRset's TTL is at most the signature's original TTL.
                min(input.original_ttl);
                if let Some(now) = now {
                    // RFC 4034 3.1.5: serial number arithmetic around the validation time.
                    let left = input
                        .sig_expiration
                        .get()
                        .wrapping_sub(now.as_secs() as u32);
                    match i32::try_from(left) {
                        Ok(l) if l > 0 => min(left),
                        // Expired already: no use keeping it beyond a failure's time.
                        _ => return None,
                    }
                }
            }
            _ => {}
        }
    }
    // RFC 2308 5: negative answers without an SOA are not cached (kept as a failure).
    if negative && !soa {
        return None;
    }
    ttl
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use hickory_proto::dnssec::Algorithm;
    use hickory_proto::dnssec::rdata::{RRSIG, SigInput};
    use hickory_proto::op::{MessageType, OpCode, Query, ResponseCode};
    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::{Name, Record};
    use std::str::FromStr;

    const NOW: u64 = 1_780_272_000;

    fn name(n: &str) -> Name {
        Name::from_str(n).unwrap()
    }

    fn a(ttl: u32) -> Record {
        Record::from_rdata(name("www.example."), ttl, RData::A(A::new(192, 0, 2, 1)))
    }

    fn soa(ttl: u32, minimum: u32) -> Record {
        Record::from_rdata(
            name("example."),
            ttl,
            RData::SOA(SOA::new(
                name("ns.example."),
                name("h.example."),
                1,
                2,
                3,
                4,
                minimum,
            )),
        )
    }

    fn rrsig(ttl: u32, original_ttl: u32, expires_in: i64) -> Record {
        let input = SigInput {
            type_covered: RecordType::A,
            algorithm: Algorithm::ECDSAP256SHA256,
            num_labels: 2,
            original_ttl,
            sig_expiration: ((NOW as i64 + expires_in) as u32).into(),
            sig_inception: ((NOW - 86_400) as u32).into(),
            key_tag: 1,
            signer_name: name("example."),
        };
        let rd = RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![0; 64])));
        Record::from_rdata(name("www.example."), ttl, rd)
    }

    fn wire(rcode: ResponseCode, answers: Vec<Record>, authorities: Vec<Record>) -> Vec<u8> {
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(name("www.example."), RecordType::A));
        m.metadata.response_code = rcode;
        m.answers = answers;
        m.authorities = authorities;
        m.to_vec().unwrap()
    }

    fn check(w: Vec<u8>, expected: Option<u32>) {
        let now = UnixTime::since_unix_epoch(Duration::from_secs(NOW));
        assert_eq!(answer_ttl(&w, Some(now)), expected);
    }

    #[test]
    fn an_answer_lives_for_its_shortest_ttl_signature_and_negative_bound() {
        use ResponseCode::{NXDomain, NoError, Refused, ServFail};
        // The records' TTLs; the RRSIG's original TTL caps them; its expiry caps all.
        check(wire(NoError, vec![a(300)], vec![]), Some(300));
        check(wire(NoError, vec![a(300), a(60)], vec![]), Some(60));
        check(
            wire(NoError, vec![a(300), rrsig(300, 120, 86_400)], vec![]),
            Some(120),
        );
        check(
            wire(NoError, vec![a(3600), rrsig(3600, 3600, 90)], vec![]),
            Some(90),
        );
        // Signatures expired at `now`: kept only as a failure.
        check(
            wire(NoError, vec![a(300), rrsig(300, 300, -5)], vec![]),
            None,
        );
        // RFC 2308 5: negative answers by the SOA's TTL and MINIMUM, and not without one.
        check(wire(NXDomain, vec![], vec![soa(3600, 45)]), Some(45));
        check(wire(NoError, vec![], vec![soa(20, 3600)]), Some(20));
        check(wire(NXDomain, vec![], vec![]), None);
        check(wire(NoError, vec![], vec![]), None);
        // Error rcodes are failures.
        check(wire(ServFail, vec![a(300)], vec![]), None);
        check(wire(Refused, vec![], vec![soa(300, 300)]), None);
        // Garbage is a failure.
        check(vec![1, 2, 3], None);
        // A TTL of zero is zero: never reused by another lookup.
        check(wire(NoError, vec![a(0)], vec![]), Some(0));
    }

    #[test]
    fn lifetimes_are_capped_and_failures_short() {
        let limits = CacheLimits::default();
        let w = wire(ResponseCode::NoError, vec![a(7 * 86_400)], vec![]);
        assert_eq!(lifetime(&Ok(w), None, &limits), limits.max_ttl);
        assert_eq!(
            lifetime(&Err("x".into()), None, &limits),
            limits.failure_ttl
        );
        assert_eq!(limits.failure_ttl, Duration::from_secs(30));
    }

    fn cache(max: usize, clock: &Arc<ManualClock>) -> AnswerCache {
        AnswerCache::new(max, CacheLimits::default(), clock.clone())
    }

    fn fill(c: &AnswerCache, q: &Question, result: Result<Vec<u8>, String>, cacheable: bool) {
        let cell = c.cell(q);
        assert!(cell.set(c.store(result, cacheable, None, None)).is_ok());
    }

    #[test]
    fn entries_age_by_their_ttl_and_failures_by_the_failure_time() {
        let clock = Arc::new(ManualClock::new());
        let c = cache(100, &clock);
        let q = Question::new(&name("www.example."), RecordType::A);
        let nx = Question::new(&name("nx.example."), RecordType::A);
        let down = Question::new(&name("down.example."), RecordType::A);
        let budget = Question::new(&name("budget.example."), RecordType::A);
        fill(
            &c,
            &q,
            Ok(wire(ResponseCode::NoError, vec![a(60)], vec![])),
            true,
        );
        fill(
            &c,
            &nx,
            Ok(wire(ResponseCode::NXDomain, vec![], vec![soa(300, 10)])),
            true,
        );
        fill(&c, &down, Err("timed out".into()), true);
        fill(&c, &budget, Err("budget".into()), false);
        let live = |q: &Question| c.cell(q).initialized();
        assert!(live(&q) && live(&nx) && live(&down));
        assert!(!live(&budget), "a caller's budget failure is never reused");
        clock.advance(Duration::from_secs(10));
        assert!(live(&q) && live(&down));
        assert!(!live(&nx), "the negative answer lived its SOA minimum");
        clock.advance(Duration::from_secs(20));
        assert!(live(&q));
        assert!(!live(&down), "a failure lives 30 s");
        clock.advance(Duration::from_secs(30));
        assert!(!live(&q), "the answer lived its 60 s TTL");
    }

    /// Regression: a fetch abandoned mid-way (its lookup's deadline) left a cell that no
    /// eviction removed, so a long-running exporter's map grew with every timeout.
    #[test]
    fn abandoned_fetches_are_evicted_and_running_ones_kept() {
        let clock = Arc::new(ManualClock::new());
        let c = cache(4, &clock);
        let running = c.cell(&Question::new(&name("running.example."), RecordType::A));
        for i in 0..100 {
            drop(c.cell(&Question::new(
                &name(&format!("gone{i}.example.")),
                RecordType::A,
            )));
        }
        assert!(c.len() <= 5, "{}", c.len());
        let q = Question::new(&name("running.example."), RecordType::A);
        assert!(
            Arc::ptr_eq(&running, &c.cell(&q)),
            "a running fetch stays shared"
        );
    }

    /// Issue 27: an answer stored for a validating lookup is parsed once, there, for its
    /// question (and counted with its parse); one that does not answer it keeps why.
    #[test]
    fn answers_for_the_validator_are_parsed_once_when_stored() {
        let clock = Arc::new(ManualClock::new());
        let c = cache(100, &clock);
        let q = Question::new(&name("www.example."), RecordType::A);
        let w = wire(ResponseCode::NoError, vec![a(60)], vec![]);
        let plain = c.store(Ok(w.clone()), true, None, None);
        assert!(plain.parsed.is_none());
        let stored = c.store(Ok(w.clone()), true, None, Some(&q));
        match &stored.parsed {
            Some(Ok(p)) => assert_eq!(p.question(), &q),
            other => panic!("{other:?}"),
        }
        let Some(Ok(p)) = &stored.parsed else {
            unreachable!()
        };
        assert!(p.size() > w.len(), "{} {}", p.size(), w.len());
        assert_eq!(stored.size(), 128 + w.len() + p.size());
        assert_eq!(plain.size(), 128 + w.len());
        let other = Question::new(&name("other.example."), RecordType::A);
        let refused = c.store(Ok(w), true, None, Some(&other));
        match &refused.parsed {
            Some(Err(e)) => assert!(e.contains("not other.example. A"), "{e}"),
            other => panic!("{other:?}"),
        }
        let failed = c.store(Err("timed out".into()), true, None, Some(&q));
        assert!(failed.parsed.is_none());
    }

    #[test]
    fn the_cache_is_bounded_in_entries_and_octets() {
        let clock = Arc::new(ManualClock::new());
        let c = cache(8, &clock);
        let root_keys = Question::new(&Name::root(), RecordType::DNSKEY);
        fill(
            &c,
            &root_keys,
            Ok(wire(ResponseCode::NoError, vec![a(600)], vec![])),
            true,
        );
        for i in 0..100 {
            let q = Question::new(&name(&format!("n{i}.example.")), RecordType::A);
            fill(
                &c,
                &q,
                Ok(wire(ResponseCode::NoError, vec![a(600)], vec![])),
                true,
            );
            assert!(c.len() <= 8 + 1, "{}", c.len());
        }
        assert!(
            c.cell(&root_keys).initialized(),
            "the root keys survive a clear"
        );
        // ... but age like the rest.
        clock.advance(Duration::from_secs(601));
        assert!(!c.cell(&root_keys).initialized());

        let limits = CacheLimits {
            max_bytes: 4096,
            ..CacheLimits::default()
        };
        let c = AnswerCache::new(10_000, limits, clock.clone());
        for i in 0..100 {
            let q = Question::new(&name(&format!("n{i}.example.")), RecordType::TXT);
            fill(&c, &q, Ok(vec![0; 1000]), true);
            assert!(c.bytes() <= 4096 + 1200, "{}", c.bytes());
        }
    }
}
