//! Trust anchors: DS or DNSKEY records for a zone, from zone-file lines or BIND's
//! `trust-anchors { }` clause; the IANA root anchors are built in.

use std::str::FromStr;

use hickory_proto::rr::Name;

use crate::Error;

/// One trust anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// A DS record: the zone's DNSKEY set must contain a key with this digest.
    Ds {
        /// The zone (lowercase, absolute).
        zone: Name,
        /// Key tag.
        key_tag: u16,
        /// DNSSEC algorithm number.
        algorithm: u8,
        /// Digest type (1 SHA-1, 2 SHA-256, 4 SHA-384).
        digest_type: u8,
        /// The digest.
        digest: Vec<u8>,
    },
    /// A DNSKEY: the zone's DNSKEY set must contain it and be signed by it.
    Dnskey {
        /// The zone (lowercase, absolute).
        zone: Name,
        /// The DNSKEY RDATA (flags, protocol, algorithm, public key).
        rdata: Vec<u8>,
    },
}

impl Anchor {
    /// The zone this anchor is for.
    pub fn zone(&self) -> &Name {
        match self {
            Anchor::Ds { zone, .. } | Anchor::Dnskey { zone, .. } => zone,
        }
    }
}

/// A set of trust anchors (possibly for several zones; the deepest that covers a name wins).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustAnchors {
    anchors: Vec<Anchor>,
}

/// IANA root anchors (https://data.iana.org/root-anchors/root-anchors.xml): KSK-2017 and
/// KSK-2024.
const IANA_ROOT: &str = "\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
";

impl TrustAnchors {
    /// The IANA root anchors (KSK-2017 tag 20326, KSK-2024 tag 38696).
    pub fn iana_root() -> Self {
        // The embedded text is fixed and parsed by a unit test; an error here would be a
        // build defect, so fall back to an empty set rather than panic.
        Self::parse(IANA_ROOT).unwrap_or_default()
    }

    /// The anchors.
    pub fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }

    /// Anchors from text: zone-file lines (`owner [TTL] [IN] DS tag alg type hex`,
    /// `owner [TTL] [IN] DNSKEY flags 3 alg base64`, parentheses and `;` comments allowed)
    /// or BIND's `trust-anchors { "name" static-ds|initial-ds|static-key|initial-key ...; };`
    /// (also `managed-keys` / `trusted-keys`).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bind = is_bind(text);
        let entries = if bind {
            bind_entries(&strip_block_comments(text))?
        } else {
            zone_entries(text)
        };
        let mut anchors = Vec::new();
        for (line, fields) in entries {
            anchors.push(parse_fields(line, &fields, bind)?);
        }
        if anchors.is_empty() {
            return Err(Error::Anchor {
                line: 0,
                reason: "no DS or DNSKEY record found".into(),
            });
        }
        Ok(Self { anchors })
    }

    /// The anchors for exactly `zone`.
    pub(crate) fn for_zone<'a>(&'a self, zone: &'a Name) -> impl Iterator<Item = &'a Anchor> + 'a {
        self.anchors.iter().filter(move |a| a.zone() == zone)
    }

    /// The deepest anchored zone that is `name` or an ancestor of it.
    pub(crate) fn closest(&self, name: &Name) -> Option<&Name> {
        self.anchors
            .iter()
            .map(Anchor::zone)
            .filter(|z| z.zone_of(name))
            .max_by_key(|z| z.num_labels())
    }
}

/// Whether the text is BIND configuration: a `trust-anchors`, `managed-keys` or
/// `trusted-keys` statement outside comments. A `{` alone says nothing: Unbound's
/// autotrust files carry `;{id = 20326 (ksk), size = 2048b}` comments.
fn is_bind(text: &str) -> bool {
    strip_block_comments(text).lines().any(|l| {
        let l = l.split(['#', ';']).next().unwrap_or("");
        let l = l.split("//").next().unwrap_or("");
        let first = l.split_whitespace().next().unwrap_or("");
        matches!(
            first.trim_end_matches('{'),
            "trust-anchors" | "managed-keys" | "trusted-keys"
        )
    })
}

