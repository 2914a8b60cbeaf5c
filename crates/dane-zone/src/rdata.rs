//! RDATA from presentation text to uncompressed wire form: the types a signed zone with TLSA
//! records holds, plus the RFC 3597 generic form (`\# LEN HEX`) for every type.

use data_encoding::{BASE32_DNSSEC, BASE64, HEXLOWER_PERMISSIVE};

use crate::master::Token;
use crate::name::{self, Name};

/// One field of a type's presentation form, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    U8,
    U16,
    U32,
    /// A TTL-like duration (SOA timers accept BIND units: `1h`).
    Ttl,
    Ipv4,
    Ipv6,
    Name,
    /// One character-string (RFC 1035 3.3), length-prefixed.
    CharStr,
    /// One or more character-strings, the rest of the entry.
    CharStrs,
    /// Base64, the rest of the entry concatenated.
    Base64,
    /// Hexadecimal, the rest of the entry concatenated.
    Hex,
    /// A type mnemonic (RRSIG type covered).
    Type,
    /// An RRSIG time: `YYYYMMDDHHmmSS` or seconds since the epoch (RFC 4034 3.2).
    Time,
    /// A type bitmap, the rest of the entry (RFC 4034 4.1.2).
    Bitmap,
    /// NSEC3 salt: hex or `-`, length-prefixed (RFC 5155 3.3).
    Salt,
    /// NSEC3 next hashed owner: base32hex, length-prefixed (RFC 5155 3.3).
    Hash,
    /// CAA tag: a length-prefixed token (RFC 8659 4.1).
    CaaTag,
    /// CAA value: the rest as raw octets, no length (RFC 8659 4.1).
    CaaValue,
}

use Field as F;

/// (code, mnemonic, presentation fields; `None`: generic form only).
const TYPES: &[(u16, &str, Option<&[Field]>)] = &[
    (1, "A", Some(&[F::Ipv4])),
    (2, "NS", Some(&[F::Name])),
    (5, "CNAME", Some(&[F::Name])),
    (
        6,
        "SOA",
        Some(&[F::Name, F::Name, F::U32, F::Ttl, F::Ttl, F::Ttl, F::Ttl]),
    ),
    (12, "PTR", Some(&[F::Name])),
    (13, "HINFO", Some(&[F::CharStr, F::CharStr])),
    (14, "MINFO", Some(&[F::Name, F::Name])),
    (15, "MX", Some(&[F::U16, F::Name])),
    (16, "TXT", Some(&[F::CharStrs])),
    (17, "RP", Some(&[F::Name, F::Name])),
    (18, "AFSDB", Some(&[F::U16, F::Name])),
    (28, "AAAA", Some(&[F::Ipv6])),
    (33, "SRV", Some(&[F::U16, F::U16, F::U16, F::Name])),
    (
        35,
        "NAPTR",
        Some(&[F::U16, F::U16, F::CharStr, F::CharStr, F::CharStr, F::Name]),
    ),
    (36, "KX", Some(&[F::U16, F::Name])),
    (39, "DNAME", Some(&[F::Name])),
    (43, "DS", Some(&[F::U16, F::U8, F::U8, F::Hex])),
    (44, "SSHFP", Some(&[F::U8, F::U8, F::Hex])),
    (
        46,
        "RRSIG",
        Some(&[
            F::Type,
            F::U8,
            F::U8,
            F::U32,
            F::Time,
            F::Time,
            F::U16,
            F::Name,
            F::Base64,
        ]),
    ),
    (47, "NSEC", Some(&[F::Name, F::Bitmap])),
    (48, "DNSKEY", Some(&[F::U16, F::U8, F::U8, F::Base64])),
    (49, "DHCID", Some(&[F::Base64])),
    (
        50,
        "NSEC3",
        Some(&[F::U8, F::U8, F::U16, F::Salt, F::Hash, F::Bitmap]),
    ),
    (51, "NSEC3PARAM", Some(&[F::U8, F::U8, F::U16, F::Salt])),
    (52, "TLSA", Some(&[F::U8, F::U8, F::U8, F::Hex])),
    (53, "SMIMEA", Some(&[F::U8, F::U8, F::U8, F::Hex])),
    (59, "CDS", Some(&[F::U16, F::U8, F::U8, F::Hex])),
    (60, "CDNSKEY", Some(&[F::U16, F::U8, F::U8, F::Base64])),
    (61, "OPENPGPKEY", Some(&[F::Base64])),
    (62, "CSYNC", Some(&[F::U32, F::U16, F::Bitmap])),
    (63, "ZONEMD", Some(&[F::U32, F::U8, F::U8, F::Hex])),
    (64, "SVCB", None),
    (65, "HTTPS", None),
    (99, "SPF", Some(&[F::CharStrs])),
    (256, "URI", Some(&[F::U16, F::U16, F::CaaValue])),
    (257, "CAA", Some(&[F::U8, F::CaaTag, F::CaaValue])),
];

