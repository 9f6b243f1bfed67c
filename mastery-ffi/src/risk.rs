//! At-risk models over uniffi: load a model file trained anywhere, score, explain, band.

use std::sync::Arc;

use mastery_core as core;

use crate::error::MasteryError;
use core::risk::RiskModel as _;

type Result<T> = std::result::Result<T, MasteryError>;

/// One reason behind a score.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RiskReason {
    pub feature: String,
    pub value: f64,
    pub contribution: f64,
    pub text: String,
}

/// A score and why.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RiskExplanation {
    pub score: f64,
    pub margin: f64,
    pub base: f64,
    pub contributions: Vec<f64>,
    pub reasons: Vec<RiskReason>,
}

/// A band entered at `enter` and kept while the score stays at or above `exit`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RiskBand {
    pub name: String,
    pub enter: f64,
    pub exit: f64,
}

/// A trained at-risk model (booster or logistic baseline) from its model file.
#[derive(Debug, uniffi::Object)]
pub struct RiskModel {
    inner: core::risk::RiskModelFile,
}

#[uniffi::export]
impl RiskModel {
    #[uniffi::constructor]
    pub fn from_json(text: String) -> Result<Arc<Self>> {
        crate::error::guard(|| Ok(Arc::new(Self { inner: core::risk::RiskModelFile::from_json(&text)? })))
    }

    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    pub fn feature_names(&self) -> Vec<String> {
        self.inner.features.iter().map(|f| f.name.clone()).collect()
    }

    pub fn model_version(&self) -> String {
        self.inner.model_version.clone()
    }

    /// P(at risk) per row (NaN for a missing value).
    pub fn predict_proba(&self, rows: Vec<Vec<f64>>) -> Result<Vec<f64>> {
        crate::error::guard(|| {
            let flat = self.table(&rows)?;
            let x = ndarray::ArrayView2::from_shape((rows.len(), self.inner.features.len()), &flat)
                .map_err(|e| core::MasteryError::InvalidInput { field: "rows".into(), reason: e.to_string() })?;
            Ok(self.inner.predict_proba(x)?)
        })
    }

    /// One row's score with its `top` reasons in words.
    pub fn explain(&self, row: Vec<f64>, top: u32) -> Result<RiskExplanation> {
        crate::error::guard(|| Ok(explanation(self.inner.explain(&row, top as usize)?)))
    }

    /// Every row's score with its `top` reasons, computed together (many times faster than
    /// row by row for the booster).
    pub fn explain_many(&self, rows: Vec<Vec<f64>>, top: u32) -> Result<Vec<RiskExplanation>> {
        crate::error::guard(|| {
            let flat = self.table(&rows)?;
            let x = ndarray::ArrayView2::from_shape((rows.len(), self.inner.features.len()), &flat)
                .map_err(|e| core::MasteryError::InvalidInput { field: "rows".into(), reason: e.to_string() })?;
            Ok(self.inner.explain_many(x, top as usize)?.into_iter().map(explanation).collect())
        })
    }
}

impl RiskModel {
    /// The rows as one row-major table, each checked against the model's width.
    fn table(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        let width = self.inner.features.len();
        if let Some(bad) = rows.iter().position(|r| r.len() != width) {
            return Err(core::MasteryError::InvalidInput {
                field: format!("rows[{bad}]"),
                reason: format!("has {} values; the model expects {width}", rows[bad].len()),
            }
            .into());
        }
        Ok(rows.concat())
    }
}

fn explanation(e: core::risk::Explanation) -> RiskExplanation {
    RiskExplanation {
        score: e.score,
        margin: e.margin,
        base: e.base,
        contributions: e.contributions,
        reasons: e
            .reasons
            .into_iter()
            .map(|r| RiskReason { feature: r.feature, value: r.value, contribution: r.contribution, text: r.text })
            .collect(),
    }
}

/// The band for `score` given the previous band (hysteresis); none below every band. Empty
/// `bands` means the defaults (high 0.7/0.6, medium 0.4/0.3).
#[uniffi::export(default(previous = None, bands = []))]
pub fn risk_band(score: f64, previous: Option<String>, bands: Vec<RiskBand>) -> Result<Option<String>> {
    crate::error::guard(|| {
        let list =
            bands.into_iter().map(|b| core::risk::RiskBand { name: b.name, enter: b.enter, exit: b.exit }).collect();
        Ok(core::risk::risk_band(score, previous.as_deref(), Some(list))?)
    })
}
