//! Python bindings: conversion and error mapping only; the logic lives in `mastery-core`.
//! Parsing runs with the GIL released, so other Python threads keep working.

mod convert;
mod error;
mod fairness;
mod risk;

use mastery_core as core;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
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

/// A fitted BKT model (the native half of `mastery.BKTModel`).
#[pyclass(module = "mastery", frozen)]
#[derive(Debug)]
struct NativeBktModel {
    inner: core::mastery::BktModel,
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
    #[pyo3(signature = (learner, skill, correct, order, template, prior_group, names, options=None))]
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
    ) -> PyResult<Self> {
        let options: core::mastery::BktOptions = from_python(options)?;
        let table = table(learner, skill, correct, order, template, prior_group, names).py_err(py)?;
        let inner = py.detach(|| core::mastery::BktModel::fit_table(&table, &options)).py_err(py)?;
        Ok(Self { inner })
    }

    /// k-fold cross-validation by learner: `{skill: [evaluation per fold]}`.
    #[staticmethod]
    #[pyo3(signature = (learner, skill, correct, order, template, prior_group, names, folds, options=None))]
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
    ) -> PyResult<Bound<'py, PyAny>> {
        let options: core::mastery::BktOptions = from_python(options)?;
        let table = table(learner, skill, correct, order, template, prior_group, names).py_err(py)?;
        let result = py.detach(|| core::mastery::BktModel::crossvalidate_table(&table, &options, folds)).py_err(py)?;
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
        let predictions = py.detach(|| self.inner.predict_table(&table)).py_err(py)?;
        let (c, s): (Vec<f64>, Vec<f64>) = predictions.iter().map(|p| (p.correct, p.state)).unzip();
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

/// Canvas calculation: `method` like `{"method": "decaying_average", "rate": 65}`; `evidence`
/// a list of `{"score", "assessed_at", "due_at"?}`; `order` "assessed" or "due".
#[pyfunction]
#[pyo3(signature = (method, evidence, mastery_points, order=None))]
fn calculate(
    py: Python<'_>,
    method: &Bound<'_, PyAny>,
    evidence: &Bound<'_, PyAny>,
    mastery_points: f64,
    order: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<f64>> {
    let method: core::mastery::CalculationMethod = from_python(Some(method))?;
    let evidence: Vec<core::mastery::ScoredEvidence> = from_python(Some(evidence))?;
    let order: core::mastery::EvidenceOrder = from_python(order)?;
    method.calculate(&evidence, mastery_points, order).py_err(py)
}

/// A ready-made scale: "canvas" or "khan".
#[pyfunction]
fn proficiency_scale<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    to_python(py, &core::mastery::ProficiencyScale::named(name).py_err(py)?)
}

/// The rating a score earns on a scale (validated first).
#[pyfunction]
fn rating_for<'py>(py: Python<'py>, scale: &Bound<'py, PyAny>, score: f64) -> PyResult<Bound<'py, PyAny>> {
    let scale = validated_scale(py, scale)?;
    to_python(py, scale.rating_for(score))
}

fn validated_scale(py: Python<'_>, scale: &Bound<'_, PyAny>) -> PyResult<core::mastery::ProficiencyScale> {
    core::mastery::ProficiencyScale::from_input(from_python(Some(scale))?).py_err(py)
}

/// The learner's frontier: `standings` is `{competency: {"value": 0..1, "mastered": bool}}`.
#[pyfunction]
fn frontier<'py>(py: Python<'py>, framework: &Framework, standings: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let standings: std::collections::BTreeMap<String, core::mastery::Standing> = from_python(Some(standings))?;
    to_python(py, &core::mastery::frontier(&framework.inner, &standings))
}

