//! Domain names as the zone checker keeps them: absolute, lowercased labels (RFC 4034 6.2
//! canonical form), ordered canonically (RFC 4034 6.1).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// An absolute domain name, labels lowercased, leftmost label first.
///
/// Kept compact: the labels in wire form (each length-prefixed, lowercased, without the
/// root label) in one shared allocation, since a zone holds several names per record: a
/// clone (the records of one owner, the keys of the grouped zone) shares it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(Arc<[u8]>);

/// Longest label (RFC 1035 2.3.4).
const MAX_LABEL: usize = 63;
/// Longest name in wire form, root label included (RFC 1035 2.3.4).
const MAX_NAME: usize = 255;
/// Most labels a name of 255 octets has.
const MAX_LABELS: usize = 127;

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name(Arc::from(&[][..]))
    }

    /// A name from raw labels (lowercased here); `Err` if a label or the name is too long
    /// or a label is empty.
    pub fn from_labels<L: AsRef<[u8]>>(labels: Vec<L>) -> Result<Name, String> {
        let mut total = 1;
        let mut out = Vec::with_capacity(labels.iter().map(|l| l.as_ref().len() + 1).sum());
        for l in &labels {
            let l = l.as_ref();
            if l.is_empty() {
                return Err("empty label".into());
            }
            if l.len() > MAX_LABEL {
                return Err(format!("label of {} octets (most 63)", l.len()));
            }
            total += l.len() + 1;
            out.push(l.len() as u8); // at most 63, checked above
            out.extend(l.iter().map(u8::to_ascii_lowercase));
        }
        if total > MAX_NAME {
            return Err(format!("name of {total} octets (most 255)"));
        }
        Ok(Name(out.into()))
    }

    /// Parses presentation text (`\DDD` and `\X` escapes, RFC 1035 5.1) relative to
    /// `origin` unless it ends in an unescaped dot; `@` is the origin itself.
    pub fn parse(text: &str, origin: &Name) -> Result<Name, String> {
        if text == "@" {
            return Ok(origin.clone());
        }
        if text == "." {
            return Ok(Name::root());
        }
        let (labels, absolute) = split_labels(text.as_bytes())?;
        let mut labels: Vec<Vec<u8>> = labels;
        if !absolute {
            labels.extend(origin.labels().into_iter().map(<[u8]>::to_vec));
        }
        Name::from_labels(labels)
    }

    /// The start offsets of the labels (their length octets), leftmost first, and their
    /// count; no allocation.
    fn offsets(&self) -> ([u8; MAX_LABELS], usize) {
        let mut out = [0u8; MAX_LABELS];
        let (mut at, mut n) = (0usize, 0usize);
        while at < self.0.len() && n < MAX_LABELS {
            out[n] = at as u8; // below 255: from_labels bounds the name
            n += 1;
            at += 1 + usize::from(self.0[at]);
        }
        (out, n)
    }

    /// The label at `offset` (its length octet).
    fn label_at(&self, offset: u8) -> &[u8] {
        let at = usize::from(offset);
        &self.0[at + 1..at + 1 + usize::from(self.0[at])]
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> Vec<&[u8]> {
        let (offs, n) = self.offsets();
        offs[..n].iter().map(|&o| self.label_at(o)).collect()
    }

    /// Number of labels, not counting the root (RRSIG Labels field, RFC 4034 3.1.3,
    /// counts a leading `*` separately: the caller handles it).
    pub fn label_count(&self) -> usize {
        self.offsets().1
    }

    /// Whether the leftmost label is `*`.
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with(b"\x01*")
    }

    /// [`Name::wire`] without the root label, borrowed (no copy per use).
    pub(crate) fn wire_without_root(&self) -> &[u8] {
        &self.0
    }

    /// The uncompressed wire form (labels are already lowercase: canonical, RFC 4034 6.2).
    pub fn wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        out.extend_from_slice(&self.0);
        out.push(0);
        out
    }

    /// Whether `self` is `other` or below it.
    pub fn is_at_or_below(&self, other: &Name) -> bool {
        let (offs, n) = self.offsets();
        let m = other.label_count();
        if n < m {
            return false;
        }
        let from = if m == 0 {
            self.0.len()
        } else {
            usize::from(offs[n - m])
        };
        self.0[from..] == other.0[..]
    }

    /// Whether `wire`, labels in wire form without the root label, is this name in any
    /// case (length octets are at most 63, below the ASCII letters: unaffected).
    pub(crate) fn matches_wire(&self, wire: &[u8]) -> bool {
        self.0.eq_ignore_ascii_case(wire)
    }

    /// The parent name (`None` for the root).
    pub fn parent(&self) -> Option<Name> {
        let first = usize::from(*self.0.first()?);
        Some(Name(self.0[1 + first..].into()))
    }
}

