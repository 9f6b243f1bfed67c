//! VC-JWT (OB 3.0 §8.2): the credential is the JWT payload, with `iss`, `jti`, `nbf` and `exp`;
//! EdDSA over Ed25519. Verification reports every check rather than stopping at the first.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::integrity::{controller, verify_proofs};
use super::keys::{public_key_from_did_key, IssuerKey};
use super::status::{entry_index, StatusList};
use crate::error::{MasteryError, Result};
use crate::json::{one_or_many, strings};
use crate::time::{parse_instant, Instant};

/// Signs an OB 3.0 credential as a compact VC-JWT. The credential's issuer must be the key's DID.
pub fn sign_vc_jwt(credential: &Value, key: &IssuerKey) -> Result<String> {
    let issuer = issuer_id(credential).ok_or_else(|| MasteryError::invalid("issuer.id", "is required"))?;
    if issuer != key.did() {
        return Err(MasteryError::invalid("issuer.id", "must be the signing key's did:key"));
    }
    let mut payload = credential.clone();
    payload["iss"] = json!(issuer);
    if let Some(id) = credential.get("id") {
        payload["jti"] = id.clone();
    }
    let epoch = |field: &str| -> Result<Option<i64>> {
        credential
            .get(field)
            .and_then(Value::as_str)
            .map(|t| parse_instant(t, field).map(|t| t.timestamp()))
            .transpose()
    };
    if let Some(nbf) = epoch("validFrom")? {
        payload["nbf"] = json!(nbf);
    }
    if let Some(exp) = epoch("validUntil")? {
        payload["exp"] = json!(exp);
    }
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": key.key_id()});
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(payload.to_string()));
    let signature = key.sign(signing_input.as_bytes());
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// EdDSA over `header.payload` with the did:key named in the header's `kid`.
fn jwt_signature_verifies(header: &Value, header_b64: &str, payload_b64: &str, signature: &[u8]) -> bool {
    let kid = header.get("kid").and_then(Value::as_str).unwrap_or_default();
    header.get("alg").and_then(Value::as_str) == Some("EdDSA")
        && public_key_from_did_key(kid).ok().zip(<[u8; 64]>::try_from(signature).ok()).is_some_and(|(key, sig)| {
            key.verify_strict(
                format!("{header_b64}.{payload_b64}").as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
            .is_ok()
        })
}

pub(crate) fn issuer_id(credential: &Value) -> Option<String> {
    match credential.get("issuer")? {
        Value::String(s) => Some(s.clone()),
        other => other.get("id")?.as_str().map(str::to_owned),
    }
}

/// What the verifier knows besides the JWT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyOptions {
    pub now: Instant,
    /// The issuer the relying party expects (none: any issuer whose key verifies).
    #[serde(default)]
    pub expected_issuer: Option<String>,
    /// Revoked indexes of the credential's status list, when the host tracks them itself.
    #[serde(default)]
    pub revoked_indexes: BTreeSet<u64>,
    /// Keys the host resolved for verification methods other than did:key (from did:web
    /// documents or issuer profiles, see `keys_from_document`): method id → `publicKeyMultibase`.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
    /// Bitstring status list credentials the host fetched, by URL: a JSON credential with a Data
    /// Integrity proof, or a VC-JWT string. A list counts only when its issuer is the credential's
    /// issuer and its proof verifies with that issuer's key.
    #[serde(default)]
    pub status_lists: BTreeMap<String, Value>,
    /// Keys the host vouches for on behalf of issuers that publish none (a `urn:` issuer): issuer
    /// id → verification method ids (a did:key, or a method id in `keys`). Without an entry here,
    /// a proof speaks for an issuer only when the issuer controls its verification method.
    #[serde(default)]
    pub issuer_keys: BTreeMap<String, BTreeSet<String>>,
}

impl VerifyOptions {
    /// Checks at `now`, trusting any issuer, with no resolved keys or status lists.
    pub fn at(now: Instant) -> Self {
        Self {
            now,
            expected_issuer: None,
            revoked_indexes: BTreeSet::new(),
            keys: BTreeMap::new(),
            status_lists: BTreeMap::new(),
            issuer_keys: BTreeMap::new(),
        }
    }
}

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// Every check, and whether all passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub valid: bool,
    pub checks: Vec<Check>,
    pub credential: Value,
}

