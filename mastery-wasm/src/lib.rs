//! WebAssembly bindings: conversion and error mapping only; the logic lives in `mastery-core`.
//!
//! Arguments other than the `Framework`/`BktModel`/`RiskModel` instances arrive as plain
//! `JsValue`s and are read by `convert`, so a value of the wrong type is a `MasteryError` with
//! `code: "invalid_input"` naming the argument. A panic cannot be caught on wasm32 (it aborts the
//! instance), so the core validates every input instead: sizes, dates, depths and numbers.

mod convert;
mod engine;
mod error;
mod fairness;

use std::collections::BTreeMap;

use mastery_core as core;
use wasm_bindgen::prelude::*;

use convert::{
    bytes, count, data, flag, from_js, json_arg, number_arg, numbers, opt_strings, opt_text, optional, text, to_js,
};
use error::{invalid, to_js as err};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
export interface Competency {
  identifier: string;
  full_statement: string;
  human_coding_scheme: string | null;
  item_type: string | null;
  uri: string | null;
}
export interface Association {
  identifier: string;
  association_type: string;
  origin: string;
  destination: string;
  sequence_number: number | null;
}
export interface FrameworkSummary {
  identifier: string;
  title: string;
  items: number;
  associations: number;
  association_types: Record<string, number>;
  depth: number;
}
export type EvidenceKind = "response" | "assessment" | "attempt" | "submission" | "completion" | "mastery"
  | "view" | "navigation" | "session" | "other";
export interface Score { scaled?: number; raw?: number; min?: number; max?: number; }
export interface Evidence {
  id: string;
  learner: string;
  course?: string;
  competencies: string[];
  activity?: string;
  kind: EvidenceKind;
  score?: Score;
  success?: boolean;
  completion?: boolean;
  duration_seconds?: number;
  /** RFC 3339 with the offset it was recorded in. */
  occurred_at?: string;
  sequence?: number;
  source: "xapi" | "caliper" | "csv" | "host";
}
export interface Rejection { index: number; code: string; field?: string; reason: string; }
export interface IngestReport { accepted: Evidence[]; rejected: Rejection[]; }
export interface EvidenceMapping {
  competencies?: Record<string, string[]>;
  kinds?: Record<string, EvidenceKind>;
  courses?: Record<string, string>;
  default_time?: string;
}
export type CalculationMethod =
  | { method: "weighted_average"; weight: number }
  | { method: "decaying_average"; rate: number }
  | { method: "n_mastery"; n: number }
  | { method: "latest" } | { method: "highest" } | { method: "average" };
export interface ScoredEvidence { score: number; assessed_at: string; due_at?: string; }
export interface Rating { points: number; description: string; color: string; mastery: boolean; }
export interface ProficiencyScale { ratings: Rating[]; display_cut_points: number[]; }
export interface BktResponse {
  learner: string; skill: string; correct: boolean; order?: number; template?: string; prior_group?: string;
}
export interface BktPrediction { correct: number; state: number; }
export interface KnowledgeState { p_known: number; log_odds?: number | null; attempts: number; correct: number; }
export interface BktOptions {
  forgets?: boolean; multilearn?: boolean; multigs?: boolean; multiprior?: boolean; num_fits?: number; max_iter?: number;
  tol?: number; seed?: number; max_guess?: number | null; max_slip?: number | null; starts?: "mastery" | "py_bkt";
}
export interface Standing { value: number; mastered: boolean; }
export type RollupRule =
  | { rule: "all" }
  | { rule: "points"; required_points: number; points?: Record<string, number>; required?: string[] }
  | { rule: "weighted"; weights?: Record<string, number>; threshold: number }
  | { rule: "k_of_n"; k: number };
