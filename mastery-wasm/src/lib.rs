//! WebAssembly bindings: conversion and error mapping only; the logic lives in `mastery-core`.
//!
//! Arguments other than the `Framework`/`BktModel`/`RiskModel` instances arrive as plain
//! `JsValue`s and are read by `convert`, so a value of the wrong type is a `MasteryError` with
//! `code: "invalid_input"` naming the argument. A panic cannot be caught on wasm32 (it aborts the
//! instance), so the core validates every input instead: sizes, dates, depths and numbers.

// Route-sized builds leave some conversions unused.
#![cfg_attr(not(all(feature = "jsonld", feature = "dashboards", feature = "engine")), allow(dead_code))]

#[cfg(feature = "engine")]
mod async_engine;
mod convert;
#[cfg(feature = "credentials")]
mod credentials;
#[cfg(feature = "dashboards")]
mod dashboards;
#[cfg(feature = "engine")]
mod engine;
mod error;
#[cfg(feature = "engine")]
mod fairness;
#[cfg(feature = "engine")]
mod ingest;
#[cfg(feature = "engine")]
mod risk;

#[cfg(feature = "credentials")]
pub use credentials::*;
#[cfg(feature = "dashboards")]
pub use dashboards::*;
#[cfg(feature = "engine")]
pub use ingest::*;
#[cfg(feature = "engine")]
pub use risk::*;

use std::collections::BTreeMap;

use mastery_core as core;
use wasm_bindgen::prelude::*;

#[allow(unused_imports)]
use convert::{
    bytes, count, data, flag, from_js, json_arg, number_arg, numbers, opt_strings, opt_text, optional, text, to_js,
};
#[allow(unused_imports)]
use error::{invalid, to_js as err};

/// The view models' declarations, generated from the Rust types (`mastery-core/tests/typescript.rs`).
#[wasm_bindgen(typescript_custom_section)]
const GENERATED_TYPES: &str = include_str!("generated.d.ts");

