//! RFC 2136 dynamic updates of one RRset, authenticated with TSIG (RFC 8945), for
//! `dane rollover --update`.
//!
//! The change is made safe against lost writes with a prerequisite (RFC 2136 2.4): the RRset
//! must be exactly as it was read ("RRset exists, value dependent", 2.4.2), or must not
//! exist when none was read ("RRset does not exist", 2.4.3). A primary whose RRset changed in
//! between answers NXRRSET (and applies nothing, 3.2.5), which is
//! [`UpdateError::Prerequisite`]. The message is signed with the key of a BIND
//! `tsig-keygen` file or Knot's `keymgr -t` output ([`TsigKey::parse`]); a primary that
//! refuses the key or signature (NOTAUTH with TSIG error BADKEY/BADSIG/BADTIME, RFC 8945
//! 5.2) is [`UpdateError::TsigRefused`]; its NOERROR answer counts only when its own TSIG
//! verifies.
//!
//! Messages are built by [`update_message`] and judged by [`UpdateExchange::finish`], both
//! without I/O; [`send_update`] and [`read_rrset`] talk to the primary over TCP (RFC 7766)
//! with a deadline. The TSIG time is the caller's `time` (the primary checks it against its
//! own clock within the fudge, 300 s), so it must be the wall clock, not a simulated one.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage as _};
use hickory_proto::rr::TSigVerifier;
use hickory_proto::rr::rdata::TLSA;
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm, TsigError};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigner};

