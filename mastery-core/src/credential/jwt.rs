//! VC-JWT (OB 3.0 §8.2): the credential is the JWT payload, with `iss`, `jti`, `nbf` and `exp`;
//! EdDSA over Ed25519. Verification reports every check rather than stopping at the first.

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::keys::{public_key_from_did_key, IssuerKey};
use crate::error::{MasteryError, Result};
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

fn issuer_id(credential: &Value) -> Option<String> {
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
    /// Revoked indexes of the credential's status list (the host fetches and decodes the list).
    #[serde(default)]
    pub revoked_indexes: BTreeSet<u64>,
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
    let signed = header.get("alg").and_then(Value::as_str) == Some("EdDSA")
        && public_key_from_did_key(kid).ok().zip(<[u8; 64]>::try_from(signature.as_slice()).ok()).is_some_and(
            |(key, sig)| {
                key.verify_strict(
                    format!("{header_b64}.{payload_b64}").as_bytes(),
                    &ed25519_dalek::Signature::from_bytes(&sig),
                )
                .is_ok()
            },
        );
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

/// Checks an OB 3.0 credential given as JSON (with an embedded proof, or none). Everything but
/// the signature is checked; Data Integrity proofs (`eddsa-rdfc-2022`) are not verified yet, so
/// the signature check of a JSON credential always fails and says so.
pub fn verify_credential_json(credential: &Value, options: &VerifyOptions) -> Verification {
    let proof = match credential.get("proof") {
        Some(Value::Array(list)) => list.first(),
        other => other,
    };
    let detail = match proof.and_then(|p| p.get("cryptosuite").or(p.get("type"))).and_then(Value::as_str) {
        Some(suite) => {
            format!("embedded proof ({suite}) is not verified: Data Integrity proofs are not implemented yet")
        }
        None => "unsigned: no proof".to_owned(),
    };
    let mut checks = vec![Check { name: "signature".into(), passed: false, detail }];
    // The proof's verification method must belong to the issuer.
    let method = proof.and_then(|p| p.get("verificationMethod")).and_then(Value::as_str).unwrap_or_default();
    let issuer = issuer_id(credential).unwrap_or_default();
    let issuer_bound = !issuer.is_empty() && (proof.is_none() || method.split('#').next() == Some(issuer.as_str()));
    document_checks(credential, options, &mut checks, issuer_bound);
    Verification { valid: false, checks, credential: credential.clone() }
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
    let index = payload
        .pointer("/credentialStatus/statusListIndex")
        .and_then(Value::as_str)
        .and_then(|i| i.parse::<u64>().ok());
    let revoked = index.is_some_and(|i| options.revoked_indexes.contains(&i));
    check("status", !revoked, if revoked { "revoked in its status list".into() } else { "not revoked".into() });

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

/// The first OB 3.0 structural rule the credential breaks.
fn shape_problem(c: &Value) -> Option<String> {
    let types = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    };
    let context = types(c.get("@context"));
    if context.first().map(String::as_str) != Some("https://www.w3.org/ns/credentials/v2")
        || !context.iter().any(|x| x.starts_with("https://purl.imsglobal.org/spec/ob/v3p0/context"))
    {
        return Some("@context must start with the VC 2.0 context and include the OB 3.0 context".into());
    }
    let t = types(c.get("type"));
    if !t.iter().any(|x| x == "VerifiableCredential")
        || !t.iter().any(|x| x == "OpenBadgeCredential" || x == "AchievementCredential")
    {
        return Some("type must include VerifiableCredential and OpenBadgeCredential".into());
    }
    match c.get("issuer") {
        Some(Value::String(_)) => {}
        Some(issuer @ Value::Object(_)) if types(issuer.get("type")).iter().any(|x| x == "Profile") => {}
        Some(_) => return Some("issuer.type must include Profile".into()),
        None => return Some("issuer is required".into()),
    }
    for (i, e) in c.get("evidence").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if !types(e.get("type")).iter().any(|x| x == "Evidence") {
            return Some(format!("evidence[{i}].type must include Evidence"));
        }
    }
    let subject = c.get("credentialSubject")?;
    if !types(subject.get("type")).iter().any(|x| x == "AchievementSubject") {
        return Some("credentialSubject.type must include AchievementSubject".into());
    }
    for (i, id) in subject.get("identifier").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if id.get("type").and_then(Value::as_str) != Some("IdentityObject") {
            return Some(format!("credentialSubject.identifier[{i}].type must be IdentityObject"));
        }
    }
    for (i, r) in subject.get("result").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if !types(r.get("type")).iter().any(|x| x == "Result") {
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
