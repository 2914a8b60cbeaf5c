//! The rustls client configuration of a probe: the ring provider, and a certificate
//! verifier that accepts any chain but records it, while still verifying the handshake
//! signature with the leaf's key.
//!
//! Accepting every chain is what a DANE prober must do: the chain is evidence for the
//! policy (DANE-EE keys, private DANE-TA anchors, expired or self-signed certificates are
//! all legitimate under RFC 7671), so judging it here would hide exactly what the policy
//! needs to see. What must never be skipped is the proof of possession: the
//! CertificateVerify (TLS 1.3, RFC 8446 4.4.3) or ServerKeyExchange (TLS 1.2, RFC 5246
//! 7.4.3) signature is checked against the leaf's public key, so a server that replays
//! someone else's certificate fails the handshake.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::family::KeyFamily;

/// Most certificates recorded from one handshake (a chain longer than this is cut; the
/// handshake itself is bounded by rustls's message size limit).
pub(crate) const MAX_RECORDED_CHAIN: usize = 16;

/// The chain a server presented, as recorded by the verifier.
pub(crate) type RecordedChain = Arc<Mutex<Option<Vec<CertificateDer<'static>>>>>;

/// Accepts any chain, records it, verifies handshake signatures.
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    recorded: RecordedChain,
    algorithms: WebPkiSupportedAlgorithms,
    /// The signature schemes offered in the ClientHello (all that ring verifies, or one
    /// family's).
    offered: Vec<SignatureScheme>,
}

impl RecordingVerifier {
    pub(crate) fn new(
        provider: &CryptoProvider,
        offer: Option<KeyFamily>,
    ) -> (Self, RecordedChain) {
        let recorded = RecordedChain::default();
        let algorithms = provider.signature_verification_algorithms;
        let offered = algorithms
            .supported_schemes()
            .into_iter()
            .filter(|s| offer.is_none_or(|f| f.has_scheme(*s)))
            .collect();
        (
            RecordingVerifier {
                recorded: recorded.clone(),
                algorithms,
                offered,
            },
            recorded,
        )
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain: Vec<CertificateDer<'static>> = std::iter::once(end_entity)
            .chain(intermediates)
            .take(MAX_RECORDED_CHAIN)
            .map(|c| c.clone().into_owned())
            .collect();
        // A poisoned lock only means another thread panicked while holding it; the data
        // (an Option of owned certificates) cannot be left half-written.
        *self.recorded.lock().unwrap_or_else(PoisonError::into_inner) = Some(chain);
        // Deliberately no judgement of the chain (see the module docs); the policy
        // decides, and the PKIX verdict is recorded separately.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // RFC 5246 7.4.3: the ServerKeyExchange signature, made with the leaf's key.
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // RFC 8446 4.4.3: CertificateVerify, made with the leaf's key.
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // rustls sends these as the ClientHello's signature_algorithms (RFC 8446 4.2.3),
        // by which the server picks its certificate.
        self.offered.clone()
    }
}

/// A client configuration for one probe, and the slot its verifier records into.
///
/// TLS 1.3 and 1.2 with ring's suites (all AEAD) and groups; `alpn` offered as given;
/// session resumption off, so every probe sees a full handshake and a freshly presented
/// chain (a resumed session presents none and proves no key possession). With `offer`,
/// only that family's signature schemes and TLS 1.2 suites are offered.
pub(crate) fn client_config(
    provider: &Arc<CryptoProvider>,
    alpn: Vec<Vec<u8>>,
    offer: Option<KeyFamily>,
) -> Result<(ClientConfig, RecordedChain), rustls::Error> {
    let provider = match offer {
        Some(family) => Arc::new(family.restrict(provider)),
        None => provider.clone(),
    };
    let (verifier, recorded) = RecordingVerifier::new(&provider, offer);
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = alpn;
    config.resumption = rustls::client::Resumption::disabled();
    config.enable_sni = true;
    Ok((config, recorded))
}

/// The ring provider shared by every probe.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
