//! Signature verification and digests with ring: DNSSEC algorithms 5, 7, 8, 10, 13, 14, 15
//! (RFC 8624 section 3.1) and DS digest types 1, 2, 4 (RFC 8624 section 3.3).

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

/// Whether we can verify signatures of this DNSSEC algorithm number.
pub fn algorithm_supported(alg: u8) -> bool {
    matches!(alg, 5 | 7 | 8 | 10 | 13 | 14 | 15)
}

/// Whether we can compute this DS digest type.
pub fn digest_supported(digest_type: u8) -> bool {
    matches!(digest_type, 1 | 2 | 4)
}

/// The mnemonic of a DNSSEC algorithm number (IANA registry).
pub fn algorithm_name(alg: u8) -> &'static str {
    match alg {
        1 => "RSAMD5",
        3 => "DSA",
        5 => "RSASHA1",
        6 => "DSA-NSEC3-SHA1",
        7 => "RSASHA1-NSEC3-SHA1",
        8 => "RSASHA256",
        10 => "RSASHA512",
        12 => "ECC-GOST",
        13 => "ECDSAP256SHA256",
        14 => "ECDSAP384SHA384",
        15 => "ED25519",
        16 => "ED448",
        _ => "unknown",
    }
}

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1 is not supported and
/// uses the same sum, which is harmless: such keys never verify).
pub fn key_tag(dnskey_rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in dnskey_rdata.iter().enumerate() {
        ac += if i & 1 == 1 {
            u32::from(b)
        } else {
            u32::from(b) << 8
        };
    }
    ac += (ac >> 16) & 0xffff;
    (ac & 0xffff) as u16
}

/// The DS digest of `owner_wire || dnskey_rdata` (RFC 4034 5.1.4), `None` if unsupported.
pub fn ds_digest(digest_type: u8, owner_wire: &[u8], dnskey_rdata: &[u8]) -> Option<Vec<u8>> {
    let alg = match digest_type {
        1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        2 => &ring::digest::SHA256,
        4 => &ring::digest::SHA384,
        _ => return None,
    };
    let mut ctx = ring::digest::Context::new(alg);
    ctx.update(owner_wire);
    ctx.update(dnskey_rdata);
    Some(ctx.finish().as_ref().to_vec())
}

