//! Python bindings: conversion and error mapping only; the logic lives in `mastery-core`.
//! Parsing runs with the GIL released, so other Python threads keep working.

mod convert;
mod error;

use mastery_core as core;
use pyo3::prelude::*;

use convert::{from_python, to_python};
use error::{IntoPyResult, MasteryError};

/// A competency framework imported from CASE JSON.
#[pyclass(module = "mastery", frozen)]
#[derive(Debug)]
struct Framework {
    inner: core::Framework,
}

#[pymethods]
impl Framework {
    /// Imports a CASE 1.0 / 1.1 CFPackage (or the 2016 draft format) from its JSON text.
    #[staticmethod]
    fn from_case_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        py.detach(|| core::Framework::from_case_json(text)).py_err(py).map(|inner| Self { inner })
    }

    /// Exports CASE 1.1 JSON; unknown fields are kept under `extensions`.
    fn to_case_json(&self) -> String {
        self.inner.to_case_json()
    }

    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.summary())
    }

    #[getter]
    fn identifier(&self) -> &str {
        self.inner.identifier()
    }

    #[getter]
    fn title(&self) -> &str {
        self.inner.title()
    }

    fn item<'py>(&self, py: Python<'py>, identifier: &str) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.item(identifier))
    }

    fn find_by_code<'py>(&self, py: Python<'py>, code: &str) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.find_by_code(code))
    }

    fn children<'py>(&self, py: Python<'py>, identifier: &str) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.children(identifier).py_err(py)?)
    }

    fn ancestors<'py>(&self, py: Python<'py>, identifier: &str) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.ancestors(identifier).py_err(py)?)
    }

    fn descendants<'py>(&self, py: Python<'py>, identifier: &str) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.descendants(identifier).py_err(py)?)
    }

    fn prerequisites<'py>(&self, py: Python<'py>, identifier: &str) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.prerequisites(identifier).py_err(py)?)
    }

    fn topological_order<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.topological_order())
    }

    fn associations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.associations())
    }

    fn __len__(&self) -> usize {
        self.inner.items().len()
    }

    fn __repr__(&self) -> String {
        format!("Framework({:?}, {} items)", self.inner.title(), self.inner.items().len())
    }
}

/// xAPI statement(s) → `{"accepted": [evidence...], "rejected": [{index, code, field, reason}]}`.
#[pyfunction]
#[pyo3(signature = (text, mapping=None))]
fn ingest_xapi<'py>(py: Python<'py>, text: &str, mapping: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    let mapping: core::EvidenceMapping = from_python(mapping)?;
    let report = py.detach(|| core::parse_xapi(text, &mapping));
    to_python(py, &report.py_err(py)?)
}

/// A Caliper 1.2 envelope, event or list of events → the same report shape as `ingest_xapi`.
#[pyfunction]
#[pyo3(signature = (text, mapping=None))]
fn ingest_caliper<'py>(
    py: Python<'py>,
    text: &str,
    mapping: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let mapping: core::EvidenceMapping = from_python(mapping)?;
    let report = py.detach(|| core::parse_caliper(text, &mapping));
    to_python(py, &report.py_err(py)?)
}

/// Validates any Caliper 1.2 document; raises `MasteryError` naming the first bad field.
#[pyfunction]
fn validate_caliper(py: Python<'_>, text: &str) -> PyResult<()> {
    core::validate_caliper(text).py_err(py)
}

/// A pyBKT-style CSV (`user_id, skill_name, correct[, order_id]`) → a report.
#[pyfunction]
fn ingest_pybkt_csv<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let report = py.detach(|| core::parse_pybkt_csv(text));
    to_python(py, &report.py_err(py)?)
}

#[pymodule]
fn _mastery(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("MasteryError", m.py().get_type::<MasteryError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Framework>()?;
    m.add_function(wrap_pyfunction!(ingest_xapi, m)?)?;
    m.add_function(wrap_pyfunction!(ingest_caliper, m)?)?;
    m.add_function(wrap_pyfunction!(validate_caliper, m)?)?;
    m.add_function(wrap_pyfunction!(ingest_pybkt_csv, m)?)?;
    Ok(())
}
