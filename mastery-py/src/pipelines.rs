//! The core's data pipelines on tables: the leakage-safe risk feature builder (activity,
//! submissions and mastery logs → one row of features per learner) and the OULAD loader.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field};
use mastery_core as core;
use pyo3::prelude::*;
use pyo3_arrow::PyTable;

use crate::arrow::{self, batches};
use crate::convert::{number, text};
use crate::error::{column_error, guard};
use core::risk::{ActivityEvent, LearnerActivity, MasteryObservation, Submission};

type Arg<'py> = Bound<'py, PyAny>;
type CoreResult<T> = Result<T, core::MasteryError>;

fn bad(field: &str, reason: &str) -> core::MasteryError {
    core::MasteryError::InvalidInput { field: field.into(), reason: reason.into() }
}

/// A column as optional floats (null → None); absent and not `required` → all None.
fn floats(batch: &RecordBatch, name: &str, required: bool) -> CoreResult<Vec<Option<f64>>> {
    let Some(a) = batch.column_by_name(name) else {
        return if required { Err(bad(name, "no such column in the table")) } else { Ok(vec![None; batch.num_rows()]) };
    };
    if !(a.data_type().is_numeric() || *a.data_type() == DataType::Boolean || *a.data_type() == DataType::Null) {
        return Err(bad(name, "must be numeric"));
    }
    let f = arrow_cast::cast(a, &DataType::Float64).map_err(|_| bad(name, "cannot be read as numbers"))?;
    Ok(f.as_primitive::<Float64Type>().iter().map(|v| v.filter(|x| !x.is_nan())).collect())
}

/// A column as strings (numbers written as text); nulls refused.
fn strings(batch: &RecordBatch, name: &str) -> CoreResult<Vec<String>> {
    let a = batch.column_by_name(name).ok_or_else(|| bad(name, "no such column in the table"))?;
    if a.null_count() > 0 {
        return Err(bad(name, "has missing values"));
    }
    let s = arrow_cast::cast(a, &DataType::Utf8).map_err(|_| bad(name, "cannot be read as text"))?;
    Ok(s.as_string::<i32>().iter().map(|v| v.unwrap_or_default().to_owned()).collect())
}

fn required(v: Option<f64>, name: &str) -> CoreResult<f64> {
    v.ok_or_else(|| bad(name, "has missing values"))
}

/// Learners in first-appearance order over the tables, each with their activity.
#[derive(Default)]
struct Activities {
    index: HashMap<String, usize>,
    learners: Vec<String>,
    activity: Vec<LearnerActivity>,
}

impl Activities {
    fn of(&mut self, learner: String) -> &mut LearnerActivity {
        let next = self.learners.len();
        let i = *self.index.entry(learner.clone()).or_insert(next);
        if i == next {
            self.learners.push(learner);
            self.activity.push(LearnerActivity::default());
        }
        &mut self.activity[i]
    }
}

/// One row of features per learner at `cutoff` (a course day: only what happened before it is
/// used). `events`: `learner, day[, clicks, seconds]`; `submissions`: `learner, due_day,
/// weight, submitted_day, score` (nulls: not due / not submitted / not scored); `mastery`:
/// `learner, day, competency, p_known, mastered`. A learner in no `events` table has missing
/// engagement features (the host does not track activity), one absent from a given table has
/// none. Returns a table: `learner`, then the features in the core's order.
#[pyfunction]
#[pyo3(signature = (cutoff, events=None, submissions=None, mastery=None, learner=None))]
pub fn risk_features(
    py: Python<'_>,
    cutoff: &Arg<'_>,
    events: Option<&Arg<'_>>,
    submissions: Option<&Arg<'_>>,
    mastery: Option<&Arg<'_>>,
    learner: Option<&Arg<'_>>,
) -> PyResult<PyTable> {
    guard(py, || {
        let learner = crate::convert::opt_text(learner, "learner")?.unwrap_or_else(|| "learner".into());
        let learner = learner.as_str();
        let cutoff = number(cutoff, "cutoff")?;
        let read = |o: Option<&Arg<'_>>, field: &str| -> PyResult<Option<Vec<RecordBatch>>> {
            match o {
                Some(o) if !o.is_none() => Ok(Some(batches(o, field)?)),
                _ => Ok(None),
            }
        };
        let (events, submissions, mastery) =
            (read(events, "events")?, read(submissions, "submissions")?, read(mastery, "mastery")?);
        let (learners, rows) = py
            .detach(|| -> CoreResult<(Vec<String>, Vec<Vec<f64>>)> {
                let mut all = Activities::default();
                for batch in events.iter().flatten() {
                    let (who, day) = (strings(batch, learner)?, floats(batch, "day", true)?);
                    let (clicks, seconds) = (floats(batch, "clicks", false)?, floats(batch, "seconds", false)?);
                    for i in 0..batch.num_rows() {
                        let e = ActivityEvent {
                            day: required(day[i], "day")?,
                            clicks: clicks[i].unwrap_or(0.0).clamp(0.0, u32::MAX as f64) as u32,
                            seconds: seconds[i].unwrap_or(0.0),
                        };
                        all.of(who[i].clone()).events.get_or_insert_with(Vec::new).push(e);
                    }
                }
                for batch in submissions.iter().flatten() {
                    let who = strings(batch, learner)?;
                    let (due, weight) = (floats(batch, "due_day", false)?, floats(batch, "weight", false)?);
                    let (done, score) = (floats(batch, "submitted_day", false)?, floats(batch, "score", false)?);
                    for i in 0..batch.num_rows() {
                        all.of(who[i].clone()).submissions.push(Submission {
                            due_day: due[i],
                            weight: weight[i].unwrap_or(0.0),
                            submitted_day: done[i],
                            score: score[i],
                        });
                    }
                }
                for batch in mastery.iter().flatten() {
                    let (who, competency) = (strings(batch, learner)?, strings(batch, "competency")?);
                    let (day, p, mastered) = (
                        floats(batch, "day", true)?,
                        floats(batch, "p_known", true)?,
                        floats(batch, "mastered", false)?,
                    );
                    for i in 0..batch.num_rows() {
                        let o = MasteryObservation {
                            day: required(day[i], "day")?,
                            competency: competency[i].clone(),
                            p_known: required(p[i], "p_known")?,
                            mastered: mastered[i].is_some_and(|m| m != 0.0),
                        };
                        all.of(who[i].clone()).mastery.get_or_insert_with(Vec::new).push(o);
                    }
                }
                // A tracked log: learners absent from it have none (not missing).
                for a in &mut all.activity {
                    if events.is_some() {
                        a.events.get_or_insert_with(Vec::new);
                    }
                    if mastery.is_some() {
                        a.mastery.get_or_insert_with(Vec::new);
                    }
                }
                let rows = all.activity.iter().map(|a| core::risk::build_features(a, cutoff)).collect();
                Ok((all.learners, rows))
            })
            .map_err(|e| column_error(py, e))?;
        let specs = core::risk::activity_features();
        let mut fields = vec![Field::new(learner, DataType::Utf8, false)];
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(StringArray::from(learners))];
        for (j, spec) in specs.iter().enumerate() {
            fields.push(Field::new(&spec.name, DataType::Float64, false));
            arrays.push(Arc::new(rows.iter().map(|r| r.get(j).copied()).collect::<Float64Array>()));
        }
        arrow::table(fields, arrays)
    })
}

