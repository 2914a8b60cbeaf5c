//! A minimal DER reader and writer for the few key structures x509-parser does not cover
//! (PKCS#8, PKCS#1, SEC1 private keys; building SubjectPublicKeyInfo). Single-octet tags and
//! definite lengths only, which is all DER allows for these structures. Bounded: every read
//! checks the remaining length; nothing recurses on input.

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const CONTEXT_0: u8 = 0xa0;
pub(crate) const CONTEXT_1: u8 = 0xa1;

/// One decoded TLV.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// Reads TLVs from a byte slice, front to back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads the next TLV.
    pub fn read(&mut self) -> Result<Tlv<'a>, String> {
        let (&tag, rest) = self.data.split_first().ok_or("unexpected end of data")?;
        if tag & 0x1f == 0x1f {
            return Err("multi-octet tags are not expected here".into());
        }
        let (&first, mut rest) = rest.split_first().ok_or("truncated length")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(format!("unsupported length encoding 0x{first:02x}"));
            }
            if rest.len() < n {
                return Err("truncated length".into());
            }
            let (len_bytes, after) = rest.split_at(n);
            rest = after;
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if rest.len() < len {
            return Err(format!("value of {len} octets, only {} left", rest.len()));
        }
        let (value, after) = rest.split_at(len);
        self.data = after;
        Ok(Tlv { tag, value })
    }

    /// Reads the next TLV and checks its tag.
    pub fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        let tlv = self.read().map_err(|e| format!("{what}: {e}"))?;
        if tlv.tag != tag {
            return Err(format!(
                "{what}: expected tag 0x{tag:02x}, found 0x{:02x}",
                tlv.tag
            ));
        }
        Ok(tlv.value)
    }

    /// Reads an optional TLV with `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, String> {
        if self.peek_tag() == Some(tag) {
            Ok(Some(self.read()?.value))
        } else {
            Ok(None)
        }
    }

    /// Fails unless all input was consumed.
    pub fn finish(&self, what: &str) -> Result<(), String> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{what}: {} octets of trailing data",
                self.data.len()
            ))
        }
    }
}

/// Reads exactly one TLV with `tag` spanning all of `data`, returning its value.
pub(crate) fn single(data: &[u8], tag: u8, what: &str) -> Result<(), String> {
    let mut r = Reader::new(data);
    r.expect(tag, what)?;
    r.finish(what)
}

/// Appends a TLV with a definite, minimal length.
pub(crate) fn write(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8); // < 0x80 by the branch
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = &bytes[skip..];
        out.push(0x80 | significant.len() as u8); // at most size_of::<usize>() octets
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(value);
}

/// A TLV as a new vector.
pub(crate) fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    write(&mut out, tag, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 65_536] {
            let value = vec![7u8; len];
            let enc = tlv(OCTET_STRING, &value);
            let mut r = Reader::new(&enc);
            let got = r.expect(OCTET_STRING, "x").unwrap();
            assert_eq!(got.len(), len);
            r.finish("x").unwrap();
        }
        assert_eq!(tlv(NULL, &[]), vec![0x05, 0x00]);
        assert_eq!(tlv(OCTET_STRING, &[0; 128])[..3], [0x04, 0x81, 0x80]);
    }

    #[test]
    fn malformed_input_is_an_error() {
        fn check(input: &[u8]) {
            assert!(Reader::new(input).read().is_err(), "{input:02x?}");
        }
        check(&[]);
        check(&[0x30]);
        check(&[0x30, 0x05, 1, 2]);
        check(&[0x30, 0x82, 0x01]);
        check(&[0x30, 0x80]);
        check(&[0x1f, 0x01, 0x00]);
        check(&[0x30, 0x85, 1, 1, 1, 1, 1]);
        assert!(single(&[0x30, 0x00, 0x00], SEQUENCE, "x").is_err());
        assert!(
            Reader::new(&[0x02, 0x01, 0x00])
                .expect(SEQUENCE, "x")
                .is_err()
        );
    }
}
