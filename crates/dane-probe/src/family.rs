//! Signature-algorithm families: what a probe may restrict its offer to, so that a server
//! holding several certificates (an RSA and an ECDSA chain, `smtpd_tls_chain_files` with
//! two keys) shows each of them.
//!
//! A server picks its certificate by the client's `signature_algorithms` extension
//! (RFC 8446 4.2.3, 4.4.2.2; RFC 5246 7.4.1.4.1) and, in TLS 1.2, by the cipher suite's
//! authentication algorithm (RFC 8422 6: ECDHE_ECDSA suites for ECDSA and EdDSA keys,
//! ECDHE_RSA for RSA keys). A probe restricted to one family offers only that family's
//! schemes and suites. The prober records which chain came back; it never judges it.

use std::fmt;

use rustls::SignatureScheme;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::CertificateDer;
use x509_parser::oid_registry;
use x509_parser::prelude::FromDer as _;

/// A family of signature algorithms, named by the key type of the certificates it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyFamily {
    /// RSA keys: RSASSA-PKCS1-v1_5 and RSASSA-PSS (`rsa_pkcs1_*`, `rsa_pss_rsae_*`).
    Rsa,
    /// ECDSA keys (`ecdsa_secp256r1_sha256`, `ecdsa_secp384r1_sha384`, ...).
    Ecdsa,
    /// EdDSA keys (`ed25519`, `ed448`).
    Eddsa,
}

impl KeyFamily {
    /// Every family, in the order probes are made.
    pub const ALL: [KeyFamily; 3] = [KeyFamily::Rsa, KeyFamily::Ecdsa, KeyFamily::Eddsa];

    /// The lowercase name (`rsa`, `ecdsa`, `eddsa`): JSON, evidence, metric labels.
    pub fn name(self) -> &'static str {
        match self {
            KeyFamily::Rsa => "rsa",
            KeyFamily::Ecdsa => "ecdsa",
            KeyFamily::Eddsa => "eddsa",
        }
    }

    /// The family of a lowercase name.
    pub fn from_name(name: &str) -> Option<KeyFamily> {
        KeyFamily::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether `scheme` belongs to this family.
    pub fn has_scheme(self, scheme: SignatureScheme) -> bool {
        use SignatureScheme as S;
        match self {
            KeyFamily::Rsa => matches!(
                scheme,
                S::RSA_PKCS1_SHA1
                    | S::RSA_PKCS1_SHA256
                    | S::RSA_PKCS1_SHA384
                    | S::RSA_PKCS1_SHA512
                    | S::RSA_PSS_SHA256
                    | S::RSA_PSS_SHA384
                    | S::RSA_PSS_SHA512
            ),
            KeyFamily::Ecdsa => matches!(
                scheme,
                S::ECDSA_SHA1_Legacy
                    | S::ECDSA_NISTP256_SHA256
                    | S::ECDSA_NISTP384_SHA384
                    | S::ECDSA_NISTP521_SHA512
            ),
            KeyFamily::Eddsa => matches!(scheme, S::ED25519 | S::ED448),
        }
    }

    /// The family of a certificate's public key (its SPKI algorithm), `None` for another
    /// key type or a certificate that does not parse.
    pub fn of_certificate(der: &CertificateDer<'_>) -> Option<KeyFamily> {
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der.as_ref()).ok()?;
        let alg = &cert.public_key().algorithm.algorithm;
        if *alg == oid_registry::OID_PKCS1_RSAENCRYPTION {
            Some(KeyFamily::Rsa)
        } else if *alg == oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY {
            Some(KeyFamily::Ecdsa)
        } else if *alg == oid_registry::OID_SIG_ED25519 || *alg == oid_registry::OID_SIG_ED448 {
            Some(KeyFamily::Eddsa)
        } else {
            None
        }
    }

    /// `provider` restricted to this family: TLS 1.2 suites whose authentication fits the
    /// family's keys (RFC 8422 6: EdDSA uses the ECDSA suites); TLS 1.3 suites are not
    /// tied to a key type and stay.
    pub(crate) fn restrict(self, provider: &CryptoProvider) -> CryptoProvider {
        let mut restricted = provider.clone();
        restricted.cipher_suites.retain(|suite| match suite {
            rustls::SupportedCipherSuite::Tls13(_) => true,
            rustls::SupportedCipherSuite::Tls12(s) => s.sign.iter().any(|scheme| {
                self.has_scheme(*scheme)
                    || (self == KeyFamily::Eddsa && KeyFamily::Ecdsa.has_scheme(*scheme))
            }),
        });
        restricted
    }
}

impl fmt::Display for KeyFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyFamily::Rsa => "RSA",
            KeyFamily::Ecdsa => "ECDSA",
            KeyFamily::Eddsa => "EdDSA",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in KeyFamily::ALL {
            assert_eq!(KeyFamily::from_name(f.name()), Some(f));
        }
        assert_eq!(KeyFamily::from_name("dsa"), None);
    }

    #[test]
    fn every_scheme_ring_verifies_belongs_to_one_family() {
        let provider = rustls::crypto::ring::default_provider();
        for scheme in provider
            .signature_verification_algorithms
            .supported_schemes()
        {
            let families: Vec<_> = KeyFamily::ALL
                .into_iter()
                .filter(|f| f.has_scheme(scheme))
                .collect();
            assert_eq!(families.len(), 1, "{scheme:?}: {families:?}");
        }
    }

    #[test]
    fn restricted_tls12_suites_fit_the_key_type() {
        let provider = rustls::crypto::ring::default_provider();
        let names = |f: KeyFamily| -> Vec<String> {
            f.restrict(&provider)
                .cipher_suites
                .iter()
                .map(|s| format!("{:?}", s.suite()))
                .collect()
        };
        let rsa = names(KeyFamily::Rsa);
        assert!(rsa.iter().any(|s| s.contains("ECDHE_RSA")), "{rsa:?}");
        assert!(!rsa.iter().any(|s| s.contains("ECDHE_ECDSA")), "{rsa:?}");
        assert!(rsa.iter().any(|s| s.starts_with("TLS13_")), "{rsa:?}");
        for f in [KeyFamily::Ecdsa, KeyFamily::Eddsa] {
            let n = names(f);
            assert!(n.iter().any(|s| s.contains("ECDHE_ECDSA")), "{n:?}");
            assert!(!n.iter().any(|s| s.contains("ECDHE_RSA")), "{n:?}");
        }
    }

    #[test]
    fn families_of_the_fixture_leaves() {
        for (file, family) in [
            ("chain-rsa.pem", Some(KeyFamily::Rsa)),
            ("chain-ec.pem", Some(KeyFamily::Ecdsa)),
            ("chain-p384.pem", Some(KeyFamily::Ecdsa)),
            ("chain-ed25519.pem", Some(KeyFamily::Eddsa)),
        ] {
            let path = format!("{}/../../fixtures/pki/{file}", env!("CARGO_MANIFEST_DIR"));
            let Ok(pem) = std::fs::read(&path) else {
                panic!("{path} is missing");
            };
            let der = rustls_pki_types::pem::PemObject::pem_slice_iter(&pem)
                .next()
                .and_then(Result::ok)
                .map(|c: CertificateDer<'static>| c);
            assert_eq!(
                der.and_then(|d| KeyFamily::of_certificate(&d)),
                family,
                "{file}"
            );
        }
        assert_eq!(
            KeyFamily::of_certificate(&CertificateDer::from(vec![1, 2, 3])),
            None
        );
    }
}
