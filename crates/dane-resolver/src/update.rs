//! RFC 2136 dynamic updates of one RRset, authenticated with TSIG (RFC 8945), for
//! `dane rollover --update`.
//!
//! The change is made safe against lost writes with a prerequisite (RFC 2136 2.4): the RRset
//! must be exactly as it was read ("RRset exists, value dependent", 2.4.2), or must not
//! exist when none was read ("RRset does not exist", 2.4.3). A primary whose RRset changed in
//! between answers NXRRSET (and applies nothing, 3.2.5), which is
//! [`UpdateError::Prerequisite`]. The key comes from a Knot, BIND or `nsupdate -y` key
//! definition ([`crate::tsig`]).
//!
//! Every message to the primary is signed, the reads too: the read of the RRset before the
//! update (which supplies the prerequisite and the TTL) and the read-back after it go over
//! TCP with TSIG ([`read_rrset`]), as the update does ([`send_update`]). Answers are opened
//! with the key (RFC 8945 5.3): a signed answer must verify; a NOERROR counts only when
//! signed; an error answer without a MAC (RFC 8945 5.3.2: BADKEY and BADSIG answers carry
//! none) is reported as [`UpdateError::Unsigned`], "unauthenticated: the primary said ...".
//!
//! Time: each message is signed with the wall clock read just before signing, through the
//! caller's [`Clock`] (RFC 8945 5.2.3: the primary refuses a time outside its clock plus
//! or minus the fudge, 300 s, with BADTIME). TSIG is about real time: never `--at`, and never
//! a time read at the start of a run that may probe for minutes first.
//!
//! Messages are built by [`update_message`] and judged by [`UpdateExchange::finish`], both
//! without I/O.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage as _};
use hickory_proto::rr::TSigVerifier;
use hickory_proto::rr::rdata::TLSA;
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::transport;
pub use crate::tsig::TsigKey;

/// The TSIG fudge we sign with (RFC 8945 10: 300 seconds is recommended).
pub const FUDGE: u16 = 300;

/// What can go wrong with a key file, an update or reading the RRset.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The TSIG key file does not parse.
    #[error("TSIG key: {0}")]
    BadKey(String),
    /// The primary refused the TSIG key or signature: nothing was changed.
    #[error(
        "{server} refused the TSIG key {key}: {detail} (nothing was changed; check the key name, secret and algorithm, and the clocks)"
    )]
    TsigRefused {
        /// The primary.
        server: SocketAddr,
        /// The key's name.
        key: String,
        /// BADKEY, BADSIG, BADTIME or NOTAUTH.
        detail: String,
    },
    /// A prerequisite failed: the RRset changed since it was read (RFC 2136 3.2.5): nothing
    /// was changed.
    #[error(
        "{server}: prerequisite failed ({rcode}): the RRset at {owner} changed since it was read; nothing was changed, read it again and retry"
    )]
    Prerequisite {
        /// The primary.
        server: SocketAddr,
        /// The owner.
        owner: String,
        /// NXRRSET, YXRRSET, NXDOMAIN or YXDOMAIN.
        rcode: String,
    },
    /// The primary refused the update (policy: no update ACL for this key or zone).
    #[error("{server} refused the update of {zone} (REFUSED: its update policy does not allow it)")]
    Refused {
        /// The primary.
        server: SocketAddr,
        /// The zone.
        zone: String,
    },
    /// The owner is not in the zone named (NOTZONE), or the server is not its primary.
    #[error("{server}: {owner} is not in zone {zone} (NOTZONE); give --zone")]
    NotZone {
        /// The primary.
        server: SocketAddr,
        /// The owner.
        owner: String,
        /// The zone.
        zone: String,
    },
    /// Another error rcode.
    #[error("{server} answered the update with {rcode}")]
    Rcode {
        /// The primary.
        server: SocketAddr,
        /// The rcode.
        rcode: String,
    },
    /// An answer that cannot be trusted: its TSIG does not verify, or a NOERROR answer is
    /// not signed (RFC 8945 5.3); for an update, it may or may not have been applied.
    #[error("{server}: unauthenticated: {detail}")]
    Unauthenticated {
        /// The primary.
        server: SocketAddr,
        /// Why.
        detail: String,
    },
    /// An error answer without a TSIG (or with one without a MAC, as BADKEY and BADSIG
    /// answers are, RFC 8945 5.3.2): what it says may be true or forged. It is reported,
    /// and never acted on as the primary's word.
    #[error("unauthenticated: the primary said: {said}")]
    Unsigned {
        /// The primary.
        server: SocketAddr,
        /// What the unsigned answer said.
        said: Box<UpdateError>,
    },
    /// The owner is an alias at the primary: TLSA data added there would be ignored (RFC
    /// 2136 3.4.2.2: an update adding a non-CNAME record at a CNAME owner is ignored), so
    /// nothing is sent.
    #[error(
        "{server}: {owner} is an alias (CNAME to {target}): an update adding TLSA records there is ignored (RFC 2136 3.4.2.2), so none was sent; publish the records at {target}"
    )]
    Alias {
        /// The primary.
        server: SocketAddr,
        /// The owner asked.
        owner: String,
        /// The CNAME's target.
        target: String,
    },
    /// No answer, or a malformed one.
    #[error("{server}: {detail}")]
    Exchange {
        /// The primary.
        server: SocketAddr,
        /// What happened.
        detail: String,
    },
    /// The change cannot be expressed (bad record data, a message that does not encode).
    #[error("building the update: {0}")]
    Build(String),
}

