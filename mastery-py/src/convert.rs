//! Every conversion between Python objects and the core's serde data lives here.
//!
//! Arguments arrive as plain `PyAny` and are read by the helpers below, so a value of the wrong
//! type, a self-referencing list, a dict nested 10,000 deep or an object whose `__float__` raises
//! becomes `MasteryError(code="invalid_input", field=<argument>)`: never a crash, never a
//! `TypeError` that echoes the value (it may be a learner id).

use std::borrow::Cow;

use mastery_core::evidence::{Evidence, Rejection};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::error::{internal, invalid};

/// Nesting limit of data crossing into Rust: the core's JSON nesting limit (serde_json's).
pub const MAX_DEPTH: usize = 128;
/// Values (containers and scalars) one argument may hold; aliasing (`[x] * n` nested) cannot
/// multiply past it.
pub const MAX_NODES: usize = 10_000_000;

/// Any serde value → plain Python (dict, list, str, int, float, bool, None).
pub fn to_python<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| internal(py, e))?;
    value_to_python(py, &json)
}

fn value_to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u), _) => u.into_pyobject(py)?.into_any(),
            (None, None, Some(f)) => PyFloat::new(py, f).into_any(),
            _ => py.None().into_bound(py),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(value_to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, value_to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Plain Python data → a serde type; absent or `None` gives the type's default. The field is
/// named `argument` (the BKT wrapper's options use this; everything else names its argument).
pub fn from_python<T: DeserializeOwned + Default>(object: Option<&Bound<'_, PyAny>>) -> PyResult<T> {
    data_or_default(object, "argument")
}

/// `data` of an optional argument: absent or `None` gives the type's default.
pub fn data_or_default<T: DeserializeOwned + Default>(object: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<T> {
    match object {
        Some(o) if !o.is_none() => data(o, field),
        _ => Ok(T::default()),
    }
}

/// A required data argument (dict, list, str, number, bool) read into a core type: straight
/// from the Python objects when [`crate::direct`] can, else through a JSON value.
pub fn data<T: DeserializeOwned>(object: &Bound<'_, PyAny>, field: &str) -> PyResult<T> {
    if let Some(read) = crate::direct::read(object) {
        return Ok(read);
    }
    let value = value(object, field)?;
    serde_json::from_value(value).map_err(|e| invalid(object.py(), field, shape(&e.to_string())))
}

/// Records with their index in the list, and the items refused.
pub type EvidenceRows = (Vec<(usize, Evidence)>, Vec<Rejection>);

/// A list of evidence records, each with its index in the list, and a rejection for each item
/// that is not a record (one malformed record does not refuse the rest of the batch).
pub fn evidence_rows(object: &Bound<'_, PyAny>, field: &str) -> PyResult<EvidenceRows> {
    if let Some(records) = crate::direct::read::<Vec<Evidence>>(object) {
        return Ok((records.into_iter().enumerate().collect(), Vec::new()));
    }
    let values: Vec<Value> = data(object, field)?;
    Ok(mastery_core::evidence::evidence_from_values(values))
}

/// A JSON argument given as data (dict, list, ...) or as JSON text.
pub fn json_arg(object: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    if let Ok(s) = object.cast::<PyString>() {
        let text = s.to_cow().map_err(|_| invalid(object.py(), field, "is not valid Unicode text"))?;
        return serde_json::from_str(&text).map_err(|e| invalid(object.py(), field, format!("not JSON: {e}")));
    }
    value(object, field)
}

/// A JSON argument read into a core type (data or JSON text).
pub fn typed_arg<T: DeserializeOwned>(object: &Bound<'_, PyAny>, field: &str) -> PyResult<T> {
    serde_json::from_value(json_arg(object, field)?).map_err(|e| invalid(object.py(), field, shape(&e.to_string())))
}

/// Any Python data → a JSON value, refusing cycles, nesting past [`MAX_DEPTH`] and non-finite
/// numbers.
pub fn value(object: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    let mut reader = Reader { path: Vec::new(), nodes: 0 };
    reader.read(object, 0).map_err(|reason| invalid(object.py(), field, reason))
}

/// How many values [`value`] reads in `object`, found `depth` deep in its argument, if it reads
/// it with at most `nodes_left` values; `None` if it refuses it.
pub fn check_data(object: &Bound<'_, PyAny>, depth: usize, nodes_left: usize) -> Option<usize> {
    let mut reader = Reader { path: Vec::new(), nodes: 0 };
    reader.read(object, depth).ok()?;
    (reader.nodes <= nodes_left).then_some(reader.nodes)
}

struct Reader {
    /// The containers being read, outermost first (for cycle detection).
    path: Vec<usize>,
    nodes: usize,
}

impl Reader {
    fn read(&mut self, object: &Bound<'_, PyAny>, depth: usize) -> Result<Value, String> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!("holds more than {MAX_NODES} values"));
        }
        if object.is_none() {
            Ok(Value::Null)
        } else if let Ok(b) = object.cast::<PyBool>() {
            Ok(Value::Bool(b.is_true()))
        } else if object.is_instance_of::<PyInt>() {
            if let Ok(i) = object.extract::<i64>() {
                Ok(Value::from(i))
            } else if let Ok(u) = object.extract::<u64>() {
                Ok(Value::from(u))
            } else {
                Err("holds an integer out of range".into())
            }
        } else if let Ok(f) = object.cast::<PyFloat>() {
            Number::from_f64(f.value()).map(Value::Number).ok_or_else(|| "holds a number that is not finite".into())
        } else if let Ok(s) = object.cast::<PyString>() {
            Ok(Value::String(s.to_cow().map_err(|_| "holds text that is not valid Unicode".to_owned())?.into_owned()))
        } else if let Ok(d) = object.cast::<PyDict>() {
            self.enter(object, depth)?;
            let mut map = Map::new();
            // A snapshot of the items: reading them runs no Python code, but a snapshot cannot
            // be invalidated by a dict that changes while it is read.
            for item in d.items().iter() {
                let (k, v) =
                    item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>().map_err(|_| "holds an unreadable item")?;
                let key = k.cast::<PyString>().map_err(|_| "has a key that is not a string".to_owned())?;
                let key = key.to_cow().map_err(|_| "has a key that is not valid Unicode".to_owned())?.into_owned();
                let v = self.read(&v, depth + 1)?;
                map.insert(key, v);
            }
            self.path.pop();
            Ok(Value::Object(map))
        } else if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
            self.enter(object, depth)?;
            // By index, not through `__iter__` (a subclass could override it).
            let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = object.cast::<PyList>() {
                (0..l.len()).filter_map(|i| l.get_item(i).ok()).collect()
            } else if let Ok(t) = object.cast::<PyTuple>() {
                t.iter().collect()
            } else {
                Vec::new()
            };
            let mut out = Vec::with_capacity(items.len());
            for item in &items {
                out.push(self.read(item, depth + 1)?);
            }
            self.path.pop();
            Ok(Value::Array(out))
        } else {
            let kind = object.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
            Err(format!("cannot read a {kind} as data"))
        }
    }

    fn enter(&mut self, object: &Bound<'_, PyAny>, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(format!("is nested deeper than {MAX_DEPTH} levels"));
        }
        let id = object.as_ptr() as usize;
        if self.path.contains(&id) {
            return Err("contains itself (a reference cycle)".into());
        }
        self.path.push(id);
        Ok(())
    }
}