/// Parents' standings from their children (`rules` per parent id, `default` otherwise).
#[pyfunction]
#[pyo3(signature = (framework, standings, rules=None, default=None))]
fn roll_up<'py>(
    py: Python<'py>,
    framework: &Framework,
    standings: &Bound<'py, PyAny>,
    rules: Option<&Bound<'py, PyAny>>,
    default: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let standings: std::collections::BTreeMap<String, core::mastery::Standing> = from_python(Some(standings))?;
    let rules: std::collections::BTreeMap<String, core::mastery::RollupRule> = from_python(rules)?;
    let default: Option<core::mastery::RollupRule> = from_python(default)?;
    let result = core::mastery::roll_up(
        &framework.inner,
        &standings,
        &rules,
        &default.unwrap_or(core::mastery::RollupRule::All),
    )
    .py_err(py)?;
    to_python(py, &result)
}

/// Per-competency class summary: `scores` is `{learner: {competency: points}}`.
#[pyfunction]
#[pyo3(signature = (scores, scale, competencies=None))]
fn class_summary<'py>(
    py: Python<'py>,
    scores: &Bound<'py, PyAny>,
    scale: &Bound<'py, PyAny>,
    competencies: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let scores: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> =
        from_python(Some(scores))?;
    let scale = validated_scale(py, scale)?;
    to_python(py, &core::mastery::class_summary(&scores, &scale, competencies.as_deref()))
}

/// RMSE, accuracy and AUC of predicted probabilities against 0/1 outcomes.
#[pyfunction]
fn evaluate<'py>(py: Python<'py>, predicted: Vec<f64>, outcomes: Vec<i64>) -> PyResult<Bound<'py, PyAny>> {
    let outcomes: Vec<bool> = outcomes.iter().map(|o| *o == 1).collect();
    to_python(py, &core::mastery::evaluate(&predicted, &outcomes).py_err(py)?)
}

/// The streak and its explained calendar: `activities` are `{"at", "zone", "minutes"?, "points"?}`.
#[pyfunction]
#[pyo3(signature = (activities, now, current_zone, policy=None))]
fn evaluate_streak<'py>(
    py: Python<'py>,
    activities: &Bound<'py, PyAny>,
    now: &str,
    current_zone: &str,
    policy: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let activities: Vec<core::streak::Activity> = from_python(Some(activities))?;
    let policy: core::streak::StreakPolicy = from_python(policy)?;
    let now = core::time::parse_instant(now, "now").py_err(py)?;
    to_python(py, &core::streak::evaluate_streak(&activities, &policy, now, current_zone).py_err(py)?)
}

/// The last `weeks` weeks of a streak report as a Monday-first calendar.
#[pyfunction]
fn streak_tracker<'py>(
    py: Python<'py>,
    report: &Bound<'py, PyAny>,
    today: &str,
    weeks: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let report: Option<core::streak::StreakReport> = from_python(Some(report))?;
    let today: core::time::Date = today.parse().map_err(|_| {
        error::to_py(
            py,
            core::MasteryError::InvalidInput { field: "today".into(), reason: "not a date (YYYY-MM-DD)".into() },
        )
    })?;
    let report = report.ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("report is required"))?;
    to_python(py, &core::dashboard::streak_tracker(&report, today, weeks))
}

/// Activity per date as weeks x weekdays.
#[pyfunction]
fn activity_calendar<'py>(py: Python<'py>, report: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let report: Option<core::streak::StreakReport> = from_python(Some(report))?;
    let report = report.ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("report is required"))?;
    to_python(py, &core::dashboard::activity_calendar(&report, None))
}

/// Concentric rings per competency area.
#[pyfunction]
#[pyo3(signature = (framework, standings, scale, areas=None, metric=None))]
fn ring_chart<'py>(
    py: Python<'py>,
    framework: &Framework,
    standings: &Bound<'py, PyAny>,
    scale: &Bound<'py, PyAny>,
    areas: Option<Vec<String>>,
    metric: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let standings: std::collections::BTreeMap<String, core::mastery::Standing> = from_python(Some(standings))?;
    let metric: core::dashboard::RingMetric = from_python(metric)?;
    let chart = core::dashboard::ring_chart(
        &framework.inner,
        &standings,
        areas.as_deref(),
        metric,
        &validated_scale(py, scale)?,
    )
    .py_err(py)?;
    to_python(py, &chart)
}

