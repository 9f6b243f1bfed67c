//! The Arrow entry points: BKT fit / cross-validation / prediction on a response log table, and
//! risk scoring / explanations / feature matrices on a feature table.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, Float64Array};
use arrow_schema::{DataType, Field};
use mastery_core as core;
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3_arrow::PyTable;

use crate::arrow::{self, batches, BktColumns, Features};
use crate::convert::{count, data, from_python, to_python};
use crate::error::{column_error, guard, invalid};
use crate::progress;
use crate::risk::NativeRiskModel;
use crate::NativeBktModel;
use core::risk::RiskModel as _;

type Arg<'py> = Bound<'py, PyAny>;

/// Rows per block when scoring a table (the only buffer besides the output).
const BLOCK: usize = 16_384;

fn names(object: Option<&Arg<'_>>, field: &str) -> PyResult<Option<Vec<String>>> {
    match object {
        Some(o) if !o.is_none() => Ok(Some(data(o, field)?)),
        _ => Ok(None),
    }
}

/// Fits BKT on an Arrow response log (`columns` names the pyBKT columns).
#[pyfunction]
#[pyo3(signature = (data, columns, options=None, progress=None))]
pub fn bkt_fit_arrow(
    py: Python<'_>,
    data: &Arg<'_>,
    columns: &Arg<'_>,
    options: Option<&Arg<'_>>,
    progress: Option<&Arg<'_>>,
) -> PyResult<NativeBktModel> {
    guard(py, || {
        let columns: BktColumns = crate::convert::data(columns, "columns")?;
        let options: core::mastery::BktOptions = from_python(options)?;
        let callback = progress::callback(progress)?;
        let batches = batches(data, "data")?;
        let table = py.detach(|| arrow::response_table(&batches, &columns)).map_err(|e| column_error(py, e))?;
        drop(batches);
        let inner =
            progress::run(py, callback.as_ref(), |on| core::mastery::BktModel::fit_table_with(&table, &options, on))?;
        Ok(NativeBktModel { inner })
    })
}

/// k-fold cross-validation by learner on an Arrow response log: `{skill: [evaluation per fold]}`.
#[pyfunction]
#[pyo3(signature = (data, columns, folds, options=None, progress=None))]
pub fn bkt_crossvalidate_arrow<'py>(
    py: Python<'py>,
    data: &Arg<'py>,
    columns: &Arg<'py>,
    folds: &Arg<'py>,
    options: Option<&Arg<'py>>,
    progress: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let columns: BktColumns = crate::convert::data(columns, "columns")?;
        let options: core::mastery::BktOptions = from_python(options)?;
        let folds = count(folds, "folds")?;
        let callback = progress::callback(progress)?;
        let batches = batches(data, "data")?;
        let table = py.detach(|| arrow::response_table(&batches, &columns)).map_err(|e| column_error(py, e))?;
        drop(batches);
        let result = progress::run(py, callback.as_ref(), |on| {
            core::mastery::BktModel::crossvalidate_table_with(&table, &options, folds, on)
        })?;
        to_python(py, &result)
    })
}

/// `correct_predictions` and `state_predictions` per row of an Arrow response log, as an Arrow
/// table (input order).
#[pyfunction]
pub fn bkt_predict_arrow(py: Python<'_>, model: &Arg<'_>, data: &Arg<'_>, columns: &Arg<'_>) -> PyResult<PyTable> {
    guard(py, || {
        let (c, s) = predict_columns(py, model, data, columns)?;
        arrow::float_table(vec![("correct_predictions", c), ("state_predictions", s)])
    })
}

/// [`bkt_predict_arrow`] as two writable numpy arrays, whose buffers are the core's vectors (what
/// a pandas column takes without a copy).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn bkt_predict_arrow_numpy<'py>(
    py: Python<'py>,
    model: &Arg<'py>,
    data: &Arg<'py>,
    columns: &Arg<'py>,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>)> {
    guard(py, || {
        let (c, s) = predict_columns(py, model, data, columns)?;
        Ok((c.into_pyarray(py), s.into_pyarray(py)))
    })
}

fn predict_columns(
    py: Python<'_>,
    model: &Arg<'_>,
    data: &Arg<'_>,
    columns: &Arg<'_>,
) -> PyResult<(Vec<f64>, Vec<f64>)> {
    let model = model.cast::<NativeBktModel>().map_err(|_| invalid(py, "model", "must be a NativeBktModel"))?;
    let model = &model.get().inner;
    let columns: BktColumns = crate::convert::data(columns, "columns")?;
    let batches = batches(data, "data")?;
    py.detach(|| -> Result<(Vec<f64>, Vec<f64>), core::MasteryError> {
        let table = arrow::response_table(&batches, &columns)?;
        model.predict_columns(&table)
    })
    .map_err(|e| column_error(py, e))
}

