//! At-risk scoring from stored state: the engine keeps each learner's activity record per course
//! inside ingest ([`crate::risk::ActivityRecord`]), and a class's alerts are its model run over
//! those records and the learners' mastery records, with reasons in words.
#![warn(missing_docs)]

use std::collections::BTreeMap;

use super::{prediction_key, read_activity, read_record, Engine, NAMESPACE, PREDICTION, RISK};
use crate::access::{authorize_course, AccessContext, Operation};
use crate::error::{MasteryError, Result};
use crate::ids::{CourseId, UserId};
use crate::mastery::MasteryRecord;
use crate::risk::{risk_alerts, Alert, PredictionRecord, RiskBands, RiskModelFile, RiskPrediction, ENGINE_FEATURES};
use crate::store::{StateKey, StateValue, Store};
use crate::time::Instant;

/// What the engine reads to score a class: each learner's feature row (sorted by learner) and
/// the band recorded for them by the last [`Engine::record_risk`].
struct ClassRisk {
    rows: Vec<(String, Vec<f64>)>,
    bands: BTreeMap<String, String>,
}

/// A stored prediction (typed, or JSON a host store serialised).
fn read_prediction(value: StateValue) -> Result<RiskPrediction> {
    match value {
        StateValue::Prediction(prediction) => Ok(prediction),
        StateValue::Json(value) => serde_json::from_value(value)
            .map_err(|_| MasteryError::Store { reason: "stored risk prediction is unreadable".into() }),
        _ => Err(MasteryError::Store { reason: "a prediction key holds another component's record".into() }),
    }
}

/// The model an engine scores its learners with, and the alert bands.
pub(super) struct RiskScoring {
    pub model: RiskModelFile,
    pub bands: RiskBands,
}

impl<S: Store> Engine<S> {
    /// Keeps each learner's activity per course inside ingest and scores classes with `model`
    /// ([`Engine::at_risk`]); `bands` default to high 0.7/0.6 and medium 0.4/0.3. The model's
    /// features are matched by name with those the engine computes ([`ENGINE_FEATURES`]; the
    /// others are missing values): a model none of whose features the engine computes is an
    /// `invalid_input` error.
    pub fn with_risk(mut self, model: RiskModelFile, bands: Option<RiskBands>) -> Result<Self> {
        if !model.features.iter().any(|f| ENGINE_FEATURES.contains(&f.name.as_str())) {
            return Err(MasteryError::invalid(
                "risk_model",
                format!("none of its features is one the engine computes ({})", ENGINE_FEATURES.join(", ")),
            ));
        }
        self.risk = Some(RiskScoring { model, bands: bands.unwrap_or_default() });
        Ok(self)
    }

    /// Every learner's features in a course at `at`, in the model's feature order, from stored
    /// state (learner → row; instructors of the course, admins, services).
    pub fn risk_features(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        at: Instant,
    ) -> Result<Vec<(String, Vec<f64>)>> {
        Ok(self.class_risk(ctx, course, at)?.rows)
    }

    /// The class's learners at risk at `at`, highest score first, each with its `top` reasons in
    /// words (never a protected attribute): the model over the stored activity and mastery. A
    /// learner's band recorded by [`Engine::record_risk`] is kept until the score falls below
    /// the band's exit (hysteresis); nothing is written.
    pub fn at_risk(&self, ctx: &AccessContext, course: &CourseId, at: Instant, top: usize) -> Result<Vec<Alert>> {
        let class = self.class_risk(ctx, course, at)?;
        let scoring = self.risk_scoring()?;
        let model = &scoring.model;
        risk_alerts(model, &model.model_version, &class.rows, &scoring.bands, &class.bands, top, &at.to_rfc3339(), None)
    }

    /// Scores the class at `at` as [`Engine::at_risk`] does and records each learner's band and
    /// score (one store commit), so the next scoring keeps a learner in a band until the score
    /// falls below its exit: what a host's nightly job calls before alerting instructors.
    /// Instructors of the course, admins and services only.
    pub fn record_risk(&self, ctx: &AccessContext, course: &CourseId, at: Instant, top: usize) -> Result<Vec<Alert>> {
        let scoring = self.risk_scoring()?;
        authorize_course(ctx, Operation::Write, ctx.tenant(), course)?;
        let class = self.class_risk(ctx, course, at)?;
        let model = &scoring.model;
        let mut log: Vec<PredictionRecord> = Vec::with_capacity(class.rows.len());
        let alerts = risk_alerts(
            model,
            &model.model_version,
            &class.rows,
            &scoring.bands,
            &class.bands,
            top,
            &at.to_rfc3339(),
            Some(&mut log),
        )?;
        let states: Vec<(StateKey, StateValue)> = log
            .into_iter()
            .map(|p| {
                let key = prediction_key(&UserId::new(&p.learner), course);
                let prediction =
                    RiskPrediction { band: p.band, score: p.score, at: p.at, model_version: p.model_version };
                (key, StateValue::Prediction(prediction))
            })
            .collect();
        self.store.apply(ctx, &[], &states).map_err(Into::into)?;
        Ok(alerts)
    }

    /// One read of the class's risk namespace (and of its mastery records when the model uses
    /// them): every learner's feature row and recorded band.
    fn class_risk(&self, ctx: &AccessContext, course: &CourseId, at: Instant) -> Result<ClassRisk> {
        let scoring = self.risk_scoring()?;
        authorize_course(ctx, Operation::Read, ctx.tenant(), course)?;
        let mut mastery: BTreeMap<String, Vec<MasteryRecord>> = BTreeMap::new();
        let wants_mastery =
            scoring.model.features.iter().any(|f| f.name == "competencies_mastered" || f.name == "mean_p_known");
        if wants_mastery {
            for (key, value) in self.store.course_states(ctx, course, NAMESPACE).map_err(Into::into)? {
                let record = read_record(&key.name, value, &self.config)?;
                mastery.entry(key.learner.as_str().to_owned()).or_default().push(record);
            }
        }
        let mut class = ClassRisk { rows: Vec::new(), bands: BTreeMap::new() };
        for (key, value) in self.store.course_states(ctx, course, RISK).map_err(Into::into)? {
            let learner = key.learner.as_str().to_owned();
            if key.name == PREDICTION {
                if let Some(band) = read_prediction(value)?.band {
                    class.bands.insert(learner, band);
                }
                continue;
            }
            let record = read_activity(value)?;
            let records = mastery.get(&learner).map_or(&[][..], Vec::as_slice);
            class.rows.push((learner, record.row(&scoring.model.features, at, records)));
        }
        class.rows.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(class)
    }

    /// The risk model's feature names, in order (empty without a model).
    pub fn risk_feature_names(&self) -> Vec<String> {
        self.risk.as_ref().map_or_else(Vec::new, |r| r.model.features.iter().map(|f| f.name.clone()).collect())
    }

    fn risk_scoring(&self) -> Result<&RiskScoring> {
        self.risk.as_ref().ok_or_else(|| {
            MasteryError::invalid("risk_model", "this engine scores no risk: create it with a risk model")
        })
    }
}
