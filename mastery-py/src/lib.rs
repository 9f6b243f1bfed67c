//! Python bindings: conversion and error mapping only; the logic lives in `mastery-core`.
//! Parsing runs with the GIL released, so other Python threads keep working.
//!
//! Every argument arrives as a plain Python object and is read by `convert` (a wrong type is a
//! `MasteryError` naming the argument), and every body runs inside `guard` (a panic is a
//! `MasteryError` with code `internal`). Only a wrong number of arguments is Python's own
//! `TypeError`.

mod arrow;
mod arrow_evidence;
mod async_engine;
mod convert;
mod direct;
mod engine;
mod error;
mod fairness;
mod gallery;
mod pipelines;
mod progress;
mod records;
mod risk;
mod tables;

use std::collections::BTreeMap;

use mastery_core as core;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use convert::{
    bytes, count, data, data_or_default, flag, from_python, integers, json_arg, number, numbers, opt_strings, opt_text,
    text, to_python, typed_arg,
};
use error::{guard, invalid, IntoPyResult, MasteryError};

type Arg<'py> = Bound<'py, PyAny>;

/// The extension's own allocations (codes, outputs, tables of millions of rows) come from
/// mimalloc, which keeps freed memory for the next call: with the system allocator each large
/// buffer was new pages from the kernel, faulted in and zeroed on every call (16,000 page faults,
/// about 0.05-0.07 s of system time, in one BKT `predict` of 2 million rows). Built without
/// transparent huge pages (`no_thp`): with them a fresh process's first fit spent 0-0.09 s in
/// the kernel zeroing and compacting 2 MB pages it barely used.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A competency framework (a CASE CFPackage): items, hierarchy and typed associations.
///
/// Build one with :meth:`Framework.from_case_json`; it is immutable and can be shared between threads.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
/// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
/// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
/// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
/// ...                        for c in ("add", "sub")]})
/// >>> f
/// Framework("Maths", 3 items)
/// >>> len(f), f.title, f.identifier
/// (3, 'Maths', 'd')
#[pyclass(module = "mastery", frozen)]
#[derive(Debug)]
pub(crate) struct Framework {
    pub(crate) inner: core::Framework,
}

/// A `Framework` argument.
fn framework<'a>(object: &'a Arg<'_>, field: &str) -> PyResult<&'a Framework> {
    object.cast::<Framework>().map(|f| f.get()).map_err(|_| invalid(object.py(), field, "must be a mastery.Framework"))
}

#[pymethods]
impl Framework {
    /// Imports a CASE 1.0 / 1.1 CFPackage (or the 2016 draft format) from JSON text or a dict.
    ///
    /// Raises ``MasteryError``: ``parse_error`` (not JSON), ``invalid_input`` naming the field, or ``cycle``.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> mastery.Framework.from_case_json('{"CFDocument": {"identifier": "d", "title": "T"}, "CFItems": []}')
    /// Framework("T", 0 items)
    #[staticmethod]
    fn from_case_json(py: Python<'_>, text: &Arg<'_>) -> PyResult<Self> {
        guard(py, || {
            let text = document(text, "text")?;
            py.detach(|| core::Framework::from_case_json(&text)).py_err(py).map(|inner| Self { inner })
        })
    }

    /// Exports CASE 1.1 JSON text; unknown fields are kept under ``extensions``.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
    /// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
    /// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
    /// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
    /// ...                        for c in ("add", "sub")]})
    /// >>> import json
    /// >>> [i["identifier"] for i in json.loads(f.to_case_json())["CFItems"]]
    /// ['number', 'add', 'sub']
    fn to_case_json(&self, py: Python<'_>) -> PyResult<String> {
        guard(py, || Ok(self.inner.to_case_json()))
    }

