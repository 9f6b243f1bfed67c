//! Risk models behind one trait, explanations in words, and the versioned model file every
//! binding loads: the booster, or the interpretable logistic baseline (fitted with smartcore).

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::features::FeatureSpec;
use super::gbdt::{sigmoid, Gbdt, GbdtParams, Validation};
use crate::error::{MasteryError, Result};

/// One reason behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reason {
    pub feature: String,
    pub value: f64,
    /// Its push on the log-odds (SHAP value, or coefficient × standardised value).
    pub contribution: f64,
    pub text: String,
}

/// A score and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub score: f64,
    pub margin: f64,
    /// The model's average log-odds; `base + Σ contributions = margin`.
    pub base: f64,
    pub contributions: Vec<f64>,
    /// The features that raise the risk most, strongest first.
    pub reasons: Vec<Reason>,
}

/// What every at-risk model offers.
pub trait RiskModel {
    fn features(&self) -> &[FeatureSpec];

    /// Log-odds per row.
    fn margins(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>>;

    /// Per-feature contributions to one row's log-odds, then the base value.
    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>>;

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        Ok(self.margins(x)?.into_iter().map(sigmoid).collect())
    }

    /// Per-feature contributions of every row of `x`, each followed by the base value, row-major
    /// in one vector (`features + 1` per row). The booster computes them tree by tree over
    /// blocks of rows, many times faster than row by row.
    fn contributions_many(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        row_by_row(self, x)
    }

    /// The score of one row with its `top` reasons in words.
    fn explain(&self, row: &[f64], top: usize) -> Result<Explanation> {
        let phi = self.contributions(row)?;
        // The score is exactly the one predict gives (the contributions add up to it within rounding).
        let one =
            ArrayView2::from_shape((1, row.len()), row).map_err(|e| MasteryError::invalid("row", e.to_string()))?;
        let margin = self.margins(one)?[0];
        Ok(explanation(self.features(), row, &phi, margin, top))
    }

    /// [`RiskModel::explain`] for every row of `x`, with the batch paths of
    /// [`RiskModel::margins`] and [`RiskModel::contributions_many`].
    fn explain_many(&self, x: ArrayView2<'_, f64>, top: usize) -> Result<Vec<Explanation>> {
        let margins = self.margins(x)?;
        let phis = self.contributions_many(x)?;
        Ok(x.outer_iter()
            .zip(phis.chunks(x.ncols() + 1))
            .zip(margins)
            .map(|((row, phi), margin)| explanation(self.features(), &row.to_vec(), phi, margin, top))
            .collect())
    }
}

/// [`RiskModel::contributions_many`] one row at a time.
fn row_by_row<M: RiskModel + ?Sized>(model: &M, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(x.nrows() * (x.ncols() + 1));
    for row in x.outer_iter() {
        out.extend(model.contributions(&row.to_vec())?);
    }
    Ok(out)
}

/// An explanation from a row's contributions (then the base value) and margin: the `top`
/// features that raise the risk most, in words.
fn explanation(features: &[FeatureSpec], row: &[f64], phi: &[f64], margin: f64, top: usize) -> Explanation {
    let (contributions, base) = (phi[..phi.len() - 1].to_vec(), phi[phi.len() - 1]);
    // A protected attribute is never a reason (it may still move the score when the host
    // opted in to training on it).
    let protected = |i: usize| features.get(i).is_some_and(|f| f.protected);
    let mut order: Vec<usize> = (0..contributions.len()).filter(|&i| contributions[i] > 0.0 && !protected(i)).collect();
    order.sort_by(|a, b| contributions[*b].total_cmp(&contributions[*a]).then(a.cmp(b)));
    let reasons = order
        .into_iter()
        .take(top)
        .map(|i| {
            let spec = &features[i];
            Reason {
                feature: spec.name.clone(),
                value: row[i],
                contribution: contributions[i],
                text: spec.reason_for(row[i]),
            }
        })
        .collect();
    Explanation { score: sigmoid(margin), margin, base, contributions, reasons }
}

fn check_row(features: &[FeatureSpec], row: &[f64]) -> Result<()> {
    if row.len() != features.len() {
        return Err(MasteryError::invalid(
            "features",
            format!("the row has {} values; the model expects {}", row.len(), features.len()),
        ));
    }
    Ok(())
}

/// The interpretable baseline: logistic regression on standardised features, missing values
/// imputed with the training mean. Fitted by smartcore; scored here (portable arithmetic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub means: Vec<f64>,
    pub scales: Vec<f64>,
    pub coefficients: Vec<f64>,
    pub intercept: f64,
}

