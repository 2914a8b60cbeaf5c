//! DNS messages from the wire into RRsets with their canonical RDATA (RFC 4034 section 6).
//!
//! We read the wire ourselves so that every RDATA byte that is signed is exactly the byte
//! the server sent (after decompressing names); the typed views of the DNSSEC records come
//! from hickory-proto's decoders, fed with those canonical bytes.

use std::cmp::Ordering;

use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};

use crate::Error;

/// Largest DNS message we accept (the TCP length prefix maximum).
pub const MAX_MESSAGE: usize = 65_535;
/// Most records we read from one message (a hostile server cannot make us allocate more).
pub const MAX_RECORDS: usize = 2_000;

/// One resource record as received, with RDATA in canonical form.
#[derive(Debug, Clone)]
pub(crate) struct WireRecord {
    pub owner: Name,
    pub rtype: RecordType,
    pub class: u16,
    pub ttl: u32,
    /// RDATA with names decompressed and, for the types listed in RFC 4034 section 6.2
    /// (as amended by RFC 6840 section 5.1: not NSEC), lowercased.
    pub rdata: Vec<u8>,
    /// RDATA with names decompressed but their case kept (for display).
    pub received: Vec<u8>,
}

/// A parsed response: header fields we use and the answer and authority sections.
#[derive(Debug, Clone)]
pub(crate) struct WireMessage {
    pub rcode: u8,
    pub truncated: bool,
    pub question: Option<(Name, RecordType)>,
    pub answer: Vec<WireRecord>,
    pub authority: Vec<WireRecord>,
}

fn malformed(what: impl Into<String>) -> Error {
    Error::Malformed(what.into())
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.msg.len())
            .ok_or_else(|| {
                malformed(format!(
                    "message ends inside a field at offset {}",
                    self.pos
                ))
            })?;
        let s = &self.msg[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A domain name at the current position, following compression pointers (RFC 1035
    /// 4.1.4) only backwards and at most 128 times, so hostile loops end.
    fn name(&mut self) -> Result<Vec<Vec<u8>>, Error> {
        let (labels, next) = read_name(self.msg, self.pos)?;
        self.pos = next;
        Ok(labels)
    }
}

/// Reads a name at `pos` in `msg`; returns its labels and the offset after it.
fn read_name(msg: &[u8], mut pos: usize) -> Result<(Vec<Vec<u8>>, usize), Error> {
    let mut labels = Vec::new();
    let mut end_after = None;
    let mut jumps = 0;
    let mut total = 1usize;
    loop {
        let len = *msg
            .get(pos)
            .ok_or_else(|| malformed("message ends inside a name"))? as usize;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    pos += 1;
                    break;
                }
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or_else(|| malformed("message ends inside a label"))?;
                total += len + 1;
                if total > 255 {
                    return Err(malformed("name longer than 255 octets"));
                }
                labels.push(label.to_vec());
                pos += 1 + len;
            }
            0xc0 => {
                let low = *msg
                    .get(pos + 1)
                    .ok_or_else(|| malformed("message ends inside a pointer"))?
                    as usize;
                let target = ((len & 0x3f) << 8) | low;
                if target >= pos {
                    return Err(malformed(
                        "name compression pointer does not point backwards",
                    ));
                }
                jumps += 1;
                if jumps > 128 {
                    return Err(malformed("too many name compression pointers"));
                }
                end_after.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(malformed("reserved label type")),
        }
    }
    Ok((labels, end_after.unwrap_or(pos)))
}

