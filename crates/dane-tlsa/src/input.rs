//! Decoding the inputs TLSA records are made from: certificates and chains, public keys,
//! private keys (PKCS#8, PKCS#1 RSA, SEC1 EC) and PKCS#10 CSRs, each in PEM or DER.
//!
//! Private keys are only read to find their public half: the SubjectPublicKeyInfo is built
//! from the key's own fields (RSA modulus and exponent; the EC public point stored in the
//! key, as OpenSSL does; Ed25519 derived from the seed with ring).

use rustls_pki_types::CertificateDer;
use x509_parser::prelude::FromDer as _;

use crate::der;
use crate::error::Error;

/// Most certificates accepted in one chain file (a work budget).
pub const MAX_CERTIFICATES: usize = 32;

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const OID_X448: &[u8] = &[0x2b, 0x65, 0x6f];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];

/// A DER SubjectPublicKeyInfo that parses (RFC 5280 4.1.2.7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Spki(Vec<u8>);

impl Spki {
    /// Wraps DER after checking it parses as a SubjectPublicKeyInfo with nothing after it.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        match x509_parser::x509::SubjectPublicKeyInfo::from_der(der) {
            Ok(([], _)) => Ok(Spki(der.to_vec())),
            Ok((rest, _)) => Err(Error::Der {
                what: "public key (SubjectPublicKeyInfo)".into(),
                reason: format!("{} octets of trailing data", rest.len()),
            }),
            Err(e) => Err(Error::Der {
                what: "public key (SubjectPublicKeyInfo)".into(),
                reason: e.to_string(),
            }),
        }
    }

    /// The DER bytes.
    pub fn as_der(&self) -> &[u8] {
        &self.0
    }
}

/// How the input text is encoded.
enum Encoded<'a> {
    Pem(Vec<pem::Pem>),
    Der(&'a [u8]),
}

fn decode<'a>(bytes: &'a [u8], expected: &'static str) -> Result<Encoded<'a>, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty { expected });
    }
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let blocks = pem::parse_many(bytes).map_err(|e| Error::Encoding {
            reason: format!("PEM armour does not decode: {e}"),
        })?;
        if blocks.is_empty() {
            return Err(Error::Encoding {
                reason: "no complete PEM block".into(),
            });
        }
        return Ok(Encoded::Pem(blocks));
    }
    if bytes.first() == Some(&der::SEQUENCE) {
        return Ok(Encoded::Der(bytes));
    }
    Err(Error::Encoding {
        reason: format!(
            "no '-----BEGIN' line, and not DER (first byte 0x{:02x}, not a SEQUENCE); expected {expected}",
            bytes[0]
        ),
    })
}

fn labels(blocks: &[pem::Pem]) -> String {
    let mut v: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
    v.dedup();
    v.join(", ")
}

fn check_certificate(der: &[u8], index: usize) -> Result<usize, Error> {
    match x509_parser::certificate::X509Certificate::from_der(der) {
        Ok((rest, _)) => Ok(der.len() - rest.len()),
        Err(e) => Err(Error::Der {
            what: format!("certificate {index}"),
            reason: e.to_string(),
        }),
    }
}