impl Logistic {
    /// `alpha` is the L2 penalty.
    pub fn fit(x: ArrayView2<'_, f64>, y: &[f64], alpha: f64) -> Result<Self> {
        let (rows, features) = x.dim();
        if rows != y.len() || rows == 0 {
            return Err(MasteryError::invalid("y", "must have one label per row"));
        }
        let mut means = vec![0.0; features];
        let mut scales = vec![1.0; features];
        for f in 0..features {
            let seen: Vec<f64> = x.column(f).iter().copied().filter(|v| !v.is_nan()).collect();
            if seen.is_empty() {
                continue;
            }
            let mean = seen.iter().sum::<f64>() / seen.len() as f64;
            let var = seen.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / seen.len() as f64;
            means[f] = mean;
            scales[f] = if var > 0.0 { var.sqrt() } else { 1.0 };
        }
        let z = Array2::from_shape_fn((rows, features), |(r, f)| standardise(x[[r, f]], means[f], scales[f]));
        let labels: Array1<u32> = y.iter().map(|v| u32::from(*v == 1.0)).collect();
        let params = smartcore::linear::logistic_regression::LogisticRegressionParameters::default().with_alpha(alpha);
        let fitted = smartcore::linear::logistic_regression::LogisticRegression::fit(&z, &labels, params)
            .map_err(|e| MasteryError::invalid("x", format!("logistic regression did not fit: {e}")))?;
        let coefficients: Vec<f64> = fitted.coefficients().iter().copied().collect();
        let intercept = fitted.intercept().iter().copied().next().unwrap_or(0.0);
        Ok(Self { means, scales, coefficients, intercept })
    }

    fn margin(&self, row: &[f64]) -> f64 {
        let mut m = self.intercept;
        for (f, v) in row.iter().enumerate() {
            m += self.coefficients[f] * standardise(*v, self.means[f], self.scales[f]);
        }
        m
    }
}

fn standardise(v: f64, mean: f64, scale: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        (v - mean) / scale
    }
}

/// The trained model inside a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Estimator {
    Gbdt(Gbdt),
    Logistic(Logistic),
}

pub const MODEL_FORMAT: &str = "mastery-risk-model";
pub const MODEL_VERSION: u32 = 1;

/// A versioned model file: the features it was trained on (with their words) and the estimator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskModelFile {
    pub format: String,
    pub version: u32,
    /// The host's label for this model (logged with every prediction).
    pub model_version: String,
    pub features: Vec<FeatureSpec>,
    pub estimator: Estimator,
    /// What a host binding keeps with the model (the Python estimator's parameters and column
    /// names); carried through load and save unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<serde_json::Value>,
    /// Which protected attributes the model was trained on, and which the training table had
    /// and left out (files from before this record load with both empty).
    #[serde(default)]
    pub protected: ProtectedAttributes,
}

/// The record of the choice to train on protected attributes or not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProtectedAttributes {
    /// Protected features among the model's features: non-empty only when the host opted in.
    #[serde(default)]
    pub used: Vec<String>,
    /// Protected attributes the training table had and left out of training.
    #[serde(default)]
    pub left_out: Vec<String>,
}

impl RiskModelFile {
    /// Trains the booster on a table whose columns are `features`.
    pub fn train_gbdt(
        model_version: &str,
        features: Vec<FeatureSpec>,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        params: &GbdtParams,
        validation: Option<Validation<'_>>,
    ) -> Result<Self> {
        Self::train_gbdt_with(model_version, features, x, y, params, validation, &crate::progress::silent)
    }

    /// [`RiskModelFile::train_gbdt`] with a progress callback (see [`Gbdt::fit_with`]).
    pub fn train_gbdt_with(
        model_version: &str,
        features: Vec<FeatureSpec>,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        params: &GbdtParams,
        validation: Option<Validation<'_>>,
        on_progress: crate::progress::OnProgress<'_>,
    ) -> Result<Self> {
        if x.ncols() != features.len() {
            return Err(MasteryError::invalid("features", "one feature spec per column is required"));
        }
        let booster = Gbdt::fit_with(x, y, params, validation, on_progress)?;
        Ok(Self::new(model_version, features, Estimator::Gbdt(booster)))
    }

    pub fn train_logistic(
        model_version: &str,
        features: Vec<FeatureSpec>,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        alpha: f64,
    ) -> Result<Self> {
        if x.ncols() != features.len() {
            return Err(MasteryError::invalid("features", "one feature spec per column is required"));
        }
        Ok(Self::new(model_version, features, Estimator::Logistic(Logistic::fit(x, y, alpha)?)))
    }

    pub fn new(model_version: &str, features: Vec<FeatureSpec>, estimator: Estimator) -> Self {
        let used = features.iter().filter(|f| f.protected).map(|f| f.name.clone()).collect();
        Self {
            format: MODEL_FORMAT.into(),
            version: MODEL_VERSION,
            model_version: model_version.into(),
            features,
            estimator,
            host: None,
            protected: ProtectedAttributes { used, left_out: Vec::new() },
        }
    }