    /// Counts: ``{identifier, title, items, associations, association_types, depth}``.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
    /// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
    /// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
    /// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
    /// ...                        for c in ("add", "sub")]})
    /// >>> s = f.summary()
    /// >>> s["items"], s["associations"], s["association_types"]
    /// (3, 2, {'isChildOf': 2})
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Arg<'py>> {
        guard(py, || to_python(py, &self.inner.summary()))
    }

    #[getter]
    fn identifier(&self) -> &str {
        self.inner.identifier()
    }

    #[getter]
    fn title(&self) -> &str {
        self.inner.title()
    }

    /// The competency with this identifier, or ``None``.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
    /// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
    /// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
    /// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
    /// ...                        for c in ("add", "sub")]})
    /// >>> f.item("add")["full_statement"]
    /// 'Add'
    /// >>> f.item("nope") is None
    /// True
    fn item<'py>(&self, py: Python<'py>, identifier: &Arg<'py>) -> PyResult<Arg<'py>> {
        guard(py, || to_python(py, &self.inner.item(&text(identifier, "identifier")?)))
    }

    /// The competency whose ``humanCodingScheme`` is ``code``, or ``None``.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "T"},
    /// ...     "CFItems": [{"identifier": "a", "fullStatement": "Add", "humanCodingScheme": "N.1"}]})
    /// >>> f.find_by_code("N.1")["identifier"]
    /// 'a'
    fn find_by_code<'py>(&self, py: Python<'py>, code: &Arg<'py>) -> PyResult<Arg<'py>> {
        guard(py, || to_python(py, &self.inner.find_by_code(&text(code, "code")?)))
    }

    /// The direct children of a competency (``isChildOf``); ``MasteryError`` ``not_found`` if unknown.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
    /// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
    /// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
    /// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
    /// ...                        for c in ("add", "sub")]})
    /// >>> [c["identifier"] for c in f.children("number")]
    /// ['add', 'sub']
    fn children<'py>(&self, py: Python<'py>, identifier: &Arg<'py>) -> PyResult<Arg<'py>> {
        guard(py, || to_python(py, &self.inner.children(&text(identifier, "identifier")?).py_err(py)?))
    }

    /// The ancestors of a competency, nearest first.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
    /// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
    /// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
    /// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
    /// ...                        for c in ("add", "sub")]})
    /// >>> [c["identifier"] for c in f.ancestors("add")]
    /// ['number']
    fn ancestors<'py>(&self, py: Python<'py>, identifier: &Arg<'py>) -> PyResult<Arg<'py>> {
        guard(py, || to_python(py, &self.inner.ancestors(&text(identifier, "identifier")?).py_err(py)?))
    }

    /// Every competency below this one.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
    /// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
    /// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
    /// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
    /// ...                        for c in ("add", "sub")]})
    /// >>> [c["identifier"] for c in f.descendants("number")]
    /// ['add', 'sub']
    fn descendants<'py>(&self, py: Python<'py>, identifier: &Arg<'py>) -> PyResult<Arg<'py>> {
        guard(py, || to_python(py, &self.inner.descendants(&text(identifier, "identifier")?).py_err(py)?))
    }

    /// The competencies that ``precedes`` this one (its prerequisites).
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "T"},
    /// ...     "CFItems": [{"identifier": "add", "fullStatement": "Add"},
    /// ...                 {"identifier": "sub", "fullStatement": "Sub"}],
    /// ...     "CFAssociations": [{"identifier": "p", "associationType": "precedes",
    /// ...                         "originNodeURI": {"identifier": "add"},
    /// ...                         "destinationNodeURI": {"identifier": "sub"}}]})
    /// >>> [c["identifier"] for c in f.prerequisites("sub")]
    /// ['add']
    fn prerequisites<'py>(&self, py: Python<'py>, identifier: &Arg<'py>) -> PyResult<Arg<'py>> {
        guard(py, || to_python(py, &self.inner.prerequisites(&text(identifier, "identifier")?).py_err(py)?))
    }

    /// Every competency, each after its parents and prerequisites.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
    /// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
    /// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
    /// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
    /// ...                        for c in ("add", "sub")]})
    /// >>> [c["identifier"] for c in f.topological_order()]
    /// ['number', 'add', 'sub']
    fn topological_order<'py>(&self, py: Python<'py>) -> PyResult<Arg<'py>> {
        guard(py, || to_python(py, &self.inner.topological_order()))
    }

    /// Every association: ``{identifier, association_type, origin, destination, sequence_number}``.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
    /// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
    /// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
    /// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
    /// ...                        for c in ("add", "sub")]})
    /// >>> [(a["origin"], a["association_type"], a["destination"]) for a in f.associations()]
    /// [('add', 'isChildOf', 'number'), ('sub', 'isChildOf', 'number')]
    fn associations<'py>(&self, py: Python<'py>) -> PyResult<Arg<'py>> {
        guard(py, || to_python(py, &self.inner.associations()))
    }

    fn __len__(&self) -> usize {
        self.inner.items().len()
    }

    fn __repr__(&self) -> String {
        format!("Framework({:?}, {} items)", self.inner.title(), self.inner.items().len())
    }
}

/// A document argument: JSON text, or data (a dict or list) serialised here.
fn document(object: &Arg<'_>, field: &str) -> PyResult<String> {
    match text(object, field) {
        Ok(t) => Ok(t.into_owned()),
        Err(_) => Ok(convert::value(object, field)?.to_string()),
    }
}

/// xAPI statement(s) → ``{"accepted": [evidence...], "rejected": [{index, code, field, reason}]}``.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> report = mastery.ingest_xapi([{"actor": {"mbox": "mailto:ada@example.org"},
/// ...     "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"}, "object": {"id": "https://example.org/quiz/1"},
/// ...     "result": {"score": {"scaled": 0.9}}, "timestamp": "2024-05-01T10:00:00Z"}])
/// >>> report["accepted"][0]["score"], report["rejected"]
/// ({'scaled': 0.9}, [])
#[pyfunction]
#[pyo3(signature = (text, mapping=None))]
fn ingest_xapi<'py>(py: Python<'py>, text: &Arg<'py>, mapping: Option<&Arg<'py>>) -> PyResult<Arg<'py>> {
    guard(py, || {
        let text = document(text, "text")?;
        let mapping: core::EvidenceMapping = data_or_default(mapping, "mapping")?;
        let report = py.detach(|| core::parse_xapi(&text, &mapping));
        to_python(py, &report.py_err(py)?)
    })
}

/// A Caliper 1.2 envelope, event or list of events → the same report shape as `ingest_xapi`.
#[pyfunction]
#[pyo3(signature = (text, mapping=None))]
fn ingest_caliper<'py>(py: Python<'py>, text: &Arg<'py>, mapping: Option<&Arg<'py>>) -> PyResult<Arg<'py>> {
    guard(py, || {
        let text = document(text, "text")?;
        let mapping: core::EvidenceMapping = data_or_default(mapping, "mapping")?;
        let report = py.detach(|| core::parse_caliper(&text, &mapping));
        to_python(py, &report.py_err(py)?)
    })
}

/// Validates any Caliper 1.2 document; raises `MasteryError` naming the first bad field.
#[pyfunction]
fn validate_caliper(py: Python<'_>, text: &Arg<'_>) -> PyResult<()> {
    guard(py, || core::validate_caliper(&document(text, "text")?).py_err(py))
}

/// A pyBKT-style CSV (`user_id, skill_name, correct[, order_id]`) → a report.
#[pyfunction]
fn ingest_pybkt_csv<'py>(py: Python<'py>, text: &Arg<'py>) -> PyResult<Arg<'py>> {
    guard(py, || {
        let text = convert::text(text, "text")?;
        let report = py.detach(|| core::parse_pybkt_csv(&text));
        to_python(py, &report.py_err(py)?)
    })
}

/// A fitted BKT model (the native half of `mastery.BKTModel`).
#[pyclass(module = "mastery", frozen)]
#[derive(Debug)]
pub(crate) struct NativeBktModel {
    pub(crate) inner: core::mastery::BktModel,
}