fn to_name(labels: &[Vec<u8>]) -> Result<Name, Error> {
    let mut name = Name::from_labels(labels.iter().map(|l| l.as_slice()))
        .map_err(|e| malformed(format!("bad name: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

fn push_name(out: &mut Vec<u8>, labels: &[Vec<u8>], lower: bool) {
    for l in labels {
        out.push(l.len() as u8);
        if lower {
            out.extend(l.iter().map(u8::to_ascii_lowercase));
        } else {
            out.extend_from_slice(l);
        }
    }
    out.push(0);
}

/// The canonical wire form of a name: uncompressed, lowercased (RFC 4034 6.2).
pub(crate) fn name_wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1);
    for l in name.iter() {
        out.push(l.len() as u8);
        out.extend(l.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
    out
}

/// Canonical DNS name order (RFC 4034 6.1): labels compared from the root down, each as
/// lowercased octets, a name sorting before its descendants.
pub(crate) fn canonical_cmp(a: &Name, b: &Name) -> Ordering {
    let la: Vec<&[u8]> = a.iter().collect();
    let lb: Vec<&[u8]> = b.iter().collect();
    for (x, y) in la.iter().rev().zip(lb.iter().rev()) {
        let x = x.iter().map(u8::to_ascii_lowercase);
        let y = y.iter().map(u8::to_ascii_lowercase);
        match x.cmp(y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    la.len().cmp(&lb.len())
}

/// Where names sit in an RDATA, for the types whose names may be compressed (RFC 1035,
/// RFC 3597 section 4) or must be lowercased (RFC 4034 6.2, RFC 6840 5.1).
enum Layout {
    /// Fixed octets, then names, then the rest verbatim.
    Names { skip: usize, names: usize },
    /// NAPTR: 4 octets, three character-strings, one name.
    Naptr,
    /// No names we touch.
    Opaque,
}

fn layout(rtype: u16) -> (Layout, bool) {
    // (layout, lowercase the names)
    match rtype {
        // NS, MD, MF, CNAME, MB, MG, MR, PTR, DNAME
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => (Layout::Names { skip: 0, names: 1 }, true),
        // SOA: MNAME RNAME then 20 octets; MINFO, RP: two names
        6 | 14 | 17 => (Layout::Names { skip: 0, names: 2 }, true),
        // MX, AFSDB, RT, KX: preference then a name
        15 | 18 | 21 | 36 => (Layout::Names { skip: 2, names: 1 }, true),
        // PX: preference, MAP822, MAPX400
        26 => (Layout::Names { skip: 2, names: 2 }, true),
        // SRV: priority, weight, port, target
        33 => (Layout::Names { skip: 6, names: 1 }, true),
        // SIG, RRSIG: 18 octets then the signer's name, then the signature
        24 | 46 => (Layout::Names { skip: 18, names: 1 }, true),
        // NSEC: next owner name kept as sent (RFC 6840 5.1), then the bitmap
        47 => (Layout::Names { skip: 0, names: 1 }, false),
        35 => (Layout::Naptr, true),
        _ => (Layout::Opaque, false),
    }
}

/// Canonical RDATA for a record whose RDATA starts at `start` and has `len` octets.
fn canonical_rdata(
    msg: &[u8],
    rtype: u16,
    start: usize,
    len: usize,
    keep_case: bool,
) -> Result<Vec<u8>, Error> {
    let end = start + len;
    let raw = &msg[start..end];
    let (layout, lower) = layout(rtype);
    let lower = lower && !keep_case;
    let mut out = Vec::with_capacity(len + 16);
    let mut pos = start;
    match layout {
        Layout::Opaque => return Ok(raw.to_vec()),
        Layout::Names { skip, names } => {
            if len < skip {
                return Err(malformed(format!("RDATA of type {rtype} too short")));
            }
            out.extend_from_slice(&msg[pos..pos + skip]);
            pos += skip;
            for _ in 0..names {
                let (labels, next) = read_name(msg, pos)?;
                if next > end {
                    return Err(malformed(format!(
                        "name runs past the RDATA of type {rtype}"
                    )));
                }
                push_name(&mut out, &labels, lower);
                pos = next;
            }
        }
        Layout::Naptr => {
            if len < 4 {
                return Err(malformed("NAPTR RDATA too short"));
            }
            pos += 4;
            for _ in 0..3 {
                let l = *msg
                    .get(pos)
                    .filter(|_| pos < end)
                    .ok_or_else(|| malformed("NAPTR RDATA too short"))?
                    as usize;
                pos += 1 + l;
            }
            if pos > end {
                return Err(malformed("NAPTR RDATA too short"));
            }
            out.extend_from_slice(&msg[start..pos]);
            let (labels, next) = read_name(msg, pos)?;
            if next > end {
                return Err(malformed("NAPTR name runs past the RDATA"));
            }
            push_name(&mut out, &labels, lower);
            pos = next;
        }
    }
    out.extend_from_slice(&msg[pos..end]);
    Ok(out)
}

/// The canonical form (RFC 4034 6.2, RFC 6840 5.1) of one uncompressed RDATA of type
/// `rtype`: embedded names of the RFC 4034 6.2 types lowercased, everything else verbatim.
/// The same rule the validator applies to received records, for callers that build RDATA
/// themselves (e.g. from a master file). `Err` if a name in it runs past its end.
pub fn canonical_rdata_of(rtype: u16, rdata: &[u8]) -> Result<Vec<u8>, Error> {
    canonical_rdata(rdata, rtype, 0, rdata.len(), false)
}

/// Parses a DNS response message (RFC 1035 4.1).
pub(crate) fn parse_message(msg: &[u8]) -> Result<WireMessage, Error> {
    if msg.len() > MAX_MESSAGE {
        return Err(malformed("message longer than 65535 octets"));
    }
    let mut r = Reader { msg, pos: 0 };
    let _id = r.u16()?;
    let flags = r.u16()?;
    if flags & 0x8000 == 0 {
        return Err(malformed("not a response (QR bit clear)"));
    }
    let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
    let total: usize = counts.iter().map(|&c| c as usize).sum();
    if total > MAX_RECORDS {
        return Err(malformed(format!(
            "{total} records, more than {MAX_RECORDS}"
        )));
    }
    let mut question = None;
    for i in 0..counts[0] {
        let labels = r.name()?;
        let qtype = r.u16()?;
        let _qclass = r.u16()?;
        if i == 0 {
            question = Some((to_name(&labels)?, RecordType::from(qtype)));
        }
    }
    let mut sections = [Vec::new(), Vec::new()];
    for (section, &count) in counts[1..3].iter().enumerate() {
        for _ in 0..count {
            let owner = to_name(&r.name()?)?;
            let rtype = r.u16()?;
            let class = r.u16()?;
            let ttl = r.u32()?;
            let len = r.u16()? as usize;
            let start = r.pos;
            r.take(len)?;
            let rdata = canonical_rdata(msg, rtype, start, len, false)?;
            let received = canonical_rdata(msg, rtype, start, len, true)?;
            sections[section].push(WireRecord {
                owner,
                rtype: RecordType::from(rtype),
                class,
                ttl,
                rdata,
                received,
            });
        }
    }
    let [answer, authority] = sections;
    Ok(WireMessage {
        rcode: (flags & 0x000f) as u8,
        truncated: flags & 0x0200 != 0,
        question,
        answer,
        authority,
    })
}

/// Decodes canonical RDATA into hickory-proto's typed record data.
pub(crate) fn typed(rtype: RecordType, rdata: &[u8]) -> Result<RData, Error> {
    let len = u16::try_from(rdata.len()).map_err(|_| malformed("RDATA longer than 65535"))?;
    let mut d = BinDecoder::new(rdata);
    RData::read(&mut d, rtype, Restrict::new(len))
        .map_err(|e| malformed(format!("bad {rtype} RDATA: {e}")))
}

/// A name from a canonical (uncompressed) RDATA at `pos`: the name and the offset after it.
pub(crate) fn rdata_name(rdata: &[u8], pos: usize) -> Result<(Name, usize), Error> {
    let (labels, next) = read_name(rdata, pos)?;
    Ok((to_name(&labels)?, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    fn n(s: &str) -> Name {
        // `\NNN` escapes as raw octets (hickory's parser refuses some of them).
        let labels: Vec<Vec<u8>> = s
            .trim_end_matches('.')
            .split('.')
            .map(|l| match l.strip_prefix('\\') {
                Some(d) => vec![d.parse::<u8>().unwrap()],
                None => l.as_bytes().to_vec(),
            })
            .collect();
        let mut name = Name::from_labels(labels.iter().map(|l| l.as_slice())).unwrap();
        name.set_fqdn(true);
        name
    }

    #[test]
    fn canonical_order_is_rfc4034_example() {
        // RFC 4034 section 6.1, in order.
        let names = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        for w in names.windows(2) {
            assert_eq!(canonical_cmp(&n(w[0]), &n(w[1])), Ordering::Less, "{w:?}");
        }
        assert_eq!(canonical_cmp(&n("A.b."), &n("a.B.")), Ordering::Equal);
    }

    #[test]
    fn compressed_names_in_rdata_are_expanded_and_lowercased() {
        // Header, question "Ex.", answer: MX at pointer to question, pref 10, "MAIL" + ptr.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[2, b'E', b'x', 0, 0, 15, 0, 1]);
        m.extend_from_slice(&[0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 9, 0, 10]);
        m.extend_from_slice(&[4, b'M', b'A', b'I', b'L', 0xc0, 12]);
        let w = parse_message(&m).unwrap();
        assert_eq!(w.answer.len(), 1);
        assert_eq!(w.answer[0].rdata, b"\x00\x0a\x04mail\x02ex\x00".to_vec());
        assert_eq!(w.answer[0].received, b"\x00\x0a\x04MAIL\x02Ex\x00".to_vec());
        assert_eq!(w.answer[0].owner.to_ascii(), "Ex.");
    }

    #[test]
    fn hostile_messages_are_errors() {
        // Pointer loop (points at itself).
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert!(parse_message(&m).is_err());
        // Truncated record.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2]);
        assert!(parse_message(&m).is_err());
        // A query, not a response.
        assert!(parse_message(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        // Huge counts.
        assert!(parse_message(&[0, 1, 0x81, 0x80, 0, 0, 0xff, 0xff, 0, 0, 0, 0]).is_err());
        assert!(parse_message(&[]).is_err());
    }
}