/// Why a signature did not verify with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The algorithm is not one we validate.
    Unsupported,
    /// The public key field is malformed for its algorithm (or an RSA key ring refuses,
    /// e.g. a modulus under 1024 bits).
    BadKey(&'static str),
    /// The signature does not verify.
    Invalid,
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

/// Verifies `sig` over `data` with a DNSKEY public key field of algorithm `alg`.
pub fn verify(alg: u8, public_key: &[u8], data: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
    match alg {
        5 | 7 | 8 | 10 => {
            // RFC 3110 section 2: exponent length (1 octet, or 0 then 2 octets), exponent,
            // modulus.
            let (elen, rest) = match public_key {
                [0, hi, lo, rest @ ..] => ((usize::from(*hi) << 8) | usize::from(*lo), rest),
                [len, rest @ ..] => (usize::from(*len), rest),
                [] => return Err(VerifyError::BadKey("empty RSA key")),
            };
            if elen == 0 || rest.len() <= elen {
                return Err(VerifyError::BadKey(
                    "RSA key shorter than its exponent length",
                ));
            }
            let (e, n) = rest.split_at(elen);
            let params = match alg {
                8 => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                10 => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
                _ => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            };
            let n = strip_zeros(n);
            if n.len() < 128 {
                // ring verifies moduli of 1024 bits and more only. RFC 3110 and RFC 5702
                // allow shorter ones and Unbound and BIND validate them (with OpenSSL), so
                // a DANE sender behind them delivers: verify them here (public data only,
                // so no constant-time concern), and the caller warns (`weak-key`).
                return small_rsa::verify(alg, strip_zeros(e), n, data, sig);
            }
            let key = RsaPublicKeyComponents {
                n,
                e: strip_zeros(e),
            };
            key.verify(params, data, sig)
                .map_err(|_| VerifyError::Invalid)
        }
        13 | 14 => {
            // RFC 6605 section 4: the key is Q = x || y, the signature r || s, fixed width.
            let (algorithm, width) = match alg {
                13 => (&signature::ECDSA_P256_SHA256_FIXED, 64),
                _ => (&signature::ECDSA_P384_SHA384_FIXED, 96),
            };
            if public_key.len() != width {
                return Err(VerifyError::BadKey("ECDSA key of the wrong length"));
            }
            let mut point = Vec::with_capacity(width + 1);
            point.push(0x04);
            point.extend_from_slice(public_key);
            UnparsedPublicKey::new(algorithm, point)
                .verify(data, sig)
                .map_err(|_| VerifyError::Invalid)
        }
        15 => {
            // RFC 8080 section 3: 32-octet public key, 64-octet signature.
            if public_key.len() != 32 {
                return Err(VerifyError::BadKey("Ed25519 key not 32 octets"));
            }
            UnparsedPublicKey::new(&signature::ED25519, public_key)
                .verify(data, sig)
                .map_err(|_| VerifyError::Invalid)
        }
        _ => Err(VerifyError::Unsupported),
    }
}

/// The modulus size in bits of an RSA DNSKEY public key field (RFC 3110 section 2), for
/// algorithms 5, 7, 8 and 10; `None` for other algorithms or a malformed key.
pub(crate) fn rsa_modulus_bits(alg: u8, public_key: &[u8]) -> Option<u32> {
    if !matches!(alg, 5 | 7 | 8 | 10) {
        return None;
    }
    let (elen, rest) = match public_key {
        [0, hi, lo, rest @ ..] => ((usize::from(*hi) << 8) | usize::from(*lo), rest),
        [len, rest @ ..] => (usize::from(*len), rest),
        [] => return None,
    };
    let n = strip_zeros(rest.get(elen..)?);
    let first = *n.first()?;
    Some((n.len() as u32 - 1) * 8 + (8 - first.leading_zeros()))
}

/// RSA PKCS#1 v1.5 verification (RFC 8017 8.2.2) for moduli under 1024 bits, which ring
/// refuses. Plain schoolbook arithmetic on public values: the exponent is capped at 64
/// bits (real keys use 3 or 65537) so a hostile key costs at most ~130 modular products.
mod small_rsa {
    use super::VerifyError;

    /// Little-endian 32-bit limbs.
    type Big = Vec<u32>;

    fn from_be(b: &[u8]) -> Big {
        let mut out = vec![0u32; b.len().div_ceil(4)];
        for (i, &byte) in b.iter().rev().enumerate() {
            out[i / 4] |= u32::from(byte) << (8 * (i % 4));
        }
        out
    }

    fn to_be(a: &[u32], len: usize) -> Vec<u8> {
        (0..len)
            .rev()
            .map(|i| a.get(i / 4).map_or(0, |l| (l >> (8 * (i % 4))) as u8))
            .collect()
    }

    fn bits(a: &[u32]) -> usize {
        a.iter()
            .rposition(|&l| l != 0)
            .map_or(0, |i| i * 32 + 32 - a[i].leading_zeros() as usize)
    }

    fn bit(a: &[u32], i: usize) -> bool {
        a.get(i / 32).is_some_and(|l| l >> (i % 32) & 1 == 1)
    }

    /// `a >= b` for equal-length limb vectors.
    fn ge(a: &[u32], b: &[u32]) -> bool {
        for i in (0..a.len()).rev() {
            if a[i] != b[i] {
                return a[i] > b[i];
            }
        }
        true
    }

    fn sub_in_place(a: &mut [u32], b: &[u32]) {
        let mut borrow = 0i64;
        for i in 0..a.len() {
            let d = i64::from(a[i]) - i64::from(b[i]) - borrow;
            borrow = i64::from(d < 0);
            a[i] = (d + (borrow << 32)) as u32;
        }
    }

    /// `x mod n` by shift and subtract, one bit of `x` at a time (`n` has `w` limbs, one
    /// spare so the shifted remainder cannot overflow).
    fn reduce(x: &[u32], n: &[u32]) -> Big {
        let w = n.len();
        let mut r = vec![0u32; w];
        for i in (0..bits(x)).rev() {
            let mut carry = u32::from(bit(x, i));
            for l in r.iter_mut() {
                let next = *l >> 31;
                *l = (*l << 1) | carry;
                carry = next;
            }
            if ge(&r, n) {
                sub_in_place(&mut r, n);
            }
        }
        r
    }

    fn mul_mod(a: &[u32], b: &[u32], n: &[u32]) -> Big {
        let mut p = vec![0u64; a.len() + b.len() + 1];
        for (i, &x) in a.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &y) in b.iter().enumerate() {
                let t = p[i + j] + u64::from(x) * u64::from(y) + carry;
                p[i + j] = t & 0xffff_ffff;
                carry = t >> 32;
            }
            let mut k = i + b.len();
            while carry != 0 {
                let t = p[k] + carry;
                p[k] = t & 0xffff_ffff;
                carry = t >> 32;
                k += 1;
            }
        }
        let p: Big = p.into_iter().map(|l| l as u32).collect();
        reduce(&p, n)
    }

    /// DER DigestInfo prefixes (RFC 8017 9.2 note 1).
    const SHA1: &[u8] = &[
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
    ];
    const SHA256: &[u8] = &[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    const SHA512: &[u8] = &[
        0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
        0x05, 0x00, 0x04, 0x40,
    ];

    pub(super) fn verify(
        alg: u8,
        e: &[u8],
        n: &[u8],
        data: &[u8],
        sig: &[u8],
    ) -> Result<(), VerifyError> {
        let (prefix, digest) = match alg {
            8 => (SHA256, ring::digest::digest(&ring::digest::SHA256, data)),
            10 => (SHA512, ring::digest::digest(&ring::digest::SHA512, data)),
            _ => (
                SHA1,
                ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data),
            ),
        };
        let k = n.len();
        // RFC 8017 9.2: the encoding needs at least 11 octets beyond the DigestInfo.
        if k < prefix.len() + digest.as_ref().len() + 11 {
            return Err(VerifyError::BadKey("RSA modulus too short for its digest"));
        }
        if e.is_empty() || e.len() > 8 {
            return Err(VerifyError::BadKey(
                "RSA exponent over 64 bits with a modulus under 1024 bits",
            ));
        }
        // RFC 8017 8.2.2 step 1: the signature has the modulus' length.
        if sig.len() != k {
            return Err(VerifyError::Invalid);
        }
        let mut nb = from_be(n);
        nb.push(0);
        let mut s = from_be(sig);
        s.resize(nb.len(), 0);
        // RFC 8017 5.2.2: the signature representative is below the modulus.
        if ge(&s, &nb) {
            return Err(VerifyError::Invalid);
        }
        let eb = from_be(e);
        let mut m: Big = vec![0u32; nb.len()];
        m[0] = 1;
        for i in (0..bits(&eb)).rev() {
            m = mul_mod(&m, &m, &nb);
            if bit(&eb, i) {
                m = mul_mod(&m, &s, &nb);
            }
        }
        let em = to_be(&m, k);
        let mut expected = vec![0x00, 0x01];
        expected.resize(k - prefix.len() - digest.as_ref().len() - 1, 0xff);
        expected.push(0x00);
        expected.extend_from_slice(prefix);
        expected.extend_from_slice(digest.as_ref());
        if em == expected {
            Ok(())
        } else {
            Err(VerifyError::Invalid)
        }
    }
}

