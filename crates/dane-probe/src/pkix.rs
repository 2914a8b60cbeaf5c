//! The PKIX verdict for a presented chain: recorded beside the chain for DANE usages
//! PKIX-TA(0) and PKIX-EE(1) and for HTTPS reports. It is never a DANE verdict
//! (ARCHITECTURE.md invariant 3): `dane-check` decides what it means.

use std::fmt;
use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};

use crate::ProbeError;

/// Where the trust anchors of a [`TrustStore`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    /// The Mozilla root program, as shipped in the `webpki-roots` crate.
    WebPkiRoots,
    /// A PEM file given by the user (`--ca-file`).
    CaFile(String),
}

impl fmt::Display for TrustSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustSource::WebPkiRoots => f.write_str("webpki-roots (Mozilla)"),
            TrustSource::CaFile(path) => write!(f, "CA file {path}"),
        }
    }
}

/// Trust anchors for the PKIX verdict.
#[derive(Debug, Clone)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    source: TrustSource,
}

impl TrustStore {
    /// The public web PKI roots (`webpki-roots`), the default.
    pub fn webpki_roots() -> Self {
        TrustStore {
            anchors: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            source: TrustSource::WebPkiRoots,
        }
    }

    /// Anchors from PEM text (one or more `CERTIFICATE` blocks); `label` names the
    /// source in errors.
    pub fn from_pem(pem: &[u8], label: &str) -> Result<Self, ProbeError> {
        let bad = |message: String| ProbeError::CaFile {
            path: label.to_owned(),
            message,
        };
        let mut anchors = Vec::new();
        for (n, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
            let cert = cert.map_err(|e| bad(format!("certificate {}: {e}", n + 1)))?;
            let anchor = webpki::anchor_from_trusted_cert(&cert)
                .map_err(|e| bad(format!("certificate {}: not a usable anchor: {e}", n + 1)))?
                .to_owned();
            anchors.push(anchor);
        }
        if anchors.is_empty() {
            return Err(bad("no PEM CERTIFICATE blocks found".into()));
        }
        Ok(TrustStore {
            anchors,
            source: TrustSource::CaFile(label.to_owned()),
        })
    }

    /// Anchors from a PEM file (`--ca-file`).
    pub fn from_pem_file(path: &Path) -> Result<Self, ProbeError> {
        let label = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| ProbeError::CaFile {
            path: label.clone(),
            message: e.to_string(),
        })?;
        TrustStore::from_pem(&pem, &label)
    }

    /// Where the anchors came from.
    pub fn source(&self) -> &TrustSource {
        &self.source
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there are none (never true for a constructed store).
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

/// The outcome of PKIX validation of the presented chain for the reference name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PkixVerdict {
    /// A path to a trust anchor exists, every certificate is valid at `now`, and the
    /// leaf is valid for the name.
    Valid {
        /// The trust anchor's subject.
        anchor: String,
        /// Where the anchors came from.
        source: String,
    },
    /// Validation failed.
    Invalid {
        /// Why (rustls-webpki's error, explained).
        reason: String,
        /// Where the anchors came from.
        source: String,
    },
}

impl PkixVerdict {
    /// Whether the chain validated.
    pub fn is_valid(&self) -> bool {
        matches!(self, PkixVerdict::Valid { .. })
    }
}

impl fmt::Display for PkixVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PkixVerdict::Valid { anchor, source } => {
                write!(f, "valid (anchor {anchor}, from {source})")
            }
            PkixVerdict::Invalid { reason, source } => {
                write!(f, "invalid: {reason} (anchors from {source})")
            }
        }
    }
}