export interface RolledUp { competency: string; standing: Standing; children_mastered: number; children: number; }
export interface Recommendation {
  competency: string; human_coding_scheme: string | null; unblocks: number; current_value: number; reason: string;
}
export interface LevelCount { description: string; color: string; count: number; }
export interface CompetencySummary {
  competency: string; learners: number; mean: number; median: number; mastered_share: number; levels: LevelCount[];
}
export interface Evaluation { rmse: number; accuracy: number; auc: number; rows: number; }
export interface StreakActivity { at: string; zone: string; minutes?: number; points?: number; }
export type DayState = "met" | "frozen" | "repaired" | "rest" | "missed" | "pending_today" | "not_lived";
export interface StreakPolicy {
  goal?: { min_events?: number; min_minutes?: number; min_points?: number };
  period?: { period: "daily" } | { period: "weekly"; week_start: string };
  rest_days?: string[]; initial_freezes?: number; max_freezes?: number; earn_freeze_every?: number;
  repair?: { max_repairs: number; window: number } | null;
}
export interface StreakDay { date: string; state: DayState; events: number; minutes: number; points: number; streak: number; freezes_left: number; }
export interface StreakReport {
  current: number; longest: number; freezes_left: number; freezes_used: number; freezes_earned: number;
  days: StreakDay[]; period: { period: string };
}
export interface TrackerDay { date: string; state: DayState | null; events: number; }
export interface StreakTracker { current: number; longest: number; freezes_left: number; weeks: TrackerDay[][]; }
export interface Ring { competency: string; label: string; value: number; mastered: number; total: number; color: string; rating: string; link: string | null; }
export interface RingChart { title: string; metric: "share_mastered" | "mean_value"; rings: Ring[]; }
export interface Label { id: string; label: string; }
export interface HeatmapCell { value: number | null; color: string; text: string; }
export interface Heatmap { title: string; rows: Label[]; columns: Label[]; cells: HeatmapCell[][]; }
export interface ProgressView { series: { competency: string; label: string; points: { at: string; value: number; evidence: string }[] }[]; }
export interface Achievement {
  id: string; version?: number; name: string; description: string; criteria: string; image?: string;
  achievement_type?: "Badge" | "MicroCredential" | "Certificate" | "Competency" | "Course";
  alignments?: [string, string][]; valid_days?: number; rule: unknown;
}
export interface IssuerProfile { id: string; name: string; url?: string; }
export interface StatusEntry { status_list_credential: string; index: number; }
export interface Verification { valid: boolean; checks: { name: string; passed: boolean; detail: string }[]; credential: unknown; }
export interface VerifyOptions { now: string; expected_issuer?: string | null; revoked_indexes?: number[]; keys?: Record<string, string>; status_lists?: Record<string, unknown>; issuer_keys?: Record<string, string[]>; }
export interface CertificateTemplate { title?: string; presented_to?: string; accent?: string; text?: string; background?: string; font_family?: string; verify_label?: string; }
export interface Unbaked { version: "ob3" | "ob2"; text: string; }
export interface RiskReason { feature: string; value: number; contribution: number; text: string; }
export interface RiskExplanation { score: number; margin: number; base: number; contributions: number[]; reasons: RiskReason[]; }
export interface RiskBand { name: string; enter: number; exit: number; }
export type Role = { role: "learner" } | { role: "instructor"; courses: string[] } | { role: "admin" } | { role: "service" };
/** The authenticated caller of an `Engine` method. */
export interface Principal { tenant: string; user: string; roles: Role[]; enrolled?: string[]; }
export interface MasteryView {
  competency: string; score: number | null; rating: string | null; mastered: boolean; p_known: number | null;
  last_evidence: string | null; evidence_count: number;
}
export interface IngestOutcome { new: number; duplicates: number; rejected: Rejection[]; changes: number; }
export interface AccessContext { principal: Principal; }
export interface StateKey { learner: string; course?: string; namespace: string; name: string; }
/** A stored state: `{mastery: record}` (keep it as it is) or `{json: value}`. */
export type StateValue = { mastery: unknown } | { json: unknown };
export type Appended = "new" | "duplicate";
/**
 * A store written in JS for `new Engine(store)`: the `Store` trait's methods by the same
 * (snake_case) names, synchronous. The engine checks the access policy before every call; a
 * method that throws fails the engine call with code `store_error`. Evidence ids are unique per
 * (tenant, learner); everything is scoped by `ctx.principal.tenant`.
 */