/// Columns (numpy int64 arrays, read in place) → the core's response table. Learners, skills and
/// templates arrive as codes (`pandas.factorize`) with the names of skill and template codes.
#[allow(clippy::too_many_arguments)]
fn table(
    learner: PyReadonlyArray1<'_, i64>,
    skill: PyReadonlyArray1<'_, i64>,
    correct: PyReadonlyArray1<'_, i64>,
    order: Option<PyReadonlyArray1<'_, i64>>,
    template: Option<PyReadonlyArray1<'_, i64>>,
    prior_group: Option<PyReadonlyArray1<'_, i64>>,
    [skill_names, template_names, prior_group_names]: [Vec<String>; 3],
) -> Result<core::mastery::ResponseTable, core::MasteryError> {
    let codes = |a: &PyReadonlyArray1<'_, i64>, field: &str| -> Result<Vec<u32>, core::MasteryError> {
        a.as_array()
            .iter()
            .map(|&c| {
                u32::try_from(c).map_err(|_| core::MasteryError::InvalidInput {
                    field: field.into(),
                    reason: "codes must be non-negative".into(),
                })
            })
            .collect()
    };
    let correct = correct
        .as_array()
        .iter()
        .map(|&c| match c {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(core::MasteryError::InvalidInput { field: "correct".into(), reason: "must be 0 or 1".into() }),
        })
        .collect::<Result<Vec<bool>, _>>()?;
    Ok(core::mastery::ResponseTable {
        learner: codes(&learner, "user_id")?,
        skill: codes(&skill, "skill_name")?,
        correct,
        order: order.map(|o| o.as_array().to_vec()),
        template: template.map(|t| codes(&t, "template_id")).transpose()?,
        prior_group: prior_group.map(|t| codes(&t, "multiprior")).transpose()?,
        skill_names,
        template_names,
        prior_group_names,
    })
}

#[pymethods]
impl NativeBktModel {
    #[staticmethod]
    #[pyo3(signature = (learner, skill, correct, order, template, prior_group, names, options=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        learner: PyReadonlyArray1<'_, i64>,
        skill: PyReadonlyArray1<'_, i64>,
        correct: PyReadonlyArray1<'_, i64>,
        order: Option<PyReadonlyArray1<'_, i64>>,
        template: Option<PyReadonlyArray1<'_, i64>>,
        prior_group: Option<PyReadonlyArray1<'_, i64>>,
        names: [Vec<String>; 3],
        options: Option<&Bound<'_, PyAny>>,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let options: core::mastery::BktOptions = from_python(options)?;
        let callback = progress::callback(progress)?;
        let table = table(learner, skill, correct, order, template, prior_group, names).py_err(py)?;
        let inner =
            progress::run(py, callback.as_ref(), |on| core::mastery::BktModel::fit_table_with(&table, &options, on))?;
        Ok(Self { inner })
    }

    /// k-fold cross-validation by learner: `{skill: [evaluation per fold]}`.
    #[staticmethod]
    #[pyo3(signature = (learner, skill, correct, order, template, prior_group, names, folds, options=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn crossvalidate<'py>(
        py: Python<'py>,
        learner: PyReadonlyArray1<'py, i64>,
        skill: PyReadonlyArray1<'py, i64>,
        correct: PyReadonlyArray1<'py, i64>,
        order: Option<PyReadonlyArray1<'py, i64>>,
        template: Option<PyReadonlyArray1<'py, i64>>,
        prior_group: Option<PyReadonlyArray1<'py, i64>>,
        names: [Vec<String>; 3],
        folds: usize,
        options: Option<&Bound<'py, PyAny>>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options: core::mastery::BktOptions = from_python(options)?;
        let callback = progress::callback(progress)?;
        let table = table(learner, skill, correct, order, template, prior_group, names).py_err(py)?;
        let result = progress::run(py, callback.as_ref(), |on| {
            core::mastery::BktModel::crossvalidate_table_with(&table, &options, folds, on)
        })?;
        to_python(py, &result)
    }

    /// `(P(correct), P(known))` per row as numpy arrays, in input order.
    #[pyo3(signature = (learner, skill, correct, order, template, prior_group, names))]
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        learner: PyReadonlyArray1<'py, i64>,
        skill: PyReadonlyArray1<'py, i64>,
        correct: PyReadonlyArray1<'py, i64>,
        order: Option<PyReadonlyArray1<'py, i64>>,
        template: Option<PyReadonlyArray1<'py, i64>>,
        prior_group: Option<PyReadonlyArray1<'py, i64>>,
        names: [Vec<String>; 3],
    ) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>)> {
        let table = table(learner, skill, correct, order, template, prior_group, names).py_err(py)?;
        let (c, s) = py.detach(|| self.inner.predict_columns(&table)).py_err(py)?;
        Ok((c.into_pyarray(py), s.into_pyarray(py)))
    }

    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        core::mastery::BktModel::from_json(text).py_err(py).map(|inner| Self { inner })
    }

    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// `{skill: {"params": {...}, "learn_classes": {...}, "gs_classes": {...}}}`
    fn skills<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.skills)
    }

    /// One online step: the state after observing `correct` on `skill` (a learner's first step
    /// starts from their prior group's prior under `multiprior`).
    #[pyo3(signature = (skill, state, correct, template=None, prior_group=None))]
    #[allow(clippy::too_many_arguments)]
    fn update<'py>(
        &self,
        py: Python<'py>,
        skill: &str,
        state: Option<&Bound<'py, PyAny>>,
        correct: bool,
        template: Option<&str>,
        prior_group: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let model = self.inner.skill(skill).py_err(py)?;
        let first = model.initial_state_in(prior_group);
        let mut state = match state {
            Some(s) if !s.is_none() => from_python::<Option<core::mastery::KnowledgeState>>(Some(s))?.unwrap_or(first),
            _ => first,
        };
        model.update(&mut state, correct, template);
        to_python(py, &state)
    }
}

/// A Canvas-style mastery calculation over scored evidence.
///
/// ``method`` is like ``{"method": "decaying_average", "rate": 65}`` (also ``weighted_average``, ``n_mastery``,
/// ``latest``, ``highest``, ``average``); ``evidence`` a list of ``{"score", "assessed_at", "due_at"?}``;
/// ``order`` ``"assessed"`` (default) or ``"due"``. ``None`` without evidence.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> mastery.calculate({"method": "decaying_average", "rate": 65},
/// ...                   [{"score": 2, "assessed_at": "2024-01-01T00:00:00Z"},
/// ...                    {"score": 4, "assessed_at": "2024-01-02T00:00:00Z"}], 3)
/// 3.3
#[pyfunction]
#[pyo3(signature = (method, evidence, mastery_points, order=None))]
fn calculate(
    py: Python<'_>,
    method: &Arg<'_>,
    evidence: &Arg<'_>,
    mastery_points: &Arg<'_>,
    order: Option<&Arg<'_>>,
) -> PyResult<Option<f64>> {
    guard(py, || {
        let method: core::mastery::CalculationMethod = data(method, "method")?;
        let evidence: Vec<core::mastery::ScoredEvidence> = data(evidence, "evidence")?;
        let mastery_points = number(mastery_points, "mastery_points")?;
        let order: core::mastery::EvidenceOrder = data_or_default(order, "order")?;
        method.calculate(&evidence, mastery_points, order).py_err(py)
    })
}