/// Learners x competencies: `values[learner][competency]` on 0..1.
#[pyfunction]
fn class_heatmap<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    competencies: &Bound<'py, PyAny>,
    scale: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let values: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> =
        from_python(Some(values))?;
    let competencies: Vec<core::dashboard::Label> = from_python(Some(competencies))?;
    to_python(py, &core::dashboard::class_heatmap(&values, &competencies, &validated_scale(py, scale)?))
}

/// Trajectories per competency: `states` are `{"competency", "history": [{"evidence", "score", "at"}]}`
/// (the engine's state shape), `labels` maps competency ids to names, `window` is
/// `{"from"?, "to"?}`, `method` a calculation method, `scale` a proficiency scale.
#[pyfunction]
#[pyo3(signature = (states, scale, labels=None, window=None, method=None, weeks=false))]
#[allow(clippy::too_many_arguments)]
fn progress_over_time<'py>(
    py: Python<'py>,
    states: &Bound<'py, PyAny>,
    scale: &Bound<'py, PyAny>,
    labels: Option<&Bound<'py, PyAny>>,
    window: Option<&Bound<'py, PyAny>>,
    method: Option<&Bound<'py, PyAny>>,
    weeks: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let states: Vec<core::mastery::CompetencyState> = from_python(Some(states))?;
    let labels: std::collections::BTreeMap<String, String> = from_python(labels)?;
    let window: core::dashboard::TimeWindow = from_python(window)?;
    let method: core::mastery::CalculationMethod = from_python(method)?;
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
}

/// Renders a view model (`kind`: ring_chart, streak_tracker, heatmap, progress) as accessible SVG.
#[pyfunction]
fn render_svg(kind: &str, view: &Bound<'_, PyAny>) -> PyResult<String> {
    use core::dashboard as d;
    Ok(match kind {
        "ring_chart" => d::render_ring_chart(&from_python::<Option<d::RingChart>>(Some(view))?.ok_or_else(missing)?),
        "streak_tracker" => {
            d::render_streak_tracker(&from_python::<Option<d::StreakTracker>>(Some(view))?.ok_or_else(missing)?)
        }
        "heatmap" => d::render_heatmap(&from_python::<Option<d::Heatmap>>(Some(view))?.ok_or_else(missing)?),
        "progress" => d::render_progress(&from_python::<Option<d::ProgressView>>(Some(view))?.ok_or_else(missing)?),
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "kind must be ring_chart, streak_tracker, heatmap or progress",
            ))
        }
    })
}

fn missing() -> PyErr {
    pyo3::exceptions::PyTypeError::new_err("a view model is required")
}

/// The `did:key` of the Ed25519 issuer key with this 32-byte seed.
#[pyfunction]
fn issuer_did(py: Python<'_>, seed: &[u8]) -> PyResult<String> {
    Ok(core::credential::IssuerKey::from_seed(seed).py_err(py)?.did())
}

/// An OB 3.0 OpenBadgeCredential for one award (the learner only as a salted hash).
#[pyfunction]
#[pyo3(signature = (credential_id, achievement, issuer, learner_identifier, salt, issued_at, evidence_urls=None, status=None))]
#[allow(clippy::too_many_arguments)]
fn achievement_credential<'py>(
    py: Python<'py>,
    credential_id: &str,
    achievement: &Bound<'py, PyAny>,
    issuer: &Bound<'py, PyAny>,
    learner_identifier: &str,
    salt: &str,
    issued_at: &str,
    evidence_urls: Option<Vec<String>>,
    status: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let achievement: Option<core::credential::Achievement> = from_python(Some(achievement))?;
    let issuer: Option<core::credential::IssuerProfile> = from_python(Some(issuer))?;
    let status: Option<core::credential::StatusEntry> = from_python(status)?;
    let (Some(achievement), Some(issuer)) = (achievement, issuer) else {
        return Err(pyo3::exceptions::PyTypeError::new_err("achievement and issuer are required"));
    };
    let issued_at = core::time::parse_instant(issued_at, "issued_at").py_err(py)?;
    let c = core::credential::achievement_credential(
        credential_id,
        &achievement,
        &issuer,
        learner_identifier,
        salt,
        issued_at,
        &evidence_urls.unwrap_or_default(),
        status.as_ref(),
    );
    to_python(py, &c)
}

