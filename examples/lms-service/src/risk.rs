//! The at-risk model: features from a course's evidence (the core's leakage-safe
//! [`build_features`]), the deployed model and its version, and the retraining job the core's
//! [`RetrainPolicy`] drives.
//!
//! The service starts with a logistic model fitted on the core's synthetic cohort (the 16 activity
//! features); the job labels the service's own learners (struggling = mean score under one half
//! after the course's midpoint, features before it) and retrains on them when the policy says so
//! (enough new outcomes, or input drift measured by PSI).
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::sync::RwLock;

use mastery_core::risk::{
    activity_features, build_features, population_stability_index, synthetic_risk_data, ActivityEvent, LearnerActivity,
    RetrainDecision, RetrainPolicy, RiskModelFile, Submission, SYNTHETIC_FEATURES,
};
use mastery_core::time::Instant;
use mastery_core::{Evidence, MasteryError};
use ndarray::Array2;

type Result<T> = std::result::Result<T, MasteryError>;

/// Rows of a training table (features in [`activity_features`] order) and their labels.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Feature rows.
    pub rows: Vec<Vec<f64>>,
    /// 1: struggled; 0: did not.
    pub labels: Vec<f64>,
}

/// The deployed model and what it was trained on.
#[derive(Debug)]
pub struct RiskState {
    /// The deployed model.
    pub model: RiskModelFile,
    /// Its training table (the reference for drift).
    pub trained_on: Table,
    /// Labelled outcomes already seen at the last training.
    pub outcomes_at_training: usize,
    /// Retrainings so far.
    pub retrainings: u32,
}

/// The model, behind a lock the job swaps it under.
#[derive(Debug)]
pub struct Risk {
    /// The deployed model.
    pub state: RwLock<RiskState>,
    /// When to retrain.
    pub policy: RetrainPolicy,
}

fn matrix(rows: &[Vec<f64>]) -> Result<Array2<f64>> {
    let width = activity_features().len();
    Array2::from_shape_vec((rows.len(), width), rows.concat())
        .map_err(|e| MasteryError::InvalidInput { field: "rows".into(), reason: e.to_string() })
}

impl Risk {
    /// The starting model: logistic regression on the synthetic cohort's activity features.
    pub fn synthetic() -> Result<Self> {
        let (x, y) = synthetic_risk_data(2_000, 7)?;
        let names: Vec<String> = activity_features().into_iter().map(|f| f.name).collect();
        // The cohort's columns by name; one it lacks (days since last submission) stays missing.
        let columns: Vec<Option<usize>> =
            names.iter().map(|n| SYNTHETIC_FEATURES.iter().position(|s| s == n)).collect();
        let rows: Vec<Vec<f64>> =
            x.rows().into_iter().map(|r| columns.iter().map(|c| c.map_or(f64::NAN, |c| r[c])).collect()).collect();
        let model = RiskModelFile::train_logistic(
            "risk-logistic-synthetic-1",
            activity_features(),
            matrix(&rows)?.view(),
            &y,
            1.0,
        )?;
        Ok(Self {
            state: RwLock::new(RiskState {
                model,
                trained_on: Table { rows, labels: y },
                outcomes_at_training: 0,
                retrainings: 0,
            }),
            policy: RetrainPolicy::default(),
        })
    }

    /// The job's step: `table` is every labelled outcome now known. Retrains when the policy
    /// says so and the table can be fitted (both classes present); returns the decision.
    pub fn retrain(&self, table: &Table) -> Result<RetrainDecision> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let new_outcomes = table.rows.len().saturating_sub(state.outcomes_at_training);
        let mut psi = Vec::new();
        if !table.rows.is_empty() {
            for (i, spec) in activity_features().iter().enumerate() {
                let expected: Vec<f64> = state.trained_on.rows.iter().map(|r| r[i]).collect();
                let actual: Vec<f64> = table.rows.iter().map(|r| r[i]).collect();
                psi.push((spec.name.clone(), population_stability_index(&expected, &actual)?));
            }
        }
        let mut decision = self.policy.decide(new_outcomes, &psi);
        let classes = table.labels.contains(&1.0) && table.labels.contains(&0.0);
        if decision.retrain && !classes {
            decision.retrain = false;
            decision.reasons.push("not retrained: the outcomes have only one class".into());
        }
        if decision.retrain {
            let version = format!("risk-logistic-own-{}", state.retrainings + 1);
            state.model = RiskModelFile::train_logistic(
                &version,
                activity_features(),
                matrix(&table.rows)?.view(),
                &table.labels,
                1.0,
            )?;
            state.trained_on = table.clone();
            state.outcomes_at_training = table.rows.len();
            state.retrainings += 1;
        }
        Ok(decision)
    }
}

