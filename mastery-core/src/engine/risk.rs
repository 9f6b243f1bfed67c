//! At-risk scoring from stored state: the engine keeps each learner's activity record per course
//! inside ingest ([`crate::risk::ActivityRecord`]), and a class's alerts are its model run over
//! those records and the learners' mastery records, with reasons in words.

use std::collections::BTreeMap;

use super::{read_activity, read_record, Engine, NAMESPACE, RISK};
use crate::access::{authorize_course, AccessContext, Operation};
use crate::error::{MasteryError, Result};
use crate::ids::CourseId;
use crate::mastery::MasteryRecord;
use crate::risk::{risk_alerts, Alert, RiskBands, RiskModelFile, ENGINE_FEATURES};
use crate::store::Store;
use crate::time::Instant;

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
        let mut rows = Vec::new();
        for (key, value) in self.store.course_states(ctx, course, RISK).map_err(Into::into)? {
            let record = read_activity(value)?;
            let learner = key.learner.as_str().to_owned();
            let records = mastery.get(&learner).map_or(&[][..], Vec::as_slice);
            rows.push((learner, record.row(&scoring.model.features, at, records)));
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(rows)
    }

    /// The class's learners at risk at `at`, highest score first, each with its `top` reasons in
    /// words (never a protected attribute): the model over the stored activity and mastery.
    pub fn at_risk(&self, ctx: &AccessContext, course: &CourseId, at: Instant, top: usize) -> Result<Vec<Alert>> {
        let rows = self.risk_features(ctx, course, at)?;
        let scoring = self.risk_scoring()?;
        let model = &scoring.model;
        risk_alerts(model, &model.model_version, &rows, &scoring.bands, &BTreeMap::new(), top, &at.to_rfc3339(), None)
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
