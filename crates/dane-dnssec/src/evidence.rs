//! Evidence: the DNS responses collected for one or more lookups, keyed by question.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{Name, RData, RecordType};

use crate::Error;
use crate::wire::{self, WireRecord};

/// A question: name (absolute, compared case-insensitively) and type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    /// The name, lowercased.
    pub name: Name,
    /// The type.
    pub rtype: RecordType,
}

impl Question {
    /// A question for `name` (lowercased) and `rtype`.
    pub fn new(name: &Name, rtype: RecordType) -> Self {
        let mut name = name.to_lowercase();
        name.set_fqdn(true);
        Self { name, rtype }
    }
}

/// An RRSIG over an RRset, with the fields we check.
#[derive(Debug, Clone)]
pub(crate) struct Sig {
    pub algorithm: u8,
    pub labels: u8,
    pub original_ttl: u32,
    pub expiration: u32,
    pub inception: u32,
    pub key_tag: u16,
    pub signer: Name,
    pub signature: Vec<u8>,
    /// The RRSIG RDATA up to the signature, signer name in canonical form (RFC 4034 3.1.8.1).
    pub prefix: Vec<u8>,
}

/// Records of one owner, type and class with the RRSIGs that cover them.
#[derive(Debug, Clone)]
pub(crate) struct Rrset {
    pub name: Name,
    pub rtype: RecordType,
    pub class: u16,
    pub ttl: u32,
    /// Canonical RDATA of each record, as received (duplicates kept here).
    pub rdatas: Vec<Vec<u8>>,
    /// The same records with the case of embedded names as received (display only).
    pub received: Vec<Vec<u8>>,
    pub sigs: Vec<Sig>,
}

impl Rrset {
    /// Presentation form of the records (`owner TTL IN TYPE RDATA`).
    pub fn display(&self) -> Vec<String> {
        self.received
            .iter()
            .map(|rd| {
                let text = match wire::typed(self.rtype, rd) {
                    Ok(RData::Unknown { .. }) | Err(_) => generic_rdata(self.rtype, rd),
                    Ok(data) => data.to_string(),
                };
                format!("{} {} IN {} {}", self.name, self.ttl, self.rtype, text)
            })
            .collect()
    }
}

fn generic_rdata(rtype: RecordType, rd: &[u8]) -> String {
    if rtype == RecordType::DNAME {
        if let Ok((name, _)) = wire::rdata_name(rd, 0) {
            return name.to_string();
        }
    }
    let hex: String = rd.iter().map(|b| format!("{b:02x}")).collect();
    format!("\\# {} {hex}", rd.len())
}

/// A response parsed into RRsets.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub rcode: u8,
    pub answer: Vec<Rrset>,
    pub authority: Vec<Rrset>,
}

impl Response {
    pub fn answer_rrset(&self, name: &Name, rtype: RecordType) -> Option<&Rrset> {
        self.answer
            .iter()
            .find(|r| r.rtype == rtype && &r.name == name)
    }
}

fn group(records: Vec<WireRecord>) -> Result<Vec<Rrset>, Error> {
    let mut sets: Vec<Rrset> = Vec::new();
    let mut sigs: Vec<(Name, RecordType, Sig)> = Vec::new();
    for rec in records {
        let name = rec.owner.to_lowercase();
        if rec.rtype == RecordType::RRSIG {
            let Ok(RData::DNSSEC(DNSSECRData::RRSIG(rrsig))) = wire::typed(rec.rtype, &rec.rdata)
            else {
                return Err(Error::Malformed(format!("bad RRSIG RDATA at {name}")));
            };
            let input = rrsig.input();
            let sig_len = rrsig.sig().len();
            let prefix = rec.rdata[..rec.rdata.len() - sig_len].to_vec();
            sigs.push((
                name,
                input.type_covered,
                Sig {
                    algorithm: u8::from(input.algorithm),
                    labels: input.num_labels,
                    original_ttl: input.original_ttl,
                    expiration: input.sig_expiration.get(),
                    inception: input.sig_inception.get(),
                    key_tag: input.key_tag,
                    signer: input.signer_name.to_lowercase(),
                    signature: rrsig.sig().to_vec(),
                    prefix,
                },
            ));
            continue;
        }
        if rec.rtype == RecordType::OPT {
            continue;
        }
        match sets
            .iter_mut()
            .find(|s| s.name == name && s.rtype == rec.rtype && s.class == rec.class)
        {
            Some(s) => {
                s.rdatas.push(rec.rdata);
                s.received.push(rec.received);
                s.ttl = s.ttl.min(rec.ttl);
            }
            None => sets.push(Rrset {
                name,
                rtype: rec.rtype,
                class: rec.class,
                ttl: rec.ttl,
                rdatas: vec![rec.rdata],
                received: vec![rec.received],
                sigs: Vec::new(),
            }),
        }
    }
    for (name, covered, sig) in sigs {
        if let Some(s) = sets
            .iter_mut()
            .find(|s| s.name == name && s.rtype == covered)
        {
            s.sigs.push(sig);
        }
    }
    Ok(sets)
}

