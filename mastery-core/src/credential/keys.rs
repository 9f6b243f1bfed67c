//! Issuer keys: Ed25519, identified as `did:key`. The private half never prints and is zeroised
//! on drop (ed25519-dalek's `zeroize`).

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::error::{MasteryError, Result};

/// Multicodec prefix of an Ed25519 public key.
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// An issuer's signing key.
pub struct IssuerKey {
    key: SigningKey,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuerKey({}, private key <redacted>)", self.did())
    }
}

impl IssuerKey {
    /// From the 32-byte Ed25519 seed the host keeps in its secret store.
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let bytes: [u8; 32] = seed.try_into().map_err(|_| MasteryError::invalid("seed", "must be 32 bytes"))?;
        Ok(Self { key: SigningKey::from_bytes(&bytes) })
    }

    /// `did:key:z6Mk…`
    pub fn did(&self) -> String {
        did_key_from_public(&self.key.verifying_key())
    }

    /// The verification method id used in JWT headers: `did:key:z…#z…`.
    pub fn key_id(&self) -> String {
        let did = self.did();
        let fragment = did.trim_start_matches("did:key:").to_owned();
        format!("{did}#{fragment}")
    }

    /// The public key as a Multikey `publicKeyMultibase` (`z6Mk…`).
    pub fn public_multibase(&self) -> String {
        multibase_from_public(&self.key.verifying_key())
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.key.sign(message).to_bytes()
    }
}

pub fn did_key_from_public(key: &VerifyingKey) -> String {
    format!("did:key:{}", multibase_from_public(key))
}

fn multibase_from_public(key: &VerifyingKey) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(key.as_bytes());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// The Ed25519 public key a `did:key` (or a key id `did:key:…#…`) names.
pub fn public_key_from_did_key(did: &str) -> Result<VerifyingKey> {
    let id = did.split('#').next().unwrap_or_default();
    let multibase = id.strip_prefix("did:key:").ok_or_else(|| MasteryError::invalid("issuer", "not a did:key"))?;
    public_key_from_multibase(multibase)
}

/// An Ed25519 public key from its Multikey form (`z6Mk…`: base58btc, multicodec 0xed01).
pub fn public_key_from_multibase(multibase: &str) -> Result<VerifyingKey> {
    let bad = |why: &str| MasteryError::invalid("publicKeyMultibase", why.to_owned());
    let encoded = multibase.strip_prefix('z').ok_or_else(|| bad("not base58btc"))?;
    let bytes = bs58::decode(encoded).into_vec().map_err(|_| bad("not base58btc"))?;
    let key: [u8; 32] =
        bytes.strip_prefix(&ED25519_PUB).and_then(|k| k.try_into().ok()).ok_or_else(|| bad("not an Ed25519 key"))?;
    VerifyingKey::from_bytes(&key).map_err(|_| bad("not a valid Ed25519 point"))
}
