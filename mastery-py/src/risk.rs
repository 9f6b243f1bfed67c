//! At-risk models for Python: numpy in (read in place when C-contiguous float64), numpy out,
//! training and prediction with the GIL released. `mastery.RiskClassifier` (python/mastery/risk.py)
//! wraps this in scikit-learn's estimator API.

use mastery_core as core;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::convert::{self, count, data, data_or_default, number, numbers, opt_text, to_python, typed_arg};
use crate::error::{guard, IntoPyResult};
use core::risk::RiskModel as _;

/// A trained at-risk model (booster or logistic baseline) with its feature specs: the native
/// half of :class:`mastery.RiskClassifier`, and what a versioned model file loads into.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
/// >>> model = mastery.NativeRiskModel.train_gbdt(x, y, names, {"n_estimators": 20})
/// >>> model
/// NativeRiskModel(gbdt, 30 features, model_version="unversioned")
/// >>> model.feature_names[:2], model.model_version
/// (['active_days', 'events'], 'unversioned')
#[pyclass(module = "mastery", frozen)]
#[derive(Debug)]
pub struct NativeRiskModel {
    pub(crate) inner: core::risk::RiskModelFile,
}

type Arg<'py> = Bound<'py, PyAny>;

fn matrix<'py>(object: &Arg<'py>, field: &str) -> PyResult<PyReadonlyArray2<'py, f64>> {
    object.extract().map_err(|_| crate::invalid(object.py(), field, "must be a 2-D float64 numpy array"))
}

fn vector<'py>(object: &Arg<'py>, field: &str) -> PyResult<PyReadonlyArray1<'py, f64>> {
    object.extract().map_err(|_| crate::invalid(object.py(), field, "must be a 1-D float64 numpy array"))
}

fn specs(py: Python<'_>, names: &Arg<'_>, features: Option<&Arg<'_>>) -> PyResult<Vec<core::risk::FeatureSpec>> {
    let names: Vec<String> = data(names, "names")?;
    let given: Vec<core::risk::FeatureSpec> = data_or_default(features, "features")?;
    if !given.is_empty() {
        if given.len() != names.len() {
            return Err(crate::invalid(py, "features", "one feature spec per column is required"));
        }
        return Ok(given);
    }
    Ok(names.iter().map(|n| core::risk::FeatureSpec::new(n, n, &format!("{n} = {{value}}"), 0)).collect())
}