/// Verifies a VC-JWT: signature (key from the header's did:key), OB 3.0 shape, validity window,
/// revocation status and issuer. Fails as a whole only when the text is not a JWT.
pub fn verify_vc_jwt(jwt: &str, options: &VerifyOptions) -> Result<Verification> {
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(MasteryError::parse("VC-JWT", "expected three dot-separated parts"));
    };
    let decode = |part: &str, what: &'static str| -> Result<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(part).map_err(|_| MasteryError::parse("VC-JWT", format!("{what} is not base64url")))
    };
    let header: Value =
        serde_json::from_slice(&decode(header_b64, "header")?).map_err(|e| MasteryError::parse("VC-JWT header", e))?;
    let payload: Value = serde_json::from_slice(&decode(payload_b64, "payload")?)
        .map_err(|e| MasteryError::parse("VC-JWT payload", e))?;
    let signature = decode(signature_b64, "signature")?;
    let mut checks = Vec::new();
    let mut check = |name: &str, passed: bool, detail: String| checks.push(Check { name: name.into(), passed, detail });

    // Signature.
    let kid = header.get("kid").and_then(Value::as_str).unwrap_or_default();
    let signed = jwt_signature_verifies(&header, header_b64, payload_b64, &signature);
    check(
        "signature",
        signed,
        if signed {
            "EdDSA signature verifies with the did:key in kid".into()
        } else {
            "signature does not verify".into()
        },
    );

    let key_did = kid.split('#').next().unwrap_or_default();
    let iss = payload.get("iss").and_then(Value::as_str).unwrap_or_default();
    let issuer = issuer_id(&payload).unwrap_or_default();
    document_checks(&payload, options, &mut checks, issuer == key_did && iss == issuer);
    let valid = checks.iter().all(|c| c.passed);
    Ok(Verification { valid, checks, credential: payload })
}

/// Checks an OB 3.0 credential given as JSON with embedded Data Integrity proofs
/// (`eddsa-rdfc-2022`): every proof, the shape, the validity window, the status and the issuer.
pub fn verify_credential_json(credential: &Value, options: &VerifyOptions) -> Verification {
    let (signed, detail) = verify_proofs(credential, &options.keys);
    let mut checks = vec![Check { name: "signature".into(), passed: signed, detail }];
    // Every proof's verification method must belong to the issuer.
    let issuer = issuer_id(credential).unwrap_or_default();
    let proofs = one_or_many(credential.get("proof"));
    let issuer_bound = !issuer.is_empty()
        && proofs.iter().all(|p| {
            let method = p.get("verificationMethod").and_then(Value::as_str).unwrap_or_default();
            speaks_for(&issuer, method, options)
        });
    document_checks(credential, options, &mut checks, issuer_bound);
    let valid = checks.iter().all(|c| c.passed);
    Verification { valid, checks, credential: credential.clone() }
}

/// Verifies a credential in either format: a compact VC-JWT or a JSON document with embedded
/// proofs. Fails as a whole only when the text is neither.
pub fn verify_credential(text: &str, options: &VerifyOptions) -> Result<Verification> {
    let text = text.trim();
    if text.starts_with('{') {
        let doc: Value = serde_json::from_str(text).map_err(|e| MasteryError::parse("credential JSON", e))?;
        Ok(verify_credential_json(&doc, options))
    } else {
        verify_vc_jwt(text, options)
    }
}

/// Whether a proof made with `method` speaks for `issuer`: the issuer controls the method, or the
/// host vouched for that key on the issuer's behalf. (A `urn:` issuer publishes no keys, so any
/// did:key could otherwise claim to be it.)
fn speaks_for(issuer: &str, method: &str, options: &VerifyOptions) -> bool {
    controller(method) == issuer
        || options
            .issuer_keys
            .get(issuer)
            .is_some_and(|vouched| vouched.contains(method) || vouched.contains(controller(method)))
}

fn document_checks(payload: &Value, options: &VerifyOptions, checks: &mut Vec<Check>, issuer_bound: bool) {
    let mut check = |name: &str, passed: bool, detail: String| checks.push(Check { name: name.into(), passed, detail });
    // Shape.
    let shape = shape_problem(payload);
    check("schema", shape.is_none(), shape.unwrap_or_else(|| "OB 3.0 OpenBadgeCredential".into()));

    // Validity window.
    let time = |field: &str| payload.get(field).and_then(Value::as_str).and_then(|t| parse_instant(t, field).ok());
    let window = match (time("validFrom"), time("validUntil")) {
        (Some(from), _) if options.now < from => Err(format!("not valid before {from}")),
        (_, Some(until)) if options.now >= until => Err(format!("expired at {until}")),
        (None, _) => Err("validFrom is missing".to_owned()),
        _ => Ok(()),
    };
    check("validity", window.is_ok(), window.err().unwrap_or_else(|| "within its validity window".into()));

    // Status.
    let status = status_problem(payload, options);
    check("status", status.is_ok(), status.err().unwrap_or_else(|| "not revoked".into()));

    // Issuer: bound to the key or proof, and the one the relying party expects.
    let issuer = issuer_id(payload).unwrap_or_default();
    let issuer_ok = issuer_bound && options.expected_issuer.as_deref().is_none_or(|e| e == issuer);
    let detail = if issuer_ok {
        format!("issued by {issuer}")
    } else {
        "issuer does not match the key or the expected issuer".into()
    };
    check("issuer", issuer_ok, detail);
}