export interface MasteryStore {
  /** All-or-nothing: if none of `evidence` is stored (nor repeated in it), append it and write `states`; else write nothing. One flag per record. */
  apply(ctx: AccessContext, evidence: Evidence[], states: [StateKey, StateValue][]): Appended[];
  known_evidence(ctx: AccessContext, evidence: Evidence[]): boolean[];
  append_evidence(ctx: AccessContext, evidence: Evidence): Appended;
  learner_evidence(ctx: AccessContext, learner: string): Evidence[];
  course_evidence(ctx: AccessContext, course: string): Evidence[];
  get_state(ctx: AccessContext, key: StateKey): StateValue | null;
  put_state(ctx: AccessContext, key: StateKey, value: StateValue): void;
  learner_states(ctx: AccessContext, learner: string, namespace: string): [StateKey, StateValue][];
  course_states(ctx: AccessContext, course: string, namespace: string): [StateKey, StateValue][];
}
/** Every error thrown by this package: a real Error with a stable `code`. */
export interface MasteryError extends Error { code: string; field: string | null; }
"#;

/// A competency framework imported from CASE JSON.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Framework {
    inner: core::Framework,
}

#[wasm_bindgen]
impl Framework {
    /// Imports a CASE 1.0 / 1.1 CFPackage (or the 2016 draft format).
    #[wasm_bindgen(js_name = fromCaseJson)]
    pub fn from_case_json(
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<Framework, JsValue> {
        core::Framework::from_case_json(&convert::text(&text, "text")?).map(|inner| Self { inner }).map_err(err)
    }

    /// CASE 1.1 JSON; unknown fields are kept under `extensions`.
    #[wasm_bindgen(js_name = toCaseJson)]
    pub fn to_case_json(&self) -> String {
        self.inner.to_case_json()
    }

    #[wasm_bindgen(getter)]
    pub fn identifier(&self) -> String {
        self.inner.identifier().to_owned()
    }

    #[wasm_bindgen(getter)]
    pub fn title(&self) -> String {
        self.inner.title().to_owned()
    }

    #[wasm_bindgen(unchecked_return_type = "FrameworkSummary")]
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.summary())
    }

    #[wasm_bindgen(unchecked_return_type = "Competency | null")]
    pub fn item(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] identifier: JsValue,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.inner.item(&text(&identifier, "identifier")?))
    }

    #[wasm_bindgen(js_name = findByCode, unchecked_return_type = "Competency | null")]
    pub fn find_by_code(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.inner.find_by_code(&text(&code, "code")?))
    }

    #[wasm_bindgen(unchecked_return_type = "Competency[]")]
    pub fn children(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] identifier: JsValue,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.inner.children(&text(&identifier, "identifier")?).map_err(err)?)
    }

    #[wasm_bindgen(unchecked_return_type = "Competency[]")]
    pub fn ancestors(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] identifier: JsValue,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.inner.ancestors(&text(&identifier, "identifier")?).map_err(err)?)
    }

    #[wasm_bindgen(unchecked_return_type = "Competency[]")]
    pub fn descendants(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] identifier: JsValue,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.inner.descendants(&text(&identifier, "identifier")?).map_err(err)?)
    }

    #[wasm_bindgen(unchecked_return_type = "Competency[]")]
    pub fn prerequisites(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] identifier: JsValue,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.inner.prerequisites(&text(&identifier, "identifier")?).map_err(err)?)
    }

    #[wasm_bindgen(js_name = topologicalOrder, unchecked_return_type = "Competency[]")]
    pub fn topological_order(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.topological_order())
    }

    #[wasm_bindgen(unchecked_return_type = "Association[]")]
    pub fn associations(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.associations())
    }

    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inner.items().len()
    }
}

