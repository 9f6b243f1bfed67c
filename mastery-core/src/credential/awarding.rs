//! Awarding inside ingest: the achievements an engine awards, and the bounded record of one
//! learner's awards in one course that the engine stores with the batch that earned them.
//!
//! An award is written in the same atomic store commit as the evidence that earned it, so it is
//! made once per learner × achievement × version whatever the duplication or replay of that
//! evidence; its credential id is derived from that key, so a replay names the same credential.
//! Each award (and revocation) waits in the record's outbox until the host acknowledges it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::ledger::{credential_id, Award, AwardScope, RuleIndex};
use super::ob3::Achievement;
use super::rules::LearnerFacts;
use crate::error::{MasteryError, Result};
use crate::framework::Framework;
use crate::time::Instant;

/// One learner's awards in one course, as the engine stores them: at most one per achievement
/// version, whatever the history.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AwardRecord {
    pub awards: Vec<Award>,
    /// Credential ids awarded or revoked and not yet acknowledged by the host: the outbox.
    #[serde(default)]
    pub outbox: Vec<String>,
}

/// Counts only: awards name their learner.
impl std::fmt::Debug for AwardRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwardRecord").field("awards", &self.awards.len()).field("outbox", &self.outbox.len()).finish()
    }
}

impl AwardRecord {
    /// The awards still waiting in the outbox.
    pub fn undelivered(&self) -> impl Iterator<Item = &Award> {
        self.awards.iter().filter(|a| self.outbox.contains(&a.credential_id))
    }

    /// Takes these credential ids out of the outbox; returns how many were in it.
    pub fn acknowledge(&mut self, credential_ids: &[String]) -> usize {
        let before = self.outbox.len();
        self.outbox.retain(|id| !credential_ids.contains(id));
        before - self.outbox.len()
    }

    /// Revokes the award of `achievement` (every version), with a reason, and puts it back in the
    /// outbox; returns how many awards it revoked (a revoked award stays revoked).
    pub fn revoke(&mut self, achievement: &str, reason: &str) -> usize {
        let mut revoked = 0;
        for award in self.awards.iter_mut().filter(|a| a.achievement == achievement && a.revoked.is_none()) {
            award.revoked = Some(reason.to_owned());
            if !self.outbox.contains(&award.credential_id) {
                self.outbox.push(award.credential_id.clone());
            }
            revoked += 1;
        }
        revoked
    }
}

/// The achievements an engine awards, indexed by what can make their rules hold.
#[derive(Debug, Clone)]
pub struct AwardRules {
    achievements: Vec<Achievement>,
    index: RuleIndex,
    framework: Option<Framework>,
}

impl AwardRules {
    /// Two achievements with one id and version are an `invalid_input` error.
    pub fn new(achievements: Vec<Achievement>, framework: Option<Framework>) -> Result<Self> {
        let mut seen = BTreeSet::new();
        for (i, a) in achievements.iter().enumerate() {
            if !seen.insert((a.id.as_str(), a.version)) {
                return Err(MasteryError::invalid(format!("achievements[{i}]"), "repeats an id and version"));
            }
        }
        let index = RuleIndex::new(&achievements, framework.as_ref());
        Ok(Self { achievements, index, framework })
    }

    pub fn achievements(&self) -> &[Achievement] {
        &self.achievements
    }

    pub fn framework(&self) -> Option<&Framework> {
        self.framework.as_ref()
    }

    /// Whether a change to these competencies (or to the streak) can earn anything.
    pub fn affected(&self, changed: &[String], streak_changed: bool) -> BTreeSet<usize> {
        self.index.affected(changed, streak_changed)
    }

    /// Awards each achievement of `affected` whose rule holds for `facts` and that the record
    /// does not hold yet, at `at`, into the record and its outbox; returns how many.
    pub fn award(
        &self,
        record: &mut AwardRecord,
        scope: &AwardScope,
        facts: &LearnerFacts,
        affected: &BTreeSet<usize>,
        at: Instant,
    ) -> usize {
        let mut awarded = 0;
        for a in affected.iter().filter_map(|&i| self.achievements.get(i)) {
            let held = record.awards.iter().any(|w| w.achievement == a.id && w.version == a.version);
            if held || !a.rule.holds(facts, self.framework.as_ref()) {
                continue;
            }
            let id = credential_id(&scope.tenant, scope.learner.as_str(), &a.id, a.version);
            record.outbox.push(id.clone());
            record.awards.push(Award {
                tenant: scope.tenant.clone(),
                learner: scope.learner.as_str().to_owned(),
                course: scope.course.clone(),
                achievement: a.id.clone(),
                version: a.version,
                credential_id: id,
                awarded_at: at,
                revoked: None,
            });
            awarded += 1;
        }
        awarded
    }
}