use crate::transport;

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
    /// A NOERROR answer whose TSIG is missing or does not verify: the update may or may not
    /// have been applied.
    #[error(
        "{server}: the answer's TSIG does not verify ({detail}): the update may have been applied; read the RRset to see"
    )]
    Unauthenticated {
        /// The primary.
        server: SocketAddr,
        /// Why.
        detail: String,
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

/// A TSIG key: its name, algorithm and secret.
#[derive(Clone)]
pub struct TsigKey {
    /// The key's name (as the primary knows it).
    pub name: Name,
    /// The MAC algorithm (hmac-sha256, hmac-sha384 or hmac-sha512).
    pub algorithm: TsigAlgorithm,
    secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs and error messages.
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn unquote(s: &str) -> &str {
    s.trim()
        .trim_end_matches(';')
        .trim()
        .trim_matches('"')
        .trim()
}

impl TsigKey {
    /// A key from its parts (`secret` decoded).
    pub fn new(name: &str, algorithm: &str, secret: Vec<u8>) -> Result<TsigKey, UpdateError> {
        let name = Name::from_ascii(name.trim_end_matches('.'))
            .map_err(|e| UpdateError::BadKey(format!("key name {name:?}: {e}")))?;
        let algo_name = Name::from_ascii(algorithm.to_ascii_lowercase())
            .map_err(|e| UpdateError::BadKey(format!("algorithm {algorithm:?}: {e}")))?;
        let algorithm_parsed = TsigAlgorithm::from_name(algo_name);
        if !algorithm_parsed.supported() {
            return Err(UpdateError::BadKey(format!(
                "algorithm {algorithm:?} is not supported (use hmac-sha256, hmac-sha384 or hmac-sha512)"
            )));
        }
        if secret.is_empty() {
            return Err(UpdateError::BadKey("the secret is empty".into()));
        }
        let mut name = name.to_lowercase();
        name.set_fqdn(true);
        Ok(TsigKey {
            name,
            algorithm: algorithm_parsed,
            secret,
        })
    }

    /// Parses a key file: BIND's `key "NAME" { algorithm ALG; secret "BASE64"; };` (what
    /// `tsig-keygen` and `ddns-confgen` write), Knot's `key:` YAML section (`- id: NAME`,
    /// `algorithm: ALG`, `secret: BASE64`, what `keymgr -t NAME` prints), or the one-line
    /// `ALG:NAME:BASE64` form (`knsupdate -y`, `keymgr -t`'s comment line). The first key
    /// in the file is used.
    pub fn parse(text: &str) -> Result<TsigKey, UpdateError> {
        // `ALG:NAME:SECRET`, alone or as keymgr -t's comment line.
        for raw in text.lines() {
            let body = raw.trim().trim_start_matches('#').trim();
            let parts: Vec<&str> = body.split(':').collect();
            if parts.len() == 3
                && parts[0].starts_with("hmac-")
                && !parts[1].is_empty()
                && !parts[2].trim().is_empty()
            {
                return TsigKey::new(parts[1], parts[0], decode_secret(parts[2].trim())?);
            }
        }
        let (name, algorithm, secret) = if text.lines().any(|l| l.trim_end() == "key:") {
            parse_knot(text)
        } else {
            parse_bind(text)
        };
        match (name, algorithm, secret) {
            (Some(n), Some(a), Some(s)) => TsigKey::new(&n, &a, decode_secret(&s)?),
            (None, _, _) => Err(UpdateError::BadKey(
                "no key found (expected BIND `key \"NAME\" { algorithm ...; secret \"...\"; };` or Knot `key: - id: NAME`)".into(),
            )),
            (Some(n), None, _) => Err(UpdateError::BadKey(format!("key {n:?} has no algorithm"))),
            (Some(n), _, None) => Err(UpdateError::BadKey(format!("key {n:?} has no secret"))),
        }
    }

    /// The hickory signer for this key.
    pub fn signer(&self) -> Result<TSigner, UpdateError> {
        TSigner::new(
            self.secret.clone(),
            self.algorithm.clone(),
            self.name.clone(),
            FUDGE,
        )
        .map_err(|e| UpdateError::BadKey(e.to_string()))
    }
}

type Parts = (Option<String>, Option<String>, Option<String>);

/// Knot's YAML `key:` section: the first `- id:` item with its `algorithm:` and `secret:`.
fn parse_knot(text: &str) -> Parts {
    let (mut name, mut algorithm, mut secret) = (None, None, None);
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        let line = line.trim_start_matches("- ").trim();
        let value = |rest: &str| unquote(rest).to_owned();
        if let Some(rest) = line.strip_prefix("id:") {
            if name.is_some() {
                break;
            }
            name = Some(value(rest));
        } else if let Some(rest) = line.strip_prefix("algorithm:") {
            algorithm.get_or_insert_with(|| value(rest));
        } else if let Some(rest) = line.strip_prefix("secret:") {
            secret.get_or_insert_with(|| value(rest));
        }
    }
    (name, algorithm, secret)
}

/// BIND's `key "NAME" { algorithm ALG; secret "BASE64"; };`, on one line or many, with
/// `//`, `#` and `/* */` comments: the first key statement.
fn parse_bind(text: &str) -> Parts {
    let mut tokens: Vec<String> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut t = String::new();
                for d in chars.by_ref() {
                    if d == '"' {
                        break;
                    }
                    t.push(d);
                }
                tokens.push(t);
            }
            '{' | '}' | ';' => tokens.push(c.to_string()),
            '#' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for d in chars.by_ref() {
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
            }
            c if c.is_whitespace() => {}
            c => {
                let mut t = c.to_string();
                while let Some(&d) = chars.peek() {
                    if d.is_whitespace() || "{};\"".contains(d) {
                        break;
                    }
                    t.push(d);
                    chars.next();
                }
                tokens.push(t);
            }
        }
    }
    let (mut name, mut algorithm, mut secret) = (None, None, None);
    let Some(at) = tokens.iter().position(|t| t == "key") else {
        return (None, None, None);
    };
    name = tokens.get(at + 1).cloned().or(name);
    let mut i = at + 2;
    while i < tokens.len() && tokens[i] != "}" {
        match tokens[i].as_str() {
            "algorithm" => algorithm = tokens.get(i + 1).cloned(),
            "secret" => secret = tokens.get(i + 1).cloned(),
            _ => {}
        }
        i += 1;
    }
    (name, algorithm, secret)
}