/// A serde message without the offending value (it may be a learner id).
pub fn shape(message: &str) -> String {
    mastery_core::error::redact(message)
}

/// A `str` argument.
pub fn text<'a>(object: &'a Bound<'_, PyAny>, field: &str) -> PyResult<Cow<'a, str>> {
    let s = object.cast::<PyString>().map_err(|_| invalid(object.py(), field, "must be a string"))?;
    s.to_cow().map_err(|_| invalid(object.py(), field, "is not valid Unicode text"))
}

/// An optional `str` argument (`None` → none).
pub fn opt_text(object: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<String>> {
    match object {
        Some(o) if !o.is_none() => Ok(Some(text(o, field)?.into_owned())),
        _ => Ok(None),
    }
}

/// A finite number (int, float, or anything with `__float__` except text).
pub fn number(object: &Bound<'_, PyAny>, field: &str) -> PyResult<f64> {
    let py = object.py();
    if object.is_instance_of::<PyString>() || object.is_instance_of::<PyBytes>() {
        return Err(invalid(py, field, "must be a number"));
    }
    let x: f64 = object.extract().map_err(|e: PyErr| refuse(py, e, field, "must be a number"))?;
    if !x.is_finite() {
        return Err(invalid(py, field, "must be a finite number"));
    }
    Ok(x)
}

/// A non-negative integer that fits the platform's `usize` (bounds are the core's business).
pub fn count(object: &Bound<'_, PyAny>, field: &str) -> PyResult<usize> {
    let py = object.py();
    if !object.is_instance_of::<PyInt>() || object.is_instance_of::<PyBool>() {
        return Err(invalid(py, field, "must be an integer"));
    }
    object.extract().map_err(|e: PyErr| refuse(py, e, field, "must be a non-negative integer in range"))
}

/// A `u64` (seeds).
pub fn seed(object: &Bound<'_, PyAny>, field: &str) -> PyResult<u64> {
    let py = object.py();
    if !object.is_instance_of::<PyInt>() || object.is_instance_of::<PyBool>() {
        return Err(invalid(py, field, "must be an integer"));
    }
    object.extract().map_err(|e: PyErr| refuse(py, e, field, "must be a non-negative 64-bit integer"))
}

/// A `bool` argument (only `True` or `False`).
pub fn flag(object: &Bound<'_, PyAny>, field: &str) -> PyResult<bool> {
    object.cast::<PyBool>().map(|b| b.is_true()).map_err(|_| invalid(object.py(), field, "must be True or False"))
}

/// A `bytes` or `bytearray` argument.
pub fn bytes(object: &Bound<'_, PyAny>, field: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = object.cast::<PyBytes>() {
        Ok(b.as_bytes().to_vec())
    } else if let Ok(b) = object.cast::<PyByteArray>() {
        Ok(b.to_vec())
    } else {
        Err(invalid(object.py(), field, "must be bytes"))
    }
}