/// The feature columns of an Arrow table (all, or `names` in that order) as one C-contiguous
/// float64 numpy matrix (nulls become NaN), with the column names.
#[pyfunction]
#[pyo3(signature = (data, names=None))]
pub fn arrow_matrix<'py>(
    py: Python<'py>,
    data: &Arg<'py>,
    names: Option<&Arg<'py>>,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Vec<String>)> {
    guard(py, || {
        let names = self::names(names, "names")?;
        let batches = batches(data, "data")?;
        let (matrix, names) = py
            .detach(|| -> Result<_, core::MasteryError> {
                let f = Features::read(&batches, names)?;
                Ok((f.matrix()?, f.names))
            })
            .map_err(|e| column_error(py, e))?;
        Ok((matrix.into_pyarray(py), names))
    })
}

fn risk_model<'a>(model: &'a Bound<'_, PyAny>) -> PyResult<&'a core::risk::RiskModelFile> {
    model
        .cast::<NativeRiskModel>()
        .map(|m| &m.get().inner)
        .map_err(|_| invalid(model.py(), "model", "must be a NativeRiskModel"))
}

/// P(at risk) per row of an Arrow feature table, as an Arrow table with one `score` column.
/// Rows are scored in blocks, so memory beyond the input is the output and one block.
/// With `numpy=True` the scores come back as a numpy array instead (no copy either way).
#[pyfunction]
#[pyo3(signature = (model, data, names=None, numpy=None))]
pub fn risk_predict_arrow<'py>(
    py: Python<'py>,
    model: &Arg<'py>,
    data: &Arg<'py>,
    names: Option<&Arg<'py>>,
    numpy: Option<&Arg<'py>>,
) -> PyResult<Arg<'py>> {
    guard(py, || {
        let numpy = match numpy {
            Some(n) if !n.is_none() => crate::convert::flag(n, "numpy")?,
            _ => false,
        };
        let model = risk_model(model)?;
        let names = self::names(names, "names")?;
        let batches = batches(data, "data")?;
        let scores = py
            .detach(|| -> Result<Vec<f64>, core::MasteryError> {
                let f = Features::read(&batches, names)?;
                let mut out = Vec::with_capacity(f.rows);
                f.for_blocks(BLOCK, |x| {
                    out.extend(model.predict_proba(x)?);
                    Ok(())
                })?;
                Ok(out)
            })
            .map_err(|e| column_error(py, e))?;
        if numpy {
            return Ok(scores.into_pyarray(py).into_any());
        }
        Ok(Bound::new(py, arrow::float_table(vec![("score", scores)])?)?.into_any())
    })
}

/// Per row of an Arrow feature table: `score`, `margin`, `base` and the `top` reasons
/// (`reason_i` in words, `feature_i`, `contribution_i`; null past the last reason).
#[pyfunction]
#[pyo3(signature = (model, data, names=None, top=None))]
pub fn risk_explain_arrow(
    py: Python<'_>,
    model: &Arg<'_>,
    data: &Arg<'_>,
    names: Option<&Arg<'_>>,
    top: Option<&Arg<'_>>,
) -> PyResult<PyTable> {
    guard(py, || {
        let model = risk_model(model)?;
        let names = self::names(names, "names")?;
        let top = match top {
            Some(t) if !t.is_none() => count(t, "top")?,
            _ => 3,
        };
        if top > 64 {
            return Err(invalid(py, "top", "must be at most 64"));
        }
        let batches = batches(data, "data")?;
        let explained = py
            .detach(|| -> Result<Vec<core::risk::Explanation>, core::MasteryError> {
                let f = Features::read(&batches, names)?;
                let mut out = Vec::with_capacity(f.rows);
                f.for_blocks(BLOCK, |x| {
                    out.extend(model.explain_many(x, top)?);
                    Ok(())
                })?;
                Ok(out)
            })
            .map_err(|e| column_error(py, e))?;
        let column = |f: &dyn Fn(&core::risk::Explanation) -> f64| -> ArrayRef {
            Arc::new(explained.iter().map(f).collect::<Float64Array>())
        };
        let mut fields = vec![
            Field::new("score", DataType::Float64, false),
            Field::new("margin", DataType::Float64, false),
            Field::new("base", DataType::Float64, false),
        ];
        let mut arrays = vec![column(&|e| e.score), column(&|e| e.margin), column(&|e| e.base)];
        for i in 0..top {
            let (mut text, mut feature, mut value) =
                (StringBuilder::new(), StringBuilder::new(), Float64Builder::new());
            for e in &explained {
                let r = e.reasons.get(i);
                text.append_option(r.map(|r| r.text.as_str()));
                feature.append_option(r.map(|r| r.feature.as_str()));
                value.append_option(r.map(|r| r.contribution));
            }
            fields.push(Field::new(format!("reason_{}", i + 1), DataType::Utf8, true));
            fields.push(Field::new(format!("feature_{}", i + 1), DataType::Utf8, true));
            fields.push(Field::new(format!("contribution_{}", i + 1), DataType::Float64, true));
            arrays.push(Arc::new(text.finish()));
            arrays.push(Arc::new(feature.finish()));
            arrays.push(Arc::new(value.finish()));
        }
        arrow::table(fields, arrays)
    })
}