/// The uncompressed wire form of a name in RDATA, with the case of the labels as written
/// (RFC 4034 6.2 lowercases only some types' names; the canonical form is applied later,
/// by dane-dnssec). The origin's labels are lowercase.
pub(crate) fn wire_as_written(text: &str, origin: &Name) -> Result<Vec<u8>, String> {
    // Validates lengths and escapes once.
    let checked = Name::parse(text, origin)?;
    if text == "@" || text == "." {
        return Ok(checked.wire());
    }
    let (mut labels, absolute) = split_labels(text.as_bytes())?;
    if !absolute {
        labels.extend(origin.labels().into_iter().map(<[u8]>::to_vec));
    }
    let mut out = Vec::with_capacity(checked.wire().len());
    for l in &labels {
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
    Ok(out)
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    /// Canonical order (RFC 4034 6.1).
    fn cmp(&self, other: &Self) -> Ordering {
        canonical_cmp(self, other)
    }
}

/// Splits presentation text into raw labels; the flag says whether it ended in a dot.
fn split_labels(text: &[u8]) -> Result<(Vec<Vec<u8>>, bool), String> {
    let mut labels = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    let mut absolute = false;
    while i < text.len() {
        match text[i] {
            b'\\' => {
                let (byte, used) = unescape(&text[i..])?;
                cur.push(byte);
                i += used;
                continue;
            }
            b'.' => {
                if cur.is_empty() {
                    return Err("empty label in name".into());
                }
                labels.push(std::mem::take(&mut cur));
                if i + 1 == text.len() {
                    absolute = true;
                }
            }
            c => cur.push(c),
        }
        i += 1;
    }
    if !cur.is_empty() {
        labels.push(cur);
    }
    if labels.is_empty() {
        return Err("empty name".into());
    }
    Ok((labels, absolute))
}

/// One escape at the start of `text` (which begins with a backslash): `\DDD` (decimal,
/// at most 255) or `\X`. Returns the octet and how many input octets it used.
pub(crate) fn unescape(text: &[u8]) -> Result<(u8, usize), String> {
    let digits = text.get(1..4).filter(|d| d.iter().all(u8::is_ascii_digit));
    if let Some(d) = digits {
        let v = d.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'));
        let v = u8::try_from(v).map_err(|_| format!("escape \\{v} above 255"))?;
        return Ok((v, 4));
    }
    match text.get(1) {
        Some(c) if c.is_ascii_digit() => Err("escape \\D needs three decimal digits".into()),
        Some(&c) => Ok((c, 2)),
        None => Err("backslash at the end of a field".into()),
    }
}

/// Canonical DNS name order (RFC 4034 6.1): labels compared from the root down as
/// (lowercased) octets, a name sorting before its descendants.
pub fn canonical_cmp(a: &Name, b: &Name) -> Ordering {
    // The same allocation (records of one owner share it) or the same octets: equal,
    // without finding the labels.
    if Arc::ptr_eq(&a.0, &b.0) || a.0 == b.0 {
        return Ordering::Equal;
    }
    let ((ao, an), (bo, bn)) = (a.offsets(), b.offsets());
    for (&x, &y) in ao[..an].iter().rev().zip(bo[..bn].iter().rev()) {
        match a.label_at(x).cmp(b.label_at(y)) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    an.cmp(&bn)
}

impl fmt::Display for Name {
    /// Presentation form with escapes for dots, backslashes, quotes, and octets that are
    /// not printable ASCII (safe to print to a terminal).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str(".");
        }
        for l in self.labels() {
            for &c in l {
                match c {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                        write!(f, "\\{}", c as char)?
                    }
                    0x21..=0x7e => write!(f, "{}", c as char)?,
                    _ => write!(f, "\\{c:03}")?,
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    #[test]
    fn parse_vectors() {
        let origin = n("example.com.");
        let check = |input: &str, expected: Result<&str, ()>| {
            let got = Name::parse(input, &origin).map(|x| x.to_string());
            match expected {
                Ok(e) => assert_eq!(got.as_deref(), Ok(e), "{input}"),
                Err(()) => assert!(got.is_err(), "{input}: {got:?}"),
            }
        };
        check("@", Ok("example.com."));
        check("www", Ok("www.example.com."));
        check("WWW.Other.", Ok("www.other."));
        check(".", Ok("."));
        check("a\\.b", Ok("a\\.b.example.com."));
        check("\\065b", Ok("ab.example.com."));
        check("\\256", Err(()));
        check("\\12", Err(()));
        check("a..b", Err(()));
        check("x\\", Err(()));
        check(&"a".repeat(64), Err(()));
        check(&format!("{}.", vec!["a".repeat(63); 4].join(".")), Err(()));
        check("*.wild", Ok("*.wild.example.com."));
        check("a\\000b", Ok("a\\000b.example.com."));
    }

    #[test]
    fn canonical_order_is_rfc4034_example() {
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
    }

    #[test]
    fn below() {
        assert!(n("a.b.c.").is_at_or_below(&n("b.c.")));
        assert!(n("b.c.").is_at_or_below(&n("b.c.")));
        assert!(!n("ab.c.").is_at_or_below(&n("b.c.")));
        assert!(n("x.").is_at_or_below(&Name::root()));
    }
}
