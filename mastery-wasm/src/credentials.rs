//! Open Badges credentials: issue, sign, verify, bake, certificates and the badge gallery.

#[allow(unused_imports)]
use std::collections::BTreeMap;

use mastery_core as core;
use wasm_bindgen::prelude::*;

#[allow(unused_imports)]
use crate::convert::{
    self, bytes, count, data, flag, from_js, json_arg, number_arg, numbers, opt_strings, opt_text, optional, text,
    to_js,
};
#[allow(unused_imports)]
use crate::error::{invalid, to_js as err};
#[allow(unused_imports)]
use crate::{document, instant, scale, Framework, Standings};

fn badge_version(version: Option<JsValue>) -> Result<core::credential::BadgeVersion, JsValue> {
    let version = opt_text(version, "version")?;
    core::credential::BadgeVersion::parse(version.as_deref().unwrap_or("ob3")).map_err(err)
}

fn unbaked(found: Option<(core::credential::BadgeVersion, String)>) -> Result<JsValue, JsValue> {
    to_js(&found.map(|(v, text)| serde_json::json!({"version": v.name(), "text": text})))
}

fn issuer_key(seed: &JsValue) -> Result<core::credential::IssuerKey, JsValue> {
    core::credential::IssuerKey::from_seed(&bytes(seed, "seed")?).map_err(err)
}

/// The `did:key` of the Ed25519 issuer key with this 32-byte seed.
#[wasm_bindgen(js_name = issuerDid)]
pub fn issuer_did(#[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue) -> Result<String, JsValue> {
    Ok(issuer_key(&seed)?.did())
}

/// An OB 3.0 OpenBadgeCredential for one award (the learner only as a salted hash).
#[wasm_bindgen(js_name = achievementCredential, unchecked_return_type = "OpenBadgeCredential")]
#[allow(clippy::too_many_arguments)]
pub fn achievement_credential(
    #[wasm_bindgen(js_name = credentialId, unchecked_param_type = "string")] credential_id: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Achievement")] achievement: JsValue,
    #[wasm_bindgen(unchecked_param_type = "IssuerProfile")] issuer: JsValue,
    #[wasm_bindgen(js_name = learnerIdentifier, unchecked_param_type = "string")] learner_identifier: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] salt: JsValue,
    #[wasm_bindgen(js_name = issuedAt, unchecked_param_type = "string")] issued_at: JsValue,
    #[wasm_bindgen(js_name = evidenceUrls, unchecked_param_type = "string[] | null")] evidence_urls: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "StatusEntry | null")] status: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let achievement: core::credential::Achievement = data(&achievement, "achievement")?;
    let issuer: core::credential::IssuerProfile = data(&issuer, "issuer")?;
    let status: Option<core::credential::StatusEntry> = optional(status, "status")?;
    let issued_at = instant(&issued_at, "issued_at")?;
    let c = core::credential::achievement_credential(
        &text(&credential_id, "credential_id")?,
        &achievement,
        &issuer,
        &text(&learner_identifier, "learner_identifier")?,
        &text(&salt, "salt")?,
        issued_at,
        &opt_strings(evidence_urls, "evidence_urls")?.unwrap_or_default(),
        status.as_ref(),
    );
    to_js(&c)
}

/// Signs a credential (JSON text or an object) as a compact VC-JWT with the issuer's seed.
#[wasm_bindgen(js_name = signVcJwt)]
pub fn sign_vc_jwt(
    #[wasm_bindgen(unchecked_param_type = "string | object")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue,
) -> Result<String, JsValue> {
    let credential = json_arg(&credential, "credential")?;
    core::credential::sign_vc_jwt(&credential, &issuer_key(&seed)?).map_err(err)
}