/// A document argument: JSON text, or data serialised here.
fn document(value: &JsValue, field: &str) -> Result<String, JsValue> {
    match value.as_string() {
        Some(text) => Ok(text),
        None => Ok(convert::value(value, field)?.to_string()),
    }
}

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

/// A ready-made scale: `"canvas"` or `"khan"`.
#[wasm_bindgen(js_name = proficiencyScale, unchecked_return_type = "ProficiencyScale")]
pub fn proficiency_scale(#[wasm_bindgen(unchecked_param_type = "string")] name: JsValue) -> Result<JsValue, JsValue> {
    to_js(&core::mastery::ProficiencyScale::named(&text(&name, "name")?).map_err(err)?)
}

fn scale(value: &JsValue) -> Result<core::mastery::ProficiencyScale, JsValue> {
    core::mastery::ProficiencyScale::from_input(data(value, "scale")?).map_err(err)
}

/// The rating a score earns on a scale.
#[wasm_bindgen(js_name = ratingFor, unchecked_return_type = "Rating")]
pub fn rating_for(
    #[wasm_bindgen(unchecked_param_type = "ProficiencyScale")] scale_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] score: JsValue,
) -> Result<JsValue, JsValue> {
    let scale = scale(&scale_value)?;
    to_js(scale.rating_for(number_arg(&score, "score")?))
}

type Standings = BTreeMap<String, core::mastery::Standing>;

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

fn instant(value: &JsValue, field: &str) -> Result<core::time::Instant, JsValue> {
    core::time::parse_instant(&text(value, field)?, field).map_err(err)
}

fn report(value: &JsValue) -> Result<core::streak::StreakReport, JsValue> {
    data(value, "report")
}

/// The last `weeks` weeks of a report as a Monday-first calendar; `today` is `YYYY-MM-DD`.
#[wasm_bindgen(js_name = streakTracker, unchecked_return_type = "StreakTracker")]
pub fn streak_tracker(
    #[wasm_bindgen(unchecked_param_type = "StreakReport")] report_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] today: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] weeks: JsValue,
) -> Result<JsValue, JsValue> {
    let report = report(&report_value)?;
    let today: core::time::Date =
        text(&today, "today")?.parse().map_err(|_| invalid("today", "not a date (YYYY-MM-DD)"))?;
    let weeks = count(&weeks, "weeks")?;
    to_js(&core::dashboard::streak_tracker(&report, today, weeks).map_err(err)?)
}

/// Activity per date as weeks x weekdays.
#[wasm_bindgen(js_name = activityCalendar, unchecked_return_type = "Heatmap")]
pub fn activity_calendar(
    #[wasm_bindgen(unchecked_param_type = "StreakReport")] report_value: JsValue,
) -> Result<JsValue, JsValue> {
    to_js(&core::dashboard::activity_calendar(&report(&report_value)?, None))
}

/// Concentric rings per competency area (default: the framework's top level).
#[wasm_bindgen(js_name = ringChart, unchecked_return_type = "RingChart")]
pub fn ring_chart(
    framework: &Framework,
    #[wasm_bindgen(unchecked_param_type = "Record<string, Standing>")] standings: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ProficiencyScale")] scale_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string[] | null")] areas: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "\"share_mastered\" | \"mean_value\" | null")] metric: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let standings: Standings = data(&standings, "standings")?;
    let areas = opt_strings(areas, "areas")?;
    let metric: core::dashboard::RingMetric = optional(metric, "metric")?;
    let scale = scale(&scale_value)?;
    let chart =
        core::dashboard::ring_chart(&framework.inner, &standings, areas.as_deref(), metric, &scale).map_err(err)?;
    to_js(&chart)
}

