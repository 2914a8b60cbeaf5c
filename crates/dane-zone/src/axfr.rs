//! A zone read from the messages of a zone transfer (AXFR, RFC 5936), sans I/O: the caller
//! receives the messages (and checks their IDs and TSIG) and pushes each into an
//! [`AxfrCollector`], which says when the transfer is complete.
//!
//! RFC 5936 2.2: the answer sections of the messages, taken in order, start with the zone's
//! SOA and end with the same SOA again; everything between is the zone. A transfer that
//! does not start with the SOA, whose closing SOA differs from the opening one, that has a
//! record after the closing SOA, a record outside the zone, a class other than IN, or a
//! malformed message is an [`Error::Transfer`].
//!
//! Names in RDATA are decompressed for the types whose RDATA may hold compressed names:
//! those of RFC 1035 (RFC 3597 4: receivers must decompress them) and RP, AFSDB, RT, PX,
//! NAPTR, SRV and KX (RFC 3597 4 asks receivers to decompress these too, for servers that
//! still compress them). Their case is kept, as the master-file parser keeps it.

use std::sync::Arc;

use crate::name::Name;
use crate::{Error, Record};

/// The AXFR query type (RFC 5936 2.1).
const AXFR: u16 = 252;
/// SOA.
const SOA: u16 = 6;
/// Most compression pointers followed in one name (each must point backwards, so this is
/// only a cap on work; 128 labels is the most a 255-octet name has).
const MAX_POINTERS: usize = 128;

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No record yet: the next must be the SOA.
    Start,
    /// Between the opening and the closing SOA.
    Body,
    /// The closing SOA was seen.
    Done,
}

/// Collects the records of an AXFR of `apex`, message by message.
#[derive(Debug)]
pub struct AxfrCollector {
    apex: Name,
    source: Arc<str>,
    state: State,
    soa: Vec<u8>,
    records: Vec<Record>,
    messages: usize,
    max_records: usize,
}

impl AxfrCollector {
    /// A transfer of the zone `apex` from `source` (named in errors and as the records'
    /// file, e.g. `AXFR from 192.0.2.1:53`), keeping at most `max_records` records.
    pub fn new(apex: &Name, source: &str, max_records: usize) -> AxfrCollector {
        AxfrCollector {
            apex: apex.clone(),
            source: Arc::from(source),
            state: State::Start,
            soa: Vec::new(),
            records: Vec::new(),
            messages: 0,
            max_records,
        }
    }

    /// Takes the next message of the transfer (the whole DNS message, as received). `true`
    /// when it carried the closing SOA: the transfer is complete and no message may follow.
    pub fn push(&mut self, message: &[u8]) -> Result<bool, Error> {
        self.messages += 1;
        let n = self.messages;
        let source = self.source.clone();
        let err = |what: String| Error::Transfer {
            transfer: source.to_string(),
            message: n,
            what,
        };
        if self.state == State::Done {
            return Err(err("a message after the closing SOA".into()));
        }
        let mut r = Reader {
            msg: message,
            pos: 0,
        };
        let counts = header(&mut r).map_err(err)?;
        question(&mut r, counts.0, &self.apex).map_err(err)?;
        for i in 0..counts.1 {
            let rr = r
                .record()
                .map_err(|w| err(format!("answer record {}: {w}", i + 1)))?;
            self.take(rr, n)
                .map_err(|w| err(format!("answer record {}: {w}", i + 1)))?;
        }
        Ok(self.state == State::Done)
    }

    /// One answer record, in transfer order (RFC 5936 2.2).
    fn take(&mut self, rr: WireRecord, message: usize) -> Result<(), String> {
        if rr.class != 1 {
            return Err(format!("class {} (only IN is checked)", rr.class));
        }
        if !rr.owner.is_at_or_below(&self.apex) {
            return Err(format!("{} is outside the zone {}", rr.owner, self.apex));
        }
        match self.state {
            State::Start if rr.rtype == SOA && rr.owner == self.apex => {
                self.soa.clone_from(&rr.rdata);
                self.state = State::Body;
            }
            State::Start => {
                return Err(format!(
                    "the transfer starts with {} type {}, not the SOA of {} (RFC 5936 2.2)",
                    rr.owner, rr.rtype, self.apex
                ));
            }
            State::Body if rr.rtype == SOA => {
                if rr.owner != self.apex || rr.rdata != self.soa {
                    return Err(
                        "an SOA that is not the opening one (the zone changed during the transfer? RFC 5936 2.2)"
                            .into(),
                    );
                }
                self.state = State::Done;
                return Ok(());
            }
            State::Body => {}
            State::Done => {
                return Err("a record after the closing SOA (RFC 5936 2.2)".into());
            }
        }
        if self.records.len() >= self.max_records {
            return Err(format!("more than {} records", self.max_records));
        }
        self.records.push(Record {
            owner: rr.owner,
            rtype: rr.rtype,
            class: rr.class,
            ttl: rr.ttl,
            rdata: rr.rdata,
            file: self.source.clone(),
            line: message,
        });
        Ok(())
    }