fn decode_secret(text: &str) -> Result<Vec<u8>, UpdateError> {
    data_encoding::BASE64
        .decode(text.trim().as_bytes())
        .map_err(|e| UpdateError::BadKey(format!("the secret is not base64: {e}")))
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

/// A signed update on its way: the wire form and what verifies the answer.
pub struct UpdateExchange {
    /// The message ID.
    pub id: u16,
    /// The signed message.
    pub wire: Vec<u8>,
    zone: Name,
    owner: Name,
    key: String,
    verifier: Option<TSigVerifier>,
}

impl std::fmt::Debug for UpdateExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateExchange")
            .field("id", &self.id)
            .field("zone", &self.zone)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
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
        other => format!("{other} (rcode {})", u16::from(other)),
    }
}

impl UpdateExchange {
    /// Signs `message` (from [`update_message`]) with `key` at `time` (seconds since the
    /// epoch, the wall clock).
    pub fn sign(
        mut message: Message,
        change: &RrsetChange,
        key: &TsigKey,
        time: u64,
    ) -> Result<UpdateExchange, UpdateError> {
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
            zone: change.zone.clone(),
            owner: change.owner.clone(),
            key: key.name.to_string(),
            verifier,
        })
    }

    /// Judges the primary's answer `wire` (RFC 2136 3.8, RFC 8945 5.3).
    pub fn finish(mut self, server: SocketAddr, wire: &[u8]) -> Result<(), UpdateError> {
        let m = Message::from_vec(wire).map_err(|e| UpdateError::Exchange {
            server,
            detail: format!("malformed answer: {e}"),
        })?;
        if m.metadata.id != self.id || m.metadata.message_type != MessageType::Response {
            return Err(UpdateError::Exchange {
                server,
                detail: "the answer's ID or QR bit does not match the update".into(),
            });
        }
        let tsig_error = m.signature().and_then(|s| s.data.error);
        let rcode = m.metadata.response_code;
        if let Some(e) = tsig_error {
            let detail = match e {
                TsigError::BadKey => "BADKEY (the primary does not know this key)".to_owned(),
                TsigError::BadSig => "BADSIG (wrong secret or algorithm)".to_owned(),
                TsigError::BadTime => {
                    "BADTIME (the clocks differ by more than the fudge)".to_owned()
                }
                TsigError::BadTrunc => "BADTRUNC".to_owned(),
                TsigError::Unknown(c) => format!("TSIG error {c}"),
            };
            return Err(UpdateError::TsigRefused {
                server,
                key: self.key,
                detail,
            });
        }
        match rcode {
            ResponseCode::NoError => {}
            ResponseCode::NotAuth => {
                return Err(UpdateError::TsigRefused {
                    server,
                    key: self.key,
                    detail: "NOTAUTH".into(),
                });
            }
            ResponseCode::NXRRSet
            | ResponseCode::YXRRSet
            | ResponseCode::NXDomain
            | ResponseCode::YXDomain => {
                return Err(UpdateError::Prerequisite {
                    server,
                    owner: self.owner.to_string(),
                    rcode: rcode_name(rcode),
                });
            }
            ResponseCode::Refused => {
                return Err(UpdateError::Refused {
                    server,
                    zone: self.zone.to_string(),
                });
            }
            ResponseCode::NotZone => {
                return Err(UpdateError::NotZone {
                    server,
                    owner: self.owner.to_string(),
                    zone: self.zone.to_string(),
                });
            }
            other => {
                return Err(UpdateError::Rcode {
                    server,
                    rcode: rcode_name(other),
                });
            }
        }
        // RFC 8945 5.3: the answer to a signed request is signed; a NOERROR without a valid
        // TSIG proves nothing.
        if m.signature().is_none() {
            return Err(UpdateError::Unauthenticated {
                server,
                detail: "the answer is not signed".into(),
            });
        }
        let Some(verifier) = self.verifier.as_mut() else {
            return Err(UpdateError::Unauthenticated {
                server,
                detail: "no verifier for the answer".into(),
            });
        };
        verifier
            .verify(wire)
            .map(|_| ())
            .map_err(|e| UpdateError::Unauthenticated {
                server,
                detail: e.to_string(),
            })
    }
}

