//! A zone transfer (AXFR, RFC 5936) over TCP, optionally authenticated with TSIG (RFC 8945),
//! for `dane zone check --axfr`.
//!
//! This module does the I/O and the transport checks: the query (signed with the key when
//! one is given), the messages framed by their two-octet length (RFC 1035 4.2.2), each
//! one's ID and QR bit, its rcode, and its TSIG. What the messages hold (the SOA-first and
//! SOA-last rule, the records) is judged by the caller's `on_message`, which says when the
//! transfer is complete (dane-zone's `AxfrCollector`).
//!
//! TSIG (RFC 8945 5.3.1): the first answer must be signed, and its MAC covers the request's
//! MAC, the message and the TSIG variables; a server may leave up to 99 messages in a row
//! unsigned, and the next MAC then covers the previous MAC, those messages as received, and
//! the signed message with only the timers. The last message must be signed. Each MAC is
//! checked in constant time (hickory's `TSigner::verify`), each signed time within the
//! fudge of the wall clock read when the message arrives (RFC 8945 5.2.3). The messages
//! are passed to `on_message` as they arrive; an error later (a MAC that fails) fails the
//! whole transfer, so nothing read is used unless every message was authenticated.
//!
//! Bounded: a deadline for the whole transfer, a cap on the octets and on the messages.
//! The TSIG record is found and read here (not through hickory's message parser), so a
//! record type hickory would refuse does not stop a transfer.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, RecordType, TSigner};
use hickory_proto::serialize::binary::BinEncodable as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tsig::TsigKey;
use crate::update::{Clock, UpdateError};

/// TSIG's type code (RFC 8945 4.2).
const TSIG_TYPE: u16 = 250;
/// RFC 8945 5.3.1: a signed message at least every 100.
const MAX_UNSIGNED: usize = 99;

/// Bounds on one transfer.
#[derive(Debug, Clone, Copy)]
pub struct AxfrLimits {
    /// The whole transfer, connection included.
    pub timeout: Duration,
    /// Most octets of messages.
    pub max_bytes: u64,
    /// Most messages.
    pub max_messages: usize,
}

impl Default for AxfrLimits {
    fn default() -> Self {
        AxfrLimits {
            timeout: Duration::from_secs(300),
            max_bytes: 1 << 30,
            max_messages: 1 << 20,
        }
    }
}

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
pub enum AxfrError {
    /// The key cannot sign (see [`TsigKey`]).
    #[error(transparent)]
    Key(#[from] UpdateError),
    /// Connecting, sending or receiving failed, or the server closed the connection early.
    #[error("AXFR from {server}: {detail}")]
    Io {
        /// The server.
        server: SocketAddr,
        /// What happened.
        detail: String,
    },
    /// The server answered with an error rcode (the transfer is refused).
    #[error("AXFR from {server}: refused: {detail}")]
    Refused {
        /// The server.
        server: SocketAddr,
        /// The rcode, and the TSIG error when there is one.
        detail: String,
    },
    /// A message whose TSIG is missing or does not verify: nothing of the transfer is used.
    #[error(
        "AXFR from {server}, message {message}: {detail} (RFC 8945 5.3.1); nothing of the transfer is used"
    )]
    Unauthenticated {
        /// The server.
        server: SocketAddr,
        /// 1-based number of the message.
        message: usize,
        /// What is wrong.
        detail: String,
    },
    /// A message that is not an answer to our query, or a bound was reached.
    #[error("AXFR from {server}, message {message}: {detail}")]
    Protocol {
        /// The server.
        server: SocketAddr,
        /// 1-based number of the message.
        message: usize,
        /// What is wrong.
        detail: String,
    },
    /// What `on_message` said about a message's content.
    #[error("{0}")]
    Content(String),
}

/// What a finished transfer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxfrSummary {
    /// Messages received.
    pub messages: usize,
    /// Octets received (messages, without the length prefixes).
    pub bytes: u64,
    /// Messages whose TSIG verified (0 without a key).
    pub signed: usize,
}

/// Transfers `zone` from `server`: sends the AXFR query (signed with `key` at the time
/// `clock` gives), and passes each message, checked, to `on_message` until it returns
/// `Ok(true)` (complete). Its `Err` ends the transfer as [`AxfrError::Content`].
pub async fn transfer(
    server: SocketAddr,
    zone: &Name,
    key: Option<&TsigKey>,
    clock: Clock<'_>,
    limits: AxfrLimits,
    on_message: &mut (dyn FnMut(&[u8]) -> Result<bool, String> + Send),
) -> Result<AxfrSummary, AxfrError> {
    let io = |detail: String| AxfrError::Io { server, detail };
    let (id, query, chain) = query(zone, key, clock)?;
    let run = async {
        let mut s = TcpStream::connect(server)
            .await
            .map_err(|e| io(format!("connecting: {e}")))?;
        let mut out = (query.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&query);
        s.write_all(&out)
            .await
            .map_err(|e| io(format!("sending the query: {e}")))?;
        receive(&mut s, server, id, chain, clock, limits, on_message).await
    };
    match tokio::time::timeout(limits.timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(io(format!(
            "the transfer did not complete within {:?}",
            limits.timeout
        ))),
    }
}