/// One change of one TLSA RRset: what it must be now, and what to delete and add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrsetChange {
    /// The zone (the update's zone section).
    pub zone: Name,
    /// The owner of the RRset.
    pub owner: Name,
    /// The TTL of added records.
    pub ttl: u32,
    /// The RDATA of every record of the RRset as read (the prerequisite); empty: the
    /// RRset must not exist.
    pub expected: Vec<Vec<u8>>,
    /// RDATA of records to delete.
    pub delete: Vec<Vec<u8>>,
    /// RDATA of records to add.
    pub add: Vec<Vec<u8>>,
}

fn tlsa_rdata(rdata: &[u8]) -> Result<RData, UpdateError> {
    if rdata.len() < 4 {
        return Err(UpdateError::Build(format!(
            "TLSA RDATA of {} octets is too short",
            rdata.len()
        )));
    }
    Ok(RData::TLSA(TLSA::new(
        rdata[0].into(),
        rdata[1].into(),
        rdata[2].into(),
        rdata[3..].to_vec(),
    )))
}

/// The UPDATE message for `change` (unsigned; [`UpdateExchange::sign`] signs it).
pub fn update_message(change: &RrsetChange) -> Result<Message, UpdateError> {
    if !change.zone.zone_of(&change.owner) {
        return Err(UpdateError::Build(format!(
            "{} is not in zone {}",
            change.owner, change.zone
        )));
    }
    let mut m = Message::query();
    m.metadata.op_code = OpCode::Update;
    m.metadata.recursion_desired = false;
    // RFC 2136 2.3: the zone section names the zone, type SOA, class IN.
    let mut zone = Query::query(change.zone.clone(), RecordType::SOA);
    zone.set_query_class(DNSClass::IN);
    m.add_zone(zone);
    if change.expected.is_empty() {
        // RFC 2136 2.4.3: RRset does not exist: class NONE, TTL 0, no RDATA.
        let mut r = Record::update0(change.owner.clone(), 0, RecordType::TLSA);
        r.dns_class = DNSClass::NONE;
        m.add_pre_requisite(r);
    } else {
        // RFC 2136 2.4.2: RRset exists (value dependent): the whole RRset, class IN, TTL 0.
        for rd in &change.expected {
            m.add_pre_requisite(Record::from_rdata(change.owner.clone(), 0, tlsa_rdata(rd)?));
        }
    }
    // RFC 2136 2.5.4: delete an RR from an RRset: class NONE, TTL 0.
    for rd in &change.delete {
        let mut r = Record::from_rdata(change.owner.clone(), 0, tlsa_rdata(rd)?);
        r.dns_class = DNSClass::NONE;
        m.add_update(r);
    }
    // RFC 2136 2.5.1: add to an RRset: class IN.
    for rd in &change.add {
        m.add_update(Record::from_rdata(
            change.owner.clone(),
            change.ttl,
            tlsa_rdata(rd)?,
        ));
    }
    Ok(m)
}

/// The wall clock in seconds since the epoch, read each time it is called: the TSIG time
/// (RFC 8945 5.2.3: the primary refuses a time more than the fudge away from its own
/// clock, BADTIME). Not the run's `--at`, and not a time read at the start of a run that
/// may probe for minutes before it sends: each message is signed with the clock read just
/// before. Tests pass a clock of their own.
pub type Clock<'a> = &'a (dyn Fn() -> u64 + Send + Sync);

/// A signed message on its way: the wire form and what verifies the answer.
pub struct UpdateExchange {
    /// The message ID.
    pub id: u16,
    /// The signed message.
    pub wire: Vec<u8>,
    key: String,
    verifier: Option<TSigVerifier>,
}