/// Verifies a VC-JWT in the browser: every check (signature, schema, validity, status, issuer).
#[wasm_bindgen(js_name = verifyVcJwt, unchecked_return_type = "Verification")]
pub fn verify_vc_jwt(
    #[wasm_bindgen(unchecked_param_type = "string")] jwt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
    #[wasm_bindgen(js_name = expectedIssuer, unchecked_param_type = "string | null")] expected_issuer: Option<JsValue>,
    #[wasm_bindgen(js_name = revokedIndexes, unchecked_param_type = "number[] | null")] revoked_indexes: Option<
        JsValue,
    >,
) -> Result<JsValue, JsValue> {
    let revoked: Vec<u64> = optional(revoked_indexes, "revoked_indexes")?;
    let options = core::credential::VerifyOptions {
        expected_issuer: opt_text(expected_issuer, "expected_issuer")?,
        revoked_indexes: revoked.into_iter().collect(),
        ..core::credential::VerifyOptions::at(instant(&now, "now")?)
    };
    to_js(&core::credential::verify_vc_jwt(&text(&jwt, "jwt")?, &options).map_err(err)?)
}

#[cfg(feature = "jsonld")]
/// Adds an `eddsa-rdfc-2022` Data Integrity proof to a credential (JSON text or an object);
/// returns the signed credential.
#[wasm_bindgen(js_name = signDataIntegrity, unchecked_return_type = "OpenBadgeCredential")]
pub fn sign_data_integrity(
    #[wasm_bindgen(unchecked_param_type = "string | OpenBadgeCredential")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] created: JsValue,
    #[wasm_bindgen(js_name = verificationMethod, unchecked_param_type = "string | null")] verification_method: Option<
        JsValue,
    >,
) -> Result<JsValue, JsValue> {
    let credential = json_arg(&credential, "credential")?;
    let key = issuer_key(&seed)?;
    let created = instant(&created, "created")?;
    let method = opt_text(verification_method, "verification_method")?;
    to_js(&core::credential::sign_data_integrity(&credential, &key, method.as_deref(), created).map_err(err)?)
}

#[cfg(feature = "jsonld")]
/// Verifies a credential in either format (VC-JWT text or JSON with embedded proofs) in the
/// browser. `options`: `{now, expected_issuer, revoked_indexes, keys, status_lists}`.
#[wasm_bindgen(js_name = verifyCredential, unchecked_return_type = "Verification")]
pub fn verify_credential(
    #[wasm_bindgen(unchecked_param_type = "string | object")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "VerifyOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let credential = document(&credential, "credential")?;
    let options: core::credential::VerifyOptions = match options.as_string() {
        Some(_) => serde_json::from_value(json_arg(&options, "options")?)
            .map_err(|e| invalid("options", convert::shape(&e.to_string())))?,
        None => data(&options, "options")?,
    };
    to_js(&core::credential::verify_credential(&credential, &options).map_err(err)?)
}

#[cfg(feature = "jsonld")]
/// RDFC-1.0 canonical N-Quads of a JSON-LD document (JSON text or an object; bundled contexts only).
#[wasm_bindgen]
pub fn canonicalize(
    #[wasm_bindgen(unchecked_param_type = "string | object")] document: JsValue,
) -> Result<String, JsValue> {
    core::credential::canonicalize(&json_arg(&document, "document")?).map_err(err)
}

fn certificate(
    credential: &JsValue,
    learner_name: &JsValue,
    verification_url: &JsValue,
    template: &JsValue,
) -> Result<(core::credential::Certificate, core::credential::CertificateTemplate), JsValue> {
    let credential = json_arg(credential, "credential")?;
    let cert = core::credential::Certificate::from_credential(
        &credential,
        &text(learner_name, "learner_name")?,
        &text(verification_url, "verification_url")?,
    )
    .map_err(err)?;
    let template: core::credential::CertificateTemplate = convert::data_or_default(template, "template")?;
    Ok((cert, template))
}