/// The mnemonic of a type, or `TYPEn` (RFC 3597 5).
pub fn type_name(rtype: u16) -> String {
    TYPES
        .iter()
        .find(|t| t.0 == rtype)
        .map_or_else(|| format!("TYPE{rtype}"), |t| t.1.to_string())
}

/// A type from its mnemonic or `TYPEn`.
pub fn rtype_from_text(text: &str) -> Result<u16, String> {
    // The mnemonics are upper case: compared without case, no copy made.
    if let Some(t) = TYPES.iter().find(|t| t.1.eq_ignore_ascii_case(text)) {
        return Ok(t.0);
    }
    text.get(..4)
        .filter(|p| p.eq_ignore_ascii_case("TYPE"))
        .and_then(|_| text[4..].parse::<u16>().ok())
        .ok_or_else(|| format!("unknown type {text} (write it as TYPEn, RFC 3597)"))
}

/// A TTL: seconds, or BIND units (`1w2d3h4m5s`, case-insensitive), at most 2^31-1
/// (RFC 2181 8).
pub fn ttl(text: &str) -> Result<u32, String> {
    let bad = || format!("bad TTL {text:?}");
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(num.unwrap_or(0) * 10 + u64::from(d));
            if num > Some(u64::from(u32::MAX)) {
                return Err(bad());
            }
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        total += num.take().ok_or_else(bad)? * unit;
    }
    total += num.unwrap_or(0);
    if text.is_empty() || total > 0x7fff_ffff {
        return Err(bad());
    }
    Ok(total as u32)
}

/// Encodes `tokens` as the RDATA of `rtype` (names relative to `origin`).
pub(crate) fn encode(rtype: u16, tokens: &[&Token], origin: &Name) -> Result<Vec<u8>, String> {
    if tokens.first().is_some_and(|t| !t.quoted && t.text == "\\#") {
        let rd = generic(&tokens[1..])?;
        check_fixed(rtype, &rd)?;
        return Ok(rd);
    }
    let fields = TYPES
        .iter()
        .find(|t| t.0 == rtype)
        .and_then(|t| t.2)
        .ok_or("no presentation form known here: write it as \\# LEN HEX (RFC 3597)")?;
    let mut out = Vec::new();
    let mut i = 0;
    for (n, f) in fields.iter().enumerate() {
        let rest = &tokens[i.min(tokens.len())..];
        if matches!(
            f,
            F::CharStrs | F::Base64 | F::Hex | F::Bitmap | F::CaaValue
        ) {
            debug_assert_eq!(n + 1, fields.len());
            rest_field(*f, rest, &mut out)?;
            return Ok(out);
        }
        let tok = rest
            .first()
            .ok_or_else(|| format!("{} fields, {} given", fields.len(), tokens.len()))?;
        one_field(*f, tok, origin, &mut out)?;
        i += 1;
    }
    if i < tokens.len() {
        return Err(format!("{} fields, {} given", fields.len(), tokens.len()));
    }
    Ok(out)
}

/// RFC 3597 5: `\# LEN HEX...` (LEN 0 and no hex for empty RDATA).
fn generic(tokens: &[&Token]) -> Result<Vec<u8>, String> {
    let len: usize = tokens
        .first()
        .and_then(|t| t.text.parse().ok())
        .ok_or("\\# needs a decimal length")?;
    let hex: String = tokens[1..].iter().map(|t| &*t.text).collect();
    let rd = HEXLOWER_PERMISSIVE
        .decode(hex.as_bytes())
        .map_err(|_| "\\# data is not hexadecimal".to_string())?;
    if rd.len() != len {
        return Err(format!("\\# says {len} octets, the data has {}", rd.len()));
    }
    Ok(rd)
}

/// Known fixed lengths, so a generic-form A or AAAA is still well-formed.
fn check_fixed(rtype: u16, rd: &[u8]) -> Result<(), String> {
    let want = match rtype {
        1 => 4,
        28 => 16,
        _ => return Ok(()),
    };
    if rd.len() != want {
        return Err(format!("{} octets, {want} expected", rd.len()));
    }
    Ok(())
}

fn num<T: std::str::FromStr>(tok: &Token, what: &str) -> Result<T, String> {
    tok.text
        .parse()
        .map_err(|_| format!("bad {what} {:?}", tok.text))
}

