//! Parsing TLSA records: presentation RDATA, full RR lines and zone-file fragments
//! (RFC 1035 5.1 master-file syntax: comments, parentheses, `$ORIGIN`, `$TTL`), the RFC 3597
//! generic form and wire RDATA.
//!
//! Syntax errors are [`Error::RecordSyntax`] with a line number. A record that parses but
//! cannot be used (unknown parameter, wrong digest length) is NOT an error: it is returned,
//! and [`TlsaRecord::usability`] says why it is unusable (RFC 7671 section 4.1).

use std::str::FromStr;

use serde::Serialize;

use crate::error::Error;
use crate::record::{CertUsage, MatchingType, Selector, TlsaRecord};

/// Most records accepted from one zone fragment (a work budget against hostile input).
pub const MAX_ZONE_RECORDS: usize = 4096;

/// A TLSA record from a zone fragment, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneEntry {
    /// 1-based line where the record starts.
    pub line: usize,
    /// Owner name as written (relative names completed with `$ORIGIN`), if any.
    pub owner: Option<String>,
    /// TTL, if written on the line (or from `$TTL`).
    pub ttl: Option<u32>,
    /// The record.
    pub record: TlsaRecord,
}

/// A line of another RR type, tolerated and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedLine {
    /// 1-based line number.
    pub line: usize,
    /// The RR type written there, e.g. `RRSIG`.
    pub rtype: String,
}

/// The TLSA records of a zone-file fragment, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ZoneFragment {
    /// TLSA records found.
    pub entries: Vec<ZoneEntry>,
    /// RRs of other types that were skipped.
    pub skipped: Vec<SkippedLine>,
}

impl ZoneFragment {
    /// Just the records.
    pub fn records(&self) -> Vec<TlsaRecord> {
        self.entries.iter().map(|e| e.record.clone()).collect()
    }
}

impl TlsaRecord {
    /// Parses wire RDATA (RFC 6698 2.1): usage, selector, matching type, data.
    pub fn from_rdata(rdata: &[u8]) -> Result<Self, Error> {
        let [usage, selector, matching, data @ ..] = rdata else {
            return Err(Error::Rdata {
                reason: format!("{} octets, at least 3 needed", rdata.len()),
            });
        };
        Ok(TlsaRecord::new(
            CertUsage::from(*usage),
            Selector::from(*selector),
            MatchingType::from(*matching),
            data.to_vec(),
        ))
    }

    /// Parses exactly one record: presentation RDATA (`3 1 1 <hex>`, mnemonics allowed,
    /// hex with whitespace, parentheses), generic `\# len hex`, or a full RR line.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let fragment = parse_zone(text)?;
        match (fragment.entries.as_slice(), fragment.skipped.first()) {
            ([one], None) => Ok(one.record.clone()),
            ([], Some(skipped)) => Err(Error::RecordSyntax {
                line: skipped.line,
                reason: format!("a {} record, not TLSA", skipped.rtype),
            }),
            ([], None) => Err(Error::Empty {
                expected: "a TLSA record",
            }),
            _ => Err(Error::RecordSyntax {
                line: 1,
                reason: "more than one record where one was expected".into(),
            }),
        }
    }
}

impl FromStr for TlsaRecord {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TlsaRecord::parse(s)
    }
}

/// One logical line: tokens, the starting line number, and whether it began with blank
/// space (no owner: RFC 1035 5.1, the previous owner applies).
struct Logical {
    line: usize,
    leading_blank: bool,
    tokens: Vec<String>,
}

/// Splits master-file text into logical lines: strips `;` comments, joins parenthesised
/// continuation lines.
fn logical_lines(text: &str) -> Result<Vec<Logical>, Error> {
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    let mut depth = 0usize;
    let mut open_line = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let content = raw.split(';').next().unwrap_or_default();
        if depth == 0 {
            if let Some(done) = current.take() {
                if !done.tokens.is_empty() {
                    out.push(done);
                }
            }
            current = Some(Logical {
                line: line_no,
                leading_blank: content.starts_with([' ', '\t']),
                tokens: Vec::new(),
            });
        }
        let Some(logical) = current.as_mut() else {
            continue;
        };
        let mut token = String::new();
        let flush = |token: &mut String, logical: &mut Logical| {
            if !token.is_empty() {
                logical.tokens.push(std::mem::take(token));
            }
        };
        for c in content.chars() {
            match c {
                '(' => {
                    flush(&mut token, logical);
                    if depth == 0 {
                        open_line = line_no;
                    }
                    depth += 1;
                }
                ')' => {
                    flush(&mut token, logical);
                    depth = depth.checked_sub(1).ok_or_else(|| Error::RecordSyntax {
                        line: line_no,
                        reason: "')' without '('".into(),
                    })?;
                }
                c if c.is_whitespace() => flush(&mut token, logical),
                c => token.push(c),
            }
        }
        flush(&mut token, logical);
    }
    if depth > 0 {
        return Err(Error::RecordSyntax {
            line: open_line,
            reason: "'(' is never closed".into(),
        });
    }
    if let Some(done) = current {
        if !done.tokens.is_empty() {
            out.push(done);
        }
    }
    Ok(out)
}