/// Signs a credential (a dict or JSON text) as a compact VC-JWT with the issuer's seed.
#[pyfunction]
fn sign_vc_jwt(py: Python<'_>, credential: &Bound<'_, PyAny>, seed: &[u8]) -> PyResult<String> {
    let credential = json_arg(py, credential, "credential")?;
    let key = core::credential::IssuerKey::from_seed(seed).py_err(py)?;
    core::credential::sign_vc_jwt(&credential, &key).py_err(py)
}

/// Verifies a VC-JWT: `{"valid", "checks": [{"name", "passed", "detail"}], "credential"}`.
#[pyfunction]
#[pyo3(signature = (jwt, now, expected_issuer=None, revoked_indexes=None))]
fn verify_vc_jwt<'py>(
    py: Python<'py>,
    jwt: &str,
    now: &str,
    expected_issuer: Option<String>,
    revoked_indexes: Option<Vec<u64>>,
) -> PyResult<Bound<'py, PyAny>> {
    let options = core::credential::VerifyOptions {
        expected_issuer,
        revoked_indexes: revoked_indexes.unwrap_or_default().into_iter().collect(),
        ..core::credential::VerifyOptions::at(core::time::parse_instant(now, "now").py_err(py)?)
    };
    to_python(py, &core::credential::verify_vc_jwt(jwt, &options).py_err(py)?)
}

/// A JSON argument given as a dict (or list) or as JSON text.
pub(crate) fn json_arg(py: Python<'_>, value: &Bound<'_, PyAny>, field: &str) -> PyResult<serde_json::Value> {
    match value.extract::<String>() {
        Ok(text) => serde_json::from_str(&text).map_err(|e| invalid(py, field, e)),
        Err(_) => from_python::<serde_json::Value>(Some(value)),
    }
}

/// A JSON argument read into a core type (a dict, a list or JSON text).
pub(crate) fn typed_arg<T: serde::de::DeserializeOwned>(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    field: &str,
) -> PyResult<T> {
    serde_json::from_value(json_arg(py, value, field)?).map_err(|e| invalid(py, field, e))
}

/// An `invalid_input` MasteryError naming the argument.
pub(crate) fn invalid(py: Python<'_>, field: &str, reason: impl ToString) -> PyErr {
    error::to_py(py, core::MasteryError::InvalidInput { field: field.into(), reason: reason.to_string() })
}

/// Adds an `eddsa-rdfc-2022` Data Integrity proof; returns the signed credential as a dict.
#[pyfunction]
#[pyo3(signature = (credential, seed, created, verification_method=None))]
fn sign_data_integrity<'py>(
    py: Python<'py>,
    credential: &Bound<'py, PyAny>,
    seed: &[u8],
    created: &str,
    verification_method: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let credential = json_arg(py, credential, "credential")?;
    let key = core::credential::IssuerKey::from_seed(seed).py_err(py)?;
    let created = core::time::parse_instant(created, "created").py_err(py)?;
    let signed = py
        .detach(|| core::credential::sign_data_integrity(&credential, &key, verification_method, created))
        .py_err(py)?;
    to_python(py, &signed)
}

/// Verifies a credential in either format (a VC-JWT, or JSON with embedded proofs). `options`:
/// `{"now", "expected_issuer", "revoked_indexes", "keys", "status_lists"}`.
#[pyfunction]
fn verify_credential<'py>(
    py: Python<'py>,
    credential: &Bound<'py, PyAny>,
    options: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let text = match credential.extract::<String>() {
        Ok(text) => text,
        Err(_) => json_arg(py, credential, "credential")?.to_string(),
    };
    let options: core::credential::VerifyOptions = typed_arg(py, options, "options")?;
    let verification = py.detach(|| core::credential::verify_credential(&text, &options)).py_err(py)?;
    to_python(py, &verification)
}

