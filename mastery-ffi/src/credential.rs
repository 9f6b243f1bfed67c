//! Credentials over uniffi: issue (JSON), sign, verify, bake, unbake.

use mastery_core as core;

use crate::error::MasteryError;

type Result<T> = std::result::Result<T, MasteryError>;

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VerificationCheck {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CredentialVerification {
    pub valid: bool,
    pub checks: Vec<VerificationCheck>,
    /// The credential payload as JSON.
    pub credential_json: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BadgeVersion {
    Ob3,
    Ob2,
}

impl From<BadgeVersion> for core::credential::BadgeVersion {
    fn from(v: BadgeVersion) -> Self {
        match v {
            BadgeVersion::Ob3 => Self::Ob3,
            BadgeVersion::Ob2 => Self::Ob2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Unbaked {
    pub version: BadgeVersion,
    pub text: String,
}

fn unbaked(found: Option<(core::credential::BadgeVersion, String)>) -> Option<Unbaked> {
    found.map(|(v, text)| Unbaked {
        version: if v == core::credential::BadgeVersion::Ob3 { BadgeVersion::Ob3 } else { BadgeVersion::Ob2 },
        text,
    })
}

fn json_error(field: &str, e: serde_json::Error) -> MasteryError {
    let reason = mastery_core::error::redact(&e.to_string());
    MasteryError::InvalidInput { field: field.into(), detail: format!("invalid {field}: {reason}") }
}

/// The `did:key` of the Ed25519 issuer key with this 32-byte seed.
#[uniffi::export]
pub fn issuer_did(seed: Vec<u8>) -> Result<String> {
    crate::error::guard(|| Ok(core::credential::IssuerKey::from_seed(&seed)?.did()))
}

/// An OB 3.0 OpenBadgeCredential (JSON) for one award; achievement, issuer and status as JSON.
#[uniffi::export(default(evidence_urls = [], status_json = "null"))]
#[allow(clippy::too_many_arguments)]
pub fn achievement_credential_json(
    credential_id: String,
    achievement_json: String,
    issuer_json: String,
    learner_identifier: String,
    salt: String,
    issued_at: String,
    evidence_urls: Vec<String>,
    status_json: String,
) -> Result<String> {
    crate::error::guard(|| {
        let achievement: core::credential::Achievement =
            serde_json::from_str(&achievement_json).map_err(|e| json_error("achievement", e))?;
        let issuer: core::credential::IssuerProfile =
            serde_json::from_str(&issuer_json).map_err(|e| json_error("issuer", e))?;
        let status: Option<core::credential::StatusEntry> =
            serde_json::from_str(&status_json).map_err(|e| json_error("status", e))?;
        let issued_at = core::time::parse_instant(&issued_at, "issued_at")?;
        let c = core::credential::achievement_credential(
            &credential_id,
            &achievement,
            &issuer,
            &learner_identifier,
            &salt,
            issued_at,
            &evidence_urls,
            status.as_ref(),
        );
        Ok(c.to_string())
    })
}

/// Signs a credential (JSON) as a compact VC-JWT with the issuer's seed.
#[uniffi::export]
pub fn sign_vc_jwt(credential_json: String, seed: Vec<u8>) -> Result<String> {
    crate::error::guard(|| {
        let credential: serde_json::Value =
            serde_json::from_str(&credential_json).map_err(|e| json_error("credential", e))?;
        Ok(core::credential::sign_vc_jwt(&credential, &core::credential::IssuerKey::from_seed(&seed)?)?)
    })
}

/// Verifies a VC-JWT; every check is reported.
#[uniffi::export(default(expected_issuer = None, revoked_indexes = []))]
pub fn verify_vc_jwt(
    jwt: String,
    now: String,
    expected_issuer: Option<String>,
    revoked_indexes: Vec<u64>,
) -> Result<CredentialVerification> {
    crate::error::guard(|| {
        let options = core::credential::VerifyOptions {
            expected_issuer,
            revoked_indexes: revoked_indexes.into_iter().collect(),
            ..core::credential::VerifyOptions::at(core::time::parse_instant(&now, "now")?)
        };
        Ok(core::credential::verify_vc_jwt(&jwt, &options)?.into())
    })
}

impl From<core::credential::Verification> for CredentialVerification {
    fn from(v: core::credential::Verification) -> Self {
        Self {
            valid: v.valid,
            checks: v
                .checks
                .into_iter()
                .map(|c| VerificationCheck { name: c.name, passed: c.passed, detail: c.detail })
                .collect(),
            credential_json: v.credential.to_string(),
        }
    }
}

fn parse(field: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| json_error(field, e))
}

/// Adds an `eddsa-rdfc-2022` Data Integrity proof to a credential (JSON); returns it signed.
#[uniffi::export(default(verification_method = None))]
pub fn sign_data_integrity(
    credential_json: String,
    seed: Vec<u8>,
    created: String,
    verification_method: Option<String>,
) -> Result<String> {
    crate::error::guard(|| {
        let key = core::credential::IssuerKey::from_seed(&seed)?;
        let created = core::time::parse_instant(&created, "created")?;
        let signed = core::credential::sign_data_integrity(
            &parse("credential", &credential_json)?,
            &key,
            verification_method.as_deref(),
            created,
        )?;
        Ok(signed.to_string())
    })
}

/// Verifies a credential in either format (VC-JWT, or JSON with embedded proofs).
/// `options_json`: `{"now", "expected_issuer", "revoked_indexes", "keys", "status_lists"}`.
#[uniffi::export]
pub fn verify_credential(credential: String, options_json: String) -> Result<CredentialVerification> {
    crate::error::guard(|| {
        let options: core::credential::VerifyOptions =
            serde_json::from_str(&options_json).map_err(|e| json_error("options", e))?;
        Ok(core::credential::verify_credential(&credential, &options)?.into())
    })
}

/// RDFC-1.0 canonical N-Quads of a JSON-LD document (bundled contexts only).
#[uniffi::export]
pub fn canonicalize(document_json: String) -> Result<String> {
    crate::error::guard(|| Ok(core::credential::canonicalize(&parse("document", &document_json)?)?))
}

fn certificate(
    credential_json: &str,
    learner_name: &str,
    verification_url: &str,
    template_json: Option<String>,
) -> Result<(core::credential::Certificate, core::credential::CertificateTemplate)> {
    let cert = core::credential::Certificate::from_credential(
        &parse("credential", credential_json)?,
        learner_name,
        verification_url,
    )?;
    let template = match template_json {
        Some(t) => serde_json::from_str(&t).map_err(|e| json_error("template", e))?,
        None => core::credential::CertificateTemplate::default(),
    };
    Ok((cert, template))
}

/// The certificate of a credential (JSON) as SVG text.
#[uniffi::export(default(template_json = None))]
pub fn certificate_svg(
    credential_json: String,
    learner_name: String,
    verification_url: String,
    template_json: Option<String>,
) -> Result<String> {
    crate::error::guard(|| {
        let (cert, template) = certificate(&credential_json, &learner_name, &verification_url, template_json)?;
        Ok(core::credential::certificate_svg(&cert, &template)?)
    })
}

/// The certificate of a credential (JSON) as PDF bytes.
#[uniffi::export(default(template_json = None))]
pub fn certificate_pdf(
    credential_json: String,
    learner_name: String,
    verification_url: String,
    template_json: Option<String>,
) -> Result<Vec<u8>> {
    crate::error::guard(|| {
        let (cert, template) = certificate(&credential_json, &learner_name, &verification_url, template_json)?;
        Ok(core::credential::certificate_pdf(&cert, &template)?)
    })
}

#[uniffi::export]
pub fn bake_png(png: Vec<u8>, credential: String, version: BadgeVersion) -> Result<Vec<u8>> {
    crate::error::guard(|| Ok(core::credential::bake_png(&png, &credential, version.into())?))
}

#[uniffi::export]
pub fn unbake_png(png: Vec<u8>) -> Result<Option<Unbaked>> {
    crate::error::guard(|| Ok(unbaked(core::credential::unbake_png(&png)?)))
}

#[uniffi::export]
pub fn bake_svg(svg: String, credential: String, version: BadgeVersion) -> Result<String> {
    crate::error::guard(|| Ok(core::credential::bake_svg(&svg, &credential, version.into())?))
}

#[uniffi::export]
pub fn unbake_svg(svg: String) -> Result<Option<Unbaked>> {
    crate::error::guard(|| Ok(unbaked(core::credential::unbake_svg(&svg)?)))
}