/// The query's ID and wire form, and the TSIG chain that verifies the answers.
fn query(
    zone: &Name,
    key: Option<&TsigKey>,
    clock: Clock<'_>,
) -> Result<(u16, Vec<u8>, Option<TsigChain>), AxfrError> {
    let mut m = Message::query();
    m.metadata.recursion_desired = false;
    m.add_query(Query::query(zone.clone(), RecordType::AXFR));
    let build = |e: String| AxfrError::Key(UpdateError::Build(e));
    let chain = match key {
        Some(k) => {
            let signer = k.signer()?;
            // The clock is read here, just before signing (RFC 8945 5.2.3).
            m.finalize(&signer, clock())
                .map_err(|e| build(format!("signing: {e}")))?;
            let mac = m
                .signature()
                .map(|s| s.data.mac.clone())
                .unwrap_or_default();
            Some(TsigChain::new(signer, mac).map_err(build)?)
        }
        None => None,
    };
    let wire = m.to_vec().map_err(|e| build(format!("encoding: {e}")))?;
    Ok((m.metadata.id, wire, chain))
}

/// Reads messages until `on_message` says the transfer is complete.
async fn receive(
    s: &mut TcpStream,
    server: SocketAddr,
    id: u16,
    mut chain: Option<TsigChain>,
    clock: Clock<'_>,
    limits: AxfrLimits,
    on_message: &mut (dyn FnMut(&[u8]) -> Result<bool, String> + Send),
) -> Result<AxfrSummary, AxfrError> {
    let mut sum = AxfrSummary {
        messages: 0,
        bytes: 0,
        signed: 0,
    };
    loop {
        let n = sum.messages + 1;
        let proto = |detail: String| AxfrError::Protocol {
            server,
            message: n,
            detail,
        };
        if n > limits.max_messages {
            return Err(proto(format!("more than {} messages", limits.max_messages)));
        }
        let wire = read_message(s, server, n).await?;
        sum.bytes += wire.len() as u64;
        if sum.bytes > limits.max_bytes {
            return Err(proto(format!("more than {} octets", limits.max_bytes)));
        }
        sum.messages = n;
        check_answer(&wire, id).map_err(proto)?;
        if let Some(c) = chain.as_mut() {
            let signed =
                c.take(&wire, n == 1, clock())
                    .map_err(|detail| AxfrError::Unauthenticated {
                        server,
                        message: n,
                        detail,
                    })?;
            sum.signed += usize::from(signed);
        }
        if on_message(&wire).map_err(AxfrError::Content)? {
            if chain.as_ref().is_some_and(|c| c.unsigned > 0) {
                return Err(AxfrError::Unauthenticated {
                    server,
                    message: n,
                    detail: "the last message is not signed".into(),
                });
            }
            return Ok(sum);
        }
    }
}

async fn read_message(
    s: &mut TcpStream,
    server: SocketAddr,
    n: usize,
) -> Result<Vec<u8>, AxfrError> {
    let io = |detail: String| AxfrError::Io { server, detail };
    let mut lb = [0u8; 2];
    s.read_exact(&mut lb).await.map_err(|e| {
        io(if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!(
                "the server closed the connection before the transfer completed ({} messages)",
                n - 1
            )
        } else {
            format!("reading message {n}: {e}")
        })
    })?;
    let len = usize::from(u16::from_be_bytes(lb));
    let mut wire = vec![0u8; len];
    s.read_exact(&mut wire)
        .await
        .map_err(|e| io(format!("reading message {n} ({len} octets): {e}")))?;
    Ok(wire)
}