#[pymethods]
impl NativeRiskModel {
    /// Trains the histogram booster. ``params`` uses the core's names (``n_estimators``, ``num_leaves``,
    /// ``learning_rate``, ...); ``eval_x``/``eval_y`` enable early stopping.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
    /// >>> model = mastery.NativeRiskModel.train_gbdt(x, y, names, {"n_estimators": 20})
    /// >>> model.predict_proba(x[:2]).round(3).tolist()
    /// [0.898, 0.745]
    #[staticmethod]
    #[pyo3(signature = (x, y, names, params=None, features=None, eval_x=None, eval_y=None, model_version=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn train_gbdt(
        py: Python<'_>,
        x: &Arg<'_>,
        y: &Arg<'_>,
        names: &Arg<'_>,
        params: Option<&Arg<'_>>,
        features: Option<&Arg<'_>>,
        eval_x: Option<&Arg<'_>>,
        eval_y: Option<&Arg<'_>>,
        model_version: Option<&Arg<'_>>,
        progress: Option<&Arg<'_>>,
    ) -> PyResult<Self> {
        guard(py, || {
            let callback = crate::progress::callback(progress)?;
            let params: core::risk::GbdtParams = match params {
                Some(p) if !p.is_none() => typed_arg(p, "params")?,
                _ => core::risk::GbdtParams::default(),
            };
            let features = specs(py, names, features)?;
            let version = opt_text(model_version, "model_version")?.unwrap_or_else(|| "unversioned".into());
            let (x, y) = (matrix(x, "x")?, vector(y, "y")?);
            let (xv, yv) = (x.as_array(), y.as_array().to_vec());
            let eval = match (eval_x, eval_y) {
                (Some(ex), Some(ey)) if !ex.is_none() && !ey.is_none() => {
                    Some((matrix(ex, "eval_x")?, vector(ey, "eval_y")?))
                }
                _ => None,
            };
            let eval = eval.as_ref().map(|(ex, ey)| (ex.as_array(), ey.as_array().to_vec()));
            let inner = crate::progress::run(py, callback.as_ref(), |on| {
                let validation = eval.as_ref().map(|(ex, ey)| core::risk::Validation { x: ex.view(), y: ey });
                core::risk::RiskModelFile::train_gbdt_with(&version, features, xv, &yv, &params, validation, on)
            })?;
            Ok(Self { inner })
        })
    }

    /// Trains the logistic baseline (``alpha``: L2 penalty).
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
    /// >>> model = mastery.NativeRiskModel.train_logistic(x, y, names)
    /// >>> model.predict_proba(x[:2]).round(3).tolist()
    /// [0.961, 0.648]
    #[staticmethod]
    #[pyo3(signature = (x, y, names, alpha=None, features=None, model_version=None))]
    fn train_logistic(
        py: Python<'_>,
        x: &Arg<'_>,
        y: &Arg<'_>,
        names: &Arg<'_>,
        alpha: Option<&Arg<'_>>,
        features: Option<&Arg<'_>>,
        model_version: Option<&Arg<'_>>,
    ) -> PyResult<Self> {
        guard(py, || {
            let features = specs(py, names, features)?;
            let alpha = match alpha {
                Some(a) if !a.is_none() => number(a, "alpha")?,
                _ => 1.0,
            };
            let version = opt_text(model_version, "model_version")?.unwrap_or_else(|| "unversioned".into());
            let (x, y) = (matrix(x, "x")?, vector(y, "y")?);
            let (xv, yv) = (x.as_array(), y.as_array().to_vec());
            let inner = py
                .detach(|| core::risk::RiskModelFile::train_logistic(&version, features, xv, &yv, alpha))
                .py_err(py)?;
            Ok(Self { inner })
        })
    }

    /// Loads a versioned model file (JSON text); an unknown version is ``MasteryError(code="unsupported_version")``.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
    /// >>> model = mastery.NativeRiskModel.train_gbdt(x, y, names, {"n_estimators": 20})
    /// >>> again = mastery.NativeRiskModel.from_json(model.to_json())
    /// >>> bool((again.predict_proba(x[:5]) == model.predict_proba(x[:5])).all())
    /// True
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &Arg<'_>) -> PyResult<Self> {
        guard(py, || {
            Ok(Self { inner: core::risk::RiskModelFile::from_json(&convert::text(text, "text")?).py_err(py)? })
        })
    }

    /// The versioned model file as JSON text (floats round-trip exactly, NaN as null).
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
    /// >>> model = mastery.NativeRiskModel.train_gbdt(x, y, names, {"n_estimators": 20})
    /// >>> import json
    /// >>> doc = json.loads(model.to_json())
    /// >>> doc["format"], doc["version"]
    /// ('mastery-risk-model', 1)
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        guard(py, || Ok(self.inner.to_json()))
    }

    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.inner.features.iter().map(|f| f.name.clone()).collect()
    }

    #[getter]
    fn model_version(&self) -> String {
        self.inner.model_version.clone()
    }

    /// The booster's best iteration when early stopping ran (its number of trees), else None.
    #[getter]
    fn best_iteration(&self) -> Option<usize> {
        self.inner.best_iteration()
    }

    /// The boosting rounds the booster kept (its number of trees; 0 for the logistic model).
    #[getter]
    fn rounds(&self) -> usize {
        self.inner.rounds()
    }

    /// The probability of the positive class (at risk) per row of a 2-D float array.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
    /// >>> model = mastery.NativeRiskModel.train_gbdt(x, y, names, {"n_estimators": 20})
    /// >>> model.predict_proba(x[:3]).shape
    /// (3,)
    fn predict_proba<'py>(&self, py: Python<'py>, x: &Arg<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        guard(py, || {
            let x = matrix(x, "x")?;
            let xv = x.as_array();
            let p = py.detach(|| self.inner.predict_proba(xv)).py_err(py)?;
            Ok(p.into_pyarray(py))
        })
    }

    /// TreeSHAP (or logistic) contributions: rows × (features + 1), the last column the base.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
    /// >>> model = mastery.NativeRiskModel.train_gbdt(x, y, names, {"n_estimators": 20})
    /// >>> model.contributions(x[:1]).shape
    /// (1, 31)
    fn contributions<'py>(&self, py: Python<'py>, x: &Arg<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        guard(py, || {
            let x = matrix(x, "x")?;
            let xv = x.as_array();
            let width = self.inner.features.len() + 1;
            let flat = py
                .detach(|| -> Result<Vec<f64>, core::MasteryError> { self.inner.contributions_many(xv) })
                .py_err(py)?;
            let array = numpy::ndarray::Array2::from_shape_vec((xv.nrows(), width), flat)
                .map_err(|e| crate::error::internal(py, e))?;
            Ok(array.into_pyarray(py))
        })
    }

    /// One row's score and its ``top`` reasons in words.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
    /// >>> model = mastery.NativeRiskModel.train_gbdt(x, y, names, {"n_estimators": 20})
    /// >>> e = model.explain(list(x[0]), 1)
    /// >>> round(e["score"], 3), e["reasons"][0]["feature"]
    /// (0.898, 'minutes_on_task')
    #[pyo3(signature = (row, top=None))]
    fn explain<'py>(&self, py: Python<'py>, row: &Arg<'py>, top: Option<&Arg<'py>>) -> PyResult<Arg<'py>> {
        guard(py, || {
            let row = numbers(row, "row", true)?;
            let top = match top {
                Some(t) if !t.is_none() => count(t, "top")?,
                _ => 3,
            };
            to_python(py, &self.inner.explain(&row, top).py_err(py)?)
        })
    }

    /// Every row's score and its ``top`` reasons (a list of dicts, as ``explain``), computed
    /// together: many times faster than ``explain`` row by row for the booster.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
    /// >>> model = mastery.NativeRiskModel.train_gbdt(x, y, names, {"n_estimators": 20})
    /// >>> [e["reasons"][0]["text"] for e in model.explain_many(x[:2], 1)]
    /// ['minutes_on_task = 69.6', 'minutes_on_task = 304.9']
    #[pyo3(signature = (x, top=None))]
    fn explain_many<'py>(&self, py: Python<'py>, x: &Arg<'py>, top: Option<&Arg<'py>>) -> PyResult<Arg<'py>> {
        guard(py, || {
            let x = matrix(x, "x")?;
            let top = match top {
                Some(t) if !t.is_none() => count(t, "top")?,
                _ => 3,
            };
            let xv = x.as_array();
            let explained = py.detach(|| self.inner.explain_many(xv, top)).py_err(py)?;
            to_python(py, &explained)
        })
    }

    /// ``(split counts, gains)`` per feature, in feature order.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(200, 7)
    /// >>> model = mastery.NativeRiskModel.train_gbdt(x, y, names, {"n_estimators": 20})
    /// >>> splits, gains = model.importance()
    /// >>> len(splits) == len(gains) == len(names)
    /// True
    fn importance(&self, py: Python<'_>) -> PyResult<(Vec<u32>, Vec<f64>)> {
        guard(py, || Ok(self.inner.importance()))
    }

    fn __repr__(&self) -> String {
        let kind = match self.inner.estimator {
            core::risk::Estimator::Gbdt(_) => "gbdt",
            core::risk::Estimator::Logistic(_) => "logistic",
        };
        format!(
            "NativeRiskModel({kind}, {} features, model_version={:?})",
            self.inner.features.len(),
            self.inner.model_version
        )
    }

    fn __getnewargs__(&self) -> (String,) {
        (self.inner.to_json(),)
    }

    #[new]
    fn new(py: Python<'_>, text: &Arg<'_>) -> PyResult<Self> {
        Self::from_json(py, text)
    }
}

