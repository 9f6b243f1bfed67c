//! Open Badges 3.0 `OpenBadgeCredential` documents (VC data model 2.0 + OB 3.0 contexts).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::rules::AwardRule;
use crate::time::Instant;

/// OB 3.0 achievement types this library issues (the spec's vocabulary is open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AchievementType {
    #[default]
    Badge,
    MicroCredential,
    Certificate,
    Competency,
    Course,
}

/// A badge definition: what it says, what it aligns to, and when it is earned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Achievement {
    /// A URI (`https://…` or `urn:uuid:…`).
    pub id: String,
    /// Bumped when the criteria change: a learner can earn each version once.
    #[serde(default = "one")]
    pub version: u32,
    pub name: String,
    pub description: String,
    pub criteria: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub achievement_type: AchievementType,
    /// CASE item URIs (or any competency URLs) the achievement aligns to, with their names.
    #[serde(default)]
    pub alignments: Vec<(String, String)>,
    /// Days the credential stays valid (none: no `validUntil`); at most 36,500 (`MAX_VALID_DAYS`).
    #[serde(default, deserialize_with = "valid_days")]
    pub valid_days: Option<u32>,
    pub rule: AwardRule,
}

fn one() -> u32 {
    1
}

/// The longest validity an achievement may give its credentials: a hundred years.
pub const MAX_VALID_DAYS: u32 = 36_500;

fn valid_days<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let days = Option::<u32>::deserialize(deserializer)?;
    if days.is_some_and(|d| d > MAX_VALID_DAYS) {
        return Err(serde::de::Error::custom("valid_days must be at most 36500"));
    }
    Ok(days)
}

/// `issued + days`, or the end of the calendar when that lies beyond it (a hand-built
/// achievement can skip the deserialisation bound; this must still not panic).
pub(crate) fn valid_until(issued: Instant, days: u32) -> Instant {
    chrono::Duration::try_days(i64::from(days))
        .and_then(|d| issued.checked_add_signed(d))
        .unwrap_or_else(|| chrono::DateTime::<chrono::Utc>::MAX_UTC.fixed_offset())
}

/// The issuing organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuerProfile {
    /// Usually the issuer's `did:key` or `did:web`.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// Where the credential's revocation bit lives (W3C Bitstring Status List).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusEntry {
    pub status_list_credential: String,
    pub index: u64,
}

/// Builds the credential for one award. The learner is identified by a salted SHA-256 hash of
/// their identifier (an OB 3.0 `IdentityObject`), never in the clear.
#[allow(clippy::too_many_arguments)]
pub fn achievement_credential(
    credential_id: &str,
    achievement: &Achievement,
    issuer: &IssuerProfile,
    learner_identifier: &str,
    salt: &str,
    issued_at: Instant,
    evidence_urls: &[String],
    status: Option<&StatusEntry>,
) -> Value {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(format!("{learner_identifier}{salt}").as_bytes());
    let hash_hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let alignment: Vec<Value> = achievement
        .alignments
        .iter()
        .map(|(url, name)| json!({"type": ["Alignment"], "targetName": name, "targetUrl": url, "targetType": "CFItem"}))
        .collect();
    let mut achievement_json = json!({
        "id": achievement.id,
        "type": ["Achievement"],
        "name": achievement.name,
        "description": achievement.description,
        "criteria": {"narrative": achievement.criteria},
        "achievementType": format!("{:?}", achievement.achievement_type),
    });
    if let Some(image) = &achievement.image {
        achievement_json["image"] = json!({"id": image, "type": "Image"});
    }
    if !alignment.is_empty() {
        achievement_json["alignment"] = Value::Array(alignment);
    }
    let mut issuer_json = json!({"id": issuer.id, "type": ["Profile"], "name": issuer.name});
    if let Some(url) = &issuer.url {
        issuer_json["url"] = json!(url);
    }
    let mut credential = Map::new();
    credential.insert(
        "@context".into(),
        json!(["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]),
    );
    credential.insert("id".into(), json!(credential_id));
    credential.insert("type".into(), json!(["VerifiableCredential", "OpenBadgeCredential"]));
    credential.insert("issuer".into(), issuer_json);
    credential.insert("validFrom".into(), json!(rfc3339(issued_at)));
    if let Some(days) = achievement.valid_days {
        credential.insert("validUntil".into(), json!(rfc3339(valid_until(issued_at, days))));
    }
    credential.insert("name".into(), json!(achievement.name));
    credential.insert(
        "credentialSubject".into(),
        json!({
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "hashed": true,
                "identityHash": format!("sha256${hash_hex}"),
                "identityType": "identifier",
                "salt": salt,
            }],
            "achievement": achievement_json,
        }),
    );
    if !evidence_urls.is_empty() {
        let evidence: Vec<Value> = evidence_urls.iter().map(|u| json!({"id": u, "type": ["Evidence"]})).collect();
        credential.insert("evidence".into(), Value::Array(evidence));
    }
    if let Some(s) = status {
        credential.insert(
            "credentialStatus".into(),
            json!({
                "id": format!("{}#{}", s.status_list_credential, s.index),
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": s.index.to_string(),
                "statusListCredential": s.status_list_credential,
            }),
        );
    }
    Value::Object(credential)
}

pub(crate) fn rfc3339(t: Instant) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
