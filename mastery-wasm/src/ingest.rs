//! Evidence ingest, BKT, calculation methods, roll-ups, class summaries and streaks.

#[allow(unused_imports)]
use std::collections::BTreeMap;

use mastery_core as core;
use wasm_bindgen::prelude::*;

#[allow(unused_imports)]
use crate::convert::{
    self, bytes, count, data, flag, from_js, json_arg, number_arg, numbers, opt_strings, opt_text, optional, text,
    to_js,
};
#[allow(unused_imports)]
use crate::error::{invalid, to_js as err};
#[allow(unused_imports)]
use crate::{document, instant, scale, Framework, Standings};

/// xAPI statement(s) → an ingest report.
#[wasm_bindgen(js_name = ingestXapi, unchecked_return_type = "IngestReport")]
pub fn ingest_xapi(
    #[wasm_bindgen(unchecked_param_type = "string | object")] text: JsValue,
    #[wasm_bindgen(unchecked_param_type = "EvidenceMapping | null")] mapping: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let text = document(&text, "text")?;
    let mapping: core::EvidenceMapping = optional(mapping, "mapping")?;
    to_js(&core::parse_xapi(&text, &mapping).map_err(err)?)
}

/// A Caliper 1.2 envelope, event or list of events → an ingest report.
#[wasm_bindgen(js_name = ingestCaliper, unchecked_return_type = "IngestReport")]
pub fn ingest_caliper(
    #[wasm_bindgen(unchecked_param_type = "string | object")] text: JsValue,
    #[wasm_bindgen(unchecked_param_type = "EvidenceMapping | null")] mapping: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let text = document(&text, "text")?;
    let mapping: core::EvidenceMapping = optional(mapping, "mapping")?;
    to_js(&core::parse_caliper(&text, &mapping).map_err(err)?)
}

/// Validates any Caliper 1.2 document; throws a `MasteryError` naming the first bad field.
#[wasm_bindgen(js_name = validateCaliper)]
pub fn validate_caliper(
    #[wasm_bindgen(unchecked_param_type = "string | object")] text: JsValue,
) -> Result<(), JsValue> {
    core::validate_caliper(&document(&text, "text")?).map_err(err)
}

/// A pyBKT-style CSV → an ingest report.
#[wasm_bindgen(js_name = ingestPybktCsv, unchecked_return_type = "IngestReport")]
pub fn ingest_pybkt_csv(#[wasm_bindgen(unchecked_param_type = "string")] text: JsValue) -> Result<JsValue, JsValue> {
    to_js(&core::parse_pybkt_csv(&convert::text(&text, "text")?).map_err(err)?)
}

/// A fitted BKT model (pyBKT semantics); load one trained in Python with `fromJson`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct BktModel {
    inner: core::mastery::BktModel,
}

#[wasm_bindgen]
impl BktModel {
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(text: &str) -> Result<BktModel, JsValue> {
        core::mastery::BktModel::from_json(text).map(|inner| Self { inner }).map_err(err)
    }

    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// Fits one model per skill (single-threaded).
    pub fn fit(
        #[wasm_bindgen(unchecked_param_type = "BktResponse[]")] rows: JsValue,
        #[wasm_bindgen(unchecked_param_type = "BktOptions | null")] options: Option<JsValue>,
    ) -> Result<BktModel, JsValue> {
        let rows: Vec<core::mastery::Response> = from_js(rows)?;
        let options: core::mastery::BktOptions = from_js(options.unwrap_or(JsValue::UNDEFINED))?;
        core::mastery::BktModel::fit(&rows, &options).map(|inner| Self { inner }).map_err(err)
    }

    /// k-fold cross-validation by learner: per skill, an evaluation per fold.
    #[wasm_bindgen(unchecked_return_type = "Record<string, Evaluation[]>")]
    pub fn crossvalidate(
        #[wasm_bindgen(unchecked_param_type = "BktResponse[]")] rows: JsValue,
        #[wasm_bindgen(unchecked_param_type = "BktOptions | null")] options: Option<JsValue>,
        folds: usize,
    ) -> Result<JsValue, JsValue> {
        let rows: Vec<core::mastery::Response> = from_js(rows)?;
        let options: core::mastery::BktOptions = from_js(options.unwrap_or(JsValue::UNDEFINED))?;
        to_js(&core::mastery::BktModel::crossvalidate(&rows, &options, folds).map_err(err)?)
    }

    #[wasm_bindgen(unchecked_return_type = "BktPrediction[]")]
    pub fn predict(
        &self,
        #[wasm_bindgen(unchecked_param_type = "BktResponse[]")] rows: JsValue,
    ) -> Result<JsValue, JsValue> {
        let rows: Vec<core::mastery::Response> = from_js(rows)?;
        to_js(&self.inner.predict(&rows).map_err(err)?)
    }

    /// One O(1) online step; pass `null` as the state of a learner's first answer.
    #[wasm_bindgen(unchecked_return_type = "KnowledgeState")]
    pub fn update(
        &self,
        skill: &str,
        #[wasm_bindgen(unchecked_param_type = "KnowledgeState | null")] state: JsValue,
        correct: bool,
        template: Option<String>,
        #[wasm_bindgen(js_name = priorGroup)] prior_group: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let model = self.inner.skill(skill).map_err(err)?;
        let first = model.initial_state_in(prior_group.as_deref());
        let mut state = from_js::<Option<core::mastery::KnowledgeState>>(state)?.unwrap_or(first);
        model.update(&mut state, correct, template.as_deref());
        to_js(&state)
    }

