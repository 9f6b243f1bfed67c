//! Storage: the traits a host implements over its own database, and the embedded in-memory store.
//!
//! Traits are synchronous and object-safe; every call takes the caller's [`AccessContext`] so a
//! host's row-level-security store can run the query under that identity. The backend's own error
//! type converts into [`MasteryError`]; [`ErasedStore`] turns any store into `dyn Store<Error = MasteryError>`.

#[cfg(feature = "conformance")]
pub mod conformance;
mod frame;
mod memory;

use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use smol_str::SmolStr;

use crate::access::AccessContext;
use crate::error::MasteryError;
use crate::evidence::Evidence;
use crate::ids::{CourseId, UserId};
use crate::mastery::MasteryRecord;

pub use memory::{MemoryStore, DEFAULT_COMPACTION_THRESHOLD};

/// Whether an append stored a new record or found its idempotency key already present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Appended {
    New,
    Duplicate,
}

/// A state record, typed by the component that owns it. Stores keep it as it is (the embedded
/// store in memory) or serialise it with serde (a database's JSON column); `Json` carries any
/// other component's or host's state.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StateValue {
    /// A learner's mastery of one competency (the key names the competency).
    Mastery(MasteryRecord),
    /// A learner's streak in one course (bounded: the counter and a few dates).
    Streak(crate::streak::StreakRecord),
    /// A learner's awards in one course and their outbox.
    Awards(crate::credential::AwardRecord),
    /// What a learner did in one course, for the at-risk features (bounded: counters and sums).
    Activity(crate::risk::ActivityRecord),
    /// The band a learner was last placed in by `Engine::record_risk` (hysteresis for the next
    /// scoring), with the score and when.
    Prediction(crate::risk::RiskPrediction),
    /// Any JSON value.
    Json(Value),
}

impl StateValue {
    /// The JSON value, for `Json` states.
    pub fn as_json(&self) -> Option<&Value> {
        match self {
            Self::Json(value) => Some(value),
            _ => None,
        }
    }
}

impl From<Value> for StateValue {
    fn from(value: Value) -> Self {
        Self::Json(value)
    }
}

/// Mastery records print their numbers; JSON states print only their kind (they may hold ids).
impl std::fmt::Debug for StateValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Mastery(record) => record.fmt(f),
            Self::Streak(record) => record.fmt(f),
            Self::Awards(record) => record.fmt(f),
            Self::Activity(record) => record.fmt(f),
            Self::Prediction(record) => record.fmt(f),
            Self::Json(_) => f.write_str("Json(..)"),
        }
    }
}

/// Where a piece of derived state (mastery, streak, credentials, ...) lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StateKey {
    pub learner: UserId,
    /// The course the state belongs to, which decides which instructors may read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course: Option<CourseId>,
    /// The owning component, e.g. `mastery` or `streak`.
    pub namespace: SmolStr,
    /// The record's name within the component (the competency, for mastery).
    pub name: SmolStr,
}

/// The methods of [`Store`] by name: what a store written in Python, JS, Kotlin or Swift must
/// provide (the bindings check for them when an engine is created over such a store).
pub const STORE_METHODS: [&str; 9] = [
    "apply",
    "known_evidence",
    "append_evidence",
    "learner_evidence",
    "course_evidence",
    "get_state",
    "put_state",
    "learner_states",
    "course_states",
];

/// The storage a host provides. Every call carries the caller's context; the engine checks the
/// access policy before it calls, so a store may rely on its database's row-level security instead of
/// repeating the policy (the embedded store checks it too).
pub trait Store {
    /// The backend's error; it must say what it means in library terms.
    type Error: Into<MasteryError> + std::fmt::Debug;

    /// Stores evidence once per (tenant, learner, id). A second append with the same id for the
    /// same learner is a `Duplicate` and changes nothing; the same id for another learner is a
    /// different record (so one learner can neither probe nor squat another's ids).
    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Appended, Self::Error>;

    /// Applies one ingest batch atomically: when none of `evidence` is stored yet (and no id
    /// repeats within it), appends all of it and writes every state as one unit (one commit);
    /// otherwise writes nothing and returns which records are already stored (`Duplicate`), so
    /// the caller recomputes without them. Evidence ids are unique per (tenant, learner).
    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, Self::Error>;