/// Learners x competencies: `values[learner][competency]` on 0..1.
#[wasm_bindgen(js_name = classHeatmap, unchecked_return_type = "Heatmap")]
pub fn class_heatmap(
    #[wasm_bindgen(unchecked_param_type = "Record<string, Record<string, number>>")] values: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Label[]")] competencies: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ProficiencyScale")] scale_value: JsValue,
) -> Result<JsValue, JsValue> {
    let values: BTreeMap<String, BTreeMap<String, f64>> = data(&values, "values")?;
    let competencies: Vec<core::dashboard::Label> = data(&competencies, "competencies")?;
    to_js(&core::dashboard::class_heatmap(&values, &competencies, &scale(&scale_value)?))
}

/// Accessible SVG for a view model; `kind`: ring_chart, streak_tracker, heatmap or progress.
#[wasm_bindgen(js_name = renderSvg)]
pub fn render_svg(
    #[wasm_bindgen(unchecked_param_type = "string")] kind: JsValue,
    #[wasm_bindgen(unchecked_param_type = "RingChart | StreakTracker | Heatmap | ProgressView")] view: JsValue,
) -> Result<String, JsValue> {
    use core::dashboard as d;
    Ok(match text(&kind, "kind")?.as_str() {
        "ring_chart" => d::render_ring_chart(&data(&view, "view")?),
        "streak_tracker" => d::render_streak_tracker(&data(&view, "view")?),
        "heatmap" => d::render_heatmap(&data(&view, "view")?),
        "progress" => d::render_progress(&data(&view, "view")?),
        _ => return Err(invalid("kind", "must be ring_chart, streak_tracker, heatmap or progress")),
    })
}

/// Trajectories per competency (or, with `weeks`, competencies x weeks): `states` in the engine's
/// shape (`{competency, history: [{evidence, score, at}]}`).
#[wasm_bindgen(js_name = progressOverTime, unchecked_return_type = "ProgressView | Heatmap")]
pub fn progress_over_time(
    #[wasm_bindgen(
        unchecked_param_type = "{ competency: string; history: { evidence: string; score: number; at?: string }[] }[]"
    )]
    states: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ProficiencyScale")] scale_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string> | null")] labels: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "{ from?: string; to?: string } | null")] window: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "CalculationMethod | null")] method: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "boolean | null")] weeks: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let states: Vec<core::mastery::CompetencyState> = data(&states, "states")?;
    let labels: BTreeMap<String, String> = optional(labels, "labels")?;
    let window: core::dashboard::TimeWindow = optional(window, "window")?;
    let method: core::mastery::CalculationMethod = optional(method, "method")?;
    let weeks = flag(weeks, "weeks")?;
    let config =
        core::mastery::MasteryConfig { method, scale: scale(&scale_value)?, ..core::mastery::MasteryConfig::default() };
    if weeks {
        to_js(&core::dashboard::competency_weeks_heatmap(&states, &labels, window, &config))
    } else {
        to_js(&core::dashboard::progress_over_time(&states, &labels, window, &config))
    }
}

fn badge_version(version: Option<JsValue>) -> Result<core::credential::BadgeVersion, JsValue> {
    let version = opt_text(version, "version")?;
    core::credential::BadgeVersion::parse(version.as_deref().unwrap_or("ob3")).map_err(err)
}

fn unbaked(found: Option<(core::credential::BadgeVersion, String)>) -> Result<JsValue, JsValue> {
    to_js(&found.map(|(v, text)| serde_json::json!({"version": v.name(), "text": text})))
}

fn issuer_key(seed: &JsValue) -> Result<core::credential::IssuerKey, JsValue> {
    core::credential::IssuerKey::from_seed(&bytes(seed, "seed")?).map_err(err)
}

/// The `did:key` of the Ed25519 issuer key with this 32-byte seed.
#[wasm_bindgen(js_name = issuerDid)]
pub fn issuer_did(#[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue) -> Result<String, JsValue> {
    Ok(issuer_key(&seed)?.did())
}