impl std::fmt::Debug for UpdateExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateExchange")
            .field("id", &self.id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// An answer to a signed message: the message, and whether its TSIG verified.
#[derive(Debug, Clone)]
pub struct SignedAnswer {
    /// The answer.
    pub message: Message,
    /// Its TSIG verified with the key (RFC 8945 5.3). `false`: it has none, or one without
    /// a MAC (a BADKEY or BADSIG answer is unsigned, RFC 8945 5.3.2); what it says is then
    /// unauthenticated.
    pub authenticated: bool,
}

fn rcode_name(r: ResponseCode) -> String {
    match r {
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("{other} (rcode {})", u16::from(other)),
    }
}

impl UpdateExchange {
    /// Signs `message` (an update from [`update_message`], or a query) with `key` at
    /// `time` (seconds since the epoch, the wall clock).
    pub fn sign(mut message: Message, key: &TsigKey, time: u64) -> Result<Self, UpdateError> {
        let signer = key.signer()?;
        let verifier = message
            .finalize(&signer, time)
            .map_err(|e| UpdateError::Build(format!("signing: {e}")))?;
        let wire = message
            .to_vec()
            .map_err(|e| UpdateError::Build(format!("encoding: {e}")))?;
        Ok(UpdateExchange {
            id: message.metadata.id,
            wire,
            key: key.name.to_string(),
            verifier,
        })
    }

    /// Checks that `wire` answers this message (ID, QR) and verifies its TSIG: a TSIG with
    /// a MAC that does not verify is an error (nothing in the answer can be trusted); no
    /// TSIG, or one without a MAC, gives an answer that is not authenticated.
    pub fn open(&mut self, server: SocketAddr, wire: &[u8]) -> Result<SignedAnswer, UpdateError> {
        let message = Message::from_vec(wire).map_err(|e| UpdateError::Exchange {
            server,
            detail: format!("malformed answer: {e}"),
        })?;
        if message.metadata.id != self.id || message.metadata.message_type != MessageType::Response
        {
            return Err(UpdateError::Exchange {
                server,
                detail: "the answer's ID or QR bit does not match the message".into(),
            });
        }
        let signed = message.signature().is_some_and(|s| !s.data.mac.is_empty());
        if !signed {
            return Ok(SignedAnswer {
                message,
                authenticated: false,
            });
        }
        let Some(verifier) = self.verifier.as_mut() else {
            return Err(UpdateError::Unauthenticated {
                server,
                detail: "no verifier for the answer's TSIG".into(),
            });
        };
        verifier
            .verify(wire)
            .map_err(|e| UpdateError::Unauthenticated {
                server,
                detail: format!("the answer's TSIG does not verify ({e})"),
            })?;
        Ok(SignedAnswer {
            message,
            authenticated: true,
        })
    }

    /// Judges the primary's answer `wire` to an update of `owner` in `zone` (RFC 2136 3.8,
    /// RFC 8945 5.3): an error it states is trusted only when the answer is signed
    /// ([`UpdateError::Unsigned`] otherwise); a NOERROR counts only when signed.
    pub fn finish(
        mut self,
        server: SocketAddr,
        wire: &[u8],
        zone: &Name,
        owner: &Name,
    ) -> Result<(), UpdateError> {
        let answer = self.open(server, wire)?;
        let error = tsig_error(&answer.message, server, &self.key)
            .or_else(|| update_rcode_error(&answer.message, server, zone, owner));
        match (error, answer.authenticated) {
            (Some(e), true) => Err(e),
            (Some(e), false) => Err(UpdateError::Unsigned {
                server,
                said: Box::new(e),
            }),
            (None, true) => Ok(()),
            // RFC 8945 5.3: the answer to a signed request is signed; an unsigned NOERROR
            // proves nothing.
            (None, false) => Err(UpdateError::Unauthenticated {
                server,
                detail: "the answer to the update is not signed: the update may have been applied; read the RRset to see".into(),
            }),
        }
    }
}

/// The TSIG error an answer carries, or NOTAUTH (the key or signature refused).
fn tsig_error(m: &Message, server: SocketAddr, key: &str) -> Option<UpdateError> {
    let detail = match m.signature().and_then(|s| s.data.error) {
        Some(TsigError::BadKey) => "BADKEY (the primary does not know this key)".to_owned(),
        Some(TsigError::BadSig) => "BADSIG (wrong secret or algorithm)".to_owned(),
        Some(TsigError::BadTime) => "BADTIME (the clocks differ by more than the fudge)".into(),
        Some(TsigError::BadTrunc) => "BADTRUNC".to_owned(),
        Some(TsigError::Unknown(c)) => format!("TSIG error {c}"),
        None if m.metadata.response_code == ResponseCode::NotAuth => "NOTAUTH".to_owned(),
        None => return None,
    };
    Some(UpdateError::TsigRefused {
        server,
        key: key.to_owned(),
        detail,
    })
}

/// The error an update's rcode states (RFC 2136 3.8), if any.
fn update_rcode_error(
    m: &Message,
    server: SocketAddr,
    zone: &Name,
    owner: &Name,
) -> Option<UpdateError> {
    let rcode = m.metadata.response_code;
    Some(match rcode {
        ResponseCode::NoError => return None,
        ResponseCode::NXRRSet
        | ResponseCode::YXRRSet
        | ResponseCode::NXDomain
        | ResponseCode::YXDomain => UpdateError::Prerequisite {
            server,
            owner: owner.to_string(),
            rcode: rcode_name(rcode),
        },
        ResponseCode::Refused => UpdateError::Refused {
            server,
            zone: zone.to_string(),
        },
        ResponseCode::NotZone => UpdateError::NotZone {
            server,
            owner: owner.to_string(),
            zone: zone.to_string(),
        },
        other => UpdateError::Rcode {
            server,
            rcode: rcode_name(other),
        },
    })
}

/// Signs `message` with `key` at the time `clock` gives now, sends it to `server` over TCP
/// (RFC 7766) within `timeout`, and opens the answer.
async fn signed_exchange(
    server: SocketAddr,
    message: Message,
    key: &TsigKey,
    clock: Clock<'_>,
    timeout: Duration,
) -> Result<(UpdateExchange, Vec<u8>), UpdateError> {
    // The clock is read here, just before signing: never earlier in the run.
    let exchange = UpdateExchange::sign(message, key, clock())?;
    let wire = match tokio::time::timeout(
        timeout,
        transport::tcp_exchange(server, exchange.id, &exchange.wire),
    )
    .await
    {
        Ok(Ok(w)) => w,
        Ok(Err(detail)) => {
            return Err(UpdateError::Exchange {
                server,
                detail: format!("over TCP: {detail}"),
            });
        }
        Err(_) => {
            return Err(UpdateError::Exchange {
                server,
                detail: format!("no answer over TCP within {timeout:?}"),
            });
        }
    };
    Ok((exchange, wire))
}

/// Sends `change` to the primary `server` signed with `key` at the time `clock` gives just
/// before signing, over TCP within `timeout`, and judges the answer.
pub async fn send_update(
    server: SocketAddr,
    change: &RrsetChange,
    key: &TsigKey,
    clock: Clock<'_>,
    timeout: Duration,
) -> Result<(), UpdateError> {
    let message = update_message(change)?;
    let (exchange, wire) = signed_exchange(server, message, key, clock, timeout).await?;
    exchange.finish(server, &wire, &change.zone, &change.owner)
}

/// An RRset as the primary serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRrset {
    /// The zone the primary names (the SOA owner of its answer to `owner SOA`).
    pub zone: Name,
    /// The RDATA of each TLSA record at the owner, in the order served.
    pub records: Vec<Vec<u8>>,
    /// The RRset's TTL, when it exists.
    pub ttl: Option<u32>,
}