/// A ready-made proficiency scale: ``"canvas"`` or ``"khan"``.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> [r["description"] for r in mastery.proficiency_scale("canvas")["ratings"]]
/// ['Exceeds Mastery', 'Mastery', 'Near Mastery', 'Below Mastery', 'No Evidence']
#[pyfunction]
fn proficiency_scale<'py>(py: Python<'py>, name: &Arg<'py>) -> PyResult<Arg<'py>> {
    guard(py, || to_python(py, &core::mastery::ProficiencyScale::named(&text(name, "name")?).py_err(py)?))
}

/// The rating a score earns on a scale (the scale is validated first).
///
/// Examples
/// --------
/// >>> import mastery
/// >>> mastery.rating_for(mastery.proficiency_scale("canvas"), 3.5)["description"]
/// 'Mastery'
#[pyfunction]
fn rating_for<'py>(py: Python<'py>, scale: &Arg<'py>, score: &Arg<'py>) -> PyResult<Arg<'py>> {
    guard(py, || {
        let scale = validated_scale(py, scale)?;
        to_python(py, scale.rating_for(number(score, "score")?))
    })
}

fn validated_scale(py: Python<'_>, scale: &Arg<'_>) -> PyResult<core::mastery::ProficiencyScale> {
    core::mastery::ProficiencyScale::from_input(data(scale, "scale")?).py_err(py)
}

type Standings = BTreeMap<String, core::mastery::Standing>;

/// The learner's frontier: what to work on next, given ``standings``
/// ``{competency: {"value": 0..1, "mastered": bool}}``.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
/// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
/// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
/// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
/// ...                        for c in ("add", "sub")]})
/// >>> standings = {"add": {"value": 0.9, "mastered": True}, "sub": {"value": 0.3, "mastered": False}}
/// >>> [(c["competency"], c["reason"]) for c in mastery.frontier(f, standings)]
/// [('sub', 'no prerequisites')]
#[pyfunction]
fn frontier<'py>(py: Python<'py>, framework: &Arg<'py>, standings: &Arg<'py>) -> PyResult<Arg<'py>> {
    guard(py, || {
        let framework = self::framework(framework, "framework")?;
        let standings: Standings = data(standings, "standings")?;
        to_python(py, &core::mastery::frontier(&framework.inner, &standings))
    })
}

/// Parents' standings from their children (``rules`` per parent id, ``default`` otherwise:
/// ``{"rule": "all"}`` unless given).
///
/// Examples
/// --------
/// >>> import mastery
/// >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
/// ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
/// ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
/// ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
/// ...                        for c in ("add", "sub")]})
/// >>> standings = {"add": {"value": 0.9, "mastered": True}, "sub": {"value": 0.3, "mastered": False}}
/// >>> mastery.roll_up(f, standings)["number"]["standing"]
/// {'mastered': False, 'value': 0.6}
#[pyfunction]
#[pyo3(signature = (framework, standings, rules=None, default=None))]
fn roll_up<'py>(
    py: Python<'py>,
    framework: &Arg<'py>,
    standings: &Arg<'py>,
    rules: Option<&Arg<'py>>,
    default: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let framework = self::framework(framework, "framework")?;
        let standings: Standings = data(standings, "standings")?;
        let rules: BTreeMap<String, core::mastery::RollupRule> = data_or_default(rules, "rules")?;
        let default: Option<core::mastery::RollupRule> = data_or_default(default, "default")?;
        let result = core::mastery::roll_up(
            &framework.inner,
            &standings,
            &rules,
            &default.unwrap_or(core::mastery::RollupRule::All),
        )
        .py_err(py)?;
        to_python(py, &result)
    })
}

/// Per-competency class summary: ``scores`` is ``{learner: {competency: points}}``.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> rows = mastery.class_summary({"ada": {"add": 4}, "bo": {"add": 2}}, mastery.proficiency_scale("canvas"))
/// >>> rows[0]["competency"], rows[0]["mean"], rows[0]["mastered_share"]
/// ('add', 3.0, 0.5)
#[pyfunction]
#[pyo3(signature = (scores, scale, competencies=None))]
fn class_summary<'py>(
    py: Python<'py>,
    scores: &Arg<'py>,
    scale: &Arg<'py>,
    competencies: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let scores: BTreeMap<String, BTreeMap<String, f64>> = data(scores, "scores")?;
        let scale = validated_scale(py, scale)?;
        let competencies = opt_strings(competencies, "competencies")?;
        to_python(py, &core::mastery::class_summary(&scores, &scale, competencies.as_deref()))
    })
}

/// RMSE, accuracy and AUC of predicted probabilities against 0/1 outcomes.
#[pyfunction]
fn evaluate<'py>(py: Python<'py>, predicted: &Arg<'py>, outcomes: &Arg<'py>) -> PyResult<Arg<'py>> {
    guard(py, || {
        let predicted = numbers(predicted, "predicted", false)?;
        let outcomes: Vec<bool> = integers(outcomes, "outcomes")?.iter().map(|o| *o == 1).collect();
        to_python(py, &core::mastery::evaluate(&predicted, &outcomes).py_err(py)?)
    })
}

