//! At-risk models for Python: numpy in (read in place when C-contiguous float64), numpy out,
//! training and prediction with the GIL released. `mastery.RiskClassifier` (python/mastery/risk.py)
//! wraps this in scikit-learn's estimator API.

use mastery_core as core;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::convert::{from_python, to_python};
use crate::error::IntoPyResult;
use core::risk::RiskModel as _;

/// A trained at-risk model (booster or logistic baseline) with its feature specs.
#[pyclass(module = "mastery", frozen)]
#[derive(Debug)]
pub struct NativeRiskModel {
    inner: core::risk::RiskModelFile,
}

fn specs(
    py: Python<'_>,
    names: Vec<String>,
    features: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<core::risk::FeatureSpec>> {
    let given: Vec<core::risk::FeatureSpec> = from_python(features)?;
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
    /// Trains the booster. `params` uses the core's names (`n_estimators`, `num_leaves`, ...).
    #[staticmethod]
    #[pyo3(signature = (x, y, names, params=None, features=None, eval_x=None, eval_y=None, model_version="unversioned"))]
    #[allow(clippy::too_many_arguments)]
    fn train_gbdt(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        y: PyReadonlyArray1<'_, f64>,
        names: Vec<String>,
        params: Option<&Bound<'_, PyAny>>,
        features: Option<&Bound<'_, PyAny>>,
        eval_x: Option<PyReadonlyArray2<'_, f64>>,
        eval_y: Option<PyReadonlyArray1<'_, f64>>,
        model_version: &str,
    ) -> PyResult<Self> {
        let params: core::risk::GbdtParams = match params {
            Some(p) if !p.is_none() => crate::typed_arg(py, p, "params")?,
            _ => core::risk::GbdtParams::default(),
        };
        let features = specs(py, names, features)?;
        let (xv, yv) = (x.as_array(), y.as_slice().map_or_else(|_| y.as_array().to_vec(), <[f64]>::to_vec));
        let eval = match (&eval_x, &eval_y) {
            (Some(ex), Some(ey)) => Some((ex.as_array(), ey.as_array().to_vec())),
            _ => None,
        };
        let inner = py
            .detach(|| {
                let validation = eval.as_ref().map(|(ex, ey)| core::risk::Validation { x: ex.view(), y: ey });
                core::risk::RiskModelFile::train_gbdt(model_version, features, xv, &yv, &params, validation)
            })
            .py_err(py)?;
        Ok(Self { inner })
    }

    /// Trains the logistic baseline (`alpha`: L2 penalty).
    #[staticmethod]
    #[pyo3(signature = (x, y, names, alpha=1.0, features=None, model_version="unversioned"))]
    fn train_logistic(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        y: PyReadonlyArray1<'_, f64>,
        names: Vec<String>,
        alpha: f64,
        features: Option<&Bound<'_, PyAny>>,
        model_version: &str,
    ) -> PyResult<Self> {
        let features = specs(py, names, features)?;
        let (xv, yv) = (x.as_array(), y.as_array().to_vec());
        let inner = py
            .detach(|| core::risk::RiskModelFile::train_logistic(model_version, features, xv, &yv, alpha))
            .py_err(py)?;
        Ok(Self { inner })
    }

    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(Self { inner: core::risk::RiskModelFile::from_json(text).py_err(py)? })
    }

    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.inner.features.iter().map(|f| f.name.clone()).collect()
    }

    #[getter]
    fn model_version(&self) -> String {
        self.inner.model_version.clone()
    }

    #[getter]
    fn best_iteration(&self) -> Option<usize> {
        match &self.inner.estimator {
            core::risk::Estimator::Gbdt(b) => b.best_iteration,
            core::risk::Estimator::Logistic(_) => None,
        }
    }

    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let xv = x.as_array();
        let p = py.detach(|| self.inner.predict_proba(xv)).py_err(py)?;
        Ok(p.into_pyarray(py))
    }

    /// TreeSHAP (or logistic) contributions: rows × (features + 1), the last column the base.
    fn contributions<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let xv = x.as_array();
        let width = self.inner.features.len() + 1;
        let flat = py
            .detach(|| -> Result<Vec<f64>, core::MasteryError> {
                let mut out = Vec::with_capacity(xv.nrows() * width);
                for row in xv.outer_iter() {
                    out.extend(self.inner.contributions(&row.to_vec())?);
                }
                Ok(out)
            })
            .py_err(py)?;
        let array = numpy::ndarray::Array2::from_shape_vec((xv.nrows(), width), flat)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        Ok(array.into_pyarray(py))
    }

    /// One row's score and its `top` reasons in words.
    #[pyo3(signature = (row, top=3))]
    fn explain<'py>(&self, py: Python<'py>, row: Vec<f64>, top: usize) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.explain(&row, top).py_err(py)?)
    }

    /// (split counts, gains) per feature.
    fn importance(&self) -> (Vec<u32>, Vec<f64>) {
        self.inner.importance()
    }

    fn __getnewargs__(&self) -> (String,) {
        (self.inner.to_json(),)
    }

    #[new]
    fn new(py: Python<'_>, text: &str) -> PyResult<Self> {
        Self::from_json(py, text)
    }
}

/// Risk bands with hysteresis: the band for `score` given the previous one.
#[pyfunction]
#[pyo3(signature = (score, previous=None, bands=None))]
pub fn risk_band(
    py: Python<'_>,
    score: f64,
    previous: Option<&str>,
    bands: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<String>> {
    let list: Option<Vec<core::risk::RiskBand>> = from_python(bands)?;
    core::risk::risk_band(score, previous, list).py_err(py)
}

/// Population stability index of `actual` against `expected`.
#[pyfunction]
pub fn population_stability_index(py: Python<'_>, expected: Vec<f64>, actual: Vec<f64>) -> PyResult<f64> {
    core::risk::population_stability_index(&expected, &actual).py_err(py)
}

/// AUC, PR AUC, log loss, Brier and a 10-bin calibration curve.
#[pyfunction]
pub fn risk_metrics<'py>(py: Python<'py>, p: Vec<f64>, y: Vec<f64>) -> PyResult<Bound<'py, PyAny>> {
    to_python(py, &core::risk::evaluate(&p, &y).py_err(py)?)
}

/// The deterministic synthetic risk table used by the benchmarks: (x, y, feature names).
#[pyfunction]
pub fn synthetic_risk_data<'py>(
    py: Python<'py>,
    rows: usize,
    seed: u64,
) -> (Bound<'py, PyArray2<f64>>, Bound<'py, PyArray1<f64>>, Vec<String>) {
    let (x, y) = py.detach(|| core::risk::synthetic_risk_data(rows, seed));
    (x.into_pyarray(py), y.into_pyarray(py), core::risk::SYNTHETIC_FEATURES.iter().map(|s| s.to_string()).collect())
}