/// Asks the primary `owner`/`rtype` (RD clear) over TCP, signed with `key`: the answer,
/// which must be signed and verify, authoritative, NOERROR or NXDOMAIN, and repeat the
/// question (RFC 5452 9.1).
async fn signed_query(
    server: SocketAddr,
    owner: &Name,
    rtype: RecordType,
    key: &TsigKey,
    clock: Clock<'_>,
    timeout: Duration,
) -> Result<Message, UpdateError> {
    let mut q = Message::query();
    q.metadata.recursion_desired = false;
    q.add_query(Query::query(owner.clone(), rtype));
    let (mut exchange, wire) = signed_exchange(server, q, key, clock, timeout).await?;
    let answer = exchange.open(server, &wire)?;
    let m = answer.message;
    let rcode = m.metadata.response_code;
    let error = tsig_error(&m, server, &exchange.key).or_else(|| {
        (!matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain)).then(|| {
            UpdateError::Exchange {
                server,
                detail: format!("{owner} {rtype}: {}", rcode_name(rcode)),
            }
        })
    });
    match (error, answer.authenticated) {
        (Some(e), true) => return Err(e),
        (Some(e), false) => {
            return Err(UpdateError::Unsigned {
                server,
                said: Box::new(e),
            });
        }
        (None, false) => {
            return Err(UpdateError::Unauthenticated {
                server,
                detail: format!("its answer to {owner} {rtype} is not signed"),
            });
        }
        (None, true) => {}
    }
    let same_question = m.queries.first().is_some_and(|q| {
        q.query_type() == rtype
            && q.query_class() == DNSClass::IN
            && q.name().to_lowercase() == owner.to_lowercase()
    });
    if !same_question {
        return Err(UpdateError::Exchange {
            server,
            detail: format!("its answer to {owner} {rtype} is for another question"),
        });
    }
    if !m.metadata.authoritative {
        return Err(UpdateError::Exchange {
            server,
            detail: format!("its answer for {owner} is not authoritative: is it the primary?"),
        });
    }
    Ok(m)
}

