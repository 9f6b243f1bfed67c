//! The store the service runs on: the embedded directory store, or PostgreSQL.

use mastery_core::access::AccessContext;
use mastery_core::store::{Appended, StateKey, StateValue, Store};
use mastery_core::{CourseId, Evidence, MasteryError, MemoryStore, UserId};

use crate::pg::PgStore;

/// Either backend, chosen at start (`DATABASE_URL` set: PostgreSQL).
#[derive(Debug)]
pub enum AnyStore {
    Memory(MemoryStore),
    Postgres(PgStore),
}

macro_rules! each {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($s) => $call,
            AnyStore::Postgres($s) => $call,
        }
    };
}

impl Store for AnyStore {
    type Error = MasteryError;

    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Appended, MasteryError> {
        each!(self, s => s.append_evidence(ctx, evidence))
    }
    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        each!(self, s => s.apply(ctx, evidence, states))
    }
    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Vec<bool>, MasteryError> {
        each!(self, s => s.known_evidence(ctx, evidence))
    }
    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>, MasteryError> {
        each!(self, s => s.learner_evidence(ctx, learner))
    }
    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Evidence>, MasteryError> {
        each!(self, s => s.course_evidence(ctx, course))
    }
    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<StateValue>, MasteryError> {
        each!(self, s => s.get_state(ctx, key))
    }
    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> Result<(), MasteryError> {
        each!(self, s => s.put_state(ctx, key, value))
    }
    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        each!(self, s => s.learner_states(ctx, learner, namespace))
    }
    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        each!(self, s => s.course_states(ctx, course, namespace))
    }
    fn record(
        &self,
        ctx: &AccessContext,
        evidence: &Evidence,
        states: &[(StateKey, StateValue)],
    ) -> Result<Appended, MasteryError> {
        each!(self, s => s.record(ctx, evidence, states))
    }
}