/// NSEC3 hash (RFC 5155 section 5): SHA-1 iterated `iterations` extra times with the salt.
pub fn nsec3_hash(owner_wire: &[u8], salt: &[u8], iterations: u16) -> [u8; 20] {
    let once = |input: &[u8]| {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(input);
        ctx.update(salt);
        let d = ctx.finish();
        let mut out = [0u8; 20];
        out.copy_from_slice(d.as_ref());
        out
    };
    let mut h = once(owner_wire);
    for _ in 0..iterations {
        h = once(&h);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsec3_hash_matches_rfc5155_appendix_a() {
        // RFC 5155 Appendix A: H(example) with salt aabbccdd, 12 iterations.
        let h = nsec3_hash(b"\x07example\x00", &[0xaa, 0xbb, 0xcc, 0xdd], 12);
        let text = data_encoding::BASE32HEX_NOPAD
            .encode(&h)
            .to_ascii_lowercase();
        assert_eq!(text, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
        let h = nsec3_hash(b"\x01a\x07example\x00", &[0xaa, 0xbb, 0xcc, 0xdd], 12);
        let text = data_encoding::BASE32HEX_NOPAD
            .encode(&h)
            .to_ascii_lowercase();
        assert_eq!(text, "35mthgpgcu1qg68fab165klnsnk3dpvl");
    }

    #[test]
    fn key_tag_matches_rfc4034_appendix_c() {
        // The root KSK-2017 DNSKEY (tag 20326), from its base64 RDATA.
        let key = data_encoding::BASE64.decode(b"AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=").unwrap();
        let mut rdata = vec![1, 1, 3, 8];
        rdata.extend_from_slice(&key);
        assert_eq!(key_tag(&rdata), 20326);
        let ds = ds_digest(2, &[0], &rdata).unwrap();
        assert_eq!(
            data_encoding::HEXUPPER.encode(&ds),
            "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"
        );
    }

    /// A 512-bit key (made with `openssl genrsa 512`, signed with `openssl dgst -sha256
    /// -sign`): ring refuses it, our small-modulus path verifies it and rejects any change.
    #[test]
    fn rsa_under_1024_bits_verifies() {
        let n = data_encoding::HEXUPPER.decode(b"BBB0B8BA18E42D54A0B9CAE1724E67C98FB20DEF56E885FE527CB4CD80C1539FFC03262413CCF49280168822BC2DC8449AB8F9B78B7C532867128C77D56C15D5").unwrap();
        let sig = data_encoding::HEXLOWER.decode(b"199b6d7a1dffd8590e49628aa9d55ba15e9a380eb5f72ad3b6cfaead16a292f551dfb818cccedc15e8a88dbac74ba35028c3a9b5b4fcff5016c81b7d8ba02982").unwrap();
        let mut key = vec![3, 1, 0, 1];
        key.extend_from_slice(&n);
        assert_eq!(rsa_modulus_bits(8, &key), Some(512));
        assert_eq!(verify(8, &key, b"dane small rsa", &sig), Ok(()));
        assert_eq!(
            verify(8, &key, b"dane small rsb", &sig),
            Err(VerifyError::Invalid)
        );
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert_eq!(
            verify(8, &key, b"dane small rsa", &bad),
            Err(VerifyError::Invalid)
        );
        // The SHA-512 encoding does not fit in 512 bits.
        assert!(matches!(
            verify(10, &key, b"dane small rsa", &sig),
            Err(VerifyError::BadKey(_))
        ));
        // A signature not below the modulus, or of the wrong length.
        assert_eq!(
            verify(8, &key, b"dane small rsa", &[0xff; 64]),
            Err(VerifyError::Invalid)
        );
        assert_eq!(
            verify(8, &key, b"dane small rsa", &sig[1..]),
            Err(VerifyError::Invalid)
        );
    }

    #[test]
    fn bad_keys_are_errors_not_panics() {
        for (alg, key) in [
            (8u8, &b""[..]),
            (8, &[3, 1, 0, 1][..]),
            (8, &[0][..]),
            (8, &[0, 0][..]),
            (13, &[0u8; 10][..]),
            (14, &[0u8; 64][..]),
            (15, &[0u8; 31][..]),
        ] {
            assert!(
                matches!(verify(alg, key, b"x", b"y"), Err(VerifyError::BadKey(_))),
                "{alg} {key:?}"
            );
        }
        assert_eq!(
            verify(16, &[0; 57], b"x", b"y"),
            Err(VerifyError::Unsupported)
        );
    }
}