/// Reads the TLSA RRset at `owner` from the primary `server` over TCP with TSIG (`key`,
/// signed at the time `clock` gives), and the zone it belongs to (`zone`, or the SOA the
/// server names). A CNAME at `owner` is [`UpdateError::Alias`]: an update there would be
/// ignored.
pub async fn read_rrset(
    server: SocketAddr,
    owner: &Name,
    zone: Option<&Name>,
    key: &TsigKey,
    clock: Clock<'_>,
    timeout: Duration,
) -> Result<ReadRrset, UpdateError> {
    let m = signed_query(server, owner, RecordType::TLSA, key, clock, timeout).await?;
    let mut records = Vec::new();
    let mut ttl = None;
    for r in &m.answers {
        if r.name.to_lowercase() != owner.to_lowercase() {
            continue;
        }
        if let RData::CNAME(target) = &r.data {
            return Err(UpdateError::Alias {
                server,
                owner: owner.to_string(),
                target: target.0.to_string(),
            });
        }
        if let RData::TLSA(t) = &r.data {
            let mut rd = vec![
                u8::from(t.cert_usage),
                u8::from(t.selector),
                u8::from(t.matching),
            ];
            rd.extend_from_slice(&t.cert_data);
            if !records.contains(&rd) {
                records.push(rd);
            }
            ttl = Some(ttl.map_or(r.ttl, |t: u32| t.min(r.ttl)));
        }
    }
    let zone = match zone {
        Some(z) => z.clone(),
        None => {
            let m = signed_query(server, owner, RecordType::SOA, key, clock, timeout).await?;
            m.answers
                .iter()
                .chain(&m.authorities)
                .find(|r| r.record_type() == RecordType::SOA && r.name.zone_of(owner))
                .map(|r| r.name.to_lowercase())
                .ok_or_else(|| UpdateError::Exchange {
                    server,
                    detail: format!("its answer to {owner} SOA names no zone; give --zone"),
                })?
        }
    };
    Ok(ReadRrset { zone, records, ttl })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(expected: Vec<Vec<u8>>) -> RrsetChange {
        RrsetChange {
            zone: Name::from_ascii("example.test.").unwrap(),
            owner: Name::from_ascii("_25._tcp.mx.example.test.").unwrap(),
            ttl: 300,
            expected,
            delete: vec![vec![3, 1, 1, 0xaa]],
            add: vec![vec![3, 1, 1, 0xbb]],
        }
    }

    #[test]
    fn message_has_zone_prerequisites_and_updates() {
        let m = update_message(&change(vec![vec![3, 1, 1, 0xaa], vec![3, 1, 1, 0xcc]])).unwrap();
        assert_eq!(m.metadata.op_code, OpCode::Update);
        assert_eq!(m.zones()[0].name().to_string(), "example.test.");
        assert_eq!(m.zones()[0].query_type(), RecordType::SOA);
        // Value-dependent prerequisite: the whole RRset, class IN, TTL 0.
        assert_eq!(m.prerequisites().len(), 2);
        assert!(
            m.prerequisites()
                .iter()
                .all(|r| r.dns_class == DNSClass::IN && r.ttl == 0)
        );
        let u = m.updates();
        assert_eq!((u[0].dns_class, u[0].ttl), (DNSClass::NONE, 0));
        assert_eq!((u[1].dns_class, u[1].ttl), (DNSClass::IN, 300));
        // Nothing read: the RRset must not exist.
        let m = update_message(&change(Vec::new())).unwrap();
        let p = &m.prerequisites()[0];
        assert_eq!(p.dns_class, DNSClass::NONE);
        assert!(matches!(p.data, RData::Update0(RecordType::TLSA)));
        // An owner outside the zone is refused before anything is sent.
        let mut c = change(Vec::new());
        c.zone = Name::from_ascii("other.test.").unwrap();
        assert!(update_message(&c).is_err());
    }

    // An in-process primary on loopback: TCP, TSIG (hickory's own signer and verifier) with
    // a clock of its own and the fudge checked as RFC 8945 5.2.3 says, RFC 2136
    // prerequisites over one in-memory TLSA RRset, and signed reads of it.
    mod primary {
        use super::*;
        use hickory_proto::rr::TSigResponseContext;
        use hickory_proto::rr::rdata::tsig::TsigError;
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::{Arc, Mutex};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        /// How the primary signs its answers.
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub enum Signing {
            /// With the key, as a real primary does.
            Key,
            /// With another secret under the key's name (a forger's answer).
            Forged,
            /// Not at all (an attacker's unsigned answer).
            Unsigned,
        }

        pub struct Primary {
            pub address: SocketAddr,
            pub rrset: Arc<Mutex<Vec<Vec<u8>>>>,
            /// Its clock (seconds since the epoch).
            pub clock: Arc<AtomicU64>,
        }

        fn rdata_of(r: &Record) -> Option<Vec<u8>> {
            match &r.data {
                RData::TLSA(t) => {
                    let mut v = vec![
                        u8::from(t.cert_usage),
                        u8::from(t.selector),
                        u8::from(t.matching),
                    ];
                    v.extend_from_slice(&t.cert_data);
                    Some(v)
                }
                _ => None,
            }
        }

        fn same(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
            let (mut a, mut b) = (a.to_vec(), b.to_vec());
            a.sort();
            b.sort();
            a == b
        }

        /// RFC 2136 3.2 and 3.4 over the one RRset: the rcode.
        fn apply(m: &Message, set: &mut Vec<Vec<u8>>) -> ResponseCode {
            let mut expected: Vec<Vec<u8>> = Vec::new();
            let mut must_not_exist = false;
            for p in m.prerequisites() {
                match (&p.data, p.dns_class) {
                    (RData::Update0(_), DNSClass::NONE) => must_not_exist = true,
                    _ => expected.extend(rdata_of(p)),
                }
            }
            if must_not_exist && !set.is_empty() {
                return ResponseCode::YXRRSet;
            }
            if !must_not_exist && !same(&expected, set) {
                return ResponseCode::NXRRSet;
            }
            for u in m.updates() {
                let Some(rd) = rdata_of(u) else { continue };
                if u.dns_class == DNSClass::NONE {
                    set.retain(|r| r != &rd);
                } else if !set.contains(&rd) {
                    set.push(rd);
                }
            }
            ResponseCode::NoError
        }

        /// The answer to one message as a primary with key `known` whose clock reads
        /// `clock` would give it.
        fn answer(
            wire: &[u8],
            known: &TsigKey,
            signing: Signing,
            rrset: &Mutex<Vec<Vec<u8>>>,
            clock: u64,
        ) -> Vec<u8> {
            let m = Message::from_vec(wire).unwrap();
            let mut resp = Message::response(m.metadata.id, m.metadata.op_code);
            let tsig = m.signature().unwrap();
            let time = tsig.data.time;
            let finish = |mut resp: Message, ctx: TSigResponseContext| {
                if signing != Signing::Unsigned {
                    let sig = ctx.sign(&resp.to_vec().unwrap()).unwrap();
                    resp.set_signature(sig);
                }
                resp.to_vec().unwrap()
            };
            if m.metadata.op_code == OpCode::Update {
                resp.add_zone(m.queries[0].clone());
            } else {
                resp.add_query(m.queries[0].clone());
            }
            // RFC 8945 5.2.1, 5.2.2: unknown key, bad MAC: NOTAUTH, answered unsigned.
            if tsig.name != known.name {
                resp.metadata.response_code = ResponseCode::NotAuth;
                let ctx = TSigResponseContext::unknown_key(m.metadata.id, time, tsig.name.clone());
                return finish(resp, ctx);
            }
            let signer = known.signer().unwrap();
            let Ok((mac, _, range)) = signer.verify_message_byte(wire, None, true) else {
                resp.metadata.response_code = ResponseCode::NotAuth;
                let ctx = TSigResponseContext::bad_signature(m.metadata.id, time, signer);
                return finish(resp, ctx);
            };
            let signer = match signing {
                Signing::Forged => key("rollover-key", b"a forger's secret, not the real1")
                    .signer()
                    .unwrap(),
                _ => signer,
            };
            // RFC 8945 5.2.3: a time outside our clock plus or minus the fudge: BADTIME,
            // signed.
            if !range.contains(&clock) {
                resp.metadata.response_code = ResponseCode::NotAuth;
                let ctx = TSigResponseContext::new(
                    m.metadata.id,
                    time,
                    signer,
                    mac,
                    Some(TsigError::BadTime),
                );
                return finish(resp, ctx);
            }
            let mut set = rrset.lock().unwrap();
            if m.metadata.op_code == OpCode::Update {
                resp.metadata.response_code = apply(&m, &mut set);
            } else {
                resp.metadata.authoritative = true;
                let owner = m.queries[0].name().clone();
                if m.queries[0].query_type() == RecordType::TLSA {
                    for rd in set.iter() {
                        resp.add_answer(Record::from_rdata(
                            owner.clone(),
                            300,
                            tlsa_rdata(rd).unwrap(),
                        ));
                    }
                }
            }
            let ctx = TSigResponseContext::new(m.metadata.id, time, signer, mac, None);
            finish(resp, ctx)
        }

        pub async fn start(known: TsigKey, signing: Signing, initial: Vec<Vec<u8>>) -> Primary {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let rrset = Arc::new(Mutex::new(initial));
            let clock = Arc::new(AtomicU64::new(super::now()));
            let (shared, its_clock) = (rrset.clone(), clock.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((mut s, _)) = listener.accept().await else {
                        return;
                    };
                    let mut lb = [0u8; 2];
                    if s.read_exact(&mut lb).await.is_err() {
                        continue;
                    }
                    let mut wire = vec![0u8; usize::from(u16::from_be_bytes(lb))];
                    if s.read_exact(&mut wire).await.is_err() {
                        continue;
                    }
                    let now = its_clock.load(Ordering::SeqCst);
                    let out = answer(&wire, &known, signing, &shared, now);
                    let mut framed = u16::try_from(out.len()).unwrap().to_be_bytes().to_vec();
                    framed.extend(out);
                    let _ = s.write_all(&framed).await;
                }
            });
            Primary {
                address,
                rrset,
                clock,
            }
        }
    }

    use primary::Signing;
    use std::sync::atomic::Ordering;

    fn key(name: &str, secret: &[u8]) -> TsigKey {
        TsigKey::new(name, "hmac-sha256", secret.to_vec()).unwrap()
    }

    fn now() -> u64 {
        #[allow(clippy::disallowed_methods)]
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// The primary's clock, as the client's wall clock (the two agree).
    fn clock_of(p: &primary::Primary) -> impl Fn() -> u64 + Send + Sync {
        let c = p.clock.clone();
        move || c.load(Ordering::SeqCst)
    }

    const CUR: [u8; 5] = [3, 1, 1, 0xaa, 0x01];
    const NEXT: [u8; 5] = [3, 1, 1, 0xbb, 0x02];
    const T: Duration = Duration::from_secs(5);
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn stage_change(expected: Vec<Vec<u8>>) -> RrsetChange {
        RrsetChange {
            zone: Name::from_ascii("example.test.").unwrap(),
            owner: Name::from_ascii("_25._tcp.mx.example.test.").unwrap(),
            ttl: 300,
            expected,
            delete: Vec::new(),
            add: vec![NEXT.to_vec()],
        }
    }

    fn owner() -> Name {
        Name::from_ascii("_25._tcp.mx.example.test.").unwrap()
    }

    fn zone() -> Name {
        Name::from_ascii("example.test.").unwrap()
    }

    #[tokio::test]
    async fn update_applies_then_a_stale_read_fails_its_prerequisite() {
        let k = key("rollover-key", SECRET);
        let p = primary::start(k.clone(), Signing::Key, vec![CUR.to_vec()]).await;
        let clock = clock_of(&p);
        let read = read_rrset(p.address, &owner(), Some(&zone()), &k, &clock, T)
            .await
            .unwrap();
        assert_eq!(
            (read.records.clone(), read.ttl),
            (vec![CUR.to_vec()], Some(300))
        );
        send_update(p.address, &stage_change(read.records), &k, &clock, T)
            .await
            .unwrap();
        assert_eq!(*p.rrset.lock().unwrap(), vec![CUR.to_vec(), NEXT.to_vec()]);
        // The same change again, from the read before the first update: the RRset changed
        // in between (a racing writer), so the prerequisite fails and nothing is applied.
        let mut racing = stage_change(vec![CUR.to_vec()]);
        racing.add = vec![vec![3, 1, 1, 0xcc]];
        let e = send_update(p.address, &racing, &k, &clock, T)
            .await
            .unwrap_err();
        assert!(
            matches!(e, UpdateError::Prerequisite { ref rcode, .. } if rcode == "NXRRSET"),
            "{e}"
        );
        assert!(e.to_string().contains("changed since it was read"), "{e}");
        assert_eq!(p.rrset.lock().unwrap().len(), 2);
        // "Must not exist" while it exists: YXRRSET.
        let e = send_update(p.address, &stage_change(Vec::new()), &k, &clock, T)
            .await
            .unwrap_err();
        assert!(
            matches!(e, UpdateError::Prerequisite { ref rcode, .. } if rcode == "YXRRSET"),
            "{e}"
        );
    }

    /// A run that probes for minutes before it sends: the clock read at its start is past
    /// the fudge by then (the primary says BADTIME), the clock read just before signing is
    /// not.
    #[tokio::test]
    async fn an_update_delayed_past_the_fudge_is_signed_with_the_time_of_sending() {
        let k = key("rollover-key", SECRET);
        let p = primary::start(k.clone(), Signing::Key, vec![CUR.to_vec()]).await;
        let clock = clock_of(&p);
        let started = p.clock.load(Ordering::SeqCst);
        let read = read_rrset(p.address, &owner(), Some(&zone()), &k, &clock, T)
            .await
            .unwrap();
        // Probing takes 11 minutes.
        p.clock.fetch_add(660, Ordering::SeqCst);
        let at_start = move || started;
        let e = send_update(
            p.address,
            &stage_change(read.records.clone()),
            &k,
            &at_start,
            T,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(e, UpdateError::TsigRefused { ref detail, .. } if detail.starts_with("BADTIME")),
            "the primary checks the time: {e}"
        );
        send_update(p.address, &stage_change(read.records), &k, &clock, T)
            .await
            .unwrap();
        assert_eq!(p.rrset.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn tsig_refused_bad_secret_and_unknown_key_are_unauthenticated() {
        let k = key("rollover-key", SECRET);
        let p = primary::start(k.clone(), Signing::Key, vec![CUR.to_vec()]).await;
        let clock = clock_of(&p);
        let wrong_secret = key("rollover-key", b"not the secret at all, not at all");
        let unknown = key("other-key", SECRET);
        for (k, want) in [(&wrong_secret, "BADSIG"), (&unknown, "BADKEY")] {
            // RFC 8945 5.3.2: these answers are unsigned: reported, as unauthenticated.
            let e = send_update(p.address, &stage_change(vec![CUR.to_vec()]), k, &clock, T)
                .await
                .unwrap_err();
            let UpdateError::Unsigned { ref said, .. } = e else {
                panic!("{e}");
            };
            assert!(
                matches!(**said, UpdateError::TsigRefused { ref detail, .. } if detail.starts_with(want)),
                "{e}"
            );
            assert!(
                e.to_string()
                    .starts_with("unauthenticated: the primary said: "),
                "{e}"
            );
            let e = read_rrset(p.address, &owner(), Some(&zone()), k, &clock, T)
                .await
                .unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
            assert!(matches!(e, UpdateError::Unsigned { .. }), "{e}");
        }
        assert_eq!(
            *p.rrset.lock().unwrap(),
            vec![CUR.to_vec()],
            "nothing applied"
        );
    }

    #[tokio::test]
    async fn answers_signed_with_another_key_or_unsigned_are_not_trusted() {
        let k = key("rollover-key", SECRET);
        for signing in [Signing::Forged, Signing::Unsigned] {
            let p = primary::start(k.clone(), signing, vec![CUR.to_vec()]).await;
            let clock = clock_of(&p);
            let e = send_update(p.address, &stage_change(vec![CUR.to_vec()]), &k, &clock, T)
                .await
                .unwrap_err();
            assert!(matches!(e, UpdateError::Unauthenticated { .. }), "{e}");
            // The reads are signed and opened as the update is.
            let e = read_rrset(p.address, &owner(), Some(&zone()), &k, &clock, T)
                .await
                .unwrap_err();
            assert!(matches!(e, UpdateError::Unauthenticated { .. }), "{e}");
            assert!(e.to_string().contains("unauthenticated"), "{e}");
        }
        // An unsigned error answer is reported, never taken as the primary's word.
        let p = primary::start(k.clone(), Signing::Unsigned, vec![CUR.to_vec()]).await;
        let clock = clock_of(&p);
        let e = send_update(p.address, &stage_change(Vec::new()), &k, &clock, T)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unauthenticated: the primary said: 127.0.0.1"),
            "{e}"
        );
        assert!(e.to_string().contains("YXRRSET"), "{e}");
    }

    #[tokio::test]
    async fn no_primary_is_an_exchange_error() {
        let k = key("rollover-key", SECRET);
        // A port nothing listens on (bound, then closed).
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let e = send_update(
            addr,
            &stage_change(Vec::new()),
            &k,
            &now,
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, UpdateError::Exchange { .. }), "{e}");
    }
}