/// The streak and its explained calendar in the learner's own zone.
///
/// ``activities`` are ``{"at", "zone", "minutes"?, "points"?}``; ``policy`` the goal (daily by default),
/// freezes and rest days.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> report = mastery.evaluate_streak([{"at": "2024-05-01T18:00:00Z", "zone": "Europe/Paris"},
/// ...                                   {"at": "2024-05-02T18:00:00Z", "zone": "Europe/Paris"}],
/// ...                                  "2024-05-02T20:00:00Z", "Europe/Paris")
/// >>> report["current"], report["longest"], [d["state"] for d in report["days"]]
/// (2, 2, ['met', 'met'])
#[pyfunction]
#[pyo3(signature = (activities, now, current_zone, policy=None))]
fn evaluate_streak<'py>(
    py: Python<'py>,
    activities: &Arg<'py>,
    now: &Arg<'py>,
    current_zone: &Arg<'py>,
    policy: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let activities: Vec<core::streak::Activity> = data(activities, "activities")?;
        let policy: core::streak::StreakPolicy = data_or_default(policy, "policy")?;
        let now = core::time::parse_instant(&text(now, "now")?, "now").py_err(py)?;
        let zone = text(current_zone, "current_zone")?;
        to_python(py, &core::streak::evaluate_streak(&activities, &policy, now, &zone).py_err(py)?)
    })
}

fn report(report: &Arg<'_>) -> PyResult<core::streak::StreakReport> {
    data(report, "report")
}

/// The last `weeks` weeks of a streak report as a Monday-first calendar.
#[pyfunction]
fn streak_tracker<'py>(py: Python<'py>, report: &Arg<'py>, today: &Arg<'py>, weeks: &Arg<'py>) -> PyResult<Arg<'py>> {
    guard(py, || {
        let report = self::report(report)?;
        let today: core::time::Date =
            text(today, "today")?.parse().map_err(|_| invalid(py, "today", "not a date (YYYY-MM-DD)"))?;
        let weeks = count(weeks, "weeks")?;
        to_python(py, &core::dashboard::streak_tracker(&report, today, weeks).py_err(py)?)
    })
}

/// Activity per date as weeks x weekdays.
#[pyfunction]
fn activity_calendar<'py>(py: Python<'py>, report: &Arg<'py>) -> PyResult<Arg<'py>> {
    guard(py, || to_python(py, &core::dashboard::activity_calendar(&self::report(report)?, None)))
}

/// Concentric rings per competency area.
#[pyfunction]
#[pyo3(signature = (framework, standings, scale, areas=None, metric=None))]
fn ring_chart<'py>(
    py: Python<'py>,
    framework: &Arg<'py>,
    standings: &Arg<'py>,
    scale: &Arg<'py>,
    areas: Option<&Arg<'py>>,
    metric: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let framework = self::framework(framework, "framework")?;
        let standings: Standings = data(standings, "standings")?;
        let areas = opt_strings(areas, "areas")?;
        let metric: core::dashboard::RingMetric = data_or_default(metric, "metric")?;
        let scale = validated_scale(py, scale)?;
        let chart =
            core::dashboard::ring_chart(&framework.inner, &standings, areas.as_deref(), metric, &scale).py_err(py)?;
        to_python(py, &chart)
    })
}

/// Learners x competencies: `values[learner][competency]` on 0..1.
#[pyfunction]
fn class_heatmap<'py>(
    py: Python<'py>,
    values: &Arg<'py>,
    competencies: &Arg<'py>,
    scale: &Arg<'py>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let values: BTreeMap<String, BTreeMap<String, f64>> = data(values, "values")?;
        let competencies: Vec<core::dashboard::Label> = data(competencies, "competencies")?;
        to_python(py, &core::dashboard::class_heatmap(&values, &competencies, &validated_scale(py, scale)?))
    })
}

/// Trajectories per competency: `states` are `{"competency", "history": [{"evidence", "score", "at"}]}`
/// (the engine's state shape), `labels` maps competency ids to names, `window` is
/// `{"from"?, "to"?}`, `method` a calculation method, `scale` a proficiency scale.
#[pyfunction]
#[pyo3(signature = (states, scale, labels=None, window=None, method=None, weeks=None))]
#[allow(clippy::too_many_arguments)]
fn progress_over_time<'py>(
    py: Python<'py>,
    states: &Arg<'py>,
    scale: &Arg<'py>,
    labels: Option<&Arg<'py>>,
    window: Option<&Arg<'py>>,
    method: Option<&Arg<'py>>,
    weeks: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let states: Vec<core::mastery::CompetencyState> = data(states, "states")?;
        let labels: BTreeMap<String, String> = data_or_default(labels, "labels")?;
        let window: core::dashboard::TimeWindow = data_or_default(window, "window")?;
        let method: core::mastery::CalculationMethod = data_or_default(method, "method")?;
        let weeks = match weeks {
            Some(w) if !w.is_none() => flag(w, "weeks")?,
            _ => false,
        };
        let config = core::mastery::MasteryConfig {
            method,
            scale: validated_scale(py, scale)?,
            ..core::mastery::MasteryConfig::default()
        };
        if weeks {
            to_python(py, &core::dashboard::competency_weeks_heatmap(&states, &labels, window, &config))
        } else {
            to_python(py, &core::dashboard::progress_over_time(&states, &labels, window, &config))
        }
    })
}

/// Renders a view model (`kind`: ring_chart, streak_tracker, heatmap, progress) as accessible SVG.
#[pyfunction]
fn render_svg(py: Python<'_>, kind: &Arg<'_>, view: &Arg<'_>) -> PyResult<String> {
    use core::dashboard as d;
    guard(py, || {
        Ok(match &*text(kind, "kind")? {
            "ring_chart" => d::render_ring_chart(&data(view, "view")?),
            "streak_tracker" => d::render_streak_tracker(&data(view, "view")?),
            "heatmap" => d::render_heatmap(&data(view, "view")?),
            "progress" => d::render_progress(&data(view, "view")?),
            _ => return Err(invalid(py, "kind", "must be ring_chart, streak_tracker, heatmap or progress")),
        })
    })
}

fn issuer_key(py: Python<'_>, seed: &Arg<'_>) -> PyResult<core::credential::IssuerKey> {
    core::credential::IssuerKey::from_seed(&bytes(seed, "seed")?).py_err(py)
}

fn instant(py: Python<'_>, value: &Arg<'_>, field: &str) -> PyResult<core::time::Instant> {
    core::time::parse_instant(&text(value, field)?, field).py_err(py)
}

/// The ``did:key`` of the Ed25519 issuer key with this 32-byte seed.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> mastery.issuer_did(bytes(32))
/// 'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp'
#[pyfunction]
fn issuer_did(py: Python<'_>, seed: &Arg<'_>) -> PyResult<String> {
    guard(py, || Ok(issuer_key(py, seed)?.did()))
}

