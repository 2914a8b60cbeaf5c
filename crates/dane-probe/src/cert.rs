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

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject as _;

    use super::*;

    fn fixture(name: &str) -> CertificateDer<'static> {
        let path = format!(
            "{}/../../fixtures/pki/{name}.pem",
            env!("CARGO_MANIFEST_DIR")
        );
        CertificateDer::from_pem_file(path).unwrap()
    }

    /// The openssl-computed `x S 1` digest from fixtures/pki/golden/certs.txt.
    fn golden(name: &str, selector: u8) -> String {
        let path = format!(
            "{}/../../fixtures/pki/golden/certs.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let prefix = format!("{name}.pem {selector} 1 ");
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn summaries_of_the_fixture_leaves() {
        for (name, key_type, bits, sans) in [
            ("leaf-rsa", "RSA", Some(2048), &["DNS:mx1.example.test"][..]),
            (
                "leaf-ec",
                "EC P-256",
                Some(256),
                &["DNS:mx2.example.test", "DNS:*.mail.example.test"][..],
            ),
            (
                "leaf-ed25519",
                "Ed25519",
                Some(256),
                &["DNS:mx3.example.test"][..],
            ),
            (
                "leaf-p384",
                "EC P-384",
                Some(384),
                &["DNS:mx4.example.test"][..],
            ),
        ] {
            let s = CertSummary::from_der(&fixture(name)).unwrap();
            assert_eq!(
                (s.key_type.as_str(), s.key_bits),
                (key_type, bits),
                "{name}"
            );
            assert_eq!(s.sans, sans, "{name}");
            assert!(!s.is_ca, "{name}");
            assert_eq!(hex(&s.spki_sha256), golden(name, 1), "{name}");
            assert_eq!(hex(&s.cert_sha256), golden(name, 0), "{name}");
            assert_eq!(
                s.issuer,
                "C=ZZ, O=dane test PKI, CN=dane test intermediate CA"
            );
        }
        let s = CertSummary::from_der(&fixture("leaf-rsa")).unwrap();
        assert_eq!(s.subject, "C=ZZ, O=dane test PKI, CN=mx1.example.test");
        // notBefore 2026-11-22T09:33:00Z, notAfter 2036-11-19T09:33:00Z (openssl x509 -dates).
        assert_eq!((s.not_before, s.not_after), (1_795_339_980, 2_110_699_980));
        assert!(
            CertSummary::from_der(&fixture("intermediate-ca"))
                .unwrap()
                .is_ca
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"\x30\x03\x02\x01", b"not a certificate"] {
            let got = CertSummary::from_der(&CertificateDer::from(bytes.to_vec()));
            assert!(
                matches!(got, Err(ProbeError::Certificate { .. })),
                "{bytes:?}"
            );
        }
    }
}
