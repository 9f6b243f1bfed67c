//! The badge gallery over uniffi: every achievement, earned, in progress (and how far), expired
//! or revoked, from awards the host already holds.

use mastery_core as core;

use crate::error::MasteryError;

type Result<T> = std::result::Result<T, MasteryError>;

/// Where a learner stands with one achievement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BadgeStatus {
    Earned,
    InProgress,
    Expired,
    Revoked,
}

/// One tile of the gallery; times are RFC 3339.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GalleryItem {
    pub achievement: String,
    pub version: u32,
    pub name: String,
    pub image: Option<String>,
    pub status: BadgeStatus,
    /// 0..=1; 1 for earned, expired and revoked badges.
    pub progress: f64,
    pub credential_id: Option<String>,
    pub awarded_at: Option<String>,
    pub valid_until: Option<String>,
    pub revocation_reason: Option<String>,
}

impl From<core::credential::GalleryItem> for GalleryItem {
    fn from(g: core::credential::GalleryItem) -> Self {
        let time = |t: Option<core::time::Instant>| t.map(|t| t.to_rfc3339());
        Self {
            achievement: g.achievement,
            version: g.version,
            name: g.name,
            image: g.image,
            status: match g.status {
                core::credential::BadgeStatus::Earned => BadgeStatus::Earned,
                core::credential::BadgeStatus::InProgress => BadgeStatus::InProgress,
                core::credential::BadgeStatus::Expired => BadgeStatus::Expired,
                core::credential::BadgeStatus::Revoked => BadgeStatus::Revoked,
            },
            progress: g.progress,
            credential_id: g.credential_id,
            awarded_at: time(g.awarded_at),
            valid_until: time(g.valid_until),
            revocation_reason: g.revocation_reason,
        }
    }
}

/// One award the engine made; times are RFC 3339.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Award {
    pub learner: String,
    pub course: Option<String>,
    pub achievement: String,
    pub version: u32,
    pub credential_id: String,
    pub awarded_at: String,
    pub revoked: Option<String>,
}

impl From<core::credential::Award> for Award {
    fn from(a: core::credential::Award) -> Self {
        Self {
            learner: a.learner,
            course: a.course.map(|c| c.as_str().to_owned()),
            achievement: a.achievement,
            version: a.version,
            credential_id: a.credential_id,
            awarded_at: a.awarded_at.to_rfc3339(),
            revoked: a.revoked,
        }
    }
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(field: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| MasteryError::InvalidInput {
        field: field.into(),
        detail: format!("invalid {field}: {}", core::error::redact(&e.to_string())),
    })
}

/// The gallery of one learner from their awards (`awards_json`: `Award[]`, already filtered by
/// the host's access policy), `achievements_json` (`Achievement[]`, the gallery's order) and
/// `facts_json` (`LearnerFacts`, for progress), at `now`.
#[uniffi::export(default(facts_json = "{}"))]
pub fn badge_gallery(
    awards_json: String,
    achievements_json: String,
    now: String,
    facts_json: String,
) -> Result<Vec<GalleryItem>> {
    crate::error::guard(|| {
        let awards: Vec<core::credential::Award> = json("awards", &awards_json)?;
        let achievements: Vec<core::credential::Achievement> = json("achievements", &achievements_json)?;
        let facts: core::credential::LearnerFacts = json("facts", &facts_json)?;
        let now = core::time::parse_instant(&now, "now")?;
        let visible: Vec<&core::credential::Award> = awards.iter().collect();
        Ok(core::credential::gallery_from_awards(&visible, now, &facts, &achievements, None)
            .into_iter()
            .map(Into::into)
            .collect())
    })
}