/// Risk bands with hysteresis: the band for ``score`` given the previous one (``None`` below
/// every band).
///
/// Examples
/// --------
/// >>> import mastery
/// >>> mastery.risk_band(0.8), mastery.risk_band(0.5, "high"), mastery.risk_band(0.1)
/// ('high', 'medium', None)
#[pyfunction]
#[pyo3(signature = (score, previous=None, bands=None))]
pub fn risk_band(
    py: Python<'_>,
    score: &Arg<'_>,
    previous: Option<&Arg<'_>>,
    bands: Option<&Arg<'_>>,
) -> PyResult<Option<String>> {
    guard(py, || {
        let list: Option<Vec<core::risk::RiskBand>> = data_or_default(bands, "bands")?;
        let previous = opt_text(previous, "previous")?;
        core::risk::risk_band(number(score, "score")?, previous.as_deref(), list).py_err(py)
    })
}

/// Population stability index of ``actual`` against ``expected`` (0 when the
/// distributions agree; above 0.25 is usually read as drift).
///
/// Examples
/// --------
/// >>> import mastery
/// >>> mastery.population_stability_index([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4])
/// 0.0
#[pyfunction]
pub fn population_stability_index(py: Python<'_>, expected: &Arg<'_>, actual: &Arg<'_>) -> PyResult<f64> {
    guard(py, || {
        let (expected, actual) = (numbers(expected, "expected", false)?, numbers(actual, "actual", false)?);
        core::risk::population_stability_index(&expected, &actual).py_err(py)
    })
}

/// AUC, PR AUC, log loss, Brier and a 10-bin calibration curve.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> m = mastery.risk_metrics([0.9, 0.2, 0.7, 0.1], [1, 0, 1, 0])
/// >>> m["auc"], round(m["brier"], 4)
/// (1.0, 0.0375)
#[pyfunction]
pub fn risk_metrics<'py>(py: Python<'py>, p: &Arg<'py>, y: &Arg<'py>) -> PyResult<Arg<'py>> {
    guard(py, || {
        let (p, y) = (numbers(p, "p", false)?, numbers(y, "y", false)?);
        to_python(py, &core::risk::evaluate(&p, &y).py_err(py)?)
    })
}

type SyntheticTable<'py> = (Bound<'py, PyArray2<f64>>, Bound<'py, PyArray1<f64>>, Vec<String>);

/// The deterministic synthetic risk table used by the benchmarks: ``(x, y, feature names)``.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> x, y, names = mastery.synthetic_risk_data(100, 1)
/// >>> x.shape, y.shape, len(names)
/// ((100, 30), (100,), 30)
#[pyfunction]
pub fn synthetic_risk_data<'py>(py: Python<'py>, rows: &Arg<'py>, seed: &Arg<'py>) -> PyResult<SyntheticTable<'py>> {
    guard(py, || {
        let (rows, seed) = (count(rows, "rows")?, convert::seed(seed, "seed")?);
        let (x, y) = py.detach(|| core::risk::synthetic_risk_data(rows, seed)).py_err(py)?;
        let names = core::risk::SYNTHETIC_FEATURES.iter().map(|s| s.to_string()).collect();
        Ok((x.into_pyarray(py), y.into_pyarray(py), names))
    })
}