/// Certificates from PEM (every `CERTIFICATE` block, other blocks ignored) or DER (one or
/// more concatenated certificates), in file order (a chain: leaf first). Each must parse.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut out = Vec::new();
    match decode(bytes, "a certificate (PEM or DER)")? {
        Encoded::Pem(blocks) => {
            for block in blocks.iter().filter(|b| b.tag() == "CERTIFICATE") {
                let index = out.len() + 1;
                let used = check_certificate(block.contents(), index)?;
                if used != block.contents().len() {
                    return Err(Error::Der {
                        what: format!("certificate {index}"),
                        reason: "trailing data after the certificate".into(),
                    });
                }
                out.push(CertificateDer::from(block.contents().to_vec()));
                if out.len() > MAX_CERTIFICATES {
                    return Err(Error::ChainTooLong {
                        len: out.len(),
                        max: MAX_CERTIFICATES,
                    });
                }
            }
            if out.is_empty() {
                return Err(Error::WrongPemBlock {
                    wanted: "CERTIFICATE",
                    found: labels(&blocks),
                });
            }
        }
        Encoded::Der(mut rest) => {
            while !rest.is_empty() {
                let index = out.len() + 1;
                let used = check_certificate(rest, index)?;
                out.push(CertificateDer::from(rest[..used].to_vec()));
                rest = &rest[used..];
                if out.len() > MAX_CERTIFICATES {
                    return Err(Error::ChainTooLong {
                        len: out.len(),
                        max: MAX_CERTIFICATES,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// A public key: PEM `PUBLIC KEY` (SPKI), PEM `RSA PUBLIC KEY` (PKCS#1), or DER SPKI.
pub fn parse_public_key(bytes: &[u8]) -> Result<Spki, Error> {
    match decode(bytes, "a public key (PEM or DER)")? {
        Encoded::Pem(blocks) => {
            if let Some(b) = blocks.iter().find(|b| b.tag() == "PUBLIC KEY") {
                return Spki::from_der(b.contents());
            }
            if let Some(b) = blocks.iter().find(|b| b.tag() == "RSA PUBLIC KEY") {
                der::single(b.contents(), der::SEQUENCE, "PKCS#1 RSA public key").map_err(
                    |reason| Error::Der {
                        what: "PKCS#1 RSA public key".into(),
                        reason,
                    },
                )?;
                return Ok(rsa_spki(b.contents()));
            }
            Err(Error::WrongPemBlock {
                wanted: "PUBLIC KEY or RSA PUBLIC KEY",
                found: labels(&blocks),
            })
        }
        Encoded::Der(d) => Spki::from_der(d),
    }
}

/// The public key of a private key: PEM `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1),
/// `EC PRIVATE KEY` (SEC1), or DER in any of these. RSA, ECDSA P-256/P-384/P-521 and Ed25519.
pub fn parse_private_key(bytes: &[u8]) -> Result<Spki, Error> {
    match decode(bytes, "a private key (PEM or DER)")? {
        Encoded::Pem(blocks) => {
            for b in &blocks {
                match b.tag() {
                    "PRIVATE KEY" => return pkcs8_spki(b.contents()),
                    "RSA PRIVATE KEY" => return pkcs1_spki(b.contents()),
                    "EC PRIVATE KEY" => return sec1_spki(b.contents(), None),
                    "ENCRYPTED PRIVATE KEY" => {
                        return Err(Error::UnsupportedKey {
                            algorithm: "encrypted PKCS#8 (decrypt it first: openssl pkey -in KEY)"
                                .into(),
                        });
                    }
                    _ => {}
                }
            }
            Err(Error::WrongPemBlock {
                wanted: "PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY",
                found: labels(&blocks),
            })
        }
        Encoded::Der(d) => {
            // Tell the three DER forms apart by their second element: PKCS#8 has an
            // AlgorithmIdentifier SEQUENCE, PKCS#1 an INTEGER modulus, SEC1 an OCTET STRING.
            let mut outer = der::Reader::new(d);
            let body = outer
                .expect(der::SEQUENCE, "private key")
                .map_err(|reason| Error::Der {
                    what: "private key".into(),
                    reason,
                })?;
            let mut r = der::Reader::new(body);
            let _ = r.read();
            match r.peek_tag() {
                Some(der::SEQUENCE) => pkcs8_spki(d),
                Some(der::INTEGER) => pkcs1_spki(d),
                Some(der::OCTET_STRING) => sec1_spki(d, None),
                _ => Err(Error::Der {
                    what: "private key".into(),
                    reason: "neither PKCS#8, PKCS#1 nor SEC1".into(),
                }),
            }
        }
    }
}

/// The public key of a PKCS#10 certificate signing request (PEM `CERTIFICATE REQUEST` or DER).
/// The CSR's self-signature is not verified: the request is only a carrier for the key.
pub fn parse_csr(bytes: &[u8]) -> Result<Spki, Error> {
    let der_bytes: Vec<u8> = match decode(bytes, "a CSR (PEM or DER)")? {
        Encoded::Pem(blocks) => blocks
            .iter()
            .find(|b| b.tag() == "CERTIFICATE REQUEST" || b.tag() == "NEW CERTIFICATE REQUEST")
            .map(|b| b.contents().to_vec())
            .ok_or_else(|| Error::WrongPemBlock {
                wanted: "CERTIFICATE REQUEST",
                found: labels(&blocks),
            })?,
        Encoded::Der(d) => d.to_vec(),
    };
    match x509_parser::certification_request::X509CertificationRequest::from_der(&der_bytes) {
        Ok(([], csr)) => Spki::from_der(csr.certification_request_info.subject_pki.raw),
        Ok((rest, _)) => Err(Error::Der {
            what: "CSR".into(),
            reason: format!("{} octets of trailing data", rest.len()),
        }),
        Err(e) => Err(Error::Der {
            what: "CSR (PKCS#10)".into(),
            reason: e.to_string(),
        }),
    }
}

fn algorithm_name(oid: &[u8]) -> String {
    let known = [
        (OID_ED448, "Ed448"),
        (OID_X25519, "X25519"),
        (OID_X448, "X448"),
        (OID_DSA, "DSA"),
        (OID_RSA_PSS, "RSASSA-PSS"),
    ];
    known
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, n)| (*n).to_owned())
        .unwrap_or_else(|| format!("OID {}", dotted(oid)))
}

/// Dotted-decimal form of a DER OID body (for messages only).
fn dotted(oid: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut acc: u64 = 0;
    for (i, &b) in oid.iter().enumerate() {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = if acc < 80 { acc / 40 } else { 2 };
                parts.push(first.to_string());
                parts.push((acc - first * 40).to_string());
            } else {
                parts.push(acc.to_string());
            }
            acc = 0;
        }
        if i > 64 {
            break;
        }
    }
    parts.join(".")
}

fn der_err(what: &str) -> impl Fn(String) -> Error + '_ {
    move |reason| Error::Der {
        what: what.to_owned(),
        reason,
    }
}

/// SPKI for an RSA public key given as PKCS#1 RSAPublicKey DER (RFC 8017 A.1.1, RFC 3279 2.3.1).
fn rsa_spki(rsa_public_key: &[u8]) -> Spki {
    let mut alg = der::tlv(der::OID, OID_RSA);
    der::write(&mut alg, der::NULL, &[]);
    let mut bits = vec![0u8];
    bits.extend_from_slice(rsa_public_key);
    let mut body = der::tlv(der::SEQUENCE, &alg);
    der::write(&mut body, der::BIT_STRING, &bits);
    Spki(der::tlv(der::SEQUENCE, &body))
}

/// PKCS#1 RSAPrivateKey (RFC 8017 A.1.2): version, modulus n, publicExponent e, ...
fn pkcs1_spki(d: &[u8]) -> Result<Spki, Error> {
    let what = "PKCS#1 RSA private key";
    let mut outer = der::Reader::new(d);
    let body = outer.expect(der::SEQUENCE, what).map_err(der_err(what))?;
    outer.finish(what).map_err(der_err(what))?;
    let mut r = der::Reader::new(body);
    r.expect(der::INTEGER, "version").map_err(der_err(what))?;
    let n = r.expect(der::INTEGER, "modulus").map_err(der_err(what))?;
    let e = r
        .expect(der::INTEGER, "public exponent")
        .map_err(der_err(what))?;
    // Both must be positive integers for a usable key.
    for (name, v) in [("modulus", n), ("public exponent", e)] {
        if v.is_empty() || v[0] & 0x80 != 0 || v.iter().all(|&b| b == 0) {
            return Err(Error::InconsistentKey {
                reason: format!("RSA {name} is not positive"),
            });
        }
    }
    let mut pk = der::tlv(der::INTEGER, n);
    der::write(&mut pk, der::INTEGER, e);
    Ok(rsa_spki(&der::tlv(der::SEQUENCE, &pk)))
}

/// SEC1 ECPrivateKey (RFC 5915 3): version 1, privateKey, [0] parameters, [1] publicKey.
/// `curve` comes from the PKCS#8 AlgorithmIdentifier when wrapped.
fn sec1_spki(d: &[u8], curve: Option<&[u8]>) -> Result<Spki, Error> {
    let what = "SEC1 EC private key";
    let mut outer = der::Reader::new(d);
    let body = outer.expect(der::SEQUENCE, what).map_err(der_err(what))?;
    outer.finish(what).map_err(der_err(what))?;
    let mut r = der::Reader::new(body);
    r.expect(der::INTEGER, "version").map_err(der_err(what))?;
    r.expect(der::OCTET_STRING, "privateKey")
        .map_err(der_err(what))?;
    let params = r.optional(der::CONTEXT_0).map_err(der_err(what))?;
    let inner_curve = match params {
        Some(p) => {
            let mut pr = der::Reader::new(p);
            match pr.read().map_err(der_err(what))? {
                t if t.tag == der::OID => Some(t.value),
                _ => {
                    return Err(Error::UnsupportedKey {
                        algorithm: "EC key with explicit curve parameters".into(),
                    });
                }
            }
        }
        None => None,
    };
    let curve = match (curve, inner_curve) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::InconsistentKey {
                reason: "PKCS#8 and SEC1 name different curves".into(),
            });
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => {
            return Err(Error::Der {
                what: what.into(),
                reason: "no curve named".into(),
            });
        }
    };
    let field_len = match curve {
        c if c == OID_P256 => 32,
        c if c == OID_P384 => 48,
        c if c == OID_P521 => 66,
        other => {
            return Err(Error::UnsupportedKey {
                algorithm: format!("EC curve {}", dotted(other)),
            });
        }
    };
    let public = r
        .optional(der::CONTEXT_1)
        .map_err(der_err(what))?
        .ok_or_else(|| Error::UnsupportedKey {
            algorithm: "EC private key without its public key (re-export it with openssl pkey)"
                .into(),
        })?;
    let bits = der::Reader::new(public)
        .expect(der::BIT_STRING, "publicKey")
        .map_err(der_err(what))?;
    // SEC1 2.3.3: 0x04 || X || Y uncompressed, or 0x02/0x03 || X compressed.
    let valid = match bits {
        [0, 0x04, point @ ..] => point.len() == 2 * field_len,
        [0, 0x02 | 0x03, x @ ..] => x.len() == field_len,
        _ => false,
    };
    if !valid {
        return Err(Error::InconsistentKey {
            reason: "EC public point has the wrong form or length for its curve".into(),
        });
    }
    let mut alg = der::tlv(der::OID, OID_EC);
    der::write(&mut alg, der::OID, curve);
    let mut spki = der::tlv(der::SEQUENCE, &alg);
    der::write(&mut spki, der::BIT_STRING, bits);
    Ok(Spki(der::tlv(der::SEQUENCE, &spki)))
}

/// PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208 5, RFC 5958 2).
fn pkcs8_spki(d: &[u8]) -> Result<Spki, Error> {
    let what = "PKCS#8 private key";
    let mut outer = der::Reader::new(d);
    let body = outer.expect(der::SEQUENCE, what).map_err(der_err(what))?;
    outer.finish(what).map_err(der_err(what))?;
    let mut r = der::Reader::new(body);
    r.expect(der::INTEGER, "version").map_err(der_err(what))?;
    let alg = r
        .expect(der::SEQUENCE, "privateKeyAlgorithm")
        .map_err(der_err(what))?;
    let key = r
        .expect(der::OCTET_STRING, "privateKey")
        .map_err(der_err(what))?;
    let mut ar = der::Reader::new(alg);
    let oid = ar.expect(der::OID, "algorithm").map_err(der_err(what))?;
    match oid {
        o if o == OID_RSA => pkcs1_spki(key),
        o if o == OID_EC => {
            let curve = ar
                .expect(der::OID, "named curve")
                .map_err(|_| Error::UnsupportedKey {
                    algorithm: "EC key without a named curve".into(),
                })?;
            sec1_spki(key, Some(curve))
        }
        o if o == OID_ED25519 => {
            // ring derives the public key from the seed and, for a v2 key carrying its
            // public key, checks that the two agree.
            let pair =
                ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(d).map_err(|e| {
                    Error::InconsistentKey {
                        reason: format!("Ed25519: {e}"),
                    }
                })?;
            let public = ring::signature::KeyPair::public_key(&pair)
                .as_ref()
                .to_vec();
            let mut bits = vec![0u8];
            bits.extend_from_slice(&public);
            let mut spki = der::tlv(der::SEQUENCE, &der::tlv(der::OID, OID_ED25519));
            der::write(&mut spki, der::BIT_STRING, &bits);
            Ok(Spki(der::tlv(der::SEQUENCE, &spki)))
        }
        other => Err(Error::UnsupportedKey {
            algorithm: algorithm_name(other),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_detection() {
        assert!(matches!(parse_certificates(b""), Err(Error::Empty { .. })));
        assert!(matches!(
            parse_certificates(b" \n\t"),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            parse_certificates(b"hello"),
            Err(Error::Encoding { .. })
        ));
        assert!(matches!(
            parse_certificates(&[0x30, 0x03, 1, 2, 3]),
            Err(Error::Der { .. })
        ));
        let bad_pem = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            parse_certificates(bad_pem),
            Err(Error::Encoding { .. })
        ));
        let other = pem::encode(&pem::Pem::new("PRIVATE KEY", vec![0x30, 0x00]));
        let e = parse_certificates(other.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no CERTIFICATE PEM block (found: PRIVATE KEY)"
        );
        let garbage = pem::encode(&pem::Pem::new("CERTIFICATE", vec![0x30, 0x01, 0x00]));
        let e = parse_certificates(garbage.as_bytes()).unwrap_err();
        assert!(
            e.to_string().starts_with("certificate 1: malformed DER"),
            "{e}"
        );
    }

    #[test]
    fn private_key_structure_errors() {
        let e = parse_private_key(&[0x30, 0x03, 0x02, 0x01, 0x00]).unwrap_err();
        assert!(matches!(e, Error::Der { .. }), "{e}");
        // PKCS#8 with an Ed448 OID.
        let mut alg = der::tlv(der::SEQUENCE, &der::tlv(der::OID, OID_ED448));
        let mut body = der::tlv(der::INTEGER, &[0]);
        body.append(&mut alg);
        der::write(&mut body, der::OCTET_STRING, &[0x04, 0x00]);
        let key = der::tlv(der::SEQUENCE, &body);
        assert_eq!(
            parse_private_key(&key).unwrap_err().to_string(),
            "unsupported key type: Ed448"
        );
        let enc = pem::encode(&pem::Pem::new("ENCRYPTED PRIVATE KEY", vec![0x30, 0x00]));
        assert!(matches!(
            parse_private_key(enc.as_bytes()),
            Err(Error::UnsupportedKey { .. })
        ));
    }

    #[test]
    fn oid_names() {
        assert_eq!(dotted(OID_P256), "1.2.840.10045.3.1.7");
        assert_eq!(dotted(OID_ED25519), "1.3.101.112");
        assert_eq!(algorithm_name(&[0x2a, 0x03]), "OID 1.2.3");
    }
}
