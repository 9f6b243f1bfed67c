//! Awarding inside ingest, and the award reads: a learner's awards, a course's outbox, the badge
//! gallery. An award is stored in the same atomic commit as the evidence that earned it.

use std::collections::{BTreeSet, HashMap};

use super::{read_record, read_streak, streak_activity, streak_key, Engine, NAMESPACE};
use crate::access::{authorize_course, authorize_learner, AccessContext, Operation};
use crate::credential::{Award, AwardRecord, AwardRules, AwardScope, GalleryItem, LearnerFacts};
use crate::error::{MasteryError, Result};
use crate::evidence::Evidence;
use crate::ids::{CourseId, UserId};
use crate::mastery::MasteryRecord;
use crate::store::{SmolStr, StateKey, StateValue, Store};
use crate::streak::{evaluate_placed, offset_of, StreakRecord};
use crate::time::Instant;

/// The namespace (and record name) of a learner's awards in a course.
const AWARDS: &str = "credential";

fn award_key(learner: &UserId, course: Option<&CourseId>) -> StateKey {
    StateKey {
        learner: learner.clone(),
        course: course.cloned(),
        namespace: SmolStr::new_static(AWARDS),
        name: SmolStr::new_static("awards"),
    }
}

fn read_awards(value: StateValue) -> Result<AwardRecord> {
    match value {
        StateValue::Awards(record) => Ok(record),
        StateValue::Json(value) => serde_json::from_value(value)
            .map_err(|_| MasteryError::Store { reason: "stored award record is unreadable".into() }),
        _ => Err(MasteryError::Store { reason: "an award key holds another component's record".into() }),
    }
}

/// One learner × course a batch moved.
struct Scope<'b> {
    learner: &'b UserId,
    course: Option<&'b CourseId>,
    /// The mastery slots the batch moved.
    slots: Vec<usize>,
    /// The streak slot, when the batch moved the streak.
    streak: Option<usize>,
    /// The latest time among the batch's records: when anything they earn is awarded.
    at: Option<Instant>,
    /// The batch's records of this learner × course.
    records: Vec<&'b Evidence>,
}

/// What a batch moved, per learner × course, in first-touch order.
#[derive(Default)]
pub(super) struct Touched<'b> {
    scopes: Vec<Scope<'b>>,
    index: HashMap<(&'b UserId, Option<&'b CourseId>), usize, foldhash::fast::RandomState>,
}

impl<'b> Touched<'b> {
    pub(super) fn note(&mut self, evidence: &'b Evidence, moved: impl Iterator<Item = usize>, streak: Option<usize>) {
        let next = self.scopes.len();
        let at = *self.index.entry((&evidence.learner, evidence.course.as_ref())).or_insert(next);
        if at == next {
            self.scopes.push(Scope {
                learner: &evidence.learner,
                course: evidence.course.as_ref(),
                slots: Vec::new(),
                streak: None,
                at: None,
                records: Vec::new(),
            });
        }
        let scope = &mut self.scopes[at];
        for slot in moved {
            if !scope.slots.contains(&slot) {
                scope.slots.push(slot);
            }
        }
        scope.streak = streak.or(scope.streak);
        scope.at = scope.at.max(evidence.occurred_at);
        scope.records.push(evidence);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }
}

/// The batch's records as computed so far, by slot.
pub(super) struct BatchState<'a> {
    pub keys: &'a [StateKey],
    pub current: &'a [Option<MasteryRecord>],
    pub current_streaks: &'a [Option<StreakRecord>],
    pub streaks_from: usize,
}

/// Adds a mastery record to what the rules see (a newer record of the same competency replaces it).
fn add_fact(facts: &mut LearnerFacts, latest: &mut Option<Instant>, record: &MasteryRecord) {
    let competency = record.competency.to_string();
    match record.score {
        Some(score) => facts.scores.insert(competency.clone(), score),
        None => facts.scores.remove(&competency),
    };
    if record.mastered {
        facts.mastered.insert(competency.clone());
    } else {
        facts.mastered.remove(&competency);
    }
    facts.evidence.insert(competency, record.evidence_count());
    *latest = (*latest).max(record.last_evidence);
}