/// An OB 3.0 OpenBadgeCredential for one award (the learner only as a salted hash).
#[wasm_bindgen(js_name = achievementCredential)]
#[allow(clippy::too_many_arguments)]
pub fn achievement_credential(
    #[wasm_bindgen(js_name = credentialId, unchecked_param_type = "string")] credential_id: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Achievement")] achievement: JsValue,
    #[wasm_bindgen(unchecked_param_type = "IssuerProfile")] issuer: JsValue,
    #[wasm_bindgen(js_name = learnerIdentifier, unchecked_param_type = "string")] learner_identifier: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] salt: JsValue,
    #[wasm_bindgen(js_name = issuedAt, unchecked_param_type = "string")] issued_at: JsValue,
    #[wasm_bindgen(js_name = evidenceUrls, unchecked_param_type = "string[] | null")] evidence_urls: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "StatusEntry | null")] status: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let achievement: core::credential::Achievement = data(&achievement, "achievement")?;
    let issuer: core::credential::IssuerProfile = data(&issuer, "issuer")?;
    let status: Option<core::credential::StatusEntry> = optional(status, "status")?;
    let issued_at = instant(&issued_at, "issued_at")?;
    let c = core::credential::achievement_credential(
        &text(&credential_id, "credential_id")?,
        &achievement,
        &issuer,
        &text(&learner_identifier, "learner_identifier")?,
        &text(&salt, "salt")?,
        issued_at,
        &opt_strings(evidence_urls, "evidence_urls")?.unwrap_or_default(),
        status.as_ref(),
    );
    to_js(&c)
}

/// Signs a credential (JSON text or an object) as a compact VC-JWT with the issuer's seed.
#[wasm_bindgen(js_name = signVcJwt)]
pub fn sign_vc_jwt(
    #[wasm_bindgen(unchecked_param_type = "string | object")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue,
) -> Result<String, JsValue> {
    let credential = json_arg(&credential, "credential")?;
    core::credential::sign_vc_jwt(&credential, &issuer_key(&seed)?).map_err(err)
}

/// Verifies a VC-JWT in the browser: every check (signature, schema, validity, status, issuer).
#[wasm_bindgen(js_name = verifyVcJwt, unchecked_return_type = "Verification")]
pub fn verify_vc_jwt(
    #[wasm_bindgen(unchecked_param_type = "string")] jwt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
    #[wasm_bindgen(js_name = expectedIssuer, unchecked_param_type = "string | null")] expected_issuer: Option<JsValue>,
    #[wasm_bindgen(js_name = revokedIndexes, unchecked_param_type = "number[] | null")] revoked_indexes: Option<
        JsValue,
    >,
) -> Result<JsValue, JsValue> {
    let revoked: Vec<u64> = optional(revoked_indexes, "revoked_indexes")?;
    let options = core::credential::VerifyOptions {
        expected_issuer: opt_text(expected_issuer, "expected_issuer")?,
        revoked_indexes: revoked.into_iter().collect(),
        ..core::credential::VerifyOptions::at(instant(&now, "now")?)
    };
    to_js(&core::credential::verify_vc_jwt(&text(&jwt, "jwt")?, &options).map_err(err)?)
}

/// Adds an `eddsa-rdfc-2022` Data Integrity proof to a credential (JSON text or an object);
/// returns the signed credential.
#[wasm_bindgen(js_name = signDataIntegrity)]
pub fn sign_data_integrity(
    #[wasm_bindgen(unchecked_param_type = "string | object")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] created: JsValue,
    #[wasm_bindgen(js_name = verificationMethod, unchecked_param_type = "string | null")] verification_method: Option<
        JsValue,
    >,
) -> Result<JsValue, JsValue> {
    let credential = json_arg(&credential, "credential")?;
    let key = issuer_key(&seed)?;
    let created = instant(&created, "created")?;
    let method = opt_text(verification_method, "verification_method")?;
    to_js(&core::credential::sign_data_integrity(&credential, &key, method.as_deref(), created).map_err(err)?)
}