/// ID, QR and rcode: an error rcode is a refusal, with the TSIG error when there is one.
fn check_answer(wire: &[u8], id: u16) -> Result<(), String> {
    if wire.len() < 12 {
        return Err("shorter than a DNS header".into());
    }
    if u16::from_be_bytes([wire[0], wire[1]]) != id || wire[2] & 0x80 == 0 {
        return Err("the message's ID or QR bit does not match the query".into());
    }
    let rcode = wire[3] & 0x0f;
    if rcode == 0 {
        return Ok(());
    }
    let tsig_error = find_tsig(wire)
        .ok()
        .flatten()
        .map(|t| t.error)
        .filter(|&e| e != 0);
    let detail = match (rcode, tsig_error) {
        (9, Some(16)) => "NOTAUTH, TSIG BADSIG: wrong secret or algorithm".to_string(),
        (9, Some(17)) => "NOTAUTH, TSIG BADKEY: the server does not know the key".to_string(),
        (9, Some(18)) => "NOTAUTH, TSIG BADTIME: the clocks differ by more than the fudge".into(),
        (9, _) => "NOTAUTH: the server wants a TSIG key it accepts (--tsig-key)".into(),
        (5, _) => "REFUSED: the server does not allow this transfer to us".into(),
        (r, e) => format!(
            "rcode {r}{}",
            e.map(|e| format!(", TSIG error {e}")).unwrap_or_default()
        ),
    };
    Err(detail)
}

/// A TSIG record found at the end of a message.
struct TsigRr {
    /// Offset of the record (where the MAC'd data ends).
    start: usize,
    /// Its owner (the key name), uncompressed wire, lowercased.
    key: Vec<u8>,
    /// The algorithm name, uncompressed wire, lowercased.
    algorithm: Vec<u8>,
    time: u64,
    fudge: u16,
    mac: Vec<u8>,
    original_id: u16,
    error: u16,
    other: Vec<u8>,
}

/// Skips a (possibly compressed) name at `at`; returns the offset after it.
fn skip_name(w: &[u8], mut at: usize) -> Result<usize, String> {
    loop {
        let len = *w.get(at).ok_or("the message ends inside a name")?;
        match len {
            0 => return Ok(at + 1),
            1..=63 => at += 1 + usize::from(len),
            0xc0..=0xff => return Ok(at + 2),
            _ => return Err("a malformed name".into()),
        }
    }
}

/// An uncompressed name at `at`, lowercased; and the offset after it (RFC 8945 4.2: the
/// TSIG owner and algorithm names are not compressed).
fn plain_name(w: &[u8], mut at: usize) -> Result<(Vec<u8>, usize), String> {
    let mut out = Vec::new();
    loop {
        let len = usize::from(*w.get(at).ok_or("the message ends inside a name")?);
        if len > 63 {
            return Err("a compressed or malformed name in the TSIG record".into());
        }
        let label = w
            .get(at..=at + len)
            .ok_or("the message ends inside a name")?;
        out.extend(label.iter().map(u8::to_ascii_lowercase));
        at += 1 + len;
        if len == 0 || out.len() > 255 {
            return Ok((out, at));
        }
    }
}

fn be16(w: &[u8], at: usize) -> Result<u16, String> {
    w.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| "the message ends inside the TSIG record".to_string())
}

/// The TSIG record, when the last additional record is one (RFC 8945 5.1: it must be last).
fn find_tsig(w: &[u8]) -> Result<Option<TsigRr>, String> {
    let count = |i: usize| be16(w, 4 + 2 * i).map(usize::from);
    let (qd, an, ns, ar) = (count(0)?, count(1)?, count(2)?, count(3)?);
    if ar == 0 {
        return Ok(None);
    }
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(w, at)? + 4;
    }
    for _ in 0..an + ns + ar - 1 {
        at = skip_name(w, at)? + 10;
        at += usize::from(be16(w, at - 2)?);
    }
    let start = at;
    let (key, after) = plain_name(w, at)?;
    if be16(w, after)? != TSIG_TYPE {
        return Ok(None);
    }
    let rd = after + 10;
    let (algorithm, at) = plain_name(w, rd)?;
    let time = (u64::from(be16(w, at)?) << 32)
        | (u64::from(be16(w, at + 2)?) << 16)
        | u64::from(be16(w, at + 4)?);
    let fudge = be16(w, at + 6)?;
    let mac_len = usize::from(be16(w, at + 8)?);
    let mac = w
        .get(at + 10..at + 10 + mac_len)
        .ok_or("short MAC")?
        .to_vec();
    let at = at + 10 + mac_len;
    let original_id = be16(w, at)?;
    let error = be16(w, at + 2)?;
    let other_len = usize::from(be16(w, at + 4)?);
    let other = w
        .get(at + 6..at + 6 + other_len)
        .ok_or("short other data")?
        .to_vec();
    if at + 6 + other_len != w.len() {
        return Err("data after the TSIG record".into());
    }
    Ok(Some(TsigRr {
        start,
        key,
        algorithm,
        time,
        fudge,
        mac,
        original_id,
        error,
        other,
    }))
}