/// Validates `chain` (leaf first, as presented) for `name` at `now` against `store`:
/// RFC 5280 path building with rustls-webpki, server-auth EKU when present, and the
/// RFC 6125 name check on the leaf.
pub fn verify_chain(
    chain: &[CertificateDer<'_>],
    name: &ServerName<'_>,
    store: &TrustStore,
    now: UnixTime,
) -> PkixVerdict {
    let source = store.source.to_string();
    let invalid = |reason: String| PkixVerdict::Invalid {
        reason,
        source: source.clone(),
    };
    let Some((leaf, intermediates)) = chain.split_first() else {
        return invalid("no certificate presented".into());
    };
    let ee = match webpki::EndEntityCert::try_from(leaf) {
        Ok(ee) => ee,
        Err(e) => return invalid(format!("the leaf certificate does not parse: {e}")),
    };
    let algs = rustls::crypto::ring::default_provider()
        .signature_verification_algorithms
        .all;
    let path = match ee.verify_for_usage(
        algs,
        &store.anchors,
        intermediates,
        now,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    ) {
        Ok(path) => path,
        Err(e) => return invalid(explain(&e, now)),
    };
    let anchor = anchor_name(path.anchor());
    if let Err(e) = ee.verify_is_valid_for_subject_name(name) {
        return invalid(format!("the leaf is not valid for {}: {e}", name.to_str()));
    }
    PkixVerdict::Valid { anchor, source }
}

fn explain(e: &webpki::Error, now: UnixTime) -> String {
    match e {
        webpki::Error::UnknownIssuer => {
            "no path to a trusted root (missing intermediate or private CA?)".into()
        }
        webpki::Error::CertExpired { time, not_after } => format!(
            "a certificate expired at @{}, checked at @{}",
            not_after.as_secs(),
            time.as_secs()
        ),
        webpki::Error::CertNotValidYet { time, not_before } => format!(
            "a certificate is not valid before @{}, checked at @{}",
            not_before.as_secs(),
            time.as_secs()
        ),
        webpki::Error::InvalidSignatureForPublicKey => {
            "a certificate's signature does not verify with its issuer's key (a forged or \
             wrong intermediate?)"
                .into()
        }
        webpki::Error::RequiredEkuNotFoundContext(_) => {
            "a certificate's extended key usage does not allow TLS server authentication".into()
        }
        other => format!("{other} (checked at @{})", now.as_secs()),
    }
}

/// The anchor's subject as text (the anchor stores the Name's contents without the
/// outer SEQUENCE, so it is re-wrapped for the parser).
fn anchor_name(anchor: &TrustAnchor<'_>) -> String {
    let contents: &[u8] = anchor.subject.as_ref();
    let mut der = vec![0x30];
    let len = contents.len();
    if len < 0x80 {
        der.push(len as u8);
    } else if len <= 0xff {
        der.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xffff {
        der.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    } else {
        return "(oversized subject)".into();
    }
    der.extend_from_slice(contents);
    <x509_parser::x509::X509Name as x509_parser::prelude::FromDer<_>>::from_der(&der)
        .map(|(_, name)| crate::transcript::sanitize(&name.to_string(), 200))
        .unwrap_or_else(|_| "(unparsable subject)".into())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn pki(name: &str) -> String {
        format!("{}/../../fixtures/pki/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    fn chain(name: &str) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_file_iter(pki(&format!("{name}.pem")))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn at(seconds: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(seconds))
    }

    /// 2030-01-01, inside the fixture PKI's validity.
    const Y2030: u64 = 1_893_456_000;

    fn check(chain_name: &str, name: &str, now: u64, expected: Result<&str, &str>) {
        let store = TrustStore::from_pem_file(Path::new(&pki("root-ca.pem"))).unwrap();
        let server_name = ServerName::try_from(name.to_owned()).unwrap();
        let got = verify_chain(&chain(chain_name), &server_name, &store, at(now));
        match (expected, &got) {
            (Ok(anchor), PkixVerdict::Valid { anchor: a, .. }) => assert_eq!(a, anchor),
            (Err(part), PkixVerdict::Invalid { reason, .. }) => {
                assert!(reason.contains(part), "{chain_name} {name}: {reason}")
            }
            _ => panic!("{chain_name} {name}: expected {expected:?}, got {got:?}"),
        }
    }

    #[test]
    fn verdicts() {
        let root = "C=ZZ, O=dane test PKI, CN=dane test root CA";
        check("chain-rsa", "mx1.example.test", Y2030, Ok(root));
        check("chain-ec", "anything.mail.example.test", Y2030, Ok(root));
        check("chain-rsa-unordered", "mx1.example.test", Y2030, Ok(root));
        check(
            "chain-rsa",
            "mx2.example.test",
            Y2030,
            Err("the leaf is not valid for mx2.example.test"),
        );
        check(
            "chain-expired",
            "expired.example.test",
            Y2030,
            Err("expired at @"),
        );
        check(
            "chain-rsa",
            "mx1.example.test",
            1_700_000_000,
            Err("not valid before @"),
        );
        check(
            "chain-forged",
            "mx1.example.test",
            Y2030,
            Err("does not verify with its issuer's key"),
        );
        let name = ServerName::try_from("mx1.example.test").unwrap();
        let store = TrustStore::from_pem_file(Path::new(&pki("root-ca.pem"))).unwrap();
        let got = verify_chain(&[], &name, &store, at(Y2030));
        assert!(
            got.to_string().contains("no certificate presented"),
            "{got}"
        );
        // The public roots do not know the test PKI.
        let got = verify_chain(
            &chain("chain-rsa"),
            &name,
            &TrustStore::webpki_roots(),
            at(Y2030),
        );
        assert!(
            got.to_string().contains("no path to a trusted root"),
            "{got}"
        );
        assert!(got.to_string().contains("webpki-roots"), "{got}");
    }

    #[test]
    fn trust_store_inputs() {
        assert!(TrustStore::webpki_roots().len() > 100);
        let bad = |pem: &[u8]| {
            TrustStore::from_pem(pem, "test.pem")
                .unwrap_err()
                .to_string()
        };
        assert!(bad(b"").contains("no PEM CERTIFICATE blocks"));
        assert!(
            bad(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .contains("certificate 1")
        );
        let e = TrustStore::from_pem_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(matches!(e, ProbeError::CaFile { .. }), "{e}");
        let store = TrustStore::from_pem_file(Path::new(&pki("chain-rsa-full.pem"))).unwrap();
        assert_eq!(store.len(), 3);
        assert!(matches!(store.source(), TrustSource::CaFile(_)));
    }
}