/// An OB 3.0 OpenBadgeCredential for one award (the learner only as a salted hash).
///
/// Examples
/// --------
/// >>> import mastery
/// >>> seed = bytes(32)
/// >>> credential = mastery.achievement_credential("urn:uuid:1",
/// ...     {"id": "https://example.org/a/1", "version": 1, "name": "Adder", "description": "Adds",
/// ...      "criteria": "Master addition", "rule": {"rule": "mastery", "competency": "add"}},
/// ...     {"id": mastery.issuer_did(seed), "name": "Example School"},
/// ...     "ada@example.org", "salt", "2024-05-01T00:00:00Z")
/// >>> credential["type"], credential["credentialSubject"]["identifier"][0]["hashed"]
/// (['VerifiableCredential', 'OpenBadgeCredential'], True)
#[pyfunction]
#[pyo3(signature = (credential_id, achievement, issuer, learner_identifier, salt, issued_at, evidence_urls=None, status=None))]
#[allow(clippy::too_many_arguments)]
fn achievement_credential<'py>(
    py: Python<'py>,
    credential_id: &Arg<'py>,
    achievement: &Arg<'py>,
    issuer: &Arg<'py>,
    learner_identifier: &Arg<'py>,
    salt: &Arg<'py>,
    issued_at: &Arg<'py>,
    evidence_urls: Option<&Arg<'py>>,
    status: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let achievement: core::credential::Achievement = data(achievement, "achievement")?;
        let issuer: core::credential::IssuerProfile = data(issuer, "issuer")?;
        let status: Option<core::credential::StatusEntry> = data_or_default(status, "status")?;
        let issued_at = instant(py, issued_at, "issued_at")?;
        let c = core::credential::achievement_credential(
            &text(credential_id, "credential_id")?,
            &achievement,
            &issuer,
            &text(learner_identifier, "learner_identifier")?,
            &text(salt, "salt")?,
            issued_at,
            &opt_strings(evidence_urls, "evidence_urls")?.unwrap_or_default(),
            status.as_ref(),
        );
        to_python(py, &c)
    })
}

/// Signs a credential (a dict or JSON text) as a compact VC-JWT with the issuer's seed.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> seed = bytes(32)
/// >>> credential = mastery.achievement_credential("urn:uuid:1",
/// ...     {"id": "https://example.org/a/1", "version": 1, "name": "Adder", "description": "Adds",
/// ...      "criteria": "Master addition", "rule": {"rule": "mastery", "competency": "add"}},
/// ...     {"id": mastery.issuer_did(seed), "name": "Example School"},
/// ...     "ada@example.org", "salt", "2024-05-01T00:00:00Z")
/// >>> jwt = mastery.sign_vc_jwt(credential, seed)
/// >>> jwt.count(".")
/// 2
#[pyfunction]
fn sign_vc_jwt(py: Python<'_>, credential: &Arg<'_>, seed: &Arg<'_>) -> PyResult<String> {
    guard(py, || {
        let credential = json_arg(credential, "credential")?;
        core::credential::sign_vc_jwt(&credential, &issuer_key(py, seed)?).py_err(py)
    })
}

/// Verifies a VC-JWT: ``{"valid", "checks": [{"name", "passed", "detail"}], "credential"}``.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> seed = bytes(32)
/// >>> credential = mastery.achievement_credential("urn:uuid:1",
/// ...     {"id": "https://example.org/a/1", "version": 1, "name": "Adder", "description": "Adds",
/// ...      "criteria": "Master addition", "rule": {"rule": "mastery", "competency": "add"}},
/// ...     {"id": mastery.issuer_did(seed), "name": "Example School"},
/// ...     "ada@example.org", "salt", "2024-05-01T00:00:00Z")
/// >>> result = mastery.verify_vc_jwt(mastery.sign_vc_jwt(credential, seed), "2024-06-01T00:00:00Z")
/// >>> result["valid"], [c["name"] for c in result["checks"]]
/// (True, ['signature', 'schema', 'validity', 'status', 'issuer'])
#[pyfunction]
#[pyo3(signature = (jwt, now, expected_issuer=None, revoked_indexes=None))]
fn verify_vc_jwt<'py>(
    py: Python<'py>,
    jwt: &Arg<'py>,
    now: &Arg<'py>,
    expected_issuer: Option<&Arg<'py>>,
    revoked_indexes: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let revoked: Vec<u64> = data_or_default(revoked_indexes, "revoked_indexes")?;
        let options = core::credential::VerifyOptions {
            expected_issuer: opt_text(expected_issuer, "expected_issuer")?,
            revoked_indexes: revoked.into_iter().collect(),
            ..core::credential::VerifyOptions::at(instant(py, now, "now")?)
        };
        to_python(py, &core::credential::verify_vc_jwt(&text(jwt, "jwt")?, &options).py_err(py)?)
    })
}

/// Adds an ``eddsa-rdfc-2022`` Data Integrity proof; returns the signed credential as a dict.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> seed = bytes(32)
/// >>> credential = mastery.achievement_credential("urn:uuid:1",
/// ...     {"id": "https://example.org/a/1", "version": 1, "name": "Adder", "description": "Adds",
/// ...      "criteria": "Master addition", "rule": {"rule": "mastery", "competency": "add"}},
/// ...     {"id": mastery.issuer_did(seed), "name": "Example School"},
/// ...     "ada@example.org", "salt", "2024-05-01T00:00:00Z")
/// >>> signed = mastery.sign_data_integrity(credential, seed, "2024-05-01T00:00:00Z")
/// >>> signed["proof"]["cryptosuite"]
/// 'eddsa-rdfc-2022'
#[pyfunction]
#[pyo3(signature = (credential, seed, created, verification_method=None))]
fn sign_data_integrity<'py>(
    py: Python<'py>,
    credential: &Arg<'py>,
    seed: &Arg<'py>,
    created: &Arg<'py>,
    verification_method: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let credential = json_arg(credential, "credential")?;
        let key = issuer_key(py, seed)?;
        let created = instant(py, created, "created")?;
        let method = opt_text(verification_method, "verification_method")?;
        let signed = py
            .detach(|| core::credential::sign_data_integrity(&credential, &key, method.as_deref(), created))
            .py_err(py)?;
        to_python(py, &signed)
    })
}