fn is_class(t: &str) -> bool {
    ["IN", "CH", "HS", "CS"]
        .iter()
        .any(|c| t.eq_ignore_ascii_case(c))
        || t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("CLASS"))
            && t.len() > 5
            && t[5..].bytes().all(|b| b.is_ascii_digit())
}

fn is_tlsa_type(t: &str) -> bool {
    t.eq_ignore_ascii_case("TLSA") || t.eq_ignore_ascii_case("TYPE52")
}

/// RR types tolerated (and skipped) in a zone fragment, besides `TYPEnnn`.
const OTHER_TYPES: &[&str] = &[
    "A",
    "AAAA",
    "NS",
    "SOA",
    "MX",
    "CNAME",
    "DNAME",
    "TXT",
    "SRV",
    "PTR",
    "CAA",
    "DS",
    "DNSKEY",
    "RRSIG",
    "NSEC",
    "NSEC3",
    "NSEC3PARAM",
    "CDS",
    "CDNSKEY",
    "SVCB",
    "HTTPS",
    "SSHFP",
    "SMIMEA",
    "OPENPGPKEY",
    "HINFO",
    "ZONEMD",
    "LOC",
    "NAPTR",
    "SPF",
    "CERT",
    "URI",
];

fn is_other_type(t: &str) -> bool {
    OTHER_TYPES.iter().any(|x| t.eq_ignore_ascii_case(x))
        || t.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("TYPE"))
            && t.len() > 4
            && t[4..].bytes().all(|b| b.is_ascii_digit())
}

/// A TTL: seconds, or BIND units (`1h30m`, `2d`).
fn parse_ttl(t: &str) -> Option<u32> {
    if !t.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if let Ok(v) = t.parse::<u32>() {
        return Some(v);
    }
    let mut total: u64 = 0;
    let mut num: u64 = 0;
    let mut have_digit = false;
    for c in t.chars() {
        if let Some(d) = c.to_digit(10) {
            num = num.checked_mul(10)?.checked_add(u64::from(d))?;
            have_digit = true;
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        if !have_digit {
            return None;
        }
        total = total.checked_add(num.checked_mul(unit)?)?;
        num = 0;
        have_digit = false;
    }
    if have_digit {
        return None; // BIND wants a unit after every number once units are used
    }
    u32::try_from(total).ok()
}

/// Parses hex tokens (whitespace already split) into bytes.
fn parse_hex(tokens: &[String], line: usize) -> Result<Vec<u8>, Error> {
    let joined: String = tokens.concat();
    if let Some(bad) = joined.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(Error::RecordSyntax {
            line,
            reason: format!("invalid hex character {bad:?} in certificate association data"),
        });
    }
    if joined.len() % 2 != 0 {
        return Err(Error::RecordSyntax {
            line,
            reason: format!(
                "odd number of hex digits ({}) in certificate association data",
                joined.len()
            ),
        });
    }
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(joined.as_bytes())
        .map_err(|e| Error::RecordSyntax {
            line,
            reason: format!("hex: {e}"),
        })
}

/// Parses TLSA RDATA tokens: presentation or generic.
fn parse_rdata(tokens: &[String], line: usize) -> Result<TlsaRecord, Error> {
    let syntax = |reason: String| Error::RecordSyntax { line, reason };
    if tokens.first().is_some_and(|t| t == "\\#") {
        // RFC 3597 5: `\# <length> <hex>`.
        let len_token = tokens
            .get(1)
            .ok_or_else(|| syntax("\\# without a length".into()))?;
        let len: usize = len_token
            .parse()
            .map_err(|_| syntax(format!("\\# length {len_token:?} is not a number")))?;
        let rdata = parse_hex(&tokens[2..], line)?;
        if rdata.len() != len {
            return Err(syntax(format!(
                "\\# says {len} octets but {} octets of hex follow",
                rdata.len()
            )));
        }
        return TlsaRecord::from_rdata(&rdata).map_err(|e| syntax(e.to_string()));
    }
    let [usage, selector, matching, hex @ ..] = tokens else {
        return Err(syntax(format!(
            "expected usage, selector, matching type and hex data, found {} field(s)",
            tokens.len()
        )));
    };
    let usage = CertUsage::parse(usage).map_err(syntax)?;
    let selector = Selector::parse(selector).map_err(syntax)?;
    let matching = MatchingType::parse(matching).map_err(syntax)?;
    if hex.is_empty() {
        return Err(syntax("missing certificate association data".into()));
    }
    let data = parse_hex(hex, line)?;
    Ok(TlsaRecord::new(usage, selector, matching, data))
}