/// The other types' declarations, by hand (the engine's view models are generated above).
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
export interface Evaluation { rmse: number; accuracy: number; auc: number; rows: number; }
export interface StreakActivity { at: string; zone: string; minutes?: number; points?: number; }
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
export interface EngineOptions {
  streaks?: StreakPolicy | null; achievements?: Achievement[] | null;
  /** CASE JSON text: subtree award rules, dashboard rings and next competencies. */
  framework?: string | null;
  /** A risk model file's JSON text (`RiskModel.toJson()`): `atRisk` and the class dashboard's alerts. */
  riskModel?: string | null;
  riskBands?: RiskBand[] | null;
}
export interface TrackerDay { date: string; state: DayState | null; events: number; }
export interface StreakTracker { current: number; longest: number; freezes_left: number; weeks: TrackerDay[][]; }
/** The view model each chart kind renders. */
export interface ChartViews { ring_chart: RingChart; streak_tracker: StreakTracker; heatmap: Heatmap; progress: ProgressView; }
export type ChartKind = keyof ChartViews;
export interface Achievement {
  id: string; version?: number; name: string; description: string; criteria: string; image?: string;
  achievement_type?: "Badge" | "MicroCredential" | "Certificate" | "Competency" | "Course";
  alignments?: [string, string][]; valid_days?: number; rule: unknown;
}
export interface IssuerProfile { id: string; name: string; url?: string; }
/** An OB 3.0 OpenBadgeCredential (a W3C Verifiable Credential), with or without proofs. */
export interface OpenBadgeCredential {
  "@context": string[]; id: string; type: string[]; name?: string;
  issuer: { id: string; type?: string | string[]; name?: string; url?: string };
  validFrom: string; validUntil?: string;
  credentialSubject: { type?: string | string[]; identifier?: unknown[]; achievement: { id: string; name: string; description?: string; [key: string]: unknown }; [key: string]: unknown };
  credentialStatus?: Record<string, unknown>;
  proof?: DataIntegrityProof | DataIntegrityProof[];
  [key: string]: unknown;
}
export interface DataIntegrityProof {
  type: string; cryptosuite: string; created: string; verificationMethod: string; proofPurpose: string; proofValue: string;
}
export interface Award {
  tenant?: string; learner: string; course?: string | null; achievement: string; version: number;
  credential_id: string; awarded_at: string; revoked?: string | null;
}
export interface LearnerFacts {
  scores?: Record<string, number>; mastered?: string[]; streak?: number; evidence?: Record<string, number>;
}
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
export interface AccessContext { principal: Principal; }
export interface StateKey { learner: string; course?: string; namespace: string; name: string; }
/** A stored state, typed by component (keep it as it is): `{mastery}`, `{streak}`, `{awards}`, `{activity}`, or `{json}`. */
export type StateValue = { mastery: unknown } | { streak: unknown } | { awards: unknown } | { activity: unknown } | { json: unknown };
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
  /** Optional: one answer per key, in order (the engine then reads a batch's states in one call). */
  get_states?(ctx: AccessContext, keys: StateKey[]): (StateValue | null)[];
  put_state(ctx: AccessContext, key: StateKey, value: StateValue): void;
  learner_states(ctx: AccessContext, learner: string, namespace: string): [StateKey, StateValue][];
  course_states(ctx: AccessContext, course: string, namespace: string): [StateKey, StateValue][];
  /** Optional, with `apply_since`: the store's read point, which the engine takes before a batch's reads. */
  read_version?(ctx: AccessContext): number;
  /** Optional: `apply`, unless another writer changed a learner of the batch after `since`; then it writes nothing and throws an error with `code: "store_conflict"` (the engine reads again). Engines in several processes over one store then lose nothing. */
  apply_since?(ctx: AccessContext, since: number, evidence: Evidence[], states: [StateKey, StateValue][]): Appended[];
  /** Optional: holds other writers off until `release_writes` (after two conflicts in one batch). */
  hold_writes?(ctx: AccessContext): boolean;
  release_writes?(ctx: AccessContext): void;
}
/** A store whose methods may answer with promises (e.g. over IndexedDB), for `AsyncEngine`: the
 * meaning and shapes of `MasteryStore`'s methods of the same names. */
export interface MasteryAsyncStore {
  get_states(ctx: AccessContext, keys: StateKey[]): (StateValue | null)[] | Promise<(StateValue | null)[]>;
  learner_evidence(ctx: AccessContext, learner: string): Evidence[] | Promise<Evidence[]>;
  learner_states(ctx: AccessContext, learner: string, namespace: string): [StateKey, StateValue][] | Promise<[StateKey, StateValue][]>;
  course_states(ctx: AccessContext, course: string, namespace: string): [StateKey, StateValue][] | Promise<[StateKey, StateValue][]>;
  apply(ctx: AccessContext, evidence: Evidence[], states: [StateKey, StateValue][]): Appended[] | Promise<Appended[]>;
  put_state(ctx: AccessContext, key: StateKey, value: StateValue): void | Promise<void>;
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
pub(crate) fn document(value: &JsValue, field: &str) -> Result<String, JsValue> {
    match value.as_string() {
        Some(text) => Ok(text),
        None => Ok(convert::value(value, field)?.to_string()),
    }
}

/// A ready-made scale: `"canvas"` or `"khan"`.
#[wasm_bindgen(js_name = proficiencyScale, unchecked_return_type = "ProficiencyScale")]
pub fn proficiency_scale(#[wasm_bindgen(unchecked_param_type = "string")] name: JsValue) -> Result<JsValue, JsValue> {
    to_js(&core::mastery::ProficiencyScale::named(&text(&name, "name")?).map_err(err)?)
}

pub(crate) fn scale(value: &JsValue) -> Result<core::mastery::ProficiencyScale, JsValue> {
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

pub(crate) type Standings = BTreeMap<String, core::mastery::Standing>;

pub(crate) fn instant(value: &JsValue, field: &str) -> Result<core::time::Instant, JsValue> {
    core::time::parse_instant(&text(value, field)?, field).map_err(err)
}