    /// Whether the closing SOA has been seen.
    pub fn is_complete(&self) -> bool {
        self.state == State::Done
    }

    /// Messages pushed so far.
    pub fn messages(&self) -> usize {
        self.messages
    }

    /// The zone's records (the SOA once, first), if the transfer is complete.
    pub fn finish(self) -> Result<Vec<Record>, Error> {
        if self.state != State::Done {
            return Err(Error::Transfer {
                transfer: self.source.to_string(),
                message: self.messages,
                what: "the transfer ended before the closing SOA (RFC 5936 2.2)".into(),
            });
        }
        Ok(self.records)
    }
}

/// Checks the header; returns the question and answer counts.
fn header(r: &mut Reader<'_>) -> Result<(u16, u16), String> {
    let h = r
        .take(12)
        .map_err(|_| "shorter than a DNS header".to_string())?;
    let flags = u16::from_be_bytes([h[2], h[3]]);
    if flags & 0x8000 == 0 {
        return Err("not a response (QR clear)".into());
    }
    if flags & 0x0200 != 0 {
        return Err("truncated (TC set), which a transfer over TCP must not be".into());
    }
    let rcode = flags & 0x000f;
    if rcode != 0 {
        return Err(format!("the server answered rcode {rcode}"));
    }
    let qd = u16::from_be_bytes([h[4], h[5]]);
    let an = u16::from_be_bytes([h[6], h[7]]);
    Ok((qd, an))
}

/// RFC 5936 2.2.1: the question, when present, is the one asked.
fn question(r: &mut Reader<'_>, count: u16, apex: &Name) -> Result<(), String> {
    if count > 1 {
        return Err(format!("{count} questions"));
    }
    if count == 1 {
        let name = r.name()?;
        let f = r.take(4)?;
        let (qtype, qclass) = (
            u16::from_be_bytes([f[0], f[1]]),
            u16::from_be_bytes([f[2], f[3]]),
        );
        if name != *apex || qtype != AXFR || qclass != 1 {
            return Err(format!(
                "the question is {name} type {qtype} class {qclass}, not {apex} AXFR IN"
            ));
        }
    }
    Ok(())
}

/// A resource record read from a message, names decompressed.
struct WireRecord {
    owner: Name,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: Vec<u8>,
}