/// Sends `change` to the primary `server` signed with `key` at `time` (the wall clock,
/// seconds since the epoch), over TCP within `timeout`, and judges the answer.
pub async fn send_update(
    server: SocketAddr,
    change: &RrsetChange,
    key: &TsigKey,
    time: u64,
    timeout: Duration,
) -> Result<(), UpdateError> {
    let exchange = UpdateExchange::sign(update_message(change)?, change, key, time)?;
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
                detail: format!("no answer to the update over TCP within {timeout:?}"),
            });
        }
    };
    exchange.finish(server, &wire)
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

/// Reads the TLSA RRset at `owner` from the primary `server` (RD clear), and the zone it
/// belongs to (from `zone`, or the SOA the server names). A CNAME at `owner` is
/// [`UpdateError::Alias`]: an update there would be ignored.
pub async fn read_rrset(
    server: SocketAddr,
    owner: &Name,
    zone: Option<&Name>,
    timeout: Duration,
) -> Result<ReadRrset, UpdateError> {
    let ask = |rtype| async move {
        match transport::ask_with(server, owner, rtype, timeout, false).await {
            transport::Answer::Response { wire, rcode: 0 | 3 } => {
                Message::from_vec(&wire).map_err(|e| UpdateError::Exchange {
                    server,
                    detail: format!("malformed answer to {owner} {rtype}: {e}"),
                })
            }
            transport::Answer::Response { rcode, .. } => Err(UpdateError::Exchange {
                server,
                detail: format!(
                    "{owner} {rtype}: {}",
                    rcode_name(ResponseCode::from(0, rcode))
                ),
            }),
            transport::Answer::Failed(detail) => Err(UpdateError::Exchange { server, detail }),
        }
    };
    let m = ask(RecordType::TLSA).await?;
    if !m.metadata.authoritative {
        return Err(UpdateError::Exchange {
            server,
            detail: format!("its answer for {owner} is not authoritative: is it the primary?"),
        });
    }
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
            let m = ask(RecordType::SOA).await?;
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

    const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";

    fn check(text: &str, expected: Result<(&str, &str), &str>) {
        match (TsigKey::parse(text), expected) {
            (Ok(k), Ok((name, alg))) => {
                assert_eq!(k.name.to_string(), name, "{text}");
                assert_eq!(k.algorithm.to_name().to_string(), alg, "{text}");
            }
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{text}: {e}"),
            (got, want) => panic!("{text}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn key_file_forms() {
        let bind = format!(
            "key \"rollover-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{SECRET}\";\n}};\n"
        );
        check(&bind, Ok(("rollover-key.", "hmac-sha256")));
        let knot = format!(
            "# hmac-sha512:knot-key:{SECRET}\nkey:\n  - id: knot-key\n    algorithm: hmac-sha512\n    secret: {SECRET}\n"
        );
        check(&knot, Ok(("knot-key.", "hmac-sha512")));
        let knot_yaml_only =
            format!("key:\n  - id: k2\n    algorithm: hmac-sha384\n    secret: {SECRET}\n");
        check(&knot_yaml_only, Ok(("k2.", "hmac-sha384")));
        check(
            &format!("hmac-sha256:line-key:{SECRET}\n"),
            Ok(("line-key.", "hmac-sha256")),
        );
        check(
            &format!("key \"md5\" {{ algorithm hmac-md5; secret \"{SECRET}\"; }};"),
            Err("not supported"),
        );
        check(
            "key \"x\" {\n algorithm hmac-sha256;\n secret \"@@@\";\n};",
            Err("not base64"),
        );
        check(
            "key \"x\" {\n algorithm hmac-sha256;\n};",
            Err("has no secret"),
        );
        check("hello", Err("no key found"));
    }

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

    // An in-process primary on loopback: TCP, TSIG (hickory's own signer and verifier),
    // RFC 2136 prerequisites over one in-memory TLSA RRset.
    mod primary {
        use super::*;
        use hickory_proto::rr::TSigResponseContext;
        use std::sync::{Arc, Mutex};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        pub struct Primary {
            pub address: SocketAddr,
            pub rrset: Arc<Mutex<Vec<Vec<u8>>>>,
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

        /// Answers one update as a primary with key `known` would; `sign_with` signs
        /// NOERROR answers (another key: a forged answer).
        fn answer(
            wire: &[u8],
            known: &TsigKey,
            sign_with: &TsigKey,
            rrset: &Mutex<Vec<Vec<u8>>>,
        ) -> Vec<u8> {
            let m = Message::from_vec(wire).unwrap();
            let mut resp = Message::response(m.metadata.id, OpCode::Update);
            resp.add_zone(m.queries[0].clone());
            let tsig = m.signature().unwrap();
            let time = tsig.data.time;
            if tsig.name != known.name {
                resp.metadata.response_code = ResponseCode::NotAuth;
                let sig = TSigResponseContext::unknown_key(m.metadata.id, time, tsig.name.clone())
                    .sign(&resp.to_vec().unwrap())
                    .unwrap();
                resp.set_signature(sig);
                return resp.to_vec().unwrap();
            }
            let signer = known.signer().unwrap();
            let Ok((mac, _, _)) = signer.verify_message_byte(wire, None, true) else {
                resp.metadata.response_code = ResponseCode::NotAuth;
                let sig = TSigResponseContext::bad_signature(m.metadata.id, time, signer)
                    .sign(&resp.to_vec().unwrap())
                    .unwrap();
                resp.set_signature(sig);
                return resp.to_vec().unwrap();
            };
            let mut set = rrset.lock().unwrap();
            // RFC 2136 3.2: prerequisites.
            let mut expected: Vec<Vec<u8>> = Vec::new();
            let mut must_not_exist = false;
            for p in m.prerequisites() {
                match (&p.data, p.dns_class) {
                    (RData::Update0(_), DNSClass::NONE) => must_not_exist = true,
                    _ => expected.extend(rdata_of(p)),
                }
            }
            let same = {
                let (mut a, mut b) = (expected.clone(), set.clone());
                a.sort();
                b.sort();
                a == b
            };
            let rcode = if must_not_exist && !set.is_empty() {
                ResponseCode::YXRRSet
            } else if !must_not_exist && !same {
                ResponseCode::NXRRSet
            } else {
                for u in m.updates() {
                    let Some(rd) = rdata_of(u) else { continue };
                    if u.dns_class == DNSClass::NONE {
                        set.retain(|r| r != &rd);
                    } else if !set.contains(&rd) {
                        set.push(rd);
                    }
                }
                ResponseCode::NoError
            };
            resp.metadata.response_code = rcode;
            let ctx = TSigResponseContext::new(
                m.metadata.id,
                time,
                sign_with.signer().unwrap(),
                mac,
                None,
            );
            let sig = ctx.sign(&resp.to_vec().unwrap()).unwrap();
            resp.set_signature(sig);
            resp.to_vec().unwrap()
        }

        pub async fn start(known: TsigKey, sign_with: TsigKey, initial: Vec<Vec<u8>>) -> Primary {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let rrset = Arc::new(Mutex::new(initial));
            let shared = rrset.clone();
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
                    let out = answer(&wire, &known, &sign_with, &shared);
                    let mut framed = u16::try_from(out.len()).unwrap().to_be_bytes().to_vec();
                    framed.extend(out);
                    let _ = s.write_all(&framed).await;
                }
            });
            Primary { address, rrset }
        }
    }

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

    const CUR: [u8; 5] = [3, 1, 1, 0xaa, 0x01];
    const NEXT: [u8; 5] = [3, 1, 1, 0xbb, 0x02];

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

    #[tokio::test]
    async fn update_applies_then_a_stale_read_fails_its_prerequisite() {
        let k = key("rollover-key", b"0123456789abcdef0123456789abcdef");
        let p = primary::start(k.clone(), k.clone(), vec![CUR.to_vec()]).await;
        let t = Duration::from_secs(5);
        send_update(p.address, &stage_change(vec![CUR.to_vec()]), &k, now(), t)
            .await
            .unwrap();
        assert_eq!(*p.rrset.lock().unwrap(), vec![CUR.to_vec(), NEXT.to_vec()]);
        // The same change again, from the read before the first update: the RRset changed
        // in between (a racing writer), so the prerequisite fails and nothing is applied.
        let mut racing = stage_change(vec![CUR.to_vec()]);
        racing.add = vec![vec![3, 1, 1, 0xcc]];
        let e = send_update(p.address, &racing, &k, now(), t)
            .await
            .unwrap_err();
        assert!(
            matches!(e, UpdateError::Prerequisite { ref rcode, .. } if rcode == "NXRRSET"),
            "{e}"
        );
        assert!(e.to_string().contains("changed since it was read"), "{e}");
        assert_eq!(p.rrset.lock().unwrap().len(), 2);
        // "Must not exist" while it exists: YXRRSET.
        let e = send_update(p.address, &stage_change(Vec::new()), &k, now(), t)
            .await
            .unwrap_err();
        assert!(
            matches!(e, UpdateError::Prerequisite { ref rcode, .. } if rcode == "YXRRSET"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn tsig_refused_bad_secret_and_unknown_key() {
        let k = key("rollover-key", b"0123456789abcdef0123456789abcdef");
        let p = primary::start(k.clone(), k.clone(), vec![CUR.to_vec()]).await;
        let t = Duration::from_secs(5);
        let wrong_secret = key("rollover-key", b"not the secret at all, not at all");
        let e = send_update(
            p.address,
            &stage_change(vec![CUR.to_vec()]),
            &wrong_secret,
            now(),
            t,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(e, UpdateError::TsigRefused { ref detail, .. } if detail.starts_with("BADSIG")),
            "{e}"
        );
        let unknown = key("other-key", b"0123456789abcdef0123456789abcdef");
        let e = send_update(
            p.address,
            &stage_change(vec![CUR.to_vec()]),
            &unknown,
            now(),
            t,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(e, UpdateError::TsigRefused { ref detail, .. } if detail.starts_with("BADKEY")),
            "{e}"
        );
        assert_eq!(
            *p.rrset.lock().unwrap(),
            vec![CUR.to_vec()],
            "nothing applied"
        );
    }

    #[tokio::test]
    async fn an_answer_signed_with_another_key_is_not_trusted() {
        let k = key("rollover-key", b"0123456789abcdef0123456789abcdef");
        let forger = key("rollover-key", b"a forger's secret, not the real1");
        let p = primary::start(k.clone(), forger, vec![CUR.to_vec()]).await;
        let e = send_update(
            p.address,
            &stage_change(vec![CUR.to_vec()]),
            &k,
            now(),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, UpdateError::Unauthenticated { .. }), "{e}");
    }

    #[tokio::test]
    async fn no_primary_is_an_exchange_error() {
        let k = key("rollover-key", b"0123456789abcdef0123456789abcdef");
        // A port nothing listens on (bound, then closed).
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let e = send_update(
            addr,
            &stage_change(Vec::new()),
            &k,
            now(),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, UpdateError::Exchange { .. }), "{e}");
    }
}
