//! The one stateful facade: a store plus the rules that turn evidence into state.
//!
//! `ingest` stores each evidence record once, then updates the learner's mastery of every
//! competency it bears on and records each change through a [`ChangeLog`] the host provides.
//! The state after any order of ingestion, duplicates included, equals [`Engine::replay`] of
//! the stored log.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::access::{authorize_learner, AccessContext, Operation};
use crate::error::{MasteryError, Result};
use crate::evidence::{Evidence, Rejection};
use crate::ids::{CourseId, TenantId, UserId};
use crate::mastery::{CompetencyState, MasteryConfig, Observation};
use crate::store::{Appended, StateKey, Store};

const NAMESPACE: &str = "mastery";

/// One mastery change: who (in which tenant), what, before, after, and which evidence moved it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct MasteryChange {
    /// The tenant of the caller that ingested the evidence.
    #[serde(default)]
    pub tenant: TenantId,
    pub learner: UserId,
    pub course: Option<CourseId>,
    pub competency: String,
    pub evidence: String,
    pub score_before: Option<f64>,
    pub score_after: Option<f64>,
    pub p_known_before: Option<f64>,
    pub p_known_after: Option<f64>,
    pub mastered_after: bool,
    /// Evidence records now counted for this competency (the state's history).
    #[serde(default)]
    pub evidence_count: usize,
    /// When the evidence happened, if it says.
    #[serde(default)]
    pub at: Option<crate::time::Instant>,
}

/// Learner and evidence ids stay out of logs.
impl std::fmt::Debug for MasteryChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasteryChange")
            .field("tenant", &self.tenant)
            .field("course", &self.course)
            .field("competency", &self.competency)
            .field("score_after", &self.score_after)
            .field("mastered_after", &self.mastered_after)
            .finish_non_exhaustive()
    }
}

/// Where the engine records mastery changes (the host's audit log).
pub trait ChangeLog {
    fn record(&self, change: &MasteryChange);
}

/// A shared log (the host keeps one handle, the engine another).
impl<T: ChangeLog + ?Sized> ChangeLog for std::sync::Arc<T> {
    fn record(&self, change: &MasteryChange) {
        (**self).record(change);
    }
}

/// Keeps changes in memory (tests, small hosts).
#[derive(Default)]
pub struct MemoryChangeLog(pub std::sync::Mutex<Vec<MasteryChange>>);

impl std::fmt::Debug for MemoryChangeLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |c| c.len());
        write!(f, "MemoryChangeLog({n} changes)")
    }
}

impl ChangeLog for MemoryChangeLog {
    fn record(&self, change: &MasteryChange) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(change.clone());
    }
}

/// What one `ingest` call did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestOutcome {
    /// Records stored for the first time.
    pub new: usize,
    /// Records whose idempotency key was already stored (they change nothing).
    pub duplicates: usize,
    /// Records refused (by the policy or the store), by their index in the batch.
    pub rejected: Vec<Rejection>,
    /// Mastery changes the new records caused.
    pub changes: usize,
}

/// How many stripes serialise concurrent ingests (by tenant and learner).
const LEARNER_LOCKS: usize = 64;

/// Store + mastery rules + change log.
pub struct Engine<S> {
    store: S,
    config: MasteryConfig,
    logs: Vec<Box<dyn ChangeLog + Send + Sync>>,
    learner_locks: Vec<Mutex<()>>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("store", &self.store).field("config", &self.config).finish_non_exhaustive()
    }
}

fn observation(e: &Evidence) -> Option<Observation> {
    Some(Observation {
        evidence: e.id.as_str().to_owned(),
        score: e.normalized_score()?,
        at: e.occurred_at,
        sequence: e.sequence,
        template: e.activity.clone(),
    })
}

impl<S: Store> Engine<S> {
    /// An engine with the default mastery rules (decaying average 65 %, Canvas's scale).
    pub fn new(store: S) -> Self {
        Self::with_config(store, MasteryConfig::default())
    }

    pub fn with_config(store: S, config: MasteryConfig) -> Self {
        Self { store, config, logs: Vec::new(), learner_locks: (0..LEARNER_LOCKS).map(|_| Mutex::new(())).collect() }
    }

    /// Routes every mastery change to `log` (in addition to any logs added before): an audit
    /// log, a [`crate::credential::CredentialIssuer`] that awards badges as mastery changes, ...
    pub fn with_change_log(mut self, log: impl ChangeLog + Send + Sync + 'static) -> Self {
        self.logs.push(Box::new(log));
        self
    }

    /// The underlying store, for reads.
    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn config(&self) -> &MasteryConfig {
        &self.config
    }

    /// Stores each record once and updates mastery. A refused record is reported; the rest go on.
    pub fn ingest(&self, ctx: &AccessContext, batch: &[Evidence]) -> IngestOutcome {
        let mut outcome = IngestOutcome::default();
        for (index, evidence) in batch.iter().enumerate() {
            match self.ingest_one(ctx, evidence) {
                Ok(None) => outcome.duplicates += 1,
                Ok(Some(changes)) => {
                    outcome.new += 1;
                    outcome.changes += changes;
                }
                Err(error) => outcome.rejected.push(Rejection::new(index, &error)),
            }
        }
        outcome
    }

    fn key(evidence: &Evidence, competency: &str) -> StateKey {
        StateKey {
            learner: evidence.learner.clone(),
            course: evidence.course.clone(),
            namespace: NAMESPACE.to_owned(),
            name: competency.to_owned(),
        }
    }

