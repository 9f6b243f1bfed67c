//! WebAssembly bindings: conversion and error mapping only; the logic lives in `mastery-core`.

mod convert;
mod error;

use mastery_core as core;
use wasm_bindgen::prelude::*;

use convert::{from_js, to_js};
use error::to_js as err;

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
    pub fn from_case_json(text: &str) -> Result<Framework, JsValue> {
        core::Framework::from_case_json(text).map(|inner| Self { inner }).map_err(err)
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
    pub fn item(&self, identifier: &str) -> Result<JsValue, JsValue> {
        to_js(&self.inner.item(identifier))
    }

    #[wasm_bindgen(js_name = findByCode, unchecked_return_type = "Competency | null")]
    pub fn find_by_code(&self, code: &str) -> Result<JsValue, JsValue> {
        to_js(&self.inner.find_by_code(code))
    }

    #[wasm_bindgen(unchecked_return_type = "Competency[]")]
    pub fn children(&self, identifier: &str) -> Result<JsValue, JsValue> {
        to_js(&self.inner.children(identifier).map_err(err)?)
    }

    #[wasm_bindgen(unchecked_return_type = "Competency[]")]
    pub fn ancestors(&self, identifier: &str) -> Result<JsValue, JsValue> {
        to_js(&self.inner.ancestors(identifier).map_err(err)?)
    }

    #[wasm_bindgen(unchecked_return_type = "Competency[]")]
    pub fn descendants(&self, identifier: &str) -> Result<JsValue, JsValue> {
        to_js(&self.inner.descendants(identifier).map_err(err)?)
    }

    #[wasm_bindgen(unchecked_return_type = "Competency[]")]
    pub fn prerequisites(&self, identifier: &str) -> Result<JsValue, JsValue> {
        to_js(&self.inner.prerequisites(identifier).map_err(err)?)
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

/// xAPI statement(s) → an ingest report.
#[wasm_bindgen(js_name = ingestXapi, unchecked_return_type = "IngestReport")]
pub fn ingest_xapi(
    text: &str,
    #[wasm_bindgen(unchecked_param_type = "EvidenceMapping | null")] mapping: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let mapping: core::EvidenceMapping = from_js(mapping.unwrap_or(JsValue::UNDEFINED))?;
    to_js(&core::parse_xapi(text, &mapping).map_err(err)?)
}

/// A Caliper 1.2 envelope, event or list of events → an ingest report.
#[wasm_bindgen(js_name = ingestCaliper, unchecked_return_type = "IngestReport")]
pub fn ingest_caliper(
    text: &str,
    #[wasm_bindgen(unchecked_param_type = "EvidenceMapping | null")] mapping: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let mapping: core::EvidenceMapping = from_js(mapping.unwrap_or(JsValue::UNDEFINED))?;
    to_js(&core::parse_caliper(text, &mapping).map_err(err)?)
}

/// Validates any Caliper 1.2 document; throws a `MasteryError` naming the first bad field.
#[wasm_bindgen(js_name = validateCaliper)]
pub fn validate_caliper(text: &str) -> Result<(), JsValue> {
    core::validate_caliper(text).map_err(err)
}

/// A pyBKT-style CSV → an ingest report.
#[wasm_bindgen(js_name = ingestPybktCsv, unchecked_return_type = "IngestReport")]
pub fn ingest_pybkt_csv(text: &str) -> Result<JsValue, JsValue> {
    to_js(&core::parse_pybkt_csv(text).map_err(err)?)
}