fn days(from: Instant, to: Instant) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

/// A course's evidence per learner as the core's activity record, days counted from the course's
/// first evidence: every record an event, every scored record a submission (0..=100).
pub fn activities(evidence: &[Evidence]) -> (Option<Instant>, BTreeMap<String, LearnerActivity>) {
    let start = evidence.iter().filter_map(|e| e.occurred_at).min();
    let mut out: BTreeMap<String, LearnerActivity> = BTreeMap::new();
    let Some(start) = start else { return (None, out) };
    for e in evidence {
        let Some(at) = e.occurred_at else { continue };
        let day = days(start, at);
        let a = out.entry(e.learner.as_str().to_owned()).or_default();
        a.events.get_or_insert_with(Vec::new).push(ActivityEvent { day, clicks: 1, seconds: 0.0 });
        if let Some(score) = e.normalized_score() {
            a.submissions.push(Submission {
                due_day: None,
                weight: 1.0,
                submitted_day: Some(day),
                score: Some(100.0 * score),
            });
        }
    }
    (Some(start), out)
}

/// Each learner's features at `cutoff` (days from the course's start).
pub fn features(activities: &BTreeMap<String, LearnerActivity>, cutoff: f64) -> Vec<(String, Vec<f64>)> {
    activities.iter().map(|(l, a)| (l.clone(), build_features(a, cutoff))).collect()
}

/// Labelled rows of a course: features before its midpoint, label 1 when the learner's mean
/// score after it is under one half (learners with no scored work after it are unlabelled).
pub fn labelled(evidence: &[Evidence]) -> Table {
    let (Some(start), activities) = activities(evidence) else { return Table::default() };
    let end = evidence.iter().filter_map(|e| e.occurred_at).max().map_or(0.0, |t| days(start, t));
    let mid = end / 2.0;
    let mut table = Table::default();
    for a in activities.values() {
        let after: Vec<f64> = a
            .submissions
            .iter()
            .filter(|s| s.submitted_day.is_some_and(|d| d >= mid))
            .filter_map(|s| s.score)
            .collect();
        if after.is_empty() {
            continue;
        }
        let mean = after.iter().sum::<f64>() / after.len() as f64;
        table.rows.push(build_features(a, mid));
        table.labels.push(f64::from(u8::from(mean < 50.0)));
    }
    table
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_policy_drives_retraining() {
        let risk = Risk::synthetic().unwrap();
        // 600 new outcomes (over the default 500): retrained, under a new version.
        let base = risk.state.read().unwrap().trained_on.clone();
        let table = Table { rows: base.rows[..600].to_vec(), labels: base.labels[..600].to_vec() };
        let decision = risk.retrain(&table).unwrap();
        assert!(decision.retrain && decision.reasons[0].contains("600 new labelled outcomes"), "{decision:?}");
        assert_eq!(risk.state.read().unwrap().model.model_version, "risk-logistic-own-1");
        // The same outcomes again: nothing new, no drift, no retraining.
        let decision = risk.retrain(&table).unwrap();
        assert!(!decision.retrain, "{decision:?}");
        // One class only: not retrained, and said so.
        let one = Table { rows: table.rows.clone(), labels: vec![0.0; 600] };
        let fresh = Risk::synthetic().unwrap();
        let decision = fresh.retrain(&one).unwrap();
        assert!(!decision.retrain && decision.reasons.iter().any(|r| r.contains("one class")), "{decision:?}");
    }
}