/// Verifies a credential in either format (VC-JWT text or JSON with embedded proofs) in the
/// browser. `options`: `{now, expected_issuer, revoked_indexes, keys, status_lists}`.
#[wasm_bindgen(js_name = verifyCredential, unchecked_return_type = "Verification")]
pub fn verify_credential(
    #[wasm_bindgen(unchecked_param_type = "string | object")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "VerifyOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let credential = document(&credential, "credential")?;
    let options: core::credential::VerifyOptions = match options.as_string() {
        Some(_) => serde_json::from_value(json_arg(&options, "options")?)
            .map_err(|e| invalid("options", convert::shape(&e.to_string())))?,
        None => data(&options, "options")?,
    };
    to_js(&core::credential::verify_credential(&credential, &options).map_err(err)?)
}

/// RDFC-1.0 canonical N-Quads of a JSON-LD document (JSON text or an object; bundled contexts only).
#[wasm_bindgen]
pub fn canonicalize(
    #[wasm_bindgen(unchecked_param_type = "string | object")] document: JsValue,
) -> Result<String, JsValue> {
    core::credential::canonicalize(&json_arg(&document, "document")?).map_err(err)
}

fn certificate(
    credential: &JsValue,
    learner_name: &JsValue,
    verification_url: &JsValue,
    template: &JsValue,
) -> Result<(core::credential::Certificate, core::credential::CertificateTemplate), JsValue> {
    let credential = json_arg(credential, "credential")?;
    let cert = core::credential::Certificate::from_credential(
        &credential,
        &text(learner_name, "learner_name")?,
        &text(verification_url, "verification_url")?,
    )
    .map_err(err)?;
    let template: core::credential::CertificateTemplate = convert::data_or_default(template, "template")?;
    Ok((cert, template))
}

/// The certificate of a credential (JSON text or an object) as SVG text.
#[wasm_bindgen(js_name = certificateSvg)]
pub fn certificate_svg(
    #[wasm_bindgen(unchecked_param_type = "string | object")] credential: JsValue,
    #[wasm_bindgen(js_name = learnerName, unchecked_param_type = "string")] learner_name: JsValue,
    #[wasm_bindgen(js_name = verificationUrl, unchecked_param_type = "string")] verification_url: JsValue,
    #[wasm_bindgen(unchecked_param_type = "CertificateTemplate | null")] template: JsValue,
) -> Result<String, JsValue> {
    let (cert, template) = certificate(&credential, &learner_name, &verification_url, &template)?;
    core::credential::certificate_svg(&cert, &template).map_err(err)
}

/// The certificate of a credential (JSON text or an object) as PDF bytes, for download or print.
#[wasm_bindgen(js_name = certificatePdf)]
pub fn certificate_pdf(
    #[wasm_bindgen(unchecked_param_type = "string | object")] credential: JsValue,
    #[wasm_bindgen(js_name = learnerName, unchecked_param_type = "string")] learner_name: JsValue,
    #[wasm_bindgen(js_name = verificationUrl, unchecked_param_type = "string")] verification_url: JsValue,
    #[wasm_bindgen(unchecked_param_type = "CertificateTemplate | null")] template: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let (cert, template) = certificate(&credential, &learner_name, &verification_url, &template)?;
    core::credential::certificate_pdf(&cert, &template).map_err(err)
}

/// Bakes a credential (JSON text or JWT) into PNG bytes.
#[wasm_bindgen(js_name = bakePng)]
pub fn bake_png(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] png: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | null")] version: Option<JsValue>,
) -> Result<Vec<u8>, JsValue> {
    let version = badge_version(version)?;
    core::credential::bake_png(&bytes(&png, "png")?, &text(&credential, "credential")?, version).map_err(err)
}

