//! Selection (RFC 6698 2.1.2), digests (2.1.3) and record generation.

use ring::digest;
use rustls_pki_types::CertificateDer;
use x509_parser::prelude::FromDer as _;

use crate::error::Error;
use crate::input::Spki;
use crate::record::{CertUsage, MatchingType, Selector, TlsaRecord};

/// What a record is generated from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A certificate (DER): any selector.
    Certificate(CertificateDer<'static>),
    /// A public key (from a public key, private key or CSR): selector SPKI only.
    PublicKey(Spki),
}

/// The DER SubjectPublicKeyInfo of a certificate (RFC 5280 4.1.2.7).
pub fn certificate_spki(cert: &[u8]) -> Result<Vec<u8>, Error> {
    x509_parser::certificate::X509Certificate::from_der(cert)
        .map(|(_, c)| c.tbs_certificate.subject_pki.raw.to_vec())
        .map_err(|e| Error::Der {
            what: "certificate".into(),
            reason: e.to_string(),
        })
}

/// Applies a matching type to selected content: the content itself (Full) or its digest.
/// `None` for private and unassigned matching types (nothing to compute).
pub fn associate(selected: &[u8], matching_type: MatchingType) -> Option<Vec<u8>> {
    match matching_type {
        MatchingType::Full => Some(selected.to_vec()),
        MatchingType::Sha256 => Some(digest::digest(&digest::SHA256, selected).as_ref().to_vec()),
        MatchingType::Sha512 => Some(digest::digest(&digest::SHA512, selected).as_ref().to_vec()),
        MatchingType::PrivMatch | MatchingType::Unassigned(_) => None,
    }
}

/// Generates one record with the given parameters from `source`.
///
/// Errors: selector Cert from a bare public key, and private or unassigned selector or
/// matching type (there is nothing defined to compute). Any usage is accepted.
pub fn generate(
    source: &Source,
    usage: CertUsage,
    selector: Selector,
    matching_type: MatchingType,
) -> Result<TlsaRecord, Error> {
    let params = || {
        format!(
            "{} {} {}",
            usage.value(),
            selector.value(),
            matching_type.value()
        )
    };
    let selected: Vec<u8> = match (source, selector) {
        (Source::Certificate(c), Selector::Cert) => c.as_ref().to_vec(),
        (Source::Certificate(c), Selector::Spki) => certificate_spki(c.as_ref())?,
        (Source::PublicKey(k), Selector::Spki) => k.as_der().to_vec(),
        (Source::PublicKey(_), Selector::Cert) => {
            return Err(Error::Generate {
                record: params(),
                reason: "selector Cert(0) needs a certificate; a key or CSR gives only SPKI(1)"
                    .into(),
            });
        }
        (_, s) => {
            return Err(Error::Generate {
                record: params(),
                reason: format!("selector {s} has no defined content"),
            });
        }
    };
    let data = associate(&selected, matching_type).ok_or_else(|| Error::Generate {
        record: params(),
        reason: format!("matching type {matching_type} has no defined computation"),
    })?;
    Ok(TlsaRecord::new(usage, selector, matching_type, data))
}

fn parse_cert<'a>(
    c: &'a CertificateDer<'_>,
    n: usize,
) -> Result<x509_parser::certificate::X509Certificate<'a>, Error> {
    x509_parser::certificate::X509Certificate::from_der(c.as_ref())
        .map(|(_, cert)| cert)
        .map_err(|e| Error::Der {
            what: format!("certificate {n}"),
            reason: e.to_string(),
        })
}

/// Whether a certificate is self-issued (its issuer name is its subject name, RFC 5280
/// 3.2: a root or a self-signed certificate), as opposed to one issued by another CA (an
/// intermediate). Names compared as encoded, as [`issuer`] does.
pub fn is_self_issued(cert: &CertificateDer<'_>) -> Result<bool, Error> {
    let c = parse_cert(cert, 1)?;
    Ok(c.issuer().as_raw() == c.subject().as_raw())
}

/// The leaf's issuer in a chain file (leaf first): the second certificate, after checking
/// that its subject is the leaf's issuer name (a chain in the wrong order would otherwise
/// give a DANE-TA record for the wrong CA). `None` for a single certificate.
pub fn issuer(chain: &[CertificateDer<'static>]) -> Result<Option<CertificateDer<'static>>, Error> {
    let (Some(leaf), Some(next)) = (chain.first(), chain.get(1)) else {
        return Ok(None);
    };
    let (leaf_cert, next_cert) = (parse_cert(leaf, 1)?, parse_cert(next, 2)?);
    // RFC 5280 4.1.2.4 / 7.1: issuer and subject names compared as encoded (the common case;
    // CAs encode the two identically).
    if leaf_cert.issuer().as_raw() != next_cert.subject().as_raw() {
        return Err(Error::Generate {
            record: "a DANE-TA record for the issuer".into(),
            reason: format!(
                "the second certificate ({}) is not the issuer of the first (issued by {}); put the chain in order, leaf first",
                next_cert.subject(),
                leaf_cert.issuer()
            ),
        });
    }
    Ok(Some(next.clone()))
}

/// The recommended set for a chain (leaf first): `3 1 1` for the leaf and, when the chain
/// has an issuer, `2 1 1` for the leaf's issuing CA (RFC 7671 5.1 and 5.2; the pair RFC 7672
/// 3.1 describes for SMTP servers). The issuer is checked with [`issuer`].
pub fn recommended(chain: &[CertificateDer<'static>]) -> Result<Vec<TlsaRecord>, Error> {
    let leaf = chain.first().ok_or(Error::EmptyChain)?;
    let mut out = vec![generate(
        &Source::Certificate(leaf.clone()),
        CertUsage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )?];
    if let Some(issuer) = issuer(chain)? {
        out.push(generate(
            &Source::Certificate(issuer),
            CertUsage::DaneTa,
            Selector::Spki,
            MatchingType::Sha256,
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_the_standard_ones() {
        // FIPS 180-4 test vector "abc".
        let d = associate(b"abc", MatchingType::Sha256).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&d),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(associate(b"abc", MatchingType::Sha512).unwrap().len(), 64);
        assert_eq!(associate(b"abc", MatchingType::Full).unwrap(), b"abc");
        assert_eq!(associate(b"abc", MatchingType::PrivMatch), None);
        assert_eq!(associate(b"abc", MatchingType::Unassigned(7)), None);
    }

    #[test]
    fn impossible_generation_is_an_error() {
        let spki = Spki::from_der(&[
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 1, 2, 3, 4, 5,
            6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
            29, 30, 31, 32,
        ])
        .unwrap();
        let key = Source::PublicKey(spki);
        let e = generate(
            &key,
            CertUsage::DaneEe,
            Selector::Cert,
            MatchingType::Sha256,
        );
        assert!(e.unwrap_err().to_string().contains("needs a certificate"));
        let e = generate(
            &key,
            CertUsage::DaneEe,
            Selector::PrivSel,
            MatchingType::Sha256,
        );
        assert!(e.is_err());
        let e = generate(
            &key,
            CertUsage::DaneEe,
            Selector::Spki,
            MatchingType::Unassigned(9),
        );
        assert!(e.is_err());
        let r = generate(
            &key,
            CertUsage::Unassigned(9),
            Selector::Spki,
            MatchingType::Full,
        );
        assert_eq!(r.unwrap().data.len(), 44);
        assert!(matches!(recommended(&[]), Err(Error::EmptyChain)));
    }
}