fn one_field(f: Field, tok: &Token, origin: &Name, out: &mut Vec<u8>) -> Result<(), String> {
    match f {
        F::U8 => out.push(num::<u8>(tok, "8-bit number")?),
        F::U16 => out.extend(num::<u16>(tok, "16-bit number")?.to_be_bytes()),
        F::U32 => out.extend(num::<u32>(tok, "32-bit number")?.to_be_bytes()),
        F::Ttl => out.extend(ttl(&tok.text)?.to_be_bytes()),
        F::Ipv4 => out.extend(num::<std::net::Ipv4Addr>(tok, "IPv4 address")?.octets()),
        F::Ipv6 => out.extend(num::<std::net::Ipv6Addr>(tok, "IPv6 address")?.octets()),
        F::Name => out.extend(name::wire_as_written(&tok.text, origin)?),
        F::CharStr => char_string(tok, out)?,
        F::Type => out.extend(rtype_from_text(&tok.text)?.to_be_bytes()),
        F::Time => out.extend(rrsig_time(&tok.text)?.to_be_bytes()),
        F::Salt => {
            let salt = if tok.text == "-" {
                Vec::new()
            } else {
                HEXLOWER_PERMISSIVE
                    .decode(tok.text.as_bytes())
                    .map_err(|_| format!("bad salt {:?}", tok.text))?
            };
            let len = u8::try_from(salt.len()).map_err(|_| "salt over 255 octets")?;
            out.push(len);
            out.extend(salt);
        }
        F::Hash => {
            let up = tok.text.to_ascii_lowercase();
            let h = BASE32_DNSSEC
                .decode(up.as_bytes())
                .map_err(|_| format!("bad base32hex hash {:?}", tok.text))?;
            let len = u8::try_from(h.len()).map_err(|_| "hash over 255 octets")?;
            out.push(len);
            out.extend(h);
        }
        F::CaaTag => {
            let t = tok.text.as_bytes();
            if t.is_empty() || t.len() > 255 || !t.iter().all(u8::is_ascii_alphanumeric) {
                return Err(format!("bad CAA tag {:?}", tok.text));
            }
            out.push(t.len() as u8);
            out.extend_from_slice(t);
        }
        _ => return Err("internal: field out of place".into()),
    }
    Ok(())
}

fn rest_field(f: Field, rest: &[&Token], out: &mut Vec<u8>) -> Result<(), String> {
    let joined = || rest.iter().map(|t| &*t.text).collect::<String>();
    match f {
        F::CharStrs => {
            if rest.is_empty() {
                return Err("no character-string".into());
            }
            for t in rest {
                char_string(t, out)?;
            }
        }
        F::Base64 => {
            let d = BASE64
                .decode(joined().as_bytes())
                .map_err(|_| "bad base64".to_string())?;
            if d.is_empty() {
                return Err("empty base64 field".into());
            }
            out.extend(d);
        }
        F::Hex => {
            let d = HEXLOWER_PERMISSIVE
                .decode(joined().as_bytes())
                .map_err(|_| "bad hexadecimal".to_string())?;
            if d.is_empty() {
                return Err("empty hexadecimal field".into());
            }
            out.extend(d);
        }
        F::Bitmap => out.extend(bitmap(rest)?),
        F::CaaValue => {
            let [t] = rest else {
                return Err("needs exactly one value (quote it if it has blanks)".into());
            };
            out.extend(unescape_all(&t.text)?);
        }
        _ => return Err("internal: field out of place".into()),
    }
    Ok(())
}

/// Resolves `\X` and `\DDD` escapes (RFC 1035 5.1).
fn unescape_all(text: &str) -> Result<Vec<u8>, String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let (c, used) = name::unescape(&b[i..])?;
            out.push(c);
            i += used;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn char_string(tok: &Token, out: &mut Vec<u8>) -> Result<(), String> {
    let s = unescape_all(&tok.text)?;
    let len = u8::try_from(s.len())
        .map_err(|_| format!("character-string of {} octets (most 255)", s.len()))?;
    out.push(len);
    out.extend(s);
    Ok(())
}

/// RFC 4034 3.2: `YYYYMMDDHHmmSS` (UTC), or a plain number of seconds.
fn rrsig_time(text: &str) -> Result<u32, String> {
    let bad = || format!("bad signature time {text:?}");
    if text.len() != 14 {
        return text.parse::<u32>().map_err(|_| bad());
    }
    let d = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, da, h, mi, s) = (
        d(0..4).ok_or_else(bad)?,
        d(4..6).ok_or_else(bad)?,
        d(6..8).ok_or_else(bad)?,
        d(8..10).ok_or_else(bad)?,
        d(10..12).ok_or_else(bad)?,
        d(12..14).ok_or_else(bad)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm), then seconds.
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    // RFC 4034 3.1.5: serial arithmetic on 32 bits; the value is taken modulo 2^32.
    Ok(secs.rem_euclid(1 << 32) as u32)
}