/// The OULAD at-risk table at `cutoff` (a course day) from the four CSV texts: `id`,
/// `presentation`, the features, `at_risk` (1: withdrawn or failed) and each protected
/// attribute's group as `group_<name>`. `presentations` keeps only those
/// (`"AAA/2013J"`, ...); `include_protected` trains on the protected attributes too.
#[pyfunction]
#[pyo3(signature = (student_info, student_registration, assessments, student_assessment, cutoff, presentations=None, include_protected=None))]
#[allow(clippy::too_many_arguments)]
pub fn oulad_risk_table(
    py: Python<'_>,
    student_info: &Arg<'_>,
    student_registration: &Arg<'_>,
    assessments: &Arg<'_>,
    student_assessment: &Arg<'_>,
    cutoff: &Arg<'_>,
    presentations: Option<&Arg<'_>>,
    include_protected: Option<&Arg<'_>>,
) -> PyResult<(PyTable, Vec<Py<PyAny>>)> {
    guard(py, || {
        let include_protected = match include_protected {
            Some(f) if !f.is_none() => crate::convert::flag(f, "include_protected")?,
            _ => false,
        };
        let info = text(student_info, "student_info")?;
        let registration = text(student_registration, "student_registration")?;
        let assessments = text(assessments, "assessments")?;
        let marks = text(student_assessment, "student_assessment")?;
        let cutoff = number(cutoff, "cutoff")?;
        let keep: Option<Vec<String>> = match presentations {
            Some(p) if !p.is_none() => Some(crate::convert::data(p, "presentations")?),
            _ => None,
        };
        let tables = core::risk::OuladTables {
            student_info: &info,
            student_registration: &registration,
            assessments: &assessments,
            student_assessment: &marks,
        };
        let options = core::risk::OuladOptions { include_protected };
        let t = py
            .detach(|| {
                core::risk::oulad_risk_table_with(
                    tables,
                    cutoff,
                    |module, presentation| {
                        keep.as_ref().is_none_or(|k| k.iter().any(|p| *p == format!("{module}/{presentation}")))
                    },
                    options,
                )
            })
            .map_err(|e| crate::error::to_py(py, e))?;
        let mut fields =
            vec![Field::new("id", DataType::Utf8, false), Field::new("presentation", DataType::Utf8, false)];
        let mut arrays: Vec<ArrayRef> =
            vec![Arc::new(StringArray::from(t.ids.clone())), Arc::new(StringArray::from(t.presentations.clone()))];
        for (j, spec) in t.features.iter().enumerate() {
            fields.push(Field::new(&spec.name, DataType::Float64, false));
            arrays.push(Arc::new(Float64Array::from(t.x.column(j).to_vec())));
        }
        fields.push(Field::new("at_risk", DataType::Float64, false));
        arrays.push(Arc::new(Float64Array::from(t.y.clone())));
        for (name, values) in &t.groups {
            fields.push(Field::new(format!("group_{name}"), DataType::Utf8, false));
            arrays.push(Arc::new(StringArray::from(values.clone())));
        }
        let specs = t
            .features
            .iter()
            .map(|f| crate::convert::to_python(py, f).map(|o| o.unbind()))
            .collect::<PyResult<Vec<_>>>()?;
        Ok((arrow::table(fields, arrays)?, specs))
    })
}
