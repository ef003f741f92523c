//! Private keys for every supported algorithm, behind rcgen's signing hook.
//!
//! All keys come from a ChaCha20 stream seeded by HKDF-SHA256 (see
//! [`super::seed`]), so a user-supplied seed gives the same keys every time.
//! Every signature is deterministic: ECDSA uses RFC 6979 nonces, Ed25519 and
//! RSA PKCS#1 v1.5 are deterministic by construction.

use anyhow::{Context, anyhow, bail};
use chacha20::ChaCha20Rng;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand_core::Rng;
use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey};
use rsa::pkcs1::EncodeRsaPublicKey;
use signature::Signer;

use crate::spec::KeyAlgorithm;

enum Inner {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
    Rsa(
        Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>,
        rsa::PrivateKey,
    ),
}

/// A private key with its public half in the form rcgen wants.
pub struct KeyPair {
    inner: Inner,
    algorithm: KeyAlgorithm,
    public: Vec<u8>,
}

impl KeyPair {
    /// Generates a key of `alg` from `rng`.
    pub fn generate(alg: KeyAlgorithm, rng: &mut ChaCha20Rng) -> anyhow::Result<Self> {
        let inner = match alg {
            // EC scalars: uniform bytes, redrawn in the (negligible) case
            // that they are zero or not below the group order.
            KeyAlgorithm::EcdsaP256 => Inner::P256(loop {
                let mut b = [0u8; 32];
                rng.fill_bytes(&mut b);
                if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&b) {
                    break k;
                }
            }),
            KeyAlgorithm::EcdsaP384 => Inner::P384(loop {
                let mut b = [0u8; 48];
                rng.fill_bytes(&mut b);
                if let Ok(k) = p384::ecdsa::SigningKey::from_slice(&b) {
                    break k;
                }
            }),
            KeyAlgorithm::Ed25519 => {
                let mut b = [0u8; 32];
                rng.fill_bytes(&mut b);
                Inner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&b))
            }
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let bits = match alg {
                    KeyAlgorithm::Rsa2048 => 2048,
                    KeyAlgorithm::Rsa3072 => 3072,
                    _ => 4096,
                };
                let key = rsa::PrivateKey::new(rng, bits).context("generating an RSA key")?;
                rsa_inner(key)
            }
        };
        Self::from_inner(inner)
    }

    /// Reads a PKCS#8 PEM private key of any supported algorithm.
    pub fn from_pkcs8_pem(pem: &str) -> anyhow::Result<Self> {
        let inner = if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            Inner::P256(k)
        } else if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            Inner::P384(k)
        } else if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            Inner::Ed25519(k)
        } else if let Ok(k) = rsa::PrivateKey::from_pkcs8_pem(pem) {
            rsa_inner(k)
        } else {
            bail!("not a PKCS#8 PEM private key of a supported algorithm");
        };
        Self::from_inner(inner)
    }

    fn from_inner(inner: Inner) -> anyhow::Result<Self> {
        let (algorithm, public) = match &inner {
            Inner::P256(k) => (
                KeyAlgorithm::EcdsaP256,
                k.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
            ),
            Inner::P384(k) => (
                KeyAlgorithm::EcdsaP384,
                k.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
            ),
            Inner::Ed25519(k) => (KeyAlgorithm::Ed25519, k.verifying_key().to_bytes().to_vec()),
            Inner::Rsa(_, k) => {
                let bits = match rsa::traits::PublicKeyParts::n(k).bit_width() {
                    b if b <= 2048 => KeyAlgorithm::Rsa2048,
                    b if b <= 3072 => KeyAlgorithm::Rsa3072,
                    _ => KeyAlgorithm::Rsa4096,
                };
                let der = k
                    .to_public_key()
                    .to_pkcs1_der()
                    .map_err(|e| anyhow!("encoding an RSA public key: {e}"))?;
                (bits, der.as_bytes().to_vec())
            }
        };
        Ok(KeyPair {
            inner,
            algorithm,
            public,
        })
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The private key as PKCS#8 PEM (what `tls.key` holds).
    pub fn to_pkcs8_pem(&self) -> anyhow::Result<String> {
        let doc = match &self.inner {
            Inner::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            Inner::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
            // PKCS#8 v1 (no embedded public key): OpenSSL 3.0, which Redis
            // links against, refuses the v2 form for Ed25519.
            Inner::Ed25519(k) => ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: k.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_pem(LineEnding::LF),
            Inner::Rsa(_, k) => k.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| anyhow!("encoding a private key: {e}"))?;
        Ok(doc.to_string())
    }

    /// The raw public key bits (as in a certificate's SubjectPublicKeyInfo).
    pub fn public_key_bits(&self) -> &[u8] {
        &self.public
    }
}

fn rsa_inner(key: rsa::PrivateKey) -> Inner {
    Inner::Rsa(
        Box::new(rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone())),
        key,
    )
}

impl PublicKeyData for KeyPair {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self.algorithm {
            KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                &rcgen::PKCS_RSA_SHA256
            }
        }
    }
}

impl SigningKey for KeyPair {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(match &self.inner {
            Inner::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(msg);
                sig.to_der().as_bytes().to_vec()
            }
            Inner::P384(k) => {
                let sig: p384::ecdsa::Signature = k.sign(msg);
                sig.to_der().as_bytes().to_vec()
            }
            Inner::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            Inner::Rsa(k, _) => {
                let sig: rsa::pkcs1v15::Signature = k.sign(msg);
                signature::SignatureEncoding::to_vec(&sig)
            }
        })
    }
}

/// Verifies `signature` over `message` with a certificate's public key
/// (algorithm OID and raw key bits), for the algorithms this crate issues.
pub fn verify(
    spki_alg: &str,
    spki_params_curve: Option<&str>,
    key_bits: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    use signature::Verifier;
    match (spki_alg, spki_params_curve) {
        (OID_EC_PUBLIC_KEY, Some(OID_P256)) => {
            let (Ok(vk), Ok(sig)) = (
                p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bits),
                p256::ecdsa::Signature::from_der(signature),
            ) else {
                return false;
            };
            vk.verify(message, &sig).is_ok()
        }
        (OID_EC_PUBLIC_KEY, Some(OID_P384)) => {
            let (Ok(vk), Ok(sig)) = (
                p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bits),
                p384::ecdsa::Signature::from_der(signature),
            ) else {
                return false;
            };
            vk.verify(message, &sig).is_ok()
        }
        (OID_ED25519, _) => {
            let Ok(bytes) = <[u8; 32]>::try_from(key_bits) else {
                return false;
            };
            let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(&bytes) else {
                return false;
            };
            let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
                return false;
            };
            vk.verify(message, &sig).is_ok()
        }
        (OID_RSA, _) => {
            use rsa::pkcs1::DecodeRsaPublicKey;
            let Ok(pk) = rsa::PublicKey::from_pkcs1_der(key_bits) else {
                return false;
            };
            let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(pk);
            let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
                return false;
            };
            vk.verify(message, &sig).is_ok()
        }
        _ => false,
    }
}

pub const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub const OID_P256: &str = "1.2.840.10045.3.1.7";
pub const OID_P384: &str = "1.3.132.0.34";
pub const OID_ED25519: &str = "1.3.101.112";
pub const OID_RSA: &str = "1.2.840.113549.1.1.1";
