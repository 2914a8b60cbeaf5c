//! Decoding the inputs TLSA records are made from: certificates and chains, public keys,
//! private keys (PKCS#8, PKCS#1 RSA, SEC1 EC) and PKCS#10 CSRs, each in PEM or DER.
//!
//! Private keys are only read to find their public half: the SubjectPublicKeyInfo is built
//! from the key's own fields (RSA modulus and exponent; the EC public point stored in the
//! key, as OpenSSL does; Ed25519 derived from the seed with ring). The key structures are
//! read, and the SubjectPublicKeyInfo written, with the RustCrypto `pkcs8`, `pkcs1`, `sec1`
//! and `spki` crates (on `der`); certificates and CSRs with x509-parser.

use der::asn1::{AnyRef, BitStringRef, Null, ObjectIdentifier, OctetStringRef, SequenceRef};
use der::{Decode as _, Encode as _, Reader as _, SliceReader, Tag, Tagged as _};
use rustls_pki_types::CertificateDer;
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use x509_parser::prelude::FromDer as _;

use crate::error::Error;

/// Most certificates accepted in one chain file (a work budget).
pub const MAX_CERTIFICATES: usize = 32;

// RFC 8017 A.1, RFC 5480 2.1.1, RFC 8410 3, RFC 3279 2.3.2, RFC 8018 A.4.
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const OID_X448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.111");
const OID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");
const OID_PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");

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
    // X.690 8.9 / 8.1.2: a DER SEQUENCE starts with the octet 0x30 (universal 16, constructed).
    if bytes.first() == Some(&0x30) {
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
                let what = "PKCS#1 RSA public key";
                let key =
                    pkcs1::RsaPublicKeyRef::from_der(b.contents()).map_err(der_error(what))?;
                return rsa_spki(key);
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
///
/// An encrypted key (PEM `ENCRYPTED PRIVATE KEY`, a DER EncryptedPrivateKeyInfo, or a legacy
/// OpenSSL PEM block with `Proc-Type: 4,ENCRYPTED`) is [`Error::EncryptedKey`]: this crate
/// takes no passphrase, so the key must be decrypted first.
pub fn parse_private_key(bytes: &[u8]) -> Result<Spki, Error> {
    match decode(bytes, "a private key (PEM or DER)")? {
        Encoded::Pem(blocks) => {
            for b in &blocks {
                let form = match b.tag() {
                    "PRIVATE KEY" => KeyForm::Pkcs8,
                    "RSA PRIVATE KEY" => KeyForm::Pkcs1,
                    "EC PRIVATE KEY" => KeyForm::Sec1,
                    "ENCRYPTED PRIVATE KEY" => KeyForm::EncryptedPkcs8,
                    _ => continue,
                };
                // RFC 1421 4.6.1.1: OpenSSL's legacy encryption of the traditional forms marks
                // the block `Proc-Type: 4,ENCRYPTED` and names the cipher in `DEK-Info`.
                let headers = b.headers();
                if headers
                    .get("Proc-Type")
                    .is_some_and(|v| v.contains("ENCRYPTED"))
                {
                    let cipher: String = headers
                        .get("DEK-Info")
                        .and_then(|v| v.split(',').next())
                        .unwrap_or("cipher not named")
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ' ')
                        .take(40)
                        .collect();
                    return Err(Error::EncryptedKey {
                        scheme: format!("legacy OpenSSL PEM encryption, {cipher}"),
                    });
                }
                return form.spki(b.contents());
            }
            Err(Error::WrongPemBlock {
                wanted: "PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY",
                found: labels(&blocks),
            })
        }
        Encoded::Der(d) => der_form(d)?.spki(d),
    }
}

/// The container a private key comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyForm {
    /// PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208 5, RFC 5958 2).
    Pkcs8,
    /// PKCS#1 RSAPrivateKey (RFC 8017 A.1.2).
    Pkcs1,
    /// SEC1 ECPrivateKey (RFC 5915 3).
    Sec1,
    /// PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 3).
    EncryptedPkcs8,
}

