//! The fairness audit for Python: the report as a dict (`mastery.fairness_frame` turns it into a
//! pandas DataFrame).

use mastery_core as core;
use pyo3::prelude::*;

use crate::convert::to_python;
use crate::error::IntoPyResult;

/// Per group: count, AUC, selection rate at `threshold`, false-positive and false-negative
/// rates, mean score and base rate; and the gap (max − min) between the groups for each.
#[pyfunction]
#[pyo3(signature = (scores, labels, groups, threshold=0.5))]
pub fn fairness_report<'py>(
    py: Python<'py>,
    scores: Vec<f64>,
    labels: Vec<f64>,
    groups: Vec<String>,
    threshold: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let report = py.detach(|| core::risk::fairness_report(&scores, &labels, &groups, threshold)).py_err(py)?;
    to_python(py, &report)
}