fn absolute(name: &str, origin: Option<&str>) -> String {
    match origin {
        Some(o) if name == "@" => o.to_owned(),
        Some(o) if !name.ends_with('.') => {
            if o == "." {
                format!("{name}.")
            } else {
                format!("{name}.{o}")
            }
        }
        _ => name.to_owned(),
    }
}

/// Parses a zone-file fragment (or a single record) into its TLSA records.
///
/// Accepts bare RDATA lines (`3 1 1 <hex>`), full RR lines (`owner [TTL] [class] TLSA ...`
/// in any TTL/class order, or `TYPE52 \# ...`), comments, parenthesised multi-line records,
/// `$ORIGIN` and `$TTL`. RRs of other types (e.g. the RRSIG from `dig +dnssec`) are skipped
/// and listed. Errors: a syntax error anywhere, `$INCLUDE`, more than
/// [`MAX_ZONE_RECORDS`] records.
pub fn parse_zone(text: &str) -> Result<ZoneFragment, Error> {
    let mut fragment = ZoneFragment::default();
    let mut origin: Option<String> = None;
    let mut default_ttl: Option<u32> = None;
    let mut last_owner: Option<String> = None;
    for logical in logical_lines(text)? {
        let line = logical.line;
        let syntax = |reason: String| Error::RecordSyntax { line, reason };
        let tokens = &logical.tokens;
        let first = tokens[0].as_str(); // logical_lines never yields an empty token list
        if let Some(directive) = first.strip_prefix('$') {
            match directive.to_ascii_uppercase().as_str() {
                "ORIGIN" => {
                    let name = tokens
                        .get(1)
                        .ok_or_else(|| syntax("$ORIGIN without a name".into()))?;
                    origin = Some(absolute(name, origin.as_deref()));
                }
                "TTL" => {
                    let t = tokens
                        .get(1)
                        .ok_or_else(|| syntax("$TTL without a value".into()))?;
                    default_ttl = Some(
                        parse_ttl(t).ok_or_else(|| syntax(format!("$TTL {t:?} is not a TTL")))?,
                    );
                }
                other => {
                    return Err(syntax(format!(
                        "${other} is not supported in a TLSA fragment"
                    )));
                }
            }
            continue;
        }
        // Bare RDATA: `3 1 1 <hex>` or `\# 35 <hex>`, with no type token anywhere.
        let has_type = tokens.iter().any(|t| is_tlsa_type(t));
        let rr_like = tokens
            .iter()
            .take(4)
            .any(|t| is_class(t) || is_other_type(t));
        let rdata_like = CertUsage::parse(first).is_ok()
            || (tokens.get(1).is_some_and(|t| Selector::parse(t).is_ok())
                && tokens
                    .get(2)
                    .is_some_and(|t| MatchingType::parse(t).is_ok()));
        let bare = !has_type && (first == "\\#" || (!rr_like && rdata_like));
        if bare {
            let record = parse_rdata(tokens, line)?;
            fragment.entries.push(ZoneEntry {
                line,
                owner: None,
                ttl: None,
                record,
            });
        } else {
            let mut idx = 0;
            let mut owner = last_owner.clone();
            if !logical.leading_blank
                && parse_ttl(first).is_none()
                && !is_class(first)
                && !is_tlsa_type(first)
                && !is_other_type(first)
            {
                owner = Some(absolute(first, origin.as_deref()));
                idx = 1;
            }
            let mut ttl = default_ttl;
            for _ in 0..2 {
                match tokens.get(idx) {
                    Some(t) if is_class(t) => idx += 1,
                    Some(t) => match parse_ttl(t) {
                        Some(v) => {
                            ttl = Some(v);
                            idx += 1;
                        }
                        None => break,
                    },
                    None => break,
                }
            }
            let rtype = tokens
                .get(idx)
                .ok_or_else(|| syntax(format!("no record type after {:?}", tokens.join(" "))))?;
            if is_tlsa_type(rtype) {
                let record = parse_rdata(&tokens[idx + 1..], line)?;
                fragment.entries.push(ZoneEntry {
                    line,
                    owner: owner.clone(),
                    ttl,
                    record,
                });
            } else if is_other_type(rtype) {
                fragment.skipped.push(SkippedLine {
                    line,
                    rtype: rtype.to_ascii_uppercase(),
                });
            } else {
                return Err(syntax(format!(
                    "not a TLSA record or RR line (unexpected {rtype:?})"
                )));
            }
            last_owner = owner;
        }
        if fragment.entries.len() > MAX_ZONE_RECORDS {
            return Err(Error::TooManyRecords {
                len: fragment.entries.len(),
                max: MAX_ZONE_RECORDS,
            });
        }
    }
    Ok(fragment)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H32: &str = "0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";

    fn rec(u: u8, s: u8, m: u8, hex: &str) -> TlsaRecord {
        TlsaRecord::new(
            u.into(),
            s.into(),
            m.into(),
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(hex.as_bytes())
                .unwrap(),
        )
    }

    fn check(input: &str, expected: Result<TlsaRecord, &str>) {
        let got = TlsaRecord::parse(input);
        match expected {
            Ok(r) => assert_eq!(got, Ok(r), "{input}"),
            Err(fragment) => {
                let e = got.expect_err(input).to_string();
                assert!(e.contains(fragment), "{input}: {e:?} lacks {fragment:?}");
            }
        }
    }

    #[test]
    fn single_record_forms() {
        let r = rec(3, 1, 1, H32);
        check(&format!("3 1 1 {H32}"), Ok(r.clone()));
        check(
            &format!("DANE-EE SPKI SHA2-256 {}", H32.to_uppercase()),
            Ok(r.clone()),
        );
        check(
            &format!("dane-ee spki sha2-256 {}", &H32[..10]),
            Ok(rec(3, 1, 1, &H32[..10])),
        );
        check(
            &format!("3 1 1 {} {}", &H32[..31], &H32[31..]),
            Ok(r.clone()),
        );
        check(
            &format!("3 1 1 (\n {}\n {} )", &H32[..32], &H32[32..]),
            Ok(r.clone()),
        );
        check(
            &format!("_25._tcp.mx1.example. 3600 IN TLSA 3 1 1 {H32}"),
            Ok(r.clone()),
        );
        check(
            &format!("_25._tcp.mx1.example. IN 300 TLSA 3 1 1 {H32} ; comment"),
            Ok(r.clone()),
        );
        check(
            &format!("_25._tcp.mx1.example. tlsa 3 1 1 {H32}"),
            Ok(r.clone()),
        );
        check(
            &format!("_25._tcp.mx1.example. 1h IN TLSA ( 3 ; usage\n 1 ; selector\n 1 {H32} )"),
            Ok(r.clone()),
        );
        check(&format!("\\# 35 030101{H32}"), Ok(r.clone()));
        check(
            &format!("_25._tcp.mx1.example. 3600 IN TYPE52 \\# 35 030101 {H32}"),
            Ok(r.clone()),
        );
        check(
            &format!("_25._tcp.mx1.example. 3600 IN TLSA \\# 35 030101{H32}"),
            Ok(r.clone()),
        );
        // Unusable but representable: parses.
        check(&format!("4 1 1 {H32}"), Ok(rec(4, 1, 1, H32)));
        check("3 1 1 abcd", Ok(rec(3, 1, 1, "abcd")));
        check("255 255 255 00", Ok(rec(255, 255, 255, "00")));
        check(
            "PrivCert PrivSel PrivMatch 00",
            Ok(rec(255, 255, 255, "00")),
        );
    }

    /// Found by fuzzing (fuzz/artifacts/tlsa_zone): `\# 3 3553F2` (a record with no
    /// association data) printed as `53 83 242 `, which does not read back.
    #[test]
    fn empty_association_data_prints_in_a_form_that_reads_back() {
        let r = TlsaRecord::parse("\\# 3 3553F2").unwrap();
        assert!(r.data.is_empty());
        assert_eq!(r.presentation(), "\\# 3 3553F2");
        assert_eq!(TlsaRecord::parse(&r.presentation()).unwrap(), r);
        let line = format!("_25._tcp.mx.example. IN TLSA {r}");
        assert_eq!(TlsaRecord::parse(&line).unwrap(), r);
    }

    #[test]
    fn single_record_errors() {
        check("3 1 1 abc", Err("odd number of hex digits (3)"));
        check("3 1 1 zz", Err("invalid hex character 'z'"));
        check(
            "DANE-XX 1 1 00",
            Err("unknown certificate usage \"DANE-XX\""),
        );
        check("3 SPKY 1 00", Err("unknown selector"));
        check("3 1 SHA256 00", Err("unknown matching type"));
        check("3 1 1", Err("missing certificate association data"));
        check("x. IN TLSA 3 1", Err("found 2 field(s)"));
        check("", Err("empty input"));
        check("; only a comment", Err("empty input"));
        check("3 1 1 (00", Err("'(' is never closed"));
        check("3 1 1 00)", Err("')' without '('"));
        check("\\# 4 030101", Err("\\# says 4 octets but 3"));
        check("\\# 2 0301", Err("at least 3 needed"));
        check("\\# x 0301", Err("not a number"));
        check("x. IN A 192.0.2.1", Err("a A record, not TLSA"));
        check("hello world", Err("not a TLSA record"));
        check("3 1 1 00\n3 1 1 01", Err("more than one record"));
        check("$INCLUDE other.zone", Err("$INCLUDE is not supported"));
        check("x. 3600 IN", Err("no record type"));
    }

    #[test]
    fn zone_fragment_with_directives_and_other_types() {
        let text = format!(
            "$ORIGIN example.test.\n$TTL 1h\n\
             _25._tcp.mx1 IN TLSA 3 1 1 {H32}\n\
             \t\tIN TLSA 2 1 1 (\n  {H32}\n )\n\
             _25._tcp.mx1 300 IN RRSIG TLSA 13 5 3600 20270101000000 20260101000000 1 example.test. AAAA\n\
             @ IN A 192.0.2.1\n\
             _443._tcp.www.example.test. 60 IN TLSA 3 1 2 {H32}{H32}\n\
             3 0 0 3082\n"
        );
        let f = parse_zone(&text).unwrap();
        assert_eq!(f.entries.len(), 4);
        assert_eq!(
            f.entries[0].owner.as_deref(),
            Some("_25._tcp.mx1.example.test.")
        );
        assert_eq!(f.entries[0].ttl, Some(3600));
        assert_eq!(
            f.entries[1].owner.as_deref(),
            Some("_25._tcp.mx1.example.test.")
        );
        assert_eq!(f.entries[1].line, 4);
        assert_eq!(f.entries[1].record, rec(2, 1, 1, H32));
        assert_eq!(f.entries[2].ttl, Some(60));
        assert_eq!(f.entries[2].line, 9);
        assert_eq!(f.entries[3].owner, None);
        assert_eq!(
            f.skipped,
            vec![
                SkippedLine {
                    line: 7,
                    rtype: "RRSIG".into()
                },
                SkippedLine {
                    line: 8,
                    rtype: "A".into()
                }
            ]
        );
    }

    #[test]
    fn ttl_forms() {
        for (t, v) in [
            ("0", Some(0)),
            ("3600", Some(3600)),
            ("1h30m", Some(5400)),
            ("2d", Some(172_800)),
            ("1w", Some(604_800)),
            ("1h5", None),
            ("h", None),
            ("IN", None),
            ("99999999999", None),
        ] {
            assert_eq!(parse_ttl(t), v, "{t}");
        }
    }

    #[test]
    fn wire_rdata() {
        assert_eq!(
            TlsaRecord::from_rdata(&[3, 1, 1, 0xaa]).unwrap(),
            rec(3, 1, 1, "aa")
        );
        assert_eq!(
            TlsaRecord::from_rdata(&[3, 1, 1]).unwrap().data,
            Vec::<u8>::new()
        );
        assert!(TlsaRecord::from_rdata(&[3, 1]).is_err());
        let r = rec(2, 0, 2, H32);
        assert_eq!(TlsaRecord::from_rdata(&r.to_rdata()).unwrap(), r);
        assert_eq!(TlsaRecord::parse(&r.generic()).unwrap(), r);
        assert_eq!(TlsaRecord::parse(&r.presentation()).unwrap(), r);
    }

    #[test]
    fn hostile_input_is_bounded() {
        let many = "3 1 1 00\n".repeat(MAX_ZONE_RECORDS + 1);
        assert!(matches!(
            parse_zone(&many),
            Err(Error::TooManyRecords { .. })
        ));
        let deep = "(".repeat(10_000);
        assert!(parse_zone(&deep).is_err());
    }
}