/// The running state of TSIG over the answers to one signed request (RFC 8945 5.3.1),
/// sans I/O: [`transfer`] feeds it each message as received.
pub struct TsigChain {
    signer: TSigner,
    key: Vec<u8>,
    algorithm: Vec<u8>,
    previous_mac: Vec<u8>,
    /// The unsigned messages since the last signed one, as received.
    pending: Vec<u8>,
    unsigned: usize,
}

fn lower_wire(name: &Name) -> Result<Vec<u8>, String> {
    let mut n = name.to_lowercase();
    n.set_fqdn(true);
    n.to_bytes().map_err(|e| format!("encoding {name}: {e}"))
}

impl TsigChain {
    /// The chain of answers to a request signed by `signer` with the MAC `request_mac`.
    pub fn new(signer: TSigner, request_mac: Vec<u8>) -> Result<TsigChain, String> {
        let algorithm: &TsigAlgorithm = signer.algorithm();
        Ok(TsigChain {
            key: lower_wire(signer.signer_name())?,
            algorithm: lower_wire(&algorithm.to_name())?,
            signer,
            previous_mac: request_mac,
            pending: Vec::new(),
            unsigned: 0,
        })
    }

    /// Takes the next answer (`first`: the first one), at the wall-clock time `now`:
    /// `Ok(true)` when it was signed and verified, `Ok(false)` when it is unsigned (covered
    /// by the next signed one, which must come within 100 messages).
    pub fn take(&mut self, wire: &[u8], first: bool, now: u64) -> Result<bool, String> {
        let Some(t) = find_tsig(wire)? else {
            if first {
                return Err("the first answer is not signed".into());
            }
            self.unsigned += 1;
            if self.unsigned > MAX_UNSIGNED {
                return Err(format!(
                    "more than {MAX_UNSIGNED} unsigned messages in a row"
                ));
            }
            self.pending.extend_from_slice(wire);
            return Ok(false);
        };
        if t.key != self.key || t.algorithm != self.algorithm {
            return Err("signed with another key or algorithm".into());
        }
        if t.error != 0 {
            return Err(format!("TSIG error {}", t.error));
        }
        let tbv = self.to_be_verified(wire, &t, first);
        self.signer
            .verify(&tbv, &t.mac)
            .map_err(|_| "the TSIG MAC does not verify".to_string())?;
        // RFC 8945 5.2.3: the signed time within the fudge of our clock.
        if now.abs_diff(t.time) > u64::from(t.fudge) {
            return Err(format!(
                "signed at {} but the clock says {now} (fudge {} s)",
                t.time, t.fudge
            ));
        }
        self.previous_mac = t.mac;
        self.pending.clear();
        self.unsigned = 0;
        Ok(true)
    }