/// A sequence of numbers; `missing` allows NaN (a missing value), never infinity.
pub fn numbers(object: &Bound<'_, PyAny>, field: &str, missing: bool) -> PyResult<Vec<f64>> {
    let py = object.py();
    if object.is_instance_of::<PyString>() || object.is_instance_of::<PyBytes>() || object.is_instance_of::<PyDict>() {
        return Err(invalid(py, field, "must be a sequence of numbers"));
    }
    let values: Vec<f64> =
        object.extract().map_err(|e: PyErr| refuse(py, e, field, "must be a sequence of numbers"))?;
    if values.iter().any(|x| x.is_infinite() || (x.is_nan() && !missing)) {
        return Err(invalid(py, field, "must hold finite numbers only"));
    }
    Ok(values)
}

/// A sequence of integers.
pub fn integers(object: &Bound<'_, PyAny>, field: &str) -> PyResult<Vec<i64>> {
    let py = object.py();
    if object.is_instance_of::<PyString>() || object.is_instance_of::<PyBytes>() || object.is_instance_of::<PyDict>() {
        return Err(invalid(py, field, "must be a sequence of integers"));
    }
    object.extract().map_err(|e: PyErr| refuse(py, e, field, "must be a sequence of integers in range"))
}

/// An optional list of strings (`None` → none).
pub fn opt_strings(object: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<Vec<String>>> {
    match object {
        Some(o) if !o.is_none() => data(o, field).map(Some),
        _ => Ok(None),
    }
}

/// An extraction failure as `invalid_input`, unless it is not an `Exception` at all
/// (`KeyboardInterrupt`, `SystemExit`, ...): those keep propagating.
fn refuse(py: Python<'_>, error: PyErr, field: &str, reason: &str) -> PyErr {
    if error.is_instance_of::<pyo3::exceptions::PyException>(py) {
        invalid(py, field, reason)
    } else {
        error
    }
}
