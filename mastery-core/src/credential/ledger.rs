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

/// One credential awarded to one learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Award {
    pub learner: String,
    pub achievement: String,
    pub version: u32,
    pub credential_id: String,
    pub awarded_at: Instant,
    #[serde(default)]
    pub revoked: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationKind {
    #[serde(rename = "credential.awarded")]
    Awarded,
    #[serde(rename = "credential.revoked")]
    Revoked,
}

/// An outbox entry the host delivers, then acknowledges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: u64,
    pub kind: NotificationKind,
    pub learner: String,
    pub achievement: String,
    pub version: u32,
    pub credential_id: String,
}

/// Awards, revocations and the outbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialLedger {
    awards: BTreeMap<String, Award>,
    outbox: BTreeMap<u64, Notification>,
    next_notification: u64,
}

/// Learner × achievement × version, unambiguous (the learner's length comes first).
fn key(learner: &str, achievement: &str, version: u32) -> String {
    format!("{}:{learner}|{version}|{achievement}", learner.len())
}

/// `urn:uuid:` derived from the award's key (a name-based id: the same award, the same id).
fn credential_id(learner: &str, achievement: &str, version: u32) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(key(learner, achievement, version).as_bytes());
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
        learner: &str,
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
            let k = key(learner, &a.id, a.version);
            if self.awards.contains_key(&k) || !a.rule.holds(facts, framework) {
                continue;
            }
            let award = Award {
                learner: learner.to_owned(),
                achievement: a.id.clone(),
                version: a.version,
                credential_id: credential_id(learner, &a.id, a.version),
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
    pub fn revoke(&mut self, learner: &str, achievement: &str, version: u32, reason: &str) -> Result<bool> {
        let k = key(learner, achievement, version);
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
            learner: award.learner.clone(),
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

    /// A learner's awards, under the access policy: the learner themself, instructors of
    /// `course` (the course the credentials were earned in) and the tenant's admins and services.
    pub fn awards_for(
        &self,
        ctx: &AccessContext,
        tenant: &TenantId,
        learner: &UserId,
        course: Option<&CourseId>,
    ) -> Result<Vec<&Award>> {
        authorize_learner(ctx, Operation::Read, tenant, learner, course)?;
        Ok(self.awards_of(learner.as_str()))
    }

    /// A learner's awards (revoked ones included, marked). Unchecked: for code that has already
    /// authorised the caller; readers go through [`CredentialLedger::awards_for`].
    pub fn awards_of(&self, learner: &str) -> Vec<&Award> {
        self.awards.values().filter(|a| a.learner == learner).collect()
    }

    pub fn award(&self, learner: &str, achievement: &str, version: u32) -> Option<&Award> {
        self.awards.get(&key(learner, achievement, version))
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