    /// Which of these records are already stored (by tenant, learner and id).
    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Vec<bool>, Self::Error>;

    /// One learner's evidence in the order it was appended.
    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>, Self::Error>;

    /// A course's evidence in the order it was appended.
    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Evidence>, Self::Error>;

    /// Reads derived state.
    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<StateValue>, Self::Error>;

    /// Reads several state records at once, one answer per key in order: the engine reads every
    /// record an ingest batch touches with one call. The default asks [`Store::get_state`] key by
    /// key; a store with a round trip per call (a database, a store in another language)
    /// overrides it.
    fn get_states(&self, ctx: &AccessContext, keys: &[StateKey]) -> Result<Vec<Option<StateValue>>, Self::Error> {
        keys.iter().map(|key| self.get_state(ctx, key)).collect()
    }

    /// [`Store::get_states`] into `out` (its contents replaced): the engine hands the same buffer
    /// to every batch, so a store that overrides this allocates nothing per batch. The default
    /// replaces `out` with [`Store::get_states`]' answer.
    fn get_states_into(
        &self,
        ctx: &AccessContext,
        keys: &[StateKey],
        out: &mut Vec<Option<StateValue>>,
    ) -> Result<(), Self::Error> {
        *out = self.get_states(ctx, keys)?;
        Ok(())
    }

    /// Writes derived state (last write wins).
    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> Result<(), Self::Error>;

    /// One learner's state records of one namespace (every course the caller may read), in key
    /// order: what a learner dashboard reads instead of the evidence log.
    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, Self::Error>;

    /// A course's state records of one namespace, for every learner: what a class dashboard reads.
    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, Self::Error>;

    /// The store's read point for [`Store::apply_since`]: a version no newer than what the
    /// caller's reads after this call see. `None` (the default): the store does not version its
    /// records, and the engine calls [`Store::apply`].
    fn read_version(&self, ctx: &AccessContext) -> Result<Option<u64>, Self::Error> {
        let _ = ctx;
        Ok(None)
    }

    /// [`Store::apply`], except that it writes nothing and fails with
    /// [`MasteryError::StoreConflict`] when another writer changed the evidence or state of a
    /// learner the batch touches after `since` (a [`Store::read_version`]); the engine then reads
    /// again and recomputes. Duplicates are reported first, as by `apply`. The default is `apply`
    /// (right for a store with one writer, or one whose `apply` serialises read and write).
    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, Self::Error> {
        let _ = since;
        self.apply(ctx, evidence, states)
    }

    /// Holds other writers off until [`Store::release_writes`], so a batch that keeps meeting
    /// conflicts cannot starve; returns whether the store did. The default does nothing.
    fn hold_writes(&self, ctx: &AccessContext) -> Result<bool, Self::Error> {
        let _ = ctx;
        Ok(false)
    }

    /// Ends a [`Store::hold_writes`].
    fn release_writes(&self, ctx: &AccessContext) -> Result<(), Self::Error> {
        let _ = ctx;
        Ok(())
    }

    /// Appends `evidence` once and, only when it is new, writes `states` with it as one atomic unit:
    /// after a crash either all of it is stored or none. Stores that cannot do better keep this default.
    ///
    /// The default is neither atomic across a crash nor all-or-nothing when the policy denies one
    /// of the state keys (the evidence is then already stored), so it fails the conformance check
    /// `record_is_all_or_nothing_on_a_denied_key`; a store with transactions overrides it.
    fn record(
        &self,
        ctx: &AccessContext,
        evidence: &Evidence,
        states: &[(StateKey, StateValue)],
    ) -> Result<Appended, Self::Error> {
        let appended = self.append_evidence(ctx, evidence)?;
        if appended == Appended::New {
            for (key, value) in states {
                self.put_state(ctx, key, value)?;
            }
        }
        Ok(appended)
    }
}

/// Wraps any store so callers can hold `Box<dyn Store<Error = MasteryError>>`.
#[derive(Debug)]
pub struct ErasedStore<S>(pub S);

