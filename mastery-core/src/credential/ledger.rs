//! Exactly-once issuance and the notification outbox.
//!
//! The ledger is plain data the host persists (it serialises with serde). An award is keyed by
//! learner × achievement × version and made at most once, whatever the order, duplication or
//! replay of the evaluations that lead to it; its credential id is derived from that key, so a
//! replay names the same credential. Every award and revocation enters the outbox once and leaves
//! it only when the host acknowledges it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ob3::Achievement;
use super::rules::LearnerFacts;
use crate::access::{authorize_learner, AccessContext, Operation};
use crate::error::{MasteryError, Result};
use crate::framework::Framework;
use crate::ids::{CourseId, TenantId, UserId};
use crate::time::Instant;

/// Who an award is for and where it was earned: the tenant, the learner and the course (none for
/// achievements outside any course). Instructors see only the awards earned in courses they teach.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AwardScope {
    pub tenant: TenantId,
    pub learner: UserId,
    #[serde(default)]
    pub course: Option<CourseId>,
}

impl AwardScope {
    pub fn new(tenant: impl Into<TenantId>, learner: impl Into<UserId>, course: Option<CourseId>) -> Self {
        Self { tenant: tenant.into(), learner: learner.into(), course }
    }
}

/// Learner ids stay out of logs.
impl std::fmt::Debug for AwardScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwardScope")
            .field("tenant", &self.tenant)
            .field("learner", &crate::ids::REDACTED)
            .field("course", &self.course)
            .finish()
    }
}

/// One credential awarded to one learner.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Award {
    /// The tenant the award belongs to (ledgers written before tenants were recorded read as "").
    #[serde(default)]
    pub tenant: TenantId,
    pub learner: String,
    /// The course the award was earned in.
    #[serde(default)]
    pub course: Option<CourseId>,
    pub achievement: String,
    pub version: u32,
    pub credential_id: String,
    pub awarded_at: Instant,
    #[serde(default)]
    pub revoked: Option<String>,
}

/// Learner ids stay out of logs.
impl std::fmt::Debug for Award {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Award")
            .field("tenant", &self.tenant)
            .field("learner", &crate::ids::REDACTED)
            .field("course", &self.course)
            .field("achievement", &self.achievement)
            .field("version", &self.version)
            .field("awarded_at", &self.awarded_at)
            .field("revoked", &self.revoked.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationKind {
    #[serde(rename = "credential.awarded")]
    Awarded,
    #[serde(rename = "credential.revoked")]
    Revoked,
}

/// An outbox entry the host delivers, then acknowledges.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: u64,
    pub kind: NotificationKind,
    #[serde(default)]
    pub tenant: TenantId,
    pub learner: String,
    #[serde(default)]
    pub course: Option<CourseId>,
    pub achievement: String,
    pub version: u32,
    pub credential_id: String,
}

/// Learner ids stay out of logs.
impl std::fmt::Debug for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notification")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("tenant", &self.tenant)
            .field("learner", &crate::ids::REDACTED)
            .field("achievement", &self.achievement)
            .finish_non_exhaustive()
    }
}

/// Awards, revocations and the outbox.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialLedger {
    awards: BTreeMap<String, Award>,
    outbox: BTreeMap<u64, Notification>,
    next_notification: u64,
}

/// Counts only: the ledger holds learner ids.
impl std::fmt::Debug for CredentialLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialLedger")
            .field("awards", &self.awards.len())
            .field("outbox", &self.outbox.len())
            .finish_non_exhaustive()
    }
}

/// Tenant × learner × achievement × version, unambiguous (each id's length comes first).
fn key(tenant: &TenantId, learner: &str, achievement: &str, version: u32) -> String {
    let tenant = tenant.as_str();
    format!("{}:{tenant}|{}:{learner}|{version}|{achievement}", tenant.len(), learner.len())
}