/// RDFC-1.0 canonical N-Quads of a JSON-LD document (bundled contexts only).
#[pyfunction]
fn canonicalize(py: Python<'_>, document: &Bound<'_, PyAny>) -> PyResult<String> {
    let document = json_arg(py, document, "document")?;
    py.detach(|| core::credential::canonicalize(&document)).py_err(py)
}

fn certificate(
    py: Python<'_>,
    credential: &Bound<'_, PyAny>,
    learner_name: &str,
    verification_url: &str,
    template: Option<&Bound<'_, PyAny>>,
) -> PyResult<(core::credential::Certificate, core::credential::CertificateTemplate)> {
    let credential = json_arg(py, credential, "credential")?;
    let cert =
        core::credential::Certificate::from_credential(&credential, learner_name, verification_url).py_err(py)?;
    let template = match template {
        Some(t) => typed_arg(py, t, "template")?,
        None => core::credential::CertificateTemplate::default(),
    };
    Ok((cert, template))
}

/// The certificate of a credential as SVG text.
#[pyfunction]
#[pyo3(signature = (credential, learner_name, verification_url, template=None))]
fn certificate_svg(
    py: Python<'_>,
    credential: &Bound<'_, PyAny>,
    learner_name: &str,
    verification_url: &str,
    template: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let (cert, template) = certificate(py, credential, learner_name, verification_url, template)?;
    core::credential::certificate_svg(&cert, &template).py_err(py)
}

/// The certificate of a credential as PDF bytes (A4 landscape).
#[pyfunction]
#[pyo3(signature = (credential, learner_name, verification_url, template=None))]
fn certificate_pdf<'py>(
    py: Python<'py>,
    credential: &Bound<'py, PyAny>,
    learner_name: &str,
    verification_url: &str,
    template: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let (cert, template) = certificate(py, credential, learner_name, verification_url, template)?;
    let pdf = core::credential::certificate_pdf(&cert, &template).py_err(py)?;
    Ok(pyo3::types::PyBytes::new(py, &pdf))
}

fn badge_version(py: Python<'_>, version: &str) -> PyResult<core::credential::BadgeVersion> {
    core::credential::BadgeVersion::parse(version).py_err(py)
}

/// Bakes a credential (JSON text or JWT) into PNG bytes.
#[pyfunction]
#[pyo3(signature = (png, credential, version="ob3"))]
fn bake_png<'py>(
    py: Python<'py>,
    png: &[u8],
    credential: &str,
    version: &str,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let baked = core::credential::bake_png(png, credential, badge_version(py, version)?).py_err(py)?;
    Ok(pyo3::types::PyBytes::new(py, &baked))
}

/// `(version, credential text)` baked into PNG bytes, or None.
#[pyfunction]
fn unbake_png(py: Python<'_>, png: &[u8]) -> PyResult<Option<(String, String)>> {
    Ok(core::credential::unbake_png(png).py_err(py)?.map(|(v, t)| (v.name().to_owned(), t)))
}

/// Bakes a credential into SVG text.
#[pyfunction]
#[pyo3(signature = (svg, credential, version="ob3"))]
fn bake_svg(py: Python<'_>, svg: &str, credential: &str, version: &str) -> PyResult<String> {
    core::credential::bake_svg(svg, credential, badge_version(py, version)?).py_err(py)
}

/// `(version, credential text)` baked into SVG text, or None.
#[pyfunction]
fn unbake_svg(py: Python<'_>, svg: &str) -> PyResult<Option<(String, String)>> {
    Ok(core::credential::unbake_svg(svg).py_err(py)?.map(|(v, t)| (v.name().to_owned(), t)))
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
    m.add_function(wrap_pyfunction!(class_summary, m)?)?;
    Ok(())
}