/// A cursor over one message.
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.msg.len());
        let Some(end) = end else {
            return Err("the message ends inside a record".into());
        };
        let out = &self.msg[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// A name at the cursor, following compression pointers (RFC 1035 4.1.4); labels keep
    /// their case.
    fn raw_name(&mut self) -> Result<Vec<Vec<u8>>, String> {
        let mut labels = Vec::new();
        let mut at = self.pos;
        let mut resume = None;
        let mut pointers = 0;
        loop {
            let len = *self.msg.get(at).ok_or("the message ends inside a name")?;
            match len {
                0 => {
                    at += 1;
                    break;
                }
                1..=63 => {
                    let label = self
                        .msg
                        .get(at + 1..at + 1 + usize::from(len))
                        .ok_or("the message ends inside a label")?;
                    labels.push(label.to_vec());
                    at += 1 + usize::from(len);
                }
                0xc0..=0xff => {
                    let lo = *self
                        .msg
                        .get(at + 1)
                        .ok_or("the message ends in a pointer")?;
                    let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                    // Only backwards: no loop, and the work is bounded.
                    pointers += 1;
                    if target >= at || pointers > MAX_POINTERS {
                        return Err("a compression pointer that does not point backwards".into());
                    }
                    resume.get_or_insert(at + 2);
                    at = target;
                }
                _ => return Err(format!("label type 0x{len:02x} is not supported")),
            }
        }
        self.pos = resume.unwrap_or(at);
        Ok(labels)
    }

    fn name(&mut self) -> Result<Name, String> {
        Name::from_labels(self.raw_name()?)
    }

    /// A name as uncompressed wire octets, case kept.
    fn name_wire(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let labels = self.raw_name()?;
        Name::from_labels(labels.clone())?; // length bounds
        for l in labels {
            out.push(l.len() as u8); // at most 63: checked by from_labels
            out.extend_from_slice(&l);
        }
        out.push(0);
        Ok(())
    }

    fn record(&mut self) -> Result<WireRecord, String> {
        let owner = self.name()?;
        let f = self.take(10)?;
        let rtype = u16::from_be_bytes([f[0], f[1]]);
        let class = u16::from_be_bytes([f[2], f[3]]);
        let ttl = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
        let len = usize::from(u16::from_be_bytes([f[8], f[9]]));
        let end = self.pos + len;
        if end > self.msg.len() {
            return Err("RDATA longer than the message".into());
        }
        let rdata = self.rdata(rtype, end)?;
        if self.pos != end {
            return Err(format!("type {rtype}: RDATA does not match its length"));
        }
        Ok(WireRecord {
            owner,
            rtype,
            class,
            ttl,
            rdata,
        })
    }

    /// RDATA of `rtype` ending at `end`, embedded names decompressed where their layout
    /// allows compression (RFC 3597 4); other types as sent.
    fn rdata(&mut self, rtype: u16, end: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(end - self.pos);
        // The layout: fixed octets before, the names, fixed octets or strings after.
        let (before, names, strings) = match rtype {
            // NS, MD, MF, CNAME, MB, MG, MR, PTR
            2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 => (0, 1, 0),
            // SOA (then 20 octets), MINFO, RP
            6 | 14 | 17 => (0, 2, 0),
            // MX, AFSDB, RT, KX
            15 | 18 | 21 | 36 => (2, 1, 0),
            // PX
            26 => (2, 2, 0),
            // SRV
            33 => (6, 1, 0),
            // NAPTR: order, preference, then flags, services, regexp, then the replacement
            35 => (4, 1, 3),
            _ => {
                out.extend_from_slice(self.take(end - self.pos)?);
                return Ok(out);
            }
        };
        out.extend_from_slice(self.take(before)?);
        for _ in 0..strings {
            let n = usize::from(*self.take(1)?.first().ok_or("empty")?);
            out.push(n as u8);
            out.extend_from_slice(self.take(n)?);
        }
        for _ in 0..names {
            self.name_wire(&mut out)?;
        }
        // SOA: the five 32-bit counters follow the names; nothing follows in the others.
        let after = if rtype == SOA { 20 } else { 0 };
        if self.pos + after != end {
            return Err(format!("type {rtype}: RDATA does not match its length"));
        }
        out.extend_from_slice(self.take(after)?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn name(text: &str) -> Name {
        Name::parse(text, &Name::root()).unwrap()
    }

    /// A response header with `qd` questions and `an` answers, rcode and flags as given.
    fn msg(flags: u16, qd: u16, an: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34];
        m.extend_from_slice(&flags.to_be_bytes());
        for c in [qd, an, 0, 0] {
            m.extend_from_slice(&c.to_be_bytes());
        }
        m
    }

    fn wire_name(text: &str) -> Vec<u8> {
        name(text).wire()
    }

    fn rr(m: &mut Vec<u8>, owner: &[u8], rtype: u16, rdata: &[u8]) {
        m.extend_from_slice(owner);
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&3600u32.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
    }

    fn soa_rdata(serial: u32) -> Vec<u8> {
        let mut r = wire_name("ns.example.");
        r.extend(wire_name("host.example."));
        for v in [serial, 2, 3, 4, 5] {
            r.extend_from_slice(&v.to_be_bytes());
        }
        r
    }

    fn question(m: &mut Vec<u8>) {
        m.extend(wire_name("example."));
        m.extend_from_slice(&AXFR.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
    }

    /// Pushes every message; the result of the last push, or the first error's text.
    fn check(messages: &[Vec<u8>]) -> Result<Vec<Record>, String> {
        let mut c = AxfrCollector::new(&name("example."), "AXFR from test", 100);
        for m in messages {
            c.push(m).map_err(|e| e.to_string())?;
        }
        c.finish().map_err(|e| e.to_string())
    }

    /// The opening SOA (with a question), an MX whose exchange is compressed into the
    /// question's name, then the closing SOA in a second message.
    fn good() -> Vec<Vec<u8>> {
        let mut a = msg(0x8400, 1, 2);
        question(&mut a);
        rr(&mut a, &[0xc0, 12], SOA, &soa_rdata(7));
        let mut mx = vec![0, 10, 4];
        mx.extend_from_slice(b"Mail");
        mx.extend_from_slice(&[0xc0, 12]);
        rr(&mut a, &[0xc0, 12], 15, &mx);
        let mut b = msg(0x8400, 0, 1);
        rr(&mut b, &wire_name("example."), SOA, &soa_rdata(7));
        vec![a, b]
    }

    #[test]
    fn good_transfer_decompresses_rdata_names_keeping_case() {
        let records = check(&good()).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].rtype, SOA);
        assert_eq!(records[1].rtype, 15);
        let mut want = vec![0, 10, 4];
        want.extend_from_slice(b"Mail");
        want.extend(wire_name("example."));
        assert_eq!(records[1].rdata, want);
        assert_eq!(records[1].line, 1);
        assert_eq!(&*records[1].file, "AXFR from test");
    }

    #[test]
    fn transfer_failures() {
        let cases: Vec<(Vec<Vec<u8>>, &str)> = vec![
            (good()[..1].to_vec(), "ended before the closing SOA"),
            (
                {
                    let mut g = good();
                    g.push(g[1].clone());
                    g
                },
                "a message after the closing SOA",
            ),
            (
                {
                    let mut a = msg(0x8400, 0, 1);
                    rr(&mut a, &wire_name("www.example."), 1, &[192, 0, 2, 1]);
                    vec![a]
                },
                "not the SOA of example.",
            ),
            (
                {
                    let mut g = good();
                    g[1] = msg(0x8400, 0, 1);
                    rr(&mut g[1], &wire_name("example."), SOA, &soa_rdata(8));
                    g
                },
                "not the opening one",
            ),
            (
                {
                    let mut g = good();
                    rr(&mut g[1], &wire_name("www.example."), 1, &[192, 0, 2, 1]);
                    g[1][7] = 2;
                    g
                },
                "after the closing SOA",
            ),
            (vec![msg(0x8405, 0, 0)], "rcode 5"),
            (vec![msg(0x8600, 0, 0)], "TC set"),
            (vec![msg(0x0000, 0, 0)], "QR clear"),
            (vec![vec![0; 5]], "shorter than a DNS header"),
            (
                {
                    let mut a = msg(0x8400, 0, 1);
                    rr(&mut a, &wire_name("example.org."), SOA, &soa_rdata(1));
                    vec![a]
                },
                "outside the zone",
            ),
            (
                {
                    // A pointer to itself.
                    let mut a = msg(0x8400, 0, 1);
                    a.extend_from_slice(&[0xc0, 12]);
                    vec![a]
                },
                "does not point backwards",
            ),
            (
                {
                    let mut a = msg(0x8400, 0, 1);
                    rr(&mut a, &wire_name("example."), 2, &[2, b'n', b's', 0, 9]);
                    vec![a]
                },
                "does not match its length",
            ),
            (
                {
                    let mut a = msg(0x8400, 1, 0);
                    a.extend(wire_name("example.org."));
                    a.extend_from_slice(&AXFR.to_be_bytes());
                    a.extend_from_slice(&1u16.to_be_bytes());
                    vec![a]
                },
                "not example. AXFR IN",
            ),
        ];
        for (messages, want) in cases {
            let got = check(&messages).unwrap_err();
            assert!(got.contains(want), "{got:?} lacks {want:?}");
            assert!(got.starts_with("AXFR from test, message "), "{got}");
        }
    }

    #[test]
    fn record_bound() {
        let mut c = AxfrCollector::new(&name("example."), "t", 1);
        let mut g = good();
        let e = c.push(&g.remove(0)).unwrap_err().to_string();
        assert!(e.contains("more than 1 records"), "{e}");
    }
}
