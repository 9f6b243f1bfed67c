//! The badge gallery a learner sees: every achievement, earned, in progress (and how far),
//! expired or revoked.

use serde::{Deserialize, Serialize};

use super::ledger::{Award, CredentialLedger};
use super::ob3::Achievement;
use super::rules::LearnerFacts;
use crate::access::AccessContext;
use crate::error::Result;
use crate::framework::Framework;
use crate::ids::{CourseId, UserId};
use crate::mastery::Decay;
use crate::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum BadgeStatus {
    Earned,
    InProgress,
    Expired,
    Revoked,
}

/// One tile of the gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GalleryItem {
    pub achievement: String,
    pub version: u32,
    pub name: String,
    pub image: Option<String>,
    pub status: BadgeStatus,
    /// 0..=1; 1 for earned, expired and revoked badges.
    pub progress: f64,
    pub credential_id: Option<String>,
    pub awarded_at: Option<Instant>,
    pub valid_until: Option<Instant>,
    pub revocation_reason: Option<String>,
}

/// Whose gallery, seen from which course (an instructor's view), at what time.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct GalleryQuery {
    pub learner: UserId,
    /// The course an instructor views the gallery from: they see only awards earned there.
    #[serde(default)]
    pub course: Option<CourseId>,
    pub now: Instant,
}

impl std::fmt::Debug for GalleryQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GalleryQuery").field("course", &self.course).field("now", &self.now).finish_non_exhaustive()
    }
}

/// The gallery of one learner in the caller's tenant, in the order of `achievements`, under the
/// access policy (see [`CredentialLedger::awards_for`]): an award the caller may not see shows as
/// in progress. An award expires after the achievement's `valid_days`.
pub fn badge_gallery(
    ctx: &AccessContext,
    ledger: &CredentialLedger,
    query: &GalleryQuery,
    facts: &LearnerFacts,
    achievements: &[Achievement],
    framework: Option<&Framework>,
) -> Result<Vec<GalleryItem>> {
    let visible = ledger.awards_for(ctx, ctx.tenant(), &query.learner, query.course.as_ref())?;
    Ok(gallery_from_awards(&visible, query.now, facts, achievements, framework))
}

/// The gallery from awards a host already holds (one learner's, already filtered by its access
/// policy): the same tiles as [`badge_gallery`], for bindings and pages without a ledger.
pub fn gallery_from_awards(
    visible: &[&Award],
    now: Instant,
    facts: &LearnerFacts,
    achievements: &[Achievement],
    framework: Option<&Framework>,
) -> Vec<GalleryItem> {
    achievements
        .iter()
        .map(|a| {
            let award = visible.iter().copied().find(|w| w.achievement == a.id && w.version == a.version);
            let valid_until = award.and_then(|w| {
                let days = chrono::Duration::try_days(i64::from(a.valid_days?))?;
                w.awarded_at.checked_add_signed(days)
            });
            let status = match award {
                None => BadgeStatus::InProgress,
                Some(w) if w.revoked.is_some() => BadgeStatus::Revoked,
                Some(_) if valid_until.is_some_and(|u| now >= u) => BadgeStatus::Expired,
                Some(_) => BadgeStatus::Earned,
            };
            GalleryItem {
                achievement: a.id.clone(),
                version: a.version,
                name: a.name.clone(),
                image: a.image.clone(),
                status,
                progress: if award.is_some() { 1.0 } else { a.rule.progress(facts, framework) },
                credential_id: award.map(|w| w.credential_id.clone()),
                awarded_at: award.map(|w| w.awarded_at),
                valid_until,
                revocation_reason: award.and_then(|w| w.revoked.clone()),
            }
        })
        .collect()
}

/// A credential whose `validUntil` follows mastery decay: it lasts while the decayed score stays
/// at or above `threshold` (never beyond a `validUntil` it already has). Re-verification (new
/// evidence) renews it: call again with the new evidence time and re-sign.
pub fn expire_with_decay(
    credential: &serde_json::Value,
    decay: &Decay,
    score: f64,
    last_evidence: Instant,
    threshold: f64,
) -> serde_json::Value {
    let mut renewed = credential.clone();
    let existing = credential
        .get("validUntil")
        .and_then(serde_json::Value::as_str)
        .and_then(|t| crate::time::parse_instant(t, "validUntil").ok());
    let until = match (decay.mastered_until(score, last_evidence, threshold), existing) {
        (Some(d), Some(e)) => Some(d.min(e)),
        (d, e) => d.or(e),
    };
    // Below the threshold already: valid until the last evidence, i.e. expired.
    let until = until.unwrap_or(last_evidence);
    renewed["validUntil"] = super::ob3::rfc3339(until).into();
    renewed
}