/// Why the credential's status entries say it may not be relied on, if they do.
fn status_problem(payload: &Value, options: &VerifyOptions) -> std::result::Result<(), String> {
    let issuer = issuer_id(payload).unwrap_or_default();
    for entry in one_or_many(payload.get("credentialStatus")) {
        let Some(index) = entry_index(entry) else { continue };
        if options.revoked_indexes.contains(&index) {
            return Err("revoked in its status list".into());
        }
        let url = entry.get("statusListCredential").and_then(Value::as_str).unwrap_or_default();
        let Some(list_credential) = options.status_lists.get(url) else { continue };
        let list_credential = issuers_status_list(list_credential, &issuer, options)?;
        let (list, purpose) = StatusList::from_credential(&list_credential).map_err(|e| e.to_string())?;
        if list.is_set(index).map_err(|e| e.to_string())? {
            return Err(format!("{purpose}: set in its status list"));
        }
    }
    Ok(())
}

/// The status list credential, once it is shown to come from `issuer`: signed (a Data Integrity
/// proof or a VC-JWT) with a key that speaks for the issuer, and within its validity window.
fn issuers_status_list(list: &Value, issuer: &str, options: &VerifyOptions) -> std::result::Result<Value, String> {
    let (document, methods): (Value, Vec<String>) = match list {
        Value::String(jwt) => {
            let parts: Vec<&str> = jwt.trim().split('.').collect();
            let [header_b64, payload_b64, signature_b64] = parts[..] else {
                return Err("status list is not a VC-JWT".into());
            };
            let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
            let header: Value = decode(header_b64)
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or("status list JWT header is unreadable")?;
            let payload: Value = decode(payload_b64)
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or("status list JWT payload is unreadable")?;
            let signature = decode(signature_b64).ok_or("status list JWT signature is unreadable")?;
            if !jwt_signature_verifies(&header, header_b64, payload_b64, &signature) {
                return Err("status list signature does not verify".into());
            }
            let kid = header.get("kid").and_then(Value::as_str).unwrap_or_default().to_owned();
            (payload, vec![kid])
        }
        document => {
            let (signed, why) = verify_proofs(document, &options.keys);
            if !signed {
                return Err(format!("status list does not verify: {why}"));
            }
            let methods = one_or_many(document.get("proof"))
                .iter()
                .map(|p| p.get("verificationMethod").and_then(Value::as_str).unwrap_or_default().to_owned())
                .collect();
            (document.clone(), methods)
        }
    };
    if issuer_id(&document).as_deref() != Some(issuer) || !methods.iter().all(|m| speaks_for(issuer, m, options)) {
        return Err("status list is not signed by the credential's issuer".into());
    }
    let time = |field: &str| document.get(field).and_then(Value::as_str).and_then(|t| parse_instant(t, field).ok());
    if time("validUntil").is_some_and(|until| options.now >= until) {
        return Err("status list has expired".into());
    }
    Ok(document)
}

/// The first OB 3.0 structural rule the credential breaks.
fn shape_problem(c: &Value) -> Option<String> {
    let context = strings(c.get("@context"));
    if context.first().copied() != Some("https://www.w3.org/ns/credentials/v2")
        || !context.iter().any(|x| x.starts_with("https://purl.imsglobal.org/spec/ob/v3p0/context"))
    {
        return Some("@context must start with the VC 2.0 context and include the OB 3.0 context".into());
    }
    let t = strings(c.get("type"));
    if !t.contains(&"VerifiableCredential")
        || !(t.contains(&"OpenBadgeCredential") || t.contains(&"AchievementCredential"))
    {
        return Some("type must include VerifiableCredential and OpenBadgeCredential".into());
    }
    match c.get("issuer") {
        Some(Value::String(_)) => {}
        Some(issuer @ Value::Object(_)) if strings(issuer.get("type")).contains(&"Profile") => {}
        Some(_) => return Some("issuer.type must include Profile".into()),
        None => return Some("issuer is required".into()),
    }
    for (i, e) in c.get("evidence").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if !strings(e.get("type")).contains(&"Evidence") {
            return Some(format!("evidence[{i}].type must include Evidence"));
        }
    }
    let subject = c.get("credentialSubject")?;
    if !strings(subject.get("type")).contains(&"AchievementSubject") {
        return Some("credentialSubject.type must include AchievementSubject".into());
    }
    for (i, id) in subject.get("identifier").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if id.get("type").and_then(Value::as_str) != Some("IdentityObject") {
            return Some(format!("credentialSubject.identifier[{i}].type must be IdentityObject"));
        }
    }
    for (i, r) in subject.get("result").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if !strings(r.get("type")).contains(&"Result") {
            return Some(format!("credentialSubject.result[{i}].type must include Result"));
        }
    }
    let achievement = subject.get("achievement")?;
    for field in ["id", "type", "criteria", "description", "name"] {
        if achievement.get(field).is_none() {
            return Some(format!("credentialSubject.achievement.{field} is required"));
        }
    }
    None
}