impl KeyForm {
    fn spki(self, der: &[u8]) -> Result<Spki, Error> {
        match self {
            KeyForm::Pkcs8 => pkcs8_spki(der),
            KeyForm::Pkcs1 => pkcs1_spki(der),
            KeyForm::Sec1 => sec1_spki(der, None, None),
            KeyForm::EncryptedPkcs8 => Err(encrypted_pkcs8(der)),
        }
    }
}

/// Tells the DER forms apart by their first two elements: PKCS#8 has INTEGER (version),
/// SEQUENCE (AlgorithmIdentifier); PKCS#1 INTEGER, INTEGER (modulus); SEC1 INTEGER, OCTET
/// STRING (privateKey); EncryptedPrivateKeyInfo SEQUENCE (AlgorithmIdentifier), OCTET STRING.
fn der_form(d: &[u8]) -> Result<KeyForm, Error> {
    let what = "private key";
    let tags = || -> der::Result<(Tag, Option<Tag>)> {
        let body = <&SequenceRef>::from_der(d)?;
        let mut r = SliceReader::new(body.as_bytes())?;
        let first = Tag::peek(&r)?;
        r.tlv_bytes()?;
        let second = if r.is_finished() {
            None
        } else {
            Some(Tag::peek(&r)?)
        };
        Ok((first, second))
    };
    match tags().map_err(der_error(what))? {
        (Tag::Integer, Some(Tag::Sequence)) => Ok(KeyForm::Pkcs8),
        (Tag::Integer, Some(Tag::Integer)) => Ok(KeyForm::Pkcs1),
        (Tag::Integer, Some(Tag::OctetString)) => Ok(KeyForm::Sec1),
        (Tag::Sequence, Some(Tag::OctetString)) => Ok(KeyForm::EncryptedPkcs8),
        _ => Err(Error::Der {
            what: what.into(),
            reason: "neither PKCS#8, PKCS#1 nor SEC1".into(),
        }),
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

fn algorithm_name(oid: ObjectIdentifier) -> String {
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
        .unwrap_or_else(|| format!("OID {oid}"))
}

/// Maps a DER decoding or encoding error to [`Error::Der`] for `what`.
fn der_error(what: &str) -> impl Fn(der::Error) -> Error + '_ {
    move |e| Error::Der {
        what: what.to_owned(),
        reason: e.to_string(),
    }
}

/// A DER SubjectPublicKeyInfo (RFC 5280 4.1.2.7) of `oid` with `parameters`, holding the
/// public key `public` as its BIT STRING.
fn spki(
    oid: ObjectIdentifier,
    parameters: Option<AnyRef<'_>>,
    public: &[u8],
) -> Result<Spki, Error> {
    let what = "SubjectPublicKeyInfo";
    let info = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        subject_public_key: BitStringRef::from_bytes(public).map_err(der_error(what))?,
    };
    info.to_der().map(Spki).map_err(der_error(what))
}

/// SPKI for an RSA public key (RFC 3279 2.3.1: rsaEncryption, NULL parameters, the PKCS#1
/// RSAPublicKey of RFC 8017 A.1.1 as the key bits).
fn rsa_spki(key: pkcs1::RsaPublicKeyRef<'_>) -> Result<Spki, Error> {
    // RFC 8017 A.1.1: both are positive. `der` refuses negative INTEGERs; zero is left.
    for (name, v) in [
        ("modulus", key.modulus),
        ("public exponent", key.public_exponent),
    ] {
        if v.as_bytes().iter().all(|&b| b == 0) {
            return Err(Error::InconsistentKey {
                reason: format!("RSA {name} is not positive"),
            });
        }
    }
    let public = key.to_der().map_err(der_error("PKCS#1 RSA public key"))?;
    spki(OID_RSA, Some(AnyRef::from(Null)), &public)
}