/// RFC 4034 4.1.2: window blocks of the types listed.
fn bitmap(tokens: &[&Token]) -> Result<Vec<u8>, String> {
    let mut types = Vec::with_capacity(tokens.len());
    for t in tokens {
        types.push(rtype_from_text(&t.text)?);
    }
    Ok(bitmap_of(&types))
}

/// The type bitmap of a set of types (RFC 4034 4.1.2).
pub fn bitmap_of(types: &[u16]) -> Vec<u8> {
    let mut types = types.to_vec();
    types.sort_unstable();
    types.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < types.len() {
        let window = (types[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut used = 0;
        while i < types.len() && (types[i] >> 8) as u8 == window {
            let low = (types[i] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            used = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(used as u8);
        out.extend_from_slice(&bits[..used]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Token<'_>> {
        s.split_whitespace()
            .map(|t| Token {
                text: t.into(),
                quoted: false,
            })
            .collect()
    }

    /// (type, rdata text, expected hex or the error's text part).
    fn check(rtype: &str, text: &str, expected: Result<&str, &str>) {
        let origin = Name::parse("example.", &Name::root()).unwrap();
        let t = toks(text);
        let refs: Vec<&Token> = t.iter().collect();
        let got = encode(rtype_from_text(rtype).unwrap(), &refs, &origin)
            .map(|d| data_encoding::HEXLOWER.encode(&d));
        match expected {
            Ok(e) => assert_eq!(got.as_deref(), Ok(e), "{rtype} {text}"),
            Err(part) => {
                let e = got.unwrap_err();
                assert!(e.contains(part), "{rtype} {text}: {e}");
            }
        }
    }

    #[test]
    fn rdata_vectors() {
        check(
            "AAAA",
            "2001:db8::1",
            Ok("20010db8000000000000000000000001"),
        );
        check("A", "192.0.2.300", Err("bad IPv4"));
        check("A", "192.0.2.1 x", Err("1 fields, 2 given"));
        check("NS", "Ns1", Ok("034e7331076578616d706c6500"));
        check(
            "SOA",
            "ns. h. 1 1h 2m 3 4",
            Ok("026e73000168000000000100000e10000000780000000300000004"),
        );
        check("DS", "1 13 2 AB cd", Ok("00010d02abcd"));
        check("DS", "1 13 2", Err("empty hexadecimal"));
        check("TLSA", "3 1 1 zz", Err("bad hexadecimal"));
        check("DNSKEY", "257 3 13 AQID BA==", Ok("0101030d01020304"));
        check(
            "NSEC",
            "b.example. A RRSIG NSEC",
            Ok("0162076578616d706c65000006400000000003"),
        );
        check(
            "NSEC3",
            "1 1 0 - 00000000 A",
            Ok("0101000000050000000000000140"),
        );
        check("NSEC3PARAM", "1 0 10 aabb", Ok("0100000a02aabb"));
        check(
            "RRSIG",
            "A 13 2 300 20250101000000 1 7 example. AQID",
            Ok("00010d020000012c67748580000000010007076578616d706c6500010203"),
        );
        check(
            "RRSIG",
            "A 13 2 300 20251301000000 1 7 example. AQID",
            Err("bad signature time"),
        );
        check(
            "CAA",
            "0 issue letsencrypt.org",
            Ok("000569737375656c657473656e63727970742e6f7267"),
        );
        check("TXT", "", Err("no character-string"));
        check(
            "NAPTR",
            "100 10 S SIP+D2U !a!b! _sip._udp",
            Ok("0064000a0153075349502b443255052161216221045f736970045f756470076578616d706c6500"),
        );
        check("URI", "10 1 ftp://a/", Ok("000a00016674703a2f2f612f"));
        check(
            "RP",
            "mbox txt.",
            Ok("046d626f78076578616d706c65000374787400"),
        );
        check("SVCB", "1 .", Err("\\# LEN HEX"));
    }

    #[test]
    fn bitmap_windows() {
        // RFC 4034 4.3's example: A MX RRSIG NSEC TYPE1234.
        let got = data_encoding::HEXLOWER.encode(&bitmap_of(&[1, 15, 46, 47, 1234]));
        let mut want = "0006400100000003041b".to_string();
        want.push_str(&"00".repeat(26));
        want.push_str("20");
        assert_eq!(got, want);
    }

    #[test]
    fn ttl_vectors() {
        for (text, want) in [
            ("0", Some(0)),
            ("3600", Some(3600)),
            ("1h30m", Some(5400)),
            ("1W", Some(604_800)),
            ("2147483647", Some(2_147_483_647)),
            ("2147483648", None),
            ("", None),
            ("h", None),
            ("1x", None),
            ("99999999999999", None),
        ] {
            assert_eq!(ttl(text).ok(), want, "{text:?}");
        }
    }
}
