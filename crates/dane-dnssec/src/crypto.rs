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
                // ring's minimum (and RFC 8624 practice): modulus of at least 1024 bits.
                return Err(VerifyError::BadKey("RSA modulus under 1024 bits"));
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
