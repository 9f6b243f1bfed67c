//! Open Badges 2.0 export (hosted Assertion, BadgeClass, Issuer) for hosts on older platforms,
//! and a parser for any OB 2.0 or 3.0 document that keeps every field it does not know.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::baking::BadgeVersion;
use super::ob3::{rfc3339, Achievement, IssuerProfile};
use crate::error::{MasteryError, Result};
use crate::time::{parse_instant, Instant};

pub const OB2_CONTEXT: &str = "https://w3id.org/openbadges/v2";

/// The OB 2.0 Issuer profile, hosted at `issuer.url` (OB 2.0 issuers are HTTP URLs).
pub fn ob2_issuer(issuer: &IssuerProfile) -> Result<Value> {
    let url = hosted_url(issuer)?;
    Ok(json!({"@context": OB2_CONTEXT, "type": "Issuer", "id": url, "name": issuer.name, "url": url}))
}

fn hosted_url(issuer: &IssuerProfile) -> Result<&str> {
    issuer
        .url
        .as_deref()
        .or(Some(issuer.id.as_str()))
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| MasteryError::invalid("issuer.url", "an OB 2.0 issuer needs an HTTP(S) URL"))
}

/// The OB 2.0 BadgeClass of an achievement, with its CASE alignments.
pub fn ob2_badge_class(achievement: &Achievement, issuer: &IssuerProfile) -> Result<Value> {
    let mut badge = json!({
        "@context": OB2_CONTEXT,
        "type": "BadgeClass",
        "id": achievement.id,
        "name": achievement.name,
        "description": achievement.description,
        "criteria": {"narrative": achievement.criteria},
        "issuer": hosted_url(issuer)?,
    });
    if let Some(image) = &achievement.image {
        badge["image"] = json!(image);
    }
    if !achievement.alignments.is_empty() {
        let alignment: Vec<Value> = achievement
            .alignments
            .iter()
            .map(|(url, name)| json!({"targetName": name, "targetUrl": url, "targetFramework": "CASE"}))
            .collect();
        badge["alignment"] = Value::Array(alignment);
    }
    Ok(badge)
}

/// A hosted OB 2.0 Assertion. The recipient is a salted SHA-256 of `recipient_identity` (an
/// email, URL or other identifier of `identity_type`), never the identity itself.
pub fn ob2_assertion(
    assertion_url: &str,
    achievement: &Achievement,
    recipient_identity: &str,
    identity_type: &str,
    salt: &str,
    issued_on: Instant,
    evidence_urls: &[String],
) -> Value {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(format!("{recipient_identity}{salt}").as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let mut assertion = Map::new();
    assertion.insert("@context".into(), json!(OB2_CONTEXT));
    assertion.insert("type".into(), json!("Assertion"));
    assertion.insert("id".into(), json!(assertion_url));
    assertion.insert(
        "recipient".into(),
        json!({"type": identity_type, "hashed": true, "salt": salt, "identity": format!("sha256${hex}")}),
    );
    assertion.insert("badge".into(), json!(achievement.id));
    assertion.insert("issuedOn".into(), json!(rfc3339(issued_on)));
    if let Some(days) = achievement.valid_days {
        assertion.insert("expires".into(), json!(rfc3339(super::ob3::valid_until(issued_on, days))));
    }
    if !evidence_urls.is_empty() {
        let evidence: Vec<Value> = evidence_urls.iter().map(|u| json!({"id": u, "type": "Evidence"})).collect();
        assertion.insert("evidence".into(), Value::Array(evidence));
    }
    assertion.insert("verification".into(), json!({"type": "hosted"}));
    Value::Object(assertion)
}

/// Any Open Badges document, with what kind it is; `document` holds it whole, unknown fields
/// and extensions included, so writing it back loses nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadgeDocument {
    pub version: BadgeVersion,
    /// `Assertion`, `BadgeClass`, `Issuer`, `Profile`, `OpenBadgeCredential`,
    /// `AchievementCredential`, `Achievement`, ...; none for an untyped fragment (criteria,
    /// evidence or an image given on its own).
    pub kind: Option<String>,
    pub document: Value,
}

impl BadgeDocument {
    /// Parses strict JSON (duplicate keys refused) and tells OB 2.0 from 3.0 by the context.
    pub fn parse(text: &str) -> Result<Self> {
        let document = crate::json::parse_document(text, "Open Badges JSON")?;
        let contexts = crate::json::strings(document.get("@context"));
        let version = if contexts.iter().any(|c| c.starts_with("https://purl.imsglobal.org/spec/ob/v3p0/")) {
            BadgeVersion::Ob3
        } else if contexts.iter().any(|c| c.trim_end_matches('/') == OB2_CONTEXT) {
            BadgeVersion::Ob2
        } else {
            return Err(MasteryError::invalid("@context", "is neither Open Badges 2.0 nor 3.0"));
        };
        let types = crate::json::strings(document.get("type"));
        const KINDS: [&str; 9] = [
            "OpenBadgeCredential",
            "AchievementCredential",
            "EndorsementCredential",
            "Assertion",
            "BadgeClass",
            "Achievement",
            "Issuer",
            "Profile",
            "Endorsement",
        ];
        let kind = KINDS.iter().find(|k| types.contains(k)).or_else(|| types.first()).map(|k| (*k).to_owned());
        Ok(Self { version, kind, document })
    }

    /// OB 2.0 `expires` / OB 3.0 `validUntil`.
    pub fn expires(&self) -> Option<Instant> {
        let field = if self.version == BadgeVersion::Ob2 { "expires" } else { "validUntil" };
        self.document.get(field)?.as_str().and_then(|t| parse_instant(t, "expires").ok())
    }

    /// OB 2.0 `issuedOn` / OB 3.0 `validFrom`.
    pub fn issued(&self) -> Option<Instant> {
        let field = if self.version == BadgeVersion::Ob2 { "issuedOn" } else { "validFrom" };
        self.document.get(field)?.as_str().and_then(|t| parse_instant(t, "issued").ok())
    }
}
