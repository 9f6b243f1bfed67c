//! Awarding as mastery changes: a [`CredentialIssuer`] is a change log the engine feeds, so every
//! ingest evaluates exactly the achievements the changed competencies can affect (through the
//! rule index) and awards each learner × achievement × version once, into the ledger's outbox.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::ledger::{Award, AwardScope, CredentialLedger, RuleIndex};
use super::ob3::Achievement;
use super::rules::LearnerFacts;
use crate::engine::{ChangeLog, MasteryChange};
use crate::framework::Framework;
use crate::time::Instant;

/// Achievements, their rule index and the ledger, fed by the engine's mastery changes.
#[derive(Debug)]
pub struct CredentialIssuer {
    achievements: Vec<Achievement>,
    index: RuleIndex,
    framework: Option<Framework>,
    /// The award time for evidence that carries no time of its own.
    default_time: Instant,
    state: Mutex<IssuerState>,
}

#[derive(Debug, Default)]
struct IssuerState {
    ledger: CredentialLedger,
    /// What each learner has shown, per tenant, learner and course (redacted in `Debug`).
    facts: Facts,
}

#[derive(Default)]
struct Facts(BTreeMap<AwardScope, LearnerFacts>);

impl std::fmt::Debug for Facts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Facts({} learners)", self.0.len())
    }
}

impl CredentialIssuer {
    pub fn new(
        achievements: Vec<Achievement>,
        framework: Option<Framework>,
        ledger: CredentialLedger,
        default_time: Instant,
    ) -> Self {
        let index = RuleIndex::new(&achievements, framework.as_ref());
        Self {
            achievements,
            index,
            framework,
            default_time,
            state: Mutex::new(IssuerState { ledger, ..IssuerState::default() }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, IssuerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads (or drains) the ledger: the host persists it and delivers its outbox.
    pub fn with_ledger<T>(&self, f: impl FnOnce(&mut CredentialLedger) -> T) -> T {
        f(&mut self.state().ledger)
    }

    /// A learner's streak changed (the streak engine runs on activity, not mastery).
    pub fn streak_changed(&self, scope: &AwardScope, streak: u32, at: Instant) -> Vec<Award> {
        let mut state = self.state();
        let IssuerState { ledger, facts } = &mut *state;
        let f = facts.0.entry(scope.clone()).or_default();
        f.streak = streak;
        let only = self.index.affected(&[], true);
        ledger.evaluate(scope, f, &self.achievements, self.framework.as_ref(), Some(&only), at)
    }
}

impl ChangeLog for CredentialIssuer {
    fn record(&self, change: &MasteryChange) {
        let mut state = self.state();
        let IssuerState { ledger, facts } = &mut *state;
        // Facts never mix tenants or courses: two learners named alike in two tenants are two people.
        let scope = AwardScope::new(change.tenant.clone(), change.learner.clone(), change.course.clone());
        let f = facts.0.entry(scope.clone()).or_default();
        let competency = change.competency.clone();
        if let Some(score) = change.score_after {
            f.scores.insert(competency.clone(), score);
        }
        if change.mastered_after {
            f.mastered.insert(competency.clone());
        } else {
            f.mastered.remove(&competency);
        }
        // The state's own count, so replays and reordering cannot inflate it.
        f.evidence.insert(competency.clone(), u32::try_from(change.evidence_count).unwrap_or(u32::MAX));
        let only = self.index.affected(std::slice::from_ref(&competency), false);
        let at = change.at.unwrap_or(self.default_time);
        ledger.evaluate(&scope, f, &self.achievements, self.framework.as_ref(), Some(&only), at);
    }
}
