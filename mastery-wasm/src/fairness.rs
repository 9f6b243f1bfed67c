//! The fairness audit in the browser.

use mastery_core as core;
use wasm_bindgen::prelude::*;

use crate::convert::{data, number_arg, numbers, to_js};
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
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] scores: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] labels: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string[]")] groups: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] threshold: JsValue,
) -> Result<JsValue, JsValue> {
    // Read here, not by wasm-bindgen's glue (which throws a plain TypeError on a wrong type).
    let scores = numbers(&scores, "scores", false)?;
    let labels = numbers(&labels, "labels", false)?;
    let groups: Vec<String> = data(&groups, "groups")?;
    let threshold = number_arg(&threshold, "threshold")?;
    to_js(&core::risk::fairness_report(&scores, &labels, &groups, threshold).map_err(err)?)
}