/// The responses collected for lookups: each question maps to the wire message the
/// resolver received, or the reason it got none.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    items: Vec<(Question, Result<Vec<u8>, String>)>,
    parsed: HashMap<Question, Result<Arc<Response>, String>>,
}

/// A response parsed for the question it answers, ready to be added to evidence
/// ([`Evidence::insert_parsed`]) any number of times without parsing it again.
#[derive(Debug, Clone)]
pub struct ParsedAnswer {
    question: Question,
    response: Arc<Response>,
}

impl ParsedAnswer {
    /// Parses the wire message received for `question`: an error when it does not parse,
    /// is truncated (TC bit) or answers another question.
    pub fn parse(question: &Question, wire: &[u8]) -> Result<Self, Error> {
        let msg = wire::parse_message(wire)?;
        if msg.truncated {
            return Err(Error::Malformed(format!(
                "the response for {} {} is truncated (TC bit)",
                question.name, question.rtype
            )));
        }
        match &msg.question {
            Some((n, t)) if n.to_lowercase() == question.name && *t == question.rtype => {}
            other => {
                return Err(Error::Malformed(format!(
                    "the response is for {:?}, not {} {}",
                    other.as_ref().map(|(n, t)| format!("{n} {t}")),
                    question.name,
                    question.rtype
                )));
            }
        }
        Ok(ParsedAnswer {
            question: question.clone(),
            response: Arc::new(Response {
                rcode: msg.rcode,
                answer: group(msg.answer)?,
                authority: group(msg.authority)?,
            }),
        })
    }

    /// The question it answers.
    pub fn question(&self) -> &Question {
        &self.question
    }

    /// About how many octets the parse holds, for a cache's bound: each RRset's owner,
    /// its records twice (canonical and as received), its signatures with their signed
    /// prefixes, and an overhead per allocation.
    pub fn size(&self) -> usize {
        let r = &self.response;
        let rrset = |s: &Rrset| {
            96 + s.name.len()
                + s.rdatas
                    .iter()
                    .chain(&s.received)
                    .map(|d| 32 + d.len())
                    .sum::<usize>()
                + s.sigs
                    .iter()
                    .map(|g| 192 + g.signer.len() + g.signature.len() + g.prefix.len())
                    .sum::<usize>()
        };
        64 + r
            .answer
            .iter()
            .chain(&r.authority)
            .map(rrset)
            .sum::<usize>()
    }
}

impl Evidence {
    /// Empty evidence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the wire message received for a question. A message that does not parse is
    /// an error (the caller records it with [`Evidence::insert_failure`]).
    pub fn insert_wire(&mut self, question: Question, wire: Vec<u8>) -> Result<(), Error> {
        let parsed = ParsedAnswer::parse(&question, &wire)?;
        self.insert_parsed(wire, &parsed);
        Ok(())
    }