/// `{version, text}` baked into PNG bytes, or null.
#[wasm_bindgen(js_name = unbakePng, unchecked_return_type = "Unbaked | null")]
pub fn unbake_png(#[wasm_bindgen(unchecked_param_type = "Uint8Array")] png: JsValue) -> Result<JsValue, JsValue> {
    unbaked(core::credential::unbake_png(&bytes(&png, "png")?).map_err(err)?)
}

/// Bakes a credential into SVG text.
#[wasm_bindgen(js_name = bakeSvg)]
pub fn bake_svg(
    #[wasm_bindgen(unchecked_param_type = "string")] svg: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] credential: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | null")] version: Option<JsValue>,
) -> Result<String, JsValue> {
    let version = badge_version(version)?;
    core::credential::bake_svg(&text(&svg, "svg")?, &text(&credential, "credential")?, version).map_err(err)
}

/// `{version, text}` baked into SVG text, or null.
#[wasm_bindgen(js_name = unbakeSvg, unchecked_return_type = "Unbaked | null")]
pub fn unbake_svg(#[wasm_bindgen(unchecked_param_type = "string")] svg: JsValue) -> Result<JsValue, JsValue> {
    unbaked(core::credential::unbake_svg(&text(&svg, "svg")?).map_err(err)?)
}

/// A trained at-risk model loaded from its model file: scores, explanations and bands in the
/// browser, bit for bit the same as in Python.
#[wasm_bindgen]
#[derive(Debug)]
pub struct RiskModel {
    inner: core::risk::RiskModelFile,
}

#[wasm_bindgen]
impl RiskModel {
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(#[wasm_bindgen(unchecked_param_type = "string")] text: JsValue) -> Result<RiskModel, JsValue> {
        core::risk::RiskModelFile::from_json(&convert::text(&text, "text")?).map(|inner| Self { inner }).map_err(err)
    }

    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    #[wasm_bindgen(getter, js_name = featureNames)]
    pub fn feature_names(&self) -> Vec<String> {
        self.inner.features.iter().map(|f| f.name.clone()).collect()
    }

    #[wasm_bindgen(getter, js_name = modelVersion)]
    pub fn model_version(&self) -> String {
        self.inner.model_version.clone()
    }

    /// P(at risk) for rows given flat and row-major (`rows.length` = rows × features; use NaN
    /// for a missing value).
    #[wasm_bindgen(js_name = predictProba)]
    pub fn predict_proba(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] rows: JsValue,
    ) -> Result<Vec<f64>, JsValue> {
        use core::risk::RiskModel as _;
        let rows = numbers(&rows, "rows", true)?;
        let width = self.inner.features.len();
        if width == 0 || !rows.len().is_multiple_of(width) {
            return Err(invalid("rows", format!("expected a multiple of {width} values")));
        }
        let x = ndarray::ArrayView2::from_shape((rows.len() / width, width), &rows)
            .map_err(|e| invalid("rows", e.to_string()))?;
        self.inner.predict_proba(x).map_err(err)
    }

    /// One row's score and its `top` reasons in words.
    #[wasm_bindgen(unchecked_return_type = "RiskExplanation")]
    pub fn explain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] row: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] top: JsValue,
    ) -> Result<JsValue, JsValue> {
        use core::risk::RiskModel as _;
        let row = numbers(&row, "row", true)?;
        to_js(&self.inner.explain(&row, count(&top, "top")?).map_err(err)?)
    }
}

/// The risk band for a score given the previous band (hysteresis); null below every band.
#[wasm_bindgen(js_name = riskBand)]
pub fn risk_band(
    #[wasm_bindgen(unchecked_param_type = "number")] score: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | null")] previous: Option<JsValue>,
    #[wasm_bindgen(unchecked_param_type = "RiskBand[] | null")] bands: JsValue,
) -> Result<Option<String>, JsValue> {
    let list: Option<Vec<core::risk::RiskBand>> = convert::data_or_default(&bands, "bands")?;
    let previous = opt_text(previous, "previous")?;
    core::risk::risk_band(number_arg(&score, "score")?, previous.as_deref(), list).map_err(err)
}
