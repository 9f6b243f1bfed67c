//! The fairness audit in the browser.

use mastery_core as core;
use wasm_bindgen::prelude::*;

use crate::convert::to_js;
use crate::error::to_js as err;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
export interface GroupFairness {
  group: string; count: number; auc: number | null; selection_rate: number;
  false_positive_rate: number | null; false_negative_rate: number | null; mean_score: number; base_rate: number;
}
export interface FairnessGaps {
  auc: number | null; selection_rate: number; false_positive_rate: number | null;
  false_negative_rate: number | null; mean_score: number; base_rate: number; calibration: number;
}
export interface FairnessReport { threshold: number; groups: GroupFairness[]; gaps: FairnessGaps; }
"#;

/// Per group of `groups` (one per row): count, AUC, selection rate at `threshold`,
/// false-positive and false-negative rates, mean score and base rate; and the gaps between the
/// groups (max − min).
#[wasm_bindgen(js_name = fairnessReport, unchecked_return_type = "FairnessReport")]
pub fn fairness_report(
    scores: &[f64],
    labels: &[f64],
    groups: Vec<String>,
    threshold: f64,
) -> Result<JsValue, JsValue> {
    to_js(&core::risk::fairness_report(scores, labels, &groups, threshold).map_err(err)?)
}