impl<S: Store> Engine<S> {
    /// The award records a batch changes, and how many awards it makes: for every learner ×
    /// course whose moved competencies (or streak) can earn an achievement, the rules see the
    /// learner's stored mastery in the course with the batch's records over it, and the streak.
    /// Costs one `get_states` for the candidates and one `learner_states` per candidate learner.
    pub(super) fn award(
        &self,
        ctx: &AccessContext,
        rules: &AwardRules,
        touched: &Touched<'_>,
        batch: &BatchState<'_>,
    ) -> Result<(Vec<(StateKey, StateValue)>, usize)> {
        let mut candidates: Vec<(&Scope<'_>, BTreeSet<usize>)> = Vec::new();
        for scope in &touched.scopes {
            let changed: Vec<String> = scope.slots.iter().map(|&s| batch.keys[s].name.to_string()).collect();
            let affected = rules.affected(&changed, scope.streak.is_some());
            if !affected.is_empty() {
                candidates.push((scope, affected));
            }
        }
        if candidates.is_empty() {
            return Ok((Vec::new(), 0));
        }
        // Each candidate's awards and streak, in one read.
        let keys: Vec<StateKey> = candidates
            .iter()
            .flat_map(|(s, _)| [award_key(s.learner, s.course), streak_key(s.learner, s.course)])
            .collect();
        let stored = self.store.get_states(ctx, &keys).map_err(Into::into)?;
        if stored.len() != keys.len() {
            return Err(MasteryError::Store {
                reason: format!("get_states returned {} records for {} keys", stored.len(), keys.len()),
            });
        }
        let mut mastery: HashMap<&UserId, Vec<(StateKey, StateValue)>, foldhash::fast::RandomState> =
            HashMap::default();
        let (mut states, mut awarded) = (Vec::new(), 0);
        for (i, (scope, affected)) in candidates.iter().enumerate() {
            if !mastery.contains_key(scope.learner) {
                let records = self.store.learner_states(ctx, scope.learner, NAMESPACE).map_err(Into::into)?;
                mastery.insert(scope.learner, records);
            }
            let (mut facts, mut latest) = (LearnerFacts::default(), None);
            for (key, value) in mastery[scope.learner].iter().filter(|(k, _)| k.course.as_ref() == scope.course) {
                add_fact(&mut facts, &mut latest, &read_record(&key.name, value.clone(), &self.config)?);
            }
            for record in scope.slots.iter().filter_map(|&slot| batch.current[slot].as_ref()) {
                add_fact(&mut facts, &mut latest, record);
            }
            let streak = match scope.streak {
                Some(slot) => batch.current_streaks[slot - batch.streaks_from].clone(),
                None => stored[2 * i + 1].clone().map(read_streak).transpose()?,
            };
            if let (Some(policy), Some(record)) = (&self.streaks, streak) {
                // The longest streak as of the latest activity: a streak rule, once reached, holds
                // whatever the batching. A history that crossed the date line westwards is
                // evaluated from the stored evidence and the batch's records.
                facts.streak = match record.status(policy, record.last_at)? {
                    Some(status) => status.longest,
                    None => {
                        let stored = self.store.learner_evidence(ctx, scope.learner).map_err(Into::into)?;
                        let history: Vec<_> = stored
                            .iter()
                            .filter(|e| e.course.as_ref() == scope.course)
                            .chain(scope.records.iter().copied())
                            .filter_map(streak_activity)
                            .collect();
                        evaluate_placed(&history, policy, record.last_at, offset_of(record.last_at))?.longest
                    }
                };
            }
            let mut record = stored[2 * i].clone().map(read_awards).transpose()?.unwrap_or_default();
            let who = AwardScope::new(ctx.tenant().clone(), scope.learner.clone(), scope.course.cloned());
            // Records without a time award at the latest mastery evidence, else at the Unix epoch
            // (map a receive time with `EvidenceMapping::default_time`).
            let at = scope.at.or(latest).unwrap_or_default();
            let made = rules.award(&mut record, &who, &facts, affected, at);
            if made > 0 {
                states.push((keys[2 * i].clone(), StateValue::Awards(record)));
                awarded += made;
            }
        }
        Ok((states, awarded))
    }

    fn award_rules(&self) -> Result<&AwardRules> {
        self.awards.as_ref().ok_or_else(|| {
            MasteryError::invalid("achievements", "this engine awards nothing: create it with achievements")
        })
    }

    fn stored_awards(&self, ctx: &AccessContext, learner: &UserId, course: Option<&CourseId>) -> Result<AwardRecord> {
        let stored = self.store.get_state(ctx, &award_key(learner, course)).map_err(Into::into)?;
        Ok(stored.map(read_awards).transpose()?.unwrap_or_default())
    }

    /// A learner's awards in one course (or outside any), revoked ones included.
    pub fn awards(&self, ctx: &AccessContext, learner: &UserId, course: Option<&CourseId>) -> Result<Vec<Award>> {
        self.award_rules()?;
        authorize_learner(ctx, Operation::Read, ctx.tenant(), learner, course)?;
        Ok(self.stored_awards(ctx, learner, course)?.awards)
    }

    /// A course's awards and revocations the host has not acknowledged yet (instructors of the
    /// course, admins, services): what it delivers, then acknowledges.
    pub fn outbox(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Award>> {
        self.award_rules()?;
        authorize_course(ctx, Operation::Read, ctx.tenant(), course)?;
        let mut pending = Vec::new();
        for (_, value) in self.store.course_states(ctx, course, AWARDS).map_err(Into::into)? {
            pending.extend(read_awards(value)?.undelivered().cloned());
        }
        pending.sort_by(|a, b| (a.awarded_at, &a.credential_id).cmp(&(b.awarded_at, &b.credential_id)));
        Ok(pending)
    }

    /// Takes delivered awards (by credential id) out of a learner's outbox in a course; returns
    /// how many it took. Instructors of the course, admins and services only.
    pub fn acknowledge_awards(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        credential_ids: &[String],
    ) -> Result<usize> {
        self.change_awards(ctx, learner, course, |record| record.acknowledge(credential_ids))
    }

    /// Revokes a learner's award of `achievement` (every version) with a reason; the revocation
    /// enters the outbox. Returns how many awards it revoked. Instructors of the course, admins
    /// and services only.
    pub fn revoke_award(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        achievement: &str,
        reason: &str,
    ) -> Result<usize> {
        self.change_awards(ctx, learner, course, |record| record.revoke(achievement, reason))
    }

    fn change_awards(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        change: impl Fn(&mut AwardRecord) -> usize,
    ) -> Result<usize> {
        self.award_rules()?;
        // Learners cannot change their own awards: course staff (or, outside courses, trusted callers).
        match course {
            Some(course) => authorize_course(ctx, Operation::Write, ctx.tenant(), course)?,
            None if ctx.principal.is_trusted() => {}
            None => return Err(MasteryError::AccessDenied { action: "write award record".into() }),
        }
        authorize_learner(ctx, Operation::Write, ctx.tenant(), learner, course)?;
        let _guard = self.learner_locks[self.stripe_of(learner)].lock().unwrap_or_else(|p| p.into_inner());
        // Another process may ingest for the learner meanwhile: a versioned store refuses the
        // write if so, and the change is made again on the record as it then stands.
        for _ in 0..8 {
            let since = self.store.read_version(ctx).map_err(Into::into)?;
            let mut record = self.stored_awards(ctx, learner, course)?;
            let changed = change(&mut record);
            if changed == 0 {
                return Ok(0);
            }
            let key = award_key(learner, course);
            let written = match since {
                Some(since) => {
                    let states = [(key, StateValue::Awards(record))];
                    self.store.apply_since(ctx, since, &[], &states).map(drop).map_err(Into::into)
                }
                None => self.store.put_state(ctx, &key, &StateValue::Awards(record)).map_err(Into::into),
            };
            match written {
                Ok(()) => return Ok(changed),
                Err(MasteryError::StoreConflict) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(MasteryError::Store { reason: "the award record kept conflicting with another writer".into() })
    }

    /// The badge gallery of a learner in one course (or outside any) as of `now`: every
    /// achievement, earned, expired, revoked or in progress (with how far), from stored state.
    pub fn badge_gallery(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        now: Instant,
    ) -> Result<Vec<GalleryItem>> {
        self.award_rules()?;
        let records = self.learner_states(ctx, learner, course)?;
        let longest = match self.streaks {
            Some(_) => Some(self.streak(ctx, learner, course, now)?.longest),
            None => None,
        };
        self.gallery_of(ctx, learner, course, now, &records, longest)
    }

    /// The gallery from the learner's stored mastery records in the course and longest streak,
    /// read by the caller (the learner dashboard reads them once for all its parts).
    pub(super) fn gallery_of(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        now: Instant,
        records: &[MasteryRecord],
        longest: Option<u32>,
    ) -> Result<Vec<GalleryItem>> {
        let rules = self.award_rules()?;
        let awards = self.awards(ctx, learner, course)?;
        let (mut facts, mut latest) = (LearnerFacts::default(), None);
        for record in records {
            add_fact(&mut facts, &mut latest, record);
        }
        if let Some(longest) = longest {
            facts.streak = longest;
        }
        let visible: Vec<&Award> = awards.iter().collect();
        Ok(crate::credential::gallery_from_awards(&visible, now, &facts, rules.achievements(), rules.framework()))
    }
}