/// `urn:uuid:` derived from the award's key (a name-based id: the same award, the same id).
pub(crate) fn credential_id(tenant: &TenantId, learner: &str, achievement: &str, version: u32) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(key(tenant, learner, achievement, version).as_bytes());
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("urn:uuid:{}-{}-5{}-8{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

impl CredentialLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Awards every achievement whose rule now holds for the learner and which they do not hold
    /// yet; returns the new awards. `only` restricts evaluation to the achievements a change can
    /// affect (see [`CredentialLedger::affected`]).
    pub fn evaluate(
        &mut self,
        scope: &AwardScope,
        facts: &LearnerFacts,
        achievements: &[Achievement],
        framework: Option<&Framework>,
        only: Option<&BTreeSet<usize>>,
        now: Instant,
    ) -> Vec<Award> {
        let mut new = Vec::new();
        for (i, a) in achievements.iter().enumerate() {
            if only.is_some_and(|set| !set.contains(&i)) {
                continue;
            }
            let learner = scope.learner.as_str();
            let k = key(&scope.tenant, learner, &a.id, a.version);
            if self.awards.contains_key(&k) || !a.rule.holds(facts, framework) {
                continue;
            }
            let award = Award {
                tenant: scope.tenant.clone(),
                learner: learner.to_owned(),
                course: scope.course.clone(),
                achievement: a.id.clone(),
                version: a.version,
                credential_id: credential_id(&scope.tenant, learner, &a.id, a.version),
                awarded_at: now,
                revoked: None,
            };
            self.notify(NotificationKind::Awarded, &award);
            self.awards.insert(k, award.clone());
            new.push(award);
        }
        new
    }

    /// Indexes of the achievements a change to these competencies (or to the streak) can affect.
    pub fn affected(
        achievements: &[Achievement],
        framework: Option<&Framework>,
        changed: &[String],
        streak_changed: bool,
    ) -> BTreeSet<usize> {
        achievements
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                let (mut deps, mut streak) = (BTreeSet::new(), false);
                a.rule.depends_on(framework, &mut deps, &mut streak);
                (streak && streak_changed)
                    || deps.contains("*") && !changed.is_empty()
                    || changed.iter().any(|c| deps.contains(c))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Revokes an award with a reason; `false` when it was already revoked.
    pub fn revoke(
        &mut self,
        tenant: &TenantId,
        learner: &str,
        achievement: &str,
        version: u32,
        reason: &str,
    ) -> Result<bool> {
        let k = key(tenant, learner, achievement, version);
        let award = self.awards.get_mut(&k).ok_or(MasteryError::NotFound { what: "award" })?;
        if award.revoked.is_some() {
            return Ok(false);
        }
        award.revoked = Some(reason.to_owned());
        let award = award.clone();
        self.notify(NotificationKind::Revoked, &award);
        Ok(true)
    }

    fn notify(&mut self, kind: NotificationKind, award: &Award) {
        self.next_notification += 1;
        let n = Notification {
            id: self.next_notification,
            kind,
            tenant: award.tenant.clone(),
            learner: award.learner.clone(),
            course: award.course.clone(),
            achievement: award.achievement.clone(),
            version: award.version,
            credential_id: award.credential_id.clone(),
        };
        self.outbox.insert(n.id, n);
    }

    /// Up to `max` undelivered notifications, oldest first; they stay until acknowledged.
    pub fn pending(&self, max: usize) -> Vec<Notification> {
        self.outbox.values().take(max).cloned().collect()
    }

    /// Removes delivered notifications; unknown ids are ignored (acknowledging twice is harmless).
    pub fn acknowledge(&mut self, ids: &[u64]) {
        for id in ids {
            self.outbox.remove(id);
        }
    }

    /// A learner's awards in `tenant`, under the access policy: the learner themself and the
    /// tenant's admins and services see all of them; an instructor of `course` sees only those
    /// earned in that course.
    pub fn awards_for(
        &self,
        ctx: &AccessContext,
        tenant: &TenantId,
        learner: &UserId,
        course: Option<&CourseId>,
    ) -> Result<Vec<&Award>> {
        let all = authorize_learner(ctx, Operation::Read, tenant, learner, None).is_ok();
        if !all {
            authorize_learner(ctx, Operation::Read, tenant, learner, course)?;
        }
        Ok(self
            .awards_of(tenant, learner.as_str())
            .into_iter()
            .filter(|a| all || a.course.as_ref() == course)
            .collect())
    }

    /// A learner's awards (revoked ones included, marked). Unchecked: for code that has already
    /// authorised the caller; readers go through [`CredentialLedger::awards_for`].
    pub fn awards_of(&self, tenant: &TenantId, learner: &str) -> Vec<&Award> {
        self.awards.values().filter(|a| &a.tenant == tenant && a.learner == learner).collect()
    }

    /// One award, unchecked (see [`CredentialLedger::awards_for`]).
    pub fn award(&self, tenant: &TenantId, learner: &str, achievement: &str, version: u32) -> Option<&Award> {
        self.awards.get(&key(tenant, learner, achievement, version))
    }
}

/// Achievements indexed by what can make their rules hold, so a change evaluates only those.
#[derive(Debug, Clone, Default)]
pub struct RuleIndex {
    by_competency: std::collections::HashMap<String, Vec<usize>>,
    on_streak: Vec<usize>,
    on_any_evidence: Vec<usize>,
}

impl RuleIndex {
    pub fn new(achievements: &[Achievement], framework: Option<&Framework>) -> Self {
        let mut index = Self::default();
        for (i, a) in achievements.iter().enumerate() {
            let (mut deps, mut streak) = (BTreeSet::new(), false);
            a.rule.depends_on(framework, &mut deps, &mut streak);
            if streak {
                index.on_streak.push(i);
            }
            for d in deps {
                if d == "*" {
                    index.on_any_evidence.push(i);
                } else {
                    index.by_competency.entry(d).or_default().push(i);
                }
            }
        }
        index
    }

    /// The achievements a change to these competencies (or to the streak) can affect.
    pub fn affected(&self, changed: &[String], streak_changed: bool) -> BTreeSet<usize> {
        let mut out: BTreeSet<usize> =
            changed.iter().flat_map(|c| self.by_competency.get(c).into_iter().flatten().copied()).collect();
        if !changed.is_empty() {
            out.extend(&self.on_any_evidence);
        }
        if streak_changed {
            out.extend(&self.on_streak);
        }
        out
    }
}