    /// Adds the wire message received for a question with its parse ([`ParsedAnswer::parse`]
    /// of the same `wire`), which is shared, not copied: a resolver parses an answer once
    /// and adds it to the evidence of every lookup that uses it (the root's keys).
    pub fn insert_parsed(&mut self, wire: Vec<u8>, parsed: &ParsedAnswer) {
        let question = parsed.question.clone();
        self.parsed
            .insert(question.clone(), Ok(parsed.response.clone()));
        self.items.retain(|(q, _)| q != &question);
        self.items.push((question, Ok(wire)));
    }

    /// Records that a question could not be answered, and why.
    pub fn insert_failure(&mut self, question: Question, reason: impl Into<String>) {
        let reason = reason.into();
        self.parsed.insert(question.clone(), Err(reason.clone()));
        self.items.retain(|(q, _)| q != &question);
        self.items.push((question, Err(reason)));
    }

    /// Evidence from `(name, type mnemonic, wire or failure)` items (the committed
    /// `fixtures/dns/evidence` format).
    pub fn from_wire<'a, I>(items: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (&'a str, &'a str, Result<&'a [u8], &'a str>)>,
    {
        let mut ev = Self::new();
        for (name, rtype, item) in items {
            let n = Name::from_str(name)
                .map_err(|e| Error::Malformed(format!("evidence name {name:?}: {e}")))?;
            let t = RecordType::from_str(rtype)
                .map_err(|e| Error::Malformed(format!("evidence type {rtype:?}: {e}")))?;
            let q = Question::new(&n, t);
            match item {
                Ok(wire) => ev.insert_wire(q, wire.to_vec())?,
                Err(reason) => ev.insert_failure(q, reason),
            }
        }
        Ok(ev)
    }

    /// Every item in insertion order: question, then wire message or failure reason.
    pub fn items(&self) -> &[(Question, Result<Vec<u8>, String>)] {
        &self.items
    }

    /// Whether a question has an answer or a recorded failure.
    pub fn contains(&self, question: &Question) -> bool {
        self.parsed.contains_key(question)
    }

    pub(crate) fn get(&self, question: &Question) -> Option<Result<&Response, &String>> {
        self.parsed.get(question).map(|r| r.as_deref())
    }

    /// The validation times (Unix seconds, both ends included) at which every RRSIG of
    /// this evidence is judged as it is at `now`: inside its validity window. Since `now`
    /// decides only the RRSIG validity windows (see the crate documentation), a
    /// validation of this evidence at any time of the interval gives the outcome it gives
    /// at `now`; a validating resolver reuses its answer there (Unbound does). It is
    /// `[max inception, min expiration]` over every RRSIG that covers an RRset (those the
    /// validator can depend on), times read in serial arithmetic near `now` (RFC 4034
    /// 3.1.5); `(now, now)` when any of them is outside its window at `now` (the
    /// outcome, and its reasons' "checked at" times, are then `now`'s alone); and
    /// `(0, u64::MAX)` when there is no RRSIG at all. Within the interval every time is
    /// less than 2^31 seconds from every RRSIG time, so serial arithmetic reads each the
    /// same at any of them.
    pub fn signature_window(&self, now: rustls_pki_types::UnixTime) -> (u64, u64) {
        let secs = now.as_secs();
        let serial = secs as u32;
        // A 32-bit RRSIG time as Unix seconds, read relative to `now`.
        let abs = |t: u32| {
            let delta = i64::from(t.wrapping_sub(serial) as i32);
            u64::try_from(secs as i64 + delta).unwrap_or(0)
        };
        let (mut from, mut until) = (0u64, u64::MAX);
        let sigs = self
            .parsed
            .values()
            .filter_map(|r| r.as_ref().ok())
            .flat_map(|r| r.answer.iter().chain(&r.authority))
            .flat_map(|set| &set.sigs);
        for sig in sigs {
            let (inception, expiration) = (abs(sig.inception), abs(sig.expiration));
            // A window of 2^31 seconds or more (68 years) is read differently at times
            // inside it (serial arithmetic): judged at `now` only.
            if !(inception <= secs && secs <= expiration) || expiration - inception >= 1 << 31 {
                return (secs, secs);
            }
            from = from.max(inception);
            until = until.min(expiration);
        }
        (from, until)
    }
}
