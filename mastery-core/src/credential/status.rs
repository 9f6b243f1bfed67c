//! W3C Bitstring Status List v1.0: a GZIP-compressed bitstring, base64url-encoded with the
//! multibase prefix `u`, published in a `BitstringStatusListCredential`. Bit `i` (most significant
//! bit of each byte first) set means the credential with `statusListIndex` `i` is revoked.

use std::io::{Read, Write};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::error::{MasteryError, Result};
use crate::time::Instant;

/// The spec's minimum length (16 KiB), which keeps any one credential's index from standing out.
pub const MIN_BITS: usize = 131_072;

/// A status list's bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bytes: Vec<u8>,
}

impl Default for StatusList {
    fn default() -> Self {
        Self::new(MIN_BITS)
    }
}

impl StatusList {
    /// A list of at least `bits` entries (and at least the spec's minimum), none set.
    pub fn new(bits: usize) -> Self {
        Self { bytes: vec![0; bits.max(MIN_BITS).div_ceil(8)] }
    }

    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn set(&mut self, index: u64, revoked: bool) -> Result<()> {
        let (byte, mask) = self.position(index)?;
        if revoked {
            self.bytes[byte] |= mask;
        } else {
            self.bytes[byte] &= !mask;
        }
        Ok(())
    }

    pub fn is_set(&self, index: u64) -> Result<bool> {
        let (byte, mask) = self.position(index)?;
        Ok(self.bytes[byte] & mask != 0)
    }

    fn position(&self, index: u64) -> Result<(usize, u8)> {
        let i = usize::try_from(index).ok().filter(|&i| i < self.len());
        let i = i.ok_or_else(|| MasteryError::invalid("statusListIndex", "is beyond the end of the status list"))?;
        Ok((i / 8, 0x80 >> (i % 8)))
    }

    /// The `encodedList` value.
    pub fn encode(&self) -> String {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&self.bytes);
        let compressed = gz.finish().unwrap_or_default();
        format!("u{}", URL_SAFE_NO_PAD.encode(compressed))
    }

    /// Decodes an `encodedList` (padding tolerated). Decompression stops at 16 MiB.
    pub fn decode(encoded: &str) -> Result<Self> {
        let bad = |why: &str| MasteryError::parse("status list", why);
        let body = encoded.strip_prefix('u').ok_or_else(|| bad("encodedList must be multibase base64url ('u')"))?;
        let compressed = URL_SAFE_NO_PAD.decode(body.trim_end_matches('=')).map_err(|_| bad("not base64url"))?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .take(16 << 20)
            .read_to_end(&mut bytes)
            .map_err(|_| bad("not GZIP"))?;
        Ok(Self { bytes })
    }

    /// The list inside a `BitstringStatusListCredential`, with its purpose.
    pub fn from_credential(credential: &Value) -> Result<(Self, String)> {
        let subject = credential
            .get("credentialSubject")
            .ok_or_else(|| MasteryError::invalid("credentialSubject", "is required"))?;
        let encoded = subject
            .get("encodedList")
            .and_then(Value::as_str)
            .ok_or_else(|| MasteryError::invalid("credentialSubject.encodedList", "is required"))?;
        let purpose = subject.get("statusPurpose").and_then(Value::as_str).unwrap_or("revocation");
        Ok((Self::decode(encoded)?, purpose.to_owned()))
    }
}

/// An unsigned `BitstringStatusListCredential` publishing `list` for `purpose`; the host signs
/// it like any credential and serves it at `id`.
pub fn status_list_credential(id: &str, issuer: &str, list: &StatusList, purpose: &str, valid_from: Instant) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "credentialSubject": {
            "id": format!("{id}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": list.encode(),
        },
    })
}

/// The index a credential's `BitstringStatusListEntry` names (the spec says a string; some
/// issuers write a number).
pub(crate) fn entry_index(entry: &Value) -> Option<u64> {
    match entry.get("statusListIndex")? {
        Value::String(s) => s.parse().ok(),
        other => other.as_u64(),
    }
}