    /// Records the protected attributes the training table left out (see
    /// [`super::RiskTable::left_out`]).
    pub fn with_left_out(mut self, left_out: &[String]) -> Self {
        self.protected.left_out = left_out.to_vec();
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Loads a model file: an unknown format or version, or an estimator that does not match
    /// its features, is a typed error.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| MasteryError::parse("model file", e))?;
        if value.get("format").and_then(serde_json::Value::as_str) != Some(MODEL_FORMAT) {
            return Err(MasteryError::invalid("format", format!("is not {MODEL_FORMAT}")));
        }
        let version = value.get("version").and_then(serde_json::Value::as_u64).unwrap_or(0);
        if version != u64::from(MODEL_VERSION) {
            return Err(MasteryError::UnsupportedVersion { what: "risk model file", version: version.to_string() });
        }
        let file: Self = serde_json::from_value(value).map_err(|e| MasteryError::parse("model file", e))?;
        let width = match &file.estimator {
            Estimator::Gbdt(b) => {
                b.check()?;
                b.features
            }
            Estimator::Logistic(l) => {
                if l.means.len() != l.coefficients.len() || l.scales.len() != l.coefficients.len() {
                    return Err(MasteryError::invalid("estimator", "coefficients, means and scales differ in length"));
                }
                l.coefficients.len()
            }
        };
        if width != file.features.len() {
            return Err(MasteryError::invalid("features", "the estimator and the feature list differ in length"));
        }
        Ok(file)
    }

    /// Refuses columns that are not the model's features, in its order.
    pub fn check_feature_names(&self, names: &[String]) -> Result<()> {
        let expected: Vec<&str> = self.features.iter().map(|f| f.name.as_str()).collect();
        if names.iter().map(String::as_str).ne(expected.iter().copied()) {
            return Err(MasteryError::invalid("features", format!("expected the columns {expected:?}")));
        }
        Ok(())
    }

    /// The booster's best iteration when it was trained with early stopping (its number of
    /// trees); `None` otherwise and for the logistic model.
    pub fn best_iteration(&self) -> Option<usize> {
        match &self.estimator {
            Estimator::Gbdt(b) => b.best_iteration,
            Estimator::Logistic(_) => None,
        }
    }

    /// The booster's number of trees, i.e. boosting rounds kept (scikit-learn's `n_iter_`); 0 for
    /// the logistic model.
    pub fn rounds(&self) -> usize {
        match &self.estimator {
            Estimator::Gbdt(b) => b.trees.len(),
            Estimator::Logistic(_) => 0,
        }
    }

    /// Gain and split importance (zeros for the logistic model, whose |coefficients| say it).
    pub fn importance(&self) -> (Vec<u32>, Vec<f64>) {
        match &self.estimator {
            Estimator::Gbdt(b) => b.importance(),
            Estimator::Logistic(l) => (vec![0; l.coefficients.len()], l.coefficients.iter().map(|c| c.abs()).collect()),
        }
    }
}

impl RiskModel for RiskModelFile {
    fn features(&self) -> &[FeatureSpec] {
        &self.features
    }

    fn margins(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        if x.ncols() != self.features.len() {
            return Err(MasteryError::invalid(
                "features",
                format!("the rows have {} values; the model expects {}", x.ncols(), self.features.len()),
            ));
        }
        match &self.estimator {
            Estimator::Gbdt(b) => b.margins(x),
            Estimator::Logistic(l) => {
                let mut row = vec![0.0; x.ncols()];
                Ok(x.outer_iter()
                    .map(|r| {
                        row.iter_mut().zip(r.iter()).for_each(|(d, s)| *d = *s);
                        l.margin(&row)
                    })
                    .collect())
            }
        }
    }

    fn contributions_many(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        match &self.estimator {
            Estimator::Gbdt(b) => {
                if x.ncols() != self.features.len() {
                    return Err(MasteryError::invalid(
                        "features",
                        format!("the rows have {} values; the model expects {}", x.ncols(), self.features.len()),
                    ));
                }
                b.shap_rows(x)
            }
            Estimator::Logistic(_) => row_by_row(self, x),
        }
    }

    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>> {
        check_row(&self.features, row)?;
        Ok(match &self.estimator {
            Estimator::Gbdt(b) => b.shap_row(row),
            Estimator::Logistic(l) => {
                let mut phi: Vec<f64> = row
                    .iter()
                    .enumerate()
                    .map(|(f, v)| l.coefficients[f] * standardise(*v, l.means[f], l.scales[f]))
                    .collect();
                phi.push(l.intercept);
                phi
            }
        })
    }
}