    /// P(correct) on the next attempt.
    #[wasm_bindgen(js_name = predictCorrect)]
    pub fn predict_correct(
        &self,
        skill: &str,
        #[wasm_bindgen(unchecked_param_type = "KnowledgeState | null")] state: JsValue,
        template: Option<String>,
    ) -> Result<f64, JsValue> {
        let model = self.inner.skill(skill).map_err(err)?;
        let state = from_js::<Option<core::mastery::KnowledgeState>>(state)?.unwrap_or(model.initial_state());
        Ok(model.predict_correct(&state, template.as_deref()))
    }
}

/// A Canvas calculation method over scored evidence; `null` when it yields no result.
#[wasm_bindgen]
pub fn calculate(
    #[wasm_bindgen(unchecked_param_type = "CalculationMethod")] method: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ScoredEvidence[]")] evidence: JsValue,
    #[wasm_bindgen(js_name = masteryPoints, unchecked_param_type = "number")] mastery_points: JsValue,
    #[wasm_bindgen(unchecked_param_type = "\"assessed\" | \"due\" | null")] order: Option<JsValue>,
) -> Result<Option<f64>, JsValue> {
    let method: core::mastery::CalculationMethod = data(&method, "method")?;
    let evidence: Vec<core::mastery::ScoredEvidence> = data(&evidence, "evidence")?;
    let mastery_points = number_arg(&mastery_points, "mastery_points")?;
    let order: core::mastery::EvidenceOrder = optional(order, "order")?;
    method.calculate(&evidence, mastery_points, order).map_err(err)
}

/// The learner's next competencies: not mastered, prerequisites mastered, ranked.
#[wasm_bindgen(unchecked_return_type = "Recommendation[]")]
pub fn frontier(
    framework: &Framework,
    #[wasm_bindgen(unchecked_param_type = "Record<string, Standing>")] standings: JsValue,
) -> Result<JsValue, JsValue> {
    let standings: Standings = data(&standings, "standings")?;
    to_js(&core::mastery::frontier(&framework.inner, &standings))
}

/// Parents' standings from their children.
#[wasm_bindgen(js_name = rollUp, unchecked_return_type = "Record<string, RolledUp>")]
pub fn roll_up(
    framework: &Framework,
    #[wasm_bindgen(unchecked_param_type = "Record<string, Standing>")] standings: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, RollupRule> | null")] rules: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "RollupRule | null")] default_rule: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let standings: Standings = data(&standings, "standings")?;
    let rules: BTreeMap<String, core::mastery::RollupRule> = optional(rules, "rules")?;
    let default_rule: Option<core::mastery::RollupRule> = optional(default_rule, "default")?;
    let result = core::mastery::roll_up(
        &framework.inner,
        &standings,
        &rules,
        &default_rule.unwrap_or(core::mastery::RollupRule::All),
    )
    .map_err(err)?;
    to_js(&result)
}

/// Per-competency class summary: `scores[learner][competency]` on the scale's points.
#[wasm_bindgen(js_name = classSummary, unchecked_return_type = "CompetencySummary[]")]
pub fn class_summary(
    #[wasm_bindgen(unchecked_param_type = "Record<string, Record<string, number>>")] scores: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ProficiencyScale")] scale_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string[] | null")] competencies: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let scores: BTreeMap<String, BTreeMap<String, f64>> = data(&scores, "scores")?;
    let scale = scale(&scale_value)?;
    let competencies = opt_strings(competencies, "competencies")?;
    to_js(&core::mastery::class_summary(&scores, &scale, competencies.as_deref()))
}

/// RMSE, accuracy and AUC of probabilities against 0/1 outcomes.
#[wasm_bindgen(unchecked_return_type = "Evaluation")]
pub fn evaluate(
    #[wasm_bindgen(unchecked_param_type = "number[] | Float64Array")] predicted: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number[] | Uint8Array")] outcomes: JsValue,
) -> Result<JsValue, JsValue> {
    let predicted = numbers(&predicted, "predicted", false)?;
    let outcomes: Vec<bool> = match outcomes.dyn_ref::<js_sys::Uint8Array>() {
        Some(a) => a.to_vec().iter().map(|o| *o == 1).collect(),
        None => numbers(&outcomes, "outcomes", false)?.iter().map(|o| *o == 1.0).collect(),
    };
    to_js(&core::mastery::evaluate(&predicted, &outcomes).map_err(err)?)
}

/// The streak and its explained calendar.
#[wasm_bindgen(js_name = evaluateStreak, unchecked_return_type = "StreakReport")]
pub fn evaluate_streak(
    #[wasm_bindgen(unchecked_param_type = "StreakActivity[]")] activities: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
    #[wasm_bindgen(js_name = currentZone, unchecked_param_type = "string")] current_zone: JsValue,
    #[wasm_bindgen(unchecked_param_type = "StreakPolicy | null")] policy: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let activities: Vec<core::streak::Activity> = data(&activities, "activities")?;
    let policy: core::streak::StreakPolicy = optional(policy, "policy")?;
    let now = instant(&now, "now")?;
    let zone = text(&current_zone, "current_zone")?;
    to_js(&core::streak::evaluate_streak(&activities, &policy, now, &zone).map_err(err)?)
}
