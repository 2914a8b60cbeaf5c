//! The next key: generated here as PKCS#8 PEM (`PRIVATE KEY`), the form certbot
//! (`--key-path`/`--reuse-key`), acme.sh (`--always-force-new-domain-key` off, a key file
//! in place), dehydrated (`PRIVATE_KEY_ROLLOVER`) and lego (`--key`) all read, as OpenSSL's
//! `openssl genpkey` writes it.
//!
//! P-256 and Ed25519 come from ring; RSA from the RustCrypto `rsa` crate (pure Rust, with
//! e = 65537). Randomness is the operating system's (ring's `SystemRandom`, `getrandom` for
//! RSA): this is the only place in the crate that reads it. Writing the file (mode 0600,
//! never over an existing file) is [`super::files`]'s.

use dane_tlsa::Spki;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use rsa::pkcs8::EncodePrivateKey as _;

/// The type of key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA on P-256 (secp256r1): the default; Let's Encrypt and every ACME CA issue for it.
    P256,
    /// RSA with a 2048-bit modulus.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// Ed25519: fine for DANE-EE, but public ACME CAs do not issue for it today.
    Ed25519,
}

impl KeyType {
    /// Every type, in the order of `--key-type`'s documentation.
    pub const ALL: [KeyType; 4] = [
        KeyType::P256,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Ed25519,
    ];

    /// The `--key-type` name.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::P256 => "p256",
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Ed25519 => "ed25519",
        }
    }

    /// The type named `name` (`p256`, `rsa2048`, `rsa3072`, `ed25519`).
    pub fn from_name(name: &str) -> Option<KeyType> {
        KeyType::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// A generated key: its PKCS#8 PEM and its public key.
pub struct NewKey {
    /// `-----BEGIN PRIVATE KEY-----` ... (PKCS#8, unencrypted, LF line ends).
    pub pem: String,
    /// The SubjectPublicKeyInfo (what a `3 1 1` record hashes).
    pub spki: Spki,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of logs.
        f.debug_struct("NewKey").finish_non_exhaustive()
    }
}

/// Why a key could not be generated.
#[derive(Debug, thiserror::Error)]
#[error("generating a {kind} key: {detail}")]
pub struct KeyError {
    /// The type asked for.
    pub kind: &'static str,
    /// What failed.
    pub detail: String,
}

/// ring writes Ed25519 keys as PKCS#8 v2 (RFC 5958, with the public key), which OpenSSL 3
/// does not read; the v1 form (RFC 8410 7: version 0, the seed alone) is what
/// `openssl genpkey -algorithm ed25519` writes and every client reads.
fn ed25519_v1(v2: &[u8]) -> Option<Vec<u8>> {
    // SEQUENCE { INTEGER 1, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } ...
    const V2_PREFIX: [u8; 16] = [
        0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
    const V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let seed = v2.strip_prefix(&V2_PREFIX)?.get(..32)?;
    let mut v1 = V1_PREFIX.to_vec();
    v1.extend_from_slice(seed);
    Some(v1)
}

/// Generates a key of type `kind`.
pub fn generate(kind: KeyType) -> Result<NewKey, KeyError> {
    let err = |detail: String| KeyError {
        kind: kind.name(),
        detail,
    };
    let rng = SystemRandom::new();
    let der: Vec<u8> = match kind {
        KeyType::P256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|e| err(e.to_string()))?
            .as_ref()
            .to_vec(),
        KeyType::Ed25519 => {
            let v2 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| err(e.to_string()))?;
            ed25519_v1(v2.as_ref()).ok_or_else(|| err("unexpected PKCS#8 from ring".into()))?
        }
        KeyType::Rsa2048 | KeyType::Rsa3072 => {
            let bits = if kind == KeyType::Rsa2048 { 2048 } else { 3072 };
            let mut os = rand::rngs::SysRng;
            let key = rsa::PrivateKey::new(&mut os, bits).map_err(|e| err(e.to_string()))?;
            key.to_pkcs8_der()
                .map_err(|e| err(e.to_string()))?
                .as_bytes()
                .to_vec()
        }
    };
    let pem = pem::encode_config(
        &pem::Pem::new("PRIVATE KEY", der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    // Read back with the same reader `--key` uses: what we write is what we can read.
    let spki = dane_tlsa::parse_private_key(pem.as_bytes()).map_err(|e| err(e.to_string()))?;
    Ok(NewKey { pem, spki })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in KeyType::ALL {
            assert_eq!(KeyType::from_name(k.name()), Some(k));
        }
        assert_eq!(KeyType::from_name("RSA2048"), Some(KeyType::Rsa2048));
        assert_eq!(KeyType::from_name("dsa"), None);
    }

    #[test]
    fn generated_keys_are_pkcs8_and_distinct() {
        for kind in [KeyType::P256, KeyType::Ed25519] {
            let a = generate(kind).unwrap();
            let b = generate(kind).unwrap();
            assert!(
                a.pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
                "{kind:?}"
            );
            assert!(a.pem.ends_with("-----END PRIVATE KEY-----\n"), "{kind:?}");
            assert_ne!(a.spki, b.spki, "{kind:?}: two keys must differ");
        }
        // Ed25519 as PKCS#8 v1 (version 0, RFC 8410 7), the form OpenSSL reads.
        let k = generate(KeyType::Ed25519).unwrap();
        let der = pem::parse(&k.pem).unwrap();
        assert_eq!(&der.contents()[..5], &[0x30, 0x2e, 0x02, 0x01, 0x00]);
        assert_eq!(der.contents().len(), 48);
    }

    #[test]
    fn rsa_2048_key_has_a_2048_bit_modulus() {
        let k = generate(KeyType::Rsa2048).unwrap();
        // SubjectPublicKeyInfo of a 2048-bit RSA key: 294 octets.
        assert_eq!(k.spki.as_der().len(), 294);
    }
}