/// BIND's `/* ... */` comments removed (line breaks kept, so line numbers stay right).
fn strip_block_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("*/") {
            Some(end) => {
                let inner = &rest[start + 2..start + 2 + end];
                out.extend(inner.chars().filter(|&c| c == '\n'));
                rest = &rest[start + 2 + end + 2..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// RFC 4034 2.2 and 5.3 (with A.1): the algorithm field may be a number or the mnemonic.
fn algorithm_number(field: &str) -> Option<u64> {
    if let Ok(n) = field.parse::<u64>() {
        return Some(n);
    }
    Some(match field.to_ascii_uppercase().as_str() {
        "RSAMD5" => 1,
        "DH" => 2,
        "DSA" => 3,
        "RSASHA1" => 5,
        "DSA-NSEC3-SHA1" => 6,
        "RSASHA1-NSEC3-SHA1" => 7,
        "RSASHA256" => 8,
        "RSASHA512" => 10,
        "ECC-GOST" => 12,
        "ECDSAP256SHA256" => 13,
        "ECDSAP384SHA384" => 14,
        "ED25519" => 15,
        "ED448" => 16,
        "INDIRECT" => 252,
        "PRIVATEDNS" => 253,
        "PRIVATEOID" => 254,
        _ => return None,
    })
}

/// Zone-file text into logical records (parentheses joined, comments removed).
fn zone_entries(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut start = 0;
    let mut depth = 0i32;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(';').next().unwrap_or("");
        let line = if line.trim_start().starts_with('#') {
            ""
        } else {
            line
        };
        if current.is_empty() {
            start = i + 1;
        }
        for tok in line
            .replace('(', " ( ")
            .replace(')', " ) ")
            .split_whitespace()
        {
            match tok {
                "(" => depth += 1,
                ")" => depth -= 1,
                t => current.push(t.to_string()),
            }
        }
        if depth <= 0 && !current.is_empty() {
            if !current[0].starts_with('$') {
                out.push((start, std::mem::take(&mut current)));
            }
            current.clear();
            depth = 0;
        }
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

/// BIND `trust-anchors { ... };` entries into zone-file-like fields.
fn bind_entries(text: &str) -> Result<Vec<(usize, Vec<String>)>, Error> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut stmt: Vec<String> = Vec::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("");
        let line = line.split('#').next().unwrap_or("");
        let spaced = line
            .replace('{', " { ")
            .replace('}', " } ")
            .replace(';', " ; ");
        // Quoted strings hold no spaces in anchors (names, hex, base64 without blanks
        // inside one quoted run), but base64 may be split over several quoted runs.
        for tok in spaced.split_whitespace() {
            match tok {
                "{" => inside = true,
                "}" => inside = false,
                ";" => {
                    if inside && !stmt.is_empty() {
                        out.push((start, std::mem::take(&mut stmt)));
                    }
                    stmt.clear();
                }
                t if inside => {
                    if stmt.is_empty() {
                        start = i + 1;
                    }
                    stmt.push(t.trim_matches('"').to_string());
                }
                _ => {}
            }
        }
    }
    if inside {
        return Err(Error::Anchor {
            line: start,
            reason: "unterminated `{` block".into(),
        });
    }
    // `"name" static-ds tag alg type "hex"` -> `name DS tag alg type hex`.
    let mut mapped = Vec::new();
    for (line, f) in out {
        if f.len() < 2 {
            return Err(Error::Anchor {
                line,
                reason: format!("short entry {:?}", f.join(" ")),
            });
        }
        let kind = match f[1].as_str() {
            "static-ds" | "initial-ds" => "DS",
            "static-key" | "initial-key" => "DNSKEY",
            // trusted-keys: `"name" flags proto alg "key"`
            s if s.parse::<u16>().is_ok() => {
                let mut g = vec![f[0].clone(), "DNSKEY".to_string()];
                g.extend(f[1..].iter().cloned());
                mapped.push((line, g));
                continue;
            }
            other => {
                return Err(Error::Anchor {
                    line,
                    reason: format!("unknown anchor kind {other:?}"),
                });
            }
        };
        let mut g = vec![f[0].clone(), kind.to_string()];
        g.extend(f[2..].iter().cloned());
        mapped.push((line, g));
    }
    Ok(mapped)
}

fn parse_fields(line: usize, fields: &[String], _bind: bool) -> Result<Anchor, Error> {
    let bad = |reason: String| Error::Anchor { line, reason };
    let owner = fields.first().ok_or_else(|| bad("empty record".into()))?;
    if !owner.ends_with('.') {
        return Err(bad(format!(
            "owner {owner:?} is not absolute (end it with '.')"
        )));
    }
    let zone = Name::from_str(owner)
        .map_err(|e| bad(format!("owner {owner:?}: {e}")))?
        .to_lowercase();
    // Skip TTL and class in either order.
    let mut i = 1;
    while i < fields.len() && i <= 2 {
        let f = fields[i].to_ascii_uppercase();
        if f == "IN" || f.parse::<u32>().is_ok() {
            i += 1;
        } else {
            break;
        }
    }
    let rtype = fields
        .get(i)
        .map(|s| s.to_ascii_uppercase())
        .ok_or_else(|| bad("no record type".into()))?;
    let rest = &fields[i + 1..];
    let num = |idx: usize, what: &str| -> Result<u64, Error> {
        let field = rest
            .get(idx)
            .ok_or_else(|| bad(format!("{rtype}: missing {what}")))?;
        let parsed = if what == "algorithm" {
            algorithm_number(field)
        } else {
            field.parse::<u64>().ok()
        };
        parsed.ok_or_else(|| {
            bad(format!(
                "{rtype}: {what} {field:?} is not a number{}",
                if what == "algorithm" {
                    " or an algorithm mnemonic"
                } else {
                    ""
                }
            ))
        })
    };
    match rtype.as_str() {
        "DS" => {
            let key_tag = num(0, "key tag")?;
            let algorithm = num(1, "algorithm")?;
            let digest_type = num(2, "digest type")?;
            if key_tag > 65535 || algorithm > 255 || digest_type > 255 {
                return Err(bad("DS: field out of range".into()));
            }
            let hex: String = rest.get(3..).unwrap_or(&[]).concat();
            if hex.is_empty() {
                return Err(bad("DS: missing digest".into()));
            }
            let digest = data_encoding::HEXLOWER_PERMISSIVE
                .decode(hex.as_bytes())
                .map_err(|_| bad(format!("DS: digest {hex:?} is not hex")))?;
            Ok(Anchor::Ds {
                zone,
                key_tag: key_tag as u16,
                algorithm: algorithm as u8,
                digest_type: digest_type as u8,
                digest,
            })
        }
        "DNSKEY" => {
            let flags = num(0, "flags")?;
            let protocol = num(1, "protocol")?;
            let algorithm = num(2, "algorithm")?;
            if flags > 65535 || protocol != 3 || algorithm > 255 {
                return Err(bad(
                    "DNSKEY: flags, protocol (must be 3) or algorithm out of range".into(),
                ));
            }
            let b64: String = rest.get(3..).unwrap_or(&[]).concat();
            let key = data_encoding::BASE64
                .decode(b64.as_bytes())
                .map_err(|_| bad("DNSKEY: public key is not base64".into()))?;
            if key.is_empty() {
                return Err(bad("DNSKEY: missing public key".into()));
            }
            let mut rdata = (flags as u16).to_be_bytes().to_vec();
            rdata.push(3);
            rdata.push(algorithm as u8);
            rdata.extend_from_slice(&key);
            Ok(Anchor::Dnskey { zone, rdata })
        }
        other => Err(bad(format!("record type {other} is not DS or DNSKEY"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_root_has_both_ksks() {
        let a = TrustAnchors::iana_root();
        let tags: Vec<u16> = a
            .anchors()
            .iter()
            .map(|x| match x {
                Anchor::Ds { key_tag, .. } => *key_tag,
                Anchor::Dnskey { .. } => 0,
            })
            .collect();
        assert_eq!(tags, vec![20326, 38696]);
    }

    #[test]
    fn forms() {
        let ds = ". 3600 IN DS 25102 8 2 41498c4561c33408601e48095cfbc8046da93a536d8fd7f4bbc333edb055bbb0\n";
        let bind = "trust-anchors {\n  . static-ds 25102 8 2 \"41498c4561c33408601e48095cfbc8046da93a536d8fd7f4bbc333edb055bbb0\";\n};\n";
        let multi = "; comment\nexample. IN DS ( 25102 8 2\n 41498c4561c33408601e48095cfbc804\n 6da93a536d8fd7f4bbc333edb055bbb0 )\n";
        let a = TrustAnchors::parse(ds).unwrap();
        let b = TrustAnchors::parse(bind).unwrap();
        assert_eq!(a, b);
        let c = TrustAnchors::parse(multi).unwrap();
        assert_eq!(c.anchors()[0].zone().to_ascii(), "example.");
        let key = ". IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n";
        let k = TrustAnchors::parse(key).unwrap();
        assert!(matches!(&k.anchors()[0], Anchor::Dnskey { rdata, .. } if rdata.len() == 36));
        let bindkey = "trust-anchors { \"example.\" initial-key 257 3 15 \"l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\"; };";
        assert_eq!(
            TrustAnchors::parse(bindkey).unwrap().anchors()[0]
                .zone()
                .to_ascii(),
            "example."
        );
    }

    fn fixture(name: &str) -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/dns/anchors/real/"
        );
        #[allow(clippy::disallowed_methods)] // test fixture, not library I/O
        std::fs::read_to_string(format!("{path}{name}")).unwrap()
    }

    fn summary(a: &TrustAnchors) -> Vec<String> {
        a.anchors()
            .iter()
            .map(|x| match x {
                Anchor::Ds {
                    zone,
                    key_tag,
                    algorithm,
                    digest_type,
                    ..
                } => format!("{zone} DS {key_tag} {algorithm} {digest_type}"),
                Anchor::Dnskey { zone, rdata } => {
                    format!("{zone} DNSKEY {}", crate::crypto::key_tag(rdata))
                }
            })
            .collect()
    }

    /// The files real tools write and ship (fixtures/dns/anchors/real, see its README).
    #[test]
    fn real_anchor_files() {
        // Unbound's autotrust file: `;;` state comments, and `;{id = ...}` on the key line
        // (a `{` in a comment once made it look like BIND syntax).
        let a = TrustAnchors::parse(&fixture("unbound-autotrust.key")).unwrap();
        assert_eq!(summary(&a), [". DNSKEY 25102"]);
        let a = TrustAnchors::parse(&fixture("dns-root-data.root.key")).unwrap();
        assert_eq!(summary(&a), [". DNSKEY 20326", ". DNSKEY 38696"]);
        let a = TrustAnchors::parse(&fixture("dns-root-data.root.ds")).unwrap();
        assert_eq!(summary(&a), [". DS 20326 8 2", ". DS 38696 8 2"]);
        assert_eq!(a, TrustAnchors::iana_root());
        // BIND's bind.keys: `#` comments, an initial-key over seven lines, an initial-ds
        // whose quoted digest is broken over two lines.
        let b = TrustAnchors::parse(&fixture("bind.keys")).unwrap();
        assert_eq!(summary(&b), [". DNSKEY 20326", ". DS 38696 8 2"]);
        assert_eq!(b.anchors()[1], TrustAnchors::iana_root().anchors()[1]);
    }

    #[test]
    fn comments_with_braces_and_algorithm_mnemonics() {
        let ds =
            ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D";
        let plain = TrustAnchors::parse(ds).unwrap();
        for text in [
            format!("; a comment {{ with a brace }}\n{ds}\n"),
            format!("{ds} ; {{id = 20326 (ksk), size = 2048b}}\n"),
            ds.replace(" 8 2 ", " RSASHA256 2 "),
            ds.replace(" 8 2 ", " rsasha256 2 "),
        ] {
            assert_eq!(TrustAnchors::parse(&text).unwrap(), plain, "{text}");
        }
        let key = ". IN DNSKEY 257 3 ED25519 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=";
        let k = TrustAnchors::parse(key).unwrap();
        assert!(matches!(&k.anchors()[0], Anchor::Dnskey { rdata, .. } if rdata[3] == 15));
        let bind = "/* block\n comment */\ntrust-anchors {\n  example. static-ds 1 ECDSAP256SHA256 2 \"00ff\";\n};\n";
        let b = TrustAnchors::parse(bind).unwrap();
        assert!(matches!(&b.anchors()[0], Anchor::Ds { algorithm: 13, .. }));
        let err = TrustAnchors::parse(&ds.replace(" 8 2 ", " RSASHA999 2 "))
            .unwrap_err()
            .to_string();
        assert!(err.contains("algorithm mnemonic"), "{err}");
    }

    #[test]
    fn bad_anchor_text_is_an_error_with_the_line() {
        for (text, want) in [
            ("", "no DS or DNSKEY"),
            ("example IN DS 1 8 2 00\n", "not absolute"),
            (". IN A 192.0.2.1\n", "not DS or DNSKEY"),
            (". IN DS x 8 2 00\n", "not a number"),
            (". IN DS 1 8 2 zz\n", "not hex"),
            (". IN DS 1 8 2\n", "missing digest"),
            (". IN DNSKEY 257 3 8 !!!\n", "base64"),
            (". IN DNSKEY 257 2 8 AAAA\n", "protocol"),
            ("trust-anchors { . static-ds 1 8 2 \"00\";", "unterminated"),
            ("trust-anchors { . bogus-kind 1; };", "unknown anchor kind"),
        ] {
            let err = TrustAnchors::parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