/// Verifies a credential in either format (a VC-JWT, or JSON with embedded proofs).
///
/// ``options``: ``{"now", "expected_issuer", "revoked_indexes", "keys", "status_lists"}``.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> seed = bytes(32)
/// >>> credential = mastery.achievement_credential("urn:uuid:1",
/// ...     {"id": "https://example.org/a/1", "version": 1, "name": "Adder", "description": "Adds",
/// ...      "criteria": "Master addition", "rule": {"rule": "mastery", "competency": "add"}},
/// ...     {"id": mastery.issuer_did(seed), "name": "Example School"},
/// ...     "ada@example.org", "salt", "2024-05-01T00:00:00Z")
/// >>> signed = mastery.sign_data_integrity(credential, seed, "2024-05-01T00:00:00Z")
/// >>> mastery.verify_credential(signed, {"now": "2024-06-01T00:00:00Z"})["valid"]
/// True
#[pyfunction]
fn verify_credential<'py>(py: Python<'py>, credential: &Arg<'py>, options: &Arg<'py>) -> PyResult<Arg<'py>> {
    guard(py, || {
        let text = match text(credential, "credential") {
            Ok(text) => text.into_owned(),
            Err(_) => json_arg(credential, "credential")?.to_string(),
        };
        let options: core::credential::VerifyOptions = typed_arg(options, "options")?;
        let verification = py.detach(|| core::credential::verify_credential(&text, &options)).py_err(py)?;
        to_python(py, &verification)
    })
}

/// RDFC-1.0 canonical N-Quads of a JSON-LD document (bundled contexts only).
///
/// Examples
/// --------
/// >>> import mastery
/// >>> mastery.canonicalize({"@context": {"name": "http://schema.org/name"}, "name": "Ada"})
/// '_:c14n0 <http://schema.org/name> "Ada" .\n'
#[pyfunction]
fn canonicalize(py: Python<'_>, document: &Arg<'_>) -> PyResult<String> {
    guard(py, || {
        let document = json_arg(document, "document")?;
        py.detach(|| core::credential::canonicalize(&document)).py_err(py)
    })
}

fn certificate(
    py: Python<'_>,
    credential: &Arg<'_>,
    learner_name: &Arg<'_>,
    verification_url: &Arg<'_>,
    template: Option<&Arg<'_>>,
) -> PyResult<(core::credential::Certificate, core::credential::CertificateTemplate)> {
    let credential = json_arg(credential, "credential")?;
    let cert = core::credential::Certificate::from_credential(
        &credential,
        &text(learner_name, "learner_name")?,
        &text(verification_url, "verification_url")?,
    )
    .py_err(py)?;
    let template = match template {
        Some(t) if !t.is_none() => typed_arg(t, "template")?,
        _ => core::credential::CertificateTemplate::default(),
    };
    Ok((cert, template))
}

/// The printable certificate of a credential as SVG text.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> seed = bytes(32)
/// >>> credential = mastery.achievement_credential("urn:uuid:1",
/// ...     {"id": "https://example.org/a/1", "version": 1, "name": "Adder", "description": "Adds",
/// ...      "criteria": "Master addition", "rule": {"rule": "mastery", "competency": "add"}},
/// ...     {"id": mastery.issuer_did(seed), "name": "Example School"},
/// ...     "ada@example.org", "salt", "2024-05-01T00:00:00Z")
/// >>> mastery.certificate_svg(credential, "Ada", "https://example.org/verify/1").startswith("<svg")
/// True
#[pyfunction]
#[pyo3(signature = (credential, learner_name, verification_url, template=None))]
fn certificate_svg(
    py: Python<'_>,
    credential: &Arg<'_>,
    learner_name: &Arg<'_>,
    verification_url: &Arg<'_>,
    template: Option<&Arg<'_>>,
) -> PyResult<String> {
    guard(py, || {
        let (cert, template) = certificate(py, credential, learner_name, verification_url, template)?;
        core::credential::certificate_svg(&cert, &template).py_err(py)
    })
}

/// The printable certificate of a credential as PDF bytes (A4 landscape).
///
/// Examples
/// --------
/// >>> import mastery
/// >>> seed = bytes(32)
/// >>> credential = mastery.achievement_credential("urn:uuid:1",
/// ...     {"id": "https://example.org/a/1", "version": 1, "name": "Adder", "description": "Adds",
/// ...      "criteria": "Master addition", "rule": {"rule": "mastery", "competency": "add"}},
/// ...     {"id": mastery.issuer_did(seed), "name": "Example School"},
/// ...     "ada@example.org", "salt", "2024-05-01T00:00:00Z")
/// >>> mastery.certificate_pdf(credential, "Ada", "https://example.org/verify/1")[:5]
/// b'%PDF-'
#[pyfunction]
#[pyo3(signature = (credential, learner_name, verification_url, template=None))]
fn certificate_pdf<'py>(
    py: Python<'py>,
    credential: &Arg<'py>,
    learner_name: &Arg<'py>,
    verification_url: &Arg<'py>,
    template: Option<&Arg<'py>>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    guard(py, || {
        let (cert, template) = certificate(py, credential, learner_name, verification_url, template)?;
        let pdf = core::credential::certificate_pdf(&cert, &template).py_err(py)?;
        Ok(pyo3::types::PyBytes::new(py, &pdf))
    })
}

fn badge_version(py: Python<'_>, version: Option<&Arg<'_>>) -> PyResult<core::credential::BadgeVersion> {
    let version = opt_text(version, "version")?;
    core::credential::BadgeVersion::parse(version.as_deref().unwrap_or("ob3")).py_err(py)
}

/// Bakes a credential (JSON text or a VC-JWT) into PNG bytes (``version``: ``"ob3"`` or ``"ob2"``).
///
/// Examples
/// --------
/// >>> import mastery, struct, zlib
/// >>> def chunk(kind, data):
/// ...     return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
/// >>> png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
/// ...        + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))
/// >>> mastery.unbake_png(mastery.bake_png(png, '{"id": "urn:uuid:1"}'))
/// ('ob3', '{"id": "urn:uuid:1"}')
#[pyfunction]
#[pyo3(signature = (png, credential, version=None))]
fn bake_png<'py>(
    py: Python<'py>,
    png: &Arg<'py>,
    credential: &Arg<'py>,
    version: Option<&Arg<'py>>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    guard(py, || {
        let version = badge_version(py, version)?;
        let baked =
            core::credential::bake_png(&bytes(png, "png")?, &text(credential, "credential")?, version).py_err(py)?;
        Ok(pyo3::types::PyBytes::new(py, &baked))
    })
}