/// PKCS#1 RSAPrivateKey (RFC 8017 A.1.2): its public half is the modulus and the exponent.
fn pkcs1_spki(d: &[u8]) -> Result<Spki, Error> {
    let key = pkcs1::RsaPrivateKeyRef::from_der(d).map_err(der_error("PKCS#1 RSA private key"))?;
    rsa_spki(key.public_key())
}

/// Whether a decoding error is explicit EC parameters (a SEQUENCE where RFC 5480 2.1.1
/// wants the namedCurve OID).
fn explicit_parameters(e: &der::Error) -> bool {
    matches!(
        e.kind(),
        der::ErrorKind::TagUnexpected {
            expected: Some(Tag::ObjectIdentifier),
            actual: Tag::Sequence,
        }
    )
}

fn explicit_parameters_error() -> Error {
    Error::UnsupportedKey {
        algorithm: "EC key with explicit curve parameters".into(),
    }
}

/// SEC1 ECPrivateKey (RFC 5915 3): version 1, privateKey, [0] parameters, [1] publicKey.
/// When the key is wrapped in PKCS#8, `wrapper_curve` is the curve its AlgorithmIdentifier
/// names and `wrapper_public` the OneAsymmetricKey publicKey, if any (RFC 5958 2).
fn sec1_spki(
    d: &[u8],
    wrapper_curve: Option<ObjectIdentifier>,
    wrapper_public: Option<&[u8]>,
) -> Result<Spki, Error> {
    let what = "SEC1 EC private key";
    let key = sec1::EcPrivateKey::from_der(d).map_err(|e| {
        if explicit_parameters(&e) {
            explicit_parameters_error()
        } else {
            der_error(what)(e)
        }
    })?;
    let inner_curve = key.parameters.and_then(|p| p.named_curve());
    let curve = match (wrapper_curve, inner_curve) {
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
                algorithm: format!("EC curve {other}"),
            });
        }
    };
    let public = match (key.public_key, wrapper_public) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::InconsistentKey {
                reason: "the PKCS#8 and SEC1 public keys differ".into(),
            });
        }
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => {
            return Err(Error::UnsupportedKey {
                algorithm: "EC private key without its public key (re-export it with openssl pkey)"
                    .into(),
            });
        }
    };
    // SEC1 2.3.3: 0x04 || X || Y uncompressed, or 0x02/0x03 || X compressed.
    let valid = match public {
        [0x04, point @ ..] => point.len() == 2 * field_len,
        [0x02 | 0x03, x @ ..] => x.len() == field_len,
        _ => false,
    };
    if !valid {
        return Err(Error::InconsistentKey {
            reason: "EC public point has the wrong form or length for its curve".into(),
        });
    }
    // RFC 5480 2.1.1: id-ecPublicKey with the namedCurve as parameters.
    spki(OID_EC, Some(AnyRef::from(&curve)), public)
}

/// PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208 5, RFC 5958 2).
fn pkcs8_spki(d: &[u8]) -> Result<Spki, Error> {
    let what = "PKCS#8 private key";
    let info = pkcs8::PrivateKeyInfoRef::from_der(d).map_err(|e| {
        if explicit_parameters(&e) {
            explicit_parameters_error()
        } else {
            der_error(what)(e)
        }
    })?;
    let key = info.private_key.as_bytes();
    let wrapper_public = info.public_key.and_then(|p| p.as_bytes());
    match info.algorithm.oid {
        o if o == OID_RSA => pkcs1_spki(key),
        o if o == OID_EC => {
            // RFC 5480 2.1.1: the parameters are the namedCurve OID; explicit parameters
            // (a SEQUENCE) are not taken.
            let curve = match info.algorithm.parameters {
                Some(p) if p.tag() == Tag::ObjectIdentifier => {
                    p.decode_as::<ObjectIdentifier>().map_err(der_error(what))?
                }
                Some(p) if p.tag() == Tag::Sequence => return Err(explicit_parameters_error()),
                _ => {
                    return Err(Error::UnsupportedKey {
                        algorithm: "EC key without a named curve".into(),
                    });
                }
            };
            sec1_spki(key, Some(curve), wrapper_public)
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
            // RFC 8410 3: id-Ed25519 with the parameters absent.
            spki(
                OID_ED25519,
                None,
                ring::signature::KeyPair::public_key(&pair).as_ref(),
            )
        }
        other => Err(Error::UnsupportedKey {
            algorithm: algorithm_name(other),
        }),
    }
}