/// The certificate of a credential (JSON text or an object) as SVG text.
#[wasm_bindgen(js_name = certificateSvg)]
pub fn certificate_svg(
    #[wasm_bindgen(unchecked_param_type = "string | object")] credential: JsValue,
    #[wasm_bindgen(js_name = learnerName, unchecked_param_type = "string")] learner_name: JsValue,
    #[wasm_bindgen(js_name = verificationUrl, unchecked_param_type = "string")] verification_url: JsValue,
    #[wasm_bindgen(unchecked_param_type = "CertificateTemplate | null")] template: JsValue,
) -> Result<String, JsValue> {
    let (cert, template) = certificate(&credential, &learner_name, &verification_url, &template)?;
    core::credential::certificate_svg(&cert, &template).map_err(err)
}

/// The certificate of a credential (JSON text or an object) as PDF bytes, for download or print.
#[wasm_bindgen(js_name = certificatePdf)]
pub fn certificate_pdf(
    #[wasm_bindgen(unchecked_param_type = "string | object")] credential: JsValue,
    #[wasm_bindgen(js_name = learnerName, unchecked_param_type = "string")] learner_name: JsValue,
    #[wasm_bindgen(js_name = verificationUrl, unchecked_param_type = "string")] verification_url: JsValue,
    #[wasm_bindgen(unchecked_param_type = "CertificateTemplate | null")] template: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let (cert, template) = certificate(&credential, &learner_name, &verification_url, &template)?;
    core::credential::certificate_pdf(&cert, &template).map_err(err)
}

/// Bakes a credential (JSON text or JWT) into PNG bytes.
#[wasm_bindgen(js_name = bakePng)]
pub fn bake_png(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] png: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | null")] version: Option<JsValue>,
) -> Result<Vec<u8>, JsValue> {
    let version = badge_version(version)?;
    core::credential::bake_png(&bytes(&png, "png")?, &text(&credential, "credential")?, version).map_err(err)
}

/// `{version, text}` baked into PNG bytes, or null.
#[wasm_bindgen(js_name = unbakePng, unchecked_return_type = "Unbaked | null")]
pub fn unbake_png(#[wasm_bindgen(unchecked_param_type = "Uint8Array")] png: JsValue) -> Result<JsValue, JsValue> {
    unbaked(core::credential::unbake_png(&bytes(&png, "png")?).map_err(err)?)
}

/// Bakes a credential into SVG text.
#[wasm_bindgen(js_name = bakeSvg)]
pub fn bake_svg(
    #[wasm_bindgen(unchecked_param_type = "string")] svg: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | null")] version: Option<JsValue>,
) -> Result<String, JsValue> {
    let version = badge_version(version)?;
    core::credential::bake_svg(&text(&svg, "svg")?, &text(&credential, "credential")?, version).map_err(err)
}

/// `{version, text}` baked into SVG text, or null.
#[wasm_bindgen(js_name = unbakeSvg, unchecked_return_type = "Unbaked | null")]
pub fn unbake_svg(#[wasm_bindgen(unchecked_param_type = "string")] svg: JsValue) -> Result<JsValue, JsValue> {
    unbaked(core::credential::unbake_svg(&text(&svg, "svg")?).map_err(err)?)
}

/// The badge gallery from awards the host already holds (one learner's, visible to the caller):
/// earned, in progress (and how far), expired or revoked, in the order of `achievements`.
#[wasm_bindgen(js_name = badgeGallery, unchecked_return_type = "GalleryItem[]")]
pub fn badge_gallery(
    #[wasm_bindgen(unchecked_param_type = "Award[]")] awards: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Achievement[]")] achievements: JsValue,
    #[wasm_bindgen(unchecked_param_type = "LearnerFacts | null")] facts: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
) -> Result<JsValue, JsValue> {
    let awards: Vec<core::credential::Award> = data(&awards, "awards")?;
    let achievements: Vec<core::credential::Achievement> = data(&achievements, "achievements")?;
    let facts: core::credential::LearnerFacts = convert::data_or_default(&facts, "facts")?;
    let visible: Vec<&core::credential::Award> = awards.iter().collect();
    let now = instant(&now, "now")?;
    to_js(&core::credential::gallery_from_awards(&visible, now, &facts, &achievements, None))
}