/// ``(version, credential text)`` baked into PNG bytes, or ``None``.
///
/// Examples
/// --------
/// >>> import mastery, struct, zlib
/// >>> def chunk(kind, data):
/// ...     return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
/// >>> png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
/// ...        + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))
/// >>> mastery.unbake_png(png) is None
/// True
#[pyfunction]
fn unbake_png(py: Python<'_>, png: &Arg<'_>) -> PyResult<Option<(String, String)>> {
    guard(py, || {
        Ok(core::credential::unbake_png(&bytes(png, "png")?).py_err(py)?.map(|(v, t)| (v.name().to_owned(), t)))
    })
}

/// Bakes a credential (JSON text or a VC-JWT) into SVG text.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> baked = mastery.bake_svg('<svg xmlns="http://www.w3.org/2000/svg"></svg>', '{"id": "urn:uuid:1"}')
/// >>> mastery.unbake_svg(baked)
/// ('ob3', '{"id": "urn:uuid:1"}')
#[pyfunction]
#[pyo3(signature = (svg, credential, version=None))]
fn bake_svg(py: Python<'_>, svg: &Arg<'_>, credential: &Arg<'_>, version: Option<&Arg<'_>>) -> PyResult<String> {
    guard(py, || {
        let version = badge_version(py, version)?;
        core::credential::bake_svg(&text(svg, "svg")?, &text(credential, "credential")?, version).py_err(py)
    })
}

/// ``(version, credential text)`` baked into SVG text, or ``None``.
///
/// Examples
/// --------
/// >>> import mastery
/// >>> mastery.unbake_svg('<svg xmlns="http://www.w3.org/2000/svg"></svg>') is None
/// True
#[pyfunction]
fn unbake_svg(py: Python<'_>, svg: &Arg<'_>) -> PyResult<Option<(String, String)>> {
    guard(py, || {
        Ok(core::credential::unbake_svg(&text(svg, "svg")?).py_err(py)?.map(|(v, t)| (v.name().to_owned(), t)))
    })
}

#[pymodule]
fn _mastery(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("MasteryError", m.py().get_type::<MasteryError>())?;
    m.add("StoreConflict", m.py().get_type::<error::StoreConflict>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Framework>()?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<async_engine::AsyncEngineCore>()?;
    m.add_class::<async_engine::Call>()?;
    m.add_function(wrap_pyfunction!(ingest_xapi, m)?)?;
    m.add_function(wrap_pyfunction!(ingest_caliper, m)?)?;
    m.add_function(wrap_pyfunction!(validate_caliper, m)?)?;
    m.add_function(wrap_pyfunction!(ingest_pybkt_csv, m)?)?;
    m.add_class::<NativeBktModel>()?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_streak, m)?)?;
    m.add_function(wrap_pyfunction!(streak_tracker, m)?)?;
    m.add_function(wrap_pyfunction!(activity_calendar, m)?)?;
    m.add_function(wrap_pyfunction!(ring_chart, m)?)?;
    m.add_function(wrap_pyfunction!(class_heatmap, m)?)?;
    m.add_function(wrap_pyfunction!(render_svg, m)?)?;
    m.add_function(wrap_pyfunction!(progress_over_time, m)?)?;
    m.add_function(wrap_pyfunction!(issuer_did, m)?)?;
    m.add_function(wrap_pyfunction!(achievement_credential, m)?)?;
    m.add_function(wrap_pyfunction!(sign_vc_jwt, m)?)?;
    m.add_function(wrap_pyfunction!(verify_vc_jwt, m)?)?;
    m.add_function(wrap_pyfunction!(sign_data_integrity, m)?)?;
    m.add_function(wrap_pyfunction!(verify_credential, m)?)?;
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(certificate_svg, m)?)?;
    m.add_function(wrap_pyfunction!(certificate_pdf, m)?)?;
    m.add_function(wrap_pyfunction!(bake_png, m)?)?;
    m.add_function(wrap_pyfunction!(unbake_png, m)?)?;
    m.add_function(wrap_pyfunction!(bake_svg, m)?)?;
    m.add_function(wrap_pyfunction!(unbake_svg, m)?)?;
    m.add_function(wrap_pyfunction!(calculate, m)?)?;
    m.add_class::<risk::NativeRiskModel>()?;
    m.add_function(wrap_pyfunction!(risk::risk_band, m)?)?;
    m.add_function(wrap_pyfunction!(risk::population_stability_index, m)?)?;
    m.add_function(wrap_pyfunction!(risk::risk_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(risk::synthetic_risk_data, m)?)?;
    m.add_function(wrap_pyfunction!(fairness::fairness_report, m)?)?;
    m.add_function(wrap_pyfunction!(proficiency_scale, m)?)?;
    m.add_function(wrap_pyfunction!(rating_for, m)?)?;
    m.add_function(wrap_pyfunction!(frontier, m)?)?;
    m.add_function(wrap_pyfunction!(roll_up, m)?)?;
    m.add_class::<pyo3_arrow::PyTable>()?;
    m.add_function(wrap_pyfunction!(tables::bkt_fit_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(tables::bkt_crossvalidate_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(tables::bkt_predict_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(tables::bkt_predict_arrow_numpy, m)?)?;
    m.add_function(wrap_pyfunction!(tables::arrow_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(tables::risk_predict_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(tables::risk_explain_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(pipelines::risk_features, m)?)?;
    m.add_function(wrap_pyfunction!(pipelines::oulad_risk_table, m)?)?;
    m.add_function(wrap_pyfunction!(gallery::badge_gallery, m)?)?;
    m.add_function(wrap_pyfunction!(class_summary, m)?)?;
    m.add_function(wrap_pyfunction!(records::records_arrow, m)?)?;
    Ok(())
}