impl<S: Store> Store for ErasedStore<S> {
    type Error = MasteryError;

    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Appended, MasteryError> {
        self.0.append_evidence(ctx, evidence).map_err(Into::into)
    }
    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>, MasteryError> {
        self.0.learner_evidence(ctx, learner).map_err(Into::into)
    }
    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Evidence>, MasteryError> {
        self.0.course_evidence(ctx, course).map_err(Into::into)
    }
    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<StateValue>, MasteryError> {
        self.0.get_state(ctx, key).map_err(Into::into)
    }
    fn get_states(&self, ctx: &AccessContext, keys: &[StateKey]) -> Result<Vec<Option<StateValue>>, MasteryError> {
        self.0.get_states(ctx, keys).map_err(Into::into)
    }
    fn get_states_into(
        &self,
        ctx: &AccessContext,
        keys: &[StateKey],
        out: &mut Vec<Option<StateValue>>,
    ) -> Result<(), MasteryError> {
        self.0.get_states_into(ctx, keys, out).map_err(Into::into)
    }
    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> Result<(), MasteryError> {
        self.0.put_state(ctx, key, value).map_err(Into::into)
    }
    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        self.0.learner_states(ctx, learner, namespace).map_err(Into::into)
    }
    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        self.0.apply(ctx, evidence, states).map_err(Into::into)
    }
    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Vec<bool>, MasteryError> {
        self.0.known_evidence(ctx, evidence).map_err(Into::into)
    }
    fn read_version(&self, ctx: &AccessContext) -> Result<Option<u64>, MasteryError> {
        self.0.read_version(ctx).map_err(Into::into)
    }
    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        self.0.apply_since(ctx, since, evidence, states).map_err(Into::into)
    }
    fn hold_writes(&self, ctx: &AccessContext) -> Result<bool, MasteryError> {
        self.0.hold_writes(ctx).map_err(Into::into)
    }
    fn release_writes(&self, ctx: &AccessContext) -> Result<(), MasteryError> {
        self.0.release_writes(ctx).map_err(Into::into)
    }
    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        self.0.course_states(ctx, course, namespace).map_err(Into::into)
    }
    fn record(
        &self,
        ctx: &AccessContext,
        evidence: &Evidence,
        states: &[(StateKey, StateValue)],
    ) -> Result<Appended, MasteryError> {
        self.0.record(ctx, evidence, states).map_err(Into::into)
    }
}

/// A type-erased store.
pub type DynStore = Box<dyn Store<Error = MasteryError> + Send + Sync>;

/// A boxed store is a store: `Engine<DynStore>` holds whichever store the host chose at run time
/// (the bindings' engines hold the embedded store or one written in the host's language).
impl Store for DynStore {
    type Error = MasteryError;

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        (**self).apply(ctx, evidence, states)
    }
    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Vec<bool>, MasteryError> {
        (**self).known_evidence(ctx, evidence)
    }
    fn read_version(&self, ctx: &AccessContext) -> Result<Option<u64>, MasteryError> {
        (**self).read_version(ctx)
    }
    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        (**self).apply_since(ctx, since, evidence, states)
    }
    fn hold_writes(&self, ctx: &AccessContext) -> Result<bool, MasteryError> {
        (**self).hold_writes(ctx)
    }
    fn release_writes(&self, ctx: &AccessContext) -> Result<(), MasteryError> {
        (**self).release_writes(ctx)
    }
    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Appended, MasteryError> {
        (**self).append_evidence(ctx, evidence)
    }
    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>, MasteryError> {
        (**self).learner_evidence(ctx, learner)
    }
    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Evidence>, MasteryError> {
        (**self).course_evidence(ctx, course)
    }
    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<StateValue>, MasteryError> {
        (**self).get_state(ctx, key)
    }
    fn get_states(&self, ctx: &AccessContext, keys: &[StateKey]) -> Result<Vec<Option<StateValue>>, MasteryError> {
        (**self).get_states(ctx, keys)
    }
    fn get_states_into(
        &self,
        ctx: &AccessContext,
        keys: &[StateKey],
        out: &mut Vec<Option<StateValue>>,
    ) -> Result<(), MasteryError> {
        (**self).get_states_into(ctx, keys, out)
    }
    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> Result<(), MasteryError> {
        (**self).put_state(ctx, key, value)
    }
    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        (**self).learner_states(ctx, learner, namespace)
    }
    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        (**self).course_states(ctx, course, namespace)
    }
    fn record(
        &self,
        ctx: &AccessContext,
        evidence: &Evidence,
        states: &[(StateKey, StateValue)],
    ) -> Result<Appended, MasteryError> {
        (**self).record(ctx, evidence, states)
    }
}
