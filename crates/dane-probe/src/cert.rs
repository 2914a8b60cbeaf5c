//! Human-readable details of presented certificates, for reports. Raw DER stays the
//! evidence; this summary never judges (no DANE, no PKIX).

use rustls_pki_types::CertificateDer;
use x509_parser::oid_registry;
use x509_parser::prelude::*;

use crate::ProbeError;
use crate::transcript::sanitize;

/// What a report shows about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject distinguished name (RFC 4514 style), sanitised.
    pub subject: String,
    /// Issuer distinguished name, sanitised.
    pub issuer: String,
    /// Subject alternative names: `DNS:…`, `IP:…`, `email:…`, `URI:…`, sanitised.
    pub sans: Vec<String>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// Key algorithm: `RSA`, `EC P-256`, `EC P-384`, `EC P-521`, `Ed25519`, `Ed448`, or
    /// the algorithm OID.
    pub key_type: String,
    /// Key size in bits where it is meaningful.
    pub key_bits: Option<usize>,
    /// Whether basicConstraints says CA.
    pub is_ca: bool,
    /// SHA-256 of the DER SubjectPublicKeyInfo (the data of a `x 1 1` TLSA record).
    pub spki_sha256: [u8; 32],
    /// SHA-256 of the whole DER certificate (the data of a `x 0 1` TLSA record).
    pub cert_sha256: [u8; 32],
}

impl CertSummary {
    /// Summarises one DER certificate.
    pub fn from_der(der: &CertificateDer<'_>) -> Result<Self, ProbeError> {
        let (_, cert) =
            X509Certificate::from_der(der.as_ref()).map_err(|e| ProbeError::Certificate {
                message: e.to_string(),
            })?;
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                let text = match name {
                    GeneralName::DNSName(d) => format!("DNS:{d}"),
                    GeneralName::IPAddress(ip) => match ip.len() {
                        4 => {
                            let a: [u8; 4] = [ip[0], ip[1], ip[2], ip[3]];
                            format!("IP:{}", std::net::Ipv4Addr::from(a))
                        }
                        16 => {
                            let mut a = [0u8; 16];
                            a.copy_from_slice(ip);
                            format!("IP:{}", std::net::Ipv6Addr::from(a))
                        }
                        _ => "IP:(malformed)".into(),
                    },
                    GeneralName::RFC822Name(m) => format!("email:{m}"),
                    GeneralName::URI(u) => format!("URI:{u}"),
                    other => format!("{other:?}"),
                };
                sans.push(sanitize(&text, 200));
            }
        }
        let spki = cert.public_key();
        let alg = &spki.algorithm.algorithm;
        let (key_type, key_bits) = if *alg == oid_registry::OID_PKCS1_RSAENCRYPTION {
            let bits = match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => Some(rsa.key_size()),
                _ => None,
            };
            ("RSA".to_owned(), bits)
        } else if *alg == oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            match curve {
                Some(c) if c == oid_registry::OID_EC_P256 => ("EC P-256".into(), Some(256)),
                Some(c) if c == oid_registry::OID_NIST_EC_P384 => ("EC P-384".into(), Some(384)),
                Some(c) if c == oid_registry::OID_NIST_EC_P521 => ("EC P-521".into(), Some(521)),
                Some(c) => (format!("EC {c}"), None),
                None => ("EC (no curve)".into(), None),
            }
        } else if *alg == oid_registry::OID_SIG_ED25519 {
            ("Ed25519".into(), Some(256))
        } else if *alg == oid_registry::OID_SIG_ED448 {
            ("Ed448".into(), Some(456))
        } else {
            (alg.to_id_string(), None)
        };
        Ok(CertSummary {
            subject: sanitize(&cert.subject().to_string(), 300),
            issuer: sanitize(&cert.issuer().to_string(), 300),
            sans,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            key_type,
            key_bits,
            is_ca: cert.is_ca(),
            spki_sha256: sha256(spki.raw),
            cert_sha256: sha256(der.as_ref()),
        })
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}
