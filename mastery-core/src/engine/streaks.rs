//! The engine's streak reads: from the stored record, the log only when the record cannot answer.

use std::collections::BTreeMap;

use chrono::FixedOffset;

use super::{read_streak, streak_activity, streak_key, Engine, STREAK};
use crate::access::{authorize_course, authorize_learner, AccessContext, Operation};
use crate::error::{MasteryError, Result};
use crate::ids::{CourseId, UserId};
use crate::store::Store;
use crate::streak::{evaluate_placed, offset_of, StreakPolicy, StreakRecord, StreakReport, StreakStatus};

impl<S: Store> Engine<S> {
    /// A learner's streak in one course (or outside any) as of `now`, whose offset is the
    /// learner's zone now. Read from the stored record; from the evidence only when the record
    /// cannot answer (local dates that went backwards across the date line, a `now` before the
    /// latest activity). A learner without activity has a zero streak.
    pub fn streak(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        now: crate::time::Instant,
    ) -> Result<StreakStatus> {
        let policy = self.policy_for_streaks()?;
        authorize_learner(ctx, Operation::Read, ctx.tenant(), learner, course)?;
        let stored = self.store.get_state(ctx, &streak_key(learner, course)).map_err(Into::into)?;
        let record = stored.map(read_streak).transpose()?;
        self.streak_status(ctx, learner, course, record.as_ref(), policy, now)
    }

    /// Every learner's streak in a course as of `now` (instructors of the course, admins,
    /// services), from the stored records: learner → status.
    pub fn class_streaks(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        now: crate::time::Instant,
    ) -> Result<BTreeMap<String, StreakStatus>> {
        let policy = self.policy_for_streaks()?;
        authorize_course(ctx, Operation::Read, ctx.tenant(), course)?;
        let mut by_learner = BTreeMap::new();
        for (key, value) in self.store.course_states(ctx, course, STREAK).map_err(Into::into)? {
            let record = read_streak(value)?;
            let status = self.streak_status(ctx, &key.learner, Some(course), Some(&record), policy, now)?;
            by_learner.insert(key.learner.as_str().to_owned(), status);
        }
        Ok(by_learner)
    }

    /// A learner's streak with its explained calendar (every date from the first activity to
    /// today), evaluated from the evidence the caller may read: what a streak tracker draws.
    pub fn streak_report(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        now: crate::time::Instant,
    ) -> Result<StreakReport> {
        let policy = self.policy_for_streaks()?;
        authorize_learner(ctx, Operation::Read, ctx.tenant(), learner, course)?;
        let activity: Vec<_> = self
            .store
            .learner_evidence(ctx, learner)
            .map_err(Into::into)?
            .iter()
            .filter(|e| e.course.as_ref() == course)
            .filter_map(streak_activity)
            .collect();
        evaluate_placed(&activity, policy, now, offset_of(now))
    }

    pub(super) fn streak_status(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        record: Option<&StreakRecord>,
        policy: &StreakPolicy,
        now: crate::time::Instant,
    ) -> Result<StreakStatus> {
        if let Some(status) = record.map(|r| r.status(policy, now)).transpose()?.flatten() {
            return Ok(status);
        }
        let report = match record {
            Some(_) => self.streak_report(ctx, learner, course, now)?,
            None => evaluate_placed::<FixedOffset>(&[], policy, now, offset_of(now))?,
        };
        Ok(StreakStatus::of_report(&report, record.map_or(0, |r| r.events)))
    }

    fn policy_for_streaks(&self) -> Result<&StreakPolicy> {
        self.streaks.as_ref().ok_or_else(|| {
            MasteryError::invalid("streak_policy", "this engine keeps no streaks: create it with a streak policy")
        })
    }
}