/// The error for a PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 3: encryptionAlgorithm, then
/// encryptedData as an OCTET STRING): [`Error::EncryptedKey`] naming the scheme, or
/// [`Error::Der`] when it is not even that.
fn encrypted_pkcs8(d: &[u8]) -> Error {
    let read = || -> der::Result<ObjectIdentifier> {
        let body = <&SequenceRef>::from_der(d)?;
        let mut r = SliceReader::new(body.as_bytes())?;
        let algorithm: AlgorithmIdentifierRef<'_> = r.decode()?;
        let _data: &OctetStringRef = r.decode()?;
        r.finish()?;
        Ok(algorithm.oid)
    };
    match read() {
        Ok(oid) if oid == OID_PBES2 => Error::EncryptedKey {
            scheme: "PKCS#8, PBES2".into(),
        },
        Ok(oid) => Error::EncryptedKey {
            scheme: format!("PKCS#8, scheme OID {oid}"),
        },
        Err(e) => der_error("PKCS#8 encrypted private key")(e),
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
        // Two INTEGERs make it look like PKCS#1, which then does not parse.
        let e = parse_private_key(&[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("PKCS#1 RSA private key: malformed DER"),
            "{e}"
        );
        // PKCS#8 with an Ed448 OID.
        let algorithm = AlgorithmIdentifierRef {
            oid: OID_ED448,
            parameters: None,
        };
        let secret = OctetStringRef::new(&[0x04, 0x00]).unwrap();
        let key = pkcs8::PrivateKeyInfoRef::new(algorithm, secret)
            .to_der()
            .unwrap();
        assert_eq!(
            parse_private_key(&key).unwrap_err().to_string(),
            "unsupported key type: Ed448"
        );
        // A PEM block labelled encrypted that is not even an EncryptedPrivateKeyInfo.
        let enc = pem::encode(&pem::Pem::new("ENCRYPTED PRIVATE KEY", vec![0x30, 0x00]));
        let e = parse_private_key(enc.as_bytes()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("PKCS#8 encrypted private key: malformed DER"),
            "{e}"
        );
    }

    #[test]
    fn rsa_parts_must_be_positive() {
        // RSAPublicKey { modulus 0, publicExponent 3 }.
        let zero = pem::encode(&pem::Pem::new(
            "RSA PUBLIC KEY",
            vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x03],
        ));
        assert_eq!(
            parse_public_key(zero.as_bytes()).unwrap_err().to_string(),
            "inconsistent private key: RSA modulus is not positive"
        );
        // A negative modulus is not a DER unsigned INTEGER at all.
        let negative = pem::encode(&pem::Pem::new(
            "RSA PUBLIC KEY",
            vec![0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03],
        ));
        assert!(matches!(
            parse_public_key(negative.as_bytes()),
            Err(Error::Der { .. })
        ));
    }

    #[test]
    fn oid_names() {
        assert_eq!(OID_P256.to_string(), "1.2.840.10045.3.1.7");
        assert_eq!(algorithm_name(OID_ED448), "Ed448");
        assert_eq!(
            algorithm_name(ObjectIdentifier::new_unwrap("1.2.3")),
            "OID 1.2.3"
        );
    }
}