    /// Computes the record's new states, then stores the record and its states in one atomic
    /// `record` call (a crash cannot keep one without the other; a duplicate writes nothing).
    /// Ingests for one learner are serialised in this process, so concurrent threads lose nothing.
    fn ingest_one(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Option<usize>> {
        // The policy runs before the store is touched; a host store's RLS is the second wall.
        authorize_learner(ctx, Operation::Write, ctx.tenant(), &evidence.learner, evidence.course.as_ref())?;
        let _serialised = self.learner_lock(ctx, evidence).lock().unwrap_or_else(|p| p.into_inner());
        let mut states = Vec::new();
        let mut changes = Vec::new();
        if let Some(obs) = observation(evidence) {
            for competency in &evidence.competencies {
                let key = Self::key(evidence, competency.as_str());
                let mut state = match self.store.get_state(ctx, &key).map_err(Into::into)? {
                    Some(v) => serde_json::from_value(v)
                        .map_err(|_| MasteryError::Store { reason: "stored mastery state is unreadable".into() })?,
                    None => CompetencyState::new(competency.as_str()),
                };
                let before = (state.score, state.knowledge.map(|k| k.p_known));
                if !state.observe(obs.clone(), &self.config)? {
                    continue;
                }
                let value = serde_json::to_value(&state).map_err(|e| MasteryError::Store { reason: e.to_string() })?;
                states.push((key, value));
                changes.push(MasteryChange {
                    tenant: ctx.tenant().clone(),
                    learner: evidence.learner.clone(),
                    course: evidence.course.clone(),
                    competency: competency.as_str().to_owned(),
                    evidence: evidence.id.as_str().to_owned(),
                    score_before: before.0,
                    score_after: state.score,
                    p_known_before: before.1,
                    p_known_after: state.knowledge.map(|k| k.p_known),
                    mastered_after: state.mastered,
                    evidence_count: state.history.len(),
                    at: evidence.occurred_at,
                });
            }
        }
        if self.store.record(ctx, evidence, &states).map_err(Into::into)? == Appended::Duplicate {
            return Ok(None);
        }
        for change in &changes {
            self.logs.iter().for_each(|log| log.record(change));
        }
        Ok(Some(changes.len()))
    }

    /// The lock that serialises ingests for the evidence's learner (one of a fixed set of stripes).
    fn learner_lock(&self, ctx: &AccessContext, evidence: &Evidence) -> &Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (ctx.tenant(), &evidence.learner).hash(&mut hasher);
        &self.learner_locks[(hasher.finish() % LEARNER_LOCKS as u64) as usize]
    }

    /// A learner's stored state on one competency (in a course, or outside any).
    pub fn mastery(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        competency: &str,
    ) -> Result<Option<CompetencyState>> {
        let key = StateKey {
            learner: learner.clone(),
            course: course.cloned(),
            namespace: NAMESPACE.into(),
            name: competency.into(),
        };
        match self.store.get_state(ctx, &key).map_err(Into::into)? {
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|_| MasteryError::Store { reason: "stored mastery state is unreadable".into() }),
            None => Ok(None),
        }
    }

    /// A learner's competency states in one course (or outside any), recomputed from the evidence
    /// the caller may read: what a learner dashboard shows.
    pub fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
    ) -> Result<Vec<CompetencyState>> {
        Ok(self.replay(ctx, learner)?.into_iter().filter(|((c, _), _)| c.as_ref() == course).map(|(_, s)| s).collect())
    }

    /// Every learner's states in a course (instructors of the course, admins, services): what an
    /// instructor dashboard shows. Learner ids are keys, never logged.
    pub fn class_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
    ) -> Result<BTreeMap<String, Vec<CompetencyState>>> {
        let mut by_learner: BTreeMap<String, BTreeMap<String, CompetencyState>> = BTreeMap::new();
        for evidence in self.store.course_evidence(ctx, course).map_err(Into::into)? {
            let Some(obs) = observation(&evidence) else { continue };
            for competency in &evidence.competencies {
                by_learner
                    .entry(evidence.learner.as_str().to_owned())
                    .or_default()
                    .entry(competency.as_str().to_owned())
                    .or_insert_with(|| CompetencyState::new(competency.as_str()))
                    .observe(obs.clone(), &self.config)?;
            }
        }
        Ok(by_learner.into_iter().map(|(l, m)| (l, m.into_values().collect())).collect())
    }

    /// Standings (0..1 value, mastered) for roll-ups, gaps and ring charts.
    pub fn standings(&self, states: &[CompetencyState]) -> BTreeMap<String, crate::mastery::Standing> {
        let top = self.config.scale.ratings.first().map_or(1.0, |r| r.points);
        states
            .iter()
            .filter_map(|s| {
                s.score.map(|score| {
                    (
                        s.competency.clone(),
                        crate::mastery::Standing { value: (score / top).clamp(0.0, 1.0), mastered: s.mastered },
                    )
                })
            })
            .collect()
    }

    /// Recomputes a learner's states from the stored evidence log, from scratch, without writing:
    /// `(course, competency) → state`.
    pub fn replay(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
    ) -> Result<BTreeMap<(Option<CourseId>, String), CompetencyState>> {
        let mut states: BTreeMap<(Option<CourseId>, String), CompetencyState> = BTreeMap::new();
        for evidence in self.store.learner_evidence(ctx, learner).map_err(Into::into)? {
            let Some(obs) = observation(&evidence) else { continue };
            for competency in &evidence.competencies {
                states
                    .entry((evidence.course.clone(), competency.as_str().to_owned()))
                    .or_insert_with(|| CompetencyState::new(competency.as_str()))
                    .observe(obs.clone(), &self.config)?;
            }
        }
        Ok(states)
    }
}
