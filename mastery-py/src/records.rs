//! Dashboard view models as Arrow tables: the Python side flattens a view (heatmap cells, class
//! summary rows, streak days, ...) into named columns of plain values, and this builds the table,
//! so views reach pyarrow, Polars or DuckDB the way every other `mastery` table does (the
//! PyCapsule interface, no pyarrow needed to build it).

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow_schema::{DataType, Field};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use pyo3_arrow::PyTable;

use crate::arrow;
use crate::error::{guard, invalid};

type Arg<'py> = Bound<'py, PyAny>;

/// The narrowest Arrow type holding every value of a column (`None` is null everywhere).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Int,
    Float,
    Text,
}

fn kind_of(values: &Bound<'_, PyList>) -> Kind {
    let (mut bools, mut ints, mut floats, mut others) = (0, 0, 0, 0);
    for v in values.iter() {
        if v.is_none() {
            continue;
        } else if v.is_instance_of::<PyBool>() {
            bools += 1;
        } else if v.is_instance_of::<PyInt>() {
            ints += 1;
        } else if v.is_instance_of::<PyFloat>() {
            floats += 1;
        } else {
            others += 1;
        }
    }
    match (bools, ints, floats, others) {
        (_, 0, 0, 0) if bools > 0 => Kind::Bool,
        (0, _, 0, 0) if ints > 0 => Kind::Int,
        (0, _, _, 0) if floats > 0 => Kind::Float,
        (0, 0, 0, 0) => Kind::Text,
        _ => Kind::Text,
    }
}

fn column(py: Python<'_>, name: &str, values: &Bound<'_, PyList>) -> PyResult<(Field, ArrayRef)> {
    let kind = kind_of(values);
    let array: ArrayRef = match kind {
        Kind::Bool => Arc::new(BooleanArray::from(
            values
                .iter()
                .map(|v| if v.is_none() { Ok(None) } else { v.extract::<bool>().map(Some) })
                .collect::<PyResult<Vec<_>>>()?,
        )),
        Kind::Int => Arc::new(Int64Array::from(
            values
                .iter()
                .map(|v| if v.is_none() { Ok(None) } else { v.extract::<i64>().map(Some) })
                .collect::<PyResult<Vec<_>>>()
                .map_err(|_| invalid(py, name, "has an integer out of the 64-bit range"))?,
        )),
        Kind::Float => Arc::new(Float64Array::from(
            values
                .iter()
                .map(|v| if v.is_none() { Ok(None) } else { v.extract::<f64>().map(Some) })
                .collect::<PyResult<Vec<_>>>()?,
        )),
        Kind::Text => Arc::new(StringArray::from(
            values
                .iter()
                .map(|v| if v.is_none() { Ok(None) } else { v.str().map(|s| Some(s.to_string())) })
                .collect::<PyResult<Vec<_>>>()?,
        )),
    };
    let data_type = match kind {
        Kind::Bool => DataType::Boolean,
        Kind::Int => DataType::Int64,
        Kind::Float => DataType::Float64,
        Kind::Text => DataType::Utf8,
    };
    Ok((Field::new(name, data_type, true), array))
}

/// `{name: [values...]}` (equal lengths, in column order) → an Arrow table. Each column becomes
/// boolean, int64, float64 (ints and floats mixed) or utf8 (anything else, as `str()`), with
/// `None` as null.
#[pyfunction]
pub fn records_arrow(py: Python<'_>, columns: &Arg<'_>) -> PyResult<PyTable> {
    guard(py, || {
        let columns = columns.cast::<PyDict>().map_err(|_| invalid(py, "columns", "must be a dict of lists"))?;
        let mut fields = Vec::with_capacity(columns.len());
        let mut arrays = Vec::with_capacity(columns.len());
        let mut rows = None;
        for (name, values) in columns.iter() {
            let name =
                name.cast::<PyString>().map_err(|_| invalid(py, "columns", "names must be strings"))?.to_string();
            let values = values.cast::<PyList>().map_err(|_| invalid(py, "columns", "values must be lists"))?;
            if *rows.get_or_insert(values.len()) != values.len() {
                return Err(invalid(py, "columns", "columns must have the same length"));
            }
            let (field, array) = column(py, &name, values)?;
            fields.push(field);
            arrays.push(array);
        }
        arrow::table(fields, arrays)
    })
}