    /// RFC 8945 5.3.1: the previous MAC, the unsigned messages, this message without its
    /// TSIG (ARCOUNT less one, the original ID), then all TSIG variables for the first
    /// answer or only the timers for the later ones.
    fn to_be_verified(&self, wire: &[u8], t: &TsigRr, first: bool) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.pending.len() + wire.len() + 64);
        b.extend_from_slice(&(self.previous_mac.len() as u16).to_be_bytes());
        b.extend_from_slice(&self.previous_mac);
        b.extend_from_slice(&self.pending);
        let mut head = wire[..12].to_vec();
        head[..2].copy_from_slice(&t.original_id.to_be_bytes());
        let ar = u16::from_be_bytes([head[10], head[11]]) - 1; // find_tsig saw one
        head[10..12].copy_from_slice(&ar.to_be_bytes());
        b.extend_from_slice(&head);
        b.extend_from_slice(&wire[12..t.start]);
        let timers = |b: &mut Vec<u8>| {
            b.extend_from_slice(&t.time.to_be_bytes()[2..]);
            b.extend_from_slice(&t.fudge.to_be_bytes());
        };
        if first {
            b.extend_from_slice(&t.key);
            b.extend_from_slice(&255u16.to_be_bytes()); // class ANY
            b.extend_from_slice(&0u32.to_be_bytes()); // TTL
            b.extend_from_slice(&t.algorithm);
            timers(&mut b);
            b.extend_from_slice(&t.error.to_be_bytes());
            b.extend_from_slice(&(t.other.len() as u16).to_be_bytes());
            b.extend_from_slice(&t.other);
        } else {
            timers(&mut b);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use hickory_proto::op::{MessageType, OpCode};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::rdata::tsig::{TSIG, make_tsig_record};
    use hickory_proto::rr::{RData, Record, TSigResponseContext};

    use super::*;

    const T: u64 = 1_780_272_000;

    fn signer() -> TSigner {
        TSigner::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
            TsigAlgorithm::HmacSha256,
            Name::from_ascii("xfr-key.").unwrap(),
            300,
        )
        .unwrap()
    }

    /// An answer with one A record, unsigned, as wire.
    fn answer(id: u16, host: &str) -> Message {
        let mut m = Message::new(id, MessageType::Response, OpCode::Query);
        m.add_answer(Record::from_rdata(
            Name::from_ascii(host).unwrap(),
            3600,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        m
    }

    /// The request MAC, the chain's first (signed) answer, an unsigned one, and the last,
    /// signed over the previous MAC, the unsigned message and itself with only the timers
    /// (RFC 8945 5.3.1, built here from the RFC's text, not with the code under test).
    fn exchange() -> (Vec<u8>, Vec<Vec<u8>>) {
        let s = signer();
        let mut q = Message::query();
        q.metadata.id = 7;
        q.add_query(Query::query(
            Name::from_ascii("big.test.").unwrap(),
            RecordType::AXFR,
        ));
        q.finalize(&s, T).unwrap();
        let request_mac = q.signature().unwrap().data.mac.clone();

        let mut first = answer(7, "a.big.test.");
        let unsigned_first = first.to_vec().unwrap();
        let ctx = TSigResponseContext::new(7, T, s.clone(), request_mac.clone(), None);
        first.set_signature(ctx.sign(&unsigned_first).unwrap());
        let first_mac = first.signature().unwrap().data.mac.clone();

        let middle = answer(7, "b.big.test.").to_vec().unwrap();

        let mut last = answer(7, "c.big.test.");
        let mut tbs = (first_mac.len() as u16).to_be_bytes().to_vec();
        tbs.extend_from_slice(&first_mac);
        tbs.extend_from_slice(&middle);
        tbs.extend_from_slice(&last.to_vec().unwrap());
        tbs.extend_from_slice(&T.to_be_bytes()[2..]);
        tbs.extend_from_slice(&300u16.to_be_bytes());
        let mac = s.sign(&tbs).unwrap();
        let tsig = TSIG::new(TsigAlgorithm::HmacSha256, T, 300, mac, 7, None, Vec::new());
        last.set_signature(Box::new(make_tsig_record(s.signer_name().clone(), tsig)));
        let messages = vec![first.to_vec().unwrap(), middle, last.to_vec().unwrap()];
        (request_mac, messages)
    }

    /// Runs the chain over `messages`: per message, signed or not, or the first error.
    fn check(request_mac: &[u8], messages: &[Vec<u8>], now: u64) -> Result<Vec<bool>, String> {
        let mut c = TsigChain::new(signer(), request_mac.to_vec()).unwrap();
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| c.take(m, i == 0, now))
            .collect()
    }

    #[test]
    fn unsigned_messages_are_covered_by_the_next_mac() {
        let (mac, msgs) = exchange();
        assert_eq!(check(&mac, &msgs, T + 10).unwrap(), [true, false, true]);
    }

    #[test]
    fn tsig_chain_failures() {
        let (mac, msgs) = exchange();
        // A byte of the unsigned message changed: the next MAC fails.
        let mut tampered = msgs.clone();
        let n = tampered[1].len();
        tampered[1][n - 1] ^= 1;
        let e = check(&mac, &tampered, T).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        // The first answer must be signed.
        let e = check(&mac, &msgs[1..], T).unwrap_err();
        assert!(e.contains("first answer is not signed"), "{e}");
        // Another request's MAC: the first answer does not verify.
        let e = check(b"other", &msgs, T).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        // The signed time outside the fudge of our clock.
        let e = check(&mac, &msgs, T + 301).unwrap_err();
        assert!(e.contains("fudge 300 s"), "{e}");
        // A message dropped from the middle: the last MAC fails.
        let e = check(&mac, &[msgs[0].clone(), msgs[2].clone()], T).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        // 100 unsigned messages in a row.
        let mut many = vec![msgs[0].clone()];
        many.extend(std::iter::repeat_n(msgs[1].clone(), 100));
        let e = check(&mac, &many, T).unwrap_err();
        assert!(e.contains("more than 99 unsigned"), "{e}");
    }

    #[test]
    fn refusals_name_the_tsig_error() {
        let mut m = answer(7, "a.big.test.").to_vec().unwrap();
        m[3] = 5;
        assert!(check_answer(&m, 7).unwrap_err().starts_with("REFUSED"));
        m[3] = 0;
        let e = check_answer(&m, 8).unwrap_err();
        assert!(e.contains("ID or QR"), "{e}");
    }
}
