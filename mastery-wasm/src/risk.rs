//! The at-risk model: scores, explanations and bands.

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
        self.inner.predict_proba(self.table(&rows)?).map_err(err)
    }

    /// Every row's score and its `top` reasons (rows flat and row-major, as for
    /// `predictProba`), computed together: many times faster than `explain` row by row.
    #[wasm_bindgen(js_name = explainMany, unchecked_return_type = "RiskExplanation[]")]
    pub fn explain_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] rows: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] top: JsValue,
    ) -> Result<JsValue, JsValue> {
        use core::risk::RiskModel as _;
        let rows = numbers(&rows, "rows", true)?;
        to_js(&self.inner.explain_many(self.table(&rows)?, count(&top, "top")?).map_err(err)?)
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

impl RiskModel {
    /// Flat row-major values as a table of the model's width.
    fn table<'a>(&self, rows: &'a [f64]) -> Result<ndarray::ArrayView2<'a, f64>, JsValue> {
        let width = self.inner.features.len();
        if width == 0 || !rows.len().is_multiple_of(width) {
            return Err(invalid("rows", format!("expected a multiple of {width} values")));
        }
        ndarray::ArrayView2::from_shape((rows.len() / width, width), rows).map_err(|e| invalid("rows", e.to_string()))
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
